//! The two-file lockstep walk and the dedupe compare rules against a byte model: for random
//! files made of holes, unwritten and written extents, `compare_ranges` says "same" exactly
//! when every facing byte pair passes the rule for its two extent kinds.

use daxcow_host_tests::compare::{first_difference, first_nonzero, pair_rule, PairRule};
use daxcow_host_tests::extent::ExtentKind;
use daxcow_host_tests::lockstep::{
    compare_ranges, walk, DataOutcome, Mapping, MappingCursor, Step, WalkError,
};
use proptest::prelude::*;

/// A model file: extents laid end to end, each with its kind; bytes for the mapped ones.
#[derive(Clone, Debug)]
struct ModelFile {
    extents: Vec<(u64, u64, ExtentKind)>, // (offset, length, kind)
    bytes: Vec<u8>,
}

impl ModelFile {
    fn kind_at(&self, pos: u64) -> ExtentKind {
        self.extents
            .iter()
            .find(|e| e.0 <= pos && pos < e.0 + e.1)
            .map(|e| e.2)
            .unwrap()
    }
}

/// A cursor with the `iomap_iter()` protocol over a model file.  `max_map` caps each mapping
/// (short mappings), and `untrimmed` reports mappings from the extent's start instead of from
/// the position, as some file systems do.
struct ModelCursor<'a> {
    file: &'a ModelFile,
    pos: u64,
    len: u64,
    start: Option<u64>,
    max_map: u64,
    untrimmed: bool,
    calls: u32,
}

impl MappingCursor for ModelCursor<'_> {
    type Error = i32;
    type Raw = ();
    fn next(&mut self) -> Result<Option<Mapping<()>>, i32> {
        self.calls += 1;
        if let Some(start) = self.start {
            if self.len == 0 || self.pos == start {
                self.start = None;
                self.len = 0;
                return Ok(None);
            }
        }
        if self.len == 0 {
            return Ok(None);
        }
        let e = self
            .file
            .extents
            .iter()
            .find(|e| e.0 <= self.pos && self.pos < e.0 + e.1)
            .unwrap();
        let from = if self.untrimmed { e.0 } else { self.pos };
        let end = (e.0 + e.1).min(self.pos.saturating_add(self.max_map));
        self.start = Some(self.pos);
        Ok(Some(Mapping {
            offset: from,
            length: end - from,
            kind: e.2,
            raw: (),
        }))
    }
    fn pos(&self) -> u64 {
        self.pos
    }
    fn remaining(&self) -> u64 {
        self.len
    }
    fn advance(&mut self, n: u64) -> Result<(), i32> {
        if n > self.len {
            return Err(-5);
        }
        self.pos += n;
        self.len -= n;
        Ok(())
    }
}

fn file_strategy() -> impl Strategy<Value = ModelFile> {
    let kind = prop_oneof![
        Just(ExtentKind::Hole),
        Just(ExtentKind::Unwritten),
        Just(ExtentKind::Mapped)
    ];
    (
        prop::collection::vec((1u64..6, kind), 1..6),
        any::<u64>(),
        0u8..4,
    )
        .prop_map(|(ext, seed, zero_bias)| {
            let mut extents = Vec::new();
            let mut off = 0;
            for (blocks, k) in ext {
                let len = blocks * 64;
                extents.push((off, len, k));
                off += len;
            }
            // Mostly equal-looking bytes so that "same" happens often: a few values only.
            let mut x = seed | 1;
            let bytes = (0..off)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if zero_bias == 0 {
                        0
                    } else {
                        (x % 2) as u8 * (x as u8 % 3)
                    }
                })
                .collect();
            ModelFile { extents, bytes }
        })
}

/// What the rules say, byte by byte.
fn model_same(a: &ModelFile, apos: u64, b: &ModelFile, bpos: u64, len: u64) -> bool {
    (0..len).all(|i| {
        let (x, y) = (apos + i, bpos + i);
        match pair_rule(a.kind_at(x), b.kind_at(y)) {
            PairRule::Same => true,
            PairRule::Differ => false,
            PairRule::CompareBoth => a.bytes[x as usize] == b.bytes[y as usize],
            PairRule::SourceMustBeZero => a.bytes[x as usize] == 0,
            PairRule::DestMustBeZero => b.bytes[y as usize] == 0,
        }
    }) && len > 0
}

proptest! {
    #[test]
    fn lockstep_compare_matches_model(
        a in file_strategy(),
        b in file_strategy(),
        apos_frac in 0u64..100,
        bpos_frac in 0u64..100,
        len_frac in 1u64..=100,
        max_map in prop_oneof![Just(u64::MAX), 1u64..200],
        untrimmed in any::<bool>(),
        chunk in prop_oneof![Just(u64::MAX), 1u64..100],
    ) {
        let asize = a.bytes.len() as u64;
        let bsize = b.bytes.len() as u64;
        let apos = asize * apos_frac / 100;
        let bpos = bsize * bpos_frac / 100;
        let len = ((asize - apos).min(bsize - bpos) * len_frac / 100).max(1).min((asize - apos).min(bsize - bpos));
        prop_assume!(len > 0);

        let mut src = ModelCursor { file: &a, pos: apos, len, start: None, max_map, untrimmed, calls: 0 };
        let mut dst = ModelCursor { file: &b, pos: bpos, len, start: None, max_map, untrimmed, calls: 0 };
        let got = compare_ranges(&mut src, &mut dst, |pair, rule| {
            // Compare at most `chunk` bytes at a time, as a partial direct-access map would.
            let n = pair.len.min(chunk);
            let (s, d) = (pair.src_pos as usize, pair.dst_pos as usize);
            let (sb, db) = (&a.bytes[s..s + n as usize], &b.bytes[d..d + n as usize]);
            let diff = match rule {
                PairRule::CompareBoth => first_difference(sb, db),
                PairRule::SourceMustBeZero => first_nonzero(sb),
                PairRule::DestMustBeZero => first_nonzero(db),
                _ => unreachable!(),
            };
            Ok(if diff.is_some() { DataOutcome::Differ } else { DataOutcome::Equal(n) })
        });
        prop_assert_eq!(got, Ok(model_same(&a, apos, &b, bpos, len)));
        // Both walks were ended: one more step produces nothing.
        prop_assert_eq!(src.next(), Ok(None));
        prop_assert_eq!(dst.next(), Ok(None));
    }

    /// The two-file iterator for C callers (`daxcow_iomap_apply2()`): the pairs it hands out
    /// tile the range on both sides, in order, each with the kinds the files have there, also
    /// when the actor consumes only part of a pair; and an actor that stops ends both walks.
    #[test]
    fn walk_tiles_the_range_with_the_right_kinds(
        a in file_strategy(),
        b in file_strategy(),
        len_frac in 1u64..=100,
        max_map in prop_oneof![Just(u64::MAX), 1u64..200],
        untrimmed in any::<bool>(),
        chunk in prop_oneof![Just(u64::MAX), 1u64..100],
        stop_after in prop_oneof![Just(usize::MAX), 0usize..6],
    ) {
        let asize = a.bytes.len() as u64;
        let bsize = b.bytes.len() as u64;
        let len = (asize.min(bsize) * len_frac / 100).max(1).min(asize.min(bsize));
        let mut src = ModelCursor { file: &a, pos: 0, len, start: None, max_map, untrimmed, calls: 0 };
        let mut dst = ModelCursor { file: &b, pos: 0, len, start: None, max_map, untrimmed, calls: 0 };
        let mut at = 0u64;
        let mut pairs = 0usize;
        let mut stopped = false;
        let covered = walk(&mut src, &mut dst, |pair| {
            if pairs == stop_after {
                stopped = true;
                return Ok(Step::Stop);
            }
            pairs += 1;
            assert_eq!((pair.src_pos, pair.dst_pos), (at, at));
            assert!(pair.len > 0 && at + pair.len <= len);
            for p in at..at + pair.len {
                assert_eq!(pair.src.kind, a.kind_at(p));
                assert_eq!(pair.dst.kind, b.kind_at(p));
            }
            let n = pair.len.min(chunk);
            at += n;
            Ok(Step::Consumed(n))
        });
        prop_assert_eq!(covered, Ok(!stopped));
        if !stopped {
            prop_assert_eq!(at, len);
        }
        prop_assert_eq!(src.next(), Ok(None));
        prop_assert_eq!(dst.next(), Ok(None));
    }

    #[test]
    fn first_difference_finds_the_first(a in prop::collection::vec(any::<u8>(), 0..300), flip in any::<prop::sample::Index>(), tail in 0usize..40) {
        let mut b = a.clone();
        b.extend(std::iter::repeat(7).take(tail));
        prop_assert_eq!(first_difference(&a, &b), None);
        if !a.is_empty() {
            let i = flip.index(a.len());
            b[i] ^= 0x10;
            prop_assert_eq!(first_difference(&a, &b), Some(i));
            let mut z = vec![0u8; a.len()];
            prop_assert_eq!(first_nonzero(&z), None);
            z[i] = 1;
            prop_assert_eq!(first_nonzero(&z), Some(i));
        }
    }
}

#[test]
fn a_mapping_that_does_not_contain_the_position_is_refused() {
    struct Bad(u64);
    impl MappingCursor for Bad {
        type Error = i32;
        type Raw = ();
        fn next(&mut self) -> Result<Option<Mapping<()>>, i32> {
            Ok(Some(Mapping {
                offset: self.0 + 4096,
                length: 4096,
                kind: ExtentKind::Mapped,
                raw: (),
            }))
        }
        fn pos(&self) -> u64 {
            self.0
        }
        fn remaining(&self) -> u64 {
            4096
        }
        fn advance(&mut self, _: u64) -> Result<(), i32> {
            Ok(())
        }
    }
    let r = compare_ranges(&mut Bad(0), &mut Bad(0), |_, _| Ok(DataOutcome::Differ));
    assert_eq!(r, Err(WalkError::BadMapping));
}

#[test]
fn hole_rules_follow_the_c_engine() {
    use ExtentKind::*;
    assert_eq!(pair_rule(Hole, Hole), PairRule::Same);
    assert_eq!(pair_rule(Hole, Mapped), PairRule::Differ);
    assert_eq!(pair_rule(Mapped, Hole), PairRule::Differ);
    assert_eq!(pair_rule(Mapped, Mapped), PairRule::CompareBoth);
}
