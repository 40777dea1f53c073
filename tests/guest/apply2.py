#!/usr/bin/env python3
"""The two-file iterator for C callers, daxcow_iomap_apply2(), driven from C.

    apply2.py MNT

MNT is a reflink XFS mounted dax=always, with daxcow loaded.  Two files are laid out with data,
holes and unwritten extents at different places; src/daxcow_apply2.c's debugfs file runs the
walk from C over both (with the iomap operations XFS passed to a FIDEDUPERANGE compare run
first) and lists the pairs its C actor saw.  The pairs must tile both ranges in order, and
each must have, on each side, the extent kind FIEMAP shows for every block it covers.  Prints
one line per result.
"""

import fcntl
import os
import struct
import sys

from cowlib import FIDEDUPERANGE, fallocate, fiemap

BLOCK = 4096
FIEMAP_EXTENT_UNWRITTEN = 0x800
IOMAP = {0: "hole", 2: "mapped", 3: "unwritten"}
DEBUGFS = "/sys/kernel/debug/daxcow/apply2"
mnt = sys.argv[1]


def layout(path, spans, blocks):
    """A file of `blocks` blocks: spans is [(first, count, 'data'|'unwritten')], the rest holes."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, blocks * BLOCK)
    for first, count, kind in spans:
        if kind == "data":
            os.pwrite(fd, bytes([0x40 + first]) * (count * BLOCK), first * BLOCK)
        else:
            fallocate(fd, 0, first * BLOCK, count * BLOCK)
    os.fsync(fd)
    return fd


def kinds(fd, blocks):
    """The extent kind of each block, from FIEMAP."""
    out = ["hole"] * blocks
    for lo, _, ln, fl in fiemap(fd):
        for b in range(lo // BLOCK, min(blocks, (lo + ln) // BLOCK)):
            out[b] = "unwritten" if fl & FIEMAP_EXTENT_UNWRITTEN else "mapped"
    return out


def walk(sfd, soff, dfd, doff, length):
    with open(DEBUGFS, "w") as f:
        f.write("%d %d %d %d %d" % (sfd, soff, dfd, doff, length))
    with open(DEBUGFS) as f:
        lines = f.read().split("\n")
    pairs = [tuple(int(x) for x in l.split()) for l in lines if l and not l.startswith("result")]
    result = [l for l in lines if l.startswith("result")]
    return pairs, result


def check(name, sfd, soff, dfd, doff, length, blocks):
    pairs, result = walk(sfd, soff, dfd, doff, length)
    print("%s: %s" % (name, result[0] if result else "no result"))
    sk, dk = kinds(sfd, blocks), kinds(dfd, blocks)
    s, d, ok, why = soff, doff, True, ""
    for sp, dp, ln, st, dt in pairs:
        if (sp, dp) != (s, d) or ln <= 0:
            ok, why = False, "pair at %d/%d, walk at %d/%d" % (sp, dp, s, d)
            break
        for b in range(ln // BLOCK):
            if (IOMAP.get(st), IOMAP.get(dt)) != (sk[sp // BLOCK + b], dk[dp // BLOCK + b]):
                ok, why = False, "pair %r: kinds %s/%s, FIEMAP %s/%s at block %d/%d" % (
                    (sp, dp, ln), IOMAP.get(st), IOMAP.get(dt), sk[sp // BLOCK + b],
                    dk[dp // BLOCK + b], sp // BLOCK + b, dp // BLOCK + b)
                break
        if not ok:
            break
        s, d = s + ln, d + ln
    if ok and s != soff + length:
        ok, why = False, "the pairs cover %d bytes of %d" % (s - soff, length)
    print("%s: %d pairs tile the range with FIEMAP's kinds: %s" % (name, len(pairs), ok or why))


blocks = 16
a = layout(os.path.join(mnt, "a"), [(0, 4, "data"), (8, 4, "unwritten"), (12, 4, "data")], blocks)
b = layout(os.path.join(mnt, "b"), [(0, 2, "data"), (2, 4, "unwritten"), (6, 4, "data")], blocks)
# XFS does not export its iomap operations: the C caller borrows those of a compare.
c = layout(os.path.join(mnt, "c"), [(0, 1, "data")], 1)
d = layout(os.path.join(mnt, "d"), [(0, 1, "data")], 1)
arg = bytearray(struct.pack("=QQHHL", 0, BLOCK, 1, 0, 0) + struct.pack("=qQQiL", d, 0, 0, 0, 0))
fcntl.ioctl(c, FIDEDUPERANGE, arg)
check("whole files", a, 0, b, 0, blocks * BLOCK, blocks)
check("shifted ranges", a, 1 * BLOCK, b, 3 * BLOCK, 12 * BLOCK, blocks)
