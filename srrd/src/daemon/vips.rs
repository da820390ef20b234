//! The VIPs the engine put up on this node, and how far each is announced
//! (docs/vip.md, "Make-before-break"). A service with `handover =
//! "overlap"` holds its addresses as local routes (the kernel
//! delivers their packets, nothing advertises them) until its `start`
//! succeeded, and all its addresses while it drains before `stop`; every
//! other VIP is an address on the interface from the engine's AddVip to
//! its RemoveVip.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use tracing::error;

use crate::vip::VipManager;

#[derive(Default)]
pub(super) struct HeldVips {
    /// On the interface: ospfd advertises them, `refresh` renews them.
    pub announced: BTreeSet<IpAddr>,
    /// Held by a local route only.
    pub local: BTreeSet<IpAddr>,
    /// Service → its addresses that its `start` succeeding announces.
    waiting: BTreeMap<String, Vec<IpAddr>>,
}

impl HeldVips {
    /// Every address this node holds, announced or not.
    pub fn all(&self) -> BTreeSet<IpAddr> {
        self.announced.union(&self.local).copied().collect()
    }

    /// The engine's AddVip: announced at once, or (`overlap`, whose
    /// addresses are IPv4: docs/configuration.md) held locally until
    /// `started(service)`.
    pub async fn add(&mut self, vips: &VipManager, service: &str, addr: IpAddr, overlap: bool) {
        if overlap {
            self.local.insert(addr);
            self.waiting
                .entry(service.to_string())
                .or_default()
                .push(addr);
            if let Err(e) = vips.add_local(addr).await {
                error!(%service, error = %e, "cannot hold VIP");
            }
        } else {
            self.announce(vips, service, addr).await;
        }
    }

    /// `service`'s `start` succeeded: announces the addresses it waited for.
    pub async fn started(&mut self, vips: &VipManager, service: &str) {
        for addr in self.waiting.remove(service).unwrap_or_default() {
            self.announce(vips, service, addr).await;
        }
    }

    /// Before `stop` of an overlap service: withdraws its announced
    /// `addresses` from routing but keeps them local, so the node still
    /// answers while the routers move traffic away. Whether any was
    /// announced (then `stop` waits for the drain).
    pub async fn withdraw(
        &mut self,
        vips: &VipManager,
        service: &str,
        addresses: &[IpAddr],
    ) -> bool {
        let mut any = false;
        for &addr in addresses {
            if !self.announced.remove(&addr) {
                continue;
            }
            any = true;
            self.local.insert(addr);
            if let Err(e) = vips.add_local(addr).await {
                error!(%service, error = %e, "cannot hold VIP");
            }
            if let Err(e) = vips.remove(addr).await {
                error!(%service, error = %e, "cannot withdraw VIP");
            }
        }
        any
    }

    /// The engine's RemoveVip: the address and its local route go.
    pub async fn remove(&mut self, vips: &VipManager, service: &str, addr: IpAddr) {
        self.announced.remove(&addr);
        if let Some(waiting) = self.waiting.get_mut(service) {
            waiting.retain(|&a| a != addr);
        }
        if let Err(e) = vips.remove(addr).await {
            error!(%service, error = %e, "cannot remove VIP");
        }
        if self.local.remove(&addr) {
            if let Err(e) = vips.remove_local(addr).await {
                error!(%service, error = %e, "cannot remove VIP local route");
            }
        }
    }

    async fn announce(&mut self, vips: &VipManager, service: &str, addr: IpAddr) {
        self.announced.insert(addr);
        if let Err(e) = vips.add(addr).await {
            error!(%service, error = %e, "cannot add VIP");
        }
    }
}
