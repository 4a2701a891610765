// SPDX-License-Identifier: GPL-2.0
/*
 * gmp.ko's tracepoints as kernel people use them: `perf record -e gmp:...`
 * and `trace-cmd start -e gmp` over a program that parks, then their own
 * readers (perf script, trace-cmd show) print the events with their fields
 * by name.  The program is this binary again, run with GMP_TOOLS_PARKS=N:
 * N parks with a 1 ms deadline on its own instance, so every run has park
 * and unpark events.  (The demo was the program once; on the debug kernel
 * its Ms had work all along and never parked.)  The tools are this machine's, packed into the VM with
 * their libraries by qemu/vm-tools.sh (x86-64 only; elsewhere the cases
 * skip, saying so).  bpftrace, with its LLVM (200 MB), only with
 * VM_BPFTRACE=1, which CI runs on the stock kernel for this test alone.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include "gmp_util.h"
#include "prog_util.h"
#include "kselftest_harness.h"

#define TRACEFS	"/sys/kernel/tracing"

static char out[1 << 18];
static char self_exe[4096];
static char *parks_env[] = { "GMP_TOOLS_PARKS=20", NULL };

/* Run before the harness's main: the child that the tools trace. */
__attribute__((constructor)) static void tools_parker(void)
{
	const char *n = getenv("GMP_TOOLS_PARKS");
	struct gmp_inst g;
	struct gmp_park out;
	uint32_t m;
	long i;

	if (!n)
		return;
	if (gmp_inst_open(&g, 1, 0) || gmp_register(&g, &m)) {
		perror("gmp_events_tools_test: instance");
		_exit(2);
	}
	for (i = 0; i < atol(n); i++) {
		if (gmp_park(&g, m, GMP_PARK_DEADLINE, gmp_mono_ns() + 1000000, &out) ||
		    out.result != GMP_PARKED_TIMEOUT) {
			fprintf(stderr, "gmp_events_tools_test: park %ld: result %u\n",
				i, out.result);
			_exit(3);
		}
	}
	_exit(0);
}

FIXTURE(tools) {
};

FIXTURE_SETUP(tools)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	ASSERT_EQ(0, stat(TRACEFS "/events/gmp", &st))
		TH_LOG("no %s/events/gmp: the module's events are missing", TRACEFS);
	ASSERT_LT(0, readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1));
}

FIXTURE_TEARDOWN(tools)
{
}

TEST_F_TIMEOUT(tools, perf_record_and_script, 300)
{
	char *rec[] = { "/usr/bin/perf", "record", "-q", "-o", "/tmp/gmp-perf.data",
			"-e", "gmp:gmp_park", "-e", "gmp:gmp_unpark", "-e", "gmp:gmp_wake",
			"--", self_exe, NULL };
	char *scr[] = { "/usr/bin/perf", "script", "-i", "/tmp/gmp-perf.data", NULL };
	int ret;

	if (access(rec[0], X_OK))
		SKIP(return, "no perf in this VM (qemu/vm-tools.sh packs it on x86-64)");
	ret = prog_run(rec, parks_env, out, sizeof(out), 240);
	ASSERT_EQ(0, ret) TH_LOG("perf record: %s", out);
	ret = prog_run(scr, NULL, out, sizeof(out), 240);
	ASSERT_EQ(0, ret) TH_LOG("perf script: %s", out);
	EXPECT_NE(NULL, strstr(out, "gmp:gmp_park:")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, "gmp:gmp_unpark:")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, " inst=")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, " flags=deadline")) TH_LOG("%.2000s", out);
	unlink("/tmp/gmp-perf.data");
}

/*
 * trace-cmd start / stop / show: the events go to the kernel's ring buffer
 * and show reads them back.  (trace-cmd record, with its recorder threads,
 * lost every event of the short demo now and then under TCG.)
 */
TEST_F_TIMEOUT(tools, trace_cmd_start_and_show, 300)
{
	char *start[] = { "/usr/bin/trace-cmd", "start", "-e", "gmp", NULL };
	char *parker[] = { self_exe, NULL };
	char *stop[] = { "/usr/bin/trace-cmd", "stop", NULL };
	char *show[] = { "/usr/bin/trace-cmd", "show", NULL };
	char *reset[] = { "/usr/bin/trace-cmd", "reset", NULL };
	int ret;

	if (access(start[0], X_OK))
		SKIP(return, "no trace-cmd in this VM (qemu/vm-tools.sh packs it on x86-64)");
	ret = prog_run(start, NULL, out, sizeof(out), 240);
	ASSERT_EQ(0, ret) TH_LOG("trace-cmd start: %s", out);
	ret = prog_run(parker, parks_env, out, sizeof(out), 240);
	EXPECT_EQ(0, ret) TH_LOG("parker: %s", out);
	ret = prog_run(stop, NULL, out, sizeof(out), 240);
	EXPECT_EQ(0, ret) TH_LOG("trace-cmd stop: %s", out);
	ret = prog_run(show, NULL, out, sizeof(out), 240);
	EXPECT_EQ(0, ret) TH_LOG("trace-cmd show: %.2000s", out);
	EXPECT_NE(NULL, strstr(out, "gmp_park:")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, "gmp_unpark:")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, " result=timeout")) TH_LOG("%.2000s", out);
	prog_run(reset, NULL, out, sizeof(out), 240);
}

/*
 * bpftrace: a probe on each event that filters and counts by field name
 * (flags, ret, result, as the tracefs format names them), over the parker
 * only (cpid: the child bpftrace started), printed as bpftrace prints its
 * maps at exit.
 */
TEST_F_TIMEOUT(tools, bpftrace_filters_by_field, 300)
{
	char script[512];
	char *bt[] = { "/usr/bin/bpftrace", "-e", script, "-c", self_exe, NULL };
	int ret;

	if (access(bt[0], X_OK)) {
		/* The tier that packs it says so: there, its absence is a fault. */
		ASSERT_EQ(NULL, getenv("GMP_REQUIRE_BPFTRACE"))
			TH_LOG("VM_BPFTRACE=1 but no /usr/bin/bpftrace in the VM");
		SKIP(return, "no bpftrace in this VM (make check-vm VM_BPFTRACE=1 packs it, x86-64)");
	}
	snprintf(script, sizeof(script),
		 "tracepoint:gmp:gmp_park /pid == cpid && (args->flags & %u)/ "
		 "{ @deadline_parks = count(); } "
		 "tracepoint:gmp:gmp_unpark /pid == cpid && args->ret == 0 && args->result == %u/ "
		 "{ @timeouts = count(); }",
		 GMP_PARK_DEADLINE, GMP_PARKED_TIMEOUT);
	ret = prog_run(bt, parks_env, out, sizeof(out), 240);
	ASSERT_EQ(0, ret) TH_LOG("bpftrace: %.2000s", out);
	EXPECT_NE(NULL, strstr(out, "@deadline_parks: 20\n")) TH_LOG("%.2000s", out);
	EXPECT_NE(NULL, strstr(out, "@timeouts: 20\n")) TH_LOG("%.2000s", out);
}

TEST_HARNESS_MAIN
