#!/usr/bin/env bash
# `make bench-profile`: one boot, perf profiles of the benchmark workloads under each engine
# (tests/bench/profile-guest.sh), written to build/bench/profile/ENGINE-WORKLOAD.txt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/bench/profile
(cd tests/bench && cargo build --release --locked --quiet)
qemu/run --prealloc --pmem-size 2048 --timeout "${BENCH_TIMEOUT:-2400}" -- \
	env PROFILE_OUT="$top/build/bench/profile" BENCH_SIZE_MB="${BENCH_SIZE_MB:-256}" \
	tests/bench/profile-guest.sh
for f in build/bench/profile/*.txt; do
	echo "== $f"
	grep '%' "$f" | head -12
done
