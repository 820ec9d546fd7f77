/*
 * api_event.c - Consul's user events (agent/event_endpoint.go), which
 * cairn-gossipd owns:
 *
 *	PUT /v1/event/fire/<name>?node=&service=&tag=	the body is the
 *	    payload; answers the event: {ID, Name, Payload (base64 or null),
 *	    NodeFilter, ServiceFilter, TagFilter, Version, LTime}. 400
 *	    "Missing name"; 413 when name + payload is over 512 bytes.
 *	GET /v1/event/list[?name=][&index=&wait=]	the agent's last 256
 *	    events, oldest first, with X-Consul-Index; with an index it
 *	    blocks until the index differs (not greater: it is made from a
 *	    random UUID) or the wait is over (5m by default, 10m at most).
 *
 * LTime in the answer to a fire is 0, as in Consul, which answers before
 * serf stamps the Lamport time; the list shows the real one. Consul
 * answers a filter that does not compile with a 500; gossipd's 400 is
 * passed on instead, a bad request being what it is.
 *
 * Leaves out: ?dc (events of another datacenter need the WAN pool) and
 * ACLs on event names.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "httpd.h"
#include "msg.h"

#define EVENT_WAIT_DEFAULT_MS	(5 * 60 * 1000)
#define EVENT_WAIT_MAX_MS	(10 * 60 * 1000)
/* What gossipd may take beyond the wait before the call counts as lost. */
#define EVENT_WAIT_SLACK	10.0

/* event_json - one UserEvent, fields in the order of Consul's struct */
static void
event_json(struct json *j, const struct attr *e, int fired)
{
	struct attr tab[ATTR_TAB];
	uint64_t v;

	attr_index(e->val, e->len, tab, ATTR_TAB);
	json_obj_open(j);
	json_attr_str(j, "ID", &tab[A_EVENT_ID]);
	json_attr_str(j, "Name", &tab[A_EVENT_NAME]);
	json_key(j, "Payload");
	if (tab[A_DATA].len > 0)
		json_base64(j, tab[A_DATA].val, tab[A_DATA].len);
	else
		json_null(j);
	json_attr_str(j, "NodeFilter", &tab[A_NODE_FILTER]);
	json_attr_str(j, "ServiceFilter", &tab[A_SERVICE_FILTER]);
	json_attr_str(j, "TagFilter", &tab[A_TAG_FILTER]);
	json_key(j, "Version");
	json_u64(j, attr_u64(&tab[A_VERSION], &v) == 0 ? v : 1);
	json_key(j, "LTime");
	json_u64(j, !fired && attr_u64(&tab[A_LTIME], &v) == 0 ? v : 0);
	json_obj_close(j);
}

/* event_fire_done - gossipd's event as Consul's JSON */
static void
event_fire_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_ENTRY])) {
		http_reply_text(req, 500, "cairn-gossipd sent no event");
		return;
	}
	api_json_begin(req, &j, &b);
	event_json(&j, &tab[A_ENTRY], 1);
	api_reply_json(req, &b, 0, NULL);
}

/* event_put_param - a filter from the query into the request, if set */
static void
event_put_param(struct http_req *req, struct buf *b, const char *name,
    uint16_t type)
{
	const char *v = http_req_param(req, name);

	if (v != NULL && *v != '\0')
		attr_put_str(b, type, v);
}

/* api_event_fire - PUT /v1/event/fire/<name> */
void
api_event_fire(struct http_req *req, const char *name)
{
	struct buf b;

	if (!api_method(req, "PUT"))
		return;
	if (*name == '\0') {
		http_reply_text(req, 400, "Missing name");
		return;
	}
	buf_init(&b);
	attr_put_str(&b, A_EVENT_NAME, name);
	if (buf_used(&req->body) > 0)
		attr_put(&b, A_DATA, buf_head(&req->body),
		    buf_used(&req->body));
	event_put_param(req, &b, "node", A_NODE_FILTER);
	event_put_param(req, &b, "service", A_SERVICE_FILTER);
	event_put_param(req, &b, "tag", A_TAG_FILTER);
	api_call(req, &H.gossipd, MSG_GOSSIP_EVENT_FIRE, &b, event_fire_done);
	buf_free(&b);
}

/* event_list_done - the events as a JSON array, with X-Consul-Index */
static void
event_list_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	uint64_t index = 1;
	struct json j;
	struct buf b;
	char hdr[64];

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_INDEX)
			attr_u64(&a, &index);
		else if (a.type == A_ENTRY)
			event_json(&j, &a, 0);
	}
	json_arr_close(&j);
	/* Agent-local: the index alone, no leader headers (setIndex). */
	snprintf(hdr, sizeof(hdr), "X-Consul-Index: %" PRIu64 "\r\n", index);
	http_reply(req, 200, "application/json", hdr, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
}

/*
 * event_wait_param - Consul's parseWait for ?wait: -1 after a 400, else
 * 0 with *ms: the default when absent or zero, 0 when negative (Go's
 * time.After fires at once), capped at 10 minutes
 */
static int
event_wait_param(struct http_req *req, uint64_t *ms)
{
	const char *s = http_req_param(req, "wait");
	int64_t ns;

	*ms = EVENT_WAIT_DEFAULT_MS;
	if (s == NULL || *s == '\0')
		return 0;
	if (duration_parse(s, &ns) < 0) {
		http_reply_text(req, 400, "Invalid wait time");
		return -1;
	}
	if (ns < 0)
		*ms = 0;
	else if (ns > 0)
		*ms = (uint64_t)(ns / DUR_MS);
	if (*ms > EVENT_WAIT_MAX_MS)
		*ms = EVENT_WAIT_MAX_MS;
	return 0;
}

/* api_event_list - GET /v1/event/list */
void
api_event_list(struct http_req *req, const char *rest)
{
	const char *name;
	uint64_t index = 0, wait;
	char err[256];
	struct buf b;
	int has_index;

	if (!api_method(req, "GET"))
		return;
	if (event_wait_param(req, &wait) < 0 ||
	    (has_index = api_uint_param(req, "index", &index,
	    "Invalid index")) < 0)
		return;
	buf_init(&b);
	if ((name = http_req_param(req, "name")) != NULL && *name != '\0')
		attr_put_str(&b, A_EVENT_NAME, name);
	if (has_index && index > 0) {
		attr_put_u64(&b, A_INDEX, index);
		attr_put_u64(&b, A_WAIT, wait);
	} else
		wait = 0;
	/* api_call's timeout would cut a blocking list short. */
	if (servers_call(&H.gossipd, MSG_GOSSIP_EVENT_LIST, buf_head(&b),
	    buf_used(&b), (double)wait / 1000 + EVENT_WAIT_SLACK,
	    event_list_done, req, err, sizeof(err)) < 0)
		http_reply_text(req, 503, "%s (cairn-gossipd may be "
		    "restarting); retry shortly", err);
	buf_free(&b);
}
