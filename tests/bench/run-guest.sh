#!/bin/bash
# `make bench`, inside the guest: prepares files on pmem once, then for each round runs every
# workload with daxcow loaded and with it unloaded (the order alternates between rounds), and
# appends one JSON line per run to $BENCH_OUT.  See docs/BENCHMARKS.md for the method.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/target/release/daxcow-bench
out=${BENCH_OUT:?}
rounds=${BENCH_ROUNDS:-5}
size_mb=${BENCH_SIZE_MB:-1024}
faults4k=${BENCH_FAULTS_4K:-4000}
faults2m=${BENCH_FAULTS_2M:-64}
pwrites=${BENCH_PWRITES:-4000}
pwrites1m=${BENCH_PWRITES_1M:-64}
ko=${DAXCOW_KO:?}
A=/mnt/bench P=/mnt/bench-pmd
die() { echo "bench: $*" >&2; exit 1; }
: > "$out"

mkdir -p $A $P
mkfs.xfs -f -q -m reflink=1 /dev/pmem0 >/dev/null && mount -o dax=always /dev/pmem0 $A || die "pmem0"
mkfs.xfs -f -q -m reflink=1 -d su=2m,sw=1 /dev/pmem1 >/dev/null && mount -o dax=always /dev/pmem1 $P || die "pmem1"

echo "bench: preparing ${size_mb} MiB files"
xfs_io -f -c "pwrite -q -S 0x3c -b 4m 0 ${size_mb}m" $A/base || die "base"
cp --reflink=never $A/base $A/dup
cp --reflink=never $A/base $A/diff
xfs_io -c "pwrite -q -S 0x3d $(( size_mb * 1048576 - 4096 )) 4096" $A/diff
xfs_io -f -c "pwrite -q -S 0x11 -b 4m 0 512m" $A/limit
touch $P/p && xfs_io -c "extsize 2m" -c "cowextsize 2m" $P/p
xfs_io -c "pwrite -q -S 0x22 -b 4m 0 $(( faults2m * 2 + 64 ))m" $P/p
sync

engine() {  # rust | c
	if [ "$1" = rust ]; then
		grep -q '^daxcow ' /proc/modules || insmod "$ko" || die "insmod"
	else
		! grep -q '^daxcow ' /proc/modules || rmmod daxcow || die "rmmod"
	fi
}
record() {  # engine round json...
	local e=$1 r=$2; shift 2
	local line
	while read -r line; do
		echo "{\"engine\":\"$e\",\"round\":$r,\"result\":$line}" >> "$out"
		echo "  $e round $r: $line"
	done < <("$@" || echo '{"workload":"error"}')
}

for r in $(seq 1 "$rounds"); do
	order="rust c"; [ $((r % 2)) = 0 ] && order="c rust"
	for e in $order; do
		engine $e
		cp --reflink=always $A/base $A/c4k; sync
		record $e $r "$bin" fault4k $A/c4k "$faults4k" "$r"
		rm -f $A/c4k
		cp --reflink=always $P/p $P/c2m && xfs_io -c "cowextsize 2m" $P/c2m; sync
		record $e $r "$bin" fault2m $P/c2m "$faults2m" "$r"
		rm -f $P/c2m
		cp --reflink=always $A/base $A/cw; sync
		record $e $r "$bin" pwrite $A/cw "$pwrites" 100 "$r"
		rm -f $A/cw; sync
		cp --reflink=always $A/base $A/cw; sync
		record $e $r "$bin" pwrite $A/cw "$pwrites1m" $((1 << 20)) "$r"
		rm -f $A/cw; sync
		record $e $r "$bin" dedupe $A/base $A/dup $(( size_mb << 20 )) dedupe_same
		record $e $r "$bin" unshare $A/dup
		record $e $r "$bin" dedupe $A/base $A/diff $(( size_mb << 20 )) dedupe_differ_last_page
		sync
	done
	record limit $r "$bin" limit $A/limit
done
grep -q '^daxcow ' /proc/modules || insmod "$ko"
umount $A $P
echo "bench: $(wc -l < "$out") results in $out"
