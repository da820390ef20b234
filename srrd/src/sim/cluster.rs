//! The simulated cluster: nodes (engine + ospfd model), the flooding
//! network, the primitive executor, the fault schedule and the event loop.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::io::Write;
use std::net::IpAddr;
use std::time::Instant;

use serde_json::{json, Value};

use super::checks::Checker;
use super::oracle::{Exec, Truth};
use super::rng::Rng;
use super::workload::{self, Workload};
use super::{FaultKind, SimConfig, Summary};
use crate::engine::{
    Action, Command, Engine, EngineSettings, Event, LsaRef, OpId, PrimitiveResult, Restored,
};
use crate::model::{Primitive, RouterId, Time};

/// Adjacencies form 0.3–1 s after a link comes up (docs/frr.md, item F1).
const ADJ_MS: (u64, u64) = (300, 1000);
/// At an adjacency, the stale LSAs of a restarted router are flushed up to
/// this long before or after it becomes reachable (F5).
const STALE_FLUSH_MAX_MS: u64 = 100;
/// ospfd retransmits an unacknowledged LSA every 5 s (RxmtInterval, F2).
const RXMT_MS: u64 = 5_000;
/// ospfd holds a re-origination of one LSA id until 5 s after the last (F3).
const LSA_HOLD_MS: u64 = 5_000;
/// Our own LSA comes back on the API session within this (F4).
const ECHO_MAX_MS: u64 = 1;
/// Floods on one LAN and across a router without `wan_delay_ms` (F1).
const LAN_MS: (u64, u64) = (1, 2);
const ROUTED_MS: (u64, u64) = (2, 5);
/// Primitive durations the executor draws.
const START_MS: (u64, u64) = (20, 300);
const STOP_MS: (u64, u64) = (10, 150);
const CHECK_MS: (u64, u64) = (2, 30);
const OTHER_MS: (u64, u64) = (1, 20);

/// A fault armed for runs of a primitive on one node.
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
    /// Bumped when the node crashes: its processes die with it.
    boot: u32,
    pub ospfd_up: bool,
    pub link_up: bool,
    pub api_up: bool,
    /// This node's ospfd LSDB (opaque LSAs only).
    lsdb: HashMap<LsaRef, Vec<u8>>,
    /// What this node's ospfd originates for its srrd session.
    origin: HashMap<LsaRef, Vec<u8>>,
    /// When this ospfd last originated each LSA id (for the 5 s hold).
    originated: HashMap<LsaRef, Time>,
    /// Re-originations waiting for the 5 s mark.
    held: BTreeSet<LsaRef>,
    /// When each LSA id last arrived (MinLSArrival; only if configured).
    arrived: HashMap<LsaRef, Time>,
    /// Routers this node's ospfd has reported reachable.
    reported: BTreeSet<usize>,
    timer_at: Option<Time>,
    /// The instant the timer last fired at, and how often it fired then.
    timer_fired: (Time, u32),
    pub vips: BTreeSet<IpAddr>,
    faults: BTreeMap<(String, Primitive), PrimitiveFault>,
    /// The reason of the last command the engine refused.
    rejected: Option<String>,
    /// How many times `stop` ran for each service here (stories).
    stops: BTreeMap<String, u64>,
    /// How many times `start` ran for each service here (stories).
    starts: BTreeMap<String, u64>,
    /// Where this node forwards each service's stray packets (ForwardStrays).
    pub strays: BTreeMap<String, RouterId>,
    /// What the next engine adopts (found running at its cleanup).
    adopt: std::collections::BTreeSet<String>,
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
    /// `from` retransmits its current instance of `lsa` to `to`.
    Retransmit {
        from: usize,
        to: usize,
        lsa: LsaRef,
    },
    /// A held re-origination reaches its 5 s mark.
    HeldOriginate {
        node: usize,
        lsa: LsaRef,
    },
    /// The database exchange flushes `origin`'s stale LSAs at `node`.
    StaleFlush {
        node: usize,
        origin: usize,
    },
    /// ospfd's second DELETE notification for a flushed LSA (docs/ospf-api.md).
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
        boot: u32,
        incarnation: u32,
        op: OpId,
        service: String,
        primitive: Primitive,
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
    /// A new srrd run cleans up what the old one left, then starts its engine.
    SrrdBoot {
        node: usize,
        boot: u32,
    },
    /// The bound after a lost API session: the node must run nothing.
    ApiAudit {
        node: usize,
        lost_at: Time,
    },
    /// The bound after a new run's session: an adopted copy of a unit
    /// another node ran must be gone.
    AdoptAudit {
        node: usize,
        incarnation: u32,
        unit: usize,
        other: usize,
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
    /// Take back a primitive fault (if one was armed).
    Disarm(Option<(usize, String, Primitive)>),
}

/// Decides whether an engine action reaches the simulator (`false` drops
/// it): a test's way to break an engine from outside.
pub type ActionFilter = Box<dyn FnMut(usize, &Action) -> bool>;

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
    pub(super) last_state_change: Time,
    engine_events: u64,
    /// Service and daemon LSAs the engines originated (each with a flush of
    /// the previous id): the flooding cost.
    lsa_updates: u64,
    engine_nanos: u128,
    faults_injected: u64,
    pub(super) checker: Checker,
    pub(super) truth: Truth,
    /// Nodes a fault touched since the last checkpoint.
    pub(super) touched: BTreeSet<usize>,
    trace: Option<Box<dyn Write>>,
    filter: Option<ActionFilter>,
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
                boot: 0,
                ospfd_up: false,
                link_up: true,
                api_up: false,
                lsdb: HashMap::new(),
                origin: HashMap::new(),
                originated: HashMap::new(),
                held: BTreeSet::new(),
                arrived: HashMap::new(),
                reported: BTreeSet::new(),
                timer_at: None,
                timer_fired: (Time(0), 0),
                vips: BTreeSet::new(),
                faults: BTreeMap::new(),
                rejected: None,
                stops: BTreeMap::new(),
                starts: BTreeMap::new(),
                strays: BTreeMap::new(),
                adopt: Default::default(),
            })
            .collect();
        Cluster {
            checker: Checker::default(),
            truth: Truth::new(&workload),
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
            last_state_change: Time(0),
            engine_events: 0,
            lsa_updates: 0,
            engine_nanos: 0,
            faults_injected: 0,
            touched: BTreeSet::new(),
            trace: None,
            filter: None,
        }
    }

    /// Writes the run's trace as JSON lines (docs/simulator.md).
    pub fn with_trace(mut self, out: Box<dyn Write>) -> Cluster {
        self.trace = Some(out);
        self
    }

    pub fn with_action_filter(mut self, filter: ActionFilter) -> Cluster {
        self.filter = Some(filter);
        self
    }

    fn schedule(&mut self, at: Time, ev: Ev) {
        // A deadline already past is due now: simulated time never goes back.
        let at = at.max(self.now);
        self.seq += 1;
        self.events.push(Some(ev));
        self.queue
            .push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    fn emit(&mut self, node: Option<usize>, ev: &str, fields: Value) {
        let Some(out) = self.trace.as_mut() else {
            return;
        };
        let mut line = json!({ "t": self.now.0, "node": node, "ev": ev });
        if let (Some(map), Value::Object(extra)) = (line.as_object_mut(), fields) {
            map.extend(extra);
        }
        if writeln!(out, "{line}").is_err() {
            eprintln!("srrd sim: cannot write the trace; tracing stops");
            self.trace = None;
        }
    }

    /// An engine that keeps asking for its timer at the same instant spins
    /// (a daemon would burn a core): reported, and the timer dropped.
    fn timer_livelocked(&mut self, node: usize) -> bool {
        const SPINS: u32 = 1000;
        let now = self.now;
        let fired = &mut self.nodes[node].timer_fired;
        *fired = if fired.0 == now {
            (now, fired.1 + 1)
        } else {
            (now, 1)
        };
        if fired.1 < SPINS {
            return false;
        }
        let text = format!(
            "node {node} re-armed its timer for t={}ms {SPINS} times",
            now.0
        );
        self.report(vec![("livelock".into(), text)]);
        true
    }

    fn report(&mut self, found: Vec<(String, String)>) {
        for (kind, text) in found {
            let line = self.checker.violation(self.now, &kind, text);
            self.emit(None, "violation", json!({ "kind": kind, "text": line }));
        }
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
        if let Some(out) = self.trace.as_mut() {
            if out.flush().is_err() {
                eprintln!("srrd sim: cannot write the trace");
            }
        }

        let wall = started.elapsed().as_secs_f64().max(1e-9);
        let engine_secs = (self.engine_nanos as f64 / 1e9).max(1e-9);
        let c = &self.checker;
        Summary {
            nodes: self.config.nodes,
            services: self.workload.service_count,
            seed: self.config.seed,
            events: self.engine_events,
            lsa_updates: self.lsa_updates,
            faults_injected: self.faults_injected,
            checkpoints: c.checkpoints,
            converged: c.unconverged == 0,
            dual_active_after_convergence: c.dual_active,
            max_convergence_ms: c.max_convergence_ms,
            invariant_violations: c.violation_count,
            violations_by_kind: c.by_kind.clone(),
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
            Ev::Retransmit { from, to, lsa } => self.retransmit(from, to, lsa),
            Ev::HeldOriginate { node, lsa } => {
                self.nodes[node].held.remove(&lsa);
                if let Some(p) = self.nodes[node].origin.get(&lsa).cloned() {
                    self.originate_now(node, lsa, p);
                }
            }
            Ev::StaleFlush { node, origin } => {
                if self.connected(node, origin) {
                    self.flush_stale(node, origin);
                }
            }
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
                    if self.timer_livelocked(node) {
                        return;
                    }
                    self.feed(node, Event::Timer);
                }
            }
            Ev::PrimitiveDone {
                node,
                boot,
                incarnation,
                op,
                service,
                primitive,
                result,
            } => self.primitive_done(node, boot, incarnation, op, service, primitive, result),
            Ev::ReachAdds { node } => self.report_reachability(node, true),
            Ev::ReachRemoves { node } => self.report_reachability(node, false),
            Ev::ApiUp { node, incarnation } => self.api_up(node, incarnation),
            Ev::SrrdBoot { node, boot } => {
                if self.nodes[node].boot == boot && self.nodes[node].engine.is_none() {
                    self.cleanup_leftovers(node);
                    self.start_engine(node, 50, 200);
                }
            }
            Ev::ApiAudit { node, lost_at } => {
                if self.nodes[node].engine.is_some()
                    && self.truth.api_lost_at[node] == Some(lost_at)
                {
                    let found = self.checker.api_lost_audit(self, node);
                    self.report(found);
                }
            }
            Ev::AdoptAudit {
                node,
                incarnation,
                unit,
                other,
            } => {
                if self.nodes[node].incarnation == incarnation && self.nodes[node].engine.is_some()
                {
                    let found = self.checker.adopt_audit(self, node, unit, other);
                    self.report(found);
                }
            }
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

    /// Whether `from`'s ospfd still counts `to` as a neighbour it must
    /// deliver to (the dead interval has not yet run out).
    fn adjacent(&self, from: usize, to: usize) -> bool {
        self.nodes[from].ospfd_up && self.nodes[from].reported.contains(&to)
    }

    fn routed_ms(&self) -> (u64, u64) {
        self.config.wan_delay_ms.unwrap_or(ROUTED_MS)
    }

    /// How long OSPF needs at most to tell two nodes that became connected
    /// about each other's current state: the adjacency, the database
    /// exchange's stale flush, an activation primitive and two floods.
    pub(super) fn info_window_ms(&self) -> u64 {
        let flood = self.routed_ms().1.max(LAN_MS.1);
        ADJ_MS.1 + STALE_FLUSH_MAX_MS + OTHER_MS.1 + ECHO_MAX_MS + 2 * flood
    }

    /// The oracle's eligibility of a node for a unit, now.
    pub(super) fn eligible(&self, node: usize, unit: usize) -> bool {
        let alive = self.nodes[node].engine.is_some();
        self.truth
            .eligible(&self.workload, node, unit, alive, |a, b| {
                self.connected(a, b)
            })
    }

    /// Flooding latency (docs/frr.md, F1): 1–2 ms on one LAN, 2–5 ms (or
    /// `wan_delay_ms`) across routers, our own echo within 1 ms; FIFO per pair.
    fn flood_delay(&mut self, from: usize, to: usize) -> Time {
        let (lo, hi) = if from == to {
            (0, ECHO_MAX_MS)
        } else if self.nodes[from].lan == self.nodes[to].lan {
            LAN_MS
        } else {
            self.routed_ms()
        };
        let at = self.now.plus_ms(self.rng.range(lo, hi));
        let last = self.last_flood.entry((from, to)).or_insert(Time(0));
        let at = at.max(*last);
        *last = at;
        at
    }

    fn flood(&mut self, from: usize, lsa: LsaRef, payload: Option<Vec<u8>>) {
        for to in 0..self.nodes.len() {
            if to == from && payload.is_none() {
                // The originator does not hear its own flush, only the
                // MaxAge DELETE about 60 s later (F4).
                self.nodes[from].lsdb.remove(&lsa);
                self.schedule(self.now.plus_ms(60_000), Ev::LateDelete { to, lsa });
            } else if self.connected(from, to) {
                let at = self.send(from, to, lsa, payload.clone());
                if payload.is_none() {
                    let late = at.plus_ms(self.rng.range(3_700, 22_000));
                    self.schedule(late, Ev::LateDelete { to, lsa });
                }
            } else {
                self.retransmit_later(from, to, lsa);
            }
        }
    }

    /// Puts one instance on the wire from `from` to `to`; when it arrives.
    fn send(&mut self, from: usize, to: usize, lsa: LsaRef, payload: Option<Vec<u8>>) -> Time {
        let at = self.flood_delay(from, to);
        self.schedule(
            at,
            Ev::Flood {
                from,
                to,
                lsa,
                payload,
            },
        );
        at
    }

    /// A neighbour that is still adjacent gets the LSA again after RxmtInterval.
    fn retransmit_later(&mut self, from: usize, to: usize, lsa: LsaRef) {
        if self.adjacent(from, to) {
            self.schedule(self.now.plus_ms(RXMT_MS), Ev::Retransmit { from, to, lsa });
        }
    }

    /// An unacknowledged LSA goes again every 5 s while the neighbour is
    /// adjacent; once the adjacency is gone, the next database exchange
    /// repairs it instead.
    fn retransmit(&mut self, from: usize, to: usize, lsa: LsaRef) {
        if !self.nodes[from].ospfd_up {
            return;
        }
        if self.connected(from, to) {
            let payload = self.nodes[from].origin.get(&lsa).cloned();
            self.send(from, to, lsa, payload);
        } else {
            self.retransmit_later(from, to, lsa);
        }
    }

    fn deliver_flood(&mut self, from: usize, to: usize, lsa: LsaRef, payload: Option<Vec<u8>>) {
        if !self.connected(from, to) {
            // Lost with the link: retransmitted, or repaired by the exchange.
            self.retransmit_later(from, to, lsa);
            return;
        }
        let min_arrival = self.config.min_arrival_ms;
        if min_arrival > 0 && from != to && payload.is_some() {
            // MinLSArrival (F3): a too-early instance is dropped unacknowledged.
            let last = self.nodes[to].arrived.insert(lsa, self.now);
            if last.is_some_and(|t| self.now.since(t) < min_arrival) {
                if let Some(t) = last {
                    self.nodes[to].arrived.insert(lsa, t);
                }
                self.schedule(self.now.plus_ms(RXMT_MS), Ev::Retransmit { from, to, lsa });
                return;
            }
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

    /// ospfd originates (F3): a reused id within 5 s of its last origination
    /// is held until the 5 s mark, then goes out with the newest payload.
    fn originate(&mut self, n: usize, lsa: LsaRef, payload: Vec<u8>) {
        self.nodes[n].origin.insert(lsa, payload.clone());
        match self.nodes[n].originated.get(&lsa) {
            Some(&last) if self.now.since(last) < LSA_HOLD_MS => {
                if self.nodes[n].held.insert(lsa) {
                    self.schedule(
                        last.plus_ms(LSA_HOLD_MS),
                        Ev::HeldOriginate { node: n, lsa },
                    );
                }
            }
            _ => self.originate_now(n, lsa, payload),
        }
    }

    fn originate_now(&mut self, n: usize, lsa: LsaRef, payload: Vec<u8>) {
        if !self.nodes[n].ospfd_up {
            return;
        }
        self.nodes[n].originated.insert(lsa, self.now);
        self.flood(n, lsa, Some(payload));
    }

    fn components(&self) -> Vec<Vec<usize>> {
        let mut comps: Vec<Vec<usize>> = Vec::new();
        for n in (0..self.nodes.len()).filter(|&n| self.nodes[n].ospfd_up && self.nodes[n].link_up)
        {
            match comps.iter_mut().find(|c| self.connected(c[0], n)) {
                Some(c) => c.push(n),
                None => comps.push(vec![n]),
            }
        }
        comps
    }

    /// Something changed who can reach whom: ospfds notice additions after
    /// an adjacency forms and removals after the dead interval (or BFD).
    fn topology_changed(&mut self) {
        let now = self.now;
        let mut truth = std::mem::take(&mut self.truth);
        truth.set_connectivity(now, |a, b| self.connected(a, b));
        self.truth = truth;
        let comps = self.components();
        self.emit(None, "topology", json!({ "components": comps }));
        for n in 0..self.nodes.len() {
            if !self.nodes[n].ospfd_up {
                continue;
            }
            let adj = self.now.plus_ms(self.rng.range(ADJ_MS.0, ADJ_MS.1));
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
            // The database exchange brings the new neighbours' LSAs before the
            // SPF that makes them reachable; their stale LSAs (of an earlier
            // run) are flushed just before or just after it (F5).
            for &k in &changed {
                self.sync_fresh(node, k);
                if self.rng.chance(50) {
                    self.flush_stale(node, k);
                } else {
                    let at = self.now.plus_ms(self.rng.range(1, STALE_FLUSH_MAX_MS));
                    self.schedule(at, Ev::StaleFlush { node, origin: k });
                }
            }
            self.nodes[node].reported.extend(changed.iter().copied());
        } else {
            for k in &changed {
                self.nodes[node].reported.remove(k);
            }
        }
        if self.nodes[node].api_up {
            let ids: Vec<RouterId> = changed.iter().map(|&k| self.nodes[k].id).collect();
            let (added, removed) = if adds { (ids, vec![]) } else { (vec![], ids) };
            self.feed(node, Event::Reachability { added, removed });
        }
    }

    /// `origin`'s current LSAs that `node` lacks, as the exchange brings them.
    fn sync_fresh(&mut self, node: usize, origin: usize) {
        let fresh: Vec<(LsaRef, Vec<u8>)> = sorted(&self.nodes[origin].origin)
            .into_iter()
            .filter(|(l, p)| self.nodes[node].lsdb.get(l) != Some(p))
            .collect();
        for (lsa, p) in fresh {
            self.deliver_now(node, lsa, Some(p));
        }
    }

    /// `origin`'s LSAs at `node` that `origin` no longer has are flushed.
    fn flush_stale(&mut self, node: usize, origin: usize) {
        let adv = self.nodes[origin].id;
        let mut stale: Vec<LsaRef> = self.nodes[node]
            .lsdb
            .keys()
            .filter(|l| l.adv_router == adv && !self.nodes[origin].origin.contains_key(l))
            .copied()
            .collect();
        stale.sort();
        for lsa in stale {
            self.deliver_now(node, lsa, None);
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
        let now = self.now;
        for node in &mut self.nodes {
            node.originated.retain(|_, t| now.since(*t) < LSA_HOLD_MS);
            node.arrived.retain(|_, t| now.since(*t) < 60_000);
        }
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
        self.emit(Some(n), "boot", json!({}));
        self.nodes[n].ospfd_up = true;
        self.start_engine(n, 800, 1500);
    }

    /// A new run of srrd: a new incarnation, and the API session after the
    /// daemon's start-up time (`min_ms..=max_ms`).
    fn start_engine(&mut self, n: usize, min_ms: u64, max_ms: u64) {
        self.nodes[n].incarnation += 1;
        self.truth.forget_run(self.now, n);
        let engine = self.new_engine(n);
        self.nodes[n].engine = Some(engine);
        self.emit(
            Some(n),
            "srrd_start",
            json!({ "incarnation": self.nodes[n].incarnation }),
        );
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

    fn new_engine(&mut self, n: usize) -> Engine {
        let settings = EngineSettings {
            node_name: format!("n{n}"),
            incarnation: self.nodes[n].incarnation,
            ..EngineSettings::default()
        };
        let restored = Restored {
            adopted: std::mem::take(&mut self.nodes[n].adopt),
            ..Restored::default()
        };
        Engine::new(settings, self.workload.per_node[n].clone(), &restored)
    }

    fn api_up(&mut self, n: usize, incarnation: u32) {
        let node = &self.nodes[n];
        if node.incarnation != incarnation || node.engine.is_none() || !node.ospfd_up || node.api_up
        {
            return;
        }
        self.nodes[n].api_up = true;
        self.truth.api_since[n] = Some(self.now);
        self.truth.api_lost_at[n] = None;
        self.emit(Some(n), "api_up", json!({}));
        self.audit_adoption(n);
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
        self.feed(n, Event::LsdbSynced);
    }

    /// A new run's adopted copies of units that another node has run, known
    /// to this node for longer than the information window, must stop
    /// within a bound (`Checker::adopt_audit`).
    fn audit_adoption(&mut self, n: usize) {
        let window = self.info_window_ms();
        let units: std::collections::BTreeSet<usize> = self
            .truth
            .leftover
            .iter()
            .filter(|(k, _)| *k == n)
            .map(|(_, s)| self.truth.facts[s].unit)
            .collect();
        for u in units {
            let other = (0..self.nodes.len()).find(|&m| {
                m != n
                    && self.truth.holds(&self.workload, m, u)
                    && self.truth.connected_for(self.now, n, m) > window
                    && self.truth.api_for(self.now, m) > window
            });
            let Some(other) = other else { continue };
            let members = self.workload.units[u].members.len() as u64;
            let at = self.now.plus_ms(members * STOP_MS.1 + 50);
            let incarnation = self.nodes[n].incarnation;
            self.schedule(
                at,
                Ev::AdoptAudit {
                    node: n,
                    incarnation,
                    unit: u,
                    other,
                },
            );
        }
    }

    /// The API session is gone (the engine may live on: then it must stop
    /// everything within a bound, checked by `Ev::ApiAudit`).
    fn session_gone(&mut self, n: usize) {
        let was_up = self.nodes[n].api_up;
        self.nodes[n].api_up = false;
        self.truth.api_since[n] = None;
        if !was_up {
            return;
        }
        self.emit(Some(n), "api_lost", json!({}));
        if self.nodes[n].engine.is_some() {
            self.truth.api_lost_at[n] = Some(self.now);
            let members = self
                .workload
                .units
                .iter()
                .map(|u| u.members.len())
                .max()
                .unwrap_or(1);
            let bound = START_MS.1 + members as u64 * STOP_MS.1 + 50;
            let lost_at = self.now;
            self.schedule(self.now.plus_ms(bound), Ev::ApiAudit { node: n, lost_at });
        }
    }

    /// srrd's session ends: ospfd flushes everything it originated for it.
    fn drop_session(&mut self, n: usize) {
        self.session_gone(n);
        let mut mine: Vec<LsaRef> = self.nodes[n].origin.drain().map(|(l, _)| l).collect();
        mine.sort();
        if self.nodes[n].ospfd_up {
            for lsa in mine {
                self.flood(n, lsa, None);
            }
        }
    }

    /// Its ospfd's state goes with a crashed or stopped ospfd.
    fn ospfd_down(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.ospfd_up = false;
        node.origin.clear();
        node.originated.clear();
        node.held.clear();
        node.arrived.clear();
        node.lsdb.clear();
        node.reported.clear();
    }

    pub(super) fn crash_node(&mut self, n: usize) {
        self.emit(Some(n), "crash", json!({}));
        self.nodes[n].engine = None;
        self.nodes[n].strays.clear();
        self.nodes[n].timer_at = None;
        self.nodes[n].boot += 1;
        self.session_gone(n);
        self.ospfd_down(n);
        // Its processes and addresses die with it.
        self.truth.exec.retain(|(k, _), _| *k != n);
        self.truth.leftover.retain(|(k, _)| *k != n);
        self.nodes[n].vips.clear();
        self.topology_changed();
    }

    fn stop_ospfd(&mut self, n: usize) {
        self.emit(Some(n), "ospfd_down", json!({}));
        self.ospfd_down(n);
        if self.nodes[n].api_up {
            self.session_gone(n);
            self.feed(n, Event::ApiLost);
        }
        self.topology_changed();
    }

    fn start_ospfd(&mut self, n: usize) {
        self.emit(Some(n), "ospfd_up", json!({}));
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

    /// srrd dies: its primitives' processes and its VIPs stay behind.
    fn kill_srrd(&mut self, n: usize) {
        self.emit(Some(n), "srrd_kill", json!({}));
        self.nodes[n].engine = None;
        self.nodes[n].strays.clear();
        self.nodes[n].timer_at = None;
        self.drop_session(n);
    }

    /// A new run: with `srrd_cleanup_ms` it stops the leftovers and removes
    /// the VIPs before its engine starts (`srrd cleanup`); without, they stay.
    fn start_srrd(&mut self, n: usize) {
        match self.config.srrd_cleanup_ms {
            Some(ms) => {
                let boot = self.nodes[n].boot;
                self.schedule(self.now.plus_ms(ms), Ev::SrrdBoot { node: n, boot });
            }
            None => self.start_engine(n, 50, 200),
        }
    }

    /// What a new run does before its engine starts: with adoption, the
    /// leftovers whose `check` passes (running, by the ground truth) and
    /// what they need are kept for the engine, with their VIPs; the rest
    /// is stopped and every other VIP removed.
    fn cleanup_leftovers(&mut self, n: usize) {
        let alive: std::collections::BTreeSet<String> = self
            .truth
            .exec
            .iter()
            .filter(|((k, _), e)| *k == n && **e == Exec::Running && self.config.adopt)
            .map(|((_, s), _)| s.clone())
            .collect();
        let adopted = crate::engine::adoptable(&self.workload.per_node[n], &alive);
        // Dependants first: a unit's members in reverse configuration order.
        let mut leftovers: Vec<(usize, usize, String)> = Vec::new();
        for (k, s) in self.truth.exec.keys() {
            if *k == n && !adopted.contains(s) {
                let u = self.truth.facts[s].unit;
                let pos = self.workload.units[u].members.iter().position(|m| m == s);
                leftovers.push((u, pos.unwrap_or(0), s.clone()));
            }
        }
        leftovers.sort_by_key(|l| (l.0, Reverse(l.1)));
        for (_, _, s) in leftovers {
            self.truth.exec.remove(&(n, s.clone()));
            self.emit(Some(n), "stop", json!({ "service": s, "by": "cleanup" }));
        }
        let keep: std::collections::BTreeSet<IpAddr> = adopted
            .iter()
            .flat_map(|s| self.workload.addresses(s))
            .collect();
        let vips = std::mem::take(&mut self.nodes[n].vips);
        for addr in vips {
            if keep.contains(&addr) {
                self.nodes[n].vips.insert(addr);
                continue;
            }
            self.emit(
                Some(n),
                "vip_remove",
                json!({ "addr": addr, "by": "cleanup" }),
            );
        }
        for s in &adopted {
            self.truth.leftover.insert((n, s.clone()));
            self.emit(Some(n), "adopt", json!({ "service": s }));
        }
        self.nodes[n].adopt = adopted;
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
            if let Some(f) = self.filter.as_mut() {
                if !f(n, &a) {
                    continue;
                }
            }
            self.apply(n, a);
        }
    }

    /// An operator command the simulator issues; the oracle notes its effect.
    fn command(&mut self, n: usize, command: Command) {
        let unit = command.service().and_then(|s| self.truth.unit_of(s));
        if let Some(u) = unit {
            match &command {
                Command::Stop(_) => {
                    self.truth.standby.insert((n, u));
                }
                Command::Start(_) => {
                    self.truth.standby.remove(&(n, u));
                }
                Command::Activate(s) => {
                    self.truth.failed.remove(&(n, s.clone()));
                }
                Command::MoveTo(_, target) => {
                    if let Some(t) = self.nodes.iter().position(|x| x.id == *target) {
                        self.truth.handoff.insert(u, t);
                    }
                }
                _ => {}
            }
            match &command {
                Command::Stop(_)
                | Command::MoveTo(..)
                | Command::Deactivate(_)
                | Command::Disable(_) => {
                    self.truth.leaving.insert((n, u), self.now);
                }
                Command::Start(_) | Command::Activate(_) | Command::Enable(_) => {
                    self.truth.leaving.remove(&(n, u));
                }
                Command::Shutdown => {}
            }
            self.truth.touch(self.now, n, u);
        }
        self.emit(
            Some(n),
            "command",
            json!({ "command": command.to_string() }),
        );
        self.feed(n, Event::Command(command));
    }

    fn apply(&mut self, n: usize, action: Action) {
        match action {
            Action::Originate { lsa, payload } => {
                self.lsa_updates += 1;
                if self.nodes[n].api_up {
                    self.originate(n, lsa, payload);
                }
            }
            Action::Flush { lsa } => {
                if self.nodes[n].api_up && self.nodes[n].origin.remove(&lsa).is_some() {
                    self.flood(n, lsa, None);
                }
            }
            Action::RunPrimitive(run) => self.run_primitive(n, run.op, run.service, run.primitive),
            Action::CancelPrimitive { op, service } => {
                let key = (n, service.clone());
                match self.truth.exec.get(&key) {
                    Some(Exec::Starting(o)) if *o == op => {
                        self.truth.exec.remove(&key);
                        self.emit(
                            Some(n),
                            "cancel",
                            json!({ "service": service, "primitive": "start" }),
                        );
                    }
                    // A killed stop leaves the service running, as far as we know.
                    Some(Exec::Stopping(o)) if *o == op => {
                        self.truth.exec.insert(key, Exec::Running);
                        self.emit(
                            Some(n),
                            "cancel",
                            json!({ "service": service, "primitive": "stop" }),
                        );
                    }
                    _ => {}
                }
            }
            Action::AddVip { service, addr } => {
                if !self.nodes[n].api_up {
                    let text = format!("n{n} adds VIP {addr} of {service} without an API session");
                    self.report(vec![("no-api".into(), text)]);
                }
                self.nodes[n].vips.insert(addr);
                self.emit(
                    Some(n),
                    "vip_add",
                    json!({ "service": service, "addr": addr }),
                );
            }
            Action::RemoveVip { service, addr } => {
                self.nodes[n].vips.remove(&addr);
                self.emit(
                    Some(n),
                    "vip_remove",
                    json!({ "service": service, "addr": addr }),
                );
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
            Action::StateChanged {
                service,
                config,
                run,
                failure,
            } => {
                self.last_state_change = self.now;
                let failure = failure.map(|f| f.to_string());
                self.emit(
                    Some(n),
                    "state",
                    json!({ "service": service, "config": config.to_string(), "run": run.to_string(), "failure": failure }),
                );
            }
            Action::CommandRejected { reason, .. } => self.nodes[n].rejected = Some(reason),
            Action::ForwardStrays { service, to } => {
                match to {
                    Some(to) => self.nodes[n].strays.insert(service, to),
                    None => self.nodes[n].strays.remove(&service),
                };
            }
            Action::Log { .. } | Action::ShutdownComplete => {}
        }
    }

    /// The executor runs a primitive: checks first, then the ground truth.
    fn run_primitive(&mut self, n: usize, op: OpId, service: String, primitive: Primitive) {
        let found = match primitive {
            Primitive::Start => self.checker.on_start(self, n, &service),
            Primitive::Stop => self.checker.on_stop(self, n, &service),
            _ => Vec::new(),
        };
        self.report(found);
        let key = (n, service.clone());
        match primitive {
            Primitive::Start => {
                self.truth.exec.insert(key, Exec::Starting(op));
                *self.nodes[n].starts.entry(service.clone()).or_default() += 1;
                self.emit(Some(n), "start", json!({ "service": service }));
            }
            // A stop of what never ran (a failed start) runs nothing.
            Primitive::Stop if self.truth.exec.contains_key(&key) => {
                self.truth.exec.insert(key, Exec::Stopping(op));
                *self.nodes[n].stops.entry(service.clone()).or_default() += 1;
                self.emit(Some(n), "stop", json!({ "service": service }));
            }
            _ => {}
        }
        let fault = self.nodes[n]
            .faults
            .get(&(service.clone(), primitive))
            .copied();
        let (lo, hi) = match primitive {
            Primitive::Start => START_MS,
            Primitive::Stop => STOP_MS,
            Primitive::Check => CHECK_MS,
            _ => OTHER_MS,
        };
        let duration = self.rng.range(lo, hi);
        let result = match fault {
            Some(PrimitiveFault::Hang) => {
                // The engine must time it out: a failure the oracle expects.
                if let Some(u) = self.truth.unit_of(&service) {
                    self.truth.failed.insert((n, service.clone()));
                    self.truth.touch(self.now, n, u);
                }
                self.emit(
                    Some(n),
                    "hang",
                    json!({ "service": service, "primitive": primitive.to_string() }),
                );
                return;
            }
            Some(PrimitiveFault::Fail) => PrimitiveResult::Failed(3),
            None => PrimitiveResult::Ok,
        };
        let (boot, incarnation) = (self.nodes[n].boot, self.nodes[n].incarnation);
        self.schedule(
            self.now.plus_ms(duration),
            Ev::PrimitiveDone {
                node: n,
                boot,
                incarnation,
                op,
                service,
                primitive,
                result,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn primitive_done(
        &mut self,
        n: usize,
        boot: u32,
        incarnation: u32,
        op: OpId,
        service: String,
        primitive: Primitive,
        result: PrimitiveResult,
    ) {
        if self.nodes[n].boot != boot {
            return; // the process died with its node
        }
        let current = self.nodes[n].incarnation == incarnation && self.nodes[n].engine.is_some();
        let key = (n, service.clone());
        let ok = result == PrimitiveResult::Ok;
        let state = self.truth.exec.get(&key).copied();
        match (primitive, state) {
            (Primitive::Start, Some(Exec::Starting(o))) if o == op => {
                if ok {
                    self.truth.exec.insert(key, Exec::Running);
                } else {
                    self.truth.exec.remove(&key);
                }
                self.emit(
                    Some(n),
                    "start_done",
                    json!({ "service": service, "ok": ok }),
                );
            }
            (Primitive::Stop, Some(Exec::Stopping(o))) if o == op => {
                self.truth.leftover.remove(&key);
                self.truth.exec.remove(&key);
                self.emit(Some(n), "stop_done", json!({ "service": service }));
            }
            _ => {}
        }
        if !current {
            return;
        }
        if !ok && matches!(primitive, Primitive::Start | Primitive::Check) {
            if let Some(u) = self.truth.unit_of(&service) {
                self.truth.failed.insert((n, service.clone()));
                self.truth.touch(self.now, n, u);
            }
        }
        self.feed(n, Event::PrimitiveDone { op, result });
    }

    // ---- faults ----------------------------------------------------------

    fn inject_fault(&mut self) {
        let Some(&kind) = self.rng.pick(&self.config.faults) else {
            return;
        };
        let n = self.rng.below(self.nodes.len());
        let mut hold = self.rng.range(4_000, 8_000);
        self.faults_injected += 1;
        self.emit(Some(n), "fault", json!({ "kind": kind.name() }));
        let mut mid_checkpoint = true;
        let repair = match kind {
            FaultKind::NodeCrash => {
                self.crash_node(n);
                Repair::NodeReturn(n)
            }
            FaultKind::LinkCut => {
                self.emit(Some(n), "link_down", json!({}));
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
                self.emit(None, "partition", json!({ "lan_sides": self.side }));
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
                // Every other restart is quick: within the peers' restart
                // grace, so the new run keeps what it adopts.
                if self.rng.chance(50) {
                    hold = self.rng.range(50, 300);
                }
                Repair::SrrdStart(n)
            }
            FaultKind::StartFailure | FaultKind::StartHang | FaultKind::CheckFailure => {
                mid_checkpoint = false;
                Repair::Disarm(self.arm_primitive_fault(kind))
            }
            FaultKind::LinkFlap => {
                mid_checkpoint = false;
                self.emit(Some(n), "link_down", json!({}));
                self.nodes[n].link_up = false;
                self.topology_changed();
                Repair::LinkToggle(n, self.rng.range(3, 6) as u32)
            }
            FaultKind::OperatorMove => {
                mid_checkpoint = false;
                if let Some((node, service)) = self.pick_running_service(false) {
                    self.touched.insert(node);
                    let u = self.truth.facts[&service].unit;
                    let targets: Vec<usize> = self.workload.units[u]
                        .nodes
                        .iter()
                        .copied()
                        .filter(|&k| k != node)
                        .collect();
                    if let Some(&t) = self.rng.pick(&targets) {
                        // Now and then the operator picks a node that cannot
                        // take it (stopped there): the move must be refused
                        // and the service keep running, checked before the
                        // repair starts the target again.
                        if self.rng.chance(30) {
                            self.command(t, Command::Stop(service.clone()));
                            mid_checkpoint = true;
                        }
                        let id = self.nodes[t].id;
                        self.command(node, Command::MoveTo(service, id));
                    }
                }
                Repair::Disarm(None)
            }
        };
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

    /// Start faults go on the node the service would move to next, which
    /// the holder is then told to leave; a check fault on the holder. Armed
    /// until the repair.
    fn arm_primitive_fault(&mut self, kind: FaultKind) -> Option<(usize, String, Primitive)> {
        let (primitive, fault) = match kind {
            FaultKind::StartFailure => (Primitive::Start, PrimitiveFault::Fail),
            FaultKind::StartHang => (Primitive::Start, PrimitiveFault::Hang),
            _ => (Primitive::Check, PrimitiveFault::Fail),
        };
        let (holder, service) = self.pick_running_service(primitive == Primitive::Check)?;
        let u = self.truth.facts[&service].unit;
        let target = if primitive == Primitive::Check {
            holder
        } else {
            let spec = &self.workload.units[u];
            let next = spec
                .nodes
                .iter()
                .copied()
                .filter(|&k| k != holder && self.connected(holder, k) && self.eligible(k, u))
                .max_by_key(|&k| (spec.preference_of(k), self.workload.router_ids[k]));
            let others: Vec<usize> = spec
                .nodes
                .iter()
                .copied()
                .filter(|&k| k != holder)
                .collect();
            next.or_else(|| self.rng.pick(&others).copied())?
        };
        self.touched.extend([holder, target]);
        self.nodes[target]
            .faults
            .insert((service.clone(), primitive), fault);
        self.emit(
            Some(target),
            "arm",
            json!({ "service": service, "primitive": primitive.to_string(), "fault": format!("{fault:?}") }),
        );
        if primitive == Primitive::Start {
            self.command(holder, Command::Stop(service.clone()));
        }
        Some((target, service, primitive))
    }

    /// A service some node runs (ground truth), with a check if asked.
    fn pick_running_service(&mut self, checked_only: bool) -> Option<(usize, String)> {
        let running: Vec<(usize, String)> = self
            .truth
            .exec
            .iter()
            .filter(|((n, s), e)| {
                **e == Exec::Running
                    && self.nodes[*n].engine.is_some()
                    && (!checked_only || self.truth.facts[s].has_check)
            })
            .map(|(k, _)| k.clone())
            .collect();
        self.rng.pick(&running).cloned()
    }

    fn disarm(&mut self, node: usize, service: String, primitive: Primitive) {
        if self.nodes[node]
            .faults
            .remove(&(service.clone(), primitive))
            .is_some()
        {
            self.emit(
                Some(node),
                "disarm",
                json!({ "service": service, "primitive": primitive.to_string() }),
            );
        }
    }

    fn repair(&mut self, repair: Repair) {
        match repair {
            Repair::NodeReturn(n) => {
                self.boot_node(n);
                self.topology_changed();
            }
            Repair::LinkUp(n) => {
                self.emit(Some(n), "link_up", json!({}));
                self.nodes[n].link_up = true;
                self.topology_changed();
            }
            Repair::Heal => {
                self.emit(None, "heal", json!({}));
                self.side.iter_mut().for_each(|s| *s = 0);
                self.topology_changed();
            }
            Repair::OspfdStart(n) => self.start_ospfd(n),
            Repair::SrrdStart(n) => self.start_srrd(n),
            Repair::LinkToggle(n, left) => {
                self.nodes[n].link_up = !self.nodes[n].link_up;
                let ev = if self.nodes[n].link_up {
                    "link_up"
                } else {
                    "link_down"
                };
                self.emit(Some(n), ev, json!({}));
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
            Repair::Disarm(armed) => {
                if let Some((node, service, primitive)) = armed {
                    self.disarm(node, service, primitive);
                }
            }
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
            let armed: Vec<(String, Primitive)> = self.nodes[n].faults.keys().cloned().collect();
            for (s, p) in armed {
                self.disarm(n, s, p);
            }
            if self.nodes[n].engine.is_none() && !self.nodes[n].ospfd_up {
                self.boot_node(n);
            } else if self.nodes[n].engine.is_none() {
                self.start_srrd(n);
            } else if !self.nodes[n].ospfd_up {
                self.start_ospfd(n);
            }
            self.nodes[n].link_up = true;
        }
        self.emit(None, "heal", json!({}));
        self.side.iter_mut().for_each(|s| *s = 0);
        self.topology_changed();
        self.operator_reactivates_failed();
    }

    /// The operator clears the failures the simulator caused and the stop
    /// flags it set, so capacity returns.
    fn operator_reactivates_failed(&mut self) {
        let mut commands: Vec<(usize, Command)> = Vec::new();
        for (n, s) in &self.truth.failed {
            commands.push((*n, Command::Activate(s.clone())));
        }
        for (n, u) in &self.truth.standby {
            commands.push((
                *n,
                Command::Start(self.workload.units[*u].members[0].clone()),
            ));
        }
        for (n, c) in commands {
            if self.nodes[n].engine.is_some() {
                self.command(n, c);
            }
        }
    }

    fn checkpoint(&mut self, since: Time, label: &'static str) {
        let mut checker = std::mem::take(&mut self.checker);
        let found = checker.checkpoint(self, since, label);
        self.checker = checker;
        self.report(found);
        self.emit(None, "checkpoint", json!({ "label": label }));
        self.touched.clear();
        self.truth.handoff.clear();
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
        self.nodes[n].faults.insert(
            (service.to_string(), Primitive::Start),
            PrimitiveFault::Fail,
        );
    }

    pub(super) fn operator(&mut self, n: usize, command: Command) {
        self.nodes[n].rejected = None;
        self.command(n, command);
    }

    pub(super) fn api_session_up(&self, n: usize) -> bool {
        self.nodes[n].api_up
    }

    pub(super) fn engine(&self, n: usize) -> Option<&Engine> {
        self.nodes[n].engine.as_ref()
    }

    pub(super) fn last_rejection(&self, n: usize) -> Option<String> {
        self.nodes[n].rejected.clone()
    }

    /// Whether the service runs there, by the executor's ground truth.
    pub(super) fn runs(&self, n: usize, service: &str) -> bool {
        self.truth.running(n, service)
    }

    /// How many times `stop` ran for the service, on any node.
    pub(super) fn stops(&self, service: &str) -> u64 {
        self.nodes.iter().filter_map(|n| n.stops.get(service)).sum()
    }

    /// Where node `n` forwards the service's stray packets (stories).
    pub(super) fn strays(&self, n: usize, service: &str) -> Option<RouterId> {
        self.nodes[n].strays.get(service).copied()
    }

    /// How many times `start` ran for the service, on any node.
    pub(super) fn starts(&self, service: &str) -> u64 {
        self.nodes
            .iter()
            .filter_map(|n| n.starts.get(service))
            .sum()
    }

    /// srrd dies (`kill -9`): its services and VIPs stay.
    pub(super) fn srrd_kill(&mut self, n: usize) {
        self.kill_srrd(n);
    }

    /// A new srrd run on the node (cleanup, adoption, then its engine).
    pub(super) fn srrd_start(&mut self, n: usize) {
        self.start_srrd(n);
    }

    pub(super) fn has_vip(&self, n: usize, addr: &IpAddr) -> bool {
        self.nodes[n].vips.contains(addr)
    }

    pub(super) fn violations(&self) -> &[String] {
        &self.checker.violations
    }
}
