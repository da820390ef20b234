//! Properties of the LSA payload codec: round trip, canonical size and
//! alignment, tamper and truncation detection, no panics on any input.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use srrd::lsa::{
    decode, encode, encoded_len, ClusterKey, DaemonLsa, DecodeError, Payload, ServiceLsa,
    MAX_PAYLOAD,
};
use srrd::model::{ConfigState, Failure, RouterId, RunState, Scope, ServiceKind};

/// The scope for properties that do not depend on it.
const AREA: Scope = Scope::Area;

/// 1..=16 printable characters: at most 64 UTF-8 bytes.
fn name() -> impl Strategy<Value = String> {
    "\\PC{1,16}"
}

fn config_state() -> impl Strategy<Value = ConfigState> {
    prop_oneof![
        Just(ConfigState::Disabled),
        Just(ConfigState::Inactive),
        Just(ConfigState::Injected),
        Just(ConfigState::Active),
        Just(ConfigState::Deactivated),
        Just(ConfigState::Failed),
    ]
}

fn run_state() -> impl Strategy<Value = RunState> {
    prop_oneof![
        Just(RunState::Stopped),
        Just(RunState::Starting),
        Just(RunState::Started),
        Just(RunState::Stopping),
        Just(RunState::Failed),
    ]
}

fn kind() -> impl Strategy<Value = ServiceKind> {
    prop_oneof![Just(ServiceKind::Service), Just(ServiceKind::Resource)]
}

fn failure() -> impl Strategy<Value = Failure> {
    // At most 63 characters: <= 252 bytes, within the 255-byte limit.
    (any::<u32>(), "\\PC{0,63}").prop_map(|(code, text)| Failure { code, text })
}

fn service() -> impl Strategy<Value = ServiceLsa> {
    let identity = (name(), any::<u64>(), kind(), config_state(), run_state());
    let flags = (any::<u8>(), any::<bool>(), any::<bool>(), any::<bool>());
    let relations = (
        proptest::option::of(name()),
        proptest::collection::vec(name(), 0..4),
        proptest::option::of(failure()),
    );
    let check = (any::<u32>(), any::<u64>());
    let routing = (
        proptest::collection::vec(any::<IpAddr>(), 0..8),
        proptest::option::of(any::<u32>().prop_map(RouterId)),
        any::<u64>(),
        proptest::option::of(any::<u32>().prop_map(RouterId)),
        proptest::option::of(any::<u64>()),
        proptest::option::of((any::<u32>().prop_map(RouterId), any::<u64>())),
    );
    (identity, flags, relations, check, routing).prop_map(
        |(
            (name, generation, kind, config_state, run_state),
            (preference, critical, standby, handover),
            (group, depends, failure),
            (check_interval_ms, check_stamp_ms),
            (addresses, handoff_to, started_at_ms, originator, claim, ack),
        )| ServiceLsa {
            name,
            generation,
            kind,
            config_state,
            run_state,
            preference,
            critical,
            standby,
            handover,
            group,
            depends,
            failure,
            check_interval_ms,
            check_stamp_ms,
            addresses,
            handoff_to,
            started_at_ms,
            originator,
            claim,
            ack,
        },
    )
}

fn daemon() -> impl Strategy<Value = DaemonLsa> {
    let web = (any::<IpAddr>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::new(ip, port));
    (
        any::<u64>(),
        name(),
        proptest::option::of(web),
        "\\PC{0,16}",
        proptest::option::of(any::<u32>().prop_map(RouterId)),
    )
        .prop_map(
            |(generation, node_name, web, software, originator)| DaemonLsa {
                generation,
                node_name,
                web,
                software,
                originator,
            },
        )
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        service().prop_map(Payload::Service),
        daemon().prop_map(Payload::Daemon),
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::Link), Just(Scope::Area), Just(Scope::As)]
}

fn key() -> impl Strategy<Value = ClusterKey> {
    proptest::collection::vec(any::<u8>(), 0..80).prop_map(ClusterKey)
}

/// Re-encoding what was decoded must give the same value back: the
/// decoder accepts only values the encoder can represent.
fn assert_canonical(value: &Payload) -> Result<(), TestCaseError> {
    let again = encode(value, AREA, None).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&decode(&again, AREA, None).unwrap(), value);
    Ok(())
}

proptest! {
    #[test]
    fn round_trip(value in payload(), scope in scope(), key in proptest::option::of(key())) {
        let bytes = encode(&value, scope, key.as_ref()).unwrap();
        prop_assert_eq!(bytes.len() % 4, 0);
        prop_assert!(bytes.len() <= MAX_PAYLOAD);
        prop_assert_eq!(usize::from(u16::from_be_bytes([bytes[4], bytes[5]])), bytes.len());
        prop_assert_eq!(encoded_len(&value, key.is_some()), Ok(bytes.len()));
        prop_assert_eq!(decode(&bytes, scope, key.as_ref()).unwrap(), value.clone());
        // A receiver without a key skips the tag.
        prop_assert_eq!(decode(&bytes, scope, None).unwrap(), value);
    }

    /// The tag covers the LSA type: a keyed payload replayed under another
    /// scope is refused.
    #[test]
    fn other_scope_rejected(value in payload(), scope in scope(), other in scope(), key in key()) {
        prop_assume!(scope != other);
        let bytes = encode(&value, scope, Some(&key)).unwrap();
        prop_assert_eq!(
            decode(&bytes, other, Some(&key)),
            Err(DecodeError::BadTag { offset: bytes.len() - 36 })
        );
    }

    #[test]
    fn untagged_payload_rejected_when_keyed(value in payload(), key in key()) {
        let bytes = encode(&value, AREA, None).unwrap();
        let result = decode(&bytes, AREA, Some(&key));
        prop_assert!(
            matches!(result, Err(DecodeError::MissingTag { .. })),
            "got {:?}", result
        );
    }

    #[test]
    fn wrong_key_rejected(value in payload(), key in key(), other in key()) {
        prop_assume!(key.0 != other.0);
        let bytes = encode(&value, AREA, Some(&key)).unwrap();
        let tag_at = bytes.len() - 36;
        prop_assert_eq!(
            decode(&bytes, AREA, Some(&other)),
            Err(DecodeError::BadTag { offset: tag_at })
        );
    }

    /// Flipping bits of any byte of a keyed payload is always detected:
    /// the tag covers every byte before it, including the length.
    #[test]
    fn tampering_detected(value in payload(), key in key(), mask in 1u8..=255) {
        let bytes = encode(&value, AREA, Some(&key)).unwrap();
        for i in 0..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= mask;
            let result = decode(&tampered, AREA, Some(&key));
            prop_assert!(result.is_err(), "flip {:#04x} at {} accepted: {:?}", mask, i, result);
        }
    }

    #[test]
    fn truncation_detected(value in payload(), key in proptest::option::of(key())) {
        let bytes = encode(&value, AREA, key.as_ref()).unwrap();
        for len in 0..bytes.len() {
            prop_assert!(decode(&bytes[..len], AREA, key.as_ref()).is_err(), "accepted {} bytes", len);
            prop_assert!(decode(&bytes[..len], AREA, None).is_err(), "accepted {} bytes", len);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1600),
        key in key(),
    ) {
        if let Ok(value) = decode(&bytes, AREA, None) {
            assert_canonical(&value)?;
        }
        let _ = decode(&bytes, AREA, Some(&key));
    }

    /// Random TLVs behind a valid header reach much deeper than random bytes.
    #[test]
    fn random_tlvs_never_panic(
        kind in 1u8..=2,
        tlvs in proptest::collection::vec(
            (
                prop_oneof![0u16..=20, Just(255u16), any::<u16>()],
                proptest::collection::vec(any::<u8>(), 0..24),
                any::<bool>(),
            ),
            0..12,
        ),
    ) {
        let mut bytes = vec![b'S', b'R', 2, kind, 0, 0, 0, 0];
        for (ty, value, pad) in &tlvs {
            bytes.extend_from_slice(&ty.to_be_bytes());
            bytes.extend_from_slice(&(value.len() as u16).to_be_bytes());
            bytes.extend_from_slice(value);
            if *pad {
                bytes.resize(bytes.len().next_multiple_of(4), 0);
            }
        }
        let len = bytes.len() as u16;
        bytes[4..6].copy_from_slice(&len.to_be_bytes());
        if let Ok(value) = decode(&bytes, AREA, None) {
            assert_canonical(&value)?;
        }
    }

    /// Mutating a valid, untagged payload never panics, and whatever is
    /// still accepted is a valid value.
    #[test]
    fn mutations_never_panic(
        value in payload(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = encode(&value, AREA, None).unwrap();
        for (at, byte) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *byte;
        }
        if let Ok(value) = decode(&bytes, AREA, None) {
            assert_canonical(&value)?;
        }
    }
}
