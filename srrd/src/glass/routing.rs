//! Routing-daemon commands: a fixed allow-list of `show` commands, each run
//! as `vtysh -c <command>` directly (no shell, no operator text), with a
//! timeout and a bound on the output.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::config::NodeSettings;

/// One allowed command: the id the API takes and what vtysh runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RoutingCommand {
    pub id: &'static str,
    pub command: &'static str,
}

pub const COMMANDS: &[RoutingCommand] = &[
    RoutingCommand {
        id: "ospf",
        command: "show ip ospf",
    },
    RoutingCommand {
        id: "ospf-neighbor",
        command: "show ip ospf neighbor",
    },
    RoutingCommand {
        id: "ospf-interface",
        command: "show ip ospf interface",
    },
    RoutingCommand {
        id: "ospf-database",
        command: "show ip ospf database",
    },
    RoutingCommand {
        id: "ospf-database-opaque",
        command: "show ip ospf database opaque-area",
    },
    RoutingCommand {
        id: "ospf-route",
        command: "show ip ospf route",
    },
    RoutingCommand {
        id: "route",
        command: "show ip route",
    },
    RoutingCommand {
        id: "route-ospf",
        command: "show ip route ospf",
    },
    RoutingCommand {
        id: "bfd-peers",
        command: "show bfd peers",
    },
];

/// How long one command may run.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Output beyond this is cut off (a full routing table can be huge).
pub const MAX_OUTPUT: usize = 256 * 1024;

/// How to reach the node's FRR: the vtysh binary and, when FRR runs with
/// `--vty_socket DIR` (as in the lab), that directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vtysh {
    pub program: PathBuf,
    pub vty_socket_dir: Option<PathBuf>,
}

impl Vtysh {
    pub fn from_node(node: &NodeSettings) -> Vtysh {
        Vtysh {
            program: PathBuf::from("vtysh"),
            vty_socket_dir: node.vty_socket_dir.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("no routing command {0:?} (allowed: {ids})", ids = COMMANDS.iter().map(|c| c.id).collect::<Vec<_>>().join(", "))]
    Unknown(String),
    #[error("cannot run vtysh: {0}")]
    Spawn(std::io::Error),
    #[error("`{command}` did not finish within {} s", TIMEOUT.as_secs())]
    Timeout { command: &'static str },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: &'static str,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

/// Runs the allowed command `id`; its output, cut at [`MAX_OUTPUT`] bytes
/// with a note saying so.
pub async fn routing(vtysh: &Vtysh, id: &str) -> Result<String, RoutingError> {
    let command = COMMANDS
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| RoutingError::Unknown(id.to_string()))?
        .command;
    let mut cmd = Command::new(&vtysh.program);
    if let Some(dir) = &vtysh.vty_socket_dir {
        cmd.arg("--vty_socket").arg(dir);
    }
    cmd.args(["-c", command])
        .env_clear()
        .env("PATH", crate::primitives::SANE_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(RoutingError::Spawn)?;
    // Whatever happens below, nothing of the run outlives it.
    let group = GroupGuard(child.id().map_or(0, |pid| pid as i32));
    let (mut stdout, mut stderr) = match (child.stdout.take(), child.stderr.take()) {
        (Some(o), Some(e)) => (o, e),
        _ => return Err(RoutingError::Spawn(std::io::Error::other("no pipes"))),
    };
    let mut out = Vec::new();
    let mut err = Vec::new();
    let run = async {
        let read_out = async {
            (&mut stdout)
                .take(MAX_OUTPUT as u64 + 1)
                .read_to_end(&mut out)
                .await?;
            if out.len() > MAX_OUTPUT {
                // The rest is not wanted: end vtysh rather than drain it.
                crate::primitives::signal_group(group.0, nix::sys::signal::Signal::SIGKILL);
            }
            Ok::<_, std::io::Error>(())
        };
        let mut stderr = (&mut stderr).take(4096);
        let (o, e) = tokio::join!(read_out, stderr.read_to_end(&mut err));
        o.and(e.map(drop)).map_err(RoutingError::Spawn)
    };
    match tokio::time::timeout(TIMEOUT, run).await {
        Ok(r) => r?,
        Err(_) => return Err(RoutingError::Timeout { command }),
    }
    let truncated = out.len() > MAX_OUTPUT;
    out.truncate(MAX_OUTPUT);
    let status = match tokio::time::timeout(TIMEOUT, child.wait()).await {
        Ok(s) => s.map_err(RoutingError::Spawn)?,
        Err(_) => return Err(RoutingError::Timeout { command }),
    };
    if !status.success() && !truncated {
        return Err(RoutingError::Failed {
            command,
            status,
            stderr: String::from_utf8_lossy(&err).trim().to_string(),
        });
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if truncated {
        text.push_str(&format!("\n[output cut at {MAX_OUTPUT} bytes]\n"));
    }
    Ok(text)
}

/// Kills the run's process group when dropped.
struct GroupGuard(i32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        crate::primitives::signal_group(self.0, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(script: &str) -> (tempdir::Dir, Vtysh) {
        let dir = tempdir::Dir::new();
        let program = dir.0.join("vtysh");
        std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let vtysh = Vtysh {
            program,
            vty_socket_dir: Some("/run/frr/n1".into()),
        };
        (dir, vtysh)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let n = N.fetch_add(1, Ordering::Relaxed);
                let p =
                    std::env::temp_dir().join(format!("srrd-routing-{}-{n}", std::process::id()));
                std::fs::create_dir_all(&p).expect("mkdir");
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[tokio::test]
    async fn runs_the_fixed_command_with_the_socket_dir() {
        let (_d, v) = fake(r#"printf '%s|' "$@""#);
        let out = routing(&v, "route-ospf").await.expect("runs");
        assert_eq!(out, "--vty_socket|/run/frr/n1|-c|show ip route ospf|");
    }

    #[tokio::test]
    async fn an_unknown_id_runs_nothing() {
        let (_d, v) = fake("exit 0");
        let e = routing(&v, "show ip route; reboot").await.unwrap_err();
        assert!(matches!(e, RoutingError::Unknown(_)), "{e}");
    }

    #[tokio::test]
    async fn output_is_bounded_and_failures_say_why() {
        let (_d, v) = fake("yes 0123456789");
        let out = routing(&v, "route").await.expect("cut, not failed");
        assert!(out.len() < MAX_OUTPUT + 100);
        assert!(out.ends_with("bytes]\n"));
        let (_d, v) = fake("echo 'vtysh: no daemon' >&2; exit 1");
        let e = routing(&v, "ospf").await.unwrap_err();
        assert!(e.to_string().contains("no daemon"), "{e}");
    }
}
