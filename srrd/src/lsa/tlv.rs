//! TLV framing shared by both payload kinds (docs/protocol.md, "Header" and
//! "TLV framing"): the header writer, the TLV walker and the value readers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::codec::{DecodeError, EncodeError};
use super::MAX_PAYLOAD;

pub(super) const MAGIC: [u8; 2] = *b"SR";
/// 2 since the tag covers the LSA type (docs/protocol.md, "Versioning").
pub(super) const VERSION: u8 = 2;
pub(super) const HEADER_LEN: usize = 8;
/// Offset of the u16 total-length field in the header.
pub(super) const LENGTH_OFFSET: usize = 4;
pub(super) const TLV_HEADER_LEN: usize = 4;

pub(super) const KIND_SERVICE: u8 = 1;
pub(super) const KIND_DAEMON: u8 = 2;

/// TLV type numbers. One number space for both kinds; a type that is not
/// defined for a payload's kind is skipped like an unknown one.
pub(super) mod ty {
    pub const GENERATION: u16 = 1;
    pub const NAME: u16 = 2;
    pub const STATE: u16 = 3;
    pub const GROUP: u16 = 4;
    pub const DEPENDS: u16 = 5;
    pub const FAILURE: u16 = 6;
    pub const CHECK: u16 = 7;
    pub const ADDRESS: u16 = 8;
    pub const HANDOFF_TO: u16 = 9;
    pub const STARTED_AT: u16 = 10;
    pub const ORIGINATOR: u16 = 11;
    pub const CLAIM: u16 = 12;
    pub const ACK: u16 = 13;
    pub const NODE_NAME: u16 = 16;
    pub const WEB: u16 = 17;
    pub const SOFTWARE: u16 = 18;
    pub const AUTH: u16 = 255;
}

/// HMAC-SHA256 output length, and the whole AUTH TLV (always last).
pub(super) const TAG_LEN: usize = 32;
pub(super) const AUTH_TLV_LEN: usize = TLV_HEADER_LEN + TAG_LEN;

/// Values are padded to 4 bytes: FRR rejects API-originated LSA bodies
/// whose length is not a multiple of 4 (FRR issue #21502).
pub(super) fn padded(len: usize) -> usize {
    (len + 3) & !3
}

/// Builds a payload. Once the size passes `limit` it stops writing and
/// only counts, so a huge input never makes a huge buffer and
/// [`Writer::finish`] still reports the exact size.
pub(super) struct Writer {
    buf: Vec<u8>,
    len: usize,
    limit: usize,
}

impl Writer {
    pub fn new(kind: u8, limit: usize) -> Writer {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&MAGIC);
        buf.extend_from_slice(&[VERSION, kind, 0, 0, 0, 0]);
        Writer {
            len: buf.len(),
            buf,
            limit,
        }
    }

    /// Appends one TLV whose value is the concatenation of `parts`.
    pub fn tlv(&mut self, ty: u16, parts: &[&[u8]]) {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        self.len += TLV_HEADER_LEN + padded(value_len);
        if self.len > self.limit {
            return;
        }
        // Cannot truncate: value_len <= limit <= MAX_PAYLOAD < u16::MAX.
        let value_len16 = value_len as u16;
        self.buf.extend_from_slice(&ty.to_be_bytes());
        self.buf.extend_from_slice(&value_len16.to_be_bytes());
        for part in parts {
            self.buf.extend_from_slice(part);
        }
        self.buf
            .resize(self.buf.len() + padded(value_len) - value_len, 0);
    }

    /// Checks the size and fills in the header's length field, which
    /// counts `trailer` more bytes (the AUTH TLV the caller appends).
    pub fn finish(mut self, trailer: usize) -> Result<Vec<u8>, EncodeError> {
        let total = self.len + trailer;
        if self.len > self.limit || total > MAX_PAYLOAD {
            return Err(EncodeError::TooLarge {
                len: total,
                max: MAX_PAYLOAD,
            });
        }
        let total16 = total as u16; // <= MAX_PAYLOAD
        self.buf[LENGTH_OFFSET..LENGTH_OFFSET + 2].copy_from_slice(&total16.to_be_bytes());
        self.buf.reserve_exact(trailer);
        Ok(self.buf)
    }
}

/// Checks a string field's length before encoding it.
pub(super) fn check_len(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), EncodeError> {
    let len = value.len();
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(EncodeError::FieldLength {
            field,
            len,
            min,
            max,
        })
    }
}

/// Wire form of an address: 4 bytes for IPv4, 16 for IPv6.
pub(super) fn ip_bytes(ip: &IpAddr) -> ([u8; 16], usize) {
    let mut out = [0; 16];
    match ip {
        IpAddr::V4(v4) => {
            out[..4].copy_from_slice(&v4.octets());
            (out, 4)
        }
        IpAddr::V6(v6) => (v6.octets(), 16),
    }
}

/// One TLV as found in a payload; `offset` is where its header starts.
pub(super) struct Tlv<'a> {
    pub offset: usize,
    pub ty: u16,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    pub fn value_offset(&self) -> usize {
        self.offset + TLV_HEADER_LEN
    }

    fn bad_length(&self, tlv: &'static str, expected: &'static str) -> DecodeError {
        DecodeError::BadLength {
            offset: self.offset,
            tlv,
            len: self.value.len(),
            expected,
        }
    }

    pub fn fixed<const N: usize>(
        &self,
        tlv: &'static str,
        expected: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        self.value
            .try_into()
            .map_err(|_| self.bad_length(tlv, expected))
    }

    pub fn u32(&self, tlv: &'static str) -> Result<u32, DecodeError> {
        self.fixed::<4>(tlv, "4").map(u32::from_be_bytes)
    }

    pub fn u64(&self, tlv: &'static str) -> Result<u64, DecodeError> {
        self.fixed::<8>(tlv, "8").map(u64::from_be_bytes)
    }

    /// A u32 followed by a u64 (CHECK, ACK).
    pub fn u32_u64(&self, tlv: &'static str) -> Result<(u32, u64), DecodeError> {
        let [a0, a1, a2, a3, b @ ..] = self.fixed::<12>(tlv, "12")?;
        Ok((u32::from_be_bytes([a0, a1, a2, a3]), u64::from_be_bytes(b)))
    }

    /// The value as UTF-8 of `min..=max` bytes (`expected` spells the range
    /// for the error message).
    pub fn text(
        &self,
        tlv: &'static str,
        min: usize,
        max: usize,
        expected: &'static str,
    ) -> Result<String, DecodeError> {
        if !(min..=max).contains(&self.value.len()) {
            return Err(self.bad_length(tlv, expected));
        }
        utf8(self.value, self.value_offset(), tlv)
    }

    pub fn ip(&self, tlv: &'static str) -> Result<IpAddr, DecodeError> {
        ip_from(self.value).ok_or_else(|| self.bad_length(tlv, "4 or 16"))
    }

    pub fn duplicate(&self, tlv: &'static str) -> DecodeError {
        DecodeError::Duplicate {
            offset: self.offset,
            tlv,
        }
    }
}

pub(super) fn utf8(bytes: &[u8], offset: usize, tlv: &'static str) -> Result<String, DecodeError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(DecodeError::BadUtf8 {
            offset: offset + e.valid_up_to(),
            tlv,
        }),
    }
}

pub(super) fn ip_from(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

/// Fills a singleton field, rejecting a second occurrence before parsing it.
pub(super) fn once<T>(
    slot: &mut Option<T>,
    tlv: &Tlv<'_>,
    name: &'static str,
    parse: impl FnOnce(&Tlv<'_>) -> Result<T, DecodeError>,
) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(tlv.duplicate(name));
    }
    *slot = Some(parse(tlv)?);
    Ok(())
}

pub(super) fn required<T>(
    slot: Option<T>,
    end: usize,
    tlv: &'static str,
) -> Result<T, DecodeError> {
    slot.ok_or(DecodeError::Missing { offset: end, tlv })
}

/// Walks the TLVs in `bytes[start..end]`. A trailing AUTH TLV that ends
/// exactly at the end of `bytes` stops the walk (it is verified, or
/// deliberately ignored, by the caller); an AUTH TLV anywhere else is an
/// error. After the first error the walk ends.
pub(super) struct Tlvs<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Tlvs<'a> {
    pub fn new(bytes: &'a [u8], start: usize, end: usize) -> Tlvs<'a> {
        Tlvs {
            bytes,
            pos: start,
            end,
        }
    }

    /// Where the walked area ends: the offset reported for a missing TLV.
    pub fn end(&self) -> usize {
        self.end
    }

    fn next_tlv(&mut self) -> Result<Option<Tlv<'a>>, DecodeError> {
        let offset = self.pos;
        let have = self.end - offset;
        if have < TLV_HEADER_LEN {
            return Err(DecodeError::Truncated {
                offset,
                what: "TLV header",
                need: TLV_HEADER_LEN,
                have,
            });
        }
        let b = self.bytes;
        let ty = u16::from_be_bytes([b[offset], b[offset + 1]]);
        let len = usize::from(u16::from_be_bytes([b[offset + 2], b[offset + 3]]));
        let need = TLV_HEADER_LEN + padded(len);
        if need > have {
            return Err(DecodeError::Truncated {
                offset,
                what: "TLV value",
                need,
                have,
            });
        }
        let value_start = offset + TLV_HEADER_LEN;
        let value = &self.bytes[value_start..value_start + len];
        let padding = &self.bytes[value_start + len..offset + need];
        if let Some(i) = padding.iter().position(|&b| b != 0) {
            return Err(DecodeError::Malformed {
                offset: value_start + len + i,
                what: "non-zero padding",
            });
        }
        self.pos = offset + need;
        if ty == ty::AUTH {
            if self.pos != self.bytes.len() {
                return Err(DecodeError::TagNotLast { offset });
            }
            if len != TAG_LEN {
                return Err(DecodeError::BadLength {
                    offset,
                    tlv: "auth",
                    len,
                    expected: "32",
                });
            }
            return Ok(None);
        }
        Ok(Some(Tlv { offset, ty, value }))
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.end {
            return None;
        }
        let item = self.next_tlv();
        if !matches!(item, Ok(Some(_))) {
            self.pos = self.end;
        }
        item.transpose()
    }
}
