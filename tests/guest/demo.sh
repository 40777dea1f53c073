#!/bin/bash
# The daxcow demo (runs inside the guest, see `make demo`): reflink and dedupe on XFS with
# dax=always on emulated pmem, every byte checked against a model kept in tmpfs.
set -u
. "$(dirname "$0")/lib.sh"

dev=${DEMO_DEV:-/dev/pmem0}
mnt=/mnt/demo
model=/tmp/demo-model
size=$((64 << 20))

engine="in-tree C (daxcow not loaded)"
grep -q '^daxcow ' /proc/modules && engine="daxcow (Rust), counters in $daxcow_stats"
echo "== daxcow demo on $(uname -r), engine: $engine"
[ -b "$dev" ] || die "no pmem device $dev"
info "$dev: $(($(blockdev --getsize64 "$dev") >> 20)) MiB, dax: $(cat /sys/block/${dev#/dev/}/queue/dax 2>/dev/null)"

mkfs_dax "$dev" "$mnt"
check "mount $dev -o dax=always" grep -q "$mnt xfs .*dax=always" /proc/mounts

head -c $size /dev/urandom > $model.src
cp $model.src $mnt/src && sync
check "statx reports STATX_ATTR_DAX on a file" is_dax $mnt/src
check "64 MiB source file written" same $mnt/src $model.src

cp --reflink=always $mnt/src $mnt/clone
cp $model.src $model.clone
info "after cp --reflink=always: clone has $(shared_extents $mnt/clone)/$(total_extents $mnt/clone) extents shared"
check "reflinked clone shares its extents" test "$(shared_extents $mnt/clone)" -gt 0
check "clone equals source" same $mnt/clone $model.clone

# Unaligned write crossing a page boundary: the CoW copies the head and tail of both pages.
xfs_io -c "pwrite -q -S 0x5a 4095 10" $mnt/clone
patch_model $model.clone 4095 10 0x5a
check "unaligned pwrite into the clone (4095+10)" same $mnt/clone $model.clone
check "source unchanged after the clone's write" same $mnt/src $model.src

# mmap store: a write fault on a shared page copies the page before the store lands.
xfs_io -c "mmap -w 0 $size" -c "mwrite -S 0x7b 1048577 100" -c "msync -s 0 $size" $mnt/clone
patch_model $model.clone 1048577 100 0x7b
check "mmap write fault into the clone (1 MiB+1, 100 bytes)" same $mnt/clone $model.clone
check "source unchanged after the mmap write" same $mnt/src $model.src
info "after the writes: clone has $(shared_extents $mnt/clone)/$(total_extents $mnt/clone) extents shared"

# Dedupe: an independent copy of the source, then FIDEDUPERANGE of the identical 64 MiB.
cp --reflink=never $mnt/src $mnt/dup && sync
info "before dedupe: dup has $(shared_extents $mnt/dup)/$(total_extents $mnt/dup) extents shared"
check "independent copy shares nothing" test "$(shared_extents $mnt/dup)" -eq 0
out=$(xfs_io -c "dedupe $mnt/src 0 0 $size" $mnt/dup 2>&1)
info "dedupe: $(echo $out)"
check "FIDEDUPERANGE of identical ranges dedupes all of it" grep -q "deduped $size/$size bytes" <<<"$out"
info "after dedupe: dup has $(shared_extents $mnt/dup)/$(total_extents $mnt/dup) extents shared"
check "deduped copy shares its extents" test "$(shared_extents $mnt/dup)" -gt 0
check "deduped copy still equals source" same $mnt/dup $model.src

# Dedupe of differing ranges must refuse.
out=$(xfs_io -c "dedupe $mnt/clone 0 0 65536" $mnt/dup 2>&1)
info "dedupe of differing ranges: $(echo $out)"
check "FIDEDUPERANGE of differing ranges reports a difference" grep -qi "did not match" <<<"$out"

if [ -r $daxcow_stats ]; then
	info "daxcow counters:"
	while read -r name value; do info "  $name $value"; done < $daxcow_stats
fi

umount $mnt
check "xfs_repair -n clean after unmount" quiet xfs_repair -n "$dev"
finish
