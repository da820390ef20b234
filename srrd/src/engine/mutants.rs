//! Known-bad engine behaviours, switched on one at a time by the mutation
//! test (`cargo test -p srrd --features mutants --test mutants`) to prove
//! that the simulator's checks catch each of them. Without the feature
//! every switch is a constant `false` and compiles away.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutant {
    /// Start as soon as we claim: no acknowledgements, no waiting for
    /// peers to stop.
    NoStartBarrier,
    /// Never run `start`.
    NeverStart,
    /// Keep services running when the OSPF API session is lost.
    KeepRunningWithoutOspfd,
    /// Stop a dependency before the services that depend on it.
    StopDependenciesFirst,
    /// Among equal preferences, the lowest router id wins.
    LowestRouterIdWins,
    /// Records of unreachable peers still count.
    IgnoreReachability,
    /// A symmetric unit moves back to a returning node with a higher id.
    MoveBack,
    /// Leave the VIP up when a service stops.
    LeakVip,
    /// A returning node's records from before its loss count at once.
    TrustStaleRecords,
    /// Acknowledge other nodes' claims while claiming or holding the unit,
    /// and start on acknowledgements alone (without also waiting for the
    /// acknowledging records to show the unit stopped).
    AckWhileHolding,
    /// Accept a move to any reachable node and never abandon it early.
    MoveToAnyTarget,
    /// Hand every unit over make-before-break, `handover = "break"` too.
    OverlapEverything,
    /// The old node of a make-before-break handover never stops.
    EndlessOverlap,
    /// Keep the copy the previous run left running even when another node
    /// holds or claims the unit once the LSDB is in.
    AdoptDespiteHolder,
    /// Stray packets stay forwarded once the old copy has stopped.
    EndlessStrays,
}

impl Mutant {
    pub const ALL: [Mutant; 15] = [
        Mutant::NoStartBarrier,
        Mutant::NeverStart,
        Mutant::KeepRunningWithoutOspfd,
        Mutant::StopDependenciesFirst,
        Mutant::LowestRouterIdWins,
        Mutant::IgnoreReachability,
        Mutant::MoveBack,
        Mutant::LeakVip,
        Mutant::TrustStaleRecords,
        Mutant::AckWhileHolding,
        Mutant::MoveToAnyTarget,
        Mutant::OverlapEverything,
        Mutant::EndlessOverlap,
        Mutant::AdoptDespiteHolder,
        Mutant::EndlessStrays,
    ];
}

#[cfg(feature = "mutants")]
thread_local! {
    static ACTIVE: std::cell::Cell<Option<Mutant>> = const { std::cell::Cell::new(None) };
}

/// Switches a mutant on for engines run on this thread (`None`: none).
#[cfg(feature = "mutants")]
pub fn set(mutant: Option<Mutant>) {
    ACTIVE.with(|a| a.set(mutant));
}

#[cfg(feature = "mutants")]
pub(crate) fn on(m: Mutant) -> bool {
    ACTIVE.with(|a| a.get() == Some(m))
}

#[cfg(not(feature = "mutants"))]
#[inline(always)]
pub(crate) fn on(_: Mutant) -> bool {
    false
}
