// SPDX-License-Identifier: GPL-2.0

//! The x86 persistence model that the module's trace build checks every engine operation
//! against (pure code, also compiled and tested on the host).
//!
//! With `--cfg daxcow_trace`, every store the engine makes to pmem, every cache write-back and
//! every fence is recorded, in program order, through the abstraction types of `src/dax.rs`
//! (no other code can store to pmem), and checked when the operation ends.  Under the x86
//! persistence model (ADR: the CPU caches are outside the persistence domain, the memory
//! controller's queues inside it):
//!
//! - a store through the cache is durable once a later `clwb`/`clflushopt` of its line is
//!   followed by an `sfence`;
//! - a non-temporal store is durable once a later `sfence` has executed.
//!
//! The default build records nothing: this module and every call into it are compiled out.

/// A cache line, the unit of a write-back.
pub const LINE: usize = 64;

/// One event of an operation, by kernel address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Stores through the cache to `[start, end)`.
    Cached(usize, usize),
    /// Non-temporal stores to `[start, end)`.
    NonTemporal(usize, usize),
    /// A write-back of every cache line that holds a byte of `[start, end)`.
    WriteBack(usize, usize),
    /// `sfence`.
    Fence,
}

/// Why stored bytes are not durable when the operation ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// Bytes `[start, end)` stored through the cache were never written back.
    NotWrittenBack(usize, usize),
    /// Bytes `[start, end)` were stored (and written back, for cached stores) with no `sfence`
    /// after.
    NotFenced(usize, usize),
    /// The operation had more events than the trace holds; the rest was not checked.
    Overflow,
}

/// The events of one operation, at most `N`.
pub struct Trace<const N: usize> {
    events: [Event; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> Default for Trace<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Trace<N> {
    /// An empty trace.
    pub const fn new() -> Self {
        Trace {
            events: [Event::Fence; N],
            len: 0,
            overflowed: false,
        }
    }

    /// Appends `event`; past `N` events the trace only remembers that it overflowed.
    pub fn record(&mut self, event: Event) {
        match self.events.get_mut(self.len) {
            Some(slot) => {
                *slot = event;
                self.len += 1;
            }
            None => self.overflowed = true,
        }
    }

    /// The events recorded, in order.
    pub fn events(&self) -> &[Event] {
        &self.events[..self.len]
    }

    /// Calls `report` for each violation and returns how many there were.
    pub fn check(&self, mut report: impl FnMut(Violation)) -> usize {
        let events = self.events();
        let last_fence = events.iter().rposition(|e| *e == Event::Fence);
        let mut found = 0;
        let mut bad = |v| {
            found += 1;
            report(v)
        };
        for (i, e) in events.iter().enumerate() {
            let fenced_after = last_fence.is_some_and(|f| f > i);
            match *e {
                Event::NonTemporal(s, end) if s < end && !fenced_after => {
                    bad(Violation::NotFenced(s, end))
                }
                Event::Cached(s, end) if s < end => {
                    // Write-backs after the store that a fence follows make bytes durable;
                    // write-backs after the last fence only clean the cache.
                    let durable_until = last_fence.unwrap_or(0);
                    if let Some((a, b)) = uncovered(events, s, end, i, durable_until) {
                        match uncovered(events, a, b, i, events.len()) {
                            Some((x, y)) => bad(Violation::NotWrittenBack(x, y)),
                            None => bad(Violation::NotFenced(a, b)),
                        }
                    }
                }
                _ => {}
            }
        }
        if self.overflowed {
            bad(Violation::Overflow);
        }
        found
    }
}

/// The first part of `[start, end)` that no write-back recorded between event indexes `after`
/// and `before` (both exclusive) covers, by whole cache lines.
fn uncovered(
    events: &[Event],
    start: usize,
    end: usize,
    after: usize,
    before: usize,
) -> Option<(usize, usize)> {
    let mut pos = start;
    'sweep: while pos < end {
        for e in events.iter().take(before).skip(after + 1) {
            if let Event::WriteBack(s, e_end) = *e {
                let lo = s - s % LINE;
                let hi = e_end.checked_next_multiple_of(LINE).unwrap_or(usize::MAX);
                if s < e_end && lo <= pos && pos < hi {
                    pos = hi;
                    continue 'sweep;
                }
            }
        }
        return Some((pos, end));
    }
    None
}
