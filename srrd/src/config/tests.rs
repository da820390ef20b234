//! One test per validation rule: each asserts the line and the field the
//! error points at, and that nothing else is reported.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::model::{RouterId, Scope, ServiceKind};

const EXAMPLE: &str = include_str!("../../examples/node.toml");

/// Lines joined by newlines, so that `lines[i]` is line `i + 1`.
fn doc(lines: &[&str]) -> String {
    lines.join("\n") + "\n"
}

fn parse_test(text: &str) -> Result<Config, ConfigErrors> {
    parse_with_host_name(text, "t.toml", &|| String::from("testhost"))
}

fn parse_ok(text: &str) -> Config {
    parse_test(text).unwrap_or_else(|e| panic!("expected a valid config, got:\n{e}"))
}

/// Asserts that exactly these errors are reported: (line, field, part of the message).
#[track_caller]
fn assert_errors(text: &str, expected: &[(usize, &str, &str)]) {
    let errors = match parse_test(text) {
        Ok(_) => panic!("expected errors {expected:?}, the config is valid"),
        Err(e) => e,
    };
    let found: Vec<_> = errors.iter().collect();
    let matches = |e: &ConfigError, &(line, field, part): &(usize, &str, &str)| {
        e.line == line && e.field == field && e.message.contains(part)
    };
    let all_expected_found = expected.iter().all(|x| found.iter().any(|e| matches(e, x)));
    assert!(
        all_expected_found && found.len() == expected.len(),
        "expected {expected:?}\ngot:\n{errors}"
    );
}

/// A valid service, to surround the one under test.
const DISK: &[&str] = &[
    "[[service]]",
    "name = \"disk\"",
    "kind = \"resource\"",
    "primitives = \"/etc/srrd/disk.mk\"",
];

fn with_disk(lines: &[&str]) -> String {
    doc(&[DISK, lines].concat())
}

#[test]
fn example_file_parses() {
    let config = parse_ok(EXAMPLE);
    let node = &config.node;
    assert_eq!(node.name, "n1");
    assert_eq!(
        node.router_id,
        Some("10.255.0.11".parse::<RouterId>().unwrap())
    );
    assert_eq!(
        node.cluster_key_file,
        Some(PathBuf::from("/etc/srrd/cluster.key"))
    );
    assert_eq!(node.web_listen, Some("0.0.0.0:8443".parse().unwrap()));
    let web_settings = config.web.as_ref().expect("[web]");
    assert_eq!(
        web_settings.client_ca,
        vec![PathBuf::from("/etc/srrd/pki/ca.crt")]
    );
    assert_eq!(web_settings.roles, RoleMap::default());
    assert_eq!(
        config.web_advertised(),
        Some("10.255.0.11:8443".parse().unwrap())
    );
    assert_eq!(node.delete_grace, Duration::from_millis(20));
    assert_eq!(config.services.len(), 2);
    let web = &config.services[1];
    assert_eq!(web.name, "web");
    assert_eq!(web.kind, ServiceKind::Service);
    assert_eq!(
        web.addresses,
        vec![
            "192.0.2.100".parse::<IpAddr>().unwrap(),
            "2001:db8::100".parse().unwrap()
        ]
    );
    assert_eq!(web.depends, vec!["disk".to_string()]);
    assert_eq!(web.group.as_deref(), Some("webgroup"));
    assert!(web.critical);
    assert_eq!(web.scope, Scope::Area);
    assert_eq!(web.check_interval, Some(Duration::from_secs(5)));
    assert_eq!(web.timeouts.start, Duration::from_secs(30));
    assert_eq!(
        web.timeouts.activate,
        Timeouts::default().activate,
        "unset timeouts keep their default"
    );
    assert_eq!(config.services[0].kind, ServiceKind::Resource);
    assert_eq!(
        config.services[0].timeouts.activate,
        Duration::from_secs(120)
    );
}

#[test]
fn documented_example_is_the_example_file() {
    let docs = include_str!("../../../docs/configuration.md");
    let example = docs
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/configuration.md has a toml example");
    assert_eq!(parse_ok(example), parse_ok(EXAMPLE));
}

#[test]
fn empty_file_is_all_defaults_and_named_after_the_host() {
    let config = parse_ok("");
    let expected = NodeSettings {
        name: String::from("testhost"),
        ..NodeSettings::default()
    };
    assert_eq!(config.node, expected);
    assert!(config.services.is_empty());
}

#[test]
fn minimal_service_gets_the_defaults() {
    let config = parse_ok(&doc(&[
        "[[service]]",
        "name = \"web\"",
        "addresses = [\"192.0.2.1\"]",
        "primitives = \"/etc/srrd/web.mk\"",
    ]));
    let mut expected = ServiceConfig::new("web");
    expected.addresses = vec!["192.0.2.1".parse().unwrap()];
    expected.primitives = PathBuf::from("/etc/srrd/web.mk");
    assert_eq!(config.services, vec![expected]);
}

#[test]
fn to_toml_round_trips() {
    for text in [EXAMPLE, "", &with_disk(&[])] {
        let config = parse_ok(text);
        let rendered = config.to_toml();
        assert_eq!(parse_ok(&rendered), config, "rendered as:\n{rendered}");
    }
    let mut defaults = Config {
        node: NodeSettings::default(),
        web: None,
        services: vec![ServiceConfig::new("web")],
    };
    defaults.services[0].addresses = vec!["2001:db8::1".parse().unwrap()];
    assert_eq!(parse_ok(&defaults.to_toml()), defaults);
}

#[test]
fn errors_display_compiler_style_one_per_line() {
    let errors = parse_test(&doc(&[
        "[node]",
        "router_id = \"x\"",
        "vip_interface = \"\"",
    ]))
    .unwrap_err();
    let text = errors.to_string();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("t.toml:2:13: node.router_id: invalid router id \"x\""),
        "{text}"
    );
    assert!(
        lines[1].starts_with("t.toml:3:17: node.vip_interface: interface name is empty"),
        "{text}"
    );
}

#[test]
fn all_problems_are_reported_not_just_the_first() {
    // A serde error in one service hides neither the others' problems nor
    // its name: `web` may still depend on it.
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"disk\"",
            "kind = \"resource\"",
            "bogus = 1",
            "[[service]]",
            "name = \"web\"",
            "addresses = [\"192.0.2.1\", \"nonsense\"]",
            "depends = [\"disk\"]",
            "primitives = \"relative\"",
            "preference = 256",
        ]),
        &[
            (4, "service[0].bogus", "unknown field `bogus`"),
            (7, "service[1].addresses", "invalid IP address \"nonsense\""),
            (9, "service[1].primitives", "must be absolute"),
            (10, "service[1].preference", "out of range"),
        ],
    );
}

#[test]
fn syntax_error_has_position_and_field() {
    let errors = parse_test(&doc(&["[node]", "name = \"n1", "[[service]]"])).unwrap_err();
    let first = &errors.errors()[0];
    assert_eq!(
        (first.line, first.field.as_str()),
        (2, "node.name"),
        "{errors}"
    );
    let errors = parse_test(&doc(&["[node]", "name = \"n1\"", "name = \"n2\""])).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors}");
    let e = &errors.errors()[0];
    assert_eq!(
        (e.line, e.column, e.field.as_str()),
        (3, 1, "node.name"),
        "{errors}"
    );
    assert!(e.message.contains("duplicate key"), "{errors}");
}

#[test]
fn unknown_settings_are_rejected() {
    assert_errors(
        &doc(&["[node]", "name = \"n1\"", "nmae = \"n2\""]),
        &[(3, "node.nmae", "unknown field `nmae`")],
    );
    assert_errors(
        &with_disk(&["[service.timeouts]", "begin = \"5s\""]),
        &[(6, "service[0].timeouts.begin", "unknown field `begin`")],
    );
    assert_errors(
        &doc(&["[nodes]", "name = \"n1\""]),
        &[(1, "nodes", "unknown section `nodes`")],
    );
    assert_errors(
        &doc(&["[service]", "name = \"web\""]),
        &[(1, "service", "write [[service]]")],
    );
    assert_errors(&doc(&["node = 1"]), &[(1, "node", "must be a table")]);
}

#[test]
fn values_of_the_wrong_type_are_rejected() {
    assert_errors(
        &with_disk(&["preference = \"high\""]),
        &[(5, "service[0].preference", "invalid type: string")],
    );
    assert_errors(
        &with_disk(&["check_interval = 5"]),
        &[(
            5,
            "service[0].check_interval",
            "a duration string with a unit",
        )],
    );
    assert_errors(
        &with_disk(&["timeouts = 5"]),
        &[(5, "service[0].timeouts", "expected a table of timeouts")],
    );
    assert_errors(
        &doc(&["service = [1]"]),
        &[(1, "service[0]", "each service must be a table")],
    );
}

#[test]
fn service_name_must_be_valid() {
    let long = format!("name = \"{}\"", "x".repeat(65));
    for (line, message) in [
        ("name = \"\"", "service name is empty"),
        ("name = \"web server\"", "invalid service name"),
        ("name = \"wéb\"", "invalid service name"),
        (long.as_str(), "65 bytes long"),
    ] {
        assert_errors(
            &doc(&[
                "[[service]]",
                line,
                "kind = \"resource\"",
                "primitives = \"/p\"",
            ]),
            &[(2, "service[0].name", message)],
        );
    }
    assert_errors(
        &doc(&["[[service]]", "kind = \"resource\"", "primitives = \"/p\""]),
        &[(1, "service[0].name", "missing required setting `name`")],
    );
}

#[test]
fn duplicate_service_name_points_at_the_second() {
    assert_errors(
        &with_disk(&[
            "[[service]]",
            "kind = \"resource\"",
            "name = \"disk\"",
            "primitives = \"/p\"",
        ]),
        &[(
            7,
            "service[1].name",
            "already defined by service[0] at line 2",
        )],
    );
}

#[test]
fn dependency_on_unknown_service() {
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"web\"",
            "addresses = [\"192.0.2.1\"]",
            "depends = [\"disk\"]",
            "primitives = \"/p\"",
        ]),
        &[(4, "service[0].depends", "unknown service `disk`")],
    );
}

#[test]
fn dependency_on_itself() {
    assert_errors(
        &with_disk(&["depends = [\"disk\"]"]),
        &[(5, "service[0].depends", "depends on itself")],
    );
}

#[test]
fn dependency_listed_twice() {
    assert_errors(
        &with_disk(&[
            "[[service]]",
            "name = \"db\"",
            "kind = \"resource\"",
            "depends = [\"disk\", \"disk\"]",
            "primitives = \"/p\"",
        ]),
        &[(8, "service[1].depends", "`disk` is listed twice")],
    );
}

fn resource(name: &str, depends: &str) -> Vec<String> {
    vec![
        "[[service]]".to_string(),
        format!("name = \"{name}\""),
        "kind = \"resource\"".to_string(),
        format!("depends = [{depends}]"),
        "primitives = \"/p\"".to_string(),
    ]
}

fn doc_of(blocks: &[Vec<String>]) -> String {
    let lines: Vec<&str> = blocks.iter().flatten().map(String::as_str).collect();
    doc(&lines)
}

#[test]
fn dependency_cycle_is_named_once() {
    assert_errors(
        &doc_of(&[resource("a", "\"b\""), resource("b", "\"a\"")]),
        &[(9, "service[1].depends", "dependency cycle: a -> b -> a")],
    );
    assert_errors(
        &doc_of(&[
            resource("a", "\"b\""),
            resource("b", "\"c\""),
            resource("c", "\"a\""),
            resource("d", "\"a\", \"c\""),
        ]),
        &[(
            14,
            "service[2].depends",
            "dependency cycle: a -> b -> c -> a",
        )],
    );
    // A diamond is no cycle.
    parse_ok(&doc_of(&[
        resource("a", "\"b\", \"c\""),
        resource("b", "\"d\""),
        resource("c", "\"d\""),
        resource("d", ""),
    ]));
}

#[test]
fn long_dependency_chain_does_not_overflow_the_stack() {
    let n = 5000;
    let mut blocks: Vec<_> = (1..n)
        .map(|i| resource(&format!("s{i}"), &format!("\"s{}\"", i - 1)))
        .collect();
    blocks.push(resource("s0", &format!("\"s{}\"", n - 1)));
    let errors = parse_test(&doc_of(&blocks)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors.errors()[0]
        .message
        .starts_with("dependency cycle: s1 -> s0 -> s4999"));
}

fn web(name: &str, addresses: &str) -> Vec<String> {
    vec![
        "[[service]]".to_string(),
        format!("name = \"{name}\""),
        format!("addresses = [{addresses}]"),
        "primitives = \"/p\"".to_string(),
    ]
}

#[test]
fn address_used_by_two_services() {
    assert_errors(
        &doc_of(&[
            web("a", "\"2001:db8::1\""),
            web("b", "\"192.0.2.1\", \"2001:DB8:0::1\""),
        ]),
        &[(
            7,
            "service[1].addresses",
            "2001:db8::1 is also used by service `a` (line 3)",
        )],
    );
}

#[test]
fn address_listed_twice_in_one_service() {
    assert_errors(
        &doc_of(&[web("a", "\"192.0.2.1\", \"192.0.2.1\"")]),
        &[(3, "service[0].addresses", "192.0.2.1 is listed twice")],
    );
}

#[test]
fn addresses_must_be_routable_unicast() {
    for bad in [
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.5",
        "255.255.255.255",
        "fe80::1",
        "::1",
        "::",
    ] {
        assert_errors(
            &doc_of(&[web("a", &format!("\"192.0.2.1\", \"{bad}\""))]),
            &[(3, "service[0].addresses", "must be routable unicast")],
        );
    }
}

#[test]
fn resource_with_addresses() {
    assert_errors(
        &with_disk(&["addresses = [\"192.0.2.1\"]"]),
        &[(5, "service[0].addresses", "a resource has no addresses")],
    );
}

#[test]
fn service_without_addresses() {
    assert_errors(
        &doc(&["[[service]]", "name = \"web\"", "primitives = \"/p\""]),
        &[(1, "service[0].addresses", "needs at least one address")],
    );
    assert_errors(
        &doc_of(&[web("web", "")]),
        &[(3, "service[0].addresses", "needs at least one address")],
    );
}

#[test]
fn preference_out_of_range() {
    for pref in ["256", "-1", "100000000000"] {
        assert_errors(
            &with_disk(&[&format!("preference = {pref}")]),
            &[(5, "service[0].preference", "out of range 0..=255")],
        );
    }
    assert_eq!(
        parse_ok(&with_disk(&["preference = 255"])).services[0].preference,
        255
    );
    assert_eq!(
        parse_ok(&with_disk(&["preference = 0"])).services[0].preference,
        0
    );
}

#[test]
fn invalid_router_id() {
    for id in ["10.0.0", "router1", "0.0.0.0", "2001:db8::1"] {
        assert_errors(
            &doc(&["[node]", &format!("router_id = \"{id}\"")]),
            &[(2, "node.router_id", "router id")],
        );
    }
}

#[test]
fn invalid_socket_addresses() {
    assert_errors(
        &doc(&[
            "[node]",
            "ospf_api = \"localhost:2607\"",
            "web_listen = \"0.0.0.0\"",
        ]),
        &[
            (2, "node.ospf_api", "invalid socket address"),
            (3, "node.web_listen", "invalid socket address"),
        ],
    );
    assert_errors(
        &doc(&["[node]", "web_listen = \"[::]:0\""]),
        &[(2, "node.web_listen", "port 0")],
    );
    let node = parse_ok(&doc(
        &[&["[node]", "web_listen = \"[::]:8443\""], WEB].concat()
    ))
    .node;
    assert_eq!(node.web_listen, Some("[::]:8443".parse().unwrap()));
}

#[test]
fn the_metrics_listener_is_loopback_only() {
    assert_errors(
        &doc(&["[node]", "metrics_listen = \"0.0.0.0:9464\""]),
        &[(2, "node.metrics_listen", "not a loopback address")],
    );
    assert_errors(
        &doc(&["[node]", "metrics_listen = \"192.0.2.1:9464\""]),
        &[(2, "node.metrics_listen", "loopback")],
    );
    let node = parse_ok(&doc(&[
        "[node]",
        "metrics_listen = \"[::1]:9464\"",
        "vty_socket_dir = \"/run/frr/n1\"",
    ]))
    .node;
    assert_eq!(node.metrics_listen, Some("[::1]:9464".parse().unwrap()));
    assert_eq!(node.vty_socket_dir, Some("/run/frr/n1".into()));
    assert_errors(
        &doc(&["[node]", "vty_socket_dir = \"run/frr\""]),
        &[(2, "node.vty_socket_dir", "absolute")],
    );
}

#[test]
fn paths_must_be_absolute() {
    assert_errors(
        &doc(&[
            "[node]",
            "state_dir = \"var/lib/srrd\"",
            "cluster_key_file = \"\"",
            "[[service]]",
            "name = \"disk\"",
            "kind = \"resource\"",
            "primitives = \"disk.mk\"",
        ]),
        &[
            (2, "node.state_dir", "must be absolute"),
            (3, "node.cluster_key_file", "path is empty"),
            (7, "service[0].primitives", "must be absolute"),
        ],
    );
    assert_errors(
        &doc(&["[[service]]", "name = \"disk\"", "kind = \"resource\""]),
        &[(
            1,
            "service[0].primitives",
            "missing required setting `primitives`",
        )],
    );
}

#[test]
fn group_members_must_share_a_scope() {
    assert_errors(
        &with_disk(&[
            "group = \"g\"",
            "[[service]]",
            "name = \"web\"",
            "addresses = [\"192.0.2.1\"]",
            "group = \"g\"",
            "scope = \"as\"",
            "primitives = \"/p\"",
        ]),
        &[(
            10,
            "service[1].scope",
            "has scope \"as\" but group member `disk` (line 1) has \"area\"",
        )],
    );
}

#[test]
fn critical_needs_a_group() {
    assert_errors(
        &with_disk(&["critical = true"]),
        &[(5, "service[0].critical", "needs a `group`")],
    );
    parse_ok(&with_disk(&["critical = true", "group = \"g\""]));
}

#[test]
fn group_name_must_be_valid() {
    assert_errors(
        &with_disk(&["group = \"a/b\""]),
        &[(5, "service[0].group", "invalid group name")],
    );
}

#[test]
fn kind_and_scope_must_be_known() {
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"disk\"",
            "kind = \"disk\"",
            "scope = \"global\"",
            "primitives = \"/p\"",
        ]),
        &[
            (3, "service[0].kind", "unknown kind \"disk\""),
            (4, "service[0].scope", "unknown scope \"global\""),
            // Taken as a service (the default kind), it lacks addresses.
            (1, "service[0].addresses", "needs at least one address"),
        ],
    );
}

#[test]
fn handover_is_break_or_overlap_and_never_with_quorum() {
    let ok = parse_ok(&doc(&[
        "[[service]]",
        "name = \"web\"",
        "addresses = [\"192.0.2.1\"]",
        "primitives = \"/p\"",
        "handover = \"overlap\"",
        "handover_overlap = \"250ms\"",
        "handover_drain = \"0s\"",
    ]));
    assert_eq!(ok.services[0].handover, Handover::Overlap);
    assert_eq!(ok.services[0].handover_overlap, Duration::from_millis(250));
    assert_eq!(ok.services[0].handover_drain, Duration::ZERO);
    let default = parse_ok(&with_disk(&[]));
    assert_eq!(default.services[0].handover, Handover::Break);
    assert_eq!(
        default.services[0].handover_drain,
        Duration::from_millis(250)
    );
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"web\"",
            "addresses = [\"192.0.2.1\"]",
            "primitives = \"/p\"",
            "handover = \"soft\"",
            "handover_overlap = \"0s\"",
            "handover_drain = \"-1s\"",
        ]),
        &[
            (5, "service[0].handover", "unknown handover \"soft\""),
            (6, "service[0].handover_overlap", ""),
            (7, "service[0].handover_drain", ""),
        ],
    );
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"db\"",
            "addresses = [\"192.0.2.1\"]",
            "primitives = \"/p\"",
            "quorum = true",
            "handover = \"overlap\"",
        ]),
        &[(1, "service[0].handover", "must never run twice")],
    );
    assert_errors(
        &doc(&[
            "[[service]]",
            "name = \"web\"",
            "addresses = [\"192.0.2.1\", \"2001:db8::1\"]",
            "primitives = \"/p\"",
            "handover = \"overlap\"",
        ]),
        &[(
            5,
            "service[0].handover",
            "use handover = \"break\" with IPv6",
        )],
    );
}

#[test]
fn durations_are_checked() {
    assert_errors(
        &doc(&[
            "[node]",
            "delete_grace = \"0s\"",
            "echo_timeout = \"0ms\"",
            "recall_interval = \"-5ms\"",
            "[[service]]",
            "name = \"disk\"",
            "kind = \"resource\"",
            "primitives = \"/p\"",
            "check_interval = \"0s\"",
            "preempt_delay = \"soon\"",
            "[service.timeouts]",
            "start = \"0s\"",
            "stop = \"9999h\"",
            "check = \"1.5s\"",
        ]),
        &[
            (3, "node.echo_timeout", "must be greater than zero"),
            (4, "node.recall_interval", "cannot be negative"),
            (9, "service[0].check_interval", "must be greater than zero"),
            (10, "service[0].preempt_delay", "invalid duration \"soon\""),
            (12, "service[0].timeouts.start", "must be greater than zero"),
            (13, "service[0].timeouts.stop", "too large"),
            (
                14,
                "service[0].timeouts.check",
                "fractions are not supported",
            ),
        ],
    );
}

#[test]
fn node_name_and_interface_are_checked() {
    assert_errors(
        &doc(&[
            "[node]",
            "name = \"node one\"",
            "vip_interface = \"averyveryverylongname\"",
        ]),
        &[
            (2, "node.name", "must not contain blanks"),
            (3, "node.vip_interface", "at most 15"),
        ],
    );
}

#[test]
fn unreadable_file_is_named() {
    let path = Path::new("/nonexistent/srrd/node.toml");
    let errors = load(path).unwrap_err();
    assert_eq!(errors.len(), 1);
    let e = &errors.errors()[0];
    assert_eq!(
        (e.file.as_str(), e.line),
        ("/nonexistent/srrd/node.toml", 0)
    );
    assert!(
        errors
            .to_string()
            .starts_with("/nonexistent/srrd/node.toml: cannot read file:"),
        "{errors}"
    );
    assert_eq!(check_config_command(path), 2);
}

#[test]
fn load_and_check_config_command() {
    let dir = std::env::temp_dir().join(format!("srrd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, EXAMPLE).unwrap();
    assert_eq!(load(&good).unwrap().services.len(), 2);
    assert_eq!(check_config_command(&good), 0);

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[node]\nrouter_id = \"x\"\n").unwrap();
    let errors = load(&bad).unwrap_err();
    assert_eq!(errors.errors()[0].file, bad.display().to_string());
    assert_eq!(check_config_command(&bad), 1);

    let binary = dir.join("binary.toml");
    std::fs::write(&binary, b"[node]\nname = \"\xff\"\n").unwrap();
    let errors = load(&binary).unwrap_err();
    let e = &errors.errors()[0];
    assert_eq!((e.line, e.column), (2, 9), "{errors}");
    assert!(e.message.contains("UTF-8"));
    assert_eq!(check_config_command(&binary), 1);

    std::fs::remove_dir_all(&dir).unwrap();
}

/// A service named `big` with `n` IPv6 addresses; with `keyed`, the node
/// has a cluster key file. Its largest LSA is 376 + 20 n bytes, plus 36
/// for the tag (srrd/tests/lsa_vectors.rs, `largest_service_size`).
fn big_service(n: usize, keyed: bool) -> String {
    let addresses: Vec<String> = (1..=n).map(|k| format!("\"2001:db8::{k:x}\"")).collect();
    let mut lines = Vec::new();
    if keyed {
        lines.extend(["[node]", "cluster_key_file = \"/etc/srrd/cluster.key\""]);
    }
    let addresses = format!("addresses = [{}]", addresses.join(", "));
    lines.extend([
        "[[service]]",
        "name = \"big\"",
        &addresses,
        "primitives = \"/p\"",
    ]);
    doc(&lines)
}

#[test]
fn largest_lsa_must_fit() {
    // 376 + 20 * 54 = 1456 fits; one more address is 1476.
    parse_ok(&big_service(54, false));
    assert_errors(
        &big_service(55, false),
        &[(
            1,
            "service[0]",
            "the LSA of service `big` can grow to 1476 bytes (every optional field at its largest), over the 1468-byte limit",
        )],
    );
    // With a key the tag adds 36 bytes: 52 addresses fit, 54 do not.
    parse_ok(&big_service(52, true));
    assert_errors(
        &big_service(54, true),
        &[(
            3,
            "service[0]",
            "can grow to 1492 bytes (every optional field at its largest, HMAC tag included)",
        )],
    );
    let e = parse_test(&big_service(54, true)).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.toml:3:1: service[0]: the LSA of service `big`"),
        "{e}"
    );
}

const WEB: &[&str] = &[
    "[web]",
    "cert = \"/p/n1.crt\"",
    "key = \"/p/n1.key\"",
    "client_ca = [\"/p/ca.crt\"]",
];

#[test]
fn web_needs_listen_and_listen_needs_web() {
    assert_errors(
        &doc(&["[node]", "web_listen = \"127.0.0.1:8443\""]),
        &[(2, "node.web_listen", "needs a [web] section")],
    );
    assert_errors(&doc(WEB), &[(1, "web", "needs node.web_listen")]);
    let config = parse_ok(&doc(
        &[&["[node]", "web_listen = \"127.0.0.1:8443\""], WEB].concat()
    ));
    assert_eq!(
        config.web_advertised(),
        Some("127.0.0.1:8443".parse().unwrap())
    );
    let wildcard = parse_ok(&doc(
        &[&["[node]", "web_listen = \"[::]:8443\""], WEB].concat()
    ));
    assert_eq!(wildcard.web_advertised(), None, "a wildcard is not flooded");
}

#[test]
fn web_checks_its_fields() {
    assert_errors(
        &doc(&[
            "[node]",
            "web_listen = \"127.0.0.1:8443\"",
            "[web]",
            "cert = \"n1.crt\"",
            "client_ca = []",
            "advertise = \"n1\"",
            "operators = [\"alice\"]",
        ]),
        &[
            (4, "web.cert", "must be absolute"),
            (3, "web.key", "missing"),
            (5, "web.client_ca", "at least one"),
            (6, "web.advertise", "invalid socket address"),
        ],
    );
    assert_errors(
        &doc(&[
            &["[node]", "web_listen = \"127.0.0.1:8443\""],
            WEB,
            &["colour = 1"],
        ]
        .concat()),
        &[(7, "web.colour", "unknown field `colour`")],
    );
}
