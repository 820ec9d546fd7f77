/*
 * reconcile.c - the catalog follows membership: the Raft leader's part of
 * Consul's leader reconciliation (agent/consul/leader.go reconcile and
 * reconcileReaped, leader_registrator_v1.go).
 *
 * Every member gossipd reports (peers.c hands over each record) is kept
 * here, leader or not. The leader makes the catalog agree with it:
 *
 *	alive	the node registered with its ID and address and a passing
 *		"serfHealth" check
 *	failed	serfHealth critical, so its services leave DNS and ?passing
 *	left	the node deregistered
 *	reaped	(gossip forgot the member, or the catalog has a node with
 *		serfHealth that gossip does not know) deregistered
 *
 * never deregistering its own node, and writing only what differs from
 * the catalog as this server's kvd has it. A member change reads that
 * node; a full pass reads the member list and the whole catalog once
 * this leader's kvd has applied its first commit (Consul's barrier), then
 * every 60 s (ReconcileInterval). Commands are proposed and not waited
 * on: a lost one is repaired by the next pass. The decisions
 * (reconcile_decide, reconcile_plan) and the commands (reconcile_command)
 * are pure, for the unit tests.
 *
 * A register keeps the node record the catalog has (the meta the node's
 * checkd wrote), changing only the ID and address, as Consul keeps
 * NodeMeta; a failed member's record is kept whole (SkipNodeUpdate). Each
 * server's checkd registers its "consul" service (checkd/sync.c), so the
 * leader does not.
 *
 * Leaves out: kvd has no read of one node's checks, so serfHealth is seen
 * only on nodes that have a service (MSG_HEALTH_SERVICE lists the node's
 * checks with each instance). For a node without services the leader
 * trusts what it wrote itself in this term of leadership; a new leader
 * writes those once (kvd ignores a write that changes nothing), and does
 * not reap such a node that gossip forgot before it led. Segments, the
 * WAN pool and Raft peer removal of a server that left are not handled.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "msg.h"
#include "raftd.h"
#include "servers.h"

#define RC_INTERVAL	60.0	/* Consul's ReconcileInterval */
#define RC_RETRY	5.0	/* after a pass that could not read it all */
#define RC_REAP_GRACE	30.0	/* see rc_may_reap */
#define RC_TIMEOUT	10.0	/* one read */

#define SERF_ID		"serfHealth"
#define SERF_NAME	"Serf Health Status"
#define SERF_TYPE	"serf"
#define SERF_ALIVE	"Agent alive and reachable"
#define SERF_FAILED	"Agent not live or unreachable"

/* A member as last reported; stamp orders news against a pass's list. */
struct rc_mem {
	struct reconcile_member	 m;	/* first: sorted by name */
	uint64_t		 stamp;
	int			 busy;	/* a one-node reconcile runs */
	int			 again;	/* news came meanwhile */
};

/* A node's serfHealth as the leader knows it (see the head comment). */
struct rc_known {
	char	 name[RECONCILE_NAME];
	int	 serf;
};

/* One full pass: its reads, then the plan. */
struct rc_pass {
	unsigned		 gen;
	int			 waiting;	/* replies outstanding */
	int			 failed;
	uint64_t		 seq;		/* RC.seq at gossip's answer */
	struct reconcile_member	*mem;
	size_t			 nmem, capmem;
	struct reconcile_node	*nodes;
	size_t			 nnodes, capnodes;
	struct rc_known		*serf;		/* from the health reads */
	size_t			 nserf, capserf;
};

/* One member's reconcile: its node, then that node's checks. */
struct rc_one {
	unsigned		 gen;
	char			 name[RECONCILE_NAME];
	struct reconcile_node	 node;
	int			 serf;
};

static struct {
	struct rc_mem	*mem;		/* sorted without case */
	size_t		 nmem, capmem;
	struct rc_known	*known;		/* sorted */
	size_t		 nknown, capknown;
	struct rc_pass	*pass;
	unsigned	 gen;		/* bumped when leadership changes */
	uint64_t	 seq;
	int		 leading, ready, stopping;
	uint64_t	 barrier;
	double		 next_pass, gossip_since;
} RC;

static void	rc_one_start(struct rc_mem *);
static int	rc_pass_call(struct rc_pass *, struct rpc *, uint16_t,
		    const void *, size_t, rpc_cb *);

/* rc_cmp - every table's element starts with its name: qsort, bsearch */
static int
rc_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* rc_casecmp - the same without case, as Consul compares member names */
static int
rc_casecmp(const void *a, const void *b)
{
	return strcasecmp(a, b);
}

/* rc_grow - room for one more element */
static void *
rc_grow(void *p, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 16;
	if ((p = realloc(p, *cap * size)) == NULL)
		log_fatal("out of memory");
	return p;
}

/* rc_lower - first index whose name is not below name */
static size_t
rc_lower(const void *base, size_t n, size_t size, const char *name,
    int (*cmp)(const void *, const void *))
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp((const char *)base + mid * size, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* rc_str - a string attribute without NULs into dst[n] */
static int
rc_str(const struct attr *a, char *dst, size_t n)
{
	if (attr_strcpy(a, dst, n) < 0 || strlen(dst) != a->len)
		return -1;
	return 0;
}

/*
 * reconcile_parse_member - a gossipd member record. -1 when malformed or
 * not for us: Consul handles only members tagged as a client (role=node)
 * or a server (role=consul) of its own datacenter (shouldHandleMember).
 */
int
reconcile_parse_member(const void *rec, size_t len, const char *dc,
    struct reconcile_member *m)
{
	struct attr tab[ATTR_TAB];
	char role[32], mdc[64];
	uint32_t status;

	memset(m, 0, sizeof(*m));
	if (attr_index(rec, len, tab, ATTR_TAB) < 0 ||
	    rc_str(&tab[A_NODE], m->name, sizeof(m->name)) < 0 ||
	    m->name[0] == '\0' ||
	    rc_str(&tab[A_ADDRESS], m->addr, sizeof(m->addr)) < 0 ||
	    attr_u32(&tab[A_MEMBER_STATUS], &status) < 0 ||
	    servers_member_tag(rec, len, "role", role, sizeof(role)) < 0 ||
	    (strcmp(role, "node") != 0 && strcmp(role, "consul") != 0) ||
	    servers_member_tag(rec, len, "dc", mdc, sizeof(mdc)) < 0 ||
	    strcmp(mdc, dc) != 0)
		return -1;
	if (servers_member_tag(rec, len, "id", m->id, sizeof(m->id)) < 0)
		m->id[0] = '\0';
	m->status = (int)status;
	return 0;
}

/*
 * reconcile_parse_node - a catalog node record as kvd reads it back
 * (A_CREATE_INDEX A_MODIFY_INDEX, then the body). c.rec points into it.
 * Its serfHealth is not in it: c.serf is RECONCILE_SERF_UNKNOWN.
 */
int
reconcile_parse_node(const void *rec, size_t len, struct reconcile_node *n)
{
	struct attr tab[ATTR_TAB];

	memset(n, 0, sizeof(*n));
	if (attr_index(rec, len, tab, ATTR_TAB) < 0 ||
	    rc_str(&tab[A_NODE], n->name, sizeof(n->name)) < 0 ||
	    n->name[0] == '\0')
		return -1;
	if (rc_str(&tab[A_NODE_ID], n->c.id, sizeof(n->c.id)) < 0)
		n->c.id[0] = '\0';
	if (rc_str(&tab[A_ADDRESS], n->c.addr, sizeof(n->c.addr)) < 0)
		n->c.addr[0] = '\0';
	n->c.present = 1;
	n->c.serf = RECONCILE_SERF_UNKNOWN;
	n->c.rec = rec;
	n->c.reclen = len;
	return 0;
}

/* rc_serf_of - a check status string as RECONCILE_SERF_* */
static int
rc_serf_of(const struct attr *st)
{
	if (st->len == 7 && memcmp(st->val, "passing", 7) == 0)
		return RECONCILE_SERF_PASSING;
	if (st->len == 8 && memcmp(st->val, "critical", 8) == 0)
		return RECONCILE_SERF_CRITICAL;
	return RECONCILE_SERF_OTHER;
}

/*
 * reconcile_parse_health - one MSG_HEALTH_SERVICE entry: the node's name
 * and its serfHealth (RECONCILE_SERF_NONE when the node has none).
 */
int
reconcile_parse_health(const void *entry, size_t len, char *node, size_t n,
    int *serf)
{
	struct attr tab[ATTR_TAB], nt[ATTR_TAB], ct[ATTR_TAB], a;
	struct attr_iter it;
	int r;

	*serf = RECONCILE_SERF_NONE;
	if (attr_index(entry, len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_NODE_REC]) ||
	    attr_index(tab[A_NODE_REC].val, tab[A_NODE_REC].len, nt,
	    ATTR_TAB) < 0 || rc_str(&nt[A_NODE], node, n) < 0)
		return -1;
	attr_iter_init(&it, entry, len);
	while ((r = attr_next(&it, &a)) == 1) {
		if (a.type != A_CHECK_REC)
			continue;
		if (attr_index(a.val, a.len, ct, ATTR_TAB) < 0)
			return -1;
		/* A service's own check of that name is not the node's. */
		if (ct[A_CHECK_ID].len == strlen(SERF_ID) &&
		    memcmp(ct[A_CHECK_ID].val, SERF_ID, strlen(SERF_ID)) == 0 &&
		    ct[A_SERVICE_ID].len == 0 && attr_present(&ct[A_STATUS]))
			*serf = rc_serf_of(&ct[A_STATUS]);
	}
	return r;
}

/*
 * reconcile_decide - what one member needs of the catalog (Consul's
 * handleAliveMember, handleFailedMember, handleDeregisterMember).
 */
enum reconcile_action
reconcile_decide(const struct reconcile_member *m,
    const struct reconcile_catalog *c, const char *self)
{
	switch (m->status) {
	case RECONCILE_ALIVE:
		if (c->present && strcmp(c->addr, m->addr) == 0 &&
		    (m->id[0] == '\0' || strcasecmp(c->id, m->id) == 0) &&
		    c->serf == RECONCILE_SERF_PASSING)
			return RECONCILE_NOTHING;
		return RECONCILE_REGISTER;
	case RECONCILE_FAILED:
		/* Consul ignores a failed member the catalog does not have. */
		if (!c->present || c->serf == RECONCILE_SERF_CRITICAL)
			return RECONCILE_NOTHING;
		return RECONCILE_CRITICAL;
	case RECONCILE_LEFT:
	case RECONCILE_REAP:
		/* A leader that leaves is deregistered by the next one. */
		if (!c->present || strcasecmp(m->name, self) == 0)
			return RECONCILE_NOTHING;
		return RECONCILE_DEREGISTER;
	}
	return RECONCILE_NOTHING;	/* leaving: wait for left */
}

/*
 * rc_node_rec - the node record: the catalog's (without its indexes),
 * with the member's ID and address unless keep; a new one without it.
 */
static void
rc_node_rec(struct buf *b, const struct reconcile_member *m,
    const struct reconcile_catalog *c, const char *dc, int keep)
{
	struct attr_iter it;
	struct attr a;
	size_t nest = attr_nest_begin(b, A_NODE_REC), mark = b->len;
	int had_id = 0, had_addr = 0, r = -1;

	if (c->present && c->rec != NULL) {
		attr_iter_init(&it, c->rec, c->reclen);
		while ((r = attr_next(&it, &a)) == 1) {
			if (a.type == A_CREATE_INDEX ||
			    a.type == A_MODIFY_INDEX)
				continue;
			if (!keep && a.type == A_NODE_ID && m->id[0] != '\0') {
				attr_put_str(b, A_NODE_ID, m->id);
				had_id = 1;
			} else if (!keep && a.type == A_ADDRESS) {
				attr_put_str(b, A_ADDRESS, m->addr);
				had_addr = 1;
			} else	/* as it was, flags and all */
				buf_append(b, a.val - ATTR_HDR_LEN,
				    ATTR_HDR_LEN + a.len);
		}
		if (r == 0 && !keep && !had_id && m->id[0] != '\0')
			attr_put_str(b, A_NODE_ID, m->id);
		if (r == 0 && !keep && !had_addr)
			attr_put_str(b, A_ADDRESS, m->addr);
	}
	if (r != 0) {		/* none, or malformed: a new record */
		b->len = mark;
		attr_put_str(b, A_NODE, m->name);
		attr_put_str(b, A_NODE_ID, m->id);
		attr_put_str(b, A_ADDRESS, m->addr);
		attr_put_str(b, A_DC, dc);
	}
	attr_nest_end(b, nest);
}

/* rc_check_rec - serfHealth, in checkd's attribute order (checks.c) */
static void
rc_check_rec(struct buf *b, const char *node, int passing)
{
	size_t nest = attr_nest_begin(b, A_CHECK_REC);

	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_CHECK_ID, SERF_ID);
	attr_put_str(b, A_CHECK_NAME, SERF_NAME);
	attr_put_str(b, A_NOTES, "");
	attr_put_str(b, A_SERVICE_ID, "");
	attr_put_str(b, A_SERVICE_NAME, "");
	attr_put_str(b, A_CHECK_TYPE, SERF_TYPE);
	attr_put_str(b, A_STATUS, passing ? "passing" : "critical");
	attr_put_str(b, A_OUTPUT, passing ? SERF_ALIVE : SERF_FAILED);
	attr_nest_end(b, nest);
}

/* reconcile_command - the command for an action; nothing for NOTHING */
void
reconcile_command(enum reconcile_action act, const struct reconcile_member *m,
    const struct reconcile_catalog *c, const char *dc, struct buf *b)
{
	switch (act) {
	case RECONCILE_NOTHING:
		break;
	case RECONCILE_REGISTER:
	case RECONCILE_CRITICAL:
		attr_put_u32(b, A_OP, OP_CAT_REGISTER);
		rc_node_rec(b, m, c, dc, act == RECONCILE_CRITICAL);
		rc_check_rec(b, m->name, act == RECONCILE_REGISTER);
		break;
	case RECONCILE_DEREGISTER:
		attr_put_u32(b, A_OP, OP_CAT_DEREGISTER);
		attr_put_str(b, A_NODE, m->name);
		break;
	}
}

/* rc_has_serf - the catalog holds a serfHealth for the node */
static int
rc_has_serf(int serf)
{
	return serf == RECONCILE_SERF_PASSING ||
	    serf == RECONCILE_SERF_CRITICAL || serf == RECONCILE_SERF_OTHER;
}

/*
 * reconcile_plan - a full pass over gossip's members, the members it
 * forgot (gone) and the catalog's nodes; fn gets every action but
 * NOTHING. Reaped are catalog nodes with a serfHealth check that no
 * member has the name of, in any case (Consul's reconcileReaped). With
 * reap 0 neither gone members nor reaped nodes are touched. Sorts members
 * and nodes.
 */
void
reconcile_plan(struct reconcile_member *mem, size_t nmem,
    const struct reconcile_member *gone, size_t ngone,
    struct reconcile_node *nodes, size_t nnodes, const char *self, int reap,
    reconcile_fn *fn, void *arg)
{
	static const struct reconcile_catalog absent;
	struct reconcile_member fake;
	struct reconcile_node *n;
	enum reconcile_action act;
	char *done;
	size_t i;

	if (nmem > 0)
		qsort(mem, nmem, sizeof(*mem), rc_casecmp);
	if (nnodes > 0)
		qsort(nodes, nnodes, sizeof(*nodes), rc_cmp);
	if ((done = calloc(nnodes + 1, 1)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < nmem; i++) {
		n = nnodes ? bsearch(mem[i].name, nodes, nnodes,
		    sizeof(*nodes), rc_cmp) : NULL;
		if (n != NULL)
			done[n - nodes] = 1;
		act = reconcile_decide(&mem[i], n ? &n->c : &absent, self);
		if (act != RECONCILE_NOTHING)
			fn(arg, act, &mem[i], n ? &n->c : &absent);
	}
	for (i = 0; reap && i < ngone; i++) {
		n = nnodes ? bsearch(gone[i].name, nodes, nnodes,
		    sizeof(*nodes), rc_cmp) : NULL;
		if (n == NULL || done[n - nodes])
			continue;
		done[n - nodes] = 1;
		fake = gone[i];
		fake.status = RECONCILE_REAP;
		act = reconcile_decide(&fake, &n->c, self);
		if (act != RECONCILE_NOTHING)
			fn(arg, act, &fake, &n->c);
	}
	for (i = 0; reap && i < nnodes; i++) {
		if (done[i] || !rc_has_serf(nodes[i].c.serf) ||
		    (nmem > 0 && bsearch(nodes[i].name, mem, nmem,
		    sizeof(*mem), rc_casecmp) != NULL))
			continue;
		memset(&fake, 0, sizeof(fake));
		snprintf(fake.name, sizeof(fake.name), "%s", nodes[i].name);
		fake.status = RECONCILE_REAP;
		act = reconcile_decide(&fake, &nodes[i].c, self);
		if (act != RECONCILE_NOTHING)
			fn(arg, act, &fake, &nodes[i].c);
	}
	free(done);
}

/* rc_leader - this server leads */
static int
rc_leader(void)
{
	return R.started && R.r.role == RAFT_LEADER;
}

/* rc_known_get - what we know of a node's serfHealth */
static int
rc_known_get(const char *name)
{
	struct rc_known *k;

	k = RC.nknown ? bsearch(name, RC.known, RC.nknown, sizeof(*k),
	    rc_cmp) : NULL;
	return k != NULL ? k->serf : RECONCILE_SERF_UNKNOWN;
}

/* rc_known_set - remember it; UNKNOWN or NONE forgets */
static void
rc_known_set(const char *name, int serf)
{
	size_t i = rc_lower(RC.known, RC.nknown, sizeof(*RC.known), name,
	    rc_cmp);
	int found = i < RC.nknown && strcmp(RC.known[i].name, name) == 0;

	if (!rc_has_serf(serf)) {
		if (found)
			memmove(&RC.known[i], &RC.known[i + 1],
			    (RC.nknown-- - i - 1) * sizeof(*RC.known));
		return;
	}
	if (!found) {
		RC.known = rc_grow(RC.known, RC.nknown, &RC.capknown,
		    sizeof(*RC.known));
		memmove(&RC.known[i + 1], &RC.known[i],
		    (RC.nknown++ - i) * sizeof(*RC.known));
		snprintf(RC.known[i].name, sizeof(RC.known[i].name), "%s",
		    name);
	}
	RC.known[i].serf = serf;
}

/* rc_act - log and propose one action */
static void
rc_act(void *arg, enum reconcile_action act, const struct reconcile_member *m,
    const struct reconcile_catalog *c)
{
	struct buf b;

	if (!rc_leader() || act == RECONCILE_NOTHING)
		return;
	switch (act) {
	case RECONCILE_REGISTER:
		/* A node we cannot see the checks of: said once a term. */
		if (c->present && c->serf == RECONCILE_SERF_UNKNOWN)
			log_debug("member %.100s: writing serfHealth passing",
			    m->name);
		else
			log_info("member %.100s joined, marking health alive",
			    m->name);
		break;
	case RECONCILE_CRITICAL:
		log_info("member %.100s failed, marking health critical",
		    m->name);
		break;
	default:
		log_info("deregistering member %.100s (%s)", m->name,
		    m->status == RECONCILE_LEFT ? "left" : "reaped");
		break;
	}
	buf_init(&b);
	reconcile_command(act, m, c, R.dc, &b);
	if (node_propose(buf_head(&b), buf_used(&b)) == 0)
		log_debug("cannot propose the catalog change for member "
		    "%.100s", m->name);
	else
		rc_known_set(m->name, act == RECONCILE_REGISTER ?
		    RECONCILE_SERF_PASSING : act == RECONCILE_CRITICAL ?
		    RECONCILE_SERF_CRITICAL : RECONCILE_SERF_NONE);
	buf_free(&b);
}

/* rc_mem_find - a member by name, in any case */
static struct rc_mem *
rc_mem_find(const char *name)
{
	return RC.nmem ? bsearch(name, RC.mem, RC.nmem, sizeof(*RC.mem),
	    rc_casecmp) : NULL;
}

/*
 * rc_may_reap - gossip has been followed long enough for a missing member
 * to mean one it forgot. gossipd keeps no list across restarts, so just
 * after one it knows few members until it has exchanged with the others;
 * taking that for reaping would deregister the cluster.
 */
static int
rc_may_reap(void)
{
	return rpc_is_up(&R.gossip) && RC.gossip_since > 0 &&
	    ev_now(R.loop) - RC.gossip_since >= RC_REAP_GRACE;
}

/* rc_node_copy - own a copy of n's record */
static void
rc_node_copy(struct reconcile_node *n)
{
	unsigned char *p;

	if (!n->c.present)
		return;
	if ((p = malloc(n->c.reclen ? n->c.reclen : 1)) == NULL)
		log_fatal("out of memory");
	memcpy(p, n->c.rec, n->c.reclen);
	n->c.rec = p;
}

/* rc_node_free - drop the copy rc_node_copy made */
static void
rc_node_free(struct reconcile_node *n)
{
	if (n->c.present)
		free((void *)n->c.rec);
	n->c.rec = NULL;
}

/* rc_one_finish - decide for one member with what was read */
static void
rc_one_finish(struct rc_one *o, int ok)
{
	struct rc_mem *e = rc_mem_find(o->name);

	if (ok && e != NULL && rc_leader() && RC.ready) {
		if (!o->node.c.present) {
			o->node.c.serf = RECONCILE_SERF_NONE;
			rc_known_set(o->name, RECONCILE_SERF_NONE);
		} else if (o->serf != RECONCILE_SERF_UNKNOWN) {
			o->node.c.serf = o->serf;
			rc_known_set(o->name, o->serf);
		} else
			o->node.c.serf = rc_known_get(o->name);
		rc_act(NULL, reconcile_decide(&e->m, &o->node.c, R.node),
		    &e->m, &o->node.c);
	}
	if (e != NULL) {
		e->busy = 0;
		if (e->again) {
			e->again = 0;
			rc_one_start(e);
		}
	}
	rc_node_free(&o->node);
	free(o);
}

/* rc_read_failed - log a failed read; 1 if it failed */
static int
rc_read_failed(const char *what, const struct frame *f, const char *err)
{
	char msg[256];

	if (f != NULL && !(f->flags & FRAME_ERROR))
		return 0;
	log_debug("reconcile: reading %s: %s", what, f == NULL ? err :
	    frame_error_text(f, msg, sizeof(msg)));
	return 1;
}

/* rc_one_health_done - the node's checks, listed with one of its services */
static void
rc_one_health_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_one *o = arg;
	struct attr_iter it;
	struct attr a;
	char node[RECONCILE_NAME];
	int serf;

	if (o->gen != RC.gen) {
		rc_node_free(&o->node);
		free(o);
		return;
	}
	if (rc_read_failed("a node's checks", f, err)) {
		rc_one_finish(o, 0);
		return;
	}
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY && reconcile_parse_health(a.val, a.len,
		    node, sizeof(node), &serf) == 0 &&
		    strcmp(node, o->name) == 0) {
			o->serf = serf;
			break;
		}
	rc_one_finish(o, 1);
}

/* rc_one_node_done - the node; its checks next, if it has a service */
static void
rc_one_node_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_one *o = arg;
	struct attr tab[ATTR_TAB], st[ATTR_TAB];
	struct buf b;
	char msg[256];
	int rc;

	if (o->gen != RC.gen) {
		free(o);
		return;
	}
	if (rc_read_failed("a node", f, err) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0) {
		rc_one_finish(o, 0);
		return;
	}
	if (!attr_present(&tab[A_NODE_REC]) || reconcile_parse_node(
	    tab[A_NODE_REC].val, tab[A_NODE_REC].len, &o->node) < 0 ||
	    strcmp(o->node.name, o->name) != 0) {
		memset(&o->node, 0, sizeof(o->node));
		rc_one_finish(o, 1);
		return;
	}
	rc_node_copy(&o->node);
	if (!attr_present(&tab[A_SERVICE_REC]) ||
	    attr_index(tab[A_SERVICE_REC].val, tab[A_SERVICE_REC].len, st,
	    ATTR_TAB) < 0 || !attr_present(&st[A_SERVICE_NAME])) {
		rc_one_finish(o, 1);	/* no service: checks unseen */
		return;
	}
	buf_init(&b);
	attr_put(&b, A_SERVICE_NAME, st[A_SERVICE_NAME].val,
	    st[A_SERVICE_NAME].len);
	rc = rpc_call(&R.kvd, MSG_HEALTH_SERVICE, buf_head(&b), buf_used(&b),
	    RC_TIMEOUT, rc_one_health_done, o, msg, sizeof(msg));
	buf_free(&b);
	if (rc < 0) {
		log_debug("reconcile: %s", msg);
		rc_one_finish(o, 0);
	}
}

/* rc_one_start - reconcile one member now (or once its last one ends) */
static void
rc_one_start(struct rc_mem *e)
{
	struct rc_one *o;
	struct buf b;
	char err[256];
	int rc;

	if (!rc_leader() || !RC.ready || RC.stopping)
		return;
	if (e->busy) {
		e->again = 1;
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		log_fatal("out of memory");
	o->gen = RC.gen;
	o->serf = RECONCILE_SERF_UNKNOWN;
	snprintf(o->name, sizeof(o->name), "%s", e->m.name);
	buf_init(&b);
	attr_put_str(&b, A_NODE, o->name);
	rc = rpc_call(&R.kvd, MSG_CAT_NODE, buf_head(&b), buf_used(&b),
	    RC_TIMEOUT, rc_one_node_done, o, err, sizeof(err));
	buf_free(&b);
	if (rc < 0) {
		log_debug("reconcile %.100s: %s", o->name, err);
		free(o);
		return;
	}
	e->busy = 1;
}

/* reconcile_member - a member record from gossipd, leader or not */
void
reconcile_member(const struct attr *rec)
{
	struct reconcile_member m;
	struct rc_mem *e;
	size_t i;

	if (RC.stopping || reconcile_parse_member(rec->val, rec->len, R.dc,
	    &m) < 0)
		return;
	i = rc_lower(RC.mem, RC.nmem, sizeof(*RC.mem), m.name, rc_casecmp);
	if (i < RC.nmem && strcasecmp(RC.mem[i].m.name, m.name) == 0) {
		e = &RC.mem[i];
		if (memcmp(&e->m, &m, sizeof(m)) == 0)
			return;	/* e.g. only its incarnation moved */
	} else {
		RC.mem = rc_grow(RC.mem, RC.nmem, &RC.capmem, sizeof(*RC.mem));
		memmove(&RC.mem[i + 1], &RC.mem[i],
		    (RC.nmem++ - i) * sizeof(*RC.mem));
		e = &RC.mem[i];
		memset(e, 0, sizeof(*e));
	}
	e->m = m;
	e->stamp = ++RC.seq;
	rc_one_start(e);
}

/* rc_pass_free - a pass and all it read */
static void
rc_pass_free(struct rc_pass *p)
{
	size_t i;

	for (i = 0; i < p->nnodes; i++)
		rc_node_free(&p->nodes[i]);
	free(p->nodes);
	free(p->mem);
	free(p->serf);
	free(p);
}

/*
 * rc_pass_finish - merge what was read, plan, act; the pass's member
 * list becomes ours, except for members with later news.
 */
static void
rc_pass_finish(struct rc_pass *p)
{
	struct reconcile_member *gone = NULL;
	struct reconcile_node *n;
	struct rc_known *s;
	struct rc_mem *nm = NULL, *old;
	size_t i, j, ngone = 0, capgone = 0, nnm = 0, capnm = 0;

	/* Members with news after gossip answered: the news wins. */
	for (i = j = 0; i < p->nmem; i++)
		if ((old = rc_mem_find(p->mem[i].name)) == NULL ||
		    old->stamp <= p->seq)
			p->mem[j++] = p->mem[i];
	p->nmem = j;
	for (i = 0; i < RC.nmem; i++) {
		if (RC.mem[i].stamp <= p->seq)
			continue;
		p->mem = rc_grow(p->mem, p->nmem, &p->capmem, sizeof(*p->mem));
		p->mem[p->nmem++] = RC.mem[i].m;
	}
	if (p->nmem > 0)
		qsort(p->mem, p->nmem, sizeof(*p->mem), rc_casecmp);
	for (i = j = 0; i < p->nmem; i++)	/* one per name */
		if (j == 0 || strcasecmp(p->mem[j - 1].name,
		    p->mem[i].name) != 0)
			p->mem[j++] = p->mem[i];
	p->nmem = j;
	for (i = 0; i < RC.nmem; i++)
		if (RC.mem[i].stamp <= p->seq && (p->nmem == 0 ||
		    bsearch(RC.mem[i].m.name, p->mem, p->nmem,
		    sizeof(*p->mem), rc_casecmp) == NULL)) {
			gone = rc_grow(gone, ngone, &capgone, sizeof(*gone));
			gone[ngone++] = RC.mem[i].m;
		}
	/* serfHealth: as read, else as we know it; then what we know. */
	if (p->nnodes > 0)
		qsort(p->nodes, p->nnodes, sizeof(*p->nodes), rc_cmp);
	for (i = 0; i < p->nserf; i++) {
		s = &p->serf[i];
		n = p->nnodes ? bsearch(s->name, p->nodes, p->nnodes,
		    sizeof(*n), rc_cmp) : NULL;
		if (n != NULL && (n->c.serf == RECONCILE_SERF_UNKNOWN ||
		    n->c.serf == RECONCILE_SERF_NONE))
			n->c.serf = s->serf;
	}
	for (i = 0; i < p->nnodes; i++)
		if (p->nodes[i].c.serf == RECONCILE_SERF_UNKNOWN)
			p->nodes[i].c.serf = rc_known_get(p->nodes[i].name);
	RC.nknown = 0;
	for (i = 0; i < p->nnodes; i++)
		rc_known_set(p->nodes[i].name, p->nodes[i].c.serf);
	log_debug("reconcile: %zu members, %zu gone, %zu catalog nodes",
	    p->nmem, ngone, p->nnodes);
	reconcile_plan(p->mem, p->nmem, gone, ngone, p->nodes, p->nnodes,
	    R.node, rc_may_reap(), rc_act, NULL);
	/* The new member table, keeping one-node reconciles in flight. */
	for (i = 0; i < p->nmem; i++) {
		nm = rc_grow(nm, nnm, &capnm, sizeof(*nm));
		memset(&nm[nnm], 0, sizeof(*nm));
		nm[nnm].m = p->mem[i];
		nm[nnm].stamp = p->seq;
		if ((old = rc_mem_find(p->mem[i].name)) != NULL) {
			nm[nnm].busy = old->busy;
			nm[nnm].again = old->again;
			if (old->stamp > p->seq)
				nm[nnm].stamp = old->stamp;
		}
		nnm++;
	}
	free(RC.mem);
	RC.mem = nm;
	RC.nmem = nnm;
	RC.capmem = capnm;
	free(gone);
}

/* rc_pass_settle - one reply fewer to wait for; finish when none is left */
static void
rc_pass_settle(struct rc_pass *p)
{
	if (p->waiting > 0)
		return;
	if (RC.pass == p)
		RC.pass = NULL;
	if (p->gen == RC.gen && !RC.stopping) {
		if (p->failed)
			RC.next_pass = ev_now(R.loop) + RC_RETRY;
		else if (rc_leader() && RC.ready)
			rc_pass_finish(p);
	}
	rc_pass_free(p);
}

/* rc_pass_members_done - gossip's member list */
static void
rc_pass_members_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_pass *p = arg;
	struct attr_iter it;
	struct attr a;

	p->waiting--;
	if (rc_read_failed("the members", f, err))
		p->failed = 1;
	else {
		p->seq = RC.seq;
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			if (a.type != A_ENTRY)
				continue;
			p->mem = rc_grow(p->mem, p->nmem, &p->capmem,
			    sizeof(*p->mem));
			if (reconcile_parse_member(a.val, a.len, R.dc,
			    &p->mem[p->nmem]) == 0)
				p->nmem++;
		}
	}
	rc_pass_settle(p);
}

/* rc_pass_nodes_done - every catalog node */
static void
rc_pass_nodes_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_pass *p = arg;
	struct attr_iter it;
	struct attr a;

	p->waiting--;
	if (rc_read_failed("the catalog's nodes", f, err))
		p->failed = 1;
	else {
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			if (a.type != A_ENTRY)
				continue;
			p->nodes = rc_grow(p->nodes, p->nnodes, &p->capnodes,
			    sizeof(*p->nodes));
			if (reconcile_parse_node(a.val, a.len,
			    &p->nodes[p->nnodes]) == 0)
				rc_node_copy(&p->nodes[p->nnodes++]);
		}
	}
	rc_pass_settle(p);
}

/* rc_pass_health_done - the instances of one service, with node checks */
static void
rc_pass_health_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_pass *p = arg;
	struct attr_iter it;
	struct attr a;
	struct rc_known *s;

	p->waiting--;
	if (rc_read_failed("a service's checks", f, err))
		p->failed = 1;
	else {
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			if (a.type != A_ENTRY)
				continue;
			p->serf = rc_grow(p->serf, p->nserf, &p->capserf,
			    sizeof(*p->serf));
			s = &p->serf[p->nserf];
			if (reconcile_parse_health(a.val, a.len, s->name,
			    sizeof(s->name), &s->serf) == 0)
				p->nserf++;
		}
	}
	rc_pass_settle(p);
}

/* rc_pass_services_done - every service name: read its instances */
static void
rc_pass_services_done(void *arg, const struct frame *f, const char *err)
{
	struct rc_pass *p = arg;
	struct attr tab[ATTR_TAB];
	struct attr_iter it;
	struct attr a;
	struct buf b;

	p->waiting--;
	if (rc_read_failed("the catalog's services", f, err))
		p->failed = 1;
	else if (p->gen == RC.gen && !p->failed) {
		buf_init(&b);
		attr_iter_init(&it, f->body, f->len);
		while (!p->failed && attr_next(&it, &a) == 1) {
			if (a.type != A_ENTRY || attr_index(a.val, a.len, tab,
			    ATTR_TAB) < 0 ||
			    !attr_present(&tab[A_SERVICE_NAME]))
				continue;
			buf_reset(&b);
			attr_put(&b, A_SERVICE_NAME, tab[A_SERVICE_NAME].val,
			    tab[A_SERVICE_NAME].len);
			if (rc_pass_call(p, &R.kvd, MSG_HEALTH_SERVICE,
			    buf_head(&b), buf_used(&b),
			    rc_pass_health_done) < 0)
				p->failed = 1;
		}
		buf_free(&b);
	}
	rc_pass_settle(p);
}

/* rc_pass_call - one read of the pass */
static int
rc_pass_call(struct rc_pass *p, struct rpc *r, uint16_t type,
    const void *body, size_t len, rpc_cb *cb)
{
	char err[256];

	if (rpc_call(r, type, body, len, RC_TIMEOUT, cb, p, err,
	    sizeof(err)) < 0) {
		log_debug("reconcile: %s", err);
		return -1;
	}
	p->waiting++;
	return 0;
}

/* rc_pass_start - a full pass: members, nodes, services and their checks */
static void
rc_pass_start(void)
{
	struct rc_pass *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		log_fatal("out of memory");
	p->gen = RC.gen;
	RC.pass = p;
	RC.next_pass = ev_now(R.loop) + RC_INTERVAL;
	/* gossip first: a member change after its answer is newer news */
	if (rc_pass_call(p, &R.gossip, MSG_GOSSIP_MEMBERS, NULL, 0,
	    rc_pass_members_done) < 0 ||
	    rc_pass_call(p, &R.kvd, MSG_CAT_NODES, NULL, 0,
	    rc_pass_nodes_done) < 0 ||
	    rc_pass_call(p, &R.kvd, MSG_CAT_SERVICES, NULL, 0,
	    rc_pass_services_done) < 0)
		p->failed = 1;
	rc_pass_settle(p);
}

/* rc_reset - a new term of leadership, or none: start from nothing */
static void
rc_reset(int leading)
{
	size_t i;

	RC.gen++;
	RC.leading = leading;
	RC.ready = 0;
	RC.barrier = 0;
	RC.pass = NULL;		/* a pass in flight frees itself */
	RC.nknown = 0;
	for (i = 0; i < RC.nmem; i++)
		RC.mem[i].busy = RC.mem[i].again = 0;
}

/* reconcile_leader - this server has just become the leader */
void
reconcile_leader(void)
{
	if (RC.stopping)
		return;
	rc_reset(1);
}

/* reconcile_gossip_up - raftd follows gossipd (again) from now */
void
reconcile_gossip_up(void)
{
	RC.gossip_since = ev_now(R.loop);
}

/*
 * reconcile_tick - from node.c twice a second: on a new leader, once its
 * kvd has applied the first entry committed in its term, a full pass;
 * then one every RC_INTERVAL.
 */
void
reconcile_tick(void)
{
	uint64_t term;

	if (RC.stopping)
		return;
	if (!rc_leader()) {
		if (RC.leading)
			rc_reset(0);
		return;
	}
	if (!RC.leading)
		rc_reset(1);
	if (!RC.ready) {
		if (RC.barrier == 0) {
			if (raft_term_at(&R.r, R.r.commit, &term) < 0 ||
			    term != R.r.term)
				return;
			RC.barrier = R.r.commit;
		}
		if (R.applied < RC.barrier || !rpc_is_up(&R.kvd))
			return;
		RC.ready = 1;
		RC.next_pass = 0;
		log_debug("reconcile: kvd has applied index %" PRIu64
		    "; reconciling the catalog", RC.barrier);
	}
	if (RC.pass == NULL && ev_now(R.loop) >= RC.next_pass)
		rc_pass_start();
}

int
reconcile_ready(void)
{
	return RC.leading && RC.ready;
}

/* reconcile_stop - raftd is stopping: drop everything */
void
reconcile_stop(void)
{
	rc_reset(0);
	RC.stopping = 1;
	free(RC.mem);
	free(RC.known);
	RC.mem = NULL;
	RC.known = NULL;
	RC.nmem = RC.capmem = RC.nknown = RC.capknown = 0;
}
