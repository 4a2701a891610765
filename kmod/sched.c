// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: the scheduler instance's lifetime, its shared pages, and the M
 * registry.
 *
 * An instance is made at open, sized by GMP_IOC_SETUP (Ps, shared pages,
 * sysmon), shut down at the owner's close (parked Ms wake with -ESHUTDOWN)
 * and freed at the file's final release, which cannot come before every
 * mapping of its pages is gone (each VMA holds the file).
 */
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/topology.h>
#include <linux/version.h>
#include "gmp.h"

static DEFINE_IDA(gmp_ida);

u64 gmp_now(void)
{
	return ktime_get_ns();
}

/**
 * gmp_sched_alloc() - a new, not yet set up, instance for the caller.
 *
 * Return: the instance, or NULL when out of memory.
 */
struct gmp_sched *gmp_sched_alloc(void)
{
	struct gmp_sched *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	int id;

	if (!s)
		return NULL;
	id = ida_alloc(&gmp_ida, GFP_KERNEL);
	if (id < 0) {
		kfree(s);
		return NULL;
	}
	s->id = id;
	spin_lock_init(&s->lock);
	mutex_init(&s->mlock);
	mutex_init(&s->gq_get);
	INIT_LIST_HEAD(&s->pidle);
	INIT_LIST_HEAD(&s->midle);
	INIT_LIST_HEAD(&s->gq);
	INIT_LIST_HEAD(&s->gq_spare);
	INIT_LIST_HEAD(&s->newmq);
	init_waitqueue_head(&s->newm_wq);
	xa_init_flags(&s->ms, XA_FLAGS_ALLOC);
	xa_init(&s->ms_by_tid);
	s->owner = get_pid(task_tgid(current));
	s->owner_tgid = task_tgid_nr(current);
	return s;
}

static struct page *gmp_page_alloc(int node)
{
	return alloc_pages_node(node, GFP_KERNEL_ACCOUNT | __GFP_ZERO, 0);
}

static void gmp_fill_offsets(struct gmp_sched *s, struct gmp_params *prm)
{
	struct gmp_sched_offsets *so = &prm->sched;
	struct gmp_procs_offsets *po = &prm->procs;

	prm->nprocs = s->nprocs;
	prm->features = GMP_FEAT_PARK_DEADLINE | GMP_FEAT_PIN_PROCS |
			GMP_FEAT_SYSMON | GMP_FEAT_NEWM | GMP_FEAT_TRACE |
			GMP_FEAT_TIMERS | GMP_FEAT_TEMPLATE;
	prm->instance = s->id;
	prm->runq_size = GMP_RUNQ_SIZE;
	prm->max_m = GMP_MAX_M;
	prm->global_runq_max = GMP_GQ_MAX;

	so->gomaxprocs = offsetof(struct gmp_sched_page, gomaxprocs);
	so->npidle = offsetof(struct gmp_sched_page, npidle);
	so->nmidle = offsetof(struct gmp_sched_page, nmidle);
	so->runqsize = offsetof(struct gmp_sched_page, runqsize);
	so->nmsys = offsetof(struct gmp_sched_page, nmsys);
	so->size = PAGE_SIZE;

	po->nmspinning = offsetof(struct gmp_procs_hdr, nmspinning);
	po->p0 = PAGE_SIZE;
	po->p_stride = PAGE_SIZE;
	po->size = (1 + s->nprocs) * PAGE_SIZE;
	po->status = offsetof(struct gmp_p_page, status);
	po->m = offsetof(struct gmp_p_page, m);
	po->schedtick = offsetof(struct gmp_p_page, schedtick);
	po->syscalltick = offsetof(struct gmp_p_page, syscalltick);
	po->preempt = offsetof(struct gmp_p_page, preempt);
	po->runqhead = offsetof(struct gmp_p_page, runqhead);
	po->runqtail = offsetof(struct gmp_p_page, runqtail);
	po->runnext = offsetof(struct gmp_p_page, runnext);
	po->runq = offsetof(struct gmp_p_page, runq);
	po->timer0when = offsetof(struct gmp_p_page, timer0when);
}

static void gmp_free_procs(struct gmp_p *allp, int n)
{
	int i;

	if (!allp)
		return;
	for (i = 0; i < n; i++)
		if (allp[i].page)
			put_page(allp[i].page);
	kfree(allp);
}

static void gmp_free_pages(struct gmp_sched *s)
{
	gmp_free_procs(s->allp, s->nprocs);
	s->allp = NULL;
	if (s->hdr_page)
		put_page(s->hdr_page);
	if (s->sched_page)
		put_page(s->sched_page);
	s->hdr_page = NULL;
	s->sched_page = NULL;
}

/**
 * gmp_sched_setup() - GMP_IOC_SETUP: make the Ps and the shared pages.
 * @s: the instance
 * @prm: the caller's parameters (validated); the out fields are filled
 *
 * One P per online CPU unless @prm->nprocs says otherwise; P i's page is
 * allocated on the node of the CPU it maps to.  Every P starts idle; the
 * caller registers and acquires one (Go's M0 takes P0).
 *
 * Return: 0; -EBUSY if already set up; -ESHUTDOWN if closed; -ENOMEM.
 */
int gmp_sched_setup(struct gmp_sched *s, struct gmp_params *prm)
{
	int i, ncpu = num_online_cpus(), n = prm->nprocs ? prm->nprocs : ncpu;
	struct gmp_p *allp = NULL;
	int ret = -ENOMEM;

	n = min(n, GMP_MAX_PROCS);
	mutex_lock(&s->mlock);
	if (s->ready) {
		ret = -EBUSY;
		goto out;
	}
	if (READ_ONCE(s->dead)) {	/* closed through a dup()ed fd */
		ret = -ESHUTDOWN;
		goto out;
	}
	s->sched_page = gmp_page_alloc(NUMA_NO_NODE);
	s->hdr_page = gmp_page_alloc(NUMA_NO_NODE);
	allp = kcalloc(n, sizeof(*allp), GFP_KERNEL_ACCOUNT);
	s->gq_buf = kcalloc(GMP_RUNQ_SIZE / 2, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!s->sched_page || !s->hdr_page || !allp || !s->gq_buf)
		goto fail;
	s->ks = page_address(s->sched_page);
	s->kh = page_address(s->hdr_page);
	for (i = 0; i < n; i++) {
		struct gmp_p *p = &allp[i];

		p->id = i;
		p->cpu = cpumask_nth(i % ncpu, cpu_online_mask);
		INIT_LIST_HEAD(&p->idle);
		INIT_LIST_HEAD(&p->newm);
		p->page = gmp_page_alloc(cpu_to_node(p->cpu));
		if (!p->page)
			goto fail;
		p->kp = page_address(p->page);
	}
	s->flags = prm->flags;
	s->start_ns = gmp_now();
	/* It finds no P yet, and sleeps until one is taken. */
	ret = gmp_sysmon_start(s);
	if (ret)
		goto fail;

	/*
	 * The Ps appear all at once under the lock: a close() racing with us
	 * (gmp_sched_shutdown()) sees either none or all of them.
	 */
	spin_lock(&s->lock);
	s->allp = allp;
	s->nprocs = n;
	/* Idle list is LIFO: push in reverse so that P0 comes out first. */
	for (i = n - 1; i >= 0; i--)
		__gmp_pidleput(s, &s->allp[i]);
	WRITE_ONCE(s->ks->gomaxprocs, n);
	spin_unlock(&s->lock);

	gmp_debugfs_add(s);
	gmp_fill_offsets(s, prm);
	/* Publish: every other call may now use the Ps and pages. */
	smp_store_release(&s->ready, true);
	mutex_unlock(&s->mlock);
	return 0;
fail:
	gmp_free_procs(allp, n);
	gmp_free_pages(s);
	kfree(s->gq_buf);
	s->gq_buf = NULL;
	s->ks = NULL;
	s->kh = NULL;
out:
	mutex_unlock(&s->mlock);
	return ret;
}

/**
 * gmp_sched_shutdown() - the owner closed the instance.
 * @s: the instance
 *
 * Every parked M and template thread wakes with -ESHUTDOWN; every later call
 * gets -ESHUTDOWN.  Memory stays until the final release.
 */
void gmp_sched_shutdown(struct gmp_sched *s)
{
	int i;

	spin_lock(&s->lock);
	if (s->dead) {
		spin_unlock(&s->lock);
		return;
	}
	WRITE_ONCE(s->dead, true);
	for (i = 0; i < s->nprocs; i++)
		WRITE_ONCE(s->allp[i].kp->status, GMP_P_DEAD);
	__gmp_wake_all(s, -ESHUTDOWN);
	spin_unlock(&s->lock);
	wake_up_all(&s->newm_wq);
}

static void gmp_m_free(struct gmp_m *m)
{
	put_task_struct(m->task);
	kfree_rcu(m, rcu);
}

/**
 * gmp_sched_free() - the file's final release: free everything.
 * @s: the instance; no call is in flight and no mapping is left
 */
void gmp_sched_free(struct gmp_sched *s)
{
	struct gmp_m *m;
	unsigned long id;

	gmp_sched_shutdown(s);
	gmp_sysmon_stop(s);
	gmp_debugfs_remove(s);
	xa_for_each(&s->ms, id, m)
		gmp_m_free(m);
	xa_destroy(&s->ms);
	xa_destroy(&s->ms_by_tid);
	gmp_runq_free(s);
	kfree(s->gq_buf);
	gmp_free_pages(s);
	put_pid(s->owner);
	ida_free(&gmp_ida, s->id);
	kfree(s);
}

/* vm_flags became read-only in 6.3. */
static void gmp_vm_flags_mod(struct vm_area_struct *vma, unsigned long set,
			     unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/**
 * gmp_sched_mmap() - map one of the two shared regions.
 * @s: the instance
 * @vma: at offset GMP_OFF_SCHED (read-only, one page) or GMP_OFF_PROCS
 *       (read-write, the nmspinning page then one page per P), whole
 *
 * Shared mappings only, never executable; not inherited by a fork()ed child
 * (VM_DONTCOPY), so no other process can write the rings.
 *
 * Return: 0; -EINVAL for a wrong offset, size or a private mapping; -EPERM
 * for a writable GMP_OFF_SCHED or an executable mapping.
 */
int gmp_sched_mmap(struct gmp_sched *s, struct vm_area_struct *vma)
{
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;
	unsigned long size = vma->vm_end - vma->vm_start;
	unsigned long clear = VM_MAYEXEC;
	int i, ret;

	/*
	 * MAP_SHARED, not MAP_PRIVATE.  VM_MAYSHARE, not VM_SHARED: the kernel
	 * clears VM_SHARED (and VM_MAYWRITE) for a read-only file, whose shared
	 * mappings can then never be written.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (off == GMP_OFF_SCHED) {
		if (size != PAGE_SIZE)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		clear |= VM_MAYWRITE;
	} else if (off == GMP_OFF_PROCS) {
		if (size != (1 + s->nprocs) * PAGE_SIZE)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	gmp_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTCOPY, clear);
	if (off == GMP_OFF_SCHED)
		return vm_insert_page(vma, vma->vm_start, s->sched_page);
	ret = vm_insert_page(vma, vma->vm_start, s->hdr_page);
	for (i = 0; !ret && i < s->nprocs; i++)
		ret = vm_insert_page(vma, vma->vm_start + (1 + i) * PAGE_SIZE,
				     s->allp[i].page);
	return ret;
}

/**
 * gmp_m_dead() - has M's thread exited (or begun to)?
 * @m: the M
 *
 * A thread with PF_EXITING never returns to user space, so it is in no call
 * of ours and will make none.
 *
 * Return: true if it has.
 */
bool gmp_m_dead(struct gmp_m *m)
{
	return READ_ONCE(m->task->flags) & PF_EXITING;
}

/* Remove M from the registry and the scheduler; called with mlock held. */
static void gmp_m_unlink(struct gmp_sched *s, struct gmp_m *m,
			 struct gmp_wakeq *wq)
{
	lockdep_assert_held(&s->mlock);
	spin_lock(&s->lock);
	__gmp_drop_m(s, m, wq);
	xa_erase(&s->ms, m->id);
	xa_cmpxchg(&s->ms_by_tid, m->tid, m, NULL, 0);
	s->mcount--;
	spin_unlock(&s->lock);
}

/* Reap every M whose thread died; called with mlock held.  Return: how many. */
static int gmp_reap_dead_locked(struct gmp_sched *s)
{
	struct gmp_wakeq wq = { .n = 0 };
	struct gmp_m *m;
	unsigned long id;
	int n = 0;

	lockdep_assert_held(&s->mlock);
	xa_for_each(&s->ms, id, m) {
		if (!gmp_m_dead(m))
			continue;
		gmp_m_unlink(s, m, &wq);
		gmp_wakeq_flush(&wq);
		gmp_m_free(m);
		n++;
	}
	return n;
}

/**
 * gmp_reap_dead() - clean up after registered threads that exited.
 * @s: the instance
 *
 * Their Ps go to other Ms (Go's handoffp), their ids are free again.
 * Called by sysmon, and by registration when the M table is full.
 */
void gmp_reap_dead(struct gmp_sched *s)
{
	mutex_lock(&s->mlock);
	gmp_reap_dead_locked(s);
	mutex_unlock(&s->mlock);
}

/**
 * gmp_m_register() - GMP_IOC_REGISTER: the calling thread becomes an M.
 * @s: the instance
 * @reg: the request (validated); out: @reg->m
 *
 * Return: 0; -EBUSY if the thread is already an M here; -EAGAIN if the
 * instance has GMP_MAX_M Ms; -EINVAL if the P to claim is not reserved;
 * -ENOMEM.
 */
int gmp_m_register(struct gmp_sched *s, struct gmp_register *reg)
{
	struct gmp_m *m, *old;
	u32 id;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->task = get_task_struct(current);
	m->tid = task_pid_nr(current);
	INIT_LIST_HEAD(&m->idle);

	mutex_lock(&s->mlock);
	old = xa_load(&s->ms_by_tid, m->tid);
	if (old && old->task == current) {
		ret = -EBUSY;
		goto fail;
	}
	if (old) {
		/* A dead thread whose tid was reused: reap it now. */
		gmp_reap_dead_locked(s);
	}
	/*
	 * Reserve the id only (xa_load() sees NULL): the M is published
	 * below, under sched->lock, once it is sure to exist, so that no wake
	 * can hand a P to an M that registration then frees.
	 */
	ret = xa_alloc(&s->ms, &id, NULL, XA_LIMIT(0, GMP_MAX_M - 1),
		       GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY && gmp_reap_dead_locked(s))
		ret = xa_alloc(&s->ms, &id, NULL, XA_LIMIT(0, GMP_MAX_M - 1),
			       GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY)
		ret = -EAGAIN;
	if (ret)
		goto fail;
	m->id = id;
	ret = xa_err(xa_store(&s->ms_by_tid, m->tid, m, GFP_KERNEL_ACCOUNT));
	if (ret)
		goto fail_erase;

	spin_lock(&s->lock);
	if (s->dead) {
		ret = -ESHUTDOWN;
	} else if (reg->flags & GMP_REGISTER_CLAIM) {
		struct gmp_p *p = gmp_p_get(s, reg->p);

		if (!p || p->state != GMP_PS_RESERVED || !list_empty(&p->newm))
			ret = -EINVAL;
	}
	if (!ret) {
		/* The slot exists: this store allocates nothing. */
		ret = xa_err(xa_store(&s->ms, id, m, GFP_NOWAIT));
	}
	if (!ret) {
		if (reg->flags & GMP_REGISTER_CLAIM) {
			m->p = gmp_p_get(s, reg->p);
			__gmp_hold(m->p, m);
		}
		s->mcount++;
	}
	spin_unlock(&s->lock);
	if (ret)
		goto fail_tid;
	mutex_unlock(&s->mlock);
	reg->m = id;
	if (m->p)
		gmp_pin(s, m, m->p->id);
	return 0;

fail_tid:
	xa_cmpxchg(&s->ms_by_tid, m->tid, m, NULL, 0);
fail_erase:
	xa_erase(&s->ms, id);
fail:
	mutex_unlock(&s->mlock);
	put_task_struct(m->task);
	kfree(m);
	return ret;
}

/**
 * gmp_m_unregister() - GMP_IOC_UNREGISTER: the calling thread stops being
 * an M.
 * @s: the instance
 * @m: the caller's M
 *
 * Its P, if any, goes to another M or the idle list (Go's handoffp).
 *
 * Return: 0.
 */
int gmp_m_unregister(struct gmp_sched *s, struct gmp_m *m)
{
	struct gmp_wakeq wq = { .n = 0 };

	mutex_lock(&s->mlock);
	gmp_m_unlink(s, m, &wq);
	mutex_unlock(&s->mlock);
	gmp_wakeq_flush(&wq);
	gmp_m_free(m);
	return 0;
}

/**
 * gmp_m_self() - the caller's M, from the id it passed.
 * @s: the instance
 * @id: the M id
 *
 * Only the thread itself, reaping (of dead threads only) and the final
 * release free an M, so the caller's own M stays valid for the call.
 *
 * Return: the M; ERR_PTR(-EINVAL) for an unknown id; ERR_PTR(-EPERM) for
 * another thread's M.
 */
struct gmp_m *gmp_m_self(struct gmp_sched *s, u32 id)
{
	struct gmp_m *m;
	bool mine;

	rcu_read_lock();
	m = xa_load(&s->ms, id);
	mine = m && m->task == current;
	rcu_read_unlock();
	if (!m)
		return ERR_PTR(-EINVAL);
	return mine ? m : ERR_PTR(-EPERM);
}
