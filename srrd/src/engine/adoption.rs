//! Adoption and the restart grace (docs/architecture.md, restarts): a
//! restarted daemon keeps the services its previous run left running
//! (their `check` passed, `Restored::adopted`) unless the cluster moved
//! them meanwhile; peers wait `restart_grace` before taking over from a
//! node whose records were flushed while its router stays reachable.

use std::collections::BTreeSet;

use super::io::Level;
use super::local::{Adoption, Intent, Run};
use super::mutants::{self, Mutant};
use super::timers::Timer;
use super::view::UnitPresence;
use super::Engine;
use crate::config::ServiceConfig;
use crate::model::{ConfigState, RouterId};

/// The services of `alive` (recorded as started by the previous run, and
/// their `check` passes now) that may be adopted: every service they need
/// is adopted too. The rest must be stopped before the engine runs.
pub fn adoptable(services: &[ServiceConfig], alive: &BTreeSet<String>) -> BTreeSet<String> {
    let mut adopted: BTreeSet<String> = services
        .iter()
        .filter(|s| alive.contains(&s.name))
        .map(|s| s.name.clone())
        .collect();
    // Drop what needs a dropped service, to a fixpoint.
    loop {
        let before = adopted.len();
        let keep: BTreeSet<String> = services
            .iter()
            .filter(|s| adopted.contains(&s.name) && s.depends.iter().all(|d| adopted.contains(d)))
            .map(|s| s.name.clone())
            .collect();
        adopted = keep;
        if adopted.len() == before {
            return adopted;
        }
    }
}

impl Engine {
    /// Member `m` runs from the previous run: started, its VIPs up (the
    /// first `handle` returns `AddVip` for them, so the shell owns them).
    pub(super) fn adopt_member(&mut self, m: usize) {
        self.locals[m].run = Run::Started;
        self.set_vips(m, true);
        let u = self.layout.unit_of[m];
        self.unit_states[u].adoption = Adoption::Pending;
    }

    /// This node may not keep the unit whatever the cluster does: the
    /// operator wants it off here, or a member failed.
    fn adoption_unwanted(&self, u: usize) -> bool {
        self.layout.units[u].start_order.iter().any(|&m| {
            let l = &self.locals[m];
            self.effective_intent(m) != Intent::Active
                || l.standby
                || l.config == ConfigState::Failed
                || l.pending_failure.is_some()
        })
    }

    /// Before any session: only a shutdown (or an unwanted unit) decides.
    pub(super) fn adoption_without_session(&mut self, u: usize) {
        let pending = self.unit_states[u].adoption == Adoption::Pending;
        if (pending && self.adoption_unwanted(u))
            || self.unit_states[u].adoption == Adoption::Refused
        {
            self.refuse_adoption(u);
        }
    }

    /// Stops every member of a unit not kept, dependants first, until all
    /// are down; true while some still run.
    fn refuse_adoption(&mut self, u: usize) -> bool {
        let members = self.layout.units[u].start_order.clone();
        if members.iter().all(|&m| self.locals[m].run.is_down()) {
            self.unit_states[u].adoption = Adoption::None;
            return false;
        }
        self.unit_states[u].adoption = Adoption::Refused;
        self.stop_members(&members, |_| true);
        true
    }

    /// A unit being adopted: it waits (no claim, no stop) for the LSDB dump
    /// and for its members to flood again, then is held as if started here.
    /// If a peer holds or claims it once the dump is in (it took over while
    /// this node was down), or this node may not run it, the adopted copy
    /// is stopped. True while the normal rules must not touch the unit.
    pub(super) fn adoption_waits(&mut self, u: usize, nodes: &[UnitPresence]) -> bool {
        match self.unit_states[u].adoption {
            Adoption::None => return false,
            Adoption::Refused => return self.refuse_adoption(u),
            Adoption::Pending => {}
        }
        let unwanted = self.adoption_unwanted(u);
        if !unwanted && !self.lsdb_synced {
            return true;
        }
        let members = self.layout.units[u].start_order.clone();
        let name = self.locals[members[0]].cfg.name.clone();
        let contested = nodes[1..].iter().find(|n| n.holding).map(|n| n.router);
        let contested = contested.filter(|_| !mutants::on(Mutant::AdoptDespiteHolder));
        if unwanted || contested.is_some() {
            let why = match contested {
                Some(r) => format!("{r} runs it now"),
                None => "it may not run here".to_string(),
            };
            self.log(
                Level::Warn,
                Some(&name),
                format!("not adopting the copy the previous run left: {why}; stopping it"),
            );
            return self.refuse_adoption(u);
        }
        if !members
            .iter()
            .all(|&m| self.locals[m].config == ConfigState::Active)
        {
            return true;
        }
        self.unit_states[u].adoption = Adoption::None;
        for &m in &members {
            if self.locals[m].run == Run::Started {
                // Held from now on, as every node sees in the next flood
                // (the "started first" tie-break).
                self.locals[m].started_at_ms = self.now.0.max(1);
                self.arm_check(m);
                self.commit(m);
            }
        }
        self.log(
            Level::Info,
            Some(&name),
            "adopted the copy the previous run left running".into(),
        );
        false
    }

    /// A peer's record of the unit was flushed while it showed the unit
    /// running and its router stays reachable: its srrd exited (ospfd
    /// flushes a closed session's LSAs) and a restart may adopt the unit.
    pub(super) fn note_vanished_holder(&mut self, u: usize, peer: RouterId, state_holds: bool) {
        let grace = self.settings.restart_grace_ms;
        if !state_holds || grace == 0 || !self.view.is_reachable(peer) {
            return;
        }
        let until = self.now.plus_ms(grace);
        self.unit_states[u].restart_grace.insert(peer, until);
        self.timers.arm(until, Timer::RestartGrace(u));
    }

    /// Whether a vanished holder's restart grace still keeps claims back:
    /// not once it ran out, the router is unreachable (a crash: no grace)
    /// or the router floods records of every member again (one by one, as
    /// each activates: until the last, it would count as not eligible).
    pub(super) fn in_restart_grace(&mut self, u: usize) -> bool {
        let now = self.now;
        let names: Vec<&str> = self.layout.units[u]
            .start_order
            .iter()
            .map(|&m| self.locals[m].cfg.name.as_str())
            .collect();
        let view = &self.view;
        self.unit_states[u].restart_grace.retain(|&peer, until| {
            *until > now
                && view.is_reachable(peer)
                && names.iter().any(|s| view.live_record(s, peer).is_none())
        });
        !self.unit_states[u].restart_grace.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_adopted_only_with_everything_it_needs() {
        let mut web = ServiceConfig::new("web");
        web.depends = vec!["data".into()];
        let mut cache = ServiceConfig::new("cache");
        cache.depends = vec!["web".into()];
        let services = [
            ServiceConfig::new("data"),
            web,
            cache,
            ServiceConfig::new("dns"),
        ];
        let alive = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        let got = adoptable(&services, &alive(&["web", "cache", "dns"]));
        assert_eq!(got, alive(&["dns"]), "data is dead: web and cache go");
        let got = adoptable(&services, &alive(&["data", "web", "cache", "gone"]));
        assert_eq!(
            got,
            alive(&["data", "web", "cache"]),
            "unconfigured names drop"
        );
    }
}
