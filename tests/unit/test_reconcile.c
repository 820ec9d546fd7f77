/*
 * test_reconcile.c - the leader's catalog reconciliation (raftd/
 * reconcile.c): what it decides for each member and catalog node, the
 * commands it writes, and its parsers of gossipd's and kvd's records.
 * The event-loop side (reads, proposals) is covered by the integration
 * test tests/integration/test_serf_health.py.
 */
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "raftd.h"
#include "test.h"

/* raftd's state lives in main.c, which no library holds. */
struct raftd R;

#define ALIVE	RECONCILE_ALIVE
#define LEAVING	RECONCILE_LEAVING
#define LEFT	RECONCILE_LEFT
#define FAILED	RECONCILE_FAILED
#define REAP	RECONCILE_REAP
#define S_NONE	RECONCILE_SERF_NONE
#define S_PASS	RECONCILE_SERF_PASSING
#define S_CRIT	RECONCILE_SERF_CRITICAL
#define S_WARN	RECONCILE_SERF_OTHER
#define S_UNK	RECONCILE_SERF_UNKNOWN
#define NOTHING	RECONCILE_NOTHING
#define REG	RECONCILE_REGISTER
#define CRIT	RECONCILE_CRITICAL
#define DEREG	RECONCILE_DEREGISTER

#define ID1	"7c6b1b5e-4a55-4a8c-9b1e-0d1c3a8f2b11"
#define ID2	"0e2d6c3b-1f4a-4e7d-8a9b-3c5d7e9f1a22"

static void
member(struct reconcile_member *m, const char *name, const char *id,
    const char *addr, int status)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	m->status = status;
}

static void
catalog(struct reconcile_catalog *c, int present, const char *id,
    const char *addr, int serf)
{
	memset(c, 0, sizeof(*c));
	c->present = present;
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->serf = serf;
}

static void
test_decide(void)
{
	static const struct {
		const char	*what;
		const char	*name, *id, *addr;
		int		 status;
		int		 present;
		const char	*cid, *caddr;
		int		 serf;
		int		 want;
	} t[] = {
		{ "alive, new", "web1", ID1, "10.0.0.1", ALIVE,
		    0, "", "", S_NONE, REG },
		{ "alive, unchanged", "web1", ID1, "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_PASS, NOTHING },
		{ "alive, ID in another case", "web1", ID1, "10.0.0.1", ALIVE,
		    1, "7C6B1B5E-4A55-4A8C-9B1E-0D1C3A8F2B11", "10.0.0.1",
		    S_PASS, NOTHING },
		{ "alive, address changed", "web1", ID1, "10.0.0.2", ALIVE,
		    1, ID1, "10.0.0.1", S_PASS, REG },
		{ "alive, ID changed", "web1", ID2, "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_PASS, REG },
		{ "alive, no ID tag", "web1", "", "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_PASS, NOTHING },
		{ "alive, node without serfHealth", "web1", ID1, "10.0.0.1",
		    ALIVE, 1, ID1, "10.0.0.1", S_NONE, REG },
		{ "alive again after failing", "web1", ID1, "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_CRIT, REG },
		{ "alive, serfHealth warning", "web1", ID1, "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_WARN, REG },
		{ "alive, checks unseen", "web1", ID1, "10.0.0.1", ALIVE,
		    1, ID1, "10.0.0.1", S_UNK, REG },
		{ "alive, ourselves, new", "leader", ID1, "10.0.0.9", ALIVE,
		    0, "", "", S_NONE, REG },
		{ "failed", "web1", ID1, "10.0.0.1", FAILED,
		    1, ID1, "10.0.0.1", S_PASS, CRIT },
		{ "failed, already critical", "web1", ID1, "10.0.0.1", FAILED,
		    1, ID1, "10.0.0.1", S_CRIT, NOTHING },
		{ "failed, critical, address moved", "web1", ID1, "10.0.0.2",
		    FAILED, 1, ID1, "10.0.0.1", S_CRIT, NOTHING },
		{ "failed, no serfHealth", "web1", ID1, "10.0.0.1", FAILED,
		    1, ID1, "10.0.0.1", S_NONE, CRIT },
		{ "failed, checks unseen", "web1", ID1, "10.0.0.1", FAILED,
		    1, ID1, "10.0.0.1", S_UNK, CRIT },
		{ "failed, not in the catalog", "web1", ID1, "10.0.0.1", FAILED,
		    0, "", "", S_NONE, NOTHING },
		{ "leaving", "web1", ID1, "10.0.0.1", LEAVING,
		    1, ID1, "10.0.0.1", S_PASS, NOTHING },
		{ "left", "web1", ID1, "10.0.0.1", LEFT,
		    1, ID1, "10.0.0.1", S_PASS, DEREG },
		{ "left, not in the catalog", "web1", ID1, "10.0.0.1", LEFT,
		    0, "", "", S_NONE, NOTHING },
		{ "left, ourselves", "leader", ID1, "10.0.0.9", LEFT,
		    1, ID1, "10.0.0.9", S_PASS, NOTHING },
		{ "left, ourselves in capitals", "LEADER", ID1, "10.0.0.9",
		    LEFT, 1, ID1, "10.0.0.9", S_PASS, NOTHING },
		{ "reaped", "web1", ID1, "10.0.0.1", REAP,
		    1, ID1, "10.0.0.1", S_CRIT, DEREG },
		{ "reaped, not in the catalog", "web1", "", "", REAP,
		    0, "", "", S_NONE, NOTHING },
		{ "reaped, ourselves", "leader", "", "", REAP,
		    1, ID1, "10.0.0.9", S_PASS, NOTHING },
		{ "status none", "web1", ID1, "10.0.0.1", 0,
		    1, ID1, "10.0.0.1", S_PASS, NOTHING },
		{ "status unknown", "web1", ID1, "10.0.0.1", 9,
		    0, "", "", S_NONE, NOTHING },
	};
	struct reconcile_member m;
	struct reconcile_catalog c;
	size_t i;
	int got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		member(&m, t[i].name, t[i].id, t[i].addr, t[i].status);
		catalog(&c, t[i].present, t[i].cid, t[i].caddr, t[i].serf);
		got = reconcile_decide(&m, &c, "leader");
		if (got != t[i].want)
			fprintf(stderr, "decide \"%s\": %d, want %d\n",
			    t[i].what, got, t[i].want);
		CHECK(got == t[i].want);
	}
}

/* Actions a plan asked for, as "action:name" lines. */
struct seen {
	char	 lines[64][160];
	size_t	 n;
};

static void
collect(void *arg, enum reconcile_action act, const struct reconcile_member *m,
    const struct reconcile_catalog *c)
{
	struct seen *s = arg;
	static const char *names[] = { "nothing", "register", "critical",
	    "deregister" };

	if (s->n < 64)
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s:%s",
		    names[act], m->name);
}

static int
has(const struct seen *s, const char *line)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->lines[i], line) == 0)
			return 1;
	return 0;
}

static void
node(struct reconcile_node *n, const char *name, const char *id,
    const char *addr, int serf)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	catalog(&n->c, 1, id, addr, serf);
}

/* A 50-node cluster at rest: nothing to write, whatever the order. */
static void
test_plan_at_rest(void)
{
	struct reconcile_member mem[50];
	struct reconcile_node nodes[50];
	struct seen s = { .n = 0 };
	char name[32], addr[32];
	size_t i;

	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "node-%02zu", i);
		snprintf(addr, sizeof(addr), "10.0.1.%zu", i);
		member(&mem[i], name, ID1, addr, i == 7 ? FAILED : ALIVE);
		/* the catalog lists them in the other order */
		snprintf(name, sizeof(name), "node-%02zu", 49 - i);
		snprintf(addr, sizeof(addr), "10.0.1.%zu", 49 - i);
		node(&nodes[i], name, ID1, addr, 49 - i == 7 ? S_CRIT : S_PASS);
	}
	reconcile_plan(mem, 50, NULL, 0, nodes, 50, "node-00", 1, collect,
	    &s);
	CHECK(s.n == 0);
	for (i = 0; i < s.n; i++)
		fprintf(stderr, "at rest, yet: %s\n", s.lines[i]);

	/* one change shows as exactly one write */
	s.n = 0;
	for (i = 0; i < 50; i++)
		if (strcmp(mem[i].name, "node-31") == 0)
			mem[i].status = FAILED;
	reconcile_plan(mem, 50, NULL, 0, nodes, 50, "node-00", 1, collect,
	    &s);
	CHECK(s.n == 1);
	CHECK(has(&s, "critical:node-31"));
}

static void
test_plan_cases(void)
{
	struct reconcile_member mem[8], gone[3];
	struct reconcile_node nodes[12];
	struct seen s = { .n = 0 };
	size_t nm = 0, nn = 0;

	member(&mem[nm++], "leader", ID1, "10.0.0.9", ALIVE);
	member(&mem[nm++], "new", ID1, "10.0.0.1", ALIVE);
	member(&mem[nm++], "moved", ID1, "10.0.0.22", ALIVE);
	member(&mem[nm++], "sick", ID1, "10.0.0.3", FAILED);
	member(&mem[nm++], "bye", ID1, "10.0.0.4", LEFT);
	member(&mem[nm++], "Web1", ID1, "10.0.0.5", ALIVE);
	member(&mem[nm++], "fine", ID1, "10.0.0.6", ALIVE);
	member(&gone[0], "forgot", ID1, "10.0.0.7", FAILED);
	member(&gone[1], "forgot2", ID1, "10.0.0.8", ALIVE);
	member(&gone[2], "leader2", ID1, "10.0.0.10", ALIVE);

	node(&nodes[nn++], "moved", ID1, "10.0.0.2", S_PASS);
	node(&nodes[nn++], "leader", ID1, "10.0.0.9", S_PASS);
	node(&nodes[nn++], "sick", ID1, "10.0.0.3", S_PASS);
	node(&nodes[nn++], "bye", ID1, "10.0.0.4", S_PASS);
	node(&nodes[nn++], "web1", ID1, "10.0.0.5", S_PASS);
	node(&nodes[nn++], "fine", ID1, "10.0.0.6", S_PASS);
	node(&nodes[nn++], "forgot", ID1, "10.0.0.7", S_CRIT);
	node(&nodes[nn++], "forgot2", ID1, "10.0.0.8", S_UNK);
	node(&nodes[nn++], "reaped", ID1, "10.0.0.11", S_CRIT);
	node(&nodes[nn++], "external", "", "192.0.2.1", S_NONE);
	node(&nodes[nn++], "quiet", ID1, "10.0.0.12", S_UNK);
	node(&nodes[nn++], "LEADER", ID1, "10.0.0.9", S_PASS);

	reconcile_plan(mem, nm, gone, 3, nodes, nn, "leader", 1, collect, &s);
	CHECK(has(&s, "register:new"));
	CHECK(has(&s, "register:moved"));
	CHECK(has(&s, "critical:sick"));
	CHECK(has(&s, "deregister:bye"));
	/* kvd's names are exact: a member Web1 is not node web1, but
	   web1 is not reaped either (Consul knows members without case) */
	CHECK(has(&s, "register:Web1"));
	CHECK(!has(&s, "deregister:web1"));
	/* gone members: deregistered once, serfHealth seen or not */
	CHECK(has(&s, "deregister:forgot"));
	CHECK(has(&s, "deregister:forgot2"));
	CHECK(has(&s, "deregister:reaped"));
	/* no serfHealth, or checks unseen, and never a member: kept */
	CHECK(!has(&s, "deregister:external"));
	CHECK(!has(&s, "deregister:quiet"));
	/* ourselves, under any case */
	CHECK(!has(&s, "deregister:leader"));
	CHECK(!has(&s, "deregister:LEADER"));
	CHECK(!has(&s, "register:leader"));
	CHECK(!has(&s, "register:fine"));
	CHECK(s.n == 8);

	/* Without reaping (gossip just came up): members only. */
	s.n = 0;
	reconcile_plan(mem, nm, gone, 3, nodes, nn, "leader", 0, collect, &s);
	CHECK(s.n == 5);
	CHECK(has(&s, "deregister:bye"));
	CHECK(!has(&s, "deregister:forgot"));
	CHECK(!has(&s, "deregister:reaped"));

	/* Nothing at all. */
	s.n = 0;
	reconcile_plan(NULL, 0, NULL, 0, NULL, 0, "leader", 1, collect, &s);
	CHECK(s.n == 0);
}

/* A checkd-style node record (checkd/checks.c checks_node_rec). */
static void
checkd_node(struct buf *b, const char *name, const char *id,
    const char *addr)
{
	size_t meta;

	attr_put_str(b, A_NODE, name);
	attr_put_str(b, A_NODE_ID, id);
	attr_put_str(b, A_ADDRESS, addr);
	attr_put_str(b, A_DC, "dc1");
	meta = attr_nest_begin(b, A_META);
	attr_put_str(b, A_META_KEY, "rack");
	attr_put_str(b, A_META_VALUE, "r1");
	attr_nest_end(b, meta);
}

/* stored - a record as kvd reads it back: indexes, then the body */
static void
stored(struct buf *out, const struct buf *body)
{
	attr_put_u64(out, A_CREATE_INDEX, 5);
	attr_put_u64(out, A_MODIFY_INDEX, 9);
	buf_append(out, buf_head(body), buf_used(body));
}

/* cmd_parts - a register command's node and check records */
static int
cmd_parts(const struct buf *cmd, uint32_t *op, struct attr *node,
    struct attr *check)
{
	struct attr tab[ATTR_TAB];

	if (attr_index(buf_head(cmd), buf_used(cmd), tab, ATTR_TAB) < 0 ||
	    attr_u32(&tab[A_OP], op) < 0)
		return -1;
	*node = tab[A_NODE_REC];
	*check = tab[A_CHECK_REC];
	return 0;
}

static int
attr_is(const struct attr *a, const char *s)
{
	return a->val != NULL && a->len == strlen(s) &&
	    memcmp(a->val, s, a->len) == 0;
}

static void
check_serf(const struct attr *check, const char *node, const char *status,
    const char *output)
{
	struct attr ct[ATTR_TAB];

	CHECK(attr_index(check->val, check->len, ct, ATTR_TAB) == 0);
	CHECK(attr_is(&ct[A_NODE], node));
	CHECK(attr_is(&ct[A_CHECK_ID], "serfHealth"));
	CHECK(attr_is(&ct[A_CHECK_NAME], "Serf Health Status"));
	CHECK(attr_is(&ct[A_STATUS], status));
	CHECK(attr_is(&ct[A_OUTPUT], output));
	CHECK(attr_is(&ct[A_CHECK_TYPE], "serf"));
	CHECK(attr_is(&ct[A_SERVICE_ID], ""));
	CHECK(attr_is(&ct[A_NOTES], ""));
}

static void
test_command_new(void)
{
	struct reconcile_member m;
	struct reconcile_catalog c;
	struct attr nrec, check, nt[ATTR_TAB];
	struct buf b;
	uint32_t op;

	member(&m, "web1", ID1, "10.0.0.1", ALIVE);
	catalog(&c, 0, "", "", S_NONE);
	buf_init(&b);
	reconcile_command(REG, &m, &c, "dc1", &b);
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(op == OP_CAT_REGISTER);
	CHECK(attr_index(nrec.val, nrec.len, nt, ATTR_TAB) == 0);
	CHECK(attr_is(&nt[A_NODE], "web1"));
	CHECK(attr_is(&nt[A_NODE_ID], ID1));
	CHECK(attr_is(&nt[A_ADDRESS], "10.0.0.1"));
	CHECK(attr_is(&nt[A_DC], "dc1"));
	check_serf(&check, "web1", "passing", "Agent alive and reachable");
	buf_free(&b);
}

/* A register keeps the catalog's record byte for byte, but ID and address. */
static void
test_command_keeps_record(void)
{
	struct reconcile_member m;
	struct reconcile_node n;
	struct attr nrec, check;
	struct buf body, rec, want, b;
	uint32_t op;

	buf_init(&body);
	buf_init(&rec);
	buf_init(&want);
	buf_init(&b);
	checkd_node(&body, "web1", ID1, "10.0.0.1");
	stored(&rec, &body);
	CHECK(reconcile_parse_node(buf_head(&rec), buf_used(&rec), &n) == 0);
	CHECK_STR(n.name, "web1");
	CHECK_STR(n.c.addr, "10.0.0.1");
	CHECK_STR(n.c.id, ID1);
	CHECK(n.c.present && n.c.serf == S_UNK);

	/* same address: the node record kvd has, so it does not change */
	n.c.serf = S_NONE;
	member(&m, "web1", ID1, "10.0.0.1", ALIVE);
	CHECK(reconcile_decide(&m, &n.c, "leader") == REG);
	reconcile_command(REG, &m, &n.c, "dc1", &b);
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(op == OP_CAT_REGISTER);
	CHECK(nrec.len == buf_used(&body) &&
	    memcmp(nrec.val, buf_head(&body), nrec.len) == 0);
	check_serf(&check, "web1", "passing", "Agent alive and reachable");

	/* a new address and ID, in place; the meta stays */
	buf_reset(&b);
	member(&m, "web1", ID2, "10.0.0.2", ALIVE);
	reconcile_command(REG, &m, &n.c, "dc1", &b);
	checkd_node(&want, "web1", ID2, "10.0.0.2");
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(nrec.len == buf_used(&want) &&
	    memcmp(nrec.val, buf_head(&want), nrec.len) == 0);

	/* failed: the record as it is, whatever gossip says of it */
	buf_reset(&b);
	member(&m, "web1", ID2, "10.0.0.2", FAILED);
	reconcile_command(CRIT, &m, &n.c, "dc1", &b);
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(op == OP_CAT_REGISTER);
	CHECK(nrec.len == buf_used(&body) &&
	    memcmp(nrec.val, buf_head(&body), nrec.len) == 0);
	check_serf(&check, "web1", "critical", "Agent not live or unreachable");
	buf_free(&body);
	buf_free(&rec);
	buf_free(&want);
	buf_free(&b);
}

/* A record without ID or address gets them; a broken one is replaced. */
static void
test_command_odd_records(void)
{
	struct reconcile_member m;
	struct reconcile_catalog c;
	struct attr nrec, check, nt[ATTR_TAB];
	struct buf rec, b;
	uint32_t op;

	buf_init(&rec);
	buf_init(&b);
	attr_put_u64(&rec, A_CREATE_INDEX, 5);
	attr_put_str(&rec, A_NODE, "web1");
	attr_put_str(&rec, A_DC, "dc1");
	catalog(&c, 1, "", "", S_NONE);
	c.rec = buf_head(&rec);
	c.reclen = buf_used(&rec);
	member(&m, "web1", ID1, "10.0.0.1", ALIVE);
	reconcile_command(REG, &m, &c, "dc1", &b);
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(attr_index(nrec.val, nrec.len, nt, ATTR_TAB) == 0);
	CHECK(!attr_present(&nt[A_CREATE_INDEX]));
	CHECK(attr_is(&nt[A_NODE], "web1"));
	CHECK(attr_is(&nt[A_NODE_ID], ID1));
	CHECK(attr_is(&nt[A_ADDRESS], "10.0.0.1"));

	/* cut mid-attribute: a new record, not half of the old one */
	c.reclen = buf_used(&rec) - 1;
	buf_reset(&b);
	reconcile_command(REG, &m, &c, "dc7", &b);
	CHECK(cmd_parts(&b, &op, &nrec, &check) == 0);
	CHECK(attr_index(nrec.val, nrec.len, nt, ATTR_TAB) == 0);
	CHECK(attr_is(&nt[A_NODE], "web1"));
	CHECK(attr_is(&nt[A_ADDRESS], "10.0.0.1"));
	CHECK(attr_is(&nt[A_DC], "dc7"));
	buf_free(&rec);
	buf_free(&b);
}

static void
test_command_deregister(void)
{
	struct reconcile_member m;
	struct reconcile_catalog c;
	struct attr tab[ATTR_TAB];
	struct buf b;
	uint32_t op;

	member(&m, "web1", ID1, "10.0.0.1", LEFT);
	catalog(&c, 1, ID1, "10.0.0.1", S_PASS);
	buf_init(&b);
	reconcile_command(DEREG, &m, &c, "dc1", &b);
	CHECK(attr_index(buf_head(&b), buf_used(&b), tab, ATTR_TAB) == 0);
	CHECK(attr_u32(&tab[A_OP], &op) == 0 && op == OP_CAT_DEREGISTER);
	CHECK(attr_is(&tab[A_NODE], "web1"));
	CHECK(!attr_present(&tab[A_SERVICE_ID]));
	CHECK(!attr_present(&tab[A_CHECK_ID]));
	buf_reset(&b);
	reconcile_command(NOTHING, &m, &c, "dc1", &b);
	CHECK(buf_used(&b) == 0);
	buf_free(&b);
}

/* gossip_rec - a member record as gossipd's member_encode writes it */
static void
gossip_rec(struct buf *b, const char *name, const char *role, const char *dc,
    const char *id, uint32_t status)
{
	const char *tags[][2] = { { "role", role }, { "dc", dc },
	    { "segment", "" }, { "id", id }, { "vsn", "2" } };
	size_t i, meta;

	attr_put_str(b, A_NODE, name);
	attr_put_str(b, A_ADDRESS, "10.0.0.1");
	attr_put_u32(b, A_PORT, 8301);
	attr_put_u32(b, A_MEMBER_STATUS, status);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (tags[i][1] == NULL)
			continue;
		meta = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, tags[i][0]);
		attr_put_str(b, A_META_VALUE, tags[i][1]);
		attr_nest_end(b, meta);
	}
	attr_put_u8(b, A_PROTO_MIN, 1);
	attr_put_u8(b, A_PROTO_MAX, 5);
	attr_put_u8(b, A_PROTO_CUR, 2);
	attr_put_u32(b, A_INCARNATION, 3);
}

static void
test_parse_member(void)
{
	static const struct {
		const char	*name, *role, *dc, *id;
		uint32_t	 status;
		int		 ok;
	} t[] = {
		{ "web1", "node", "dc1", ID1, 1, 0 },
		{ "srv1", "consul", "dc1", ID1, 4, 0 },
		{ "web1", "node", "dc1", NULL, 3, 0 },
		{ "web1", "node", "dc2", ID1, 1, -1 },	/* not our DC */
		{ "web1", NULL, "dc1", ID1, 1, -1 },	/* no role */
		{ "web1", "other", "dc1", ID1, 1, -1 },
		{ "web1", "node", NULL, ID1, 1, -1 },	/* no DC */
		{ "", "node", "dc1", ID1, 1, -1 },	/* no name */
	};
	struct reconcile_member m, good;
	struct buf b;
	size_t i, cut;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b);
		gossip_rec(&b, t[i].name, t[i].role, t[i].dc, t[i].id,
		    t[i].status);
		CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
		    &m) == t[i].ok);
		if (t[i].ok == 0) {
			CHECK_STR(m.name, t[i].name);
			CHECK_STR(m.addr, "10.0.0.1");
			CHECK_STR(m.id, t[i].id ? t[i].id : "");
			CHECK(m.status == (int)t[i].status);
		}
		buf_free(&b);
	}

	/* No status: -1. A name with a NUL in it: -1. */
	buf_init(&b);
	attr_put_str(&b, A_NODE, "web1");
	attr_put_str(&b, A_ADDRESS, "10.0.0.1");
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
	    &m) == -1);
	buf_reset(&b);
	attr_put(&b, A_NODE, "we\0b1", 5);
	attr_put_str(&b, A_ADDRESS, "10.0.0.1");
	attr_put_u32(&b, A_MEMBER_STATUS, 1);
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
	    &m) == -1);

	/* Mutations of a good record. */
	buf_reset(&b);
	gossip_rec(&b, "web1", "node", "dc1", ID1, 1);
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
	    &good) == 0);
	/* every prefix: refused, or the same member (a cut at a boundary
	   loses only attributes it can do without: the id tag, or what
	   comes after it) */
	for (cut = 0; cut < buf_used(&b); cut++) {
		if (reconcile_parse_member(buf_head(&b), cut, "dc1", &m) < 0)
			continue;
		CHECK(strcmp(m.id, ID1) == 0 || m.id[0] == '\0');
		memcpy(m.id, good.id, sizeof(m.id));
		CHECK(memcmp(&m, &good, sizeof(m)) == 0);
	}
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b) - 1, "dc1",
	    &m) == -1);
	buf_putc(&b, 0);
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
	    &m) == -1);
	b.len--;
	buf_head(&b)[4] = 0x7f;		/* A_NODE's length */
	CHECK(reconcile_parse_member(buf_head(&b), buf_used(&b), "dc1",
	    &m) == -1);
	buf_free(&b);
}

static void
test_parse_node(void)
{
	struct reconcile_node n;
	struct buf body, rec;
	size_t cut;

	buf_init(&body);
	buf_init(&rec);
	checkd_node(&body, "web1", ID1, "10.0.0.1");
	stored(&rec, &body);
	CHECK(reconcile_parse_node(buf_head(&rec), buf_used(&rec), &n) == 0);
	CHECK(n.c.rec == buf_head(&rec) && n.c.reclen == buf_used(&rec));
	CHECK(reconcile_parse_node(buf_head(&rec), buf_used(&rec) - 1,
	    &n) == -1);
	for (cut = 0; cut < buf_used(&rec); cut++)
		if (reconcile_parse_node(buf_head(&rec), cut, &n) == 0)
			CHECK_STR(n.name, "web1");
	buf_putc(&rec, 1);
	CHECK(reconcile_parse_node(buf_head(&rec), buf_used(&rec), &n) == -1);
	buf_reset(&rec);
	attr_put_str(&rec, A_ADDRESS, "10.0.0.1");	/* no name */
	CHECK(reconcile_parse_node(buf_head(&rec), buf_used(&rec), &n) == -1);
	buf_free(&body);
	buf_free(&rec);
}

/* health_entry - a MSG_HEALTH_SERVICE entry with these checks */
static void
health_entry(struct buf *b, const char *node, const char *const *checks)
{
	size_t nest;

	nest = attr_nest_begin(b, A_NODE_REC);
	attr_put_u64(b, A_CREATE_INDEX, 1);
	attr_put_u64(b, A_MODIFY_INDEX, 1);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_ADDRESS, "10.0.0.1");
	attr_nest_end(b, nest);
	nest = attr_nest_begin(b, A_SERVICE_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_SERVICE_ID, "web");
	attr_put_str(b, A_SERVICE_NAME, "web");
	attr_nest_end(b, nest);
	/* checks: triples of check ID, service ID, status */
	for (; checks[0] != NULL; checks += 3) {
		nest = attr_nest_begin(b, A_CHECK_REC);
		attr_put_u64(b, A_CREATE_INDEX, 1);
		attr_put_u64(b, A_MODIFY_INDEX, 1);
		attr_put_str(b, A_NODE, node);
		attr_put_str(b, A_CHECK_ID, checks[0]);
		attr_put_str(b, A_SERVICE_ID, checks[1]);
		attr_put_str(b, A_STATUS, checks[2]);
		attr_nest_end(b, nest);
	}
}

static void
test_parse_health(void)
{
	static const char *const passing[] = { "service:web", "web",
	    "critical", "serfHealth", "", "passing", NULL };
	static const char *const critical[] = { "serfHealth", "", "critical",
	    NULL };
	static const char *const warning[] = { "serfHealth", "", "warning",
	    NULL };
	static const char *const svc_named[] = { "serfHealth", "web",
	    "passing", NULL };
	static const char *const none[] = { NULL };
	static const struct {
		const char *const *checks;
		int		 serf;
	} t[] = {
		{ passing, S_PASS },
		{ critical, S_CRIT },
		{ warning, S_WARN },
		{ svc_named, S_NONE },	/* a service's check of that name */
		{ none, S_NONE },
	};
	char name[RECONCILE_NAME];
	struct buf b;
	size_t i, cut;
	int serf;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b);
		health_entry(&b, "web1", t[i].checks);
		CHECK(reconcile_parse_health(buf_head(&b), buf_used(&b), name,
		    sizeof(name), &serf) == 0);
		CHECK_STR(name, "web1");
		CHECK(serf == t[i].serf);
		buf_free(&b);
	}
	buf_init(&b);
	health_entry(&b, "web1", critical);
	CHECK(reconcile_parse_health(buf_head(&b), buf_used(&b) - 1, name,
	    sizeof(name), &serf) == -1);
	for (cut = 0; cut < buf_used(&b); cut++)
		if (reconcile_parse_health(buf_head(&b), cut, name,
		    sizeof(name), &serf) == 0)
			CHECK(serf == S_NONE || serf == S_CRIT);
	buf_putc(&b, 0);
	CHECK(reconcile_parse_health(buf_head(&b), buf_used(&b), name,
	    sizeof(name), &serf) == -1);
	CHECK(reconcile_parse_health(buf_head(&b), buf_used(&b) - 1, name,
	    4, &serf) == -1);	/* a name longer than the room for it */
	buf_reset(&b);
	attr_put_str(&b, A_NODE, "web1");	/* no node record */
	CHECK(reconcile_parse_health(buf_head(&b), buf_used(&b), name,
	    sizeof(name), &serf) == -1);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_decide);
	RUN(test_plan_at_rest);
	RUN(test_plan_cases);
	RUN(test_command_new);
	RUN(test_command_keeps_record);
	RUN(test_command_odd_records);
	RUN(test_command_deregister);
	RUN(test_parse_member);
	RUN(test_parse_node);
	RUN(test_parse_health);
	return TEST_DONE();
}
