//! Deterministic multi-node simulator: N engines joined by a simulated
//! flooding network that behaves like FRR 8.4 ospfd as measured in
//! docs/frr.md, with faults, and invariant checks.

mod checks;
mod cluster;
mod oracle;
mod rng;
pub mod story;
mod workload;

pub use cluster::{ActionFilter, Cluster};
pub use rng::Rng;
pub use workload::{generate, router_id, UnitSpec, Workload};

use std::collections::BTreeMap;

use serde::Serialize;

/// Which kinds of faults the run injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    NodeCrash,
    LinkCut,
    Partition,
    OspfdLoss,
    SrrdRestart,
    StartFailure,
    StartHang,
    CheckFailure,
    LinkFlap,
    OperatorMove,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::NodeCrash,
        FaultKind::LinkCut,
        FaultKind::Partition,
        FaultKind::OspfdLoss,
        FaultKind::SrrdRestart,
        FaultKind::StartFailure,
        FaultKind::StartHang,
        FaultKind::CheckFailure,
        FaultKind::LinkFlap,
        FaultKind::OperatorMove,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::NodeCrash => "crash",
            FaultKind::LinkCut => "link-cut",
            FaultKind::Partition => "partition",
            FaultKind::OspfdLoss => "ospfd-loss",
            FaultKind::SrrdRestart => "srrd-restart",
            FaultKind::StartFailure => "start-failure",
            FaultKind::StartHang => "start-hang",
            FaultKind::CheckFailure => "check-failure",
            FaultKind::LinkFlap => "flap",
            FaultKind::OperatorMove => "move",
        }
    }

    /// Parses `all`, `none` or a comma-separated list of names.
    pub fn parse_list(s: &str) -> Result<Vec<FaultKind>, String> {
        match s {
            "all" => return Ok(FaultKind::ALL.to_vec()),
            "none" | "" => return Ok(Vec::new()),
            _ => {}
        }
        s.split(',')
            .map(|name| {
                FaultKind::ALL
                    .into_iter()
                    .find(|f| f.name() == name.trim())
                    .ok_or_else(|| {
                        let known: Vec<&str> = FaultKind::ALL.iter().map(|f| f.name()).collect();
                        format!(
                            "unknown fault {name:?} (known: all, none, {})",
                            known.join(", ")
                        )
                    })
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub nodes: usize,
    pub services: usize,
    pub seed: u64,
    pub duration_ms: u64,
    pub faults: Vec<FaultKind>,
    pub quorum: bool,
    /// OSPF dead interval; a dead peer is noticed after 0.75–1.0 of it.
    pub dead_interval_ms: u64,
    /// BFD instead of hellos: dead peers noticed in 25–175 ms.
    pub bfd: bool,
    /// Quiet time after each fault or repair before invariants are checked.
    pub settle_ms: u64,
    /// Flood delay across routers (uniform in MIN..=MAX ms, FIFO per pair);
    /// `None`: 2–5 ms as measured in the lab (docs/frr.md, F1).
    pub wan_delay_ms: Option<(u64, u64)>,
    /// Receivers drop an instance of an LSA arriving sooner than this after
    /// the previous one (MinLSArrival, F3); 0 as docs/frr.md configures.
    pub min_arrival_ms: u64,
    /// A restarted srrd stops the previous run's leftover services and
    /// removes its VIPs this long after it starts, before its engine runs
    /// (`srrd cleanup`); `None`: it never does, the leftovers stay.
    pub srrd_cleanup_ms: Option<u64>,
    /// At that cleanup, leftovers that still run are adopted (`srrd run`'s
    /// default) instead of stopped (`--no-adopt`).
    pub adopt: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            nodes: 8,
            services: 40,
            seed: 1,
            duration_ms: 120_000,
            faults: FaultKind::ALL.to_vec(),
            quorum: false,
            dead_interval_ms: 1000,
            bfd: false,
            settle_ms: 12_000,
            wan_delay_ms: None,
            min_arrival_ms: 0,
            srrd_cleanup_ms: Some(300),
            adopt: true,
        }
    }
}

/// The one-line JSON summary `srrd sim` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub nodes: usize,
    pub services: usize,
    pub seed: u64,
    pub events: u64,
    /// LSAs the engines originated (each one flushes the id it replaces).
    pub lsa_updates: u64,
    pub faults_injected: u64,
    pub checkpoints: u64,
    pub converged: bool,
    pub dual_active_after_convergence: u64,
    pub max_convergence_ms: u64,
    pub invariant_violations: u64,
    /// Violations per check (e.g. `dual-start`, `not-running`).
    pub violations_by_kind: BTreeMap<String, u64>,
    pub simulated_ms: u64,
    /// Engine events per wall-clock second, whole simulator included.
    pub events_per_sec: f64,
    /// Engine events per second of time spent inside `Engine::handle`.
    pub engine_events_per_sec: f64,
    /// The first violations, as text.
    #[serde(skip)]
    pub violations: Vec<String>,
}

pub fn run(config: &SimConfig) -> Summary {
    Cluster::new(config.clone()).run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::model::Primitive;

    fn small(faults: &str) -> SimConfig {
        SimConfig {
            nodes: 4,
            services: 12,
            seed: 3,
            duration_ms: 60_000,
            faults: FaultKind::parse_list(faults).expect("fault list"),
            ..SimConfig::default()
        }
    }

    fn drops(primitive: Primitive) -> ActionFilter {
        Box::new(move |_, a| !matches!(a, Action::RunPrimitive(r) if r.primitive == primitive))
    }

    #[test]
    fn an_engine_that_never_starts_fails_the_oracle() {
        let s = Cluster::new(small("none"))
            .with_action_filter(drops(Primitive::Start))
            .run();
        assert!(
            s.violations_by_kind
                .get("not-running")
                .copied()
                .unwrap_or(0)
                > 0,
            "{s:?}"
        );
        assert!(!s.converged);
    }

    #[test]
    fn one_node_that_drops_starts_is_caught() {
        let s = Cluster::new(small("none"))
            .with_action_filter(Box::new(|n, a| {
                n != 3 || !matches!(a, Action::RunPrimitive(r) if r.primitive == Primitive::Start)
            }))
            .run();
        assert!(s.invariant_violations > 0, "{s:?}");
    }

    /// Faults hit random nodes, some of which run nothing: a few seeds.
    fn over_seeds(config: &SimConfig, filter: impl Fn() -> Option<ActionFilter>) -> Vec<Summary> {
        (1..5)
            .map(|seed| {
                let mut c = Cluster::new(SimConfig {
                    seed,
                    services: 24,
                    duration_ms: 120_000,
                    ..config.clone()
                });
                if let Some(f) = filter() {
                    c = c.with_action_filter(f);
                }
                c.run()
            })
            .collect()
    }

    #[test]
    fn an_engine_that_keeps_running_without_a_session_is_caught() {
        let runs = over_seeds(&small("ospfd-loss"), || Some(drops(Primitive::Stop)));
        assert!(
            runs.iter()
                .any(|s| s.violations_by_kind.contains_key("no-api")),
            "{runs:?}"
        );
    }

    #[test]
    fn leftovers_of_a_killed_srrd_are_seen_without_cleanup() {
        let mut c = small("srrd-restart");
        c.srrd_cleanup_ms = None;
        let runs = over_seeds(&c, || None);
        assert!(runs.iter().any(|s| s.invariant_violations > 0), "{runs:?}");
        c.srrd_cleanup_ms = Some(300);
        for s in over_seeds(&c, || None) {
            assert_eq!(s.invariant_violations, 0, "{:?}", s.violations);
        }
    }

    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn same_seed_same_trace() {
        let mut c = small("all");
        c.wan_delay_ms = Some((5, 150));
        let traces: Vec<Vec<u8>> = (0..2)
            .map(|_| {
                let out = Shared::default();
                Cluster::new(c.clone())
                    .with_trace(Box::new(out.clone()))
                    .run();
                let bytes = out.0.borrow().clone();
                bytes
            })
            .collect();
        assert!(traces[0].len() > 1000);
        assert!(traces[0] == traces[1], "runs of one seed differ");
        let first = std::str::from_utf8(&traces[0]).expect("utf-8");
        for line in first.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            assert!(v["t"].is_u64() && v["ev"].is_string(), "{line}");
        }
    }
}
