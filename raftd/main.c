/*
 * cairn-raftd - the durable replicated log.
 *
 * For now a single server: every write is appended, synced (one fdatasync
 * for all the writes of one loop pass), committed, and handed in order to
 * kvd, which applies it and returns the result; only then is the writer
 * answered. kvd subscribes with the last index it has applied, so after a
 * restart of either daemon kvd catches up from the log.
 *
 * Each start is a new term, opened by a no-op entry, as a new Raft leader
 * does. Multi-server Raft (elections, replication, snapshots) replaces the
 * "single" parts of this file; the log and the kvd protocol stay.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raft_log.h"
#include "server.h"

#define KVD_WINDOW	4096	/* entries sent to kvd and not yet applied */

struct pend {
	uint64_t	 index;
	struct sconn	*sc;	/* NULL once the writer has gone */
	uint32_t	 id;
};

static struct {
	struct ev_loop	*loop;
	struct server	 srv;
	struct raft_log	 log;
	char		 dir[4096];
	char		 self[128];	/* "addr:port" */
	uint64_t	 term;
	uint64_t	 applied;	/* kvd's last reported index */
	struct sconn	*sub;		/* the kvd subscribed, if any */
	uint64_t	 sub_next;	/* next index to send it */
	struct pend	*pend;		/* ring of writes awaiting results */
	size_t		 phead, plen, pcap;
	ev_prepare	 commit;
	int		 lockfd;
} R;

/* pend_push - remember a writer until its entry is applied */
static void
pend_push(uint64_t index, struct sconn *sc, uint32_t id)
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
	R.pend[(R.phead + R.plen++) % R.pcap] =
	    (struct pend){ index, sc, id };
}

/* push_entries - send kvd what is committed, within the window */
static void
push_entries(void)
{
	struct buf b, payload;
	uint64_t term;
	size_t mark, nest;

	if (R.sub == NULL)
		return;
	buf_init(&b);
	buf_init(&payload);
	while (R.sub_next <= R.log.synced &&
	    R.sub_next - 1 - R.applied < KVD_WINDOW) {
		buf_reset(&payload);
		if (raft_log_read(&R.log, R.sub_next, &payload, &term, NULL) < 0)
			log_fatal("cannot read back log entry %" PRIu64,
			    R.sub_next);
		mark = frame_begin(&b, MSG_RAFT_ENTRY, 0, 0, 0);
		attr_put_u64(&b, A_INDEX, R.sub_next);
		attr_put_u64(&b, A_TERM, term);
		nest = attr_nest_begin(&b, A_CMD);
		buf_append(&b, buf_head(&payload), buf_used(&payload));
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

/* commit_cb - before the loop sleeps: one sync for every write of the pass */
static void
commit_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	char err[256];

	if (R.log.synced == R.log.last && buf_used(&R.log.wbuf) == 0)
		return;
	/* Acknowledged means on disk: a log we cannot sync is fatal. */
	if (raft_log_sync(&R.log, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	push_entries();
}

/* raftd_handle_apply - a write: append, and answer once kvd applied it */
static void
raftd_handle_apply(struct sconn *sc, const struct frame *f)
{
	struct attr_iter it;
	struct attr a;
	uint64_t index;

	attr_iter_init(&it, f->body, f->len);
	if (attr_next(&it, &a) != 1 || a.type != A_OP) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "a command must start with an operation");
		return;
	}
	while ((attr_next(&it, &a)) == 1)
		;
	if (it.left != 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "malformed command");
		return;
	}
	/* Nothing is appended that could not be applied soon. */
	if (R.sub == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_UNAVAIL,
		    "the state store (cairn-kvd) is not running; "
		    "the write was not made, retry shortly");
		return;
	}
	index = raft_log_append(&R.log, R.term, 0, f->body, f->len);
	pend_push(index, sc, f->id);
}

/* raftd_handle_subscribe - kvd says where it is; stream from there */
static void
raftd_handle_subscribe(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t applied;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &applied) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "SUBSCRIBE needs an index");
		return;
	}
	if (applied > R.log.synced) {
		log_error("kvd has applied index %" PRIu64 " but the log ends "
		    "at %" PRIu64 "; was data_dir/raft removed? refusing",
		    applied, R.log.synced);
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
		    "state store is ahead of the log (%" PRIu64 " > %" PRIu64
		    ")", applied, R.log.synced);
		return;
	}
	if (R.sub != NULL && R.sub != sc)
		conn_close(&R.sub->conn, "replaced by a new subscriber");
	R.sub = sc;
	R.applied = applied;
	R.sub_next = applied + 1;
	log_info("kvd subscribed at index %" PRIu64 " (log at %" PRIu64 ")",
	    applied, R.log.synced);
	conn_reply(&sc->conn, f, NULL, 0);
	push_entries();
}

/* raftd_handle_applied - kvd's result for one entry: answer its writer */
static void
raftd_handle_applied(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct pend *p;
	uint64_t index;

	if (sc != R.sub || attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0) {
		log_warn("%s: stray or malformed APPLIED", sc->conn.peer);
		return;
	}
	if (index > R.applied)
		R.applied = index;
	while (R.plen > 0 && R.pend[R.phead].index <= index) {
		p = &R.pend[R.phead];
		if (p->index == index && p->sc != NULL)
			/* kvd's result attrs go back to the writer as-is. */
			conn_send(&p->sc->conn, MSG_RAFT_APPLY, FRAME_REPLY,
			    p->id, 0, f->body, f->len);
		else if (p->sc != NULL)
			conn_reply_error(&p->sc->conn, &(struct frame){
			    .type = MSG_RAFT_APPLY, .id = p->id },
			    MSG_E_INTERNAL, "no result for index %" PRIu64,
			    p->index);
		R.phead = (R.phead + 1) % R.pcap;
		R.plen--;
	}
	push_entries();
}

/* raftd_handle_status - leader, peers, term and indexes */
static void
raftd_handle_status(struct sconn *sc, const struct frame *f)
{
	struct buf b;

	buf_init(&b);
	attr_put_str(&b, A_LEADER, R.self);
	attr_put_str(&b, A_PEER, R.self);
	attr_put_u64(&b, A_TERM, R.term);
	attr_put_u64(&b, A_INDEX, R.log.last);
	attr_put_u64(&b, A_COMMIT, R.log.synced);
	attr_put_u64(&b, A_APPLIED, R.applied);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* raftd_conn_closed - forget a subscriber or orphan a writer's requests */
static void
raftd_conn_closed(struct sconn *sc)
{
	size_t i;

	if (sc == R.sub) {
		log_warn("kvd disconnected at applied index %" PRIu64,
		    R.applied);
		R.sub = NULL;
	}
	for (i = 0; i < R.plen; i++)
		if (R.pend[(R.phead + i) % R.pcap].sc == sc)
			R.pend[(R.phead + i) % R.pcap].sc = NULL;
}

static const struct handler raftd_handlers[] = {
	{ MSG_RAFT_APPLY, "apply", raftd_handle_apply },
	{ MSG_RAFT_SUBSCRIBE, "subscribe", raftd_handle_subscribe },
	{ MSG_RAFT_APPLIED, "applied", raftd_handle_applied },
	{ MSG_RAFT_STATUS, "status", raftd_handle_status },
	{ 0, NULL, NULL }
};

/* raftd_lock - one raftd per data dir, or two would write one log */
static int
raftd_lock(char *err, size_t errlen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/LOCK", R.dir);
	if ((R.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(R.lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: %s (is another cairn-raftd "
		    "running on this data dir?)", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
raftd_init(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	char sock[4200], vote[128];
	unsigned char noop[12];
	struct buf b;

	R.loop = loop;
	snprintf(R.dir, sizeof(R.dir), "%s/raft", cfg->data_dir);
	if (mkdir(R.dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", R.dir, strerror(errno));
		return -1;
	}
	if (!cfg->server) {
		snprintf(err, errlen, "cairn-raftd runs on servers only "
		    "(set \"server\": true); client agents do not need it");
		return -1;
	}
	if (raftd_lock(err, errlen) < 0 ||
	    raft_meta_load(R.dir, &R.term, vote, sizeof(vote), err,
	    errlen) < 0 || raft_log_open(&R.log, R.dir, 0, err, errlen) < 0)
		return -1;
	snprintf(R.self, sizeof(R.self), "%s:%d", cfg->advertise_addr,
	    cfg->port_server);
	/* A single server elects itself: a new term, opened by a no-op. */
	R.term++;
	if (raft_meta_save(R.dir, R.term, cfg->node_id, err, errlen) < 0)
		return -1;
	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_NOOP);
	memcpy(noop, buf_head(&b), sizeof(noop));
	buf_free(&b);
	raft_log_append(&R.log, R.term, 0, noop, sizeof(noop));
	if (raft_log_sync(&R.log, err, errlen) < 0)
		return -1;
	daemon_sock_path(cfg, "raftd", sock, sizeof(sock));
	if (server_listen_unix(&R.srv, loop, sock, "raftd", raftd_handlers,
	    err, errlen) < 0)
		return -1;
	R.srv.on_close = raftd_conn_closed;
	ev_prepare_init(&R.commit, commit_cb);
	ev_prepare_start(loop, &R.commit);
	log_info("leader for term %" PRIu64 " as %s, log at index %" PRIu64
	    ", listening on %s", R.term, R.self, R.log.last, sock);
	return 0;
}

static void
raftd_stop(void)
{
	char err[256];

	if (raft_log_sync(&R.log, err, sizeof(err)) < 0)
		log_error("%s", err);
	server_stop(&R.srv);
	raft_log_close(&R.log);
	free(R.pend);
}

static const struct daemon_spec raftd_spec = {
	.name = "raftd",
	.summary = "cairn-raftd: the durable Raft log of a cairn server.",
	.help =
"Appends every write to data_dir/raft/log, syncs it (one fdatasync for\n"
"many concurrent writes), and hands committed entries in order to\n"
"cairn-kvd, answering each writer with kvd's result. Listens on\n"
"run_dir/raftd.sock. Runs on servers only.\n",
	.init = raftd_init,
	.stop = raftd_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &raftd_spec);
}
