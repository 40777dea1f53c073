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
if [ $traced = 1 ]; then
	cat /dev/kmsg > $kmsg &
	reader=$!
fi
logged() {  # MARKER: the number of violation messages logged before MARKER
	echo "daxcow run-all: $1" > /dev/kmsg
	local i
	for i in $(seq 50); do grep -q "daxcow run-all: $1\$" $kmsg && break; sleep 0.1; done
	grep -q "daxcow run-all: $1\$" $kmsg || echo "  (the kernel log copy did not catch up)" >&2
	grep -c 'daxcow: persistence violation in ' $kmsg
}
total=0
rc=0
for t in module.sh engine.sh dmlinear.sh mapsync.sh badinput.sh badblocks.sh enospc.sh failslab.sh lifecycle.sh fuzz.sh demo.sh devremove.sh memfail.sh kmemleak.sh; do
	echo "== $t"
	[ $traced = 1 ] && before=$(logged "before $t")
	bash "$here/$t" || rc=1
	# Each script leaves pmem unmounted; make sure of it for the next one.
	umount /mnt/* 2>/dev/null
	if [ $traced = 1 ]; then
		n=$(( $(logged "after $t") - before ))
		total=$((total + n))
		if [ $n = 0 ]; then
			echo "PASS: $t: no persistence violation (trace build)"
		else
			grep 'daxcow: persistence violation in ' $kmsg | tail -n "$n" | head -5 | sed 's/^/  | /'
			echo "FAIL: $t: $n persistence violations (trace build)"
			rc=1
		fi
	fi
done
if [ $traced = 1 ]; then
	echo "persistence violations: $total"
	kill $reader 2>/dev/null
fi
exit $rc
