// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-timeout: run a test binary in its own process group, with a time limit,
 * indenting its output for TAP.
 *
 * Usage: gmp-timeout SECONDS PREFIX PROGRAM [ARG...]
 *
 * busybox's timeout kills only the process it started; the kselftest harness
 * forks a child per test case, and a child that outlives a killed parent keeps
 * the output pipe open forever.  So the test gets a process group of its own,
 * and the whole group is killed on timeout, and again when the test ends (to
 * reap anything it left behind).  The output is copied line by line with
 * PREFIX in front and flushed at once, so the host sees progress live
 * (busybox sed cannot be made unbuffered).
 *
 * Exit status: the program's, 128 + N if signal N killed it, 124 on timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *prefix;
static char line[4096];
static size_t len;

static void flush_line(void)
{
	if (!len)
		return;
	printf("%s%.*s\n", prefix, (int)len, line);
	fflush(stdout);
	len = 0;
}

static void copy_out(const char *buf, ssize_t n)
{
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || len == sizeof(line)) {
			if (!len)
				printf("%s\n", prefix);
			flush_line();
			if (buf[i] == '\n')
				continue;
		}
		line[len++] = buf[i];
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Copy what the pipe holds until EOF or @until; false on EOF. */
static int pump(int fd, double until)
{
	char buf[4096];

	for (;;) {
		int left = (int)((until - now()) * 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return 1;
		if (poll(&p, 1, left > 200 ? 200 : left) <= 0)
			return 1;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return 0;
		copy_out(buf, n);
	}
}

int main(int argc, char **argv)
{
	int status = 0, fds[2], open_pipe = 1, timed_out = 0;
	double deadline;
	long secs;
	pid_t pid;

	if (argc < 4 || (secs = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: gmp-timeout SECONDS PREFIX PROGRAM [ARG...]\n");
		return 125;
	}
	prefix = argv[2];
	if (pipe(fds) < 0) {
		perror("gmp-timeout: pipe");
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		perror("gmp-timeout: fork");
		return 125;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[3], argv + 3);
		perror("gmp-timeout: exec");
		_exit(127);
	}
	setpgid(pid, pid);
	close(fds[1]);
	deadline = now() + secs;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (now() >= deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			timed_out = 1;
			break;
		}
		if (open_pipe)
			open_pipe = pump(fds[0], now() + 0.2);
		else
			usleep(50000);
	}
	/* Whatever the test left behind goes too; then drain its output. */
	kill(-pid, SIGKILL);
	if (open_pipe)
		pump(fds[0], now() + 2);
	flush_line();
	if (timed_out) {
		printf("%sgmp-timeout: %s killed after %ld s\n", prefix, argv[3], secs);
		fflush(stdout);
		return 124;
	}
	if (WIFSIGNALED(status)) {
		printf("%sgmp-timeout: %s killed by signal %d (%s)\n", prefix,
		       argv[3], WTERMSIG(status), strsignal(WTERMSIG(status)));
		fflush(stdout);
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
