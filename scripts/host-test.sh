#!/usr/bin/env bash
# Host tests: cargo test over the module's pure logic (tests/host).  Prints cargo's output and a
# final "host: N passed, M failed" line for scripts/check.sh to add up.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log=$top/build/host-test.log
mkdir -p "$top/build"
(cd "$top/tests/host" && cargo test --locked 2>&1) | tee "$log"
rc=${PIPESTATUS[0]}
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
	END { print p + 0, f + 0 }' "$log")
# A build failure runs no test: count it as one failure.
[ "$rc" = 0 ] || [ "$f" -gt 0 ] || f=1
echo "host: $p passed, $f failed"
[ "$rc" = 0 ]
