/*
 * api_agent_local.c - the agent's own registrations, handed to checkd:
 * PUT /v1/agent/service/register[?replace-existing-checks], PUT
 * /v1/agent/service/deregister/<id>, PUT /v1/agent/check/register, PUT
 * /v1/agent/check/deregister/<id>, PUT /v1/agent/maintenance and
 * /v1/agent/service/maintenance/<id> (?enable=&reason=), PUT
 * /v1/agent/reload (agent/agent_endpoint.go).
 *
 * The bodies go to checkd as they came: it reads them as it reads a
 * config file, so a definition means the same in both places, and its
 * errors name the line and column of the body.
 */
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "msg.h"

#define REG_MAX_BODY	(512 * 1024)

/* local_done - 200 with no body, or checkd's refusal */
static void
local_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, NULL, NULL, "", 0);
}

/* local_body - the body for checkd, or a 400 when there is none */
static int
local_body(struct http_req *req, struct buf *b)
{
	if (buf_used(&req->body) == 0) {
		http_reply_text(req, 400, "Request decode failed: EOF");
		return -1;
	}
	if (buf_used(&req->body) > REG_MAX_BODY) {
		http_reply_text(req, 413, "Request body too large");
		return -1;
	}
	attr_put(b, A_DATA, buf_head(&req->body), buf_used(&req->body));
	return 0;
}

/* api_agent_service_register - PUT /v1/agent/service/register */
void
api_agent_service_register(struct http_req *req, const char *rest)
{
	const char *replace;
	struct buf b;

	if (!api_method(req, "PUT"))
		return;
	buf_init(&b);
	if (local_body(req, &b) == 0) {
		replace = http_req_param(req, "replace-existing-checks");
		if (replace != NULL && strcmp(replace, "false") != 0)
			attr_put_u32(&b, A_FLAGS, 1);
		api_call(req, &H.checkd, MSG_AGENT_SERVICE_REGISTER, &b,
		    local_done);
	}
	buf_free(&b);
}

/*
 * local_by_id - a deregistration by the ID after the path. GET is taken
 * too, as Consul took it before 1.0: python3-consul (0.7) still sends it.
 */
static void
local_by_id(struct http_req *req, const char *id, uint16_t type,
    uint16_t attr, const char *what)
{
	struct buf b;

	if (!api_method(req, "GET,PUT"))
		return;
	if (*id == '\0') {
		http_reply_text(req, 400, "Missing %s ID", what);
		return;
	}
	buf_init(&b);
	attr_put_str(&b, attr, id);
	api_call(req, &H.checkd, type, &b, local_done);
	buf_free(&b);
}

void
api_agent_service_deregister(struct http_req *req, const char *id)
{
	local_by_id(req, id, MSG_AGENT_SERVICE_DEREGISTER, A_SERVICE_ID,
	    "service");
}

/* api_agent_check_register - PUT /v1/agent/check/register */
void
api_agent_check_register(struct http_req *req, const char *rest)
{
	struct buf b;

	if (!api_method(req, "PUT"))
		return;
	buf_init(&b);
	if (local_body(req, &b) == 0)
		api_call(req, &H.checkd, MSG_AGENT_CHECK_REGISTER, &b,
		    local_done);
	buf_free(&b);
}

void
api_agent_check_deregister(struct http_req *req, const char *id)
{
	local_by_id(req, id, MSG_AGENT_CHECK_DEREGISTER, A_CHECK_ID, "check");
}

/* maint - ?enable=true|false&reason=, Consul's 400s */
static void
maint(struct http_req *req, const char *service)
{
	const char *enable, *reason;
	struct buf b;
	int on;

	if (!api_method(req, "PUT"))
		return;
	if (service != NULL && *service == '\0') {
		http_reply_text(req, 400, "Missing service ID");
		return;
	}
	if ((enable = http_req_param(req, "enable")) == NULL) {
		http_reply_text(req, 400, "Missing value for enable");
		return;
	}
	if (strcmp(enable, "true") == 0 || strcmp(enable, "1") == 0)
		on = 1;
	else if (strcmp(enable, "false") == 0 || strcmp(enable, "0") == 0)
		on = 0;
	else {
		http_reply_text(req, 400, "Invalid value for enable: \"%s\"",
		    enable);
		return;
	}
	buf_init(&b);
	attr_put_u8(&b, A_RESULT, (uint8_t)on);
	if ((reason = http_req_param(req, "reason")) != NULL)
		attr_put_str(&b, A_NOTES, reason);
	if (service != NULL)
		attr_put_str(&b, A_SERVICE_ID, service);
	api_call(req, &H.checkd, MSG_AGENT_MAINT, &b, local_done);
	buf_free(&b);
}

void
api_agent_maintenance(struct http_req *req, const char *rest)
{
	maint(req, NULL);
}

void
api_agent_service_maintenance(struct http_req *req, const char *id)
{
	maint(req, id);
}

/* api_agent_reload - PUT /v1/agent/reload: checkd reads its files again */
void
api_agent_reload(struct http_req *req, const char *rest)
{
	if (api_method(req, "PUT"))
		api_call(req, &H.checkd, MSG_AGENT_RELOAD, NULL, local_done);
}
