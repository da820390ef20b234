//! A three-node srrd cluster on the two-subnet lab (lab/src/netns.rs):
//! n1, n2 on LAN A, n3 on LAN B, a client c1 behind r1, and a `web`
//! service whose tiny HTTP server answers with the serving node's name.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::lab::{require_root, wait_for, Lab, ProcHandle, Profile};

pub const VIP: &str = "192.0.2.10";
pub const NODES: [&str; 3] = ["n1", "n2", "n3"];

/// start: an HTTP server on the VIP serving a file that names the node.
pub const PRIMITIVES: &str = r#"#!/bin/sh
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
pub const PROBE: &str = r#"
import sys, urllib.request
try:
    print(urllib.request.urlopen("http://%s:8080/whoami" % sys.argv[1], timeout=0.5).read().decode().strip())
except Exception as e:
    print("-")
"#;

pub struct Cluster {
    pub lab: Lab,
    pub srrd: Vec<Option<ProcHandle>>,
    /// Nodes killed whole: their kernel state is gone as far as the
    /// network is concerned.
    pub dead: Vec<&'static str>,
}

impl Cluster {
    /// The two-subnet lab with FRR converged and the web service configured
    /// on n1..n3 with the given preferences.
    pub fn new(preferences: [u8; 3]) -> Cluster {
        Cluster::with_extra(preferences, |_, _| (String::new(), String::new()))
    }

    /// As `new`; `extra(lab, node)` gives lines added to the node's `[node]`
    /// table and text appended to its file.
    pub fn with_extra(
        preferences: [u8; 3],
        extra: impl Fn(&Lab, &str) -> (String, String),
    ) -> Cluster {
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
            let (node_lines, appended) = extra(&lab, node);
            let config = format!(
                "[node]\nname = \"{node}\"\nstate_dir = \"{state}\"\nvip_interface = \"lo\"\n\
                 cluster_key_file = \"{key}\"\nvty_socket_dir = \"{vty}\"\n{node_lines}\n\
                 [[service]]\nname = \"web\"\naddresses = [\"{VIP}\"]\npreference = {pref}\n\
                 check_interval = \"1s\"\nprimitives = \"{script}\"\n{appended}",
                state = dir.join("state").display(),
                vty = dir.display(),
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

    pub fn index(node: &str) -> usize {
        NODES
            .iter()
            .position(|n| *n == node)
            .expect("a service node")
    }

    pub fn start_srrd(&mut self, node: &str) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_srrd"));
        cmd.arg("run")
            .arg("--config")
            .arg(self.config(node))
            .arg("--log")
            .arg("srrd=debug");
        self.srrd[Self::index(node)] = Some(self.lab.spawn(node, cmd));
    }

    pub fn config(&self, node: &str) -> PathBuf {
        self.lab.node_dir(node).join("srrd.toml")
    }

    pub fn srrd(&self, node: &str) -> &ProcHandle {
        self.srrd[Self::index(node)].as_ref().expect("srrd started")
    }

    /// SIGTERM: graceful shutdown; returns its exit status.
    pub fn stop_srrd(&mut self, node: &str) -> std::process::ExitStatus {
        let h = self.srrd(node).clone();
        self.lab.signal(&h, libc::SIGTERM);
        self.lab
            .wait_exit(&h, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("srrd on {node} did not exit after SIGTERM"))
    }

    pub fn who_serves(&self) -> String {
        let out = self.lab.exec("c1", &["python3", "-c", PROBE, VIP]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until c1 gets the answer from `node`; returns how long it took.
    pub fn wait_served_by(&self, node: &str, timeout: Duration) -> Duration {
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

    pub fn kill_node(&mut self, node: &'static str) {
        self.lab.kill_node(node);
        self.dead.push(node);
    }

    pub fn vip_holders(&self) -> Vec<&'static str> {
        NODES
            .iter()
            .copied()
            .filter(|n| !self.dead.contains(n))
            .filter(|n| self.lab.ip(n, "-4 addr show dev lo").contains(VIP))
            .collect()
    }

    pub fn logs(&self) -> String {
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
    pub fn assert_only_holder(&self, node: &str) {
        let holders = self.vip_holders();
        assert_eq!(holders, vec![node], "VIP holders\n{}", self.logs());
    }
}

pub fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path).expect("stat").permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(path, perm).expect("chmod");
}
