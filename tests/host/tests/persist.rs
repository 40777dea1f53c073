//! The persistence model of the trace build: which orders of stores, write-backs and fences it
//! accepts, including the sequence the engine's copy used before every destination was fenced
//! when dropped.

use daxcow_host_tests::persist::{Event::*, Trace, Violation, LINE};

fn violations(events: &[daxcow_host_tests::persist::Event]) -> Vec<Violation> {
    let mut t = Trace::<16>::new();
    for e in events {
        t.record(*e);
    }
    let mut out = Vec::new();
    let n = t.check(|v| out.push(v));
    assert_eq!(n, out.len());
    out
}

#[test]
fn non_temporal_stores_need_a_later_fence() {
    assert_eq!(violations(&[NonTemporal(0, 4096), Fence]), vec![]);
    assert_eq!(
        violations(&[Fence, NonTemporal(0, 4096)]),
        vec![Violation::NotFenced(0, 4096)]
    );
}

#[test]
fn cached_stores_need_a_write_back_then_a_fence() {
    assert_eq!(
        violations(&[Cached(0, 100), WriteBack(0, 100), Fence]),
        vec![]
    );
    assert_eq!(
        violations(&[Cached(0, 100), Fence]),
        vec![Violation::NotWrittenBack(0, 100)]
    );
    assert_eq!(
        violations(&[Cached(0, 100), Fence, WriteBack(0, 100)]),
        vec![Violation::NotFenced(0, 100)]
    );
    // A write-back before the store does not count.
    assert_eq!(
        violations(&[WriteBack(0, 100), Cached(0, 100), Fence]),
        vec![Violation::NotWrittenBack(0, 100)]
    );
}

#[test]
fn write_backs_cover_whole_lines() {
    // One byte of a line written back covers the whole line.
    assert_eq!(
        violations(&[Cached(70, 80), WriteBack(64, 65), Fence]),
        vec![]
    );
    // Two write-backs together cover a store; a gap between them is reported.
    assert_eq!(
        violations(&[
            Cached(0, 3 * LINE),
            WriteBack(0, LINE),
            WriteBack(2 * LINE, 3 * LINE),
            Fence
        ]),
        vec![Violation::NotWrittenBack(LINE, 3 * LINE)]
    );
    assert_eq!(
        violations(&[
            Cached(0, 3 * LINE),
            WriteBack(LINE, 3 * LINE),
            WriteBack(0, 1),
            Fence
        ]),
        vec![]
    );
}

#[test]
fn the_copy_before_the_final_fence_left_its_edges_unfenced() {
    // An unaligned copy as PmemDst::copy_from does it: the cached head edge, the non-temporal
    // lines and their fence, the cached tail edge, then the write-backs of both edges.
    let copy = [
        Cached(4000, 4032),
        NonTemporal(4032, 8128),
        Fence,
        Cached(8128, 8192),
        WriteBack(4000, 4032),
        WriteBack(8128, 8192),
    ];
    assert_eq!(
        violations(&copy),
        vec![
            Violation::NotFenced(4000, 4032),
            Violation::NotFenced(8128, 8192)
        ]
    );
    let mut fenced = copy.to_vec();
    fenced.push(Fence);
    assert_eq!(violations(&fenced), vec![]);
}

#[test]
fn an_overflowing_trace_is_a_violation() {
    let mut t = Trace::<2>::new();
    t.record(NonTemporal(0, 64));
    t.record(Fence);
    t.record(Fence);
    let mut out = Vec::new();
    assert_eq!(t.check(|v| out.push(v)), 1);
    assert_eq!(out, vec![Violation::Overflow]);
}
