/*
 * api.c - helpers every route uses: calling a daemon, mapping its errors
 * to HTTP, Consul's headers, query parameters, JSON for shared records.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "httpd.h"
#include "log.h"
#include "msg.h"

/*
 * api_call_wait - api_call for an answer that may take wait s longer,
 * with the callback's argument arg (req itself for api_call)
 */
static int
api_call_wait(struct http_req *req, struct rpc *r, uint16_t type,
    const struct buf *body, double wait, rpc_cb *cb, void *arg)
{
	char err[256];

	if (servers_call(r, type, body ? buf_head(body) : NULL,
	    body ? buf_used(body) : 0, API_TIMEOUT + wait, cb, arg, err,
	    sizeof(err)) == 0)
		return 0;
	/* No server known: Consul's 500 "No known Consul servers". */
	if (servers_owns(r))
		http_reply_text(req, 500, "%s", err);
	else
		http_reply_text(req, 503, "%s (cairn-%s may be restarting); "
		    "retry shortly", err, r->peer);
	return -1;
}

int
api_call(struct http_req *req, struct rpc *r, uint16_t type,
    const struct buf *body, rpc_cb *cb)
{
	return api_call_wait(req, r, type, body, 0, cb, req);
}

int
api_failed(struct http_req *req, const struct frame *f, const char *err)
{
	char msg[512];
	int status;

	if (f == NULL) {
		/* A timeout's outcome is unknown; say so. */
		http_reply_text(req, strstr(err, "timed out") ? 504 : 503,
		    "%s; the request may or may not have been applied", err);
		return 1;
	}
	if (!(f->flags & FRAME_ERROR))
		return 0;
	status = f->status >= 400 && f->status <= 599 ? (int)f->status : 500;
	http_reply_text(req, status, "%s", frame_error_text(f, msg,
	    sizeof(msg)));
	return 1;
}

void
api_json_begin(struct http_req *req, struct json *j, struct buf *b)
{
	buf_init(b);
	json_init(j, b, http_req_param(req, "pretty") != NULL);
}

/*
 * api_meta - Consul's X-Consul-Index (index > 0), and X-Consul-KnownLeader
 * and X-Consul-LastContact from a read's reply f (or this agent's own)
 */
void
api_meta(char *hdrs, size_t n, uint64_t index, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t known = 1, contact = 0;
	int k = 0;

	if (f != NULL && attr_index(f->body, f->len, tab, ATTR_TAB) == 0) {
		attr_u64(&tab[A_KNOWN_LEADER], &known);
		attr_u64(&tab[A_LAST_CONTACT], &contact);
	}
	hdrs[0] = '\0';
	if (index > 0)
		k = snprintf(hdrs, n, "X-Consul-Index: %" PRIu64 "\r\n", index);
	if ((f != NULL || index > 0) && k >= 0 && (size_t)k < n)
		snprintf(hdrs + k, n - (size_t)k, "X-Consul-KnownLeader: %s\r\n"
		    "X-Consul-LastContact: %" PRIu64 "\r\n",
		    known ? "true" : "false", contact);
}

/*
 * api_reply_json - 200 with Consul's headers. A reply from a read carries
 * what raftd knew of the leader; other answers are the agent's own.
 */
void
api_reply_json(struct http_req *req, struct buf *b, uint64_t index,
    const struct frame *f)
{
	char hdrs[256];

	api_meta(hdrs, sizeof(hdrs), index, f);
	http_reply(req, 200, "application/json", hdrs, buf_head(b),
	    buf_used(b));
	buf_free(b);
}

/*
 * api_blocking - Consul's ?index=&wait=: the index the client has and the
 * ms it may wait (wait defaults to 5m, is capped at 10m, and gets up to
 * 1/16 more at random so that watchers woken together come back apart).
 * 0 with *index 0 for a plain read; -1 after a 400.
 */
static int
api_blocking(struct http_req *req, uint64_t *index, uint64_t *wait_ms)
{
	const char *w = http_req_param(req, "wait");
	int64_t ns = 5 * 60 * DUR_S;

	*index = *wait_ms = 0;
	if (api_uint_param(req, "index", index, "Invalid index") < 0)
		return -1;
	if (w != NULL && (duration_parse(w, &ns) < 0 || ns < 0)) {
		http_reply_text(req, 400, "Invalid wait time");
		return -1;
	}
	if (*index == 0)
		return 0;
	if (ns > 10 * 60 * DUR_S)
		ns = 10 * 60 * DUR_S;
	*wait_ms = (uint64_t)(ns / DUR_MS);
	if (*wait_ms >= 16)
		*wait_ms += (uint64_t)random() % (*wait_ms / 16);
	return 0;
}

/* A read sent to this server's kvd, ready to go to raftd instead */
struct local_read {
	struct http_req	*req;
	rpc_cb		*cb;
	double		 wait;		/* s */
	struct buf	 raft;		/* its MSG_RAFT_READ body */
};

/* kvd said "ask raftd" (a follower, or no lease): do so until then */
static ev_tstamp kvd_moved_until;

/* local_read_done - kvd's answer, or the read again through raftd */
static void
local_read_done(void *arg, const struct frame *f, const char *err)
{
	struct local_read *lr = arg;

	if (f != NULL && (f->flags & FRAME_ERROR) && f->status == MSG_E_MOVED) {
		kvd_moved_until = ev_now(H.loop) + 1.0;
		api_call_wait(lr->req, H.raftd, MSG_RAFT_READ, &lr->raft,
		    lr->wait, lr->cb, lr->req);
	} else
		lr->cb(lr->req, f, err);
	buf_free(&lr->raft);
	free(lr);
}

/*
 * api_read - a read of kvd's in the consistency mode the request asks
 * for (?stale, ?consistent, or the default), blocking with ?index
 * (kvd/watch.c; KV and session reads block, others answer at once).
 *
 * On a server, stale and default reads go straight to this server's
 * kvd, which serves a default one only while raftd says this server
 * leads with a lease (MSG_RAFT_LEADER), and refuses it otherwise; then,
 * and for a second after, they take the way every read on a client
 * agent takes: MSG_RAFT_READ to raftd, which forwards or confirms.
 */
int
api_read(struct http_req *req, uint16_t type, const struct buf *body,
    rpc_cb *cb)
{
	int stale = http_req_param(req, "stale") != NULL;
	int consistent = http_req_param(req, "consistent") != NULL;
	int mode = stale ? SERVERS_READ_STALE : consistent ?
	    SERVERS_READ_CONSISTENT : SERVERS_READ_DEFAULT;
	struct local_read *lr;
	uint64_t index, wait;
	struct buf b, cmd;
	int rc;

	if (stale && consistent) {
		http_reply_text(req, 400, "Cannot specify ?stale with "
		    "?consistent, conflicting semantics.");
		return -1;
	}
	if (api_blocking(req, &index, &wait) < 0)
		return -1;
	buf_init(&cmd);
	if (body != NULL)
		buf_append(&cmd, buf_head(body), buf_used(body));
	if (index > 0) {
		attr_put_u64(&cmd, A_INDEX, index);
		attr_put_u64(&cmd, A_WAIT, wait);
	}
	buf_init(&b);
	servers_read_body(&b, mode, type, buf_head(&cmd), buf_used(&cmd));
	if (index > 0)
		attr_put_u64(&b, A_WAIT, wait);
	if (H.kvd == &H.kvd_local && rpc_is_up(&H.kvd_local) &&
	    (stale || (!consistent && ev_now(H.loop) >= kvd_moved_until))) {
		if ((lr = malloc(sizeof(*lr))) == NULL)
			log_fatal("out of memory");
		lr->req = req;
		lr->cb = cb;
		lr->wait = (double)wait / 1000;
		lr->raft = b;		/* now lr's */
		attr_put_u8(&cmd, A_MODE, (uint8_t)mode);
		if ((rc = api_call_wait(req, &H.kvd_local, type, &cmd, lr->wait,
		    local_read_done, lr)) < 0) {
			buf_free(&lr->raft);
			free(lr);
		}
		buf_free(&cmd);
		return rc;
	}
	rc = api_call_wait(req, H.raftd, MSG_RAFT_READ, &b,
	    (double)wait / 1000, cb, req);
	buf_free(&b);
	buf_free(&cmd);
	return rc;
}

int
api_uint_param(struct http_req *req, const char *name, uint64_t *v,
    const char *what)
{
	const char *s = http_req_param(req, name);
	char *end;

	if (s == NULL)
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || *s == '-' || errno != 0) {
		http_reply_text(req, 400, "%s", what);
		return -1;
	}
	return 1;
}

int
api_method(struct http_req *req, const char *allow)
{
	char hdr[128];
	const char *p = allow;
	size_t n = strlen(req->method_name);

	while ((p = strstr(p, req->method_name)) != NULL) {
		if ((p == allow || p[-1] == ',' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ','))
			return 1;
		p += n;
	}
	snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
	http_reply(req, 405, "text/plain; charset=utf-8", hdr,
	    "method not allowed", 18);
	return 0;
}

void
json_attr_str(struct json *j, const char *key, const struct attr *a)
{
	json_key(j, key);
	json_strn(j, a->val ? (const char *)a->val : "", a->len);
}

/* json_meta - {"k":"v",...} from A_META nests in a record */
void
json_meta(struct json *j, const char *key, const void *rec, size_t len)
{
	struct attr_iter it;
	struct attr a, mt[A_META_VALUE + 1];

	json_key(j, key);
	json_obj_open(j);
	attr_iter_init(&it, rec, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_META ||
		    attr_index(a.val, a.len, mt, A_META_VALUE + 1) < 0)
			continue;
		json_keyn(j, (const char *)mt[A_META_KEY].val,
		    mt[A_META_KEY].len);
		json_strn(j, (const char *)mt[A_META_VALUE].val,
		    mt[A_META_VALUE].len);
	}
	json_obj_close(j);
}

/* json_tags - ["a","b"] from the A_TAGs of a record */
void
json_tags(struct json *j, const char *key, const void *rec, size_t len)
{
	struct attr_iter it;
	struct attr a;

	if (key != NULL)
		json_key(j, key);
	json_arr_open(j);
	attr_iter_init(&it, rec, len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_TAG)
			json_strn(j, (const char *)a.val, a.len);
	json_arr_close(j);
}

/* json_node_fields - the members of Consul's Node object */
void
json_node_fields(struct json *j, const struct attr *tab)
{
	json_attr_str(j, "ID", &tab[A_NODE_ID]);
	json_attr_str(j, "Node", &tab[A_NODE]);
	json_attr_str(j, "Address", &tab[A_ADDRESS]);
	json_attr_str(j, "Datacenter", &tab[A_DC]);
	json_key(j, "TaggedAddresses");
	json_obj_open(j);
	json_attr_str(j, "lan", &tab[A_ADDRESS]);
	json_attr_str(j, "wan", &tab[A_ADDRESS]);
	json_obj_close(j);
}

/* json_indexes - CreateIndex and ModifyIndex of a stored record */
void
json_indexes(struct json *j, const struct attr *tab)
{
	uint64_t v = 0;

	json_key(j, "CreateIndex");
	json_u64(j, attr_u64(&tab[A_CREATE_INDEX], &v) == 0 ? v : 0);
	json_key(j, "ModifyIndex");
	json_u64(j, attr_u64(&tab[A_MODIFY_INDEX], &v) == 0 ? v : 0);
}

/* json_weights - a service record's DNS SRV weights; 1 and 1 if none */
void
json_weights(struct json *j, const char *key, const struct attr *tab)
{
	uint64_t pass = 1, warn = 1;

	attr_u64(&tab[A_WEIGHT_PASSING], &pass);
	attr_u64(&tab[A_WEIGHT_WARNING], &warn);
	json_key(j, key);
	json_obj_open(j);
	json_key(j, "Passing");
	json_u64(j, pass);
	json_key(j, "Warning");
	json_u64(j, warn);
	json_obj_close(j);
}

/*
 * json_service - Consul's AgentService: in /v1/agent/services (with the
 * Datacenter) and inside health and catalog/node answers (with indexes).
 */
void
json_service(struct json *j, const struct attr *rec, int flags)
{
	struct attr tab[ATTR_TAB];
	uint64_t port = 0;

	attr_index(rec->val, rec->len, tab, ATTR_TAB);
	attr_u64(&tab[A_PORT], &port);
	json_obj_open(j);
	json_attr_str(j, "ID", &tab[A_SERVICE_ID]);
	json_attr_str(j, "Service", &tab[A_SERVICE_NAME]);
	json_tags(j, "Tags", rec->val, rec->len);
	json_attr_str(j, "Address", &tab[A_ADDRESS]);
	json_meta(j, "Meta", rec->val, rec->len);
	json_key(j, "Port");
	json_u64(j, port);
	json_weights(j, "Weights", tab);
	json_key(j, "EnableTagOverride");
	json_bool(j, 0);
	if (flags & JS_DATACENTER) {
		json_key(j, "Datacenter");
		json_str(j, H.cfg->datacenter);
	}
	if (flags & JS_INDEXES)
		json_indexes(j, tab);
	json_obj_close(j);
}

/*
 * json_check - Consul's HealthCheck. ServiceTags come from the check
 * record, or from svc (the instance's record) when the check has none.
 */
void
json_check(struct json *j, const struct attr *rec, const struct attr *svc,
    int indexes)
{
	struct attr tab[ATTR_TAB];
	static const struct attr none;
	const struct attr *src;

	attr_index(rec->val, rec->len, tab, ATTR_TAB);
	json_obj_open(j);
	json_attr_str(j, "Node", &tab[A_NODE]);
	json_attr_str(j, "CheckID", &tab[A_CHECK_ID]);
	json_attr_str(j, "Name", &tab[A_CHECK_NAME]);
	json_attr_str(j, "Status", &tab[A_STATUS]);
	json_attr_str(j, "Notes", &tab[A_NOTES]);
	json_attr_str(j, "Output", &tab[A_OUTPUT]);
	json_attr_str(j, "ServiceID", &tab[A_SERVICE_ID]);
	json_attr_str(j, "ServiceName", &tab[A_SERVICE_NAME]);
	src = &none;
	if (attr_present(&tab[A_TAG]))		/* the check carries them */
		src = rec;
	else if (svc != NULL && tab[A_SERVICE_ID].len > 0)
		src = svc;
	json_tags(j, "ServiceTags", src->val, src->len);
	json_attr_str(j, "Type", &tab[A_CHECK_TYPE]);
	json_key(j, "Definition");
	json_obj_open(j);
	json_obj_close(j);
	if (indexes)
		json_indexes(j, tab);
	else {
		json_key(j, "CreateIndex");
		json_u64(j, 0);
		json_key(j, "ModifyIndex");
		json_u64(j, 0);
	}
	json_obj_close(j);
}
