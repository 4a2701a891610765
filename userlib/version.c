// SPDX-License-Identifier: GPL-2.0
#include "gmprt.h"

const char *gmprt_version(void)
{
	return "0.1";
}
