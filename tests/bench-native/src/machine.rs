//! The machine: what the CPU is, whether anything else runs, pinning, and the buffers.

use std::fs;

use crate::{Kind, Routine, Side};

pub struct Cpu {
    pub model: String,
    pub vendor: String,
    pub flags: Vec<String>,
    pub cpus: usize,
    pub hypervisor: bool,
}

impl Cpu {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The flags that decide which copy and compare routines the kernel and this bench use.
    pub fn relevant_flags(&self) -> String {
        const RELEVANT: [&str; 10] = [
            "erms",
            "fsrm",
            "clwb",
            "clflushopt",
            "avx2",
            "avx512f",
            "avx512bw",
            "movdir64b",
            "constant_tsc",
            "hypervisor",
        ];
        RELEVANT
            .iter()
            .filter(|f| self.has(f))
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub fn cpu() -> Cpu {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |k: &str| {
        info.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let flags: Vec<String> = field("flags")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Cpu {
        model: field("model name"),
        vendor: field("vendor_id"),
        hypervisor: flags.iter().any(|f| f == "hypervisor"),
        flags,
        cpus: info.lines().filter(|l| l.starts_with("processor")).count(),
    }
}

pub struct Idle {
    pub idle: bool,
    pub busy_percent: f64,
    pub note: String,
}

/// Busy and total jiffies of every CPU, from /proc/stat.
fn cpu_times() -> Vec<(u64, u64)> {
    fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().take(8).sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// Whether the machine is idle: over one second, the busy time of all CPUs together must stay
/// under a fifth of one CPU.  A busy machine gets a loud warning (and the JSON says so).
pub fn check_idle() -> Idle {
    let before = cpu_times();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let after = cpu_times();
    let (mut busy, mut total) = (0u64, 0u64);
    for (b, a) in before.iter().zip(&after) {
        busy += a.0 - b.0;
        total += a.1 - b.1;
    }
    let cpus = after.len().max(1) as f64;
    let busy_percent = if total == 0 {
        0.0
    } else {
        busy as f64 / total as f64 * cpus * 100.0
    };
    let idle = busy_percent < 20.0;
    let note = if idle {
        format!("idle: {busy_percent:.0}% of one CPU busy before the run")
    } else {
        format!(
            "NOT IDLE: {busy_percent:.0}% of one CPU busy before the run; figures may be low and \
             noisy"
        )
    };
    if !idle {
        eprintln!(
            "\n*** bench-native: the machine is NOT idle ({busy_percent:.0}% of a CPU busy)."
        );
        eprintln!(
            "*** Figures will be noisy; stop other work and run again for a table to keep.\n"
        );
    }
    Idle {
        idle,
        busy_percent,
        note,
    }
}

/// Pins this thread to the last CPU, the one least likely to take device interrupts.
pub fn pin_to_last_cpu() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let cpu = n - 1;
    // SAFETY: `set` is a plain bitmask owned here; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) != 0 {
            eprintln!("bench-native: could not pin to CPU {cpu}; figures may move between CPUs");
        }
    }
    cpu
}

/// A 2 MiB-aligned anonymous buffer backed by huge pages where the kernel gives them (the
/// kernel's direct map of pmem is mapped with large pages too), touched before use.
pub struct Buffer {
    ptr: *mut u8,
    len: usize,
}

impl Buffer {
    pub fn new(len: usize) -> Self {
        let len = len + (2 << 20);
        // SAFETY: a fresh anonymous private mapping; checked for failure below.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len + (2 << 20),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap of {len} bytes failed");
        let aligned = ((p as usize + (2 << 20) - 1) & !((2 << 20) - 1)) as *mut u8;
        // SAFETY: `[aligned, aligned + len)` is inside the mapping; advice has no safety
        // preconditions, and the writes touch every page of it.
        unsafe {
            libc::madvise(aligned.cast(), len, libc::MADV_HUGEPAGE);
            core::ptr::write_bytes(aligned, 0, len);
        }
        Buffer { ptr: aligned, len }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping lives as long as `self`, initialised by `new`.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn ptr(&mut self) -> *mut u8 {
        self.ptr
    }

    /// Fills the buffer with a pattern that differs in every 8-byte word.
    pub fn fill(&mut self, seed: u64) {
        let mut x = seed | 1;
        for w in self.as_mut_slice().chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_ne_bytes());
        }
    }
}

/// Checks that `r` does what it says at `size` before it is timed: a copy copies exactly
/// `size` bytes and touches none after them, a compare finds equal data equal and a difference
/// in the last byte.  daxcow's and the C's copies are also checked at unaligned edges.
pub fn verify(r: &Routine, a: &mut Buffer, b: &mut Buffer, size: usize) {
    let guard = 64;
    match r.kind {
        Kind::PlainCopy | Kind::DurableCopy => {
            let mut cuts = vec![(0usize, size)];
            if r.side != Side::Limit {
                cuts.extend([(3, 1000), (61, 4096 - 61 - 5), (0, 100), (63, 1)]);
            }
            for (off, n) in cuts {
                if off + n + guard > b.as_slice().len().min(size + guard) {
                    continue;
                }
                b.as_mut_slice()[..off + n + guard].fill(0xee);
                // SAFETY: both buffers hold at least `off + n` bytes, and do not overlap.
                let ok = unsafe { (r.run)(b.ptr().add(off), a.ptr().add(off), n) };
                let d = &b.as_slice()[..off + n + guard];
                assert!(ok, "{}: reported a failure", r.name);
                assert!(
                    d[off..off + n] == a.as_slice()[off..off + n],
                    "{}: copy of {n} at {off} differs",
                    r.name
                );
                assert!(
                    d[..off].iter().chain(&d[off + n..]).all(|&x| x == 0xee),
                    "{}: copy of {n} at {off} wrote outside its range",
                    r.name
                );
            }
        }
        Kind::Compare => {
            // SAFETY: both buffers hold at least `size` bytes.
            let same = unsafe { (r.run)(a.ptr(), b.ptr(), size) };
            assert!(same, "{}: equal data compared unequal", r.name);
            b.as_mut_slice()[size - 1] ^= 1;
            // SAFETY: as above.
            let same = unsafe { (r.run)(a.ptr(), b.ptr(), size) };
            b.as_mut_slice()[size - 1] ^= 1;
            assert!(
                !same,
                "{}: a difference in the last byte was missed",
                r.name
            );
        }
    }
}

/// Writes back and evicts every cache line of `[p, p + n)` (`clflushopt`, then `mfence`), so
/// the next access comes from memory.
pub fn evict(p: *const u8, n: usize) {
    let mut line = p as usize & !63;
    let end = p as usize + n;
    while line < end {
        // SAFETY: `line` is inside the caller's mapped range.
        unsafe {
            core::arch::asm!("clflushopt [{}]", in(reg) line, options(nostack, preserves_flags))
        };
        line += 64;
    }
    // SAFETY: a fence has no operands.
    unsafe { core::arch::asm!("mfence", options(nostack, preserves_flags)) };
}

/// The busy time of every CPU but `pinned`, as a percentage of one CPU, between two readings.
pub struct OtherCpus(Vec<(u64, u64)>);

impl OtherCpus {
    pub fn start() -> Self {
        OtherCpus(cpu_times())
    }

    pub fn busy_percent(&self, pinned: usize) -> f64 {
        let now = cpu_times();
        let (mut busy, mut total) = (0u64, 0u64);
        for (i, (b, a)) in self.0.iter().zip(&now).enumerate() {
            if i != pinned {
                busy += a.0 - b.0;
                total += a.1 - b.1;
            }
        }
        if total == 0 {
            0.0
        } else {
            busy as f64 / total as f64 * 100.0 * (now.len().saturating_sub(1)).max(1) as f64
        }
    }
}
