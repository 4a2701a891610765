/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the gmp.ko selftests: open and set up an instance, map its
 * shared regions (pointers computed from the offsets SETUP answers with),
 * register Ms, and thin wrappers of every ioctl that return 0 or -errno.
 */
#ifndef GMP_UTIL_H
#define GMP_UTIL_H

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/gmp.h>
#include "vm_util.h"

/*
 * The harness's EXPECT_*() end in a for clause of their own, which gcc
 * takes for a misleadingly indented body of whatever statement follows.
 */
#pragma GCC diagnostic ignored "-Wmisleading-indentation"

struct gmp_inst {
	int fd;
	struct gmp_params prm;
	uint8_t *sched;		/* GMP_OFF_SCHED, read-only */
	uint8_t *procs;		/* GMP_OFF_PROCS, read-write */
	uint8_t *ms;		/* GMP_OFF_MS, read-write: M slots */
	pthread_t sysmon;	/* gmp_sysmon_start() */
	int sysmon_on;
};

static inline int gmp_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* Liveness bound for anything the tests wait for (never a pass/fail timing). */
#define GMP_LIVENESS_MS	5000

/*
 * SKIP() from a FIXTURE_SETUP.  The kselftest harness of 6.1 runs the test
 * body after a set-up that skipped (it checks only for failure), so jump
 * back to the wrapper as a failed ASSERT does: neither the body nor the
 * teardown runs, and the case is reported skipped.
 */
#define SETUP_SKIP(fmt, ...) SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)

/*
 * Poll @cond every 100 us until it holds or GMP_LIVENESS_MS pass.
 * Return: whether it held.
 */
#define GMP_WAIT_UNTIL(cond) ({						\
	uint64_t __end = gmp_mono_ns() + GMP_LIVENESS_MS * 1000000ull;	\
	bool __ok;							\
	while (!(__ok = (cond)) && gmp_mono_ns() < __end)		\
		usleep(100);						\
	__ok;								\
})

static inline uint64_t gmp_mono_ns(void)
{
	struct timespec ts;

	/*
	 * Where the read is a system call, fault injection (fail_usercopy in
	 * gmp_fault_test) can fail its copy-out and leave @ts unset.
	 */
	while (clock_gettime(CLOCK_MONOTONIC, &ts))
		;
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline pid_t gmp_gettid(void)
{
	return syscall(SYS_gettid);
}

/* Open /dev/gmp, set up @nprocs Ps (0: one per CPU) and map both regions. */
static inline int gmp_inst_open(struct gmp_inst *g, unsigned int nprocs,
				unsigned int flags)
{
	memset(g, 0, sizeof(*g));
	g->fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);
	if (g->fd < 0)
		return -errno;
	g->prm.nprocs = nprocs;
	g->prm.flags = flags;
	if (gmp_ioctl(g->fd, GMP_IOC_SETUP, &g->prm))
		return -errno;
	g->sched = mmap(NULL, g->prm.sched.size, PROT_READ, MAP_SHARED, g->fd,
			GMP_OFF_SCHED);
	if (g->sched == MAP_FAILED)
		return -errno;
	g->procs = mmap(NULL, g->prm.procs.size, PROT_READ | PROT_WRITE,
			MAP_SHARED, g->fd, GMP_OFF_PROCS);
	if (g->procs == MAP_FAILED)
		return -errno;
	g->ms = mmap(NULL, g->prm.ms.size, PROT_READ | PROT_WRITE,
		     MAP_SHARED, g->fd, GMP_OFF_MS);
	if (g->ms == MAP_FAILED)
		return -errno;
	return 0;
}

static inline int gmp_sysmon_call(struct gmp_inst *g)
{
	struct gmp_sysmon a = { 0 };

	return ioctl(g->fd, GMP_IOC_SYSMON, &a) < 0 ? -errno : 0;
}

/* A thread that runs sysmon (GMP_IOC_SYSMON) until the instance closes. */
static inline void *gmp_sysmon_fn(void *arg)
{
	struct gmp_inst *g = arg;

	while (gmp_sysmon_call(g) == -EINTR)
		;
	return NULL;
}

/*
 * Start sysmon for @g (the runtime always runs one; tests of retakes,
 * preemption and block handoffs need it).  gmp_inst_close() joins it.
 */
static inline int gmp_sysmon_start(struct gmp_inst *g)
{
	int ret = pthread_create(&g->sysmon, NULL, gmp_sysmon_fn, g);

	if (!ret)
		g->sysmon_on = 1;
	return ret;
}

static inline void gmp_inst_close(struct gmp_inst *g)
{
	if (g->sched && g->sched != MAP_FAILED)
		munmap(g->sched, g->prm.sched.size);
	if (g->procs && g->procs != MAP_FAILED)
		munmap(g->procs, g->prm.procs.size);
	if (g->ms && g->ms != MAP_FAILED)
		munmap(g->ms, g->prm.ms.size);
	if (g->fd >= 0)
		close(g->fd);	/* shuts down: sysmon returns ESHUTDOWN */
	if (g->sysmon_on)
		pthread_join(g->sysmon, NULL);
	g->sysmon_on = 0;
	g->fd = -1;
	g->sched = NULL;
	g->procs = NULL;
	g->ms = NULL;
}

/* M @m's slot words (GMP_OFF_MS). */
static inline uint32_t *gmp_m_inruntime(struct gmp_inst *g, uint32_t m)
{
	return (uint32_t *)(g->ms + (size_t)m * g->prm.ms.slot_size +
			    g->prm.ms.inruntime);
}

static inline int32_t gmp_m_slot_p(struct gmp_inst *g, uint32_t m)
{
	return __atomic_load_n((int32_t *)(g->ms + (size_t)m * g->prm.ms.slot_size +
					   g->prm.ms.p), __ATOMIC_ACQUIRE);
}

/* Shared counters (read-only region). */
#define GMP_SCHED_U32(g, field) \
	__atomic_load_n((uint32_t *)((g)->sched + (g)->prm.sched.field), __ATOMIC_ACQUIRE)

static inline uint32_t *gmp_nmspinning(struct gmp_inst *g)
{
	return (uint32_t *)(g->procs + g->prm.procs.nmspinning);
}

static inline uint8_t *gmp_p_base(struct gmp_inst *g, int p)
{
	return g->procs + g->prm.procs.p0 + (size_t)p * g->prm.procs.p_stride;
}

#define GMP_P_FIELD(g, p, field, type) \
	((type *)(gmp_p_base(g, p) + (g)->prm.procs.field))

/* P @p's status word, as user space must CAS it. */
static inline uint32_t *gmp_p_status(struct gmp_inst *g, int p)
{
	return GMP_P_FIELD(g, p, status, uint32_t);
}

static inline uint32_t gmp_p_load(struct gmp_inst *g, int p, uint32_t off)
{
	return __atomic_load_n((uint32_t *)(gmp_p_base(g, p) + off),
			       __ATOMIC_ACQUIRE);
}

/* Go's runqput on P @p's ring, as the owner M does it: no syscall. */
static inline void gmp_ring_put(struct gmp_inst *g, int p, uint64_t gh)
{
	uint32_t *tailp = GMP_P_FIELD(g, p, runqtail, uint32_t);
	uint64_t *ring = GMP_P_FIELD(g, p, runq, uint64_t);
	uint32_t t = __atomic_load_n(tailp, __ATOMIC_RELAXED);

	ring[t % g->prm.runq_size] = gh;
	__atomic_store_n(tailp, t + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* (A) */
}

/* Go's runqget: take one G from P @p's ring (any M, CAS on head); 0 if empty. */
static inline uint64_t gmp_ring_get(struct gmp_inst *g, int p)
{
	uint32_t *headp = GMP_P_FIELD(g, p, runqhead, uint32_t);
	uint32_t *tailp = GMP_P_FIELD(g, p, runqtail, uint32_t);
	uint64_t *ring = GMP_P_FIELD(g, p, runq, uint64_t);

	for (;;) {
		uint32_t h = __atomic_load_n(headp, __ATOMIC_ACQUIRE);
		uint32_t t = __atomic_load_n(tailp, __ATOMIC_ACQUIRE);
		uint64_t gh;

		if (h == t)
			return 0;
		gh = ring[h % g->prm.runq_size];
		if (__atomic_compare_exchange_n(headp, &h, h + 1, false,
						__ATOMIC_RELEASE,
						__ATOMIC_RELAXED))
			return gh;
	}
}

static inline int gmp_register(struct gmp_inst *g, uint32_t *m)
{
	struct gmp_register r = { 0 };
	int ret = gmp_ioctl(g->fd, GMP_IOC_REGISTER, &r);

	if (!ret)
		*m = r.m;
	return ret;
}

static inline int gmp_register_claim(struct gmp_inst *g, int p, uint32_t *m)
{
	struct gmp_register r = { .flags = GMP_REGISTER_CLAIM, .p = p };
	int ret = gmp_ioctl(g->fd, GMP_IOC_REGISTER, &r);

	if (!ret)
		*m = r.m;
	return ret;
}

static inline int gmp_unregister(struct gmp_inst *g, uint32_t m)
{
	struct gmp_unregister a = { .m = m };

	return gmp_ioctl(g->fd, GMP_IOC_UNREGISTER, &a);
}

static inline int gmp_newm_wait(struct gmp_inst *g, uint32_t m, int *p)
{
	struct gmp_newm a = { .m = m };
	int ret = gmp_ioctl(g->fd, GMP_IOC_NEWM_WAIT, &a);

	if (!ret && p)
		*p = a.p;
	return ret;
}

static inline int gmp_acquire_flags(struct gmp_inst *g, uint32_t m, int want,
				    uint32_t flags, int *p)
{
	struct gmp_procarg a = { .m = m, .p = want, .flags = flags };
	int ret = gmp_ioctl(g->fd, GMP_IOC_ACQUIRE_P, &a);

	if (!ret && p)
		*p = a.p;
	return ret;
}

static inline int gmp_acquire(struct gmp_inst *g, uint32_t m, int want, int *p)
{
	struct gmp_procarg a = { .m = m, .p = want };
	int ret = gmp_ioctl(g->fd, GMP_IOC_ACQUIRE_P, &a);

	if (!ret && p)
		*p = a.p;
	return ret;
}

static inline int gmp_release(struct gmp_inst *g, uint32_t m, int p)
{
	struct gmp_procarg a = { .m = m, .p = p };

	return gmp_ioctl(g->fd, GMP_IOC_RELEASE_P, &a);
}

static inline int gmp_park(struct gmp_inst *g, uint32_t m, uint32_t flags,
			   uint64_t deadline, struct gmp_park *out)
{
	struct gmp_park a = { .m = m, .flags = flags, .deadline = deadline };
	int ret = gmp_ioctl(g->fd, GMP_IOC_PARK, &a);

	if (ret)
		a.p = GMP_NONE;
	if (out)
		*out = a;
	return ret;
}

static inline int gmp_wake(struct gmp_inst *g, uint32_t m, uint32_t flags,
			   int p, int target, struct gmp_wake *out)
{
	struct gmp_wake a = { .m = m, .flags = flags, .p = p, .target = target };
	int ret = gmp_ioctl(g->fd, GMP_IOC_WAKE, &a);

	if (out)
		*out = a;
	return ret;
}

/* GMP_IOC_PROCRESIZE: Ps in force to @n (0: read).  Return: Ps before, or -errno. */
static inline int gmp_procresize(struct gmp_inst *g, uint32_t n)
{
	struct gmp_procresize a = { .nprocs = n };
	int ret = gmp_ioctl(g->fd, GMP_IOC_PROCRESIZE, &a);

	return ret ? ret : (int)a.nprocs;
}

/* A __u32 of the read-only page, by its offset field (gomaxprocs, npidle...). */
#define GMP_SCHED_WORD(g, field) \
	__atomic_load_n((uint32_t *)((g)->sched + (g)->prm.sched.field), __ATOMIC_ACQUIRE)

static inline int gmp_runq_put(struct gmp_inst *g, const uint64_t *gs, uint32_t n)
{
	struct gmp_runq a = { .gs = (uintptr_t)gs, .n = n };

	return gmp_ioctl(g->fd, GMP_IOC_RUNQ_PUT, &a);
}

static inline int gmp_runq_get(struct gmp_inst *g, uint64_t *gs, uint32_t max,
			       uint32_t *n)
{
	struct gmp_runq a = { .gs = (uintptr_t)gs, .n = max };
	int ret = gmp_ioctl(g->fd, GMP_IOC_RUNQ_GET, &a);

	if (!ret)
		*n = a.n;
	return ret;
}

/* The schedtrace text into @buf (NUL-terminated). */
static inline int gmp_schedtrace(struct gmp_inst *g, char *buf, size_t len,
				 int detail)
{
	struct gmp_trace t = { .buf = (uintptr_t)buf, .len = len - 1,
			       .flags = detail ? GMP_TRACE_DETAIL : 0 };
	int ret = gmp_ioctl(g->fd, GMP_IOC_SCHEDTRACE, &t);

	buf[ret ? 0 : t.len] = 0;
	return ret;
}

/* Value of "key=" in the schedtrace's first line, or -1. */
static inline long gmp_trace_val(const char *text, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(text, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

/*
 * A thread that registers as an M, optionally acquires a P, then parks once
 * (or @loops times, handing its P back with each return).  Its results are
 * read by the main thread after gmp_parker_join(): helper threads never
 * ASSERT (the harness's ASSERT longjmps on the main thread's stack).
 */
struct gmp_parker {
	struct gmp_inst *g;
	pthread_t t;
	uint32_t flags;		/* GMP_PARK_* */
	uint64_t deadline;
	int acquire;		/* acquire any P before parking */
	volatile uint32_t m;
	int gated;		/* wait for @gate before parking */
	int linger;		/* stay alive after park until @leave */
	volatile int leave;
	volatile int gate;
	volatile int registered;
	volatile int parking;	/* about to call park */
	volatile int done;
	volatile pid_t tid;
	int reg_ret;
	int acq_ret;
	int ret;		/* park's 0 / -errno */
	struct gmp_park out;
};

static inline void *gmp_parker_fn(void *arg)
{
	struct gmp_parker *pk = arg;
	uint32_t m;

	pk->tid = gmp_gettid();
	pk->reg_ret = gmp_register(pk->g, &m);
	if (pk->reg_ret) {
		pk->done = 1;
		return NULL;
	}
	pk->m = m;
	__atomic_store_n(&pk->registered, 1, __ATOMIC_RELEASE);
	if (pk->acquire)
		pk->acq_ret = gmp_acquire(pk->g, m, GMP_NONE, NULL);
	while (pk->gated && !__atomic_load_n(&pk->gate, __ATOMIC_ACQUIRE))
		usleep(100);
	pk->parking = 1;
	pk->ret = gmp_park(pk->g, m, pk->flags, pk->deadline, &pk->out);
	__atomic_store_n(&pk->done, 1, __ATOMIC_RELEASE);
	/* A thread that exits holding a P has it taken back by sysmon. */
	while (pk->linger && !__atomic_load_n(&pk->leave, __ATOMIC_ACQUIRE))
		usleep(100);
	return NULL;
}

static inline int gmp_parker_start(struct gmp_parker *pk, struct gmp_inst *g)
{
	pk->g = g;
	return pthread_create(&pk->t, NULL, gmp_parker_fn, pk);
}

static inline int gmp_parker_join(struct gmp_parker *pk)
{
	__atomic_store_n(&pk->leave, 1, __ATOMIC_RELEASE);
	return pthread_join(pk->t, NULL);
}

#endif /* GMP_UTIL_H */
