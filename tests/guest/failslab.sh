#!/bin/bash
# Slab allocation failures under a CoW (issue: failure paths, case 5).  failnth (tests/fuzz)
# fails every slab allocation of one operation in turn through /proc/thread-self/fail-nth:
# unaligned write, mmap store, zero range and unshare into shared blocks, dedupe, and, with
# daxcow, loading the module.  Each failure must give a clean error or a success, never a
# half-copied block, and the file system must stay consistent.  Run under daxcow and under the
# C engine; the outcomes must match.
set -u
. "$(dirname "$0")/lib.sh"
failnth=$DAXCOW_TOP/tests/fuzz/target/release/failnth
knobs=/sys/kernel/debug/failslab
[ -x "$failnth" ] || die "no failnth binary at $failnth (cargo build --release in tests/fuzz)"
[ -d $knobs ] || die "this kernel has no failslab (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
dev=/dev/pmem0 mnt=/mnt/failslab

# Sleeping allocations may fail too (the CoW paths allocate with GFP_KERNEL and GFP_NOFS); no
# stack dump per injected failure (hundreds of them on the serial console).
old_wait=$(cat $knobs/ignore-gfp-wait) old_verbose=$(cat $knobs/verbose)
echo N > $knobs/ignore-gfp-wait
echo 0 > $knobs/verbose
# qemu/run leaves the allocator's failure warnings between these two markers out of its check
# for kernel reports (and nothing else).
echo "daxcow-test: injected allocation failures begin" > /dev/kmsg

run_cases() {  # $1: output file, $2: daxcow.ko or nothing
	mkfs_dax $dev $mnt
	"$failnth" $dev $mnt ${2:-} > "$1" 2>&1
	echo "failnth exit: $?" >> "$1"
	umount $mnt || echo "umount: failed" >> "$1"
	repair_verdict $dev "$1"
}

grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
t0=$(date +%s)
run_cases /tmp/fsl.rust "$DAXCOW_KO"
info "daxcow run: $(( $(date +%s) - t0 ))s"
grep -q '^daxcow ' /proc/modules || die "failnth left daxcow unloaded"
rmmod daxcow || die "rmmod daxcow"
run_cases /tmp/fsl.c
insmod "$DAXCOW_KO" || die "insmod daxcow"
echo "daxcow-test: injected allocation failures end" > /dev/kmsg
echo "$old_wait" > $knobs/ignore-gfp-wait
echo "$old_verbose" > $knobs/verbose

sed 's/^/  rust: /' /tmp/fsl.rust
has() { grep -qxF "$1" /tmp/fsl.rust; }
points() { sed -n "s/^  $1: \([0-9]*\) allocations failed one at a time.*/\1/p" /tmp/fsl.rust; }
check "failslab: no broken invariant under daxcow" has "failnth exit: 0"
for op in write fault zero unshare dedupe; do
	check "failslab: $op: every allocation failed once ($(points $op) of them), each a clean outcome" \
		grep -q "^  $op: [0-9]* allocations failed one at a time" /tmp/fsl.rust
done
check "failslab: loading daxcow failed at each of its $(points load) allocations, cleanly" \
	test "$(points load)" -gt 0 2>/dev/null
check "failslab: xfs_repair -n is clean" has "xfs_repair -n: clean"
# The load runs only with daxcow.  The kinds of outcome must match the C engine's; the counts
# (indented lines) vary by one or two from run to run under either engine.
grep -v '^load:\|^  ' /tmp/fsl.rust > /tmp/fsl.rust.cmp
grep -v '^  ' /tmp/fsl.c > /tmp/fsl.c.cmp
same_as_c "failslab" /tmp/fsl.c.cmp /tmp/fsl.rust.cmp
finish
