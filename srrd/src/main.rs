use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ctl;
mod pki;

#[derive(Parser)]
#[command(name = "srrd", version, about = "Service Routing Redundancy Daemon")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a configuration file and print every problem found.
    CheckConfig { file: PathBuf },
    /// Run the daemon on this node (needs ospfd with its OSPF API server).
    Run {
        #[arg(long, short)]
        config: PathBuf,
        /// Log filter, e.g. info, debug, srrd=debug (RUST_LOG overrides).
        #[arg(long, default_value = "info")]
        log: String,
        /// Stop every service the previous run left started, even those
        /// whose `check` passes (by default, after an unclean exit, those
        /// are adopted: kept running, docs/operating.md).
        #[arg(long)]
        no_adopt: bool,
    },
    /// Stop the services an earlier run left started and remove every
    /// configured VIP (before FRR starts and after srrd exits).
    Cleanup {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Print srrd's LSAs from the local ospfd's LSDB, decoded, one JSON line each.
    Lsdb {
        /// ospfd's OSPF API server.
        #[arg(long, default_value = "127.0.0.1:2607")]
        api: std::net::SocketAddr,
        /// Cluster key file, to check HMAC tags.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Run the deterministic multi-node simulator and print a JSON summary.
    Sim(SimArgs),
    /// Talk to a node's HTTPS API with a client certificate.
    Ctl(ctl::CtlArgs),
    /// Create the cluster CA, node server certificates and client certificates.
    Pki(pki::PkiArgs),
}

#[derive(clap::Args)]
struct SimArgs {
    #[arg(long, default_value_t = 8)]
    nodes: usize,
    #[arg(long, default_value_t = 40)]
    services: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated time, e.g. 600s or 10m.
    #[arg(long, default_value = "120s")]
    duration: String,
    /// all, none, or a comma-separated list of: crash, link-cut, partition,
    /// ospfd-loss, srrd-restart, start-failure, start-hang, check-failure, flap, move
    #[arg(long, default_value = "all")]
    faults: String,
    /// Turn the quorum guard on for every service.
    #[arg(long)]
    quorum: bool,
    /// Detect dead peers by BFD (25–175 ms) instead of a 1 s dead interval.
    #[arg(long)]
    bfd: bool,
    /// Flood delay across routers in ms, MIN..MAX (e.g. 5..150); default 2..5.
    #[arg(long, value_name = "MIN..MAX")]
    wan_delay_ms: Option<String>,
    /// MinLSArrival in ms at every receiver (docs/frr.md configures 0).
    #[arg(long, default_value_t = 0)]
    min_arrival_ms: u64,
    /// How long a restarted srrd takes to stop the previous run's leftovers
    /// before its engine starts; `never` leaves them running.
    #[arg(long, default_value = "300")]
    cleanup_ms: String,
    /// At that cleanup, stop every leftover instead of adopting those that
    /// still run (as `srrd run --no-adopt`).
    #[arg(long)]
    no_adopt: bool,
    /// Write every topology event, state change, start, stop and VIP change
    /// as JSON lines to FILE (docs/simulator.md).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Print each invariant violation to stderr.
    #[arg(long)]
    verbose: bool,
}

/// `MIN..MAX` in ms.
fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = s.split_once("..").ok_or("expected MIN..MAX")?;
    let lo: u64 = lo.trim().parse().map_err(|e| format!("{lo:?}: {e}"))?;
    let hi: u64 = hi.trim().parse().map_err(|e| format!("{hi:?}: {e}"))?;
    if lo > hi {
        return Err(format!("{lo} > {hi}"));
    }
    Ok((lo, hi))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { file } => {
            ExitCode::from(srrd::config::check_config_command(&file) as u8)
        }
        Cmd::Sim(args) => run_sim(args),
        Cmd::Run {
            config,
            log,
            no_adopt,
        } => run_daemon(&config, &log, !no_adopt),
        Cmd::Lsdb { api, key } => print_lsdb(api, key.as_deref()),
        Cmd::Cleanup { config } => cleanup(&config),
        Cmd::Ctl(args) => ctl::run(args),
        Cmd::Pki(args) => pki::run(args),
    }
}

/// Colour only on a terminal, and not when NO_COLOR is set (no-color.org).
fn colour(out: &impl std::io::IsTerminal) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    out.is_terminal() && !no_color
}

/// Prints what it cleaned on stdout, problems on stderr; exit 1 if a stop
/// failed or nothing could be cleaned. Primitive output and warnings go to
/// stderr as log lines.
fn cleanup(config: &std::path::Path) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .with_ansi(colour(&std::io::stderr()))
        .init();
    let Some(runtime) = runtime("cleanup") else {
        return ExitCode::FAILURE;
    };
    let cleaned = match runtime.block_on(srrd::daemon::cleanup(config)) {
        Ok(cleaned) => cleaned,
        Err(e) => {
            eprintln!("srrd cleanup: {e}");
            return ExitCode::FAILURE;
        }
    };
    for service in &cleaned.stopped {
        println!("srrd cleanup: stopped {service} (an earlier run had started it)");
    }
    for service in &cleaned.unknown {
        println!("srrd cleanup: {service} was started by an earlier run but is no longer configured; not stopped");
    }
    for addr in &cleaned.vips {
        println!("srrd cleanup: removed VIP {addr}");
    }
    for (service, why) in &cleaned.failed {
        eprintln!("srrd cleanup: stop {service}: {why}");
    }
    if cleaned.stopped.is_empty()
        && cleaned.unknown.is_empty()
        && cleaned.vips.is_empty()
        && cleaned.failed.is_empty()
    {
        println!("srrd cleanup: nothing left over");
    }
    if cleaned.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A current-thread tokio runtime, or None after saying why on stderr.
fn runtime(command: &str) -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("srrd {command}: cannot start the async runtime: {e}");
            None
        }
    }
}

fn print_lsdb(api: std::net::SocketAddr, key: Option<&std::path::Path>) -> ExitCode {
    let key = match key.map(srrd::daemon::read_key).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("srrd lsdb: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime("lsdb") else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(srrd::glass::lsdb(api, key.as_ref())) {
        Ok(db) => {
            let srrd_lsas = db.opaque.iter().filter_map(|o| match &o.content {
                srrd::glass::OpaqueContent::Srrd(e) => Some(e),
                srrd::glass::OpaqueContent::Raw { .. } => None,
            });
            for e in srrd_lsas {
                match serde_json::to_string(e) {
                    Ok(line) => println!("{line}"),
                    Err(err) => eprintln!("srrd lsdb: {err}"),
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("srrd lsdb: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_daemon(config: &std::path::Path, log: &str, adopt: bool) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(log));
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            eprintln!("srrd run: --log {log:?}: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(&std::io::stdout()))
        .init();
    let Some(runtime) = runtime("run") else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(srrd::daemon::run(config, adopt)) {
        Ok(srrd::daemon::Ended::Shutdown) => ExitCode::SUCCESS,
        Ok(srrd::daemon::Ended::Upgrade) => ExitCode::from(srrd::daemon::UPGRADE_EXIT),
        Err(e) => {
            eprintln!("srrd run: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_sim(args: SimArgs) -> ExitCode {
    let duration_ms = match srrd::config::parse_duration(&args.duration) {
        Ok(d) => d.as_millis() as u64,
        Err(e) => {
            eprintln!("srrd sim: --duration {:?}: {e}", args.duration);
            return ExitCode::from(2);
        }
    };
    let faults = match srrd::sim::FaultKind::parse_list(&args.faults) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("srrd sim: --faults: {e}");
            return ExitCode::from(2);
        }
    };
    if args.nodes < 2 || args.services == 0 {
        eprintln!("srrd sim: need --nodes >= 2 and --services >= 1");
        return ExitCode::from(2);
    }
    let wan_delay_ms = match args.wan_delay_ms.as_deref().map(parse_range).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("srrd sim: --wan-delay-ms: {e}");
            return ExitCode::from(2);
        }
    };
    let srrd_cleanup_ms = match args.cleanup_ms.as_str() {
        "never" => None,
        ms => match ms.parse() {
            Ok(ms) => Some(ms),
            Err(e) => {
                eprintln!("srrd sim: --cleanup-ms {ms:?}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let trace = match &args.trace {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(std::io::BufWriter::new(f)),
            Err(e) => {
                eprintln!("srrd sim: --trace {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let config = srrd::sim::SimConfig {
        nodes: args.nodes,
        services: args.services,
        seed: args.seed,
        duration_ms,
        faults,
        quorum: args.quorum,
        bfd: args.bfd,
        wan_delay_ms,
        min_arrival_ms: args.min_arrival_ms,
        srrd_cleanup_ms,
        adopt: !args.no_adopt,
        ..srrd::sim::SimConfig::default()
    };
    let mut cluster = srrd::sim::Cluster::new(config);
    if let Some(out) = trace {
        cluster = cluster.with_trace(Box::new(out));
    }
    let summary = cluster.run();
    if args.verbose {
        for v in &summary.violations {
            eprintln!("violation: {v}");
        }
    }
    match serde_json::to_string(&summary) {
        Ok(line) => println!("{line}"),
        Err(e) => eprintln!("srrd sim: cannot print summary: {e}"),
    }
    if summary.converged && summary.invariant_violations == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
