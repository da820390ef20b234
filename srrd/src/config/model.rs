//! The validated configuration the rest of srrd works with.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::model::{Primitive, RouterId, Scope, ServiceKind};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub node: NodeSettings,
    /// The HTTPS UI/API (`[web]`); present exactly when `node.web_listen` is.
    pub web: Option<WebSettings>,
    pub services: Vec<ServiceConfig>,
}

impl Config {
    /// The UI address flooded in the daemon LSA: `[web] advertise`, else
    /// `node.web_listen` unless that is a wildcard address.
    pub fn web_advertised(&self) -> Option<SocketAddr> {
        let listen = self.node.web_listen?;
        match self.web.as_ref().and_then(|w| w.advertise) {
            Some(addr) => Some(addr),
            None if listen.ip().is_unspecified() => None,
            None => Some(listen),
        }
    }
}

/// `[web]`: TLS material and who may do what (docs/api.md).
#[derive(Clone, Debug, PartialEq)]
pub struct WebSettings {
    /// PEM server certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
    /// PEM CA certificates client certificates must chain to.
    pub client_ca: Vec<PathBuf>,
    /// Address other nodes' UIs link to, if not `node.web_listen`.
    pub advertise: Option<SocketAddr>,
    pub roles: RoleMap,
}

/// Client certificate → role. A certificate matching an operator rule is
/// an operator, else one matching a viewer rule a viewer, else refused.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleMap {
    /// Subject organizational units (OU) that make an operator.
    pub operator_ou: Vec<String>,
    pub viewer_ou: Vec<String>,
    /// Subject common names or DNS/e-mail SANs that make an operator.
    pub operators: Vec<String>,
    pub viewers: Vec<String>,
}

impl Default for RoleMap {
    /// What `srrd pki issue --role` writes into the OU.
    fn default() -> Self {
        RoleMap {
            operator_ou: vec![String::from("operator")],
            viewer_ou: vec![String::from("viewer")],
            operators: Vec::new(),
            viewers: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeSettings {
    /// Human name of this node (default: the host name).
    pub name: String,
    /// Normally learnt from ospfd; set to pin it.
    pub router_id: Option<RouterId>,
    /// Interface that carries the VIPs (default `lo`).
    pub vip_interface: String,
    /// Where srrd persists its state (default `/var/lib/srrd`).
    pub state_dir: PathBuf,
    /// File holding the cluster HMAC key; without it LSAs are not authenticated.
    pub cluster_key_file: Option<PathBuf>,
    /// ospfd's OSPF API server (default 127.0.0.1:2607).
    pub ospf_api: SocketAddr,
    /// HTTPS UI/API listen address, if any.
    pub web_listen: Option<SocketAddr>,
    /// Plain-HTTP Prometheus metrics listener (loopback only), if any.
    pub metrics_listen: Option<SocketAddr>,
    /// FRR's vty socket directory when FRR runs with `--vty_socket DIR`:
    /// the routing commands then run `vtysh --vty_socket DIR`.
    pub vty_socket_dir: Option<PathBuf>,
    /// How long a DELETE of a peer's current LSA waits for a replacing UPDATE.
    pub delete_grace: Duration,
    /// How long an injected LSA may wait for its own echo.
    pub echo_timeout: Duration,
    /// Delay before asking a primitive that answered "recall" again.
    pub recall_interval: Duration,
    /// How long an operator move waits for the target to take the unit
    /// before it is placed by the normal rules again.
    pub handoff_timeout: Duration,
    /// A passing check refreshes the flooded check stamp at most this often.
    pub check_refresh: Duration,
    /// After the OSPF API session comes up, how long to learn the cluster
    /// before claiming anything: a cluster that boots together then places
    /// services by the rules, not by who booted first.
    pub startup_hold: Duration,
    /// How long peers wait before taking over a service whose holder's
    /// records were flushed while its router stays reachable (its srrd
    /// exited; a restart may adopt the service): docs/configuration.md.
    pub restart_grace: Duration,
    /// SIGTERM/SIGINT leave the services running and their VIPs up for the
    /// next run to adopt (binary upgrades; docs/operating.md).
    pub keep_services_on_stop: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: ServiceKind,
    pub addresses: Vec<IpAddr>,
    /// 0..=255; equal on all nodes = symmetric (sticky), else the highest preempts.
    pub preference: u8,
    pub group: Option<String>,
    pub depends: Vec<String>,
    /// When it stops or fails, its whole group stops here and moves.
    pub critical: bool,
    pub scope: Scope,
    /// `None`: never checked.
    pub check_interval: Option<Duration>,
    /// A Makefile (run as `make -f FILE target`) or an executable (run with the target as argument).
    pub primitives: PathBuf,
    pub timeouts: Timeouts,
    /// Configured disabled: the node starts in `disabled/stopped`.
    pub disabled: bool,
    /// A higher-preference node waits this long before preempting.
    pub preempt_delay: Duration,
    /// Start only while a majority of the nodes that ever announced it is reachable.
    pub quorum: bool,
    /// Quorum counts at least this many nodes, even before they announced
    /// the service (0: only the nodes seen).
    pub expected_nodes: u32,
    /// How a planned move hands the service over.
    pub handover: Handover,
    /// With `Handover::Overlap`: how long the old node keeps it running
    /// after the new node started it, so routers install the new route.
    pub handover_overlap: Duration,
    /// With `Handover::Overlap`: how long the leaving node still serves
    /// after withdrawing its addresses, before it runs `stop`, while the
    /// routers move traffic off it.
    pub handover_drain: Duration,
}

/// How a graceful move or an operator move-to hands a service over
/// (docs/configuration.md, "Handover").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Handover {
    /// The old node stops it before the new node starts it.
    #[default]
    Break,
    /// The new node starts it first; both run it for `handover_overlap`.
    Overlap,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Timeouts {
    pub activate: Duration,
    pub deactivate: Duration,
    pub start: Duration,
    pub stop: Duration,
    pub check: Duration,
    /// join, leave, failed, status, reload, restart.
    pub other: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            activate: Duration::from_secs(60),
            deactivate: Duration::from_secs(60),
            start: Duration::from_secs(60),
            stop: Duration::from_secs(60),
            check: Duration::from_secs(10),
            other: Duration::from_secs(30),
        }
    }
}

impl Timeouts {
    pub fn for_primitive(&self, p: Primitive) -> Duration {
        match p {
            Primitive::Activate => self.activate,
            Primitive::Deactivate => self.deactivate,
            Primitive::Start => self.start,
            Primitive::Stop => self.stop,
            Primitive::Check => self.check,
            _ => self.other,
        }
    }
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            name: String::from("srrd"),
            router_id: None,
            vip_interface: String::from("lo"),
            state_dir: PathBuf::from("/var/lib/srrd"),
            cluster_key_file: None,
            ospf_api: SocketAddr::from(([127, 0, 0, 1], 2607)),
            web_listen: None,
            metrics_listen: None,
            vty_socket_dir: None,
            delete_grace: Duration::from_millis(20),
            echo_timeout: Duration::from_secs(10),
            recall_interval: Duration::from_millis(500),
            handoff_timeout: Duration::from_secs(30),
            check_refresh: Duration::from_secs(30),
            startup_hold: Duration::from_secs(1),
            restart_grace: Duration::from_secs(1),
            keep_services_on_stop: false,
        }
    }
}

impl ServiceConfig {
    /// A service with defaults, for tests and the simulator.
    pub fn new(name: &str) -> ServiceConfig {
        ServiceConfig {
            name: name.to_string(),
            kind: ServiceKind::Service,
            addresses: Vec::new(),
            preference: 100,
            group: None,
            depends: Vec::new(),
            critical: false,
            scope: Scope::Area,
            check_interval: None,
            primitives: PathBuf::from("/bin/true"),
            timeouts: Timeouts::default(),
            disabled: false,
            preempt_delay: Duration::ZERO,
            quorum: false,
            expected_nodes: 0,
            handover: Handover::Break,
            handover_overlap: Duration::from_secs(1),
            handover_drain: Duration::from_millis(250),
        }
    }
}
