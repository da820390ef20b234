//! Encoder and decoder for the payload format of docs/protocol.md.

use super::Payload;

/// The cluster key for the optional HMAC-SHA256 tag.
#[derive(Clone)]
pub struct ClusterKey(pub Vec<u8>);

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterKey(<secret>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("payload of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("malformed payload at offset {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

pub fn encode(_payload: &Payload, _key: Option<&ClusterKey>) -> Result<Vec<u8>, EncodeError> {
    todo!("lsa codec")
}

pub fn decode(_bytes: &[u8], _key: Option<&ClusterKey>) -> Result<Payload, DecodeError> {
    todo!("lsa codec")
}
