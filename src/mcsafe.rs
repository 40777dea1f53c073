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
/// Prefetches (machine-check safe, see [`copy_lines_nt`]) start the first 4 KiB of both ranges
/// at once: natively (`make bench-native`), a cold 4 KiB compare took 1.7 us without them and
/// 1.05 us with them, a cached one 10% longer.
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
    // The first 4 KiB of both ranges, all at once, so their misses overlap; past that the
    // hardware's stream prefetchers keep ahead (a prefetch in the loop measured no better, and
    // costs load slots when the data is cached).  `blocks * BLOCK` is the caller's readable
    // length, so it does not overflow.
    let lines = (blocks * BLOCK).div_ceil(LINE).min(PREFETCH_AHEAD);
    for i in 0..lines {
        // SAFETY: a prefetch reads no register or memory architecturally and cannot fault; both
        // addresses are inside the caller's ranges (line `i` of at most `blocks * BLOCK` bytes).
        unsafe {
            core::arch::asm!(
                "prefetcht0 [{}]",
                "prefetcht0 [{}]",
                in(reg) a.wrapping_add(i * LINE),
                in(reg) b.wrapping_add(i * LINE),
                options(nostack, readonly, preserves_flags),
            );
        }
    }
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

/// How far ahead of its loads [`copy_lines_nt`] prefetches the source, in lines: a 4 KiB block.
pub(crate) const PREFETCH_AHEAD: usize = 64;

/// How a copy of `n` bytes to address `dst` is cut: a head edge up to the first cache-line
/// boundary of the destination, whole lines for [`copy_lines_nt`], and a tail edge.
///
/// # Invariants
///
/// `lead + lines * LINE + tail == n`, `lead < LINE`, `tail < LINE`, and `dst + lead` is
/// cache-line aligned whenever `lines > 0`.  The fields are private, so only [`LineSplit::new`]
/// makes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineSplit {
    lead: usize,
    lines: usize,
    tail: usize,
}

impl LineSplit {
    /// The cut of a copy of `n` bytes to the address `dst`.
    pub(crate) fn new(dst: usize, n: usize) -> Self {
        let lead = (dst.wrapping_neg() % LINE).min(n);
        let lines = (n - lead) / LINE;
        // INVARIANT: `lead <= n` and `lines * LINE <= n - lead`, so the tail is what is left,
        // less than a line; `dst + lead` is aligned unless `lead` was clipped to `n`, and then
        // `lines` is 0.
        Self {
            lead,
            lines,
            tail: n - lead - lines * LINE,
        }
    }

    /// Bytes before the first line boundary of the destination (at most `n`).
    pub(crate) fn lead(&self) -> usize {
        self.lead
    }

    /// Whole cache lines after the head.
    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    /// Bytes after the last whole line.
    pub(crate) fn tail(&self) -> usize {
        self.tail
    }

    /// Where the tail edge starts: `lead + lines * LINE` (at most `n`, by the invariant).
    pub(crate) fn bulk_end(&self) -> usize {
        self.lead + self.lines * LINE
    }
}

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
/// The source is prefetched [`PREFETCH_AHEAD`] lines ahead, never past its end.  Without it a
/// cold 4 KiB copy ran at half the speed of `rep movsb` plus a write-back (`make bench-native`):
/// 8-byte `movnti`s leave write-combining buffers half full while the next line's loads wait
/// on memory, and those buffers are the same ones that track the outstanding loads.  A
/// prefetch raises no exception and consumes no poison (it is a hint, as the hardware's own
/// prefetchers are, and they read ahead of every copy already); a poisoned line still stops the
/// copy at its first load, as documented above.
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
    // The first block of the source, all at once: its loads then overlap instead of waiting
    // on each other.
    let mut line = src;
    for _ in 0..lines.min(PREFETCH_AHEAD) {
        // SAFETY: a prefetch reads no register or memory architecturally and cannot fault;
        // `line` is inside the source range (at most its first PREFETCH_AHEAD lines).
        unsafe {
            core::arch::asm!(
                "prefetcht0 [{}]",
                in(reg) line,
                options(nostack, readonly, preserves_flags),
            );
        }
        line = line.wrapping_add(LINE);
    }
    // Every load has an MCE-safe exception-table entry whose fixup (label 31) leaves `failed`
    // set and skips to the fence; the block clobbers only the registers declared here and the
    // flags, and writes memory only inside `dst`.
    // SAFETY: loads, prefetches and stores stay within the `lines * LINE` bytes the caller
    // vouches for (a prefetch only while more than PREFETCH_AHEAD lines are left).
    unsafe {
        core::arch::asm!(
            "mov {failed:e}, 1",
            "20:",
            "test {left}, {left}",
            "jz 29f",
            // The line PREFETCH_AHEAD ahead, while there is one.
            "cmp {left}, {ahead}",
            "jbe 19f",
            "prefetcht0 [{s} + {ahead_bytes}]",
            "19:",
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
            ahead = const PREFETCH_AHEAD,
            ahead_bytes = const PREFETCH_AHEAD * LINE,
            options(nostack),
        );
    }
    if failed != 0 {
        return Err(EIO);
    }
    debug_assert_eq!(left, 0);
    Ok(())
}
