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

/// `EX_TYPE_DEFAULT_MCE_SAFE` from `arch/x86/include/asm/extable_fixup_types.h`.
const EX_TYPE_DEFAULT_MCE_SAFE: u32 = 14;

/// Compares `blocks` blocks of [`BLOCK`] bytes at `a` and `b` and returns the index of the first
/// block that differs, or `blocks` when all are equal.  A machine check on any load returns
/// `EIO`.
///
/// # Safety
///
/// `a` and `b` must be readable for `blocks * BLOCK` bytes (pmem mapped under
/// `dax_read_lock()`, or kernel memory), and must stay so for the duration of the call.
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
            ".pushsection __ex_table, \"a\"",
            ".balign 4",
            ".long 21b - .", ".long 31b - .", ".long {t}",
            ".long 22b - .", ".long 31b - .", ".long {t}",
            ".long 23b - .", ".long 31b - .", ".long {t}",
            ".long 24b - .", ".long 31b - .", ".long {t}",
            ".long 25b - .", ".long 31b - .", ".long {t}",
            ".long 26b - .", ".long 31b - .", ".long {t}",
            ".long 27b - .", ".long 31b - .", ".long {t}",
            ".long 28b - .", ".long 31b - .", ".long {t}",
            ".popsection",
            a = inout(reg) a => _,
            b = inout(reg) b => _,
            left = inout(reg) left,
            failed = out(reg) failed,
            x = out(reg) _,
            y = out(reg) _,
            t = const EX_TYPE_DEFAULT_MCE_SAFE,
            options(nostack, readonly),
        );
    }
    if failed != 0 {
        return Err(EIO);
    }
    Ok(blocks - left)
}
