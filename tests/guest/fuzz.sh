#!/bin/bash
# The differential CoW fuzzer (tests/fuzz) on /dev/pmem1, with rmmod/insmod of daxcow among the
# steps: FUZZ_SEEDS (default "1 2 3") seeds of FUZZ_OPS (default 500) operations each, every
# file compared with the model after every step, then xfs_repair -n.  `make soak` runs it with
# more seeds and operations.
set -u
. "$(dirname "$0")/lib.sh"

fuzz=$DAXCOW_TOP/tests/fuzz/target/release/daxcow-fuzz
[ -x "$fuzz" ] || die "no fuzzer binary at $fuzz (cargo build --release in tests/fuzz)"
dev=/dev/pmem1 mnt=/mnt/fuzz
mkdir -p $mnt
ko=""
grep -q '^daxcow ' /proc/modules && ko=$DAXCOW_KO
total=0 t0=$(date +%s)
for seed in ${FUZZ_SEEDS:-1 2 3}; do
	if out=$("$fuzz" $dev $mnt "$seed" "${FUZZ_OPS:-500}" $ko 2>&1); then
		pass "fuzz seed $seed: $(echo "$out" | tail -1)"
		total=$((total + ${FUZZ_OPS:-500}))
	else
		echo "$out" | sed 's/^/  /' | tail -80
		fail "fuzz seed $seed (replay: daxcow-fuzz DEV MNT $seed ${FUZZ_OPS:-500} KO)"
	fi
	grep -q '^daxcow ' /proc/modules || { [ -n "$ko" ] && insmod "$ko"; }
done
secs=$(( $(date +%s) - t0 ))
info "fuzz: $total ops in ${secs}s ($(( total / (secs > 0 ? secs : 1) )) ops/s)"
check "fuzz: xfs_repair -n clean at the end" quiet xfs_repair -n $dev
finish
