/*
 * feed.c - handing committed entries to kvd, in order, and each writer
 * its result.
 *
 * kvd subscribes with the last index it has applied; raftd streams from
 * the log on disk up to the commit index, at most KVD_WINDOW entries
 * ahead of kvd's acknowledgements, so either daemon can restart and kvd
 * catches up. Entries that are Raft's own (no-ops, configurations) go to
 * kvd as OP_NOOP so its applied index stays the Raft index.
 *
 * A writer waits in a ring ordered by index. Its answer is kvd's result
 * for that index, unless another leader's entry took the index (the term
 * differs), in which case the write was not applied and it is told so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raftd.h"

#define KVD_WINDOW	4096

/* feed_pend - remember a writer until its entry is applied */
void
feed_pend(uint64_t index, uint64_t term, struct sconn *sc, uint32_t id)
{
	struct pend *np;
	size_t i;

	if (R.plen == R.pcap) {
		size_t ncap = R.pcap ? R.pcap * 2 : 1024;
		if ((np = malloc(ncap * sizeof(*np))) == NULL)
			log_fatal("out of memory");
		for (i = 0; i < R.plen; i++)
			np[i] = R.pend[(R.phead + i) % R.pcap];
		free(R.pend);
		R.pend = np;
		R.pcap = ncap;
		R.phead = 0;
	}
	R.pend[(R.phead + R.plen++) % R.pcap] = (struct pend){
		index, term, sc->srv, sc->serial, id, 0 };
}

/* pend_reply_error - answer one waiting writer with an error */
static void
pend_reply_error(struct pend *p, uint32_t status, const char *why)
{
	struct sconn *sc = server_find(p->srv, p->serial);

	if (sc != NULL)
		conn_reply_error(&sc->conn, &(struct frame){
		    .type = MSG_RAFT_APPLY, .id = p->id }, status, "%s", why);
}

/* feed_committed - writers whose index another leader's entry took */
void
feed_committed(const struct raft_entry *e, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < R.plen; j++) {
			struct pend *p = &R.pend[(R.phead + j) % R.pcap];
			if (p->index > e[i].index)
				break;
			if (p->index == e[i].index && p->term != e[i].term)
				p->failed = 1;
		}
}

/* feed_fail_all - e.g. on stepping down from leadership at shutdown */
void
feed_fail_all(const char *why)
{
	while (R.plen > 0) {
		pend_reply_error(&R.pend[R.phead], MSG_E_INTERNAL, why);
		R.phead = (R.phead + 1) % R.pcap;
		R.plen--;
	}
}

/* feed_push - send kvd what is committed and on disk, within the window */
void
feed_push(void)
{
	struct buf b, payload;
	uint64_t term, upto;
	uint8_t type;
	size_t mark, nest;

	if (R.sub == NULL || !R.started)
		return;
	upto = R.r.commit < R.log.synced ? R.r.commit : R.log.synced;
	if (R.sub_next <= R.log.base) {
		/* kvd is behind the compacted log: only a snapshot helps */
		snap_restore_kvd();
		return;
	}
	buf_init(&b);
	buf_init(&payload);
	while (R.sub_next <= upto && R.sub_next - 1 - R.applied < KVD_WINDOW) {
		buf_reset(&payload);
		if (raft_log_read(&R.log, R.sub_next, &payload, &term,
		    &type) < 0)
			log_fatal("cannot read back log entry %" PRIu64,
			    R.sub_next);
		mark = frame_begin(&b, MSG_RAFT_ENTRY, 0, 0, 0);
		attr_put_u64(&b, A_INDEX, R.sub_next);
		attr_put_u64(&b, A_TERM, term);
		nest = attr_nest_begin(&b, A_CMD);
		if (type == RAFT_ENTRY_NORMAL)
			buf_append(&b, buf_head(&payload), buf_used(&payload));
		else
			attr_put_u32(&b, A_OP, OP_NOOP);
		attr_nest_end(&b, nest);
		frame_end(&b, mark);
		R.sub_next++;
	}
	if (buf_used(&b) > 0) {
		buf_append(&R.sub->conn.out, buf_head(&b), buf_used(&b));
		conn_flush(&R.sub->conn);
	}
	buf_free(&b);
	buf_free(&payload);
}

/* feed_subscribe - kvd says where it is; stream from there */
void
feed_subscribe(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t applied;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &applied) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "SUBSCRIBE needs an index");
		return;
	}
	/* kvd may be at a snapshot ahead of the log's tail (snap.c) */
	if (applied > R.log.last && applied > snap_file_index()) {
		log_error("kvd has applied index %" PRIu64 " but the log ends "
		    "at %" PRIu64 "; was data_dir/raft removed? refusing",
		    applied, R.log.last);
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
		    "state store is ahead of the log (%" PRIu64 " > %" PRIu64
		    ")", applied, R.log.last);
		return;
	}
	if (R.sub != NULL && R.sub != sc)
		conn_close(&R.sub->conn, "replaced by a new subscriber");
	R.sub = sc;
	if (applied < R.log.base && snap_file_index() >= R.log.base) {
		/* kvd restores, drops this connection and comes back */
		conn_reply(&sc->conn, f, NULL, 0);
		R.applied = applied;
		R.sub_next = applied + 1;
		snap_restore_kvd();
		return;
	}
	R.applied = applied;
	R.sub_next = applied + 1;
	log_info("kvd subscribed at index %" PRIu64 " (log at %" PRIu64 ")",
	    applied, R.log.last);
	conn_reply(&sc->conn, f, NULL, 0);
	feed_push();
}

/*
 * feed_leader - tell kvd what it needs to serve reads alone: whether a
 * leader is known, since when it was last heard, and until when this
 * leader's lease holds. Sent when that changes (at once: a lease lost
 * must not be used) and every FEED_LEADER_MS, with force.
 */
void
feed_leader(int force)
{
	static uint64_t sent_at, lease_sent;
	static int known_sent = -1;
	static struct sconn *sent_to;
	uint64_t now = daemon_now_ms(), lease;
	struct buf b;
	int known;

	if (R.sub == NULL)
		return;
	known = R.started && R.r.leader != RAFT_NONE;
	lease = R.started ? raft_lease_until(&R.r, now) : 0;
	if (R.sub == sent_to && known == known_sent && lease == lease_sent &&
	    !(force && now - sent_at >= FEED_LEADER_MS))
		return;
	buf_init(&b);
	attr_put_u8(&b, A_KNOWN_LEADER, (uint8_t)known);
	attr_put_u64(&b, A_LAST_CONTACT, node_last_contact_ms());
	attr_put_u64(&b, A_LEASE, lease);
	conn_send(&R.sub->conn, MSG_RAFT_LEADER, 0, 0, 0, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
	sent_to = R.sub;
	known_sent = known;
	lease_sent = lease;
	sent_at = now;
}

/* feed_applied - kvd's result for one entry: answer its writer */
void
feed_applied(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct sconn *w;
	struct pend *p;
	uint64_t index;

	if (sc != R.sub || attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0) {
		log_warn("%s: stray or malformed APPLIED", sc->conn.peer);
		return;
	}
	if (index > R.applied)
		R.applied = index;
	session_applied(f->body, f->len);
	while (R.plen > 0 && R.pend[R.phead].index <= index) {
		p = &R.pend[R.phead];
		if (p->index < index)
			pend_reply_error(p, MSG_E_INTERNAL, "no result for the "
			    "write; it may or may not have been applied");
		else if (p->failed)
			pend_reply_error(p, MSG_E_INTERNAL, "leadership changed "
			    "before the write committed; it was not applied");
		else if ((w = server_find(p->srv, p->serial)) != NULL)
			/* kvd's result attrs go back to the writer as-is. */
			conn_send(&w->conn, MSG_RAFT_APPLY, FRAME_REPLY, p->id,
			    0, f->body, f->len);
		R.phead = (R.phead + 1) % R.pcap;
		R.plen--;
	}
	read_ready(NULL, 0);	/* reads waiting for kvd to catch up */
	snap_maybe(R.snap_threshold, R.trailing);
	feed_push();
}

/* feed_closed - a subscriber went away */
void
feed_closed(struct sconn *sc)
{
	if (sc == R.sub) {
		log_warn("kvd disconnected at applied index %" PRIu64,
		    R.applied);
		R.sub = NULL;
	}
}
