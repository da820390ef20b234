//! Re-evaluation: activation steps per service, placement and start/stop
//! steps per unit, primitives, and flooding our own state.

use super::io::{Action, Level, OpId, PrimitiveResult, PrimitiveRun};
use super::local::{Flooded, Intent, Op, Run};
use super::placement;
use super::timers::Timer;
use super::view::{LsaRef, UnitPresence};
use super::Engine;
use crate::lsa::{self, DaemonLsa, Payload, ServiceLsa};
use crate::model::{ConfigState, Failure, Primitive, RouterId, RunState, ServiceKind};

/// Rounds of re-evaluation per event; each round settles what the previous
/// one changed. Real chains are 2–3 long.
const MAX_SETTLE_ROUNDS: usize = 16;

impl Engine {
    pub(super) fn mark_all(&mut self) {
        self.dirty_activation.extend(0..self.locals.len());
        self.dirty_units.extend(0..self.layout.units.len());
    }

    pub(super) fn settle(&mut self) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            if self.dirty_activation.is_empty() && self.dirty_units.is_empty() {
                break;
            }
            for i in std::mem::take(&mut self.dirty_activation) {
                self.drive_activation(i);
            }
            for u in std::mem::take(&mut self.dirty_units) {
                self.drive_unit(u);
            }
        }
        self.check_shutdown_complete();
    }

    fn effective_intent(&self, i: usize) -> Intent {
        if self.shutting_down {
            Intent::Inactive
        } else {
            self.locals[i].intent
        }
    }

    /// inactive → (activate) → injected → (own echo) → active, and back.
    fn drive_activation(&mut self, i: usize) {
        let intent = self.effective_intent(i);
        let l = &self.locals[i];
        if l.op.is_some() {
            return;
        }
        match (intent, l.config) {
            (
                Intent::Active,
                ConfigState::Inactive | ConfigState::Deactivated | ConfigState::Disabled,
            ) if self.api_up && self.router_id.is_some() && l.run.is_down() => {
                self.run_primitive(i, Primitive::Activate, None);
            }
            (
                Intent::Inactive | Intent::Disabled,
                ConfigState::Injected | ConfigState::Active | ConfigState::Failed,
            ) => {
                if l.config == ConfigState::Failed && l.deactivate_failed {
                    // Already tried: an operator command retries it.
                } else if l.run.is_down() {
                    self.run_primitive(i, Primitive::Deactivate, None);
                } else {
                    self.dirty_units.insert(self.layout.unit_of[i]);
                }
            }
            (Intent::Disabled, ConfigState::Inactive | ConfigState::Deactivated) => {
                self.locals[i].config = ConfigState::Disabled;
                self.commit(i);
            }
            (Intent::Inactive, ConfigState::Disabled) => {
                self.locals[i].config = ConfigState::Inactive;
                self.commit(i);
            }
            _ => {}
        }
    }

    /// Whether this node may hold the service's unit now.
    pub fn is_candidate(&self, service: &str) -> bool {
        match (self.index.get(service), self.router_id) {
            (Some(&i), Some(me)) => self.local_presence(self.layout.unit_of[i], me).eligible,
            _ => false,
        }
    }

    /// This node's presence for unit `u`, from local state.
    fn local_presence(&self, u: usize, me: RouterId) -> UnitPresence {
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
        }
    }

    /// A reachable peer's presence for unit `u`, from its records.
    fn peer_presence(&self, u: usize, peer: RouterId) -> UnitPresence {
        let mut p = UnitPresence {
            router: peer,
            preference: u8::MAX,
            eligible: true,
            holding: false,
            started: false,
            quiescent: true,
            handoff_to: None,
            started_at_ms: u64::MAX,
        };
        for &m in &self.layout.units[u].start_order {
            match self.view.live_record(&self.locals[m].cfg.name, peer) {
                None => {
                    p.eligible = false;
                    p.preference = 0;
                }
                Some(rec) => {
                    let s = &rec.state;
                    p.preference = p.preference.min(s.preference);
                    // A record waiting out its delete grace still blocks
                    // starts elsewhere, but no longer competes for the unit.
                    if s.config_state != ConfigState::Active
                        || rec.deleted_at.is_some()
                        || s.standby
                        || (self.layout.critical[m] && s.run_state == RunState::Failed)
                    {
                        p.eligible = false;
                    }
                    let holds = super::view::run_state_holds(s.run_state);
                    p.holding |= holds;
                    p.quiescent &= !holds;
                    p.started |= s.run_state == RunState::Started;
                    p.handoff_to = p.handoff_to.or(s.handoff_to);
                    if s.run_state == RunState::Started && s.started_at_ms != 0 {
                        p.started_at_ms = p.started_at_ms.min(s.started_at_ms);
                    }
                }
            }
        }
        p
    }

    /// Reachable peers that have any member of unit `u`.
    fn unit_peers(&self, u: usize) -> Vec<RouterId> {
        let mut peers: Vec<RouterId> = Vec::new();
        for &m in &self.layout.units[u].start_order {
            for (r, _) in self.view.records(&self.locals[m].cfg.name) {
                if self.view.is_reachable(*r) && !peers.contains(r) {
                    peers.push(*r);
                }
            }
        }
        peers
    }

    /// Standby as peers must see it: stopped by the operator, on its way
    /// out (deactivation, shutdown), or a quorum service without its
    /// majority here. Peers then place the unit elsewhere at once and claim
    /// it while this node is still stopping, so everyone places it alike
    /// and a graceful move costs one stop, not a stop plus a claim round.
    fn floods_standby(&self, m: usize) -> bool {
        let l = &self.locals[m];
        l.standby
            || self.effective_intent(m) != Intent::Active
            || (l.cfg.quorum && !self.has_quorum(m))
    }

    fn has_quorum(&self, i: usize) -> bool {
        let l = &self.locals[i];
        let me = self.router_id;
        let known = l.ever_announced.len()
            + usize::from(me.is_some_and(|m| !l.ever_announced.contains(&m)));
        let up = 1 + l
            .ever_announced
            .iter()
            .filter(|r| Some(**r) != me && self.view.is_reachable(**r))
            .count();
        up * 2 > known
    }

    fn drive_unit(&mut self, u: usize) {
        let Some(me) = self.router_id else { return };
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

        if holder == Some(me) && local.eligible && self.unit_states[u].handoff.is_none() {
            let others_hold = nodes[1..].iter().any(|n| n.holding);
            if others_hold && !self.preempt_delay_over(u) {
                return;
            }
            for &m in &members {
                if self.locals[m].run == Run::Stopped
                    && self.can_run(m)
                    && self.now >= self.claims_from
                {
                    self.locals[m].run = Run::Claiming;
                    self.commit(m);
                }
            }
            if nodes[1..].iter().all(|n| n.quiescent) && self.claim_held(u) {
                for &m in &members {
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
        } else {
            self.unit_states[u].preempt_since = None;
            self.unit_states[u].claim_since = None;
            for &m in &members {
                if self.locals[m].run == Run::Claiming {
                    self.locals[m].run = Run::Stopped;
                    self.commit(m);
                }
            }
            let holder_claims = holder
                .filter(|&h| h != me)
                .and_then(|h| nodes.iter().find(|n| n.router == h))
                .is_some_and(|n| n.holding);
            if !local.eligible || holder_claims || self.unit_states[u].handoff.is_some() {
                self.stop_members(&members, |_| true);
            } else {
                self.stop_failing(u);
            }
        }
        for &m in &members {
            self.run_next_hook(m);
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

    /// Our claim has been out long enough for a competing one to show.
    fn claim_held(&mut self, u: usize) -> bool {
        let claiming = self.layout.units[u]
            .start_order
            .iter()
            .any(|&m| self.locals[m].run == Run::Claiming);
        if !claiming {
            self.unit_states[u].claim_since = None;
            return true;
        }
        let since = *self.unit_states[u].claim_since.get_or_insert(self.now);
        let at = since.plus_ms(self.settings.claim_hold_ms);
        if self.now >= at {
            return true;
        }
        self.timers.arm(at, Timer::ClaimHold(u));
        false
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

    fn settle_handoff(&mut self, u: usize) {
        let Some((target, deadline)) = self.unit_states[u].handoff else {
            return;
        };
        let members = &self.layout.units[u].start_order;
        let quiescent = members.iter().all(|&m| self.locals[m].run.is_down());
        let target_started =
            self.peer_presence(u, target).started && self.view.is_reachable(target);
        if (quiescent && target_started) || self.now >= deadline {
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
    fn stop_members(&mut self, members: &[usize], selected: impl Fn(usize) -> bool) {
        for &m in members.iter().rev() {
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
            let dependants_down = self.layout.dependants[m]
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
        self.set_vips(m, true);
        self.locals[m].run = Run::Starting;
        self.run_primitive(m, Primitive::Start, None);
    }

    fn set_vips(&mut self, m: usize, up: bool) {
        let l = &mut self.locals[m];
        if l.vips_up == up || l.cfg.kind == ServiceKind::Resource {
            l.vips_up = up;
            return;
        }
        l.vips_up = up;
        let service = l.cfg.name.clone();
        for &addr in &l.cfg.addresses {
            self.actions.push(if up {
                Action::AddVip {
                    service: service.clone(),
                    addr,
                }
            } else {
                Action::RemoveVip {
                    service: service.clone(),
                    addr,
                }
            });
        }
    }

    /// join/leave as peers with the service active come and go (thesis 6.6).
    fn update_membership(&mut self, m: usize) {
        let active = self.locals[m].config == ConfigState::Active;
        let name = &self.locals[m].cfg.name;
        let current: std::collections::BTreeSet<RouterId> = if active {
            self.view
                .records(name)
                .filter(|(r, rec)| {
                    self.view.is_reachable(**r) && rec.state.config_state == ConfigState::Active
                })
                .map(|(r, _)| *r)
                .collect()
        } else {
            Default::default()
        };
        let l = &mut self.locals[m];
        if current == l.joined {
            return;
        }
        if active {
            for p in current.difference(&l.joined) {
                l.hooks.push_back((Primitive::Join, Some(*p)));
            }
            for p in l.joined.difference(&current) {
                l.hooks.push_back((Primitive::Leave, Some(*p)));
            }
        }
        l.joined = current;
    }

    fn run_next_hook(&mut self, m: usize) {
        if self.locals[m].op.is_some() {
            return;
        }
        if let Some((p, peer)) = self.locals[m].hooks.pop_front() {
            self.run_primitive(m, p, peer);
        }
    }

    pub(super) fn run_check(&mut self, m: usize) {
        if self.locals[m].run != Run::Started {
            return;
        }
        if self.locals[m].op.is_some() {
            // Busy with a hook: check again shortly.
            let at = self.now.plus_ms(self.settings.recall_interval_ms);
            self.locals[m].check_due = Some(at);
            self.timers.arm(at, Timer::Check(m));
            return;
        }
        self.run_primitive(m, Primitive::Check, None);
    }

    fn arm_check(&mut self, m: usize) {
        if let Some(interval) = self.locals[m].cfg.check_interval {
            let at = self.now.plus_ms(interval.as_millis() as u64);
            self.locals[m].check_due = Some(at);
            self.timers.arm(at, Timer::Check(m));
        }
    }

    pub(super) fn new_op_id(&mut self) -> OpId {
        let id = OpId(self.next_op);
        self.next_op += 1;
        id
    }

    fn run_primitive(&mut self, m: usize, primitive: Primitive, peer: Option<RouterId>) {
        let id = self.new_op_id();
        let timeout = self.locals[m]
            .cfg
            .timeouts
            .for_primitive(primitive)
            .as_millis() as u64;
        let deadline = self.now.plus_ms(timeout);
        self.locals[m].op = Some(Op {
            id,
            primitive,
            peer,
            deadline,
        });
        self.ops.insert(id, m);
        self.timers.arm(deadline, Timer::PrimitiveDeadline(m, id));
        self.emit_run(m, primitive, peer, id, deadline);
    }

    pub(super) fn emit_run(
        &mut self,
        m: usize,
        primitive: Primitive,
        peer: Option<RouterId>,
        op: OpId,
        deadline: crate::model::Time,
    ) {
        let l = &self.locals[m];
        self.actions.push(Action::RunPrimitive(PrimitiveRun {
            op,
            service: l.cfg.name.clone(),
            primitive,
            peer,
            timeout_ms: deadline.since(self.now),
            peers: l.joined.iter().copied().collect(),
        }));
    }

    fn cancel_op(&mut self, m: usize) {
        if let Some(op) = self.locals[m].op.take() {
            self.ops.remove(&op.id);
            self.actions.push(Action::CancelPrimitive {
                op: op.id,
                service: self.locals[m].cfg.name.clone(),
            });
        }
    }

    /// A primitive ended (or timed out): take the step it completes.
    pub(super) fn finish(&mut self, m: usize, primitive: Primitive, result: PrimitiveResult) {
        let failure = match &result {
            PrimitiveResult::Failed(code) if *code == Failure::PRIMITIVE_TIMEOUT => {
                Some(Failure::new(*code, format!("{primitive} timed out")))
            }
            PrimitiveResult::Failed(code) => {
                Some(Failure::new(*code, format!("{primitive} failed")))
            }
            _ => None,
        };
        let name = self.locals[m].cfg.name.clone();
        match primitive {
            Primitive::Activate => {
                let l = &mut self.locals[m];
                match failure {
                    None if self.api_up => {
                        l.config = ConfigState::Injected;
                        let at = self.now.plus_ms(self.settings.echo_timeout_ms);
                        l.echo_deadline = Some(at);
                        self.timers.arm(at, Timer::EchoTimeout(m));
                    }
                    None => {}
                    Some(f) => {
                        l.config = ConfigState::Failed;
                        l.failure = Some(f);
                    }
                }
            }
            Primitive::Deactivate => {
                self.flush_own(m);
                let disabled = self.effective_intent(m) == Intent::Disabled;
                let l = &mut self.locals[m];
                l.joined.clear();
                l.hooks.clear();
                match failure {
                    None => {
                        l.config = if disabled {
                            ConfigState::Disabled
                        } else {
                            ConfigState::Deactivated
                        };
                    }
                    Some(f) => {
                        l.config = ConfigState::Failed;
                        l.failure = Some(f);
                        l.deactivate_failed = true;
                    }
                }
            }
            Primitive::Start => match failure {
                None => {
                    self.locals[m].run = Run::Started;
                    self.locals[m].started_at_ms = self.now.0.max(1);
                    self.arm_check(m);
                }
                Some(f) => {
                    self.set_vips(m, false);
                    self.become_failed(m, f);
                }
            },
            Primitive::Stop => {
                self.set_vips(m, false);
                match failure.or_else(|| self.locals[m].pending_failure.take()) {
                    None => self.locals[m].run = Run::Stopped,
                    Some(f) => self.become_failed(m, f),
                }
            }
            Primitive::Check => match failure {
                None => {
                    self.locals[m].check_stamp_ms = self.now.0;
                    self.arm_check(m);
                }
                Some(f) => {
                    self.log(Level::Warn, Some(&name), format!("check failed: {f}"));
                    self.locals[m].pending_failure = Some(f);
                }
            },
            _ => {
                if let Some(f) = failure {
                    self.log(Level::Warn, Some(&name), format!("hook {primitive}: {f}"));
                }
            }
        }
        self.commit(m);
    }

    fn become_failed(&mut self, m: usize, f: Failure) {
        let l = &mut self.locals[m];
        l.run = Run::Failed;
        l.pending_failure = None;
        l.check_due = None;
        l.failure = Some(f);
        l.hooks.push_back((Primitive::Failed, None));
    }

    /// Floods the service's state if it changed, and re-evaluates around it.
    pub(super) fn commit(&mut self, m: usize) {
        self.dirty_activation.insert(m);
        self.dirty_units.insert(self.layout.unit_of[m]);
        let u = self.layout.unit_of[m];
        let l = &self.locals[m];
        let now = Flooded {
            config: l.config,
            run: l.run.flooded(),
            standby: self.floods_standby(m),
            failure: l.failure.clone(),
            handoff_to: self.unit_states[u].handoff.map(|(t, _)| t),
            check_stamp_ms: l.check_stamp_ms,
        };
        let Some(before) = l.flooded.clone() else {
            self.report_state(m, &now);
            self.locals[m].flooded = Some(now);
            self.publish(m);
            return;
        };
        if before == now {
            return;
        }
        if before.config != now.config || before.run != now.run || before.failure != now.failure {
            self.report_state(m, &now);
        }
        // injected → active changes nothing a peer sees: both flood `active`.
        let floods_same = |f: &Flooded| Flooded {
            config: if matches!(f.config, ConfigState::Injected) {
                ConfigState::Active
            } else {
                f.config
            },
            ..f.clone()
        };
        let republish = floods_same(&before) != floods_same(&now);
        self.locals[m].flooded = Some(now);
        if republish {
            self.publish(m);
        }
    }

    fn report_state(&mut self, m: usize, f: &Flooded) {
        self.actions.push(Action::StateChanged {
            service: self.locals[m].cfg.name.clone(),
            config: f.config,
            run: f.run,
            failure: f.failure.clone(),
        });
    }

    /// Originates the service LSA under a fresh id, then flushes the old one.
    pub(super) fn publish(&mut self, m: usize) {
        let Some(me) = self.router_id else { return };
        if !self.api_up {
            return;
        }
        if !self.locals[m].floods() {
            self.flush_own(m);
            return;
        }
        let u = self.layout.unit_of[m];
        let standby = self.floods_standby(m);
        let l = &mut self.locals[m];
        l.generation_seq += 1;
        let state = ServiceLsa {
            name: l.cfg.name.clone(),
            generation: (u64::from(self.settings.incarnation) << 32) | u64::from(l.generation_seq),
            kind: l.cfg.kind,
            config_state: ConfigState::Active,
            run_state: l.run.flooded(),
            preference: l.cfg.preference,
            critical: self.layout.critical[m],
            standby,
            group: l.cfg.group.clone(),
            depends: l.cfg.depends.clone(),
            failure: l.failure.clone(),
            check_interval_ms: l
                .cfg
                .check_interval
                .map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32),
            check_stamp_ms: l.check_stamp_ms,
            addresses: l.cfg.addresses.clone(),
            handoff_to: self.unit_states[u].handoff.map(|(t, _)| t),
            started_at_ms: if l.run == Run::Started {
                l.started_at_ms
            } else {
                0
            },
            originator: Some(me),
            claim: None,
            ack: None,
        };
        let scope = l.cfg.scope;
        match lsa::encode(
            &Payload::Service(state),
            scope,
            self.settings.cluster_key.as_ref(),
        ) {
            Ok(payload) => {
                let lsa = LsaRef {
                    adv_router: me,
                    scope,
                    opaque_id: self.ids.allocate(self.now),
                };
                let old = self.locals[m].lsa.replace(lsa);
                self.actions.push(Action::Originate { lsa, payload });
                if let Some(old) = old {
                    self.ids.release(self.now, old.opaque_id);
                    self.actions.push(Action::Flush { lsa: old });
                }
            }
            Err(e) => {
                let name = self.locals[m].cfg.name.clone();
                self.log(Level::Warn, Some(&name), format!("cannot flood state: {e}"));
                let l = &mut self.locals[m];
                l.config = ConfigState::Failed;
                l.failure = Some(Failure::new(Failure::LSA_TOO_LARGE, e.to_string()));
                self.flush_own(m);
            }
        }
    }

    pub(super) fn flush_own(&mut self, m: usize) {
        if let Some(old) = self.locals[m].lsa.take() {
            self.ids.release(self.now, old.opaque_id);
            if self.api_up {
                self.actions.push(Action::Flush { lsa: old });
            }
        }
    }

    pub(super) fn publish_daemon(&mut self) {
        let Some(me) = self.router_id else { return };
        self.daemon_generation += 1;
        let d = DaemonLsa {
            generation: (u64::from(self.settings.incarnation) << 32)
                | u64::from(self.daemon_generation),
            node_name: self.settings.node_name.clone(),
            web: self.settings.web,
            software: concat!("srrd ", env!("CARGO_PKG_VERSION")).to_string(),
            originator: Some(me),
        };
        let scope = crate::model::Scope::Area;
        match lsa::encode(
            &Payload::Daemon(d),
            scope,
            self.settings.cluster_key.as_ref(),
        ) {
            Ok(payload) => {
                let lsa = LsaRef {
                    adv_router: me,
                    scope,
                    opaque_id: self.ids.allocate(self.now),
                };
                let old = self.daemon_lsa.replace(lsa);
                self.actions.push(Action::Originate { lsa, payload });
                if let Some(old) = old {
                    self.ids.release(self.now, old.opaque_id);
                    self.actions.push(Action::Flush { lsa: old });
                }
            }
            Err(e) => self.log(Level::Warn, None, format!("cannot flood daemon LSA: {e}")),
        }
    }

    fn check_shutdown_complete(&mut self) {
        if !self.shutting_down || self.shutdown_reported {
            return;
        }
        let done = self
            .locals
            .iter()
            .all(|l| l.op.is_none() && l.run.is_down() && !l.floods());
        if done {
            if let Some(lsa) = self.daemon_lsa.take() {
                if self.api_up {
                    self.actions.push(Action::Flush { lsa });
                }
            }
            self.shutdown_reported = true;
            self.actions.push(Action::ShutdownComplete);
        }
    }
}
