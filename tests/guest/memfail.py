#!/usr/bin/env python3
"""Memory failure on a DAX page that two reflinked files share, mapped by two processes.

    memfail.py MNT TAG

MNT is a fresh reflink + rmapbt XFS mounted dax=always.  File a (16 blocks, a different byte per
block) is cloned to b.  One child maps a, the other maps b; both read the shared block at file
offset 4096, so both map the same pmem page.  The first child then injects a memory failure on
that page with madvise(MADV_HWPOISON).  XFS learns of it through the DAX holder (reverse map:
both files own the block) and memory_failure() signals every process that maps it.  Each case
prints one line `TAG: case: outcome`; the caller runs this under both engines and compares.
Which processes memory_failure() signals depends on vm.memory_failure_early_kill, which the
caller sets: with it off, only the process that touched the page (here: the injector); with it
on, every process that maps the page.  TAG names the files, so a second run on the same file
system uses other blocks.
"""

import ctypes
import errno
import mmap
import os
import signal
import sys
import time

from cowlib import BLOCK, reflinked_pair

BLOCKS = 16
SHARED = 1
MADV_HWPOISON = 100

mnt, tag = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def byte_of(block):
    return 0x41 + block


def child(path, poison, ready_w, go_r):
    """Map PATH, read the shared block, report ready, wait; then poison it or just sleep."""
    fd = os.open(path, os.O_RDWR)
    m = mmap.mmap(fd, BLOCKS * BLOCK, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    ok = m[SHARED * BLOCK] == byte_of(SHARED)
    os.write(ready_w, b"1" if ok else b"0")
    os.read(go_r, 1)
    if poison:
        addr = ctypes.addressof(ctypes.c_char.from_buffer(m, SHARED * BLOCK))
        if libc.madvise(addr, BLOCK, MADV_HWPOISON) != 0:
            os._exit(10 + ctypes.get_errno())
        # Still alive: touch the page the way a program would after the failure.
        _ = m[SHARED * BLOCK]
        os._exit(0)
    # The process that did not inject: wait to be told (or not) about the failure.
    time.sleep(10)
    _ = m[SHARED * BLOCK]
    os._exit(0)


def spawn(path, poison):
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child(path, poison, ready_w, go_r)
        finally:
            os._exit(3)
    return pid, ready_r, go_w


def ended(status):
    if os.WIFSIGNALED(status):
        return "killed by " + signal.Signals(os.WTERMSIG(status)).name
    code = os.WEXITSTATUS(status)
    if code >= 10:
        return "madvise failed: " + errno.errorcode.get(code - 10, str(code - 10))
    return "exit %d" % code


a_path, b_path = os.path.join(mnt, tag + "-a"), os.path.join(mnt, tag + "-b")
a, b = reflinked_pair(a_path, b_path, BLOCKS)
os.close(a)
os.close(b)

bystander, by_ready, by_go = spawn(b_path, poison=False)
injector, in_ready, in_go = spawn(a_path, poison=True)
print(tag + ": both processes read the shared block: %s"
      % (os.read(by_ready, 1) == b"1" and os.read(in_ready, 1) == b"1"))
os.write(by_go, b"g")
os.write(in_go, b"g")
_, st = os.waitpid(injector, 0)
print(tag + ": process that injected the failure on a's page: %s" % ended(st))
_, st = os.waitpid(bystander, 0)
print(tag + ": process that maps the same block through b: %s" % ended(st))

# The rest of the file system keeps working: new files, a write into another shared block of
# b (a CoW copy from a good block), and every other block of both files still reads back.
c = os.open(os.path.join(mnt, tag + "-c"), os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(c, b"c" * BLOCK, 0)
os.fsync(c)
print(tag + ": a new file can be written and read: %s" % (os.pread(c, BLOCK, 0) == b"c" * BLOCK))
os.close(c)
b = os.open(b_path, os.O_RDWR)
try:
    os.pwrite(b, b"z" * 100, 3 * BLOCK + 50)
    want = bytearray([byte_of(3)]) * BLOCK
    want[50:150] = b"z" * 100
    print(tag + ": unaligned write into b's good shared block 3: %s" % (os.pread(b, BLOCK, 3 * BLOCK) == want))
except OSError as e:
    print(tag + ": unaligned write into b's good shared block 3: %s" % errno.errorcode[e.errno])
a = os.open(a_path, os.O_RDONLY)
for name, fd in (("a", a), ("b", b)):
    same = all(os.pread(fd, BLOCK, blk * BLOCK) == bytes([byte_of(blk)]) * BLOCK
               for blk in range(BLOCKS) if blk not in (SHARED, 3))
    print(tag + ": %s: blocks other than %d and 3 unchanged: %s" % (name, SHARED, same))
os.close(a)
os.close(b)
