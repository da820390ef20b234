//! `srrd lsdb` marks the LSAs the daemon ignores, by the engine's rule
//! (`srrd::lsa::receive`), and LSAs are named as vtysh shows them.

use srrd::engine::LsaRef;
use srrd::glass::{entry, Content};
use srrd::lsa::{encode, ClusterKey, DaemonLsa, Payload};
use srrd::model::{RouterId, Scope};

fn rid(s: &str) -> RouterId {
    s.parse().unwrap()
}

fn lsa(adv: &str) -> LsaRef {
    LsaRef {
        adv_router: rid(adv),
        scope: Scope::Area,
        opaque_id: 0x00ab_0101,
    }
}

fn daemon(originator: Option<&str>) -> Payload {
    Payload::Daemon(DaemonLsa {
        generation: 1,
        node_name: "n3".into(),
        web: None,
        software: "srrd test".into(),
        originator: originator.map(rid),
    })
}

fn ignored(
    adv: &str,
    payload: &Payload,
    sent: Option<&ClusterKey>,
    key: Option<&ClusterKey>,
) -> Option<String> {
    let bytes = encode(payload, Scope::Area, sent).unwrap();
    let e = entry(lsa(adv), &bytes, key, &[rid(adv)]);
    // An ignored LSA is still shown as far as it decodes.
    assert!(matches!(e.content, Content::Daemon { .. }), "{e:?}");
    e.ignored
}

#[test]
fn lsa_ref_prints_as_vtysh_does() {
    assert_eq!(
        lsa("10.0.0.3").to_string(),
        "type-10 222.171.1.1 adv 10.0.0.3"
    );
}

#[test]
fn valid_lsas_are_not_marked() {
    let key = ClusterKey(b"k".to_vec());
    let own = daemon(Some("10.0.0.3"));
    assert_eq!(ignored("10.0.0.3", &own, Some(&key), Some(&key)), None);
    assert_eq!(ignored("10.0.0.3", &own, None, None), None);
    // Without a key a missing originator is accepted.
    assert_eq!(ignored("10.0.0.3", &daemon(None), None, None), None);
}

#[test]
fn ignored_lsas_are_marked() {
    let key = ClusterKey(b"k".to_vec());
    let other = ClusterKey(b"other".to_vec());
    let own = daemon(Some("10.0.0.3"));
    let foreign = daemon(Some("10.0.0.9"));
    assert_eq!(
        ignored("10.0.0.3", &own, Some(&other), Some(&key)).as_deref(),
        Some("bad tag")
    );
    assert_eq!(
        ignored("10.0.0.3", &own, None, Some(&key)).as_deref(),
        Some("no tag")
    );
    let named_other = Some("foreign originator 10.0.0.9");
    assert_eq!(
        ignored("10.0.0.3", &foreign, Some(&key), Some(&key)).as_deref(),
        named_other
    );
    assert_eq!(
        ignored("10.0.0.3", &foreign, None, None).as_deref(),
        named_other
    );
    assert_eq!(
        ignored("10.0.0.3", &daemon(None), Some(&key), Some(&key)).as_deref(),
        Some("no originator")
    );
}

#[test]
fn an_undecodable_lsa_is_marked_and_says_why() {
    let e = entry(lsa("10.0.0.3"), b"junk", None, &[]);
    assert_eq!(e.ignored.as_deref(), Some("undecodable"));
    assert!(matches!(e.content, Content::Undecodable { .. }));
    let line = serde_json::to_string(&e).unwrap();
    assert!(line.contains(r#""ignored":"undecodable""#), "{line}");
}
