#!/bin/bash
# Known bad blocks under a shared extent (issue: failure paths, case 1).  badblocks.py marks the
# block two reflinked files share as bad through the pmem disk's badblocks attribute, then
# drives every CoW path over it.  Run with daxcow loaded and with the in-tree C engine; the
# outcomes must be identical, and the ones required here must hold.
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
disk=pmem0 dev=/dev/pmem0 mnt=/mnt/badblocks

run_cases() {  # $1: output file
	mkfs_dax $dev $mnt
	python3 "$here/badblocks.py" $mnt $disk > "$1" 2>&1
	umount $mnt
	# Clear the bad range by writing it through the block device: the pmem driver clears
	# poison on a write (legacy pmem has no firmware to ask, so that always succeeds).
	local range
	range=$(sed -n 's/^bad sector range: //p' "$1")
	if [ -n "$range" ]; then
		dd if=/dev/zero of=$dev bs=512 seek="${range% *}" count="${range#* }" oflag=direct \
			conv=notrunc status=none
	fi
	echo "bad blocks left after clearing: [$(cat /sys/block/$disk/badblocks)]" >> "$1"
	repair_verdict $dev "$1"
}

grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
errors_before=$(daxcow_stat errors)
run_cases /tmp/bb.rust
errors_after=$(daxcow_stat errors)
rmmod daxcow || die "rmmod daxcow"
run_cases /tmp/bb.c
insmod "$DAXCOW_KO" || die "insmod daxcow"

sed 's/^/  rust: /' /tmp/bb.rust
has() { grep -qxF "$1" /tmp/bb.rust; }
# has_error PREFIX: the line "PREFIX: X" where X is an errno name (not "ok", "same", ...).
has_error() { grep -qE "^$1: E[A-Z]+$" /tmp/bb.rust; }
check "bad blocks: a and b share the block that goes bad" has "setup: block 1 shared by a and b: True"
check "bad blocks: the driver knows the bad range" has "setup: bad range known to the driver: True"
check "bad blocks: reading the bad block fails" has_error "read b's bad block"
check "bad blocks: an unaligned write needing the bad block fails" has_error "unaligned write into b over the bad block"
check "bad blocks: ... and leaves b sharing the old block" has "b still shares the bad block after the failed write: True"
check "bad blocks: a write fault needing the bad block gets SIGBUS" has "mmap store into b's bad block: SIGBUS"
check "bad blocks: ... and leaves b sharing the old block" has "b still shares the bad block after the failed fault: True"
# FIDEDUPERANGE itself succeeds; the per-destination status carries the error.
check "bad blocks: dedupe over the bad block fails with status EIO" has "dedupe a->b over the bad block: ok status EIO"
check "bad blocks: unshare over the bad block fails" has_error "unshare b over the bad block"
check "bad blocks: ... and leaves b sharing the old block" has "b still shares the bad block after the failed unshare: True"
check "bad blocks: a write into a good shared block still works" has "unaligned write into b's block 3: ok 100"
check "bad blocks: unshare of good blocks still works" has "unshare b's blocks 8-15: ok"
check "bad blocks: no other block of a changed" has "a: blocks other than 1 and 3: ['same']"
check "bad blocks: no other block of b changed" has "b: blocks other than 1 and 3: ['same']"
check "bad blocks: the good write kept the old head and tail" has "b's block 3 has the write and the old head and tail: True"
check "bad blocks: a's copy of the written block is untouched" has "a's block 3 is untouched: same"
check "bad blocks: the bad range clears" has "bad blocks left after clearing: []"
check "bad blocks: xfs_repair -n is clean afterwards" has "xfs_repair -n: clean"
check "bad blocks: the Rust engine reported the failures" test $((errors_after - errors_before)) -ge 1
# The sector numbers may differ between runs; everything else must not.
same_as_c "bad blocks" <(grep -v '^bad sector range' /tmp/bb.c) <(grep -v '^bad sector range' /tmp/bb.rust)
finish
