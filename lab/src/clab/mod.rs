//! The containerlab topology file (`lab/srrd.clab.yml`): its checks and
//! the typed view `srrd-lab` builds the lab from.
//!
//! The checks follow containerlab's documentation of the topology file
//! (containerlab.dev, "Topology definition" and "Nodes", and the keys of its
//! JSON schema): required keys, the keys a node may have, kinds, the
//! `node:interface` endpoint syntax, interface names the kernel accepts.
//! On top of that come srrd-lab's own needs: every node has an
//! `SRRD_ROLE`, bind sources exist, and the binds a role needs are there.

mod check;
mod words;

pub use check::check;
use check::{merged, scalar_text};
pub use words::{check_ifname, parse_bind, parse_endpoint, split_words};

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
