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
#include "gmprt.h"

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
	struct gmprt_config c = { .nprocs = nprocs };

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

/*
 * One of gmp.ko's call counters ("stats: park=.. preempt=.."), or -1.  Only
 * from the stats line: with detail, each P's line has a preempt= of its own
 * (the request word), which a plain search for " preempt=" would find first.
 */
static inline long rt_kstat(const char *key)
{
	char buf[16384];
	const char *at;

	if (gmprt_schedtrace(buf, sizeof(buf), true) < 0)
		return -1;
	at = strstr(buf, "\n  stats:");
	return at ? rt_trace_val(at, key) : -1;
}

#endif /* RT_UTIL_H */
