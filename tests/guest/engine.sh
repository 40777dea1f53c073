#!/bin/bash
# The Rust engine on every path fs/dax.c routes to it: each case checks the file's bytes
# against a model and checks that daxcow's counters moved, so a run without the module
# (qemu/run --no-module) fails here.
set -u
. "$(dirname "$0")/lib.sh"

dev=/dev/pmem0
mnt=/mnt/engine
M=/tmp/engine-model
here=$(cd "$(dirname "$0")" && pwd)

# moved NAME BEFORE [MIN]: the counter grew by at least MIN (1) since BEFORE.
moved() { local now; now=$(daxcow_stat "$1"); [ -n "$now" ] && [ -n "$2" ] && [ $((now - $2)) -ge "${3:-1}" ]; }

# fresh_pair NAME SIZE: $mnt/NAME (random data, model $M.NAME) and a reflink $mnt/NAME.c.
fresh_pair() {
	head -c "$2" /dev/urandom > "$M.$1"
	cp "$M.$1" "$mnt/$1"
	cp --reflink=always "$mnt/$1" "$mnt/$1.c"
	cp "$M.$1" "$M.$1.c"
}

mkfs_dax "$dev" "$mnt"
check "daxcow counters are readable" test -r "$daxcow_stats"
# lib.sh's FIEMAP helpers count extents, not holes: two written blocks around a hole.
xfs_io -f -c "pwrite -q 0 4096" -c "pwrite -q 8192 4096" -c fsync $mnt/holey
check "FIEMAP helpers: a hole between two extents is not an extent" \
	test "$(total_extents $mnt/holey)/$(shared_extents $mnt/holey)" = 2/0
rm -f $mnt/holey

# --- write(2) into a shared extent: head only, tail only, both, across extents ---
fresh_pair w $((1 << 20))
for c in "head 100 3996" "tail 8192 100" "both 12388 200" "both-across-pages 20000 9000"; do
	set -- $c
	b=$(daxcow_stat cow_write); bc=$(daxcow_stat cow_bytes_copied)
	xfs_io -c "pwrite -q -S 0x41 $2 $3" $mnt/w.c
	patch_model $M.w.c "$2" "$3" 0x41
	check "write $1 ($2+$3): data" same $mnt/w.c $M.w.c
	check "write $1: cow_write counted" moved cow_write "$b"
	check "write $1: head/tail bytes copied" moved cow_bytes_copied "$bc"
done
check "write: source untouched" same $mnt/w $M.w

# A clone of a file made of several extents, written across three of them unaligned.
head -c $((64 << 10)) /dev/urandom > $M.frag
for i in 0 1 2 3; do
	dd if=$M.frag of=$mnt/frag bs=16k skip=$i seek=$((i * 2)) count=1 conv=notrunc status=none
	sync
done
cp $mnt/frag $M.frag
cp --reflink=always $mnt/frag $mnt/frag.c; cp $M.frag $M.frag.c
info "frag has $(total_extents $mnt/frag) extents"
b=$(daxcow_stat cow_write)
xfs_io -c "pwrite -q -S 0x42 10000 90000" $mnt/frag.c
patch_model $M.frag.c 10000 90000 0x42
check "write across several shared extents: data" same $mnt/frag.c $M.frag.c
check "write across several shared extents: counted" moved cow_write "$b"
check "write across several shared extents: source untouched" same $mnt/frag $M.frag

# A write whose copy from user space stops after 3000 of 5000 bytes (the source buffer runs
# into an unmapped page): only the 3000 bytes may change.  7.3 left the bytes between the short
# end and the end of that block with the new block's old contents; since patches/0005
# dax_iomap_iter() asks the engine to fill them (cfixes.sh runs this under both engines).
fresh_pair s $((64 << 10))
got=$(python3 "$here/shortwrite.py" $mnt/s.c 100 5000 3000)
patch_model $M.s.c 100 "$got" 0x58
info "short write returned $got"
check "short write into a shared extent: returned the partial count" test "$got" = 3000
check "short write into a shared extent: bytes it did not store keep the old data" same $mnt/s.c $M.s.c

# --- mmap write fault on a shared page (PTE) ---
fresh_pair f $((1 << 20))
b=$(daxcow_stat cow_fault_pte); bc=$(daxcow_stat cow_bytes_copied)
xfs_io -c "mmap -w 0 1m" -c "mwrite -S 0x43 4100 10" -c "msync -s 0 1m" $mnt/f.c
patch_model $M.f.c 4100 10 0x43
check "PTE write fault: data" same $mnt/f.c $M.f.c
check "PTE write fault: cow_fault_pte counted" moved cow_fault_pte "$b"
check "PTE write fault: whole page copied" moved cow_bytes_copied "$bc" 4096
check "PTE write fault: source untouched" same $mnt/f $M.f

# --- PMD write fault: a 2 MiB-aligned extent (stripe unit 2 MiB, extent and CoW extent size
#     hints 2 MiB), so that both the old and the new block can be mapped by one PMD ---
pmd=/mnt/pmd
mkdir -p $pmd
mkfs.xfs -f -q -m reflink=1 -d su=2m,sw=1 /dev/pmem1 >/dev/null || die "mkfs.xfs /dev/pmem1"
mount -o dax=always /dev/pmem1 $pmd || die "mount /dev/pmem1"
touch $pmd/p
xfs_io -c "extsize 2m" -c "cowextsize 2m" $pmd/p
head -c $((4 << 20)) /dev/urandom > $M.p
cp $M.p $pmd/p
cp --reflink=always $pmd/p $pmd/p.c; cp $M.p $M.p.c
b=$(daxcow_stat cow_fault_pmd); bc=$(daxcow_stat cow_bytes_copied)
xfs_io -c "mmap -w 0 4m" -c "mwrite -S 0x44 $((2 << 20)) 1" -c "msync -s 0 4m" $pmd/p.c
patch_model $M.p.c $((2 << 20)) 1 0x44
check "PMD write fault: data" same $pmd/p.c $M.p.c
check "PMD write fault: cow_fault_pmd counted" moved cow_fault_pmd "$b"
check "PMD write fault: 2 MiB copied" moved cow_bytes_copied "$bc" $((2 << 20))
check "PMD write fault: source untouched" same $pmd/p $M.p
umount $pmd
check "PMD file system: xfs_repair -n clean" quiet xfs_repair -n /dev/pmem1

# --- zeroing into shared extents: zero range, punch hole, truncate ---
fresh_pair z $((1 << 20))
b=$(daxcow_stat cow_zero)
xfs_io -c "fzero 5000 3000" $mnt/z.c
patch_model $M.z.c 5000 3000 0x00
check "zero range into a shared extent: data" same $mnt/z.c $M.z.c
check "zero range: cow_zero counted" moved cow_zero "$b"
b=$(daxcow_stat cow_zero)
xfs_io -c "fpunch 70000 10000" $mnt/z.c
patch_model $M.z.c 70000 10000 0x00
check "punch hole into a shared extent: data" same $mnt/z.c $M.z.c
check "punch hole: cow_zero counted" moved cow_zero "$b"
b=$(daxcow_stat cow_zero)
xfs_io -c "truncate 300001" $mnt/z.c
truncate -s 300001 $M.z.c
check "truncate into a shared extent: data" same $mnt/z.c $M.z.c
check "truncate: cow_zero counted" moved cow_zero "$b"
xfs_io -c "truncate 400000" $mnt/z.c; truncate -s 400000 $M.z.c
check "truncate then extend: the tail past the old EOF reads zero" same $mnt/z.c $M.z.c
check "zeroing: source untouched" same $mnt/z $M.z

# --- FALLOC_FL_UNSHARE_RANGE ---
fresh_pair u $((1 << 20))
b=$(daxcow_stat unshares); bb=$(daxcow_stat unshare_bytes)
xfs_io -c "funshare 0 1m" $mnt/u.c
check "unshare: data" same $mnt/u.c $M.u.c
check "unshare: extents no longer shared" test "$(shared_extents $mnt/u.c)" -eq 0
check "unshare: counted" moved unshares "$b"
check "unshare: 1 MiB copied" moved unshare_bytes "$bb" $((1 << 20))

# --- FIDEDUPERANGE ---
head -c $((1 << 20)) /dev/urandom > $M.d
cp $M.d $mnt/d1; cp $M.d $mnt/d2; sync
b=$(daxcow_stat compares); bb=$(daxcow_stat bytes_compared)
out=$(xfs_io -c "dedupe $mnt/d1 0 0 1m" $mnt/d2 2>&1)
check "dedupe identical: all bytes deduped" grep -q "deduped 1048576/1048576" <<<"$out"
check "dedupe identical: extents shared after" test "$(shared_extents $mnt/d2)" -gt 0
check "dedupe identical: data kept" same $mnt/d2 $M.d
check "dedupe identical: compares counted" moved compares "$b"
check "dedupe identical: 1 MiB compared" moved bytes_compared "$bb" $((1 << 20))

# The byte written must differ from the random byte it replaces (a fixed value matches it
# once in 256 runs, and then the files are the same and rightly deduped).
# other_byte FILE OFFSET: a byte value that is not the one at OFFSET in FILE.
other_byte() { printf '0x%02x' $(( ($(od -An -tu1 -j "$2" -N1 "$1") + 1) % 256 )); }
cp $M.d $mnt/d3; xfs_io -c "pwrite -q -S $(other_byte $M.d $(( (1 << 20) - 1 ))) $(( (1 << 20) - 1 )) 1" $mnt/d3; sync
b=$(daxcow_stat mismatches)
out=$(xfs_io -c "dedupe $mnt/d1 0 0 1m" $mnt/d3 2>&1)
check "dedupe differing in the last byte: reported different" grep -qi "did not match" <<<"$out"
check "dedupe differing: mismatches counted" moved mismatches "$b"
check "dedupe differing: nothing shared" test "$(shared_extents $mnt/d3)" -eq 0

# Holes: hole against hole is the same; hole against data (even zeroes) differs, as in C.
xfs_io -f -c "truncate 1m" -c "pwrite -q -S 0 512k 4k" $mnt/h1 >/dev/null
xfs_io -f -c "truncate 1m" -c "pwrite -q -S 0 512k 4k" $mnt/h2 >/dev/null
b=$(daxcow_stat compares)
out=$(xfs_io -c "dedupe $mnt/h1 0 0 64k" $mnt/h2 2>&1)
check "dedupe hole against hole: same" grep -q "deduped 65536/65536" <<<"$out"
check "dedupe holes: compares counted" moved compares "$b"
xfs_io -f -c "pwrite -q -S 0 0 64k" $mnt/h3 >/dev/null
out=$(xfs_io -c "dedupe $mnt/h1 0 0 64k" $mnt/h3 2>&1)
check "dedupe hole against zeroes: different" grep -qi "did not match" <<<"$out"

# Several destinations in one call: two identical, one different.
cp $M.d $mnt/m1; cp $M.d $mnt/m2; cp $M.d $mnt/m3
xfs_io -c "pwrite -q -S $(other_byte $M.d 4096) 4096 1" $mnt/m3; sync
b=$(daxcow_stat compares)
out=$(python3 "$here/dedupe.py" $mnt/d1 0 65536 $mnt/m1:0 $mnt/m2:0 $mnt/m3:0)
info "multi-destination dedupe: $(echo $out)"
check "dedupe to three destinations: results" test "$(echo $out)" = "0 65536 0 65536 1 0"
check "dedupe to three destinations: three compares" moved compares "$b" 3

# --- rmmod/insmod while a writer does CoW I/O ---
fresh_pair L $((1 << 20))
(
	for i in $(seq 1 150); do
		off=$(( (i * 7919) % ((1 << 20) - 64) ))
		byte=$(( i % 200 + 20 ))
		xfs_io -c "pwrite -q -S $byte $off 50" $mnt/L.c
		patch_model $M.L.c $off 50 $byte
		cp --reflink=always $mnt/L.c $mnt/L.snap    # share again, so the next write CoWs
	done
) &
writer=$!
cycles=0
while kill -0 $writer 2>/dev/null && [ $cycles -lt 40 ]; do
	rmmod daxcow && insmod "$DAXCOW_KO" && cycles=$((cycles + 1))
done
wait $writer
grep -q '^daxcow ' /proc/modules || insmod "$DAXCOW_KO"
info "$cycles rmmod/insmod cycles during the writer"
check "rmmod/insmod under CoW writes: cycles ran" test $cycles -gt 3
check "rmmod/insmod under CoW writes: data" same $mnt/L.c $M.L.c
check "rmmod/insmod under CoW writes: source untouched" same $mnt/L $M.L

umount $mnt
check "xfs_repair -n clean after the engine tests" quiet xfs_repair -n $dev
finish
