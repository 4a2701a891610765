// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a test binary that never ends must be killed and fail
 * make check.  It ignores SIGTERM and leaves a child behind, as real hangs do.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	signal(SIGTERM, SIG_IGN);
	printf("TAP version 13\n1..1\n# hanging on purpose\n");
	fflush(stdout);
	if (fork() == 0)
		for (;;)
			pause();
	for (;;)
		pause();
}
