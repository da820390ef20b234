//! The simulated cluster's services: which nodes run which, with groups,
//! dependencies, checks and symmetric/asymmetric preferences.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::rng::Rng;
use crate::config::{ServiceConfig, Timeouts};
use crate::model::{RouterId, ServiceKind};

/// One placement unit as the simulator generated it.
#[derive(Clone, Debug)]
pub struct UnitSpec {
    pub members: Vec<String>,
    /// Indices of the nodes that configure it.
    pub nodes: Vec<usize>,
    pub preferences: Vec<u8>,
}

impl UnitSpec {
    pub fn symmetric(&self) -> bool {
        self.preferences.windows(2).all(|w| w[0] == w[1])
    }
    pub fn preference_of(&self, node: usize) -> Option<u8> {
        self.nodes
            .iter()
            .position(|&n| n == node)
            .map(|i| self.preferences[i])
    }
}

pub struct Workload {
    pub router_ids: Vec<RouterId>,
    pub lans: Vec<usize>,
    pub per_node: Vec<Vec<ServiceConfig>>,
    pub units: Vec<UnitSpec>,
    pub service_count: usize,
    /// Service → its VIPs (the same on every node).
    pub vips: BTreeMap<String, Vec<IpAddr>>,
}

impl Workload {
    pub fn addresses(&self, service: &str) -> Vec<IpAddr> {
        self.vips.get(service).cloned().unwrap_or_default()
    }
}

pub fn router_id(node: usize) -> RouterId {
    RouterId(u32::from(Ipv4Addr::new(
        10,
        255,
        (node / 250) as u8,
        (node % 250 + 1) as u8,
    )))
}

fn vip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        192,
        0,
        (2 + n / 250) as u8,
        (n % 250 + 1) as u8,
    ))
}

pub fn generate(nodes: usize, services: usize, quorum: bool, rng: &mut Rng) -> Workload {
    let lan_count = (nodes / 8).max(2).min(nodes.max(1));
    let router_ids = (0..nodes).map(router_id).collect();
    let lans = (0..nodes).map(|n| n % lan_count).collect();
    let mut per_node: Vec<Vec<ServiceConfig>> = vec![Vec::new(); nodes];
    let mut units = Vec::new();
    let mut made = 0;
    let mut vips = BTreeMap::new();
    let timeouts = Timeouts {
        activate: Duration::from_secs(2),
        deactivate: Duration::from_secs(2),
        start: Duration::from_secs(2),
        stop: Duration::from_secs(2),
        check: Duration::from_millis(800),
        other: Duration::from_secs(2),
    };
    while made < services {
        let replicas = rng.range(2, 4.min(nodes as u64)) as usize;
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < replicas.min(nodes) {
            let n = rng.below(nodes);
            if !chosen.contains(&n) {
                chosen.push(n);
            }
        }
        let asymmetric = rng.chance(30);
        let preferences: Vec<u8> = chosen
            .iter()
            .map(|_| {
                if asymmetric {
                    rng.range(50, 200) as u8
                } else {
                    100
                }
            })
            .collect();
        let check = rng
            .chance(30)
            .then(|| Duration::from_millis(rng.range(1000, 5000)));
        let preempt_delay = if asymmetric && rng.chance(20) {
            Duration::from_millis(rng.range(500, 2000))
        } else {
            Duration::ZERO
        };

        let u = units.len();
        let mut members: Vec<ServiceConfig> = Vec::new();
        if rng.chance(20) && services - made >= 3 {
            // disk (resource) <- web (critical) and a non-critical helper in one group
            let group = format!("g{u}");
            let mut disk = ServiceConfig::new(&format!("u{u}-disk"));
            disk.kind = ServiceKind::Resource;
            disk.group = Some(group.clone());
            let mut web = ServiceConfig::new(&format!("u{u}-web"));
            web.depends = vec![disk.name.clone()];
            web.group = Some(group.clone());
            web.critical = true;
            web.addresses = vec![vip(made + 1)];
            web.check_interval = check;
            let mut extra = ServiceConfig::new(&format!("u{u}-extra"));
            extra.group = Some(group);
            extra.addresses = vec![vip(made + 2)];
            members.extend([disk, web, extra]);
        } else {
            let mut s = ServiceConfig::new(&format!("u{u}-svc"));
            s.addresses = vec![vip(made)];
            s.check_interval = check;
            members.push(s);
        }
        made += members.len();
        for m in &members {
            vips.insert(m.name.clone(), m.addresses.clone());
        }
        // Every fourth unit hands over make-before-break (not drawn from
        // the generator, so each seed's other draws stay as they were).
        let overlap = !quorum && u % 4 == 1;
        for m in &mut members {
            m.timeouts = timeouts.clone();
            m.preempt_delay = preempt_delay;
            m.quorum = quorum;
            if overlap {
                m.handover = crate::config::Handover::Overlap;
                m.handover_overlap = Duration::from_millis(300);
            }
        }
        for (k, &n) in chosen.iter().enumerate() {
            for m in &members {
                let mut c = m.clone();
                c.preference = preferences[k];
                per_node[n].push(c);
            }
        }
        units.push(UnitSpec {
            members: members.iter().map(|m| m.name.clone()).collect(),
            nodes: chosen,
            preferences,
        });
    }
    Workload {
        router_ids,
        lans,
        per_node,
        units,
        service_count: made,
        vips,
    }
}
