// SPDX-License-Identifier: GPL-2.0
/*
 * GMP_IOC_SETUP and the argument checks of every ioctl: ENOTTY, EBADFD
 * before setup, EINVAL for unknown flags / non-zero reserved fields /
 * out-of-range ids, EFAULT for bad pointers, EBUSY, and GMP_IOC_REGISTER /
 * UNREGISTER.  Success paths of park/wake/runq live in their own files.
 */
#include <pthread.h>
#include <sched.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

/* The argument tables below override a default field on purpose. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* An address that faults: a page mapped with no access. */
static void *bad_page(void)
{
	return mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int raw_open(void)
{
	return open("/dev/gmp", O_RDWR | O_CLOEXEC);
}

static const unsigned long all_cmds[] = {
	GMP_IOC_REGISTER, GMP_IOC_UNREGISTER, GMP_IOC_PARK, GMP_IOC_WAKE,
	GMP_IOC_ACQUIRE_P, GMP_IOC_RELEASE_P, GMP_IOC_RUNQ_PUT,
	GMP_IOC_RUNQ_GET, GMP_IOC_NEWM_WAIT, GMP_IOC_SCHEDTRACE,
	GMP_IOC_SYSMON,
};

TEST(unknown_command_enotty)
{
	char buf[256] = { 0 };
	struct gmp_inst g;
	int fd = raw_open();

	ASSERT_LE(0, fd);
	/* Wrong number, wrong magic, wrong size, wrong direction. */
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOWR(GMP_IOC_MAGIC, 0x0c, struct gmp_params), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOWR(GMP_IOC_MAGIC, 0x7f, __u32), buf));
	/* The old interface (magic 0xB7, nsfs's and remoteproc's) is gone. */
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOWR(0xB7, 0x00, struct gmp_params), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOWR(0xB8, 0x00, struct gmp_params), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOWR(GMP_IOC_MAGIC, 0x00, __u32), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, _IOR(GMP_IOC_MAGIC, 0x00, struct gmp_params), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(fd, 0, buf));
	close(fd);
	/* The same once set up. */
	ASSERT_EQ(0, gmp_inst_open(&g, 1, 0));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(g.fd, _IOWR(GMP_IOC_MAGIC, 0x0c, struct gmp_params), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(g.fd, _IOW(GMP_IOC_MAGIC, 0x02, __u32), buf));
	EXPECT_EQ(-ENOTTY, gmp_ioctl(g.fd, _IOW(GMP_IOC_MAGIC, 0x0b, __u64), buf));
	gmp_inst_close(&g);
}

TEST(before_setup_ebadfd)
{
	char buf[256] = { 0 };
	unsigned int i;
	void *p;
	int fd = raw_open();

	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(all_cmds) / sizeof(all_cmds[0]); i++) {
		EXPECT_EQ(-EBADFD, gmp_ioctl(fd, all_cmds[i], buf))
			TH_LOG("cmd %#lx", all_cmds[i]);
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, GMP_OFF_SCHED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);
	close(fd);
}

TEST(setup_einval)
{
	struct gmp_params prm;
	int fd = raw_open();

	ASSERT_LE(0, fd);
#define TRY(field, val) do {						\
		memset(&prm, 0, sizeof(prm));				\
		prm.nprocs = 1;						\
		prm.field = val;					\
		EXPECT_EQ(-EINVAL, gmp_ioctl(fd, GMP_IOC_SETUP, &prm))	\
			TH_LOG("%s", #field);				\
	} while (0)
	TRY(flags, ~GMP_SETUP_FLAGS);
	TRY(flags, 1U << 31);
	TRY(resv[0], 1);
	TRY(resv[7], 1ull << 63);
	TRY(nprocs, GMP_MAX_PROCS + 1);
	TRY(nprocs, ~0U);
	/* Out-only fields must come in zero (reserved for growth). */
	TRY(features, 1);
	TRY(instance, 1);
	TRY(runq_size, 1);
	TRY(max_m, 1);
	TRY(global_runq_max, 1);
	TRY(block_grace_us, 1);
	TRY(sched.resv[1], 1);
	TRY(procs.resv[1], 1);
	TRY(procs.timer0when, 8);
	TRY(procs.runq, 8);
	TRY(procs.cpu, 8);
	TRY(ms.slot_size, 64);
	TRY(ms.resv[3], 1);
#undef TRY
	/* None of that set the instance up. */
	EXPECT_EQ(-EBADFD, gmp_ioctl(fd, GMP_IOC_REGISTER, &prm));
	/* A good one still works, once. */
	memset(&prm, 0, sizeof(prm));
	prm.nprocs = 2;
	ASSERT_EQ(0, gmp_ioctl(fd, GMP_IOC_SETUP, &prm));
	ASSERT_EQ(2, prm.nprocs);
	memset(&prm, 0, sizeof(prm));
	EXPECT_EQ(-EBUSY, gmp_ioctl(fd, GMP_IOC_SETUP, &prm));
	close(fd);
}

TEST(setup_efault)
{
	void *bad = bad_page();
	struct gmp_params *ro;
	int fd = raw_open();

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, bad);
	EXPECT_EQ(-EFAULT, gmp_ioctl(fd, GMP_IOC_SETUP, NULL));
	EXPECT_EQ(-EFAULT, gmp_ioctl(fd, GMP_IOC_SETUP, bad));
	EXPECT_EQ(-EFAULT, gmp_ioctl(fd, GMP_IOC_SETUP, (void *)-4096L));
	/* Readable but not writable: the answer cannot be copied out. */
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, gmp_ioctl(fd, GMP_IOC_SETUP, ro));
	close(fd);
}

/*
 * nprocs 0 is Go's default GOMAXPROCS: one P per CPU the opener may run on
 * (its affinity mask, as the kernel bounds it by its cpuset).
 */
TEST(setup_default_nprocs)
{
	struct gmp_inst g;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t all, one;

	ASSERT_EQ(0, gmp_inst_open(&g, 0, 0));
	EXPECT_EQ(ncpu, g.prm.nprocs);
	EXPECT_EQ(ncpu, GMP_SCHED_U32(&g, gomaxprocs));
	gmp_inst_close(&g);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	CPU_ZERO(&one);
	CPU_SET(ncpu - 1, &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	ASSERT_EQ(0, gmp_inst_open(&g, 0, 0));
	EXPECT_EQ(1, g.prm.nprocs);
	EXPECT_EQ(ncpu - 1, *GMP_P_FIELD(&g, 0, cpu, int32_t));
	gmp_inst_close(&g);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
	/* A cap, not an error, is GMP_MAX_PROCS itself. */
	ASSERT_EQ(0, gmp_inst_open(&g, GMP_MAX_PROCS, 0));
	EXPECT_EQ(GMP_MAX_PROCS, g.prm.nprocs);
	EXPECT_EQ(GMP_MAX_PROCS, GMP_SCHED_U32(&g, npidle));
	gmp_inst_close(&g);
}

FIXTURE(setup) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(setup) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(setup, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(setup, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(setup, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(setup)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(setup)
{
	gmp_inst_close(&self->g);
}

/* What SETUP answers, and the state every P starts in. */
TEST_F(setup, answer_and_initial_state)
{
	struct gmp_params *prm = &self->g.prm;
	int i;

	EXPECT_EQ(variant->nprocs, prm->nprocs);
	EXPECT_EQ(GMP_FEAT_PARK_DEADLINE | GMP_FEAT_SYSMON | GMP_FEAT_NEWM |
		  GMP_FEAT_TRACE | GMP_FEAT_TIMERS | GMP_FEAT_TEMPLATE |
		  GMP_FEAT_HANDOFF | GMP_FEAT_CPUS | GMP_FEAT_LOCKED | GMP_FEAT_RESIZE |
		  GMP_FEAT_POLL,
		  prm->features);
	EXPECT_EQ(GMP_RUNQ_SIZE, prm->runq_size);
	EXPECT_EQ(GMP_MAX_M, prm->max_m);
	EXPECT_EQ(1U << 22, prm->global_runq_max);
	EXPECT_LT(0, prm->block_grace_us);
	EXPECT_EQ(64, prm->ms.slot_size);
	EXPECT_LE(GMP_MAX_M * 64, prm->ms.size);
	/* The caller's own slot: in the runtime (nothing taken), no P. */
	EXPECT_EQ(1, *gmp_m_inruntime(&self->g, self->m));
	EXPECT_EQ(GMP_NONE, gmp_m_slot_p(&self->g, self->m));
	EXPECT_EQ(variant->nprocs, GMP_SCHED_U32(&self->g, gomaxprocs));
	EXPECT_EQ(variant->nprocs, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, runqsize));
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmsys));
	EXPECT_EQ(0, *gmp_nmspinning(&self->g));
	for (i = 0; i < prm->nprocs; i++) {
		EXPECT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, i));
		EXPECT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, i, m, int32_t));
		EXPECT_EQ(0, *GMP_P_FIELD(&self->g, i, runqhead, uint32_t));
		EXPECT_EQ(0, *GMP_P_FIELD(&self->g, i, runqtail, uint32_t));
		EXPECT_EQ(0, *GMP_P_FIELD(&self->g, i, runnext, uint64_t));
		EXPECT_EQ(0, *GMP_P_FIELD(&self->g, i, preempt, uint32_t));
	}
	/* The instance's debugfs directory is named by the answer. */
	{
		char path[64];

		snprintf(path, sizeof(path), "/sys/kernel/debug/gmp/%u/sched",
			 prm->instance);
		EXPECT_EQ(0, access(path, R_OK));
	}
}

/* ---- REGISTER / UNREGISTER ------------------------------------------- */

TEST_F(setup, register_errors)
{
	struct gmp_register r;
	uint32_t m2;
	void *bad = bad_page();

#define TRY(err, ...) do {						\
		r = (struct gmp_register){ __VA_ARGS__ };		\
		EXPECT_EQ(err, gmp_ioctl(self->g.fd, GMP_IOC_REGISTER, &r)) \
			TH_LOG("%s", #__VA_ARGS__);			\
	} while (0)
	/* The main thread is an M already. */
	TRY(-EBUSY, .flags = 0);
	TRY(-EINVAL, .flags = ~GMP_REGISTER_FLAGS);
	TRY(-EINVAL, .resv = 1);
	TRY(-EINVAL, .m = 1);
	TRY(-EINVAL, .p = 1);			/* p without CLAIM */
	TRY(-EINVAL, .resv2[1] = 1);
	EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, GMP_IOC_REGISTER, NULL));
	EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, GMP_IOC_REGISTER, bad));
	/* Unregister: unknown id, fields, bad pointer; then the thread may come back. */
	{
		struct gmp_unregister u = { .m = GMP_MAX_M };

		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, &u));
		u.m = self->m + 1;
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, &u));
		u = (struct gmp_unregister){ .m = self->m, .flags = 1 };
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, &u));
		u = (struct gmp_unregister){ .m = self->m, .resv = 1 };
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, &u));
	}
	EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, bad));
	EXPECT_EQ(0, gmp_unregister(&self->g, self->m));
	EXPECT_EQ(-EINVAL, gmp_unregister(&self->g, self->m));
	/* Claims of a P that is not reserved for a new M. */
	TRY(-EINVAL, .flags = GMP_REGISTER_CLAIM, .p = 0);
	TRY(-EINVAL, .flags = GMP_REGISTER_CLAIM, .p = -1);
	TRY(-EINVAL, .flags = GMP_REGISTER_CLAIM, .p = variant->nprocs);
#undef TRY
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	EXPECT_EQ(variant->nprocs, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(0, gmp_register(&self->g, &m2));
	EXPECT_EQ(self->m, m2);		/* the lowest free id again */
}

/* Another thread's M id is refused (EPERM) by every call taking one. */
TEST_F(setup, other_threads_m_eperm)
{
	struct gmp_parker pk = { .gated = 1 };
	struct gmp_park a = { 0 };
	struct gmp_wake w = { 0 };
	struct gmp_procarg pa = { .p = GMP_NONE };
	struct gmp_newm nm = { 0 };
	struct gmp_unregister u = { 0 };
	uint32_t id;

	ASSERT_EQ(0, gmp_parker_start(&pk, &self->g));
	ASSERT_TRUE(GMP_WAIT_UNTIL(pk.registered));
	id = pk.m;
	a.m = w.m = pa.m = nm.m = u.m = id;
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_UNREGISTER, &u));
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a));
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_WAKE, &w));
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_ACQUIRE_P, &pa));
	pa.p = 0;
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_RELEASE_P, &pa));
	EXPECT_EQ(-EPERM, gmp_ioctl(self->g.fd, GMP_IOC_NEWM_WAIT, &nm));
	/* Nothing changed: the other M is not parked, every P idle. */
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	EXPECT_EQ(variant->nprocs, GMP_SCHED_U32(&self->g, npidle));
	__atomic_store_n(&pk.gate, 1, __ATOMIC_RELEASE);
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == 1));
	EXPECT_EQ(0, gmp_wake(&self->g, self->m, GMP_WAKE_TARGET, 0, id, NULL));
	ASSERT_EQ(0, gmp_parker_join(&pk));
	EXPECT_EQ(GMP_PARKED_WOKEN, pk.out.result);
}

/* Unknown flags, reserved fields, ids out of range, bad pointers. */
TEST_F(setup, argument_checks)
{
	int n = variant->nprocs;
	void *bad = bad_page();
	struct gmp_park a;
	struct gmp_wake w;
	struct gmp_procarg pa;
	struct gmp_runq rq;
	struct gmp_newm nm;
	struct gmp_trace tr;
	uint64_t gs[4] = { 1, 2, 3, 4 };
	char text[512];
	unsigned int i;

	for (i = 0; i < sizeof(all_cmds) / sizeof(all_cmds[0]); i++) {
		EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, all_cmds[i], NULL));
		EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, all_cmds[i], bad));
	}

#define PARK(...) do {							\
		a = (struct gmp_park){ .m = self->m, __VA_ARGS__ };	\
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_PARK, &a)) \
			TH_LOG("park %s", #__VA_ARGS__);		\
	} while (0)
	PARK(.flags = ~GMP_PARK_FLAGS);
	PARK(.flags = 1U << 31);
	PARK(.pollfd = 1);
	PARK(.result = 1);
	PARK(.oflags = 1);
	PARK(.p = 1);
	PARK(.deadline = 1);		/* deadline without the flag */
	PARK(.m = self->m + 1);		/* no such M */
	PARK(.m = ~0U);
#undef PARK

#define WAKE(err, ...) do {						\
		w = (struct gmp_wake){ .m = self->m, __VA_ARGS__ };	\
		EXPECT_EQ(err, gmp_ioctl(self->g.fd, GMP_IOC_WAKE, &w))	\
			TH_LOG("wake %s", #__VA_ARGS__);		\
	} while (0)
	WAKE(-EINVAL, .flags = ~GMP_WAKE_FLAGS);
	WAKE(-EINVAL, .result = 1);
	WAKE(-EINVAL, .resv[2] = 1);
	WAKE(-EINVAL, .flags = GMP_WAKE_HANDOFF | GMP_WAKE_PROC);
	WAKE(-EINVAL, .p = 1);				/* p without PROC */
	WAKE(-EINVAL, .target = 1);			/* target without TARGET */
	WAKE(-EINVAL, .flags = GMP_WAKE_PROC, .p = -1);
	WAKE(-EINVAL, .flags = GMP_WAKE_PROC, .p = n);
	WAKE(-EINVAL, .flags = GMP_WAKE_TARGET, .target = -1);
	WAKE(-EINVAL, .flags = GMP_WAKE_TARGET, .target = GMP_MAX_M);
	WAKE(-EINVAL, .flags = GMP_WAKE_TARGET, .target = self->m + 1);
	WAKE(-EBUSY, .flags = GMP_WAKE_TARGET, .target = self->m);
	WAKE(-EINVAL, .flags = GMP_WAKE_HANDOFF);	/* holds no P */
	WAKE(-EINVAL, .m = self->m + 1);
#undef WAKE

#define PROC(cmd, err, ...) do {					\
		pa = (struct gmp_procarg){ .m = self->m, __VA_ARGS__ };	\
		EXPECT_EQ(err, gmp_ioctl(self->g.fd, cmd, &pa))		\
			TH_LOG("%s %s", #cmd, #__VA_ARGS__);		\
	} while (0)
	PROC(GMP_IOC_ACQUIRE_P, -EINVAL, .p = GMP_NONE, .flags = ~GMP_ACQUIRE_FLAGS);
	PROC(GMP_IOC_ACQUIRE_P, -EINVAL, .p = GMP_NONE, .resv = 1);
	PROC(GMP_IOC_ACQUIRE_P, -EINVAL, .p = -2);
	PROC(GMP_IOC_ACQUIRE_P, -EINVAL, .p = n);
	PROC(GMP_IOC_ACQUIRE_P, -EINVAL, .p = 0, .m = self->m + 1);
	PROC(GMP_IOC_RELEASE_P, -EINVAL, .p = GMP_NONE);
	PROC(GMP_IOC_RELEASE_P, -EINVAL, .p = n);
	PROC(GMP_IOC_RELEASE_P, -EINVAL, .p = 0);	/* not ours */
	PROC(GMP_IOC_RELEASE_P, -EINVAL, .p = 0, .flags = 1);
	/* Acquire twice: EBUSY; the one held is not released by it. */
	PROC(GMP_IOC_ACQUIRE_P, 0, .p = n - 1);
	EXPECT_EQ(n - 1, pa.p);
	PROC(GMP_IOC_ACQUIRE_P, -EBUSY, .p = GMP_NONE);
	EXPECT_EQ(n - 1, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(self->m, *GMP_P_FIELD(&self->g, n - 1, m, int32_t));
	PROC(GMP_IOC_RELEASE_P, 0, .p = n - 1);
	EXPECT_EQ(n, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(GMP_P_IDLE, *gmp_p_status(&self->g, n - 1));
	PROC(GMP_IOC_RELEASE_P, -EINVAL, .p = n - 1);
#undef PROC

#define RUNQ(cmd, err, ...) do {					\
		rq = (struct gmp_runq){ .gs = (uintptr_t)gs, __VA_ARGS__ }; \
		EXPECT_EQ(err, gmp_ioctl(self->g.fd, cmd, &rq))		\
			TH_LOG("%s %s", #cmd, #__VA_ARGS__);		\
	} while (0)
	RUNQ(GMP_IOC_RUNQ_PUT, -EINVAL, .n = 0);
	RUNQ(GMP_IOC_RUNQ_PUT, -EINVAL, .n = GMP_RUNQ_BATCH_MAX + 1);
	RUNQ(GMP_IOC_RUNQ_PUT, -EINVAL, .n = 1, .flags = ~GMP_RUNQ_FLAGS);
	RUNQ(GMP_IOC_RUNQ_PUT, -EINVAL, .n = 1, .resv = 1);
	RUNQ(GMP_IOC_RUNQ_GET, -EINVAL, .n = 1, .flags = 1);
	RUNQ(GMP_IOC_RUNQ_GET, -EINVAL, .n = 1, .resv = 1);
	RUNQ(GMP_IOC_RUNQ_PUT, -EFAULT, .n = 1, .gs = (uintptr_t)bad);
	RUNQ(GMP_IOC_RUNQ_PUT, -EFAULT, .n = 4, .gs = 8);
	gs[2] = 0;		/* 0 is "no G" */
	RUNQ(GMP_IOC_RUNQ_PUT, -EINVAL, .n = 4);
#undef RUNQ
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, runqsize));

#define NEWM(...) do {							\
		nm = (struct gmp_newm){ .m = self->m, __VA_ARGS__ };	\
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_NEWM_WAIT, &nm)) \
			TH_LOG("newm %s", #__VA_ARGS__);		\
	} while (0)
	NEWM(.flags = 1);
	NEWM(.resv = 1);
	NEWM(.p = 1);
	NEWM(.m = self->m + 1);
#undef NEWM

	tr = (struct gmp_trace){ .buf = (uintptr_t)text, .len = sizeof(text),
				 .flags = ~GMP_TRACE_FLAGS };
	EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &tr));
	tr = (struct gmp_trace){ .buf = (uintptr_t)text, .len = 0 };
	EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &tr));
	tr = (struct gmp_trace){ .buf = (uintptr_t)bad, .len = 100 };
	EXPECT_EQ(-EFAULT, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &tr));
	tr = (struct gmp_trace){ .buf = (uintptr_t)text, .len = 100, .resv[1] = 1 };
	EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SCHEDTRACE, &tr));

	{
		struct gmp_sysmon sm = { .flags = 1 };

		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SYSMON, &sm));
		sm = (struct gmp_sysmon){ .resv = 1 };
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SYSMON, &sm));
		sm = (struct gmp_sysmon){ .resv2[1] = 1 };
		EXPECT_EQ(-EINVAL, gmp_ioctl(self->g.fd, GMP_IOC_SYSMON, &sm));
	}

	/* After all that, the instance is as it was. */
	EXPECT_EQ(n, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 0));
	EXPECT_EQ(1, gmp_trace_val(text, "threads"));
}

/* ---- CPUs and GMP_IOC_SYSMON ------------------------------------------ */

/* P i names the i-th CPU (round robin) of the opener's allowed mask. */
TEST_F(setup, p_cpus_from_opener_mask)
{
	struct gmp_inst g;
	cpu_set_t all, two;
	int i, cpus[2], k = 0, cpu;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(all), &all));
	for (i = 0; i < variant->nprocs; i++)
		EXPECT_EQ(i % CPU_COUNT(&all),
			  *GMP_P_FIELD(&self->g, i, cpu, int32_t));
	/* The last CPU only, or the first and the last. */
	CPU_ZERO(&two);
	for (cpu = 0; cpu < CPU_SETSIZE && k < 2; cpu++) {
		if (!CPU_ISSET(cpu, &all))
			continue;
		if (k == 0 || cpu == sysconf(_SC_NPROCESSORS_ONLN) - 1) {
			cpus[k++] = cpu;
			CPU_SET(cpu, &two);
		}
	}
	if (k < 2)
		cpus[1] = cpus[0];
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(two), &two));
	ASSERT_EQ(0, gmp_inst_open(&g, variant->nprocs, 0));
	for (i = 0; i < variant->nprocs; i++)
		EXPECT_EQ(cpus[i % k], *GMP_P_FIELD(&g, i, cpu, int32_t));
	gmp_inst_close(&g);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(all), &all));
}

/* One sysmon at a time; it leaves on a signal and at shutdown. */
static void on_usr1(int sig)
{
	(void)sig;
}

TEST_F(setup, sysmon_one_at_a_time)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct gmp_inst g;

	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, gmp_inst_open(&g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_sysmon_start(&g));
	{
		char text[1024];

		ASSERT_TRUE(GMP_WAIT_UNTIL(gmp_schedtrace(&g, text, sizeof(text), 1) == 0 &&
					   gmp_trace_val(text, "sysmon") == 1));
	}
	EXPECT_EQ(-EBUSY, gmp_sysmon_call(&g));
	/*
	 * A signal makes it return EINTR (the helper calls it again); closing
	 * the instance ends it with ESHUTDOWN: the join in close returns.
	 */
	EXPECT_EQ(0, pthread_kill(g.sysmon, SIGUSR1));
	gmp_inst_close(&g);
}

TEST_HARNESS_MAIN
