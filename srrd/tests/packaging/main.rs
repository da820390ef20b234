//! Packaging checks, run by `cargo test --workspace` (docs/install.md):
//! the systemd units (`systemd-analyze verify`), the .deb (built,
//! installed into a clean Debian 12 rootfs, run there) and the NixOS
//! module (parsed, linted, and evaluated as far as that works without
//! nixpkgs; its VM test needs a machine with nixpkgs).

#[path = "../common/mod.rs"]
mod common;

mod boot;
mod deb;
mod nix;
mod units;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("srrd/ sits in the repository")
        .to_path_buf()
}

/// `target/`: caches that outlive one test run live here.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .to_path_buf()
}

/// A scratch dir of this test, removed when dropped (also on panic).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
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
pub fn run(cmd: &mut Command) -> Output {
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

/// A line in the test run's output even when the test passes (libtest
/// captures `println!`, not writes to the stderr handle).
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "packaging: {line}");
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics unless `tool` is on PATH, naming the Debian package (.ci/run
/// installs it).
pub fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "{tool} is missing: apt-get install {package} (see .ci/run)"
    );
}

pub fn require_root(what: &str) {
    let uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid());
    assert_eq!(uid, 0, "{what}: run it as root (CI does)");
}

/// The `# hardening begin` … `# hardening end` lines of a unit.
pub fn hardening(unit: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("contrib/systemd").join(unit))
        .unwrap_or_else(|e| panic!("{unit}: {e}"));
    text.lines()
        .skip_while(|l| *l != "# hardening begin")
        .skip(1)
        .take_while(|l| *l != "# hardening end")
        .map(str::to_string)
        .collect()
}
