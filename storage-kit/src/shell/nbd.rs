//! nbd-server (the node's export) and nbd-client (peers' exports attached
//! on the active node). Clients use ioctl mode (`-L`): the netlink
//! interface is not network-namespace aware (docs/storage.md).

use super::cmd::{run, run_ok, CmdError};
use std::path::Path;
use std::time::Duration;

const QUICK: Duration = Duration::from_secs(10);
/// How long a probe of an export may take. A peer that does not answer
/// within this is treated as unreachable for this run.
pub const PROBE: Duration = Duration::from_secs(3);

pub struct Export<'a> {
    pub name: &'a str,
    pub device: &'a str,
    pub address: &'a str,
    pub port: u16,
}

pub fn server_config(e: &Export) -> String {
    format!(
        "# written by srrd-raid1\n[generic]\n    user = root\n    group = root\n    listenaddr = {}\n    port = {}\n    allowlist = true\n[{}]\n    exportname = {}\n    flush = true\n    fua = true\n",
        e.address, e.port, e.name, e.device
    )
}

/// The pid of the running export, if the pid file names a live nbd-server.
pub fn server_pid(pidfile: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "nbd-server").then_some(pid)
}

pub fn start_server(config: &Path, pidfile: &Path) -> Result<(), CmdError> {
    let (c, p) = (config.to_string_lossy(), pidfile.to_string_lossy());
    run_ok("nbd-server", &["-C", &c, "-p", &p], QUICK).map(drop)
}

/// Stops the export and its per-connection children (one process group).
pub fn stop_server(pidfile: &Path) {
    let Some(pid) = server_pid(pidfile) else {
        return;
    };
    // SAFETY: plain kill(2) on a pid we read and checked just now.
    unsafe {
        libc::kill(-pid, libc::SIGTERM);
        libc::kill(pid, libc::SIGTERM);
    }
    for _ in 0..100 {
        if server_pid(pidfile).is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if server_pid(pidfile).is_some() {
        // SAFETY: as above.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(pidfile);
}

/// Whether `address:port` serves `export` (nbd-server answers only after
/// its start-up work, which takes seconds: docs/storage.md, "Timeouts").
pub fn serves(address: &str, port: u16, export: &str) -> bool {
    match run("nbd-client", &["-l", address, &port.to_string()], PROBE) {
        Ok(o) => {
            o.status.success()
                && o.text
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(export))
        }
        Err(_) => false,
    }
}

pub fn connected(device: &str) -> bool {
    let sys = format!("/sys/block/{}/pid", device.trim_start_matches("/dev/"));
    Path::new(&sys).exists()
}

/// Attaches `device`; `io_timeout_s` is nbd's I/O timeout.
pub fn attach(
    export: &str,
    address: &str,
    port: u16,
    device: &str,
    io_timeout_s: u32,
) -> Result<(), CmdError> {
    let t = io_timeout_s.to_string();
    run_ok(
        "nbd-client",
        &[
            "-N",
            export,
            address,
            &port.to_string(),
            device,
            "-t",
            &t,
            "-b",
            "4096",
            "-L",
        ],
        QUICK,
    )?;
    // In ioctl mode the client's daemon sets the device up after the
    // command returned: until then the device reads as empty.
    let sys = format!("/sys/block/{}/size", device.trim_start_matches("/dev/"));
    for _ in 0..100 {
        let sectors: u64 = std::fs::read_to_string(&sys)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if sectors > 0 && connected(device) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(CmdError::Timeout {
        cmdline: format!("nbd-client ... {device} (waiting for the device to get its size)"),
        after: Duration::from_secs(5),
        text: String::new(),
    })
}

pub fn detach(device: &str) -> Result<(), CmdError> {
    if !connected(device) {
        return Ok(());
    }
    run_ok("nbd-client", &["-L", "-d", device], QUICK).map(drop)
}
