//! The LSDB, decoded: router and network LSAs by the `ospf-parser` crate,
//! srrd's opaque LSAs by srrd's own decoder, anything else as hex.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use nom_derive::Parse;
use ospf_parser::{OspfLinkStateAdvertisement, OspfRouterLinkType};
use serde::Serialize;

use super::srrd_lsa::{entry, Entry};
use crate::engine::LsaRef;
use crate::lsa::{ClusterKey, OPAQUE_TYPE};
use crate::model::{RouterId, Scope};
use crate::ospfapi::{ClientError, LsaNotify, Session};

/// How long the dump may pause before it is taken as complete.
const QUIET: Duration = Duration::from_millis(300);

pub type LsdbError = ClientError;

/// The local ospfd's link-state database.
#[derive(Clone, Debug, Serialize)]
pub struct Lsdb {
    pub router_id: RouterId,
    pub reachable: Vec<RouterId>,
    pub router: Vec<RouterLsa>,
    pub network: Vec<NetworkLsa>,
    pub opaque: Vec<OpaqueLsa>,
    /// Summary, external and other LSAs, undecoded.
    pub other: Vec<OtherLsa>,
}

/// What every LSA carries.
#[derive(Clone, Debug, Serialize)]
pub struct LsaHeader {
    pub lsa_type: u8,
    pub ls_id: Ipv4Addr,
    pub adv_router: RouterId,
    /// Seconds.
    pub age: u16,
    /// As vtysh shows it, e.g. `80000003`.
    pub seq: String,
    /// 0.0.0.0 for AS-scope LSAs.
    pub area: Ipv4Addr,
    pub self_originated: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouterLsa {
    #[serde(flatten)]
    pub header: LsaHeader,
    pub area_border: bool,
    pub as_boundary: bool,
    pub virtual_link_end: bool,
    pub links: Vec<RouterLink>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouterLink {
    /// `point-to-point`, `transit`, `stub` or `virtual`.
    pub kind: String,
    /// Neighbour router id, DR address or network, by kind (RFC 2328 A.4.2).
    pub link_id: Ipv4Addr,
    /// Interface address, or the network mask of a stub.
    pub link_data: Ipv4Addr,
    pub metric: u16,
}

#[derive(Clone, Debug, Serialize)]
pub struct NetworkLsa {
    #[serde(flatten)]
    pub header: LsaHeader,
    pub mask: Ipv4Addr,
    pub attached: Vec<RouterId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OpaqueLsa {
    #[serde(flatten)]
    pub header: LsaHeader,
    pub opaque_type: u8,
    pub opaque_id: u32,
    #[serde(flatten)]
    pub content: OpaqueContent,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpaqueContent {
    /// srrd's payload, decoded and marked as the daemon takes it.
    Srrd(Entry),
    /// Another application's payload.
    Raw { hex: String },
}

/// An LSA shown as hex: a type the glass does not decode, or one that
/// `ospf-parser` refused (`error` says why).
#[derive(Clone, Debug, Serialize)]
pub struct OtherLsa {
    #[serde(flatten)]
    pub header: LsaHeader,
    pub hex: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Reads and decodes the LSDB of the ospfd whose API server is `api`;
/// `key` checks srrd's HMAC tags as the daemon does.
pub async fn lsdb(api: SocketAddr, key: Option<&ClusterKey>) -> Result<Lsdb, LsdbError> {
    let mut session = Session::observe(api).await?;
    let snapshot = session.lsdb_snapshot(QUIET).await?;
    let mut db = Lsdb {
        router_id: snapshot.router_id,
        reachable: snapshot.reachable,
        router: Vec::new(),
        network: Vec::new(),
        opaque: Vec::new(),
        other: Vec::new(),
    };
    for n in &snapshot.lsas {
        decode_into(&mut db, n, key);
    }
    Ok(db)
}

fn header(n: &LsaNotify) -> LsaHeader {
    let h = &n.lsa.header;
    LsaHeader {
        lsa_type: h.lsa_type,
        ls_id: Ipv4Addr::from(h.ls_id),
        adv_router: h.adv_router,
        age: h.age,
        seq: format!("{:08x}", h.seq),
        area: n.area,
        self_originated: n.is_self_originated,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Files one LSA of the dump under its kind.
fn decode_into(db: &mut Lsdb, n: &LsaNotify, key: Option<&ClusterKey>) {
    let h = &n.lsa.header;
    if let Some(scope) = Scope::from_lsa_type(h.lsa_type) {
        let content = if h.opaque_type() == OPAQUE_TYPE {
            let lsa = LsaRef {
                adv_router: h.adv_router,
                scope,
                opaque_id: h.opaque_id(),
            };
            OpaqueContent::Srrd(entry(lsa, &n.lsa.data, key, &db.reachable))
        } else {
            OpaqueContent::Raw {
                hex: hex(&n.lsa.data),
            }
        };
        return db.opaque.push(OpaqueLsa {
            header: header(n),
            opaque_type: h.opaque_type(),
            opaque_id: h.opaque_id(),
            content,
        });
    }
    let bytes = n.lsa.to_bytes();
    let error = match OspfLinkStateAdvertisement::parse(&bytes) {
        Ok((_, OspfLinkStateAdvertisement::RouterLinks(r))) => {
            return db.router.push(RouterLsa {
                header: header(n),
                area_border: r.flags & 0x0100 != 0,
                as_boundary: r.flags & 0x0200 != 0,
                virtual_link_end: r.flags & 0x0400 != 0,
                links: r
                    .links
                    .iter()
                    .map(|l| RouterLink {
                        kind: link_kind(l.link_type),
                        link_id: l.link_id(),
                        link_data: l.link_data(),
                        metric: l.tos_0_metric,
                    })
                    .collect(),
            })
        }
        Ok((_, OspfLinkStateAdvertisement::NetworkLinks(net))) => {
            return db.network.push(NetworkLsa {
                header: header(n),
                mask: net.network_mask(),
                attached: net.attached_routers.iter().map(|&r| RouterId(r)).collect(),
            })
        }
        Ok(_) => None,
        Err(e) if matches!(h.lsa_type, 1 | 2) => Some(format!("ospf-parser: {e:?}")),
        Err(_) => None,
    };
    db.other.push(OtherLsa {
        header: header(n),
        hex: hex(&n.lsa.data),
        error,
    });
}

fn link_kind(t: OspfRouterLinkType) -> String {
    match t {
        OspfRouterLinkType::PointToPoint => "point-to-point".into(),
        OspfRouterLinkType::Transit => "transit".into(),
        OspfRouterLinkType::Stub => "stub".into(),
        OspfRouterLinkType::Virtual => "virtual".into(),
        other => format!("type {}", other.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ospfapi::{Lsa, LsaHeader as WireHeader};

    fn notify(lsa_type: u8, ls_id: u32, data: Vec<u8>) -> LsaNotify {
        LsaNotify {
            ifaddr: Ipv4Addr::UNSPECIFIED,
            area: Ipv4Addr::UNSPECIFIED,
            is_self_originated: false,
            lsa: Lsa {
                header: WireHeader {
                    age: 5,
                    options: 0x02,
                    lsa_type,
                    ls_id,
                    adv_router: RouterId(0x0aff_000b),
                    seq: 0x8000_0003,
                    checksum: 0,
                },
                data,
            },
        }
    }

    fn empty() -> Lsdb {
        Lsdb {
            router_id: RouterId(1),
            reachable: Vec::new(),
            router: Vec::new(),
            network: Vec::new(),
            opaque: Vec::new(),
            other: Vec::new(),
        }
    }

    #[test]
    fn a_router_lsa_decodes_its_links() {
        // flags B (area border), 1 link: stub 192.0.2.10/32 metric 0.
        let data = [
            0x01, 0x00, 0x00, 0x01, 192, 0, 2, 10, 255, 255, 255, 255, 3, 0, 0, 0,
        ];
        let mut db = empty();
        decode_into(&mut db, &notify(1, 0x0aff_000b, data.to_vec()), None);
        let r = &db.router[0];
        assert!(r.area_border && !r.as_boundary);
        assert_eq!(r.links[0].kind, "stub");
        assert_eq!(r.links[0].link_id, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(r.header.seq, "80000003");
    }

    #[test]
    fn a_network_lsa_lists_its_routers() {
        let data = [255, 255, 255, 0, 10, 255, 0, 1, 10, 255, 0, 11];
        let mut db = empty();
        decode_into(&mut db, &notify(2, 0xc633_6401, data.to_vec()), None);
        let n = &db.network[0];
        assert_eq!(n.mask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            n.attached,
            vec![RouterId(0x0aff_0001), RouterId(0x0aff_000b)]
        );
    }

    #[test]
    fn a_truncated_router_lsa_is_kept_as_hex_with_the_error() {
        let mut db = empty();
        decode_into(&mut db, &notify(1, 1, vec![0, 0, 0, 5]), None);
        assert!(db.router.is_empty());
        assert!(db.other[0].error.is_some());
        assert_eq!(db.other[0].hex, "00000005");
    }

    #[test]
    fn foreign_opaque_lsas_are_raw_and_srrd_ones_decoded() {
        let mut db = empty();
        decode_into(&mut db, &notify(10, 0x0100_0001, vec![0xab, 0xcd]), None);
        decode_into(&mut db, &notify(10, 0xde00_0001, b"junk".to_vec()), None);
        assert!(matches!(&db.opaque[0].content, OpaqueContent::Raw { hex } if hex == "abcd"));
        match &db.opaque[1].content {
            OpaqueContent::Srrd(e) => assert_eq!(e.ignored.as_deref(), Some("undecodable")),
            other => panic!("{other:?}"),
        }
    }
}
