/*
 * api_register.c - PUT /v1/catalog/register and /v1/catalog/deregister:
 * Consul's low-level writes to the catalog, for nodes no agent runs on
 * (an external service such as a database behind a host name) and for
 * tools (agent/catalog_endpoint.go, state/catalog.go).
 *
 * Records are built in the order checkd builds them (checkd/checks.c),
 * so kvd's "unchanged" test works across writers. A check without a
 * Status is critical, as in Consul; a service without an ID takes its
 * name. Leaves out: TaggedAddresses (accepted, not kept), check
 * Definition, SkipNodeUpdate's finer points (the node record is always
 * written), Datacenter other than ours (400).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "msg.h"

#define GOTYPE	"structs.RegisterRequest"

/* put_meta - a JSON object of strings as A_META{key value}...; -1 on 400 */
static int
put_meta(struct http_req *req, yajl_val obj, const char *field,
    struct buf *b)
{
	yajl_val m = api_json_field(obj, field), v;
	size_t i, nest;

	if (m == NULL || m->type == yajl_t_null)
		return 0;
	if (!YAJL_IS_OBJECT(m)) {
		http_reply_text(req, 400, "Request decode failed: %s must be "
		    "an object of strings", field);
		return -1;
	}
	for (i = 0; i < m->u.object.len; i++) {
		v = m->u.object.values[i];
		if (!YAJL_IS_STRING(v)) {
			http_reply_text(req, 400, "Request decode failed: %s.%s "
			    "must be a string", field, m->u.object.keys[i]);
			return -1;
		}
		nest = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, m->u.object.keys[i]);
		attr_put_str(b, A_META_VALUE, v->u.string);
		attr_nest_end(b, nest);
	}
	return 0;
}

/* str_field - a string field, "" when absent; -1 after a 400 */
static int
str_field(struct http_req *req, yajl_val obj, const char *name,
    const char **out)
{
	if (api_json_string(req, obj, name, GOTYPE, out) < 0)
		return -1;
	if (*out == NULL)
		*out = "";
	return 0;
}

/*
 * put_weights - Service.Weights{Passing Warning}, each 0..65535; as
 * Go's decoder, a member left out is 0. Without Weights the record has
 * none, and reads give 1 and 1.
 */
static int
put_weights(struct http_req *req, yajl_val svc, struct buf *b)
{
	static const char *const keys[2] = { "Passing", "Warning" };
	static const uint16_t types[2] = { A_WEIGHT_PASSING,
	    A_WEIGHT_WARNING };
	yajl_val w = api_json_field(svc, "Weights"), v;
	int i;

	if (w == NULL || w->type == yajl_t_null)
		return 0;
	if (!YAJL_IS_OBJECT(w)) {
		http_reply_text(req, 400, "Request decode failed: "
		    "Service.Weights must be an object");
		return -1;
	}
	for (i = 0; i < 2; i++) {
		v = api_json_field(w, keys[i]);
		if (v != NULL && v->type != yajl_t_null &&
		    (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
		    YAJL_GET_INTEGER(v) > 65535)) {
			http_reply_text(req, 400, "Request decode failed: "
			    "Service.Weights.%s must be 0 to 65535", keys[i]);
			return -1;
		}
		attr_put_u32(b, types[i], v != NULL && YAJL_IS_INTEGER(v) ?
		    (uint32_t)YAJL_GET_INTEGER(v) : 0);
	}
	return 0;
}

/* service_rec - Service{ID Service Tags Address Port Meta Weights} */
static int
service_rec(struct http_req *req, yajl_val svc, const char *node,
    struct buf *b, const char **id_out, const char **name_out)
{
	const char *id, *name, *addr;
	yajl_val tags = api_json_field(svc, "Tags");
	yajl_val port = api_json_field(svc, "Port");
	size_t i, nest;

	if (!YAJL_IS_OBJECT(svc)) {
		http_reply_text(req, 400, "Request decode failed: Service must "
		    "be an object");
		return -1;
	}
	if (str_field(req, svc, "ID", &id) < 0 ||
	    str_field(req, svc, "Service", &name) < 0 ||
	    str_field(req, svc, "Address", &addr) < 0)
		return -1;
	if (*name == '\0') {
		http_reply_text(req, 400, "Must provide service name");
		return -1;
	}
	if (tags != NULL && tags->type != yajl_t_null && !YAJL_IS_ARRAY(tags)) {
		http_reply_text(req, 400, "Request decode failed: Service.Tags "
		    "must be an array of strings");
		return -1;
	}
	if (port != NULL && port->type != yajl_t_null &&
	    (!YAJL_IS_INTEGER(port) || YAJL_GET_INTEGER(port) < 0 ||
	    YAJL_GET_INTEGER(port) > 65535)) {
		http_reply_text(req, 400, "Request decode failed: Service.Port "
		    "must be a port number");
		return -1;
	}
	*id_out = *id != '\0' ? id : name;
	*name_out = name;
	nest = attr_nest_begin(b, A_SERVICE_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_SERVICE_ID, *id_out);
	attr_put_str(b, A_SERVICE_NAME, name);
	for (i = 0; YAJL_IS_ARRAY(tags) && i < tags->u.array.len; i++) {
		if (!YAJL_IS_STRING(tags->u.array.values[i])) {
			http_reply_text(req, 400, "Request decode failed: "
			    "Service.Tags must be an array of strings");
			return -1;
		}
		attr_put_str(b, A_TAG, tags->u.array.values[i]->u.string);
	}
	attr_put_str(b, A_ADDRESS, addr);
	attr_put_u32(b, A_PORT, port != NULL && YAJL_IS_INTEGER(port) ?
	    (uint32_t)YAJL_GET_INTEGER(port) : 0);
	if (put_meta(req, svc, "Meta", b) < 0 || put_weights(req, svc, b) < 0)
		return -1;
	attr_nest_end(b, nest);
	return 0;
}

/* check_rec - Check{CheckID Name Notes Status Output ServiceID} */
static int
check_rec(struct http_req *req, yajl_val c, const char *node,
    const char *svc_id, const char *svc_name, struct buf *b)
{
	const char *id, *name, *notes, *status, *output, *sid;
	size_t nest;

	if (!YAJL_IS_OBJECT(c)) {
		http_reply_text(req, 400, "Request decode failed: a check must "
		    "be an object");
		return -1;
	}
	if (str_field(req, c, "CheckID", &id) < 0 ||
	    str_field(req, c, "Name", &name) < 0 ||
	    str_field(req, c, "Notes", &notes) < 0 ||
	    str_field(req, c, "Status", &status) < 0 ||
	    str_field(req, c, "Output", &output) < 0 ||
	    str_field(req, c, "ServiceID", &sid) < 0)
		return -1;
	if (*id == '\0')
		id = name;		/* Consul: the ID defaults to the name */
	if (*id == '\0') {
		http_reply_text(req, 400, "Missing check ID");
		return -1;
	}
	if (*status == '\0')
		status = "critical";
	if (strcmp(status, "passing") != 0 && strcmp(status, "warning") != 0 &&
	    strcmp(status, "critical") != 0) {
		http_reply_text(req, 400, "Invalid check status: '%s'", status);
		return -1;
	}
	if (*sid != '\0' && (svc_id == NULL || strcmp(sid, svc_id) != 0))
		svc_name = "";	/* another service of the node's: kvd keeps */
	nest = attr_nest_begin(b, A_CHECK_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_CHECK_ID, id);
	attr_put_str(b, A_CHECK_NAME, name);
	attr_put_str(b, A_NOTES, notes);
	attr_put_str(b, A_SERVICE_ID, sid);
	attr_put_str(b, A_SERVICE_NAME, *sid != '\0' && svc_name != NULL ?
	    svc_name : "");
	attr_put_str(b, A_CHECK_TYPE, "");
	attr_put_str(b, A_STATUS, status);
	attr_put_str(b, A_OUTPUT, output);
	attr_nest_end(b, nest);
	return 0;
}

/* write_done - true, or kvd's refusal */
static void
write_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	uint32_t status;
	char msg[512];

	if (api_failed(req, f, err))
		return;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	if (attr_u32(&tab[A_STATUS], &status) == 0) {
		attr_strcpy(&tab[A_MSG], msg, sizeof(msg));
		http_reply_text(req, status >= 400 && status < 600 ?
		    (int)status : 500, "%s", msg);
		return;
	}
	http_reply(req, 200, "application/json", NULL, "true", 4);
}

/* register_cmd - the OP_CAT_REGISTER command of a request body */
static int
register_cmd(struct http_req *req, yajl_val root, struct buf *b)
{
	const char *node, *addr, *id, *dc, *svc_id = NULL, *svc_name = NULL;
	yajl_val svc = api_json_field(root, "Service");
	yajl_val check = api_json_field(root, "Check");
	yajl_val checks = api_json_field(root, "Checks");
	size_t i, nest;

	if (str_field(req, root, "Node", &node) < 0 ||
	    str_field(req, root, "Address", &addr) < 0 ||
	    str_field(req, root, "ID", &id) < 0 ||
	    str_field(req, root, "Datacenter", &dc) < 0)
		return -1;
	if (*node == '\0' || *addr == '\0') {
		http_reply_text(req, 400, "Must provide node and address");
		return -1;
	}
	if (*dc != '\0' && strcmp(dc, H.cfg->datacenter) != 0) {
		http_reply_text(req, 400, "No path to datacenter \"%s\": this "
		    "cairn knows only \"%s\"", dc, H.cfg->datacenter);
		return -1;
	}
	attr_put_u32(b, A_OP, OP_CAT_REGISTER);
	nest = attr_nest_begin(b, A_NODE_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_NODE_ID, id);
	attr_put_str(b, A_ADDRESS, addr);
	attr_put_str(b, A_DC, H.cfg->datacenter);
	if (put_meta(req, root, "NodeMeta", b) < 0)
		return -1;
	attr_nest_end(b, nest);
	if (svc != NULL && svc->type != yajl_t_null &&
	    service_rec(req, svc, node, b, &svc_id, &svc_name) < 0)
		return -1;
	if (check != NULL && check->type != yajl_t_null &&
	    check_rec(req, check, node, svc_id, svc_name, b) < 0)
		return -1;
	if (checks != NULL && checks->type != yajl_t_null &&
	    !YAJL_IS_ARRAY(checks)) {
		http_reply_text(req, 400, "Request decode failed: Checks must "
		    "be an array");
		return -1;
	}
	for (i = 0; checks != NULL && YAJL_IS_ARRAY(checks) &&
	    i < checks->u.array.len; i++)
		if (check_rec(req, checks->u.array.values[i], node, svc_id,
		    svc_name, b) < 0)
			return -1;
	return 0;
}

/* api_catalog_register - PUT /v1/catalog/register */
void
api_catalog_register(struct http_req *req, const char *rest)
{
	yajl_val root;
	struct buf b;

	if (!api_method(req, "PUT") ||
	    api_body_json(req, yajl_t_object, GOTYPE, 0, &root) < 0)
		return;
	buf_init(&b);
	if (register_cmd(req, root, &b) == 0)
		api_call(req, H.raftd, MSG_RAFT_APPLY, &b, write_done);
	buf_free(&b);
	yajl_tree_free(root);
}

/* api_catalog_deregister - PUT /v1/catalog/deregister */
void
api_catalog_deregister(struct http_req *req, const char *rest)
{
	const char *node, *svc, *check;
	yajl_val root;
	struct buf b;

	if (!api_method(req, "PUT") ||
	    api_body_json(req, yajl_t_object, "structs.DeregisterRequest", 0,
	    &root) < 0)
		return;
	if (str_field(req, root, "Node", &node) < 0 ||
	    str_field(req, root, "ServiceID", &svc) < 0 ||
	    str_field(req, root, "CheckID", &check) < 0) {
		yajl_tree_free(root);
		return;
	}
	if (*node == '\0') {
		http_reply_text(req, 400, "Must provide node");
		yajl_tree_free(root);
		return;
	}
	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CAT_DEREGISTER);
	attr_put_str(&b, A_NODE, node);
	if (*check != '\0')
		attr_put_str(&b, A_CHECK_ID, check);
	else if (*svc != '\0')
		attr_put_str(&b, A_SERVICE_ID, svc);
	api_call(req, H.raftd, MSG_RAFT_APPLY, &b, write_done);
	buf_free(&b);
	yajl_tree_free(root);
}
