// SPDX-License-Identifier: GPL-2.0
/*
 * cpulimit.c - how many Ps an instance gets when the opener does not say.
 *
 * Glossary
 *   mask    the CPUs the opener may run on: its affinity, which the kernel
 *           keeps inside its cpuset (sched.c's gmp_opener_cpus())
 *   quota   a cgroup's CPU bandwidth, cgroup v2's cpu.max "QUOTA PERIOD":
 *           QUOTA microseconds of CPU time per PERIOD, or "max" (none)
 *   limit   ceil(QUOTA / PERIOD): the fewest whole CPUs that cover it
 *
 * The rule (GMP_IOC_SETUP with nprocs 0): one P per CPU of the mask,
 * capped by the limit of the opener's cgroup and of every ancestor up to
 * the root, and at least one.  A program that names nprocs gets it.
 *
 * Why it is hard.  A runtime that runs 64 Ps on a 64-CPU host inside a
 * container limited to 2 CPUs' worth of time has 64 threads fight over
 * that time and be throttled together.  The limit that binds may sit on any
 * ancestor (a systemd slice above the service, a pod above its container),
 * and a container's cgroup namespace shows its own cgroup as the root of
 * /sys/fs/cgroup, so the ancestors above it cannot be read from user space
 * at all.  Go 1.25 reads cpu.max from user space and misses a tighter
 * limit on a parent (golang/go#81180).  The kernel sees every level.
 *
 * Rejected approaches
 *   - Reading the cpu controller's task_group (its cfs_bandwidth) directly:
 *     the struct is private to kernel/sched; a module that includes
 *     kernel/sched/sched.h breaks with every kernel and config.
 *   - Calling cpu.max's show function through a file made up on the stack:
 *     it would run a cgroup file operation without the kernfs active
 *     reference that keeps the css from going away under it (a migration
 *     racing with an rmdir would oops).
 *   - Reading /sys/fs/cgroup in the opener's mount namespace: whatever is
 *     mounted there, or nothing, and only below its namespace's root: the
 *     same blind spot as user space.
 *
 * The way.  At module load, a kernel-internal mount of cgroup2 (kern_mount(),
 * in the loader's cgroup namespace, the initial one when the module loads
 * at boot), reachable from no mount namespace.  At SETUP, the opener's
 * default-hierarchy cgroup gives its path from the hierarchy's root
 * (kernfs_path(), under RCU), and the cpu.max of that cgroup and of each
 * ancestor is opened relative to that mount and read with kernel_read(),
 * as any reader of the file is served: kernfs's active reference, the
 * cgroup's locking and the cpu controller's own show function.  A level
 * without the file (the cpu controller not enabled there; the root has
 * none) has no limit.  Any error reads as "no limit": a default is only
 * ever lowered by a limit actually read.
 *
 * Who may do what: the read runs with the opener's credentials, as its own
 * read of the same files would (the files are world-readable); it costs
 * one open and one read per level of its cgroup's depth, charged to its
 * own task like any system call's work, and runs only for nprocs 0.
 *
 * Races: the opener may move to another cgroup while SETUP runs; the
 * result is then the limit of a cgroup it was in, or none (a path gone).
 * Later changes of the limit are not followed.
 */
#include <linux/cgroup.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kernfs.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "gmp.h"

#define GMP_CPUMAX	"/cpu.max"

static struct vfsmount *gmp_cgroup_mnt;

/*
 * The mount lives as long as the module.  Without cgroup2 (or when the
 * mount fails) there is no limit to read: the default is the mask.
 */
void gmp_cpulimit_init(void)
{
	struct file_system_type *fs = get_fs_type("cgroup2");
	struct vfsmount *mnt;

	if (!fs)
		return;
	/*
	 * cgroup2 is built in (its owner is NULL): the reference
	 * get_fs_type() took on no module needs no put.
	 */
	mnt = kern_mount(fs);
	if (!IS_ERR(mnt))
		gmp_cgroup_mnt = mnt;
}

void gmp_cpulimit_exit(void)
{
	if (gmp_cgroup_mnt)
		kern_unmount(gmp_cgroup_mnt);
	gmp_cgroup_mnt = NULL;
}

/* The limit in one cpu.max (@name from the hierarchy's root), or UINT_MAX. */
static unsigned int gmp_cpumax_read(const char *name)
{
	struct path root = {
		.mnt = gmp_cgroup_mnt,
		.dentry = gmp_cgroup_mnt->mnt_root,
	};
	unsigned long long quota, period;
	char v[64] = { 0 };
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	f = file_open_root(&root, name + 1, O_RDONLY, 0);	/* past its '/' */
	if (IS_ERR(f))
		return UINT_MAX;
	n = kernel_read(f, v, sizeof(v) - 1, &pos);
	fput(f);
	/* "max 100000" has no number first: no limit. */
	if (n <= 0 || sscanf(v, "%llu %llu", &quota, &period) != 2 || !period)
		return UINT_MAX;
	quota = DIV64_U64_ROUND_UP(quota, period);
	return quota < UINT_MAX ? max_t(unsigned int, quota, 1) : UINT_MAX;
}

/**
 * gmp_cpu_limit() - the tightest CPU bandwidth limit over the caller's
 * cgroup and its ancestors, in whole CPUs.
 *
 * Return: the limit, at least 1; UINT_MAX when no level has one (or none
 * could be read).
 */
unsigned int gmp_cpu_limit(void)
{
	unsigned int limit = UINT_MAX;
	char *buf, *slash;
	int len;

	if (!gmp_cgroup_mnt)
		return UINT_MAX;
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	if (!buf)
		return UINT_MAX;
	rcu_read_lock();
	len = kernfs_path(task_dfl_cgroup(current)->kn, buf,
			  PATH_MAX - sizeof(GMP_CPUMAX));
	rcu_read_unlock();
	/* Truncated (or an error): no limit rather than another cgroup's. */
	if (len < 0 || len >= PATH_MAX - (int)sizeof(GMP_CPUMAX))
		goto out;
	/* "/a/b", then "/a"; "/" (len 1, or 0 once cut) is the root. */
	while (len > 1) {
		memcpy(buf + len, GMP_CPUMAX, sizeof(GMP_CPUMAX));
		limit = min(limit, gmp_cpumax_read(buf));
		buf[len] = '\0';
		slash = strrchr(buf, '/');
		if (!slash)
			break;
		len = slash - buf;
	}
out:
	kfree(buf);
	return limit;
}
