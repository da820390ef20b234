//! The VIP manager (and `srrd cleanup`, which removes VIPs) against the
//! real kernel. Every test runs in a private
//! network namespace that only its own OS thread lives in, so the host's
//! `lo` is never touched; needs root (CI runs these as root).
//!
//! Facts these tests rely on, each asserted where it is used:
//! - `unshare(CLONE_NEWNET)` moves only the calling thread (Linux keeps
//!   namespaces per task); the rest of the test process stays put.
//! - Sockets belong to the namespace of the thread that opens them, so a
//!   current-thread tokio runtime built on that thread talks netlink to the
//!   private namespace; threads it spawns inherit the namespace.
//! - Capabilities are per thread too, which gives a real kernel EPERM
//!   without disturbing the other tests.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, CacheInfo};
use rtnetlink::packet_route::link::LinkAttribute;
use rtnetlink::{Handle, LinkUnspec};
use srrd::vip::{VipError, VipManager, LEASE};

// ---------------------------------------------------------------------------
// Namespace harness: the one place these tests enter a namespace.

/// Runs `body` on a new OS thread that first moves itself into a fresh
/// network namespace and brings its `lo` up, on a current-thread tokio
/// runtime owned by that thread. The namespace dies with the thread.
fn in_private_netns<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    require_root();
    let worker = thread::Builder::new()
        .name("vip-netns".to_string())
        .spawn(move || {
            let process_ns = netns_of("/proc/self/ns/net");
            let thread_ns_before = netns_of("/proc/thread-self/ns/net");
            // SAFETY: plain syscall without pointers; it changes only this
            // thread's namespace, which the assertions below check.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                panic!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error());
            }
            let thread_ns = netns_of("/proc/thread-self/ns/net");
            assert_ne!(
                thread_ns, thread_ns_before,
                "unshare did not move this thread"
            );
            assert_eq!(
                netns_of("/proc/self/ns/net"),
                process_ns,
                "unshare moved the whole process, not just this thread"
            );
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a current-thread tokio runtime");
            runtime.block_on(async move {
                bring_lo_up().await;
                body().await;
            });
        })
        .expect("spawn the namespace thread");
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        panic!(
            "tests/vip_netns.rs needs root (CAP_SYS_ADMIN to unshare a network namespace, \
             CAP_NET_ADMIN to change addresses) but runs as euid {euid}; CI runs it as root, \
             locally use `sudo -E cargo test -p srrd --test vip_netns`"
        );
    }
}

/// The namespace a /proc ns link points at, e.g. "net:[4026531840]".
fn netns_of(path: &str) -> String {
    std::fs::read_link(path)
        .unwrap_or_else(|err| panic!("readlink {path}: {err}"))
        .to_string_lossy()
        .into_owned()
}

/// A netlink handle for this thread's namespace, for looking behind the
/// manager's back.
fn raw_netlink() -> Handle {
    let (connection, handle, _) = rtnetlink::new_connection().expect("open netlink socket");
    tokio::spawn(connection);
    handle
}

async fn bring_lo_up() {
    let handle = raw_netlink();
    let index = link_index(&handle, "lo").await;
    handle
        .link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .expect("set lo up in the private namespace");
}

async fn link_index(handle: &Handle, name: &str) -> u32 {
    handle
        .link()
        .get()
        .match_name(name)
        .execute()
        .try_next()
        .await
        .expect("look up link")
        .unwrap_or_else(|| panic!("no link {name}"))
        .header
        .index
}

async fn link_names(handle: &Handle) -> Vec<String> {
    let links: Vec<_> = handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .expect("dump links");
    links
        .iter()
        .filter_map(|link| {
            link.attributes
                .iter()
                .find_map(|attribute| match attribute {
                    LinkAttribute::IfName(name) => Some(name.clone()),
                    _ => None,
                })
        })
        .collect()
}

/// Every address message on `lo` as the kernel reports it.
async fn lo_entries(handle: &Handle) -> Vec<AddressMessage> {
    let index = link_index(handle, "lo").await;
    handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .try_collect()
        .await
        .expect("dump addresses")
}

/// The kernel's entry for `addr` on `lo` (any prefix length).
async fn lo_entry(handle: &Handle, addr: IpAddr) -> Option<AddressMessage> {
    lo_entries(handle)
        .await
        .into_iter()
        .find(|entry| entry_address(entry) == Some(addr))
}

fn entry_address(entry: &AddressMessage) -> Option<IpAddr> {
    entry
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Local(addr) => Some(*addr),
            _ => None,
        })
        .or_else(|| {
            entry
                .attributes
                .iter()
                .find_map(|attribute| match attribute {
                    AddressAttribute::Address(addr) => Some(*addr),
                    _ => None,
                })
        })
}

fn entry_flags(entry: &AddressMessage) -> AddressFlags {
    entry
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Flags(flags) => Some(*flags),
            _ => None,
        })
        .expect("kernel sends IFA_FLAGS")
}

fn entry_lifetimes(entry: &AddressMessage) -> CacheInfo {
    entry
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::CacheInfo(info) => Some(*info),
            _ => None,
        })
        .expect("kernel sends IFA_CACHEINFO")
}

/// (address, prefix length) of everything on the root namespace's `lo`,
/// read (never changed) from a fresh thread of the test process, which is
/// still in the root namespace.
fn root_lo_addresses() -> Vec<(IpAddr, u8)> {
    thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let handle = raw_netlink();
            lo_entries(&handle)
                .await
                .iter()
                .filter_map(|entry| Some((entry_address(entry)?, entry.header.prefix_len)))
                .collect()
        })
    })
    .join()
    .expect("root namespace reader")
}

/// An operator's own address on lo: a plain /64 that srrd must leave alone.
async fn add_operator_prefix(handle: &Handle, addr: &str) -> IpAddr {
    let index = link_index(handle, "lo").await;
    let addr = ip(addr);
    handle
        .address()
        .add(index, addr, 64)
        .execute()
        .await
        .expect("plain /64");
    addr
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

fn set(addresses: &[&str]) -> BTreeSet<IpAddr> {
    addresses.iter().map(|a| ip(a)).collect()
}

// ---------------------------------------------------------------------------
// The namespace claims themselves.

#[test]
fn netlink_from_the_unshared_thread_sees_only_the_private_namespace() {
    let root_before = root_lo_addresses();
    let (to_observer, observer_inbox) = mpsc::channel::<()>();
    let (to_body, body_inbox) = mpsc::channel::<Vec<(IpAddr, u8)>>();
    // Spawned from the test thread, so it lives in the root namespace.
    let observer = thread::spawn(move || {
        observer_inbox.recv().expect("body reached its checkpoint");
        to_body.send(root_lo_addresses()).expect("body waits");
    });

    in_private_netns(move || async move {
        let handle = raw_netlink();
        assert_eq!(link_names(&handle).await, vec!["lo".to_string()]);

        let inside = netns_of("/proc/thread-self/ns/net");
        let spawned = thread::spawn(|| netns_of("/proc/thread-self/ns/net"))
            .join()
            .expect("child thread");
        assert_eq!(
            spawned, inside,
            "threads spawned in the namespace stay in it"
        );

        let vips = VipManager::new("lo").await.expect("manager on lo");
        vips.add(ip("192.0.2.1")).await.expect("add v4");
        vips.add(ip("2001:db8::1")).await.expect("add v6");

        // While the VIPs are up here, the root namespace's lo must not
        // show them.
        to_observer.send(()).expect("observer waits");
        let root_now = body_inbox.recv().expect("observer answers");
        for vip in [ip("192.0.2.1"), ip("2001:db8::1")] {
            assert!(
                root_now.iter().all(|&(addr, _)| addr != vip),
                "{vip} leaked into the root namespace: {root_now:?}"
            );
        }
    });
    observer.join().expect("observer");
    assert_eq!(root_lo_addresses(), root_before, "root lo changed");
}

// ---------------------------------------------------------------------------
// The manager.

#[test]
fn add_puts_deprecated_host_addresses_on_lo() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        let v4 = ip("192.0.2.10");
        let v6 = ip("2001:db8::10");
        vips.add(v4).await.expect("add v4");
        vips.add(v6).await.expect("add v6");

        let listed = vips.list().await.expect("list");
        assert!(listed.contains(&v4) && listed.contains(&v6), "{listed:?}");

        let handle = raw_netlink();
        let entry4 = lo_entry(&handle, v4).await.expect("v4 on lo");
        assert_eq!(entry4.header.prefix_len, 32);
        let flags4 = entry_flags(&entry4);
        assert!(flags4.contains(AddressFlags::Deprecated), "{flags4:?}");
        // A finite valid lifetime: not permanent, the kernel expires it.
        assert!(!flags4.contains(AddressFlags::Permanent), "{flags4:?}");
        assert_lease(entry_lifetimes(&entry4));

        let entry6 = lo_entry(&handle, v6).await.expect("v6 on lo");
        assert_eq!(entry6.header.prefix_len, 128);
        let flags6 = entry_flags(&entry6);
        assert!(flags6.contains(AddressFlags::Deprecated), "{flags6:?}");
        assert!(!flags6.contains(AddressFlags::Permanent), "{flags6:?}");
        assert!(flags6.contains(AddressFlags::Nodad), "{flags6:?}");
        assert!(!flags6.contains(AddressFlags::Tentative), "{flags6:?}");
        assert_lease(entry_lifetimes(&entry6));
    });
}

/// Preferred 0, valid at most `LEASE` (the kernel counts it down in
/// whole seconds) and not yet run out.
fn assert_lease(lifetimes: CacheInfo) {
    assert_eq!(lifetimes.ifa_preferred, 0, "{lifetimes:?}");
    let lease = LEASE.as_secs() as u32;
    assert!(
        (1..=lease).contains(&lifetimes.ifa_valid),
        "valid {} s, lease {lease} s",
        lifetimes.ifa_valid
    );
}

/// Waits (polling every 20 ms, up to `limit`) until none of `addrs` is on
/// `lo`; how long that took.
async fn wait_gone(handle: &Handle, addrs: &[IpAddr], limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        let present = lo_entries(handle).await;
        if !present
            .iter()
            .any(|e| entry_address(e).is_some_and(|a| addrs.contains(&a)))
        {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[test]
fn a_renewed_vip_stays_and_an_unrenewed_one_expires_after_the_lease() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        let handle = raw_netlink();
        let owned = set(&["192.0.2.50", "2001:db8::50"]);
        let addrs: Vec<IpAddr> = owned.iter().copied().collect();
        for &vip in &owned {
            vips.add(vip).await.expect("add");
        }
        // Renewed as the daemon does, for longer than the lease: they stay.
        let renewing = Instant::now();
        while renewing.elapsed() < LEASE + Duration::from_secs(1) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let done = vips.refresh(&owned).await.expect("refresh");
            assert!(done.errors.is_empty(), "{:?}", done.errors);
            assert!(
                done.restored.is_empty(),
                "expired while renewed: {:?}",
                done.restored
            );
            for &vip in &owned {
                assert_lease(entry_lifetimes(
                    &lo_entry(&handle, vip).await.expect("on lo"),
                ));
            }
        }
        // No more renewals: the kernel deletes both once the lease is over
        // (its lifetime timer rounds up by at most 0.25 s).
        let early = LEASE - Duration::from_millis(300);
        assert!(
            wait_gone(&handle, &addrs, early).await.is_none(),
            "a VIP vanished before its lease ran out"
        );
        let gone = wait_gone(&handle, &addrs, Duration::from_secs(1))
            .await
            .map(|d| d + early)
            .expect("the VIPs outlived their lease by more than 0.7 s");
        eprintln!("unrenewed VIPs gone {gone:?} after the last renewal (lease {LEASE:?})");
        assert!(vips
            .list()
            .await
            .expect("list")
            .iter()
            .all(|a| !owned.contains(a)));
    });
}

#[test]
fn refresh_restores_a_vanished_vip_and_leaves_a_foreign_prefix_alone() {
    in_private_netns(|| async {
        let handle = raw_netlink();
        let operators = add_operator_prefix(&handle, "2001:db8::60").await;
        let vips = VipManager::new("lo").await.expect("manager on lo");
        let kept = ip("192.0.2.60");
        let vanished = ip("192.0.2.61");
        vips.add(kept).await.expect("add");
        let done = vips
            .refresh(&BTreeSet::from([kept, vanished, operators]))
            .await
            .expect("refresh");
        assert_eq!(done.restored, vec![vanished]);
        let errors: Vec<String> = done.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            errors,
            ["add 2001:db8::60/128 on lo: already configured as /64, not as a host address; left alone"]
        );
        for vip in [kept, vanished] {
            assert_lease(entry_lifetimes(
                &lo_entry(&handle, vip).await.expect("on lo"),
            ));
        }
        let foreign = lo_entry(&handle, operators).await.expect("still there");
        assert_eq!(foreign.header.prefix_len, 64);
        assert!(entry_flags(&foreign).contains(AddressFlags::Permanent));
    });
}

/// Make-before-break (docs/vip.md): a local route makes a VIP local (an
/// IPv4 one can be bound) without an address for ospfd to advertise; it
/// outlives the address, and `remove_all_but` takes both.
#[test]
fn a_local_route_holds_a_vip_without_an_address() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        for vip in [ip("192.0.2.21"), ip("2001:db8::21")] {
            vips.add_local(vip).await.expect("add local");
            vips.add_local(vip).await.expect("add local again");
            assert_eq!(vips.local_routes().await.expect("routes"), vec![vip]);
            assert!(!vips.list().await.expect("list").contains(&vip));
            // IPv6 binds only addresses on an interface (docs/vip.md).
            let bound = std::net::TcpListener::bind((vip, 0));
            assert_eq!(bound.is_ok(), vip.is_ipv4(), "bind {vip}: {bound:?}");
            drop(bound);

            vips.add(vip).await.expect("announce");
            vips.remove(vip).await.expect("withdraw");
            assert_eq!(vips.local_routes().await.expect("routes"), vec![vip]);

            vips.add(vip).await.expect("announce again");
            let managed = set(&["192.0.2.21", "2001:db8::21"]);
            let removed = vips.remove_all_but(&managed, &BTreeSet::new()).await;
            assert_eq!(removed.expect("remove all"), vec![vip]);
            assert!(vips.local_routes().await.expect("routes").is_empty());
            assert!(!vips.list().await.expect("list").contains(&vip));
            vips.remove_local(vip)
                .await
                .expect("remove absent local route");
        }
    });
}

#[test]
fn add_and_remove_are_idempotent() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        for vip in [ip("192.0.2.20"), ip("2001:db8::20")] {
            vips.add(vip).await.expect("first add");
            vips.add(vip).await.expect("second add");
            let count = vips
                .list()
                .await
                .expect("list")
                .iter()
                .filter(|&&a| a == vip)
                .count();
            assert_eq!(count, 1, "{vip} listed {count} times");

            vips.remove(vip).await.expect("first remove");
            vips.remove(vip).await.expect("second remove");
            assert!(!vips.list().await.expect("list").contains(&vip));
        }
        vips.remove(ip("198.51.100.99"))
            .await
            .expect("remove never-added v4");
        vips.remove(ip("2001:db8::99"))
            .await
            .expect("remove never-added v6");
    });
}

#[test]
fn add_deprecates_a_host_address_that_was_already_there() {
    in_private_netns(|| async {
        let handle = raw_netlink();
        let index = link_index(&handle, "lo").await;
        let vip = ip("192.0.2.30");
        // As an operator's `ip addr add 192.0.2.30/32 dev lo` would: preferred forever.
        handle
            .address()
            .add(index, vip, 32)
            .execute()
            .await
            .expect("plain add");
        let before = lo_entry(&handle, vip).await.expect("present");
        assert!(!entry_flags(&before).contains(AddressFlags::Deprecated));

        let vips = VipManager::new("lo").await.expect("manager on lo");
        vips.add(vip).await.expect("add over an existing /32");
        let after = lo_entry(&handle, vip).await.expect("still present");
        assert!(entry_flags(&after).contains(AddressFlags::Deprecated));
    });
}

#[test]
fn add_leaves_an_ipv6_address_with_another_prefix_alone() {
    in_private_netns(|| async {
        let handle = raw_netlink();
        let operators = add_operator_prefix(&handle, "2001:db8::30").await;

        let vips = VipManager::new("lo").await.expect("manager on lo");
        let err = vips
            .add(operators)
            .await
            .expect_err("a /64 is not ours to change");
        assert_eq!(
            err.to_string(),
            "add 2001:db8::30/128 on lo: already configured as /64, not as a host address; left alone"
        );
        let entry = lo_entry(&handle, operators).await.expect("still present");
        assert_eq!(entry.header.prefix_len, 64);
        assert!(!entry_flags(&entry).contains(AddressFlags::Deprecated));

        vips.remove(operators)
            .await
            .expect("remove of the /128 is a no-op");
        assert!(
            lo_entry(&handle, operators).await.is_some(),
            "the /64 was removed"
        );
    });
}

#[test]
fn reconcile_removes_only_managed_unwanted_addresses() {
    in_private_netns(|| async {
        let handle = raw_netlink();
        let index = link_index(&handle, "lo").await;
        let vips = VipManager::new("lo").await.expect("manager on lo");
        for vip in [
            "192.0.2.41",
            "192.0.2.42",
            "2001:db8::41",
            "2001:db8::42",
            "203.0.113.7",
        ] {
            vips.add(ip(vip)).await.expect("add");
        }
        // A managed address that is on lo, but not as a host address.
        handle
            .address()
            .add(index, ip("198.51.100.9"), 24)
            .execute()
            .await
            .expect("plain /24");

        let managed = set(&[
            "192.0.2.41",
            "192.0.2.42",
            "2001:db8::41",
            "2001:db8::42",
            "192.0.2.43", // managed, never added
            "198.51.100.9",
        ]);
        let wanted = set(&["192.0.2.41", "2001:db8::41"]);
        let removed: BTreeSet<IpAddr> = vips
            .reconcile(&managed, &wanted)
            .await
            .expect("reconcile")
            .into_iter()
            .collect();
        assert_eq!(removed, set(&["192.0.2.42", "2001:db8::42"]));

        let mut left: Vec<(IpAddr, u8)> = lo_entries(&handle)
            .await
            .iter()
            .filter_map(|entry| Some((entry_address(entry)?, entry.header.prefix_len)))
            .collect();
        left.sort();
        let mut expected = vec![
            (ip("127.0.0.1"), 8),
            (ip("192.0.2.41"), 32),
            (ip("203.0.113.7"), 32),
            (ip("198.51.100.9"), 24),
            (ip("::1"), 128),
            (ip("2001:db8::41"), 128),
        ];
        expected.sort();
        assert_eq!(left, expected);

        let again = vips
            .reconcile(&managed, &wanted)
            .await
            .expect("reconcile again");
        assert!(again.is_empty(), "{again:?}");
    });
}

#[test]
fn list_shows_only_host_prefixes_including_loopback_v6() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        // A fresh lo has 127.0.0.1/8 (not a host prefix) and ::1/128 (one).
        assert_eq!(vips.list().await.expect("list"), vec![ip("::1")]);
    });
}

#[test]
fn unknown_interface_is_a_clear_error_at_new() {
    in_private_netns(|| async {
        match VipManager::new("srrd-nosuch0").await {
            Err(err @ VipError::NoSuchInterface { .. }) => {
                assert_eq!(err.to_string(), "interface srrd-nosuch0 does not exist")
            }
            Err(other) => panic!("expected NoSuchInterface, got {other}"),
            Ok(_) => panic!("srrd-nosuch0 exists?"),
        }
    });
}

#[test]
fn kernel_refusals_name_interface_address_and_errno() {
    in_private_netns(|| async {
        let vips = VipManager::new("lo").await.expect("manager on lo");
        vips.add(ip("192.0.2.50"))
            .await
            .expect("add while privileged");
        drop_cap_net_admin_on_this_thread();

        let err = vips.add(ip("192.0.2.51")).await.expect_err("EPERM");
        assert_eq!(
            err.to_string(),
            "add 192.0.2.51/32 on lo: Operation not permitted"
        );
        assert_eq!(err.errno(), Some(libc::EPERM));

        let err = vips.remove(ip("2001:db8::50")).await.expect_err("EPERM");
        assert_eq!(
            err.to_string(),
            "remove 2001:db8::50/128 on lo: Operation not permitted"
        );

        let err = vips
            .reconcile(&set(&["192.0.2.50"]), &set(&[]))
            .await
            .expect_err("EPERM");
        assert_eq!(
            err.to_string(),
            "remove 192.0.2.50/32 on lo: Operation not permitted"
        );

        // Listing needs no privilege.
        assert!(vips.list().await.expect("list").contains(&ip("192.0.2.50")));
    });
}

/// Clears CAP_NET_ADMIN from this thread's effective set (capabilities are
/// per thread), so the kernel refuses address changes with EPERM.
fn drop_cap_net_admin_on_this_thread() {
    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_ADMIN: u32 = 12;

    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array, as capget(2) requires
    // for version 3; pid 0 is the calling thread.
    let got = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    assert_eq!(got, 0, "capget: {}", std::io::Error::last_os_error());
    data[0].effective &= !(1 << CAP_NET_ADMIN);
    // SAFETY: as above; capset with pid 0 changes only the calling thread.
    let set = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    assert_eq!(set, 0, "capset: {}", std::io::Error::last_os_error());

    let has_net_admin = |status: &str| -> bool {
        let text = std::fs::read_to_string(status).expect("read status");
        let hex = text
            .lines()
            .find_map(|line| line.strip_prefix("CapEff:"))
            .expect("CapEff line")
            .trim();
        let caps = u64::from_str_radix(hex, 16).expect("CapEff hex");
        caps & (1 << CAP_NET_ADMIN) != 0
    };
    assert!(
        !has_net_admin("/proc/thread-self/status"),
        "capset had no effect"
    );
    assert!(
        has_net_admin("/proc/self/status"),
        "capset dropped CAP_NET_ADMIN for the whole process"
    );
}

// ---------------------------------------------------------------------------
// `srrd cleanup`, run as a process inside the private namespace (a child
// forked by the unshared thread inherits its namespace).

#[test]
fn cleanup_command_stops_leftovers_and_removes_vips() {
    in_private_netns(|| async {
        let dir = std::env::temp_dir().join(format!("srrd-cleanup-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("state")).expect("state dir");
        let script = dir.join("prim");
        std::fs::write(
            &script,
            "#!/bin/sh\n[ \"$1\" = stop ] && echo \"$SRRD_SERVICE\" >> \"$SRRD_STATE_DIR/../../stopped\"\n\
             [ \"$SRRD_SERVICE\" = bad ] && { echo 'cannot stop' >&2; exit 3; }\nexit 0\n",
        )
        .expect("primitives");
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&script, executable).expect("chmod");
        let service = |name: &str, addr: &str, depends: &str| {
            format!(
                "[[service]]\nname = \"{name}\"\naddresses = [\"{addr}\"]\nprimitives = \"{}\"\ndepends = [{depends}]\n",
                script.display()
            )
        };
        let config = dir.join("srrd.toml");
        std::fs::write(
            &config,
            format!(
                "[node]\nname = \"t\"\nstate_dir = \"{}\"\n{}{}{}",
                dir.join("state").display(),
                service("data", "192.0.2.70", ""),
                service("web", "192.0.2.71", "\"data\""),
                service("bad", "192.0.2.72", ""),
            ),
        )
        .expect("config");
        let state = dir.join("state/state.json");
        let set_started = |started: &str| {
            std::fs::write(
                &state,
                format!("{{\"incarnation\": 3, \"intents\": {{}}, \"standby\": [], \"started\": [{started}]}}"),
            )
            .expect("state file")
        };
        let cleanup = || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_srrd"))
                .args(["cleanup", "--config"])
                .arg(&config)
                .output()
                .expect("run srrd cleanup");
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (out.status.code(), text(&out.stdout), text(&out.stderr))
        };
        let vips = VipManager::new("lo").await.expect("manager on lo");
        vips.add(ip("192.0.2.71")).await.expect("a leftover VIP");

        set_started("\"data\", \"web\", \"gone\"");
        let (code, stdout, stderr) = cleanup();
        assert_eq!(code, Some(0), "{stdout}{stderr}");
        assert_eq!(
            stdout,
            "srrd cleanup: stopped web (an earlier run had started it)\n\
             srrd cleanup: stopped data (an earlier run had started it)\n\
             srrd cleanup: gone was started by an earlier run but is no longer configured; not stopped\n\
             srrd cleanup: removed VIP 192.0.2.71\n"
        );
        let stopped = std::fs::read_to_string(dir.join("state/stopped")).expect("stop ran");
        assert_eq!(stopped, "web\ndata\n", "dependants first");
        assert!(!vips.list().await.expect("list").contains(&ip("192.0.2.71")));
        let (code, stdout, _) = cleanup();
        assert_eq!(
            (code, stdout.as_str()),
            (Some(0), "srrd cleanup: nothing left over\n")
        );

        set_started("\"bad\"");
        let (code, _, stderr) = cleanup();
        assert_eq!(code, Some(1));
        assert!(
            stderr.contains("srrd cleanup: stop bad: failed with code 3: cannot stop"),
            "{stderr}"
        );
        assert!(std::fs::read_to_string(&state)
            .expect("state")
            .contains("\"bad\""));

        // A running srrd holds the state dir's lock: cleanup refuses.
        let lock = std::fs::File::create(dir.join("state/srrd.lock")).expect("lock file");
        // SAFETY: flock on a descriptor this test owns.
        let held = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&lock),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        assert_eq!(held, 0);
        let (code, _, stderr) = cleanup();
        assert_eq!(code, Some(1));
        assert!(stderr.contains("is locked: another srrd"), "{stderr}");
        drop(lock);
        std::fs::remove_dir_all(&dir).expect("remove the test dir");
    });
}
