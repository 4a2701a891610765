// SPDX-License-Identifier: GPL-2.0
/* Harness self-test: a failing case must fail make check. */
#include "kselftest_harness.h"

TEST(passes)
{
	ASSERT_EQ(4, 2 + 2);
}

TEST(fails_on_purpose)
{
	ASSERT_EQ(5, 2 + 2);
}

TEST_HARNESS_MAIN
