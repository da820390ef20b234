//! [`Config`] → TOML text that [`super::parse`] reads back as the same
//! `Config`: how a configuration edited at run time (web UI) is saved.

use serde::Serialize;

use super::duration::format_duration;
use super::fields::{kind_text, scope_text};
use super::model::{Config, NodeSettings, ServiceConfig, Timeouts, WebSettings};

#[derive(Serialize)]
struct OutDocument {
    node: OutNode,
    #[serde(skip_serializing_if = "Option::is_none")]
    web: Option<OutWeb>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    service: Vec<RenderedService>,
}

#[derive(Serialize)]
struct OutNode {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    router_id: Option<String>,
    vip_interface: String,
    state_dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_key_file: Option<String>,
    ospf_api: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vty_socket_dir: Option<String>,
    delete_grace: String,
    echo_timeout: String,
    recall_interval: String,
    handoff_timeout: String,
    check_refresh: String,
    startup_hold: String,
    restart_grace: String,
    keep_services_on_stop: bool,
}

#[derive(Serialize)]
struct OutWeb {
    cert: String,
    key: String,
    client_ca: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    advertise: Option<String>,
    operator_ou: Vec<String>,
    viewer_ou: Vec<String>,
    operators: Vec<String>,
    viewers: Vec<String>,
}

/// A `[[service]]` table as written, also the JSON form of a service in the
/// API (docs/openapi.yaml, ServiceConfig).
#[derive(Serialize)]
pub struct RenderedService {
    name: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<String>,
    preference: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    depends: Vec<String>,
    critical: bool,
    scope: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_interval: Option<String>,
    primitives: String,
    disabled: bool,
    preempt_delay: String,
    quorum: bool,
    #[serde(skip_serializing_if = "is_zero")]
    expected_nodes: u32,
    handover: &'static str,
    handover_overlap: String,
    handover_drain: String,
    timeouts: RenderedTimeouts,
}

#[derive(Serialize)]
pub struct RenderedTimeouts {
    activate: String,
    deactivate: String,
    start: String,
    stop: String,
    check: String,
    other: String,
}

impl Config {
    /// This configuration as a TOML file. Durations are written to the
    /// millisecond, paths lossily if they are not UTF-8.
    pub fn to_toml(&self) -> String {
        let document = OutDocument {
            node: out_node(&self.node),
            web: self.web.as_ref().map(out_web),
            service: self.services.iter().map(out_service).collect(),
        };
        // Only strings, integers and booleans in tables of a fixed shape:
        // nothing the TOML serializer can refuse.
        toml::to_string(&document).unwrap_or_default()
    }
}

fn out_node(node: &NodeSettings) -> OutNode {
    OutNode {
        name: node.name.clone(),
        router_id: node.router_id.map(|id| id.to_string()),
        vip_interface: node.vip_interface.clone(),
        state_dir: node.state_dir.to_string_lossy().into_owned(),
        cluster_key_file: node
            .cluster_key_file
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        ospf_api: node.ospf_api.to_string(),
        web_listen: node.web_listen.map(|a| a.to_string()),
        metrics_listen: node.metrics_listen.map(|a| a.to_string()),
        vty_socket_dir: node
            .vty_socket_dir
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned()),
        delete_grace: format_duration(node.delete_grace),
        echo_timeout: format_duration(node.echo_timeout),
        recall_interval: format_duration(node.recall_interval),
        handoff_timeout: format_duration(node.handoff_timeout),
        check_refresh: format_duration(node.check_refresh),
        startup_hold: format_duration(node.startup_hold),
        restart_grace: format_duration(node.restart_grace),
        keep_services_on_stop: node.keep_services_on_stop,
    }
}

fn out_web(web: &WebSettings) -> OutWeb {
    let path = |p: &std::path::PathBuf| p.to_string_lossy().into_owned();
    OutWeb {
        cert: path(&web.cert),
        key: path(&web.key),
        client_ca: web.client_ca.iter().map(path).collect(),
        advertise: web.advertise.map(|a| a.to_string()),
        operator_ou: web.roles.operator_ou.clone(),
        viewer_ou: web.roles.viewer_ou.clone(),
        operators: web.roles.operators.clone(),
        viewers: web.roles.viewers.clone(),
    }
}

impl ServiceConfig {
    pub fn rendered(&self) -> RenderedService {
        out_service(self)
    }
}

fn out_service(service: &ServiceConfig) -> RenderedService {
    RenderedService {
        name: service.name.clone(),
        kind: kind_text(service.kind),
        addresses: service.addresses.iter().map(|a| a.to_string()).collect(),
        preference: service.preference,
        group: service.group.clone(),
        depends: service.depends.clone(),
        critical: service.critical,
        scope: scope_text(service.scope),
        check_interval: service.check_interval.map(format_duration),
        primitives: service.primitives.to_string_lossy().into_owned(),
        disabled: service.disabled,
        preempt_delay: format_duration(service.preempt_delay),
        quorum: service.quorum,
        expected_nodes: service.expected_nodes,
        handover: super::fields::handover_text(service.handover),
        handover_overlap: format_duration(service.handover_overlap),
        handover_drain: format_duration(service.handover_drain),
        timeouts: out_timeouts(&service.timeouts),
    }
}

fn out_timeouts(t: &Timeouts) -> RenderedTimeouts {
    RenderedTimeouts {
        activate: format_duration(t.activate),
        deactivate: format_duration(t.deactivate),
        start: format_duration(t.start),
        stop: format_duration(t.stop),
        check: format_duration(t.check),
        other: format_duration(t.other),
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}
