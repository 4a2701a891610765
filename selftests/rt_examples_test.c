// SPDX-License-Identifier: GPL-2.0
/*
 * The programs in examples/, run as a user runs them (the initramfs has
 * them in /bin), each with its output checked against what its comment
 * promises.  selftests/host/docs.sh fails when an example has no test here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include "kselftest_harness.h"
#include "prog_util.h"

static char out[64 * 1024];

/* Every "wave W: N Gs on M Ms: c1 c2 ..." line: the counts add up to N. */
static int check_waves(const char *text, unsigned long per, int *waves)
{
	const char *at = text;

	*waves = 0;
	while ((at = strstr(at, "\nwave "))) {
		unsigned long n, c, sum = 0;
		int w, m, i, used;
		const char *q;

		at++;
		if (sscanf(at, "wave %d: %lu Gs on %d Ms:%n", &w, &n, &m, &used) != 3)
			continue;
		for (q = at + used, i = 0; i < m; i++, q += used) {
			if (sscanf(q, " %lu%n", &c, &used) != 1)
				return -1;
			sum += c;
		}
		if (sum != n || n != per || m < 1)
			return -1;
		(*waves)++;
	}
	return 0;
}

TEST(demo)
{
	char *argv[] = { "/bin/gmp-demo", NULL };
	int waves;

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "gmp-demo: gmprt " GMP_VERSION ", ")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "after (scheddetail):"));
	ASSERT_EQ(0, check_waves(out, 2000, &waves)) TH_LOG("%s", out);
	EXPECT_EQ(4, waves) TH_LOG("%s", out);
}

/* gmp-demo N: N Gs a wave (make trace-demo's small run); a bad N is refused. */
TEST(demo_gs_per_wave)
{
	char *argv[] = { "/bin/gmp-demo", "40", NULL };
	char *bad[] = { "/bin/gmp-demo", "0", NULL };
	int waves;

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	ASSERT_EQ(0, check_waves(out, 40, &waves)) TH_LOG("%s", out);
	EXPECT_EQ(4, waves) TH_LOG("%s", out);
	EXPECT_EQ(2, prog_run(bad, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "usage: gmp-demo")) TH_LOG("%s", out);
}

TEST(threadring)
{
	char *argv[] = { "/bin/gmp-threadring", "1000", NULL };

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_STREQ("498\n", out);
}

/* Collatz steps of 1..1000: 59542 in all, 871 the longest (178 steps). */
TEST(workerpool)
{
	char *argv[] = { "/bin/gmp-workerpool", "1000", "8", NULL };
	char *envs[] = { "GMPRT_NPROCS=2", NULL };
	long done, sum = 0;
	const char *at;
	int w, n = 0;

	ASSERT_EQ(0, prog_run(argv, envs, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "jobs=1000 workers=8 steps=59542 longest=871 (178 steps)\n"))
		TH_LOG("%s", out);
	for (at = out; (at = strstr(at, "worker ")); at++)
		if (sscanf(at, "worker %d: %ld jobs", &w, &done) == 2) {
			EXPECT_EQ(n, w);
			sum += done;
			n++;
		}
	EXPECT_EQ(8, n);
	EXPECT_EQ(1000, sum);
}

/* A pool of one worker does every job; more workers than jobs is fine. */
TEST(workerpool_sizes)
{
	char *one[] = { "/bin/gmp-workerpool", "20000", "1", NULL };
	char *many[] = { "/bin/gmp-workerpool", "3", "100", NULL };

	ASSERT_EQ(0, prog_run(one, NULL, out, sizeof(out), 300)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "worker 0: 20000 jobs\n"));
	EXPECT_NE(NULL, strstr(out, "steps=1834634 longest=17647 (278 steps)\n")) TH_LOG("%s", out);
	ASSERT_EQ(0, prog_run(many, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "jobs=3 workers=100 steps=8 longest=3 (7 steps)\n"))
		TH_LOG("%s", out);
}

TEST(pipeline)
{
	char *argv[] = { "/bin/gmp-pipeline", NULL };

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_STREQ("all: 100 squares, sum 338350\n"
		     "early: took 5 of 1000000, done closed, every stage quit\n"
		     "stalled: no value in 20 ms (timed out)\n", out);
}

TEST(pipeline_empty)
{
	char *argv[] = { "/bin/gmp-pipeline", "0", NULL };

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 120)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "all: 0 squares, sum 0\n")) TH_LOG("%s", out);
}

/*
 * gmp-echo PORT: 50 clients at once echo 1000 bytes each; SIGTERM ends it
 * with status 0 and its count.
 */
static int echo_dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, tries;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (tries = 0; tries < 200; tries++) {	/* until it listens */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		usleep(50000);
	}
	return -1;
}

TEST(echo)
{
	int pfd[2], status, fds[50], i, k;
	char buf[1000], back[1000];
	ssize_t n, got;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execl("/bin/gmp-echo", "gmp-echo", "7007", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (i = 0; i < 50; i++) {
		fds[i] = echo_dial(7007);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 50; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		ASSERT_EQ((ssize_t)sizeof(buf), write(fds[i], buf, sizeof(buf)));
	}
	for (i = 0; i < 50; i++) {
		for (got = 0; got < (ssize_t)sizeof(back); got += n) {
			n = read(fds[i], back + got, sizeof(back) - got);
			ASSERT_LT(0, n);
		}
		for (k = 0; k < (int)sizeof(back); k++)
			ASSERT_EQ('a' + i % 26, back[k]);
		close(fds[i]);
	}
	usleep(100000);		/* the servers see the closes */
	ASSERT_EQ(0, kill(pid, SIGTERM));
	for (got = 0; got < (ssize_t)sizeof(out) - 1; got += n) {
		n = read(pfd[0], out + got, sizeof(out) - 1 - got);
		if (n <= 0)
			break;
	}
	out[got] = 0;
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) TH_LOG("%s", out);
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "gmp-echo: listening on 127.0.0.1:7007\n")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "gmp-echo: 50 connections, 50000 bytes\n")) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
