//! Replays the byte transcripts recorded from real FRR 8.4.4 ospfd
//! (lab/frr-transcript/record.sh) through the frame decoder and checks the
//! story they tell: what a client sees when it originates, updates and
//! deletes opaque LSAs, and what a neighbour's client sees of it.

use std::collections::BTreeMap;
use std::path::Path;

use srrd::model::{RouterId, Scope};
use srrd::ospfapi::*;

const NODE_A: RouterId = RouterId(0x0aff_0001); // 10.255.0.1, the originator
const NODE_B: RouterId = RouterId(0x0aff_0002); // 10.255.0.2, the observer
const OPAQUE_TYPE: u8 = 222;
const MAX_AGE: u16 = 3600;

/// One transcript: the raw bytes of each channel direction ("tx sync",
/// "rx sync", "rx async"), chunk by chunk as recorded.
struct Transcript {
    name: String,
    chunks: BTreeMap<String, Vec<Vec<u8>>>,
}

fn hex(s: &str, what: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "{what}: odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{what}: {e}")))
        .collect()
}

fn load(name: &str) -> Transcript {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/transcripts")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (re-record with lab/frr-transcript/record.sh)",
            path.display()
        )
    });
    let mut chunks: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let what = format!("{name}:{}", n + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        let [dir, channel, bytes] = words[..] else {
            panic!("{what}: want `<tx|rx> <sync|async> <hex>`, got {line:?}");
        };
        chunks
            .entry(format!("{dir} {channel}"))
            .or_default()
            .push(hex(bytes, &what));
    }
    Transcript {
        name: name.to_string(),
        chunks,
    }
}

impl Transcript {
    /// Decodes one channel direction, pushing the chunks as recorded.
    fn frames(&self, stream: &str) -> Vec<(Header, Msg)> {
        let mut dec = FrameDecoder::new();
        let mut frames = Vec::new();
        for chunk in self.chunks.get(stream).into_iter().flatten() {
            dec.push(chunk);
            while let Some(frame) = dec
                .next()
                .unwrap_or_else(|e| panic!("{} {stream}: {e}", self.name))
            {
                frames.push(frame);
            }
        }
        assert_eq!(dec.buffered(), 0, "{} {stream}: trailing bytes", self.name);
        frames
    }

    fn msgs(&self, stream: &str) -> Vec<Msg> {
        self.frames(stream).into_iter().map(|(_, m)| m).collect()
    }

    fn bytes(&self, stream: &str) -> Vec<u8> {
        self.chunks
            .get(stream)
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .collect()
    }
}

fn originate_requests(t: &Transcript) -> Vec<OriginateRequest> {
    t.msgs("tx sync")
        .into_iter()
        .filter_map(|m| match m {
            Msg::OriginateRequest(o) => Some(o),
            _ => None,
        })
        .collect()
}

/// (is_update, notify) for the LSA notifications of opaque type 222.
fn opaque_events(t: &Transcript) -> Vec<(bool, LsaNotify)> {
    t.msgs("rx async")
        .into_iter()
        .filter_map(|m| match m {
            Msg::LsaUpdateNotify(n) => Some((true, n)),
            Msg::LsaDeleteNotify(n) => Some((false, n)),
            _ => None,
        })
        .filter(|(_, n)| n.lsa.header.lsa_type == 10 && n.lsa.header.opaque_type() == OPAQUE_TYPE)
        .collect()
}

/// (kind, opaque id, LSA seq, at MaxAge) per event. The MaxAge removals
/// of several LSAs come from one walk of the LSDB in no fixed order, so
/// the trailing run of them is sorted.
fn summary(events: &[(bool, LsaNotify)]) -> Vec<(&'static str, u32, u32, bool)> {
    let mut out: Vec<_> = events
        .iter()
        .map(|(update, n)| {
            let h = &n.lsa.header;
            let kind = if *update { "update" } else { "delete" };
            (kind, h.opaque_id(), h.seq, h.age >= MAX_AGE)
        })
        .collect();
    let maxage_tail = out.iter().rev().take_while(|e| e.3).count();
    let from = out.len() - maxage_tail;
    out[from..].sort();
    out
}

#[test]
fn every_frame_decodes_and_reencodes_byte_for_byte() {
    for name in ["originator.txt", "observer.txt"] {
        let t = load(name);
        for stream in ["tx sync", "rx sync", "rx async"] {
            let frames = t.frames(stream);
            assert!(!frames.is_empty(), "{name} {stream}: no frames");
            let mut again = Vec::new();
            for (h, m) in &frames {
                assert!(!matches!(m, Msg::Unknown { .. }), "{name} {stream}: {m:?}");
                encode_into(m, h.seq, &mut again).unwrap();
            }
            assert_eq!(again, t.bytes(stream), "{name} {stream}");

            // Chunking must not matter: byte by byte gives the same frames.
            let mut dec = FrameDecoder::new();
            let mut one_by_one = Vec::new();
            for b in t.bytes(stream) {
                dec.push(&[b]);
                one_by_one.extend(dec.next().unwrap());
            }
            assert_eq!(one_by_one, frames, "{name} {stream}");
        }
    }
}

#[test]
fn originator_requests_and_replies() {
    let t = load("originator.txt");
    let requests = t.frames("tx sync");
    let kinds: Vec<u8> = requests.iter().map(|(h, _)| h.msgtype).collect();
    use msgtype::*;
    assert_eq!(
        kinds,
        [
            REGISTER_EVENT,
            SYNC_ROUTER_ID,
            REGISTER_OPAQUETYPE,
            REGISTER_OPAQUETYPE,
            ORIGINATE_REQUEST,
            ORIGINATE_REQUEST,
            ORIGINATE_REQUEST,
            DELETE_REQUEST,
            DELETE_REQUEST,
            DELETE_REQUEST,
            UNREGISTER_OPAQUETYPE,
        ]
    );
    assert_eq!(
        requests[0].1,
        Msg::RegisterEvent(LsaFilter::for_types(&[10], Origin::Any))
    );

    // One REPLY per request, same seq, on the sync channel only.
    let replies: Vec<(u32, ReplyCode)> = t
        .frames("rx sync")
        .into_iter()
        .map(|(h, m)| match m {
            Msg::Reply { errcode } => (h.seq, errcode),
            other => panic!("non-REPLY on the sync channel: {other:?}"),
        })
        .collect();
    let want: Vec<(u32, ReplyCode)> = requests
        .iter()
        .map(|(h, _)| {
            let code = match h.seq {
                4 => ReplyCode::OpaqueTypeInUse, // registered twice
                9 => ReplyCode::NoSuchLsa,       // deleted 222.0.0.3, never originated
                _ => ReplyCode::Ok,
            };
            (h.seq, code)
        })
        .collect();
    assert_eq!(replies, want);
    assert!(t
        .frames("rx async")
        .iter()
        .all(|(_, m)| m.msgtype() != REPLY));
}

#[test]
fn originator_sees_ready_then_its_own_lsas() {
    let t = load("originator.txt");
    let async_msgs = t.frames("rx async");
    assert_eq!(
        async_msgs[0],
        (
            Header {
                msgtype: msgtype::ROUTER_ID_CHANGE,
                body_len: 4,
                seq: 2
            },
            Msg::RouterIdChange { router_id: NODE_A }
        )
    );
    let ready = Msg::ReadyNotify {
        scope: Scope::Area,
        opaque_type: OPAQUE_TYPE,
        addr: "0.0.0.0".parse().unwrap(),
    };
    assert_eq!(async_msgs[1], (async_msgs[1].0, ready.clone()));
    assert_eq!(async_msgs[1].0.seq, 0, "READY_NOTIFY is spontaneous");
    // READY_NOTIFY repeats: after the duplicate registration and when
    // ospfd's opaque origination timer fires. Clients must take it idempotently.
    let readies = async_msgs.iter().filter(|(_, m)| *m == ready).count();
    assert!(readies >= 2, "{readies} READY_NOTIFY");

    let originated = originate_requests(&t);
    let data: Vec<&[u8]> = originated.iter().map(|o| o.lsa.data.as_slice()).collect();
    assert_eq!(data[0], b"srrd transcript v1\0\0", "padded to 4 bytes");

    let events = opaque_events(&t);
    assert!(events.iter().all(|(_, n)| n.is_self_originated));
    assert!(events
        .iter()
        .all(|(_, n)| n.lsa.header.adv_router == NODE_A && n.lsa.header.options == 0x42));
    assert_eq!(
        summary(&events),
        [
            ("update", 1, 0x8000_0001, false),
            // In-place update: the old instance is deleted, then the new one arrives.
            ("delete", 1, 0x8000_0001, false),
            ("update", 1, 0x8000_0002, false),
            ("update", 2, 0x8000_0001, false),
            // The originator hears nothing when it flushes; only when the
            // MaxAge copy leaves its LSDB (60 s later in the recording).
            ("delete", 1, 0x8000_0002, true),
            ("delete", 2, 0x8000_0001, true),
        ]
    );
    assert_eq!(events[0].1.lsa.data, data[0]);
    assert_eq!(events[2].1.lsa.data, data[1]);
    assert_eq!(events[3].1.lsa.data, data[2]);
}

#[test]
fn observer_syncs_reachability_lsdb_and_neighbours() {
    let t = load("observer.txt");
    let frames = t.frames("rx async");
    let by_seq = |seq: u32| -> Vec<&Msg> {
        frames
            .iter()
            .filter(|(h, _)| h.seq == seq)
            .map(|(_, m)| m)
            .collect()
    };

    // seq 2 = SYNC_REACHABLE: the peer is reachable.
    assert_eq!(
        by_seq(2),
        [&Msg::ReachableChange {
            added: vec![NODE_A],
            removed: vec![]
        }]
    );
    // seq 3 = SYNC_LSDB (all types): both router-LSAs and the DR's network-LSA.
    let dump: Vec<(u8, RouterId, bool)> = by_seq(3)
        .into_iter()
        .map(|m| match m {
            Msg::LsaUpdateNotify(n) => (
                n.lsa.header.lsa_type,
                n.lsa.header.adv_router,
                n.is_self_originated,
            ),
            other => panic!("LSDB dump holds {other:?}"),
        })
        .collect();
    assert!(dump.contains(&(1, NODE_A, false)), "{dump:?}");
    assert!(dump.contains(&(1, NODE_B, true)), "{dump:?}");
    assert!(dump.iter().any(|(t, _, _)| *t == 2), "{dump:?}");
    // seq 4 = SYNC_ISM, seq 5 = SYNC_NSM: the neighbour (Full) and the
    // router's own "self" entry (2-Way).
    assert!(matches!(by_seq(4)[..], [Msg::IsmChange { .. }]));
    let nbrs: Vec<(RouterId, NsmState)> = by_seq(5)
        .into_iter()
        .map(|m| match m {
            Msg::NsmChange {
                router_id, state, ..
            } => (*router_id, *state),
            other => panic!("NSM dump holds {other:?}"),
        })
        .collect();
    assert_eq!(nbrs, [(NODE_A, NsmState::Full), (NODE_B, NsmState::TwoWay)]);
    assert_eq!(by_seq(6), [&Msg::RouterIdChange { router_id: NODE_B }]);
}

/// The client marks the end of its LSDB dump by the answer to a later
/// SYNC_ROUTER_ID (docs/ospf-api.md): on the async channel that answer
/// comes after every notification of the dump, although the REPLYs on the
/// sync channel say nothing about it.
#[test]
fn a_later_requests_answer_follows_the_whole_dump() {
    let t = load("observer.txt");
    let seqs: Vec<u32> = t.frames("rx async").iter().map(|(h, _)| h.seq).collect();
    let last_dump = seqs.iter().rposition(|&s| s == 3).expect("a dump");
    let marker = seqs.iter().position(|&s| s == 6).expect("a router id");
    assert!(last_dump < marker, "async seqs in order received: {seqs:?}");
}

#[test]
fn observer_sees_originations_updates_and_double_deletes() {
    let observer = load("observer.txt");
    let originated = originate_requests(&load("originator.txt"));
    let events = opaque_events(&observer);
    assert!(events
        .iter()
        .all(|(_, n)| !n.is_self_originated && n.lsa.header.adv_router == NODE_A));
    assert_eq!(
        summary(&events),
        [
            ("update", 1, 0x8000_0001, false),
            ("delete", 1, 0x8000_0001, false),
            ("update", 1, 0x8000_0002, false),
            ("update", 2, 0x8000_0001, false),
            // Flush: DELETE with the old header at once...
            ("delete", 1, 0x8000_0002, false),
            ("delete", 2, 0x8000_0001, false),
            // ...and again at MaxAge when the copy leaves the LSDB.
            ("delete", 1, 0x8000_0002, true),
            ("delete", 2, 0x8000_0001, true),
        ]
    );
    // The payload arrives as originated (with its padding).
    assert_eq!(events[0].1.lsa.data, originated[0].lsa.data);
    assert_eq!(events[2].1.lsa.data, originated[1].lsa.data);
    assert_eq!(events[3].1.lsa.data, originated[2].lsa.data);
}

#[test]
fn observer_sees_the_peer_die() {
    let t = load("observer.txt");
    let msgs = t.msgs("rx async");
    // After the peer's ospfd is SIGKILLed (no carrier loss): the dead
    // interval expires, the neighbour is Deleted and SPF drops the router.
    let tail = &msgs[msgs.len() - 3..];
    assert!(matches!(
        tail[0],
        Msg::IsmChange {
            state: IsmState::Dr,
            ..
        }
    ));
    assert!(matches!(
        tail[1],
        Msg::NsmChange {
            router_id: NODE_A,
            state: NsmState::Deleted,
            ..
        }
    ));
    assert_eq!(
        tail[2],
        Msg::ReachableChange {
            added: vec![],
            removed: vec![NODE_A]
        }
    );
}
