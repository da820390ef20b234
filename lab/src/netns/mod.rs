//! The one place that builds network-namespace labs with real FRR for the
//! integration tests: namespaces, veths and bridges, FRR configs, every
//! process a test starts, and the cleanup of all of it.
//!
//! The recipe and its pitfalls were measured in
//! docs/frr.md; the configs follow `docs/frr.md`.
//! Nothing is ever added to the root namespace: veths are created inside
//! the namespaces, and the LANs are bridges in a switch namespace `sw`, so a
//! dead node gives its neighbours no carrier loss (they must notice by
//! hellos or BFD, as on a real switch).
//!
//! Namespaces are `<prefix><node>` with `prefix = st<pid % 1000><n>-`; the
//! lab dir `/tmp/srrd-lab-st<pid % 1000><n>` holds the owner (pid and start
//! time, for `sweep_stale`), and per node the FRR configs, pid files, vty
//! sockets, FRR logs and the stdout/stderr of every process (`<name>.out`).
//! `SRRD_LAB_KEEP=1` keeps the dir after the lab is dropped.
//!
//! One lab at a time per test process: `Lab::new` waits for the previous
//! one to be dropped (labs running side by side on 2 cores skew timings).
//!
//! A lab can also outlive its process (the `srrd-lab up` / `down` runner):
//! `Lab::persistent(id)` builds it under namespaces `lab-<id>-<node>` and
//! `/tmp/srrd-lab-<id>`, `leave_running` saves what `reattach(id)` needs to
//! take it over again (nodes, links, processes by pid and start time), and
//! `destroy(id)` tears it down, also after a crashed run.

mod frr;
mod process;
mod topology;

pub use frr::BFD_PROFILE;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::process::CommandExt;

use nix::sched::CloneFlags;
pub use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// First letters of every lab namespace (see `sweep_stale`).
pub const BASE: &str = "st";
const FRR: &str = "/usr/lib/frr";
/// The FRR daemons a node may run, in start order: zebra first, ospfd
/// last (its API server listening is what `start_frr` waits for).
pub const FRR_DAEMONS: [&str; 4] = ["zebra", "bfdd", "ospf6d", "ospfd"];
/// The ones every FRR node needs a config for; the others are optional.
pub const REQUIRED_FRR_DAEMONS: [&str; 2] = ["zebra", "ospfd"];
const LAB_DIRS: &str = "/tmp/srrd-lab-";
/// First letters of a persistent lab's namespaces: `lab-<id>-<node>`.
const PERSISTENT: &str = "lab-";
/// What `leave_running` writes into the lab dir for `reattach`.
const SAVED_STATE: &str = "lab.json";
const POLL: Duration = Duration::from_millis(10);
/// How long a client gets to exit after SIGTERM at teardown.
const CLIENT_GRACE: Duration = Duration::from_secs(3);

/// OSPF timers of every router in a lab (hello and dead intervals must
/// match on a segment; docs/frr.md, "Line by line").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Dead interval 1 s (hello 250 ms), SPF throttle 0/50/500, no LSA
    /// throttle, MinLSArrival 0: Full in about 5 s, a dead peer is seen
    /// after 0.75–1.0 s.
    Fast,
    /// `Fast` plus BFD 50 ms x 3 on every OSPF interface (bfdd): a dead
    /// peer is seen after 25–200 ms.
    Bfd,
}

/// A process the lab started; the lab keeps the `Child` and kills it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ProcHandle {
    pub pid: u32,
    pub node: String,
    pub name: String,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl ProcHandle {
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Anything a test spawns (srrd, a web server, a probe): may be an OSPF
    /// API client, so it is stopped before ospfd (docs/frr.md, "Stop srrd before ospfd").
    Client,
    /// An FRR daemon, one of `FRR_DAEMONS`.
    Frr(&'static str),
}

impl Kind {
    fn text(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Frr(daemon) => daemon,
        }
    }

    fn from_text(text: &str) -> Option<Kind> {
        match text {
            "client" => Some(Kind::Client),
            _ => FRR_DAEMONS.into_iter().find(|d| *d == text).map(Kind::Frr),
        }
    }
}

struct Proc {
    handle: ProcHandle,
    kind: Kind,
    /// None for a process of an attached lab: started by an earlier run,
    /// known by pid and start time only (no exit status).
    child: Option<Child>,
    start_time: u64,
}

impl Proc {
    fn running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => pid_alive(self.handle.pid, self.start_time),
        }
    }

    /// Waits for the exit of a process that was signalled to die.
    fn reap(&mut self) {
        match &mut self.child {
            Some(child) => {
                let _ = child.wait();
            }
            None => {
                let (pid, start) = (self.handle.pid, self.start_time);
                wait_for(Duration::from_secs(5), || !pid_alive(pid, start));
            }
        }
    }
}

#[derive(Default)]
struct State {
    /// Node names in creation order.
    nodes: Vec<String>,
    /// Interfaces (other than lo) of each node, for link_down/up.
    links: BTreeMap<String, Vec<String>>,
    /// Nodes with FRR configs, and the daemons configured there.
    frr: BTreeMap<String, BTreeSet<String>>,
    procs: Vec<Proc>,
}

/// A lab as `leave_running` saves it for `reattach`.
#[derive(serde::Serialize, serde::Deserialize)]
struct SavedLab {
    name: String,
    nodes: Vec<String>,
    links: BTreeMap<String, Vec<String>>,
    frr: BTreeMap<String, BTreeSet<String>>,
    procs: Vec<SavedProc>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SavedProc {
    handle: ProcHandle,
    kind: String,
    start_time: u64,
}

pub struct Lab {
    name: String,
    prefix: String,
    dir: PathBuf,
    state: Mutex<State>,
    /// Set by `leave_running`: Drop leaves namespaces and processes alone.
    keep_running: bool,
    _one_at_a_time: OneLabAtATime,
}

/// Panics unless we are root: the labs need namespaces and FRR. CI runs as
/// root, so the tests run there rather than skip.
pub fn require_root() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test builds network namespaces and runs FRR: run it as root (CI does)");
    }
    if !Path::new(FRR).join("ospfd").exists() {
        panic!("{FRR}/ospfd is missing: apt-get install frr (see .ci/run)");
    }
}

/// Polls `cond` every 10 ms until it holds (returns how long that took) or
/// `timeout` has passed (returns None).
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if cond() {
            return Some(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return None;
        }
        thread::sleep(POLL);
    }
}

/// Tries `attempt` every `period` until it succeeds or `timeout` has
/// passed; the error then says why the last attempt failed.
pub fn retry<T>(
    timeout: Duration,
    period: Duration,
    mut attempt: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match attempt() {
            Ok(v) => return Ok(v),
            Err(why) if start.elapsed() >= timeout => {
                return Err(format!("not reached after {timeout:?}: {why}"))
            }
            Err(_) => thread::sleep(period),
        }
    }
}

impl Lab {
    /// An empty lab. `name` only labels its messages.
    pub fn new(name: &str) -> Lab {
        require_root();
        let one_at_a_time = OneLabAtATime::acquire();
        Lab::sweep_stale(BASE);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let pid = std::process::id();
        // Creating the dir claims the prefix, also against other processes
        // whose pid % 1000 is ours.
        let (prefix, dir) = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let prefix = format!("{BASE}{:03}{n}-", pid % 1000);
            let dir = lab_dir(&prefix);
            match fs::create_dir(&dir) {
                Ok(()) => break (prefix, dir),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("lab {name}: cannot create {}: {e}", dir.display()),
            }
        };
        let start_time = process_start_time(pid).unwrap_or(0);
        fs::write(dir.join("owner"), format!("{pid} {start_time}\n{name}\n"))
            .unwrap_or_else(|e| panic!("lab {name}: {}: {e}", dir.display()));
        // The FRR daemons run as user frr and must reach their node dirs.
        run_ok(Command::new("chmod").arg("755").arg(&dir));
        eprintln!(
            "lab {name}: namespaces {prefix}*, files in {}",
            dir.display()
        );
        Lab {
            name: name.to_string(),
            prefix,
            dir,
            state: Mutex::new(State::default()),
            keep_running: false,
            _one_at_a_time: one_at_a_time,
        }
    }

    /// An empty lab meant to outlive this process (`leave_running`):
    /// namespaces `lab-<id>-<node>`, dir `/tmp/srrd-lab-<id>`. Fails if a
    /// lab `id` exists (`destroy` it first). Until `leave_running`, Drop
    /// tears it down as usual, so a failed build leaves nothing behind.
    pub fn persistent(id: &str) -> Result<Lab, String> {
        require_root();
        check_persistent_id(id)?;
        let one_at_a_time = OneLabAtATime::acquire();
        let prefix = format!("{PERSISTENT}{id}-");
        let dir = lab_dir(&prefix_for_dir(id));
        if let Some(ns) = netns_list().into_iter().find(|ns| ns.starts_with(&prefix)) {
            return Err(format!(
                "lab {id} is up (namespace {ns}): take it down first (srrd-lab down)"
            ));
        }
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!(
                    "{} exists: lab {id} is up or was left by a crashed run (srrd-lab down)",
                    dir.display()
                ))
            }
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
        run_ok(Command::new("chmod").arg("755").arg(&dir));
        Ok(Lab {
            name: id.to_string(),
            prefix,
            dir,
            state: Mutex::new(State::default()),
            keep_running: false,
            _one_at_a_time: one_at_a_time,
        })
    }

    /// Takes over a lab that an earlier process left running. Processes it
    /// started are known by pid from then on (no exit status); processes
    /// spawned now are this process's children, and saved again by the
    /// next `leave_running`.
    pub fn reattach(id: &str) -> Result<Lab, String> {
        require_root();
        check_persistent_id(id)?;
        let one_at_a_time = OneLabAtATime::acquire();
        let dir = lab_dir(&prefix_for_dir(id));
        let path = dir.join(SAVED_STATE);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("lab {id} is not up ({}: {e})", path.display()))?;
        let saved: SavedLab = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e} (srrd-lab down cleans up)", path.display()))?;
        let procs = saved
            .procs
            .into_iter()
            .filter_map(|p| {
                Some(Proc {
                    kind: Kind::from_text(&p.kind)?,
                    handle: p.handle,
                    child: None,
                    start_time: p.start_time,
                })
            })
            .collect();
        let state = State {
            nodes: saved.nodes,
            links: saved.links,
            frr: saved.frr,
            procs,
        };
        Ok(Lab {
            name: saved.name,
            prefix: format!("{PERSISTENT}{id}-"),
            dir,
            state: Mutex::new(state),
            keep_running: false,
            _one_at_a_time: one_at_a_time,
        })
    }

    /// Saves the lab for `reattach` and drops this handle without tearing
    /// anything down: the processes keep running after this process exits.
    pub fn leave_running(mut self) {
        let saved = {
            let mut state = self.state();
            let procs = state
                .procs
                .iter_mut()
                .filter_map(|p| p.running().then_some(p))
                .map(|p| SavedProc {
                    handle: p.handle.clone(),
                    kind: p.kind.text().to_string(),
                    start_time: p.start_time,
                })
                .collect();
            SavedLab {
                name: self.name.clone(),
                nodes: state.nodes.clone(),
                links: state.links.clone(),
                frr: state.frr.clone(),
                procs,
            }
        };
        let path = self.dir.join(SAVED_STATE);
        let text = serde_json::to_string_pretty(&saved).expect("the lab state serializes");
        let tmp = path.with_extension("json.tmp");
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &path))
            .unwrap_or_else(|e| panic!("lab {}: {}: {e}", self.name, path.display()));
        self.keep_running = true;
    }

    /// Tears down the persistent lab `id`: what `reattach` finds (API clients
    /// first, as Drop does), then anything left in namespaces
    /// `lab-<id>-*` and the lab dir (a crashed `up`). Returns false if
    /// there was nothing to remove.
    pub fn destroy(id: &str) -> Result<bool, String> {
        check_persistent_id(id)?;
        let dir = lab_dir(&prefix_for_dir(id));
        let mut found = dir.exists();
        if dir.join(SAVED_STATE).exists() {
            match Lab::reattach(id) {
                Ok(lab) => drop(lab),
                Err(e) => eprintln!("lab {id}: {e}; sweeping its namespaces"),
            }
        }
        let prefix = format!("{PERSISTENT}{id}-");
        let namespaces: Vec<String> = netns_list()
            .into_iter()
            .filter(|ns| ns.starts_with(&prefix))
            .collect();
        found |= !namespaces.is_empty();
        crate::docker::stop_engine_in(&dir);
        for ns in &namespaces {
            kill_netns_pids(ns);
        }
        for ns in &namespaces {
            let _ = run(Command::new("ip").args(["netns", "del", ns]));
        }
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| format!("rm -r {}: {e}", dir.display()))?;
        }
        Ok(found)
    }

    /// True if the persistent lab `id` has been left running.
    pub fn is_up(id: &str) -> bool {
        check_persistent_id(id).is_ok() && lab_dir(&prefix_for_dir(id)).join(SAVED_STATE).exists()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep_running {
            return;
        }
        // Containers first (their logs are saved into the node dirs).
        crate::docker::stop_engine_in(&self.dir);
        if thread::panicking() {
            self.dump_logs();
        }
        // API clients before ospfd (docs/frr.md); the routing daemons before zebra.
        self.terminate(|p| p.kind == Kind::Client, Signal::SIGTERM, CLIENT_GRACE);
        self.terminate(
            |p| matches!(p.kind, Kind::Frr(d) if d != "zebra"),
            Signal::SIGKILL,
            Duration::ZERO,
        );
        self.terminate(|_| true, Signal::SIGKILL, Duration::ZERO);
        let nodes = self.state().nodes.clone();
        // Whatever still lives in our namespaces was started by us (a
        // grandchild that left its process group).
        for node in &nodes {
            kill_netns_pids(&self.ns(node));
        }
        for node in &nodes {
            let out = run(Command::new("ip").args(["netns", "del", &self.ns(node)]));
            if !out.status.success() {
                eprintln!(
                    "lab {}: ip netns del {}: {}",
                    self.name,
                    self.ns(node),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        if std::env::var_os("SRRD_LAB_KEEP").is_some() {
            eprintln!("lab {}: kept {}", self.name, self.dir.display());
        } else if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("lab {}: rm -r {}: {e}", self.name, self.dir.display());
        }
    }
}

// ----- helpers ---------------------------------------------------------------

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs `cmd`, panicking unless it succeeds; returns its stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    if !out.status.success() {
        panic!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kill_group(pid: u32, signal: Signal) {
    // The group is one we started and have not reaped; it may be gone.
    let _ = nix::sys::signal::killpg(Pid::from_raw(pid as i32), signal);
}

/// `signal` to the process `pid` (as the root namespace numbers it), if it
/// still runs.
pub fn kill_pid(pid: u32, signal: Signal) {
    let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), signal);
}

/// FRR keeps a per-process dir there that only a clean exit removes.
fn remove_frr_tmp(daemon: &str, pid: u32) {
    let _ = fs::remove_dir_all(format!("/var/tmp/frr/{daemon}.{pid}"));
}

/// Neighbours in state Full in `show ip ospf neighbor json` output.
pub fn full_neighbors(json: &str) -> usize {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return 0;
    };
    let Some(neighbors) = value.get("neighbors").and_then(|n| n.as_object()) else {
        return 0;
    };
    neighbors
        .values()
        .filter_map(|entries| entries.as_array())
        .flatten()
        .filter(|e| {
            e.get("nbrState")
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.starts_with("Full"))
        })
        .count()
}

/// SIGKILLs every process in namespace `ns` and waits (up to 2 s) until none is left.
fn kill_netns_pids(ns: &str) {
    let pids = || netns_pids(ns);
    for pid in pids() {
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        kill_pid(pid, Signal::SIGKILL);
        if let Some(daemon) = FRR_DAEMONS.into_iter().find(|d| comm.trim() == *d) {
            remove_frr_tmp(daemon, pid);
        }
    }
    wait_for(Duration::from_secs(2), || pids().is_empty());
}

/// The processes in namespace `ns`.
pub fn netns_pids(ns: &str) -> Vec<u32> {
    let out = run(Command::new("ip").args(["netns", "pids", ns]));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn netns_list() -> Vec<String> {
    let out = run(Command::new("ip").args(["netns", "list"]));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `st1230-` for a namespace `st1230-r1`, if it is a lab's under `base`.
fn lab_prefix(base: &str, ns: &str) -> Option<String> {
    let (digits, node) = ns.strip_prefix(base)?.split_once('-')?;
    let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !node.is_empty();
    ok.then(|| format!("{base}{digits}-"))
}

fn lab_dir(prefix: &str) -> PathBuf {
    PathBuf::from(format!("{LAB_DIRS}{}", prefix.trim_end_matches('-')))
}

/// True if the lab's owner process is dead, or its dir is gone (orphaned
/// namespaces), or its dir has had no owner file for a minute. False while
/// a live process owns it or is still writing the owner file.
fn owner_is_gone(prefix: &str) -> bool {
    let dir = lab_dir(prefix);
    let Ok(owner) = fs::read_to_string(dir.join("owner")) else {
        let age = fs::metadata(&dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        return age.map_or(true, |a| a > Duration::from_secs(60));
    };
    let mut fields = owner.split_whitespace().map(|f| f.parse::<u64>().ok());
    match (fields.next().flatten(), fields.next().flatten()) {
        (Some(pid), Some(start)) => process_start_time(pid as u32) != Some(start),
        _ => true,
    }
}

/// Moves the calling thread (only it) into the network namespace `path`
/// (`Lab::netns_path`): the sockets it opens from then on live there.
pub fn enter_netns(path: &Path) -> Result<(), String> {
    let ns = fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns {}: {e}", path.display()))
}

/// Persistent lab ids name namespaces and a dir: keep them plain, and
/// unlike the test labs' `st<digits>` (which `sweep_stale` may remove).
fn check_persistent_id(id: &str) -> Result<(), String> {
    let plain = !id.is_empty()
        && id.len() <= 32
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let test_like = lab_prefix(BASE, &format!("{id}-x")).is_some();
    if plain && !test_like {
        Ok(())
    } else {
        Err(format!(
            "lab id {id:?}: use 1-32 letters, digits, - or _ (and not {BASE}<digits>)"
        ))
    }
}

/// `lab_dir` of a persistent lab: /tmp/srrd-lab-<id>.
fn prefix_for_dir(id: &str) -> String {
    format!("{id}-")
}

/// The process `pid` started at `start_time` still runs (not a zombie).
pub(crate) fn pid_alive(pid: u32, start_time: u64) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(after_comm) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return false;
    };
    !after_comm.starts_with('Z') && process_start_time(pid) == Some(start_time)
}

/// Field 22 of /proc/PID/stat: distinguishes a live owner from a reused PID.
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    after_comm.split(' ').nth(19)?.parse().ok()
}

/// Serialises labs within a test process (tests run on parallel threads).
struct OneLabAtATime(#[allow(dead_code)] MutexGuard<'static, ()>);

thread_local! {
    static THIS_THREAD_HAS_A_LAB: Cell<bool> = const { Cell::new(false) };
}

impl OneLabAtATime {
    fn acquire() -> OneLabAtATime {
        static LABS: Mutex<()> = Mutex::new(());
        if THIS_THREAD_HAS_A_LAB.with(Cell::get) {
            panic!("one Lab at a time: drop the previous lab before Lab::new (it would deadlock)");
        }
        let guard = LABS.lock().unwrap_or_else(PoisonError::into_inner);
        THIS_THREAD_HAS_A_LAB.with(|c| c.set(true));
        OneLabAtATime(guard)
    }
}

impl Drop for OneLabAtATime {
    fn drop(&mut self) {
        THIS_THREAD_HAS_A_LAB.with(|c| c.set(false));
    }
}
