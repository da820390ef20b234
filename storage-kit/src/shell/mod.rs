//! The thin shell: the primitives, built from external commands (mdadm,
//! nbd-server, nbd-client) and the pure decisions in `freshness`.

pub mod cmd;
pub mod device;
pub mod md;
pub mod nbd;

use crate::config::{Config, Node};
use crate::freshness::{decide_start, full_copy_reason, Decision, MemberView, Rejoin};
use crate::mdadm::Detail;
use crate::record::{self, Block, Kind, Record};
use cmd::CmdError;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Exit codes (docs/storage.md, "Exit codes").
pub mod code {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const COMMAND: i32 = 3;
    pub const REFUSED: i32 = 4;
    pub const DEGRADED: i32 = 20;
    pub const RESYNCING: i32 = 21;
    pub const NOT_RUNNING: i32 = 30;
    pub const FAILED: i32 = 31;
    pub const RECALL: i32 = 75;
}

#[derive(Debug)]
pub struct KitError {
    pub code: i32,
    pub message: String,
}

impl From<CmdError> for KitError {
    fn from(e: CmdError) -> Self {
        KitError {
            code: code::COMMAND,
            message: e.to_string(),
        }
    }
}

fn io_error(what: &str, dev: &str) -> impl FnOnce(std::io::Error) -> KitError {
    let context = format!("{what} {dev}");
    move |e| KitError {
        code: code::COMMAND,
        message: format!("{context}: {e}"),
    }
}

type Result<T> = std::result::Result<T, KitError>;

/// What srrd tells a primitive (docs/primitives.md, "Environment").
#[derive(Default)]
pub struct Env {
    /// `SRRD_PEERS`: router ids of the reachable peers with the resource
    /// active. `None` outside srrd: every configured peer is probed.
    pub peers: Option<Vec<String>>,
    /// `SRRD_PEER` for join and leave.
    pub peer: Option<String>,
    pub service: String,
}

pub struct Kit {
    pub cfg: Config,
    pub me: Node,
    pub state_dir: PathBuf,
    pub env: Env,
}

impl Kit {
    fn local(&self) -> String {
        self.cfg.local_device(&self.me)
    }

    fn peers(&self) -> impl Iterator<Item = &Node> {
        self.cfg.nodes.iter().filter(|n| n.name != self.me.name)
    }

    fn device_of(&self, n: &Node) -> String {
        if n.name == self.me.name {
            self.local()
        } else {
            self.cfg.nbd_device(n)
        }
    }

    fn node_of_device(&self, dev: &str) -> Option<&Node> {
        let canon = |p: &str| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p));
        self.cfg
            .nodes
            .iter()
            .find(|n| canon(&self.device_of(n)) == canon(dev))
    }

    fn pidfile(&self) -> PathBuf {
        self.state_dir.join("nbd-server.pid")
    }

    fn running(&self) -> bool {
        md::running(self.cfg.md_name())
    }

    // ---- export (activate, deactivate) ----

    /// Starts the export if it is not running. Before it serves, the
    /// current record is copied to the epoch block: a record that differs
    /// from the epoch later was written while this export was up.
    fn export_up(&self) -> Result<()> {
        if nbd::server_pid(&self.pidfile()).is_some() {
            return Ok(());
        }
        let dev = self.local();
        let current = match self.read(&dev, Kind::Generation)? {
            Block::Valid(r) => r,
            _ => Record::none(),
        };
        device::write_block(&dev, record::EPOCH_FROM_END, &current.encode(Kind::Epoch))
            .map_err(io_error("writing the export epoch to", &dev))?;
        let conf = self.state_dir.join("nbd-server.conf");
        let export = nbd::Export {
            name: &self.cfg.export,
            device: &dev,
            address: &self.me.address,
            port: self.cfg.port,
        };
        std::fs::write(&conf, nbd::server_config(&export))
            .map_err(io_error("writing", &conf.to_string_lossy()))?;
        nbd::start_server(&conf, &self.pidfile())?;
        println!(
            "export {} of {dev} started on {}:{}",
            self.cfg.export, self.me.address, self.cfg.port
        );
        Ok(())
    }

    pub fn activate(&self) -> Result<i32> {
        if self.running() {
            // srrd may activate again (after an ospfd loss) while the array
            // runs here: the local device is in the array, not exported.
            return Ok(code::OK);
        }
        self.export_up()?;
        if nbd::serves(&self.me.address, self.cfg.port, &self.cfg.export) {
            Ok(code::OK)
        } else {
            Ok(code::RECALL)
        }
    }

    pub fn deactivate(&self) -> Result<i32> {
        nbd::stop_server(&self.pidfile());
        if !self.running() {
            let dev = self.local();
            device::write_block(&dev, record::EPOCH_FROM_END, &[0u8; record::BLOCK])
                .map_err(io_error("clearing the export epoch of", &dev))?;
        }
        Ok(code::OK)
    }

    // ---- reading members ----

    fn read(&self, dev: &str, kind: Kind) -> Result<Block> {
        let from_end = match kind {
            Kind::Generation => record::RECORD_FROM_END,
            Kind::Epoch => record::EPOCH_FROM_END,
        };
        let bytes = device::read_block(dev, from_end)
            .map_err(io_error("reading the kit's blocks of", dev))?;
        Ok(record::decode(&bytes, kind))
    }

    fn view(&self, n: &Node) -> Result<MemberView> {
        let dev = self.device_of(n);
        Ok(MemberView {
            node: n.name.clone(),
            record: self.read(&dev, Kind::Generation)?,
            epoch: self.read(&dev, Kind::Epoch)?,
            md: md::examine(&dev)?,
        })
    }

    fn write_record(&self, r: &Record, nodes: &[&Node]) -> Result<()> {
        for n in nodes {
            let dev = self.device_of(n);
            device::write_block(&dev, record::RECORD_FROM_END, &r.encode(Kind::Generation))
                .map_err(io_error("writing the generation record to", &dev))?;
        }
        Ok(())
    }

    /// The peers srrd reports reachable (or all, outside srrd) whose export
    /// answers, attached. The others are left out of this run.
    fn attach_reachable(&self) -> Vec<&Node> {
        let wanted: Vec<&Node> = match &self.env.peers {
            Some(ids) => self
                .peers()
                .filter(|p| ids.contains(&p.router_id) || ids.contains(&p.name))
                .collect(),
            None => self.peers().collect(),
        };
        wanted
            .into_iter()
            .filter(|p| self.attach(p).is_ok())
            .collect()
    }

    fn attach(&self, p: &Node) -> Result<()> {
        let dev = self.cfg.nbd_device(p);
        if nbd::connected(&dev) {
            return Ok(());
        }
        // A peer srrd reports has the resource active: its `activate`
        // answered only once the export served. Others are probed first.
        let vouched = self
            .env
            .peers
            .as_ref()
            .is_some_and(|ids| ids.contains(&p.router_id));
        if !vouched && !nbd::serves(&p.address, self.cfg.port, &self.cfg.export) {
            println!(
                "{}: export not reachable at {}:{}",
                p.name, p.address, self.cfg.port
            );
            return Err(KitError {
                code: code::COMMAND,
                message: format!("{} unreachable", p.name),
            });
        }
        nbd::attach(
            &self.cfg.export,
            &p.address,
            self.cfg.port,
            &dev,
            self.cfg.nbd_timeout,
        )
        .map_err(|e| {
            println!("{}: attach failed: {e}", p.name);
            KitError::from(e)
        })
    }

    // ---- start, stop ----

    pub fn start(&self, force: bool) -> Result<i32> {
        if self.running() {
            self.bring_back_reachable()?;
            self.reconcile()?;
            return Ok(code::OK);
        }
        nbd::stop_server(&self.pidfile());
        let peers = self.attach_reachable();
        let mut members: Vec<&Node> = vec![&self.me];
        members.extend(peers);
        let views = members
            .iter()
            .map(|n| self.view(n))
            .collect::<Result<Vec<_>>>()?;
        let decision = decide_start(&self.me.name, &self.cfg.names(), &views, force);
        self.remember(&decision);
        match decision {
            Decision::Wait { reason } => {
                println!("waiting: {reason}");
                Ok(code::RECALL)
            }
            Decision::Refuse { reason } => Err(KitError {
                code: code::REFUSED,
                message: format!("refusing to start: {reason}"),
            }),
            Decision::Create { .. } => self.create(&members),
            Decision::Assemble {
                array,
                generation,
                fresh,
                stale,
            } => {
                if force {
                    self.log_force(&views, &fresh)?;
                }
                let node = |name: &String| {
                    members
                        .iter()
                        .copied()
                        .find(|n| &n.name == name)
                        .expect("decided among the members")
                };
                let fresh: Vec<&Node> = fresh.iter().map(node).collect();
                let r = Record {
                    array,
                    generation: generation + 1,
                    writer: self.me.name.clone(),
                    members: fresh.iter().map(|n| n.name.clone()).collect(),
                };
                self.write_record(&r, &fresh)?;
                md::assemble(
                    &self.cfg.md_device,
                    &fresh.iter().map(|n| self.device_of(n)).collect::<Vec<_>>(),
                )?;
                println!(
                    "assembled {} from {} ({r})",
                    self.cfg.md_device,
                    r.members.join(", ")
                );
                for (name, how) in stale {
                    self.bring_in(node(&name), how)?;
                }
                Ok(code::OK)
            }
        }
    }

    fn create(&self, members: &[&Node]) -> Result<i32> {
        let devices: Vec<String> = members.iter().map(|n| self.device_of(n)).collect();
        let mut smallest = u64::MAX;
        for d in &devices {
            smallest = smallest.min(device::size(d).map_err(io_error("size of", d))?);
        }
        const MIB: u64 = 1024 * 1024;
        let data_offset = 8 * MIB;
        let usable = smallest.saturating_sub(data_offset + record::RESERVED_TAIL) / MIB * MIB;
        if usable == 0 {
            return Err(KitError {
                code: code::REFUSED,
                message: format!("devices too small ({smallest} bytes): need more than 9 MiB"),
            });
        }
        md::create(
            &self.cfg.md_device,
            &self.cfg.export,
            usable / 1024,
            &devices,
        )?;
        let uuid = md::detail(&self.cfg.md_device)?.uuid;
        let r = Record {
            array: uuid,
            generation: 1,
            writer: self.me.name.clone(),
            members: members.iter().map(|n| n.name.clone()).collect(),
        };
        self.write_record(&r, members)?;
        println!(
            "created {} on {} ({r})",
            self.cfg.md_device,
            devices.join(", ")
        );
        Ok(code::OK)
    }

    /// Adds a stale member; md copies towards it from the in-sync ones.
    fn bring_in(&self, n: &Node, how: Rejoin) -> Result<()> {
        let dev = self.device_of(n);
        let md_dev = &self.cfg.md_device;
        if how == Rejoin::ReAdd {
            match md::re_add(md_dev, &dev) {
                Ok(()) => {
                    println!("{}: re-added {dev} (bitmap resync)", n.name);
                    return Ok(());
                }
                Err(e) => println!("{}: re-add refused, adding with a full copy: {e}", n.name),
            }
        }
        md::add_full(md_dev, &dev)?;
        println!("{}: added {dev} (full copy)", n.name);
        Ok(())
    }

    fn bring_back(&self, n: &Node, d: &Detail) -> Result<()> {
        let dev = self.device_of(n);
        if d.member(&dev).is_some() {
            return Ok(());
        }
        let roles: Vec<usize> = d
            .members
            .iter()
            .filter(|m| m.in_sync())
            .filter_map(|m| m.raid_device)
            .collect();
        match full_copy_reason(md::examine(&dev)?.as_ref(), &d.uuid, d.events, &roles) {
            None => self.bring_in(n, Rejoin::ReAdd),
            Some(why) => {
                println!("{}: full copy needed: {why}", n.name);
                self.bring_in(n, Rejoin::Full)
            }
        }
    }

    /// Reachable peers that are not in the array come back.
    fn bring_back_reachable(&self) -> Result<()> {
        let d = md::detail(&self.cfg.md_device)?;
        for p in self.attach_reachable() {
            self.bring_back(p, &d)?;
        }
        Ok(())
    }

    /// Faulty members leave the array; the record then names exactly the
    /// in-sync members, written by this node, in a new generation.
    fn reconcile(&self) -> Result<Detail> {
        let md_dev = &self.cfg.md_device;
        let mut d = md::detail(md_dev)?;
        for m in d.members.iter().filter(|m| m.faulty()) {
            if let Some(dev) = &m.device {
                md::remove(md_dev, dev)?;
                if dev.starts_with("/dev/nbd") {
                    nbd::detach(dev)?;
                }
                println!("removed faulty member {dev}");
            }
        }
        if d.members.iter().any(|m| m.faulty()) {
            d = md::detail(md_dev)?;
        }
        let in_sync: Vec<&Node> = d
            .members
            .iter()
            .filter(|m| m.in_sync())
            .filter_map(|m| m.device.as_deref())
            .filter_map(|dev| self.node_of_device(dev))
            .collect();
        let names: Vec<String> = in_sync.iter().map(|n| n.name.clone()).collect();
        let mut newest: Option<Record> = None;
        for n in &in_sync {
            if let Block::Valid(r) = self.read(&self.device_of(n), Kind::Generation)? {
                if newest
                    .as_ref()
                    .map_or(true, |x| r.generation > x.generation)
                {
                    newest = Some(r);
                }
            }
        }
        let up_to_date = newest.as_ref().is_some_and(|r| {
            r.writer == self.me.name && r.array == d.uuid && sorted(&r.members) == sorted(&names)
        });
        if !up_to_date && !in_sync.is_empty() {
            let r = Record {
                array: d.uuid.clone(),
                generation: newest.map_or(1, |r| r.generation + 1),
                writer: self.me.name.clone(),
                members: names,
            };
            self.write_record(&r, &in_sync)?;
            println!("new {r}");
        }
        Ok(d)
    }

    pub fn stop(&self) -> Result<i32> {
        if self.running() {
            md::stop(&self.cfg.md_device)?;
            println!("stopped {}", self.cfg.md_device);
        }
        for p in self.peers() {
            nbd::detach(&self.cfg.nbd_device(p))?;
        }
        self.export_up()?;
        Ok(code::OK)
    }

    // ---- join, leave, check ----

    fn peer_from_env(&self) -> Result<&Node> {
        let id = self.env.peer.as_deref().unwrap_or_default();
        self.cfg
            .node(id)
            .filter(|n| n.name != self.me.name)
            .ok_or(KitError {
                code: code::USAGE,
                message: format!("SRRD_PEER {id:?} is not a peer in the configuration"),
            })
    }

    pub fn join(&self) -> Result<i32> {
        if !self.running() {
            return Ok(code::OK);
        }
        let p = self.peer_from_env()?;
        self.attach(p)?;
        self.bring_back(p, &md::detail(&self.cfg.md_device)?)?;
        Ok(code::OK)
    }

    pub fn leave(&self) -> Result<i32> {
        if !self.running() {
            return Ok(code::OK);
        }
        let p = self.peer_from_env()?;
        let dev = self.cfg.nbd_device(p);
        if md::detail(&self.cfg.md_device)?.member(&dev).is_some() {
            md::fail_and_remove(&self.cfg.md_device, &dev)?;
            println!("{}: failed and removed {dev}", p.name);
        }
        nbd::detach(&dev)?;
        self.reconcile()?;
        Ok(code::OK)
    }

    pub fn check(&self, degraded_fails: bool) -> Result<i32> {
        if !self.running() {
            println!("{} is not running", self.cfg.md_device);
            return Ok(code::NOT_RUNNING);
        }
        let d = self.reconcile()?;
        if d.members.iter().all(|m| !m.in_sync()) || d.state.contains("FAILED") {
            println!("{} has failed: {}", self.cfg.md_device, d.state);
            return Ok(code::FAILED);
        }
        self.bring_back_reachable()?;
        let d = md::detail(&self.cfg.md_device)?;
        let in_sync = d.members.iter().filter(|m| m.in_sync()).count();
        println!(
            "{}: {} of {} in sync, state {}",
            self.cfg.md_device, in_sync, d.raid_devices, d.state
        );
        Ok(match () {
            _ if !degraded_fails => code::OK,
            _ if d.rebuild_status.is_some() => code::RESYNCING,
            _ if in_sync < d.raid_devices => code::DEGRADED,
            _ => code::OK,
        })
    }

    // ---- status, decisions, force log ----

    fn remember(&self, d: &Decision) {
        let text = match d {
            Decision::Wait { reason } => format!("waiting: {reason}"),
            Decision::Refuse { reason } => format!("refused: {reason}"),
            Decision::Create { members } => format!("created with {}", members.join(", ")),
            Decision::Assemble {
                generation,
                fresh,
                stale,
                ..
            } => {
                format!(
                    "assembled from {} (their generation {generation}, now {}); resync towards: {}",
                    fresh.join(", "),
                    generation + 1,
                    if stale.is_empty() {
                        "-".into()
                    } else {
                        stale
                            .iter()
                            .map(|(n, h)| format!("{n} ({h:?})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )
            }
        };
        let _ = std::fs::write(
            self.state_dir.join("last-start"),
            format!("{} {text}\n", now_utc()),
        );
    }

    fn log_force(&self, views: &[MemberView], fresh: &[String]) -> Result<()> {
        let mut line = format!(
            "{} FORCED START of {} on {} from {}; members seen:",
            now_utc(),
            self.env.service,
            self.me.name,
            fresh.join(",")
        );
        for v in views {
            let r = match &v.record {
                Block::Valid(r) => r.to_string(),
                b => format!("{b:?}"),
            };
            let _ = write!(
                line,
                " [{}: {r}; md events {}]",
                v.node,
                v.md.as_ref().map_or("-".into(), |e| e.events.to_string())
            );
        }
        println!("{line}");
        let path = self.state_dir.join("force.log");
        let mut log = std::fs::read_to_string(&path).unwrap_or_default();
        log.push_str(&line);
        log.push('\n');
        std::fs::write(&path, log).map_err(io_error("writing", &path.to_string_lossy()))?;
        let _ = cmd::run(
            "logger",
            &["-t", "srrd-raid1", &line],
            std::time::Duration::from_secs(2),
        );
        Ok(())
    }

    pub fn status(&self) -> Result<i32> {
        let mut out = String::new();
        let md_dev = &self.cfg.md_device;
        if self.running() {
            let d = md::detail(md_dev)?;
            let _ = writeln!(
                out,
                "{} on {}: ACTIVE, {md_dev} {} (events {}, bitmap {})",
                self.env.service,
                self.me.name,
                d.state,
                d.events,
                if d.bitmap_internal {
                    "internal"
                } else {
                    "none"
                }
            );
            if let Some(s) = crate::mdadm::parse_mdstat(&md::mdstat(), self.cfg.md_name()) {
                let _ = writeln!(out, "mdstat: {} {}", s.members, s.sync.unwrap_or_default());
                if let Some(b) = s.bitmap {
                    let _ = writeln!(out, "{b}");
                }
            }
            if let Some((dirty, total)) =
                md::examine_bitmap(&self.local()).and_then(|t| crate::mdadm::parse_bitmap_dirty(&t))
            {
                let _ = writeln!(out, "bitmap: {dirty} of {total} chunks dirty");
            }
            for n in &self.cfg.nodes {
                let dev = self.device_of(n);
                let state = d
                    .member(&dev)
                    .map_or("not in the array".to_string(), |m| m.state.join(" "));
                let rec = if d.member(&dev).is_some() {
                    self.read(&dev, Kind::Generation)
                        .map(|b| describe(&b))
                        .unwrap_or_else(|e| e.message)
                } else {
                    "-".into()
                };
                let _ = writeln!(out, "  {:<10} {:<12} {:<22} {rec}", n.name, dev, state);
            }
        } else {
            let dev = self.local();
            let e = md::examine(&dev)?;
            let _ = writeln!(
                out,
                "{} on {}: passive, {md_dev} not running here",
                self.env.service, self.me.name
            );
            let _ = writeln!(
                out,
                "  local {dev}: md {}",
                e.map_or("no superblock".into(), |e| format!(
                    "array {} events {} role {:?} saw {}",
                    e.array_uuid, e.events, e.role, e.array_state
                ))
            );
            let rec = self.read(&dev, Kind::Generation)?;
            let epoch = self.read(&dev, Kind::Epoch)?;
            let _ = writeln!(out, "  record: {}", describe(&rec));
            let _ = writeln!(
                out,
                "  export epoch: {}{}",
                describe(&epoch),
                if matches!((&epoch, &rec), (Block::Valid(a), Block::Valid(b)) if a != b) {
                    " (record written since the export started: witness)"
                } else {
                    ""
                }
            );
            let export = nbd::server_pid(&self.pidfile()).map_or("not running".into(), |p| {
                format!(
                    "nbd-server pid {p} on {}:{}",
                    self.me.address, self.cfg.port
                )
            });
            let _ = writeln!(out, "  export: {export}");
        }
        if let Ok(last) = std::fs::read_to_string(self.state_dir.join("last-start")) {
            let _ = write!(out, "last start: {last}");
        }
        if let Ok(log) = std::fs::read_to_string(self.state_dir.join("force.log")) {
            let _ = writeln!(out, "forced starts: {}", log.lines().count());
            if let Some(l) = log.lines().last() {
                let _ = writeln!(out, "  last: {l}");
            }
        }
        print!("{out}");
        Ok(code::OK)
    }
}

fn describe(b: &Block) -> String {
    match b {
        Block::Valid(r) => r.to_string(),
        Block::Blank => "none".into(),
        Block::Corrupt(e) => format!("damaged ({e})"),
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// UTC wall clock as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
