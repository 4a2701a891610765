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
#include <linux/pid_namespace.h>
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
	[GMP_STAT_BLOCK] = "block",
	[GMP_STAT_BLOCK_HANDOFF] = "blockhandoff",
	[GMP_STAT_PREEMPT_HANDOFF] = "preempthandoff",
	[GMP_STAT_REAP] = "reap",
	[GMP_STAT_SYSMON_ROUND] = "sysmonrounds",
	[GMP_STAT_POLLWAKE] = "pollwake",
#ifdef GMP_COUNTING
	[GMP_STAT_LOCK] = "locks",
	[GMP_STAT_SHARED_W] = "kshared",
#endif
};

/*
 * The shared status word, named as Go names a G's status in scheddetail
 * ("status=1(running)").  It is the user's to write: any other value is
 * shown as it is, with "?".
 */
static const char *gmp_pstatus_name(u32 word)
{
	switch (word & GMP_P_STATUS_MASK) {
	case GMP_P_IDLE:
		return word ? "?" : "idle";
	case GMP_P_RUNNING:
		return word == GMP_P_RUNNING ? "running" : "?";
	case GMP_P_SYSCALL:
		return "syscall";
	case GMP_P_STOP:
		return word == GMP_P_STOP ? "stop" : "?";
	case GMP_P_DEAD:
		return word == GMP_P_DEAD ? "dead" : "?";
	default:
		return "?";
	}
}

static const char *const gmp_pstate_names[] = {
	[GMP_PS_IDLE] = "idle",
	[GMP_PS_HELD] = "held",
	[GMP_PS_RESERVED] = "reserved",
	[GMP_PS_STOPPED] = "stopped",
};

static const char *const gmp_mstate_names[] = {
	[GMP_MS_RUNNING] = "running",
	[GMP_MS_SLEEP] = "sleep",
	[GMP_MS_BLOCKED] = "blocked",
	[GMP_MS_EXPIRED] = "expired",
	[GMP_MS_TAKEN] = "taken",
	[GMP_MS_DEAD] = "dead",
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

/*
 * What the trace prints, copied under the locks and formatted after them:
 * formatting 10000 M lines takes tens of milliseconds under emulation,
 * which sched->lock must not be held for.
 */
struct gmp_psnap {
	u32 status, schedtick, syscalltick, preempt, runqsize;
	int m, cpu;
	bool runnext;
	enum gmp_pstate state;
};

struct gmp_msnap {
	u32 id;
	pid_t tid;
	int p, nextp, mstate;
	bool parked, lockwait, spinning, note;
};

struct gmp_snap {
	u64 ms;
	int nprocs, nallp, npidle, mcount, nmidle, newm_waiters;
	u32 nmspinning, gq_size, nmsys;
	bool sysmon_wait, sysmon_running, dead;
	int nm;
	struct gmp_psnap *ps;
	struct gmp_msnap *mss;
	s64 stats[GMP_NR_STATS];
};

static void __gmp_snap_ps(struct gmp_sched *s, struct gmp_snap *sn)
{
	int i;

	for (i = 0; i < s->nallp; i++) {
		struct gmp_p *p = s->allp[i];
		struct gmp_p_page *kp = p->kp;
		struct gmp_psnap *ps = &sn->ps[i];

		ps->status = READ_ONCE(kp->status);
		ps->schedtick = READ_ONCE(kp->schedtick);
		ps->syscalltick = READ_ONCE(kp->syscalltick);
		ps->preempt = READ_ONCE(kp->preempt);
		ps->runqsize = gmp_ring_len(p);
		ps->runnext = READ_ONCE(kp->runnext) != 0;
		ps->m = p->m ? (int)p->m->id : -1;
		ps->cpu = p->cpu;
		ps->state = p->state;
	}
}

/* Tids as the reader's pid namespace sees them (0: not visible there). */
static void __gmp_snap_ms(struct gmp_sched *s, struct gmp_snap *sn)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct gmp_m *m;
	unsigned long id;
	int n = 0;

	xa_for_each(&s->ms, id, m) {
		struct gmp_msnap *ms = &sn->mss[n];

		if (n == sn->nm)
			break;
		ms->id = m->id;
		ms->tid = pid_nr_ns(m->pid, ns);
		ms->p = m->p ? m->p->id : -1;
		ms->nextp = m->nextp ? m->nextp->id : -1;
		ms->mstate = atomic_read(&m->mstate);
		ms->parked = m->parked;
		ms->lockwait = m->lockwait;
		ms->spinning = m->spinning;
		ms->note = m->note;
		n++;
	}
	sn->nm = n;
}

static int gmp_snap(struct gmp_sched *s, struct gmp_snap *sn, bool detail)
{
	int i, cpu;

	memset(sn, 0, sizeof(*sn));
	/* mlock: no M comes or goes and no P is made: they size the copy. */
	mutex_lock(&s->mlock);
	sn->ps = kvcalloc(max(s->nallp, 1), sizeof(*sn->ps), GFP_KERNEL_ACCOUNT);
	if (detail) {
		sn->nm = s->mcount;
		sn->mss = kvcalloc(max(sn->nm, 1), sizeof(*sn->mss),
				   GFP_KERNEL_ACCOUNT);
	}
	if (!sn->ps || (detail && !sn->mss)) {
		mutex_unlock(&s->mlock);
		kvfree(sn->ps);
		kvfree(sn->mss);
		return -ENOMEM;
	}
	gmp_sched_lock(s);
	sn->ms = div_u64(gmp_now() - s->start_ns, NSEC_PER_MSEC);
	sn->nprocs = s->nprocs;
	sn->nallp = s->nallp;
	sn->npidle = s->npidle;
	sn->mcount = s->mcount;
	sn->nmidle = s->nmidle;
	sn->newm_waiters = s->newm_waiters;
	sn->nmspinning = READ_ONCE(*gmp_nmspinning(s));
	sn->gq_size = s->gq_size;
	sn->nmsys = READ_ONCE(s->ks->nmsys);
	sn->sysmon_wait = s->sysmon_wait;
	sn->sysmon_running = s->sysmon_running;
	sn->dead = s->dead;
	__gmp_snap_ps(s, sn);
	if (detail)
		__gmp_snap_ms(s, sn);
	spin_unlock(&s->lock);
	mutex_unlock(&s->mlock);
	/* Racy against the CPUs that count: each sum is as good as a read. */
	for_each_possible_cpu(cpu) {
		const struct gmp_stats *st = per_cpu_ptr(s->stats, cpu);

		for (i = 0; i < GMP_NR_STATS; i++)
			sn->stats[i] += READ_ONCE(st->n[i]);
	}
	return 0;
}

static void gmp_snap_free(struct gmp_snap *sn)
{
	kvfree(sn->ps);
	kvfree(sn->mss);
}

static int gmp_trace(struct gmp_sched *s, struct gmp_out *o, bool detail)
{
	struct gmp_snap sn;
	int i, ret;

	ret = gmp_snap(s, &sn, detail);
	if (ret)
		return ret;
	gmp_pr(o, "SCHED %llums: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%u idlethreads=%d runqueue=%u",
	       sn.ms, sn.nprocs, sn.npidle, sn.mcount, sn.nmspinning,
	       sn.nmidle, sn.gq_size);
	if (!detail) {
		gmp_pr(o, " [");
		for (i = 0; i < sn.nprocs; i++)
			gmp_pr(o, i ? " %u" : "%u", sn.ps[i].runqsize);
		gmp_pr(o, "]\n");
		goto out;
	}
	gmp_pr(o, " syscallprocs=%u sysmon=%d sysmonwait=%d newmwaiters=%d dead=%d\n",
	       sn.nmsys, sn.sysmon_running, sn.sysmon_wait, sn.newm_waiters,
	       sn.dead);
	/* Every P made: those a resize stopped show state=stopped. */
	for (i = 0; i < sn.nallp; i++) {
		struct gmp_psnap *ps = &sn.ps[i];

		gmp_pr(o, "  P%d: status=%u(%s) schedtick=%u syscalltick=%u m=%d runqsize=%u runnext=%d preempt=%u state=%s cpu=%d\n",
		       i, ps->status, gmp_pstatus_name(ps->status), ps->schedtick, ps->syscalltick, ps->m,
		       ps->runqsize, ps->runnext, ps->preempt,
		       gmp_pstate_names[ps->state], ps->cpu);
	}
	for (i = 0; i < sn.nm; i++) {
		struct gmp_msnap *ms = &sn.mss[i];

		gmp_pr(o, "  M%u: p=%d nextp=%d tid=%d parked=%d locked=%d spinning=%d note=%d state=%s\n",
		       ms->id, ms->p, ms->nextp, ms->tid, ms->parked,
		       ms->lockwait, ms->spinning, ms->note,
		       gmp_mstate_names[ms->mstate]);
	}
	gmp_pr(o, "  stats:");
	for (i = 0; i < GMP_NR_STATS; i++)
		gmp_pr(o, " %s=%lld", gmp_stat_names[i], (long long)sn.stats[i]);
	gmp_pr(o, "\n");
out:
	gmp_snap_free(&sn);
	return 0;
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
	o.buf = kvmalloc(o.len, GFP_KERNEL_ACCOUNT);
	if (!o.buf)
		return -ENOMEM;
	ret = gmp_trace(s, &o, a->flags & GMP_TRACE_DETAIL);
	a->len = o.pos;
	if (!ret && copy_to_user(u64_to_user_ptr(a->buf), o.buf, a->len))
		ret = -EFAULT;
	kvfree(o.buf);
	return ret;
}

static int gmp_sched_show(struct seq_file *sf, void *unused)
{
	struct gmp_out o = { .sf = sf };

	return gmp_trace(sf->private, &o, true);
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
