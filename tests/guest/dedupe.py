#!/usr/bin/env python3
"""FIDEDUPERANGE with several destinations in one call (xfs_io does one per call).

usage: dedupe.py SRC SRC_OFF LEN DEST:OFF [DEST:OFF ...]
Prints one line per destination: "status bytes_deduped" (status 0 = same,
1 = FILE_DEDUPE_RANGE_DIFFERS, negative = -errno), or "error ERRNO" when the
ioctl itself fails.
"""
import fcntl
import os
import struct
import sys

FIDEDUPERANGE = 0xC0189436  # _IOWR(0x94, 54, struct file_dedupe_range)


def main():
    src, src_off, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    dests = [d.rsplit(":", 1) for d in sys.argv[4:]]
    fds = [os.open(path, os.O_RDWR) for path, _ in dests]
    # struct file_dedupe_range: u64 src_offset, u64 src_length, u16 dest_count,
    # u16 reserved1, u32 reserved2, then dest_count struct file_dedupe_range_info:
    # s64 dest_fd, u64 dest_offset, u64 bytes_deduped, s32 status, u32 reserved.
    buf = bytearray(struct.pack("=QQHHI", src_off, length, len(dests), 0, 0))
    for fd, (_, off) in zip(fds, dests):
        buf += struct.pack("=qQQiI", fd, int(off), 0, 0, 0)
    sfd = os.open(src, os.O_RDONLY)
    try:
        fcntl.ioctl(sfd, FIDEDUPERANGE, buf, True)
    except OSError as e:
        print("error", e.errno)
        return
    for i in range(len(dests)):
        _, _, deduped, status, _ = struct.unpack_from("=qQQiI", buf, 24 + 32 * i)
        print(status, deduped)


main()
