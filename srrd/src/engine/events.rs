//! One handler per event kind: look up, validate, update the view or the
//! local state, and mark what must be re-evaluated.

use super::io::{Command, Level, OpId, PrimitiveResult};
use super::local::{Intent, Run};
use super::timers::Timer;
use super::view::{Applied, LsaRef, PeerDaemon};
use super::Engine;
use crate::lsa::{self, Payload};
use crate::model::{ConfigState, Failure, RouterId};

/// How long a returning router's records from before its loss stay suspect
/// unless flooded again or flushed. Only liveness hangs on it: FRR flushes a
/// restarted router's stale LSAs during the database exchange (docs/frr.md),
/// well within it; a live peer whose records did not change (it never saw
/// us go) is believed again after it, and the tie-break settles two copies.
const SUSPECT_GRACE_MS: u64 = 3_000;

impl Engine {
    pub(super) fn on_api_connected(&mut self, router_id: RouterId) {
        if self.api_up && self.router_id != Some(router_id) {
            // A new router id is a new identity: start over (docs/architecture.md).
            self.on_api_lost();
        }
        self.api_up = true;
        self.lsdb_synced = false;
        for state in &mut self.unit_states {
            state.seen_holder = None;
        }
        self.router_id = Some(router_id);
        self.claims_from = self.now.plus_ms(self.settings.startup_hold_ms);
        if self.settings.startup_hold_ms > 0 {
            self.timers.arm(self.claims_from, Timer::StartupHold);
        }
        self.publish_daemon();
        self.mark_all();
    }

    pub(super) fn on_api_lost(&mut self) {
        if !self.api_up {
            return;
        }
        self.api_up = false;
        self.lsdb_synced = false;
        self.view.clear();
        for state in &mut self.unit_states {
            state.adoption = super::local::Adoption::None;
            state.restart_grace.clear();
        }
        // ospfd flushes every LSA of a closed session by itself.
        self.ids.release_all(self.now);
        self.daemon_lsa = None;
        self.own_deleted.clear();
        for l in &mut self.locals {
            l.lsa = None;
            l.flooded = None;
            l.echo_deadline = None;
            l.joined.clear();
            if l.floods() {
                l.config = ConfigState::Inactive;
            }
        }
        self.log(
            Level::Warn,
            None,
            "OSPF API session lost: stopping all services".into(),
        );
        self.mark_all();
    }

    pub(super) fn on_lsa_update(&mut self, lsa: LsaRef, payload: &[u8]) {
        if !self.api_up {
            return;
        }
        let key = self.settings.cluster_key.as_ref();
        let decoded = match lsa::receive(payload, lsa.scope, lsa.adv_router, key) {
            Ok(p) => p,
            Err(e) => {
                *self.ignored_lsas.entry(e.reason()).or_default() += 1;
                self.log(Level::Warn, None, format!("ignoring LSA {lsa}: {e}"));
                return;
            }
        };
        if Some(lsa.adv_router) == self.router_id {
            self.on_own_echo(lsa, decoded);
            return;
        }
        match decoded {
            Payload::Daemon(d) => self.view.apply_daemon(PeerDaemon {
                lsa,
                generation: d.generation,
                node_name: d.node_name,
                web: d.web,
            }),
            Payload::Service(s) => {
                let name = s.name.clone();
                if let Applied::Changed = self.view.apply_update(lsa, s, self.now) {
                    if let Some(&i) = self.index.get(&name) {
                        self.locals[i].ever_announced.insert(lsa.adv_router);
                        self.dirty_units.insert(self.layout.unit_of[i]);
                    }
                }
            }
        }
    }

    /// Our own LSA came back: only now may we assume the others know (docs/architecture.md).
    fn on_own_echo(&mut self, lsa: LsaRef, payload: Payload) {
        self.own_deleted.remove(&lsa);
        let generation = match &payload {
            Payload::Service(s) => s.generation,
            Payload::Daemon(d) => d.generation,
        };
        if let Payload::Service(s) = &payload {
            if let Some(&i) = self.index.get(&s.name) {
                if self.locals[i].lsa == Some(lsa) {
                    if self.locals[i].config == ConfigState::Injected {
                        self.locals[i].config = ConfigState::Active;
                        self.locals[i].echo_deadline = None;
                        self.commit(i);
                    }
                    return;
                }
            }
        }
        if Some(lsa) == self.daemon_lsa {
            return;
        }
        // An LSA of an earlier run of this node (ospfd kept it): flush it,
        // as a router flushes unwanted self-originated LSAs (RFC 2328 13.4).
        if (generation >> 32) < u64::from(self.settings.incarnation) {
            self.actions.push(super::Action::Flush { lsa });
        }
    }

    /// Every record ospfd had is in: a unit some peer holds needs no
    /// startup hold (docs/architecture.md, the start barrier).
    pub(super) fn on_lsdb_synced(&mut self) {
        if self.api_up {
            self.lsdb_synced = true;
            self.dirty_units.extend(0..self.layout.units.len());
        }
    }

    pub(super) fn on_lsa_delete(&mut self, lsa: LsaRef) {
        if !self.api_up {
            return;
        }
        if Some(lsa.adv_router) == self.router_id {
            // ospfd's 30-minute refresh shows as DELETE+UPDATE of the same
            // id on the originator too: only a delete not followed by the
            // update within the grace means our LSA is really gone.
            let ours =
                self.locals.iter().any(|l| l.lsa == Some(lsa)) || Some(lsa) == self.daemon_lsa;
            if ours {
                self.own_deleted.insert(lsa);
                let at = self.now.plus_ms(self.settings.delete_grace_ms);
                self.timers.arm(at, Timer::OwnDeleteGrace(lsa));
            }
            return;
        }
        if self.view.daemon_deleted(lsa) {
            return;
        }
        // ospfd reports an update as DELETE(old)+UPDATE(new) and a flush
        // twice: wait a moment before believing a delete.
        if let Some(service) = self.view.mark_deleted(lsa, self.now) {
            let at = self.now.plus_ms(self.settings.delete_grace_ms);
            self.timers.arm(
                at,
                Timer::DeleteGrace {
                    peer: lsa.adv_router,
                    service,
                },
            );
        }
    }

    pub(super) fn on_originate_failed(&mut self, lsa: LsaRef, reason: &str) {
        if let Some(i) = self.locals.iter().position(|l| l.lsa == Some(lsa)) {
            self.ids.release(self.now, lsa.opaque_id);
            let l = &mut self.locals[i];
            l.lsa = None;
            l.flooded = None;
            l.echo_deadline = None;
            l.config = ConfigState::Failed;
            l.failure = Some(Failure::new(
                Failure::INJECTION_FAILED,
                format!("ospfd refused the LSA: {reason}"),
            ));
            self.commit(i);
        }
    }

    pub(super) fn on_reachability(&mut self, added: &[RouterId], removed: &[RouterId]) {
        if !self.api_up {
            return;
        }
        let returning: Vec<RouterId> = added
            .iter()
            .copied()
            .filter(|r| !self.view.is_reachable(*r))
            .collect();
        let at = self.now.plus_ms(SUSPECT_GRACE_MS);
        for r in self.view.set_reachability(added, removed, self.now) {
            self.timers.arm(at, Timer::SuspectGrace(r));
        }
        self.refresh_for(&returning);
        self.dirty_units.extend(0..self.layout.units.len());
    }

    /// Routers that came back hold our records from before they left, which
    /// they now take for suspect: flood what runs here again, so a healed
    /// partition resolves two copies by the tie-break at once.
    fn refresh_for(&mut self, returning: &[RouterId]) {
        if returning.is_empty() {
            return;
        }
        for m in 0..self.locals.len() {
            let l = &self.locals[m];
            let shared = returning
                .iter()
                .any(|r| self.view.record(&l.cfg.name, *r).is_some());
            if shared && !l.run.is_down() && l.lsa.is_some() {
                self.publish(m);
            }
        }
    }

    pub(super) fn on_primitive_done(&mut self, op: OpId, result: PrimitiveResult) {
        let Some(i) = self.ops.remove(&op) else {
            return; // timed out or cancelled earlier
        };
        if self.locals[i].op.as_ref().map(|o| o.id) != Some(op) {
            return;
        }
        if result == PrimitiveResult::Recall {
            let deadline = self.locals[i].op.as_ref().map(|o| o.deadline);
            let at = self.now.plus_ms(self.settings.recall_interval_ms);
            if deadline.is_some_and(|d| at < d) {
                self.ops.insert(op, i);
                self.timers.arm(at, Timer::Recall(i, op));
                return;
            }
            let op = self.locals[i].op.take();
            let primitive = op.map(|o| o.primitive);
            if let Some(p) = primitive {
                self.finish(i, p, PrimitiveResult::Failed(Failure::PRIMITIVE_TIMEOUT));
            }
            return;
        }
        if let Some(o) = self.locals[i].op.take() {
            self.finish(i, o.primitive, result);
        }
    }

    pub(super) fn fire_due_timers(&mut self) {
        while let Some(timer) = self.timers.pop_due(self.now) {
            match timer {
                Timer::DeleteGrace { peer, service } => self.on_delete_grace(peer, &service),
                Timer::EchoTimeout(i) => self.on_echo_timeout(i),
                Timer::PrimitiveDeadline(i, op) => self.on_primitive_deadline(i, op),
                Timer::Recall(i, op) => self.on_recall(i, op),
                Timer::Check(i) => {
                    if self.locals[i].check_due.is_some_and(|d| d <= self.now) {
                        self.locals[i].check_due = None;
                        self.run_check(i);
                    }
                }
                Timer::PreemptDelay(u)
                | Timer::HandoffTimeout(u)
                | Timer::Overlap(u)
                | Timer::RestartGrace(u) => {
                    self.dirty_units.insert(u);
                }
                Timer::StartupHold => self.dirty_units.extend(0..self.layout.units.len()),
                Timer::OwnDeleteGrace(lsa) => self.on_own_delete_grace(lsa),
                Timer::SuspectGrace(r) => {
                    if self.view.is_reachable(r) && self.view.trust(r) {
                        self.dirty_units.extend(0..self.layout.units.len());
                    }
                }
            }
        }
    }

    fn on_delete_grace(&mut self, peer: RouterId, service: &str) {
        let held = self.view.record(service, peer).is_some_and(|r| {
            r.deleted_at.is_some() && super::view::run_state_holds(r.state.run_state)
        });
        if self.view.expire_deleted(service, peer) {
            if let Some(&i) = self.index.get(service) {
                let u = self.layout.unit_of[i];
                self.note_vanished_holder(u, peer, held);
                self.dirty_units.insert(u);
            }
        }
    }

    fn on_echo_timeout(&mut self, i: usize) {
        let l = &mut self.locals[i];
        if l.config == ConfigState::Injected && l.echo_deadline.is_some_and(|d| d <= self.now) {
            l.config = ConfigState::Failed;
            l.echo_deadline = None;
            l.failure = Some(Failure::new(
                Failure::ECHO_TIMEOUT,
                "own LSA never came back from ospfd",
            ));
            self.flush_own(i);
            self.commit(i);
        }
    }

    fn on_primitive_deadline(&mut self, i: usize, op: OpId) {
        if self.locals[i].op.as_ref().map(|o| o.id) != Some(op) {
            return;
        }
        let o = self.locals[i].op.take().expect("checked above");
        self.ops.remove(&op);
        let service = self.locals[i].cfg.name.clone();
        self.actions.push(super::Action::CancelPrimitive {
            op,
            service: service.clone(),
        });
        self.log(
            Level::Warn,
            Some(&service),
            format!("{} timed out", o.primitive),
        );
        self.finish(
            i,
            o.primitive,
            PrimitiveResult::Failed(Failure::PRIMITIVE_TIMEOUT),
        );
    }

    /// Asks a primitive that answered "recall" again, under a new op id.
    fn on_recall(&mut self, i: usize, op: OpId) {
        let Some(o) = self.locals[i].op.clone().filter(|o| o.id == op) else {
            return;
        };
        self.ops.remove(&op);
        let new = self.new_op_id();
        self.ops.insert(new, i);
        if let Some(cur) = self.locals[i].op.as_mut() {
            cur.id = new;
        }
        self.timers
            .arm(o.deadline, Timer::PrimitiveDeadline(i, new));
        // A recall comes after the drain: none again.
        self.emit_run(i, o.primitive, o.peer, new, o.deadline, 0);
    }

    fn on_own_delete_grace(&mut self, lsa: LsaRef) {
        if !self.own_deleted.remove(&lsa) {
            return;
        }
        // Gone for good: flood the state again under a new id.
        if let Some(i) = self.locals.iter().position(|l| l.lsa == Some(lsa)) {
            self.publish(i);
        } else if Some(lsa) == self.daemon_lsa {
            self.publish_daemon();
        }
    }

    pub(super) fn on_command(&mut self, command: Command) {
        let service = match command.service() {
            None => None,
            Some(name) => match self.index.get(name) {
                Some(&i) => Some(i),
                None => {
                    let reason = format!("no service named {name:?} on this node");
                    return self.reject(command, reason);
                }
            },
        };
        match (command.clone(), service) {
            (Command::Shutdown, _) => {
                self.shutting_down = true;
                self.mark_all();
            }
            (Command::Activate(_), Some(i)) => {
                let l = &mut self.locals[i];
                if l.intent == Intent::Disabled {
                    return self.reject(command, "service is disabled; enable it first".into());
                }
                l.intent = Intent::Active;
                l.deactivate_failed = false;
                if l.config == ConfigState::Failed {
                    l.config = ConfigState::Inactive;
                    l.failure = None;
                }
                if l.run == Run::Failed {
                    l.run = Run::Stopped;
                    l.failure = None;
                }
                l.pending_failure = None;
                self.commit(i);
            }
            (Command::Deactivate(_), Some(i)) => {
                self.locals[i].deactivate_failed = false;
                if self.locals[i].intent == Intent::Active {
                    self.locals[i].intent = Intent::Inactive;
                }
                self.commit(i);
            }
            (Command::Enable(_), Some(i)) => {
                if self.locals[i].intent == Intent::Disabled {
                    self.locals[i].intent = Intent::Inactive;
                }
                self.commit(i);
            }
            (Command::Disable(_), Some(i)) => {
                self.locals[i].deactivate_failed = false;
                self.locals[i].intent = Intent::Disabled;
                self.commit(i);
            }
            (Command::Start(_), Some(i)) | (Command::Stop(_), Some(i)) => {
                let standby = matches!(command, Command::Stop(_));
                let u = self.layout.unit_of[i];
                for m in self.layout.units[u].start_order.clone() {
                    self.locals[m].standby = standby;
                    self.commit(m);
                }
            }
            (Command::MoveTo(_, target), Some(i)) => {
                let u = self.layout.unit_of[i];
                let members = self.layout.units[u].start_order.clone();
                if !members.iter().any(|&m| self.locals[m].run == Run::Started) {
                    return self.reject(command, "not running on this node".into());
                }
                if Some(target) == self.router_id {
                    return self.reject(command, "already running here".into());
                }
                if !self.view.is_reachable(target) {
                    return self.reject(command, format!("node {target} is not reachable"));
                }
                let any = super::mutants::on(super::mutants::Mutant::MoveToAnyTarget);
                if !self.peer_presence(u, target).eligible && !any {
                    let reason = format!(
                        "node {target} cannot take it: it is not a candidate (not active there, \
                         stopped by the operator, failed or disabled)"
                    );
                    return self.reject(command, reason);
                }
                let deadline = self.now.plus_ms(self.settings.handoff_timeout_ms);
                self.unit_states[u].handoff = Some((target, deadline));
                self.timers.arm(deadline, Timer::HandoffTimeout(u));
                for m in members {
                    self.commit(m);
                }
            }
            _ => {}
        }
    }

    fn reject(&mut self, command: Command, reason: String) {
        self.actions
            .push(super::Action::CommandRejected { command, reason });
    }
}
