//! Byte vectors pinning the LSA payload format of docs/protocol.md, and the
//! exact error (variant and offset) for malformed payloads.
//!
//! The expected bytes were produced independently of srrd (a few lines of
//! Python with `struct` and `hmac`), from the tables in docs/protocol.md.
//! All are for scope area (LSA type 10) unless a test says otherwise.

use std::net::{IpAddr, SocketAddr};

use srrd::lsa::{
    decode, encode, encoded_len, ClusterKey, DaemonLsa, DecodeError, EncodeError, Payload,
    ServiceLsa, MAX_PAYLOAD,
};
use srrd::model::{ConfigState, Failure, RouterId, RunState, Scope, ServiceKind};

const AREA: Scope = Scope::Area;

fn hex(lines: &[&str]) -> Vec<u8> {
    let digits: Vec<u8> = lines
        .concat()
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).expect("ascii");
            u8::from_str_radix(s, 16).expect("hex digit")
        })
        .collect()
}

/// Builds a payload from raw TLVs, padding values and filling in the length.
fn raw(kind: u8, tlvs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = vec![b'S', b'R', 2, kind, 0, 0, 0, 0];
    for (ty, value) in tlvs {
        out.extend_from_slice(&ty.to_be_bytes());
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    let len = out.len() as u16;
    out[4..6].copy_from_slice(&len.to_be_bytes());
    out
}

/// A minimal service payload (GENERATION 1, NAME "s", STATE; TLVs end at
/// offset 40), then `extra`.
fn svc(extra: &[(u16, &[u8])]) -> Vec<u8> {
    let gen = 1u64.to_be_bytes();
    let mut tlvs: Vec<(u16, &[u8])> = vec![(1, &gen), (2, b"s"), (3, &[1, 4, 3, 0, 0])];
    tlvs.extend_from_slice(extra);
    raw(1, &tlvs)
}

fn www() -> ServiceLsa {
    ServiceLsa {
        name: "www".into(),
        generation: 7,
        kind: ServiceKind::Service,
        config_state: ConfigState::Active,
        run_state: RunState::Started,
        preference: 100,
        critical: true,
        standby: false,
        handover: false,
        group: Some("web".into()),
        depends: vec!["db".into()],
        failure: None,
        check_interval_ms: 5000,
        check_stamp_ms: 1_700_000_000_000,
        addresses: vec![
            "192.0.2.10".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
        ],
        handoff_to: None,
        started_at_ms: 0,
        originator: None,
        claim: None,
        ack: None,
    }
}

/// The example of docs/protocol.md, "Annotated example".
const WWW: &[&str] = &[
    "5352 02 01 0064 0000", // "SR", version 2, kind 1 (service), length 100, reserved
    "0001 0008 0000000000000007", // GENERATION 7
    "0002 0003 777777 00",  // NAME "www" + 1 byte padding
    "0003 0005 01 04 03 64 01 000000", // STATE service, active, started, pref 100, critical
    "0004 0003 776562 00",  // GROUP "web"
    "0005 0002 6462 0000",  // DEPENDS "db"
    "0007 000c 00001388 0000018bcfe56800", // CHECK every 5000 ms, last at 1700000000000
    "0008 0004 c000020a",   // ADDRESS 192.0.2.10
    "0008 0010 20010db8000000000000000000000010", // ADDRESS 2001:db8::10
];

fn raid1() -> ServiceLsa {
    ServiceLsa {
        name: "raid1".into(),
        generation: 42,
        kind: ServiceKind::Resource,
        config_state: ConfigState::Active,
        run_state: RunState::Failed,
        preference: 0,
        critical: false,
        standby: true,
        handover: false,
        group: None,
        depends: vec![],
        failure: Some(Failure::new(Failure::ECHO_TIMEOUT, "echo timeout")),
        check_interval_ms: 0,
        check_stamp_ms: 0,
        addresses: vec![],
        handoff_to: Some(RouterId(0x0aff_000d)),
        started_at_ms: 0,
        originator: None,
        claim: None,
        ack: None,
    }
}

const RAID1: &[&str] = &[
    "5352 02 01 0048 0000",                        // service, length 72
    "0001 0008 000000000000002a",                  // GENERATION 42
    "0002 0005 7261696431 000000",                 // NAME "raid1"
    "0003 0005 02 04 05 00 02 000000", // STATE resource, active, failed, pref 0, standby
    "0006 0010 000003eb 6563686f2074696d656f7574", // FAILURE 1003 "echo timeout"
    "0009 0004 0aff000d",              // HANDOFF_TO 10.255.0.13
];

fn node_a() -> DaemonLsa {
    DaemonLsa {
        generation: 3,
        node_name: "node-a".into(),
        web: Some("192.0.2.1:8443".parse().unwrap()),
        software: "srrd 0.1.0".into(),
        originator: None,
    }
}

const NODE_A: &[&str] = &[
    "5352 02 02 003c 0000",                // daemon, length 60
    "0001 0008 0000000000000003",          // GENERATION 3
    "0010 0006 6e6f64652d61 0000",         // NODE_NAME "node-a"
    "0011 0006 20fb c0000201 0000",        // WEB port 8443, 192.0.2.1
    "0012 000a 7372726420302e312e30 0000", // SOFTWARE "srrd 0.1.0"
];

fn key() -> ClusterKey {
    ClusterKey(b"cluster-secret".to_vec())
}

/// As a keyed daemon sends it: with ORIGINATOR, which keyed receivers require.
fn node_a_keyed() -> DaemonLsa {
    DaemonLsa {
        originator: Some(RouterId(0x0aff_000b)),
        ..node_a()
    }
}

const NODE_A_KEYED: &[&str] = &[
    "5352 02 02 0068 0000", // daemon, length 104 (includes the AUTH TLV)
    "0001 0008 0000000000000003",
    "0010 0006 6e6f64652d61 0000",
    "0011 0006 20fb c0000201 0000",
    "0012 000a 7372726420302e312e30 0000",
    "000b 0004 0aff000b", // ORIGINATOR 10.255.0.11
    // AUTH: HMAC-SHA256("cluster-secret", 0a || bytes 0..68), 0a = LSA type 10
    "00ff 0020 1f01e41950364e9a3574d5f6c8013ec856c33c83e5a5c5a02aab60ac806350ad",
];

/// Generation: incarnation 5, record counter 9.
const INCARNATION_5: u64 = 5 << 32;

/// Node 10.255.0.11 claims `db` (run state starting) with claim id 5:1.
fn db_claim() -> ServiceLsa {
    ServiceLsa {
        name: "db".into(),
        generation: INCARNATION_5 | 9,
        kind: ServiceKind::Service,
        config_state: ConfigState::Active,
        run_state: RunState::Starting,
        preference: 100,
        critical: false,
        standby: false,
        handover: false,
        group: None,
        depends: vec![],
        failure: None,
        check_interval_ms: 0,
        check_stamp_ms: 0,
        addresses: vec!["192.0.2.20".parse().unwrap()],
        handoff_to: None,
        started_at_ms: 0,
        originator: Some(RouterId(0x0aff_000b)),
        claim: Some(INCARNATION_5 | 1),
        ack: None,
    }
}

const DB_CLAIM: &[&str] = &[
    "5352 02 01 0044 0000",            // service, length 68
    "0001 0008 0000000500000009",      // GENERATION incarnation 5, counter 9
    "0002 0002 6462 0000",             // NAME "db"
    "0003 0005 01 04 02 64 00 000000", // STATE service, active, starting, pref 100
    "0008 0004 c0000214",              // ADDRESS 192.0.2.20
    "000b 0004 0aff000b",              // ORIGINATOR 10.255.0.11
    "000c 0008 0000000500000001",      // CLAIM 5:1
];

/// Node 10.255.0.12 (stopped) acknowledges that claim.
fn db_ack() -> ServiceLsa {
    ServiceLsa {
        generation: (2 << 32) | 4,
        run_state: RunState::Stopped,
        originator: Some(RouterId(0x0aff_000c)),
        claim: None,
        ack: Some((RouterId(0x0aff_000b), INCARNATION_5 | 1)),
        ..db_claim()
    }
}

const DB_ACK: &[&str] = &[
    "5352 02 01 0048 0000", // service, length 72
    "0001 0008 0000000200000004",
    "0002 0002 6462 0000",
    "0003 0005 01 04 01 64 00 000000", // STATE service, active, stopped, pref 100
    "0008 0004 c0000214",
    "000b 0004 0aff000c",                  // ORIGINATOR 10.255.0.12
    "000d 000c 0aff000b 0000000500000001", // ACK claimant 10.255.0.11, claim 5:1
];

#[test]
fn service_vector() {
    let bytes = hex(WWW);
    let value = Payload::Service(www());
    assert_eq!(encode(&value, AREA, None).unwrap(), bytes);
    assert_eq!(decode(&bytes, AREA, None).unwrap(), value);
}

#[test]
fn failed_resource_vector() {
    let bytes = hex(RAID1);
    let value = Payload::Service(raid1());
    assert_eq!(encode(&value, AREA, None).unwrap(), bytes);
    assert_eq!(decode(&bytes, AREA, None).unwrap(), value);
}

#[test]
fn daemon_vector() {
    let bytes = hex(NODE_A);
    let value = Payload::Daemon(node_a());
    assert_eq!(encode(&value, AREA, None).unwrap(), bytes);
    assert_eq!(decode(&bytes, AREA, None).unwrap(), value);
}

#[test]
fn keyed_daemon_vector() {
    let bytes = hex(NODE_A_KEYED);
    let value = Payload::Daemon(node_a_keyed());
    assert_eq!(encode(&value, AREA, Some(&key())).unwrap(), bytes);
    assert_eq!(decode(&bytes, AREA, Some(&key())).unwrap(), value);
    // Without a key the tag is skipped.
    assert_eq!(decode(&bytes, AREA, None).unwrap(), value);
    // Without the key: the first 68 bytes, length field 00 44.
    let mut plain = bytes[..68].to_vec();
    plain[4..6].copy_from_slice(&[0x00, 0x44]);
    assert_eq!(encode(&value, AREA, None).unwrap(), plain);
    let wrong = ClusterKey(b"cluster-secreT".to_vec());
    assert_eq!(
        decode(&bytes, AREA, Some(&wrong)),
        Err(DecodeError::BadTag { offset: 68 })
    );
    // The tag covers the scope: the same bytes under type 9 or 11 fail.
    for other in [Scope::Link, Scope::As] {
        assert_eq!(
            decode(&bytes, other, Some(&key())),
            Err(DecodeError::BadTag { offset: 68 })
        );
        assert_eq!(decode(&bytes, other, None).unwrap(), value);
    }
    // A configured key rejects untagged payloads.
    assert_eq!(
        decode(&hex(NODE_A), AREA, Some(&key())),
        Err(DecodeError::MissingTag { offset: 24 })
    );
    assert_eq!(
        decode(&hex(NODE_A)[..8], AREA, Some(&key())),
        Err(DecodeError::LengthMismatch {
            offset: 4,
            declared: 60,
            actual: 8
        })
    );
}

#[test]
fn claim_and_ack_vectors() {
    for (bytes, value) in [(hex(DB_CLAIM), db_claim()), (hex(DB_ACK), db_ack())] {
        let value = Payload::Service(value);
        assert_eq!(encode(&value, AREA, None).unwrap(), bytes);
        assert_eq!(decode(&bytes, AREA, None).unwrap(), value);
    }
}

#[test]
fn claim_and_ack_errors() {
    let gen = 1u64.to_be_bytes();
    let claim = 7u64.to_be_bytes();
    assert_eq!(
        err(&svc(&[(12, &claim[..4])])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "claim",
            len: 4,
            expected: "8"
        }
    );
    assert_eq!(
        err(&svc(&[(12, &claim), (12, &claim)])),
        DecodeError::Duplicate {
            offset: 52,
            tlv: "claim"
        }
    );
    assert_eq!(
        err(&svc(&[(13, &claim)])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "ack",
            len: 8,
            expected: "12"
        }
    );
    let ack = [0u8; 12];
    assert_eq!(
        err(&svc(&[(13, &ack), (13, &ack)])),
        DecodeError::Duplicate {
            offset: 56,
            tlv: "ack"
        }
    );
    // Defined for services only: a daemon payload skips them.
    let daemon = raw(
        2,
        &[(1, &gen), (16, b"n"), (18, b""), (12, &claim), (13, &ack)],
    );
    assert!(decode(&daemon, AREA, None).is_ok());
}

/// Every optional field at its largest, for a minimal service: the sizes
/// of docs/protocol.md, summed by hand.
#[test]
fn largest_service_size() {
    let lsa = ServiceLsa::largest("s", ServiceKind::Resource, None, &[], &[]);
    // header 8, GENERATION 12, NAME 8, STATE 12, FAILURE 264, CHECK 16,
    // HANDOFF_TO 8, STARTED_AT 12, ORIGINATOR 8, CLAIM 12, ACK 16.
    let plain = 8 + 12 + 8 + 12 + 264 + 16 + 8 + 12 + 8 + 12 + 16;
    let p = Payload::Service(lsa);
    assert_eq!(encoded_len(&p, false), Ok(plain));
    assert_eq!(encoded_len(&p, true), Ok(plain + 36));
    assert_eq!(encode(&p, AREA, Some(&key())).unwrap().len(), plain + 36);
    // Past the limit the size is still exact.
    let many = vec!["2001:db8::1".parse().unwrap(); 100];
    let big = ServiceLsa::largest("s", ServiceKind::Service, None, &[], &many);
    assert_eq!(
        encoded_len(&Payload::Service(big), true),
        Ok(plain + 36 + 100 * 20)
    );
}

#[test]
fn key_never_printed() {
    assert_eq!(format!("{:?}", key()), "ClusterKey(<secret>)");
}

fn err(bytes: &[u8]) -> DecodeError {
    decode(bytes, AREA, None).expect_err("payload must be rejected")
}

#[test]
fn header_errors() {
    assert_eq!(
        err(&[]),
        DecodeError::Truncated {
            offset: 0,
            what: "header",
            need: 8,
            have: 0
        }
    );
    let mut b = hex(NODE_A);
    b[1] = b'X';
    assert_eq!(
        err(&b),
        DecodeError::BadMagic {
            offset: 0,
            found: *b"SX"
        }
    );
    let mut b = hex(NODE_A);
    // Version 1 (whose tag did not cover the scope) is no longer accepted.
    b[2] = 1;
    assert_eq!(
        err(&b),
        DecodeError::UnsupportedVersion {
            offset: 2,
            version: 1
        }
    );
    let mut b = hex(NODE_A);
    b[3] = 3;
    assert_eq!(err(&b), DecodeError::UnknownKind { offset: 3, kind: 3 });
    let b = hex(NODE_A);
    assert_eq!(
        err(&b[..56]),
        DecodeError::LengthMismatch {
            offset: 4,
            declared: 60,
            actual: 56
        }
    );
    let mut b = hex(NODE_A);
    b.extend_from_slice(&[0; 4]);
    assert_eq!(
        err(&b),
        DecodeError::LengthMismatch {
            offset: 4,
            declared: 60,
            actual: 64
        }
    );
    let big = vec![0; MAX_PAYLOAD + 4];
    assert_eq!(
        err(&big),
        DecodeError::TooLarge {
            offset: MAX_PAYLOAD,
            len: MAX_PAYLOAD + 4,
            max: MAX_PAYLOAD
        }
    );
    let odd = [b'S', b'R', 2, 2, 0, 9, 0, 0, 0];
    assert_eq!(
        err(&odd),
        DecodeError::Malformed {
            offset: 4,
            what: "payload length is not a multiple of 4"
        }
    );
}

#[test]
fn tlv_framing_errors() {
    // NODE_NAME (at offset 20) claims 64 bytes; 40 remain.
    let mut b = hex(NODE_A);
    b[23] = 0x40;
    assert_eq!(
        err(&b),
        DecodeError::Truncated {
            offset: 20,
            what: "TLV value",
            need: 68,
            have: 40
        }
    );
    // Padding after "node-a" (offsets 30, 31) must be zero.
    let mut b = hex(NODE_A);
    b[31] = 1;
    assert_eq!(
        err(&b),
        DecodeError::Malformed {
            offset: 31,
            what: "non-zero padding"
        }
    );
    // A tag before other TLVs.
    let b = raw(2, &[(255, &[0; 32]), (1, &3u64.to_be_bytes())]);
    assert_eq!(err(&b), DecodeError::TagNotLast { offset: 8 });
    // A last AUTH TLV of the wrong size.
    let b = raw(2, &[(1, &3u64.to_be_bytes()), (255, &[0; 16])]);
    assert_eq!(
        err(&b),
        DecodeError::BadLength {
            offset: 20,
            tlv: "auth",
            len: 16,
            expected: "32"
        }
    );
    assert_eq!(
        decode(&b, AREA, Some(&key())),
        Err(DecodeError::MissingTag { offset: 40 })
    );
}

#[test]
fn value_errors() {
    let gen = 1u64.to_be_bytes();
    let state = [1, 4, 3, 0, 0];
    assert!(decode(&svc(&[]), AREA, None).is_ok());

    assert_eq!(
        err(&svc(&[(1, &gen)])),
        DecodeError::Duplicate {
            offset: 40,
            tlv: "generation"
        }
    );
    assert_eq!(
        err(&raw(1, &[(1, &gen), (3, &state)])),
        DecodeError::Missing {
            offset: 32,
            tlv: "name"
        }
    );
    assert_eq!(
        err(&raw(1, &[(1, &gen), (2, b"s")])),
        DecodeError::Missing {
            offset: 28,
            tlv: "state"
        }
    );
    assert_eq!(
        err(&raw(1, &[(2, b"s"), (3, &state)])),
        DecodeError::Missing {
            offset: 28,
            tlv: "generation"
        }
    );
    // State TLV value starts at 32: kind, config, run.
    let bad_state = |s: [u8; 5]| err(&raw(1, &[(1, &gen), (2, b"s"), (3, &s)]));
    assert_eq!(
        bad_state([0, 4, 3, 0, 0]),
        DecodeError::BadEnum {
            offset: 32,
            field: "service kind",
            value: 0
        }
    );
    assert_eq!(
        bad_state([1, 7, 3, 0, 0]),
        DecodeError::BadEnum {
            offset: 33,
            field: "config state",
            value: 7
        }
    );
    assert_eq!(
        bad_state([1, 4, 0, 0, 0]),
        DecodeError::BadEnum {
            offset: 34,
            field: "run state",
            value: 0
        }
    );
    assert_eq!(
        err(&raw(1, &[(1, &gen), (2, b"s"), (3, &[1, 4, 3, 0])])),
        DecodeError::BadLength {
            offset: 28,
            tlv: "state",
            len: 4,
            expected: "5"
        }
    );
    assert_eq!(
        err(&svc(&[(2, &[b'x'; 65])])),
        DecodeError::Duplicate {
            offset: 40,
            tlv: "name"
        }
    );
    assert_eq!(
        err(&raw(1, &[(1, &gen), (2, &[b'x'; 65]), (3, &state)])),
        DecodeError::BadLength {
            offset: 20,
            tlv: "name",
            len: 65,
            expected: "1..=64"
        }
    );
    assert_eq!(
        err(&svc(&[(5, b"")])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "depends",
            len: 0,
            expected: "1..=64"
        }
    );
    assert_eq!(
        err(&svc(&[(4, b"ok\xff")])),
        DecodeError::BadUtf8 {
            offset: 46,
            tlv: "group"
        }
    );
    assert_eq!(
        err(&svc(&[(6, &[0, 0, 3])])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "failure",
            len: 3,
            expected: "4..=259"
        }
    );
    assert_eq!(
        err(&svc(&[(6, &[0, 0, 0, 1, b'a', 0xc3])])),
        DecodeError::BadUtf8 {
            offset: 49,
            tlv: "failure"
        }
    );
    assert_eq!(
        err(&svc(&[(8, &[10, 0, 0])])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "address",
            len: 3,
            expected: "4 or 16"
        }
    );
    assert_eq!(
        err(&svc(&[(7, &[0; 8])])),
        DecodeError::BadLength {
            offset: 40,
            tlv: "check",
            len: 8,
            expected: "12"
        }
    );
    assert_eq!(
        err(&raw(
            2,
            &[(1, &gen), (16, b"n"), (17, &[0, 80, 10, 0, 0]), (18, b"")]
        )),
        DecodeError::BadLength {
            offset: 28,
            tlv: "web",
            len: 5,
            expected: "6 or 18"
        }
    );
    assert_eq!(
        err(&raw(2, &[(1, &gen), (16, b"n")])),
        DecodeError::Missing {
            offset: 28,
            tlv: "software"
        }
    );
}

#[test]
fn unknown_and_foreign_tlvs_are_skipped() {
    let gen = 9u64.to_be_bytes();
    let plain = raw(2, &[(1, &gen), (16, b"n"), (18, b"")]);
    let extended = raw(
        2,
        &[
            (0, b""),
            (1, &gen),
            (0x1234, b"future"),
            (16, b"n"),
            (8, &[10, 0, 0, 1]), // ADDRESS is a service TLV
            (18, b""),
            (0xfffe, &[0xff; 300]),
        ],
    );
    assert_eq!(decode(&extended, AREA, None), decode(&plain, AREA, None));
    assert_eq!(
        decode(&plain, AREA, None).unwrap(),
        Payload::Daemon(DaemonLsa {
            generation: 9,
            node_name: "n".into(),
            web: None,
            software: String::new(),
            originator: None,
        })
    );
    // Undefined STATE flag bits are ignored.
    let flagged = raw(1, &[(1, &gen), (2, b"s"), (3, &[1, 4, 3, 0, 0xfd])]);
    let Payload::Service(s) = decode(&flagged, AREA, None).unwrap() else {
        panic!("service expected")
    };
    assert!(s.critical && !s.standby);
}

#[test]
fn zero_check_tlv_equals_absent_one() {
    let gen = 1u64.to_be_bytes();
    let state = [1, 4, 3, 0, 0];
    let without = raw(1, &[(1, &gen), (2, b"s"), (3, &state)]);
    let with = raw(1, &[(1, &gen), (2, b"s"), (3, &state), (7, &[0; 12])]);
    assert_eq!(decode(&with, AREA, None), decode(&without, AREA, None));
    assert_eq!(
        encode(&decode(&with, AREA, None).unwrap(), AREA, None).unwrap(),
        without
    );
}

#[test]
fn encode_rejects_values_outside_the_limits() {
    let mut s = www();
    s.name = String::new();
    assert_eq!(
        encode(&Payload::Service(s), AREA, None),
        Err(EncodeError::FieldLength {
            field: "name",
            len: 0,
            min: 1,
            max: 64
        })
    );
    let mut s = www();
    s.depends.push("é".repeat(33));
    assert_eq!(
        encode(&Payload::Service(s), AREA, None),
        Err(EncodeError::FieldLength {
            field: "depends",
            len: 66,
            min: 1,
            max: 64
        })
    );
    let mut s = www();
    // Failure::new cuts its text to fit; a hand-built one can still overflow.
    s.failure = Some(Failure {
        code: 1,
        text: "x".repeat(256),
    });
    assert!(matches!(
        encode(&Payload::Service(s), AREA, None),
        Err(EncodeError::FieldLength {
            field: "failure text",
            ..
        })
    ));
    let mut d = node_a();
    d.web = Some(SocketAddr::V6("[fe80::1%2]:443".parse().unwrap()));
    assert!(matches!(
        encode(&Payload::Daemon(d), AREA, None),
        Err(EncodeError::Unrepresentable { field: "web", .. })
    ));
}

#[test]
fn size_limit_counts_the_tag() {
    // Header 8 + GENERATION 12 + NAME 8 + STATE 12 = 40; + n IPv6 addresses
    // of 20 bytes. n = 71 gives exactly 1460; then one IPv4 (8) reaches 1468.
    let mut s = raid1();
    s.name = "s".into();
    s.failure = None;
    s.handoff_to = None;
    s.addresses = vec![IpAddr::V6("2001:db8::1".parse().unwrap()); 71];
    s.addresses.push("10.0.0.1".parse().unwrap());
    let p = Payload::Service(s.clone());
    let bytes = encode(&p, AREA, None).unwrap();
    assert_eq!(bytes.len(), MAX_PAYLOAD);
    assert_eq!(decode(&bytes, AREA, None).unwrap(), p);
    assert_eq!(
        encode(&p, AREA, Some(&key())),
        Err(EncodeError::TooLarge {
            len: MAX_PAYLOAD + 36,
            max: MAX_PAYLOAD
        })
    );
    s.addresses.push("10.0.0.2".parse().unwrap());
    assert_eq!(
        encode(&Payload::Service(s.clone()), AREA, None),
        Err(EncodeError::TooLarge {
            len: MAX_PAYLOAD + 8,
            max: MAX_PAYLOAD
        })
    );
    // Far too large: the size is still reported exactly.
    s.addresses = vec!["10.0.0.1".parse().unwrap(); 10_000];
    assert_eq!(
        encode(&Payload::Service(s), AREA, None),
        Err(EncodeError::TooLarge {
            len: 40 + 80_000,
            max: MAX_PAYLOAD
        })
    );
}

#[test]
fn error_offset_accessor() {
    let mut b = hex(NODE_A);
    b[31] = 1;
    assert_eq!(err(&b).offset(), 31);
    assert!(err(&b).to_string().contains("offset 31"));
}

/// The bytes of each "Annotated example" block in docs/protocol.md: the
/// column after the 8-character offset field, up to the meaning text.
fn doc_examples() -> Vec<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md");
    let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
    let mut examples = Vec::new();
    let mut in_example = false;
    let mut in_block = false;
    for line in doc.lines() {
        if line.starts_with("## ") {
            in_example = line.starts_with("## Annotated example");
        } else if in_example && line.starts_with("```") {
            in_block = !in_block;
            if in_block {
                examples.push(Vec::new());
            }
        } else if in_block && !line.starts_with("offset") {
            let bytes = line
                .get(8..)
                .unwrap_or("")
                .split("   ")
                .next()
                .unwrap_or("");
            let current = examples.last_mut().expect("inside a block");
            current.extend(hex(&[bytes]));
        }
    }
    examples
}

#[test]
fn doc_examples_match_the_vectors() {
    assert_eq!(
        doc_examples(),
        vec![hex(WWW), hex(NODE_A_KEYED), hex(DB_CLAIM), hex(DB_ACK)]
    );
}
