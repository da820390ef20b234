//! Northbound: the HTTPS JSON API (docs/api.md, docs/openapi.yaml) — one
//! more thin shell around the engine. The server runs in its own tasks;
//! it asks the daemon's task for every change through [`Request`]s (each
//! with a oneshot reply) and reads the cluster view the daemon publishes
//! after every engine step.

mod api;
pub mod client;
pub mod edit;
mod identity;
pub mod pki;
mod server;
pub mod tls;
pub mod ui;
mod view;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{error, info};

use crate::config::{Config, RoleMap, WebSettings};
use crate::engine::{Command, Engine};
use crate::lsa::ClusterKey;
use crate::primitives::Invocation;
pub use edit::{ConfigEdit, EditError};
pub use identity::{Identity, Role};
pub use view::ClusterView;

/// What the daemon's task is asked to do.
pub enum Request {
    /// An operator command; `clear_failed` sends `activate` only to a
    /// service that is failed here (docs/operating.md).
    Command {
        command: Command,
        clear_failed: bool,
        reply: oneshot::Sender<Decision>,
    },
    /// A change of the configuration file, applied as SIGHUP applies it.
    Edit {
        edit: ConfigEdit,
        reply: oneshot::Sender<Result<Applied, EditError>>,
    },
    /// The engine's preview of a command; nothing is sent.
    WhatIf {
        command: Command,
        reply: oneshot::Sender<crate::engine::WhatIf>,
    },
    /// The `status` primitive to run for a service (`None`: no such service).
    Status {
        service: String,
        reply: oneshot::Sender<Option<Invocation>>,
    },
}

/// What the engine decided about a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Accepted,
    Rejected(String),
    UnknownService,
}

/// A saved configuration change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// `service.field` changes the running daemon takes only on restart.
    pub needs_restart: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// What SIGHUP reloads: the TLS material and the role map.
pub(crate) struct Reloadable {
    pub tls: Arc<rustls::ServerConfig>,
    pub roles: RoleMap,
}

fn load(web: &WebSettings) -> Result<Reloadable, tls::TlsError> {
    Ok(Reloadable {
        tls: Arc::new(tls::server_config(&web.cert, &web.key, &web.client_ca)?),
        roles: web.roles.clone(),
    })
}

/// The daemon's end of the web server.
pub struct Shell {
    requests: mpsc::Receiver<Request>,
    view: watch::Sender<ClusterView>,
    reloadable: Arc<RwLock<Arc<Reloadable>>>,
    node_name: String,
    advertised: Option<std::net::SocketAddr>,
}

impl Shell {
    /// Binds `node.web_listen` and serves; `None` if there is no `[web]`.
    pub async fn start(
        config: &Config,
        config_path: &Path,
        cluster_key: Option<ClusterKey>,
    ) -> Result<Option<Shell>, WebError> {
        let (Some(addr), Some(web)) = (config.node.web_listen, config.web.as_ref()) else {
            return Ok(None);
        };
        let reloadable = Arc::new(RwLock::new(Arc::new(load(web)?)));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| WebError::Listen { addr, source })?;
        let (request_tx, requests) = mpsc::channel(64);
        let (view, view_rx) = watch::channel(ClusterView::default());
        let context = Arc::new(api::Context {
            requests: request_tx,
            view: view_rx,
            config_path: PathBuf::from(config_path),
            ospf_api: config.node.ospf_api,
            cluster_key,
            vtysh: crate::glass::Vtysh::from_node(&config.node),
        });
        info!(%addr, "HTTPS API listening");
        tokio::spawn(tracing::Instrument::in_current_span(server::serve(
            listener,
            reloadable.clone(),
            context,
        )));
        Ok(Some(Shell {
            requests,
            view,
            reloadable,
            node_name: config.node.name.clone(),
            advertised: config.web_advertised(),
        }))
    }

    pub async fn next(&mut self) -> Option<Request> {
        self.requests.recv().await
    }

    /// Publishes the engine's view; readers and event streams wake only if
    /// it differs from the last one.
    pub fn publish(&self, engine: &Engine) {
        let new = ClusterView::of(engine, &self.node_name, self.advertised);
        self.view.send_if_modified(|old| {
            let changed = *old != new;
            if changed {
                *old = new;
            }
            changed
        });
    }

    /// SIGHUP: reads the TLS files and the role map again; on error the
    /// running ones stay.
    pub fn reload(&self, web: Option<&WebSettings>) {
        let Some(web) = web else {
            return error!("SIGHUP: [web] removed; the web server stops on restart");
        };
        match load(web) {
            Ok(new) => {
                if let Ok(mut current) = self.reloadable.write() {
                    *current = Arc::new(new);
                    info!("SIGHUP: TLS material and roles reloaded");
                }
            }
            Err(e) => error!(error = %e, "SIGHUP: TLS material invalid, keeping the running one"),
        }
    }
}
