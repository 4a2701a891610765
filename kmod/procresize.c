// SPDX-License-Identifier: GPL-2.0
/*
 * procresize.c - Ps made, stopped and brought back (Go's procresize,
 * behind runtime.GOMAXPROCS(n)): GMP_IOC_PROCRESIZE.
 *
 * Glossary
 *   in force   P ids below nprocs (Go's gomaxprocs): the Ps Ms run Gs on
 *   made       every P that ever existed (nallp); P structs and pages are
 *              never freed before the instance, so a pointer or a mapping
 *              of one stays good across every resize
 *   retiring   out of force, but held by an M (or reserved for a new one):
 *              still running the G it ran when the resize came
 *   stopped    out of force and held by nobody (GMP_PS_STOPPED, status
 *              word GMP_P_STOP); nothing takes it but a resize back
 *
 * Why it is hard.  Go resizes with the world stopped: no M runs, every P's
 * queue is still, and procresize moves the Gs and timers of the Ps it
 * destroys at leisure.  gmp has no stop-the-world: other Ms go on running
 * Gs, stealing from rings and parking while Ps leave, and an M may hold a
 * P that leaves for as long as its G runs or blocks.  Nothing may be lost
 * (a G on a leaving P's ring, a timer on its heap) and nothing run twice.
 *
 * Rejected approaches
 *   - Stopping the world: every M would have to reach a safe point first,
 *     and a G in a plain blocking call never does; a resize would wait on
 *     the slowest read() in the program.
 *   - The kernel moving a leaving P's Gs to the global queue itself: the
 *     queue's chunks are allocated outside sched->lock, and a P stops on
 *     paths (a dead M, sysmon, block detection) where that allocation
 *     cannot be made or fail.  The M that holds the P can: it puts them
 *     with GMP_IOC_RUNQ_PUT, as its ring's overflow does.
 *   - Freeing a stopped P: every lockless reader (the fault handler, a
 *     stealer's pointers in user space) would need a grace period; a page
 *     per P is the whole cost of keeping it.
 *
 * The protocol
 *   - Growing makes the missing Ps (under mlock: allocation, a charge of
 *     one page each) stopped, then, under sched->lock, raises nprocs and
 *     puts each stopped P of the new range on the idle list.  A retiring P
 *     of that range (shrunk and regrown before it stopped) is simply in
 *     force again.  An M is started per new P while the global queue has
 *     Gs, as injectglist does.
 *   - Shrinking lowers nprocs first.  From then on no P out of force is
 *     ever idled: __gmp_pidleput() stops it instead, whoever lets it go
 *     (park, release, a handoff by sysmon or block detection, a dead M).
 *     Idle Ps out of force are taken off the idle list and stopped now;
 *     held ones get a preempt request, so that their G yields soon.
 *   - A P with Gs on its ring is never stopped: __gmp_handoffp() starts an
 *     M for it, park keeps it (GMP_PARKED_WORK).  That M, in user space,
 *     sees its P is out of force at its next scheduling point, puts the
 *     ring's Gs on the global queue and releases it: it stops, and the M
 *     takes another P or parks.
 *   - A stopped P's timers stay on its heap: user space adopts them into a
 *     P in force.  Until then every timer0when of every P made still bounds
 *     a parking M's sleep (park.c), and a stop with a timer pending starts
 *     an M on an idle P, so no timer is slept through.
 *
 * Who may write what: nprocs and nallp change under mlock and sched->lock
 * (nallp with a release, after the P it counts is set); a P's state under
 * sched->lock, as always.  user space cannot stop, start or skip a P
 * except through this call: the status words it may scribble on are never
 * read back as truth.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include "gmp.h"

/**
 * gmp_procs_make() - make Ps up to @n, stopped.
 * @s: the instance; called with mlock held
 * @n: Ps wanted in all
 *
 * P i names the i-th CPU of the caller's mask (round robin, as at SETUP),
 * its page on that CPU's node, charged to the caller.
 *
 * Return: 0, also when @n are made already; -EINVAL beyond maxprocs;
 * -ENOMEM (the Ps made until then stay).
 */
int gmp_procs_make(struct gmp_sched *s, int n)
{
	int i, k = s->nallp, *cpus, ret = 0;

	lockdep_assert_held(&s->mlock);
	if (n <= k)
		return 0;
	if (n > s->maxprocs)
		return -EINVAL;
	cpus = kcalloc(n, sizeof(*cpus), GFP_KERNEL);
	if (!cpus)
		return -ENOMEM;
	ret = gmp_opener_cpus(cpus, n);
	if (ret < 0)
		goto out;
	ret = 0;
	for (i = k; i < n; i++) {
		struct gmp_p *p;

		ret = gmp_user_lock_pages(s, 1);
		if (ret)
			break;
		ret = -ENOMEM;
		p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
		if (!p)
			break;
		p->page = gmp_page_alloc(cpu_to_node(cpus[i]));
		if (!p->page) {
			kfree(p);
			break;
		}
		ret = 0;
		p->id = i;
		p->cpu = cpus[i];
		p->state = GMP_PS_STOPPED;
		INIT_LIST_HEAD(&p->idle);
		INIT_LIST_HEAD(&p->newm);
		p->kp = page_address(p->page);
		p->kp->cpu = p->cpu;
		p->kp->m = GMP_NONE;
		p->kp->status = GMP_P_STOP;
		s->allp[i] = p;
	}
	/* A charge for a P that could not be made stays until the instance goes. */
	gmp_sched_lock(s);
	/* Pairs with gmp_p_get()'s acquire: allp[0..i) are set. */
	smp_store_release(&s->nallp, i);
	spin_unlock(&s->lock);
out:
	kfree(cpus);
	return ret;
}

/* Every P made, and the table; the instance is being freed (or set up failed). */
void gmp_procs_free(struct gmp_sched *s)
{
	int i;

	if (!s->allp)
		return;
	for (i = 0; i < s->nallp; i++) {
		put_page(s->allp[i]->page);
		kfree(s->allp[i]);
	}
	kfree(s->allp);
	s->allp = NULL;
	s->nallp = 0;
}

/**
 * __gmp_pstop() - P, out of force and let go, stops.
 * @s: the instance
 * @p: the P: nobody holds it, it is on no list
 *
 * Called with sched->lock held.
 */
void __gmp_pstop(struct gmp_sched *s, struct gmp_p *p)
	__must_hold(&s->lock)
{
	lockdep_assert_held(&s->lock);
	p->state = GMP_PS_STOPPED;
	p->m = NULL;
	WRITE_ONCE(p->kp->m, GMP_NONE);
	WRITE_ONCE(p->kp->status, s->dead ? GMP_P_DEAD : GMP_P_STOP);
}

/**
 * gmp_procresize() - GMP_IOC_PROCRESIZE.
 * @s: the instance
 * @a: the request (flags and resv validated); out: @a->nprocs, the Ps in
 *     force before
 *
 * With GMP_RESIZE_DEFAULT, @a->dflt is the default for the caller now
 * (sched.c's gmp_default_nprocs()), computed before anything changes.
 *
 * Return: 0; -EOPNOTSUPP without GMP_SETUP_RESIZE; -EINVAL for more than
 * GMP_MAX_PROCS; -ENOMEM (out of memory or of RLIMIT_MEMLOCK: nothing
 * changed); -ESHUTDOWN.
 */
int gmp_procresize(struct gmp_sched *s, struct gmp_procresize *a)
{
	struct gmp_wakeq wq = { .n = 0 };
	int i, n, old, ret;

	if (!(s->flags & GMP_SETUP_RESIZE))
		return -EOPNOTSUPP;
	/* Unsigned: 0x80000000 is not a negative number of Ps (the fuzzer's find). */
	if (a->nprocs > GMP_MAX_PROCS)
		return -EINVAL;
	n = a->nprocs;
	if (a->flags & GMP_RESIZE_DEFAULT) {
		ret = gmp_default_nprocs();
		if (ret < 0)
			return ret;
		a->dflt = ret;
	}
	mutex_lock(&s->mlock);
	if (READ_ONCE(s->dead)) {
		ret = -ESHUTDOWN;
		goto out;
	}
	ret = gmp_procs_make(s, n);
	if (ret)
		goto out;
	gmp_sched_lock(s);
	old = s->nprocs;
	a->nprocs = old;
	if (!n || n == old || s->dead)
		goto unlock;
	s->nprocs = n;
	WRITE_ONCE(s->ks->gomaxprocs, n);
	if (n > old) {
		int work = s->gq_size;

		for (i = old; i < n; i++) {
			struct gmp_p *p = s->allp[i];

			if (p->state != GMP_PS_STOPPED)
				continue;	/* retiring: in force again */
			if (work-- > 0)
				__gmp_startm(s, p, false, &wq);
			else
				__gmp_pidleput(s, p);
		}
	} else {
		for (i = n; i < old; i++) {
			struct gmp_p *p = s->allp[i];

			if (__gmp_pidleget_id(s, p))
				__gmp_handoffp(s, p, GMP_HANDOFF_RESIZE, &wq);
			else if (p->state == GMP_PS_HELD)
				WRITE_ONCE(p->kp->preempt, 1);
		}
	}
unlock:
	spin_unlock(&s->lock);
out:
	mutex_unlock(&s->mlock);
	gmp_wakeq_flush(&wq);
	return ret;
}
