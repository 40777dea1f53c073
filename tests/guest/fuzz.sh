#!/bin/bash
# The strict CoW fuzzer (tests/fuzz) on /dev/pmem1, the files compared with the model after
# every step (incrementally; everything every 20 steps), then xfs_repair -n:
#  - FUZZ_SEEDS (default "1 2 3"): daxcow loaded, with rmmod/insmod of daxcow among the steps;
#  - FUZZ_DIFF_SEEDS (default "4 5"): differential, each seed once with daxcow and once with the
#    in-tree C engine, and the two runs' per-step outcomes must be equal line for line;
#  - FUZZ_PMD_SEEDS (default "6"): 2 MiB-aligned files, clones and mappings (--pmd), under both
#    engines and compared the same way; daxcow's PMD CoW fault counter must move;
#  - FUZZ_RACE_SEEDS (default none; tests/guest/race.sh runs them in a boot whose two vCPUs
#    run in parallel): two processes at once on one file (--race), under each engine, checked
#    against the serializations the model allows (not diffed: the order the processes ran in
#    differs between runs), and some racing steps must be seen interleaved;
#  - FUZZ_PMD_RACE_SEEDS (default none): the same with 2 MiB-aligned files (--pmd --race).
# FUZZ_OPS (default 500) operations per run, FUZZ_PMD_OPS (default 300) per PMD run (2 MiB
# writes and copies are slow under TCG).  `make soak` runs the long version (scripts/soak.sh).
set -u
. "$(dirname "$0")/lib.sh"

fuzz=$DAXCOW_TOP/tests/fuzz/target/release/daxcow-fuzz
[ -x "$fuzz" ] || die "no fuzzer binary at $fuzz (cargo build --release in tests/fuzz)"
dev=/dev/pmem1 mnt=/mnt/fuzz out=/tmp/fuzz
mkdir -p $mnt $out
ops=${FUZZ_OPS:-500}
total=0 t0=$(date +%s)
load() { grep -q '^daxcow ' /proc/modules || insmod "$DAXCOW_KO"; }
unload() { ! grep -q '^daxcow ' /proc/modules || rmmod daxcow; }

# run NAME ARGS...: one fuzzer run; PASS/FAIL with its last line, the failure's trace on FAIL.
run() {
	local name=$1; shift
	if o=$("$fuzz" "$@" 2>&1); then
		last_out=$o
		pass "$name: $(echo "$o" | tail -1)"
		total=$((total + $(echo "$o" | tail -1 | sed -n 's/.*: \([0-9]*\) ops in.*/\1/p')))
		return 0
	fi
	# The failure, then the shortest trace the fuzzer found (or the end of the full one).
	echo "$o" | grep -m1 -A1 '^FAIL: ' | sed 's/^/  /'
	if echo "$o" | grep -q 'shrunk trace'; then
		echo "$o" | sed -n '/shrunk trace/,$p' | grep -v '^umount: ' | head -60 | sed 's/^/  /'
	else
		echo "$o" | grep -v '^umount: ' | tail -40 | sed 's/^/  /'
	fi
	fail "$name (replay: daxcow-fuzz $*)"
	return 1
}

for seed in ${FUZZ_SEEDS-1 2 3}; do
	load
	run "fuzz seed $seed (daxcow, with reloads)" $dev $mnt "$seed" "$ops" "$DAXCOW_KO"
done

pmd_counter() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import cowlib
print((cowlib.daxcow_stats() or {}).get("cow_fault_pmd", 0))' "$(dirname "$0")"
}
pmd_faults=0

# differential SEED [--pmd]: the seed under each engine, then the outcomes compared.
differential() {
	local seed=$1 flag=${2:-} tag=seed before
	[ -n "$flag" ] && tag="PMD seed"
	load
	before=$(pmd_counter)
	local n=$ops
	[ -n "$flag" ] && n=${FUZZ_PMD_OPS:-300}
	run "fuzz $tag $seed (daxcow)" $flag --log $out/$seed.rust $dev $mnt "$seed" "$n"
	# The counters live in the module: read them before it is unloaded.
	[ -n "$flag" ] && pmd_faults=$((pmd_faults + $(pmd_counter) - before))
	unload
	run "fuzz $tag $seed (C engine)" $flag --log $out/$seed.c $dev $mnt "$seed" "$n"
	load
	if diff -u $out/$seed.c $out/$seed.rust > $out/$seed.diff; then
		pass "fuzz $tag $seed: every step's outcome the same under both engines ($(wc -l < $out/$seed.rust) steps)"
	else
		sed 's/^/  | /' $out/$seed.diff | head -20
		fail "fuzz $tag $seed: the engines' outcomes differ"
	fi
}
for seed in ${FUZZ_DIFF_SEEDS-4 5}; do
	differential "$seed"
done

for seed in ${FUZZ_PMD_SEEDS-6}; do
	differential "$seed" --pmd
done
# race SEED [--pmd]: the seed with racing steps under each engine; counts what raced.
race_steps=0 interleaved=0
race() {
	local seed=$1 flag=${2:-} n=$ops engine before
	[ -n "$flag" ] && n=${FUZZ_PMD_OPS:-300}
	for engine in daxcow C; do
		last_out=
		if [ $engine = daxcow ]; then load; before=$(pmd_counter); else unload; fi
		run "fuzz race ${flag:+PMD }seed $seed ($engine engine)" --race $flag $dev $mnt "$seed" "$n" || continue
		[ $engine = daxcow ] && [ -n "$flag" ] && pmd_faults=$((pmd_faults + $(pmd_counter) - before))
		read -r r i < <(echo "$last_out" | sed -n 's/^races: \([0-9]*\) steps.*, \([0-9]*\) of them.*/\1 \2/p')
		race_steps=$((race_steps + ${r:-0})) interleaved=$((interleaved + ${i:-0}))
	done
	load
}
for seed in ${FUZZ_RACE_SEEDS-}; do
	race "$seed"
done
for seed in ${FUZZ_PMD_RACE_SEEDS-}; do
	race "$seed" --pmd
done
if [ -n "${FUZZ_RACE_SEEDS-}${FUZZ_PMD_RACE_SEEDS-}" ]; then
	info "racing steps: $race_steps, seen interleaved: $interleaved ($(nproc) CPUs)"
	check "fuzz: racing steps ran and some were seen interleaved" test "$interleaved" -gt 0
fi

if [ -n "${FUZZ_PMD_SEEDS-6}${FUZZ_PMD_RACE_SEEDS-}" ]; then
	info "PMD CoW faults taken by daxcow in the PMD seeds: $pmd_faults"
	check "fuzz: the PMD seeds took PMD CoW faults under daxcow" test "$pmd_faults" -gt 0
fi

secs=$(( $(date +%s) - t0 ))
info "fuzz: $total ops in ${secs}s ($(( total / (secs > 0 ? secs : 1) )) ops/s)"
check "fuzz: xfs_repair -n clean at the end" quiet xfs_repair -n $dev
finish
