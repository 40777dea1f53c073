#!/bin/bash
# daxcow_iomap_apply2(), the two-file iterator exported for C callers, run from C (the debugfs
# caller in src/daxcow_apply2.c) over files of data, holes and unwritten extents; see apply2.py.
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
mkfs_dax /dev/pmem0 /mnt/apply2
python3 "$here/apply2.py" /mnt/apply2 > /tmp/apply2.out 2>&1
umount /mnt/apply2
sed 's/^/  /' /tmp/apply2.out
has() { grep -qxF "$1" /tmp/apply2.out; }
for c in "whole files" "shifted ranges"; do
	check "apply2 from C ($c): the walk covered the range" has "$c: result 1"
	check "apply2 from C ($c): its pairs tile both ranges with FIEMAP's kinds" \
		grep -qE "^$c: [0-9]+ pairs tile the range with FIEMAP's kinds: True$" /tmp/apply2.out
done
check "apply2: the symbol is exported for other modules" grep -q ' daxcow_iomap_apply2	\[daxcow\]' /proc/kallsyms
finish
