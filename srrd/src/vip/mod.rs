//! The VIP manager (southbound): puts a service's virtual IP on a local
//! interface as a host address (/32, IPv6 /128) so OSPF advertises it as a
//! host route (docs/vip.md), and takes it off again.
//!
//! Addresses are added with preferred lifetime 0, i.e. "deprecated": IPv6
//! source selection then avoids them (RFC 6724 rule 3); and with a valid
//! lifetime of `LEASE` that the daemon keeps renewing (`refresh`), so the
//! kernel removes the VIPs of a dead srrd by itself. docs/vip.md explains
//! both, and the reconcile rule.

mod error;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, CacheInfo,
};
use rtnetlink::packet_route::route::{
    RouteAttribute, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::{AddressMessageBuilder, Handle, RouteMessageBuilder};

use error::describe;
pub use error::{VipError, VipOp};

/// The valid lifetime of a VIP: unless renewed, the kernel deletes it
/// this long (plus up to 0.25 s of timer rounding) after the last renewal.
pub const LEASE: Duration = Duration::from_secs(2);

/// The routing protocol number of srrd's local routes, so `local_routes`
/// finds them among the kernel's (`ip route show table local proto 211`).
pub const LOCAL_ROUTE_PROTOCOL: u8 = 211;
/// The kernel's local routing table.
const LOCAL_TABLE: u32 = 255;
/// Below the address's own local route (metric 0), so both can coexist.
const LOCAL_ROUTE_METRIC: u32 = 1024;

/// What `refresh` did.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Addresses that were gone from the interface and were added again.
    pub restored: Vec<IpAddr>,
    /// One error per address that could not be renewed or restored.
    pub errors: Vec<VipError>,
}

/// A netlink connection bound to one interface, resolved once at `new`.
///
/// The interface index is not re-resolved: if the interface is deleted and
/// re-created, every call fails with "No such device" and the daemon must
/// build a new manager. `lo` never goes away.
pub struct VipManager {
    handle: Handle,
    interface: String,
    index: u32,
}

impl VipManager {
    /// Opens a netlink connection (spawned on the current tokio runtime) and
    /// resolves the interface.
    pub async fn new(interface: &str) -> Result<VipManager, VipError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| VipError::NoRuntime {
            interface: interface.to_string(),
        })?;
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|source| VipError::Connect {
                interface: interface.to_string(),
                source,
            })?;
        runtime.spawn(connection);
        let index = resolve_index(&handle, interface).await?;
        tracing::debug!(interface, index, "VIP manager ready");
        Ok(VipManager {
            handle,
            interface: interface.to_string(),
            index,
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Adds `addr` as /32 (v4) or /128 (v6) with preferred lifetime 0 and
    /// valid lifetime `LEASE`. Idempotent: if the host address is already
    /// there it is Ok, and its lifetimes are reset to ours (so a VIP left
    /// behind by `ip addr add` without `preferred_lft 0` gets deprecated).
    /// An IPv6 address already on the interface with another prefix length
    /// is an operator's address, not a VIP: left alone, reported as an error.
    pub async fn add(&self, addr: IpAddr) -> Result<(), VipError> {
        match self.send_add(addr, false).await {
            Ok(()) => {
                tracing::info!(interface = %self.interface, addr = %addr, "VIP added");
                Ok(())
            }
            Err(err) if err.errno() == Some(libc::EEXIST) => self.refresh_existing(addr).await,
            Err(err) => Err(err),
        }
    }

    /// Removes the host-prefix address; idempotent: absent = Ok. The same
    /// address with another prefix length is not touched.
    pub async fn remove(&self, addr: IpAddr) -> Result<(), VipError> {
        let message = host_address_message(self.index, addr);
        match self.handle.address().del(message).execute().await {
            Ok(()) => {
                tracing::info!(interface = %self.interface, addr = %addr, "VIP removed");
                Ok(())
            }
            // IPv4 and IPv6 both answer EADDRNOTAVAIL for "no such address".
            Err(err) => match describe(err) {
                (Some(libc::EADDRNOTAVAIL), _) => {
                    tracing::debug!(interface = %self.interface, addr = %addr, "VIP already absent");
                    Ok(())
                }
                (errno, reason) => Err(self.address_error(VipOp::Remove, addr, errno, reason)),
            },
        }
    }

    /// Renews the lease of every address in `owned` and adds back those
    /// that are gone (expired, or removed by hand). Goes on past a failing
    /// address, so one bad address does not let the others expire. One
    /// dump of the interface, then one request per address.
    pub async fn refresh(&self, owned: &BTreeSet<IpAddr>) -> Result<Refreshed, VipError> {
        let present = self.addresses().await?;
        let mut done = Refreshed::default();
        for &addr in owned {
            let other_prefix = present
                .iter()
                .find(|&&(a, prefix_len)| a == addr && prefix_len != host_prefix_len(addr))
                .map(|&(_, prefix_len)| prefix_len);
            let result = if present.contains(&(addr, host_prefix_len(addr))) {
                self.send_add(addr, true).await
            } else if let (true, Some(prefix_len)) = (addr.is_ipv6(), other_prefix) {
                Err(self.not_a_host_address(addr, prefix_len))
            } else {
                let added = self.send_add(addr, false).await;
                if added.is_ok() {
                    done.restored.push(addr);
                }
                added
            };
            if let Err(err) = result {
                done.errors.push(err);
            }
        }
        Ok(done)
    }

    /// Host-prefix (/32, /128) addresses currently on the interface, in the
    /// kernel's order. On `lo` this includes `::1`, which is a /128 too:
    /// callers that act on the list must filter by what they manage
    /// (`reconcile` does).
    pub async fn list(&self) -> Result<Vec<IpAddr>, VipError> {
        let addresses = self.addresses().await?;
        Ok(addresses
            .into_iter()
            .filter(|&(addr, prefix_len)| prefix_len == host_prefix_len(addr))
            .map(|(addr, _)| addr)
            .collect())
    }

    /// Removes every address in `managed` that is present but not in
    /// `wanted`; returns what it removed. Never touches addresses outside
    /// `managed` (e.g. 127.0.0.1/8, ::1). Stops at the first failure; what
    /// was removed before it is logged.
    pub async fn reconcile(
        &self,
        managed: &BTreeSet<IpAddr>,
        wanted: &BTreeSet<IpAddr>,
    ) -> Result<Vec<IpAddr>, VipError> {
        let present = self.list().await?;
        let stale = stale_vips(managed, wanted, &present);
        for &addr in &stale {
            tracing::info!(interface = %self.interface, addr = %addr, "removing stale VIP");
            self.remove(addr).await?;
        }
        Ok(stale)
    }

    async fn send_add(&self, addr: IpAddr, replace: bool) -> Result<(), VipError> {
        let mut request = self
            .handle
            .address()
            .add(self.index, addr, host_prefix_len(addr));
        vip_attributes(request.message_mut(), addr);
        if replace {
            request = request.replace();
        }
        request.execute().await.map_err(|err| {
            let (errno, reason) = describe(err);
            self.address_error(VipOp::Add, addr, errno, reason)
        })
    }

    /// The kernel said EEXIST. For IPv4 that means the same /32 is there
    /// (another mask would be a separate address); for IPv6 the address may
    /// be there with any prefix length, so look before replacing.
    async fn refresh_existing(&self, addr: IpAddr) -> Result<(), VipError> {
        let existing = self
            .addresses()
            .await?
            .into_iter()
            .find(|&(present, _)| present == addr);
        match existing {
            Some((_, prefix_len)) if prefix_len != host_prefix_len(addr) => {
                Err(self.not_a_host_address(addr, prefix_len))
            }
            // Absent again (removed meanwhile) or a host address: REPLACE
            // creates it or resets its lifetimes to ours.
            _ => {
                self.send_add(addr, true).await?;
                tracing::debug!(interface = %self.interface, addr = %addr, "VIP already present");
                Ok(())
            }
        }
    }

    /// An IPv6 address the operator configured with another prefix length.
    fn not_a_host_address(&self, addr: IpAddr, prefix_len: u8) -> VipError {
        self.address_error(
            VipOp::Add,
            addr,
            Some(libc::EEXIST),
            format!("already configured as /{prefix_len}, not as a host address; left alone"),
        )
    }

    /// Adds a `local` route for `addr` on the interface: the kernel takes
    /// its packets as local (a service may bind to it) while no address
    /// makes ospfd advertise it. Idempotent.
    pub async fn add_local(&self, addr: IpAddr) -> Result<(), VipError> {
        self.change_local(VipOp::AddLocal, addr).await
    }

    /// Removes `addr`'s local route; absent = Ok.
    pub async fn remove_local(&self, addr: IpAddr) -> Result<(), VipError> {
        self.change_local(VipOp::RemoveLocal, addr).await
    }

    async fn change_local(&self, op: VipOp, addr: IpAddr) -> Result<(), VipError> {
        let route = self.local_route(addr);
        let (result, done, unchanged) = if op == VipOp::AddLocal {
            let r = self.handle.route().add(route).execute().await;
            (r, "VIP local route added", libc::EEXIST)
        } else {
            let r = self.handle.route().del(route).execute().await;
            (r, "VIP local route removed", libc::ESRCH)
        };
        match result {
            Ok(()) => {
                tracing::info!(interface = %self.interface, addr = %addr, "{done}");
                Ok(())
            }
            Err(err) => match describe(err) {
                (Some(errno), _) if errno == unchanged => Ok(()),
                (errno, reason) => Err(self.address_error(op, addr, errno, reason)),
            },
        }
    }

    /// The destinations of srrd's local routes on the interface.
    pub async fn local_routes(&self) -> Result<Vec<IpAddr>, VipError> {
        let mut found = Vec::new();
        for all in [
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        ] {
            let messages: Vec<RouteMessage> = self
                .handle
                .route()
                .get(all)
                .execute()
                .try_collect()
                .await
                .map_err(|err| self.list_error(err))?;
            found.extend(messages.iter().filter_map(|m| self.own_local_route(m)));
        }
        Ok(found)
    }

    /// Removes srrd's local routes for the addresses in `managed` that are
    /// not in `wanted`; returns their addresses.
    pub async fn reconcile_local(
        &self,
        managed: &BTreeSet<IpAddr>,
        wanted: &BTreeSet<IpAddr>,
    ) -> Result<Vec<IpAddr>, VipError> {
        let present = self.local_routes().await?;
        let stale = stale_vips(managed, wanted, &present);
        for &addr in &stale {
            self.remove_local(addr).await?;
        }
        Ok(stale)
    }

    /// Removes every address in `managed` but those in `kept`, and srrd's
    /// local routes for them (an srrd that ends, or the cleanup of an
    /// earlier run); returns the addresses it removed.
    pub async fn remove_all_but(
        &self,
        managed: &BTreeSet<IpAddr>,
        kept: &BTreeSet<IpAddr>,
    ) -> Result<Vec<IpAddr>, VipError> {
        let removed = self.reconcile(managed, kept).await?;
        self.reconcile_local(managed, kept).await?;
        Ok(removed)
    }

    fn local_route(&self, addr: IpAddr) -> RouteMessage {
        let builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix(addr, host_prefix_len(addr))
            .expect("a host prefix is valid");
        builder
            .output_interface(self.index)
            .table_id(LOCAL_TABLE)
            .kind(RouteType::Local)
            .scope(RouteScope::Host)
            .protocol(RouteProtocol::Other(LOCAL_ROUTE_PROTOCOL))
            .priority(LOCAL_ROUTE_METRIC)
            .build()
    }

    /// The destination of `m` if it is one of srrd's local routes here.
    fn own_local_route(&self, m: &RouteMessage) -> Option<IpAddr> {
        let ours = m.header.kind == RouteType::Local
            && m.header.protocol == RouteProtocol::Other(LOCAL_ROUTE_PROTOCOL);
        let here = m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Oif(i) if *i == self.index));
        if !ours || !here {
            return None;
        }
        m.attributes.iter().find_map(|a| match a {
            RouteAttribute::Destination(d) => route_address(d),
            _ => None,
        })
    }

    /// Every (address, prefix length) on the interface.
    async fn addresses(&self) -> Result<Vec<(IpAddr, u8)>, VipError> {
        let messages: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(self.index)
            .execute()
            .try_collect()
            .await
            .map_err(|err| self.list_error(err))?;
        Ok(messages
            .iter()
            .filter_map(|message| Some((local_address(message)?, message.header.prefix_len)))
            .collect())
    }

    fn list_error(&self, err: rtnetlink::Error) -> VipError {
        let (errno, reason) = describe(err);
        VipError::List {
            interface: self.interface.clone(),
            errno,
            reason,
        }
    }

    fn address_error(
        &self,
        op: VipOp,
        addr: IpAddr,
        errno: Option<i32>,
        reason: String,
    ) -> VipError {
        tracing::warn!(interface = %self.interface, addr = %addr, %op, %reason, "VIP change failed");
        VipError::Address {
            op,
            interface: self.interface.clone(),
            addr,
            prefix_len: host_prefix_len(addr),
            errno,
            reason,
        }
    }
}

async fn resolve_index(handle: &Handle, interface: &str) -> Result<u32, VipError> {
    let found = handle
        .link()
        .get()
        .match_name(interface)
        .execute()
        .try_next()
        .await;
    match found {
        Ok(Some(link)) => Ok(link.header.index),
        Ok(None) => Err(VipError::NoSuchInterface {
            interface: interface.to_string(),
        }),
        Err(err) => match describe(err) {
            (Some(libc::ENODEV), _) => Err(VipError::NoSuchInterface {
                interface: interface.to_string(),
            }),
            (errno, reason) => Err(VipError::Lookup {
                interface: interface.to_string(),
                errno,
                reason,
            }),
        },
    }
}

fn route_address(d: &rtnetlink::packet_route::route::RouteAddress) -> Option<IpAddr> {
    use rtnetlink::packet_route::route::RouteAddress;
    match d {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// 32 for IPv4, 128 for IPv6: a VIP is a host route.
pub fn host_prefix_len(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

/// Managed addresses that are present but no longer wanted, in `present`
/// order, each once.
fn stale_vips(
    managed: &BTreeSet<IpAddr>,
    wanted: &BTreeSet<IpAddr>,
    present: &[IpAddr],
) -> Vec<IpAddr> {
    let mut stale: Vec<IpAddr> = Vec::new();
    for addr in present {
        if managed.contains(addr) && !wanted.contains(addr) && !stale.contains(addr) {
            stale.push(*addr);
        }
    }
    stale
}

/// Lifetimes and flags of a VIP on top of what rtnetlink's builder sets.
///
/// Preferred 0 makes the kernel flag the address deprecated (IPv4 and
/// IPv6); the finite valid lifetime makes the kernel delete it unless
/// `refresh` renews it.
/// IPv6 gets IFA_F_NODAD: on `lo` the kernel skips duplicate address
/// detection anyway (IFF_LOOPBACK), but on any other `vip_interface` DAD
/// would hold the VIP "tentative" (unusable) for about a second after every
/// failover, and a DAD failure would leave it dead; a VIP is expected to
/// move between nodes, so DAD is the wrong tool. Neither flag is needed to
/// avoid EINVAL: a /128 with preferred 0 on `lo` is accepted as is.
fn vip_attributes(message: &mut AddressMessage, addr: IpAddr) {
    let mut lifetimes = CacheInfo::default();
    lifetimes.ifa_preferred = 0;
    lifetimes.ifa_valid = LEASE.as_secs() as u32;
    message
        .attributes
        .push(AddressAttribute::CacheInfo(lifetimes));
    if addr.is_ipv6() {
        message.header.flags = AddressHeaderFlags::Nodad;
        message
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
}

/// The message naming `addr`/host-prefix on the interface, for RTM_DELADDR.
fn host_address_message(index: u32, addr: IpAddr) -> AddressMessage {
    let prefix_len = host_prefix_len(addr);
    match addr {
        IpAddr::V4(v4) => AddressMessageBuilder::<std::net::Ipv4Addr>::new()
            .index(index)
            .address(v4, prefix_len)
            .build(),
        IpAddr::V6(v6) => AddressMessageBuilder::<std::net::Ipv6Addr>::new()
            .index(index)
            .address(v6, prefix_len)
            .build(),
    }
}

/// The interface's own address in an RTM_NEWADDR message: IFA_LOCAL when
/// present (on point-to-point links IFA_ADDRESS is the peer), else
/// IFA_ADDRESS (IPv6 usually sends only that).
fn local_address(message: &AddressMessage) -> Option<IpAddr> {
    let mut address = None;
    for attribute in &message.attributes {
        match attribute {
            AddressAttribute::Local(local) => return Some(*local),
            AddressAttribute::Address(addr) => address = Some(*addr),
            _ => {}
        }
    }
    address
}
