/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gmp.ko: what differs between the kernels gmp.ko builds for.
 *
 * Tested: Debian 12's 6.1 (x86-64 and arm64) and Debian 13's 6.12 (x86-64).
 * Every LINUX_VERSION_CODE test of the module lives here, each behind a
 * helper named gmp_<what the kernel calls it>, so that the code that uses
 * it reads the same on every kernel and a new kernel's differences are
 * found, and fixed, in one file (v4l2loopback's and evdi's habit).
 *
 * Add a helper only for a difference a supported kernel actually has, with
 * the version that introduced it and the upstream change's subject.
 */
#ifndef _GMP_COMPAT_H
#define _GMP_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/version.h>

/*
 * 6.3 ("mm: introduce vma->vm_flags wrapper functions"): vm_flags is
 * const, written only through vm_flags_set()/vm_flags_clear()/
 * vm_flags_mod(), which also assert the mmap lock.  Before, a plain store.
 */
static inline void gmp_vm_flags_mod(struct vm_area_struct *vma,
				    unsigned long set, unsigned long clear)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, set, clear);
#else
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
#endif
}

/*
 * 6.12 ("sched/eevdf: Delayed dequeue"; "sched: Add task_is_runnable()"):
 * a task that blocks may stay on its runqueue, se.sched_delayed, until
 * EEVDF lets it go, so on_rq alone no longer says "runnable".  Block
 * detection asks at sched_out whether current was preempted or blocked
 * (KVM's kvm_sched_out asks the same).
 */
static inline bool gmp_task_runnable(struct task_struct *p)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	return task_is_runnable(p);
#else
	return p->on_rq;
#endif
}

#endif /* _GMP_COMPAT_H */
