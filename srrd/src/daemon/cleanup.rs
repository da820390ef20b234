//! What an earlier run left behind: services whose `start` ran and whose
//! `stop` never succeeded (the state file's `started`), and configured VIPs
//! on the interface. `srrd cleanup` and the start of `srrd run` share
//! `clean` (docs/operating.md).

use std::collections::BTreeSet;
use std::net::IpAddr;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::state::{PersistedState, StateFile};
use super::{invocation, managed_addresses, DaemonError};
use crate::config::{Config, NodeSettings, ServiceConfig};
use crate::engine::{OpId, PrimitiveResult, PrimitiveRun};
use crate::model::Primitive;
use crate::primitives::{Finished, Runner};
use crate::vip::VipManager;

/// What `clean` did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Services whose `stop` succeeded.
    pub stopped: Vec<String>,
    /// (service, why its `stop` failed); they stay in the state file.
    pub failed: Vec<(String, String)>,
    /// Recorded as started but no longer configured: dropped, not stopped
    /// (their primitives file is unknown).
    pub unknown: Vec<String>,
    /// VIPs removed from the interface.
    pub vips: Vec<IpAddr>,
}

/// Runs `stop` for every service `state` records as started (dependants
/// before what they depend on, one at a time, each bounded by its stop
/// timeout), saving the state after each, then removes every configured
/// VIP from the interface. A failed stop is reported in `Cleaned`; only
/// state-file and VIP errors end it early.
pub async fn clean(
    config: &Config,
    state_file: &StateFile,
    state: &mut PersistedState,
    vips: &VipManager,
) -> Result<Cleaned, DaemonError> {
    let mut cleaned = Cleaned::default();
    let configured: BTreeSet<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
    cleaned.unknown = state
        .started
        .iter()
        .filter(|name| !configured.contains(name.as_str()))
        .cloned()
        .collect();
    if !cleaned.unknown.is_empty() {
        state
            .started
            .retain(|name| configured.contains(name.as_str()));
        state_file.save(state).await?;
    }
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(done_tx);
    for (op, service) in stop_order(&config.services, &state.started)
        .into_iter()
        .enumerate()
    {
        match stop(&mut runner, &mut done_rx, &config.node, service, op as u64).await {
            Ok(()) => {
                state.started.remove(&service.name);
                state_file.save(state).await?;
                cleaned.stopped.push(service.name.clone());
            }
            Err(why) => cleaned.failed.push((service.name.clone(), why)),
        }
    }
    cleaned.vips = vips.remove_all(&managed_addresses(config)).await?;
    Ok(cleaned)
}

/// The `started` services, each after every started service that depends
/// on it (the order in which the engine stops them).
fn stop_order<'a>(
    services: &'a [ServiceConfig],
    started: &BTreeSet<String>,
) -> Vec<&'a ServiceConfig> {
    let mut left: Vec<&ServiceConfig> = services
        .iter()
        .filter(|s| started.contains(&s.name))
        .collect();
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        // The configuration has no dependency cycles (config::rules); the
        // fallback only keeps this loop finite.
        let next = left
            .iter()
            .position(|s| !left.iter().any(|d| d.depends.contains(&s.name)))
            .unwrap_or(0);
        order.push(left.remove(next));
    }
    order
}

/// One `stop`, asked again after the recall interval while it answers
/// recall, until its stop timeout has passed.
async fn stop(
    runner: &mut Runner,
    done: &mut mpsc::UnboundedReceiver<Finished>,
    node: &NodeSettings,
    service: &ServiceConfig,
    op: u64,
) -> Result<(), String> {
    let deadline = Instant::now() + service.timeouts.stop;
    loop {
        let run = PrimitiveRun {
            op: OpId(op),
            service: service.name.clone(),
            primitive: Primitive::Stop,
            peer: None,
            timeout_ms: deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64,
            peers: Vec::new(),
        };
        runner.start(invocation(node, Some(service), &run, node.router_id));
        let finished = done.recv().await.ok_or("the primitive runner went away")?;
        match finished.result {
            PrimitiveResult::Ok => return Ok(()),
            PrimitiveResult::Recall if Instant::now() + node.recall_interval < deadline => {
                tokio::time::sleep(node.recall_interval).await
            }
            PrimitiveResult::Recall => {
                return Err(format!(
                    "still answering recall after its stop timeout ({:?})",
                    service.timeouts.stop
                ))
            }
            PrimitiveResult::Failed(code) => {
                let last = finished.output.lines().rev().find(|l| !l.trim().is_empty());
                return Err(match last {
                    Some(line) => format!("failed with code {code}: {}", line.trim()),
                    None => format!("failed with code {code}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependants_stop_before_what_they_depend_on() {
        let mut web = ServiceConfig::new("web");
        web.depends = vec!["data".into()];
        let services = [ServiceConfig::new("data"), web, ServiceConfig::new("dns")];
        let started: BTreeSet<String> = ["data", "web"].iter().map(|s| s.to_string()).collect();
        let order: Vec<&str> = stop_order(&services, &started)
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(order, ["web", "data"]);
    }
}
