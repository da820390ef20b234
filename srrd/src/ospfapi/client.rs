//! The async OSPF API client: connects to ospfd's API server, registers
//! srrd's opaque type, and turns the session into engine events and engine
//! actions into requests. One session per connection; the caller reconnects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{timeout, Instant};
use tracing::{debug, info, warn};

use super::{
    encode, DeleteRequest, FrameDecoder, Header, Lsa, LsaFilter, LsaNotify, Msg, Origin,
    OriginateRequest, ReplyCode, WireError,
};
use crate::engine::{Action, Event, LsaRef};
use crate::lsa::OPAQUE_TYPE;
use crate::model::{RouterId, Scope};

/// How long connecting, the connect-back and each handshake step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);
/// RFC 2328 MaxAge: an LSA of this age is being flushed.
const MAX_AGE: u16 = 3600;
/// How long ospfd may take to become ready for our opaque type.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach ospfd's OSPF API at {server}: {source} (is ospfd running with -a/--apiserver?)")]
    Connect {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("ospfd at {server} never connected back to our async channel: {what}")]
    ConnectBack { server: SocketAddr, what: String },
    #[error("OSPF API session to {server}: {source}")]
    Io {
        server: SocketAddr,
        source: std::io::Error,
    },
    #[error("OSPF API session to {server}: {source}")]
    Wire {
        server: SocketAddr,
        source: WireError,
    },
    #[error("ospfd refused {request}: {code:?}{hint}")]
    Refused {
        request: &'static str,
        code: ReplyCode,
        hint: &'static str,
    },
    #[error("ospfd at {server} did not get ready for opaque LSAs within {secs} s: is `capability opaque` set under `router ospf`, and is an area configured?")]
    NotReady { server: SocketAddr, secs: u64 },
    #[error("ospfd at {server} closed the session")]
    Closed { server: SocketAddr },
    #[error("ospfd at {server} did not answer {request} within {secs} s")]
    NoReply {
        server: SocketAddr,
        request: &'static str,
        secs: u64,
    },
    #[error("ospfd's router id changed from {old} to {new}")]
    RouterIdChanged { old: RouterId, new: RouterId },
}

/// The local LSDB as one read gives it (the looking glass).
#[derive(Clone, Debug)]
pub struct LsdbSnapshot {
    pub router_id: RouterId,
    /// Routers reachable in the attached areas, this one included.
    pub reachable: Vec<RouterId>,
    /// Every LSA of every type and area, except flushed ones (MaxAge).
    pub lsas: Vec<LsaNotify>,
}

/// One side of the two-channel API: a stream and its frame decoder.
struct Channel {
    read: OwnedReadHalf,
    decoder: FrameDecoder,
    buf: Vec<u8>,
}

impl Channel {
    fn new(read: OwnedReadHalf) -> Channel {
        Channel {
            read,
            decoder: FrameDecoder::new(),
            buf: vec![0; 16 * 1024],
        }
    }

    /// The next message; malformed frames are logged and skipped.
    async fn next(&mut self, server: SocketAddr) -> Result<(Header, Msg), ClientError> {
        loop {
            match self.decoder.next() {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) if !e.is_fatal() => {
                    warn!(%server, error = %e, "skipping malformed OSPF API message");
                    continue;
                }
                Err(source) => return Err(ClientError::Wire { server, source }),
            }
            let n = self
                .read
                .read(&mut self.buf)
                .await
                .map_err(|source| ClientError::Io { server, source })?;
            if n == 0 {
                return Err(ClientError::Closed { server });
            }
            self.decoder.push(&self.buf[..n]);
        }
    }
}

/// What a REPLY answers.
enum Pending {
    Originate(LsaRef),
    Delete(LsaRef),
    Other(&'static str),
}

/// A registered, ready session.
pub struct Session {
    server: SocketAddr,
    router_id: RouterId,
    sync_write: OwnedWriteHalf,
    sync: Channel,
    notify: Channel,
    next_seq: u32,
    pending: HashMap<u32, Pending>,
    /// Areas ready for type-10 LSAs (READY_NOTIFY), the first one is used.
    areas: BTreeSet<Ipv4Addr>,
    /// Interfaces ready for type-9 LSAs.
    interfaces: BTreeSet<Ipv4Addr>,
    /// The seq of the SYNC_ROUTER_ID sent right after SYNC_LSDB: its answer
    /// marks the end of the LSDB dump (docs/ospf-api.md).
    dump_marker: Option<u32>,
    /// Notifications that arrived during the handshake.
    early: Vec<(Header, Msg)>,
}

/// Opens the sync channel from a local port P after listening on P+1, where
/// ospfd connects back for the async channel (ospf_apiserver.c). A port
/// pair that fails in any way is dropped and the next one tried.
async fn open_channels(server: SocketAddr) -> Result<(TcpStream, TcpStream), ClientError> {
    let local_ip: IpAddr = if server.ip().is_loopback() {
        server.ip()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    };
    let base = 49152 + (std::process::id() % 4000) as u16 * 2;
    let mut last_err = None;
    for attempt in 0..64u16 {
        let port = base.wrapping_add(attempt * 2);
        if !(49152..65534).contains(&port) || port.wrapping_add(1) == 2607 {
            continue;
        }
        let listener = match TcpListener::bind((local_ip, port + 1)).await {
            Ok(l) => l,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        let socket = match TcpSocket::new_v4().and_then(|s| {
            s.bind(SocketAddr::new(local_ip, port))?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        let sync = match timeout(STEP_TIMEOUT, socket.connect(server)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return Err(ClientError::Connect { server, source: e });
            }
            Ok(Err(e)) => {
                last_err = Some(e);
                continue;
            }
            Err(_) => {
                last_err = Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connect timed out",
                ));
                continue;
            }
        };
        match timeout(STEP_TIMEOUT, listener.accept()).await {
            Ok(Ok((notify, peer))) if peer.ip() == server.ip() || server.ip().is_loopback() => {
                debug!(%server, local_port = port, "OSPF API channels open");
                return Ok((sync, notify));
            }
            Ok(Ok((_, peer))) => {
                return Err(ClientError::ConnectBack {
                    server,
                    what: format!("unexpected connection from {peer}"),
                })
            }
            Ok(Err(e)) => last_err = Some(e),
            Err(_) => {
                return Err(ClientError::ConnectBack {
                    server,
                    what: format!("no connection to port {} within {STEP_TIMEOUT:?}", port + 1),
                })
            }
        }
    }
    Err(ClientError::Connect {
        server,
        source: last_err.unwrap_or_else(|| std::io::Error::other("no free local port pair")),
    })
}

fn event_filter() -> LsaFilter {
    LsaFilter::for_types(&[9, 10, 11], Origin::Any)
}

impl Session {
    /// Connects, registers opaque type 222 for `scopes`, subscribes to
    /// opaque LSA events and waits until ospfd is ready and has told us our
    /// router id.
    pub async fn open(
        server: SocketAddr,
        scopes: &BTreeSet<Scope>,
    ) -> Result<Session, ClientError> {
        let mut s = Session::connect(server).await?;
        s.register(scopes).await?;
        Ok(s)
    }

    /// A read-only session (the looking glass): no opaque type registered,
    /// so it can run beside the daemon on the same ospfd.
    pub async fn observe(server: SocketAddr) -> Result<Session, ClientError> {
        let mut s = Session::connect(server).await?;
        s.register(&BTreeSet::new()).await?;
        Ok(s)
    }

    async fn connect(server: SocketAddr) -> Result<Session, ClientError> {
        let (sync, notify) = open_channels(server).await?;
        let (sync_read, sync_write) = sync.into_split();
        let (notify_read, _notify_write) = notify.into_split();
        Ok(Session {
            server,
            router_id: RouterId(0),
            sync_write,
            sync: Channel::new(sync_read),
            notify: Channel::new(notify_read),
            next_seq: 1,
            pending: HashMap::new(),
            areas: BTreeSet::new(),
            interfaces: BTreeSet::new(),
            dump_marker: None,
            early: Vec::new(),
        })
    }

    async fn register(&mut self, scopes: &BTreeSet<Scope>) -> Result<(), ClientError> {
        let server = self.server;
        let s = self;
        for &scope in scopes {
            let code = s
                .call(Msg::RegisterOpaqueType {
                    scope,
                    opaque_type: OPAQUE_TYPE,
                })
                .await?;
            if code != ReplyCode::Ok {
                return Err(ClientError::Refused {
                    request: "REGISTER_OPAQUETYPE",
                    code,
                    hint: if code == ReplyCode::OpaqueTypeInUse {
                        " (another srrd is connected to this ospfd)"
                    } else {
                        ""
                    },
                });
            }
        }
        s.expect_ok("REGISTER_EVENT", Msg::RegisterEvent(event_filter()))
            .await?;
        s.expect_ok("SYNC_ROUTER_ID", Msg::SyncRouterId).await?;

        let deadline = Instant::now() + READY_TIMEOUT;
        let needs_area = scopes.contains(&Scope::Area);
        while s.router_id.0 == 0 || (needs_area && s.areas.is_empty()) {
            let frame = match tokio::time::timeout_at(deadline, s.notify.next(server)).await {
                Ok(f) => f?,
                Err(_) => {
                    return Err(ClientError::NotReady {
                        server,
                        secs: READY_TIMEOUT.as_secs(),
                    })
                }
            };
            match &frame.1 {
                Msg::RouterIdChange { router_id } => s.router_id = *router_id,
                Msg::ReadyNotify { .. } => s.note_ready(&frame.1),
                _ => s.early.push(frame),
            }
        }
        info!(%server, router_id = %s.router_id, areas = ?s.areas, "OSPF API session ready");
        Ok(())
    }

    pub fn router_id(&self) -> RouterId {
        self.router_id
    }

    /// Asks for the reachable routers and the LSDB; their notifications
    /// arrive through `next_events` like any others, and `Event::LsdbSynced`
    /// follows the last LSA of the dump.
    pub async fn request_dumps(&mut self) -> Result<(), ClientError> {
        self.send(Msg::SyncReachable, Pending::Other("SYNC_REACHABLE"))
            .await?;
        self.send(Msg::SyncLsdb(event_filter()), Pending::Other("SYNC_LSDB"))
            .await?;
        // ospfd answers requests in order and queues every notification on
        // the one async channel: this answer comes after the whole dump.
        let marker = self
            .send(Msg::SyncRouterId, Pending::Other("SYNC_ROUTER_ID"))
            .await?;
        self.dump_marker = Some(marker);
        Ok(())
    }

    /// Reads the whole LSDB (every LSA type) and the reachable routers. The
    /// dump's notifications and its REPLY come on different channels in
    /// any order (docs/ospf-api.md): it is taken as complete once both
    /// replies came and nothing arrived for `quiet`.
    pub async fn lsdb_snapshot(&mut self, quiet: Duration) -> Result<LsdbSnapshot, ClientError> {
        let all = LsaFilter {
            typemask: LsaFilter::ALL_TYPES,
            origin: Origin::Any,
            areas: Vec::new(),
        };
        self.send(Msg::SyncReachable, Pending::Other("SYNC_REACHABLE"))
            .await?;
        let dump = self
            .send(Msg::SyncLsdb(all), Pending::Other("SYNC_LSDB"))
            .await?;
        let server = self.server;
        let mut reachable = BTreeSet::from([self.router_id]);
        let mut lsas = BTreeMap::new();
        let mut waiting = 2;
        loop {
            let wait = if waiting > 0 { STEP_TIMEOUT } else { quiet };
            let (notify, sync) = (&mut self.notify, &mut self.sync);
            let frame = timeout(wait, async {
                tokio::select! {
                    frame = notify.next(server) => frame,
                    frame = sync.next(server) => frame,
                }
            })
            .await;
            let (header, msg) = match frame {
                Ok(frame) => frame?,
                Err(_) if waiting == 0 => break,
                Err(_) => {
                    return Err(ClientError::NoReply {
                        server,
                        request: "SYNC_LSDB",
                        secs: STEP_TIMEOUT.as_secs(),
                    })
                }
            };
            match msg {
                Msg::Reply { .. } if self.pending.remove(&header.seq).is_some() => waiting -= 1,
                Msg::LsaUpdateNotify(n) if header.seq == dump && n.lsa.header.age < MAX_AGE => {
                    let h = &n.lsa.header;
                    lsas.insert((h.lsa_type, n.area, h.ls_id, h.adv_router), n);
                }
                Msg::ReachableChange { added, removed } => {
                    reachable.extend(added);
                    reachable.retain(|r| !removed.contains(r));
                }
                _ => {}
            }
        }
        Ok(LsdbSnapshot {
            router_id: self.router_id,
            reachable: reachable.into_iter().collect(),
            lsas: lsas.into_values().collect(),
        })
    }

    fn note_ready(&mut self, msg: &Msg) {
        if let Msg::ReadyNotify {
            scope,
            opaque_type,
            addr,
        } = msg
        {
            if *opaque_type == OPAQUE_TYPE {
                match scope {
                    Scope::Area => self.areas.insert(*addr),
                    Scope::Link => self.interfaces.insert(*addr),
                    Scope::As => false,
                };
            }
        }
    }

    async fn send(&mut self, msg: Msg, pending: Pending) -> Result<u32, ClientError> {
        let seq = self.next_seq;
        self.next_seq = if self.next_seq >= 0x7fff_ffff {
            1
        } else {
            self.next_seq + 1
        };
        let bytes = encode(&msg, seq).map_err(|e| ClientError::Io {
            server: self.server,
            source: std::io::Error::other(e.to_string()),
        })?;
        // A wedged ospfd must not freeze the daemon (signals included).
        let written = timeout(STEP_TIMEOUT, self.sync_write.write_all(&bytes)).await;
        let io = |source| ClientError::Io {
            server: self.server,
            source,
        };
        match written {
            Ok(result) => result.map_err(io)?,
            Err(_) => {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "ospfd does not read its API socket",
                )))
            }
        }
        self.pending.insert(seq, pending);
        Ok(seq)
    }

    /// Sends a request and waits for its REPLY (handshake only: later,
    /// replies are handled as they come in `run`).
    async fn call(&mut self, msg: Msg) -> Result<ReplyCode, ClientError> {
        let name = msg.name();
        let seq = self.send(msg, Pending::Other(name)).await?;
        loop {
            let (header, msg) = timeout(STEP_TIMEOUT, self.sync.next(self.server))
                .await
                .map_err(|_| ClientError::ConnectBack {
                    server: self.server,
                    what: format!("no reply to {name}"),
                })??;
            if let Msg::Reply { errcode } = msg {
                self.pending.remove(&header.seq);
                if header.seq == seq {
                    return Ok(errcode);
                }
            }
        }
    }

    async fn expect_ok(&mut self, request: &'static str, msg: Msg) -> Result<(), ClientError> {
        match self.call(msg).await? {
            ReplyCode::Ok => Ok(()),
            code => Err(ClientError::Refused {
                request,
                code,
                hint: "",
            }),
        }
    }

    /// Carries out an engine action that talks to ospfd.
    pub async fn apply(&mut self, action: &Action) -> Result<(), ClientError> {
        match action {
            Action::Originate { lsa, payload } => {
                for (ifaddr, area) in self.placements(lsa.scope) {
                    let req = OriginateRequest {
                        ifaddr,
                        area,
                        lsa: Lsa::new_opaque(
                            lsa.scope,
                            OPAQUE_TYPE,
                            lsa.opaque_id,
                            payload.clone(),
                        ),
                    };
                    self.send(Msg::OriginateRequest(req), Pending::Originate(*lsa))
                        .await?;
                }
            }
            Action::Flush { lsa } => {
                for (ifaddr, area) in self.placements(lsa.scope) {
                    let req = DeleteRequest {
                        addr: match lsa.scope {
                            Scope::Link => ifaddr,
                            Scope::Area => area,
                            Scope::As => Ipv4Addr::UNSPECIFIED,
                        },
                        scope: lsa.scope,
                        opaque_type: OPAQUE_TYPE,
                        flags: 0,
                        opaque_id: lsa.opaque_id,
                    };
                    self.send(Msg::DeleteRequest(req), Pending::Delete(*lsa))
                        .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// (interface, area) pairs an LSA of `scope` goes to.
    fn placements(&self, scope: Scope) -> Vec<(Ipv4Addr, Ipv4Addr)> {
        let zero = Ipv4Addr::UNSPECIFIED;
        match scope {
            Scope::Link => self.interfaces.iter().map(|&i| (i, zero)).collect(),
            Scope::Area => vec![(zero, self.areas.first().copied().unwrap_or(zero))],
            Scope::As => vec![(zero, zero)],
        }
    }

    /// Handshake-time notifications, then everything the session delivers,
    /// as engine events, until the session fails.
    pub async fn next_events(&mut self) -> Result<Vec<Event>, ClientError> {
        if !self.early.is_empty() {
            let early = std::mem::take(&mut self.early);
            let mut events = Vec::new();
            for (_, msg) in early {
                events.extend(self.event_of(msg)?);
            }
            return Ok(events);
        }
        let server = self.server;
        // Both reads are cancel-safe: an unfinished read loses no bytes and
        // the decoders keep their state.
        let (notify, sync) = (&mut self.notify, &mut self.sync);
        tokio::select! {
            frame = notify.next(server) => {
                let (header, msg) = frame?;
                let mut events: Vec<Event> = self.event_of(msg)?.into_iter().collect();
                if self.dump_marker.is_some_and(|m| m == header.seq) {
                    self.dump_marker = None;
                    events.push(Event::LsdbSynced);
                }
                Ok(events)
            }
            frame = sync.next(server) => {
                let (header, msg) = frame?;
                Ok(self.on_reply(header, msg).into_iter().collect())
            }
        }
    }

    fn on_reply(&mut self, header: Header, msg: Msg) -> Option<Event> {
        let Msg::Reply { errcode } = msg else {
            debug!(msg = msg.name(), "unexpected message on the sync channel");
            return None;
        };
        let pending = self.pending.remove(&header.seq)?;
        if errcode == ReplyCode::Ok {
            return None;
        }
        match pending {
            Pending::Originate(lsa) => Some(Event::OriginateFailed {
                lsa,
                reason: format!("{errcode:?}"),
            }),
            Pending::Delete(lsa) => {
                debug!(%lsa, ?errcode, "delete request refused");
                None
            }
            Pending::Other(request) => {
                warn!(request, ?errcode, "ospfd refused a request");
                None
            }
        }
    }

    fn event_of(&mut self, msg: Msg) -> Result<Option<Event>, ClientError> {
        let lsa_event = |n: &LsaNotify| -> Option<LsaRef> {
            let scope = n.lsa.header.scope()?;
            (n.lsa.header.opaque_type() == OPAQUE_TYPE).then(|| LsaRef {
                adv_router: n.lsa.header.adv_router,
                scope,
                opaque_id: n.lsa.header.opaque_id(),
            })
        };
        Ok(match msg {
            // SYNC_LSDB also dumps flushed instances still waiting in the
            // LSDB at MaxAge: they are deletions, not state.
            Msg::LsaUpdateNotify(n) if n.lsa.header.age >= MAX_AGE => {
                lsa_event(&n).map(|lsa| Event::LsaDelete { lsa })
            }
            Msg::LsaUpdateNotify(n) => lsa_event(&n).map(|lsa| Event::LsaUpdate {
                lsa,
                payload: n.lsa.data,
            }),
            Msg::LsaDeleteNotify(n) => lsa_event(&n).map(|lsa| Event::LsaDelete { lsa }),
            Msg::ReachableChange { added, removed } => Some(Event::Reachability { added, removed }),
            Msg::RouterIdChange { router_id } if router_id != self.router_id => {
                return Err(ClientError::RouterIdChanged {
                    old: self.router_id,
                    new: router_id,
                })
            }
            msg @ Msg::ReadyNotify { .. } => {
                self.note_ready(&msg);
                None
            }
            other => {
                debug!(msg = other.name(), "OSPF API notification ignored");
                None
            }
        })
    }
}
