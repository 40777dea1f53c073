#!/bin/bash
# The daxcow module itself: it loads, says which kernel it was built for, and unloads cleanly,
# repeatedly.
set -u
. "$(dirname "$0")/lib.sh"

ko=${DAXCOW_KO:?}
release=$(uname -r)
if [ "${DAXCOW_MODULE_LOADED:-0}" != 1 ]; then
	insmod "$ko" || die "insmod $ko"
fi
check "daxcow is loaded" grep -q '^daxcow ' /proc/modules
check "load message names the kernel it was built for" \
	bash -c "dmesg | grep -q 'daxcow [0-9.]* loaded (built for Linux $release)'"
# The module's KUnit suite runs when it loads (CONFIG_KUNIT): all pass, none fail.
check "KUnit suite daxcow ran and passed" bash -c "dmesg | grep -qE '# daxcow: pass:[1-9][0-9]* fail:0 '"
check "KUnit suite daxcow_recovery (machine-check fixups, run on page faults) ran and passed" \
	bash -c "dmesg | grep -qE '# daxcow_recovery: pass:[1-9][0-9]* fail:0 '"
# A skipped case reports "ok": the guest's CPU has ERMS and no kernel here has KASAN_VMALLOC,
# so the edge-copy case must have run.
check "KUnit: the edge-copy recovery case ran (not skipped)" \
	bash -c "! dmesg | grep -q 'edge copy recovery: skipped'"
check "KUnit: no test reported not ok" bash -c "! dmesg | grep -q 'not ok '"
check "engine registered with fs/dax.c" bash -c "dmesg | grep -q 'copy-on-write engine daxcow registered'"
check "modinfo: license GPL" bash -c "modinfo -F license '$ko' | grep -qx GPL"

ok=1
for i in 1 2 3 4 5; do
	rmmod daxcow || { ok=0; break; }
	grep -q '^daxcow ' /proc/modules && { ok=0; break; }
	insmod "$ko" || { ok=0; break; }
done
check "5 rmmod/insmod cycles" test $ok = 1
check "unload message logged" bash -c "dmesg | grep -q 'daxcow [0-9.]* unloaded'"
finish
