//! What the fuzzer and failnth share: ioctl and fallocate numbers, and small system-call
//! helpers.

// Each binary includes this file and uses part of it.
#![allow(dead_code)]

use std::ffi::CString;
use std::process::Command;

pub const FICLONE: libc::c_ulong = 0x4004_9409;
pub const FICLONERANGE: libc::c_ulong = 0x4020_940D;
pub const FIDEDUPERANGE: libc::c_ulong = 0xC018_9436;
pub const FALLOC_FL_KEEP_SIZE: i32 = 0x01;
pub const FALLOC_FL_PUNCH_HOLE: i32 = 0x02;
pub const FALLOC_FL_ZERO_RANGE: i32 = 0x10;
pub const FALLOC_FL_UNSHARE_RANGE: i32 = 0x40;
/// `_IOWR('f', 11, struct fiemap)`.
pub const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
pub const FIEMAP_EXTENT_UNWRITTEN: u32 = 0x800;
pub const FIEMAP_EXTENT_SHARED: u32 = 0x2000;

/// `struct file_clone_range`, FICLONERANGE's argument.
#[repr(C)]
struct FileCloneRange {
    src_fd: i64,
    src_offset: u64,
    src_length: u64,
    dest_offset: u64,
}

/// FICLONERANGE: clones `len` bytes of `src` at `src_off` into `dst` at `dst_off`.  False on
/// failure, with errno set.
pub fn clone_range(
    dst: libc::c_int,
    src: libc::c_int,
    src_off: u64,
    len: u64,
    dst_off: u64,
) -> bool {
    let arg = FileCloneRange {
        src_fd: src.into(),
        src_offset: src_off,
        src_length: len,
        dest_offset: dst_off,
    };
    // SAFETY: FICLONERANGE reads one struct file_clone_range, which `arg` is, and writes no
    // memory.
    unsafe { libc::ioctl(dst, FICLONERANGE, &arg) == 0 }
}

/// One extent of FIEMAP: logical offset, physical offset, length, flags.
#[derive(Clone, Copy, Debug)]
pub struct Extent {
    pub logical: u64,
    pub physical: u64,
    pub len: u64,
    pub flags: u32,
}

/// The most extents `fiemap` returns: a file with more gets a list that ends early.
pub const FIEMAP_COUNT: usize = 512;

/// The extents of `fd` (FIEMAP, synced first), up to `FIEMAP_COUNT` of them: `None` if the
/// call fails.
pub fn fiemap(fd: libc::c_int) -> Option<Vec<Extent>> {
    fiemap_flags(fd, 1)
}

/// The extents of `fd` as they are, without writing anything back first: for looking, without
/// changing what the next step finds (dirty DAX entries stay dirty).
pub fn fiemap_nosync(fd: libc::c_int) -> Option<Vec<Extent>> {
    fiemap_flags(fd, 0)
}

fn fiemap_flags(fd: libc::c_int, flags: u64) -> Option<Vec<Extent>> {
    const COUNT: usize = FIEMAP_COUNT;
    // struct fiemap: start, length, flags, mapped, count, reserved; then 56-byte extents.
    let mut buf = vec![0u64; (32 + 56 * COUNT) / 8];
    buf[1] = u64::MAX;
    buf[2] = flags; // FIEMAP_FLAG_SYNC (1) or none in the low 32 bits; fm_mapped_extents 0
    buf[3] = COUNT as u64; // fm_extent_count in the low 32 bits
                           // SAFETY: buf is a struct fiemap with room for COUNT extents.
    if unsafe { libc::ioctl(fd, FS_IOC_FIEMAP, buf.as_mut_ptr()) } != 0 {
        return None;
    }
    let mapped = (buf[2] >> 32) as usize;
    Some(
        (0..mapped.min(COUNT))
            .map(|i| {
                let e = &buf[4 + 7 * i..4 + 7 * i + 7];
                Extent {
                    logical: e[0],
                    physical: e[1],
                    len: e[2],
                    flags: e[5] as u32,
                }
            })
            .collect(),
    )
}

/// A path or argument as a C string (none of ours contains a NUL).
pub fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in a path or argument")
}

/// Runs a command and says whether it succeeded.
pub fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// errno of the last failed system call.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
