//! The simulated cluster: nodes (engine + ospfd model), the flooding
//! network, the primitive executor, the fault schedule and the event loop.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use super::checks::Checker;
use super::rng::Rng;
use super::workload::{self, Workload};
use super::{FaultKind, SimConfig, Summary};
use crate::engine::{
    Action, Command, Engine, EngineSettings, Event, LsaRef, OpId, PrimitiveResult, Restored,
};
use crate::model::{Primitive, RouterId, Time};

/// A fault armed for the next run of a primitive on one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PrimitiveFault {
    Fail,
    Hang,
}

pub(super) struct SimNode {
    pub id: RouterId,
    pub lan: usize,
    pub engine: Option<Engine>,
    pub incarnation: u32,
    pub ospfd_up: bool,
    pub link_up: bool,
    pub api_up: bool,
    /// This node's ospfd LSDB (opaque LSAs only).
    lsdb: HashMap<LsaRef, Vec<u8>>,
    /// What this node's ospfd originates for its srrd session.
    origin: HashMap<LsaRef, Vec<u8>>,
    /// Routers this node's ospfd has reported reachable.
    reported: BTreeSet<usize>,
    timer_at: Option<Time>,
    pub vips: BTreeSet<IpAddr>,
    faults: HashMap<(String, Primitive), PrimitiveFault>,
    /// The reason of the last command the engine refused.
    rejected: Option<String>,
}

#[derive(Debug)]
enum Ev {
    /// An LSA instance (or its flush, `None`) reaches a node's ospfd.
    Flood {
        from: usize,
        to: usize,
        lsa: LsaRef,
        payload: Option<Vec<u8>>,
    },
    /// ospfd's second DELETE notification for a flushed LSA (notes, pitfall 12).
    LateDelete {
        to: usize,
        lsa: LsaRef,
    },
    Timer {
        node: usize,
        incarnation: u32,
        at: Time,
    },
    PrimitiveDone {
        node: usize,
        incarnation: u32,
        op: OpId,
        result: PrimitiveResult,
    },
    ReachAdds {
        node: usize,
    },
    ReachRemoves {
        node: usize,
    },
    ApiUp {
        node: usize,
        incarnation: u32,
    },
    Fault,
    Repair(Repair),
    Checkpoint {
        since: Time,
        label: &'static str,
    },
    Refresh,
}

#[derive(Debug, Clone)]
enum Repair {
    NodeReturn(usize),
    LinkUp(usize),
    Heal,
    OspfdStart(usize),
    SrrdStart(usize),
    LinkToggle(usize, u32),
    Nothing,
}

pub struct Cluster {
    config: SimConfig,
    rng: Rng,
    pub(super) workload: Workload,
    pub(super) nodes: Vec<SimNode>,
    /// Partition side of each LAN.
    pub(super) side: Vec<u8>,
    queue: BinaryHeap<Reverse<(Time, u64, usize)>>,
    events: Vec<Option<Ev>>,
    seq: u64,
    pub(super) now: Time,
    last_flood: HashMap<(usize, usize), Time>,
    pub(super) last_topology_change: Time,
    pub(super) last_state_change: Time,
    engine_events: u64,
    engine_nanos: u128,
    faults_injected: u64,
    pub(super) checker: Checker,
    /// Nodes a fault touched since the last checkpoint.
    pub(super) touched: BTreeSet<usize>,
    /// `SRRD_SIM_TRACE=<service>` prints that service's actions to stderr.
    trace: Option<String>,
}

impl Cluster {
    pub fn new(config: SimConfig) -> Cluster {
        let mut rng = Rng::new(config.seed);
        let workload = workload::generate(config.nodes, config.services, config.quorum, &mut rng);
        Cluster::with(config, rng, workload)
    }

    /// A cluster with a given workload and no fault schedule (stories).
    pub(super) fn scripted(mut config: SimConfig, workload: Workload) -> Cluster {
        config.nodes = workload.router_ids.len();
        config.faults.clear();
        let rng = Rng::new(config.seed);
        Cluster::with(config, rng, workload)
    }

    fn with(config: SimConfig, rng: Rng, workload: Workload) -> Cluster {
        let lan_count = workload.lans.iter().max().map_or(1, |m| m + 1);
        let nodes = (0..config.nodes)
            .map(|n| SimNode {
                id: workload.router_ids[n],
                lan: workload.lans[n],
                engine: None,
                incarnation: 0,
                ospfd_up: false,
                link_up: true,
                api_up: false,
                lsdb: HashMap::new(),
                origin: HashMap::new(),
                reported: BTreeSet::new(),
                timer_at: None,
                vips: BTreeSet::new(),
                faults: HashMap::new(),
                rejected: None,
            })
            .collect();
        Cluster {
            checker: Checker::new(&workload),
            config,
            rng,
            workload,
            nodes,
            side: vec![0; lan_count],
            queue: BinaryHeap::new(),
            events: Vec::new(),
            seq: 0,
            now: Time(0),
            last_flood: HashMap::new(),
            last_topology_change: Time(0),
            last_state_change: Time(0),
            engine_events: 0,
            engine_nanos: 0,
            faults_injected: 0,
            touched: BTreeSet::new(),
            trace: std::env::var("SRRD_SIM_TRACE").ok(),
        }
    }

    fn schedule(&mut self, at: Time, ev: Ev) {
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue
            .push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    pub fn run(mut self) -> Summary {
        let started = Instant::now();
        for n in 0..self.nodes.len() {
            self.boot_node(n);
        }
        self.topology_changed();
        let first = Time(self.config.settle_ms + 3000);
        self.schedule(
            first,
            Ev::Checkpoint {
                since: Time(0),
                label: "boot",
            },
        );
        if !self.config.faults.is_empty() {
            self.schedule(first.plus_ms(1), Ev::Fault);
        }
        self.schedule(Time(30_000), Ev::Refresh);
        let end = Time(self.config.duration_ms.max(first.0 + 1));

        self.run_until(end, false);
        // Heal everything and let it settle for the final verdict.
        self.now = end;
        self.repair_all();
        let final_at = end.plus_ms(self.config.settle_ms + 3000);
        self.schedule(
            final_at,
            Ev::Checkpoint {
                since: end,
                label: "final",
            },
        );
        self.run_until(final_at, true);

        let wall = started.elapsed().as_secs_f64().max(1e-9);
        let engine_secs = (self.engine_nanos as f64 / 1e9).max(1e-9);
        let c = &self.checker;
        Summary {
            nodes: self.config.nodes,
            services: self.workload.service_count,
            seed: self.config.seed,
            events: self.engine_events,
            faults_injected: self.faults_injected,
            checkpoints: c.checkpoints,
            converged: c.unconverged == 0,
            dual_active_after_convergence: c.dual_active,
            max_convergence_ms: c.max_convergence_ms,
            invariant_violations: c.violations.len() as u64,
            simulated_ms: final_at.0,
            events_per_sec: (self.engine_events as f64 / wall).round(),
            engine_events_per_sec: (self.engine_events as f64 / engine_secs).round(),
            violations: c.violations.clone(),
        }
    }

    /// Processes events up to `until`. While winding down, no new faults,
    /// repairs or intermediate checkpoints happen: only the final verdict.
    fn run_until(&mut self, until: Time, winding_down: bool) {
        while let Some(&Reverse((at, _, idx))) = self.queue.peek() {
            if at > until {
                break;
            }
            self.queue.pop();
            self.now = at;
            let Some(ev) = self.events[idx].take() else {
                continue;
            };
            let skip = winding_down
                && match &ev {
                    Ev::Fault | Ev::Refresh | Ev::Repair(_) => true,
                    Ev::Checkpoint { label, .. } => *label != "final",
                    _ => false,
                };
            if !skip {
                self.dispatch(ev);
            }
            if self.events.len() > 1 << 20 && self.queue.len() < self.events.len() / 4 {
                self.compact();
            }
        }
    }

    /// Drops consumed event slots (keeps memory flat on long runs).
    fn compact(&mut self) {
        let mut fresh = Vec::with_capacity(self.queue.len());
        let mut queue = BinaryHeap::with_capacity(self.queue.len());
        for Reverse((at, seq, idx)) in std::mem::take(&mut self.queue) {
            if let Some(ev) = self.events[idx].take() {
                fresh.push(Some(ev));
                queue.push(Reverse((at, seq, fresh.len() - 1)));
            }
        }
        self.events = fresh;
        self.queue = queue;
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::Flood {
                from,
                to,
                lsa,
                payload,
            } => self.deliver_flood(from, to, lsa, payload),
            Ev::LateDelete { to, lsa } => {
                if self.nodes[to].api_up && !self.nodes[to].lsdb.contains_key(&lsa) {
                    self.feed(to, Event::LsaDelete { lsa });
                }
            }
            Ev::Timer {
                node,
                incarnation,
                at,
            } => {
                let n = &self.nodes[node];
                if n.incarnation == incarnation && n.engine.is_some() && n.timer_at == Some(at) {
                    self.nodes[node].timer_at = None;
                    self.feed(node, Event::Timer);
                }
            }
            Ev::PrimitiveDone {
                node,
                incarnation,
                op,
                result,
            } => {
                if self.nodes[node].incarnation == incarnation && self.nodes[node].engine.is_some()
                {
                    self.feed(node, Event::PrimitiveDone { op, result });
                }
            }
            Ev::ReachAdds { node } => self.report_reachability(node, true),
            Ev::ReachRemoves { node } => self.report_reachability(node, false),
            Ev::ApiUp { node, incarnation } => self.api_up(node, incarnation),
            Ev::Fault => self.inject_fault(),
            Ev::Repair(r) => self.repair(r),
            Ev::Checkpoint { since, label } => self.checkpoint(since, label),
            Ev::Refresh => self.refresh_one(),
        }
    }

    // ---- the ospfd model -------------------------------------------------

    /// Whether two nodes' ospfds are in one routing domain now.
    pub(super) fn connected(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        a == b
            || (x.ospfd_up
                && y.ospfd_up
                && x.link_up
                && y.link_up
                && self.side[x.lan] == self.side[y.lan])
    }

    /// Flooding latency: about 1–2 ms on one LAN, 2–5 ms across a router
    /// (notes: 1.0–8.0 ms measured), FIFO per pair like a TCP-ordered hop.
    fn flood_delay(&mut self, from: usize, to: usize) -> Time {
        let base = if from == to {
            0
        } else if self.nodes[from].lan == self.nodes[to].lan {
            self.rng.range(1, 2)
        } else {
            let (lo, hi) = self.config.wan_delay_ms.unwrap_or((2, 5));
            self.rng.range(lo, hi)
        };
        let at = self.now.plus_ms(base);
        let last = self.last_flood.entry((from, to)).or_insert(Time(0));
        let at = at.max(*last);
        *last = at;
        at
    }

    fn flood(&mut self, from: usize, lsa: LsaRef, payload: Option<Vec<u8>>) {
        for to in 0..self.nodes.len() {
            if self.connected(from, to) {
                let at = self.flood_delay(from, to);
                self.schedule(
                    at,
                    Ev::Flood {
                        from,
                        to,
                        lsa,
                        payload: payload.clone(),
                    },
                );
                if payload.is_none() && to != from {
                    let late = at.plus_ms(self.rng.range(3_700, 22_000));
                    self.schedule(late, Ev::LateDelete { to, lsa });
                }
            }
        }
    }

    fn deliver_flood(&mut self, from: usize, to: usize, lsa: LsaRef, payload: Option<Vec<u8>>) {
        // A packet in flight is lost with the link; the database exchange
        // at the next adjacency repairs it.
        if !self.connected(from, to) {
            return;
        }
        let node = &mut self.nodes[to];
        let event = match payload {
            Some(p) => {
                if node.lsdb.get(&lsa) == Some(&p) {
                    return;
                }
                let replaced = node.lsdb.insert(lsa, p.clone()).is_some();
                if replaced && node.api_up {
                    // ospfd reports an update of one LSA ID as DELETE+UPDATE.
                    self.feed(to, Event::LsaDelete { lsa });
                }
                Event::LsaUpdate { lsa, payload: p }
            }
            None => {
                if node.lsdb.remove(&lsa).is_none() {
                    return;
                }
                Event::LsaDelete { lsa }
            }
        };
        if self.nodes[to].api_up {
            self.feed(to, event);
        }
    }

    /// Something changed who can reach whom: ospfds notice additions after
    /// an adjacency forms and removals after the dead interval (or BFD).
    fn topology_changed(&mut self) {
        self.last_topology_change = self.now;
        for n in 0..self.nodes.len() {
            if !self.nodes[n].ospfd_up {
                continue;
            }
            let adj = self.now.plus_ms(self.rng.range(300, 1000));
            self.schedule(adj, Ev::ReachAdds { node: n });
            let detect = if self.config.bfd {
                self.rng.range(25, 175)
            } else {
                let d = self.config.dead_interval_ms;
                self.rng.range(d * 3 / 4, d) + self.rng.range(10, 60)
            };
            self.schedule(self.now.plus_ms(detect), Ev::ReachRemoves { node: n });
        }
    }

    fn report_reachability(&mut self, node: usize, adds: bool) {
        if !self.nodes[node].ospfd_up {
            return;
        }
        let truth: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&k| k != node && self.connected(node, k))
            .collect();
        let reported = self.nodes[node].reported.clone();
        let changed: Vec<usize> = if adds {
            truth.difference(&reported).copied().collect()
        } else {
            reported.difference(&truth).copied().collect()
        };
        if changed.is_empty() {
            return;
        }
        if adds {
            // Database exchange with the new neighbours comes before the SPF
            // that makes them reachable.
            for &k in &changed {
                self.sync_lsdb(node, k);
            }
            self.nodes[node].reported.extend(changed.iter().copied());
        } else {
            for k in &changed {
                self.nodes[node].reported.remove(k);
            }
        }
        if self.nodes[node].api_up {
            let ids: Vec<RouterId> = changed.iter().map(|&k| self.nodes[k].id).collect();
            let event = if adds {
                Event::Reachability {
                    added: ids,
                    removed: vec![],
                }
            } else {
                Event::Reachability {
                    added: vec![],
                    removed: ids,
                }
            };
            self.feed(node, event);
        }
    }

    /// Brings `node`'s copy of `origin`'s LSAs up to date.
    fn sync_lsdb(&mut self, node: usize, origin: usize) {
        let adv = self.nodes[origin].id;
        let stale: Vec<LsaRef> = self.nodes[node]
            .lsdb
            .keys()
            .filter(|l| l.adv_router == adv && !self.nodes[origin].origin.contains_key(l))
            .copied()
            .collect();
        let mut fresh: Vec<(LsaRef, Vec<u8>)> = self.nodes[origin]
            .origin
            .iter()
            .filter(|(l, p)| self.nodes[node].lsdb.get(l) != Some(p))
            .map(|(l, p)| (*l, p.clone()))
            .collect();
        fresh.sort_by_key(|(l, _)| *l);
        let mut stale = stale;
        stale.sort();
        for lsa in stale {
            self.deliver_now(node, lsa, None);
        }
        for (lsa, p) in fresh {
            self.deliver_now(node, lsa, Some(p));
        }
    }

    fn deliver_now(&mut self, node: usize, lsa: LsaRef, payload: Option<Vec<u8>>) {
        let n = &mut self.nodes[node];
        let event = match payload {
            Some(p) => {
                n.lsdb.insert(lsa, p.clone());
                Event::LsaUpdate { lsa, payload: p }
            }
            None => {
                n.lsdb.remove(&lsa);
                Event::LsaDelete { lsa }
            }
        };
        if self.nodes[node].api_up {
            self.feed(node, event);
        }
    }

    /// ospfd refreshes an LSA (LSRefreshTime): peers see DELETE(old)+UPDATE(new).
    fn refresh_one(&mut self) {
        let n = self.rng.below(self.nodes.len());
        let lsas = sorted(&self.nodes[n].origin);
        if let Some((lsa, p)) = self.rng.pick(&lsas).cloned() {
            for to in 0..self.nodes.len() {
                // The originator is told too (docs/ospf-api.md).
                if self.connected(n, to)
                    && self.nodes[to].api_up
                    && self.nodes[to].lsdb.contains_key(&lsa)
                {
                    self.feed(to, Event::LsaDelete { lsa });
                    self.feed(
                        to,
                        Event::LsaUpdate {
                            lsa,
                            payload: p.clone(),
                        },
                    );
                }
            }
        }
        let next = self.now.plus_ms(self.rng.range(5_000, 30_000));
        self.schedule(next, Ev::Refresh);
    }

    // ---- node lifecycle --------------------------------------------------

    fn boot_node(&mut self, n: usize) {
        self.nodes[n].ospfd_up = true;
        self.start_engine(n, 800, 1500);
    }

    /// A new run of srrd: a new incarnation, and the API session after the
    /// daemon's start-up time (`min_ms..=max_ms`).
    fn start_engine(&mut self, n: usize, min_ms: u64, max_ms: u64) {
        self.nodes[n].incarnation += 1;
        let engine = self.new_engine(n);
        self.nodes[n].engine = Some(engine);
        let at = self.now.plus_ms(self.rng.range(min_ms, max_ms));
        let incarnation = self.nodes[n].incarnation;
        self.schedule(
            at,
            Ev::ApiUp {
                node: n,
                incarnation,
            },
        );
    }

    fn new_engine(&self, n: usize) -> Engine {
        let settings = EngineSettings {
            node_name: format!("n{n}"),
            incarnation: self.nodes[n].incarnation,
            ..EngineSettings::default()
        };
        Engine::new(
            settings,
            self.workload.per_node[n].clone(),
            &Restored::default(),
        )
    }

    fn api_up(&mut self, n: usize, incarnation: u32) {
        let node = &self.nodes[n];
        if node.incarnation != incarnation || node.engine.is_none() || !node.ospfd_up || node.api_up
        {
            return;
        }
        self.nodes[n].api_up = true;
        let id = self.nodes[n].id;
        self.feed(n, Event::ApiConnected { router_id: id });
        let added: Vec<RouterId> = self.nodes[n]
            .reported
            .iter()
            .map(|&k| self.nodes[k].id)
            .collect();
        self.feed(
            n,
            Event::Reachability {
                added,
                removed: vec![],
            },
        );
        for (lsa, payload) in sorted(&self.nodes[n].lsdb) {
            self.feed(n, Event::LsaUpdate { lsa, payload });
        }
    }

    /// srrd's session ends: ospfd flushes everything it originated for it.
    fn drop_session(&mut self, n: usize) {
        self.nodes[n].api_up = false;
        let mut mine: Vec<LsaRef> = self.nodes[n].origin.drain().map(|(l, _)| l).collect();
        mine.sort();
        if self.nodes[n].ospfd_up {
            for lsa in mine {
                self.flood(n, lsa, None);
            }
        }
    }

    fn crash_node(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.engine = None;
        node.api_up = false;
        node.ospfd_up = false;
        node.origin.clear();
        node.lsdb.clear();
        node.reported.clear();
        node.vips.clear();
        node.timer_at = None;
        self.topology_changed();
    }

    fn stop_ospfd(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.ospfd_up = false;
        node.origin.clear();
        node.lsdb.clear();
        node.reported.clear();
        if node.api_up {
            node.api_up = false;
            self.feed(n, Event::ApiLost);
        }
        self.topology_changed();
    }

    fn start_ospfd(&mut self, n: usize) {
        self.nodes[n].ospfd_up = true;
        self.topology_changed();
        let at = self.now.plus_ms(self.rng.range(800, 1500));
        let incarnation = self.nodes[n].incarnation;
        self.schedule(
            at,
            Ev::ApiUp {
                node: n,
                incarnation,
            },
        );
    }

    fn kill_srrd(&mut self, n: usize) {
        self.nodes[n].engine = None;
        self.nodes[n].timer_at = None;
        self.drop_session(n);
    }

    fn start_srrd(&mut self, n: usize) {
        // The daemon's reconcile loop removes VIPs it does not own.
        self.nodes[n].vips.clear();
        self.start_engine(n, 50, 200);
    }

    // ---- engines ---------------------------------------------------------

    pub(super) fn feed(&mut self, n: usize, event: Event) {
        let Some(engine) = self.nodes[n].engine.as_mut() else {
            return;
        };
        let clock = Instant::now();
        let actions = engine.handle(self.now, event);
        self.engine_nanos += clock.elapsed().as_nanos();
        self.engine_events += 1;
        for a in actions {
            self.apply(n, a);
        }
    }

    fn apply(&mut self, n: usize, action: Action) {
        if let Some(t) = &self.trace {
            let hit = match &action {
                Action::RunPrimitive(r) => &r.service == t,
                Action::StateChanged { service, .. } => service == t,
                Action::AddVip { service, .. } | Action::RemoveVip { service, .. } => service == t,
                _ => false,
            };
            if hit {
                eprintln!("{:>8} n{n}: {action}", self.now.0);
            }
        }
        match action {
            Action::Originate { lsa, payload } => {
                if self.nodes[n].api_up {
                    self.nodes[n].origin.insert(lsa, payload.clone());
                    self.flood(n, lsa, Some(payload));
                }
            }
            Action::Flush { lsa } => {
                if self.nodes[n].api_up && self.nodes[n].origin.remove(&lsa).is_some() {
                    self.flood(n, lsa, None);
                }
            }
            Action::RunPrimitive(run) => {
                let mut checker = std::mem::take(&mut self.checker);
                checker.on_primitive(self, n, &run);
                self.checker = checker;
                let fault = if matches!(run.primitive, Primitive::Start | Primitive::Check) {
                    self.nodes[n]
                        .faults
                        .remove(&(run.service.clone(), run.primitive))
                } else {
                    None
                };
                let duration = match run.primitive {
                    Primitive::Start => self.rng.range(20, 300),
                    Primitive::Stop => self.rng.range(10, 150),
                    Primitive::Check => self.rng.range(2, 30),
                    _ => self.rng.range(1, 20),
                };
                let result = match fault {
                    Some(PrimitiveFault::Hang) => return,
                    Some(PrimitiveFault::Fail) => PrimitiveResult::Failed(3),
                    None => PrimitiveResult::Ok,
                };
                let incarnation = self.nodes[n].incarnation;
                self.schedule(
                    self.now.plus_ms(duration),
                    Ev::PrimitiveDone {
                        node: n,
                        incarnation,
                        op: run.op,
                        result,
                    },
                );
            }
            Action::CancelPrimitive { .. } => {}
            Action::AddVip { addr, .. } => {
                self.nodes[n].vips.insert(addr);
            }
            Action::RemoveVip { addr, .. } => {
                self.nodes[n].vips.remove(&addr);
            }
            Action::SetTimer { at } => {
                self.nodes[n].timer_at = Some(at);
                let incarnation = self.nodes[n].incarnation;
                self.schedule(
                    at,
                    Ev::Timer {
                        node: n,
                        incarnation,
                        at,
                    },
                );
            }
            Action::StateChanged { .. } => self.last_state_change = self.now,
            Action::CommandRejected { reason, .. } => self.nodes[n].rejected = Some(reason),
            Action::Log { .. } | Action::ShutdownComplete => {}
        }
    }

    // ---- faults ----------------------------------------------------------

    fn inject_fault(&mut self) {
        let Some(&kind) = self.rng.pick(&self.config.faults) else {
            return;
        };
        let n = self.rng.below(self.nodes.len());
        let hold = self.rng.range(4_000, 8_000);
        self.faults_injected += 1;
        let mut mid_checkpoint = true;
        let repair = match kind {
            FaultKind::NodeCrash => {
                self.crash_node(n);
                Repair::NodeReturn(n)
            }
            FaultKind::LinkCut => {
                self.nodes[n].link_up = false;
                self.topology_changed();
                Repair::LinkUp(n)
            }
            FaultKind::Partition => {
                let lans = self.side.len();
                let cut = 1 + self.rng.below(lans.saturating_sub(1).max(1));
                let mut order: Vec<usize> = (0..lans).collect();
                for i in (1..order.len()).rev() {
                    let j = self.rng.below(i + 1);
                    order.swap(i, j);
                }
                for &l in order.iter().take(cut.min(lans - 1).max(1)) {
                    self.side[l] = 1;
                }
                self.topology_changed();
                Repair::Heal
            }
            FaultKind::OspfdLoss => {
                self.stop_ospfd(n);
                Repair::OspfdStart(n)
            }
            FaultKind::SrrdRestart => {
                self.kill_srrd(n);
                mid_checkpoint = false;
                Repair::SrrdStart(n)
            }
            FaultKind::StartFailure | FaultKind::StartHang | FaultKind::CheckFailure => {
                mid_checkpoint = false;
                let (primitive, fault) = match kind {
                    FaultKind::StartFailure => (Primitive::Start, PrimitiveFault::Fail),
                    FaultKind::StartHang => (Primitive::Start, PrimitiveFault::Hang),
                    _ => (Primitive::Check, PrimitiveFault::Fail),
                };
                // Arm it where a service runs, then make that service move.
                if let Some((node, service)) =
                    self.pick_running_service(primitive == Primitive::Check)
                {
                    self.touched.insert(node);
                    self.nodes[node]
                        .faults
                        .insert((service.clone(), primitive), fault);
                    if primitive == Primitive::Start {
                        // The next start of it elsewhere fails too.
                        for other in 0..self.nodes.len() {
                            if other != node {
                                self.nodes[other]
                                    .faults
                                    .insert((service.clone(), Primitive::Start), fault);
                            }
                        }
                        self.feed(node, Event::Command(Command::Stop(service)));
                    }
                }
                Repair::Nothing
            }
            FaultKind::LinkFlap => {
                mid_checkpoint = false;
                self.nodes[n].link_up = false;
                self.topology_changed();
                Repair::LinkToggle(n, self.rng.range(3, 6) as u32)
            }
            FaultKind::OperatorMove => {
                mid_checkpoint = false;
                if let Some((node, service)) = self.pick_running_service(false) {
                    self.touched.insert(node);
                    let targets: Vec<RouterId> = self.nodes[node]
                        .engine
                        .as_ref()
                        .map(|e| e.view().records(&service).map(|(r, _)| *r).collect())
                        .unwrap_or_default();
                    if let Some(&t) = self.rng.pick(&targets) {
                        self.feed(node, Event::Command(Command::MoveTo(service, t)));
                    }
                }
                Repair::Nothing
            }
        };
        if self.trace.is_some() {
            eprintln!("{:>8} fault {} on n{n}", self.now.0, kind.name());
        }
        self.touched.insert(n);
        // A partition moves services anywhere; with the quorum guard any
        // lost peer can make a holder step down for lack of a majority.
        let topology = matches!(
            kind,
            FaultKind::NodeCrash | FaultKind::LinkCut | FaultKind::OspfdLoss | FaultKind::LinkFlap
        );
        if kind == FaultKind::Partition || (self.config.quorum && topology) {
            self.touched.extend(0..self.nodes.len());
        }
        if mid_checkpoint {
            self.schedule(
                self.now.plus_ms(hold - 1),
                Ev::Checkpoint {
                    since: self.now,
                    label: kind.name(),
                },
            );
        }
        match repair {
            Repair::LinkToggle(..) => {
                let at = self.now.plus_ms(self.rng.range(200, 800));
                self.schedule(at, Ev::Repair(repair));
            }
            _ => self.schedule(self.now.plus_ms(hold), Ev::Repair(repair)),
        }
    }

    fn pick_running_service(&mut self, checked_only: bool) -> Option<(usize, String)> {
        let mut running = Vec::new();
        for (n, node) in self.nodes.iter().enumerate() {
            let Some(e) = &node.engine else { continue };
            for s in e.services() {
                let has_check = e
                    .service_config(&s.name)
                    .is_some_and(|c| c.check_interval.is_some());
                if s.run == crate::model::RunState::Started && (!checked_only || has_check) {
                    running.push((n, s.name));
                }
            }
        }
        self.rng.pick(&running).cloned()
    }

    fn repair(&mut self, repair: Repair) {
        match repair {
            Repair::NodeReturn(n) => {
                self.boot_node(n);
                self.topology_changed();
            }
            Repair::LinkUp(n) => {
                self.nodes[n].link_up = true;
                self.topology_changed();
            }
            Repair::Heal => {
                self.side.iter_mut().for_each(|s| *s = 0);
                self.topology_changed();
            }
            Repair::OspfdStart(n) => self.start_ospfd(n),
            Repair::SrrdStart(n) => self.start_srrd(n),
            Repair::LinkToggle(n, left) => {
                self.nodes[n].link_up = !self.nodes[n].link_up;
                self.topology_changed();
                if left > 1 || !self.nodes[n].link_up {
                    let at = self.now.plus_ms(self.rng.range(200, 800));
                    self.schedule(
                        at,
                        Ev::Repair(Repair::LinkToggle(n, left.saturating_sub(1))),
                    );
                    return;
                }
            }
            Repair::Nothing => {}
        }
        self.operator_reactivates_failed();
        self.schedule(
            self.now.plus_ms(self.config.settle_ms),
            Ev::Checkpoint {
                since: self.now,
                label: "repaired",
            },
        );
        self.schedule(self.now.plus_ms(self.config.settle_ms + 1), Ev::Fault);
    }

    fn repair_all(&mut self) {
        for n in 0..self.nodes.len() {
            self.nodes[n].faults.clear();
            if self.nodes[n].engine.is_none() && !self.nodes[n].ospfd_up {
                self.boot_node(n);
            } else if self.nodes[n].engine.is_none() {
                self.start_srrd(n);
            } else if !self.nodes[n].ospfd_up {
                self.start_ospfd(n);
            }
            self.nodes[n].link_up = true;
        }
        self.side.iter_mut().for_each(|s| *s = 0);
        self.topology_changed();
        self.operator_reactivates_failed();
    }

    /// The operator clears failures and stop flags so capacity returns.
    fn operator_reactivates_failed(&mut self) {
        for n in 0..self.nodes.len() {
            let Some(e) = &self.nodes[n].engine else {
                continue;
            };
            let mut commands = Vec::new();
            for s in e.services() {
                if s.failure.is_some() {
                    commands.push(Command::Activate(s.name.clone()));
                }
                if s.standby {
                    commands.push(Command::Start(s.name.clone()));
                }
            }
            for c in commands {
                self.feed(n, Event::Command(c));
            }
        }
    }

    fn checkpoint(&mut self, since: Time, label: &'static str) {
        let mut checker = std::mem::take(&mut self.checker);
        checker.checkpoint(self, since, label);
        self.checker = checker;
        self.touched.clear();
    }
}

/// LSAs in id order: iteration order must not depend on hashing, or runs
/// would not replay from their seed.
fn sorted(lsas: &HashMap<LsaRef, Vec<u8>>) -> Vec<(LsaRef, Vec<u8>)> {
    let mut v: Vec<(LsaRef, Vec<u8>)> = lsas.iter().map(|(l, p)| (*l, p.clone())).collect();
    v.sort_by_key(|(l, _)| *l);
    v
}

/// What a story (story.rs) does to the cluster and asks of it.
impl Cluster {
    pub(super) fn boot_all(&mut self) {
        for n in 0..self.nodes.len() {
            self.boot_node(n);
        }
        self.topology_changed();
    }

    pub(super) fn run_for(&mut self, ms: u64) {
        let until = self.now.plus_ms(ms);
        self.run_until(until, false);
        self.now = until;
    }

    pub(super) fn crash(&mut self, n: usize) {
        self.crash_node(n);
    }

    pub(super) fn restore(&mut self, n: usize) {
        self.boot_node(n);
        self.topology_changed();
    }

    pub(super) fn set_ospfd(&mut self, n: usize, up: bool) {
        if up {
            self.start_ospfd(n);
        } else {
            self.stop_ospfd(n);
        }
    }

    pub(super) fn set_link(&mut self, n: usize, up: bool) {
        self.nodes[n].link_up = up;
        self.topology_changed();
    }

    /// Puts the given LANs on one side of a partition, the rest on the other.
    pub(super) fn partition(&mut self, lans: &[usize]) {
        for (l, side) in self.side.iter_mut().enumerate() {
            *side = u8::from(lans.contains(&l));
        }
        self.topology_changed();
    }

    pub(super) fn heal(&mut self) {
        self.side.iter_mut().for_each(|s| *s = 0);
        self.topology_changed();
    }

    pub(super) fn fail_next_start(&mut self, n: usize, service: &str) {
        self.nodes[n]
            .faults
            .insert((service.to_string(), Primitive::Start), PrimitiveFault::Fail);
    }

    pub(super) fn command(&mut self, n: usize, command: Command) {
        self.nodes[n].rejected = None;
        self.feed(n, Event::Command(command));
    }

    pub(super) fn last_rejection(&self, n: usize) -> Option<String> {
        self.nodes[n].rejected.clone()
    }

    pub(super) fn run_state(&self, n: usize, service: &str) -> Option<crate::model::RunState> {
        let node = &self.nodes[n];
        if !node.api_up {
            return None;
        }
        node.engine.as_ref()?.service(service).map(|s| s.run)
    }

    pub(super) fn has_vip(&self, n: usize, addr: &IpAddr) -> bool {
        self.nodes[n].vips.contains(addr)
    }

    pub(super) fn violations(&self) -> &[String] {
        &self.checker.violations
    }
}
