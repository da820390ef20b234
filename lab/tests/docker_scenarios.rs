//! The failover scenarios on containers of the srrd image: images/build
//! builds it (its rootfs and .debs are cached in target/image, so only the
//! first run pays for debootstrap), the lab starts a Docker engine of its
//! own, `docker load`s the image and runs `lab/srrd.clab.yml` from it the
//! way containerlab would (`Cluster::build_in_containers`). The image gets
//! the srrd that `cargo test` built (a release build in this process would
//! wait for cargo's lock on the target dir).
//!
//! Needs root, Docker (`docker.io`), debootstrap, umoci and skopeo (.ci/run
//! installs them); without them the tests fail, they never skip. Each test
//! checks that the root namespace is as it was: no container, namespace,
//! bridge, address, route or firewall rule is left, also when building the
//! lab fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use srrd_lab::clab::Topology;
use srrd_lab::cluster::{default_srrd_binary, Cluster};
use srrd_lab::netns::{require_root, Lab, BASE};
use srrd_lab::scenario;

/// The scenarios run on containers: one per kind of fault.
const ON_CONTAINERS: &[&str] = &[
    "graceful-move",
    "node-crash",
    "ospfd-crash",
    "check-failure",
    "partition",
];

/// One test at a time: each compares the root namespace before and after.
/// What a killed earlier run left is swept first, not counted as ours.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    Lab::sweep_stale(BASE);
    guard
}

#[test]
fn failover_scenarios_on_the_image() {
    let _serial = one_at_a_time();
    let archive = image();
    let before = RootNamespace::now();
    let start = Instant::now();
    let mut failures = Vec::new();
    {
        let cluster = Cluster::build_in_containers(
            Lab::new("docker scenarios"),
            topology(&lab_dir()),
            &archive,
        )
        .unwrap_or_else(|e| panic!("building the lab from the image: {e}"));
        eprintln!("lab of containers up after {:?}", start.elapsed());
        for name in ON_CONTAINERS {
            let s = scenario::find(name).expect("a known scenario");
            let t = Instant::now();
            match scenario::run(&cluster, &s) {
                Ok(outcome) => eprintln!("ok      {outcome}  ({:?} in all)", t.elapsed()),
                Err(e) => {
                    eprintln!("FAILED  {e}");
                    for node in cluster.srrd_nodes() {
                        let log = cluster.container_log(&node, 25).unwrap_or_default();
                        eprintln!("--- docker logs {node}:\n{log}");
                    }
                    failures.push(e);
                }
            }
        }
        // Every `docker stop` let srrd leave before ospfd got SIGTERM: an
        // ospfd that aborted (FRR 8.4.4 with an API client registered)
        // logs the signal it received.
        for node in cluster.srrd_nodes() {
            let out = cluster.run_on(
                &node,
                &["grep", "Received signal", "/var/log/frr/ospfd.log"],
            );
            let aborted = String::from_utf8_lossy(&out.stdout).into_owned();
            if !aborted.is_empty() {
                failures.push(format!("ospfd on {node} crashed:\n{aborted}"));
            }
        }
    }
    eprintln!("scenarios and teardown done after {:?}", start.elapsed());
    before.assert_unchanged();
    assert!(failures.is_empty(), "failed:\n{}", failures.join("\n"));
}

#[test]
fn a_lab_of_containers_that_fails_to_build_leaves_nothing_behind() {
    let _serial = one_at_a_time();
    let archive = image();
    // The lab's topology and configs, with an `exec` line that fails once
    // every container runs and every link is wired.
    let dir = std::env::temp_dir().join(format!("srrd-docker-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(lab_dir().join("config"))
        .arg(&dir)
        .status()
        .expect("cp");
    assert!(copied.success());
    let text = std::fs::read_to_string(lab_dir().join("srrd.clab.yml")).expect("the topology");
    let broken = text.replacen(
        "        - ip route add 192.0.2.0/24 via 198.18.0.1\n",
        "        - ip link set no-such-link up\n",
        1,
    );
    assert_ne!(broken, text, "the c1 exec line to break is in the topology");
    std::fs::write(dir.join("srrd.clab.yml"), broken).expect("write the broken topology");

    let before = RootNamespace::now();
    let result =
        Cluster::build_in_containers(Lab::new("broken docker lab"), topology(&dir), &archive);
    let error = result.err().expect("the broken exec line fails the build");
    assert!(error.contains("no-such-link"), "{error}");
    before.assert_unchanged();
    let _ = std::fs::remove_dir_all(&dir);
}

fn lab_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn topology(dir: &Path) -> Topology {
    Topology::load(&dir.join("srrd.clab.yml")).unwrap_or_else(|p| panic!("{}", p.join("\n")))
}

/// images/build with the srrd next to this test (once per test process).
fn image() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            require_root();
            for tool in ["dockerd", "docker", "debootstrap", "umoci", "skopeo"] {
                let found = Command::new("sh")
                    .args(["-c", &format!("command -v {tool}")])
                    .output()
                    .is_ok_and(|o| o.status.success());
                assert!(found, "{tool} is missing: apt-get install docker.io debootstrap umoci skopeo (.ci/run does)");
            }
            let srrd = default_srrd_binary().unwrap_or_else(|e| panic!("{e}"));
            let build = lab_dir().join("../images/build");
            let start = Instant::now();
            let status = Command::new(&build)
                .arg("--srrd")
                .arg(&srrd)
                .status()
                .unwrap_or_else(|e| panic!("{}: {e}", build.display()));
            assert!(status.success(), "images/build failed: {status}");
            eprintln!("images/build took {:?}", start.elapsed());
            srrd_lab::docker::default_image_archive()
        })
        .clone()
}

/// What a lab must leave as it found it in the root namespace.
#[derive(PartialEq, Eq, Debug)]
struct RootNamespace {
    links: String,
    addresses: String,
    routes: String,
    nftables: String,
    iptables: String,
    lab_mounts: Vec<String>,
    lab_processes: Vec<String>,
    /// This process's lab namespaces (`netns::Lab`: st<pid % 1000><n>-*).
    lab_namespaces: Vec<String>,
}

impl RootNamespace {
    fn now() -> RootNamespace {
        let lab_mounts = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("/srrd-lab-"))
            .map(str::to_string)
            .collect();
        let lab_processes = output(
            "sh",
            &[
                "-c",
                "ps -eo args | grep -E '^(dockerd|containerd).*srrd-lab-' || true",
            ],
        )
        .lines()
        .map(str::to_string)
        .collect();
        let ours = format!("st{:03}", std::process::id() % 1000);
        let lab_namespaces = output("ip", &["netns", "list"])
            .lines()
            .filter(|l| l.starts_with(&ours))
            .map(str::to_string)
            .collect();
        RootNamespace {
            lab_namespaces,
            links: output("sh", &["-c", "ip -o link show | cut -d' ' -f2"]),
            addresses: output("ip", &["-o", "addr", "show"]),
            routes: output("ip", &["route", "show", "table", "all"]),
            nftables: output("nft", &["list", "ruleset"]),
            iptables: output(
                "sh",
                &["-c", "iptables-save 2>/dev/null | grep -v '^#' || true"],
            ),
            lab_mounts,
            lab_processes,
        }
    }

    fn assert_unchanged(&self) {
        assert_eq!(&RootNamespace::now(), self, "the lab left something behind");
    }
}

fn output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}
