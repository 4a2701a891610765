// SPDX-License-Identifier: GPL-2.0
/*
 * The network poller at scale (userlib/netpoll.c): 10,000 loopback
 * connections open at once, every byte checked, served by
 * nprocs + 3 threads (no poller thread: Ms park on the epoll file), not one
 * per connection, once the connect storm's
 * spare Ms have exited (nprocs 1, 2 and 4); no fd or memory leak after 100,000
 * connections.  At a reduced volume (vm_volume(): the debug kernel, the
 * 6.12 and arm64 tiers) a tenth of each.  Waits are liveness bounds (the harness's timeout), never timing
 * thresholds: a deadline is checked to have passed, not how late it came.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <dirent.h>
#include <fcntl.h>
#include "kselftest_harness.h"
#include "rt_util.h"
#include "rt_net_util.h"

RT_NPROCS_FIXTURE;

static gmprt_waitgroup wg = GMPRT_WAITGROUP_INIT;




static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = want;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;	/* root in the VM */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- 10,000 connections at once -------------------------------------- */

#define MSG 64
static long NCONN = 10000;	/* vm_volume() */

static int lfd;
static struct sockaddr_in lsa;
static gmprt_waitgroup connected = GMPRT_WAITGROUP_INIT;
static gmprt_chan *release_all;
static atomic_long echoed, checked, max_threads;
static long steady_threads;


static void echo_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[MSG];
	long n;

	while ((n = gmprt_read(fd, buf, sizeof(buf))) > 0) {
		GCHECK(gmprt_write(fd, buf, n) == n);
		atomic_fetch_add(&echoed, n);
	}
	GCHECKF(n == 0 || n == -ECONNRESET, "server read: %ld", n);
	gmprt_close(fd);
	gmprt_wg_done(&wg);
}

static void acceptor(void *arg)
{
	long i, n = (long)arg;

	for (i = 0; i < n; i++) {
		int fd = gmprt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		GCHECKF(fd >= 0, "accept: %d", fd);
		if (fd < 0)
			break;
		gmprt_go(echo_conn, (void *)(long)fd);
	}
	gmprt_wg_done(&wg);
}

static void sample_threads(void)
{
	long t = count_dir("/proc/self/task"), old = atomic_load(&max_threads);

	while (t > old && !atomic_compare_exchange_weak(&max_threads, &old, t))
		;
}

static void client(void *arg)
{
	long id = (long)arg, n;
	char out[MSG], in[MSG];
	int fd = dial(&lsa), i, got;

	GCHECKF(fd >= 0, "connect: %d", fd);
	if (fd < 0) {
		gmprt_wg_done(&connected);
		gmprt_wg_done(&wg);
		return;
	}
	for (i = 0; i < MSG; i++)
		out[i] = (char)(id * 31 + i);
	GCHECK(gmprt_write(fd, out, MSG) == MSG);
	for (got = 0; got < MSG; got += n) {
		n = gmprt_read(fd, in + got, MSG - got);
		GCHECKF(n > 0, "client read: %ld", n);
		if (n <= 0)
			break;
	}
	GCHECK(memcmp(in, out, MSG) == 0);
	atomic_fetch_add(&checked, 1);
	/* All 10,000 are open at once before any closes. */
	gmprt_wg_done(&connected);
	gmprt_chan_recv(release_all, NULL);
	close_rst(fd);
	gmprt_wg_done(&wg);
}

static int many_main(void *arg)
{
	int nprocs = (int)(long)arg;
	long i;

	raise_nofile(2 * NCONN + 256);
	lfd = listen_any(&lsa, 4096);
	GCHECK(lfd >= 0);
	release_all = gmprt_chan_make(0, 0);
	gmprt_wg_add(&wg, 1 + 2 * NCONN);
	gmprt_wg_add(&connected, NCONN);
	gmprt_go(acceptor, (void *)(long)NCONN);
	for (i = 0; i < NCONN; i++) {
		gmprt_go(client, (void *)i);
		if (i % 500 == 0)
			sample_threads();
	}
	gmprt_wg_wait(&connected);
	sample_threads();
	/*
	 * All 10,000 open and idle: the Ms block detection made during the
	 * storm exit once idle (proc.c, "Spare Ms exit").  A liveness bound
	 * (the harness's timeout), not a timing threshold.
	 */
	for (i = 0; i < 3000 && (steady_threads = count_dir("/proc/self/task")) > nprocs + 3; i++)
		gmprt_sleep(20 * 1000 * 1000);
	gmprt_chan_close(release_all);
	gmprt_wg_wait(&wg);
	gmprt_close(lfd);
	GCHECKF(atomic_load(&checked) == NCONN, "%ld connections checked", atomic_load(&checked));
	GCHECKF(atomic_load(&echoed) == (long)NCONN * MSG, "%ld bytes echoed",
		atomic_load(&echoed));
	/* Not a thread per connection: main, template, sysmon, the Ps' Ms. */
	GCHECKF(steady_threads <= nprocs + 3, "%ld threads for %d Ps, %ld connections",
		steady_threads, nprocs, NCONN);
	return 0;
}

TEST_F_TIMEOUT(rt, ten_thousand_connections, 600)
{
	struct gmprt_config c = GMPRT_CONFIG_INIT;

	NCONN = vm_volume(NCONN);
	c.nprocs = variant->nprocs;
	c.stack_size = 32 * 1024;
	ASSERT_EQ(0, gmprt_main(many_main, (void *)(long)variant->nprocs, &c));
	RT_ASSERT_CLEAN();
	TH_LOG("%ld threads with %ld connections open (%ld at the peak of the connect storm)",
	       steady_threads, NCONN, atomic_load(&max_threads));
}

/* ---- no leak after 100k connections ------------------------------------- */

static long LEAK_TOTAL = 100000;
#define LEAK_BATCH 500

static void leak_client(void *arg)
{
	int fd = dial(arg);
	char b = 'z';

	GCHECK(fd >= 0);
	if (fd >= 0) {
		GCHECK(gmprt_write(fd, &b, 1) == 1);
		GCHECK(gmprt_read(fd, &b, 1) == 1);
		close_rst(fd);
	}
	gmprt_wg_done(&wg);
}

static void leak_server(void *arg)
{
	int fd = (int)(long)arg;
	char b;

	if (gmprt_read(fd, &b, 1) == 1)
		gmprt_write(fd, &b, 1);
	gmprt_close(fd);
	gmprt_wg_done(&wg);
}

static long rss_kb(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static long fds_before, fds_after, rss_mid, rss_end;

static int leak_main(void *arg)
{
	struct sockaddr_in sa;
	int l = listen_any(&sa, 4096);
	long i, j;

	(void)arg;
	for (i = 0; i < LEAK_TOTAL; i += LEAK_BATCH) {
		if (i == LEAK_TOTAL / 2) {
			rss_mid = rss_kb();
			fds_before = count_dir("/proc/self/fd");
		}
		gmprt_wg_add(&wg, 2 * LEAK_BATCH);
		for (j = 0; j < LEAK_BATCH; j++)
			gmprt_go(leak_client, &sa);
		for (j = 0; j < LEAK_BATCH; j++) {
			int fd = gmprt_accept(l, NULL, NULL, SOCK_CLOEXEC);

			GCHECK(fd >= 0);
			if (fd >= 0)
				gmprt_go(leak_server, (void *)(long)fd);
			else
				gmprt_wg_done(&wg);
		}
		gmprt_wg_wait(&wg);
	}
	fds_after = count_dir("/proc/self/fd");
	rss_end = rss_kb();
	GCHECKF(fds_after == fds_before, "fds: %ld half way, %ld at the end",
		fds_before, fds_after);
	/* Steady state: the second half adds no memory (a little noise allowed). */
	GCHECKF(rss_end <= rss_mid + 2048, "RSS %ld KiB half way, %ld KiB at the end",
		rss_mid, rss_end);
	gmprt_close(l);
	return 0;
}

/* Once, at 2 Ps: 100k connections take a while under emulation. */
FIXTURE(once) {
};
FIXTURE_SETUP(once)
{
}
FIXTURE_TEARDOWN(once)
{
}

TEST_F_TIMEOUT(once, no_leak_after_100k_connections, 900)
{
	LEAK_TOTAL = vm_volume(LEAK_TOTAL);
	ASSERT_EQ(0, rt_run(2, leak_main, NULL));
	RT_ASSERT_CLEAN();
	TH_LOG("%ld connections: fds %ld -> %ld, RSS %ld -> %ld KiB", LEAK_TOTAL,
	       fds_before, fds_after, rss_mid, rss_end);
}

TEST_HARNESS_MAIN
