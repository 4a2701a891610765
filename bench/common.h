/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench/common.h - what every C benchmark program shares: the clock, the
 * result line, resident memory, and a syscall counter.
 *
 * Result lines (one per measurement, parsed by bench/report.sh):
 *
 *   BENCH workload=pingpong impl=gmp nprocs=2 iters=100000 metric=ns_per_op value=5012.3 [key=value...]
 *
 * Programs take the same arguments whatever the implementation:
 *
 *   PROGRAM WORKLOAD ITERS NPROCS
 *
 * and exit non-zero, with a "# ..." line saying why, when they cannot run.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

static inline int64_t bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * bench_result() - print one result line.  @extra: more "key=value" pairs
 * (printf format), or NULL.
 */
static inline __attribute__((format(printf, 7, 8)))
void bench_result(const char *workload, const char *impl, int nprocs,
		  long iters, const char *metric, double value,
		  const char *extra, ...)
{
	char more[512] = "";
	va_list ap;

	if (extra) {
		more[0] = ' ';
		va_start(ap, extra);
		vsnprintf(more + 1, sizeof(more) - 1, extra, ap);
		va_end(ap);
	}
	printf("BENCH workload=%s impl=%s nprocs=%d iters=%ld metric=%s value=%.6g%s\n",
	       workload, impl, nprocs, iters, metric, value, more);
	fflush(stdout);
}

static inline __attribute__((noreturn, format(printf, 1, 2)))
void bench_die(const char *fmt, ...)
{
	va_list ap;

	printf("# error: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* PROGRAM WORKLOAD ITERS NPROCS: the arguments every program takes. */
struct bench_args {
	const char *workload;
	long iters;
	int nprocs;
};

static inline struct bench_args bench_parse(int argc, char **argv)
{
	struct bench_args a;

	if (argc != 4)
		bench_die("usage: %s WORKLOAD ITERS NPROCS", argv[0]);
	a.workload = argv[1];
	a.iters = strtol(argv[2], NULL, 10);
	a.nprocs = (int)strtol(argv[3], NULL, 10);
	if (a.iters <= 0 || a.nprocs <= 0)
		bench_die("ITERS and NPROCS must be positive");
	return a;
}

/* Resident set size in bytes, from /proc/self/statm (its 2nd field). */
static inline long bench_rss(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/*
 * The syscall counter: a perf counter on the raw_syscalls:sys_enter
 * tracepoint for every thread of the process, inherited by every thread
 * created after it is opened.  No ptrace, no seccomp, no strace: the kernel
 * counts, and reading the count is one read() per counter.  Open it before
 * the program starts its threads (before gmprt_main()) so that each one is
 * counted; threads that exist already are each given a counter of their own.
 *
 * Needs root (or perf_event_paranoid <= 1) and tracefs; where either is
 * missing, bench_sc_open() fails and the program says so instead of
 * printing a count.
 */
#define BENCH_SC_MAX	64

struct bench_sc {
	int fd[BENCH_SC_MAX];
	int n;
	long overhead;		/* syscalls a bench_sc_read() pair adds by itself */
};

static inline long bench_tracepoint_id(const char *event)
{
	static const char *const roots[] = {
		"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events",
	};
	char path[256];
	long id = -1;
	unsigned int i;

	for (i = 0; i < sizeof(roots) / sizeof(roots[0]) && id < 0; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s/id", roots[i], event);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &id) != 1)
			id = -1;
		fclose(f);
	}
	return id;
}

static inline long bench_sc_read(struct bench_sc *sc)
{
	long total = 0;
	int i;

	for (i = 0; i < sc->n; i++) {
		uint64_t v;

		if (read(sc->fd[i], &v, sizeof(v)) != sizeof(v))
			return -1;
		total += (long)v;
	}
	return total;
}

/* Return: 0, or -errno (the count is then unavailable). */
static inline int bench_sc_open(struct bench_sc *sc)
{
	struct perf_event_attr attr;
	struct dirent *de;
	long id = bench_tracepoint_id("raw_syscalls/sys_enter");
	DIR *d;

	sc->n = 0;
	if (id < 0)
		return -ENOENT;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)id;
	attr.inherit = 1;
	d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int tid = atoi(de->d_name), fd;

		if (tid <= 0)
			continue;
		if (sc->n == BENCH_SC_MAX) {
			closedir(d);
			return -E2BIG;
		}
		fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1,
				  PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			int err = -errno;

			closedir(d);
			return err;
		}
		sc->fd[sc->n++] = fd;
	}
	closedir(d);
	{
		long a = bench_sc_read(sc), b = bench_sc_read(sc);

		sc->overhead = (a < 0 || b < 0) ? 0 : b - a;
	}
	return 0;
}

/*
 * One counter on task @pid (a child stopped before its exec), inherited by
 * every thread it makes: the syscalls of another process.  Return: 0, or
 * -errno.
 */
static inline int bench_sc_open_pid(struct bench_sc *sc, pid_t pid)
{
	struct perf_event_attr attr;
	long id = bench_tracepoint_id("raw_syscalls/sys_enter");
	int fd;

	sc->n = 0;
	sc->overhead = 0;	/* its reads are the caller's, not @pid's */
	if (id < 0)
		return -ENOENT;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)id;
	attr.inherit = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	sc->fd[sc->n++] = fd;
	return 0;
}

/* Syscalls between two bench_sc_read() values, less the reads' own. */
static inline long bench_sc_delta(const struct bench_sc *sc, long before,
				  long after)
{
	if (before < 0 || after < 0)
		return -1;
	return after - before - sc->overhead;
}

/*
 * fanout's work, the same for gmp and the threads ceiling: fib(FIB_N) by a
 * recursion that forks above FIB_CUTOFF; below it, serial leaves.
 */
#define FIB_N		32
#define FIB_CUTOFF	16
#define FIB_RESULT	2178309L	/* fib(32) */

static inline long fib_serial(int n)
{
	return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

#endif /* BENCH_COMMON_H */
