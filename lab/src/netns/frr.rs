//! FRR in a node: its configs, its daemons, and the routes they make.

use super::*;

impl Lab {
    /// Writes FRR configs given as text (e.g. from a containerlab bind
    /// folder): `(daemon, text)` with daemon one of `FRR_DAEMONS`; zebra
    /// and ospfd must be there, the others run if configured. Their own
    /// `hostname` and `log` lines give way to the lab's: logs go to the
    /// node dir. `start_frr` runs them.
    pub fn set_frr_conf(&self, node: &str, confs: &[(&str, &str)]) {
        let dir = self.node_dir(node);
        let mut daemons = BTreeSet::new();
        for (daemon, text) in confs {
            assert!(
                FRR_DAEMONS.contains(daemon),
                "lab {}: no FRR daemon {daemon}",
                self.name
            );
            daemons.insert(daemon.to_string());
            let own: String = text
                .lines()
                .filter(|l| {
                    let l = l.trim_start();
                    !(l.starts_with("hostname ") || l.starts_with("log "))
                })
                .map(|l| format!("{l}\n"))
                .collect();
            let path = dir.join(format!("{daemon}.conf"));
            fs::write(&path, frr_header(&dir, node, daemon) + &own)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        run_ok(Command::new("chown").args(["-R", "frr:frr"]).arg(&dir));
        for needed in REQUIRED_FRR_DAEMONS {
            assert!(
                daemons.contains(needed),
                "lab {}: {node} has no {needed} config",
                self.name
            );
        }
        self.state().frr.insert(node.to_string(), daemons);
    }

    /// Starts the configured FRR daemons of `node` that are not running,
    /// in the order of `FRR_DAEMONS`: zebra, then bfdd (Bfd profile) and
    /// ospf6d, then `ospfd -a` (API server on TCP 2607).
    pub fn start_frr(&self, node: &str) {
        let daemons = self.state().frr.get(node).cloned().unwrap_or_else(|| {
            panic!(
                "lab {}: {node} has no FRR configs (set_frr_conf)",
                self.name
            )
        });
        let dir = self.node_dir(node);
        let zserv = dir.join("zserv.api");
        if !self.frr_running(node, "zebra") {
            // A SIGKILLed zebra leaves its socket behind.
            let _ = fs::remove_file(&zserv);
            self.spawn_frr(node, "zebra", &[]);
            if wait_for(Duration::from_secs(5), || zserv.exists()).is_none() {
                panic!(
                    "lab {}: zebra on {node} made no {}",
                    self.name,
                    zserv.display()
                );
            }
        }
        let bfdctl = dir.join("bfdd.sock").to_string_lossy().into_owned();
        for daemon in FRR_DAEMONS {
            if daemon == "zebra" || !daemons.contains(daemon) || self.frr_running(node, daemon) {
                continue;
            }
            let extra: &[&str] = match daemon {
                "bfdd" => &["--bfdctl", &bfdctl],
                "ospfd" => &["-a"],
                _ => &[],
            };
            self.spawn_frr(node, daemon, extra);
        }
        // Started means the API server listens: `srrd run` started right
        // after would otherwise fail fast on a refused connection.
        let listening = || {
            let out = self.exec(node, &["ss", "-Hltn", "sport = :2607"]);
            out.status.success() && !out.stdout.is_empty()
        };
        if wait_for(Duration::from_secs(10), listening).is_none() {
            panic!(
                "lab {}: ospfd on {node} does not listen on its API port 2607",
                self.name
            );
        }
    }

    pub(super) fn spawn_frr(&self, node: &str, daemon: &'static str, extra: &[&str]) -> ProcHandle {
        let dir = self.node_dir(node);
        let mut cmd = Command::new(format!("{FRR}/{daemon}"));
        // No -d: the daemon stays our child, its PID ours to kill. `-P 0`:
        // no TCP vty; `--vty_socket`/`-z` keep each node's sockets apart.
        cmd.args(extra)
            .arg("-f")
            .arg(dir.join(format!("{daemon}.conf")))
            .arg("-i")
            .arg(dir.join(format!("{daemon}.pid")))
            .arg("--vty_socket")
            .arg(&dir)
            .arg("-z")
            .arg(dir.join("zserv.api"))
            .args(["-A", "127.0.0.1", "-P", "0"]);
        self.spawn_kind(node, daemon, Kind::Frr(daemon), cmd)
    }

    pub(super) fn frr_running(&self, node: &str, daemon: &'static str) -> bool {
        let mut state = self.state();
        state
            .procs
            .iter_mut()
            .filter(|p| p.handle.node == node && p.kind == Kind::Frr(daemon))
            .any(|p| p.running())
    }

    /// SIGKILL ospfd alone (zebra and the API clients stay).
    pub fn kill_ospfd(&self, node: &str) {
        self.terminate(
            |p| p.handle.node == node && p.kind == Kind::Frr("ospfd"),
            Signal::SIGKILL,
            Duration::ZERO,
        );
    }

    /// A node dies: SIGKILL everything the lab started in it, at once, then
    /// its links go down (as the notes' crash case: kill first, link later).
    pub fn kill_node(&self, node: &str) {
        self.terminate(|p| p.handle.node == node, Signal::SIGKILL, Duration::ZERO);
        kill_netns_pids(&self.ns(node));
        self.link_down(node);
    }

    /// `vtysh -c cmd` against `node`'s daemons: stdout, plus stderr if it failed.
    pub fn vtysh(&self, node: &str, cmd: &str) -> String {
        let out = run(Command::new("vtysh")
            .arg("--vty_socket")
            .arg(self.node_dir(node))
            .args(["-c", cmd]));
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            text.push_str(&String::from_utf8_lossy(&out.stderr));
        }
        text
    }

    /// Neighbours of `node` in state Full.
    pub fn ospf_full_neighbors(&self, node: &str) -> usize {
        full_neighbors(&self.vtysh(node, "show ip ospf neighbor json"))
    }

    /// Waits until `node` has at least `n` Full neighbours; panics with its
    /// neighbour table after `timeout`.
    pub fn wait_ospf_full(&self, node: &str, n: usize, timeout: Duration) -> Duration {
        wait_for(timeout, || self.ospf_full_neighbors(node) >= n).unwrap_or_else(|| {
            panic!(
                "lab {}: {node} has not {n} Full neighbours after {timeout:?}:\n{}",
                self.name,
                self.vtysh(node, "show ip ospf neighbor")
            )
        })
    }

    // ----- kernel routes ---------------------------------------------------

    /// `ip route show PREFIX` (exact match; IPv6 for a prefix with a
    /// colon) in `node`, empty if none.
    pub fn route(&self, node: &str, prefix: &str) -> String {
        let family = if prefix.contains(':') { "-6" } else { "-4" };
        let out = self.exec(node, &["ip", family, "route", "show", prefix]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until `prefix` is in `node`'s kernel table.
    pub fn wait_route(&self, node: &str, prefix: &str, timeout: Duration) -> Duration {
        self.wait_route_where(node, prefix, timeout, "present", |r| !r.is_empty())
    }

    /// Waits until `prefix` is routed via `gateway` in `node`.
    pub fn wait_route_via(
        &self,
        node: &str,
        prefix: &str,
        gateway: &str,
        timeout: Duration,
    ) -> Duration {
        let via = format!("via {gateway} ");
        self.wait_route_where(node, prefix, timeout, &format!("via {gateway}"), |r| {
            r.lines().any(|l| l.contains(&via))
        })
    }

    /// Waits until `prefix` has left `node`'s kernel table.
    pub fn wait_no_route(&self, node: &str, prefix: &str, timeout: Duration) -> Duration {
        self.wait_route_where(node, prefix, timeout, "gone", |r| r.is_empty())
    }

    pub(super) fn wait_route_where(
        &self,
        node: &str,
        prefix: &str,
        timeout: Duration,
        what: &str,
        ok: impl Fn(&str) -> bool,
    ) -> Duration {
        wait_for(timeout, || ok(&self.route(node, prefix))).unwrap_or_else(|| {
            panic!(
                "lab {}: route {prefix} in {node} not {what} after {timeout:?}; it is: {:?}",
                self.name,
                self.route(node, prefix)
            )
        })
    }
}

pub(super) fn frr_header(dir: &Path, node: &str, daemon: &str) -> String {
    format!(
        "hostname {node}-{daemon}\nlog file {}/{daemon}.log informational\nlog timestamp precision 6\n",
        dir.display()
    )
}

/// bfdd's profile `fast` of `Profile::Bfd`: 50 ms x 3.
pub const BFD_PROFILE: &str = "bfd\n profile fast\n  detect-multiplier 3\n  receive-interval 50\n  transmit-interval 50\n exit\nexit\n";
