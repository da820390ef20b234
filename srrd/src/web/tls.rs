//! TLS material: PEM files → rustls configurations, with the ring crypto
//! provider only (docs/api.md, TLS).

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {what}")]
    File { path: String, what: String },
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("client CA: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn file_error(path: &Path, what: impl ToString) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// The key's bytes never appear in an error or a log line.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| file_error(path, format!("no usable PEM private key ({e})")))
}

fn roots(ca_files: &[impl AsRef<Path>]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in ca_files {
        for cert in certificates(path.as_ref())? {
            roots.add(cert).map_err(|e| {
                file_error(path.as_ref(), format!("not a usable CA certificate: {e}"))
            })?;
        }
    }
    Ok(roots)
}

/// The server side: our certificate, and a client certificate chaining to
/// one of `client_ca` is mandatory.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: &[impl AsRef<Path>],
) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_ca)?), provider.clone())
            .build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates(cert)?, private_key(key)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side (`srrd ctl`): the server must chain to `ca`; we present
/// `cert` with `key`.
pub fn client_config(ca: &Path, cert: &Path, key: &Path) -> Result<ClientConfig, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(&[ca])?)
        .with_client_auth_cert(certificates(cert)?, private_key(key)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
