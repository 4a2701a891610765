/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libgmprt internals: Gs, Ms, Ps and the instance, as the runtime sees them.
 * Nothing here is exported (the library is built -fvisibility=hidden).
 *
 * Pointers into the pages gmp.ko shares are prefixed k (liburing's habit):
 * they point at memory other threads and the kernel read and write, and are
 * only ever touched through atomics.
 */
#ifndef GMPRT_RUNTIME_H
#define GMPRT_RUNTIME_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/gmp.h>
#include "arch.h"
#include "gmprt.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * The counting build (-DGMPRT_COUNTING, count.c): every atomic store and
 * read-modify-write of the library counts the cache line it writes, by
 * kind, for bench/'s argument from counts.  CW(p) is its address after
 * counting it, evaluated once; COUNT_W(p) counts it as a statement.  In
 * the normal build both are nothing: CW(p) is (p), and the code is what
 * it was without them.  Loads are not counted: only a write takes a line
 * away from the CPUs that share it.
 */
/* The order is bench/gmp/gmpbench.h's: usched uownp uotherp uobj umslot. */
enum {
	CNT_SCHED,	/* instance-wide: gmprt_sched, gmp.ko's sched page, nmspinning */
	CNT_OWNP,	/* the P this M holds: its page or its struct p */
	CNT_OTHERP,	/* another P's page or struct p (a steal, a runqput there) */
	CNT_OBJ,	/* channels, mutexes, Gs, timers...: shared by their users only */
	CNT_MSLOT,	/* this M's own struct m or gmp.ko slot: not shared */
	GMPRT_NCOUNT
};
#ifdef GMPRT_COUNTING
void gmprt_count_w(const void *addr);
int gmprt_counts_read(uint64_t *out, int n);
#define COUNT_W(p)	gmprt_count_w(p)
#define CW(p)		({ __typeof__(p) __cw_p = (p);				\
	gmprt_count_w(__cw_p); __cw_p; })
/*
 * A library variable with static storage that every M may write (a lock,
 * a budget, a flag): instance-wide state outside gmprt_sched, so SCHED.
 * Its address goes into a section count.c walks (block scope works too).
 */
struct gmprt_count_var {
	const void *addr;
	size_t size;
} __attribute__((aligned(16)));
#define COUNT_SCHED_VAR(v)							\
	static const struct gmprt_count_var __count_var_##v			\
	__attribute__((used, section("gmprt_count_vars"))) = { &(v), sizeof(v) }
#else
#define COUNT_W(p)	((void)0)
#define CW(p)		(p)
#define COUNT_SCHED_VAR(v)	_Static_assert(1, #v)
#endif

/* Atomics on plain integers (the shared pages are plain memory). */
#define load_relaxed(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_relaxed(p, v)	__atomic_store_n(CW(p), (v), __ATOMIC_RELAXED)
#define store_release(p, v)	__atomic_store_n(CW(p), (v), __ATOMIC_RELEASE)
#define cas_acqrel(p, o, n)	({ __typeof__(*(p)) __o = (o);			\
	__atomic_compare_exchange_n(CW(p), &__o, (n), false,			\
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE); })
#define fetch_add(p, v)		__atomic_fetch_add(CW(p), (v), __ATOMIC_SEQ_CST)

/* A tiny spinlock for wait queues: held for a few instructions only. */
typedef struct {
	uint32_t v;
} spinlock_t;

static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(CW(&l->v), 1, __ATOMIC_ACQUIRE)) {
		while (load_relaxed(&l->v))
			cpu_relax();
	}
}

static inline bool spin_trylock(spinlock_t *l)
{
	return !__atomic_exchange_n(CW(&l->v), 1, __ATOMIC_ACQUIRE);
}

static inline void spin_unlock(spinlock_t *l)
{
	store_release(&l->v, 0);
}

/* G status (Go's _Gidle ... _Gdead). */
enum {
	G_IDLE,
	G_RUNNABLE,
	G_RUNNING,
	G_SYSCALL,
	G_WAITING,
	G_DEAD,
};

struct m;
struct tbuf;
struct p;
struct gmprt_g;

/* A timer; each G has one (a G waits on at most one timer at a time). */
struct gtimer {
	int64_t when;			/* CLOCK_MONOTONIC ns */
	int idx;			/* in its P's heap, or -1 */
	struct p *pp;			/* whose heap */
	void (*f)(struct gmprt_g *gp);	/* runs on g0, with a P, when due */
	uint32_t running;		/* calls of f in flight (deltimer waits) */
};

/* A P's timers: a binary min-heap by when (Go's p.timers). */
struct timers {
	spinlock_t lock;
	struct gmprt_g **heap;
	int n;
	int cap;
};

/* A goroutine.  Its stack and registers are user memory only. */
struct gmprt_g {
	void *sp;			/* saved stack pointer (gmprt_swapctx) */
	struct m *m;			/* M running it, while running */
	uint64_t goid;
	uint32_t status;
	int errno_save;			/* errno belongs to the G, not the thread */
	void (*fn)(void *);
	void *arg;
	struct gmprt_g *schedlink;	/* free lists, wait queues */
	/* Stack: [lo, hi); lo is the lowest usable byte. */
	char *stack_lo;
	char *stack_hi;
	bool guarded;			/* a PROT_NONE page sits below lo */
	/* Blocking primitives leave their state here (Go's sudog, simplified). */
	void *waitelem;
	int waiterr;
	struct gmprt_g *waitnext;
	int64_t waitwhen;
	void *waitsel;
	int waitcase;
	struct gtimer timer;
	/* ---- channels and select (chan.c, select.c) ---- */
	void *param;			/* Go's g.param: the sudog that woke it */
	uint32_t selectdone;		/* Go's g.selectDone: claimed by a waker */
	/* Runtime calls the G is inside (rt_enter/rt_leave): 0 in its own code. */
	uint32_t rtdepth;
	/* ---- LockOSThread (lockm.c) ---- */
	struct m *lockedm;		/* the M it is locked to, or NULL */
	uint32_t lockcount;		/* gmprt_lock_thread nesting */
	/* ---- foreign threads (foreign.c) ---- */
	bool foreign;			/* a thread's stand-in: not a G at all */
	uint32_t fwake;			/* its futex: 1 once readied */
	/* ---- the goroutine dump (debug.c) ---- */
	struct gmprt_g *alllink;	/* on sched.allg, for good */
	const char *waitreason;		/* what it parked on (Go's waitReason) */
	int64_t waitsince;		/* sched.coarsenow when it parked */
};
typedef struct gmprt_g g_t;

/* A P: the shared page gmp.ko made for it, and what only user space keeps. */
struct p {
	int id;
	/* In the shared page (GMP_OFF_PROCS), P id's slot. */
	uint32_t *kstatus;
	uint32_t *kschedtick;
	uint32_t *ksyscalltick;
	uint32_t *kpreempt;
	uint32_t *krunqhead;
	uint32_t *krunqtail;
	uint64_t *krunnext;
	uint64_t *krunq;
	uint64_t *ktimer0when;
	int32_t *kcpu;			/* gmp.ko's CPU for this P (pinning) */
	/*
	 * The M whose scheduler uses this P (acquirep); an M that finds
	 * another here while its slot still names the P has met the one thing
	 * that must never happen: two Ms on one P (rt_enter checks).
	 */
	struct m *owner;
	/* Owner-only state. */
	uint32_t schedtick;
	uint32_t syscalltick;
	g_t *gfree;			/* free Gs with stacks (Go's p.gFree) */
	int ngfree;
	uint64_t goidcache;		/* Go's goidcache batch */
	uint64_t goidcacheend;
	struct timers timers;		/* time.c */
} __attribute__((aligned(64)));

/* An M: a thread registered with gmp.ko. */
struct m {
	uint32_t id;			/* gmp.ko's M id */
	/* Its slot in GMP_OFF_MS (rt_enter/rt_leave, block detection). */
	uint32_t *kinruntime;		/* ours: 1 while not in a G's own code */
	int32_t *kslotp;		/* gmp.ko's: the P it says we hold */
	int pinned;			/* CPU this thread is pinned to, or -1 */
	g_t *curg;			/* G running, or NULL on g0 */
	struct p *p;			/* P held */
	struct p *oldp;			/* P left for a syscall (Go's m.oldp) */
	bool spinning;
	void *g0sp;			/* the scheduler's (g0's) saved sp */
	void (*mcallfn)(g_t *);
	uint64_t fastrand;
	pthread_t thread;
	struct m *alllink;
	void *sigstack;
	g_t *nextg;			/* execute this G next, without schedule() */
	bool (*parkfn)(g_t *, void *);	/* gopark's unlockf, for park_m */
	void *parkarg;
	g_t *lockedg;			/* the G locked to this M (lockm.c) */
	/* For checkdead, read by the main thread: */
	uint32_t insyscall;		/* a G of this M is in a syscall */
	uint64_t nparks;		/* times this M parked */
	int64_t sparesince;		/* found spare in stopm since then (0: not) */
	uint32_t exited;		/* 1: its thread left (gmprt_mexit), reusable; 2: taken */
	/* GMPRT_TRACE (trace.c): this M's event chunks, written by it only. */
	struct tbuf *trhead;
	struct tbuf *trcur;
#ifdef GMPRT_COUNTING
	/*
	 * count.c: this M's writes by class, added to by it only (relaxed
	 * RMWs: a signal handler on this thread may count too), read by
	 * anyone (gmprt_counts_read).  lastp: the id + 1 of the P it held
	 * last, 0: none yet.
	 */
	uint64_t counts[GMPRT_NCOUNT];
	int count_lastp;
#endif
};

struct gmprt_sched {
	int fd;
	/*
	 * Ps whose struct p is ready (made by gmp.ko, or about to be: a
	 * resize readies them first), never fewer; room in allp.  The Ps in
	 * force are gmp.ko's gomaxprocs word: gmprt_gomaxprocs().
	 */
	int nmade;
	int maxprocs;
	size_t stack_size;
	unsigned int flags;
	/* cpu_relax() calls in a microsecond, measured at start (proc.c). */
	uint32_t relax_per_us;
	struct gmp_params prm;
	struct p *allp;
	/* The read-only page. */
	uint32_t *kgomaxprocs;
	uint32_t *knpidle;
	uint32_t *knmidle;
	uint32_t *krunqsize;
	uint32_t *knmsys;
	/* The read-write page. */
	uint32_t *knmspinning;
	void *ksched_map;
	void *kprocs_map;
	void *kms_map;
	/*
	 * procresize.c: nprocs was the default (no config field, no
	 * GMPRT_NPROCS) and the program has not set it since: the runtime
	 * follows the default as the machine changes.
	 */
	bool nprocs_auto;
	bool nprocs_set;
	uint32_t following;		/* a G is on its way to resize */
	/* Global free Gs (Go's sched.gFree), under gflock. */
	atomic_flag gflock;
	g_t *gfree;
	int ngfree;
	/* Go's sched.goidgen. */
	uint64_t goidgen;
	/* All Ms, for the trace (prepend only). */
	struct m *allm;
	int mcount;
	uint32_t nmworkers;		/* Ms running schedule() */
	uint32_t nmlocked;		/* of them, asleep for their locked G */
	uint32_t nthreads;		/* threads the runtime started and runs */
	/* The main G. */
	int (*mainfn)(void *);
	void *mainarg;
	int mainret;
	uint32_t maindone;		/* futex */
	bool running;			/* gmprt_main() was called */
	uint32_t started;		/* its Ms run: foreign threads may start Gs */
	uint32_t forked;		/* this is the child of a fork(): no runtime */
	uint32_t npollwait;		/* Gs parked on an fd (netpoll.c) */
	/*
	 * netpoll.c: GMPRT_NETPOLL=park: no poller thread; Ms park on its
	 * epoll fd too (GMP_PARK_POLL) and poll it from findrunnable.  Set
	 * (release) once netpoll_epfd is valid.
	 */
	uint32_t netpoll_park;
	int netpoll_epfd;
	int netpoll_mode;		/* GMPRT_NETPOLL: NETPOLL_* */
	uint32_t npollparked;		/* Ms in a park armed with GMP_PARK_POLL */
	uint32_t nsignotify;		/* channels signals are sent to */
	/* debug.c */
	struct gmprt_g *allg;		/* every G ever made (Go's allgs), prepend only */
	int64_t coarsenow;		/* CLOCK_MONOTONIC ns, kept by the main thread */
	uint32_t dumpreq;		/* SIGQUIT came: the main thread dumps and exits */
	int64_t schedtrace_ns;		/* GMPRT_DEBUG schedtrace period, 0: off */
	bool scheddetail;		/* GMPRT_DEBUG scheddetail=1 */
};

extern struct gmprt_sched gmprt_sched;
#define sched gmprt_sched

/* The Ps in force (Go's gomaxprocs): gmp.ko's word, which a resize moves. */
static inline int gmprt_gomaxprocs(void)
{
	return (int)__atomic_load_n(sched.kgomaxprocs, __ATOMIC_RELAXED);
}

/* Ps made so far: every P an M may ever find in allp. */
static inline int gmprt_nmade(void)
{
	return __atomic_load_n(&sched.nmade, __ATOMIC_ACQUIRE);
}

/*
 * getm() - the M of the calling thread, NULL on threads that are not Ms.
 * Out of line on purpose (proc.c): a G may go on on another thread after
 * any switch (gmprt_mcall, and rt_enter's gmprt_lostp), while GCC keeps a
 * thread-local's address in a register for a whole function once it has
 * computed it (on arm64 the thread pointer, read once; with -fPIC the
 * result of __tls_get_addr; GCC bug 26461).  Inline, a read after a switch
 * read the old thread's M: on arm64, gmprt_go's preempt check loaded a
 * NULL curg from the M its G had left (rt_block_test, rt_netscale_test,
 * SIGSEGV at 0x10 now and then).  A call reads it afresh every time.  A
 * function that has its G at hand uses gp->m instead.
 */
extern __thread struct m *gmprt_tls_m;
struct m *gmprt_getm(void);

static inline struct m *getm(void)
{
	return gmprt_getm();
}

/*
 * Entering and leaving the runtime (the M slot protocol, GMP_SETUP_HANDOFF).
 *
 * gmp.ko may take the P of an M whose thread blocks in the kernel, or whose
 * G runs 10 ms, while that M runs a G's own code (kmod/block.c).  It reads
 * the M's inruntime word to know where the M is, and only while the thread
 * is stopped (asleep, or in the kernel's own task_work on its way back to
 * user space), so plain stores are enough here: the order that matters is
 * this thread's own program order, and a signal fence keeps the compiler
 * to it.  If the P was taken, gmp.ko wrote GMP_NONE into our slot before
 * this thread could run again; we look at the slot after saying we are in
 * the runtime and before touching the P, and go the way of Go's exitsyscall
 * (gmprt_lostp) if it is gone.
 *
 * Every public call that may touch the P brackets itself with RT_ENTER
 * (its rt_leave runs at every return, through the cleanup attribute).
 * Calls nest: only the outermost one changes the word.  g0 (the scheduler)
 * always runs with it set; a G's own code, with it clear.
 */
void gmprt_lostp(struct gmprt_g *gp);
void gmprt_exitsyscall0(struct gmprt_g *gp);

/*
 * GMPRT_NO_HANDOFF builds the library without this bracket (and without
 * GMP_SETUP_HANDOFF): only for bench/, which measures what it costs.
 */
#ifdef GMPRT_NO_HANDOFF
static inline struct gmprt_g *rt_enter(struct gmprt_g *gp)
{
	return gp;
}

static inline void rt_leave(struct gmprt_g **gpp)
{
	(void)gpp;
}
#else
static inline struct gmprt_g *rt_enter(struct gmprt_g *gp)
{
	struct m *mp = gp->m;

	if (gp->rtdepth++ == 0) {
		store_relaxed(mp->kinruntime, 1);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (unlikely(mp->p && (load_relaxed(mp->kslotp) != mp->p->id ||
				       load_relaxed(&mp->p->owner) != mp)))
			gmprt_lostp(gp);	/* returns holding a P, maybe on another M */
	}
	return gp;
}

static inline void rt_leave(struct gmprt_g **gpp)
{
	struct gmprt_g *gp = *gpp;

	if (--gp->rtdepth == 0) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		store_relaxed(gp->m->kinruntime, 0);
	}
}
#endif

/* The calling G, inside the runtime until the enclosing block ends. */
#define RT_ENTER(gp, what)						\
	struct gmprt_g *gp __attribute__((cleanup(rt_leave))) =		\
		rt_enter(gmprt_mustg(what))

/*
 * For the calls any thread may make (gmprt.h, "From any thread"): the
 * calling G inside the runtime as RT_ENTER, or on a thread that runs no G
 * (a foreign thread), that thread's stand-in (foreign.c), outside it.
 */
struct gmprt_g *gmprt_foreign_self(void);

static inline struct gmprt_g *rt_enter_any(void)
{
	struct m *mp = getm();

	if (likely(mp && mp->curg))
		return rt_enter(mp->curg);
	return gmprt_foreign_self();
}

static inline void rt_leave_any(struct gmprt_g **gpp)
{
	if (!(*gpp)->foreign)
		rt_leave(gpp);
}

#define RT_ENTER_ANY(gp)						\
	struct gmprt_g *gp __attribute__((cleanup(rt_leave_any))) =	\
		rt_enter_any()

/* asm_amd64.S, asm_arm64.S: the context switch */
/*
 * GMPRT_TRACE's events (trace.c).  Off, a hook is a load and a predicted
 * branch; GMPRT_NO_TRACE compiles them out (bench/ measures the difference).
 */
enum {
	TR_START = 1,		/* G g starts running on P p */
	TR_STOP,		/* ... and stops (the reason follows as an instant) */
	TR_SYSCALL,		/* gmprt_entersyscall */
	TR_SYSCALL_END,		/* gmprt_exitsyscall, on P p (-1: none yet) */
	TR_LOSTP,		/* gmp.ko took P arg (block or preempt handoff) */
	TR_SPAWN,		/* G arg was made runnable by gmprt_go */
	TR_READY,		/* G g was readied */
	TR_PARK,		/* G g parks; arg: its wait reason (a literal) */
	TR_YIELD,		/* (not recorded: a stop with no park is a yield) */
	TR_PREEMPT,
	TR_EXIT,
	TR_STEAL,		/* from P arg */
	TR_GLOBAL_GET,		/* arg Gs from the global queue */
	TR_GLOBAL_PUT,		/* arg Gs to the global queue */
	TR_NETPOLL,		/* arg Gs made ready by the poller */
	TR_MPARK,		/* the M sleeps in gmp.ko */
	TR_MUNPARK,		/* ... and is back, with P p */
	TR_NTYPES
};
extern bool gmprt_tracing;
int gmprt_trace_init(void);
void gmprt_trace_write(void);
struct m *gmprt_trace_thread(void);
void gmprt_traceev(struct m *mp, unsigned int type, uint64_t g, int p, uint64_t arg);
#ifdef GMPRT_NO_TRACE
#define trace_on()			false
#define traceev(mp, type, g, p, arg)	((void)(mp))
#else
#define trace_on()			load_relaxed(&gmprt_tracing)
static inline void traceev(struct m *mp, unsigned int type, uint64_t g, int p, uint64_t arg)
{
	if (unlikely(trace_on()))
		gmprt_traceev(mp, type, g, p, arg);
}
#endif
/* The P @mp holds, for an event: its id, or -1. */
#define TRP(mp)	((mp) && (mp)->p ? (mp)->p->id : -1)

void gmprt_swapctx(void **save_sp, void *new_sp);
void gmprt_gstart(void);

/* proc.c */
__attribute__((noreturn, format(printf, 1, 2))) void gmprt_throw(const char *fmt, ...);
void gmprt_mcall(void (*fn)(g_t *));
void gmprt_runqput(struct p *pp, g_t *gp, bool next);
g_t *gmprt_runqget(struct p *pp, bool *inherit);
g_t *gmprt_runqsteal(struct p *pp, struct p *p2, bool stealnext);
void gmprt_goready(g_t *gp);
void gmprt_gopark(bool (*unlockf)(g_t *, void *), void *arg, const char *reason);

/* debug.c */
void gmprt_allgadd(g_t *gp);
int gmprt_debug_init(void);
void gmprt_debug_start(void);
void gmprt_debug_stop(void);
int64_t gmprt_debug_tick(int64_t max);
void gmprt_wakep(void);
void gmprt_acquirep(struct m *mp, int pid);
void gmprt_stopm(struct m *mp, bool may_exit);
g_t *gmprt_mustg(const char *what);
void gmprt_forked_throw(const char *what) __attribute__((noreturn));
g_t *gmprt_galloc(void);
void gmprt_ginit(g_t *gp, void (*fn)(void *), void *arg);
void gmprt_globrunqput_wake(g_t *gp);
void gmprt_injectglist(g_t **gs, int n);

/* netpoll.c */
#define NETPOLL_THREAD	1
#define NETPOLL_PARK	2
int gmprt_netpoll_env(void);
g_t *gmprt_netpoll(struct p *pp);

/*
 * Should a running M poll the network (GMPRT_NETPOLL=park)?  When a G or a
 * signal channel waits on it and no parked M is armed to be woken by it.
 */
static inline bool gmprt_netpoll_due(void)
{
	return load_relaxed(&sched.netpoll_park) &&
	       (load_relaxed(&sched.npollwait) || load_relaxed(&sched.nsignotify)) &&
	       !load_relaxed(&sched.npollparked);
}

/* foreign.c: the calling thread's stand-in G (gmprt_foreign_self, above),
 * parked and readied by futex */
void gmprt_foreign_park(bool (*unlockf)(g_t *, void *), void *arg);
void gmprt_foreign_ready(g_t *gp);
int gmprt_foreign_go(void (*fn)(void *), void *arg);
bool gmprt_foreign_threads(void);

/* lockm.c: LockOSThread (Go's stoplockedm / startlockedm) */
void gmprt_stoplockedm(struct m *mp);
void gmprt_startlockedm(struct m *mp, g_t *gp);
void gmprt_mexit(struct m *mp, bool uncount) __attribute__((noreturn));

/* kernel.c: gmp.ko */
void gmprt_p_init(struct p *pp, void *procs_map, const struct gmp_params *prm, int id);
int gmprt_kernel_open(int nprocs, unsigned int flags);
int gmprt_k_register(uint32_t *m, int claim_p);
int gmprt_k_park(struct m *mp, uint32_t flags, uint64_t deadline, int pollfd,
		 struct gmp_park *out);
int gmprt_k_wake(struct m *mp, uint32_t flags, int p, int target, struct gmp_wake *out);
int gmprt_k_acquire(struct m *mp, int want, uint32_t flags, int *p);
void gmprt_k_mslot(struct m *mp);
int gmprt_k_sysmon(void);
int gmprt_k_release(struct m *mp, int p);
int gmprt_k_runqput(const uint64_t *gs, uint32_t n, uint32_t flags);
int gmprt_k_unregister(struct m *mp);
int gmprt_k_runqget(uint64_t *gs, uint32_t max);
int gmprt_k_newm_wait(struct m *mp, int *p);
int gmprt_k_procresize(int n);
int gmprt_k_default_nprocs(void);

/* procresize.c: Ps that come and go (Go's procresize) */
bool gmprt_retirep(struct m *mp);
void gmprt_follow_default(void);
void gmprt_gfpurge(struct p *pp);

/* stack.c */
#define GMPRT_SIGSTACK_SIZE	(64 * 1024)	/* each M's signal stack */
int gmprt_stackalloc(g_t *gp, size_t size);
void gmprt_stack_init(void);
void gmprt_sigstack_init(struct m *mp);

/* time.c */
void gmprt_addtimer(struct gmprt_g *gp, int64_t when, void (*f)(struct gmprt_g *));
bool gmprt_deltimer(struct gmprt_g *gp);
int gmprt_checktimers(struct p *pp, int64_t now);
int gmprt_runtimers_all(int64_t now);
void gmprt_timers_adopt(struct p *from, struct p *to);

/* ---- channels, select, mutex, timers (chan.c, select.c, mutex.c, time.c) ---- */

/*
 * A spinlock that, after a while, yields the thread: its holder may be an
 * M the host descheduled (more Ms than CPUs), and spinning on would burn
 * the rest of our time slice.  For locks held across a gopark (until the
 * unlockf) and by timer runners.  chan.c.
 */
void gmprt_lock_slow(spinlock_t *l);

static inline void lock_yield(spinlock_t *l)
{
	if (likely(spin_trylock(l)))
		return;
	gmprt_lock_slow(l);
}

/* time.c: a timer function readies its G through this, so that Gs whose
 * timers are due together run in deadline order. */
void gmprt_timer_goready(struct gmprt_g *gp);
/* time.c: gmprt_addtimer() without the wakep, for a caller holding locks;
 * true: call gmprt_wakep() once they are dropped. */
bool gmprt_addtimer_nowake(struct gmprt_g *gp, int64_t when,
			   void (*f)(struct gmprt_g *));

/* select.c: Go's selectgo for the calling G @gp; @deadline (ns, 0: none)
 * makes it give up with -ETIMEDOUT.
 * Return: the case done, -EAGAIN (!@block), -ETIMEDOUT. */
int gmprt_selectgo(struct gmprt_g *gp, struct gmprt_select_case *cases, int n,
		   bool block, int64_t deadline);

/* gopark's unlockf for a spinlock: the common case. */
bool gmprt_unlock_spin(g_t *gp, void *lock);

static inline uint32_t fastrand(struct m *mp)
{
	/* xorshift64* */
	uint64_t x = mp->fastrand;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	mp->fastrand = x;
	return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

#endif /* GMPRT_RUNTIME_H */
