/*
 * httpd.h - what the HTTP API modules of cairn-httpd share.
 *
 * httpd owns no state: each handler turns a request into one frame to the
 * daemon that owns the data (kvd for reads, raftd for writes, gossipd for
 * members), and the reply frame into Consul's JSON. While a daemon is
 * away, the request gets a clear 5xx at once, never a hang.
 */
#ifndef CAIRN_HTTPD_H
#define CAIRN_HTTPD_H

#include <stdint.h>
#include <time.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "config.h"
#include "frame.h"
#include "http_conn.h"
#include "json.h"
#include "log.h"
#include "rpc.h"
#include "servers.h"

/* A snapshot restore travels in one Raft entry (raft_log.h RAFT_REC_MAX) */
#define SNAPSHOT_MAX_BODY	(30u << 20)
#define API_TIMEOUT	10.0	/* seconds a daemon may take to answer */
#define CAIRN_VERSION	"0.1.0"

struct httpd {
	struct ev_loop		*loop;
	struct config		*cfg;
	/*
	 * raftd and kvd: this server's own over their sockets, or on a
	 * client agent the connection to a server's RPC port (which
	 * serves raftd's requests, and kvd reads as MSG_RAFT_READ).
	 */
	struct rpc		*raftd, *kvd;
	struct rpc		 raftd_local, kvd_local;
	struct servers		 servers;	/* client agents */
	struct rpc		 gossipd;
	struct rpc		 checkd;	/* the agent's services, checks */
	struct http_server	 http;
};
extern struct httpd H;

/*
 * api_call - send a request for req; cb gets (req, reply frame or NULL,
 * transport error). Returns -1 after answering req itself when the
 * daemon is not reachable.
 */
int	api_call(struct http_req *, struct rpc *, uint16_t type,
	    const struct buf *body, rpc_cb *);
/*
 * api_failed - answer req if the call failed or the daemon sent an error
 * (its status becomes the HTTP status); 1 if it answered.
 */
int	api_failed(struct http_req *, const struct frame *, const char *err);
/* api_json_begin - a JSON writer honouring ?pretty */
void	api_json_begin(struct http_req *, struct json *, struct buf *);
/* api_reply_json - 200 with Consul's headers; index 0 means none; f is
   the read's reply (leader headers) or NULL */
void	api_reply_json(struct http_req *, struct buf *, uint64_t index,
	    const struct frame *f);
/* api_meta - the X-Consul-* headers of a read's reply f (or NULL) */
void	api_meta(char *hdrs, size_t, uint64_t index, const struct frame *f);
/* api_read - a kvd read through raftd with ?stale / ?consistent */
int	api_read(struct http_req *, uint16_t type, const struct buf *body,
	    rpc_cb *);
/* api_uint_param - 0 absent, 1 parsed, -1 after answering 400 */
int	api_uint_param(struct http_req *, const char *name, uint64_t *,
	    const char *what);
/* api_method - 1 if the method is allowed, else 405 with Allow and 0 */
int	api_method(struct http_req *, const char *allow);

/*
 * api_body.c: api_body_json - the body as JSON of type want (or null);
 * an empty body is *out NULL when optional. -1 after a 400 naming
 * gotype (Go's type, for Consul's message). The caller frees *out.
 */
int	api_body_json(struct http_req *, yajl_type want, const char *gotype,
	    int optional, yajl_val *out);
const char *api_json_type(yajl_val);
yajl_val api_json_field(yajl_val obj, const char *name);
int	api_json_string(struct http_req *, yajl_val obj, const char *name,
	    const char *gotype, const char **);

/* JSON for the records of msg.h */
void	json_attr_str(struct json *, const char *key, const struct attr *);
void	json_meta(struct json *, const char *key, const void *, size_t);
void	json_node_fields(struct json *, const struct attr *tab);
void	json_tags(struct json *, const char *key, const void *, size_t);
void	json_indexes(struct json *, const struct attr *tab);
void	json_weights(struct json *, const char *key, const struct attr *tab);
#define JS_INDEXES	0x1	/* CreateIndex, ModifyIndex */
#define JS_DATACENTER	0x2	/* Datacenter (agent endpoints) */
void	json_service(struct json *, const struct attr *rec, int flags);
void	json_check(struct json *, const struct attr *rec,
	    const struct attr *svc, int indexes);

/* The routes: api_kv.c, api_catalog.c, api_agent.c */
void	api_kv(struct http_req *, const char *key);
void	api_catalog_nodes(struct http_req *, const char *);
void	api_catalog_node(struct http_req *, const char *);
void	api_catalog_services(struct http_req *, const char *);
void	api_catalog_service(struct http_req *, const char *);
void	api_catalog_datacenters(struct http_req *, const char *);
void	api_health_service(struct http_req *, const char *);
void	api_health_node(struct http_req *, const char *);
void	api_health_checks(struct http_req *, const char *);
void	api_health_state(struct http_req *, const char *);
/* api_register.c */
void	api_catalog_register(struct http_req *, const char *);
void	api_catalog_deregister(struct http_req *, const char *);
void	api_agent_self(struct http_req *, const char *);
void	api_agent_members(struct http_req *, const char *);
void	api_status_leader(struct http_req *, const char *);
void	api_status_peers(struct http_req *, const char *);
void	api_operator_raft_configuration(struct http_req *, const char *);
void	api_operator_raft_peer(struct http_req *, const char *);
void	api_snapshot(struct http_req *, const char *);
/* api_join.c */
void	api_agent_join(struct http_req *, const char *);
void	api_agent_leave(struct http_req *, const char *);
void	api_agent_force_leave(struct http_req *, const char *);
/* api_checks.c */
void	api_agent_check_pass(struct http_req *, const char *);
void	api_agent_check_warn(struct http_req *, const char *);
void	api_agent_check_fail(struct http_req *, const char *);
void	api_agent_check_update(struct http_req *, const char *);
void	api_agent_services(struct http_req *, const char *);
void	api_agent_checks(struct http_req *, const char *);
/* api_session.c */
void	api_session_create(struct http_req *, const char *);
void	api_session_destroy(struct http_req *, const char *);
void	api_session_renew(struct http_req *, const char *);
void	api_session_info(struct http_req *, const char *);
void	api_session_node(struct http_req *, const char *);
void	api_session_list(struct http_req *, const char *);
void	json_session(struct json *, const struct attr *rec);
/* api_kv.c */
void	json_kv_entry(struct json *, const struct attr *entry);
/* api_txn.c */
void	api_txn(struct http_req *, const char *);
/* api_metrics.c */
void	api_agent_metrics(struct http_req *, const char *);
/* api_agent_local.c */
void	api_agent_service_register(struct http_req *, const char *);
void	api_agent_service_deregister(struct http_req *, const char *);
void	api_agent_check_register(struct http_req *, const char *);
void	api_agent_check_deregister(struct http_req *, const char *);
void	api_agent_maintenance(struct http_req *, const char *);
void	api_agent_service_maintenance(struct http_req *, const char *);
void	api_agent_reload(struct http_req *, const char *);
/* api_event.c */
void	api_event_fire(struct http_req *, const char *);
void	api_event_list(struct http_req *, const char *);
/*
 * api_health_entry - one health reply entry as Consul's
 * {"Node","Service","Checks"} (api_catalog.c; prepared queries too)
 */
void	api_health_entry(struct json *, const struct attr *);

/* api_query.c */
void	api_query_general(struct http_req *, const char *);
void	api_query_specific(struct http_req *, const char *);

/*
 * monitor.c: GET /v1/agent/monitor, fed by every daemon's log tap on
 * run_dir/log.sock (see log.h), which monitor_init binds.
 */
#define MONITOR_MAX_STREAMS	64
#define MONITOR_MAX_QUEUED	(256u << 10)	/* a stream's unsent bytes */
struct monitor_line {
	enum log_level	 level;
	const char	*module;	/* "kvd": the program, no "cairn-" */
	size_t		 module_len;
	const char	*msg;
	size_t		 msg_len;
};
int	monitor_init(struct ev_loop *, const char *path, char *err,
	    size_t errlen);
void	monitor_stop(void);
void	api_agent_monitor(struct http_req *, const char *);
/* monitor_level - a ?loglevel name (Consul's, any case); -1 if unknown */
int	monitor_level(const char *name, enum log_level *);
/* monitor_parse - a tapped datagram into l (pointing into it); -1 if bad */
int	monitor_parse(const char *, size_t, struct monitor_line *l);
/* monitor_format - append l as a stream shows it: hclog text or JSON */
void	monitor_format(struct buf *, const struct monitor_line *, int json,
	    const struct timespec *);

#endif
