// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/gmp exists and opens; who may open it (the dev_mode parameter, the
 * default 0600); the module says its version.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "gmp_util.h"

TEST(open_close)
{
	int fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
}

/* The first line of a sysfs file, without its newline, or "" */
static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

/* open(/dev/gmp) as uid/gid 65534 (nobody): 0 or the errno. */
static int open_as_nobody(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(100);
		fd = open("/dev/gmp", O_RDWR | O_CLOEXEC);
		_exit(fd < 0 ? errno : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static unsigned int dev_mode_now(void)
{
	struct stat st;

	if (stat("/dev/gmp", &st))
		return ~0U;
	return st.st_mode & 07777;
}

/* As loaded by the runner, with no parameter: root only. */
TEST(default_mode_is_root_only)
{
	char buf[32];
	struct stat st;

	ASSERT_EQ(0, stat("/dev/gmp", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
	read_line("/sys/module/gmp/parameters/dev_mode", buf, sizeof(buf));
	EXPECT_STREQ("0600", buf);
	EXPECT_EQ(EACCES, open_as_nobody());
}

/* finit_module() of gmp.ko with @params: 0 or -errno. */
static int load(const char *params)
{
	const char *ko = getenv("GMP_MODULE") ?: "/gmp.ko";
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -ENOENT;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

static bool gone(const char *path)
{
	struct stat st;

	return stat(path, &st) && errno == ENOENT;
}

/*
 * dev_mode=0666 lets anyone open it; a mode with more than permission bits,
 * or not octal, fails the load.  The module is loaded again with no
 * parameter after, as the runner left it.
 */
TEST(dev_mode_parameter)
{
	static const char *const bad[] = { "dev_mode=01666", "dev_mode=0999",
					   "dev_mode=rw", "dev_mode=" };
	char buf[32];
	unsigned int i;

	if (access(getenv("GMP_MODULE") ?: "/gmp.ko", R_OK))
		SKIP(return, "no gmp.ko to load");
	if (syscall(SYS_delete_module, "gmp", O_NONBLOCK))
		SKIP(return, "cannot unload gmp: %s", strerror(errno));
	ASSERT_EQ(0, load("dev_mode=0666"));
	ASSERT_TRUE(GMP_WAIT_UNTIL(dev_mode_now() == 0666));
	read_line("/sys/module/gmp/parameters/dev_mode", buf, sizeof(buf));
	EXPECT_STREQ("0666", buf);
	EXPECT_EQ(0, open_as_nobody());
	ASSERT_EQ(0, syscall(SYS_delete_module, "gmp", O_NONBLOCK));
	ASSERT_TRUE(GMP_WAIT_UNTIL(gone("/dev/gmp")));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, load(bad[i])) TH_LOG("%s", bad[i]);
		EXPECT_TRUE(gone("/sys/module/gmp")) TH_LOG("%s", bad[i]);
	}

	ASSERT_EQ(0, load(""));
	ASSERT_TRUE(GMP_WAIT_UNTIL(dev_mode_now() == 0600));
	EXPECT_EQ(EACCES, open_as_nobody());
}

/* modinfo's version, as the kernel keeps it: the project's VERSION. */
TEST(module_version)
{
	char buf[32];

	read_line("/sys/module/gmp/version", buf, sizeof(buf));
	ASSERT_STRNE("", buf);
	EXPECT_STREQ(GMP_VERSION, buf);
}

TEST_HARNESS_MAIN
