// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: introspection, in Go's schedtrace / scheddetail format.
 *
 *   SCHED 12ms: gomaxprocs=2 idleprocs=1 threads=3 spinningthreads=0 \
 *     idlethreads=1 runqueue=0 [0 0]
 *
 * and, with detail, one line per P and per M and the instance's counters.
 * Two ways to read it: /sys/kernel/debug/gmp/<instance>/sched (detail) for
 * anyone with debugfs, and GMP_IOC_SCHEDTRACE for the process itself (its
 * runtime's GODEBUG=schedtrace).
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "gmp.h"

static struct dentry *gmp_debugfs_root;

static const char *const gmp_stat_names[GMP_NR_STATS] = {
	[GMP_STAT_PARK] = "park",
	[GMP_STAT_WAKE] = "wake",
	[GMP_STAT_ACQUIRE] = "acquire",
	[GMP_STAT_RELEASE] = "release",
	[GMP_STAT_RUNQPUT] = "runqput",
	[GMP_STAT_RUNQGET] = "runqget",
	[GMP_STAT_RETAKE] = "retake",
	[GMP_STAT_PREEMPT] = "preempt",
	[GMP_STAT_NEWM] = "newm",
};

static const char *const gmp_pstate_names[] = {
	[GMP_PS_IDLE] = "idle",
	[GMP_PS_HELD] = "held",
	[GMP_PS_RESERVED] = "reserved",
};

/* Where the text goes: a seq_file (debugfs) or a plain buffer (the ioctl). */
struct gmp_out {
	struct seq_file *sf;
	char *buf;
	size_t len;
	size_t pos;
};

static __printf(2, 3) void gmp_pr(struct gmp_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (o->sf)
		seq_vprintf(o->sf, fmt, ap);
	else if (o->pos < o->len)
		o->pos += vscnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
}

/* The ring's length as user space left it (a hint: masked into range). */
static u32 gmp_ring_len(struct gmp_p *p)
{
	u32 n = READ_ONCE(p->kp->runqtail) - READ_ONCE(p->kp->runqhead);

	return min_t(u32, n, GMP_RUNQ_SIZE);
}

static void gmp_trace(struct gmp_sched *s, struct gmp_out *o, bool detail)
{
	struct gmp_m *m;
	unsigned long id;
	int i;

	mutex_lock(&s->mlock);
	spin_lock(&s->lock);
	gmp_pr(o, "SCHED %llums: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%u idlethreads=%d runqueue=%u",
	       (gmp_now() - s->start_ns) / NSEC_PER_MSEC, s->nprocs, s->npidle,
	       s->mcount, READ_ONCE(*gmp_nmspinning(s)), s->nmidle, s->gq_size);
	if (!detail) {
		gmp_pr(o, " [");
		for (i = 0; i < s->nprocs; i++)
			gmp_pr(o, i ? " %u" : "%u", gmp_ring_len(&s->allp[i]));
		gmp_pr(o, "]\n");
		goto out;
	}
	gmp_pr(o, " syscallprocs=%u sysmonwait=%d newmwaiters=%d dead=%d\n",
	       READ_ONCE(s->ks->nmsys), s->sysmon_wait, s->newm_waiters, s->dead);
	for (i = 0; i < s->nprocs; i++) {
		struct gmp_p *p = &s->allp[i];
		struct gmp_p_page *kp = p->kp;

		gmp_pr(o, "  P%d: status=%u schedtick=%u syscalltick=%u m=%d runqsize=%u runnext=%d preempt=%u state=%s cpu=%d\n",
		       i, READ_ONCE(kp->status), READ_ONCE(kp->schedtick),
		       READ_ONCE(kp->syscalltick), p->m ? (int)p->m->id : -1,
		       gmp_ring_len(p), READ_ONCE(kp->runnext) != 0,
		       READ_ONCE(kp->preempt), gmp_pstate_names[p->state], p->cpu);
	}
	xa_for_each(&s->ms, id, m) {
		gmp_pr(o, "  M%u: p=%d nextp=%d tid=%d parked=%d spinning=%d note=%d\n",
		       m->id, m->p ? m->p->id : -1, m->nextp ? m->nextp->id : -1,
		       m->tid, m->parked, m->spinning, m->note);
	}
	gmp_pr(o, "  stats:");
	for (i = 0; i < GMP_NR_STATS; i++)
		gmp_pr(o, " %s=%lld", gmp_stat_names[i],
		       (long long)atomic64_read(&s->stats[i]));
	gmp_pr(o, "\n");
out:
	spin_unlock(&s->lock);
	mutex_unlock(&s->mlock);
}

/* Ioctl output is capped: a full detail of 10000 Ms fits in about 600 KiB. */
#define GMP_TRACE_MAX	(1U << 20)

/**
 * gmp_schedtrace() - GMP_IOC_SCHEDTRACE: the trace into a user buffer.
 * @s: the instance
 * @a: the request (validated); out: @a->len, bytes written
 *
 * Text that does not fit is cut off.
 *
 * Return: 0; -EFAULT; -ENOMEM.
 */
int gmp_schedtrace(struct gmp_sched *s, struct gmp_trace *a)
{
	struct gmp_out o = { .len = min(a->len, GMP_TRACE_MAX) };
	int ret = 0;

	if (!o.len)
		return -EINVAL;
	/* vscnprintf() always leaves room for a NUL we do not copy out. */
	o.len++;
	o.buf = kvmalloc(o.len, GFP_KERNEL);
	if (!o.buf)
		return -ENOMEM;
	gmp_trace(s, &o, a->flags & GMP_TRACE_DETAIL);
	a->len = o.pos;
	if (copy_to_user(u64_to_user_ptr(a->buf), o.buf, a->len))
		ret = -EFAULT;
	kvfree(o.buf);
	return ret;
}

static int gmp_sched_show(struct seq_file *sf, void *unused)
{
	struct gmp_out o = { .sf = sf };

	gmp_trace(sf->private, &o, true);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(gmp_sched);

/**
 * gmp_debugfs_add() - /sys/kernel/debug/gmp/<instance>/sched.
 * @s: the instance, being set up
 */
void gmp_debugfs_add(struct gmp_sched *s)
{
	char name[16];

	snprintf(name, sizeof(name), "%u", s->id);
	s->debugfs = debugfs_create_dir(name, gmp_debugfs_root);
	debugfs_create_file("sched", 0400, s->debugfs, s, &gmp_sched_fops);
	debugfs_create_u32("owner", 0400, s->debugfs, (u32 *)&s->owner_tgid);
}

/**
 * gmp_debugfs_remove() - remove it; waits for readers to finish.
 * @s: the instance
 */
void gmp_debugfs_remove(struct gmp_sched *s)
{
	debugfs_remove(s->debugfs);
	s->debugfs = NULL;
}

/**
 * gmp_debugfs_init() - the gmp/ directory, at module load.
 *
 * Return: 0 (debugfs is optional).
 */
int gmp_debugfs_init(void)
{
	gmp_debugfs_root = debugfs_create_dir("gmp", NULL);
	return 0;
}

/** gmp_debugfs_exit() - remove the gmp/ directory, at module unload. */
void gmp_debugfs_exit(void)
{
	debugfs_remove(gmp_debugfs_root);
}
