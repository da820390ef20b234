//! `srrd-raid1`: the primitives of srrd's network RAID-1 resource
//! (docs/storage.md). srrd runs it from the resource's Makefile or
//! executable with a primitive name (docs/primitives.md).

use srrd_storage_kit::config::Config;
use srrd_storage_kit::shell::{code, Env, Kit, KitError};
use std::path::PathBuf;

const USAGE: &str = "usage: srrd-raid1 --config FILE [--node NAME] COMMAND
commands: activate deactivate start stop join leave check status force-start
          (reload restart failed: nothing to do)
The node is --node, else SRRD_NODE; join and leave take the peer from SRRD_PEER.";

fn main() {
    std::process::exit(match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("srrd-raid1: {}", e.message);
            e.code
        }
    })
}

fn usage(msg: &str) -> KitError {
    KitError {
        code: code::USAGE,
        message: format!("{msg}\n{USAGE}"),
    }
}

fn run() -> Result<i32, KitError> {
    let mut args = std::env::args().skip(1);
    let (mut config, mut node, mut command) = (None, std::env::var("SRRD_NODE").ok(), None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" | "-c" => {
                config = Some(PathBuf::from(
                    args.next().ok_or_else(|| usage("--config needs a file"))?,
                ))
            }
            "--node" => node = Some(args.next().ok_or_else(|| usage("--node needs a name"))?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(code::OK);
            }
            c if command.is_none() && !c.starts_with('-') => command = Some(c.to_owned()),
            other => return Err(usage(&format!("unexpected argument {other:?}"))),
        }
    }
    let command = command.ok_or_else(|| usage("no command"))?;
    if matches!(command.as_str(), "reload" | "restart" | "failed") {
        return Ok(code::OK);
    }
    let config = config.ok_or_else(|| usage("no --config"))?;
    let cfg = Config::load(&config).map_err(|m| KitError {
        code: code::USAGE,
        message: m,
    })?;
    let node = node.ok_or_else(|| usage("no --node and no SRRD_NODE"))?;
    let me = cfg.node(&node).cloned().ok_or_else(|| {
        usage(&format!(
            "{}: node {node:?} is not in the configuration",
            config.display()
        ))
    })?;
    let state_dir = cfg
        .state_dir
        .clone()
        .or_else(|| std::env::var_os("SRRD_STATE_DIR").map(PathBuf::from))
        .ok_or_else(|| usage("no state_dir in the configuration and no SRRD_STATE_DIR"))?;
    std::fs::create_dir_all(&state_dir).map_err(|e| KitError {
        code: code::COMMAND,
        message: format!("{}: {e}", state_dir.display()),
    })?;
    let env = Env {
        peers: std::env::var("SRRD_PEERS")
            .ok()
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
        peer: std::env::var("SRRD_PEER").ok(),
        service: std::env::var("SRRD_SERVICE").unwrap_or_else(|_| cfg.export.clone()),
    };
    let degraded_fails = cfg.degraded_fails_check;
    let kit = Kit {
        cfg,
        me,
        state_dir,
        env,
    };
    match command.as_str() {
        "activate" => kit.activate(),
        "deactivate" => kit.deactivate(),
        "start" => kit.start(false),
        "force-start" => kit.start(true),
        "stop" => kit.stop(),
        "join" => kit.join(),
        "leave" => kit.leave(),
        "check" => kit.check(degraded_fails),
        "status" => kit.status(),
        other => Err(usage(&format!("unknown command {other:?}"))),
    }
}
