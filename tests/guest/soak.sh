#!/bin/bash
# The soak's guest side; scripts/soak.sh plans it and keeps the ledger.  For each item
# "SEED:MODE:OPS" of SOAK_PLAN it runs the fuzzer (tests/fuzz) on /dev/pmem1 under daxcow,
# then under the in-tree C engine, and appends one line per engine to $SOAK_OUT/results.tsv
# as it finishes:
#   seed mode engine ops secs races interleaved pmd_faults result detail
# A run fails if the fuzzer fails, xfs_repair -n finds a problem, the kernel logs a report
# during it, or (modes without races) the two engines' per-step outcomes differ.
# MODE: 4k (held mappings, 4 KiB and 2 MiB stores), reload (4k, with rmmod/insmod of daxcow
# among the Rust run's steps), race (two processes at once on one file), pmd (2 MiB-aligned
# files; PMD CoW faults), pmdrace (pmd, with racing 2 MiB stores).
set -u
. "$(dirname "$0")/lib.sh"

fuzz=$DAXCOW_TOP/tests/fuzz/target/release/daxcow-fuzz
[ -x "$fuzz" ] || die "no fuzzer binary at $fuzz"
daxcow_available || die "the soak runs both engines: it needs daxcow"
[ "$(nproc)" -ge 2 ] || die "the soak's racing seeds need two CPUs; the guest has $(nproc)"
dev=/dev/pmem1 mnt=/mnt/soak out=${SOAK_OUT:?}
mkdir -p $mnt "$out/logs"
load() { grep -q '^daxcow ' /proc/modules || insmod "$DAXCOW_KO"; }
unload() { ! grep -q '^daxcow ' /proc/modules || rmmod daxcow; }
pmd_counter() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import cowlib
print((cowlib.daxcow_stats() or {}).get("cow_fault_pmd", 0))' "$(dirname "$0")"
}
report_re='WARNING:|BUG:|Oops|Kernel panic|KASAN|UBSAN|INFO: task .* blocked|general protection'
# Reload and fsync steps are the same draw of the generator: the C run has no module to reload.
normalize() { sed -E 's/(Reload|Fsync \{ f: [0-9]+ \}) => ok/sync-or-reload => ok/' "$1"; }
done_ops=(0 0) t0=$(date +%s)

# one SEED MODE OPS ENGINE: runs it; prints the results line.
one() {
	local seed=$1 mode=$2 ops=$3 engine=$4 flags=() ko=() before=0 after=0 o rc result=ok detail=-
	case $mode in
	race) flags=(--race) ;;
	pmd) flags=(--pmd) ;;
	pmdrace) flags=(--pmd --race) ;;
	esac
	if [ "$engine" = rust ]; then
		load
		[ "$mode" = reload ] && ko=("$DAXCOW_KO")
	else
		unload
	fi
	# The counters live in the module (a reload resets them): read only in the pmd modes.
	local pmd=0; case $mode in pmd*) [ "$engine" = rust ] && pmd=1 ;; esac
	[ $pmd = 1 ] && before=$(pmd_counter)
	# What is running, for the host to blame if the guest dies during it.
	echo "$seed	$mode	$engine	$ops" > "$out/running"
	dmesg -C
	local s0=$(date +%s)
	o=$(DAXCOW_FUZZ_SHRINK_SECS=300 "$fuzz" "${flags[@]}" --log "$out/logs/$seed.$engine" \
		$dev $mnt "$seed" "$ops" "${ko[@]}" 2>&1)
	rc=$?
	local secs=$(( $(date +%s) - s0 ))
	[ $pmd = 1 ] && after=$(pmd_counter)
	umount $mnt 2>/dev/null
	if [ $rc != 0 ]; then
		result=FAIL detail=$(echo "$o" | grep -m1 '^FAIL: ' | cut -c1-300)
		echo "$o" > "$out/logs/$seed.$engine.fail"
	elif ! xfs_repair -n $dev > "$out/logs/$seed.$engine.repair" 2>&1; then
		result=FAIL detail="xfs_repair -n: $(grep -m1 -v '^Phase\|^        -' "$out/logs/$seed.$engine.repair")"
	elif dmesg | grep -qE "$report_re"; then
		result=FAIL detail="kernel report: $(dmesg | grep -m1 -E "$report_re" | cut -c1-200)"
		dmesg > "$out/logs/$seed.$engine.dmesg"
	fi
	rm -f "$out/running"
	detail=$(echo "$detail" | tr '\t' ' ')
	local races=0 inter=0
	read -r races inter < <(echo "$o" | sed -n 's/^races: \([0-9]*\) steps.*, \([0-9]*\) of them.*/\1 \2/p')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$seed" "$mode" "$engine" "$ops" "$secs" \
		"${races:-0}" "${inter:-0}" $((after - before)) "$result" "$detail" >> "$out/results.tsv"
	local i=0; [ "$engine" = c ] && i=1
	done_ops[$i]=$(( done_ops[$i] + ops ))
	echo "soak: seed $seed ($mode) $engine: $result, $ops ops in ${secs}s" \
		"(this boot: rust ${done_ops[0]}, c ${done_ops[1]} ops; $(( $(date +%s) - t0 ))s)"
	[ "$result" = ok ]
}

for item in ${SOAK_PLAN:?}; do
	IFS=: read -r seed mode ops <<< "$item"
	one "$seed" "$mode" "$ops" rust || exit 1
	one "$seed" "$mode" "$ops" c || exit 1
	case $mode in
	race | pmdrace) ;;
	*)
		if ! diff <(normalize "$out/logs/$seed.c") <(normalize "$out/logs/$seed.rust") > "$out/logs/$seed.diff"; then
			printf '%s\t%s\tboth\t0\t0\t0\t0\t0\tFAIL\tthe engines'"'"' per-step outcomes differ (%s)\n' \
				"$seed" "$mode" "$(grep -m1 '^[<>]' "$out/logs/$seed.diff" | cut -c1-200)" >> "$out/results.tsv"
			echo "soak: seed $seed: the engines' outcomes differ"
			exit 1
		fi
		;;
	esac
	rm -f "$out/logs/$seed.rust" "$out/logs/$seed.c" "$out/logs/$seed."*.repair
done
load
