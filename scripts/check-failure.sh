#!/usr/bin/env bash
# `make check-failure`: the failure-path suite (tests/guest/failure-all.sh) in one boot, with
# LIFECYCLE_CYCLES (1000) engine reloads; ends with "N passed, M failed" like make check.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build
# failslab.sh drives its operations with tests/fuzz's failnth.
(cd tests/fuzz && cargo build --release --locked --quiet) || { echo "FAIL: build tests/fuzz"; echo "0 passed, 1 failed"; exit 1; }
cycles=${LIFECYCLE_CYCLES:-1000}
timeout=3600
[ "${PROFILE:-default}" = default ] || timeout=10800
qemu/run --timeout $timeout -- env LIFECYCLE_CYCLES="$cycles" tests/guest/failure-all.sh 2>&1 |
	tee build/check-failure.log
rc=${PIPESTATUS[0]}
passed=$(grep -c '^PASS: ' build/check-failure.log)
failed=$(grep -c '^FAIL: ' build/check-failure.log)
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	echo "FAIL: guest run ended with status $rc"
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
