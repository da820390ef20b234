//! The interpreter of the single-node golden stories (`*.scn` in
//! tests/scenarios/, syntax in its README.md): a node and its services, then
//! events (`> ...`) each followed by the actions the engine must answer with
//! (`< ...`, in order; timers and logs omitted) and state assertions
//! (`? ...`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use srrd::config::{parse_duration, ServiceConfig};
use srrd::engine::{
    Action, Command, Engine, EngineSettings, Event, LsaRef, OpId, PrimitiveResult, Restored,
};
use srrd::lsa::{self, Payload, ServiceLsa};
use srrd::model::{ConfigState, Failure, Primitive, RouterId, RunState, Scope, ServiceKind, Time};

struct Runner {
    node: RouterId,
    services: Vec<ServiceConfig>,
    settings: EngineSettings,
    engine: Option<Engine>,
    now: Time,
    /// Outstanding primitive runs: (service, primitive) → op.
    ops: HashMap<(String, Primitive), OpId>,
    /// Our originated LSAs not yet echoed, and every id we used → name.
    unechoed: Vec<(LsaRef, Vec<u8>)>,
    own_names: HashMap<LsaRef, String>,
    /// Our current LSA of each service (and "daemon"): id and payload.
    own_current: HashMap<String, (LsaRef, Vec<u8>)>,
    /// Peer LSAs: (peer, service) → (current id, previous id, generation).
    peer_lsas: HashMap<(RouterId, String), (u32, Option<u32>, u64)>,
    next_peer_id: u32,
    /// Our latest flooded claim per service, for `ack=me`.
    own_claims: HashMap<String, u64>,
}

fn fail(file: &str, line: usize, msg: impl std::fmt::Display) -> ! {
    panic!("{file}:{line}: {msg}")
}

impl Runner {
    fn new() -> Runner {
        Runner {
            node: RouterId(0),
            services: Vec::new(),
            settings: EngineSettings {
                node_name: "test".into(),
                // Most stories are not about booting; 14-startup-hold is.
                startup_hold_ms: 0,
                ..EngineSettings::default()
            },
            engine: None,
            now: Time(0),
            ops: HashMap::new(),
            unechoed: Vec::new(),
            own_names: HashMap::new(),
            own_current: HashMap::new(),
            peer_lsas: HashMap::new(),
            next_peer_id: 1,
            own_claims: HashMap::new(),
        }
    }

    fn engine(&mut self) -> &mut Engine {
        if self.engine.is_none() {
            self.engine = Some(Engine::new(
                self.settings.clone(),
                self.services.clone(),
                &Restored::default(),
            ));
        }
        self.engine.as_mut().expect("just built")
    }

    fn declare_service(&mut self, words: &[&str]) -> Result<(), String> {
        let (name, opts) = words.split_first().ok_or("service needs a name")?;
        let mut s = ServiceConfig::new(name);
        for opt in opts {
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            match k {
                "kind" if v == "resource" => s.kind = ServiceKind::Resource,
                "addr" => {
                    for a in v.split(',') {
                        s.addresses
                            .push(a.parse().map_err(|e| format!("addr {a}: {e}"))?);
                    }
                }
                "pref" => s.preference = v.parse().map_err(|e| format!("pref: {e}"))?,
                "group" => s.group = Some(v.to_string()),
                "depends" => s.depends = v.split(',').map(str::to_string).collect(),
                "critical" => s.critical = true,
                "check" => s.check_interval = Some(dur(v)?),
                "preempt" => s.preempt_delay = dur(v)?,
                "quorum" => s.quorum = true,
                "expected" => s.expected_nodes = v.parse().map_err(|e| format!("expected: {e}"))?,
                "disabled" => s.disabled = true,
                "scope" if v == "as" => s.scope = Scope::As,
                "timeout" => {
                    let d = dur(v)?;
                    s.timeouts.start = d;
                    s.timeouts.stop = d;
                    s.timeouts.check = d;
                }
                _ => return Err(format!("unknown service option {opt}")),
            }
        }
        self.services.push(s);
        Ok(())
    }

    fn set(&mut self, words: &[&str]) -> Result<(), String> {
        for w in words {
            let (k, v) = w.split_once('=').ok_or("settings take key=value")?;
            let ms = dur(v)?.as_millis() as u64;
            match k {
                "check_refresh" => self.settings.check_refresh_ms = ms,
                "delete_grace" => self.settings.delete_grace_ms = ms,
                "echo_timeout" => self.settings.echo_timeout_ms = ms,
                "recall_interval" => self.settings.recall_interval_ms = ms,
                "handoff_timeout" => self.settings.handoff_timeout_ms = ms,
                "startup_hold" => self.settings.startup_hold_ms = ms,
                _ => return Err(format!("unknown setting {k}")),
            }
        }
        Ok(())
    }

    /// Turns one `>` line into engine events (usually one).
    fn events(&mut self, words: &[&str]) -> Result<Vec<Event>, String> {
        let (verb, args) = words.split_first().ok_or("empty event")?;
        Ok(match *verb {
            "api-up" => vec![Event::ApiConnected {
                router_id: self.node,
            }],
            "api-down" => vec![Event::ApiLost],
            "lsdb-synced" => vec![Event::LsdbSynced],
            "wait" => {
                let d = dur(args.first().ok_or("wait MS")?)?;
                self.now = self.now.plus_ms(d.as_millis() as u64);
                vec![Event::Timer]
            }
            "reach" => {
                let (mut added, mut removed) = (Vec::new(), Vec::new());
                for a in args {
                    let (sign, id) = a.split_at(1);
                    let id: RouterId = id.parse().map_err(|e| format!("{a}: {e}"))?;
                    if sign == "+" {
                        added.push(id)
                    } else {
                        removed.push(id)
                    }
                }
                vec![Event::Reachability { added, removed }]
            }
            "lsa" => vec![self.peer_lsa(args)?],
            "lsa-delete" => {
                let peer: RouterId = rid(args.first().ok_or("lsa-delete PEER NAME")?)?;
                let name = args.get(1).ok_or("lsa-delete PEER NAME")?.to_string();
                let (cur, prev, _) = *self
                    .peer_lsas
                    .get(&(peer, name.clone()))
                    .ok_or("no such peer LSA")?;
                let id = if args.get(2) == Some(&"prev") {
                    prev.ok_or("no previous id")?
                } else {
                    cur
                };
                vec![Event::LsaDelete {
                    lsa: peer_ref(peer, id),
                }]
            }
            "garbage" => {
                let peer = rid(args.first().ok_or("garbage PEER")?)?;
                vec![Event::LsaUpdate {
                    lsa: peer_ref(peer, 0xfffff0),
                    payload: vec![0x53, 0x52, 0x07, 0xff, 0, 1],
                }]
            }
            // ospfd's refresh of our LSA: DELETE then UPDATE of the same id.
            "own-refresh" | "own-delete" => {
                let name = args.first().ok_or("own-refresh NAME")?.to_string();
                let (lsa, payload) = self
                    .own_current
                    .get(&name)
                    .cloned()
                    .ok_or_else(|| format!("no LSA of ours for {name}"))?;
                let mut events = vec![Event::LsaDelete { lsa }];
                if *verb == "own-refresh" {
                    events.push(Event::LsaUpdate { lsa, payload });
                }
                events
            }
            "echo" => std::mem::take(&mut self.unechoed)
                .into_iter()
                .map(|(lsa, payload)| Event::LsaUpdate { lsa, payload })
                .collect(),
            "done" => {
                let name = args
                    .first()
                    .ok_or("done NAME PRIMITIVE RESULT")?
                    .to_string();
                let prim = primitive(args.get(1).ok_or("done NAME PRIMITIVE RESULT")?)?;
                let op = self
                    .ops
                    .remove(&(name.clone(), prim))
                    .ok_or_else(|| format!("no {prim} running for {name}"))?;
                let result = match args.get(2).copied() {
                    Some("ok") => PrimitiveResult::Ok,
                    Some("recall") => PrimitiveResult::Recall,
                    Some("fail") => PrimitiveResult::Failed(
                        args.get(3)
                            .map_or(Ok(1), |c| c.parse())
                            .map_err(|e| format!("{e}"))?,
                    ),
                    other => return Err(format!("result {other:?}: ok | fail CODE | recall")),
                };
                vec![Event::PrimitiveDone { op, result }]
            }
            "cmd" => vec![Event::Command(command(args)?)],
            _ => return Err(format!("unknown event {verb}")),
        })
    }

    fn peer_lsa(&mut self, args: &[&str]) -> Result<Event, String> {
        let usage =
            "lsa PEER NAME CONFIG/RUN [pref=N] [standby] [critical] [handoff=RID] [failed=CODE] [claim=N] [ack=me|RID:N]";
        let peer = rid(args.first().ok_or(usage)?)?;
        let name = args.get(1).ok_or(usage)?.to_string();
        let (config, run) = args.get(2).and_then(|s| s.split_once('/')).ok_or(usage)?;
        let mut s = ServiceLsa {
            name: name.clone(),
            generation: 0,
            kind: ServiceKind::Service,
            config_state: config_state(config)?,
            run_state: run_state(run)?,
            preference: 100,
            critical: false,
            standby: false,
            handover: false,
            group: None,
            depends: Vec::new(),
            failure: None,
            check_interval_ms: 0,
            check_stamp_ms: 0,
            addresses: Vec::new(),
            handoff_to: None,
            started_at_ms: 0,
            originator: Some(peer),
            claim: None,
            ack: None,
        };
        for opt in &args[3..] {
            let (k, v) = opt.split_once('=').unwrap_or((opt, ""));
            match k {
                "pref" => s.preference = v.parse().map_err(|e| format!("pref: {e}"))?,
                "standby" => s.standby = true,
                "critical" => s.critical = true,
                "handoff" => s.handoff_to = Some(rid(v)?),
                "failed" => s.failure = Some(Failure::new(v.parse().unwrap_or(1), "failed")),
                "gen" => s.generation = v.parse().map_err(|e| format!("gen: {e}"))?,
                "originator" => s.originator = Some(rid(v)?),
                "claim" => s.claim = Some(v.parse().map_err(|e| format!("claim: {e}"))?),
                "ack" if v == "me" => {
                    let claim = self
                        .own_claims
                        .get(&name)
                        .ok_or_else(|| format!("ack=me: we flooded no claim of {name}"))?;
                    s.ack = Some((self.node, *claim));
                }
                "ack" => {
                    let (r, c) = v.split_once(':').ok_or("ack=me or ack=RID:CLAIM")?;
                    s.ack = Some((rid(r)?, c.parse().map_err(|e| format!("ack: {e}"))?));
                }
                _ => return Err(format!("unknown lsa option {opt}")),
            }
        }
        let entry = self.peer_lsas.entry((peer, name)).or_insert((0, None, 0));
        if s.generation == 0 {
            s.generation = entry.2 + 1;
        }
        let id = self.next_peer_id;
        self.next_peer_id += 1;
        *entry = (id, Some(entry.0).filter(|&x| x != 0), s.generation);
        let payload =
            lsa::encode(&Payload::Service(s), Scope::Area, None).map_err(|e| e.to_string())?;
        Ok(Event::LsaUpdate {
            lsa: peer_ref(peer, id),
            payload,
        })
    }

    /// The canonical text of an action, or None for those not compared.
    fn render(&mut self, a: &Action) -> Option<String> {
        Some(match a {
            Action::Originate { lsa, payload } => {
                self.unechoed.push((*lsa, payload.clone()));
                match lsa::decode(payload, lsa.scope, None) {
                    Ok(Payload::Daemon(_)) => {
                        self.own_names.insert(*lsa, "daemon".into());
                        self.own_current
                            .insert("daemon".into(), (*lsa, payload.clone()));
                        "originate daemon".into()
                    }
                    Ok(Payload::Service(s)) => {
                        self.own_names.insert(*lsa, s.name.clone());
                        self.own_current
                            .insert(s.name.clone(), (*lsa, payload.clone()));
                        let mut t =
                            format!("originate {} {}/{}", s.name, s.config_state, s.run_state);
                        if s.standby {
                            t.push_str(" standby");
                        }
                        if let Some(h) = s.handoff_to {
                            let _ = write!(t, " handoff={h}");
                        }
                        if let Some(f) = &s.failure {
                            let _ = write!(t, " failure={}", f.code);
                        }
                        if s.check_stamp_ms != 0 {
                            t.push_str(" checked");
                        }
                        if let Some(c) = s.claim {
                            self.own_claims.insert(s.name.clone(), c);
                            let _ = write!(t, " claim={}", c & 0xffff_ffff);
                        }
                        if let Some((r, c)) = s.ack {
                            let _ = write!(t, " ack={r}:{}", c & 0xffff_ffff);
                        }
                        t
                    }
                    Err(e) => format!("originate <undecodable: {e}>"),
                }
            }
            Action::Flush { lsa } => match self.own_names.get(lsa) {
                Some(n) => format!("flush {n}"),
                None => format!("flush id {}", lsa.opaque_id),
            },
            Action::RunPrimitive(r) => {
                self.ops.insert((r.service.clone(), r.primitive), r.op);
                a.to_string()
            }
            Action::StateChanged {
                service,
                config,
                run,
                failure,
            } => match failure {
                Some(f) => format!("state {service} {config}/{run} failure={}", f.code),
                None => format!("state {service} {config}/{run}"),
            },
            Action::SetTimer { .. } | Action::Log { .. } => return None,
            _ => a.to_string(),
        })
    }

    fn assert_state(&mut self, words: &[&str]) -> Result<(), String> {
        let name = words.first().ok_or("? NAME CONFIG/RUN [standby]")?;
        let st = self
            .engine()
            .service(name)
            .ok_or_else(|| format!("no service {name}"))?;
        let actual = format!(
            "{}/{}{}",
            st.config,
            st.run,
            if st.standby { " standby" } else { "" }
        );
        let expected = words[1..].join(" ");
        if actual != expected {
            return Err(format!("{name} is {actual}, expected {expected}"));
        }
        Ok(())
    }
}

fn dur(s: &str) -> Result<Duration, String> {
    if let Ok(ms) = s.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    parse_duration(s).map_err(|e| format!("{s}: {e}"))
}

fn rid(s: &str) -> Result<RouterId, String> {
    s.parse().map_err(|e| format!("router id {s}: {e}"))
}

fn peer_ref(peer: RouterId, id: u32) -> LsaRef {
    LsaRef {
        adv_router: peer,
        scope: Scope::Area,
        opaque_id: id,
    }
}

fn primitive(s: &str) -> Result<Primitive, String> {
    Primitive::ALL
        .into_iter()
        .find(|p| p.target() == s)
        .ok_or_else(|| format!("unknown primitive {s}"))
}

fn config_state(s: &str) -> Result<ConfigState, String> {
    Ok(match s {
        "active" => ConfigState::Active,
        "failed" => ConfigState::Failed,
        "inactive" => ConfigState::Inactive,
        _ => return Err(format!("config state {s}")),
    })
}

fn run_state(s: &str) -> Result<RunState, String> {
    Ok(match s {
        "stopped" => RunState::Stopped,
        "starting" => RunState::Starting,
        "started" => RunState::Started,
        "stopping" => RunState::Stopping,
        "failed" => RunState::Failed,
        _ => return Err(format!("run state {s}")),
    })
}

fn command(args: &[&str]) -> Result<Command, String> {
    let name = || {
        args.get(1)
            .map(|s| s.to_string())
            .ok_or("command needs a service")
    };
    Ok(match args.first().copied() {
        Some("activate") => Command::Activate(name()?),
        Some("deactivate") => Command::Deactivate(name()?),
        Some("enable") => Command::Enable(name()?),
        Some("disable") => Command::Disable(name()?),
        Some("start") => Command::Start(name()?),
        Some("stop") => Command::Stop(name()?),
        Some("move-to") => Command::MoveTo(name()?, rid(args.get(2).ok_or("move-to NAME RID")?)?),
        Some("shutdown") => Command::Shutdown,
        other => return Err(format!("unknown command {other:?}")),
    })
}

/// Replays one file; returns the file with `<` lines regenerated.
pub fn run_file(path: &Path, update: bool) -> String {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut r = Runner::new();
    let mut out = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let lineno = i + 1;
        let words: Vec<&str> = line.split_whitespace().collect();
        i += 1;
        match words.first().copied() {
            Some("node") => {
                r.node = rid(words.get(1).copied().unwrap_or(""))
                    .unwrap_or_else(|e| fail(&file, lineno, e))
            }
            Some("service") => r
                .declare_service(&words[1..])
                .unwrap_or_else(|e| fail(&file, lineno, e)),
            Some("settings") => r
                .set(&words[1..])
                .unwrap_or_else(|e| fail(&file, lineno, e)),
            Some("?") => r
                .assert_state(&words[1..])
                .unwrap_or_else(|e| fail(&file, lineno, e)),
            Some(">") => {
                out.push_str(line);
                out.push('\n');
                let events = r
                    .events(&words[1..])
                    .unwrap_or_else(|e| fail(&file, lineno, e));
                let now = r.now;
                let mut actual = Vec::new();
                for ev in events {
                    for a in r.engine().handle(now, ev) {
                        if let Some(t) = r.render(&a) {
                            actual.push(t);
                        }
                    }
                }
                let mut expected = Vec::new();
                while i < lines.len() && lines[i].trim_start().starts_with('<') {
                    expected.push(lines[i].trim_start()[1..].trim().to_string());
                    i += 1;
                }
                if !update && actual != expected {
                    fail(
                        &file,
                        lineno,
                        format!(
                            "after `{}`\n  expected:\n    {}\n  actual:\n    {}",
                            line.trim(),
                            expected.join("\n    "),
                            actual.join("\n    ")
                        ),
                    );
                }
                for a in &actual {
                    out.push_str("< ");
                    out.push_str(a);
                    out.push('\n');
                }
                continue;
            }
            Some(w) if !w.starts_with('#') && !w.starts_with('<') => {
                fail(&file, lineno, format!("unknown line kind {w:?}"))
            }
            _ => {}
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
