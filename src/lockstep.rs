// SPDX-License-Identifier: GPL-2.0

//! Walking two files' mappings in lockstep: the two-file iterator behind FIDEDUPERANGE.
//!
//! The seed series proposed `iomap_apply2()` for this; Linux 7.3 open-codes it in
//! `dax_dedupe_file_range_compare()` with two `struct iomap_iter`s.  Here the walk is generic
//! over [`MappingCursor`], the `iomap_iter()` protocol of one file, so the same code runs on
//! the kernel's iterators and, in the host tests, on a model.

use crate::compare::{pair_rule, PairRule};
use crate::extent::ExtentKind;

/// One mapping of a file: `[offset, offset + length)` is backed by an extent of `kind`;
/// `raw` is the cursor's own description of it (the kernel's `struct iomap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping<R> {
    /// File offset of the first byte the mapping describes.
    pub offset: u64,
    /// Length of the mapping in bytes.
    pub length: u64,
    /// What backs it.
    pub kind: ExtentKind,
    /// The cursor's own description of the mapping.
    pub raw: R,
}

/// Why a walk stopped with an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError<E> {
    /// The cursor (the file system) failed, or the actor did.
    Cursor(E),
    /// The mapping does not contain the cursor's position, or its end overflows.
    BadMapping,
    /// The actor consumed no bytes of a pair, or more than the pair has.
    BadStep,
}

/// One file's side of the walk, with the `iomap_iter()` protocol: [`next`](Self::next)
/// finishes the previous mapping and produces the one at the current position; it returns
/// `None` when the range is done or when the previous mapping was not advanced at all.
pub trait MappingCursor {
    /// The cursor's error.
    type Error;
    /// The cursor's own description of a mapping.
    type Raw;
    /// The mapping at the current position, or `None` at the end of the walk.
    fn next(&mut self) -> Result<Option<Mapping<Self::Raw>>, Self::Error>;
    /// The current file position.
    fn pos(&self) -> u64;
    /// Bytes of the range not walked yet.
    fn remaining(&self) -> u64;
    /// Consumes `len` bytes of the current mapping.
    fn advance(&mut self, len: u64) -> Result<(), Self::Error>;
}

/// Two extents that face each other over `len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair<R> {
    /// File position in the source.
    pub src_pos: u64,
    /// File position in the destination.
    pub dst_pos: u64,
    /// The source's mapping.
    pub src: Mapping<R>,
    /// The destination's mapping.
    pub dst: Mapping<R>,
    /// Bytes both mappings cover from their positions, bounded by what is left to walk.
    pub len: u64,
}

/// Bytes of `m` from `pos` to its end, if `m` contains `pos`.
fn left_in<R>(m: &Mapping<R>, pos: u64) -> Option<u64> {
    let end = m.offset.checked_add(m.length)?;
    if m.offset <= pos && pos < end {
        Some(end - pos)
    } else {
        None
    }
}

/// Two cursors walked together.
pub struct Lockstep<'a, S, D> {
    /// The source file's cursor.
    pub src: &'a mut S,
    /// The destination file's cursor.
    pub dst: &'a mut D,
}

impl<'a, E, R, S, D> Lockstep<'a, S, D>
where
    S: MappingCursor<Error = E, Raw = R>,
    D: MappingCursor<Error = E, Raw = R>,
{
    /// The next pair of facing extents, or `None` when either walk is done.
    pub fn next_pair(&mut self) -> Result<Option<Pair<R>>, WalkError<E>> {
        let Some(src) = self.src.next().map_err(WalkError::Cursor)? else {
            return Ok(None);
        };
        let Some(dst) = self.dst.next().map_err(WalkError::Cursor)? else {
            return Ok(None);
        };
        let (src_pos, dst_pos) = (self.src.pos(), self.dst.pos());
        let a = left_in(&src, src_pos).ok_or(WalkError::BadMapping)?;
        let b = left_in(&dst, dst_pos).ok_or(WalkError::BadMapping)?;
        let len = a.min(b).min(self.src.remaining()).min(self.dst.remaining());
        Ok(Some(Pair {
            src_pos,
            dst_pos,
            src,
            dst,
            len,
        }))
    }

    /// Consumes `len` bytes of both current mappings.
    pub fn advance(&mut self, len: u64) -> Result<(), WalkError<E>> {
        self.src.advance(len).map_err(WalkError::Cursor)?;
        self.dst.advance(len).map_err(WalkError::Cursor)
    }

    /// Ends both walks without consuming more (each cursor's `next` then returns `None`).
    pub fn finish(&mut self) -> Result<(), WalkError<E>> {
        while self.src.next().map_err(WalkError::Cursor)?.is_some() {}
        while self.dst.next().map_err(WalkError::Cursor)?.is_some() {}
        Ok(())
    }
}

/// What the actor of [`walk`] did with a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Consumed the first `n` bytes (`0 < n <= pair.len`); the walk goes on after them.
    Consumed(u64),
    /// Stop the walk here.
    Stop,
}

/// The two-file iterator (the seed series' `iomap_apply2()`): walks both cursors in lockstep
/// and hands each pair of facing extents to `actor`.  Returns `true` when the walk covered the
/// whole range, `false` when the actor stopped it; either way both cursors have ended their
/// walks.  An error from a cursor or the actor ends the walk with that error.
pub fn walk<E, R, S, D, F>(src: &mut S, dst: &mut D, mut actor: F) -> Result<bool, WalkError<E>>
where
    S: MappingCursor<Error = E, Raw = R>,
    D: MappingCursor<Error = E, Raw = R>,
    F: FnMut(&Pair<R>) -> Result<Step, WalkError<E>>,
{
    let mut walk = Lockstep { src, dst };
    while let Some(pair) = walk.next_pair()? {
        match actor(&pair)? {
            Step::Consumed(n) if n > 0 && n <= pair.len => walk.advance(n)?,
            Step::Consumed(_) => return Err(WalkError::BadStep),
            Step::Stop => {
                walk.finish()?;
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// What comparing the bytes of a pair found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataOutcome {
    /// The first `n` bytes (`0 < n <= pair.len`) are equal; the walk goes on after them.
    Equal(u64),
    /// A difference was found.
    Differ,
}

/// Compares the two ranges the cursors walk and returns whether they are the same: a
/// [`walk`] whose actor applies the pairing rules.
///
/// `compare_data` compares the bytes of a pair whose rule needs reading, and may compare less
/// than the whole pair (for example when only part of an extent could be mapped).
pub fn compare_ranges<E, R, S, D, F>(
    src: &mut S,
    dst: &mut D,
    mut compare_data: F,
) -> Result<bool, WalkError<E>>
where
    S: MappingCursor<Error = E, Raw = R>,
    D: MappingCursor<Error = E, Raw = R>,
    F: FnMut(&Pair<R>, PairRule) -> Result<DataOutcome, WalkError<E>>,
{
    let mut same = false;
    let covered = walk(src, dst, |pair| {
        let rule = pair_rule(pair.src.kind, pair.dst.kind);
        let equal_len = match rule {
            PairRule::Same => pair.len,
            PairRule::Differ => 0,
            _ => match compare_data(pair, rule)? {
                DataOutcome::Equal(n) if n > 0 && n <= pair.len => n,
                DataOutcome::Equal(_) => return Err(WalkError::BadMapping),
                DataOutcome::Differ => 0,
            },
        };
        if equal_len == 0 {
            return Ok(Step::Stop);
        }
        same = true;
        Ok(Step::Consumed(equal_len))
    })?;
    Ok(covered && same)
}
