#!/usr/bin/env python3
"""A write(2) whose copy from user space comes up short: pwrite LEN bytes at OFF from a buffer
whose only readable part is its first VALID bytes (the rest is an unmapped page).  Prints what
pwrite returned.

usage: shortwrite.py FILE OFF LEN VALID
"""
import ctypes
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.pwrite.restype = ctypes.c_ssize_t
libc.pwrite.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_long]

path, off, length, valid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
page = os.sysconf("SC_PAGE_SIZE")
span = (valid + page - 1) // page * page
base = libc.mmap(None, span + page, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
libc.munmap(base + span, page)  # the page after the valid bytes faults
start = base + span - valid
ctypes.memset(start, ord("X"), valid)
fd = os.open(path, os.O_RDWR)
print(libc.pwrite(fd, start, length, off))
