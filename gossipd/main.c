/*
 * cairn-gossipd - cluster membership.
 *
 * For now a node knows only itself: gossipd puts its own record (name,
 * advertise address, serf_lan port, Consul's tags) in the member table and
 * serves the list on run_dir/gossipd.sock (MSG_GOSSIP_MEMBERS), which is
 * what httpd's /v1/agent/members and `cairn members` show.
 *
 * It already binds the serf_lan port, TCP and UDP, on bind_addr, so a port
 * clash shows at start rather than when SWIM arrives; until then it
 * accepts and closes TCP connections and drops datagrams.
 *
 * Leaves out: SWIM probing, dissemination, push/pull, joining, the WAN
 * pool, user events, and keeping the member list in data_dir/gossip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "member.h"
#include "msg.h"
#include "server.h"
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

static struct {
	struct ev_loop		*loop;
	struct server		 srv;
	struct member_table	 members;
	int			 tcp_fd, udp_fd;
	ev_io			 tcp_w, udp_w;
} G = { .tcp_fd = -1, .udp_fd = -1 };

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

static const struct handler gossipd_handlers[] = {
	{ MSG_GOSSIP_MEMBERS, "members", gossipd_handle_members },
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

/* gossipd_tcp_cb - no gossip over TCP yet: accept and close */
static void
gossipd_tcp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int fd;

	while ((fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		log_debug("gossip TCP connection closed: push/pull is not "
		    "implemented yet");
		close(fd);
	}
}

/* gossipd_udp_cb - no gossip over UDP yet: drop what arrives */
static void
gossipd_udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	char dgram[1500];
	int i;

	/* Bounded, so a flood cannot keep us from the unix socket. */
	for (i = 0; i < 64; i++)
		if (recv(w->fd, dgram, sizeof(dgram), 0) < 0)
			break;
}

/* gossipd_bind - the serf_lan port, TCP and UDP, as Consul binds it */
static int
gossipd_bind(const struct config *cfg, char *err, size_t errlen)
{
	char e[256];

	if ((G.tcp_fd = sock_inet_listen(cfg->bind_addr, cfg->port_serf_lan,
	    SOCK_STREAM, e, sizeof(e))) < 0) {
		snprintf(err, errlen, "serf_lan (TCP): %s", e);
		return -1;
	}
	if ((G.udp_fd = sock_inet_listen(cfg->bind_addr, cfg->port_serf_lan,
	    SOCK_DGRAM, e, sizeof(e))) < 0) {
		snprintf(err, errlen, "serf_lan (UDP): %s", e);
		return -1;
	}
	ev_io_init(&G.tcp_w, gossipd_tcp_cb, G.tcp_fd, EV_READ);
	ev_io_start(G.loop, &G.tcp_w);
	ev_io_init(&G.udp_w, gossipd_udp_cb, G.udp_fd, EV_READ);
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
	member_table_init(&G.members);
	gossipd_self(cfg, &self);
	if (member_update(&G.members, &self, ev_now(loop)) != MEMBER_ADDED) {
		member_tags_free(&self);
		snprintf(err, errlen, "cannot add this node (%s) to the "
		    "member list", cfg->node_name);
		return -1;
	}
	member_tags_free(&self);
	if (gossipd_bind(cfg, err, errlen) < 0)
		return -1;
	daemon_sock_path(cfg, "gossipd", sock, sizeof(sock));
	if (server_listen_unix(&G.srv, loop, sock, "gossipd",
	    gossipd_handlers, err, errlen) < 0)
		return -1;
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
	server_stop(&G.srv);
	if (G.tcp_fd >= 0) {
		ev_io_stop(G.loop, &G.tcp_w);
		close(G.tcp_fd);
	}
	if (G.udp_fd >= 0) {
		ev_io_stop(G.loop, &G.udp_w);
		close(G.udp_fd);
	}
	member_table_free(&G.members);
}

static const struct daemon_spec gossipd_spec = {
	.name = "gossipd",
	.summary = "cairn-gossipd: cluster membership for a cairn node.",
	.help =
"Keeps the member list of the LAN pool (this node, with Consul's tags:\n"
"role, dc, id, build, vsn, port...) and serves it on\n"
"run_dir/gossipd.sock. Binds the serf_lan port (8301, TCP and UDP) on\n"
"bind_addr. Runs on every node. Gossip with other nodes (SWIM) is not\n"
"implemented yet.\n",
	.init = gossipd_init,
	.stop = gossipd_stop,
};

/* main - the daemon skeleton does the rest */
int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &gossipd_spec);
}
