//! Connections: TLS with a mandatory client certificate, then HTTP/1.1,
//! each bounded (docs/api.md, Limits).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

use super::api::{self, Context};
use super::identity::Identity;
use super::Reloadable;
use crate::accept::WriteStall;

/// Open connections at most; more are closed at once (`accept::bounded`).
pub const MAX_CONNECTIONS: usize = 64;
/// For the TLS handshake, and for each request's head.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that takes no byte of a response (or of the event stream) for
/// this long is disconnected.
pub const WRITE_STALL: Duration = Duration::from_secs(10);

pub(super) async fn serve(
    listener: TcpListener,
    reloadable: Arc<RwLock<Arc<Reloadable>>>,
    context: Arc<Context>,
) {
    crate::accept::bounded(listener, MAX_CONNECTIONS, "https", |tcp, _peer| {
        let current = reloadable.read().ok()?.clone();
        Some(connection(tcp, current, context.clone()))
    })
    .await
}

async fn connection(tcp: TcpStream, current: Arc<Reloadable>, context: Arc<Context>) {
    let peer = tcp.peer_addr().ok();
    let acceptor = tokio_rustls::TlsAcceptor::from(current.tls.clone());
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return debug!(?peer, error = %e, "TLS handshake refused"),
        Err(_) => return debug!(?peer, "TLS handshake timed out"),
    };
    let who = match tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
        Some(leaf) => Arc::new(Identity::of(leaf, &current.roles)),
        // The verifier makes a client certificate mandatory.
        None => return,
    };
    let service = service_fn(move |req| api::handle(context.clone(), who.clone(), req));
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(64 * 1024)
        .serve_connection(TokioIo::new(WriteStall::new(tls, WRITE_STALL)), service)
        .await;
    if let Err(e) = served {
        debug!(?peer, error = %e, "HTTPS connection ended");
    }
}
