#!/usr/bin/env bash
# `make bench`: build the workload program, boot the guest once with larger pmem, run
# tests/bench/run-guest.sh (every workload, both engines alternating, BENCH_ROUNDS rounds), then
# write build/bench/results.json, docs/bench.svg and the table in docs/BENCHMARKS.md.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/bench
(cd tests/bench && cargo build --release --locked --quiet)
pmem_mb=$(( ${BENCH_SIZE_MB:-1024} * 4 + 1024 ))  # files, clones and XFS CoW preallocations
BENCH_OUT=$top/build/bench/raw.jsonl qemu/run --prealloc --pmem-size "$pmem_mb" --timeout "${BENCH_TIMEOUT:-3000}" -- \
	env BENCH_OUT="$top/build/bench/raw.jsonl" BENCH_ROUNDS="${BENCH_ROUNDS:-5}" \
	BENCH_SIZE_MB="${BENCH_SIZE_MB:-1024}" tests/bench/run-guest.sh
release=$(cat build/linux/out-${PROFILE:-default}/include/config/kernel.release)
python3 scripts/bench-report.py build/bench/raw.jsonl build/bench/results.json docs/bench.svg \
	docs/BENCHMARKS.md --kernel "$release"
sed -n '/<!-- bench table -->/,/<!-- \/bench table -->/p' docs/BENCHMARKS.md
