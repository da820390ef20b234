//! The containerlab topology file (`lab/srrd.clab.yml`): its checks and
//! the typed view `srrd-lab` builds the lab from.
//!
//! The checks follow containerlab's documentation of the topology file
//! (containerlab.dev, "Topology definition" and "Nodes", and the keys of its
//! JSON schema): required keys, the keys a node may have, kinds, the
//! `node:interface` endpoint syntax, interface names the kernel accepts.
//! On top of that come srrd-lab's own needs: every node has an
//! `SRRD_ROLE`, bind sources exist, and the binds a role needs are there.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_norway::{Mapping, Value};

/// Keys of the file's top level (containerlab's schema).
const TOP_KEYS: &[&str] = &["name", "prefix", "mgmt", "topology", "settings"];
/// Keys of `topology`.
const TOPOLOGY_KEYS: &[&str] = &["nodes", "kinds", "defaults", "groups", "links"];
/// Keys a node (or a `defaults`/`kinds`/`groups` entry) may have.
const NODE_KEYS: &[&str] = &[
    "kind",
    "type",
    "group",
    "image",
    "image-pull-policy",
    "restart-policy",
    "license",
    "startup-config",
    "startup-delay",
    "enforce-startup-config",
    "suppress-startup-config",
    "auto-remove",
    "binds",
    "ports",
    "env",
    "env-files",
    "user",
    "entrypoint",
    "cmd",
    "exec",
    "labels",
    "mgmt-ipv4",
    "mgmt-ipv6",
    "mgmt_ipv4",
    "mgmt_ipv6",
    "dns",
    "publish",
    "network-mode",
    "runtime",
    "cpu",
    "cpu-set",
    "memory",
    "sysctls",
    "stages",
    "certificate",
    "healthcheck",
    "extras",
    "config",
    "wait-for",
    "aliases",
    "devices",
    "cap-add",
    "shm-size",
    "sandbox",
    "kernel",
];
/// Node kinds srrd's lab may use (a subset of containerlab's).
const KINDS: &[&str] = &["linux", "bridge", "ovs-bridge", "host", "ext-container"];
/// Kinds that are containers with a network namespace of their own.
const CONTAINER_KINDS: &[&str] = &["linux"];
/// Bind modes docker accepts after `src:dst:`.
const BIND_MODES: &[&str] = &[
    "ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate", "nocopy",
];

/// The environment variable that gives a node its role.
pub const ROLE_VAR: &str = "SRRD_ROLE";

/// What srrd-lab runs on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// zebra + ospfd.
    Router,
    /// zebra + ospfd + `srrd run`.
    Node,
    /// Nothing: it only probes.
    Client,
    /// Nothing: it holds the LAN bridges (its `exec` lines make them).
    Switch,
}

impl Role {
    fn parse(text: &str) -> Option<Role> {
        match text {
            "router" => Some(Role::Router),
            "node" => Some(Role::Node),
            "client" => Some(Role::Client),
            "switch" => Some(Role::Switch),
            _ => None,
        }
    }

    pub fn runs_frr(self) -> bool {
        matches!(self, Role::Router | Role::Node)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Router => "router",
            Role::Node => "node",
            Role::Client => "client",
            Role::Switch => "switch",
        })
    }
}

/// A bind `SOURCE:TARGET[:MODE]`; `source` as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

impl Bind {
    /// The host path of `source`: relative to the topology file's dir,
    /// `~` is $HOME, `__clabDir__` the lab dir, `__clabNodeDir__` the
    /// node's own dir.
    pub fn host_path(&self, topology_dir: &Path, lab_dir: &Path, node_dir: &Path) -> PathBuf {
        if let Some(rest) = self.source.strip_prefix("__clabNodeDir__") {
            return node_dir.join(rest.trim_start_matches('/'));
        }
        if let Some(rest) = self.source.strip_prefix("__clabDir__") {
            return lab_dir.join(rest.trim_start_matches('/'));
        }
        if let Some(rest) = self.source.strip_prefix("~/") {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            return PathBuf::from(home).join(rest);
        }
        topology_dir.join(&self.source)
    }

    /// Made by containerlab at deploy time, so not in the repository.
    pub fn is_lab_generated(&self) -> bool {
        self.source.starts_with("__clab")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub node: String,
    pub iface: String,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub kind: String,
    pub image: Option<String>,
    pub role: Role,
    pub binds: Vec<Bind>,
    /// Commands run in the node once its links are up, in order.
    pub exec: Vec<String>,
    pub env: BTreeMap<String, String>,
}

impl Node {
    /// The bind mounted at `target` (e.g. `/etc/frr`).
    pub fn bind(&self, target: &str) -> Option<&Bind> {
        self.binds.iter().find(|b| b.target == target)
    }
}

#[derive(Clone, Debug)]
pub struct Topology {
    /// The file it was read from.
    pub path: PathBuf,
    pub name: String,
    /// In file order.
    pub nodes: Vec<Node>,
    pub links: Vec<(Endpoint, Endpoint)>,
}

/// The lab's one topology, next to this crate's sources.
pub const LAB_TOPOLOGY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/srrd.clab.yml");

impl Topology {
    /// `lab/srrd.clab.yml`: the topology of the tests, the bench and the demo.
    pub fn lab() -> Result<Topology, String> {
        Topology::load(Path::new(LAB_TOPOLOGY)).map_err(|problems| problems.join("\n"))
    }

    /// Reads and checks `path`; every problem found, one per line, if any.
    pub fn load(path: &Path) -> Result<Topology, Vec<String>> {
        // Absolute: bind sources become paths in srrd's configs.
        let path =
            &std::fs::canonicalize(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        let text =
            std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?;
        let problems = check(&text, dir_of(path));
        if !problems.is_empty() {
            let file = path.display();
            return Err(problems
                .into_iter()
                .map(|p| format!("{file}: {p}"))
                .collect());
        }
        let root: Value = serde_norway::from_str(&text).map_err(|e| vec![e.to_string()])?;
        Ok(typed(&root, path))
    }

    /// The dir bind sources are relative to.
    pub fn dir(&self) -> &Path {
        dir_of(&self.path)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Names of the nodes with `role`, in file order.
    pub fn with_role(&self, role: Role) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.role == role)
            .map(|n| n.name.clone())
            .collect()
    }
}

fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

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

fn unknown_keys(map: &Mapping, allowed: &[&str], at: &str, problems: &mut Vec<String>) {
    for key in map.keys() {
        match key.as_str() {
            Some(k) if allowed.contains(&k) => {}
            Some(k) => problems.push(format!("{at}{k}: unknown key")),
            None => problems.push(format!("{at}: keys must be strings")),
        }
    }
}

fn check_node_keys(node: &Value, at: &str, problems: &mut Vec<String>) {
    match node {
        Value::Null => {}
        Value::Mapping(m) => unknown_keys(m, NODE_KEYS, &format!("{at}."), problems),
        _ => problems.push(format!("{at}: must be a mapping")),
    }
}

/// A node's settings with `topology.defaults` and `topology.kinds.<kind>`
/// under it (containerlab: node over kind over defaults; env, labels and
/// binds are merged).
fn merged(topology: &Mapping, node: &Value) -> Mapping {
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

fn check_node(node: &Mapping, at: &str, dir: &Path, problems: &mut Vec<String>) {
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

fn check_link(
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

/// `node:iface` (containerlab's pattern `^\S+:\S+$`), with an interface
/// name Linux accepts, other than eth0 (containerlab's management port).
pub fn parse_endpoint(text: &str) -> Result<Endpoint, String> {
    let (node, iface) = text
        .split_once(':')
        .ok_or("an endpoint is NODE:INTERFACE")?;
    if node.is_empty() || node.chars().any(char::is_whitespace) {
        return Err("empty or spaced node name".into());
    }
    check_ifname(iface)?;
    if iface == "eth0" {
        return Err(
            "eth0 is containerlab's management interface; data links use eth1 and up".into(),
        );
    }
    Ok(Endpoint {
        node: node.to_string(),
        iface: iface.to_string(),
    })
}

/// A Linux interface name: 1–15 bytes (IFNAMSIZ - 1), no `/`, `:` or
/// white space, not `.` or `..`.
pub fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!(
            "interface name {name:?}: 1-15 characters (Linux IFNAMSIZ)"
        ));
    }
    if name == "."
        || name == ".."
        || name.contains(['/', ':'])
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "interface name {name:?}: no `/`, `:` or white space"
        ));
    }
    Ok(())
}

/// Docker's `-v` syntax as containerlab takes it: `SRC:DST[:MODE[,MODE]]`.
pub fn parse_bind(text: &str) -> Result<Bind, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, modes) = match parts.as_slice() {
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => return Err("a bind is SOURCE:TARGET or SOURCE:TARGET:MODE".into()),
    };
    if source.is_empty() {
        return Err("empty source".into());
    }
    if !target.starts_with('/') {
        return Err(format!("target {target:?} must be an absolute path"));
    }
    let mut read_only = false;
    for mode in modes.split(',').filter(|m| !m.is_empty()) {
        if !BIND_MODES.contains(&mode) {
            return Err(format!("unknown mode {mode:?}"));
        }
        read_only |= mode == "ro";
    }
    Ok(Bind {
        source: source.to_string(),
        target: target.trim_end_matches('/').to_string(),
        read_only,
    })
}

/// Splits an `exec` line into words the way containerlab does (shell-like
/// quoting, no shell: pipes, `;` or `$VAR` need an explicit `sh -c '…'`).
pub fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated ' in {line:?}")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err(format!("unterminated \" in {line:?}")),
                        },
                        Some(c) => w.push(c),
                        None => return Err(format!("unterminated \" in {line:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err(format!("trailing \\ in {line:?}")),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        words.push(w);
    }
    if words.is_empty() {
        return Err("empty command".into());
    }
    Ok(words)
}

fn string_list(
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

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn valid_lab_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn valid_node_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

fn valid_image(image: &str) -> bool {
    !image.is_empty() && !image.chars().any(char::is_whitespace) && !image.ends_with(':')
}

/// The typed view of a checked file.
fn typed(root: &Value, path: &Path) -> Topology {
    let empty = Mapping::new();
    let topology = root
        .get("topology")
        .and_then(Value::as_mapping)
        .unwrap_or(&empty);
    let mut nodes = Vec::new();
    if let Some(map) = topology.get("nodes").and_then(Value::as_mapping) {
        for (name, node) in map {
            let node = merged(topology, node);
            let strings = |key: &str| -> Vec<String> {
                node.get(key)
                    .and_then(Value::as_sequence)
                    .map(|s| {
                        s.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let env: BTreeMap<String, String> = node
                .get("env")
                .and_then(Value::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar_text(v)?)))
                        .collect()
                })
                .unwrap_or_default();
            nodes.push(Node {
                name: name.as_str().unwrap_or_default().to_string(),
                kind: node
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                image: node
                    .get("image")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                role: env
                    .get(ROLE_VAR)
                    .and_then(|r| Role::parse(r))
                    .unwrap_or(Role::Client),
                binds: strings("binds")
                    .iter()
                    .filter_map(|b| parse_bind(b).ok())
                    .collect(),
                exec: strings("exec"),
                env,
            });
        }
    }
    let links = topology
        .get("links")
        .and_then(Value::as_sequence)
        .map(|links| {
            links
                .iter()
                .filter_map(|l| {
                    let e = l.get("endpoints")?.as_sequence()?;
                    let a = parse_endpoint(e.first()?.as_str()?).ok()?;
                    let b = parse_endpoint(e.get(1)?.as_str()?).ok()?;
                    Some((a, b))
                })
                .collect()
        })
        .unwrap_or_default();
    Topology {
        path: path.to_path_buf(),
        name: root
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        nodes,
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell_without_one() {
        assert_eq!(
            split_words(r#"sh -c 'echo $$FOO; ls' "a \"b\"" c\ d"#).unwrap(),
            vec!["sh", "-c", "echo $$FOO; ls", r#"a "b""#, "c d"]
        );
        assert!(split_words("echo 'open").is_err());
        assert!(split_words("   ").is_err());
    }

    #[test]
    fn endpoints_and_interface_names() {
        assert_eq!(
            parse_endpoint("n1:eth1").unwrap(),
            Endpoint {
                node: "n1".into(),
                iface: "eth1".into()
            }
        );
        assert!(parse_endpoint("n1").is_err());
        assert!(parse_endpoint("n1:").is_err());
        assert!(parse_endpoint("n1:eth0").is_err());
        assert!(parse_endpoint("n1:a-very-long-name0").is_err());
        assert!(parse_endpoint("n1:e/1").is_err());
    }

    #[test]
    fn binds() {
        let b = parse_bind("config/n1:/etc/srrd:ro").unwrap();
        assert_eq!((b.target.as_str(), b.read_only), ("/etc/srrd", true));
        assert!(parse_bind("config/n1:etc").is_err());
        assert!(parse_bind("config/n1:/etc:bogus").is_err());
        assert!(parse_bind("/only-one").is_err());
        let node_dir = Path::new("/tmp/lab/n1");
        let b = parse_bind("__clabNodeDir__/state:/var/lib/srrd").unwrap();
        assert_eq!(
            b.host_path(Path::new("/repo/lab"), Path::new("/tmp/lab"), node_dir),
            PathBuf::from("/tmp/lab/n1/state")
        );
    }

    #[test]
    fn problems_are_named() {
        let text = "name: t\ntopology:\n  nodes:\n    a:\n      kind: linux\n      image: x\n      colour: red\n      env: {SRRD_ROLE: client}\n  links:\n    - endpoints: [\"a:eth1\", \"b:eth1\"]\n";
        let problems = check(text, Path::new("."));
        assert!(
            problems.iter().any(|p| p.contains("colour: unknown key")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("node b is not in topology.nodes")),
            "{problems:?}"
        );
        assert!(check("topology: {nodes: {}}", Path::new("."))
            .iter()
            .any(|p| p.contains("`name` is missing")));
    }
}
