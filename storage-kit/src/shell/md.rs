//! mdadm and md's sysfs files.

use super::cmd::{run, run_ok, CmdError};
use crate::mdadm::{parse_detail, parse_examine, Detail, Examine};
use std::time::Duration;

const MDADM: Duration = Duration::from_secs(30);

fn failed(what: &str, e: String) -> CmdError {
    CmdError::Spawn {
        cmdline: what.to_owned(),
        error: std::io::Error::other(e),
    }
}

/// `None` when the device has no md superblock.
pub fn examine(device: &str) -> Result<Option<Examine>, CmdError> {
    let o = run("mdadm", &["--examine", device], MDADM)?;
    if !o.status.success() {
        if o.text.contains("No md superblock") {
            return Ok(None);
        }
        return Err(CmdError::Failed {
            cmdline: format!("mdadm --examine {device}"),
            status: o.status,
            text: o.text,
        });
    }
    parse_examine(&o.text).map_err(|e| failed(&format!("mdadm --examine {device}: {}", o.text), e))
}

/// Whether the array is assembled here (md's `array_state` is neither
/// `clear` nor `inactive`).
pub fn running(md_name: &str) -> bool {
    match std::fs::read_to_string(format!("/sys/block/{md_name}/md/array_state")) {
        Ok(s) => !matches!(s.trim(), "clear" | "inactive"),
        Err(_) => false,
    }
}

pub fn detail(md: &str) -> Result<Detail, CmdError> {
    let text = run_ok("mdadm", &["--detail", md], MDADM)?;
    parse_detail(&text).map_err(|e| failed(&format!("mdadm --detail {md}: {text}"), e))
}

pub fn create(md: &str, name: &str, size_kib: u64, devices: &[String]) -> Result<(), CmdError> {
    let n = devices.len().to_string();
    let size = format!("--size={size_kib}K");
    let name = format!("--name={name}");
    let mut args = vec![
        "--create",
        md,
        "--run",
        "--level=1",
        "--metadata=1.2",
        "--bitmap=internal",
        "--bitmap-chunk=1M",
        "--data-offset=8M",
        &size,
        &name,
        "--raid-devices",
        &n,
    ];
    args.extend(devices.iter().map(String::as_str));
    run_ok("mdadm", &args, MDADM).map(drop)
}

/// Assembles from exactly `devices`, degraded if need be: the caller has
/// checked that they are the freshest copies.
pub fn assemble(md: &str, devices: &[String]) -> Result<(), CmdError> {
    let mut args = vec!["--assemble", md, "--run"];
    args.extend(devices.iter().map(String::as_str));
    run_ok("mdadm", &args, MDADM).map(drop)
}

pub fn re_add(md: &str, device: &str) -> Result<(), CmdError> {
    run_ok("mdadm", &[md, "--re-add", device], MDADM).map(drop)
}

/// A full copy: the old superblock goes, so md cannot take the device as
/// in sync.
pub fn add_full(md: &str, device: &str) -> Result<(), CmdError> {
    run_ok("mdadm", &["--zero-superblock", device], MDADM)?;
    run_ok("mdadm", &[md, "--add", device], MDADM).map(drop)
}

pub fn fail_and_remove(md: &str, device: &str) -> Result<(), CmdError> {
    run_ok("mdadm", &[md, "--fail", device], MDADM)?;
    remove(md, device)
}

pub fn remove(md: &str, device: &str) -> Result<(), CmdError> {
    // md may still hold the device for a moment after --fail.
    let mut last = None;
    for _ in 0..20 {
        match run_ok("mdadm", &[md, "--remove", device], MDADM) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(last.expect("tried at least once"))
}

pub fn stop(md: &str) -> Result<(), CmdError> {
    run_ok("mdadm", &["--stop", md], MDADM).map(drop)
}

pub fn mdstat() -> String {
    std::fs::read_to_string("/proc/mdstat").unwrap_or_default()
}

pub fn examine_bitmap(device: &str) -> Option<String> {
    run_ok("mdadm", &["--examine-bitmap", device], MDADM).ok()
}
