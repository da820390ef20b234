//! One measured run: the probe runs from c1, the fault is injected after a
//! short baseline and a random delay, and the run ends once the service has
//! answered without a failure for a quiet period (or a timeout passed).
//! The run's outage is the union, over the probed addresses, of every
//! outage that began after the fault.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::netns::Lab;
use crate::probe::{Probe, ProbeConfig, Trace};

#[derive(Clone, Copy, Debug)]
pub struct MeasureSettings {
    pub probe: ProbeConfig,
    /// Probing before the fault: the service must answer throughout.
    pub baseline: Duration,
    /// The fault comes after a random delay in [0, jitter): back-to-back
    /// scripted faults would otherwise hit the same hello/advert phase
    /// (keepalived baseline notes).
    pub jitter: Duration,
    /// The run ends when no attempt failed for this long after the fault
    /// steps are done.
    pub quiet: Duration,
    /// ... or when this much time has passed since the fault.
    pub timeout: Duration,
}

impl Default for MeasureSettings {
    fn default() -> Self {
        MeasureSettings {
            probe: ProbeConfig::default(),
            baseline: Duration::from_millis(500),
            jitter: Duration::from_millis(300),
            quiet: Duration::from_secs(4),
            timeout: Duration::from_secs(30),
        }
    }
}

/// A stretch in which at least one probed address did not answer, ms
/// relative to the fault.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub start_ms: f64,
    pub end_ms: f64,
    /// False if it still lasted when the run ended.
    pub ended: bool,
}

#[derive(Clone, Debug)]
pub struct RunResult {
    /// Total client-visible outage after the fault (sum of `spans`).
    pub outage_ms: f64,
    /// False if the service did not answer again before the timeout; the
    /// outage is then a lower bound.
    pub recovered: bool,
    pub spans: Vec<Span>,
    /// The node that answered before the fault and at the end of the run.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Failure kinds seen after the fault, with counts.
    pub failures: Vec<(String, usize)>,
    /// Failed attempts in the baseline (should be 0).
    pub baseline_failures: usize,
    /// Wall clock of the fault, to find it in the daemons' logs.
    pub fault_unix_ms: f64,
    /// How long the fault steps themselves took (a partition's 3 s, ...).
    pub steps_ms: f64,
    /// When the cluster was found at rest, after the fault (None: never,
    /// the run timed out).
    pub rest_ms: Option<f64>,
}

/// Runs `fault` under the probe and measures what c1 sees. The run ends
/// once the service answered without a failure for `settings.quiet`, the
/// cluster is `at_rest` (one holder, routing converged: a fault may cause a
/// second move seconds after the first, when an adjacency comes back) and
/// then stayed quiet for another `REST_WATCH`; or at the timeout.
pub fn measure(
    lab: &Lab,
    targets: &[SocketAddr],
    settings: &MeasureSettings,
    rng: &mut Rng,
    fault: impl FnOnce(),
    mut at_rest: impl FnMut() -> bool,
) -> RunResult {
    let probe = Probe::start(lab, "c1", targets, settings.probe);
    thread::sleep(settings.baseline);
    thread::sleep(settings.jitter.mul_f64(rng.unit()));
    let fault_ms = probe.now_ms();
    let fault_unix_ms = unix_ms();
    fault();
    let steps_done_ms = probe.now_ms();
    let quiet_ms = settings.quiet.as_secs_f64() * 1000.0;
    let watch_ms = REST_WATCH.as_secs_f64() * 1000.0;
    let mut rested_at: Option<f64> = None;
    let mut last_rest_check = f64::MIN;
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = probe.now_ms();
        if now - fault_ms >= settings.timeout.as_secs_f64() * 1000.0 {
            break;
        }
        let traces = probe.snapshot();
        let last_failure = traces
            .iter()
            .filter_map(Trace::last_failure_ms)
            .filter(|&ms| ms >= fault_ms)
            .fold(None, |max: Option<f64>, ms| {
                Some(max.map_or(ms, |m| m.max(ms)))
            });
        let quiet_from = last_failure.map_or(steps_done_ms, |f| f.max(steps_done_ms));
        let answering = traces
            .iter()
            .all(|t| t.attempts.last().is_some_and(|a| a.outcome.is_ok()));
        if !answering || now - quiet_from < quiet_ms {
            rested_at = None;
            continue;
        }
        match rested_at {
            Some(at) if at >= quiet_from && now - at >= watch_ms => break,
            Some(at) if at >= quiet_from => {}
            _ if now - last_rest_check >= 250.0 => {
                last_rest_check = now;
                rested_at = at_rest().then(|| probe.now_ms());
            }
            _ => {}
        }
    }
    let traces = probe.stop();
    let mut result = evaluate(&traces, fault_ms, fault_unix_ms, steps_done_ms - fault_ms);
    result.rest_ms = rested_at.map(|at| at - fault_ms);
    result
}

/// How long the service must stay quiet after the cluster is at rest.
pub const REST_WATCH: Duration = Duration::from_secs(1);

fn evaluate(traces: &[Trace], fault_ms: f64, fault_unix_ms: f64, steps_ms: f64) -> RunResult {
    let mut intervals: Vec<(f64, f64, bool)> = Vec::new();
    let mut failures: Vec<(String, usize)> = Vec::new();
    for trace in traces {
        let end = trace.end_ms();
        for o in trace.outages_since(fault_ms) {
            // The outage cannot begin before the fault that caused it.
            let start = o.start_ms.max(fault_ms);
            intervals.push((start, o.end_ms.unwrap_or(end), o.end_ms.is_some()));
            for (kind, n) in o.failures {
                match failures.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, m)) => *m += n,
                    None => failures.push((kind, n)),
                }
            }
        }
    }
    failures.sort_by_key(|f| std::cmp::Reverse(f.1));
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut spans: Vec<Span> = Vec::new();
    for (start, end, ended) in intervals {
        let (start_ms, end_ms) = (start - fault_ms, end - fault_ms);
        match spans.last_mut() {
            Some(last) if start_ms <= last.end_ms => {
                if end_ms > last.end_ms {
                    last.end_ms = end_ms;
                    last.ended = ended;
                } else if end_ms == last.end_ms {
                    last.ended &= ended;
                }
            }
            _ => spans.push(Span {
                start_ms,
                end_ms,
                ended,
            }),
        }
    }
    let primary = traces.last();
    let from = primary.and_then(|t| {
        t.attempts
            .iter()
            .rev()
            .filter(|a| a.start_ms < fault_ms)
            .find_map(|a| a.outcome.as_ref().ok())
            .cloned()
    });
    RunResult {
        // fold from +0: f64's `sum` starts at -0.0, printed "-0".
        outage_ms: spans.iter().fold(0.0, |sum, s| sum + s.end_ms - s.start_ms),
        recovered: spans.iter().all(|s| s.ended),
        spans,
        from,
        to: primary.and_then(|t| t.last_answer()).map(str::to_string),
        failures,
        baseline_failures: traces.iter().map(|t| t.failures_before(fault_ms)).sum(),
        fault_unix_ms,
        steps_ms,
        rest_ms: None,
    }
}

pub fn unix_ms() -> f64 {
    crate::probe::unix_ms()
}

/// xorshift64*: the fault's random delay needs no better.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Seeded from the clock and the pid.
    pub fn from_time() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng::new(nanos ^ ((std::process::id() as u64) << 32))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Attempt, Failure};

    fn trace(target: &str, outcomes: &[Result<&str, Failure>]) -> Trace {
        Trace {
            target: target.parse().unwrap(),
            config: ProbeConfig::default(),
            t0_unix_ms: 0.0,
            attempts: outcomes
                .iter()
                .enumerate()
                .map(|(i, o)| Attempt {
                    slot: i as u64,
                    start_ms: i as f64 * 10.0,
                    end_ms: i as f64 * 10.0 + 1.0,
                    outcome: o.clone().map(str::to_string),
                })
                .collect(),
            skipped_slots: 0,
        }
    }

    #[test]
    fn outages_of_several_addresses_are_merged_and_counted_from_the_fault() {
        use Failure::*;
        let db = trace(
            "192.0.2.11:8080",
            &[
                Ok("n3"),
                Ok("n3"),
                Err(Refused),
                Err(Refused),
                Ok("n2"),
                Ok("n2"),
                Ok("n2"),
            ],
        );
        let web = trace(
            "192.0.2.10:8080",
            &[
                Err(Refused),
                Ok("n3"),
                Ok("n3"),
                Err(Refused),
                Err(Refused),
                Ok("n2"),
                Ok("n2"),
            ],
        );
        let r = evaluate(&[db, web], 15.0, 0.0, 1.0);
        // db fails 20..40, web 30..50: one span 20..50 after the fault at 15.
        assert_eq!(
            r.spans,
            vec![Span {
                start_ms: 5.0,
                end_ms: 35.0,
                ended: true
            }]
        );
        assert_eq!(r.outage_ms, 30.0);
        assert!(r.recovered);
        assert_eq!(r.baseline_failures, 1);
        assert_eq!(r.from.as_deref(), Some("n3"));
        assert_eq!(r.to.as_deref(), Some("n2"));
        assert_eq!(r.failures, vec![("refused".to_string(), 4)]);
    }

    #[test]
    fn a_run_without_failures_has_no_outage_and_an_endless_one_is_a_lower_bound() {
        let fine = trace("192.0.2.10:8080", &[Ok("n1"), Ok("n1")]);
        let r = evaluate(&[fine], 5.0, 0.0, 0.0);
        assert_eq!((r.outage_ms, r.recovered), (0.0, true));
        let dead = trace(
            "192.0.2.10:8080",
            &[
                Ok("n1"),
                Err(Failure::ConnectTimeout),
                Err(Failure::ConnectTimeout),
            ],
        );
        let r = evaluate(&[dead], 5.0, 0.0, 0.0);
        assert_eq!((r.outage_ms, r.recovered), (10.0, false));
    }

    #[test]
    fn an_attempt_in_flight_at_the_fault_counts_from_the_fault() {
        // The attempt of 20..21 ms was in flight at the fault (20.5) and failed by it.
        let t = trace(
            "192.0.2.10:8080",
            &[
                Ok("n1"),
                Ok("n1"),
                Err(Failure::ReadTimeout),
                Err(Failure::Refused),
                Ok("n2"),
            ],
        );
        let r = evaluate(&[t], 20.5, 0.0, 0.0);
        assert_eq!(r.spans.len(), 1);
        assert_eq!((r.spans[0].start_ms, r.spans[0].end_ms), (0.0, 19.5));
        assert_eq!(r.baseline_failures, 0);
    }

    #[test]
    fn the_random_delay_stays_in_range() {
        let mut rng = Rng::new(7);
        for _ in 0..1000 {
            let x = rng.unit();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
