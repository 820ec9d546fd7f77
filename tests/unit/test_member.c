/*
 * test_member.c - gossipd's membership table: ordering, the precedence of
 * news by incarnation and status, tags, reaping, and the A_ENTRY record
 * read back attribute by attribute (and cut short); member_decode on good
 * records, their mutations and bad ones; member_merge's conflict and
 * refute rules; member_pick; join addresses.
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

/* Records for member_decode: each field may be left out or made bad. */
struct rec {
	const char	*name;		/* NULL: no A_NODE */
	const char	*addr;		/* NULL: no A_ADDRESS */
	int64_t		 port;		/* -1: no A_PORT */
	int64_t		 status;	/* -1: no A_MEMBER_STATUS */
	int64_t		 inc;		/* -1: no A_INCARNATION */
	int		 ntags;		/* tags "t0"="v0", ... */
	size_t		 vlen;		/* >0: one more tag "big" of vlen x's */
	int		 proto;		/* >255: a bad protocol version */
};

/* rec_build - the A_ENTRY value (not the A_ENTRY header) for r */
static void
rec_build(struct buf *b, const struct rec *r)
{
	char k[16], v[16], *big;
	size_t meta;
	int i;

	if (r->name != NULL)
		attr_put_str(b, A_NODE, r->name);
	if (r->addr != NULL)
		attr_put_str(b, A_ADDRESS, r->addr);
	if (r->port >= 0)
		attr_put_u32(b, A_PORT, (uint32_t)r->port);
	if (r->status >= 0)
		attr_put_u32(b, A_MEMBER_STATUS, (uint32_t)r->status);
	for (i = 0; i < r->ntags; i++) {
		snprintf(k, sizeof(k), "t%d", i);
		snprintf(v, sizeof(v), "v%d", i);
		meta = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, k);
		attr_put_str(b, A_META_VALUE, v);
		attr_nest_end(b, meta);
	}
	if (r->vlen > 0) {
		big = malloc(r->vlen + 1);
		memset(big, 'x', r->vlen);
		big[r->vlen] = '\0';
		meta = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, "big");
		attr_put_str(b, A_META_VALUE, big);
		attr_nest_end(b, meta);
		free(big);
	}
	attr_put_u32(b, A_PROTO_MIN, 1);
	attr_put_u32(b, A_PROTO_MAX, r->proto ? (uint32_t)r->proto : 5);
	if (r->inc >= 0)
		attr_put_u32(b, A_INCARNATION, (uint32_t)r->inc);
}

static const struct {
	struct rec	 r;
	int		 ok;
} decode_rows[] = {
	{ { "n1", "10.0.0.1", 8301, 1, 7, 3, 0, 0 }, 1 },
	{ { "n1", "::1", 1, 4, -1, 0, 0, 0 }, 1 },	/* no incarnation: 0 */
	{ { "n1", "10.0.0.1", 65535, 3, 0, 64, 0, 0 }, 1 },
	{ { "n1", "10.0.0.1", 8301, 1, 0, 0, 512, 0 }, 1 },
	{ { NULL, "10.0.0.1", 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "", "10.0.0.1", 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", NULL, 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "", 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "host.example", 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1:8301", 8301, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", -1, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 0, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 65536, 1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, -1, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, 0, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, 5, 0, 0, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, 1, 0, 65, 0, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, 1, 0, 0, 513, 0 }, 0 },
	{ { "n1", "10.0.0.1", 8301, 1, 0, 0, 0, 256 }, 0 },
};

static void
test_decode(void)
{
	struct member m;
	struct buf b;
	char err[256];
	size_t i;
	int r;

	for (i = 0; i < sizeof(decode_rows) / sizeof(decode_rows[0]); i++) {
		buf_init(&b);
		rec_build(&b, &decode_rows[i].r);
		err[0] = '\0';
		r = member_decode(buf_head(&b), buf_used(&b), &m, err,
		    sizeof(err));
		if ((r == 0) != decode_rows[i].ok) {
			fprintf(stderr, "decode row %zu: %d (%s)\n", i, r, err);
			CHECK(0);
		}
		if (r == 0) {
			CHECK_STR(m.name, decode_rows[i].r.name);
			CHECK_STR(m.addr, decode_rows[i].r.addr);
			CHECK(m.port == decode_rows[i].r.port);
			CHECK(m.status == decode_rows[i].r.status);
			CHECK(m.incarnation == (decode_rows[i].r.inc < 0 ? 0 :
			    decode_rows[i].r.inc));
			CHECK(m.ntags == (size_t)decode_rows[i].r.ntags +
			    (decode_rows[i].r.vlen > 0));
			CHECK(m.proto_min == 1 && m.proto_max == 5);
			member_clear(&m);
			CHECK(m.name == NULL && m.tags == NULL);
		} else {
			CHECK(err[0] != '\0');
			CHECK(m.name == NULL && m.tags == NULL);
		}
		buf_free(&b);
	}
	/* A NUL inside the name is refused. */
	buf_init(&b);
	attr_put(&b, A_NODE, "a\0b", 3);
	attr_put_str(&b, A_ADDRESS, "10.0.0.1");
	attr_put_u32(&b, A_PORT, 8301);
	attr_put_u32(&b, A_MEMBER_STATUS, 1);
	CHECK(member_decode(buf_head(&b), buf_used(&b), &m, err,
	    sizeof(err)) == -1);
	buf_free(&b);
}

/* test_decode_roundtrip - encode, decode, and every mutation of it */
static void
test_decode_roundtrip(void)
{
	struct member m, d;
	struct buf b;
	struct attr_iter it;
	struct attr a;
	char err[256];
	size_t cut, vlen;
	unsigned char *copy;

	m = news("web-1", MEMBER_LEFT, 42);
	snprintf(m.addr, sizeof(m.addr), "fe80::1");
	member_tag_set(&m, "role", "consul");
	member_tag_set(&m, "id", "0b7c4d2e-0000-0000-0000-000000000001");
	member_tag_set(&m, "segment", "");
	buf_init(&b);
	member_encode(&b, &m);
	attr_iter_init(&it, buf_head(&b), buf_used(&b));
	CHECK(attr_next(&it, &a) == 1 && a.type == A_ENTRY);
	CHECK(member_decode(a.val, a.len, &d, err, sizeof(err)) == 0);
	CHECK_STR(d.name, "web-1");
	CHECK_STR(d.addr, "fe80::1");
	CHECK(d.port == 8301 && d.status == MEMBER_LEFT);
	CHECK(d.incarnation == 42);
	CHECK(d.proto_min == 1 && d.proto_max == 5 && d.proto_cur == 2);
	CHECK(d.ntags == 3);
	CHECK_STR(member_tag(&d, "segment"), "");
	CHECK_STR(member_tag(&d, "id"), "0b7c4d2e-0000-0000-0000-000000000001");
	member_clear(&d);

	/* Cut short: every prefix is either refused or a smaller record
	 * (a cut between attributes), never read past its end. */
	vlen = a.len;
	for (cut = 0; cut < vlen; cut++) {
		copy = malloc(cut ? cut : 1);
		memcpy(copy, a.val, cut);
		if (member_decode(copy, cut, &d, err, sizeof(err)) == 0) {
			/* only once A_NODE A_ADDRESS A_PORT A_MEMBER_STATUS
			   (13 + 15 + 12 + 12 bytes) are all in */
			CHECK(cut >= 52);
			member_clear(&d);
		}
		free(copy);
	}
	/* One byte more: a trailing partial attribute header. */
	copy = malloc(vlen + 1);
	memcpy(copy, a.val, vlen);
	copy[vlen] = 0;
	CHECK(member_decode(copy, vlen + 1, &d, err, sizeof(err)) == -1);
	/* A broken length in the first attribute (A_NODE). */
	copy[7] = 0xff;
	CHECK(member_decode(copy, vlen, &d, err, sizeof(err)) == -1);
	free(copy);
	buf_free(&b);
	member_tags_free(&m);
}

/* Merge: what the table holds for "n1", the news, the outcome. */
static const struct {
	const char		*self;	/* our name for the merge */
	uint32_t		 have_inc;
	const char		*have_id;
	const char		*news_id;
	enum member_status	 news_st;
	uint32_t		 news_inc;
	uint16_t		 news_port;
	enum member_result	 res;
	uint32_t		 after_inc;
	uint16_t		 after_port;
} merge_rows[] = {
	/* Another node: as member_update, a new incarnation is news. */
	{ "me", 3, "id-1", "id-1", MEMBER_ALIVE, 4, 8301, MEMBER_CHANGED, 4,
	    8301 },
	{ "me", 3, "id-1", "id-1", MEMBER_ALIVE, 4, 9301, MEMBER_CHANGED, 4,
	    9301 },
	{ "me", 3, "id-1", "id-1", MEMBER_ALIVE, 3, 9301, MEMBER_SAME, 3,
	    8301 },
	{ "me", 3, "id-1", "id-1", MEMBER_FAILED, 2, 8301, MEMBER_SAME, 3,
	    8301 },
	/* Another node ID under a known name: refused. */
	{ "me", 3, "id-1", "id-2", MEMBER_ALIVE, 9, 9301, MEMBER_CONFLICT, 3,
	    8301 },
	{ "n1", 3, "id-1", "id-2", MEMBER_FAILED, 9, 9301, MEMBER_CONFLICT,
	    3, 8301 },
	/* No ID on one side: no conflict to see. */
	{ "me", 3, "id-1", NULL, MEMBER_ALIVE, 4, 8301, MEMBER_CHANGED, 4,
	    8301 },
	{ "me", 3, NULL, "id-2", MEMBER_ALIVE, 4, 8301, MEMBER_CHANGED, 4,
	    8301 },
	/* News about ourselves is refuted, never applied. */
	{ "n1", 3, "id-1", "id-1", MEMBER_ALIVE, 3, 8301, MEMBER_SAME, 3,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_ALIVE, 2, 9301, MEMBER_SAME, 3,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_ALIVE, 3, 9301, MEMBER_REFUTED, 4,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_FAILED, 3, 8301, MEMBER_REFUTED, 4,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_ALIVE, 7, 8301, MEMBER_REFUTED, 8,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_LEFT, 7, 8301, MEMBER_REFUTED, 8,
	    8301 },
	{ "n1", 3, "id-1", "id-1", MEMBER_ALIVE, UINT32_MAX, 8301,
	    MEMBER_SAME, 3, 8301 },
	/* Invalid news. */
	{ "me", 3, "id-1", "id-1", MEMBER_NONE, 9, 8301, MEMBER_ERR, 3,
	    8301 },
};

static void
test_merge(void)
{
	struct member_table t;
	struct member n;
	struct member *m;
	size_t i;
	enum member_result r;

	for (i = 0; i < sizeof(merge_rows) / sizeof(merge_rows[0]); i++) {
		member_table_init(&t);
		n = news("n1", MEMBER_ALIVE, merge_rows[i].have_inc);
		if (merge_rows[i].have_id != NULL)
			member_tag_set(&n, "id", merge_rows[i].have_id);
		CHECK(member_update(&t, &n, 1.0) == MEMBER_ADDED);
		member_tags_free(&n);
		n = news("n1", merge_rows[i].news_st, merge_rows[i].news_inc);
		n.port = merge_rows[i].news_port;
		if (merge_rows[i].news_id != NULL)
			member_tag_set(&n, "id", merge_rows[i].news_id);
		r = member_merge(&t, merge_rows[i].self, &n, 2.0);
		member_tags_free(&n);
		m = member_lookup(&t, "n1");
		if (r != merge_rows[i].res || m == NULL ||
		    m->incarnation != merge_rows[i].after_inc ||
		    m->port != merge_rows[i].after_port) {
			fprintf(stderr, "merge row %zu: result %d inc %u\n", i,
			    r, m ? m->incarnation : 0);
			CHECK(0);
		}
		/* Our own record keeps its status and address whatever. */
		if (m != NULL && strcmp(merge_rows[i].self, "n1") == 0)
			CHECK(m->status == MEMBER_ALIVE);
		member_table_free(&t);
	}

	/* An unknown member is added, whatever the self name. */
	member_table_init(&t);
	n = news("new", MEMBER_ALIVE, 0);
	CHECK(member_merge(&t, "me", &n, 1.0) == MEMBER_ADDED);
	CHECK(member_merge(&t, NULL, &n, 1.0) == MEMBER_SAME);
	CHECK(t.n == 1);
	member_table_free(&t);
}

static void
test_pick(void)
{
	static const struct {
		const char		*name;
		enum member_status	 st;
	} mem[] = {
		{ "a", MEMBER_ALIVE }, { "b", MEMBER_FAILED },
		{ "c", MEMBER_ALIVE }, { "me", MEMBER_ALIVE },
		{ "d", MEMBER_LEFT }, { "e", MEMBER_ALIVE },
	};
	struct member_table t;
	struct member n;
	const struct member *m;
	int seen[3] = { 0, 0, 0 };
	uint32_t r;
	size_t i;

	member_table_init(&t);
	CHECK(member_pick(&t, "me", 0) == NULL);
	n = news("me", MEMBER_ALIVE, 0);
	member_update(&t, &n, 0.0);
	CHECK(member_pick(&t, "me", 7) == NULL);	/* alone */
	for (i = 0; i < sizeof(mem) / sizeof(mem[0]); i++) {
		n = news(mem[i].name, mem[i].st, 0);
		member_update(&t, &n, 0.0);
	}
	/* Sorted: a c e are the alive others, in that order. */
	for (r = 0; r < 30; r++) {
		m = member_pick(&t, "me", r);
		CHECK(m != NULL);
		if (m == NULL)
			continue;
		CHECK(m->status == MEMBER_ALIVE && strcmp(m->name, "me") != 0);
		if (strcmp(m->name, "a") == 0)
			seen[0]++;
		else if (strcmp(m->name, "c") == 0)
			seen[1]++;
		else if (strcmp(m->name, "e") == 0)
			seen[2]++;
	}
	CHECK(seen[0] == 10 && seen[1] == 10 && seen[2] == 10);
	CHECK_STR(member_pick(&t, "me", 1)->name, "c");
	CHECK_STR(member_pick(&t, NULL, 3)->name, "me");
	member_table_free(&t);
}

static const struct {
	const char	*in;
	int		 ok;
	const char	*ip;
	int		 port;
} addr_rows[] = {
	{ "10.0.0.1", 1, "10.0.0.1", 8301 },
	{ "10.0.0.1:8302", 1, "10.0.0.1", 8302 },
	{ "127.0.0.1:1", 1, "127.0.0.1", 1 },
	{ "::1", 1, "::1", 8301 },
	{ "fe80::1:2", 1, "fe80::1:2", 8301 },
	{ "[::1]", 1, "::1", 8301 },
	{ "[::1]:9000", 1, "::1", 9000 },
	{ "", 0, NULL, 0 },
	{ ":8301", 0, NULL, 0 },
	{ "10.0.0.1:", 0, NULL, 0 },
	{ "10.0.0.1:0", 0, NULL, 0 },
	{ "10.0.0.1:65536", 0, NULL, 0 },
	{ "10.0.0.1:-5", 0, NULL, 0 },
	{ "10.0.0.1:80x", 0, NULL, 0 },
	{ "10.0.0.256", 0, NULL, 0 },
	{ "consul.example", 0, NULL, 0 },
	{ "consul.example:8301", 0, NULL, 0 },
	{ "provider=aws tag_key=x", 0, NULL, 0 },
	{ "[::1", 0, NULL, 0 },
	{ "[::1]x", 0, NULL, 0 },
	{ "[]:8301", 0, NULL, 0 },
	{ "[10.0.0.1]:8301", 1, "10.0.0.1", 8301 },
};

static void
test_addr_parse(void)
{
	char ip[MEMBER_ADDR_MAX], err[256];
	int port, r;
	size_t i;

	for (i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		ip[0] = '\0';
		port = -1;
		err[0] = '\0';
		r = member_addr_parse(addr_rows[i].in, 8301, ip, sizeof(ip),
		    &port, err, sizeof(err));
		if ((r == 0) != addr_rows[i].ok || (r == 0 &&
		    (strcmp(ip, addr_rows[i].ip) != 0 ||
		    port != addr_rows[i].port)) || (r < 0 && err[0] == '\0')) {
			fprintf(stderr, "addr row %zu (%s): %d %s %d %s\n", i,
			    addr_rows[i].in, r, ip, port, err);
			CHECK(0);
		}
	}
	/* The message says why a name is refused. */
	member_addr_parse("db.example", 8301, ip, sizeof(ip), &port, err,
	    sizeof(err));
	CHECK(strstr(err, "not an IP address") != NULL);
	/* An output buffer too small for the address. */
	CHECK(member_addr_parse("10.0.0.1", 8301, ip, 4, &port, err,
	    sizeof(err)) == -1);
}

/* member_pack / member_unpack: round trip, every cut, bad fields */
static void
test_pack_unpack(void)
{
	struct member m = news("web-1", MEMBER_ALIVE, 9), back;
	unsigned char *copy;
	char err[128];
	struct buf b;
	size_t cut, len;

	member_tag_set(&m, "role", "node");
	member_tag_set(&m, "dc", "dc1");
	member_tag_set(&m, "segment", "");
	buf_init(&b);
	member_pack(&b, &m);
	len = buf_used(&b);
	CHECK(member_unpack(buf_head(&b), len, &back, err, sizeof(err)) == 0);
	CHECK_STR(back.name, "web-1");
	CHECK_STR(back.addr, "10.0.0.1");
	CHECK(back.port == 8301 && back.status == MEMBER_ALIVE &&
	    back.incarnation == 9 && back.proto_cur == 2);
	CHECK(back.ntags == 3);
	CHECK_STR(member_tag(&back, "dc"), "dc1");
	CHECK_STR(member_tag(&back, "segment"), "");
	member_clear(&back);
	/* every cut, and one byte too many, on an exact-size copy */
	for (cut = 0; cut <= len + 1; cut++) {
		if (cut == len)
			continue;
		copy = malloc(cut + 1);
		memcpy(copy, buf_head(&b), cut < len ? cut : len);
		copy[cut < len ? cut : len] = 0;
		CHECK(member_unpack(copy, cut, &back, err, sizeof(err)) == -1);
		free(copy);
	}
	/* a bad status, port 0, an address that is not an IP */
	copy = malloc(len);
	memcpy(copy, buf_head(&b), len);
	copy[6] = 9;
	CHECK(member_unpack(copy, len, &back, err, sizeof(err)) == -1);
	memcpy(copy, buf_head(&b), len);
	copy[4] = copy[5] = 0;
	CHECK(member_unpack(copy, len, &back, err, sizeof(err)) == -1);
	memcpy(copy, buf_head(&b), len);
	copy[10 + 1 + 5 + 1] = 'x';	/* "10.0.0.1" -> "x0.0.0.1" */
	CHECK(member_unpack(copy, len, &back, err, sizeof(err)) == -1);
	free(copy);
	member_tags_free(&m);
	buf_free(&b);
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
	RUN(test_decode);
	RUN(test_decode_roundtrip);
	RUN(test_merge);
	RUN(test_pick);
	RUN(test_addr_parse);
	RUN(test_pack_unpack);
	return TEST_DONE();
}
