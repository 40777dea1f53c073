#!/usr/bin/env bash
# What kmemleak costs the debug kernel (qemu/kernel-debug.config) under the fstests run's load:
# milliseconds per process start and per process that reflinks and copies on write, with
# kmemleak tracking every allocation and after `echo off` turned it off, and the two scans that
# fstests' check makes after every test while kmemleak is on.  qemu/fstests-guest turns kmemleak
# off for these reasons (README, "The debug fstests run").
#   scripts/kmemleak-cost.sh [RUNS]     (default 50 runs per figure; PROFILE=debug, the default)
# TCG figures: compare the rows of one run, which share the host's load, not absolute times.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-50}
case $runs in
'' | *[!0-9]* | 0) echo "scripts/kmemleak-cost.sh: RUNS must be a number above 0" >&2; exit 2 ;;
esac
export PROFILE=${PROFILE:-debug}

guest='set -eu
runs=$1 knob=/sys/kernel/debug/kmemleak
[ -w "$knob" ] && echo scan=off > "$knob" || { echo "kmemleak-cost: this kernel has no kmemleak"; exit 1; }
mkfs.xfs -f -q -m reflink=1 /dev/pmem1
mkdir -p /mnt/kmemleak-cost
mount -o dax=always /dev/pmem1 /mnt/kmemleak-cost
src=/mnt/kmemleak-cost/src dst=/mnt/kmemleak-cost/dst
xfs_io -f -c "pwrite -S 0x5a 0 1m" "$src" > /dev/null
# As qemu/fstests-guest runs the tests: randomization off, the programs on tmpfs.
echo 0 > /proc/sys/kernel/randomize_va_space
qemu/stage-on-tmpfs /dev/shm/kmemleak-cost-stage xfs_io true > /dev/null
# Milliseconds the command took ($EPOCHREALTIME: no process start of its own in the figure).
ms() {
	local start end
	start=${EPOCHREALTIME/./}
	"$@"
	end=${EPOCHREALTIME/./}
	echo $(((end - start) / 1000))
}
loop() { local i; for ((i = 0; i < runs; i++)); do "$@" > /dev/null; done; }
# A process that shares 1 MiB and then writes 64 KiB into it: an exec, a reflink, 16 CoW writes.
cow() { xfs_io -f -c "reflink $src 0 0 1m" -c "pwrite -b 4k 0 64k" "$dst"; }
# What check does after each test (fstests common/rc, _capture_kmemleak).
scans() { echo scan > "$knob"; cat "$knob" > /dev/null; echo scan > "$knob"; cat "$knob" > /dev/null; echo clear > "$knob"; }
loop /bin/true; loop cow     # the translation cache and the page cache of the 9p root
row() {
	echo "kmemleak-cost: $1: /bin/true $(( $(ms loop /bin/true) / runs )) ms, reflink and CoW $(( $(ms loop cow) / runs )) ms$2"
}
row "kmemleak on" ", the two scans after a test $(ms scans) ms"
# Off: kmemleak frees what it tracked in a work item; let that finish before the second row,
# which is measured after the first (the order is fixed).
echo off > "$knob"
sleep 10
loop /bin/true; loop cow
row "kmemleak off" ""'

echo "kmemleak-cost: booting a guest ($PROFILE kernel, no module), $runs runs per figure"
qemu/run --no-module --timeout 1800 -- bash -c "$guest" kmemleak-cost "$runs" | grep '^kmemleak-cost:'
