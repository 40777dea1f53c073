#!/bin/bash
# PMD CoW faults under concurrency and their fallbacks to 4 KiB (pmd.py), under daxcow and under
# the in-tree C engine: the data must be right under both, and daxcow must take a PMD fault
# where one is possible and fall back where it is not.
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem1 mnt=/mnt/pmd
run() {  # OUTPUT ENGINE
	mkdir -p $mnt
	mkfs.xfs -f -q -m reflink=1 -d su=2m,sw=1,extszinherit=512,cowextsize=512 $dev >/dev/null 2>&1 ||
		die "mkfs.xfs $dev"
	mount -o dax=always $dev $mnt || die "mount $dev"
	python3 "$here/pmd.py" $mnt > "$1" 2>&1
	umount $mnt
	repair_verdict $dev "$1"
}
under_both_engines pmd run
check "PMD: four concurrent writers finished, both engines" both "concurrent: four writers exited cleanly: True"
check "PMD: concurrent faults on one shared 2 MiB: one PMD CoW fault, no 4 KiB one" rust "concurrent: faults pmd 1, pte 0"
check "PMD: ... every store and old byte kept, both engines" both "conc: clone holds every store and every old byte: True"
check "PMD: ... source untouched, both engines" both "conc: source untouched: True"
check "PMD: EOF inside the 2 MiB falls back to one 4 KiB CoW" rust "eof: faults pmd 0, pte 1"
check "PMD: ... data right, both engines" both "eof: clone holds every store and every old byte: True"
check "PMD: ... source untouched, both engines" both "eof: source untouched: True"
check "PMD: the split source is more than one extent" both "split: the source's 2 MiB is more than one extent: True"
check "PMD: a 2 MiB of two old extents falls back to one 4 KiB CoW" rust "split: faults pmd 0, pte 1"
check "PMD: ... data right, both engines" both "split: clone holds every store and every old byte: True"
check "PMD: ... source untouched, both engines" both "split: source untouched: True"
check "PMD: xfs_repair -n clean, both engines" both "xfs_repair -n: clean"
finish
