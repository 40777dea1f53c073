#!/bin/bash
# Bad input to FICLONERANGE and FIDEDUPERANGE gets the same answers, and leaves the same bytes,
# with daxcow loaded as with the in-tree C engine.
set -u
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem0 mnt=/mnt/bad other=/tmp/bad-other
mkdir -p $other

run_cases() {  # $1: output file
	mkfs_dax $dev $mnt
	python3 "$here/badinput.py" $mnt $other > "$1" 2>&1
	umount $mnt
}

grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
before=$(daxcow_stat compares)
run_cases /tmp/bad.rust
after=$(daxcow_stat compares)
rmmod daxcow || die "rmmod daxcow"
run_cases /tmp/bad.c
insmod "$DAXCOW_KO" || die "insmod daxcow"

sed 's/^/  rust: /' /tmp/bad.rust
check "bad input: all cases ran" test "$(wc -l < /tmp/bad.rust)" -ge 25
check "bad input: the Rust engine did the compares" test $((after - before)) -ge 3
if diff -u /tmp/bad.c /tmp/bad.rust > /tmp/bad.diff; then
	pass "bad input: same errno, results and bytes with daxcow and with the C engine"
else
	sed 's/^/  | /' /tmp/bad.diff
	fail "bad input: results differ between daxcow and the C engine"
fi
finish
