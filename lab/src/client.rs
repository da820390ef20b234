//! What the lab's client sees: one HTTP GET of a service's `/whoami`
//! (the name of the node serving it), and a probe that keeps asking every
//! few milliseconds from a thread inside the client's namespace, to
//! measure outages the way a user would notice them.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::netns::enter_netns;

/// The lab's services answer HTTP on this port (lab/config/shared/whoami-http).
pub const HTTP_PORT: u16 = 80;

/// GET http://ADDR/whoami with `timeout` for connect and for the answer;
/// the body, trimmed, or None on any failure. Call it from a thread in
/// the client's namespace (`Lab::in_netns`).
pub fn whoami(addr: IpAddr, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    let mut stream = TcpStream::connect_timeout(&SocketAddr::new(addr, HTTP_PORT), timeout).ok()?;
    let left = deadline.checked_duration_since(Instant::now())?;
    stream.set_read_timeout(Some(left)).ok()?;
    stream.set_write_timeout(Some(left)).ok()?;
    stream
        .write_all(format!("GET /whoami HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n")?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return None;
    }
    Some(body.trim().to_string())
}

/// One probe: when it was sent (since the probe started) and who answered.
#[derive(Clone, Debug)]
pub struct Sample {
    pub at: Duration,
    pub answer: Option<String>,
}

/// Asks `whoami` every `interval` from a thread in a namespace until
/// stopped.
pub struct Probe {
    started: Instant,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Sample>>,
}

impl Probe {
    /// `netns` is `Lab::netns_path(client)`.
    pub fn start(netns: PathBuf, addr: IpAddr, interval: Duration, timeout: Duration) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let stop_flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            if let Err(e) = enter_netns(&netns) {
                eprintln!("probe: {e}");
                return Vec::new();
            }
            let mut samples = Vec::new();
            let mut next = Instant::now();
            while !stop_flag.load(Ordering::Relaxed) {
                let at = started.elapsed();
                let answer = whoami(addr, timeout);
                samples.push(Sample { at, answer });
                next += interval;
                let now = Instant::now();
                if next > now {
                    thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            samples
        });
        Probe {
            started,
            stop,
            thread,
        }
    }

    /// Time since the probe started: mark events on the samples' clock.
    pub fn now(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The client's view of a failover, from the probe's samples.
#[derive(Clone, Debug)]
pub struct Outage {
    /// Last answer before the outage (from the old holder).
    pub last_before: Option<Sample>,
    /// First answer from `new_holder` after `since`.
    pub first_after: Option<Sample>,
    /// Probes without an answer in between.
    pub failed_probes: usize,
}

impl Outage {
    /// From the last answer at or before the first failed (or foreign)
    /// probe after `since`, to the first answer from `new_holder` after
    /// `since`.
    pub fn measure(samples: &[Sample], since: Duration, new_holder: &str) -> Outage {
        let first_new = samples
            .iter()
            .position(|s| s.at >= since && s.answer.as_deref() == Some(new_holder));
        let end = first_new.unwrap_or(samples.len());
        let start = samples
            .iter()
            .position(|s| s.at >= since)
            .unwrap_or(samples.len());
        let last_before = samples[..end]
            .iter()
            .rposition(|s| s.answer.is_some() && s.answer.as_deref() != Some(new_holder))
            .or_else(|| start.checked_sub(1))
            .map(|i| samples[i].clone());
        let from = last_before.as_ref().map_or(start, |s| {
            samples
                .iter()
                .position(|x| x.at > s.at)
                .unwrap_or(samples.len())
        });
        Outage {
            failed_probes: samples[from.min(end)..end]
                .iter()
                .filter(|s| s.answer.is_none())
                .count(),
            last_before,
            first_after: first_new.map(|i| samples[i].clone()),
        }
    }

    /// Time without an answer, as the client saw it (probe resolution).
    pub fn duration(&self) -> Option<Duration> {
        let after = self.first_after.as_ref()?.at;
        let before = self.last_before.as_ref().map_or(Duration::ZERO, |s| s.at);
        Some(after.saturating_sub(before))
    }
}

/// The longest time the client went without any answer after `since`:
/// from an answered probe (or `since`) to the next answered one, or to
/// the last probe if none came. Zero-ish (one probe interval) when the
/// service never stopped answering.
pub fn longest_gap(samples: &[Sample], since: Duration) -> Duration {
    let mut last_ok = samples
        .iter()
        .rev()
        .find(|s| s.at <= since && s.answer.is_some())
        .map_or(since, |s| s.at);
    let mut longest = Duration::ZERO;
    for s in samples.iter().filter(|s| s.at > since) {
        if s.answer.is_some() {
            longest = longest.max(s.at - last_ok);
            last_ok = s.at;
        }
    }
    if let Some(end) = samples.last() {
        if end.answer.is_none() {
            longest = longest.max(end.at.saturating_sub(last_ok));
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ms: u64, answer: Option<&str>) -> Sample {
        Sample {
            at: Duration::from_millis(ms),
            answer: answer.map(str::to_string),
        }
    }

    #[test]
    fn outage_is_last_old_answer_to_first_new_one() {
        let samples = [
            s(0, Some("n1")),
            s(10, Some("n1")),
            s(20, None),
            s(30, None),
            s(40, Some("n3")),
            s(50, Some("n3")),
        ];
        let o = Outage::measure(&samples, Duration::from_millis(15), "n3");
        assert_eq!(o.duration(), Some(Duration::from_millis(30)));
        assert_eq!(o.failed_probes, 2);
        let never = Outage::measure(&samples, Duration::ZERO, "n2");
        assert_eq!(never.duration(), None);
        assert_eq!(
            longest_gap(&samples, Duration::from_millis(15)),
            Duration::from_millis(30)
        );
        assert_eq!(
            longest_gap(&samples[..4], Duration::from_millis(15)),
            Duration::from_millis(20)
        );
    }
}
