#!/usr/bin/env bash
# Self-tests of the pipeline (host side): the guest runner passes a command's exit status
# through, kills a hung guest at the timeout with a clear message and fails a run whose kernel
# log has a WARNING (but not the one known in-tree warning of device removal, between its
# markers); a patch that does not apply stops the kernel build naming itself; a
# package that cannot be had stops `make deps` naming itself.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/qemu/run
out=$(mktemp)
trap 'rm -f "$out"' EXIT

expect() {  # NAME WANT_STATUS GREP_PATTERN -- qemu/run args...
	local name=$1 want=$2 pat=$3; shift 4
	"$run" "$@" >"$out" 2>&1
	local got=$?
	if [ "$got" = "$want" ] && { [ -z "$pat" ] || grep -Eq "$pat" "$out"; }; then
		echo "PASS: runner: $name"
	else
		echo "FAIL: runner: $name (status $got, wanted $want${pat:+ and output matching '$pat'})"
		sed 's/^/  | /' "$out" | tail -n 20
	fi
}

expect "passes the command's output and status 0" 0 '^hello from the guest$' -- --no-module -- echo hello from the guest
expect "passes a non-zero status through" 7 '' -- --no-module -- sh -c 'exit 7'
expect "a kernel WARNING in the log fails the run" 126 'kernel log has a report' -- --no-module -- \
	sh -c 'echo "WARNING: CPU: 0 PID: 1 at daxcow-selftest:1 planted" > /dev/kmsg'
# The one known in-tree warning of device removal (qemu/run, docs/failure-model.md) is left out
# only between devremove's markers and only with its call chain; any other case still fails.
# warning_cmd RIP: a guest shell command writing a warning block shaped like the console's
# to the kernel log, a record per line.
warning_cmd() {
	local l lines=("------------[ cut here ]------------"
		"WARNING: fs/dax.c:454 at $1+0x110/0x140, CPU#0: sh/1" "Call Trace:" " <TASK>"
		" __dax_invalidate_entry+0x81/0x180" " invalidate_inode_pages2_range+0x16c/0x2b0"
		" xfs_dax_failure_fn+0x113/0x180" " kill_dax+0x66/0xb0" " </TASK>"
		"---[ end trace 0000000000000000 ]---")
	for l in "${lines[@]}"; do printf "echo '%s' > /dev/kmsg; " "$l"; done
}
begin='echo "daxcow-test: device removal begins" > /dev/kmsg; '
end='echo "daxcow-test: device removal ends" > /dev/kmsg'
expect "the known device-removal warning between the markers is left out, and said so" 0 \
	'known in-tree warning during device removal' -- --no-module -- \
	sh -c "$begin$(warning_cmd dax_disassociate_entry)$end"
expect "the same warning outside the markers fails the run" 126 'kernel log has a report' -- \
	--no-module -- sh -c "$(warning_cmd dax_disassociate_entry)true"
expect "another warning between the markers fails the run" 126 'kernel log has a report' -- \
	--no-module -- sh -c "$begin$(warning_cmd dax_insert_entry)$end"
expect "a hung guest is killed at the timeout" 124 'TIMEOUT: the guest did not finish within 25s' -- \
	--no-module --timeout 25 -- sleep 600

# A broken patch: the series is tried in a scratch index, so the work tree is not touched.
broken=$(mktemp -d)
cp "$top"/patches/*.patch "$broken/"
cp "$top/patches/series" "$broken/series"
first=$(grep -v '^#' "$broken/series" | head -1)
# Change the first context line of the first hunk: the patch no longer matches the tree.
awk '!done && hunk && /^ / { $0 = $0 " BROKEN"; done = 1 } /^@@/ { hunk = 1 } { print }' \
	"$top/patches/$first" > "$broken/$first"
if DAXCOW_PATCHES=$broken bash "$top/scripts/kernel.sh" >"$out" 2>&1; then
	echo "FAIL: kernel: a patch that does not apply stops the build (it did not)"
elif grep -q "patch $first does not apply" "$out"; then
	echo "PASS: kernel: a patch that does not apply stops the build and names itself"
else
	echo "FAIL: kernel: a patch that does not apply stops the build and names itself"
	sed 's/^/  | /' "$out" | tail -n 10
fi
rm -rf "$broken"

# A package that cannot be had.
if DAXCOW_EXTRA_PKGS=daxcow-no-such-package bash "$top/scripts/deps.sh" >"$out" 2>&1; then
	echo "FAIL: deps: a missing package stops make deps (it did not)"
elif grep -q "daxcow-no-such-package" "$out"; then
	echo "PASS: deps: a missing package stops make deps and names itself"
else
	echo "FAIL: deps: a missing package stops make deps and names itself"
	sed 's/^/  | /' "$out" | tail -n 10
fi
