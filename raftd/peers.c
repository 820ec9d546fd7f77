/*
 * peers.c - the other servers: who they are, and the connections that
 * carry Raft messages to them.
 *
 * Servers are learned from gossipd: every member tagged role=consul in
 * our datacenter, with its RPC port and node ID in its tags (as Consul's
 * servers advertise themselves). A server's Raft id is a hash of its node
 * ID, so it is the same on every server without any exchange. Messages go
 * over one outgoing TCP connection per peer (common/rpc: reconnect with
 * backoff); a message for a peer that is not connected is dropped, which
 * Raft tolerates as it tolerates any loss.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raft_wire.h"
#include "raftd.h"
#include "servers.h"

/* peers_find - by Raft id */
struct peer *
peers_find(raft_id id)
{
	size_t i;

	for (i = 0; i < R.npeers; i++)
		if (R.peers[i].id == id)
			return &R.peers[i];
	return NULL;
}

const char *
peers_addr(raft_id id)
{
	static char buf[128];
	struct peer *p;

	if (id == R.id)
		return R.self;
	if ((p = peers_find(id)) == NULL)
		return "";
	snprintf(buf, sizeof(buf), "%s:%d", p->addr, p->port);
	return buf;
}

/* peer_dial - connect to a peer's RPC port (again, if it moved) */
static void
peer_dial(struct peer *p)
{
	if (p->dialed)
		rpc_stop(&p->rpc);
	rpc_init_tcp(&p->rpc, R.loop, p->addr, p->port, "raftd", p->node);
	p->dialed = 1;
}

/* peers_send - one Raft message to its peer, if we can reach it */
void
peers_send(const struct raft_msg *m)
{
	struct peer *p = peers_find(m->to);
	struct buf b;

	if (m->type != RAFT_MSG_APPEND && m->type != RAFT_MSG_APPEND_RESP)
		log_debug("send %d term %" PRIu64 " to %s%s", m->type, m->term,
		    p ? p->node : "?", p && p->dialed && rpc_is_up(&p->rpc) ?
		    "" : " (not connected: dropped)");
	if (p == NULL || !p->dialed || !rpc_is_up(&p->rpc))
		return;
	buf_init(&b);
	raft_wire_encode(m, &b);
	rpc_send(&p->rpc, MSG_RAFT_PEER, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* peers_write_now - put what is queued for the peers on the wire now */
void
peers_write_now(void)
{
	size_t i;

	for (i = 0; i < R.npeers; i++)
		if (R.peers[i].dialed)
			rpc_write_now(&R.peers[i].rpc);
}

#define TAG(key, out) \
	servers_member_tag(rec->val, rec->len, (key), (out), sizeof(out))

/* peers_member - one member from gossipd: add or update a server */
static void
peers_member(const struct attr *rec)
{
	struct attr tab[ATTR_TAB];
	char role[32], dc[64], port[16], id[40], expect[16], addr[64];
	char node[64];
	struct peer *p;
	uint64_t status = 0;
	raft_id rid;
	int changed = 0;

	if (attr_index(rec->val, rec->len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[A_NODE], node, sizeof(node)) < 0 ||
	    attr_strcpy(&tab[A_ADDRESS], addr, sizeof(addr)) < 0 ||
	    TAG("role", role) < 0 || strcmp(role, "consul") != 0 ||
	    TAG("dc", dc) < 0 || strcmp(dc, R.dc) != 0 ||
	    TAG("port", port) < 0 || TAG("id", id) < 0)
		return;
	attr_u64(&tab[A_MEMBER_STATUS], &status);
	if ((rid = raftd_id_of(id)) == R.id)
		return;
	if ((p = peers_find(rid)) == NULL) {
		if (R.npeers == RAFTD_MAX_PEERS) {
			log_warn("more than %d servers; ignoring %s",
			    RAFTD_MAX_PEERS, node);
			return;
		}
		p = &R.peers[R.npeers++];
		memset(p, 0, sizeof(*p));
		p->id = rid;
		changed = 1;
		log_info("server %s (%s:%s) found", node, addr, port);
	}
	if (strcmp(p->addr, addr) != 0 || p->port != atoi(port))
		changed = 1;
	snprintf(p->node, sizeof(p->node), "%s", node);
	snprintf(p->node_id, sizeof(p->node_id), "%s", id);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	p->port = atoi(port);
	p->expect = TAG("expect", expect) == 0 ? atoi(expect) : 0;
	p->alive = status == 1;
	if (changed)
		peer_dial(p);
	node_start_if_ready();
}

/* peers_gossip_push - gossipd tells us about one member */
static void
peers_gossip_push(struct rpc *r, const struct frame *f)
{
	struct attr_iter it;
	struct attr a;

	if (f->type != MSG_GOSSIP_EVENT)
		return;
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY) {
			reconcile_member(&a);	/* all, not servers only */
			peers_member(&a);
		}
}

static void
peers_subscribed(void *arg, const struct frame *f, const char *err)
{
	char msg[256];

	if (f == NULL || (f->flags & FRAME_ERROR))
		log_warn("cannot follow membership: %s", f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
}

/* peers_gossip_up - (re)subscribe to membership */
static void
peers_gossip_up(struct rpc *r)
{
	char err[256];

	reconcile_gossip_up();
	if (rpc_call(r, MSG_GOSSIP_SUBSCRIBE, NULL, 0, 10.0, peers_subscribed,
	    NULL, err, sizeof(err)) < 0)
		log_warn("subscribe to gossipd: %s", err);
}

void
peers_init(struct config *cfg)
{
	daemon_sock_path(cfg, "gossipd", R.gossip_path, sizeof(R.gossip_path));
	rpc_init(&R.gossip, R.loop, R.gossip_path, "raftd", "gossipd");
	R.gossip.on_up = peers_gossip_up;
	R.gossip.on_push = peers_gossip_push;
}

static int
id_cmp(const void *a, const void *b)
{
	raft_id x = *(const raft_id *)a, y = *(const raft_id *)b;

	return x < y ? -1 : x > y;
}

/*
 * peers_bootstrap_set - with bootstrap_expect N, once N servers (ourselves
 * included) advertise the same expectation: all of them, sorted, so every
 * one of them builds the same first configuration. Consul does the same,
 * and shares its race: servers that see different sets at that moment
 * would bootstrap different clusters, which starting them with the same
 * expectation and join addresses avoids in practice.
 */
size_t
peers_bootstrap_set(struct raft_config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->ids[c->n++] = R.id;
	for (i = 0; i < R.npeers && c->n < RAFT_MAX_NODES; i++)
		if (R.peers[i].alive && R.peers[i].expect == R.expect)
			c->ids[c->n++] = R.peers[i].id;
	if ((int)c->n < R.expect)
		return 0;
	qsort(c->ids, c->n, sizeof(c->ids[0]), id_cmp);
	return c->n;
}

void
peers_close(void)
{
	size_t i;

	rpc_stop(&R.gossip);
	for (i = 0; i < R.npeers; i++)
		if (R.peers[i].dialed)
			rpc_stop(&R.peers[i].rpc);
}
