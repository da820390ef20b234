//! The NixOS module (nixos-module/), as far as it can be checked
//! without nixpkgs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{hardening, repo, report, require_tool, run, stdout, target_dir, Scratch};

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
pub fn nix_eval(expr: &str) -> serde_json::Value {
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
