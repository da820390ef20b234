//! `cargo +nightly fuzz run lsa_decode`: the LSA payload decoder must never
//! panic, with or without a cluster key, and whatever it accepts must
//! re-encode (untagged and tagged) to the same value. The first input
//! byte picks the scope, the rest is the payload. `-dict=lsa_decode.dict`
//! gives the fuzzer the header and every TLV type (CLAIM and ACK included).

#![no_main]

use libfuzzer_sys::fuzz_target;
use srrd::lsa::{decode, encode, encoded_len, ClusterKey, EncodeError};
use srrd::model::Scope;

const SCOPES: [Scope; 3] = [Scope::Link, Scope::Area, Scope::As];

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let scope = SCOPES[usize::from(pick) % 3];
    let key = ClusterKey(b"fuzz-cluster-key".to_vec());
    // Random input essentially never carries a valid tag; this checks the
    // keyed path rejects it without panicking.
    let _ = decode(data, scope, Some(&key));

    let Ok(value) = decode(data, scope, None) else {
        return;
    };
    let plain = encode(&value, scope, None).expect("an accepted payload must re-encode");
    assert_eq!(decode(&plain, scope, None).expect("re-encoded payload"), value);
    assert_eq!(encoded_len(&value, false), Ok(plain.len()));
    match encode(&value, scope, Some(&key)) {
        Ok(tagged) => {
            assert_eq!(encoded_len(&value, true), Ok(tagged.len()));
            assert_eq!(decode(&tagged, scope, Some(&key)).expect("tagged payload"), value);
            assert_eq!(decode(&tagged, scope, None).expect("tag skipped"), value);
            // The tag covers the scope.
            let other = SCOPES[(usize::from(pick) + 1) % 3];
            assert!(decode(&tagged, other, Some(&key)).is_err(), "replay under {other:?}");
        }
        // The tag adds 36 bytes, which may not fit.
        Err(EncodeError::TooLarge { len, .. }) => {
            assert_eq!(encoded_len(&value, true), Ok(len));
        }
        Err(e) => panic!("tagged encode failed: {e}"),
    }
});
