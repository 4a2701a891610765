// SPDX-License-Identifier: GPL-2.0
/*
 * libgmprt: the interface to gmp.ko.
 *
 * gmprt_kernel_open() sets the instance up and maps its two shared regions,
 * computing every pointer from the offsets GMP_IOC_SETUP answers with (the
 * layout is the kernel's to choose).  The rest are thin wrappers of the
 * ioctls that return 0 or -errno; they are the only places the runtime
 * enters the kernel, so each is a slow path by construction.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "runtime.h"

/* struct gmp_params has a field named sched: no shorthand in this file. */
#undef sched
#define rt gmprt_sched

static int kioctl(unsigned long cmd, void *arg)
{
	int saved = errno, ret;

	ret = ioctl(rt.fd, cmd, arg) < 0 ? -errno : 0;
	errno = saved;
	return ret;
}

#define KPTR(base, off)	((void *)((char *)(base) + (off)))

/*
 * gmprt_p_init() - point @pp at P @id's slot in a mapped GMP_OFF_PROCS
 * region, described by @prm.
 */
void gmprt_p_init(struct p *pp, void *procs_map, const struct gmp_params *prm,
		  int id)
{
	const struct gmp_procs_offsets *po = &prm->procs;
	char *base = (char *)procs_map + po->p0 + (size_t)id * po->p_stride;

	pp->id = id;
	pp->kstatus = KPTR(base, po->status);
	pp->kschedtick = KPTR(base, po->schedtick);
	pp->ksyscalltick = KPTR(base, po->syscalltick);
	pp->kpreempt = KPTR(base, po->preempt);
	pp->krunqhead = KPTR(base, po->runqhead);
	pp->krunqtail = KPTR(base, po->runqtail);
	pp->krunnext = KPTR(base, po->runnext);
	pp->krunq = KPTR(base, po->runq);
	pp->ktimer0when = KPTR(base, po->timer0when);
	/* Read where it is used: a P not made yet has no page to read. */
	pp->kcpu = KPTR(base, po->cpu);
}

/* Point M @mp at its slot in the GMP_OFF_MS region (after REGISTER). */
void gmprt_k_mslot(struct m *mp)
{
	const struct gmp_ms_offsets *mo = &rt.prm.ms;
	char *slot = (char *)rt.kms_map + (size_t)mp->id * mo->slot_size;

	mp->kinruntime = KPTR(slot, mo->inruntime);
	mp->kslotp = KPTR(slot, mo->p);
}

static int kernel_open(int nprocs, unsigned int flags);

/*
 * Open /dev/gmp and set up @nprocs Ps.  Return: 0 or -errno, with a message
 * on stderr saying what to do; on error nothing is left open or mapped, so
 * that gmprt_main() can return it and the program go on without gmp.
 */
int gmprt_kernel_open(int nprocs, unsigned int flags)
{
	int err = kernel_open(nprocs, flags);

	if (!err)
		return 0;
	if (rt.ksched_map && rt.ksched_map != MAP_FAILED)
		munmap(rt.ksched_map, rt.prm.sched.size);
	if (rt.kprocs_map && rt.kprocs_map != MAP_FAILED)
		munmap(rt.kprocs_map, rt.prm.procs.size);
	if (rt.kms_map && rt.kms_map != MAP_FAILED)
		munmap(rt.kms_map, rt.prm.ms.size);
	rt.ksched_map = rt.kprocs_map = rt.kms_map = NULL;
	if (rt.fd >= 0)
		close(rt.fd);
	rt.fd = -1;
	return err;
}

static int kernel_open(int nprocs, unsigned int flags)
{
	struct gmp_params *prm = &rt.prm;
	struct gmp_procs_offsets *po = &prm->procs;
	int i, err;

	rt.fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);
	if (rt.fd < 0) {
		/* One line, saying what to do on an installed system. */
		err = -errno;
		if (err == -ENOENT || err == -ENXIO || err == -ENODEV)
			fprintf(stderr, "gmprt: cannot open /dev/gmp: %s: the gmp module is not loaded (modprobe gmp, as root)\n",
				strerror(-err));
		else if (err == -EMFILE)
			fprintf(stderr, "gmprt: cannot open /dev/gmp: too many gmp instances for this user (gmp.ko's max_user_instances)\n");
		else if (err == -EACCES)	/* gmp(4): 0600 unless udev says otherwise */
			fprintf(stderr, "gmprt: cannot open /dev/gmp: %s: join group gmp (the udev rule of make install-module), or load gmp.ko with dev_mode=0666\n",
				strerror(-err));
		else
			fprintf(stderr, "gmprt: cannot open /dev/gmp: %s\n", strerror(-err));
		return err;
	}
	memset(prm, 0, sizeof(*prm));
	prm->nprocs = nprocs;
	/*
	 * The runtime always runs a template thread and a sysmon thread
	 * (proc.c), and keeps the M slot protocol (rt_enter), so gmp.ko may
	 * hand off the Ps of Ms that block or run a G too long.
	 */
	(void)flags;
#ifdef GMPRT_NO_HANDOFF
	prm->flags = GMP_SETUP_TEMPLATE;	/* bench/'s variant: see runtime.h */
#else
	prm->flags = GMP_SETUP_TEMPLATE | GMP_SETUP_HANDOFF;
#endif
	/* gmprt_set_nprocs() needs it; a gmp.ko without it is told below. */
	prm->flags |= GMP_SETUP_RESIZE;
	err = kioctl(GMP_IOC_SETUP, prm);
	if (err == -EINVAL) {
		prm->flags &= ~GMP_SETUP_RESIZE;
		err = kioctl(GMP_IOC_SETUP, prm);
	}
	if (err) {
		fprintf(stderr, "gmprt: GMP_IOC_SETUP: %s%s\n", strerror(-err),
			err == -ENOMEM ? " (or beyond RLIMIT_MEMLOCK: ulimit -l)" : "");
		return err;
	}
#define NEEDED	(GMP_FEAT_TIMERS | GMP_FEAT_TEMPLATE | GMP_FEAT_HANDOFF | \
		 GMP_FEAT_SYSMON | GMP_FEAT_CPUS | GMP_FEAT_LOCKED | \
		 GMP_FEAT_RESIZE)
	if ((prm->features & NEEDED) != NEEDED) {
		fprintf(stderr, "gmprt: this gmp.ko is older than libgmprt; rebuild it\n");
		return -EPROTO;
	}
	if (prm->runq_size != GMP_RUNQ_SIZE) {
		fprintf(stderr, "gmprt: gmp.ko's run queue has %u slots, libgmprt expects %u\n",
			prm->runq_size, GMP_RUNQ_SIZE);
		return -EPROTO;
	}
	rt.ksched_map = mmap(NULL, prm->sched.size, PROT_READ, MAP_SHARED,
				rt.fd, GMP_OFF_SCHED);
	rt.kprocs_map = mmap(NULL, po->size, PROT_READ | PROT_WRITE,
				MAP_SHARED, rt.fd, GMP_OFF_PROCS);
	rt.kms_map = mmap(NULL, prm->ms.size, PROT_READ | PROT_WRITE,
			  MAP_SHARED, rt.fd, GMP_OFF_MS);
	if (rt.ksched_map == MAP_FAILED || rt.kprocs_map == MAP_FAILED ||
	    rt.kms_map == MAP_FAILED) {
		err = -errno;
		fprintf(stderr, "gmprt: mmap of /dev/gmp: %s\n", strerror(errno));
		return err;
	}
	rt.nmade = prm->nprocs;
	rt.maxprocs = (po->size - po->p0) / po->p_stride;
	rt.kgomaxprocs = KPTR(rt.ksched_map, prm->sched.gomaxprocs);
	rt.knpidle = KPTR(rt.ksched_map, prm->sched.npidle);
	rt.knmidle = KPTR(rt.ksched_map, prm->sched.nmidle);
	rt.krunqsize = KPTR(rt.ksched_map, prm->sched.runqsize);
	rt.knmsys = KPTR(rt.ksched_map, prm->sched.nmsys);
	rt.knmspinning = KPTR(rt.kprocs_map, po->nmspinning);

	/*
	 * Room for every P the range holds; only the Ps made are touched
	 * (zeroed and pointed at their slots here, the rest by a resize).
	 */
	rt.allp = aligned_alloc(64, sizeof(struct p) * rt.maxprocs);
	if (!rt.allp)
		return -ENOMEM;
	for (i = 0; i < rt.nmade; i++) {
		memset(&rt.allp[i], 0, sizeof(struct p));
		gmprt_p_init(&rt.allp[i], rt.kprocs_map, prm, i);
	}
	return 0;
}

int gmprt_k_register(uint32_t *m, int claim_p)
{
	struct gmp_register r = { 0 };
	int err;

	if (claim_p != GMP_NONE) {
		r.flags = GMP_REGISTER_CLAIM;
		r.p = claim_p;
	}
	err = kioctl(GMP_IOC_REGISTER, &r);
	if (!err)
		*m = r.m;
	return err;
}

int gmprt_k_park(struct m *mp, uint32_t flags, uint64_t deadline, int pollfd,
		 struct gmp_park *out)
{
	memset(out, 0, sizeof(*out));
	out->m = mp->id;
	out->flags = flags;
	out->deadline = deadline;
	out->pollfd = pollfd;
	return kioctl(GMP_IOC_PARK, out);
}

int gmprt_k_wake(struct m *mp, uint32_t flags, int p, int target,
		 struct gmp_wake *out)
{
	memset(out, 0, sizeof(*out));
	out->m = mp->id;
	out->flags = flags;
	out->p = (flags & GMP_WAKE_PROC) ? p : 0;
	out->target = (flags & GMP_WAKE_TARGET) ? target : 0;
	return kioctl(GMP_IOC_WAKE, out);
}

/* *@p: the P acquired, or GMP_NONE if none was idle. */
int gmprt_k_acquire(struct m *mp, int want, uint32_t flags, int *p)
{
	struct gmp_procarg a = { .m = mp->id, .p = want, .flags = flags };
	int err = kioctl(GMP_IOC_ACQUIRE_P, &a);

	*p = err ? GMP_NONE : a.p;
	return err;
}

int gmprt_k_release(struct m *mp, int p)
{
	struct gmp_procarg a = { .m = mp->id, .p = p };

	return kioctl(GMP_IOC_RELEASE_P, &a);
}

/* @flags: GMP_RUNQ_WAKE from a thread that holds no P. */
int gmprt_k_runqput(const uint64_t *gs, uint32_t n, uint32_t flags)
{
	struct gmp_runq a = { .gs = (uintptr_t)gs, .n = n, .flags = flags };

	/* The M only for the event: getm() is a call (runtime.h). */
	if (unlikely(trace_on())) {
		struct m *mp = getm();

		traceev(mp, TR_GLOBAL_PUT, 0, TRP(mp), n);
	}
	return kioctl(GMP_IOC_RUNQ_PUT, &a);
}

int gmprt_k_unregister(struct m *mp)
{
	struct gmp_unregister a = { .m = mp->id };

	return kioctl(GMP_IOC_UNREGISTER, &a);
}

/* Return: handles taken, or -errno. */
int gmprt_k_runqget(uint64_t *gs, uint32_t max)
{
	struct gmp_runq a = { .gs = (uintptr_t)gs, .n = max };
	int err = kioctl(GMP_IOC_RUNQ_GET, &a);

	if (!err && a.n && unlikely(trace_on())) {
		struct m *mp = getm();

		traceev(mp, TR_GLOBAL_GET, 0, TRP(mp), a.n);
	}
	return err ? err : (int)a.n;
}

int gmprt_k_newm_wait(struct m *mp, int *p)
{
	struct gmp_newm a = { .m = mp->id };
	int err = kioctl(GMP_IOC_NEWM_WAIT, &a);

	if (!err)
		*p = a.p;
	return err;
}

/* Ps in force to @n (0: none changed).  Return: Ps before, or -errno. */
int gmprt_k_procresize(int n)
{
	struct gmp_procresize a = { .nprocs = (uint32_t)n };
	int err = kioctl(GMP_IOC_PROCRESIZE, &a);

	return err ? err : (int)a.nprocs;
}

/* What nprocs 0 would give the calling thread now.  Return: it, or -errno. */
int gmprt_k_default_nprocs(void)
{
	struct gmp_procresize a = { .flags = GMP_RESIZE_DEFAULT };
	int err = kioctl(GMP_IOC_PROCRESIZE, &a);

	return err ? err : (int)a.dflt;
}

/* Run sysmon's loop on this thread until a signal (-EINTR) or shutdown. */
int gmprt_k_sysmon(void)
{
	struct gmp_sysmon a = { 0 };

	return kioctl(GMP_IOC_SYSMON, &a);
}

int gmprt_schedtrace(char *buf, size_t len, bool detail)
{
	struct gmp_trace t = { .buf = (uintptr_t)buf, .flags = detail ? GMP_TRACE_DETAIL : 0 };
	int err;

	if (!rt.running)
		return -ENODEV;
	if (len < 2)
		return -EINVAL;
	t.len = len - 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(len - 1);
	err = kioctl(GMP_IOC_SCHEDTRACE, &t);
	if (err)
		return err;
	buf[t.len] = 0;
	return (int)t.len;
}
