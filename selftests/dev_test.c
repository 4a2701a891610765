// SPDX-License-Identifier: GPL-2.0
/* /dev/gmp exists and opens. */
#include <fcntl.h>
#include <unistd.h>
#include "kselftest_harness.h"

TEST(open_close)
{
	int fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
