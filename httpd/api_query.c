/*
 * api_query.c - /v1/query: Consul's prepared queries (COMPAT.md 1.7):
 * create, list, get, update, delete, execute and explain, with Consul's
 * words and codes (agent/prepared_query_endpoint.go and the checks of
 * agent/consul/prepared_query_endpoint.go).
 *
 * A body is decoded as Go's encoding/json would into structs.PreparedQuery
 * (field names in any case, unknown fields ignored, a wrong type a 400)
 * and written back with every field, in Consul's order: that JSON is
 * what kvd keeps (A_QUERY_DEF), renders for templates and runs
 * (kvd/query.c). The ID is made here, as Consul's leader makes it.
 *
 * Leaves out: failover to other datacenters (Failovers is always 0),
 * sorting by ?near (accepted, ignored: results are shuffled), ACL tokens
 * (kept, never checked), Connect.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "httpd.h"
#include "log.h"
#include "msg.h"
#include "uuid.h"

#define PQ_META_PAIRS_MAX	64	/* structs.metaMaxKeyPairs */
#define PQ_META_KEY_MAX		128
#define PQ_META_VALUE_MAX	512
#define PQ_REDACTED		"<hidden>"	/* Consul's redactedToken */

/* The Go types of structs.PreparedQuery, as far as decoding cares. */
enum pq_kind { PQ_STR, PQ_BOOL, PQ_INT, PQ_STRS, PQ_MAP, PQ_OBJ };

struct pq_field {
	const char		*name;
	enum pq_kind		 kind;
	const char		*gotype;	/* for the decoder's messages */
	const struct pq_field	*sub;		/* PQ_OBJ: its fields */
};

static const struct pq_field pq_template[] = {
	{ "Type", PQ_STR, "string", NULL },
	{ "Regexp", PQ_STR, "string", NULL },
	{ "RemoveEmptyTags", PQ_BOOL, "bool", NULL },
	{ NULL, 0, NULL, NULL }
};
static const struct pq_field pq_failover[] = {
	{ "NearestN", PQ_INT, "int", NULL },
	{ "Datacenters", PQ_STRS, "[]string", NULL },
	{ NULL, 0, NULL, NULL }
};
static const struct pq_field pq_connect[] = {
	{ "Enabled", PQ_BOOL, "bool", NULL },
	{ NULL, 0, NULL, NULL }
};
static const struct pq_field pq_service[] = {
	{ "Service", PQ_STR, "string", NULL },
	{ "Failover", PQ_OBJ, "structs.QueryDatacenterOptions", pq_failover },
	{ "OnlyPassing", PQ_BOOL, "bool", NULL },
	{ "IgnoreCheckIDs", PQ_STRS, "[]types.CheckID", NULL },
	{ "Near", PQ_STR, "string", NULL },
	{ "Tags", PQ_STRS, "[]string", NULL },
	{ "NodeMeta", PQ_MAP, "map[string]string", NULL },
	{ "ServiceMeta", PQ_MAP, "map[string]string", NULL },
	{ "Connect", PQ_OBJ, "structs.QueryConnect", pq_connect },
	{ NULL, 0, NULL, NULL }
};
static const struct pq_field pq_dns[] = {
	{ "TTL", PQ_STR, "string", NULL },
	{ NULL, 0, NULL, NULL }
};
/* ID and the indexes are not part of what is stored: see pq_json_query. */
static const struct pq_field pq_query[] = {
	{ "Name", PQ_STR, "string", NULL },
	{ "Session", PQ_STR, "string", NULL },
	{ "Token", PQ_STR, "string", NULL },
	{ "Template", PQ_OBJ, "structs.QueryTemplateOptions", pq_template },
	{ "Service", PQ_OBJ, "structs.ServiceQuery", pq_service },
	{ "DNS", PQ_OBJ, "structs.QueryDNSOptions", pq_dns },
	{ NULL, 0, NULL, NULL }
};

/* pq_bad_type - Go's "cannot unmarshal" 400 */
static void
pq_bad_type(struct http_req *req, yajl_val v, const char *gostruct,
    const char *path, const char *gotype)
{
	http_reply_text(req, 400, "Request decode failed: json: cannot "
	    "unmarshal %s into Go struct field %s.%s of type %s",
	    api_json_type(v), gostruct, path, gotype);
}

/*
 * pq_write - the object obj (NULL: absent) as the fields fs, every one
 * written, in order; -1 after a 400 for a value of the wrong type
 */
static int
pq_write(struct http_req *req, struct json *j, yajl_val obj,
    const struct pq_field *fs, const char *gostruct, const char *prefix)
{
	const struct pq_field *f;
	char path[256];
	yajl_val v, e;
	size_t i;

	json_obj_open(j);
	for (f = fs; f->name != NULL; f++) {
		v = api_json_field(obj, f->name);
		if (v != NULL && YAJL_IS_NULL(v))
			v = NULL;
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix ? "." : "", f->name);
		json_key(j, f->name);
		switch (f->kind) {
		case PQ_STR:
			if (v != NULL && !YAJL_IS_STRING(v))
				goto bad;
			json_str(j, v != NULL ? v->u.string : "");
			break;
		case PQ_BOOL:
			if (v != NULL && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
				goto bad;
			json_bool(j, v != NULL && YAJL_IS_TRUE(v));
			break;
		case PQ_INT:
			if (v != NULL && !YAJL_IS_INTEGER(v))
				goto bad;
			json_i64(j, v != NULL ? YAJL_GET_INTEGER(v) : 0);
			break;
		case PQ_STRS:
			if (v == NULL) {
				json_null(j);
				break;
			}
			if (!YAJL_IS_ARRAY(v))
				goto bad;
			json_arr_open(j);
			for (i = 0; i < v->u.array.len; i++) {
				e = v->u.array.values[i];
				if (!YAJL_IS_NULL(e) && !YAJL_IS_STRING(e)) {
					pq_bad_type(req, e, gostruct, path,
					    "string");
					return -1;
				}
				json_str(j, YAJL_IS_STRING(e) ? e->u.string :
				    "");
			}
			json_arr_close(j);
			break;
		case PQ_MAP:
			if (v == NULL) {
				json_null(j);
				break;
			}
			if (!YAJL_IS_OBJECT(v))
				goto bad;
			json_obj_open(j);
			for (i = 0; i < v->u.object.len; i++) {
				e = v->u.object.values[i];
				if (!YAJL_IS_NULL(e) && !YAJL_IS_STRING(e)) {
					pq_bad_type(req, e, gostruct, path,
					    "string");
					return -1;
				}
				json_key(j, v->u.object.keys[i]);
				json_str(j, YAJL_IS_STRING(e) ? e->u.string :
				    "");
			}
			json_obj_close(j);
			break;
		case PQ_OBJ:
			if (v != NULL && !YAJL_IS_OBJECT(v))
				goto bad;
			/* Go names the innermost struct: drop "structs." */
			if (pq_write(req, j, v, f->sub, strchr(f->gotype, '.') +
			    1, path) < 0)
				return -1;
			break;
		}
		continue;
bad:
		pq_bad_type(req, v, gostruct, path, f->gotype);
		return -1;
	}
	json_obj_close(j);
	return 0;
}

/* pq_str - a string field of a decoded body, "" when absent */
static const char *
pq_str(yajl_val obj, const char *name)
{
	yajl_val v = api_json_field(obj, name);

	return v != NULL && YAJL_IS_STRING(v) ? v->u.string : "";
}

/* pq_meta_check - structs.ValidateNodeMetadata, as parseService calls it */
static int
pq_meta_check(yajl_val meta, char *why, size_t whylen)
{
	const char *k, *v, *reason;
	size_t i;

	if (!YAJL_IS_OBJECT(meta))
		return 0;
	if (meta->u.object.len > PQ_META_PAIRS_MAX) {
		snprintf(why, whylen, "Node metadata cannot contain more than "
		    "%d key/value pairs", PQ_META_PAIRS_MAX);
		return -1;
	}
	for (i = 0; i < meta->u.object.len; i++) {
		k = meta->u.object.keys[i];
		v = YAJL_IS_STRING(meta->u.object.values[i]) ?
		    meta->u.object.values[i]->u.string : "";
		if (*k == '\0')
			reason = "Key cannot be blank";
		else if (k[strspn(k, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")] != '\0')
			reason = "Key contains invalid characters";
		else if (strlen(k) > PQ_META_KEY_MAX)
			reason = "Key is too long (limit: 128 characters)";
		else if (strlen(v) > PQ_META_VALUE_MAX)
			reason = "Value is too long (limit: 512 characters)";
		else
			continue;
		snprintf(why, whylen, "Couldn't load metadata pair ('%.128s', "
		    "'%.128s'): %s", k, v, reason);
		return -1;
	}
	return 0;
}

/*
 * pq_check - Consul's parseQuery (agent/consul/prepared_query_endpoint.go);
 * 0, or -1 with its reason in why
 */
static int
pq_check(yajl_val root, char *why, size_t whylen)
{
	yajl_val svc = api_json_field(root, "Service");
	yajl_val fo = api_json_field(svc, "Failover");
	yajl_val nn = api_json_field(fo, "NearestN");
	const char *ttl = pq_str(api_json_field(root, "DNS"), "TTL");
	int64_t ns;

	if (*pq_str(root, "Name") == '\0' && *pq_str(api_json_field(root,
	    "Template"), "Type") == '\0' && *pq_str(root, "Session") == '\0') {
		snprintf(why, whylen, "Must be bound to a session");
		return -1;
	}
	if (strcmp(pq_str(root, "Token"), PQ_REDACTED) == 0) {
		snprintf(why, whylen, "Bad Token '%s', it looks like a query "
		    "definition with a redacted token was submitted",
		    PQ_REDACTED);
		return -1;
	}
	if (*pq_str(svc, "Service") == '\0') {
		snprintf(why, whylen, "Must provide a Service name to query");
		return -1;
	}
	if (nn != NULL && YAJL_IS_INTEGER(nn) && YAJL_GET_INTEGER(nn) < 0) {
		snprintf(why, whylen, "Bad NearestN '%lld', must be >= 0",
		    YAJL_GET_INTEGER(nn));
		return -1;
	}
	if (pq_meta_check(api_json_field(svc, "NodeMeta"), why, whylen) < 0)
		return -1;
	if (*ttl != '\0') {
		if (duration_parse(ttl, &ns) < 0) {
			snprintf(why, whylen, "Bad DNS TTL '%s': time: invalid "
			    "duration \"%s\"", ttl, ttl);
			return -1;
		}
		if (ns < 0) {
			snprintf(why, whylen, "DNS TTL '%" PRId64 "', must be "
			    ">=0", ns);
			return -1;
		}
	}
	return 0;
}

/*
 * pq_command - OP_QUERY_SET for id from the request's body; -1 after
 * answering (400 for a body that does not decode, 500 for one Consul's
 * server refuses)
 */
static int
pq_command(struct http_req *req, const char *id, int update, struct buf *cmd)
{
	struct json j;
	struct buf def;
	yajl_val root;
	char why[512];
	int rc = -1;

	/* An update may come without a body: an empty query, refused. */
	if (api_body_json(req, yajl_t_object, "structs.PreparedQuery", update,
	    &root) < 0)
		return -1;
	buf_init(&def);
	json_init(&j, &def, 0);
	if (pq_write(req, &j, root, pq_query, "PreparedQuery", "") < 0)
		goto out;
	if (!update && *pq_str(root, "ID") != '\0') {
		http_reply_text(req, 500, "ID must be empty when creating a "
		    "new prepared query");
		goto out;
	}
	if (pq_check(root, why, sizeof(why)) < 0) {
		http_reply_text(req, 500, "Invalid prepared query: %s", why);
		goto out;
	}
	attr_put_u32(cmd, A_OP, OP_QUERY_SET);
	attr_put_str(cmd, A_QUERY_ID, id);
	attr_put(cmd, A_QUERY_DEF, buf_head(&def), buf_used(&def));
	if (update)
		attr_put_u8(cmd, A_QUERY_UPDATE, 1);
	rc = 0;
out:
	buf_free(&def);
	yajl_tree_free(root);
	return rc;
}

/*
 * pq_applied - a write's outcome: 1 when it went through, else 0 after
 * answering with kvd's reason (Consul's 500 for a refused query)
 */
static int
pq_applied(struct http_req *req, const struct frame *f, const char *err)
{
	struct attr tab[ATTR_TAB];
	char msg[512];
	uint32_t status;

	if (api_failed(req, f, err))
		return 0;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	if (attr_u32(&tab[A_STATUS], &status) == 0) {
		if (attr_strcpy(&tab[A_MSG], msg, sizeof(msg)) < 0)
			snprintf(msg, sizeof(msg), "prepared query refused");
		http_reply_text(req, status >= 400 && status < 600 ?
		    (int)status : 500, "%s", msg);
		return 0;
	}
	return 1;
}

/* create_done - {"ID": ...} */
static void
create_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr tab[ATTR_TAB];
	struct json j;
	struct buf b;

	if (!pq_applied(req, f, err))
		return;
	attr_index(f->body, f->len, tab, ATTR_TAB);
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_attr_str(&j, "ID", &tab[A_QUERY_ID]);
	json_obj_close(&j);
	api_reply_json(req, &b, 0, NULL);
}

/* write_done - update and delete answer 200 with nothing, as Consul */
static void
write_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (pq_applied(req, f, err))
		http_reply(req, 200, NULL, NULL, "", 0);
}

/* pq_json_value - a decoded JSON value, written again (for ?pretty) */
static void
pq_json_value(struct json *j, yajl_val v)
{
	size_t i;

	if (YAJL_IS_STRING(v))
		json_str(j, v->u.string);
	else if (YAJL_IS_INTEGER(v))
		json_i64(j, YAJL_GET_INTEGER(v));
	else if (YAJL_IS_NUMBER(v))
		json_i64(j, (int64_t)YAJL_GET_DOUBLE(v));
	else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
		json_bool(j, YAJL_IS_TRUE(v));
	else if (YAJL_IS_ARRAY(v)) {
		json_arr_open(j);
		for (i = 0; i < v->u.array.len; i++)
			pq_json_value(j, v->u.array.values[i]);
		json_arr_close(j);
	} else if (YAJL_IS_OBJECT(v)) {
		json_obj_open(j);
		for (i = 0; i < v->u.object.len; i++) {
			json_key(j, v->u.object.keys[i]);
			pq_json_value(j, v->u.object.values[i]);
		}
		json_obj_close(j);
	} else
		json_null(j);
}

/*
 * pq_json_query - Consul's PreparedQuery from a query record: ID, the
 * stored definition's fields, CreateIndex, ModifyIndex
 */
static void
pq_json_query(struct json *j, const struct attr *rec)
{
	struct attr tab[ATTR_TAB];
	yajl_val def;
	char *text;
	size_t i;

	attr_index(rec->val, rec->len, tab, ATTR_TAB);
	json_obj_open(j);
	json_attr_str(j, "ID", &tab[A_QUERY_ID]);
	if ((text = attr_strdup(&tab[A_QUERY_DEF])) != NULL &&
	    (def = yajl_tree_parse(text, NULL, 0)) != NULL) {
		for (i = 0; YAJL_IS_OBJECT(def) && i < def->u.object.len; i++) {
			json_key(j, def->u.object.keys[i]);
			pq_json_value(j, def->u.object.values[i]);
		}
		yajl_tree_free(def);
	}
	free(text);
	json_indexes(j, tab);
	json_obj_close(j);
}

/* pq_reply_index - the A_INDEX of a kvd reply */
static uint64_t
pq_reply_index(const struct frame *f)
{
	struct attr tab[A_INDEX + 1];
	uint64_t index = 0;

	if (attr_index(f->body, f->len, tab, A_INDEX + 1) == 0)
		attr_u64(&tab[A_INDEX], &index);
	return index;
}

/* queries_done - [query...] for list and get */
static void
queries_done(void *arg, const struct frame *f, const char *err)
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
			pq_json_query(&j, &a);
	json_arr_close(&j);
	api_reply_json(req, &b, pq_reply_index(f), f);
}

/* pq_limit - ?limit as Consul's strconv.Atoi reads it; -1 after a 500 */
static int
pq_limit(struct http_req *req, long *limit)
{
	const char *s = http_req_param(req, "limit");
	char *end;

	*limit = 0;
	if (s == NULL || *s == '\0')
		return 0;
	*limit = strtol(s, &end, 10);
	if (*end != '\0' || end == s) {
		http_reply_text(req, 500, "Bad limit: strconv.Atoi: parsing "
		    "\"%s\": invalid syntax", s);
		return -1;
	}
	return 0;
}

/*
 * execute_done - {Service, Nodes, DNS, Datacenter, Failovers}: the
 * entries shuffled (Consul shuffles when it cannot sort by RTT), then cut
 * to ?limit
 */
static void
execute_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a, q, *nodes = NULL, tmp;
	struct attr tab[ATTR_TAB];
	size_t n = 0, cap = 0, i, k;
	long limit;
	struct json j;
	struct buf b;
	int first = 1;

	if (api_failed(req, f, err))
		return;
	memset(&q, 0, sizeof(q));
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY)
			continue;
		if (first) {
			q = a;
			first = 0;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nodes = realloc(nodes, cap * sizeof(*nodes))) ==
			    NULL)
				log_fatal("out of memory");
		}
		nodes[n++] = a;
	}
	for (i = n; i > 1; i--) {
		k = (size_t)random() % i;
		tmp = nodes[i - 1];
		nodes[i - 1] = nodes[k];
		nodes[k] = tmp;
	}
	pq_limit(req, &limit);		/* checked before the read */
	if (limit > 0 && (size_t)limit < n)
		n = (size_t)limit;
	attr_index(q.val, q.len, tab, ATTR_TAB);
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_attr_str(&j, "Service", &tab[A_SERVICE_NAME]);
	json_key(&j, "Nodes");
	json_arr_open(&j);
	for (i = 0; i < n; i++)
		api_health_entry(&j, &nodes[i]);
	json_arr_close(&j);
	json_key(&j, "DNS");
	json_obj_open(&j);
	json_attr_str(&j, "TTL", &tab[A_TTL]);
	json_obj_close(&j);
	json_key(&j, "Datacenter");
	json_str(&j, H.cfg->datacenter);
	json_key(&j, "Failovers");
	json_u64(&j, 0);
	json_obj_close(&j);
	free(nodes);
	api_reply_json(req, &b, pq_reply_index(f), f);
}

/* explain_done - {"Query": the query, rendered for the name} */
static void
explain_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	struct attr_iter it;
	struct attr a;
	struct json j;
	struct buf b;

	if (api_failed(req, f, err))
		return;
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_key(&j, "Query");
	memset(&a, 0, sizeof(a));
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1 && a.type != A_ENTRY)
		;
	if (a.type == A_ENTRY)
		pq_json_query(&j, &a);
	else
		json_null(&j);
	json_obj_close(&j);
	api_reply_json(req, &b, pq_reply_index(f), f);
}

/* pq_run - execute or explain id (a query's ID or name) */
static void
pq_run(struct http_req *req, const char *id, int explain)
{
	struct buf b;
	long limit;

	if (!api_method(req, "GET") || pq_limit(req, &limit) < 0)
		return;
	buf_init(&b);
	attr_put_str(&b, A_KEY, id);
	api_read(req, MSG_QUERY_EXECUTE, &b, explain ? explain_done :
	    execute_done);
	buf_free(&b);
}

/* api_query_general - POST /v1/query (create), GET /v1/query (list) */
void
api_query_general(struct http_req *req, const char *rest)
{
	char id[UUID_LEN + 1];
	struct buf cmd;

	if (!api_method(req, "GET,POST"))
		return;
	if (req->method == HTTP_GET) {
		api_read(req, MSG_QUERY_GET, NULL, queries_done);
		return;
	}
	if (uuid_random(id) < 0) {
		http_reply_text(req, 500, "UUID generation for prepared query "
		    "failed: no random bytes");
		return;
	}
	buf_init(&cmd);
	if (pq_command(req, id, 0, &cmd) == 0)
		api_call(req, H.raftd, MSG_RAFT_APPLY, &cmd, create_done);
	buf_free(&cmd);
}

/*
 * api_query_specific - /v1/query/<id>: GET, PUT (update), DELETE;
 * /v1/query/<id or name>/execute and .../explain: GET
 */
void
api_query_specific(struct http_req *req, const char *rest)
{
	static const char execute[] = "/execute", explain[] = "/explain";
	size_t n = strlen(rest);
	struct buf b;
	char *id;

	if (n >= sizeof(execute) - 1 &&
	    strcmp(rest + n - (sizeof(execute) - 1), execute) == 0) {
		id = xstrdup(rest);
		id[n - (sizeof(execute) - 1)] = '\0';
		pq_run(req, id, 0);
		free(id);
		return;
	}
	if (n >= sizeof(explain) - 1 &&
	    strcmp(rest + n - (sizeof(explain) - 1), explain) == 0) {
		id = xstrdup(rest);
		id[n - (sizeof(explain) - 1)] = '\0';
		pq_run(req, id, 1);
		free(id);
		return;
	}
	if (!api_method(req, "GET,PUT,DELETE"))
		return;
	if (*rest == '\0') {
		http_reply_text(req, 400, "Missing query ID");
		return;
	}
	buf_init(&b);
	if (req->method == HTTP_GET) {
		attr_put_str(&b, A_QUERY_ID, rest);
		api_read(req, MSG_QUERY_GET, &b, queries_done);
	} else if (req->method == HTTP_DELETE) {
		attr_put_u32(&b, A_OP, OP_QUERY_DELETE);
		attr_put_str(&b, A_QUERY_ID, rest);
		api_call(req, H.raftd, MSG_RAFT_APPLY, &b, write_done);
	} else if (pq_command(req, rest, 1, &b) == 0)
		api_call(req, H.raftd, MSG_RAFT_APPLY, &b, write_done);
	buf_free(&b);
}
