/*
 * agent.c - the agent API's registrations (agent/agent_endpoint.go):
 * services and checks registered and deregistered, node and service
 * maintenance, and reload.
 *
 * A change is made to the held definitions (local.c), then the whole
 * set is loaded again exactly as at start (the config's, then the
 * API's): if that fails the change is undone and the reason returned
 * (400); if it works the set is applied (unchanged checks keep their
 * state) and the change written to data_dir. So an API definition is
 * read by the same code, with the same rules and messages, as a file.
 *
 * Maintenance is Consul's: a critical check "_node_maintenance" or
 * "_service_maintenance:<id>" whose notes carry the reason, kept like
 * any API check, so it survives restarts. Here it is a TTL check that
 * never expires (Consul's has no type).
 *
 * Leaves out: deregistering a service or check that a config file
 * defines (400: edit the file and reload), ACL tokens, and reloading the
 * other daemons (SIGHUP to the agent does that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "daemon.h"
#include "json.h"
#include "jv.h"
#include "log.h"
#include "msg.h"

#define MAX_CHANGES	64	/* a service and the checks it takes along */

#define NODE_MAINT_ID	"_node_maintenance"
#define SVC_MAINT_PREFIX "_service_maintenance:"
#define NODE_MAINT_NOTE	"Maintenance mode is enabled for this node, but no " \
	"reason was provided. This is a default message."
#define SVC_MAINT_NOTE	"Maintenance mode is enabled for this service, but " \
	"no reason was provided. This is a default message."
#define NO_SCRIPTS	"Scripts are disabled on this agent; to enable, " \
	"configure 'enable_script_checks' to true"

struct change {
	struct local_old	 old[MAX_CHANGES];
	size_t			 n;
};

/* change_try - load the set as changed: apply and save it, or undo it */
static int
change_try(struct change *ch, const struct config *cfg, char *err,
    size_t errlen)
{
	struct checks_defs defs;
	size_t i;

	if (checkd_load(&defs, cfg, err, errlen) < 0) {
		for (i = ch->n; i > 0; i--)
			local_undo(&ch->old[i - 1]);
		return -1;
	}
	checkd_apply(&defs);
	for (i = 0; i < ch->n; i++) {
		local_save(ch->old[i].kind, ch->old[i].id);
		local_forget(&ch->old[i]);
	}
	return 0;
}

/* has_script - a check definition (or a service's) that runs a script */
static int
has_script(const struct jv *def)
{
	const struct jv *v, *many;
	size_t i;

	if (jv_get(def, "args") != NULL || jv_get(def, "script_args") != NULL ||
	    jv_get(def, "script") != NULL)
		return 1;
	if ((v = jv_get(def, "check")) != NULL && v->type == JV_OBJ &&
	    has_script(v))
		return 1;
	if ((many = jv_get(def, "checks")) != NULL && many->type == JV_ARR)
		for (i = 0; i < many->n; i++)
			if (many->items[i]->type == JV_OBJ &&
			    has_script(many->items[i]))
				return 1;
	return 0;
}

/* drop_checks_of - also drop the API checks of service id */
static void
drop_checks_of(struct change *ch, const char *id)
{
	const struct jv *def;
	const char *sid, *cid;
	size_t i = 0;

	while ((cid = local_id_at(LOCAL_CHECK, i)) != NULL &&
	    ch->n < MAX_CHANGES) {
		def = local_def_at(LOCAL_CHECK, i);
		if ((sid = jv_str(def, "service_id")) != NULL &&
		    strcmp(sid, id) == 0) {
			char *keep = xstrdup(cid);

			local_drop(LOCAL_CHECK, keep, &ch->old[ch->n++]);
			free(keep);
			continue;	/* the next one moved into slot i */
		}
		i++;
	}
}

/* reply - done, or the reason with status */
static void
reply(struct sconn *sc, const struct frame *f, int rc, int status,
    const char *err)
{
	if (rc == 0)
		conn_reply(&sc->conn, f, NULL, 0);
	else
		conn_reply_error(&sc->conn, f, status, "%s", err);
}

/* register_def - a definition of kind sent through the API */
static void
register_def(struct sconn *sc, const struct frame *f, int kind)
{
	struct attr tab[ATTR_TAB];
	struct change ch = { .n = 0 };
	struct config cfg;
	char err[1024];
	const char *id;
	struct jv *def;
	uint64_t replace = 0;
	int rc = -1;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_DATA])) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Request decode "
		    "failed: EOF");
		return;
	}
	attr_u64(&tab[A_FLAGS], &replace);
	if ((def = local_parse(kind, tab[A_DATA].val, tab[A_DATA].len, &id,
	    err, sizeof(err))) == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "%s", err);
		return;
	}
	if (daemon_config(&cfg, err, sizeof(err)) < 0) {
		jv_free(def);
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "the agent's "
		    "config no longer loads, fix it first: %s", err);
		return;
	}
	if (!cfg.enable_script_checks && has_script(def)) {
		snprintf(err, sizeof(err), "%s", NO_SCRIPTS);
		jv_free(def);
	} else {
		char *key = xstrdup(id);	/* id lives in def */

		local_put(kind, key, def, (const char *)tab[A_DATA].val,
		    tab[A_DATA].len, &ch.old[ch.n++]);
		if (kind == LOCAL_SERVICE && replace)
			drop_checks_of(&ch, key);
		if ((rc = change_try(&ch, &cfg, err, sizeof(err))) == 0)
			log_info("%s \"%.100s\" registered through the API",
			    kind == LOCAL_SERVICE ? "service" : "check", key);
		free(key);
	}
	config_free(&cfg);
	reply(sc, f, rc, MSG_E_BADREQ, err);
}

void
agent_handle_service_register(struct sconn *sc, const struct frame *f)
{
	register_def(sc, f, LOCAL_SERVICE);
}

void
agent_handle_check_register(struct sconn *sc, const struct frame *f)
{
	register_def(sc, f, LOCAL_CHECK);
}

/*
 * deregister - an API registration of kind goes (a service with its
 * API checks); 404 for an ID nobody defines, 400 for a config file's
 */
static void
deregister(struct sconn *sc, const struct frame *f, int kind, uint16_t type)
{
	struct attr tab[ATTR_TAB];
	struct change ch = { .n = 0 };
	struct checks_defs view = { D.svcs, D.nsvcs, NULL, 0 };
	struct config cfg;
	char err[1024], *id;
	int known, rc;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    (id = attr_strdup(&tab[type])) == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing ID");
		return;
	}
	known = kind == LOCAL_SERVICE ? checks_find_svc(&view, id) != NULL :
	    checkd_find(id) != NULL;
	if (!local_has(kind, id)) {
		if (!known)
			conn_reply_error(&sc->conn, f, MSG_E_NOTFOUND, "Unknown "
			    "%s ID \"%.200s\". Ensure that the %s ID is passed, "
			    "not the %s name.", kind == LOCAL_SERVICE ?
			    "service" : "check", id, kind == LOCAL_SERVICE ?
			    "service" : "check", kind == LOCAL_SERVICE ?
			    "service" : "check");
		else
			conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "%s "
			    "\"%.200s\" is defined in a config file: remove it "
			    "there and reload", kind == LOCAL_SERVICE ?
			    "service" : "check", id);
		free(id);
		return;
	}
	if (daemon_config(&cfg, err, sizeof(err)) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "the agent's "
		    "config no longer loads, fix it first: %s", err);
		free(id);
		return;
	}
	local_drop(kind, id, &ch.old[ch.n++]);
	if (kind == LOCAL_SERVICE)
		drop_checks_of(&ch, id);
	if ((rc = change_try(&ch, &cfg, err, sizeof(err))) == 0)
		log_info("%s \"%.100s\" deregistered through the API",
		    kind == LOCAL_SERVICE ? "service" : "check", id);
	config_free(&cfg);
	reply(sc, f, rc, MSG_E_BADREQ, err);
	free(id);
}

void
agent_handle_service_deregister(struct sconn *sc, const struct frame *f)
{
	deregister(sc, f, LOCAL_SERVICE, A_SERVICE_ID);
}

void
agent_handle_check_deregister(struct sconn *sc, const struct frame *f)
{
	deregister(sc, f, LOCAL_CHECK, A_CHECK_ID);
}

/* maint_def - the maintenance check's definition, as JSON text */
static void
maint_def(struct buf *b, const char *id, const char *svc, const char *why)
{
	struct json j;

	json_init(&j, b, 0);
	json_obj_open(&j);
	json_key(&j, "ID");
	json_str(&j, id);
	json_key(&j, "Name");
	json_str(&j, svc != NULL ? "Service Maintenance Mode" :
	    "Node Maintenance Mode");
	json_key(&j, "Notes");
	json_str(&j, why != NULL && *why != '\0' ? why : svc != NULL ?
	    SVC_MAINT_NOTE : NODE_MAINT_NOTE);
	if (svc != NULL) {
		json_key(&j, "ServiceID");
		json_str(&j, svc);
	}
	json_key(&j, "TTL");
	json_str(&j, "87600h");		/* never: see the file's comment */
	json_key(&j, "Status");
	json_str(&j, "critical");
	json_obj_close(&j);
}

/* agent_handle_maint - node or service maintenance on or off */
void
agent_handle_maint(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct checks_defs view = { D.svcs, D.nsvcs, NULL, 0 };
	struct change ch = { .n = 0 };
	char err[1024], id[512], *svc = NULL, *why = NULL;
	const char *pid;
	uint64_t on = 0;
	struct config cfg;
	struct jv *def;
	struct buf b;
	int rc = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_RESULT], &on) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "Missing value "
		    "for enable");
		return;
	}
	svc = attr_strdup(&tab[A_SERVICE_ID]);
	why = attr_strdup(&tab[A_NOTES]);
	if (svc != NULL && checks_find_svc(&view, svc) == NULL) {
		conn_reply_error(&sc->conn, f, MSG_E_NOTFOUND, "Unknown "
		    "service ID \"%.200s\"", svc);
		goto out;
	}
	snprintf(id, sizeof(id), "%s%s", svc != NULL ? SVC_MAINT_PREFIX :
	    NODE_MAINT_ID, svc != NULL ? svc : "");
	if (!on && !local_has(LOCAL_CHECK, id)) {
		conn_reply(&sc->conn, f, NULL, 0);	/* already off */
		goto out;
	}
	if (daemon_config(&cfg, err, sizeof(err)) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "the agent's "
		    "config no longer loads, fix it first: %s", err);
		goto out;
	}
	if (on) {
		buf_init(&b);
		maint_def(&b, id, svc, why);
		def = local_parse(LOCAL_CHECK, buf_head(&b), buf_used(&b), &pid,
		    err, sizeof(err));
		if (def == NULL)
			log_panic("maintenance check does not parse: %s", err);
		local_put(LOCAL_CHECK, id, def, (const char *)buf_head(&b),
		    buf_used(&b), &ch.old[ch.n++]);
		buf_free(&b);
	} else
		local_drop(LOCAL_CHECK, id, &ch.old[ch.n++]);
	if ((rc = change_try(&ch, &cfg, err, sizeof(err))) == 0)
		log_info("%s maintenance %s%s%s", svc != NULL ? "service" :
		    "node", on ? "enabled" : "disabled", svc != NULL ? " for " :
		    "", svc != NULL ? svc : "");
	config_free(&cfg);
	reply(sc, f, rc, MSG_E_INTERNAL, err);
out:
	free(svc);
	free(why);
}

/*
 * agent_reap - a service whose check has been critical for longer than
 * its deregister_critical_service_after is deregistered, as Consul's
 * reapServices does. One a turn: each deregistration reloads the set.
 */
void
agent_reap(void)
{
	struct change ch = { .n = 0 };
	const struct check *c;
	struct config cfg;
	char err[1024], *sid;
	static char warned[256];
	size_t i;

	for (i = 0; i < D.nchecks; i++) {
		c = D.checks[i];
		if (c->def.dereg_after <= 0 || c->critical_since == 0 ||
		    c->def.service_id[0] == '\0' ||
		    ev_now(D.loop) - c->critical_since <
		    (double)c->def.dereg_after / 1e9)
			continue;
		if (!local_has(LOCAL_SERVICE, c->def.service_id)) {
			if (strcmp(warned, c->def.service_id) != 0)
				log_warn("check \"%.100s\" is past its "
				    "deregister_critical_service_after, but "
				    "service \"%.100s\" is defined in a config "
				    "file: remove it there", c->def.id,
				    c->def.service_id);
			snprintf(warned, sizeof(warned), "%s",
			    c->def.service_id);
			continue;
		}
		if (daemon_config(&cfg, err, sizeof(err)) < 0)
			return;
		sid = xstrdup(c->def.service_id);
		log_info("check \"%.100s\" has been critical for more than "
		    "its deregister_critical_service_after; deregistering "
		    "service \"%.100s\"", c->def.id, sid);
		local_drop(LOCAL_SERVICE, sid, &ch.old[ch.n++]);
		drop_checks_of(&ch, sid);
		if (change_try(&ch, &cfg, err, sizeof(err)) < 0)
			log_error("deregistering service \"%.100s\": %s", sid,
			    err);
		config_free(&cfg);
		free(sid);
		return;
	}
}

/* agent_handle_reload - /v1/agent/reload: as SIGHUP to checkd */
void
agent_handle_reload(struct sconn *sc, const struct frame *f)
{
	struct config cfg;
	char err[1024];

	if (daemon_config(&cfg, err, sizeof(err)) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "Failed "
		    "reloading the configuration: %s", err);
		return;
	}
	checkd_reload(&cfg);
	config_free(&cfg);
	conn_reply(&sc->conn, f, NULL, 0);
}
