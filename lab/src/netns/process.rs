//! Every process a lab starts, and how it is stopped.

use super::*;

impl Lab {
    /// Runs `args` in `node`'s namespace and waits for it.
    pub fn exec(&self, node: &str, args: &[&str]) -> Output {
        run(Command::new("ip")
            .args(["netns", "exec", &self.ns(node)])
            .args(args))
    }

    /// `ip -n <node's namespace> ARGS` (split at whitespace), panicking
    /// unless it succeeds; returns stdout. E.g. `ip("n1", "addr add
    /// 192.0.2.10/32 dev lo")`.
    pub fn ip(&self, node: &str, args: &str) -> String {
        let ns = self.ns(node);
        run_ok(
            Command::new("ip")
                .args(["-n", &ns])
                .args(args.split_whitespace()),
        )
    }

    /// `exec`, panicking unless it succeeds; returns stdout.
    pub fn exec_ok(&self, node: &str, args: &[&str]) -> String {
        let out = self.exec(node, args);
        if !out.status.success() {
            panic!(
                "lab {}: `{}` in {node}: {}{}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `cmd` in `node`'s namespace (program, args, envs and current
    /// dir are taken over; stdin is null, stdout and stderr go to
    /// `<node dir>/<program>.out`). It runs in its own process group, so
    /// its children die with it.
    pub fn spawn(&self, node: &str, cmd: Command) -> ProcHandle {
        let program = Path::new(cmd.get_program());
        let name = program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned();
        self.spawn_kind(node, &name, Kind::Client, cmd)
    }

    pub(super) fn spawn_kind(
        &self,
        node: &str,
        name: &str,
        kind: Kind,
        cmd: Command,
    ) -> ProcHandle {
        let dir = self.node_dir(node);
        let log = (1..)
            .map(|i| match i {
                1 => dir.join(format!("{name}.out")),
                _ => dir.join(format!("{name}.{i}.out")),
            })
            .find(|p| !p.exists())
            .expect("an unused log name");
        let out = fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        // `ip netns exec` execs the program: the child's PID is the program's.
        let mut wrapped = Command::new("ip");
        wrapped
            .args(["netns", "exec", &self.ns(node)])
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(cwd) = cmd.get_current_dir() {
            wrapped.current_dir(cwd);
        }
        wrapped.stdin(Stdio::null()).stdout(out).stderr(err);
        // Its own process group, which `kill_group` signals, and not the
        // terminal's foreground one: no terminal signal reaches it, so a
        // persistent lab's processes outlive the runner that started them.
        wrapped.process_group(0);
        let child = wrapped
            .spawn()
            .unwrap_or_else(|e| panic!("lab {}: cannot start {name} in {node}: {e}", self.name));
        let pid = child.id();
        let handle = ProcHandle {
            pid,
            node: node.to_string(),
            name: name.to_string(),
            log,
        };
        self.state().procs.push(Proc {
            handle: handle.clone(),
            kind,
            child: Some(child),
            start_time: process_start_time(pid).unwrap_or(0),
        });
        handle
    }

    pub fn is_running(&self, proc: &ProcHandle) -> bool {
        let mut state = self.state();
        state
            .procs
            .iter_mut()
            .any(|p| p.handle.pid == proc.pid && p.running())
    }

    /// Sends `signal` to the process group of `proc` (if it still runs).
    pub fn signal(&self, proc: &ProcHandle, signal: Signal) {
        let mut state = self.state();
        if let Some(p) = state.procs.iter_mut().find(|p| p.handle.pid == proc.pid) {
            if p.running() {
                kill_group(p.handle.pid, signal);
            }
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; waits for the exit.
    pub fn stop(&self, proc: &ProcHandle, grace: Duration) -> Option<ExitStatus> {
        self.terminate(|p| p.handle.pid == proc.pid, Signal::SIGTERM, grace);
        self.exit_status(proc)
    }

    /// SIGKILL; waits for the exit.
    pub fn kill(&self, proc: &ProcHandle) {
        self.terminate(
            |p| p.handle.pid == proc.pid,
            Signal::SIGKILL,
            Duration::ZERO,
        );
    }

    /// Waits up to `timeout` for `proc` to exit by itself.
    pub fn wait_exit(&self, proc: &ProcHandle, timeout: Duration) -> Option<ExitStatus> {
        wait_for(timeout, || !self.is_running(proc))?;
        self.exit_status(proc)
    }

    /// None if it runs, or if it was started by an earlier run of an
    /// attached lab (see `wait_gone`).
    pub(super) fn exit_status(&self, proc: &ProcHandle) -> Option<ExitStatus> {
        let mut state = self.state();
        let p = state.procs.iter_mut().find(|p| p.handle.pid == proc.pid)?;
        p.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits up to `timeout` for `proc` to exit by itself; true if it did.
    /// Unlike `wait_exit`, this also works for the processes of an attached
    /// lab.
    pub fn wait_gone(&self, proc: &ProcHandle, timeout: Duration) -> bool {
        wait_for(timeout, || !self.is_running(proc)).is_some()
    }

    /// Every process the lab started (running or not).
    pub fn processes(&self) -> Vec<ProcHandle> {
        self.state()
            .procs
            .iter()
            .map(|p| p.handle.clone())
            .collect()
    }

    /// Runs `f` on a thread inside `node`'s namespace: sockets it opens
    /// live there (an OSPF API client, a TCP probe from c1, ...).
    pub fn in_netns<R: Send>(&self, node: &str, f: impl FnOnce() -> R + Send) -> R {
        let path = self.netns_path(node);
        thread::scope(|s| {
            s.spawn(|| {
                enter_netns(&path).unwrap_or_else(|e| panic!("{e}"));
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// The file that names `node`'s namespace, for `enter_netns` on a
    /// thread of one's own (a probe that runs beside the test).
    pub fn netns_path(&self, node: &str) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.ns(node)))
    }

    /// Signals the matching running processes, waits up to `grace` for them,
    /// SIGKILLs what is left and reaps them all.
    pub(super) fn terminate(
        &self,
        select: impl Fn(&Proc) -> bool,
        signal: Signal,
        grace: Duration,
    ) {
        let mut state = self.state();
        let mut chosen: Vec<&mut Proc> = state.procs.iter_mut().filter(|p| select(p)).collect();
        for p in chosen.iter_mut() {
            if p.running() {
                kill_group(p.handle.pid, signal);
            }
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline && chosen.iter_mut().any(|p| p.running()) {
            thread::sleep(POLL);
        }
        for p in chosen {
            if p.running() {
                kill_group(p.handle.pid, Signal::SIGKILL);
            }
            p.reap();
            if let Kind::Frr(daemon) = p.kind {
                remove_frr_tmp(daemon, p.handle.pid);
            }
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Removes what crashed earlier runs left: every lab `<base><digits>-*`
    /// whose owner process is gone (its processes are SIGKILLed, its
    /// namespaces and dir deleted). Labs of live processes are left alone.
    pub fn sweep_stale(base: &str) {
        let mut labs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ns in netns_list() {
            if let Some(prefix) = lab_prefix(base, &ns) {
                labs.entry(prefix).or_default().push(ns);
            }
        }
        for entry in fs::read_dir("/tmp").into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_prefix("srrd-lab-") else {
                continue;
            };
            if let Some(prefix) = lab_prefix(base, &format!("{id}-x")) {
                labs.entry(prefix).or_default();
            }
        }
        for (prefix, namespaces) in labs {
            if !owner_is_gone(&prefix) {
                continue;
            }
            eprintln!("lab: sweeping stale lab {prefix}* (namespaces {namespaces:?})");
            crate::docker::stop_engine_in(&lab_dir(&prefix));
            for ns in &namespaces {
                kill_netns_pids(ns);
            }
            for ns in &namespaces {
                let _ = run(Command::new("ip").args(["netns", "del", ns]));
            }
            let _ = fs::remove_dir_all(lab_dir(&prefix));
        }
    }

    /// The last lines of every log of the lab, for a failed test's output.
    pub(super) fn dump_logs(&self) {
        let state = self.state();
        for node in &state.nodes {
            let Ok(entries) = fs::read_dir(self.node_dir(node)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "out" || x == "log"))
                .collect();
            files.sort();
            for file in files {
                let text = fs::read_to_string(&file).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(15)..];
                if !tail.is_empty() {
                    eprintln!("==> {} <==\n{}", file.display(), tail.join("\n"));
                }
            }
        }
    }
}
