//! srrd on n1..n3 of the lab's topology (`lab/srrd.clab.yml`, built by
//! `crate::cluster` with the bench's FRR profile and srrd configs),
//! serving the bench's HTTP server on 192.0.2.10 (and 192.0.2.11 for the
//! group, 2001:db8::10 for the dual-stack service), as
//! `srrd/tests/frr_daemon.rs` does: every node configures the same services with equal preferences, so a service runs on the highest
//! router id among the nodes that are up and stays where it runs.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use srrd::config::{Handover, RoleMap, ServiceConfig, Timeouts, WebSettings};

use super::resources::{clock_ticks_per_second, mib, Sample, Usage};
use crate::clab::Topology;
use crate::cluster::{self as lab_cluster, Overrides, RuntimeKind};
use crate::netns::{Lab, ProcHandle, Profile};
use crate::probe::{self, ProbeConfig};

pub const NODES: [&str; 3] = ["n1", "n2", "n3"];
pub const PORT: u16 = 8080;
const WEB_VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const DB_VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
const WEB_VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// The check interval of every service (the check-failure goal is this + 150 ms).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Every node's HTTPS API, in its own namespace: `srrd ctl move` asks the
/// holder there.
const API: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8443);
/// The operator certificate of `srrd ctl` (in the lab's `pki` dir).
const OPERATOR: &str = "bench";
/// A freshly started srrd makes no claims for `node.startup_hold` (1 s by
/// default), and its peers wait for it meanwhile if it ranks first: a run
/// starts only after every srrd is past it.
const STARTUP_HOLD_MARGIN: Duration = Duration::from_millis(1500);

/// The executables the cluster runs.
#[derive(Clone, Debug)]
pub struct Tools {
    pub srrd: PathBuf,
    /// srrd-bench itself: its `serve` and `http-check` commands are the service.
    pub bench: PathBuf,
    /// `srrd run --log`.
    pub srrd_log: String,
    /// Run `srrd-bench tap` beside every srrd (its LSA events with times,
    /// in the node's `srrd-bench.out`), for timelines.
    pub tap: bool,
}

/// Where the bench's srrd lab runs (`srrd-bench --runtime`, `--image`):
/// on containers the image runs FRR, and srrd and the bench's service come
/// from the host, as on namespaces.
#[derive(Clone, Debug, Default)]
pub struct Runtime {
    pub kind: RuntimeKind,
    /// The image archive for containers (`default_image_archive` if None).
    pub image: Option<PathBuf>,
}

/// Which services the nodes configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceSet {
    /// `web` on 192.0.2.10.
    Single,
    /// Group `shop`: `db` on 192.0.2.11 and `web` on 192.0.2.10, web
    /// depending on db (db starts first, web stops first).
    Group,
    /// `web` on 192.0.2.10, handed over make-before-break
    /// (`handover = "overlap"`).
    Overlap,
    /// `web` on 192.0.2.10 and 2001:db8::10 (its /128 goes by ospf6d).
    DualStack,
}

impl ServiceSet {
    pub const ALL: [ServiceSet; 4] = [
        ServiceSet::Single,
        ServiceSet::Overlap,
        ServiceSet::Group,
        ServiceSet::DualStack,
    ];

    /// (service, addresses), in start order.
    pub fn services(self) -> Vec<(&'static str, Vec<IpAddr>)> {
        let web = vec![IpAddr::V4(WEB_VIP)];
        match self {
            ServiceSet::Single | ServiceSet::Overlap => vec![("web", web)],
            ServiceSet::Group => vec![("db", vec![IpAddr::V4(DB_VIP)]), ("web", web)],
            ServiceSet::DualStack => vec![("web", vec![IpAddr::V4(WEB_VIP), IpAddr::V6(WEB_VIP6)])],
        }
    }

    pub fn targets(self) -> Vec<SocketAddr> {
        self.services()
            .into_iter()
            .flat_map(|(_, vips)| vips)
            .map(|vip| SocketAddr::new(vip, PORT))
            .collect()
    }

    /// The services' configurations, run by `primitives`.
    fn configs(self, primitives: &Path) -> Vec<ServiceConfig> {
        self.services()
            .into_iter()
            .map(|(name, addresses)| {
                let mut service = ServiceConfig {
                    addresses,
                    preference: 100,
                    check_interval: Some(CHECK_INTERVAL),
                    primitives: primitives.to_path_buf(),
                    timeouts: Timeouts {
                        start: Duration::from_secs(10),
                        stop: Duration::from_secs(10),
                        check: Duration::from_secs(2),
                        ..Timeouts::default()
                    },
                    ..ServiceConfig::new(name)
                };
                match self {
                    ServiceSet::Overlap => service.handover = Handover::Overlap,
                    ServiceSet::Group => {
                        service.group = Some("shop".into());
                        if name == "web" {
                            service.depends = vec!["db".into()];
                        }
                    }
                    ServiceSet::Single | ServiceSet::DualStack => {}
                }
                service
            })
            .collect()
    }
}

/// The service's primitives: the bench's HTTP server on the service
/// address. `start` returns once the server answers; a server left behind
/// by a killed srrd is reused. The server runs in its own session (setsid),
/// so it outlives a kill -9 of srrd, like a real daemon would.
const PRIMITIVES: &str = r#"#!/bin/sh
# srrd-bench's service (docs/benchmarks.md), written by srrd-bench.
bench='@BENCH@'
pidfile="$SRRD_STATE_DIR/http.pid"
# One listener per service address, IPv6 ones as [addr]:port.
listen= targets=
for a in $SRRD_ADDRESSES; do
    case "$a" in *:*) a="[$a]" ;; esac
    listen="$listen --listen $a:@PORT@"
    targets="$targets $a:@PORT@"
done
# kill -0 is true for a zombie; a dead server must count as stopped.
alive() { [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat"; }
running() { [ -s "$pidfile" ] && alive "$(cat "$pidfile")"; }
case "$1" in
start)
    running && exit 0
    rm -f "$pidfile"
    # shellcheck disable=SC2086 # one word per listener
    setsid "$bench" serve $listen --name "$SRRD_NODE" \
        --broken-flag "$SRRD_STATE_DIR/broken" --pidfile "$pidfile" \
        </dev/null >>"$SRRD_STATE_DIR/http.log" 2>&1 &
    exec "$bench" http-check $targets --wait-ms 3000
    ;;
stop)
    running && kill "$(cat "$pidfile")"
    rm -f "$pidfile"
    ;;
check)
    exec "$bench" http-check $targets
    ;;
esac
exit 0
"#;

pub struct Cluster {
    pub cluster: lab_cluster::Cluster,
    pub tools: Tools,
    pub set: ServiceSet,
    /// srrd per node, with its start time.
    srrd: BTreeMap<&'static str, (ProcHandle, Instant)>,
    /// `srrd-bench tap` per node (`Tools::tap`).
    taps: BTreeMap<&'static str, ProcHandle>,
    /// pid → (node, start, latest sample) of every srrd `observe_usage` saw.
    observed: BTreeMap<u32, (&'static str, Instant, Sample)>,
}

impl Cluster {
    /// The lab on `runtime` with OSPF Full everywhere and the primitives
    /// written; srrd is not started yet (`start_all`).
    pub fn new(profile: Profile, tools: Tools, runtime: &Runtime) -> Result<Cluster, String> {
        let cluster = lab_cluster::Cluster::build_on(
            runtime.kind,
            runtime.image.as_deref(),
            Lab::new(&format!("bench ({profile:?})")),
            Topology::lab()?,
            Ok(tools.srrd.clone()),
            Overrides::own_srrd(profile),
        )
        .map_err(|e| format!("the bench's lab: {e}"))?;
        crate::netns::wait_for(Duration::from_secs(60), || {
            cluster.ospf_full_neighbors("r1") >= NODES.len()
        })
        .ok_or_else(|| {
            format!(
                "r1 is not Full with n1..n3 after 60 s:\n{}",
                cluster.vtysh("r1", "show ip ospf neighbor")
            )
        })?;
        let script = cluster.lab.dir().join("bench-service.sh");
        let text = PRIMITIVES
            .replace("@BENCH@", &tools.bench.display().to_string())
            .replace("@PORT@", &PORT.to_string());
        std::fs::write(&script, text).expect("write the service primitives");
        set_executable(&script);
        issue_certificates(&tools.srrd, &cluster.lab.dir().join("pki"))?;
        Ok(Cluster {
            cluster,
            tools,
            set: ServiceSet::Single,
            srrd: BTreeMap::new(),
            taps: BTreeMap::new(),
            observed: BTreeMap::new(),
        })
    }

    /// Writes every node's srrd.toml for `set` (srrd must be (re)started).
    pub fn configure(&mut self, set: ServiceSet) {
        self.set = set;
        let script = self.lab().dir().join("bench-service.sh");
        let pki = self.pki();
        for node in NODES {
            let mut config = srrd::config::Config {
                services: set.configs(&script),
                web: Some(WebSettings {
                    cert: pki.join(format!("{node}.crt")),
                    key: pki.join(format!("{node}.key")),
                    client_ca: vec![pki.join("ca.crt")],
                    advertise: None,
                    roles: RoleMap::default(),
                }),
                ..self.cluster.base_config(node)
            };
            config.node.web_listen = Some(API);
            self.cluster
                .configure_srrd(node, config)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    pub fn lab(&self) -> &Lab {
        &self.cluster.lab
    }

    fn pki(&self) -> PathBuf {
        self.lab().dir().join("pki")
    }

    /// `srrd ctl move SERVICE TARGET` as the operator, on `holder`'s API;
    /// panics unless srrd accepts it.
    pub fn move_to(&self, holder: &str, service: &str, target: &str) {
        let pki = self.pki();
        let path = |name: &str| pki.join(name).display().to_string();
        let srrd = self.tools.srrd.display().to_string();
        let url = format!("https://{API}");
        let out = self.lab().exec(
            holder,
            &[
                &srrd,
                "ctl",
                "--url",
                &url,
                "--ca",
                &path("ca.crt"),
                "--cert",
                &path(&format!("{OPERATOR}.crt")),
                "--key",
                &path(&format!("{OPERATOR}.key")),
                "move",
                service,
                target,
            ],
        );
        assert!(
            out.status.success(),
            "srrd ctl move {service} {target} on {holder}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn start_srrd(&mut self, node: &'static str) {
        let handle = self.spawn_srrd(node);
        self.adopt_srrd(node, handle);
    }

    /// Starts srrd on `node` without recording it (for a fault step that
    /// only borrows the cluster); `adopt_srrd` records it afterwards.
    pub fn spawn_srrd(&self, node: &str) -> ProcHandle {
        self.cluster.spawn_srrd(node, &self.tools.srrd_log)
    }

    pub fn adopt_srrd(&mut self, node: &'static str, handle: ProcHandle) {
        self.srrd.insert(node, (handle, Instant::now()));
        let tapped = self
            .taps
            .get(node)
            .is_some_and(|h| self.lab().is_running(h));
        if self.tools.tap && !tapped {
            let mut cmd = Command::new(&self.tools.bench);
            cmd.arg("tap");
            let tap = self.lab().spawn(node, cmd);
            self.taps.insert(node, tap);
        }
    }

    /// Samples every running srrd (`usage_over_bench` sums them up).
    pub fn observe_usage(&mut self) {
        for (node, (h, started)) in &self.srrd {
            if let Some(sample) = Sample::of(h.pid).filter(|_| self.cluster.lab.is_running(h)) {
                self.observed.insert(h.pid, (*node, *started, sample));
            }
        }
    }

    /// Per node, over every srrd process `observe_usage` saw there: the
    /// last RSS, the highest peak, and CPU time over lifetime (up to each
    /// one's last sample).
    pub fn usage_over_bench(&self) -> BTreeMap<&'static str, Usage> {
        let mut usage = BTreeMap::new();
        for node in NODES {
            let seen: Vec<&(&'static str, Instant, Sample)> = self
                .observed
                .values()
                .filter(|(n, _, _)| *n == node)
                .collect();
            let Some(last) = seen.iter().max_by_key(|(_, _, s)| s.at) else {
                continue;
            };
            let ticks: u64 = seen.iter().map(|(_, _, s)| s.cpu_ticks).sum();
            let seconds: f64 = seen
                .iter()
                .map(|(_, started, s)| s.at.duration_since(*started).as_secs_f64())
                .sum();
            usage.insert(
                node,
                Usage {
                    rss_mib: mib(last.2.rss_kib),
                    peak_mib: seen
                        .iter()
                        .map(|(_, _, s)| mib(s.peak_kib))
                        .fold(0.0, f64::max),
                    cpu_percent: ticks as f64 / clock_ticks_per_second() / seconds.max(1e-3)
                        * 100.0,
                },
            );
        }
        usage
    }

    /// node → pid of each running srrd.
    pub fn srrd_pids(&self) -> BTreeMap<&'static str, u32> {
        self.srrd
            .iter()
            .filter(|(_, (h, _))| self.lab().is_running(h))
            .map(|(node, (h, _))| (*node, h.pid))
            .collect()
    }

    pub fn srrd(&self, node: &str) -> Option<&ProcHandle> {
        self.srrd.get(node).map(|(h, _)| h)
    }

    /// How many OSPF API sessions srrd on `node` has opened (from its log).
    pub fn api_sessions(&self, node: &str) -> usize {
        self.srrd(node).map_or(0, |h| {
            h.log_text().matches("OSPF API session ready").count()
        })
    }

    /// Waits until srrd on `node` opened more than `before` sessions (it
    /// reconnects after an ospfd restart); its startup hold starts again.
    pub fn wait_reconnected(&mut self, node: &'static str, before: usize) -> Result<(), String> {
        crate::netns::wait_for(Duration::from_secs(30), || self.api_sessions(node) > before)
            .ok_or_else(|| format!("srrd on {node} did not reconnect to ospfd within 30 s"))?;
        if let Some((_, since)) = self.srrd.get_mut(node) {
            *since = Instant::now();
        }
        Ok(())
    }

    pub fn srrd_running(&self, node: &str) -> bool {
        self.srrd(node).is_some_and(|h| self.lab().is_running(h))
    }

    /// SIGTERM, the graceful shutdown (returns at once).
    pub fn sigterm_srrd(&self, node: &str) {
        if let Some(h) = self.srrd(node) {
            self.lab().signal(h, crate::netns::Signal::SIGTERM);
        }
    }

    /// SIGKILL srrd's process group (the service's server is in its own
    /// session and survives, as it would under a real kill -9).
    pub fn kill_srrd(&self, node: &str) {
        if let Some(h) = self.srrd(node) {
            self.lab().kill(h);
        }
    }

    /// Waits for srrd on `node` to exit (after a SIGTERM).
    pub fn wait_srrd_exit(&self, node: &str, timeout: Duration) -> Result<(), String> {
        match self.srrd(node) {
            Some(h) if self.lab().wait_exit(h, timeout).is_none() => Err(format!(
                "srrd on {node} still runs {timeout:?} after SIGTERM"
            )),
            _ => Ok(()),
        }
    }

    pub fn start_all(&mut self) {
        for node in NODES {
            if !self.srrd_running(node) {
                self.start_srrd(node);
            }
        }
    }

    /// Graceful stop of every srrd, then waits for them.
    pub fn stop_all(&self) -> Result<(), String> {
        for node in NODES {
            if self.srrd_running(node) {
                self.sigterm_srrd(node);
            }
        }
        for node in NODES {
            self.wait_srrd_exit(node, Duration::from_secs(20))?;
        }
        Ok(())
    }

    pub fn targets(&self) -> Vec<SocketAddr> {
        self.set.targets()
    }

    pub fn vips(&self) -> Vec<IpAddr> {
        self.set
            .services()
            .into_iter()
            .flat_map(|(_, v)| v)
            .collect()
    }

    /// Waits until the cluster is at rest and returns the node that runs
    /// the services: OSPF Full, srrd running everywhere, every node's
    /// services active in the LSDB with exactly one node running them all,
    /// the VIPs on that node only, and c1 served by it.
    pub fn wait_steady(&self, timeout: Duration) -> Result<&'static str, String> {
        crate::netns::retry(timeout, Duration::from_millis(200), || self.steady())
            .map_err(|e| format!("cluster at rest: {e}"))
    }

    fn steady(&self) -> Result<&'static str, String> {
        for node in NODES {
            if !self.srrd_running(node) {
                return Err(format!("srrd on {node} is not running"));
            }
            if self.srrd[node].1.elapsed() < STARTUP_HOLD_MARGIN {
                return Err(format!("srrd on {node} is in its startup hold"));
            }
        }
        let full = self.cluster.ospf_full_neighbors("r1");
        if full < 3 {
            return Err(format!("r1 has {full} Full neighbours"));
        }
        let states = self.service_states("n1")?;
        let mut holder = None;
        for (service, _) in self.set.services() {
            for node in NODES {
                let state = states
                    .get(&(node, service.to_string()))
                    .ok_or_else(|| format!("no {service} LSA of {node} at n1"))?;
                if !state.starts_with("active/") {
                    return Err(format!("{service} on {node} is {state}"));
                }
                if state == "active/started" {
                    match holder {
                        Some(h) if h != node => {
                            return Err(format!("{service} started on {h} and {node}"))
                        }
                        _ => holder = Some(node),
                    }
                } else if state != "active/stopped" {
                    return Err(format!("{service} on {node} is {state}"));
                }
            }
        }
        let holder = holder.ok_or("no node runs the services")?;
        for node in NODES {
            let on_lo = self.cluster.lo_addresses(node);
            for vip in self.vips() {
                let has = on_lo.contains(&vip);
                if has != (node == holder) {
                    return Err(format!("VIP {vip} on {node}: {has}, holder {holder}"));
                }
            }
        }
        let config = ProbeConfig::default();
        for target in self.targets() {
            let answer = self
                .lab()
                .in_netns("c1", || probe::get_once(target, &config));
            match answer {
                Ok(name) if name == holder => {}
                other => return Err(format!("c1 gets {other:?} from {target}, holder {holder}")),
            }
        }
        Ok(holder)
    }

    /// The cheap "has it settled" of a run: r1 has every node but those in
    /// `out` Full, and exactly one of them carries the VIPs on lo.
    pub fn at_rest(&self, out: &[&str]) -> bool {
        let live: Vec<&str> = NODES.into_iter().filter(|n| !out.contains(n)).collect();
        if self.cluster.ospf_full_neighbors("r1") < live.len() {
            return false;
        }
        let holders: Vec<&str> = live
            .into_iter()
            .filter(|n| {
                let on_lo = self.cluster.lo_addresses(n);
                self.vips().iter().any(|v| on_lo.contains(v))
            })
            .collect();
        holders.len() == 1
    }

    /// (node, service) → state of its service record in `at`'s LSDB, for
    /// routers that are reachable from `at`.
    fn service_states(&self, at: &str) -> Result<BTreeMap<(&'static str, String), String>, String> {
        let mut states = BTreeMap::new();
        for (service, list) in self.cluster.states(at)? {
            for (node, state) in list {
                if let Some(node) = NODES.into_iter().find(|n| *n == node) {
                    states.insert((node, service.clone()), state);
                }
            }
        }
        Ok(states)
    }

    /// The flag file that makes the bench's HTTP server for `service` on
    /// `node` answer 503 (the server and the check primitive both look at it).
    pub fn broken_flag(&self, node: &str, service: &str) -> PathBuf {
        self.cluster
            .service_dir(node, service)
            .unwrap_or_default()
            .join("broken")
    }

    /// The last lines of each srrd's log, for error reports.
    pub fn log_tails(&self, lines: usize) -> String {
        self.srrd
            .values()
            .map(|(h, _)| {
                let text = h.log_text();
                let all: Vec<&str> = text.lines().collect();
                let tail = &all[all.len().saturating_sub(lines)..];
                format!(
                    "--- srrd on {} ({}):\n{}",
                    h.node,
                    h.log.display(),
                    tail.join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `srrd pki` in `dir`: the CA, a server certificate per node for its
/// API (`API`), and the bench's operator.
fn issue_certificates(srrd: &Path, dir: &Path) -> Result<(), String> {
    let pki = |args: &[&str]| {
        let out = Command::new(srrd)
            .arg("pki")
            .arg("--dir")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", srrd.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "srrd pki {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    pki(&["init"])?;
    let ip = API.ip().to_string();
    for node in NODES {
        pki(&["server", node, "--ip", &ip])?;
    }
    pki(&["issue", "--role", "operator", OPERATOR])
}

/// The service starts failing: its server answers 503, so clients get
/// errors at once and the next check primitive fails.
pub fn break_service(flag: &Path) {
    std::fs::write(flag, "broken by srrd-bench\n")
        .unwrap_or_else(|e| panic!("{}: {e}", flag.display()));
}

pub fn repair_service(flag: &Path) {
    let _ = std::fs::remove_file(flag);
}

pub fn set_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(path, perm).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
