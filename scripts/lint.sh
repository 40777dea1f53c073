#!/usr/bin/env bash
# Static checks, one PASS:/FAIL: line each: rustfmt, clippy on the module, checkpatch --strict on
# every patch of the series, each patch built on its own, the hook's cost, a `// SAFETY:` comment
# on every unsafe block, the FFI edge, no trace code and no allocator, lock or sleep in the
# engine of the default module.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
src=$top/build/linux
out=$(mktemp); trap 'rm -f "$out"' EXIT

result() {  # NAME STATUS
	if [ "$2" = 0 ]; then echo "PASS: lint: $1"; else echo "FAIL: lint: $1"; sed 's/^/  | /' "$out" | head -40; fi
}

rustfmt --edition 2021 --check src/*.rs bindings/*.rs tests/host/src/*.rs tests/host/tests/*.rs \
	tests/host/build.rs tests/bench-native/src/*.rs tests/bench-native/build.rs \
	tests/bench/src/*.rs tests/fuzz/src/*.rs >"$out" 2>&1
result "rustfmt --check" $?

# Clippy runs as the module compiles: force a recompile of the Rust object.
touch src/daxcow_main.rs
{ make -s module CLIPPY=1 && make -s module CLIPPY=1 TRACE=1; } >"$out" 2>&1
st=$?
grep -qE '^(warning|error)' "$out" && st=1
result "clippy (make module CLIPPY=1, and TRACE=1)" $st
touch src/daxcow_main.rs

st=0
: >"$out"
for p in $(grep -v '^#' patches/series); do
	# Outside any git work tree: inside one, checkpatch reads the patch file as a tracked file.
	# The tree has no git history, so checkpatch cannot look up the commits that Fixes: tags
	# name (UNKNOWN_COMMIT_ID); docs/design.md says where each of them was checked.
	(cd / && perl "$src/scripts/checkpatch.pl" --strict --no-tree --ignore UNKNOWN_COMMIT_ID \
		"$top/patches/$p") >>"$out" 2>&1 || st=1
done
result "checkpatch --strict on the series" $st

# Each patch builds on its own: the C files it touches, compiled as they stand after it.
bash scripts/series-build.sh >"$out" 2>&1
result "every patch of the series builds on its own (scripts/series-build.sh)" $?

# With no engine registered the hook may cost its patched-out jumps, not a call, atomic or
# fence: fs/dax.o built with and without CONFIG_FS_DAX_COW_ENGINE, compared function by function.
bash scripts/hook-cost.sh >"$out" 2>&1
result "the hook adds no call, atomic or fence to the no-engine path (scripts/hook-cost.sh)" $?

awk '
	# A comment block (consecutive // lines) that mentions SAFETY covers the statement after it.
	/^[[:space:]]*\/\// { if ($0 ~ /SAFETY/) safety = 1; next }
	/unsafe[[:space:]]*\{/ && !safety && $0 !~ /SAFETY/ { print FILENAME ":" FNR ": " $0 }
	/^[[:space:]]*$/ { next }
	{ if ($0 !~ /unsafe[[:space:]]*\{/ || $0 ~ /;[[:space:]]*$/ || $0 ~ /^[[:space:]]*}/) safety = 0 }
	' src/*.rs bindings/*.rs tests/bench/src/*.rs tests/fuzz/src/*.rs tests/bench-native/src/*.rs >"$out"
[ -s "$out" ] && st=1 || st=0
result "every unsafe block has a SAFETY comment" $st

# The FFI edge is confined to the abstraction files and the trampolines (docs/design.md, "The
# contract with fs/dax.c"): the kernel's bindings only in dax.rs, iomap.rs and dax_cow.rs, the
# module's own C helpers only in stats.rs and dax.rs (the CPU feature that copy_mc_to_kernel()'s
# recovery depends on).
{
	grep -n 'bindings::' src/*.rs | grep -v -e '^src/dax\.rs:' -e '^src/iomap\.rs:' -e '^src/dax_cow\.rs:'
	grep -n 'helpers::' src/*.rs | grep -v -e '^src/stats\.rs:' -e '^src/dax\.rs:'
} >"$out"
[ -s "$out" ] && st=1 || st=0
result "bindings and C helpers only in the abstraction files" $st

# The persistence trace is compiled out of the default module: no symbol of src/persist.rs in
# it (and there are some in the trace build, so this check can fail).
if [ -f build/module-default-trace/daxcow.ko ] && [ -f build/module-default/daxcow.ko ]; then
	{
		n=$(nm build/module-default/daxcow.ko | grep -c '7persist')
		t=$(nm build/module-default-trace/daxcow.ko | grep -c '7persist')
		echo "persistence-trace symbols: default build $n, trace build $t"
		[ "$n" = 0 ] && [ "$t" -gt 0 ]
	} >"$out" 2>&1
	st=$?
else
	echo "no default or trace build of the module (make module; make module TRACE=1)" >"$out"
	st=1
fi
result "the default module has no persistence-trace code" $st

# The engine allocates nothing, takes no lock of its own and does not sleep (docs/design.md,
# "Locking and allocation on the hot paths"): in the default module only module init (the
# counters' per-CPU memory), the KUnit recovery tests and the two-file iterator's debugfs
# interface (src/daxcow_apply2.c, a test harness) call an allocator, a lock, anything that
# sleeps or a user copy.  The engine's paths may take dax_read_lock(), the nestable SRCU read
# lock the C takes on the same paths.  Read from the module's call relocations, so an inlined
# kernel helper shows by the call it leaves; the check also fails when it finds no allowed
# caller (init must allocate), so a scan that reads nothing cannot pass.  LINT_KO reads another
# build of the module.
ko=${LINT_KO:-build/module-default/daxcow.ko}
if [ -f $ko ]; then
	llvm-objdump-19 -dr $ko | awk '
		/^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3); next }
		/R_X86_64_/ { sym = $NF; sub(/[-+]0x[0-9a-f]+$/, "", sym); print fn, sym }' |
	sort -u | awk '
		$2 == "is_vmalloc_or_module_addr" { next }        # an address test, not an allocation
		# Allocators; locks (SRCU too: the engine takes dax_read_lock(), an exported call);
		# what sleeps; user copies, which may fault and sleep.  (No quote marks in here.)
		$2 ~ /alloc|get_free_page|get_zeroed_page|kstrdup|kmemdup|asprintf/ ||
		$2 ~ /mutex|spin_lock|_raw_|rwsem|^down|percpu_down|lock_two|invalidate_lock|srcu/ ||
		$2 ~ /sleep|schedule|cond_resched|wait_for|synchronize_|copy_from_user|copy_to_user|_user$/ {
			allowed = ($1 == "daxcow_stats_create" || $1 ~ /^apply2_/ || $1 ~ /3dax8recovery/)
			print (allowed ? "allowed: " : "ENGINE:  ") $1 " calls " $2
			if (allowed) n_allowed++; else bad++
		}
		END { if (!n_allowed) print "no allowed caller found: the scan read nothing"
		      exit (bad || !n_allowed) }' >"$out" 2>&1
	st=$?
else
	echo "no default build of the module (make module)" >"$out"
	st=1
fi
result "the engine calls no allocator, lock or sleep (module relocations)" $st
