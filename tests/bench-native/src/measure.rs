//! Timing: the TSC, calibrated against the monotonic clock; samples taken until their spread is
//! small.

use core::arch::x86_64::{_mm_lfence, _rdtsc};
use std::time::{Duration, Instant};

use crate::{
    machine::{evict, Buffer},
    Routine,
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Temperature {
    /// Source and destination in the cache: the same buffers, copied again and again.
    Hot,
    /// Neither in any cache: both evicted (`clflushopt`) before every timed operation.
    Cold,
}

pub struct Tsc {
    pub hz: f64,
    /// The cost of an empty timed region, in ticks, taken off single-operation samples.
    overhead: f64,
}

fn ticks() -> u64 {
    // SAFETY: lfence and rdtsc have no memory-safety preconditions; the fences keep the read
    // from moving across the timed code.
    unsafe {
        _mm_lfence();
        let t = _rdtsc();
        _mm_lfence();
        t
    }
}

impl Tsc {
    pub fn calibrate() -> Self {
        let mut best = f64::MAX;
        let mut hz = 0.0;
        for _ in 0..3 {
            let (i0, t0) = (Instant::now(), ticks());
            std::thread::sleep(Duration::from_millis(100));
            let (i1, t1) = (Instant::now(), ticks());
            let secs = (i1 - i0).as_secs_f64();
            // The pair read with the least delay between its two clocks is the best estimate.
            let f = (t1 - t0) as f64 / secs;
            if (f - hz).abs() < best || hz == 0.0 {
                best = (f - hz).abs();
                hz = f;
            }
        }
        let mut empty: Vec<f64> = (0..1001)
            .map(|_| {
                let t0 = ticks();
                (ticks() - t0) as f64
            })
            .collect();
        empty.sort_by(f64::total_cmp);
        Tsc {
            hz,
            overhead: empty[empty.len() / 2],
        }
    }
}

/// The time one operation took, over the samples: seconds.
pub struct Sample {
    pub median: f64,
    pub p25: f64,
    pub p75: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
    /// Operations timed together in one sample (hot cases of short operations).
    pub batch: usize,
}

impl Sample {
    pub fn gbps(&self, bytes: usize) -> f64 {
        bytes as f64 / self.median / 1e9
    }

    /// The interquartile range relative to the median.
    pub fn rel_iqr(&self) -> f64 {
        (self.p75 - self.p25) / self.median
    }
}

/// Times `r` on `size` bytes: copies from `a` into `b`, compares `a` with `b`.
///
/// At least `min` samples; then more until the interquartile range is within 2% of the median,
/// or the case's time budget (or `max` samples) runs out.
pub fn run(
    tsc: &Tsc,
    r: &Routine,
    a: &mut Buffer,
    b: &mut Buffer,
    size: usize,
    temp: Temperature,
    quick: bool,
) -> Sample {
    let (pa, pb) = (a.ptr(), b.ptr());
    let op = || {
        // SAFETY: both buffers hold at least `size` bytes and do not overlap.
        let ok = unsafe { (r.run)(pb, pa, size) };
        std::hint::black_box(ok);
    };
    let time = |n: usize| -> f64 {
        let t0 = ticks();
        for _ in 0..n {
            op();
        }
        let t = (ticks() - t0) as f64;
        let t = if n == 1 {
            (t - tsc.overhead).max(1.0)
        } else {
            t
        };
        t / tsc.hz / n as f64
    };
    // Warm up (code, TLB, and for hot cases the data) and size the batch: a hot sample is at
    // least 20 us of work, so the timer's own cost is negligible.
    for _ in 0..3 {
        op();
    }
    let one = time(1);
    let batch = match temp {
        Temperature::Hot => ((20e-6 / one).ceil() as usize).clamp(1, 4096),
        Temperature::Cold => 1,
    };
    let (min, max, budget) = match (size >= 1 << 30, quick) {
        (true, _) => (5, 9, 20.0),
        (false, false) => (21, 2001, 2.0),
        (false, true) => (11, 201, 0.3),
    };
    let start = Instant::now();
    let mut v: Vec<f64> = Vec::new();
    loop {
        if temp == Temperature::Cold {
            evict(pa, size);
            evict(pb, size);
        }
        v.push(time(batch));
        if v.len() >= min {
            let s = summarize(&v, batch);
            let spent = start.elapsed().as_secs_f64();
            if s.rel_iqr() <= 0.02 || v.len() >= max || spent > budget {
                return s;
            }
        }
    }
}

fn summarize(v: &[f64], batch: usize) -> Sample {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    Sample {
        median: q(0.5),
        p25: q(0.25),
        p75: q(0.75),
        min: s[0],
        max: s[s.len() - 1],
        samples: s.len(),
        batch,
    }
}

/// What `kernel_fpu_begin()` and the return to user space pay when a kernel loop uses vector
/// registers: saving and restoring this CPU's whole enabled register state (`xsaveopt` and
/// `xrstor` of every component in XCR0, AVX-512 included, all 32 `zmm` registers in use), in
/// nanoseconds, median of many.
pub fn fpu_save_restore_ns(tsc: &Tsc) -> f64 {
    // SAFETY: cpuid and xgetbv are available on every x86-64 CPU with XSAVE (checked by the
    // caller through the `xsave` flag).
    let (size, mask) = unsafe {
        let leaf = core::arch::x86_64::__cpuid_count(0xd, 0);
        (leaf.ebx as usize, core::arch::x86_64::_xgetbv(0))
    };
    let layout = std::alloc::Layout::from_size_align(size.max(4096), 64).unwrap();
    // SAFETY: a non-zero size; freed below.
    let area = unsafe { std::alloc::alloc_zeroed(layout) };
    let (lo, hi) = (mask as u32, (mask >> 32) as u32);
    let avx512 = std::arch::is_x86_feature_detected!("avx512f");
    let mut v: Vec<f64> = (0..2001)
        .map(|_| {
            if avx512 {
                // SAFETY: the CPU has AVX-512F (checked).
                unsafe { dirty_vector_registers() };
            }
            let t0 = ticks();
            // SAFETY: `area` is 64-byte aligned and holds the size CPUID gives for XCR0's
            // components; xrstor restores what xsaveopt just saved.
            unsafe {
                core::arch::asm!(
                    "xsaveopt64 [{a}]",
                    "xrstor64 [{a}]",
                    a = in(reg) area,
                    in("eax") lo,
                    in("edx") hi,
                    options(nostack),
                )
            };
            (ticks() - t0) as f64 - tsc.overhead
        })
        .collect();
    // SAFETY: allocated above with this layout.
    unsafe { std::alloc::dealloc(area, layout) };
    v.sort_by(f64::total_cmp);
    v[v.len() / 2] / tsc.hz * 1e9
}

/// Leaves all 32 `zmm` registers in a non-initial state, as a program that used AVX-512 would,
/// so the save that follows has all of them to write.  A call of its own: every vector
/// register is caller-saved, so the caller holds nothing in them across it.
///
/// # Safety
///
/// The CPU must have AVX-512F.
#[inline(never)]
#[target_feature(enable = "avx512f")]
unsafe extern "C" fn dirty_vector_registers() {
    // SAFETY: AVX-512F is present (the caller's guarantee); the registers are caller-saved,
    // and left dirty on purpose (no `vzeroupper`): the save then has every component to write.
    unsafe {
        core::arch::asm!(
            "vpternlogd zmm0, zmm0, zmm0, 0xff",
            "vpternlogd zmm1, zmm1, zmm1, 0xff",
            "vpternlogd zmm2, zmm2, zmm2, 0xff",
            "vpternlogd zmm3, zmm3, zmm3, 0xff",
            "vpternlogd zmm4, zmm4, zmm4, 0xff",
            "vpternlogd zmm5, zmm5, zmm5, 0xff",
            "vpternlogd zmm6, zmm6, zmm6, 0xff",
            "vpternlogd zmm7, zmm7, zmm7, 0xff",
            "vpternlogd zmm8, zmm8, zmm8, 0xff",
            "vpternlogd zmm9, zmm9, zmm9, 0xff",
            "vpternlogd zmm10, zmm10, zmm10, 0xff",
            "vpternlogd zmm11, zmm11, zmm11, 0xff",
            "vpternlogd zmm12, zmm12, zmm12, 0xff",
            "vpternlogd zmm13, zmm13, zmm13, 0xff",
            "vpternlogd zmm14, zmm14, zmm14, 0xff",
            "vpternlogd zmm15, zmm15, zmm15, 0xff",
            "vpternlogd zmm16, zmm16, zmm16, 0xff",
            "vpternlogd zmm17, zmm17, zmm17, 0xff",
            "vpternlogd zmm18, zmm18, zmm18, 0xff",
            "vpternlogd zmm19, zmm19, zmm19, 0xff",
            "vpternlogd zmm20, zmm20, zmm20, 0xff",
            "vpternlogd zmm21, zmm21, zmm21, 0xff",
            "vpternlogd zmm22, zmm22, zmm22, 0xff",
            "vpternlogd zmm23, zmm23, zmm23, 0xff",
            "vpternlogd zmm24, zmm24, zmm24, 0xff",
            "vpternlogd zmm25, zmm25, zmm25, 0xff",
            "vpternlogd zmm26, zmm26, zmm26, 0xff",
            "vpternlogd zmm27, zmm27, zmm27, 0xff",
            "vpternlogd zmm28, zmm28, zmm28, 0xff",
            "vpternlogd zmm29, zmm29, zmm29, 0xff",
            "vpternlogd zmm30, zmm30, zmm30, 0xff",
            "vpternlogd zmm31, zmm31, zmm31, 0xff",
            options(nostack, nomem, preserves_flags),
        )
    };
}
