// SPDX-License-Identifier: GPL-2.0

//! Declarations of the C helpers compiled into the module (`bindings/daxcow_helpers.h`,
//! implemented in `src/daxcow_stats.c`).  Everything else the module calls from C comes from the
//! kernel crate's generated `bindings`, to which the shim series adds `linux/dax.h`,
//! `linux/dax_cow.h` and `linux/iomap.h`.

use kernel::ffi::{
    c_int,
    c_uint, //
};

extern "C" {
    /// Allocates the per-CPU counters and creates `/sys/kernel/debug/daxcow/stats`;
    /// `names` must outlive [`daxcow_stats_destroy`].
    pub(crate) fn daxcow_stats_create(names: *const *const u8, nr: c_uint) -> c_int;
    /// Removes the debugfs file and frees the counters.
    pub(crate) fn daxcow_stats_destroy();
    /// Adds `n` to counter `idx` on this CPU; ignores an `idx` at or past the number of live
    /// counters (none before [`daxcow_stats_create`] or after [`daxcow_stats_destroy`]).
    ///
    /// # Safety
    ///
    /// Must not run concurrently with [`daxcow_stats_destroy`], which frees the counters.
    pub(crate) fn daxcow_stat_add(idx: c_uint, n: u64);
    /// Whether `copy_mc_to_kernel()` sees ERMS (`cpu_feature_enabled(X86_FEATURE_ERMS)`), for the
    /// KUnit suite.
    pub(crate) fn daxcow_cpu_has_erms() -> bool;
}
