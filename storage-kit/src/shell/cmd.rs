//! Running external commands with a deadline. Output goes to a scratch
//! file, not a pipe: nbd-server and nbd-client daemonize, and a daemon that
//! inherited a pipe would keep a reader waiting forever.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// What a command printed (stdout and stderr interleaved) and how it ended.
pub struct Output {
    pub status: ExitStatus,
    pub text: String,
}

#[derive(Debug)]
pub enum CmdError {
    Spawn {
        cmdline: String,
        error: std::io::Error,
    },
    Failed {
        cmdline: String,
        status: ExitStatus,
        text: String,
    },
    Timeout {
        cmdline: String,
        after: Duration,
        text: String,
    },
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::Spawn { cmdline, error } => write!(f, "`{cmdline}` could not run: {error}"),
            CmdError::Failed {
                cmdline,
                status,
                text,
            } => write!(f, "`{cmdline}` failed ({status}): {}", text.trim_end()),
            CmdError::Timeout {
                cmdline,
                after,
                text,
            } => {
                write!(
                    f,
                    "`{cmdline}` did not finish within {after:?} and was killed: {}",
                    text.trim_end()
                )
            }
        }
    }
}

impl std::error::Error for CmdError {}

static SCRATCH: AtomicU32 = AtomicU32::new(0);

/// Runs `program args` with stdin from /dev/null; kills it after `timeout`.
/// A non-zero exit is not an error here (see [`run_ok`]).
pub fn run(program: &str, args: &[&str], timeout: Duration) -> Result<Output, CmdError> {
    let cmdline = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let path = std::env::temp_dir().join(format!(
        "srrd-raid1-{}-{}.out",
        std::process::id(),
        SCRATCH.fetch_add(1, Ordering::Relaxed)
    ));
    let spawn_err = |error| CmdError::Spawn {
        cmdline: cmdline.clone(),
        error,
    };
    let mut out = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(spawn_err)?;
    let _ = std::fs::remove_file(&path);
    let err = out.try_clone().map_err(spawn_err)?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(spawn_err)?)
        .stderr(err)
        .spawn()
        .map_err(spawn_err)?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(spawn_err(e)),
        }
    };
    let status = match status {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(CmdError::Timeout {
                cmdline,
                after: timeout,
                text: read_all(&mut out),
            });
        }
    };
    Ok(Output {
        status,
        text: read_all(&mut out),
    })
}

/// Like [`run`], and a non-zero exit is an error carrying the output.
pub fn run_ok(program: &str, args: &[&str], timeout: Duration) -> Result<String, CmdError> {
    let o = run(program, args, timeout)?;
    if o.status.success() {
        Ok(o.text)
    } else {
        let cmdline = std::iter::once(program)
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        Err(CmdError::Failed {
            cmdline,
            status: o.status,
            text: o.text,
        })
    }
}

fn read_all(f: &mut File) -> String {
    let mut bytes = vec![];
    let _ = f.rewind().and_then(|_| f.read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}
