//! The looking glass: srrd's LSAs as the local ospfd holds them, decoded.
//! A read-only OSPF API session, so it runs beside the daemon.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::engine::{Event, LsaRef};
use crate::lsa::{self, ClusterKey, Payload};
use crate::model::{RouterId, Scope};
use crate::ospfapi::{ClientError, Session};

/// One srrd LSA in the local LSDB.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Entry {
    pub adv_router: RouterId,
    pub lsa_type: u8,
    pub opaque_id: u32,
    pub reachable: bool,
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

fn content(payload: &[u8], scope: Scope, key: Option<&ClusterKey>) -> Content {
    match lsa::decode(payload, scope, key) {
        Ok(Payload::Service(s)) => Content::Service {
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
        Ok(Payload::Daemon(d)) => Content::Daemon {
            generation: d.generation,
            node_name: d.node_name,
            web: d.web,
            software: d.software,
        },
        Err(e) => Content::Undecodable {
            error: e.to_string(),
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
        .map(|(lsa, payload)| Entry {
            adv_router: lsa.adv_router,
            lsa_type: lsa.scope.lsa_type(),
            opaque_id: lsa.opaque_id,
            reachable: reachable.contains(&lsa.adv_router),
            content: content(&payload, lsa.scope, key),
        })
        .collect())
}
