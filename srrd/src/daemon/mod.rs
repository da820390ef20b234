//! `srrd run`: the engine wrapped in its I/O shells — the OSPF API session,
//! VIPs by netlink, primitives as processes, signals, timers, persistence.

mod cleanup;
mod notify;
mod state;
mod vips;
mod web;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use crate::config::{self, Config, NodeSettings, ServiceConfig};
use crate::engine::{
    Action, Command, Engine, EngineSettings, Event, Level, PrimitiveResult, PrimitiveRun,
};
use crate::lsa::ClusterKey;
use crate::metrics::{Metrics, Scrape};
use crate::model::{Primitive, RouterId, Scope, Time};
use crate::ospfapi::{ClientError, Session};
use crate::primitives::{Finished, Invocation, Runner};
use crate::strays::Strays;
use crate::vip::VipManager;
pub use cleanup::Cleaned;
pub use notify::sd_notify;
use state::{PersistedState, StateFile, StateLock};
use vips::HeldVips;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(#[from] config::ConfigErrors),
    #[error("cluster key file {path}: {what}")]
    Key { path: PathBuf, what: String },
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("VIP interface: {0}")]
    Vip(#[from] crate::vip::VipError),
    #[error(transparent)]
    Ospf(#[from] ClientError),
    #[error(transparent)]
    Metrics(#[from] crate::metrics::ListenError),
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
    #[error("web server: {0}")]
    Web(#[from] crate::web::WebError),
}

/// The engine's clock: monotonic, so NTP steps and slews never stall or
/// rush timers, but anchored to the wall clock at start so the check stamps
/// and start times peers read are about right.
fn now() -> Time {
    use std::sync::OnceLock;
    static ANCHOR: OnceLock<(std::time::Instant, u64)> = OnceLock::new();
    let (start, wall_ms) = *ANCHOR.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        (std::time::Instant::now(), wall)
    });
    Time(wall_ms + start.elapsed().as_millis() as u64)
}

pub fn read_key(path: &Path) -> Result<ClusterKey, DaemonError> {
    let err = |what: String| DaemonError::Key {
        path: path.to_path_buf(),
        what,
    };
    let mut bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    if bytes.len() < 16 {
        return Err(err(format!(
            "{} bytes; use at least 16 random bytes",
            bytes.len()
        )));
    }
    Ok(ClusterKey(bytes))
}

/// How often the VIP interface is compared with what the engine owns.
const VIP_RECONCILE_INTERVAL: Duration = Duration::from_secs(10);
/// How often the owned VIPs' lease (`vip::LEASE`, 2 s) is renewed: three
/// renewals in a row may be late or lost before a VIP expires.
const VIP_REFRESH_INTERVAL: Duration = Duration::from_millis(500);

type Connecting = Pin<Box<dyn Future<Output = Result<Session, ClientError>> + Send>>;

struct Daemon {
    config_path: PathBuf,
    config: Config,
    engine: Engine,
    session: Option<Session>,
    vips: VipManager,
    /// VIPs the engine has put up; the reconcile loop keeps the interface
    /// equal to this for the configured addresses.
    held: HeldVips,
    /// Adopted services whose VIPs the engine has not put up again yet:
    /// already announced by the previous run, they stay so.
    adopting: BTreeSet<String>,
    runner: Runner,
    state_file: StateFile,
    _lock: StateLock,
    state: PersistedState,
    scopes: BTreeSet<Scope>,
    timer: Option<Time>,
    shutdown_done: bool,
    /// Stopping with `keep_services_on_stop`: services and VIPs stay for
    /// the next run to adopt.
    keeping_services: bool,
    ready_notified: bool,
    /// The HTTPS API's end in this task (docs/api.md), if `[web]` is set.
    web: Option<crate::web::Shell>,
    strays: Strays,
    metrics: Metrics,
}

/// How `srrd run` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// SIGTERM/SIGINT (services stopped, or left with `keep_services_on_stop`).
    Shutdown,
    /// SIGUSR2: services left running for the next binary, which the
    /// service manager starts at once (exit status `UPGRADE_EXIT`).
    Upgrade,
}

/// The exit status of `srrd run` after SIGUSR2; the units restart srrd on it
/// (`RestartForceExitStatus=`) without counting it as a failure.
pub const UPGRADE_EXIT: u8 = 75;

/// Runs the daemon until SIGTERM/SIGINT and a graceful shutdown, or
/// SIGUSR2. With `adopt`, after an unclean exit the services the previous
/// run left running (their `check` passes) are kept, not stopped and
/// started again.
pub async fn run(config_path: &Path, adopt: bool) -> Result<Ended, DaemonError> {
    let config = config::load(config_path)?;
    let span = tracing::info_span!("srrd", node = %config.node.name);
    tracing::Instrument::instrument(run_node(config_path, config, adopt), span).await
}

async fn run_node(config_path: &Path, config: Config, adopt: bool) -> Result<Ended, DaemonError> {
    let key = match &config.node.cluster_key_file {
        Some(p) => Some(read_key(p)?),
        None => None,
    };
    let state_file = StateFile::new(&config.node.state_dir)?;
    let lock = state_file.lock()?;
    let mut state = state_file.load()?;
    // A run that ended without a clean shutdown (crash, kill -9) left a
    // cluster that is running on without us: no need to learn it first.
    let restarted_after_crash = state.incarnation > 0 && !state.clean_shutdown;
    // Never backwards, even if the state file was lost: the wall clock in
    // seconds is a floor (peers keep the highest generation they saw).
    let wall_secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs().min(u64::from(u32::MAX)) as u32);
    state.incarnation = state.incarnation.saturating_add(1).max(wall_secs).max(1);
    state.clean_shutdown = false;
    state_file.save(&state).await?;

    let vips = VipManager::new(&config.node.vip_interface).await?;
    // After an unclean exit (a crash, kill -9, keep_services_on_stop) what
    // still runs is adopted: the engine keeps it unless a peer took over.
    let alive = match adopt && restarted_after_crash {
        true => cleanup::probe(&config, &state).await,
        false => BTreeSet::new(),
    };
    let adopted = crate::engine::adoptable(&config.services, &alive);
    for service in &adopted {
        info!(%service, "the previous run left it running and its check passes: adopting it");
    }
    let cleaned = cleanup::clean(&config, &state_file, &mut state, &vips, &adopted).await?;
    log_cleaned(&cleaned);

    let mut scopes: BTreeSet<Scope> = config.services.iter().map(|s| s.scope).collect();
    scopes.insert(Scope::Area);
    // Fail fast on a misconfigured node; later losses are retried forever.
    let session = match Session::open(config.node.ospf_api, &scopes).await {
        Ok(session) => session,
        Err(e) => {
            // Nothing would manage what was adopted: stop it after all.
            if !adopted.is_empty() {
                let none = BTreeSet::new();
                let cleaned =
                    cleanup::clean(&config, &state_file, &mut state, &vips, &none).await?;
                log_cleaned(&cleaned);
            }
            return Err(e.into());
        }
    };
    check_router_id(&config, session.router_id());

    let web = crate::web::Shell::start(&config, config_path, key.clone()).await?;
    let mut settings = EngineSettings::from_node(&config.node, key, state.incarnation);
    settings.web = config.web_advertised();
    if restarted_after_crash {
        info!("the previous run did not shut down cleanly: no startup hold");
        settings.startup_hold_ms = 0;
    }
    let mut restored = state.restored();
    restored.adopted = adopted.clone();
    let engine = Engine::new(settings, config.services.clone(), &restored);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let (metrics, scrapes) = Metrics::new();
    if let Some(addr) = config.node.metrics_listen {
        crate::metrics::serve(addr, metrics.scraper()).await?;
    }
    let mut daemon = Daemon {
        metrics,
        engine,
        session: None,
        vips,
        held: HeldVips::default(),
        adopting: adopted,
        runner: Runner::new(done_tx),
        state_file,
        _lock: lock,
        state,
        scopes,
        timer: None,
        shutdown_done: false,
        keeping_services: false,
        ready_notified: false,
        web,
        strays: Strays::new(session.router_id()),
        config,
        config_path: config_path.to_path_buf(),
    };
    if daemon.config.services.iter().any(forwards_strays) {
        if let Err(e) = daemon.strays.prepare().await {
            error!(error = %e, "cannot forward stray packets: planned overlap moves reset connections open at the switch");
        }
    }
    info!(
        incarnation = daemon.state.incarnation,
        services = daemon.config.services.len(),
        "srrd starting"
    );
    daemon.session_up(session).await;
    daemon.main_loop(done_rx, scrapes).await
}

/// `srrd cleanup`: what an earlier run left, cleaned as at the start of
/// `srrd run` (docs/operating.md). Fails if srrd runs on this state dir.
pub async fn cleanup(config_path: &Path) -> Result<Cleaned, DaemonError> {
    let config = config::load(config_path)?;
    let state_file = StateFile::new(&config.node.state_dir)?;
    let _lock = state_file.lock()?;
    let mut state = state_file.load()?;
    let vips = VipManager::new(&config.node.vip_interface).await?;
    cleanup::clean(&config, &state_file, &mut state, &vips, &BTreeSet::new()).await
}

fn log_cleaned(cleaned: &Cleaned) {
    for service in &cleaned.stopped {
        warn!(%service, "stopped a service an earlier run left started");
    }
    for (service, why) in &cleaned.failed {
        error!(
            %service,
            why, "cannot stop a service an earlier run left started"
        );
    }
    for service in &cleaned.unknown {
        warn!(
            %service,
            "an earlier run started a service no longer configured; not stopped"
        );
    }
    if !cleaned.vips.is_empty() {
        warn!(removed = ?cleaned.vips, "removed VIPs left over from an earlier run");
    }
    if cleaned.strays {
        info!(
            device = crate::strays::DEVICE,
            "removed the stray-packet forwarding an earlier run left"
        );
    }
}

/// A make-before-break service with an IPv4 address: its successors
/// forward stray packets to this node, or this node to its predecessors.
fn forwards_strays(service: &ServiceConfig) -> bool {
    service.handover == config::Handover::Overlap && service.addresses.iter().any(IpAddr::is_ipv4)
}

fn managed_addresses(config: &Config) -> BTreeSet<IpAddr> {
    config
        .services
        .iter()
        .flat_map(|s| s.addresses.iter().copied())
        .collect()
}

fn check_router_id(config: &Config, actual: RouterId) {
    if let Some(pinned) = config.node.router_id {
        if pinned != actual {
            warn!(configured = %pinned, ospfd = %actual, "router_id differs from ospfd's; using ospfd's");
        }
    }
}

impl Daemon {
    async fn main_loop(
        &mut self,
        mut done_rx: mpsc::UnboundedReceiver<Finished>,
        mut scrapes: mpsc::Receiver<Scrape>,
    ) -> Result<Ended, DaemonError> {
        let mut sigterm = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
        let mut sigusr2 = signal(SignalKind::user_defined2()).map_err(DaemonError::Signal)?;
        let mut ended = Ended::Shutdown;
        let mut connecting: Option<Connecting> = None;
        let mut backoff = Duration::from_millis(200);
        let mut reconnect_at: Option<tokio::time::Instant> = None;
        let mut shutdown_deadline: Option<tokio::time::Instant> = None;
        let mut vip_check = tokio::time::interval(VIP_RECONCILE_INTERVAL);
        vip_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut vip_refresh = tokio::time::interval(VIP_REFRESH_INTERVAL);
        vip_refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Pinged from this loop, so a stalled loop is what systemd catches.
        let mut watchdog = notify::watchdog_interval().map(tokio::time::interval);

        loop {
            if self.shutdown_done {
                break;
            }
            if self.session.is_none() && connecting.is_none() && reconnect_at.is_none() {
                reconnect_at = Some(tokio::time::Instant::now() + backoff);
            }
            let timer_sleep = self.timer.map(|at| {
                let wait = at.0.saturating_sub(now().0);
                tokio::time::Instant::now() + Duration::from_millis(wait)
            });
            tokio::select! {
                events = async {
                    match self.session.as_mut() {
                        Some(s) => s.next_events().await,
                        None => std::future::pending().await,
                    }
                } => match events {
                    Ok(events) => {
                        for e in events {
                            self.feed(e).await;
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "OSPF API session lost; stopping services and reconnecting");
                        self.session = None;
                        self.feed(Event::ApiLost).await;
                    }
                },
                result = async {
                    match connecting.as_mut() {
                        Some(c) => c.await,
                        None => std::future::pending().await,
                    }
                } => {
                    connecting = None;
                    match result {
                        Ok(s) => {
                            backoff = Duration::from_millis(200);
                            self.session_up(s).await;
                        }
                        Err(e) => {
                            warn!(error = %e, retry_in = ?backoff, "OSPF API not available");
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
                _ = async {
                    match reconnect_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    reconnect_at = None;
                    let server = self.config.node.ospf_api;
                    let scopes = self.scopes.clone();
                    connecting = Some(Box::pin(async move { Session::open(server, &scopes).await }));
                }
                Some(done) = done_rx.recv() => {
                    self.metrics.primitive_done(&done);
                    if done.primitive == Primitive::Stop && done.result == PrimitiveResult::Ok {
                        self.set_started(&done.service, false).await;
                    }
                    if done.primitive == Primitive::Start && done.result == PrimitiveResult::Ok {
                        self.held.started(&self.vips, &done.service).await;
                    }
                    self.feed(Event::PrimitiveDone { op: done.op, result: done.result }).await;
                }
                _ = async {
                    match timer_sleep {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.timer = None;
                    self.feed(Event::Timer).await;
                }
                _ = async {
                    match shutdown_deadline {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    error!("graceful shutdown did not finish in time; exiting anyway");
                    break;
                }
                _ = sigterm.recv() => self.begin_shutdown(&mut shutdown_deadline).await,
                _ = sigint.recv() => self.begin_shutdown(&mut shutdown_deadline).await,
                _ = sigusr2.recv() => {
                    if shutdown_deadline.is_none() {
                        info!("SIGUSR2: exiting for an upgrade, leaving the services running for the next run to adopt");
                        self.keeping_services = true;
                        self.shutdown_done = true;
                        ended = Ended::Upgrade;
                    }
                }
                _ = sighup.recv() => {
                    self.reload();
                }
                Some(request) = async {
                    match self.web.as_mut() {
                        Some(w) => w.next().await,
                        None => std::future::pending().await,
                    }
                } => self.on_web(request, &mut shutdown_deadline).await,
                Some(reply) = scrapes.recv() => {
                    let _ = reply.send(self.metrics.render(&self.engine, &self.held.all(), now()));
                }
                _ = vip_check.tick() => self.reconcile_vips().await,
                _ = vip_refresh.tick() => self.refresh_vips().await,
                _ = async {
                    match watchdog.as_mut() {
                        Some(ping) => ping.tick().await,
                        None => std::future::pending().await,
                    }
                } => sd_notify("WATCHDOG=1"),
            }
        }
        self.finish().await;
        Ok(ended)
    }

    async fn begin_shutdown(&mut self, deadline: &mut Option<tokio::time::Instant>) {
        if deadline.is_some() {
            return;
        }
        if self.config.node.keep_services_on_stop {
            info!("stopping, leaving the services running for the next run to adopt (keep_services_on_stop)");
            self.keeping_services = true;
            self.shutdown_done = true;
            return;
        }
        info!("shutting down: stopping and deactivating every service");
        let longest = self
            .config
            .services
            .iter()
            .map(|s| s.timeouts.stop + s.timeouts.deactivate)
            .sum::<Duration>()
            + Duration::from_secs(5);
        *deadline = Some(tokio::time::Instant::now() + longest);
        self.feed(Event::Command(Command::Shutdown)).await;
    }

    /// Closing the session makes ospfd flush our LSAs; it must happen
    /// before ospfd stops (FRR 8.4.4 aborts on SIGTERM with a client).
    async fn finish(&mut self) {
        self.session = None;
        self.runner.shutdown().await;
        self.strays.remove().await;
        if self.keeping_services {
            // Not a clean shutdown: the next run adopts what still runs.
            // The VIPs stay until their lease runs out, renewed by it.
            sd_notify("STOPPING=1");
            info!(started = ?self.state.started, "srrd stopped; services left running");
            return;
        }
        let none = BTreeSet::new();
        match self
            .vips
            .remove_all_but(&managed_addresses(&self.config), &none)
            .await
        {
            Ok(removed) if !removed.is_empty() => info!(?removed, "VIPs removed"),
            Ok(_) => {}
            Err(e) => error!(error = %e, "could not remove VIPs"),
        }
        self.state.clean_shutdown = true;
        if let Err(e) = self.state_file.save(&self.state).await {
            error!(error = %e, "cannot persist the clean shutdown");
        }
        sd_notify("STOPPING=1");
        info!("srrd stopped");
    }

    /// Removes configured VIPs this node does not own (left by a crash or
    /// added by hand); `refresh_vips` restores owned ones.
    async fn reconcile_vips(&mut self) {
        let managed = managed_addresses(&self.config);
        match self.vips.reconcile(&managed, &self.held.announced).await {
            Ok(removed) if !removed.is_empty() => {
                warn!(?removed, "removed VIPs this node does not own")
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "VIP reconcile failed"),
        }
        match self.vips.reconcile_local(&managed, &self.held.local).await {
            Ok(removed) if !removed.is_empty() => {
                warn!(?removed, "removed VIP local routes this node does not hold")
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "VIP local route reconcile failed"),
        }
    }

    /// Renews the lease of the owned VIPs (docs/vip.md) and adds back any
    /// that vanished (expired while srrd stalled, or removed by hand).
    async fn refresh_vips(&mut self) {
        if self.held.announced.is_empty() {
            return;
        }
        match self.vips.refresh(&self.held.announced).await {
            Ok(done) => {
                for addr in &done.restored {
                    warn!(%addr, "an owned VIP had vanished from the interface; added it back");
                }
                for e in &done.errors {
                    error!(error = %e, "cannot renew VIP");
                }
            }
            Err(e) => error!(error = %e, "cannot renew VIPs"),
        }
    }

    /// Records in the state file that `service` may be running here (its
    /// `start` ran) or is not (a `stop` succeeded), for `srrd cleanup`.
    async fn set_started(&mut self, service: &str, started: bool) {
        let changed = match started {
            true => self.state.started.insert(service.to_string()),
            false => self.state.started.remove(service),
        };
        if changed {
            if let Err(e) = self.state_file.save(&self.state).await {
                error!(%service, error = %e, "cannot persist which services are started");
            }
        }
    }

    /// SIGHUP: re-read the configuration and the TLS files; apply what can
    /// change while services run (Engine::reload), report (and return) what
    /// needs a restart.
    fn reload(&mut self) -> Vec<String> {
        let new = match config::load(&self.config_path) {
            Ok(new) => new,
            Err(e) => {
                error!("SIGHUP: configuration invalid, keeping the running one:\n{e}");
                return Vec::new();
            }
        };
        if let Some(web) = &self.web {
            web.reload(new.web.as_ref());
            self.config.web = new.web.clone();
        }
        if new == self.config {
            info!("SIGHUP: configuration unchanged");
            return Vec::new();
        }
        let needs_restart = self.engine.reload(&new.services);
        if new.node != self.config.node {
            warn!("SIGHUP: [node] settings changed; they take effect on restart");
        }
        if needs_restart.is_empty() {
            info!("SIGHUP: configuration reloaded");
        } else {
            warn!(changes = ?needs_restart, "SIGHUP: reloaded what can change live; these need a restart");
        }
        // What runs is what the engine has: the running identity with the
        // settings that changed live.
        self.config.services = self
            .engine
            .services()
            .filter_map(|st| self.engine.service_config(&st.name).cloned())
            .collect();
        needs_restart
    }

    async fn session_up(&mut self, mut session: Session) {
        let router_id = session.router_id();
        let dumps = session.request_dumps().await;
        self.session = Some(session);
        if let Err(e) = dumps {
            warn!(error = %e, "OSPF API session failed right after registering");
            self.session = None;
            return;
        }
        self.metrics.session_up();
        self.feed(Event::ApiConnected { router_id }).await;
        if !self.ready_notified {
            self.ready_notified = true;
            sd_notify("READY=1");
        }
    }

    /// Returns why the engine rejected the event's command, if it did.
    async fn feed(&mut self, event: Event) -> Option<String> {
        self.metrics.event(&event);
        let actions = self.engine.handle(now(), event);
        let rejected = actions.iter().find_map(|a| match a {
            Action::CommandRejected { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        for a in actions {
            self.apply(a).await;
        }
        self.metrics.observe(&self.engine);
        if self.state.update(&self.engine.restorable()) {
            if let Err(e) = self.state_file.save(&self.state).await {
                error!(error = %e, "cannot persist operator state");
            }
        }
        if let Some(web) = &self.web {
            web.publish(&self.engine);
        }
        rejected
    }

    /// `service`'s configured addresses (none if it is unknown).
    fn addresses(&self, service: &str) -> Vec<IpAddr> {
        self.engine
            .service_config(service)
            .map(|cfg| cfg.addresses.clone())
            .unwrap_or_default()
    }

    /// `service`'s configuration if it hands over make-before-break.
    fn overlap_config(&self, service: &str) -> Option<&ServiceConfig> {
        self.engine
            .service_config(service)
            .filter(|cfg| cfg.handover == config::Handover::Overlap)
    }

    async fn apply(&mut self, action: Action) {
        self.metrics.action(&action);
        match &action {
            Action::Originate { .. } | Action::Flush { .. } => {
                if let Some(s) = self.session.as_mut() {
                    if let Err(e) = s.apply(&action).await {
                        warn!(error = %e, "OSPF API write failed");
                        self.session = None;
                        Box::pin(self.feed(Event::ApiLost)).await;
                    }
                }
            }
            Action::RunPrimitive(run) => {
                self.adopting.remove(&run.service);
                if run.primitive == Primitive::Start {
                    self.set_started(&run.service, true).await;
                }
                let mut inv = invocation(
                    &self.config.node,
                    self.engine.service_config(&run.service),
                    run,
                    self.engine.router_id(),
                );
                if run.drain_ms > 0 {
                    let addresses = self.addresses(&run.service);
                    if self
                        .held
                        .withdraw(&self.vips, &run.service, &addresses)
                        .await
                    {
                        inv.delay = Duration::from_millis(run.drain_ms);
                    }
                }
                self.runner.start(inv);
            }
            Action::CancelPrimitive { op, .. } => self.runner.cancel(*op),
            Action::AddVip { service, addr } => {
                let adopted = self.adopting.contains(service);
                let overlap = self.overlap_config(service).is_some() && !adopted;
                self.held.add(&self.vips, service, *addr, overlap).await;
            }
            Action::RemoveVip { service, addr } => {
                self.adopting.remove(service);
                self.held.remove(&self.vips, service, *addr).await;
            }
            Action::ForwardStrays { service, to } => {
                let addresses = self.addresses(service);
                match self.strays.forward(service, &addresses, *to).await {
                    Ok(()) => match to {
                        Some(to) => info!(%service, %to, "forwarding stray packets"),
                        None => debug!(%service, "no longer forwarding stray packets"),
                    },
                    Err(e) => {
                        error!(%service, error = %e, "cannot forward stray packets: connections open at the switch may be reset")
                    }
                }
            }
            Action::SetTimer { at } => self.timer = Some(*at),
            Action::StateChanged {
                service,
                config,
                run,
                failure,
            } => match failure {
                Some(f) => warn!(%service, %config, %run, failure = %f, "state"),
                None => info!(%service, %config, %run, "state"),
            },
            Action::Log {
                level,
                service,
                message,
            } => match (level, service) {
                (Level::Warn, Some(service)) => warn!(%service, "{message}"),
                (Level::Info, Some(service)) => info!(%service, "{message}"),
                // Node-level lines carry no service field.
                (Level::Warn, None) => warn!("{message}"),
                (Level::Info, None) => info!("{message}"),
            },
            Action::CommandRejected { command, reason } => {
                warn!(%command, reason, "command rejected")
            }
            Action::ShutdownComplete => self.shutdown_done = true,
        }
    }
}

/// The environment a primitive sees (docs/primitives.md).
fn invocation(
    node: &NodeSettings,
    cfg: Option<&ServiceConfig>,
    run: &PrimitiveRun,
    router_id: Option<RouterId>,
) -> Invocation {
    use crate::primitives::vars;
    let service_dir = node.state_dir.join("services").join(&run.service);
    if let Err(e) = std::fs::create_dir_all(&service_dir) {
        warn!(service = %run.service, dir = %service_dir.display(), error = %e, "cannot create the service state dir");
    }
    let words = |items: Vec<String>| items.join(" ");
    let mut env = vec![
        (vars::SERVICE, run.service.clone()),
        (vars::PRIMITIVE, run.primitive.target().to_string()),
        (vars::NODE, node.name.clone()),
        (
            vars::ROUTER_ID,
            router_id.map(|r| r.to_string()).unwrap_or_default(),
        ),
        (
            vars::PEERS,
            words(run.peers.iter().map(|p| p.to_string()).collect()),
        ),
        (vars::STATE_DIR, service_dir.display().to_string()),
    ];
    if let Some(peer) = run.peer {
        env.push((vars::PEER, peer.to_string()));
    }
    if let Some(cfg) = cfg {
        env.push((
            vars::ADDRESSES,
            words(cfg.addresses.iter().map(|a| a.to_string()).collect()),
        ));
        env.push((vars::KIND, config::kind_text(cfg.kind).to_string()));
    }
    Invocation {
        op: run.op,
        service: run.service.clone(),
        primitive: run.primitive,
        path: cfg.map(|c| c.primitives.clone()).unwrap_or_default(),
        timeout: Duration::from_millis(run.timeout_ms),
        env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        delay: Duration::ZERO,
    }
}
