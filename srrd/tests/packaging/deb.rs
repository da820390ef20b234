//! The .deb of packaging/build-deb, installed into a Debian 12 rootfs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{repo, report, require_root, require_tool, run, stdout, target_dir, Scratch};

/// A Debian 12 minbase rootfs with srrd's dependencies and systemd (to
/// boot it, boot.rs), built once by debootstrap and kept in `target/`
/// (its downloads in `target/debootstrap-cache`, which the image build may
/// share).
fn debian_rootfs() -> PathBuf {
    // The tests of this binary that need it wait for one build.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_build = BUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let rootfs = target_dir().join("debian-rootfs/bookworm-frr-nftables-systemd");
    if rootfs.join("etc/debian_version").exists() {
        return rootfs;
    }
    require_tool("debootstrap", "debootstrap");
    let cache = target_dir().join("debootstrap-cache");
    std::fs::create_dir_all(&cache).expect("debootstrap cache dir");
    // Built aside and renamed, so a killed run never leaves half a rootfs.
    let partial = rootfs.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let started = std::time::Instant::now();
    run(Command::new("flock")
        .arg(cache.with_extension("lock"))
        .args(["debootstrap", "--variant=minbase"])
        .arg("--include=frr,nftables,systemd,systemd-sysv,dbus")
        .arg(format!("--cache-dir={}", cache.display()))
        .arg("bookworm")
        .arg(&partial)
        .arg("http://deb.debian.org/debian"));
    report(&format!(
        "debootstrap of the Debian 12 rootfs: {:.0?}",
        started.elapsed()
    ));
    match std::fs::rename(&partial, &rootfs) {
        Ok(()) => {}
        // Another run finished first: use its rootfs.
        Err(_) if rootfs.join("etc/debian_version").exists() => {
            let _ = std::fs::remove_dir_all(&partial);
        }
        Err(e) => panic!("{} -> {}: {e}", partial.display(), rootfs.display()),
    }
    rootfs
}

pub fn chroot(root: &Path, args: &[&str]) -> Output {
    run(Command::new("chroot")
        .arg(root)
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
}

/// A copy of the clean rootfs in `scratch` with the .deb of this test
/// run's srrd installed by dpkg.
pub fn rootfs_with_srrd(scratch: &Scratch) -> PathBuf {
    require_root("installing the .deb into a Debian rootfs needs chroot");
    require_tool("dpkg-deb", "dpkg");
    let deb = scratch.0.join("srrd.deb");
    run(Command::new(repo().join("packaging/build-deb"))
        .args(["--binary", env!("CARGO_BIN_EXE_srrd"), "--out"])
        .arg(&deb));
    // A copy per test: the cached rootfs stays clean.
    let root = scratch.0.join("root");
    run(Command::new("cp").arg("-a").arg(debian_rootfs()).arg(&root));
    std::fs::copy(&deb, root.join("tmp/srrd.deb")).expect("deb into the rootfs");
    chroot(&root, &["dpkg", "-i", "/tmp/srrd.deb"]);
    root
}

#[test]
fn deb_installs_into_a_clean_debian_rootfs_and_runs() {
    let scratch = Scratch::new("deb");
    let root = rootfs_with_srrd(&scratch);

    let version = stdout(&chroot(&root, &["srrd", "--version"]));
    assert_eq!(
        version.trim(),
        format!("srrd {}", env!("CARGO_PKG_VERSION")),
        "srrd --version in the rootfs"
    );
    let checked = stdout(&chroot(
        &root,
        &["srrd", "check-config", "/etc/srrd/srrd.toml.example"],
    ));
    assert!(checked.contains(": OK"), "check-config: {checked}");
    for file in [
        "usr/lib/systemd/system/srrd.service",
        "usr/lib/systemd/system/srrd-cleanup.service",
        "usr/lib/systemd/system/srrd-ospfapi-firewall.service",
        "usr/lib/systemd/system/frr.service.d/srrd.conf",
        "usr/share/srrd/srrd-ospfapi.nft",
    ] {
        assert!(root.join(file).is_file(), "the .deb installs /{file}");
    }
    // The rule the firewall unit loads parses with the rootfs's nft.
    chroot(
        &root,
        &["nft", "--check", "-f", "/usr/share/srrd/srrd-ospfapi.nft"],
    );

    chroot(&root, &["dpkg", "--purge", "srrd"]);
    assert!(
        !root.join("usr/bin/srrd").exists(),
        "purge removes the binary"
    );
}
