/*
 * checkd.h - what the modules of cairn-checkd share: the daemon's state
 * (this node, its services, its running checks, the connections to raftd
 * and kvd) and each module's entry points.
 *
 *	checks.c	definitions from the config, catalog records
 *	run.c		running checks: script, HTTP and TCP runs, TTL
 *			expiry, status
 *	sync.c		writing to the catalog: registers, status changes,
 *			anti-entropy, deregistering what is gone
 *	state.c		TTL check state kept across restarts
 *	local.c		definitions registered through the agent API
 *	agent.c		the agent API's registrations and maintenance
 *	rexec.c		remote exec: running `cairn exec` jobs
 *	main.c		the daemon: init, reload, the checkd.sock requests
 */
#ifndef CAIRN_CHECKD_H
#define CAIRN_CHECKD_H

#include <ev.h>

#include "check_exec.h"
#include "check_http.h"
#include "check_tcp.h"
#include "checks.h"
#include "config.h"
#include "rpc.h"
#include "server.h"
#include "servers.h"

/* One running check. */
struct check {
	struct check_def	 def;
	const char		*status;	/* CHECKS_* */
	char			*output;	/* never NULL */
	char			*ttl_last;	/* an update's last output */
	ev_timer		 timer;		/* next run, or TTL expiry */
	/* A run in progress: at most one of these, by kind. */
	struct check_exec	*exec;
	struct check_http	*http;
	struct check_tcp	*tcp;
	int			 started;
	int			 fresh;		/* no result written yet */
	ev_tstamp		 critical_since;	/* 0 when not critical */
	int			 in_catalog;	/* a register carried it */
};

struct checkd {
	struct ev_loop		*loop;
	/* This node, as registered (owned copies of the config's). */
	struct checks_node	 node;
	int			 server;
	int			 port_server;
	/* The definitions: services, and every check with its state. */
	struct svc_def		*svcs;
	size_t			 nsvcs;
	struct check		**checks;
	size_t			 nchecks;
	/*
	 * checkd.sock, and the daemons we write to and read from: on a
	 * server its own raftd and kvd; on a client agent both are the
	 * connection to a server's RPC port, where kvd reads go wrapped
	 * in MSG_RAFT_READ (kvd_mode stale) for that server's kvd.
	 */
	struct server		 srv;
	struct rpc		*raftd, *kvd;
	int			 kvd_mode;	/* SERVERS_READ_* */
	struct rpc		 raftd_local, kvd_local;
	struct servers		 servers;
};
extern struct checkd D;

/* checkd_find - the running check with this ID, or NULL */
struct check	*checkd_find(const char *id);

/* run.c */
struct check	*run_new(struct check_def *);	/* takes def's contents */
void		 run_start(struct check *);
void		 run_stop(struct check *);
void		 run_free(struct check *);
/*
 * run_set - a new result. Writes a status change to the catalog (only a
 * change: output alone waits for the next anti-entropy pass, as in
 * Consul). Takes a copy of output.
 */
void		 run_set(struct check *, const char *status,
		    const char *output);
/* run_ttl_update - a TTL check's pass/warn/fail: new result, TTL rearmed */
void		 run_ttl_update(struct check *, const char *status,
		    const char *output);

/* sync.c */
/*
 * sync_init - connect to raftd and kvd over their sockets in run_dir, or
 * on a client agent to a server found through gossipd
 */
void		 sync_init(const struct config *);
void		 sync_stop(void);
/* sync_soon - a full pass on the next loop iteration (coalesced) */
void		 sync_soon(void);
void		 sync_status(const struct check *);
void		 sync_deregister(const char *service_id, const char *check_id);

/* local.c */
enum { LOCAL_SERVICE = 0, LOCAL_CHECK = 1 };
/* What a local_put or local_drop changed, to undo or forget it. */
struct local_old {
	int		 kind, added, dropped;
	char		*id, *text;
	struct jv	*def;
};
struct jv	*local_parse(int kind, const void *text, size_t len,
		    const char **id, char *err, size_t errlen);
int		 local_has(int kind, const char *id);
void		 local_put(int kind, const char *id, struct jv *def,
		    const char *text, size_t len, struct local_old *);
int		 local_drop(int kind, const char *id, struct local_old *);
void		 local_undo(struct local_old *);
void		 local_forget(struct local_old *);
void		 local_save(int kind, const char *id);
void		 local_init(const char *data_dir);
struct jv	**local_roots(int kind, size_t *n);
const char	*local_id_at(int kind, size_t i);
const struct jv	*local_def_at(int kind, size_t i);
void		 local_stop(void);

/* main.c */
/*
 * checkd_load - every definition: the config's, then the API's; 0, or
 * -1 with err
 */
int		 checkd_load(struct checks_defs *, const struct config *,
		    char *err, size_t errlen);
void		 checkd_apply(struct checks_defs *);
void		 checkd_reload(struct config *);

/* agent.c: the MSG_AGENT_* registrations and maintenance */
void		 agent_handle_service_register(struct sconn *,
		    const struct frame *);
void		 agent_handle_service_deregister(struct sconn *,
		    const struct frame *);
void		 agent_handle_check_register(struct sconn *,
		    const struct frame *);
void		 agent_handle_check_deregister(struct sconn *,
		    const struct frame *);
void		 agent_handle_maint(struct sconn *, const struct frame *);
void		 agent_handle_reload(struct sconn *, const struct frame *);
/* agent_reap - deregister_critical_service_after, from a 1 s timer */
void		 agent_reap(void);

/* rexec.c: remote exec, the jobs of `cairn exec` */
#define REXEC_CHUNK	4096	/* remoteExecOutputSize: bytes per out/ key */
/* A job spec as Consul's CLI writes it (rExecSpec). */
struct rexec_spec {
	char		*command;	/* "" when none */
	char		**args;		/* NULL-terminated when nargs > 0 */
	size_t		 nargs;
	unsigned char	*script;	/* decoded from base64 */
	size_t		 slen;
	int64_t		 wait;		/* ns */
};
/* rexec_init - follow gossipd's "_rexec" events and run the jobs */
void		 rexec_init(const struct config *);
/* rexec_stop - kill every job's command; before sync_stop() */
void		 rexec_stop(void);
/*
 * rexec_event_decode - the event's payload {"Prefix":..,"Session":..}
 * (copies; the session must not be empty); -1 with err
 */
int		 rexec_event_decode(const void *, size_t, char **prefix,
		    char **session, char *err, size_t errlen);
/*
 * rexec_spec_decode - {"Command","Args","Script" (base64),"Wait" (ns)},
 * each optional, as json.Unmarshal would take them; -1 with err
 */
int		 rexec_spec_decode(const void *, size_t, struct rexec_spec *,
		    char *err, size_t errlen);
void		 rexec_spec_free(struct rexec_spec *);
/*
 * rexec_chunk_feed - append data to pending, handing emit every full
 * REXEC_CHUNK bytes (the rest stays pending); how many were emitted
 */
size_t		 rexec_chunk_feed(struct buf *pending, const void *data,
		    size_t n, void (*emit)(void *arg, const void *chunk,
		    size_t len), void *arg);
/* rexec_exit_code - a wait status as Go's ExitStatus: -1 if signalled */
int		 rexec_exit_code(int wstatus);

/* state.c */
void		 state_init(const char *data_dir);
void		 state_save(const struct check *);
/* state_load - restore a TTL check's unexpired state; 1 if restored */
int		 state_load(struct check *);
void		 state_remove(const char *check_id);

#endif
