//! The kit's own blocks at the end of every member's backing device
//! (docs/storage.md, "Generation records"): the generation record, written by
//! the node that runs the array, and the export epoch, written by the
//! member's own node when its export starts. Both are one 4 KiB block of
//! text with a checksum, so a torn or foreign block is never mistaken for a
//! record.

use std::fmt;

/// Size of one block; the device tail holds two of them.
pub const BLOCK: usize = 4096;
/// Bytes at the end of every backing device that md never uses (the md
/// component size is set so its data stops before this tail).
pub const RESERVED_TAIL: u64 = 1024 * 1024;
/// Offset of the generation record, counted back from the device end.
pub const RECORD_FROM_END: u64 = BLOCK as u64;
/// Offset of the export epoch, counted back from the device end.
pub const EPOCH_FROM_END: u64 = 2 * BLOCK as u64;

const MAGIC: &str = "srrd-raid1 v1";

/// Which of the two blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Generation,
    Epoch,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Generation => "generation-record",
            Kind::Epoch => "export-epoch",
        }
    }
}

/// One generation of the array: who ran it and with which in-sync members.
/// An epoch block holds a copy of the member's record as it was when the
/// export started (`generation` 0 when it had none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// md array UUID as `mdadm --examine` prints it.
    pub array: String,
    pub generation: u64,
    /// Node that wrote the generation (ran the array).
    pub writer: String,
    /// Node names of the in-sync members in this generation.
    pub members: Vec<String>,
}

impl Record {
    /// What an epoch stores when the member had no record yet.
    pub fn none() -> Record {
        Record {
            array: "-".into(),
            generation: 0,
            writer: "-".into(),
            members: vec![],
        }
    }

    pub fn encode(&self, kind: Kind) -> Vec<u8> {
        let body = format!(
            "{MAGIC} {}\narray={}\ngeneration={}\nwriter={}\nmembers={}\n",
            kind.word(),
            self.array,
            self.generation,
            self.writer,
            self.members.join(",")
        );
        let mut block = format!("{body}check={:016x}\n", fnv1a(body.as_bytes())).into_bytes();
        block.resize(BLOCK, 0);
        block
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "generation {} by {} (members {}; array {})",
            self.generation,
            self.writer,
            if self.members.is_empty() {
                "-".into()
            } else {
                self.members.join(",")
            },
            self.array
        )
    }
}

/// What a block on a device holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// Zeros or anything that does not start with the magic: never written.
    Blank,
    /// Starts with the magic but does not check out (torn write, damage).
    Corrupt(String),
    Valid(Record),
}

pub fn decode(bytes: &[u8], kind: Kind) -> Block {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let Ok(text) = std::str::from_utf8(&bytes[..end]) else {
        return if bytes.starts_with(MAGIC.as_bytes()) {
            Block::Corrupt("not UTF-8".into())
        } else {
            Block::Blank
        };
    };
    if !text.starts_with(MAGIC) {
        return Block::Blank;
    }
    match parse(text, kind) {
        Ok(r) => Block::Valid(r),
        Err(e) => Block::Corrupt(e),
    }
}

fn parse(text: &str, kind: Kind) -> Result<Record, String> {
    let Some(check_at) = text.rfind("check=") else {
        return Err("no checksum line".into());
    };
    let (body, check) = text.split_at(check_at);
    let want = check.trim_start_matches("check=").trim_end();
    if want != format!("{:016x}", fnv1a(body.as_bytes())) {
        return Err("checksum mismatch".into());
    }
    let mut lines = body.lines();
    if lines.next() != Some(&format!("{MAGIC} {}", kind.word())[..]) {
        return Err(format!("not a {} block", kind.word()));
    }
    let mut field = |name: &str| -> Result<String, String> {
        let line = lines.next().ok_or(format!("missing {name}"))?;
        line.strip_prefix(name)
            .and_then(|v| v.strip_prefix('='))
            .map(str::to_owned)
            .ok_or(format!("expected {name}=, found {line:?}"))
    };
    let array = field("array")?;
    let generation = field("generation")?
        .parse()
        .map_err(|e| format!("generation: {e}"))?;
    let writer = field("writer")?;
    let members = field("members")?;
    let members = members
        .split(',')
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Record {
        array,
        generation,
        writer,
        members,
    })
}

/// FNV-1a 64: detects torn and foreign blocks; not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            array: "3f1e0c2a:11111111:22222222:33333333".into(),
            generation: 7,
            writer: "n1".into(),
            members: vec!["n1".into(), "n3".into()],
        }
    }

    #[test]
    fn round_trip() {
        let block = sample().encode(Kind::Generation);
        assert_eq!(block.len(), BLOCK);
        assert_eq!(decode(&block, Kind::Generation), Block::Valid(sample()));
        let none = Record::none();
        assert_eq!(
            decode(&none.encode(Kind::Epoch), Kind::Epoch),
            Block::Valid(none)
        );
    }

    #[test]
    fn zeros_and_foreign_data_are_blank() {
        assert_eq!(decode(&[0u8; BLOCK], Kind::Generation), Block::Blank);
        assert_eq!(decode(&[0xffu8; BLOCK], Kind::Generation), Block::Blank);
        assert_eq!(decode(b"hello world", Kind::Generation), Block::Blank);
    }

    #[test]
    fn damage_is_corrupt_not_blank() {
        let mut block = sample().encode(Kind::Generation);
        let at = block.iter().position(|&b| b == b'7').unwrap();
        block[at] = b'9';
        assert!(matches!(
            decode(&block, Kind::Generation),
            Block::Corrupt(_)
        ));
        // A torn write: the second half of the text is gone.
        let mut torn = sample().encode(Kind::Generation);
        torn[40..].fill(0);
        assert!(matches!(decode(&torn, Kind::Generation), Block::Corrupt(_)));
    }

    #[test]
    fn the_kinds_are_not_interchangeable() {
        let block = sample().encode(Kind::Epoch);
        assert!(matches!(
            decode(&block, Kind::Generation),
            Block::Corrupt(_)
        ));
    }
}
