#!/usr/bin/env bash
# Static checks, one PASS:/FAIL: line each: rustfmt, clippy on the module, checkpatch --strict on
# every patch of the series, each patch built on its own, the hook's cost, a `// SAFETY:` comment
# on every unsafe block, the FFI edge, no trace code in the default module, and the kernel
# functions its engine calls.
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

# The engine allocates nothing, takes no lock and does not sleep beyond what the C does
# (docs/design.md, "Locking and allocation on the hot paths"), read from the default module's
# relocations: each function's direct calls out of it, by name.  The module's lifecycle (init,
# exit, the debugfs files), its KUnit tests and the apply2 debugfs test harness
# (src/daxcow_apply2.c) may call anything; every other function, the engine, may call only
# other functions of the module and the kernel functions named in engine_callees below: the
# direct access, copy, cache write-back, SRCU read lock and iomap_iter() that the C engine
# calls on the same paths, the counters, and the compiler's and Rust's own runtime (panics,
# error conversion).  A new callee in the engine fails the check until it is added here with a
# reason.  An indirect call fails it too, except the actor call of daxcow_iomap_apply2(), whose
# caller supplies the actor.  A call inlined whole (an inline spinlock, say) leaves no
# relocation and is not seen.  The check also fails unless it classed the three entry points
# (copy_around_c, unshare_copy_c, range_compare_c) as engine and found test code calling an
# allocator, so a scan that reads nothing cannot pass.  LINT_KO reads another build.
ko=${LINT_KO:-build/module-default/daxcow.ko}
(
	[ -f "$ko" ] || { echo "no module at $ko (make module)"; exit 1; }
	llvm-objdump-19 -dr -C "$ko" | awk -F'\t' '
	function not_engine(f) {
		return f ~ /^(init_module|cleanup_module|daxcow_stats_(create|destroy|open|show)|daxcow_stat_sum|daxcow_apply2_debugfs|apply2_[a-z_]+|daxcow_test_iomap_ops)$/ ||
		       f ~ /^<daxcow_main::Daxcow as kernel::module::Module>::init$/ ||
		       f ~ /^<daxcow_main::(Daxcow|stats::Registration|dax_cow::Registration) as core::ops::drop::Drop>::drop$/ ||
		       f ~ /^daxcow_main::kunit::/ || f ~ /::kunit_rust_wrapper_/ ||
		       f == "daxcow_main::dax::recovery::page_before_a_hole" ||
		       f ~ /^<kernel::fmt::Adapter<.*> as core::fmt::Display>::fmt$/ ||
		       f == "<kernel::alloc::AllocError as core::fmt::Debug>::fmt"
	}
	function engine_callee(c) {
		return c ~ /^(iomap_iter|iomap_iter_advance|dax_cow_direct_access|dax_flush|copy_mc_to_kernel|dax_read_lock|dax_read_unlock|is_vmalloc_or_module_addr|daxcow_stat_add|daxcow_cpu_has_erms)$/ ||
		       c ~ /^(memcpy|memset|memmove|__fentry__|__x86_return_thunk|__stack_chk_fail)$/ ||
		       c ~ /^(__asan_|__kasan_check_|__ubsan_handle_|__sanitizer_cov_)/ ||
		       c ~ /^(kernel::error::to_result|<kernel::error::Error>::from_errno)$/ ||
		       c ~ /^core::(panicking::|slice::index::slice_index_fail|result::unwrap_failed|option::(unwrap|expect)_failed)/
	}
	/^[0-9a-f]+ <.*>:$/ { fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn); defined[fn] = 1; next }
	/^ +[0-9a-f]+: / {
		op = $2
		if (op ~ /^call/ && $3 ~ /^\*/) indirect[fn]++
		next
	}
	/R_X86_64_/ && op ~ /^(call|jmp|j[a-z]+)/ {
		sym = $NF; sub(/[-+]0x[0-9a-f]+$/, "", sym)
		calls[fn, sym] = 1
	}
	END {
		for (k in calls) {
			split(k, fs, SUBSEP); f = fs[1]; c = fs[2]
			if (not_engine(f)) {
				if (c ~ /alloc/) test_allocs++
				continue
			}
			engine[f] = 1
			if (c ~ /^\./ || (c in defined) || engine_callee(c)) continue
			if (c ~ /__x86_indirect_thunk/ && f == "daxcow_iomap_apply2") continue
			print "ENGINE: " f " calls " c; bad++
		}
		for (f in indirect)
			if (!not_engine(f) && f != "daxcow_iomap_apply2") { print "ENGINE: " f " makes an indirect call"; bad++ }
		n = 0; for (f in engine) n++
		print n " engine functions with calls out; test code calling an allocator: " test_allocs + 0
		split("copy_around_c unshare_copy_c range_compare_c", want, " ")
		for (i in want)
			if (!(("daxcow_main::dax_cow::" want[i]) in engine)) { print "not classed as engine: " want[i]; bad++ }
		if (!test_allocs) { print "no test code calling an allocator found: the scan read nothing"; bad++ }
		exit bad > 0
	}'
) >"$out" 2>&1
result "the engine calls only listed kernel functions, no allocator, lock or sleep of its own (module relocations)" $?
