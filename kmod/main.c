// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko entry points: the /dev/gmp misc device.
 *
 * This file only validates and dispatches: it copies each argument in,
 * refuses unknown flags and non-zero reserved fields, checks that the caller
 * belongs to the owning process and that the M id it passes is its own, and
 * copies the answer out.  The work is in sched.c (lifetime, mmap, Ms),
 * park.c (park, wake, Ps), block.c (block detection and handoffs), runq.c
 * (global queue), sysmon.c, user.c (per-user limits) and trace.c.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "gmp.h"

unsigned int gmp_block_grace_us = 50;
module_param_named(block_grace_us, gmp_block_grace_us, uint, 0644);
MODULE_PARM_DESC(block_grace_us,
		 "how long an M may block holding a P before the P is handed off (us; read at SETUP)");

unsigned int gmp_max_user_instances = 128;
module_param_named(max_user_instances, gmp_max_user_instances, uint, 0644);
MODULE_PARM_DESC(max_user_instances,
		 "instances a user may have open at once (CAP_SYS_RESOURCE: no limit)");

/*
 * Go's maxmcount, as debug.SetMaxThreads lowers it: Ms one instance
 * accepts at most, read at SETUP (an instance keeps the value it started
 * with).  1 to GMP_MAX_M, which sizes the M-slot region whatever this says.
 */
unsigned int gmp_max_m = GMP_MAX_M;

static int max_m_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, GMP_MAX_M);
}

static const struct kernel_param_ops max_m_ops = {
	.set = max_m_set,
	.get = param_get_uint,
};
module_param_cb(max_m, &max_m_ops, &gmp_max_m, 0644);
MODULE_PARM_DESC(max_m, "Ms an instance accepts at most (1 to 10000; read at SETUP)");

static int gmp_open(struct inode *inode, struct file *file)
{
	struct gmp_sched *s = gmp_sched_alloc();

	if (IS_ERR(s))
		return PTR_ERR(s);
	file->private_data = s;
	return 0;
}

static bool gmp_is_owner(struct gmp_sched *s)
{
	return task_tgid(current) == s->owner;
}

/*
 * close() by the owning process shuts the instance down, so that Ms parked
 * in it wake (with -ESHUTDOWN) instead of sleeping forever; their calls hold
 * the file, so ->release cannot run before they return.  A fork()ed child
 * closing its copy changes nothing.
 */
static int gmp_flush(struct file *file, fl_owner_t id)
{
	struct gmp_sched *s = file->private_data;

	if (gmp_is_owner(s))
		gmp_sched_shutdown(s);
	return 0;
}

static int gmp_release(struct inode *inode, struct file *file)
{
	gmp_sched_put(file->private_data);
	return 0;
}

static int gmp_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct gmp_sched *s = file->private_data;

	if (!gmp_is_owner(s))
		return -EPERM;
	/* Pairs with the release in gmp_sched_setup(): the pages are there. */
	if (!smp_load_acquire(&s->ready))
		return -EBADFD;
	if (READ_ONCE(s->dead))
		return -ESHUTDOWN;
	return gmp_sched_mmap(s, vma);
}

static bool gmp_zero(const void *p, size_t n)
{
	return !memchr_inv(p, 0, n);
}

static long gmp_ioc_setup(struct gmp_sched *s, void __user *up)
{
	struct gmp_params prm;
	int ret;

	if (copy_from_user(&prm, up, sizeof(prm)))
		return -EFAULT;
	if ((prm.flags & ~GMP_SETUP_FLAGS) ||
	    !gmp_zero(prm.resv, sizeof(prm.resv)) || prm.nprocs > GMP_MAX_PROCS)
		return -EINVAL;
	/* Out-only fields must come in zeroed: they are reserved for growth. */
	if (prm.features || prm.instance || prm.runq_size || prm.max_m ||
	    prm.global_runq_max || prm.block_grace_us ||
	    !gmp_zero(&prm.sched, sizeof(prm.sched)) ||
	    !gmp_zero(&prm.procs, sizeof(prm.procs)) ||
	    !gmp_zero(&prm.ms, sizeof(prm.ms)))
		return -EINVAL;
	ret = gmp_sched_setup(s, &prm);
	if (ret)
		return ret;
	return copy_to_user(up, &prm, sizeof(prm)) ? -EFAULT : 0;
}

static long gmp_ioc_register(struct gmp_sched *s, void __user *up)
{
	struct gmp_register reg;
	int ret;

	if (copy_from_user(&reg, up, sizeof(reg)))
		return -EFAULT;
	if ((reg.flags & ~GMP_REGISTER_FLAGS) || reg.resv || reg.m ||
	    !gmp_zero(reg.resv2, sizeof(reg.resv2)))
		return -EINVAL;
	if (!(reg.flags & GMP_REGISTER_CLAIM) && reg.p)
		return -EINVAL;
	ret = gmp_m_register(s, &reg);
	if (ret)
		return ret;
	/* The M exists even if this copy fails; the caller can still use it. */
	return copy_to_user(up, &reg, sizeof(reg)) ? -EFAULT : 0;
}

static long gmp_ioc_unregister(struct gmp_sched *s, void __user *up)
{
	struct gmp_unregister a;
	struct gmp_m *m;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.resv)
		return -EINVAL;
	m = gmp_m_self(s, a.m);
	if (IS_ERR(m))
		return PTR_ERR(m);
	return gmp_m_unregister(s, m);
}

static long gmp_ioc_park(struct gmp_sched *s, void __user *up)
{
	struct gmp_park a;
	struct gmp_m *m;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~GMP_PARK_FLAGS) || a.result || a.oflags || a.p ||
	    (!(a.flags & GMP_PARK_DEADLINE) && a.deadline) ||
	    (!(a.flags & GMP_PARK_POLL) && a.pollfd))
		return -EINVAL;
	if ((a.flags & GMP_PARK_LOCKED) &&
	    (a.flags & (GMP_PARK_SPINNING | GMP_PARK_DEADLINE | GMP_PARK_POLL)))
		return -EINVAL;
	m = gmp_m_self(s, a.m);
	if (IS_ERR(m))
		return PTR_ERR(m);
	trace_gmp_park(s->id, m->id, a.flags, a.deadline);
	ret = gmp_park(s, m, &a);
	trace_gmp_unpark(s->id, m->id, ret, a.result, a.p);
	if (ret)
		return ret;
	return copy_to_user(up, &a, sizeof(a)) ? -EFAULT : 0;
}

static long gmp_ioc_wake(struct gmp_sched *s, void __user *up)
{
	struct gmp_wake a;
	struct gmp_m *m;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~GMP_WAKE_FLAGS) || a.result ||
	    !gmp_zero(a.resv, sizeof(a.resv)))
		return -EINVAL;
	if ((a.flags & GMP_WAKE_HANDOFF) && (a.flags & GMP_WAKE_PROC))
		return -EINVAL;
	if (!(a.flags & GMP_WAKE_PROC) && a.p)
		return -EINVAL;
	if (a.flags & GMP_WAKE_TARGET) {
		if (a.target < 0 || a.target >= GMP_MAX_M)
			return -EINVAL;
	} else if (a.target) {
		return -EINVAL;
	}
	m = gmp_m_self(s, a.m);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = gmp_wake(s, m, &a);
	trace_gmp_wake(s->id, m->id, a.flags, ret, a.result, a.p, a.target);
	if (ret)
		return ret;
	return copy_to_user(up, &a, sizeof(a)) ? -EFAULT : 0;
}

static long gmp_ioc_proc(struct gmp_sched *s, void __user *up, bool acquire)
{
	struct gmp_procarg a;
	struct gmp_m *m;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.resv || (a.flags & ~(acquire ? GMP_ACQUIRE_FLAGS : 0)))
		return -EINVAL;
	if (a.p != GMP_NONE && (a.p < 0 || a.p >= READ_ONCE(s->nallp)))
		return -EINVAL;
	m = gmp_m_self(s, a.m);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (!acquire)
		return gmp_release_p(s, m, &a);
	ret = gmp_acquire_p(s, m, &a);
	if (ret)
		return ret;
	return copy_to_user(up, &a, sizeof(a)) ? -EFAULT : 0;
}

static long gmp_ioc_runq(struct gmp_sched *s, void __user *up, bool put)
{
	struct gmp_runq a;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.resv || (a.flags & ~(put ? GMP_RUNQ_FLAGS : 0)))
		return -EINVAL;
	if (put) {
		if (!a.n || a.n > GMP_RUNQ_BATCH_MAX)
			return -EINVAL;
		return gmp_runq_put(s, &a);
	}
	ret = gmp_runq_get(s, &a);
	if (ret)
		return ret;
	return put_user(a.n, &((struct gmp_runq __user *)up)->n);
}

static long gmp_ioc_newm(struct gmp_sched *s, void __user *up)
{
	struct gmp_newm a;
	struct gmp_m *m;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.resv || a.p)
		return -EINVAL;
	m = gmp_m_self(s, a.m);
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = gmp_newm_wait(s, m, &a);
	if (ret)
		return ret;
	return copy_to_user(up, &a, sizeof(a)) ? -EFAULT : 0;
}

static long gmp_ioc_trace(struct gmp_sched *s, void __user *up)
{
	struct gmp_trace a;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~GMP_TRACE_FLAGS) || !gmp_zero(a.resv, sizeof(a.resv)))
		return -EINVAL;
	ret = gmp_schedtrace(s, &a);
	if (ret)
		return ret;
	return put_user(a.len, &((struct gmp_trace __user *)up)->len);
}

static long gmp_ioc_sysmon(struct gmp_sched *s, void __user *up)
{
	struct gmp_sysmon a;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if (a.flags || a.resv || !gmp_zero(a.resv2, sizeof(a.resv2)))
		return -EINVAL;
	return gmp_sysmon(s);
}

static long gmp_ioc_procresize(struct gmp_sched *s, void __user *up)
{
	struct gmp_procresize a;
	int ret;

	if (copy_from_user(&a, up, sizeof(a)))
		return -EFAULT;
	if ((a.flags & ~GMP_RESIZE_FLAGS) || a.dflt || a.resv)
		return -EINVAL;
	ret = gmp_procresize(s, &a);
	if (ret)
		return ret;
	/* The resize is done even if this copy fails. */
	return copy_to_user(up, &a, sizeof(a)) ? -EFAULT : 0;
}

static long gmp_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct gmp_sched *s = file->private_data;
	void __user *up = (void __user *)arg;

	switch (cmd) {
	case GMP_IOC_SETUP:
	case GMP_IOC_REGISTER:
	case GMP_IOC_UNREGISTER:
	case GMP_IOC_PARK:
	case GMP_IOC_WAKE:
	case GMP_IOC_ACQUIRE_P:
	case GMP_IOC_RELEASE_P:
	case GMP_IOC_RUNQ_PUT:
	case GMP_IOC_RUNQ_GET:
	case GMP_IOC_NEWM_WAIT:
	case GMP_IOC_SCHEDTRACE:
	case GMP_IOC_SYSMON:
	case GMP_IOC_PROCRESIZE:
		break;
	default:
		return -ENOTTY;
	}
	if (!gmp_is_owner(s))
		return -EPERM;
	if (cmd == GMP_IOC_SETUP)
		return gmp_ioc_setup(s, up);
	/* Pairs with the release in gmp_sched_setup(): Ps and pages exist. */
	if (!smp_load_acquire(&s->ready))
		return -EBADFD;
	if (READ_ONCE(s->dead))
		return -ESHUTDOWN;
	/*
	 * The call itself: the Ms are threads of one process, so the VFS took
	 * a reference on this file for it (fdget sees a shared file table),
	 * and drops it after: the file's count line, written by every CPU
	 * that calls.
	 */
	gmp_shared_w(s);

	switch (cmd) {
	case GMP_IOC_REGISTER:
		return gmp_ioc_register(s, up);
	case GMP_IOC_UNREGISTER:
		return gmp_ioc_unregister(s, up);
	case GMP_IOC_PARK:
		return gmp_ioc_park(s, up);
	case GMP_IOC_WAKE:
		return gmp_ioc_wake(s, up);
	case GMP_IOC_ACQUIRE_P:
		return gmp_ioc_proc(s, up, true);
	case GMP_IOC_RELEASE_P:
		return gmp_ioc_proc(s, up, false);
	case GMP_IOC_RUNQ_PUT:
		return gmp_ioc_runq(s, up, true);
	case GMP_IOC_RUNQ_GET:
		return gmp_ioc_runq(s, up, false);
	case GMP_IOC_NEWM_WAIT:
		return gmp_ioc_newm(s, up);
	case GMP_IOC_SYSMON:
		return gmp_ioc_sysmon(s, up);
	case GMP_IOC_PROCRESIZE:
		return gmp_ioc_procresize(s, up);
	default:
		return gmp_ioc_trace(s, up);
	}
}

static const struct file_operations gmp_fops = {
	.owner = THIS_MODULE,
	.open = gmp_open,
	.flush = gmp_flush,
	.release = gmp_release,
	.mmap = gmp_mmap,
	.unlocked_ioctl = gmp_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/*
 * The mode devtmpfs creates /dev/gmp with, owner root:root.  0600: each
 * instance costs the kernel memory and a sysmon, so who may open one is the
 * administrator's choice, made in udev (the installed rule gives group gmp
 * 0660, as /dev/kvm's does) or here (dev_mode=0666 opens it to everyone).
 * Octal, permission bits only.
 */
static u16 dev_mode = 0600;

static int dev_mode_set(const char *val, const struct kernel_param *kp)
{
	u16 mode;
	int ret = kstrtou16(val, 8, &mode);

	if (ret)
		return ret;
	if (mode & ~0777)
		return -EINVAL;
	*(u16 *)kp->arg = mode;
	return 0;
}

static int dev_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%04o\n", *(u16 *)kp->arg);
}

static const struct kernel_param_ops dev_mode_ops = {
	.set = dev_mode_set,
	.get = dev_mode_get,
};
module_param_cb(dev_mode, &dev_mode_ops, &dev_mode, 0444);
MODULE_PARM_DESC(dev_mode, "mode of /dev/gmp, octal (default 0600; udev may change it)");

static struct miscdevice gmp_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "gmp",
	.fops = &gmp_fops,
};

static int __init gmp_init(void)
{
	int ret;

	ret = gmp_sched_init();
	if (ret)
		return ret;
	gmp_user_init();
	gmp_block_init();
	gmp_cpulimit_init();
	gmp_misc.mode = dev_mode;
	gmp_debugfs_init();
	ret = misc_register(&gmp_misc);
	if (ret) {	/* else the next load finds gmp/ in its way */
		gmp_debugfs_exit();
		gmp_cpulimit_exit();
		gmp_block_exit();
		gmp_user_exit();
		gmp_sched_exit();
	}
	return ret;
}

/* No instance is left: each holds the module until it is freed. */
static void __exit gmp_exit(void)
{
	misc_deregister(&gmp_misc);
	gmp_debugfs_exit();
	gmp_cpulimit_exit();
	gmp_block_exit();
	gmp_user_exit();
	gmp_sched_exit();
}

module_init(gmp_init);
module_exit(gmp_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("gmp: Go's G-M-P scheduler state for C runtimes");
MODULE_AUTHOR("The gmp authors");
MODULE_VERSION(GMP_VERSION);
