#!/usr/bin/env python3
"""Short mappings: every CoW path on a device-mapper device whose targets end inside the extents.

    dmlinear.py plan  STATE              # on a one-target device: where XFS puts every extent
    dmlinear.py run   STATE OUTPUT SEED  # on the split device: the same operations, checked

dm-linear passes DAX through, and dax_direct_access() on a dm device maps at most to the end of
the target that holds the first page: the short mappings of the engine contract.  XFS places
extents itself, so the test first runs its operations on a device with one linear target
(pmem0 sectors 0 to 512 MiB) and records where each extent landed (`plan`).  Then the same
device size is built from several targets that alternate between pmem0 and pmem1 at the same
offsets, each boundary 4 KiB- but not 2 MiB-aligned and placed inside an extent an operation
uses: the source and destination of an unaligned write, of an unshare, the two sides of a
dedupe, the source of a PMD write fault and the destination of another; one more dedupe meets
a known bad block (marked through the pmem disk's badblocks attribute) past the source's first
piece.  XFS on a fresh file
system of the same size makes the same allocations; `run` checks with FIEMAP that every
extent really straddles its boundary before it trusts a result.

Where a target ends, the next bytes of its pmem device belong to no target: they hold a
canary pattern written before the file system was made, unique per device and page.  A store
past a mapping changes a canary; a load past one copies canary bytes into a file, which the
byte model catches.  Each run writes other random bytes (SEED), so a block an engine fails to
fill cannot pass by holding an earlier run's identical bytes.  `run` prints one line per
result; tests/guest/dmlinear.sh runs it under each engine and decides.
"""

import errno
import fcntl
import json
import mmap
import os
import random
import struct
import subprocess
import sys

from cowlib import (BLOCK, FALLOC_FL_KEEP_SIZE, FALLOC_FL_UNSHARE_RANGE, FICLONE,
                    daxcow_stats, fallocate, fiemap, mark_bad_block, outcome)

MiB = 1 << 20
DEV_BYTES = 512 * MiB
NAME = "dmcow"
DEV = "/dev/mapper/" + NAME
MNT = "/mnt/dmlinear"
PMEM = ("/dev/pmem0", "/dev/pmem1")
CANARY_MAX = 4 * MiB          # canary bytes past each target end (a PMD copy reaches 2 MiB)
FIDEDUPERANGE = 0xC0189436


def sh(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def dm_create(table):
    """A dm device from `table` ([(dev start, length, pmem index, pmem offset)], bytes)."""
    lines = "".join("%d %d linear %s %d\n" % (s // 512, n // 512, PMEM[d], off // 512)
                    for s, n, d, off in table)
    subprocess.run(["dmsetup", "create", NAME, "--noudevsync"], input=lines.encode(),
                   check=True)
    sh("dmsetup", "mknodes", NAME)


def dm_remove():
    subprocess.run(["dmsetup", "remove", "--noudevsync", NAME], stderr=subprocess.DEVNULL)


def mkfs_mount():
    # Two allocation groups (the fewest mkfs takes) and a 2 MiB stripe unit: the same
    # allocations on every fresh file system of this size, and 2 MiB-aligned extents for the
    # PMD fault.
    r = subprocess.run(["mkfs.xfs", "-f", "-q", "-m", "reflink=1", "-d", "agcount=2,su=2m,sw=1",
                        DEV], capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("mkfs.xfs failed: %s" % r.stderr)
    os.makedirs(MNT, exist_ok=True)
    sh("mount", "-o", "dax=always", DEV, MNT)


def phys(fd, off, n=1):
    """Device offset of file offset `off`, if the `n` bytes from it are physically contiguous."""
    for lo, ph, ln, _ in fiemap(fd):
        if lo <= off < lo + ln:
            if off + n > lo + ln:
                return None
            return ph + (off - lo)
    return None


def dedupe(src_fd, src_off, dst_fd, dst_off, length):
    arg = bytearray(struct.pack("=QQHHL", src_off, length, 1, 0, 0) +
                    struct.pack("=qQQiL", dst_fd, dst_off, 0, 0, 0))
    fcntl.ioctl(src_fd, FIDEDUPERANGE, arg)
    _, done, _, status, _ = struct.unpack_from("=qQQiL", arg, 24)
    if status < 0:
        return "status %s" % errno.errorcode.get(-status, str(status))
    return "%s %d" % ("same" if status == 0 else "differs", done)


class Model:
    """The bytes every file must hold."""

    def __init__(self):
        self.files = {}

    def check(self, name, fd):
        want = self.files[name]
        got = os.pread(fd, len(want) + 1, 0)
        if got == want:
            return "same"
        if len(got) != len(want):
            return "LENGTH %d, want %d" % (len(got), len(want))
        first = next(i for i in range(len(want)) if got[i] != want[i])
        return "DIFFERS from byte %d: %r" % (first, bytes(got[first:first + 24]))


def mark_bad(table, dev_off, bad):
    """Marks the 4 KiB block at `dev_off` of the dm device bad on the pmem device that holds
    it, through its badblocks attribute, and adds it to `bad` for clear_bad()."""
    s, n, dev, off = next(t for t in table if t[0] <= dev_off < t[0] + t[1])
    pmem_off = off + dev_off - s
    mark_bad_block("pmem%d" % dev, pmem_off)
    bad.append((dev, pmem_off))


def clear_bad(out, bad):
    """Clears the blocks mark_bad() marked by writing them through the block device (the pmem
    driver clears poison on a write; legacy pmem has no firmware to ask)."""
    for dev, off in bad:
        direct_io(dev, off, BLOCK, bytes(BLOCK))
    left = [open("/sys/block/pmem%d/badblocks" % dev).read().strip() for dev in (0, 1)]
    out.append("bad blocks left after clearing: %s" % ("none" if not any(left) else left))


def operations(out, st, marks, seed, table, bad):
    """The operations, identical in both phases; `marks` collects the device offsets of the
    extents each boundary must fall inside (the plan) or is checked against (the run).  `table`
    is the dm device's; blocks marked bad go to `bad`, for the caller to clear."""
    rnd = random.Random(seed)
    model = Model()
    a_path, b_path = os.path.join(MNT, "a"), os.path.join(MNT, "b")
    c_path, d_path = os.path.join(MNT, "c"), os.path.join(MNT, "d")
    e_path = os.path.join(MNT, "e")

    # a: 16 blocks of random bytes; b its clone.
    model.files["a"] = rnd.randbytes(16 * BLOCK)
    a = os.open(a_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(a, model.files["a"], 0)
    os.fsync(a)
    b = os.open(b_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(b, FICLONE, a)
    os.fsync(b)
    model.files["b"] = bytes(model.files["a"])
    marks["a"] = phys(a, 0, 16 * BLOCK)
    out.append("file a has STATX_ATTR_DAX: %s" % is_dax(a_path))
    # e: 8 blocks of other bytes, for the dedupe with a bad block below; made now, before any
    # operation frees blocks, so that it lands where the plan put it whenever the log commits.
    e = os.open(e_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(e, rnd.randbytes(8 * BLOCK), 0)
    os.fsync(e)
    marks["e"] = phys(e, 0, 8 * BLOCK)

    # Two unaligned writes into b, each across two blocks: the first's destination span is cut
    # between its pages (dax_iomap_iter() maps it in two pieces and asks for the copy around
    # twice), the second's source span is cut (one copy around, the source mapped in pieces).
    for blk, mark in ((3, "write_dst"), (6, "write2_dst")):
        s0 = st()
        data = bytes([0x70 + blk]) * 200
        pos = blk * BLOCK - 100
        out.append("write 200 bytes at %d into b: %s" % (pos, outcome(
            lambda: os.pwrite(b, data, pos))))
        model.files["b"] = model.files["b"][:pos] + data + model.files["b"][pos + 200:]
        marks[mark] = phys(b, (blk - 1) * BLOCK, 2 * BLOCK)
        s1 = st()
        if s0 and s1:
            out.append("write at %d: copy-around calls %d, bytes copied %d" % (
                pos, s1["cow_write"] - s0["cow_write"],
                s1["cow_bytes_copied"] - s0["cow_bytes_copied"]))

    # Unshare blocks 8-15 of b: source and destination cut in the middle.
    s0 = st()
    out.append("unshare blocks 8-15 of b: %s" % outcome(lambda: fallocate(
        b, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 8 * BLOCK, 8 * BLOCK)))
    marks["unshare_dst"] = phys(b, 8 * BLOCK, 8 * BLOCK)
    s1 = st()
    if s0 and s1:
        out.append("unshare: bytes copied %d" % (s1["unshare_bytes"] - s0["unshare_bytes"]))
    out.append("a after write and unshare: %s" % model.check("a", a))
    out.append("b after write and unshare: %s" % model.check("b", b))

    # Dedupe: blocks 8-15 hold the same bytes in a and b, each side cut at another block; blocks
    # 0-3 differ in the bytes the first write stored.
    out.append("dedupe a[8-15] -> b[8-15] (equal): %s" % outcome(
        lambda: dedupe(a, 8 * BLOCK, b, 8 * BLOCK, 8 * BLOCK)))
    out.append("dedupe a[0-3] -> b[0-3] (different): %s" % outcome(
        lambda: dedupe(a, 0, b, 0, 4 * BLOCK)))
    out.append("a after dedupe: %s" % model.check("a", a))
    out.append("b after dedupe: %s" % model.check("b", b))

    # Dedupe against a destination with a known bad block past the source's first piece: e's
    # block 5 bad.  a's blocks 8-15 are one extent cut at 10|11, so the source maps 3 blocks
    # first; dax_range_compare_iter() maps the destination over those 3 only, finds them
    # different and says so.  Mapping the destination over the whole pair would reach the bad
    # block and fail the compare with EIO.  Without the cut (the plan) both sides map all 8
    # blocks and the bad block is an EIO for either engine.  A read of the bad block shows
    # that the driver knows it (else "differs" could come from a block that is not bad).
    if marks["e"] is not None:
        mark_bad(table, marks["e"] + 5 * BLOCK, bad)
        out.append("dedupe a[8-15] -> e[0-7] (different, e's block 5 bad): %s" % outcome(
            lambda: dedupe(a, 8 * BLOCK, e, 0, 8 * BLOCK)))
        out.append("read e's block 5: %s" % outcome(lambda: len(os.pread(e, BLOCK, 5 * BLOCK))))
        out.append("a after the dedupe with a bad block: %s" % model.check("a", a))
    os.close(e)

    # PMD write faults: c is 4 MiB in two 2 MiB-aligned extents, d its clone, both with 2 MiB
    # extent and CoW extent size hints.  The fault at d's first 2 MiB copies a source cut in
    # the middle; the fault at its second 2 MiB has a destination cut in the middle, which
    # dax_iomap_direct_access() refuses for a PMD, so the fault falls back to 4 KiB.
    open(c_path, "w").close()
    sh("xfs_io", "-c", "extsize 2m", "-c", "cowextsize 2m", c_path)
    model.files["c"] = rnd.randbytes(4 * MiB)
    c = os.open(c_path, os.O_RDWR)
    os.pwrite(c, model.files["c"], 0)
    os.fsync(c)
    d = os.open(d_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(d, FICLONE, c)
    os.fsync(d)
    model.files["d"] = bytearray(model.files["c"])
    marks["c"] = phys(c, 0, 4 * MiB)
    m = mmap.mmap(d, 4 * MiB, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    out.append("d is mapped 2 MiB-aligned: %s" % (ctypes_addr(m) % (2 * MiB) == 0))
    for name, off in (("first", 100), ("second", 2 * MiB + 5 * BLOCK + 7)):
        s0 = st()
        m[off] = 0x5A
        model.files["d"][off] = 0x5A
        s1 = st()
        if s0 and s1:
            out.append("fault in d's %s 2 MiB: pmd %d, pte %d, bytes copied %d" % (
                name, s1["cow_fault_pmd"] - s0["cow_fault_pmd"],
                s1["cow_fault_pte"] - s0["cow_fault_pte"],
                s1["cow_bytes_copied"] - s0["cow_bytes_copied"]))
    m.flush()
    m.close()
    model.files["d"] = bytes(model.files["d"])
    marks["pmd_dst1"] = phys(d, 0, 2 * MiB)
    marks["pmd_dst"] = phys(d, 2 * MiB, 2 * MiB)
    out.append("c after faults: %s" % model.check("c", c))
    out.append("d after faults: %s" % model.check("d", d))
    for fd in (a, b, c, d):
        os.close(fd)


def is_dax(path):
    attrs = subprocess.run(["xfs_io", "-r", "-c", "statx -r", path], capture_output=True,
                           text=True).stdout
    dax = [int(l.split()[2], 0) for l in attrs.splitlines() if l.startswith("stat.attributes ")]
    return bool(dax and dax[0] & 0x00200000)


def ctypes_addr(m):
    import ctypes
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def boundaries(marks):
    """Where the targets end, from the plan's extent offsets: each inside the extent it cuts,
    the two sides of each copy and compare cut at different blocks, so that each side is mapped
    in pieces of its own."""
    a, u, c, p = marks["a"], marks["unshare_dst"], marks["c"], marks["pmd_dst"]
    return {
        "first write's destination (b's new blocks 2|3)": marks["write_dst"] + BLOCK,
        "second write's source (a and b's blocks 5|6)": a + 6 * BLOCK,
        "unshare and dedupe source (a's blocks 10|11)": a + 11 * BLOCK,
        "unshare and dedupe destination (b's new blocks 13|14)": u + 6 * BLOCK,
        "first PMD fault's source (c, 1 MiB + 4 KiB in)": c + MiB + BLOCK,
        "second PMD fault's destination (d's second 2 MiB, 1 MiB + 4 KiB in)": p + MiB + BLOCK,
    }


def uncut(marks, cuts):
    """The extents that must not be cut, so each case cuts one side only: the first write's
    source, the second write's destination and the first PMD fault's destination."""
    whole = {"first write's source": (marks["a"] + 2 * BLOCK, 2 * BLOCK),
             "second write's destination": (marks["write2_dst"], 2 * BLOCK),
             "first PMD fault's destination": (marks["pmd_dst1"], 2 * MiB),
             "bad-block dedupe's destination": (marks["e"], 8 * BLOCK)}
    return {k: not any(s < cut < s + n for cut in cuts) for k, (s, n) in whole.items()}


def table_for(cuts):
    """Targets alternating between pmem0 and pmem1 at the same offsets, ending at `cuts`."""
    edges = [0] + sorted(cuts) + [DEV_BYTES]
    return [(s, e - s, i % 2, s) for i, (s, e) in enumerate(zip(edges, edges[1:]))]


def canary_regions(table):
    """(pmem index, offset, length) just past each target's end on its own device."""
    regions = []
    for (s, n, dev, off), nxt in zip(table, table[1:]):
        gap_end = nxt[0] + nxt[1]  # the other device holds the next target; this one is free
        regions.append((dev, off + n, min(CANARY_MAX, gap_end - (off + n))))
    return regions


def canary_bytes(dev, off, n):
    out = bytearray()
    for page in range(off // BLOCK, (off + n) // BLOCK):
        tag = b"canary pmem%d page %08x | " % (dev, page)
        out += (tag * (BLOCK // len(tag) + 1))[:BLOCK]
    return bytes(out)


def direct_io(dev, off, n, data=None):
    fd = os.open(PMEM[dev], (os.O_RDWR if data else os.O_RDONLY) | os.O_DIRECT)
    buf = mmap.mmap(-1, n)
    try:
        if data:
            buf[:] = data
            assert os.pwritev(fd, [buf], off) == n
            return None
        assert os.preadv(fd, [buf], off) == n
        return bytes(buf)
    finally:
        buf.close()
        os.close(fd)


def plan(state):
    dm_remove()
    table = [(0, DEV_BYTES, 0, 0)]
    dm_create(table)
    marks = {}
    out = []
    bad = []
    try:
        mkfs_mount()
        operations(out, daxcow_stats, marks, 1, table, bad)
        sh("umount", MNT)
    finally:
        subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
        try:
            dm_remove()
        finally:
            clear_bad(out, bad)
    missing = [k for k, v in marks.items() if v is None]
    if missing:
        raise SystemExit("plan: extents not contiguous: %s" % missing)
    cuts = boundaries(marks)
    for k, v in uncut(marks, cuts.values()).items():
        print("plan: %s is not cut: %s" % (k, v))
    with open(state, "w") as f:
        json.dump({"marks": marks, "cuts": cuts}, f, indent=1)
    for line in out:
        print("plan: " + line)
    for k, v in sorted(cuts.items(), key=lambda kv: kv[1]):
        print("plan: target boundary at %d MiB + %d KiB: %s" % (v // MiB, v % MiB // 1024, k))


def run(state, output, seed):
    with open(state) as f:
        st = json.load(f)
    cuts = st["cuts"]
    out = []
    out.append("boundaries are 4 KiB- but not 2 MiB-aligned and distinct: %s" % (
        all(v % BLOCK == 0 and v % (2 * MiB) for v in cuts.values()) and
        len(set(cuts.values())) == len(cuts)))
    table = table_for(cuts.values())
    regions = canary_regions(table)
    for dev, off, n in regions:
        direct_io(dev, off, n, canary_bytes(dev, off, n))
    dm_remove()
    dm_create(table)
    bad = []
    try:
        mkfs_mount()
        marks = {}
        operations(out, daxcow_stats, marks, seed, table, bad)
        # The PMD fault in d's second 2 MiB falls back to 4 KiB here: XFS cancels the 2 MiB CoW
        # reservation of the refused PMD fault, and the 4 KiB fault allocates anew elsewhere
        # (the cancelled blocks are busy until the log commits).  That the refusal came from
        # the cut is shown by the plan, where the same fault is a PMD CoW fault.
        want = {k: v for k, v in st["marks"].items() if k != "pmd_dst"}
        got = {k: v for k, v in marks.items() if k != "pmd_dst"}
        out.append("every extent landed where the plan put it: %s" % (
            got == want or "NO: %s" % {k: (got.get(k), want[k])
                                       for k in want if got.get(k) != want[k]}))
        sh("umount", MNT)
        r = subprocess.run(["xfs_repair", "-n", DEV], capture_output=True)
        out.append("xfs_repair -n: %s" % ("clean" if r.returncode == 0 else "PROBLEMS"))
    finally:
        subprocess.run(["umount", MNT], stderr=subprocess.DEVNULL)
        try:
            dm_remove()
        finally:
            clear_bad(out, bad)
    damaged = []
    for dev, off, n in regions:
        got = direct_io(dev, off, n)
        want = canary_bytes(dev, off, n)
        if got != want:
            bad = [i for i in range(0, n, BLOCK) if got[i:i + BLOCK] != want[i:i + BLOCK]]
            damaged.append("pmem%d +%d KiB: %d pages from +%d KiB" % (
                dev, off // 1024, len(bad), (off + bad[0]) // 1024))
    out.append("canaries past every target end intact: %s" % (
        "yes" if not damaged else "NO: " + "; ".join(damaged)))
    with open(output, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(sys.argv[2])
    else:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]))
