//! `srrd pki`: a cluster CA, server certificates per node and client
//! certificates per person (docs/certificates.md). Keys are ECDSA P-256,
//! written 0600 and never printed.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use super::identity::Role;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {what}")]
    File { path: String, what: String },
    #[error("certificate: {0}")]
    Rcgen(#[from] rcgen::Error),
}

fn file_error(path: &Path, what: impl ToString) -> PkiError {
    PkiError::File {
        path: path.display().to_string(),
        what: what.to_string(),
    }
}

/// Where the CA lives in `dir`.
pub fn ca_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("ca.crt"), dir.join("ca.key"))
}

/// Validity from yesterday (clocks differ) for `days`.
fn validity(params: &mut CertificateParams, days: u32) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(i64::from(days));
}

/// Writes a new file; never overwrites (an existing key may be in use).
fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), PkiError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| file_error(path, e))
}

fn write_pair(dir: &Path, stem: &str, cert: &str, key: &KeyPair) -> Result<PathBuf, PkiError> {
    let cert_path = dir.join(format!("{stem}.crt"));
    let key_path = dir.join(format!("{stem}.key"));
    for path in [&cert_path, &key_path] {
        if path.exists() {
            return Err(file_error(path, "exists already; not overwritten"));
        }
    }
    write_new(&key_path, &key.serialize_pem(), 0o600)?;
    write_new(&cert_path, cert, 0o644)?;
    Ok(cert_path)
}

/// `srrd pki init`: a self-signed cluster CA in `dir`.
pub fn init(dir: &Path, name: &str, days: u32) -> Result<PathBuf, PkiError> {
    std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut params, days);
    let cert = params.self_signed(&key)?;
    write_pair(dir, "ca", &cert.pem(), &key)
}

fn issuer(dir: &Path) -> Result<Issuer<'static, KeyPair>, PkiError> {
    let (cert_path, key_path) = ca_paths(dir);
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| file_error(p, e));
    let key = KeyPair::from_pem(&read(&key_path)?)
        .map_err(|e| file_error(&key_path, format!("not a usable private key: {e}")))?;
    Issuer::from_ca_cert_pem(&read(&cert_path)?, key)
        .map_err(|e| file_error(&cert_path, format!("not a usable CA certificate: {e}")))
}

/// `srrd pki server`: the HTTPS certificate of node `node`, valid for the
/// given IP addresses and DNS names, signed by the CA in `dir`.
pub fn server(dir: &Path, node: &str, sans: &[String], days: u32) -> Result<PathBuf, PkiError> {
    let issuer = issuer(dir)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(sans.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, node);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params, days);
    let cert = params.signed_by(&key, &issuer)?;
    write_pair(dir, node, &cert.pem(), &key)
}

/// `srrd pki issue`: a client certificate for `name` with the role in its
/// OU (what the default `[web]` role map reads).
pub fn client(dir: &Path, name: &str, role: Role, days: u32) -> Result<PathBuf, PkiError> {
    let issuer = issuer(dir)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    let ou = match role {
        Role::Operator => "operator",
        Role::Viewer => "viewer",
    };
    params
        .distinguished_name
        .push(DnType::OrganizationalUnitName, ou);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    validity(&mut params, days);
    let cert = params.signed_by(&key, &issuer)?;
    write_pair(dir, name, &cert.pem(), &key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn init_server_issue_make_files_that_load() {
        let dir = std::env::temp_dir().join(format!("srrd-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        init(&dir, "test CA", 30).expect("init");
        assert!(init(&dir, "again", 30).is_err(), "never overwrites");
        server(&dir, "n1", &["127.0.0.1".into(), "n1.example".into()], 30).expect("server");
        client(&dir, "alice", Role::Operator, 30).expect("client");
        let mode = std::fs::metadata(dir.join("alice.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        super::super::tls::server_config(
            &dir.join("n1.crt"),
            &dir.join("n1.key"),
            &[dir.join("ca.crt")],
        )
        .expect("server config loads");
        super::super::tls::client_config(
            &dir.join("ca.crt"),
            &dir.join("alice.crt"),
            &dir.join("alice.key"),
        )
        .expect("client config loads");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
