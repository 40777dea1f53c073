#!/bin/bash
# `make bench-profile`, inside the guest: where the time of each workload goes, per engine.
# perf samples every CPU on the cpu-clock software event (TCG has no hardware counters) while
# one run of a workload goes on with daxcow loaded, then with it unloaded, on the same files;
# `perf report` writes the hottest symbols to $PROFILE_OUT/ENGINE-WORKLOAD.txt.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/target/release/daxcow-bench
out=${PROFILE_OUT:?}
size_mb=${BENCH_SIZE_MB:-256}
ko=${DAXCOW_KO:?}
A=/mnt/bench P=/mnt/bench-pmd
die() { echo "profile: $*" >&2; exit 1; }
command -v perf >/dev/null || die "no perf in the guest (the host's linux-perf package)"
mkdir -p "$out" /tmp/perf
rm -f "$out"/*.txt

mkdir -p $A $P
mkfs.xfs -f -q -m reflink=1 /dev/pmem0 >/dev/null && mount -o dax=always /dev/pmem0 $A || die "pmem0"
mkfs.xfs -f -q -m reflink=1 -d su=2m,sw=1 /dev/pmem1 >/dev/null && mount -o dax=always /dev/pmem1 $P || die "pmem1"
xfs_io -f -c "pwrite -q -S 0x3c -b 4m 0 ${size_mb}m" $A/base || die "base"
cp --reflink=never $A/base $A/diff
xfs_io -c "pwrite -q -S 0x3d $(( size_mb * 1048576 - 4096 )) 4096" $A/diff
touch $P/p && xfs_io -c "extsize 2m" -c "cowextsize 2m" $P/p
xfs_io -c "pwrite -q -S 0x22 -b 4m 0 96m" $P/p
sync

engine() {
	if [ "$1" = rust ]; then
		grep -q '^daxcow ' /proc/modules || insmod "$ko" || die "insmod"
	else
		! grep -q '^daxcow ' /proc/modules || rmmod daxcow || die "rmmod"
	fi
}

# profile ENGINE WORKLOAD COMMAND...: perf record around COMMAND, report into the output dir.
profile() {
	local e=$1 w=$2; shift 2
	local data=/tmp/perf/$e-$w.data
	perf record -q -a -e cpu-clock -F 999 -o "$data" -- "$@" > "/tmp/perf/$e-$w.result" 2>/dev/null ||
		echo "profile: perf record failed for $e $w" >&2
	{
		echo "# $e $w: $(cat "/tmp/perf/$e-$w.result")"
		perf report -i "$data" --stdio --no-children --sort sym --percent-limit 0.5 2>/dev/null |
			grep -v '^$'
	} > "$out/$e-$w.txt"
	echo "profile: $e $w: $(grep -c '%' "$out/$e-$w.txt") symbols"
}

for e in rust c; do
	engine $e
	cp --reflink=always $A/base $A/c4k; sync
	profile $e fault_4k "$bin" fault4k $A/c4k 2000 1
	rm -f $A/c4k
	cp --reflink=always $P/p $P/c2m && xfs_io -c "cowextsize 2m" $P/c2m; sync
	profile $e fault_2m "$bin" fault2m $P/c2m 32 1
	rm -f $P/c2m
	cp --reflink=always $A/base $A/cw; sync
	profile $e pwrite_unaligned "$bin" pwrite $A/cw 2000 100 1
	rm -f $A/cw; sync
	profile $e dedupe_differ_last_page "$bin" dedupe $A/base $A/diff $(( size_mb << 20 )) dedupe_differ_last_page
	sync
done
grep -q '^daxcow ' /proc/modules || insmod "$ko"
umount $A $P
