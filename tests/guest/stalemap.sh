#!/bin/bash
# A shared read mapping against copy-on-write writes of the same file (stalemap.py), under
# each engine, in the racing boot whose two vCPUs run in parallel (tests/guest/race.sh): no
# page reads older data than a completed pwrite() (patches/0014), the reader is never killed
# (a fault meeting the entry of a remapped block: patches/0011), and no kernel report (0011-0013).
# Each engine's run lasts STALEMAP_SECS (20), and longer, up to six times as long, until the
# writer has written 10 times and the reader made 10 passes (a debug kernel is that slow).
# On the pristine kernel (PROFILE=pristine, 7.3 without the series) these checks fail:
# docs/failure-model.md records that run.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || die "the stale-mapping race needs two CPUs; the guest has $(nproc)"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem1 mnt=/mnt/stalemap
secs=${STALEMAP_SECS:-20}
umount $mnt 2>/dev/null

run() {  # OUTPUT ENGINE
	mkfs_dax $dev $mnt
	dmesg -C
	python3 "$here/stalemap.py" $mnt/f "$secs" > "$1" 2>&1
	if dmesg | grep -qE 'WARNING|BUG|Bad page'; then
		echo "kernel log: a report" >> "$1"
		dmesg | grep -m3 -A3 -E 'WARNING|BUG|Bad page' | sed 's/^/  | /' >> "$1"
	else
		echo "kernel log: no report" >> "$1"
	fi
	umount $mnt
}

t="stale mapping"
under_both_engines stalemap run

check "$t: no page of the mapping read older data than a completed pwrite() (0014)" \
	both "stale reads: 0"
check "$t: the reader was never killed by a fault (0011)" \
	both "reader: never killed"
check "$t: ... and the two processes raced: at least 10 writes and 10 reader passes" \
	both "raced: at least 10 writes and 10 reader passes"
check "$t: no kernel report while they raced (0011-0013)" \
	both "kernel log: no report"
finish
