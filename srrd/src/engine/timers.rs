//! Deadlines the engine waits for. Entries are never cancelled: when one
//! fires, its handler checks that the state still expects it.

use std::collections::BTreeSet;

use super::io::OpId;
use super::view::LsaRef;
use crate::model::{RouterId, Time};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// A peer's deleted record is dropped unless replaced by then.
    DeleteGrace {
        peer: RouterId,
        service: String,
    },
    EchoTimeout(usize),
    PrimitiveDeadline(usize, OpId),
    Recall(usize, OpId),
    Check(usize),
    PreemptDelay(usize),
    StartupHold,
    /// One of our own LSAs was deleted; republish unless its update follows.
    OwnDeleteGrace(LsaRef),
    HandoffTimeout(usize),
    /// A make-before-break handover's wait or overlap ends.
    Overlap(usize),
    /// A returning router's suspect records are trusted again.
    SuspectGrace(RouterId),
    /// A vanished holder's restart grace ends.
    RestartGrace(usize),
}

#[derive(Clone, Default, Debug)]
pub struct Timers {
    queue: BTreeSet<(Time, Timer)>,
}

impl Timers {
    pub fn arm(&mut self, at: Time, timer: Timer) {
        self.queue.insert((at, timer));
    }

    pub fn next(&self) -> Option<Time> {
        self.queue.first().map(|(t, _)| *t)
    }

    pub fn pop_due(&mut self, now: Time) -> Option<Timer> {
        match self.queue.first() {
            Some((t, _)) if *t <= now => self.queue.pop_first().map(|(_, timer)| timer),
            _ => None,
        }
    }
}
