// SPDX-License-Identifier: GPL-2.0
/*
 * daxcow's counters: per-CPU, so counting on the hot paths takes no lock and
 * shares no cache line; summed only when /sys/kernel/debug/daxcow/stats is
 * read.  The Rust side owns the list of names (see src/stats.rs).
 */
#include <asm/cpufeature.h>
#include <linux/debugfs.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "../bindings/daxcow_helpers.h"

static u64 __percpu *daxcow_counters;
static const char *const *daxcow_names;
static unsigned int daxcow_nr;
static struct dentry *daxcow_dir;

void daxcow_stat_add(unsigned int idx, u64 n)
{
	if (likely(idx < daxcow_nr))
		this_cpu_add(*(daxcow_counters + idx), n);
}

u64 daxcow_stat_sum(unsigned int idx)
{
	u64 sum = 0;
	int cpu;

	if (idx >= daxcow_nr)
		return 0;
	for_each_possible_cpu(cpu)
		sum += *per_cpu_ptr(daxcow_counters + idx, cpu);
	return sum;
}

static int daxcow_stats_show(struct seq_file *m, void *v)
{
	unsigned int i;

	for (i = 0; i < daxcow_nr; i++)
		seq_printf(m, "%s %llu\n", daxcow_names[i], daxcow_stat_sum(i));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(daxcow_stats);

int daxcow_stats_create(const char *const *names, unsigned int nr)
{
	if (daxcow_counters)
		return -EBUSY;
	daxcow_counters = __alloc_percpu(sizeof(u64) * nr, sizeof(u64));
	if (!daxcow_counters)
		return -ENOMEM;
	daxcow_names = names;
	daxcow_nr = nr;
	daxcow_dir = debugfs_create_dir("daxcow", NULL);
	debugfs_create_file("stats", 0444, daxcow_dir, NULL, &daxcow_stats_fops);
	daxcow_apply2_debugfs(daxcow_dir);
	return 0;
}

void daxcow_stats_destroy(void)
{
	debugfs_remove_recursive(daxcow_dir);
	daxcow_dir = NULL;
	daxcow_nr = 0;
	free_percpu(daxcow_counters);
	daxcow_counters = NULL;
}

/*
 * For the KUnit suite: whether copy_mc_to_kernel() recovers from a faulting
 * load through copy_mc_enhanced_fast_string(), asked as copy_mc_to_kernel()
 * itself asks (arch/x86/lib/copy_mc.c).
 */
bool daxcow_cpu_has_erms(void)
{
	return cpu_feature_enabled(X86_FEATURE_ERMS);
}
