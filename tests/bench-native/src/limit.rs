//! The machine's limit: the fastest ways this CPU has to copy and compare, with no
//! machine-check safety (none of these could read pmem safely in the kernel).

use core::arch::x86_64::*;

use crate::{clwb_range, sfence, Kind, Routine, Side};

unsafe fn glibc_memcpy(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's non-overlapping ranges.
    unsafe { libc::memcpy(dst.cast(), src.cast(), n) };
    true
}

unsafe fn rep_movsb(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's non-overlapping ranges; `rep movsb` copies `n` bytes forward.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rdi") dst => _,
            inout("rsi") src => _,
            inout("rcx") n => _,
            options(nostack, preserves_flags)
        )
    };
    true
}

unsafe fn glibc_memcpy_clwb(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe {
        libc::memcpy(dst.cast(), src.cast(), n);
        clwb_range(dst, n);
    }
    sfence();
    true
}

unsafe fn rep_movsb_clwb(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe {
        rep_movsb(dst, src, n);
        clwb_range(dst, n);
    }
    sfence();
    true
}

/// 32-byte loads, 32-byte non-temporal stores, four to a 128-byte step.
#[target_feature(enable = "avx2")]
unsafe fn avx2_nt(dst: *mut u8, src: *const u8, n: usize) -> bool {
    assert!(n.is_multiple_of(128) && (dst as usize).is_multiple_of(32));
    let mut i = 0;
    while i < n {
        // SAFETY: `i + 128 <= n`, inside the caller's ranges; `dst + i` is 32-byte aligned.
        unsafe {
            let s = src.add(i).cast::<__m256i>();
            let d = dst.add(i).cast::<__m256i>();
            let x0 = _mm256_loadu_si256(s);
            let x1 = _mm256_loadu_si256(s.add(1));
            let x2 = _mm256_loadu_si256(s.add(2));
            let x3 = _mm256_loadu_si256(s.add(3));
            _mm256_stream_si256(d, x0);
            _mm256_stream_si256(d.add(1), x1);
            _mm256_stream_si256(d.add(2), x2);
            _mm256_stream_si256(d.add(3), x3);
        }
        i += 128;
    }
    _mm_sfence();
    true
}

/// 64-byte loads, 64-byte non-temporal stores, four to a 256-byte step.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_nt(dst: *mut u8, src: *const u8, n: usize) -> bool {
    assert!(n.is_multiple_of(256) && (dst as usize).is_multiple_of(64));
    let mut i = 0;
    while i < n {
        // SAFETY: `i + 256 <= n`, inside the caller's ranges; `dst + i` is 64-byte aligned.
        unsafe {
            let s = src.add(i).cast::<__m512i>();
            let d = dst.add(i).cast::<__m512i>();
            let x0 = _mm512_loadu_si512(s);
            let x1 = _mm512_loadu_si512(s.add(1));
            let x2 = _mm512_loadu_si512(s.add(2));
            let x3 = _mm512_loadu_si512(s.add(3));
            _mm512_stream_si512(d, x0);
            _mm512_stream_si512(d.add(1), x1);
            _mm512_stream_si512(d.add(2), x2);
            _mm512_stream_si512(d.add(3), x3);
        }
        i += 256;
    }
    _mm_sfence();
    true
}

unsafe fn glibc_memcmp(a: *mut u8, b: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe { libc::memcmp(a.cast(), b.cast(), n) == 0 }
}

/// 128 bytes a step: four 32-byte xors or'ed together, one test and branch.
#[target_feature(enable = "avx2")]
unsafe fn avx2_compare(a: *mut u8, b: *const u8, n: usize) -> bool {
    assert!(n.is_multiple_of(128));
    let mut i = 0;
    while i < n {
        // SAFETY: `i + 128 <= n`, inside the caller's ranges.
        let x = unsafe {
            let p = a.add(i).cast::<__m256i>();
            let q = b.add(i).cast::<__m256i>();
            let d0 = _mm256_xor_si256(_mm256_loadu_si256(p), _mm256_loadu_si256(q));
            let d1 = _mm256_xor_si256(_mm256_loadu_si256(p.add(1)), _mm256_loadu_si256(q.add(1)));
            let d2 = _mm256_xor_si256(_mm256_loadu_si256(p.add(2)), _mm256_loadu_si256(q.add(2)));
            let d3 = _mm256_xor_si256(_mm256_loadu_si256(p.add(3)), _mm256_loadu_si256(q.add(3)));
            _mm256_or_si256(_mm256_or_si256(d0, d1), _mm256_or_si256(d2, d3))
        };
        if _mm256_testz_si256(x, x) == 0 {
            return false;
        }
        i += 128;
    }
    true
}

/// 256 bytes a step with 64-byte vectors.
#[target_feature(enable = "avx512f")]
unsafe fn avx512_compare(a: *mut u8, b: *const u8, n: usize) -> bool {
    assert!(n.is_multiple_of(256));
    let mut i = 0;
    while i < n {
        // SAFETY: `i + 256 <= n`, inside the caller's ranges.
        let x = unsafe {
            let p = a.add(i).cast::<__m512i>();
            let q = b.add(i).cast::<__m512i>();
            let d0 = _mm512_xor_si512(_mm512_loadu_si512(p), _mm512_loadu_si512(q));
            let d1 = _mm512_xor_si512(_mm512_loadu_si512(p.add(1)), _mm512_loadu_si512(q.add(1)));
            let d2 = _mm512_xor_si512(_mm512_loadu_si512(p.add(2)), _mm512_loadu_si512(q.add(2)));
            let d3 = _mm512_xor_si512(_mm512_loadu_si512(p.add(3)), _mm512_loadu_si512(q.add(3)));
            _mm512_or_si512(_mm512_or_si512(d0, d1), _mm512_or_si512(d2, d3))
        };
        if _mm512_test_epi64_mask(x, x) != 0 {
            return false;
        }
        i += 256;
    }
    true
}

pub fn routines() -> Vec<Routine> {
    use Kind::*;
    use Side::Limit;
    vec![
        Routine {
            name: "glibc_memcpy",
            kind: PlainCopy,
            side: Limit,
            what: "glibc memcpy, left in cache",
            run: glibc_memcpy,
            needs: None,
        },
        Routine {
            name: "rep_movsb",
            kind: PlainCopy,
            side: Limit,
            what: "rep movsb, left in cache",
            run: rep_movsb,
            needs: Some("erms"),
        },
        Routine {
            name: "glibc_memcpy_clwb",
            kind: DurableCopy,
            side: Limit,
            what: "glibc memcpy + clwb loop + sfence",
            run: glibc_memcpy_clwb,
            needs: Some("clwb"),
        },
        Routine {
            name: "rep_movsb_clwb",
            kind: DurableCopy,
            side: Limit,
            what: "rep movsb + clwb loop + sfence",
            run: rep_movsb_clwb,
            needs: Some("clwb"),
        },
        Routine {
            name: "avx2_nt",
            kind: DurableCopy,
            side: Limit,
            what: "AVX2 loads, vmovntdq stores, sfence",
            run: avx2_nt,
            needs: Some("avx2"),
        },
        Routine {
            name: "avx512_nt",
            kind: DurableCopy,
            side: Limit,
            what: "AVX-512 loads, vmovntdq zmm stores, sfence",
            run: avx512_nt,
            needs: Some("avx512f"),
        },
        Routine {
            name: "glibc_memcmp",
            kind: Compare,
            side: Limit,
            what: "glibc memcmp",
            run: glibc_memcmp,
            needs: None,
        },
        Routine {
            name: "avx2_compare",
            kind: Compare,
            side: Limit,
            what: "AVX2 xor/or/vptest, 128 bytes a step",
            run: avx2_compare,
            needs: Some("avx2"),
        },
        Routine {
            name: "avx512_compare",
            kind: Compare,
            side: Limit,
            what: "AVX-512 xor/or/vptestmq, 256 bytes a step",
            run: avx512_compare,
            needs: Some("avx512f"),
        },
    ]
}
