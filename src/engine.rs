// SPDX-License-Identifier: GPL-2.0

//! The engine: the three operations `fs/dax.c` hands to daxcow through
//! `include/linux/dax_cow.h`, on top of the pure planning, walking and comparing code.
//!
//! Unsafe code is confined to this file's edge with C: turning the raw request into safe
//! values, mapping pmem, and the machine-check-safe copy.  Everything that decides what to do
//! is safe code shared with the host tests.

use core::ffi::{c_int, c_uint, c_void};
use core::ptr;

use kernel::bindings;
use kernel::error::{code::*, to_result};
use kernel::prelude::*;

use crate::compare::{first_difference, PairRule};
use crate::cow_plan::CopyAroundPlan;
use crate::extent::ExtentKind;
use crate::lockstep::{compare_ranges, DataOutcome, Mapping, MappingCursor, Pair, WalkError};
use crate::mcsafe::{self, BLOCK};
use crate::stats::{self, Stat};

/// Holds `dax_read_lock()`, which keeps a dax device's mappings valid.
struct DaxReadGuard(c_int);

impl DaxReadGuard {
    fn new() -> Self {
        // SAFETY: dax_read_lock() has no precondition; the guard releases it exactly once.
        DaxReadGuard(unsafe { bindings::dax_read_lock() })
    }
}

impl Drop for DaxReadGuard {
    fn drop(&mut self) {
        // SAFETY: the id came from the matching dax_read_lock() in `new`.
        unsafe { bindings::dax_read_unlock(self.0) }
    }
}

/// Part of an extent mapped into the kernel: `len` bytes at `addr`, valid while the
/// [`DaxReadGuard`] it was mapped under is held.
#[derive(Clone, Copy)]
struct PmemSpan {
    addr: *mut u8,
    len: u64,
}

impl PmemSpan {
    /// Maps up to `len` bytes of `iomap` from file offset `pos`.  The result may be shorter
    /// than asked (a known bad block lies ahead) but never empty.
    fn map(_guard: &DaxReadGuard, iomap: &bindings::iomap, pos: u64, len: u64) -> Result<Self> {
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let want = usize::try_from(len).map_err(|_| EINVAL)?;
        let mut kaddr: *mut c_void = ptr::null_mut();
        // `iomap` is a mapping the file system produced for this operation.
        // SAFETY: the guard holds dax_read_lock() as required, and `kaddr` is writable.
        let got = unsafe { bindings::dax_cow_direct_access(iomap, pos, want, &mut kaddr) };
        if got < 0 {
            return Err(Error::from_errno(got as c_int));
        }
        if got == 0 || kaddr.is_null() {
            return Err(EIO);
        }
        Ok(PmemSpan {
            addr: kaddr.cast(),
            len: got as u64,
        })
    }

    /// The address `off` bytes in; `off` must not exceed `len`.
    fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.len);
        // SAFETY: `off <= len` and `len` bytes are mapped: inside or one past the mapping.
        unsafe { self.addr.add(off as usize) }
    }
}

/// Copies `len` bytes of pmem from `src` to `dst` of `dax_dev`, durably: a poisoned source line
/// ends the copy with `EIO` instead of a machine check that takes the machine down.  The whole
/// cache lines of the destination go through [`mcsafe::copy_lines_nt`] (non-temporal stores
/// and a fence, as `memcpy_flushcache()` writes pmem: nothing is left in the cache to write
/// back), the unaligned edges through `copy_mc_to_kernel()` and a cache write-back.
///
/// # Safety
///
/// `src` must be readable and `dst` writable for `len` bytes, both pmem mapped under a held
/// [`DaxReadGuard`], `dst` on `dax_dev`, and the ranges must not overlap.
unsafe fn copy_to_pmem(
    dax_dev: *mut bindings::dax_device,
    dst: *mut u8,
    src: *const u8,
    len: u64,
) -> Result {
    let len = usize::try_from(len).map_err(|_| EINVAL)?;
    let lead = ((dst as usize).wrapping_neg() % mcsafe::LINE).min(len);
    let lines = (len - lead) / mcsafe::LINE;
    let bulk_end = lead + lines * mcsafe::LINE;
    let tail = len - bulk_end;
    // SAFETY: `lead <= bulk_end <= len`: every piece is inside what the caller vouches for.
    unsafe {
        copy_mc_edge(dst, src, lead)?;
        mcsafe::copy_lines_nt(dst.add(lead), src.add(lead), lines)?;
        copy_mc_edge(dst.add(bulk_end), src.add(bulk_end), tail)?;
    }
    flush(dax_dev, dst, lead);
    // SAFETY: `bulk_end <= len`.
    flush(dax_dev, unsafe { dst.add(bulk_end) }, tail);
    Ok(())
}

/// `copy_mc_to_kernel()` of an edge shorter than a cache line.
///
/// # Safety
///
/// `src` must be readable and `dst` writable for `len` bytes, and the ranges must not overlap.
unsafe fn copy_mc_edge(dst: *mut u8, src: *const u8, len: usize) -> Result {
    if len == 0 {
        return Ok(());
    }
    let n = c_uint::try_from(len).map_err(|_| EINVAL)?;
    // SAFETY: the caller's ranges; `n` is their length.
    let left = unsafe { bindings::copy_mc_to_kernel(dst.cast(), src.cast(), n) };
    if left != 0 {
        return Err(EIO);
    }
    Ok(())
}

/// Writes back the CPU cache lines of `[addr, addr + len)` of `dax_dev` toward the persistence
/// domain (a no-op on devices without a volatile write cache).
fn flush(dax_dev: *mut bindings::dax_device, addr: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    // dax_flush() only issues cache write-backs for the range.
    // SAFETY: `addr..addr + len` is pmem of `dax_dev` mapped by the caller under a held guard.
    unsafe { bindings::dax_flush(dax_dev, addr.cast(), len) }
}

fn source_kind(source: bindings::dax_cow_source) -> Result<ExtentKind> {
    match source {
        bindings::dax_cow_source_DAX_COW_SRC_HOLE => Ok(ExtentKind::Hole),
        bindings::dax_cow_source_DAX_COW_SRC_UNWRITTEN => Ok(ExtentKind::Unwritten),
        bindings::dax_cow_source_DAX_COW_SRC_MAPPED => Ok(ExtentKind::Mapped),
        _ => Err(EINVAL),
    }
}

fn caller_stat(caller: bindings::dax_cow_caller) -> Result<Stat> {
    match caller {
        bindings::dax_cow_caller_DAX_COW_WRITE => Ok(Stat::CowWrite),
        bindings::dax_cow_caller_DAX_COW_ZERO => Ok(Stat::CowZero),
        bindings::dax_cow_caller_DAX_COW_FAULT_PTE => Ok(Stat::CowFaultPte),
        bindings::dax_cow_caller_DAX_COW_FAULT_PMD => Ok(Stat::CowFaultPmd),
        _ => Err(EINVAL),
    }
}

fn errno_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            stats::add(Stat::Errors, 1);
            e.to_errno()
        }
    }
}

/// The copy around one operation on a shared extent: the bytes of the aligned span that the
/// operation does not write are copied from the old extent (or zeroed when it has no data),
/// then written back, so that they are durable no later than the operation's own bytes.
fn copy_around(copy: &bindings::dax_cow_copy) -> Result {
    let stat = caller_stat(copy.caller)?;
    let kind = source_kind(copy.source)?;
    let pos = u64::try_from(copy.pos).map_err(|_| EINVAL)?;
    let plan = if copy.caller == bindings::dax_cow_caller_DAX_COW_WRITE {
        CopyAroundPlan::whole_span(pos, copy.len, copy.align as u64)
    } else {
        CopyAroundPlan::new(pos, copy.len, copy.align as u64)
    }
    .map_err(|_| EINVAL)?;
    stats::add(stat, 1);

    // SAFETY: `copy.dst` points to the destination iomap for the duration of the call.
    let dst_map = unsafe { &*copy.dst };
    // fs/dax.c maps the whole span of the new block at `daddr` (see struct dax_cow_copy).
    let dst = PmemSpan {
        addr: copy.daddr.cast(),
        len: plan.span_len,
    };
    let guard = DaxReadGuard::new();
    let src = if kind.has_data() {
        // SAFETY: for a mapped source `copy.srcmap` points to the old extent's iomap.
        let src_map = unsafe { &*copy.srcmap };
        let s = PmemSpan::map(&guard, src_map, plan.span_start, plan.span_len)?;
        // Every byte the plan reads must be mapped: a bad block inside is an I/O error.
        if plan.fill_ranges().any(|r| r.end > s.len) {
            return Err(EIO);
        }
        Some(s)
    } else {
        None
    };

    for r in plan.fill_ranges() {
        let len = r.end - r.start;
        let d = dst.at(r.start);
        match src {
            Some(s) => {
                // The source was checked above; the destination maps the whole span.
                // SAFETY: both spans map `r` under `guard`, and the extents do not overlap.
                unsafe { copy_to_pmem(dst_map.dax_dev, d, s.at(r.start), len)? };
                stats::add(Stat::CowBytesCopied, len);
            }
            None => {
                // SAFETY: the destination span maps `r`.
                unsafe { ptr::write_bytes(d, 0, len as usize) };
                flush(dst_map.dax_dev, d, len as usize);
                stats::add(Stat::CowBytesZeroed, len);
            }
        }
    }
    drop(guard);
    Ok(())
}

/// Copies the page-aligned `[pos, pos + len)` from the old extent to the new one for
/// `FALLOC_FL_UNSHARE_RANGE`, in pieces as large as both extents can be mapped; a bad block in
/// either stops it with an error and nothing past the bad block is touched.
fn unshare_copy(dst: &bindings::iomap, src: &bindings::iomap, pos: u64, len: u64) -> Result {
    stats::add(Stat::Unshares, 1);
    let guard = DaxReadGuard::new();
    let end = pos.checked_add(len).ok_or(EINVAL)?;
    let mut at = pos;
    while at < end {
        let d = PmemSpan::map(&guard, dst, at, end - at)?;
        let s = PmemSpan::map(&guard, src, at, end - at)?;
        let n = d.len.min(s.len);
        // SAFETY: both spans map at least `n` bytes under `guard`; the extents differ.
        unsafe { copy_to_pmem(dst.dax_dev, d.addr, s.addr, n)? };
        stats::add(Stat::UnshareBytes, n);
        at += n;
    }
    Ok(())
}

/// One file's `struct iomap_iter`, driven with the `iomap_iter()` protocol.
struct IomapCursor {
    iter: bindings::iomap_iter,
    ops: *const bindings::iomap_ops,
    done: bool,
}

impl IomapCursor {
    fn new(
        inode: *mut bindings::inode,
        pos: i64,
        len: u64,
        ops: *const bindings::iomap_ops,
    ) -> Self {
        // fs/dax.c's designated initialisers also zero the fields they do not name.
        // SAFETY: struct iomap_iter is plain data, and all-zero is its initial state.
        let mut iter: bindings::iomap_iter = unsafe { core::mem::zeroed() };
        iter.inode = inode;
        iter.pos = pos;
        iter.len = len;
        iter.flags = bindings::IOMAP_DAX;
        IomapCursor {
            iter,
            ops,
            done: false,
        }
    }
}

impl MappingCursor for IomapCursor {
    type Error = Error;
    type Raw = bindings::iomap;

    fn next(&mut self) -> Result<Option<Mapping<bindings::iomap>>> {
        if self.done {
            return Ok(None);
        }
        // `ops` are the file system's iomap ops that fs/dax.c passed in.
        // SAFETY: `iter` was set up as fs/dax.c does and only advanced by iomap_iter_advance().
        let ret = unsafe { bindings::iomap_iter(&mut self.iter, self.ops) };
        if ret <= 0 {
            self.done = true;
            return to_result(ret).map(|()| None);
        }
        let m = &self.iter.iomap;
        let kind = match u32::from(m.type_) {
            bindings::IOMAP_HOLE => ExtentKind::Hole,
            bindings::IOMAP_UNWRITTEN => ExtentKind::Unwritten,
            bindings::IOMAP_MAPPED => ExtentKind::Mapped,
            _ => return Err(EIO),
        };
        Ok(Some(Mapping {
            offset: u64::try_from(m.offset).map_err(|_| EIO)?,
            length: m.length,
            kind,
            raw: *m,
        }))
    }

    fn pos(&self) -> u64 {
        self.iter.pos as u64
    }

    fn remaining(&self) -> u64 {
        self.iter.len
    }

    fn advance(&mut self, len: u64) -> Result {
        // SAFETY: `iter` is live between iomap_iter() calls; iomap_iter_advance() checks `len`.
        to_result(unsafe { bindings::iomap_iter_advance(&mut self.iter, len) })
    }
}

/// Zeroes to compare against when only one side has data.
static ZEROES: [u8; 4096] = [0; 4096];

/// Whether `len` bytes at `x` equal those at `y` (or, with `y` = `None`, are all zero).  The bulk
/// is compared in place by [`mcsafe::first_diff_block`]; the last `len % BLOCK` bytes are read
/// with `copy_mc_to_kernel()` into the stack.  Any poisoned line is `EIO`.
///
/// # Safety
///
/// `x` and `y` must be readable for `len` bytes, mapped under a held [`DaxReadGuard`].
unsafe fn equal_mc(x: *const u8, y: Option<*const u8>, len: u64) -> Result<bool> {
    let len = usize::try_from(len).map_err(|_| EINVAL)?;
    let bulk = len - len % BLOCK;
    let mut off = 0;
    while off < bulk {
        let (other, n) = match y {
            // SAFETY: `off < bulk <= len`, inside what the caller vouches for.
            Some(y) => (unsafe { y.add(off) }, bulk - off),
            None => (ZEROES.as_ptr(), (bulk - off).min(ZEROES.len())),
        };
        let blocks = n / BLOCK;
        // `x` and `y` by the caller's guarantee, ZEROES by its size.
        // SAFETY: both pointers are readable for `blocks * BLOCK <= n` bytes.
        let equal = unsafe { mcsafe::first_diff_block(x.add(off), other, blocks)? };
        if equal < blocks {
            return Ok(false);
        }
        off += n;
    }
    let tail = len - bulk;
    if tail == 0 {
        return Ok(true);
    }
    let mut a = [0u8; BLOCK];
    let mut b = [0u8; BLOCK];
    // SAFETY: `x + bulk` is readable for `tail` bytes; `a` holds BLOCK > tail bytes.
    unsafe { copy_mc_edge(a.as_mut_ptr(), x.add(bulk), tail)? };
    if let Some(y) = y {
        // SAFETY: as above for `y` and `b`.
        unsafe { copy_mc_edge(b.as_mut_ptr(), y.add(bulk), tail)? };
    }
    Ok(first_difference(&a[..tail], &b[..tail]).is_none())
}

/// Compares up to `pair.len` bytes of a pair under `rule`, as much as both sides can be mapped.
fn compare_pair(pair: &Pair<bindings::iomap>, rule: PairRule) -> Result<DataOutcome> {
    let guard = DaxReadGuard::new();
    let want = pair.len;
    // A block that cannot be mapped (known bad: -EHWPOISON) is EIO to FIDEDUPERANGE, as in
    // dax_range_compare_iter(): the caller sees the same status from either engine.
    let map = |raw, pos| PmemSpan::map(&guard, raw, pos, want).map_err(|_| EIO);
    let src = match rule {
        PairRule::DestMustBeZero => None,
        _ => Some(map(&pair.src.raw, pair.src_pos)?),
    };
    let dst = match rule {
        PairRule::SourceMustBeZero => None,
        _ => Some(map(&pair.dst.raw, pair.dst_pos)?),
    };
    let n = want
        .min(src.map_or(u64::MAX, |s| s.len))
        .min(dst.map_or(u64::MAX, |d| d.len));
    let equal = match (rule, src, dst) {
        // SAFETY: each span maps at least `n` bytes under `guard`.
        (PairRule::CompareBoth, Some(s), Some(d)) => unsafe { equal_mc(s.addr, Some(d.addr), n)? },
        // SAFETY: as above.
        (PairRule::SourceMustBeZero, Some(s), None) => unsafe { equal_mc(s.addr, None, n)? },
        // SAFETY: as above.
        (PairRule::DestMustBeZero, None, Some(d)) => unsafe { equal_mc(d.addr, None, n)? },
        _ => return Err(EINVAL),
    };
    Ok(if equal {
        DataOutcome::Equal(n)
    } else {
        DataOutcome::Differ
    })
}

/// FIDEDUPERANGE's compare: walks both files in lockstep and says whether the ranges hold the
/// same data, with the contract of `dax_dedupe_file_range_compare()`.
fn range_compare(
    src: *mut bindings::inode,
    srcoff: i64,
    dst: *mut bindings::inode,
    dstoff: i64,
    len: i64,
    ops: *const bindings::iomap_ops,
) -> Result<bool> {
    stats::add(Stat::Compares, 1);
    let len = u64::try_from(len).map_err(|_| EINVAL)?;
    let mut s = IomapCursor::new(src, srcoff, len, ops);
    let mut d = IomapCursor::new(dst, dstoff, len, ops);
    let mut compared = 0u64;
    let same = compare_ranges(&mut s, &mut d, |pair, rule| {
        let r = compare_pair(pair, rule).map_err(WalkError::Cursor)?;
        if let DataOutcome::Equal(n) = r {
            compared += n;
        }
        Ok(r)
    })
    .map_err(|e| match e {
        WalkError::Cursor(e) => e,
        WalkError::BadMapping => EIO,
    })?;
    stats::add(Stat::BytesCompared, compared);
    if !same {
        stats::add(Stat::Mismatches, 1);
    }
    Ok(same)
}

/// `->copy_around` of the engine table.
///
/// # Safety
///
/// Called by fs/dax.c only: `copy` points to a valid request for the duration of the call.
unsafe extern "C" fn ffi_copy_around(copy: *const bindings::dax_cow_copy) -> c_int {
    // SAFETY: fs/dax.c passes a request that is valid for the whole call.
    let copy = unsafe { &*copy };
    errno_of(copy_around(copy))
}

/// `->unshare_copy` of the engine table.
///
/// # Safety
///
/// Called by fs/dax.c only: `dst` and `srcmap` point to the iterator's live iomaps.
unsafe extern "C" fn ffi_unshare_copy(
    dst: *const bindings::iomap,
    srcmap: *const bindings::iomap,
    pos: bindings::loff_t,
    len: u64,
) -> c_int {
    // SAFETY: fs/dax.c passes the iterator's two live iomaps for the duration of the call.
    let (dst, src) = unsafe { (&*dst, &*srcmap) };
    errno_of(
        u64::try_from(pos)
            .map_err(|_| EINVAL)
            .and_then(|pos| unshare_copy(dst, src, pos, len)),
    )
}

/// `->range_compare` of the engine table.
///
/// # Safety
///
/// Called by fs/dax.c only, with the contract of `dax_dedupe_file_range_compare()`: live
/// inodes, the file system's iomap ops, and `same` pointing to the caller's result.
unsafe extern "C" fn ffi_range_compare(
    src: *mut bindings::inode,
    srcoff: bindings::loff_t,
    dst: *mut bindings::inode,
    dstoff: bindings::loff_t,
    len: bindings::loff_t,
    same: *mut bool,
    ops: *const bindings::iomap_ops,
) -> c_int {
    match range_compare(src, srcoff, dst, dstoff, len, ops) {
        Ok(v) => {
            // SAFETY: `same` points to the caller's result variable.
            unsafe { *same = v };
            0
        }
        Err(e) => errno_of(Err(e)),
    }
}

struct EngineOps(bindings::dax_cow_engine);
// SAFETY: the table is immutable: a name literal and function pointers, all 'static.
unsafe impl Sync for EngineOps {}

static ENGINE: EngineOps = EngineOps(bindings::dax_cow_engine {
    name: c"daxcow".to_bytes_with_nul().as_ptr(),
    copy_around: Some(ffi_copy_around),
    unshare_copy: Some(ffi_unshare_copy),
    range_compare: Some(ffi_range_compare),
});

/// While alive, fs/dax.c routes its copy-on-write work to this engine.
pub(crate) struct Registration;

impl Registration {
    /// Registers the engine with fs/dax.c.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: ENGINE is 'static and unregistered in `drop`.
        to_result(unsafe { bindings::dax_cow_register_engine(&ENGINE.0) })?;
        Ok(Registration)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // This returns only once no caller runs the engine, so the module's code may go.
        // SAFETY: registered in `new`.
        unsafe { bindings::dax_cow_unregister_engine(&ENGINE.0) }
    }
}
