//! One `[[service]]` → [`ServiceConfig`], checking what can be checked
//! without looking at the other services.

use std::net::IpAddr;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::diag::Diagnostics;
use super::fields;
use super::model::{Handover, ServiceConfig, Timeouts};
use super::raw::{DurationText, RawService, RawTimeouts};

/// A service that passed its own checks (or not: `diag` says), with the
/// spans the cross-service rules point at.
pub(super) struct CheckedService {
    pub index: usize,
    pub config: ServiceConfig,
    /// False if the name is missing or invalid: such a service takes no part
    /// in the rules that go by name.
    pub name_ok: bool,
    pub header: Range<usize>,
    pub name_span: Range<usize>,
    /// One span per entry of `config.addresses` (invalid ones are dropped).
    pub address_spans: Vec<Range<usize>>,
    pub addresses_span: Option<Range<usize>>,
    /// Entries written in `addresses`, valid or not.
    pub addresses_written: usize,
    /// One span per entry of `config.depends`.
    pub depends_spans: Vec<Range<usize>>,
    pub scope_span: Option<Range<usize>>,
    pub critical_span: Option<Range<usize>>,
}

impl CheckedService {
    pub fn field(&self, key: &str) -> String {
        format!("service[{}].{key}", self.index)
    }

    /// How messages name this service: by name if it has a valid one.
    pub fn label(&self) -> String {
        if self.name_ok {
            format!("`{}`", self.config.name)
        } else {
            format!("service[{}]", self.index)
        }
    }
}

pub(super) fn build_service(
    index: usize,
    header: Range<usize>,
    raw: &RawService,
    diag: &mut Diagnostics<'_>,
) -> CheckedService {
    let field = |key: &str| format!("service[{index}].{key}");
    let mut config = ServiceConfig::new("");
    let mut name_ok = false;
    let mut name_span = header.clone();
    match &raw.name {
        Some(name) => {
            name_ok = fields::name(diag, name, &field("name"), "service");
            config.name = name.get_ref().clone();
            name_span = name.span();
        }
        None => diag.error(
            header.clone(),
            field("name"),
            "missing required setting `name`",
        ),
    }

    if let Some(kind) = &raw.kind {
        match fields::kind_from_text(kind.get_ref()) {
            Some(k) => config.kind = k,
            None => diag.error(
                kind.span(),
                field("kind"),
                format!(
                    "unknown kind \"{}\", expected \"service\" or \"resource\"",
                    kind.get_ref().escape_debug()
                ),
            ),
        }
    }

    let mut address_spans = Vec::new();
    if let Some(addresses) = &raw.addresses {
        for text in addresses.get_ref() {
            if let Some(addr) = fields::service_address(diag, text, &field("addresses")) {
                config.addresses.push(addr);
                address_spans.push(text.span());
            }
        }
    }

    if let Some(pref) = &raw.preference {
        match u8::try_from(*pref.get_ref()) {
            Ok(p) => config.preference = p,
            Err(_) => diag.error(
                pref.span(),
                field("preference"),
                format!("preference {} is out of range 0..=255", pref.get_ref()),
            ),
        }
    }

    if let Some(group) = &raw.group {
        if fields::name(diag, group, &field("group"), "group") {
            config.group = Some(group.get_ref().clone());
        }
    }

    let mut depends_spans = Vec::new();
    if let Some(depends) = &raw.depends {
        for dep in depends.get_ref() {
            config.depends.push(dep.get_ref().clone());
            depends_spans.push(dep.span());
        }
    }

    if let Some(scope) = &raw.scope {
        match fields::scope_from_text(scope.get_ref()) {
            Some(sc) => config.scope = sc,
            None => diag.error(
                scope.span(),
                field("scope"),
                format!(
                    "unknown scope \"{}\", expected \"link\", \"area\" or \"as\"",
                    scope.get_ref().escape_debug()
                ),
            ),
        }
    }

    if let Some(interval) = &raw.check_interval {
        config.check_interval = fields::positive_duration(diag, interval, &field("check_interval"));
    }

    match &raw.primitives {
        Some(path) => {
            if let Some(path) = fields::absolute_path(diag, path, &field("primitives")) {
                config.primitives = path;
            }
        }
        None => diag.error(
            header.clone(),
            field("primitives"),
            "missing required setting `primitives` (absolute path of the service's Makefile or executable)",
        ),
    }

    if let Some(delay) = &raw.preempt_delay {
        if let Some(d) = fields::duration(diag, delay, &field("preempt_delay")) {
            config.preempt_delay = d;
        }
    }
    config.critical = raw.critical.as_ref().is_some_and(|c| *c.get_ref());
    config.disabled = raw.disabled.as_ref().is_some_and(|d| *d.get_ref());
    config.quorum = raw.quorum.as_ref().is_some_and(|q| *q.get_ref());
    config.expected_nodes = raw.expected_nodes.as_ref().map_or(0, |n| *n.get_ref());
    if let Some(handover) = &raw.handover {
        match fields::handover_from_text(handover.get_ref()) {
            Some(h) => config.handover = h,
            None => diag.error(
                handover.span(),
                field("handover"),
                format!(
                    "unknown handover \"{}\", expected \"break\" or \"overlap\"",
                    handover.get_ref().escape_debug()
                ),
            ),
        }
    }
    if let Some(overlap) = &raw.handover_overlap {
        if let Some(d) = fields::positive_duration(diag, overlap, &field("handover_overlap")) {
            config.handover_overlap = d;
        }
    }
    if let Some(drain) = &raw.handover_drain {
        if let Some(d) = fields::duration(diag, drain, &field("handover_drain")) {
            config.handover_drain = d;
        }
    }
    if config.handover == Handover::Overlap && config.addresses.iter().any(IpAddr::is_ipv6) {
        diag.error(
            raw.handover.as_ref().map_or(header.clone(), Spanned::span),
            field("handover"),
            "handover = \"overlap\" is for IPv4 addresses: after the move FRR 8.4's ospf6d keeps routing to the old node too (docs/frr.md, \"An IPv6 VIP that was ECMP stays ECMP\"); use handover = \"break\" with IPv6 addresses",
        );
    }
    if config.handover == Handover::Overlap && config.quorum {
        diag.error(
            header.clone(),
            field("handover"),
            "handover = \"overlap\" runs two copies during a move; a quorum service must never run twice",
        );
    }
    if let Some(timeouts) = &raw.timeouts {
        config.timeouts = build_timeouts(index, timeouts, diag);
    }

    CheckedService {
        index,
        config,
        name_ok,
        header,
        name_span,
        address_spans,
        addresses_span: raw.addresses.as_ref().map(Spanned::span),
        addresses_written: raw.addresses.as_ref().map_or(0, |a| a.get_ref().len()),
        depends_spans,
        scope_span: raw.scope.as_ref().map(Spanned::span),
        critical_span: raw.critical.as_ref().map(Spanned::span),
    }
}

fn build_timeouts(index: usize, raw: &RawTimeouts, diag: &mut Diagnostics<'_>) -> Timeouts {
    let mut timeouts = Timeouts::default();
    let mut set = |slot: &mut Duration, value: &Option<Spanned<DurationText>>, key: &str| {
        if let Some(value) = value {
            let field = format!("service[{index}].timeouts.{key}");
            if let Some(d) = fields::positive_duration(diag, value, &field) {
                *slot = d;
            }
        }
    };
    set(&mut timeouts.activate, &raw.activate, "activate");
    set(&mut timeouts.deactivate, &raw.deactivate, "deactivate");
    set(&mut timeouts.start, &raw.start, "start");
    set(&mut timeouts.stop, &raw.stop, "stop");
    set(&mut timeouts.check, &raw.check, "check");
    set(&mut timeouts.other, &raw.other, "other");
    timeouts
}
