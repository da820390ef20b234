//! Southbound: runs service primitives (docs/primitives.md) as child
//! processes, asynchronously (the 2002 daemon blocked on each `make`). `Runner::start` returns at once; each run ends
//! in one `Finished` on the channel given to `Runner::new`.
//!
//! The rules a primitives file sees (how it is run, exit codes, environment,
//! output, timeouts) are in `docs/primitives.md`.

mod group;
mod output;
mod run;

pub(crate) use group::signal as signal_group;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::engine::{OpId, PrimitiveResult};
use crate::model::Primitive;

/// `Finished::output` holds at most this many bytes: the end of the
/// combined stdout and stderr.
pub const OUTPUT_TAIL: usize = 4096;
/// Between SIGTERM and SIGKILL when a run is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(2);
/// sysexits.h EX_TEMPFAIL: the primitive's "recall" (not done, ask again).
pub const EX_TEMPFAIL: i32 = 75;
/// PATH of every primitive unless the invocation's `env` sets its own.
pub const SANE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Names of the environment variables the daemon hands to primitives
/// (docs/primitives.md has what each holds).
pub mod vars {
    pub const SERVICE: &str = "SRRD_SERVICE";
    pub const PRIMITIVE: &str = "SRRD_PRIMITIVE";
    pub const NODE: &str = "SRRD_NODE";
    pub const ROUTER_ID: &str = "SRRD_ROUTER_ID";
    pub const PEER: &str = "SRRD_PEER";
    pub const PEERS: &str = "SRRD_PEERS";
    pub const ADDRESSES: &str = "SRRD_ADDRESSES";
    pub const KIND: &str = "SRRD_KIND";
    pub const STATE_DIR: &str = "SRRD_STATE_DIR";
}

/// One primitive to run.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub op: OpId,
    pub service: String,
    pub primitive: Primitive,
    /// A Makefile or an executable.
    pub path: PathBuf,
    pub timeout: Duration,
    /// The child's whole environment besides PATH (see `vars`).
    pub env: Vec<(String, String)>,
    /// How long to wait before running it (a drain before `stop`);
    /// `timeout` counts from the end of the wait.
    pub delay: Duration,
}

/// A run that ended (exited, timed out, or could not start).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub op: OpId,
    pub service: String,
    pub primitive: Primitive,
    pub result: PrimitiveResult,
    /// The last `OUTPUT_TAIL` bytes of stdout and stderr, interleaved as
    /// they arrived.
    pub output: String,
    pub elapsed: Duration,
}

struct RunHandle {
    /// `None` once cancelled: the task is killing the group.
    cancel: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Runs primitives concurrently, each in its own process group. Dropping
/// the runner leaves its runs to end on their own (call `shutdown` to kill
/// them); their results still go to `done`.
pub struct Runner {
    done: mpsc::UnboundedSender<Finished>,
    runs: HashMap<OpId, RunHandle>,
}

impl Runner {
    /// Results are sent on `done` as each run ends.
    pub fn new(done: mpsc::UnboundedSender<Finished>) -> Runner {
        Runner {
            done,
            runs: HashMap::new(),
        }
    }

    /// Starts the run in the background and returns at once; must be
    /// called inside a tokio runtime. Even a run that cannot start (missing
    /// file) reports through `done`, never here.
    pub fn start(&mut self, inv: Invocation) {
        self.runs.retain(|_, run| !run.task.is_finished());
        if self.runs.contains_key(&inv.op) {
            // The engine never reuses an op id; the older run is surely
            // unwanted.
            tracing::error!(op = inv.op.0, service = %inv.service,
                "primitive op id started twice; cancelling the earlier run");
            self.cancel(inv.op);
        }
        let (cancel, cancelled) = oneshot::channel();
        let op = inv.op;
        // The run logs inside the caller's span (the daemon's `node` field).
        let run = run::run(inv, cancelled, self.done.clone());
        let task = tokio::spawn(tracing::Instrument::in_current_span(run));
        self.runs.insert(
            op,
            RunHandle {
                cancel: Some(cancel),
                task,
            },
        );
    }

    /// Kills the run's whole process group: SIGTERM, then SIGKILL after
    /// `KILL_GRACE`. No `Finished` is sent for a cancelled run — the caller
    /// already stopped waiting for it. A run that ended just before the
    /// cancel may still have sent its `Finished`; the engine ignores results
    /// for ops it no longer waits for. Unknown or ended ops are ignored.
    pub fn cancel(&mut self, op: OpId) {
        if let Some(cancel) = self.runs.get_mut(&op).and_then(|run| run.cancel.take()) {
            // Fails only if the run already ended: nothing left to kill.
            let _ = cancel.send(());
        }
    }

    /// Runs whose child is not yet reaped, those being killed included.
    pub fn running(&self) -> usize {
        self.runs
            .values()
            .filter(|run| !run.task.is_finished())
            .count()
    }

    /// Kills every run (as `cancel`, all at once) and returns when all are
    /// reaped: at most `KILL_GRACE` plus a little. For daemon exit.
    pub async fn shutdown(&mut self) {
        let ops: Vec<OpId> = self.runs.keys().copied().collect();
        for op in ops {
            self.cancel(op);
        }
        for (op, run) in self.runs.drain() {
            if let Err(e) = run.task.await {
                tracing::error!(op = op.0, "primitive task ended abnormally: {e}");
            }
        }
    }
}
