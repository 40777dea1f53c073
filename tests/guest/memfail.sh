#!/bin/bash
# Memory failure on a shared DAX page (issue: failure paths, case 2).  memfail.py maps one block
# that two reflinked files share from two processes and injects a memory failure on it with
# madvise(MADV_HWPOISON).  Run with daxcow loaded (on pmem1) and with the C engine (on pmem0):
# a poisoned ZONE_DEVICE page cannot be unpoisoned, so each run gets a device of its own, and
# this script runs last among the tests that use pmem.
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
inject=/sys/kernel/debug/hwpoison
[ -d $inject ] || modprobe hwpoison_inject 2>/dev/null

run_cases() {  # $1: device, $2: output file
	local mnt=/mnt/memfail
	mkdir -p $mnt
	# The reverse map is how XFS finds every owner of a failed block.
	mkfs.xfs -f -q -m reflink=1,rmapbt=1 "$1" >/dev/null || die "mkfs.xfs $1"
	mount -o dax=always "$1" $mnt || die "mount $1"
	# Late kill (the default): only the process that touched the page is signalled.  Early
	# kill: every process mapping it is, at once.
	sysctl -q vm.memory_failure_early_kill=0
	python3 "$here/memfail.py" $mnt late > "$2" 2>&1
	sysctl -q vm.memory_failure_early_kill=1
	python3 "$here/memfail.py" $mnt early >> "$2" 2>&1
	sysctl -q vm.memory_failure_early_kill=0
	umount $mnt || echo "umount: failed" >> "$2"
	repair_verdict "$1" "$2"
}

grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
run_cases /dev/pmem1 /tmp/mf.rust
rmmod daxcow || die "rmmod daxcow"
run_cases /dev/pmem0 /tmp/mf.c
insmod "$DAXCOW_KO" || die "insmod daxcow"

sed 's/^/  rust: /' /tmp/mf.rust
has() { grep -qxF "$1" /tmp/mf.rust; }
for mode in late early; do
	check "memory failure ($mode kill): both processes map the shared block" has "$mode: both processes read the shared block: True"
	check "memory failure ($mode kill): the injecting process gets SIGBUS" has "$mode: process that injected the failure on a's page: killed by SIGBUS"
	check "memory failure ($mode kill): the file system keeps working" has "$mode: a new file can be written and read: True"
	check "memory failure ($mode kill): CoW from a good shared block still works" has "$mode: unaligned write into b's good shared block 3: True"
	check "memory failure ($mode kill): other blocks of a unchanged" has "$mode: a: blocks other than 1 and 3 unchanged: True"
	check "memory failure ($mode kill): other blocks of b unchanged" has "$mode: b: blocks other than 1 and 3 unchanged: True"
done
# Late kill: the other process is not signalled; its mapping was torn down and it reads the
# block again (injected poison leaves the memory readable).  Early kill: it gets SIGBUS too.
check "memory failure (late kill): the other process is not signalled" has "late: process that maps the same block through b: exit 0"
check "memory failure (early kill): the other process mapping the block gets SIGBUS" has "early: process that maps the same block through b: killed by SIGBUS"
check "memory failure: xfs_repair -n is clean" has "xfs_repair -n: clean"
same_as_c "memory failure" /tmp/mf.c /tmp/mf.rust
finish
