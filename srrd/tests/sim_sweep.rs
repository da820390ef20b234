//! The simulator over many seeds, fault kinds and flood delays: zero
//! invariant violations, and every checkpoint converged. A failure lists
//! every failing seed with its violations by kind. (Throughput is
//! reported by `srrd sim`, a benchmark, never asserted here.)

use srrd::sim::{run, FaultKind, SimConfig};

/// Cross-router flood delay for the WAN sweeps (ms).
const WAN: (u64, u64) = (5, 150);

fn base(seed: u64) -> SimConfig {
    SimConfig {
        nodes: 6,
        services: 24,
        seed,
        duration_ms: 150_000,
        faults: FaultKind::ALL.to_vec(),
        ..SimConfig::default()
    }
}

fn sweep(seeds: std::ops::Range<u64>, tweak: impl Fn(&mut SimConfig)) {
    let mut failures = Vec::new();
    for seed in seeds {
        let mut config = base(seed);
        tweak(&mut config);
        let s = run(&config);
        assert!(
            s.faults_injected > 0 && s.checkpoints > 2,
            "seed {seed}: nothing happened"
        );
        if !s.converged || s.invariant_violations > 0 || s.dual_active_after_convergence > 0 {
            failures.push(format!(
                "seed {seed} {:?}:\n  {}",
                s.violations_by_kind,
                s.violations
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn all_faults_lan() {
    sweep(0..64, |_| {});
}

#[test]
fn all_faults_wan() {
    sweep(1000..1064, |c| c.wan_delay_ms = Some(WAN));
}

/// Each fault kind alone, on a LAN and across a WAN.
#[test]
fn each_fault_kind() {
    let mut failing = Vec::new();
    for (i, kind) in FaultKind::ALL.into_iter().enumerate() {
        for wan in [None, Some(WAN)] {
            let seed = 2000 + 100 * i as u64 + if wan.is_some() { 50 } else { 0 };
            let one = std::panic::catch_unwind(|| {
                sweep(seed..seed + 4, |c| {
                    c.faults = vec![kind];
                    c.wan_delay_ms = wan;
                })
            });
            if let Err(e) = one {
                let text = e.downcast_ref::<String>().cloned().unwrap_or_default();
                failing.push(format!("{} wan={wan:?}: {text}", kind.name()));
            }
        }
    }
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

/// Once a false failure: floods lost while a link was down were never repaired.
#[test]
fn lost_floods_are_repaired() {
    sweep(5..6, |c| {
        c.nodes = 8;
        c.services = 100;
        c.duration_ms = 300_000;
    });
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
