//! `lab/srrd.clab.yml` stays a valid containerlab topology (checked
//! against containerlab's documented format by `clab::check`) and a lab
//! srrd-lab can build: roles, binds, interfaces, FRR and srrd configs.
//! No root needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use srrd_lab::clab::{check, split_words, Role, Topology};

fn topology_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("srrd.clab.yml")
}

fn topology() -> Topology {
    Topology::load(&topology_path()).unwrap_or_else(|problems| panic!("{}", problems.join("\n")))
}

fn text() -> String {
    std::fs::read_to_string(topology_path()).expect("read the topology")
}

fn lab_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_topology_passes_containerlabs_rules() {
    let topo = topology();
    assert_eq!(topo.name, "srrd");
    for node in &topo.nodes {
        assert_eq!(node.kind, "linux", "{}", node.name);
        assert_eq!(node.image.as_deref(), Some("srrd:latest"), "{}", node.name);
    }
    let roles = |role| topo.with_role(role);
    assert_eq!(roles(Role::Switch), ["sw"]);
    assert_eq!(roles(Role::Router), ["r1"]);
    assert_eq!(roles(Role::Node), ["n1", "n2", "n3"]);
    assert_eq!(roles(Role::Client), ["c1"]);
}

#[test]
fn broken_variants_are_caught() {
    let good = text();
    let cases = [
        (good.replace("name: srrd", "nam: srrd"), "`name` is missing"),
        (
            good.replace("      group: node\n", "      colour: node\n"),
            "colour: unknown key",
        ),
        (good.replace("kind: linux", "kind: linuks"), "is not a kind"),
        (
            good.replace("\"n1:eth1\"", "\"n9:eth1\""),
            "node n9 is not in topology.nodes",
        ),
        (
            good.replace("\"n1:eth1\"", "\"n1 eth1\""),
            "an endpoint is NODE:INTERFACE",
        ),
        (
            good.replace("sw:a-n1", "sw:a-very-long-port-name"),
            "1-15 characters",
        ),
        (
            good.replace("\"n2:eth1\"", "\"n1:eth1\""),
            "is used by another link",
        ),
        (
            good.replace("config/n1/frr:", "config/n1/fr:"),
            "does not exist",
        ),
        (
            good.replace("SRRD_ROLE: client", "SRRD_ROLE: customer"),
            "is not router, node",
        ),
        (
            good.replace("config/n2/srrd:/etc/srrd", "config/n2/srrd:etc/srrd"),
            "must be an absolute path",
        ),
    ];
    for (text, expected) in cases {
        let problems = check(&text, lab_dir());
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:?}"
        );
    }
    assert_eq!(check(&good, lab_dir()), Vec::<String>::new());
}

#[test]
fn interfaces_named_in_exec_lines_and_ospfd_configs_are_link_endpoints() {
    let topo = topology();
    for node in &topo.nodes {
        let mut ifaces: BTreeSet<String> = topo
            .links
            .iter()
            .flat_map(|(a, b)| [a, b])
            .filter(|e| e.node == node.name)
            .map(|e| e.iface.clone())
            .collect();
        let mut named = BTreeSet::new();
        for line in &node.exec {
            let words = split_words(line).expect("exec line");
            // `ip link add BRIDGE type bridge` makes a new interface.
            if words.starts_with(&["ip".into(), "link".into(), "add".into()]) {
                ifaces.insert(words[3].clone());
                continue;
            }
            for pair in words.windows(2) {
                if matches!(pair[0].as_str(), "dev" | "set" | "master") {
                    named.insert(pair[1].clone());
                }
            }
        }
        if let Some(bind) = node.bind("/etc/frr") {
            for file in ["ospfd.conf", "ospf6d.conf"] {
                let conf =
                    std::fs::read_to_string(lab_dir().join(&bind.source).join(file)).expect(file);
                for line in conf.lines() {
                    if let Some(name) = line
                        .strip_prefix("interface ")
                        .or_else(|| line.strip_prefix(" passive-interface "))
                    {
                        named.insert(name.trim().to_string());
                    }
                }
            }
        }
        // ospf6d announces the IPv6 VIPs from lo.
        ifaces.insert("lo".into());
        for name in named {
            assert!(
                ifaces.contains(&name),
                "{}: interface {name} is not an endpoint of it ({ifaces:?})",
                node.name
            );
        }
    }
}

#[test]
fn the_client_sits_behind_the_router_only() {
    let topo = topology();
    for (a, b) in &topo.links {
        for (me, other) in [(a, b), (b, a)] {
            if topo.node(&me.node).map(|n| n.role) == Some(Role::Client) {
                assert_eq!(
                    topo.node(&other.node).map(|n| n.role),
                    Some(Role::Router),
                    "the client's link {}:{} must go to a router",
                    me.node,
                    me.iface
                );
            }
        }
    }
}

#[test]
fn ospfd_configs_have_the_fast_profile_of_docs_frr_md() {
    let topo = topology();
    let mut router_ids = BTreeSet::new();
    for node in topo.nodes.iter().filter(|n| n.role.runs_frr()) {
        let dir = lab_dir().join(&node.bind("/etc/frr").expect("/etc/frr bind").source);
        let conf = std::fs::read_to_string(dir.join("ospfd.conf")).expect("ospfd.conf");
        for line in [
            " capability opaque",
            " timers lsa min-arrival 0",
            " timers throttle spf 0 50 500",
            " ip ospf dead-interval minimal hello-multiplier 4",
        ] {
            assert!(
                conf.contains(line),
                "{}: ospfd.conf lacks `{line}`",
                node.name
            );
        }
        let id = conf
            .lines()
            .find_map(|l| l.strip_prefix(" ospf router-id "))
            .unwrap_or_else(|| panic!("{}: no pinned router-id", node.name));
        assert!(router_ids.insert(id.to_string()), "router id {id} twice");
        if node.role == Role::Node {
            assert!(
                conf.contains(" network 192.0.2.0/24 area 0"),
                "{}",
                node.name
            );
            assert!(conf.contains(" ip ospf priority 0"), "{}", node.name);
        }
        let daemons = std::fs::read_to_string(dir.join("daemons")).expect("daemons");
        assert!(
            daemons.contains("ospfd=yes") && daemons.contains(" -a\""),
            "{}",
            node.name
        );
        // IPv6: ospf6d with the same router id and the same fast timers.
        assert!(daemons.contains("ospf6d=yes"), "{}", node.name);
        let conf6 = std::fs::read_to_string(dir.join("ospf6d.conf")).expect("ospf6d.conf");
        for line in [
            " timers lsa min-arrival 0",
            " timers throttle spf 0 50 500",
            " ipv6 ospf6 hello-interval 1",
            &format!(" ospf6 router-id {id}"),
        ] {
            assert!(
                conf6.contains(line),
                "{}: ospf6d.conf lacks `{line}`",
                node.name
            );
        }
        if node.role == Role::Node {
            assert!(
                conf6.contains("interface lo\n ipv6 ospf6 area 0"),
                "{}",
                node.name
            );
        }
    }
}

#[test]
fn srrd_configs_are_valid_and_web_prefers_n1_then_n3() {
    let topo = topology();
    let mut web = Vec::new();
    for name in topo.with_role(Role::Node) {
        let node = topo.node(&name).expect("node");
        let dir = lab_dir().join(&node.bind("/etc/srrd").expect("/etc/srrd bind").source);
        let config =
            srrd::config::load(&dir.join("srrd.toml")).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.node.name, name);
        for service in &config.services {
            // Container paths: each must lie under one of the node's binds.
            let path = service.primitives.display().to_string();
            let bind = node
                .binds
                .iter()
                .find(|b| path.starts_with(&format!("{}/", b.target)))
                .unwrap_or_else(|| panic!("{name}: {path} is under no bind"));
            let host = lab_dir()
                .join(&bind.source)
                .join(path.trim_start_matches(&format!("{}/", bind.target)));
            assert!(host.is_file(), "{name}: {} is missing", host.display());
        }
        let pref = |s: &str| {
            config
                .services
                .iter()
                .find(|x| x.name == s)
                .map(|x| x.preference)
                .unwrap_or_else(|| panic!("{name} has no {s}"))
        };
        assert_eq!(pref("web"), pref("data"), "{name}: web and data");
        web.push((pref("web"), name.clone()));
        let smtp = config
            .services
            .iter()
            .find(|s| s.name == "smtp")
            .expect("smtp");
        assert!(smtp.critical && smtp.group.as_deref() == Some("mail"));
        assert!(
            config.services.iter().any(|s| s.quorum),
            "{name}: a quorum service"
        );
    }
    web.sort();
    let order: Vec<&str> = web.iter().rev().map(|(_, n)| n.as_str()).collect();
    assert_eq!(order, ["n1", "n3", "n2"]);
}
