//! Support code shared by the integration tests (`mod common;` in a test
//! file). The lab itself lives in the `srrd-lab` crate (lab/).
#![allow(dead_code)]

pub mod lab {
    pub use srrd_lab::netns::*;
}

pub mod daemon_cluster;

/// Runs `srrd pki ARGS` on the certificate dir `dir`; panics with its
/// error output if it fails.
pub fn srrd_pki(dir: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_srrd"))
        .arg("pki")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("srrd pki runs");
    assert!(
        out.status.success(),
        "srrd pki {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
