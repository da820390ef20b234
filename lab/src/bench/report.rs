//! The benchmark's output: a table for people (markdown, ready for
//! docs/benchmarks.md) and a JSON array for tools.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::measure::RunResult;
use super::resources::Usage;
use super::stats::{ms, Stats};
use super::{CrossResult, Options, ScenarioResult};

pub struct Report {
    pub date: String,
    pub machine: String,
    pub load_start: String,
    pub load_end: String,
    pub probe: String,
    pub runs_asked: usize,
    pub results: Vec<ScenarioResult>,
    pub cross: Vec<CrossResult>,
    /// srrd's memory and CPU per node, per phase of the bench.
    pub resources: Vec<(String, BTreeMap<&'static str, Usage>)>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn begin(options: &Options) -> Report {
        Report {
            date: command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            machine: machine(),
            load_start: loadavg(),
            load_end: String::new(),
            probe: options.settings.probe.resolution(),
            runs_asked: options.runs,
            results: Vec::new(),
            cross: Vec::new(),
            resources: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn finish(&mut self, results: Vec<ScenarioResult>) {
        self.results = results;
        self.load_end = loadavg();
    }

    pub fn has_errors(&self) -> bool {
        self.results
            .iter()
            .any(|r| !r.srrd_errors.is_empty() || !r.keepalived_errors.is_empty())
            || self.cross.iter().any(|c| !c.errors.is_empty())
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out += &format!("srrd failover benchmark, {}\n", self.date);
        out += &format!("machine: {}\n", self.machine);
        out += &format!(
            "load average (1/5/15 min): {} at start, {} at end\n",
            self.load_start, self.load_end
        );
        out += &format!("{}\n\n", self.probe);
        out += "outage seen by the client, ms\n\n";
        out += "| scenario | runs | min | median | p90 | max | keepalived median | srrd/keepalived | goal | max ≤ goal |\n";
        out += "|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|\n";
        for r in &self.results {
            let stats = Stats::of(&samples(&r.srrd));
            let kstats = r.keepalived.as_deref().and_then(|k| Stats::of(&samples(k)));
            let cell = |f: fn(&Stats) -> f64| stats.as_ref().map_or("-".into(), |s| ms(f(s)));
            let ratio = match (&stats, &kstats) {
                (Some(s), Some(k)) if k.median > 0.0 => format!("{:.2}", s.median / k.median),
                _ => "-".into(),
            };
            let goal = r.scenario.goal_ms();
            let met = match (goal, &stats) {
                (Some(g), Some(s)) => {
                    if s.max <= g {
                        "yes"
                    } else {
                        "no"
                    }
                }
                _ => "-",
            };
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.scenario.name(),
                stats.map_or(0, |s| s.runs),
                cell(|s| s.min),
                cell(|s| s.median),
                cell(|s| s.p90),
                cell(|s| s.max),
                kstats.map_or("-".into(), |k| ms(k.median)),
                ratio,
                goal.map_or("-".into(), |g| format!("≤ {}", ms(g))),
                met,
            );
        }
        let unrecovered: Vec<String> = self
            .results
            .iter()
            .filter_map(|r| {
                let n = r.srrd.iter().filter(|x| !x.recovered).count();
                (n > 0).then(|| format!("{} ({n} runs)", r.scenario.name()))
            })
            .collect();
        if !unrecovered.is_empty() {
            out += &format!(
                "\nnot recovered within the run's timeout (outage is a lower bound): {}\n",
                unrecovered.join(", ")
            );
        }
        for r in &self.results {
            if let Some(k) = &r.keepalived {
                if let Some(s) = Stats::of(&samples(k)) {
                    out += &format!(
                        "\nkeepalived {} (n1+n2 on LAN A, advert_int {} s): runs {}, min {} / median {} / p90 {} / max {} ms",
                        r.scenario.name(),
                        r.scenario
                            .keepalived_advert()
                            .map_or(0.0, |a| a.as_secs_f64()),
                        s.runs,
                        ms(s.min),
                        ms(s.median),
                        ms(s.p90),
                        ms(s.max)
                    );
                }
            }
        }
        if self.results.iter().any(|r| r.keepalived.is_some()) {
            out += "\n";
        }
        for c in &self.cross {
            out += &format!("\n{}\n", cross_summary(c));
        }
        let errors: Vec<String> = self
            .results
            .iter()
            .flat_map(|r| {
                let name = r.scenario.name();
                r.srrd_errors
                    .iter()
                    .map(move |e| format!("srrd {name}: {e}"))
                    .chain(
                        r.keepalived_errors
                            .iter()
                            .map(move |e| format!("keepalived {name}: {e}")),
                    )
            })
            .chain(self.cross.iter().flat_map(|c| {
                c.errors
                    .iter()
                    .map(move |e| format!("{}: {e}", c.mode.name()))
            }))
            .collect();
        if !errors.is_empty() {
            out += "\nerrors:\n";
            for e in errors {
                out += &format!("  {e}\n");
            }
        }
        if !self.resources.is_empty() {
            out += "\nsrrd per node: RSS MiB (peak) / CPU % of one core\n\n| phase | n1 | n2 | n3 |\n|---|---:|---:|---:|\n";
            for (phase, nodes) in &self.resources {
                let cell = |n: &str| {
                    nodes.get(n).map_or("-".to_string(), |u| {
                        format!(
                            "{:.1} ({:.1}) / {:.2}",
                            u.rss_mib, u.peak_mib, u.cpu_percent
                        )
                    })
                };
                out += &format!(
                    "| {phase} | {} | {} | {} |\n",
                    cell("n1"),
                    cell("n2"),
                    cell("n3")
                );
            }
        }
        for n in &self.notes {
            out += &format!("\nnote: {n}\n");
        }
        out
    }

    /// The JSON array: one object per scenario (keys `scenario`, `runs`,
    /// `min_ms`, `median_ms`, `p90_ms`, `max_ms`, and `keepalived_median_ms`
    /// where keepalived ran it), then one per split keepalived pair, then
    /// one per resources phase (keys `resources`, `nodes`).
    pub fn json(&self) -> Value {
        let mut rows: Vec<Value> = Vec::new();
        for r in &self.results {
            let s = samples(&r.srrd);
            let stats = Stats::of(&s);
            let mut row = stats_json(r.scenario.name(), stats, &s);
            let o = row.as_object_mut().expect("an object");
            o.insert("description".into(), json!(r.scenario.describe()));
            o.insert("goal_ms".into(), json!(r.scenario.goal_ms()));
            o.insert(
                "goal_met".into(),
                json!(r.scenario.goal_ms().zip(stats).map(|(g, s)| s.max <= g)),
            );
            o.insert(
                "unrecovered_runs".into(),
                json!(r.srrd.iter().filter(|x| !x.recovered).count()),
            );
            o.insert("errors".into(), json!(r.srrd_errors));
            o.insert(
                "details".into(),
                Value::Array(r.srrd.iter().map(run_json).collect()),
            );
            if let Some(k) = &r.keepalived {
                let ks = samples(k);
                let kstats = Stats::of(&ks);
                o.insert("keepalived_runs".into(), json!(ks.len()));
                o.insert(
                    "keepalived_median_ms".into(),
                    json!(kstats.map(|k| k.median)),
                );
                o.insert("keepalived_min_ms".into(), json!(kstats.map(|k| k.min)));
                o.insert("keepalived_p90_ms".into(), json!(kstats.map(|k| k.p90)));
                o.insert("keepalived_max_ms".into(), json!(kstats.map(|k| k.max)));
                o.insert("keepalived_samples_ms".into(), json!(ks));
                o.insert(
                    "srrd_over_keepalived".into(),
                    json!(stats
                        .zip(kstats)
                        .filter(|(_, k)| k.median > 0.0)
                        .map(|(s, k)| s.median / k.median)),
                );
                o.insert("keepalived_errors".into(), json!(r.keepalived_errors));
                o.insert(
                    "keepalived_details".into(),
                    Value::Array(k.iter().map(run_json).collect()),
                );
            }
            rows.push(row);
        }
        for c in &self.cross {
            let s: Vec<f64> = c.runs.iter().map(|r| r.result.outage_ms).collect();
            let mut row = stats_json(c.mode.name(), Stats::of(&s), &s);
            let o = row.as_object_mut().expect("an object");
            o.insert(
                "recovered_runs".into(),
                json!(c.runs.iter().filter(|r| r.result.recovered).count()),
            );
            o.insert("observed_ms".into(), json!(c.observed_ms));
            o.insert(
                "lower_bound".into(),
                json!(c.runs.iter().any(|r| !r.result.recovered)),
            );
            o.insert("note".into(), json!(cross_summary(c)));
            o.insert("errors".into(), json!(c.errors));
            o.insert(
                "details".into(),
                Value::Array(
                    c.runs
                        .iter()
                        .map(|r| {
                            let mut d = run_json(&r.result);
                            let m = d.as_object_mut().expect("an object");
                            m.insert("vrrp_states_before".into(), json!(r.states_before));
                            m.insert("vip_on_before".into(), json!(r.vip_before));
                            m.insert("vrrp_states_after".into(), json!(r.states_after));
                            m.insert("vip_on_after".into(), json!(r.vip_after));
                            d
                        })
                        .collect(),
                ),
            );
            rows.push(row);
        }
        for (phase, nodes) in &self.resources {
            let nodes: serde_json::Map<String, Value> = nodes
                .iter()
                .map(|(n, u)| {
                    let usage = json!({
                        "rss_mib": u.rss_mib,
                        "peak_mib": u.peak_mib,
                        "cpu_percent": u.cpu_percent,
                    });
                    (n.to_string(), usage)
                })
                .collect();
            rows.push(json!({ "resources": phase, "nodes": nodes }));
        }
        Value::Array(rows)
    }
}

fn samples(runs: &[RunResult]) -> Vec<f64> {
    runs.iter().map(|r| r.outage_ms).collect()
}

fn stats_json(name: &str, stats: Option<Stats>, samples: &[f64]) -> Value {
    json!({
        "scenario": name,
        "runs": stats.map_or(0, |s| s.runs),
        "min_ms": stats.map(|s| s.min),
        "median_ms": stats.map(|s| s.median),
        "p90_ms": stats.map(|s| s.p90),
        "max_ms": stats.map(|s| s.max),
        "samples_ms": samples,
    })
}

fn run_json(r: &RunResult) -> Value {
    json!({
        "outage_ms": r.outage_ms,
        "recovered": r.recovered,
        "from": r.from,
        "to": r.to,
        "spans_ms": r.spans.iter().map(|s| json!([s.start_ms, s.end_ms])).collect::<Vec<_>>(),
        "failures": r.failures.iter().map(|(k, n)| json!({"kind": k, "count": n})).collect::<Vec<_>>(),
        "baseline_failures": r.baseline_failures,
        "fault_unix_ms": r.fault_unix_ms,
        "fault_steps_ms": r.steps_ms,
        "at_rest_ms": r.rest_ms,
    })
}

/// One line per run for the progress output.
pub fn run_line(r: &RunResult) -> String {
    let spans: Vec<String> = r
        .spans
        .iter()
        .map(|s| format!("{}..{}", ms(s.start_ms), ms(s.end_ms)))
        .collect();
    let failures: Vec<String> = r.failures.iter().map(|(k, n)| format!("{k}×{n}")).collect();
    format!(
        "outage {} ms{} ({} → {}; spans after fault [{}]; {}{})",
        ms(r.outage_ms),
        if r.recovered { "" } else { " NOT RECOVERED" },
        r.from.as_deref().unwrap_or("-"),
        r.to.as_deref().unwrap_or("-"),
        spans.join(", "),
        failures.join(" "),
        if r.baseline_failures > 0 {
            format!("; {} failures before the fault", r.baseline_failures)
        } else {
            String::new()
        }
    )
}

fn cross_summary(c: &CrossResult) -> String {
    let n = c.runs.len();
    let recovered = c.runs.iter().filter(|r| r.result.recovered).count();
    let both_master = c
        .runs
        .iter()
        .filter(|r| r.states_before.values().all(|s| s == "MASTER"))
        .count();
    let n3_took = c
        .runs
        .iter()
        .filter(|r| r.vip_after.contains(&"n3"))
        .count();
    let outages: Vec<String> = c.runs.iter().map(|r| ms(r.result.outage_ms)).collect();
    format!(
        "{}: n1 (LAN A) + n3 (LAN B), n1 crashed, c1 watched for {} ms: {n} runs, {both_master} with both nodes MASTER \
         before the crash, n3 held the VIP after it in {n3_took}, c1 served again in {recovered}; outages [{}] ms{}",
        c.mode.name(),
        ms(c.observed_ms),
        outages.join(", "),
        if recovered < n { " (lower bounds: no answer until the end of the watch)" } else { "" }
    )
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{cores} × {cpu}, kernel {}, {}",
        command_line("uname", &["-r"]),
        command_line(
            "sh",
            &["-c", "/usr/lib/frr/ospfd --version 2>/dev/null | head -n 1"]
        ),
    )
}

pub fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
