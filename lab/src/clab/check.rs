//! The topology file's checks: containerlab's rules and the lab's own.

use super::*;

/// Every problem of the topology text, as `WHERE: WHAT`; empty if none.
/// `dir` is the topology file's dir (bind sources are relative to it).
pub fn check(text: &str, dir: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let root: Value = match serde_norway::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let Some(root) = root.as_mapping() else {
        return vec!["the file must be a mapping with `name` and `topology`".into()];
    };
    unknown_keys(root, TOP_KEYS, "", &mut problems);
    match root.get("name").map(|v| v.as_str()) {
        None => problems.push("`name` is missing".into()),
        Some(Some(name)) if valid_lab_name(name) => {}
        Some(_) => {
            problems.push("name: must be a string of letters, digits, `-`, `_` or `.`".into())
        }
    }
    let Some(topology) = root.get("topology") else {
        problems.push("`topology` is missing".into());
        return problems;
    };
    let Some(topology) = topology.as_mapping() else {
        problems.push("topology: must be a mapping".into());
        return problems;
    };
    unknown_keys(topology, TOPOLOGY_KEYS, "topology.", &mut problems);
    for section in ["defaults"] {
        if let Some(v) = topology.get(section) {
            check_node_keys(v, &format!("topology.{section}"), &mut problems);
        }
    }
    for section in ["kinds", "groups"] {
        if let Some(entries) = topology.get(section).and_then(Value::as_mapping) {
            for (key, v) in entries {
                let key = key.as_str().unwrap_or("?");
                check_node_keys(v, &format!("topology.{section}.{key}"), &mut problems);
            }
        }
    }

    let Some(nodes) = topology.get("nodes").and_then(Value::as_mapping) else {
        problems.push("topology.nodes: missing, or not a mapping of node names".into());
        return problems;
    };
    let mut names = BTreeSet::new();
    for (name, node) in nodes {
        let Some(name) = name.as_str() else {
            problems.push("topology.nodes: node names must be strings".into());
            continue;
        };
        names.insert(name.to_string());
        let at = format!("topology.nodes.{name}");
        if !valid_node_name(name) {
            problems.push(format!(
                "{at}: node name must be letters, digits, `-` or `_`"
            ));
        }
        check_node_keys(node, &at, &mut problems);
        let node = merged(topology, node);
        check_node(&node, &at, dir, &mut problems);
    }

    let mut used = BTreeSet::new();
    match topology.get("links") {
        None => {}
        Some(Value::Sequence(links)) => {
            for (i, link) in links.iter().enumerate() {
                check_link(link, i, &names, &mut used, &mut problems);
            }
        }
        Some(_) => problems.push("topology.links: must be a list".into()),
    }
    problems
}

pub(super) fn unknown_keys(map: &Mapping, allowed: &[&str], at: &str, problems: &mut Vec<String>) {
    for key in map.keys() {
        match key.as_str() {
            Some(k) if allowed.contains(&k) => {}
            Some(k) => problems.push(format!("{at}{k}: unknown key")),
            None => problems.push(format!("{at}: keys must be strings")),
        }
    }
}

pub(super) fn check_node_keys(node: &Value, at: &str, problems: &mut Vec<String>) {
    match node {
        Value::Null => {}
        Value::Mapping(m) => unknown_keys(m, NODE_KEYS, &format!("{at}."), problems),
        _ => problems.push(format!("{at}: must be a mapping")),
    }
}

/// A node's settings with `topology.defaults` and `topology.kinds.<kind>`
/// under it (containerlab: node over kind over defaults; env, labels and
/// binds are merged).
pub(super) fn merged(topology: &Mapping, node: &Value) -> Mapping {
    let empty = Mapping::new();
    let node = node.as_mapping().unwrap_or(&empty);
    let defaults = topology
        .get("defaults")
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let kind = node
        .get("kind")
        .or_else(|| defaults.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind_settings = topology
        .get("kinds")
        .and_then(|k| k.get(kind))
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let mut out = Mapping::new();
    for layer in [defaults, kind_settings, node] {
        for (key, value) in layer {
            let merge = matches!(key.as_str(), Some("env" | "labels"));
            match (out.get_mut(key), value) {
                (Some(Value::Mapping(old)), Value::Mapping(new)) if merge => {
                    for (k, v) in new {
                        old.insert(k.clone(), v.clone());
                    }
                }
                (Some(Value::Sequence(old)), Value::Sequence(new))
                    if key.as_str() == Some("binds") =>
                {
                    // The lower level wins for a target bound twice.
                    let target = |b: &Value| {
                        b.as_str()
                            .and_then(|s| parse_bind(s).ok())
                            .map(|b| b.target)
                    };
                    old.retain(|b| !new.iter().any(|n| target(n) == target(b)));
                    old.extend(new.iter().cloned());
                }
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
    }
    out
}

pub(super) fn check_node(node: &Mapping, at: &str, dir: &Path, problems: &mut Vec<String>) {
    let kind = node.get("kind").and_then(Value::as_str);
    match kind {
        None => problems.push(format!(
            "{at}.kind: missing (set it on the node or in topology.defaults)"
        )),
        Some(k) if !KINDS.contains(&k) => problems.push(format!(
            "{at}.kind: {k:?} is not a kind srrd's lab uses ({})",
            KINDS.join(", ")
        )),
        Some(_) => {}
    }
    let container = kind.is_some_and(|k| CONTAINER_KINDS.contains(&k));
    match node.get("image") {
        Some(Value::String(image)) if valid_image(image) => {}
        Some(_) => problems.push(format!("{at}.image: must be `repository[:tag]`")),
        None if container => problems.push(format!("{at}.image: missing")),
        None => {}
    }
    for key in ["group", "cmd", "entrypoint", "type", "network-mode"] {
        if let Some(v) = node.get(key) {
            if !v.is_string() {
                problems.push(format!("{at}.{key}: must be a string"));
            }
        }
    }
    let mut env = BTreeMap::new();
    for key in ["env", "labels"] {
        match node.get(key) {
            None => {}
            Some(Value::Mapping(m)) => {
                for (k, v) in m {
                    match (k.as_str(), scalar_text(v)) {
                        (Some(k), Some(v)) => {
                            if key == "env" {
                                env.insert(k.to_string(), v);
                            }
                        }
                        _ => problems.push(format!(
                            "{at}.{key}: names are strings, values strings, numbers or booleans"
                        )),
                    }
                }
            }
            Some(_) => problems.push(format!("{at}.{key}: must be a mapping")),
        }
    }
    let binds = string_list(node, "binds", at, problems, true);
    let mut targets = BTreeSet::new();
    let mut parsed = Vec::new();
    for (i, text) in binds.iter().enumerate() {
        match parse_bind(text) {
            Ok(bind) => {
                if !targets.insert(bind.target.clone()) {
                    problems.push(format!("{at}.binds[{i}]: {} bound twice", bind.target));
                }
                if !bind.is_lab_generated() && !bind.host_path(dir, dir, dir).exists() {
                    problems.push(format!(
                        "{at}.binds[{i}]: source {} does not exist (relative to {})",
                        bind.source,
                        dir.display()
                    ));
                }
                parsed.push(bind);
            }
            Err(e) => problems.push(format!("{at}.binds[{i}]: {text:?}: {e}")),
        }
    }
    for (i, line) in string_list(node, "exec", at, problems, true)
        .iter()
        .enumerate()
    {
        if let Err(e) = split_words(line) {
            problems.push(format!("{at}.exec[{i}]: {e}"));
        }
    }

    // srrd-lab's own needs.
    let role = match env.get(ROLE_VAR) {
        None => {
            problems.push(format!(
                "{at}.env.{ROLE_VAR}: missing (router, node, client or switch)"
            ));
            return;
        }
        Some(r) => match Role::parse(r) {
            Some(role) => role,
            None => {
                problems.push(format!(
                    "{at}.env.{ROLE_VAR}: {r:?} is not router, node, client or switch"
                ));
                return;
            }
        },
    };
    if kind.is_some_and(|k| k != "linux") {
        problems.push(format!(
            "{at}.kind: srrd-lab builds `linux` nodes only (the srrd image)"
        ));
    }
    let needs: &[(&str, &[&str])] = match role {
        Role::Router => &[("/etc/frr", &["zebra.conf", "ospfd.conf"])],
        Role::Node => &[
            ("/etc/frr", &["zebra.conf", "ospfd.conf"]),
            ("/etc/srrd", &["srrd.toml"]),
        ],
        Role::Client | Role::Switch => &[],
    };
    for (target, files) in needs {
        let Some(bind) = parsed.iter().find(|b| b.target == *target) else {
            problems.push(format!(
                "{at}.binds: a {role} needs a folder bound at {target}"
            ));
            continue;
        };
        for file in *files {
            let path = bind.host_path(dir, dir, dir).join(file);
            if !bind.is_lab_generated() && !path.is_file() {
                problems.push(format!(
                    "{at}.binds: a {role} needs {target}/{file} ({} is missing)",
                    path.display()
                ));
            }
        }
    }
}

pub(super) fn check_link(
    link: &Value,
    i: usize,
    names: &BTreeSet<String>,
    used: &mut BTreeSet<(String, String)>,
    problems: &mut Vec<String>,
) {
    let at = format!("topology.links[{i}]");
    let Some(map) = link.as_mapping() else {
        problems.push(format!("{at}: must be a mapping with `endpoints`"));
        return;
    };
    unknown_keys(
        map,
        &["endpoints", "vars", "labels", "mtu", "type"],
        &format!("{at}."),
        problems,
    );
    let Some(endpoints) = map.get("endpoints").and_then(Value::as_sequence) else {
        problems.push(format!("{at}.endpoints: missing, or not a list"));
        return;
    };
    if endpoints.len() != 2 {
        problems.push(format!(
            "{at}.endpoints: a veth link has 2 endpoints, not {}",
            endpoints.len()
        ));
    }
    for (j, e) in endpoints.iter().enumerate() {
        let Some(text) = e.as_str() else {
            problems.push(format!("{at}.endpoints[{j}]: must be a string"));
            continue;
        };
        match parse_endpoint(text) {
            Err(e) => problems.push(format!("{at}.endpoints[{j}]: {text:?}: {e}")),
            Ok(ep) => {
                if !names.contains(&ep.node) {
                    problems.push(format!(
                        "{at}.endpoints[{j}]: node {} is not in topology.nodes",
                        ep.node
                    ));
                }
                if !used.insert((ep.node.clone(), ep.iface.clone())) {
                    problems.push(format!(
                        "{at}.endpoints[{j}]: {text} is used by another link"
                    ));
                }
            }
        }
    }
}

pub(super) fn string_list(
    node: &Mapping,
    key: &str,
    at: &str,
    problems: &mut Vec<String>,
    unique: bool,
) -> Vec<String> {
    let Some(value) = node.get(key) else {
        return Vec::new();
    };
    let Some(items) = value.as_sequence() else {
        problems.push(format!("{at}.{key}: must be a list of strings"));
        return Vec::new();
    };
    if items.is_empty() {
        problems.push(format!("{at}.{key}: an empty list (leave the key out)"));
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) if unique && out.iter().any(|o| o == s) => {
                problems.push(format!("{at}.{key}[{i}]: duplicate {s:?}"))
            }
            Some(s) => out.push(s.to_string()),
            None => problems.push(format!("{at}.{key}[{i}]: must be a string")),
        }
    }
    out
}

pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn valid_lab_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

pub(super) fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

pub(super) fn valid_image(image: &str) -> bool {
    !image.is_empty() && !image.chars().any(char::is_whitespace) && !image.ends_with(':')
}
