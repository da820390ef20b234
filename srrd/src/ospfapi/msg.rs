//! Typed OSPF API messages of FRR 8.4 and their bodies on the wire
//! (structs `msg_*` in ospfd/ospf_api.h; all fields big-endian).

use std::fmt;
use std::net::Ipv4Addr;

use super::frame::{HEADER_LEN, MAX_BODY_LEN, VERSION};
use super::msgtype as mt;
use crate::model::{RouterId, Scope};

/// Size of an OSPF LSA header (RFC 2328 A.4.1).
pub const LSA_HEADER_LEN: usize = 20;

/// DELETE_REQUEST flag `OSPF_API_DEL_ZERO_LEN_LSA`: flush the LSA with its
/// data stripped instead of with the last data.
pub const DEL_ZERO_LEN_LSA: u8 = 0x01;

/// The LSA ID of an opaque LSA (RFC 5250 section 3): opaque type in the top
/// byte, the 24-bit opaque id below it. Bits of `opaque_id` above 24 are dropped,
/// as ospfd does.
pub fn ls_id(opaque_type: u8, opaque_id: u32) -> u32 {
    (u32::from(opaque_type) << 24) | (opaque_id & 0x00ff_ffff)
}

/// Declares a one-byte wire enum that keeps values FRR 8.4 does not define
/// (`Other`), so a newer ospfd cannot make us drop a message.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident($repr:ty) {
        $($(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value FRR 8.4 does not define.
            Other($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> $name {
                match value {
                    $($value => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                match value {
                    $($name::$variant => $value,)*
                    $name::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $($name::$variant => f.write_str($text),)*
                    $name::Other(other) => write!(f, "unknown({other})"),
                }
            }
        }
    };
}

wire_enum! {
    /// Which LSAs an event registration or LSDB sync selects by originator
    /// (`LSAF_ORIGIN_*`).
    Origin(u8) {
        NonSelf = 0 => "non-self",
        SelfOriginated = 1 => "self",
        Any = 2 => "any",
    }
}

wire_enum! {
    /// REPLY error code (`OSPF_API_*`, a signed byte).
    ReplyCode(i8) {
        Ok = 0 => "OK",
        NoSuchInterface = -1 => "NOSUCHINTERFACE",
        NoSuchArea = -2 => "NOSUCHAREA",
        NoSuchLsa = -3 => "NOSUCHLSA",
        IllegalLsaType = -4 => "ILLEGALLSATYPE",
        OpaqueTypeInUse = -5 => "OPAQUETYPEINUSE",
        OpaqueTypeNotRegistered = -6 => "OPAQUETYPENOTREGISTERED",
        NotReady = -7 => "NOTREADY",
        NoMemory = -8 => "NOMEMORY",
        Error = -9 => "ERROR",
        Undef = -10 => "UNDEF",
    }
}

wire_enum! {
    /// Interface state machine state (`ISM_*` in ospf_ism.h).
    IsmState(u8) {
        DependUpon = 0 => "DependUpon",
        Down = 1 => "Down",
        Loopback = 2 => "Loopback",
        Waiting = 3 => "Waiting",
        PointToPoint = 4 => "Point-To-Point",
        DrOther = 5 => "DROther",
        Backup = 6 => "Backup",
        Dr = 7 => "DR",
    }
}

wire_enum! {
    /// Neighbor state machine state (`NSM_*` in ospf_nsm.h).
    NsmState(u8) {
        DependUpon = 0 => "DependUpon",
        Deleted = 1 => "Deleted",
        Down = 2 => "Down",
        Attempt = 3 => "Attempt",
        Init = 4 => "Init",
        TwoWay = 5 => "2-Way",
        ExStart = 6 => "ExStart",
        Exchange = 7 => "Exchange",
        Loading = 8 => "Loading",
        Full = 9 => "Full",
    }
}

/// `struct lsa_filter_type`: which LSAs REGISTER_EVENT / SYNC_LSDB select.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LsaFilter {
    /// Bit (t-1) selects LSA type t (ospf_apiserver.c tests
    /// `typemask & (1 << (type - 1))`; FRR's python client gets this wrong).
    pub typemask: u16,
    pub origin: Origin,
    /// Empty = all areas. ospfd ignores it for type 5 and 11 LSAs.
    pub areas: Vec<Ipv4Addr>,
}

impl LsaFilter {
    /// Every LSA type, any originator, all areas.
    pub const ALL_TYPES: u16 = 0xffff;

    /// A filter for the given LSA types (1..=16; others are ignored).
    pub fn for_types(lsa_types: &[u8], origin: Origin) -> LsaFilter {
        let typemask = lsa_types
            .iter()
            .filter(|t| (1..=16).contains(*t))
            .fold(0u16, |mask, t| mask | (1 << (t - 1)));
        LsaFilter {
            typemask,
            origin,
            areas: Vec::new(),
        }
    }

    pub fn selects_type(&self, lsa_type: u8) -> bool {
        (1..=16).contains(&lsa_type) && self.typemask & (1 << (lsa_type - 1)) != 0
    }
}

/// An LSA header as carried by the API. ospfd ignores everything but type and
/// LSA ID in an ORIGINATE_REQUEST and fills in the rest itself.
/// The length field is not stored: it is always `20 + data.len()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LsaHeader {
    pub age: u16,
    pub options: u8,
    pub lsa_type: u8,
    pub ls_id: u32,
    pub adv_router: RouterId,
    pub seq: u32,
    pub checksum: u16,
}

impl LsaHeader {
    /// Meaningful for opaque LSAs (types 9, 10, 11) only.
    pub fn opaque_type(&self) -> u8 {
        (self.ls_id >> 24) as u8
    }

    /// Meaningful for opaque LSAs (types 9, 10, 11) only.
    pub fn opaque_id(&self) -> u32 {
        self.ls_id & 0x00ff_ffff
    }

    pub fn scope(&self) -> Option<Scope> {
        Scope::from_lsa_type(self.lsa_type)
    }
}

/// A complete LSA: header and everything after it (for opaque LSAs, the
/// opaque data).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lsa {
    pub header: LsaHeader,
    pub data: Vec<u8>,
}

impl Lsa {
    /// A new opaque LSA as a client hands it to ORIGINATE_REQUEST: age,
    /// options, advertising router, sequence number and checksum are left 0
    /// for ospfd to fill in.
    pub fn new_opaque(scope: Scope, opaque_type: u8, opaque_id: u32, data: Vec<u8>) -> Lsa {
        Lsa {
            header: LsaHeader {
                age: 0,
                options: 0,
                lsa_type: scope.lsa_type(),
                ls_id: ls_id(opaque_type, opaque_id),
                adv_router: RouterId(0),
                seq: 0,
                checksum: 0,
            },
            data,
        }
    }

    /// The LSA as it is flooded: header and data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length());
        put_lsa(&mut out, self, false);
        out
    }

    /// The LSA header's length field.
    pub fn length(&self) -> usize {
        LSA_HEADER_LEN + self.data.len()
    }
}

/// `struct msg_originate_request`. The same request for an existing LSA ID
/// is an update.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginateRequest {
    /// Selects the interface for type 9; 0 otherwise.
    pub ifaddr: Ipv4Addr,
    /// Selects the area for type 10; 0 otherwise.
    pub area: Ipv4Addr,
    /// Encoded with the data zero-padded to a multiple of 4 bytes (the
    /// padding becomes part of the flooded LSA).
    pub lsa: Lsa,
}

/// `struct msg_delete_request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DeleteRequest {
    /// Area id for type 10, interface address for type 9, 0 for type 11.
    pub addr: Ipv4Addr,
    pub scope: Scope,
    pub opaque_type: u8,
    /// `DEL_ZERO_LEN_LSA` or 0.
    pub flags: u8,
    /// ospfd uses the low 24 bits.
    pub opaque_id: u32,
}

/// `struct msg_lsa_change_notify`: body of LSA_UPDATE_NOTIFY and
/// LSA_DELETE_NOTIFY.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LsaNotify {
    /// Interface of a type 9 LSA; 0 otherwise.
    pub ifaddr: Ipv4Addr,
    /// Area of the LSA; 0 for types 5 and 11.
    pub area: Ipv4Addr,
    pub is_self_originated: bool,
    pub lsa: Lsa,
}

/// One OSPF API message, either direction. Requests go client -> ospfd on
/// the sync channel and are each answered by one `Reply` with the same seq;
/// all other server messages come on the async channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Msg {
    RegisterOpaqueType {
        scope: Scope,
        opaque_type: u8,
    },
    /// Also flushes every LSA of that type this client originated.
    UnregisterOpaqueType {
        scope: Scope,
        opaque_type: u8,
    },
    RegisterEvent(LsaFilter),
    /// Dumps matching LSAs as LSA_UPDATE_NOTIFY carrying this request's seq.
    SyncLsdb(LsaFilter),
    OriginateRequest(OriginateRequest),
    DeleteRequest(DeleteRequest),
    /// Answered by one REACHABLE_CHANGE listing every reachable router.
    SyncReachable,
    SyncIsm,
    /// The dump includes one entry per interface for the router itself.
    SyncNsm,
    SyncRouterId,

    Reply {
        errcode: ReplyCode,
    },
    /// ospfd can now originate this opaque type at `addr` (interface for
    /// type 9, area for type 10, 0 for type 11).
    ReadyNotify {
        scope: Scope,
        opaque_type: u8,
        addr: Ipv4Addr,
    },
    LsaUpdateNotify(LsaNotify),
    /// Comes right before the UPDATE when an LSA is replaced. A flush gives
    /// neighbours one with the old header at once and another (age 3600)
    /// when the MaxAge copy leaves the LSDB; the originator gets only the
    /// latter (docs/ospf-api.md).
    LsaDeleteNotify(LsaNotify),
    NewIf {
        ifaddr: Ipv4Addr,
        area: Ipv4Addr,
    },
    DelIf {
        ifaddr: Ipv4Addr,
    },
    IsmChange {
        ifaddr: Ipv4Addr,
        area: Ipv4Addr,
        state: IsmState,
    },
    NsmChange {
        ifaddr: Ipv4Addr,
        nbraddr: Ipv4Addr,
        router_id: RouterId,
        state: NsmState,
    },
    /// Routers that became reachable / unreachable in the attached areas.
    ReachableChange {
        added: Vec<RouterId>,
        removed: Vec<RouterId>,
    },
    /// The local router id only.
    RouterIdChange {
        router_id: RouterId,
    },
    /// A message type FRR 8.4 does not define: kept, not fatal.
    Unknown {
        msgtype: u8,
        body: Vec<u8>,
    },
}

impl Msg {
    pub fn msgtype(&self) -> u8 {
        match self {
            Msg::RegisterOpaqueType { .. } => mt::REGISTER_OPAQUETYPE,
            Msg::UnregisterOpaqueType { .. } => mt::UNREGISTER_OPAQUETYPE,
            Msg::RegisterEvent(_) => mt::REGISTER_EVENT,
            Msg::SyncLsdb(_) => mt::SYNC_LSDB,
            Msg::OriginateRequest(_) => mt::ORIGINATE_REQUEST,
            Msg::DeleteRequest(_) => mt::DELETE_REQUEST,
            Msg::SyncReachable => mt::SYNC_REACHABLE,
            Msg::SyncIsm => mt::SYNC_ISM,
            Msg::SyncNsm => mt::SYNC_NSM,
            Msg::SyncRouterId => mt::SYNC_ROUTER_ID,
            Msg::Reply { .. } => mt::REPLY,
            Msg::ReadyNotify { .. } => mt::READY_NOTIFY,
            Msg::LsaUpdateNotify(_) => mt::LSA_UPDATE_NOTIFY,
            Msg::LsaDeleteNotify(_) => mt::LSA_DELETE_NOTIFY,
            Msg::NewIf { .. } => mt::NEW_IF,
            Msg::DelIf { .. } => mt::DEL_IF,
            Msg::IsmChange { .. } => mt::ISM_CHANGE,
            Msg::NsmChange { .. } => mt::NSM_CHANGE,
            Msg::ReachableChange { .. } => mt::REACHABLE_CHANGE,
            Msg::RouterIdChange { .. } => mt::ROUTER_ID_CHANGE,
            Msg::Unknown { msgtype, .. } => *msgtype,
        }
    }

    /// FRR's name of this message's type, for logs.
    pub fn name(&self) -> &'static str {
        mt::name(self.msgtype())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("{} body of {len} bytes exceeds the {max}-byte limit", mt::name(*msgtype))]
    BodyTooLong { msgtype: u8, len: usize, max: usize },
    #[error("{} lists {count} {what}, more than its count field can hold", mt::name(*msgtype))]
    TooMany {
        msgtype: u8,
        what: &'static str,
        count: usize,
    },
}

/// A message body that does not parse. `offset` is from the body's start.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
#[error("malformed body at offset {offset}: {what}")]
pub struct BodyError {
    pub offset: usize,
    pub what: &'static str,
}

/// One framed message: header (version, type, body length, `seq`) + body.
pub fn encode(msg: &Msg, seq: u32) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(msg, seq, &mut out)?;
    Ok(out)
}

/// Appends one framed message to `out`; on error `out` is left unchanged.
pub fn encode_into(msg: &Msg, seq: u32, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&[VERSION, msg.msgtype(), 0, 0]);
    out.extend_from_slice(&seq.to_be_bytes());
    if let Err(e) = encode_body(msg, out) {
        out.truncate(start);
        return Err(e);
    }
    let len = out.len() - start - HEADER_LEN;
    if len > MAX_BODY_LEN {
        out.truncate(start);
        return Err(EncodeError::BodyTooLong {
            msgtype: msg.msgtype(),
            len,
            max: MAX_BODY_LEN,
        });
    }
    // MAX_BODY_LEN < 2^16, so the length fits its field.
    out[start + 2..start + 4].copy_from_slice(&(len as u16).to_be_bytes());
    Ok(())
}

fn put_addr(out: &mut Vec<u8>, addr: Ipv4Addr) {
    out.extend_from_slice(&addr.octets());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_filter(out: &mut Vec<u8>, msgtype: u8, filter: &LsaFilter) -> Result<(), EncodeError> {
    let num_areas = u8::try_from(filter.areas.len()).map_err(|_| EncodeError::TooMany {
        msgtype,
        what: "areas",
        count: filter.areas.len(),
    })?;
    out.extend_from_slice(&filter.typemask.to_be_bytes());
    out.extend_from_slice(&[u8::from(filter.origin), num_areas]);
    for area in &filter.areas {
        put_addr(out, *area);
    }
    Ok(())
}

fn put_lsa(out: &mut Vec<u8>, lsa: &Lsa, pad_to_4: bool) {
    let pad = if pad_to_4 {
        (4 - lsa.data.len() % 4) % 4
    } else {
        0
    };
    let h = &lsa.header;
    out.extend_from_slice(&h.age.to_be_bytes());
    out.extend_from_slice(&[h.options, h.lsa_type]);
    put_u32(out, h.ls_id);
    put_u32(out, h.adv_router.0);
    put_u32(out, h.seq);
    out.extend_from_slice(&h.checksum.to_be_bytes());
    // An oversized LSA saturates here; the body length check rejects it.
    let length = u16::try_from(lsa.length() + pad).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&lsa.data);
    out.resize(out.len() + pad, 0);
}

fn put_notify(out: &mut Vec<u8>, n: &LsaNotify) {
    put_addr(out, n.ifaddr);
    put_addr(out, n.area);
    out.extend_from_slice(&[u8::from(n.is_self_originated), 0, 0, 0]);
    put_lsa(out, &n.lsa, false);
}

fn encode_body(msg: &Msg, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match msg {
        Msg::RegisterOpaqueType { scope, opaque_type }
        | Msg::UnregisterOpaqueType { scope, opaque_type } => {
            out.extend_from_slice(&[scope.lsa_type(), *opaque_type, 0, 0]);
        }
        Msg::RegisterEvent(filter) | Msg::SyncLsdb(filter) => {
            put_filter(out, msg.msgtype(), filter)?;
        }
        Msg::OriginateRequest(o) => {
            put_addr(out, o.ifaddr);
            put_addr(out, o.area);
            put_lsa(out, &o.lsa, true);
        }
        Msg::DeleteRequest(d) => {
            put_addr(out, d.addr);
            out.extend_from_slice(&[d.scope.lsa_type(), d.opaque_type, 0, d.flags]);
            put_u32(out, d.opaque_id);
        }
        // ospfd reads no body; FRR's clients send 4 zero bytes.
        Msg::SyncReachable | Msg::SyncIsm | Msg::SyncNsm | Msg::SyncRouterId => {
            out.extend_from_slice(&[0; 4]);
        }
        Msg::Reply { errcode } => {
            out.extend_from_slice(&[i8::from(*errcode) as u8, 0, 0, 0]);
        }
        Msg::ReadyNotify {
            scope,
            opaque_type,
            addr,
        } => {
            out.extend_from_slice(&[scope.lsa_type(), *opaque_type, 0, 0]);
            put_addr(out, *addr);
        }
        Msg::LsaUpdateNotify(n) | Msg::LsaDeleteNotify(n) => put_notify(out, n),
        Msg::NewIf { ifaddr, area } => {
            put_addr(out, *ifaddr);
            put_addr(out, *area);
        }
        Msg::DelIf { ifaddr } => put_addr(out, *ifaddr),
        Msg::IsmChange {
            ifaddr,
            area,
            state,
        } => {
            put_addr(out, *ifaddr);
            put_addr(out, *area);
            out.extend_from_slice(&[u8::from(*state), 0, 0, 0]);
        }
        Msg::NsmChange {
            ifaddr,
            nbraddr,
            router_id,
            state,
        } => {
            put_addr(out, *ifaddr);
            put_addr(out, *nbraddr);
            put_u32(out, router_id.0);
            out.extend_from_slice(&[u8::from(*state), 0, 0, 0]);
        }
        Msg::ReachableChange { added, removed } => {
            let count = |ids: &Vec<RouterId>| {
                u16::try_from(ids.len()).map_err(|_| EncodeError::TooMany {
                    msgtype: mt::REACHABLE_CHANGE,
                    what: "router ids",
                    count: ids.len(),
                })
            };
            let (nadd, nremove) = (count(added)?, count(removed)?);
            out.extend_from_slice(&nadd.to_be_bytes());
            out.extend_from_slice(&nremove.to_be_bytes());
            for id in added.iter().chain(removed) {
                put_u32(out, id.0);
            }
        }
        Msg::RouterIdChange { router_id } => put_u32(out, router_id.0),
        Msg::Unknown { body, .. } => out.extend_from_slice(body),
    }
    Ok(())
}

/// Reads big-endian fields off a body, naming the field that ran short.
struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], BodyError> {
        match self.body.get(self.pos..self.pos.saturating_add(n)) {
            Some(bytes) => {
                self.pos += n;
                Ok(bytes)
            }
            None => Err(BodyError {
                offset: self.pos,
                what,
            }),
        }
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, BodyError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, BodyError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, BodyError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn addr(&mut self, what: &'static str) -> Result<Ipv4Addr, BodyError> {
        self.u32(what).map(Ipv4Addr::from)
    }

    fn skip(&mut self, n: usize, what: &'static str) -> Result<(), BodyError> {
        self.take(n, what).map(|_| ())
    }

    fn scope(&mut self) -> Result<Scope, BodyError> {
        let offset = self.pos;
        let lsa_type = self.u8("lsa type")?;
        Scope::from_lsa_type(lsa_type).ok_or(BodyError {
            offset,
            what: "lsa type is not opaque (9, 10 or 11)",
        })
    }

    fn filter(&mut self) -> Result<LsaFilter, BodyError> {
        let typemask = self.u16("filter typemask")?;
        let origin = Origin::from(self.u8("filter origin")?);
        let num_areas = self.u8("filter num_areas")?;
        let areas = (0..num_areas)
            .map(|_| self.addr("filter area list (shorter than num_areas)"))
            .collect::<Result<_, _>>()?;
        Ok(LsaFilter {
            typemask,
            origin,
            areas,
        })
    }

    /// An LSA that ends where its length field says; bytes after it are
    /// ignored.
    fn lsa(&mut self) -> Result<Lsa, BodyError> {
        let start = self.pos;
        let age = self.u16("lsa age")?;
        let options = self.u8("lsa options")?;
        let lsa_type = self.u8("lsa type")?;
        let ls_id = self.u32("lsa id")?;
        let adv_router = RouterId(self.u32("lsa advertising router")?);
        let seq = self.u32("lsa sequence number")?;
        let checksum = self.u16("lsa checksum")?;
        let length_at = self.pos;
        let length = usize::from(self.u16("lsa length")?);
        let data_len = length.checked_sub(LSA_HEADER_LEN).ok_or(BodyError {
            offset: length_at,
            what: "lsa length below the 20-byte header",
        })?;
        let data = self
            .take(data_len, "lsa length beyond the message body")?
            .to_vec();
        debug_assert_eq!(self.pos - start, length);
        Ok(Lsa {
            header: LsaHeader {
                age,
                options,
                lsa_type,
                ls_id,
                adv_router,
                seq,
                checksum,
            },
            data,
        })
    }

    fn notify(&mut self) -> Result<LsaNotify, BodyError> {
        let ifaddr = self.addr("ifaddr")?;
        let area = self.addr("area id")?;
        let is_self_originated = self.u8("is_self_originated")? != 0;
        self.skip(3, "padding")?;
        let lsa = self.lsa()?;
        Ok(LsaNotify {
            ifaddr,
            area,
            is_self_originated,
            lsa,
        })
    }
}

/// Decodes the body of a message of type `msgtype`. Bytes after the
/// fields a message defines are ignored, as ospfd does.
pub fn decode_body(msgtype: u8, body: &[u8]) -> Result<Msg, BodyError> {
    let mut r = Reader { body, pos: 0 };
    let msg = match msgtype {
        mt::REGISTER_OPAQUETYPE | mt::UNREGISTER_OPAQUETYPE => {
            let scope = r.scope()?;
            let opaque_type = r.u8("opaque type")?;
            r.skip(2, "padding")?;
            if msgtype == mt::REGISTER_OPAQUETYPE {
                Msg::RegisterOpaqueType { scope, opaque_type }
            } else {
                Msg::UnregisterOpaqueType { scope, opaque_type }
            }
        }
        mt::REGISTER_EVENT => Msg::RegisterEvent(r.filter()?),
        mt::SYNC_LSDB => Msg::SyncLsdb(r.filter()?),
        mt::ORIGINATE_REQUEST => Msg::OriginateRequest(OriginateRequest {
            ifaddr: r.addr("ifaddr")?,
            area: r.addr("area id")?,
            lsa: r.lsa()?,
        }),
        mt::DELETE_REQUEST => {
            let addr = r.addr("addr")?;
            let scope = r.scope()?;
            let opaque_type = r.u8("opaque type")?;
            r.skip(1, "padding")?;
            let flags = r.u8("flags")?;
            let opaque_id = r.u32("opaque id")?;
            Msg::DeleteRequest(DeleteRequest {
                addr,
                scope,
                opaque_type,
                flags,
                opaque_id,
            })
        }
        mt::SYNC_REACHABLE => Msg::SyncReachable,
        mt::SYNC_ISM => Msg::SyncIsm,
        mt::SYNC_NSM => Msg::SyncNsm,
        mt::SYNC_ROUTER_ID => Msg::SyncRouterId,
        mt::REPLY => {
            let errcode = ReplyCode::from(r.u8("errcode")? as i8);
            r.skip(3, "padding")?;
            Msg::Reply { errcode }
        }
        mt::READY_NOTIFY => {
            let scope = r.scope()?;
            let opaque_type = r.u8("opaque type")?;
            r.skip(2, "padding")?;
            let addr = r.addr("addr")?;
            Msg::ReadyNotify {
                scope,
                opaque_type,
                addr,
            }
        }
        mt::LSA_UPDATE_NOTIFY => Msg::LsaUpdateNotify(r.notify()?),
        mt::LSA_DELETE_NOTIFY => Msg::LsaDeleteNotify(r.notify()?),
        mt::NEW_IF => Msg::NewIf {
            ifaddr: r.addr("ifaddr")?,
            area: r.addr("area id")?,
        },
        mt::DEL_IF => Msg::DelIf {
            ifaddr: r.addr("ifaddr")?,
        },
        mt::ISM_CHANGE => {
            let ifaddr = r.addr("ifaddr")?;
            let area = r.addr("area id")?;
            let state = IsmState::from(r.u8("ism state")?);
            r.skip(3, "padding")?;
            Msg::IsmChange {
                ifaddr,
                area,
                state,
            }
        }
        mt::NSM_CHANGE => {
            let ifaddr = r.addr("ifaddr")?;
            let nbraddr = r.addr("neighbor address")?;
            let router_id = RouterId(r.u32("neighbor router id")?);
            let state = NsmState::from(r.u8("nsm state")?);
            r.skip(3, "padding")?;
            Msg::NsmChange {
                ifaddr,
                nbraddr,
                router_id,
                state,
            }
        }
        mt::REACHABLE_CHANGE => {
            let nadd = r.u16("nadd")?;
            let nremove = r.u16("nremove")?;
            // Each read is checked against the body, so a lying count cannot
            // make this allocate more than the body holds.
            let mut ids = |n: u16| {
                (0..n)
                    .map(|_| {
                        r.u32("router id list (shorter than nadd + nremove)")
                            .map(RouterId)
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            let added = ids(nadd)?;
            let removed = ids(nremove)?;
            Msg::ReachableChange { added, removed }
        }
        mt::ROUTER_ID_CHANGE => Msg::RouterIdChange {
            router_id: RouterId(r.u32("router id")?),
        },
        _ => Msg::Unknown {
            msgtype,
            body: body.to_vec(),
        },
    };
    Ok(msg)
}
