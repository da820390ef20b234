//! The pure parts of the VIP manager; the kernel side is tested in
//! `tests/vip_netns.rs` (root, private network namespaces).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::error::errno_text;
use super::{host_prefix_len, stale_vips, VipError, VipOp};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test address")
}

fn set(addresses: &[&str]) -> BTreeSet<IpAddr> {
    addresses.iter().map(|a| ip(a)).collect()
}

#[test]
fn host_prefix_is_32_or_128() {
    assert_eq!(host_prefix_len(ip("192.0.2.10")), 32);
    assert_eq!(host_prefix_len(ip("2001:db8::10")), 128);
}

#[test]
fn only_managed_unwanted_present_addresses_are_stale() {
    let managed = set(&["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1"]);
    let wanted = set(&["192.0.2.1"]);
    let present = [
        ip("::1"),
        ip("192.0.2.1"),
        ip("192.0.2.2"),
        ip("198.51.100.7"),
        ip("2001:db8::1"),
        ip("192.0.2.2"),
    ];
    assert_eq!(
        stale_vips(&managed, &wanted, &present),
        vec![ip("192.0.2.2"), ip("2001:db8::1")]
    );
}

#[test]
fn nothing_is_stale_when_nothing_is_managed() {
    let present = [ip("::1"), ip("192.0.2.1")];
    assert!(stale_vips(&set(&[]), &set(&[]), &present).is_empty());
}

#[test]
fn address_error_reads_like_the_kernel_refused() {
    let err = VipError::Address {
        op: VipOp::Add,
        interface: "lo".to_string(),
        addr: ip("192.0.2.10"),
        prefix_len: 32,
        errno: Some(libc::EPERM),
        reason: errno_text(libc::EPERM),
    };
    assert_eq!(
        err.to_string(),
        "add 192.0.2.10/32 on lo: Operation not permitted"
    );
    assert_eq!(err.errno(), Some(libc::EPERM));
}

#[test]
fn new_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let result = futures::executor::block_on(super::VipManager::new("lo"));
    match result {
        Err(err @ VipError::NoRuntime { .. }) => {
            assert_eq!(
                err.to_string(),
                "netlink for lo: not inside a tokio runtime"
            )
        }
        Err(other) => panic!("expected NoRuntime, got {other}"),
        Ok(_) => panic!("expected NoRuntime, got a manager"),
    }
}
