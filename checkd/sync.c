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
 * (re)connection to raftd or kvd, and 5 s after a write failed. It first
 * reads what the catalog has of this node (MSG_CAT_NODE, and its checks
 * with MSG_HEALTH_CHECKS), then registers only the services (or the node)
 * whose records differ from what this agent would write, and deregisters
 * what is no longer defined, except the "consul" service and serfHealth,
 * which the servers own. So a pass at rest writes nothing. Without the
 * catalog's view (kvd away, a read failed) it registers everything and
 * removes nothing. While raftd or kvd is away the checks keep running;
 * the pass on reconnect catches up.
 *
 * On a client agent raftd and kvd are one connection to a server's RPC
 * port (common/servers): the server forwards writes to the leader, and
 * the reads go wrapped in MSG_RAFT_READ, stale, to that server's kvd.
 * Stale is enough: a pass only removes what this node no longer defines,
 * which is right however old the view is.
 *
 * Leaves out: Consul's deferred output-only sync (check_update_interval;
 * here output reaches the catalog with the next pass).
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
} S;

/* One write in flight: what it was, for the log line of its failure. */
struct wr {
	int	 status_write;	/* OP_CHECK_STATUS */
	char	 what[240];
};

/*
 * A pass: what the catalog has of this node (MSG_CAT_NODE) and its
 * checks (MSG_HEALTH_CHECKS), both read before anything is written.
 */
struct pass {
	unsigned	 gen;
	int		 pending;	/* reads not answered yet */
	int		 failed;	/* a read failed: write everything */
	struct buf	 node, checks;	/* the replies' bodies */
};

static void	sync_full(void);

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
	s->weight_passing = s->weight_warning = 1;
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

	/* Not registered yet: the first pass's register carries it. */
	if (!c->in_catalog)
		return;
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

/* body_eq - a stored record (indexes first) holds exactly body */
static int
body_eq(const struct attr *stored, const void *body, size_t len)
{
	return stored->len == MSG_REC_IDX_LEN + len &&
	    memcmp(stored->val + MSG_REC_IDX_LEN, body, len) == 0;
}

/* rec_same - the nested record of type in ours equals stored */
static int
rec_same(const struct buf *ours, uint16_t type, const struct attr *stored)
{
	struct attr tab[ATTR_TAB];

	if (stored == NULL || attr_index(buf_head(ours), buf_used(ours), tab,
	    ATTR_TAB) < 0 || !attr_present(&tab[type]))
		return 0;
	return body_eq(stored, tab[type].val, tab[type].len);
}

/* find_rec - the record of type in a reply whose attribute id is id */
static const struct attr *
find_rec(const struct buf *reply, uint16_t type, uint16_t idtype,
    const char *id, struct attr *out)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;

	attr_iter_init(&it, buf_head(reply), buf_used(reply));
	while (attr_next(&it, &a) == 1)
		if (a.type == type &&
		    attr_index(a.val, a.len, tab, ATTR_TAB) == 0 &&
		    tab[idtype].len == strlen(id) &&
		    memcmp(tab[idtype].val, id, tab[idtype].len) == 0) {
			*out = a;
			return out;
		}
	return NULL;
}

/*
 * svc_current - whether the catalog has svc (NULL: the node itself) and
 * every check of it exactly as this agent would write them
 */
static int
svc_current(const struct pass *p, const struct svc_def *svc)
{
	const char *sid = svc != NULL ? svc->id : "";
	struct attr stored;
	struct buf b;
	size_t i;
	int same;

	buf_init(&b);
	if (svc == NULL) {
		checks_node_rec(&b, &D.node);
		same = rec_same(&b, A_NODE_REC, find_rec(&p->node, A_NODE_REC,
		    A_NODE, D.node.node, &stored));
	} else {
		checks_svc_rec(&b, D.node.node, svc);
		same = rec_same(&b, A_SERVICE_REC, find_rec(&p->node,
		    A_SERVICE_REC, A_SERVICE_ID, svc->id, &stored));
	}
	for (i = 0; same && i < D.nchecks; i++) {
		if (strcmp(D.checks[i]->def.service_id, sid) != 0)
			continue;
		buf_reset(&b);
		checks_check_rec(&b, D.node.node, &D.checks[i]->def,
		    D.checks[i]->status, D.checks[i]->output);
		same = rec_same(&b, A_CHECK_REC, find_rec(&p->checks, A_ENTRY,
		    A_CHECK_ID, D.checks[i]->def.id, &stored));
	}
	buf_free(&b);
	return same;
}

/*
 * in_catalog - the checks of service sid ("" the node's) are in the
 * catalog, or on their way in a register sent before any status
 */
static void
in_catalog(const char *sid)
{
	size_t i;

	for (i = 0; i < D.nchecks; i++)
		if (strcmp(D.checks[i]->def.service_id, sid) == 0)
			D.checks[i]->in_catalog = 1;
}

/* register_changed - write what differs from the catalog (all: p NULL) */
static void
register_changed(const struct pass *p)
{
	struct svc_def consul;
	size_t i, n = 0;

	if (p == NULL || !svc_current(p, NULL)) {
		register_svc(NULL);
		n++;
	}
	in_catalog("");
	for (i = 0; i < D.nsvcs; i++) {
		if (p == NULL || !svc_current(p, &D.svcs[i])) {
			register_svc(&D.svcs[i]);
			n++;
		}
		in_catalog(D.svcs[i].id);
	}
	if (D.server) {
		consul_svc(&consul);
		if (p == NULL || !svc_current(p, &consul)) {
			register_svc(&consul);
			n++;
		}
	}
	if (p != NULL && n > 0)
		log_debug("anti-entropy pass %u: %zu registrations differed "
		    "from the catalog", S.gen, n);
}

/* deregister_gone - what the catalog has of this node and it does not */
static void
deregister_gone(const struct pass *p)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	char id[512];

	attr_iter_init(&it, buf_head(&p->node), buf_used(&p->node));
	while (attr_next(&it, &a) == 1)
		if (a.type == A_SERVICE_REC &&
		    attr_index(a.val, a.len, tab, ATTR_TAB) == 0 &&
		    !defined_svc(&tab[A_SERVICE_ID]) &&
		    attr_strcpy(&tab[A_SERVICE_ID], id, sizeof(id)) == 0)
			sync_deregister(id, NULL);
	attr_iter_init(&it, buf_head(&p->checks), buf_used(&p->checks));
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, tab, ATTR_TAB) < 0 ||
		    attr_strcpy(&tab[A_CHECK_ID], id, sizeof(id)) < 0 ||
		    defined_check(id))
			continue;
		/* A removed service's checks go with it. */
		if (tab[A_SERVICE_ID].len > 0 &&
		    !defined_svc(&tab[A_SERVICE_ID]))
			continue;
		sync_deregister(NULL, id);
	}
}

/* pass_read_done - one of the pass's two reads; decide after both */
static void
pass_read_done(struct pass *p, struct buf *into, const char *what,
    const struct frame *f, const char *err)
{
	char msg[512];

	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_debug("reading %s from kvd: %s", what, f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		p->failed = 1;
	} else
		buf_append(into, f->body, f->len);
	if (--p->pending > 0)
		return;
	if (!S.stopping && p->gen == S.gen) {
		/* Without the catalog's view, write it all (and remove
		   nothing): what the pass owes is then done. */
		register_changed(p->failed ? NULL : p);
		if (!p->failed)
			deregister_gone(p);
	}
	buf_free(&p->node);
	buf_free(&p->checks);
	free(p);
}

static void
node_done(void *arg, const struct frame *f, const char *err)
{
	struct pass *p = arg;

	pass_read_done(p, &p->node, "this node's services", f, err);
}

static void
checks_done(void *arg, const struct frame *f, const char *err)
{
	struct pass *p = arg;

	pass_read_done(p, &p->checks, "this node's checks", f, err);
}

/* pass_read - one read for the pass; a failure counts as an answer */
static void
pass_read(struct pass *p, uint16_t type, rpc_cb *cb)
{
	char err[256];
	struct buf b;

	buf_init(&b);
	attr_put_str(&b, A_NODE, D.node.node);
	if (servers_read(D.kvd, D.kvd_mode, type, buf_head(&b),
	    buf_used(&b), SYNC_TIMEOUT, cb, p, err, sizeof(err)) < 0)
		cb(p, NULL, err);
	buf_free(&b);
}

/*
 * sync_full - Consul's anti-entropy: read what the catalog has of this
 * node, then register only what differs and deregister what is gone
 */
static void
sync_full(void)
{
	struct pass *p;

	ev_timer_stop(D.loop, &S.soon);
	ev_timer_stop(D.loop, &S.retry);
	if (!rpc_is_up(D.raftd))
		return;		/* raftd's on_up runs a pass */
	S.gen++;
	log_debug("anti-entropy pass %u", S.gen);
	if (!rpc_is_up(D.kvd)) {
		register_changed(NULL);	/* kvd's on_up runs another */
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		log_fatal("out of memory");
	p->gen = S.gen;
	p->pending = 2;
	buf_init(&p->node);
	buf_init(&p->checks);
	pass_read(p, MSG_CAT_NODE, node_done);
	pass_read(p, MSG_HEALTH_CHECKS, checks_done);
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
}
