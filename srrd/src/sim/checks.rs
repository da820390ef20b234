//! Invariants, checked on the simulator's ground truth (sim/oracle.rs)
//! only: continuously (on every start, stop and VIP change, and a bound
//! after a lost API session) and at checkpoints, after the cluster had time
//! to settle. Each violation has a kind (`Summary::violations_by_kind`).

use std::collections::{BTreeMap, BTreeSet};

use super::cluster::Cluster;
use super::oracle::Exec;
use crate::model::Time;

/// Keep at most this many violation texts.
const MAX_REPORTED: usize = 50;

#[derive(Default)]
pub struct Checker {
    pub checkpoints: u64,
    pub unconverged: u64,
    pub dual_active: u64,
    pub max_convergence_ms: u64,
    pub violations: Vec<String>,
    pub violation_count: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// Unit → (holder, held in one place only) at the previous checkpoint.
    previous_holder: BTreeMap<usize, (usize, bool)>,
}

impl Checker {
    pub fn violation(&mut self, at: Time, kind: &str, text: String) -> String {
        self.violation_count += 1;
        *self.by_kind.entry(kind.to_string()).or_default() += 1;
        let line = format!("t={}ms [{kind}] {text}", at.0);
        if self.violations.len() < MAX_REPORTED {
            self.violations.push(line.clone());
        }
        line
    }

    /// A node is about to run `start` of `service` (ground truth before it).
    pub fn on_start(&self, c: &Cluster, n: usize, service: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let t = &c.truth;
        let Some(facts) = t.facts.get(service) else {
            return found;
        };
        let u = facts.unit;
        let now = c.now;
        if t.api_since[n].is_none() {
            found.push((
                "no-api".into(),
                format!("{service} starts on n{n} without an API session"),
            ));
        }
        for dep in &facts.depends {
            if !t.running(n, dep) {
                found.push((
                    "start-order".into(),
                    format!("{service} starts on n{n} before its dependency {dep} runs"),
                ));
            }
        }
        // No dual start within a stable pair: once both sides had time to
        // see each other (adjacency, database exchange, a flood), a node
        // must not start what the other runs.
        let window = c.info_window_ms();
        let stable = |m: usize| {
            t.connected_for(now, n, m) > window
                && t.api_for(now, n) > window
                && t.api_for(now, m) > window
        };
        // A make-before-break handover runs the unit twice on purpose: on
        // the new node while the node told to give it up still runs it.
        let handover_window = crate::config::NodeSettings::default()
            .handoff_timeout
            .as_millis() as u64;
        let handing_over = |m: usize| {
            facts.overlap
                && t.leaving
                    .get(&(m, u))
                    .is_some_and(|&at| now.since(at) <= handover_window)
        };
        for m in 0..c.nodes.len() {
            if m != n && t.holds(&c.workload, m, u) && stable(m) && !handing_over(m) {
                found.push((
                    "dual-start".into(),
                    format!(
                        "{service} starts on n{n} while n{m} runs it (connected for {} ms > {window} ms)",
                        t.connected_for(now, n, m)
                    ),
                ));
            }
        }
        // Cold start (nobody in reach holds the unit): the highest
        // (preference, router id) among the nodes that were eligible and in
        // reach long enough to be known takes it. An operator's move target
        // is exempt.
        let spec = &c.workload.units[u];
        let reach: Vec<usize> = (0..c.nodes.len()).filter(|&k| c.connected(n, k)).collect();
        let cold = !reach.iter().any(|&k| t.holds(&c.workload, k, u));
        if cold && t.handoff.get(&u) != Some(&n) {
            let rank = |k: usize| (spec.preference_of(k), c.workload.router_ids[k]);
            let known = |k: usize| {
                stable(k)
                    && now.since(t.changed_at.get(&(k, u)).copied().unwrap_or(Time(0))) > window
                    && (!facts.quorum
                        || spec
                            .nodes
                            .iter()
                            .all(|&j| t.pair_stable_for(now, k, j) > window))
            };
            let better: Vec<usize> = spec
                .nodes
                .iter()
                .copied()
                .filter(|&k| k != n && c.eligible(k, u) && known(k) && rank(k) > rank(n))
                .collect();
            if !better.is_empty() {
                found.push((
                    "cold-start".into(),
                    format!(
                        "{service} cold-starts on n{n} while higher-ranked {better:?} are eligible"
                    ),
                ));
            }
        }
        found
    }

    /// A node is about to run `stop` of `service`: its dependants are down.
    pub fn on_stop(&self, c: &Cluster, n: usize, service: &str) -> Vec<(String, String)> {
        let t = &c.truth;
        let Some(facts) = t.facts.get(service) else {
            return Vec::new();
        };
        facts
            .dependants
            .iter()
            .filter(|d| t.exec(n, d).is_some())
            .map(|d| {
                (
                    "stop-order".to_string(),
                    format!(
                        "{service} stops on n{n} while its dependant {d} is {:?}",
                        t.exec(n, d)
                    ),
                )
            })
            .collect()
    }

    /// A bound after its API session went: the node runs nothing, holds no VIP.
    pub fn api_lost_audit(&self, c: &Cluster, n: usize) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let running: Vec<&String> = c
            .truth
            .exec
            .keys()
            .filter(|(k, _)| *k == n)
            .map(|(_, s)| s)
            .collect();
        if !running.is_empty() {
            found.push((
                "no-api".into(),
                format!("n{n} still runs {running:?} without an API session"),
            ));
        }
        if !c.nodes[n].vips.is_empty() {
            found.push((
                "no-api".into(),
                format!(
                    "n{n} still holds VIPs {:?} without an API session",
                    c.nodes[n].vips
                ),
            ));
        }
        found
    }

    /// A bound after n's new run got its session: a copy its previous run
    /// left (and the new run adopted) of a unit that `other` ran, known to
    /// n's ospfd for longer than the information window, must be gone.
    pub fn adopt_audit(
        &self,
        c: &Cluster,
        n: usize,
        unit: usize,
        other: usize,
    ) -> Vec<(String, String)> {
        c.workload.units[unit]
            .members
            .iter()
            .filter(|m| c.truth.leftover.contains(&(n, m.to_string())))
            .filter(|m| c.truth.exec(n, m).is_some())
            .map(|m| {
                (
                    "adopt".to_string(),
                    format!(
                        "n{n} kept the copy of {m} its previous run left, while n{other} ran it"
                    ),
                )
            })
            .collect()
    }

    pub fn checkpoint(&mut self, c: &Cluster, since: Time, label: &str) -> Vec<(String, String)> {
        self.checkpoints += 1;
        let mut found: Vec<(String, String)> = Vec::new();
        let t = &c.truth;
        let w = &c.workload;
        let live: Vec<usize> = (0..c.nodes.len())
            .filter(|&n| c.nodes[n].engine.is_some() && t.api_since[n].is_some())
            .collect();
        let mut components: Vec<Vec<usize>> = Vec::new();
        for &n in &live {
            match components.iter_mut().find(|comp| c.connected(comp[0], n)) {
                Some(comp) => comp.push(n),
                None => components.push(vec![n]),
            }
        }
        let mut dual = 0;
        for (u, spec) in w.units.iter().enumerate() {
            let name = &spec.members[0];
            let mut holders_everywhere = BTreeSet::new();
            for comp in &components {
                let holders: Vec<usize> =
                    comp.iter().copied().filter(|&n| t.holds(w, n, u)).collect();
                holders_everywhere.extend(holders.iter().copied());
                let eligible: Vec<usize> = spec
                    .nodes
                    .iter()
                    .copied()
                    .filter(|n| comp.contains(n) && c.eligible(*n, u))
                    .collect();
                if holders.len() > 1 {
                    dual += 1;
                    found.push((
                        "dual-active".into(),
                        format!("[{label}] {name}: runs on {holders:?} in one partition"),
                    ));
                }
                if holders.is_empty() && !eligible.is_empty() {
                    found.push((
                        "not-running".into(),
                        format!("[{label}] {name}: eligible on {eligible:?} but not running"),
                    ));
                }
                for &h in &holders {
                    if !eligible.contains(&h) {
                        found.push((
                            "ineligible-holder".into(),
                            format!("[{label}] {name}: runs on n{h}, which is not eligible"),
                        ));
                    }
                    for m in &spec.members {
                        let failed = t.failed.contains(&(h, m.clone()));
                        let state = t.exec(h, m);
                        if (state == Some(Exec::Running)) == failed {
                            found.push((
                                "member".into(),
                                format!("[{label}] {m} on holder n{h}: {state:?} (failed here: {failed})"),
                            ));
                        }
                    }
                    let best = eligible.iter().filter_map(|&n| spec.preference_of(n)).max();
                    if let (Some(best), Some(mine)) = (best, spec.preference_of(h)) {
                        if mine < best {
                            found.push(("preference".into(), format!("[{label}] {name}: held by n{h} (pref {mine}) while pref {best} is eligible")));
                        }
                    }
                    if let Some(&(prev, single)) = self.previous_holder.get(&u) {
                        if single
                            && spec.symmetric()
                            && prev != h
                            && !c.touched.contains(&prev)
                            && eligible.contains(&prev)
                        {
                            found.push((
                                "sticky".into(),
                                format!("[{label}] {name}: moved from untouched n{prev} to n{h}"),
                            ));
                        }
                    }
                }
                // VIPs exactly at the one holder, for its running members.
                let holder = (holders.len() == 1).then(|| holders[0]);
                for &k in comp {
                    for m in &spec.members {
                        for addr in w.addresses(m) {
                            let has = c.nodes[k].vips.contains(&addr);
                            let should = holder == Some(k) && t.running(k, m);
                            if holders.len() <= 1 && has != should {
                                found.push(("vip".into(), format!("[{label}] VIP {addr} of {m} on n{k}: present={has}, expected={should}")));
                            }
                        }
                    }
                }
            }
            match holders_everywhere.iter().next() {
                Some(&h) => {
                    self.previous_holder
                        .insert(u, (h, holders_everywhere.len() == 1));
                }
                None => {
                    self.previous_holder.remove(&u);
                }
            }
        }
        // At rest no handover is under way: nobody forwards stray packets.
        for &k in &live {
            for (service, to) in &c.nodes[k].strays {
                found.push((
                    "strays".into(),
                    format!("[{label}] n{k} still forwards {service}'s stray packets to {to}"),
                ));
            }
        }
        self.dual_active += dual;
        if found.is_empty() {
            let took = c.last_state_change.since(since);
            self.max_convergence_ms = self.max_convergence_ms.max(took);
        } else {
            self.unconverged += 1;
        }
        found
    }
}
