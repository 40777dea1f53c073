#!/usr/bin/env bash
# `make check`: every set-up step, then all tests, ending with "N passed, M failed".
#   1. make deps, make kernel, make module  (a failing step counts as one failure and stops)
#   2. host tests (cargo test over the module's pure logic), and the native loops of
#      make bench-native checked for correctness (no timing)
#   3. lint: rustfmt, clippy, checkpatch --strict, SAFETY comments
#   4. pipeline self-tests (runner status, timeout and kernel-report detection; broken patch;
#      missing package) and the fstests runner's self-tests (fake tree and guest)
#   5. guest tests in one boot with daxcow loaded (tests/guest/run-all.sh), the fuzzer's racing
#      seeds in a boot whose two vCPUs run in parallel (tests/guest/race.sh), then the guest
#      tests again in one boot with the module's persistence-trace build (make module TRACE=1),
#      where every operation's stores are checked against the x86 persistence model
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build
passed=0 failed=0
t0=$(date +%s)

summary() {
	echo "check: took $(( $(date +%s) - t0 ))s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit $?
}
step() {
	local name=$1; shift
	echo "== $name"
	local s; s=$(date +%s)
	if "$@"; then
		echo "== $name: ok ($(( $(date +%s) - s ))s)"
	else
		echo "FAIL: $name"
		failed=$((failed + 1))
		summary
	fi
}
# tally LOG: add the PASS:/FAIL: lines of LOG.
tally() {
	local p f
	p=$(grep -c '^PASS: ' "$1"); f=$(grep -c '^FAIL: ' "$1")
	passed=$((passed + p)); failed=$((failed + f))
	echo "   ($p passed, $f failed)"
}
# declared SUITE: the checks tests/checks says SUITE prints at least.
declared() { awk -v s="$1" '$1 == s { print $2 }' tests/checks; }
# at_least SUITE COUNT: a failure when SUITE printed fewer checks than tests/checks declares.
at_least() {
	local want; want=$(declared "$1")
	if [ -z "$want" ]; then
		echo "FAIL: $1: not declared in tests/checks"; failed=$((failed + 1))
	elif [ "$2" -lt "$want" ]; then
		echo "FAIL: $1: printed $2 checks, tests/checks declares $want (a test dropped or cut short?)"
		failed=$((failed + 1))
	fi
}
# guest_counts LOG: each guest script of tests/checks ran in LOG (tests/guest/run-all.sh's
# output, a "== SCRIPT" header per script) and printed at least its declared checks.
guest_counts() {
	local script n
	for script in $(awk '$1 ~ /^guest\// { sub(/^guest\//, "", $1); print $1 }' tests/checks); do
		n=$(awk -v h="== $script" '$0 == h { on = 1; seen = 1; next } /^== [^ ]+\.sh$/ { on = 0 }
			on && /^(PASS|FAIL): / { n++ } END { print seen ? n + 0 : -1 }' "$1")
		if [ "$n" = -1 ]; then
			echo "FAIL: guest/$script: did not run (no '== $script' in $1)"; failed=$((failed + 1))
		else
			at_least "guest/$script" "$n"
		fi
	done
}

step "make deps" make -s deps
step "make kernel" make -s kernel
step "make module" make -s module
step "make module TRACE=1" make -s module TRACE=1

echo "== host tests"
bash scripts/host-test.sh > build/check-host.log 2>&1
tail -n 30 build/check-host.log | grep -E '^(test |host:)' | grep -v ' ok$' || true
read -r p f < <(sed -n 's/^host: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' build/check-host.log)
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-1}))
echo "   (${p:-0} passed, ${f:-1} failed)"
at_least host $(( ${p:-0} + ${f:-0} ))

echo "== native loops (tests/bench-native --verify)"
# daxcow's copy and compare built for the host from src/mcsafe.rs, the C routines from the
# kernel tree, checked byte for byte before anyone times them (make bench-native).
bash scripts/bench-native.sh --verify > build/check-native.log 2>&1
rc=$?
grep -E '^FAIL: ' build/check-native.log || true
tally build/check-native.log
at_least native "$(grep -c '^\(PASS\|FAIL\): ' build/check-native.log)"
if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' build/check-native.log; then
	tail -n 20 build/check-native.log
	echo "FAIL: tests/bench-native --verify ended with status $rc"
	failed=$((failed + 1))
fi

echo "== lint"
bash scripts/lint.sh 2>&1 | tee build/check-lint.log
tally build/check-lint.log
at_least lint "$(grep -c '^\(PASS\|FAIL\): ' build/check-lint.log)"

echo "== pipeline self-tests"
if [ "${PROFILE:-default}" = default ]; then
	bash tests/pipeline-selftest.sh 2>&1 | tee build/check-pipeline.log
	tally build/check-pipeline.log
	at_least pipeline "$(grep -c '^\(PASS\|FAIL\): ' build/check-pipeline.log)"
else
	# They test the runner, not the kernel; on a debug kernel each boot takes minutes.
	echo "   (skipped for PROFILE=$PROFILE)"
fi

echo "== fstests runner self-tests"
python3 tests/fstests-runner-selftest.py 2>&1 | tee build/check-fstests-runner.log
rc=${PIPESTATUS[0]}
tally build/check-fstests-runner.log
at_least fstests-runner "$(grep -c '^\(PASS\|FAIL\): ' build/check-fstests-runner.log)"
if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' build/check-fstests-runner.log; then
	echo "FAIL: fstests runner self-tests ended with status $rc"
	failed=$((failed + 1))
fi

echo "== building the in-guest fuzzer"
if ! (cd tests/fuzz && cargo build --release --locked --quiet) > build/check-fuzz-build.log 2>&1; then
	cat build/check-fuzz-build.log
	echo "FAIL: build tests/fuzz"
	failed=$((failed + 1))
fi

echo "== guest tests (daxcow loaded)"
# The debug kernel (KASAN, lockdep, kmemleak) runs several times slower under TCG.
guest_timeout=1200
[ "${PROFILE:-default}" = default ] || guest_timeout=5400
qemu/run --timeout $guest_timeout -- tests/guest/run-all.sh 2>&1 | tee build/check-guest.log
rc=${PIPESTATUS[0]}
tally build/check-guest.log
guest_counts build/check-guest.log
if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' build/check-guest.log; then
	echo "FAIL: guest run ended with status $rc"
	failed=$((failed + 1))
fi

echo "== racing seeds and races (two vCPUs in parallel)"
# The races run on until both processes have raced, up to 120 s per mode and engine
# (stalemap.sh, lostwrite.sh): about 1,000 s on a slow host, besides the racing seeds.
qemu/run --parallel-vcpus --timeout $((guest_timeout == 1200 ? 2400 : guest_timeout)) -- tests/guest/race.sh 2>&1 | tee build/check-race.log
rc=${PIPESTATUS[0]}
tally build/check-race.log
at_least race "$(grep -c '^\(PASS\|FAIL\): ' build/check-race.log)"
if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' build/check-race.log; then
	echo "FAIL: racing-seed guest run ended with status $rc"
	failed=$((failed + 1))
fi

echo "== guest tests (the module's persistence-trace build)"
qemu/run --trace --timeout $guest_timeout -- tests/guest/run-all.sh 2>&1 | tee build/check-guest-trace.log
rc=${PIPESTATUS[0]}
tally build/check-guest-trace.log
guest_counts build/check-guest-trace.log
if [ "$rc" != 0 ] && ! grep -q '^FAIL: ' build/check-guest-trace.log; then
	echo "FAIL: trace-build guest run ended with status $rc"
	failed=$((failed + 1))
fi
if ! grep -qx 'persistence violations: 0' build/check-guest-trace.log; then
	echo "FAIL: the trace-build run did not report 'persistence violations: 0'"
	failed=$((failed + 1))
fi
summary
