#!/usr/bin/env bash
# A machine check delivered by QEMU's monitor (`mce`) while the engine compares pmem, under
# daxcow and under the in-tree C engine: what the kernel does with it under TCG.  An
# experiment, not a test (docs/failure-model.md, "A real machine check under TCG"): TCG delivers
# the exception at a translation-block boundary, not on the load that would consume poison.
#   scripts/mce-experiment.sh [rust|c] ...   (default: both)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
engines=${*:-rust c}
# Bank 1, status VAL|UC|EN|MISCV|ADDRV|S|AR with MCACOD 0x134 (a data load, action required),
# MCG_STATUS EIPV|MCIP|RIPV, an address in the second pmem range, MISC 0x86: an SRAR error as
# a CPU reports poison consumed by a load.
inject="mce 0 1 0xbd80000000100134 0x7 0x140001000 0x86"
guest='set -e
mkfs.xfs -f -q -m reflink=1 /dev/pmem1 >/dev/null; mkdir -p /mnt/mce; mount -o dax=always /dev/pmem1 /mnt/mce
xfs_io -f -c "pwrite -q -S 0x61 0 256m" /mnt/mce/a >/dev/null; cp /mnt/mce/a /mnt/mce/b
echo MCE-READY
for i in $(seq 200); do xfs_io -c "dedupe /mnt/mce/a 0 0 256m" /mnt/mce/b >/dev/null; done
echo MCE-LOOP-DONE'
for e in $engines; do
	# One CPU, so the exception lands on the CPU running the compare; an Intel vendor, so the
	# kernel takes its Intel severity path (TCG's max CPU otherwise reports AMD, and an AMD
	# CPU without SUCCOR makes every uncorrected error fatal).
	export DAXCOW_QEMU_CPU=${DAXCOW_QEMU_CPU:-max,vendor=GenuineIntel}
	opt=(--cpus 1); [ "$e" = c ] && opt+=(--no-module)
	out=build/mce-$e.log
	qemu/run "${opt[@]}" --timeout 300 -- bash -c "$guest" > "$out" 2>&1 &
	pid=$!
	for i in $(seq 240); do grep -q MCE-READY "$out" && break; sleep 1; done
	sleep 3
	sock=$(ls -td build/run/*/ | head -1)monitor.sock
	echo "$e: injecting '$inject' through $sock"
	python3 - "$sock" "$inject" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.5); s.recv(4096)
s.sendall((sys.argv[2] + "\n").encode()); time.sleep(0.5); s.recv(65536)
PY
	wait $pid; echo "$e: qemu/run status $?"
	grep -aE 'mce:|Machine check|MCE|Kernel panic|CPU [0-9]+: Machine Check|Memory failure|MCE-LOOP-DONE|RIP:' \
		build/logs/last.console.log "$out" | head -20 | sed "s/^/  $e | /"
done
