//! `srrd run` as systemd runs it (contrib/systemd/srrd.service:
//! `Type=notify`, `WatchdogSec=`): READY=1 once the OSPF API session is
//! up, WATCHDOG=1 from the main loop every half of WATCHDOG_USEC,
//! STOPPING=1 on SIGTERM. Node n1 of the lab's topology (lab/srrd.clab.yml)
//! with real FRR; the test holds the notify socket, as systemd would.
//! Needs root and FRR.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::lab::{require_root, Lab, Profile};
use srrd_lab::cluster::{Cluster, Overrides};

/// WATCHDOG_USEC of the test: pings every 200 ms.
const WATCHDOG: Duration = Duration::from_millis(400);

/// The notify messages received until `until` holds or `timeout` passes,
/// with their arrival times.
fn receive(
    socket: &UnixDatagram,
    timeout: Duration,
    mut until: impl FnMut(&[(Instant, String)]) -> bool,
) -> Vec<(Instant, String)> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !until(&got) && Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            got.push((
                Instant::now(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
        }
    }
    got
}

fn count(got: &[(Instant, String)], message: &str) -> usize {
    got.iter().filter(|(_, m)| m == message).count()
}

#[test]
fn srrd_reports_ready_pings_the_watchdog_and_reports_stopping() {
    require_root();
    let mut nodes = Cluster::build_lab(
        Lab::new("systemd_notify"),
        PathBuf::from(env!("CARGO_BIN_EXE_srrd")),
        Overrides::own_srrd(Profile::Fast),
    )
    .unwrap_or_else(|e| panic!("the lab: {e}"));
    let config = nodes.base_config("n1");
    nodes
        .configure_srrd("n1", config)
        .unwrap_or_else(|e| panic!("{e}"));
    let lab = &nodes.lab;
    let dir = lab.node_dir("n1");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("socket timeout");

    let mut cmd = nodes.srrd_command("n1", "srrd=info");
    cmd.env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string());
    let srrd = lab.spawn("n1", cmd);

    let got = receive(&socket, Duration::from_secs(40), |got| {
        let ready = got.iter().position(|(_, m)| m == "READY=1");
        ready.is_some_and(|at| count(&got[at..], "WATCHDOG=1") >= 6)
    });
    let ready = got
        .iter()
        .position(|(_, m)| m == "READY=1")
        .unwrap_or_else(|| panic!("no READY=1; got {got:?}\n{}", srrd.log_text()));
    let pings: Vec<Instant> = got[ready..]
        .iter()
        .filter(|(_, m)| m == "WATCHDOG=1")
        .map(|(at, _)| *at)
        .collect();
    assert!(
        pings.len() >= 6,
        "WATCHDOG=1 after READY=1: {got:?}\n{}",
        srrd.log_text()
    );
    let mean = (pings[pings.len() - 1] - pings[1]) / (pings.len() as u32 - 2);
    assert!(
        mean >= WATCHDOG / 2 - Duration::from_millis(50) && mean < WATCHDOG,
        "pings every {mean:?}, not every half of {WATCHDOG:?}"
    );

    lab.signal(&srrd, common::lab::Signal::SIGTERM);
    let got = receive(&socket, Duration::from_secs(20), |got| {
        count(got, "STOPPING=1") > 0
    });
    assert_eq!(count(&got, "STOPPING=1"), 1, "after SIGTERM: {got:?}");
    let status = lab
        .wait_exit(&srrd, Duration::from_secs(20))
        .expect("srrd exits after SIGTERM");
    assert!(status.success(), "srrd exited with {status}");
}
