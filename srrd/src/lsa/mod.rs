//! The opaque-LSA payload srrd floods (docs/protocol.md): a versioned,
//! length-checked TLV format with an optional HMAC-SHA256 tag.

use std::net::{IpAddr, SocketAddr};

use crate::model::{ConfigState, Failure, RouterId, RunState, ServiceKind};

mod codec;
mod daemon;
mod service;
mod tlv;
pub use codec::{
    decode, encode, encoded_len, ClusterKey, DecodeError, EncodeError, MAX_FAILURE_TEXT, MAX_NAME,
    MAX_SOFTWARE,
};

/// Opaque type of every srrd LSA (docs/protocol.md).
pub const OPAQUE_TYPE: u8 = 222;
/// Largest opaque payload whose LSA ospfd 8.4 still notifies to API clients
/// (1488-byte LSA minus the 20-byte header).
pub const MAX_PAYLOAD: usize = 1468;

/// One node's view of one service, as flooded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceLsa {
    pub name: String,
    /// Grows with every state change of this service on this node;
    /// receivers keep the instance with the highest one.
    pub generation: u64,
    pub kind: ServiceKind,
    pub config_state: ConfigState,
    pub run_state: RunState,
    pub preference: u8,
    pub critical: bool,
    /// Operator stopped it here: this node is not a candidate.
    pub standby: bool,
    /// The originator still runs it but hands it over make-before-break:
    /// its ACK lets the claimant start before it stops (docs/protocol.md).
    pub handover: bool,
    pub group: Option<String>,
    pub depends: Vec<String>,
    pub failure: Option<Failure>,
    pub check_interval_ms: u32,
    /// Wall-clock ms of the last successful check (0 = never).
    pub check_stamp_ms: u64,
    pub addresses: Vec<IpAddr>,
    /// Set by the holder during an operator move: start it on that node.
    pub handoff_to: Option<RouterId>,
    /// Wall-clock ms when it last started here (0 = not started): after a
    /// partition heals, the copy that ran longer keeps the service.
    pub started_at_ms: u64,
    /// The router that originated it, covered by the HMAC tag so a tagged
    /// payload cannot be replayed under another router id.
    pub originator: Option<RouterId>,
    /// Claim id, present while the originator claims the unit (run state
    /// `starting`).
    pub claim: Option<u64>,
    /// The originator acknowledges this claim: (claimant, claim id).
    pub ack: Option<(RouterId, u64)>,
}

impl ServiceLsa {
    /// The largest payload a service with these configured fields can
    /// flood: every runtime field present and at its longest. Lists every
    /// field, so a new one cannot be forgotten here.
    pub fn largest(
        name: &str,
        kind: ServiceKind,
        group: Option<&str>,
        depends: &[String],
        addresses: &[IpAddr],
    ) -> ServiceLsa {
        ServiceLsa {
            name: name.to_string(),
            generation: u64::MAX,
            kind,
            config_state: ConfigState::Active,
            run_state: RunState::Started,
            preference: u8::MAX,
            critical: true,
            standby: true,
            handover: true,
            group: group.map(str::to_string),
            depends: depends.to_vec(),
            failure: Some(Failure {
                code: u32::MAX,
                text: "x".repeat(MAX_FAILURE_TEXT),
            }),
            check_interval_ms: u32::MAX,
            check_stamp_ms: u64::MAX,
            addresses: addresses.to_vec(),
            handoff_to: Some(RouterId(u32::MAX)),
            started_at_ms: u64::MAX,
            originator: Some(RouterId(u32::MAX)),
            claim: Some(u64::MAX),
            ack: Some((RouterId(u32::MAX), u64::MAX)),
        }
    }
}

/// Where a node's web/API server is, so nodes find each other's UIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonLsa {
    pub generation: u64,
    pub node_name: String,
    pub web: Option<SocketAddr>,
    pub software: String,
    /// As in [`ServiceLsa::originator`].
    pub originator: Option<RouterId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Service(ServiceLsa),
    Daemon(DaemonLsa),
}

impl Payload {
    /// The router the payload says it was originated by.
    pub fn originator(&self) -> Option<RouterId> {
        match self {
            Payload::Service(s) => s.originator,
            Payload::Daemon(d) => d.originator,
        }
    }
}

/// Why a receiver ignores an LSA.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(transparent)]
    Undecodable(DecodeError),
    /// The ORIGINATOR TLV names another router than the advertising one,
    /// or is missing while a key is configured.
    #[error("it names {} as its originator", .named.map_or("no router".to_string(), |o| o.to_string()))]
    ForeignOriginator { named: Option<RouterId> },
}

/// Why a receiver ignores an LSA, as a closed set of values (metric
/// labels, counters); [`Refused`] carries the detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// The payload does not decode.
    Malformed,
    /// The HMAC tag does not match the cluster key.
    BadTag,
    /// A key is configured and the payload carries no tag.
    NoTag,
    /// The payload names another router as its originator.
    ForeignOriginator,
    /// A key is configured and the payload names no originator.
    NoOriginator,
}

impl IgnoreReason {
    pub const ALL: [IgnoreReason; 5] = [
        IgnoreReason::Malformed,
        IgnoreReason::BadTag,
        IgnoreReason::NoTag,
        IgnoreReason::ForeignOriginator,
        IgnoreReason::NoOriginator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IgnoreReason::Malformed => "malformed",
            IgnoreReason::BadTag => "bad_tag",
            IgnoreReason::NoTag => "no_tag",
            IgnoreReason::ForeignOriginator => "foreign_originator",
            IgnoreReason::NoOriginator => "no_originator",
        }
    }
}

impl Refused {
    pub fn reason(&self) -> IgnoreReason {
        match self {
            Refused::Undecodable(DecodeError::BadTag { .. }) => IgnoreReason::BadTag,
            Refused::Undecodable(
                DecodeError::MissingTag { .. } | DecodeError::TagNotLast { .. },
            ) => IgnoreReason::NoTag,
            Refused::Undecodable(_) => IgnoreReason::Malformed,
            Refused::ForeignOriginator { named: Some(_) } => IgnoreReason::ForeignOriginator,
            Refused::ForeignOriginator { named: None } => IgnoreReason::NoOriginator,
        }
    }

    /// A short label, as `srrd lsdb` shows it.
    pub fn label(&self) -> String {
        match (self.reason(), self) {
            (_, Refused::ForeignOriginator { named: Some(o) }) => {
                format!("foreign originator {o}")
            }
            (IgnoreReason::Malformed, _) => "undecodable".into(),
            (reason, _) => reason.as_str().replace('_', " "),
        }
    }
}

/// Decodes an LSA as the engine accepts it: the tag must verify when a key
/// is set, and the originator must be the advertising router. The tag
/// covers the originator, so a payload replayed under another router id is
/// refused (and without a key, at least noticed).
pub fn receive(
    payload: &[u8],
    scope: crate::model::Scope,
    adv_router: RouterId,
    key: Option<&ClusterKey>,
) -> Result<Payload, Refused> {
    let decoded = decode(payload, scope, key).map_err(Refused::Undecodable)?;
    let named = decoded.originator();
    if named.map_or(key.is_some(), |o| o != adv_router) {
        return Err(Refused::ForeignOriginator { named });
    }
    Ok(decoded)
}
