//! Invariants the simulator checks: continuously (on every start) and at
//! checkpoints, after the cluster has had time to settle.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::cluster::Cluster;
use super::workload::Workload;
use crate::engine::PrimitiveRun;
use crate::model::{Primitive, RunState, Time};

/// Checkpoints keep at most this many violation texts.
const MAX_REPORTED: usize = 50;

#[derive(Default)]
pub struct Checker {
    pub checkpoints: u64,
    pub unconverged: u64,
    pub dual_active: u64,
    pub max_convergence_ms: u64,
    pub violations: Vec<String>,
    violation_count: u64,
    /// Unit → (holder, held in one place only) at the previous checkpoint.
    previous_holder: HashMap<usize, (usize, bool)>,
    /// Service name → unit index and position.
    unit_of: HashMap<String, usize>,
    /// Service → its dependencies (same on every node).
    deps: HashMap<String, Vec<String>>,
}

impl Checker {
    pub fn new(w: &Workload) -> Checker {
        let mut c = Checker::default();
        for (u, spec) in w.units.iter().enumerate() {
            for m in &spec.members {
                c.unit_of.insert(m.clone(), u);
            }
        }
        for node in &w.per_node {
            for s in node {
                c.deps.insert(s.name.clone(), s.depends.clone());
            }
        }
        c
    }

    fn violation(&mut self, at: Time, text: String) {
        self.violation_count += 1;
        if self.violations.len() < MAX_REPORTED {
            self.violations.push(format!("t={}ms: {text}", at.0));
        }
    }

    /// Continuous checks when a node runs a primitive.
    pub fn on_primitive(&mut self, c: &Cluster, n: usize, run: &PrimitiveRun) {
        if run.primitive != Primitive::Start {
            return;
        }
        let Some(engine) = c.nodes[n].engine.as_ref() else {
            return;
        };
        // Dependencies are started before their dependants.
        for dep in self.deps.get(&run.service).cloned().unwrap_or_default() {
            let started = engine
                .service(&dep)
                .is_some_and(|s| s.run == RunState::Started);
            if !started {
                self.violation(
                    c.now,
                    format!(
                        "{} started on n{n} before its dependency {dep}",
                        run.service
                    ),
                );
            }
        }
        // Never two copies within a stable connected partition.
        let stable_for = c.now.since(c.last_topology_change);
        if stable_for < 4_000 {
            return;
        }
        for m in 0..c.nodes.len() {
            if m == n || !c.connected(n, m) || !c.nodes[m].api_up {
                continue;
            }
            let Some(other) = c.nodes[m].engine.as_ref() else {
                continue;
            };
            if let Some(s) = other.service(&run.service) {
                let running = matches!(s.run, RunState::Started | RunState::Stopping)
                    || s.running_primitive == Some(Primitive::Start);
                if running {
                    self.violation(
                        c.now,
                        format!("{} starts on n{n} while n{m} has it {}", run.service, s.run),
                    );
                }
            }
        }
    }

    pub fn checkpoint(&mut self, c: &Cluster, since: Time, label: &str) {
        self.checkpoints += 1;
        let before = self.violation_count;
        let live: Vec<usize> = (0..c.nodes.len())
            .filter(|&n| c.nodes[n].engine.is_some() && c.nodes[n].api_up)
            .collect();
        let mut components: Vec<Vec<usize>> = Vec::new();
        for &n in &live {
            match components.iter_mut().find(|comp| c.connected(comp[0], n)) {
                Some(comp) => comp.push(n),
                None => components.push(vec![n]),
            }
        }

        for (u, spec) in c.workload.units.iter().enumerate() {
            let mut holders_everywhere = BTreeSet::new();
            for comp in &components {
                let in_comp: Vec<usize> = spec
                    .nodes
                    .iter()
                    .copied()
                    .filter(|n| comp.contains(n))
                    .collect();
                let eligible: Vec<usize> = in_comp
                    .iter()
                    .copied()
                    .filter(|&n| {
                        c.nodes[n]
                            .engine
                            .as_ref()
                            .is_some_and(|e| e.is_candidate(&spec.members[0]))
                    })
                    .collect();
                // Which node runs which member.
                let mut by_node: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
                for &n in &in_comp {
                    let e = c.nodes[n].engine.as_ref().expect("live node");
                    for m in &spec.members {
                        if e.service(m).is_some_and(|s| {
                            s.run != RunState::Stopped && s.run != RunState::Failed
                        }) {
                            by_node.entry(n).or_default().push(m);
                        }
                    }
                }
                holders_everywhere.extend(by_node.keys().copied());
                let label_u = &spec.members[0];
                if by_node.len() > 1 {
                    self.dual_active += 1;
                    self.violation(
                        c.now,
                        format!(
                            "[{label}] {label_u}: held on {:?} in one partition",
                            by_node.keys().collect::<Vec<_>>()
                        ),
                    );
                }
                let majority = !spec_quorum(c, u) || in_comp.len() * 2 > spec.nodes.len();
                if !eligible.is_empty() && by_node.is_empty() && majority {
                    self.violation(
                        c.now,
                        format!("[{label}] {label_u}: eligible on {eligible:?} but not running"),
                    );
                }
                if !majority && !by_node.is_empty() {
                    self.violation(c.now, format!("[{label}] {label_u}: runs without quorum"));
                }
                if let Some((&h, members)) = by_node.iter().next() {
                    let e = c.nodes[h].engine.as_ref().expect("live node");
                    for m in &spec.members {
                        let s = e.service(m).expect("member configured");
                        let ok = s.run == RunState::Started || s.run == RunState::Failed;
                        if !ok
                            || members
                                .iter()
                                .any(|x| e.service(x).is_some_and(|s| s.run != RunState::Started))
                        {
                            self.violation(
                                c.now,
                                format!("[{label}] {m}: {} on holder n{h}, not started", s.run),
                            );
                        }
                    }
                    let best = eligible.iter().filter_map(|&n| spec.preference_of(n)).max();
                    if let (Some(best), Some(mine)) = (best, spec.preference_of(h)) {
                        if mine < best {
                            self.violation(
                                c.now,
                                format!("[{label}] {label_u}: held by n{h} (pref {mine}) while pref {best} is eligible"),
                            );
                        }
                    }
                    // VIPs follow the holder.
                    for &other in comp {
                        let e2 = c.nodes[other].engine.as_ref().expect("live node");
                        for m in &spec.members {
                            for addr in e2
                                .service_config(m)
                                .map(|s| s.addresses.clone())
                                .unwrap_or_default()
                            {
                                let has = c.nodes[other].vips.contains(&addr);
                                let should = other == h
                                    && e.service(m).is_some_and(|s| s.run == RunState::Started);
                                if has != should {
                                    self.violation(
                                        c.now,
                                        format!("[{label}] VIP {addr} of {m} on n{other}: present={has}, expected={should}"),
                                    );
                                }
                            }
                        }
                    }
                    // Sticky: a symmetric unit stays where it ran unless a
                    // fault touched that node.
                    if let Some(&(prev, single)) = self.previous_holder.get(&u) {
                        if single
                            && spec.symmetric()
                            && prev != h
                            && !c.touched.contains(&prev)
                            && eligible.contains(&prev)
                        {
                            self.violation(
                                c.now,
                                format!(
                                    "[{label}] {label_u}: moved from untouched n{prev} to n{h}"
                                ),
                            );
                        }
                    }
                }
            }
            let single = holders_everywhere.len() == 1;
            match holders_everywhere.iter().next() {
                Some(&h) => {
                    self.previous_holder.insert(u, (h, single));
                }
                None => {
                    self.previous_holder.remove(&u);
                }
            }
        }

        if self.violation_count > before {
            self.unconverged += 1;
        } else {
            let took = c.last_state_change.since(since);
            self.max_convergence_ms = self.max_convergence_ms.max(took);
        }
    }
}

fn spec_quorum(c: &Cluster, u: usize) -> bool {
    let spec = &c.workload.units[u];
    spec.nodes.iter().any(|&n| {
        c.nodes[n]
            .engine
            .as_ref()
            .and_then(|e| e.service_config(&spec.members[0]))
            .is_some_and(|s| s.quorum)
    })
}
