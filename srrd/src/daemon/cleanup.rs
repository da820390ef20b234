//! What an earlier run left behind: services whose `start` ran and whose
//! `stop` never succeeded (the state file's `started`), and configured VIPs
//! on the interface. `srrd cleanup` and the start of `srrd run` share
//! `clean`; `srrd run` first asks `check` which of them still run, to
//! adopt them (`probe`, docs/operating.md).

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
    /// The stray-forwarding device and table were there (crate::strays).
    pub strays: bool,
}

/// Runs `check` for every configured service `state` records as started,
/// all at once, each bounded by its check timeout (recalls included): the
/// services that pass still run.
pub async fn probe(config: &Config, state: &PersistedState) -> BTreeSet<String> {
    let checks = config
        .services
        .iter()
        .filter(|s| state.started.contains(&s.name))
        .map(|service| async move {
            let (done_tx, mut done_rx) = mpsc::unbounded_channel();
            let mut runner = Runner::new(done_tx);
            let result = run_to_end(
                &mut runner,
                &mut done_rx,
                &config.node,
                service,
                Primitive::Check,
                0,
            );
            (service, result.await)
        });
    let mut alive = BTreeSet::new();
    for (service, result) in futures::future::join_all(checks).await {
        match result {
            Ok(()) => {
                alive.insert(service.name.clone());
            }
            Err(why) => {
                tracing::info!(service = %service.name, why, "check of a service the previous run left started failed: not adopting it");
            }
        }
    }
    alive
}

/// Runs `stop` for every service `state` records as started except those
/// in `keep` (adopted by the new run; dependants before what they depend
/// on, one at a time, each bounded by its stop timeout), saving the state
/// after each, then removes every configured VIP but those of `keep` from
/// the interface. A failed stop is reported in `Cleaned`; only state-file
/// and VIP errors end it early.
pub async fn clean(
    config: &Config,
    state_file: &StateFile,
    state: &mut PersistedState,
    vips: &VipManager,
    keep: &BTreeSet<String>,
) -> Result<Cleaned, DaemonError> {
    let mut cleaned = Cleaned {
        strays: crate::strays::remove_leftovers().await,
        ..Cleaned::default()
    };
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
    let to_stop: BTreeSet<String> = state.started.difference(keep).cloned().collect();
    for (op, service) in stop_order(&config.services, &to_stop)
        .into_iter()
        .enumerate()
    {
        let stop = run_to_end(
            &mut runner,
            &mut done_rx,
            &config.node,
            service,
            Primitive::Stop,
            op as u64,
        );
        match stop.await {
            Ok(()) => {
                state.started.remove(&service.name);
                state_file.save(state).await?;
                cleaned.stopped.push(service.name.clone());
            }
            Err(why) => cleaned.failed.push((service.name.clone(), why)),
        }
    }
    let kept: BTreeSet<IpAddr> = config
        .services
        .iter()
        .filter(|s| keep.contains(&s.name))
        .flat_map(|s| s.addresses.iter().copied())
        .collect();
    cleaned.vips = vips
        .remove_all_but(&managed_addresses(config), &kept)
        .await?;
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

/// One `stop` or `check`, asked again after the recall interval while it
/// answers recall, until its timeout has passed.
async fn run_to_end(
    runner: &mut Runner,
    done: &mut mpsc::UnboundedReceiver<Finished>,
    node: &NodeSettings,
    service: &ServiceConfig,
    primitive: Primitive,
    op: u64,
) -> Result<(), String> {
    let timeout = service.timeouts.for_primitive(primitive);
    let deadline = Instant::now() + timeout;
    loop {
        let run = PrimitiveRun {
            op: OpId(op),
            service: service.name.clone(),
            primitive,
            peer: None,
            timeout_ms: deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64,
            peers: Vec::new(),
            drain_ms: 0,
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
                    "still answering recall after its {primitive} timeout ({timeout:?})"
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

    #[tokio::test]
    async fn probe_finds_what_passes_its_check() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("srrd-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let script = dir.join("primitives");
        let body = "#!/bin/sh\n[ \"$1\" = check ] && [ \"$SRRD_SERVICE\" = alive ]\n";
        std::fs::write(&script, body).expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let services: Vec<ServiceConfig> = ["alive", "dead", "idle"]
            .iter()
            .map(|name| {
                let mut s = ServiceConfig::new(name);
                s.primitives = script.clone();
                s
            })
            .collect();
        let config = Config {
            node: NodeSettings {
                state_dir: dir.clone(),
                ..NodeSettings::default()
            },
            web: None,
            services,
        };
        let state = PersistedState {
            started: ["alive", "dead", "gone"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            ..PersistedState::default()
        };
        let alive = probe(&config, &state).await;
        assert_eq!(alive, BTreeSet::from(["alive".to_string()]));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
