#!/bin/bash
# Every in-guest test, in one boot (qemu/run -- tests/guest/run-all.sh).  Each script prints
# PASS:/FAIL: lines; this one exits non-zero if any script failed.
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in module.sh engine.sh dmlinear.sh badinput.sh badblocks.sh enospc.sh failslab.sh lifecycle.sh fuzz.sh demo.sh devremove.sh memfail.sh kmemleak.sh; do
	echo "== $t"
	bash "$here/$t" || rc=1
	# Each script leaves pmem unmounted; make sure of it for the next one.
	umount /mnt/* 2>/dev/null
done
exit $rc
