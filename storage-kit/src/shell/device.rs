//! Reading and writing the kit's blocks at the end of a block device, with
//! O_DIRECT so neither side's page cache serves an old copy of a block that
//! another node wrote through nbd.

use crate::record::BLOCK;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

/// A zeroed, 4 KiB-aligned block buffer, as O_DIRECT needs.
struct Aligned(*mut u8);

impl Aligned {
    fn layout() -> Layout {
        Layout::from_size_align(BLOCK, BLOCK).expect("4 KiB layout")
    }
    fn new() -> Aligned {
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(Self::layout()) };
        assert!(!p.is_null(), "out of memory");
        Aligned(p)
    }
    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the pointer owns BLOCK initialised bytes until drop.
        unsafe { std::slice::from_raw_parts_mut(self.0, BLOCK) }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with the same layout.
        unsafe { dealloc(self.0, Self::layout()) }
    }
}

fn open(dev: &str, write: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_DIRECT | if write { libc::O_SYNC } else { 0 })
        .open(dev)
}

pub fn size(dev: &str) -> std::io::Result<u64> {
    File::open(dev)?.seek(SeekFrom::End(0))
}

/// The block that ends `from_end` bytes before the end of `dev`.
pub fn read_block(dev: &str, from_end: u64) -> std::io::Result<Vec<u8>> {
    let mut f = open(dev, false)?;
    let end = f.seek(SeekFrom::End(0))?;
    f.seek(SeekFrom::Start(start_of(end, from_end)?))?;
    let mut buf = Aligned::new();
    f.read_exact(buf.bytes())?;
    Ok(buf.bytes().to_vec())
}

pub fn write_block(dev: &str, from_end: u64, data: &[u8]) -> std::io::Result<()> {
    let mut f = open(dev, true)?;
    let end = f.seek(SeekFrom::End(0))?;
    f.seek(SeekFrom::Start(start_of(end, from_end)?))?;
    let mut buf = Aligned::new();
    buf.bytes()[..data.len()].copy_from_slice(data);
    f.write_all(buf.bytes())?;
    f.sync_all()
}

fn start_of(end: u64, from_end: u64) -> std::io::Result<u64> {
    end.checked_sub(from_end)
        .filter(|_| end >= crate::record::RESERVED_TAIL)
        .ok_or_else(|| std::io::Error::other(format!("device too small ({end} bytes)")))
}
