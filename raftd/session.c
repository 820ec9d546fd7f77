/*
 * session.c - the leader enforces session TTLs (Consul's
 * agent/consul/session_ttl.go).
 *
 * Each session with a TTL has a timer on the leader, set to twice the
 * TTL (Consul's SessionTTLMultiplier): a renewal restarts it, and when it
 * runs out the leader proposes the session's destruction. kvd, which
 * owns the sessions, tells of new ones and of invalidated ones in the
 * results of the entries the leader sees applied (A_TTL_MS, A_GONE).
 *
 * A new leader knows nothing of the old one's timers: once its kvd has
 * applied the first entry of its term (reconcile's barrier), it lists
 * every session and gives each TTL session a full timer, as Consul does
 * on gaining leadership, so a TTL survives a leader change by up to one
 * more period. The list is read again every SESS_SYNC seconds, which
 * also catches sessions a snapshot restore brought or took away.
 *
 * Left out: a timer wheel; one libev timer per session is fine for the
 * thousands, and renewals find theirs by a linear scan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "duration.h"
#include "log.h"
#include "msg.h"
#include "raftd.h"

#define SESS_MULT	2	/* Consul's SessionTTLMultiplier */
#define SESS_SYNC	60.0	/* seconds between full reads of the list */
#define SESS_TIMEOUT	10.0	/* one read of kvd */
#define SESS_ID_MAX	64

struct stimer {
	ev_timer		 t;
	char			 id[SESS_ID_MAX + 1];
	uint64_t		 ttl_ms;
	int			 seen;	/* in the last list read */
	LIST_ENTRY(stimer)	 entry;
};

struct renew {
	struct server		*srv;
	uint64_t		 serial;
	uint32_t		 id;
	uint64_t		 gen;
};

static struct {
	LIST_HEAD(, stimer)	 all;
	size_t			 n;
	int			 leading;
	int			 listing;	/* a list read in flight */
	uint64_t		 gen;		/* bumped when leadership ends */
	ev_tstamp		 next_sync;
} S = { .all = LIST_HEAD_INITIALIZER(S.all) };

static struct stimer *
st_find(const void *id, size_t n)
{
	struct stimer *st;

	LIST_FOREACH(st, &S.all, entry)
		if (strlen(st->id) == n && memcmp(st->id, id, n) == 0)
			return st;
	return NULL;
}

static void
st_free(struct stimer *st)
{
	ev_timer_stop(R.loop, &st->t);
	LIST_REMOVE(st, entry);
	S.n--;
	free(st);
}

/* st_expired - the TTL ran out twice over: destroy the session */
static void
st_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stimer *st = (struct stimer *)w;
	struct buf b;

	log_info("session %s expired: no renewal in %" PRIu64 " ms (twice "
	    "its TTL); destroying it", st->id, st->ttl_ms * SESS_MULT);
	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_SESSION_DESTROY);
	attr_put_str(&b, A_SESSION, st->id);
	if (node_propose(buf_head(&b), buf_used(&b)) == 0)
		log_warn("session %s: cannot propose its destruction; the "
		    "next list read retries", st->id);
	buf_free(&b);
	st_free(st);
}

/* st_arm - (re)start id's timer: ttl_ms twice over from now */
static void
st_arm(const void *id, size_t n, uint64_t ttl_ms)
{
	struct stimer *st;

	if (n == 0 || n > SESS_ID_MAX || ttl_ms == 0)
		return;
	if ((st = st_find(id, n)) == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL)
			log_fatal("out of memory");
		memcpy(st->id, id, n);
		ev_init(&st->t, st_expired);
		LIST_INSERT_HEAD(&S.all, st, entry);
		S.n++;
	}
	st->ttl_ms = ttl_ms;
	st->seen = 1;
	ev_timer_stop(R.loop, &st->t);
	ev_timer_set(&st->t, (double)(ttl_ms * SESS_MULT) / 1000, 0);
	ev_timer_start(R.loop, &st->t);
}

/* sess_ttl_ms - a session record's TTL, 0 for none */
static uint64_t
sess_ttl_ms(const struct attr *tab)
{
	uint64_t ms = 0;

	attr_u64(&tab[A_TTL_MS], &ms);
	return ms;
}

/* session_applied - kvd's result for an entry, on the leader */
void
session_applied(const void *res, size_t len)
{
	struct attr_iter it;
	struct attr a, sess = { 0 };
	struct stimer *st;
	uint64_t ttl = 0;

	if (!S.leading)
		return;
	attr_iter_init(&it, res, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_SESSION)
			sess = a;
		else if (a.type == A_TTL_MS)
			attr_u64(&a, &ttl);
		else if (a.type == A_GONE && (st = st_find(a.val, a.len)) !=
		    NULL)
			st_free(st);
	}
	if (ttl > 0)
		st_arm(sess.val, sess.len, ttl);
}

/* sync_done - the whole list: arm the new, drop the gone */
static void
sync_done(void *arg, const struct frame *f, const char *err)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	struct stimer *st, *next;
	uint64_t gen = (uint64_t)(uintptr_t)arg;
	size_t armed = 0;

	S.listing = 0;
	if (gen != S.gen || !S.leading)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_warn("sessions: cannot list them from kvd (%s); retrying",
		    f == NULL ? err : "kvd refused");
		S.next_sync = ev_now(R.loop) + 1;
		return;
	}
	LIST_FOREACH(st, &S.all, entry)
		st->seen = 0;
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0 ||
		    sess_ttl_ms(tab) == 0)
			continue;
		if ((st = st_find(tab[A_SESSION].val,
		    tab[A_SESSION].len)) != NULL)
			st->seen = 1;
		else {
			st_arm(tab[A_SESSION].val, tab[A_SESSION].len,
			    sess_ttl_ms(tab));
			armed++;
		}
	}
	for (st = LIST_FIRST(&S.all); st != NULL; st = next) {
		next = LIST_NEXT(st, entry);
		if (!st->seen)
			st_free(st);
	}
	if (armed > 0)
		log_info("sessions: %zu TTL timers started (%zu in all)", armed,
		    S.n);
	S.next_sync = ev_now(R.loop) + SESS_SYNC;
}

/* session_tick - from node.c twice a second */
void
session_tick(void)
{
	char err[256];

	if (!node_is_leader()) {
		session_stop();
		return;
	}
	if (!S.leading) {
		S.leading = 1;
		S.next_sync = 0;
	}
	if (S.listing || !reconcile_ready() || ev_now(R.loop) < S.next_sync)
		return;
	S.listing = 1;
	if (rpc_call(&R.kvd, MSG_SESSION_LIST, NULL, 0, SESS_TIMEOUT,
	    sync_done, (void *)(uintptr_t)S.gen, err, sizeof(err)) < 0) {
		S.listing = 0;
		S.next_sync = ev_now(R.loop) + 1;
	}
}

/* session_stop - no longer the leader: the timers are the next one's */
void
session_stop(void)
{
	if (!S.leading && S.n == 0)
		return;
	while (!LIST_EMPTY(&S.all))
		st_free(LIST_FIRST(&S.all));
	S.leading = 0;
	S.gen++;
}

/* renew_done - kvd's record of the session: restart its timer, answer */
static void
renew_done(void *arg, const struct frame *f, const char *err)
{
	struct renew *rw = arg;
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	struct frame req = { .type = MSG_SESSION_RENEW };
	struct sconn *sc;

	sc = server_find(rw->srv, rw->serial);
	req.id = rw->id;
	if (sc == NULL)
		;
	else if (f == NULL || (f->flags & FRAME_ERROR))
		conn_reply_error(&sc->conn, &req, MSG_E_UNAVAIL, "renewing: "
		    "the state store did not answer (%s)", f == NULL ? err :
		    "error");
	else if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_ENTRY]) || attr_index(tab[A_ENTRY].val,
	    tab[A_ENTRY].len, et, ATTR_TAB) < 0)
		conn_reply_error(&sc->conn, &req, MSG_E_NOTFOUND, "Session id "
		    "'%s' not found", (const char *)(rw + 1));
	else {
		if (rw->gen == S.gen && S.leading)
			st_arm(et[A_SESSION].val, et[A_SESSION].len,
			    sess_ttl_ms(et));
		conn_reply(&sc->conn, &req, f->body, f->len);
	}
	free(rw);
}

/*
 * session_renew - MSG_SESSION_RENEW: the leader's; a follower forwards.
 * -1 when there is no leader yet (the request is held).
 */
int
session_renew(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct renew *rw;
	struct buf b;
	char err[256];
	size_t n;

	if (!node_is_leader())
		return raftd_forward(sc, f);
	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    (n = tab[A_SESSION].len) == 0 || n > SESS_ID_MAX) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing session");
		return 0;
	}
	/* the ID rides after the struct, for the 404's text */
	if ((rw = calloc(1, sizeof(*rw) + n + 1)) == NULL)
		log_fatal("out of memory");
	*rw = (struct renew){ sc->srv, sc->serial, f->id, S.gen };
	memcpy(rw + 1, tab[A_SESSION].val, n);
	buf_init(&b);
	attr_put(&b, A_SESSION, tab[A_SESSION].val, n);
	if (rpc_call(&R.kvd, MSG_SESSION_INFO, buf_head(&b), buf_used(&b),
	    SESS_TIMEOUT, renew_done, rw, err, sizeof(err)) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_UNAVAIL, "renewing: %s",
		    err);
		free(rw);
	}
	buf_free(&b);
	return 0;
}
