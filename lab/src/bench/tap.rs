//! `srrd-bench tap`: a read-only OSPF API session on the local ospfd that
//! prints every srrd LSA event as it arrives, one JSON line each, with the
//! wall clock in ms: which node floods what, when (claims, acknowledgements,
//! starts), and how many updates the domain carries. Blocking sockets and
//! srrd's sans-IO codec; it registers no opaque type, so it runs beside
//! srrd on the same ospfd.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use serde_json::json;
use srrd::lsa::{self, Payload, OPAQUE_TYPE};
use srrd::ospfapi::{encode, FrameDecoder, LsaFilter, LsaNotify, Msg, Origin};

use super::measure::unix_ms;

const MAX_AGE: u16 = 3600;

/// Connects to `server` (ospfd's API on this namespace's loopback) and
/// prints events to stdout until the session ends.
pub fn run(server: SocketAddrV4) -> Result<(), String> {
    let (mut sync, mut notify) = open_channels(server)?;
    let filter = LsaFilter::for_types(&[9, 10, 11], Origin::Any);
    let request = encode(&Msg::RegisterEvent(filter), 1).map_err(|e| format!("{e:?}"))?;
    sync.write_all(&request)
        .map_err(|e| format!("REGISTER_EVENT: {e}"))?;
    let mut decoder = FrameDecoder::new();
    let mut buf = vec![0u8; 64 * 1024];
    let stdout = std::io::stdout();
    loop {
        let n = notify.read(&mut buf).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Ok(());
        }
        let now = unix_ms();
        decoder.push(&buf[..n]);
        let mut out = stdout.lock();
        while let Some((_, msg)) = decoder.next().map_err(|e| format!("{e:?}"))? {
            let line = match &msg {
                Msg::LsaUpdateNotify(n) if n.lsa.header.age < MAX_AGE => event(now, "update", n),
                Msg::LsaUpdateNotify(n) | Msg::LsaDeleteNotify(n) => event(now, "delete", n),
                Msg::ReachableChange { added, removed } => Some(json!({
                    "ms": now, "event": "reachable",
                    "added": added.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "removed": removed.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                })),
                _ => None,
            };
            if let Some(line) = line {
                writeln!(out, "{line}").map_err(|e| format!("stdout: {e}"))?;
            }
        }
        out.flush().map_err(|e| format!("stdout: {e}"))?;
    }
}

/// One srrd LSA event; None for other opaque types.
fn event(now: f64, kind: &str, n: &LsaNotify) -> Option<serde_json::Value> {
    let h = &n.lsa.header;
    if h.opaque_type() != OPAQUE_TYPE {
        return None;
    }
    let scope = h.scope()?;
    let mut v = json!({
        "ms": now, "event": kind, "adv_router": h.adv_router.to_string(),
        "opaque_id": h.opaque_id(), "seq": h.seq,
    });
    if kind == "update" {
        match lsa::decode(&n.lsa.data, scope, None) {
            Ok(Payload::Service(s)) => {
                v["service"] = json!(s.name);
                v["state"] = json!(format!("{}/{}", s.config_state, s.run_state));
                v["generation"] = json!(s.generation);
                v["check_stamp_ms"] = json!(s.check_stamp_ms);
                if let Some(claim) = s.claim {
                    v["claim"] = json!(claim);
                }
                if let Some((router, claim)) = s.ack {
                    v["ack"] = json!({"router": router.to_string(), "claim": claim});
                }
            }
            Ok(Payload::Daemon(d)) => v["daemon"] = json!(d.node_name),
            Err(e) => v["error"] = json!(e.to_string()),
        }
    }
    Some(v)
}

/// The API's two channels: we connect from port P (sync), ospfd connects
/// back to P+1 (notifications).
fn open_channels(server: SocketAddrV4) -> Result<(TcpStream, TcpStream), String> {
    let local = *server.ip();
    // Away from srrd's range (49152 + pid % 4000 * 2 on the same loopback).
    let base = 40000 + (std::process::id() % 2000) as u16 * 2;
    let mut last = String::from("no port pair");
    for attempt in 0..64u16 {
        let port = base + attempt * 2;
        let listener = match TcpListener::bind(SocketAddrV4::new(local, port + 1)) {
            Ok(l) => l,
            Err(e) => {
                last = format!("bind {}: {e}", port + 1);
                continue;
            }
        };
        let sync = match connect_from(SocketAddrV4::new(local, port), server) {
            Ok(s) => s,
            Err(e) => {
                last = e;
                continue;
            }
        };
        listener
            .set_nonblocking(false)
            .map_err(|e| format!("listener: {e}"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(listener.accept());
        });
        return match rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok((notify, _))) => Ok((sync, notify)),
            Ok(Err(e)) => Err(format!("accept: {e}")),
            Err(_) => Err(format!("ospfd did not connect back to port {}", port + 1)),
        };
    }
    Err(last)
}

/// A TCP connection from a fixed local address (std cannot bind first).
fn connect_from(local: SocketAddrV4, server: SocketAddrV4) -> Result<TcpStream, String> {
    use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("socket: {e}"))?;
    socket::bind(fd.as_raw_fd(), &SockaddrIn::from(local))
        .map_err(|e| format!("bind {local}: {e}"))?;
    socket::connect(fd.as_raw_fd(), &SockaddrIn::from(server))
        .map_err(|e| format!("connect {server}: {e}"))?;
    Ok(TcpStream::from(fd))
}

/// ospfd's API server in a lab namespace.
pub const API: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 2607);

pub fn parse_api(text: &str) -> Result<SocketAddrV4, String> {
    match text.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(a)) => Ok(a),
        _ => Err(format!("--api {text:?}: want IPV4:PORT")),
    }
}
