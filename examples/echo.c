// SPDX-License-Identifier: GPL-2.0
/*
 * gmp-echo PORT - an echo server: one G per connection, on the runtime's
 * network poller, not a thread per connection.
 *
 * Listens on 127.0.0.1:PORT, echoes every byte of every connection until
 * the client closes it, and runs until SIGTERM (or SIGINT): then it closes
 * its listener, which wakes the accepting G with -ECANCELED, prints
 * "gmp-echo: N connections, B bytes" and exits 0.
 *
 *	gmp-echo 7000 &
 *	echo hello | nc -q1 127.0.0.1 7000	# hello
 *	kill %1
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "gmprt.h"

static int listener;
static long conns, bytes;

static void serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	long n;

	while ((n = gmprt_read(fd, buf, sizeof(buf))) > 0) {
		if (gmprt_write(fd, buf, n) != n)
			break;
		__atomic_fetch_add(&bytes, n, __ATOMIC_RELAXED);
	}
	gmprt_close(fd);
}

/* SIGTERM: close the listener; the accept loop ends. */
static void on_signal(void *arg)
{
	gmprt_chan *sigs = arg;
	int sig;

	gmprt_chan_recv(sigs, &sig);
	gmprt_close(listener);
}

static int echo_main(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	gmprt_chan *sigs = gmprt_chan_make(sizeof(int), 2);
	int fd, one = 1;

	sa.sin_port = htons((unsigned short)(long)arg);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 ||
	    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listener, 4096)) {
		perror("gmp-echo: listen");
		return 1;
	}
	/* Registered with the poller now, so that gmprt_close() wakes accept. */
	gmprt_fd_set_deadline(listener, GMPRT_POLLIN, 0);
	gmprt_signal_notify(sigs, SIGTERM);
	gmprt_signal_notify(sigs, SIGINT);
	gmprt_go(on_signal, sigs);
	printf("gmp-echo: listening on 127.0.0.1:%ld\n", (long)arg);
	fflush(stdout);
	while ((fd = gmprt_accept(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0 ||
	       fd == -ECONNABORTED || fd == -EMFILE || fd == -ENFILE) {
		if (fd < 0) {
			gmprt_sleep(1000000);	/* out of fds: let some close */
			continue;
		}
		conns++;
		if (gmprt_go(serve, (void *)(long)fd))
			gmprt_close(fd);
	}
	if (fd != -ECANCELED) {
		fprintf(stderr, "gmp-echo: accept: %s\n", strerror(-fd));
		return 1;
	}
	printf("gmp-echo: %ld connections, %ld bytes\n", conns,
	       __atomic_load_n(&bytes, __ATOMIC_RELAXED));
	return 0;
}

int main(int argc, char **argv)
{
	long port = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	int r;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: gmp-echo PORT\n");
		return 2;
	}
	r = gmprt_main(echo_main, (void *)port, NULL);
	/* Below zero, the runtime did not start (it said why on stderr). */
	return r < 0 ? 1 : r;
}
