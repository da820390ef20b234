//! Rules that relate services to each other: unique names, dependencies
//! that exist and do not loop, addresses owned by one service, groups that
//! can move as one (docs/configuration.md).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::diag::Diagnostics;
use super::fields::scope_text;
use super::service::CheckedService;
use crate::model::ServiceKind;

/// `declared` holds every service name written in the file, including those
/// of entries that failed their own checks, so that depending on such a
/// service is not also reported as depending on an unknown one.
pub(super) fn check_services(
    services: &[CheckedService],
    declared: &HashSet<&str>,
    diag: &mut Diagnostics<'_>,
) {
    let first_by_name = unique_names(services, diag);
    check_dependencies(services, declared, diag);
    check_dependency_cycles(services, &first_by_name, diag);
    check_addresses(services, diag);
    check_groups(services, diag);
}

/// Map of name → index into `services` of its first definition.
fn unique_names<'s>(
    services: &'s [CheckedService],
    diag: &mut Diagnostics<'_>,
) -> HashMap<&'s str, usize> {
    let mut first_by_name: HashMap<&str, usize> = HashMap::new();
    for (i, service) in services.iter().enumerate().filter(|(_, s)| s.name_ok) {
        match first_by_name.get(service.config.name.as_str()) {
            Some(&first) => {
                let first = &services[first];
                diag.error(
                    service.name_span.clone(),
                    service.field("name"),
                    format!(
                        "duplicate service name `{}`: already defined by service[{}] at line {}",
                        service.config.name,
                        first.index,
                        diag.line_of(first.name_span.start)
                    ),
                );
            }
            None => {
                first_by_name.insert(&service.config.name, i);
            }
        }
    }
    first_by_name
}

fn check_dependencies(
    services: &[CheckedService],
    declared: &HashSet<&str>,
    diag: &mut Diagnostics<'_>,
) {
    for service in services {
        let mut seen = HashSet::new();
        for (dep, span) in service.config.depends.iter().zip(&service.depends_spans) {
            let problem = if service.name_ok && *dep == service.config.name {
                format!("service `{dep}` depends on itself")
            } else if !declared.contains(dep.as_str()) {
                format!("depends on unknown service `{}`", dep.escape_debug())
            } else if !seen.insert(dep.as_str()) {
                format!("`{dep}` is listed twice")
            } else {
                continue;
            };
            diag.error(span.clone(), service.field("depends"), problem);
        }
    }
}

/// Reports each dependency cycle once, at the dependency that closes it.
/// Iterative depth-first search: a long dependency chain in a hostile file
/// must not overflow the stack.
fn check_dependency_cycles(
    services: &[CheckedService],
    first_by_name: &HashMap<&str, usize>,
    diag: &mut Diagnostics<'_>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    /// A service on the current search path.
    struct Frame {
        service: usize,
        /// (dependency's service, index in `depends`), self-dependencies left out.
        edges: Vec<(usize, usize)>,
        next_edge: usize,
    }
    let frame = |i: usize| Frame {
        service: i,
        edges: services[i]
            .config
            .depends
            .iter()
            .enumerate()
            .filter_map(|(k, dep)| first_by_name.get(dep.as_str()).map(|&j| (j, k)))
            .filter(|&(j, _)| j != i)
            .collect(),
        next_edge: 0,
    };
    let mut mark = vec![Mark::New; services.len()];
    let mut roots: Vec<usize> = first_by_name.values().copied().collect();
    roots.sort_unstable();
    for root in roots {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::OnPath;
        let mut path = vec![frame(root)];
        while let Some(top) = path.last_mut() {
            let Some(&(target, dep_index)) = top.edges.get(top.next_edge) else {
                mark[top.service] = Mark::Done;
                path.pop();
                continue;
            };
            top.next_edge += 1;
            let from = top.service;
            match mark[target] {
                Mark::New => {
                    mark[target] = Mark::OnPath;
                    path.push(frame(target));
                }
                Mark::OnPath => {
                    let start = path.iter().position(|f| f.service == target).unwrap_or(0);
                    let cycle: Vec<&str> = path[start..]
                        .iter()
                        .map(|f| f.service)
                        .chain([target])
                        .map(|i| services[i].config.name.as_str())
                        .collect();
                    let service = &services[from];
                    diag.error(
                        service.depends_spans[dep_index].clone(),
                        service.field("depends"),
                        format!("dependency cycle: {}", cycle.join(" -> ")),
                    );
                }
                Mark::Done => {}
            }
        }
    }
}

fn check_addresses(services: &[CheckedService], diag: &mut Diagnostics<'_>) {
    let mut owner: HashMap<IpAddr, (usize, usize)> = HashMap::new();
    for (i, service) in services.iter().enumerate() {
        let addresses_span = service
            .addresses_span
            .clone()
            .unwrap_or(service.header.clone());
        match service.config.kind {
            ServiceKind::Resource if service.addresses_written > 0 => {
                diag.error(
                    addresses_span,
                    service.field("addresses"),
                    "a resource has no addresses: remove `addresses` or set kind = \"service\"",
                );
                continue;
            }
            // Entries that were all invalid have been reported already.
            ServiceKind::Service if service.addresses_written == 0 => {
                diag.error(
                    addresses_span,
                    service.field("addresses"),
                    "a service needs at least one address (or set kind = \"resource\")",
                );
                continue;
            }
            _ => {}
        }
        for (k, (addr, span)) in service
            .config
            .addresses
            .iter()
            .zip(&service.address_spans)
            .enumerate()
        {
            match owner.get(addr) {
                Some(&(j, _)) if j == i => diag.error(
                    span.clone(),
                    service.field("addresses"),
                    format!("address {addr} is listed twice"),
                ),
                Some(&(j, other_k)) => {
                    let other = &services[j];
                    diag.error(
                        span.clone(),
                        service.field("addresses"),
                        format!(
                            "address {addr} is also used by service {} (line {})",
                            other.label(),
                            diag.line_of(other.address_spans[other_k].start)
                        ),
                    );
                }
                None => {
                    owner.insert(*addr, (i, k));
                }
            }
        }
    }
}

fn check_groups(services: &[CheckedService], diag: &mut Diagnostics<'_>) {
    let mut first_member: HashMap<&str, usize> = HashMap::new();
    for (i, service) in services.iter().enumerate() {
        let Some(group) = service.config.group.as_deref() else {
            if service.config.critical {
                diag.error(
                    service
                        .critical_span
                        .clone()
                        .unwrap_or(service.header.clone()),
                    service.field("critical"),
                    "critical = true needs a `group`: a critical member stops its whole group",
                );
            }
            continue;
        };
        let &mut first = first_member.entry(group).or_insert(i);
        let first = &services[first];
        if first.config.scope != service.config.scope {
            diag.error(
                service.scope_span.clone().unwrap_or(service.header.clone()),
                service.field("scope"),
                format!(
                    "service {} in group `{group}` has scope \"{}\" but group member {} (line {}) has \"{}\": a group moves as one and must flood with one scope",
                    service.label(),
                    scope_text(service.config.scope),
                    first.label(),
                    diag.line_of(first.scope_span.as_ref().unwrap_or(&first.header).start),
                    scope_text(first.config.scope),
                ),
            );
        }
    }
}
