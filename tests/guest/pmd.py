#!/usr/bin/env python3
"""PMD copy-on-write faults under concurrency, and their fallbacks to 4 KiB.

    pmd.py MNT

MNT is a reflink XFS mounted dax=always whose mkfs gave every inode 2 MiB extent and CoW
extent size hints over a 2 MiB stripe unit, so a file written whole is made of 2 MiB-aligned
extents.  Prints one line per result (the daxcow counters where daxcow is loaded):

- four processes store at once into the same shared 2 MiB of a clone, through mappings of
  their own, each after a common start signal: one PMD CoW fault copies the 2 MiB, the others
  find it done or fault after it; every store and every old byte must be there;
- a store in the last 2 MiB of a file whose end falls inside it: no PMD is possible, the fault
  falls back to a 4 KiB CoW;
- a store in a 2 MiB whose old data is two extents that are not contiguous: no PMD either.
"""

import fcntl
import mmap
import os
import random
import subprocess
import sys

from cowlib import daxcow_stats

FICLONE = 0x40049409
MiB = 1 << 20
mnt = sys.argv[1]


def counted(before, after):
    if not before or not after:
        return None
    return "pmd %d, pte %d" % (after["cow_fault_pmd"] - before["cow_fault_pmd"],
                               after["cow_fault_pte"] - before["cow_fault_pte"])


def pair(name, size, data):
    """File NAME of `data`, fsynced, and its clone NAME.c: (fd of the clone, expected bytes)."""
    src = os.path.join(mnt, name)
    fd = os.open(src, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, size)
    os.fsync(fd)
    c = os.open(src + ".c", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(c, FICLONE, fd)
    os.fsync(c)
    os.close(fd)
    return c, bytearray(data[:size].ljust(size, b"\0"))


def check(name, fd, want):
    got = os.pread(fd, len(want) + 1, 0)
    print("%s: clone holds every store and every old byte: %s" % (name, got == bytes(want)))
    with open(os.path.join(mnt, name), "rb") as f:
        src = f.read()
    print("%s: source untouched: %s" % (name, src == bytes(want_src[name])))


want_src = {}
rnd = random.Random(5)

# Concurrent PMD CoW faults on one shared 2 MiB.
data = rnd.randbytes(4 * MiB)
want_src["conc"] = data
c, want = pair("conc", 4 * MiB, data)
offsets = [100, 512 * 1024 + 7, MiB + 4096 * 3, 2 * MiB - 1]
r, w = os.pipe()
before = daxcow_stats()
kids = []
for i, off in enumerate(offsets):
    pid = os.fork()
    if pid == 0:
        m = mmap.mmap(c, 2 * MiB, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        os.close(w)
        os.read(r, 1)   # all start together when the pipe closes
        m[off] = 0xA0 + i
        m.close()
        os._exit(0)
    kids.append(pid)
    want[off] = 0xA0 + i
os.close(r)
os.close(w)
ok = all(os.waitpid(p, 0)[1] == 0 for p in kids)
print("concurrent: four writers exited cleanly: %s" % ok)
print("concurrent: faults %s" % counted(before, daxcow_stats()))
check("conc", c, want)
os.close(c)

# EOF inside the last 2 MiB: 3 MiB file, store at 2.5 MiB.
data = rnd.randbytes(3 * MiB)
want_src["eof"] = data
c, want = pair("eof", 3 * MiB, data)
before = daxcow_stats()
m = mmap.mmap(c, 3 * MiB, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
m[2 * MiB + MiB // 2] = 0x5A
want[2 * MiB + MiB // 2] = 0x5A
m.close()
print("eof: faults %s" % counted(before, daxcow_stats()))
check("eof", c, want)
os.close(c)

# Two extents that are not contiguous under one 2 MiB: no size hint on this file, and another
# file's block allocated between its two halves.
src = os.path.join(mnt, "split")
open(src, "w").close()
subprocess.run(["xfs_io", "-c", "extsize 0", src], check=True)
data = rnd.randbytes(2 * MiB)
want_src["split"] = data
fd = os.open(src, os.O_RDWR)
os.pwrite(fd, data[:MiB], 0)
os.fsync(fd)
with open(os.path.join(mnt, "wedge"), "wb") as f:
    f.write(b"w" * 4096)
    f.flush()
    os.fsync(f.fileno())
os.pwrite(fd, data[MiB:], MiB)
os.fsync(fd)
os.close(fd)
c = os.open(src + ".c", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
fcntl.ioctl(c, FICLONE, os.open(src, os.O_RDONLY))
os.fsync(c)
want = bytearray(data)
ext = subprocess.run(["xfs_io", "-r", "-c", "fiemap", src], capture_output=True, text=True).stdout
print("split: the source's 2 MiB is more than one extent: %s" % (ext.count(":") - 1 > 1))
before = daxcow_stats()
m = mmap.mmap(c, 2 * MiB, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[MiB + 17] = 0x33
want[MiB + 17] = 0x33
m.close()
print("split: faults %s" % counted(before, daxcow_stats()))
check("split", c, want)
os.close(c)
