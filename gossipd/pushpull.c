/*
 * pushpull.c - memberlist's push/pull over TCP, in cairn's framed
 * protocol: a node connects to a peer's serf_lan port, says HELLO, sends
 * MSG_GOSSIP_PUSHPULL with its whole member table, and gets the peer's
 * table (after the peer merged ours) in the reply. Both sides merge with
 * member_merge, so news spreads transitively as nodes exchange with each
 * other (join.c decides with whom and when).
 *
 * A peer's records are all checked before any is merged, so a malformed
 * push changes nothing; a name that comes with another node ID is logged
 * as a conflict and left alone (Consul refuses it too).
 *
 * With an encrypt key, both tables travel sealed (swim_io.c): a peer
 * without the key gets 400 and merges nothing.
 *
 * Leaves out: memberlist's wire format (cairn nodes speak only to cairn
 * nodes). An exchange that fails only tells the caller: failure is for
 * SWIM to decide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "gossipd.h"
#include "log.h"
#include "msg.h"
#include "sock.h"

enum { PP_HELLO, PP_WAIT, PP_DONE };

struct pushpull {
	struct conn		 conn;
	ev_timer		 timer;
	char			 addr[80];	/* "ip:port" */
	int			 state;
	pushpull_cb		*cb;
	void			*arg;
	LIST_ENTRY(pushpull)	 entry;
};

static LIST_HEAD(, pushpull) pushpulls = LIST_HEAD_INITIALIZER(pushpulls);

static int	pushpull_merge_plain(const void *, size_t, const char *,
		    char *, size_t);

/* pushpull_table - our whole table as A_ENTRY records, sealed if keyed */
static void
pushpull_table(struct buf *b)
{
	struct buf plain;
	size_t i;

	buf_init(&plain);
	for (i = 0; i < G.members.n; i++)
		member_encode(&plain, G.members.m[i]);
	gossip_seal(buf_head(&plain), buf_used(&plain), b);
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
		    (double)swim_io_now() / 1000);
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

/* pushpull_handle - a peer's table in, ours (merged) out */
void
pushpull_handle(struct sconn *sc, const struct frame *f)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char err[256], from[80];
	struct buf b;

	/* HELLO renamed the conn after the peer's program; log its address. */
	if (getpeername(sc->conn.fd, (struct sockaddr *)&ss, &sl) == 0)
		sock_addr_str((struct sockaddr *)&ss, from, sizeof(from));
	else
		snprintf(from, sizeof(from), "%s", sc->conn.peer);
	if (pushpull_merge(f->body, f->len, from, err, sizeof(err)) < 0) {
		log_warn("push/pull from %s: %s; ignored", from, err);
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "%s", err);
		return;
	}
	buf_init(&b);
	pushpull_table(&b);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
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

/* pushpull_frame_cb - the HELLO reply, then the peer's table */
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
	if (f->type != MSG_GOSSIP_PUSHPULL)
		return;
	if (pushpull_merge(f->body, f->len, p->addr, err, sizeof(err)) < 0) {
		snprintf(msg, sizeof(msg), "bad member list: %s", err);
		pushpull_finish(p, msg);
	} else
		pushpull_finish(p, NULL);
	conn_close(c, "done");
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

/* pushpull_start - connect, greet, push; see gossipd.h */
int
pushpull_start(const char *ip, int port, pushpull_cb *cb, void *arg,
    char *err, size_t errlen)
{
	struct pushpull *p;
	struct buf b;
	int fd;

	if ((fd = sock_tcp_connect(ip, port, err, errlen)) < 0)
		return -1;
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
	 * The connect completes later; both frames wait in the output
	 * buffer (the server reads HELLO first), and a refused connect
	 * shows as a write error that closes the conn.
	 */
	buf_init(&b);
	server_hello_body(&b, "gossipd");
	conn_send(&p->conn, MSG_HELLO, 0, 0, 0, buf_head(&b), buf_used(&b));
	buf_reset(&b);
	pushpull_table(&b);
	conn_send(&p->conn, MSG_GOSSIP_PUSHPULL, 0, 1, 0, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
	return 0;
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
