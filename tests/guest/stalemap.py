#!/usr/bin/env python3
"""A shared read mapping against copy-on-write writes of the same file, racing
(tests/guest/stalemap.sh runs it under each engine).

usage: stalemap.py FILE SECONDS [MIB]

Runs SECONDS, and longer (at most six times as long) until the writer has written 10 times
and the reader made 10 passes.

FILE is on XFS mounted -o dax=always with reflink; FILE.clone is made next to it.  The writer
re-shares FILE's blocks with FICLONE (FILE.clone := FILE), so that its next pwrite() copies on
write, then pwrite()s all of FILE with a new generation number at the start of every page, and
publishes that generation once pwrite() has returned.  The reader loops over a shared read-only
mapping of FILE: every write invalidates the range, so its loads fault the pages in again while
writes run.  A page that shows an older generation than one published before the load is a
stale read: the mapping still reaches a block that a completed write replaced (a fault between
the write's invalidation of the range and the file system's remap of it in ->iomap_end mapped
the old block: patches/0014).  The other failure looked for is the reader killed by SIGBUS (a
later fault met that block's entry: patches/0011).  Run it where the two processes really run
at once (a guest with two parallel vCPUs).

Prints "N writes, M reader passes, K stale reads", the first stale pages, and three verdict
lines that are the same on every good run: "stale reads: 0", "reader: never killed" and
"raced: at least 10 writes and 10 reader passes".  Exits 1 on a stale read or a killed reader.
"""
import fcntl
import mmap
import os
import signal
import struct
import sys
import time

FICLONE = 0x40049409
PAGE = 4096
# The shared state: the published generation, the reader's pass and stale counts, the page it
# is reading, and the writer's word to stop.
PUBLISHED, PASSES, STALE, READING, STOP = 0, 8, 16, 24, 32


def main():
    path, secs = sys.argv[1], float(sys.argv[2])
    size = (int(sys.argv[3]) if len(sys.argv) > 3 else 4) << 20
    npages = size // PAGE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    cfd = os.open(path + ".clone", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    buf = bytearray(size)

    def stamp(gen):
        for p in range(npages):
            struct.pack_into("<Q", buf, p * PAGE, gen)

    gen = 1
    stamp(gen)
    if os.pwrite(fd, buf, 0) != size:
        sys.exit("initial write was short")
    os.fsync(fd)
    shared = mmap.mmap(-1, PAGE)  # anonymous and MAP_SHARED: seen by both processes
    struct.pack_into("<Q", shared, PUBLISHED, gen)
    # SECONDS, and longer (up to six times as long) until the writer has written 10 times and
    # the reader made 10 passes: a slow kernel (KASAN, lockdep) or a loaded host reads a pass
    # in seconds.
    start = time.monotonic()
    stop, hard_stop = start + secs, start + 6 * secs
    reader = os.fork()
    if reader == 0:
        view = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        passes = stale = 0
        # Until the writer says so, or the hard stop (the writer's own) should it fail first.
        while not struct.unpack_from("<Q", shared, STOP)[0] and time.monotonic() < hard_stop:
            for p in range(npages):
                want = struct.unpack_from("<Q", shared, PUBLISHED)[0]
                struct.pack_into("<Q", shared, READING, p)
                got = struct.unpack_from("<Q", view, p * PAGE)[0]
                if got < want:
                    stale += 1
                    struct.pack_into("<Q", shared, STALE, stale)
                    if stale <= 5:
                        print("stale: page %d shows generation %d after %d was written"
                              % (p, got, want), flush=True)
            passes += 1
            struct.pack_into("<Q", shared, PASSES, passes)
        os._exit(0)

    writes = 0
    status = None
    try:
        while True:
            now = time.monotonic()
            passes = struct.unpack_from("<Q", shared, PASSES)[0]
            if now >= hard_stop or (now >= stop and writes >= 10 and passes >= 10):
                break
            pid, wstatus = os.waitpid(reader, os.WNOHANG)
            if pid:  # the reader was killed (a fault's SIGBUS) or failed: judged below
                status = wstatus
                break
            fcntl.ioctl(cfd, FICLONE, fd)  # share the blocks again: the next write copies on write
            gen += 1
            stamp(gen)
            n = os.pwrite(fd, buf, 0)
            if n != size:
                sys.exit("pwrite returned %d of %d" % (n, size))
            struct.pack_into("<Q", shared, PUBLISHED, gen)
            writes += 1
    finally:  # a failed write stops the reader too
        struct.pack_into("<Q", shared, STOP, 1)
    if status is None:
        _, status = os.waitpid(reader, 0)
    passes, stale = struct.unpack_from("<QQ", shared, PASSES)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        print("%d writes; the reader was killed by signal %d (%s) reading page %d"
              % (writes, sig, signal.Signals(sig).name,
                 struct.unpack_from("<Q", shared, READING)[0]))
        print("stale reads: %d" % stale)
        print("reader: killed by %s" % signal.Signals(sig).name)
        print(raced(writes, passes))
        sys.exit(1)
    if status != 0:
        sys.exit("reader exited with status %d" % os.waitstatus_to_exitcode(status))
    print("%d writes, %d reader passes, %d stale reads" % (writes, passes, stale))
    print("stale reads: %d" % stale)
    print("reader: never killed")
    print(raced(writes, passes))
    sys.exit(1 if stale else 0)


def raced(writes, passes):
    if writes >= 10 and passes >= 10:
        return "raced: at least 10 writes and 10 reader passes"
    return "raced: too few writes or reader passes"


main()
