/*
 * check_tcp - one run of a TCP check, the way Consul's CheckTCP makes it:
 * connect to "host:port" within the timeout (the check's, or Consul's
 * 10s) and close at once. Passing with "TCP connect <addr>: Success";
 * critical with Go's dialer's words: "dial tcp 127.0.0.1:9: connect:
 * connection refused", "dial tcp 10.1.1.1:80: i/o timeout", "dial tcp:
 * lookup nosuch: no such host", "dial tcp: address x: missing port in
 * address". The connect is non-blocking, watched by an ev_io on the
 * loop; a name that resolves to several addresses is tried address by
 * address until one connects or the timeout, and the first error is
 * reported, as Go's serial dialer does.
 *
 * Leaves out: tcp_use_tls, Go's happy-eyeballs race between IPv6 and
 * IPv4, and asynchronous name resolution: an IP literal never blocks,
 * but a host name is resolved with getaddrinfo() on the loop, which
 * blocks it for as long as the resolver takes (use IP literals, or names
 * in /etc/hosts, for checks on a busy agent).
 */
#ifndef CAIRN_CHECK_TCP_H
#define CAIRN_CHECK_TCP_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "duration.h"

#define CHECK_TCP_DEFAULT_TIMEOUT	(10 * DUR_S)	/* Consul's */

struct check_tcp;

/*
 * check_tcp_start - connect to addr ("host:port", "[v6]:port");
 * timeout_ns <= 0 means 10s. cb(arg, status, output) runs exactly once,
 * from the loop and never inside this call, with an enum check_status;
 * output is valid during the call only and the handle is freed before
 * cb runs. NULL when no connection can be tried (a bad address, a name
 * that does not resolve): err then holds the check's critical output.
 */
struct check_tcp *check_tcp_start(struct ev_loop *, const char *addr,
	    int64_t timeout_ns,
	    void (*cb)(void *arg, int status, const char *output), void *arg,
	    char *err, size_t errlen);

/* check_tcp_cancel - abandon a run without calling back */
void	check_tcp_cancel(struct check_tcp *);

#endif
