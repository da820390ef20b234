//! Domain vocabulary shared by the codec, the configuration and the engine.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An OSPF router id. srrd names nodes by their router id: it is what the
/// LSDB carries as advertising router and what REACHABLE_CHANGE reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct RouterId(pub u32);

impl fmt::Display for RouterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Ipv4Addr::from(self.0).fmt(f)
    }
}

impl FromStr for RouterId {
    type Err = std::net::AddrParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<Ipv4Addr>().map(|a| RouterId(u32::from(a)))
    }
}

impl From<RouterId> for String {
    fn from(r: RouterId) -> String {
        r.to_string()
    }
}

impl TryFrom<String> for RouterId {
    type Error = std::net::AddrParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// Milliseconds. The engine never reads a clock: the caller passes `now`
/// with every event (monotonic ms anchored to the wall clock in the daemon, simulated ms in the sim).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    pub fn plus_ms(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }
    pub fn since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Flooding scope ("cluster radius"): selects the opaque LSA type.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Link,
    #[default]
    Area,
    As,
}

impl Scope {
    /// RFC 5250 opaque LSA type for this scope.
    pub fn lsa_type(self) -> u8 {
        match self {
            Scope::Link => 9,
            Scope::Area => 10,
            Scope::As => 11,
        }
    }
    pub fn from_lsa_type(t: u8) -> Option<Scope> {
        match t {
            9 => Some(Scope::Link),
            10 => Some(Scope::Area),
            11 => Some(Scope::As),
            _ => None,
        }
    }
}

/// A service has addresses (VIPs) and is reached by routing; a resource
/// has none and is used locally by services (e.g. a disk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    #[default]
    Service,
    Resource,
}

/// Configuration state (docs/architecture.md). Only `Active` is flooded as such;
/// the LSA of a node in any other state is flushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigState {
    Disabled,
    Inactive,
    Injected,
    Active,
    Deactivated,
    Failed,
}

/// Run state (docs/architecture.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Stopped,
    Starting,
    Started,
    Stopping,
    Failed,
}

impl fmt::Display for ConfigState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigState::Disabled => "disabled",
            ConfigState::Inactive => "inactive",
            ConfigState::Injected => "injected",
            ConfigState::Active => "active",
            ConfigState::Deactivated => "deactivated",
            ConfigState::Failed => "failed",
        })
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Stopped => "stopped",
            RunState::Starting => "starting",
            RunState::Started => "started",
            RunState::Stopping => "stopping",
            RunState::Failed => "failed",
        })
    }
}

/// The service primitives (docs/primitives.md): targets of the service's Makefile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Primitive {
    Activate,
    Deactivate,
    Start,
    Stop,
    Reload,
    Restart,
    Join,
    Leave,
    Failed,
    Status,
    Check,
}

impl Primitive {
    pub const ALL: [Primitive; 11] = [
        Primitive::Activate,
        Primitive::Deactivate,
        Primitive::Start,
        Primitive::Stop,
        Primitive::Reload,
        Primitive::Restart,
        Primitive::Join,
        Primitive::Leave,
        Primitive::Failed,
        Primitive::Status,
        Primitive::Check,
    ];
    pub fn target(self) -> &'static str {
        match self {
            Primitive::Activate => "activate",
            Primitive::Deactivate => "deactivate",
            Primitive::Start => "start",
            Primitive::Stop => "stop",
            Primitive::Reload => "reload",
            Primitive::Restart => "restart",
            Primitive::Join => "join",
            Primitive::Leave => "leave",
            Primitive::Failed => "failed",
            Primitive::Status => "status",
            Primitive::Check => "check",
        }
    }
}

impl fmt::Display for Primitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.target())
    }
}

/// Why a service failed. Codes below 256 are a primitive's own exit code;
/// the named ones are srrd's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Failure {
    pub code: u32,
    pub text: String,
}

impl Failure {
    pub const PRIMITIVE_TIMEOUT: u32 = 1001;
    pub const INJECTION_FAILED: u32 = 1002;
    pub const ECHO_TIMEOUT: u32 = 1003;
    pub const DEPENDENCY_FAILED: u32 = 1004;
    pub const GROUP_CRITICAL_FAILED: u32 = 1005;
    pub const LSA_TOO_LARGE: u32 = 1006;

    /// Longest failure text the LSA carries (docs/protocol.md, FAILURE).
    pub const MAX_TEXT: usize = 255;

    /// A failure; the text is cut to [`Failure::MAX_TEXT`] bytes so it
    /// always fits the LSA.
    pub fn new(code: u32, text: impl Into<String>) -> Failure {
        let mut text = text.into();
        if text.len() > Self::MAX_TEXT {
            let mut end = Self::MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Failure { code, text }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "code {}: {}", self.code, self.text)
    }
}
