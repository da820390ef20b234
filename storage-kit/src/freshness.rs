//! The freshness guard: from what the reachable members hold, decide whether
//! `start` may assemble, from which members, and how the others rejoin.
//! The rule and its proof sketch are in docs/storage.md ("The freshness rule").

use crate::mdadm::{Examine, Role};
use crate::record::{Block, Record};

/// Everything `start` read from one reachable member.
#[derive(Clone, Debug)]
pub struct MemberView {
    pub node: String,
    pub record: Block,
    pub epoch: Block,
    /// `None`: no md superblock on the device.
    pub md: Option<Examine>,
}

/// How a stale member gets its data back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejoin {
    /// `mdadm --re-add`: md resyncs only what the write-intent bitmap marks.
    ReAdd,
    /// Superblock wiped, `mdadm --add`: a full copy.
    Full,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// First start: no member holds anything yet.
    Create { members: Vec<String> },
    /// Assemble from `fresh`, then bring `stale` back (resync towards them).
    Assemble {
        array: String,
        generation: u64,
        fresh: Vec<String>,
        stale: Vec<(String, Rejoin)>,
    },
    /// Not safe yet: a member that may hold newer data is unreachable.
    Wait { reason: String },
    /// Never safe without an operator (diverged copies, foreign data).
    Refuse { reason: String },
}

impl MemberView {
    fn record(&self) -> Option<&Record> {
        match &self.record {
            Block::Valid(r) => Some(r),
            _ => None,
        }
    }

    /// The record, if md's superblock on the same device belongs to it.
    fn consistent(&self) -> Option<(&Record, &Examine)> {
        let r = self.record()?;
        let md = self.md.as_ref()?;
        (md.array_uuid == r.array).then_some((r, md))
    }

    /// The generation record was rewritten while this member's export
    /// was up: its node was alive and in the writer's array then.
    fn witnessed(&self) -> bool {
        match (&self.epoch, self.record()) {
            (Block::Valid(e), Some(r)) => {
                (e.array.as_str(), e.generation, e.writer.as_str())
                    != (r.array.as_str(), r.generation, r.writer.as_str())
            }
            _ => false,
        }
    }

    fn is_blank(&self) -> bool {
        self.record == Block::Blank && self.md.is_none()
    }
}

/// How `joiner` rejoins an array with `array` UUID at `events` whose in-sync
/// members hold the slots `active_roles`.
pub fn rejoin(
    joiner: Option<&Examine>,
    array: &str,
    events: u64,
    active_roles: &[usize],
) -> Rejoin {
    if full_copy_reason(joiner, array, events, active_roles).is_some() {
        Rejoin::Full
    } else {
        Rejoin::ReAdd
    }
}

/// Why `joiner` needs a full copy, or `None` when the bitmap suffices.
/// md takes a re-added member whose events are not behind as in sync
/// without any resync. That is right only for a member of the same array
/// that never ran without the current members and is not ahead of them
/// (docs/storage.md, "Rejoining").
pub fn full_copy_reason(
    joiner: Option<&Examine>,
    array: &str,
    events: u64,
    active_roles: &[usize],
) -> Option<String> {
    let Some(j) = joiner else {
        return Some("no md superblock".into());
    };
    if j.array_uuid != array {
        return Some(format!("superblock of another array ({})", j.array_uuid));
    }
    if !j.internal_bitmap {
        return Some("no write-intent bitmap".into());
    }
    if j.recovering {
        return Some("its last recovery did not finish".into());
    }
    if j.events > events {
        return Some(format!(
            "its events ({}) are ahead of the array's ({events})",
            j.events
        ));
    }
    if let Some(r) = active_roles.iter().find(|&&r| !j.saw_active(r)) {
        return Some(format!(
            "it ran without slot {r} (array state {})",
            j.array_state
        ));
    }
    None
}

/// `all_nodes`: every node of the resource's configuration; `me` is among
/// the views (its local device), the views are the reachable members.
pub fn decide_start(me: &str, all_nodes: &[String], views: &[MemberView], force: bool) -> Decision {
    let reachable: Vec<&str> = views.iter().map(|v| v.node.as_str()).collect();
    if force {
        return forced(me, views);
    }
    if views.iter().all(MemberView::is_blank) {
        let missing: Vec<&String> = all_nodes
            .iter()
            .filter(|n| !reachable.contains(&n.as_str()))
            .collect();
        if !missing.is_empty() {
            return Decision::Wait {
                reason: format!(
                    "first start: waiting for every node to be reachable (missing: {})",
                    join(missing)
                ),
            };
        }
        return Decision::Create {
            members: all_nodes.to_vec(),
        };
    }
    let candidates: Vec<(&MemberView, &Record, &Examine)> = views
        .iter()
        .filter_map(|v| v.consistent().map(|(r, e)| (v, r, e)))
        .collect();
    let Some(newest) = candidates.iter().map(|(_, r, _)| r.generation).max() else {
        return Decision::Refuse {
            reason: "no reachable member holds a generation record that matches its md superblock (not created by srrd-raid1, or damaged): inspect with `status`, then `force-start` on the node whose copy to keep".into(),
        };
    };
    let top: Vec<_> = candidates
        .iter()
        .filter(|(_, r, _)| r.generation == newest)
        .collect();
    let writers: Vec<&str> = dedup(top.iter().map(|(_, r, _)| r.writer.as_str()));
    let arrays: Vec<&str> = dedup(top.iter().map(|(_, r, _)| r.array.as_str()));
    if writers.len() > 1 || arrays.len() > 1 {
        let who = top
            .iter()
            .map(|(v, r, _)| format!("{}: {r}", v.node))
            .collect::<Vec<_>>()
            .join("; ");
        return Decision::Refuse {
            reason: format!("copies diverged: generation {newest} was written by different nodes ({who}); `force-start` on the node whose copy to keep"),
        };
    }
    let events = top.iter().map(|(_, _, e)| e.events).max().unwrap_or(0);
    let fresh: Vec<&MemberView> = top
        .iter()
        .filter(|(_, _, e)| e.events == events)
        .map(|(v, _, _)| *v)
        .collect();
    let (_, r, _) = top[0];
    let unreachable: Vec<&String> = r
        .members
        .iter()
        .filter(|m| !reachable.contains(&m.as_str()))
        .collect();
    if !unreachable.is_empty() {
        let only_writer = unreachable.len() == 1 && *unreachable[0] == r.writer;
        if !(only_writer && fresh.iter().any(|v| v.witnessed())) {
            return Decision::Wait {
                reason: format!(
                    "the newest copy seen is {r}; {} may hold newer data and is unreachable: waiting for it (or `force-start` after checking that its copy is older)",
                    join(unreachable)
                ),
            };
        }
    }
    let active_roles: Vec<usize> = fresh
        .iter()
        .filter_map(|v| match v.md.as_ref()?.role {
            Role::Active(n) => Some(n),
            _ => None,
        })
        .collect();
    let stale = views
        .iter()
        .filter(|v| !fresh.iter().any(|f| f.node == v.node))
        .map(|v| {
            (
                v.node.clone(),
                rejoin(v.md.as_ref(), &r.array, events, &active_roles),
            )
        })
        .collect();
    Decision::Assemble {
        array: r.array.clone(),
        generation: newest,
        fresh: fresh.iter().map(|v| v.node.clone()).collect(),
        stale,
    }
}

/// `force-start`: the local copy is the source, whatever the others hold.
fn forced(me: &str, views: &[MemberView]) -> Decision {
    let Some(local) = views.iter().find(|v| v.node == me) else {
        return Decision::Refuse {
            reason: format!("force-start: {me} is not among the members"),
        };
    };
    let Some(md) = &local.md else {
        return Decision::Refuse {
            reason: format!(
                "force-start: the local device of {me} has no md superblock, nothing to start from"
            ),
        };
    };
    let generation = views
        .iter()
        .filter_map(MemberView::record)
        .map(|r| r.generation)
        .max()
        .unwrap_or(0);
    Decision::Assemble {
        array: md.array_uuid.clone(),
        generation,
        fresh: vec![me.to_owned()],
        stale: views
            .iter()
            .filter(|v| v.node != me)
            .map(|v| (v.node.clone(), Rejoin::Full))
            .collect(),
    }
}

fn dedup<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = it.collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn join(names: Vec<&String>) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Block;

    const UUID: &str = "aaaa:bbbb:cccc:dddd";

    fn nodes() -> Vec<String> {
        ["n1", "n2", "n3"].map(String::from).to_vec()
    }

    fn rec(generation: u64, writer: &str, members: &[&str]) -> Record {
        Record {
            array: UUID.into(),
            generation,
            writer: writer.into(),
            members: members.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn md(role: usize, events: u64, state: &str) -> Examine {
        Examine {
            array_uuid: UUID.into(),
            events,
            role: Role::Active(role),
            array_state: state.into(),
            internal_bitmap: true,
            recovering: false,
        }
    }

    /// A member whose record was written while its export was up (witness).
    fn live(node: &str, r: Record, m: Examine) -> MemberView {
        MemberView {
            node: node.into(),
            epoch: Block::Valid(Record {
                generation: r.generation.saturating_sub(1),
                ..r.clone()
            }),
            record: Block::Valid(r),
            md: Some(m),
        }
    }

    /// A member whose export started after its record was written
    /// (its node was off or restarted since).
    fn rebooted(node: &str, r: Record, m: Examine) -> MemberView {
        MemberView {
            node: node.into(),
            epoch: Block::Valid(r.clone()),
            record: Block::Valid(r),
            md: Some(m),
        }
    }

    fn blank(node: &str) -> MemberView {
        MemberView {
            node: node.into(),
            record: Block::Blank,
            epoch: Block::Blank,
            md: None,
        }
    }

    #[test]
    fn first_start_creates_only_with_every_node() {
        let all = [blank("n1"), blank("n2"), blank("n3")];
        assert_eq!(
            decide_start("n1", &nodes(), &all, false),
            Decision::Create { members: nodes() }
        );
        assert!(matches!(
            decide_start("n1", &nodes(), &all[..2], false),
            Decision::Wait { .. }
        ));
    }

    #[test]
    fn takeover_after_the_writer_crashed() {
        // n1 ran {n1,n2,n3} and crashed; n2 and n3 were up all along.
        let r = rec(4, "n1", &["n1", "n2", "n3"]);
        let views = [
            live("n2", r.clone(), md(1, 90, "AAA")),
            live("n3", r, md(2, 90, "AAA")),
        ];
        match decide_start("n2", &nodes(), &views, false) {
            Decision::Assemble {
                fresh,
                stale,
                generation,
                ..
            } => {
                assert_eq!(fresh, ["n2", "n3"]);
                assert!(stale.is_empty());
                assert_eq!(generation, 4);
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn a_rebooted_member_cannot_vouch_for_the_writer() {
        // Same records, but n2's export started after the record was written:
        // n2 may have been off while n1 went on without it.
        let r = rec(4, "n1", &["n1", "n2"]);
        let views = [rebooted("n2", r, md(1, 90, "AA."))];
        assert!(matches!(
            decide_start("n2", &nodes(), &views, false),
            Decision::Wait { .. }
        ));
    }

    #[test]
    fn last_two_switched_off_and_on_in_the_other_order() {
        // n3 failed earlier (generation 5 = {n1,n2}); n1 was switched off,
        // n2 took over (generation 6 = {n2}), then n2 was switched off.
        // n1 and n3 come back first: n1 must wait for n2.
        let n1 = rebooted("n1", rec(5, "n1", &["n1", "n2"]), md(0, 120, "AA."));
        let n3 = rebooted("n3", rec(4, "n1", &["n1", "n2", "n3"]), md(2, 100, "AAA"));
        let d = decide_start("n1", &nodes(), &[n1.clone(), n3.clone()], false);
        let Decision::Wait { reason } = d else {
            panic!("{d:?}")
        };
        assert!(reason.contains("n2"), "{reason}");
        // Once n2 is reachable, its copy is the source and n1, n3 resync.
        let n2 = rebooted("n2", rec(6, "n2", &["n2"]), md(1, 140, ".A."));
        match decide_start("n1", &nodes(), &[n1, n3, n2], false) {
            Decision::Assemble { fresh, stale, .. } => {
                assert_eq!(fresh, ["n2"]);
                // n1 and n3 saw n2's slot active and are behind: bitmap resync.
                assert_eq!(
                    stale,
                    [("n1".into(), Rejoin::ReAdd), ("n3".into(), Rejoin::ReAdd)]
                );
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn a_member_failed_out_within_a_generation_is_stale_by_md_events() {
        // n3 was failed by md (events stopped at 100) before the kit
        // rewrote the record.
        let r = rec(4, "n1", &["n1", "n2", "n3"]);
        let views = [
            live("n1", r.clone(), md(0, 104, "AA.")),
            live("n2", r.clone(), md(1, 104, "AA.")),
            live("n3", r, md(2, 100, "AAA")),
        ];
        match decide_start("n1", &nodes(), &views, false) {
            Decision::Assemble { fresh, stale, .. } => {
                assert_eq!(fresh, ["n1", "n2"]);
                assert_eq!(stale, [("n3".into(), Rejoin::ReAdd)]);
            }
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn diverged_copies_are_refused() {
        let a = live("n1", rec(6, "n1", &["n1"]), md(0, 130, "A.."));
        let b = live("n2", rec(6, "n2", &["n2"]), md(1, 140, ".A."));
        assert!(matches!(
            decide_start("n1", &nodes(), &[a, b], false),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn a_former_writer_that_ran_alone_gets_a_full_copy() {
        // n1 failed the others and went on (events 150, state "A.."), then
        // a forced start elsewhere made generation 7.
        let n1 = rebooted("n1", rec(5, "n1", &["n1"]), md(0, 150, "A.."));
        let n2 = rebooted("n2", rec(7, "n2", &["n2"]), md(1, 200, ".A."));
        match decide_start("n2", &nodes(), &[n2, n1], false) {
            Decision::Assemble { stale, .. } => assert_eq!(stale, [("n1".into(), Rejoin::Full)]),
            d => panic!("{d:?}"),
        }
    }

    #[test]
    fn events_ahead_of_the_array_or_a_lone_run_never_use_the_bitmap() {
        let j = md(0, 300, "AAA");
        assert_eq!(rejoin(Some(&j), UUID, 299, &[1, 2]), Rejoin::Full);
        assert_eq!(rejoin(Some(&j), UUID, 300, &[1, 2]), Rejoin::ReAdd);
        assert_eq!(rejoin(Some(&j), UUID, 301, &[1, 2]), Rejoin::ReAdd);
        assert_eq!(
            rejoin(Some(&md(0, 10, "A..")), UUID, 301, &[1, 2]),
            Rejoin::Full
        );
        assert_eq!(rejoin(None, UUID, 301, &[1]), Rejoin::Full);
    }

    #[test]
    fn force_starts_from_the_local_copy_and_copies_it_everywhere() {
        let n1 = rebooted("n1", rec(5, "n1", &["n1", "n2"]), md(0, 120, "AA."));
        let n3 = rebooted("n3", rec(4, "n1", &["n1", "n2", "n3"]), md(2, 100, "AAA"));
        match decide_start("n1", &nodes(), &[n1, n3], true) {
            Decision::Assemble { fresh, stale, .. } => {
                assert_eq!(fresh, ["n1"]);
                assert_eq!(stale, [("n3".into(), Rejoin::Full)]);
            }
            d => panic!("{d:?}"),
        }
        assert!(matches!(
            decide_start("n1", &nodes(), &[blank("n1")], true),
            Decision::Refuse { .. }
        ));
    }

    #[test]
    fn superblocks_without_records_are_refused() {
        let v = MemberView {
            node: "n1".into(),
            record: Block::Blank,
            epoch: Block::Blank,
            md: Some(md(0, 5, "AAA")),
        };
        assert!(matches!(
            decide_start("n1", &nodes(), &[v], false),
            Decision::Refuse { .. }
        ));
    }
}
