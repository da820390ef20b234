//! Cutting an OSPF API byte stream into messages. Works on whatever the
//! socket delivered: a frame may arrive in any number of pieces.

use super::msg::{decode_body, Msg};
use super::msgtype;

/// `OSPF_API_VERSION`; ospfd closes the connection on anything else.
pub const VERSION: u8 = 1;

/// `struct apimsghdr`: version, msgtype, msglen, msgseq.
pub const HEADER_LEN: usize = 8;

/// Largest body the decoder accepts (and the encoder produces). ospfd
/// writes no body above 1500 bytes (`OSPF_MAX_LSA_SIZE`) and reads up to
/// `sizeof(struct apimsg) + 1500`; 64 bytes of slack covers the fixed part
/// of any message while bounding what junk can make us buffer.
pub const MAX_BODY_LEN: usize = 1500 + 64;

/// A validated message header (its version is always `VERSION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub msgtype: u8,
    /// `msglen`: the body length, header excluded.
    pub body_len: u16,
    /// Requests are numbered by the client; REPLY and the notifications of
    /// a SYNC_* dump echo the request's seq; spontaneous notifications carry 0.
    pub seq: u32,
}

/// What is wrong with the stream, and where: `offset` counts bytes from the
/// first byte ever pushed into the decoder.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum WireError {
    #[error(
        "OSPF API version {version} (want {VERSION}) in {} header at stream offset {offset}",
        msgtype::name(*msgtype)
    )]
    BadVersion {
        version: u8,
        msgtype: u8,
        offset: u64,
    },
    #[error(
        "{} body of {len} bytes at stream offset {offset} exceeds the {max}-byte limit",
        msgtype::name(*msgtype)
    )]
    BodyTooLong {
        msgtype: u8,
        len: usize,
        max: usize,
        offset: u64,
    },
    #[error("malformed {} (seq {seq}) at stream offset {offset}: {what}", msgtype::name(*msgtype))]
    Malformed {
        msgtype: u8,
        seq: u32,
        offset: u64,
        what: &'static str,
    },
}

impl WireError {
    /// A fatal error means the frame boundaries are lost: the decoder
    /// returns it forever and the session must be torn down. `Malformed`
    /// is not fatal: that one frame was skipped and decoding goes on.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, WireError::Malformed { .. })
    }
}

/// Incremental decoder for one direction of one channel.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already decoded; dropped on the next `push`.
    start: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    failed: Option<WireError>,
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Appends bytes read from the socket. After a fatal error the bytes
    /// are discarded, so a junk stream cannot grow the buffer.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` if more bytes are needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<(Header, Msg)>, WireError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let pending = &self.buf[self.start..];
        let Some(head) = pending.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let offset = self.base + self.start as u64;
        let header = Header {
            msgtype: head[1],
            body_len: u16::from_be_bytes([head[2], head[3]]),
            seq: u32::from_be_bytes([head[4], head[5], head[6], head[7]]),
        };
        if head[0] != VERSION {
            return Err(self.fail(WireError::BadVersion {
                version: head[0],
                msgtype: header.msgtype,
                offset,
            }));
        }
        let body_len = usize::from(header.body_len);
        if body_len > MAX_BODY_LEN {
            return Err(self.fail(WireError::BodyTooLong {
                msgtype: header.msgtype,
                len: body_len,
                max: MAX_BODY_LEN,
                offset,
            }));
        }
        let Some(body) = pending.get(HEADER_LEN..HEADER_LEN + body_len) else {
            return Ok(None);
        };
        let decoded = decode_body(header.msgtype, body);
        self.start += HEADER_LEN + body_len;
        match decoded {
            Ok(msg) => Ok(Some((header, msg))),
            Err(e) => Err(WireError::Malformed {
                msgtype: header.msgtype,
                seq: header.seq,
                offset: offset + (HEADER_LEN + e.offset) as u64,
                what: e.what,
            }),
        }
    }

    /// Bytes pushed but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    fn fail(&mut self, e: WireError) -> WireError {
        self.buf = Vec::new();
        self.start = 0;
        self.failed = Some(e.clone());
        e
    }
}
