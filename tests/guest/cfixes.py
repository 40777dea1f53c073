#!/usr/bin/env python3
"""Regression cases for the C fix patches (patches/0005, 0007 to 0010), run by cfixes.sh
under each engine.  Prints one line per result, the same under an engine that gets it right.

usage: cfixes.py DEV MNT SEED

DEV is a pmem device this script may format; MNT its mount point.
"""
import ctypes
import mmap
import os
import random
import subprocess
import sys

from cowlib import fiemap

dev, mnt, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(seed)
FIEMAP_EXTENT_UNWRITTEN = 0x800
FIEMAP_EXTENT_SHARED = 0x2000


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def mount():
    sh("mount", "-o", "dax=always", dev, mnt)


def umount():
    sh("umount", mnt)


def path(name):
    return os.path.join(mnt, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)
        os.fsync(f.fileno())


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def dedupe(src, dst, length):
    """FIDEDUPERANGE of `length` bytes at 0: 'same N' or 'differs' (xfs_io's report)."""
    r = subprocess.run(["xfs_io", "-c", "dedupe %s 0 0 %d" % (path(src), length), path(dst)],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    if "did not match" in out:
        return "differs"
    if "deduped" in out:
        return "same " + out.split("deduped ")[1].split("/")[0]
    return "error: " + out.strip()


sh("mkfs.xfs", "-f", "-q", "-m", "reflink=1", dev)
mount()

# --- A write(2) into a shared extent whose copy from user space stops after 3000 of 5000
#     bytes (patches/0005): only those 3000 bytes may change.
old = bytes(rng.getrandbits(8) for _ in range(64 << 10))
write("s", old)
sh("cp", "--reflink=always", path("s"), path("s.c"))
got = subprocess.run(["python3", os.path.join(here, "shortwrite.py"), path("s.c"), "100", "5000",
                      "3000"], capture_output=True, text=True).stdout.strip()
print("short write: returned %s" % got)
now = read("s.c")
n = int(got) if got.lstrip("-").isdigit() and int(got) > 0 else 0
want = old[:100] + b"X" * n + old[100 + n:]
print("short write: bytes it did not store keep the old data: %s" % (now == want))
if now != want:
    bad = [i for i in range(len(now)) if now[i] != want[i]]
    print("  (bytes %d to %d differ)" % (bad[0], bad[-1]))

# --- FIDEDUPERANGE against an unwritten extent whose blocks hold stale data (patches/0007).
#     The stale data is put there the way freed blocks get it: written to the device under
#     the extent while the file system is unmounted.
length = 256 << 10
stale = bytes(rng.getrandbits(8) for _ in range(length))
sh("xfs_io", "-f", "-c", "falloc 0 %d" % length, path("u"))
sh("xfs_io", "-f", "-c", "falloc 0 %d" % length, path("u0"))
sh("sync")
with open(path("u"), "rb") as f:
    u_ext = fiemap(f.fileno())
with open(path("u0"), "rb") as f:
    u0_ext = fiemap(f.fileno())
unwritten = all(e[3] & FIEMAP_EXTENT_UNWRITTEN for e in u_ext + u0_ext)
print("dedupe: the destinations are unwritten: %s" % unwritten)
umount()
fd = os.open(dev, os.O_RDWR)
for ext in (u_ext, u0_ext):
    for logical, physical, size, _ in ext:
        os.pwrite(fd, stale[logical:logical + size], physical)
os.fsync(fd)
os.close(fd)
mount()
print("dedupe: the destinations read zeroes: %s" % (read("u") == bytes(length) == read("u0")))

# Written data equal to the stale blocks: an unwritten extent reads zeroes, so it differs.
write("p", stale)
print("dedupe data onto an unwritten extent holding the same stale bytes: %s" % dedupe("p", "u", length))
print("dedupe: that destination still reads zeroes: %s" % (read("u") == bytes(length)))
# Written zeroes: the same as an unwritten extent, whatever its blocks hold.
write("z", bytes(length))
print("dedupe zeroes onto an unwritten extent holding stale bytes: %s" % dedupe("z", "u0", length))
print("dedupe: that destination reads zeroes: %s" % (read("u0") == bytes(length)))


def extents(name, start, end):
    """The FIEMAP extents of file `name` that overlap [start, end)."""
    with open(path(name), "rb") as f:
        return [e for e in fiemap(f.fileno()) if e[0] < end and start < e[0] + e[2]]


def short_write(name, off, length, valid):
    """What shortwrite.py's pwrite of `length` bytes, only `valid` of them readable, returned."""
    return subprocess.run(["python3", os.path.join(here, "shortwrite.py"), path(name), str(off),
                           str(length), str(valid)], capture_output=True, text=True).stdout.strip()


# --- A short write into a shared extent, then a punch over what it did not store
#     (patches/0009).  The write converts the COW blocks of its whole mapping and remaps only
#     the block it stored into; 7.3's xfs_dax_write_iomap_end() then ended COW over the hole
#     the punch's zeroing pass skipped, mapping the leftover blocks, and whatever they held,
#     into it.
write("h", bytes([0x11]) * (256 << 10))
sh("cp", "--reflink=always", path("h"), path("h.c"))
print("short write, then a punch: the write returned %s" % short_write("h", 0, 64 << 10, 100))
sh("xfs_io", "-c", "fpunch 4096 61440", path("h"))
left = extents("h", 4096, 64 << 10)
print("short write, then a punch: the punched range is a hole: %s" % (not left))
if left:
    print("  (extents there: %s)" % left)
print("short write, then a punch: the punched range reads zeroes: %s"
      % (read("h")[4096:64 << 10] == bytes(61440)))

# --- FALLOC_FL_UNSHARE_RANGE over an unwritten extent that ends where a shared block starts,
#     and over a hole before one (patches/0010).  7.3 converted the unwritten extent with the
#     length of the whole range, merging it with the shared block, which the unshare then
#     skipped; and allocated the hole as written, zeroed blocks.
for name, first in (("uw", "falloc 0 32k"), ("ho", "truncate 32k")):
    sh("xfs_io", "-f", "-c", first, "-c", "pwrite -S 0x22 32k 4k", "-c", "fsync", path(name))
    sh("xfs_io", "-c", "reflink %s 32768 65536 4096" % path(name), path(name))
    sh("xfs_io", "-c", "funshare 0 36864", path(name))
shared = [e for e in extents("uw", 0, 36864) if e[3] & FIEMAP_EXTENT_SHARED]
print("unshare after an unwritten extent: nothing in the range is still shared: %s" % (not shared))
if shared:
    print("  (shared: %s)" % shared)
# Unsharing through the page cache skips the hole and xfs_falloc_unshare_range() then
# preallocates it, as unwritten blocks: DAX must not write zeroes to it instead.
filled = extents("ho", 0, 32768)
print("unshare over a hole: what fills it is unwritten: %s"
      % all(e[3] & FIEMAP_EXTENT_UNWRITTEN for e in filled))
if not all(e[3] & FIEMAP_EXTENT_UNWRITTEN for e in filled):
    print("  (extents there: %s)" % filled)
print("unshare: both files read what they held: %s"
      % (read("uw")[:36864] == read("ho")[:36864] == bytes(32768) + b"\x22" * 4096))


def kernel_log():
    return subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()


# --- A write into a shared extent under a mapping whose pages were read after the extent
#     became shared (patches/0008).  Those faults give the folios a share count; the write's
#     invalidation of the range takes the last share while the page is still mapped, and 7.3
#     warned in dax_disassociate_entry() (once per boot: under the second engine it cannot
#     show, but qemu/run fails the boot on it anyway).
before = len(kernel_log())
write("m", bytes(rng.getrandbits(8) for _ in range(16 << 10)))
sh("cp", "--reflink=always", path("m"), path("m.c"))
fd = os.open(path("m"), os.O_RDWR)
view = mmap.mmap(fd, 16 << 10, mmap.MAP_SHARED, mmap.PROT_READ)
sum(view[i] for i in range(0, 16 << 10, 4096))  # fault every page of the shared extent in
os.pwrite(fd, b"Y" * 100, 4096 + 10)
seen = view[4096 + 10:4096 + 110] == b"Y" * 100
view.close()
os.close(fd)
warned = [line for line in kernel_log()[before:] if "dax_disassociate_entry" in line]
print("mapped write into a shared extent: the mapping shows the write: %s" % seen)
print("mapped write into a shared extent: no warning from dax_disassociate_entry: %s"
      % (not warned))
if warned:
    print("  (%s)" % warned[0].strip())
umount()
