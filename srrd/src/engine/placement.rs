//! Which node should hold a unit — a pure function of the global view, so
//! every node computes the same answer from the same LSDB (docs/architecture.md).

use std::cmp::Reverse;

use super::mutants::{self, Mutant};
use super::view::UnitPresence;
use crate::model::RouterId;

/// The node that should hold the unit, given every reachable node's presence
/// (this node included).
///
/// - An operator hand-off wins while nobody else holds the unit.
/// - Sticky: a holder keeps the unit unless an eligible node with a higher
///   preference exists (asymmetric preferences preempt).
/// - Among several holders (a healed partition, or two claims racing), the
///   highest preference keeps it, then a started copy over a claim, then the
///   copy started first (it served the larger side of a healed partition,
///   typically), then the highest router id.
/// - Nobody holds it: the eligible node with the highest (preference,
///   router id) takes it.
pub fn holder(nodes: &[UnitPresence]) -> Option<RouterId> {
    let candidates = || nodes.iter().filter(|n| n.eligible);
    let best = if mutants::on(Mutant::LowestRouterIdWins) {
        candidates().max_by_key(|n| (n.preference, Reverse(n.router)))?
    } else {
        candidates().max_by_key(|n| n.rank())?
    };

    for n in nodes {
        if let Some(target) = n.handoff_to {
            let target_ok = candidates().any(|c| c.router == target);
            let others_hold =
                candidates().any(|c| c.holding && c.router != target && c.router != n.router);
            if target_ok && !others_hold {
                return Some(target);
            }
        }
    }

    let top_holder = candidates()
        .filter(|n| n.holding)
        .max_by_key(|n| (n.preference, n.started, Reverse(n.started_at_ms), n.router));
    let sticky = |h: &UnitPresence| {
        if mutants::on(Mutant::MoveBack) {
            h.rank() >= best.rank()
        } else {
            h.preference >= best.preference
        }
    };
    match top_holder {
        Some(h) if sticky(h) => Some(h.router),
        _ => Some(best.router),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u32, pref: u8, holding: bool, started: bool) -> UnitPresence {
        UnitPresence {
            router: RouterId(id),
            preference: pref,
            eligible: true,
            holding,
            started,
            all_started: started,
            handing_over: false,
            quiescent: !holding,
            handoff_to: None,
            started_at_ms: u64::MAX,
            claim: None,
        }
    }

    #[test]
    fn nobody_holds_highest_router_id_wins() {
        let nodes = [node(1, 100, false, false), node(3, 100, false, false)];
        assert_eq!(holder(&nodes), Some(RouterId(3)));
    }

    #[test]
    fn symmetric_is_sticky() {
        let nodes = [node(1, 100, true, true), node(3, 100, false, false)];
        assert_eq!(holder(&nodes), Some(RouterId(1)));
    }

    #[test]
    fn higher_preference_preempts() {
        let nodes = [node(3, 100, true, true), node(1, 200, false, false)];
        assert_eq!(holder(&nodes), Some(RouterId(1)));
    }

    #[test]
    fn started_beats_a_racing_claim() {
        let nodes = [node(1, 100, true, true), node(3, 100, true, false)];
        assert_eq!(holder(&nodes), Some(RouterId(1)));
    }

    #[test]
    fn two_holders_after_heal_resolve_to_highest() {
        let nodes = [node(1, 100, true, true), node(3, 100, true, true)];
        assert_eq!(holder(&nodes), Some(RouterId(3)));
    }

    #[test]
    fn after_heal_the_copy_started_first_keeps_it() {
        let mut old = node(1, 100, true, true);
        old.started_at_ms = 1_000;
        let mut young = node(3, 100, true, true);
        young.started_at_ms = 9_000;
        assert_eq!(holder(&[old, young]), Some(RouterId(1)));
    }

    #[test]
    fn no_eligible_node_no_holder() {
        let mut n = node(1, 100, false, false);
        n.eligible = false;
        assert_eq!(holder(&[n]), None);
    }

    #[test]
    fn handoff_target_wins_when_nobody_else_holds() {
        let mut a = node(3, 100, true, true);
        a.handoff_to = Some(RouterId(1));
        a.eligible = true;
        let nodes = [a, node(1, 100, false, false), node(2, 100, false, false)];
        assert_eq!(holder(&nodes), Some(RouterId(1)));
    }
}
