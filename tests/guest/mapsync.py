#!/usr/bin/env python3
"""Write faults through MAP_SHARED_VALIDATE|MAP_SYNC mappings into shared extents.

    mapsync.py MNT

MNT is a reflink XFS mounted dax=always with a 2 MiB stripe unit.  A MAP_SYNC write fault on a
shared page returns only once the file's metadata for it is durable, and the application then
makes its own stores durable with cache write-backs and a fence of its own: the bytes the kernel
copied into the new block (the rest of the page, or of the 2 MiB) must already be durable when
the fault returns.  Under QEMU no cache is modelled, so this test checks the data and which
fault ran; durability is checked by the module's trace build (tests/guest/run-all.sh under
`qemu/run --trace`), which fails the run if a copied byte is not written back and fenced before
the engine returns.  Prints one line per result.
"""

import fcntl
import mmap
import os
import random
import subprocess
import sys

from cowlib import daxcow_stats

FICLONE = 0x40049409
MAP_SHARED_VALIDATE = 0x03
MAP_SYNC = 0x80000
MiB = 1 << 20

mnt = sys.argv[1]


def case(name, size, hints, offsets):
    rnd = random.Random(name)
    src, dst = os.path.join(mnt, name), os.path.join(mnt, name + ".clone")
    open(src, "w").close()
    if hints:
        subprocess.run(["xfs_io", "-c", "extsize 2m", "-c", "cowextsize 2m", src], check=True)
    data = rnd.randbytes(size)
    fd = os.open(src, os.O_RDWR)
    os.pwrite(fd, data, 0)
    os.fsync(fd)
    cfd = os.open(dst, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(cfd, FICLONE, fd)
    os.fsync(cfd)
    want = bytearray(data)
    before = daxcow_stats()
    try:
        m = mmap.mmap(cfd, size, flags=MAP_SHARED_VALIDATE | MAP_SYNC,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE)
    except OSError as e:
        print("%s: MAP_SYNC mapping refused: %s" % (name, e))
        return
    for off in offsets:
        m[off] = want[off] ^ 0xFF
        want[off] ^= 0xFF
    m.close()
    after = daxcow_stats()
    if before and after:
        print("%s: pte faults %d, pmd faults %d" % (
            name, after["cow_fault_pte"] - before["cow_fault_pte"],
            after["cow_fault_pmd"] - before["cow_fault_pmd"]))
    print("%s: clone holds the stores and the old bytes: %s" % (
        name, os.pread(cfd, size + 1, 0) == bytes(want)))
    print("%s: source untouched: %s" % (name, os.pread(fd, size + 1, 0) == data))
    os.close(fd)
    os.close(cfd)


# 4 KiB faults: a small file with no size hints, two stores in different pages.
case("pte", 64 * 1024, False, [100, 5 * 4096 + 17])
# 2 MiB faults: 2 MiB-aligned extents, one store in each 2 MiB.
case("pmd", 4 * MiB, True, [4096 + 3, 2 * MiB + 77])
