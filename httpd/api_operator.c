/*
 * api_operator.c - /v1/operator/raft/configuration and DELETE
 * /v1/operator/raft/peer, answered by raftd (COMPAT.md 1.7).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "msg.h"

static void
configuration_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a, tab[ATTR_TAB];
	uint64_t index = 0, v;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_key(&j, "Servers");
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_INDEX)
			attr_u64(&a, &index);
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
			continue;
		json_obj_open(&j);
		json_attr_str(&j, "ID", &tab[A_NODE_ID]);
		json_attr_str(&j, "Node", &tab[A_NODE]);
		json_attr_str(&j, "Address", &tab[A_ADDRESS]);
		json_key(&j, "Leader");
		json_bool(&j, attr_u64(&tab[A_IS_LEADER], &v) == 0 && v);
		json_key(&j, "Voter");
		json_bool(&j, attr_u64(&tab[A_VOTER], &v) == 0 && v);
		json_key(&j, "ProtocolVersion");
		json_str(&j, "3");
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "Index");
	json_u64(&j, index);
	json_obj_close(&j);
	api_reply_json(req, &b, index, NULL);
}

void
api_operator_raft_configuration(struct http_req *req, const char *rest)
{
	if (api_method(req, "GET"))
		api_call(req, H.raftd, MSG_RAFT_CONFIGURATION, NULL,
		    configuration_done);
}

static void
remove_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, "text/plain; charset=utf-8", NULL, "", 0);
}

/* DELETE /v1/operator/raft/peer?address=ip:port or ?id=<node id> */
void
api_operator_raft_peer(struct http_req *req, const char *rest)
{
	const char *addr = http_req_param(req, "address");
	const char *id = http_req_param(req, "id");
	struct buf b;

	if (!api_method(req, "DELETE"))
		return;
	if ((addr == NULL || *addr == '\0') && (id == NULL || *id == '\0')) {
		http_reply_text(req, 400, "Must specify either ?id with the "
		    "server's ID or ?address with IP:port of peer to remove");
		return;
	}
	buf_init(&b);
	if (id != NULL && *id != '\0')
		attr_put_str(&b, A_NODE_ID, id);
	else
		attr_put_str(&b, A_ADDRESS, addr);
	api_call(req, H.raftd, MSG_RAFT_REMOVE_PEER, &b, remove_done);
	buf_free(&b);
}

/* snapshot_done - the state as one opaque body, with its index */
static void
snapshot_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	uint64_t index = 0;
	char hdr[128];

	if (api_failed(req, f, err))
		return;
	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_DATA])) {
		http_reply_text(req, 500, "malformed snapshot reply");
		return;
	}
	attr_u64(&tab[A_INDEX], &index);
	snprintf(hdr, sizeof(hdr), "X-Consul-Index: %" PRIu64 "\r\n", index);
	http_reply(req, 200, "application/octet-stream", hdr,
	    tab[A_DATA].val, tab[A_DATA].len);
}

static void
restore_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	uint32_t status;
	char msg[512];

	if (api_failed(req, f, err))
		return;
	if (attr_index(f->body, f->len, tab, ATTR_TAB) == 0 &&
	    attr_u32(&tab[A_STATUS], &status) == 0) {
		attr_strcpy(&tab[A_MSG], msg, sizeof(msg));
		http_reply_text(req, status >= 400 && status < 600 ?
		    (int)status : 500, "%s", msg);
		return;
	}
	http_reply(req, 200, "text/plain; charset=utf-8", NULL, "", 0);
}

/*
 * api_snapshot - GET /v1/snapshot (?stale: any server's), and PUT, which
 * replaces the state on every server through one Raft entry that carries
 * the snapshot (so it is ordered with every other write).
 */
void
api_snapshot(struct http_req *req, const char *rest)
{
	struct buf b;

	if (!api_method(req, "GET,PUT"))
		return;
	if (req->method == HTTP_PUT) {
		buf_init(&b);
		attr_put_u32(&b, A_OP, OP_RESTORE);
		attr_put(&b, A_DATA, buf_head(&req->body),
		    buf_used(&req->body));
		api_call(req, H.raftd, MSG_RAFT_APPLY, &b, restore_done);
		buf_free(&b);
		return;
	}
	buf_init(&b);
	attr_put_u8(&b, A_MODE, http_req_param(req, "stale") ? 2 : 0);
	api_call(req, H.raftd, MSG_RAFT_SNAPSHOT, &b, snapshot_done);
	buf_free(&b);
}
