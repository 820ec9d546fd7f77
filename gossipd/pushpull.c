/*
 * pushpull.c - memberlist's push/pull over TCP, in cairn's framed
 * protocol, exchanging digests rather than whole tables: at rest two
 * nodes agree on everything and only the digests travel.
 *
 *	initiator -> MSG_GOSSIP_PUSHPULL: A_DIGEST, packed entries of
 *		name:str8 incarnation:u32 status:u8, every member it knows
 *	responder <- A_ENTRY{member} for every member it knows better (or
 *		the initiator does not know), and A_NODE for every member
 *		the initiator knows better (or it does not know)
 *	initiator -> MSG_GOSSIP_PUSHPULL_FILL: A_ENTRY{member} for those
 *		names (only when there are some) <- nothing
 *
 * Both sides merge with member_merge; SWIM spreads what was news. A
 * digest that says this node failed or left is refuted on the spot. A
 * peer's records are all checked before any is merged, so a malformed
 * push changes nothing; a name that comes with another node ID is logged
 * as a conflict and left alone (Consul refuses it too). With an encrypt
 * key every body travels sealed (swim_io.c): a peer without the key gets
 * 400 and merges nothing.
 *
 * SWIM's TCP probe is a MSG_GOSSIP_PING on the same port: an answer
 * (sealed with our key, if we have one) is all it asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "gossipd.h"
#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "sock.h"

enum { PP_HELLO, PP_WAIT, PP_FILL, PP_DONE };

struct pushpull {
	struct conn		 conn;
	ev_timer		 timer;
	char			 addr[80];	/* "ip:port" */
	int			 state;
	int			 ping;		/* a TCP probe */
	pushpull_cb		*cb;
	void			*arg;
	LIST_ENTRY(pushpull)	 entry;
};

static LIST_HEAD(, pushpull) pushpulls = LIST_HEAD_INITIALIZER(pushpulls);

static int	pushpull_merge_plain(const void *, size_t, const char *,
		    char *, size_t);

/*
 * pushpull_digests - what we know of every member, sealed if keyed: one
 * A_DIGEST attribute of packed entries, name:str8 incarnation:u32
 * status:u8, about a dozen bytes a member
 */
static void
pushpull_digests(struct buf *b)
{
	struct buf plain, packed;
	const struct member *m;
	unsigned char e[5];
	size_t i, len;

	buf_init(&plain);
	buf_init(&packed);
	for (i = 0; i < G.members.n; i++) {
		m = G.members.m[i];
		len = strlen(m->name);	/* at most 255 (member.h) */
		e[0] = (unsigned char)len;
		buf_append(&packed, e, 1);
		buf_append(&packed, m->name, len);
		be32_put(e, m->incarnation);
		e[4] = (unsigned char)m->status;
		buf_append(&packed, e, 5);
	}
	attr_put(&plain, A_DIGEST, buf_head(&packed), buf_used(&packed));
	gossip_seal(buf_head(&plain), buf_used(&plain), b);
	buf_free(&packed);
	buf_free(&plain);
}

/* pushpull_log - one line for what merging a record did */
static void
pushpull_log(enum member_result r, const struct member *news,
    const struct member *m, const char *from)
{
	switch (r) {
	case MEMBER_ADDED:
		log_info("member joined: %s %s:%u (%s, from %.100s)",
		    m->name, m->addr, m->port, member_status_name(m->status),
		    from);
		break;
	case MEMBER_CHANGED:
		log_info("member updated: %s %s:%u %s, incarnation %u "
		    "(from %.100s)", m->name, m->addr, m->port,
		    member_status_name(m->status), m->incarnation, from);
		break;
	case MEMBER_REFUTED:
		log_info("refuting news about this node from %.100s "
		    "(%s, incarnation %u): now incarnation %u", from,
		    member_status_name(news->status), news->incarnation,
		    m->incarnation);
		break;
	case MEMBER_CONFLICT:
		log_warn("member %s from %.100s has node ID %.64s, but %s is "
		    "known with node ID %.64s: not merged (node names must "
		    "be unique)", news->name, from,
		    member_tag(news, "id"), m->name, member_tag(m, "id"));
		break;
	default:
		break;
	}
}

/* pushpull_merge - check every record, then merge them; see gossipd.h */
int
pushpull_merge(const void *sealed, size_t slen, const char *from, char *err,
    size_t errlen)
{
	struct buf plain;
	int rc;

	buf_init(&plain);
	if (gossip_open(sealed, slen, &plain) < 0) {
		snprintf(err, errlen, "does not decrypt with our encrypt key "
		    "(another key, or none)");
		rc = -1;
	} else
		rc = pushpull_merge_plain(buf_head(&plain), buf_used(&plain),
		    from, err, errlen);
	buf_free(&plain);
	return rc;
}

/* pushpull_merge_plain - the records, checked then merged */
static int
pushpull_merge_plain(const void *body, size_t len, const char *from,
    char *err, size_t errlen)
{
	struct attr_iter it;
	struct attr a;
	struct member *news = NULL, *m;
	enum member_result r;
	size_t n = 0, cap = 0, i;
	int rc = -1, more;

	attr_iter_init(&it, body, len);
	while ((more = attr_next(&it, &a)) == 1) {
		if (a.type != A_ENTRY)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((news = realloc(news, cap * sizeof(*news))) ==
			    NULL)
				log_fatal("out of memory");
		}
		if (member_decode(a.val, a.len, &news[n], err, errlen) < 0)
			goto done;
		n++;
	}
	if (more < 0) {
		snprintf(err, errlen, "malformed member list");
		goto done;
	}
	for (i = 0; i < n; i++) {
		r = member_merge(&G.members, G.self, &news[i],
		    (double)daemon_now_ms() / 1000);
		if ((m = member_lookup(&G.members, news[i].name)) == NULL)
			continue;	/* MEMBER_ERR: decode let it by */
		pushpull_log(r, &news[i], m, from);
		if (r == MEMBER_ADDED || r == MEMBER_CHANGED ||
		    r == MEMBER_REFUTED) {
			gossipd_notify(m);
			saved_dirty();
			/* SWIM spreads it to everyone, and a refutation
			   of a suspicion of us at once. */
			gossip_news(m, r);
		}
	}
	rc = 0;
done:
	for (i = 0; i < n; i++)
		member_clear(&news[i]);
	free(news);
	return rc;
}

/* A digest from a peer. */
struct digest {
	char		 name[MEMBER_NAME_MAX + 1];
	uint32_t	 inc, status;
};

static int
digest_cmp(const void *a, const void *b)
{
	return strcmp(((const struct digest *)a)->name,
	    ((const struct digest *)b)->name);
}

/* digests_read - a peer's digests, sorted by name; -1 if malformed */
static int
digests_read(const void *body, size_t len, struct digest **out, size_t *n)
{
	struct attr tab[ATTR_TAB];
	const unsigned char *p;
	struct digest *d = NULL;
	size_t left, cap = 0, nl;

	*out = NULL;
	*n = 0;
	if (attr_index(body, len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_DIGEST]))
		return -1;
	p = tab[A_DIGEST].val;
	left = tab[A_DIGEST].len;
	while (left > 0) {
		nl = p[0];
		if (nl == 0 || left < 1 + nl + 5 ||
		    memchr(p + 1, '\0', nl) != NULL ||
		    p[1 + nl + 4] < MEMBER_ALIVE ||
		    p[1 + nl + 4] > MEMBER_FAILED) {
			free(d);
			*n = 0;
			return -1;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((d = realloc(d, cap * sizeof(*d))) == NULL)
				log_fatal("out of memory");
		}
		memcpy(d[*n].name, p + 1, nl);
		d[*n].name[nl] = '\0';
		d[*n].inc = be32_get(p + 1 + nl);
		d[*n].status = p[1 + nl + 4];
		(*n)++;
		p += 1 + nl + 5;
		left -= 1 + nl + 5;
	}
	if (*n > 0)
		qsort(d, *n, sizeof(*d), digest_cmp);
	*out = d;
	return 0;
}

/* refute_digest - a peer thinks we failed or left: outrank it now */
static void
refute_digest(struct member *me, const struct digest *d, const char *from)
{
	if (d->inc == UINT32_MAX)
		return;
	me->incarnation = d->inc + 1;
	log_info("refuting news about this node from %.100s (%s, "
	    "incarnation %u): now incarnation %u", from,
	    member_status_name((enum member_status)d->status), d->inc,
	    me->incarnation);
	gossipd_notify(me);
	gossip_news(me, MEMBER_REFUTED);
}

/*
 * pushpull_answer - for each of our members: its record if we know it
 * better, its name if the peer does; and the names only the peer knows
 */
static void
pushpull_answer(const struct digest *d, size_t nd, const char *from,
    struct buf *plain)
{
	struct digest key, *x;
	struct member *m;
	char *seen;
	size_t i;

	if ((seen = calloc(nd + 1, 1)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < G.members.n; i++) {
		m = G.members.m[i];
		snprintf(key.name, sizeof(key.name), "%s", m->name);
		x = bsearch(&key, d, nd, sizeof(*d), digest_cmp);
		if (x == NULL) {
			member_encode(plain, m);
			continue;
		}
		seen[x - d] = 1;
		if (strcmp(m->name, G.self) == 0) {
			if (member_newer(m, (enum member_status)x->status,
			    x->inc) || x->status != MEMBER_ALIVE)
				refute_digest(m, x, from);
			if (m->incarnation != x->inc ||
			    x->status != MEMBER_ALIVE)
				member_encode(plain, m);
			continue;
		}
		if (member_newer(m, (enum member_status)x->status, x->inc))
			attr_put_str(plain, A_NODE, m->name);
		else if (m->incarnation != x->inc ||
		    m->status != (enum member_status)x->status)
			member_encode(plain, m);
	}
	for (i = 0; i < nd; i++)
		if (!seen[i])
			attr_put_str(plain, A_NODE, d[i].name);
	free(seen);
}

/* pushpull_from - the peer's address, for messages */
static void
pushpull_from(struct sconn *sc, char *from, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	/* HELLO renamed the conn after the peer's program. */
	if (getpeername(sc->conn.fd, (struct sockaddr *)&ss, &sl) == 0)
		sock_addr_str((struct sockaddr *)&ss, from, n);
	else
		snprintf(from, n, "%s", sc->conn.peer);
}

/* pushpull_handle - a peer's digests in; news and wants out */
void
pushpull_handle(struct sconn *sc, const struct frame *f)
{
	struct buf plain, b;
	struct digest *d;
	char from[80];
	size_t nd;

	pushpull_from(sc, from, sizeof(from));
	buf_init(&plain);
	if (gossip_open(f->body, f->len, &plain) < 0 ||
	    digests_read(buf_head(&plain), buf_used(&plain), &d, &nd) < 0) {
		log_warn("push/pull from %s: malformed, or not sealed with "
		    "our encrypt key; ignored", from);
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "malformed "
		    "push/pull, or another encrypt key");
		buf_free(&plain);
		return;
	}
	buf_reset(&plain);
	pushpull_answer(d, nd, from, &plain);
	free(d);
	buf_init(&b);
	gossip_seal(buf_head(&plain), buf_used(&plain), &b);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
	buf_free(&plain);
}

/* pushpull_handle_fill - the records we asked for */
void
pushpull_handle_fill(struct sconn *sc, const struct frame *f)
{
	char err[256], from[80];

	pushpull_from(sc, from, sizeof(from));
	if (pushpull_merge(f->body, f->len, from, err, sizeof(err)) < 0) {
		log_warn("push/pull from %s: %s; ignored", from, err);
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "%s", err);
		return;
	}
	conn_reply(&sc->conn, f, NULL, 0);
}

/* pushpull_finish - report the outcome once, then close */
static void
pushpull_finish(struct pushpull *p, const char *err)
{
	pushpull_cb *cb = p->cb;

	if (p->state == PP_DONE)
		return;
	p->state = PP_DONE;
	ev_timer_stop(G.loop, &p->timer);
	p->cb = NULL;
	if (cb != NULL)
		cb(p->arg, p->addr, err);
}

/*
 * pushpull_fill - send the records the peer asked for (A_NODE in its
 * answer); 0 when it asked for none, 1 when a FILL is on its way
 */
static int
pushpull_fill(struct pushpull *p, const void *sealed, size_t len)
{
	struct buf plain, out, b;
	struct attr_iter it;
	struct member *m;
	char name[MEMBER_NAME_MAX + 1];
	struct attr a;
	int n = 0;

	buf_init(&plain);
	buf_init(&out);
	if (gossip_open(sealed, len, &plain) == 0) {
		attr_iter_init(&it, buf_head(&plain), buf_used(&plain));
		while (attr_next(&it, &a) == 1)
			if (a.type == A_NODE &&
			    attr_strcpy(&a, name, sizeof(name)) == 0 &&
			    (m = member_lookup(&G.members, name)) != NULL) {
				member_encode(&out, m);
				n++;
			}
	}
	if (n > 0) {
		buf_init(&b);
		gossip_seal(buf_head(&out), buf_used(&out), &b);
		conn_send(&p->conn, MSG_GOSSIP_PUSHPULL_FILL, 0, 2, 0,
		    buf_head(&b), buf_used(&b));
		buf_free(&b);
		p->state = PP_FILL;
	}
	buf_free(&out);
	buf_free(&plain);
	return n > 0;
}

/* pushpull_frame_cb - the HELLO reply, the peer's answer, the FILL's */
static void
pushpull_frame_cb(struct conn *c, const struct frame *f)
{
	struct pushpull *p = c->data;
	char err[256], msg[300];

	if (!(f->flags & FRAME_REPLY) || p->state == PP_DONE)
		return;
	if (f->flags & FRAME_ERROR) {
		snprintf(msg, sizeof(msg), "%s refused: %s",
		    p->state == PP_HELLO ? "HELLO" : "push/pull",
		    frame_error_text(f, err, sizeof(err)));
		pushpull_finish(p, msg);
		conn_close(c, "error reply");
		return;
	}
	if (p->state == PP_HELLO) {
		if (f->type != MSG_HELLO) {
			pushpull_finish(p, "bad HELLO reply");
			conn_close(c, "bad HELLO reply");
			return;
		}
		p->state = PP_WAIT;
		return;
	}
	if (p->ping) {
		if (f->type == MSG_GOSSIP_PING) {
			pushpull_finish(p, NULL);
			conn_close(c, "done");
		}
		return;
	}
	if (p->state == PP_FILL) {
		if (f->type == MSG_GOSSIP_PUSHPULL_FILL) {
			pushpull_finish(p, NULL);
			conn_close(c, "done");
		}
		return;
	}
	if (f->type != MSG_GOSSIP_PUSHPULL)
		return;
	if (pushpull_merge(f->body, f->len, p->addr, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "bad member list: %s", err);
		pushpull_finish(p, msg);
		conn_close(c, "done");
		return;
	}
	if (pushpull_fill(p, f->body, f->len) == 0) {
		pushpull_finish(p, NULL);
		conn_close(c, "done");
	}
}

/* pushpull_close_cb - the connection is gone: report and free */
static void
pushpull_close_cb(struct conn *c, const char *why)
{
	struct pushpull *p = c->data;

	pushpull_finish(p, why);
	LIST_REMOVE(p, entry);
	conn_release(c);
	free(p);
}

/* pushpull_timeout_cb - no answer in time */
static void
pushpull_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pushpull *p = w->data;
	char msg[64];

	snprintf(msg, sizeof(msg), "timed out after %.0fs",
	    GOSSIPD_PUSHPULL_TIMEOUT);
	pushpull_finish(p, msg);
	conn_close(&p->conn, "timed out");	/* frees p */
}

/* pp_open - connect and greet; the caller queues its request */
static struct pushpull *
pp_open(const char *ip, int port, pushpull_cb *cb, void *arg, char *err,
    size_t errlen)
{
	struct pushpull *p;
	struct buf b;
	int fd;

	if ((fd = sock_tcp_connect(ip, port, err, errlen)) < 0)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		log_fatal("out of memory");
	snprintf(p->addr, sizeof(p->addr), strchr(ip, ':') ? "[%s]:%d" :
	    "%s:%d", ip, port);
	p->cb = cb;
	p->arg = arg;
	p->state = PP_HELLO;
	conn_init(&p->conn, G.loop, fd, p->addr, pushpull_frame_cb,
	    pushpull_close_cb, p);
	p->conn.max_frame = GOSSIPD_FRAME_MAX;
	LIST_INSERT_HEAD(&pushpulls, p, entry);
	ev_timer_init(&p->timer, pushpull_timeout_cb,
	    GOSSIPD_PUSHPULL_TIMEOUT, 0);
	p->timer.data = p;
	ev_timer_start(G.loop, &p->timer);
	/*
	 * The connect completes later; the frames wait in the output
	 * buffer (the server reads HELLO first), and a refused connect
	 * shows as a write error that closes the conn.
	 */
	buf_init(&b);
	server_hello_body(&b, "gossipd");
	conn_send(&p->conn, MSG_HELLO, 0, 0, 0, buf_head(&b), buf_used(&b));
	buf_free(&b);
	return p;
}

/* pushpull_start - connect, greet, push; see gossipd.h */
int
pushpull_start(const char *ip, int port, pushpull_cb *cb, void *arg,
    char *err, size_t errlen)
{
	struct pushpull *p;
	struct buf b;

	if ((p = pp_open(ip, port, cb, arg, err, errlen)) == NULL)
		return -1;
	buf_init(&b);
	pushpull_digests(&b);
	conn_send(&p->conn, MSG_GOSSIP_PUSHPULL, 0, 1, 0, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
	return 0;
}

/* pushpull_ping - SWIM's TCP probe: an answer is all it asks; see gossipd.h */
int
pushpull_ping(const char *ip, int port, pushpull_cb *cb, void *arg,
    char *err, size_t errlen)
{
	struct pushpull *p;
	struct buf b;

	if ((p = pp_open(ip, port, cb, arg, err, errlen)) == NULL)
		return -1;
	p->ping = 1;
	buf_init(&b);
	gossip_seal("", 0, &b);
	conn_send(&p->conn, MSG_GOSSIP_PING, 0, 1, 0, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
	return 0;
}

/* pushpull_handle_ping - a TCP probe; it must carry our key, if we have one */
void
pushpull_handle_ping(struct sconn *sc, const struct frame *f)
{
	struct buf plain;

	buf_init(&plain);
	if (gossip_open(f->body, f->len, &plain) < 0)
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "not sealed "
		    "with our encrypt key");
	else
		conn_reply(&sc->conn, f, NULL, 0);
	buf_free(&plain);
}

/* pushpull_stop - close every exchange without telling anyone */
void
pushpull_stop(void)
{
	struct pushpull *p;

	while ((p = LIST_FIRST(&pushpulls)) != NULL) {
		p->cb = NULL;
		pushpull_finish(p, NULL);
		conn_close(&p->conn, "stopping");	/* frees p */
	}
}
