#!/usr/bin/env bash
# Each patch of the series builds on its own: for every patch in order, every C file it touches
# is compiled as it stands after that patch (the series applied up to it onto pristine 7.3, in
# a scratch git index of build/linux.git), with the default build's own command line for that
# object, -Werror.  The headers are the tree's; the only header the series adds
# (include/linux/dax_cow.h) is new in the patch that first includes it.  The Rust bindings
# patch is built by `make module`.  One line per compile; exits 1 on the first failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/linux obj=$src/out-default gitdir=$top/build/linux.git
[ -f "$obj/.config" ] || { echo "series-build: no kernel build (make kernel)" >&2; exit 1; }
g() { git -C "$src" --git-dir="$gitdir" --work-tree="$src" "$@"; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export GIT_INDEX_FILE=$tmp/index
g read-tree pristine
for p in $(grep -v '^#' "$top/patches/series"); do
	g apply --cached "$top/patches/$p"
	for f in $(sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "$top/patches/$p"); do
		o=${f%.c}.o
		cmdfile=$obj/$(dirname "$o")/.$(basename "$o").cmd
		[ -f "$cmdfile" ] || { echo "series-build: $o is not built in this configuration" >&2; exit 1; }
		mkdir -p "$tmp/$(dirname "$f")"
		g show ":$f" > "$tmp/$f"
		cmd=$(sed -n "s|^savedcmd_$o := ||p" "$cmdfile")
		cmd=${cmd//-Wp,-MMD,$(dirname "$o")\/.$(basename "$o").d/}
		cmd=${cmd//-o $o/-o $tmp/out.o}
		# The file's own directory first on the include path, for its local headers.
		cmd=${cmd// ..\/$f/ -I..\/$(dirname "$f") -Werror $tmp/$f}
		if (cd "$obj" && eval "$cmd") >"$tmp/log" 2>&1; then
			echo "series-build: $p: $f builds"
		else
			sed 's/^/  | /' "$tmp/log" | head -30
			echo "series-build: $p: $f does not build"
			exit 1
		fi
	done
done
