#!/bin/bash
# Regression tests of the fix patches for the in-tree C (patches/0005, 0007 to 0010; 0004's
# are in dmlinear.sh), under both engines: a short write(2) into a shared extent,
# FIDEDUPERANGE against unwritten extents whose blocks hold stale data, a punch after a short
# write into a shared extent, unsharing next to unwritten extents and holes, and a write into
# a shared extent under a mapping whose pages were read.  On the pristine kernel
# (PROFILE=pristine, 7.3 without the series, no module) the C engine runs alone and these
# checks fail: docs/failure-model.md records that run.
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem1 mnt=/mnt/cfixes
mkdir -p $mnt
umount $mnt 2>/dev/null

run() {  # OUTPUT ENGINE
	python3 "$here/cfixes.py" $dev $mnt 7 > "$1" 2>&1 || echo "cfixes.py failed with status $?" >> "$1"
}

t="C fixes"
under_both_engines cfixes run

check "$t: a short write into a shared extent returns its partial count" \
	both "short write: returned 3000"
check "$t: ... and the bytes it did not store keep the old data (patch 0005)" \
	both "short write: bytes it did not store keep the old data: True"
check "$t: dedupe test setup: unwritten destinations that read zeroes" \
	both "dedupe: the destinations read zeroes: True"
check "$t: data against an unwritten extent whose stale blocks hold the same bytes differs (0007)" \
	both "dedupe data onto an unwritten extent holding the same stale bytes: differs"
check "$t: ... and the destination still reads zeroes" \
	both "dedupe: that destination still reads zeroes: True"
check "$t: zeroes against an unwritten extent holding stale bytes are the same (0007)" \
	both "dedupe zeroes onto an unwritten extent holding stale bytes: same 262144"
check "$t: ... and the destination reads zeroes" \
	both "dedupe: that destination reads zeroes: True"
check "$t: a short write into a shared extent, then a punch over the rest: the range is a hole (0009)" \
	both "short write, then a punch: the punched range is a hole: True"
check "$t: ... and reads zeroes" \
	both "short write, then a punch: the punched range reads zeroes: True"
check "$t: unshare after an unwritten extent leaves nothing in the range shared (0010)" \
	both "unshare after an unwritten extent: nothing in the range is still shared: True"
check "$t: unshare over a hole fills it with unwritten blocks, not written zeroes (0010)" \
	both "unshare over a hole: what fills it is unwritten: True"
check "$t: ... and both files read what they held" \
	both "unshare: both files read what they held: True"
check "$t: a write into a shared extent under a read mapping shows through it" \
	both "mapped write into a shared extent: the mapping shows the write: True"
check "$t: ... and draws no warning from dax_disassociate_entry (0008)" \
	both "mapped write into a shared extent: no warning from dax_disassociate_entry: True"
finish
