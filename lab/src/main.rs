//! `srrd-lab`: the containerlab topology `lab/srrd.clab.yml`, built from
//! network namespaces with FRR and srrd from the host, or from containers
//! of the srrd image under a Docker engine of its own (`--runtime docker`),
//! for CI and for machines without containerlab. docs/lab.md.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::{Parser, Subcommand};
use srrd_lab::clab::Topology;
use srrd_lab::cluster::{default_srrd_binary, Cluster, Overrides, RuntimeKind};
use srrd_lab::docker::Engine;
use srrd_lab::netns::Lab;
use srrd_lab::{demo, scenario};

#[derive(Parser)]
#[command(
    name = "srrd-lab",
    version,
    about = "srrd's lab in network namespaces or containers (docs/lab.md)"
)]
struct Cli {
    /// Where the nodes run (up, scenario, demo; the others find out).
    #[arg(long, global = true, value_enum, default_value_t = RuntimeKind::Netns)]
    runtime: RuntimeKind,
    /// The image for `--runtime docker`: a docker-archive from images/build
    /// (default: target/image/srrd.docker.tar, or $SRRD_IMAGE).
    #[arg(long, global = true)]
    image: Option<PathBuf>,
    /// The containerlab topology file.
    #[arg(long, short, global = true)]
    topology: Option<PathBuf>,
    /// The srrd binary (default: next to srrd-lab, or $SRRD_BIN).
    #[arg(long, global = true)]
    srrd: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the lab and leave it running (namespaces lab-<name>-<node>,
    /// and containers of the same names with --runtime docker).
    Up,
    /// Tear the lab down (also what a crashed run left).
    Down,
    /// Nodes, OSPF neighbours, where each service runs, where the logs are.
    Status,
    /// Run a command in a node's namespace, e.g. `exec c1 ip route`.
    Exec {
        node: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Run failover scenarios (`list` names them; `all` runs every one) on
    /// the running lab, or on a lab of their own if none is up.
    Scenario { name: String },
    /// Build the lab, show web failing over from n1 to n3, tear down.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("srrd-lab: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    if let Cmd::Scenario { name } = &cli.command {
        if name == "list" {
            for s in scenario::all() {
                println!("{:<16} {}", s.name, s.about);
            }
            return Ok(());
        }
    }
    let topo = load_topology(cli.topology.as_deref())?;
    let srrd = || cli.srrd.clone().map_or_else(default_srrd_binary, Ok);
    let build = |lab: Lab, topo: Topology| {
        let image = cli.image.as_deref();
        Cluster::build_on(cli.runtime, image, lab, topo, srrd(), Overrides::default())
    };
    match cli.command {
        Cmd::Up => {
            let started = Instant::now();
            let lab = Lab::persistent(&topo.name)?;
            let cluster = build(lab, topo)?;
            println!(
                "lab {} is up after {:.1} s",
                cluster.topo.name,
                started.elapsed().as_secs_f64()
            );
            print!("{}", cluster.status());
            cluster.lab.leave_running();
            Ok(())
        }
        Cmd::Down => {
            if Lab::destroy(&topo.name)? {
                println!("lab {} is down", topo.name);
            } else {
                println!("lab {} was not up", topo.name);
            }
            Ok(())
        }
        Cmd::Status => {
            let cluster = resume(topo, srrd())?;
            print!("{}", cluster.status());
            cluster.lab.leave_running();
            Ok(())
        }
        Cmd::Exec { node, command } => {
            if topo.node(&node).is_none() {
                return Err(format!("no node {node} in {}", topo.path.display()));
            }
            let cluster = resume(topo, srrd())?;
            let args: Vec<&str> = command.iter().map(String::as_str).collect();
            let status = if cluster.in_containers() {
                let out = cluster.run_on(&node, &args);
                print!("{}", String::from_utf8_lossy(&out.stdout));
                eprint!("{}", String::from_utf8_lossy(&out.stderr));
                out.status
            } else {
                Command::new("ip")
                    .args(["netns", "exec", &cluster.lab.ns(&node)])
                    .args(&command)
                    .status()
                    .map_err(|e| format!("ip netns exec: {e}"))?
            };
            cluster.lab.leave_running();
            if status.success() {
                Ok(())
            } else {
                Err(format!("`{}` in {node}: {status}", command.join(" ")))
            }
        }
        Cmd::Scenario { name } => {
            let chosen: Vec<scenario::Scenario> = if name == "all" {
                scenario::all()
            } else {
                vec![scenario::find(&name)
                    .ok_or_else(|| format!("no scenario {name} (srrd-lab scenario list)"))?]
            };
            let up = Lab::is_up(&topo.name);
            let cluster = if up {
                resume(topo, srrd())?
            } else {
                build(Lab::new("srrd-lab scenario"), topo)?
            };
            let mut failed = Vec::new();
            for s in &chosen {
                println!("{}: {}", s.name, s.about);
                match scenario::run(&cluster, s) {
                    Ok(outcome) => println!("  ok  {outcome}"),
                    Err(e) => {
                        println!("  FAILED  {e}");
                        failed.push(s.name);
                    }
                }
            }
            if up {
                cluster.lab.leave_running();
            }
            if failed.is_empty() {
                Ok(())
            } else {
                Err(format!("failed: {}", failed.join(", ")))
            }
        }
        Cmd::Demo => {
            println!(
                "building lab {} from {} ...",
                topo.name,
                topo.path.display()
            );
            let started = Instant::now();
            let cluster = build(Lab::new("srrd-lab demo"), topo)?;
            println!("up after {:.1} s\n", started.elapsed().as_secs_f64());
            let result = demo::run(&cluster);
            println!("\ntearing the lab down");
            drop(cluster);
            result.map(|_| ())
        }
    }
}

/// The running lab; a lab of containers needs no srrd binary on the host.
fn resume(topo: Topology, srrd: Result<PathBuf, String>) -> Result<Cluster, String> {
    let lab = Lab::reattach(&topo.name)?;
    let srrd = if Engine::exists_in(lab.dir()) {
        srrd.unwrap_or_default()
    } else {
        srrd?
    };
    Cluster::resume(lab, topo, srrd)
}

/// `--topology`, else `lab/srrd.clab.yml` under the working dir, else the
/// one next to this crate's sources.
fn load_topology(given: Option<&Path>) -> Result<Topology, String> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => {
            let local = Path::new("lab/srrd.clab.yml");
            if local.exists() {
                local.to_path_buf()
            } else {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("srrd.clab.yml")
            }
        }
    };
    Topology::load(&path).map_err(|problems| problems.join("\n"))
}
