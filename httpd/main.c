/*
 * cairn-httpd - Consul's HTTP API (/v1/...).
 *
 * Owns no state: one route table maps each path to a handler, which asks
 * the daemon that owns the data over its Unix socket and formats the
 * answer as Consul does. A client agent has no raftd or kvd: their
 * requests go to a server's RPC port instead (common/servers).
 * Keep-alive, pipelining, body limits and timeouts are http_conn.c's.
 */
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "httpd.h"
#include "log.h"

struct httpd H;

struct route {
	const char	*path;
	int		 prefix;	/* path is a prefix; the rest is passed */
	void		(*fn)(struct http_req *, const char *rest);
};

/* Longer prefixes first where one is a prefix of another. */
static const struct route routes[] = {
	{ "/v1/kv/",			1, api_kv },
	{ "/v1/kv",			0, api_kv },
	{ "/v1/catalog/nodes",		0, api_catalog_nodes },
	{ "/v1/catalog/node/",		1, api_catalog_node },
	{ "/v1/catalog/services",	0, api_catalog_services },
	{ "/v1/catalog/service/",	1, api_catalog_service },
	{ "/v1/catalog/datacenters",	0, api_catalog_datacenters },
	{ "/v1/health/service/",	1, api_health_service },
	{ "/v1/health/node/",		1, api_health_node },
	{ "/v1/health/checks/",		1, api_health_checks },
	{ "/v1/health/state/",		1, api_health_state },
	{ "/v1/catalog/register",	0, api_catalog_register },
	{ "/v1/catalog/deregister",	0, api_catalog_deregister },
	{ "/v1/agent/self",		0, api_agent_self },
	{ "/v1/agent/members",		0, api_agent_members },
	{ "/v1/agent/join/",		1, api_agent_join },
	{ "/v1/agent/leave",		0, api_agent_leave },
	{ "/v1/agent/force-leave/",	1, api_agent_force_leave },
	{ "/v1/agent/service/register",	0, api_agent_service_register },
	{ "/v1/agent/service/deregister/", 1, api_agent_service_deregister },
	{ "/v1/agent/service/maintenance/", 1,
	    api_agent_service_maintenance },
	{ "/v1/agent/check/register",	0, api_agent_check_register },
	{ "/v1/agent/check/deregister/", 1, api_agent_check_deregister },
	{ "/v1/agent/maintenance",	0, api_agent_maintenance },
	{ "/v1/agent/reload",		0, api_agent_reload },
	{ "/v1/agent/metrics",		0, api_agent_metrics },
	{ "/v1/agent/monitor",		0, api_agent_monitor },
	{ "/v1/agent/check/pass/",	1, api_agent_check_pass },
	{ "/v1/agent/check/warn/",	1, api_agent_check_warn },
	{ "/v1/agent/check/fail/",	1, api_agent_check_fail },
	{ "/v1/agent/check/update/",	1, api_agent_check_update },
	{ "/v1/agent/services",		0, api_agent_services },
	{ "/v1/agent/checks",		0, api_agent_checks },
	{ "/v1/status/leader",		0, api_status_leader },
	{ "/v1/status/peers",		0, api_status_peers },
	{ "/v1/operator/raft/configuration", 0,
	    api_operator_raft_configuration },
	{ "/v1/operator/raft/peer",	0, api_operator_raft_peer },
	{ "/v1/snapshot",		0, api_snapshot },
	{ "/v1/txn",			0, api_txn },
	{ "/v1/session/create",		0, api_session_create },
	{ "/v1/session/destroy/",	1, api_session_destroy },
	{ "/v1/session/renew/",		1, api_session_renew },
	{ "/v1/session/info/",		1, api_session_info },
	{ "/v1/session/node/",		1, api_session_node },
	{ "/v1/session/list",		0, api_session_list },
	{ "/v1/event/fire/",		1, api_event_fire },
	{ "/v1/event/fire",		0, api_event_fire },
	{ "/v1/event/list",		0, api_event_list },
	{ "/v1/query",			0, api_query_general },
	{ "/v1/query/",			1, api_query_specific },
	{ NULL, 0, NULL }
};

/* httpd_request - route one request */
static void
httpd_request(struct http_req *req)
{
	const struct route *r;
	size_t n;

	if (strcmp(req->path, "/") == 0) {
		http_reply(req, 200, "text/plain; charset=utf-8", NULL,
		    "Consul Agent", 12);
		return;
	}
	for (r = routes; r->path != NULL; r++) {
		n = strlen(r->path);
		if (r->prefix ? strncmp(req->path, r->path, n) == 0 :
		    strcmp(req->path, r->path) == 0) {
			r->fn(req, req->path + (r->prefix ? n : strlen(
			    req->path)));
			return;
		}
	}
	http_reply_text(req, 404, "Invalid URL path: not a recognized HTTP "
	    "API endpoint");
}

static struct config httpd_cfg;

/*
 * httpd_body_limit - kv_max_value_size everywhere, but a snapshot to
 * restore may be as large as one Raft entry.
 */
static size_t
httpd_body_limit(const struct http_req *req)
{
	if (strcmp(req->path, "/v1/snapshot") == 0)
		return SNAPSHOT_MAX_BODY;
	return 0;
}

static int
httpd_init(struct ev_loop *loop, struct config *cfg, char *err, size_t errlen)
{
	char path[4200];

	H.loop = loop;
	/* Keep the config: handlers read node name, datacenter, ... */
	httpd_cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	H.cfg = &httpd_cfg;
	if (H.cfg->server) {
		daemon_sock_path(H.cfg, "kvd", path, sizeof(path));
		rpc_init(&H.kvd_local, loop, path, "httpd", "kvd");
		daemon_sock_path(H.cfg, "raftd", path, sizeof(path));
		rpc_init(&H.raftd_local, loop, path, "httpd", "raftd");
		H.kvd = &H.kvd_local;
		H.raftd = &H.raftd_local;
	} else {
		/* A client agent: a server's RPC port stands in for both. */
		daemon_sock_path(H.cfg, "gossipd", path, sizeof(path));
		servers_init(&H.servers, loop, path, H.cfg->datacenter,
		    "httpd");
		H.kvd = H.raftd = servers_rpc(&H.servers);
	}
	daemon_sock_path(H.cfg, "gossipd", path, sizeof(path));
	rpc_init(&H.gossipd, loop, path, "httpd", "gossipd");
	daemon_sock_path(H.cfg, "checkd", path, sizeof(path));
	rpc_init(&H.checkd, loop, path, "httpd", "checkd");
	if (http_server_listen(&H.http, loop, H.cfg->http_addr,
	    H.cfg->port_http, (size_t)H.cfg->kv_max_value_size,
	    httpd_request, err, errlen) < 0)
		return -1;
	H.http.body_limit = httpd_body_limit;
	/* Without the log socket only /v1/agent/monitor is missing. */
	daemon_sock_path(H.cfg, "log", path, sizeof(path));
	if (monitor_init(loop, path, err, errlen) < 0)
		log_warn("%s; /v1/agent/monitor will answer 503", err);
	log_info("HTTP API on http://%s:%d", H.cfg->http_addr,
	    http_server_port(&H.http));
	return 0;
}

static void
httpd_stop(void)
{
	monitor_stop();
	http_server_stop(&H.http);
	if (H.cfg->server) {
		rpc_stop(&H.kvd_local);
		rpc_stop(&H.raftd_local);
	} else
		servers_stop(&H.servers);
	rpc_stop(&H.gossipd);
	rpc_stop(&H.checkd);
	config_free(&httpd_cfg);
}

static const struct daemon_spec httpd_spec = {
	.name = "httpd",
	.summary = "cairn-httpd: Consul's HTTP API for a cairn node.",
	.help =
"Serves /v1/kv, /v1/catalog, /v1/health, /v1/agent and /v1/status on\n"
"addresses.http (client_addr) port ports.http (8500). Owns no state: it\n"
"asks cairn-kvd, cairn-raftd and cairn-gossipd over their sockets in\n"
"run_dir (on a client agent, a server's RPC port stands in for raftd and\n"
"kvd), and answers 503 at once while one of them is away.\n",
	.init = httpd_init,
	.stop = httpd_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &httpd_spec);
}
