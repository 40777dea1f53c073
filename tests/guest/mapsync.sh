#!/bin/bash
# MAP_SYNC write faults (4 KiB and 2 MiB) into shared extents, under daxcow and under the
# in-tree C engine: the data must be right under both; daxcow must take the faults it is
# asked for.  Durability of the copied bytes is checked by the trace build (see mapsync.py).
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem1 mnt=/mnt/mapsync
run() {  # OUTPUT ENGINE
	mkdir -p $mnt
	mkfs.xfs -f -q -m reflink=1 -d su=2m,sw=1 $dev >/dev/null 2>&1 || die "mkfs.xfs $dev"
	mount -o dax=always $dev $mnt || die "mount $dev"
	python3 "$here/mapsync.py" $mnt > "$1" 2>&1
	umount $mnt
}
under_both_engines mapsync run
check "MAP_SYNC: two 4 KiB CoW faults taken by daxcow" rust "pte: pte faults 2, pmd faults 0"
check "MAP_SYNC: 4 KiB faults keep every byte, both engines" both "pte: clone holds the stores and the old bytes: True"
check "MAP_SYNC: ... and the source, both engines" both "pte: source untouched: True"
check "MAP_SYNC: two 2 MiB CoW faults taken by daxcow" rust "pmd: pte faults 0, pmd faults 2"
check "MAP_SYNC: 2 MiB faults keep every byte, both engines" both "pmd: clone holds the stores and the old bytes: True"
check "MAP_SYNC: ... and the source, both engines" both "pmd: source untouched: True"
finish
