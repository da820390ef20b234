//! The optional plain-HTTP metrics listener (`[node] metrics_listen`, which
//! the configuration allows on loopback only): `GET /metrics` answers the
//! metrics text, anything else 404.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tracing::info;

use super::{Scraper, CONTENT_TYPE};

/// Scrapers are few; more connections than this are closed at once.
const MAX_CONNECTIONS: usize = 8;
/// A connection that has not sent its request headers by then is closed.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// No connection lives longer than this.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
#[error("metrics listener on {addr}: {source}")]
pub struct ListenError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// Binds `addr` (so a taken port fails at startup) and serves in a task.
pub async fn serve(
    addr: SocketAddr,
    scraper: Scraper,
) -> Result<tokio::task::JoinHandle<()>, ListenError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ListenError { addr, source })?;
    info!(%addr, "metrics listener up");
    Ok(tokio::spawn(crate::accept::bounded(
        listener,
        MAX_CONNECTIONS,
        "metrics",
        move |stream, _peer| {
            let scraper = scraper.clone();
            Some(async move {
                let service = service_fn(move |req| answer(req, scraper.clone()));
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service);
                let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
            })
        },
    )))
}

async fn answer(
    req: Request<Incoming>,
    scraper: Scraper,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: StatusCode, content_type: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            content_type.parse().expect("static"),
        );
        r
    };
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "only GET /metrics is served here\n".into(),
        ));
    }
    Ok(match scraper.scrape().await {
        Some(text) => reply(StatusCode::OK, CONTENT_TYPE, text),
        None => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "srrd is shutting down\n".into(),
        ),
    })
}
