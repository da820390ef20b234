//! Properties of the OSPF API codec: every message survives encode ->
//! decode (whatever the read boundaries), and no byte soup makes the frame
//! decoder panic or buffer without bound.

use std::net::Ipv4Addr;

use proptest::collection::vec;
use proptest::prelude::*;
use srrd::model::{RouterId, Scope};
use srrd::ospfapi::*;

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn router_id() -> impl Strategy<Value = RouterId> {
    any::<u32>().prop_map(RouterId)
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![Just(Scope::Link), Just(Scope::Area), Just(Scope::As)]
}

fn filter() -> impl Strategy<Value = LsaFilter> {
    (any::<u16>(), any::<u8>(), vec(addr(), 0..8)).prop_map(|(typemask, origin, areas)| LsaFilter {
        typemask,
        origin: Origin::from(origin),
        areas,
    })
}

/// `data_len` bytes of LSA body; `len_step` 4 for what the originate
/// encoder keeps as is (it pads the data to 4).
fn lsa(max_data: usize, len_step: usize) -> impl Strategy<Value = Lsa> {
    (
        (any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()),
        (router_id(), any::<u32>(), any::<u16>()),
        vec(any::<u8>(), 0..=max_data / len_step),
    )
        .prop_map(
            move |((age, options, lsa_type, ls_id), (adv_router, seq, checksum), mut data)| {
                data.truncate(data.len() / len_step * len_step);
                Lsa {
                    header: LsaHeader {
                        age,
                        options,
                        lsa_type,
                        ls_id,
                        adv_router,
                        seq,
                        checksum,
                    },
                    data: data.repeat(len_step),
                }
            },
        )
}

fn notify() -> impl Strategy<Value = LsaNotify> {
    // 1488-byte LSA = the largest ospfd notifies (body 1500).
    (addr(), addr(), any::<bool>(), lsa(1468, 1)).prop_map(
        |(ifaddr, area, is_self_originated, lsa)| LsaNotify {
            ifaddr,
            area,
            is_self_originated,
            lsa,
        },
    )
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (scope(), any::<u8>())
            .prop_map(|(scope, opaque_type)| Msg::RegisterOpaqueType { scope, opaque_type }),
        (scope(), any::<u8>())
            .prop_map(|(scope, opaque_type)| Msg::UnregisterOpaqueType { scope, opaque_type }),
        filter().prop_map(Msg::RegisterEvent),
        filter().prop_map(Msg::SyncLsdb),
        (addr(), addr(), lsa(1488, 4)).prop_map(|(ifaddr, area, lsa)| {
            Msg::OriginateRequest(OriginateRequest { ifaddr, area, lsa })
        }),
        (addr(), scope(), any::<u8>(), any::<u8>(), any::<u32>()).prop_map(
            |(addr, scope, opaque_type, flags, opaque_id)| Msg::DeleteRequest(DeleteRequest {
                addr,
                scope,
                opaque_type,
                flags,
                opaque_id
            })
        ),
        Just(Msg::SyncReachable),
        Just(Msg::SyncIsm),
        Just(Msg::SyncNsm),
        Just(Msg::SyncRouterId),
        any::<i8>().prop_map(|e| Msg::Reply {
            errcode: ReplyCode::from(e)
        }),
        (scope(), any::<u8>(), addr()).prop_map(|(scope, opaque_type, addr)| {
            Msg::ReadyNotify {
                scope,
                opaque_type,
                addr,
            }
        }),
        notify().prop_map(Msg::LsaUpdateNotify),
        notify().prop_map(Msg::LsaDeleteNotify),
        (addr(), addr()).prop_map(|(ifaddr, area)| Msg::NewIf { ifaddr, area }),
        addr().prop_map(|ifaddr| Msg::DelIf { ifaddr }),
        (addr(), addr(), any::<u8>()).prop_map(|(ifaddr, area, s)| Msg::IsmChange {
            ifaddr,
            area,
            state: IsmState::from(s)
        }),
        (addr(), addr(), router_id(), any::<u8>()).prop_map(|(ifaddr, nbraddr, router_id, s)| {
            Msg::NsmChange {
                ifaddr,
                nbraddr,
                router_id,
                state: NsmState::from(s),
            }
        }),
        (vec(router_id(), 0..40), vec(router_id(), 0..40))
            .prop_map(|(added, removed)| Msg::ReachableChange { added, removed }),
        router_id().prop_map(|router_id| Msg::RouterIdChange { router_id }),
        // Types 0 and 21.. are not defined by FRR 8.4.
        (prop_oneof![Just(0u8), 21u8..=255], vec(any::<u8>(), 0..64))
            .prop_map(|(msgtype, body)| Msg::Unknown { msgtype, body }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encode_then_decode_is_identity(
        msgs in vec((msg(), any::<u32>()), 1..6),
        cuts in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for (m, seq) in &msgs {
            encode_into(m, *seq, &mut stream).unwrap();
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();

        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        let mut from = 0;
        for to in cuts {
            dec.push(&stream[from..to]);
            from = to;
            while let Some((header, m)) = dec.next().unwrap() {
                got.push((m, header.seq));
            }
        }
        prop_assert_eq!(got, msgs);
        prop_assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn junk_never_panics(
        chunks in vec(vec(any::<u8>(), 0..200), 0..20),
        // Biased junk: a valid-looking header in front makes the body
        // parsers see arbitrary bytes too.
        msgtype in 0u8..=22,
        len in 0u16..300,
        with_header in any::<bool>(),
    ) {
        let mut dec = FrameDecoder::new();
        if with_header {
            let mut head = vec![VERSION, msgtype];
            head.extend_from_slice(&len.to_be_bytes());
            head.extend_from_slice(&[0, 0, 0, 1]);
            dec.push(&head);
        }
        for chunk in &chunks {
            dec.push(chunk);
            loop {
                match dec.next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) if e.is_fatal() => {
                        prop_assert_eq!(dec.buffered(), 0);
                        break;
                    }
                    Err(_) => {}
                }
            }
            // Whatever is left is at most one incomplete frame.
            prop_assert!(dec.buffered() < HEADER_LEN + MAX_BODY_LEN);
        }
    }
}
