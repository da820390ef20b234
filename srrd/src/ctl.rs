//! `srrd ctl`: the HTTPS API from the command line (docs/api.md, CLI).
//! Human tables by default, the API's JSON with `--json`.

use std::path::PathBuf;
use std::process::ExitCode;

use hyper::Method;
use serde_json::{json, Value};
use srrd::web::client::Client;

#[derive(clap::Args)]
pub struct CtlArgs {
    /// The node's API, e.g. https://10.255.0.11:8443.
    #[arg(long, env = "SRRD_URL", default_value = "https://127.0.0.1:8443")]
    url: String,
    /// CA certificate the server's certificate must chain to.
    #[arg(long, env = "SRRD_CA")]
    ca: PathBuf,
    /// Client certificate (PEM).
    #[arg(long, env = "SRRD_CERT")]
    cert: PathBuf,
    /// Its private key (PEM).
    #[arg(long, env = "SRRD_KEY")]
    key: PathBuf,
    /// Print the API's JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(clap::Subcommand)]
enum CtlCommand {
    /// Nodes and where each service runs.
    Status,
    /// Every service's state on every node.
    Services,
    /// The `status` primitive's output for a service on this node.
    ServiceStatus {
        service: String,
    },
    Activate {
        service: String,
    },
    Deactivate {
        service: String,
    },
    Enable {
        service: String,
    },
    Disable {
        service: String,
    },
    /// Make this node a candidate again.
    Start {
        service: String,
    },
    /// Stop it here and keep it off this node.
    Stop {
        service: String,
    },
    /// Clear a failure here (sends `activate` to a failed service only).
    ClearFailed {
        service: String,
    },
    /// Hand the running service (and its group) to NODE (name or router id).
    Move {
        service: String,
        node: String,
    },
    /// Stop every service on this node and end srrd there.
    Shutdown,
    /// The local LSDB, decoded (looking glass).
    Lsdb,
    /// Where every affected service would end up: ACTION is move, shutdown or disable.
    WhatIf {
        action: String,
        service: Option<String>,
        node: Option<String>,
    },
}

enum Show {
    Status,
    Services,
    Output,
    Raw,
}

pub fn run(args: CtlArgs) -> ExitCode {
    let post = |service: &str, command: &str| {
        (
            Method::POST,
            format!("/api/v1/services/{service}/{command}"),
            None,
            Show::Raw,
        )
    };
    let (method, path, body, show) = match &args.command {
        CtlCommand::Status => (Method::GET, "/api/v1/cluster".into(), None, Show::Status),
        CtlCommand::Services => (Method::GET, "/api/v1/cluster".into(), None, Show::Services),
        CtlCommand::ServiceStatus { service } => (
            Method::GET,
            format!("/api/v1/services/{service}/status"),
            None,
            Show::Output,
        ),
        CtlCommand::Activate { service } => post(service, "activate"),
        CtlCommand::Deactivate { service } => post(service, "deactivate"),
        CtlCommand::Enable { service } => post(service, "enable"),
        CtlCommand::Disable { service } => post(service, "disable"),
        CtlCommand::Start { service } => post(service, "start"),
        CtlCommand::Stop { service } => post(service, "stop"),
        CtlCommand::ClearFailed { service } => post(service, "clear-failed"),
        CtlCommand::Move { service, node } => (
            Method::POST,
            format!("/api/v1/services/{service}/move"),
            Some(json!({ "node": node })),
            Show::Raw,
        ),
        CtlCommand::Shutdown => (
            Method::POST,
            "/api/v1/node/shutdown".into(),
            None,
            Show::Raw,
        ),
        CtlCommand::Lsdb => (Method::GET, "/api/v1/lsdb".into(), None, Show::Raw),
        CtlCommand::WhatIf {
            action,
            service,
            node,
        } => {
            let mut query = format!("action={action}");
            if let Some(s) = service {
                query.push_str(&format!("&service={s}"));
            }
            if let Some(n) = node {
                query.push_str(&format!("&node={n}"));
            }
            (
                Method::GET,
                format!("/api/v1/whatif?{query}"),
                None,
                Show::Raw,
            )
        }
    };
    let client = match Client::new(&args.url, &args.ca, &args.cert, &args.key) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("srrd ctl: {e}");
            return ExitCode::from(2);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("srrd ctl: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let (status, value) = match runtime.block_on(client.request(method, &path, body.as_ref())) {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("srrd ctl: {e}");
            return ExitCode::from(2);
        }
    };
    if args.json {
        println!("{value}");
    } else if !status.is_success() {
        let error = value["error"].as_str().unwrap_or("");
        eprintln!("srrd ctl: {status}: {error}");
    } else {
        match show {
            Show::Status => print_status(&value),
            Show::Services => print_services(&value),
            Show::Output => print!("{}", value["output"].as_str().unwrap_or("")),
            Show::Raw => match value.get("result").and_then(Value::as_str) {
                Some(result) => println!("{result}: {}", value["command"].as_str().unwrap_or("")),
                None => println!("{value:#}"),
            },
        }
    }
    if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::from("-"),
        Value::String(s) => s.clone(),
        Value::Bool(true) => String::from("yes"),
        Value::Bool(false) => String::from("no"),
        other => other.to_string(),
    }
}

/// The elements of a JSON array (none if it is not one).
fn items(v: &Value) -> impl Iterator<Item = &Value> {
    v.as_array().into_iter().flatten()
}

/// Columns padded to their widest cell.
fn table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// A router id's node name, from the view's node list.
fn node_name(view: &Value, router_id: &Value) -> String {
    items(&view["nodes"])
        .find(|n| n["router_id"] == *router_id)
        .and_then(|n| n["name"].as_str())
        .map_or_else(|| text(router_id), str::to_string)
}

fn print_status(view: &Value) {
    println!(
        "node {} ({}), OSPF API {}",
        text(&view["node"]["name"]),
        text(&view["node"]["router_id"]),
        if view["api_up"] == true { "up" } else { "DOWN" }
    );
    let mut rows = vec![vec![
        "NODE".into(),
        "ROUTER ID".into(),
        "REACHABLE".into(),
        "UI".into(),
    ]];
    for n in items(&view["nodes"]) {
        rows.push(vec![
            text(&n["name"]),
            text(&n["router_id"]),
            text(&n["reachable"]),
            text(&n["web"]),
        ]);
    }
    table(&rows);
    println!();
    let mut rows = vec![vec![
        "SERVICE".into(),
        "GROUP".into(),
        "RUNNING ON".into(),
        "FAILED ON".into(),
    ]];
    for s in items(&view["services"]) {
        let running: Vec<String> = items(&s["running_on"])
            .map(|r| node_name(view, r))
            .collect();
        let failed: Vec<String> = items(&s["nodes"])
            .filter(|n| n["failure"] != Value::Null)
            .map(|n| node_name(view, &n["router_id"]))
            .collect();
        rows.push(vec![
            text(&s["name"]),
            text(&s["group"]),
            if running.is_empty() {
                "NOWHERE".into()
            } else {
                running.join(",")
            },
            if failed.is_empty() {
                "-".into()
            } else {
                failed.join(",")
            },
        ]);
    }
    table(&rows);
}

fn print_services(view: &Value) {
    let mut rows = vec![[
        "SERVICE",
        "NODE",
        "CONFIG",
        "RUN",
        "PREF",
        "STANDBY",
        "CHECK AGE",
        "LSA ID",
        "FAILURE",
    ]
    .map(String::from)
    .to_vec()];
    for s in items(&view["services"]) {
        for n in items(&s["nodes"]) {
            let age = n["check_age_ms"]
                .as_u64()
                .map_or_else(|| "-".into(), |ms| format!("{:.1}s", ms as f64 / 1000.0));
            let failure = match &n["failure"] {
                Value::Null => String::from("-"),
                f => format!("code {}: {}", text(&f["code"]), text(&f["text"])),
            };
            rows.push(vec![
                text(&s["name"]),
                node_name(view, &n["router_id"]),
                text(&n["config"]),
                text(&n["run"]),
                text(&n["preference"]),
                text(&n["standby"]),
                age,
                text(&n["lsa_id"]),
                failure,
            ]);
        }
    }
    table(&rows);
}
