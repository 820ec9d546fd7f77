/*
 * api_checks.c - the agent's own services and checks, from checkd:
 * PUT /v1/agent/check/{pass,warn,fail}/<id>?note=, PUT
 * /v1/agent/check/update/<id> with {"Status","Output"}, GET
 * /v1/agent/services and GET /v1/agent/checks, in Consul's shapes and
 * words (agent/agent_endpoint.go).
 *
 * Leaves out: ?filter, hash-based blocking (?hash=), service and check
 * registration through the API (a later issue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yajl/yajl_tree.h>

#include "httpd.h"
#include "msg.h"

/* update_done - checkd took the update: 200 with no body, as Consul */
static void
update_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, NULL, NULL, "", 0);
}

/* check_update - ask checkd to set a TTL check's status */
static void
check_update(struct http_req *req, const char *id, const char *status,
    const char *output, size_t outlen)
{
	struct buf b;

	buf_init(&b);
	attr_put_str(&b, A_CHECK_ID, id);
	attr_put_str(&b, A_STATUS, status);
	if (output != NULL)
		attr_put(&b, A_OUTPUT, output, outlen);
	api_call(req, &H.checkd, MSG_CHECK_UPDATE, &b, update_done);
	buf_free(&b);
}

/*
 * check_ttl - pass, warn and fail: the note becomes the output. GET is
 * taken too, as Consul took it before 1.0: python3-consul (0.7) still
 * sends it.
 */
static void
check_ttl(struct http_req *req, const char *id, const char *status)
{
	const char *note;

	if (!api_method(req, "GET,PUT"))
		return;
	note = http_req_param(req, "note");
	check_update(req, id, status, note, note != NULL ? strlen(note) : 0);
}

void
api_agent_check_pass(struct http_req *req, const char *id)
{
	check_ttl(req, id, "passing");
}

void
api_agent_check_warn(struct http_req *req, const char *id)
{
	check_ttl(req, id, "warning");
}

void
api_agent_check_fail(struct http_req *req, const char *id)
{
	check_ttl(req, id, "critical");
}

/*
 * api_agent_check_update - PUT /v1/agent/check/update/<id> with
 * {"Status":"passing","Output":"..."}. Field names match without case,
 * as Go's decoder does.
 */
void
api_agent_check_update(struct http_req *req, const char *id)
{
	const char *status, *output;
	yajl_val root;

	if (!api_method(req, "PUT"))
		return;
	if (api_body_json(req, yajl_t_object, "agent.checkUpdate", 0,
	    &root) < 0)
		return;
	if (api_json_string(req, root, "Status", "checkUpdate", &status) < 0 ||
	    api_json_string(req, root, "Output", "checkUpdate", &output) < 0) {
		yajl_tree_free(root);
		return;
	}
	if (status == NULL)
		status = "";
	if (strcmp(status, "passing") != 0 && strcmp(status, "warning") != 0 &&
	    strcmp(status, "critical") != 0) {
		http_reply_text(req, 400, "Invalid check status: '%s'", status);
		yajl_tree_free(root);
		return;
	}
	check_update(req, id, status, output != NULL ? output : "",
	    output != NULL ? strlen(output) : 0);
	yajl_tree_free(root);
}

/* map_done - {"<id>": {...}, ...} from checkd's records */
static void
map_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;
	int checks = req->data != NULL;
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
		if (a.type != (checks ? A_CHECK_REC : A_SERVICE_REC) ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
			continue;
		if (checks) {
			json_keyn(&j, (const char *)tab[A_CHECK_ID].val,
			    tab[A_CHECK_ID].len);
			json_check(&j, &a, NULL, 0);
		} else {
			json_keyn(&j, (const char *)tab[A_SERVICE_ID].val,
			    tab[A_SERVICE_ID].len);
			json_service(&j, &a, JS_DATACENTER);
		}
	}
	json_obj_close(&j);
	api_reply_json(req, &b, 0, NULL);
}

void
api_agent_services(struct http_req *req, const char *rest)
{
	if (!api_method(req, "GET"))
		return;
	req->data = NULL;
	api_call(req, &H.checkd, MSG_AGENT_SERVICES, NULL, map_done);
}

void
api_agent_checks(struct http_req *req, const char *rest)
{
	if (!api_method(req, "GET"))
		return;
	req->data = (void *)1;
	api_call(req, &H.checkd, MSG_AGENT_CHECKS, NULL, map_done);
}
