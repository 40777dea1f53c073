// SPDX-License-Identifier: GPL-2.0

//! A file's extents as the file system describes them to the engine (`struct iomap`), and the
//! `iomap_iter()` protocol that produces them.
//!
//! C header: [`include/linux/iomap.h`](srctree/include/linux/iomap.h)

use core::marker::PhantomData;

use kernel::{
    bindings,
    error::{
        code::{EINVAL, EIO},
        to_result,
    },
    prelude::*, //
};

use crate::{
    extent::ExtentKind,
    lockstep::{Mapping, MappingCursor}, //
};

/// One extent of a file: `[offset, offset + length)` of the file, of a known kind, and where
/// its blocks live.
///
/// It is a copy of the file system's `struct iomap`, valid for `'a`: a copy can be held across
/// calls, and the lifetime says how long what it describes stays true.  For the extents of an
/// [`IomapIter`] that is the lifetime of the locks the walk's owner holds on the inode, not the
/// step of the walk that produced the extent (after which `->iomap_end` has run): the engine
/// only reads and maps extents of locked files.
///
/// # Invariants
///
/// - `raw` describes an extent of a file whose mapping stays as described for `'a`: when the
///   extent has blocks, `raw.dax_dev` is a live dax device and `raw.addr` is where the
///   extent's first byte lives on it, and the blocks stay the file's, for `'a`;
/// - `kind` is `raw.type_` (hole, unwritten or mapped; other types are never made into an
///   `Iomap`);
/// - `raw.offset >= 0`, `raw.length > 0`, and `raw.offset + raw.length <= i64::MAX`;
/// - when `kind` has blocks, `raw.dax_dev` is not null.
#[derive(Clone, Copy)]
pub(crate) struct Iomap<'a> {
    raw: bindings::iomap,
    kind: ExtentKind,
    _extent: PhantomData<&'a ()>,
}

impl<'a> Iomap<'a> {
    /// Takes a copy of `raw`, checking what the engine relies on.
    ///
    /// Fails with `EIO` for a type the engine does not handle (delayed allocation, inline
    /// data) or an extent whose offsets do not add up.
    ///
    /// # Safety
    ///
    /// `raw` must describe an extent of a file whose mapping stays as described for `'a`: when
    /// it has blocks, `raw.dax_dev` must be a live dax device and `raw.addr` where the extent's
    /// first byte lives on it, and the blocks must stay the file's (the caller holds what keeps
    /// the file's mapping stable), for `'a`.
    pub(crate) unsafe fn from_raw(raw: &bindings::iomap) -> Result<Self> {
        let kind = match u32::from(raw.type_) {
            bindings::IOMAP_HOLE => ExtentKind::Hole,
            bindings::IOMAP_UNWRITTEN => ExtentKind::Unwritten,
            bindings::IOMAP_MAPPED => ExtentKind::Mapped,
            _ => return Err(EIO),
        };
        let offset = u64::try_from(raw.offset).map_err(|_| EIO)?;
        // A file offset is a loff_t: the extent must end at or below i64::MAX.
        match offset.checked_add(raw.length) {
            Some(end) if raw.length > 0 && end <= i64::MAX as u64 => {}
            _ => return Err(EIO),
        }
        if kind.has_blocks() && raw.dax_dev.is_null() {
            return Err(EIO);
        }
        // INVARIANT: the caller vouches for what `raw` describes and for how long; the kind,
        // offsets and device were checked above.
        Ok(Iomap {
            raw: *raw,
            kind,
            _extent: PhantomData,
        })
    }

    /// What backs the extent.
    pub(crate) fn kind(&self) -> ExtentKind {
        self.kind
    }

    /// File offset of the extent's first byte.
    pub(crate) fn offset(&self) -> u64 {
        // Non-negative by the type invariant.
        self.raw.offset as u64
    }

    /// Length of the extent in bytes (never zero).
    pub(crate) fn length(&self) -> u64 {
        self.raw.length
    }

    /// Bytes of the extent from file offset `pos` to its end, if the extent contains `pos`.
    pub(crate) fn left_from(&self, pos: u64) -> Option<u64> {
        // Cannot overflow by the type invariant.
        let end = self.offset() + self.length();
        (self.offset() <= pos && pos < end).then(|| end - pos)
    }

    /// The file system's description, for the direct-access calls of [`crate::dax`].
    pub(crate) fn as_raw(&self) -> &bindings::iomap {
        &self.raw
    }
}

/// One file's walk over `[pos, pos + len)` with the `iomap_iter()` protocol: each
/// [`next`](MappingCursor::next) ends the previous mapping and produces the one at the current
/// position; [`advance`](MappingCursor::advance) consumes part of it.  Dropping the walk before
/// its end ends it, so the file system's `->iomap_end` always runs.
///
/// # Invariants
///
/// - `iter.inode` is a live inode whose mapping stays stable for `'a` (its owner holds the locks
///   that keep it so), `ops` are its file system's iomap operations;
/// - `iter` was set up as `fs/dax.c` sets up a walk for `IOMAP_DAX` reads, and is changed only by
///   `iomap_iter()` and `iomap_iter_advance()`;
/// - `done` is true once `iomap_iter()` returned zero or an error; it is not called again.
pub(crate) struct IomapIter<'a> {
    iter: bindings::iomap_iter,
    ops: &'a bindings::iomap_ops,
    done: bool,
}

impl<'a> IomapIter<'a> {
    /// A walk over `[pos, pos + len)` of `inode` for reading by direct access.
    ///
    /// Fails with `EINVAL` for a null inode, a negative position or a range past the largest
    /// file offset.
    ///
    /// # Safety
    ///
    /// `inode` must be a live inode whose mapping stays stable for `'a` (the caller holds the
    /// locks that keep it so, as `dax_dedupe_file_range_compare()`'s callers do), and `ops` the
    /// iomap operations of its file system, valid for `'a`.
    pub(crate) unsafe fn new(
        inode: *mut bindings::inode,
        pos: i64,
        len: u64,
        ops: &'a bindings::iomap_ops,
    ) -> Result<Self> {
        if inode.is_null()
            || pos < 0
            || i64::try_from(len)
                .ok()
                .and_then(|l| pos.checked_add(l))
                .is_none()
        {
            return Err(EINVAL);
        }
        // fs/dax.c's designated initialisers zero the fields they do not name.
        let mut iter = <bindings::iomap_iter as Zeroable>::zeroed();
        iter.inode = inode;
        iter.pos = pos;
        iter.len = len;
        iter.flags = bindings::IOMAP_DAX;
        // INVARIANT: the caller vouches for `inode` and `ops`; `iter` is set up as fs/dax.c
        // does in dax_dedupe_file_range_compare(), with a range checked above.
        Ok(IomapIter {
            iter,
            ops,
            done: false,
        })
    }
}

impl<'a> IomapIter<'a> {
    /// The two walks of a two-file operation: `len` bytes of `src` from `srcoff` and of `dst`
    /// from `dstoff`, as `dax_dedupe_file_range_compare()` sets them up.  Fails with `EINVAL` as
    /// [`IomapIter::new`] does, and for a negative `len`.
    ///
    /// # Safety
    ///
    /// As for [`IomapIter::new`], for both inodes.
    pub(crate) unsafe fn pair(
        src: *mut bindings::inode,
        srcoff: i64,
        dst: *mut bindings::inode,
        dstoff: i64,
        len: i64,
        ops: &'a bindings::iomap_ops,
    ) -> Result<(Self, Self)> {
        let len = u64::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: the caller's guarantee, for each inode.
        unsafe {
            Ok((
                Self::new(src, srcoff, len, ops)?,
                Self::new(dst, dstoff, len, ops)?,
            ))
        }
    }
}

impl IomapIter<'_> {
    /// Where the current mapping ends for the walk, as `iomap_length_trim()` computes it: at
    /// the end of the mapping, or of the source mapping if the file system gave one (not a
    /// hole) and it ends first; `iomap_iter_advance()` refuses to go further.
    fn mapping_end(&self) -> u64 {
        // A negative offset (a file system's bug) counts as zero: the walk then refuses to
        // advance rather than trust it.
        let end_of = |m: &bindings::iomap| {
            u64::try_from(m.offset)
                .unwrap_or(0)
                .saturating_add(m.length)
        };
        let end = end_of(&self.iter.iomap);
        if u32::from(self.iter.srcmap.type_) == bindings::IOMAP_HOLE {
            end
        } else {
            end.min(end_of(&self.iter.srcmap))
        }
    }
}

impl<'a> MappingCursor for IomapIter<'a> {
    type Error = Error;
    type Raw = Iomap<'a>;

    fn next(&mut self) -> Result<Option<Mapping<Iomap<'a>>>> {
        if self.done {
            return Ok(None);
        }
        // SAFETY: by the type invariant `iter` is a walk of a live, stable inode with its own
        // file system's `ops`, changed only by the iomap functions.
        let ret = unsafe { bindings::iomap_iter(&mut self.iter, self.ops) };
        if ret <= 0 {
            // INVARIANT: the walk has ended; iomap_iter() is not called again.
            self.done = true;
            return to_result(ret).map(|()| None);
        }
        // SAFETY: iomap_iter() just produced this mapping of the inode, whose mapping stays
        // stable for 'a (type invariant), and whose blocks live on its file system's dax device.
        let m = unsafe { Iomap::from_raw(&self.iter.iomap)? };
        // What the walk may consume of it (a length of zero, from a source mapping that ends
        // before this one begins, is refused by the walk's users as a mapping that does not
        // contain the position).
        let length = self.mapping_end().saturating_sub(m.offset());
        Ok(Some(Mapping {
            offset: m.offset(),
            length,
            kind: m.kind(),
            raw: m,
        }))
    }

    fn pos(&self) -> u64 {
        // Non-negative: checked in `new`, and only ever advanced.
        self.iter.pos as u64
    }

    fn remaining(&self) -> u64 {
        self.iter.len
    }

    fn advance(&mut self, len: u64) -> Result {
        // What iomap_length() allows: the rest of the current mapping within the range.
        let left = if self.done {
            0
        } else {
            self.mapping_end()
                .saturating_sub(self.pos())
                .min(self.iter.len)
        };
        if len > left {
            return Err(EIO);
        }
        // SAFETY: `iter` is a live walk (type invariant) and `len` is inside its current
        // mapping (checked above).
        to_result(unsafe { bindings::iomap_iter_advance(&mut self.iter, len) })
    }
}

impl Drop for IomapIter<'_> {
    fn drop(&mut self) {
        // A walk that never began has nothing to end (`iter` starts zeroed, so its mapping has
        // no length), and neither has an empty mapping (a file system's bug, which `next`
        // refuses): iomap_iter() runs ->iomap_end only for a mapping with a length, and would
        // ask ->iomap_begin again and again.
        if self.iter.iomap.length == 0 {
            return;
        }
        // End a walk left in the middle, so that the file system's ->iomap_end runs for the
        // last mapping: iomap_iter() ends it and, with nothing advanced, returns zero (an error
        // from turning a mapping into an `Iomap` does not stop this; the next call ends it).
        while !self.done {
            let _ = self.next();
        }
    }
}
