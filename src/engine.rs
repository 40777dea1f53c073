// SPDX-License-Identifier: GPL-2.0

//! The engine: the three operations `fs/dax.c` hands to daxcow, as policy over the safe
//! abstractions of [`crate::dax`], [`crate::iomap`] and [`crate::dax_cow`] and the pure
//! planning, walking and comparing code shared with the host tests.
//!
//! Nothing here is `unsafe`: every byte of pmem is reached through a [`PmemSpan`], whose
//! operations check offsets and lengths against what the driver mapped.

use core::ops::Range;

use kernel::{
    error::code::{EINVAL, EIO},
    prelude::*, //
};

use crate::{
    compare::PairRule,
    cow_plan::CopyAroundPlan,
    dax::{DaxReadGuard, DstExtent, PmemDst, PmemSpan},
    dax_cow::{Caller, CopyRequest, Source},
    iomap::{Iomap, IomapIter},
    lockstep::{compare_ranges, DataOutcome, Pair, WalkError},
    stats::{self, Stat}, //
};

/// `usize` of a length or offset that is bounded by a mapping (so fits), checked all the same.
fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|_| EINVAL)
}

/// The copy around one operation on a shared extent: the bytes of the aligned span that the
/// operation does not write are copied from the old extent (or zeroed when it has no data) and
/// written back.
///
/// Only the part of the span that `fs/dax.c` mapped at the destination is filled: the write
/// path maps the span piece by piece (a device-mapper target may end inside it) and asks again
/// for each piece with the position advanced, so the rest is filled on a later call.  The
/// source is mapped in pieces as its device maps it.  After a write's copy from user space
/// comes up short, `dax_iomap_iter()` asks once more, for `[block, short end)`, whose tail is
/// the rest of the block the copy ended in: the head-and-tail plan serves that too.
pub(crate) fn copy_around(mut request: CopyRequest<'_>, guard: &DaxReadGuard) -> Result {
    let caller = request.caller();
    let (pos, len, align) = (request.pos(), request.len(), request.align());
    let plan = CopyAroundPlan::new(pos, len, align).map_err(|_| EINVAL)?;
    stats::add(caller.stat(), 1);

    let (source, dst) = request.source_and_dst();
    let mapped = dst.len() as u64;
    // Only the write path comes back for the rest of a span mapped in part; the zero and fault
    // paths map the whole span, so less is a request the engine cannot carry out in full.
    if caller != Caller::Write && mapped < plan.span_len {
        return Err(EIO);
    }
    for r in plan.fill_ranges_within(mapped) {
        match source {
            Source::Mapped(src) => copy_from_extent(guard, src, plan.span_start, r, dst)?,
            Source::Hole | Source::Unwritten => {
                let n = r.end - r.start;
                dst.zero(to_usize(r.start)?, to_usize(n)?)?;
                stats::add(Stat::CowBytesZeroed, n);
            }
        }
    }
    Ok(())
}

/// Copies bytes `r` of the span that starts at file offset `span_start` from the old extent
/// `src` into the same bytes of `dst`, mapping the source in pieces as its device maps it.
fn copy_from_extent(
    guard: &DaxReadGuard,
    src: &Iomap<'_>,
    span_start: u64,
    r: Range<u64>,
    dst: &mut PmemDst<'_>,
) -> Result {
    let mut at = r.start;
    while at < r.end {
        let file_pos = span_start.checked_add(at).ok_or(EINVAL)?;
        let piece = PmemSpan::map(guard, src, file_pos, r.end - at)?;
        let n = piece.len();
        dst.copy_from(to_usize(at)?, &piece, 0, n)?;
        stats::add(Stat::CowBytesCopied, n as u64);
        at += n as u64;
    }
    Ok(())
}

/// Copies the page-aligned `[pos, pos + len)` from the old extent to the new one for
/// `FALLOC_FL_UNSHARE_RANGE`, in pieces as large as both extents can be mapped; a bad block in
/// either stops it with an error and nothing past the bad block is touched.
pub(crate) fn unshare_copy(
    guard: &DaxReadGuard,
    dst: &DstExtent<'_>,
    src: &Iomap<'_>,
    pos: u64,
    len: u64,
) -> Result {
    stats::add(Stat::Unshares, 1);
    let end = pos.checked_add(len).ok_or(EINVAL)?;
    let mut at = pos;
    while at < end {
        let mut d = PmemDst::map(guard, dst, at, end - at)?;
        let s = PmemSpan::map(guard, src, at, end - at)?;
        let n = d.len().min(s.len());
        d.copy_from(0, &s, 0, n)?;
        stats::add(Stat::UnshareBytes, n as u64);
        at += n as u64;
    }
    Ok(())
}

/// Maps one side of a pair for the compare: a block that cannot be mapped (known bad:
/// `-EHWPOISON`) is `EIO` to FIDEDUPERANGE, as in `dax_range_compare_iter()`, so the caller
/// sees the same status from either engine.
fn map_for_compare<'a: 'g, 'g>(
    guard: &'g DaxReadGuard,
    m: &Iomap<'a>,
    pos: u64,
    len: u64,
) -> Result<PmemSpan<'g>> {
    PmemSpan::map(guard, m, pos, len).map_err(|_| EIO)
}

/// Compares up to `pair.len` bytes of a pair under `rule`, as much as both sides can be mapped.
/// The destination is mapped only over what the source mapped, as in
/// `dax_range_compare_iter()`: a block past that (a bad one, say) is left to the next pair,
/// and does not fail a compare whose first piece already differs.
fn compare_pair(pair: &Pair<Iomap<'_>>, rule: PairRule) -> Result<DataOutcome> {
    let guard = DaxReadGuard::new("dedupe compare");
    let src = match rule {
        PairRule::DestMustBeZero => None,
        _ => Some(map_for_compare(
            &guard,
            &pair.src.raw,
            pair.src_pos,
            pair.len,
        )?),
    };
    // Never longer than `pair.len`: `PmemSpan::map` gives at most what it was asked for.
    let len = src.as_ref().map_or(pair.len, |s| s.len() as u64);
    let dst = match rule {
        PairRule::SourceMustBeZero => None,
        _ => Some(map_for_compare(&guard, &pair.dst.raw, pair.dst_pos, len)?),
    };
    let n = to_usize(len)?.min(dst.as_ref().map_or(usize::MAX, PmemSpan::len));
    let equal = match (rule, &src, &dst) {
        (PairRule::CompareBoth, Some(s), Some(d)) => s.equal(0, Some((d, 0)), n)?,
        (PairRule::SourceMustBeZero, Some(s), None) => s.equal(0, None, n)?,
        (PairRule::DestMustBeZero, None, Some(d)) => d.equal(0, None, n)?,
        _ => return Err(EINVAL),
    };
    Ok(if equal {
        DataOutcome::Equal(n as u64)
    } else {
        DataOutcome::Differ
    })
}

/// FIDEDUPERANGE's compare: walks both files in lockstep and says whether the ranges hold the
/// same data, with the contract of `dax_dedupe_file_range_compare()`.
pub(crate) fn range_compare<'a>(src: &mut IomapIter<'a>, dst: &mut IomapIter<'a>) -> Result<bool> {
    stats::add(Stat::Compares, 1);
    let mut compared = 0u64;
    let same = compare_ranges(src, dst, |pair, rule| {
        let r = compare_pair(pair, rule).map_err(WalkError::Cursor)?;
        if let DataOutcome::Equal(n) = r {
            compared += n;
        }
        Ok(r)
    })
    .map_err(|e| match e {
        WalkError::Cursor(e) => e,
        WalkError::BadMapping | WalkError::BadStep => EIO,
    })?;
    stats::add(Stat::BytesCompared, compared);
    if !same {
        stats::add(Stat::Mismatches, 1);
    }
    Ok(same)
}
