//! Systematic slab-allocation failure around one CoW operation at a time (failure paths,
//! case 5; run by tests/guest/failslab.sh).
//!
//! usage: failnth DEV MNT [KO]   (KO: daxcow.ko, also fail each allocation of loading it)
//!
//! For every operation below and N = 1, 2, ...: fresh files; /proc/thread-self/fail-nth = N,
//! so that the Nth slab allocation the task makes fails (failslab, with ignore-gfp-wait off so
//! that sleeping allocations count too; __GFP_NOFAIL ones never fail); the operation; then
//! fail-nth is read back (0: the failure was injected) and cleared.  The loop ends at the first
//! N the operation did not reach, so every allocation the operation makes has failed once.
//!
//! After each run the files are read without injection and must hold: outside the operation's
//! range, the old bytes; inside it, old or new bytes; exactly the new bytes when the operation
//! reported success.  A failed CoW must not leave a half-copied block visible.  Nothing is
//! allocated between arming fail-nth and reading it back, other than by the operation itself.
//!
//! Prints per operation an indented line with the number of allocations and the count of each
//! outcome, and a line with the kinds of outcome (ok, ENOMEM, SIGBUS, ...) that the caller
//! compares between the engines; `BAD: ...` lines for broken invariants, and then exit status 1.

#[path = "../sys.rs"]
mod sys;

use std::fs;
use std::sync::atomic::{AtomicI32, Ordering};
use sys::{
    cstr, errno, run, FALLOC_FL_KEEP_SIZE, FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_ZERO_RANGE, FICLONE,
    FIDEDUPERANGE,
};

const BLK: usize = 4096;
const BLOCKS: usize = 16;
const SIZE: usize = BLK * BLOCKS;
/// Far above what any of these operations allocates (loading daxcow: about 190 on the default
/// kernel, several times that on the debug kernel, whose KASAN, lockdep and kmemleak allocate
/// for themselves); reaching it means fail-nth never stops being consumed, a failure itself.
const MAX_N: u32 = 5000;

/// The operations, each on a fresh reflinked pair: b shares all of a's blocks; c holds a's
/// bytes in blocks of its own (the dedupe target).
#[derive(Clone, Copy, PartialEq)]
enum Op {
    /// Unaligned pwrite into a shared block: head and tail copy.
    Write,
    /// A store through a MAP_SHARED mapping of a shared block: a PTE CoW fault.
    Fault,
    /// FALLOC_FL_ZERO_RANGE inside a shared block: zeroing with copy-around.
    Zero,
    /// FALLOC_FL_UNSHARE_RANGE of all of b.
    Unshare,
    /// FIDEDUPERANGE of a onto c: the engine's compare.
    Dedupe,
    /// finit_module of daxcow.ko: the module's own allocations and its init unwinding.
    Load,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Write => "write",
            Op::Fault => "fault",
            Op::Zero => "zero",
            Op::Unshare => "unshare",
            Op::Dedupe => "dedupe",
            Op::Load => "load",
        }
    }

    /// The file the operation changes (1 = b, 2 = c) and the byte range it may change, with
    /// what it writes there.
    fn target(self) -> (usize, usize, usize, Option<u8>) {
        match self {
            Op::Write => (1, 4 * BLK + 50, 100, Some(b'z')),
            Op::Fault => (1, 5 * BLK + 7, 1, Some(b'y')),
            Op::Zero => (1, 6 * BLK + 100, 200, Some(0)),
            // Unshare and dedupe change no byte.
            Op::Unshare => (1, 0, 0, None),
            Op::Dedupe => (2, 0, 0, None),
            Op::Load => (1, 0, 0, None),
        }
    }
}

fn errname(e: i32) -> String {
    match e {
        libc::ENOMEM => "ENOMEM".into(),
        libc::EIO => "EIO".into(),
        libc::ENOSPC => "ENOSPC".into(),
        libc::EAGAIN => "EAGAIN".into(),
        libc::EINTR => "EINTR".into(),
        libc::EFAULT => "EFAULT".into(),
        libc::EEXIST => "EEXIST".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EINVAL => "EINVAL".into(),
        _ => format!("errno {e}"),
    }
}

/// The calling thread's /proc/thread-self/fail-nth, opened once so that arming it allocates
/// nothing.
struct FailNth(libc::c_int);

impl FailNth {
    fn open() -> FailNth {
        let p = cstr("/proc/thread-self/fail-nth");
        // SAFETY: a valid NUL-terminated path; the result is checked.
        let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDWR) };
        assert!(
            fd >= 0,
            "open /proc/thread-self/fail-nth: errno {}",
            errno()
        );
        FailNth(fd)
    }

    /// The Nth slab allocation from now on fails.  `n` is formatted on the stack.
    fn arm(&self, n: u32) {
        let mut buf = [0u8; 12];
        let len = fmt_u32(n, &mut buf);
        // SAFETY: buf holds len initialised bytes; fd is open.
        let w = unsafe { libc::pwrite(self.0, buf.as_ptr().cast(), len, 0) };
        assert!(w == len as isize, "arm fail-nth: errno {}", errno());
    }

    /// Disarms, and says whether the failure was injected (the count reached 0).
    fn disarm(&self) -> bool {
        let remaining = self.read();
        // SAFETY: one initialised byte; fd is open.
        let w = unsafe { libc::pwrite(self.0, b"0".as_ptr().cast(), 1, 0) };
        assert!(w == 1, "clear fail-nth: errno {}", errno());
        remaining == 0
    }

    fn read(&self) -> u32 {
        let mut buf = [0u8; 16];
        // SAFETY: buf is writable for its length; fd is open.
        let r = unsafe { libc::pread(self.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(r > 0, "read fail-nth: errno {}", errno());
        parse_u32(&buf[..r as usize])
    }
}

impl Drop for FailNth {
    fn drop(&mut self) {
        // SAFETY: fd was opened in `open` and is closed once.
        unsafe { libc::close(self.0) };
    }
}

fn fmt_u32(mut n: u32, buf: &mut [u8; 12]) -> usize {
    let mut digits = [0u8; 10];
    let mut i = 0;
    loop {
        digits[i] = b'0' + (n % 10) as u8;
        i += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (k, d) in digits[..i].iter().rev().enumerate() {
        buf[k] = *d;
    }
    i
}

fn parse_u32(s: &[u8]) -> u32 {
    s.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'))
}

/// The test files: a, b (a's reflink clone), c (a's bytes, unshared).
struct Files {
    dev: String,
    mnt: String,
    fds: [libc::c_int; 3],
}

fn pattern() -> Vec<u8> {
    (0..SIZE).map(|i| b'A' + (i / BLK) as u8).collect()
}

impl Files {
    fn path(&self, i: usize) -> String {
        format!("{}/{}", self.mnt, ["a", "b", "c"][i])
    }

    fn close(&mut self) {
        for fd in &mut self.fds {
            if *fd >= 0 {
                // SAFETY: opened by `fresh`, closed once.
                unsafe { libc::close(*fd) };
                *fd = -1;
            }
        }
    }

    /// New a, b and c, fsynced.  Err: the file system refused (shut down).
    fn fresh(&mut self, pat: &[u8]) -> Result<(), String> {
        self.close();
        for i in 0..3 {
            let _ = fs::remove_file(self.path(i));
        }
        for i in 0..3 {
            let p = cstr(&self.path(i));
            // SAFETY: a valid path; the result is checked.
            let fd = unsafe { libc::open(p.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o644) };
            if fd < 0 {
                return Err(format!("open {}: {}", self.path(i), errname(errno())));
            }
            self.fds[i] = fd;
        }
        for i in [0, 2] {
            // SAFETY: pat is SIZE readable bytes; fd is open.
            let n = unsafe { libc::pwrite(self.fds[i], pat.as_ptr().cast(), SIZE, 0) };
            if n != SIZE as isize {
                return Err(format!("write {}: {}", self.path(i), errname(errno())));
            }
        }
        // SAFETY: both fds are open; FICLONE takes the source fd as its argument.
        if unsafe { libc::ioctl(self.fds[1], FICLONE, self.fds[0]) } != 0 {
            return Err(format!("FICLONE: {}", errname(errno())));
        }
        for fd in self.fds {
            // SAFETY: fd is open.
            if unsafe { libc::fsync(fd) } != 0 {
                return Err(format!("fsync: {}", errname(errno())));
            }
        }
        Ok(())
    }

    fn read(&self, i: usize, buf: &mut [u8]) -> Result<(), String> {
        // SAFETY: buf is writable for its length; fd is open.
        let n = unsafe { libc::pread(self.fds[i], buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n == buf.len() as isize {
            Ok(())
        } else {
            Err(format!("read {}: {}", self.path(i), errname(errno())))
        }
    }

    /// After a shutdown: unmount, and mount again (log recovery).
    fn remount(&mut self) {
        self.close();
        assert!(run("umount", &[&self.mnt]), "umount {}", self.mnt);
        assert!(
            run("mount", &["-o", "dax=always", &self.dev, &self.mnt]),
            "mount {}",
            self.dev
        );
    }
}

/// What one armed run of an operation reported.
#[derive(PartialEq)]
enum Outcome {
    Ok,
    Err(i32),
    /// A dedupe whose ioctl succeeded but whose status is not FILE_DEDUPE_RANGE_SAME.
    Status(i32),
    Sigbus,
    /// A write that wrote fewer bytes than asked (checked as a failure: old or new bytes).
    Short(i64),
}

impl Outcome {
    fn label(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Err(e) => errname(*e),
            Outcome::Status(s) if *s < 0 => format!("status {}", errname(-s)),
            Outcome::Status(s) => format!("status {s}"),
            Outcome::Sigbus => "SIGBUS".into(),
            Outcome::Short(n) => format!("short write of {n}"),
        }
    }
}

static CHILD_PIPE: AtomicI32 = AtomicI32::new(-1);
static CHILD_FAILNTH: AtomicI32 = AtomicI32::new(-1);

/// Reports from the child after its store or its SIGBUS: one byte (S or B) and whether the
/// failure was injected (1 or 0).  Only async-signal-safe calls.
fn child_report(kind: u8) -> ! {
    let mut buf = [0u8; 16];
    let fd = CHILD_FAILNTH.load(Ordering::Relaxed);
    // SAFETY: buf is writable for its length; pread is async-signal-safe.
    let r = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    let injected = r > 0 && parse_u32(&buf[..r as usize]) == 0;
    let msg = [kind, if injected { b'1' } else { b'0' }];
    // SAFETY: msg is two bytes; write and _exit are async-signal-safe.
    unsafe {
        libc::write(CHILD_PIPE.load(Ordering::Relaxed), msg.as_ptr().cast(), 2);
        libc::_exit(0)
    }
}

extern "C" fn on_sigbus(_sig: libc::c_int) {
    child_report(b'B');
}

/// The store of Op::Fault, in a child so that SIGBUS ends only the child.  The child arms its
/// own fail-nth: the count belongs to a task, and fork clears it.
fn fault_in_child(map: *mut u8, off: usize, byte: u8, n: u32) -> (Outcome, bool) {
    let mut p = [0i32; 2];
    // SAFETY: p has room for two fds.
    assert!(unsafe { libc::pipe(p.as_mut_ptr()) } == 0, "pipe");
    // SAFETY: the child only calls async-signal-safe functions and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let f = FailNth::open();
        CHILD_PIPE.store(p[1], Ordering::Relaxed);
        CHILD_FAILNTH.store(f.0, Ordering::Relaxed);
        let handler: extern "C" fn(libc::c_int) = on_sigbus;
        // SAFETY: a handler that only makes async-signal-safe calls.
        unsafe { libc::signal(libc::SIGBUS, handler as libc::sighandler_t) };
        f.arm(n);
        // The store is volatile so that it is not elided.
        // SAFETY: map is a live MAP_SHARED PROT_WRITE mapping of SIZE bytes and off < SIZE.
        unsafe { map.add(off).write_volatile(byte) };
        child_report(b'S');
    }
    let mut msg = [0u8; 2];
    // SAFETY: msg is writable; p[0] is the read end.
    let r = unsafe { libc::read(p[0], msg.as_mut_ptr().cast(), 2) };
    let mut status = 0;
    // SAFETY: pid is our child; fds are ours.
    unsafe {
        libc::waitpid(pid, &mut status, 0);
        libc::close(p[0]);
        libc::close(p[1]);
    }
    assert!(
        r == 2,
        "the fault child reported nothing (status {status:#x})"
    );
    let outcome = if msg[0] == b'S' {
        Outcome::Ok
    } else {
        Outcome::Sigbus
    };
    (outcome, msg[1] == b'1')
}

fn module_loaded() -> bool {
    fs::read_to_string("/proc/modules")
        .map(|m| m.lines().any(|l| l.starts_with("daxcow ")))
        .unwrap_or(false)
}

fn unload() -> Result<(), String> {
    let name = cstr("daxcow");
    // SAFETY: a valid module name; the result is checked.
    if unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) } != 0 {
        return Err(format!("delete_module: {}", errname(errno())));
    }
    Ok(())
}

/// One armed run of `op`: (outcome, injected).
fn armed(
    op: Op,
    files: &Files,
    f: &FailNth,
    n: u32,
    map: *mut u8,
    ko: libc::c_int,
) -> (Outcome, bool) {
    let (_, off, len, byte) = op.target();
    let buf = [byte.unwrap_or(0); 256];
    let mut dedupe = [0u64; 7];
    if op == Op::Dedupe {
        // struct file_dedupe_range with one file_dedupe_range_info: a[0..SIZE] onto c.
        dedupe[1] = SIZE as u64;
        dedupe[2] = 1; // dest_count
        dedupe[3] = files.fds[2] as u64; // dest_fd
    }
    let empty = cstr("");
    if op == Op::Fault {
        return fault_in_child(map, off, byte.unwrap_or(0), n);
    }
    f.arm(n);
    // -1 with errno, or what the call returned.
    let rc: i64 = match op {
        // SAFETY: fd 1 is open; buf holds at least `len` (100) bytes.
        Op::Write => unsafe {
            libc::pwrite(files.fds[1], buf.as_ptr().cast(), len, off as i64) as i64
        },
        // SAFETY: fd 1 is open; fallocate only reads its arguments.
        Op::Zero => unsafe {
            libc::fallocate(
                files.fds[1],
                FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                off as i64,
                len as i64,
            )
            .into()
        },
        // SAFETY: as for Zero.
        Op::Unshare => unsafe {
            libc::fallocate(
                files.fds[1],
                FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE,
                0,
                SIZE as i64,
            )
            .into()
        },
        // `dedupe` is a struct file_dedupe_range with room for the one info the kernel writes.
        // SAFETY: fd 0 is open; `dedupe` is valid for the struct's 56 bytes.
        Op::Dedupe => unsafe {
            libc::ioctl(files.fds[0], FIDEDUPERANGE, dedupe.as_mut_ptr()).into()
        },
        // SAFETY: ko is an open module file; the parameter string is a valid empty C string.
        Op::Load => unsafe { libc::syscall(libc::SYS_finit_module, ko, empty.as_ptr(), 0) },
        Op::Fault => unreachable!(),
    };
    let e = errno();
    let injected = f.disarm();
    let outcome = match rc {
        -1 => Outcome::Err(e),
        0 if op == Op::Dedupe => {
            // info.status is the i32 at byte 48.
            let status = (dedupe[6] & 0xffff_ffff) as u32 as i32;
            if status == 0 && dedupe[5] == SIZE as u64 {
                Outcome::Ok
            } else {
                Outcome::Status(status)
            }
        }
        w if op == Op::Write && w != len as i64 => Outcome::Short(w),
        _ => Outcome::Ok,
    };
    (outcome, injected)
}

/// The invariants after one run; Err names the first one broken.
fn check(
    op: Op,
    files: &Files,
    outcome: &Outcome,
    pat: &[u8],
    got: &mut [u8],
) -> Result<(), String> {
    if op == Op::Load {
        let loaded = module_loaded();
        let stats = fs::metadata("/sys/kernel/debug/daxcow/stats").is_ok();
        // A module that loaded must be there; its debugfs file may not be: like every kernel
        // user of debugfs, daxcow ignores a debugfs failure.  A load that failed must leave
        // neither the module nor the file behind.
        return match (outcome, loaded, stats) {
            (Outcome::Ok, true, _) => unload(),
            (Outcome::Ok, false, _) => Err("finit_module succeeded, no module listed".into()),
            (_, false, false) => Ok(()),
            _ => Err(format!(
                "failed load left loaded: {loaded}, debugfs stats: {stats}"
            )),
        };
    }
    let (target, off, len, byte) = op.target();
    for i in 0..3 {
        files.read(i, got)?;
        for (k, (&g, &old)) in got.iter().zip(pat).enumerate() {
            let inside = i == target && (off..off + len).contains(&k);
            let new = byte.filter(|_| inside);
            let good = match (outcome, new) {
                (Outcome::Ok, Some(n)) => g == n,
                (_, Some(n)) => g == old || g == n,
                (_, None) => g == old,
            };
            if !good {
                return Err(format!(
                    "{}: byte {k} is {g:#04x} (old {old:#04x}, new {new:?}) after {}",
                    files.path(i),
                    outcome.label()
                ));
            }
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: failnth DEV MNT [KO]");
        std::process::exit(2);
    }
    let mut files = Files {
        dev: args[1].clone(),
        mnt: args[2].clone(),
        fds: [-1; 3],
    };
    let ko_path = args.get(3);
    let pat = pattern();
    let mut got = vec![0u8; SIZE];
    let f = FailNth::open();
    let mut bad = 0;
    let mut ops = vec![Op::Write, Op::Fault, Op::Zero, Op::Unshare, Op::Dedupe];
    let mut ko = -1;
    if let Some(path) = ko_path {
        let p = cstr(path);
        // SAFETY: a valid path; the result is checked.
        ko = unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        assert!(ko >= 0, "open {path}");
        ops.push(Op::Load);
    }
    let mut shutdowns = 0;
    for op in ops {
        if op == Op::Load && module_loaded() {
            unload().expect("unload daxcow before the load runs");
        }
        let mut tally: Vec<(String, u32)> = Vec::new();
        let mut reached = None;
        for n in 1..=MAX_N {
            if let Err(e) = files.fresh(&pat) {
                // An injected failure may shut the file system down: say so, recover, go on.
                println!(
                    "  {}: N={n}: file system refused after the last run ({e}); remounting",
                    op.name()
                );
                shutdowns += 1;
                files.remount();
                files.fresh(&pat).expect("fresh files after remount");
            }
            // SAFETY: fd 1 is open and SIZE long; checked below.
            let map = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    SIZE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    files.fds[1],
                    0,
                )
            };
            assert!(map != libc::MAP_FAILED, "mmap b");
            let (outcome, injected) = armed(op, &files, &f, n, map.cast(), ko);
            // SAFETY: mapped above, unmapped once.
            unsafe { libc::munmap(map, SIZE) };
            let debugfs_seen = fs::metadata("/sys/kernel/debug/daxcow/stats").is_ok();
            if let Err(e) = check(op, &files, &outcome, &pat, &mut got) {
                println!("BAD: {} with allocation {n} failed: {e}", op.name());
                bad += 1;
            }
            if !injected {
                if outcome != Outcome::Ok {
                    println!(
                        "BAD: {} failed with {} and no failure injected",
                        op.name(),
                        outcome.label()
                    );
                    bad += 1;
                }
                reached = Some(n - 1);
                break;
            }
            let mut label = outcome.label();
            if op == Op::Load && outcome == Outcome::Ok && !debugfs_seen {
                label.push_str(" without debugfs stats");
            }
            match tally.iter_mut().find(|(l, _)| *l == label) {
                Some((_, c)) => *c += 1,
                None => tally.push((label, 1)),
            }
        }
        let Some(points) = reached else {
            println!(
                "BAD: {}: still allocating after {MAX_N} injected failures",
                op.name()
            );
            bad += 1;
            continue;
        };
        tally.sort();
        let counted: Vec<String> = tally.iter().map(|(l, c)| format!("{l} x{c}")).collect();
        let kinds: Vec<&str> = tally.iter().map(|(l, _)| l.as_str()).collect();
        let or_none = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        // The number of allocations an operation makes varies by one or two from run to run
        // (XFS's log and buffer state), so only the kinds of outcome are for comparing; the
        // indented line has the counts.
        println!(
            "  {}: {points} allocations failed one at a time; outcomes: {}",
            op.name(),
            or_none(&counted)
        );
        println!(
            "{}: outcomes of a failed allocation: {}",
            op.name(),
            or_none(&kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>())
        );
    }
    if ko >= 0 && !module_loaded() {
        // Leave the module loaded, as the caller had it.
        let empty = cstr("");
        // SAFETY: ko is open; the parameter string is a valid empty C string.
        if unsafe { libc::syscall(libc::SYS_finit_module, ko, empty.as_ptr(), 0) } != 0 {
            println!(
                "BAD: loading daxcow without injection: {}",
                errname(errno())
            );
            bad += 1;
        }
    }
    files.close();
    println!("file system shutdowns: {shutdowns}");
    std::process::exit(if bad == 0 { 0 } else { 1 });
}
