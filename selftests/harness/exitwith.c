// SPDX-License-Identifier: GPL-2.0
/*
 * exitwith STATUS [ARG...]: prints each argument in <>, one a line, on
 * stdout and "stderr line" on stderr, then exits with STATUS.
 * qemu/check-harness.sh runs it with make vm-run.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc; i++)
		printf("<%s>\n", argv[i]);
	fprintf(stderr, "stderr line\n");
	return argc > 1 ? atoi(argv[1]) : 0;
}
