/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxcow_iomap_apply2(): the two-file iterator that the original fsdax reflink
 * series proposed as iomap_apply2(), provided to C callers by daxcow's Rust
 * walk (src/lockstep.rs, lockstep::walk, on which daxcow's own FIDEDUPERANGE
 * compare is built).  Exported by daxcow.ko; include this header and depend
 * on the module to call it.
 */
#ifndef _DAXCOW_APPLY2_H
#define _DAXCOW_APPLY2_H

#include <linux/types.h>

struct inode;
struct iomap;
struct iomap_ops;

/**
 * struct daxcow_extent_pair - two extents facing each other in a two-file walk
 * @src_pos:	file offset in the source where the pair starts
 * @dst_pos:	file offset in the destination where the pair starts
 * @len:	bytes both extents cover from there, within the range (> 0)
 * @src:	the source's extent (IOMAP_HOLE, IOMAP_UNWRITTEN or IOMAP_MAPPED);
 *		valid for the duration of the actor's call
 * @dst:	the destination's extent, likewise
 */
struct daxcow_extent_pair {
	loff_t src_pos;
	loff_t dst_pos;
	u64 len;
	const struct iomap *src;
	const struct iomap *dst;
};

/**
 * typedef daxcow_apply2_actor_t - called for each pair of a two-file walk
 * @pair: the pair
 * @data: the caller's cookie
 *
 * Return: the bytes of the pair consumed, 1 to @pair->len (the walk goes on
 * after them), 0 to stop the walk, or a negative errno, which ends the walk
 * and is returned by daxcow_iomap_apply2().
 */
typedef s64 (*daxcow_apply2_actor_t)(const struct daxcow_extent_pair *pair,
				     void *data);

/**
 * daxcow_iomap_apply2 - walk two files' extents in lockstep
 * @src:	the source inode
 * @srcoff:	file offset in @src of the first byte
 * @dst:	the destination inode
 * @dstoff:	file offset in @dst of the first byte
 * @len:	bytes to walk in each file
 * @ops:	the file system's iomap operations (walked with IOMAP_DAX)
 * @actor:	called for each pair of facing extents
 * @data:	passed to @actor
 *
 * Each step pairs the two files' current extents over their common length,
 * the least of what is left in either extent and in the range; an extent
 * that does not contain its walk's position is an error.  Both walks always
 * end with ->iomap_end run for their last extent.  These are the rules
 * daxcow's FIDEDUPERANGE compare walks by.
 *
 * Context: process context; may sleep.  The caller keeps both files' extent
 * maps stable for the call, as dax_dedupe_file_range_compare()'s callers do
 * (both inodes locked).
 *
 * Return: 1 when the walk covered the whole range, 0 when @actor stopped it,
 * or a negative errno: -EINVAL for a bad argument or a count from @actor out
 * of range, -EIO for an extent that does not contain its walk's position or
 * that daxcow does not handle, or the file system's or @actor's error.
 */
int daxcow_iomap_apply2(struct inode *src, loff_t srcoff, struct inode *dst,
			loff_t dstoff, loff_t len, const struct iomap_ops *ops,
			daxcow_apply2_actor_t actor, void *data);

#endif /* _DAXCOW_APPLY2_H */
