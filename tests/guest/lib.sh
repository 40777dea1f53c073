# Helpers for the in-guest test scripts (sourced, bash).  Each check prints one line
# "PASS: name" or "FAIL: name: why"; scripts/check.sh counts them.
pass_count=0 fail_count=0
pass() { echo "PASS: $*"; pass_count=$((pass_count + 1)); }
fail() { echo "FAIL: $*"; fail_count=$((fail_count + 1)); }
# check NAME COMMAND...: PASS when COMMAND succeeds.  On a kernel with no daxcow to load (the
# pristine profile), a check of the Rust run (`rust LINE`) is printed as SKIP and not counted.
check() {
	local name=$1; shift
	if [ "$c_engine_only" = 1 ] && [ "$1" = rust ]; then echo "SKIP: $name (no daxcow on this kernel)"; return; fi
	if "$@"; then pass "$name"; else fail "$name"; fi
}
# daxcow_available: a module this kernel can load (not on PROFILE=pristine).
daxcow_available() { [ -n "${DAXCOW_KO:-}" ] && [ -f "$DAXCOW_KO" ]; }
c_engine_only=0
# quiet COMMAND...: run it with its output discarded (for use under check).
quiet() { "$@" >/dev/null 2>&1; }
info() { echo "  $*"; }
die() { echo "FAIL: $*"; exit 1; }
finish() { echo "  ($pass_count passed, $fail_count failed in $(basename "$0"))"; [ "$fail_count" = 0 ]; }

# daxcow's counters (src/stats.rs): one "name value" line each, while the module is loaded.
daxcow_stats=/sys/kernel/debug/daxcow/stats
# daxcow_stat NAME: the counter's current value, empty when daxcow is not loaded.
daxcow_stat() { awk -v name="$1" '$1 == name { print $2 }' "$daxcow_stats" 2>/dev/null; }

STATX_ATTR_DAX=0x00200000
FIEMAP_EXTENT_SHARED=0x2000

# is_dax FILE: statx reports STATX_ATTR_DAX.
is_dax() {
	local attrs
	attrs=$(xfs_io -r -c 'statx -r' "$1" | awk '$1 == "stat.attributes" { print $3 }')
	[ -n "$attrs" ] && (( attrs & STATX_ATTR_DAX ))
}

# shared_extents FILE / total_extents FILE: counts from FIEMAP, holes left out.  `xfs_io fiemap
# -v` prints "N: [START..END]: BLOCKS TOTAL FLAGS" per extent and "N: [START..END]: hole TOTAL"
# per hole: the third field tells them apart.
fiemap_flags() { xfs_io -r -c 'fiemap -v' "$1" | awk 'NR > 2 && $3 != "hole" { print $NF }'; }
shared_extents() { local n=0 f; for f in $(fiemap_flags "$1"); do (( f & FIEMAP_EXTENT_SHARED )) && n=$((n + 1)); done; echo $n; }
total_extents() { fiemap_flags "$1" | wc -l; }

# patch_model FILE OFFSET LEN BYTE: what a pwrite -S BYTE does, applied to a model file.
patch_model() {
	head -c "$3" /dev/zero | tr '\0' "\\$(printf '%03o' "$4")" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none 2>/dev/null ||
		dd of="$1" oflag=seek_bytes seek="$2" conv=notrunc status=none
}

# same FILE MODEL: byte-for-byte equal.
same() { cmp -s "$1" "$2"; }

# mkfs_dax DEV MNT: a fresh reflink XFS on DEV mounted -o dax=always at MNT.
mkfs_dax() {
	mkdir -p "$2"
	mkfs.xfs -f -q -m reflink=1 "$1" >/dev/null || die "mkfs.xfs $1"
	mount -o dax=always "$1" "$2" || die "mount -o dax=always $1"
}

# repair_verdict DEV OUTPUT: xfs_repair -n of DEV (unmounted), its log in OUTPUT.repair and a
# line "xfs_repair -n: clean" or "xfs_repair -n: PROBLEMS" (with the log's head) appended to
# OUTPUT.
repair_verdict() {
	if xfs_repair -n "$1" > "$2.repair" 2>&1; then
		echo "xfs_repair -n: clean" >> "$2"
	else
		echo "xfs_repair -n: PROBLEMS" >> "$2"
		sed 's/^/  | /' "$2.repair" | head -20 >> "$2"
	fi
}

# under_both_engines NAME FUNC: runs `FUNC OUTPUT ENGINE` with daxcow loaded (OUTPUT
# /tmp/NAME.rust, ENGINE rust), then with the in-tree C engine (/tmp/NAME.c, c), leaves daxcow
# loaded and prints both outputs.  Then `rust LINE` is true when the Rust run printed LINE, and
# `both LINE` when both runs did.  With no daxcow to load it runs the C engine only.
under_both_engines() {
	both_engines_out=/tmp/$1
	if ! daxcow_available; then
		# The pristine kernel: the in-tree C engine alone; `both` judges its run.
		c_engine_only=1
		: > "$both_engines_out.rust"
		"$2" "$both_engines_out.c" c
		sed 's/^/  c:    /' "$both_engines_out.c"
		return
	fi
	grep -q '^daxcow ' /proc/modules || insmod "${DAXCOW_KO:?}"
	"$2" "$both_engines_out.rust" rust
	rmmod daxcow || die "rmmod daxcow"
	"$2" "$both_engines_out.c" c
	insmod "$DAXCOW_KO" || die "insmod daxcow"
	touch "$both_engines_out.rust" "$both_engines_out.c"
	sed 's/^/  rust: /' "$both_engines_out.rust"
	sed 's/^/  c:    /' "$both_engines_out.c"
}
rust() { grep -qxF "$1" "$both_engines_out.rust"; }
both() {
	{ [ "$c_engine_only" = 1 ] || grep -qxF "$1" "$both_engines_out.rust"; } &&
		grep -qxF "$1" "$both_engines_out.c"
}

# same_as_c NAME C_OUTPUT RUST_OUTPUT: PASS when the two runs printed the same lines, else FAIL
# with the diff.  The failure-path tests run each case under both engines and end with this.
same_as_c() {
	if diff -u "$2" "$3" > /tmp/same_as_c.diff; then
		pass "$1: same outcome with daxcow and with the C engine"
	else
		sed 's/^/  | /' /tmp/same_as_c.diff
		fail "$1: outcomes differ between daxcow and the C engine"
	fi
}
