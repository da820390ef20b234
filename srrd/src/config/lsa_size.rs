//! A service's flooded state must always fit in one LSA: checked here
//! against the largest payload it can ever have, with the real encoder.

use super::diag::Diagnostics;
use super::service::CheckedService;
use crate::lsa::{self, Payload, ServiceLsa, MAX_PAYLOAD};

/// `keyed`: a cluster key is configured, so every payload carries the tag.
pub(super) fn check_lsa_sizes(
    services: &[CheckedService],
    keyed: bool,
    diag: &mut Diagnostics<'_>,
) {
    for service in services.iter().filter(|s| s.name_ok) {
        let c = &service.config;
        let largest = ServiceLsa::largest(
            &c.name,
            c.kind,
            c.group.as_deref(),
            &c.depends,
            &c.addresses,
        );
        // Any other encode error is a field already reported on its own.
        let Ok(len) = lsa::encoded_len(&Payload::Service(largest), keyed) else {
            continue;
        };
        if len > MAX_PAYLOAD {
            let tag = if keyed { ", HMAC tag included" } else { "" };
            diag.error(
                service.header.clone(),
                format!("service[{}]", service.index),
                format!(
                    "the LSA of service `{}` can grow to {len} bytes (every optional field at its largest{tag}), over the {MAX_PAYLOAD}-byte limit: use fewer addresses or dependencies, or shorter names",
                    c.name
                ),
            );
        }
    }
}
