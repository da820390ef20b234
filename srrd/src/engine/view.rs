//! The global view: what every peer floods about its services.
//!
//! Records are keyed by (advertising router, service name). A node sends
//! each state change under a fresh opaque id and flushes the old one, so the
//! record follows the highest generation, and a DELETE matters only for the
//! id the record currently lives under (docs/protocol.md).

use std::collections::{BTreeMap, BTreeSet};

use super::fasthash::FastMap;
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

/// As vtysh shows it: `type-10 222.171.1.1 adv 10.0.0.3` (the LSA id is
/// the opaque type in the first byte, the opaque id below).
impl std::fmt::Display for LsaRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ls_id = (u32::from(crate::lsa::OPAQUE_TYPE) << 24) | (self.opaque_id & 0x00ff_ffff);
        write!(
            f,
            "type-{} {} adv {}",
            self.scope.lsa_type(),
            std::net::Ipv4Addr::from(ls_id),
            self.adv_router
        )
    }
}

#[derive(Clone, Debug)]
pub struct PeerRecord {
    pub lsa: LsaRef,
    pub state: ServiceLsa,
    /// A DELETE of the current instance arrived; the record is dropped when
    /// the grace ends unless a newer instance replaces it first.
    pub deleted_at: Option<Time>,
    pub received_at: Time,
    /// Received before its router was last lost and not flooded since: it
    /// may describe a previous run (docs/architecture.md, stale records).
    pub suspect: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerDaemon {
    pub lsa: LsaRef,
    pub generation: u64,
    pub node_name: String,
    pub web: Option<SocketAddr>,
}

#[derive(Clone, Default, Debug)]
pub struct View {
    /// service name → advertising router → record
    /// Boxed: a BTreeMap moves its values around on insert.
    records: FastMap<String, BTreeMap<RouterId, Box<PeerRecord>>>,
    by_lsa: FastMap<LsaRef, String>,
    pub daemons: BTreeMap<RouterId, PeerDaemon>,
    reachable: BTreeSet<RouterId>,
    /// When each router was last reported unreachable.
    lost_at: FastMap<RouterId, Time>,
    /// Newest incarnation seen from each router (high 32 bits of generations).
    incarnations: FastMap<RouterId, u32>,
    /// Generation of a record whose delete took effect: replays at or below
    /// it are refused.
    floors: FastMap<String, BTreeMap<RouterId, u64>>,
}

pub enum Applied {
    /// The record changed; the service's placement must be re-evaluated.
    Changed,
    /// An older or equal generation: nothing to do.
    Stale,
}

impl View {
    /// Forgets the LSDB (the API session is gone); what is known about
    /// peers' runs (incarnations, deleted generations, losses) stays.
    pub fn clear(&mut self) {
        self.records.clear();
        self.by_lsa.clear();
        self.daemons.clear();
        self.reachable.clear();
    }

    pub fn records(&self, service: &str) -> impl Iterator<Item = (&RouterId, &PeerRecord)> {
        self.records
            .get(service)
            .into_iter()
            .flat_map(|m| m.iter().map(|(r, rec)| (r, &**rec)))
    }

    /// Every service some peer floods a record of, in no particular order.
    pub fn service_names(&self) -> impl Iterator<Item = &str> {
        self.records.keys().map(String::as_str)
    }

    pub fn record(&self, service: &str, peer: RouterId) -> Option<&PeerRecord> {
        self.records.get(service)?.get(&peer).map(|rec| &**rec)
    }

    pub fn is_reachable(&self, peer: RouterId) -> bool {
        self.reachable.contains(&peer)
    }

    /// A record that counts: its router is reachable.
    pub fn live_record(&self, service: &str, peer: RouterId) -> Option<&PeerRecord> {
        if self.is_reachable(peer) || super::mutants::on(super::mutants::Mutant::IgnoreReachability)
        {
            self.record(service, peer)
        } else {
            None
        }
    }

    /// Applies REACHABLE_CHANGE; a returning router's old records become
    /// suspect. Returns the routers with newly suspect records.
    pub fn set_reachability(
        &mut self,
        added: &[RouterId],
        removed: &[RouterId],
        now: Time,
    ) -> Vec<RouterId> {
        let mut suspects = Vec::new();
        for r in removed {
            if self.reachable.remove(r) {
                self.lost_at.insert(*r, now);
            }
        }
        for r in added {
            if !self.reachable.insert(*r) {
                continue;
            }
            let Some(&lost) = self.lost_at.get(r) else {
                continue;
            };
            for peers in self.records.values_mut() {
                if let Some(rec) = peers.get_mut(r) {
                    if rec.received_at <= lost
                        && !super::mutants::on(super::mutants::Mutant::TrustStaleRecords)
                    {
                        rec.suspect = true;
                        if !suspects.contains(r) {
                            suspects.push(*r);
                        }
                    }
                }
            }
        }
        suspects
    }

    /// Trusts the router's suspect records again; true if there were any.
    pub fn trust(&mut self, router: RouterId) -> bool {
        let mut any = false;
        for peers in self.records.values_mut() {
            if let Some(rec) = peers.get_mut(&router) {
                any |= std::mem::take(&mut rec.suspect);
            }
        }
        any
    }

    /// Notes the router's incarnation; true if it is older than one seen
    /// before (the payload belongs to a dead run). A newer one drops the
    /// records of the router's earlier runs.
    fn is_dead_run(&mut self, router: RouterId, generation: u64) -> bool {
        let incarnation = (generation >> 32) as u32;
        let newest = self.incarnations.entry(router).or_insert(incarnation);
        if incarnation < *newest {
            return true;
        }
        if incarnation > *newest {
            *newest = incarnation;
            let by_lsa = &mut self.by_lsa;
            for peers in self.records.values_mut() {
                if let Some(rec) = peers.get(&router) {
                    if ((rec.state.generation >> 32) as u32) < incarnation {
                        by_lsa.remove(&rec.lsa);
                        peers.remove(&router);
                    }
                }
            }
            self.records.retain(|_, peers| !peers.is_empty());
        }
        false
    }

    pub fn apply_update(&mut self, lsa: LsaRef, state: ServiceLsa, now: Time) -> Applied {
        if self.is_dead_run(lsa.adv_router, state.generation) {
            return Applied::Stale;
        }
        if self
            .floors
            .get(state.name.as_str())
            .and_then(|f| f.get(&lsa.adv_router))
            .is_some_and(|&floor| state.generation <= floor)
        {
            return Applied::Stale;
        }
        if !self.records.contains_key(state.name.as_str()) {
            self.records.insert(state.name.clone(), BTreeMap::new());
        }
        let peers = self
            .records
            .get_mut(state.name.as_str())
            .expect("inserted above");
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
            Box::new(PeerRecord {
                lsa,
                state,
                deleted_at: None,
                received_at: now,
                suspect: false,
            }),
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
                self.floors
                    .entry(service.to_string())
                    .or_default()
                    .insert(peer, rec.state.generation);
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
        if self.is_dead_run(d.lsa.adv_router, d.generation) {
            return;
        }
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
    /// Every member started.
    pub all_started: bool,
    /// Every member that runs there is being handed over make-before-break:
    /// its acknowledgement lets a claimant start before it stops.
    pub handing_over: bool,
    /// Every member shows stopped or failed: safe for another node to start.
    pub quiescent: bool,
    pub handoff_to: Option<RouterId>,
    /// Earliest start time of a started member (u64::MAX = none known).
    pub started_at_ms: u64,
    /// The node's claim on the unit, while it claims or starts it.
    pub claim: Option<u64>,
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
