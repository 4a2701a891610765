// SPDX-License-Identifier: GPL-2.0
/*
 * Blocking system calls: a G blocked in read() must not hold its P (gmp.ko's
 * sysmon retakes it and another M runs the other Gs), the fast path gives
 * the P back with no syscall of its own, and errno stays with the G.
 */
#include <fcntl.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "runtime.h"

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;
static int fds[2];
static atomic_int others;
static char got;


static void reader(void *arg)
{
	char c = 0;
	ssize_t n = GMPRT_SYSCALL(read(fds[0], &c, 1));

	GCHECK(n == 1);
	got = c;
	gmprt_wg_done(&wg);
}

static void other(void *arg)
{
	atomic_fetch_add(&others, 1);
	gmprt_wg_done(&wg);
}

static void writer(void *arg)
{
	/* Runs only if the reader's P was handed to another M. */
	GCHECK(GMPRT_SYSCALL(write(fds[1], "x", 1)) == 1);
	gmprt_wg_done(&wg);
}

static int blocked(void *arg)
{
	int i;

	(void)arg;
	GCHECK(pipe(fds) == 0);
	gmprt_wg_add(&wg, 12);
	gmprt_go(reader, NULL);
	gmprt_yield();			/* let the reader block */
	for (i = 0; i < 10; i++)
		gmprt_go(other, NULL);
	gmprt_go(writer, NULL);
	gmprt_wg_wait(&wg);
	GCHECK(got == 'x');
	GCHECK(atomic_load(&others) == 10);
	/* Block detection saw the read sleep and handed its P off at once. */
	GCHECKF(rt_kstat("retake") + rt_kstat("blockhandoff") >= 1,
		"retake=%ld blockhandoff=%ld", rt_kstat("retake"),
		rt_kstat("blockhandoff"));
	return 0;
}

/* One P: without sysmon's retake this would deadlock (and time out). */
TEST(blocking_read_does_not_hold_the_p)
{
	ASSERT_EQ(0, rt_run(1, blocked, NULL));
	RT_ASSERT_CLEAN();
}

static int fast(void *arg)
{
	long pre = rt_kstat("acquire"), i;

	(void)arg;
	for (i = 0; i < 10000; i++)
		GCHECK(GMPRT_SYSCALL(getppid()) > 0);
	/* Quick calls take their P back by CAS: few, if any, slow paths. */
	GCHECKF(rt_kstat("acquire") - pre < 100, "%ld slow exits",
		rt_kstat("acquire") - pre);
	return 0;
}

TEST(quick_syscalls_keep_the_p)
{
	ASSERT_EQ(0, rt_run(2, fast, NULL));
	RT_ASSERT_CLEAN();
}

/* errno through a call that cannot be inlined, so the compiler cannot
 * keep the address of an earlier thread's errno. */
static __attribute__((noinline)) int get_errno(void)
{
	return errno;
}

static __attribute__((noinline)) void set_errno(int e)
{
	errno = e;
}

static void errno_keeper(void *arg)
{
	int mine = (int)(long)arg, i;

	for (i = 0; i < 2000; i++) {
		set_errno(mine);
		gmprt_yield();
		GCHECKF(get_errno() == mine, "errno %d, want %d", get_errno(), mine);
		GMPRT_SYSCALL(close(-1));	/* sets EBADF */
		GCHECKF(get_errno() == EBADF, "errno %d after close(-1)", get_errno());
	}
	gmprt_wg_done(&wg);
}

static int errnos(void *arg)
{
	int i;

	(void)arg;
	gmprt_wg_add(&wg, 8);
	for (i = 0; i < 8; i++)
		gmprt_go(errno_keeper, (void *)(long)(1000 + i));
	gmprt_wg_wait(&wg);
	return 0;
}

TEST(errno_belongs_to_the_g)
{
	ASSERT_EQ(0, rt_run(2, errnos, NULL));
	RT_ASSERT_CLEAN();
}

TEST_HARNESS_MAIN
