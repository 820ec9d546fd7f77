/*
 * cairn-checkd - this node's own services and checks.
 *
 * Reads the service and check definitions from the config (checks.c),
 * runs the checks (run.c), keeps the catalog in step through raftd
 * (sync.c; on a client agent, a server's), and answers on
 * run_dir/checkd.sock: TTL updates from the agent API, and the agent's
 * view of its services and checks. SIGHUP re-reads the definitions:
 * checks whose definition did not change keep their state, removed ones
 * stop and are deregistered.
 *
 * Services and checks registered through the agent API, and maintenance,
 * are agent.c's and local.c's: kept in data_dir and loaded after the
 * config's.
 * With "disable_remote_exec": false, rexec.c runs the jobs of `cairn
 * exec` too.
 *
 * Leaves out (later issues): UDP, gRPC and alias checks.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkd.h"
#include "daemon.h"
#include "log.h"
#include "msg.h"

/* node_meta_set - take node_meta from cfg (it may change on reload) */
static void
node_meta_set(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < D.node.nmeta; i++) {
		free(D.node.meta_keys[i]);
		free(D.node.meta_values[i]);
	}
	free(D.node.meta_keys);
	free(D.node.meta_values);
	D.node.meta_keys = D.node.meta_values = NULL;
	D.node.nmeta = cfg->nmeta;
	if (cfg->nmeta == 0)
		return;
	if ((D.node.meta_keys = calloc(cfg->nmeta, sizeof(char *))) == NULL ||
	    (D.node.meta_values = calloc(cfg->nmeta, sizeof(char *))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < cfg->nmeta; i++) {
		D.node.meta_keys[i] = xstrdup(cfg->meta_keys[i]);
		D.node.meta_values[i] = xstrdup(cfg->meta_values[i]);
	}
}

/* svc_gone - old service id has no definition in defs */
static int
svc_gone(const struct checks_defs *defs, const char *id)
{
	return checks_find_svc(defs, id) == NULL;
}

/*
 * checkd_apply - make defs the running set (defs is emptied). A check
 * whose definition is unchanged keeps its state and schedule; a changed
 * one starts afresh; services and checks that are gone are stopped and
 * deregistered.
 */
void
checkd_apply(struct checks_defs *defs)
{
	struct checks_defs olddefs = { NULL, 0, NULL, 0 };
	struct check **checks, *old;
	size_t i, j;

	if ((checks = calloc(defs->nchecks + 1, sizeof(*checks))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < defs->nchecks; i++) {
		old = NULL;
		for (j = 0; j < D.nchecks; j++)
			if (D.checks[j] != NULL &&
			    strcmp(D.checks[j]->def.id, defs->checks[i].id) ==
			    0) {
				old = D.checks[j];
				D.checks[j] = NULL;
				break;
			}
		if (old != NULL && checks_def_equal(&old->def,
		    &defs->checks[i])) {
			checks[i] = old;
			checks_def_free(&defs->checks[i]);
			continue;
		}
		if (old != NULL) {
			log_info("check \"%.100s\" changed; starting it afresh",
			    old->def.id);
			state_remove(old->def.id);
			run_free(old);
		}
		checks[i] = run_new(&defs->checks[i]);
	}
	/* Services that are gone, with their checks (kvd drops them too). */
	for (i = 0; i < D.nsvcs; i++)
		if (svc_gone(defs, D.svcs[i].id))
			sync_deregister(D.svcs[i].id, NULL);
	for (j = 0; j < D.nchecks; j++) {
		if ((old = D.checks[j]) == NULL)
			continue;
		if (old->def.service_id[0] == '\0' ||
		    !svc_gone(defs, old->def.service_id))
			sync_deregister(NULL, old->def.id);
		state_remove(old->def.id);
		run_free(old);
	}
	free(D.checks);
	olddefs.svcs = D.svcs;
	olddefs.nsvcs = D.nsvcs;
	checks_free(&olddefs);
	D.svcs = defs->svcs;
	D.nsvcs = defs->nsvcs;
	D.checks = checks;
	D.nchecks = defs->nchecks;
	free(defs->checks);
	memset(defs, 0, sizeof(*defs));
	for (i = 0; i < D.nchecks; i++)
		run_start(D.checks[i]);
	sync_soon();
}

static ev_timer reap_timer;

static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	agent_reap();
}

/* cat_roots - a followed by b, in a new array (the caller frees it) */
static struct jv **
cat_roots(struct jv **a, size_t na, struct jv **b, size_t nb)
{
	struct jv **v;

	if ((v = calloc(na + nb + 1, sizeof(*v))) == NULL)
		log_fatal("out of memory");
	if (na > 0)
		memcpy(v, a, na * sizeof(*v));
	if (nb > 0)
		memcpy(v + na, b, nb * sizeof(*v));
	return v;
}

/* checkd_load - see checkd.h */
int
checkd_load(struct checks_defs *defs, const struct config *cfg, char *err,
    size_t errlen)
{
	struct config all = *cfg;
	struct jv **ls, **lc;
	size_t nls, nlc;
	int rc;

	ls = local_roots(LOCAL_SERVICE, &nls);
	lc = local_roots(LOCAL_CHECK, &nlc);
	all.services = cat_roots(cfg->services, cfg->nservices, ls, nls);
	all.nservices = cfg->nservices + nls;
	all.checks = cat_roots(cfg->checks, cfg->nchecks, lc, nlc);
	all.nchecks = cfg->nchecks + nlc;
	rc = checks_load(defs, &all, err, errlen);
	free(all.services);
	free(all.checks);
	return rc;
}

/* checkd_handle_update - a TTL check's new status (pass/warn/fail/update) */
static void
checkd_handle_update(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char *id = NULL, *status = NULL, *output = NULL;
	const char *st;
	struct check *c;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    (id = attr_strdup(&tab[A_CHECK_ID])) == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "CHECK_UPDATE needs a check ID");
		return;
	}
	status = attr_strdup(&tab[A_STATUS]);
	output = attr_strdup(&tab[A_OUTPUT]);
	/* In the order of Consul's AgentCheckUpdate and updateTTLCheck. */
	if ((st = checks_status(status)) == NULL)
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "Invalid check status: '%.100s'", status ? status : "");
	else if ((c = checkd_find(id)) == NULL)
		conn_reply_error(&sc->conn, f, MSG_E_NOTFOUND,
		    "Unknown check ID \"%.200s\". Ensure that the check ID is "
		    "passed, not the check name.", id);
	else if (c->def.kind != CHECKS_TTL)
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
		    "CheckID \"%.200s\" does not have associated TTL", id);
	else {
		run_ttl_update(c, st, output != NULL ? output : "");
		conn_reply(&sc->conn, f, NULL, 0);
	}
	free(id);
	free(status);
	free(output);
}

/* checkd_handle_services - the services this node defines */
static void
checkd_handle_services(struct sconn *sc, const struct frame *f)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < D.nsvcs; i++)
		checks_svc_rec(&b, D.node.node, &D.svcs[i]);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* checkd_handle_checks - every check with its current status */
static void
checkd_handle_checks(struct sconn *sc, const struct frame *f)
{
	const struct check *c;
	const struct svc_def *svc;
	struct checks_defs view = { D.svcs, D.nsvcs, NULL, 0 };
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < D.nchecks; i++) {
		c = D.checks[i];
		svc = c->def.service_id[0] != '\0' ?
		    checks_find_svc(&view, c->def.service_id) : NULL;
		checks_check_rec_tags(&b, D.node.node, &c->def, c->status,
		    c->output, svc);
	}
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

static const struct handler checkd_handlers[] = {
	{ MSG_CHECK_UPDATE, "check.update", checkd_handle_update },
	{ MSG_AGENT_SERVICES, "agent.services", checkd_handle_services },
	{ MSG_AGENT_CHECKS, "agent.checks", checkd_handle_checks },
	{ MSG_AGENT_SERVICE_REGISTER, "agent.service.register",
	    agent_handle_service_register },
	{ MSG_AGENT_SERVICE_DEREGISTER, "agent.service.deregister",
	    agent_handle_service_deregister },
	{ MSG_AGENT_CHECK_REGISTER, "agent.check.register",
	    agent_handle_check_register },
	{ MSG_AGENT_CHECK_DEREGISTER, "agent.check.deregister",
	    agent_handle_check_deregister },
	{ MSG_AGENT_MAINT, "agent.maint", agent_handle_maint },
	{ MSG_AGENT_RELOAD, "agent.reload", agent_handle_reload },
	{ 0, NULL, NULL }
};

static int
checkd_init(struct ev_loop *loop, struct config *cfg, char *err,
    size_t errlen)
{
	char sock[4200];
	struct checks_defs defs;

	D.loop = loop;
	srand48((long)time(NULL) ^ (long)getpid());
	local_init(cfg->data_dir);
	if (checkd_load(&defs, cfg, err, errlen) < 0)
		return -1;
	D.node.node = xstrdup(cfg->node_name);
	D.node.node_id = xstrdup(cfg->node_id);
	D.node.address = xstrdup(cfg->advertise_addr);
	D.node.dc = xstrdup(cfg->datacenter);
	node_meta_set(cfg);
	D.server = cfg->server;
	D.port_server = cfg->port_server;
	state_init(cfg->data_dir);
	daemon_sock_path(cfg, "checkd", sock, sizeof(sock));
	if (server_listen_unix(&D.srv, loop, sock, "checkd", checkd_handlers,
	    err, errlen) < 0) {
		checks_free(&defs);
		return -1;
	}
	sync_init(cfg);
	if (!cfg->disable_remote_exec)
		rexec_init(cfg);
	checkd_apply(&defs);
	ev_timer_init(&reap_timer, reap_cb, 1.0, 1.0);
	ev_timer_start(loop, &reap_timer);
	log_info("node %s: %zu services, %zu checks; listening on %s",
	    D.node.node, D.nsvcs, D.nchecks, sock);
	return 0;
}

void
checkd_reload(struct config *cfg)
{
	struct checks_defs defs;
	char err[1024];

	if (checkd_load(&defs, cfg, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the current definitions", err);
		return;
	}
	if (strcmp(cfg->node_name, D.node.node) != 0)
		log_warn("reload: node_name cannot change while running "
		    "(still %s); restart the agent to rename the node",
		    D.node.node);
	node_meta_set(cfg);
	checkd_apply(&defs);
	log_info("reloaded: %zu services, %zu checks", D.nsvcs, D.nchecks);
}

static void
checkd_stop(void)
{
	struct checks_defs olddefs = { D.svcs, D.nsvcs, NULL, 0 };
	size_t i;

	server_stop(&D.srv);
	ev_timer_stop(D.loop, &reap_timer);
	/* First: a job's call out is answered (failed) by sync_stop. */
	rexec_stop();
	sync_stop();
	local_stop();
	for (i = 0; i < D.nchecks; i++)
		run_free(D.checks[i]);
	/* After the runs: each HTTP one held a handle in curl's multi. */
	check_http_shutdown();
	free(D.checks);
	checks_free(&olddefs);
	free((char *)D.node.node);
	free((char *)D.node.node_id);
	free((char *)D.node.address);
	free((char *)D.node.dc);
	for (i = 0; i < D.node.nmeta; i++) {
		free(D.node.meta_keys[i]);
		free(D.node.meta_values[i]);
	}
	free(D.node.meta_keys);
	free(D.node.meta_values);
	memset(&D, 0, sizeof(D));
}

static const struct daemon_spec checkd_spec = {
	.name = "checkd",
	.summary = "cairn-checkd: this node's services and health checks.",
	.help =
"Reads service and check definitions from the config, runs script, HTTP\n"
"and TCP checks on their interval and expires TTL checks, and keeps the\n"
"catalog in step through cairn-raftd, or on a client agent through a\n"
"server's RPC port (a full anti-entropy pass every 60s, and every status\n"
"change at once).\n"
"Answers TTL updates, registrations and maintenance through the agent API\n"
"(kept in data_dir/services and data_dir/checks), and the agent's view of\n"
"its services and checks, on run_dir/checkd.sock. SIGHUP reloads the\n"
"definitions; unchanged checks keep their state.\n",
	.init = checkd_init,
	.stop = checkd_stop,
	.reload = checkd_reload,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &checkd_spec);
}
