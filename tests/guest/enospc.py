#!/usr/bin/env python3
"""CoW into a full file system (failure paths, case 5).

    enospc.py MNT

File a (16 blocks, a different byte per block) is cloned to b, then a filler file takes every
free block.  A write into b's shared blocks now needs a block that does not exist: each CoW
path must fail cleanly and leave b as it was.  After the filler is removed the same writes
work.  Prints `case: outcome` lines; the caller compares them between engines.
"""

import errno
import mmap
import os
import signal
import sys

from cowlib import (BLOCK, FALLOC_FL_KEEP_SIZE, FALLOC_FL_UNSHARE_RANGE, block_bytes, fallocate,
                    outcome, reflinked_pair)

BLOCKS = 16

mnt = sys.argv[1]


def b_unchanged(b):
    return all(os.pread(b, BLOCK, k * BLOCK) == block_bytes(k) for k in range(BLOCKS))


def store_in_child(path, off):
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_RDWR)
        m = mmap.mmap(fd, BLOCKS * BLOCK, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        m[off] = 0x7A
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    return ("killed by " + signal.Signals(os.WTERMSIG(st)).name) if os.WIFSIGNALED(st) \
        else "exit %d" % os.WEXITSTATUS(st)


a_path, b_path = os.path.join(mnt, "a"), os.path.join(mnt, "b")
a, b = reflinked_pair(a_path, b_path, BLOCKS)

# Fill the file system: big preallocations first, then single blocks until none is left.
filler_path = os.path.join(mnt, "filler")
filler = os.open(filler_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
end = 0
step = os.statvfs(mnt).f_bavail * BLOCK
while step >= BLOCK:
    try:
        fallocate(filler, 0, end, step)
        end += step
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        step //= 2
os.fsync(filler)
print("file system full: %s" % (outcome(lambda: fallocate(filler, 0, end, BLOCK)) == "ENOSPC"))

print("unaligned write into shared b: %s" % outcome(lambda: os.pwrite(b, b"z" * 100, 4 * BLOCK + 50)))
print("b unchanged after the failed write: %s" % b_unchanged(b))
print("mmap store into shared b: %s" % store_in_child(b_path, 5 * BLOCK + 7))
print("b unchanged after the failed fault: %s" % b_unchanged(b))
print("unshare b: %s" % outcome(
    lambda: fallocate(b, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 0, BLOCKS * BLOCK)))
print("b unchanged after the failed unshare: %s" % b_unchanged(b))

os.close(filler)
os.unlink(filler_path)
os.sync()
print("after freeing space, unaligned write: %s" % outcome(lambda: os.pwrite(b, b"z" * 100, 4 * BLOCK + 50)))
want = bytearray(block_bytes(4))
want[50:150] = b"z" * 100
print("the write landed with the old head and tail: %s" % (os.pread(b, BLOCK, 4 * BLOCK) == bytes(want)))
print("after freeing space, mmap store: %s" % store_in_child(b_path, 5 * BLOCK + 7))
print("after freeing space, unshare: %s" % outcome(
    lambda: fallocate(b, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 0, BLOCKS * BLOCK)))
print("a unchanged throughout: %s" % all(
    os.pread(a, BLOCK, k * BLOCK) == block_bytes(k) for k in range(BLOCKS)))
