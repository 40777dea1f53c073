"""What the in-guest Python tests share: ioctl and fallocate numbers, and fallocate(2) with a
mode, which Python's os module does not offer."""

import ctypes
import fcntl
import errno
import os
import struct

BLOCK = 4096
FICLONE = 0x40049409
FIDEDUPERANGE = 0xC0189436
FS_IOC_FIEMAP = 0xC020660B
FIEMAP_EXTENT_SHARED = 0x2000
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_UNSHARE_RANGE = 0x40

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def fallocate(fd, mode, offset, length):
    if libc.fallocate(fd, mode, offset, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def outcome(fn):
    """`ok` (with fn's result if it has one) or the errno name fn raised."""
    try:
        r = fn()
        return "ok" if r is None else "ok %s" % r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def block_bytes(block):
    """Block `block` of the test pattern: one byte, 'A' + block, repeated."""
    return bytes([0x41 + block]) * BLOCK


def reflinked_pair(a_path, b_path, blocks):
    """File a of `blocks` pattern blocks, fsynced, and b its reflink clone: (fd of a, fd of b)."""
    a = os.open(a_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    for blk in range(blocks):
        os.pwrite(a, block_bytes(blk), blk * BLOCK)
    os.fsync(a)
    b = os.open(b_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    fcntl.ioctl(b, FICLONE, a)
    os.fsync(b)
    return a, b


def fiemap(fd):
    """[(logical, physical, length, flags)] of the file's extents (the first 64)."""
    count = 64
    buf = bytearray(struct.pack("=QQLLLL", 0, 2**64 - 1, 0, 0, count, 0) + bytes(56 * count))
    fcntl.ioctl(fd, FS_IOC_FIEMAP, buf)
    out = []
    for i in range(struct.unpack_from("=L", buf, 20)[0]):
        lo, ph, ln, _, _, fl = struct.unpack_from("=QQQQQL", buf, 32 + 56 * i)
        out.append((lo, ph, ln, fl))
    return out


def daxcow_stats():
    """daxcow's counters as {name: value}, or None when daxcow is not loaded."""
    try:
        with open("/sys/kernel/debug/daxcow/stats") as f:
            return {k: int(v) for k, v in (line.split() for line in f)}
    except OSError:
        return None


def mark_bad_block(disk, offset):
    """Marks the block at byte `offset` of pmem disk `disk` (e.g. "pmem0") bad through its
    badblocks attribute, the way the pmem driver learns of poison from the platform."""
    with open("/sys/block/%s/badblocks" % disk, "w") as f:
        f.write("%d %d\n" % (offset // 512, BLOCK // 512))
