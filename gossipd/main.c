/*
 * cairn-gossipd - cluster membership.
 *
 * Keeps the member table (member.c): this node's own record (name,
 * advertise address, serf_lan port, Consul's tags) and every member
 * learned from others. SWIM (swim.c, bound in swim_io.c) probes members
 * over UDP on the serf_lan port, decides who failed, and spreads news
 * and user events; nodes also exchange whole tables over TCP on the same
 * port (pushpull.c): with the start_join and retry_join addresses and
 * the saved members at start, on request, every 30s with a random
 * member, and every 10s with a failed one (join.c).
 *
 * On run_dir/gossipd.sock it serves the member list (MSG_GOSSIP_MEMBERS,
 * for /v1/agent/members and `cairn members`), joins, leaves and
 * force-leaves on request, fires and lists user events, and streams
 * member changes to subscribers (MSG_GOSSIP_SUBSCRIBE: raftd finds its
 * fellow servers this way, and the leader keeps the catalog in step).
 *
 * Leaves out: the WAN pool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "event.h"
#include "gossipd.h"
#include "log.h"
#include "msg.h"
#include "sock.h"

/* Our build tag; `members` shows the part before ':' (Consul: ver:rev). */
#define GOSSIPD_BUILD		"0.1.0:cairn"
/* Consul's protocol versions (agent/consul/config.go), in the vsn tags. */
#define GOSSIPD_VSN		2
#define GOSSIPD_VSN_MIN		2
#define GOSSIPD_VSN_MAX		3
#define GOSSIPD_RAFT_VSN	3
/* memberlist's protocol range, as Consul members report it. */
#define GOSSIPD_PROTO_MIN	1
#define GOSSIPD_PROTO_MAX	5
#define GOSSIPD_PROTO_CUR	2

struct gossipd G = { .udp_fd = -1 };

/* gossipd_handle_members - every member, one A_ENTRY each */
static void
gossipd_handle_members(struct sconn *sc, const struct frame *f)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < G.members.n; i++)
		member_encode(&b, G.members.m[i]);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* gossipd_event - one MSG_GOSSIP_EVENT push to a subscriber */
static void
gossipd_event(struct sconn *sc, const struct member *m)
{
	struct buf b;

	buf_init(&b);
	member_encode(&b, m);
	conn_send(&sc->conn, MSG_GOSSIP_EVENT, 0, 0, 0, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
}

/* gossipd_notify - see gossipd.h */
void
gossipd_notify(const struct member *m)
{
	size_t i;

	for (i = 0; i < G.nsubs; i++)
		gossipd_event(G.subs[i], m);
}

/* gossipd_handle_subscribe - reply, then every member, then changes */
static void
gossipd_handle_subscribe(struct sconn *sc, const struct frame *f)
{
	struct sconn **ns;
	size_t i;

	for (i = 0; i < G.nsubs && G.subs[i] != sc; i++)
		;
	if (i == G.nsubs) {
		if (G.nsubs == G.subcap) {
			G.subcap = G.subcap ? G.subcap * 2 : 4;
			if ((ns = realloc(G.subs, G.subcap *
			    sizeof(*ns))) == NULL)
				log_fatal("out of memory");
			G.subs = ns;
		}
		G.subs[G.nsubs++] = sc;
		log_info("%s subscribed to member events", sc->conn.peer);
	}
	conn_reply(&sc->conn, f, NULL, 0);
	for (i = 0; i < G.members.n; i++)
		gossipd_event(sc, G.members.m[i]);
}

/* gossipd_local_closed - a peer on gossipd.sock went away */
static void
gossipd_local_closed(struct sconn *sc)
{
	size_t i;

	for (i = 0; i < G.nsubs; i++)
		if (G.subs[i] == sc) {
			G.subs[i] = G.subs[--G.nsubs];
			break;
		}
	join_conn_closed(sc);
}

static const struct handler gossipd_handlers[] = {
	{ MSG_GOSSIP_MEMBERS, "members", gossipd_handle_members },
	{ MSG_GOSSIP_SUBSCRIBE, "subscribe", gossipd_handle_subscribe },
	{ MSG_GOSSIP_JOIN, "join", join_handle },
	{ MSG_GOSSIP_LEAVE, "leave", swim_io_handle_leave },
	{ MSG_GOSSIP_FORCE_LEAVE, "force-leave", swim_io_handle_force_leave },
	{ MSG_GOSSIP_EVENT_FIRE, "event-fire", event_handle_fire },
	{ MSG_GOSSIP_EVENT_LIST, "event-list", event_handle_list },
	{ 0, NULL, NULL }
};

/* Between nodes, on the serf_lan TCP port. */
static const struct handler gossipd_peer_handlers[] = {
	{ MSG_GOSSIP_PUSHPULL, "pushpull", pushpull_handle },
	{ MSG_GOSSIP_PUSHPULL_FILL, "pushpull-fill", pushpull_handle_fill },
	{ MSG_GOSSIP_PING, "ping", pushpull_handle_ping },
	{ 0, NULL, NULL }
};

/* gossipd_self - this node's record, with the tags Consul's agent sets */
static void
gossipd_self(const struct config *cfg, struct member *m)
{
	char num[32];

	memset(m, 0, sizeof(*m));
	m->name = cfg->node_name;
	snprintf(m->addr, sizeof(m->addr), "%s", cfg->advertise_addr);
	m->port = (uint16_t)cfg->port_serf_lan;
	m->status = MEMBER_ALIVE;
	m->incarnation = 0;
	m->proto_min = GOSSIPD_PROTO_MIN;
	m->proto_max = GOSSIPD_PROTO_MAX;
	m->proto_cur = GOSSIPD_PROTO_CUR;
	/* agent/consul/server_serf.go and client_serf.go (setupSerf). */
	member_tag_set(m, "role", cfg->server ? "consul" : "node");
	member_tag_set(m, "dc", cfg->datacenter);
	member_tag_set(m, "segment", "");
	member_tag_set(m, "id", cfg->node_id);
	snprintf(num, sizeof(num), "%d", GOSSIPD_VSN);
	member_tag_set(m, "vsn", num);
	snprintf(num, sizeof(num), "%d", GOSSIPD_VSN_MIN);
	member_tag_set(m, "vsn_min", num);
	snprintf(num, sizeof(num), "%d", GOSSIPD_VSN_MAX);
	member_tag_set(m, "vsn_max", num);
	member_tag_set(m, "build", GOSSIPD_BUILD);
	if (!cfg->server)
		return;
	snprintf(num, sizeof(num), "%d", GOSSIPD_RAFT_VSN);
	member_tag_set(m, "raft_vsn", num);
	snprintf(num, sizeof(num), "%d", cfg->port_server);
	member_tag_set(m, "port", num);
	/* Consul's -dev sets bootstrap = true, so its tag shows there too. */
	if (cfg->bootstrap || cfg->dev)
		member_tag_set(m, "bootstrap", "1");
	if (cfg->bootstrap_expect != 0) {
		snprintf(num, sizeof(num), "%d", cfg->bootstrap_expect);
		member_tag_set(m, "expect", num);
	}
}

/* gossipd_bind - the serf_lan port, TCP and UDP, as Consul binds it */
static int
gossipd_bind(const struct config *cfg, char *err, size_t errlen)
{
	char e[256];

	if (server_listen_tcp(&G.gossip, G.loop, cfg->bind_addr,
	    cfg->port_serf_lan, "gossipd", gossipd_peer_handlers, e,
	    sizeof(e)) < 0) {
		snprintf(err, errlen, "serf_lan (TCP): %s", e);
		return -1;
	}
	/* Before the first accept: peers send member lists, not bulk. */
	G.gossip.max_frame = GOSSIPD_FRAME_MAX;
	if ((G.udp_fd = sock_inet_listen(cfg->bind_addr, cfg->port_serf_lan,
	    SOCK_DGRAM, e, sizeof(e))) < 0) {
		snprintf(err, errlen, "serf_lan (UDP): %s", e);
		return -1;
	}
	ev_io_init(&G.udp_w, swim_io_udp_cb, G.udp_fd, EV_READ);
	ev_io_start(G.loop, &G.udp_w);
	return 0;
}

/* gossipd_init - this node in the table, the gossip port, the socket */
static int
gossipd_init(struct ev_loop *loop, struct config *cfg, char *err,
    size_t errlen)
{
	struct member self;
	char sock[4200];

	G.loop = loop;
	G.cfg = cfg;
	G.self = cfg->node_name;
	G.gossip.fd = G.local.fd = -1;
	member_table_init(&G.members);
	gossipd_self(cfg, &self);
	if (member_update(&G.members, &self, (double)daemon_now_ms() / 1000) !=
	    MEMBER_ADDED) {
		member_tags_free(&self);
		snprintf(err, errlen, "cannot add this node (%s) to the "
		    "member list", cfg->node_name);
		return -1;
	}
	member_tags_free(&self);
	/* Config errors first; exchanges start once the loop runs. */
	if (swim_io_init(cfg, err, errlen) < 0 ||
	    join_init(cfg, err, errlen) < 0)
		return -1;
	if (gossipd_bind(cfg, err, errlen) < 0 ||
	    saved_init(cfg, err, errlen) < 0)
		return -1;
	event_api_init(loop, cfg, G.self);
	daemon_sock_path(cfg, "gossipd", sock, sizeof(sock));
	if (server_listen_unix(&G.local, loop, sock, "gossipd",
	    gossipd_handlers, err, errlen) < 0)
		return -1;
	G.local.on_close = gossipd_local_closed;
	log_info("member %s (%s, dc %s) at %s:%d; gossip port %s:%d "
	    "(TCP and UDP); listening on %s", cfg->node_name,
	    cfg->server ? "server" : "client", cfg->datacenter,
	    cfg->advertise_addr, cfg->port_serf_lan, cfg->bind_addr,
	    cfg->port_serf_lan, sock);
	return 0;
}

/* gossipd_stop - close everything and free the table */
static void
gossipd_stop(void)
{
	saved_stop();
	event_api_stop();
	pushpull_stop();
	join_stop();
	swim_io_stop();
	server_stop(&G.local);
	server_stop(&G.gossip);
	if (G.udp_fd >= 0) {
		ev_io_stop(G.loop, &G.udp_w);
		close(G.udp_fd);
	}
	free(G.subs);
	G.subs = NULL;
	G.nsubs = G.subcap = 0;
	member_table_free(&G.members);
}

static const struct daemon_spec gossipd_spec = {
	.name = "gossipd",
	.summary = "cairn-gossipd: cluster membership for a cairn node.",
	.help =
"Keeps the member list of the LAN pool (each node with Consul's tags:\n"
"role, dc, id, build, vsn, port...), exchanging it with other nodes over\n"
"TCP on the serf_lan port (8301) on bind_addr: with start_join and\n"
"retry_join (retry_interval, retry_max) at start, on request (`cairn\n"
"join`), and every 10s with a random member. Serves the list, joins and\n"
"member events on run_dir/gossipd.sock. Runs on every node. Detects\n"
"failures with SWIM and Lifeguard over UDP on the same port (gossip_lan:\n"
"probe_interval 400ms, probe_timeout 250ms, suspicion_mult 3,\n"
"retransmit_mult 4, gossip_interval 100ms, gossip_nodes 4), spreads user\n"
"events, encrypts everything with the encrypt key (`cairn keygen`), and\n"
"keeps the member list in data_dir/gossip to rejoin after a restart.\n",
	.init = gossipd_init,
	.stop = gossipd_stop,
};

/* main - the daemon skeleton does the rest */
int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &gossipd_spec);
}
