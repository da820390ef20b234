//! Prometheus metrics (docs/metrics.md). Counters are fed by a few daemon
//! hooks; everything that is state (services per node, checks, the OSPF API
//! session, VIPs, node load) is read from the engine when scraped, so it is
//! never stale. Scrapes reach the daemon's loop through a [`Scraper`].

mod listener;

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Action, Engine, Event, PrimitiveResult};
use crate::lsa::IgnoreReason;
use crate::model::{Primitive, RouterId, Time};
use crate::primitives::Finished;
pub use listener::{serve, ListenError};

/// The Content-Type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabel {
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeServiceLabels {
    service: String,
    node: String,
    router: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    service: String,
    node: String,
    router: String,
    config: String,
    run: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PrimitiveLabel {
    primitive: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    node: String,
    router: String,
    version: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type HistogramFamily = Family<PrimitiveLabel, Histogram, fn() -> Histogram>;

/// This host's load and memory (sysinfo), for metrics and the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NodeLoad {
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
}

/// Reads this host's load averages and memory.
pub fn node_load(system: &mut sysinfo::System) -> NodeLoad {
    system.refresh_memory();
    let load = sysinfo::System::load_average();
    NodeLoad {
        load1: load.one,
        load5: load.five,
        load15: load.fifteen,
        memory_total_bytes: system.total_memory(),
        memory_available_bytes: system.available_memory(),
    }
}

/// A scrape request: the daemon answers with the rendered text.
pub type Scrape = oneshot::Sender<String>;

/// Asks the daemon for the metrics text from any task (the metrics
/// listener, the HTTPS server).
#[derive(Clone, Debug)]
pub struct Scraper(mpsc::Sender<Scrape>);

impl Scraper {
    /// The current metrics text; `None` if the daemon is gone.
    pub async fn scrape(&self) -> Option<String> {
        let (tx, rx) = oneshot::channel();
        self.0.send(tx).await.ok()?;
        rx.await.ok()
    }
}

pub struct Metrics {
    registry: Registry,
    scraper: Scraper,
    system: sysinfo::System,
    /// The holder each service last had, to count failovers.
    holders: HashMap<String, RouterId>,
    sessions: u64,
    failovers: Family<ServiceLabel, Counter>,
    primitive_seconds: HistogramFamily,
    primitive_failures: Family<PrimitiveLabel, Counter>,
    api_up: Gauge,
    api_reconnects: Counter,
    lsas_originated: Counter,
    lsas_received: Counter,
    lsas_ignored: Family<ReasonLabel, Counter>,
    service_state: Family<StateLabels, Gauge>,
    service_failed: Family<NodeServiceLabels, Gauge>,
    check_age: Family<NodeServiceLabels, FloatGauge>,
    vips_held: Gauge,
    info: Family<InfoLabels, Gauge>,
    load: [FloatGauge; 3],
    memory_total: Gauge,
    memory_available: Gauge,
}

impl Metrics {
    /// The metrics and the receiving end of their scrape requests.
    pub fn new() -> (Metrics, mpsc::Receiver<Scrape>) {
        let (tx, rx) = mpsc::channel(8);
        let mut m = Metrics {
            registry: Registry::with_prefix("srrd"),
            scraper: Scraper(tx),
            system: sysinfo::System::new(),
            holders: HashMap::new(),
            sessions: 0,
            failovers: Family::default(),
            primitive_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.01, 3.0, 10))
            }),
            primitive_failures: Family::default(),
            api_up: Gauge::default(),
            api_reconnects: Counter::default(),
            lsas_originated: Counter::default(),
            lsas_received: Counter::default(),
            lsas_ignored: Family::default(),
            service_state: Family::default(),
            service_failed: Family::default(),
            check_age: Family::default(),
            vips_held: Gauge::default(),
            info: Family::default(),
            load: Default::default(),
            memory_total: Gauge::default(),
            memory_available: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register(
            "info",
            "This node: name, router id and srrd version",
            m.info.clone(),
        );
        r.register(
            "service_state",
            "1 for the configuration and run state each reachable node floods for each service",
            m.service_state.clone(),
        );
        r.register(
            "service_failed",
            "1 if the node reports a failure for the service (failed check or primitive)",
            m.service_failed.clone(),
        );
        r.register(
            "service_check_age_seconds",
            "Seconds since the node's last passing check of the service",
            m.check_age.clone(),
        );
        r.register(
            "failovers",
            "Times the service's holder changed from one node to another, as seen here",
            m.failovers.clone(),
        );
        r.register(
            "primitive_duration_seconds",
            "How long primitive runs took on this node",
            m.primitive_seconds.clone(),
        );
        r.register(
            "primitive_failures",
            "Primitive runs on this node that failed or timed out",
            m.primitive_failures.clone(),
        );
        r.register(
            "ospf_api_up",
            "1 while the OSPF API session to ospfd is up",
            m.api_up.clone(),
        );
        r.register(
            "ospf_api_reconnects",
            "OSPF API sessions opened after the first",
            m.api_reconnects.clone(),
        );
        r.register(
            "lsas_originated",
            "srrd LSAs this node handed to ospfd",
            m.lsas_originated.clone(),
        );
        r.register(
            "lsas_received",
            "srrd LSA updates ospfd delivered to this node",
            m.lsas_received.clone(),
        );
        r.register(
            "lsas_ignored",
            "Received srrd LSAs the engine ignored, by reason",
            m.lsas_ignored.clone(),
        );
        r.register(
            "vips_held",
            "Service addresses this node holds",
            m.vips_held.clone(),
        );
        for (gauge, minutes) in m.load.iter().zip(["1", "5", "15"]) {
            r.register(
                format!("node_load{minutes}"),
                format!("Load average over {minutes} minutes"),
                gauge.clone(),
            );
        }
        r.register(
            "node_memory_total_bytes",
            "Physical memory of this host",
            m.memory_total.clone(),
        );
        r.register(
            "node_memory_available_bytes",
            "Memory available for new work on this host",
            m.memory_available.clone(),
        );
        for reason in IgnoreReason::ALL {
            m.lsas_ignored
                .get_or_create(&ReasonLabel {
                    reason: reason.as_str().into(),
                })
                .inc_by(0);
        }
        (m, rx)
    }

    pub fn scraper(&self) -> Scraper {
        self.scraper.clone()
    }

    /// Hook: an event is about to be fed to the engine.
    pub fn event(&mut self, event: &Event) {
        if let Event::LsaUpdate { .. } = event {
            self.lsas_received.inc();
        }
    }

    /// Hook: an action the engine asked for.
    pub fn action(&mut self, action: &Action) {
        if let Action::Originate { .. } = action {
            self.lsas_originated.inc();
        }
    }

    /// Hook: an OSPF API session came up.
    pub fn session_up(&mut self) {
        if self.sessions > 0 {
            self.api_reconnects.inc();
        }
        self.sessions += 1;
    }

    /// Hook: a primitive run ended.
    pub fn primitive_done(&mut self, done: &Finished) {
        let label = PrimitiveLabel {
            primitive: primitive_name(done.primitive),
        };
        self.primitive_seconds
            .get_or_create(&label)
            .observe(done.elapsed.as_secs_f64());
        if let PrimitiveResult::Failed(_) = done.result {
            self.primitive_failures.get_or_create(&label).inc();
        }
    }

    /// Hook: after each event; counts holder changes. Cheap enough to run
    /// after every event (one lookup per service and node).
    pub fn observe(&mut self, engine: &Engine) {
        for s in engine.services() {
            let Some(holder) = engine.holder(&s.name) else {
                continue;
            };
            match self.holders.insert(s.name.clone(), holder) {
                Some(before) if before != holder => {
                    self.failovers
                        .get_or_create(&ServiceLabel {
                            service: s.name.clone(),
                        })
                        .inc();
                }
                _ => {}
            }
        }
    }

    /// The metrics text (OpenMetrics, which Prometheus scrapes), with the
    /// engine's state as it is now.
    pub fn render(&mut self, engine: &Engine, vips: &BTreeSet<IpAddr>, now: Time) -> String {
        self.observe(engine);
        self.refresh(engine, vips, now);
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn refresh(&mut self, engine: &Engine, vips: &BTreeSet<IpAddr>, now: Time) {
        let view = engine.view();
        let me = engine.router_id();
        let name_of = |r: RouterId| match view.daemons.get(&r) {
            _ if Some(r) == me => engine.node_name().to_string(),
            Some(d) => d.node_name.clone(),
            None => r.to_string(),
        };
        let age = |stamp: u64| (stamp != 0).then(|| now.0.saturating_sub(stamp) as f64 / 1000.0);
        self.service_state.clear();
        self.service_failed.clear();
        self.check_age.clear();
        self.info.clear();
        let router = me.map_or_else(|| "0.0.0.0".to_string(), |r| r.to_string());
        self.info
            .get_or_create(&InfoLabels {
                node: engine.node_name().to_string(),
                router: router.clone(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        for s in engine.services() {
            let mut rows = vec![(
                engine.node_name().to_string(),
                router.clone(),
                s.config.to_string(),
                s.run.to_string(),
                s.failure.is_some(),
                age(s.check_stamp_ms),
            )];
            for (r, rec) in view.records(&s.name) {
                if view.live_record(&s.name, *r).is_none() {
                    continue;
                }
                let st = &rec.state;
                rows.push((
                    name_of(*r),
                    r.to_string(),
                    st.config_state.to_string(),
                    st.run_state.to_string(),
                    st.failure.is_some(),
                    age(st.check_stamp_ms),
                ));
            }
            for (node, router, config, run, failed, check_age) in rows {
                let at = NodeServiceLabels {
                    service: s.name.clone(),
                    node: node.clone(),
                    router: router.clone(),
                };
                self.service_state
                    .get_or_create(&StateLabels {
                        service: s.name.clone(),
                        node,
                        router,
                        config,
                        run,
                    })
                    .set(1);
                self.service_failed
                    .get_or_create(&at)
                    .set(i64::from(failed));
                if let Some(a) = check_age {
                    self.check_age.get_or_create(&at).set(a);
                }
            }
        }
        self.api_up.set(i64::from(engine.api_up()));
        for (reason, &count) in engine.ignored_lsas() {
            let c = self.lsas_ignored.get_or_create(&ReasonLabel {
                reason: reason.as_str().into(),
            });
            c.inc_by(count.saturating_sub(c.get()));
        }
        self.vips_held.set(vips.len() as i64);
        let load = node_load(&mut self.system);
        for (gauge, value) in self.load.iter().zip([load.load1, load.load5, load.load15]) {
            gauge.set(value);
        }
        self.memory_total
            .set(i64::try_from(load.memory_total_bytes).unwrap_or(i64::MAX));
        self.memory_available
            .set(i64::try_from(load.memory_available_bytes).unwrap_or(i64::MAX));
    }
}

fn primitive_name(p: Primitive) -> String {
    p.target().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;
    use crate::engine::{EngineSettings, OpId, Restored};

    fn engine() -> Engine {
        let mut e = Engine::new(
            EngineSettings::default(),
            vec![ServiceConfig::new("web")],
            &Restored::default(),
        );
        e.handle(
            Time(1),
            Event::ApiConnected {
                router_id: RouterId(0x0aff_000b),
            },
        );
        e
    }

    #[test]
    fn the_text_carries_every_family() {
        let (mut m, _rx) = Metrics::new();
        m.session_up();
        m.session_up();
        m.primitive_done(&Finished {
            op: OpId(1),
            service: "web".into(),
            primitive: Primitive::Start,
            result: PrimitiveResult::Failed(2),
            output: String::new(),
            elapsed: std::time::Duration::from_millis(40),
        });
        let text = m.render(&engine(), &BTreeSet::new(), Time(10_000));
        for line in [
            "srrd_ospf_api_up 1",
            "srrd_ospf_api_reconnects_total 1",
            "srrd_primitive_failures_total{primitive=\"start\"} 1",
            "srrd_primitive_duration_seconds_count{primitive=\"start\"} 1",
            "srrd_lsas_ignored_total{reason=\"bad_tag\"} 0",
            "srrd_vips_held 0",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
        assert!(
            text.contains(
                "srrd_service_state{service=\"web\",node=\"srrd\",router=\"10.255.0.11\""
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn a_scrape_is_answered_by_the_loop() {
        let (m, mut rx) = Metrics::new();
        let scraper = m.scraper();
        let answer = tokio::spawn(async move { scraper.scrape().await });
        let reply = rx.recv().await.expect("a request");
        reply.send("text".into()).expect("waiting");
        assert_eq!(answer.await.expect("joins").as_deref(), Some("text"));
    }
}
