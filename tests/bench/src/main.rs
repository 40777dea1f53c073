//! daxcow's benchmark workloads, run inside the guest (see `qemu/bench-guest.sh`).  Each run
//! prints one JSON object on one line: the workload, what it did and the seconds it took, plus
//! derived rates.  Times are taken with the TSC, calibrated once against CLOCK_MONOTONIC: the
//! lean guest kernel has no TSC calibration reference (no ACPI, so no HPET or PM timer) and
//! keeps time in jiffies, 10 ms steps, too coarse for one fault.

use std::ffi::CString;
use std::io::Error;
use std::sync::OnceLock;
use std::time::{Duration, Instant as Monotonic};

/// TSC ticks per second, measured against CLOCK_MONOTONIC over two seconds (0.5% with 10 ms
/// clock steps).
fn tsc_hz() -> f64 {
    static HZ: OnceLock<f64> = OnceLock::new();
    *HZ.get_or_init(|| {
        let (m0, t0) = (Monotonic::now(), rdtsc());
        std::thread::sleep(Duration::from_secs(2));
        let (m1, t1) = (Monotonic::now(), rdtsc());
        (t1 - t0) as f64 / (m1 - m0).as_secs_f64()
    })
}

fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// A point in time on the calibrated TSC.
#[derive(Clone, Copy)]
struct Instant(u64);
impl Instant {
    fn now() -> Instant {
        Instant(rdtsc())
    }
    fn elapsed(self) -> Elapsed {
        Elapsed((rdtsc() - self.0) as f64 / tsc_hz())
    }
}
struct Elapsed(f64);
impl Elapsed {
    fn as_secs_f64(&self) -> f64 {
        self.0
    }
}

const PAGE: usize = 4096;
const PMD: usize = 2 << 20;
const FIDEDUPERANGE: libc::c_ulong = 0xC018_9436;
const FALLOC_FL_UNSHARE_RANGE: libc::c_int = 0x40;

fn die(msg: &str) -> ! {
    eprintln!("daxcow-bench: {msg}: {}", Error::last_os_error());
    std::process::exit(1)
}

fn open(path: &str, flags: libc::c_int) -> libc::c_int {
    let c = CString::new(path).unwrap();
    // SAFETY: c is a valid NUL-terminated path.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        die(&format!("open {path}"));
    }
    fd
}

fn file_size(fd: libc::c_int) -> usize {
    // SAFETY: an all-zero stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open; st is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        die("fstat");
    }
    st.st_size as usize
}

/// A shared read-write mapping of a whole file.
struct Map {
    addr: *mut u8,
    len: usize,
}

impl Map {
    fn new(fd: libc::c_int, len: usize, write: bool) -> Map {
        let prot = libc::PROT_READ | if write { libc::PROT_WRITE } else { 0 };
        // SAFETY: mapping a file we opened; the result is checked.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
        if p == libc::MAP_FAILED {
            die("mmap");
        }
        Map {
            addr: p.cast(),
            len,
        }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

/// xorshift64*: reproducible pseudo-random numbers from a seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `n` distinct indices below `limit`, in random order.
fn distinct(n: usize, limit: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..limit).collect();
    let mut rng = Rng(seed | 1);
    for i in 0..n.min(limit) {
        let j = i + (rng.next() as usize) % (limit - i);
        all.swap(i, j);
    }
    all.truncate(n.min(limit));
    all
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Stores one byte into each of `n` random distinct `unit`-sized pieces of a mapped file whose
/// extents are shared: every store is a CoW write fault.
fn faults(path: &str, n: usize, unit: usize, seed: u64, name: &str) {
    let fd = open(path, libc::O_RDWR);
    let len = file_size(fd);
    let map = Map::new(fd, len, true);
    if unit == PMD && (map.addr as usize) % PMD != 0 {
        eprintln!("daxcow-bench: mapping of {path} is not 2 MiB aligned");
    }
    let idx = distinct(n, len / unit, seed);
    let mut lat = Vec::with_capacity(idx.len());
    let t0 = Instant::now();
    for &i in &idx {
        let t = Instant::now();
        // SAFETY: i * unit < len, inside the mapping.
        unsafe { std::ptr::write_volatile(map.addr.add(i * unit), (i as u8) | 1) };
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let secs = t0.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{{\"workload\":\"{name}\",\"ops\":{},\"secs\":{secs:.6},\"ops_per_sec\":{:.1},\"bytes_per_sec\":{:.1},\"p50_us\":{:.2},\"p99_us\":{:.2}}}",
        idx.len(),
        idx.len() as f64 / secs,
        (idx.len() * unit) as f64 / secs,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
}

/// `n` writes of `len` bytes at offset 1000 of random distinct slots of a file whose extents are
/// shared, each slot the pages the write touches: each write needs a head and a tail copy.
/// 100-byte writes (`pwrite_unaligned`) measure the copies around a small write; 1 MiB writes
/// (`pwrite_1m_unaligned`) a large one, where the copies are a small part.
fn pwrites(path: &str, n: usize, len: usize, seed: u64) {
    let fd = open(path, libc::O_RDWR);
    let stride = (len + 1000).div_ceil(PAGE) * PAGE;
    let slots = file_size(fd) / stride;
    let idx = distinct(n, slots - 1, seed);
    let buf = vec![0x5au8; len];
    let t0 = Instant::now();
    for &i in &idx {
        let off = i * stride + 1000;
        // SAFETY: buf holds len bytes.
        if unsafe { libc::pwrite(fd, buf.as_ptr().cast(), len, off as libc::off_t) } != len as isize
        {
            die("pwrite");
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let name = if len >= 1 << 20 {
        "pwrite_1m_unaligned"
    } else {
        "pwrite_unaligned"
    };
    println!(
        "{{\"workload\":\"{name}\",\"ops\":{},\"secs\":{secs:.6},\"ops_per_sec\":{:.1},\"bytes_per_sec\":{:.1},\"cow_bytes_per_sec\":{:.1}}}",
        idx.len(),
        idx.len() as f64 / secs,
        (idx.len() * len) as f64 / secs,
        (idx.len() * stride) as f64 / secs
    );
}

/// FIDEDUPERANGE of `len` bytes of `src` onto `dst`, both at offset 0.
fn dedupe(src: &str, dst: &str, len: usize, name: &str) {
    let s = open(src, libc::O_RDONLY);
    let d = open(dst, libc::O_RDWR);
    let mut buf = [0u8; 24 + 32];
    buf[8..16].copy_from_slice(&(len as u64).to_ne_bytes());
    buf[16..18].copy_from_slice(&1u16.to_ne_bytes());
    buf[24..32].copy_from_slice(&(d as i64).to_ne_bytes());
    let t0 = Instant::now();
    // SAFETY: buf is a struct file_dedupe_range with one destination.
    if unsafe { libc::ioctl(s, FIDEDUPERANGE, buf.as_mut_ptr()) } != 0 {
        die("FIDEDUPERANGE");
    }
    let secs = t0.elapsed().as_secs_f64();
    let deduped = u64::from_ne_bytes(buf[40..48].try_into().unwrap());
    let status = i32::from_ne_bytes(buf[48..52].try_into().unwrap());
    println!(
        "{{\"workload\":\"{name}\",\"bytes\":{len},\"deduped\":{deduped},\"status\":{status},\"secs\":{secs:.6},\"bytes_per_sec\":{:.1}}}",
        len as f64 / secs
    );
}

/// FALLOC_FL_UNSHARE_RANGE over the whole file.
fn unshare(path: &str) {
    let fd = open(path, libc::O_RDWR);
    let len = file_size(fd);
    let t0 = Instant::now();
    // SAFETY: fd is open for writing.
    if unsafe { libc::fallocate(fd, FALLOC_FL_UNSHARE_RANGE, 0, len as libc::off_t) } != 0 {
        die("fallocate(UNSHARE_RANGE)");
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{{\"workload\":\"unshare\",\"bytes\":{len},\"secs\":{secs:.6},\"bytes_per_sec\":{:.1}}}",
        len as f64 / secs
    );
}

/// The memory's limit on this machine: userspace memcpy and memcmp between the two halves of a
/// DAX-mapped file (already written, so no fault is taken inside the timing).
fn limit(path: &str) {
    let fd = open(path, libc::O_RDWR);
    let len = file_size(fd);
    let half = len / 2;
    let map = Map::new(fd, len, true);
    // SAFETY: both halves are inside the mapping.
    let (a, b) = unsafe { (map.addr, map.addr.add(half)) };
    // Fault every page in (read and write) before timing.
    for off in (0..len).step_by(PAGE) {
        // SAFETY: off < len.
        unsafe {
            std::ptr::write_volatile(
                map.addr.add(off),
                std::ptr::read_volatile(map.addr.add(off)),
            )
        };
    }
    let t0 = Instant::now();
    // SAFETY: the halves do not overlap and are `half` bytes each.
    unsafe { std::ptr::copy_nonoverlapping(a, b, half) };
    let copy_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    // SAFETY: as above.
    let eq = unsafe { libc::memcmp(a.cast(), b.cast(), half) } == 0;
    let cmp_secs = t1.elapsed().as_secs_f64();
    assert!(eq, "halves differ after memcpy");
    println!(
        "{{\"workload\":\"limit\",\"bytes\":{half},\"memcpy_bytes_per_sec\":{:.1},\"memcmp_bytes_per_sec\":{:.1}}}",
        half as f64 / copy_secs,
        half as f64 / cmp_secs
    );
}

fn main() {
    tsc_hz();
    let a: Vec<String> = std::env::args().collect();
    let arg = |i: usize| a.get(i).unwrap_or_else(|| usage()).as_str();
    let num = |i: usize| arg(i).parse::<usize>().unwrap_or_else(|_| usage());
    match arg(1) {
        "fault4k" => faults(arg(2), num(3), PAGE, num(4) as u64, "fault_4k"),
        "fault2m" => faults(arg(2), num(3), PMD, num(4) as u64, "fault_2m"),
        "pwrite" => pwrites(arg(2), num(3), num(4), num(5) as u64),
        "dedupe" => dedupe(arg(2), arg(3), num(4), arg(5)),
        "unshare" => unshare(arg(2)),
        "limit" => limit(arg(2)),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: daxcow-bench fault4k FILE N SEED | fault2m FILE N SEED | pwrite FILE N LEN SEED |\n\
         \x20      dedupe SRC DST LEN NAME | unshare FILE | limit FILE"
    );
    std::process::exit(2)
}
