#!/usr/bin/env bash
# `make bench-native`: daxcow's copy and compare loops against the C they replace and the
# machine's limit, natively on this CPU (tests/bench-native).  Needs the kernel tree and build
# that `make kernel` leaves (the C routines are built from them).  Writes build/bench/native.json,
# docs/bench-native.svg and the native table of docs/BENCHMARKS.md.
#   --verify   only check that every routine copies and compares correctly (make check)
#   BENCH_NATIVE_QUICK=1   fewer samples, no 1 GiB case (a look, not a table to keep)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ ! -f build/linux/out-default/lib/.string.o.cmd ]; then
	echo "bench-native: no kernel build in build/linux/out-default (make kernel)" >&2
	exit 1
fi
echo "bench-native: building tests/bench-native (the C routines from build/linux)" >&2
(cd tests/bench-native && cargo build --release --locked --quiet)
bin=tests/bench-native/target/release/daxcow-bench-native
if [ "${1:-}" = --verify ]; then
	exec "$bin" --verify
fi
mkdir -p build/bench
BENCH_NATIVE_OUT=$top/build/bench/native.json "$bin"
python3 scripts/bench-native-report.py build/bench/native.json docs/bench-native.svg docs/BENCHMARKS.md
