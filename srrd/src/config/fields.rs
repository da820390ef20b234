//! Checks of single values shared by the `[node]` and `[[service]]`
//! sections. Each reports into `Diagnostics` and returns the value if it is
//! acceptable.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::diag::Diagnostics;
use super::duration::parse_duration;
use super::model::Handover;
use super::raw::{DurationText, Text};
use crate::model::{Scope, ServiceKind};

/// Longest service, group or node name: names travel in every service LSA.
pub const MAX_NAME_LEN: usize = 64;

/// Whether `name` is a valid service or group name: 1..=64 bytes of
/// `A-Z a-z 0-9 . _ -`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(super) fn name(diag: &mut Diagnostics<'_>, value: &Text, field: &str, what: &str) -> bool {
    let name = value.get_ref();
    let problem = if name.is_empty() {
        format!("{what} name is empty")
    } else if name.len() > MAX_NAME_LEN {
        format!(
            "{what} name is {} bytes long, at most {MAX_NAME_LEN} allowed",
            name.len()
        )
    } else if !is_valid_name(name) {
        format!(
            "invalid {what} name `{}`: use only letters, digits, `.`, `_` and `-`",
            name.escape_debug()
        )
    } else {
        return true;
    };
    diag.error(value.span(), field, problem);
    false
}

/// Durations that must not be zero: a zero timeout or check interval makes no sense.
pub(super) fn positive_duration(
    diag: &mut Diagnostics<'_>,
    value: &Spanned<DurationText>,
    field: &str,
) -> Option<Duration> {
    let d = duration(diag, value, field)?;
    if d.is_zero() {
        diag.error(value.span(), field, "must be greater than zero");
        return None;
    }
    Some(d)
}

pub(super) fn duration(
    diag: &mut Diagnostics<'_>,
    value: &Spanned<DurationText>,
    field: &str,
) -> Option<Duration> {
    let text = &value.get_ref().0;
    match parse_duration(text) {
        Ok(d) => Some(d),
        Err(e) => {
            diag.error(
                value.span(),
                field,
                format!("invalid duration \"{}\": {e}", text.escape_debug()),
            );
            None
        }
    }
}

/// Paths the daemon opens must not depend on its working directory.
pub(super) fn absolute_path(
    diag: &mut Diagnostics<'_>,
    value: &Text,
    field: &str,
) -> Option<PathBuf> {
    let text = value.get_ref();
    if text.is_empty() {
        diag.error(value.span(), field, "path is empty");
        return None;
    }
    if text.contains('\0') {
        diag.error(value.span(), field, "path contains a NUL character");
        return None;
    }
    let path = PathBuf::from(text);
    if !path.is_absolute() {
        diag.error(
            value.span(),
            field,
            format!(
                "path \"{}\" must be absolute (start with /)",
                text.escape_debug()
            ),
        );
        return None;
    }
    Some(path)
}

pub(super) fn socket_address(
    diag: &mut Diagnostics<'_>,
    value: &Text,
    field: &str,
) -> Option<SocketAddr> {
    let text = value.get_ref();
    let problem = match text.parse::<SocketAddr>() {
        Ok(addr) if addr.port() == 0 => "port 0 is not allowed".to_string(),
        Ok(addr) => return Some(addr),
        Err(_) => format!(
            "invalid socket address \"{}\": expected IP:PORT such as \"127.0.0.1:2607\" or \"[::1]:8443\" (host names are not resolved)",
            text.escape_debug()
        ),
    };
    diag.error(value.span(), field, problem);
    None
}

/// A service address: becomes a /32 or /128 host route, so it must be a
/// unicast address a router would forward to.
pub(super) fn service_address(
    diag: &mut Diagnostics<'_>,
    value: &Text,
    field: &str,
) -> Option<IpAddr> {
    let text = value.get_ref();
    let addr: IpAddr = match text.parse() {
        Ok(addr) => addr,
        Err(_) => {
            diag.error(
                value.span(),
                field,
                format!("invalid IP address \"{}\"", text.escape_debug()),
            );
            return None;
        }
    };
    let problem = match addr {
        _ if addr.is_unspecified() => "is the unspecified address",
        _ if addr.is_loopback() => "is a loopback address",
        _ if addr.is_multicast() => "is a multicast address",
        IpAddr::V4(v4) if v4.is_broadcast() => "is the broadcast address",
        IpAddr::V4(v4) if v4.is_link_local() => "is a link-local address",
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => "is a link-local address",
        _ => return Some(addr),
    };
    diag.error(
        value.span(),
        field,
        format!("{addr} {problem}: a service address must be routable unicast"),
    );
    None
}

/// `handover = "break" | "overlap"`.
pub fn handover_from_text(text: &str) -> Option<Handover> {
    match text {
        "break" => Some(Handover::Break),
        "overlap" => Some(Handover::Overlap),
        _ => None,
    }
}

/// The configuration's spelling of a [`Handover`].
pub fn handover_text(handover: Handover) -> &'static str {
    match handover {
        Handover::Break => "break",
        Handover::Overlap => "overlap",
    }
}

/// The configuration's spelling of a [`Scope`].
pub fn scope_text(scope: Scope) -> &'static str {
    match scope {
        Scope::Link => "link",
        Scope::Area => "area",
        Scope::As => "as",
    }
}

pub(super) fn scope_from_text(text: &str) -> Option<Scope> {
    [Scope::Link, Scope::Area, Scope::As]
        .into_iter()
        .find(|&s| scope_text(s) == text)
}

/// The configuration's spelling of a [`ServiceKind`].
pub fn kind_text(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::Service => "service",
        ServiceKind::Resource => "resource",
    }
}

pub(super) fn kind_from_text(text: &str) -> Option<ServiceKind> {
    [ServiceKind::Service, ServiceKind::Resource]
        .into_iter()
        .find(|&k| kind_text(k) == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("web"));
        assert!(is_valid_name("a.b_c-D9"));
        assert!(is_valid_name(&"x".repeat(64)));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name(&"x".repeat(65)));
        assert!(!is_valid_name("a b"));
        assert!(!is_valid_name("a/b"));
        assert!(!is_valid_name("é"));
    }
}
