#!/usr/bin/env python3
"""The writer side of the device-removal test (devremove.sh).

    devremove.py setup MNT      make a (8 MiB pattern), clone it to b, overwrite b's first MiB
                                through CoW and fsync it: the state that must survive
    devremove.py write MNT      CoW-write b through mmap and pwrite until the device goes away;
                                prints "writing" once it has started, then how it ended
    devremove.py verify MNT     after rebind and remount: does everything fsynced survive?
"""

import errno
import fcntl
import mmap
import os
import random
import sys

MIB = 1 << 20
SIZE = 8 * MIB
FICLONE = 0x40049409

cmd, mnt = sys.argv[1], sys.argv[2]
a_path, b_path = os.path.join(mnt, "a"), os.path.join(mnt, "b")


def pattern(off, n):
    """Bytes of a at [off, off + n): the 4 KiB block number, repeated, mod 251."""
    out = bytearray()
    while len(out) < n:
        blk = (off + len(out)) // 4096
        take = min(n - len(out), 4096 - (off + len(out)) % 4096)
        out += bytes([blk % 251]) * take
    return bytes(out)


if cmd == "setup":
    a = os.open(a_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(a, pattern(0, SIZE), 0)
    os.fsync(a)
    b = os.open(b_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(b, FICLONE, a)
    # An unaligned CoW write (head and tail copied from a), made durable before the removal.
    os.pwrite(b, b"S" * (MIB - 100), 50)
    os.fsync(b)
    print("setup: done")

elif cmd == "write":
    b = os.open(b_path, os.O_RDWR)
    m = mmap.mmap(b, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    rng = random.Random(1)
    print("writing", flush=True)
    n = 0
    try:
        while True:
            # Stores into blocks still shared with a (past the first MiB): CoW faults.
            off = rng.randrange(MIB, SIZE - 1)
            m[off] = 0x57
            n += 1
            if n % 64 == 0:
                os.pwrite(b, b"W" * 100, rng.randrange(MIB, SIZE - 100))
    except OSError as e:
        print("write: ended by %s" % errno.errorcode.get(e.errno, str(e.errno)), flush=True)
        sys.exit(0)

elif cmd == "verify":
    with open(a_path, "rb") as f:
        print("verify: a intact: %s" % (f.read() == pattern(0, SIZE)))
    with open(b_path, "rb") as f:
        head = f.read(MIB)
    want = bytearray(pattern(0, MIB))
    want[50:MIB - 50] = b"S" * (MIB - 100)
    print("verify: b's fsynced first MiB intact: %s" % (head == bytes(want)))
