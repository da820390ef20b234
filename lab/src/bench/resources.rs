//! What srrd costs a node (docs/benchmarks.md, "Memory and CPU"): its
//! resident memory and CPU time, read from /proc/PID/status and
//! /proc/PID/stat of the srrd processes the bench runs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One process's counters at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// VmRSS and VmHWM (the peak), in KiB.
    pub rss_kib: u64,
    pub peak_kib: u64,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    pub at: Instant,
}

/// srrd on one node over a stretch of time.
#[derive(Clone, Debug, PartialEq)]
pub struct Usage {
    /// At the end of the stretch, MiB.
    pub rss_mib: f64,
    /// The process's peak, MiB.
    pub peak_mib: f64,
    /// % of one core over the stretch.
    pub cpu_percent: f64,
}

impl Sample {
    pub fn of(pid: u32) -> Option<Sample> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        };
        Some(Sample {
            rss_kib: kib("VmRSS:")?,
            peak_kib: kib("VmHWM:")?,
            cpu_ticks: cpu_ticks(pid)?,
            at: Instant::now(),
        })
    }

    /// The usage from `self` to `later` (the same process).
    pub fn until(&self, later: &Sample) -> Usage {
        let seconds = later.at.duration_since(self.at).as_secs_f64().max(1e-3);
        let ticks = later.cpu_ticks.saturating_sub(self.cpu_ticks) as f64;
        Usage {
            rss_mib: mib(later.rss_kib),
            peak_mib: mib(later.peak_kib),
            cpu_percent: ticks / clock_ticks_per_second() / seconds * 100.0,
        }
    }
}

/// utime + stime of a process, in clock ticks (fields 14 and 15 of
/// stat(5)).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
    // The slice starts at field 3.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

pub fn clock_ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A sample of every process in `pids` (node → pid); fails naming the
/// first that is gone.
pub fn sample_all(
    pids: &BTreeMap<&'static str, u32>,
) -> Result<BTreeMap<&'static str, Sample>, String> {
    pids.iter()
        .map(|(node, &pid)| {
            let sample = Sample::of(pid).ok_or(format!("process {pid} on {node} is gone"))?;
            Ok((*node, sample))
        })
        .collect()
}

/// Per node, the usage from `before` to `after`.
pub fn usage(
    before: &BTreeMap<&'static str, Sample>,
    after: &BTreeMap<&'static str, Sample>,
) -> BTreeMap<&'static str, Usage> {
    before
        .iter()
        .filter_map(|(n, b)| Some((*n, b.until(after.get(n)?))))
        .collect()
}

/// `usage` of `pids` over `window` from now.
pub fn over_window(
    pids: &BTreeMap<&'static str, u32>,
    window: Duration,
) -> Result<BTreeMap<&'static str, Usage>, String> {
    let before = sample_all(pids)?;
    std::thread::sleep(window);
    Ok(usage(&before, &sample_all(pids)?))
}
