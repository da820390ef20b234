//! What can go wrong when srrd puts a VIP on, or takes it off, the interface.
//! Every error names the interface; address errors also name the address
//! with its prefix and carry the kernel's errno, so a log line reads like
//! `add 192.0.2.10/32 on lo: Operation not permitted`.

use std::fmt;
use std::io;
use std::net::IpAddr;

use rtnetlink::packet_core::ErrorMessage;

/// The address change that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VipOp {
    Add,
    Remove,
    /// The local route that keeps a withdrawn or not yet announced VIP
    /// local (docs/vip.md, "Make-before-break").
    AddLocal,
    RemoveLocal,
}

impl fmt::Display for VipOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VipOp::Add => "add",
            VipOp::Remove => "remove",
            VipOp::AddLocal => "add local route",
            VipOp::RemoveLocal => "remove local route",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VipError {
    /// `VipManager::new` must run inside a tokio runtime: the netlink
    /// connection is a task spawned on it.
    #[error("netlink for {interface}: not inside a tokio runtime")]
    NoRuntime { interface: String },

    #[error("netlink for {interface}: cannot open socket: {source}")]
    Connect {
        interface: String,
        #[source]
        source: io::Error,
    },

    #[error("interface {interface} does not exist")]
    NoSuchInterface { interface: String },

    /// Resolving the interface failed for another reason than its absence.
    #[error("look up interface {interface}: {reason}")]
    Lookup {
        interface: String,
        errno: Option<i32>,
        reason: String,
    },

    #[error("list addresses on {interface}: {reason}")]
    List {
        interface: String,
        errno: Option<i32>,
        reason: String,
    },

    /// Adding or removing one address failed; `reason` is the kernel's
    /// errno text when the kernel refused.
    #[error("{op} {addr}/{prefix_len} on {interface}: {reason}")]
    Address {
        op: VipOp,
        interface: String,
        addr: IpAddr,
        prefix_len: u8,
        errno: Option<i32>,
        reason: String,
    },
}

impl VipError {
    /// The kernel's errno (positive, e.g. `libc::EPERM`) if the kernel
    /// refused the request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            VipError::Lookup { errno, .. }
            | VipError::List { errno, .. }
            | VipError::Address { errno, .. } => *errno,
            VipError::Connect { source, .. } => source.raw_os_error(),
            VipError::NoRuntime { .. } | VipError::NoSuchInterface { .. } => None,
        }
    }
}

/// Splits an rtnetlink failure into the kernel's errno (if the kernel
/// answered with one) and a human-readable reason.
pub(crate) fn describe(err: rtnetlink::Error) -> (Option<i32>, String) {
    match err {
        rtnetlink::Error::NetlinkError(ErrorMessage {
            code: Some(code), ..
        }) => {
            let errno = code.get().abs();
            (Some(errno), errno_text(errno))
        }
        other => (None, other.to_string()),
    }
}

/// `strerror(errno)`: the std rendering without its " (os error N)" tail.
pub(crate) fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(tail) => text[..tail].to_string(),
        None => text,
    }
}
