//! Service payload (kind 1): TLVs 1-13 of docs/protocol.md.

use crate::model::{ConfigState, Failure, RouterId, RunState, ServiceKind};

use super::codec::{DecodeError, EncodeError, MAX_FAILURE_TEXT, MAX_NAME};
use super::tlv::{check_len, ip_bytes, once, required, ty, utf8, Tlv, Tlvs, Writer};
use super::ServiceLsa;

const FLAG_CRITICAL: u8 = 0x01;
const FLAG_STANDBY: u8 = 0x02;
const FLAG_HANDOVER: u8 = 0x04;

/// Emits the TLVs in ascending type order (receivers accept any order).
pub(super) fn encode(lsa: &ServiceLsa, w: &mut Writer) -> Result<(), EncodeError> {
    check_len("name", &lsa.name, 1, MAX_NAME)?;
    if let Some(group) = &lsa.group {
        check_len("group", group, 1, MAX_NAME)?;
    }
    for dep in &lsa.depends {
        check_len("depends", dep, 1, MAX_NAME)?;
    }
    if let Some(failure) = &lsa.failure {
        check_len("failure text", &failure.text, 0, MAX_FAILURE_TEXT)?;
    }

    w.tlv(ty::GENERATION, &[&lsa.generation.to_be_bytes()]);
    w.tlv(ty::NAME, &[lsa.name.as_bytes()]);
    let mut flags = 0;
    if lsa.critical {
        flags |= FLAG_CRITICAL;
    }
    if lsa.standby {
        flags |= FLAG_STANDBY;
    }
    if lsa.handover {
        flags |= FLAG_HANDOVER;
    }
    let state = [
        kind_code(lsa.kind),
        config_code(lsa.config_state),
        run_code(lsa.run_state),
        lsa.preference,
        flags,
    ];
    w.tlv(ty::STATE, &[&state]);
    if let Some(group) = &lsa.group {
        w.tlv(ty::GROUP, &[group.as_bytes()]);
    }
    for dep in &lsa.depends {
        w.tlv(ty::DEPENDS, &[dep.as_bytes()]);
    }
    if let Some(failure) = &lsa.failure {
        w.tlv(
            ty::FAILURE,
            &[&failure.code.to_be_bytes(), failure.text.as_bytes()],
        );
    }
    // Absent CHECK means "never checked, no interval": saves 16 bytes for
    // resources and unchecked services.
    if lsa.check_interval_ms != 0 || lsa.check_stamp_ms != 0 {
        w.tlv(
            ty::CHECK,
            &[
                &lsa.check_interval_ms.to_be_bytes(),
                &lsa.check_stamp_ms.to_be_bytes(),
            ],
        );
    }
    for addr in &lsa.addresses {
        let (bytes, len) = ip_bytes(addr);
        w.tlv(ty::ADDRESS, &[&bytes[..len]]);
    }
    if let Some(RouterId(id)) = lsa.handoff_to {
        w.tlv(ty::HANDOFF_TO, &[&id.to_be_bytes()]);
    }
    if lsa.started_at_ms != 0 {
        w.tlv(ty::STARTED_AT, &[&lsa.started_at_ms.to_be_bytes()]);
    }
    if let Some(RouterId(id)) = lsa.originator {
        w.tlv(ty::ORIGINATOR, &[&id.to_be_bytes()]);
    }
    if let Some(claim) = lsa.claim {
        w.tlv(ty::CLAIM, &[&claim.to_be_bytes()]);
    }
    if let Some((RouterId(claimant), claim)) = lsa.ack {
        w.tlv(ty::ACK, &[&claimant.to_be_bytes(), &claim.to_be_bytes()]);
    }
    Ok(())
}

struct State {
    kind: ServiceKind,
    config_state: ConfigState,
    run_state: RunState,
    preference: u8,
    critical: bool,
    standby: bool,
    handover: bool,
}

pub(super) fn decode(tlvs: Tlvs<'_>) -> Result<ServiceLsa, DecodeError> {
    let end = tlvs.end();
    let mut generation = None;
    let mut name = None;
    let mut state = None;
    let mut group = None;
    let mut depends = Vec::new();
    let mut failure = None;
    let mut check = None;
    let mut addresses = Vec::new();
    let mut handoff_to = None;
    let mut started_at = None;
    let mut originator = None;
    let mut claim = None;
    let mut ack = None;
    for tlv in tlvs {
        let tlv = tlv?;
        match tlv.ty {
            ty::GENERATION => once(&mut generation, &tlv, "generation", |t| t.u64("generation"))?,
            ty::NAME => once(&mut name, &tlv, "name", |t| {
                t.text("name", 1, MAX_NAME, "1..=64")
            })?,
            ty::STATE => once(&mut state, &tlv, "state", decode_state)?,
            ty::GROUP => once(&mut group, &tlv, "group", |t| {
                t.text("group", 1, MAX_NAME, "1..=64")
            })?,
            ty::DEPENDS => depends.push(tlv.text("depends", 1, MAX_NAME, "1..=64")?),
            ty::FAILURE => once(&mut failure, &tlv, "failure", decode_failure)?,
            ty::CHECK => once(&mut check, &tlv, "check", |t| t.u32_u64("check"))?,
            ty::ADDRESS => addresses.push(tlv.ip("address")?),
            ty::HANDOFF_TO => once(&mut handoff_to, &tlv, "handoff_to", |t| {
                t.u32("handoff_to").map(RouterId)
            })?,
            ty::ORIGINATOR => once(&mut originator, &tlv, "originator", |t| {
                t.u32("originator").map(RouterId)
            })?,
            ty::STARTED_AT => once(&mut started_at, &tlv, "started_at", |t| t.u64("started_at"))?,
            ty::CLAIM => once(&mut claim, &tlv, "claim", |t| t.u64("claim"))?,
            ty::ACK => once(&mut ack, &tlv, "ack", |t| {
                t.u32_u64("ack").map(|(id, claim)| (RouterId(id), claim))
            })?,
            // Unknown, or defined only for daemon payloads: skipped.
            _ => {}
        }
    }
    let state = required(state, end, "state")?;
    let (check_interval_ms, check_stamp_ms) = check.unwrap_or((0, 0));
    Ok(ServiceLsa {
        name: required(name, end, "name")?,
        generation: required(generation, end, "generation")?,
        kind: state.kind,
        config_state: state.config_state,
        run_state: state.run_state,
        preference: state.preference,
        critical: state.critical,
        standby: state.standby,
        handover: state.handover,
        group,
        depends,
        failure,
        check_interval_ms,
        check_stamp_ms,
        addresses,
        handoff_to,
        started_at_ms: started_at.unwrap_or(0),
        originator,
        claim,
        ack,
    })
}

fn decode_state(tlv: &Tlv<'_>) -> Result<State, DecodeError> {
    let [kind, config, run, preference, flags] = tlv.fixed::<5>("state", "5")?;
    let at = tlv.value_offset();
    let bad = |offset, field, value| DecodeError::BadEnum {
        offset,
        field,
        value,
    };
    Ok(State {
        kind: kind_from(kind).ok_or_else(|| bad(at, "service kind", kind))?,
        config_state: config_from(config).ok_or_else(|| bad(at + 1, "config state", config))?,
        run_state: run_from(run).ok_or_else(|| bad(at + 2, "run state", run))?,
        preference,
        // Undefined flag bits are ignored, so a later version may add some.
        critical: flags & FLAG_CRITICAL != 0,
        standby: flags & FLAG_STANDBY != 0,
        handover: flags & FLAG_HANDOVER != 0,
    })
}

fn decode_failure(tlv: &Tlv<'_>) -> Result<Failure, DecodeError> {
    let bad_length = DecodeError::BadLength {
        offset: tlv.offset,
        tlv: "failure",
        len: tlv.value.len(),
        expected: "4..=259",
    };
    let Some((code, text)) = tlv.value.split_first_chunk::<4>() else {
        return Err(bad_length);
    };
    if text.len() > MAX_FAILURE_TEXT {
        return Err(bad_length);
    }
    Ok(Failure {
        code: u32::from_be_bytes(*code),
        text: utf8(text, tlv.value_offset() + 4, "failure")?,
    })
}

fn kind_code(kind: ServiceKind) -> u8 {
    match kind {
        ServiceKind::Service => 1,
        ServiceKind::Resource => 2,
    }
}

fn kind_from(code: u8) -> Option<ServiceKind> {
    Some(match code {
        1 => ServiceKind::Service,
        2 => ServiceKind::Resource,
        _ => return None,
    })
}

fn config_code(state: ConfigState) -> u8 {
    match state {
        ConfigState::Disabled => 1,
        ConfigState::Inactive => 2,
        ConfigState::Injected => 3,
        ConfigState::Active => 4,
        ConfigState::Deactivated => 5,
        ConfigState::Failed => 6,
    }
}

fn config_from(code: u8) -> Option<ConfigState> {
    Some(match code {
        1 => ConfigState::Disabled,
        2 => ConfigState::Inactive,
        3 => ConfigState::Injected,
        4 => ConfigState::Active,
        5 => ConfigState::Deactivated,
        6 => ConfigState::Failed,
        _ => return None,
    })
}

fn run_code(state: RunState) -> u8 {
    match state {
        RunState::Stopped => 1,
        RunState::Starting => 2,
        RunState::Started => 3,
        RunState::Stopping => 4,
        RunState::Failed => 5,
    }
}

fn run_from(code: u8) -> Option<RunState> {
    Some(match code {
        1 => RunState::Stopped,
        2 => RunState::Starting,
        3 => RunState::Started,
        4 => RunState::Stopping,
        5 => RunState::Failed,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_codes_round_trip_and_zero_is_invalid() {
        for k in [ServiceKind::Service, ServiceKind::Resource] {
            assert_eq!(kind_from(kind_code(k)), Some(k));
        }
        for c in [
            ConfigState::Disabled,
            ConfigState::Inactive,
            ConfigState::Injected,
            ConfigState::Active,
            ConfigState::Deactivated,
            ConfigState::Failed,
        ] {
            assert_eq!(config_from(config_code(c)), Some(c));
        }
        for r in [
            RunState::Stopped,
            RunState::Starting,
            RunState::Started,
            RunState::Stopping,
            RunState::Failed,
        ] {
            assert_eq!(run_from(run_code(r)), Some(r));
        }
        assert_eq!(kind_from(0), None);
        assert_eq!(config_from(0), None);
        assert_eq!(run_from(0), None);
        assert_eq!(kind_from(3), None);
        assert_eq!(config_from(7), None);
        assert_eq!(run_from(6), None);
    }
}
