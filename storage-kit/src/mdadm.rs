//! Parsers for what mdadm 4.2 and the kernel print: `mdadm --examine DEV`,
//! `mdadm --detail MD` and `/proc/mdstat`. Pure functions over text; the
//! fixtures in tests/fixtures/ are outputs recorded in the test VM.

/// A member's role as its own superblock records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Active(usize),
    Spare,
    Other(String),
}

/// `mdadm --examine DEV` of a device that has an md superblock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Examine {
    pub array_uuid: String,
    pub events: u64,
    pub role: Role,
    /// The array as this member saw it last, one character per role:
    /// `A` active, `.` missing, `R` replacing.
    pub array_state: String,
    pub internal_bitmap: bool,
    /// The member was being recovered and is not complete.
    pub recovering: bool,
}

impl Examine {
    /// Whether this member's last view had role `r` active.
    pub fn saw_active(&self, r: usize) -> bool {
        self.array_state.as_bytes().get(r) == Some(&b'A')
    }
}

fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|l| {
        let (k, v) = l.split_once(" : ")?;
        Some((k.trim(), v.trim()))
    })
}

fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    fields(text).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// `None` when the text has no md superblock fields (mdadm then prints
/// "No md superblock detected" and exits 1; the caller passes its output).
pub fn parse_examine(text: &str) -> Result<Option<Examine>, String> {
    let Some(array_uuid) = field(text, "Array UUID") else {
        return Ok(None);
    };
    let events = field(text, "Events")
        .ok_or("no Events line")?
        .parse()
        .map_err(|e| format!("Events: {e}"))?;
    let role = match field(text, "Device Role").ok_or("no Device Role line")? {
        "spare" => Role::Spare,
        r => match r.strip_prefix("Active device ").map(str::parse) {
            Some(Ok(n)) => Role::Active(n),
            _ => Role::Other(r.to_owned()),
        },
    };
    let array_state = field(text, "Array State")
        .ok_or("no Array State line")?
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned();
    Ok(Some(Examine {
        array_uuid: array_uuid.to_owned(),
        events,
        role,
        array_state,
        internal_bitmap: field(text, "Internal Bitmap").is_some(),
        recovering: field(text, "Recovery Offset").is_some(),
    }))
}

/// One row of the device table at the end of `mdadm --detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailMember {
    /// The slot (`RaidDevice`); `None` for faulty and spare rows (`-`).
    pub raid_device: Option<usize>,
    /// e.g. `["active", "sync"]`, `["spare", "rebuilding"]`, `["faulty"]`.
    pub state: Vec<String>,
    /// `None` for a `removed` row.
    pub device: Option<String>,
}

impl DetailMember {
    pub fn in_sync(&self) -> bool {
        self.state.iter().any(|s| s == "sync") && self.state.iter().any(|s| s == "active")
    }
    pub fn faulty(&self) -> bool {
        self.state.iter().any(|s| s == "faulty")
    }
}

/// `mdadm --detail MD` of a running array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detail {
    pub uuid: String,
    pub events: u64,
    /// e.g. `clean, degraded, recovering`.
    pub state: String,
    pub raid_devices: usize,
    pub bitmap_internal: bool,
    pub rebuild_status: Option<String>,
    pub members: Vec<DetailMember>,
}

impl Detail {
    pub fn member(&self, device: &str) -> Option<&DetailMember> {
        self.members
            .iter()
            .find(|m| m.device.as_deref() == Some(device))
    }
}

pub fn parse_detail(text: &str) -> Result<Detail, String> {
    let uuid = field(text, "UUID").ok_or("no UUID line")?.to_owned();
    let events = field(text, "Events")
        .ok_or("no Events line")?
        .parse()
        .map_err(|e| format!("Events: {e}"))?;
    let raid_devices = field(text, "Raid Devices")
        .ok_or("no Raid Devices line")?
        .parse()
        .map_err(|e| format!("Raid Devices: {e}"))?;
    let mut members = vec![];
    let mut in_table = false;
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.first() == Some(&"Number") {
            in_table = true;
            continue;
        }
        if !in_table || t.len() < 5 {
            continue;
        }
        // Number Major Minor RaidDevice State... [Device]
        let device = t
            .last()
            .filter(|d| d.starts_with('/'))
            .map(|d| d.to_string());
        let state_end = if device.is_some() {
            t.len() - 1
        } else {
            t.len()
        };
        members.push(DetailMember {
            raid_device: t[3].parse().ok(),
            state: t[4..state_end].iter().map(|s| s.to_string()).collect(),
            device,
        });
    }
    Ok(Detail {
        uuid,
        events,
        state: field(text, "State").unwrap_or("").to_owned(),
        raid_devices,
        bitmap_internal: field(text, "Intent Bitmap") == Some("Internal"),
        rebuild_status: field(text, "Rebuild Status")
            .or(field(text, "Resync Status"))
            .map(str::to_owned),
        members,
    })
}

/// What `/proc/mdstat` says about one array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MdStat {
    /// e.g. `[3/2] [UU_]`.
    pub members: String,
    /// e.g. `recovery = 12.5% (32768/261120) finish=0.1min speed=32768K/sec`.
    pub sync: Option<String>,
    /// e.g. `bitmap: 1/1 pages [4KB], 1024KB chunk`.
    pub bitmap: Option<String>,
}

/// `None` when `md` (e.g. `md10`) is not listed.
pub fn parse_mdstat(text: &str, md: &str) -> Option<MdStat> {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{md} :")));
    lines.next()?;
    let mut stat = MdStat::default();
    for line in lines {
        let l = line.trim();
        if l.is_empty() || !line.starts_with(' ') {
            break;
        }
        if let Some(at) = l.find("blocks") {
            stat.members = l[at..]
                .split_whitespace()
                .filter(|t| t.starts_with('['))
                .collect::<Vec<_>>()
                .join(" ");
        } else if let Some(b) = l.strip_prefix("bitmap: ") {
            stat.bitmap = Some(format!("bitmap: {b}"));
        } else if let Some(at) = ["recovery", "resync", "check", "reshape"]
            .iter()
            .find_map(|w| l.find(&format!("{w} =")))
        {
            stat.sync = Some(l[at..].to_owned());
        } else if l.contains("DELAYED") || l.contains("PENDING") {
            stat.sync = Some(l.to_owned());
        }
    }
    Some(stat)
}

/// `mdadm --examine-bitmap`: (dirty chunks, total chunks).
pub fn parse_bitmap_dirty(text: &str) -> Option<(u64, u64)> {
    // "Bitmap : 64 bits (chunks), 3 dirty (4.7%)"
    let v = field(text, "Bitmap")?;
    let mut t = v.split_whitespace();
    let total = t.next()?.parse().ok()?;
    let dirty = t.nth(2)?.parse().ok()?;
    Some((dirty, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn examine_of_an_in_sync_member() {
        let e = parse_examine(&fixture("examine-in-sync.txt"))
            .unwrap()
            .unwrap();
        assert_eq!(e.role, Role::Active(0));
        assert_eq!(e.array_state, "AAA");
        assert!(e.internal_bitmap);
        assert!(!e.recovering);
        assert!(e.events > 0);
        assert!(e.saw_active(2) && !e.saw_active(3));
    }

    #[test]
    fn examine_of_a_member_that_ran_alone() {
        let e = parse_examine(&fixture("examine-alone.txt"))
            .unwrap()
            .unwrap();
        assert_eq!(e.array_state.matches('A').count(), 1);
    }

    #[test]
    fn examine_without_superblock() {
        assert_eq!(parse_examine(&fixture("examine-none.txt")).unwrap(), None);
    }

    #[test]
    fn detail_of_a_degraded_array_with_a_faulty_member() {
        let d = parse_detail(&fixture("detail-faulty.txt")).unwrap();
        assert_eq!(d.raid_devices, 3);
        assert!(d.bitmap_internal);
        assert!(d.state.contains("degraded"));
        assert_eq!(d.members.iter().filter(|m| m.in_sync()).count(), 2);
        assert_eq!(d.members.iter().filter(|m| m.faulty()).count(), 1);
    }

    #[test]
    fn detail_while_recovering() {
        let d = parse_detail(&fixture("detail-recovering.txt")).unwrap();
        assert!(d.rebuild_status.is_some());
        assert!(d
            .members
            .iter()
            .any(|m| m.state.contains(&"rebuilding".to_string())));
    }

    #[test]
    fn mdstat_lists_sync_and_bitmap() {
        let s = parse_mdstat(&fixture("mdstat-recovering.txt"), "md11").unwrap();
        assert!(
            s.sync.as_deref().unwrap().starts_with("recovery ="),
            "{s:?}"
        );
        assert!(s.bitmap.is_some());
        assert!(s.members.starts_with('['));
        assert_eq!(
            parse_mdstat(&fixture("mdstat-recovering.txt"), "md99"),
            None
        );
    }

    #[test]
    fn examine_bitmap_counts_dirty_chunks() {
        let (dirty, total) = parse_bitmap_dirty(&fixture("examine-bitmap.txt")).unwrap();
        assert!(total > 0 && dirty <= total);
    }
}
