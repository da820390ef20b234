//! The simulator's ground truth and an oracle over it. Nothing here calls
//! engine code: who runs what comes from the primitives the executor ran
//! and finished, eligibility from the configuration (the Workload) and from
//! what the simulator itself did (sessions, connectivity, the failures it
//! injected, the operator commands it issued).

use std::collections::{BTreeMap, BTreeSet};

use super::workload::Workload;
use crate::engine::OpId;
use crate::model::Time;

/// What the executor is doing with one service on one node (absent: off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exec {
    /// `start` runs (a hung start stays here until it is cancelled).
    Starting(OpId),
    /// `start` finished OK and no `stop` ran since.
    Running,
    /// `stop` runs; the service counts as running until it ends.
    Stopping(OpId),
}

/// Per-service facts from the configuration.
#[derive(Clone, Debug)]
pub struct ServiceFacts {
    pub unit: usize,
    pub depends: Vec<String>,
    /// Services of the same unit that depend on this one.
    pub dependants: Vec<String>,
    /// Its failure takes the whole unit off the node (flagged, no explicit
    /// group, or needed by a critical member: docs/architecture.md).
    pub critical: bool,
    pub has_check: bool,
    pub quorum: bool,
    /// `handover = "overlap"`: a planned move may run it twice briefly.
    pub overlap: bool,
}

#[derive(Default)]
pub struct Truth {
    pub exec: BTreeMap<(usize, String), Exec>,
    /// Failures the simulator caused (a start or check it failed or hung);
    /// an `activate` command clears them, a new srrd run forgets them.
    pub failed: BTreeSet<(usize, String)>,
    /// Units the operator stopped on a node (`stop`; `start` clears).
    pub standby: BTreeSet<(usize, usize)>,
    /// When each node's API session came up; `None` while it is down.
    pub api_since: Vec<Option<Time>>,
    /// When each node's API session went down (while its engine lives).
    pub api_lost_at: Vec<Option<Time>>,
    /// Pair (a < b) → (connected, since when).
    pub pairs: BTreeMap<(usize, usize), (bool, Time)>,
    /// Last time a failure or command changed (node, unit)'s eligibility.
    pub changed_at: BTreeMap<(usize, usize), Time>,
    /// Unit → target of the last operator move.
    pub handoff: BTreeMap<usize, usize>,
    /// (node, unit) → when the operator last told that node to give the
    /// unit up (stop, move-to, deactivate, disable); `start`, `activate`
    /// and `enable` withdraw it.
    pub leaving: BTreeMap<(usize, usize), Time>,
    pub facts: BTreeMap<String, ServiceFacts>,
    /// Copies a killed srrd left running that its next run adopted, until
    /// they stop or their node crashes.
    pub leftover: BTreeSet<(usize, String)>,
}

impl Truth {
    pub fn new(w: &Workload) -> Truth {
        let nodes = w.per_node.len();
        let mut t = Truth {
            api_since: vec![None; nodes],
            api_lost_at: vec![None; nodes],
            ..Truth::default()
        };
        for (u, spec) in w.units.iter().enumerate() {
            let Some(&first) = spec.nodes.first() else {
                continue;
            };
            let cfgs: Vec<_> = w.per_node[first]
                .iter()
                .filter(|s| spec.members.contains(&s.name))
                .collect();
            let mut critical: BTreeSet<&str> = cfgs
                .iter()
                .filter(|s| s.critical || s.group.is_none())
                .map(|s| s.name.as_str())
                .collect();
            // What a critical member needs is critical too (to a fixpoint).
            loop {
                let before = critical.len();
                for s in &cfgs {
                    if critical.contains(s.name.as_str()) {
                        critical.extend(s.depends.iter().map(String::as_str));
                    }
                }
                if critical.len() == before {
                    break;
                }
            }
            for s in &cfgs {
                t.facts.insert(
                    s.name.clone(),
                    ServiceFacts {
                        unit: u,
                        depends: s.depends.clone(),
                        dependants: cfgs
                            .iter()
                            .filter(|d| d.depends.contains(&s.name))
                            .map(|d| d.name.clone())
                            .collect(),
                        critical: critical.contains(s.name.as_str()),
                        has_check: s.check_interval.is_some(),
                        quorum: s.quorum,
                        overlap: s.handover == crate::config::Handover::Overlap,
                    },
                );
            }
        }
        t
    }

    pub fn unit_of(&self, service: &str) -> Option<usize> {
        self.facts.get(service).map(|f| f.unit)
    }

    pub fn exec(&self, node: usize, service: &str) -> Option<Exec> {
        self.exec.get(&(node, service.to_string())).copied()
    }

    pub fn running(&self, node: usize, service: &str) -> bool {
        self.exec(node, service) == Some(Exec::Running)
    }

    /// Whether any member of the unit has a process on the node.
    pub fn holds(&self, w: &Workload, node: usize, unit: usize) -> bool {
        w.units[unit]
            .members
            .iter()
            .any(|m| self.exec(node, m).is_some())
    }

    /// Records the connectivity of every pair now; returns whether any changed.
    pub fn set_connectivity(&mut self, now: Time, connected: impl Fn(usize, usize) -> bool) {
        let n = self.api_since.len();
        for a in 0..n {
            for b in a + 1..n {
                let c = connected(a, b);
                match self.pairs.get(&(a, b)) {
                    Some(&(was, _)) if was == c => {}
                    _ => {
                        self.pairs.insert((a, b), (c, now));
                    }
                }
            }
        }
    }

    /// How long a and b have been connected without a break (0 if not now).
    pub fn connected_for(&self, now: Time, a: usize, b: usize) -> u64 {
        if a == b {
            return u64::MAX;
        }
        match self.pairs.get(&(a.min(b), a.max(b))) {
            Some(&(true, since)) => now.since(since),
            _ => 0,
        }
    }

    /// How long a's connectivity to b (connected or not) has not changed.
    pub fn pair_stable_for(&self, now: Time, a: usize, b: usize) -> u64 {
        match self.pairs.get(&(a.min(b), a.max(b))) {
            Some(&(_, since)) => now.since(since),
            None => u64::MAX,
        }
    }

    pub fn api_for(&self, now: Time, n: usize) -> u64 {
        self.api_since[n].map_or(0, |s| now.since(s))
    }

    pub fn touch(&mut self, now: Time, node: usize, unit: usize) {
        self.changed_at.insert((node, unit), now);
    }

    /// A new srrd run on the node: it knows nothing of earlier commands.
    pub fn forget_run(&mut self, now: Time, node: usize) {
        self.failed.retain(|(n, _)| *n != node);
        self.standby.retain(|(n, _)| *n != node);
        let units: Vec<usize> = self
            .changed_at
            .keys()
            .filter(|(n, _)| *n == node)
            .map(|(_, u)| *u)
            .collect();
        for u in units {
            self.touch(now, node, u);
        }
    }

    /// The oracle's eligibility of `node` for `unit`, given the connectivity
    /// `connected` and whether the node's srrd runs (`alive`).
    pub fn eligible(
        &self,
        w: &Workload,
        node: usize,
        unit: usize,
        alive: bool,
        connected: impl Fn(usize, usize) -> bool,
    ) -> bool {
        let spec = &w.units[unit];
        if !alive || self.api_since[node].is_none() || !spec.nodes.contains(&node) {
            return false;
        }
        if self.standby.contains(&(node, unit)) {
            return false;
        }
        let mut quorum = false;
        for m in &spec.members {
            let f = &self.facts[m];
            quorum |= f.quorum;
            if f.critical && self.failed.contains(&(node, m.clone())) {
                return false;
            }
        }
        // Quorum: a majority of the unit's nodes is reachable (ospfd's view).
        !quorum || spec.nodes.iter().filter(|&&k| connected(node, k)).count() * 2 > spec.nodes.len()
    }
}
