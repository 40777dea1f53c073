#!/bin/bash
# Last in run-all.sh: on a kernel with kmemleak (the debug profile), unload daxcow, scan for
# leaks and fail on any unreferenced object.  Prints nothing on kernels without kmemleak.
set -u
. "$(dirname "$0")/lib.sh"
leaks=/sys/kernel/debug/kmemleak
[ -e $leaks ] || exit 0
# Unloading frees everything the module owns; what it leaked stays allocated and unreferenced.
if grep -q '^daxcow ' /proc/modules; then
	check "kmemleak: rmmod daxcow" rmmod daxcow
fi
# Objects allocated moments ago are not reported (kmemleak waits ~5 s for a reference to
# appear), so scan twice with a pause, as the kmemleak documentation suggests.
echo scan > $leaks; sleep 6; echo scan > $leaks
report=$(cat $leaks)
if [ -z "$report" ]; then
	pass "kmemleak: no unreferenced object after all guest tests"
else
	echo "$report" | head -60 | sed 's/^/  | /'
	fail "kmemleak: $(grep -c '^unreferenced object' <<< "$report") unreferenced objects"
fi
finish
