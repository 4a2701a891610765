// SPDX-License-Identifier: GPL-2.0
/* Harness self-test: the control.  A run of only this must pass. */
#include "kselftest_harness.h"

TEST(passes)
{
	ASSERT_EQ(4, 2 + 2);
}

TEST_HARNESS_MAIN
