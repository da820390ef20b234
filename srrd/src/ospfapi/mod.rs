//! FRR ospfd's OSPF API (`ospfd -a`, TCP 2607), as spoken by FRR 8.4:
//! the sans-IO message codec. No sockets here: the caller moves bytes,
//! `FrameDecoder` cuts them into frames and `encode` builds requests.
//!
//! Wire facts (measured against real ospfd in docs/ospf-api.md and docs/frr.md
//! and in the transcripts under `srrd/tests/transcripts/`) are summarised
//! in `docs/ospf-api.md`.

mod client;
mod frame;
mod msg;

pub use client::{ClientError, LsdbSnapshot, Session};

pub use frame::{FrameDecoder, Header, WireError, HEADER_LEN, MAX_BODY_LEN, VERSION};
pub use msg::{
    decode_body, encode, encode_into, ls_id, BodyError, DeleteRequest, EncodeError, IsmState, Lsa,
    LsaFilter, LsaHeader, LsaNotify, Msg, NsmState, Origin, OriginateRequest, ReplyCode,
    DEL_ZERO_LEN_LSA, LSA_HEADER_LEN,
};

/// Message type numbers (`MSG_*` in FRR's ospf_api.h).
pub mod msgtype {
    pub const REGISTER_OPAQUETYPE: u8 = 1;
    pub const UNREGISTER_OPAQUETYPE: u8 = 2;
    pub const REGISTER_EVENT: u8 = 3;
    pub const SYNC_LSDB: u8 = 4;
    pub const ORIGINATE_REQUEST: u8 = 5;
    pub const DELETE_REQUEST: u8 = 6;
    pub const SYNC_REACHABLE: u8 = 7;
    pub const SYNC_ISM: u8 = 8;
    pub const SYNC_NSM: u8 = 9;
    pub const REPLY: u8 = 10;
    pub const READY_NOTIFY: u8 = 11;
    pub const LSA_UPDATE_NOTIFY: u8 = 12;
    pub const LSA_DELETE_NOTIFY: u8 = 13;
    pub const NEW_IF: u8 = 14;
    pub const DEL_IF: u8 = 15;
    pub const ISM_CHANGE: u8 = 16;
    pub const NSM_CHANGE: u8 = 17;
    pub const REACHABLE_CHANGE: u8 = 18;
    pub const SYNC_ROUTER_ID: u8 = 19;
    pub const ROUTER_ID_CHANGE: u8 = 20;

    /// FRR's name for a message type, for logs.
    pub fn name(msgtype: u8) -> &'static str {
        match msgtype {
            REGISTER_OPAQUETYPE => "REGISTER_OPAQUETYPE",
            UNREGISTER_OPAQUETYPE => "UNREGISTER_OPAQUETYPE",
            REGISTER_EVENT => "REGISTER_EVENT",
            SYNC_LSDB => "SYNC_LSDB",
            ORIGINATE_REQUEST => "ORIGINATE_REQUEST",
            DELETE_REQUEST => "DELETE_REQUEST",
            SYNC_REACHABLE => "SYNC_REACHABLE",
            SYNC_ISM => "SYNC_ISM",
            SYNC_NSM => "SYNC_NSM",
            REPLY => "REPLY",
            READY_NOTIFY => "READY_NOTIFY",
            LSA_UPDATE_NOTIFY => "LSA_UPDATE_NOTIFY",
            LSA_DELETE_NOTIFY => "LSA_DELETE_NOTIFY",
            NEW_IF => "NEW_IF",
            DEL_IF => "DEL_IF",
            ISM_CHANGE => "ISM_CHANGE",
            NSM_CHANGE => "NSM_CHANGE",
            REACHABLE_CHANGE => "REACHABLE_CHANGE",
            SYNC_ROUTER_ID => "SYNC_ROUTER_ID",
            ROUTER_ID_CHANGE => "ROUTER_ID_CHANGE",
            _ => "UNKNOWN",
        }
    }
}

#[cfg(test)]
mod tests;
