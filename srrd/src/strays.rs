//! Stray packets of a make-before-break handover (docs/vip.md, "Stray
//! packets"). While a node takes a `handover = "overlap"` service over,
//! the routers move the client flows of the service's addresses to it, and
//! with them the packets of connections the previous holder accepted:
//! this node has no socket for them and would answer each with a reset.
//! Instead, an nftables rule sends every TCP segment for those addresses
//! that is not a SYN and belongs to no connection this node's conntrack
//! saw (state INVALID, with `nf_conntrack_tcp_loose` 0) through a VXLAN
//! device to the previous holder, whose router id is its tunnel address,
//! and drops the original. The previous holder keeps its addresses local
//! while it drains, so its kernel delivers them to the old connections.
//! IPv4 only.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tracing::{info, warn};

use crate::model::RouterId;

/// The VXLAN device every node with overlap services has.
pub const DEVICE: &str = "srrd-strays";
/// The nftables table (family `ip`) with the forwarding rules.
pub const TABLE: &str = "srrd_strays";
const VNI: &str = "5352";
/// The IANA VXLAN port: the nodes' firewalls must let UDP 4789 in from
/// their peers.
const PORT: &str = "4789";
const SYSCTL_CONNTRACK: &str = "/proc/sys/net/netfilter";

#[derive(Debug, thiserror::Error)]
#[error("{command}: {reason}")]
pub struct StrayError {
    command: String,
    reason: String,
}

/// This node's forwarding of stray packets: the device, the table and, per
/// service, its addresses and the node they go to.
pub struct Strays {
    me: RouterId,
    ready: bool,
    routes: BTreeMap<String, (Vec<Ipv4Addr>, RouterId)>,
}

impl Strays {
    pub fn new(me: RouterId) -> Strays {
        Strays {
            me,
            ready: false,
            routes: BTreeMap::new(),
        }
    }

    /// Creates the device (to receive from a successor) and the table (so
    /// conntrack knows this node's connections from their SYN on), once;
    /// a failed attempt leaves nothing behind for the next. What an earlier
    /// run left, `srrd run`'s cleanup removed (`remove_leftovers`).
    pub async fn prepare(&mut self) -> Result<(), StrayError> {
        if self.ready {
            return Ok(());
        }
        let prepared = self.set_up().await;
        if prepared.is_err() {
            self.ready = false;
            remove_leftovers().await;
        }
        prepared
    }

    async fn set_up(&mut self) -> Result<(), StrayError> {
        let mac = tunnel_mac(self.me);
        command("ip", &["link", "add", DEVICE, "type", "vxlan", "id", VNI])
            .args(&["dstport", PORT, "nolearning"])
            .done()
            .await?;
        command("ip", &["link", "set", "dev", DEVICE, "address", &mac])
            .args(&["mtu", "1500", "up"])
            .done()
            .await?;
        // The device has no address: reverse path filtering would drop
        // every packet it brings (docs/vip.md, "Stray packets").
        write_sysctl(&format!("/proc/sys/net/ipv4/conf/{DEVICE}/rp_filter"), "0").await?;
        self.ready = true;
        self.write_rules().await?;
        write_sysctl(&format!("{SYSCTL_CONNTRACK}/nf_conntrack_tcp_loose"), "0").await?;
        write_sysctl(
            &format!("{SYSCTL_CONNTRACK}/nf_conntrack_tcp_be_liberal"),
            "1",
        )
        .await?;
        if let Ok(all) = tokio::fs::read_to_string("/proc/sys/net/ipv4/conf/all/rp_filter").await {
            if all.trim() != "0" {
                warn!(
                    rp_filter = all.trim(),
                    "net.ipv4.conf.all.rp_filter is not 0: this node drops the stray packets a successor forwards to it"
                );
            }
        }
        info!(
            device = DEVICE,
            table = TABLE,
            "ready to forward stray packets of overlap handovers"
        );
        Ok(())
    }

    /// `service`'s stray packets for `addresses` go to `to` from now on,
    /// or nowhere (None).
    pub async fn forward(
        &mut self,
        service: &str,
        addresses: &[IpAddr],
        to: Option<RouterId>,
    ) -> Result<(), StrayError> {
        self.prepare().await?;
        let v4: Vec<Ipv4Addr> = addresses
            .iter()
            .filter_map(|a| match a {
                IpAddr::V4(a) => Some(*a),
                IpAddr::V6(_) => None,
            })
            .collect();
        let before = self.routes.remove(service);
        if let Some((old, _)) = &before {
            for addr in old {
                // Absent already is fine: it is going anyway.
                let _ = command("ip", &["neigh", "del", &addr.to_string(), "dev", DEVICE])
                    .done()
                    .await;
            }
        }
        if let Some(to) = to {
            let (peer, mac) = (Ipv4Addr::from(to.0).to_string(), tunnel_mac(to));
            command(
                "bridge",
                &["fdb", "replace", &mac, "dev", DEVICE, "dst", &peer],
            )
            .done()
            .await?;
            for addr in &v4 {
                command(
                    "ip",
                    &["neigh", "replace", &addr.to_string(), "lladdr", &mac],
                )
                .args(&["dev", DEVICE, "nud", "permanent"])
                .done()
                .await?;
            }
            self.routes.insert(service.to_string(), (v4, to));
        }
        self.write_rules().await
    }

    /// Replaces the rules with one per forwarded address, in one
    /// transaction; the jump that asks conntrack stays.
    async fn write_rules(&self) -> Result<(), StrayError> {
        let mut script = format!(
            "add table ip {TABLE}\n\
             add chain ip {TABLE} prerouting {{ type filter hook prerouting priority mangle; policy accept; }}\n\
             add chain ip {TABLE} strays\n\
             flush chain ip {TABLE} prerouting\n\
             flush chain ip {TABLE} strays\n\
             add rule ip {TABLE} prerouting iifname != \"{DEVICE}\" tcp flags & syn == 0 ct state invalid jump strays\n"
        );
        for (addresses, to) in self.routes.values() {
            for addr in addresses {
                let to = Ipv4Addr::from(to.0);
                script.push_str(&format!(
                    "add rule ip {TABLE} strays ip daddr {addr} counter dup to {to} device \"{DEVICE}\" drop\n"
                ));
            }
        }
        command("nft", &["-f", "-"]).stdin(script).done().await
    }

    /// Removes the device and the table (srrd stops).
    pub async fn remove(&mut self) {
        if std::mem::take(&mut self.ready) {
            remove_leftovers().await;
        }
        self.routes.clear();
    }
}

/// Removes what a run left (an srrd that crashed, `srrd cleanup`); what is
/// absent is fine. Whether anything was there.
pub async fn remove_leftovers() -> bool {
    let table = command("nft", &["delete", "table", "ip", TABLE])
        .done()
        .await
        .is_ok();
    let device = command("ip", &["link", "del", DEVICE]).done().await.is_ok();
    table || device
}

/// The device's MAC address: locally administered, the router id in its
/// last four bytes, so a successor knows its predecessor's without asking.
fn tunnel_mac(router: RouterId) -> String {
    let [a, b, c, d] = router.0.to_be_bytes();
    format!("02:53:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
}

/// Sets a sysctl unless it has the value already (set by the operator,
/// srrd writes nothing: a read-only /proc/sys is then fine).
async fn write_sysctl(path: &str, value: &str) -> Result<(), StrayError> {
    if tokio::fs::read_to_string(path)
        .await
        .is_ok_and(|v| v.trim() == value)
    {
        return Ok(());
    }
    tokio::fs::write(path, value).await.map_err(|e| StrayError {
        command: format!("write {value} to {path}"),
        reason: e.to_string(),
    })
}

fn command(program: &str, args: &[&str]) -> Invocation {
    Invocation {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        stdin: None,
    }
}

/// A command of iproute2 or nftables; `done` runs it to its end.
struct Invocation {
    program: String,
    args: Vec<String>,
    stdin: Option<String>,
}

impl Invocation {
    fn args(mut self, more: &[&str]) -> Invocation {
        self.args.extend(more.iter().map(|a| a.to_string()));
        self
    }

    fn stdin(mut self, text: String) -> Invocation {
        self.stdin = Some(text);
        self
    }

    async fn done(self) -> Result<(), StrayError> {
        let command = format!("{} {}", self.program, self.args.join(" "));
        let failed = |reason: String| StrayError {
            command: command.clone(),
            reason,
        };
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| failed(e.to_string()))?;
        if let (Some(text), Some(mut pipe)) = (self.stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if out.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(failed(format!("{} ({})", stderr.trim(), out.status)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_carries_the_router_id() {
        let router: RouterId = "10.255.0.12".parse().unwrap();
        assert_eq!(tunnel_mac(router), "02:53:0a:ff:00:0c");
    }
}
