//! Encoder and decoder for the payload format of docs/protocol.md.
//!
//! A payload is an 8-byte header and TLVs, optionally ending in an
//! HMAC-SHA256 tag over the LSA type and the payload. With a key the tag
//! is verified before any TLV is interpreted, so unauthenticated bytes
//! never reach the field parsers.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::tlv::{
    self, Tlvs, Writer, AUTH_TLV_LEN, HEADER_LEN, KIND_DAEMON, KIND_SERVICE, LENGTH_OFFSET, MAGIC,
    TAG_LEN, VERSION,
};
use super::{daemon, service, Payload, MAX_PAYLOAD};
use crate::model::Scope;

/// Longest service, group, dependency or node name, in UTF-8 bytes.
pub const MAX_NAME: usize = 64;
/// Longest failure text, in UTF-8 bytes.
pub const MAX_FAILURE_TEXT: usize = 255;
/// Longest software version string, in UTF-8 bytes.
pub const MAX_SOFTWARE: usize = 64;

/// The cluster key for the optional HMAC-SHA256 tag.
#[derive(Clone)]
pub struct ClusterKey(pub Vec<u8>);

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(<secret>)")
    }
}

impl ClusterKey {
    /// The MAC over a payload flooded with `scope`: the LSA type byte comes
    /// first, so a payload replayed under another scope fails the check.
    fn mac(&self, scope: Scope) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length")
            .chain_update([scope.lsa_type()])
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("payload of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("{field} is {len} bytes long; allowed are {min}..={max}")]
    FieldLength {
        field: &'static str,
        len: usize,
        min: usize,
        max: usize,
    },
    #[error("{field}: {what}")]
    Unrepresentable {
        field: &'static str,
        what: &'static str,
    },
}

/// Why a payload was rejected. Every variant names the byte offset (from
/// the start of the payload) where the fault was found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("malformed payload at offset {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
    #[error("truncated at offset {offset}: {what} needs {need} bytes, {have} left")]
    Truncated {
        offset: usize,
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("payload of {len} bytes exceeds the {max}-byte limit (offset {offset})")]
    TooLarge {
        offset: usize,
        len: usize,
        max: usize,
    },
    #[error("bad magic {found:02x?} at offset {offset}")]
    BadMagic { offset: usize, found: [u8; 2] },
    #[error("unsupported version {version} at offset {offset}")]
    UnsupportedVersion { offset: usize, version: u8 },
    #[error("unknown payload kind {kind} at offset {offset}")]
    UnknownKind { offset: usize, kind: u8 },
    #[error("length field at offset {offset} says {declared} bytes, payload has {actual}")]
    LengthMismatch {
        offset: usize,
        declared: usize,
        actual: usize,
    },
    #[error("TLV {tlv} at offset {offset}: value length {len}, expected {expected}")]
    BadLength {
        offset: usize,
        tlv: &'static str,
        len: usize,
        expected: &'static str,
    },
    #[error("TLV {tlv}: invalid UTF-8 at offset {offset}")]
    BadUtf8 { offset: usize, tlv: &'static str },
    #[error("invalid {field} {value} at offset {offset}")]
    BadEnum {
        offset: usize,
        field: &'static str,
        value: u8,
    },
    #[error("second {tlv} TLV at offset {offset}")]
    Duplicate { offset: usize, tlv: &'static str },
    #[error("required TLV {tlv} missing (TLVs end at offset {offset})")]
    Missing { offset: usize, tlv: &'static str },
    #[error("auth TLV at offset {offset} is not the last TLV")]
    TagNotLast { offset: usize },
    #[error("no auth TLV at offset {offset} (a key is configured)")]
    MissingTag { offset: usize },
    #[error("auth TLV at offset {offset} does not match the cluster key")]
    BadTag { offset: usize },
}

impl DecodeError {
    /// Byte offset of the fault, from the start of the payload.
    pub fn offset(&self) -> usize {
        match *self {
            DecodeError::Malformed { offset, .. }
            | DecodeError::Truncated { offset, .. }
            | DecodeError::TooLarge { offset, .. }
            | DecodeError::BadMagic { offset, .. }
            | DecodeError::UnsupportedVersion { offset, .. }
            | DecodeError::UnknownKind { offset, .. }
            | DecodeError::LengthMismatch { offset, .. }
            | DecodeError::BadLength { offset, .. }
            | DecodeError::BadUtf8 { offset, .. }
            | DecodeError::BadEnum { offset, .. }
            | DecodeError::Duplicate { offset, .. }
            | DecodeError::Missing { offset, .. }
            | DecodeError::TagNotLast { offset }
            | DecodeError::MissingTag { offset }
            | DecodeError::BadTag { offset } => offset,
        }
    }
}

/// Encodes `payload` for an LSA flooded with `scope`; with a key, appends
/// the AUTH TLV, whose tag covers the scope. Fails if a field is outside
/// its documented limits or the result exceeds [`MAX_PAYLOAD`].
pub fn encode(
    payload: &Payload,
    scope: Scope,
    key: Option<&ClusterKey>,
) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = encode_body(payload, key.is_some())?;
    if let Some(key) = key {
        let tag = key.mac(scope).chain_update(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tlv::ty::AUTH.to_be_bytes());
        bytes.extend_from_slice(&(TAG_LEN as u16).to_be_bytes());
        bytes.extend_from_slice(&tag);
    }
    Ok(bytes)
}

/// The size [`encode`] gives `payload` (with the AUTH TLV if `keyed`),
/// also when that exceeds [`MAX_PAYLOAD`]; fails only on a field outside
/// its limits.
pub fn encoded_len(payload: &Payload, keyed: bool) -> Result<usize, EncodeError> {
    match encode_body(payload, keyed) {
        Ok(body) => Ok(body.len() + if keyed { AUTH_TLV_LEN } else { 0 }),
        Err(EncodeError::TooLarge { len, .. }) => Ok(len),
        Err(e) => Err(e),
    }
}

/// Header and TLVs, with room counted for the AUTH TLV if `keyed`.
fn encode_body(payload: &Payload, keyed: bool) -> Result<Vec<u8>, EncodeError> {
    let trailer = if keyed { AUTH_TLV_LEN } else { 0 };
    let limit = MAX_PAYLOAD - trailer;
    match payload {
        Payload::Service(lsa) => {
            let mut w = Writer::new(KIND_SERVICE, limit);
            service::encode(lsa, &mut w)?;
            w.finish(trailer)
        }
        Payload::Daemon(lsa) => {
            let mut w = Writer::new(KIND_DAEMON, limit);
            daemon::encode(lsa, &mut w)?;
            w.finish(trailer)
        }
    }
}

/// Decodes the payload of an LSA received with `scope`. With a key, a
/// payload without a valid tag for that scope is rejected; without one, a
/// tag is ignored.
pub fn decode(
    bytes: &[u8],
    scope: Scope,
    key: Option<&ClusterKey>,
) -> Result<Payload, DecodeError> {
    let kind = check_header(bytes)?;
    let end = match key {
        Some(key) => verify_tag(bytes, scope, key)?,
        None => bytes.len(),
    };
    let tlvs = Tlvs::new(bytes, HEADER_LEN, end);
    match kind {
        Kind::Service => service::decode(tlvs).map(Payload::Service),
        Kind::Daemon => daemon::decode(tlvs).map(Payload::Daemon),
    }
}

enum Kind {
    Service,
    Daemon,
}

/// Validates the header and returns the payload kind.
fn check_header(bytes: &[u8]) -> Result<Kind, DecodeError> {
    let len = bytes.len();
    if len < HEADER_LEN {
        return Err(DecodeError::Truncated {
            offset: 0,
            what: "header",
            need: HEADER_LEN,
            have: len,
        });
    }
    if len > MAX_PAYLOAD {
        return Err(DecodeError::TooLarge {
            offset: MAX_PAYLOAD,
            len,
            max: MAX_PAYLOAD,
        });
    }
    if bytes[..2] != MAGIC {
        return Err(DecodeError::BadMagic {
            offset: 0,
            found: [bytes[0], bytes[1]],
        });
    }
    // A new version may change anything after the version byte.
    if bytes[2] != VERSION {
        return Err(DecodeError::UnsupportedVersion {
            offset: 2,
            version: bytes[2],
        });
    }
    let kind = match bytes[3] {
        KIND_SERVICE => Kind::Service,
        KIND_DAEMON => Kind::Daemon,
        kind => return Err(DecodeError::UnknownKind { offset: 3, kind }),
    };
    let declared = usize::from(u16::from_be_bytes([
        bytes[LENGTH_OFFSET],
        bytes[LENGTH_OFFSET + 1],
    ]));
    if declared != len {
        return Err(DecodeError::LengthMismatch {
            offset: LENGTH_OFFSET,
            declared,
            actual: len,
        });
    }
    if len % 4 != 0 {
        return Err(DecodeError::Malformed {
            offset: LENGTH_OFFSET,
            what: "payload length is not a multiple of 4",
        });
    }
    Ok(kind)
}

/// Checks the AUTH TLV in the last 36 bytes (constant-time compare) and
/// returns where the TLVs it covers end.
fn verify_tag(bytes: &[u8], scope: Scope, key: &ClusterKey) -> Result<usize, DecodeError> {
    let len = bytes.len();
    let Some(tag_at) = len.checked_sub(AUTH_TLV_LEN).filter(|&at| at >= HEADER_LEN) else {
        return Err(DecodeError::MissingTag { offset: len });
    };
    let mut expected_header = [0; 4];
    expected_header[..2].copy_from_slice(&tlv::ty::AUTH.to_be_bytes());
    expected_header[2..].copy_from_slice(&(TAG_LEN as u16).to_be_bytes());
    if bytes[tag_at..tag_at + 4] != expected_header {
        return Err(DecodeError::MissingTag { offset: tag_at });
    }
    key.mac(scope)
        .chain_update(&bytes[..tag_at])
        .verify_slice(&bytes[tag_at + 4..])
        .map_err(|_| DecodeError::BadTag { offset: tag_at })?;
    Ok(tag_at)
}
