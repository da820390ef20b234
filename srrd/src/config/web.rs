//! `[web]` → [`WebSettings`]: the HTTPS UI/API's TLS material and roles.

use std::ops::Range;
use std::path::PathBuf;

use super::diag::Diagnostics;
use super::fields;
use super::model::{RoleMap, WebSettings};
use super::raw::{RawNode, RawWeb, Text};

/// `node` is the raw `[node]`, `listen_ok` whether its `web_listen` is valid
/// (an invalid one is reported already).
pub(super) fn build_web(
    raw: Option<&(Option<RawWeb>, Range<usize>)>,
    node: &RawNode,
    listen_ok: bool,
    diag: &mut Diagnostics<'_>,
) -> Option<WebSettings> {
    let Some((raw, header)) = raw else {
        if let Some(listen) = node.web_listen.as_ref().filter(|_| listen_ok) {
            diag.error(
                listen.span(),
                "node.web_listen",
                "the web server needs a [web] section with cert, key and client_ca",
            );
        }
        return None;
    };
    if node.web_listen.is_none() {
        diag.error(
            header.clone(),
            "web",
            "[web] needs node.web_listen, the address to listen on",
        );
    }
    let raw = raw.as_ref()?;
    let mut path = |value: &Option<Text>, key: &str| -> Option<PathBuf> {
        let field = format!("web.{key}");
        match value {
            Some(value) => fields::absolute_path(diag, value, &field),
            None => {
                diag.error(header.clone(), field, "missing; a PEM file is required");
                None
            }
        }
    };
    let cert = path(&raw.cert, "cert");
    let key = path(&raw.key, "key");
    let mut client_ca = Vec::new();
    match &raw.client_ca {
        Some(list) if list.get_ref().is_empty() => diag.error(
            list.span(),
            "web.client_ca",
            "at least one CA file is required",
        ),
        Some(list) => {
            for ca in list.get_ref() {
                client_ca.extend(fields::absolute_path(diag, ca, "web.client_ca"));
            }
        }
        None => diag.error(
            header.clone(),
            "web.client_ca",
            "missing; list the PEM CA files client certificates must chain to",
        ),
    }
    let advertise = raw
        .advertise
        .as_ref()
        .and_then(|a| fields::socket_address(diag, a, "web.advertise"));
    let defaults = RoleMap::default();
    let words = |list: &Option<Vec<Text>>, default: &[String]| match list {
        Some(list) => list.iter().map(|t| t.get_ref().clone()).collect(),
        None => default.to_vec(),
    };
    let roles = RoleMap {
        operator_ou: words(&raw.operator_ou, &defaults.operator_ou),
        viewer_ou: words(&raw.viewer_ou, &defaults.viewer_ou),
        operators: words(&raw.operators, &[]),
        viewers: words(&raw.viewers, &[]),
    };
    Some(WebSettings {
        cert: cert?,
        key: key?,
        client_ca,
        advertise,
        roles,
    })
}
