/*
 * servers.c - the RPC client that finds a server. See servers.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "servers.h"

/* A server that is not up this long after dialing is passed over; the
 * wait doubles while none comes up. */
#define WAIT_MIN	1.0
#define WAIT_MAX	8.0
#define NO_SERVERS	"No known Consul servers"

/* A call waiting for the server connection to come up. */
struct servers_held {
	struct servers		*s;
	uint16_t		 type;
	rpc_cb			*cb;
	void			*arg;
	double			 deadline;	/* of the call's own timeout */
	ev_timer		 timer;
	size_t			 len;
	TAILQ_ENTRY(servers_held) entry;
	unsigned char		 body[];
};

static void	servers_up(struct rpc *);

/* servers_member_tag - see servers.h */
int
servers_member_tag(const void *rec, size_t len, const char *key, char *out,
    size_t n)
{
	struct attr_iter it;
	struct attr a, mt[A_META_VALUE + 1];

	attr_iter_init(&it, rec, len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_META &&
		    attr_index(a.val, a.len, mt, A_META_VALUE + 1) == 0 &&
		    mt[A_META_KEY].len == strlen(key) &&
		    memcmp(mt[A_META_KEY].val, key, mt[A_META_KEY].len) == 0)
			return attr_strcpy(&mt[A_META_VALUE], out, n) < 0 ||
			    strlen(out) != mt[A_META_VALUE].len ? -1 : 0;
	return -1;
}

int
servers_member_parse(const void *rec, size_t len, const char *dc,
    struct servers_member *m)
{
	struct attr tab[ATTR_TAB];
	char role[32], mdc[64], port[16], *end;
	uint64_t status = 0;
	long p;

	memset(m, 0, sizeof(*m));
	if (attr_index(rec, len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[A_NODE], m->node, sizeof(m->node)) < 0 ||
	    attr_strcpy(&tab[A_ADDRESS], m->addr, sizeof(m->addr)) < 0 ||
	    m->node[0] == '\0' || m->addr[0] == '\0')
		return -1;
	/* As Consul's client router: role=consul, our datacenter. */
	if (servers_member_tag(rec, len, "role", role, sizeof(role)) < 0 ||
	    strcmp(role, "consul") != 0 ||
	    servers_member_tag(rec, len, "dc", mdc, sizeof(mdc)) < 0 ||
	    strcmp(mdc, dc) != 0)
		return 0;
	if (servers_member_tag(rec, len, "port", port, sizeof(port)) < 0)
		return -1;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
		return -1;
	m->port = (int)p;
	attr_u64(&tab[A_MEMBER_STATUS], &status);
	m->alive = status == 1;
	return 1;
}

/* servers_find - the entry for node, or NULL */
static struct servers_member *
servers_find(struct servers *s, const char *node)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->list[i].node, node) == 0)
			return &s->list[i];
	return NULL;
}

size_t
servers_alive(const struct servers *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->list[i].alive;
	return n;
}

/* servers_pick - a random alive server, other than avoid if we can */
static struct servers_member *
servers_pick(struct servers *s, const char *avoid)
{
	struct servers_member *ok[SERVERS_MAX];
	size_t i, n = 0, others = 0;

	for (i = 0; i < s->n; i++)
		if (s->list[i].alive && strcmp(s->list[i].node, avoid) != 0)
			others++;
	for (i = 0; i < s->n; i++)
		if (s->list[i].alive && (others == 0 ||
		    strcmp(s->list[i].node, avoid) != 0))
			ok[n++] = &s->list[i];
	if (n == 0)
		return NULL;
	return ok[(size_t)rand_r(&s->seed) % n];
}

/* held_free - unlink a held call */
static void
held_free(struct servers_held *h)
{
	struct servers *s = h->s;

	ev_timer_stop(s->loop, &h->timer);
	TAILQ_REMOVE(&s->held, h, entry);
	s->nheld--;
	free(h);
}

/* held_fail_all - every held call fails with why */
static void
held_fail_all(struct servers *s, const char *why)
{
	struct servers_held *h;
	rpc_cb *cb;
	void *arg;

	/* A callback may call again: take one at a time from the head. */
	while ((h = TAILQ_FIRST(&s->held)) != NULL) {
		cb = h->cb;
		arg = h->arg;
		held_free(h);
		cb(arg, NULL, why);
	}
}

/* held_timeout_cb - no server came up in time for this call */
static void
held_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct servers_held *h = w->data;
	rpc_cb *cb = h->cb;
	void *arg = h->arg;

	held_free(h);
	cb(arg, NULL, "no Consul server reachable");
}

/* servers_undial - drop the server connection; calls in flight fail */
static void
servers_undial(struct servers *s)
{
	ev_timer_stop(s->loop, &s->deadline);
	if (!s->dialed)
		return;
	s->dialed = 0;
	/* Outside the conn's callbacks (kick, deadline, gossip): safe. */
	rpc_stop(&s->rpc);
	s->rpc.on_up = servers_up;	/* servers_owns() still knows it */
	s->rpc.data = s;
	s->cur[0] = '\0';
}

/* servers_dial - connect to one server, with a deadline to come up */
static void
servers_dial(struct servers *s, struct servers_member *m)
{
	servers_undial(s);
	snprintf(s->cur, sizeof(s->cur), "%s", m->node);
	snprintf(s->peer, sizeof(s->peer), "server %s (%s:%d)", m->node,
	    m->addr, m->port);
	if (s->wait == WAIT_MIN)
		log_info("using %s", s->peer);
	else
		log_debug("using %s", s->peer);
	rpc_init_tcp(&s->rpc, s->loop, m->addr, m->port, s->program,
	    s->peer);
	s->rpc.on_up = servers_up;
	s->rpc.on_down = NULL;
	s->rpc.data = s;
	s->dialed = 1;
	/* A call that failed in undial may have asked for a switch: done. */
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_set(&s->deadline, s->wait, 0.0);
	ev_timer_start(s->loop, &s->deadline);
}

/* servers_switch - choose a server again, avoiding the one that failed */
static void
servers_switch(struct servers *s)
{
	struct servers_member *m;

	if (s->stopped)
		return;
	if ((m = servers_pick(s, s->avoid)) == NULL) {
		if (s->dialed)
			log_warn("no alive Consul server left to use");
		servers_undial(s);
		held_fail_all(s, NO_SERVERS);
		return;
	}
	servers_dial(s, m);
}

/* servers_soon - switch on the next loop pass, outside any callback */
static void
servers_soon(struct servers *s, const char *avoid)
{
	snprintf(s->avoid, sizeof(s->avoid), "%s", avoid);
	if (!s->stopped)
		ev_timer_start(s->loop, &s->kick);
}

static void
servers_kick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	servers_switch(w->data);
}

/* servers_deadline_cb - the server did not come up: try another */
static void
servers_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct servers *s = w->data;

	if (rpc_is_up(&s->rpc))
		return;
	/* Once per outage: while none answers this repeats every 8 s. */
	if (s->wait == WAIT_MIN)
		log_warn("%s did not answer within %.0fs; trying another",
		    s->peer, s->wait);
	s->wait *= 2;
	if (s->wait > WAIT_MAX)
		s->wait = WAIT_MAX;
	snprintf(s->avoid, sizeof(s->avoid), "%s", s->cur);
	servers_switch(s);
}

/* servers_down - the connection dropped: choose again, elsewhere first */
static void
servers_down(struct rpc *r, const char *why)
{
	struct servers *s = r->data;

	if (r->stopped)
		return;		/* we closed it ourselves */
	servers_soon(s, s->cur);
}

/* servers_up - connected: send what waited, then tell the owner */
static void
servers_up(struct rpc *r)
{
	struct servers *s = r->data;
	struct servers_held *h;
	char err[256];
	double left;
	rpc_cb *cb;
	void *arg;
	int rc;

	ev_timer_stop(s->loop, &s->deadline);
	s->wait = WAIT_MIN;
	r->on_down = servers_down;
	log_debug("%s is up", s->peer);
	while ((h = TAILQ_FIRST(&s->held)) != NULL) {
		left = h->deadline - ev_now(s->loop);
		cb = h->cb;
		arg = h->arg;
		rc = rpc_call(r, h->type, h->body, h->len,
		    left < 0.01 ? 0.01 : left, cb, arg, err, sizeof(err));
		held_free(h);
		if (rc < 0)
			cb(arg, NULL, err);
	}
	if (s->on_up != NULL)
		s->on_up(r);
}

/* servers_gossip_push - gossipd tells us about members */
static void
servers_gossip_push(struct rpc *r, const struct frame *f)
{
	struct servers *s = r->data;
	struct servers_member m, *e;
	struct attr_iter it;
	struct attr a;

	if (f->type != MSG_GOSSIP_EVENT)
		return;
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    servers_member_parse(a.val, a.len, s->dc, &m) != 1)
			continue;
		if ((e = servers_find(s, m.node)) == NULL) {
			if (s->n == SERVERS_MAX) {
				log_warn("more than %d servers; ignoring %s",
				    SERVERS_MAX, m.node);
				continue;
			}
			e = &s->list[s->n++];
			log_info("Consul server %s (%s:%d) found", m.node,
			    m.addr, m.port);
		}
		/* The one in use moved, left or failed: choose again. */
		if (s->dialed && strcmp(s->cur, m.node) == 0 &&
		    (!m.alive || strcmp(e->addr, m.addr) != 0 ||
		    e->port != m.port)) {
			if (!m.alive)
				log_info("%s is no longer alive; switching",
				    s->peer);
			*e = m;
			servers_soon(s, m.alive ? "" : m.node);
			continue;
		}
		*e = m;
		if (!s->dialed && m.alive)
			servers_soon(s, "");
	}
}

/* servers_subscribed - gossipd's answer to our subscription */
static void
servers_subscribed(void *arg, const struct frame *f, const char *err)
{
	char msg[256];

	if (f == NULL || (f->flags & FRAME_ERROR))
		log_warn("cannot follow membership to find servers: %s",
		    f == NULL ? err : frame_error_text(f, msg, sizeof(msg)));
}

/* servers_gossip_up - (re)subscribe: gossipd sends every member again */
static void
servers_gossip_up(struct rpc *r)
{
	char err[256];

	if (rpc_call(r, MSG_GOSSIP_SUBSCRIBE, NULL, 0, 10.0,
	    servers_subscribed, r->data, err, sizeof(err)) < 0)
		log_warn("subscribe to gossipd: %s", err);
}

void
servers_init(struct servers *s, struct ev_loop *loop, const char *gossip_path,
    const char *dc, const char *program)
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->program = program;
	snprintf(s->dc, sizeof(s->dc), "%s", dc);
	s->wait = WAIT_MIN;
	s->seed = (unsigned)(ev_time() * 1e6) ^ (unsigned)getpid();
	TAILQ_INIT(&s->held);
	ev_timer_init(&s->deadline, servers_deadline_cb, WAIT_MIN, 0.0);
	s->deadline.data = s;
	ev_timer_init(&s->kick, servers_kick_cb, 0.0, 0.0);
	s->kick.data = s;
	/* Not dialed yet: a down rpc that servers_call() recognizes. */
	s->rpc.loop = loop;
	s->rpc.state = RPC_DOWN;
	s->rpc.peer = "a Consul server";
	s->rpc.on_up = servers_up;
	s->rpc.data = s;
	rpc_init(&s->gossip, loop, gossip_path, program, "gossipd");
	s->gossip.on_up = servers_gossip_up;
	s->gossip.on_push = servers_gossip_push;
	s->gossip.data = s;
}

struct rpc *
servers_rpc(struct servers *s)
{
	return &s->rpc;
}

int
servers_owns(const struct rpc *r)
{
	/* Only this file sets that hook. */
	return r->on_up == servers_up;
}

int
servers_call(struct rpc *r, uint16_t type, const void *body, size_t len,
    double timeout, rpc_cb *cb, void *arg, char *err, size_t errlen)
{
	struct servers *s;
	struct servers_held *h;
	double hold;

	if (!servers_owns(r) || rpc_is_up(r))
		return rpc_call(r, type, body, len, timeout, cb, arg, err,
		    errlen);
	s = r->data;
	if (s->stopped) {
		snprintf(err, errlen, "stopping");
		return -1;
	}
	if (servers_alive(s) == 0) {
		snprintf(err, errlen, NO_SERVERS);
		return -1;
	}
	if ((h = malloc(sizeof(*h) + len)) == NULL)
		log_fatal("out of memory");
	memset(h, 0, sizeof(*h));
	h->s = s;
	h->type = type;
	h->cb = cb;
	h->arg = arg;
	h->deadline = ev_now(s->loop) + timeout;
	h->len = len;
	if (len > 0)
		memcpy(h->body, body, len);
	hold = timeout < SERVERS_HOLD_SECS ? timeout : SERVERS_HOLD_SECS;
	ev_timer_init(&h->timer, held_timeout_cb, hold, 0.0);
	h->timer.data = h;
	ev_timer_start(s->loop, &h->timer);
	TAILQ_INSERT_TAIL(&s->held, h, entry);
	s->nheld++;
	/* Known servers but none dialed (all passed over): try now. */
	if (!s->dialed && !ev_is_active(&s->kick))
		servers_soon(s, "");
	return 0;
}

void
servers_stop(struct servers *s)
{
	s->stopped = 1;
	ev_timer_stop(s->loop, &s->kick);
	ev_timer_stop(s->loop, &s->deadline);
	rpc_stop(&s->gossip);
	if (s->dialed) {
		s->dialed = 0;
		rpc_stop(&s->rpc);
	}
	held_fail_all(s, "stopping");
}

void
servers_read_body(struct buf *b, int mode, uint16_t type, const void *body,
    size_t len)
{
	size_t nest;

	attr_put_u8(b, A_MODE, (uint8_t)mode);
	attr_put_u32(b, A_CMD_TYPE, type);
	nest = attr_nest_begin(b, A_CMD);
	if (len > 0)
		buf_append(b, body, len);
	attr_nest_end(b, nest);
}

int
servers_read(struct rpc *r, int mode, uint16_t type, const void *body,
    size_t len, double timeout, rpc_cb *cb, void *arg, char *err,
    size_t errlen)
{
	struct buf b;
	int rc;

	if (mode == SERVERS_READ_LOCAL)
		return servers_call(r, type, body, len, timeout, cb, arg, err,
		    errlen);
	buf_init(&b);
	servers_read_body(&b, mode, type, body, len);
	rc = servers_call(r, MSG_RAFT_READ, buf_head(&b), buf_used(&b),
	    timeout, cb, arg, err, errlen);
	buf_free(&b);
	return rc;
}
