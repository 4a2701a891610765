// SPDX-License-Identifier: GPL-2.0
/*
 * An instance belongs to the process that opened it: a fork()ed child and a
 * process that got the fd over a unix socket are refused (EPERM) by every
 * call; the owner's close shuts the instance down and wakes every M asleep
 * in it (ESHUTDOWN); a process that exits with Ms asleep is clean.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "gmp_util.h"
#include "kselftest_harness.h"

static const unsigned long all_cmds[] = {
	GMP_IOC_SETUP, GMP_IOC_REGISTER, GMP_IOC_UNREGISTER, GMP_IOC_PARK,
	GMP_IOC_WAKE, GMP_IOC_ACQUIRE_P, GMP_IOC_RELEASE_P, GMP_IOC_RUNQ_PUT,
	GMP_IOC_RUNQ_GET, GMP_IOC_NEWM_WAIT, GMP_IOC_SCHEDTRACE,
};
#define NCMDS (sizeof(all_cmds) / sizeof(all_cmds[0]))

/*
 * In a process that is not the owner: every call on @fd is EPERM, so is
 * mmap.  Return: 0, or the 1-based index of the first call that was not.
 */
static int all_refused(int fd)
{
	char buf[256];
	unsigned int i;
	void *p;

	for (i = 0; i < NCMDS; i++) {
		memset(buf, 0, sizeof(buf));
		if (gmp_ioctl(fd, all_cmds[i], buf) != -EPERM)
			return i + 1;
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, GMP_OFF_SCHED);
	if (p != MAP_FAILED || errno != EPERM)
		return NCMDS + 1;
	return 0;
}

FIXTURE(owner) {
	struct gmp_inst g;
	uint32_t m;
};

FIXTURE_VARIANT(owner) {
	unsigned int nprocs;
};

FIXTURE_VARIANT_ADD(owner, nprocs1) { .nprocs = 1 };
FIXTURE_VARIANT_ADD(owner, nprocs2) { .nprocs = 2 };
FIXTURE_VARIANT_ADD(owner, nprocs4) { .nprocs = 4 };

FIXTURE_SETUP(owner)
{
	ASSERT_EQ(0, gmp_inst_open(&self->g, variant->nprocs, 0));
	ASSERT_EQ(0, gmp_register(&self->g, &self->m));
}

FIXTURE_TEARDOWN(owner)
{
	gmp_inst_close(&self->g);
}

/* The fd inherited through fork(): refused, and the child's close is no shutdown. */
TEST_F(owner, fork_child_refused)
{
	int status, p;
	pid_t pid;

	ASSERT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, &p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int r = all_refused(self->g.fd);

		close(self->g.fd);
		_exit(r);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("call %d was not refused",
						 WEXITSTATUS(status));
	/* The parent's instance is untouched. */
	EXPECT_EQ(GMP_P_RUNNING, *gmp_p_status(&self->g, p));
	EXPECT_EQ(0, gmp_release(&self->g, self->m, p));
	EXPECT_EQ(variant->nprocs, GMP_SCHED_U32(&self->g, npidle));
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c = 'x';
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * A process that never inherited the fd gets it over a unix socket:
 * refused too, whether the owner set the instance up or not.
 */
TEST_F(owner, unix_socket_refused)
{
	int sv[2], status, fresh;
	pid_t pid;
	char r;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	/* The child is forked before the second fd exists. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a, b, ra, rb;

		close(sv[0]);
		close(self->g.fd);
		a = recv_fd(sv[1]);
		b = recv_fd(sv[1]);
		if (a < 0 || b < 0)
			_exit(100);
		ra = all_refused(a);
		rb = all_refused(b);
		close(a);
		close(b);
		r = ra ? ra : rb ? 50 + rb : 0;
		_exit(r);
	}
	close(sv[1]);
	fresh = open("/dev/gmp", O_RDWR | O_CLOEXEC);	/* not set up */
	ASSERT_LE(0, fresh);
	ASSERT_EQ(0, send_fd(sv[0], self->g.fd));
	ASSERT_EQ(0, send_fd(sv[0], fresh));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* The owner still uses both. */
	EXPECT_EQ(0, gmp_acquire(&self->g, self->m, GMP_NONE, NULL));
	{
		struct gmp_params prm = { .nprocs = 1 };

		EXPECT_EQ(0, gmp_ioctl(fresh, GMP_IOC_SETUP, &prm));
	}
	close(fresh);
	close(sv[0]);
}

/* A template thread waiting for a P to start an M with (NEWM_WAIT). */
struct tmpl {
	struct gmp_inst *g;
	volatile uint32_t m;
	volatile int registered;
	int ret, p;
};

static void *tmpl_fn(void *arg)
{
	struct tmpl *t = arg;
	uint32_t m;

	if (gmp_register(t->g, &m)) {
		t->ret = -1000;
		return NULL;
	}
	t->m = m;
	__atomic_store_n(&t->registered, 1, __ATOMIC_RELEASE);
	t->ret = gmp_newm_wait(t->g, m, &t->p);
	return NULL;
}

/*
 * close() by the owner with Ms asleep in park (some with a deadline) and a
 * template thread in NEWM_WAIT: all of them wake with ESHUTDOWN, and every
 * later call through another fd of the same file gets ESHUTDOWN.
 */
TEST_F(owner, close_wakes_sleepers)
{
	struct gmp_parker pk[4] = { 0 };
	struct tmpl t = { .g = &self->g };
	pthread_t tt;
	int i, n = 4, dupfd, p;
	char buf[256] = { 0 };

	for (i = 0; i < n; i++) {
		pk[i].acquire = i < (int)variant->nprocs;
		if (i & 1) {
			pk[i].flags = GMP_PARK_DEADLINE;
			pk[i].deadline = gmp_mono_ns() + 3600ull * 1000000000ull;
		}
		ASSERT_EQ(0, gmp_parker_start(&pk[i], &self->g));
	}
	ASSERT_EQ(0, pthread_create(&tt, NULL, tmpl_fn, &t));
	ASSERT_TRUE(GMP_WAIT_UNTIL(GMP_SCHED_U32(&self->g, nmidle) == n));
	ASSERT_TRUE(GMP_WAIT_UNTIL(t.registered));
	usleep(10000);
	dupfd = dup(self->g.fd);
	ASSERT_LE(0, dupfd);
	ASSERT_EQ(0, close(self->g.fd));
	self->g.fd = -1;
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, gmp_parker_join(&pk[i]));
		EXPECT_EQ(-ESHUTDOWN, pk[i].ret) TH_LOG("parker %d", i);
	}
	ASSERT_EQ(0, pthread_join(tt, NULL));
	EXPECT_EQ(-ESHUTDOWN, t.ret);
	/* The pages say so, and say no M is parked. */
	EXPECT_EQ(0, GMP_SCHED_U32(&self->g, nmidle));
	for (p = 0; p < (int)variant->nprocs; p++) {
		EXPECT_EQ(GMP_P_DEAD, *gmp_p_status(&self->g, p));
	}
	/* Every call through the other fd, and mmap: ESHUTDOWN. */
	for (i = 0; i < (int)NCMDS; i++) {
		if (all_cmds[i] == GMP_IOC_SETUP)
			continue;
		memset(buf, 0, sizeof(buf));
		EXPECT_EQ(-ESHUTDOWN, gmp_ioctl(dupfd, all_cmds[i], buf))
			TH_LOG("cmd %#lx", all_cmds[i]);
	}
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-EBUSY, gmp_ioctl(dupfd, GMP_IOC_SETUP, buf));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, dupfd,
				   GMP_OFF_SCHED));
	EXPECT_EQ(ESHUTDOWN, errno);
	close(dupfd);
}

/* Closed (through a dup) before SETUP: SETUP answers ESHUTDOWN. */
TEST(setup_after_close)
{
	struct gmp_params prm = { .nprocs = 1 };
	int fd = open("/dev/gmp", O_RDWR | O_CLOEXEC), fd2;

	ASSERT_LE(0, fd);
	fd2 = dup(fd);
	ASSERT_LE(0, fd2);
	close(fd);
	EXPECT_EQ(-ESHUTDOWN, gmp_ioctl(fd2, GMP_IOC_SETUP, &prm));
	close(fd2);
}

struct setup_arg {
	int fd;
	int ret;
};

static void *setup_fn(void *arg)
{
	struct setup_arg *sa = arg;
	struct gmp_params prm = { .nprocs = GMP_MAX_PROCS };

	sa->ret = gmp_ioctl(sa->fd, GMP_IOC_SETUP, &prm);
	return NULL;
}

/*
 * The owner closes the instance (through another fd) while SETUP is making
 * its Ps: shutdown must see all of them or none (it once walked Ps whose
 * pages did not exist yet).  150 setups of GMP_MAX_PROCS Ps take about 30 s
 * on the debug kernel, the harness's default limit: 120 s.
 */
FIXTURE(setup_race) {
};
FIXTURE_SETUP(setup_race)
{
}
FIXTURE_TEARDOWN(setup_race)
{
}
TEST_F_TIMEOUT(setup_race, close_during_setup, 120)
{
	int i, n0 = 0, nshut = 0;

	for (i = 0; i < 150; i++) {
		struct setup_arg sa;
		pthread_t t;
		int fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);

		ASSERT_LE(0, fd);
		sa.fd = dup(fd);
		ASSERT_LE(0, sa.fd);
		ASSERT_EQ(0, pthread_create(&t, NULL, setup_fn, &sa));
		if (i & 1)
			usleep(i * 20);
		close(fd);
		ASSERT_EQ(0, pthread_join(t, NULL));
		if (sa.ret == 0) {
			n0++;
			/* Set up after the close: dead from the start. */
			EXPECT_EQ(-ESHUTDOWN, gmp_ioctl(sa.fd, GMP_IOC_REGISTER,
							&(struct gmp_register){ 0 }));
		} else {
			EXPECT_EQ(-ESHUTDOWN, sa.ret);
			nshut++;
		}
		close(sa.fd);
	}
	TH_LOG("%d setups finished after the close, %d refused", n0, nshut);
}

/*
 * A process exits (exit_group from its main thread) while other threads
 * are parked and the template thread waits: it exits promptly and cleanly.
 */
TEST_F(owner, exit_with_ms_asleep)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gmp_parker pk[3] = { 0 };
		struct tmpl t;
		struct gmp_inst cg;
		pthread_t tt;
		int i;

		if (gmp_inst_open(&cg, variant->nprocs, 0))
			_exit(10);
		t = (struct tmpl){ .g = &cg };
		for (i = 0; i < 3; i++) {
			pk[i].acquire = 1;
			gmp_parker_start(&pk[i], &cg);
		}
		pthread_create(&tt, NULL, tmpl_fn, &t);
		if (!GMP_WAIT_UNTIL(GMP_SCHED_U32(&cg, nmidle) == 3))
			_exit(11);
		exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
