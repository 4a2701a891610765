/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the runtime selftests.  Each TEST runs in its own process
 * (the harness forks), so each may start the runtime once with rt_run().
 *
 * The harness's ASSERT_* longjmp to the test's start, which must never
 * happen from a G (another stack, maybe another thread): code running in Gs
 * records failures with GCHECK() and the TEST body asserts afterwards with
 * RT_ASSERT_CLEAN().
 */
#ifndef RT_UTIL_H
#define RT_UTIL_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "gmprt.h"
#include "vm_util.h"

static atomic_int rt_failed;
static char rt_fail_msg[512];

#define GCHECK(cond) do {						\
	if (!(cond) && atomic_fetch_add(&rt_failed, 1) == 0)		\
		snprintf(rt_fail_msg, sizeof(rt_fail_msg),		\
			 "%s:%d: %s", __FILE__, __LINE__, #cond);	\
} while (0)

#define GCHECKF(cond, fmt, ...) do {					\
	if (!(cond) && atomic_fetch_add(&rt_failed, 1) == 0)		\
		snprintf(rt_fail_msg, sizeof(rt_fail_msg),		\
			 "%s:%d: %s: " fmt, __FILE__, __LINE__, #cond,	\
			 ##__VA_ARGS__);				\
} while (0)

#define RT_ASSERT_CLEAN() do {						\
	if (atomic_load(&rt_failed))					\
		TH_LOG("in a G: %s", rt_fail_msg);			\
	ASSERT_EQ(0, atomic_load(&rt_failed));				\
} while (0)

static inline int rt_run(int nprocs, int (*fn)(void *), void *arg)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	c.nprocs = nprocs;

	return gmprt_main(fn, arg, &c);
}

/* Value of "key=" in a schedtrace text, or -1. */
static inline long rt_trace_val(const char *text, const char *key)
{
	char pat[64];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(text, pat);
	return at ? strtol(at + strlen(pat), NULL, 10) : -1;
}

/* Run @fn in a child with stderr captured; its exit status and text. */
static inline int run_child(void (*fn)(void), char *err, size_t len)
{
	int pfd[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 2);
		close(pfd[0]);
		fn();
		_exit(0);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], err + got, len - 1 - got)) > 0)
		got += n;
	err[got] = 0;
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The fixture most runtime tests use: TEST_F(rt, name) runs once for each
 * of nprocs 1, 2 and 4 (4 is more Ps than the VM's vCPUs), as
 * variant->nprocs.  Include after kselftest_harness.h.
 */
#define RT_NPROCS_FIXTURE						\
	FIXTURE(rt) {							\
	};								\
	FIXTURE_VARIANT(rt) {						\
		int nprocs;						\
	};								\
	FIXTURE_VARIANT_ADD(rt, nprocs1) { .nprocs = 1 };		\
	FIXTURE_VARIANT_ADD(rt, nprocs2) { .nprocs = 2 };		\
	FIXTURE_VARIANT_ADD(rt, nprocs4) { .nprocs = 4 };		\
	FIXTURE_SETUP(rt)						\
	{								\
	}								\
	FIXTURE_TEARDOWN(rt)						\
	{								\
	}								\
	struct rt_fixture_end_

/*
 * One of gmp.ko's call counters ("stats: park=.. preempt=.."), or -1.  Only
 * from the stats line: with detail, each P's line has a preempt= of its own
 * (the request word), which a plain search for " preempt=" would find first.
 */
static inline long rt_kstat(const char *key)
{
	/* Room for the detail of 10000 Ms: the stats line comes last. */
	char *buf = malloc(1 << 20);
	const char *at;
	long v = -1;

	if (buf && gmprt_schedtrace(buf, 1 << 20, true) >= 0) {
		at = strstr(buf, "\n  stats:");
		v = at ? rt_trace_val(at, key) : -1;
	}
	free(buf);
	return v;
}

#endif /* RT_UTIL_H */
