//! The global view: what every peer floods about its services.
//!
//! Records are keyed by (advertising router, service name). A node sends
//! each state change under a fresh opaque id and flushes the old one, so the
//! record follows the highest generation, and a DELETE matters only for the
//! id the record currently lives under (SPEC 5).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;

use crate::lsa::ServiceLsa;
use crate::model::{RouterId, RunState, Scope, Time};

/// Where an LSA lives: advertising router, flooding scope, 24-bit opaque id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LsaRef {
    pub adv_router: RouterId,
    pub scope: Scope,
    pub opaque_id: u32,
}

#[derive(Clone, Debug)]
pub struct PeerRecord {
    pub lsa: LsaRef,
    pub state: ServiceLsa,
    /// A DELETE of the current instance arrived; the record is dropped when
    /// the grace ends unless a newer instance replaces it first.
    pub deleted_at: Option<Time>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDaemon {
    pub lsa: LsaRef,
    pub generation: u64,
    pub node_name: String,
    pub web: Option<SocketAddr>,
}

#[derive(Default, Debug)]
pub struct View {
    /// service name → advertising router → record
    records: HashMap<String, BTreeMap<RouterId, PeerRecord>>,
    by_lsa: HashMap<LsaRef, String>,
    pub daemons: BTreeMap<RouterId, PeerDaemon>,
    pub reachable: BTreeSet<RouterId>,
}

pub enum Applied {
    /// The record changed; the service's placement must be re-evaluated.
    Changed,
    /// An older or equal generation: nothing to do.
    Stale,
}

impl View {
    pub fn clear(&mut self) {
        self.records.clear();
        self.by_lsa.clear();
        self.daemons.clear();
        self.reachable.clear();
    }

    pub fn records(&self, service: &str) -> impl Iterator<Item = (&RouterId, &PeerRecord)> {
        self.records.get(service).into_iter().flat_map(|m| m.iter())
    }

    pub fn record(&self, service: &str, peer: RouterId) -> Option<&PeerRecord> {
        self.records.get(service)?.get(&peer)
    }

    pub fn service_names(&self) -> impl Iterator<Item = &String> {
        self.records.keys()
    }

    pub fn is_reachable(&self, peer: RouterId) -> bool {
        self.reachable.contains(&peer)
    }

    /// A record that counts: its router is reachable.
    pub fn live_record(&self, service: &str, peer: RouterId) -> Option<&PeerRecord> {
        if self.is_reachable(peer) {
            self.record(service, peer)
        } else {
            None
        }
    }

    pub fn apply_update(&mut self, lsa: LsaRef, state: ServiceLsa) -> Applied {
        let peers = self.records.entry(state.name.clone()).or_default();
        if let Some(old) = peers.get(&lsa.adv_router) {
            if old.state.generation > state.generation
                || (old.state.generation == state.generation && old.deleted_at.is_none())
            {
                return Applied::Stale;
            }
            if old.lsa != lsa {
                self.by_lsa.remove(&old.lsa);
            }
        }
        self.by_lsa.insert(lsa, state.name.clone());
        peers.insert(
            lsa.adv_router,
            PeerRecord {
                lsa,
                state,
                deleted_at: None,
            },
        );
        Applied::Changed
    }

    /// Marks the record living under `lsa` as deleted; returns its service.
    /// Deletes of superseded ids and repeated deletes return `None`.
    pub fn mark_deleted(&mut self, lsa: LsaRef, now: Time) -> Option<String> {
        let name = self.by_lsa.get(&lsa)?;
        let rec = self.records.get_mut(name)?.get_mut(&lsa.adv_router)?;
        if rec.lsa != lsa || rec.deleted_at.is_some() {
            return None;
        }
        rec.deleted_at = Some(now);
        Some(name.clone())
    }

    /// Drops a deleted record whose grace has run out; true if dropped.
    pub fn expire_deleted(&mut self, service: &str, peer: RouterId) -> bool {
        let Some(peers) = self.records.get_mut(service) else {
            return false;
        };
        match peers.get(&peer) {
            Some(rec) if rec.deleted_at.is_some() => {
                self.by_lsa.remove(&rec.lsa);
                peers.remove(&peer);
                if peers.is_empty() {
                    self.records.remove(service);
                }
                true
            }
            _ => false,
        }
    }

    pub fn daemon_deleted(&mut self, lsa: LsaRef) -> bool {
        match self.daemons.get(&lsa.adv_router) {
            Some(d) if d.lsa == lsa => {
                self.daemons.remove(&lsa.adv_router);
                true
            }
            _ => false,
        }
    }

    pub fn apply_daemon(&mut self, d: PeerDaemon) {
        match self.daemons.get(&d.lsa.adv_router) {
            Some(old) if old.generation >= d.generation => {}
            _ => {
                self.daemons.insert(d.lsa.adv_router, d);
            }
        }
    }
}

/// What a peer's records say about one placement unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnitPresence {
    pub router: RouterId,
    pub preference: u8,
    pub eligible: bool,
    /// Some member started, starting or stopping.
    pub holding: bool,
    /// Some member started (not merely claimed).
    pub started: bool,
    /// Every member shows stopped or failed: safe for another node to start.
    pub quiescent: bool,
    pub handoff_to: Option<RouterId>,
    /// Earliest start time of a started member (u64::MAX = none known).
    pub started_at_ms: u64,
}

impl UnitPresence {
    pub fn rank(&self) -> (u8, RouterId) {
        (self.preference, self.router)
    }
}

pub fn run_state_holds(r: RunState) -> bool {
    matches!(
        r,
        RunState::Starting | RunState::Started | RunState::Stopping
    )
}
