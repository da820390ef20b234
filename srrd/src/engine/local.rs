//! This node's own services.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::fasthash::FastSet;
use super::io::OpId;
use super::view::LsaRef;
use crate::config::ServiceConfig;
use crate::model::{ConfigState, Failure, Primitive, RouterId, RunState, Time};

/// What the operator wants for a service on this node; persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Intent {
    Disabled,
    Inactive,
    Active,
}

/// The run state with the phases a peer cannot tell apart made explicit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Run {
    Stopped,
    /// Flooded as `starting`: waiting for every other node to show it stopped.
    Claiming,
    /// Flooded as `starting`: the start primitive runs.
    Starting,
    Started,
    Stopping,
    Failed,
}

impl Run {
    pub fn flooded(self) -> RunState {
        match self {
            Run::Stopped => RunState::Stopped,
            Run::Claiming | Run::Starting => RunState::Starting,
            Run::Started => RunState::Started,
            Run::Stopping => RunState::Stopping,
            Run::Failed => RunState::Failed,
        }
    }

    pub fn is_down(self) -> bool {
        matches!(self, Run::Stopped | Run::Failed)
    }
}

#[derive(Clone, Debug)]
pub struct Op {
    pub id: OpId,
    pub primitive: Primitive,
    pub peer: Option<RouterId>,
    pub deadline: Time,
}

/// What was last flooded, to know when to flood again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flooded {
    pub config: ConfigState,
    pub run: RunState,
    pub standby: bool,
    pub handover: bool,
    pub failure: Option<Failure>,
    pub handoff_to: Option<RouterId>,
    pub check_stamp_ms: u64,
    pub claim: Option<u64>,
    pub ack: Option<(RouterId, u64)>,
    /// While started: since when (0 = unknown, as for an adoption pending).
    pub started_at_ms: u64,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub cfg: ServiceConfig,
    pub intent: Intent,
    pub config: ConfigState,
    pub run: Run,
    pub standby: bool,
    pub failure: Option<Failure>,
    /// A check failed while started: stop, then become failed with this.
    pub pending_failure: Option<Failure>,
    /// `deactivate` failed: stay failed until the operator acts (no retry loop).
    pub deactivate_failed: bool,
    pub lsa: Option<LsaRef>,
    pub generation_seq: u32,
    pub flooded: Option<Flooded>,
    pub op: Option<Op>,
    pub hooks: VecDeque<(Primitive, Option<RouterId>)>,
    pub check_due: Option<Time>,
    pub check_stamp_ms: u64,
    /// When the start primitive last succeeded (0 = not started).
    pub started_at_ms: u64,
    pub echo_deadline: Option<Time>,
    pub vips_up: bool,
    /// Peers whose active record we have announced with `join`.
    pub joined: BTreeSet<RouterId>,
    /// Nodes that ever announced this service (quorum guard).
    pub ever_announced: BTreeSet<RouterId>,
}

impl Local {
    pub fn new(cfg: ServiceConfig, intent: Intent, standby: bool) -> Local {
        let config = if intent == Intent::Disabled {
            ConfigState::Disabled
        } else {
            ConfigState::Inactive
        };
        Local {
            cfg,
            intent,
            config,
            run: Run::Stopped,
            standby,
            failure: None,
            pending_failure: None,
            deactivate_failed: false,
            lsa: None,
            generation_seq: 0,
            flooded: None,
            op: None,
            hooks: VecDeque::new(),
            check_due: None,
            check_stamp_ms: 0,
            started_at_ms: 0,
            echo_deadline: None,
            vips_up: false,
            joined: BTreeSet::new(),
            ever_announced: BTreeSet::new(),
        }
    }

    pub fn status(&self) -> ServiceStatus {
        ServiceStatus {
            name: self.cfg.name.clone(),
            intent: self.intent,
            config: self.config,
            run: self.run.flooded(),
            standby: self.standby,
            failure: self.failure.clone(),
            lsa: self.lsa,
            check_stamp_ms: self.check_stamp_ms,
            running_primitive: self.op.as_ref().map(|o| o.primitive),
        }
    }

    /// Whether the service is in a config state that floods an LSA.
    pub fn floods(&self) -> bool {
        matches!(self.config, ConfigState::Injected | ConfigState::Active)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceStatus {
    pub name: String,
    pub intent: Intent,
    pub config: ConfigState,
    pub run: RunState,
    pub standby: bool,
    pub failure: Option<Failure>,
    #[serde(skip)]
    pub lsa: Option<LsaRef>,
    pub check_stamp_ms: u64,
    pub running_primitive: Option<Primitive>,
}

/// Where the adoption of a unit the previous run left running stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Adoption {
    /// Nothing to adopt, or done.
    #[default]
    None,
    /// Waiting for the LSDB dump and for the members to flood again.
    Pending,
    /// Not kept: stopping every member (dependants first) until all are down.
    Refused,
}

#[derive(Clone, Debug, Default)]
pub struct UnitState {
    /// Operator move in progress: (target, give up at).
    pub handoff: Option<(RouterId, Time)>,
    /// Since when this node could preempt a lower-preference holder.
    pub preempt_since: Option<Time>,
    /// Our claim on the unit while members claim or start it.
    pub claim: Option<u64>,
    /// The claim of another node we acknowledge, flooded in every member.
    pub ack: Option<(RouterId, u64)>,
    /// A make-before-break handover away from this node.
    pub overlap: Option<super::handover::Overlap>,
    /// The peer this session's LSDB showed holding the unit: the cluster
    /// runs it, so the startup hold no longer applies to it. Forgotten if
    /// that peer stops holding while still reachable (its srrd stopped or
    /// restarted, as when a whole cluster restarts): only a holder that
    /// vanished (crashed, cut off) keeps the hold lifted.
    pub seen_holder: Option<RouterId>,
    /// The unit runs from the previous run (adoption.rs): the normal rules
    /// leave it alone until it is confirmed or stopped.
    pub adoption: Adoption,
    /// Peers whose records of the unit vanished while they held it and
    /// whose router stays reachable: no claim before these times.
    pub restart_grace: BTreeMap<RouterId, Time>,
    /// Where this node forwards the unit's stray packets (ForwardStrays).
    pub strays_to: Option<RouterId>,
}

/// Hands out 24-bit opaque ids, never one flushed within the last
/// `REUSE_AFTER_MS` (a flushed instance lingers in neighbours' LSDBs and a
/// reused id would be dropped as too recent or taken for a boomerang).
#[derive(Clone, Debug)]
pub struct IdAllocator {
    /// Ids are `1..=mask`.
    mask: u32,
    next: u32,
    in_use: FastSet<u32>,
    flushed: VecDeque<(Time, u32)>,
    flushed_set: FastSet<u32>,
}

const OPAQUE_ID_MASK: u32 = 0x00ff_ffff;
const REUSE_AFTER_MS: u64 = 3_700_000;

impl IdAllocator {
    pub fn new(incarnation: u32) -> IdAllocator {
        // Start each run elsewhere in the id space so that ids of the
        // previous run, possibly still in the LSDB, are not met soon.
        let start = incarnation.wrapping_mul(0x9e37_79b9) & OPAQUE_ID_MASK;
        IdAllocator {
            mask: OPAQUE_ID_MASK,
            next: start.max(1),
            in_use: FastSet::default(),
            flushed: VecDeque::new(),
            flushed_set: FastSet::default(),
        }
    }

    /// A fresh id, or `None` when every id is in use or was flushed within
    /// the reuse window (the search is bounded by the id space).
    pub fn allocate(&mut self, now: Time) -> Option<u32> {
        while let Some(&(t, id)) = self.flushed.front() {
            if now.since(t) < REUSE_AFTER_MS {
                break;
            }
            self.flushed.pop_front();
            self.flushed_set.remove(&id);
        }
        if self.in_use.len() + self.flushed_set.len() >= self.mask as usize {
            return None;
        }
        loop {
            let id = self.next;
            self.next = (self.next + 1) & self.mask;
            if self.next == 0 {
                self.next = 1;
            }
            if !self.in_use.contains(&id) && !self.flushed_set.contains(&id) {
                self.in_use.insert(id);
                return Some(id);
            }
        }
    }

    pub fn release(&mut self, now: Time, id: u32) {
        if self.in_use.remove(&id) {
            self.flushed.push_back((now, id));
            self.flushed_set.insert(id);
        }
    }

    /// After the API session is lost ospfd flushes everything itself.
    pub fn release_all(&mut self, now: Time) {
        let ids: Vec<u32> = self.in_use.iter().copied().collect();
        for id in ids {
            self.release(now, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_allocation_is_bounded_and_reuses_ids_after_the_window() {
        let mut ids = IdAllocator::new(1);
        ids.mask = 7;
        ids.next = 1;
        let t0 = Time(0);
        let got: Vec<u32> = (0..7).filter_map(|_| ids.allocate(t0)).collect();
        assert_eq!(got, vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ids.allocate(t0), None, "every id in use: no endless search");
        ids.release(t0, 3);
        assert_eq!(ids.allocate(Time(1000)), None, "flushed within the window");
        assert_eq!(ids.allocate(t0.plus_ms(REUSE_AFTER_MS)), Some(3));
    }
}
