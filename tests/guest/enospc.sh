#!/bin/bash
# CoW into a full file system (issue: failure paths, case 5): enospc.py under daxcow and under
# the C engine; the outcomes must be identical, clean errors, and b never half-written.
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem0 mnt=/mnt/enospc

run_cases() {  # $1: output file
	mkfs_dax $dev $mnt
	python3 "$here/enospc.py" $mnt > "$1" 2>&1
	umount $mnt
	repair_verdict $dev "$1"
}

grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
run_cases /tmp/ns.rust
rmmod daxcow || die "rmmod daxcow"
run_cases /tmp/ns.c
insmod "$DAXCOW_KO" || die "insmod daxcow"

sed 's/^/  rust: /' /tmp/ns.rust
has() { grep -qxF "$1" /tmp/ns.rust; }
check "ENOSPC: the file system is full" has "file system full: True"
check "ENOSPC: an unaligned write into a shared block fails with ENOSPC" has "unaligned write into shared b: ENOSPC"
check "ENOSPC: ... and leaves b as it was" has "b unchanged after the failed write: True"
check "ENOSPC: a CoW write fault gets SIGBUS" has "mmap store into shared b: killed by SIGBUS"
check "ENOSPC: ... and leaves b as it was" has "b unchanged after the failed fault: True"
check "ENOSPC: unshare fails with ENOSPC" has "unshare b: ENOSPC"
check "ENOSPC: ... and leaves b as it was" has "b unchanged after the failed unshare: True"
check "ENOSPC: with space again, the write works" has "after freeing space, unaligned write: ok 100"
check "ENOSPC: ... keeping the old head and tail" has "the write landed with the old head and tail: True"
check "ENOSPC: with space again, the fault works" has "after freeing space, mmap store: exit 0"
check "ENOSPC: with space again, unshare works" has "after freeing space, unshare: ok"
check "ENOSPC: a unchanged throughout" has "a unchanged throughout: True"
check "ENOSPC: xfs_repair -n is clean" has "xfs_repair -n: clean"
same_as_c "ENOSPC" /tmp/ns.c /tmp/ns.rust
finish
