#!/bin/bash
# A write fault on a shared page racing with a pwrite() into the same page (lostwrite.py),
# under each engine, in the racing boot whose two vCPUs run in parallel (tests/guest/race.sh):
# every completed pwrite() stays written (patches/0015).  Two controls run beside it, read
# faults instead of write faults and the two processes on different pages, and a pwrite() whose
# buffer is a mapping of the file it writes (0015's fallback: it must neither hang nor write
# the wrong bytes, and under daxcow its counter shows the bounce path taken).  Each racing
# mode runs 10 s (LOSTWRITE_SECS) and longer, up to twelve times as long, until the writer has
# 10 rounds; the self mode runs LOSTWRITE_SECS.  On the pristine kernel (PROFILE=pristine, 7.3
# without the series) the first check fails: docs/failure-model.md records that run.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(nproc)" -ge 2 ] || die "the race needs two CPUs; the guest has $(nproc)"

here=$(cd "$(dirname "$0")" && pwd)
dev=/dev/pmem1 mnt=/mnt/lostwrite
secs=${LOSTWRITE_SECS:-10}
umount $mnt 2>/dev/null

# counter NAME: daxcow's counter, 0 under the C engine (daxcow not loaded).
counter() { local n; n=$(daxcow_stat "$1"); echo "${n:-0}"; }

run() {  # OUTPUT ENGINE
	local mode before
	: > "$1"
	for mode in store read disjoint self; do
		mkfs_dax $dev $mnt
		dmesg -C
		before=$(counter cow_fault_pte)
		writes_before=$(counter cow_write)
		python3 "$here/lostwrite.py" $mnt/f "$secs" $mode > "$1.$mode" 2>&1
		sed "s/^/$mode: /" "$1.$mode" >> "$1"
		if [ "$2" = rust ] && [ "$mode" = self ]; then
			# 0015's bounce path writes a page per dax_iomap_rw(), and daxcow counts a
			# copy-around per pass over a shared extent: the whole-file write from the
			# file's own mapping, which the fast path cannot make progress on, takes at
			# least a pass per page a round (lostwrite.py prints how many pages); done in
			# one pass, it would take one.
			local rounds pages passes
			rounds=$(awk '/ rounds$/ { print $1 }' "$1.$mode")
			pages=$(awk '/ pages a round$/ { print $1 }' "$1.$mode")
			passes=$(( $(counter cow_write) - writes_before ))
			echo "self: $passes write copy-arounds in ${rounds:-0} rounds" >> "$1"
			if [ "${rounds:-0}" -gt 0 ] && [ "${pages:-0}" -gt 0 ] &&
			   [ "$passes" -ge $((pages * rounds)) ]; then
				echo "self: written a page at a time (the bounce path)" >> "$1"
			fi
		fi
		if [ "$2" = rust ] && [ "$mode" = store ]; then
			if [ "$(counter cow_fault_pte)" -gt "$before" ]; then
				echo "store: daxcow counted copy-on-write faults" >> "$1"
			else
				echo "store: daxcow counted no copy-on-write fault" >> "$1"
			fi
		fi
		if dmesg | grep -qE 'WARNING|BUG|Bad page|INFO: task'; then
			echo "$mode: kernel log: a report" >> "$1"
		else
			echo "$mode: kernel log: no report" >> "$1"
		fi
		umount $mnt
	done
}

t="lost write"
under_both_engines lostwrite run

check "$t: every pwrite() stayed written against write faults on its pages (0015)" \
	both "store: lost writes: 0"
check "$t: ... and the two processes raced: at least 10 writes and 10 faulter passes" \
	both "store: raced: at least 10 writes and 10 faulter passes"
check "$t: ... and took copy-on-write faults (daxcow's counter)" \
	rust "store: daxcow counted copy-on-write faults"
for mode in read disjoint; do
	check "$t: control ($mode): every pwrite() stayed written" both "$mode: lost writes: 0"
done
check "$t: a pwrite() from a mapping of the file it writes neither hangs nor writes wrong bytes" \
	both "self: self writes: all correct"
check "$t: ... the whole-file one a page at a time, through 0015's bounce page (daxcow's counter)" \
	rust "self: written a page at a time (the bounce path)"
check "$t: no kernel report" eval '! grep -q "kernel log: a report" /tmp/lostwrite.rust /tmp/lostwrite.c'
finish
