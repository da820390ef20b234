//! The failover scenarios of `srrd_lab::scenario` on the lab of
//! `lab/srrd.clab.yml`, built in network namespaces with real FRR and the
//! workspace's srrd, judged from the client. One lab for all scenarios
//! (each resets it first). Needs root and FRR (CI has both), and the srrd
//! binary next to the test's (`cargo test --workspace` builds it).

use std::path::Path;
use std::time::{Duration, Instant};

use srrd_lab::clab::Topology;
use srrd_lab::cluster::{default_srrd_binary, Cluster};
use srrd_lab::netns::{require_root, wait_for, Lab, ProcHandle};
use srrd_lab::scenario;

fn topology() -> Topology {
    Topology::lab().unwrap_or_else(|problems| panic!("{problems}"))
}

/// Scenarios with a test of their own (below), so that one can be run or
/// ignored alone.
const OWN_TESTS: &[&str] = &["srrd-dies", "node-return"];

#[test]
fn failover_scenarios_as_the_client_sees_them() {
    run_scenarios(|name| !OWN_TESTS.contains(&name));
}

#[test]
fn srrd_dies() {
    run_scenarios(|name| name == "srrd-dies");
}

#[test]
fn node_return() {
    run_scenarios(|name| name == "node-return");
}

/// Runs the chosen scenarios on one lab; fails with every failure.
fn run_scenarios(chosen: impl Fn(&str) -> bool) {
    require_root();
    let srrd = default_srrd_binary().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let cluster = Cluster::build(Lab::new("scenarios"), topology(), srrd)
        .unwrap_or_else(|e| panic!("building the lab: {e}"));
    eprintln!("lab up after {:?}", start.elapsed());
    let mut failures = Vec::new();
    for s in scenario::all().into_iter().filter(|s| chosen(s.name)) {
        match scenario::run(&cluster, &s) {
            Ok(outcome) => eprintln!("ok      {outcome}"),
            Err(e) => {
                eprintln!("FAILED  {e}\n{}", srrd_tails(&cluster));
                failures.push(e);
            }
        }
    }
    eprintln!("scenarios done after {:?}", start.elapsed());
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
}

/// The last lines of every srrd log, for a failed scenario.
fn srrd_tails(c: &Cluster) -> String {
    let srrds: Vec<ProcHandle> = c
        .lab
        .processes()
        .into_iter()
        .filter(|p| p.name == "srrd")
        .collect();
    srrds
        .iter()
        .rev()
        .take(6)
        .map(|p| {
            let text = p.log_text();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            format!("--- {} ({}):\n{}", p.node, p.log.display(), tail.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_persistent_lab_outlives_its_handle_and_is_destroyed_by_id() {
    require_root();
    let id = format!("t{}", std::process::id());
    let lab = Lab::persistent(&id).unwrap_or_else(|e| panic!("{e}"));
    lab.add_node("a");
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("300");
    let sleeper = lab.spawn("a", cmd);
    let ns = lab.ns("a");
    lab.leave_running();
    assert!(Lab::is_up(&id));
    assert!(Path::new(&format!("/run/netns/{ns}")).exists());

    let again = Lab::reattach(&id).unwrap_or_else(|e| panic!("{e}"));
    let known = again
        .processes()
        .into_iter()
        .find(|p| p.pid == sleeper.pid)
        .expect("the sleeper is in the saved state");
    assert!(again.is_running(&known));
    again.leave_running();
    assert!(
        Lab::persistent(&id).is_err(),
        "a second lab with the same id must be refused"
    );

    assert_eq!(Lab::destroy(&id), Ok(true));
    assert!(!Lab::is_up(&id));
    assert!(!Path::new(&format!("/run/netns/{ns}")).exists());
    // Dead, or a zombie: we spawned it, so only we could reap it, and the
    // handle that could was left behind on purpose.
    let gone = wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{}/stat", sleeper.pid))
            .map_or(true, |stat| stat.contains(") Z "))
    });
    assert!(gone.is_some(), "the lab's process survived destroy");
    assert_eq!(Lab::destroy(&id), Ok(false));
}
