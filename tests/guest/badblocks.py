#!/usr/bin/env python3
"""Known bad blocks under a shared extent: every CoW path that needs the bad block fails cleanly.

    badblocks.py MNT DISK

MNT is a fresh reflink XFS mounted dax=always on /dev/DISK.  File a (16 blocks, a different
byte per block) is cloned to b; the block a and b share at file offset 4096 is then marked bad
through /sys/block/DISK/badblocks, the way the pmem driver learns of poison from the platform.
Each case prints one line `case: outcome`; the caller runs this once per engine and compares
the lines, and checks the outcomes it requires.  Nothing here depends on which engine runs.
"""

import errno
import fcntl
import mmap
import os
import signal
import struct
import sys

from cowlib import (BLOCK, FALLOC_FL_KEEP_SIZE, FALLOC_FL_UNSHARE_RANGE, FIDEDUPERANGE,
                    FIEMAP_EXTENT_SHARED, fallocate, fiemap, mark_bad_block, outcome,
                    reflinked_pair)

BLOCKS = 16
BAD = 1  # the shared block that goes bad

mnt, disk = sys.argv[1], sys.argv[2]
a_path, b_path = os.path.join(mnt, "a"), os.path.join(mnt, "b")


def byte_of(block):
    return 0x41 + block


def physical_of(fd, offset):
    for lo, ph, ln, fl in fiemap(fd):
        if lo <= offset < lo + ln:
            return ph + (offset - lo), bool(fl & FIEMAP_EXTENT_SHARED)
    raise SystemExit("no extent at %d" % offset)


def block_ok(fd, block):
    """The block reads back with the byte it was written with (or the read error)."""
    try:
        got = os.pread(fd, BLOCK, block * BLOCK)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    return "same" if got == bytes([byte_of(block)]) * BLOCK else "CHANGED"


def mmap_store_in_child(path, offset):
    """A store through a shared mapping, in a child: how the child ended."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(path, os.O_RDWR)
            m = mmap.mmap(fd, BLOCKS * BLOCK, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            m[offset] = 0x7A
            m.flush()
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return "exit %d" % os.WEXITSTATUS(status)


def dedupe(src_fd, src_off, dst_fd, dst_off, length):
    arg = bytearray(struct.pack("=QQHHL", src_off, length, 1, 0, 0) +
                    struct.pack("=qQQiL", dst_fd, dst_off, 0, 0, 0))
    fcntl.ioctl(src_fd, FIDEDUPERANGE, arg)
    _, _, _, status, _ = struct.unpack_from("=qQQiL", arg, 24)
    bytes_deduped = struct.unpack_from("=Q", arg, 24 + 16)[0]
    if status < 0:
        return "status %s" % errno.errorcode.get(-status, str(status))
    return "status %s, %d bytes" % ("same" if status == 0 else "differs", bytes_deduped)


a, b = reflinked_pair(a_path, b_path, BLOCKS)
phys_a, shared_a = physical_of(a, BAD * BLOCK)
phys_b, shared_b = physical_of(b, BAD * BLOCK)
print("setup: block %d shared by a and b: %s" % (BAD, phys_a == phys_b and shared_a and shared_b))
sector = phys_a // 512
mark_bad_block(disk, phys_a)
with open("/sys/block/%s/badblocks" % disk) as f:
    print("setup: bad range known to the driver: %s" % (f.read().split() == [str(sector), str(BLOCK // 512)]))

# The reads that do not need the bad block still work, the one that does fails.
print("read b's bad block: %s" % block_ok(b, BAD))
# An unaligned write into b that needs the bad block's head and tail to fill the new block.
print("unaligned write into b over the bad block: %s"
      % outcome(lambda: os.pwrite(b, b"\x7a" * 100, BAD * BLOCK + 50)))
print("b still shares the bad block after the failed write: %s" % (physical_of(b, BAD * BLOCK) == (phys_a, True)))
# A write fault through mmap that needs the whole bad block.
print("mmap store into b's bad block: %s" % mmap_store_in_child(b_path, BAD * BLOCK + 10))
print("b still shares the bad block after the failed fault: %s" % (physical_of(b, BAD * BLOCK) == (phys_a, True)))
# Dedupe must read both copies of the block to compare them.
print("dedupe a->b over the bad block: %s"
      % outcome(lambda: dedupe(a, 0, b, 0, 4 * BLOCK)))
# Unshare must copy the bad block into a new one.
print("unshare b over the bad block: %s"
      % outcome(lambda: fallocate(b, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4 * BLOCK)))
print("b still shares the bad block after the failed unshare: %s" % (physical_of(b, BAD * BLOCK) == (phys_a, True)))
# Ranges that do not need the bad block keep working: an unaligned write into another shared
# block of b succeeds (its head and tail come from a good block).
print("unaligned write into b's block 3: %s"
      % outcome(lambda: os.pwrite(b, b"\x7a" * 100, 3 * BLOCK + 50)))
print("unshare b's blocks 8-15: %s"
      % outcome(lambda: fallocate(b, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 8 * BLOCK, 8 * BLOCK)))
# Every block that was not written keeps its bytes, in both files.
for name, fd in (("a", a), ("b", b)):
    print("%s: blocks other than %d and 3: %s" % (name, BAD, sorted(set(
        block_ok(fd, blk) for blk in range(BLOCKS) if blk not in (BAD, 3)))))
want = bytearray([byte_of(3)]) * BLOCK
want[50:150] = b"\x7a" * 100
print("b's block 3 has the write and the old head and tail: %s" % (os.pread(b, BLOCK, 3 * BLOCK) == want))
print("a's block 3 is untouched: %s" % block_ok(a, 3))
os.close(a)
os.close(b)
print("bad sector range: %d %d" % (sector, BLOCK // 512))
