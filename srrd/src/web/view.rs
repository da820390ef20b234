//! The cluster view the API serves and streams: one document built from the
//! engine's accessors, compared with the last one so that only real changes
//! are pushed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::engine::{Engine, Intent, LsaRef};
use crate::model::{ConfigState, Failure, Primitive, RouterId, RunState, ServiceKind};

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterView {
    /// This node.
    pub node: NodeView,
    /// Whether the OSPF API session to the local ospfd is up.
    pub api_up: bool,
    /// Wall-clock ms when this document was served (set per answer).
    pub generated_at_ms: u64,
    pub nodes: Vec<NodeView>,
    pub services: Vec<ServiceView>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NodeView {
    /// `None` only before the first OSPF API session.
    pub router_id: Option<RouterId>,
    /// From the node's daemon LSA (or this node's configuration).
    pub name: Option<String>,
    pub reachable: bool,
    /// The node's UI address from its daemon LSA, as `IP:PORT`.
    pub web: Option<String>,
    pub local: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceView {
    pub name: String,
    pub kind: ServiceKind,
    pub group: Option<String>,
    pub depends: Vec<String>,
    pub critical: bool,
    pub addresses: Vec<IpAddr>,
    /// Configured on this node (operator commands go to this node).
    pub configured_here: bool,
    /// Reachable nodes where it is started.
    pub running_on: Vec<RouterId>,
    /// One entry per node that has it: this node first if configured here.
    pub nodes: Vec<ServiceOnNode>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServiceOnNode {
    pub router_id: Option<RouterId>,
    pub local: bool,
    pub reachable: bool,
    pub config: ConfigState,
    pub run: RunState,
    pub preference: u8,
    pub standby: bool,
    pub failure: Option<Failure>,
    /// Wall-clock ms of the last passing check (0: never).
    pub check_stamp_ms: u64,
    /// Set per answer from `check_stamp_ms`.
    pub check_age_ms: Option<u64>,
    /// The LSA id as vtysh shows it, e.g. `222.171.1.1`.
    pub lsa_id: Option<String>,
    /// The LSA as vtysh names it: `type-10 222.171.1.1 adv 10.0.0.3`.
    pub lsa: Option<String>,
    pub generation: Option<u64>,
    /// Only for this node: what the operator asked for.
    pub intent: Option<Intent>,
    /// Only for this node: the primitive running now.
    pub running_primitive: Option<Primitive>,
    /// The record predates its router's last loss (docs/architecture.md).
    pub suspect: bool,
}

fn lsa_id(lsa: &LsaRef) -> String {
    std::net::Ipv4Addr::from(crate::ospfapi::ls_id(
        crate::lsa::OPAQUE_TYPE,
        lsa.opaque_id,
    ))
    .to_string()
}

impl ClusterView {
    /// The view of `engine` on the node named `node_name`, whose UI is at
    /// `web`.
    pub fn of(engine: &Engine, node_name: &str, web: Option<SocketAddr>) -> ClusterView {
        let me = engine.router_id();
        let view = engine.view();
        let reachable = |r: RouterId| Some(r) == me || view.is_reachable(r);

        let mut names: BTreeSet<String> = engine.services().map(|s| s.name).collect();
        names.extend(view.service_names().map(str::to_string));
        let mut routers: BTreeSet<RouterId> = view.daemons.keys().copied().collect();
        let mut services = Vec::new();
        for name in names {
            let mut nodes = Vec::new();
            let cfg = engine.service_config(&name);
            let mut fixed = cfg.map(|c| {
                (
                    c.kind,
                    c.group.clone(),
                    c.depends.clone(),
                    c.critical,
                    c.addresses.clone(),
                )
            });
            if let (Some(status), Some(cfg)) = (engine.service(&name), cfg) {
                nodes.push(ServiceOnNode {
                    router_id: me,
                    local: true,
                    reachable: true,
                    config: status.config,
                    run: status.run,
                    preference: cfg.preference,
                    standby: status.standby,
                    failure: status.failure,
                    check_stamp_ms: status.check_stamp_ms,
                    check_age_ms: None,
                    lsa_id: status.lsa.as_ref().map(lsa_id),
                    lsa: status.lsa.as_ref().map(|l| l.to_string()),
                    generation: engine.generation(&name),
                    intent: Some(status.intent),
                    running_primitive: status.running_primitive,
                    suspect: false,
                });
            }
            for (router, rec) in view.records(&name) {
                if Some(*router) == me {
                    continue;
                }
                routers.insert(*router);
                let s = &rec.state;
                fixed.get_or_insert_with(|| {
                    (
                        s.kind,
                        s.group.clone(),
                        s.depends.clone(),
                        s.critical,
                        s.addresses.clone(),
                    )
                });
                nodes.push(ServiceOnNode {
                    router_id: Some(*router),
                    local: false,
                    reachable: reachable(*router),
                    config: s.config_state,
                    run: s.run_state,
                    preference: s.preference,
                    standby: s.standby,
                    failure: s.failure.clone(),
                    check_stamp_ms: s.check_stamp_ms,
                    check_age_ms: None,
                    lsa_id: Some(lsa_id(&rec.lsa)),
                    lsa: Some(rec.lsa.to_string()),
                    generation: Some(s.generation),
                    intent: None,
                    running_primitive: None,
                    suspect: rec.suspect,
                });
            }
            let Some((kind, group, depends, critical, addresses)) = fixed else {
                continue;
            };
            let running_on = nodes
                .iter()
                .filter(|n| n.reachable && n.run == RunState::Started)
                .filter_map(|n| n.router_id)
                .collect();
            services.push(ServiceView {
                configured_here: cfg.is_some(),
                name,
                kind,
                group,
                depends,
                critical,
                addresses,
                running_on,
                nodes,
            });
        }

        let local = NodeView {
            router_id: me,
            name: Some(node_name.to_string()),
            reachable: true,
            web: web.map(|w| w.to_string()),
            local: true,
        };
        let mut nodes = vec![local.clone()];
        let names: BTreeMap<RouterId, &crate::engine::PeerDaemon> =
            view.daemons.iter().map(|(r, d)| (*r, d)).collect();
        for r in routers.into_iter().filter(|r| Some(*r) != me) {
            let daemon = names.get(&r);
            nodes.push(NodeView {
                router_id: Some(r),
                name: daemon.map(|d| d.node_name.clone()),
                reachable: reachable(r),
                web: daemon.and_then(|d| d.web).map(|w| w.to_string()),
                local: false,
            });
        }
        ClusterView {
            node: local,
            api_up: engine.api_up(),
            generated_at_ms: 0,
            nodes,
            services,
        }
    }

    /// This view as served at wall-clock `now_ms`: stamped, with check ages.
    pub fn at(&self, now_ms: u64) -> ClusterView {
        let mut view = self.clone();
        view.generated_at_ms = now_ms;
        for node in view.services.iter_mut().flat_map(|s| s.nodes.iter_mut()) {
            node.check_age_ms =
                (node.check_stamp_ms != 0).then(|| now_ms.saturating_sub(node.check_stamp_ms));
        }
        view
    }

    pub fn service(&self, name: &str) -> Option<&ServiceView> {
        self.services.iter().find(|s| s.name == name)
    }

    /// A node named by router id or by node name.
    pub fn find_node(&self, id_or_name: &str) -> Option<RouterId> {
        if let Ok(r) = id_or_name.parse::<RouterId>() {
            return Some(r);
        }
        self.nodes
            .iter()
            .find(|n| n.name.as_deref() == Some(id_or_name))
            .and_then(|n| n.router_id)
    }
}

/// Wall-clock milliseconds.
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;
    use crate::engine::{EngineSettings, Event, Restored};
    use crate::model::Time;

    #[test]
    fn a_fresh_engine_shows_its_services_and_itself() {
        let mut web = ServiceConfig::new("web");
        web.addresses = vec!["192.0.2.10".parse().expect("literal")];
        let mut engine = Engine::new(EngineSettings::default(), vec![web], &Restored::default());
        engine.handle(
            Time(0),
            Event::ApiConnected {
                router_id: RouterId(7),
            },
        );
        let view = ClusterView::of(
            &engine,
            "n1",
            Some("10.0.0.7:8443".parse().expect("literal")),
        );
        assert_eq!(view.node.web.as_deref(), Some("10.0.0.7:8443"));
        assert_eq!(view.node.router_id, Some(RouterId(7)));
        assert_eq!(view.nodes.len(), 1);
        let web = view.service("web").expect("web");
        assert!(web.configured_here);
        assert_eq!(web.nodes.len(), 1);
        assert!(web.nodes[0].local);
        assert!(web.running_on.is_empty());
        assert_eq!(view.find_node("n1"), Some(RouterId(7)));
        assert_eq!(view.find_node("10.0.0.1"), Some(RouterId(0x0a00_0001)));
        assert_eq!(view.find_node("nobody"), None);
        let mut stamped = view.clone();
        stamped.services[0].nodes[0].check_stamp_ms = 1000;
        let served = stamped.at(1500);
        assert_eq!(served.services[0].nodes[0].check_age_ms, Some(500));
        assert_eq!(served.generated_at_ms, 1500);
    }

    #[test]
    fn lsa_ids_are_dotted_like_vtysh() {
        let lsa = LsaRef {
            adv_router: RouterId(1),
            scope: crate::model::Scope::Area,
            opaque_id: 0xab_0101,
        };
        assert_eq!(lsa_id(&lsa), "222.171.1.1");
    }
}
