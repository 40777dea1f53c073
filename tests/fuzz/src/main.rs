//! daxcow's differential CoW fuzzer.  Runs seeded random sequences of file operations on a few
//! files of an XFS-DAX file system (pwrite aligned and not, mmap stores over 4 KiB and 2 MiB
//! regions, msync, FICLONERANGE, FIDEDUPERANGE, unshare, punch hole, zero range, truncate,
//! fsync, unmount and remount, and rmmod/insmod of daxcow) and compares every file with an
//! in-memory model after every step.  A failure prints its seed, the op trace, and a shorter
//! trace that still fails (each op removed in turn and the rest replayed on a fresh file
//! system).
//!
//! usage: daxcow-fuzz DEV MNT SEED OPS [KO]   (KO: daxcow.ko, for rmmod/insmod steps)

mod sys;

use std::fmt;
use std::time::Instant;
use sys::{
    cstr, errno, run, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_UNSHARE_RANGE,
    FALLOC_FL_ZERO_RANGE, FICLONERANGE, FIDEDUPERANGE,
};

const BLK: u64 = 4096;
const NFILES: usize = 3;
const MAX_SIZE: u64 = 4 << 20;

#[derive(Clone, Debug)]
enum Op {
    Pwrite {
        f: usize,
        off: u64,
        len: u64,
        byte: u8,
    },
    ShortPwrite {
        f: usize,
        off: u64,
        len: u64,
        valid: u64,
        byte: u8,
    },
    MmapStore {
        f: usize,
        map_off: u64,
        map_len: u64,
        off: u64,
        len: u64,
        byte: u8,
        sync: bool,
    },
    Clone {
        src: usize,
        so: u64,
        len: u64,
        dst: usize,
        dof: u64,
    },
    Dedupe {
        src: usize,
        so: u64,
        len: u64,
        dst: usize,
        dof: u64,
    },
    Unshare {
        f: usize,
        off: u64,
        len: u64,
    },
    Punch {
        f: usize,
        off: u64,
        len: u64,
    },
    Zero {
        f: usize,
        off: u64,
        len: u64,
    },
    Truncate {
        f: usize,
        size: u64,
    },
    Fsync {
        f: usize,
    },
    Remount,
    Reload,
}

impl fmt::Display for Op {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(w, "{self:?}")
    }
}

/// xorshift64*: reproducible from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

fn down(x: u64) -> u64 {
    x / BLK * BLK
}

/// An offset and length inside `size`, block-aligned or not.
fn range(r: &mut Rng, size: u64, aligned: bool, max: u64) -> Option<(u64, u64)> {
    if aligned {
        let blocks = size / BLK;
        if blocks == 0 {
            return None;
        }
        let start = r.below(blocks);
        let n = 1 + r.below((blocks - start).min(max / BLK).max(1));
        Some((start * BLK, n * BLK))
    } else {
        if size < 2 {
            return None;
        }
        let off = r.below(size - 1);
        let len = 1 + r.below((size - off).min(max).max(1));
        Some((off, len.min(size - off)))
    }
}

fn gen(r: &mut Rng, sizes: &[u64; NFILES], reload: bool) -> Op {
    let f = r.below(NFILES as u64) as usize;
    let g = r.below(NFILES as u64) as usize;
    let size = sizes[f];
    let byte = (r.below(255) + 1) as u8;
    let pick = r.below(100);
    let op = match pick {
        0..=14 => {
            // pwrite, sometimes extending the file.
            let aligned = r.chance(30);
            let cap = (size + 2 * BLK).min(MAX_SIZE);
            range(r, cap, aligned, 3 * BLK).map(|(off, len)| Op::Pwrite { f, off, len, byte })
        }
        15..=17 => {
            // A pwrite whose user buffer ends early: the copy comes up short.
            range(r, size, false, 3 * BLK).map(|(off, len)| {
                let valid = 1 + r.below(len);
                Op::ShortPwrite {
                    f,
                    off,
                    len,
                    valid,
                    byte,
                }
            })
        }
        18..=29 => {
            // mmap store inside EOF, over a 4 KiB or 2 MiB region.
            let big = r.chance(25) && size >= 2 << 20;
            let map_len = if big { 2 << 20 } else { BLK };
            if size < map_len {
                None
            } else {
                let map_off = if big {
                    0
                } else {
                    down(r.below(size - map_len + 1))
                };
                let in_map = (size - map_off).min(map_len);
                range(r, in_map, false, BLK).map(|(o, len)| Op::MmapStore {
                    f,
                    map_off,
                    map_len,
                    off: map_off + o,
                    len,
                    byte,
                    sync: r.chance(50),
                })
            }
        }
        30..=44 => range(r, down(size), true, 64 * BLK).map(|(so, len)| {
            let dof = down(r.below(down(sizes[g]) + 1));
            Op::Clone {
                src: f,
                so,
                len,
                dst: g,
                dof,
            }
        }),
        45..=54 => range(r, down(size), true, 64 * BLK).map(|(so, len)| {
            // Dedupe against a range that is often equal (the same offset of a clone).
            let dof = if r.chance(50) {
                so
            } else {
                down(r.below(down(sizes[g]) + 1))
            };
            Op::Dedupe {
                src: f,
                so,
                len,
                dst: g,
                dof,
            }
        }),
        55..=61 => {
            let aligned = r.chance(50);
            range(r, size, aligned, 32 * BLK).map(|(off, len)| Op::Unshare { f, off, len })
        }
        62..=69 => {
            let aligned = r.chance(30);
            range(r, size, aligned, 8 * BLK).map(|(off, len)| Op::Punch { f, off, len })
        }
        70..=77 => {
            let aligned = r.chance(30);
            range(r, size, aligned, 8 * BLK).map(|(off, len)| Op::Zero { f, off, len })
        }
        78..=85 => Some(Op::Truncate {
            f,
            size: r.below(MAX_SIZE),
        }),
        86..=91 => Some(Op::Fsync { f }),
        92..=94 => Some(Op::Remount),
        _ => Some(if reload { Op::Reload } else { Op::Fsync { f } }),
    };
    op.unwrap_or(Op::Fsync { f })
}

struct Fs {
    dev: String,
    mnt: String,
    ko: Option<String>,
    fds: Vec<libc::c_int>,
}

impl Fs {
    fn path(&self, i: usize) -> String {
        format!("{}/f{i}", self.mnt)
    }
    fn open_all(&mut self) {
        self.fds = (0..NFILES)
            .map(|i| {
                let p = cstr(&self.path(i));
                // SAFETY: valid path; the result is checked.
                let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o644) };
                assert!(fd >= 0, "open {}", self.path(i));
                fd
            })
            .collect();
    }
    fn close_all(&mut self) {
        for fd in self.fds.drain(..) {
            // SAFETY: fd was opened by open_all.
            unsafe { libc::close(fd) };
        }
    }
    fn mount(&mut self) {
        assert!(
            run("mount", &["-o", "dax=always", &self.dev, &self.mnt]),
            "mount"
        );
        self.open_all();
    }
    fn fresh(&mut self) {
        self.close_all();
        let _ = run("umount", &[&self.mnt]);
        assert!(
            run("mkfs.xfs", &["-f", "-q", "-m", "reflink=1", &self.dev]),
            "mkfs"
        );
        self.mount();
    }
    fn remount(&mut self) {
        self.close_all();
        assert!(run("umount", &[&self.mnt]), "umount");
        self.mount();
    }
}

/// A system call's failure: EIO is the engine's error and fails the run; anything else means
/// the kernel refused the op (for example a range that a shrunk trace made invalid), which
/// must leave the files unchanged, and the next verify checks that it did.
fn refused(what: &str) -> Result<(), String> {
    match errno() {
        libc::EIO => Err(format!("{what}: EIO")),
        _ => Ok(()),
    }
}

/// fallocate(2): `Ok(true)` when done, `Ok(false)` when refused (see [`refused`]).
fn fallocate(fd: libc::c_int, mode: i32, off: u64, len: u64, what: &str) -> Result<bool, String> {
    // SAFETY: fd is open; fallocate only reads its arguments.
    if unsafe { libc::fallocate(fd, mode, off as i64, len as i64) } == 0 {
        Ok(true)
    } else {
        refused(what).map(|()| false)
    }
}

/// What punch hole and zero range (both with KEEP_SIZE) do to the model.
fn zero_model(m: &mut [u8], off: u64, len: u64) {
    let start = (off as usize).min(m.len());
    let end = ((off + len) as usize).min(m.len());
    m[start..end].fill(0);
}

fn fill(m: &mut Vec<u8>, off: u64, len: u64, byte: u8) {
    let end = (off + len) as usize;
    if m.len() < end {
        m.resize(end, 0);
    }
    m[off as usize..end].fill(byte);
}

/// Applies `op` to the file system and, where it succeeded, to the model.  Returns an error
/// text when the file system's answer contradicts the model.
fn apply(fs: &mut Fs, model: &mut [Vec<u8>; NFILES], op: &Op) -> Result<(), String> {
    let fd = |i: usize| fs.fds[i];
    match *op {
        Op::Pwrite { f, off, len, byte } => {
            let buf = vec![byte; len as usize];
            // SAFETY: buf holds len bytes; fd is open.
            let n = unsafe { libc::pwrite(fd(f), buf.as_ptr().cast(), len as usize, off as i64) };
            if n < 0 {
                return refused("pwrite");
            }
            if n != len as isize {
                return Err(format!("short pwrite: {n} of {len}"));
            }
            fill(&mut model[f], off, len, byte);
        }
        Op::ShortPwrite {
            f,
            off,
            len,
            valid,
            byte,
        } => {
            let n = short_pwrite(fd(f), off, len, valid, byte);
            if n < 0 {
                return refused("short pwrite");
            }
            fill(&mut model[f], off, n as u64, byte);
        }
        Op::MmapStore {
            f,
            map_off,
            map_len,
            off,
            len,
            byte,
            sync,
        } => {
            // A store past EOF would be SIGBUS: only possible in a shrunk trace; skip it.
            if off + len > model[f].len() as u64 {
                return Ok(());
            }
            // SAFETY: mapping an open file inside its size; checked.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    map_len as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd(f),
                    map_off as i64,
                )
            };
            if p == libc::MAP_FAILED {
                return refused("mmap");
            }
            // SAFETY: off - map_off + len <= map_len and inside EOF (the generator keeps it so).
            unsafe {
                std::ptr::write_bytes(
                    (p as *mut u8).add((off - map_off) as usize),
                    byte,
                    len as usize,
                )
            };
            if sync {
                // SAFETY: p maps map_len bytes.
                unsafe { libc::msync(p, map_len as usize, libc::MS_SYNC) };
            }
            // SAFETY: unmapping what was mapped.
            unsafe { libc::munmap(p, map_len as usize) };
            fill(&mut model[f], off, len, byte);
        }
        Op::Clone {
            src,
            so,
            len,
            dst,
            dof,
        } => {
            let arg = [fd(src) as u64, so, len, dof];
            // SAFETY: arg is a struct file_clone_range.
            if unsafe { libc::ioctl(fd(dst), FICLONERANGE, arg.as_ptr()) } != 0 {
                return refused("FICLONERANGE");
            }
            if (so + len) as usize > model[src].len() {
                return Err(format!(
                    "FICLONERANGE accepted a source range past EOF ({})",
                    model[src].len()
                ));
            }
            let data = model[src][so as usize..(so + len) as usize].to_vec();
            let m = &mut model[dst];
            if m.len() < (dof + len) as usize {
                m.resize((dof + len) as usize, 0);
            }
            m[dof as usize..(dof + len) as usize].copy_from_slice(&data);
        }
        Op::Dedupe {
            src,
            so,
            len,
            dst,
            dof,
        } => {
            let mut buf = [0u64; 7];
            buf[0] = so;
            buf[1] = len;
            buf[2] = 1; // dest_count (u16) in the low bytes
            buf[3] = fd(dst) as u64;
            buf[4] = dof;
            // SAFETY: buf is a struct file_dedupe_range with one destination.
            let rc = unsafe { libc::ioctl(fd(src), FIDEDUPERANGE, buf.as_mut_ptr()) };
            if rc != 0 {
                return refused("FIDEDUPERANGE");
            }
            let status = buf[6] as u32 as i32;
            if status == -libc::EIO {
                return Err("FIDEDUPERANGE: status EIO".into());
            }
            let (sm, dm) = (&model[src], &model[dst]);
            let inside = (so + len) as usize <= sm.len() && (dof + len) as usize <= dm.len();
            let equal = inside
                && sm[so as usize..(so + len) as usize] == dm[dof as usize..(dof + len) as usize];
            if rc == 0 && status == 0 && buf[5] > 0 && inside && !equal {
                return Err(format!(
                    "dedupe reported SAME ({} bytes) for ranges that differ",
                    buf[5]
                ));
            }
        }
        Op::Unshare { f, off, len } => {
            fallocate(fd(f), FALLOC_FL_UNSHARE_RANGE, off, len, "unshare")?;
        }
        Op::Punch { f, off, len } => {
            let mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
            if fallocate(fd(f), mode, off, len, "punch hole")? {
                zero_model(&mut model[f], off, len);
            }
        }
        Op::Zero { f, off, len } => {
            let mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
            if fallocate(fd(f), mode, off, len, "zero range")? {
                zero_model(&mut model[f], off, len);
            }
        }
        Op::Truncate { f, size } => {
            // SAFETY: fd is open.
            if unsafe { libc::ftruncate(fd(f), size as i64) } != 0 {
                return refused("truncate");
            }
            model[f].resize(size as usize, 0);
        }
        Op::Fsync { f } => {
            // SAFETY: fd is open.
            unsafe { libc::fsync(fd(f)) };
        }
        Op::Remount => fs.remount(),
        Op::Reload => {
            if let Some(ko) = fs.ko.clone() {
                if !(run("rmmod", &["daxcow"]) && run("insmod", &[&ko])) {
                    return Err("rmmod/insmod failed".into());
                }
            }
        }
    }
    Ok(())
}

/// pwrite of `len` bytes from a buffer of which only the first `valid` are mapped; returns what
/// pwrite returned (at most `valid`).
fn short_pwrite(fd: libc::c_int, off: u64, len: u64, valid: u64, byte: u8) -> isize {
    let span = valid.div_ceil(BLK) * BLK;
    // SAFETY: an anonymous private mapping, checked; its last page is unmapped at once.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            (span + BLK) as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert!(base != libc::MAP_FAILED, "mmap");
    let base = base as *mut u8;
    // SAFETY: base..base+span+BLK is our mapping; the start is inside it.
    unsafe {
        libc::munmap(base.add(span as usize).cast(), BLK as usize);
        let start = base.add((span - valid) as usize);
        std::ptr::write_bytes(start, byte, valid as usize);
        let n = libc::pwrite(fd, start.cast(), len as usize, off as i64);
        libc::munmap(base.cast(), span as usize);
        n
    }
}

/// Compares every file with the model.
fn verify(fs: &Fs, model: &[Vec<u8>; NFILES]) -> Result<(), String> {
    for (i, m) in model.iter().enumerate() {
        let mut buf = vec![0u8; m.len() + 1];
        // SAFETY: buf holds m.len() + 1 bytes.
        let n = unsafe { libc::pread(fs.fds[i], buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n != m.len() as isize {
            return Err(format!("f{i}: size {n}, model {}", m.len()));
        }
        if let Some(at) = (0..m.len()).find(|&j| buf[j] != m[j]) {
            return Err(format!(
                "f{i}: byte {at} is {:#x}, model {:#x}",
                buf[at], m[at]
            ));
        }
    }
    Ok(())
}

/// Whether replaying `ops` on a fresh file system fails at its last op, in a child process, so
/// that a replay the kernel kills (SIGBUS from a store into a block it cannot map, say) counts as
/// "does not reproduce" instead of ending the shrink.  With `say`, the child prints the failure.
fn fails_at_last_op(fs: &Fs, ops: &[Op], say: bool) -> bool {
    // SAFETY: the fuzzer is single-threaded, so the child may run ordinary code after fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut child = Fs {
            dev: fs.dev.clone(),
            mnt: fs.mnt.clone(),
            ko: fs.ko.clone(),
            fds: vec![],
        };
        let r = replay(&mut child, ops);
        if say {
            if let Some((at, e)) = &r {
                println!(
                    "  shrunk trace ({} ops), which fails at step {at}: {e}",
                    ops.len()
                );
            }
        }
        child.close_all();
        let _ = run("umount", &[&child.mnt]);
        let hit = matches!(r, Some((at, _)) if at + 1 == ops.len());
        std::process::exit(if hit { 0 } else { 1 });
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        let _ = run("umount", &[&fs.mnt]);
    }
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Replays `ops` on a fresh file system; returns the failing step and why.
fn replay(fs: &mut Fs, ops: &[Op]) -> Option<(usize, String)> {
    fs.fresh();
    let mut model: [Vec<u8>; NFILES] = Default::default();
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = apply(fs, &mut model, op).and_then(|()| verify(fs, &model)) {
            return Some((i, e));
        }
    }
    None
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        eprintln!("usage: daxcow-fuzz DEV MNT SEED OPS [KO]");
        std::process::exit(2);
    }
    let seed: u64 = a[3].parse().expect("SEED");
    let nops: usize = a[4].parse().expect("OPS");
    let mut fs = Fs {
        dev: a[1].clone(),
        mnt: a[2].clone(),
        ko: a.get(5).cloned(),
        fds: vec![],
    };
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut model: [Vec<u8>; NFILES] = Default::default();
    let mut trace = Vec::new();
    fs.fresh();
    let t0 = Instant::now();
    for step in 0..nops {
        let sizes = [
            model[0].len() as u64,
            model[1].len() as u64,
            model[2].len() as u64,
        ];
        let op = gen(&mut rng, &sizes, fs.ko.is_some());
        trace.push(op.clone());
        if let Err(e) = apply(&mut fs, &mut model, &op).and_then(|()| verify(&fs, &model)) {
            println!("FAIL: fuzz seed {seed}: step {step}: {op}: {e}");
            println!("  trace ({} ops):", trace.len());
            for (i, o) in trace.iter().enumerate() {
                println!("    {i}: {o}");
            }
            // Shrink: drop each earlier op in turn and keep the drop if the failure remains.
            fs.close_all();
            let _ = run("umount", &[&fs.mnt]);
            // Chunks of halving size, then single ops, within a time budget
            // (DAXCOW_FUZZ_SHRINK_SECS, default 120): each try replays on a fresh file system.
            let budget: u64 = std::env::var("DAXCOW_FUZZ_SHRINK_SECS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(120);
            let deadline = Instant::now() + std::time::Duration::from_secs(budget);
            let mut short = trace.clone();
            let mut chunk = (short.len() / 2).max(1);
            loop {
                let mut i = 0;
                // Never drop the last op: it is the one that fails.
                while i + 1 < short.len() && Instant::now() < deadline {
                    let end = (i + chunk).min(short.len() - 1);
                    let mut cand = short.clone();
                    cand.drain(i..end);
                    // Keep the drop only if the last op still fails (not an earlier one).
                    if fails_at_last_op(&fs, &cand, false) {
                        short = cand;
                    } else {
                        i = end;
                    }
                }
                if chunk == 1 || Instant::now() >= deadline {
                    break;
                }
                chunk /= 2;
            }
            if Instant::now() >= deadline {
                println!("  (shrinking stopped after {budget}s)");
            }
            if !fails_at_last_op(&fs, &short, true) {
                println!(
                    "  shrunk trace ({} ops), which did not fail again:",
                    short.len()
                );
            }
            for (i, o) in short.iter().enumerate() {
                println!("    {i}: {o}");
            }
            std::process::exit(1);
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    fs.close_all();
    let _ = run("umount", &[&fs.mnt]);
    println!(
        "ok: fuzz seed {seed}: {nops} ops in {secs:.1}s ({:.0} ops/s)",
        nops as f64 / secs
    );
}
