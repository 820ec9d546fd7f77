/*
 * recurse.c - upstream recursors through c-ares on libev. See recurse.h.
 *
 * One c-ares channel per recursor, each holding that one server, with
 * ARES_OPT_TRIES 1, ARES_OPT_TIMEOUTMS, no rotation and
 * ARES_FLAG_NOCHECKRESP; a query moves from one channel to the next here,
 * in recurse_ares_cb. Why not one channel with every server: c-ares moves
 * on by itself only after a timeout, a socket error, or SERVFAIL, NOTIMP
 * and REFUSED, and hands back any other rcode (FORMERR, YXDOMAIN...) as
 * the answer, while Consul moves on for every rcode but NOERROR and
 * NXDOMAIN; and a query re-sent on a shared channel starts again from the
 * first server. With a channel per server c-ares still does sockets,
 * timeouts, ID matching and the TCP retry, and the order is ours: the
 * simplest way to get Consul's rule exactly.
 *
 * Left unset on purpose, as tried against 1.18.1: ARES_FLAG_EDNS (on a
 * FORMERR, c-ares cuts 11 bytes off the end of the query it holds and
 * sends that again, mangling a client's query it did not build) and
 * ARES_FLAG_IGNTC (c-ares then cuts any UDP answer to 512 bytes, leaving
 * a broken message). So a UDP answer with TC, or over 512 bytes, is asked
 * again over TCP, and the caller fits the answer to its client.
 * /dev/null stands in for resolv.conf: no "options rotate" from the host.
 *
 * c-ares 1.18 sends the ID it is given (later versions make their own),
 * so each upstream query gets a random ID here (recurse_id) and the
 * client's goes back on the answer.
 *
 * libev: ARES_OPT_SOCK_STATE_CB keeps one ev_io per c-ares socket; one
 * ev_timer, set from the nearest ares_timeout() of all channels, calls
 * ares_process_fd(ARES_SOCKET_BAD, ARES_SOCKET_BAD) on each when it fires.
 * A query that fails while recurse_send() is still running (c-ares calls
 * back at once when it cannot open a socket) is finished from a zero
 * timer, so callbacks never run inside recurse_send() or recurse_addrs().
 *
 * A recursor whose port is closed refuses one query with "port
 * unreachable", but c-ares 1.18 fails only that one: the others on the
 * same socket (recurse_addrs() sends A and AAAA together) would wait the
 * whole timeout. So a refusal cancels everything else in flight on that
 * recursor's channel too (ares_cancel, from the same zero timer, never
 * inside a c-ares callback), and each of those moves on to the next
 * recursor at once.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "recurse.h"

#define RECURSE_R_NOERROR	0
#define RECURSE_R_NXDOMAIN	3
#define RECURSE_T_A		1
#define RECURSE_T_AAAA		28
#define RECURSE_C_IN		1
#define RECURSE_TIMEOUT_MAX	600.0	/* seconds per recursor */

/* One recursor and its own c-ares channel. */
struct recurse_chan {
	struct recurse		*r;
	ares_channel		 ch;
	int			 refused;	/* cancel what is in flight */
	char			 name[64];	/* "ip:port", for log lines */
};

/* The ev_io watching one c-ares socket. */
struct recurse_sock {
	ev_io			 io;
	struct recurse_chan	*chan;
	LIST_ENTRY(recurse_sock) entry;
};

/* A recurse_addrs() call: its A and AAAA questions. */
struct recurse_pair {
	recurse_addrs_cb	*cb;
	void			*arg;
	int			 pending;	/* questions not finished */
	int			 answered;	/* one got an answer */
	size_t			 n;
	uint32_t		 ttl;
	struct recurse_addr	 addrs[2 * RECURSE_ADDRS_MAX];
};

/* One question on its way through the recursors, in order. */
struct recurse_query {
	struct recurse		*r;
	size_t			 next;		/* the recursor asked */
	recurse_cb		*cb;		/* recurse_send(), or */
	void			*arg;
	struct recurse_pair	*pair;		/* recurse_addrs() */
	int			 type;		/* A or AAAA, for pair */
	TAILQ_ENTRY(recurse_query) entry;	/* on r->failed */
	uint16_t		 id;		/* the client's */
	size_t			 len;
	unsigned char		 pkt[];		/* the query as given */
};

struct recurse {
	struct ev_loop		*loop;
	struct recurse_chan	 chan[RECURSE_MAX];
	size_t			 nchan;
	ev_timer		 timer;		/* c-ares timeouts */
	ev_timer		 later;		/* finishes r->failed,
						   cancels refused chans */
	LIST_HEAD(, recurse_sock) socks;
	TAILQ_HEAD(, recurse_query) failed;
	unsigned		 npending;	/* queries not finished */
	int			 inside;	/* in recurse_send/addrs */
	int			 freeing;
	uint64_t		 rng;		/* when getrandom fails */
	unsigned char		 ids[256];	/* random upstream IDs */
	size_t			 nids;		/* bytes of ids unused */
};

static void	recurse_ares_cb(void *, int, int, unsigned char *, int);

/* recurse_parse - "ip", "ip:port", "[ip6]" or "[ip6]:port" into node */
static int
recurse_parse(const char *s, struct ares_addr_port_node *node, char *name,
    size_t namelen, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 8], text[INET6_ADDRSTRLEN];
	const char *port = NULL, *end;
	unsigned long p = 53;
	size_t hl, i;

	memset(node, 0, sizeof(*node));
	if (s[0] == '[') {
		/* Brackets: IPv6 only, as Go's net.SplitHostPort reads it. */
		if ((end = strchr(s, ']')) == NULL)
			goto bad;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
		hl = (size_t)(end - s - 1);
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &node->addr.addr6) != 1)
			goto bad;
		node->family = AF_INET6;
	} else if (inet_pton(AF_INET6, s, &node->addr.addr6) == 1) {
		/* A bare IPv6 address: "2001:db8::1:53" is all address. */
		node->family = AF_INET6;
	} else {
		end = strrchr(s, ':');
		hl = end != NULL ? (size_t)(end - s) : strlen(s);
		if (end != NULL)
			port = end + 1;
		if (hl >= sizeof(host))
			goto bad;
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &node->addr.addr4) != 1)
			goto bad;
		node->family = AF_INET;
	}
	if (port != NULL) {
		for (i = 0, p = 0; i < 5 && port[i] >= '0' && port[i] <= '9';
		    i++)
			p = p * 10 + (unsigned long)(port[i] - '0');
		if (i == 0 || port[i] != '\0' || p == 0 || p > 65535) {
			snprintf(err, errlen, "recursor \"%.100s\": bad port",
			    s);
			return -1;
		}
	}
	node->udp_port = node->tcp_port = (int)p;
	inet_ntop(node->family, &node->addr, text, sizeof(text));
	snprintf(name, namelen, node->family == AF_INET6 ? "[%s]:%lu" :
	    "%s:%lu", text, p);
	return 0;
bad:
	snprintf(err, errlen, "recursor \"%.100s\": expected an IP address, "
	    "IP:port or [IPv6]:port", s);
	return -1;
}

/* recurse_timer_update - set the timer to c-ares's nearest timeout */
static void
recurse_timer_update(struct recurse *r)
{
	struct timeval tv, *tp;
	double t = -1, d;
	size_t i;

	ev_timer_stop(r->loop, &r->timer);
	for (i = 0; i < r->nchan; i++) {
		if ((tp = ares_timeout(r->chan[i].ch, NULL, &tv)) == NULL)
			continue;
		d = (double)tp->tv_sec + (double)tp->tv_usec / 1e6;
		if (t < 0 || d < t)
			t = d;
	}
	if (t < 0)
		return;		/* nothing in flight */
	/* ares_timeout() rounds down to the millisecond: do not fire early. */
	ev_timer_set(&r->timer, t + 0.001, 0.);
	ev_timer_start(r->loop, &r->timer);
}

/* recurse_timer_cb - a query's time may be up: let c-ares see */
static void
recurse_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct recurse *r = w->data;
	size_t i;

	for (i = 0; i < r->nchan; i++)
		ares_process_fd(r->chan[i].ch, ARES_SOCKET_BAD,
		    ARES_SOCKET_BAD);
	recurse_timer_update(r);
}

/* recurse_io_cb - a c-ares socket is ready */
static void
recurse_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct recurse_sock *s = w->data;
	struct recurse_chan *c = s->chan;
	int fd = w->fd;

	/* s may be freed inside: c-ares closes sockets it is done with. */
	ares_process_fd(c->ch, (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	recurse_timer_update(c->r);
}

/* recurse_sock_cb - c-ares opened, changed or is closing a socket */
static void
recurse_sock_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct recurse_chan *c = data;
	struct recurse *r = c->r;
	struct recurse_sock *s;

	LIST_FOREACH(s, &r->socks, entry)
		if (s->io.fd == fd)
			break;
	if (!readable && !writable) {
		/* Called before c-ares closes fd: stop watching it first. */
		if (s != NULL) {
			ev_io_stop(r->loop, &s->io);
			LIST_REMOVE(s, entry);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			log_fatal("out of memory");
		LIST_INSERT_HEAD(&r->socks, s, entry);
	} else
		ev_io_stop(r->loop, &s->io);
	s->chan = c;
	ev_io_init(&s->io, recurse_io_cb, fd, (readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0));
	s->io.data = s;
	ev_io_start(r->loop, &s->io);
}

/* recurse_pair_part - one of recurse_addrs()'s answers, or its failure */
static void
recurse_pair_part(struct recurse_query *q, unsigned char *ans, size_t alen)
{
	struct recurse_pair *p = q->pair;
	struct ares_addrttl a4[RECURSE_ADDRS_MAX];
	struct ares_addr6ttl a6[RECURSE_ADDRS_MAX];
	struct recurse_addr *a;
	int i, n = RECURSE_ADDRS_MAX, rc;
	uint32_t ttl;

	if (ans != NULL && (ans[3] & 0x0f) == RECURSE_R_NXDOMAIN)
		p->answered = 1;	/* no such name: no addresses */
	else if (ans != NULL) {
		if (q->type == RECURSE_T_A)
			rc = ares_parse_a_reply(ans, (int)alen, NULL, a4, &n);
		else
			rc = ares_parse_aaaa_reply(ans, (int)alen, NULL, a6,
			    &n);
		if (rc == ARES_ENODATA)
			p->answered = 1;
		else if (rc != ARES_SUCCESS)
			log_debug("recursor %s: %s answer: %s",
			    q->r->chan[q->next].name, q->type == RECURSE_T_A ?
			    "A" : "AAAA", ares_strerror(rc));
		else {
			p->answered = 1;
			for (i = 0; i < n; i++) {
				a = &p->addrs[p->n++];
				memset(a, 0, sizeof(*a));
				if (q->type == RECURSE_T_A) {
					a->family = AF_INET;
					memcpy(a->addr, &a4[i].ipaddr, 4);
					ttl = a4[i].ttl > 0 ?
					    (uint32_t)a4[i].ttl : 0;
				} else {
					a->family = AF_INET6;
					memcpy(a->addr, &a6[i].ip6addr, 16);
					ttl = a6[i].ttl > 0 ?
					    (uint32_t)a6[i].ttl : 0;
				}
				if (p->n == 1 || ttl < p->ttl)
					p->ttl = ttl;
			}
		}
	}
	if (--p->pending > 0)
		return;
	p->cb(p->arg, p->answered ? 0 : -1, p->addrs, p->n,
	    p->n > 0 ? p->ttl : 0);
	free(p);
}

/*
 * recurse_finish - hand the answer (or NULL: every recursor failed) to
 * the caller and free q. A failure inside recurse_send() waits for the
 * zero timer, so the caller never sees its callback before the return.
 */
static void
recurse_finish(struct recurse_query *q, unsigned char *ans, size_t alen)
{
	struct recurse *r = q->r;

	if (ans == NULL && r->inside && !r->freeing) {
		TAILQ_INSERT_TAIL(&r->failed, q, entry);
		ev_timer_start(r->loop, &r->later);
		return;
	}
	r->npending--;
	if (q->pair != NULL)
		recurse_pair_part(q, ans, alen);
	else if (ans != NULL) {
		/* The upstream saw our ID; the client gets its own back. */
		ans[0] = (unsigned char)(q->id >> 8);
		ans[1] = (unsigned char)q->id;
		q->cb(q->arg, 0, ans, alen);
	} else
		q->cb(q->arg, -1, NULL, 0);
	free(q);
}

/*
 * recurse_later_cb - finish the queries that failed at once, and move on
 * what waits at a recursor that refused
 */
static void
recurse_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct recurse *r = w->data;
	struct recurse_query *q;
	size_t i;

	while ((q = TAILQ_FIRST(&r->failed)) != NULL) {
		TAILQ_REMOVE(&r->failed, q, entry);
		recurse_finish(q, NULL, 0);
	}
	for (i = 0; i < r->nchan; i++)
		if (r->chan[i].refused) {
			r->chan[i].refused = 0;
			ares_cancel(r->chan[i].ch);	/* ARES_ECANCELLED */
		}
	recurse_timer_update(r);
}

/*
 * recurse_id - a fresh random ID for an upstream query: the client's own,
 * which it chose and may repeat, would make forged answers easy to match.
 */
static void
recurse_id(struct recurse *r, unsigned char *out)
{
	size_t i;

	if (r->nids < 2) {
		if (getrandom(r->ids, sizeof(r->ids), GRND_NONBLOCK) ==
		    (ssize_t)sizeof(r->ids))
			r->nids = sizeof(r->ids);
		else {
			/* No entropy yet (early boot): xorshift64. */
			for (i = 0; i < sizeof(r->ids); i++) {
				r->rng ^= r->rng << 13;
				r->rng ^= r->rng >> 7;
				r->rng ^= r->rng << 17;
				r->ids[i] = (unsigned char)r->rng;
			}
			r->nids = sizeof(r->ids);
		}
	}
	out[0] = r->ids[--r->nids];
	out[1] = r->ids[--r->nids];
}

/* recurse_try - ask recursor q->next; its answer comes to recurse_ares_cb */
static void
recurse_try(struct recurse_query *q)
{
	recurse_id(q->r, q->pkt);
	ares_send(q->r->chan[q->next].ch, q->pkt, (int)q->len,
	    recurse_ares_cb, q);
}

/*
 * recurse_ares_cb - one recursor answered or failed. As Consul's
 * handleRecurse: NOERROR and NXDOMAIN are answers; any other rcode, a
 * timeout or a network error moves on to the next recursor.
 */
static void
recurse_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct recurse_query *q = arg;
	struct recurse *r = q->r;
	const char *name = r->chan[q->next].name;
	int rcode;

	if (status == ARES_SUCCESS && abuf != NULL && alen >= 12) {
		rcode = abuf[3] & 0x0f;
		if (!(abuf[2] & 0x80))
			log_debug("recursor %s: not a response", name);
		else if (rcode == RECURSE_R_NOERROR ||
		    rcode == RECURSE_R_NXDOMAIN) {
			recurse_finish(q, abuf, (size_t)alen);
			return;
		} else
			log_debug("recursor %s: rcode %d", name, rcode);
	} else if (status != ARES_EDESTRUCTION)
		log_debug("recursor %s: %s", name, status == ARES_SUCCESS ?
		    "short answer" : ares_strerror(status));
	if (status == ARES_ECONNREFUSED && !r->freeing) {
		r->chan[q->next].refused = 1;
		ev_timer_start(r->loop, &r->later);
	}
	if (r->freeing || status == ARES_EDESTRUCTION) {
		recurse_finish(q, NULL, 0);
		return;
	}
	if (++q->next < r->nchan) {
		recurse_try(q);
		return;
	}
	q->next--;
	log_debug("all %zu recursors failed", r->nchan);
	recurse_finish(q, NULL, 0);
}

/* recurse_query_new - a query holding its own copy of pkt */
static struct recurse_query *
recurse_query_new(struct recurse *r, const unsigned char *pkt, size_t len)
{
	struct recurse_query *q;

	if ((q = calloc(1, sizeof(*q) + len)) == NULL)
		log_fatal("out of memory");
	q->r = r;
	q->id = (uint16_t)(pkt[0] << 8 | pkt[1]);
	q->len = len;
	memcpy(q->pkt, pkt, len);
	return q;
}

/* recurse_start - send q to the first recursor */
static void
recurse_start(struct recurse_query *q)
{
	struct recurse *r = q->r;
	int inside = r->inside;

	r->npending++;
	r->inside = 1;
	recurse_try(q);
	r->inside = inside;
	recurse_timer_update(r);
}

/* recurse_send - forward a client's query */
int
recurse_send(struct recurse *r, const unsigned char *query, size_t len,
    recurse_cb *cb, void *arg)
{
	struct recurse_query *q;

	if (r->freeing || len < 12 || len > 65535)
		return -1;
	q = recurse_query_new(r, query, len);
	q->cb = cb;
	q->arg = arg;
	recurse_start(q);
	return 0;
}

/* recurse_addrs - ask for name's A and AAAA records */
int
recurse_addrs(struct recurse *r, const char *name, recurse_addrs_cb *cb,
    void *arg)
{
	static const int types[2] = { RECURSE_T_A, RECURSE_T_AAAA };
	struct recurse_query *q[2];
	struct recurse_pair *p;
	unsigned char *pkt;
	int i, len;

	if (r->freeing || name[0] == '\0')
		return -1;
	for (i = 0; i < 2; i++) {
		if (ares_create_query(name, RECURSE_C_IN, types[i], 0, 1,
		    &pkt, &len, 0) != ARES_SUCCESS) {
			if (i == 1)
				free(q[0]);
			return -1;
		}
		q[i] = recurse_query_new(r, pkt, (size_t)len);
		ares_free_string(pkt);
		q[i]->type = types[i];
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		log_fatal("out of memory");
	p->cb = cb;
	p->arg = arg;
	p->pending = 2;
	for (i = 0; i < 2; i++) {
		q[i]->pair = p;
		recurse_start(q[i]);
	}
	return 0;
}

/* recurse_destroy - the channels made so far, and the library's count */
static void
recurse_destroy(struct recurse *r)
{
	struct recurse_sock *s;
	size_t i;

	for (i = 0; i < r->nchan; i++)
		ares_destroy(r->chan[i].ch);
	while ((s = LIST_FIRST(&r->socks)) != NULL) {
		ev_io_stop(r->loop, &s->io);
		LIST_REMOVE(s, entry);
		free(s);
	}
	ev_timer_stop(r->loop, &r->timer);
	ev_timer_stop(r->loop, &r->later);
	if (r->npending != 0)
		log_panic("recurse: %u queries left after ares_destroy",
		    r->npending);
	free(r);
	ares_library_cleanup();
}

/* recurse_new - one c-ares channel per recursor, on loop */
struct recurse *
recurse_new(struct ev_loop *loop, const char *const *servers, size_t n,
    double timeout, char *err, size_t errlen)
{
	static char resolvconf[] = "/dev/null";
	struct ares_addr_port_node node[RECURSE_MAX];
	char names[RECURSE_MAX][64];
	struct ares_options o;
	struct recurse *r;
	size_t i;
	int rc;

	if (n == 0) {
		snprintf(err, errlen, "no recursors");
		return NULL;
	}
	if (n > RECURSE_MAX) {
		snprintf(err, errlen, "%zu recursors: at most %d", n,
		    RECURSE_MAX);
		return NULL;
	}
	if (!(timeout > 0) || timeout > RECURSE_TIMEOUT_MAX) {
		snprintf(err, errlen, "recursor_timeout %g: expected more "
		    "than 0 and at most %gs", timeout, RECURSE_TIMEOUT_MAX);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (servers[i] == NULL) {
			snprintf(err, errlen, "recursor %zu: missing", i);
			return NULL;
		}
		if (recurse_parse(servers[i], &node[i], names[i],
		    sizeof(names[i]), err, errlen) < 0)
			return NULL;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		log_fatal("out of memory");
	r->loop = loop;
	r->rng = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) | 1;
	LIST_INIT(&r->socks);
	TAILQ_INIT(&r->failed);
	ev_init(&r->timer, recurse_timer_cb);
	r->timer.data = r;
	ev_timer_init(&r->later, recurse_later_cb, 0., 0.);
	r->later.data = r;
	for (i = 0; i < n; i++) {
		memset(&o, 0, sizeof(o));
		o.flags = ARES_FLAG_NOCHECKRESP;
		o.tries = 1;
		o.timeout = (int)(timeout * 1000 + 0.5);
		if (o.timeout < 1)
			o.timeout = 1;
		o.sock_state_cb = recurse_sock_cb;
		o.sock_state_cb_data = &r->chan[i];
		o.resolvconf_path = resolvconf;
		r->chan[i].r = r;
		memcpy(r->chan[i].name, names[i], sizeof(names[i]));
		rc = ares_init_options(&r->chan[i].ch, &o, ARES_OPT_FLAGS |
		    ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS |
		    ARES_OPT_SOCK_STATE_CB | ARES_OPT_NOROTATE |
		    ARES_OPT_RESOLVCONF);
		if (rc != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
			recurse_destroy(r);
			return NULL;
		}
		r->nchan++;
		node[i].next = NULL;
		if ((rc = ares_set_servers_ports(r->chan[i].ch,
		    &node[i])) != ARES_SUCCESS) {
			snprintf(err, errlen, "recursor %s: c-ares: %s",
			    names[i], ares_strerror(rc));
			recurse_destroy(r);
			return NULL;
		}
	}
	return r;
}

/* recurse_free - every query still in flight gets status -1, then free */
void
recurse_free(struct recurse *r)
{
	struct recurse_query *q;

	if (r == NULL)
		return;
	r->freeing = 1;
	while ((q = TAILQ_FIRST(&r->failed)) != NULL) {
		TAILQ_REMOVE(&r->failed, q, entry);
		recurse_finish(q, NULL, 0);
	}
	/* ares_destroy() calls back each query with ARES_EDESTRUCTION. */
	recurse_destroy(r);
}
