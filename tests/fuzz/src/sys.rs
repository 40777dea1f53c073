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
