// SPDX-License-Identifier: GPL-2.0
/*
 * The shared regions: the layout SETUP answers with is the one the kernel
 * uses, the read-only region really is read-only, nothing is executable,
 * private and wrong-sized mappings are refused, a fork()ed child does not
 * inherit them, and the pages outlive the file until the last unmap.
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

FIXTURE(mmap) {
	struct gmp_inst g;
	uint32_t m;
	long pagesz;
};

FIXTURE_VARIANT(mmap) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(mmap, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(mmap, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(mmap, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(mmap)
{
	self->pagesz = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(mmap)
{
	gmp_inst_close(&self->g);
}

/*
 * [off, off + len) lies in [0, size), is naturally aligned, and overlaps
 * none of the others.
 */
struct span {
	const char *name;
	uint32_t off, len;
};

static int spans_ok(struct __test_metadata *_metadata, struct span *s, int n,
		    uint32_t size)
{
	int i, j, ok = 1;

	for (i = 0; i < n; i++) {
		if (s[i].off + s[i].len > size ||
		    s[i].off % (s[i].len >= 8 ? 8 : 4)) {
			TH_LOG("%s at %u+%u out of %u", s[i].name, s[i].off,
			       s[i].len, size);
			ok = 0;
		}
		for (j = 0; j < i; j++) {
			if (s[i].off < s[j].off + s[j].len &&
			    s[j].off < s[i].off + s[i].len) {
				TH_LOG("%s overlaps %s", s[i].name, s[j].name);
				ok = 0;
			}
		}
	}
	return ok;
}

TEST_F(mmap, layout_is_sane)
{
	struct gmp_sched_offsets *so = &self->g.prm.sched;
	struct gmp_procs_offsets *po = &self->g.prm.procs;
	struct span sched[] = {
		{ "gomaxprocs", so->gomaxprocs, 4 }, { "npidle", so->npidle, 4 },
		{ "nmidle", so->nmidle, 4 }, { "runqsize", so->runqsize, 4 },
		{ "nmsys", so->nmsys, 4 },
	};
	struct span p[] = {
		{ "status", po->status, 4 }, { "m", po->m, 4 },
		{ "schedtick", po->schedtick, 4 },
		{ "syscalltick", po->syscalltick, 4 },
		{ "preempt", po->preempt, 4 }, { "runqhead", po->runqhead, 4 },
		{ "runqtail", po->runqtail, 4 }, { "runnext", po->runnext, 8 },
		{ "runq", po->runq, 8 * GMP_RUNQ_SIZE },
		{ "timer0when", po->timer0when, 8 }, { "cpu", po->cpu, 4 },
	};
	struct gmp_ms_offsets *mo = &self->g.prm.ms;
	struct span ms[] = {
		{ "inruntime", mo->inruntime, 4 }, { "p", mo->p, 4 },
	};

	EXPECT_EQ(self->pagesz, so->size);
	EXPECT_TRUE(spans_ok(_metadata, sched, 5, so->size));
	EXPECT_EQ(0, po->runnext % 8);
	EXPECT_EQ(0, po->runq % 8);
	EXPECT_LE(po->nmspinning + 4, po->p0);
	EXPECT_LE(GMP_RUNQ_SIZE * 8 + 64, po->p_stride);
	EXPECT_EQ(po->size, po->p0 + variant->nprocs * po->p_stride);
	EXPECT_EQ(0, po->size % self->pagesz);
	EXPECT_TRUE(spans_ok(_metadata, p, 11, po->p_stride));
	/* M slots: a cache line each (every M writes its own), all Ms fit. */
	EXPECT_TRUE(spans_ok(_metadata, ms, 2, mo->slot_size));
	EXPECT_LE(64, mo->slot_size);
	EXPECT_LE(GMP_MAX_M * mo->slot_size, mo->size);
	EXPECT_EQ(0, mo->size % self->pagesz);
	/* Takers' head and the owner's fields should not share a line. */
	EXPECT_LE(po->preempt + 4, po->runqhead & ~63u);
}

/*
 * The offsets are the ones the kernel uses: what it writes shows where the
 * offsets say, what user space writes there is what the kernel reads.
 */
TEST_F(mmap, offsets_are_live)
{
	char text[4096];
	int i, p, n = variant->nprocs;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, n - 1, &p));
	EXPECT_EQ(n - 1, GMP_SCHED_U32(&self->g, npidle));
	EXPECT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	EXPECT_EQ(self->m, *GMP_P_FIELD(&self->g, p, m, int32_t));
	for (i = 0; i < n - 1; i++) {
		EXPECT_EQ(GMP_NONE, *GMP_P_FIELD(&self->g, i, m, int32_t));
	}
	/* The kernel reads the ring's length and ticks where we write them. */
	for (i = 0; i < n; i++) {
		*GMP_P_FIELD(&self->g, i, runqtail, uint32_t) = 10 + i;
		*GMP_P_FIELD(&self->g, i, schedtick, uint32_t) = 1000 + i;
		*GMP_P_FIELD(&self->g, i, syscalltick, uint32_t) = 2000 + i;
	}
	__atomic_store_n(gmp_nmspinning(&self->g), 3, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, gmp_schedtrace(&self->g, text, sizeof(text), 1));
	EXPECT_EQ(3, gmp_trace_val(text, "spinningthreads"));
	for (i = 0; i < n; i++) {
		char pat[128];

		snprintf(pat, sizeof(pat),
			 "P%d: status=%u(%s) schedtick=%u syscalltick=%u m=%d runqsize=%u ",
			 i, i == p ? GMP_P_RUNNING : GMP_P_IDLE,
			 i == p ? "running" : "idle", 1000 + i,
			 2000 + i, i == p ? (int)self->m : -1, 10 + i);
		EXPECT_NE(NULL, strstr(text, pat)) TH_LOG("%s\nwant %s", text, pat);
	}
	for (i = 0; i < n; i++)
		*GMP_P_FIELD(&self->g, i, runqtail, uint32_t) = 0;
	__atomic_store_n(gmp_nmspinning(&self->g), 0, __ATOMIC_SEQ_CST);
}

static sigjmp_buf fault_jmp;

static void on_segv(int sig)
{
	siglongjmp(fault_jmp, 1);
}

/* Store to @addr; return 1 if it faulted. */
static int store_faults(volatile uint32_t *addr)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;
	int faulted = 0;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0)
		*addr = 0xdead;
	else
		faulted = 1;
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

TEST_F(mmap, sched_region_read_only)
{
	uint32_t before = GMP_SCHED_U32(&self->g, npidle);
	void *p;
	int fd;

	/* Mapping it writable, or making it writable later, is refused. */
	p = mmap(NULL, self->pagesz, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->g.fd, GMP_OFF_SCHED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect(self->g.sched, self->pagesz, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* A store faults and changes nothing. */
	EXPECT_TRUE(store_faults((uint32_t *)(self->g.sched +
					      self->g.prm.sched.npidle)));
	EXPECT_EQ(before, GMP_SCHED_U32(&self->g, npidle));
	/* Nor does the debugger's way in (FOLL_FORCE through /proc/self/mem). */
	fd = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, pwrite(fd, &before, 4, (off_t)(uintptr_t)
			     (self->g.sched + self->g.prm.sched.npidle)));
	close(fd);
	EXPECT_EQ(before, GMP_SCHED_U32(&self->g, npidle));
}

TEST_F(mmap, never_executable)
{
	void *p;

	p = mmap(NULL, self->pagesz, PROT_READ | PROT_EXEC, MAP_SHARED,
		 self->g.fd, GMP_OFF_SCHED);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = mmap(NULL, self->g.prm.procs.size, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_SHARED, self->g.fd, GMP_OFF_PROCS);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, mprotect(self->g.sched, self->pagesz, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(-1, mprotect(self->g.procs, self->g.prm.procs.size,
			       PROT_READ | PROT_WRITE | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
}

TEST_F(mmap, refused_mappings)
{
	long ps = self->pagesz;
	uint32_t psize = self->g.prm.procs.size;
	struct {
		const char *what;
		size_t len;
		int prot, flags;
		off_t off;
	} bad[] = {
		{ "private sched", ps, PROT_READ, MAP_PRIVATE, GMP_OFF_SCHED },
		{ "private procs", psize, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		  GMP_OFF_PROCS },
		{ "sched too big", 2 * ps, PROT_READ, MAP_SHARED, GMP_OFF_SCHED },
		{ "procs too small", psize - ps, PROT_READ | PROT_WRITE,
		  MAP_SHARED, GMP_OFF_PROCS },
		{ "procs too big", psize + ps, PROT_READ | PROT_WRITE,
		  MAP_SHARED, GMP_OFF_PROCS },
		{ "procs partial", ps, PROT_READ | PROT_WRITE, MAP_SHARED,
		  GMP_OFF_PROCS + ps },
		{ "between regions", ps, PROT_READ, MAP_SHARED, ps },
		{ "past procs", ps, PROT_READ, MAP_SHARED, 0x20000000 },
		{ "far offset", ps, PROT_READ, MAP_SHARED, 1L << 44 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *p = mmap(NULL, bad[i].len, bad[i].prot, bad[i].flags,
			       self->g.fd, bad[i].off);

		EXPECT_EQ(MAP_FAILED, p) TH_LOG("%s", bad[i].what);
		if (p == MAP_FAILED) {
			EXPECT_EQ(EINVAL, errno) TH_LOG("%s", bad[i].what);
		} else {
			munmap(p, bad[i].len);
		}
	}
	/* Nor may a mapping grow. */
	EXPECT_EQ(MAP_FAILED, mremap(self->g.procs, psize, psize + ps,
				     MREMAP_MAYMOVE));
	/* A second, whole mapping is fine and sees the same pages. */
	{
		uint8_t *p2 = mmap(NULL, psize, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->g.fd, GMP_OFF_PROCS);

		ASSERT_NE(MAP_FAILED, p2);
		__atomic_store_n(gmp_nmspinning(&self->g), 7, __ATOMIC_SEQ_CST);
		EXPECT_EQ(7, *(uint32_t *)(p2 + self->g.prm.procs.nmspinning));
		__atomic_store_n(gmp_nmspinning(&self->g), 0, __ATOMIC_SEQ_CST);
		munmap(p2, psize);
	}
}

/* A fork()ed child has neither mapping, and cannot make one. */
TEST_F(mmap, not_inherited_by_fork)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_DFL };
		void *p;

		p = mmap(NULL, self->pagesz, PROT_READ, MAP_SHARED, self->g.fd,
			 GMP_OFF_SCHED);
		if (p != MAP_FAILED || errno != EPERM)
			_exit(3);
		p = mmap(NULL, self->g.prm.procs.size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->g.fd, GMP_OFF_PROCS);
		if (p != MAP_FAILED || errno != EPERM)
			_exit(4);
		sigaction(SIGSEGV, &sa, NULL);
		/* Not there: this faults. */
		*(volatile uint32_t *)gmp_nmspinning(&self->g) = 1;
		_exit(5);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exit %d", WEXITSTATUS(status));
	EXPECT_EQ(SIGSEGV, WTERMSIG(status));
	EXPECT_EQ(0, *gmp_nmspinning(&self->g));
}

static long module_refcnt(void)
{
	char buf[32] = { 0 };
	int fd = open("/sys/module/gmp/refcnt", O_RDONLY);
	long n = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			n = strtol(buf, NULL, 10);
		close(fd);
	}
	return n;
}

/*
 * Pages outlive the file until the last unmap; the module stays pinned
 * (unload refused) while an instance or a mapping of one exists.
 */
/*
 * MAP_SHARED is what counts, not whether the fd can write: a read-only fd
 * maps both regions shared, read-only (the kernel clears VM_SHARED, not
 * VM_MAYSHARE, for a read-only file; gmp.ko took it for a private mapping).
 */
TEST_F(mmap, shared_from_read_only_fd)
{
	struct gmp_params prm = { .nprocs = variant->nprocs };
	int fd = open("/dev/gmp", O_RDONLY | O_CLOEXEC);
	void *s, *p;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gmp_ioctl(fd, GMP_IOC_SETUP, &prm));
	s = mmap(NULL, prm.sched.size, PROT_READ, MAP_SHARED, fd, GMP_OFF_SCHED);
	ASSERT_NE(MAP_FAILED, s) TH_LOG("sched: %s", strerror(errno));
	EXPECT_EQ(prm.nprocs, *(uint32_t *)((uint8_t *)s + prm.sched.gomaxprocs));
	p = mmap(NULL, prm.procs.size, PROT_READ, MAP_SHARED, fd, GMP_OFF_PROCS);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("procs: %s", strerror(errno));
	/* Still never writable, nor private. */
	EXPECT_EQ(-1, mprotect(p, prm.procs.size, PROT_READ | PROT_WRITE));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, prm.procs.size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, GMP_OFF_PROCS));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, prm.sched.size, PROT_READ, MAP_PRIVATE,
				   fd, GMP_OFF_SCHED));
	EXPECT_EQ(EINVAL, errno);
	munmap(s, prm.sched.size);
	munmap(p, prm.procs.size);
	close(fd);
}

TEST(lifetime_pages_and_module)
{
	struct gmp_inst g;
	long base = module_refcnt();
	uint32_t m;
	int p;

	ASSERT_LE(0, base);
	ASSERT_EQ(0, gmp_inst_open(&g, 2, 0));
	/* The file's reference, and the instance's own until it is freed. */
	EXPECT_EQ(base + 2, module_refcnt());
	EXPECT_EQ(-1, syscall(SYS_delete_module, "gmp", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(0, gmp_register(&g, &m));
	ASSERT_EQ(0, gmp_acquire(&g, m, 1, &p));
	/* Close the file: the instance shuts down, the pages stay. */
	close(g.fd);
	g.fd = -1;
	EXPECT_EQ(base + 2, module_refcnt());
	EXPECT_EQ(-1, syscall(SYS_delete_module, "gmp", O_NONBLOCK));
	EXPECT_EQ(2, GMP_SCHED_U32(&g, gomaxprocs));
	EXPECT_EQ(GMP_P_DEAD, *gmp_p_status(&g, 0));
	EXPECT_EQ(GMP_P_DEAD, *gmp_p_status(&g, 1));
	*GMP_P_FIELD(&g, 1, runqtail, uint32_t) = 5;	/* still writable */
	EXPECT_EQ(5, *GMP_P_FIELD(&g, 1, runqtail, uint32_t));
	/* One region gone, the other still holds the file. */
	munmap(g.sched, g.prm.sched.size);
	g.sched = NULL;
	EXPECT_EQ(base + 2, module_refcnt());
	EXPECT_EQ(5, *GMP_P_FIELD(&g, 1, runqtail, uint32_t));
	munmap(g.procs, g.prm.procs.size);
	g.procs = NULL;
	EXPECT_EQ(base + 2, module_refcnt());
	munmap(g.ms, g.prm.ms.size);
	g.ms = NULL;
	EXPECT_TRUE(GMP_WAIT_UNTIL(module_refcnt() == base));
}

TEST_HARNESS_MAIN
