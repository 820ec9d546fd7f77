/*
 * read.c - reads with Consul's consistency modes, for httpd, dnsd and
 * client agents (COMPAT.md 6):
 *
 *	stale		this server's kvd answers, leader or not
 *	default		the leader's kvd, while the leader's lease holds
 *			(6.4.1); without a lease it confirms with a round
 *	consistent	the leader confirms its term with a quorum first
 *			(ReadIndex, 6.4), waits until its kvd has applied
 *			that far, then reads
 *
 * A blocking read (A_WAIT, in ms, beside the command) may take that long
 * in kvd (kvd/watch.c), and is given that much longer.
 *
 * A follower forwards default and consistent reads to the leader. The
 * answer is kvd's reply with A_KNOWN_LEADER and A_LAST_CONTACT added,
 * which httpd turns into X-Consul-KnownLeader and X-Consul-LastContact.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raftd.h"

#define READ_TIMEOUT	10.0

enum { READ_DEFAULT, READ_CONSISTENT, READ_STALE };
enum { RD_NEW, RD_WAIT_INDEX, RD_WAIT_APPLY, RD_KVD };

struct rd {
	struct server	*srv;
	uint64_t	 serial;
	uint32_t	 id;
	int		 mode, state;
	uint64_t	 ctx, index;
	uint16_t	 type;		/* the kvd read */
	double		 wait;		/* s a blocking read may wait */
	size_t		 len;
	TAILQ_ENTRY(rd)	 entry;
	unsigned char	 body[];
};

static TAILQ_HEAD(, rd) rds = TAILQ_HEAD_INITIALIZER(rds);
static uint64_t next_ctx;

/* rd_error - answer the reader with an error and forget it */
static void
rd_error(struct rd *r, uint32_t status, const char *why)
{
	struct sconn *sc = server_find(r->srv, r->serial);

	if (sc != NULL)
		conn_reply_error(&sc->conn, &(struct frame){
		    .type = MSG_RAFT_READ, .id = r->id }, status, "%s", why);
	if (r->state != RD_NEW)
		TAILQ_REMOVE(&rds, r, entry);
	free(r);
}

/* kvd_done - kvd's answer, with what the reader should know of Raft */
static void
kvd_done(void *arg, const struct frame *f, const char *err)
{
	struct rd *r = arg;
	struct sconn *sc;
	struct buf b;

	TAILQ_REMOVE(&rds, r, entry);
	if ((sc = server_find(r->srv, r->serial)) == NULL) {
		free(r);
		return;
	}
	if (f == NULL) {
		conn_reply_error(&sc->conn, &(struct frame){
		    .type = MSG_RAFT_READ, .id = r->id }, MSG_E_UNAVAIL,
		    "%s", err);
		free(r);
		return;
	}
	buf_init(&b);
	buf_append(&b, f->body, f->len);
	if (!(f->flags & FRAME_ERROR)) {
		attr_put_u8(&b, A_KNOWN_LEADER, R.started &&
		    R.r.leader != RAFT_NONE);
		attr_put_u64(&b, A_LAST_CONTACT, node_last_contact_ms());
	}
	conn_send(&sc->conn, MSG_RAFT_READ, f->flags, r->id, f->status,
	    buf_head(&b), buf_used(&b));
	buf_free(&b);
	free(r);
}

/* kvd_read - hand the read to this server's kvd */
static void
kvd_read(struct rd *r)
{
	char err[256];

	if (r->state == RD_NEW)
		TAILQ_INSERT_TAIL(&rds, r, entry);
	r->state = RD_KVD;
	if (rpc_call(&R.kvd, r->type, r->body, r->len, READ_TIMEOUT + r->wait,
	    kvd_done, r, err, sizeof(err)) < 0)
		rd_error(r, MSG_E_UNAVAIL, "the state store (cairn-kvd) is "
		    "not running on this server; retry shortly");
}

/*
 * read_try - serve a read now, or start what it waits for; -1 when it
 * must be held until there is a leader.
 */
int
read_try(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t mode = READ_DEFAULT, type, wait = 0;
	struct rd *r;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_CMD_TYPE], &type) < 0 || type > UINT16_MAX ||
	    !attr_present(&tab[A_CMD]) ||
	    (attr_present(&tab[A_MODE]) && attr_u64(&tab[A_MODE], &mode) < 0)) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "malformed read");
		return 0;
	}
	if (mode != READ_STALE && !node_is_leader())
		return raftd_forward(sc, f);
	if ((r = malloc(sizeof(*r) + tab[A_CMD].len)) == NULL)
		log_fatal("out of memory");
	memset(r, 0, sizeof(*r));
	r->srv = sc->srv;
	r->serial = sc->serial;
	r->id = f->id;
	r->mode = (int)mode;
	r->type = (uint16_t)type;
	if (attr_u64(&tab[A_WAIT], &wait) == 0)
		r->wait = (double)wait / 1000;
	r->len = tab[A_CMD].len;
	memcpy(r->body, tab[A_CMD].val, r->len);
	if (mode == READ_STALE ||
	    (mode == READ_DEFAULT && raft_lease_ok(&R.r, daemon_now_ms()))) {
		kvd_read(r);
		return 0;
	}
	r->ctx = ++next_ctx;
	if (raft_read_index(&R.r, r->ctx) < 0) {
		free(r);	/* a new leader has not committed yet */
		return -1;
	}
	r->state = RD_WAIT_INDEX;
	TAILQ_INSERT_TAIL(&rds, r, entry);
	return 0;
}

/* read_ready - the core confirmed read points; serve what kvd has */
void
read_ready(const struct raft_read *reads, size_t n)
{
	struct rd *r, *next;
	size_t i;

	for (i = 0; i < n; i++)
		TAILQ_FOREACH(r, &rds, entry)
			if (r->state == RD_WAIT_INDEX && r->ctx == reads[i].ctx) {
				if (reads[i].index == 0) {
					rd_error(r, MSG_E_INTERNAL,
					    "No cluster leader");
					break;
				}
				r->index = reads[i].index;
				r->state = RD_WAIT_APPLY;
				break;
			}
	for (r = TAILQ_FIRST(&rds); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->state == RD_WAIT_APPLY && r->index <= R.applied)
			kvd_read(r);
	}
}

/* read_lost_leadership - reads waiting on a round that will not come */
void
read_lost_leadership(void)
{
	struct rd *r, *next;

	for (r = TAILQ_FIRST(&rds); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->state == RD_WAIT_INDEX || r->state == RD_WAIT_APPLY)
			rd_error(r, MSG_E_INTERNAL, "leadership lost while "
			    "confirming a consistent read; retry");
	}
}
