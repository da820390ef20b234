//! srrd's network RAID-1 resource (docs/storage.md): every node's local disk
//! is exported with nbd-server, and the node that runs the resource mirrors
//! its own disk and its peers' exports with md RAID-1.
//!
//! Pure parts (configuration, md's outputs, the generation records, the
//! freshness decision) are here with unit tests; `shell` runs the commands.

pub mod config;
pub mod freshness;
pub mod mdadm;
pub mod record;
pub mod shell;
