//! Packaging checks, run by `cargo test --workspace` (docs/install.md):
//! the systemd units (`systemd-analyze verify`), the .deb (built,
//! installed into a clean Debian 12 rootfs, run there) and the NixOS
//! module (parsed, linted, and evaluated as far as that works without
//! nixpkgs; its VM test needs a machine with nixpkgs).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNITS: [&str; 3] = [
    "srrd.service",
    "srrd-cleanup.service",
    "srrd-ospfapi-firewall.service",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("srrd/ sits in the repository")
        .to_path_buf()
}

/// `target/`: caches that outlive one test run live here.
fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

/// A scratch dir of this test, removed when dropped (also on panic).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("packaging-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd`; panics with its output unless it exits 0.
fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics unless `tool` is on PATH, naming the Debian package (.ci/run
/// installs it).
fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(found, "{tool} is missing: apt-get install {package} (see .ci/run)");
}

fn require_root(what: &str) {
    let uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid());
    assert_eq!(uid, 0, "{what}: run it as root (CI does)");
}

/// The `# hardening begin` … `# hardening end` lines of a unit.
fn hardening(unit: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("contrib/systemd").join(unit))
        .unwrap_or_else(|e| panic!("{unit}: {e}"));
    text.lines()
        .skip_while(|l| *l != "# hardening begin")
        .skip(1)
        .take_while(|l| *l != "# hardening end")
        .map(str::to_string)
        .collect()
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    require_tool("systemd-analyze", "systemd");
    let scratch = Scratch::new("units");
    let units = &scratch.0;
    // verify insists that ExecStart= binaries exist: point them at the
    // srrd this test run built.
    let srrd = env!("CARGO_BIN_EXE_srrd");
    for unit in UNITS {
        let text = std::fs::read_to_string(repo().join("contrib/systemd").join(unit))
            .unwrap_or_else(|e| panic!("{unit}: {e}"));
        std::fs::write(units.join(unit), text.replace("/usr/bin/srrd", srrd)).expect("unit copy");
    }
    std::fs::create_dir_all(units.join("frr.service.d")).expect("drop-in dir");
    std::fs::copy(
        repo().join("contrib/systemd/frr.service.d/srrd.conf"),
        units.join("frr.service.d/srrd.conf"),
    )
    .expect("drop-in copy");

    // Our dir first, then the system's (frr.service comes from the frr
    // package, with our drop-in on top).
    let unit_path = format!("{}:", units.display());
    let out = run(Command::new("systemd-analyze")
        .env("SYSTEMD_UNIT_PATH", &unit_path)
        .arg("verify")
        .args(UNITS)
        .arg("frr.service")
        .current_dir(units));
    // verify exits 0 on unknown keys and bad lines, but says so on stderr.
    let complaints = String::from_utf8_lossy(&out.stderr);
    assert!(
        complaints.trim().is_empty(),
        "systemd-analyze verify:\n{complaints}"
    );

    let security = run(Command::new("systemd-analyze")
        .env("SYSTEMD_UNIT_PATH", &unit_path)
        .args(["security", "--offline=yes", "--threshold=30", "--no-pager"])
        .arg(units.join("srrd.service")));
    let summary = stdout(&security);
    println!("{}", summary.lines().last().unwrap_or_default());

    assert_eq!(
        hardening("srrd.service"),
        hardening("srrd-cleanup.service"),
        "srrd-cleanup.service runs the same stop primitives: same sandbox as srrd.service"
    );
    assert!(hardening("srrd.service").contains(&"CapabilityBoundingSet=CAP_NET_ADMIN".to_string()));
}
