//! "What if": where every service an operator command touches would end
//! up, computed by the engine's own placement ([`placement::holder`]) on a
//! copy of this node's engine with the command applied. Nothing is sent and
//! nothing changes (docs/lookingglass.md, what-if).

use std::collections::BTreeMap;

use serde::Serialize;

use super::io::{Action, Command};
use super::placement;
use super::view::UnitPresence;
use super::Engine;
use crate::model::RouterId;

/// The preview of one command on this node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    pub command: String,
    /// Why the engine would refuse the command; then nothing moves.
    pub rejected: Option<String>,
    pub services: Vec<Prediction>,
    /// Names of the nodes the predictions mention (from daemon LSAs).
    pub nodes: BTreeMap<RouterId, String>,
}

/// Where one service runs now and where it would run once placement
/// settles after the command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prediction {
    pub service: String,
    pub current: Option<RouterId>,
    pub predicted: Option<RouterId>,
    pub reason: String,
}

/// Placement rounds before giving up on a fixed point: a move can be
/// followed by a preemption back, nothing longer.
const MAX_ROUNDS: usize = 4;

impl Engine {
    /// Previews `command` as if an operator sent it to this node now.
    pub fn what_if(&self, command: &Command) -> WhatIf {
        let mut preview = WhatIf {
            command: command.to_string(),
            rejected: None,
            services: Vec::new(),
            nodes: BTreeMap::new(),
        };
        let Some(me) = self.router_id.filter(|_| self.api_up) else {
            preview.rejected = Some("no OSPF API session: this node has no view".into());
            return preview;
        };
        let mut after = self.clone();
        after.actions.clear();
        after.on_command(command.clone());
        preview.rejected = after.actions.iter().find_map(|a| match a {
            Action::CommandRejected { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        let units: Vec<usize> = match command.service().and_then(|s| self.index.get(s)) {
            Some(&i) => vec![self.layout.unit_of[i]],
            None if *command == Command::Shutdown => (0..self.layout.units.len()).collect(),
            None => Vec::new(),
        };
        for u in units {
            let nodes = match preview.rejected {
                Some(_) => self.presences(u, me),
                None => after.presences(u, me),
            };
            let (predicted, path) = settle(nodes);
            for &m in &self.layout.units[u].start_order {
                let current = self.holder(&self.locals[m].cfg.name);
                let reason = reason(current, predicted, &path, me, preview.rejected.is_some());
                preview.services.push(Prediction {
                    service: self.locals[m].cfg.name.clone(),
                    current,
                    predicted,
                    reason,
                });
            }
        }
        for r in preview
            .services
            .iter()
            .flat_map(|p| [p.current, p.predicted])
            .flatten()
        {
            let name = match self.view.daemons.get(&r) {
                _ if r == me => self.settings.node_name.clone(),
                Some(d) => d.node_name.clone(),
                None => continue,
            };
            preview.nodes.insert(r, name);
        }
        preview
    }

    /// Every reachable node's presence for unit `u`, this node first (as
    /// `drive_unit` evaluates it).
    fn presences(&self, u: usize, me: RouterId) -> Vec<UnitPresence> {
        let mut nodes = vec![self.local_presence(u, me)];
        nodes.extend(
            self.unit_peers(u)
                .into_iter()
                .map(|p| self.peer_presence(u, p)),
        );
        nodes
    }
}

/// Runs placement to a fixed point: the chosen holder starts, every other
/// node stops, and a hand-off ends once its target runs. Returns the final
/// holder and every holder on the way.
fn settle(mut nodes: Vec<UnitPresence>) -> (Option<RouterId>, Vec<Option<RouterId>>) {
    let mut holder = placement::holder(&nodes);
    let mut path = vec![holder];
    for _ in 0..MAX_ROUNDS {
        for n in &mut nodes {
            let holds = Some(n.router) == holder;
            n.holding = holds;
            n.started = holds;
            n.quiescent = !holds;
            n.claim = None;
            if holder.is_some() && n.handoff_to == holder {
                n.handoff_to = None;
            }
        }
        let next = placement::holder(&nodes);
        if next == holder {
            break;
        }
        holder = next;
        path.push(holder);
    }
    (holder, path)
}

fn reason(
    current: Option<RouterId>,
    predicted: Option<RouterId>,
    path: &[Option<RouterId>],
    me: RouterId,
    rejected: bool,
) -> String {
    let at = |r: Option<RouterId>| r.map_or("nowhere".to_string(), |r| r.to_string());
    if rejected {
        return format!("command rejected: stays {}", place(current));
    }
    if current == predicted {
        return format!("unchanged: {}", place(current));
    }
    let mut why = match (current, predicted) {
        (_, None) => "no eligible node is left: it stops".to_string(),
        (Some(c), Some(p)) if c == me => {
            format!("this node gives it up: moves to {p}")
        }
        (Some(c), Some(p)) => format!("moves from {c} to {p}"),
        (None, Some(p)) => format!("starts on {p}"),
    };
    if path.len() > 1 {
        let hops: Vec<String> = path.iter().map(|&r| at(r)).collect();
        why.push_str(&format!(
            " (via {}: a higher preference takes it back)",
            hops.join(" then ")
        ));
    }
    why
}

fn place(r: Option<RouterId>) -> String {
    r.map_or("stopped everywhere".to_string(), |r| format!("on {r}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;
    use crate::engine::{EngineSettings, Restored};
    use crate::model::Time;

    fn node(id: u32, pref: u8, holding: bool) -> UnitPresence {
        UnitPresence {
            router: RouterId(id),
            preference: pref,
            eligible: true,
            holding,
            started: holding,
            all_started: holding,
            handing_over: false,
            quiescent: !holding,
            handoff_to: None,
            started_at_ms: u64::MAX,
            claim: None,
        }
    }

    #[test]
    fn an_ineligible_holder_hands_over_to_the_best_candidate() {
        let mut holder = node(3, 100, true);
        holder.eligible = false;
        let (to, path) = settle(vec![holder, node(1, 100, false), node(2, 150, false)]);
        assert_eq!(to, Some(RouterId(2)));
        assert_eq!(path, vec![Some(RouterId(2))]);
    }

    #[test]
    fn a_move_to_a_lower_preference_is_taken_back() {
        let mut holder = node(3, 200, true);
        holder.handoff_to = Some(RouterId(1));
        let (to, path) = settle(vec![holder, node(1, 100, false)]);
        assert_eq!(to, Some(RouterId(3)));
        assert_eq!(path, vec![Some(RouterId(1)), Some(RouterId(3))]);
    }

    #[test]
    fn a_move_between_equals_sticks() {
        let mut holder = node(3, 100, true);
        holder.handoff_to = Some(RouterId(1));
        let (to, _) = settle(vec![holder, node(1, 100, false), node(2, 100, false)]);
        assert_eq!(to, Some(RouterId(1)));
    }

    #[test]
    fn no_candidate_left_means_nowhere() {
        let mut holder = node(3, 100, true);
        holder.eligible = false;
        assert_eq!(settle(vec![holder]).0, None);
    }

    fn engine() -> Engine {
        let mut web = ServiceConfig::new("web");
        web.addresses = vec!["192.0.2.10".parse().expect("literal")];
        Engine::new(EngineSettings::default(), vec![web], &Restored::default())
    }

    fn connected() -> Engine {
        let mut e = engine();
        let router_id = RouterId(2);
        e.handle(Time(1), crate::engine::Event::ApiConnected { router_id });
        e
    }

    #[test]
    fn without_a_session_there_is_no_preview() {
        let w = engine().what_if(&Command::Stop("web".into()));
        assert!(w
            .rejected
            .is_some_and(|r| r.contains("no OSPF API session")));
        assert!(w.services.is_empty());
    }

    #[test]
    fn a_rejected_command_moves_nothing_and_says_why() {
        let e = connected();
        let w = e.what_if(&Command::MoveTo("web".into(), RouterId(9)));
        assert_eq!(w.rejected.as_deref(), Some("not running on this node"));
        assert_eq!(w.services.len(), 1);
        assert_eq!(w.services[0].current, w.services[0].predicted);
        let w = e.what_if(&Command::Stop("nope".into()));
        assert!(w.rejected.is_some_and(|r| r.contains("no service named")));
        assert!(w.services.is_empty());
    }

    #[test]
    fn the_preview_changes_nothing() {
        let e = connected();
        let before = e.restorable();
        let w = e.what_if(&Command::Disable("web".into()));
        assert_eq!(w.rejected, None);
        assert_eq!(w.services[0].predicted, None, "{w:?}");
        assert_eq!(e.restorable(), before);
        assert_eq!(e.what_if(&Command::Shutdown).services.len(), 1);
    }
}
