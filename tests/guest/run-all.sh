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
total=0
rc=0
for t in module.sh engine.sh dmlinear.sh mapsync.sh badinput.sh badblocks.sh enospc.sh failslab.sh lifecycle.sh fuzz.sh demo.sh devremove.sh memfail.sh kmemleak.sh; do
	echo "== $t"
	# Scripts that reload the module reset its counters: count per load, from the kernel log.
	[ $traced = 1 ] && before=$(dmesg | grep -c 'daxcow: persistence violation in ')
	bash "$here/$t" || rc=1
	# Each script leaves pmem unmounted; make sure of it for the next one.
	umount /mnt/* 2>/dev/null
	if [ $traced = 1 ]; then
		n=$(( $(dmesg | grep -c 'daxcow: persistence violation in ') - before ))
		total=$((total + n))
		if [ $n = 0 ]; then
			echo "PASS: $t: no persistence violation (trace build)"
		else
			dmesg | grep 'daxcow: persistence violation in ' | tail -n "$n" | head -5 | sed 's/^/  | /'
			echo "FAIL: $t: $n persistence violations (trace build)"
			rc=1
		fi
	fi
done
[ $traced = 1 ] && echo "persistence violations: $total"
exit $rc
