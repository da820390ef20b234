//! The .deb's units under a real systemd: the Debian 12 rootfs with the
//! package installed boots in a container (systemd-nspawn) as node n1 of
//! the lab's topology (lab/srrd.clab.yml), with FRR configured by
//! nixos-module/frr.nix and srrd enabled. Checks the order of docs/install.md: the API firewall and
//! the cleanup (which removes a stale VIP) before FRR, srrd after FRR
//! (ready, watchdog armed), srrd stopped before FRR stops and started
//! again with it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use srrd::config::{Config, NodeSettings, ServiceConfig};
use srrd_lab::cluster::{Cluster, Overrides};

use crate::common::lab::{wait_for, Lab, Profile};
use crate::deb::{chroot, rootfs_with_srrd};
use crate::nix::nix_eval;
use crate::{require_tool, run, stdout, Scratch};

const VIP: &str = "192.0.2.10";

/// A booted container; Drop shuts it down (SIGTERM to nspawn halts it
/// cleanly), and kills it if it does not stop in time.
struct Container {
    nspawn: Child,
    /// The container's systemd, as a pid of ours for nsenter.
    init: u32,
    log: PathBuf,
}

impl Container {
    fn boot(root: &Path, netns: &Path, log: PathBuf) -> Container {
        let out = std::fs::File::create(&log).expect("nspawn log");
        let err = out.try_clone().expect("nspawn log");
        // No host systemd or machined to register with: --keep-unit and
        // --register=no keep nspawn to itself. CAP_NET_ADMIN for FRR and
        // nft (nspawn grants it only with a network of its own making).
        let nspawn = Command::new("systemd-nspawn")
            .args(["--quiet", "--boot", "--keep-unit", "--register=no"])
            .arg("--capability=CAP_NET_ADMIN")
            .arg(format!("--machine=srrd-test-{}", std::process::id()))
            .arg(format!("--network-namespace-path={}", netns.display()))
            .arg("--directory")
            .arg(root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start systemd-nspawn");
        let pid = nspawn.id();
        let mut container = Container {
            nspawn,
            init: 0,
            log,
        };
        let children = format!("/proc/{pid}/task/{pid}/children");
        // nspawn's child becomes the container's systemd (it execs it).
        let found = wait_for(Duration::from_secs(20), || {
            let child: Option<u32> = std::fs::read_to_string(&children)
                .ok()
                .and_then(|c| c.split_whitespace().next()?.parse().ok());
            let is_init = child.is_some_and(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "systemd")
            });
            container.init = if is_init { child.unwrap_or(0) } else { 0 };
            container.init != 0
        });
        assert!(
            found.is_some(),
            "no container init:\n{}",
            container.log_text()
        );
        container
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exec(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .arg(format!("--target={}", self.init))
            .args(["--mount", "--uts", "--ipc", "--net", "--pid", "--"])
            .args(args)
            .output()
            .expect("nsenter")
    }

    fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{args:?} in the container: {}{}\n{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr),
            self.diagnosis()
        );
        stdout(&out)
    }

    /// A unit's property (`systemctl show -p NAME --value`).
    fn property(&self, unit: &str, name: &str) -> String {
        self.exec_ok(&["systemctl", "show", "-p", name, "--value", unit])
            .trim()
            .to_string()
    }

    fn monotonic(&self, unit: &str, name: &str) -> u64 {
        let value = self.property(unit, name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("{unit} {name} = {value:?}"))
    }

    fn wait_active(&self, unit: &str, timeout: Duration) {
        let active = wait_for(timeout, || {
            self.exec(&["systemctl", "is-active", "--quiet", unit])
                .status
                .success()
        });
        assert!(
            active.is_some(),
            "{unit} not active after {timeout:?}\n{}",
            self.diagnosis()
        );
    }

    fn has_vip(&self) -> bool {
        stdout(&self.exec(&["ip", "-4", "addr", "show", "dev", "lo"])).contains(VIP)
    }

    fn diagnosis(&self) -> String {
        let status = self.exec(&[
            "systemctl",
            "status",
            "--no-pager",
            "--full",
            "srrd.service",
            "srrd-cleanup.service",
            "srrd-ospfapi-firewall.service",
            "frr.service",
        ]);
        let journal = self.exec(&["journalctl", "--no-pager", "-n", "80"]);
        format!("{}\n{}", stdout(&status), stdout(&journal))
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // nspawn turns SIGTERM into a clean halt of the container.
        let pid = Pid::from_raw(self.nspawn.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.nspawn.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.nspawn.kill();
        let _ = self.nspawn.wait();
    }
}

/// FRR as docs/frr.md configures a node, from the NixOS module's renderer;
/// srrd with one service, whose primitives do nothing.
fn configure(root: &Path) {
    let daemons = root.join("etc/frr/daemons");
    let text = std::fs::read_to_string(&daemons).expect("/etc/frr/daemons");
    let text = text.replace("ospfd=no", "ospfd=yes").replace(
        "ospfd_options=\"  -A 127.0.0.1\"",
        "ospfd_options=\"  -A 127.0.0.1 -a\"",
    );
    assert!(text.contains("-A 127.0.0.1 -a"), "ospfd -a in {text}");
    std::fs::write(&daemons, text).expect("/etc/frr/daemons");
    // n1 of the lab's topology (lab/config/n1/frr/ospfd.conf): a DROther
    // behind r1.
    let frr = nix_eval(
        r#"import ./nixos-module/frr.nix { routerId = "10.255.0.11"; interfaces = [ "eth1" ]; priority = 0; networks = [ "198.51.100.0/24" "192.0.2.0/24" ]; }"#,
    );
    let frr = frr.as_str().expect("frr.nix renders a string");
    std::fs::write(
        root.join("etc/frr/frr.conf"),
        format!("hostname n1\nlog syslog informational\nservice integrated-vtysh-config\n!\n{frr}"),
    )
    .expect("frr.conf");

    let primitives = root.join("etc/srrd/web.sh");
    std::fs::write(&primitives, "#!/bin/sh\nexit 0\n").expect("primitives");
    run(Command::new("chmod").arg("755").arg(&primitives));
    let config = Config {
        node: NodeSettings {
            name: "n1".into(),
            ..Default::default()
        },
        web: None,
        services: vec![ServiceConfig {
            addresses: vec![VIP.parse().expect("the VIP")],
            check_interval: Some(Duration::from_secs(1)),
            primitives: "/etc/srrd/web.sh".into(),
            ..ServiceConfig::new("web")
        }],
    };
    std::fs::write(root.join("etc/srrd/srrd.toml"), config.to_toml()).expect("srrd.toml");
    chroot(root, &["srrd", "check-config", "/etc/srrd/srrd.toml"]);
    chroot(root, &["systemctl", "enable", "srrd.service"]);
}

#[test]
fn deb_units_run_srrd_after_frr_and_clean_up_before_it_under_systemd() {
    require_tool("systemd-nspawn", "systemd-container");
    require_tool("nsenter", "util-linux");
    // The lab's topology; n1's FRR and srrd are the container's.
    let nodes = Cluster::build_lab(
        Lab::new("packaging_boot"),
        PathBuf::from(env!("CARGO_BIN_EXE_srrd")),
        Overrides {
            own_frr: &["n1"],
            ..Overrides::own_srrd(Profile::Fast)
        },
    )
    .unwrap_or_else(|e| panic!("the lab: {e}"));
    let lab = &nodes.lab;
    // What a crashed srrd leaves: its VIP on lo, which a starting ospfd
    // would advertise at once.
    lab.ip("n1", &format!("addr add {VIP}/32 dev lo"));
    let scratch = Scratch::new("boot");
    let root = rootfs_with_srrd(&scratch);
    configure(&root);

    let booted = Instant::now();
    let c = Container::boot(&root, &lab.netns_path("n1"), scratch.0.join("nspawn.log"));
    c.wait_active("srrd.service", Duration::from_secs(90));
    crate::report(&format!(
        "container booted, srrd active after {:.1?}",
        booted.elapsed()
    ));

    // Before FRR: the API firewall and the cleanup, each finished.
    let frr_started = c.monotonic("frr.service", "InactiveExitTimestampMonotonic");
    for unit in ["srrd-cleanup.service", "srrd-ospfapi-firewall.service"] {
        assert_eq!(
            c.property(unit, "Result"),
            "success",
            "{unit}\n{}",
            c.diagnosis()
        );
        let finished = c.monotonic(unit, "ExecMainExitTimestampMonotonic");
        assert!(
            finished > 0 && finished <= frr_started,
            "{unit} finished at {finished}, FRR started at {frr_started}"
        );
    }
    c.exec_ok(&["nft", "list", "table", "inet", "srrd_ospfapi"]);
    let cleanup_log = c.exec_ok(&["journalctl", "--no-pager", "-u", "srrd-cleanup.service"]);
    assert!(
        cleanup_log.contains(&format!("removed VIP {VIP}")),
        "the stale VIP is removed before FRR starts:\n{cleanup_log}"
    );

    // srrd after FRR, ready (Type=notify) and pinging its watchdog.
    assert!(c.monotonic("srrd.service", "ActiveEnterTimestampMonotonic") > frr_started);
    assert_eq!(
        c.property("srrd.service", "NRestarts"),
        "0",
        "srrd reached ospfd's API at its first start\n{}",
        c.diagnosis()
    );
    assert_eq!(c.property("srrd.service", "WatchdogUSec"), "30s");
    assert!(
        wait_for(Duration::from_secs(5), || c
            .monotonic("srrd.service", "WatchdogTimestampMonotonic")
            > 0)
        .is_some(),
        "no WATCHDOG=1 seen by systemd\n{}",
        c.diagnosis()
    );
    assert!(
        wait_for(Duration::from_secs(20), || c.has_vip()).is_some(),
        "the single node takes web and its VIP\n{}",
        c.diagnosis()
    );

    // Stopping FRR stops srrd first (so ospfd has no API client when it
    // gets SIGTERM), and srrd takes its VIP with it.
    c.exec_ok(&["systemctl", "stop", "frr.service"]);
    let srrd_stopped = c.monotonic("srrd.service", "InactiveEnterTimestampMonotonic");
    let frr_stopping = c.monotonic("frr.service", "ActiveExitTimestampMonotonic");
    assert!(
        srrd_stopped <= frr_stopping,
        "srrd stopped at {srrd_stopped}, after FRR began stopping at {frr_stopping}"
    );
    assert!(
        !c.has_vip(),
        "VIP left on lo after srrd stopped\n{}",
        c.diagnosis()
    );
    // FRR 8.4.4's ospfd aborts on SIGTERM with an API client registered
    // (docs/frr.md): it had none.
    let frr_log = c.exec_ok(&["journalctl", "--no-pager", "-u", "frr.service"]);
    assert!(
        !frr_log.contains("assertion"),
        "ospfd aborted on stop:\n{frr_log}"
    );

    // Starting FRR runs the cleanup again and brings srrd back.
    c.exec_ok(&["systemctl", "start", "frr.service"]);
    c.wait_active("srrd.service", Duration::from_secs(60));
    assert!(
        c.monotonic("srrd-cleanup.service", "ExecMainExitTimestampMonotonic") > srrd_stopped,
        "srrd-cleanup did not run again before FRR"
    );
}
