//! The operator's read side against real FRR 8.4 in network namespaces
//! (lab/src/netns/), on the lab's topology (lab/srrd.clab.yml): srrd on
//! n1 and n2, on LAN A behind the DR r1. The LSDB looking glass decodes their router and network LSAs and
//! srrd's opaque LSAs; the allow-listed vtysh commands reach the node's
//! own FRR; the metrics endpoint, parsed as Prometheus text, shows the
//! service, the session and a failover. Needs root and FRR (CI has both).

mod common;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use common::lab::{require_root, wait_for, Lab, ProcHandle, Profile};
use srrd::config::ServiceConfig;
use srrd::glass::{self, Content, OpaqueContent, Vtysh};
use srrd::model::RouterId;
use srrd_lab::cluster::{Cluster, Overrides};

const VIP: &str = "192.0.2.10";
/// r1's router id.
const R1: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);
const METRICS: &str = "127.0.0.1:9464";

const PRIMITIVES: &str = "#!/bin/sh\nexit 0\n";

struct Setup {
    nodes: Cluster,
    srrd: Vec<ProcHandle>,
}

fn rid(last: u8) -> RouterId {
    RouterId(u32::from(Ipv4Addr::new(10, 255, 0, last)))
}

/// The lab's topology with srrd on n1 and n2 (LAN A, behind r1, the DR)
/// serving web; n3 runs FRR only.
fn setup() -> Setup {
    require_root();
    let mut nodes = Cluster::build_lab(
        Lab::new("frr_observe"),
        PathBuf::from(env!("CARGO_BIN_EXE_srrd")),
        Overrides::own_srrd(Profile::Fast),
    )
    .unwrap_or_else(|e| panic!("the lab: {e}"));
    let script = nodes.lab.dir().join("web.sh");
    std::fs::write(&script, PRIMITIVES).expect("write primitives");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut srrd = Vec::new();
    for node in ["n1", "n2"] {
        let mut config = nodes.base_config(node);
        config.node.metrics_listen = Some(METRICS.parse().expect("literal"));
        config.services = vec![ServiceConfig {
            addresses: vec![VIP.parse().expect("the VIP")],
            check_interval: Some(Duration::from_secs(1)),
            primitives: script.clone(),
            ..ServiceConfig::new("web")
        }];
        nodes
            .configure_srrd(node, config)
            .unwrap_or_else(|e| panic!("{e}"));
        srrd.push(nodes.spawn_srrd(node, "srrd=info"));
    }
    Setup { nodes, srrd }
}

/// `GET path` on the node's metrics listener: (status line, body).
fn get(lab: &Lab, node: &str, path: &str) -> Option<(String, String)> {
    lab.in_netns(node, || {
        let addr: SocketAddr = METRICS.parse().expect("literal");
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        Some((head.lines().next()?.to_string(), body.to_string()))
    })
}

fn scrape(lab: &Lab, node: &str) -> prometheus_parse::Scrape {
    let (status, body) = get(lab, node, "/metrics").expect("metrics answer");
    assert!(status.contains("200"), "{status}");
    // Hyper may answer chunked; the test asks for a plain body.
    let body = dechunk(&body);
    prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{body}"))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    if out.is_empty() {
        body.to_string()
    } else {
        out
    }
}

fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| {
            x.metric == name
                && labels
                    .iter()
                    .all(|(k, v)| x.labels.get(k).is_some_and(|got| got == *v))
        })
        .map(|x| match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

/// The node whose metrics show web started, once one does.
fn holder(lab: &Lab, nodes: &[&'static str]) -> Option<&'static str> {
    nodes.iter().copied().find(|node| {
        get(lab, node, "/metrics").is_some_and(|_| {
            let s = scrape(lab, node);
            value(
                &s,
                "srrd_service_state",
                &[("node", node), ("run", "started")],
            ) == Some(1.0)
        })
    })
}

#[test]
fn looking_glass_routing_commands_and_metrics_against_real_frr() {
    let Setup { nodes, srrd } = setup();
    let lab = &nodes.lab;
    let first = wait_for(Duration::from_secs(30), || {
        holder(lab, &["n1", "n2"]).is_some()
    })
    .map(|_| holder(lab, &["n1", "n2"]).expect("seen"))
    .unwrap_or_else(|| panic!("web never started\n{}", srrd[0].log_text()));
    // n2 has the higher router id and equal preference: it wins.
    assert_eq!(first, "n2");

    // The looking glass, from n1's ospfd.
    let db = lab.in_netns("n1", || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(glass::lsdb(
            "127.0.0.1:2607".parse().expect("literal"),
            None,
        ))
    });
    let db = db.expect("lsdb");
    assert_eq!(db.router_id, rid(11));
    let n1 = db
        .router
        .iter()
        .find(|r| r.header.adv_router == rid(11))
        .expect("n1's router LSA");
    // r1 (priority 255) is LAN A's DR; the nodes have priority 0.
    let dr = Ipv4Addr::new(198, 51, 100, 1);
    assert!(
        n1.links
            .iter()
            .any(|l| l.kind == "transit" && l.link_id == dr),
        "{n1:?}"
    );
    let n2 = db
        .router
        .iter()
        .find(|r| r.header.adv_router == rid(12))
        .expect("n2's router LSA");
    // The holder advertises the VIP as a /32 stub.
    assert!(
        n2.links
            .iter()
            .any(|l| l.kind == "stub" && l.link_id.to_string() == VIP),
        "{n2:?}"
    );
    let net = db
        .network
        .iter()
        .find(|n| n.header.ls_id == dr)
        .expect("the LAN's network LSA");
    let mut attached = net.attached.clone();
    attached.sort();
    assert_eq!(attached, vec![RouterId(u32::from(R1)), rid(11), rid(12)]);
    let srrd_lsas: Vec<_> = db
        .opaque
        .iter()
        .filter_map(|o| match &o.content {
            OpaqueContent::Srrd(e) => Some(e),
            OpaqueContent::Raw { .. } => None,
        })
        .collect();
    assert!(
        srrd_lsas.iter().all(|e| e.ignored.is_none()),
        "{srrd_lsas:?}"
    );
    assert!(srrd_lsas.iter().any(|e| e.adv_router == rid(12)
        && matches!(&e.content, Content::Service { name, state, .. } if name == "web" && state == "active/started")));
    assert!(srrd_lsas
        .iter()
        .any(|e| matches!(&e.content, Content::Daemon { node_name, .. } if node_name == "n1")));

    // Routing commands reach each node's own FRR.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let vtysh = |node: &str| Vtysh {
        program: "vtysh".into(),
        vty_socket_dir: Some(lab.node_dir(node)),
    };
    let neighbours = rt
        .block_on(glass::routing(&vtysh("n1"), "ospf-neighbor"))
        .expect("vtysh");
    // Full with the DR, 2-Way with the other DROther.
    let state_of = |id: &str| {
        neighbours
            .lines()
            .find(|l| l.starts_with(id))
            .map(|l| l.split_whitespace().nth(2).unwrap_or_default().to_string())
    };
    assert!(
        state_of(&format!("{R1} ")).is_some_and(|s| s.starts_with("Full/DR")),
        "{neighbours}"
    );
    assert!(
        state_of("10.255.0.12 ").is_some_and(|s| s.starts_with("2-Way")),
        "{neighbours}"
    );
    let routes = rt
        .block_on(glass::routing(&vtysh("n1"), "route-ospf"))
        .expect("vtysh");
    assert!(routes.contains(&format!("{VIP}/32")), "{routes}");
    assert!(rt
        .block_on(glass::routing(&vtysh("n1"), "ospf database"))
        .is_err());

    // Metrics: sane values on both nodes, 404 elsewhere.
    let (status, _) = get(lab, "n1", "/").expect("answer");
    assert!(status.contains("404"), "{status}");
    let s = scrape(lab, "n2");
    assert_eq!(value(&s, "srrd_ospf_api_up", &[]), Some(1.0));
    assert_eq!(value(&s, "srrd_vips_held", &[]), Some(1.0));
    assert!(value(&s, "srrd_lsas_originated_total", &[]).is_some_and(|v| v >= 2.0));
    assert!(value(&s, "srrd_lsas_received_total", &[]).is_some_and(|v| v >= 1.0));
    assert_eq!(
        value(
            &s,
            "srrd_lsas_ignored_total",
            &[("reason", "foreign_originator")]
        ),
        Some(0.0)
    );
    assert!(value(&s, "srrd_node_memory_total_bytes", &[]).is_some_and(|v| v > 0.0));
    assert!(value(
        &s,
        "srrd_primitive_duration_seconds_count",
        &[("primitive", "start")]
    )
    .is_some_and(|v| v >= 1.0));
    // The first check runs a check interval (1 s) after the start.
    let check_age = || {
        value(
            &scrape(lab, "n2"),
            "srrd_service_check_age_seconds",
            &[("node", "n2")],
        )
    };
    wait_for(Duration::from_secs(10), || check_age().is_some()).expect("a check age");
    let age = check_age().expect("check age");
    assert!((0.0..30.0).contains(&age), "check age {age}");
    let s1 = scrape(lab, "n1");
    assert_eq!(
        value(
            &s1,
            "srrd_service_state",
            &[
                ("node", "n2"),
                ("router", "10.255.0.12"),
                ("run", "started")
            ]
        ),
        Some(1.0),
        "n1 sees n2 holding"
    );
    assert_eq!(value(&s1, "srrd_vips_held", &[]), Some(0.0));

    // A graceful stop of the holder: n1 takes over and counts a failover.
    lab.signal(&srrd[1], common::lab::Signal::SIGTERM);
    lab.wait_exit(&srrd[1], Duration::from_secs(20))
        .expect("srrd on n2 exits");
    wait_for(Duration::from_secs(20), || holder(lab, &["n1"]).is_some())
        .unwrap_or_else(|| panic!("n1 never took over\n{}", srrd[0].log_text()));
    let s1 = scrape(lab, "n1");
    assert_eq!(
        value(&s1, "srrd_failovers_total", &[("service", "web")]),
        Some(1.0)
    );
    assert_eq!(value(&s1, "srrd_vips_held", &[]), Some(1.0));
}
