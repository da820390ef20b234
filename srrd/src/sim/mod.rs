//! Deterministic multi-node simulator: N engines joined by a simulated
//! flooding network that behaves like FRR 8.4 ospfd as measured in
//! shared/notes/frr-ospf-api-netns.md, with faults, and invariant checks.

mod checks;
mod cluster;
mod oracle;
mod rng;
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
