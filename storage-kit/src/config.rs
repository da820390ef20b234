//! The resource's configuration file (docs/storage.md, "Configuration").
//! The same file can go on every node: the node is picked by srrd's
//! `SRRD_NODE` (or `--node`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The md device the array runs as on the active node, e.g. `/dev/md10`.
    pub md_device: String,
    /// Backing device of nodes that do not set their own.
    pub local_device: Option<String>,
    /// nbd export name.
    #[serde(default = "default_export")]
    pub export: String,
    /// TCP port of every node's export.
    #[serde(default = "default_port")]
    pub port: u16,
    /// nbd-client I/O timeout in seconds (docs/storage.md, "Timeouts").
    #[serde(default = "default_nbd_timeout")]
    pub nbd_timeout: u32,
    /// Peer `i` of `[[node]]` is attached as `/dev/nbd{nbd_first + i}`.
    #[serde(default)]
    pub nbd_first: u32,
    /// Where the kit keeps the export's config, pid file and the force log.
    /// Default: srrd's `SRRD_STATE_DIR`.
    pub state_dir: Option<PathBuf>,
    /// `check` fails (codes 20, 21) while degraded or resyncing; by default
    /// it passes, since moving the group does not make the mirror whole.
    #[serde(default)]
    pub degraded_fails_check: bool,
    #[serde(rename = "node")]
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: String,
    /// OSPF router id, as srrd passes it in `SRRD_PEER` and `SRRD_PEERS`.
    pub router_id: String,
    /// Cluster address the node's export listens on.
    pub address: String,
    pub local_device: Option<String>,
}

fn default_export() -> String {
    "srrd-raid1".into()
}
fn default_port() -> u16 {
    10809
}
fn default_nbd_timeout() -> u32 {
    5
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        c.validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), String> {
        if self.nodes.len() < 2 {
            return Err("node: a mirror needs at least two [[node]] tables".into());
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if self.nodes[..i]
                .iter()
                .any(|m| m.name == n.name || m.router_id == n.router_id)
            {
                return Err(format!(
                    "node[{i}]: name {:?} or router_id {:?} appears twice",
                    n.name, n.router_id
                ));
            }
            if n.name.is_empty() || n.name.contains([',', '=', '\n', ' ']) {
                return Err(format!(
                    "node[{i}].name: {:?}: use letters, digits, '.', '_' or '-'",
                    n.name
                ));
            }
            if n.address.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "node[{i}].address: {:?} is not an IP address",
                    n.address
                ));
            }
            if n.local_device.is_none() && self.local_device.is_none() {
                return Err(format!(
                    "node[{i}]: no local_device (set it here or at the top)"
                ));
            }
        }
        if self.nbd_timeout == 0 {
            return Err("nbd_timeout: 0 would let md I/O hang forever on a silent peer".into());
        }
        if !self.md_device.starts_with("/dev/md") {
            return Err(format!(
                "md_device: {:?}: expected /dev/mdN",
                self.md_device
            ));
        }
        Ok(())
    }

    /// The node called `name` (srrd's node name) or with router id `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.name == name || n.router_id == name)
    }

    pub fn local_device(&self, n: &Node) -> String {
        n.local_device
            .clone()
            .or_else(|| self.local_device.clone())
            .unwrap_or_default()
    }

    pub fn nbd_device(&self, peer: &Node) -> String {
        let i = self
            .nodes
            .iter()
            .position(|n| n.name == peer.name)
            .unwrap_or(0);
        format!("/dev/nbd{}", self.nbd_first as usize + i)
    }

    /// `md10` for `/dev/md10`.
    pub fn md_name(&self) -> &str {
        self.md_device.trim_start_matches("/dev/")
    }

    pub fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
md_device = "/dev/md10"
local_device = "/dev/vdb"
[[node]]
name = "n1"
router_id = "10.255.0.1"
address = "10.0.1.1"
[[node]]
name = "n2"
router_id = "10.255.0.2"
address = "10.0.2.1"
local_device = "/dev/sdb"
"#;

    #[test]
    fn example_parses_with_defaults() {
        let c: Config = toml::from_str(EXAMPLE).unwrap();
        c.validate().unwrap();
        assert_eq!(
            (c.port, c.nbd_timeout, c.export.as_str()),
            (10809, 5, "srrd-raid1")
        );
        let n2 = c.node("10.255.0.2").unwrap();
        assert_eq!(c.local_device(n2), "/dev/sdb");
        assert_eq!(c.nbd_device(n2), "/dev/nbd1");
        assert_eq!(c.md_name(), "md10");
    }

    #[test]
    fn mistakes_are_named() {
        let e = toml::from_str::<Config>(&EXAMPLE.replace("md_device", "md_devic")).unwrap_err();
        assert!(e.to_string().contains("md_devic"), "{e}");
        let c: Config = toml::from_str(&EXAMPLE.replace("10.0.2.1", "nowhere")).unwrap();
        assert!(c.validate().unwrap_err().contains("node[1].address"));
        let c: Config =
            toml::from_str(&EXAMPLE.replace("local_device = \"/dev/vdb\"", "nbd_timeout = 0"))
                .unwrap();
        assert!(c.validate().unwrap_err().contains("node[0]"));
    }
}
