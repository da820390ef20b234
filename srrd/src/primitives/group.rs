//! Killing a primitive's process group. Every run is the leader of its own
//! group (pgid = its pid), so `make`, its shell and whatever they started
//! without `setsid` die together.

use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use tokio::process::Child;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use super::KILL_GRACE;

const POLL: Duration = Duration::from_millis(50);
/// How long after SIGKILL to wait for the group's members to be gone.
const KILL_SETTLE: Duration = Duration::from_secs(1);

/// SIGTERM to the group; SIGKILL to whatever of it is still alive after
/// `KILL_GRACE`. Returns once the leader is reaped (no zombie is left
/// behind; members reparent to init, which reaps them) and the killed
/// members have exited, or `KILL_SETTLE` after the SIGKILL at the latest
/// (a process in uninterruptible sleep dies only when its I/O returns).
pub(super) async fn terminate(child: &mut Child, pgid: i32) -> Option<ExitStatus> {
    if pgid <= 1 {
        // No group of ours to signal (see `signal`): the leader at least.
        let _ = child.start_kill();
        return child.wait().await.ok();
    }
    signal(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + KILL_GRACE;
    let leader = timeout_at(deadline, child.wait()).await;
    // The leader may be gone while members that ignore SIGTERM, or are
    // still cleaning up, live on: they get the rest of the grace.
    loop {
        if !has_live_members(pgid) {
            break;
        }
        if Instant::now() >= deadline {
            signal(pgid, Signal::SIGKILL);
            // SIGKILL is delivered asynchronously: the members are gone
            // only once the kernel has run their exit.
            let settled = Instant::now() + KILL_SETTLE;
            while has_live_members(pgid) && Instant::now() < settled {
                sleep(Duration::from_millis(5)).await;
            }
            break;
        }
        sleep_until(deadline.min(Instant::now() + POLL)).await;
    }
    match leader {
        Ok(Ok(status)) => Some(status),
        _ => child.wait().await.ok(),
    }
}

pub(crate) fn signal(pgid: i32, sig: Signal) {
    // killpg(1, ..) is init's group, and killpg(0, ..) our own: only ever
    // a real child's group.
    if pgid <= 1 {
        return;
    }
    // ESRCH: the group is already gone, which is what we want.
    let _ = killpg(Pid::from_raw(pgid), sig);
}

/// Whether a process of the group is alive. Zombies do not count: killed
/// members reparent to init, and an init that does not reap (some
/// containers) would otherwise hold every kill for the full grace.
fn has_live_members(pgid: i32) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        // No signal: only checks that the group exists.
        return killpg(Pid::from_raw(pgid), None).is_ok();
    };
    procs.flatten().any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()));
        is_pid
            && std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|stat| live_group_of(&stat))
                == Some(pgid)
    })
}

/// The process group of a live process, from its `/proc/PID/stat` line:
/// `pid (comm) state ppid pgrp ...`; comm may itself hold `)` or spaces.
fn live_group_of(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let _ppid = fields.next()?;
    fields.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines() {
        assert_eq!(
            live_group_of("7476 (sleep) S 1 7473 4740 0 -1 4227084"),
            Some(7473)
        );
        assert_eq!(live_group_of("7476 (sleep) Z 1 7473 4740 0"), None);
        assert_eq!(live_group_of("12 (a) b (c) R 1 99 4740"), Some(99));
        assert_eq!(live_group_of("garbage"), None);
    }
}
