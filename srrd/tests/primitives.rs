//! The primitive runner against real processes: `sh` scripts and GNU make
//! in throw-away directories under the system temp dir.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use srrd::engine::{OpId, PrimitiveResult};
use srrd::model::{Failure, Primitive};
use srrd::primitives::{vars, Finished, Invocation, Runner, OUTPUT_TAIL};
use tokio::sync::mpsc;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "srrd-primitives-{}-{name}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write test file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        self.file(name, &format!("#!/bin/sh\n{body}\n"), 0o755)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn invocation(op: u64, path: &Path, primitive: Primitive, timeout: Duration) -> Invocation {
    Invocation {
        op: OpId(op),
        service: "web".to_string(),
        primitive,
        path: path.to_owned(),
        timeout,
        env: Vec::new(),
        delay: Duration::ZERO,
    }
}

fn runner() -> (Runner, mpsc::UnboundedReceiver<Finished>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Runner::new(tx), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Finished>) -> Finished {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a primitive reports within 10 s")
        .expect("runner alive")
}

/// Runs each primitive of `cases` once and checks its result.
async fn check_results(path: &Path, cases: &[(Primitive, PrimitiveResult)]) {
    let (mut runner, mut rx) = runner();
    for (i, (primitive, _)) in cases.iter().enumerate() {
        runner.start(invocation(
            i as u64,
            path,
            *primitive,
            Duration::from_secs(5),
        ));
    }
    let mut got = HashMap::new();
    for _ in cases {
        let f = next(&mut rx).await;
        got.insert(f.op.0, f);
    }
    for (i, (primitive, want)) in cases.iter().enumerate() {
        let f = &got[&(i as u64)];
        assert_eq!(f.primitive, *primitive);
        assert_eq!(
            &f.result,
            want,
            "{primitive} of {}: output {:?}",
            path.display(),
            f.output
        );
    }
}

/// Waits (without blocking the runtime the runs live on) for a pid file.
async fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Gone or a zombie: killed processes reparent to init, and the init of
/// some containers never reaps.
fn pid_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn exit_codes_of_an_executable() {
    let dir = TempDir::new("exec");
    let path = dir.script(
        "web.sh",
        r#"case "$1" in
  start) exit 0 ;;
  stop) exit 3 ;;
  check) exit 75 ;;
  status) kill -KILL $$ ;;
esac
exit 9"#,
    );
    check_results(
        &path,
        &[
            (Primitive::Start, PrimitiveResult::Ok),
            (Primitive::Stop, PrimitiveResult::Failed(3)),
            (Primitive::Check, PrimitiveResult::Recall),
            (Primitive::Status, PrimitiveResult::Failed(128 + 9)),
            (Primitive::Reload, PrimitiveResult::Failed(9)),
        ],
    )
    .await;
}

#[tokio::test]
async fn exit_codes_of_a_makefile() {
    let dir = TempDir::new("make");
    let path = dir.file(
        "Makefile",
        ".PHONY: start stop check restart\n\
         start:\n\t@echo starting\n\
         stop:\n\t@exit 3\n\
         check:\n\t@true\n\t@exit 75\n\
         restart:\n\t@$(MAKE) -s -f $(firstword $(MAKEFILE_LIST)) check\n",
        0o644,
    );
    check_results(
        &path,
        &[
            (Primitive::Start, PrimitiveResult::Ok),
            (Primitive::Stop, PrimitiveResult::Failed(3)),
            (Primitive::Check, PrimitiveResult::Recall),
            // A sub-make's recipe code comes through too.
            (Primitive::Restart, PrimitiveResult::Recall),
            // No such target: make's own failure.
            (Primitive::Reload, PrimitiveResult::Failed(2)),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_file_that_is_not_executable_is_a_makefile() {
    let dir = TempDir::new("plain");
    let path = dir.file("web.rules", "start:\n\t@exit 0\nstop:\n\t@exit 4\n", 0o644);
    check_results(
        &path,
        &[
            (Primitive::Start, PrimitiveResult::Ok),
            (Primitive::Stop, PrimitiveResult::Failed(4)),
        ],
    )
    .await;
}

#[tokio::test]
async fn missing_file_fails_127() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("nope.mk");
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        1,
        &path,
        Primitive::Start,
        Duration::from_secs(5),
    ));
    let f = next(&mut rx).await;
    assert_eq!(f.result, PrimitiveResult::Failed(127));
    assert!(f.output.contains("nope.mk"), "{:?}", f.output);
}

#[tokio::test]
async fn timeout_kills_the_process_group() {
    let dir = TempDir::new("timeout");
    let path = dir.script(
        "hang",
        "echo $$ > leader.pid\nsleep 60 &\necho $! > child.pid\nsleep 60",
    );
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        1,
        &path,
        Primitive::Start,
        Duration::from_millis(300),
    ));
    let f = next(&mut rx).await;
    assert_eq!(
        f.result,
        PrimitiveResult::Failed(Failure::PRIMITIVE_TIMEOUT)
    );
    assert!(f.elapsed < Duration::from_secs(2), "{:?}", f.elapsed);
    let (leader, child) = (
        read_pid(&dir.0.join("leader.pid")).await,
        read_pid(&dir.0.join("child.pid")).await,
    );
    assert!(pid_gone(leader), "leader {leader} alive");
    assert!(pid_gone(child), "child {child} alive");
    assert_eq!(runner.running(), 0);
}

#[tokio::test]
async fn a_group_that_ignores_sigterm_is_killed_after_the_grace() {
    let dir = TempDir::new("stubborn");
    let path = dir.script(
        "stubborn",
        "trap '' TERM\nsleep 60 &\necho $! > child.pid\nsleep 60",
    );
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        1,
        &path,
        Primitive::Stop,
        Duration::from_millis(100),
    ));
    let f = next(&mut rx).await;
    assert_eq!(
        f.result,
        PrimitiveResult::Failed(Failure::PRIMITIVE_TIMEOUT)
    );
    assert!(
        f.elapsed >= Duration::from_secs(2) && f.elapsed < Duration::from_secs(4),
        "{:?}",
        f.elapsed
    );
    let child = read_pid(&dir.0.join("child.pid")).await;
    assert!(pid_gone(child), "child {child} alive");
}

#[tokio::test]
async fn cancel_kills_and_reports_nothing() {
    let dir = TempDir::new("cancel");
    let path = dir.script(
        "slow",
        "echo $$ > leader.pid\nsleep 60 &\necho $! > child.pid\nwait",
    );
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        7,
        &path,
        Primitive::Start,
        Duration::from_secs(30),
    ));
    let leader = read_pid(&dir.0.join("leader.pid")).await;
    let child = read_pid(&dir.0.join("child.pid")).await;
    assert_eq!(runner.running(), 1);
    runner.cancel(OpId(7));
    let deadline = Instant::now() + Duration::from_secs(4);
    while runner.running() > 0 {
        assert!(Instant::now() < deadline, "cancelled run never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(pid_gone(leader) && pid_gone(child));
    assert!(rx.try_recv().is_err(), "a cancelled run reported");
}

#[tokio::test]
async fn shutdown_kills_everything() {
    let dir = TempDir::new("shutdown");
    let path = dir.script(
        "slow",
        "echo $$ > \"leader-$SRRD_SERVICE.pid\"\nexec sleep 60",
    );
    let (mut runner, mut rx) = runner();
    for i in 0..3 {
        let mut inv = invocation(i, &path, Primitive::Start, Duration::from_secs(30));
        inv.env = vec![(vars::SERVICE.to_string(), format!("s{i}"))];
        runner.start(inv);
    }
    let mut pids = Vec::new();
    for i in 0..3 {
        pids.push(read_pid(&dir.0.join(format!("leader-s{i}.pid"))).await);
    }
    let began = Instant::now();
    runner.shutdown().await;
    assert!(
        began.elapsed() < Duration::from_secs(2),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(runner.running(), 0);
    assert!(pids.iter().all(|&pid| pid_gone(pid)));
    assert!(rx.try_recv().is_err());
}

#[tokio::test]
async fn environment_arrives() {
    let dir = TempDir::new("env");
    let path = dir.script(
        "show-env",
        r#"echo "service=$SRRD_SERVICE primitive=$SRRD_PRIMITIVE peers=$SRRD_PEERS"
echo "path=$PATH"
echo "home=${HOME-unset}"
echo "cwd=$(pwd)"
read line; echo "stdin=$?""#,
    );
    let (mut runner, mut rx) = runner();
    let mut inv = invocation(1, &path, Primitive::Join, Duration::from_secs(5));
    inv.env = vec![
        (vars::SERVICE.into(), "web".into()),
        (vars::PRIMITIVE.into(), "join".into()),
        (vars::PEERS.into(), "10.0.0.1 10.0.0.2".into()),
    ];
    runner.start(inv);
    let f = next(&mut rx).await;
    assert_eq!(f.result, PrimitiveResult::Ok);
    let out = &f.output;
    assert!(
        out.contains("service=web primitive=join peers=10.0.0.1 10.0.0.2\n"),
        "{out}"
    );
    assert!(out.contains("path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
    // Nothing of the daemon's own environment leaks in.
    assert!(out.contains("home=unset\n"), "{out}");
    let cwd = dir.0.canonicalize().expect("temp dir");
    assert!(out.contains(&format!("cwd={}\n", cwd.display())), "{out}");
    // stdin is /dev/null: `read` sees end of file at once.
    assert!(out.contains("stdin=1\n"), "{out}");
}

#[tokio::test]
async fn output_tail_is_bounded() {
    let dir = TempDir::new("output");
    let path = dir.script(
        "chatty",
        "head -c 1048576 /dev/zero | tr '\\0' x\necho\nhead -c 300000 /dev/zero | tr '\\0' y >&2\necho last words",
    );
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        1,
        &path,
        Primitive::Status,
        Duration::from_secs(10),
    ));
    let f = next(&mut rx).await;
    assert_eq!(f.result, PrimitiveResult::Ok);
    assert!(f.output.len() <= OUTPUT_TAIL, "{}", f.output.len());
    assert!(f.output.len() > OUTPUT_TAIL - 100, "{}", f.output.len());
    assert!(
        f.output.ends_with("last words\n"),
        "{:?}",
        &f.output[f.output.len() - 40..]
    );
    assert!(f.output.contains("yyyy"));
}

#[tokio::test]
async fn a_background_process_holding_the_output_does_not_hold_the_result() {
    let dir = TempDir::new("background");
    let path = dir.script("daemonish", "sleep 3 &\necho started");
    let (mut runner, mut rx) = runner();
    runner.start(invocation(
        1,
        &path,
        Primitive::Start,
        Duration::from_secs(10),
    ));
    let f = next(&mut rx).await;
    assert_eq!(f.result, PrimitiveResult::Ok);
    assert!(f.elapsed < Duration::from_secs(1), "{:?}", f.elapsed);
    assert_eq!(f.output, "started\n");
}

#[tokio::test]
async fn twenty_concurrent_runs_all_report() {
    let dir = TempDir::new("many");
    let path = dir.script("code", "sleep 0.3\nexit $CODE");
    let (mut runner, mut rx) = runner();
    let began = Instant::now();
    for i in 0..20u64 {
        let mut inv = invocation(i, &path, Primitive::Check, Duration::from_secs(10));
        inv.env = vec![("CODE".into(), (i % 4).to_string())];
        runner.start(inv);
    }
    assert!(
        began.elapsed() < Duration::from_millis(200),
        "start blocked"
    );
    assert_eq!(runner.running(), 20);
    let mut seen = HashMap::new();
    for _ in 0..20 {
        let f = next(&mut rx).await;
        seen.insert(f.op.0, f.result);
    }
    assert!(
        began.elapsed() < Duration::from_secs(4),
        "{:?}",
        began.elapsed()
    );
    for i in 0..20u64 {
        let want = match i % 4 {
            0 => PrimitiveResult::Ok,
            n => PrimitiveResult::Failed(n as u32),
        };
        assert_eq!(seen[&i], want, "op {i}");
    }
}
