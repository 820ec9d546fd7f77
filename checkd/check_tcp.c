/*
 * check_tcp.c - TCP checks: a non-blocking connect on libev. See
 * check_tcp.h.
 *
 * One struct per run: the addresses getaddrinfo() gave, the socket of
 * the one being tried, an ev_io waiting for it to become writable (the
 * connect's end; SO_ERROR says how it ended) and one ev_timer, which is
 * the deadline or, when the outcome is known at once, a zero delay so
 * the callback still runs from the loop.
 *
 * Leaves out: what check_tcp.h lists, and source-address binding.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "check_exec.h"
#include "check_tcp.h"
#include "log.h"

struct check_tcp {
	ev_io		 io_w;
	ev_timer	 timer_w;
	struct ev_loop	*loop;
	void		(*cb)(void *, int, const char *);
	void		*arg;
	struct addrinfo	*ai, *cur;	/* all addresses; the one tried */
	int		 fd;
	int		 done;		/* the result is in, waiting for cb */
	int		 status;
	char		 out[512];	/* the output; the first error */
	char		 addr[256];
};

static void	tcp_next(struct check_tcp *);

/* tcp_free - close and free */
static void
tcp_free(struct check_tcp *t)
{
	ev_io_stop(t->loop, &t->io_w);
	ev_timer_stop(t->loop, &t->timer_w);
	if (t->fd != -1)
		close(t->fd);
	if (t->ai != NULL)
		freeaddrinfo(t->ai);
	free(t);
}

/* tcp_deliver - free the run, then tell its owner */
static void
tcp_deliver(struct check_tcp *t)
{
	void (*cb)(void *, int, const char *) = t->cb;
	void *arg = t->arg;
	char out[sizeof(t->out)];
	int status = t->status;

	memcpy(out, t->out, sizeof(out));
	tcp_free(t);
	cb(arg, status, out);
}

/* tcp_ended - the result is known: deliver it from the loop, soon */
static void
tcp_ended(struct check_tcp *t, int status)
{
	t->done = 1;
	t->status = status;
	ev_io_stop(t->loop, &t->io_w);
	ev_timer_stop(t->loop, &t->timer_w);
	ev_timer_set(&t->timer_w, 0., 0.);
	ev_timer_start(t->loop, &t->timer_w);
}

/* tcp_peer - "ip:port" ("[v6]:port") of the address being tried */
static void
tcp_peer(const struct check_tcp *t, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr *sa = t->cur->ai_addr;
	int port = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(out, n, "[%s]:%d", ip, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
		snprintf(out, n, "%s:%d", ip, port);
	}
}

/* tcp_failed - this address failed with errno e: keep the first, go on */
static void
tcp_failed(struct check_tcp *t, int e)
{
	char peer[80], why[128];

	if (t->out[0] == '\0') {
		tcp_peer(t, peer, sizeof(peer));
		/* Go's errno strings are glibc's in lower case. */
		snprintf(why, sizeof(why), "%s", strerror(e));
		why[0] = (char)tolower((unsigned char)why[0]);
		snprintf(t->out, sizeof(t->out), "dial tcp %s: connect: %s",
		    peer, why);
	}
	ev_io_stop(t->loop, &t->io_w);
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	t->cur = t->cur->ai_next;
	tcp_next(t);
}

/* tcp_io_cb - the connect ended */
static void
tcp_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct check_tcp *t = w->data;
	socklen_t len = sizeof(int);
	int e = 0;

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e == 0) {
		snprintf(t->out, sizeof(t->out), "TCP connect %s: Success",
		    t->addr);
		tcp_ended(t, CHECK_PASSING);
	} else
		tcp_failed(t, e);
}

/* tcp_timer_cb - the deadline, or the zero delay of a known result */
static void
tcp_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check_tcp *t = w->data;
	char peer[80];

	if (!t->done) {
		/* Go names the address it was dialing when time ran out. */
		tcp_peer(t, peer, sizeof(peer));
		snprintf(t->out, sizeof(t->out), "dial tcp %s: i/o timeout",
		    peer);
		t->status = CHECK_CRITICAL;
	}
	tcp_deliver(t);
}

/* tcp_next - try the current address, or end with the first error */
static void
tcp_next(struct check_tcp *t)
{
	for (; t->cur != NULL; t->cur = t->cur->ai_next) {
		t->fd = socket(t->cur->ai_family, t->cur->ai_socktype |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, t->cur->ai_protocol);
		if (t->fd == -1) {
			tcp_failed(t, errno);
			return;
		}
		if (connect(t->fd, t->cur->ai_addr, t->cur->ai_addrlen) == 0) {
			snprintf(t->out, sizeof(t->out), "TCP connect %s: "
			    "Success", t->addr);
			tcp_ended(t, CHECK_PASSING);
			return;
		}
		if (errno != EINPROGRESS) {
			tcp_failed(t, errno);
			return;
		}
		ev_io_init(&t->io_w, tcp_io_cb, t->fd, EV_WRITE);
		t->io_w.data = t;
		ev_io_start(t->loop, &t->io_w);
		return;
	}
	if (t->out[0] == '\0')
		snprintf(t->out, sizeof(t->out), "dial tcp %s: no suitable "
		    "address found", t->addr);
	tcp_ended(t, CHECK_CRITICAL);
}

/*
 * tcp_split - Go's net.SplitHostPort: host and port of addr, or -1 with
 * Go's reason
 */
static int
tcp_split(const char *addr, char *host, size_t hn, char *port, size_t pn,
    const char **why)
{
	const char *colon = strrchr(addr, ':'), *end;

	if (colon == NULL) {
		*why = "missing port in address";
		return -1;
	}
	if (addr[0] == '[') {
		if ((end = strchr(addr, ']')) == NULL) {
			*why = "missing ']' in address";
			return -1;
		}
		if (end[1] != ':') {
			*why = end[1] == '\0' ? "missing port in address" :
			    "too many colons in address";
			return -1;
		}
		snprintf(host, hn, "%.*s", (int)(end - addr - 1), addr + 1);
	} else {
		if (memchr(addr, ':', (size_t)(colon - addr)) != NULL) {
			*why = "too many colons in address";
			return -1;
		}
		snprintf(host, hn, "%.*s", (int)(colon - addr), addr);
	}
	snprintf(port, pn, "%s", colon + 1);
	return 0;
}

/* tcp_resolve - the addresses to try; -1 with Go's error in err */
static int
tcp_resolve(struct check_tcp *t, char *err, size_t errlen)
{
	struct addrinfo hints;
	char host[256], port[64];
	const char *why, *p;
	unsigned char tmp[sizeof(struct in6_addr)];
	int rc, numeric_port = 1;
	long n;

	if (tcp_split(t->addr, host, sizeof(host), port, sizeof(port),
	    &why) < 0) {
		snprintf(err, errlen, "dial tcp: address %s: %s", t->addr,
		    why);
		return -1;
	}
	for (p = port; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			numeric_port = 0;
	if (port[0] == '\0' || (numeric_port && ((n = strtol(port, NULL,
	    10)) < 0 || n > 65535 || strlen(port) > 5))) {
		snprintf(err, errlen, "dial tcp: address %s: invalid port",
		    t->addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	/* An IP literal must not wait on a resolver: say so. */
	if (inet_pton(AF_INET, host, tmp) == 1 ||
	    inet_pton(AF_INET6, host, tmp) == 1)
		hints.ai_flags |= AI_NUMERICHOST;
	if (numeric_port)
		hints.ai_flags |= AI_NUMERICSERV;
	/* An empty host is this machine, as in Go. */
	rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &t->ai);
	if (rc == EAI_SERVICE) {
		snprintf(err, errlen, "dial tcp: lookup tcp/%s: unknown port",
		    port);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "dial tcp: lookup %s: %s", host,
		    rc == EAI_NONAME || rc == EAI_NODATA ? "no such host" :
		    gai_strerror(rc));
		t->ai = NULL;
		return -1;
	}
	t->cur = t->ai;
	return 0;
}

struct check_tcp *
check_tcp_start(struct ev_loop *loop, const char *addr, int64_t timeout_ns,
    void (*cb)(void *, int, const char *), void *arg, char *err,
    size_t errlen)
{
	struct check_tcp *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		log_fatal("out of memory");
	t->loop = loop;
	t->cb = cb;
	t->arg = arg;
	t->fd = -1;
	snprintf(t->addr, sizeof(t->addr), "%s", addr);
	ev_init(&t->io_w, tcp_io_cb);
	t->io_w.data = t;
	if (timeout_ns <= 0)
		timeout_ns = CHECK_TCP_DEFAULT_TIMEOUT;
	ev_timer_init(&t->timer_w, tcp_timer_cb, (double)timeout_ns / 1e9,
	    0.);
	t->timer_w.data = t;
	if (tcp_resolve(t, err, errlen) < 0) {
		tcp_free(t);
		return NULL;
	}
	ev_timer_start(loop, &t->timer_w);
	tcp_next(t);
	return t;
}

void
check_tcp_cancel(struct check_tcp *t)
{
	if (t != NULL)
		tcp_free(t);
}
