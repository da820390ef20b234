//! srrd-bench: the failover benchmark (docs/benchmarks.md, "Failover
//! outage (lab)"), the steady-state flooding benchmark ("Steady-state
//! flooding (lab)"), the two small tools its lab service is made of, and
//! `tap`, an OSPF API observer that prints srrd's LSA events with times.
//!
//! ```text
//! srrd-bench [--runs N] [--json FILE] [--scenario NAME ...] [--no-keepalived]
//!            [--keepalived-only] [--srrd PATH] [--srrd-log FILTER] [--logs DIR] [--tap]
//!            [--runtime netns|docker] [--image ARCHIVE]
//! srrd-bench flooding [--services N] [--check-interval MS] [--settle S] [--window S]
//!            [--srrd PATH] [--before PATH] [--srrd-log FILTER] [--logs DIR]
//! srrd-bench tap [--api ADDR:PORT]
//! srrd-bench serve --listen ADDR:PORT... --name NAME [--broken-flag FILE] [--pidfile FILE]
//! srrd-bench http-check ADDR:PORT... [--wait-ms N]
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use srrd_lab::bench::cluster::{Runtime, Tools};
use srrd_lab::bench::flooding::{self, FloodOptions};
use srrd_lab::bench::measure::MeasureSettings;
use srrd_lab::bench::server::{serve, ServerConfig};
use srrd_lab::bench::tap;
use srrd_lab::bench::{self, Options, Scenario};
use srrd_lab::cluster::RuntimeKind;
use srrd_lab::netns::Profile;
use srrd_lab::probe::{get_once, ProbeConfig};

const USAGE: &str =
    "usage: srrd-bench [--runs N] [--json FILE] [--scenario NAME ...] [--no-keepalived]
                  [--keepalived-only] [--srrd PATH] [--srrd-log FILTER] [--logs DIR] [--tap]
                  [--runtime netns|docker] [--image ARCHIVE]
       srrd-bench flooding [--services N] [--check-interval MS] [--settle S] [--window S]
                  [--srrd PATH] [--before PATH] [--srrd-log FILTER] [--logs DIR]
       srrd-bench tap [--api ADDR:PORT]
       srrd-bench serve --listen ADDR:PORT... --name NAME [--broken-flag FILE] [--pidfile FILE]
       srrd-bench http-check ADDR:PORT... [--wait-ms N]
       srrd-bench --list

Measures the client-visible outage of srrd's failover scenarios in the
lab of lab/srrd.clab.yml in network namespaces with real FRR (root needed), N runs each, and
keepalived's outage for the cases VRRP can serve. Default: every scenario,
5 runs, keepalived if installed. srrd defaults to the binary next to
srrd-bench (lab/bench builds both). --logs DIR keeps a copy of each lab's
dir (configs, srrd, FRR and keepalived logs; srrd's with --srrd-log);
--tap adds a tap on every node (srrd-bench.out: each srrd LSA event, timed).
--runtime docker runs srrd's lab on containers of the image (--image, default
target/image/srrd.docker.tar or $SRRD_IMAGE, as srrd-lab): their FRR, with
srrd and the service from the host; keepalived's pair stays on namespaces
and the BFD profile (node-crash-bfd, node-crash-ipv6-bfd) needs them.

flooding: N services with /bin/true primitives (default 200, check every
1000 ms) in the same lab; once placed and settled (S s, default 20), each
ospfd's and srrd's CPU over a window (default 60 s) and the srrd LSA
updates seen at r1. --before PATH measures that srrd binary first.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve_command(&args[1..]),
        Some("http-check") => http_check_command(&args[1..]),
        Some("flooding") => flooding_command(&args[1..]),
        Some("tap") => tap_command(&args[1..]),
        Some("--list") => {
            for s in Scenario::ALL {
                println!("{:16} {}", s.name(), s.describe());
            }
            println!(
                "{:16} keepalived pair split across LAN A and LAN B (always run with keepalived)",
                "(keepalived)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        _ => bench_command(&args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("srrd-bench: {e}\n\n{USAGE}");
        ExitCode::from(2)
    })
}

/// The value after `flag`.
fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i)
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn bench_command(args: &[String]) -> Result<ExitCode, String> {
    let mut runs = 5;
    let mut json: Option<PathBuf> = None;
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut keepalived = true;
    let mut keepalived_only = false;
    let mut srrd = bench::default_srrd();
    let mut srrd_log = "info".to_string();
    let mut logs: Option<PathBuf> = None;
    let mut tap = false;
    let mut runtime = Runtime::default();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--runs" => {
                runs = value(args, &mut i, "--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                if runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--json" => json = Some(value(args, &mut i, "--json")?.into()),
            "--scenario" => {
                // --scenario a b c, --scenario a,b or repeated --scenario.
                let mut any = false;
                while args.get(i + 1).is_some_and(|a| !a.starts_with("--")) {
                    i += 1;
                    for name in args[i].split(',').filter(|n| !n.is_empty()) {
                        let s = Scenario::parse(name).ok_or_else(|| {
                            format!("unknown scenario {name:?} (srrd-bench --list)")
                        })?;
                        if !scenarios.contains(&s) {
                            scenarios.push(s);
                        }
                        any = true;
                    }
                }
                if !any {
                    return Err("--scenario needs a name".into());
                }
            }
            "--no-keepalived" => keepalived = false,
            "--keepalived-only" => keepalived_only = true,
            "--srrd" => srrd = value(args, &mut i, "--srrd")?.into(),
            "--srrd-log" => srrd_log = value(args, &mut i, "--srrd-log")?.to_string(),
            "--logs" => logs = Some(value(args, &mut i, "--logs")?.into()),
            "--tap" => tap = true,
            "--runtime" => {
                let v = value(args, &mut i, "--runtime")?;
                runtime.kind = RuntimeKind::from_str(v, false)
                    .map_err(|_| format!("--runtime: want netns or docker, got {v:?}"))?;
            }
            "--image" => runtime.image = Some(value(args, &mut i, "--image")?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
        i += 1;
    }
    if scenarios.is_empty() {
        // Containers run the FRR configs of their binds: no BFD profile.
        scenarios = Scenario::ALL
            .iter()
            .copied()
            .filter(|s| runtime.kind == RuntimeKind::Netns || s.profile() == Profile::Fast)
            .collect();
    }
    if keepalived_only && !keepalived {
        return Err("--keepalived-only and --no-keepalived exclude each other".into());
    }
    if !keepalived_only {
        require_srrd(&srrd)?;
    }
    let bench_exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let options = Options {
        runs,
        scenarios,
        keepalived,
        keepalived_only,
        tools: Tools {
            srrd,
            bench: bench_exe,
            srrd_log,
            tap,
        },
        runtime,
        settings: MeasureSettings::default(),
        logs,
    };
    let report = bench::run(&options);
    println!("{}", report.table());
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
        std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn require_srrd(srrd: &std::path::Path) -> Result<(), String> {
    if srrd.exists() {
        return Ok(());
    }
    Err(format!(
        "no srrd binary at {} (build it: cargo build --release -p srrd, or pass --srrd)",
        srrd.display()
    ))
}

fn secs(v: &str, flag: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag}: want seconds > 0, got {v:?}"))
}

fn flooding_command(args: &[String]) -> Result<ExitCode, String> {
    let mut services = 200;
    let mut check_interval = Duration::from_secs(1);
    let mut settle = Duration::from_secs(20);
    let mut window = Duration::from_secs(60);
    let mut srrd = bench::default_srrd();
    let mut before: Option<PathBuf> = None;
    let mut srrd_log = "info".to_string();
    let mut logs: Option<PathBuf> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--services" => {
                services = value(args, &mut i, "--services")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--services: want a count > 0")?
            }
            "--check-interval" => {
                let v = value(args, &mut i, "--check-interval")?;
                check_interval = Duration::from_millis(
                    v.parse()
                        .map_err(|e| format!("--check-interval (ms): {e}"))?,
                );
            }
            "--settle" => settle = secs(value(args, &mut i, "--settle")?, "--settle")?,
            "--window" => window = secs(value(args, &mut i, "--window")?, "--window")?,
            "--srrd" => srrd = value(args, &mut i, "--srrd")?.into(),
            "--before" => before = Some(value(args, &mut i, "--before")?.into()),
            "--srrd-log" => srrd_log = value(args, &mut i, "--srrd-log")?.to_string(),
            "--logs" => logs = Some(value(args, &mut i, "--logs")?.into()),
            other => return Err(format!("flooding: unknown argument {other:?}")),
        }
        i += 1;
    }
    let mut binaries = Vec::new();
    if let Some(before) = before {
        require_srrd(&before)?;
        binaries.push(("before".to_string(), before));
    }
    require_srrd(&srrd)?;
    binaries.push(("after".to_string(), srrd));
    let options = FloodOptions {
        binaries,
        bench: std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?,
        services,
        check_interval,
        settle,
        window,
        srrd_log,
        logs,
    };
    let rows = flooding::run(&options)?;
    println!("{}", flooding::table(&rows));
    Ok(ExitCode::SUCCESS)
}

fn tap_command(args: &[String]) -> Result<ExitCode, String> {
    let mut api = tap::API;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--api" => api = tap::parse_api(value(args, &mut i, "--api")?)?,
            other => return Err(format!("tap: unknown argument {other:?}")),
        }
        i += 1;
    }
    tap::run(api)?;
    Ok(ExitCode::SUCCESS)
}

fn serve_command(args: &[String]) -> Result<ExitCode, String> {
    let mut listen: Vec<SocketAddr> = Vec::new();
    let mut name: Option<String> = None;
    let mut broken_flag = None;
    let mut pidfile = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--listen" => {
                let v = value(args, &mut i, "--listen")?;
                listen.push(v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?);
            }
            "--name" => name = Some(value(args, &mut i, "--name")?.to_string()),
            "--broken-flag" => broken_flag = Some(value(args, &mut i, "--broken-flag")?.into()),
            "--pidfile" => pidfile = Some(value(args, &mut i, "--pidfile")?.into()),
            other => return Err(format!("serve: unknown argument {other:?}")),
        }
        i += 1;
    }
    if listen.is_empty() {
        return Err("serve needs --listen".into());
    }
    let config = ServerConfig {
        listen,
        name: name.ok_or("serve needs --name")?,
        broken_flag,
        pidfile,
    };
    serve(&config).map_err(|e| format!("serve: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Exit 0 if the server answers 200 at every ADDR:PORT (within --wait-ms,
/// retrying).
fn http_check_command(args: &[String]) -> Result<ExitCode, String> {
    let mut targets: Vec<SocketAddr> = Vec::new();
    let mut wait = Duration::ZERO;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--wait-ms" => {
                let v = value(args, &mut i, "--wait-ms")?;
                wait = Duration::from_millis(v.parse().map_err(|e| format!("--wait-ms: {e}"))?);
            }
            other => targets.push(
                other
                    .parse()
                    .map_err(|e| format!("http-check: {other:?}: {e}"))?,
            ),
        }
        i += 1;
    }
    if targets.is_empty() {
        return Err("http-check needs ADDR:PORT".into());
    }
    let config = ProbeConfig::once(Duration::from_millis(500));
    let deadline = Instant::now() + wait;
    for target in targets {
        loop {
            match get_once(target, &config) {
                Ok(_) => break,
                Err(e) if Instant::now() >= deadline => {
                    eprintln!("http-check {target}: {e}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
