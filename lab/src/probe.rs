//! The lab's one client probe, for the scenarios, the demo and the bench:
//! from inside the client's namespace, an HTTP GET of `/whoami` at a
//! service address (`get_once`); the server answers with the name of its
//! node. `Probe` repeats it on a fixed schedule, every 10 ms by default,
//! and keeps a `Trace` of who answered or why nobody did, with times. An
//! outage is the time from the first failed attempt to the first
//! successful one after it.
//!
//! Attempts start on a fixed 10 ms schedule whatever the previous ones do:
//! a pool of worker threads takes the slots in turn, so a connect that hangs
//! in an outage (its SYN is lost and the kernel would retransmit only after
//! 1 s, docs/frr.md) does not stretch the spacing.
//! Each connect gives up after 50 ms (the lab's round trip is well below
//! 1 ms), each read or write after 100 ms.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::netns::Lab;

/// The lab's services answer HTTP on this port (lab/config/shared/whoami-http).
pub const HTTP_PORT: u16 = 80;

#[derive(Clone, Copy, Debug)]
pub struct ProbeConfig {
    /// A new attempt starts every `period`.
    pub period: Duration,
    pub connect_timeout: Duration,
    /// For each write and read of the HTTP exchange.
    pub io_timeout: Duration,
    /// Attempts in flight at most; `workers * period` must exceed the
    /// longest attempt (`connect_timeout + 2 * io_timeout`) or slots are
    /// skipped (they are counted in the trace).
    pub workers: usize,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            period: Duration::from_millis(10),
            connect_timeout: Duration::from_millis(50),
            io_timeout: Duration::from_millis(100),
            workers: 32,
        }
    }
}

impl ProbeConfig {
    /// For a single `get_once`: `timeout` for the connect and for each
    /// read and write.
    pub fn once(timeout: Duration) -> ProbeConfig {
        ProbeConfig {
            connect_timeout: timeout,
            io_timeout: timeout,
            ..ProbeConfig::default()
        }
    }

    /// What the probe can tell apart, for the benchmark's output.
    pub fn resolution(&self) -> String {
        format!(
            "probe: TCP connect + HTTP GET every {} ms from c1 (connect timeout {} ms, read/write timeout {} ms, \
             attempts overlap so the timeouts do not stretch the spacing); an outage runs from the start of the \
             first failed attempt to the start of the first successful one, so each end is known to one period \
             ({} ms) and a lone failed attempt counts as {} ms; an attempt in flight when the fault hits is \
             counted from the fault",
            self.period.as_millis(),
            self.connect_timeout.as_millis(),
            self.io_timeout.as_millis(),
            self.period.as_millis(),
            self.period.as_millis(),
        )
    }
}

/// Why an attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No SYN-ACK within the connect timeout (the route leads nowhere).
    ConnectTimeout,
    /// RST: the node has the address but nothing listens (yet, or any more).
    Refused,
    /// The connection was reset (its server went away in the middle).
    Reset,
    /// ICMP unreachable (no route at the router).
    Unreachable,
    /// Connected, but the answer did not come in time.
    ReadTimeout,
    /// An answer other than 200 (the service reports itself broken).
    Status(u16),
    /// The connection broke or the answer made no sense.
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::ConnectTimeout => write!(f, "connect-timeout"),
            Failure::Refused => write!(f, "refused"),
            Failure::Reset => write!(f, "reset"),
            Failure::Unreachable => write!(f, "unreachable"),
            Failure::ReadTimeout => write!(f, "read-timeout"),
            Failure::Status(code) => write!(f, "http-{code}"),
            Failure::Other(what) => write!(f, "{what}"),
        }
    }
}

/// One HTTP GET of `/whoami` at `target`: the body (the answering node's
/// name, trimmed) or why it failed.
pub fn get_once(target: SocketAddr, config: &ProbeConfig) -> Result<String, Failure> {
    let mut stream = TcpStream::connect_timeout(&target, config.connect_timeout).map_err(|e| {
        match e.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Failure::ConnectTimeout,
            ErrorKind::ConnectionRefused => Failure::Refused,
            ErrorKind::ConnectionReset => Failure::Reset,
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Failure::Unreachable,
            _ => Failure::Other(format!("connect: {e}")),
        }
    })?;
    let io = |e: std::io::Error| match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => Failure::ReadTimeout,
        ErrorKind::ConnectionReset => Failure::Reset,
        _ => Failure::Other(format!("io: {e}")),
    };
    stream
        .set_read_timeout(Some(config.io_timeout))
        .map_err(io)?;
    stream
        .set_write_timeout(Some(config.io_timeout))
        .map_err(io)?;
    let _ = stream.set_nodelay(true);
    let request = format!("GET /whoami HTTP/1.0\r\nHost: {}\r\n\r\n", target.ip());
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut answer = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    let deadline = Instant::now() + config.io_timeout;
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(io(e)),
        }
        if answer.len() > 4096 {
            return Err(Failure::Other("answer longer than 4 KiB".into()));
        }
        if Instant::now() > deadline {
            return Err(Failure::ReadTimeout);
        }
    }
    parse_answer(&answer)
}

fn parse_answer(answer: &[u8]) -> Result<String, Failure> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| Failure::Other("no end of the HTTP header".into()))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| Failure::Other(format!("bad status line {:?}", head.lines().next())))?;
    if status != 200 {
        return Err(Failure::Status(status));
    }
    Ok(body.trim().to_string())
}

/// One attempt, times in ms since the probe started.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub slot: u64,
    pub start_ms: f64,
    pub end_ms: f64,
    /// The answering node, or why there was no answer.
    pub outcome: Result<String, Failure>,
}

/// A probe running in the background, against one or more targets (each
/// with its own workers and schedule, all on one time base).
pub struct Probe {
    targets: Vec<SocketAddr>,
    config: ProbeConfig,
    t0: Instant,
    t0_unix_ms: f64,
    stop: Arc<AtomicBool>,
    /// One list per target.
    attempts: Vec<Arc<Mutex<Vec<Attempt>>>>,
    /// (target index, worker).
    workers: Vec<(usize, JoinHandle<u64>)>,
}

impl Probe {
    /// Starts probing every target from inside `node`'s namespace.
    pub fn start(lab: &Lab, node: &str, targets: &[SocketAddr], config: ProbeConfig) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let attempts: Vec<_> = targets
            .iter()
            .map(|_| Arc::new(Mutex::new(Vec::new())))
            .collect();
        // The first slot a little ahead, so every worker is up for it.
        let lead = Duration::from_millis(20);
        let t0 = Instant::now() + lead;
        let t0_unix_ms = unix_ms() + lead.as_secs_f64() * 1000.0;
        // Threads inherit the namespace of the thread that creates them.
        let workers = lab.in_netns(node, || {
            let mut workers = Vec::new();
            for (i, &target) in targets.iter().enumerate() {
                for first in 0..config.workers {
                    let (stop, attempts) = (stop.clone(), attempts[i].clone());
                    let worker = thread::Builder::new()
                        .name(format!("probe-{i}-{first}"))
                        .spawn(move || work(target, config, t0, first as u64, &stop, &attempts))
                        .expect("spawn a probe thread");
                    workers.push((i, worker));
                }
            }
            workers
        });
        Probe {
            targets: targets.to_vec(),
            config,
            t0,
            t0_unix_ms,
            stop,
            attempts,
            workers,
        }
    }

    /// Milliseconds since the probe started (the time base of its traces).
    pub fn now_ms(&self) -> f64 {
        ms_since(self.t0, Instant::now())
    }

    /// The attempts finished so far, one trace per target.
    pub fn snapshot(&self) -> Vec<Trace> {
        (0..self.targets.len()).map(|i| self.trace(i, 0)).collect()
    }

    /// Stops the workers (each finishes its attempt in flight) and returns
    /// the whole traces, one per target.
    pub fn stop(mut self) -> Vec<Trace> {
        self.stop.store(true, Ordering::Relaxed);
        let mut skipped = vec![0; self.targets.len()];
        for (i, worker) in std::mem::take(&mut self.workers) {
            skipped[i] += worker.join().unwrap_or(0);
        }
        (0..self.targets.len())
            .map(|i| self.trace(i, skipped[i]))
            .collect()
    }

    fn trace(&self, i: usize, skipped_slots: u64) -> Trace {
        let mut attempts = self.attempts[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        attempts.sort_by_key(|a| a.slot);
        Trace {
            target: self.targets[i],
            config: self.config,
            t0_unix_ms: self.t0_unix_ms,
            attempts,
            skipped_slots,
        }
    }
}

impl Drop for Probe {
    /// A probe dropped without `stop` (a panic) stops its workers too.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A worker takes slots `first`, `first + workers`, ...; returns how many it
/// skipped because it was still busy.
fn work(
    target: SocketAddr,
    config: ProbeConfig,
    t0: Instant,
    first: u64,
    stop: &AtomicBool,
    attempts: &Mutex<Vec<Attempt>>,
) -> u64 {
    let stride = config.workers as u64;
    let mut slot = first;
    let mut skipped = 0;
    while !stop.load(Ordering::Relaxed) {
        let at = t0 + config.period * slot as u32;
        let now = Instant::now();
        if now > at + config.period {
            // Still busy with the last attempt when this slot came.
            skipped += 1;
            slot += stride;
            continue;
        }
        if at > now {
            thread::sleep(at - now);
        }
        let start = Instant::now();
        let outcome = get_once(target, &config);
        let end = Instant::now();
        attempts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Attempt {
                slot,
                start_ms: ms_since(t0, start),
                end_ms: ms_since(t0, end),
                outcome,
            });
        slot += stride;
    }
    skipped
}

fn ms_since(t0: Instant, t: Instant) -> f64 {
    if t >= t0 {
        (t - t0).as_secs_f64() * 1000.0
    } else {
        -((t0 - t).as_secs_f64() * 1000.0)
    }
}

pub fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// What a probe saw, in slot order.
#[derive(Clone, Debug)]
pub struct Trace {
    pub target: SocketAddr,
    pub config: ProbeConfig,
    /// Wall clock of the probe's time 0, to line the trace up with logs.
    pub t0_unix_ms: f64,
    pub attempts: Vec<Attempt>,
    pub skipped_slots: u64,
}

/// A stretch of failed attempts.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    /// Start of the first failed attempt (ms, probe time).
    pub start_ms: f64,
    /// Start of the first successful attempt after it; None if the trace
    /// ended first.
    pub end_ms: Option<f64>,
    pub failed_attempts: usize,
    /// The node that answered last before, and first after.
    pub before: Option<String>,
    pub after: Option<String>,
    /// Failure kinds with their counts, most frequent first.
    pub failures: Vec<(String, usize)>,
}

impl Outage {
    /// The outage's length; one that never ended counts up to `trace_end_ms`.
    pub fn duration_ms(&self, trace_end_ms: f64) -> f64 {
        self.end_ms.unwrap_or(trace_end_ms) - self.start_ms
    }
}

impl Trace {
    /// Every outage still going on at `from_ms` or starting later. (An
    /// attempt that started just before a fault may fail because of it.)
    pub fn outages_since(&self, from_ms: f64) -> Vec<Outage> {
        let mut outages: Vec<Outage> = Vec::new();
        let mut open: Option<Outage> = None;
        let mut last_node: Option<String> = None;
        for a in &self.attempts {
            match &a.outcome {
                Ok(node) => {
                    if let Some(mut o) = open.take() {
                        o.end_ms = Some(a.start_ms);
                        o.after = Some(node.clone());
                        outages.push(o);
                    }
                    last_node = Some(node.clone());
                }
                Err(failure) => {
                    let o = open.get_or_insert_with(|| Outage {
                        start_ms: a.start_ms,
                        end_ms: None,
                        failed_attempts: 0,
                        before: last_node.clone(),
                        after: None,
                        failures: Vec::new(),
                    });
                    o.failed_attempts += 1;
                    let kind = failure.to_string();
                    match o.failures.iter_mut().find(|(k, _)| *k == kind) {
                        Some((_, n)) => *n += 1,
                        None => o.failures.push((kind, 1)),
                    }
                }
            }
        }
        outages.extend(open);
        for o in &mut outages {
            o.failures.sort_by_key(|f| std::cmp::Reverse(f.1));
        }
        outages.retain(|o| o.end_ms.map_or(true, |end| end > from_ms));
        outages
    }

    /// The longest outage still going on at `from_ms` or starting later,
    /// counted from `from_ms` at the earliest (as the bench counts from the
    /// fault); None if every attempt from `from_ms` on was answered.
    pub fn longest_outage_since(&self, from_ms: f64) -> Option<f64> {
        let end = self.end_ms();
        self.outages_since(from_ms)
            .iter()
            .map(|o| o.end_ms.unwrap_or(end) - o.start_ms.max(from_ms))
            .reduce(f64::max)
    }

    /// The first attempt from `from_ms` on that `node` answered.
    pub fn first_answer_from(&self, node: &str, from_ms: f64) -> Option<&Attempt> {
        self.attempts
            .iter()
            .find(|a| a.start_ms >= from_ms && a.outcome.as_deref() == Ok(node))
    }

    /// The start of the last attempt in the trace.
    pub fn end_ms(&self) -> f64 {
        self.attempts.last().map_or(0.0, |a| a.start_ms)
    }

    /// The node that answered the last successful attempt.
    pub fn last_answer(&self) -> Option<&str> {
        self.attempts
            .iter()
            .rev()
            .find_map(|a| a.outcome.as_ref().ok())
            .map(String::as_str)
    }

    /// Start of the last failed attempt, if any.
    pub fn last_failure_ms(&self) -> Option<f64> {
        self.attempts
            .iter()
            .rev()
            .find(|a| a.outcome.is_err())
            .map(|a| a.start_ms)
    }

    /// Failed attempts that were over before `ms`.
    pub fn failures_before(&self, ms: f64) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.end_ms < ms && a.outcome.is_err())
            .count()
    }

    /// Successful attempts that started at or after `ms`.
    pub fn successes_since(&self, ms: f64) -> usize {
        self.attempts
            .iter()
            .filter(|a| a.start_ms >= ms && a.outcome.is_ok())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(outcomes: &[Result<&str, Failure>]) -> Trace {
        Trace {
            target: "192.0.2.10:8080".parse().unwrap(),
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
    fn an_outage_runs_from_the_first_failure_to_the_first_success() {
        let t = trace(&[
            Ok("n3"),
            Ok("n3"),
            Err(Failure::Refused),
            Err(Failure::ConnectTimeout),
            Err(Failure::ConnectTimeout),
            Ok("n2"),
            Ok("n2"),
        ]);
        let o = t.outages_since(0.0);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].start_ms, 20.0);
        assert_eq!(o[0].end_ms, Some(50.0));
        assert_eq!(o[0].duration_ms(t.end_ms()), 30.0);
        assert_eq!(o[0].failed_attempts, 3);
        assert_eq!(o[0].before.as_deref(), Some("n3"));
        assert_eq!(o[0].after.as_deref(), Some("n2"));
        assert_eq!(o[0].failures[0], ("connect-timeout".to_string(), 2));
    }

    #[test]
    fn an_unfinished_outage_counts_to_the_end_and_early_ones_can_be_left_out() {
        let t = trace(&[
            Err(Failure::Unreachable),
            Ok("n1"),
            Err(Failure::Status(503)),
            Err(Failure::Status(503)),
        ]);
        let all = t.outages_since(0.0);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].before, None);
        let late = t.outages_since(10.0);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].end_ms, None);
        assert_eq!(late[0].duration_ms(t.end_ms()), 10.0);
        assert_eq!(late[0].failures, vec![("http-503".to_string(), 2)]);
    }

    #[test]
    fn the_longest_outage_counts_from_the_fault_and_the_new_node_is_found() {
        let t = trace(&[
            Ok("n1"),
            Err(Failure::Refused),
            Err(Failure::Refused),
            Ok("n1"),
            Err(Failure::ConnectTimeout),
            Ok("n3"),
        ]);
        assert_eq!(t.longest_outage_since(15.0), Some(15.0));
        assert_eq!(t.longest_outage_since(35.0), Some(10.0));
        assert_eq!(t.longest_outage_since(45.0), Some(5.0));
        assert_eq!(t.longest_outage_since(55.0), None);
        assert_eq!(t.first_answer_from("n3", 0.0).map(|a| a.slot), Some(5));
        assert!(t.first_answer_from("n2", 0.0).is_none());
    }

    #[test]
    fn answers_parse_to_the_node_name_or_the_status() {
        assert_eq!(
            parse_answer(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nn2\n"),
            Ok("n2".to_string())
        );
        assert_eq!(
            parse_answer(b"HTTP/1.0 503 Service Unavailable\r\n\r\nbroken\n"),
            Err(Failure::Status(503))
        );
        assert!(matches!(parse_answer(b"garbage"), Err(Failure::Other(_))));
    }
}
