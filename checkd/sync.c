/*
 * sync.c - keeping the catalog in step with this node's own view, as
 * Consul's local state anti-entropy does (agent/local/state.go).
 *
 * Writes go through raftd (MSG_RAFT_APPLY): one OP_CAT_REGISTER for the
 * node with its node checks, one per service with its checks, and on a
 * server the "consul" service. Every register carries each check's
 * current status and output, so it never resets a check; kvd ignores a
 * register that changes nothing, so a full pass is cheap. A status change
 * is written at once as OP_CHECK_STATUS.
 *
 * A full pass runs every 60 s (Consul's ae_interval, which may set it:
 * a bad value is warned about and the default kept), just after each
 * (re)connection to raftd
 * or kvd, and 5 s after a write failed. It also reads this node's
 * services from kvd (MSG_CAT_NODE) and their checks (MSG_HEALTH_SERVICE,
 * which lists node checks with each instance) and deregisters what is no
 * longer defined, except the "consul" service and serfHealth, which the
 * servers own. While raftd or kvd is away the checks keep running; the
 * pass on reconnect catches up.
 *
 * On a client agent raftd and kvd are one connection to a server's RPC
 * port (common/servers): the server forwards writes to the leader, and
 * the reads go wrapped in MSG_RAFT_READ, stale, to that server's kvd.
 * Stale is enough: a pass only removes what this node no longer defines,
 * which is right however old the view is.
 *
 * Leaves out: Consul's deferred output-only sync (check_update_interval;
 * here output reaches the catalog with the next pass), and stale node
 * checks on a node with no services at all (kvd has no node-checks read).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "daemon.h"
#include "duration.h"
#include "jv.h"
#include "log.h"
#include "msg.h"

#define SYNC_INTERVAL	60.0	/* seconds between full passes */
#define SYNC_RETRY	5.0	/* after a failed write */
#define SYNC_SOON	0.2	/* one pass for raftd and kvd coming up */
#define SYNC_TIMEOUT	10.0	/* a write or read may take this long */
#define SERF_CHECK	"serfHealth"
#define CONSUL_SERVICE	"consul"

static struct {
	ev_timer	 pass;		/* the periodic full pass */
	ev_timer	 soon;		/* a coalesced full pass */
	ev_timer	 retry;		/* a full pass after a failure */
	int		 failing;	/* writes fail: a daemon is away */
	int		 stopping;
	unsigned	 gen;		/* pass number */
	char		**seen;	/* "kind:id" handled in this pass */
	size_t		 nseen;
} S;

/* One write in flight: what it was, for the log line of its failure. */
struct wr {
	int	 status_write;	/* OP_CHECK_STATUS */
	char	 what[240];
};

/* One catalog read in flight. */
struct rd {
	unsigned gen;
};

static void	sync_full(void);

/* seen_has - kind:id was handled in this pass */
static int
seen_has(const char *kind, const char *id, size_t idlen)
{
	size_t i, klen = strlen(kind);

	for (i = 0; i < S.nseen; i++)
		if (strncmp(S.seen[i], kind, klen) == 0 &&
		    S.seen[i][klen] == ':' &&
		    strlen(S.seen[i] + klen + 1) == idlen &&
		    memcmp(S.seen[i] + klen + 1, id, idlen) == 0)
			return 1;
	return 0;
}

/* seen - 1 if kind:id was handled in this pass; else remember it */
static int
seen(const char *kind, const char *id)
{
	char *key;

	if (seen_has(kind, id, strlen(id)))
		return 1;
	if ((S.seen = realloc(S.seen, (S.nseen + 1) * sizeof(*S.seen))) ==
	    NULL || asprintf(&key, "%s:%s", kind, id) < 0)
		log_fatal("out of memory");
	S.seen[S.nseen++] = key;
	return 0;
}

/* seen_reset - a new pass */
static void
seen_reset(void)
{
	while (S.nseen > 0)
		free(S.seen[--S.nseen]);
	free(S.seen);
	S.seen = NULL;
}

/* retry_later - a full pass after SYNC_RETRY, unless one is due */
static void
retry_later(void)
{
	/* A fired one-shot timer must be set again, or it fires at once. */
	if (!S.stopping && !ev_is_active(&S.retry)) {
		ev_timer_set(&S.retry, SYNC_RETRY, 0.0);
		ev_timer_start(D.loop, &S.retry);
	}
}

/* write_failed - log once per outage for transient errors, else each */
static void
write_failed(struct wr *w, const char *msg, int transient)
{
	if (transient) {
		if (!S.failing)
			log_warn("cannot write %s to the catalog (retrying "
			    "every %.0fs): %s", w->what, SYNC_RETRY, msg);
		else
			log_debug("cannot write %s: %s", w->what, msg);
		S.failing = 1;
		retry_later();
		return;
	}
	log_warn("the catalog refused %s: %s", w->what, msg);
	/* A status for a check kvd does not have: register it again. */
	if (w->status_write)
		retry_later();
}

/* write_done - raftd's answer, with kvd's result */
static void
write_done(void *arg, const struct frame *f, const char *err)
{
	struct wr *w = arg;
	struct attr tab[ATTR_TAB];
	char msg[512];
	uint32_t st;

	if (S.stopping) {
		free(w);
		return;
	}
	if (f == NULL)
		write_failed(w, err, 1);
	else if (f->flags & FRAME_ERROR)
		write_failed(w, frame_error_text(f, msg, sizeof(msg)),
		    f->status == MSG_E_UNAVAIL || f->status == MSG_E_TIMEOUT ||
		    f->status == MSG_E_INTERNAL);
	else if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0)
		write_failed(w, "malformed reply", 0);
	else if (attr_u32(&tab[A_STATUS], &st) == 0) {
		if (attr_strcpy(&tab[A_MSG], msg, sizeof(msg)) < 0)
			snprintf(msg, sizeof(msg), "status %u", st);
		write_failed(w, msg, 0);
	} else if (S.failing) {
		log_info("catalog writes go through again");
		S.failing = 0;
	}
	free(w);
}

/* sync_write - send one command to raftd; what names it in log lines */
static void __attribute__((format(printf, 3, 4)))
sync_write(struct buf *cmd, int status_write, const char *fmt, ...)
{
	struct wr *w;
	char err[256];
	va_list ap;

	if (!rpc_is_up(D.raftd))
		return;		/* the pass on reconnect writes it */
	if ((w = calloc(1, sizeof(*w))) == NULL)
		log_fatal("out of memory");
	w->status_write = status_write;
	va_start(ap, fmt);
	vsnprintf(w->what, sizeof(w->what), fmt, ap);
	va_end(ap);
	if (servers_call(D.raftd, MSG_RAFT_APPLY, buf_head(cmd),
	    buf_used(cmd), SYNC_TIMEOUT, write_done, w, err,
	    sizeof(err)) < 0) {
		write_failed(w, err, 1);
		free(w);
	}
}

/* consul_svc - the service every server carries (Consul's leader.go) */
static void
consul_svc(struct svc_def *s)
{
	memset(s, 0, sizeof(*s));
	s->id = CONSUL_SERVICE;
	s->name = CONSUL_SERVICE;
	s->address = "";
	s->port = D.port_server;
}

/* register_svc - the node, svc (NULL: node checks only) and its checks */
static void
register_svc(const struct svc_def *svc)
{
	const char *sid = svc != NULL ? svc->id : "";
	struct buf b;
	size_t i;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CAT_REGISTER);
	checks_node_rec(&b, &D.node);
	if (svc != NULL)
		checks_svc_rec(&b, D.node.node, svc);
	for (i = 0; i < D.nchecks; i++)
		if (strcmp(D.checks[i]->def.service_id, sid) == 0)
			checks_check_rec(&b, D.node.node, &D.checks[i]->def,
			    D.checks[i]->status, D.checks[i]->output);
	if (svc != NULL)
		sync_write(&b, 0, "service \"%.100s\"", svc->id);
	else
		sync_write(&b, 0, "node \"%.100s\"", D.node.node);
	buf_free(&b);
}

void
sync_deregister(const char *service_id, const char *check_id)
{
	struct buf b;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CAT_DEREGISTER);
	attr_put_str(&b, A_NODE, D.node.node);
	if (service_id != NULL) {
		log_info("deregistering service \"%.100s\"", service_id);
		attr_put_str(&b, A_SERVICE_ID, service_id);
		sync_write(&b, 0, "the deregistration of service \"%.100s\"",
		    service_id);
	} else {
		log_info("deregistering check \"%.100s\"", check_id);
		attr_put_str(&b, A_CHECK_ID, check_id);
		sync_write(&b, 0, "the deregistration of check \"%.100s\"",
		    check_id);
	}
	buf_free(&b);
}

void
sync_status(const struct check *c)
{
	struct buf b;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CHECK_STATUS);
	attr_put_str(&b, A_NODE, D.node.node);
	attr_put_str(&b, A_CHECK_ID, c->def.id);
	attr_put_str(&b, A_STATUS, c->status);
	attr_put_str(&b, A_OUTPUT, c->output);
	sync_write(&b, 1, "the status of check \"%.100s\"", c->def.id);
	buf_free(&b);
}

/* defined_svc - a service ID this node defines (or owns: consul) */
static int
defined_svc(const struct attr *id)
{
	size_t i;

	if (id->len == strlen(CONSUL_SERVICE) &&
	    memcmp(id->val, CONSUL_SERVICE, id->len) == 0)
		return 1;	/* managed by the servers; never removed */
	for (i = 0; i < D.nsvcs; i++)
		if (strlen(D.svcs[i].id) == id->len &&
		    memcmp(D.svcs[i].id, id->val, id->len) == 0)
			return 1;
	return 0;
}

/* defined_check - a check ID this node defines, or serfHealth */
static int
defined_check(const char *id)
{
	return strcmp(id, SERF_CHECK) == 0 || checkd_find(id) != NULL;
}

/* read_failed - a catalog read failed: the next pass tries again */
static int
read_failed(const char *what, const struct frame *f, const char *err)
{
	char msg[512];

	if (f == NULL)
		log_debug("reading %s from kvd: %s", what, err);
	else if (f->flags & FRAME_ERROR)
		log_warn("reading %s from kvd: %s", what,
		    frame_error_text(f, msg, sizeof(msg)));
	else
		return 0;
	return 1;
}

/* health_done - remove checks on this node that are no longer defined */
static void
health_done(void *arg, const struct frame *f, const char *err)
{
	struct rd *r = arg;
	struct attr tab[ATTR_TAB], nt[ATTR_TAB], ct[ATTR_TAB], a;
	struct attr_iter it, eit;
	char id[512];

	if (S.stopping || r->gen != S.gen ||
	    read_failed("this node's checks", f, err)) {
		free(r);
		return;
	}
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0 ||
		    attr_index(tab[A_NODE_REC].val, tab[A_NODE_REC].len, nt,
		    ATTR_TAB) < 0 ||
		    nt[A_NODE].len != strlen(D.node.node) ||
		    memcmp(nt[A_NODE].val, D.node.node, nt[A_NODE].len) != 0)
			continue;
		attr_iter_init(&eit, a.val, a.len);
		while (attr_next(&eit, &a) == 1) {
			/* A removed service's checks went with it. */
			if (a.type != A_CHECK_REC ||
			    attr_index(a.val, a.len, ct, ATTR_TAB) < 0 ||
			    attr_strcpy(&ct[A_CHECK_ID], id, sizeof(id)) < 0 ||
			    defined_check(id) || (ct[A_SERVICE_ID].len > 0 &&
			    seen_has("service", (const char *)
			    ct[A_SERVICE_ID].val, ct[A_SERVICE_ID].len)) ||
			    seen("check", id))
				continue;
			sync_deregister(NULL, id);
		}
	}
	free(r);
}

/* read_health - ask for the instances of one service, with checks */
static void
read_health(const char *name, size_t len)
{
	struct rd *r;
	struct buf b;
	char err[256];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		log_fatal("out of memory");
	r->gen = S.gen;
	buf_init(&b);
	attr_put(&b, A_SERVICE_NAME, name, len);
	if (servers_read(D.kvd, D.kvd_mode, MSG_HEALTH_SERVICE, buf_head(&b),
	    buf_used(&b), SYNC_TIMEOUT, health_done, r, err,
	    sizeof(err)) < 0)
		free(r);
	buf_free(&b);
}

/* node_done - remove services no longer defined; then look at checks */
static void
node_done(void *arg, const struct frame *f, const char *err)
{
	struct rd *r = arg;
	struct attr st[ATTR_TAB], a;
	struct attr_iter it;
	char id[512];

	if (S.stopping || r->gen != S.gen ||
	    read_failed("this node's services", f, err)) {
		free(r);
		return;
	}
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_SERVICE_REC ||
		    attr_index(a.val, a.len, st, ATTR_TAB) < 0)
			continue;
		if (!defined_svc(&st[A_SERVICE_ID])) {
			if (attr_strcpy(&st[A_SERVICE_ID], id,
			    sizeof(id)) == 0 && !seen("service", id))
				sync_deregister(id, NULL);
			continue;
		}
		/*
		 * A defined service's instances list its checks and the
		 * node's: one read per name.
		 */
		if (attr_strcpy(&st[A_SERVICE_NAME], id, sizeof(id)) == 0 &&
		    !seen("name", id))
			read_health(id, strlen(id));
	}
	free(r);
}

/* read_node - start looking for what is registered but not defined */
static void
read_node(void)
{
	struct rd *r;
	struct buf b;
	char err[256];

	if (!rpc_is_up(D.kvd))
		return;		/* kvd's on_up runs another pass */
	if ((r = calloc(1, sizeof(*r))) == NULL)
		log_fatal("out of memory");
	r->gen = S.gen;
	buf_init(&b);
	attr_put_str(&b, A_NODE, D.node.node);
	if (servers_read(D.kvd, D.kvd_mode, MSG_CAT_NODE, buf_head(&b),
	    buf_used(&b), SYNC_TIMEOUT, node_done, r, err, sizeof(err)) < 0)
		free(r);
	buf_free(&b);
}

/* sync_full - register everything; deregister what is gone */
static void
sync_full(void)
{
	struct svc_def consul;
	size_t i;

	ev_timer_stop(D.loop, &S.soon);
	ev_timer_stop(D.loop, &S.retry);
	if (!rpc_is_up(D.raftd))
		return;		/* raftd's on_up runs a pass */
	S.gen++;
	seen_reset();
	log_debug("anti-entropy pass %u", S.gen);
	register_svc(NULL);
	for (i = 0; i < D.nsvcs; i++)
		register_svc(&D.svcs[i]);
	if (D.server) {
		consul_svc(&consul);
		register_svc(&consul);
	}
	read_node();
}

static void
pass_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	sync_full();
}

void
sync_soon(void)
{
	if (!S.stopping && !ev_is_active(&S.soon)) {
		ev_timer_set(&S.soon, SYNC_SOON, 0.0);
		ev_timer_start(D.loop, &S.soon);
	}
}

/* sync_up - raftd or kvd (re)connected: catch up */
static void
sync_up(struct rpc *r)
{
	log_debug("%s is up; syncing the catalog", r->peer);
	sync_soon();
}

void
sync_init(const struct config *cfg)
{
	double every = SYNC_INTERVAL;
	char path[4200];
	struct jv *v;
	int64_t ns;

	memset(&S, 0, sizeof(S));
	if ((v = config_raw(cfg, "ae_interval")) != NULL) {
		if (v->type == JV_STR && duration_parse(v->str, &ns) == 0 &&
		    ns >= DUR_S)
			every = (double)ns / DUR_S;
		else
			log_warn("%s:%d:%d: ae_interval: expected a duration of "
			    "1s or more; using %.0fs", v->file, v->line, v->col,
			    every);
	}
	ev_timer_init(&S.pass, pass_cb, every, every);
	ev_timer_init(&S.soon, pass_cb, SYNC_SOON, 0.0);
	ev_timer_init(&S.retry, pass_cb, SYNC_RETRY, 0.0);
	ev_timer_start(D.loop, &S.pass);
	if (!cfg->server) {
		daemon_sock_path(cfg, "gossipd", path, sizeof(path));
		servers_init(&D.servers, D.loop, path, cfg->datacenter,
		    "checkd");
		D.servers.on_up = sync_up;
		D.raftd = D.kvd = servers_rpc(&D.servers);
		/* Any server's kvd will do: raftd unwraps it there. */
		D.kvd_mode = SERVERS_READ_STALE;
		return;
	}
	daemon_sock_path(cfg, "raftd", path, sizeof(path));
	rpc_init(&D.raftd_local, D.loop, path, "checkd", "raftd");
	D.raftd_local.on_up = sync_up;
	daemon_sock_path(cfg, "kvd", path, sizeof(path));
	rpc_init(&D.kvd_local, D.loop, path, "checkd", "kvd");
	D.kvd_local.on_up = sync_up;
	D.raftd = &D.raftd_local;
	D.kvd = &D.kvd_local;
	D.kvd_mode = SERVERS_READ_LOCAL;
}

void
sync_stop(void)
{
	S.stopping = 1;
	ev_timer_stop(D.loop, &S.pass);
	ev_timer_stop(D.loop, &S.soon);
	ev_timer_stop(D.loop, &S.retry);
	if (D.raftd == &D.raftd_local) {
		rpc_stop(&D.raftd_local);
		rpc_stop(&D.kvd_local);
	} else
		servers_stop(&D.servers);
	seen_reset();
}
