//! Make-before-break handover (`handover = "overlap"`, docs/architecture.md):
//! on a planned move the leaving node keeps the unit running, acknowledges
//! the successor's claim while flooding `handover`, and stops only once the
//! successor has run the unit for `handover_overlap`.

use super::local::{Intent, Run};
use super::mutants::{self, Mutant};
use super::timers::Timer;
use super::view::UnitPresence;
use super::{Action, Engine};
use crate::config::Handover;
use crate::model::{RouterId, ServiceKind, Time};

/// A make-before-break handover in progress on the leaving node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// When this node started waiting for a successor.
    pub since: Time,
    /// When the successor was first seen running the unit.
    pub successor_started: Option<Time>,
    /// The overlap is over (or given up): stop as a break-before-make would.
    pub done: bool,
}

impl Engine {
    /// Every member asks for make-before-break handovers.
    pub(super) fn unit_overlaps(&self, u: usize) -> bool {
        mutants::on(Mutant::OverlapEverything)
            || self.layout.units[u]
                .start_order
                .iter()
                .all(|&m| self.locals[m].cfg.handover == Handover::Overlap)
    }

    /// The unit leaves this node by the operator's will (stop, move-to,
    /// deactivate, disable, shutdown), not by a failure, and runs here.
    fn planned_leave(&self, u: usize) -> bool {
        let members = &self.layout.units[u].start_order;
        let healthy = members.iter().all(|&m| {
            let l = &self.locals[m];
            l.pending_failure.is_none() && l.run != Run::Failed && !l.cfg.quorum
        });
        let settled = members
            .iter()
            .all(|&m| matches!(self.locals[m].run, Run::Started | Run::Stopped));
        let running = members.iter().any(|&m| self.locals[m].run == Run::Started);
        let asked = self.unit_states[u].handoff.is_some()
            || members
                .iter()
                .all(|&m| self.locals[m].standby || self.effective_intent(m) != Intent::Active);
        self.api_up && healthy && settled && running && asked
    }

    /// Whether the unit stays up here for now because a make-before-break
    /// handover is under way; arms the timer that ends the wait.
    pub(super) fn overlap_keeps_running(
        &mut self,
        u: usize,
        me: RouterId,
        nodes: &[UnitPresence],
        holder: Option<RouterId>,
    ) -> bool {
        let current = self.unit_states[u].overlap;
        if current.is_some_and(|o| o.done) {
            return false;
        }
        if !self.unit_overlaps(u) || !self.planned_leave(u) {
            self.set_overlap(u, None);
            return false;
        }
        let successor = holder
            .filter(|&h| h != me)
            .and_then(|h| nodes.iter().find(|n| n.router == h));
        let Some(successor) = successor else {
            // Nobody to hand it to: stop now, as a break-before-make would.
            self.set_overlap(u, None);
            return false;
        };
        let mut o = current.unwrap_or(Overlap {
            since: self.now,
            successor_started: None,
            done: false,
        });
        if o.successor_started.is_none() && successor.all_started {
            o.successor_started = Some(self.now);
        }
        let until = match o.successor_started {
            Some(at) => at.plus_ms(self.overlap_ms(u)),
            None => o.since.plus_ms(self.settings.handoff_timeout_ms),
        };
        let endless = mutants::on(Mutant::EndlessOverlap);
        o.done = self.now >= until && !endless;
        if !o.done {
            self.timers.arm(until, Timer::Overlap(u));
        }
        self.set_overlap(u, Some(o));
        !o.done
    }

    /// Whether this node floods `handover` for the unit: it runs it and
    /// lets a successor start before it stops.
    pub(super) fn handing_over(&self, u: usize) -> bool {
        self.unit_states[u].overlap.is_some_and(|o| !o.done)
    }

    /// Before member `m`'s `stop` that ends a make-before-break handover
    /// (a successor runs the unit): its `handover_drain`; else 0.
    pub(super) fn handover_drain_ms(&self, m: usize) -> u64 {
        let u = self.layout.unit_of[m];
        let handed_over = self.unit_states[u]
            .overlap
            .is_some_and(|o| o.done && o.successor_started.is_some());
        if handed_over {
            self.locals[m].cfg.handover_drain.as_millis() as u64
        } else {
            0
        }
    }

    /// On the node that takes a make-before-break unit over: the peer that
    /// still runs it (the earliest started) gets the packets of connections
    /// it accepted that reach this node once the routers send them here.
    pub(super) fn sync_strays(&mut self, u: usize, holds: bool, peers: &[UnitPresence]) {
        let members = &self.layout.units[u].start_order;
        let taking_over = holds
            && self.unit_overlaps(u)
            && members.iter().any(|&m| !self.locals[m].run.is_down());
        let to = peers
            .iter()
            .filter(|n| taking_over && n.holding)
            .min_by_key(|n| (n.started_at_ms, n.router))
            .map(|n| n.router);
        let endless = to.is_none() && mutants::on(Mutant::EndlessStrays);
        if self.unit_states[u].strays_to == to || endless {
            return;
        }
        self.unit_states[u].strays_to = to;
        for &m in members {
            let cfg = &self.locals[m].cfg;
            if cfg.kind != ServiceKind::Resource && !cfg.addresses.is_empty() {
                self.actions.push(Action::ForwardStrays {
                    service: cfg.name.clone(),
                    to,
                });
            }
        }
    }

    fn overlap_ms(&self, u: usize) -> u64 {
        self.layout.units[u]
            .start_order
            .iter()
            .map(|&m| self.locals[m].cfg.handover_overlap.as_millis() as u64)
            .max()
            .unwrap_or(0)
    }

    /// Records the handover state; members flood again when whether they
    /// hand over changes.
    pub(super) fn set_overlap(&mut self, u: usize, overlap: Option<Overlap>) {
        let before = self.handing_over(u);
        self.unit_states[u].overlap = overlap;
        if before != self.handing_over(u) {
            for m in self.layout.units[u].start_order.clone() {
                self.commit(m);
            }
        }
    }
}
