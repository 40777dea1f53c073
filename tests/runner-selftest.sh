#!/usr/bin/env bash
# Self-tests of qemu/run (host side): it must pass a command's exit status through, kill a hung
# guest at the timeout with a clear message, and fail a run whose kernel log has a WARNING.
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
expect "a hung guest is killed at the timeout" 124 'TIMEOUT: the guest did not finish within 25s' -- \
	--no-module --timeout 25 -- sleep 600
