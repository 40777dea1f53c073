// SPDX-License-Identifier: GPL-2.0

//! The engine's counters, readable in `/sys/kernel/debug/daxcow/stats` as `name value` lines,
//! so that a test can prove which engine did the work.  Per-CPU (see `src/daxcow_stats.c`).

use kernel::{
    ffi::c_uint,
    prelude::*, //
};

use crate::helpers;

/// One counter.  The discriminant is the index into [`NAMES`].
#[derive(Clone, Copy, Debug)]
#[repr(u32)]
pub(crate) enum Stat {
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
    /// Stored byte ranges not durable when their operation ended (trace build only).
    #[cfg(daxcow_trace)]
    PersistenceViolations,
}

/// Number of counters.
#[cfg(not(daxcow_trace))]
pub(crate) const NR_STATS: usize = Stat::Errors as usize + 1;
/// Number of counters.
#[cfg(daxcow_trace)]
pub(crate) const NR_STATS: usize = Stat::PersistenceViolations as usize + 1;

struct Names([*const u8; NR_STATS]);
// SAFETY: the pointers refer to immutable string literals with 'static lifetime.
unsafe impl Sync for Names {}

/// The counters' names, in [`Stat`] order, as NUL-terminated strings for the debugfs file
/// (as `u8` pointers: the kernel's `char` is unsigned).
static NAMES: Names = Names([
    c"cow_write".to_bytes_with_nul().as_ptr(),
    c"cow_zero".to_bytes_with_nul().as_ptr(),
    c"cow_fault_pte".to_bytes_with_nul().as_ptr(),
    c"cow_fault_pmd".to_bytes_with_nul().as_ptr(),
    c"cow_bytes_copied".to_bytes_with_nul().as_ptr(),
    c"cow_bytes_zeroed".to_bytes_with_nul().as_ptr(),
    c"unshares".to_bytes_with_nul().as_ptr(),
    c"unshare_bytes".to_bytes_with_nul().as_ptr(),
    c"compares".to_bytes_with_nul().as_ptr(),
    c"bytes_compared".to_bytes_with_nul().as_ptr(),
    c"mismatches".to_bytes_with_nul().as_ptr(),
    c"errors".to_bytes_with_nul().as_ptr(),
    #[cfg(daxcow_trace)]
    c"persistence_violations".to_bytes_with_nul().as_ptr(),
]);

/// Adds `n` to `stat` on this CPU: no lock, no shared cache line.
#[inline]
pub(crate) fn add(stat: Stat, n: u64) {
    // daxcow_stat_add() ignores an index at or past the number of live counters (zero when
    // none exist); the module creates the counters before the engine is registered and destroys
    // them after it is unregistered, so no engine call counts into freed memory.
    // SAFETY: the helper's only precondition is that it does not race with
    // daxcow_stats_destroy(), which the module's ordering above ensures.
    unsafe { helpers::daxcow_stat_add(stat as c_uint, n) }
}

/// Owns the counters and their debugfs file.
///
/// # Invariants
///
/// The counters exist from [`Registration::new`] until the value is dropped; only `new` makes
/// one, and the C side refuses a second while one exists.
pub(crate) struct Registration {
    _private: (),
}

impl Registration {
    /// Allocates the counters and creates the debugfs file.
    ///
    /// # Safety
    ///
    /// The value is dropped before the module's memory is freed (it is kept in the module's
    /// state): the debugfs files' operations are the module's code, and a value forgotten with
    /// [`core::mem::forget`] would leave the files behind after unload.
    pub(crate) unsafe fn new() -> Result<Self> {
        // SAFETY: NAMES is 'static and holds NR_STATS valid C strings.
        let ret = unsafe { helpers::daxcow_stats_create(NAMES.0.as_ptr(), NR_STATS as c_uint) };
        kernel::error::to_result(ret)?;
        // INVARIANT: the counters were just created.
        Ok(Registration { _private: () })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The module unregisters the engine, the only counter, before dropping this.
        // SAFETY: created in `new` (type invariant), and nothing counts any more.
        unsafe { helpers::daxcow_stats_destroy() }
    }
}
