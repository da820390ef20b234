//! The file's layout as serde sees it: every value keeps its byte span, and
//! anything that needs a judgement (names, addresses, durations, enums) is
//! read as text so that validation can report all problems, not just the
//! first one serde trips over.

use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use toml::Spanned;

pub(super) type Text = Spanned<String>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [node] table")]
pub(super) struct RawNode {
    pub name: Option<Text>,
    pub router_id: Option<Text>,
    pub vip_interface: Option<Text>,
    pub state_dir: Option<Text>,
    pub cluster_key_file: Option<Text>,
    pub ospf_api: Option<Text>,
    pub web_listen: Option<Text>,
    pub metrics_listen: Option<Text>,
    pub vty_socket_dir: Option<Text>,
    pub delete_grace: Option<Spanned<DurationText>>,
    pub echo_timeout: Option<Spanned<DurationText>>,
    pub recall_interval: Option<Spanned<DurationText>>,
    pub handoff_timeout: Option<Spanned<DurationText>>,
    pub check_refresh: Option<Spanned<DurationText>>,
    pub startup_hold: Option<Spanned<DurationText>>,
    pub restart_grace: Option<Spanned<DurationText>>,
    pub keep_services_on_stop: Option<Spanned<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "the [web] table")]
pub(super) struct RawWeb {
    pub cert: Option<Text>,
    pub key: Option<Text>,
    pub client_ca: Option<Spanned<Vec<Text>>>,
    pub advertise: Option<Text>,
    pub operator_ou: Option<Vec<Text>>,
    pub viewer_ou: Option<Vec<Text>>,
    pub operators: Option<Vec<Text>>,
    pub viewers: Option<Vec<Text>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[service]] table")]
pub(super) struct RawService {
    pub name: Option<Text>,
    pub kind: Option<Text>,
    pub addresses: Option<Spanned<Vec<Text>>>,
    pub preference: Option<Spanned<i64>>,
    pub group: Option<Text>,
    pub depends: Option<Spanned<Vec<Text>>>,
    pub critical: Option<Spanned<bool>>,
    pub scope: Option<Text>,
    pub check_interval: Option<Spanned<DurationText>>,
    pub primitives: Option<Text>,
    pub disabled: Option<Spanned<bool>>,
    pub preempt_delay: Option<Spanned<DurationText>>,
    pub quorum: Option<Spanned<bool>>,
    pub expected_nodes: Option<Spanned<u32>>,
    pub handover: Option<Text>,
    pub handover_overlap: Option<Spanned<DurationText>>,
    pub handover_drain: Option<Spanned<DurationText>>,
    pub timeouts: Option<RawTimeouts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of timeouts ([service.timeouts])"
)]
pub(super) struct RawTimeouts {
    pub activate: Option<Spanned<DurationText>>,
    pub deactivate: Option<Spanned<DurationText>>,
    pub start: Option<Spanned<DurationText>>,
    pub stop: Option<Spanned<DurationText>>,
    pub check: Option<Spanned<DurationText>>,
    pub other: Option<Spanned<DurationText>>,
}

/// A duration as written; parsed by `duration::parse_duration` during
/// validation. Its own type only so that `check_interval = 5` gets a
/// message that says what is expected instead of "expected a string".
#[derive(Debug)]
pub(super) struct DurationText(pub String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit, such as \"5s\" or \"250ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}
