//! Daemon payload (kind 2): TLVs 1, 11 and 16-18 of docs/protocol.md.

use std::net::SocketAddr;

use super::codec::{DecodeError, EncodeError, MAX_NAME, MAX_SOFTWARE};
use super::tlv::{check_len, ip_bytes, ip_from, once, required, ty, Tlv, Tlvs, Writer};
use super::DaemonLsa;
use crate::model::RouterId;

/// Emits the TLVs in ascending type order (receivers accept any order).
pub(super) fn encode(lsa: &DaemonLsa, w: &mut Writer) -> Result<(), EncodeError> {
    check_len("node name", &lsa.node_name, 1, MAX_NAME)?;
    check_len("software", &lsa.software, 0, MAX_SOFTWARE)?;
    if let Some(SocketAddr::V6(v6)) = &lsa.web {
        // Both are meaningful only on the sending host.
        if v6.flowinfo() != 0 || v6.scope_id() != 0 {
            return Err(EncodeError::Unrepresentable {
                field: "web",
                what: "IPv6 flow info and scope id are not carried; they must be 0",
            });
        }
    }

    w.tlv(ty::GENERATION, &[&lsa.generation.to_be_bytes()]);
    w.tlv(ty::NODE_NAME, &[lsa.node_name.as_bytes()]);
    if let Some(web) = &lsa.web {
        let (bytes, len) = ip_bytes(&web.ip());
        w.tlv(ty::WEB, &[&web.port().to_be_bytes(), &bytes[..len]]);
    }
    w.tlv(ty::SOFTWARE, &[lsa.software.as_bytes()]);
    if let Some(RouterId(id)) = lsa.originator {
        w.tlv(ty::ORIGINATOR, &[&id.to_be_bytes()]);
    }
    Ok(())
}

pub(super) fn decode(tlvs: Tlvs<'_>) -> Result<DaemonLsa, DecodeError> {
    let end = tlvs.end();
    let mut generation = None;
    let mut node_name = None;
    let mut web = None;
    let mut software = None;
    let mut originator = None;
    for tlv in tlvs {
        let tlv = tlv?;
        match tlv.ty {
            ty::GENERATION => once(&mut generation, &tlv, "generation", |t| t.u64("generation"))?,
            ty::NODE_NAME => once(&mut node_name, &tlv, "node name", |t| {
                t.text("node name", 1, MAX_NAME, "1..=64")
            })?,
            ty::WEB => once(&mut web, &tlv, "web", decode_web)?,
            ty::SOFTWARE => once(&mut software, &tlv, "software", |t| {
                t.text("software", 0, MAX_SOFTWARE, "0..=64")
            })?,
            ty::ORIGINATOR => once(&mut originator, &tlv, "originator", |t| {
                t.u32("originator").map(RouterId)
            })?,
            // Unknown, or defined only for service payloads: skipped.
            _ => {}
        }
    }
    Ok(DaemonLsa {
        generation: required(generation, end, "generation")?,
        node_name: required(node_name, end, "node name")?,
        web,
        software: required(software, end, "software")?,
        originator,
    })
}

fn decode_web(tlv: &Tlv<'_>) -> Result<SocketAddr, DecodeError> {
    let bad_length = || DecodeError::BadLength {
        offset: tlv.offset,
        tlv: "web",
        len: tlv.value.len(),
        expected: "6 or 18",
    };
    let (port, ip) = tlv.value.split_first_chunk::<2>().ok_or_else(bad_length)?;
    let ip = ip_from(ip).ok_or_else(bad_length)?;
    Ok(SocketAddr::new(ip, u16::from_be_bytes(*port)))
}
