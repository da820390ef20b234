//! The lab of a containerlab topology file: the same nodes, links, `exec`
//! lines and bound config folders, and per node what its `SRRD_ROLE` asks
//! for (router: zebra + ospfd; node: + `srrd run`; client, switch:
//! nothing). Two runtimes, chosen by `build_on` (`--runtime`): network
//! namespaces of `netns::Lab` with FRR and srrd from the host (`build`), or
//! containers of the srrd image, whose entry point runs FRR and srrd
//! (`build_in_containers`, `docker`; FRR only with the caller's srrd). Both
//! wire links and probe in named network namespaces, so only the node's
//! processes are handled differently.
//!
//! Paths inside the srrd configs are the container's (`/etc/srrd`, ...):
//! each is mapped to the host path of the bind that mounts it, so one
//! config serves both. The mapped copy is `<node dir>/srrd.toml`.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::clab::{split_words, Endpoint, Node, Role, Topology};
use crate::docker::{default_image_archive, Containers, Engine};
use crate::lsdb;
use crate::netns::{
    full_neighbors, kill_pid, netns_pids, wait_for, Lab, ProcHandle, Profile, Signal, BFD_PROFILE,
    FRR_DAEMONS, REQUIRED_FRR_DAEMONS,
};
use crate::probe::{self, ProbeConfig, HTTP_PORT};

/// The answer a node gives when nobody serves a VIP.
pub const NOBODY: &str = "-";
/// How long one client GET may take.
const GET_TIMEOUT: Duration = Duration::from_millis(300);
/// srrd's configuration inside the image (lab/srrd.clab.yml binds it).
const IMAGE_SRRD_CONFIG: &str = "/etc/srrd/srrd.toml";

pub struct Cluster {
    pub lab: Lab,
    pub topo: Topology,
    /// On the host for namespaces, in the image for containers.
    srrd_bin: PathBuf,
    /// srrd's configuration of each node (host paths).
    configs: BTreeMap<String, srrd::config::Config>,
    runtime: Runtime,
    overrides: Overrides,
}

/// What the bench and srrd's tests change in the topology's nodes.
#[derive(Clone, Copy, Debug)]
pub struct Overrides {
    /// The FRR timers: `Fast` runs the bound FRR configs as they are,
    /// `Bfd` adds BFD on every OSPF interface (namespaces only).
    pub frr: Profile,
    /// srrd starts from the bound configs. Without, the caller writes each
    /// node's (`configure_srrd`) and starts srrd itself (`spawn_srrd`).
    pub srrd_from_binds: bool,
    /// Nodes whose FRR the caller runs (a system booted in the node's
    /// namespace): the lab starts none there and waits for no OSPF of
    /// theirs (namespaces only).
    pub own_frr: &'static [&'static str],
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            frr: Profile::Fast,
            srrd_from_binds: true,
            own_frr: &[],
        }
    }
}

impl Overrides {
    /// FRR with `frr`'s timers; srrd left to the caller.
    pub fn own_srrd(frr: Profile) -> Overrides {
        Overrides {
            frr,
            srrd_from_binds: false,
            own_frr: &[],
        }
    }
}

/// Where a lab's nodes run: `--runtime` of `srrd-lab` and `srrd-bench`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeKind {
    /// Network namespaces, FRR and srrd from the host.
    #[default]
    Netns,
    /// Containers of the srrd image, as containerlab runs them.
    Docker,
}

/// Where the nodes' processes run.
enum Runtime {
    /// Started by the lab in the nodes' namespaces.
    Namespaces,
    /// Run by each container's entry point (images/srrd-entrypoint).
    Containers(Containers),
}

/// Where `srrd` is when none is given: `$SRRD_BIN`, else next to the
/// running program (target/<profile>/srrd for `srrd-lab`, and for test
/// binaries in target/<profile>/deps).
pub fn default_srrd_binary() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("SRRD_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("srrd");
    if bin.is_file() {
        Ok(bin)
    } else {
        Err(format!(
            "no srrd binary at {}: build it (cargo build -p srrd, with --release for a release srrd-lab) or pass --srrd PATH",
            bin.display()
        ))
    }
}

impl Cluster {
    /// Builds the whole topology in `lab` (an empty lab) and starts every
    /// role: FRR first, then srrd once each node's OSPF is Full.
    pub fn build(lab: Lab, topo: Topology, srrd_bin: PathBuf) -> Result<Cluster, String> {
        Cluster::build_with(lab, topo, srrd_bin, Overrides::default())
    }

    /// The lab's topology (`Topology::lab`) in `lab`, with `overrides`.
    pub fn build_lab(lab: Lab, srrd_bin: PathBuf, overrides: Overrides) -> Result<Cluster, String> {
        Cluster::build_with(lab, Topology::lab()?, srrd_bin, overrides)
    }

    /// `build_with` on `runtime`: namespaces with FRR and `srrd_bin`, or
    /// containers of the image `image` (`default_image_archive` if None).
    /// In containers the image's entry point runs srrd from the binds; with
    /// `Overrides::own_srrd` the containers of srrd nodes run FRR only and
    /// the caller runs `srrd_bin` in their namespaces, as on namespaces.
    pub fn build_on(
        runtime: RuntimeKind,
        image: Option<&Path>,
        lab: Lab,
        topo: Topology,
        srrd_bin: Result<PathBuf, String>,
        overrides: Overrides,
    ) -> Result<Cluster, String> {
        match runtime {
            RuntimeKind::Netns => Cluster::build_with(lab, topo, srrd_bin?, overrides),
            RuntimeKind::Docker => {
                let archive = image.map_or_else(default_image_archive, Path::to_path_buf);
                let srrd_bin = if overrides.srrd_from_binds {
                    "srrd".into()
                } else {
                    srrd_bin?
                };
                Cluster::containers(lab, topo, &archive, srrd_bin, overrides)
            }
        }
    }

    /// `build` with `overrides` (namespaces only).
    pub fn build_with(
        lab: Lab,
        topo: Topology,
        srrd_bin: PathBuf,
        overrides: Overrides,
    ) -> Result<Cluster, String> {
        Cluster::boot(lab, topo, srrd_bin, Runtime::Namespaces, overrides)
    }

    /// Builds the topology in `lab` (an empty lab) from containers, as
    /// containerlab would: starts the lab's own Docker engine, `docker
    /// load`s `archive` (images/build), runs every node from its image,
    /// wires the links and runs the `exec` lines; then waits until OSPF is
    /// Full and srrd runs on every node.
    pub fn build_in_containers(
        lab: Lab,
        topo: Topology,
        archive: &Path,
    ) -> Result<Cluster, String> {
        Cluster::containers(lab, topo, archive, "srrd".into(), Overrides::default())
    }

    fn containers(
        lab: Lab,
        topo: Topology,
        archive: &Path,
        srrd_bin: PathBuf,
        overrides: Overrides,
    ) -> Result<Cluster, String> {
        if !overrides.own_frr.is_empty() {
            return Err("nodes with FRR of their own need --runtime netns".into());
        }
        if overrides.frr == Profile::Bfd {
            return Err(
                "the BFD profile needs --runtime netns: containers run the FRR configs of their binds"
                    .into(),
            );
        }
        let engine = Engine::start(lab.dir())?;
        let mut images: Vec<&str> = topo
            .nodes
            .iter()
            .filter_map(|n| n.image.as_deref())
            .collect();
        images.sort_unstable();
        images.dedup();
        engine.load(archive, &images)?;
        let containers = Containers::new(engine, &lab, !overrides.srrd_from_binds);
        Cluster::boot(
            lab,
            topo,
            srrd_bin,
            Runtime::Containers(containers),
            overrides,
        )
    }

    fn boot(
        lab: Lab,
        topo: Topology,
        srrd_bin: PathBuf,
        runtime: Runtime,
        overrides: Overrides,
    ) -> Result<Cluster, String> {
        let mut cluster = Cluster {
            lab,
            topo,
            srrd_bin,
            configs: BTreeMap::new(),
            runtime,
            overrides,
        };
        let topo = cluster.topo.clone();
        for node in &topo.nodes {
            match &cluster.runtime {
                Runtime::Namespaces => cluster.lab.add_node(&node.name),
                Runtime::Containers(c) => c.run(&cluster.lab, &topo, node)?,
            }
        }
        for (a, b) in &topo.links {
            cluster.lab.connect(&a.node, &a.iface, &b.node, &b.iface);
        }
        for node in &topo.nodes {
            cluster.exec_lines(node)?;
        }
        if let Runtime::Namespaces = cluster.runtime {
            for node in topo.nodes.iter().filter(|n| cluster.lab_runs_frr(n)) {
                cluster.write_frr_conf(node)?;
                cluster.lab.start_frr(&node.name);
            }
        }
        cluster.wait_ospf(Duration::from_secs(60))?;
        if !overrides.srrd_from_binds {
            return Ok(cluster);
        }
        for node in topo.nodes.iter().filter(|n| n.role == Role::Node) {
            cluster.write_srrd_conf(node)?;
        }
        for node in topo.with_role(Role::Node) {
            cluster.start_srrd(&node);
        }
        cluster.wait_srrd_running(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// The cluster of a lab `build` or `build_in_containers` made earlier
    /// (`Lab::reattach`).
    pub fn resume(lab: Lab, topo: Topology, srrd_bin: PathBuf) -> Result<Cluster, String> {
        let mut configs = BTreeMap::new();
        for node in topo.with_role(Role::Node) {
            let path = lab.node_dir(&node).join("srrd.toml");
            configs.insert(node, load_config(&path)?);
        }
        let (runtime, srrd_bin) = match Engine::attach(lab.dir()) {
            Some(engine) => {
                let containers = Containers::new(engine, &lab, false);
                for node in &topo.nodes {
                    containers.resume(&node.name);
                }
                (Runtime::Containers(containers), "srrd".into())
            }
            None if Engine::exists_in(lab.dir()) => {
                return Err(format!(
                    "the Docker engine of lab {} is gone: srrd-lab down, then up again",
                    topo.name
                ))
            }
            None => (Runtime::Namespaces, srrd_bin),
        };
        Ok(Cluster {
            lab,
            topo,
            srrd_bin,
            configs,
            runtime,
            overrides: Overrides::default(),
        })
    }

    /// The last `n` lines of `node`'s `docker logs` (None on namespaces).
    pub fn container_log(&self, node: &str, n: usize) -> Option<String> {
        match &self.runtime {
            Runtime::Namespaces => None,
            Runtime::Containers(c) => Some(c.log_tail(node, n)),
        }
    }

    /// The cluster runs in containers.
    pub fn in_containers(&self) -> bool {
        matches!(self.runtime, Runtime::Containers(_))
    }

    /// Runs `args` on `node`: in its container, or in its namespace with
    /// the host's programs.
    pub fn run_on(&self, node: &str, args: &[&str]) -> std::process::Output {
        match &self.runtime {
            Runtime::Namespaces => self.lab.exec(node, args),
            Runtime::Containers(c) => c.exec(node, args),
        }
    }

    fn exec_lines(&self, node: &Node) -> Result<(), String> {
        for line in &node.exec {
            self.exec_line(&node.name, line)?;
        }
        Ok(())
    }

    fn exec_line(&self, node: &str, line: &str) -> Result<(), String> {
        let words = split_words(line).map_err(|e| format!("{node}: exec: {e}"))?;
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let out = self.run_on(node, &args);
        if !out.status.success() {
            return Err(format!(
                "{node}: exec `{line}`: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(())
    }

    fn host_path(&self, node: &Node, bind_target: &str) -> Option<PathBuf> {
        let bind = node.bind(bind_target)?;
        Some(bind.host_path(
            self.topo.dir(),
            self.lab.dir(),
            &self.lab.node_dir(&node.name),
        ))
    }

    fn write_frr_conf(&self, node: &Node) -> Result<(), String> {
        let dir = self
            .host_path(node, "/etc/frr")
            .ok_or_else(|| format!("{}: no folder bound at /etc/frr", node.name))?;
        let mut confs = Vec::new();
        for daemon in FRR_DAEMONS {
            let path = dir.join(format!("{daemon}.conf"));
            match fs::read_to_string(&path) {
                Ok(text) => confs.push((daemon, text)),
                Err(_) if !REQUIRED_FRR_DAEMONS.contains(&daemon) => {}
                Err(e) => return Err(format!("{}: {e}", path.display())),
            }
        }
        if self.overrides.frr == Profile::Bfd {
            for (daemon, text) in &mut confs {
                *text = with_bfd(daemon, text);
            }
            confs.retain(|(daemon, _)| *daemon != "bfdd");
            confs.push(("bfdd", BFD_PROFILE.to_string()));
        }
        let confs: Vec<(&str, &str)> = confs.iter().map(|(d, t)| (*d, t.as_str())).collect();
        self.lab.set_frr_conf(&node.name, &confs);
        Ok(())
    }

    /// Writes `config` as `node`'s srrd.toml (srrd's own TOML writer), for
    /// a cluster whose srrd is the caller's (`Overrides::own_srrd`).
    pub fn configure_srrd(
        &mut self,
        node: &str,
        config: srrd::config::Config,
    ) -> Result<PathBuf, String> {
        let path = self.srrd_config_path(node);
        fs::write(&path, config.to_toml()).map_err(|e| format!("{}: {e}", path.display()))?;
        self.configs.insert(node.to_string(), config);
        Ok(path)
    }

    /// A starting point for `configure_srrd`: `node`'s name, its state in
    /// `<node dir>/state`, VIPs on `lo`, FRR's vty sockets in the node dir
    /// (where the lab runs FRR), no services.
    pub fn base_config(&self, node: &str) -> srrd::config::Config {
        let dir = self.lab.node_dir(node);
        srrd::config::Config {
            node: srrd::config::NodeSettings {
                name: node.to_string(),
                state_dir: dir.join("state"),
                vty_socket_dir: Some(dir),
                ..Default::default()
            },
            web: None,
            services: Vec::new(),
        }
    }

    /// `node`'s srrd configuration as the lab runs srrd with it.
    pub fn srrd_config_path(&self, node: &str) -> PathBuf {
        self.lab.node_dir(node).join("srrd.toml")
    }

    /// `/etc/srrd/srrd.toml` with every container path of a bind replaced
    /// by the bind's host path.
    fn write_srrd_conf(&mut self, node: &Node) -> Result<(), String> {
        let dir = self
            .host_path(node, "/etc/srrd")
            .ok_or_else(|| format!("{}: no folder bound at /etc/srrd", node.name))?;
        let source = dir.join("srrd.toml");
        let mut text =
            fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        let mut binds: Vec<(String, PathBuf)> = node
            .binds
            .iter()
            .map(|b| {
                let host = self.host_path(node, &b.target).unwrap_or_default();
                (b.target.clone(), host)
            })
            .collect();
        // /etc/srrd/x before /etc/x.
        binds.sort_by_key(|(target, _)| std::cmp::Reverse(target.len()));
        for (target, host) in &binds {
            if node.bind(target).is_some_and(|b| b.is_lab_generated()) {
                fs::create_dir_all(host).map_err(|e| format!("{}: {e}", host.display()))?;
            }
            let host = host.display();
            text = text
                .replace(&format!("\"{target}\""), &format!("\"{host}\""))
                .replace(&format!("\"{target}/"), &format!("\"{host}/"));
        }
        let path = self.srrd_config_path(&node.name);
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        self.configs.insert(node.name.clone(), load_config(&path)?);
        Ok(())
    }

    // ----- OSPF -------------------------------------------------------------

    /// Whether the lab runs FRR on `node` (not `Overrides::own_frr`).
    fn lab_runs_frr(&self, node: &Node) -> bool {
        node.role.runs_frr() && !self.overrides.own_frr.contains(&node.name.as_str())
    }

    /// Waits until every srrd node is Full with at least one router (its
    /// LAN's DR), but those of `Overrides::own_frr`.
    pub fn wait_ospf(&self, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let own_frr = self.overrides.own_frr;
        for node in self.topo.with_role(Role::Node) {
            if own_frr.contains(&node.as_str()) {
                continue;
            }
            let left = timeout.saturating_sub(start.elapsed());
            if wait_for(left, || self.ospf_full_neighbors(&node) >= 1).is_none() {
                return Err(format!(
                    "{node} has no Full OSPF neighbour after {timeout:?}:\n{}",
                    self.vtysh(&node, "show ip ospf neighbor")
                ));
            }
        }
        Ok(start.elapsed())
    }

    /// `vtysh -c cmd` on `node`.
    pub fn vtysh(&self, node: &str, cmd: &str) -> String {
        match &self.runtime {
            Runtime::Namespaces => self.lab.vtysh(node, cmd),
            Runtime::Containers(_) => {
                let out = self.run_on(node, &["vtysh", "-c", cmd]);
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr)
            }
        }
    }

    /// Neighbours of `node` in state Full.
    pub fn ospf_full_neighbors(&self, node: &str) -> usize {
        full_neighbors(&self.vtysh(node, "show ip ospf neighbor json"))
    }

    // ----- processes ----------------------------------------------------------

    /// Running processes of `node` named `name` (latest last).
    fn running(&self, node: &str, name: &str) -> Vec<ProcHandle> {
        self.lab
            .processes()
            .into_iter()
            .filter(|p| p.node == node && p.name == name && self.lab.is_running(p))
            .collect()
    }

    pub fn srrd(&self, node: &str) -> Option<ProcHandle> {
        self.running(node, "srrd").pop()
    }

    /// Host pids of the processes of a container's `node` called `name`.
    fn pids_named(&self, node: &str, name: &str) -> Vec<u32> {
        netns_pids(&self.lab.ns(node))
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == name)
            })
            .collect()
    }

    /// A process called `name` (srrd, zebra, ospfd, ...) runs on `node`.
    pub fn runs(&self, node: &str, name: &str) -> bool {
        match &self.runtime {
            Runtime::Namespaces => !self.running(node, name).is_empty(),
            Runtime::Containers(_) => !self.pids_named(node, name).is_empty(),
        }
    }

    /// SIGKILLs `node`'s processes called `name`.
    fn kill_named(&self, node: &str, name: &str) {
        for pid in self.pids_named(node, name) {
            kill_pid(pid, Signal::SIGKILL);
        }
    }

    pub fn srrd_running(&self, node: &str) -> bool {
        self.runs(node, "srrd")
    }

    /// Waits until srrd runs on every srrd node.
    fn wait_srrd_running(&self, timeout: Duration) -> Result<(), String> {
        let nodes = self.srrd_nodes();
        wait_for(timeout, || nodes.iter().all(|n| self.srrd_running(n)))
            .map(|_| ())
            .ok_or_else(|| {
                let missing: Vec<&String> =
                    nodes.iter().filter(|n| !self.srrd_running(n)).collect();
                let logs: Vec<String> = match &self.runtime {
                    Runtime::Containers(c) => missing
                        .iter()
                        .map(|n| format!("--- {n}:\n{}", c.log_tail(n, 20)))
                        .collect(),
                    Runtime::Namespaces => Vec::new(),
                };
                format!(
                    "srrd does not run on {missing:?} after {timeout:?}\n{}",
                    logs.join("\n")
                )
            })
    }

    /// The node's kernel is "up": its zebra runs, or its container (a
    /// killed node has neither).
    pub fn is_alive(&self, node: &str) -> bool {
        match &self.runtime {
            Runtime::Namespaces => !self.running(node, "zebra").is_empty(),
            Runtime::Containers(c) => c.is_running(node),
        }
    }

    pub fn srrd_binary(&self) -> &Path {
        &self.srrd_bin
    }

    /// Starts srrd on `node`; a container's entry point starts it, so a
    /// stopped container is started (`reboot`).
    pub fn start_srrd(&self, node: &str) {
        if self.srrd_in_image() {
            if !self.is_alive(node) {
                self.reboot(node);
            }
            return;
        }
        self.spawn_srrd(node, "srrd=debug");
    }

    /// `srrd run --log LOG` on `node` in its namespace.
    pub fn spawn_srrd(&self, node: &str, log: &str) -> ProcHandle {
        self.lab.spawn(node, self.srrd_command(node, log))
    }

    /// The command `spawn_srrd` runs, for a caller that adds to it (its
    /// environment, say) before `Lab::spawn`.
    pub fn srrd_command(&self, node: &str, log: &str) -> Command {
        let mut cmd = Command::new(&self.srrd_bin);
        cmd.arg("run")
            .arg("--config")
            .arg(self.srrd_config_path(node))
            .args(["--log", log])
            // Plain log files (tracing colours its output by default).
            .env("NO_COLOR", "1");
        cmd
    }

    /// srrd is the image's, run by the containers' entry points (else the
    /// lab's, from the host, in the nodes' namespaces).
    fn srrd_in_image(&self) -> bool {
        self.in_containers() && self.overrides.srrd_from_binds
    }

    /// srrd's configuration as `srrd` on `node` reads it.
    fn srrd_config(&self, node: &str) -> String {
        if self.srrd_in_image() {
            IMAGE_SRRD_CONFIG.to_string()
        } else {
            self.srrd_config_path(node).display().to_string()
        }
    }

    /// `srrd cleanup` on `node` (waits for it): its stdout, or why it failed.
    pub fn cleanup_srrd(&self, node: &str) -> Result<String, String> {
        let bin = self.srrd_bin.display().to_string();
        let config = self.srrd_config(node);
        let args = [bin.as_str(), "cleanup", "--config", &config];
        let out = if self.srrd_in_image() {
            self.run_on(node, &args)
        } else {
            self.lab.exec(node, &args)
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "srrd cleanup on {node}: {}\n{stdout}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// SIGTERM (graceful shutdown) to every srrd in `nodes`, then waits
    /// for them all; the nodes whose srrd did not exit within `timeout`.
    /// In containers that is `docker stop`: the entry point lets srrd
    /// leave, then stops FRR, and the container exits.
    pub fn stop_srrd(&self, nodes: &[String], timeout: Duration) -> Vec<String> {
        match &self.runtime {
            Runtime::Containers(c) if self.srrd_in_image() => {
                let alive: Vec<String> =
                    nodes.iter().filter(|n| self.is_alive(n)).cloned().collect();
                return c.stop(&alive, timeout);
            }
            _ => {}
        }
        let procs: Vec<ProcHandle> = nodes.iter().filter_map(|n| self.srrd(n)).collect();
        for p in &procs {
            self.lab.signal(p, Signal::SIGTERM);
        }
        procs
            .iter()
            .filter(|p| !self.lab.wait_gone(p, timeout))
            .map(|p| p.node.clone())
            .collect()
    }

    /// SIGKILL srrd on `node` (its services' processes and VIPs stay).
    /// In a container its entry point then cleans up, stops FRR and exits.
    pub fn kill_srrd(&self, node: &str) {
        if self.srrd_in_image() {
            return self.kill_named(node, "srrd");
        }
        if let Some(p) = self.srrd(node) {
            self.lab.kill(&p);
        }
    }

    /// A node dies: every process in it is killed at once (`docker kill`
    /// for a container, then what the lab runs in its namespace), then its
    /// links go down.
    pub fn kill_node(&self, node: &str) {
        if let Runtime::Containers(c) = &self.runtime {
            if let Err(e) = c.kill(node) {
                eprintln!("lab: {e}");
            }
        }
        self.lab.kill_node(node);
    }

    /// SIGKILL ospfd alone on `node` (in a container watchfrr restarts it).
    pub fn kill_ospfd(&self, node: &str) {
        match self.runtime {
            Runtime::Namespaces => self.lab.kill_ospfd(node),
            Runtime::Containers(_) => self.kill_named(node, "ospfd"),
        }
    }

    /// Starts the FRR daemons of `node` that are not running; in a
    /// container watchfrr does that.
    pub fn start_frr(&self, node: &str) {
        if let Runtime::Namespaces = self.runtime {
            self.lab.start_frr(node);
        }
    }

    /// SIGKILLs the processes `pids` (as `node` numbers them) on `node`.
    pub fn kill_pids(&self, node: &str, pids: &[i32]) {
        match self.runtime {
            Runtime::Namespaces => {
                for pid in pids {
                    kill_pid(*pid as u32, Signal::SIGKILL);
                }
            }
            Runtime::Containers(_) => {
                let pids: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
                let mut args = vec!["kill", "-KILL"];
                args.extend(pids.iter().map(String::as_str));
                self.run_on(node, &args);
            }
        }
    }

    /// A crashed node comes back like after a reboot: nothing of its last
    /// life is left (no VIP on lo), links up, FRR started. A container is
    /// started again and its links wired anew (they died with its
    /// namespace).
    pub fn reboot(&self, node: &str) {
        self.reboot_all(&[node.to_string()]);
    }

    /// `reboot` of several nodes, together.
    pub fn reboot_all(&self, nodes: &[String]) {
        if let Runtime::Containers(c) = &self.runtime {
            if let Err(e) = self.restart_containers(c, nodes) {
                eprintln!("lab: rebooting {nodes:?}: {e}");
            }
            return;
        }
        for node in nodes {
            self.reboot_namespace(node);
        }
    }

    fn reboot_namespace(&self, node: &str) {
        self.lab.kill_node(node);
        let _ = self.lab.exec(
            node,
            &["ip", "-4", "addr", "flush", "dev", "lo", "scope", "global"],
        );
        self.lab.link_up(node);
        self.lab.start_frr(node);
    }

    /// `docker start` of `nodes` at once (so their entry points find
    /// their links together and srrd boots together, as at `build`), then
    /// their links again: each is deleted at its live end first (which
    /// deletes both ends) and made anew, the live end put back into its
    /// bridge; then the nodes' `exec` lines.
    fn restart_containers(&self, c: &Containers, nodes: &[String]) -> Result<(), String> {
        let rebooting = |e: &Endpoint| nodes.contains(&e.node);
        let links: Vec<&(Endpoint, Endpoint)> = self
            .topo
            .links
            .iter()
            .filter(|(a, b)| rebooting(a) || rebooting(b))
            .collect();
        let mut masters = Vec::new();
        for (a, b) in &links {
            let live = [a, b].into_iter().find(|e| !rebooting(e));
            let master = live.and_then(|e| {
                let out = self
                    .lab
                    .exec(&e.node, &["ip", "-o", "link", "show", "dev", &e.iface]);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let _ = self
                    .lab
                    .exec(&e.node, &["ip", "link", "del", "dev", &e.iface]);
                let words: Vec<&str> = text.split_whitespace().collect();
                let master = words.windows(2).find(|w| w[0] == "master")?[1].to_string();
                Some((e.clone(), master))
            });
            masters.push(master);
        }
        c.start(&self.lab, nodes)?;
        for ((a, b), master) in links.into_iter().zip(masters) {
            self.lab.connect(&a.node, &a.iface, &b.node, &b.iface);
            if let Some((e, master)) = master {
                self.lab
                    .ip(&e.node, &format!("link set {} master {master} up", e.iface));
            }
        }
        for node in nodes {
            let spec = self
                .topo
                .node(node)
                .ok_or_else(|| format!("no node {node}"))?;
            self.exec_lines(spec)?;
        }
        Ok(())
    }

    // ----- services -------------------------------------------------------------

    /// The srrd nodes, in file order.
    pub fn srrd_nodes(&self) -> Vec<String> {
        self.topo.with_role(Role::Node)
    }

    fn client(&self) -> Result<String, String> {
        self.topo
            .with_role(Role::Client)
            .into_iter()
            .next()
            .ok_or_else(|| "the topology has no client".to_string())
    }

    /// The topology's client node and the addresses of `service` (in the
    /// configured order): what a probe needs.
    pub fn client_targets(&self, service: &str) -> Result<(String, Vec<IpAddr>), String> {
        let addresses = self.addresses(service);
        if addresses.is_empty() {
            return Err(format!("service {service} has no address"));
        }
        Ok((self.client()?, addresses))
    }

    /// The addresses of `service` (as any node configures it).
    pub fn addresses(&self, service: &str) -> Vec<IpAddr> {
        self.configs
            .values()
            .flat_map(|c| &c.services)
            .find(|s| s.name == service)
            .map(|s| s.addresses.clone())
            .unwrap_or_default()
    }

    /// Every service name, in the order of the first node's config.
    pub fn services(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for config in self.configs.values() {
            for s in &config.services {
                if !names.contains(&s.name) {
                    names.push(s.name.clone());
                }
            }
        }
        names
    }

    /// The node that answers every address of `service` (IPv4 and IPv6),
    /// asked from the client: "-" if nobody does, each address's answer
    /// if they differ.
    pub fn who_serves(&self, service: &str) -> String {
        let Ok(client) = self.client() else {
            return NOBODY.into();
        };
        let config = ProbeConfig::once(GET_TIMEOUT);
        let answers: Vec<(IpAddr, String)> = self
            .addresses(service)
            .into_iter()
            .map(|addr| {
                let target = SocketAddr::new(addr, HTTP_PORT);
                let who = self
                    .lab
                    .in_netns(&client, || probe::get_once(target, &config))
                    .unwrap_or_else(|_| NOBODY.into());
                (addr, who)
            })
            .collect();
        match answers.split_first() {
            None => NOBODY.into(),
            Some(((_, first), rest)) if rest.iter().all(|(_, who)| who == first) => first.clone(),
            Some(_) => answers
                .iter()
                .map(|(addr, who)| format!("{who} at {addr}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// Waits until the client is served `service` by `node`.
    pub fn wait_served_by(
        &self,
        service: &str,
        node: &str,
        timeout: Duration,
    ) -> Result<Duration, String> {
        wait_for(timeout, || self.who_serves(service) == node).ok_or_else(|| {
            format!(
                "after {timeout:?} the client is served {service} by {:?}, not {node}; {}",
                self.who_serves(service),
                self.holders_text(service)
            )
        })
    }

    /// The live srrd nodes with one of `service`'s addresses on their VIP
    /// interface.
    pub fn vip_holders(&self, service: &str) -> Vec<String> {
        self.srrd_nodes()
            .into_iter()
            .filter(|n| self.is_alive(n) && self.has_vip(n, service))
            .collect()
    }

    /// One of `service`'s addresses is on `node`'s `lo`, whether or not
    /// the node's daemons run.
    pub fn has_vip(&self, node: &str, service: &str) -> bool {
        let on_lo = self.lo_addresses(node);
        self.addresses(service).iter().any(|a| on_lo.contains(a))
    }

    /// Every address on `node`'s `lo` (IPv4 and IPv6, loopback included).
    pub fn lo_addresses(&self, node: &str) -> Vec<IpAddr> {
        let out = self
            .lab
            .exec(node, &["ip", "-o", "addr", "show", "dev", "lo"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| w.split('/').next()?.parse().ok())
            .collect()
    }

    fn holders_text(&self, service: &str) -> String {
        format!("VIP on {:?}", self.vip_holders(service))
    }

    /// Waits until exactly `node` holds `service`'s VIPs (among live nodes).
    pub fn wait_only_holder(
        &self,
        service: &str,
        node: &str,
        timeout: Duration,
    ) -> Result<Duration, String> {
        wait_for(timeout, || self.vip_holders(service) == [node]).ok_or_else(|| {
            format!(
                "after {timeout:?} {service}: {}, expected only {node}",
                self.holders_text(service)
            )
        })
    }

    /// Each service's state per node, as the LSDB of `node` shows it:
    /// service -> [(node name, "config/run")], reachable nodes only.
    pub fn states(&self, node: &str) -> Result<BTreeMap<String, Vec<(String, String)>>, String> {
        let key = match self
            .configs
            .get(node)
            .and_then(|c| c.node.cluster_key_file.as_deref())
        {
            Some(path) => Some(srrd::daemon::read_key(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let view = self
            .lab
            .in_netns(node, || lsdb::view(key.as_ref()))
            .map_err(|e| format!("{node}: {e}"))?;
        Ok(lsdb::states(&view))
    }

    /// The nodes where `service` is `active/started`, as `observer` sees it.
    pub fn started_on(&self, observer: &str, service: &str) -> Vec<String> {
        self.states(observer)
            .unwrap_or_default()
            .remove(service)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, state)| state == "active/started")
            .map(|(node, _)| node)
            .collect()
    }

    /// Makes srrd's next start on `node` count as one after a clean
    /// shutdown (with its startup hold), whatever a scenario did to it. The
    /// incarnation is kept: it must never go backwards.
    pub fn mark_srrd_stopped_cleanly(&self, node: &str) {
        let Some(config) = self.configs.get(node) else {
            return;
        };
        let path = config.node.state_dir.join("state.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return;
        };
        if let Ok(mut state) = serde_json::from_str::<serde_json::Value>(&text) {
            state["clean_shutdown"] = serde_json::Value::Bool(true);
            let _ = std::fs::write(&path, state.to_string());
        }
    }

    /// The state dir srrd gives `service` on `node` (SRRD_STATE_DIR).
    pub fn service_dir(&self, node: &str, service: &str) -> Option<PathBuf> {
        let config = self.configs.get(node)?;
        Some(config.node.state_dir.join("services").join(service))
    }

    // ----- status -------------------------------------------------------------

    /// What `srrd-lab status` prints.
    pub fn status(&self) -> String {
        let mut out = format!(
            "lab {} from {}\n  namespaces {}*, files and logs in {}\n\nnodes:\n",
            self.topo.name,
            self.topo.path.display(),
            self.lab.prefix(),
            self.lab.dir().display()
        );
        for node in &self.topo.nodes {
            let procs: Vec<String> = FRR_DAEMONS
                .iter()
                .chain(&["srrd"])
                .filter(|p| self.runs(&node.name, p))
                .map(|p| p.to_string())
                .collect();
            let mut line = format!(
                "  {:<4} {:<7} {}",
                node.name,
                node.role.to_string(),
                if procs.is_empty() {
                    "-".to_string()
                } else {
                    procs.join(" ")
                }
            );
            if node.role.runs_frr() && procs.iter().any(|p| p == "ospfd") {
                line += &format!(
                    "\n         OSPF neighbours: {}",
                    self.neighbours(&node.name)
                );
            }
            out += &line;
            out += "\n";
        }
        let observer = self
            .srrd_nodes()
            .into_iter()
            .find(|n| self.srrd_running(n) && self.runs(n, "ospfd"));
        match observer {
            None => out += "\nservices: no node with srrd and ospfd running\n",
            Some(observer) => {
                out += &format!("\nservices (the LSDB of {observer}; client's answer):\n");
                let states = self.states(&observer).unwrap_or_default();
                for service in self.services() {
                    let list = states.get(&service).cloned().unwrap_or_default();
                    let started: Vec<&str> = list
                        .iter()
                        .filter(|(_, s)| s == "active/started")
                        .map(|(n, _)| n.as_str())
                        .collect();
                    let others: Vec<String> = list
                        .iter()
                        .filter(|(_, s)| s != "active/started")
                        .map(|(n, s)| format!("{n} {s}"))
                        .collect();
                    let addrs: Vec<String> = self
                        .addresses(&service)
                        .iter()
                        .map(|a| a.to_string())
                        .collect();
                    let answer = if addrs.is_empty() {
                        String::new()
                    } else {
                        format!("  client -> {}", self.who_serves(&service))
                    };
                    out += &format!(
                        "  {:<5} {:<12} started on {:<6}{answer}   ({})\n",
                        service,
                        addrs.join(","),
                        if started.is_empty() {
                            "-".to_string()
                        } else {
                            started.join(",")
                        },
                        others.join(", ")
                    );
                }
            }
        }
        out += &match self.runtime {
            Runtime::Namespaces => format!(
                "\nlogs: {}/<node>/ (srrd.out, zebra.log, ospfd.log, <daemon>.out)\n",
                self.lab.dir().display()
            ),
            Runtime::Containers(_) => format!(
                "\nlogs: srrd-lab exec <node> cat /var/log/frr/ospfd.log; srrd's in `docker logs`, saved as {}/<node>/container.log at teardown\n",
                self.lab.dir().display()
            ),
        };
        out
    }

    /// `10.255.0.11 Full/DROther, ...` from `show ip ospf neighbor json`.
    fn neighbours(&self, node: &str) -> String {
        let json = self.vtysh(node, "show ip ospf neighbor json");
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&json) else {
            return "?".into();
        };
        let Some(neighbours) = value.get("neighbors").and_then(|n| n.as_object()) else {
            return "none".into();
        };
        let list: Vec<String> = neighbours
            .iter()
            .flat_map(|(id, entries)| {
                entries.as_array().into_iter().flatten().map(move |e| {
                    let state = e.get("nbrState").and_then(|s| s.as_str()).unwrap_or("?");
                    format!("{id} {state}")
                })
            })
            .collect();
        if list.is_empty() {
            "none".into()
        } else {
            list.join(", ")
        }
    }
}

/// `ospfd_conf` with BFD on every interface it configures, with the
/// profile of `BFD_PROFILE` (docs/frr.md).
/// BFD (bfdd's profile `fast`) on every interface of an ospfd or ospf6d
/// configuration; other daemons' as they are.
fn with_bfd(daemon: &str, conf: &str) -> String {
    let prefix = match daemon {
        "ospfd" => "ip ospf",
        "ospf6d" => "ipv6 ospf6",
        _ => return conf.to_string(),
    };
    let mut out = String::new();
    for line in conf.lines() {
        out += line;
        out += "\n";
        if line.starts_with("interface ") {
            out += &format!(" {prefix} bfd\n {prefix} bfd profile fast\n");
        }
    }
    out
}

fn load_config(path: &Path) -> Result<srrd::config::Config, String> {
    srrd::config::load(path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bfd_profile_adds_bfd_to_every_ospf_interface_only() {
        let conf = "interface eth1\n ip ospf priority 255\nexit\ninterface eth2\nexit\nrouter ospf\n passive-interface eth3\nexit\n";
        assert_eq!(
            with_bfd("ospfd", conf),
            "interface eth1\n ip ospf bfd\n ip ospf bfd profile fast\n ip ospf priority 255\nexit\n\
             interface eth2\n ip ospf bfd\n ip ospf bfd profile fast\nexit\n\
             router ospf\n passive-interface eth3\nexit\n"
        );
        assert_eq!(
            with_bfd("ospf6d", "interface eth1\nexit\n"),
            "interface eth1\n ipv6 ospf6 bfd\n ipv6 ospf6 bfd profile fast\nexit\n"
        );
        assert_eq!(with_bfd("zebra", "interface eth1\n"), "interface eth1\n");
    }
}
