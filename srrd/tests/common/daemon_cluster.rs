//! A three-node srrd cluster on the lab's topology (`lab/srrd.clab.yml`,
//! built by `srrd_lab::cluster`): n1, n2 on LAN A, n3 on LAN B, a client
//! c1 behind r1, and a `web` service run by the lab's own primitives
//! (`lab/config/shared/whoami-http`: an HTTP server answering with the
//! serving node's name).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use srrd::config::{Config, ServiceConfig};
use srrd_lab::cluster::{self, Overrides};
use srrd_lab::probe;

use super::lab::{require_root, wait_for, Lab, ProcHandle, Profile, Signal};

pub const VIP: &str = "192.0.2.10";
pub const NODES: [&str; 3] = ["n1", "n2", "n3"];

pub struct Cluster {
    pub nodes: cluster::Cluster,
    pub srrd: Vec<Option<ProcHandle>>,
    /// Nodes killed whole: their kernel state is gone as far as the
    /// network is concerned.
    pub dead: Vec<&'static str>,
}

impl Cluster {
    /// The lab with FRR converged and the web service configured on n1..n3
    /// with the given preferences.
    pub fn new(preferences: [u8; 3]) -> Cluster {
        Cluster::with_extra(preferences, |_, _, _| {})
    }

    /// As `new`; `extra(lab, node, config)` changes the node's config
    /// before it is written.
    pub fn with_extra(preferences: [u8; 3], extra: impl Fn(&Lab, &str, &mut Config)) -> Cluster {
        require_root();
        let mut nodes = cluster::Cluster::build_lab(
            Lab::new("daemon cluster"),
            PathBuf::from(env!("CARGO_BIN_EXE_srrd")),
            Overrides::own_srrd(Profile::Fast),
        )
        .unwrap_or_else(|e| panic!("the lab: {e}"));
        nodes.lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
        // Every node shares a cluster key: all LSAs carry an HMAC tag.
        let key = nodes.lab.dir().join("cluster.key");
        std::fs::write(&key, "an-example-cluster-key-of-32-bytes").expect("write key");
        let primitives = Cluster::primitives();
        for (node, preference) in NODES.iter().zip(preferences) {
            let mut config = nodes.base_config(node);
            config.node.cluster_key_file = Some(key.clone());
            config.services = vec![ServiceConfig {
                addresses: vec![VIP.parse().expect("the VIP")],
                preference,
                check_interval: Some(Duration::from_secs(1)),
                primitives: primitives.clone(),
                ..ServiceConfig::new("web")
            }];
            extra(&nodes.lab, node, &mut config);
            nodes
                .configure_srrd(node, config)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        Cluster {
            nodes,
            srrd: vec![None, None, None],
            dead: Vec::new(),
        }
    }

    /// The lab's primitives for a service with a `/whoami` HTTP server.
    pub fn primitives() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lab/config/shared/whoami-http")
    }

    pub fn lab(&self) -> &Lab {
        &self.nodes.lab
    }

    pub fn index(node: &str) -> usize {
        NODES
            .iter()
            .position(|n| *n == node)
            .expect("a service node")
    }

    pub fn start_srrd(&mut self, node: &str) {
        self.srrd[Self::index(node)] = Some(self.nodes.spawn_srrd(node, "srrd=debug"));
    }

    pub fn config(&self, node: &str) -> PathBuf {
        self.nodes.srrd_config_path(node)
    }

    pub fn srrd(&self, node: &str) -> &ProcHandle {
        self.srrd[Self::index(node)].as_ref().expect("srrd started")
    }

    /// SIGTERM: graceful shutdown; returns its exit status.
    pub fn stop_srrd(&mut self, node: &str) -> std::process::ExitStatus {
        let h = self.srrd(node).clone();
        self.lab().signal(&h, Signal::SIGTERM);
        self.lab()
            .wait_exit(&h, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("srrd on {node} did not exit after SIGTERM"))
    }

    /// Who answers the web VIP from c1 (`-`: nobody).
    pub fn who_serves(&self) -> String {
        self.serves(VIP.parse().expect("the VIP"))
    }

    /// Who answers `addr` from c1 (`-`: nobody).
    pub fn serves(&self, addr: IpAddr) -> String {
        let target = SocketAddr::new(addr, probe::HTTP_PORT);
        let config = probe::ProbeConfig::once(Duration::from_millis(500));
        self.lab()
            .in_netns("c1", || probe::get_once(target, &config))
            .unwrap_or_else(|_| cluster::NOBODY.into())
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
        self.lab().kill_node(node);
        self.dead.push(node);
    }

    pub fn vip_holders(&self) -> Vec<&'static str> {
        NODES
            .iter()
            .copied()
            .filter(|n| !self.dead.contains(n))
            .filter(|n| self.lab().ip(n, "-4 addr show dev lo").contains(VIP))
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
