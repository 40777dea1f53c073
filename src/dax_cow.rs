// SPDX-License-Identifier: GPL-2.0

//! The engine interface of `fs/dax.c`: the requests it hands over, checked once here into safe
//! values, the `extern "C"` trampolines that receive them, and the registration.
//!
//! C header: [`include/linux/dax_cow.h`](srctree/include/linux/dax_cow.h) (from the shim series
//! in `patches/`)
//!
//! What `fs/dax.c` promises for each call, and where it is checked, is listed in
//! `docs/design.md`, "The contract with fs/dax.c".

use core::{
    ptr,
    sync::atomic::{AtomicPtr, Ordering},
};

use kernel::{
    bindings,
    error::{
        code::{EINVAL, EIO},
        to_result,
    },
    ffi::{c_int, c_void},
    prelude::*, //
};

use crate::{
    dax::{DaxReadGuard, DstExtent, PmemDst},
    engine,
    extent::ExtentKind,
    iomap::{Iomap, IomapIter},
    lockstep::{walk, Step, WalkError},
    stats::{self, Stat}, //
};

/// Which path asked for a copy around.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// `write(2)` into a shared extent.
    Write,
    /// Zeroing or truncation into a shared extent.
    Zero,
    /// A write fault on a shared page.
    FaultPte,
    /// A write fault on a shared huge page.
    FaultPmd,
}

impl Caller {
    /// The counter of copy-arounds for this path.
    pub(crate) fn stat(self) -> Stat {
        match self {
            Caller::Write => Stat::CowWrite,
            Caller::Zero => Stat::CowZero,
            Caller::FaultPte => Stat::CowFaultPte,
            Caller::FaultPmd => Stat::CowFaultPmd,
        }
    }
}

/// What backs the old extent of a copy around.
pub(crate) enum Source<'a> {
    /// No old blocks: the fill is zeroes.
    Hole,
    /// Old blocks never written: the fill is zeroes.
    Unwritten,
    /// Old blocks with data, to be copied.
    Mapped(Iomap<'a>),
}

/// One copy around an operation on a shared extent, as `fs/dax.c` asked for it: fill the bytes
/// of the aligned span around `[pos, pos + len)` that the operation does not write itself.
///
/// # Invariants
///
/// - `dst` maps the new extent from file offset `round_down(pos, align)`, for as many bytes as
///   `fs/dax.c` mapped there (which may be less than the span);
/// - a [`Source::Mapped`] extent is of kind [`ExtentKind::Mapped`];
/// - `len > 0`; `align` is a power of two of at least 512.
pub(crate) struct CopyRequest<'a> {
    pos: u64,
    len: u64,
    align: u64,
    caller: Caller,
    source: Source<'a>,
    dst: PmemDst<'a>,
}

impl<'a> CopyRequest<'a> {
    /// Checks the request `fs/dax.c` passed and turns it into a safe value: `EINVAL` for
    /// anything out of the interface's range (unknown caller or source, negative offset, empty
    /// operation, bad alignment, a missing extent or address), `EIO` for an extent the engine
    /// does not handle.
    ///
    /// # Safety
    ///
    /// `copy` must point to a request that stays valid for `'a` (the lifetime of `guard`, the
    /// operation's scope), with the contract of
    /// `struct dax_cow_copy`: `dst` (and `srcmap` for a mapped source) point to the iomaps of
    /// a walk whose inode's mapping is stable for `'a`, and `[daddr, daddr + dlen)` is pmem of
    /// `dst`'s dax device that the driver mapped and that stays mapped for `'a`.
    pub(crate) unsafe fn from_raw(
        copy: *const bindings::dax_cow_copy,
        guard: &'a DaxReadGuard,
    ) -> Result<Self> {
        // SAFETY: the caller guarantees `copy` points to a valid request for 'a.
        let copy = unsafe { copy.as_ref() }.ok_or(EINVAL)?;
        let caller = match copy.caller {
            bindings::dax_cow_caller_DAX_COW_WRITE => Caller::Write,
            bindings::dax_cow_caller_DAX_COW_ZERO => Caller::Zero,
            bindings::dax_cow_caller_DAX_COW_FAULT_PTE => Caller::FaultPte,
            bindings::dax_cow_caller_DAX_COW_FAULT_PMD => Caller::FaultPmd,
            _ => return Err(EINVAL),
        };
        let source = match copy.source {
            bindings::dax_cow_source_DAX_COW_SRC_HOLE => Source::Hole,
            bindings::dax_cow_source_DAX_COW_SRC_UNWRITTEN => Source::Unwritten,
            bindings::dax_cow_source_DAX_COW_SRC_MAPPED => {
                if copy.srcmap.is_null() {
                    return Err(EINVAL);
                }
                // SAFETY: for a mapped source `srcmap` points to the walk's source iomap, which
                // describes the inode's old extent for 'a (the caller's guarantee).
                let src = unsafe { Iomap::from_raw(&*copy.srcmap)? };
                // fs/dax.c says "mapped" only for an IOMAP_MAPPED source: anything else would
                // have the engine copy blocks that read as zeroes (unwritten) or none (hole).
                if src.kind() != ExtentKind::Mapped {
                    return Err(EIO);
                }
                Source::Mapped(src)
            }
            _ => return Err(EINVAL),
        };
        let pos = u64::try_from(copy.pos).map_err(|_| EINVAL)?;
        let align = u64::try_from(copy.align).map_err(|_| EINVAL)?;
        if copy.len == 0 || align < 512 || !align.is_power_of_two() || copy.dst.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: `dst` points to the walk's destination iomap (the caller's guarantee).
        let dst_map = unsafe { Iomap::from_raw(&*copy.dst)? };
        if !dst_map.kind().has_blocks() {
            return Err(EIO);
        }
        let (daddr, dax_dev) = (copy.daddr.cast(), dst_map.as_raw().dax_dev);
        // SAFETY: by the caller's guarantee, `[daddr, daddr + dlen)` is the new extent of this
        // copy (struct dax_cow_copy: `daddr`), pmem of the destination's dax device mapped by
        // its driver for 'a, and `dst` is the walk's iomap for 'a, so its device is live for
        // 'a; the engine makes no Rust reference to pmem (module `dax`).
        let dst = unsafe { PmemDst::from_raw(guard, daddr, copy.dlen, dax_dev)? };
        // INVARIANT: `daddr` is the new extent at round_down(pos, align) by struct
        // dax_cow_copy's contract; the source kind, `len` and `align` were checked above.
        Ok(CopyRequest {
            pos,
            len: copy.len,
            align,
            caller,
            source,
            dst,
        })
    }

    /// File offset of the operation.
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// Length of the operation in bytes (never zero).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Block size of the copy (a power of two, at least 512).
    pub(crate) fn align(&self) -> u64 {
        self.align
    }

    /// Which path asked.
    pub(crate) fn caller(&self) -> Caller {
        self.caller
    }

    /// The old extent, and the mapping of the new one from the start of the aligned span, which
    /// may be shorter than the span.
    pub(crate) fn source_and_dst(&mut self) -> (&Source<'a>, &mut PmemDst<'a>) {
        (&self.source, &mut self.dst)
    }
}

/// The errno for `fs/dax.c`; every error also counts.
fn errno_of(r: Result) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => {
            stats::add(Stat::Errors, 1);
            e.to_errno()
        }
    }
}

/// `->copy_around` of the engine table.
///
/// # Safety
///
/// Called by `fs/dax.c` only, with the contract of `struct dax_cow_copy` for the duration of
/// the call.
unsafe extern "C" fn copy_around_c(copy: *const bindings::dax_cow_copy) -> c_int {
    // SAFETY: fs/dax.c holds dax_read_lock() across every ->copy_around call, from before it
    // mapped the destination (dax_iomap_iter(), dax_zero_iter(), dax_fault_iter()), so for the
    // whole call, which the guard does not outlive.
    let guard = unsafe { DaxReadGuard::held_by_caller("copy around") };
    // SAFETY: fs/dax.c passes a request that is valid, with its extents and destination
    // mapping, for the whole call, which outlives both `guard` and the request value.
    let request = unsafe { CopyRequest::from_raw(copy, &guard) };
    errno_of(request.and_then(|r| engine::copy_around(r, &guard)))
}

/// `->unshare_copy` of the engine table.
///
/// # Safety
///
/// Called by `fs/dax.c` only, with `dax_read_lock()` held: `dst` and `srcmap` point to the live
/// iomaps of an unshare walk (the inode locked for writing) for the duration of the call.
unsafe extern "C" fn unshare_copy_c(
    dst: *const bindings::iomap,
    srcmap: *const bindings::iomap,
    pos: bindings::loff_t,
    len: u64,
) -> c_int {
    let r = (|| {
        // SAFETY: fs/dax.c passes the walk's two iomaps, which describe the locked inode's new
        // and old extents for the whole call; `as_ref` turns a null pointer into None.
        let (dst, src) = unsafe { (dst.as_ref(), srcmap.as_ref()) };
        let (dst, src) = (dst.ok_or(EINVAL)?, src.ok_or(EINVAL)?);
        // SAFETY: as above: both describe the inode's extents, stable for the call.
        let (dst, src) = unsafe { (Iomap::from_raw(dst)?, Iomap::from_raw(src)?) };
        // SAFETY: `dst` is the walk's destination, the extent fs/dax.c unshares into.
        let dst = unsafe { DstExtent::new(dst) };
        let pos = u64::try_from(pos).map_err(|_| EINVAL)?;
        // SAFETY: ->unshare_copy is called with dax_read_lock() held for the whole call
        // (include/linux/dax_cow.h), which the guard does not outlive.
        let guard = unsafe { DaxReadGuard::held_by_caller("unshare") };
        engine::unshare_copy(&guard, &dst, &src, pos, len)
    })();
    errno_of(r)
}

/// `->range_compare` of the engine table.
///
/// # Safety
///
/// Called by `fs/dax.c` only, with the contract of `dax_dedupe_file_range_compare()`: two live
/// inodes whose mappings their callers keep stable for the call (both locked), their file
/// system's iomap operations, and `same` pointing to the caller's result.  The operations are
/// a static table (the contract of `->range_compare` in `include/linux/dax_cow.h`), valid as
/// long as the code that defines it is loaded: [`record_test_ops`] keeps a built-in file
/// system's, whose code never goes.
unsafe extern "C" fn range_compare_c(
    src: *mut bindings::inode,
    srcoff: bindings::loff_t,
    dst: *mut bindings::inode,
    dstoff: bindings::loff_t,
    len: bindings::loff_t,
    same: *mut bool,
    ops: *const bindings::iomap_ops,
) -> c_int {
    if same.is_null() {
        return errno_of(Err(EINVAL));
    }
    let r = (|| {
        // SAFETY: `src` is a live inode for the call (the caller's guarantee), so its super
        // block and file system type are too; `record_test_ops` checks for null; `ops` are
        // its file system's static table (the caller's guarantee).
        unsafe { record_test_ops(src, ops) };
        // SAFETY: `ops` are the file system's iomap operations, a static table, so live for
        // the call (the caller's guarantee); `as_ref` turns a null pointer into None.
        let ops: &bindings::iomap_ops = unsafe { ops.as_ref() }.ok_or(EINVAL)?;
        // SAFETY: both inodes are live with stable extent maps for the call (the caller's
        // guarantee), and `ops` are their file system's.
        let (mut s, mut d) = unsafe { IomapIter::pair(src, srcoff, dst, dstoff, len, ops)? };
        engine::range_compare(&mut s, &mut d)
    })();
    match r {
        Ok(v) => {
            // SAFETY: `same` points to the caller's result variable (not null: checked above).
            unsafe { *same = v };
            0
        }
        Err(e) => errno_of(Err(e)),
    }
}

/// The file system type, and then its iomap operations, of the first FIDEDUPERANGE compare on
/// a built-in file system, for the C test caller of [`daxcow_iomap_apply2`]
/// (`src/daxcow_apply2.c`): XFS does not export its iomap operations.  Each is set once, the
/// type first, and only for a built-in file system, whose type and operations are never freed;
/// so operations read after they are set belong to the type read after them.
static TEST_FS_TYPE: AtomicPtr<bindings::file_system_type> = AtomicPtr::new(ptr::null_mut());
static TEST_IOMAP_OPS: AtomicPtr<bindings::iomap_ops> = AtomicPtr::new(ptr::null_mut());

/// Records `ops` as the iomap operations of `inode`'s file system for the C test caller, if
/// none are recorded yet and the file system is built in: a load on every compare, and until
/// a built-in file system's compare, three more, no lock.
///
/// # Safety
///
/// `inode` is a live inode, or null; `ops` are its file system's iomap operations, a static
/// table (the contract of `->range_compare` in `include/linux/dax_cow.h`), or null.  The C
/// test caller may use them at any later time: only a built-in file system's are kept, whose
/// code, and so its static table, is never unloaded.  The checks below refuse operations in
/// module or vmalloc memory as well, but cannot tell a static table from one in the slab: that
/// is the contract's part.
unsafe fn record_test_ops(inode: *mut bindings::inode, ops: *const bindings::iomap_ops) {
    if !TEST_IOMAP_OPS.load(Ordering::Acquire).is_null() || inode.is_null() || ops.is_null() {
        return;
    }
    // SAFETY: a live inode has a live super block, whose type is set while it is mounted.
    let fs_type = unsafe { (*(*inode).i_sb).s_type };
    // SAFETY: the type of a mounted file system is live.
    if fs_type.is_null() || !unsafe { (*fs_type).owner }.is_null() {
        return;
    }
    // A null `owner` is only the convention of a built-in file system (register_filesystem()
    // does not check it): also refuse a type or operations in module or vmalloc memory, which
    // an unload could free.
    // SAFETY: is_vmalloc_or_module_addr() only compares the address against the kernel's
    // ranges.
    if unsafe {
        bindings::is_vmalloc_or_module_addr(fs_type.cast()) != 0
            || bindings::is_vmalloc_or_module_addr(ops.cast()) != 0
    } {
        return;
    }
    if TEST_FS_TYPE
        .compare_exchange(
            ptr::null_mut(),
            fs_type,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok()
    {
        TEST_IOMAP_OPS.store(ops.cast_mut(), Ordering::Release);
    }
}

/// `daxcow_test_iomap_ops()` of `bindings/daxcow_helpers.h`: the recorded iomap operations if
/// they are `fs_type`'s, else null.
#[no_mangle]
extern "C" fn daxcow_test_iomap_ops(
    fs_type: *const bindings::file_system_type,
) -> *const bindings::iomap_ops {
    let ops = TEST_IOMAP_OPS.load(Ordering::Acquire);
    // The type was stored before the operations (Release), so it is the one they belong to.
    if ops.is_null() || TEST_FS_TYPE.load(Ordering::Acquire).cast_const() != fs_type {
        return ptr::null();
    }
    ops
}

/// `struct daxcow_extent_pair` of `bindings/daxcow_apply2.h` (its layout is checked there).
#[repr(C)]
struct ExtentPairC {
    src_pos: bindings::loff_t,
    dst_pos: bindings::loff_t,
    len: u64,
    src: *const bindings::iomap,
    dst: *const bindings::iomap,
}

const _: () = assert!(core::mem::size_of::<ExtentPairC>() == 40);

/// `daxcow_apply2_actor_t` of `bindings/daxcow_apply2.h`.
type ActorC = unsafe extern "C" fn(pair: *const ExtentPairC, data: *mut c_void) -> i64;

/// `daxcow_iomap_apply2()`, the two-file iterator for C callers (`bindings/daxcow_apply2.h`,
/// exported by `src/daxcow_apply2.c`): [`walk`] over the two files, each pair handed to
/// `actor`.
///
/// # Safety
///
/// The contract of `bindings/daxcow_apply2.h`: `src` and `dst` are live inodes whose extent maps
/// their caller keeps stable for the call, `ops` their file system's iomap operations, and
/// `actor` a function that may be called with `data` and a pair valid for that call.
#[no_mangle]
unsafe extern "C" fn daxcow_iomap_apply2(
    src: *mut bindings::inode,
    srcoff: bindings::loff_t,
    dst: *mut bindings::inode,
    dstoff: bindings::loff_t,
    len: bindings::loff_t,
    ops: *const bindings::iomap_ops,
    actor: Option<ActorC>,
    data: *mut c_void,
) -> c_int {
    let r = (|| {
        let actor = actor.ok_or(EINVAL)?;
        // SAFETY: the caller's `ops` are valid for the call; `as_ref` turns null into None.
        let ops = unsafe { ops.as_ref() }.ok_or(EINVAL)?;
        // SAFETY: both inodes are live with stable extent maps for the call (the caller's
        // guarantee), and `ops` are their file system's.
        let (mut s, mut d) = unsafe { IomapIter::pair(src, srcoff, dst, dstoff, len, ops)? };
        walk(&mut s, &mut d, |pair| {
            let c = ExtentPairC {
                // Positions inside a range `IomapIter::new` checked against loff_t.
                src_pos: pair.src_pos as bindings::loff_t,
                dst_pos: pair.dst_pos as bindings::loff_t,
                len: pair.len,
                src: pair.src.raw.as_raw(),
                dst: pair.dst.raw.as_raw(),
            };
            // SAFETY: the caller's actor, called with its `data` and a pair whose iomaps live
            // in `pair` for the call.
            let n = unsafe { actor(&c, data) };
            match n {
                0 => Ok(Step::Stop),
                n if n > 0 => Ok(Step::Consumed(n as u64)),
                n => Err(WalkError::Cursor(
                    c_int::try_from(n).map_or(EINVAL, Error::from_errno),
                )),
            }
        })
        .map_err(|e| match e {
            WalkError::Cursor(e) => e,
            WalkError::BadMapping => EIO,
            WalkError::BadStep => EINVAL,
        })
    })();
    match r {
        Ok(covered) => c_int::from(covered),
        Err(e) => e.to_errno(),
    }
}

/// The engine table handed to `fs/dax.c`.
struct EngineOps(bindings::dax_cow_engine);

// SAFETY: the table is never written: a name literal and function pointers, all 'static.
unsafe impl Sync for EngineOps {}

static ENGINE: EngineOps = EngineOps(bindings::dax_cow_engine {
    name: c"daxcow".to_bytes_with_nul().as_ptr(),
    copy_around: Some(copy_around_c),
    unshare_copy: Some(unshare_copy_c),
    range_compare: Some(range_compare_c),
});

/// While alive, `fs/dax.c` routes its copy-on-write work to this engine.
///
/// # Invariants
///
/// [`ENGINE`] is registered with `fs/dax.c` from [`Registration::new`] until the value is
/// dropped; only `new` makes one.
pub(crate) struct Registration {
    _private: (),
}

impl Registration {
    /// Registers the engine with `fs/dax.c` (`EBUSY` when another engine is registered).
    ///
    /// # Safety
    ///
    /// The value is dropped before the module's memory is freed (it is kept in the module's
    /// state, which is dropped at unload): `fs/dax.c` calls [`ENGINE`]'s functions until then,
    /// and a value forgotten with [`core::mem::forget`] would leave them registered.
    pub(crate) unsafe fn new() -> Result<Self> {
        // SAFETY: ENGINE is 'static, and unregistered in `drop`, which the caller guarantees
        // runs before the module's memory goes.
        to_result(unsafe { bindings::dax_cow_register_engine(&ENGINE.0) })?;
        // INVARIANT: registered just above.
        Ok(Registration { _private: () })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // This returns only once no caller runs the engine, so the module's code may go.
        // SAFETY: registered in `new` (type invariant).
        unsafe { bindings::dax_cow_unregister_engine(&ENGINE.0) }
    }
}
