/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loopback sockets for the netpoller's tests (rt_netpoll_test,
 * rt_netscale_test): a listener on an ephemeral port, a dial through the
 * netpoller, a close that resets.  Include after rt_util.h.
 */
#ifndef RT_NET_UTIL_H
#define RT_NET_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* A listener on 127.0.0.1, port chosen by the kernel and left in @sa. */
static inline int listen_any(struct sockaddr_in *sa, int backlog)
{
	socklen_t l = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) ||
	    listen(fd, backlog) || getsockname(fd, (struct sockaddr *)sa, &l))
		return -1;
	return fd;
}

/* Connect to @sa from a G: the fd, or -errno. */
static inline int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	r = gmprt_connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (r) {
		gmprt_close(fd);
		return r;
	}
	return fd;
}

/* Close with a reset (SO_LINGER 0): the peer sees ECONNRESET, no TIME_WAIT. */
static inline void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	gmprt_close(fd);
}

#endif /* RT_NET_UTIL_H */
