#!/bin/bash
# Every in-guest test, in one boot (qemu/run -- tests/guest/run-all.sh).  Each script prints
# PASS:/FAIL: lines; this one exits non-zero if any script failed.
#
# Under the persistence-trace build of the module (qemu/run --trace), the module counts every
# stored byte range that was not durable when its operation ended (src/persist.rs); each script
# then also fails when that count moved while it ran, and the run ends with the total.
here=$(cd "$(dirname "$0")" && pwd)
stats=/sys/kernel/debug/daxcow/stats
violations() { awk '$1 == "persistence_violations" { print $2 }' $stats 2>/dev/null; }
traced=0
[ -n "$(violations)" ] && traced=1
# The module's counter resets when a script reloads it, and a script may clear the kernel log
# (dmesg -c), so violations are counted from a copy of every kernel message: a /dev/kmsg reader
# keeps its own position.  A marker written to the log and seen in the copy means every earlier
# message is in it.
kmsg=/tmp/run-all.kmsg
copy_ok=1
if [ $traced = 1 ]; then
	cat /dev/kmsg > $kmsg &
	reader=$!
	trap 'kill $reader 2>/dev/null' EXIT
fi
logged() {  # MARKER: sets $count to the number of violation messages logged before MARKER
	echo "daxcow run-all: $1" > /dev/kmsg
	local i
	for i in $(seq 50); do grep -q "daxcow run-all: $1\$" $kmsg && break; sleep 0.1; done
	# The reader ends if the kernel's ring overtakes it (EPIPE): then nothing is counted any
	# more, and the run must not pass.
	grep -q "daxcow run-all: $1\$" $kmsg && kill -0 $reader 2>/dev/null || copy_ok=0
	count=$(grep -c 'daxcow: persistence violation in ' $kmsg)
}
total=0
rc=0
for t in module.sh engine.sh dmlinear.sh cfixes.sh mapsync.sh pmd.sh apply2.sh badinput.sh badblocks.sh enospc.sh failslab.sh lifecycle.sh fuzz.sh demo.sh devremove.sh memfail.sh kmemleak.sh; do
	echo "== $t"
	if [ $traced = 1 ]; then logged "before $t"; before=$count; fi
	bash "$here/$t" || rc=1
	# Each script leaves pmem unmounted; make sure of it for the next one.
	umount /mnt/* 2>/dev/null
	if [ $traced = 1 ]; then
		logged "after $t"
		n=$((count - before))
		total=$((total + n))
		if [ $copy_ok = 0 ]; then
			echo "FAIL: $t: the copy of the kernel log lost messages; violations not counted"
			rc=1
		elif [ $n = 0 ]; then
			echo "PASS: $t: no persistence violation (trace build)"
		else
			grep 'daxcow: persistence violation in ' $kmsg | tail -n "$n" | head -5 | sed 's/^/  | /'
			echo "FAIL: $t: $n persistence violations (trace build)"
			rc=1
		fi
	fi
done
if [ $traced = 1 ]; then
	if [ $copy_ok = 1 ]; then
		echo "persistence violations: $total"
	else
		echo "persistence violations: not counted (kernel log copy lost messages)"
	fi
fi
exit $rc
