// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: the global run queue (Go's sched.runq), in kernel memory only.
 *
 * A FIFO of G handles in 4 KiB chunks, under sched->lock.  User space puts a
 * batch when its P's ring overflows (runqputslow: half the ring plus one, in
 * one call) and takes a batch when its ring is empty, or one G every 61
 * schedticks for fairness (globrunqget).  Chunks are allocated before the
 * lock is taken and charged to the caller's memory cgroup; a couple of empty
 * chunks are kept to avoid churn.
 *
 * A get must not lose Gs if the copy to user space faults, so takers are
 * serialised by sched->gq_get: they copy the head of the queue out under
 * sched->lock, copy it to user space unlocked, and only then drop it from the
 * queue.  Puts only append, so the head they copied is still the head.
 */
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "gmp.h"

#define GMP_GQ_SPARE	2

static struct gmp_gq_chunk *gmp_gq_chunk_alloc(void)
{
	struct gmp_gq_chunk *c = kmalloc(sizeof(*c), GFP_KERNEL_ACCOUNT);

	if (c) {
		INIT_LIST_HEAD(&c->link);
		c->head = 0;
		c->tail = 0;
	}
	return c;
}

/* Room left in the last chunk. */
static u32 __gmp_gq_room(struct gmp_sched *s)
{
	struct gmp_gq_chunk *last;

	if (list_empty(&s->gq))
		return 0;
	last = list_last_entry(&s->gq, struct gmp_gq_chunk, link);
	return GMP_GQ_CHUNK - last->tail;
}

/* Append @n handles; the chunks they need are in gq_spare. */
static void __gmp_gq_append(struct gmp_sched *s, const u64 *gs, u32 n)
{
	while (n) {
		struct gmp_gq_chunk *last = NULL;
		u32 k;

		if (!list_empty(&s->gq))
			last = list_last_entry(&s->gq, struct gmp_gq_chunk, link);
		if (!last || last->tail == GMP_GQ_CHUNK) {
			last = list_first_entry(&s->gq_spare,
						struct gmp_gq_chunk, link);
			list_move_tail(&last->link, &s->gq);
			s->gq_nspare--;
			last->head = 0;
			last->tail = 0;
		}
		k = min(n, GMP_GQ_CHUNK - last->tail);
		memcpy(&last->g[last->tail], gs, k * sizeof(u64));
		last->tail += k;
		gs += k;
		n -= k;
		s->gq_size += k;
		gmp_shared_w(s);	/* a chunk's line(s): counted per chunk */
	}
	WRITE_ONCE(s->ks->runqsize, s->gq_size);
	gmp_shared_w(s);
}

/**
 * gmp_runq_put() - GMP_IOC_RUNQ_PUT: append a batch to the global queue.
 * @s: the instance
 * @a: the request (validated: 1 <= n <= GMP_RUNQ_BATCH_MAX)
 *
 * With GMP_RUNQ_WAKE, Ms are started for idle Ps (gmp_inject_wake()).
 *
 * Return: 0; -EINVAL for a zero handle; -ENOSPC if the queue would exceed
 * GMP_GQ_MAX; -EFAULT; -ENOMEM.  Nothing is queued on error.
 */
int gmp_runq_put(struct gmp_sched *s, struct gmp_runq *a)
{
	struct gmp_gq_chunk *c, *tmp;
	LIST_HEAD(extra);
	u64 *gs;
	u32 i, need, got;
	int ret = 0;

	gs = kmalloc_array(a->n, sizeof(u64), GFP_KERNEL);
	if (!gs)
		return -ENOMEM;
	if (copy_from_user(gs, u64_to_user_ptr(a->gs), a->n * sizeof(u64))) {
		ret = -EFAULT;
		goto out;
	}
	for (i = 0; i < a->n; i++) {
		if (!gs[i]) {
			ret = -EINVAL;
			goto out;
		}
	}
	gmp_stat(s, GMP_STAT_RUNQPUT);
	gmp_sched_lock(s);
	for (;;) {
		u32 room = __gmp_gq_room(s);
		LIST_HEAD(fresh);

		if (s->dead) {
			ret = -ESHUTDOWN;
			break;
		}
		if (s->gq_size + a->n > GMP_GQ_MAX) {
			ret = -ENOSPC;
			break;
		}
		need = a->n > room ? DIV_ROUND_UP(a->n - room, GMP_GQ_CHUNK) : 0;
		if (need <= s->gq_nspare) {
			__gmp_gq_append(s, gs, a->n);
			trace_gmp_runq_put(s->id, a->n, s->gq_size);
			break;
		}
		need -= s->gq_nspare;
		spin_unlock(&s->lock);
		for (got = 0; got < need; got++) {
			struct gmp_gq_chunk *c = gmp_gq_chunk_alloc();

			if (!c) {
				ret = -ENOMEM;
				break;
			}
			list_add(&c->link, &fresh);
		}
		gmp_sched_lock(s);
		s->gq_nspare += got;
		list_splice(&fresh, &s->gq_spare);
		if (ret)
			break;
	}
	/*
	 * Putters racing for spares may have made more than we keep: trim
	 * them, so that the queue's memory stays bounded by its cap.
	 */
	while (s->gq_nspare > GMP_GQ_SPARE) {
		list_move(s->gq_spare.next, &extra);
		s->gq_nspare--;
	}
	spin_unlock(&s->lock);
	list_for_each_entry_safe(c, tmp, &extra, link)
		kfree(c);
	if (!ret && (a->flags & GMP_RUNQ_WAKE))
		gmp_inject_wake(s, a->n);
out:
	kfree(gs);
	return ret;
}

/* Copy the first @n handles to @buf without taking them. */
static void __gmp_gq_peek(struct gmp_sched *s, u64 *buf, u32 n)
{
	struct gmp_gq_chunk *c;

	list_for_each_entry(c, &s->gq, link) {
		u32 k = min(n, c->tail - c->head);

		memcpy(buf, &c->g[c->head], k * sizeof(u64));
		buf += k;
		n -= k;
		if (!n)
			break;
	}
}

/* Drop the first @n handles; emptied chunks become spares or are freed. */
static void __gmp_gq_drop(struct gmp_sched *s, u32 n, struct list_head *tofree)
{
	while (n) {
		struct gmp_gq_chunk *c = list_first_entry(&s->gq,
							  struct gmp_gq_chunk,
							  link);
		u32 k = min(n, c->tail - c->head);

		c->head += k;
		n -= k;
		s->gq_size -= k;
		if (c->head == c->tail) {
			if (s->gq_nspare < GMP_GQ_SPARE) {
				list_move(&c->link, &s->gq_spare);
				s->gq_nspare++;
			} else {
				list_move(&c->link, tofree);
			}
		}
		gmp_shared_w(s);
	}
	WRITE_ONCE(s->ks->runqsize, s->gq_size);
	gmp_shared_w(s);
}

/**
 * gmp_runq_get() - GMP_IOC_RUNQ_GET: take a batch from the global queue.
 * @s: the instance
 * @a: @a->n: room in @a->gs; out: handles taken
 *
 * Go's globrunqget sizing: at most runqsize / gomaxprocs + 1, at most half a
 * local ring, at most what the caller has room for.
 *
 * Return: 0 (possibly with @a->n == 0); -EFAULT, with nothing taken;
 * -EINTR if a fatal signal came while waiting for another taker.
 */
int gmp_runq_get(struct gmp_sched *s, struct gmp_runq *a)
{
	LIST_HEAD(tofree);
	struct gmp_gq_chunk *c, *tmp;
	u32 n;
	int ret = 0;

	gmp_stat(s, GMP_STAT_RUNQGET);
	/*
	 * Killable: a taker whose copy-out faults on memory that never comes
	 * (userfaultfd, FUSE) holds gq_get; the others must not be stuck in D.
	 */
	if (mutex_lock_killable(&s->gq_get))
		return -EINTR;
	gmp_sched_lock(s);
	if (s->dead) {
		spin_unlock(&s->lock);
		mutex_unlock(&s->gq_get);
		return -ESHUTDOWN;
	}
	n = min(s->gq_size, s->gq_size / s->nprocs + 1);
	n = min3(n, a->n, (u32)GMP_RUNQ_SIZE / 2);
	__gmp_gq_peek(s, s->gq_buf, n);
	spin_unlock(&s->lock);

	if (n && copy_to_user(u64_to_user_ptr(a->gs), s->gq_buf, n * sizeof(u64))) {
		ret = -EFAULT;
	} else if (n) {
		gmp_sched_lock(s);
		__gmp_gq_drop(s, n, &tofree);
		trace_gmp_runq_get(s->id, n, s->gq_size);
		spin_unlock(&s->lock);
	}
	mutex_unlock(&s->gq_get);
	list_for_each_entry_safe(c, tmp, &tofree, link)
		kfree(c);
	a->n = ret ? 0 : n;
	return ret;
}

/**
 * gmp_runq_free() - free the queue's chunks (final release).
 * @s: the instance
 */
void gmp_runq_free(struct gmp_sched *s)
{
	struct gmp_gq_chunk *c, *tmp;

	list_for_each_entry_safe(c, tmp, &s->gq, link)
		kfree(c);
	list_for_each_entry_safe(c, tmp, &s->gq_spare, link)
		kfree(c);
	INIT_LIST_HEAD(&s->gq);
	INIT_LIST_HEAD(&s->gq_spare);
	s->gq_size = 0;
	s->gq_nspare = 0;
}
