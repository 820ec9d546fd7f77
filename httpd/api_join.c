/*
 * api_join.c - the agent's membership requests, each handed to this
 * agent's gossipd as Consul's handlers hand them to serf:
 *
 *	PUT /v1/agent/join/<address>	push/pull with the member at address
 *					("ip", "ip:port"), as AgentJoin
 *	PUT /v1/agent/leave		leave the cluster gracefully: gossipd
 *					answers once the intent has spread,
 *					then exits, and `cairn agent` stops
 *					the node (AgentLeave)
 *	PUT /v1/agent/force-leave/<node>[?prune]
 *					mark a failed member left, or with
 *					?prune forget it at once
 *
 * Each is 200 with an empty body, or gossipd's status and reason (500
 * "agent: No node found with name 'x'" for force-leave, as Consul; 500
 * with the reasons for join).
 *
 * Leaves out: ?wan=1 (there is no WAN pool yet: 501).
 */
#include <string.h>

#include "httpd.h"
#include "msg.h"

/* join_done - gossipd did it, or says why not: 200 empty, or its error */
static void
join_done(void *arg, const struct frame *f, const char *err)
{
	struct http_req *req = arg;

	if (api_failed(req, f, err))
		return;
	http_reply(req, 200, NULL, NULL, "", 0);
}

/* join_no_wan - 501 for ?wan; 1 if it answered */
static int
join_no_wan(struct http_req *req)
{
	if (http_req_param(req, "wan") == NULL)
		return 0;
	http_reply_text(req, 501, "the WAN pool is not implemented yet");
	return 1;
}

void
api_agent_join(struct http_req *req, const char *addr)
{
	struct buf b;

	if (!api_method(req, "PUT") || join_no_wan(req))
		return;
	buf_init(&b);
	attr_put_str(&b, A_ADDRESS, addr);
	api_call(req, &H.gossipd, MSG_GOSSIP_JOIN, &b, join_done);
	buf_free(&b);
}

void
api_agent_leave(struct http_req *req, const char *rest)
{
	if (!api_method(req, "PUT"))
		return;
	/* The answer waits for LeavePropagateDelay (3s): API_TIMEOUT is 10s. */
	api_call(req, &H.gossipd, MSG_GOSSIP_LEAVE, NULL, join_done);
}

void
api_agent_force_leave(struct http_req *req, const char *node)
{
	struct buf b;

	if (!api_method(req, "PUT") || join_no_wan(req))
		return;
	if (*node == '\0') {
		http_reply_text(req, 400, "missing node name");
		return;
	}
	buf_init(&b);
	attr_put_str(&b, A_NODE, node);
	/* Consul looks only for the name: ?prune, ?prune=1, ?prune=false. */
	if (http_req_param(req, "prune") != NULL)
		attr_put_u8(&b, A_PRUNE, 1);
	api_call(req, &H.gossipd, MSG_GOSSIP_FORCE_LEAVE, &b, join_done);
	buf_free(&b);
}
