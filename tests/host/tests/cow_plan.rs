//! The copy-around planner against a byte-array model: for any offset, length, alignment and
//! source kind, executing the plan and then the write leaves the new block equal to what a
//! reader of the file must see.

use daxcow_host_tests::cow_plan::{CopyAroundPlan, PlanError};
use daxcow_host_tests::extent::ExtentKind as SourceKind;
use proptest::prelude::*;

/// Carries `plan` out on `dst` (the new block, initially garbage) from `src` (the old extent's
/// bytes for the same span), as the kernel side does: copy for a mapped source, zero otherwise.
fn execute(plan: &CopyAroundPlan, kind: SourceKind, src: &[u8], dst: &mut [u8]) {
    for r in plan.fill_ranges() {
        let (a, b) = (r.start as usize, r.end as usize);
        if kind.has_data() {
            dst[a..b].copy_from_slice(&src[a..b]);
        } else {
            dst[a..b].fill(0);
        }
    }
}

fn kind_strategy() -> impl Strategy<Value = SourceKind> {
    prop_oneof![
        Just(SourceKind::Hole),
        Just(SourceKind::Unwritten),
        Just(SourceKind::Mapped)
    ]
}

proptest! {
    #[test]
    fn write_through_plan_matches_model(
        align_shift in 9u32..14,
        pos in 0u64..40_000,
        len in 1u64..20_000,
        kind in kind_strategy(),
        seed in any::<u8>(),
    ) {
        let align = 1u64 << align_shift;
        let plan = CopyAroundPlan::new(pos, len, align).unwrap();
        prop_assert_eq!(plan.span_start % align, 0);
        prop_assert_eq!(plan.span_len % align, 0);
        prop_assert!(plan.span_start <= pos);
        prop_assert!(pos + len <= plan.span_start + plan.span_len);
        prop_assert!(plan.span_len < len + 2 * align);

        let n = plan.span_len as usize;
        let src: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1).collect();
        let mut dst = vec![0xEEu8; n];
        execute(&plan, kind, &src, &mut dst);

        // The operation's own bytes: a write stores new data; the fault case stores nothing.
        let op = (pos - plan.span_start) as usize..(pos - plan.span_start + len) as usize;
        if !plan.whole {
            for b in &mut dst[op.clone()] { *b = 0x5A; }
        }
        for i in 0..n {
            let expect = if !plan.whole && op.contains(&i) {
                0x5A
            } else if kind.has_data() {
                src[i]
            } else {
                0
            };
            prop_assert_eq!(dst[i], expect, "byte {} of span, plan {:?}", i, plan);
        }
        // Nothing inside the operation is filled twice, and nothing outside is left out.
        let filled = plan.fill_bytes();
        if plan.whole { prop_assert_eq!(filled, plan.span_len); }
        else { prop_assert_eq!(filled, plan.span_len - len); }
    }

    #[test]
    fn overflow_is_reported_not_wrapped(pos in (u64::MAX - 10_000)..=u64::MAX, len in 1u64..20_000) {
        let r = CopyAroundPlan::new(pos, len, 4096);
        match pos.checked_add(len).and_then(|e| e.checked_add(4095)) {
            None => prop_assert_eq!(r, Err(PlanError::Overflow)),
            Some(_) => prop_assert!(r.is_ok()),
        }
    }
}

#[test]
fn fault_on_an_aligned_page_copies_the_whole_page() {
    let p = CopyAroundPlan::new(8192, 4096, 4096).unwrap();
    assert!(p.whole);
    assert_eq!(p.fill_ranges().collect::<Vec<_>>(), vec![0..4096]);
}

#[test]
fn write_aligned_at_both_ends_fills_its_whole_span_as_copy_all_does() {
    // The plan does not know the caller: a write over pages 2-4 plans what a fault would,
    // the old data under every byte the write then stores (docs/design.md, "Short writes").
    let p = CopyAroundPlan::new(8192, 3 * 4096, 4096).unwrap();
    assert!(p.whole);
    assert_eq!(p.fill_ranges().collect::<Vec<_>>(), vec![0..3 * 4096]);
}

#[test]
fn pmd_fault_copies_two_mib() {
    let p = CopyAroundPlan::new(2 << 20, 2 << 20, 2 << 20).unwrap();
    assert!(p.whole);
    assert_eq!(p.fill_bytes(), 2 << 20);
}

#[test]
fn write_crossing_a_page_boundary_copies_head_and_tail() {
    let p = CopyAroundPlan::new(4095, 10, 4096).unwrap();
    assert_eq!((p.span_start, p.span_len), (0, 8192));
    assert_eq!(p.head, 0..4095);
    assert_eq!(p.tail, 4105..8192);
}

#[test]
fn bad_requests_are_refused() {
    assert_eq!(CopyAroundPlan::new(0, 0, 4096), Err(PlanError::EmptyRange));
    assert_eq!(
        CopyAroundPlan::new(0, 1, 3000),
        Err(PlanError::BadAlignment)
    );
    assert_eq!(CopyAroundPlan::new(0, 1, 256), Err(PlanError::BadAlignment));
}

/// A short write: the copy from user space stops after `written` of `len` bytes.  The head and
/// tail plan leaves the bytes from the short end to the end of that block with whatever the new
/// block held (the 7.3 bug); `dax_iomap_iter()` then asks for the copy around
/// `[block, short end)`, whose tail is exactly that gap, and every byte the write did not store
/// reads the old data again.
#[test]
fn a_short_write_is_completed_by_the_copy_around_of_its_last_block() {
    let (pos, len, written) = (100u64, 5000u64, 3000u64);
    let old: Vec<u8> = vec![0x61; 8192];
    let plan = CopyAroundPlan::new(pos, len, 4096).unwrap();
    let mut span = vec![0u8; plan.span_len as usize];
    execute(&plan, SourceKind::Mapped, &old, &mut span);
    span[pos as usize..(pos + written) as usize].fill(0x58);
    let short_end = pos + written;
    let gap = short_end as usize..4096;
    assert!(
        span[gap.clone()].iter().any(|&b| b != 0x61),
        "head and tail leave a gap"
    );

    let block = short_end & !4095;
    let fill = CopyAroundPlan::new(block, short_end - block, 4096).unwrap();
    assert_eq!(
        fill.fill_ranges().collect::<Vec<_>>(),
        vec![short_end..4096]
    );
    execute(&fill, SourceKind::Mapped, &old, &mut span[block as usize..]);
    assert!(span[gap].iter().all(|&b| b == 0x61));
    assert!(span[..pos as usize].iter().all(|&b| b == 0x61));
    assert!(span[pos as usize..short_end as usize]
        .iter()
        .all(|&b| b == 0x58));
}

/// The write path of `dax_iomap_iter()` over a destination the device maps in pieces: each pass
/// maps from the page of the current position to at most the end of a piece, asks for the copy
/// around the pass's part of the write (`clip_len`, as the series does) or around all of what
/// is left (`[pos, end)`, as 7.3 does) with the length mapped, then writes its bytes; the next
/// pass starts where the mapping ended.  Returns the filled bytes (`true` where a fill or the
/// write stored) and whether any fill went past what its pass mapped.
fn write_in_pieces(
    pos: u64,
    len: u64,
    align: u64,
    cuts: &[u64],
    clip_len: bool,
) -> (Vec<bool>, bool) {
    let end = pos + len;
    let span_end = (end + align - 1) & !(align - 1);
    let mut stored = vec![false; span_end as usize];
    let mut overrun = false;
    let mut at = pos;
    while at < end {
        let page = at & !4095;
        // The mapping ends at the next cut after `page`, or covers the rest.
        let map_end = cuts.iter().copied().find(|&c| c > page).unwrap_or(u64::MAX);
        let mapped = map_end - page;
        let asked_end = if clip_len { end.min(map_end) } else { end };
        let plan = CopyAroundPlan::new(at, asked_end - at, align).unwrap();
        assert_eq!(plan.span_start, page);
        for r in plan.fill_ranges() {
            if r.end > mapped {
                overrun = true;
            }
        }
        for r in plan.fill_ranges_within(mapped) {
            for b in r {
                stored[(plan.span_start + b) as usize] = true;
            }
        }
        let write_end = end.min(map_end);
        for b in at..write_end {
            stored[b as usize] = true;
        }
        at = write_end;
    }
    (stored[(pos & !(align - 1)) as usize..].to_vec(), overrun)
}

proptest! {
    /// Clipping each pass's fill to its mapping loses nothing: over all passes every byte of
    /// the span is filled or written, whether the length asked for is clipped to the mapping or
    /// not, wherever the device cuts the span; with the length clipped no fill reaches past
    /// what its pass mapped.
    #[test]
    fn clipped_fills_over_all_pieces_cover_the_span(
        pos in 0u64..40_000,
        len in 1u64..20_000,
        cut_pages in proptest::collection::btree_set(1u64..16, 0..4),
        clip_len in any::<bool>(),
    ) {
        let cuts: Vec<u64> = cut_pages.iter().map(|p| p * 4096).collect();
        let (stored, overrun) = write_in_pieces(pos, len, 4096, &cuts, clip_len);
        prop_assert!(stored.iter().all(|&s| s));
        if clip_len {
            prop_assert!(!overrun);
        }
    }
}

#[test]
fn an_unclipped_fill_overruns_a_cut_span() {
    // The write at 12188 of 200 bytes over a destination cut after its first page, as
    // tests/guest/dmlinear.sh does: asked for the whole rest of the write (7.3), the first
    // pass's plan reaches past the 4 KiB mapped; asked for its own part, it does not.
    let (stored, overrun) = write_in_pieces(12188, 200, 4096, &[12288], false);
    assert!(overrun);
    assert!(stored.iter().all(|&s| s));
    let (stored, overrun) = write_in_pieces(12188, 200, 4096, &[12288], true);
    assert!(!overrun);
    assert!(stored.iter().all(|&s| s));
    let plan = CopyAroundPlan::new(12188, 200, 4096).unwrap();
    assert_eq!(
        plan.fill_ranges_within(4096).collect::<Vec<_>>(),
        vec![0..3996]
    );
}
