// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: what an instance costs its user, and the limits on it.
 *
 * /dev/gmp is open to every user the device's mode lets in, so nothing an
 * instance costs may escape the limits that bind its opener:
 *
 *  - Memory: every allocation is GFP_KERNEL_ACCOUNT (the opener's memory
 *    cgroup pays); the pages shared with user space are also pinned (they
 *    can never be swapped), so they count against RLIMIT_MEMLOCK in the
 *    user's locked_vm, as io_uring's rings do, unless CAP_IPC_LOCK.
 *  - Instances: at most max_user_instances per user (a module parameter, as
 *    inotify's max_user_instances), counted from open to final release.
 *  - Threads and CPU: gmp.ko starts none; sysmon is a thread of the process
 *    (sysmon.c), and every wakeup it makes is the process's own.
 *
 * A user is its kuid in the opener's user namespace-independent form; the
 * counts live in a small hash table under one spinlock (opens are rare).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include "gmp.h"

#if !(defined(CONFIG_PERF_EVENTS) || defined(CONFIG_BPF_SYSCALL) || \
	defined(CONFIG_NET) || defined(CONFIG_IO_URING))
#error "gmp.ko charges its pages to user_struct.locked_vm, which this config lacks"
#endif

struct gmp_user {
	struct hlist_node link;
	kuid_t uid;
	struct user_struct *us;		/* for locked_vm */
	int instances;
};

static DEFINE_HASHTABLE(gmp_users, 6);
static DEFINE_SPINLOCK(gmp_users_lock);

/**
 * gmp_user_charge_instance() - count a new instance against its opener.
 * @s: the instance, being made by the calling task
 *
 * Return: 0; -EMFILE beyond max_user_instances; -ENOMEM.
 */
int gmp_user_charge_instance(struct gmp_sched *s)
{
	kuid_t uid = current_uid();
	struct gmp_user *u, *fresh;
	int ret = 0;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&gmp_users_lock);
	hash_for_each_possible(gmp_users, u, link, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			break;
	if (!u) {
		u = fresh;
		fresh = NULL;
		u->uid = uid;
		u->us = get_current_user();
		hash_add(gmp_users, &u->link, __kuid_val(uid));
	}
	if (u->instances >= READ_ONCE(gmp_max_user_instances) &&
	    !capable(CAP_SYS_RESOURCE)) {
		ret = -EMFILE;
		if (!u->instances) {
			hash_del(&u->link);
			fresh = u;	/* freed below, with its user */
		}
	} else {
		u->instances++;
		s->user = u;
	}
	spin_unlock(&gmp_users_lock);
	if (fresh && fresh->us)
		free_uid(fresh->us);
	kfree(fresh);
	return ret;
}

/**
 * gmp_user_uncharge_instance() - the instance is freed.
 * @s: the instance; its pages are already unlocked
 */
void gmp_user_uncharge_instance(struct gmp_sched *s)
{
	struct gmp_user *u = s->user;

	if (!u)
		return;
	spin_lock(&gmp_users_lock);
	if (--u->instances == 0)
		hash_del(&u->link);
	else
		u = NULL;
	spin_unlock(&gmp_users_lock);
	if (u) {
		free_uid(u->us);
		kfree(u);
	}
	s->user = NULL;
}

/**
 * gmp_user_lock_pages() - charge @n pinned pages to RLIMIT_MEMLOCK.
 * @s: the instance (its opener's user pays)
 * @n: pages
 *
 * Called by the opener's process (SETUP, REGISTER): its rlimit applies.
 *
 * Return: 0, or -ENOMEM beyond RLIMIT_MEMLOCK.
 */
int gmp_user_lock_pages(struct gmp_sched *s, unsigned long n)
{
	struct user_struct *us = s->user->us;
	unsigned long limit, cur, new;

	if (!capable(CAP_IPC_LOCK)) {
		limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
		cur = atomic_long_read(&us->locked_vm);
		do {
			new = cur + n;
			if (new > limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(&us->locked_vm, &cur, new));
	} else {
		atomic_long_add(n, &us->locked_vm);
	}
	s->locked_pages += n;
	return 0;
}

/**
 * gmp_user_unlock_pages() - give back every page the instance charged.
 * @s: the instance, being freed
 */
void gmp_user_unlock_pages(struct gmp_sched *s)
{
	if (s->user && s->locked_pages)
		atomic_long_sub(s->locked_pages, &s->user->us->locked_vm);
	s->locked_pages = 0;
}

/** gmp_user_init() - at module load. */
int gmp_user_init(void)
{
	return 0;
}

/** gmp_user_exit() - at unload: every instance is gone, and so every user. */
void gmp_user_exit(void)
{
	WARN_ON_ONCE(!hash_empty(gmp_users));
}
