// SPDX-License-Identifier: GPL-2.0

//! The rules and the byte comparison behind FIDEDUPERANGE on DAX.
//!
//! Two ranges are the same when every pair of extents that face each other compares equal.
//! The pairing rules are those of `dax_range_compare_iter()` as patches/0007 leaves it: a hole
//! only matches a hole, and an unwritten extent reads as zeroes to every reader, so it is
//! compared as zeroes, never by reading its stale blocks (7.3 without 0007 reads them).

use crate::extent::ExtentKind;

/// How a pair of facing extents is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairRule {
    /// Equal without reading anything (hole against hole, unwritten against unwritten).
    Same,
    /// Different without reading anything (a hole against anything but a hole).
    Differ,
    /// Compare the bytes of both.
    CompareBoth,
    /// Only the source has data: it must be all zeroes.
    SourceMustBeZero,
    /// Only the destination has data: it must be all zeroes.
    DestMustBeZero,
}

/// The rule for a source extent of kind `src` facing a destination extent of kind `dst`.
pub fn pair_rule(src: ExtentKind, dst: ExtentKind) -> PairRule {
    use ExtentKind::*;
    match (src, dst) {
        (Hole, Hole) | (Unwritten, Unwritten) => PairRule::Same,
        // As the C: a hole never matches data, not even zeroes, nor an unwritten extent.
        (Hole, _) | (_, Hole) => PairRule::Differ,
        (Mapped, Mapped) => PairRule::CompareBoth,
        (Mapped, Unwritten) => PairRule::SourceMustBeZero,
        (Unwritten, Mapped) => PairRule::DestMustBeZero,
    }
}

const WORD: usize = core::mem::size_of::<u64>();
const BLOCK: usize = 4 * WORD;

fn word(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; WORD];
    w.copy_from_slice(&b[at..at + WORD]);
    u64::from_ne_bytes(w)
}

/// The index of the first byte where `a` and `b` differ, comparing `min(a.len(), b.len())`
/// bytes.
///
/// Four words a step with one branch, then words, then bytes: fewer branches than the
/// kernel's word-at-a-time `memcmp()`, and it stops inside the first differing block.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n {
        let x = (word(a, i) ^ word(b, i))
            | (word(a, i + WORD) ^ word(b, i + WORD))
            | (word(a, i + 2 * WORD) ^ word(b, i + 2 * WORD))
            | (word(a, i + 3 * WORD) ^ word(b, i + 3 * WORD));
        if x != 0 {
            break;
        }
        i += BLOCK;
    }
    while i + WORD <= n && word(a, i) == word(b, i) {
        i += WORD;
    }
    (i..n).find(|&j| a[j] != b[j])
}

/// The index of the first non-zero byte of `a`.
pub fn first_nonzero(a: &[u8]) -> Option<usize> {
    let n = a.len();
    let mut i = 0;
    while i + BLOCK <= n {
        let x = word(a, i) | word(a, i + WORD) | word(a, i + 2 * WORD) | word(a, i + 3 * WORD);
        if x != 0 {
            break;
        }
        i += BLOCK;
    }
    (i..n).find(|&j| a[j] != 0)
}
