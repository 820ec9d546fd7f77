/*
 * api_catalog.c - /v1/catalog/{nodes,node,services,service,datacenters}
 * and /v1/health/{service,node,checks,state}, in Consul's JSON shapes
 * (COMPAT.md 1.4-1.5), all blocking with ?index. kvd answers with
 * records (msg.h); this file formats them and applies the filters kvd
 * does not: ?node-meta=k:v (repeatable) and a second ?tag.
 *
 * Leaves out: ?near (answers are not sorted by RTT) and ?filter.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "httpd.h"
#include "msg.h"

/* reply_index - the A_INDEX of a kvd reply */
static uint64_t
reply_index(const struct frame *f)
{
	struct attr tab[A_INDEX + 1];
	uint64_t index = 0;

	if (attr_index(f->body, f->len, tab, A_INDEX + 1) == 0)
		attr_u64(&tab[A_INDEX], &index);
	return index;
}

/* node_json - Consul's Node */
static void
node_json(struct json *j, const struct attr *rec)
{
	struct attr tab[ATTR_TAB];

	attr_index(rec->val, rec->len, tab, ATTR_TAB);
	json_obj_open(j);
	json_node_fields(j, tab);
	json_meta(j, "Meta", rec->val, rec->len);
	json_indexes(j, tab);
	json_obj_close(j);
}

#define FILTERS_MAX	16

/* meta_has - a record's meta holds key k with value v */
static int
meta_has(const struct attr *rec, const char *k, size_t klen, const char *v)
{
	struct attr mt[ATTR_TAB], a;
	struct attr_iter it;

	attr_iter_init(&it, rec->val, rec->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_META &&
		    attr_index(a.val, a.len, mt, ATTR_TAB) == 0 &&
		    mt[A_META_KEY].len == klen &&
		    memcmp(mt[A_META_KEY].val, k, klen) == 0)
			return mt[A_META_VALUE].len == strlen(v) &&
			    memcmp(mt[A_META_VALUE].val, v, strlen(v)) == 0;
	return 0;
}

/* node_meta_ok - the node record matches every ?node-meta=k:v */
static int
node_meta_ok(struct http_req *req, const struct attr *node)
{
	const char *want[FILTERS_MAX], *colon;
	size_t i, n;

	n = http_req_params(req, "node-meta", want, FILTERS_MAX);
	for (i = 0; i < n; i++) {
		if ((colon = strchr(want[i], ':')) == NULL)
			colon = want[i] + strlen(want[i]);
		if (!meta_has(node, want[i], (size_t)(colon - want[i]),
		    *colon ? colon + 1 : ""))
			return 0;
	}
	return 1;
}

/* tags_ok - the service record has every ?tag (any case, as kvd's) */
static int
tags_ok(struct http_req *req, const struct attr *svc)
{
	const char *want[FILTERS_MAX];
	struct attr_iter it;
	struct attr a;
	size_t i, n;
	int found;

	n = http_req_params(req, "tag", want, FILTERS_MAX);
	for (i = 0; i < n; i++) {
		found = 0;
		attr_iter_init(&it, svc->val, svc->len);
		while (!found && attr_next(&it, &a) == 1)
			found = a.type == A_TAG && a.len == strlen(want[i]) &&
			    strncasecmp((const char *)a.val, want[i],
			    a.len) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* entry_ok - an entry (a node, or node + service) passes the filters */
static int
entry_ok(struct http_req *req, const struct attr *e)
{
	struct attr tab[ATTR_TAB];

	if (attr_index(e->val, e->len, tab, ATTR_TAB) < 0)
		return 0;
	if (!attr_present(&tab[A_NODE_REC]))	/* a bare node record */
		return node_meta_ok(req, e);
	return node_meta_ok(req, &tab[A_NODE_REC]) &&
	    tags_ok(req, &tab[A_SERVICE_REC]);
}

/* for_entries - call fn on every A_ENTRY of a reply that req keeps */
static void
for_entries(struct http_req *req, const struct frame *f, struct json *j,
    void (*fn)(struct json *, const struct attr *))
{
	struct attr_iter it;
	struct attr a;

	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY && entry_ok(req, &a))
			fn(j, &a);
}

static void
nodes_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	for_entries(req, f, &j, node_json);
	json_arr_close(&j);
	api_reply_json(req, &b, reply_index(f), f);
}

void
api_catalog_nodes(struct http_req *req, const char *rest)
{
	if (api_method(req, "GET"))
		api_read(req, MSG_CAT_NODES, NULL, nodes_done);
}

/* node_done - {"Node":{...},"Services":{"id":{...}}}, or null */
static void
node_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a, st[ATTR_TAB];
	int found = 0;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_NODE_REC) {
			found = 1;
			json_obj_open(&j);
			json_key(&j, "Node");
			node_json(&j, &a);
			json_key(&j, "Services");
			json_obj_open(&j);
		} else if (a.type == A_SERVICE_REC && found) {
			attr_index(a.val, a.len, st, ATTR_TAB);
			json_keyn(&j, (const char *)st[A_SERVICE_ID].val,
			    st[A_SERVICE_ID].len);
			json_service(&j, &a, JS_INDEXES);
		}
	}
	if (found) {
		json_obj_close(&j);
		json_obj_close(&j);
	} else
		json_null(&j);
	api_reply_json(req, &b, reply_index(f), f);
}

void
api_catalog_node(struct http_req *req, const char *node)
{
	struct buf b;

	if (!api_method(req, "GET"))
		return;
	if (*node == '\0') {
		http_reply_text(req, 400, "Missing node name");
		return;
	}
	buf_init(&b);
	attr_put_str(&b, A_NODE, node);
	api_read(req, MSG_CAT_NODE, &b, node_done);
	buf_free(&b);
}

/* services_done - {"name":["tag",...],...} */
static void
services_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a, tab[ATTR_TAB];
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
			continue;
		json_keyn(&j, (const char *)tab[A_SERVICE_NAME].val,
		    tab[A_SERVICE_NAME].len);
		json_tags(&j, NULL, a.val, a.len);
	}
	json_obj_close(&j);
	api_reply_json(req, &b, reply_index(f), f);
}

void
api_catalog_services(struct http_req *req, const char *rest)
{
	if (api_method(req, "GET"))
		api_read(req, MSG_CAT_SERVICES, NULL, services_done);
}

/* catalog_service_entry - Consul's flat ServiceNode */
static void
catalog_service_entry(struct json *j, const struct attr *e)
{
	struct attr tab[ATTR_TAB], nt[ATTR_TAB], st[ATTR_TAB];
	const struct attr *nrec, *srec;
	uint64_t port = 0;

	if (attr_index(e->val, e->len, tab, ATTR_TAB) < 0)
		return;
	nrec = &tab[A_NODE_REC];
	srec = &tab[A_SERVICE_REC];
	attr_index(nrec->val, nrec->len, nt, ATTR_TAB);
	attr_index(srec->val, srec->len, st, ATTR_TAB);
	attr_u64(&st[A_PORT], &port);
	json_obj_open(j);
	json_node_fields(j, nt);
	json_meta(j, "NodeMeta", nrec->val, nrec->len);
	json_key(j, "ServiceKind");
	json_str(j, "");
	json_attr_str(j, "ServiceID", &st[A_SERVICE_ID]);
	json_attr_str(j, "ServiceName", &st[A_SERVICE_NAME]);
	json_tags(j, "ServiceTags", srec->val, srec->len);
	json_attr_str(j, "ServiceAddress", &st[A_ADDRESS]);
	json_key(j, "ServiceTaggedAddresses");
	json_obj_open(j);
	json_obj_close(j);
	json_weights(j, "ServiceWeights", st);
	json_meta(j, "ServiceMeta", srec->val, srec->len);
	json_key(j, "ServicePort");
	json_u64(j, port);
	json_key(j, "ServiceEnableTagOverride");
	json_bool(j, 0);
	json_indexes(j, st);
	json_obj_close(j);
}

/* api_health_entry - {"Node":..., "Service":..., "Checks":[...]} */
void
api_health_entry(struct json *j, const struct attr *e)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;

	if (attr_index(e->val, e->len, tab, ATTR_TAB) < 0)
		return;
	json_obj_open(j);
	json_key(j, "Node");
	node_json(j, &tab[A_NODE_REC]);
	json_key(j, "Service");
	json_service(j, &tab[A_SERVICE_REC], JS_INDEXES);
	json_key(j, "Checks");
	json_arr_open(j);
	attr_iter_init(&it, e->val, e->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_CHECK_REC)
			json_check(j, &a, &tab[A_SERVICE_REC], 1);
	json_arr_close(j);
	json_obj_close(j);
}

static void
service_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	for_entries(req, f, &j, req->data ? api_health_entry :
	    catalog_service_entry);
	json_arr_close(&j);
	api_reply_json(req, &b, reply_index(f), f);
}

/* service_query - catalog/service and health/service */
static void
service_query(struct http_req *req, const char *name, int health)
{
	const char *tag;
	struct buf b;

	if (!api_method(req, "GET"))
		return;
	if (*name == '\0') {
		http_reply_text(req, 400, "Missing service name");
		return;
	}
	buf_init(&b);
	attr_put_str(&b, A_SERVICE_NAME, name);
	if ((tag = http_req_param(req, "tag")) != NULL)
		attr_put_str(&b, A_TAG, tag);
	if (health && http_req_param(req, "passing") != NULL &&
	    strcmp(http_req_param(req, "passing"), "false") != 0)
		attr_put_u8(&b, A_PASSING, 1);
	req->data = health ? (void *)1 : NULL;
	api_read(req, health ? MSG_HEALTH_SERVICE : MSG_CAT_SERVICE,
	    &b, service_done);
	buf_free(&b);
}

void
api_catalog_service(struct http_req *req, const char *name)
{
	service_query(req, name, 0);
}

void
api_health_service(struct http_req *req, const char *name)
{
	service_query(req, name, 1);
}

void
api_catalog_datacenters(struct http_req *req, const char *rest)
{
	struct json j;
	struct buf b;

	if (!api_method(req, "GET"))
		return;
	api_json_begin(req, &j, &b);
	json_arr_open(&j);
	json_str(&j, H.cfg->datacenter);
	json_arr_close(&j);
	api_reply_json(req, &b, 0, NULL);
}

/* checks_done - [check...] */
static void
checks_done(void *arg, const struct frame *f, const char *err)
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
			json_check(&j, &a, NULL, 1);
	json_arr_close(&j);
	api_reply_json(req, &b, reply_index(f), f);
}

/* checks_query - MSG_HEALTH_CHECKS with one filter */
static void
checks_query(struct http_req *req, uint16_t type, const char *value,
    const char *missing)
{
	struct buf b;

	if (!api_method(req, "GET"))
		return;
	if (*value == '\0') {
		http_reply_text(req, 400, "%s", missing);
		return;
	}
	buf_init(&b);
	if (type != A_STATUS || strcmp(value, "any") != 0)
		attr_put_str(&b, type, value);
	api_read(req, MSG_HEALTH_CHECKS, &b, checks_done);
	buf_free(&b);
}

/* api_health_node - GET /v1/health/node/<node> */
void
api_health_node(struct http_req *req, const char *node)
{
	checks_query(req, A_NODE, node, "Missing node name");
}

/* api_health_checks - GET /v1/health/checks/<service> */
void
api_health_checks(struct http_req *req, const char *svc)
{
	checks_query(req, A_SERVICE_NAME, svc, "Missing service name");
}

/* api_health_state - GET /v1/health/state/<any|passing|warning|critical> */
void
api_health_state(struct http_req *req, const char *state)
{
	if (strcmp(state, "any") != 0 && strcmp(state, "passing") != 0 &&
	    strcmp(state, "warning") != 0 && strcmp(state, "critical") != 0) {
		if (api_method(req, "GET"))
			http_reply_text(req, 400, *state ? "Invalid check "
			    "state" : "Missing check state");
		return;
	}
	checks_query(req, A_STATUS, state, "Missing check state");
}
