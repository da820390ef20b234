//! The systemd units of contrib/systemd/.

use std::process::Command;

use crate::{hardening, repo, report, require_tool, run, stdout, Scratch};

pub const UNITS: [&str; 3] = [
    "srrd.service",
    "srrd-cleanup.service",
    "srrd-ospfapi-firewall.service",
];

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
