// SPDX-License-Identifier: GPL-2.0
/*
 * The install test's second half: selftests/host/install.sh installed
 * libgmprt into a staging folder, built selftests/host/hello.c outside the
 * tree with nothing but pkg-config's flags, shared and static, and put both
 * programs in /pkgtest, with the installed libgmprt.so* in /usr/local/lib
 * and the C library and loader where an installed machine has them.  Here
 * both run with gmp.ko loaded.  LD_LIBRARY_PATH stands in for ldconfig,
 * which the VM has not run.
 */
#include <stdio.h>
#include "kselftest_harness.h"
#include "prog_util.h"
#include "gmprt_version.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)
/* hello.c's line: the header and the library agree with VERSION. */
#define HELLO	"hello: libgmprt " GMP_VERSION ", header " GMP_VERSION \
		", 2 Ps, sum 385, GMP_MAX_PROCS 1024\n"

static char out[8192];

TEST(static_program_runs)
{
	char *argv[] = { "/pkgtest/hello-static", NULL };

	ASSERT_EQ(0, prog_run(argv, NULL, out, sizeof(out), 60)) TH_LOG("%s", out);
	EXPECT_STREQ(HELLO, out);
}

TEST(shared_program_runs)
{
	char *argv[] = { "/pkgtest/hello-dyn", NULL };
	char *env[] = { "LD_LIBRARY_PATH=/usr/local/lib", "LD_BIND_NOW=1", NULL };

	ASSERT_EQ(0, prog_run(argv, env, out, sizeof(out), 60)) TH_LOG("%s", out);
	EXPECT_STREQ(HELLO, out);
}

/* Without the installed library, the loader refuses it: the soname is used. */
TEST(shared_program_needs_the_installed_library)
{
	char *argv[] = { "/pkgtest/hello-dyn", NULL };

	ASSERT_EQ(127, prog_run(argv, NULL, out, sizeof(out), 60)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "libgmprt.so." STR(GMPRT_VERSION_MAJOR))) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
