/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmp.ko private header: the scheduler instance (Go's sched), its Ps and Ms.
 *
 * Locking, outermost first:
 *   sched->mlock   (mutex)    the M registry: register, unregister, reap;
 *                             the M slot pages; SETUP; trace's walk of Ms
 *   sched->gq_get  (mutex)    serialises takers of the global run queue
 *   sched->lock    (spinlock) everything the scheduler decides on: P state
 *                             and idle list, M idle list and notes, the
 *                             global run queue, the shared counters, the
 *                             commit of a handoff (block.c)
 * Functions named __gmp_*() expect sched->lock held.  The preempt notifiers
 * and hrtimers of block.c take none of these: they run under the runqueue
 * lock or in hard interrupt context, and only flip atomic state.
 */
#ifndef _GMP_H
#define _GMP_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/gmp.h>
#include "gmp_trace.h"

/*
 * The shared pages.  Their layout is private to the kernel: user space learns
 * every offset from GMP_IOC_SETUP (gmp_fill_offsets()).
 */
struct gmp_sched_page {			/* GMP_OFF_SCHED, read-only to user space */
	u32 gomaxprocs;
	u32 npidle;
	u32 nmidle;
	u32 runqsize;
	u32 nmsys;
};

struct gmp_procs_hdr {			/* GMP_OFF_PROCS page 0 */
	u32 nmspinning;
};

struct gmp_p_page {			/* GMP_OFF_PROCS page 1 + i: P i */
	/* Written by the owner M, the kernel (handoff) and sysmon (CAS). */
	u32 status;
	s32 m;
	u32 schedtick;
	u32 syscalltick;
	u32 preempt;
	u64 timer0when;
	s32 cpu;			/* kernel, at SETUP */
	/* Takers CAS runqhead; only the owner M writes runqtail. */
	u32 runqhead ____cacheline_aligned;
	u32 runqtail;
	u64 runnext;
	u64 runq[GMP_RUNQ_SIZE] ____cacheline_aligned;
};

/*
 * GMP_OFF_MS: one slot per M id, a cache line each (every M writes its own
 * inruntime at every entry into its scheduler: no false sharing).
 */
struct gmp_m_slot {
	u32 inruntime;			/* the M: non-zero while in its scheduler */
	s32 p;				/* the kernel: the P the M holds, or GMP_NONE */
} ____cacheline_aligned;

#define GMP_MSLOTS_PER_PAGE	(PAGE_SIZE / sizeof(struct gmp_m_slot))
#define GMP_MS_PAGES		DIV_ROUND_UP(GMP_MAX_M, GMP_MSLOTS_PER_PAGE)

/*
 * Kernel-side truth about a P.  Legal transitions (all under sched->lock):
 *   IDLE     -> HELD      pidleget: acquire, wake, park's recheck
 *   IDLE     -> RESERVED  wake/handoff found no idle M: a new M will claim it
 *   HELD     -> IDLE      park, release, a retake or handoff, a dead holder
 *   HELD     -> RESERVED  handoff of a held P when no M is idle
 *   RESERVED -> HELD      a new M registers with GMP_REGISTER_CLAIM
 *   RESERVED -> IDLE      the new M could not be made: release
 *   IDLE     -> STOPPED   a resize took P out of force (procresize.c)
 *   HELD, RESERVED -> STOPPED   for a P out of force: instead of -> IDLE
 *   STOPPED  -> IDLE      a resize brought it back
 * A P is "retiring" while it is out of force (id >= nprocs) but not yet
 * STOPPED: an M holds it or will claim it.
 * The status word in the shared page mirrors this but is never trusted.
 */
enum gmp_pstate {
	GMP_PS_IDLE,
	GMP_PS_HELD,
	GMP_PS_RESERVED,
	GMP_PS_STOPPED,
};

/*
 * What an M's thread is doing, as its preempt notifiers see it (m->mstate;
 * the legal transitions and who makes them are in block.c's essay).
 */
enum gmp_mstate {
	GMP_MS_RUNNING,			/* on a CPU, or preempted and runnable */
	GMP_MS_SLEEP,			/* blocked, with nothing to hand off */
	GMP_MS_BLOCKED,			/* blocked holding a P: grace timer armed */
	GMP_MS_EXPIRED,			/* blocked past the grace period */
	GMP_MS_TAKEN,			/* its P was handed off while it slept */
	GMP_MS_DEAD,			/* the thread switched out for the last time */
};

/* m->pnstate: is the M's preempt notifier on its thread's list? */
enum gmp_pnstate {
	GMP_PN_ON,
	GMP_PN_OFF,			/* removed by the thread itself */
	GMP_PN_DEAD,			/* the thread is gone: the list is dead too */
};

struct gmp_m;

struct gmp_p {
	int id;
	int cpu;			/* a CPU of the opener's mask (GMP_FEAT_CPUS) */
	enum gmp_pstate state;
	struct gmp_m *m;		/* holder while HELD */
	struct list_head idle;		/* on sched->pidle while IDLE */
	struct list_head newm;		/* on sched->newmq while waiting for a new M */
	struct page *page;
	struct gmp_p_page *kp;		/* the shared page, kernel mapping */
	/* Sysmon's last look at the P (Go's sysmontick). */
	u32 schedtick;
	u32 syscalltick;
	u64 schedwhen;
	u64 syscallwhen;
};

struct gmp_sched;

/* An M: a registered thread.  Fields below @lock_protected need sched->lock. */
struct gmp_m {
	u32 id;
	struct gmp_sched *s;
	struct pid *pid;		/* reference held: the thread's identity */
	/*
	 * The thread, not referenced: dereferenced only by the thread itself,
	 * while it sleeps in one of our calls, or under RCU (sched->lock
	 * counts) while mstate is not DEAD (block.c says why that is safe).
	 */
	struct task_struct *task;
	struct gmp_m_slot *kslot;	/* its GMP_OFF_MS slot, kernel mapping */
	struct rcu_head rcu;
	/* block.c */
	struct preempt_notifier pn;
	atomic_t mstate;		/* enum gmp_mstate */
	atomic_t pnstate;		/* enum gmp_pnstate */
	struct hrtimer timer;		/* grace period; kicks to sysmon */
	unsigned long bits;		/* GMP_MB_* */
	/* lock_protected: */
	struct gmp_p *p;		/* P held */
	bool parked;			/* on sched->midle */
	bool lockwait;			/* in GMP_PARK_LOCKED, on sched->mlocked */
	struct list_head idle;		/* on midle or mlocked */
	/* The note (Go's m.park): a wake that is pending, with its P. */
	bool note;
	struct gmp_p *nextp;
	bool nextspinning;
	int noteerr;			/* wake with this error (shutdown) */
	struct task_struct *wake_task;	/* shutdown's wake, outside the lock */
	bool spinning;			/* last park/wake said so (for scheddetail) */
};

/* m->bits */
#define GMP_MB_REF_DROPPED	0	/* the M's reference on the instance is gone */
#define GMP_MB_PREEMPT_QUEUED	1	/* a preempt handoff task_work is queued */

enum gmp_stat {
	GMP_STAT_PARK,
	GMP_STAT_WAKE,
	GMP_STAT_ACQUIRE,
	GMP_STAT_RELEASE,
	GMP_STAT_RUNQPUT,
	GMP_STAT_RUNQGET,
	GMP_STAT_RETAKE,		/* a P in GMP_P_SYSCALL retaken by polling */
	GMP_STAT_PREEMPT,		/* preempt requests */
	GMP_STAT_NEWM,
	GMP_STAT_BLOCK,			/* an M blocked holding a P (timer armed) */
	GMP_STAT_BLOCK_HANDOFF,		/* ... and lost it after the grace period */
	GMP_STAT_PREEMPT_HANDOFF,	/* a G ran 10 ms: its P went to another M */
	GMP_STAT_REAP,			/* dead Ms reaped */
	GMP_STAT_SYSMON_ROUND,		/* sysmon's rounds: what it costs */
	GMP_STAT_POLLWAKE,		/* parks ended by the epoll file (GMP_PARK_POLL) */
#ifdef GMP_COUNTING
	GMP_STAT_LOCK,			/* sched->lock taken (counting build) */
	GMP_STAT_SHARED_W,		/* a shared cache line written (counting build) */
#endif
	GMP_NR_STATS,
};

struct gmp_stats {
	u64 n[GMP_NR_STATS];
};

/* The global run queue: a FIFO of chunks, in kernel memory only. */
#define GMP_GQ_CHUNK	509		/* handles per chunk: a chunk is 4 KiB */
#define GMP_GQ_MAX	(1U << 22)	/* handles at most (32 MiB) */

struct gmp_gq_chunk {
	struct list_head link;
	u32 head;
	u32 tail;
	u64 g[GMP_GQ_CHUNK];
};

/* Why sysmon was kicked (sched->kick bits). */
#define GMP_KICK_HANDOFF	0	/* an M's grace period expired */
#define GMP_KICK_REAP		1	/* an M's thread died */
#define GMP_KICK_RUN		2	/* a P was taken, or a holder runs again */

struct gmp_user;

struct gmp_sched {
	spinlock_t lock;
	struct mutex mlock;
	struct mutex gq_get;
	struct kref ref;		/* the file, and every M whose notifier is on */
	struct work_struct free_work;
	struct pid *owner;		/* thread group that opened the file */
	pid_t owner_tgid;		/* its number, for debugfs */
	struct gmp_user *user;		/* whom it is charged to (user.c) */
	unsigned long locked_pages;	/* charged against RLIMIT_MEMLOCK */
	u32 id;
	bool ready;			/* GMP_IOC_SETUP done */
	bool dead;			/* shut down: every call gets -ESHUTDOWN */
	u32 flags;			/* GMP_SETUP_* */
	u64 grace_ns;			/* block detection's grace period */
	u32 max_m;			/* Ms at most: the max_m parameter at SETUP */
	/*
	 * Ps in force (Go's gomaxprocs; sched->lock); Ps made, never fewer
	 * (changed under mlock and sched->lock, read locklessly with
	 * READ_ONCE: allp[i] for i < nallp never changes once set); slots
	 * in allp (GMP_MAX_PROCS with GMP_SETUP_RESIZE, else nprocs).
	 */
	int nprocs;
	int nallp;
	int maxprocs;
	u64 start_ns;

	struct gmp_p **allp;
	struct list_head pidle;
	int npidle;
	struct list_head midle;
	int nmidle;
	struct list_head mlocked;	/* Ms asleep in GMP_PARK_LOCKED */

	/* Global run queue (sched->lock). */
	struct list_head gq;
	struct list_head gq_spare;
	u32 gq_size;
	u32 gq_nspare;
	u64 *gq_buf;			/* GMP_RUNQ_SIZE / 2 handles, under gq_get */

	/* M registry (mlock for changes; RCU or sched->lock for lookups). */
	struct xarray ms;		/* id -> M */
	int mcount;
	atomic_t ndead;			/* Ms whose thread died, not yet reaped */
	struct page *mpages[GMP_MS_PAGES];	/* M slot pages (mlock), lazily */

	/* Ps waiting for a new M from the template thread (GMP_IOC_NEWM_WAIT). */
	struct list_head newmq;
	int newm_waiters;
	wait_queue_head_t newm_wq;

	/* Shared pages, kernel mappings. */
	struct page *sched_page;
	struct gmp_sched_page *ks;
	struct page *hdr_page;
	struct gmp_procs_hdr *kh;

	/* Sysmon (sysmon.c): a thread of the owner inside GMP_IOC_SYSMON. */
	wait_queue_head_t sysmon_wq;
	unsigned long kick;		/* GMP_KICK_* */
	bool sysmon_running;		/* a thread is in GMP_IOC_SYSMON */
	bool sysmon_wait;		/* it sleeps until kicked */
	struct dentry *debugfs;
	/*
	 * Per CPU: one shared array was a line that every CPU wrote on every
	 * call (make bench-count counted it); summed when read (trace.c).
	 */
	struct gmp_stats __percpu *stats;
};

/* Tasks to wake once sched->lock is dropped (futex's wake_q, by hand). */
struct gmp_wakeq {
	struct task_struct *task[8];
	int n;
};

/* module parameters (main.c) */
extern unsigned int gmp_block_grace_us;
extern unsigned int gmp_max_user_instances;
extern unsigned int gmp_max_m;

/* sched.c: instance lifetime, shared pages, Ps, M registry */
int gmp_sched_init(void);
void gmp_sched_exit(void);
struct gmp_sched *gmp_sched_alloc(void);
void gmp_sched_put(struct gmp_sched *s);
int gmp_sched_setup(struct gmp_sched *s, struct gmp_params *params);
void gmp_sched_shutdown(struct gmp_sched *s);
int gmp_sched_mmap(struct gmp_sched *s, struct vm_area_struct *vma);
int gmp_m_register(struct gmp_sched *s, struct gmp_register *reg);
int gmp_m_unregister(struct gmp_sched *s, struct gmp_m *m);
struct gmp_m *gmp_m_self(struct gmp_sched *s, u32 id);
void gmp_reap_dead(struct gmp_sched *s);
bool gmp_m_dead(struct gmp_m *m);
u64 gmp_now(void);
struct page *gmp_page_alloc(int node);
int gmp_opener_cpus(int *cpus, int n);
int gmp_default_nprocs(void);

/* park.c: Ps and Ms handed over, parked and woken */
void __gmp_pidleput(struct gmp_sched *s, struct gmp_p *p);
struct gmp_p *__gmp_pidleget_id(struct gmp_sched *s, struct gmp_p *p);
struct gmp_p *__gmp_pidleget(struct gmp_sched *s);
void __gmp_hold(struct gmp_sched *s, struct gmp_p *p, struct gmp_m *m);
void __gmp_m_setp(struct gmp_m *m, struct gmp_p *p);
void __gmp_handoffp(struct gmp_sched *s, struct gmp_p *p,
		    enum gmp_handoff_why why, struct gmp_wakeq *wq);
void __gmp_startm(struct gmp_sched *s, struct gmp_p *p, bool spinning,
		  struct gmp_wakeq *wq);
void __gmp_drop_m(struct gmp_sched *s, struct gmp_m *m, struct gmp_wakeq *wq);
void __gmp_wake_all(struct gmp_sched *s, int err);
void gmp_wake_all_flush(struct gmp_sched *s);
bool __gmp_runq_empty(struct gmp_p *p);
void gmp_wakeq_flush(struct gmp_wakeq *wq);
int gmp_park(struct gmp_sched *s, struct gmp_m *m, struct gmp_park *a);

/* pollwait.c: GMP_PARK_POLL's wait on the runtime's epoll file */
struct gmp_pollwait {
	poll_table pt;
	wait_queue_entry_t wait;
	wait_queue_head_t *head;	/* the queue the entry is on, or NULL */
	struct file *file;		/* referenced while armed */
	struct task_struct *task;	/* the parking M's thread */
	bool ready;			/* the file became readable */
};
int gmp_pollwait_arm(struct gmp_pollwait *pw, int fd);
void gmp_pollwait_disarm(struct gmp_pollwait *pw);
void gmp_inject_wake(struct gmp_sched *s, u32 n);
int gmp_wake(struct gmp_sched *s, struct gmp_m *m, struct gmp_wake *a);
int gmp_acquire_p(struct gmp_sched *s, struct gmp_m *m, struct gmp_procarg *a);
int gmp_release_p(struct gmp_sched *s, struct gmp_m *m, struct gmp_procarg *a);
int gmp_newm_wait(struct gmp_sched *s, struct gmp_m *m, struct gmp_newm *a);

/* block.c: block detection, the handoffs it and sysmon make, notifiers */
int gmp_block_init(void);
void gmp_block_exit(void);
void gmp_m_watch(struct gmp_m *m);
void gmp_m_unwatch(struct gmp_m *m);
void gmp_m_unwatch_remote(struct gmp_sched *s, struct gmp_m *m);
void gmp_m_timer_cancel(struct gmp_m *m);
bool gmp_m_current(struct gmp_sched *s);
bool __gmp_take_blocked(struct gmp_sched *s, struct gmp_p *p,
			struct gmp_wakeq *wq);
int gmp_preempt_handoff(struct gmp_sched *s, struct gmp_m *m, u32 schedtick);

/* runq.c: the global run queue */
int gmp_runq_put(struct gmp_sched *s, struct gmp_runq *a);
int gmp_runq_get(struct gmp_sched *s, struct gmp_runq *a);
void gmp_runq_free(struct gmp_sched *s);

/* sysmon.c */
int gmp_sysmon(struct gmp_sched *s);
void __gmp_sysmon_kick(struct gmp_sched *s);
void gmp_sysmon_kick(struct gmp_sched *s, int why);

/* user.c: per-user limits and charges */
int gmp_user_charge_instance(struct gmp_sched *s);
void gmp_user_uncharge_instance(struct gmp_sched *s);
int gmp_user_lock_pages(struct gmp_sched *s, unsigned long n);
void gmp_user_unlock_pages(struct gmp_sched *s);
int gmp_user_init(void);
void gmp_user_exit(void);

/* procresize.c: Ps made, stopped and brought back (Go's procresize) */
int gmp_procs_make(struct gmp_sched *s, int n);
void gmp_procs_free(struct gmp_sched *s);
void __gmp_pstop(struct gmp_sched *s, struct gmp_p *p);
int gmp_procresize(struct gmp_sched *s, struct gmp_procresize *a);

/* cpulimit.c: the default nprocs's cap, the cgroup CPU bandwidth limit */
void gmp_cpulimit_init(void);
void gmp_cpulimit_exit(void);
unsigned int gmp_cpu_limit(void);

/* trace.c: schedtrace, debugfs */
int gmp_schedtrace(struct gmp_sched *s, struct gmp_trace *a);
void gmp_debugfs_add(struct gmp_sched *s);
void gmp_debugfs_remove(struct gmp_sched *s);
int gmp_debugfs_init(void);
void gmp_debugfs_exit(void);

/* P @id, if it was made (in force or not); NULL if out of range. */
static inline struct gmp_p *gmp_p_get(struct gmp_sched *s, int id)
{
	/* Pairs with the release in gmp_procs_make(): allp[id] is set. */
	if (id < 0 || id >= smp_load_acquire(&s->nallp))
		return NULL;
	return s->allp[id];
}

/* Out of force since a resize: never idled, stopped instead. */
static inline bool gmp_p_retiring(struct gmp_sched *s, struct gmp_p *p)
{
	return p->id >= s->nprocs;
}

/*
 * The counting build (KCFLAGS=-DGMP_COUNTING, make bench-count) counts
 * what decides the cost at many CPUs rather than at two: how often the
 * instance lock is taken, and how many stores land on cache lines that
 * other CPUs also read or write (a P's page, the idle lists, the global
 * queue, an M's note, the counters themselves).  A group of stores to one
 * line counts once, as the line moves once.  In the normal build both
 * helpers are the plain lock and nothing.
 */
#ifdef GMP_COUNTING
static inline void gmp_shared_wn(struct gmp_sched *s, int lines)
{
	this_cpu_add(s->stats->n[GMP_STAT_SHARED_W], lines);
}
#else
static inline void gmp_shared_wn(struct gmp_sched *s, int lines) { }
#endif

static inline void gmp_shared_w(struct gmp_sched *s)
{
	gmp_shared_wn(s, 1);
}

/* For a store inside a condition (a cmpxchg that follows it). */
static inline bool gmp_shared_w_true(struct gmp_sched *s)
{
	gmp_shared_w(s);
	return true;
}

/* Any context, hard interrupts included: this CPU's own line. */
static inline void gmp_stat(struct gmp_sched *s, enum gmp_stat st)
{
	this_cpu_inc(s->stats->n[st]);
}

static inline void gmp_sched_lock(struct gmp_sched *s)
	__acquires(&s->lock)
{
#ifdef GMP_COUNTING
	this_cpu_inc(s->stats->n[GMP_STAT_LOCK]);
#endif
	spin_lock(&s->lock);
}

/* The nmspinning word lives in user-writable memory: a hint, never trusted. */
static inline u32 *gmp_nmspinning(struct gmp_sched *s)
{
	return &s->kh->nmspinning;
}

#endif /* _GMP_H */
