// SPDX-License-Identifier: GPL-2.0
/*
 * daxcow_iomap_apply2() for C callers (bindings/daxcow_apply2.h): its export,
 * and a C caller that tests it through debugfs.
 *
 * /sys/kernel/debug/daxcow/apply2: write "SRCFD SRCOFF DSTFD DSTOFF LEN" (two
 * open files of the writing process, on one DAX file system) and the walk
 * runs from C with an actor that lists each pair; reading the file gives
 * "result R" and a line "SRC_POS DST_POS LEN SRC_TYPE DST_TYPE" per pair
 * (tests/guest/apply2.py checks them against FIEMAP).  XFS does not export its
 * iomap operations, so the walk borrows the ones XFS passed to daxcow's first
 * FIDEDUPERANGE compare: run one first (-ENOENT until then).  They are
 * recorded only for a built-in file system, whose operations are never freed,
 * and lent only for files of that same file system type (-ENOENT for
 * another).  Both files' i_rwsem and invalidate lock are held for the walk,
 * in the VFS helpers' order, so their extent maps stay as the walk sees them.
 */
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iomap.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/stddef.h>
#include <linux/uaccess.h>

#include "../bindings/daxcow_apply2.h"
#include "../bindings/daxcow_helpers.h"

EXPORT_SYMBOL_GPL(daxcow_iomap_apply2);

/* The Rust side declares the same layout (src/dax_cow.rs, ExtentPairC). */
static_assert(sizeof(struct daxcow_extent_pair) == 40);
static_assert(offsetof(struct daxcow_extent_pair, len) == 16);
static_assert(offsetof(struct daxcow_extent_pair, dst) == 32);

static DEFINE_MUTEX(apply2_lock);
static char apply2_buf[16384];
static size_t apply2_len;

static s64 apply2_list_pair(const struct daxcow_extent_pair *pair, void *data)
{
	apply2_len += scnprintf(apply2_buf + apply2_len,
				sizeof(apply2_buf) - apply2_len,
				"%lld %lld %llu %u %u\n", pair->src_pos,
				pair->dst_pos, pair->len, pair->src->type,
				pair->dst->type);
	return pair->len;
}

static ssize_t apply2_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	const struct iomap_ops *ops;
	struct file *sf = NULL, *df = NULL;
	long long soff, doff, len;
	struct inode *src, *dst;
	int sfd, dfd, ret;
	char req[128];

	if (count >= sizeof(req))
		return -EINVAL;
	if (copy_from_user(req, ubuf, count))
		return -EFAULT;
	req[count] = '\0';
	if (sscanf(req, "%d %lld %d %lld %lld", &sfd, &soff, &dfd, &doff,
		   &len) != 5)
		return -EINVAL;
	sf = fget(sfd);
	df = fget(dfd);
	ret = -EBADF;
	if (!sf || !df)
		goto out;
	src = file_inode(sf);
	dst = file_inode(df);
	ret = -EINVAL;
	if (!IS_DAX(src) || !IS_DAX(dst) || src->i_sb != dst->i_sb)
		goto out;
	ops = daxcow_test_iomap_ops(src->i_sb->s_type);
	ret = -ENOENT;
	if (!ops)
		goto out;
	/*
	 * apply2_lock first: the read side holds it across a copy to user
	 * space, whose fault on a mapping of one of these files takes the
	 * invalidate lock.
	 */
	mutex_lock(&apply2_lock);
	lock_two_nondirectories(src, dst);
	filemap_invalidate_lock_two(src->i_mapping, dst->i_mapping);
	apply2_len = 0;
	ret = daxcow_iomap_apply2(src, soff, dst, doff, len, ops,
				  apply2_list_pair, NULL);
	apply2_len += scnprintf(apply2_buf + apply2_len,
				sizeof(apply2_buf) - apply2_len,
				"result %d\n", ret);
	filemap_invalidate_unlock_two(src->i_mapping, dst->i_mapping);
	unlock_two_nondirectories(src, dst);
	mutex_unlock(&apply2_lock);
	ret = ret < 0 ? ret : count;
out:
	if (sf)
		fput(sf);
	if (df)
		fput(df);
	return ret;
}

static ssize_t apply2_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&apply2_lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, apply2_buf,
				      apply2_len);
	mutex_unlock(&apply2_lock);
	return ret;
}

static const struct file_operations apply2_fops = {
	.owner = THIS_MODULE,
	.write = apply2_write,
	.read = apply2_read,
};

void daxcow_apply2_debugfs(struct dentry *dir)
{
	debugfs_create_file("apply2", 0600, dir, NULL, &apply2_fops);
}
