//! Fault steps and their repairs, one function each, over netns.rs's `Lab`.
//! They are kept apart from the measuring so the lab runner's scenarios
//! (`lab/src/scenario.rs`, branch labrun, not there yet when this was
//! written) can take them over, or the bench can switch to theirs.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use crate::netns::Lab;

/// The node dies: every process in it SIGKILLed at once, then its links go
/// down (the notes' crash case: kill first, link a moment later).
pub fn crash_node(lab: &Lab, node: &str) {
    lab.kill_node(node);
}

/// A crashed node boots again: the addresses a reboot would not bring back
/// (service VIPs on `dev`) are removed, its links come up and FRR starts.
/// Nothing of srrd or keepalived is started here.
pub fn reboot_node(lab: &Lab, node: &str, vips: &[(Ipv4Addr, u8, &str)], with_frr: bool) {
    for (vip, len, dev) in vips {
        let shown = lab.ip(node, &format!("-4 addr show dev {dev}"));
        if shown.contains(&format!("{vip}/{len}")) {
            lab.ip(node, &format!("addr del {vip}/{len} dev {dev}"));
        }
    }
    lab.link_up(node);
    if with_frr {
        lab.start_frr(node);
    }
}

/// SIGKILL ospfd alone (zebra, srrd and the service stay).
pub fn crash_ospfd(lab: &Lab, node: &str) {
    lab.kill_ospfd(node);
}

/// ospfd comes back (zebra kept running).
pub fn restart_ospfd(lab: &Lab, node: &str) {
    lab.start_frr(node);
}

/// Every link of `node` down (lo stays): the node is cut off, alive.
pub fn cut_links(lab: &Lab, node: &str) {
    lab.link_down(node);
}

pub fn heal_links(lab: &Lab, node: &str) {
    lab.link_up(node);
}

/// Links down for `down`, then up again.
pub fn flap_links(lab: &Lab, node: &str, down: Duration) {
    lab.link_down(node);
    thread::sleep(down);
    lab.link_up(node);
}

/// The flag file that makes the bench's HTTP server for `service` on
/// `node` answer 503 (the server and the check primitive both look at it).
pub fn broken_flag(lab: &Lab, node: &str, service: &str) -> PathBuf {
    lab.node_dir(node)
        .join("state")
        .join("services")
        .join(service)
        .join("broken")
}

/// The service starts failing: its server answers 503, so clients get
/// errors at once and the next check primitive fails.
pub fn break_service(flag: &Path) {
    std::fs::write(flag, "broken by srrd-bench\n")
        .unwrap_or_else(|e| panic!("{}: {e}", flag.display()));
}

pub fn repair_service(flag: &Path) {
    let _ = std::fs::remove_file(flag);
}
