//! Byte-vector tests: the captures documented in docs/ospf-api.md
//! ("Captured bytes", real FRR 8.4.4 ospfd) pin every format both ways.

use std::net::Ipv4Addr;

use super::*;
use crate::model::{RouterId, Scope};

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| b.is_ascii_hexdigit())
        .map(|b| (b as char).to_digit(16).unwrap() as u8)
        .collect();
    assert!(digits.len() % 2 == 0, "odd hex string {s}");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

fn rid(s: &str) -> RouterId {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Decodes `bytes` as exactly one frame, fed one byte at a time, and checks
/// that re-encoding gives the same bytes.
fn roundtrip(bytes: &[u8], want: Msg, want_seq: u32) {
    let mut dec = FrameDecoder::new();
    let mut got = None;
    for b in bytes {
        assert!(got.is_none(), "frame complete before its last byte");
        dec.push(std::slice::from_ref(b));
        got = dec.next().unwrap();
    }
    let (header, msg) = got.expect("no frame after the last byte");
    assert_eq!(msg, want);
    assert_eq!(header.seq, want_seq);
    assert_eq!(header.msgtype, want.msgtype());
    assert_eq!(usize::from(header.body_len), bytes.len() - HEADER_LEN);
    assert_eq!(dec.next(), Ok(None));
    assert_eq!(dec.buffered(), 0);
    assert_eq!(encode(&want, want_seq).unwrap(), bytes);
}

/// The opaque data ospfclient.py originated in the captures.
const CAPTURED_DATA: &str = "18eb4c7e07d8ab8f 00000001";

fn captured_lsa() -> Lsa {
    Lsa {
        header: LsaHeader {
            age: 0,
            options: 0x42,
            lsa_type: 10,
            ls_id: ls_id(222, 1),
            adv_router: rid("10.255.0.11"),
            seq: 0x8000_0001,
            checksum: 0x6cc5,
        },
        data: hex(CAPTURED_DATA),
    }
}

#[test]
fn register_event_capture() {
    roundtrip(
        &hex("01 03 0004 00000001 ffff 02 00"),
        Msg::RegisterEvent(LsaFilter {
            typemask: 0xffff,
            origin: Origin::Any,
            areas: vec![],
        }),
        1,
    );
}

#[test]
fn reply_capture() {
    roundtrip(
        &hex("01 0a 0004 00000001 00 000000"),
        Msg::Reply {
            errcode: ReplyCode::Ok,
        },
        1,
    );
}

#[test]
fn register_opaque_capture() {
    roundtrip(
        &hex("01 01 0004 00000007 0a de 0000"),
        Msg::RegisterOpaqueType {
            scope: Scope::Area,
            opaque_type: 222,
        },
        7,
    );
}

#[test]
fn ready_notify_capture() {
    roundtrip(
        &hex("01 0b 0008 00000000 0a de 0000 00000000"),
        Msg::ReadyNotify {
            scope: Scope::Area,
            opaque_type: 222,
            addr: ip("0.0.0.0"),
        },
        0,
    );
}

#[test]
fn originate_capture() {
    let bytes = hex(&format!(
        "01 05 0028 00000008 00000000 00000000 \
         0000 00 0a de000001 00000000 00000000 0000 0020 {CAPTURED_DATA}"
    ));
    let lsa = Lsa::new_opaque(Scope::Area, 222, 1, hex(CAPTURED_DATA));
    roundtrip(
        &bytes,
        Msg::OriginateRequest(OriginateRequest {
            ifaddr: ip("0.0.0.0"),
            area: ip("0.0.0.0"),
            lsa,
        }),
        8,
    );
}

#[test]
fn lsa_update_and_delete_capture() {
    let lsa_hex = format!("0000 42 0a de000001 0aff000b 80000001 6cc5 0020 {CAPTURED_DATA}");
    let notify = LsaNotify {
        ifaddr: ip("0.0.0.0"),
        area: ip("0.0.0.0"),
        is_self_originated: true,
        lsa: captured_lsa(),
    };
    roundtrip(
        &hex(&format!(
            "01 0c 002c 00000000 00000000 00000000 01 000000 {lsa_hex}"
        )),
        Msg::LsaUpdateNotify(notify.clone()),
        0,
    );
    roundtrip(
        &hex(&format!(
            "01 0d 002c 00000000 00000000 00000000 01 000000 {lsa_hex}"
        )),
        Msg::LsaDeleteNotify(notify.clone()),
        0,
    );
    let h = notify.lsa.header;
    assert_eq!((h.opaque_type(), h.opaque_id()), (222, 1));
    assert_eq!(h.scope(), Some(Scope::Area));
    assert_eq!(notify.lsa.length(), 0x20);
}

#[test]
fn delete_request_capture() {
    roundtrip(
        &hex("01 06 000c 0000000a 00000000 0a de 00 00 00000001"),
        Msg::DeleteRequest(DeleteRequest {
            addr: ip("0.0.0.0"),
            scope: Scope::Area,
            opaque_type: 222,
            flags: 0,
            opaque_id: 1,
        }),
        10,
    );
}

#[test]
fn reachable_change_capture() {
    roundtrip(
        &hex("01 12 0010 00000003 0003 0000 0aff0001 0aff000c 0aff000d"),
        Msg::ReachableChange {
            added: vec![rid("10.255.0.1"), rid("10.255.0.12"), rid("10.255.0.13")],
            removed: vec![],
        },
        3,
    );
}

#[test]
fn nsm_change_capture() {
    roundtrip(
        &hex("01 11 0010 00000005 c633640b c6336401 0aff0001 09 000000"),
        Msg::NsmChange {
            ifaddr: ip("198.51.100.11"),
            nbraddr: ip("198.51.100.1"),
            router_id: rid("10.255.0.1"),
            state: NsmState::Full,
        },
        5,
    );
}

#[test]
fn router_id_change_capture() {
    roundtrip(
        &hex("01 14 0004 00000006 0aff000b"),
        Msg::RouterIdChange {
            router_id: rid("10.255.0.11"),
        },
        6,
    );
}

#[test]
fn sync_requests_send_four_zero_bytes() {
    for (msg, t) in [
        (Msg::SyncReachable, 7),
        (Msg::SyncIsm, 8),
        (Msg::SyncNsm, 9),
        (Msg::SyncRouterId, 19),
    ] {
        roundtrip(&hex(&format!("01 {t:02x} 0004 00000002 00000000")), msg, 2);
    }
}

#[test]
fn reply_error_codes_are_signed() {
    let mut dec = FrameDecoder::new();
    dec.push(&hex("01 0a 0004 00000009 fb 000000"));
    let (_, msg) = dec.next().unwrap().unwrap();
    assert_eq!(
        msg,
        Msg::Reply {
            errcode: ReplyCode::OpaqueTypeInUse
        }
    );
    assert_eq!(ReplyCode::from(-10), ReplyCode::Undef);
    assert_eq!(ReplyCode::from(-11), ReplyCode::Other(-11));
    assert_eq!(ReplyCode::NotReady.to_string(), "NOTREADY");
}

#[test]
fn originate_pads_data_to_four_bytes() {
    let lsa = Lsa::new_opaque(Scope::As, 222, 0x00ab_cdef, vec![1, 2, 3, 4, 5]);
    let msg = Msg::OriginateRequest(OriginateRequest {
        ifaddr: ip("0.0.0.0"),
        area: ip("0.0.0.0"),
        lsa,
    });
    let bytes = encode(&msg, 4).unwrap();
    assert_eq!(
        bytes,
        hex("01 05 0024 00000004 00000000 00000000 \
             0000 00 0b deabcdef 00000000 00000000 0000 001c 0102030405 000000")
    );
    let mut dec = FrameDecoder::new();
    dec.push(&bytes);
    let Some((_, Msg::OriginateRequest(o))) = dec.next().unwrap() else {
        panic!("not an originate request");
    };
    assert_eq!(o.lsa.data, [1, 2, 3, 4, 5, 0, 0, 0]);
}

#[test]
fn typemask_bit_is_type_minus_one() {
    let f = LsaFilter::for_types(&[10, 11], Origin::Any);
    assert_eq!(f.typemask, 0x0600);
    assert!(f.selects_type(10) && f.selects_type(11) && !f.selects_type(9));
    assert_eq!(
        LsaFilter::for_types(&[1, 0, 17], Origin::Any).typemask,
        0x0001
    );
    assert!(!f.selects_type(0));
}

#[test]
fn ls_id_drops_bits_above_24() {
    assert_eq!(ls_id(222, 0x0100_0001), 0xde00_0001);
}

#[test]
fn unknown_msgtype_is_kept_not_fatal() {
    let mut dec = FrameDecoder::new();
    dec.push(&hex(
        "01 63 0003 00000001 aabbcc 01 14 0004 00000000 0aff000b",
    ));
    let (h, msg) = dec.next().unwrap().unwrap();
    assert_eq!(h.msgtype, 99);
    assert_eq!(
        msg,
        Msg::Unknown {
            msgtype: 99,
            body: vec![0xaa, 0xbb, 0xcc]
        }
    );
    assert!(matches!(
        dec.next(),
        Ok(Some((_, Msg::RouterIdChange { .. })))
    ));
}

#[test]
fn bad_version_is_fatal_and_sticky() {
    let mut dec = FrameDecoder::new();
    dec.push(&hex("01 14 0004 00000000 0aff000b 02 0c 0004 00000000"));
    assert!(dec.next().unwrap().is_some());
    let err = dec.next().unwrap_err();
    assert_eq!(
        err,
        WireError::BadVersion {
            version: 2,
            msgtype: 12,
            offset: 12
        }
    );
    assert!(err.is_fatal());
    assert!(err.to_string().contains("LSA_UPDATE_NOTIFY"));
    dec.push(&[0; 4096]);
    assert_eq!(dec.buffered(), 0);
    assert_eq!(dec.next().unwrap_err(), err);
}

#[test]
fn oversized_body_is_rejected_from_the_header() {
    let mut dec = FrameDecoder::new();
    dec.push(&hex("01 0c ffff 00000000"));
    let err = dec.next().unwrap_err();
    assert_eq!(
        err,
        WireError::BodyTooLong {
            msgtype: 12,
            len: 0xffff,
            max: MAX_BODY_LEN,
            offset: 0
        }
    );
    assert!(err.is_fatal());
}

#[test]
fn malformed_body_skips_that_frame_only() {
    let mut dec = FrameDecoder::new();
    // LSA length 0x0010 is below the 20-byte header; then a good REPLY.
    dec.push(&hex("01 0c 0020 00000000 00000000 00000000 01 000000 \
         0000 42 0a de000001 0aff000b 80000001 6cc5 0010 \
         01 0a 0004 00000001 00 000000"));
    let err = dec.next().unwrap_err();
    assert_eq!(
        err,
        WireError::Malformed {
            msgtype: 12,
            seq: 0,
            offset: 8 + 12 + 18,
            what: "lsa length below the 20-byte header"
        }
    );
    assert!(!err.is_fatal());
    assert!(matches!(dec.next(), Ok(Some((_, Msg::Reply { .. })))));
}

#[test]
fn counts_beyond_the_body_are_malformed() {
    for (frame, what) in [
        // nadd says 0xffff ids, the body holds one.
        (
            "01 12 0008 00000000 ffff 0000 0aff0001",
            "router id list (shorter than nadd + nremove)",
        ),
        // num_areas 2, one area present.
        (
            "01 03 0008 00000001 0200 02 02 00000000",
            "filter area list (shorter than num_areas)",
        ),
        // LSA length 0x40 in a 32-byte LSA.
        (
            "01 0c 002c 00000000 00000000 00000000 01 000000 \
             0000 42 0a de000001 0aff000b 80000001 6cc5 0040 18eb4c7e07d8ab8f00000001",
            "lsa length beyond the message body",
        ),
        // READY_NOTIFY for a non-opaque LSA type.
        (
            "01 0b 0008 00000000 05 de 0000 00000000",
            "lsa type is not opaque (9, 10 or 11)",
        ),
        ("01 0a 0002 00000001 0000", "padding"),
    ] {
        let mut dec = FrameDecoder::new();
        dec.push(&hex(frame));
        match dec.next() {
            Err(WireError::Malformed { what: got, .. }) => assert_eq!(got, what, "{frame}"),
            other => panic!("{frame}: {other:?}"),
        }
    }
}

#[test]
fn encode_refuses_what_ospfd_could_not_read() {
    let lsa = Lsa::new_opaque(Scope::Area, 222, 1, vec![0; MAX_BODY_LEN]);
    let msg = Msg::OriginateRequest(OriginateRequest {
        ifaddr: ip("0.0.0.0"),
        area: ip("0.0.0.0"),
        lsa,
    });
    let mut out = vec![0xaa];
    assert!(matches!(
        encode_into(&msg, 1, &mut out),
        Err(EncodeError::BodyTooLong { msgtype: 5, .. })
    ));
    assert_eq!(out, [0xaa], "a failed encode leaves the buffer as it was");

    let filter = LsaFilter {
        typemask: 0x0200,
        origin: Origin::Any,
        areas: vec![ip("0.0.0.0"); 256],
    };
    assert!(matches!(
        encode(&Msg::RegisterEvent(filter), 1),
        Err(EncodeError::TooMany { what: "areas", .. })
    ));
}

#[test]
fn state_names_follow_frr() {
    assert_eq!(NsmState::from(5).to_string(), "2-Way");
    assert_eq!(IsmState::from(7).to_string(), "DR");
    assert_eq!(NsmState::from(42), NsmState::Other(42));
    assert_eq!(msgtype::name(20), "ROUTER_ID_CHANGE");
}
