// SPDX-License-Identifier: GPL-2.0

//! Comparing pmem without letting a poisoned line take the machine down.
//!
//! A load that consumes poisoned memory raises a machine check.  The kernel recovers from one
//! in kernel mode only when the faulting instruction has an exception-table entry of type
//! `EX_TYPE_DEFAULT_MCE_SAFE` (this is how `copy_mc_to_kernel()` works); the handler then
//! resumes at the entry's fixup address.  [`first_diff_block`] compares two ranges 32 bytes at a
//! step with every load so covered, so it is as safe as `copy_mc_to_kernel()` and does not
//! copy: two loads per word, as `memcmp()` does, but one branch per 32 bytes.

use kernel::error::{code::EIO, Result};

/// The block size [`first_diff_block`] compares at a step.
pub(crate) const BLOCK: usize = 32;

/// The exception-table entries of the loads at local labels 21 to 28 of an `asm!` block: each
/// resumes at label 31 after a machine check (or a fault) with type `EX_TYPE_DEFAULT_MCE_SAFE`.
/// Generated from the kernel's own `_ASM_EXTABLE_TYPE()` by Kbuild (`src/mcsafe_extable.rs.S`).
macro_rules! mce_safe_loads {
    () => {
        include!(concat!(env!("DAXCOW_OBJ"), "/src/mcsafe_extable.rs"))
    };
}

/// Compares `blocks` blocks of [`BLOCK`] bytes at `a` and `b` and returns the index of the first
/// block that differs, or `blocks` when all are equal.  A machine check on any load returns
/// `EIO`.
///
/// # Safety
///
/// `a` and `b` must be readable for `blocks * BLOCK` bytes (pmem mapped under
/// `dax_read_lock()`, or kernel memory), or up to a point past which every load faults (a
/// poisoned line, an unmapped page) into this function's exception-table fixup, and must stay so
/// for the duration of the call.
pub(crate) unsafe fn first_diff_block(a: *const u8, b: *const u8, blocks: usize) -> Result<usize> {
    let mut left = blocks;
    let mut failed: u32;
    // Every load has an MCE-safe exception-table entry whose fixup (label 31) leaves `failed`
    // set; the block clobbers only the registers declared here and the flags.
    // SAFETY: the loads stay within the `blocks * BLOCK` bytes the caller vouches for.
    unsafe {
        core::arch::asm!(
            "mov {failed:e}, 1",
            "20:",
            "test {left}, {left}",
            "jz 29f",
            "21: mov {x}, qword ptr [{a}]",
            "22: xor {x}, qword ptr [{b}]",
            "23: mov {y}, qword ptr [{a} + 8]",
            "24: xor {y}, qword ptr [{b} + 8]",
            "or {x}, {y}",
            "25: mov {y}, qword ptr [{a} + 16]",
            "26: xor {y}, qword ptr [{b} + 16]",
            "or {x}, {y}",
            "27: mov {y}, qword ptr [{a} + 24]",
            "28: xor {y}, qword ptr [{b} + 24]",
            "or {x}, {y}",
            "jnz 29f",
            "add {a}, 32",
            "add {b}, 32",
            "dec {left}",
            "jmp 20b",
            "29: xor {failed:e}, {failed:e}",
            "31:",
            mce_safe_loads!(),
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            left = inout(reg) left,
            failed = out(reg) failed,
            x = out(reg) _,
            y = out(reg) _,
            options(nostack, readonly),
        );
    }
    if failed != 0 {
        return Err(EIO);
    }
    Ok(blocks - left)
}

/// The unit [`copy_lines_nt`] copies: one cache line.
pub(crate) const LINE: usize = 64;

/// Copies `lines` cache lines of [`LINE`] bytes from `src` to `dst`, loading with
/// machine-check-safe loads (as [`first_diff_block`]) and storing with non-temporal `movnti`,
/// then `sfence`.  A poisoned source line returns `EIO`; what was copied before it stays
/// copied.
///
/// Non-temporal stores are how the kernel writes pmem it will not read back soon
/// (`memcpy_flushcache()`): a line overwritten whole is never read into the cache first, and
/// it leaves the cache with nothing dirty to write back.  `copy_mc_to_kernel()` stores through
/// the cache.  `movnti` takes general-purpose registers, so no FPU state is involved; the
/// final `sfence` orders the stores before anything the caller does next (the remap that
/// makes the copy visible).
///
/// # Safety
///
/// `dst` must be writable for `lines * LINE` bytes, `src` readable for as many or up to a point
/// past which every load faults (a poisoned line, an unmapped page) into this function's
/// exception-table fixup (pmem mapped under `dax_read_lock()`, or kernel memory), the ranges
/// must not overlap, and both must stay valid for the duration of the call.
pub(crate) unsafe fn copy_lines_nt(dst: *mut u8, src: *const u8, lines: usize) -> Result {
    let mut left = lines;
    let mut failed: u32;
    // Every load has an MCE-safe exception-table entry whose fixup (label 31) leaves `failed`
    // set and skips to the fence; the block clobbers only the registers declared here and the
    // flags, and writes memory only inside `dst`.
    // SAFETY: loads and stores stay within the `lines * LINE` bytes the caller vouches for.
    unsafe {
        core::arch::asm!(
            "mov {failed:e}, 1",
            "20:",
            "test {left}, {left}",
            "jz 29f",
            "21: mov {w}, qword ptr [{s}]",
            "22: mov {x}, qword ptr [{s} + 8]",
            "23: mov {y}, qword ptr [{s} + 16]",
            "24: mov {z}, qword ptr [{s} + 24]",
            "movnti qword ptr [{d}], {w}",
            "movnti qword ptr [{d} + 8], {x}",
            "movnti qword ptr [{d} + 16], {y}",
            "movnti qword ptr [{d} + 24], {z}",
            "25: mov {w}, qword ptr [{s} + 32]",
            "26: mov {x}, qword ptr [{s} + 40]",
            "27: mov {y}, qword ptr [{s} + 48]",
            "28: mov {z}, qword ptr [{s} + 56]",
            "movnti qword ptr [{d} + 32], {w}",
            "movnti qword ptr [{d} + 40], {x}",
            "movnti qword ptr [{d} + 48], {y}",
            "movnti qword ptr [{d} + 56], {z}",
            "add {s}, 64",
            "add {d}, 64",
            "dec {left}",
            "jmp 20b",
            "29: xor {failed:e}, {failed:e}",
            "31: sfence",
            mce_safe_loads!(),
            d = inout(reg) dst => _,
            s = inout(reg) src => _,
            left = inout(reg) left,
            failed = out(reg) failed,
            w = out(reg) _,
            x = out(reg) _,
            y = out(reg) _,
            z = out(reg) _,
            options(nostack),
        );
    }
    if failed != 0 {
        return Err(EIO);
    }
    debug_assert_eq!(left, 0);
    Ok(())
}
