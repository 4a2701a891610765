/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GMPRT_H
#define GMPRT_H
#define GMPRT_API __attribute__((visibility("default")))
GMPRT_API const char *gmprt_version(void);
#endif
