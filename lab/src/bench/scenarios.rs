//! The failover scenarios against srrd: what each does to the node that
//! runs the service (the holder), and how the cluster is put back before
//! the next run. Every fault hits whichever node holds the service; with
//! equal preferences the service then goes to the highest router id of the
//! others, which is always on the other subnet (n3 → n2, n2 or n1 → n3).

use std::thread;
use std::time::Duration;

use super::cluster::{break_service, repair_service, Cluster, ServiceSet, CHECK_INTERVAL};
use super::measure::{measure, MeasureSettings, Rng, RunResult};
use crate::netns::{wait_for, Profile};

/// How long the holder's links stay down in `link-flap` (less than the
/// 1 s dead interval) and in `partition-heal` (well beyond it).
pub const FLAP_DOWN: Duration = Duration::from_millis(500);
pub const PARTITION: Duration = Duration::from_secs(3);
/// keepalived's VRRP advert interval against OSPF's 1 s dead interval.
pub const KEEPALIVED_ADVERT: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    GracefulMove,
    GracefulMoveOverlap,
    MoveTo,
    MoveToOverlap,
    GracefulMoveIpv6,
    NodeCrash,
    NodeCrashBfd,
    NodeCrashIpv6,
    NodeCrashIpv6Bfd,
    CheckFailure,
    OspfdCrash,
    SrrdRestart,
    LinkFlap,
    PartitionHeal,
    GroupMove,
}

impl Scenario {
    pub const ALL: [Scenario; 15] = [
        Scenario::GracefulMove,
        Scenario::GracefulMoveOverlap,
        Scenario::MoveTo,
        Scenario::MoveToOverlap,
        Scenario::GracefulMoveIpv6,
        Scenario::NodeCrash,
        Scenario::NodeCrashBfd,
        Scenario::NodeCrashIpv6,
        Scenario::NodeCrashIpv6Bfd,
        Scenario::CheckFailure,
        Scenario::OspfdCrash,
        Scenario::SrrdRestart,
        Scenario::LinkFlap,
        Scenario::PartitionHeal,
        Scenario::GroupMove,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::GracefulMove => "graceful-move",
            Scenario::GracefulMoveOverlap => "graceful-move-overlap",
            Scenario::MoveTo => "move-to",
            Scenario::MoveToOverlap => "move-to-overlap",
            Scenario::GracefulMoveIpv6 => "graceful-move-ipv6",
            Scenario::NodeCrash => "node-crash",
            Scenario::NodeCrashBfd => "node-crash-bfd",
            Scenario::NodeCrashIpv6 => "node-crash-ipv6",
            Scenario::NodeCrashIpv6Bfd => "node-crash-ipv6-bfd",
            Scenario::CheckFailure => "check-failure",
            Scenario::OspfdCrash => "ospfd-crash",
            Scenario::SrrdRestart => "srrd-restart",
            Scenario::LinkFlap => "link-flap",
            Scenario::PartitionHeal => "partition-heal",
            Scenario::GroupMove => "group-move",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::GracefulMove => "SIGTERM srrd on the holder; the service moves to the other subnet",
            Scenario::GracefulMoveOverlap => "graceful-move of a service with handover = \"overlap\" (make-before-break)",
            Scenario::MoveTo => "srrd ctl move on the holder, to the best node of the other subnet",
            Scenario::MoveToOverlap => "move-to of a service with handover = \"overlap\" (make-before-break)",
            Scenario::GracefulMoveIpv6 => "graceful-move of a dual-stack service (IPv4 + IPv6 VIP, the /128 by ospf6d); outage until both answer",
            Scenario::NodeCrash => "holder node dies (SIGKILL all its processes, links down); dead interval 1 s",
            Scenario::NodeCrashBfd => "node-crash with BFD 50 ms x 3",
            Scenario::NodeCrashIpv6 => "node-crash of a dual-stack service (IPv4 + IPv6 VIP, the /128 by ospf6d); outage until both answer",
            Scenario::NodeCrashIpv6Bfd => "node-crash-ipv6 with BFD 50 ms x 3 for ospfd and ospf6d",
            Scenario::CheckFailure => "the holder's service answers 503 and its check fails; check interval 1 s",
            Scenario::OspfdCrash => "SIGKILL ospfd on the holder",
            Scenario::SrrdRestart => "kill -9 srrd on the holder, start it again at once",
            Scenario::LinkFlap => "the holder's links go down for 500 ms",
            Scenario::PartitionHeal => "the holder's links go down for 3 s, then come back",
            Scenario::GroupMove => "SIGTERM srrd on the holder of group shop (db + web depending on db); outage until both answer",
        }
    }

    pub fn profile(self) -> Profile {
        match self {
            Scenario::NodeCrashBfd | Scenario::NodeCrashIpv6Bfd => Profile::Bfd,
            _ => Profile::Fast,
        }
    }

    pub fn service_set(self) -> ServiceSet {
        match self {
            Scenario::GroupMove => ServiceSet::Group,
            Scenario::GracefulMoveOverlap | Scenario::MoveToOverlap => ServiceSet::Overlap,
            Scenario::GracefulMoveIpv6 | Scenario::NodeCrashIpv6 | Scenario::NodeCrashIpv6Bfd => {
                ServiceSet::DualStack
            }
            _ => ServiceSet::Single,
        }
    }

    /// The outage goal of the issue, in ms, where it sets one.
    pub fn goal_ms(self) -> Option<f64> {
        match self {
            Scenario::GracefulMove | Scenario::MoveTo => Some(100.0),
            // No failed probe at all.
            Scenario::GracefulMoveOverlap | Scenario::MoveToOverlap | Scenario::SrrdRestart => {
                Some(0.0)
            }
            Scenario::NodeCrash => Some(1000.0),
            Scenario::NodeCrashBfd => Some(300.0),
            Scenario::CheckFailure => Some(CHECK_INTERVAL.as_millis() as f64 + 150.0),
            Scenario::OspfdCrash => Some(1500.0),
            _ => None,
        }
    }

    /// keepalived plays this one too (two nodes on one LAN) at this VRRP
    /// advert interval: the one whose master-down time matches srrd's
    /// detection (3 adverts + skew ≈ 0.9 s against the 1 s dead interval;
    /// ≈ 0.18 s against BFD's 150 ms).
    pub fn keepalived_advert(self) -> Option<Duration> {
        match self {
            Scenario::GracefulMove | Scenario::NodeCrash => Some(KEEPALIVED_ADVERT),
            Scenario::NodeCrashBfd => Some(Duration::from_millis(50)),
            _ => None,
        }
    }
}

/// One run: waits until the cluster is at rest, measures the fault, puts
/// the cluster back.
pub fn run_once(
    c: &mut Cluster,
    scenario: Scenario,
    settings: &MeasureSettings,
    rng: &mut Rng,
) -> Result<RunResult, String> {
    let holder = c.wait_steady(Duration::from_secs(60))?;
    c.observe_usage();
    let sessions = c.api_sessions(holder);
    let targets = c.targets();
    let lab = c.lab();
    // Nodes the fault leaves out of the cluster until the repair.
    let out: &[&str] = match scenario {
        Scenario::NodeCrash
        | Scenario::NodeCrashBfd
        | Scenario::NodeCrashIpv6
        | Scenario::NodeCrashIpv6Bfd
        | Scenario::OspfdCrash => &[holder],
        _ => &[],
    };
    let at_rest = || c.at_rest(out);
    let mut restarted = None;
    let result = match scenario {
        Scenario::GracefulMove
        | Scenario::GracefulMoveOverlap
        | Scenario::GracefulMoveIpv6
        | Scenario::GroupMove => measure(
            lab,
            &targets,
            settings,
            rng,
            || c.sigterm_srrd(holder),
            at_rest,
        ),
        Scenario::MoveTo | Scenario::MoveToOverlap => measure(
            lab,
            &targets,
            settings,
            rng,
            || c.move_to(holder, "web", successor(holder)),
            at_rest,
        ),
        Scenario::NodeCrash
        | Scenario::NodeCrashBfd
        | Scenario::NodeCrashIpv6
        | Scenario::NodeCrashIpv6Bfd => measure(
            lab,
            &targets,
            settings,
            rng,
            || c.cluster.kill_node(holder),
            at_rest,
        ),
        Scenario::CheckFailure => {
            let flag = c.broken_flag(holder, "web");
            let r = measure(
                lab,
                &targets,
                settings,
                rng,
                || break_service(&flag),
                at_rest,
            );
            repair_service(&flag);
            r
        }
        Scenario::OspfdCrash => measure(
            lab,
            &targets,
            settings,
            rng,
            || c.cluster.kill_ospfd(holder),
            at_rest,
        ),
        Scenario::SrrdRestart => measure(
            lab,
            &targets,
            settings,
            rng,
            || {
                c.kill_srrd(holder);
                restarted = Some(c.spawn_srrd(holder));
            },
            at_rest,
        ),
        Scenario::LinkFlap => measure(
            lab,
            &targets,
            settings,
            rng,
            || {
                lab.link_down(holder);
                thread::sleep(FLAP_DOWN);
                lab.link_up(holder);
            },
            at_rest,
        ),
        Scenario::PartitionHeal => measure(
            lab,
            &targets,
            settings,
            rng,
            || {
                lab.link_down(holder);
                thread::sleep(PARTITION);
                lab.link_up(holder);
            },
            at_rest,
        ),
    };
    if let Some(handle) = restarted {
        c.adopt_srrd(holder, handle);
    }
    reset(c, scenario, holder, sessions)?;
    Ok(result)
}

/// Brings the old holder back as a standby (`sessions`: its srrd's OSPF API
/// sessions before the fault).
fn reset(
    c: &mut Cluster,
    scenario: Scenario,
    holder: &'static str,
    sessions: usize,
) -> Result<(), String> {
    match scenario {
        Scenario::GracefulMove
        | Scenario::GracefulMoveOverlap
        | Scenario::GracefulMoveIpv6
        | Scenario::GroupMove => {
            c.wait_srrd_exit(holder, Duration::from_secs(20))?;
            c.start_srrd(holder);
        }
        Scenario::NodeCrash
        | Scenario::NodeCrashBfd
        | Scenario::NodeCrashIpv6
        | Scenario::NodeCrashIpv6Bfd => {
            c.cluster.reboot(holder);
            wait_r1_full(c)?;
            c.start_srrd(holder);
        }
        Scenario::CheckFailure => {
            // The service is `failed` there until re-activated: a restart does it.
            c.sigterm_srrd(holder);
            c.wait_srrd_exit(holder, Duration::from_secs(20))?;
            c.start_srrd(holder);
        }
        Scenario::OspfdCrash => {
            c.cluster.start_frr(holder);
            wait_r1_full(c)?;
            c.wait_reconnected(holder, sessions)?;
        }
        Scenario::MoveTo
        | Scenario::MoveToOverlap
        | Scenario::SrrdRestart
        | Scenario::LinkFlap
        | Scenario::PartitionHeal => {}
    }
    Ok(())
}

/// Where a fault on `holder` sends the service: the highest router id of
/// the others, always on the other subnet.
fn successor(holder: &str) -> &'static str {
    if holder == "n3" {
        "n2"
    } else {
        "n3"
    }
}

fn wait_r1_full(c: &Cluster) -> Result<(), String> {
    wait_for(Duration::from_secs(60), || {
        c.cluster.ospf_full_neighbors("r1") >= 3
    })
    .map(|_| ())
    .ok_or_else(|| "r1 has not 3 Full neighbours 60 s after the repair".to_string())
}

/// After a failed run: every node's links up, FRR running, srrd running,
/// no VIP on a node that does not run the service.
pub fn recover(c: &mut Cluster) -> Result<(), String> {
    for node in super::cluster::NODES {
        c.lab().link_up(node);
        c.cluster.start_frr(node);
    }
    wait_r1_full(c)?;
    c.start_all();
    c.wait_steady(Duration::from_secs(60)).map(|_| ())
}
