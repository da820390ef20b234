//! The simulator over many seeds with every fault kind: zero invariant
//! violations, and every checkpoint converged. (Throughput is reported by
//! `srrd sim`, a benchmark, never asserted here.)

use srrd::sim::{run, FaultKind, SimConfig};

fn sweep(seeds: std::ops::Range<u64>, tweak: impl Fn(&mut SimConfig)) {
    for seed in seeds {
        let mut config = SimConfig {
            nodes: 6,
            services: 24,
            seed,
            duration_ms: 150_000,
            faults: FaultKind::ALL.to_vec(),
            ..SimConfig::default()
        };
        tweak(&mut config);
        let s = run(&config);
        assert!(
            s.converged && s.invariant_violations == 0 && s.dual_active_after_convergence == 0,
            "seed {seed} ({config:?}):\n{}",
            s.violations.join("\n")
        );
        assert!(
            s.faults_injected > 0 && s.checkpoints > 2,
            "seed {seed}: nothing happened"
        );
    }
}

#[test]
fn all_faults_many_seeds() {
    sweep(0..16, |_| {});
}

#[test]
fn all_faults_with_quorum_guard() {
    sweep(100..108, |c| {
        c.quorum = true;
        c.nodes = 7;
    });
}

#[test]
fn all_faults_with_bfd_and_more_nodes() {
    sweep(200..204, |c| {
        c.bfd = true;
        c.nodes = 16;
        c.services = 60;
    });
}
