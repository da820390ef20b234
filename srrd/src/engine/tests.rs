//! Robustness: whatever arrives, in whatever order, the engine neither
//! panics nor breaks its own bookkeeping. (Behaviour is pinned by the golden
//! scenarios in tests/scenarios/ and by the simulator.)

use proptest::prelude::*;

use super::*;
use crate::model::{Primitive, Scope};

fn engine() -> Engine {
    let mut disk = ServiceConfig::new("disk");
    disk.kind = crate::model::ServiceKind::Resource;
    disk.group = Some("g".into());
    let mut web = ServiceConfig::new("web");
    web.addresses = vec!["192.0.2.10".parse().expect("literal")];
    web.depends = vec!["disk".into()];
    web.group = Some("g".into());
    web.critical = true;
    web.check_interval = Some(std::time::Duration::from_secs(1));
    web.quorum = true;
    Engine::new(
        EngineSettings::default(),
        vec![disk, web],
        &Restored::default(),
    )
}

fn event() -> impl Strategy<Value = Event> {
    let rid = (1u32..5).prop_map(RouterId);
    let lsa = (rid.clone(), 0u32..8).prop_map(|(adv_router, opaque_id)| LsaRef {
        adv_router,
        scope: Scope::Area,
        opaque_id,
    });
    prop_oneof![
        Just(Event::ApiConnected {
            router_id: RouterId(2)
        }),
        Just(Event::ApiLost),
        Just(Event::Timer),
        (lsa.clone(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(lsa, payload)| Event::LsaUpdate { lsa, payload }),
        lsa.clone().prop_map(|lsa| Event::LsaDelete { lsa }),
        lsa.prop_map(|lsa| Event::OriginateFailed {
            lsa,
            reason: "x".into()
        }),
        (
            proptest::collection::vec(rid.clone(), 0..3),
            proptest::collection::vec(rid, 0..3)
        )
            .prop_map(|(added, removed)| Event::Reachability { added, removed }),
        (0u64..40, 0u32..3).prop_map(|(op, r)| Event::PrimitiveDone {
            op: OpId(op),
            result: match r {
                0 => PrimitiveResult::Ok,
                1 => PrimitiveResult::Recall,
                _ => PrimitiveResult::Failed(2),
            },
        }),
        (
            0usize..8,
            prop_oneof![Just("web"), Just("disk"), Just("nope")]
        )
            .prop_map(|(c, s)| {
                let s = s.to_string();
                Event::Command(match c {
                    0 => Command::Activate(s),
                    1 => Command::Deactivate(s),
                    2 => Command::Enable(s),
                    3 => Command::Disable(s),
                    4 => Command::Start(s),
                    5 => Command::Stop(s),
                    6 => Command::MoveTo(s, RouterId(3)),
                    _ => Command::Shutdown,
                })
            }),
    ]
}

proptest! {
    #[test]
    fn any_event_sequence_is_handled(events in proptest::collection::vec((0u64..3000, event()), 0..80)) {
        let mut e = engine();
        let mut now = 0;
        for (dt, ev) in events {
            now += dt;
            let actions = e.handle(Time(now), ev);
            for a in &actions {
                if let Action::RunPrimitive(r) = a {
                    prop_assert!(r.primitive != Primitive::Start || r.service != "web"
                        || e.service("disk").is_some_and(|d| d.run == crate::model::RunState::Started),
                        "web started before disk");
                }
            }
            // At most one primitive per service at a time.
            for s in e.services() {
                let running = e.ops.values().filter(|&&i| e.locals[i].cfg.name == s.name).count();
                prop_assert!(running <= 1, "{} has {running} primitives", s.name);
            }
        }
    }
}

#[test]
fn reload_applies_live_settings_and_reports_the_rest() {
    let mut e = engine();
    let mut services: Vec<ServiceConfig> = ["disk", "web"]
        .iter()
        .map(|n| e.service_config(n).cloned().expect("configured"))
        .collect();
    services[1].timeouts.start = std::time::Duration::from_secs(7);
    services[1].check_interval = Some(std::time::Duration::from_secs(3));
    assert!(e.reload(&services).is_empty());
    let web = e.service_config("web").expect("web");
    assert_eq!(web.timeouts.start, std::time::Duration::from_secs(7));
    assert_eq!(web.check_interval, Some(std::time::Duration::from_secs(3)));

    services[1].preference = 7;
    services.push(ServiceConfig::new("extra"));
    services.remove(0);
    let mut needs = e.reload(&services);
    needs.sort();
    assert_eq!(
        needs,
        vec!["disk (removed)", "extra (added)", "web.preference"]
    );
    assert_eq!(e.service_config("web").expect("web").preference, 100);
}

/// Drives `engine()` from session up until it floods `web` as started,
/// answering every primitive with success.
#[test]
fn generation_and_service_names_follow_what_is_flooded() {
    let mut e = engine();
    assert_eq!(e.generation("web"), None, "nothing flooded yet");
    assert_eq!(e.generation("nope"), None);
    let me = RouterId(2);
    let mut pending = e.handle(Time(0), Event::ApiConnected { router_id: me });
    let mut last = None;
    for step in 1..200u64 {
        let now = Time(step * 500);
        let mut next = Vec::new();
        for a in std::mem::take(&mut pending) {
            match a {
                Action::RunPrimitive(run) => next.extend(e.handle(
                    now,
                    Event::PrimitiveDone {
                        op: run.op,
                        result: PrimitiveResult::Ok,
                    },
                )),
                Action::Originate { lsa, payload } => {
                    if let Ok(crate::lsa::Payload::Service(s)) =
                        crate::lsa::decode(&payload, lsa.scope, None)
                    {
                        if s.name == "web" {
                            last = Some(s.generation);
                        }
                    }
                    next.extend(e.handle(now, Event::LsaUpdate { lsa, payload }));
                }
                _ => {}
            }
        }
        next.extend(e.handle(now, Event::Timer));
        pending = next;
        if e.service("web")
            .is_some_and(|s| s.run == crate::model::RunState::Started)
        {
            break;
        }
    }
    for a in &pending {
        if let Action::Originate { lsa, payload } = a {
            if let Ok(crate::lsa::Payload::Service(s)) =
                crate::lsa::decode(payload, lsa.scope, None)
            {
                if s.name == "web" {
                    last = Some(s.generation);
                }
            }
        }
    }
    assert!(last.is_some(), "web was flooded");
    assert_eq!(e.generation("web"), last);
    // Our own echoes are not peers' records.
    assert_eq!(e.view().service_names().count(), 0);
    let peer =
        crate::lsa::ServiceLsa::largest("db", crate::model::ServiceKind::Service, None, &[], &[]);
    let peer = crate::lsa::ServiceLsa {
        originator: Some(RouterId(3)),
        generation: (1 << 32) | 1,
        ..peer
    };
    let payload = crate::lsa::encode(&crate::lsa::Payload::Service(peer), Scope::Area, None)
        .expect("encodes");
    let lsa = LsaRef {
        adv_router: RouterId(3),
        scope: Scope::Area,
        opaque_id: 7,
    };
    e.handle(
        Time(200_000),
        Event::Reachability {
            added: vec![RouterId(3)],
            removed: vec![],
        },
    );
    e.handle(Time(200_000), Event::LsaUpdate { lsa, payload });
    assert_eq!(e.view().service_names().collect::<Vec<_>>(), vec!["db"]);
}

#[test]
fn ignored_lsas_are_counted_by_reason() {
    use crate::lsa::{encode, DaemonLsa, IgnoreReason, Payload};
    let mut e = engine();
    e.handle(
        Time(1),
        Event::ApiConnected {
            router_id: RouterId(2),
        },
    );
    let lsa = LsaRef {
        adv_router: RouterId(3),
        scope: Scope::Area,
        opaque_id: 1,
    };
    let foreign = Payload::Daemon(DaemonLsa {
        generation: 1,
        node_name: "n3".into(),
        web: None,
        software: "test".into(),
        originator: Some(RouterId(9)),
    });
    let foreign = encode(&foreign, Scope::Area, None).expect("encodes");
    for payload in [b"junk".to_vec(), foreign.clone(), foreign] {
        e.handle(Time(2), Event::LsaUpdate { lsa, payload });
    }
    let counts: Vec<(IgnoreReason, u64)> = e.ignored_lsas().iter().map(|(r, n)| (*r, *n)).collect();
    assert_eq!(
        counts,
        vec![
            (IgnoreReason::Malformed, 1),
            (IgnoreReason::ForeignOriginator, 2)
        ]
    );
}

fn adopted_engine() -> Engine {
    let e = engine();
    let services = ["disk", "web"]
        .iter()
        .map(|n| e.service_config(n).cloned().expect("configured"))
        .collect();
    let restored = Restored {
        adopted: ["disk", "web"].iter().map(|s| s.to_string()).collect(),
        ..Restored::default()
    };
    Engine::new(EngineSettings::default(), services, &restored)
}

fn runs(actions: &[Action], primitive: Primitive) -> Vec<(OpId, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunPrimitive(r) if r.primitive == primitive => Some((r.op, r.service.clone())),
            _ => None,
        })
        .collect()
}

proptest! {
    #[test]
    fn any_event_sequence_is_handled_while_adopting(events in proptest::collection::vec((0u64..3000, event()), 0..80)) {
        let mut e = adopted_engine();
        let mut now = 0;
        for (dt, ev) in events {
            now += dt;
            let actions = e.handle(Time(now), ev);
            prop_assert!(runs(&actions, Primitive::Start).iter().all(|(_, s)| s != "web"
                || e.service("disk").is_some_and(|d| d.run == crate::model::RunState::Started)),
                "web started before disk");
        }
    }
}

#[test]
fn an_adopted_unit_keeps_its_vip_and_waits_for_the_lsdb() {
    use crate::model::RunState;
    let mut e = adopted_engine();
    let first = e.handle(Time(1), Event::Timer);
    assert!(
        first
            .iter()
            .any(|a| matches!(a, Action::AddVip { service, .. } if service == "web")),
        "the shell must own the adopted VIP: {first:?}"
    );
    assert_eq!(e.service("web").map(|s| s.run), Some(RunState::Started));
    let up = e.handle(
        Time(2),
        Event::ApiConnected {
            router_id: RouterId(2),
        },
    );
    assert!(runs(&up, Primitive::Stop).is_empty() && runs(&up, Primitive::Start).is_empty());
    let activations = runs(&up, Primitive::Activate);
    assert_eq!(activations.len(), 2, "adopted services activate: {up:?}");
    for (op, _) in activations {
        let done = e.handle(
            Time(3),
            Event::PrimitiveDone {
                op,
                result: PrimitiveResult::Ok,
            },
        );
        assert!(runs(&done, Primitive::Stop).is_empty(), "{done:?}");
    }
    // Shutting down refuses the adoption: dependants stop first.
    let down = e.handle(Time(4), Event::Command(Command::Shutdown));
    assert_eq!(
        runs(&down, Primitive::Stop)
            .into_iter()
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        ["web"]
    );
}

#[test]
fn an_adopted_unit_stops_on_shutdown_before_any_session() {
    let mut e = adopted_engine();
    let down = e.handle(Time(1), Event::Command(Command::Shutdown));
    assert_eq!(runs(&down, Primitive::Stop).len(), 1, "{down:?}");
}
