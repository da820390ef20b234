//! keepalived (VRRP) side by side with srrd, on the same lab and
//! with the same detection timers: VRRPv3 advert_int 0.25 s (backup takes
//! over after 3 adverts + skew = 0.90 s) against OSPF hello 250 ms / dead
//! 1 s, and advert_int 0.05 s (0.18 s) against BFD 50 ms x 3 (0.15 s).
//! The nodes run no FRR here; they are plain hosts with a static
//! default route to r1, the VIP 198.51.100.100/24 sits on the LAN
//! interface, and every node runs the bench's HTTP server on 0.0.0.0:8080
//! all the time (VRRP moves an address, not a service).
//!
//! Pairs: `Lan` = n1 + n2 on LAN A (what VRRP is made for); `CrossMulticast`
//! and `CrossUnicast` = n1 on LAN A + n3 on LAN B, to show what happens when
//! the nodes sit on different subnets.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::measure::{measure, MeasureSettings, Rng, RunResult};
use crate::cluster::Overrides;
use crate::netns::{Lab, ProcHandle, Profile};
use crate::probe::{self, ProbeConfig};

pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
const VIP_LEN: u8 = 24;
const PORT: u16 = 8080;
const KEEPALIVED: &str = "keepalived";
/// A freshly started keepalived is given this long to settle as backup.
const SETTLE: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairMode {
    Lan,
    CrossMulticast,
    CrossUnicast,
}

impl PairMode {
    pub fn members(self) -> [&'static str; 2] {
        match self {
            PairMode::Lan => ["n1", "n2"],
            PairMode::CrossMulticast | PairMode::CrossUnicast => ["n1", "n3"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PairMode::Lan => "lan",
            PairMode::CrossMulticast => "keepalived-cross-subnet-multicast",
            PairMode::CrossUnicast => "keepalived-cross-subnet-unicast",
        }
    }
}

/// Is keepalived installed?
pub fn available() -> bool {
    Command::new(KEEPALIVED)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty())
}

pub struct Pair {
    pub lab: Lab,
    pub mode: PairMode,
    /// VRRP advert interval of the configured pair.
    advert: Duration,
    keepalived: BTreeMap<&'static str, (ProcHandle, Instant)>,
    bench: std::path::PathBuf,
}

fn address(node: &str) -> Ipv4Addr {
    match node {
        "n1" => Ipv4Addr::new(198, 51, 100, 11),
        "n2" => Ipv4Addr::new(198, 51, 100, 12),
        _ => Ipv4Addr::new(203, 0, 113, 13),
    }
}

fn gateway(node: &str) -> &'static str {
    match node {
        "n3" => "203.0.113.1",
        _ => "198.51.100.1",
    }
}

impl Pair {
    /// The lab without FRR on the nodes (r1 runs it: it only routes its
    /// connected subnets here), default routes, HTTP servers on n1..n3.
    pub fn new(bench: &Path) -> Pair {
        let lab = crate::cluster::Cluster::build_lab(
            Lab::new("bench keepalived"),
            super::default_srrd(),
            Overrides {
                own_frr: &["n1", "n2", "n3"],
                ..Overrides::own_srrd(Profile::Fast)
            },
        )
        .unwrap_or_else(|e| panic!("the bench's lab: {e}"))
        .lab;
        let pair = Pair {
            lab,
            mode: PairMode::Lan,
            advert: super::scenarios::KEEPALIVED_ADVERT,
            keepalived: BTreeMap::new(),
            bench: bench.to_path_buf(),
        };
        for node in ["n1", "n2", "n3"] {
            pair.default_route(node);
            pair.start_server(node);
        }
        pair
    }

    fn default_route(&self, node: &str) {
        self.lab.ip(
            node,
            &format!("route replace default via {}", gateway(node)),
        );
    }

    fn start_server(&self, node: &str) {
        let mut cmd = Command::new(&self.bench);
        cmd.args([
            "serve",
            "--listen",
            &format!("0.0.0.0:{PORT}"),
            "--name",
            node,
        ]);
        self.lab.spawn(node, cmd);
    }

    pub fn target(&self) -> SocketAddr {
        SocketAddr::from((VIP, PORT))
    }

    /// Stops the running pair (SIGTERM) and writes the configs of `mode`
    /// with VRRP adverts every `advert`.
    pub fn configure(&mut self, mode: PairMode, advert: Duration) {
        self.stop_all();
        self.mode = mode;
        self.advert = advert;
        let [a, b] = mode.members();
        for (me, peer) in [(a, b), (b, a)] {
            let conf = self.conf(me, peer);
            let path = self.lab.node_dir(me).join("keepalived.conf");
            std::fs::write(&path, conf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }

    fn conf(&self, me: &str, peer: &str) -> String {
        let unicast = match self.mode {
            PairMode::CrossUnicast => format!(
                "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
                address(me),
                address(peer)
            ),
            _ => String::new(),
        };
        let advert = self.advert.as_secs_f64();
        // Equal priorities with nopreempt: the pair is sticky like srrd's
        // symmetric services, so a returning node stays backup.
        format!(
            "global_defs {{\n    router_id {me}\n    vrrp_version 3\n}}\n\
             vrrp_instance srrd_bench {{\n    state BACKUP\n    interface eth1\n    virtual_router_id 51\n\
             \x20   priority 100\n    advert_int {advert}\n    nopreempt\n{unicast}\
             \x20   virtual_ipaddress {{\n        {VIP}/{VIP_LEN} dev eth1\n    }}\n}}\n"
        )
    }

    pub fn start_keepalived(&mut self, node: &'static str) {
        let dir = self.lab.node_dir(node);
        let mut cmd = Command::new(KEEPALIVED);
        // -n: stays our child; -l -D: log to the console (our .out file);
        // -P: VRRP only; own pid files, nothing under /run.
        cmd.args(["-n", "-l", "-D", "-P", "-f"])
            .arg(dir.join("keepalived.conf"))
            .arg("-p")
            .arg(dir.join("keepalived.pid"))
            .arg("-r")
            .arg(dir.join("keepalived-vrrp.pid"))
            .arg("-c")
            .arg(dir.join("keepalived-checkers.pid"));
        let handle = self.lab.spawn(node, cmd);
        self.keepalived.insert(node, (handle, Instant::now()));
    }

    pub fn start_all(&mut self) {
        for node in self.mode.members() {
            if !self.running(node) {
                self.start_keepalived(node);
            }
        }
    }

    fn running(&self, node: &str) -> bool {
        self.keepalived
            .get(node)
            .is_some_and(|(h, _)| self.lab.is_running(h))
    }

    /// SIGTERM (keepalived then sends a priority-0 advert and drops the VIP).
    pub fn sigterm(&self, node: &str) {
        if let Some((h, _)) = self.keepalived.get(node) {
            self.lab.signal(h, crate::netns::Signal::SIGTERM);
        }
    }

    pub fn stop_all(&mut self) {
        for (h, _) in self.keepalived.values() {
            self.lab.stop(h, Duration::from_secs(5));
        }
        self.keepalived.clear();
    }

    /// Nodes with the VIP on eth1.
    pub fn vip_holders(&self) -> Vec<&'static str> {
        ["n1", "n2", "n3"]
            .into_iter()
            .filter(|n| {
                self.lab
                    .exec(n, &["ip", "-4", "addr", "show", "dev", "eth1"])
                    .stdout
                    .windows(VIP.to_string().len() + 1)
                    .any(|w| w == format!("{VIP}/").as_bytes())
            })
            .collect()
    }

    /// The node c1 reaches at the VIP.
    pub fn answering(&self) -> Result<String, probe::Failure> {
        let target = self.target();
        self.lab
            .in_netns("c1", || probe::get_once(target, &ProbeConfig::default()))
    }

    /// Waits until both members run keepalived (settled), one of them holds
    /// the VIP and c1 is served by it; returns it.
    pub fn wait_steady(&self, timeout: Duration) -> Result<&'static str, String> {
        crate::netns::retry(timeout, Duration::from_millis(200), || self.steady())
            .map_err(|e| format!("keepalived pair at rest: {e}"))
    }

    fn steady(&self) -> Result<&'static str, String> {
        for node in self.mode.members() {
            match self.keepalived.get(node) {
                Some((h, since)) if self.lab.is_running(h) => {
                    if since.elapsed() < SETTLE {
                        return Err(format!("keepalived on {node} just started"));
                    }
                }
                _ => return Err(format!("keepalived on {node} is not running")),
            }
        }
        let holders = self.vip_holders();
        let answer = self.answering();
        match (self.mode, holders.as_slice(), &answer) {
            (PairMode::Lan, [one], Ok(name)) if name == one => Ok(one),
            // Across subnets only n1's LAN can be served; n3 may hold the
            // VIP too (both MASTER): that is the finding, not a fault.
            (_, _, Ok(name)) if self.mode != PairMode::Lan && name == "n1" => Ok("n1"),
            _ => Err(format!("VIP on {holders:?}, c1 gets {answer:?}")),
        }
    }

    /// Which members' keepalived logged entering MASTER / BACKUP last.
    pub fn vrrp_states(&self) -> BTreeMap<&'static str, String> {
        self.keepalived
            .iter()
            .map(|(node, (h, _))| {
                let log = h.log_text();
                let state = log
                    .lines()
                    .rev()
                    .find_map(|l| {
                        ["MASTER", "BACKUP", "FAULT"]
                            .into_iter()
                            .find(|s| l.contains(&format!("Entering {s} STATE")))
                    })
                    .unwrap_or("unknown");
                (*node, state.to_string())
            })
            .collect()
    }

    /// A crashed member boots again: VIP gone, links up, default route,
    /// server and keepalived started.
    fn reboot(&mut self, node: &'static str) {
        let shown = self.lab.ip(node, "-4 addr show dev eth1");
        if shown.contains(&format!("{VIP}/{VIP_LEN}")) {
            self.lab
                .ip(node, &format!("addr del {VIP}/{VIP_LEN} dev eth1"));
        }
        self.lab.link_up(node);
        self.default_route(node);
        self.start_server(node);
        self.start_keepalived(node);
    }
}

/// One keepalived run of `graceful-move` (SIGTERM keepalived on the master)
/// or `node-crash` on the LAN pair.
pub fn run_lan_once(
    pair: &mut Pair,
    crash: bool,
    settings: &MeasureSettings,
    rng: &mut Rng,
) -> Result<RunResult, String> {
    let holder = pair.wait_steady(Duration::from_secs(30))?;
    let targets = [pair.target()];
    // At rest: the VIP on exactly one live member.
    let at_rest = || {
        let live = pair
            .vip_holders()
            .into_iter()
            .filter(|n| !crash || *n != holder);
        live.count() == 1
    };
    let result = if crash {
        measure(
            &pair.lab,
            &targets,
            settings,
            rng,
            || pair.lab.kill_node(holder),
            at_rest,
        )
    } else {
        measure(
            &pair.lab,
            &targets,
            settings,
            rng,
            || pair.sigterm(holder),
            at_rest,
        )
    };
    if crash {
        pair.reboot(holder);
    } else {
        let h = pair.keepalived.get(holder).map(|(h, _)| h.clone());
        if let Some(h) = h {
            if pair.lab.wait_exit(&h, Duration::from_secs(10)).is_none() {
                return Err(format!(
                    "keepalived on {holder} still runs 10 s after SIGTERM"
                ));
            }
        }
        pair.start_keepalived(holder);
    }
    Ok(result)
}

/// What the split pair did in one run.
#[derive(Clone, Debug)]
pub struct CrossRun {
    pub result: RunResult,
    /// VRRP state of each member before n1 died, and VIP holders then.
    pub states_before: BTreeMap<&'static str, String>,
    pub vip_before: Vec<&'static str>,
    /// The same when the run ended (n1 dead).
    pub states_after: BTreeMap<&'static str, String>,
    pub vip_after: Vec<&'static str>,
}

/// The split pair (n1 on LAN A, n3 on LAN B): n1 dies, c1 keeps probing
/// for `settings.timeout`.
pub fn run_cross_once(
    pair: &mut Pair,
    settings: &MeasureSettings,
    rng: &mut Rng,
) -> Result<CrossRun, String> {
    pair.wait_steady(Duration::from_secs(30))?;
    let states_before = pair.vrrp_states();
    let vip_before = pair.vip_holders();
    let targets = [pair.target()];
    // Watched to the timeout unless c1 is served again.
    let result = measure(
        &pair.lab,
        &targets,
        settings,
        rng,
        || pair.lab.kill_node("n1"),
        || true,
    );
    let states_after = pair.vrrp_states();
    let vip_after = pair.vip_holders();
    pair.reboot("n1");
    Ok(CrossRun {
        result,
        states_before,
        vip_before,
        states_after,
        vip_after,
    })
}
