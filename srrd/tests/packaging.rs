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

/// A line in the test run's output even when the test passes (libtest
/// captures `println!`, not writes to the stderr handle).
fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "packaging: {line}");
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics unless `tool` is on PATH, naming the Debian package (.ci/run
/// installs it).
fn require_tool(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "{tool} is missing: apt-get install {package} (see .ci/run)"
    );
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
    report(summary.lines().last().unwrap_or_default());

    assert_eq!(
        hardening("srrd.service"),
        hardening("srrd-cleanup.service"),
        "srrd-cleanup.service runs the same stop primitives: same sandbox as srrd.service"
    );
    assert!(hardening("srrd.service").contains(&"CapabilityBoundingSet=CAP_NET_ADMIN".to_string()));
}

/// A Debian 12 minbase rootfs with srrd's dependencies, built once by
/// debootstrap and kept in `target/` (its downloads in
/// `target/debootstrap-cache`, which the image build may share).
fn debian_rootfs() -> PathBuf {
    let rootfs = target_dir().join("debian-rootfs/bookworm-srrd-deps");
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
        .args(["debootstrap", "--variant=minbase", "--include=frr,nftables"])
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

fn chroot(root: &Path, args: &[&str]) -> Output {
    run(Command::new("chroot")
        .arg(root)
        .args(args)
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
}

#[test]
fn deb_installs_into_a_clean_debian_rootfs_and_runs() {
    require_root("installing the .deb into a Debian rootfs needs chroot");
    require_tool("dpkg-deb", "dpkg");
    let scratch = Scratch::new("deb");
    let deb = scratch.0.join("srrd.deb");
    run(Command::new(repo().join("packaging/build-deb"))
        .args(["--binary", env!("CARGO_BIN_EXE_srrd"), "--out"])
        .arg(&deb));

    // A copy per run: the cached rootfs stays clean.
    let root = scratch.0.join("root");
    run(Command::new("cp").arg("-a").arg(debian_rootfs()).arg(&root));
    std::fs::copy(&deb, root.join("tmp/srrd.deb")).expect("deb into the rootfs");
    chroot(&root, &["dpkg", "-i", "/tmp/srrd.deb"]);

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

// The NixOS module. What runs here: every .nix file parses, passes
// nixpkgs-fmt and deadnix, and the parts of the module written without
// nixpkgs (hardening.nix, frr.nix, the example settings) are evaluated by
// nix-instantiate and checked by systemd's, FRR's and srrd's own tools.
// What does not: the NixOS module system and the VM test
// (nixos-module/tests/failover.nix), which need nixpkgs.
const NEEDS_NIXPKGS: &str = "nixos-module: NOT evaluated by the NixOS module system, \
     VM test nixos-module/tests/failover.nix NOT run: both need a machine with nixpkgs \
     (nix build .#checks.x86_64-linux.failover)";

fn nix_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "nix") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo(), &mut found);
    found.sort();
    assert!(
        found.iter().any(|p| p.ends_with("nixos-module/module.nix")),
        "no nixos-module/module.nix among {found:?}"
    );
    found
}

/// `nix-instantiate` with a store that writes nothing (no /nix).
fn nix_instantiate() -> Command {
    require_tool("nix-instantiate", "nix-bin");
    let mut cmd = Command::new("nix-instantiate");
    cmd.args(["--store", "dummy://"]).current_dir(repo());
    cmd
}

/// The JSON value of a Nix expression evaluated in the repository root.
fn nix_eval(expr: &str) -> serde_json::Value {
    let out = run(nix_instantiate().args(["--eval", "--strict", "--json", "-E", expr]));
    serde_json::from_slice(&out.stdout).expect("nix-instantiate --json prints JSON")
}

#[test]
fn nix_files_parse() {
    report(NEEDS_NIXPKGS);
    for file in nix_files() {
        run(nix_instantiate().arg("--parse").arg(&file));
    }
}

/// A linter from `target/nix-tools` (where .ci/run installs it with
/// `cargo install`) or PATH.
fn nix_linter(tool: &str) -> PathBuf {
    let local = target_dir().join("nix-tools/bin").join(tool);
    if local.is_file() {
        return local;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(tool))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        panic!("{tool} is missing: cargo install --locked --root target/nix-tools {tool} (see .ci/run)")
    })
}

#[test]
fn nix_files_pass_nixpkgs_fmt_and_deadnix() {
    let files = nix_files();
    run(Command::new(nix_linter("nixpkgs-fmt"))
        .arg("--check")
        .args(&files));
    run(Command::new(nix_linter("deadnix"))
        .arg("--fail")
        .args(&files));
}

#[test]
fn nix_hardening_is_the_debian_units_hardening() {
    let nix = nix_eval("import ./nixos-module/hardening.nix");
    let nix_lines: Vec<String> = nix
        .as_object()
        .expect("hardening.nix is an attribute set")
        .iter()
        .map(|(key, value)| match value {
            serde_json::Value::Bool(true) => format!("{key}=yes"),
            serde_json::Value::Bool(false) => format!("{key}=no"),
            serde_json::Value::String(s) => format!("{key}={s}"),
            other => format!("{key}={other}"),
        })
        .collect();
    let mut unit = hardening("srrd.service");
    unit.sort();
    assert_eq!(
        nix_lines, unit,
        "nixos-module/hardening.nix vs contrib/systemd/srrd.service"
    );
}

#[test]
fn nix_frr_config_is_accepted_by_frr() {
    require_tool("vtysh", "frr");
    let scratch = Scratch::new("frr");
    let configs = [
        (
            "node-bfd",
            r#"{ routerId = "10.255.0.11"; interfaces = [ "eth0" ]; networks = [ "198.51.100.0/24" "192.0.2.0/24" ]; bfd = true; }"#,
        ),
        (
            "router",
            r#"{ routerId = "10.255.0.1"; interfaces = [ "ethA" "ethB" ]; priority = 255; passiveInterfaces = [ "ethC" ]; networks = [ "198.51.100.0/24" ]; }"#,
        ),
    ];
    for (name, args) in configs {
        let text = nix_eval(&format!("import ./nixos-module/frr.nix {args}"));
        let text = text.as_str().expect("frr.nix renders a string");
        for needed in [
            "capability opaque",
            "timers lsa min-arrival 0",
            "hello-multiplier 4",
        ] {
            assert!(text.contains(needed), "{name}: no `{needed}` in\n{text}");
        }
        let file = scratch.0.join(format!("{name}.conf"));
        std::fs::write(&file, text).expect("frr config");
        // vtysh's dry run parses every line with FRR's own grammar.
        run(Command::new("vtysh").arg("-C").arg("-f").arg(&file));
    }
}

#[test]
fn nix_module_example_settings_pass_check_config() {
    let module =
        std::fs::read_to_string(repo().join("nixos-module/module.nix")).expect("module.nix");
    assert!(
        module.contains(
            "example = builtins.fromTOML (builtins.readFile ../contrib/srrd.toml.example);"
        ),
        "services.srrd.settings' example is contrib/srrd.toml.example"
    );
    // As the module renders settings: Nix values, then TOML.
    let settings = nix_eval("builtins.fromTOML (builtins.readFile ./contrib/srrd.toml.example)");
    let rendered = toml::to_string(&settings).expect("settings render as TOML");
    let scratch = Scratch::new("settings");
    let file = scratch.0.join("srrd.toml");
    std::fs::write(&file, &rendered).expect("rendered settings");
    let out = run(Command::new(env!("CARGO_BIN_EXE_srrd"))
        .arg("check-config")
        .arg(&file));
    assert!(stdout(&out).contains(": OK"), "check-config:\n{rendered}");
}
