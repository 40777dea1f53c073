#!/bin/bash
# The boot whose two vCPUs run in parallel (qemu/run --parallel-vcpus; scripts/check.sh boots
# it): the fuzzer's racing seeds (tests/guest/fuzz.sh with FUZZ_RACE_SEEDS and
# FUZZ_PMD_RACE_SEEDS), two processes on one file at once under each engine, with some racing
# steps seen interleaved and the PMD seed's PMD CoW faults counted; then a shared mapping read
# against copy-on-write writes of the same file (tests/guest/stalemap.sh), and write faults
# against pwrite()s into the same shared pages (tests/guest/lostwrite.sh).  Nothing here loads
# or unloads daxcow while a file operation runs (qemu/run says why that matters).
set -u
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || die "racing seeds need two CPUs; the guest has $(nproc)"
status=0
FUZZ_SEEDS= FUZZ_DIFF_SEEDS= FUZZ_PMD_SEEDS= FUZZ_RACE_SEEDS=${FUZZ_RACE_SEEDS:-7} \
	FUZZ_PMD_RACE_SEEDS=${FUZZ_PMD_RACE_SEEDS:-8} bash "$(dirname "$0")/fuzz.sh" || status=1
bash "$(dirname "$0")/stalemap.sh" || status=1
bash "$(dirname "$0")/lostwrite.sh" || status=1
exit $status
