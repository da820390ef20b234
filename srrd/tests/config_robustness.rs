//! Parsing arbitrary text never panics and always points inside the file;
//! any valid configuration survives `to_toml` and back.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;
use srrd::config::{
    parse, Config, NodeSettings, RoleMap, ServiceConfig, Timeouts, WebSettings, MAX_DURATION,
};
use srrd::lsa::{encode, ClusterKey, Payload, ServiceLsa};
use srrd::model::{RouterId, Scope, ServiceKind};

const EXAMPLE: &str = include_str!("../examples/node.toml");

/// Every error names the file and a position inside the text.
fn check_errors_are_well_formed(text: &str) -> Result<(), TestCaseError> {
    if let Err(errors) = parse(text, "fuzz.toml") {
        prop_assert!(!errors.is_empty());
        let last_line = text.split('\n').count();
        for e in &errors {
            prop_assert_eq!(&e.file, "fuzz.toml");
            prop_assert!(
                e.line >= 1 && e.line <= last_line,
                "line {} of {}: {}",
                e.line,
                last_line,
                e
            );
            prop_assert!(e.column >= 1, "{}", e);
            prop_assert!(!e.message.is_empty(), "{}", e);
            let prefix = format!("fuzz.toml:{}:{}: ", e.line, e.column);
            prop_assert!(e.to_string().starts_with(&prefix), "{}", e);
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    DuplicateLine { line: usize },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (
            any::<usize>(),
            "[\\[\\]{}=\"',.#0-9a-z_ \n-]{1,12}|\\PC{1,4}"
        )
            .prop_map(|(at, text)| Mutation::Insert { at, text }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut lines: Vec<&str> = text.lines().collect();
    match m {
        Mutation::Delete { at, len } => {
            let at = at % (chars.len() + 1);
            let end = (at + len).min(chars.len());
            chars.drain(at..end);
            chars.into_iter().collect()
        }
        Mutation::Insert { at, text } => {
            let at = at % (chars.len() + 1);
            chars.splice(at..at, text.chars());
            chars.into_iter().collect()
        }
        Mutation::DuplicateLine { line } => {
            let line = line % lines.len();
            lines.insert(line, lines[line]);
            lines.join("\n")
        }
        Mutation::SwapLines { a, b } => {
            let n = lines.len();
            lines.swap(a % n, b % n);
            lines.join("\n")
        }
    }
}

fn duration(min_ms: u64) -> impl Strategy<Value = Duration> {
    let max_ms = MAX_DURATION.as_millis() as u64;
    prop_oneof![min_ms..=60_000u64, min_ms..=max_ms].prop_map(Duration::from_millis)
}

fn timeouts() -> impl Strategy<Value = Timeouts> {
    (
        duration(1),
        duration(1),
        duration(1),
        duration(1),
        duration(1),
        duration(1),
    )
        .prop_map(
            |(activate, deactivate, start, stop, check, other)| Timeouts {
                activate,
                deactivate,
                start,
                stop,
                check,
                other,
            },
        )
}

fn node() -> impl Strategy<Value = NodeSettings> {
    (
        "[a-z][a-z0-9.-]{0,20}",
        proptest::option::of(1u32..),
        "[a-z][a-z0-9]{0,14}",
        proptest::option::of(any::<u16>().prop_filter("port 0", |p| *p != 0)),
        duration(0),
        duration(1),
        duration(1),
    )
        .prop_map(
            |(
                name,
                router_id,
                vip_interface,
                web_port,
                delete_grace,
                echo_timeout,
                recall_interval,
            )| NodeSettings {
                name,
                router_id: router_id.map(RouterId),
                vip_interface,
                state_dir: PathBuf::from("/var/lib/srrd-test"),
                cluster_key_file: Some(PathBuf::from("/etc/srrd/key")),
                ospf_api: "[::1]:2607".parse().unwrap(),
                web_listen: web_port.map(|p| ([0, 0, 0, 0], p).into()),
                metrics_listen: web_port.map(|p| ([127, 0, 0, 1], p).into()),
                vty_socket_dir: web_port.map(|_| PathBuf::from("/run/frr/n1")),
                delete_grace,
                echo_timeout,
                recall_interval,
                handoff_timeout: recall_interval,
                check_refresh: echo_timeout,
                startup_hold: delete_grace,
                restart_grace: echo_timeout,
                keep_services_on_stop: web_port.is_some(),
            },
        )
}

/// Service `i`: unique name and addresses; may depend on earlier services;
/// group members share the area scope.
fn service(i: usize) -> impl Strategy<Value = ServiceConfig> {
    (
        any::<bool>(),
        1usize..4,
        any::<u8>(),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(any::<bool>(), i),
        prop_oneof![Just(Scope::Link), Just(Scope::Area), Just(Scope::As)],
        proptest::option::of(duration(1)),
        timeouts(),
        (any::<bool>(), duration(0), any::<bool>()),
    )
        .prop_map(
            move |(
                resource,
                n_addr,
                preference,
                group,
                deps,
                scope,
                check_interval,
                timeouts,
                (disabled, preempt_delay, quorum),
            )| {
                let mut s = ServiceConfig::new(&format!("svc-{i}"));
                s.kind = if resource {
                    ServiceKind::Resource
                } else {
                    ServiceKind::Service
                };
                if !resource {
                    s.addresses = (0..n_addr)
                        .map(|k| -> IpAddr {
                            if k % 2 == 0 {
                                format!("2001:db8::{i:x}:{k:x}").parse().unwrap()
                            } else {
                                format!("10.{}.{}.{k}", i / 256, i % 256).parse().unwrap()
                            }
                        })
                        .collect();
                }
                s.preference = preference;
                s.group = group.map(|_| String::from("g"));
                s.critical = group == Some(true);
                s.scope = if s.group.is_some() {
                    Scope::Area
                } else {
                    scope
                };
                s.depends = deps
                    .iter()
                    .enumerate()
                    .filter(|(_, &d)| d)
                    .map(|(j, _)| format!("svc-{j}"))
                    .collect();
                s.check_interval = check_interval;
                s.primitives = PathBuf::from(format!("/etc/srrd/svc-{i}.mk"));
                s.timeouts = timeouts;
                s.disabled = disabled;
                s.preempt_delay = preempt_delay;
                s.quorum = quorum;
                s
            },
        )
}

/// `[web]` with every field set, for a node with `web_listen`.
fn web() -> WebSettings {
    WebSettings {
        cert: PathBuf::from("/etc/srrd/pki/n1.crt"),
        key: PathBuf::from("/etc/srrd/pki/n1.key"),
        client_ca: vec![
            PathBuf::from("/etc/srrd/pki/ca.crt"),
            PathBuf::from("/etc/ca2.crt"),
        ],
        advertise: Some("10.0.0.1:8443".parse().unwrap()),
        roles: RoleMap {
            operator_ou: vec!["ops".into()],
            viewer_ou: Vec::new(),
            operators: vec!["alice".into()],
            viewers: vec!["bob@example.org".into()],
        },
    }
}

fn config() -> impl Strategy<Value = Config> {
    (node(), 0usize..6).prop_flat_map(|(node, n)| {
        let services: Vec<_> = (0..n).map(service).collect();
        services.prop_map(move |services| Config {
            web: node.web_listen.map(|_| web()),
            node: node.clone(),
            services,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        check_errors_are_well_formed(&text)?;
    }

    #[test]
    fn toml_like_text_never_panics(text in "([\\[\\]{}=\"',.#0-9a-z_ \n-]|service|node|name|depends|addresses){0,200}") {
        check_errors_are_well_formed(&text)?;
    }

    #[test]
    fn mutated_example_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let text = mutations.iter().fold(EXAMPLE.to_string(), |t, m| apply(&t, m));
        check_errors_are_well_formed(&text)?;
    }

    #[test]
    fn valid_config_round_trips_through_toml(config in config()) {
        let text = config.to_toml();
        match parse(&text, "rendered.toml") {
            Ok(parsed) => prop_assert_eq!(parsed, config),
            Err(e) => prop_assert!(false, "{}\n---\n{}", e, text),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A service is accepted exactly when its largest LSA can be flooded:
    /// the real encoder, with the tag if a key file is set, succeeds.
    #[test]
    fn accepted_iff_largest_lsa_encodes(
        n_v6 in 0usize..70,
        n_deps in 0usize..12,
        keyed in any::<bool>(),
    ) {
        let mut text = String::new();
        if keyed {
            text.push_str("[node]\ncluster_key_file = \"/k\"\n");
        }
        let deps: Vec<String> = (0..n_deps).map(|k| format!("dependency-{k:02}")).collect();
        for d in &deps {
            text.push_str(&format!("[[service]]\nname = \"{d}\"\nkind = \"resource\"\nprimitives = \"/p\"\n"));
        }
        let addresses: Vec<IpAddr> = (0..=n_v6)
            .map(|k| format!("2001:db8::{k:x}").parse().unwrap())
            .collect();
        let quoted: Vec<String> = addresses.iter().map(|a| format!("\"{a}\"")).collect();
        let dep_list: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
        text.push_str(&format!(
            "[[service]]\nname = \"www\"\ngroup = \"web\"\naddresses = [{}]\ndepends = [{}]\nprimitives = \"/p\"\n",
            quoted.join(", "),
            dep_list.join(", "),
        ));
        let largest = ServiceLsa::largest("www", ServiceKind::Service, Some("web"), &deps, &addresses);
        let key = ClusterKey(b"k".to_vec());
        let fits = encode(&Payload::Service(largest), Scope::Area, keyed.then_some(&key)).is_ok();
        match parse(&text, "big.toml") {
            Ok(_) => prop_assert!(fits, "accepted, but the largest LSA does not fit"),
            Err(e) => {
                prop_assert!(!fits, "rejected although it fits: {}", e);
                prop_assert_eq!(e.len(), 1);
                prop_assert!(e.to_string().contains("the LSA of service `www` can grow to"), "{}", e);
            }
        }
    }
}
