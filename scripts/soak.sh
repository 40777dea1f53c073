#!/bin/bash
# make soak: the fuzzer (tests/fuzz) under both engines, seed after seed, until each engine has
# SOAK_TARGET operations (250000) on the current engine, series, kernel configuration and
# fuzzer, resumable: every finished seed is a line of the committed ledger docs/soak.tsv, and
# a later run goes on from the next seed.  docs/soak.md is generated from the ledger.
#
# Seeds cycle through five modes (by SEED mod 10): 0 `reload` (5000 ops, with rmmod/insmod of
# daxcow), 1-5 `4k` (5000 ops), 6-7 `race` (3000 ops, two processes at once), 8 `pmd` (1000
# ops, 2 MiB-aligned files), 9 `pmdrace` (1000 ops); tests/guest/soak.sh says more.  One guest boot runs SOAK_SEEDS_PER_BOOT seeds (10) under
# both engines; SOAK_MINUTES (default: no limit) stops starting new boots after that long.
# A failure stops the soak with the fuzzer's trace under build/soak/logs/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
target=${SOAK_TARGET:-250000} per_boot=${SOAK_SEEDS_PER_BOOT:-10} minutes=${SOAK_MINUTES:-0}
ledger=docs/soak.tsv out=build/soak
mkdir -p "$out"
start=$(date +%s)

# What the figures are about: the engine, the series, the kernel and its configuration, the
# guest, the fuzzer and the soak itself.  Ledger lines of another identity are kept but not
# counted.
identity() {
	{
		echo "profile ${PROFILE:-default}"
		git ls-files -z src Kbuild patches qemu/kernel.config qemu/run qemu/guest-init \
			scripts/kernel.sh scripts/soak.sh tests/fuzz/src tests/fuzz/Cargo.toml \
			tests/fuzz/Cargo.lock tests/guest/soak.sh tests/guest/lib.sh tests/guest/cowlib.py |
			xargs -0 sha256sum
	} | sha256sum | cut -c1-12
}
id=$(identity)
[ -f "$ledger" ] || printf 'identity\tdate\tseed\tmode\tengine\tops\tsecs\traces\tinterleaved\tpmd_faults\tresult\tdetail\n' > "$ledger"

# Lines a guest wrote but the ledger does not have yet (an interrupted run) go in first.
merge() {
	[ -s "$out/results.tsv" ] || return 0
	local ident when
	ident=$(cat "$out/identity" 2>/dev/null || echo unknown)
	when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	while IFS= read -r line; do
		printf '%s\t%s\t%s\n' "$ident" "$when" "$line" >> "$ledger"
	done < "$out/results.tsv"
	rm -f "$out/results.tsv"
}
merge

# A seed run again (its boot ended between the two engines) counts once: its last line.
ops_of() {
	awk -F'\t' -v id="$id" -v e="$1" '$1 == id && $5 == e { ops[$3] = $11 == "ok" ? $6 : 0 }
		END { for (s in ops) n += ops[s]; print n + 0 }' "$ledger"
}
failures() { awk -F'\t' -v id="$id" '$1 == id && $11 != "ok"' "$ledger"; }
mode_of() {
	case $(( $1 % 10 )) in
	0) echo reload:5000 ;;
	[1-5]) echo 4k:5000 ;;
	6 | 7) echo race:3000 ;;
	8) echo pmd:1000 ;;
	9) echo pmdrace:1000 ;;
	esac
}

if [ -n "$(failures)" ]; then
	echo "soak: the ledger has a failure for this build ($id); fix it first:"
	failures | cut -f3-5,11- | sed 's/^/  /'
	exit 1
fi
make -s module
(cd tests/fuzz && cargo build --release --locked --quiet)
echo "$id" > "$out/identity"
while :; do
	rust=$(ops_of rust) c=$(ops_of c)
	echo "soak: build $id: rust $rust, c $c of $target ops per engine"
	if [ "$rust" -ge "$target" ] && [ "$c" -ge "$target" ]; then
		break
	fi
	if [ "$minutes" -gt 0 ] && [ $(( $(date +%s) - start )) -ge $(( minutes * 60 )) ]; then
		echo "soak: SOAK_MINUTES=$minutes reached; run make soak again to go on"
		break
	fi
	# The next seed after the last one the C engine finished (each seed runs Rust, then C).
	next=$(awk -F'\t' -v id="$id" '$1 == id && $5 == "c" && $3 > n { n = $3 } END { print n + 1 }' "$ledger")
	[ "$next" -ge 1000 ] || next=1000
	plan=
	for ((s = next; s < next + per_boot; s++)); do plan+=" $s:$(mode_of $s)"; done
	echo "soak: seeds $next-$((next + per_boot - 1)) in one boot"
	rc=0
	rm -f "$out/running"
	qemu/run --parallel-vcpus --timeout "${SOAK_TIMEOUT:-7200}" -- env SOAK_PLAN="$plan" SOAK_OUT="$top/$out" \
		tests/guest/soak.sh || rc=$?
	# A guest that died, hung or logged a report during a seed: that seed and engine fail.
	if [ -s "$out/running" ]; then
		IFS=$'\t' read -r seed mode engine ops < "$out/running"
		printf '%s\t%s\t%s\t%s\t0\t0\t0\t0\tFAIL\tthe guest ended during the run (qemu/run status %s; console: build/logs/last.console.log)\n' \
			"$seed" "$mode" "$engine" "$ops" "$rc" >> "$out/results.tsv"
		rm -f "$out/running"
	fi
	merge
	if [ -n "$(failures)" ] || [ $rc != 0 ]; then
		echo "soak: stopped (guest status $rc)"
		failures | cut -f3-5,11- | sed 's/^/  /'
		python3 scripts/soak-report.py "$ledger" "$id" > docs/soak.md
		exit 1
	fi
done
python3 scripts/soak-report.py "$ledger" "$id" > docs/soak.md
echo "soak: docs/soak.md written"
