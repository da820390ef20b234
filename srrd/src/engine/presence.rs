//! How each node appears for a placement unit: this node from its local
//! state, peers from their flooded records.

use super::local::{Intent, Run};
use super::view::{run_state_holds, UnitPresence};
use super::Engine;
use crate::model::{ConfigState, RouterId, RunState};

impl Engine {
    /// This node's presence for unit `u`, from local state.
    pub(super) fn local_presence(&self, u: usize, me: RouterId) -> UnitPresence {
        let members = &self.layout.units[u].start_order;
        let eligible = self.api_up
            && members.iter().all(|&m| {
                let l = &self.locals[m];
                self.effective_intent(m) == Intent::Active
                    && l.config == ConfigState::Active
                    && !l.standby
                    && !(self.layout.critical[m]
                        && (l.run == Run::Failed || l.pending_failure.is_some()))
                    && (!l.cfg.quorum || self.has_quorum(m))
            });
        UnitPresence {
            router: me,
            preference: members
                .iter()
                .map(|&m| self.locals[m].cfg.preference)
                .min()
                .unwrap_or(0),
            eligible,
            holding: members.iter().any(|&m| !self.locals[m].run.is_down()),
            started: members.iter().any(|&m| self.locals[m].run == Run::Started),
            all_started: members.iter().all(|&m| self.locals[m].run == Run::Started),
            handing_over: self.handing_over(u),
            quiescent: members.iter().all(|&m| self.locals[m].run.is_down()),
            handoff_to: self.unit_states[u].handoff.map(|(t, _)| t),
            started_at_ms: members
                .iter()
                .filter(|&&m| {
                    self.locals[m].run == Run::Started && self.locals[m].started_at_ms != 0
                })
                .map(|&m| self.locals[m].started_at_ms)
                .min()
                .unwrap_or(u64::MAX),
            claim: self.unit_states[u].claim,
        }
    }

    /// A reachable peer's presence for unit `u`, from its records.
    ///
    /// A suspect record (docs/architecture.md, stale records) neither
    /// competes for the unit nor displaces a holder, but one that shows the
    /// unit running still blocks starts elsewhere until it is flushed or
    /// flooded again.
    pub(super) fn peer_presence(&self, u: usize, peer: RouterId) -> UnitPresence {
        let mut p = UnitPresence {
            router: peer,
            preference: u8::MAX,
            eligible: true,
            holding: false,
            started: false,
            all_started: true,
            handing_over: true,
            quiescent: true,
            handoff_to: None,
            started_at_ms: u64::MAX,
            claim: None,
        };
        for &m in &self.layout.units[u].start_order {
            let Some(rec) = self.view.live_record(&self.locals[m].cfg.name, peer) else {
                p.eligible = false;
                p.preference = 0;
                p.all_started = false;
                continue;
            };
            let s = &rec.state;
            p.preference = p.preference.min(s.preference);
            let holds = run_state_holds(s.run_state);
            p.quiescent &= !holds;
            p.all_started &= s.run_state == RunState::Started && !rec.suspect;
            p.handing_over &= !holds || (s.handover && !rec.suspect);
            if rec.suspect {
                p.eligible = false;
                continue;
            }
            // A record waiting out its delete grace still blocks starts
            // elsewhere, but no longer competes for the unit.
            if s.config_state != ConfigState::Active
                || rec.deleted_at.is_some()
                || s.standby
                || (self.layout.critical[m] && s.run_state == RunState::Failed)
            {
                p.eligible = false;
            }
            p.holding |= holds;
            p.started |= s.run_state == RunState::Started;
            p.handoff_to = p.handoff_to.or(s.handoff_to);
            if s.run_state == RunState::Started && s.started_at_ms != 0 {
                p.started_at_ms = p.started_at_ms.min(s.started_at_ms);
            }
            if s.run_state == RunState::Starting {
                p.claim = p.claim.or(s.claim);
            }
        }
        p
    }

    /// Reachable peers that have any member of unit `u`.
    pub(super) fn unit_peers(&self, u: usize) -> Vec<RouterId> {
        let mut peers: Vec<RouterId> = Vec::new();
        for &m in &self.layout.units[u].start_order {
            for (r, _) in self.view.records(&self.locals[m].cfg.name) {
                if self
                    .view
                    .live_record(&self.locals[m].cfg.name, *r)
                    .is_some()
                    && !peers.contains(r)
                {
                    peers.push(*r);
                }
            }
        }
        peers
    }

    /// Whether every reachable peer with a record for the unit acknowledges
    /// our current claim in each of its records (the start barrier).
    pub(super) fn acked_by_all(&self, u: usize, me: RouterId, peers: &[RouterId]) -> bool {
        let Some(claim) = self.unit_states[u].claim else {
            return false;
        };
        peers.iter().all(|&p| {
            self.layout.units[u].start_order.iter().all(|&m| {
                match self.view.live_record(&self.locals[m].cfg.name, p) {
                    None => true,
                    Some(rec) if rec.deleted_at.is_some() && !rec.suspect => {
                        !run_state_holds(rec.state.run_state)
                    }
                    Some(rec) => rec.state.ack == Some((me, claim)),
                }
            })
        })
    }

    /// Standby as peers must see it: stopped by the operator, on its way
    /// out (deactivation, shutdown), or a quorum service without its
    /// majority here. Peers then place the unit elsewhere at once and claim
    /// it while this node is still stopping, so everyone places it alike
    /// and a graceful move costs one stop, not a stop plus a claim round.
    pub(super) fn floods_standby(&self, m: usize) -> bool {
        let l = &self.locals[m];
        l.standby
            || self.effective_intent(m) != Intent::Active
            || (l.cfg.quorum && !self.has_quorum(m))
    }

    /// A strict majority of the nodes that ever announced the service (at
    /// least `expected_nodes` of its configuration) is reachable.
    pub(super) fn has_quorum(&self, i: usize) -> bool {
        let l = &self.locals[i];
        let me = self.router_id;
        let known = (l.ever_announced.len()
            + usize::from(me.is_some_and(|m| !l.ever_announced.contains(&m))))
        .max(l.cfg.expected_nodes as usize);
        let up = 1 + l
            .ever_announced
            .iter()
            .filter(|r| Some(**r) != me && self.view.is_reachable(**r))
            .count();
        up * 2 > known
    }
}
