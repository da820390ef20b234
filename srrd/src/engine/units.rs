//! Placement units: services that must run on the same node.
//!
//! An explicit group and every dependency edge join services into one unit
//! (docs/configuration.md: services of one group move together; a service
//! starts after its dependencies, on the same node). The engine places
//! units, not single services.

use std::collections::HashMap;

use crate::config::ServiceConfig;

#[derive(Clone, Debug)]
pub struct Unit {
    /// Service indices, dependencies before dependants.
    pub start_order: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct UnitLayout {
    pub units: Vec<Unit>,
    /// Unit index of each service.
    pub unit_of: Vec<usize>,
    /// Local dependencies of each service (indices).
    pub deps: Vec<Vec<usize>>,
    /// Local dependants of each service (indices).
    pub dependants: Vec<Vec<usize>>,
    /// Whether a failure of the service takes its whole unit off this node.
    pub critical: Vec<bool>,
}

impl UnitLayout {
    pub fn new(services: &[ServiceConfig]) -> UnitLayout {
        let n = services.len();
        let index: HashMap<&str, usize> = services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut deps = vec![Vec::new(); n];
        let mut dependants = vec![Vec::new(); n];
        for (i, s) in services.iter().enumerate() {
            for d in &s.depends {
                // Unknown dependencies are rejected by config validation.
                if let Some(&j) = index.get(d.as_str()) {
                    if j != i && !deps[i].contains(&j) {
                        deps[i].push(j);
                        dependants[j].push(i);
                    }
                }
            }
        }

        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        let union = |a: usize, b: usize, parent: &mut Vec<usize>| {
            let (ra, rb) = (root(parent, a), root(parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        };
        let mut group_first: HashMap<&str, usize> = HashMap::new();
        for (i, s) in services.iter().enumerate() {
            if let Some(g) = &s.group {
                let first = *group_first.entry(g.as_str()).or_insert(i);
                union(first, i, &mut parent);
            }
            for &j in &deps[i] {
                union(i, j, &mut parent);
            }
        }

        let mut unit_of = vec![usize::MAX; n];
        let mut units: Vec<Unit> = Vec::new();
        let mut unit_by_root: HashMap<usize, usize> = HashMap::new();
        for (i, unit) in unit_of.iter_mut().enumerate() {
            let r = root(&mut parent, i);
            *unit = *unit_by_root.entry(r).or_insert_with(|| {
                units.push(Unit {
                    start_order: Vec::new(),
                });
                units.len() - 1
            });
        }
        for unit in units.iter_mut().enumerate() {
            let members: Vec<usize> = (0..n).filter(|&i| unit_of[i] == unit.0).collect();
            unit.1.start_order = topological(&members, &deps);
        }

        let mut critical: Vec<bool> = services
            .iter()
            .map(|s| s.critical || s.group.is_none())
            .collect();
        // What a critical member needs is critical too.
        let mut stack: Vec<usize> = (0..n).filter(|&i| critical[i]).collect();
        while let Some(i) = stack.pop() {
            for &d in &deps[i] {
                if !critical[d] {
                    critical[d] = true;
                    stack.push(d);
                }
            }
        }

        UnitLayout {
            units,
            unit_of,
            deps,
            dependants,
            critical,
        }
    }
}

/// Kahn's algorithm over `members`; a cycle (rejected by config validation)
/// falls back to configuration order for the rest.
fn topological(members: &[usize], deps: &[Vec<usize>]) -> Vec<usize> {
    let mut order = Vec::with_capacity(members.len());
    let mut placed = vec![false; deps.len()];
    loop {
        let before = order.len();
        for &m in members {
            if !placed[m] && deps[m].iter().all(|&d| placed[d]) {
                placed[m] = true;
                order.push(m);
            }
        }
        if order.len() == members.len() {
            return order;
        }
        if order.len() == before {
            order.extend(members.iter().filter(|&&m| !placed[m]));
            return order;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, group: Option<&str>, depends: &[&str], critical: bool) -> ServiceConfig {
        let mut s = ServiceConfig::new(name);
        s.group = group.map(str::to_string);
        s.depends = depends.iter().map(|d| d.to_string()).collect();
        s.critical = critical;
        s
    }

    #[test]
    fn groups_and_dependencies_form_units_in_start_order() {
        let services = vec![
            svc("web", Some("g"), &["disk"], true),
            svc("disk", None, &[], false),
            svc("mail", Some("g"), &[], false),
            svc("dns", None, &[], false),
        ];
        let l = UnitLayout::new(&services);
        assert_eq!(l.units.len(), 2);
        assert_eq!(l.unit_of[0], l.unit_of[1]);
        assert_eq!(l.unit_of[0], l.unit_of[2]);
        assert_ne!(l.unit_of[0], l.unit_of[3]);
        let order = &l.units[l.unit_of[0]].start_order;
        let pos = |i| order.iter().position(|&x| x == i).unwrap();
        assert!(pos(1) < pos(0), "disk starts before web");
        assert_eq!(l.critical, vec![true, true, false, true]);
    }
}
