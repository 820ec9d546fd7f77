/*
 * cairn-raftd - Raft among the servers: the durable replicated log.
 *
 * Local daemons (httpd, checkd, kvd) reach raftd on run_dir/raftd.sock;
 * other servers and client agents on the server RPC port (8300). A write
 * on the leader is proposed (stamped with the leader's clock, A_NOW) and
 * answered with kvd's result once it is
 * committed and applied; on a follower it is forwarded to the leader;
 * with no leader it is held for Consul's rpc_hold_timeout (7 s) and then
 * refused with "No cluster leader".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raft_wire.h"
#include "raftd.h"

struct raftd R;

/* valid_command - a command is an attribute list that starts with A_OP */
static int
valid_command(const struct frame *f)
{
	struct attr_iter it;
	struct attr a;

	attr_iter_init(&it, f->body, f->len);
	if (attr_next(&it, &a) != 1 || a.type != A_OP)
		return 0;
	while (attr_next(&it, &a) == 1)
		;
	return it.left == 0;
}

/* hold - keep a write until there is a leader, or the hold runs out */
static void
hold(struct sconn *sc, const struct frame *f)
{
	struct held *h;

	if ((h = malloc(sizeof(*h) + f->len)) == NULL)
		log_fatal("out of memory");
	h->srv = sc->srv;
	h->serial = sc->serial;
	h->id = f->id;
	h->type = f->type;
	h->deadline = ev_now(R.loop) + RPC_HOLD_SECS;
	h->len = f->len;
	memcpy(h->body, f->body, f->len);
	TAILQ_INSERT_TAIL(&R.held, h, entry);
	if (!ev_is_active(&R.hold_timer))
		ev_timer_start(R.loop, &R.hold_timer);
}

/* remove_peer - the leader removes one server from the configuration */
static int
remove_peer(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char want[128];
	raft_id id = RAFT_NONE;
	uint64_t index;
	struct buf b;
	size_t i;

	if (!node_is_leader())
		return raftd_forward(sc, f);
	attr_index(f->body, f->len, tab, ATTR_TAB);
	if (attr_strcpy(&tab[A_NODE_ID], want, sizeof(want)) == 0)
		id = raftd_id_of(want);
	else if (attr_strcpy(&tab[A_ADDRESS], want, sizeof(want)) == 0) {
		for (i = 0; i < R.r.config.n; i++)
			if (strcmp(peers_addr(R.r.config.ids[i]), want) == 0)
				id = R.r.config.ids[i];
	}
	if (id == RAFT_NONE || !raft_config_has(&R.r.config, id)) {
		conn_reply_error(&sc->conn, f, MSG_E_NOTFOUND,
		    "address \"%s\" was not found in the Raft configuration",
		    want);
		return 0;
	}
	if ((index = raft_change(&R.r, id, 0)) == 0) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "a configuration "
		    "change is already in progress; retry shortly");
		return 0;
	}
	log_info("removing server %s from the configuration",
	    peers_addr(id));
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
	return 0;
}

/*
 * apply - propose on the leader; forward from a follower. Returns 0 when
 * the request was taken care of, -1 when it must wait for a leader.
 */
static int
apply(struct sconn *sc, const struct frame *f)
{
	uint64_t index;

	if (f->type == MSG_RAFT_REMOVE_PEER)
		return remove_peer(sc, f);
	if (f->type == MSG_RAFT_READ)
		return read_try(sc, f);
	if (f->type == MSG_SESSION_RENEW)
		return session_renew(sc, f);
	if (!node_is_leader())
		return raftd_forward(sc, f);
	/* The leader's kvd gives the result: it must be there. */
	if (R.sub == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_UNAVAIL,
		    "the state store (cairn-kvd) is not running on the "
		    "leader; retry shortly");
		return 0;
	}
	if ((index = node_propose(f->body, f->len)) == 0)
		return -1;
	feed_pend(index, R.r.term, sc, f->id);
	return 0;
}

/* raftd_request - serve, forward, or hold a request until there is a leader */
void
raftd_request(struct sconn *sc, const struct frame *f)
{
	if (apply(sc, f) < 0)
		hold(sc, f);
}

static void
raftd_handle_apply(struct sconn *sc, const struct frame *f)
{
	if (!valid_command(f)) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "a command must be an attribute list starting with an "
		    "operation");
		return;
	}
	raftd_request(sc, f);
}

/* raftd_dispatch_held - retry held writes; refuse the expired ones */
void
raftd_dispatch_held(void)
{
	struct held *h, *next;
	struct sconn *sc;
	struct frame f;

	for (h = TAILQ_FIRST(&R.held); h != NULL; h = next) {
		next = TAILQ_NEXT(h, entry);
		sc = server_find(h->srv, h->serial);
		memset(&f, 0, sizeof(f));
		f.type = h->type;
		f.id = h->id;
		f.len = (uint32_t)h->len;
		f.body = h->body;
		if (sc != NULL && apply(sc, &f) < 0) {
			if (ev_now(R.loop) < h->deadline)
				continue;
			conn_reply_error(&sc->conn, &f, MSG_E_INTERNAL,
			    "No cluster leader");
		}
		TAILQ_REMOVE(&R.held, h, entry);
		free(h);
	}
	if (TAILQ_EMPTY(&R.held))
		ev_timer_stop(R.loop, &R.hold_timer);
}

static void
hold_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	raftd_dispatch_held();
}

/* raftd_handle_peer - a Raft message from another server */
static void
raftd_handle_peer(struct sconn *sc, const struct frame *f)
{
	struct raft_msg m;
	char err[128];

	if (raft_wire_decode(f->body, f->len, &m, err, sizeof(err)) < 0) {
		log_warn("%s: %s; closing", sc->conn.peer, err);
		conn_close(&sc->conn, "%s", err);
		return;
	}
	if (m.type != RAFT_MSG_APPEND && m.type != RAFT_MSG_APPEND_RESP)
		log_debug("recv %d term %" PRIu64 " reject %d from %016" PRIx64,
		    m.type, m.term, m.reject, m.from);
	/* The core's clock must not lag a message it judges by time. */
	if (m.to == R.id && R.started && !snap_offer(&m)) {
		raft_tick(&R.r, daemon_now_ms());
		raft_step(&R.r, &m);
	}
	free(m.entries);
}

static void
raftd_handle_subscribe(struct sconn *sc, const struct frame *f)
{
	feed_subscribe(sc, f);
}

static void
raftd_handle_applied(struct sconn *sc, const struct frame *f)
{
	feed_applied(sc, f);
}

static void
raftd_handle_held(struct sconn *sc, const struct frame *f)
{
	raftd_request(sc, f);
}

static void
raftd_handle_snap_chunk(struct sconn *sc, const struct frame *f)
{
	snap_chunk(sc, f);
}

/* raftd_handle_snapshot - GET /v1/snapshot: the leader's, or ?stale */
static void
raftd_handle_snapshot(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t mode = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) == 0)
		attr_u64(&tab[A_MODE], &mode);
	if (mode != 2 && !node_is_leader()) {
		if (raftd_forward(sc, f) < 0)
			conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
			    "No cluster leader");
		return;
	}
	snap_api(sc, f);
}

/* raftd_handle_configuration - the servers of the newest configuration */
static void
raftd_handle_configuration(struct sconn *sc, const struct frame *f)
{
	struct peer *p;
	struct buf b;
	char hex[24];
	size_t i, nest;
	raft_id id;

	buf_init(&b);
	attr_put_u64(&b, A_INDEX, R.started ? R.r.config_index : 0);
	for (i = 0; R.started && i < R.r.config.n; i++) {
		id = R.r.config.ids[i];
		p = peers_find(id);
		snprintf(hex, sizeof(hex), "%016" PRIx64, id);
		nest = attr_nest_begin(&b, A_ENTRY);
		attr_put_str(&b, A_NODE, id == R.id ? R.node :
		    p != NULL ? p->node : "(unknown)");
		attr_put_str(&b, A_NODE_ID, id == R.id ? R.node_id :
		    p != NULL ? p->node_id : hex);
		attr_put_str(&b, A_ADDRESS, peers_addr(id));
		attr_put_u8(&b, A_IS_LEADER, id == R.r.leader);
		attr_put_u8(&b, A_VOTER, 1);
		attr_nest_end(&b, nest);
	}
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* raftd_handle_status - leader, peers, term and indexes */
static void
raftd_handle_status(struct sconn *sc, const struct frame *f)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	attr_put_str(&b, A_LEADER, node_leader_addr());
	for (i = 0; R.started && i < R.r.config.n; i++)
		if (*peers_addr(R.r.config.ids[i]) != '\0')
			attr_put_str(&b, A_PEER, peers_addr(R.r.config.ids[i]));
	attr_put_u64(&b, A_TERM, R.started ? R.r.term : 0);
	attr_put_u64(&b, A_INDEX, R.log.last);
	attr_put_u64(&b, A_COMMIT, R.started ? R.r.commit : 0);
	attr_put_u64(&b, A_APPLIED, R.applied);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

static void
raftd_conn_closed(struct sconn *sc)
{
	feed_closed(sc);
}

static const struct handler local_handlers[] = {
	{ MSG_RAFT_APPLY, "apply", raftd_handle_apply },
	{ MSG_RAFT_SUBSCRIBE, "subscribe", raftd_handle_subscribe },
	{ MSG_RAFT_APPLIED, "applied", raftd_handle_applied },
	{ MSG_RAFT_STATUS, "status", raftd_handle_status },
	{ MSG_RAFT_CONFIGURATION, "configuration", raftd_handle_configuration },
	{ MSG_RAFT_REMOVE_PEER, "remove-peer", raftd_handle_held },
	{ MSG_RAFT_READ, "read", raftd_handle_held },
	{ MSG_SESSION_RENEW, "session-renew", raftd_handle_held },
	{ MSG_RAFT_SNAPSHOT, "snapshot", raftd_handle_snapshot },
	{ 0, NULL, NULL }
};

/* The server RPC port: other servers, and client agents. */
static const struct handler remote_handlers[] = {
	{ MSG_RAFT_PEER, "peer", raftd_handle_peer },
	{ MSG_RAFT_SNAP_CHUNK, "snapshot-chunk", raftd_handle_snap_chunk },
	{ MSG_RAFT_SNAPSHOT, "snapshot", raftd_handle_snapshot },
	{ MSG_RAFT_APPLY, "apply", raftd_handle_apply },
	{ MSG_RAFT_STATUS, "status", raftd_handle_status },
	{ MSG_RAFT_CONFIGURATION, "configuration", raftd_handle_configuration },
	{ MSG_RAFT_REMOVE_PEER, "remove-peer", raftd_handle_held },
	{ MSG_RAFT_READ, "read", raftd_handle_held },
	{ MSG_SESSION_RENEW, "session-renew", raftd_handle_held },
	{ MSG_RAFT_BOOTSTRAP, "bootstrap", boot_reply },
	{ 0, NULL, NULL }
};

static int
raftd_init(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	char sock[4200];

	if (!cfg->server) {
		snprintf(err, errlen, "cairn-raftd runs on servers only "
		    "(set \"server\": true); client agents do not need it");
		return -1;
	}
	R.loop = loop;
	TAILQ_INIT(&R.held);
	ev_timer_init(&R.hold_timer, hold_cb, 0.1, 0.1);
	snprintf(R.node, sizeof(R.node), "%s", cfg->node_name);
	snprintf(R.node_id, sizeof(R.node_id), "%s", cfg->node_id);
	snprintf(R.dc, sizeof(R.dc), "%s", cfg->datacenter);
	snprintf(R.advertise, sizeof(R.advertise), "%s", cfg->advertise_addr);
	R.port = cfg->port_server;
	snprintf(R.self, sizeof(R.self), "%s:%d", R.advertise, R.port);
	R.bootstrap = cfg->bootstrap || cfg->dev;
	R.expect = cfg->bootstrap_expect;
	R.id = raftd_id_of(cfg->node_id);
	if (server_listen_tcp(&R.remote, loop, cfg->bind_addr, R.port,
	    "raftd", remote_handlers, err, errlen) < 0)
		return -1;
	R.remote.on_close = raftd_conn_closed;
	daemon_sock_path(cfg, "raftd", sock, sizeof(sock));
	if (server_listen_unix(&R.local, loop, sock, "raftd", local_handlers,
	    err, errlen) < 0)
		return -1;
	R.local.on_close = raftd_conn_closed;
	peers_init(cfg);
	daemon_sock_path(cfg, "kvd", sock, sizeof(sock));
	rpc_init(&R.kvd, loop, sock, "raftd", "kvd");
	daemon_sock_path(cfg, "raftd", sock, sizeof(sock));
	if (node_open(cfg, err, errlen) < 0)
		return -1;
	log_info("server %s at %s; listening on %s:%d and %s", R.node, R.self,
	    cfg->bind_addr, R.port, sock);
	return 0;
}

static void
raftd_stop(void)
{
	struct held *h;

	while ((h = TAILQ_FIRST(&R.held)) != NULL) {
		TAILQ_REMOVE(&R.held, h, entry);
		free(h);
	}
	ev_timer_stop(R.loop, &R.hold_timer);
	feed_fail_all("cairn-raftd is stopping");
	server_stop(&R.local);
	server_stop(&R.remote);
	reconcile_stop();	/* before its reads fail */
	session_stop();
	rpc_stop(&R.kvd);
	peers_close();
	node_close();
	free(R.pend);
}

static const struct daemon_spec raftd_spec = {
	.name = "raftd",
	.summary = "cairn-raftd: Raft consensus among the cairn servers.",
	.help =
"Keeps the replicated log in data_dir/raft: elects a leader among the\n"
"servers (found through cairn-gossipd; -bootstrap-expect N waits for N of\n"
"them, -bootstrap or -dev starts alone), replicates and commits writes on\n"
"a majority, and hands committed entries in order to cairn-kvd. Local\n"
"daemons use run_dir/raftd.sock; servers and client agents the server\n"
"RPC port (ports.server, 8300). Timings scale with\n"
"performance.raft_multiplier (1-10, default 3: 300 ms elections).\n",
	.init = raftd_init,
	.stop = raftd_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &raftd_spec);
}
