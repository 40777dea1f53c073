#!/usr/bin/env python3
"""Four CoW workers for the engine-lifecycle test (lifecycle.sh), which loads and unloads
daxcow under them.

    lifecycle.py MNT STOPFILE

Each worker owns a source file and its reflink clone and loops, until STOPFILE exists, over
one kind of operation that goes through the fsdax engine: unaligned pwrite into the shared
clone (copy-around), stores through a shared mapping (CoW write faults), FIDEDUPERANGE of
equal ranges (compare) and FALLOC_FL_UNSHARE_RANGE (unshare), re-cloning to keep extents
shared.  Every worker keeps a model of its files; at the end both files are compared with the
model byte for byte.  Prints `worker KIND: N ops, error none|ERRNO, data ok|DIFFERS`.
"""

import errno
import fcntl
import mmap
import os
import random
import struct
import sys

from cowlib import (BLOCK, FALLOC_FL_KEEP_SIZE, FALLOC_FL_UNSHARE_RANGE, FICLONE, FIDEDUPERANGE,
                    fallocate)

SIZE = 64 * BLOCK

mnt, stopfile = sys.argv[1], sys.argv[2]


def reclone(src, dst):
    fcntl.ioctl(dst, FICLONE, src)


def worker(kind, seed):
    rng = random.Random(seed)
    src_path = os.path.join(mnt, kind + ".src")
    dst_path = os.path.join(mnt, kind + ".dst")
    src = os.open(src_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    dst = os.open(dst_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    model_src = bytearray(rng.randbytes(SIZE))
    os.pwrite(src, model_src, 0)
    reclone(src, dst)
    model_dst = bytearray(model_src)
    m = mmap.mmap(dst, SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) \
        if kind == "fault" else None
    ops, err = 0, "none"
    try:
        while not os.path.exists(stopfile):
            ops += 1
            off = rng.randrange(0, SIZE - 300)
            n = rng.randrange(1, 300)
            data = rng.randbytes(n)
            if kind == "write":
                os.pwrite(dst, data, off)
                model_dst[off:off + n] = data
            elif kind == "fault":
                m[off:off + n] = data
                model_dst[off:off + n] = data
            elif kind == "dedupe":
                # Equal blocks: write the same bytes to both, then dedupe the block.
                blk = rng.randrange(0, SIZE // BLOCK) * BLOCK
                os.pwrite(src, data, blk)
                os.pwrite(dst, data, blk)
                model_src[blk:blk + n] = data
                model_dst[blk:blk + n] = data
                arg = bytearray(struct.pack("=QQHHL", blk, BLOCK, 1, 0, 0) +
                                struct.pack("=qQQiL", dst, blk, 0, 0, 0))
                fcntl.ioctl(src, FIDEDUPERANGE, arg)
                status = struct.unpack_from("=i", arg, 24 + 24)[0]
                if status != 0:
                    raise OSError(-status if status < 0 else errno.EBADE, "dedupe status")
            elif kind == "unshare":
                blk = rng.randrange(0, SIZE // BLOCK - 4) * BLOCK
                fallocate(dst, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, blk, 4 * BLOCK)
                os.pwrite(dst, data, blk + 10)
                model_dst[blk + 10:blk + 10 + n] = data
            if ops % 50 == 0:
                # Share everything again so later operations keep meeting shared extents.
                if m is not None:
                    m.flush()
                reclone(src, dst)
                model_dst[:] = model_src
    except OSError as e:
        err = errno.errorcode.get(e.errno, str(e.errno))
    if m is not None:
        m.flush()
        m.close()
    ok = os.pread(src, SIZE, 0) == bytes(model_src) and os.pread(dst, SIZE, 0) == bytes(model_dst)
    print("worker %s: %d ops, error %s, data %s" % (kind, ops, err, "ok" if ok else "DIFFERS"),
          flush=True)


kinds = ["write", "fault", "dedupe", "unshare"]
pids = []
for i, kind in enumerate(kinds):
    pid = os.fork()
    if pid == 0:
        try:
            worker(kind, i + 1)
        finally:
            os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
