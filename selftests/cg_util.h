/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the selftests that put a process in a cgroup of their own
 * (cgroup v2, mounted at /sys/fs/cgroup by the VM's init): make one, with
 * the controllers the tests need, nested or not, write and read its files,
 * move a process in.  Every call returns 0 or -errno (reads: -1 on error).
 */
#ifndef CG_UTIL_H
#define CG_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROOT		"/sys/fs/cgroup"

static inline long read_long_at(const char *path)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	long v = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v;
}

static inline int write_str(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, v, strlen(v)) == (ssize_t)strlen(v) ? 0 : -errno;
	close(fd);
	return ret;
}

/* A cgroup of ours, with the controllers the tests need. */
struct cg {
	char dir[128];
};

#define CG_CONTROLLERS	"+pids +memory +cpu +cpuset"

/*
 * @name-<pid> under @parent, or under the root if @parent is NULL; the
 * parent's controllers are turned on for its children (harmless if on).
 */
static inline int cg_make_in(struct cg *c, const struct cg *parent,
			     const char *name)
{
	const char *up = parent ? parent->dir : CGROOT;
	char path[192];

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", up);
	write_str(path, CG_CONTROLLERS);
	if (snprintf(c->dir, sizeof(c->dir), "%.80s/%.24s-%d", up, name,
		     getpid()) >= (int)sizeof(c->dir))
		return -ENAMETOOLONG;
	if (mkdir(c->dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->dir);
	return access(path, W_OK) ? -errno : 0;
}

static inline int cg_make(struct cg *c, const char *name)
{
	return cg_make_in(c, NULL, name);
}

static inline int cg_set(const struct cg *c, const char *file, const char *v)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", c->dir, file);
	return write_str(path, v);
}

static inline long cg_get(const struct cg *c, const char *file)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", c->dir, file);
	return read_long_at(path);
}

/* The value of "key N" in a cgroup's flat keyed file (cgroup.events). */
static inline long cg_key(const struct cg *c, const char *file, const char *key)
{
	char path[192], buf[512] = { 0 }, *at;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", c->dir, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) <= 0) {
		close(fd);
		return -1;
	}
	close(fd);
	at = strstr(buf, key);
	return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* Move process @pid (0: the caller) into @c. */
static inline int cg_enter(const struct cg *c, pid_t pid)
{
	char me[16];

	snprintf(me, sizeof(me), "%d", pid ? pid : getpid());
	return cg_set(c, "cgroup.procs", me);
}

/* Only empty cgroups go: move out what is left first. */
static inline void cg_remove(struct cg *c)
{
	if (c->dir[0])
		rmdir(c->dir);
	c->dir[0] = '\0';
}

#endif /* CG_UTIL_H */
