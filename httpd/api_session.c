/*
 * api_session.c - /v1/session/...: create, destroy, renew, info, node and
 * list, with Consul's fields, defaults, limits and words
 * (agent/session_endpoint.go, agent/consul/session_endpoint.go).
 *
 * The ID is made here; kvd checks the session against the catalog when
 * the create is applied, and the leader's raftd keeps the TTL timers.
 * Leaves out: namespaces and ACL tokens (accepted, ignored).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "httpd.h"
#include "msg.h"
#include "uuid.h"

#define LOCK_DELAY_DEFAULT	(15 * DUR_S)
#define LOCK_DELAY_MAX		(60 * DUR_S)	/* Consul's maxLockDelay */
#define LOCK_DELAY_SECONDS	1000	/* numbers below are seconds */
#define TTL_MIN			(10 * DUR_S)
#define TTL_MAX			(24 * DUR_H)

/* json_session - one session record in Consul's shape */
void
json_session(struct json *j, const struct attr *rec)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t v = 0;
	int n;

	if (attr_index(rec->val, rec->len, tab, ATTR_TAB) < 0)
		return;
	json_obj_open(j);
	json_attr_str(j, "ID", &tab[A_SESSION]);
	json_attr_str(j, "Name", &tab[A_SESSION_NAME]);
	json_attr_str(j, "Node", &tab[A_NODE]);
	json_key(j, "LockDelay");
	attr_u64(&tab[A_LOCK_DELAY], &v);
	json_u64(j, v * (uint64_t)DUR_MS);
	json_attr_str(j, "Behavior", &tab[A_BEHAVIOR]);
	json_attr_str(j, "TTL", &tab[A_TTL]);
	/* Checks is what clients before Consul 1.7 read: all of them. */
	json_key(j, "Checks");
	json_arr_open(j);
	attr_iter_init(&it, rec->val, rec->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_CHECK_ID || a.type == A_SERVICE_CHECK)
			json_strn(j, (const char *)a.val, a.len);
	json_arr_close(j);
	json_key(j, "NodeChecks");
	json_arr_open(j);
	attr_iter_init(&it, rec->val, rec->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_CHECK_ID)
			json_strn(j, (const char *)a.val, a.len);
	json_arr_close(j);
	json_key(j, "ServiceChecks");
	n = 0;
	attr_iter_init(&it, rec->val, rec->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_SERVICE_CHECK)
			continue;
		if (n++ == 0)
			json_arr_open(j);
		json_obj_open(j);
		json_key(j, "ID");
		json_strn(j, (const char *)a.val, a.len);
		json_key(j, "Namespace");
		json_str(j, "");
		json_obj_close(j);
	}
	if (n == 0)
		json_null(j);
	else
		json_arr_close(j);
	json_indexes(j, tab);
	json_obj_close(j);
}

/* sessions_done - [session...], [] when there are none */
static void
sessions_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	uint64_t index = 0;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_INDEX)
			attr_u64(&a, &index);
		else if (a.type == A_ENTRY)
			json_session(&j, &a);
	}
	json_arr_close(&j);
	api_reply_json(req, &b, index, f);
}

/*
 * lock_delay - Consul's LockDelay: a duration string, or a number, read
 * as seconds below 1000 and as nanoseconds from there; at most 60 s
 */
static int
lock_delay(struct http_req *req, yajl_val v, int64_t *ns)
{
	*ns = LOCK_DELAY_DEFAULT;
	if (v == NULL || v->type == yajl_t_null)
		return 0;
	if (YAJL_IS_STRING(v)) {
		if (duration_parse(v->u.string, ns) < 0 || *ns < 0) {
			http_reply_text(req, 400, "Request decode failed: "
			    "time: invalid duration \"%s\"", v->u.string);
			return -1;
		}
	} else if (YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0) {
		*ns = YAJL_GET_INTEGER(v);
		if (*ns < LOCK_DELAY_SECONDS)
			*ns *= DUR_S;
	} else {
		http_reply_text(req, 400, "Request decode failed: json: cannot "
		    "unmarshal %s into Go struct field Session.LockDelay of "
		    "type time.Duration", api_json_type(v));
		return -1;
	}
	if (*ns > LOCK_DELAY_MAX)
		*ns = LOCK_DELAY_MAX;
	return 0;
}

/*
 * check_list - an array of check IDs (or, for ServiceChecks, of objects
 * with an ID) as attributes of type; 1 if the field was there
 */
static int
check_list(struct http_req *req, yajl_val root, const char *field,
    uint16_t type, struct buf *cmd)
{
	yajl_val v = api_json_field(root, field), e;
	size_t i;

	if (v == NULL || v->type == yajl_t_null)
		return 0;
	if (!YAJL_IS_ARRAY(v)) {
		http_reply_text(req, 400, "Request decode failed: json: cannot "
		    "unmarshal %s into Go struct field Session.%s",
		    api_json_type(v), field);
		return -1;
	}
	for (i = 0; i < v->u.array.len; i++) {
		e = v->u.array.values[i];
		if (type == A_SERVICE_CHECK && YAJL_IS_OBJECT(e))
			e = api_json_field(e, "ID");
		if (e == NULL || !YAJL_IS_STRING(e) || *e->u.string == '\0') {
			http_reply_text(req, 400, "Request decode failed: "
			    "%s[%zu] is not a check ID", field, i);
			return -1;
		}
		attr_put_str(cmd, type, e->u.string);
	}
	return 1;
}

/* create_done - {"ID": ...}, or kvd's reason as Consul's 500 */
static void
create_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	char msg[512];
	uint32_t status;
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
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_attr_str(&j, "ID", &tab[A_SESSION]);
	json_obj_close(&j);
	api_reply_json(req, &b, 0, NULL);
}

/* session_cmd - the create command from the (optional) JSON body */
static int
session_cmd(struct http_req *req, yajl_val root, struct buf *cmd)
{
	const char *name, *node, *behavior, *ttl;
	char id[UUID_LEN + 1];
	int64_t delay, ttl_ns = 0;
	int a, b, c;

	if (api_json_string(req, root, "Name", "Session", &name) < 0 ||
	    api_json_string(req, root, "Node", "Session", &node) < 0 ||
	    api_json_string(req, root, "Behavior", "Session", &behavior) < 0 ||
	    api_json_string(req, root, "TTL", "Session", &ttl) < 0 ||
	    lock_delay(req, api_json_field(root, "LockDelay"), &delay) < 0)
		return -1;
	if (behavior == NULL || *behavior == '\0')
		behavior = "release";
	if (strcmp(behavior, "release") != 0 &&
	    strcmp(behavior, "delete") != 0) {
		http_reply_text(req, 400, "Invalid Behavior setting '%s'",
		    behavior);
		return -1;
	}
	if (ttl != NULL && *ttl != '\0' && (duration_parse(ttl, &ttl_ns) < 0 ||
	    ttl_ns < TTL_MIN || ttl_ns > TTL_MAX)) {
		http_reply_text(req, 400, "Invalid Session TTL '%s', must be "
		    "between [10s=24h0m0s]", ttl);
		return -1;
	}
	if (uuid_random(id) < 0) {
		http_reply_text(req, 500, "UUID generation failed: no random "
		    "bytes");
		return -1;
	}
	attr_put_u32(cmd, A_OP, OP_SESSION_CREATE);
	attr_put_str(cmd, A_SESSION, id);
	attr_put_str(cmd, A_SESSION_NAME, name != NULL ? name : "");
	attr_put_str(cmd, A_NODE, node != NULL && *node != '\0' ? node :
	    H.cfg->node_name);
	if ((a = check_list(req, root, "Checks", A_CHECK_ID, cmd)) < 0 ||
	    (b = check_list(req, root, "NodeChecks", A_CHECK_ID, cmd)) < 0 ||
	    (c = check_list(req, root, "ServiceChecks", A_SERVICE_CHECK,
	    cmd)) < 0)
		return -1;
	/* Every session depends on serfHealth unless told otherwise. */
	if (!a && !b && !c)
		attr_put_str(cmd, A_CHECK_ID, "serfHealth");
	attr_put_u64(cmd, A_LOCK_DELAY, (uint64_t)(delay / DUR_MS));
	attr_put_str(cmd, A_BEHAVIOR, behavior);
	attr_put_str(cmd, A_TTL, ttl != NULL ? ttl : "");
	if (ttl_ns > 0)
		attr_put_u64(cmd, A_TTL_MS, (uint64_t)(ttl_ns / DUR_MS));
	return 0;
}

/* api_session_create - PUT /v1/session/create */
void
api_session_create(struct http_req *req, const char *rest)
{
	yajl_val root;
	struct buf cmd;

	if (!api_method(req, "PUT"))
		return;
	if (api_body_json(req, yajl_t_object, "structs.Session", 1, &root) < 0)
		return;
	buf_init(&cmd);
	if (session_cmd(req, root, &cmd) == 0)
		api_call(req, H.raftd, MSG_RAFT_APPLY, &cmd, create_done);
	buf_free(&cmd);
	yajl_tree_free(root);
}

/* destroy_done - true, even for a session that was already gone */
static void
destroy_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, "application/json", NULL, "true", 4);
}

/* want_id - the ID after the path, or a 400 */
static int
want_id(struct http_req *req, const char *id, const char *what)
{
	if (*id != '\0')
		return 0;
	http_reply_text(req, 400, "Missing %s", what);
	return -1;
}

/* api_session_destroy - PUT /v1/session/destroy/<id> */
void
api_session_destroy(struct http_req *req, const char *id)
{
	struct buf cmd;

	if (!api_method(req, "PUT") || want_id(req, id, "session") < 0)
		return;
	buf_init(&cmd);
	attr_put_u32(&cmd, A_OP, OP_SESSION_DESTROY);
	attr_put_str(&cmd, A_SESSION, id);
	api_call(req, H.raftd, MSG_RAFT_APPLY, &cmd, destroy_done);
	buf_free(&cmd);
}

/* api_session_renew - PUT /v1/session/renew/<id>: [session] or 404 */
void
api_session_renew(struct http_req *req, const char *id)
{
	struct buf b;

	if (!api_method(req, "PUT") || want_id(req, id, "session") < 0)
		return;
	buf_init(&b);
	attr_put_str(&b, A_SESSION, id);
	api_call(req, H.raftd, MSG_SESSION_RENEW, &b, sessions_done);
	buf_free(&b);
}

/* api_session_info - GET /v1/session/info/<id> */
void
api_session_info(struct http_req *req, const char *id)
{
	struct buf b;

	if (!api_method(req, "GET") || want_id(req, id, "session") < 0)
		return;
	buf_init(&b);
	attr_put_str(&b, A_SESSION, id);
	api_read(req, MSG_SESSION_INFO, &b, sessions_done);
	buf_free(&b);
}

/* api_session_node - GET /v1/session/node/<node> */
void
api_session_node(struct http_req *req, const char *node)
{
	struct buf b;

	if (!api_method(req, "GET") || want_id(req, node, "node name") < 0)
		return;
	buf_init(&b);
	attr_put_str(&b, A_NODE, node);
	api_read(req, MSG_SESSION_LIST, &b, sessions_done);
	buf_free(&b);
}

/* api_session_list - GET /v1/session/list */
void
api_session_list(struct http_req *req, const char *rest)
{
	if (!api_method(req, "GET"))
		return;
	api_read(req, MSG_SESSION_LIST, NULL, sessions_done);
}
