// SPDX-License-Identifier: GPL-2.0

//! The engine's counters, readable in `/sys/kernel/debug/daxcow/stats` as `name value` lines,
//! so that a test can prove which engine did the work.  Per-CPU (see `src/daxcow_stats.c`).

use core::ffi::{c_char, c_uint};
use kernel::prelude::*;

use crate::helpers;

/// One counter.  The discriminant is the index into [`NAMES`].
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
pub enum Stat {
    /// Copy-arounds for `write(2)` into a shared extent.
    CowWrite,
    /// Copy-arounds for zeroing or truncation into a shared extent.
    CowZero,
    /// Copy-arounds for a write fault on a shared page.
    CowFaultPte,
    /// Copy-arounds for a write fault on a shared huge page.
    CowFaultPmd,
    /// Bytes copied from an old extent by copy-arounds.
    CowBytesCopied,
    /// Bytes zeroed by copy-arounds whose source is a hole or unwritten.
    CowBytesZeroed,
    /// `FALLOC_FL_UNSHARE_RANGE` copies.
    Unshares,
    /// Bytes copied by unshare.
    UnshareBytes,
    /// FIDEDUPERANGE compares.
    Compares,
    /// Bytes found equal or compared by FIDEDUPERANGE.
    BytesCompared,
    /// Compares that found the ranges different.
    Mismatches,
    /// Operations that returned an error.
    Errors,
}

/// Number of counters.
pub const NR_STATS: usize = Stat::Errors as usize + 1;

struct Names([*const c_char; NR_STATS]);
// SAFETY: the pointers refer to immutable string literals with 'static lifetime.
unsafe impl Sync for Names {}

/// The counters' names, in [`Stat`] order, as C strings for the debugfs file.
static NAMES: Names = Names([
    c"cow_write".as_ptr(),
    c"cow_zero".as_ptr(),
    c"cow_fault_pte".as_ptr(),
    c"cow_fault_pmd".as_ptr(),
    c"cow_bytes_copied".as_ptr(),
    c"cow_bytes_zeroed".as_ptr(),
    c"unshares".as_ptr(),
    c"unshare_bytes".as_ptr(),
    c"compares".as_ptr(),
    c"bytes_compared".as_ptr(),
    c"mismatches".as_ptr(),
    c"errors".as_ptr(),
]);

/// Adds `n` to `stat` on this CPU: no lock, no shared cache line.
#[inline]
pub fn add(stat: Stat, n: u64) {
    // SAFETY: the counters exist while the module is loaded (created in `Registration::new`
    // before the engine is registered, destroyed after it is unregistered), and the index is
    // below NR_STATS by construction.
    unsafe { helpers::daxcow_stat_add(stat as c_uint, n) }
}

/// Owns the counters and their debugfs file.
pub struct Registration;

impl Registration {
    /// Allocates the counters and creates the debugfs file.
    pub fn new() -> Result<Self> {
        // SAFETY: NAMES is 'static and holds NR_STATS valid C strings.
        let ret = unsafe { helpers::daxcow_stats_create(NAMES.0.as_ptr(), NR_STATS as c_uint) };
        kernel::error::to_result(ret)?;
        Ok(Registration)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: created in `new`; nothing counts any more once the engine is unregistered,
        // which the module does before dropping this.
        unsafe { helpers::daxcow_stats_destroy() }
    }
}
