//! One run of one primitive, from spawn to reaped child.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout_at, Instant};

use super::output::{self, Captured, LogContext, SharedCapture, Stream};
use super::{group, Finished, Invocation, EX_TEMPFAIL, SANE_PATH};
use crate::engine::PrimitiveResult;
use crate::model::{Failure, Primitive};

/// How long the output may still trickle in after the child exited. Only
/// a background process that kept the pipes open makes us wait this long.
const OUTPUT_GRACE: Duration = Duration::from_millis(200);
/// `exec` of a file another thread of ours is still writing (or that a
/// concurrent fork briefly holds open for writing) fails with ETXTBSY.
const TEXT_BUSY_RETRIES: u32 = 5;
const TEXT_BUSY_PAUSE: Duration = Duration::from_millis(20);

/// The shell's convention: 127 = not found, 126 = found but not runnable.
const NOT_FOUND: u32 = 127;
const NOT_RUNNABLE: u32 = 126;

/// How a primitives file is run (docs/primitives.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// `make -s -f FILE TARGET` in the file's directory.
    Make { file: PathBuf, dir: PathBuf },
    /// `FILE TARGET` in the file's directory.
    Exec { file: PathBuf, dir: PathBuf },
}

#[derive(Debug, thiserror::Error)]
pub(super) enum PlanError {
    #[error("primitives file {path} does not exist")]
    Missing { path: PathBuf },
    #[error("primitives file {path} cannot be read: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("primitives file {path} is not a regular file")]
    NotAFile { path: PathBuf },
}

impl PlanError {
    fn exit_code(&self) -> u32 {
        match self {
            PlanError::Missing { .. } => NOT_FOUND,
            PlanError::Unreadable { .. } | PlanError::NotAFile { .. } => NOT_RUNNABLE,
        }
    }
}

pub(super) fn plan(path: &Path) -> Result<Plan, PlanError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => PlanError::Missing {
            path: path.to_owned(),
        },
        _ => PlanError::Unreadable {
            path: path.to_owned(),
            source,
        },
    })?;
    if !meta.is_file() {
        return Err(PlanError::NotAFile {
            path: path.to_owned(),
        });
    }
    // The child runs in the file's directory, so the path must not be
    // relative to ours.
    let file = std::path::absolute(path).map_err(|source| PlanError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let executable = meta.permissions().mode() & 0o111 != 0;
    if is_makefile_name(&file) || !executable {
        Ok(Plan::Make { file, dir })
    } else {
        Ok(Plan::Exec { file, dir })
    }
}

fn is_makefile_name(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    matches!(name, "Makefile" | "makefile" | "GNUmakefile")
        || matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("mk" | "make")
        )
}

fn command(plan: &Plan, inv: &Invocation) -> Command {
    let target = inv.primitive.target();
    let (mut cmd, dir) = match plan {
        Plan::Make { file, dir } => {
            let mut cmd = Command::new("make");
            cmd.arg("-s").arg("-f").arg(file).arg(target);
            (cmd, dir)
        }
        Plan::Exec { file, dir } => {
            let mut cmd = Command::new(file);
            cmd.arg(target);
            (cmd, dir)
        }
    };
    // Nothing of the daemon's environment leaks in (MAKEFLAGS of a make
    // that started srrd, a stray LD_PRELOAD, ...); the daemon's `env` may
    // still override PATH.
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", SANE_PATH)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        // Only for a runtime torn down under a live run: the normal paths
        // kill the whole group and reap the child themselves.
        .kill_on_drop(true);
    cmd
}

async fn spawn(cmd: &mut Command) -> io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < TEXT_BUSY_RETRIES => {
                tries += 1;
                sleep(TEXT_BUSY_PAUSE).await;
            }
            other => return other,
        }
    }
}

/// Maps a wait status (docs/primitives.md): 0 ok, 75 recall, n failed(n),
/// signal s failed(128+s). `make` exits 2 for any failed recipe; its error
/// line on stderr names the recipe's own code, which is what counts.
pub(super) fn result_of(status: ExitStatus, make_error: Option<u32>) -> PrimitiveResult {
    match (status.code(), status.signal()) {
        (Some(2), _) => code_result(make_error.unwrap_or(2)),
        (Some(code), _) => code_result(code as u32),
        (None, Some(sig)) => PrimitiveResult::Failed(128 + sig as u32),
        (None, None) => PrimitiveResult::Failed(NOT_RUNNABLE),
    }
}

fn code_result(code: u32) -> PrimitiveResult {
    match code {
        0 => PrimitiveResult::Ok,
        c if c == EX_TEMPFAIL as u32 => PrimitiveResult::Recall,
        c => PrimitiveResult::Failed(c),
    }
}

enum End {
    Exited(io::Result<ExitStatus>),
    TimedOut,
    Cancelled,
}

/// The body of a run's task. Sends exactly one `Finished`, unless the run
/// was cancelled.
pub(super) async fn run(
    inv: Invocation,
    mut cancel: oneshot::Receiver<()>,
    done: mpsc::UnboundedSender<Finished>,
) {
    if !inv.delay.is_zero() {
        tokio::select! {
            _ = sleep(inv.delay) => {}
            // Cancelled while waiting: nothing ran, nothing to report.
            _ = &mut cancel => return,
        }
    }
    let began = Instant::now();
    let (service, primitive, op) = (inv.service.as_str(), inv.primitive, inv.op.0);
    let finish = |result: PrimitiveResult, output: String| {
        let finished = Finished {
            op: inv.op,
            service: inv.service.clone(),
            primitive: inv.primitive,
            result,
            output,
            elapsed: began.elapsed(),
        };
        if done.send(finished).is_err() {
            tracing::debug!(service = %service, %primitive, op, "primitive result dropped: nobody listens");
        }
    };

    let plan = match plan(&inv.path) {
        Ok(plan) => plan,
        Err(e) => {
            tracing::error!(service = %service, %primitive, op, "cannot run primitive: {e}");
            let code = e.exit_code();
            finish(PrimitiveResult::Failed(code), e.to_string());
            return;
        }
    };
    let mut child = match spawn(&mut command(&plan, &inv)).await {
        Ok(child) => child,
        Err(e) => {
            let what = match &plan {
                Plan::Make { .. } => Path::new("make"),
                Plan::Exec { file, .. } => file.as_path(),
            };
            let code = match e.kind() {
                io::ErrorKind::NotFound => NOT_FOUND,
                _ => NOT_RUNNABLE,
            };
            let text = format!("cannot execute {}: {e}", what.display());
            tracing::error!(service = %service, %primitive, op, "{text}");
            finish(PrimitiveResult::Failed(code), text);
            return;
        }
    };
    // A spawned child that has not been waited for always has its pid.
    let pgid = child.id().map_or(0, |pid| pid as i32);
    tracing::debug!(service = %service, %primitive, op, pid = pgid, ?plan, "primitive started");

    let ctx = LogContext {
        service: inv.service.clone(),
        primitive,
        op: inv.op,
        make: matches!(plan, Plan::Make { .. }),
    };
    let captured: SharedCapture = Arc::new(std::sync::Mutex::new(Captured::default()));
    let mut readers: Vec<JoinHandle<()>> = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(tracing::Instrument::in_current_span(
            output::drain(out, Stream::Stdout, captured.clone(), ctx.clone()),
        )));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(tracing::Instrument::in_current_span(
            output::drain(err, Stream::Stderr, captured.clone(), ctx),
        )));
    }

    let end = tokio::select! {
        status = child.wait() => End::Exited(status),
        _ = sleep(inv.timeout) => End::TimedOut,
        // A dropped sender (runner gone) is no cancel: the branch is off.
        Ok(()) = &mut cancel => End::Cancelled,
    };
    let outcome = match end {
        End::Cancelled => {
            tracing::info!(service = %service, %primitive, op, "primitive cancelled; killing its process group");
            group::terminate(&mut child, pgid).await;
            return;
        }
        End::TimedOut => {
            tracing::warn!(service = %service, %primitive, op, timeout = ?inv.timeout,
                "primitive timed out; killing its process group");
            group::terminate(&mut child, pgid).await;
            Err(PrimitiveResult::Failed(Failure::PRIMITIVE_TIMEOUT))
        }
        End::Exited(Err(e)) => {
            tracing::error!(service = %service, %primitive, op, "waiting for the primitive failed: {e}");
            group::terminate(&mut child, pgid).await;
            Err(PrimitiveResult::Failed(NOT_RUNNABLE))
        }
        End::Exited(Ok(status)) => Ok(status),
    };
    collect(readers, service, primitive, op).await;
    let (result, output) = {
        let captured = output::lock(&captured);
        let result = match outcome {
            Ok(status) => result_of(status, captured.make_error),
            Err(result) => result,
        };
        (result, captured.tail.text())
    };
    tracing::info!(service = %service, %primitive, op, ?result, elapsed = ?began.elapsed(), "primitive ended");
    finish(result, output);
}

/// Waits for both pipes to reach their end, at most `OUTPUT_GRACE`. A
/// reader still busy after that is left running: it logs whatever the
/// background process that holds the pipe prints, until it closes it.
async fn collect(readers: Vec<JoinHandle<()>>, service: &str, primitive: Primitive, op: u64) {
    let deadline = Instant::now() + OUTPUT_GRACE;
    let mut held = false;
    for mut reader in readers {
        held |= timeout_at(deadline, &mut reader).await.is_err();
    }
    if held {
        tracing::warn!(service = %service, %primitive, op,
            "a background process still holds the primitive's stdout/stderr; \
             redirect its output (and setsid it) in the primitive");
    }
}
