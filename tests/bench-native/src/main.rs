//! `make bench-native`: daxcow's copy and compare loops against the C routines they replace and
//! against the machine's limit, natively on the host CPU, on the same buffers.
//!
//! - daxcow: `src/mcsafe.rs`, the module's own file, compiled here as it is (its loops without
//!   their exception-table entries), and its copy composed as `PmemDst::copy_from` composes it
//!   (`mcsafe::LineSplit`: `copy_mc_to_kernel()` edges, non-temporal lines, edge write-back,
//!   one `sfence`).
//! - The C: `copy_mc_enhanced_fast_string` and `copy_mc_fragile` assembled from the 7.3 tree's
//!   `arch/x86/lib/copy_mc_64.S`, and `lib/string.c`'s `memcmp()` (see build.rs).
//! - Durable variants: the C copy followed by the kernel's `clean_cache_range()` (a `clwb`
//!   loop) and an `sfence`, which is what the C would need to be durable.
//! - The limit: glibc, `rep movsb`, the kernel's `__memcpy_flushcache()`, and AVX2 / AVX-512
//!   loops.
//!
//! The buffers are DRAM: these are the CPU's side of the copy, not pmem's.  Output: a table on
//! stdout and `build/bench/native.json` (or `$BENCH_NATIVE_OUT`).

// The module's `use kernel::error::...` resolves to this crate's `error` shim.
extern crate self as kernel;

mod error {
    //! The two names `src/mcsafe.rs` takes from the kernel crate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Error(pub i32);
    pub type Result<T = ()> = core::result::Result<T, Error>;
    pub mod code {
        pub const EIO: super::Error = super::Error(-5);
    }
}

#[path = "../../../src/mcsafe.rs"]
#[allow(dead_code)]
mod mcsafe;

mod limit;
mod machine;
mod measure;

use std::{fmt::Write as _, fs, path::PathBuf};

use measure::{Sample, Temperature};

extern "C" {
    // arch/x86/lib/copy_mc_64.S: `unsigned long fn(void *dst, const void *src, unsigned len)`.
    // The length is passed as 64 bits so the upper half of %rdx (which the ERMS variant moves
    // whole into %rcx) is defined; every length here fits in 32 bits.
    fn copy_mc_enhanced_fast_string(dst: *mut u8, src: *const u8, len: u64) -> u64;
    fn copy_mc_fragile(dst: *mut u8, src: *const u8, len: u64) -> u64;
    // lib/string.c's memcmp(), arch/x86/lib/usercopy_64.c's __memcpy_flushcache().
    fn kernel_memcmp(a: *const u8, b: *const u8, n: usize) -> i32;
    fn kernel_memcpy_flushcache(dst: *mut u8, src: *const u8, n: usize);
}

/// What a routine does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A copy that leaves its data in the CPU cache.
    PlainCopy,
    /// A copy whose data has left the CPU cache (non-temporal or written back) and is fenced.
    DurableCopy,
    /// Reads two ranges and says whether they are equal.
    Compare,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::PlainCopy => "plain_copy",
            Kind::DurableCopy => "durable_copy",
            Kind::Compare => "compare",
        }
    }
}

/// Whose routine it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Daxcow,
    C,
    Limit,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Daxcow => "daxcow",
            Side::C => "c",
            Side::Limit => "limit",
        }
    }
}

/// A routine under test: copies `n` bytes from `src` to `dst`, or compares `n` bytes at `dst`
/// and `src` and returns whether they are equal (copies return `true`).
pub struct Routine {
    pub name: &'static str,
    pub kind: Kind,
    pub side: Side,
    pub what: &'static str,
    pub run: unsafe fn(*mut u8, *const u8, usize) -> bool,
    pub needs: Option<&'static str>,
}

/// `copy_mc_to_kernel()` on this CPU (ERMS, no fragile quirk): the 7.3 C engine's copy.
unsafe fn copy_mc_to_kernel(dst: *mut u8, src: *const u8, n: usize) -> usize {
    // SAFETY: the caller's ranges.
    unsafe { copy_mc_enhanced_fast_string(dst, src, n as u64) as usize }
}

/// The kernel's `clean_cache_range()`: `clwb` every line that `[p, p + n)` touches.
///
/// # Safety
///
/// `[p, p + n)` must be mapped.
pub unsafe fn clwb_range(p: *const u8, n: usize) {
    if n == 0 {
        return;
    }
    let mut line = (p as usize) & !63;
    let end = p as usize + n;
    while line < end {
        // SAFETY: `line` is inside a line the caller's range touches.
        unsafe { core::arch::asm!("clwb [{}]", in(reg) line, options(nostack, preserves_flags)) };
        line += 64;
    }
}

pub fn sfence() {
    // SAFETY: no operands; orders earlier stores and write-backs.
    unsafe { core::arch::asm!("sfence", options(nostack, preserves_flags)) };
}

/// daxcow's durable copy, composed as `PmemDst::copy_from` composes it (src/dax.rs).
unsafe fn daxcow_copy(dst: *mut u8, src: *const u8, n: usize) -> bool {
    let split = mcsafe::LineSplit::new(dst as usize, n);
    let end = split.bulk_end();
    // SAFETY: `[dst, dst + n)` and `[src, src + n)` are the caller's buffers, not overlapping.
    unsafe {
        let mut ok = copy_mc_to_kernel(dst, src, split.lead()) == 0;
        ok &= mcsafe::copy_lines_nt(dst.add(split.lead()), src.add(split.lead()), split.lines())
            .is_ok();
        ok &= copy_mc_to_kernel(dst.add(end), src.add(end), split.tail()) == 0;
        // dax_flush() of the cached edges, then the fence of PmemDst's drop.
        clwb_range(dst, split.lead());
        clwb_range(dst.add(end), split.tail());
        sfence();
        ok
    }
}

/// daxcow's compare of whole blocks (`equal_mc` in src/dax.rs; every size here is a whole
/// number of blocks, so its stack-copied tail is empty).
unsafe fn daxcow_compare(a: *mut u8, b: *const u8, n: usize) -> bool {
    assert_eq!(n % mcsafe::BLOCK, 0);
    let blocks = n / mcsafe::BLOCK;
    // SAFETY: both ranges are the caller's, readable for `n` bytes.
    unsafe { mcsafe::first_diff_block(a, b, blocks) == Ok(blocks) }
}

unsafe fn c_copy_mc(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe { copy_mc_to_kernel(dst, src, n) == 0 }
}

unsafe fn c_copy_mc_fragile(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe { copy_mc_fragile(dst, src, n as u64) == 0 }
}

unsafe fn c_copy_mc_clwb(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe {
        let ok = copy_mc_to_kernel(dst, src, n) == 0;
        clwb_range(dst, n);
        sfence();
        ok
    }
}

unsafe fn c_copy_mc_fragile_clwb(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe {
        let ok = copy_mc_fragile(dst, src, n as u64) == 0;
        clwb_range(dst, n);
        sfence();
        ok
    }
}

unsafe fn c_memcmp(a: *mut u8, b: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe { kernel_memcmp(a, b, n) == 0 }
}

unsafe fn c_memcpy_flushcache(dst: *mut u8, src: *const u8, n: usize) -> bool {
    // SAFETY: the caller's ranges.
    unsafe { kernel_memcpy_flushcache(dst, src, n) };
    sfence();
    true
}

fn routines() -> Vec<Routine> {
    use Kind::*;
    use Side::*;
    let mut r = vec![
        Routine {
            name: "daxcow_copy",
            kind: DurableCopy,
            side: Daxcow,
            what:
                "mcsafe::copy_lines_nt with copy_mc edges, edge clwb, sfence (PmemDst::copy_from)",
            run: daxcow_copy,
            needs: None,
        },
        Routine {
            name: "c_copy_mc_clwb",
            kind: DurableCopy,
            side: C,
            what: "copy_mc_enhanced_fast_string + clean_cache_range + sfence",
            run: c_copy_mc_clwb,
            needs: None,
        },
        Routine {
            name: "c_copy_mc_fragile_clwb",
            kind: DurableCopy,
            side: C,
            what: "copy_mc_fragile + clean_cache_range + sfence",
            run: c_copy_mc_fragile_clwb,
            needs: None,
        },
        Routine {
            name: "c_copy_mc",
            kind: PlainCopy,
            side: C,
            what: "copy_mc_enhanced_fast_string (7.3's copy_mc_to_kernel on ERMS), left in cache",
            run: c_copy_mc,
            needs: None,
        },
        Routine {
            name: "c_copy_mc_fragile",
            kind: PlainCopy,
            side: C,
            what: "copy_mc_fragile (quirked CPUs), left in cache",
            run: c_copy_mc_fragile,
            needs: None,
        },
        Routine {
            name: "memcpy_flushcache",
            kind: DurableCopy,
            side: Limit,
            what: "the kernel's __memcpy_flushcache (4x8 movnti) + sfence",
            run: c_memcpy_flushcache,
            needs: None,
        },
        Routine {
            name: "daxcow_compare",
            kind: Compare,
            side: Daxcow,
            what: "mcsafe::first_diff_block (equal_mc's bulk)",
            run: daxcow_compare,
            needs: None,
        },
        Routine {
            name: "c_memcmp",
            kind: Compare,
            side: C,
            what: "lib/string.c memcmp (7.3's dax_range_compare_iter)",
            run: c_memcmp,
            needs: None,
        },
    ];
    r.extend(limit::routines());
    r
}

/// The sizes and temperatures measured.
const CASES: [(usize, Temperature, &str); 5] = [
    (4 << 10, Temperature::Hot, "4k_hot"),
    (4 << 10, Temperature::Cold, "4k_cold"),
    (2 << 20, Temperature::Hot, "2m_hot"),
    (2 << 20, Temperature::Cold, "2m_cold"),
    (1 << 30, Temperature::Cold, "1g_cold"),
];

/// `--verify`: check every routine at 4 KiB and 2 MiB (and daxcow's and the C's copies at
/// unaligned edges) without timing anything; one `PASS:`/`FAIL:` line each, for `make check`.
fn verify_only() -> ! {
    let cpu = machine::cpu();
    let mut a = machine::Buffer::new(2 << 20);
    let mut b = machine::Buffer::new(2 << 20);
    a.fill(0x5a17);
    let mut failed = 0;
    for r in routines() {
        for size in [4usize << 10, 2 << 20] {
            // One line per routine and size whether it runs or not, so the count `make check`
            // holds against tests/checks does not depend on the CPU's features.
            if let Some(feature) = r.needs.filter(|f| !cpu.has(f)) {
                println!(
                    "PASS: native: {} at {} bytes skipped: no {} on this CPU",
                    r.name, size, feature
                );
                continue;
            }
            if r.kind == Kind::Compare {
                b.as_mut_slice()[..size].copy_from_slice(&a.as_slice()[..size]);
            }
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                machine::verify(&r, &mut a, &mut b, size)
            }));
            match ok {
                Ok(()) => println!("PASS: native: {} at {} bytes", r.name, size),
                Err(_) => {
                    println!("FAIL: native: {} at {} bytes", r.name, size);
                    failed += 1;
                }
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn main() {
    if std::env::args().any(|a| a == "--verify") {
        verify_only();
    }
    let quick = std::env::var_os("BENCH_NATIVE_QUICK").is_some();
    let out = std::env::var_os("BENCH_NATIVE_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../../build/bench/native.json"));
    let cpu = machine::cpu();
    let idle = machine::check_idle();
    let pinned = machine::pin_to_last_cpu();
    let tsc = measure::Tsc::calibrate();
    eprintln!(
        "bench-native: {} ({}), pinned to CPU {}, TSC {:.3} GHz, kernel {}",
        cpu.model,
        cpu.vendor,
        pinned,
        tsc.hz / 1e9,
        env!("DAXCOW_KERNEL_VERSION")
    );

    let fpu_ns = if cpu.has("xsaveopt") {
        measure::fpu_save_restore_ns(&tsc)
    } else {
        0.0
    };
    eprintln!("bench-native: vector register state save + restore: {fpu_ns:.0} ns");
    let max = CASES.iter().map(|c| c.0).max().unwrap();
    let max = if quick { 2 << 20 } else { max };
    let mut a = machine::Buffer::new(max);
    let mut b = machine::Buffer::new(max);
    a.fill(0x5a17);

    let others = machine::OtherCpus::start();
    let all = routines();
    let mut results: Vec<(String, &Routine, Sample)> = Vec::new();
    for (size, temp, case) in CASES {
        if size > max {
            continue;
        }
        eprintln!("bench-native: {case}");
        for r in &all {
            if let Some(feature) = r.needs {
                if !cpu.has(feature) {
                    eprintln!("  {:<24} skipped: no {feature}", r.name);
                    continue;
                }
            }
            // Compare: `b` holds what `a` holds (a full scan, the dedupe "same" case).
            if r.kind == Kind::Compare {
                b.as_mut_slice()[..size].copy_from_slice(&a.as_slice()[..size]);
            }
            machine::verify(r, &mut a, &mut b, size);
            let s = measure::run(&tsc, r, &mut a, &mut b, size, temp, quick);
            eprintln!(
                "  {:<24} {:>9.2} GB/s  median {:>12.0} ns  iqr {:>4.1}%  n {}",
                r.name,
                s.gbps(size),
                s.median * 1e9,
                s.rel_iqr() * 100.0,
                s.samples
            );
            results.push((case.to_string(), r, s));
        }
    }

    let others_busy = others.busy_percent(pinned);
    if others_busy > 20.0 {
        eprintln!(
            "\n*** bench-native: the other CPUs were {others_busy:.0}% busy during the run: the \
             figures shared the memory system with that work.\n"
        );
    }
    let json = to_json(&cpu, &idle, pinned, others_busy, fpu_ns, &tsc, &results);
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).unwrap();
    }
    fs::write(&out, json).unwrap();
    eprintln!("bench-native: wrote {}", out.display());
    if !idle.idle {
        eprintln!("bench-native: WARNING: {}", idle.note);
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn to_json(
    cpu: &machine::Cpu,
    idle: &machine::Idle,
    pinned: usize,
    others_busy: f64,
    fpu_ns: f64,
    tsc: &measure::Tsc,
    results: &[(String, &Routine, Sample)],
) -> String {
    let mut j = String::new();
    let _ = writeln!(j, "{{");
    let _ = writeln!(
        j,
        "  \"machine\": {{\"cpu\": \"{}\", \"vendor\": \"{}\", \"flags\": \"{}\", \"cpus\": {}, \
         \"hypervisor\": {}, \"pinned_cpu\": {}, \"tsc_ghz\": {:.4}, \"idle\": {}, \
         \"busy_percent\": {:.1}, \"others_busy_percent_during_run\": {:.1}, \"fpu_save_restore_ns\": {:.1}, \"idle_note\": \"{}\", \"kernel_source\": \"{}\", \
         \"memory\": \"DRAM\"}},",
        esc(&cpu.model),
        esc(&cpu.vendor),
        esc(&cpu.relevant_flags()),
        cpu.cpus,
        cpu.hypervisor,
        pinned,
        tsc.hz / 1e9,
        idle.idle,
        idle.busy_percent,
        others_busy,
        fpu_ns,
        esc(&idle.note),
        env!("DAXCOW_KERNEL_VERSION"),
    );
    let _ = writeln!(j, "  \"results\": [");
    for (i, (case, r, s)) in results.iter().enumerate() {
        let size = match case.as_str() {
            c if c.starts_with("4k") => 4usize << 10,
            c if c.starts_with("2m") => 2 << 20,
            _ => 1 << 30,
        };
        let _ = writeln!(
            j,
            "    {{\"case\": \"{}\", \"bytes\": {}, \"routine\": \"{}\", \"kind\": \"{}\", \
             \"side\": \"{}\", \"what\": \"{}\", \"median_ns\": {:.1}, \"p25_ns\": {:.1}, \
             \"p75_ns\": {:.1}, \"min_ns\": {:.1}, \"max_ns\": {:.1}, \"samples\": {}, \
             \"ops_per_sample\": {}, \"gbps\": {:.3}}}{}",
            case,
            size,
            r.name,
            r.kind.name(),
            r.side.name(),
            esc(r.what),
            s.median * 1e9,
            s.p25 * 1e9,
            s.p75 * 1e9,
            s.min * 1e9,
            s.max * 1e9,
            s.samples,
            s.batch,
            s.gbps(size),
            if i + 1 < results.len() { "," } else { "" }
        );
    }
    let _ = writeln!(j, "  ]");
    let _ = writeln!(j, "}}");
    j
}
