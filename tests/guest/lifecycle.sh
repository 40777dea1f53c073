#!/bin/bash
# Engine lifecycle under load (issue: failure paths, case 4): daxcow is unloaded and loaded
# LIFECYCLE_CYCLES times (100 in make check, 1000 in make check-failure) while four processes
# CoW-write, fault, dedupe and unshare; every byte is checked against their models at the end.
# An operation that starts while the engine is going away runs on the C engine (fs/dax.c
# waits for the SRCU readers before an unregister returns), so no operation may fail.
set -u
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
cycles=${LIFECYCLE_CYCLES:-100}
dev=/dev/pmem0 mnt=/mnt/lifecycle stop=/tmp/lifecycle.stop

mkfs_dax $dev $mnt
grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
rm -f $stop
python3 "$here/lifecycle.py" $mnt $stop > /tmp/lifecycle.out 2>&1 &
workers=$!
sleep 3
done_cycles=0 t0=$(date +%s)
for _ in $(seq "$cycles"); do
	rmmod daxcow || break
	insmod "$DAXCOW_KO" || break
	done_cycles=$((done_cycles + 1))
done
secs=$(( $(date +%s) - t0 ))
touch $stop
wait $workers
grep -q '^daxcow ' /proc/modules || insmod "$DAXCOW_KO"
sed 's/^/  /' /tmp/lifecycle.out
info "$done_cycles rmmod/insmod cycles in ${secs}s under load"
check "lifecycle: $cycles rmmod/insmod cycles under four CoW workers" test "$done_cycles" = "$cycles"
for kind in write fault dedupe unshare; do
	check "lifecycle: $kind worker made progress, hit no error, and its files match the model" \
		grep -qE "^worker $kind: [1-9][0-9]* ops, error none, data ok$" /tmp/lifecycle.out
done
umount $mnt
check "lifecycle: xfs_repair -n is clean" quiet xfs_repair -n $dev
finish
