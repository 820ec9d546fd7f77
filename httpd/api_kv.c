/*
 * api_kv.c - /v1/kv/<key>: GET (?recurse, ?keys with ?separator, ?raw),
 * PUT (?flags, ?cas) and DELETE (?recurse, ?cas) with Consul's JSON,
 * status codes and X-Consul-Index, and ?acquire / ?release with a
 * session. Reads go to kvd, writes through raftd.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "msg.h"

/* json_kv_entry - one DirEntry, fields in Consul's wire order */
void
json_kv_entry(struct json *j, const struct attr *e)
{
	struct attr tab[ATTR_TAB];
	uint64_t v;

	if (attr_index(e->val, e->len, tab, ATTR_TAB) < 0)
		return;
	json_obj_open(j);
	json_key(j, "LockIndex");
	json_u64(j, attr_u64(&tab[A_LOCK_INDEX], &v) == 0 ? v : 0);
	json_attr_str(j, "Key", &tab[A_KEY]);
	json_key(j, "Flags");
	json_u64(j, attr_u64(&tab[A_FLAGS], &v) == 0 ? v : 0);
	json_key(j, "Value");
	if (tab[A_VALUE].len > 0)
		json_base64(j, tab[A_VALUE].val, tab[A_VALUE].len);
	else
		json_null(j);
	if (tab[A_SESSION].len > 0)
		json_attr_str(j, "Session", &tab[A_SESSION]);
	json_key(j, "CreateIndex");
	json_u64(j, attr_u64(&tab[A_CREATE_INDEX], &v) == 0 ? v : 0);
	json_key(j, "ModifyIndex");
	json_u64(j, attr_u64(&tab[A_MODIFY_INDEX], &v) == 0 ? v : 0);
	json_obj_close(j);
}

/* kv_get_done - entries to JSON, ?raw to bytes, none to 404 */
static void
kv_get_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t index = 0;
	struct json j;
	struct buf b;
	char hdr[256];
	int n = 0;

	if (api_failed(req, f, err))
		return;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	attr_u64(&tab[A_INDEX], &index);
	if (!attr_present(&tab[A_ENTRY])) {
		api_meta(hdr, sizeof(hdr), index, f);
		http_reply(req, 404, "text/plain; charset=utf-8", hdr, "", 0);
		return;
	}
	if (http_req_param(req, "raw") != NULL &&
	    http_req_param(req, "recurse") == NULL) {
		struct attr et[ATTR_TAB];
		attr_index(tab[A_ENTRY].val, tab[A_ENTRY].len, et, ATTR_TAB);
		api_meta(hdr, sizeof(hdr), index, f);
		http_reply(req, 200, "text/plain; charset=utf-8", hdr,
		    et[A_VALUE].val, et[A_VALUE].len);
		return;
	}
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY) {
			json_kv_entry(&j, &a);
			n++;
		}
	json_arr_close(&j);
	api_reply_json(req, &b, index, f);
}

/* kv_keys_done - ["k1","k2"]; an empty non-root prefix is a 404 */
static void
kv_keys_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	uint64_t index = 0;
	struct json j;
	struct buf b;
	char hdr[256];
	int n = 0;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_INDEX)
			attr_u64(&a, &index);
		else if (a.type == A_KEY) {
			json_strn(&j, (const char *)a.val, a.len);
			n++;
		}
	}
	json_arr_close(&j);
	if (n == 0 && strlen(req->data) > 0) {
		buf_free(&b);
		api_meta(hdr, sizeof(hdr), index, f);
		http_reply(req, 404, "text/plain; charset=utf-8", hdr, "", 0);
		return;
	}
	api_reply_json(req, &b, index, f);
}

/* kv_write_done - the result of a write: true or false */
static void
kv_write_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	uint64_t result = 0, index = 0;
	char hdr[128], msg[512];
	uint32_t status;

	if (api_failed(req, f, err))
		return;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	/* kvd rejected the command itself (status + message) */
	if (attr_u32(&tab[A_STATUS], &status) == 0) {
		attr_strcpy(&tab[A_MSG], msg, sizeof(msg));
		http_reply_text(req, status >= 400 && status < 600 ? (int)status
		    : 500, "%s", msg);
		return;
	}
	attr_u64(&tab[A_RESULT], &result);
	attr_u64(&tab[A_INDEX], &index);
	snprintf(hdr, sizeof(hdr), "X-Consul-Index: %" PRIu64 "\r\n", index);
	http_reply(req, 200, "application/json", hdr, result ? "true" : "false",
	    result ? 4 : 5);
}

static void
kv_get(struct http_req *req, const char *key)
{
	const char *sep;
	struct buf b;

	buf_init(&b);
	attr_put_str(&b, A_KEY, key);
	if (http_req_param(req, "keys") != NULL) {
		/* Consul accepts its old misspelling too. */
		if ((sep = http_req_param(req, "separator")) == NULL)
			sep = http_req_param(req, "seperator");
		if (sep != NULL && *sep != '\0')
			attr_put_str(&b, A_SEPARATOR, sep);
		req->data = (void *)key;
		api_read(req, MSG_KV_KEYS, &b, kv_keys_done);
	} else {
		if (http_req_param(req, "recurse") != NULL)
			attr_put_u8(&b, A_RECURSE, 1);
		else if (*key == '\0') {
			buf_free(&b);
			http_reply_text(req, 400, "Missing key name");
			return;
		}
		api_read(req, MSG_KV_GET, &b, kv_get_done);
	}
	buf_free(&b);
}

static void
kv_put(struct http_req *req, const char *key)
{
	const char *acquire = http_req_param(req, "acquire");
	const char *release = http_req_param(req, "release");
	uint64_t flags = 0, cas = 0;
	int has_cas;
	struct buf b;

	if (*key == '\0') {
		http_reply_text(req, 400, "Missing key name");
		return;
	}
	if (api_uint_param(req, "flags", &flags, "Invalid flags") < 0 ||
	    (has_cas = api_uint_param(req, "cas", &cas,
	    "Invalid cas index")) < 0)
		return;
	if (has_cas + (acquire != NULL) + (release != NULL) > 1) {
		http_reply_text(req, 400, "Conflicting flags: %s", req->query);
		return;
	}
	buf_init(&b);
	attr_put_u32(&b, A_OP, acquire != NULL ? OP_KV_LOCK :
	    release != NULL ? OP_KV_UNLOCK : OP_KV_SET);
	attr_put_str(&b, A_KEY, key);
	attr_put(&b, A_VALUE, buf_head(&req->body), buf_used(&req->body));
	attr_put_u64(&b, A_FLAGS, flags);
	if (has_cas)
		attr_put_u64(&b, A_CAS, cas);
	if (acquire != NULL || release != NULL)
		attr_put_str(&b, A_SESSION, acquire != NULL ? acquire : release);
	api_call(req, H.raftd, MSG_RAFT_APPLY, &b, kv_write_done);
	buf_free(&b);
}

static void
kv_delete(struct http_req *req, const char *key)
{
	uint64_t cas = 0;
	int has_cas, recurse = http_req_param(req, "recurse") != NULL;
	struct buf b;

	if (*key == '\0' && !recurse) {
		http_reply_text(req, 400, "Missing key name");
		return;
	}
	if ((has_cas = api_uint_param(req, "cas", &cas,
	    "Invalid cas index")) < 0)
		return;
	buf_init(&b);
	attr_put_u32(&b, A_OP, recurse ? OP_KV_DELETE_TREE : OP_KV_DELETE);
	attr_put_str(&b, A_KEY, key);
	if (has_cas && !recurse)
		attr_put_u64(&b, A_CAS, cas);
	api_call(req, H.raftd, MSG_RAFT_APPLY, &b, kv_write_done);
	buf_free(&b);
}

/* api_kv - /v1/kv/<key> */
void
api_kv(struct http_req *req, const char *key)
{
	if (!api_method(req, "GET,PUT,DELETE"))
		return;
	if (req->method == HTTP_GET)
		kv_get(req, key);
	else if (req->method == HTTP_PUT)
		kv_put(req, key);
	else
		kv_delete(req, key);
}
