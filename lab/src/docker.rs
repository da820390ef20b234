//! The lab's Docker runtime: a private Docker engine and one container of
//! the srrd image per node, wired the way containerlab wires them
//! (docs/lab.md, "On the image").
//!
//! The engine is Debian's dockerd started with `--bridge=none
//! --iptables=false --ip-masq=false` and a data root, exec root, socket and
//! pid file of its own under `<lab dir>/docker`: it creates no bridge,
//! address or firewall rule in the root namespace and disturbs no other
//! engine. Containers run with `--network none`; the lab gives each one's
//! network namespace a name (`ip netns attach`), so links, addresses and
//! probes are the network-namespace lab's own (`netns::Lab`).
//! `stop_engine_in` removes the containers and stops the engine; the lab
//! calls it on every teardown path, also after a crashed run.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::clab::{Node, Role, Topology, ROLE_VAR};
use crate::netns::{pid_alive, process_start_time, wait_for, Lab};

/// The engine's dir inside the lab dir.
pub const ENGINE_DIR: &str = "docker";
/// How long `docker stop` lets srrd leave before it kills the container
/// (srrd's graceful stop is bounded by its stop timeouts + 5 s).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// The image archive `--runtime docker` loads: $SRRD_IMAGE, else
/// images/build's `<target dir>/image/srrd.docker.tar`.
pub fn default_image_archive() -> PathBuf {
    if let Some(path) = std::env::var_os("SRRD_IMAGE") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("image").join("srrd.docker.tar")
}

/// A dockerd of the lab's own.
pub struct Engine {
    dir: PathBuf,
}

impl Engine {
    /// Starts dockerd for the lab in `lab_dir`; fails loudly if it cannot
    /// run (with the tail of its log).
    pub fn start(lab_dir: &Path) -> Result<Engine, String> {
        let dir = lab_dir.join(ENGINE_DIR);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let config = dir.join("daemon.json");
        fs::write(&config, "{}\n").map_err(|e| format!("{}: {e}", config.display()))?;
        let log = dir.join("dockerd.log");
        let out = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let engine = Engine { dir };
        let mut cmd = Command::new("dockerd");
        cmd.arg("--host")
            .arg(engine.host())
            .arg("--pidfile")
            .arg(engine.pidfile())
            .arg("--data-root")
            .arg(engine.dir.join("data"))
            .arg("--exec-root")
            .arg(engine.dir.join("exec"))
            .arg("--config-file")
            .arg(&config)
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--userland-proxy=false",
                "--log-level=warn",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Not in the runner's process group: a lab left running
            // (`srrd-lab up`) keeps its engine, and ^C does not reach it.
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| {
            format!("cannot start dockerd: {e} (apt-get install docker.io, see .ci/run)")
        })?;
        let ready = wait_for(Duration::from_secs(60), || {
            matches!(child.try_wait(), Ok(Some(_))) || engine.docker_ok(&["info"]).is_ok()
        });
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "dockerd exited at start ({status}); its log {}:\n{}",
                log.display(),
                tail(&log, 20)
            ));
        }
        if ready.is_none() {
            return Err(format!(
                "dockerd did not answer on {} within 60 s; its log:\n{}",
                engine.host(),
                tail(&log, 20)
            ));
        }
        Ok(engine)
    }

    /// The engine a running lab in `lab_dir` started earlier.
    pub fn attach(lab_dir: &Path) -> Option<Engine> {
        let engine = Engine {
            dir: lab_dir.join(ENGINE_DIR),
        };
        engine.pid().map(|_| engine)
    }

    /// True if `lab_dir` holds an engine (running or left by a crash).
    pub fn exists_in(lab_dir: &Path) -> bool {
        lab_dir.join(ENGINE_DIR).exists()
    }

    fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.join("docker.pid")
    }

    /// dockerd's pid, if it runs.
    fn pid(&self) -> Option<u32> {
        let pid: u32 = fs::read_to_string(self.pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let start = process_start_time(pid)?;
        (comm.trim() == "dockerd" && pid_alive(pid, start)).then_some(pid)
    }

    /// `docker ARGS` against this engine.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("--host")
            .arg(self.host())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run docker: {e} (apt-get install docker.io, see .ci/run)")
            })
    }

    /// `docker ARGS`: its stdout, or why it failed.
    pub fn docker_ok(&self, args: &[&str]) -> Result<String, String> {
        let out = self.docker(args);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "docker {}: {}: {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `docker load -i ARCHIVE`, then checks that every one of `images`
    /// is there.
    pub fn load(&self, archive: &Path, images: &[&str]) -> Result<(), String> {
        if !archive.is_file() {
            return Err(format!(
                "no image archive {}: build it with images/build (docs/image.md)",
                archive.display()
            ));
        }
        self.docker_ok(&["load", "-q", "-i", &archive.to_string_lossy()])?;
        for image in images {
            self.docker_ok(&["image", "inspect", "-f", "{{.Id}}", image])
                .map_err(|_| format!("{} holds no image {image}", archive.display()))?;
        }
        Ok(())
    }
}

/// Removes every container of the engine in `lab_dir` (their logs are
/// saved as `<lab dir>/<node>/container.log`), stops the engine by its pid
/// and removes its dir: nothing of it is left, also after a crash.
pub fn stop_engine_in(lab_dir: &Path) {
    let dir = lab_dir.join(ENGINE_DIR);
    if !dir.exists() {
        return;
    }
    let engine = Engine { dir: dir.clone() };
    if let Some(pid) = engine.pid() {
        let listed = engine
            .docker_ok(&[
                "ps",
                "-a",
                "--format",
                "{{.Names}} {{.Label \"srrd-lab.node\"}}",
            ])
            .unwrap_or_default();
        let mut names = Vec::new();
        for line in listed.lines() {
            let mut words = line.split_whitespace();
            let Some(name) = words.next() else { continue };
            if let Some(node) = words.next() {
                let logs = engine.docker(&["logs", "--timestamps", name]);
                let mut text = logs.stdout;
                text.extend_from_slice(&logs.stderr);
                let _ = fs::write(lab_dir.join(node).join("container.log"), text);
            }
            names.push(name.to_string());
        }
        if !names.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(names.iter().map(String::as_str));
            if let Err(e) = engine.docker_ok(&args) {
                eprintln!("lab: {e}");
            }
        }
        signal(pid, "TERM");
        if wait_for(Duration::from_secs(20), || engine.pid().is_none()).is_none() {
            signal(pid, "KILL");
            wait_for(Duration::from_secs(5), || engine.pid().is_none());
        }
    }
    kill_processes_using(&dir);
    unmount_under(&dir);
    if let Err(e) = fs::remove_dir_all(&dir) {
        eprintln!("lab: rm -r {}: {e}", dir.display());
    }
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status();
}

/// SIGKILLs what a killed dockerd left: containerd and its shims, whose
/// command lines name the engine's dir.
fn kill_processes_using(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            signal(pid, "KILL");
        }
    }
}

/// Unmounts (lazily, deepest first) every mount under `dir`.
fn unmount_under(dir: &Path) {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let _ = Command::new("umount").args(["-l", point]).status();
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The nodes of a topology as containers of one engine, named like the
/// lab's namespaces (`<prefix><node>`).
pub struct Containers {
    engine: Engine,
    prefix: String,
    /// The srrd nodes' containers run FRR only (as routers): the lab's
    /// caller runs srrd in their namespaces (`Overrides::own_srrd`).
    frr_only: bool,
    /// Each running container's init, by pid and start time.
    inits: Mutex<BTreeMap<String, (u32, u64)>>,
}

impl Containers {
    pub fn new(engine: Engine, lab: &Lab, frr_only: bool) -> Containers {
        Containers {
            engine,
            prefix: lab.prefix().to_string(),
            frr_only,
            inits: Mutex::new(BTreeMap::new()),
        }
    }

    fn name(&self, node: &str) -> String {
        format!("{}{node}", self.prefix)
    }

    /// `docker run` for `node` as containerlab would (the file's env and
    /// binds; CLAB_INTFS, the number of links it will get), then names its
    /// network namespace in `lab`.
    pub fn run(&self, lab: &Lab, topo: &Topology, node: &Node) -> Result<(), String> {
        let node_dir = lab.node_dir(&node.name);
        fs::create_dir_all(&node_dir).map_err(|e| format!("{}: {e}", node_dir.display()))?;
        let image = node
            .image
            .as_deref()
            .ok_or_else(|| format!("{}: no image", node.name))?;
        let links = topo
            .links
            .iter()
            .flat_map(|(a, b)| [a, b])
            .filter(|e| e.node == node.name)
            .count();
        let name = self.name(&node.name);
        let label = format!("srrd-lab.node={}", node.name);
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            &name,
            "--hostname",
            &node.name,
            "--label",
            &label,
            "--network",
            "none",
            // containerlab runs `linux` nodes --privileged, which asks for
            // every capability; CI machines may lack some in their bounding
            // set (CAP_SYS_RESOURCE here), so the ones the image needs:
            // FRR's, nbd and mdadm (SYS_ADMIN), and /proc/sys writable for
            // the nodes' `sysctl` exec lines.
            "--cap-add=NET_ADMIN",
            "--cap-add=NET_RAW",
            "--cap-add=SYS_ADMIN",
            "--security-opt=systempaths=unconfined",
            // IPv6 on, as containerlab sets it for `linux` nodes;
            // `default` covers the veth ends moved in later.
            "--sysctl=net.ipv6.conf.all.disable_ipv6=0",
            "--sysctl=net.ipv6.conf.default.disable_ipv6=0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("--stop-timeout={}", STOP_TIMEOUT.as_secs()));
        args.push("--env".into());
        args.push(format!("CLAB_INTFS={links}"));
        for (key, value) in &node.env {
            let value = if key == ROLE_VAR && node.role == Role::Node && self.frr_only {
                Role::Router.to_string()
            } else {
                value.clone()
            };
            args.push("--env".into());
            args.push(format!("{key}={value}"));
        }
        for bind in &node.binds {
            let host = bind.host_path(topo.dir(), lab.dir(), &node_dir);
            if bind.is_lab_generated() {
                fs::create_dir_all(&host).map_err(|e| format!("{}: {e}", host.display()))?;
            }
            let mode = if bind.read_only { ":ro" } else { "" };
            args.push("--volume".into());
            args.push(format!("{}:{}{mode}", host.display(), bind.target));
        }
        args.push(image.to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.engine
            .docker_ok(&args)
            .map_err(|e| format!("{}: {e}", node.name))?;
        self.adopt(lab, &node.name)
    }

    /// `docker start` of stopped nodes, then names their new namespaces.
    pub fn start(&self, lab: &Lab, nodes: &[String]) -> Result<(), String> {
        let names: Vec<String> = nodes.iter().map(|n| self.name(n)).collect();
        let mut args = vec!["start"];
        args.extend(names.iter().map(String::as_str));
        self.engine.docker_ok(&args)?;
        for node in nodes {
            self.adopt(lab, node)?;
        }
        Ok(())
    }

    /// Learns the init of `node`'s container of a lab left running (its
    /// namespace already has its name).
    pub fn resume(&self, node: &str) {
        let pid = self
            .engine
            .docker_ok(&["inspect", "-f", "{{.State.Pid}}", &self.name(node)])
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .filter(|p| *p != 0);
        if let Some((pid, start)) = pid.and_then(|p| Some((p, process_start_time(p)?))) {
            self.inits().insert(node.to_string(), (pid, start));
        }
    }

    fn adopt(&self, lab: &Lab, node: &str) -> Result<(), String> {
        let pid: u32 = self
            .engine
            .docker_ok(&["inspect", "-f", "{{.State.Pid}}", &self.name(node)])?
            .trim()
            .parse()
            .map_err(|e| format!("{node}: docker inspect: pid: {e}"))?;
        let start = process_start_time(pid).ok_or(format!("{node}: its init {pid} is gone"))?;
        lab.attach_node(node, pid);
        self.inits().insert(node.to_string(), (pid, start));
        Ok(())
    }

    fn inits(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (u32, u64)>> {
        self.inits.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The node's container runs.
    pub fn is_running(&self, node: &str) -> bool {
        let init = self.inits().get(node).copied();
        init.is_some_and(|(pid, start)| pid_alive(pid, start))
    }

    /// `docker exec NODE ARGS`.
    pub fn exec(&self, node: &str, args: &[&str]) -> Output {
        let name = self.name(node);
        let mut all = vec!["exec", name.as_str()];
        all.extend_from_slice(args);
        self.engine.docker(&all)
    }

    /// `docker kill`: every process of the node dies at once.
    pub fn kill(&self, node: &str) -> Result<(), String> {
        self.engine.docker_ok(&["kill", &self.name(node)])?;
        self.wait_stopped(node);
        Ok(())
    }

    /// `docker stop` of `nodes` at once (the entry point lets srrd leave,
    /// then stops FRR); the nodes that did not exit cleanly in `timeout`.
    pub fn stop(&self, nodes: &[String], timeout: Duration) -> Vec<String> {
        let secs = timeout.as_secs().to_string();
        let mut args = vec!["stop", "-t", secs.as_str()];
        let names: Vec<String> = nodes.iter().map(|n| self.name(n)).collect();
        args.extend(names.iter().map(String::as_str));
        if let Err(e) = self.engine.docker_ok(&args) {
            eprintln!("lab: {e}");
        }
        nodes
            .iter()
            .filter(|node| {
                self.wait_stopped(node);
                let code = self.engine.docker_ok(&[
                    "inspect",
                    "-f",
                    "{{.State.ExitCode}}",
                    &self.name(node),
                ]);
                code.map_or(true, |c| c.trim() != "0")
            })
            .cloned()
            .collect()
    }

    fn wait_stopped(&self, node: &str) {
        wait_for(Duration::from_secs(10), || !self.is_running(node));
    }

    /// The last `n` lines of the node's `docker logs`.
    pub fn log_tail(&self, node: &str, n: usize) -> String {
        let out = self
            .engine
            .docker(&["logs", "--tail", &n.to_string(), &self.name(node)]);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }
}
