//! `cargo +nightly fuzz run lsa_decode`: the LSA payload decoder must never
//! panic, with or without a cluster key, and whatever it accepts must
//! re-encode (untagged and tagged) to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use srrd::lsa::{decode, encode, ClusterKey, EncodeError};

fuzz_target!(|data: &[u8]| {
    let key = ClusterKey(b"fuzz-cluster-key".to_vec());
    // Random input essentially never carries a valid tag; this checks the
    // keyed path rejects it without panicking.
    let _ = decode(data, Some(&key));

    let Ok(value) = decode(data, None) else {
        return;
    };
    let plain = encode(&value, None).expect("an accepted payload must re-encode");
    assert_eq!(decode(&plain, None).expect("re-encoded payload"), value);
    match encode(&value, Some(&key)) {
        Ok(tagged) => {
            assert_eq!(decode(&tagged, Some(&key)).expect("tagged payload"), value);
            assert_eq!(decode(&tagged, None).expect("tag skipped"), value);
        }
        // The tag adds 36 bytes, which may not fit.
        Err(EncodeError::TooLarge { .. }) => {}
        Err(e) => panic!("tagged encode failed: {e}"),
    }
});
