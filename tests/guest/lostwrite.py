#!/usr/bin/env python3
"""A write fault on a shared page against a pwrite() into the same page, racing: does a
completed pwrite() stay written?

usage: lostwrite.py FILE SECONDS [MODE]

SECONDS is how long the writer runs at least (and at most twelve times as long, until it has
written 10 rounds; in the self mode, SECONDS exactly).

FILE is on XFS mounted -o dax=always with reflink; FILE.clone is made next to it.  The writer
re-shares FILE's blocks with FICLONE (FILE.clone := FILE), so that what follows copies on write,
then pwrite()s the second half of every page of FILE with a new generation number, one
pwrite() per page, and once they have all returned reads every page's second half back.  A
page that does not show that generation is a lost write: nothing but the writer stores to the
second halves, so an older generation there was put back by someone else.  Meanwhile the
faulter, the other process, loops over a shared writable mapping of FILE:

  store     stores one byte at the start of every page: a write fault on a shared page copies
            the page's old contents to a new block, then the store lands (the test);
  read      loads that byte instead: read faults, no copy-on-write (a control);
  disjoint  stores to odd pages only, and the writer writes even pages only (a control).

And one mode without a faulter, for a write whose user buffer is a mapping of the file it writes
(the case a fix that keeps faults out while a write runs must not hang in):

  self      each round re-shares FILE, then pwrite()s all of FILE from a fresh shared mapping
            of all of FILE onto itself, and the first half of FILE from the same mapping onto
            its second half; FILE must then hold what the writes wrote.

On the first lost write both processes stop, the file is fsync()ed and every page read again
(the loss is in the file, not in a mapping); the writer prints the pages.  Run it where the two
processes really run at once (a guest with two parallel vCPUs).

Prints "N writes, M faulter passes", a line "raced: at least 10 writes and 10 faulter passes"
(or "raced: too few ..."), and then either "lost writes: 0" or "lost writes: K pages after write
G returned, still lost after fsync: J", and exits 1 on a lost write.  Mode self prints "N
rounds" and "self writes: all correct" or the first wrong page.
"""
import fcntl
import mmap
import os
import struct
import sys
import time

from cowlib import BLOCK as PAGE, FICLONE
HALF = PAGE // 2
PAGES = 256
# The shared state: stop flag, then the faulter's pass count.
STOP, PASSES = 0, 8


def main():
    path, secs = sys.argv[1], float(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "store"
    if mode not in ("store", "read", "disjoint", "self"):
        sys.exit("unknown mode " + mode)
    if mode == "self":
        self_writes(path, secs)
        return
    size = PAGES * PAGE
    written = range(0, PAGES, 2) if mode == "disjoint" else range(PAGES)
    faulted = range(1, PAGES, 2) if mode == "disjoint" else range(PAGES)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    cfd = os.open(path + ".clone", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    half = bytearray(HALF)

    def write_generation(gen):
        struct.pack_into("<Q", half, 0, gen)
        for p in written:
            if os.pwrite(fd, half, p * PAGE + HALF) != HALF:
                sys.exit("short pwrite")

    def lost_pages(gen):
        out = []
        for p in written:
            got = struct.unpack("<Q", os.pread(fd, 8, p * PAGE + HALF))[0]
            if got != gen:
                out.append((p, got))
        return out

    os.ftruncate(fd, size)
    gen = 1
    write_generation(gen)
    os.fsync(fd)
    shared = mmap.mmap(-1, PAGE)  # anonymous and MAP_SHARED: seen by both processes
    # SECONDS, and longer (up to twelve times as long) until the writer has 10 rounds: a slow
    # kernel (KASAN, lockdep) on a loaded host writes a round in six seconds or more (9 rounds
    # in 60 s measured on the debug kernel beside two other guests).
    start = time.monotonic()
    stop, hard_stop = start + secs, start + 12 * secs
    faulter = os.fork()
    if faulter == 0:
        view = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        passes = 0
        # Until the writer says so, or the hard stop (the writer's own) should it fail first.
        while not struct.unpack_from("<Q", shared, STOP)[0] and time.monotonic() < hard_stop:
            for p in faulted:
                if mode == "read":
                    _ = view[p * PAGE]
                else:
                    view[p * PAGE] = passes & 0xff
            passes += 1
            struct.pack_into("<Q", shared, PASSES, passes)
        os._exit(0)

    writes = 0
    lost = []
    try:
        while True:
            now = time.monotonic()
            if now >= hard_stop or (now >= stop and writes >= 10):
                break
            fcntl.ioctl(cfd, FICLONE, fd)  # share the blocks again: what follows copies on write
            gen += 1
            write_generation(gen)
            writes += 1
            lost = lost_pages(gen)  # every pwrite() of `gen` has returned
            if lost:
                break
    finally:  # a failed write stops the faulter too
        struct.pack_into("<Q", shared, STOP, 1)
    os.waitpid(faulter, 0)
    passes = struct.unpack_from("<Q", shared, PASSES)[0]
    print("%d writes, %d faulter passes (mode %s)" % (writes, passes, mode))
    if writes >= 10 and passes >= 10 or lost:
        print("raced: at least 10 writes and 10 faulter passes")
    else:
        print("raced: too few writes or faulter passes")
    if not lost:
        print("lost writes: 0")
        sys.exit(0)
    os.fsync(fd)
    still = lost_pages(gen)
    print("lost writes: %d pages after write %d returned, still lost after fsync: %d"
          % (len(lost), gen, len(still)))
    for p, got in lost[:5]:
        print("  page %d holds generation %d" % (p, got))
    sys.exit(1)


def self_writes(path, secs):
    """pwrite() from a mapping of the file being written, into shared extents."""
    size = PAGES * PAGE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    cfd = os.open(path + ".clone", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    want = bytearray(size)
    rounds = 0
    stop = time.monotonic() + secs
    while time.monotonic() < stop:
        for p in range(PAGES):
            struct.pack_into("<QQ", want, p * PAGE, rounds, p)
        if os.pwrite(fd, want, 0) != size:
            sys.exit("short pwrite")
        fcntl.ioctl(cfd, FICLONE, fd)
        view = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        whole = memoryview(view)
        # All of the file onto itself, from its own mapping: the write's invalidation unmaps
        # the buffer it copies from.
        if os.pwrite(fd, whole, 0) != size:
            sys.exit("short pwrite of the file onto itself")
        # The first half onto the second half, from the same mapping, shared again.
        fcntl.ioctl(cfd, FICLONE, fd)
        if os.pwrite(fd, whole[:size // 2], size // 2) != size // 2:
            sys.exit("short pwrite of the first half onto the second")
        whole.release()
        view.close()
        want[size // 2:] = want[:size // 2]
        got = os.pread(fd, size, 0)
        if got != want:
            bad = next(p for p in range(PAGES) if got[p * PAGE:(p + 1) * PAGE] !=
                       want[p * PAGE:(p + 1) * PAGE])
            print("%d rounds" % rounds)
            print("self writes: page %d wrong in round %d" % (bad, rounds))
            sys.exit(1)
        rounds += 1
    print("%d rounds" % rounds)
    print("%d pages a round" % PAGES)
    print("self writes: all correct")


main()
