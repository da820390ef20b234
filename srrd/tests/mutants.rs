//! The mutation test: each known-bad engine behaviour
//! (srrd/src/engine/mutants.rs), switched on alone, must make the simulator
//! report a violation. A check that no mutant trips is not a check.

use srrd::engine::mutants::{self, Mutant};
use srrd::sim::{run, FaultKind, SimConfig};

/// Small runs that between them exercise every fault kind: all kinds
/// mixed, on a LAN and across a WAN, then each kind alone.
fn configs() -> Vec<SimConfig> {
    let base = SimConfig {
        nodes: 6,
        services: 24,
        duration_ms: 90_000,
        faults: FaultKind::ALL.to_vec(),
        ..SimConfig::default()
    };
    let lan = (0..4).map(|seed| SimConfig {
        seed,
        ..base.clone()
    });
    let wan = (100..104).map(|seed| SimConfig {
        seed,
        wan_delay_ms: Some((5, 150)),
        ..base.clone()
    });
    let alone = FaultKind::ALL.into_iter().map(|kind| SimConfig {
        seed: 200,
        faults: vec![kind],
        ..base.clone()
    });
    lan.chain(wan).chain(alone).collect()
}

/// The first run that reports something, as (seed, what it reported).
fn tripped(mutant: Option<Mutant>) -> Option<(u64, String)> {
    mutants::set(mutant);
    let found = configs().into_iter().find_map(|c| {
        let s = run(&c);
        let bad = !s.converged || s.invariant_violations > 0 || s.dual_active_after_convergence > 0;
        bad.then(|| (c.seed, s.violations.first().cloned().unwrap_or_default()))
    });
    mutants::set(None);
    found
}

#[test]
fn the_real_engine_passes() {
    assert_eq!(tripped(None), None);
}

#[test]
fn every_mutant_is_caught() {
    let mut missed = Vec::new();
    for m in Mutant::ALL {
        match tripped(Some(m)) {
            Some((seed, first)) => eprintln!("{m:?}: caught (seed {seed}): {first}"),
            None => missed.push(m),
        }
    }
    assert!(
        missed.is_empty(),
        "no check trips these mutants: {missed:?}"
    );
}

/// The stories are checks too: each catches the mutant of the finding it
/// was written for (the sweep must catch all of them on its own, above).
#[test]
fn each_story_catches_its_mutant() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cluster");
    let written_for = [
        (Mutant::LowestRouterIdWins, "01-three-node-boot.scn"),
        (Mutant::MoveBack, "02-holder-crash-across-subnets.scn"),
        (
            Mutant::IgnoreReachability,
            "02-holder-crash-across-subnets.scn",
        ),
        (Mutant::LeakVip, "03-partition-and-heal.scn"),
        (Mutant::MoveToAnyTarget, "04-move-to-ineligible.scn"),
        (
            Mutant::TrustStaleRecords,
            "05-stale-records-of-returning-node.scn",
        ),
        (
            Mutant::NoStartBarrier,
            "06-simultaneous-eligibility-over-wan.scn",
        ),
        (Mutant::KeepRunningWithoutOspfd, "08-ospfd-loss.scn"),
        (Mutant::OverlapEverything, "11-overlap-handover.scn"),
        (Mutant::EndlessOverlap, "11-overlap-handover.scn"),
        (Mutant::EndlessStrays, "11-overlap-handover.scn"),
        (Mutant::AdoptDespiteHolder, "13-restart-after-takeover.scn"),
    ];
    let mut missed = Vec::new();
    for (m, story) in written_for {
        mutants::set(Some(m));
        let failed = srrd::sim::story::run_file(&dir.join(story)).is_err();
        mutants::set(None);
        if !failed {
            missed.push(format!("{story} passes with {m:?}"));
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
}
