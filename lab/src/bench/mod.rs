//! The failover benchmark (`srrd-bench`, docs/benchmarks.md "Failover
//! outage (lab)"): client-visible outage of srrd's failover scenarios in
//! the lab (lab/srrd.clab.yml), N runs each, and keepalived side by side where VRRP
//! can play the same case. A benchmark, not a test: it reports numbers and
//! the goals they are held against, and asserts nothing about timing.

pub mod cluster;
pub mod flooding;
pub mod keepalived;
pub mod measure;
pub mod report;
pub mod resources;
pub mod scenarios;
pub mod server;
pub mod stats;
pub mod tap;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::Duration;

use cluster::{Cluster, Runtime, ServiceSet, Tools};
use keepalived::{CrossRun, Pair, PairMode};
use measure::{MeasureSettings, Rng, RunResult};
pub use report::Report;
pub use scenarios::Scenario;

#[derive(Clone, Debug)]
pub struct Options {
    pub runs: usize,
    pub scenarios: Vec<Scenario>,
    /// Run keepalived's side (graceful-move and node-crash on one LAN, and
    /// the split pair across subnets).
    pub keepalived: bool,
    /// Only keepalived's side.
    pub keepalived_only: bool,
    pub tools: Tools,
    /// Where srrd's lab runs (keepalived's pair and flooding always run on
    /// namespaces).
    pub runtime: Runtime,
    pub settings: MeasureSettings,
    /// Copy each lab's dir (configs, srrd/FRR/keepalived logs) here before
    /// it is removed.
    pub logs: Option<PathBuf>,
}

/// The results of one scenario.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub srrd: Vec<RunResult>,
    pub srrd_errors: Vec<String>,
    /// None where keepalived did not run this case.
    pub keepalived: Option<Vec<RunResult>>,
    pub keepalived_errors: Vec<String>,
}

/// The split keepalived pair, per mode.
#[derive(Clone, Debug)]
pub struct CrossResult {
    pub mode: PairMode,
    pub runs: Vec<CrossRun>,
    pub errors: Vec<String>,
    pub observed_ms: f64,
}

/// Runs everything `options` asks for, printing progress to stderr.
pub fn run(options: &Options) -> Report {
    let mut report = Report::begin(options);
    let mut rng = Rng::from_time();
    let mut results: Vec<ScenarioResult> = options
        .scenarios
        .iter()
        .map(|&scenario| ScenarioResult {
            scenario,
            srrd: Vec::new(),
            srrd_errors: Vec::new(),
            keepalived: None,
            keepalived_errors: Vec::new(),
        })
        .collect();

    if !options.keepalived_only {
        // One lab per profile; within it, one srrd configuration per service set.
        for profile in [crate::netns::Profile::Fast, crate::netns::Profile::Bfd] {
            let wanted: Vec<usize> = (0..results.len())
                .filter(|&i| results[i].scenario.profile() == profile)
                .collect();
            if wanted.is_empty() {
                continue;
            }
            eprintln!(
                "== srrd, lab/srrd.clab.yml on {:?}, {profile:?} profile",
                options.runtime.kind
            );
            let built = Cluster::new(profile, options.tools.clone(), &options.runtime);
            let mut cluster = match built {
                Ok(cluster) => cluster,
                Err(e) => {
                    eprintln!("   {e}");
                    for &i in &wanted {
                        results[i].srrd_errors.push(e.clone());
                    }
                    continue;
                }
            };
            let mut measured_at_rest = false;
            for set in ServiceSet::ALL {
                let of_set: Vec<usize> = wanted
                    .iter()
                    .copied()
                    .filter(|&i| results[i].scenario.service_set() == set)
                    .collect();
                if of_set.is_empty() {
                    continue;
                }
                if let Err(e) = cluster.stop_all() {
                    eprintln!("   {e}");
                }
                cluster.configure(set);
                cluster.start_all();
                if !measured_at_rest {
                    measured_at_rest = true;
                    match at_rest_usage(&cluster) {
                        Ok(usage) => report
                            .resources
                            .push((format!("at rest, {profile:?} profile"), usage)),
                        Err(e) => report.notes.push(format!("srrd at rest not measured: {e}")),
                    }
                }
                for i in of_set {
                    run_srrd_scenario(&mut cluster, &mut results[i], options, &mut rng);
                }
            }
            // A srrd the last repair started is sampled once it is up.
            if let Err(e) = cluster.wait_steady(Duration::from_secs(60)) {
                report
                    .notes
                    .push(format!("srrd's usage sampled unsettled: {e}"));
            }
            cluster.observe_usage();
            report.resources.push((
                format!("{profile:?} profile scenarios (every srrd process, start to last sample)"),
                cluster.usage_over_bench(),
            ));
            let _ = cluster.stop_all();
            keep_logs(
                options.logs.as_deref(),
                cluster.lab(),
                &format!("srrd-{profile:?}"),
            );
        }
    }

    let keepalived_cases: Vec<(usize, Duration)> = (0..results.len())
        .filter_map(|i| results[i].scenario.keepalived_advert().map(|a| (i, a)))
        .collect();
    if options.keepalived && keepalived::available() {
        let mut pair = Pair::new(&options.tools.bench);
        let mut adverts: Vec<Duration> = keepalived_cases.iter().map(|&(_, a)| a).collect();
        adverts.sort_unstable_by(|a, b| b.cmp(a));
        adverts.dedup();
        for advert in adverts {
            eprintln!(
                "== keepalived, lab/srrd.clab.yml, VRRPv3 advert_int {} s",
                advert.as_secs_f64()
            );
            pair.configure(PairMode::Lan, advert);
            pair.start_all();
            for &(i, _) in keepalived_cases.iter().filter(|&&(_, a)| a == advert) {
                run_keepalived_scenario(&mut pair, &mut results[i], options, &mut rng);
            }
        }
        for mode in [PairMode::CrossMulticast, PairMode::CrossUnicast] {
            report
                .cross
                .push(run_cross(&mut pair, mode, options, &mut rng));
        }
        pair.stop_all();
        keep_logs(options.logs.as_deref(), &pair.lab, "keepalived");
    } else if options.keepalived {
        report.notes.push(
            "keepalived is not installed (apt-get install keepalived): its side was skipped".into(),
        );
    }
    report.finish(results);
    report
}

/// srrd's memory and CPU per node once the cluster is at rest.
fn at_rest_usage(
    cluster: &Cluster,
) -> Result<std::collections::BTreeMap<&'static str, resources::Usage>, String> {
    cluster.wait_steady(Duration::from_secs(60))?;
    resources::over_window(&cluster.srrd_pids(), AT_REST_WINDOW)
}

fn run_srrd_scenario(
    cluster: &mut Cluster,
    result: &mut ScenarioResult,
    options: &Options,
    rng: &mut Rng,
) {
    let name = result.scenario.name();
    let mut failed_in_a_row = 0;
    for run in 1..=options.runs {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            scenarios::run_once(cluster, result.scenario, &options.settings, rng)
        }))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        match outcome {
            Ok(r) => {
                eprintln!(
                    "   srrd {name} run {run}/{}: {}",
                    options.runs,
                    report::run_line(&r)
                );
                result.srrd.push(r);
                failed_in_a_row = 0;
            }
            Err(e) => {
                eprintln!("   srrd {name} run {run}/{}: ERROR {e}", options.runs);
                eprintln!("{}", cluster.log_tails(15));
                result.srrd_errors.push(format!("run {run}: {e}"));
                failed_in_a_row += 1;
                let recovered = catch_unwind(AssertUnwindSafe(|| scenarios::recover(cluster)))
                    .unwrap_or_else(|panic| Err(panic_text(&panic)));
                if let Err(e) = recovered {
                    result.srrd_errors.push(format!("recovery failed: {e}"));
                    failed_in_a_row += 1;
                }
                if failed_in_a_row >= 2 {
                    result.srrd_errors.push("gave up on this scenario".into());
                    break;
                }
            }
        }
    }
}

fn run_keepalived_scenario(
    pair: &mut Pair,
    result: &mut ScenarioResult,
    options: &Options,
    rng: &mut Rng,
) {
    let name = result.scenario.name();
    let crash = matches!(
        result.scenario,
        Scenario::NodeCrash | Scenario::NodeCrashBfd
    );
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            keepalived::run_lan_once(pair, crash, &options.settings, rng)
        }))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        match outcome {
            Ok(r) => {
                eprintln!(
                    "   keepalived {name} run {run}/{}: {}",
                    options.runs,
                    report::run_line(&r)
                );
                runs.push(r);
            }
            Err(e) => {
                eprintln!("   keepalived {name} run {run}/{}: ERROR {e}", options.runs);
                result.keepalived_errors.push(format!("run {run}: {e}"));
                pair.stop_all();
                pair.start_all();
            }
        }
    }
    result.keepalived = Some(runs);
}

/// The split pair: how long c1 is left without service after n1 dies.
fn run_cross(pair: &mut Pair, mode: PairMode, options: &Options, rng: &mut Rng) -> CrossResult {
    let settings = MeasureSettings {
        timeout: CROSS_OBSERVATION,
        ..options.settings
    };
    pair.configure(mode, scenarios::KEEPALIVED_ADVERT);
    pair.start_all();
    let mut result = CrossResult {
        mode,
        runs: Vec::new(),
        errors: Vec::new(),
        observed_ms: CROSS_OBSERVATION.as_secs_f64() * 1000.0,
    };
    for run in 1..=options.runs.min(CROSS_RUNS) {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            keepalived::run_cross_once(pair, &settings, rng)
        }))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        match outcome {
            Ok(r) => {
                eprintln!(
                    "   {} run {run}: {}; before: states {:?}, VIP on {:?}; after: states {:?}, VIP on {:?}",
                    mode.name(),
                    report::run_line(&r.result),
                    r.states_before,
                    r.vip_before,
                    r.states_after,
                    r.vip_after
                );
                result.runs.push(r);
            }
            Err(e) => {
                eprintln!("   {} run {run}: ERROR {e}", mode.name());
                result.errors.push(format!("run {run}: {e}"));
            }
        }
    }
    result
}

/// The split pair is watched this long after n1 dies, this many times.
pub const CROSS_OBSERVATION: Duration = Duration::from_secs(10);
pub const CROSS_RUNS: usize = 3;
/// How long srrd's CPU is read at rest, before the scenarios.
const AT_REST_WINDOW: Duration = Duration::from_secs(10);

/// Copies the lab's dir to `<logs>/<label>` (the lab removes its own),
/// but for a Docker engine's dir (images, containers' namespaces).
pub(crate) fn keep_logs(logs: Option<&std::path::Path>, lab: &crate::netns::Lab, label: &str) {
    let Some(logs) = logs else { return };
    let dest = logs.join(label);
    let _ = std::fs::remove_dir_all(&dest);
    if let Err(e) = std::fs::create_dir_all(&dest) {
        return eprintln!("   logs: {}: {e}", dest.display());
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(lab.dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name() != crate::docker::ENGINE_DIR)
        .map(|e| e.path())
        .collect();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .args(&entries)
        .arg(&dest)
        .status();
    match copied {
        Ok(s) if s.success() => eprintln!("   logs of this lab copied to {}", dest.display()),
        other => eprintln!(
            "   logs: cp -a {} {}: {other:?}",
            lab.dir().display(),
            dest.display()
        ),
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic".into())
}

/// srrd's binary next to srrd-bench (`lab/bench` builds both).
pub fn default_srrd() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("srrd")))
        .unwrap_or_else(|| PathBuf::from("srrd"))
}
