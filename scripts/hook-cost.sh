#!/usr/bin/env bash
# The engine hook's cost with no engine registered, from the code: builds fs/dax.o of the
# patched tree twice with the default build's own command, with CONFIG_FS_DAX_COW_ENGINE and
# without it (7.3 plus the fix patches), runs objtool on both as Kbuild does (which turns each
# static-key jump into a NOP), and has scripts/hook-cost.py compare the no-engine path of every
# function with the code built without the hook.  Prints the table; fails when they differ.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
obj=$top/build/linux/out-default
[ -f "$obj/fs/.dax.o.cmd" ] || { echo "hook-cost: no kernel build (make kernel)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo '#undef CONFIG_FS_DAX_COW_ENGINE' > "$tmp/engine-off.h"
cmd=$(sed -n 's/^savedcmd_fs\/dax.o := //p' "$obj/fs/.dax.o.cmd")
cmd=${cmd//-Wp,-MMD,fs\/.dax.o.d/}
for v in on off; do
	c=${cmd//-o fs\/dax.o/-o $tmp/dax-$v.o}
	if [ $v = off ]; then
		c=${c//-include ..\/include\/linux\/compiler_types.h/-include ../include/linux/compiler_types.h -include $tmp/engine-off.h}
	fi
	(cd "$obj" && eval "$c")
	"$obj/tools/objtool/objtool" --hacks=jump_label "$tmp/dax-$v.o" >/dev/null 2>&1 || true
done
rc=0; python3 "$top/scripts/hook-cost.py" "$tmp/dax-on.o" "$tmp/dax-off.o" || rc=$?
[ -z "${HOOK_COST_KEEP:-}" ] || cp "$tmp"/dax-on.o "$tmp"/dax-off.o "$HOOK_COST_KEEP"/
exit $rc
