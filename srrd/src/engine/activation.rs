//! Activation: inactive → (activate) → injected → (own echo) → active,
//! and back, per service; and the end of a shutdown.

use super::io::Action;
use super::local::{Adoption, Intent};
use super::Engine;
use crate::model::{ConfigState, Primitive};

/// Rounds of re-evaluation per event; each round settles what the previous
/// one changed. Real chains are 2–3 long.
const MAX_SETTLE_ROUNDS: usize = 16;

impl Engine {
    pub(super) fn mark_all(&mut self) {
        self.dirty_activation.extend(0..self.locals.len());
        self.dirty_units.extend(0..self.layout.units.len());
    }

    /// Re-evaluates what the event changed until nothing more does, then
    /// floods the result.
    pub(super) fn settle(&mut self) {
        for _ in 0..MAX_SETTLE_ROUNDS {
            if self.dirty_activation.is_empty()
                && self.dirty_units.is_empty()
                && self.dirty_flood.is_empty()
            {
                break;
            }
            for i in std::mem::take(&mut self.dirty_activation) {
                self.drive_activation(i);
            }
            for u in std::mem::take(&mut self.dirty_units) {
                self.drive_unit(u);
            }
            if self.dirty_activation.is_empty() && self.dirty_units.is_empty() {
                self.flood_changes();
            }
        }
        if !self.dirty_flood.is_empty() {
            self.flood_changes();
        }
        self.check_shutdown_complete();
    }

    pub(super) fn effective_intent(&self, i: usize) -> Intent {
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
            ) if self.api_up
                && self.router_id.is_some()
                && (l.run.is_down()
                    || self.unit_states[self.layout.unit_of[i]].adoption == Adoption::Pending) =>
            {
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
