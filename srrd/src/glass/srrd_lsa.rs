//! srrd's own opaque LSAs in the looking glass: decoded, and marked when
//! the daemon ignores them, by the engine's rule.

use std::net::SocketAddr;

use serde::Serialize;

use crate::engine::LsaRef;
use crate::lsa::{self, ClusterKey, Payload};
use crate::model::RouterId;

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
        /// Still runs it while handing it over make-before-break.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        handover: bool,
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
            handover: s.handover,
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

/// One srrd LSA of the dump, as `srrd lsdb` prints it.
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
