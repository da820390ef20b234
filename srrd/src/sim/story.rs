//! Multi-node golden stories (srrd/tests/cluster/*.scn, syntax in its
//! README.md): nodes, services and delays, then a timeline of faults and
//! operator commands, each `settle` followed by the expected holders. The
//! story runs in the simulator's cluster, whose continuous checks (no dual
//! start, dependency order, ...) must stay silent throughout.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cluster::Cluster;
use super::workload::{UnitSpec, Workload};
use super::SimConfig;
use crate::config::{parse_duration, ServiceConfig};
use crate::engine::{Command, Prediction};
use crate::model::{RouterId, ServiceKind};

/// The `*.scn` files of a folder, in name order (stories, single-node
/// scenarios alike).
pub fn scn_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .scn files in {}", dir.display());
    files
}

/// Runs every story in `dir`: (file name, outcome) for each.
pub fn run_all(dir: &Path) -> Vec<(String, Result<(), String>)> {
    scn_files(dir)
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            (name, run_file(f))
        })
        .collect()
}

/// Runs the story in `file`.
pub fn run_file(file: &Path) -> Result<(), String> {
    std::fs::read_to_string(file)
        .map_err(|e| format!("{}: {e}", file.display()))
        .and_then(|text| run(&file.display().to_string(), &text))
}

/// Runs a story; the error names the line and what differed.
pub fn run(file: &str, text: &str) -> Result<(), String> {
    let mut st = Story::default();
    let mut cluster: Option<Cluster> = None;
    for (i, raw) in text.lines().enumerate() {
        let at = |e: String| format!("{file}:{}: {e}", i + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&verb, args)) = words.split_first() else {
            continue;
        };
        match (verb, cluster.as_mut()) {
            ("node", None) => st.node(args).map_err(at)?,
            ("delay", None) => st.delay(args).map_err(at)?,
            ("service", None) => st.service(args).map_err(at)?,
            ("boot", None) => {
                let mut c = Cluster::scripted(st.config.clone(), st.workload()?);
                c.boot_all();
                cluster = Some(c);
            }
            (_, None) => return Err(at(format!("`{verb}` before `boot` (or unknown)"))),
            (_, Some(c)) => st.step(c, verb, args).map_err(at)?,
        }
    }
    let c = cluster.ok_or(format!("{file}: the story never boots"))?;
    match c.violations().first() {
        Some(v) => Err(format!("{file}: a continuous check failed: {v}")),
        None => Ok(()),
    }
}

#[derive(Default)]
struct Story {
    config: SimConfig,
    names: Vec<String>,
    router_ids: Vec<RouterId>,
    lans: Vec<usize>,
    lan_names: Vec<String>,
    services: Vec<(ServiceConfig, Vec<usize>, BTreeMap<usize, u8>)>,
    /// The predictions of the last `whatif`.
    preview: std::cell::RefCell<Vec<Prediction>>,
}

impl Story {
    fn node_index(&self, name: &str) -> Result<usize, String> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| format!("no node {name}"))
    }

    /// `node NAME ROUTER-ID lan=NAME`
    fn node(&mut self, args: &[&str]) -> Result<(), String> {
        let [name, rid, lan] = args else {
            return Err("node NAME ROUTER-ID lan=LAN".into());
        };
        let lan = lan
            .strip_prefix("lan=")
            .ok_or("node NAME ROUTER-ID lan=LAN")?;
        let l = match self.lan_names.iter().position(|x| x == lan) {
            Some(l) => l,
            None => {
                self.lan_names.push(lan.to_string());
                self.lan_names.len() - 1
            }
        };
        self.names.push(name.to_string());
        self.router_ids
            .push(rid.parse().map_err(|e| format!("router id {rid}: {e}"))?);
        self.lans.push(l);
        Ok(())
    }

    /// `delay wan=MIN..MAX` (ms across a router) and/or `dead=MS`, `bfd`.
    fn delay(&mut self, args: &[&str]) -> Result<(), String> {
        for a in args {
            match a.split_once('=') {
                Some(("wan", v)) => self.config.wan_delay_ms = Some(ms_range(v)?),
                Some(("dead", v)) => self.config.dead_interval_ms = ms(v)?,
                None if *a == "bfd" => self.config.bfd = true,
                _ => return Err(format!("unknown delay option {a}")),
            }
        }
        Ok(())
    }

    /// `service NAME on=N1,N2 [addr=IP] [pref=N1:200,..] [kind=resource]
    /// [group=G] [depends=A,B] [critical] [quorum] [check=1s]`
    fn service(&mut self, args: &[&str]) -> Result<(), String> {
        let (name, opts) = args.split_first().ok_or("service NAME on=NODES ...")?;
        let mut s = ServiceConfig::new(name);
        let mut on = Vec::new();
        let mut prefs = BTreeMap::new();
        for opt in opts {
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            match k {
                "on" => {
                    for n in v.split(',') {
                        on.push(self.node_index(n)?);
                    }
                }
                "addr" => s
                    .addresses
                    .push(v.parse::<IpAddr>().map_err(|e| format!("addr {v}: {e}"))?),
                "pref" => {
                    for p in v.split(',') {
                        let (n, p) = p.split_once(':').ok_or("pref=NODE:N,...")?;
                        let p: u8 = p.parse().map_err(|e| format!("pref {p}: {e}"))?;
                        prefs.insert(self.node_index(n)?, p);
                    }
                }
                "kind" if v == "resource" => s.kind = ServiceKind::Resource,
                "group" => s.group = Some(v.to_string()),
                "depends" => s.depends = v.split(',').map(str::to_string).collect(),
                "critical" => s.critical = true,
                "quorum" => s.quorum = true,
                "check" => s.check_interval = Some(Duration::from_millis(ms(v)?)),
                "handover" if v == "overlap" => s.handover = crate::config::Handover::Overlap,
                "overlap" => s.handover_overlap = Duration::from_millis(ms(v)?),
                _ => return Err(format!("unknown service option {opt}")),
            }
        }
        if on.is_empty() {
            return Err(format!("service {name}: on=NODES is missing"));
        }
        self.services.push((s, on, prefs));
        Ok(())
    }

    fn workload(&self) -> Result<Workload, String> {
        let mut per_node = vec![Vec::new(); self.names.len()];
        for (s, on, prefs) in &self.services {
            for &n in on {
                let mut c = s.clone();
                c.preference = prefs.get(&n).copied().unwrap_or(100);
                per_node[n].push(c);
            }
        }
        // Units as the engine forms them: groups and dependencies join.
        let mut units: Vec<UnitSpec> = Vec::new();
        let mut unit_of: BTreeMap<String, usize> = BTreeMap::new();
        for (s, on, prefs) in &self.services {
            let joined = s
                .group
                .iter()
                .map(|g| format!("group:{g}"))
                .chain(s.depends.iter().cloned())
                .find_map(|k| unit_of.get(&k).copied());
            let u = match joined {
                Some(u) => u,
                None => {
                    units.push(UnitSpec {
                        members: Vec::new(),
                        nodes: on.clone(),
                        preferences: on
                            .iter()
                            .map(|n| prefs.get(n).copied().unwrap_or(100))
                            .collect(),
                    });
                    units.len() - 1
                }
            };
            units[u].members.push(s.name.clone());
            unit_of.insert(s.name.clone(), u);
            if let Some(g) = &s.group {
                unit_of.insert(format!("group:{g}"), u);
            }
        }
        Ok(Workload {
            router_ids: self.router_ids.clone(),
            lans: self.lans.clone(),
            per_node,
            units,
            service_count: self.services.len(),
            vips: self
                .services
                .iter()
                .map(|(s, _, _)| (s.name.clone(), s.addresses.clone()))
                .collect(),
        })
    }

    fn step(&self, c: &mut Cluster, verb: &str, args: &[&str]) -> Result<(), String> {
        let node = |i: usize| -> Result<usize, String> {
            self.node_index(args.get(i).ok_or(format!("{verb}: which node?"))?)
        };
        match verb {
            "settle" => c.run_for(args.first().map_or(Ok(15_000), |v| ms(v))?),
            "wait" => c.run_for(ms(args.first().ok_or("wait MS")?)?),
            "wait-api" => {
                let n = node(0)?;
                let mut waited = 0;
                while !c.api_session_up(n) {
                    if waited >= 10_000 {
                        return Err(format!("wait-api: no API session within {waited} ms"));
                    }
                    c.run_for(5);
                    waited += 5;
                }
            }
            "crash" => c.crash_node(node(0)?),
            "srrd-kill" => c.srrd_kill(node(0)?),
            "srrd-start" => c.srrd_start(node(0)?),
            "return" => c.restore(node(0)?),
            "ospfd-stop" => c.set_ospfd(node(0)?, false),
            "ospfd-start" => c.set_ospfd(node(0)?, true),
            "cut" => c.set_link(node(0)?, false),
            "link" => c.set_link(node(0)?, true),
            "partition" => {
                let side: Vec<usize> = args
                    .iter()
                    .map(|l| {
                        self.lan_names
                            .iter()
                            .position(|x| x == l)
                            .ok_or(format!("no lan {l}"))
                    })
                    .collect::<Result<_, _>>()?;
                c.partition(&side);
            }
            "heal" => c.heal(),
            "fail-start" => {
                c.fail_next_start(node(0)?, args.get(1).ok_or("fail-start NODE SERVICE")?)
            }
            "cmd" => {
                let command = self.command(args)?;
                c.operator(node(0)?, command);
            }
            "whatif" => {
                let command = self.command(args)?;
                let preview = c
                    .engine(node(0)?)
                    .ok_or("whatif: the node's engine is down")?
                    .what_if(&command);
                if let Some(why) = &preview.rejected {
                    return Err(format!("whatif {command}: rejected: {why}"));
                }
                *self.preview.borrow_mut() = preview.services;
            }
            "expect-as-predicted" => self.expect_as_predicted(c)?,
            "expect-rejected" => {
                let got = c.last_rejection(node(0)?);
                let want = args[1..].join(" ");
                if !got.as_deref().is_some_and(|g| g.contains(&want)) {
                    return Err(format!(
                        "expected a rejection containing {want:?}, got {got:?}"
                    ));
                }
            }
            "expect" => self.expect(c, args)?,
            "expect-stops" => {
                let service = args.first().ok_or("expect-stops SERVICE N")?;
                let want: u64 = args
                    .get(1)
                    .ok_or("expect-stops SERVICE N")?
                    .parse()
                    .map_err(|e| format!("expect-stops: {e}"))?;
                let got = c.stops(service);
                if got != want {
                    return Err(format!(
                        "{service}: `stop` ran {got} times, expected {want}"
                    ));
                }
            }
            "expect-strays" => {
                let usage = "expect-strays NODE SERVICE NODE|none";
                let service = args.get(1).ok_or(usage)?;
                let want = match *args.get(2).ok_or(usage)? {
                    "none" => None,
                    _ => Some(c.nodes[node(2)?].id),
                };
                let got = c.strays(node(0)?, service);
                if got != want {
                    return Err(format!(
                        "{service}: {} forwards stray packets to {got:?}, expected {want:?}",
                        args[0]
                    ));
                }
            }
            "expect-starts" => {
                let service = args.first().ok_or("expect-starts SERVICE N")?;
                let want: u64 = args
                    .get(1)
                    .ok_or("expect-starts SERVICE N")?
                    .parse()
                    .map_err(|e| format!("expect-starts: {e}"))?;
                let got = c.starts(service);
                if got != want {
                    return Err(format!(
                        "{service}: `start` ran {got} times, expected {want}"
                    ));
                }
            }
            _ => return Err(format!("unknown step {verb}")),
        }
        Ok(())
    }

    /// `cmd NODE VERB SERVICE [to NODE]`: the operator command.
    fn command(&self, args: &[&str]) -> Result<Command, String> {
        let service = || {
            args.get(2)
                .map(|s| s.to_string())
                .ok_or("cmd NODE VERB SERVICE")
        };
        Ok(match args.get(1).copied() {
            Some("stop") => Command::Stop(service()?),
            Some("start") => Command::Start(service()?),
            Some("activate") => Command::Activate(service()?),
            Some("deactivate") => Command::Deactivate(service()?),
            Some("disable") => Command::Disable(service()?),
            Some("enable") => Command::Enable(service()?),
            Some("move-to") => {
                let target = args.get(3).ok_or("cmd NODE move-to SERVICE NODE")?;
                Command::MoveTo(service()?, self.router_ids[self.node_index(target)?])
            }
            other => return Err(format!("unknown command {other:?}")),
        })
    }

    /// Every service of the last `whatif` runs where it predicted.
    fn expect_as_predicted(&self, c: &Cluster) -> Result<(), String> {
        let preview = self.preview.borrow();
        if preview.is_empty() {
            return Err("expect-as-predicted without a whatif".into());
        }
        for p in preview.iter() {
            let want: Vec<RouterId> = p.predicted.into_iter().collect();
            let running: Vec<RouterId> = (0..self.names.len())
                .filter(|&n| c.runs(n, &p.service))
                .map(|n| self.router_ids[n])
                .collect();
            if running != want {
                return Err(format!(
                    "{}: predicted {:?} ({}), runs on {running:?}",
                    p.service, p.predicted, p.reason
                ));
            }
        }
        Ok(())
    }

    /// `expect SERVICE on NODE[,NODE]` | `expect SERVICE nowhere`: the
    /// service runs (started) exactly there and its VIPs are exactly there.
    fn expect(&self, c: &Cluster, args: &[&str]) -> Result<(), String> {
        let service = args.first().ok_or("expect SERVICE on NODE | nowhere")?;
        let want: Vec<usize> = match args.get(1).copied() {
            Some("on") => {
                let mut nodes = args
                    .get(2)
                    .ok_or("expect SERVICE on NODE")?
                    .split(',')
                    .map(|n| self.node_index(n))
                    .collect::<Result<Vec<usize>, String>>()?;
                nodes.sort_unstable();
                nodes
            }
            Some("nowhere") => Vec::new(),
            _ => return Err("expect SERVICE on NODE | nowhere".into()),
        };
        let running: Vec<usize> = (0..self.names.len())
            .filter(|&n| c.runs(n, service))
            .collect();
        let addrs = self
            .services
            .iter()
            .find(|(s, _, _)| s.name == *service)
            .map(|(s, _, _)| s.addresses.clone())
            .ok_or(format!("no service {service}"))?;
        let with_vip: Vec<usize> = (0..self.names.len())
            .filter(|&n| addrs.iter().any(|a| c.has_vip(n, a)))
            .collect();
        let names = |v: &[usize]| v.iter().map(|&n| self.names[n].clone()).collect::<Vec<_>>();
        if running != want || (!addrs.is_empty() && with_vip != want) {
            return Err(format!(
                "{service}: expected on {:?}, runs on {:?}, VIP on {:?}",
                names(&want),
                names(&running),
                names(&with_vip)
            ));
        }
        Ok(())
    }
}

fn ms(v: &str) -> Result<u64, String> {
    if let Ok(n) = v.parse::<u64>() {
        return Ok(n);
    }
    parse_duration(v)
        .map(|d| d.as_millis() as u64)
        .map_err(|e| format!("{v}: {e}"))
}

fn ms_range(v: &str) -> Result<(u64, u64), String> {
    let (a, b) = v.split_once("..").ok_or("MIN..MAX")?;
    Ok((ms(a)?, ms(b)?))
}
