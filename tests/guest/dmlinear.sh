#!/bin/bash
# Short mappings: the CoW paths on a device-mapper device whose target boundaries cut the
# extents the operations use (see dmlinear.py).  The plan runs once on a one-target device;
# the checked run then goes once with daxcow and once with the in-tree C engine.  Both must
# keep every byte of every file and every canary past every target end: the C does since
# patches/0004 (docs/failure-model.md, "Short mappings", has what 7.3 did).
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
state=/tmp/dmlinear.plan

command -v dmsetup >/dev/null || die "dm-linear: dmsetup is not installed (make deps)"
! daxcow_available || grep -q '^daxcow ' /proc/modules || insmod "$DAXCOW_KO"
rm -f $state
python3 "$here/dmlinear.py" plan $state > /tmp/dmlinear.plan.log 2>&1
rc=$?
sed 's/^/  /' /tmp/dmlinear.plan.log
[ $rc = 0 ] && [ -s $state ] || die "dm-linear: the plan run failed (status $rc)"

run() {  # OUTPUT ENGINE: each engine's run writes other random data (seed 2 or 3)
	local seed=2
	[ "$2" = c ] && seed=3
	python3 "$here/dmlinear.py" run $state "$1" $seed 2>&1 | sed 's/^/  | /'
}
under_both_engines dmlinear run

plan() { grep -qxF "plan: $1" /tmp/dmlinear.plan.log; }
t="dm-linear"
check "$t: the boundaries are 4 KiB- but not 2 MiB-aligned" rust "boundaries are 4 KiB- but not 2 MiB-aligned and distinct: True"
check "$t: XFS on the dm device runs DAX" both "file a has STATX_ATTR_DAX: True"
check "$t: every extent straddles its boundary, under both engines" both "every extent landed where the plan put it: True"
check "$t: the file mapping is 2 MiB-aligned" both "d is mapped 2 MiB-aligned: True"
check "$t: the cases each cut one side only" test "$(grep -c ' is not cut: True$' /tmp/dmlinear.plan.log)" = 4
check "$t: unaligned write with a cut destination span" both "write 200 bytes at 12188 into b: ok 200"
check "$t: ... the copy around was asked once per mapped piece, 8 KiB less the 200 written" rust "write at 12188: copy-around calls 2, bytes copied 7992"
check "$t: unaligned write with a cut source span" both "write 200 bytes at 24476 into b: ok 200"
check "$t: ... one copy around, the head and tail copied from the source in pieces" rust "write at 24476: copy-around calls 1, bytes copied 7992"
check "$t: unshare across cut extents" both "unshare blocks 8-15 of b: ok"
check "$t: ... copied 32 KiB in pieces" rust "unshare: bytes copied 32768"
check "$t: a and b keep every byte after write and unshare" both "a after write and unshare: same"
check "$t: ... b" both "b after write and unshare: same"
check "$t: dedupe of equal ranges across cut extents says same" both "dedupe a[8-15] -> b[8-15] (equal): ok same 32768"
check "$t: dedupe of different ranges says differs" both "dedupe a[0-3] -> b[0-3] (different): ok differs 0"
check "$t: a and b keep every byte after dedupe" both "a after dedupe: same"
check "$t: ... b" both "b after dedupe: same"
bad="dedupe a[8-15] -> e[0-7] (different, e's block 5 bad)"
check "$t: dedupe, a bad destination block past the source's first piece: differs, not EIO" both "$bad: ok differs 0"
check "$t: ... the block is known bad to the driver (a read of it fails)" both "read e's block 5: EIO"
check "$t: ... without the cut the bad block is within both mappings: EIO (daxcow)" plan "$bad: ok status EIO"
check "$t: ... a keeps every byte" both "a after the dedupe with a bad block: same"
check "$t: ... the bad block is cleared afterwards" both "bad blocks left after clearing: none"
check "$t: PMD fault with a cut source: one PMD CoW, 2 MiB copied in pieces" rust "fault in d's first 2 MiB: pmd 1, pte 0, bytes copied 2097152"
check "$t: without the cuts, both faults are PMD CoW faults" plan "fault in d's second 2 MiB: pmd 1, pte 0, bytes copied 2097152"
check "$t: PMD fault with a cut destination falls back to one 4 KiB CoW" rust "fault in d's second 2 MiB: pmd 0, pte 1, bytes copied 4096"
check "$t: c and d keep every byte after the faults" both "c after faults: same"
check "$t: ... d" both "d after faults: same"
check "$t: xfs_repair -n is clean" both "xfs_repair -n: clean"
check "$t: neither engine stored past any target end (canaries intact)" both "canaries past every target end intact: yes"
finish
