// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: Ps that come and go at run time (Go's procresize, behind
 * runtime.GOMAXPROCS(n)): gmprt_set_nprocs().
 *
 * Glossary
 *   in force   P ids below gomaxprocs (gmp.ko's word in the read-only page,
 *              gmprt_gomaxprocs()): the Ps Ms run Gs on and steal from
 *   made       Ps whose struct p is ready (sched.nmade); never fewer: a P
 *              out of force keeps its struct, its page and its free list
 *              position, and comes back as it was
 *   retiring   out of force but still held by an M: its G runs on until
 *              the M's next scheduling point
 *   stopped    out of force and held by nobody (status word GMP_P_STOP)
 *
 * Why it is hard: Go resizes with the world stopped; gmp cannot stop a G
 * in a plain read().  Other Ms go on running, stealing and parking while
 * Ps leave, and a G's timer may sit on the heap of a P that leaves.
 * kmod/procresize.c has the kernel's half of the protocol and the
 * approaches rejected; this is the user's half.
 *
 * The protocol, user side
 *   - Growing: the structs of the new Ps are readied (zeroed, pointed at
 *     their slots: nothing touches their pages, which do not exist yet)
 *     before GMP_IOC_PROCRESIZE, because gmp.ko may hand a new P to an M
 *     the moment the call makes it; nmade is raised after.  wakep then
 *     starts a spinning M, which steals from the busy Ps.
 *   - Shrinking: gmp.ko stops the idle Ps at once; the caller adopts their
 *     timers into its own P (if that one stays).  An M that holds a P out
 *     of force finds out at the top of schedule() (gmprt_retirep()): it
 *     takes every G off its ring (as its owner) and puts them on the global
 *     queue in one GMP_IOC_RUNQ_PUT, gives its free Gs to the global list,
 *     releases the P (gmp.ko stops it) and takes another P or parks; then
 *     the timers of the P it left come along.
 *   - Timers on a P that stopped without its M (a park, a handoff) stay
 *     there until an M in gmprt_runtimers_all() adopts them (time.c); until
 *     then they are run from there and bound every park's sleep.
 *   - Stealing and the spinning rule look at the Ps in force only; timers
 *     and the deadlock check at every P made.
 *
 * Who writes what: nmade and the structs beyond it only the resizer, under
 * resize_mu; everything in a P struct as before (its owner, its timers
 * lock); gomaxprocs only gmp.ko.
 */
#include <errno.h>
#include <string.h>
#include "runtime.h"

static gmprt_mutex resize_mu = GMPRT_MUTEX_INIT;
COUNT_SCHED_VAR(resize_mu);

/*
 * gmprt_retirep() - the M's P is out of force: let it go and take another
 * (or park until one comes).  On g0, at the top of schedule().
 * Return: false if the P stays for now (its Gs found no room).
 */
bool gmprt_retirep(struct m *mp)
{
	struct p *pp = mp->p;
	uint64_t gs[GMP_RUNQ_SIZE + 1];
	struct m *me = mp;
	bool inherit;
	g_t *gp;
	int n = 0, i, err, id;

	while (n < (int)(sizeof(gs) / sizeof(gs[0])) &&
	       (gp = gmprt_runqget(pp, &inherit)))
		gs[n++] = (uintptr_t)gp;
	err = n ? gmprt_k_runqput(gs, n, 0) : 0;
	if (err) {
		/*
		 * The global queue is full (or memory is short): the Gs run
		 * here first, and the P goes at a later schedule().
		 */
		for (i = 0; i < n; i++)
			gmprt_runqput(pp, (g_t *)(uintptr_t)gs[i], false);
		return false;
	}
	gmprt_gfpurge(pp);
	__atomic_compare_exchange_n(CW(&pp->owner), &me, NULL, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	mp->p = NULL;
	err = gmprt_k_release(mp, pp->id);
	if (err)
		gmprt_throw("GMP_IOC_RELEASE_P of a P out of force: %s", strerror(-err));
	err = gmprt_k_acquire(mp, GMP_NONE, 0, &id);
	if (err)
		gmprt_throw("GMP_IOC_ACQUIRE_P: %s", strerror(-err));
	if (id != GMP_NONE)
		gmprt_acquirep(mp, id);
	else
		gmprt_stopm(mp, false);	/* we go on with the P below */
	if (pp->id >= gmprt_gomaxprocs() && mp->p->id < gmprt_gomaxprocs())
		gmprt_timers_adopt(pp, mp->p);
	return true;
}

/* The resize itself, from a G; @explicit: the program asked for it. */
static int procresize(int n, bool explicit)
{
	int i, prev, made;
	struct p *mine;

	if (n > sched.maxprocs)
		return -EINVAL;
	gmprt_mutex_lock(&resize_mu);
	if (!explicit && load_relaxed(&sched.nprocs_set)) {
		gmprt_mutex_unlock(&resize_mu);	/* the program's word came first */
		return gmprt_gomaxprocs();
	}
	made = sched.nmade;
	for (i = made; i < n; i++) {
		memset(&sched.allp[i], 0, sizeof(struct p));
		gmprt_p_init(&sched.allp[i], sched.kprocs_map, &sched.prm, i);
	}
	prev = gmprt_k_procresize(n);
	if (prev >= 0) {
		if (n > made)
			store_release(&sched.nmade, n);
		if (explicit)
			store_relaxed(&sched.nprocs_set, true);
		/* The idle Ps that stopped at once: their timers come here. */
		mine = getm()->p;
		for (i = n; i < prev && mine && mine->id < n; i++)
			if (load_relaxed(sched.allp[i].kstatus) == GMP_P_STOP)
				gmprt_timers_adopt(&sched.allp[i], mine);
		if (n > prev)
			gmprt_wakep();
	}
	gmprt_mutex_unlock(&resize_mu);
	return prev;
}

int gmprt_set_nprocs(int n)
{
	RT_ENTER(gp, "gmprt_set_nprocs");

	(void)gp;
	if (n <= 0)
		return gmprt_gomaxprocs();
	return procresize(n, true);
}

static void follow_g(void *arg)
{
	procresize((int)(long)arg, false);
	store_release(&sched.following, 0);
}

/*
 * gmprt_follow_default() - Go 1.25's updateMaxProcs: once in a while (the
 * main thread, every FOLLOW_NS), ask gmp.ko what the default would be now
 * for the main thread (its mask, its cgroups' limits) and, if it moved and
 * the program never chose nprocs, resize to it from a G.
 */
void gmprt_follow_default(void)
{
	int n;

	if (!sched.nprocs_auto || load_relaxed(&sched.nprocs_set) ||
	    load_acquire(&sched.following))
		return;
	n = gmprt_k_default_nprocs();
	if (n <= 0 || n == gmprt_gomaxprocs())
		return;
	store_relaxed(&sched.following, 1);
	if (gmprt_go(follow_g, (void *)(long)n))
		store_relaxed(&sched.following, 0);
}
