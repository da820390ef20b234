//! The looking glass: srrd's LSAs as the local ospfd holds them, decoded.
//! A read-only OSPF API session, so it runs beside the daemon.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::engine::{Event, LsaRef};
use crate::lsa::{self, ClusterKey, Payload};
use crate::model::RouterId;
use crate::ospfapi::{ClientError, Session};

/// One srrd LSA in the local LSDB.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub adv_router: RouterId,
    pub lsa_type: u8,
    pub opaque_id: u32,
    pub reachable: bool,
    /// Why the daemon ignores it (`bad tag`, `foreign originator 10.0.0.9`,
    /// ...); absent when it counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    #[serde(flatten)]
    pub content: Content,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Content {
    Service {
        name: String,
        generation: u64,
        state: String,
        preference: u8,
        standby: bool,
        failure: Option<String>,
        addresses: Vec<String>,
        check_stamp_ms: u64,
        started_at_ms: u64,
        /// The claim id while the originator claims the unit.
        #[serde(skip_serializing_if = "Option::is_none")]
        claim: Option<u64>,
        /// The claim the originator acknowledges: `ROUTER-ID/CLAIM`.
        #[serde(skip_serializing_if = "Option::is_none")]
        ack: Option<String>,
    },
    Daemon {
        generation: u64,
        node_name: String,
        web: Option<SocketAddr>,
        software: String,
    },
    Undecodable {
        error: String,
    },
}

/// The payload decoded, and why the daemon ignores it, by the engine's rule
/// ([`lsa::receive`]). An ignored payload is shown as far as it decodes
/// without the key.
fn content(lsa: LsaRef, payload: &[u8], key: Option<&ClusterKey>) -> (Content, Option<String>) {
    match lsa::receive(payload, lsa.scope, lsa.adv_router, key) {
        Ok(p) => (decoded(p), None),
        Err(refused) => {
            let shown = match lsa::decode(payload, lsa.scope, None) {
                Ok(p) => decoded(p),
                Err(_) => Content::Undecodable {
                    error: refused.to_string(),
                },
            };
            (shown, Some(refused.label()))
        }
    }
}

fn decoded(payload: Payload) -> Content {
    match payload {
        Payload::Service(s) => Content::Service {
            state: format!("{}/{}", s.config_state, s.run_state),
            name: s.name,
            generation: s.generation,
            preference: s.preference,
            standby: s.standby,
            failure: s.failure.map(|f| f.to_string()),
            addresses: s.addresses.iter().map(|a| a.to_string()).collect(),
            check_stamp_ms: s.check_stamp_ms,
            started_at_ms: s.started_at_ms,
            claim: s.claim,
            ack: s.ack.map(|(r, c)| format!("{r}/{c}")),
        },
        Payload::Daemon(d) => Content::Daemon {
            generation: d.generation,
            node_name: d.node_name,
            web: d.web,
            software: d.software,
        },
    }
}

/// Reads the LSDB dump and the reachable routers; the dump is taken as
/// complete once nothing arrived for `quiet`.
pub async fn dump(
    server: SocketAddr,
    key: Option<&ClusterKey>,
    quiet: Duration,
) -> Result<Vec<Entry>, ClientError> {
    let mut session = Session::observe(server).await?;
    let me = session.router_id();
    session.request_dumps().await?;
    let mut lsas: BTreeMap<LsaRef, Vec<u8>> = BTreeMap::new();
    let mut reachable = vec![me];
    while let Ok(events) = tokio::time::timeout(quiet, session.next_events()).await {
        for e in events? {
            match e {
                Event::LsaUpdate { lsa, payload } => {
                    lsas.insert(lsa, payload);
                }
                Event::LsaDelete { lsa } => {
                    lsas.remove(&lsa);
                }
                Event::Reachability { added, removed } => {
                    reachable.extend(added);
                    reachable.retain(|r| !removed.contains(r));
                }
                _ => {}
            }
        }
    }
    Ok(lsas
        .into_iter()
        .map(|(lsa, payload)| entry(lsa, &payload, key, &reachable))
        .collect())
}

/// One LSA of the dump, as printed.
pub fn entry(
    lsa: LsaRef,
    payload: &[u8],
    key: Option<&ClusterKey>,
    reachable: &[RouterId],
) -> Entry {
    let (content, ignored) = content(lsa, payload, key);
    Entry {
        adv_router: lsa.adv_router,
        lsa_type: lsa.scope.lsa_type(),
        opaque_id: lsa.opaque_id,
        reachable: reachable.contains(&lsa.adv_router),
        ignored,
        content,
    }
}
