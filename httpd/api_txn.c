/*
 * api_txn.c - PUT /v1/txn: Consul's transactions of KV operations, all
 * applied in one Raft entry or none (agent/txn_endpoint.go).
 *
 * The body is an array of {"KV":{Verb,Key,Value,Flags,Index,Session}}.
 * 200 {"Results":[{"KV":entry}...],"Errors":null} when applied; 409
 * {"Results":null,"Errors":[{"OpIndex","What"}...]} when rolled back;
 * 413 beyond TXN_MAX_OPS operations.
 *
 * Leaves out: Node, Service and Check operations (400), and serving a
 * read-only transaction without the log.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "httpd.h"
#include "msg.h"

#define TXN_MAX_OPS	128	/* Consul's maxTxnOps (64 before 1.x) */

/* txn_done - kvd's outcome in Consul's shape */
static void
txn_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB], et[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t ok = 0, index = 0;
	uint32_t status, op;
	char msg[512], hdr[64];
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	if (attr_u32(&tab[A_STATUS], &status) == 0) {
		attr_strcpy(&tab[A_MSG], msg, sizeof(msg));
		http_reply_text(req, status >= 400 && status < 600 ?
		    (int)status : 500, "%s", msg);
		return;
	}
	attr_u64(&tab[A_RESULT], &ok);
	attr_u64(&tab[A_INDEX], &index);
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_key(&j, "Results");
	if (ok)
		json_arr_open(&j);
	else
		json_null(&j);
	attr_iter_init(&it, f->body, f->len);
	while (ok && attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY) {
			json_obj_open(&j);
			json_key(&j, "KV");
			json_kv_entry(&j, &a);
			json_obj_close(&j);
		}
	if (ok)
		json_arr_close(&j);
	json_key(&j, "Errors");
	if (ok)
		json_null(&j);
	else {
		json_arr_open(&j);
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			if (a.type != A_TXN_ERROR ||
			    attr_index(a.val, a.len, et, ATTR_TAB) < 0)
				continue;
			op = 0;
			attr_u32(&et[A_OP_INDEX], &op);
			json_obj_open(&j);
			json_key(&j, "OpIndex");
			json_u64(&j, op);
			json_attr_str(&j, "What", &et[A_MSG]);
			json_obj_close(&j);
		}
		json_arr_close(&j);
	}
	json_obj_close(&j);
	if (ok) {
		api_reply_json(req, &b, index, NULL);
		return;
	}
	snprintf(hdr, sizeof(hdr), "X-Consul-Index: %" PRIu64 "\r\n", index);
	http_reply(req, 409, "application/json", hdr, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
}

/*
 * txn_kv - one {"KV":{...}} as A_ENTRY{A_VERB A_KEY ...}; -1 after a
 * 400 saying which operation is wrong
 */
static int
txn_kv(struct http_req *req, yajl_val kv, size_t i, struct buf *cmd)
{
	const char *verb, *key, *value, *session;
	yajl_val flags = api_json_field(kv, "Flags");
	yajl_val index = api_json_field(kv, "Index");
	struct buf raw;
	size_t nest;

	if (!YAJL_IS_OBJECT(kv)) {
		http_reply_text(req, 400, "Failed to parse body: operation %zu: "
		    "KV must be an object", i);
		return -1;
	}
	if (api_json_string(req, kv, "Verb", "TxnKVOp", &verb) < 0 ||
	    api_json_string(req, kv, "Key", "DirEntry", &key) < 0 ||
	    api_json_string(req, kv, "Value", "DirEntry", &value) < 0 ||
	    api_json_string(req, kv, "Session", "DirEntry", &session) < 0)
		return -1;
	if ((flags != NULL && flags->type != yajl_t_null &&
	    (!YAJL_IS_INTEGER(flags) || YAJL_GET_INTEGER(flags) < 0)) ||
	    (index != NULL && index->type != yajl_t_null &&
	    (!YAJL_IS_INTEGER(index) || YAJL_GET_INTEGER(index) < 0))) {
		http_reply_text(req, 400, "Failed to parse body: operation "
		    "%zu: Flags and Index must be unsigned integers", i);
		return -1;
	}
	if (verb == NULL || *verb == '\0') {
		http_reply_text(req, 400, "Failed to parse body: operation %zu: "
		    "missing Verb", i);
		return -1;
	}
	buf_init(&raw);
	if (value != NULL && base64_decode(&raw, value, strlen(value)) < 0) {
		buf_free(&raw);
		http_reply_text(req, 400, "Failed to parse body: operation %zu: "
		    "illegal base64 data in Value", i);
		return -1;
	}
	nest = attr_nest_begin(cmd, A_ENTRY);
	attr_put_str(cmd, A_VERB, verb);
	attr_put_str(cmd, A_KEY, key != NULL ? key : "");
	attr_put(cmd, A_VALUE, buf_head(&raw), buf_used(&raw));
	if (flags != NULL && YAJL_IS_INTEGER(flags))
		attr_put_u64(cmd, A_FLAGS, (uint64_t)YAJL_GET_INTEGER(flags));
	if (index != NULL && YAJL_IS_INTEGER(index))
		attr_put_u64(cmd, A_INDEX, (uint64_t)YAJL_GET_INTEGER(index));
	if (session != NULL)
		attr_put_str(cmd, A_SESSION, session);
	attr_nest_end(cmd, nest);
	buf_free(&raw);
	return 0;
}

/* api_txn - PUT /v1/txn */
void
api_txn(struct http_req *req, const char *rest)
{
	yajl_val root, op, kv;
	struct buf cmd;
	size_t i, n;

	if (!api_method(req, "PUT"))
		return;
	if (api_body_json(req, yajl_t_array, "[]structs.TxnOp", 0, &root) < 0)
		return;
	n = YAJL_IS_ARRAY(root) ? root->u.array.len : 0;
	if (n > TXN_MAX_OPS) {
		http_reply_text(req, 413, "Transaction contains too many "
		    "operations (%zu > %d)", n, TXN_MAX_OPS);
		yajl_tree_free(root);
		return;
	}
	buf_init(&cmd);
	attr_put_u32(&cmd, A_OP, OP_TXN);
	for (i = 0; i < n; i++) {
		op = root->u.array.values[i];
		if ((kv = api_json_field(op, "KV")) == NULL) {
			http_reply_text(req, 400, "Failed to parse body: "
			    "operation %zu: only KV operations are supported "
			    "(Node, Service and Check are not)", i);
			break;
		}
		if (txn_kv(req, kv, i, &cmd) < 0)
			break;
	}
	if (i == n)
		api_call(req, H.raftd, MSG_RAFT_APPLY, &cmd, txn_done);
	buf_free(&cmd);
	yajl_tree_free(root);
}
