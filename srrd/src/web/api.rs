//! `/api/v1/...`: routes, roles, CSRF, limits, audit (docs/api.md). Every
//! answer is JSON; every refusal is a 4xx with `{"error": ...}` and changes
//! nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request as HttpRequest, Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::edit::{ConfigEdit, EditError};
use super::identity::{Identity, Role};
use super::view::{wall_ms, ClusterView};
use super::{Applied, Decision, Request};
use crate::engine::{Command, PrimitiveResult};
use crate::glass::{self, Vtysh};
use crate::lsa::ClusterKey;
use crate::primitives::Runner;

pub type Body = BoxBody<Bytes, Infallible>;

/// Largest request body.
pub const MAX_BODY: usize = 64 * 1024;
/// For the request body to arrive, and for the daemon to answer.
const BODY_TIMEOUT: Duration = Duration::from_secs(10);
const DAEMON_TIMEOUT: Duration = Duration::from_secs(15);
/// A comment line on idle event streams, so proxies and clients see it alive.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// The header every state-changing request must carry (docs/api.md, CSRF).
pub const CSRF_HEADER: &str = "x-srrd-csrf";

pub(super) struct Context {
    pub requests: mpsc::Sender<Request>,
    pub view: watch::Receiver<ClusterView>,
    pub config_path: PathBuf,
    /// Where the looking glass reads: the local ospfd's API and FRR's vtysh.
    pub ospf_api: SocketAddr,
    pub cluster_key: Option<ClusterKey>,
    pub vtysh: Vtysh,
}

/// A refusal or a result: status and JSON body.
struct Answer(StatusCode, Value);

fn error(status: StatusCode, message: impl Into<String>) -> Answer {
    Answer(status, json!({ "error": message.into() }))
}

fn ok(value: Value) -> Answer {
    Answer(StatusCode::OK, value)
}

fn json_response(Answer(status, value): Answer) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(value.to_string())).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Cluster,
    Events,
    Whoami,
    NodeLoad,
    Service(String),
    ServiceStatus(String),
    ServiceCommand(String, String),
    ServiceMove(String),
    NodeShutdown,
    ConfigServices,
    ConfigService(String),
    ConfigServiceSwitch(String, bool),
    /// With the request's query (`action=..&service=..&node=..`).
    WhatIf(String),
    Lsdb,
    RoutingCommands,
    Routing(String),
}

const COMMANDS: [&str; 7] = [
    "activate",
    "deactivate",
    "enable",
    "disable",
    "start",
    "stop",
    "clear-failed",
];

/// The route, or 404, or 405 with the methods it allows.
fn route(method: &Method, path: &str) -> Result<Route, (StatusCode, &'static str)> {
    let not_found = (StatusCode::NOT_FOUND, "");
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return Err(not_found);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (route, allow) = match parts.as_slice() {
        ["cluster"] => (Route::Cluster, "GET"),
        ["events"] => (Route::Events, "GET"),
        ["whoami"] => (Route::Whoami, "GET"),
        ["node"] => (Route::NodeLoad, "GET"),
        ["services", name] => (Route::Service(name.to_string()), "GET"),
        ["services", name, "status"] => (Route::ServiceStatus(name.to_string()), "GET"),
        ["services", name, "move"] => (Route::ServiceMove(name.to_string()), "POST"),
        ["services", name, command] if COMMANDS.contains(command) => (
            Route::ServiceCommand(name.to_string(), command.to_string()),
            "POST",
        ),
        ["node", "shutdown"] => (Route::NodeShutdown, "POST"),
        ["config", "services"] => (Route::ConfigServices, "GET, POST"),
        ["config", "services", name] => {
            (Route::ConfigService(name.to_string()), "GET, PUT, DELETE")
        }
        ["config", "services", name, "enable"] => {
            (Route::ConfigServiceSwitch(name.to_string(), true), "POST")
        }
        ["config", "services", name, "disable"] => {
            (Route::ConfigServiceSwitch(name.to_string(), false), "POST")
        }
        ["whatif"] => (Route::WhatIf(String::new()), "GET"),
        ["lsdb"] => (Route::Lsdb, "GET"),
        ["routing"] => (Route::RoutingCommands, "GET"),
        ["routing", id] => (Route::Routing(id.to_string()), "GET"),
        _ => return Err(not_found),
    };
    if allow.split(", ").any(|m| m == method.as_str()) {
        Ok(route)
    } else {
        Err((StatusCode::METHOD_NOT_ALLOWED, allow))
    }
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD)
}

/// Why a state-changing request is refused as possibly cross-site:
/// browsers send neither a custom header nor a foreign Origin on a
/// cross-site form post, and we answer no CORS preflight.
fn csrf_problem(headers: &HeaderMap) -> Option<&'static str> {
    if headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Some("missing header X-SRRD-CSRF: 1 (docs/api.md, CSRF)");
    }
    // Without Origin it is no browser's cross-site request.
    let origin = headers.get(hyper::header::ORIGIN)?;
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok());
    match (origin.to_str().ok(), host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(&format!("https://{host}")) => {
            None
        }
        _ => Some("cross-origin request refused: Origin is not this server"),
    }
}

pub(super) async fn handle(
    context: Arc<Context>,
    who: Arc<Identity>,
    req: HttpRequest<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some(page) = super::ui::response(&method, &path) {
        return Ok(page.map(|body| body.boxed()));
    }
    let route = match route(&method, &path) {
        Ok(Route::WhatIf(_)) => Route::WhatIf(req.uri().query().unwrap_or("").to_string()),
        Ok(route) => route,
        Err((StatusCode::METHOD_NOT_ALLOWED, allow)) => {
            let mut response = json_response(error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {path}"),
            ));
            response
                .headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static(allow));
            return Ok(response);
        }
        Err((status, _)) => return Ok(json_response(error(status, format!("no route {path}")))),
    };
    let Some(role) = who.role else {
        let answer = error(
            StatusCode::FORBIDDEN,
            "certificate maps to no role (docs/api.md, Roles)",
        );
        if changes_state(&method) {
            audit(&who, &method, &path, answer.0, "no role");
        }
        return Ok(json_response(answer));
    };
    if !changes_state(&method) {
        return Ok(match route {
            Route::Events => events(&context),
            route => json_response(read(&context, &who, role, route).await),
        });
    }
    if role != Role::Operator {
        let answer = error(StatusCode::FORBIDDEN, "viewers cannot change anything");
        audit(&who, &method, &path, answer.0, "refused: viewer");
        return Ok(json_response(answer));
    }
    if let Some(problem) = csrf_problem(req.headers()) {
        audit(&who, &method, &path, StatusCode::FORBIDDEN, problem);
        return Ok(json_response(error(StatusCode::FORBIDDEN, problem)));
    }
    let answer = match body(req).await {
        Ok(body) => change(&context, &method, route, body).await,
        Err(answer) => answer,
    };
    let outcome = match answer.1.get("error").and_then(|e| e.as_str()) {
        Some(e) => format!("refused: {e}"),
        None => String::from("accepted"),
    };
    audit(&who, &method, &path, answer.0, &outcome);
    Ok(json_response(answer))
}

/// One line per attempted change, accepted or refused, with who asked.
fn audit(who: &Identity, method: &Method, path: &str, status: StatusCode, outcome: &str) {
    let role = who.role.map_or("none", |r| match r {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
    });
    if status.is_success() {
        info!(target: "srrd::audit", subject = %who.subject, %role, %method, %path, status = status.as_u16(), %outcome, "change");
    } else {
        warn!(target: "srrd::audit", subject = %who.subject, %role, %method, %path, status = status.as_u16(), %outcome, "change refused");
    }
}

/// The body as JSON (`Value::Null` if empty), bounded in size and time.
async fn body(req: HttpRequest<Incoming>) -> Result<Value, Answer> {
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(
        BODY_TIMEOUT,
        Limited::new(req.into_body(), MAX_BODY).collect(),
    )
    .await
    .map_err(|_| error(StatusCode::REQUEST_TIMEOUT, "request body too slow"))?;
    let bytes = match collected {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(e) => return Err(error(StatusCode::BAD_REQUEST, format!("request body: {e}"))),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| error(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))
}

async fn read(context: &Context, who: &Identity, role: Role, route: Route) -> Answer {
    let view = context.view.borrow().at(wall_ms());
    match route {
        Route::Cluster => ok(to_value(&view)),
        Route::Whoami => ok(json!({ "subject": who.subject, "role": role })),
        Route::NodeLoad => ok(to_value(&crate::metrics::node_load(
            &mut sysinfo::System::new(),
        ))),
        Route::Service(name) => match view.service(&name) {
            Some(s) => ok(to_value(s)),
            None => not_found(&name),
        },
        Route::ServiceStatus(name) => status(context, &name).await,
        Route::WhatIf(query) => what_if(context, &query).await,
        Route::ConfigServices => match saved_config(context).await {
            Ok(config) => ok(Value::Array(
                config
                    .services
                    .iter()
                    .map(|s| to_value(&s.rendered()))
                    .collect(),
            )),
            Err(answer) => answer,
        },
        Route::ConfigService(name) => match saved_config(context).await {
            Ok(config) => match config.services.iter().find(|s| s.name == name) {
                Some(s) => ok(to_value(&s.rendered())),
                None => not_found(&name),
            },
            Err(answer) => answer,
        },
        Route::Lsdb => match glass::lsdb(context.ospf_api, context.cluster_key.as_ref()).await {
            Ok(db) => ok(to_value(&db)),
            Err(e) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("ospfd's LSDB not readable: {e}"),
            ),
        },
        Route::RoutingCommands => ok(to_value(&glass::COMMANDS)),
        Route::Routing(id) => match glass::routing(&context.vtysh, &id).await {
            Ok(output) => ok(json!({ "id": id, "output": output })),
            Err(e @ glass::RoutingError::Unknown(_)) => error(StatusCode::NOT_FOUND, e.to_string()),
            Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        },
        // Not reached: every other route changes state or streams.
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "not a read"),
    }
}

/// The configuration file as saved, read off the runtime.
async fn saved_config(context: &Context) -> Result<crate::config::Config, Answer> {
    let path = context.config_path.clone();
    match tokio::task::spawn_blocking(move || crate::config::load(&path)).await {
        Ok(Ok(config)) => Ok(config),
        Ok(Err(e)) => Err(error(
            StatusCode::CONFLICT,
            format!("configuration file invalid: {e}"),
        )),
        Err(e) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("configuration file not read: {e}"),
        )),
    }
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn not_found(name: &str) -> Answer {
    Answer(
        StatusCode::NOT_FOUND,
        json!({ "error": format!("no service named {name:?}"), "service": name }),
    )
}

/// Asks the daemon's task and waits for its reply, bounded.
async fn ask<T>(
    context: &Context,
    make: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> Result<T, Answer> {
    let (reply, answer) = oneshot::channel();
    let unavailable = || {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the daemon is not answering",
        )
    };
    context
        .requests
        .send(make(reply))
        .await
        .map_err(|_| unavailable())?;
    match tokio::time::timeout(DAEMON_TIMEOUT, answer).await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(unavailable()),
    }
}

/// Runs the service's `status` primitive with its timeout.
async fn status(context: &Context, name: &str) -> Answer {
    let invocation = match ask(context, |reply| Request::Status {
        service: name.to_string(),
        reply,
    })
    .await
    {
        Ok(Some(inv)) => inv,
        Ok(None) => return not_found(name),
        Err(answer) => return answer,
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut runner = Runner::new(done_tx);
    runner.start(invocation);
    let Some(done) = done_rx.recv().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "status primitive vanished");
    };
    let (result, exit_code) = match done.result {
        PrimitiveResult::Ok => ("ok", 0),
        PrimitiveResult::Failed(code) => ("failed", code),
        PrimitiveResult::Recall => ("recall", crate::primitives::EX_TEMPFAIL as u32),
    };
    ok(json!({
        "service": name,
        "result": result,
        "exit_code": exit_code,
        "output": done.output,
        "elapsed_ms": done.elapsed.as_millis() as u64,
    }))
}

async fn change(context: &Context, method: &Method, route: Route, body: Value) -> Answer {
    match route {
        Route::ServiceCommand(name, command) => {
            let clear_failed = command == "clear-failed";
            match service_command(&command, name) {
                Some(command) => decide(context, command, clear_failed).await,
                None => error(StatusCode::NOT_FOUND, format!("no command {command:?}")),
            }
        }
        Route::ServiceMove(name) => {
            let Some(target) = body.get("node").and_then(|n| n.as_str()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "expected {\"node\": ROUTER_ID or NODE_NAME}",
                );
            };
            let Some(router) = context.view.borrow().find_node(target) else {
                return error(StatusCode::NOT_FOUND, format!("no node named {target:?}"));
            };
            decide(context, Command::MoveTo(name, router), false).await
        }
        Route::NodeShutdown => decide(context, Command::Shutdown, false).await,
        Route::ConfigServices => edit(context, ConfigEdit::Create(body)).await,
        Route::ConfigService(name) if *method == Method::DELETE => {
            edit(context, ConfigEdit::Delete(name)).await
        }
        Route::ConfigService(name) => edit(context, ConfigEdit::Replace(name, body)).await,
        Route::ConfigServiceSwitch(name, enable) => {
            edit(context, ConfigEdit::SetDisabled(name, !enable)).await
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "not a change"),
    }
}

/// The engine command a route's word names for `service`.
fn service_command(word: &str, service: String) -> Option<Command> {
    Some(match word {
        "activate" | "clear-failed" => Command::Activate(service),
        "deactivate" => Command::Deactivate(service),
        "enable" => Command::Enable(service),
        "disable" => Command::Disable(service),
        "start" => Command::Start(service),
        "stop" => Command::Stop(service),
        _ => return None,
    })
}

/// `?action=A&service=S&node=N`: where every affected service would end
/// up (the engine's placement on its current view, docs/lookingglass.md).
/// `action` is `shutdown`, `move` (with `node`, a router id or name) or a
/// service command word.
async fn what_if(context: &Context, query: &str) -> Answer {
    let mut action = None;
    let mut service = None;
    let mut node = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("action", v)) => action = Some(v),
            Some(("service", v)) => service = Some(v.to_string()),
            Some(("node", v)) => node = Some(v),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown query part {pair:?}"),
                )
            }
        }
    }
    let command =
        match (action, service, node) {
            (Some("shutdown"), None, None) => Command::Shutdown,
            (Some("move"), Some(service), Some(node)) => {
                let Some(router) = context.view.borrow().find_node(node) else {
                    return error(StatusCode::NOT_FOUND, format!("no node named {node:?}"));
                };
                Command::MoveTo(service, router)
            }
            (Some(word), Some(service), None) => match service_command(word, service) {
                Some(command) => command,
                None => return error(StatusCode::BAD_REQUEST, format!("no action {word:?}")),
            },
            _ => return error(
                StatusCode::BAD_REQUEST,
                "expected action=shutdown, action=move&service=S&node=N or action=WORD&service=S",
            ),
        };
    match ask(context, |reply| Request::WhatIf { command, reply }).await {
        Ok(preview) => ok(to_value(&preview)),
        Err(answer) => answer,
    }
}

async fn decide(context: &Context, command: Command, clear_failed: bool) -> Answer {
    let text = command.to_string();
    let service = command.service().map(str::to_string);
    match ask(context, |reply| Request::Command {
        command,
        clear_failed,
        reply,
    })
    .await
    {
        Ok(Decision::Accepted) => ok(json!({ "result": "accepted", "command": text })),
        Ok(Decision::Rejected(reason)) => Answer(
            StatusCode::CONFLICT,
            json!({ "error": reason, "result": "rejected", "command": text }),
        ),
        Ok(Decision::UnknownService) => not_found(service.as_deref().unwrap_or("")),
        Err(answer) => answer,
    }
}

async fn edit(context: &Context, edit: ConfigEdit) -> Answer {
    match ask(context, |reply| Request::Edit { edit, reply }).await {
        Ok(Ok(Applied { needs_restart })) => {
            ok(json!({ "result": "saved", "needs_restart": needs_restart }))
        }
        Ok(Err(e)) => {
            let status = match &e {
                EditError::NotFound(_) => StatusCode::NOT_FOUND,
                EditError::Exists(_) | EditError::Active(_) => StatusCode::CONFLICT,
                EditError::Invalid(_) => StatusCode::BAD_REQUEST,
                EditError::File { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let mut body = json!({ "error": e.to_string() });
            if let EditError::Invalid(errors) = &e {
                body["errors"] = to_value(errors);
            }
            Answer(status, body)
        }
        Err(answer) => answer,
    }
}

/// `text/event-stream`: the cluster view now, then at every change.
fn events(context: &Context) -> Response<Body> {
    let mut rx = context.view.clone();
    rx.mark_changed();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let frame = tokio::select! {
            changed = rx.changed() => {
                changed.ok()?;
                let view = rx.borrow_and_update().at(wall_ms());
                format!("event: cluster\ndata: {}\n\n", to_value(&view))
            }
            _ = tokio::time::sleep(KEEPALIVE) => String::from(": keepalive\n\n"),
        };
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(frame))), rx))
    });
    let mut response = Response::new(StreamBody::new(stream).boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(route(&get, "/api/v1/cluster"), Ok(Route::Cluster));
        assert_eq!(
            route(&post, "/api/v1/services/web/clear-failed"),
            Ok(Route::ServiceCommand("web".into(), "clear-failed".into()))
        );
        assert_eq!(
            route(&get, "/api/v1/services/web/stop"),
            Err((StatusCode::METHOD_NOT_ALLOWED, "POST"))
        );
        assert_eq!(
            route(&post, "/api/v1/services/web/explode"),
            Err((StatusCode::NOT_FOUND, ""))
        );
        assert_eq!(route(&get, "/metrics"), Err((StatusCode::NOT_FOUND, "")));
        assert_eq!(
            route(&get, "/api/v1/routing/x"),
            Ok(Route::Routing("x".into()))
        );
        assert_eq!(route(&get, "/api/v1/routing"), Ok(Route::RoutingCommands));
        assert_eq!(route(&get, "/api/v1/lsdb"), Ok(Route::Lsdb));
        assert_eq!(
            route(&get, "/api/v1/whatif"),
            Ok(Route::WhatIf(String::new()))
        );
        assert_eq!(
            route(&Method::DELETE, "/api/v1/config/services/web"),
            Ok(Route::ConfigService("web".into()))
        );
    }

    #[test]
    fn csrf_needs_the_header_and_our_origin() {
        let mut h = HeaderMap::new();
        assert!(csrf_problem(&h).is_some());
        h.insert(CSRF_HEADER, HeaderValue::from_static("1"));
        assert_eq!(csrf_problem(&h), None, "no Origin: not a browser form");
        h.insert(
            hyper::header::HOST,
            HeaderValue::from_static("10.0.0.1:8443"),
        );
        h.insert(
            hyper::header::ORIGIN,
            HeaderValue::from_static("https://10.0.0.1:8443"),
        );
        assert_eq!(csrf_problem(&h), None);
        h.insert(
            hyper::header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(csrf_problem(&h).is_some());
        h.insert(hyper::header::ORIGIN, HeaderValue::from_static("null"));
        assert!(csrf_problem(&h).is_some());
    }
}
