// SPDX-License-Identifier: GPL-2.0
/*
 * Harness self-test: a test binary that crashes outside the harness (so no
 * TAP totals ever appear) must fail make check.
 */
#include <signal.h>
#include <stdio.h>

int main(void)
{
	printf("TAP version 13\n1..1\n");
	fflush(stdout);
	raise(SIGSEGV);
	return 0;
}
