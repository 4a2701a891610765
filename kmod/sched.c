// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko: the scheduler instance's lifetime, its shared pages, and the M
 * registry.
 *
 * An instance is made at open, sized by GMP_IOC_SETUP (Ps, shared pages),
 * shut down at the owner's close (parked Ms wake with -ESHUTDOWN, every M's
 * thread is asked to remove its preempt notifier) and freed when the last
 * reference goes: the file's (final release, which cannot come before every
 * mapping of its pages is gone: each VMA holds the file) and one for each M
 * whose notifier may still fire (block.c).  The instance holds the module
 * until it is freed, so that none of its notifiers, timers or task_works
 * can outlive gmp.ko.
 */
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/topology.h>
#include "compat.h"
#include "gmp.h"

static DEFINE_IDA(gmp_ida);
static struct workqueue_struct *gmp_wq;

u64 gmp_now(void)
{
	return ktime_get_ns();
}

static void gmp_sched_free_work(struct work_struct *w);

/**
 * gmp_sched_alloc() - a new, not yet set up, instance for the caller.
 *
 * Return: the instance, or ERR_PTR(-ENOMEM / -EMFILE: too many instances
 * for this user).
 */
struct gmp_sched *gmp_sched_alloc(void)
{
	struct gmp_sched *s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	int id, ret;

	if (!s)
		return ERR_PTR(-ENOMEM);
	s->stats = alloc_percpu_gfp(struct gmp_stats, GFP_KERNEL_ACCOUNT);
	if (!s->stats) {
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
	ret = gmp_user_charge_instance(s);
	if (ret) {
		free_percpu(s->stats);
		kfree(s);
		return ERR_PTR(ret);
	}
	id = ida_alloc(&gmp_ida, GFP_KERNEL);
	if (id < 0) {
		gmp_user_uncharge_instance(s);
		free_percpu(s->stats);
		kfree(s);
		return ERR_PTR(-ENOMEM);
	}
	s->id = id;
	s->max_m = GMP_MAX_M;	/* SETUP reads the parameter; no M before */
	kref_init(&s->ref);
	INIT_WORK(&s->free_work, gmp_sched_free_work);
	spin_lock_init(&s->lock);
	mutex_init(&s->mlock);
	mutex_init(&s->gq_get);
	INIT_LIST_HEAD(&s->pidle);
	INIT_LIST_HEAD(&s->midle);
	INIT_LIST_HEAD(&s->mlocked);
	INIT_LIST_HEAD(&s->gq);
	INIT_LIST_HEAD(&s->gq_spare);
	INIT_LIST_HEAD(&s->newmq);
	init_waitqueue_head(&s->newm_wq);
	init_waitqueue_head(&s->sysmon_wq);
	xa_init_flags(&s->ms, XA_FLAGS_ALLOC);
	s->owner = get_pid(task_tgid(current));
	s->owner_tgid = task_tgid_nr(current);
	__module_get(THIS_MODULE);
	return s;
}

struct page *gmp_page_alloc(int node)
{
	return alloc_pages_node(node, GFP_KERNEL_ACCOUNT | __GFP_ZERO, 0);
}

static void gmp_fill_offsets(struct gmp_sched *s, struct gmp_params *prm)
{
	struct gmp_sched_offsets *so = &prm->sched;
	struct gmp_procs_offsets *po = &prm->procs;
	struct gmp_ms_offsets *mo = &prm->ms;

	prm->nprocs = s->nprocs;
	prm->features = GMP_FEAT_PARK_DEADLINE | GMP_FEAT_SYSMON |
			GMP_FEAT_NEWM | GMP_FEAT_TRACE | GMP_FEAT_TIMERS |
			GMP_FEAT_TEMPLATE | GMP_FEAT_HANDOFF | GMP_FEAT_CPUS |
			GMP_FEAT_LOCKED | GMP_FEAT_RESIZE | GMP_FEAT_POLL;
	prm->instance = s->id;
	prm->runq_size = GMP_RUNQ_SIZE;
	prm->max_m = s->max_m;
	prm->global_runq_max = GMP_GQ_MAX;
	prm->block_grace_us = div_u64(s->grace_ns, NSEC_PER_USEC);

	so->gomaxprocs = offsetof(struct gmp_sched_page, gomaxprocs);
	so->npidle = offsetof(struct gmp_sched_page, npidle);
	so->nmidle = offsetof(struct gmp_sched_page, nmidle);
	so->runqsize = offsetof(struct gmp_sched_page, runqsize);
	so->nmsys = offsetof(struct gmp_sched_page, nmsys);
	so->size = PAGE_SIZE;

	po->nmspinning = offsetof(struct gmp_procs_hdr, nmspinning);
	po->p0 = PAGE_SIZE;
	po->p_stride = PAGE_SIZE;
	po->size = (1 + s->maxprocs) * PAGE_SIZE;
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
	po->cpu = offsetof(struct gmp_p_page, cpu);

	mo->slot_size = sizeof(struct gmp_m_slot);
	mo->inruntime = offsetof(struct gmp_m_slot, inruntime);
	mo->p = offsetof(struct gmp_m_slot, p);
	mo->size = GMP_MS_PAGES * PAGE_SIZE;
}

static void gmp_free_pages(struct gmp_sched *s)
{
	int i;

	gmp_procs_free(s);
	if (s->hdr_page)
		put_page(s->hdr_page);
	if (s->sched_page)
		put_page(s->sched_page);
	s->hdr_page = NULL;
	s->sched_page = NULL;
	for (i = 0; i < GMP_MS_PAGES; i++) {
		if (s->mpages[i])
			put_page(s->mpages[i]);
		s->mpages[i] = NULL;
	}
}

/*
 * The CPUs P i maps to: the opener's allowed CPUs that are online, in
 * order, round robin.  @cpus gets n entries.  Return: how many CPUs the
 * opener may use (at least 1).
 */
int gmp_opener_cpus(int *cpus, int n)
{
	cpumask_var_t mask;
	int i, k, cpu, w;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	cpus_read_lock();
	cpumask_and(mask, current->cpus_ptr, cpu_online_mask);
	if (cpumask_empty(mask))	/* a racing offline: any online CPU */
		cpumask_copy(mask, cpu_online_mask);
	w = cpumask_weight(mask);
	for (i = 0, k = 0, cpu = -1; cpus && i < n; i++, k++) {
		if (k == w) {
			k = 0;
			cpu = -1;
		}
		cpu = cpumask_next(cpu, mask);
		cpus[i] = cpu;
	}
	cpus_read_unlock();
	free_cpumask_var(mask);
	return w;
}

/**
 * gmp_default_nprocs() - the Ps an instance gets by default, for the caller.
 *
 * One per CPU of its mask, capped by the CPU bandwidth limit of its cgroup
 * and every ancestor (cpulimit.c), at most GMP_MAX_PROCS.
 *
 * Return: at least 1; -ENOMEM.
 */
int gmp_default_nprocs(void)
{
	int n = gmp_opener_cpus(NULL, 0);

	if (n < 0)
		return n;
	n = min_t(unsigned int, n, gmp_cpu_limit());
	return min(n, GMP_MAX_PROCS);
}

/**
 * gmp_sched_setup() - GMP_IOC_SETUP: make the Ps and the shared pages.
 * @s: the instance
 * @prm: the caller's parameters (validated); the out fields are filled
 *
 * One P per CPU the opener may run on, capped by its cgroup's CPU bandwidth
 * limit (cpulimit.c), unless @prm->nprocs says otherwise;
 * P i names the i-th of those CPUs (round robin) and its page is allocated
 * on that CPU's node.  Every P starts idle; the caller registers and
 * acquires one (Go's M0 takes P0).
 *
 * Return: 0; -EBUSY if already set up; -ESHUTDOWN if closed; -ENOMEM (out
 * of memory, or beyond RLIMIT_MEMLOCK).
 */
int gmp_sched_setup(struct gmp_sched *s, struct gmp_params *prm)
{
	int i, n = prm->nprocs, ret;

	if (!n) {
		n = gmp_default_nprocs();
		if (n < 0)
			return n;
	}
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
	ret = gmp_user_lock_pages(s, 2);
	if (ret)
		goto out;
	ret = -ENOMEM;
	s->maxprocs = (prm->flags & GMP_SETUP_RESIZE) ? GMP_MAX_PROCS : n;
	s->sched_page = gmp_page_alloc(NUMA_NO_NODE);
	s->hdr_page = gmp_page_alloc(NUMA_NO_NODE);
	s->allp = kcalloc(s->maxprocs, sizeof(*s->allp), GFP_KERNEL_ACCOUNT);
	s->gq_buf = kcalloc(GMP_RUNQ_SIZE / 2, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!s->sched_page || !s->hdr_page || !s->allp || !s->gq_buf)
		goto fail;
	s->ks = page_address(s->sched_page);
	s->kh = page_address(s->hdr_page);
	s->flags = prm->flags;
	ret = gmp_procs_make(s, n);
	if (ret)
		goto fail;
	s->grace_ns = (u64)READ_ONCE(gmp_block_grace_us) * NSEC_PER_USEC;
	s->max_m = READ_ONCE(gmp_max_m);
	s->start_ns = gmp_now();

	/*
	 * The Ps go idle all at once under the lock.  A close() racing with
	 * us (gmp_sched_shutdown()) waits for mlock: it sees all of them.
	 */
	gmp_sched_lock(s);
	s->nprocs = n;
	/* Idle list is LIFO: push in reverse so that P0 comes out first. */
	for (i = n - 1; i >= 0; i--)
		__gmp_pidleput(s, s->allp[i]);
	WRITE_ONCE(s->ks->gomaxprocs, n);
	spin_unlock(&s->lock);

	gmp_debugfs_add(s);
	gmp_fill_offsets(s, prm);
	/* Publish: every other call may now use the Ps and pages. */
	smp_store_release(&s->ready, true);
	mutex_unlock(&s->mlock);
	return 0;
fail:
	gmp_free_pages(s);
	gmp_user_unlock_pages(s);
	kfree(s->gq_buf);
	s->gq_buf = NULL;
	s->ks = NULL;
	s->kh = NULL;
	s->flags = 0;
	s->maxprocs = 0;
out:
	mutex_unlock(&s->mlock);
	return ret;
}

/**
 * gmp_sched_shutdown() - the owner closed the instance.
 * @s: the instance
 *
 * Every parked M and template thread wakes with -ESHUTDOWN; every later call
 * gets -ESHUTDOWN; every M's thread is asked to remove its notifier (it does
 * when it next returns to user space).  Memory stays until the last
 * reference goes.
 */
void gmp_sched_shutdown(struct gmp_sched *s)
{
	struct gmp_m *m;
	unsigned long id;
	int i;

	mutex_lock(&s->mlock);
	gmp_sched_lock(s);
	if (s->dead) {
		spin_unlock(&s->lock);
		mutex_unlock(&s->mlock);
		return;
	}
	WRITE_ONCE(s->dead, true);
	for (i = 0; i < s->nallp; i++)
		WRITE_ONCE(s->allp[i]->kp->status, GMP_P_DEAD);
	__gmp_wake_all(s, -ESHUTDOWN);
	spin_unlock(&s->lock);
	/* Under mlock no M is freed: wake outside sched->lock (10000 of them). */
	gmp_wake_all_flush(s);
	xa_for_each(&s->ms, id, m) {
		gmp_m_unwatch_remote(s, m);
		cond_resched();
	}
	mutex_unlock(&s->mlock);
	wake_up_all(&s->newm_wq);
	wake_up_all(&s->sysmon_wq);
}

static void gmp_m_free(struct gmp_m *m)
{
	put_pid(m->pid);
	kfree_rcu(m, rcu);
}

static void gmp_sched_free(struct gmp_sched *s)
{
	struct gmp_m *m;
	unsigned long id;

	gmp_sched_shutdown(s);
	gmp_debugfs_remove(s);
	/* No notifier is on (else a reference would be left): timers first. */
	xa_for_each(&s->ms, id, m)
		gmp_m_timer_cancel(m);
	xa_for_each(&s->ms, id, m)
		gmp_m_free(m);
	xa_destroy(&s->ms);
	gmp_runq_free(s);
	kfree(s->gq_buf);
	gmp_free_pages(s);
	gmp_user_unlock_pages(s);
	gmp_user_uncharge_instance(s);
	put_pid(s->owner);
	ida_free(&gmp_ida, s->id);
	free_percpu(s->stats);
	kfree(s);
	module_put(THIS_MODULE);
}

static void gmp_sched_free_work(struct work_struct *w)
{
	gmp_sched_free(container_of(w, struct gmp_sched, free_work));
}

static void gmp_sched_release(struct kref *ref)
{
	struct gmp_sched *s = container_of(ref, struct gmp_sched, ref);

	/* The last M's timer drops it in a hard interrupt: free from a work. */
	if (in_task())
		gmp_sched_free(s);
	else
		queue_work(gmp_wq, &s->free_work);
}

/**
 * gmp_sched_put() - drop a reference on the instance; the last frees it.
 * @s: the instance
 *
 * Any context; in a task, with none of the instance's locks held.
 */
void gmp_sched_put(struct gmp_sched *s)
{
	kref_put(&s->ref, gmp_sched_release);
}

static int gmp_mslot_alloc(struct gmp_sched *s, u32 id);

/*
 * The M slot pages, faulted in one at a time (most are never used): a
 * page a registration made, or one made now, charged like those.
 */
static vm_fault_t gmp_ms_fault(struct vm_fault *vmf)
{
	struct gmp_sched *s = vmf->vma->vm_file->private_data;
	pgoff_t i = vmf->pgoff - (GMP_OFF_MS >> PAGE_SHIFT);
	struct page *page;

	if (i >= GMP_MS_PAGES)
		return VM_FAULT_SIGBUS;
	/* Pairs with the release in gmp_mslot_alloc(): the page is zeroed. */
	page = smp_load_acquire(&s->mpages[i]);
	if (!page) {
		int ret;

		mutex_lock(&s->mlock);
		ret = gmp_mslot_alloc(s, i * GMP_MSLOTS_PER_PAGE);
		mutex_unlock(&s->mlock);
		if (ret)	/* out of memory, or of RLIMIT_MEMLOCK */
			return VM_FAULT_SIGBUS;
		page = s->mpages[i];
	}
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct gmp_ms_vm_ops = {
	.fault = gmp_ms_fault,
};

/*
 * The procs region: the nmspinning page, then one page per P made.  A P
 * not made yet (GMP_SETUP_RESIZE reserves the range for GMP_MAX_PROCS) has
 * no page: SIGBUS, as beyond the end of a file.
 */
static vm_fault_t gmp_procs_fault(struct vm_fault *vmf)
{
	struct gmp_sched *s = vmf->vma->vm_file->private_data;
	pgoff_t i = vmf->pgoff - (GMP_OFF_PROCS >> PAGE_SHIFT);
	struct page *page = s->hdr_page;

	if (i) {
		struct gmp_p *p = i <= GMP_MAX_PROCS ? gmp_p_get(s, i - 1) : NULL;

		if (!p)
			return VM_FAULT_SIGBUS;
		page = p->page;
	}
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct gmp_procs_vm_ops = {
	.fault = gmp_procs_fault,
};

/**
 * gmp_sched_mmap() - map one of the three shared regions.
 * @s: the instance
 * @vma: at offset GMP_OFF_SCHED (read-only, one page), GMP_OFF_PROCS
 *       (read-write, the nmspinning page then one page per P) or
 *       GMP_OFF_MS (read-write, the M slots), whole
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
		if (size != (1 + s->maxprocs) * PAGE_SIZE)
			return -EINVAL;
	} else if (off == GMP_OFF_MS) {
		if (size != GMP_MS_PAGES * PAGE_SIZE)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	gmp_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTCOPY, clear);
	if (off == GMP_OFF_SCHED)
		return vm_insert_page(vma, vma->vm_start, s->sched_page);
	vma->vm_ops = off == GMP_OFF_MS ? &gmp_ms_vm_ops : &gmp_procs_vm_ops;
	return 0;
}

/**
 * gmp_m_dead() - has M's thread gone for good?
 * @m: the M
 *
 * True once its thread switched out for the last time (block.c): its
 * notifier never fires again and the M may be freed.
 *
 * Return: true if it has.
 */
bool gmp_m_dead(struct gmp_m *m)
{
	return atomic_read_acquire(&m->mstate) == GMP_MS_DEAD;
}

/* Remove M from the registry and the scheduler; called with mlock held. */
static void gmp_m_unlink(struct gmp_sched *s, struct gmp_m *m,
			 struct gmp_wakeq *wq)
{
	lockdep_assert_held(&s->mlock);
	gmp_sched_lock(s);
	__gmp_drop_m(s, m, wq);
	xa_erase(&s->ms, m->id);
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
	if (!atomic_read(&s->ndead))
		return 0;
	xa_for_each(&s->ms, id, m) {
		if (!gmp_m_dead(m))
			continue;
		atomic_dec(&s->ndead);
		gmp_m_unlink(s, m, &wq);
		gmp_wakeq_flush(&wq);
		gmp_m_timer_cancel(m);
		gmp_m_free(m);
		gmp_stat(s, GMP_STAT_REAP);
		n++;
	}
	return n;
}

/**
 * gmp_reap_dead() - clean up after registered threads that exited.
 * @s: the instance
 *
 * Their Ps go to other Ms (Go's handoffp), their ids are free again.
 * Called by sysmon when a thread's last switch kicks it, and by
 * registration when the M table is full.
 */
void gmp_reap_dead(struct gmp_sched *s)
{
	mutex_lock(&s->mlock);
	gmp_reap_dead_locked(s);
	mutex_unlock(&s->mlock);
}

/*
 * The table is full: Ms whose threads are exiting (a thread that exited is
 * joined before its last switch) free their ids within moments.  Wait a
 * little for them, with mlock dropped.  Return: true if any was reaped.
 */
static bool gmp_m_wait_exiting(struct gmp_sched *s)
{
	int tries;

	lockdep_assert_held(&s->mlock);
	for (tries = 0; tries < 2000; tries++) {	/* 1-2 s at most */
		struct gmp_m *m;
		unsigned long id;
		bool exiting = false;

		rcu_read_lock();
		xa_for_each(&s->ms, id, m) {
			if (!gmp_m_dead(m) && (READ_ONCE(m->task->flags) & PF_EXITING)) {
				exiting = true;
				break;
			}
		}
		rcu_read_unlock();
		if (!exiting)
			return false;
		mutex_unlock(&s->mlock);
		usleep_range(500, 1000);
		mutex_lock(&s->mlock);
		if (gmp_reap_dead_locked(s))
			return true;
	}
	return false;
}

/* The page of M slot @id exists (allocated, charged).  Called with mlock. */
static int gmp_mslot_alloc(struct gmp_sched *s, u32 id)
{
	u32 i = id / GMP_MSLOTS_PER_PAGE;
	struct page *page;
	int ret;

	lockdep_assert_held(&s->mlock);
	if (s->mpages[i])
		return 0;
	ret = gmp_user_lock_pages(s, 1);
	if (ret)
		return ret;
	page = gmp_page_alloc(NUMA_NO_NODE);
	if (!page)
		return -ENOMEM;		/* the charge stays: given back at free */
	smp_store_release(&s->mpages[i], page);
	return 0;
}

static struct gmp_m_slot *gmp_mslot(struct gmp_sched *s, u32 id)
{
	struct gmp_m_slot *slots = page_address(s->mpages[id / GMP_MSLOTS_PER_PAGE]);

	return &slots[id % GMP_MSLOTS_PER_PAGE];
}

/**
 * gmp_m_register() - GMP_IOC_REGISTER: the calling thread becomes an M.
 * @s: the instance
 * @reg: the request (validated); out: @reg->m
 *
 * The M's slot starts with inruntime set (nothing is taken from a thread
 * that has not said it runs G code) and p its P or GMP_NONE; its thread's
 * preempt notifier goes on.
 *
 * Return: 0; -EBUSY if the thread is already an M here; -EAGAIN if the
 * instance has max_m Ms (the module parameter at SETUP, GMP_MAX_M at
 * most); -EINVAL if the P to claim is not reserved;
 * -ENOMEM (also beyond RLIMIT_MEMLOCK, for a new page of slots).
 */
int gmp_m_register(struct gmp_sched *s, struct gmp_register *reg)
{
	struct gmp_m *m;
	u32 id;
	int ret;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return -ENOMEM;
	m->s = s;
	m->task = current;
	m->pid = get_task_pid(current, PIDTYPE_PID);
	INIT_LIST_HEAD(&m->idle);

	mutex_lock(&s->mlock);
	/* Dead Ms go first: their ids, slots and Ps are wanted. */
	gmp_reap_dead_locked(s);
	if (gmp_m_current(s)) {
		ret = -EBUSY;
		goto fail;
	}
	/*
	 * Reserve the id only (xa_load() sees NULL): the M is published
	 * below, under sched->lock, once it is sure to exist, so that no wake
	 * can hand a P to an M that registration then frees.
	 */
	ret = xa_alloc(&s->ms, &id, NULL, XA_LIMIT(0, s->max_m - 1),
		       GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY && gmp_m_wait_exiting(s))
		ret = xa_alloc(&s->ms, &id, NULL, XA_LIMIT(0, s->max_m - 1),
			       GFP_KERNEL_ACCOUNT);
	if (ret == -EBUSY)
		ret = -EAGAIN;
	if (ret)
		goto fail;
	m->id = id;
	ret = gmp_mslot_alloc(s, id);
	if (ret)
		goto fail_erase;
	m->kslot = gmp_mslot(s, id);
	WRITE_ONCE(m->kslot->inruntime, 1);
	WRITE_ONCE(m->kslot->p, GMP_NONE);

	gmp_sched_lock(s);
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
			struct gmp_p *p = gmp_p_get(s, reg->p);

			__gmp_hold(s, p, m);
			__gmp_m_setp(m, p);
		}
		s->mcount++;
		/* Before anyone can see it: its thread is watched from now on. */
		gmp_m_watch(m);
	}
	spin_unlock(&s->lock);
	if (ret)
		goto fail_erase;
	mutex_unlock(&s->mlock);
	reg->m = id;
	return 0;

fail_erase:
	xa_erase(&s->ms, id);
fail:
	mutex_unlock(&s->mlock);
	put_pid(m->pid);
	kfree(m);
	return ret;
}

/**
 * gmp_m_unregister() - GMP_IOC_UNREGISTER: the calling thread stops being
 * an M.
 * @s: the instance
 * @m: the caller's M
 *
 * Its P, if any, goes to another M or the idle list (Go's handoffp); its
 * thread's notifier comes off.
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
	/* The file is held by this call: not the last reference. */
	gmp_m_unwatch(m);
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

/** gmp_sched_init() - at module load. */
int gmp_sched_init(void)
{
	gmp_wq = alloc_workqueue("gmp", WQ_UNBOUND, 0);
	return gmp_wq ? 0 : -ENOMEM;
}

/** gmp_sched_exit() - at unload: every instance has been freed. */
void gmp_sched_exit(void)
{
	destroy_workqueue(gmp_wq);
}
