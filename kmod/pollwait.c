// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: a parked M that also waits on the runtime's epoll file
 * (GMP_PARK_POLL).
 *
 * Glossary
 * ========
 * The poll file: the epoll instance in which the runtime registers every fd
 * a G waits on (its netpoller, userlib/netpoll.c).  It is readable while
 * any of those fds has an event nobody collected yet.
 * A poll wait (struct gmp_pollwait): one wait entry that the parking M puts
 * on the poll file's wait queue for the length of one park, on its own
 * kernel stack, as poll(2) and select(2) do with theirs.
 *
 * Why it is hard
 * ==============
 * A program whose every M is parked must still see a socket become
 * readable.  Go lets its last idle M block in epoll_wait instead of on its
 * note, so one M has two ways to sleep, and a wakep must break the
 * epoll_wait.  Here an idle M sleeps in gmp.ko's park; the poll wait makes
 * that one sleep end for either reason, so readiness wakes a parked M (and
 * hands it an idle P) with no thread in between.  The waker is epoll's
 * callback, which may run in interrupt context with epoll's own lock held:
 * it may not take sched->lock (not irq-safe) or sleep.  So it only sets a
 * flag and wakes the task, as poll's pollwake does; the woken M does the
 * bookkeeping itself, in its own context, under sched->lock.
 *
 * Rejected approaches
 * ===================
 *  - Any pollable file, not just an epoll file: some files (signalfd,
 *    binder) free their wait queue while a waiter is on it and say so with
 *    POLLFREE; handling that is io_uring's and aio's subtle code.  An epoll
 *    file's queue lives as long as the file, and the park holds a reference
 *    to the file for as long as its entry is queued.  The runtime needs only
 *    epoll, and other pollables can be put in its epoll set.
 *  - Keeping the file in the instance (set once): the instance would hold
 *    a file that may, through SCM_RIGHTS in flight or an epoll set, hold
 *    the instance; a reference held for one park cannot make such a cycle.
 *  - Waking every parked M on an event: a herd.  The entries are exclusive:
 *    one event wakes the first parked M only, and that M collects every
 *    event there is (user space's epoll_wait); it wakes others for the Gs
 *    it cannot run itself, as any M readying Gs does.
 *
 * The protocol
 * ============
 * Park arms the wait (vfs_poll(), which queues the entry and returns the
 * file's mask) before it takes sched->lock, so an event after that wakes
 * the task and an event before it shows in the mask: none is lost.  The
 * M then parks as usual; a ready file ends the park like a wake does, with
 * GMP_PARKED_POLL and an idle P if there is one.  Without a P, user space
 * collects the events, queues their Gs on the global queue (starting Ms
 * for idle Ps) and parks again.  The entry is taken off the queue before
 * park returns.
 *
 * Who writes what: pw->ready is set by the callback (epoll's queue lock
 * held) and by the arming M; read by the parked M after set_current_state
 * (the barrier pairs with the waker's wake_up_process()).  Everything else
 * in the wait belongs to the parking M.
 */
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/wait.h>
#include "gmp.h"

static int gmp_pollwait_wake(wait_queue_entry_t *wait, unsigned int mode,
			     int sync, void *key)
{
	struct gmp_pollwait *pw = container_of(wait, struct gmp_pollwait, wait);
	__poll_t mask = key_to_poll(key);

	/* epoll wakes its pollers with EPOLLIN; no key means "anything". */
	if (mask && !(mask & (EPOLLIN | EPOLLRDNORM)))
		return 0;
	WRITE_ONCE(pw->ready, true);
	wake_up_process(pw->task);
	return 1;	/* exclusive: this M, and no other, takes the event */
}

static void gmp_pollwait_queue(struct file *file, wait_queue_head_t *head,
			       poll_table *pt)
{
	struct gmp_pollwait *pw = container_of(pt, struct gmp_pollwait, pt);

	if (pw->head)		/* an epoll file has one queue; be sure */
		return;
	pw->head = head;
	init_waitqueue_func_entry(&pw->wait, gmp_pollwait_wake);
	add_wait_queue_exclusive(head, &pw->wait);
}

static bool gmp_file_is_epoll(struct file *f)
{
	/* fs/eventpoll.c's is_file_epoll() is not exported; its name is fixed. */
	return f->f_op && f->f_op->poll && !strcmp(f->f_path.dentry->d_name.name,
						   "[eventpoll]");
}

/**
 * gmp_pollwait_arm() - queue the parking M on epoll file @fd.
 * @pw: the wait, on the caller's stack
 * @fd: the epoll file's fd in the caller's table
 *
 * Return: 0, with @pw->ready set if the file is readable already; -EBADF
 * if @fd is not open, -EINVAL if it is not an epoll file.
 */
int gmp_pollwait_arm(struct gmp_pollwait *pw, int fd)
{
	__poll_t mask;

	pw->file = fget(fd);
	if (!pw->file)
		return -EBADF;
	if (!gmp_file_is_epoll(pw->file)) {
		fput(pw->file);
		pw->file = NULL;
		return -EINVAL;
	}
	pw->head = NULL;
	pw->ready = false;
	pw->task = current;
	init_poll_funcptr(&pw->pt, gmp_pollwait_queue);
	mask = vfs_poll(pw->file, &pw->pt);
	if (mask & (EPOLLIN | EPOLLRDNORM))
		WRITE_ONCE(pw->ready, true);
	return 0;
}

/* Take the M's entry off the file's queue and drop the file; idempotent. */
void gmp_pollwait_disarm(struct gmp_pollwait *pw)
{
	if (!pw->file)
		return;
	if (pw->head)
		remove_wait_queue(pw->head, &pw->wait);
	fput(pw->file);
	pw->file = NULL;
}
