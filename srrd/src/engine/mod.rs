//! The sans-IO protocol core (docs/architecture.md): one node's service state machine.
//!
//! The engine owns no socket, clock or thread. The caller feeds it
//! [`Event`]s with the current time and carries out the [`Action`]s it
//! returns; `Action::SetTimer` says when to come back with `Event::Timer`.

mod activation;
mod adoption;
mod claims;
mod events;
mod fasthash;
mod flooding;
mod handover;
mod io;
mod local;
pub mod mutants;
mod placement;
mod presence;
mod runs;
mod timers;
mod units;
mod view;
mod whatif;

pub use adoption::adoptable;
pub use io::{Action, Command, Event, Level, OpId, PrimitiveResult, PrimitiveRun};
pub use local::{Intent, ServiceStatus};
pub use view::{LsaRef, PeerDaemon, PeerRecord, View};
pub use whatif::{Prediction, WhatIf};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use crate::config::{NodeSettings, ServiceConfig};
use crate::lsa::{ClusterKey, IgnoreReason};
use crate::model::{RouterId, Time};
use fasthash::FastMap;
use local::{Local, UnitState};
use timers::Timers;
use units::UnitLayout;

/// Engine parameters that are not per service.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    pub node_name: String,
    pub web: Option<SocketAddr>,
    pub cluster_key: Option<ClusterKey>,
    pub delete_grace_ms: u64,
    pub echo_timeout_ms: u64,
    pub recall_interval_ms: u64,
    /// How long an operator move waits for the target to take over.
    pub handoff_timeout_ms: u64,
    /// A passing check refreshes the flooded check stamp at most this often.
    pub check_refresh_ms: u64,
    /// No claims this long after the API session comes up.
    pub startup_hold_ms: u64,
    /// How long to wait before taking over a unit whose holder's records
    /// were flushed while its router stays reachable (its srrd exited and
    /// may come back to adopt what runs there).
    pub restart_grace_ms: u64,
    /// Distinguishes this run of the daemon from earlier ones: the high 32
    /// bits of every generation, so a restarted node's LSAs win over stale
    /// copies of its previous run. Must grow across restarts.
    pub incarnation: u32,
}

impl EngineSettings {
    pub fn from_node(node: &NodeSettings, key: Option<ClusterKey>, incarnation: u32) -> Self {
        EngineSettings {
            node_name: node.name.clone(),
            web: node.web_listen,
            cluster_key: key,
            delete_grace_ms: node.delete_grace.as_millis() as u64,
            echo_timeout_ms: node.echo_timeout.as_millis() as u64,
            recall_interval_ms: node.recall_interval.as_millis() as u64,
            handoff_timeout_ms: node.handoff_timeout.as_millis() as u64,
            check_refresh_ms: node.check_refresh.as_millis() as u64,
            startup_hold_ms: node.startup_hold.as_millis() as u64,
            restart_grace_ms: node.restart_grace.as_millis() as u64,
            incarnation,
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings::from_node(&NodeSettings::default(), None, 1)
    }
}

/// Operator decisions that survive a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub intents: HashMap<String, Intent>,
    pub standby: BTreeSet<String>,
    /// Quorum services: every node that ever announced them. Kept across
    /// restarts so a node rebooting into a minority still counts them.
    pub members: HashMap<String, BTreeSet<RouterId>>,
    /// Services the previous run left running whose `check` passes now
    /// (see `adoptable`): kept running unless the cluster moved them
    /// meanwhile. A startup input only, never persisted.
    pub adopted: BTreeSet<String>,
}

/// Clone: the what-if preview (whatif.rs) works on a copy.
#[derive(Clone)]
pub struct Engine {
    settings: EngineSettings,
    now: Time,
    router_id: Option<RouterId>,
    api_up: bool,
    /// No claims before this (startup hold after the session came up).
    claims_from: Time,
    /// The LSDB dump of the current session is in (`Event::LsdbSynced`).
    lsdb_synced: bool,
    shutting_down: bool,
    shutdown_reported: bool,
    layout: UnitLayout,
    locals: Vec<Local>,
    unit_states: Vec<UnitState>,
    index: FastMap<String, usize>,
    view: View,
    timers: Timers,
    ops: FastMap<OpId, usize>,
    next_op: u64,
    ids: local::IdAllocator,
    daemon_lsa: Option<LsaRef>,
    daemon_generation: u32,
    /// Our LSAs whose DELETE came without the following UPDATE (yet).
    own_deleted: BTreeSet<LsaRef>,
    dirty_units: BTreeSet<usize>,
    dirty_activation: BTreeSet<usize>,
    /// Services whose flooded state may have changed during this event.
    dirty_flood: BTreeSet<usize>,
    /// Counter of this run's claims (low 32 bits of claim ids).
    claim_seq: u32,
    actions: Vec<Action>,
    timer_requested: Option<Time>,
    /// LSAs refused on receipt, by reason (for metrics).
    ignored_lsas: BTreeMap<IgnoreReason, u64>,
}

impl Engine {
    pub fn new(
        settings: EngineSettings,
        services: Vec<ServiceConfig>,
        restored: &Restored,
    ) -> Engine {
        let layout = UnitLayout::new(&services);
        let index = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        let locals: Vec<Local> = services
            .into_iter()
            .map(|cfg| {
                let intent = restored
                    .intents
                    .get(&cfg.name)
                    .copied()
                    .unwrap_or(if cfg.disabled {
                        Intent::Disabled
                    } else {
                        Intent::Active
                    });
                let standby = restored.standby.contains(&cfg.name);
                let mut local = Local::new(cfg, intent, standby);
                if let Some(m) = restored.members.get(&local.cfg.name) {
                    local.ever_announced = m.clone();
                }
                local
            })
            .collect();
        let unit_states = vec![UnitState::default(); layout.units.len()];
        let ids = local::IdAllocator::new(settings.incarnation);
        let mut engine = Engine {
            settings,
            now: Time(0),
            router_id: None,
            api_up: false,
            claims_from: Time(0),
            lsdb_synced: false,
            shutting_down: false,
            shutdown_reported: false,
            layout,
            locals,
            unit_states,
            index,
            view: View::default(),
            timers: Timers::default(),
            ops: FastMap::default(),
            next_op: 1,
            ids,
            daemon_lsa: None,
            daemon_generation: 0,
            own_deleted: BTreeSet::new(),
            dirty_units: BTreeSet::new(),
            dirty_activation: BTreeSet::new(),
            dirty_flood: BTreeSet::new(),
            claim_seq: 0,
            actions: Vec::new(),
            timer_requested: None,
            ignored_lsas: BTreeMap::new(),
        };
        for m in 0..engine.locals.len() {
            if restored.adopted.contains(&engine.locals[m].cfg.name) {
                engine.adopt_member(m);
            }
        }
        engine
    }

    /// Feeds one event; returns what the caller must do, in order.
    pub fn handle(&mut self, now: Time, event: Event) -> Vec<Action> {
        if now > self.now {
            self.now = now;
        }
        if event == Event::Timer {
            // The caller's timer is spent: whatever is next must be asked again.
            self.timer_requested = None;
        }
        match event {
            Event::ApiConnected { router_id } => self.on_api_connected(router_id),
            Event::ApiLost => self.on_api_lost(),
            Event::LsaUpdate { lsa, payload } => self.on_lsa_update(lsa, &payload),
            Event::LsaDelete { lsa } => self.on_lsa_delete(lsa),
            Event::LsdbSynced => self.on_lsdb_synced(),
            Event::OriginateFailed { lsa, reason } => self.on_originate_failed(lsa, &reason),
            Event::Reachability { added, removed } => self.on_reachability(&added, &removed),
            Event::PrimitiveDone { op, result } => self.on_primitive_done(op, result),
            Event::Timer => {}
            Event::Command(c) => self.on_command(c),
        }
        self.fire_due_timers();
        self.settle();
        self.request_timer();
        std::mem::take(&mut self.actions)
    }

    pub fn router_id(&self) -> Option<RouterId> {
        self.router_id
    }

    pub fn node_name(&self) -> &str {
        &self.settings.node_name
    }

    pub fn api_up(&self) -> bool {
        self.api_up
    }

    pub fn view(&self) -> &View {
        &self.view
    }

    /// How many received LSAs were ignored, by reason, since the start.
    pub fn ignored_lsas(&self) -> &BTreeMap<IgnoreReason, u64> {
        &self.ignored_lsas
    }

    pub fn services(&self) -> impl Iterator<Item = ServiceStatus> + '_ {
        self.locals.iter().map(|l| l.status())
    }

    pub fn service(&self, name: &str) -> Option<ServiceStatus> {
        self.index.get(name).map(|&i| self.locals[i].status())
    }

    /// The node that runs the service now (started), by this node's view.
    pub fn holder(&self, service: &str) -> Option<RouterId> {
        let &i = self.index.get(service)?;
        if self.locals[i].run == local::Run::Started {
            return self.router_id;
        }
        self.view
            .records(service)
            .filter(|(r, rec)| {
                rec.state.run_state == crate::model::RunState::Started
                    && rec.deleted_at.is_none()
                    && self.view.live_record(service, **r).is_some()
            })
            .map(|(r, _)| *r)
            .next()
    }

    pub fn service_config(&self, name: &str) -> Option<&ServiceConfig> {
        self.index.get(name).map(|&i| &self.locals[i].cfg)
    }

    /// The generation of the service's LSA this node floods now, if any.
    pub fn generation(&self, name: &str) -> Option<u64> {
        let l = &self.locals[*self.index.get(name)?];
        l.lsa?;
        Some((u64::from(self.settings.incarnation) << 32) | u64::from(l.generation_seq))
    }

    /// Takes a reloaded configuration. Settings that only shape future
    /// primitive runs (primitives file, timeouts, check interval) apply at
    /// once; anything that changes a service's identity or placement
    /// (the set of services, kind, addresses, preference, group,
    /// dependencies, critical, scope, quorum, preempt delay, disabled) needs a
    /// restart: those are returned as `service.field` and left as they are.
    pub fn reload(&mut self, services: &[ServiceConfig]) -> Vec<String> {
        let mut needs_restart = Vec::new();
        let new_names: std::collections::BTreeSet<&str> =
            services.iter().map(|s| s.name.as_str()).collect();
        for l in &self.locals {
            if !new_names.contains(l.cfg.name.as_str()) {
                needs_restart.push(format!("{} (removed)", l.cfg.name));
            }
        }
        for new in services {
            let Some(&i) = self.index.get(&new.name) else {
                needs_restart.push(format!("{} (added)", new.name));
                continue;
            };
            let old = &self.locals[i].cfg;
            let placement_fields = [
                ("kind", old.kind != new.kind),
                ("addresses", old.addresses != new.addresses),
                ("preference", old.preference != new.preference),
                ("group", old.group != new.group),
                ("depends", old.depends != new.depends),
                ("critical", old.critical != new.critical),
                ("scope", old.scope != new.scope),
                ("quorum", old.quorum != new.quorum),
                ("preempt_delay", old.preempt_delay != new.preempt_delay),
                ("disabled", old.disabled != new.disabled),
                ("handover", old.handover != new.handover),
            ];
            let changed: Vec<String> = placement_fields
                .iter()
                .filter(|(_, changed)| *changed)
                .map(|(field, _)| format!("{}.{field}", new.name))
                .collect();
            if changed.is_empty() {
                let cfg = &mut self.locals[i].cfg;
                cfg.primitives = new.primitives.clone();
                cfg.timeouts = new.timeouts.clone();
                cfg.check_interval = new.check_interval;
                cfg.handover_overlap = new.handover_overlap;
            } else {
                needs_restart.extend(changed);
            }
        }
        needs_restart
    }

    /// What to persist: operator intents and stop flags.
    pub fn restorable(&self) -> Restored {
        Restored {
            intents: self
                .locals
                .iter()
                .map(|l| (l.cfg.name.clone(), l.intent))
                .collect(),
            standby: self
                .locals
                .iter()
                .filter(|l| l.standby)
                .map(|l| l.cfg.name.clone())
                .collect(),
            members: self
                .locals
                .iter()
                .filter(|l| l.cfg.quorum && !l.ever_announced.is_empty())
                .map(|l| (l.cfg.name.clone(), l.ever_announced.clone()))
                .collect(),
            adopted: BTreeSet::new(),
        }
    }

    fn request_timer(&mut self) {
        let next = self.timers.next();
        if next != self.timer_requested {
            self.timer_requested = next;
            if let Some(at) = next {
                self.actions.push(Action::SetTimer { at });
            }
        }
    }

    fn log(&mut self, level: Level, service: Option<&str>, message: String) {
        self.actions.push(Action::Log {
            level,
            service: service.map(str::to_string),
            message,
        });
    }
}

#[cfg(test)]
mod tests;
