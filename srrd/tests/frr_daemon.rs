//! `srrd run` against real FRR 8.4 (zebra + ospfd --apiserver) in network
//! namespaces (lab/src/netns.rs): two subnets joined by r1, nodes n1, n2
//! on LAN A and n3 on LAN B, a client c1 behind r1. A tiny HTTP service
//! answers with the name of the node that serves it; every claim is checked
//! from the client. Needs root and FRR (CI has both).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::lab::{require_root, wait_for, Lab, ProcHandle, Profile};

const VIP: &str = "192.0.2.10";
const NODES: [&str; 3] = ["n1", "n2", "n3"];

/// start: an HTTP server on the VIP serving a file that names the node.
const PRIMITIVES: &str = r#"#!/bin/sh
pidfile="$SRRD_STATE_DIR/http.pid"
case "$1" in
start)
    echo "$SRRD_NODE" > "$SRRD_STATE_DIR/whoami"
    cd "$SRRD_STATE_DIR" || exit 1
    setsid python3 -m http.server 8080 --bind "${SRRD_ADDRESSES%% *}" </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    ;;
stop)
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    rm -f "$pidfile"
    ;;
check)
    [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")"
    ;;
esac
exit 0
"#;

/// Fetches http://VIP:8080/whoami from c1: the serving node's name.
const PROBE: &str = r#"
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://%s:8080/whoami" % sys.argv[1], timeout=0.5).read().decode().strip())
except Exception as e:
    print("-")
"#;

struct Cluster {
    lab: Lab,
    srrd: Vec<Option<ProcHandle>>,
    /// Nodes killed whole: their kernel state is gone as far as the
    /// network is concerned.
    dead: Vec<&'static str>,
}

impl Cluster {
    /// The two-subnet lab with FRR converged and the web service configured
    /// on n1..n3 with the given preferences.
    fn new(preferences: [u8; 3]) -> Cluster {
        require_root();
        let lab = Lab::two_subnets(Profile::Fast);
        lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
        // Every node shares a cluster key: all LSAs carry an HMAC tag.
        let key = lab.dir().join("cluster.key");
        std::fs::write(&key, "an-example-cluster-key-of-32-bytes").expect("write key");
        let script = lab.dir().join("web.sh");
        std::fs::write(&script, PRIMITIVES).expect("write primitives");
        set_executable(&script);
        for (node, pref) in NODES.iter().zip(preferences) {
            let dir = lab.node_dir(node);
            let config = format!(
                "[node]\nname = \"{node}\"\nstate_dir = \"{state}\"\nvip_interface = \"lo\"\n\
                 cluster_key_file = \"{key}\"\n\n\
                 [[service]]\nname = \"web\"\naddresses = [\"{VIP}\"]\npreference = {pref}\n\
                 check_interval = \"1s\"\nprimitives = \"{script}\"\n",
                state = dir.join("state").display(),
                script = script.display(),
                key = key.display(),
            );
            std::fs::write(dir.join("srrd.toml"), config).expect("write config");
        }
        Cluster {
            lab,
            srrd: vec![None, None, None],
            dead: Vec::new(),
        }
    }

    fn index(node: &str) -> usize {
        NODES
            .iter()
            .position(|n| *n == node)
            .expect("a service node")
    }

    fn start_srrd(&mut self, node: &str) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srrd"));
        cmd.arg("run")
            .arg("--config")
            .arg(self.config(node))
            .arg("--log")
            .arg("srrd=debug");
        self.srrd[Self::index(node)] = Some(self.lab.spawn(node, cmd));
    }

    fn config(&self, node: &str) -> PathBuf {
        self.lab.node_dir(node).join("srrd.toml")
    }

    fn srrd(&self, node: &str) -> &ProcHandle {
        self.srrd[Self::index(node)].as_ref().expect("srrd started")
    }

    /// SIGTERM: graceful shutdown; returns its exit status.
    fn stop_srrd(&mut self, node: &str) -> std::process::ExitStatus {
        let h = self.srrd(node).clone();
        self.lab.signal(&h, libc::SIGTERM);
        self.lab
            .wait_exit(&h, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("srrd on {node} did not exit after SIGTERM"))
    }

    fn who_serves(&self) -> String {
        let out = self.lab.exec("c1", &["python3", "-c", PROBE, VIP]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until c1 gets the answer from `node`; returns how long it took.
    fn wait_served_by(&self, node: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        wait_for(timeout, || self.who_serves() == node).unwrap_or_else(|| {
            panic!(
                "after {:?} c1 is served by {:?}, expected {node}; VIPs: {:?}\n{}",
                start.elapsed(),
                self.who_serves(),
                self.vip_holders(),
                self.logs()
            )
        })
    }

    fn kill_node(&mut self, node: &'static str) {
        self.lab.kill_node(node);
        self.dead.push(node);
    }

    fn vip_holders(&self) -> Vec<&'static str> {
        NODES
            .iter()
            .copied()
            .filter(|n| !self.dead.contains(n))
            .filter(|n| self.lab.ip(n, "-4 addr show dev lo").contains(VIP))
            .collect()
    }

    fn logs(&self) -> String {
        self.srrd
            .iter()
            .flatten()
            .map(|h| {
                let text = h.log_text();
                let tail: Vec<&str> = text.lines().rev().take(25).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- srrd on {}:\n{}", h.node, tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Exactly one node holds the VIP, and it is `node`.
    fn assert_only_holder(&self, node: &str) {
        let holders = self.vip_holders();
        assert_eq!(holders, vec![node], "VIP holders\n{}", self.logs());
    }
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path).expect("stat").permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(path, perm).expect("chmod");
}

#[test]
fn symmetric_service_starts_on_highest_router_id_and_fails_over_across_subnets() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    // n3 (10.255.0.13) is the highest router id, on LAN B.
    let t = c.wait_served_by("n3", Duration::from_secs(20));
    eprintln!("served by n3 {t:?} after start");
    c.assert_only_holder("n3");

    // n3's LSAs, as n1's ospfd holds them, decode and authenticate.
    let key = c.lab.dir().join("cluster.key").display().to_string();
    let lsdb = c
        .lab
        .exec_ok("n1", &[env!("CARGO_BIN_EXE_srrd"), "lsdb", "--key", &key]);
    let from_n3: Vec<&str> = lsdb
        .lines()
        .filter(|l| l.contains(r#""adv_router":"10.255.0.13""#))
        .collect();
    assert!(
        from_n3
            .iter()
            .any(|l| l.contains(r#""kind":"daemon""#) && l.contains(r#""node_name":"n3""#)),
        "no daemon LSA of n3 at n1:\n{lsdb}"
    );
    assert!(
        from_n3
            .iter()
            .any(|l| l.contains(r#""name":"web""#) && l.contains(r#""state":"active/started""#)),
        "no started web LSA of n3 at n1:\n{lsdb}"
    );

    // The active node dies: n2 (10.255.0.12, LAN A) takes over once ospfd
    // declares n3 dead (dead interval 1 s).
    c.kill_node("n3");
    let t = c.wait_served_by("n2", Duration::from_secs(10));
    eprintln!("node crash n3 -> n2 (other subnet): client served again after {t:?}");
    c.assert_only_holder("n2");

    // Graceful stop of the holder: n1 takes over, n2 exits 0 without its VIP.
    let status = c.stop_srrd("n2");
    assert!(
        status.success(),
        "srrd on n2 exited with {status}\n{}",
        c.logs()
    );
    let t = c.wait_served_by("n1", Duration::from_secs(10));
    eprintln!("graceful stop n2 -> n1: client served again after {t:?}");
    c.assert_only_holder("n1");
}

#[test]
fn asymmetric_service_returns_to_the_preferred_node() {
    let mut c = Cluster::new([200, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n1", Duration::from_secs(20));
    c.assert_only_holder("n1");

    let status = c.stop_srrd("n1");
    assert!(status.success(), "srrd on n1 exited with {status}");
    c.wait_served_by("n3", Duration::from_secs(10));
    c.assert_only_holder("n3");

    // The preferred node returns and preempts.
    c.start_srrd("n1");
    let t = c.wait_served_by("n1", Duration::from_secs(20));
    eprintln!("n1 back: preempted n3 after {t:?}");
    c.assert_only_holder("n1");
}

#[test]
fn ospfd_crash_on_the_active_node_moves_the_service() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));

    c.lab.kill_ospfd("n3");
    let t = c.wait_served_by("n2", Duration::from_secs(10));
    eprintln!("ospfd crash on n3 -> n2: client served again after {t:?}");
    // srrd on n3 lost its session: it stopped the service and took the VIP away.
    let gone = wait_for(Duration::from_secs(5), || c.vip_holders() == vec!["n2"]);
    assert!(
        gone.is_some(),
        "VIP holders {:?}\n{}",
        c.vip_holders(),
        c.logs()
    );
    assert!(
        c.lab.is_running(c.srrd("n3")),
        "srrd on n3 must keep running"
    );

    // ospfd returns: srrd reconnects; the service stays on n2 (sticky).
    c.lab.start_frr("n3");
    c.lab.wait_ospf_full("r1", 3, Duration::from_secs(30));
    let rejoined = wait_for(Duration::from_secs(20), || {
        c.srrd("n3")
            .log_text()
            .matches("OSPF API session ready")
            .count()
            >= 2
    });
    assert!(
        rejoined.is_some(),
        "srrd on n3 did not reconnect\n{}",
        c.logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(c.who_serves(), "n2");
    c.assert_only_holder("n2");
}

#[test]
fn srrd_kill9_and_restart_leaves_no_stray_vip_and_no_duplicate() {
    let mut c = Cluster::new([100, 100, 100]);
    for node in NODES {
        c.start_srrd(node);
    }
    c.wait_served_by("n3", Duration::from_secs(20));

    // kill -9: ospfd flushes n3's LSAs, n2 takes over; n3's VIP stays
    // behind on its lo until srrd comes back.
    let h = c.srrd("n3").clone();
    c.lab.kill(&h);
    let took_over = wait_for(Duration::from_secs(10), || c.vip_holders().contains(&"n2"));
    assert!(took_over.is_some(), "n2 did not take over\n{}", c.logs());

    c.start_srrd("n3");
    let clean = wait_for(Duration::from_secs(15), || c.vip_holders() == vec!["n2"]);
    assert!(
        clean.is_some(),
        "VIP holders {:?}\n{}",
        c.vip_holders(),
        c.logs()
    );
    c.wait_served_by("n2", Duration::from_secs(5));
    // Still exactly one after the dust settles.
    std::thread::sleep(Duration::from_secs(2));
    c.assert_only_holder("n2");
}

#[test]
fn misconfigured_node_fails_fast_naming_the_problem() {
    require_root();
    let lab = Lab::new("misconfigured");
    lab.add_node("x");
    let dir = lab.node_dir("x");
    let run = |config: &Path| {
        let out = lab.exec(
            "x",
            &[
                env!("CARGO_BIN_EXE_srrd"),
                "run",
                "--config",
                &config.display().to_string(),
            ],
        );
        assert!(
            !out.status.success(),
            "srrd run succeeded with {}",
            config.display()
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // A configuration error names file, line and field.
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[node]\nstate_dir = \"/tmp/x\"\n[[service]]\nname = \"web\"\nprimitives = \"/bin/true\"\naddresses = [\"192.0.2.1\"]\ndepends = [\"nosuch\"]\n",
    )
    .expect("write");
    let err = run(&bad);
    assert!(
        err.contains(&format!("{}:7:", bad.display())) && err.contains("service[0].depends"),
        "{err}"
    );

    // No ospfd: the address tried is named.
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!(
            "[node]\nstate_dir = \"{}\"\nospf_api = \"127.0.0.1:2607\"\n[[service]]\nname = \"web\"\nprimitives = \"/bin/true\"\naddresses = [\"192.0.2.1\"]\n",
            dir.join("state").display()
        ),
    )
    .expect("write");
    lab.ip("x", "link set lo up");
    let err = run(&good);
    assert!(
        err.contains("cannot reach ospfd's OSPF API at 127.0.0.1:2607"),
        "{err}"
    );
}
