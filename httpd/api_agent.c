/*
 * api_agent.c - /v1/agent/self, /v1/agent/members, /v1/status/leader and
 * /v1/status/peers. Members come from gossipd, Raft state from raftd.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "log.h"
#include "msg.h"

/* member_json - Consul's Member (serf's fields and protocol versions) */
static void
member_json(struct json *j, const struct attr *e)
{
	struct attr tab[ATTR_TAB], a, mt[A_META_VALUE + 1];
	struct attr_iter it;
	uint64_t v;

	attr_index(e->val, e->len, tab, ATTR_TAB);
	json_obj_open(j);
	json_attr_str(j, "Name", &tab[A_NODE]);
	json_attr_str(j, "Addr", &tab[A_ADDRESS]);
	json_key(j, "Port");
	json_u64(j, attr_u64(&tab[A_PORT], &v) == 0 ? v : 0);
	json_key(j, "Tags");
	json_obj_open(j);
	attr_iter_init(&it, e->val, e->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_META &&
		    attr_index(a.val, a.len, mt, A_META_VALUE + 1) == 0) {
			json_keyn(j, (const char *)mt[A_META_KEY].val,
			    mt[A_META_KEY].len);
			json_strn(j, (const char *)mt[A_META_VALUE].val,
			    mt[A_META_VALUE].len);
		}
	json_obj_close(j);
	json_key(j, "Status");
	json_u64(j, attr_u64(&tab[A_MEMBER_STATUS], &v) == 0 ? v : 0);
	json_key(j, "ProtocolMin");
	json_u64(j, attr_u64(&tab[A_PROTO_MIN], &v) == 0 ? v : 1);
	json_key(j, "ProtocolMax");
	json_u64(j, attr_u64(&tab[A_PROTO_MAX], &v) == 0 ? v : 5);
	json_key(j, "ProtocolCur");
	json_u64(j, attr_u64(&tab[A_PROTO_CUR], &v) == 0 ? v : 2);
	json_key(j, "DelegateMin");
	json_u64(j, 2);
	json_key(j, "DelegateMax");
	json_u64(j, 5);
	json_key(j, "DelegateCur");
	json_u64(j, 4);
	json_obj_close(j);
}

static void
members_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY)
			member_json(&j, &a);
	json_arr_close(&j);
	api_reply_json(req, &b, 0, NULL);
}

void
api_agent_members(struct http_req *req, const char *rest)
{
	if (!api_method(req, "GET"))
		return;
	if (http_req_param(req, "wan") != NULL) {
		/* No WAN pool yet: a server is alone in it. */
		http_reply_text(req, 501, "the WAN pool is not implemented yet");
		return;
	}
	api_call(req, &H.gossipd, MSG_GOSSIP_MEMBERS, NULL, members_done);
}

/* self_stat - one "key": "value" of Stats (Consul's are all strings) */
static void
self_stat(struct json *j, const char *key, const char *fmt, ...)
{
	char v[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	json_key(j, key);
	json_str(j, v);
}

/*
 * self_stats - Consul's Stats sections that cairn can fill: build,
 * consul, raft (from raftd's status) and serf_lan (from the members)
 */
static void
self_stats(struct json *j, const struct buf *raft, const struct frame *mf)
{
	struct attr tab[ATTR_TAB], mt[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t term = 0, index = 0, commit = 0, applied = 0, st;
	size_t peers = 0, alive = 0, failed = 0, left = 0;
	char self[128], leader[128] = "";

	snprintf(self, sizeof(self), "%s:%d", H.cfg->advertise_addr,
	    H.cfg->port_server);
	attr_iter_init(&it, buf_head(raft), buf_used(raft));
	while (attr_next(&it, &a) == 1)
		peers += a.type == A_PEER;
	attr_index(buf_head(raft), buf_used(raft), tab, ATTR_TAB);
	attr_strcpy(&tab[A_LEADER], leader, sizeof(leader));
	attr_u64(&tab[A_TERM], &term);
	attr_u64(&tab[A_INDEX], &index);
	attr_u64(&tab[A_COMMIT], &commit);
	attr_u64(&tab[A_APPLIED], &applied);
	attr_iter_init(&it, mf->body, mf->len);
	while (attr_next(&it, &a) == 1) {
		st = 0;
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, mt, ATTR_TAB) < 0)
			continue;
		attr_u64(&mt[A_MEMBER_STATUS], &st);
		alive += st == 1;
		left += st == 3;
		failed += st == 4;
	}
	json_obj_open(j);
	json_key(j, "build");
	json_obj_open(j);
	self_stat(j, "prerelease", "%s", "");
	self_stat(j, "revision", "%s", "cairn");
	self_stat(j, "version", "%s", CAIRN_VERSION);
	json_obj_close(j);
	json_key(j, "consul");
	json_obj_open(j);
	self_stat(j, "known_datacenters", "%d", 1);
	self_stat(j, "leader", "%s", H.cfg->server && strcmp(leader, self) == 0 ?
	    "true" : "false");
	self_stat(j, "leader_addr", "%s", leader);
	self_stat(j, "server", "%s", H.cfg->server ? "true" : "false");
	json_obj_close(j);
	if (buf_used(raft) > 0) {
		json_key(j, "raft");
		json_obj_open(j);
		self_stat(j, "applied_index", "%" PRIu64, applied);
		self_stat(j, "commit_index", "%" PRIu64, commit);
		self_stat(j, "last_log_index", "%" PRIu64, index);
		self_stat(j, "num_peers", "%zu", peers > 0 ? peers - 1 : 0);
		self_stat(j, "state", "%s", !H.cfg->server ? "None" :
		    strcmp(leader, self) == 0 ? "Leader" : "Follower");
		self_stat(j, "term", "%" PRIu64, term);
		json_obj_close(j);
	}
	json_key(j, "serf_lan");
	json_obj_open(j);
	self_stat(j, "failed", "%zu", failed);
	self_stat(j, "left", "%zu", left);
	self_stat(j, "members", "%zu", alive + failed);
	json_obj_close(j);
	json_obj_close(j);
}

/* self_done - Config and Member, from our config and gossipd's view */
static void
self_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct config *cfg = H.cfg;
	struct attr_iter it;
	struct attr a, tab[ATTR_TAB];
	struct json j;
	struct buf b;
	int found = 0;

	if (api_failed(req, f, err)) {
		buf_free(req->data);
		free(req->data);
		return;
	}
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_key(&j, "Config");
	json_obj_open(&j);
	json_key(&j, "Datacenter");
	json_str(&j, cfg->datacenter);
	json_key(&j, "NodeName");
	json_str(&j, cfg->node_name);
	json_key(&j, "NodeID");
	json_str(&j, cfg->node_id);
	json_key(&j, "Server");
	json_bool(&j, cfg->server);
	json_key(&j, "Revision");
	json_str(&j, "cairn");
	json_key(&j, "Version");
	json_str(&j, CAIRN_VERSION);
	json_obj_close(&j);
	json_key(&j, "DebugConfig");
	json_obj_open(&j);
	json_key(&j, "DataDir");
	json_str(&j, cfg->data_dir);
	json_key(&j, "ClientAddrs");
	json_arr_open(&j);
	json_str(&j, cfg->client_addr);
	json_arr_close(&j);
	json_key(&j, "DNSDomain");
	json_str(&j, cfg->domain);
	json_obj_close(&j);
	json_key(&j, "Coord");
	json_null(&j);
	json_key(&j, "Member");
	attr_iter_init(&it, f->body, f->len);
	while (!found && attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY &&
		    attr_index(a.val, a.len, tab, ATTR_TAB) == 0 &&
		    tab[A_NODE].len == strlen(cfg->node_name) &&
		    memcmp(tab[A_NODE].val, cfg->node_name, tab[A_NODE].len) == 0) {
			member_json(&j, &a);
			found = 1;
		}
	if (!found)
		json_null(&j);
	json_key(&j, "Stats");
	self_stats(&j, req->data, f);
	json_key(&j, "Meta");
	json_obj_open(&j);
	json_obj_close(&j);
	json_obj_close(&j);
	buf_free(req->data);
	free(req->data);
	api_reply_json(req, &b, 0, NULL);
}

/* self_raft - raftd's status kept for Stats; then gossipd's members */
static void
self_raft(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct buf *raft;

	if ((raft = malloc(sizeof(*raft))) == NULL)
		log_fatal("out of memory");
	buf_init(raft);
	/* Without raftd (a server's is restarting) Stats says less. */
	if (f != NULL && !(f->flags & FRAME_ERROR))
		buf_append(raft, f->body, f->len);
	req->data = raft;
	if (api_call(req, &H.gossipd, MSG_GOSSIP_MEMBERS, NULL,
	    self_done) < 0) {
		buf_free(raft);
		free(raft);
	}
}

/*
 * api_agent_self - a server asks its raftd first (Stats.raft); a client
 * agent, like Consul's, has no raft section and needs no server
 */
void
api_agent_self(struct http_req *req, const char *rest)
{
	if (!api_method(req, "GET"))
		return;
	if (H.cfg->server && rpc_is_up(H.raftd))
		api_call(req, H.raftd, MSG_RAFT_STATUS, NULL, self_raft);
	else		/* a client, or raftd restarting: Stats says less */
		self_raft(req, NULL, "no raftd");
}

/* status_done - "leader" or ["peer",...] */
static void
status_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	struct json j;
	struct buf b;
	int peers = req->data != NULL, leader = 0;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	if (peers)
		json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (peers && a.type == A_PEER)
			json_strn(&j, (const char *)a.val, a.len);
		else if (!peers && a.type == A_LEADER && !leader) {
			json_strn(&j, (const char *)a.val, a.len);
			leader = 1;
		}
	}
	if (peers)
		json_arr_close(&j);
	else if (!leader)
		json_str(&j, "");
	api_reply_json(req, &b, 0, NULL);
}

static void
status(struct http_req *req, int peers)
{
	if (!api_method(req, "GET"))
		return;
	req->data = peers ? (void *)1 : NULL;
	api_call(req, H.raftd, MSG_RAFT_STATUS, NULL, status_done);
}

void
api_status_leader(struct http_req *req, const char *rest)
{
	status(req, 0);
}

void
api_status_peers(struct http_req *req, const char *rest)
{
	status(req, 1);
}
