#!/bin/bash
# The failure-path suite in one boot (make check-failure; docs/failure-model.md).  Each case
# runs under daxcow and under the C engine and compares.  Memory failure goes last among the
# pmem users: a poisoned ZONE_DEVICE page cannot be unpoisoned.
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in badblocks.sh enospc.sh failslab.sh lifecycle.sh devremove.sh memfail.sh kmemleak.sh; do
	echo "== $t"
	bash "$here/$t" || rc=1
	umount /mnt/* 2>/dev/null
done
exit $rc
