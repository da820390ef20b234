//! Unit placement and claims: who should hold each unit, the start barrier
//! (a claim starts only once every peer acknowledged it), acknowledgements
//! of other nodes' claims, hand-offs and stops (docs/architecture.md).

use super::local::Run;
use super::mutants::{self, Mutant};
use super::placement;
use super::timers::Timer;
use super::view::UnitPresence;
use super::Engine;
use crate::model::{ConfigState, Primitive, RouterId, ServiceKind};

/// One evaluation of a unit: every reachable node's presence (ours first)
/// and who placement says should hold it.
struct Evaluation {
    me: RouterId,
    nodes: Vec<UnitPresence>,
    peers: Vec<RouterId>,
    holder: Option<RouterId>,
}

impl Engine {
    pub(super) fn drive_unit(&mut self, u: usize) {
        let Some(me) = self.router_id else {
            self.adoption_without_session(u);
            return;
        };
        let members = self.layout.units[u].start_order.clone();
        for &m in &members {
            self.update_membership(m);
            let flooded = self.locals[m].flooded.as_ref().map(|f| f.standby);
            if self.locals[m].cfg.quorum && flooded.is_some_and(|f| f != self.floods_standby(m)) {
                self.commit(m);
            }
        }
        self.settle_handoff(u);

        let local = self.local_presence(u, me);
        let peers = self.unit_peers(u);
        let mut nodes = Vec::with_capacity(peers.len() + 1);
        nodes.push(local);
        nodes.extend(peers.iter().map(|&p| self.peer_presence(u, p)));
        let holder = placement::holder(&nodes);
        if self.lsdb_synced {
            if let Some(seen) = nodes[1..].iter().find(|n| n.holding) {
                self.unit_states[u].seen_holder = Some(seen.router);
            } else if let Some(seen) = self.unit_states[u].seen_holder {
                if self.view.is_reachable(seen) {
                    self.unit_states[u].seen_holder = None;
                }
            }
        }
        if self.adoption_waits(u, &nodes) {
            for &m in &members {
                self.run_next_hook(m);
            }
            return;
        }
        let e = Evaluation {
            me,
            nodes,
            peers,
            holder,
        };

        let holds = holder == Some(me) && local.eligible && self.unit_states[u].handoff.is_none();
        if holds {
            self.hold(u, &members, &e);
        } else {
            self.yield_unit(u, &members, &e);
        }
        self.sync_strays(u, holds, &e.nodes[1..]);
        self.sync_claim(u, &members);
        let quiescent = members.iter().all(|&m| self.locals[m].run.is_down());
        if quiescent {
            self.set_overlap(u, None);
        }
        self.acknowledge(u, &members, &e, quiescent);
        for &m in &members {
            self.run_next_hook(m);
        }
    }

    /// This node should hold the unit: claim it, start it once the barrier
    /// is passed, and keep failing members off it.
    fn hold(&mut self, u: usize, members: &[usize], e: &Evaluation) {
        let nodes = &e.nodes;
        self.set_overlap(u, None);
        let others_hold = nodes[1..].iter().any(|n| n.holding);
        if others_hold && !self.preempt_delay_over(u) {
            return;
        }
        let hold_over = (self.now >= self.claims_from || self.unit_states[u].seen_holder.is_some())
            && !self.in_restart_grace(u);
        for &m in members {
            if self.locals[m].run == Run::Stopped && self.can_run(m) && hold_over {
                self.locals[m].run = Run::Claiming;
                self.commit(m);
            }
        }
        self.sync_claim(u, members);
        // Make-before-break: a peer handing the unit over acknowledges while
        // it still runs it, and stops once this node has started.
        let overlap = self.unit_overlaps(u);
        let stopped_or_leaving = nodes[1..]
            .iter()
            .all(|n| n.quiescent || (overlap && n.handing_over));
        let barrier = mutants::on(Mutant::NoStartBarrier)
            || ((mutants::on(Mutant::AckWhileHolding) || stopped_or_leaving)
                && self.acked_by_all(u, e.me, &e.peers));
        if barrier {
            for &m in members {
                let deps_started = self.layout.deps[m]
                    .iter()
                    .all(|&d| self.locals[d].run == Run::Started);
                if self.locals[m].run == Run::Claiming
                    && deps_started
                    && self.locals[m].op.is_none()
                {
                    self.begin_start(m);
                }
            }
        }
        self.stop_failing(u);
    }

    /// Another node should hold the unit (or nobody): withdraw our claim
    /// and stop what runs here if the rules say so.
    fn yield_unit(&mut self, u: usize, members: &[usize], e: &Evaluation) {
        let (nodes, me) = (&e.nodes, e.me);
        self.unit_states[u].preempt_since = None;
        if mutants::on(Mutant::KeepRunningWithoutOspfd) && !self.api_up {
            return;
        }
        for &m in members {
            if self.locals[m].run == Run::Claiming {
                self.locals[m].run = Run::Stopped;
                self.commit(m);
            }
        }
        let holder_claims = e
            .holder
            .filter(|&h| h != me)
            .and_then(|h| nodes.iter().find(|n| n.router == h))
            .is_some_and(|n| n.holding);
        if !nodes[0].eligible || holder_claims || self.unit_states[u].handoff.is_some() {
            if !self.overlap_keeps_running(u, me, nodes, e.holder) {
                self.stop_members(members, |_| true);
            }
        } else {
            self.stop_failing(u);
        }
    }

    /// A claim lives while some member claims or starts; each new claim
    /// gets a fresh id, so acknowledgements of an older one do not count.
    fn sync_claim(&mut self, u: usize, members: &[usize]) {
        let claiming = members
            .iter()
            .any(|&m| matches!(self.locals[m].run, Run::Claiming | Run::Starting));
        let state = &mut self.unit_states[u];
        match (claiming, state.claim) {
            (true, None) => {
                self.claim_seq += 1;
                state.claim =
                    Some((u64::from(self.settings.incarnation) << 32) | u64::from(self.claim_seq));
            }
            (false, Some(_)) => state.claim = None,
            _ => return,
        }
        for &m in members {
            self.commit(m);
        }
    }

    /// While nothing of the unit runs here, acknowledge the claim of the
    /// node that should hold it (or, if that node does not claim, the best
    /// claimant): that node may then start as far as we are concerned.
    fn acknowledge(&mut self, u: usize, members: &[usize], e: &Evaluation, quiescent: bool) {
        let (nodes, holder, me) = (&e.nodes, e.holder, e.me);
        let current = self.unit_states[u].ack;
        let may_ack = quiescent || self.handing_over(u) || mutants::on(Mutant::AckWhileHolding);
        let ack = if !may_ack || holder == Some(me) {
            None
        } else {
            let claimed = |n: &&UnitPresence| n.router != me && n.claim.is_some();
            let by_holder = nodes
                .iter()
                .filter(claimed)
                .find(|n| Some(n.router) == holder);
            let best = nodes.iter().filter(claimed).max_by_key(|n| n.rank());
            match by_holder.or(best) {
                Some(n) => n.claim.map(|c| (n.router, c)),
                None => current,
            }
        };
        if ack != current {
            self.unit_states[u].ack = ack;
            for &m in members {
                self.commit(m);
            }
        }
    }

    /// A member may claim unless it failed or something it needs did.
    fn can_run(&self, m: usize) -> bool {
        let l = &self.locals[m];
        l.config == ConfigState::Active
            && l.pending_failure.is_none()
            && self.layout.deps[m]
                .iter()
                .all(|&d| self.locals[d].run != Run::Failed && self.can_run(d))
    }

    fn preempt_delay_over(&mut self, u: usize) -> bool {
        let delay = self.layout.units[u]
            .start_order
            .iter()
            .map(|&m| self.locals[m].cfg.preempt_delay.as_millis() as u64)
            .max()
            .unwrap_or(0);
        if delay == 0 {
            return true;
        }
        let since = *self.unit_states[u].preempt_since.get_or_insert(self.now);
        let at = since.plus_ms(delay);
        if self.now >= at {
            return true;
        }
        self.timers.arm(at, Timer::PreemptDelay(u));
        false
    }

    /// Ends an operator move: done once the target runs the unit and
    /// nothing runs here; abandoned as soon as the target cannot take it
    /// (unreachable, not a candidate, failed) or the timeout passes, so the
    /// unit is placed by the normal rules again.
    fn settle_handoff(&mut self, u: usize) {
        let Some((target, deadline)) = self.unit_states[u].handoff else {
            return;
        };
        let members = &self.layout.units[u].start_order;
        let quiescent = members.iter().all(|&m| self.locals[m].run.is_down());
        let target_ok = self.view.is_reachable(target);
        let presence = self.peer_presence(u, target);
        let done = quiescent && target_ok && presence.started;
        let gave_up = !target_ok || !presence.eligible;
        let abandoned = (gave_up && !mutants::on(Mutant::MoveToAnyTarget)) || self.now >= deadline;
        if done || abandoned {
            self.unit_states[u].handoff = None;
            for m in members.clone() {
                self.commit(m);
            }
        }
    }

    /// Stops members whose check failed, and what depends on them.
    fn stop_failing(&mut self, u: usize) {
        let members = self.layout.units[u].start_order.clone();
        let mut affected = vec![false; self.locals.len()];
        for &m in &members {
            if self.locals[m].pending_failure.is_some() {
                affected[m] = true;
            }
        }
        for &m in &members {
            if self.layout.deps[m]
                .iter()
                .any(|&d| affected[d] || self.locals[d].run == Run::Failed)
            {
                affected[m] = true;
            }
        }
        if affected.iter().any(|&a| a) {
            self.stop_members(&members, |m| affected[m]);
        }
    }

    /// Stops the selected members, dependants first (reverse start order).
    pub(super) fn stop_members(&mut self, members: &[usize], selected: impl Fn(usize) -> bool) {
        let order: Vec<usize> = if mutants::on(Mutant::StopDependenciesFirst) {
            members.to_vec()
        } else {
            members.iter().rev().copied().collect()
        };
        for m in order {
            if !selected(m) {
                continue;
            }
            if self.locals[m].run == Run::Claiming {
                self.locals[m].run = Run::Stopped;
                self.commit(m);
                continue;
            }
            if self.locals[m].run != Run::Started {
                continue;
            }
            let dependants_down = mutants::on(Mutant::StopDependenciesFirst)
                || self.layout.dependants[m]
                    .iter()
                    .all(|&d| self.locals[d].run.is_down());
            if !dependants_down {
                continue;
            }
            if let Some(op) = &self.locals[m].op {
                if op.primitive == Primitive::Check {
                    self.cancel_op(m);
                } else {
                    continue;
                }
            }
            self.locals[m].run = Run::Stopping;
            self.commit(m);
            self.run_primitive(m, Primitive::Stop, None);
        }
    }

    fn begin_start(&mut self, m: usize) {
        if mutants::on(Mutant::NeverStart) {
            return;
        }
        self.set_vips(m, true);
        self.locals[m].run = Run::Starting;
        self.run_primitive(m, Primitive::Start, None);
    }

    pub(super) fn set_vips(&mut self, m: usize, up: bool) {
        let l = &mut self.locals[m];
        let leak = !up && mutants::on(Mutant::LeakVip);
        if l.vips_up == up || l.cfg.kind == ServiceKind::Resource || leak {
            l.vips_up = up;
            return;
        }
        l.vips_up = up;
        let service = l.cfg.name.clone();
        for &addr in &l.cfg.addresses {
            self.actions.push(if up {
                super::Action::AddVip {
                    service: service.clone(),
                    addr,
                }
            } else {
                super::Action::RemoveVip {
                    service: service.clone(),
                    addr,
                }
            });
        }
    }
}
