#!/usr/bin/env bash
# What one process start costs in the TCG guest, in the three setups of README's "Process start
# under TCG" table: as qemu/run boots the guest, with address-space randomization off, and with
# the program and its libraries also on tmpfs (bound over the originals, as qemu/fstests-guest
# does).  fstests' loop-heavy tests (generic/168, 170, 387, 415, 562, 672) start tens of
# thousands of processes, so this is most of their time under TCG.
#   scripts/exec-cost.sh [RUNS]     (default 100 runs per figure; PROFILE= picks the kernel)
# Prints one line per setup: milliseconds per `xfs_io -f -c "pwrite 0 4k"` on an fsdax XFS
# file and per `/bin/true`.  TCG figures: they measure QEMU's translation and the 9p root, not
# the machine, and vary with what else runs on the host's cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-100}
case $runs in
'' | *[!0-9]*) echo "scripts/exec-cost.sh: RUNS must be a number" >&2; exit 2 ;;
esac

guest='set -eu
runs=$1
mkfs.xfs -f -q -m reflink=1 /dev/pmem1
mkdir -p /mnt/exec-cost
mount -o dax=always /dev/pmem1 /mnt/exec-cost
file=/mnt/exec-cost/f
# Milliseconds (one decimal) per run of the command, over $runs runs from one shell.
per_run() {
	local start end i
	start=$(date +%s%N)
	for ((i = 0; i < runs; i++)); do "$@" > /dev/null; done
	end=$(date +%s%N)
	echo $(((end - start) / runs / 100000)) | sed -E "s/([0-9])$/.\1/; s/^\./0./"
}
row() {
	echo "exec-cost: $1: xfs_io $(per_run xfs_io -f -c "pwrite 0 4k" "$file") ms, /bin/true $(per_run /bin/true) ms"
}
echo "exec-cost: $runs runs per figure, randomize_va_space=$(cat /proc/sys/kernel/randomize_va_space) as booted"
row "as booted"
echo 0 > /proc/sys/kernel/randomize_va_space
row "randomization off"
qemu/stage-on-tmpfs /dev/shm/exec-cost-stage xfs_io true > /dev/null
row "randomization off, programs and libraries on tmpfs"'

echo "exec-cost: booting a guest (${PROFILE:-default} kernel, no module: the engine plays no part)"
qemu/run --no-module --timeout 900 -- bash -c "$guest" exec-cost "$runs" | grep '^exec-cost:'
