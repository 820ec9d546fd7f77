/*
 * test_member.c - gossipd's membership table: ordering, the precedence of
 * news by incarnation and status, tags, reaping, and the A_ENTRY record
 * read back attribute by attribute (and cut short).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"
#include "test.h"
#include "../../gossipd/member.h"

/* news - a record with borrowed strings for member_update */
static struct member
news(const char *name, enum member_status st, uint32_t inc)
{
	struct member m;

	memset(&m, 0, sizeof(m));
	m.name = (char *)name;
	snprintf(m.addr, sizeof(m.addr), "10.0.0.1");
	m.port = 8301;
	m.status = st;
	m.incarnation = inc;
	m.proto_min = 1;
	m.proto_max = 5;
	m.proto_cur = 2;
	return m;
}

static void
test_add_lookup_order(void)
{
	static const char *names[] = { "web2", "db1", "web10", "alpha",
	    "zeta" };
	static const char *sorted[] = { "alpha", "db1", "web10", "web2",
	    "zeta" };
	struct member_table t;
	struct member n;
	size_t i;

	member_table_init(&t);
	for (i = 0; i < 5; i++) {
		n = news(names[i], MEMBER_ALIVE, 0);
		CHECK(member_update(&t, &n, 1.0) == MEMBER_ADDED);
	}
	CHECK(t.n == 5);
	for (i = 0; i < t.n; i++)
		CHECK_STR(t.m[i]->name, sorted[i]);
	CHECK(member_lookup(&t, "web10") != NULL);
	CHECK(member_lookup(&t, "web10")->port == 8301);
	CHECK_STR(member_lookup(&t, "db1")->addr, "10.0.0.1");
	CHECK(member_lookup(&t, "web1") == NULL);
	CHECK(member_lookup(&t, "") == NULL);
	/* The same record again changes nothing. */
	n = news("db1", MEMBER_ALIVE, 0);
	CHECK(member_update(&t, &n, 2.0) == MEMBER_SAME);
	CHECK(member_lookup(&t, "db1")->since == 1.0);
	CHECK(member_remove(&t, "db1") == 0);
	CHECK(member_remove(&t, "db1") == -1);
	CHECK(t.n == 4);
	CHECK_STR(t.m[1]->name, "web10");
	member_table_free(&t);
	CHECK(t.n == 0 && t.m == NULL);
}

/* Precedence: what we hold, the news, and the outcome. */
static const struct {
	enum member_status	have;
	uint32_t		have_inc;
	enum member_status	news;
	uint32_t		news_inc;
	enum member_result	res;
	enum member_status	after;
	uint32_t		after_inc;
} prec[] = {
	/* A higher incarnation always wins. */
	{ MEMBER_FAILED, 3, MEMBER_ALIVE, 4, MEMBER_CHANGED, MEMBER_ALIVE, 4 },
	{ MEMBER_LEFT, 3, MEMBER_ALIVE, 4, MEMBER_CHANGED, MEMBER_ALIVE, 4 },
	{ MEMBER_ALIVE, 3, MEMBER_ALIVE, 9, MEMBER_SAME, MEMBER_ALIVE, 9 },
	/* Alive at the same incarnation cannot refute a failure. */
	{ MEMBER_FAILED, 3, MEMBER_ALIVE, 3, MEMBER_SAME, MEMBER_FAILED, 3 },
	{ MEMBER_LEAVING, 3, MEMBER_ALIVE, 3, MEMBER_SAME, MEMBER_LEAVING, 3 },
	/* A graver status wins at the same incarnation. */
	{ MEMBER_ALIVE, 3, MEMBER_FAILED, 3, MEMBER_CHANGED, MEMBER_FAILED, 3 },
	{ MEMBER_ALIVE, 3, MEMBER_LEAVING, 3, MEMBER_CHANGED, MEMBER_LEAVING,
	    3 },
	{ MEMBER_LEAVING, 3, MEMBER_LEFT, 3, MEMBER_CHANGED, MEMBER_LEFT, 3 },
	{ MEMBER_FAILED, 3, MEMBER_LEFT, 3, MEMBER_CHANGED, MEMBER_LEFT, 3 },
	/* A node that left stays left, not failed. */
	{ MEMBER_LEFT, 3, MEMBER_FAILED, 3, MEMBER_SAME, MEMBER_LEFT, 3 },
	{ MEMBER_FAILED, 3, MEMBER_LEAVING, 3, MEMBER_SAME, MEMBER_FAILED, 3 },
	/* Old news is ignored whatever it says. */
	{ MEMBER_ALIVE, 3, MEMBER_FAILED, 2, MEMBER_SAME, MEMBER_ALIVE, 3 },
	{ MEMBER_ALIVE, 3, MEMBER_LEFT, 0, MEMBER_SAME, MEMBER_ALIVE, 3 },
	{ MEMBER_FAILED, 3, MEMBER_ALIVE, 2, MEMBER_SAME, MEMBER_FAILED, 3 },
	/* No such status. */
	{ MEMBER_ALIVE, 3, MEMBER_NONE, 9, MEMBER_ERR, MEMBER_ALIVE, 3 },
	{ MEMBER_ALIVE, 3, (enum member_status)7, 9, MEMBER_ERR, MEMBER_ALIVE,
	    3 },
};

static void
test_precedence(void)
{
	struct member_table t;
	struct member n;
	struct member *m;
	size_t i;

	for (i = 0; i < sizeof(prec) / sizeof(prec[0]); i++) {
		/* Once through member_update, once through set_status. */
		for (int how = 0; how < 2; how++) {
			member_table_init(&t);
			n = news("n1", prec[i].have, prec[i].have_inc);
			CHECK(member_update(&t, &n, 10.0) == MEMBER_ADDED);
			if (how == 0) {
				n = news("n1", prec[i].news, prec[i].news_inc);
				if (member_update(&t, &n, 20.0) !=
				    prec[i].res) {
					fprintf(stderr, "prec row %zu "
					    "update\n", i);
					CHECK(0);
				}
			} else if (member_set_status(&t, "n1", prec[i].news,
			    prec[i].news_inc, 20.0) != prec[i].res) {
				fprintf(stderr, "prec row %zu status\n", i);
				CHECK(0);
			}
			m = member_lookup(&t, "n1");
			CHECK(m != NULL);
			if (m != NULL) {
				CHECK(m->status == prec[i].after);
				CHECK(m->incarnation == prec[i].after_inc);
				/* since moves only when the status did */
				CHECK(m->since == (prec[i].after !=
				    prec[i].have ? 20.0 : 10.0));
			}
			member_table_free(&t);
		}
	}
}

static void
test_update_fields(void)
{
	struct member_table t;
	struct member n;
	struct member *m;

	member_table_init(&t);
	n = news("a", MEMBER_ALIVE, 1);
	member_tag_set(&n, "role", "node");
	CHECK(member_update(&t, &n, 1.0) == MEMBER_ADDED);
	member_tags_free(&n);

	/* A newer record with a new address and tags replaces them. */
	n = news("a", MEMBER_ALIVE, 2);
	snprintf(n.addr, sizeof(n.addr), "10.0.0.9");
	n.port = 9301;
	member_tag_set(&n, "role", "consul");
	member_tag_set(&n, "dc", "dc2");
	CHECK(member_update(&t, &n, 2.0) == MEMBER_CHANGED);
	m = member_lookup(&t, "a");
	CHECK_STR(m->addr, "10.0.0.9");
	CHECK(m->port == 9301);
	CHECK(m->ntags == 2);
	CHECK_STR(member_tag(m, "role"), "consul");
	CHECK_STR(member_tag(m, "dc"), "dc2");
	/* since is the time of the last status change, not of any news */
	CHECK(m->since == 1.0);

	/* The same incarnation with other tags is stale news. */
	member_tag_set(&n, "dc", "dc3");
	CHECK(member_update(&t, &n, 3.0) == MEMBER_SAME);
	CHECK_STR(member_tag(m, "dc"), "dc2");
	member_tags_free(&n);

	/* Invalid records. */
	n = news("", MEMBER_ALIVE, 5);
	CHECK(member_update(&t, &n, 1.0) == MEMBER_ERR);
	n = news(NULL, MEMBER_ALIVE, 5);
	CHECK(member_update(&t, &n, 1.0) == MEMBER_ERR);
	CHECK(member_set_status(&t, "nobody", MEMBER_FAILED, 9, 1.0) ==
	    MEMBER_ERR);
	CHECK(t.n == 1);
	member_table_free(&t);
}

static void
test_tags(void)
{
	static const char *keys[] = { "vsn", "role", "id", "build", "dc",
	    "vsn_max", "port" };
	static const char *sorted[] = { "build", "dc", "id", "port", "role",
	    "vsn", "vsn_max" };
	struct member m;
	size_t i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < 7; i++)
		member_tag_set(&m, keys[i], keys[i]);
	member_tag_set(&m, "role", "consul");
	member_tag_set(&m, "segment", "");
	CHECK(m.ntags == 8);
	CHECK_STR(m.tags[0].key, sorted[0]);
	CHECK_STR(m.tags[3].key, sorted[3]);
	CHECK_STR(m.tags[4].key, "role");
	CHECK_STR(m.tags[5].key, "segment");
	CHECK_STR(m.tags[7].key, "vsn_max");
	CHECK_STR(member_tag(&m, "role"), "consul");
	CHECK_STR(member_tag(&m, "segment"), "");
	CHECK(member_tag(&m, "rol") == NULL);
	member_tags_free(&m);
	CHECK(m.ntags == 0 && m.tags == NULL);
}

static void
test_reap(void)
{
	struct member_table t;
	struct member n;

	member_table_init(&t);
	n = news("alive", MEMBER_ALIVE, 0);
	member_update(&t, &n, 0.0);
	n = news("left", MEMBER_LEFT, 0);
	member_update(&t, &n, 100.0);
	n = news("failed", MEMBER_FAILED, 0);
	member_update(&t, &n, 100.0);
	n = news("leaving", MEMBER_LEAVING, 0);
	member_update(&t, &n, 0.0);

	CHECK(member_reap(&t, 150.0, 60.0, 90.0) == 0);
	CHECK(member_reap(&t, 160.0, 60.0, 90.0) == 1);
	CHECK(member_lookup(&t, "left") == NULL);
	CHECK(member_lookup(&t, "failed") != NULL);
	CHECK(member_reap(&t, 190.0, 60.0, 90.0) == 1);
	CHECK(member_lookup(&t, "failed") == NULL);
	CHECK(member_reap(&t, 1e9, 60.0, 90.0) == 0);
	CHECK(t.n == 2);
	CHECK_STR(t.m[0]->name, "alive");
	CHECK_STR(t.m[1]->name, "leaving");

	/* A failed member that comes back is not reaped on the old clock. */
	n = news("back", MEMBER_FAILED, 1);
	member_update(&t, &n, 0.0);
	n = news("back", MEMBER_ALIVE, 2);
	CHECK(member_update(&t, &n, 80.0) == MEMBER_CHANGED);
	CHECK(member_set_status(&t, "back", MEMBER_FAILED, 2, 100.0) ==
	    MEMBER_CHANGED);
	CHECK(member_reap(&t, 189.0, 60.0, 90.0) == 0);
	CHECK(member_reap(&t, 190.0, 60.0, 90.0) == 1);
	member_table_free(&t);
}

static void
test_status_names(void)
{
	CHECK_STR(member_status_name(MEMBER_NONE), "none");
	CHECK_STR(member_status_name(MEMBER_ALIVE), "alive");
	CHECK_STR(member_status_name(MEMBER_LEAVING), "leaving");
	CHECK_STR(member_status_name(MEMBER_LEFT), "left");
	CHECK_STR(member_status_name(MEMBER_FAILED), "failed");
	CHECK_STR(member_status_name((enum member_status)9), "unknown");
}

/* read_entry - decode one A_ENTRY body; the tags into keys/vals */
static int
read_entry(const unsigned char *p, size_t len, char *name, char *addr,
    uint32_t *port, uint32_t *status, char keys[][16], char vals[][16],
    size_t *ntags, uint32_t proto[3])
{
	struct attr_iter it;
	struct attr a, tab[ATTR_TAB];
	int r;

	*ntags = 0;
	attr_iter_init(&it, p, len);
	while ((r = attr_next(&it, &a)) == 1) {
		if (a.type != A_META)
			continue;
		if (attr_index(a.val, a.len, tab, ATTR_TAB) < 0 ||
		    attr_strcpy(&tab[A_META_KEY], keys[*ntags], 16) < 0 ||
		    attr_strcpy(&tab[A_META_VALUE], vals[*ntags], 16) < 0)
			return -1;
		(*ntags)++;
	}
	if (r < 0)
		return -1;
	if (attr_index(p, len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[A_NODE], name, 64) < 0 ||
	    attr_strcpy(&tab[A_ADDRESS], addr, 64) < 0 ||
	    attr_u32(&tab[A_PORT], port) < 0 ||
	    attr_u32(&tab[A_MEMBER_STATUS], status) < 0 ||
	    attr_u32(&tab[A_PROTO_MIN], &proto[0]) < 0 ||
	    attr_u32(&tab[A_PROTO_MAX], &proto[1]) < 0 ||
	    attr_u32(&tab[A_PROTO_CUR], &proto[2]) < 0)
		return -1;
	return 0;
}

static void
test_encode(void)
{
	struct member m;
	struct buf b;
	struct attr_iter it;
	struct attr a;
	char name[64], addr[64], keys[4][16], vals[4][16];
	uint32_t port, status, proto[3];
	size_t ntags, cut;

	m = news("node1", MEMBER_FAILED, 7);
	snprintf(m.addr, sizeof(m.addr), "127.0.0.1");
	member_tag_set(&m, "role", "consul");
	member_tag_set(&m, "dc", "dc1");
	member_tag_set(&m, "segment", "");
	buf_init(&b);
	member_encode(&b, &m);
	member_encode(&b, &m);

	attr_iter_init(&it, buf_head(&b), buf_used(&b));
	CHECK(attr_next(&it, &a) == 1);
	CHECK(a.type == A_ENTRY);
	CHECK(read_entry(a.val, a.len, name, addr, &port, &status, keys,
	    vals, &ntags, proto) == 0);
	CHECK_STR(name, "node1");
	CHECK_STR(addr, "127.0.0.1");
	CHECK(port == 8301);
	CHECK(status == 4);
	CHECK(ntags == 3);
	CHECK_STR(keys[0], "dc");
	CHECK_STR(vals[0], "dc1");
	CHECK_STR(keys[1], "role");
	CHECK_STR(vals[1], "consul");
	CHECK_STR(keys[2], "segment");
	CHECK_STR(vals[2], "");
	CHECK(proto[0] == 1 && proto[1] == 5 && proto[2] == 2);
	CHECK(attr_next(&it, &a) == 1);
	CHECK(attr_next(&it, &a) == 0);

	/* Every shorter prefix of one record is caught as malformed. */
	b.len = b.off + buf_used(&b) / 2;
	for (cut = 1; cut < buf_used(&b); cut++) {
		attr_iter_init(&it, buf_head(&b), cut);
		if (attr_next(&it, &a) != -1) {
			fprintf(stderr, "cut at %zu not caught\n", cut);
			CHECK(0);
			break;
		}
	}
	/* A corrupt inner length makes the record unreadable. */
	buf_head(&b)[ATTR_HDR_LEN + 7] = 0xff;	/* A_NODE's length */
	attr_iter_init(&it, buf_head(&b), buf_used(&b));
	CHECK(attr_next(&it, &a) == 1);
	CHECK(read_entry(a.val, a.len, name, addr, &port, &status, keys,
	    vals, &ntags, proto) == -1);
	buf_free(&b);
	member_tags_free(&m);
}

int
main(void)
{
	RUN(test_add_lookup_order);
	RUN(test_precedence);
	RUN(test_update_fields);
	RUN(test_tags);
	RUN(test_reap);
	RUN(test_status_names);
	RUN(test_encode);
	return TEST_DONE();
}
