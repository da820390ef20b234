//! Flooding our own state: what changed during an event is flooded once,
//! at the end of it, each state under a fresh opaque id.

use super::io::{Action, Level};
use super::local::{Flooded, Run};
use super::view::LsaRef;
use super::Engine;
use crate::lsa::{self, DaemonLsa, Payload, ServiceLsa};
use crate::model::{ConfigState, Failure};

impl Engine {
    /// Marks a service whose state changed: re-evaluate around it and flood
    /// it when the event is settled.
    pub(super) fn commit(&mut self, m: usize) {
        self.dirty_activation.insert(m);
        self.dirty_units.insert(self.layout.unit_of[m]);
        self.dirty_flood.insert(m);
    }

    /// Floods every marked service whose flooded state differs from what
    /// peers have, and reports state changes.
    pub(super) fn flood_changes(&mut self) {
        for m in std::mem::take(&mut self.dirty_flood) {
            let l = &mut self.locals[m];
            if l.config != ConfigState::Failed && l.run != Run::Failed {
                // A failure describes a failed state only.
                l.failure = None;
            }
            let now = self.flooded_state(m);
            let before = self.locals[m].flooded.replace(now.clone());
            let reported = |f: &Flooded| (f.config, f.run, f.failure.clone());
            if before.as_ref().map(reported) != Some(reported(&now)) {
                self.actions.push(Action::StateChanged {
                    service: self.locals[m].cfg.name.clone(),
                    config: now.config,
                    run: now.run,
                    failure: now.failure.clone(),
                });
            }
            // injected → active changes nothing a peer sees: both flood `active`.
            let seen = |f: &Flooded| Flooded {
                config: if f.config == ConfigState::Injected {
                    ConfigState::Active
                } else {
                    f.config
                },
                ..f.clone()
            };
            if before.as_ref().map(seen) != Some(seen(&now)) {
                self.publish(m);
            }
        }
    }

    /// What peers should see of service `m` now. The check stamp is
    /// refreshed at most every `check_refresh_ms`: a passing check floods
    /// nothing new until then; a failing one changes the run state at once.
    fn flooded_state(&self, m: usize) -> Flooded {
        let l = &self.locals[m];
        let u = self.layout.unit_of[m];
        let check_stamp_ms = match &l.flooded {
            Some(f)
                if f.check_stamp_ms != 0
                    && l.check_stamp_ms.saturating_sub(f.check_stamp_ms)
                        < self.settings.check_refresh_ms =>
            {
                f.check_stamp_ms
            }
            _ => l.check_stamp_ms,
        };
        let claiming = matches!(l.run, Run::Claiming | Run::Starting);
        Flooded {
            config: l.config,
            run: l.run.flooded(),
            standby: self.floods_standby(m),
            handover: self.handing_over(u) && l.run == Run::Started,
            failure: l.failure.clone(),
            handoff_to: self.unit_states[u].handoff.map(|(t, _)| t),
            check_stamp_ms,
            claim: self.unit_states[u].claim.filter(|_| claiming),
            ack: self.unit_states[u].ack,
            started_at_ms: if l.run == Run::Started {
                l.started_at_ms
            } else {
                0
            },
        }
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
        let Some(f) = self.locals[m].flooded.clone() else {
            return;
        };
        let l = &mut self.locals[m];
        l.generation_seq += 1;
        let state = ServiceLsa {
            name: l.cfg.name.clone(),
            generation: (u64::from(self.settings.incarnation) << 32) | u64::from(l.generation_seq),
            kind: l.cfg.kind,
            config_state: ConfigState::Active,
            run_state: f.run,
            preference: l.cfg.preference,
            critical: self.layout.critical[m],
            standby: f.standby,
            handover: f.handover,
            group: l.cfg.group.clone(),
            depends: l.cfg.depends.clone(),
            failure: f.failure,
            check_interval_ms: l
                .cfg
                .check_interval
                .map_or(0, |d| d.as_millis().min(u128::from(u32::MAX)) as u32),
            check_stamp_ms: f.check_stamp_ms,
            addresses: l.cfg.addresses.clone(),
            handoff_to: f.handoff_to,
            started_at_ms: f.started_at_ms,
            originator: Some(me),
            claim: f.claim,
            ack: f.ack,
        };
        let scope = l.cfg.scope;
        let old = self.locals[m].lsa;
        match self.originate(Payload::Service(state), scope, old) {
            Ok(lsa) => self.locals[m].lsa = Some(lsa),
            Err(failure) => {
                let name = self.locals[m].cfg.name.clone();
                self.log(
                    Level::Warn,
                    Some(&name),
                    format!("cannot flood state: {}", failure.text),
                );
                let l = &mut self.locals[m];
                l.config = ConfigState::Failed;
                l.failure = Some(failure);
                self.flush_own(m);
                self.commit(m);
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
        let old = self.daemon_lsa;
        match self.originate(Payload::Daemon(d), crate::model::Scope::Area, old) {
            Ok(lsa) => self.daemon_lsa = Some(lsa),
            Err(f) => self.log(
                Level::Warn,
                None,
                format!("cannot flood daemon LSA: {}", f.text),
            ),
        }
    }

    /// Encodes `payload`, originates it under a fresh id and flushes `old`.
    fn originate(
        &mut self,
        payload: Payload,
        scope: crate::model::Scope,
        old: Option<LsaRef>,
    ) -> Result<LsaRef, Failure> {
        let bytes = lsa::encode(&payload, scope, self.settings.cluster_key.as_ref())
            .map_err(|e| Failure::new(Failure::LSA_TOO_LARGE, e.to_string()))?;
        let opaque_id = self.ids.allocate(self.now).ok_or_else(|| {
            Failure::new(
                Failure::INJECTION_FAILED,
                "no free opaque LSA id: too many state changes within the id reuse window",
            )
        })?;
        let lsa = LsaRef {
            adv_router: self.router_id.expect("publishing needs a router id"),
            scope,
            opaque_id,
        };
        self.actions.push(Action::Originate {
            lsa,
            payload: bytes,
        });
        if let Some(old) = old {
            self.ids.release(self.now, old.opaque_id);
            self.actions.push(Action::Flush { lsa: old });
        }
        Ok(lsa)
    }

    pub(super) fn flush_own(&mut self, m: usize) {
        if let Some(old) = self.locals[m].lsa.take() {
            self.ids.release(self.now, old.opaque_id);
            if self.api_up {
                self.actions.push(Action::Flush { lsa: old });
            }
        }
    }
}
