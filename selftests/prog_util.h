/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run a program the initramfs carries (an example, the install test's) and
 * keep what it printed: the tests of whole programs, as a user runs them.
 */
#ifndef PROG_UTIL_H
#define PROG_UTIL_H

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * prog_run() - run @argv[0] with @argv, and @env added to the environment
 * (NULL: none), stdout and stderr into @out (NUL-terminated, truncated
 * to @len - 1).  Killed after @timeout_s seconds.
 * Return: its exit status; 128 + the signal that killed it; -1 if it could
 * not be started (127: exec failed, as sh says).
 */
static inline int prog_run(char *const argv[], char *const env[], char *out,
			   size_t len, unsigned int timeout_s)
{
	int pfd[2], status, i;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		for (i = 0; env && env[i]; i++)
			putenv(env[i]);
		alarm(timeout_s);	/* kept across exec: SIGALRM kills it */
		execv(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char drop[512];		/* what does not fit: read, not kept */

		if (got < (ssize_t)len - 1)
			n = read(pfd[0], out + got, len - 1 - got);
		else
			n = read(pfd[0], drop, sizeof(drop));
		if (n <= 0)
			break;
		if (got < (ssize_t)len - 1)
			got += n;
	}
	out[got] = 0;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif /* PROG_UTIL_H */
