// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: the counting build (-DGMPRT_COUNTING): which cache lines the
 * runtime writes, by kind.
 *
 * Glossary
 * ========
 * A counted write is an atomic store or read-modify-write of the library
 * (store_relaxed, store_release, cas_acqrel, fetch_add, spin_lock,
 * spin_trylock, and every direct __atomic_* or atomic_flag_* write,
 * wrapped in CW()): runtime.h hands its address to gmprt_count_w() first.
 * Its class is the kind of line it lands in (runtime.h's enum, in this
 * order, which is the one bench/gmp/gmpbench.h prints them in as usched
 * uownp uotherp uobj umslot):
 *   SCHED   instance-wide: gmprt_sched, gmp.ko's sched page, the part of
 *           the procs region before P 0 (nmspinning), another M's gmp.ko
 *           slot or struct m, and the library's own static variables that
 *           any M may write (COUNT_SCHED_VAR: pd_dir, pd_grow, sig_pending,
 *           guard_budget, pool_lock, resize_mu, tr, gmprt_tracing, two
 *           once-only flags);
 *   OWNP    the P the writing M holds: its page in the procs region or
 *           its struct p in sched.allp;
 *   OTHERP  another P's page or struct p: a steal, a runqput there, a
 *           timers lock of another heap;
 *   OBJ     anything else: channels, mutexes, wait groups, pds, Gs,
 *           timers, trace chunks: lines shared only by the Gs using them;
 *   MSLOT   the writing M's own struct m or gmp.ko slot: no other CPU
 *           writes that line, so it is not a shared write, only counted
 *           so that the split adds up.
 * bench/ argues from these that the scheduler's shared writes per
 * operation (SCHED, and OTHERP) do not grow with the CPUs.
 *
 * Why it is hard
 * ==============
 * Not the counting: the classification.  The same store (cas_acqrel on a
 * run queue head) is an own-P write for the owner's runqget and an
 * other-P write for a thief's steal, so the class depends on the writer
 * as much as on the address.  And "the P the M holds" has a gap: across
 * a system call m->p is NULL (entersyscall clears it before it stores the
 * P's status; exitsyscall's CAS on that status runs before it sets it
 * again), yet those are writes to the P the M just left and will most
 * likely take back.
 *
 * Rejected approaches
 * ===================
 *  - A class argument at each call site: sixty sites to keep right by
 *    hand, and wrong the moment a helper is called from both an owner and
 *    a thief.  The address and the calling M decide, in one place.
 *  - One global counter array: its own atomic adds would be the hottest
 *    shared line of the program and change what is measured.  Each M
 *    counts in its struct m.
 *  - Counting gmprt.h's inline mutex fast path too: it is compiled into
 *    the program, not the library, so the library's build flag cannot
 *    reach it (and a program built against the normal gmprt.h must link
 *    with the counting library).  Those CASes and sub_fetches on
 *    mu->state are not counted; mutex.c's slow path is, as OBJ.
 *
 * The protocol
 * ============
 *  - The writing M is gmprt_tls_m, read afresh in each call (this is a
 *    function of its own, never inlined into one that switches Gs).  A
 *    thread with no M (a foreign thread, the netpoller's thread, an M's
 *    thread before mcommoninit or after gmprt_mexit, anything before
 *    gmprt_main) counts into nom[], a global bucket of relaxed atomic
 *    adds, classified alike with no P and no M of its own: a P page is
 *    OTHERP, an M slot or struct m SCHED.  Nothing is dropped.
 *  - Its P is m->p; when it has none, m->oldp (in a system call), else the
 *    last P it held (m->count_lastp, kept by these calls), so that the
 *    syscall round trip's status writes count as OWNP.  A write to the P
 *    an M held before a park counts OWNP too if it comes before the next
 *    acquirep: rare, and said here rather than hidden.
 *  - Address ranges, tested in this order: gmprt_sched itself; gmp.ko's
 *    three regions (sched page, procs region, M slots) from the mapped
 *    bases and the sizes GMP_IOC_SETUP gave; sched.allp (room for
 *    maxprocs struct p, never moved); the caller's struct m; the
 *    COUNT_SCHED_VAR section; every struct m on sched.allm.  Only the
 *    last is a walk (one pointer per M), and only for what would be OBJ.
 *  - gmprt_counts_read() sums every struct m on allm, plus nom[], with
 *    relaxed loads while the Ms go on counting: a sum taken while the
 *    program runs is a snapshot of each counter, not of all of them at
 *    once; taken after the measured part, it is exact.  allm only grows
 *    and its structs are never freed; a struct taken again for a new M
 *    (mreuse) keeps its counts.
 *
 * Who writes what: m->counts and m->count_lastp only by the M itself
 * (relaxed fetch_adds, so that a signal handler on the same thread cannot
 * lose one and readers never see a torn value); nom[] by any thread with
 * no M; the ranges read here are written once, by gmprt_kernel_open,
 * before there is any M, and by a resize only inside allp's fixed room.
 * These calls' own writes are not counted (they would count themselves).
 *
 * Not counted: plain stores (the owner-only fields of a struct p, a G's
 * fields, a channel's buffer under its lock: the lock's atomics are, and
 * they take the line), loads, gmp.ko's own stores (its GMP_COUNTING build
 * counts those, as kshared), and gmprt.h's inline mutex fast path (above).
 */
#ifdef GMPRT_COUNTING
#include "runtime.h"

/* struct gmp_params has a field named sched: no shorthand in this file. */
#undef sched
#define rt gmprt_sched

#define EXPORT	__attribute__((visibility("default")))

/* Writes of threads that are no M (see above). */
static uint64_t nom[GMPRT_NCOUNT];

/* The linker's bounds of COUNT_SCHED_VAR's section; weak: it may be empty. */
extern const struct gmprt_count_var __start_gmprt_count_vars[] __attribute__((weak));
extern const struct gmprt_count_var __stop_gmprt_count_vars[] __attribute__((weak));

static inline bool within(uintptr_t a, const void *base, size_t size)
{
	return base && a - (uintptr_t)base < size;
}

/* Own P or another's, for a write into P @pid's page or struct. */
static int pclass(const struct m *mp, int pid)
{
	int own;

	if (!mp)
		return CNT_OTHERP;
	if (mp->p)
		own = mp->p->id;
	else if (mp->oldp)
		own = mp->oldp->id;
	else
		own = mp->count_lastp - 1;
	return pid == own ? CNT_OWNP : CNT_OTHERP;
}

static int classify(const struct m *mp, uintptr_t a)
{
	const struct gmp_params *prm = &rt.prm;
	const struct gmprt_count_var *v;
	const struct m *o;
	uintptr_t off;

	if (within(a, &rt, sizeof(rt)))
		return CNT_SCHED;
	if (within(a, rt.ksched_map, prm->sched.size))
		return CNT_SCHED;		/* read-only to us: never, in fact */
	if (within(a, rt.kprocs_map, prm->procs.size)) {
		off = a - (uintptr_t)rt.kprocs_map;
		if (off < prm->procs.p0 || !prm->procs.p_stride)
			return CNT_SCHED;	/* nmspinning's page */
		return pclass(mp, (int)((off - prm->procs.p0) / prm->procs.p_stride));
	}
	if (within(a, rt.kms_map, prm->ms.size)) {
		off = a - (uintptr_t)rt.kms_map;
		if (mp && prm->ms.slot_size && off / prm->ms.slot_size == mp->id)
			return CNT_MSLOT;
		return CNT_SCHED;
	}
	if (rt.maxprocs > 0 &&
	    within(a, rt.allp, (size_t)rt.maxprocs * sizeof(struct p)))
		return pclass(mp, (int)((a - (uintptr_t)rt.allp) / sizeof(struct p)));
	if (mp && within(a, mp, sizeof(*mp)))
		return CNT_MSLOT;
	for (v = __start_gmprt_count_vars; v && v < __stop_gmprt_count_vars; v++)
		if (within(a, v->addr, v->size))
			return CNT_SCHED;
	for (o = load_acquire(&rt.allm); o; o = o->alllink)
		if (within(a, o, sizeof(*o)))
			return CNT_SCHED;	/* another M's: mreuse's claim */
	return CNT_OBJ;
}

/*
 * gmprt_count_w() - count a write to @addr for the calling thread's M.
 * Never inlined: gmprt_tls_m must be read here, on the thread that
 * writes (runtime.h's getm() says why a cached one is wrong).
 */
__attribute__((noinline)) EXPORT void gmprt_count_w(const void *addr)
{
	struct m *mp = gmprt_tls_m;
	int c = classify(mp, (uintptr_t)addr);

	if (!mp) {
		__atomic_fetch_add(&nom[c], 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_fetch_add(&mp->counts[c], 1, __ATOMIC_RELAXED);
	if (mp->p && mp->count_lastp != mp->p->id + 1)
		__atomic_store_n(&mp->count_lastp, mp->p->id + 1, __ATOMIC_RELAXED);
}

/*
 * gmprt_counts_read() - the counts of every M and of the threads with
 * none, summed by class into @out[0 .. min(@n, GMPRT_NCOUNT)), in the
 * order of runtime.h's CNT_ enum.  Racy by design (see above).
 * Return: GMPRT_NCOUNT.
 */
EXPORT int gmprt_counts_read(uint64_t *out, int n)
{
	uint64_t sum[GMPRT_NCOUNT];
	const struct m *mp;
	int i;

	for (i = 0; i < GMPRT_NCOUNT; i++)
		sum[i] = __atomic_load_n(&nom[i], __ATOMIC_RELAXED);
	for (mp = load_acquire(&rt.allm); mp; mp = mp->alllink)
		for (i = 0; i < GMPRT_NCOUNT; i++)
			sum[i] += __atomic_load_n(&mp->counts[i], __ATOMIC_RELAXED);
	for (i = 0; out && i < n && i < GMPRT_NCOUNT; i++)
		out[i] = sum[i];
	return GMPRT_NCOUNT;
}
#endif /* GMPRT_COUNTING */
