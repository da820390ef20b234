//! `[node]` → [`NodeSettings`].

use super::diag::Diagnostics;
use super::fields::{self, MAX_NAME_LEN};
use super::model::NodeSettings;
use super::raw::RawNode;
use crate::model::RouterId;

/// Linux IFNAMSIZ less the terminating NUL.
const MAX_INTERFACE_NAME_LEN: usize = 15;

pub(super) fn build_node(
    raw: &RawNode,
    host_name: &dyn Fn() -> String,
    diag: &mut Diagnostics<'_>,
) -> NodeSettings {
    let name = match &raw.name {
        Some(name) => {
            if let Some(problem) = node_name_problem(name.get_ref()) {
                diag.error(name.span(), "node.name", problem);
            }
            name.get_ref().clone()
        }
        None => host_name(),
    };
    let mut node = NodeSettings {
        name,
        ..NodeSettings::default()
    };
    if let Some(text) = &raw.router_id {
        match text.get_ref().parse::<RouterId>() {
            Ok(RouterId(0)) => diag.error(
                text.span(),
                "node.router_id",
                "router id 0.0.0.0 is not allowed in OSPF",
            ),
            Ok(id) => node.router_id = Some(id),
            Err(_) => diag.error(
                text.span(),
                "node.router_id",
                format!(
                    "invalid router id \"{}\": expected a dotted quad such as \"10.255.0.11\"",
                    text.get_ref().escape_debug()
                ),
            ),
        }
    }
    if let Some(interface) = &raw.vip_interface {
        match interface_name_problem(interface.get_ref()) {
            Some(problem) => diag.error(interface.span(), "node.vip_interface", problem),
            None => node.vip_interface = interface.get_ref().clone(),
        }
    }
    if let Some(path) = &raw.state_dir {
        if let Some(path) = fields::absolute_path(diag, path, "node.state_dir") {
            node.state_dir = path;
        }
    }
    if let Some(path) = &raw.cluster_key_file {
        node.cluster_key_file = fields::absolute_path(diag, path, "node.cluster_key_file");
    }
    if let Some(addr) = &raw.ospf_api {
        if let Some(addr) = fields::socket_address(diag, addr, "node.ospf_api") {
            node.ospf_api = addr;
        }
    }
    if let Some(addr) = &raw.web_listen {
        node.web_listen = fields::socket_address(diag, addr, "node.web_listen");
    }
    if let Some(addr) = &raw.metrics_listen {
        node.metrics_listen = fields::socket_address(diag, addr, "node.metrics_listen")
            .filter(|a| {
                // Plain HTTP without authentication: never off the host.
                let loopback = a.ip().is_loopback();
                if !loopback {
                    diag.error(
                        addr.span(),
                        "node.metrics_listen",
                        format!("{a} is not a loopback address: the metrics listener has no TLS and no authentication, so it binds to 127.0.0.1 or [::1] only (scrape other nodes through the HTTPS API)"),
                    );
                }
                loopback
            });
    }
    if let Some(path) = &raw.vty_socket_dir {
        node.vty_socket_dir = fields::absolute_path(diag, path, "node.vty_socket_dir");
    }
    // No grace at all is a valid (if impatient) choice; the other two drive
    // retries and must advance.
    if let Some(d) = &raw.delete_grace {
        if let Some(d) = fields::duration(diag, d, "node.delete_grace") {
            node.delete_grace = d;
        }
    }
    if let Some(d) = &raw.echo_timeout {
        if let Some(d) = fields::positive_duration(diag, d, "node.echo_timeout") {
            node.echo_timeout = d;
        }
    }
    if let Some(d) = &raw.recall_interval {
        if let Some(d) = fields::positive_duration(diag, d, "node.recall_interval") {
            node.recall_interval = d;
        }
    }
    if let Some(d) = &raw.handoff_timeout {
        if let Some(d) = fields::positive_duration(diag, d, "node.handoff_timeout") {
            node.handoff_timeout = d;
        }
    }
    if let Some(d) = &raw.check_refresh {
        if let Some(d) = fields::positive_duration(diag, d, "node.check_refresh") {
            node.check_refresh = d;
        }
    }
    if let Some(d) = &raw.startup_hold {
        if let Some(d) = fields::duration(diag, d, "node.startup_hold") {
            node.startup_hold = d;
        }
    }
    if let Some(d) = &raw.restart_grace {
        if let Some(d) = fields::duration(diag, d, "node.restart_grace") {
            node.restart_grace = d;
        }
    }
    node.keep_services_on_stop = raw
        .keep_services_on_stop
        .as_ref()
        .is_some_and(|k| *k.get_ref());
    node
}

/// The host name, the default node name; "srrd" if it cannot be read or
/// would not be a valid node name.
pub(super) fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| node_name_problem(name).is_none())
        .unwrap_or_else(|| String::from("srrd"))
}

/// The node name is for humans (web UI, logs), so it is looser than a
/// service name: any printable text without blanks.
fn node_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("node name is empty".to_string())
    } else if name.len() > MAX_NAME_LEN {
        Some(format!(
            "node name is {} bytes long, at most {MAX_NAME_LEN} allowed",
            name.len()
        ))
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some(format!(
            "node name \"{}\" must not contain blanks or control characters",
            name.escape_debug()
        ))
    } else {
        None
    }
}

fn interface_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("interface name is empty".to_string())
    } else if name.len() > MAX_INTERFACE_NAME_LEN {
        Some(format!(
            "interface name is {} bytes long, Linux allows at most {MAX_INTERFACE_NAME_LEN}",
            name.len()
        ))
    } else if name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some(format!(
            "invalid interface name \"{}\"",
            name.escape_debug()
        ))
    } else {
        None
    }
}
