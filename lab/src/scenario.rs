//! End-to-end failover scenarios on the lab of `lab/srrd.clab.yml`, judged
//! from the client: which node answers a service's address over HTTP.
//!
//! Each scenario starts from the lab's known placement (`prepare`: every
//! node and link up, srrd restarted everywhere, so web and data run on n1,
//! the mail group and dns on n3), then runs its `fault`, then waits until
//! the client is served by the `expected` node, then `verify` checks the
//! rest (no stray VIP, members moved together, ...). `srrd-lab scenario`,
//! `lab/tests/scenarios.rs` and the benchmark share this code; one lab
//! serves them all, `prepare` resets it in between.

use std::fmt;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::clab::Role;
use crate::cluster::Cluster;
use crate::netns::wait_for;
use crate::probe::{Attempt, Failure, Probe, ProbeConfig, Trace, HTTP_PORT};

/// Where each service runs after `prepare`: web (asymmetric, prefers n1)
/// with its resource data on n1; the symmetric ones on the highest
/// router id, n3.
pub const HOME: &[(&str, &str)] = &[
    ("data", "n1"),
    ("web", "n1"),
    ("smtp", "n3"),
    ("imap", "n3"),
    ("dns", "n3"),
];
/// How long a scenario's expected holder may take to answer.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(20);
/// From the SIGKILL of srrd on a holder until the router has one next hop
/// for the VIP again: srrd's VIP lease (2 s, renewed every 500 ms) plus
/// the timer rounding and OSPF's reaction (docs/vip.md).
pub const SRRD_DEATH_BOUND: Duration = Duration::from_secs(3);

type Step = fn(&Cluster) -> Result<(), String>;

pub struct Scenario {
    pub name: &'static str,
    /// One line: what happens and what must follow.
    pub about: &'static str,
    /// The service the client watches.
    pub service: &'static str,
    /// Where it runs before the fault (see `HOME`).
    pub holder: &'static str,
    pub fault: Step,
    /// Where it must run after the fault, as the client sees it.
    pub expected: &'static str,
    /// Checks (and repairs, such as healing a partition) after the
    /// expected holder answers.
    pub verify: Step,
}

/// What a scenario measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: &'static str,
    /// `prepare`: reset to the known placement.
    pub prepare: Duration,
    /// The fault step itself.
    pub fault: Duration,
    /// From the start of the fault until the client is served by the
    /// expected node.
    pub failover: Duration,
    /// The client's longest outage from the fault until the expected node
    /// answers (the lab's probe, `crate::probe`), if an attempt failed.
    pub outage: Option<Duration>,
    /// `verify`.
    pub verify: Duration,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |d: Duration| d.as_millis();
        write!(
            f,
            "{:<18} failover {:>5} ms  client outage {:>5}  (prepare {} ms, fault {} ms, verify {} ms)",
            self.name,
            ms(self.failover),
            self.outage
                .map_or("-".to_string(), |d| format!("{} ms", ms(d))),
            ms(self.prepare),
            ms(self.fault),
            ms(self.verify)
        )
    }
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "graceful-move",
            about: "srrd on web's node n1 gets SIGTERM: web and data move to n3 on the other subnet",
            service: "web",
            holder: "n1",
            fault: |c| {
                let stuck = c.stop_srrd(&["n1".into()], Duration::from_secs(20));
                if stuck.is_empty() {
                    Ok(())
                } else {
                    Err("srrd on n1 did not exit within 20 s of SIGTERM".into())
                }
            },
            expected: "n3",
            verify: |c| {
                c.wait_only_holder("web", "n3", Duration::from_secs(5))?;
                expect_started(c, "n2", "data", "n3")
            },
        },
        Scenario {
            name: "node-crash",
            about: "n1 dies (every process killed, then its link down): web moves to n3 once OSPF declares n1 dead",
            service: "web",
            holder: "n1",
            fault: |c| {
                c.kill_node("n1");
                Ok(())
            },
            expected: "n3",
            verify: |c| {
                c.wait_only_holder("web", "n3", Duration::from_secs(5))?;
                expect_started(c, "n2", "data", "n3")
            },
        },
        Scenario {
            name: "check-failure",
            about: "web's server on n1 is killed: the check fails, web (and data, its unit) move to n3",
            service: "web",
            holder: "n1",
            fault: |c| kill_server(c, "n1", "web"),
            expected: "n3",
            verify: |c| {
                c.wait_only_holder("web", "n3", Duration::from_secs(5))?;
                expect_started(c, "n2", "data", "n3")?;
                expect_state(c, "n2", "web", "n1", "active/failed")
            },
        },
        Scenario {
            name: "ospfd-crash",
            about: "ospfd on n1 is SIGKILLed: srrd there loses its session and stops web; n3 takes over",
            service: "web",
            holder: "n1",
            fault: |c| {
                c.kill_ospfd("n1");
                Ok(())
            },
            expected: "n3",
            verify: |c| {
                c.wait_only_holder("web", "n3", Duration::from_secs(5))?;
                if !c.srrd_running("n1") {
                    return Err("srrd on n1 exited when its ospfd died".into());
                }
                Ok(())
            },
        },
        Scenario {
            name: "srrd-kill9",
            about: "srrd on mail's node n3 is SIGKILLed and restarted: n2 takes the mail group, n3 keeps no stray VIP",
            service: "smtp",
            holder: "n3",
            fault: |c| {
                c.kill_srrd("n3");
                // ospfd flushes n3's LSAs when the session drops: n2 takes
                // over while n3's VIPs still sit on its lo.
                wait_for(Duration::from_secs(10), || {
                    c.vip_holders("smtp").contains(&"n2".to_string())
                })
                .ok_or("n2 did not take smtp over after srrd on n3 was killed")?;
                c.start_srrd("n3");
                Ok(())
            },
            expected: "n2",
            verify: |c| {
                c.wait_only_holder("smtp", "n2", Duration::from_secs(15))?;
                c.wait_only_holder("imap", "n2", Duration::from_secs(5))?;
                c.wait_served_by("imap", "n2", Duration::from_secs(5))?;
                // The restarted srrd ran `stop` for what its killed run had
                // started: no server of the old copy is left on n3.
                for service in ["smtp", "imap"] {
                    let pids = c
                        .service_dir("n3", service)
                        .ok_or("no state dir on n3")?
                        .join("http.pids");
                    wait_for(Duration::from_secs(10), || !pids.exists()).ok_or_else(|| {
                        format!("{service}'s servers of the killed srrd still run on n3")
                    })?;
                }
                Ok(())
            },
        },
        Scenario {
            name: "srrd-dies",
            about: "srrd on web's node n1 is SIGKILLed for good: n3 takes web; n1's VIP lease runs out, so within 3 s r1 has one next hop and n3 answers alone",
            service: "web",
            holder: "n1",
            fault: |c| {
                // Both families: ospfd has equal costs (ECMP at r1 while
                // n1's VIP lives), ospf6d a cheaper n1 (docs/frr.md, "ipv6
                // ospf6 cost").
                let vips = host_routes(c, "web");
                let routes = || -> Vec<Vec<String>> {
                    vips.iter().map(|vip| next_hops(c, "r1", vip)).collect()
                };
                let before = routes();
                let killed = Instant::now();
                c.kill_srrd("n1");
                // ospfd flushes n1's LSAs and n3 takes over; then the lease
                // runs out on n1.
                let moved = || {
                    routes()
                        .iter()
                        .zip(&before)
                        .all(|(hops, before)| hops.len() == 1 && hops != before)
                };
                wait_for(SRRD_DEATH_BOUND, moved)
                    .map(|_| ())
                    .ok_or_else(|| {
                        format!(
                            "{:?} after srrd on n1 died r1 routes {vips:?} via {:?} (before: {before:?})",
                            killed.elapsed(),
                            routes()
                        )
                    })
            },
            expected: "n3",
            verify: |c| {
                answered_only_by(c, "web", "n3", Duration::from_secs(1))?;
                c.wait_only_holder("web", "n3", Duration::from_secs(1))?;
                if c.srrd_running("n1") {
                    return Err("srrd on n1 runs again; the scenario needs it dead".into());
                }
                Ok(())
            },
        },
        Scenario {
            name: "node-return",
            about: "mail's node n3 crashes and n2 takes over; n3 returns (srrd cleanup, FRR, srrd 3 s later): no probe fails from n3's srrd start on (before it, only OSPF's stale-route moment of at most 200 ms), mail stays on n2",
            service: "smtp",
            holder: "n3",
            fault: |c| {
                c.kill_node("n3");
                c.wait_served_by("smtp", "n2", FAILOVER_TIMEOUT)?;
                // The host "survives": what its dead srrd put on lo is
                // gone by the lease alone.
                wait_for(SRRD_DEATH_BOUND, || {
                    ["smtp", "imap", "dns"].iter().all(|s| !c.has_vip("n3", s))
                })
                .ok_or("a VIP of the dead srrd is still on n3's lo")?;
                let probe = client_probe(c, "smtp")?;
                let cleanup = c.cleanup_srrd("n3");
                c.lab.link_up("n3");
                let frr_at = probe.now_ms();
                c.start_frr("n3");
                thread::sleep(Duration::from_secs(3));
                let srrd_at = probe.now_ms();
                c.start_srrd("n3");
                // n3's srrd has joined once it floods its own view of mail.
                let joined = wait_for(Duration::from_secs(15), || {
                    c.states("n2")
                        .unwrap_or_default()
                        .get("smtp")
                        .is_some_and(|l| l.iter().any(|(n, _)| n == "n3"))
                });
                // Long enough for the returning node to act on what it saw.
                thread::sleep(Duration::from_secs(5));
                let traces = stop(probe);
                cleanup?;
                joined.ok_or("srrd on n3 did not announce smtp within 15 s of its start")?;
                traces
                    .iter()
                    .try_for_each(|t| stale_route_moment_only(t, "n2", frr_at, srrd_at))
            },
            expected: "n2",
            verify: |c| {
                c.wait_only_holder("smtp", "n2", Duration::from_secs(5))?;
                c.wait_only_holder("imap", "n2", Duration::from_secs(5))?;
                expect_started(c, "n3", "smtp", "n2")
            },
        },
        Scenario {
            name: "link-flap",
            about: "n1's link flaps 4 times (0.5 s down, 1 s up): afterwards web is back on n1 and only there",
            service: "web",
            holder: "n1",
            fault: |c| {
                for _ in 0..4 {
                    c.lab.link_down("n1");
                    thread::sleep(Duration::from_millis(500));
                    c.lab.link_up("n1");
                    thread::sleep(Duration::from_millis(1000));
                }
                Ok(())
            },
            expected: "n1",
            verify: |c| {
                c.wait_ospf(Duration::from_secs(30))?;
                c.wait_only_holder("web", "n1", Duration::from_secs(15))?;
                expect_started(c, "n2", "data", "n1")
            },
        },
        Scenario {
            name: "partition",
            about: "LAN B (n3) is cut off from LAN A: the quorum service dns leaves n3 for n2; after the heal every service runs once",
            service: "dns",
            holder: "n3",
            fault: |c| {
                c.lab.ip("sw", "link set b-r1 down");
                Ok(())
            },
            expected: "n2",
            verify: |c| {
                // The minority side stops the quorum service.
                wait_for(Duration::from_secs(10), || {
                    !vip_on(c, "n3", "dns")
                })
                .ok_or("n3 (minority) still holds dns during the partition")?;
                // Without the guard, n3 runs its own copy of web meanwhile.
                c.lab.ip("sw", "link set b-r1 up");
                c.wait_ospf(Duration::from_secs(30))?;
                wait_for(Duration::from_secs(20), || {
                    c.ospf_full_neighbors("r1") >= 3
                })
                .ok_or("r1 did not get Full with n1, n2 and n3 again")?;
                // Converged: one holder each, the client served by it.
                c.wait_only_holder("web", "n1", Duration::from_secs(15))?;
                c.wait_only_holder("dns", "n2", Duration::from_secs(15))?;
                let mail = wait_for(Duration::from_secs(15), || {
                    c.vip_holders("smtp").len() == 1 && c.vip_holders("imap") == c.vip_holders("smtp")
                });
                mail.ok_or_else(|| {
                    format!(
                        "mail after the heal: smtp on {:?}, imap on {:?}",
                        c.vip_holders("smtp"),
                        c.vip_holders("imap")
                    )
                })?;
                let mail_holder = c.vip_holders("smtp").remove(0);
                for (service, node) in [("web", "n1"), ("dns", "n2"), ("smtp", mail_holder.as_str()), ("imap", mail_holder.as_str())] {
                    c.wait_served_by(service, node, Duration::from_secs(5))?;
                }
                Ok(())
            },
        },
        Scenario {
            name: "dependency-move",
            about: "the resource data fails its check on n1: web, which depends on it, stops and both move to n3",
            service: "web",
            holder: "n1",
            fault: |c| {
                let dir = c.service_dir("n1", "data").ok_or("no state dir for data on n1")?;
                std::fs::remove_file(dir.join("online"))
                    .map_err(|e| format!("take data offline on n1: {e}"))
            },
            expected: "n3",
            verify: |c| {
                c.wait_only_holder("web", "n3", Duration::from_secs(5))?;
                expect_started(c, "n2", "data", "n3")?;
                expect_state(c, "n2", "data", "n1", "active/failed")
            },
        },
        Scenario {
            name: "critical-member",
            about: "smtp, the critical member of group mail, fails on n3: smtp and imap move to n2 together",
            service: "smtp",
            holder: "n3",
            fault: |c| kill_server(c, "n3", "smtp"),
            expected: "n2",
            verify: |c| {
                c.wait_only_holder("smtp", "n2", Duration::from_secs(5))?;
                c.wait_only_holder("imap", "n2", Duration::from_secs(10))?;
                c.wait_served_by("imap", "n2", Duration::from_secs(5))?;
                Ok(())
            },
        },
    ]
}

pub fn find(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

/// Resets the lab to the known placement (`HOME`): srrd stopped
/// everywhere, every link up, dead nodes rebooted, dead daemons started,
/// OSPF Full, srrd started everywhere, then every service served from its
/// home.
pub fn prepare(c: &Cluster) -> Result<Duration, String> {
    let start = Instant::now();
    let nodes = c.srrd_nodes();
    let stuck = c.stop_srrd(&nodes, Duration::from_secs(20));
    if !stuck.is_empty() {
        return Err(format!("srrd did not stop on {stuck:?}"));
    }
    // A reset boots the cluster anew: every srrd starts with its startup
    // hold, whatever a scenario did to it before (a crash skips the hold).
    for node in &nodes {
        c.mark_srrd_stopped_cleanly(node);
    }
    for node in c.topo.with_role(Role::Switch) {
        c.lab.link_up(&node);
    }
    let mut dead = Vec::new();
    for node in c.topo.nodes.iter().filter(|n| n.role.runs_frr()) {
        if c.is_alive(&node.name) {
            c.lab.link_up(&node.name);
            c.start_frr(&node.name);
        } else {
            dead.push(node.name.clone());
        }
    }
    c.reboot_all(&dead);
    c.wait_ospf(Duration::from_secs(60))?;
    for node in &nodes {
        c.start_srrd(node);
    }
    for (service, node) in HOME {
        if c.addresses(service).is_empty() {
            continue;
        }
        c.wait_served_by(service, node, Duration::from_secs(20))
            .map_err(|e| format!("prepare: {e}"))?;
        c.wait_only_holder(service, node, Duration::from_secs(5))
            .map_err(|e| format!("prepare: {e}"))?;
    }
    expect_started(c, "n2", "data", "n1").map_err(|e| format!("prepare: {e}"))?;
    Ok(start.elapsed())
}

/// `prepare`, then the scenario: fault, expected holder, verify.
pub fn run(c: &Cluster, s: &Scenario) -> Result<Outcome, String> {
    let prepared = prepare(c)?;
    if c.who_serves(s.service) != s.holder {
        return Err(format!(
            "{}: {} is served by {}, not {} before the fault",
            s.name,
            s.service,
            c.who_serves(s.service),
            s.holder
        ));
    }
    let probe = client_probe(c, s.service)?;
    thread::sleep(Duration::from_millis(50));
    let fault_at = probe.now_ms();
    let start = Instant::now();
    let fault = (s.fault)(c).map_err(|e| format!("{}: fault: {e}", s.name));
    let fault_took = start.elapsed();
    let served = fault.and_then(|()| {
        c.wait_served_by(s.service, s.expected, FAILOVER_TIMEOUT)
            .map_err(|e| format!("{}: {e}", s.name))
    });
    let failover = start.elapsed();
    let traces = stop(probe);
    served?;
    let outage = traces
        .iter()
        .filter_map(|t| t.longest_outage_since(fault_at))
        .reduce(f64::max);
    let verify_start = Instant::now();
    (s.verify)(c).map_err(|e| format!("{}: {e}", s.name))?;
    Ok(Outcome {
        name: s.name,
        prepare: prepared,
        fault: fault_took,
        failover,
        outage: outage.map(|ms| Duration::from_secs_f64(ms / 1000.0)),
        verify: verify_start.elapsed(),
    })
}

/// The client probing every address of `service` (IPv4 and IPv6).
fn client_probe(c: &Cluster, service: &str) -> Result<Probe, String> {
    let (client, addresses) = c.client_targets(service)?;
    let targets: Vec<SocketAddr> = addresses
        .into_iter()
        .map(|addr| SocketAddr::new(addr, HTTP_PORT))
        .collect();
    Ok(Probe::start(
        &c.lab,
        &client,
        &targets,
        ProbeConfig::default(),
    ))
}

/// The probe's traces, one per address.
fn stop(probe: Probe) -> Vec<Trace> {
    probe.stop()
}

/// How long a returning node's previous router-LSA, with the VIP it held
/// as a stub link, may route the VIP to it after its ospfd starts
/// (docs/frr.md, measured fact 3): from r1's Full with it until its new
/// router-LSA replaces the old one.
const STALE_ROUTE_MOMENT_MS: f64 = 200.0;

/// Every attempt is answered by `node`, but for failed ones within one
/// moment of at most `STALE_ROUTE_MOMENT_MS` after the returning node's FRR
/// started (`frr_at`, ms of the probe) and before its srrd did
/// (`srrd_at`): that moment is OSPF's, with no srrd running on the
/// returning node. From `srrd_at` on, none may fail.
fn stale_route_moment_only(
    trace: &Trace,
    node: &str,
    frr_at: f64,
    srrd_at: f64,
) -> Result<(), String> {
    let stray: Vec<&Attempt> = trace
        .attempts
        .iter()
        .filter(|a| a.outcome.as_deref() != Ok(node))
        .collect();
    let (Some(first), Some(last)) = (stray.first(), stray.last()) else {
        return Ok(());
    };
    let in_the_moment = stray.iter().all(|a| a.outcome.is_err())
        && first.start_ms >= frr_at
        && last.start_ms < srrd_at
        && last.start_ms - first.start_ms <= STALE_ROUTE_MOMENT_MS;
    if in_the_moment {
        eprintln!(
            "note: {} attempts failed {:.0} ms after the returning node's FRR started, \
             for {:.0} ms (its previous router-LSA: docs/frr.md, fact 3)",
            stray.len(),
            first.start_ms - frr_at,
            last.start_ms - first.start_ms
        );
        return Ok(());
    }
    Err(format!(
        "{} of {} attempts to {} from the return on were not answered by {node}; the first at \
         {:.0} ms: {:?} (FRR started at {frr_at:.0} ms, srrd at {srrd_at:.0} ms)",
        stray.len(),
        trace.attempts.len(),
        trace.target,
        first.start_ms,
        first.outcome
    ))
}

/// Probes `service` for `period`: every attempt on its `addresses` must be
/// answered by `node`.
fn answered_only_by(
    c: &Cluster,
    service: &str,
    node: &str,
    period: Duration,
) -> Result<(), String> {
    let probe = client_probe(c, service)?;
    thread::sleep(period);
    for trace in stop(probe) {
        let others: Vec<&Result<String, Failure>> = trace
            .attempts
            .iter()
            .map(|a| &a.outcome)
            .filter(|o| o.as_deref() != Ok(node))
            .collect();
        if !others.is_empty() {
            return Err(format!(
                "{} of {} attempts to reach {service} at {} were not answered by {node}: {:?}",
                others.len(),
                trace.attempts.len(),
                trace.target,
                &others[..others.len().min(5)]
            ));
        }
    }
    Ok(())
}

/// `service`'s addresses as the host routes the routers install.
fn host_routes(c: &Cluster, service: &str) -> Vec<String> {
    c.addresses(service)
        .iter()
        .map(|a| format!("{a}/{}", srrd::vip::host_prefix_len(*a)))
        .collect()
}

/// The gateways of `node`'s kernel route to `prefix` (two or more: ECMP).
fn next_hops(c: &Cluster, node: &str, prefix: &str) -> Vec<String> {
    let route = c.lab.route(node, prefix);
    let words: Vec<&str> = route.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "via")
        .map(|w| w[1].to_string())
        .collect()
}

/// Kills the HTTP servers of `service` on `node` (whoami-http keeps their
/// pids in its state dir): its next check fails.
fn kill_server(c: &Cluster, node: &str, service: &str) -> Result<(), String> {
    let dir = c
        .service_dir(node, service)
        .ok_or_else(|| format!("no state dir for {service} on {node}"))?;
    let pids = std::fs::read_to_string(dir.join("http.pids"))
        .map_err(|e| format!("{service} on {node}: {e}"))?;
    let pids: Vec<i32> = pids
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    c.kill_pids(node, &pids);
    Ok(())
}

fn vip_on(c: &Cluster, node: &str, service: &str) -> bool {
    c.vip_holders(service).iter().any(|n| n == node)
}

/// `service` is started on `node` and nowhere else, in `observer`'s LSDB.
fn expect_started(c: &Cluster, observer: &str, service: &str, node: &str) -> Result<(), String> {
    wait_for(Duration::from_secs(5), || {
        c.started_on(observer, service) == [node]
    })
    .map(|_| ())
    .ok_or_else(|| {
        format!(
            "{service} started on {:?} in {observer}'s LSDB, expected only {node}",
            c.started_on(observer, service)
        )
    })
}

/// `observer`'s LSDB shows `service` of `node` in `state`.
fn expect_state(
    c: &Cluster,
    observer: &str,
    service: &str,
    node: &str,
    state: &str,
) -> Result<(), String> {
    let has = || {
        c.states(observer)
            .unwrap_or_default()
            .get(service)
            .is_some_and(|l| l.iter().any(|(n, s)| n == node && s == state))
    };
    wait_for(Duration::from_secs(5), has)
        .map(|_| ())
        .ok_or_else(|| {
            format!(
                "{service} of {node} is not {state} in {observer}'s LSDB: {:?}",
                c.states(observer).unwrap_or_default().get(service)
            )
        })
}
