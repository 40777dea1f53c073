/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C helpers compiled into daxcow.ko (src/daxcow_stats.c).  Their Rust
 * declarations are in bindings/helpers.rs; keep the two in step.
 */
#ifndef _DAXCOW_HELPERS_H
#define _DAXCOW_HELPERS_H

#include <linux/types.h>

int daxcow_stats_create(const char *const *names, unsigned int nr);
void daxcow_stats_destroy(void);
void daxcow_stat_add(unsigned int idx, u64 n);
u64 daxcow_stat_sum(unsigned int idx);
bool daxcow_cpu_has_erms(void);

/* src/daxcow_apply2.c: the debugfs file of the C test caller of daxcow_iomap_apply2(). */
struct dentry;
void daxcow_apply2_debugfs(struct dentry *dir);

/*
 * src/dax_cow.rs: the iomap operations of the first FIDEDUPERANGE compare
 * daxcow ran on a built-in file system, if that file system is of @fs_type
 * (NULL otherwise, and before that compare), for that test caller.
 */
struct file_system_type;
struct iomap_ops;
const struct iomap_ops *
daxcow_test_iomap_ops(const struct file_system_type *fs_type);

#endif
