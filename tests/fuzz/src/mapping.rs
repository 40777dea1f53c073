//! Shared mappings of the files under test: held across steps (`MapOpen`), or made for one
//! step (an mmap store, a racing step).  Every access to the mapped bytes goes through
//! [`Mapping`], which checks it against the mapping's bounds, so the fuzzer's steps are safe
//! code whatever offsets a generated or shrunk trace gives them.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// A `MAP_SHARED` read-write mapping of `len` bytes of file `f` from offset `off`, unmapped
/// when dropped.
///
/// The mapped bytes are reached only by raw copies and atomic word stores, never through a
/// Rust reference, so that stores by another process sharing the mapping (the child of a
/// racing step, which inherits it across `fork()`) break no aliasing rule.  A byte past the
/// file's EOF raises SIGBUS when touched: that ends the fuzzer (a signal, not undefined
/// behaviour), and callers stay inside the model's file size to avoid it.
///
/// # Invariants
///
/// `addr` is the start of a live mapping of `len` bytes (`len > 0`) with read and write
/// access, made by [`Mapping::new`] and unmapped only by `drop`.
pub struct Mapping {
    addr: NonNull<u8>,
    len: usize,
    /// The file mapped (its index among the fuzzer's files).
    pub f: usize,
    /// The file offset of the mapping's first byte.
    pub off: u64,
}

impl Mapping {
    /// Maps `len` bytes of `fd` (file `f`) from `off`, shared and read-write.
    pub fn new(fd: libc::c_int, f: usize, off: u64, len: u64) -> io::Result<Self> {
        let bad = || io::Error::from_raw_os_error(libc::EINVAL);
        let ulen = usize::try_from(len).map_err(|_| bad())?;
        let foff = libc::off_t::try_from(off).map_err(|_| bad())?;
        if ulen == 0 {
            return Err(bad());
        }
        // SAFETY: a new mapping at an address the kernel picks (no hint, no MAP_FIXED), so no
        // existing memory changes; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ulen,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                foff,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let addr = NonNull::new(p.cast::<u8>()).ok_or_else(bad)?;
        // INVARIANT: mmap() returned a new read-write mapping of `ulen` > 0 bytes at `addr`;
        // only `drop` unmaps it.
        Ok(Self {
            addr,
            len: ulen,
            f,
            off,
        })
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> u64 {
        self.len as u64
    }

    /// A pointer to byte `at` of the mapping, if `[at, at + len)` lies inside it.
    fn ptr(&self, at: u64, len: u64) -> Option<*mut u8> {
        let end = at.checked_add(len)?;
        if end > self.len as u64 {
            return None;
        }
        // SAFETY: `at <= end <= self.len`: the result is inside the mapping (by the type
        // invariant, one allocation of `self.len` bytes) or one past its end.
        Some(unsafe { self.addr.as_ptr().add(at as usize) })
    }

    /// Stores `byte` into bytes `[at, at + len)` of the mapping; false, storing nothing, if
    /// that range is not inside the mapping.
    pub fn fill(&self, at: u64, len: u64, byte: u8) -> bool {
        let Some(p) = self.ptr(at, len) else {
            return false;
        };
        // SAFETY: `[p, p + len)` is inside the live, writable mapping (ptr() and the type
        // invariant), and no Rust reference to the mapped bytes exists.
        unsafe { std::ptr::write_bytes(p, byte, len as usize) };
        true
    }

    /// A copy of bytes `[at, at + len)` of the mapping, if that range is inside it.
    pub fn read(&self, at: u64, len: u64) -> Option<Vec<u8>> {
        let p = self.ptr(at, len)?;
        let mut out = vec![0u8; len as usize];
        // SAFETY: `[p, p + len)` is inside the live, readable mapping (ptr() and the type
        // invariant); `out` is a separate allocation of `len` bytes.
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) };
        Some(out)
    }

    /// Stores `byte` repeated into the 8-byte words of `[at, at + len)`, in ascending order,
    /// one atomic store per word, `pace` busy-wait iterations apart: the other process of a
    /// racing step stores into the same words at the same time.  False, storing nothing, if
    /// the range is not inside the mapping or not made of whole aligned words.
    pub fn store_words(&self, (at, len, byte): (u64, u64, u8), pace: u32) -> bool {
        if at % 8 != 0 || len % 8 != 0 {
            return false;
        }
        let Some(p) = self.ptr(at, len) else {
            return false;
        };
        let v = u64::from_ne_bytes([byte; 8]);
        for w in (0..len as usize).step_by(8) {
            for _ in 0..pace {
                std::hint::spin_loop();
            }
            // SAFETY: `p + w` is a word inside the live mapping (ptr()), 8-byte aligned (the
            // mapping is page-aligned and `at` and `w` are multiples of 8); while a racing
            // step runs, its words are accessed only atomically, by both processes.
            let word = unsafe { AtomicU64::from_ptr(p.add(w).cast::<u64>()) };
            word.store(v, Ordering::Relaxed);
        }
        true
    }

    /// msync(MS_SYNC) of the whole mapping.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: the whole live mapping (type invariant); msync changes no memory.
        if unsafe { libc::msync(self.addr.as_ptr().cast(), self.len, libc::MS_SYNC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is live and this is its only unmapping (type invariant); no
        // pointer into it outlives `self` (every access is inside a method).
        unsafe { libc::munmap(self.addr.as_ptr().cast(), self.len) };
    }
}
