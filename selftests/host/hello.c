// SPDX-License-Identifier: GPL-2.0
/*
 * The install test's program (selftests/host/install.sh): built outside
 * the tree against an installed libgmprt, with nothing but
 * "pkg-config --cflags --libs gmprt", shared and static; run in the VM by
 * selftests/install_test.c.  It uses the headers an install provides:
 * <gmprt.h>, its version header, and gmp.ko's <linux/gmp.h>.
 */
#include <stdio.h>
#include <gmprt.h>
#include <linux/gmp.h>

#define STR_(x)	#x
#define STR(x)	STR_(x)

static gmprt_chan *results;

static void square(void *arg)
{
	long v = (long)arg * (long)arg;

	gmprt_chan_send(results, &v);
}

static int real_main(void *arg)
{
	long v, sum = 0;

	results = gmprt_chan_make(sizeof(long), 0);
	for (long i = 1; i <= 10; i++)
		gmprt_go(square, (void *)i);
	for (int i = 0; i < 10; i++) {
		gmprt_chan_recv(results, &v);
		sum += v;
	}
	printf("hello: libgmprt %s, header %s, %d Ps, sum %ld, GMP_MAX_PROCS %d\n",
	       gmprt_version(), STR(GMPRT_VERSION_MAJOR) "." STR(GMPRT_VERSION_MINOR),
	       gmprt_nprocs(), sum, GMP_MAX_PROCS);
	return 0;
}

int main(void)
{
	struct gmprt_config cfg = GMPRT_CONFIG_INIT;

	cfg.nprocs = 2;
	/* Without gmp.ko it returns (having said why): a program could fall
	 * back to plain threads here. */
	return gmprt_main(real_main, NULL, &cfg) < 0 ? 2 : 0;
}
