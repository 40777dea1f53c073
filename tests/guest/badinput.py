#!/usr/bin/env python3
"""Bad input to FICLONERANGE and FIDEDUPERANGE on XFS-DAX; prints one line per case with
what the kernel answered (errno, or per-destination status and bytes) and a digest of the
files involved.  tests/guest/badinput.sh runs it with daxcow loaded and unloaded and asserts
the two outputs are identical.

usage: badinput.py MNT OTHER_FS_DIR
"""
import errno
import fcntl
import hashlib
import os
import struct
import sys

FICLONERANGE = 0x4020940D   # _IOW(0x94, 13, struct file_clone_range)
FIDEDUPERANGE = 0xC0189436  # _IOWR(0x94, 54, struct file_dedupe_range)
BLK = 4096
U64 = (1 << 64) - 1

mnt, other = sys.argv[1], sys.argv[2]


def make(path, size, seed):
    data = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    with open(path, "wb") as f:
        f.write(data[:size])
        os.fsync(f.fileno())


def digest(*paths):
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def clone(src_fd, src_off, length, dst_fd, dst_off):
    arg = struct.pack("=qQQQ", src_fd, src_off & U64, length & U64, dst_off & U64)
    try:
        fcntl.ioctl(dst_fd, FICLONERANGE, arg)
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def dedupe(src_fd, src_off, length, dests):
    buf = bytearray(struct.pack("=QQHHI", src_off & U64, length & U64, len(dests), 0, 0))
    for fd, off in dests:
        buf += struct.pack("=qQQiI", fd, off & U64, 0, 0, 0)
    try:
        fcntl.ioctl(src_fd, FIDEDUPERANGE, buf, True)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    out = []
    for i in range(len(dests)):
        _, _, done, status, _ = struct.unpack_from("=qQQiI", buf, 24 + 32 * i)
        out.append("%s/%d" % (errno.errorcode.get(-status, str(status)) if status < 0 else status, done))
    return " ".join(out)


a, b = os.path.join(mnt, "bad-a"), os.path.join(mnt, "bad-b")
make(a, 64 * BLK, 1)
make(b, 64 * BLK, 1)  # identical to a
c = os.path.join(mnt, "bad-c")
make(c, 64 * BLK + 100, 2)  # unaligned EOF
o = os.path.join(other, "bad-other")
make(o, 64 * BLK, 1)

fa = os.open(a, os.O_RDWR)
fb = os.open(b, os.O_RDWR)
fc = os.open(c, os.O_RDWR)
fo = os.open(o, os.O_RDWR)
fb_ro = os.open(b, os.O_RDONLY)

cases = [
    ("clone unaligned src offset", lambda: clone(fa, 100, BLK, fb, 0)),
    ("clone unaligned dst offset", lambda: clone(fa, 0, BLK, fb, 100)),
    ("clone unaligned length mid-file", lambda: clone(fa, 0, BLK + 1, fb, 0)),
    ("clone zero length (to EOF)", lambda: clone(fa, 0, 0, fc, 0)),
    ("clone past source EOF", lambda: clone(fa, 64 * BLK, BLK, fb, 0)),
    ("clone overlapping in one file", lambda: clone(fa, 0, 8 * BLK, fa, 4 * BLK)),
    ("clone to a read-only destination", lambda: clone(fa, 0, BLK, fb_ro, 0)),
    ("clone overflowing length", lambda: clone(fa, BLK, U64 - 100, fb, 0)),
    ("clone overflowing offset", lambda: clone(fa, U64 - BLK + 1, BLK, fb, 0)),
    ("clone from another file system", lambda: clone(fo, 0, BLK, fb, 0)),
    ("clone unaligned EOF tail", lambda: clone(fc, 0, 64 * BLK + 100, fa, 0)),
    ("dedupe unaligned src offset", lambda: dedupe(fa, 100, BLK, [(fb, 0)])),
    ("dedupe unaligned dst offset", lambda: dedupe(fa, 0, BLK, [(fb, 100)])),
    ("dedupe unaligned length", lambda: dedupe(fa, 0, BLK + 1, [(fb, 0)])),
    ("dedupe zero length", lambda: dedupe(fa, 0, 0, [(fb, 0)])),
    ("dedupe past source EOF", lambda: dedupe(fa, 64 * BLK, BLK, [(fb, 0)])),
    ("dedupe past destination EOF", lambda: dedupe(fa, 0, BLK, [(fb, 64 * BLK)])),
    ("dedupe length beyond EOF (shortened)", lambda: dedupe(fa, 60 * BLK, 8 * BLK, [(fb, 60 * BLK)])),
    ("dedupe overlapping in one file", lambda: dedupe(fa, 0, 8 * BLK, [(fa, 4 * BLK)])),
    ("dedupe to a read-only destination", lambda: dedupe(fa, 0, BLK, [(fb_ro, 0)])),
    ("dedupe overflowing length", lambda: dedupe(fa, BLK, U64 - 100, [(fb, 0)])),
    ("dedupe to another file system", lambda: dedupe(fa, 0, BLK, [(fo, 0)])),
    ("dedupe differing data", lambda: dedupe(fa, 0, 4 * BLK, [(fc, 0)])),
    ("dedupe identical, unaligned EOF", lambda: dedupe(fc, 0, 64 * BLK + 100, [(fc, 0)])),
    ("dedupe identical, several destinations", lambda: dedupe(fa, 0, 16 * BLK, [(fb, 0), (fb, 16 * BLK), (fc, 0)])),
]
for name, run in cases:
    print("%s: %s [%s]" % (name, run(), digest(a, b, c, o)))
