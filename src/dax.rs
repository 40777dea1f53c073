// SPDX-License-Identifier: GPL-2.0

//! Direct access to pmem: the read lock that keeps a dax device's mappings valid, and spans of
//! pmem mapped under it, with every store and load the engine makes.
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h)
//!
//! A [`PmemSpan`] (read only) and a [`PmemDst`] (the destination of a copy, written) are the only
//! ways the engine reaches pmem.  Each is made either by mapping part of an extent under a
//! [`DaxReadGuard`] (`map`, whose length is what the driver said it mapped) or, for the
//! destination `fs/dax.c` mapped itself for a copy around, from that address and length
//! ([`PmemDst::from_raw`], in the request check).  Their operations check every offset and
//! length against the span, so no safe caller can make the engine touch a byte it was not given,
//! and only a destination can be stored to.
//!
//! Pmem is reached through raw pointers only, never through Rust references: other CPUs (user
//! mappings, other file operations) may access the same memory, as with I/O memory.

#[cfg(daxcow_trace)]
use core::cell::RefCell;
use core::{
    marker::PhantomData,
    ptr::{self, NonNull},
};

use kernel::{
    bindings,
    error::code::{EINVAL, EIO},
    ffi::{c_int, c_uint, c_void},
    prelude::*,
    types::NotThreadSafe, //
};

use crate::{
    compare::{
        first_difference,
        first_nonzero, //
    },
    iomap::Iomap,
    mcsafe::{self, LineSplit, BLOCK}, //
};
#[cfg(daxcow_trace)]
use crate::{
    persist::{Event, Trace},
    stats::{self, Stat},
};

/// Events one operation may record in the trace build: a copy records at most six per piece
/// (two cached edges, the non-temporal lines, their fence, two write-backs) and one fence per
/// destination, and a piece is a device-mapper target or less.  40 events are about 1 KiB of
/// the trace build's stack; an operation with more reports an overflow, never a silent pass.
#[cfg(daxcow_trace)]
const TRACE_EVENTS: usize = 40;

/// Records `$event` in the trace of the operation `$dst` belongs to; nothing in the default
/// build, where the statement (and the event's construction) is compiled out.
macro_rules! trace_event {
    ($dst:expr, $event:expr) => {
        #[cfg(daxcow_trace)]
        $dst.guard.record($event);
    };
}

/// A held `dax_read_lock()`: while it lives, no dax device that was live when it was taken is
/// killed, so the kernel mappings of its pmem stay valid.  It is also the scope of one engine
/// operation: in the trace build it records every store to pmem made under it and checks, when
/// dropped, that each one is durable (`src/persist.rs`).
///
/// The engine takes the lock itself ([`DaxReadGuard::new`]) where `fs/dax.c` does not hold it
/// across the call, and otherwise stands for the caller's ([`DaxReadGuard::held_by_caller`]):
/// each `dax_read_lock()` is an SRCU read-side section whose entry and exit are full memory
/// barriers, too dear to repeat on every copy-on-write fault.
///
/// # Invariants
///
/// `dax_read_lock()` is held in this task for as long as the guard lives: with `id` =
/// `Some(i)`, the guard took it, and `i` is passed to `dax_read_unlock()` exactly once, when the
/// guard is dropped (the guard is not [`Send`], so in the same task); with `None`, the engine's
/// caller took it and releases it after the guard is gone.
pub(crate) struct DaxReadGuard {
    id: Option<c_int>,
    #[cfg(daxcow_trace)]
    op: &'static str,
    #[cfg(daxcow_trace)]
    trace: RefCell<Trace<TRACE_EVENTS>>,
    _not_send: NotThreadSafe,
}

impl DaxReadGuard {
    /// Takes `dax_read_lock()` for the operation `op` (named in the trace build's reports).
    #[cfg_attr(not(daxcow_trace), allow(unused_variables))]
    pub(crate) fn new(op: &'static str) -> Self {
        // SAFETY: dax_read_lock() has no precondition.
        let id = unsafe { bindings::dax_read_lock() };
        // INVARIANT: `id` was just returned by dax_read_lock(); `drop` releases it once.
        DaxReadGuard {
            id: Some(id),
            #[cfg(daxcow_trace)]
            op,
            #[cfg(daxcow_trace)]
            trace: RefCell::new(Trace::new()),
            _not_send: NotThreadSafe,
        }
    }

    /// Stands for the `dax_read_lock()` the engine's caller holds, for the operation `op`.
    ///
    /// # Safety
    ///
    /// The calling task holds `dax_read_lock()`, and keeps holding it until the returned guard
    /// is dropped.
    #[cfg_attr(not(daxcow_trace), allow(unused_variables))]
    pub(crate) unsafe fn held_by_caller(op: &'static str) -> Self {
        // INVARIANT: the caller holds the lock for the guard's life (the function's safety
        // requirement); `drop` leaves it to the caller.
        DaxReadGuard {
            id: None,
            #[cfg(daxcow_trace)]
            op,
            #[cfg(daxcow_trace)]
            trace: RefCell::new(Trace::new()),
            _not_send: NotThreadSafe,
        }
    }

    /// Records `event` of this operation (trace build only).
    #[cfg(daxcow_trace)]
    fn record(&self, event: Event) {
        self.trace.borrow_mut().record(event);
    }
}

impl Drop for DaxReadGuard {
    fn drop(&mut self) {
        #[cfg(daxcow_trace)]
        {
            let op = self.op;
            let n = self.trace.borrow().check(|v| {
                pr_err!("persistence violation in {}: {:x?}\n", op, v);
            });
            if n > 0 {
                stats::add(Stat::PersistenceViolations, n as u64);
            }
        }
        if let Some(id) = self.id {
            // SAFETY: by the type invariant `id` came from dax_read_lock() in this task and has
            // not been released.
            unsafe { bindings::dax_read_unlock(id) }
        }
    }
}

/// `len` bytes of pmem mapped into the kernel at `addr`, valid for the lifetime `'g`; the engine
/// only reads through it (a source or a side of a compare).
///
/// # Invariants
///
/// - `[addr, addr + len)` is kernel-mapped pmem of the dax device `dax_dev`, as its driver
///   mapped it, readable and writable through raw pointers for `'g`;
/// - `0 < len <= isize::MAX`, and `addr + len` does not wrap;
/// - no Rust reference to those bytes exists.
pub(crate) struct PmemSpan<'g> {
    addr: NonNull<u8>,
    len: usize,
    dax_dev: NonNull<bindings::dax_device>,
    _mapped: PhantomData<&'g DaxReadGuard>,
}

impl<'g> PmemSpan<'g> {
    /// Maps up to `len` bytes of the extent `iomap` from file offset `pos`, under `guard`.
    ///
    /// The span may be shorter than asked: the device maps the extent in pieces (a
    /// device-mapper target ends) or ends, or the extent ends before `pos + len`; the driver
    /// says how much it mapped and the span is exactly that.  It is never empty.
    ///
    /// Fails with `EINVAL` for an empty request or an extent with no blocks (a hole), `EIO`
    /// when `pos` is not inside the extent, and with the driver's error (`-EHWPOISON` for a
    /// known bad block in the range).
    pub(crate) fn map<'a: 'g>(
        guard: &'g DaxReadGuard,
        iomap: &Iomap<'a>,
        pos: u64,
        len: u64,
    ) -> Result<Self> {
        let _ = guard;
        if !iomap.kind().has_blocks() || len == 0 {
            return Err(EINVAL);
        }
        // A position outside the extent is the file system's description not adding up.
        let left = iomap.left_from(pos).ok_or(EIO)?;
        let want = usize::try_from(len.min(left)).map_err(|_| EINVAL)?;
        let pos = i64::try_from(pos).map_err(|_| EINVAL)?;
        let mut kaddr: *mut c_void = ptr::null_mut();
        // SAFETY: by `Iomap`'s invariant the extent, its dax device and its blocks are live for
        // 'a, which outlives 'g; `pos` is inside the extent (checked above) and `want` does not
        // go past its end; `guard` holds dax_read_lock() as the function requires; `kaddr` is a
        // valid place to store the address.
        let got = unsafe { bindings::dax_cow_direct_access(iomap.as_raw(), pos, want, &mut kaddr) };
        if got < 0 {
            return Err(c_int::try_from(got).map_or(EIO, Error::from_errno));
        }
        // dax_cow_direct_access() returns at most `want` bytes; anything else is a broken
        // driver, refused rather than trusted.
        let got = usize::try_from(got).map_err(|_| EIO)?;
        if got == 0 || got > want {
            return Err(EIO);
        }
        let addr = NonNull::new(kaddr.cast::<u8>()).ok_or(EIO)?;
        let dax_dev = NonNull::new(iomap.as_raw().dax_dev).ok_or(EIO)?;
        (addr.as_ptr() as usize).checked_add(got).ok_or(EIO)?;
        // INVARIANT: the driver mapped `got` bytes at `addr` of `dax_dev`, which stay mapped
        // while `guard` (lifetime 'g) is held; 0 < got <= want <= isize::MAX (a usize from an
        // isize-sized request) and the end does not wrap (checked).
        Ok(PmemSpan {
            addr,
            len: got,
            dax_dev,
            _mapped: PhantomData,
        })
    }

    /// Bytes mapped.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The address `off` bytes in, after checking that `[off, off + n)` is inside the span.
    fn range(&self, off: usize, n: usize) -> Result<*mut u8> {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {
                // SAFETY: `off <= len`: inside the span or one past its end (invariant: the
                // span does not wrap).
                Ok(unsafe { self.addr.as_ptr().add(off) })
            }
            _ => Err(EINVAL),
        }
    }

    /// Whether `n` bytes at `off` equal `n` bytes of `other` at `other_off`, or, with
    /// `other` = `None`, are all zero.  Every load is machine-check safe: a poisoned line is
    /// `EIO`.
    pub(crate) fn equal(
        &self,
        off: usize,
        other: Option<(&PmemSpan<'_>, usize)>,
        n: usize,
    ) -> Result<bool> {
        let x = self.range(off, n)?;
        let y = match other {
            Some((span, at)) => Some(span.range(at, n)?.cast_const()),
            None => None,
        };
        // SAFETY: `[x, x + n)` and, when present, `[y, y + n)` are inside their spans
        // (checked), readable pmem for the spans' lifetimes.
        unsafe { equal_mc(x, y, n) }
    }
}

/// The extent `fs/dax.c` gave an operation as its destination: the new blocks of a
/// copy-on-write, the only blocks the operation may store to.  [`PmemDst::map`] maps only these,
/// so no safe code can map another extent (a shared one) for writing.
///
/// # Invariants
///
/// `iomap` is the destination extent of the operation the engine is carrying out.
pub(crate) struct DstExtent<'a> {
    iomap: Iomap<'a>,
}

impl<'a> DstExtent<'a> {
    /// Marks `iomap` as the operation's destination.
    ///
    /// # Safety
    ///
    /// `iomap` is the extent `fs/dax.c` passed as the destination of the operation the engine
    /// is carrying out.
    pub(crate) unsafe fn new(iomap: Iomap<'a>) -> Self {
        // INVARIANT: the caller's guarantee.
        DstExtent { iomap }
    }
}

/// The destination of a copy: pmem the engine stores to, the new blocks of a copy-on-write.
/// Every store through it is written back, and when it is dropped after a store it fences, so
/// whatever the engine stored is durable before the operation returns.
///
/// # Invariants
///
/// The span's invariants, and the bytes are the destination of the operation the engine is
/// carrying out: `fs/dax.c` mapped them for it, or the engine mapped them from the extent
/// `fs/dax.c` gave it as the destination.  `stored` is true once anything was stored through
/// it.
pub(crate) struct PmemDst<'g> {
    span: PmemSpan<'g>,
    stored: bool,
    #[cfg(daxcow_trace)]
    guard: &'g DaxReadGuard,
}

impl<'g> PmemDst<'g> {
    /// Maps up to `len` bytes of the destination extent `dst` from file offset `pos`, under
    /// `guard`, as [`PmemSpan::map`] does.
    pub(crate) fn map<'a: 'g>(
        guard: &'g DaxReadGuard,
        dst: &DstExtent<'a>,
        pos: u64,
        len: u64,
    ) -> Result<Self> {
        // INVARIANT: `dst` is the operation's destination (its type invariant); nothing stored
        // yet.
        Ok(PmemDst {
            span: PmemSpan::map(guard, &dst.iomap, pos, len)?,
            stored: false,
            #[cfg(daxcow_trace)]
            guard,
        })
    }

    /// The destination `fs/dax.c` mapped itself and passed in a copy-around request.
    ///
    /// # Safety
    ///
    /// `[addr, addr + len)` must be kernel-mapped pmem of `dax_dev`, as its driver mapped it,
    /// and stay mapped for `'g`; `dax_dev` must stay live for `'g`; the bytes must be the
    /// destination of the operation the engine is carrying out (the new blocks `fs/dax.c`
    /// mapped for it, never a source or any block still shared); no Rust reference to them may
    /// exist.
    #[cfg_attr(not(daxcow_trace), allow(unused_variables))]
    pub(crate) unsafe fn from_raw(
        guard: &'g DaxReadGuard,
        addr: *mut u8,
        len: usize,
        dax_dev: *mut bindings::dax_device,
    ) -> Result<Self> {
        let addr = NonNull::new(addr).ok_or(EINVAL)?;
        let dax_dev = NonNull::new(dax_dev).ok_or(EINVAL)?;
        if len == 0 || isize::try_from(len).is_err() {
            return Err(EINVAL);
        }
        (addr.as_ptr() as usize).checked_add(len).ok_or(EINVAL)?;
        // INVARIANT: the caller vouches for the mapping, its device and their lifetime, and that
        // the bytes are the operation's destination; the length is non-zero, at most
        // isize::MAX, and does not wrap (checked above); nothing stored yet.
        Ok(PmemDst {
            span: PmemSpan {
                addr,
                len,
                dax_dev,
                _mapped: PhantomData,
            },
            stored: false,
            #[cfg(daxcow_trace)]
            guard,
        })
    }

    /// Bytes mapped.
    pub(crate) fn len(&self) -> usize {
        self.span.len
    }

    /// Copies `n` bytes from `src` at `src_off` into this span at `off`, durably: a poisoned
    /// source line ends the copy with `EIO` instead of a machine check.  The destination's
    /// whole cache lines are written with non-temporal stores and a fence
    /// ([`mcsafe::copy_lines_nt`], as `memcpy_flushcache()` writes pmem), the unaligned edges
    /// with `copy_mc_to_kernel()` and a cache write-back.
    ///
    /// Fails with `EINVAL` when either range is not inside its span or the two overlap.
    pub(crate) fn copy_from(
        &mut self,
        off: usize,
        src: &PmemSpan<'_>,
        src_off: usize,
        n: usize,
    ) -> Result {
        let dst = self.span.range(off, n)?;
        let from = src.range(src_off, n)?;
        if n == 0 {
            return Ok(());
        }
        let (d, s) = (dst as usize, from as usize);
        // Both ranges are inside spans that do not wrap.
        if d < s + n && s < d + n {
            return Err(EINVAL);
        }
        let split = LineSplit::new(d, n);
        let (lead, lines, tail) = (split.lead(), split.lines(), split.tail());
        let bulk_end = split.bulk_end();
        // INVARIANT: stores follow.
        self.stored = true;
        // Each step is recorded after it ran, with what it stored, so the trace is what
        // happened: a copy stopped by a poisoned line records no later step.
        // SAFETY: `[dst, dst + n)` and `[from, from + n)` are inside their spans (checked by
        // `range`), so readable and writable pmem for the spans' lifetimes, and they do not
        // overlap (checked above); the head edge is their first `lead <= n` bytes.
        let left = unsafe { copy_mc_bytes(dst, from, lead) };
        trace_event!(self, Event::Cached(d, d + lead - left));
        let mut copied = if left == 0 { Ok(()) } else { Err(EIO) };
        if copied.is_ok() {
            // SAFETY: as above; the lines are bytes `lead..bulk_end`, with `bulk_end <= n`.
            copied = unsafe { mcsafe::copy_lines_nt(dst.add(lead), from.add(lead), lines) };
            // Non-temporal stores up to a poisoned line at most (recorded whole: more stores
            // can only make more violations), and the loop fences on both of its exits.
            trace_event!(self, Event::NonTemporal(d + lead, d + bulk_end));
            trace_event!(self, Event::Fence);
        }
        if copied.is_ok() {
            // SAFETY: as above; the tail edge is bytes `bulk_end..n`.
            let left = unsafe { copy_mc_bytes(dst.add(bulk_end), from.add(bulk_end), tail) };
            trace_event!(self, Event::Cached(d + bulk_end, d + n - left));
            if left != 0 {
                copied = Err(EIO);
            }
        }
        // Whatever was stored before a poisoned line is written back too.
        self.write_back(off, lead)?;
        self.write_back(off + bulk_end, tail)?;
        copied
    }

    /// Zeroes `n` bytes at `off` and writes them back.
    ///
    /// The stores are the kernel's `memset()`, not a Rust write: another CPU may store to the
    /// same new blocks meanwhile (a write fault copying its page while a `write()` into the same
    /// shared extent fills it; both map the COW fork's blocks before either remaps them), and a
    /// Rust write racing with another access would be a data race.  The copies store in C and
    /// assembly for the same reason.
    pub(crate) fn zero(&mut self, off: usize, n: usize) -> Result {
        let dst = self.span.range(off, n)?;
        // INVARIANT: a store follows.
        self.stored = true;
        // SAFETY: `[dst, dst + n)` is inside the span (checked), writable pmem; memset() stores
        // to exactly those bytes, outside Rust's memory model, as copy_mc_to_kernel() does.
        unsafe { bindings::memset(dst.cast(), 0, n) };
        trace_event!(self, Event::Cached(dst as usize, dst as usize + n));
        self.write_back(off, n)
    }

    /// Writes back the CPU cache lines of `[off, off + n)` toward the persistence domain (a
    /// no-op on devices without a volatile write cache).
    fn write_back(&self, off: usize, n: usize) -> Result {
        if n == 0 {
            return Ok(());
        }
        let at = self.span.range(off, n)?;
        // SAFETY: `[at, at + n)` is pmem of `dax_dev` mapped by this span (checked); dax_flush()
        // only issues cache write-backs for the range.
        unsafe { bindings::dax_flush(self.span.dax_dev.as_ptr(), at.cast(), n) };
        // dax_flush() writes nothing back on a device whose write cache is off (the platform
        // says the CPU cache is inside its persistence domain): then the trace records nothing,
        // and the cached bytes show as not written back.  Run the trace on a device with its
        // write cache on (pmem's default).
        #[cfg(daxcow_trace)]
        {
            // SAFETY: the span's dax device is live while the span is (type invariant).
            if unsafe { bindings::dax_write_cache_enabled(self.span.dax_dev.as_ptr()) } {
                self.guard
                    .record(Event::WriteBack(at as usize, at as usize + n));
            }
        }
        Ok(())
    }
}

impl Drop for PmemDst<'_> {
    fn drop(&mut self) {
        if self.stored {
            // Orders the non-temporal stores and the cache write-backs before anything the
            // caller does next: the bytes are durable before the operation returns, which is
            // what a MAP_SYNC fault, whose application fences only its own stores, needs.
            sfence();
            trace_event!(self, Event::Fence);
        }
    }
}

/// `sfence`: every earlier store and cache write-back of this CPU is globally visible (and, for
/// pmem, in the persistence domain) before any later store.
fn sfence() {
    // SAFETY: `sfence` has no operands and touches no memory or register; as an asm block
    // without `nomem` it is also a compiler barrier, so no store moves across it.
    unsafe { core::arch::asm!("sfence", options(nostack, preserves_flags)) };
}

/// Zeroes to compare against when only one side has data.
static ZEROES: [u8; 4096] = [0; 4096];

/// Whether `len` bytes at `x` equal those at `y` (or, with `y` = `None`, are all zero).  The bulk
/// is compared in place by [`mcsafe::first_diff_block`]; the last `len % BLOCK` bytes are read
/// with `copy_mc_to_kernel()` into the stack.  Any poisoned line is `EIO`.
///
/// # Safety
///
/// `x` and `y` must be readable for `len` bytes for the duration of the call.
unsafe fn equal_mc(x: *const u8, y: Option<*const u8>, len: usize) -> Result<bool> {
    let bulk = len - len % BLOCK;
    let mut off = 0;
    while off < bulk {
        let (other, n) = match y {
            // SAFETY: `off < bulk <= len`, inside what the caller vouches for.
            Some(y) => (unsafe { y.add(off) }, bulk - off),
            None => (ZEROES.as_ptr(), (bulk - off).min(ZEROES.len())),
        };
        let blocks = n / BLOCK;
        // SAFETY: `x + off` and `other` are readable for `blocks * BLOCK <= n` bytes: `x` and
        // `y` by the caller's guarantee (`off + n <= bulk <= len`), ZEROES by its size.
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
    // SAFETY: `x + bulk` is readable for `tail` bytes; `a` holds BLOCK > tail bytes, on the
    // stack, so it does not overlap pmem.
    unsafe { copy_mc_edge(a.as_mut_ptr(), x.add(bulk), tail)? };
    if let Some(y) = y {
        // SAFETY: as above for `y` and `b`.
        unsafe { copy_mc_edge(b.as_mut_ptr(), y.add(bulk), tail)? };
    }
    Ok(match y {
        Some(_) => first_difference(&a[..tail], &b[..tail]).is_none(),
        None => first_nonzero(&a[..tail]).is_none(),
    })
}

/// `copy_mc_to_kernel()` of `len` bytes: `EIO` if a poisoned source line stops it.
///
/// # Safety
///
/// As for [`copy_mc_bytes`].
unsafe fn copy_mc_edge(dst: *mut u8, src: *const u8, len: usize) -> Result {
    // SAFETY: the caller's guarantee.
    match unsafe { copy_mc_bytes(dst, src, len) } {
        0 => Ok(()),
        _ => Err(EIO),
    }
}

/// `copy_mc_to_kernel()` of `len` bytes (an edge: less than a cache line, or a compare's
/// tail): the number of bytes it did not copy, the first of them at a poisoned line.
///
/// # Safety
///
/// `dst` must be writable for `len` bytes; `src` must be readable for `len` bytes, or readable up
/// to a point past which the loads fault (a poisoned line, an unmapped page) into
/// `copy_mc_to_kernel()`'s exception-table fixup; the ranges must not overlap.
unsafe fn copy_mc_bytes(dst: *mut u8, src: *const u8, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    // An edge is shorter than a cache line and a compare's tail than a block: the length
    // always fits; a longer one is refused whole.
    let Ok(n) = c_uint::try_from(len) else {
        return len;
    };
    // SAFETY: the caller's ranges; `n` is their length.
    let left = unsafe { bindings::copy_mc_to_kernel(dst.cast(), src.cast(), n) };
    left.min(len)
}

/// The machine-check recovery path, executed: every machine-check-safe loop reads a source whose
/// next page is unmapped (the guard page after a one-page vmalloc area).  The load that touches
/// it takes a page fault, and the exception-table entry that serves a machine check on that load
/// (`EX_TYPE_DEFAULT_MCE_SAFE`, handled by `ex_handler_default()` for any trap) resumes at the
/// loop's fixup: no oops, `EIO` returned, and what came before the bad line done as documented.
#[kunit_tests(daxcow_recovery)]
mod recovery {
    use kernel::{
        alloc::{flags::GFP_KERNEL, KVec, VVec},
        error::code::EIO,
    };

    use super::copy_mc_edge;
    use crate::mcsafe::{copy_lines_nt, first_diff_block, BLOCK, LINE as CACHE_LINE};

    const PAGE: usize = 4096;

    /// One vmalloc'd page of `byte`: the page after it is the area's unmapped guard page.
    fn page_before_a_hole(byte: u8) -> VVec<u8> {
        let v = VVec::from_elem(byte, PAGE, GFP_KERNEL).expect("vmalloc one page");
        assert_eq!(v.as_ptr() as usize % PAGE, 0);
        v
    }

    #[test]
    fn compare_fails_with_eio_at_an_unmapped_line() {
        let page = page_before_a_hole(0x5a);
        let other = [0x5au8; 4 * BLOCK];
        // SAFETY: `PAGE - 2 * BLOCK` is inside the page.
        let near_end = unsafe { page.as_ptr().add(PAGE - 2 * BLOCK) };
        // The two blocks before the hole compare equal.
        // SAFETY: the two blocks at `near_end` are the last 64 bytes of the page, and `other`
        // holds four blocks.
        let inside = unsafe { first_diff_block(near_end, other.as_ptr(), 2) };
        assert_eq!(inside, Ok(2));
        // SAFETY: as above for the first two blocks; the loads of the third, in the unmapped
        // guard page, fault into the loop's exception-table fixup.
        let across = unsafe { first_diff_block(near_end, other.as_ptr(), 4) };
        assert_eq!(across, Err(EIO));
        // A difference before the bad line is found without reading it.
        let mut differ = [0x5au8; 4 * BLOCK];
        differ[BLOCK + 3] = 0;
        // SAFETY: as above; the loop stops at block 1 and never loads from the guard page.
        let before = unsafe { first_diff_block(near_end, differ.as_ptr(), 4) };
        assert_eq!(before, Ok(1));
    }

    #[test]
    fn line_copy_fails_with_eio_and_keeps_the_lines_before() {
        let page = page_before_a_hole(0x5a);
        let mut dst = KVec::from_elem(0u8, 3 * CACHE_LINE, GFP_KERNEL).expect("kmalloc");
        // SAFETY: one line before the end of the page is readable; the next load faults into
        // the fixup (which also fences); `dst` holds three lines and does not overlap it.
        let r = unsafe { copy_lines_nt(dst.as_mut_ptr(), page.as_ptr().add(PAGE - CACHE_LINE), 3) };
        assert_eq!(r, Err(EIO));
        assert!(dst[..CACHE_LINE].iter().all(|&b| b == 0x5a));
        assert!(dst[CACHE_LINE..].iter().all(|&b| b == 0));
    }

    #[test]
    fn edge_copy_fails_with_eio_and_keeps_the_bytes_before() {
        // copy_mc_to_kernel() recovers only through copy_mc_fragile() or, with ERMS,
        // copy_mc_enhanced_fast_string(); otherwise it is a plain memcpy() that would oops.
        // SAFETY: daxcow_cpu_has_erms() has no precondition.
        if !unsafe { crate::helpers::daxcow_cpu_has_erms() } {
            kernel::pr_info!("edge copy recovery: skipped, no ERMS\n");
            return;
        }
        // KASAN checks the range before copy_mc_to_kernel() copies; with KASAN_VMALLOC the
        // guard page's shadow is poisoned and it would report it.
        if cfg!(CONFIG_KASAN_VMALLOC) {
            kernel::pr_info!("edge copy recovery: skipped under KASAN_VMALLOC\n");
            return;
        }
        let page = page_before_a_hole(0x5a);
        let mut dst = [0u8; 32];
        // SAFETY: 16 bytes before the end of the page are readable, the rest faults into
        // copy_mc_to_kernel()'s fixup; `dst` holds 32 bytes.
        let r = unsafe { copy_mc_edge(dst.as_mut_ptr(), page.as_ptr().add(PAGE - 16), 32) };
        assert_eq!(r, Err(EIO));
        assert!(dst[..16].iter().all(|&b| b == 0x5a));
    }
}
