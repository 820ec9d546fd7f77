/*
 * api_join.c - PUT /v1/agent/join/<address>: have this agent's gossipd
 * push/pull with the member at address ("ip", "ip:port"), as Consul's
 * AgentJoin does. 200 with an empty body, or 500 with the reason.
 *
 * Leaves out: ?wan=1 (there is no WAN pool yet: 501).
 */
#include <string.h>

#include "httpd.h"
#include "msg.h"

/* join_done - gossipd contacted the node, or says why not */
static void
join_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, NULL, NULL, "", 0);
}

void
api_agent_join(struct http_req *req, const char *addr)
{
	struct buf b;

	if (!api_method(req, "PUT"))
		return;
	if (http_req_param(req, "wan") != NULL) {
		http_reply_text(req, 501, "the WAN pool is not implemented "
		    "yet");
		return;
	}
	buf_init(&b);
	attr_put_str(&b, A_ADDRESS, addr);
	api_call(req, &H.gossipd, MSG_GOSSIP_JOIN, &b, join_done);
	buf_free(&b);
}
