/*
 * cairn-kvd - the replicated state store on Berkeley DB.
 *
 * kvd subscribes to raftd with the last index it applied and applies what
 * raftd streams, in order, each pass's entries in one transaction; it
 * reports each entry's result back so raftd can answer the writer. Reads
 * (httpd, dnsd) are served straight from the store on run_dir/kvd.sock.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "server.h"
#include "store.h"
#include "watch.h"

#define CHECKPOINT_SECS	30.0
#define KVD_READ_DEFAULT	0	/* A_MODE values (raftd/read.c) */
#define KVD_READ_STALE		2
/*
 * Prepared queries have no table of their own in watch.h: their readers
 * wait on this key of the catalog's, which no catalog read waits on and
 * no catalog write touches. A query write wakes the catalog's readers
 * too; they answer with their index unchanged, as Consul may.
 */
#define KVD_QUERIES_KEY		"\001queries"
#define KVD_QUERIES_KEYLEN	8

struct entry {
	uint64_t	 index;
	size_t		 len;
	unsigned char	 cmd[];
};

static struct {
	struct ev_loop	*loop;
	struct store	 st;
	struct server	 srv;
	struct rpc	 raftd;
	struct entry	**batch;	/* received, not yet applied */
	size_t		 nbatch, capbatch;
	ev_prepare	 apply;
	ev_timer	 checkpoint;
	int		 lockfd;
	/* raftd's MSG_RAFT_LEADER: reads served without asking it */
	int		 known;		/* a leader is known */
	uint64_t	 contact;	/* ms since it was heard, as sent */
	uint64_t	 contact_at;	/* when that was received */
	uint64_t	 lease;		/* the leader's lease, monotonic ms */
} K;

/* kvd_subscribed - raftd's answer to SUBSCRIBE */
static void
kvd_subscribed(void *arg, const struct frame *f, const char *err)
{
	char msg[256];

	if (f == NULL)
		log_warn("subscribe to raftd: %s", err);
	else if (f->flags & FRAME_ERROR) {
		/* Our state is ahead of the log: serving it would lie. */
		log_fatal("raftd refused the subscription: %s",
		    frame_error_text(f, msg, sizeof(msg)));
	}
}

/* kvd_raftd_up - (re)subscribe from the last applied index */
static void
kvd_raftd_up(struct rpc *r)
{
	char err[256];
	struct buf b;

	/* Entries received but not applied will be sent again. */
	while (K.nbatch > 0)
		free(K.batch[--K.nbatch]);
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, K.st.applied);
	if (rpc_call(r, MSG_RAFT_SUBSCRIBE, buf_head(&b), buf_used(&b), 10.0,
	    kvd_subscribed, NULL, err, sizeof(err)) < 0)
		log_warn("subscribe: %s", err);
	buf_free(&b);
	log_info("subscribed to raftd from index %" PRIu64, K.st.applied);
}

/* kvd_leader - raftd's news of the leader and of this server's lease */
static void
kvd_leader(const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t known = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0)
		return;
	attr_u64(&tab[A_KNOWN_LEADER], &known);
	K.known = known != 0;
	K.contact = 0;
	K.lease = 0;
	attr_u64(&tab[A_LAST_CONTACT], &K.contact);
	attr_u64(&tab[A_LEASE], &K.lease);
	K.contact_at = daemon_now_ms();
}

/* kvd_entry - queue a committed entry for the next apply pass */
static void
kvd_entry(struct rpc *r, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct entry *e;
	uint64_t index;

	if (f->type == MSG_RAFT_LEADER) {
		kvd_leader(f);
		return;
	}
	if (f->type != MSG_RAFT_ENTRY ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0 || !attr_present(&tab[A_CMD])) {
		log_warn("raftd: unexpected frame type %u; ignored", f->type);
		return;
	}
	if (index <= K.st.applied ||
	    (K.nbatch > 0 && index != K.batch[K.nbatch - 1]->index + 1))
		return;		/* a resend of what we have */
	if (K.nbatch == 0 && index != K.st.applied + 1) {
		log_error("raftd sent index %" PRIu64 " after %" PRIu64
		    "; resubscribing", index, K.st.applied);
		conn_close(&K.raftd.conn, "gap in the log stream");
		return;
	}
	if ((e = malloc(sizeof(*e) + tab[A_CMD].len)) == NULL)
		log_fatal("out of memory");
	e->index = index;
	e->len = tab[A_CMD].len;
	memcpy(e->cmd, tab[A_CMD].val, e->len);
	if (K.nbatch == K.capbatch) {
		K.capbatch = K.capbatch ? K.capbatch * 2 : 256;
		if ((K.batch = realloc(K.batch, K.capbatch *
		    sizeof(*K.batch))) == NULL)
			log_fatal("out of memory");
	}
	K.batch[K.nbatch++] = e;
}

/* kvd_wake - the blocked reads that the committed batch concerns */
static void
kvd_wake(void)
{
	struct attr_iter it;
	struct attr a;

	attr_iter_init(&it, buf_head(&K.st.touched), buf_used(&K.st.touched));
	while (watch_count() > 0 && attr_next(&it, &a) == 1) {
		switch (a.type) {
		case TOUCH_KEY:
		case TOUCH_TREE:
			watch_touched(WATCH_KV, a.val, a.len,
			    a.type == TOUCH_TREE);
			break;
		case TOUCH_SESSIONS:
			watch_touched(WATCH_SESSIONS, "", 0, 0);
			break;
		case TOUCH_CATALOG:
			watch_touched(WATCH_CATALOG, "", 0, 0);
			break;
		case TOUCH_QUERIES:
			watch_touched(WATCH_CATALOG, KVD_QUERIES_KEY,
			    KVD_QUERIES_KEYLEN, 0);
			break;
		case TOUCH_ALL:
			watch_touched(0, NULL, 0, 0);
			break;
		}
	}
	buf_reset(&K.st.touched);
}

/* apply_cb - before sleeping: apply the batch in one transaction */
static void
apply_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct buf out, res;
	DB_TXN *t;
	size_t i, mark;

	if (K.nbatch == 0)
		return;
	buf_init(&out);
	buf_init(&res);
	if (store_txn_begin(&K.st, &t) < 0)
		log_fatal("cannot begin a transaction in %s", K.st.dir);
	for (i = 0; i < K.nbatch; i++) {
		mark = frame_begin(&out, MSG_RAFT_APPLIED, 0, 0, 0);
		attr_put_u64(&out, A_INDEX, K.batch[i]->index);
		if (store_apply(&K.st, t, K.batch[i]->index, K.batch[i]->cmd,
		    K.batch[i]->len, &out) < 0) {
			t->abort(t);
			/* Exit and let the supervisor restart: we replay. */
			log_fatal("cannot apply index %" PRIu64 "; exiting to "
			    "recover", K.batch[i]->index);
		}
		frame_end(&out, mark);
	}
	if (store_txn_commit(&K.st, t) < 0)
		log_fatal("cannot commit in %s", K.st.dir);
	K.st.applied = K.batch[K.nbatch - 1]->index;
	kvd_wake();
	for (i = 0; i < K.nbatch; i++)
		free(K.batch[i]);
	K.nbatch = 0;
	if (rpc_is_up(&K.raftd)) {
		buf_append(&K.raftd.conn.out, buf_head(&out), buf_used(&out));
		conn_flush(&K.raftd.conn);
	}
	buf_free(&out);
	buf_free(&res);
}

/*
 * reply_done - answer a read (rc < 0: it failed); a read with A_MODE
 * (httpd's, not through raftd) learns what raftd would have added
 */
/* read_mode - a read's A_MODE, or -1 when it has none (raftd's reads) */
static int
read_mode(const struct frame *f)
{
	struct attr_iter it;
	struct attr a;
	uint64_t mode;

	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_MODE)
			return attr_u64(&a, &mode) == 0 ? (int)mode : -1;
	return -1;
}

static void
reply_done(struct sconn *sc, const struct frame *f, struct buf *b, int rc)
{
	if (rc == 0 && read_mode(f) >= 0) {
		attr_put_u8(b, A_KNOWN_LEADER, (uint8_t)K.known);
		attr_put_u64(b, A_LAST_CONTACT, K.lease > daemon_now_ms() ? 0 :
		    K.contact + (daemon_now_ms() - K.contact_at));
	}
	if (rc < 0)
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
		    "state store read failed");
	else
		conn_reply(&sc->conn, f, buf_head(b), buf_used(b));
	buf_free(b);
}

/*
 * may_serve - a read from raftd, a stale one, or a default one while
 * this server's lease holds is served here; any other is refused with
 * MSG_E_MOVED, and the reader asks raftd
 */
static int
may_serve(struct sconn *sc, const struct frame *f)
{
	int mode = read_mode(f);

	if (mode < 0 || mode == KVD_READ_STALE ||
	    (mode == KVD_READ_DEFAULT && K.lease > daemon_now_ms()))
		return 1;
	conn_reply_error(&sc->conn, f, MSG_E_MOVED, "not the leader, or no "
	    "lease: ask raftd");
	return 0;
}

/* want_str - a required string attribute as a C string */
static int
want_str(struct sconn *sc, const struct frame *f, struct attr *tab,
    uint16_t type, char *out, size_t n, const char *what)
{
	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[type], out, n) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "%s", what);
		return -1;
	}
	return 0;
}

/*
 * read_block - a blocking read (A_INDEX: the index the reader has,
 * A_WAIT: ms it may wait) whose answer would carry no newer index waits
 * in watch.c for a change to key in table; 1 when it was parked
 */
static int
read_block(struct sconn *sc, const struct frame *f, struct attr *tab,
    uint64_t index, enum watch_table table, const struct attr *key,
    int prefix, int may_park)
{
	uint64_t have = 0, wait = 0;

	if (!may_park || attr_u64(&tab[A_INDEX], &have) < 0 || have == 0 ||
	    attr_u64(&tab[A_WAIT], &wait) < 0 || wait == 0 || index > have)
		return 0;
	watch_park(sc, f, table, key->val, key->len, prefix, wait);
	return 1;
}

static void
kv_get_read(struct sconn *sc, const struct frame *f, int may_park)
{
	struct attr tab[ATTR_TAB];
	uint64_t index, recurse = 0;
	struct buf b, body;
	int rc;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_KEY])) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing key name");
		return;
	}
	attr_u64(&tab[A_RECURSE], &recurse);
	buf_init(&body);
	rc = kv_get(&K.st, (const char *)tab[A_KEY].val, tab[A_KEY].len,
	    recurse != 0, &body, &index);
	if (rc == 0 && read_block(sc, f, tab, index, WATCH_KV, &tab[A_KEY],
	    recurse != 0, may_park)) {
		buf_free(&body);
		return;
	}
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	buf_append(&b, buf_head(&body), buf_used(&body));
	buf_free(&body);
	reply_done(sc, f, &b, rc);
}

static void
kv_keys_read(struct sconn *sc, const struct frame *f, int may_park)
{
	struct attr tab[ATTR_TAB];
	struct buf b, body;
	uint64_t index;
	int rc;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_KEY])) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing prefix");
		return;
	}
	buf_init(&body);
	rc = kv_keys(&K.st, (const char *)tab[A_KEY].val, tab[A_KEY].len,
	    (const char *)tab[A_SEPARATOR].val, tab[A_SEPARATOR].len, &body,
	    &index);
	if (rc == 0 && read_block(sc, f, tab, index, WATCH_KV, &tab[A_KEY], 1,
	    may_park)) {
		buf_free(&body);
		return;
	}
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	buf_append(&b, buf_head(&body), buf_used(&body));
	buf_free(&body);
	reply_done(sc, f, &b, rc);
}

static void
kvd_handle_kv_get(struct sconn *sc, const struct frame *f)
{
	if (!may_serve(sc, f))
		return;
	kv_get_read(sc, f, 1);
}

static void
kvd_handle_kv_keys(struct sconn *sc, const struct frame *f)
{
	if (!may_serve(sc, f))
		return;
	kv_keys_read(sc, f, 1);
}

/* session_read - MSG_SESSION_INFO and MSG_SESSION_LIST */
static void
session_read(struct sconn *sc, const struct frame *f, int may_park)
{
	static const struct attr all = { .val = (const unsigned char *)"" };
	struct attr tab[ATTR_TAB];
	uint64_t index = K.st.session_index ? K.st.session_index : 1;
	struct buf b;
	int rc;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    (f->type == MSG_SESSION_INFO && tab[A_SESSION].len == 0)) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing session");
		return;
	}
	if (read_block(sc, f, tab, index, WATCH_SESSIONS, &all, 1, may_park))
		return;
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	if (f->type == MSG_SESSION_INFO)
		rc = session_info(&K.st, tab[A_SESSION].val, tab[A_SESSION].len,
		    &b);
	else
		rc = session_list(&K.st, attr_present(&tab[A_NODE]) ?
		    tab[A_NODE].val : NULL, tab[A_NODE].len, &b);
	reply_done(sc, f, &b, rc);
}

static void
kvd_handle_session(struct sconn *sc, const struct frame *f)
{
	if (!may_serve(sc, f))
		return;
	session_read(sc, f, 1);
}

/* opt_str - an optional string attribute: 0 (*out NULL if absent), -1 */
static int
opt_str(const struct attr *a, char *buf, size_t n, const char **out)
{
	*out = NULL;
	if (!attr_present(a))
		return 0;
	if (attr_strcpy(a, buf, n) < 0)
		return -1;
	*out = buf;
	return 0;
}

/*
 * cat_read - the catalog and health reads; all carry the catalog index
 * and, asked with an older index, wait for any catalog change
 */
static void
cat_read(struct sconn *sc, const struct frame *f, int may_park)
{
	static const struct attr all = { .val = (const unsigned char *)"" };
	struct attr tab[ATTR_TAB];
	char node[256], name[256], tag[256], state[16];
	const char *np, *sp, *tp, *stp;
	uint64_t passing = 0, index = K.st.catalog_index ?
	    K.st.catalog_index : 1;
	struct buf b;
	int rc = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    opt_str(&tab[A_NODE], node, sizeof(node), &np) < 0 ||
	    opt_str(&tab[A_SERVICE_NAME], name, sizeof(name), &sp) < 0 ||
	    opt_str(&tab[A_TAG], tag, sizeof(tag), &tp) < 0 ||
	    opt_str(&tab[A_STATUS], state, sizeof(state), &stp) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "malformed or "
		    "too long a node, service, tag or state");
		return;
	}
	if ((f->type == MSG_CAT_NODE && np == NULL) ||
	    (f->type == MSG_HEALTH_SERVICE && sp == NULL)) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing %s name",
		    f->type == MSG_CAT_NODE ? "node" : "service");
		return;
	}
	if (read_block(sc, f, tab, index, WATCH_CATALOG, &all, 1, may_park))
		return;
	attr_u64(&tab[A_PASSING], &passing);
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	switch (f->type) {
	case MSG_CAT_NODES:
		rc = catalog_nodes(&K.st, &b);
		break;
	case MSG_CAT_NODE:
		rc = catalog_node(&K.st, np, &b);
		break;
	case MSG_CAT_SERVICES:
		rc = catalog_services(&K.st, &b);
		break;
	case MSG_CAT_SERVICE:
	case MSG_HEALTH_SERVICE:
		rc = catalog_service(&K.st, sp, tp, f->type ==
		    MSG_HEALTH_SERVICE, passing != 0, &b);
		break;
	case MSG_HEALTH_CHECKS:
		rc = catalog_checks(&K.st, np, sp, stp, &b);
		break;
	}
	reply_done(sc, f, &b, rc);
}

static void
kvd_handle_cat(struct sconn *sc, const struct frame *f)
{
	if (!may_serve(sc, f))
		return;
	cat_read(sc, f, 1);
}

/*
 * query_read - MSG_QUERY_GET (blocking while the queries table does not
 * change) and MSG_QUERY_EXECUTE (never blocks, as in Consul)
 */
static void
query_read(struct sconn *sc, const struct frame *f, int may_park)
{
	static const struct attr queries = { .len = KVD_QUERIES_KEYLEN,
	    .val = (const unsigned char *)KVD_QUERIES_KEY };
	struct attr tab[ATTR_TAB];
	char key[1024], err[256];
	const char *kp;
	uint64_t passing = 0, index = K.st.query_index;
	struct buf b;
	int rc, found = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    opt_str(&tab[f->type == MSG_QUERY_GET ? A_QUERY_ID : A_KEY], key,
	    sizeof(key), &kp) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "malformed or too "
		    "long a query ID or name");
		return;
	}
	if (f->type == MSG_QUERY_EXECUTE && (kp == NULL || *kp == '\0')) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "Missing query ID");
		return;
	}
	if (f->type == MSG_QUERY_EXECUTE && K.st.catalog_index > index)
		index = K.st.catalog_index;
	if (index == 0)
		index = 1;
	if (f->type == MSG_QUERY_GET &&
	    read_block(sc, f, tab, index, WATCH_CATALOG, &queries, 0,
	    may_park))
		return;
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	if (f->type == MSG_QUERY_GET) {
		rc = query_get(&K.st, kp, &b, &found);
		if (rc == 0 && kp != NULL && !found)
			rc = MSG_E_NOTFOUND;
		snprintf(err, sizeof(err), "Query not found");
	} else {
		attr_u64(&tab[A_PASSING], &passing);
		rc = query_execute(&K.st, kp, passing != 0, &b, err,
		    sizeof(err));
	}
	if (rc > 0) {
		conn_reply_error(&sc->conn, f, (uint32_t)rc, "%s", err);
		buf_free(&b);
		return;
	}
	reply_done(sc, f, &b, rc);
}

/* kvd_handle_query - MSG_QUERY_GET and MSG_QUERY_EXECUTE */
static void
kvd_handle_query(struct sconn *sc, const struct frame *f)
{
	if (!may_serve(sc, f))
		return;
	query_read(sc, f, 1);
}

/* kvd_rerun - a blocked read woke: answer it now */
static void
kvd_rerun(struct sconn *sc, const struct frame *f)
{
	if (f->type == MSG_KV_KEYS)
		kv_keys_read(sc, f, 0);
	else if (f->type == MSG_SESSION_INFO || f->type == MSG_SESSION_LIST)
		session_read(sc, f, 0);
	else if (f->type == MSG_KV_GET)
		kv_get_read(sc, f, 0);
	else if (f->type == MSG_QUERY_GET)
		query_read(sc, f, 0);
	else
		cat_read(sc, f, 0);
}

static void
kvd_handle_status(struct sconn *sc, const struct frame *f)
{
	struct buf b;

	buf_init(&b);
	attr_put_u64(&b, A_APPLIED, K.st.applied);
	reply_done(sc, f, &b, 0);
}

/* kvd_handle_snapshot_save - the state as of applied, to raftd's path */
static void
kvd_handle_snapshot_save(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char path[4096], err[512];
	uint64_t index;
	struct buf b;

	if (want_str(sc, f, tab, A_KEY, path, sizeof(path),
	    "Missing snapshot path") < 0)
		return;
	if (store_snapshot_save(&K.st, path, &index, err, sizeof(err)) < 0) {
		log_warn("snapshot save: %s", err);
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "%s", err);
		return;
	}
	log_info("saved a snapshot at index %" PRIu64 " to %.200s", index,
	    path);
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	reply_done(sc, f, &b, 0);
}

/*
 * kvd_handle_snapshot_restore - replace the state with a snapshot. What
 * was queued from raftd belongs to the old state, and raftd's stream goes
 * on from where it was: drop the queue and the connection, so that the
 * reconnect (kvd_raftd_up) subscribes from the restored index.
 */
static void
kvd_handle_snapshot_restore(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char path[4096], err[512];
	uint64_t index;
	struct buf b;

	if (want_str(sc, f, tab, A_KEY, path, sizeof(path),
	    "Missing snapshot path") < 0)
		return;
	if (store_snapshot_restore(&K.st, path, &index, err,
	    sizeof(err)) < 0) {
		log_warn("snapshot restore: %s", err);
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "%s", err);
		return;
	}
	log_info("restored the snapshot %.200s at index %" PRIu64, path,
	    index);
	while (K.nbatch > 0)
		free(K.batch[--K.nbatch]);
	buf_reset(&K.st.touched);
	watch_touched(0, NULL, 0, 0);	/* anything may have changed */
	if (rpc_is_up(&K.raftd))
		conn_close(&K.raftd.conn, "restored a snapshot");
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	reply_done(sc, f, &b, 0);
}

static const struct handler kvd_handlers[] = {
	{ MSG_KV_GET, "kv.get", kvd_handle_kv_get },
	{ MSG_KV_KEYS, "kv.keys", kvd_handle_kv_keys },
	{ MSG_SESSION_INFO, "session.info", kvd_handle_session },
	{ MSG_SESSION_LIST, "session.list", kvd_handle_session },
	{ MSG_CAT_NODES, "catalog.nodes", kvd_handle_cat },
	{ MSG_CAT_NODE, "catalog.node", kvd_handle_cat },
	{ MSG_CAT_SERVICES, "catalog.services", kvd_handle_cat },
	{ MSG_CAT_SERVICE, "catalog.service", kvd_handle_cat },
	{ MSG_HEALTH_SERVICE, "health.service", kvd_handle_cat },
	{ MSG_HEALTH_CHECKS, "health.checks", kvd_handle_cat },
	{ MSG_QUERY_GET, "query.get", kvd_handle_query },
	{ MSG_QUERY_EXECUTE, "query.execute", kvd_handle_query },
	{ MSG_KVD_STATUS, "status", kvd_handle_status },
	{ MSG_KVD_SNAPSHOT_SAVE, "snapshot.save", kvd_handle_snapshot_save },
	{ MSG_KVD_SNAPSHOT_RESTORE, "snapshot.restore",
	    kvd_handle_snapshot_restore },
	{ 0, NULL, NULL }
};

static void
checkpoint_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	store_checkpoint(&K.st);
}

static int
kvd_init(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	char dir[4200], path[4300];

	K.loop = loop;
	if (!cfg->server) {
		snprintf(err, errlen, "cairn-kvd runs on servers only (set "
		    "\"server\": true); client agents read through a server");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/state", cfg->data_dir);
	if (store_open(&K.st, dir, err, errlen) < 0)
		return -1;
	/* One kvd per environment: DB_RECOVER under a live one corrupts it. */
	snprintf(path, sizeof(path), "%s/LOCK", dir);
	if ((K.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(K.lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: %s (is another cairn-kvd running on "
		    "this data dir?)", path, strerror(errno));
		return -1;
	}
	daemon_sock_path(cfg, "kvd", path, sizeof(path));
	if (server_listen_unix(&K.srv, loop, path, "kvd", kvd_handlers, err,
	    errlen) < 0)
		return -1;
	log_info("state store %s at index %" PRIu64 ", listening on %s", dir,
	    K.st.applied, path);
	daemon_sock_path(cfg, "raftd", path, sizeof(path));
	rpc_init(&K.raftd, loop, path, "kvd", "raftd");
	K.raftd.on_up = kvd_raftd_up;
	K.raftd.on_push = kvd_entry;
	ev_prepare_init(&K.apply, apply_cb);
	ev_prepare_start(loop, &K.apply);
	watch_init(loop, kvd_rerun);
	ev_timer_init(&K.checkpoint, checkpoint_cb, CHECKPOINT_SECS,
	    CHECKPOINT_SECS);
	ev_timer_start(loop, &K.checkpoint);
	return 0;
}

static void
kvd_stop(void)
{
	watch_stop();
	rpc_stop(&K.raftd);
	server_stop(&K.srv);
	store_close(&K.st);
	while (K.nbatch > 0)
		free(K.batch[--K.nbatch]);
	free(K.batch);
}

static const struct daemon_spec kvd_spec = {
	.name = "kvd",
	.summary = "cairn-kvd: the replicated state store of a cairn server.",
	.help =
"Applies the entries cairn-raftd commits to a Berkeley DB environment in\n"
"data_dir/state (KV, catalog) and answers reads on run_dir/kvd.sock.\n"
"After a restart it catches up from the Raft log. Runs on servers only.\n",
	.init = kvd_init,
	.stop = kvd_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &kvd_spec);
}
