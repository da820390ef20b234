//! Primitive runs: start/stop/check and the hooks (join, leave, failed),
//! their deadlines, and the step each result completes.

use super::io::{Action, Level, OpId, PrimitiveResult, PrimitiveRun};
use super::local::{Intent, Op, Run};
use super::timers::Timer;
use super::Engine;
use crate::model::{ConfigState, Failure, Primitive, RouterId};

impl Engine {
    /// join/leave as peers with the service active come and go (docs/primitives.md).
    pub(super) fn update_membership(&mut self, m: usize) {
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

    pub(super) fn run_next_hook(&mut self, m: usize) {
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

    pub(super) fn arm_check(&mut self, m: usize) {
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

    pub(super) fn run_primitive(&mut self, m: usize, primitive: Primitive, peer: Option<RouterId>) {
        let id = self.new_op_id();
        let timeout = self.locals[m]
            .cfg
            .timeouts
            .for_primitive(primitive)
            .as_millis() as u64;
        let drain = match primitive {
            Primitive::Stop => self.handover_drain_ms(m),
            _ => 0,
        };
        let deadline = self.now.plus_ms(timeout + drain);
        self.locals[m].op = Some(Op {
            id,
            primitive,
            peer,
            deadline,
        });
        self.ops.insert(id, m);
        self.timers.arm(deadline, Timer::PrimitiveDeadline(m, id));
        self.emit_run(m, primitive, peer, id, deadline, drain);
    }

    pub(super) fn emit_run(
        &mut self,
        m: usize,
        primitive: Primitive,
        peer: Option<RouterId>,
        op: OpId,
        deadline: crate::model::Time,
        drain_ms: u64,
    ) {
        let l = &self.locals[m];
        self.actions.push(Action::RunPrimitive(PrimitiveRun {
            op,
            service: l.cfg.name.clone(),
            primitive,
            peer,
            timeout_ms: deadline.since(self.now).saturating_sub(drain_ms),
            peers: l.joined.iter().copied().collect(),
            drain_ms,
        }));
    }

    pub(super) fn cancel_op(&mut self, m: usize) {
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
}
