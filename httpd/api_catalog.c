/*
 * api_catalog.c - /v1/catalog/{nodes,node,services,service,datacenters}
 * and /v1/health/service/<name>, in Consul's JSON shapes (COMPAT.md
 * 1.4-1.5). kvd answers with records (msg.h); this file only formats.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

/* for_entries - call fn on every A_ENTRY of a reply */
static void
for_entries(const struct frame *f, struct json *j,
    void (*fn)(struct json *, const struct attr *))
{
	struct attr_iter it;
	struct attr a;

	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY)
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
	for_entries(f, &j, node_json);
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
	json_weights(j, "ServiceWeights");
	json_meta(j, "ServiceMeta", srec->val, srec->len);
	json_key(j, "ServicePort");
	json_u64(j, port);
	json_key(j, "ServiceEnableTagOverride");
	json_bool(j, 0);
	json_indexes(j, st);
	json_obj_close(j);
}

/* health_entry - {"Node":..., "Service":..., "Checks":[...]} */
static void
health_entry(struct json *j, const struct attr *e)
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
	for_entries(f, &j, req->data ? health_entry : catalog_service_entry);
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
