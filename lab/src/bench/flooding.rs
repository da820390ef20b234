//! `srrd-bench flooding`: the cost of steady-state flooding (docs/
//! benchmarks.md, "Steady-state flooding (lab)"). The lab (`lab/srrd.clab.yml`) with
//! N cheap services (`/bin/true` for every primitive), spread over n1..n3
//! by preference; once every service runs somewhere and a settle time has
//! passed, each ospfd's and srrd's CPU time and srrd's memory
//! (`resources.rs`) are read over a window at rest, and a tap on r1 (an
//! OSPF API observer, `tap.rs`) counts the srrd LSA updates the domain
//! carries in that window. One lab per srrd binary, so an older binary
//! can be compared with the current one. A benchmark: it prints a table,
//! it checks nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::cluster::NODES;
use super::measure::unix_ms;
use super::report::{command_line, loadavg, machine};
use super::resources::{sample_all, usage, Usage};
use crate::cluster::{Cluster, Overrides};
use crate::netns::{retry, Lab, ProcHandle, Profile};

/// Where the tap runs (its API session costs that ospfd a little).
const TAP_NODE: &str = "r1";
/// Every ospfd whose CPU is read.
const OSPFD_NODES: [&str; 4] = ["n1", "n2", "n3", "r1"];

#[derive(Clone, Debug)]
pub struct FloodOptions {
    /// (label, srrd binary), one lab each, in this order.
    pub binaries: Vec<(String, PathBuf)>,
    /// srrd-bench itself (its `tap` command).
    pub bench: PathBuf,
    pub services: usize,
    pub check_interval: Duration,
    /// At rest for this long before the window opens.
    pub settle: Duration,
    pub window: Duration,
    pub srrd_log: String,
    pub logs: Option<PathBuf>,
}

/// One binary's measurement.
#[derive(Clone, Debug)]
pub struct FloodRow {
    pub label: String,
    pub binary: PathBuf,
    pub services: usize,
    pub check_interval: Duration,
    /// Per node over the window (ospfd's memory is not shown).
    pub ospfd: BTreeMap<&'static str, Usage>,
    pub srrd: BTreeMap<&'static str, Usage>,
    /// srrd LSA originations (updates) and flushes seen at r1, per second.
    pub updates_per_s: f64,
    pub deletes_per_s: f64,
    /// Services per node at rest.
    pub placement: BTreeMap<String, usize>,
    pub window_s: f64,
    pub load_start: String,
    pub load_end: String,
}

pub fn run(options: &FloodOptions) -> Result<Vec<FloodRow>, String> {
    options
        .binaries
        .iter()
        .map(|(label, srrd)| {
            eprintln!(
                "== {label}: {} with {} services",
                srrd.display(),
                options.services
            );
            measure_one(options, label, srrd)
        })
        .collect()
}

fn measure_one(options: &FloodOptions, label: &str, srrd: &Path) -> Result<FloodRow, String> {
    let load_start = loadavg();
    let cluster = Cluster::build_lab(
        Lab::new(&format!("flooding {label}")),
        srrd.to_path_buf(),
        Overrides::own_srrd(Profile::Fast),
    )?;
    let lab = &cluster.lab;
    lab.wait_ospf_full("r1", 3, Duration::from_secs(60));
    let tap = {
        let mut cmd = Command::new(&options.bench);
        cmd.arg("tap");
        lab.spawn(TAP_NODE, cmd)
    };
    let mut srrds = BTreeMap::new();
    for (i, node) in NODES.into_iter().enumerate() {
        // Written by hand, not by srrd's TOML writer: an older binary
        // refuses keys it does not know.
        let config = cluster.srrd_config_path(node);
        std::fs::write(&config, config_text(node, i, &lab.node_dir(node), options))
            .map_err(|e| format!("{}: {e}", config.display()))?;
        srrds.insert(node, cluster.spawn_srrd(node, &options.srrd_log));
    }
    let result = (|| {
        let placement = retry(Duration::from_secs(180), Duration::from_secs(1), || {
            placement(&cluster, options.services)
        })
        .map_err(|e| format!("{label}: services not placed within 180 s: {e}"))?;
        eprintln!("   placed: {placement:?}; settling {:?}", options.settle);
        std::thread::sleep(options.settle);
        let ospfds: BTreeMap<&'static str, u32> = OSPFD_NODES
            .into_iter()
            .filter_map(|n| {
                let h = lab
                    .processes()
                    .into_iter()
                    .rev()
                    .find(|p| p.node == n && p.name == "ospfd")?;
                Some((n, h.pid))
            })
            .collect();
        let srrd_pids: BTreeMap<&'static str, u32> =
            srrds.iter().map(|(n, h)| (*n, h.pid)).collect();
        let before_ospfd = sample_all(&ospfds)?;
        let before_srrd = sample_all(&srrd_pids)?;
        let t0 = unix_ms();
        eprintln!("   measuring for {:?}", options.window);
        std::thread::sleep(options.window);
        let t1 = unix_ms();
        let after_ospfd = sample_all(&ospfds)?;
        let after_srrd = sample_all(&srrd_pids)?;
        for (node, h) in &srrds {
            if !lab.is_running(h) {
                return Err(format!("{label}: srrd on {node} exited during the window"));
            }
        }
        let window_s = (t1 - t0) / 1000.0;
        let (updates, deletes) = tap_counts(&tap, t0, t1);
        Ok(FloodRow {
            label: label.to_string(),
            binary: srrd.to_path_buf(),
            services: options.services,
            check_interval: options.check_interval,
            ospfd: usage(&before_ospfd, &after_ospfd),
            srrd: usage(&before_srrd, &after_srrd),
            updates_per_s: updates as f64 / window_s,
            deletes_per_s: deletes as f64 / window_s,
            placement,
            window_s,
            load_start: load_start.clone(),
            load_end: loadavg(),
        })
    })();
    for h in srrds.values() {
        lab.signal(h, crate::netns::Signal::SIGTERM);
    }
    for h in srrds.values() {
        if lab.wait_exit(h, Duration::from_secs(30)).is_none() {
            lab.kill(h);
        }
    }
    lab.kill(&tap);
    super::keep_logs(options.logs.as_deref(), lab, &format!("flooding-{label}"));
    result
}

/// Service i prefers node i % 3 (200 there, 100 elsewhere): spread evenly.
/// No `check_refresh` or other keys an older srrd would refuse.
fn config_text(node: &str, index: usize, dir: &std::path::Path, o: &FloodOptions) -> String {
    let mut text = format!(
        "[node]\nname = \"{node}\"\nstate_dir = \"{}\"\nvip_interface = \"lo\"\n",
        dir.join("state").display()
    );
    for i in 0..o.services {
        let preference = if i % NODES.len() == index { 200 } else { 100 };
        text += &format!(
            "\n[[service]]\nname = \"s{i:03}\"\nkind = \"resource\"\npreference = {preference}\n\
             check_interval = \"{}ms\"\nprimitives = \"/bin/true\"\n",
            o.check_interval.as_millis()
        );
    }
    text
}

/// Services per holder once every node has every service active and each
/// runs on exactly one node (from `srrd lsdb` at n1).
fn placement(cluster: &Cluster, services: usize) -> Result<BTreeMap<String, usize>, String> {
    let states = cluster.states("n1")?;
    let records: usize = states.values().map(Vec::len).sum();
    if records < services * NODES.len() {
        return Err(format!("{records} of {} records", services * NODES.len()));
    }
    let mut holders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, list) in &states {
        for (node, state) in list {
            match state.as_str() {
                "active/started" => holders.entry(name.clone()).or_default().push(node.clone()),
                "active/stopped" => {}
                other => return Err(format!("{name} at {node} is {other}")),
            }
        }
    }
    let mut per_node = BTreeMap::new();
    for (name, on) in &holders {
        if on.len() != 1 {
            return Err(format!("{name} runs on {on:?}"));
        }
        *per_node.entry(on[0].clone()).or_insert(0) += 1;
    }
    let placed: usize = per_node.values().sum();
    if placed < services {
        return Err(format!("{placed} of {services} services run"));
    }
    Ok(per_node)
}

/// srrd LSA updates and deletes the tap printed with a time in [t0, t1).
fn tap_counts(tap: &ProcHandle, t0: f64, t1: f64) -> (usize, usize) {
    let (mut updates, mut deletes) = (0, 0);
    for line in tap.log_text().lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let ms = v.get("ms").and_then(|m| m.as_f64()).unwrap_or(0.0);
        if !(t0..t1).contains(&ms) {
            continue;
        }
        match v.get("event").and_then(|e| e.as_str()) {
            Some("update") => updates += 1,
            Some("delete") => deletes += 1,
            _ => {}
        }
    }
    (updates, deletes)
}

/// The table for docs/benchmarks.md.
pub fn table(rows: &[FloodRow]) -> String {
    let mut out = format!(
        "srrd steady-state flooding benchmark, {}\nmachine: {}\n",
        command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        machine()
    );
    for r in rows {
        out += &format!(
            "{}: {} — load average {} before, {} after; window {:.1} s; placement {:?}\n",
            r.label,
            r.binary.display(),
            r.load_start,
            r.load_end,
            r.window_s,
            r.placement
        );
    }
    out += "\n| binary | services | check interval | ospfd CPU % n1 | n2 | n3 | r1 (tap) | srrd CPU % n1 / n2 / n3 | srrd RSS MiB n1 / n2 / n3 (peak) | LSA updates/s | flushes/s |\n";
    out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    let pct = |m: &BTreeMap<&'static str, Usage>, n: &str| {
        m.get(n)
            .map_or("-".to_string(), |u| format!("{:.1}", u.cpu_percent))
    };
    let rss = |m: &BTreeMap<&'static str, Usage>, n: &str| {
        m.get(n).map_or("-".to_string(), |u| {
            format!("{:.1} ({:.1})", u.rss_mib, u.peak_mib)
        })
    };
    for r in rows {
        out += &format!(
            "| {} | {} | {} ms | {} | {} | {} | {} | {} / {} / {} | {} / {} / {} | {:.1} | {:.1} |\n",
            r.label,
            r.services,
            r.check_interval.as_millis(),
            pct(&r.ospfd, "n1"),
            pct(&r.ospfd, "n2"),
            pct(&r.ospfd, "n3"),
            pct(&r.ospfd, "r1"),
            pct(&r.srrd, "n1"),
            pct(&r.srrd, "n2"),
            pct(&r.srrd, "n3"),
            rss(&r.srrd, "n1"),
            rss(&r.srrd, "n2"),
            rss(&r.srrd, "n3"),
            r.updates_per_s,
            r.deletes_per_s,
        );
    }
    out
}
