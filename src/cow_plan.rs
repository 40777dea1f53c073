// SPDX-License-Identifier: GPL-2.0

//! Planning the copy around a write into a shared extent.
//!
//! A write (or a write fault, or a zeroing) that lands in a shared extent gets a freshly
//! allocated block.  The bytes of the aligned span that the operation does not itself
//! overwrite must come from the old extent (or be zeroed when the old extent is a hole or
//! unwritten), otherwise the new block would expose stale media.  fs/dax.c does this in
//! `dax_iomap_copy_around()`; this module is its planning half, pure and testable on the host:
//! it says which byte ranges of the aligned span are copied or zeroed, and the kernel side
//! carries the plan out with machine-check-safe copies.

use core::ops::Range;

/// Why a copy-around request cannot be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// The alignment is not a power of two of at least 512 bytes.
    BadAlignment,
    /// The operation is empty.
    EmptyRange,
    /// The range overflows a 64-bit file offset once rounded to the alignment.
    Overflow,
}

/// The copy around one operation at `[pos, pos + len)`, in bytes relative to the start of the
/// aligned span that contains it (`span_start`, a multiple of the alignment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyAroundPlan {
    /// File offset of the first byte of the aligned span.
    pub span_start: u64,
    /// Length of the aligned span: the operation rounded out to the alignment.
    pub span_len: u64,
    /// The part of the span before the operation that must be filled from the source.
    pub head: Range<u64>,
    /// The part of the span after the operation that must be filled from the source.
    pub tail: Range<u64>,
    /// True when the operation covers the span exactly: then the whole span is filled from
    /// the source, as `copy_all` in `dax_iomap_copy_around()` does.  For a fault that is the
    /// point (the caller stores nothing itself); a write aligned at both ends is filled too,
    /// and then overwrites the fill with its own bytes.
    pub whole: bool,
}

impl CopyAroundPlan {
    /// Plans the copy around `[pos, pos + len)` for blocks of `align` bytes.
    pub fn new(pos: u64, len: u64, align: u64) -> Result<Self, PlanError> {
        if align < 512 || !align.is_power_of_two() {
            return Err(PlanError::BadAlignment);
        }
        if len == 0 {
            return Err(PlanError::EmptyRange);
        }
        let mask = align - 1;
        let end = pos.checked_add(len).ok_or(PlanError::Overflow)?;
        let span_start = pos & !mask;
        let span_end = end.checked_add(mask).ok_or(PlanError::Overflow)? & !mask;
        let span_len = span_end - span_start;
        let head_len = pos - span_start;
        let tail_off = head_len + len;
        let whole = head_len == 0 && end == span_end;
        Ok(CopyAroundPlan {
            span_start,
            span_len,
            head: 0..if whole { 0 } else { head_len },
            tail: if whole {
                span_len..span_len
            } else {
                tail_off..span_len
            },
            whole,
        })
    }

    /// The ranges of the span to fill from the source, in order: the whole span, or the head
    /// and the tail (each only when not empty).
    pub fn fill_ranges(&self) -> impl Iterator<Item = Range<u64>> + '_ {
        let whole = if self.whole {
            Some(0..self.span_len)
        } else {
            None
        };
        let head = if !self.whole && !self.head.is_empty() {
            Some(self.head.clone())
        } else {
            None
        };
        let tail = if !self.whole && !self.tail.is_empty() {
            Some(self.tail.clone())
        } else {
            None
        };
        whole.into_iter().chain(head).chain(tail)
    }

    /// The ranges of [`fill_ranges`](Self::fill_ranges) clipped to the first `mapped` bytes of
    /// the span, in order: the part of the fill that lies where the destination is mapped.  The
    /// write path maps the span piece by piece and asks again for each piece, with the position
    /// advanced to the piece's start, so each byte of the span is filled by exactly one call.
    pub fn fill_ranges_within(&self, mapped: u64) -> impl Iterator<Item = Range<u64>> + '_ {
        self.fill_ranges().filter_map(move |r| {
            let end = r.end.min(mapped);
            (r.start < end).then_some(r.start..end)
        })
    }

    /// Bytes the plan fills from the source (copied or zeroed).
    pub fn fill_bytes(&self) -> u64 {
        self.fill_ranges().map(|r| r.end - r.start).sum()
    }
}
