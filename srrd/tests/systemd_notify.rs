//! `srrd run` as systemd runs it (contrib/systemd/srrd.service:
//! `Type=notify`, `WatchdogSec=`): READY=1 once the OSPF API session is
//! up, WATCHDOG=1 from the main loop every half of WATCHDOG_USEC,
//! STOPPING=1 on SIGTERM. One node with real FRR in a namespace; the test
//! holds the notify socket, as systemd would. Needs root and FRR.

mod common;

use std::net::Ipv4Addr;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::{require_root, Lab, Profile, Router};

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
    let lab = Lab::new("systemd_notify");
    lab.add_node("n1");
    lab.add_lan("lanA");
    lab.attach("n1", "eth0", "lanA", "198.51.100.11/24");
    lab.set_router(
        "n1",
        Router {
            router_id: Ipv4Addr::new(10, 255, 0, 11),
            profile: Profile::Fast,
            interfaces: vec![("eth0".into(), 1)],
            passive: Vec::new(),
            networks: vec!["198.51.100.0/24".into()],
        },
    );
    lab.start_frr("n1");

    let dir = lab.node_dir("n1");
    let config = dir.join("srrd.toml");
    let state = dir.join("state");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"n1\"\nstate_dir = \"{}\"\n",
            state.display()
        ),
    )
    .expect("write config");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("socket timeout");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_srrd"));
    cmd.arg("run")
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
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
