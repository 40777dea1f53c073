#!/usr/bin/env bash
# Build the daxcow guest kernel: Linux 7.3 from Debian's linux-source-7.3, with patches/series
# applied in order and qemu/kernel.config merged onto allnoconfig.
#
#   build/linux/              the patched source tree (git metadata kept in build/linux.git, so
#                             the tree looks like a release tree and gets no "+" version suffix)
#   build/linux/out-$PROFILE/ the object tree (a direct subdirectory of the source, so Kbuild
#                             uses relative paths and the whole build/linux can be moved)
#
# Incremental: a changed series is applied with a two-tree git read-tree, which rewrites only
# the files whose patched contents changed, so make rebuilds only what depends on them.
# A finished build is saved in $DAXCOW_CACHE keyed by series + config + toolchain; a fresh clone
# with the same key starts from that copy instead of from scratch.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${PROFILE:-default}
JOBS=${JOBS:-$(( $(nproc) + 1 ))}
TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-7.3.tar.xz}
CACHE=${DAXCOW_CACHE:-/var/cache/daxcow}
src=$top/build/linux
gitdir=$top/build/linux.git
out=out-$PROFILE
obj=$src/$out

die() { echo "kernel: $*" >&2; exit 1; }
log() { echo "kernel: $*"; }
g() { git -C "$src" --git-dir="$gitdir" --work-tree="$src" "$@"; }

export RUST_LIB_SRC=${RUST_LIB_SRC:-/usr/src/rustc-$(rustc --version | awk '{ print $2 }')/library}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}
export PATH=$HOME/.cargo/bin:$PATH
KMAKE=(make -C "$src" O="$out" LLVM=-19 -j"$JOBS")

fragments=("$top/qemu/kernel.config")
if [ "$PROFILE" = pristine ]; then
	# Linux 7.3 as released, with the C engine only: no series, so no engine interface to
	# configure.  The regression tests of the fix patches run on it to show them failing.
	mkdir -p "$top/build"
	grep -v '^CONFIG_FS_DAX_COW_ENGINE=' "$top/qemu/kernel.config" > "$top/build/kernel-pristine.base.config"
	fragments=("$top/build/kernel-pristine.base.config")
fi
[ "$PROFILE" = default ] || fragments+=("$top/qemu/kernel-$PROFILE.config")
for f in "${fragments[@]}"; do [ -f "$f" ] || die "no config fragment $f for PROFILE=$PROFILE"; done

series=()
# DAXCOW_PATCHES: another patch directory (the pipeline self-test uses it to try a broken one).
patchdir=${DAXCOW_PATCHES:-$top/patches}
if [ -f "$patchdir/series" ] && [ "$PROFILE" != pristine ]; then
	while read -r p; do
		p=${p%%#*}; p=$(echo "$p" | xargs)
		[ -n "$p" ] || continue
		[ -f "$patchdir/$p" ] || die "patches/series names $p, which does not exist"
		series+=("$patchdir/$p")
	done < "$patchdir/series"
fi

cache_key() {
	{
		sha256sum "$TARBALL" | cut -c1-16
		echo "$PROFILE"
		cat "${fragments[@]}" "$top/scripts/kernel.sh"
		for p in "${series[@]}"; do echo "== $(basename "$p")"; cat "$p"; done
		rustc --version; clang-19 --version | head -1; bindgen --version
	} | sha256sum | cut -c1-20
}

# 1. Source tree: from the cache when the key matches, else from the tarball.
key=$(cache_key)
if [ ! -d "$src" ]; then
	if [ -f "$CACHE/kernel-$key.tar" ]; then
		log "restoring the built tree from $CACHE/kernel-$key.tar"
		mkdir -p "$top/build"
		tar -C "$top/build" -xf "$CACHE/kernel-$key.tar" || die "cache restore failed"
	else
		log "unpacking $TARBALL"
		[ -f "$TARBALL" ] || die "$TARBALL missing: run make deps"
		rm -rf "$top/build/linux.tmp" "$gitdir"
		mkdir -p "$top/build/linux.tmp"
		tar -C "$top/build/linux.tmp" --strip-components=1 -xf "$TARBALL"
		mv "$top/build/linux.tmp" "$src"
	fi
fi
if [ ! -d "$gitdir" ]; then
	git init -q --bare "$gitdir"
	g config core.bare false
	printf '/out-*/\n' > "$gitdir/info/exclude"
	g add -A -f . && g -c user.name=daxcow -c user.email=daxcow@localhost commit -q -m pristine
	g tag pristine
fi

# 2. Apply the series onto the pristine tree in a scratch index, then move the work tree to it,
#    touching only the files that differ.
idx=$gitdir/series-index
rm -f "$idx"
GIT_INDEX_FILE=$idx g read-tree pristine
for p in "${series[@]}"; do
	if ! err=$(GIT_INDEX_FILE=$idx g apply --cached "$p" 2>&1); then
		echo "$err" >&2
		die "patch $(basename "$p") does not apply"
	fi
done
want=$(GIT_INDEX_FILE=$idx g write-tree)
have=$(g write-tree)
if [ "$want" != "$have" ]; then
	log "series changed: updating $(g diff-tree -r --name-only "$have" "$want" | wc -l) files"
	g read-tree -m -u "$have" "$want" || die "cannot move the work tree to the new series"
fi

# 3. Configuration: allnoconfig + fragments, then verify every requested symbol stuck.
mkdir -p "$obj"
cfgstamp=$obj/.daxcow-config-inputs
cfgin=$(cat "${fragments[@]}" | sha256sum)
if [ ! -f "$obj/.config" ] || [ "$(cat "$cfgstamp" 2>/dev/null)" != "$cfgin" ]; then
	log "configuring ($PROFILE): allnoconfig + ${fragments[*]##*/}"
	"${KMAKE[@]}" -s allnoconfig
	(cd "$obj" && KCONFIG_CONFIG=.config "$src/scripts/kconfig/merge_config.sh" -m -O . .config "${fragments[@]}" >/dev/null)
	"${KMAKE[@]}" -s olddefconfig
	missing=$(cat "${fragments[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=' | while IFS= read -r line; do
		if ! grep -qx -- "$line" "$obj/.config"; then echo "$line"; fi
	done)
	missing+=$(cat "${fragments[@]}" | sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1/p' | while read -r sym; do
		if grep -q "^$sym=" "$obj/.config"; then echo " $sym should be unset"; fi
	done)
	[ -z "$missing" ] || die "these config requests did not stick (a dependency is missing): $(echo $missing)"
	echo "$cfgin" > "$cfgstamp"
fi

# 4. Build.
log "building ($PROFILE, -j$JOBS)"
start=$(date +%s)
"${KMAKE[@]}" all >"$top/build/kernel-$PROFILE.log" 2>&1 || {
	grep -E 'error|Error' "$top/build/kernel-$PROFILE.log" | head -30 >&2
	die "kernel build failed: see build/kernel-$PROFILE.log"
}
log "built $(cat "$obj/include/config/kernel.release") in $(( $(date +%s) - start ))s: $obj/arch/x86/boot/bzImage"

# 5. Save to the cache (one entry per key; keep the three newest).
if [ ! -f "$CACHE/kernel-$key.tar" ] && mkdir -p "$CACHE" 2>/dev/null; then
	log "saving the built tree to $CACHE/kernel-$key.tar"
	# Only this profile's object tree: another profile's would double the entry and is not
	# what the key describes.
	others=()
	for d in "$src"/out-*; do
		[ "$d" = "$obj" ] || others+=(--exclude="linux/$(basename "$d")")
	done
	tar -C "$top/build" -cf "$CACHE/kernel-$key.tar.tmp" "${others[@]}" linux linux.git && mv "$CACHE/kernel-$key.tar.tmp" "$CACHE/kernel-$key.tar"
	ls -t "$CACHE"/kernel-*.tar | tail -n +4 | xargs -r rm -f
fi
