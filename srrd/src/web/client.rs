//! The API's client (`srrd ctl`): hyper over tokio-rustls with a client
//! certificate, one connection per request.

use std::path::Path;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;

use super::api::CSRF_HEADER;
use super::tls;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    #[error("URL {0:?}: expected https://HOST:PORT")]
    Url(String),
    #[error("connecting to {url}: {what}")]
    Connect { url: String, what: String },
    #[error("{url}: {what}")]
    Http { url: String, what: String },
}

pub struct Client {
    base: String,
    /// `HOST:PORT` as in the URL, for the Host header.
    authority: String,
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
}

impl Client {
    pub fn new(url: &str, ca: &Path, cert: &Path, key: &Path) -> Result<Client, ClientError> {
        let uri: Uri = url.parse().map_err(|_| ClientError::Url(url.to_string()))?;
        if uri.scheme_str() != Some("https") {
            return Err(ClientError::Url(url.to_string()));
        }
        let host = uri
            .host()
            .ok_or_else(|| ClientError::Url(url.to_string()))?;
        Ok(Client {
            base: url.trim_end_matches('/').to_string(),
            authority: uri
                .authority()
                .map_or_else(String::new, |a| a.as_str().to_string()),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port: uri.port_u16().unwrap_or(443),
            tls: Arc::new(tls::client_config(ca, cert, key)?),
        })
    }

    /// One request; state-changing ones carry the CSRF header. Returns
    /// the status and the JSON body (`Null` if the body is not JSON).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), ClientError> {
        let url = format!("{}{path}", self.base);
        let connect_err = |what: String| ClientError::Connect {
            url: url.clone(),
            what,
        };
        let http_err = |e: hyper::Error| ClientError::Http {
            url: url.clone(),
            what: e.to_string(),
        };
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| connect_err(e.to_string()))?;
        let name =
            ServerName::try_from(self.host.clone()).map_err(|e| connect_err(e.to_string()))?;
        let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| connect_err(format!("TLS: {e}")))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http_err)?;
        tokio::spawn(conn);
        let mut builder = hyper::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, self.authority.as_str());
        if method != Method::GET {
            builder = builder.header(CSRF_HEADER, "1");
        }
        let payload = match body {
            Some(v) => {
                builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| connect_err(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(http_err)?;
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(http_err)?
            .to_bytes();
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}
