//! daxcow's differential CoW fuzzer.  Runs seeded random sequences of file operations on a few
//! files of an XFS-DAX file system (pwrite aligned and not, mmap stores over 4 KiB and 2 MiB
//! regions, msync, FICLONERANGE, FIDEDUPERANGE, unshare, punch hole, zero range, truncate,
//! fsync, unmount and remount, and rmmod/insmod of daxcow) and compares the files with an
//! in-memory model after every step: what the step can have changed after each, everything
//! every `--full-every` steps (below).  A failure prints its seed, the op trace, and a shorter
//! trace that still fails (chunks of ops, then single ops, dropped and the rest replayed on a
//! fresh file system).
//!
//! Strict: a system call may fail only where the model predicts it (`EINVAL` for a clone or
//! dedupe whose ranges overlap in one file or pass the end of a file, which only a shrunk trace
//! produces; `EFAULT` for a short write whose buffer has fewer than 64 readable bytes, which
//! may copy nothing); every other failure, fsync and msync included, fails the run.  A dedupe's answer
//! is checked both ways (same where the bytes are equal and every block pair is two holes or
//! two non-holes, by FIEMAP; differs otherwise), and an unshare by FIEMAP (nothing in the range
//! is still shared).  `--log FILE` writes each step's outcome, so that two runs of one seed
//! under the two engines can be compared line for line (tests/guest/fuzz.sh does).  `--pmd`
//! makes 2 MiB-aligned files (stripe unit 2 MiB, extent and CoW extent size hints 2 MiB) and
//! 2 MiB-aligned clones and stores, for PMD CoW faults.
//!
//! `--race` adds steps where two processes work one file at once (stores racing stores through
//! one mapping, a clone racing stores or a pwrite into its destination), each checked against
//! exactly the results some serialization of the two allows.  After most steps only the
//! ranges the step could have changed are read back; every `--full-every` steps (20), after a
//! remount or reload, and at the end, every byte of every file and held mapping is, and a
//! failure found there is traced to its step by a replay with full checks.
//!
//! usage: daxcow-fuzz [--pmd] [--race] [--full-every N] [--log FILE] DEV MNT SEED OPS [KO]
//!        (KO: daxcow.ko, for rmmod/insmod steps)

mod mapping;
mod sys;

const USAGE: &str =
    "usage: daxcow-fuzz [--pmd] [--race] [--full-every N] [--log FILE] DEV MNT SEED OPS [KO]";

use mapping::Mapping;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use sys::{
    clone_range, cstr, errno, fiemap, fiemap_nosync, run, Extent, FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_ZERO_RANGE, FIDEDUPERANGE,
    FIEMAP_COUNT, FIEMAP_EXTENT_SHARED,
};

const BLK: u64 = 4096;
const NFILES: usize = 3;
const MAX_SIZE: u64 = 4 << 20;
/// Files of a `--pmd` run grow to 16 MiB, in 2 MiB-aligned extents.
const PMD_MAX_SIZE: u64 = 16 << 20;
const PMD: u64 = 2 << 20;
/// Long-lived mappings held at once.
const SLOTS: usize = 2;

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
    /// Maps `[off, off + len)` of file `f` in mapping slot `slot` (unmapping what was there);
    /// the mapping stays across later steps: clones, punches, truncates, writes.
    MapOpen {
        slot: usize,
        f: usize,
        off: u64,
        len: u64,
    },
    /// A store through the long-lived mapping in `slot`, at `at` bytes into it.
    MapStore {
        slot: usize,
        at: u64,
        len: u64,
        byte: u8,
    },
    /// Reads the long-lived mapping in `slot` and compares it with the model: a mapping left
    /// pointing at blocks the file no longer has (a stale PTE after a clone or a CoW) shows.
    MapCheck {
        slot: usize,
    },
    Remount,
    Reload,
    /// Two processes store 8-byte words at once through one shared mapping of `f` (each
    /// faults in its own page tables, on the same shared blocks): `a` and `b` are
    /// `(offset, length, byte)`, word-aligned, inside the mapping and EOF.
    RaceStores {
        f: usize,
        map_off: u64,
        map_len: u64,
        a: (u64, u64, u8),
        b: (u64, u64, u8),
        /// Busy-wait iterations between two stores, so that the loops overlap in time.
        pace: u32,
    },
    /// A clone into `dst` while another process stores words through a mapping of `dst` at
    /// `[at, at + slen)` (never inside the clone's source range).
    RaceCloneStore {
        src: usize,
        so: u64,
        len: u64,
        dst: usize,
        dof: u64,
        map_off: u64,
        map_len: u64,
        at: u64,
        slen: u64,
        byte: u8,
        pace: u32,
    },
    /// A clone into `dst` while another process pwrites `dst` at `[off, off + wlen)`.
    RaceCloneWrite {
        src: usize,
        so: u64,
        len: u64,
        dst: usize,
        dof: u64,
        off: u64,
        wlen: u64,
        byte: u8,
    },
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

fn gen(r: &mut Rng, sizes: &[u64; NFILES], reload: bool, pmd: bool, race: bool) -> Op {
    // A `--race` run: about one step in six is two processes at once.
    if race && r.chance(16) {
        if let Some(op) = gen_race(r, sizes, pmd) {
            return op;
        }
    }
    if pmd {
        if let Some(op) = gen_pmd(r, sizes) {
            return op;
        }
    }
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
        86 => Some(Op::Fsync { f }),
        87..=88 => (size >= BLK).then(|| {
            // Up to 1 MiB, so that clones, punches and CoW land under held mappings often.
            let pages = size.div_ceil(BLK);
            let first = r.below(pages);
            Op::MapOpen {
                slot: r.below(SLOTS as u64) as usize,
                f,
                off: first * BLK,
                len: (1 + r.below((pages - first).min(256))) * BLK,
            }
        }),
        89..=90 => Some(Op::MapStore {
            slot: r.below(SLOTS as u64) as usize,
            at: r.below(256 * BLK),
            len: 1 + r.below(256),
            byte,
        }),
        91 => Some(Op::MapCheck {
            slot: r.below(SLOTS as u64) as usize,
        }),
        92..=94 => Some(Op::Remount),
        _ => Some(if reload { Op::Reload } else { Op::Fsync { f } }),
    };
    op.unwrap_or(Op::Fsync { f })
}

/// The `--pmd` run's own operations (about half of its steps): 2 MiB-aligned writes that grow
/// the files in whole 2 MiB extents, clones of 2 MiB-aligned ranges, and stores through 2 MiB
/// mappings of shared 2 MiB extents, which are PMD CoW faults.
fn gen_pmd(r: &mut Rng, sizes: &[u64; NFILES]) -> Option<Op> {
    let f = r.below(NFILES as u64) as usize;
    let g = r.below(NFILES as u64) as usize;
    let byte = (r.below(255) + 1) as u8;
    let chunks = |size: u64| size / PMD;
    match r.below(100) {
        0..=19 => {
            let at = r.below(chunks(sizes[f]) + 1).min(PMD_MAX_SIZE / PMD - 1) * PMD;
            Some(Op::Pwrite {
                f,
                off: at,
                len: PMD,
                byte,
            })
        }
        20..=39 if chunks(sizes[f]) > 0 => {
            let n = chunks(sizes[f]);
            let so = r.below(n) * PMD;
            let len = (1 + r.below((n - so / PMD).min(2))) * PMD;
            let dof = r.below(chunks(sizes[g]) + 1).min(PMD_MAX_SIZE / PMD - 2) * PMD;
            Some(Op::Clone {
                src: f,
                so,
                len,
                dst: g,
                dof,
            })
        }
        40..=59 if chunks(sizes[f]) > 0 => {
            let map_off = r.below(chunks(sizes[f])) * PMD;
            let off = map_off + r.below(PMD - 64);
            Some(Op::MmapStore {
                f,
                map_off,
                map_len: PMD,
                off,
                len: 1 + r.below(64),
                byte,
                sync: r.chance(30),
            })
        }
        _ => None,
    }
}

/// A word-aligned `(offset, length)` of at least one word inside `[0, span)`, starting near
/// `near` where it can.
fn words(r: &mut Rng, span: u64, near: u64) -> Option<(u64, u64)> {
    let n = span / 8;
    if n == 0 {
        return None;
    }
    let first = (near / 8 + r.below(64)).min(n - 1);
    let count = 1 + r.below((n - first).min(2048));
    Some((first * 8, count * 8))
}

/// The `--race` run's steps, two processes at once: stores racing stores through one mapping
/// (two faults on the same shared pages, or on the same 2 MiB extent with `pmd`), a clone
/// racing stores into its destination, a clone racing a pwrite of its destination.
fn gen_race(r: &mut Rng, sizes: &[u64; NFILES], pmd: bool) -> Option<Op> {
    let f = r.below(NFILES as u64) as usize;
    let g = r.below(NFILES as u64) as usize;
    let (a_byte, b_byte) = {
        let a = (r.below(255) + 1) as u8;
        (a, if a == 255 { 1 } else { a + 1 })
    };
    let kind = if pmd { 0 } else { r.below(3) };
    let pace = [0, 50, 400][r.below(3) as usize];
    match kind {
        0 => {
            let (map_off, map_len) = if pmd {
                let chunks = sizes[f] / PMD;
                (chunks > 0).then_some(())?;
                (r.below(chunks) * PMD, PMD)
            } else {
                let pages = sizes[f] / BLK;
                (pages > 0).then_some(())?;
                let first = r.below(pages);
                (first * BLK, (1 + r.below((pages - first).min(16))) * BLK)
            };
            let span = (sizes[f] - map_off).min(map_len);
            // Both start in the same page (the same 2 MiB with `pmd`), so that their first
            // faults meet; the second often overlaps the first.
            let a = words(r, span, 0)?;
            let near = if r.chance(50) { a.0 } else { 0 };
            let b = words(r, span, near)?;
            Some(Op::RaceStores {
                f,
                map_off,
                map_len,
                a: (a.0, a.1, a_byte),
                b: (b.0, b.1, b_byte),
                pace,
            })
        }
        1 | 2 => {
            let (so, len) = range(r, down(sizes[g]), true, 16 * BLK)?;
            let dof = down(r.below(down(sizes[f]) + 1));
            if g == f && overlap(so, dof, len) {
                return None;
            }
            if kind == 1 {
                // Map around the clone's destination, inside EOF.
                let pages = sizes[f] / BLK;
                (pages > 0).then_some(())?;
                let first = (dof / BLK).saturating_sub(r.below(2)).min(pages - 1);
                let map_len = (1 + r.below((pages - first).min(8))) * BLK;
                let map_off = first * BLK;
                let span = (sizes[f] - map_off).min(map_len);
                let (at, slen) = words(r, span, dof.saturating_sub(map_off))?;
                let (at, slen) = (map_off + at, slen);
                if g == f && overlap2(at, slen, so, len) {
                    return None;
                }
                Some(Op::RaceCloneStore {
                    src: g,
                    so,
                    len,
                    dst: f,
                    dof,
                    map_off,
                    map_len,
                    at,
                    slen,
                    byte: a_byte,
                    pace,
                })
            } else {
                let (off, wlen) = range(r, sizes[f].max(2), false, 3 * BLK)?;
                let off = if r.chance(50) { dof + off % len } else { off };
                Some(Op::RaceCloneWrite {
                    src: g,
                    so,
                    len,
                    dst: f,
                    dof,
                    off,
                    wlen,
                    byte: a_byte,
                })
            }
        }
        _ => None,
    }
}

struct Fs {
    dev: String,
    mnt: String,
    ko: Option<String>,
    fds: Vec<libc::c_int>,
    pmd: bool,
    /// Mappings held across steps (`MapOpen`), by slot.
    maps: [Option<Mapping>; SLOTS],
    races: RaceStats,
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
    fn unmap(&mut self, slot: usize) {
        self.maps[slot] = None;
    }
    fn close_all(&mut self) {
        // A mounted file system with mapped files cannot be unmounted: mappings end here.
        for slot in 0..SLOTS {
            self.unmap(slot);
        }
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
        let mut args = vec!["-f", "-q", "-m", "reflink=1"];
        if self.pmd {
            args.extend(["-d", "su=2m,sw=1"]);
        }
        args.push(&self.dev);
        assert!(run("mkfs.xfs", &args), "mkfs");
        self.mount();
        if self.pmd {
            // Empty files take the hints: every extent and CoW extent 2 MiB-aligned.
            for i in 0..NFILES {
                let p = self.path(i);
                assert!(
                    run("xfs_io", &["-c", "extsize 2m", "-c", "cowextsize 2m", &p]),
                    "size hints"
                );
            }
        }
    }
    fn remount(&mut self) {
        self.close_all();
        assert!(run("umount", &[&self.mnt]), "umount");
        self.mount();
    }
}

/// A system call failed: that is a failure of the run unless the model predicted it
/// (`expected`, an errno), in which case the op must have changed nothing (the next verify
/// checks that it did not).
fn failed(what: &str, expected: Option<i32>) -> Result<Outcome, String> {
    let e = errno();
    match expected {
        Some(x) if x == e => Ok(Outcome::Refused(e)),
        _ => Err(format!(
            "{what}: unexpected error {} ({e})",
            std::io::Error::from_raw_os_error(e)
        )),
    }
}

/// fallocate(2), which the model predicts always succeeds.
fn fallocate(fd: libc::c_int, mode: i32, off: u64, len: u64, what: &str) -> Result<(), String> {
    // SAFETY: fd is open; fallocate only reads its arguments.
    if unsafe { libc::fallocate(fd, mode, off as i64, len as i64) } == 0 {
        Ok(())
    } else {
        failed(what, None).map(|_| ())
    }
}

/// What a step did, as two engines must agree on it.
enum Outcome {
    Done,
    Wrote(isize),
    Dedupe { same: bool, bytes: u64 },
    Refused(i32),
}

impl fmt::Display for Outcome {
    fn fmt(&self, w: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => write!(w, "ok"),
            Outcome::Wrote(n) => write!(w, "wrote {n}"),
            Outcome::Dedupe { same: true, bytes } => write!(w, "same {bytes}"),
            Outcome::Dedupe { same: false, .. } => write!(w, "differs"),
            Outcome::Refused(e) => write!(w, "errno {e}"),
        }
    }
}

/// Whether the ranges `[a, a + len)` and `[b, b + len)` overlap.
fn overlap(a: u64, b: u64, len: u64) -> bool {
    a < b + len && b < a + len
}

/// Whether `[a, a + alen)` and `[b, b + blen)` overlap.
fn overlap2(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a < b + blen && b < a + alen
}

/// For each block of `[off, off + len)`: whether it is a hole (no extent covers it).
fn holes(ext: &[Extent], off: u64, len: u64) -> Vec<bool> {
    (off / BLK..(off + len).div_ceil(BLK))
        .map(|b| {
            let (s, e) = (b * BLK, b * BLK + BLK);
            !ext.iter().any(|x| x.logical < e && s < x.logical + x.len)
        })
        .collect()
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

/// Applies `op` to the file system and, where it succeeded, to the model.  Returns what it did,
/// or an error text when the file system's answer contradicts the model.
fn apply(fs: &mut Fs, model: &mut [Vec<u8>; NFILES], op: &Op) -> Result<Outcome, String> {
    let fd = |i: usize| fs.fds[i];
    match *op {
        Op::Pwrite { f, off, len, byte } => {
            let buf = vec![byte; len as usize];
            // SAFETY: buf holds len bytes; fd is open.
            let n = unsafe { libc::pwrite(fd(f), buf.as_ptr().cast(), len as usize, off as i64) };
            if n < 0 {
                return failed("pwrite", None);
            }
            if n != len as isize {
                return Err(format!("short pwrite: {n} of {len}"));
            }
            fill(&mut model[f], off, len, byte);
            Ok(Outcome::Wrote(n))
        }
        Op::ShortPwrite {
            f,
            off,
            len,
            valid,
            byte,
        } => {
            let n = short_pwrite(fd(f), off, len, valid, byte);
            // The copy from user space stops where the buffer stops being readable, or a few
            // bytes before: x86's non-temporal user copy, which the pmem driver uses, gives up
            // on the last partial word or line (seen: 3 bytes short).  Anything shorter is a
            // write that ended early for another reason.  A write that copied nothing fails
            // with EFAULT, which only a buffer with fewer than 64 readable bytes may do.
            let want = valid.min(len);
            if n < 0 {
                return failed("short pwrite", (want < 64).then_some(libc::EFAULT));
            }
            if n as u64 > want || want - n as u64 >= 64 {
                return Err(format!(
                    "short pwrite wrote {n}; {valid} of {len} were readable"
                ));
            }
            fill(&mut model[f], off, n as u64, byte);
            Ok(Outcome::Wrote(n))
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
                return Ok(Outcome::Done);
            }
            let m = map(fd(f), f, map_off, map_len)?;
            // Inside EOF (checked above) and inside the mapping (the generator keeps it so).
            if off < map_off || !m.fill(off - map_off, len, byte) {
                return Err(format!(
                    "MmapStore outside its mapping: {off}+{len} in {map_off}+{map_len}"
                ));
            }
            if sync {
                m.sync().map_err(|e| format!("msync: error {e}"))?;
            }
            drop(m);
            fill(&mut model[f], off, len, byte);
            Ok(Outcome::Done)
        }
        Op::Clone {
            src,
            so,
            len,
            dst,
            dof,
        } => {
            let past_eof = (so + len) as usize > model[src].len();
            let bad = past_eof || (src == dst && overlap(so, dof, len));
            if !clone_range(fd(dst), fd(src), so, len, dof) {
                return failed("FICLONERANGE", bad.then_some(libc::EINVAL));
            }
            if bad {
                return Err(format!(
                    "FICLONERANGE accepted a bad range (model size {})",
                    model[src].len()
                ));
            }
            let data = model[src][so as usize..(so + len) as usize].to_vec();
            let m = &mut model[dst];
            if m.len() < (dof + len) as usize {
                m.resize((dof + len) as usize, 0);
            }
            m[dof as usize..(dof + len) as usize].copy_from_slice(&data);
            Ok(Outcome::Done)
        }
        Op::Dedupe {
            src,
            so,
            len,
            dst,
            dof,
        } => {
            let (sm, dm) = (&model[src], &model[dst]);
            let inside = (so + len) as usize <= sm.len() && (dof + len) as usize <= dm.len();
            let bad = !inside || (src == dst && overlap(so, dof, len));
            // What the compare must say: equal bytes, and a hole only against a hole.
            let expect_same = !bad && {
                let (se, de) = (fiemap(fd(src)), fiemap(fd(dst)));
                let (se, de) = (se.ok_or("FIEMAP failed")?, de.ok_or("FIEMAP failed")?);
                sm[so as usize..(so + len) as usize] == dm[dof as usize..(dof + len) as usize]
                    && holes(&se, so, len) == holes(&de, dof, len)
            };
            let mut buf = [0u64; 7];
            buf[0] = so;
            buf[1] = len;
            buf[2] = 1; // dest_count (u16) in the low bytes
            buf[3] = fd(dst) as u64;
            buf[4] = dof;
            // SAFETY: buf is a struct file_dedupe_range with one destination.
            if unsafe { libc::ioctl(fd(src), FIDEDUPERANGE, buf.as_mut_ptr()) } != 0 {
                return failed("FIDEDUPERANGE", bad.then_some(libc::EINVAL));
            }
            let status = buf[6] as u32 as i32;
            let deduped = buf[5];
            // A bad destination range is refused in the destination's status.
            if bad {
                return if status == -libc::EINVAL {
                    Ok(Outcome::Refused(libc::EINVAL))
                } else {
                    Err(format!(
                        "FIDEDUPERANGE accepted a bad range: status {status}"
                    ))
                };
            }
            match (status, expect_same) {
                (0, true) if deduped == len => Ok(Outcome::Dedupe {
                    same: true,
                    bytes: deduped,
                }),
                (1, false) => Ok(Outcome::Dedupe {
                    same: false,
                    bytes: deduped,
                }),
                (0, false) => Err(format!(
                    "dedupe said SAME ({deduped} bytes) for ranges that differ"
                )),
                (1, true) => Err("dedupe said DIFFERS for equal ranges".into()),
                _ => Err(format!("dedupe: status {status}, {deduped} of {len} bytes")),
            }
        }
        Op::Unshare { f, off, len } => {
            fallocate(fd(f), FALLOC_FL_UNSHARE_RANGE, off, len, "unshare")?;
            // Without KEEP_SIZE, like any allocating fallocate, it extends the file (a shrunk
            // trace can ask for a range past EOF).
            if model[f].len() < (off + len) as usize {
                model[f].resize((off + len) as usize, 0);
            }
            // Nothing of the range inside EOF may still be shared.  (7.3 left a shared extent
            // after an unwritten one shared: patches/0010, docs/failure-model.md.)
            let end = (off + len).min(model[f].len() as u64);
            if off < end {
                let ext = fiemap(fd(f)).ok_or("FIEMAP failed")?;
                if let Some(x) = ext.iter().find(|x| {
                    x.flags & FIEMAP_EXTENT_SHARED != 0
                        && x.logical < end
                        && off < x.logical + x.len
                }) {
                    return Err(format!("after unshare, {x:?} is still shared"));
                }
            }
            Ok(Outcome::Done)
        }
        Op::Punch { f, off, len } => {
            fallocate(
                fd(f),
                FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                off,
                len,
                "punch hole",
            )?;
            zero_model(&mut model[f], off, len);
            Ok(Outcome::Done)
        }
        Op::Zero { f, off, len } => {
            fallocate(
                fd(f),
                FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                off,
                len,
                "zero range",
            )?;
            zero_model(&mut model[f], off, len);
            Ok(Outcome::Done)
        }
        Op::Truncate { f, size } => {
            // SAFETY: fd is open.
            if unsafe { libc::ftruncate(fd(f), size as i64) } != 0 {
                return failed("truncate", None);
            }
            model[f].resize(size as usize, 0);
            Ok(Outcome::Done)
        }
        Op::Fsync { f } => {
            // SAFETY: fd is open.
            if unsafe { libc::fsync(fd(f)) } != 0 {
                return failed("fsync", None);
            }
            Ok(Outcome::Done)
        }
        Op::MapOpen { slot, f, off, len } => {
            let file = fd(f);
            fs.unmap(slot);
            // Mapping past EOF is allowed; touching a page past EOF is SIGBUS, and the stores
            // and checks below stay inside the model's size.
            fs.maps[slot] = Some(map(file, f, off, len)?);
            Ok(Outcome::Done)
        }
        Op::MapStore {
            slot,
            at,
            len,
            byte,
        } => {
            let Some(m) = &fs.maps[slot] else {
                return Ok(Outcome::Done);
            };
            let size = model[m.f].len() as u64;
            // Only inside EOF (a store past EOF is SIGBUS) and inside the mapping.
            if m.off + at + len > size || !m.fill(at, len, byte) {
                return Ok(Outcome::Done);
            }
            fill(&mut model[m.f], m.off + at, len, byte);
            Ok(Outcome::Done)
        }
        Op::MapCheck { slot } => {
            if let Some(m) = &fs.maps[slot] {
                check_mapping(m, model)?;
            }
            Ok(Outcome::Done)
        }
        Op::Remount => {
            fs.remount();
            Ok(Outcome::Done)
        }
        Op::Reload => {
            if let Some(ko) = fs.ko.clone() {
                if !(run("rmmod", &["daxcow"]) && run("insmod", &[&ko])) {
                    return Err("rmmod/insmod failed".into());
                }
            }
            Ok(Outcome::Done)
        }
        Op::RaceStores {
            f,
            map_off,
            map_len,
            a,
            b,
            pace,
        } => {
            let size = model[f].len() as u64;
            // Only inside EOF (a shrunk trace can have moved it).
            if map_off + a.0 + a.1 > size || map_off + b.0 + b.1 > size {
                return Ok(Outcome::Done);
            }
            let m = map(fd(f), f, map_off, map_len)?;
            race(
                || {
                    if m.store_words(a, pace) {
                        Ok(())
                    } else {
                        Err(format!("racing stores {a:?} outside the mapping {map_len}"))
                    }
                },
                || m.store_words(b, pace),
            )?;
            drop(m);
            // Each word is the value of a process that stored it: the last one, where both did.
            let span = a.0.min(b.0)..(a.0 + a.1).max(b.0 + b.1);
            let got = read_exact_at(fd(f), map_off + span.start, span.end - span.start)?;
            let (mut saw_a, mut saw_b) = (false, false);
            for w in span.clone().step_by(8) {
                let i = (w - span.start) as usize;
                let word = &got[i..i + 8];
                let in_a = (a.0..a.0 + a.1).contains(&w);
                let in_b = (b.0..b.0 + b.1).contains(&w);
                let old = &model[f][(map_off + w) as usize..(map_off + w + 8) as usize];
                let ok = match (in_a, in_b) {
                    (true, true) => {
                        saw_a |= word == [a.2; 8];
                        saw_b |= word == [b.2; 8];
                        word == [a.2; 8] || word == [b.2; 8]
                    }
                    (true, false) => word == [a.2; 8],
                    (false, true) => word == [b.2; 8],
                    (false, false) => word == old,
                };
                if !ok {
                    return Err(format!(
                        "racing stores: the word at {} of f{f} is {word:02x?}, which no \
                         serialization of the two processes' stores leaves",
                        map_off + w
                    ));
                }
            }
            let at = (map_off + span.start) as usize;
            model[f][at..at + got.len()].copy_from_slice(&got);
            fs.races.steps += 1;
            fs.races.interleaved += usize::from(saw_a && saw_b);
            Ok(Outcome::Done)
        }
        Op::RaceCloneStore {
            src,
            so,
            len,
            dst,
            dof,
            map_off,
            map_len,
            at,
            slen,
            byte,
            pace,
        } => {
            let dsize = model[dst].len() as u64;
            let valid = so + len <= model[src].len() as u64
                && !(src == dst && (overlap(so, dof, len) || overlap2(at, slen, so, len)))
                && at + slen <= dsize
                && map_off <= at
                && at + slen <= map_off + map_len;
            if !valid {
                return Ok(Outcome::Done);
            }
            let m = map(fd(dst), dst, map_off, map_len)?;
            let (src_fd, dst_fd, words) = (fd(src), fd(dst), (at - map_off, slen, byte));
            race(
                || {
                    if !clone_range(dst_fd, src_fd, so, len, dof) {
                        return failed("FICLONERANGE racing stores", None).map(|_| ());
                    }
                    Ok(())
                },
                || m.store_words(words, pace),
            )?;
            drop(m);
            // The clone is one point in the store loop's order: the words in its destination
            // stored before it show the clone's data, those after it the stored value.
            let mut after = model[dst].clone();
            model_clone(model, src, so, len, &mut after, dof);
            let got = read_exact_at(dst_fd, at, slen)?;
            let mut stored_after = None;
            // Whether a word holding the clone's data came before the first stored one: the
            // clone then landed inside the store loop.
            let mut cloned_first = false;
            for w in (at..at + slen).step_by(8) {
                let i = (w - at) as usize;
                let word = &got[i..i + 8];
                let cloned = &after[w as usize..w as usize + 8];
                let in_clone = (dof..dof + len).contains(&w);
                let stored = word == [byte; 8];
                let ok = if !in_clone {
                    stored
                } else if cloned == [byte; 8] {
                    // The clone's data is the stored value: says nothing of the order.
                    stored
                } else if stored {
                    stored_after.get_or_insert(w);
                    true
                } else {
                    cloned_first |= stored_after.is_none();
                    word == cloned && stored_after.is_none()
                };
                if !ok {
                    return Err(format!(
                        "a clone racing stores: the word at {w} of f{dst} is {word:02x?} \
                         (clone's data {cloned:02x?}, stored {byte:#x}{}), which no \
                         serialization leaves",
                        stored_after
                            .map(|s| format!(", stored after the clone from {s}"))
                            .unwrap_or_default()
                    ));
                }
            }
            after[at as usize..(at + slen) as usize].copy_from_slice(&got);
            model[dst] = after;
            fs.races.steps += 1;
            fs.races.interleaved += usize::from(cloned_first && stored_after.is_some());
            Ok(Outcome::Done)
        }
        Op::RaceCloneWrite {
            src,
            so,
            len,
            dst,
            dof,
            off,
            wlen,
            byte,
        } => {
            let valid = so + len <= model[src].len() as u64
                && !(src == dst && overlap(so, dof, len))
                && dof <= model[dst].len() as u64;
            if !valid {
                return Ok(Outcome::Done);
            }
            let (src_fd, dst_fd) = (fd(src), fd(dst));
            let buf = vec![byte; wlen as usize];
            race(
                || {
                    if !clone_range(dst_fd, src_fd, so, len, dof) {
                        return failed("FICLONERANGE racing a pwrite", None).map(|_| ());
                    }
                    Ok(())
                },
                || {
                    let n =
                        // SAFETY: buf holds wlen bytes; the fd is open.
                        unsafe { libc::pwrite(dst_fd, buf.as_ptr().cast(), buf.len(), off as i64) };
                    if n != wlen as isize {
                        eprintln!("pwrite racing a clone: {n} of {wlen} (errno {})", errno());
                    }
                    n == wlen as isize
                },
            )?;
            // Both take the inode's I/O lock: the result is one order or the other, exactly.
            let write = |m: &mut Vec<u8>| fill(m, off, wlen, byte);
            let mut clone_first = model[dst].clone();
            model_clone(model, src, so, len, &mut clone_first, dof);
            write(&mut clone_first);
            let mut write_first = model.clone();
            write(&mut write_first[dst]);
            let mut wf = write_first[dst].clone();
            model_clone(&write_first, src, so, len, &mut wf, dof);
            let got = read_at(dst_fd, 0, clone_first.len().max(wf.len()) as u64 + 1)?;
            if got == clone_first {
                model[dst] = clone_first;
            } else if got == wf {
                model[dst] = wf;
            } else {
                let first_diff = |m: &[u8]| (0..got.len()).find(|&i| m.get(i) != got.get(i));
                return Err(format!(
                    "a clone racing a pwrite left f{dst} as neither order would: size {}, \
                     first byte off from clone-then-write at {:?}, from write-then-clone at {:?}",
                    got.len(),
                    first_diff(&clone_first),
                    first_diff(&wf)
                ));
            }
            fs.races.steps += 1;
            Ok(Outcome::Done)
        }
    }
}

/// What `--race` steps did: how many ran, and how many showed the two processes interleaved
/// (both values among the words both stored; a clone landing inside a store loop).
#[derive(Default)]
struct RaceStats {
    steps: usize,
    interleaved: usize,
}

/// A shared read-write mapping of `len` bytes of file `f` (open as `fd`) at `off`.
fn map(fd: libc::c_int, f: usize, off: u64, len: u64) -> Result<Mapping, String> {
    Mapping::new(fd, f, off, len).map_err(|e| format!("mmap: unexpected error {e}"))
}

/// How long a racing process waits for the other to start before going on alone.
const RACE_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `parent` here and `child` in a forked process, both released at once by a flag in
/// shared memory, so that their system calls and faults overlap.  Fails if either fails.
fn race(
    parent: impl FnOnce() -> Result<(), String>,
    child: impl FnOnce() -> bool,
) -> Result<(), String> {
    // SAFETY: an anonymous shared page; checked.
    let flag = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            BLK as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert!(flag != libc::MAP_FAILED, "mmap");
    // SAFETY: the page is zeroed and page-aligned, accessed only atomically, and lives until
    // the munmap below (the child's copy of the mapping until the child exits).
    let ready = unsafe { AtomicU32::from_ptr(flag.cast::<u32>()) };
    let go = || {
        ready.fetch_add(1, Ordering::SeqCst);
        let t = Instant::now();
        // A partner that died before it got here is found by waitpid() below.
        while ready.load(Ordering::SeqCst) < 2 && t.elapsed() < RACE_START_TIMEOUT {
            std::hint::spin_loop();
        }
    };
    // SAFETY: the fuzzer is single-threaded, so the child may run ordinary code after fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        go();
        // A panic must not unwind into the child's copy of main().
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(false);
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    if pid < 0 {
        let e = failed("fork", None).map(|_| ());
        // SAFETY: unmapping the flag page.
        unsafe { libc::munmap(flag, BLK as usize) };
        return e;
    }
    go();
    let r = parent();
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    // SAFETY: unmapping the flag page.
    unsafe { libc::munmap(flag, BLK as usize) };
    r?;
    if libc::WIFSIGNALED(status) {
        return Err(format!(
            "the racing process was killed by signal {} (its output is above)",
            libc::WTERMSIG(status)
        ));
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(format!(
            "the racing process failed (wait status {status:#x}; its output is above)"
        ));
    }
    Ok(())
}

/// `len` bytes of `fd` from `off` (fewer at EOF).
fn read_at(fd: libc::c_int, off: u64, len: u64) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len as usize];
    // SAFETY: buf holds len bytes; fd is open.
    let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as i64) };
    if n < 0 {
        return failed("pread", None).map(|_| vec![]);
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// Exactly `len` bytes of `fd` from `off`: a short read is a failure.
fn read_exact_at(fd: libc::c_int, off: u64, len: u64) -> Result<Vec<u8>, String> {
    let got = read_at(fd, off, len)?;
    if got.len() as u64 != len {
        return Err(format!(
            "pread of {len} bytes at {off} returned {} (the model has them inside EOF)",
            got.len()
        ));
    }
    Ok(got)
}

/// What a clone of `[so, so + len)` of file `src` (as `model` has it) to `dof` does to `dst`.
fn model_clone(
    model: &[Vec<u8>; NFILES],
    src: usize,
    so: u64,
    len: u64,
    dst: &mut Vec<u8>,
    dof: u64,
) {
    let data = &model[src][so as usize..(so + len) as usize];
    if dst.len() < (dof + len) as usize {
        dst.resize((dof + len) as usize, 0);
    }
    dst[dof as usize..(dof + len) as usize].copy_from_slice(data);
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

/// Compares what the held mapping `m` shows, up to EOF, with the model.
fn check_mapping(m: &Mapping, model: &[Vec<u8>; NFILES]) -> Result<(), String> {
    let end = (m.off + m.len()).min(model[m.f].len() as u64);
    if m.off >= end {
        return Ok(());
    }
    // Inside EOF, so no SIGBUS; past the mapping's end, a failure.
    let got = m
        .read(0, (end - m.off).min(m.len()))
        .ok_or("a held mapping shorter than its length")?;
    let want = &model[m.f][m.off as usize..end as usize];
    if let Some(at) = (got != want)
        .then(|| (0..want.len()).find(|&i| got[i] != want[i]))
        .flatten()
    {
        return Err(format!(
            "through the mapping of f{} held since an earlier step, byte {} is {:#x}, model \
             {:#x}",
            m.f,
            m.off as usize + at,
            got[at],
            want[at]
        ));
    }
    Ok(())
}

/// Compares every file with the model, by read(2) and through every mapping held across
/// steps (a stale PTE, left pointing at blocks a clone or CoW took away, shows there).
fn verify(fs: &Fs, model: &[Vec<u8>; NFILES]) -> Result<(), String> {
    for m in fs.maps.iter().flatten() {
        check_mapping(m, model)?;
    }
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

/// The byte ranges `(file, start, end)` a step may have changed, or `None` for any byte of any
/// file (remount, reload).  Each range is widened to the blocks around it (to the 2 MiB around
/// it in a `--pmd` run), where a copy-around or a fault that strays would write.
fn touched(op: &Op, fs: &Fs, sizes: &[u64; NFILES]) -> Option<Vec<(usize, u64, u64)>> {
    let mut r: Vec<(usize, u64, u64)> = Vec::new();
    let mut add = |f: usize, off: u64, len: u64| r.push((f, off, off.saturating_add(len)));
    match *op {
        Op::Pwrite { f, off, len, .. } | Op::ShortPwrite { f, off, len, .. } => {
            // Past EOF, the write zeroes the old EOF block's tail and the gap up to `off`.
            let start = off.min(sizes[f]);
            add(f, start, off + len - start)
        }
        Op::MmapStore {
            f,
            map_off,
            map_len,
            ..
        } => add(f, map_off, map_len),
        Op::Clone {
            src,
            so,
            len,
            dst,
            dof,
        }
        | Op::Dedupe {
            src,
            so,
            len,
            dst,
            dof,
        } => {
            add(src, so, len);
            add(dst, dof, len);
        }
        Op::Unshare { f, off, len } | Op::Punch { f, off, len } | Op::Zero { f, off, len } => {
            add(f, off, len)
        }
        Op::Truncate { f, size } => {
            let (lo, hi) = (size.min(sizes[f]), size.max(sizes[f]));
            add(f, lo, hi - lo);
        }
        Op::Fsync { .. } | Op::MapOpen { .. } | Op::MapCheck { .. } => {}
        Op::MapStore { slot, at, len, .. } => {
            if let Some(m) = &fs.maps[slot] {
                add(m.f, m.off + at, len);
            }
        }
        Op::Remount | Op::Reload => return None,
        Op::RaceStores {
            f,
            map_off,
            map_len,
            ..
        } => add(f, map_off, map_len),
        Op::RaceCloneStore {
            src,
            so,
            len,
            dst,
            dof,
            map_off,
            map_len,
            ..
        } => {
            add(src, so, len);
            add(dst, dof, len);
            add(dst, map_off, map_len);
        }
        Op::RaceCloneWrite {
            src,
            so,
            len,
            dst,
            dof,
            off,
            wlen,
            ..
        } => {
            add(src, so, len);
            add(dst, dof, len);
            add(dst, off, wlen);
        }
    }
    let (grain, margin) = if fs.pmd { (PMD, 0) } else { (BLK, BLK) };
    for x in r.iter_mut() {
        x.1 = (x.1 / grain * grain).saturating_sub(margin);
        x.2 =
            x.2.div_ceil(grain)
                .saturating_mul(grain)
                .saturating_add(margin);
    }
    if r.is_empty() {
        return Some(r);
    }
    // A step that stores into a block some other range still shares (of another file, or of
    // this one) changes that range too: follow each range's shared extents, as FIEMAP shows
    // them before the step, to every range mapping the same blocks.  No FIEMAP, or one cut
    // short: check everything.
    let ext: Vec<Vec<Extent>> = fs
        .fds
        .iter()
        .map(|&fd| fiemap_nosync(fd))
        .collect::<Option<_>>()?;
    if ext.iter().any(|e| e.len() >= FIEMAP_COUNT) {
        return None;
    }
    let mut aliases = Vec::new();
    for &(f, start, end) in &r {
        for x in ext[f]
            .iter()
            .filter(|x| x.flags & FIEMAP_EXTENT_SHARED != 0)
        {
            let (lo, hi) = (start.max(x.logical), end.min(x.logical + x.len));
            if lo >= hi {
                continue;
            }
            let (p0, p1) = (x.physical + (lo - x.logical), x.physical + (hi - x.logical));
            for (g, ge) in ext.iter().enumerate() {
                for y in ge {
                    let (q0, q1) = (p0.max(y.physical), p1.min(y.physical + y.len));
                    if q0 < q1 {
                        let at = y.logical + (q0 - y.physical);
                        aliases.push((g, at, at + (q1 - q0)));
                    }
                }
            }
        }
    }
    r.extend(aliases);
    Some(r)
}

/// The check after a step that is not a full one: every file's size, the bytes of the ranges
/// the step may have changed by pread(2), and every held mapping whole (a PTE a step left
/// stale can show wrong bytes only later, when the block it points at is reused elsewhere).
/// What lies outside them is left to the next full check (`verify`), every `--full-every`
/// steps, and a failure found there is traced back to its step by a replay.
fn verify_touched(
    fs: &Fs,
    model: &[Vec<u8>; NFILES],
    ranges: &[(usize, u64, u64)],
) -> Result<(), String> {
    for (i, m) in model.iter().enumerate() {
        // SAFETY: an all-zero struct stat is valid; fstat fills it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is open; st is a struct stat.
        if unsafe { libc::fstat(fs.fds[i], &mut st) } != 0 {
            return failed("fstat", None).map(|_| ());
        }
        if st.st_size as u64 != m.len() as u64 {
            return Err(format!("f{i}: size {}, model {}", st.st_size, m.len()));
        }
    }
    for &(f, start, end) in ranges {
        let size = model[f].len() as u64;
        let end = end.min(size);
        if start >= end {
            continue;
        }
        let got = read_exact_at(fs.fds[f], start, end - start)?;
        let want = &model[f][start as usize..end as usize];
        if let Some(at) = (got != want)
            .then(|| (0..want.len()).find(|&j| got[j] != want[j]))
            .flatten()
        {
            return Err(format!(
                "f{f}: byte {} is {:#x}, model {:#x}",
                start as usize + at,
                got[at],
                want[at]
            ));
        }
    }
    for m in fs.maps.iter().flatten() {
        check_mapping(m, model)?;
    }
    Ok(())
}

/// Whether two failure texts are the same failure: equal once their numbers are left out.
fn same_kind(a: &str, b: &str) -> bool {
    // Decimal digits go, and the digits of a 0x number (byte values), nothing else.
    let strip = |s: &str| {
        let mut out = String::new();
        let mut hex = false;
        let mut prev = ' ';
        for c in s.chars() {
            if prev == '0' && c == 'x' {
                hex = true;
            } else if !(c.is_ascii_digit() || (hex && c.is_ascii_hexdigit())) {
                hex = false;
                out.push(c);
            }
            prev = c;
        }
        out
    };
    strip(a) == strip(b)
}

/// Whether replaying `ops` on a fresh file system fails at its last op, the way `want` says, in a child process, so
/// that a replay the kernel kills (SIGBUS from a store into a block it cannot map, say) counts as
/// "does not reproduce" instead of ending the shrink.  With `say`, the child prints the failure.
fn fails_at_last_op(fs: &Fs, ops: &[Op], want: &str, say: bool) -> bool {
    // SAFETY: the fuzzer is single-threaded, so the child may run ordinary code after fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut child = Fs {
            dev: fs.dev.clone(),
            mnt: fs.mnt.clone(),
            ko: fs.ko.clone(),
            fds: vec![],
            pmd: fs.pmd,
            maps: [const { None }; SLOTS],
            races: RaceStats::default(),
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
        let hit = matches!(&r, Some((at, e)) if at + 1 == ops.len() && same_kind(e, want));
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

/// The first step of `ops` that fails when replayed on a fresh file system with a full check
/// after every step, and why; in a child process, so that a replay the kernel kills (SIGBUS)
/// ends only the child.  `None` if the replay does not fail.
fn locate(fs: &Fs, ops: &[Op]) -> Option<(usize, String)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: the fuzzer is single-threaded, so the child may run ordinary code after fork.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let mut child = Fs {
            dev: fs.dev.clone(),
            mnt: fs.mnt.clone(),
            ko: fs.ko.clone(),
            fds: vec![],
            pmd: fs.pmd,
            maps: [const { None }; SLOTS],
            races: RaceStats::default(),
        };
        let text = replay(&mut child, ops)
            .map(|(at, e)| format!("{at}\n{e}"))
            .unwrap_or_default();
        child.close_all();
        let _ = run("umount", &[&child.mnt]);
        // SAFETY: writing text's bytes to the pipe's write end; then ending the child.
        unsafe {
            libc::write(fds[1], text.as_ptr().cast(), text.len());
            libc::_exit(0)
        };
    }
    // SAFETY: closing the parent's copy of the write end, so that the read below ends.
    unsafe { libc::close(fds[1]) };
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: buf holds 4096 bytes; fds[0] is the pipe's read end.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        text.extend_from_slice(&buf[..n as usize]);
    }
    let mut status = 0;
    // SAFETY: closing the read end and waiting for the child forked above.
    unsafe {
        libc::close(fds[0]);
        libc::waitpid(pid, &mut status, 0)
    };
    if libc::WIFSIGNALED(status) {
        let _ = run("umount", &[&fs.mnt]);
    }
    let text = String::from_utf8_lossy(&text);
    let (at, e) = text.split_once('\n')?;
    Some((at.parse().ok()?, e.to_string()))
}

/// Replays `ops` on a fresh file system; returns the failing step and why.
fn replay(fs: &mut Fs, ops: &[Op]) -> Option<(usize, String)> {
    fs.fresh();
    let mut model: [Vec<u8>; NFILES] = Default::default();
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = apply(fs, &mut model, op).and_then(|_| verify(fs, &model)) {
            return Some((i, e));
        }
    }
    None
}

fn main() {
    let mut a: Vec<String> = std::env::args().collect();
    let (mut pmd, mut race_steps) = (false, false);
    let mut full_every: usize = 20;
    let mut log: Option<std::fs::File> = None;
    loop {
        match a.get(1).map(String::as_str) {
            Some("--pmd") => {
                pmd = true;
                a.remove(1);
            }
            Some("--race") => {
                race_steps = true;
                a.remove(1);
            }
            Some("--log") if a.len() > 2 => {
                log = Some(std::fs::File::create(&a[2]).expect("--log FILE"));
                a.drain(1..3);
            }
            Some("--full-every") if a.len() > 2 => {
                full_every = a[2].parse().expect("--full-every N");
                a.drain(1..3);
            }
            _ => break,
        }
    }
    if a.len() < 5 || full_every == 0 {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let seed: u64 = a[3].parse().expect("SEED");
    let nops: usize = a[4].parse().expect("OPS");
    let mut fs = Fs {
        dev: a[1].clone(),
        mnt: a[2].clone(),
        ko: a.get(5).cloned(),
        fds: vec![],
        pmd,
        maps: [const { None }; SLOTS],
        races: RaceStats::default(),
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
        let op = gen(&mut rng, &sizes, fs.ko.is_some(), fs.pmd, race_steps);
        trace.push(op.clone());
        let changed = touched(&op, &fs, &sizes);
        let result = apply(&mut fs, &mut model, &op);
        if let (Some(l), Ok(o)) = (log.as_mut(), &result) {
            use std::io::Write;
            let _ = writeln!(l, "{step} {op} => {o}");
        }
        let checked = result.and_then(|_| match &changed {
            Some(ranges) if (step + 1) % full_every != 0 && step + 1 != nops => {
                verify_touched(&fs, &model, ranges)
            }
            _ => verify(&fs, &model),
        });
        if let Err(e) = checked {
            println!("FAIL: fuzz seed {seed}: step {step}: {op}: {e}");
            fs.close_all();
            let _ = run("umount", &[&fs.mnt]);
            // A full check finds what an earlier step did outside its own ranges: replay
            // with a full check after every step to find the step that did it.
            let mut e = e;
            match locate(&fs, &trace) {
                Some((at, first)) => {
                    if at < step {
                        println!(
                            "  (replayed with a full check after every step: the first failure \
                             is step {at}: {}: {first})",
                            trace[at]
                        );
                    }
                    trace.truncate(at + 1);
                    e = first;
                }
                None => println!(
                    "  (a replay with a full check after every step did not fail: if a full \
                     check found this, its cause lies in the {full_every} steps before)"
                ),
            }
            println!("  trace ({} ops):", trace.len());
            for (i, o) in trace.iter().enumerate() {
                println!("    {i}: {o}");
            }
            // Shrink: drop each earlier op in turn and keep the drop if the failure remains.
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
                    if fails_at_last_op(&fs, &cand, &e, false) {
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
            if !fails_at_last_op(&fs, &short, &e, true) {
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
    if race_steps {
        println!(
            "races: {} steps of two processes at once, {} of them seen interleaved",
            fs.races.steps, fs.races.interleaved
        );
    }
    println!(
        "ok: fuzz seed {seed}: {nops} ops in {secs:.1}s ({:.0} ops/s)",
        nops as f64 / secs
    );
}
