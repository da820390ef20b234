//! What goes into the engine and what comes out of it.

use std::fmt;
use std::net::IpAddr;

use super::view::LsaRef;
use crate::model::{ConfigState, Failure, Primitive, RouterId, RunState, Time};

/// Identifies one run of a primitive; a result for an id the engine no
/// longer waits for (timed out, cancelled) is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(pub u64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrimitiveResult {
    Ok,
    Failed(u32),
    /// Not finished: ask again after the recall interval (docs/primitives.md).
    Recall,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Activate(String),
    Deactivate(String),
    Enable(String),
    Disable(String),
    /// Make this node a candidate again (clears `stop`).
    Start(String),
    /// Stop it here and keep it off this node: it moves if another node can take it.
    Stop(String),
    /// Hand the running service (with its group) to another node.
    MoveTo(String, RouterId),
    /// Stop and deactivate everything, then report `ShutdownComplete`.
    Shutdown,
}

impl Command {
    pub fn service(&self) -> Option<&str> {
        match self {
            Command::Activate(s)
            | Command::Deactivate(s)
            | Command::Enable(s)
            | Command::Disable(s)
            | Command::Start(s)
            | Command::Stop(s)
            | Command::MoveTo(s, _) => Some(s),
            Command::Shutdown => None,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Activate(s) => write!(f, "activate {s}"),
            Command::Deactivate(s) => write!(f, "deactivate {s}"),
            Command::Enable(s) => write!(f, "enable {s}"),
            Command::Disable(s) => write!(f, "disable {s}"),
            Command::Start(s) => write!(f, "start {s}"),
            Command::Stop(s) => write!(f, "stop {s}"),
            Command::MoveTo(s, n) => write!(f, "move-to {s} {n}"),
            Command::Shutdown => write!(f, "shutdown"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The OSPF API session is up (after registration); `router_id` is ours.
    ApiConnected {
        router_id: RouterId,
    },
    /// The OSPF API session is gone (ospfd died or restarted).
    ApiLost,
    LsaUpdate {
        lsa: LsaRef,
        payload: Vec<u8>,
    },
    LsaDelete {
        lsa: LsaRef,
    },
    /// Every LSA ospfd held when the session came up has been delivered.
    LsdbSynced,
    /// ospfd refused an ORIGINATE_REQUEST.
    OriginateFailed {
        lsa: LsaRef,
        reason: String,
    },
    /// Routers that became reachable / unreachable (REACHABLE_CHANGE).
    Reachability {
        added: Vec<RouterId>,
        removed: Vec<RouterId>,
    },
    PrimitiveDone {
        op: OpId,
        result: PrimitiveResult,
    },
    /// The time asked for by the last `SetTimer` has come.
    Timer,
    Command(Command),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warn,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrimitiveRun {
    pub op: OpId,
    pub service: String,
    pub primitive: Primitive,
    /// The peer a join/leave is about.
    pub peer: Option<RouterId>,
    pub timeout_ms: u64,
    /// Reachable peers that have the service active.
    pub peers: Vec<RouterId>,
    /// A `stop` that ends a make-before-break handover: the shell first
    /// withdraws the service's addresses from routing and keeps answering
    /// on them this long (`handover_drain`); `timeout_ms` follows it.
    pub drain_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Hand an opaque LSA to ospfd (always a fresh id).
    Originate {
        lsa: LsaRef,
        payload: Vec<u8>,
    },
    /// Ask ospfd to flush one of our LSAs.
    Flush {
        lsa: LsaRef,
    },
    RunPrimitive(PrimitiveRun),
    /// Kill a primitive that timed out or is no longer wanted.
    CancelPrimitive {
        op: OpId,
        service: String,
    },
    AddVip {
        service: String,
        addr: IpAddr,
    },
    RemoveVip {
        service: String,
        addr: IpAddr,
    },
    /// Make-before-break, on the successor: TCP segments for the service's
    /// addresses that belong to no connection this node knows go to `to`,
    /// the node that still serves them, or (None) no longer anywhere
    /// (docs/vip.md, "Stray packets").
    ForwardStrays {
        service: String,
        to: Option<RouterId>,
    },
    /// Deliver `Event::Timer` at this time (replaces any earlier request).
    SetTimer {
        at: Time,
    },
    /// A service's flooded state changed (for logs and metrics).
    StateChanged {
        service: String,
        config: ConfigState,
        run: RunState,
        failure: Option<Failure>,
    },
    Log {
        level: Level,
        service: Option<String>,
        message: String,
    },
    CommandRejected {
        command: Command,
        reason: String,
    },
    /// Everything is stopped, deactivated and flushed.
    ShutdownComplete,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Originate { lsa, payload } => {
                write!(f, "originate {lsa} ({} bytes)", payload.len())
            }
            Action::Flush { lsa } => write!(f, "flush {lsa}"),
            Action::RunPrimitive(r) => match r.peer {
                Some(p) => write!(f, "run {} {} {p}", r.service, r.primitive),
                None => write!(f, "run {} {}", r.service, r.primitive),
            },
            Action::CancelPrimitive { service, .. } => write!(f, "cancel {service}"),
            Action::AddVip { service, addr } => write!(f, "add-vip {service} {addr}"),
            Action::RemoveVip { service, addr } => write!(f, "remove-vip {service} {addr}"),
            Action::SetTimer { at } => write!(f, "timer {}", at.0),
            Action::StateChanged {
                service,
                config,
                run,
                failure,
            } => match failure {
                Some(fl) => write!(f, "state {service} {config}/{run} ({fl})"),
                None => write!(f, "state {service} {config}/{run}"),
            },
            Action::Log {
                level,
                service,
                message,
            } => write!(
                f,
                "log {level:?} {} {message}",
                service.as_deref().unwrap_or("-")
            ),
            Action::CommandRejected { command, reason } => {
                write!(f, "rejected {command}: {reason}")
            }
            Action::ForwardStrays { service, to } => match to {
                Some(to) => write!(f, "forward-strays {service} {to}"),
                None => write!(f, "forward-strays {service} none"),
            },
            Action::ShutdownComplete => write!(f, "shutdown-complete"),
        }
    }
}
