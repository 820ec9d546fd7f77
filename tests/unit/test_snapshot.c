/*
 * test_snapshot.c - kvd's state snapshots: a store filled through
 * store_apply (KV with binary and empty values, nodes, services, checks)
 * saved and restored into a fresh store and over a store holding other
 * data, compared table by table and record by record; the indexes; that
 * restoring is idempotent and durable and that commands apply after it;
 * every kind of damaged file refused with the store unchanged; files of
 * versions 1 and 2 still read; an empty store; and a 100,000-key round
 * trip, timed.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "msg.h"
#include "store.h"
#include "test.h"

#define NTABLES		8
#define HDR_LEN		105	/* the version 3 header */
#define HDR_LEN_V2	97
#define HDR_LEN_V1	81
#define LARGE_KEYS	100000

struct tstore {
	struct store	 st;
	char		 dir[128];
	uint64_t	 next;		/* the index of the next command */
};

static char base[64];
static struct tstore A, B, C;

static DB *
table(struct store *s, int i)
{
	DB *dbs[NTABLES] = { s->meta, s->kv, s->nodes, s->services,
	    s->checks, s->sessions, s->locks, s->queries };

	return dbs[i];
}

/* ts_open - open (creating) the store in base/name */
static void
ts_open(struct tstore *ts, const char *name)
{
	char err[256];

	snprintf(ts->dir, sizeof(ts->dir), "%s/%s", base, name);
	if (store_open(&ts->st, ts->dir, err, sizeof(err)) < 0) {
		fprintf(stderr, "store_open %s: %s\n", ts->dir, err);
		exit(1);
	}
	ts->next = ts->st.applied + 1;
}

static void
ts_reopen(struct tstore *ts)
{
	char name[128];

	snprintf(name, sizeof(name), "%s", strrchr(ts->dir, '/') + 1);
	store_close(&ts->st);
	ts_open(ts, name);
}

/* apply - one command at the next index; returns A_RESULT or -status */
static int
apply(struct tstore *ts, const struct buf *cmd)
{
	struct attr tab[ATTR_TAB];
	struct buf res;
	uint64_t r = 0;
	uint32_t status;
	DB_TXN *t;
	int out;

	buf_init(&res);
	CHECK(store_txn_begin(&ts->st, &t) == 0);
	CHECK(store_apply(&ts->st, t, ts->next, buf_head(cmd), buf_used(cmd),
	    &res) == 0);
	CHECK(store_txn_commit(&ts->st, t) == 0);
	ts->st.applied = ts->next++;
	attr_index(buf_head(&res), buf_used(&res), tab, ATTR_TAB);
	if (attr_u32(&tab[A_STATUS], &status) == 0)
		out = -(int)status;
	else {
		attr_u64(&tab[A_RESULT], &r);
		out = (int)r;
	}
	buf_free(&res);
	return out;
}

/* kv_set - PUT key (klen bytes) = value (vlen bytes) */
static int
kv_set(struct tstore *ts, const void *key, size_t klen, const void *val,
    size_t vlen)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_KV_SET);
	attr_put(&b, A_KEY, key, klen);
	attr_put(&b, A_VALUE, val, vlen);
	attr_put_u64(&b, A_FLAGS, klen);
	r = apply(ts, &b);
	buf_free(&b);
	return r;
}

static int
kv_del(struct tstore *ts, uint32_t op, const char *key)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, op);
	attr_put_str(&b, A_KEY, key);
	r = apply(ts, &b);
	buf_free(&b);
	return r;
}

/* reg - node n at addr, with a service and its check when svc is set */
static int
reg(struct tstore *ts, const char *n, const char *addr, const char *svc,
    const char *status)
{
	struct buf b;
	size_t nest, meta;
	char id[64];
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CAT_REGISTER);
	nest = attr_nest_begin(&b, A_NODE_REC);
	attr_put_str(&b, A_NODE, n);
	attr_put_str(&b, A_ADDRESS, addr);
	meta = attr_nest_begin(&b, A_META);
	attr_put_str(&b, A_META_KEY, "rack");
	attr_put_str(&b, A_META_VALUE, "r1");
	attr_nest_end(&b, meta);
	attr_nest_end(&b, nest);
	if (svc != NULL) {
		nest = attr_nest_begin(&b, A_SERVICE_REC);
		attr_put_str(&b, A_SERVICE_ID, svc);
		attr_put_str(&b, A_SERVICE_NAME, svc);
		attr_put_str(&b, A_TAG, "v1");
		attr_put_u32(&b, A_PORT, 8080);
		attr_nest_end(&b, nest);
		nest = attr_nest_begin(&b, A_CHECK_REC);
		snprintf(id, sizeof(id), "service:%s", svc);
		attr_put_str(&b, A_NODE, n);
		attr_put_str(&b, A_CHECK_ID, id);
		attr_put_str(&b, A_STATUS, status);
		attr_put_str(&b, A_SERVICE_ID, svc);
		attr_nest_end(&b, nest);
	}
	r = apply(ts, &b);
	buf_free(&b);
	return r;
}

static int
check_status(struct tstore *ts, const char *n, const char *id,
    const char *status)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CHECK_STATUS);
	attr_put_str(&b, A_NODE, n);
	attr_put_str(&b, A_CHECK_ID, id);
	attr_put_str(&b, A_STATUS, status);
	attr_put_str(&b, A_OUTPUT, "HTTP 200");
	r = apply(ts, &b);
	buf_free(&b);
	return r;
}

/*
 * same - every table of a and b equal record by record, and the indexes;
 * returns the number of records compared, -1 on the first difference.
 */
static long
same(struct store *a, struct store *b)
{
	DBC *ca, *cb;
	DBT ka, da, kb, db;
	long n = 0;
	int i, ra, rb;

	if (a->applied != b->applied || a->kv_index != b->kv_index ||
	    a->catalog_index != b->catalog_index) {
		fprintf(stderr, "indexes differ: %" PRIu64 "/%" PRIu64 "/%"
		    PRIu64 " vs %" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
		    a->applied, a->kv_index, a->catalog_index, b->applied,
		    b->kv_index, b->catalog_index);
		return -1;
	}
	for (i = 0; i < NTABLES; i++) {
		if (table(a, i)->cursor(table(a, i), NULL, &ca, 0) != 0 ||
		    table(b, i)->cursor(table(b, i), NULL, &cb, 0) != 0)
			return -1;
		memset(&ka, 0, sizeof(ka));
		memset(&da, 0, sizeof(da));
		memset(&kb, 0, sizeof(kb));
		memset(&db, 0, sizeof(db));
		for (;;) {
			ra = ca->get(ca, &ka, &da, DB_NEXT);
			rb = cb->get(cb, &kb, &db, DB_NEXT);
			if (ra == DB_NOTFOUND && rb == DB_NOTFOUND)
				break;
			if (ra != 0 || rb != 0 || ka.size != kb.size ||
			    da.size != db.size ||
			    memcmp(ka.data, kb.data, ka.size) != 0 ||
			    memcmp(da.data, db.data, da.size) != 0) {
				fprintf(stderr, "table %d differs at record "
				    "%ld\n", i, n);
				ca->close(ca);
				cb->close(cb);
				return -1;
			}
			n++;
		}
		ca->close(ca);
		cb->close(cb);
	}
	return n;
}

/* ntable - records in table i */
static long
ntable(struct store *s, int i)
{
	DBC *c;
	DBT k, d;
	long n = 0;

	if (table(s, i)->cursor(table(s, i), NULL, &c, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while (c->get(c, &k, &d, DB_NEXT) == 0)
		n++;
	c->close(c);
	return n;
}

/* kv_value - one key's value into v (n bytes max); its length or -1 */
static long
kv_value(struct store *s, const void *key, size_t klen, void *v, size_t n)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	struct buf out;
	uint64_t index;
	long len = -1;

	buf_init(&out);
	CHECK(kv_get(s, key, klen, 0, &out, &index) == 0);
	attr_index(buf_head(&out), buf_used(&out), tab, ATTR_TAB);
	if (attr_present(&tab[A_ENTRY]) && attr_index(tab[A_ENTRY].val,
	    tab[A_ENTRY].len, et, ATTR_TAB) == 0 &&
	    attr_present(&et[A_VALUE]) && et[A_VALUE].len <= n) {
		memcpy(v, et[A_VALUE].val, et[A_VALUE].len);
		len = et[A_VALUE].len;
	}
	buf_free(&out);
	return len;
}

/* instances - entries of catalog/service (health, passing) */
static int
instances(struct store *s, const char *svc, int health, int passing)
{
	struct attr_iter it;
	struct attr a;
	struct buf out;
	int n = 0;

	buf_init(&out);
	CHECK(catalog_service(s, svc, NULL, health, passing, &out) == 0);
	attr_iter_init(&it, buf_head(&out), buf_used(&out));
	while (attr_next(&it, &a) == 1)
		n += a.type == A_ENTRY;
	buf_free(&out);
	return n;
}

static void
snap_path(char *p, size_t n, const char *name)
{
	snprintf(p, n, "%s/%s", base, name);
}

static int
exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static unsigned char	*slurp(const char *, size_t *);

static const unsigned char binval[] = { 0, 1, 0xff, '\n', 0, 0x80 };
static const unsigned char binkey[] = { 'b', 0, 0xff, 'k' };

/* fill_a - the reference state: every table, binary and empty values */
static void
fill_a(void)
{
	static const char *keys[] = { "a", "web/a", "web/b/c", "web/b/d",
	    "zz" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(kv_set(&A, keys[i], strlen(keys[i]), keys[i],
		    strlen(keys[i])) == 1);
	CHECK(kv_set(&A, "bin", 3, binval, sizeof(binval)) == 1);
	CHECK(kv_set(&A, binkey, sizeof(binkey), "x", 1) == 1);
	CHECK(kv_set(&A, "empty", 5, "", 0) == 1);
	CHECK(kv_del(&A, OP_KV_DELETE, "zz") == 1);
	CHECK(kv_del(&A, OP_KV_DELETE_TREE, "web/b/") == 1);
	CHECK(reg(&A, "n1", "10.0.0.1", "web", "passing") == 1);
	CHECK(reg(&A, "n2", "10.0.0.2", "web", "critical") == 1);
	CHECK(reg(&A, "n2", "10.0.0.2", "db", "passing") == 1);
	CHECK(reg(&A, "n3", "10.0.0.3", NULL, NULL) == 1);
	CHECK(check_status(&A, "n2", "service:web", "warning") == 1);
	/* a few no-ops so applied, kv_index and catalog_index all differ */
	CHECK(reg(&A, "n1", "10.0.0.1", "web", "passing") == 1);
	CHECK(kv_del(&A, OP_KV_DELETE, "absent") == 1);
	CHECK(A.st.applied != A.st.kv_index &&
	    A.st.applied != A.st.catalog_index &&
	    A.st.kv_index != A.st.catalog_index);
	CHECK(ntable(&A.st, 0) == 3 && ntable(&A.st, 1) == 5 &&
	    ntable(&A.st, 2) == 3 && ntable(&A.st, 3) == 3 &&
	    ntable(&A.st, 4) == 3);
}

static void
test_roundtrip(void)
{
	char path[128], again[128], tmp[140], err[256];
	unsigned char v[64], *p, *q;
	uint64_t index = 0;
	size_t n = 0, m = 1;

	fill_a();
	snap_path(path, sizeof(path), "a.snap");
	CHECK(store_snapshot_save(&A.st, path, &index, err, sizeof(err)) == 0);
	CHECK(index == A.st.applied);
	CHECK(exists(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(!exists(tmp));
	/* a fresh store in another directory */
	index = 0;
	CHECK(store_snapshot_restore(&B.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == A.st.applied);
	CHECK(same(&A.st, &B.st) == 17);
	CHECK(B.st.applied == A.st.applied);
	CHECK(B.st.kv_index == A.st.kv_index);
	CHECK(B.st.catalog_index == A.st.catalog_index);
	/* the reads see it */
	CHECK(kv_value(&B.st, "bin", 3, v, sizeof(v)) == sizeof(binval) &&
	    memcmp(v, binval, sizeof(binval)) == 0);
	CHECK(kv_value(&B.st, "empty", 5, v, sizeof(v)) == 0);
	CHECK(kv_value(&B.st, binkey, sizeof(binkey), v, sizeof(v)) == 1);
	CHECK(kv_value(&B.st, "web/b/c", 7, v, sizeof(v)) == -1);
	CHECK(instances(&B.st, "web", 0, 0) == 2);
	CHECK(instances(&B.st, "web", 1, 1) == 1);
	/* durable: a reopen reads the same state and indexes */
	ts_reopen(&B);
	CHECK(same(&A.st, &B.st) == 17);
	/* saving what was restored gives the same file, byte for byte */
	snap_path(again, sizeof(again), "a2.snap");
	CHECK(store_snapshot_save(&B.st, again, &index, err, sizeof(err)) ==
	    0);
	p = slurp(path, &n);
	q = slurp(again, &m);
	CHECK(p != NULL && q != NULL && n == m && memcmp(p, q, n) == 0);
	free(p);
	free(q);
}

static void
test_restore_over(void)
{
	char path[128], err[256], key[32];
	uint64_t index;
	int i;

	/* C has other data, further along than A */
	for (i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "other/%d", i);
		CHECK(kv_set(&C, key, strlen(key), "o", 1) == 1);
	}
	CHECK(kv_set(&C, "a", 1, "not A's", 7) == 1);
	CHECK(reg(&C, "n9", "10.9.9.9", "cache", "passing") == 1);
	CHECK(C.st.applied > A.st.applied);
	snap_path(path, sizeof(path), "a.snap");
	CHECK(store_snapshot_restore(&C.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == A.st.applied);
	CHECK(same(&A.st, &C.st) == 17);
	CHECK(instances(&C.st, "cache", 0, 0) == 0);
	/* idempotent */
	CHECK(store_snapshot_restore(&C.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(same(&A.st, &C.st) == 17);
	ts_reopen(&C);
	CHECK(same(&A.st, &C.st) == 17);
}

static void
test_apply_after(void)
{
	char path[128], err[256];
	unsigned char v[16];
	uint64_t index, before;

	B.next = B.st.applied + 1;
	CHECK(kv_set(&B, "after", 5, "yes", 3) == 1);
	CHECK(B.st.kv_index == B.st.applied);
	CHECK(kv_value(&B.st, "after", 5, v, sizeof(v)) == 3 &&
	    memcmp(v, "yes", 3) == 0);
	/* a write that depends on restored records: cas on "a" */
	CHECK(kv_set(&B, "a", 1, "new", 3) == 1);
	before = B.st.catalog_index;
	CHECK(reg(&B, "n4", "10.0.0.4", "api", "passing") == 1);
	CHECK(B.st.catalog_index == B.st.applied && B.st.catalog_index >
	    before);
	CHECK(check_status(&B, "n1", "service:web", "critical") == 1);
	CHECK(instances(&B.st, "web", 1, 1) == 0);
	CHECK(kv_del(&B, OP_KV_DELETE_TREE, "web/") == 1);
	CHECK(ntable(&B.st, 1) == 5);	/* +after, -web/a */
	/* and that state snapshots too (over the older file: rename) */
	snap_path(path, sizeof(path), "b.snap");
	CHECK(store_snapshot_save(&B.st, path, &index, err, sizeof(err)) == 0);
	CHECK(store_snapshot_save(&B.st, path, &index, err, sizeof(err)) == 0);
	CHECK(index == B.st.applied);
	CHECK(store_snapshot_restore(&C.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(same(&B.st, &C.st) > 17);
	C.next = C.st.applied + 1;
}

/* slurp - a whole file */
static unsigned char *
slurp(const char *path, size_t *n)
{
	unsigned char *p;
	FILE *f;
	long len;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if ((p = malloc(len + 1)) == NULL ||
	    fread(p, 1, len, f) != (size_t)len) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	*n = (size_t)len;
	return p;
}

static void
spit(const char *path, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fwrite(p, 1, n, f) == n);
	fclose(f);
}

/* rec_off - where record r of table t starts, walking the lengths */
static size_t
rec_off(const unsigned char *p, int t, uint64_t r)
{
	size_t off = HDR_LEN;
	uint64_t i, k;
	int j;

	for (j = 0; j <= t; j++)
		for (i = 0, k = be64_get(p + 41 + 8 * j); i < k; i++) {
			if (j == t && i == r)
				return off;
			off += ATTR_HDR_LEN + be32_get(p + off + 4);
		}
	return off;
}

enum mut {
	M_FLIP,		/* xor 0x55 at off, checksum left stale */
	M_CUT,		/* keep off bytes (0: half the file) */
	M_SET8,		/* byte at off = val, checksum fixed */
	M_SET32,	/* be32 at off = val, checksum fixed */
	M_ADD32,	/* be32 at off += val, checksum fixed */
	M_SET64,	/* be64 at off = val, checksum fixed */
	M_ADD64,	/* be64 at off += val, checksum fixed */
	M_APPEND,	/* one byte more before the trailer, checksum fixed */
	M_APPEND_RAW,	/* one byte more at the very end */
};

#define ABS	-1	/* off is from the start (from the end if < 0) */
#define COUNT(t)	(41 + 8 * (t))

static void
test_corrupt(void)
{
	/* t, r: off is within record r of table t (0 meta .. 4 checks) */
	static const struct {
		const char	*name;
		enum mut	 m;
		int		 t, r;
		long		 off;
		uint64_t	 val;
		const char	*want;
	} cases[] = {
	    { "flip in the middle", M_FLIP, ABS, 0, 0, 0,
		"checksum mismatch" },
	    { "flip in a count", M_FLIP, ABS, 0, COUNT(1) + 7, 0,
		"checksum mismatch" },
	    { "flip in the applied index", M_FLIP, ABS, 0, 20, 0,
		"checksum mismatch" },
	    { "flip in a key", M_FLIP, 1, 2, 16, 0, "checksum mismatch" },
	    { "flip in the trailer", M_FLIP, ABS, 0, -2, 0,
		"checksum mismatch" },
	    { "empty file", M_CUT, ABS, 0, -100000, 0, "truncated" },
	    { "cut in the magic", M_CUT, ABS, 0, 5, 0, "truncated" },
	    { "cut after the magic", M_CUT, ABS, 0, 9, 0, "truncated" },
	    { "cut in the version", M_CUT, ABS, 0, 11, 0, "truncated" },
	    { "cut in the header", M_CUT, ABS, 0, 50, 0, "truncated" },
	    { "cut after the header", M_CUT, ABS, 0, HDR_LEN, 0,
		"truncated" },
	    { "cut to a header and trailer", M_CUT, ABS, 0, HDR_LEN + 4, 0,
		"checksum" },
	    { "cut in a record", M_CUT, ABS, 0, HDR_LEN + 30, 0,
		"checksum" },
	    { "cut in the middle", M_CUT, ABS, 0, 0, 0, "checksum" },
	    { "cut before the trailer", M_CUT, ABS, 0, -4, 0, "checksum" },
	    { "cut the last byte", M_CUT, ABS, 0, -1, 0, "checksum" },
	    { "wrong magic", M_SET8, ABS, 0, 0, 'X',
		"not a cairn snapshot" },
	    { "wrong magic, last byte", M_SET8, ABS, 0, 8, 'p',
		"not a cairn snapshot" },
	    { "wrong version", M_SET32, ABS, 0, 9, 4, "format version 4" },
	    { "version 0", M_SET32, ABS, 0, 9, 0, "format version 0" },
	    { "wrong table count", M_SET32, ABS, 0, 37, 6, "6 tables" },
	    { "meta count +1", M_ADD64, ABS, 0, COUNT(0), 1, "has type 2" },
	    { "kv count -1", M_ADD64, ABS, 0, COUNT(1), -1, "has type 2" },
	    { "checks count +1", M_ADD64, ABS, 0, COUNT(4), 1, "truncated" },
	    { "checks count -1", M_ADD64, ABS, 0, COUNT(4), -1,
		"bytes after" },
	    { "locks count +1", M_ADD64, ABS, 0, COUNT(6), 1, "truncated" },
	    { "queries count +1", M_ADD64, ABS, 0, COUNT(7), 1, "truncated" },
	    { "huge count", M_SET64, ABS, 0, COUNT(4), UINT64_MAX,
		"truncated" },
	    { "record type", M_SET8, 1, 0, 1, 9, "has type 9" },
	    { "record length +1", M_ADD32, 2, 0, 4, 1, "malformed" },
	    { "record length -1", M_ADD32, 2, 0, 4, -1, "malformed" },
	    { "record length huge", M_SET32, 4, 2, 4, 0xfffffff0,
		"over the limit" },
	    { "record length past the end", M_SET32, 4, 2, 4, 0x100000,
		"truncated" },
	    { "inner key type", M_SET8, 1, 1, 9, 99, "malformed" },
	    { "inner key length", M_SET8, 1, 1, 15, 0xff, "malformed" },
	    { "keys out of order", M_SET8, 1, 0, 16, 0xff, "out of order" },
	    { "duplicate key", M_SET8, 2, 1, 17, '1', "out of order" },
	    { "meta applied", M_SET8, 0, 0, 16 + 7 + 8 + 7, 0x77,
		"disagrees" },
	    { "byte appended, checksum fixed", M_APPEND, ABS, 0, 0, 0,
		"bytes after" },
	    { "byte appended", M_APPEND_RAW, ABS, 0, 0, 0, "checksum" },
	};
	char path[128], bad[128], err[256];
	unsigned char *good, *p;
	size_t n, len, i, off;
	uint64_t index, applied = C.st.applied;
	long o;

	snap_path(path, sizeof(path), "b.snap");
	snap_path(bad, sizeof(bad), "bad.snap");
	if ((good = slurp(path, &n)) == NULL) {
		CHECK(0);
		return;
	}
	/* the layout the offsets above assume; rec_off trusts it */
	if (n < 400 || memcmp(good, "CAIRNSNAP", 9) != 0 ||
	    be64_get(good + COUNT(0)) != 3 || be64_get(good + COUNT(1)) != 5 ||
	    be64_get(good + COUNT(2)) != 4 || be64_get(good + COUNT(4)) != 4 ||
	    rec_off(good, 4, 3) + 8 > n ||
	    be16_get(good + rec_off(good, 4, 2)) != 5 ||
	    memcmp(good + rec_off(good, 2, 1) + 16, "n2", 2) != 0) {
		fprintf(stderr, "b.snap does not have the expected layout\n");
		CHECK(0);
		free(good);
		return;
	}
	if ((p = malloc(n + 1)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(p, good, n);
		len = n;
		o = cases[i].off;
		if (cases[i].t != ABS)
			off = rec_off(good, cases[i].t, cases[i].r) + o;
		else if (o < 0)
			off = o < -(long)n ? 0 : n + o;
		else
			off = o;
		switch (cases[i].m) {
		case M_FLIP:
			if (o == 0 && cases[i].t == ABS)
				off = n / 2;
			p[off] ^= 0x55;
			break;
		case M_CUT:
			if (o == 0)
				off = n / 2;
			len = off;
			break;
		case M_SET8:
			p[off] = (unsigned char)cases[i].val;
			break;
		case M_SET32:
			be32_put(p + off, (uint32_t)cases[i].val);
			break;
		case M_ADD32:
			be32_put(p + off, be32_get(p + off) +
			    (uint32_t)cases[i].val);
			break;
		case M_SET64:
			be64_put(p + off, cases[i].val);
			break;
		case M_ADD64:
			be64_put(p + off, be64_get(p + off) + cases[i].val);
			break;
		case M_APPEND:
			p[n - 4] = 0;
			len = n + 1;
			break;
		case M_APPEND_RAW:
			p[n] = 0;
			len = n + 1;
			break;
		}
		if (cases[i].m != M_FLIP && cases[i].m != M_CUT &&
		    cases[i].m != M_APPEND_RAW)
			be32_put(p + len - 4, crc32c(0, p, len - 4));
		spit(bad, p, len);
		err[0] = '\0';
		index = 12345;
		if (store_snapshot_restore(&C.st, bad, &index, err,
		    sizeof(err)) == 0 || strstr(err, cases[i].want) == NULL) {
			fprintf(stderr, "case \"%s\": got \"%s\", want "
			    "\"%s\"\n", cases[i].name, err, cases[i].want);
			CHECK(0);
		}
		CHECK(index == 12345);
		CHECK(C.st.applied == applied);
		CHECK(same(&B.st, &C.st) > 17);
	}
	/* not there, not a file */
	CHECK(store_snapshot_restore(&C.st, "/nonexistent/x.snap", &index,
	    err, sizeof(err)) < 0 && strstr(err, "No such file") != NULL);
	CHECK(store_snapshot_restore(&C.st, base, &index, err,
	    sizeof(err)) < 0 && strstr(err, "not a regular file") != NULL);
	CHECK(same(&B.st, &C.st) > 17);
	/* and the good file still restores */
	CHECK(store_snapshot_restore(&C.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(same(&B.st, &C.st) > 17);
	free(p);
	free(good);
}

/*
 * test_version1 - a file in the version 1 layout (no sessions, no locks)
 * is still read: b.snap rewritten by hand as version 1
 */
static void
test_version1(void)
{
	char path[128], old[128], err[256];
	unsigned char *good, *p;
	uint64_t index = 0;
	size_t n, m;

	snap_path(path, sizeof(path), "b.snap");
	snap_path(old, sizeof(old), "v1.snap");
	if ((good = slurp(path, &n)) == NULL || n < HDR_LEN + 4 ||
	    be64_get(good + COUNT(5)) != 0 || be64_get(good + COUNT(6)) != 0 ||
	    be64_get(good + COUNT(7)) != 0) {
		CHECK(0);
		free(good);
		return;
	}
	m = n - (HDR_LEN - HDR_LEN_V1);
	if ((p = malloc(n)) == NULL)
		log_fatal("out of memory");
	memcpy(p, good, HDR_LEN_V1);
	be32_put(p + 9, 1);
	be32_put(p + 37, 5);
	memcpy(p + HDR_LEN_V1, good + HDR_LEN, n - HDR_LEN);
	be32_put(p + m - 4, crc32c(0, p, m - 4));
	spit(old, p, m);
	CHECK(store_snapshot_restore(&C.st, old, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == B.st.applied);
	CHECK(same(&B.st, &C.st) > 17);
	/* a version 1 header saying 7 tables is refused */
	be32_put(p + 37, 7);
	be32_put(p + m - 4, crc32c(0, p, m - 4));
	spit(old, p, m);
	CHECK(store_snapshot_restore(&C.st, old, &index, err,
	    sizeof(err)) < 0 && strstr(err, "7 tables, version 1 has 5"));
	free(p);
	free(good);
}

/*
 * test_version2 - a file in the version 2 layout (no queries) is still
 * read: b.snap rewritten by hand as version 2
 */
static void
test_version2(void)
{
	char path[128], old[128], err[256];
	unsigned char *good, *p;
	uint64_t index = 0;
	size_t n, m;

	snap_path(path, sizeof(path), "b.snap");
	snap_path(old, sizeof(old), "v2.snap");
	if ((good = slurp(path, &n)) == NULL || n < HDR_LEN + 4 ||
	    be64_get(good + COUNT(7)) != 0) {
		CHECK(0);
		free(good);
		return;
	}
	m = n - (HDR_LEN - HDR_LEN_V2);
	if ((p = malloc(n)) == NULL)
		log_fatal("out of memory");
	memcpy(p, good, HDR_LEN_V2);
	be32_put(p + 9, 2);
	be32_put(p + 37, 7);
	memcpy(p + HDR_LEN_V2, good + HDR_LEN, n - HDR_LEN);
	be32_put(p + m - 4, crc32c(0, p, m - 4));
	spit(old, p, m);
	CHECK(store_snapshot_restore(&C.st, old, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == B.st.applied);
	CHECK(same(&B.st, &C.st) > 17);
	/* a version 2 header saying 8 tables is refused */
	be32_put(p + 37, 8);
	be32_put(p + m - 4, crc32c(0, p, m - 4));
	spit(old, p, m);
	CHECK(store_snapshot_restore(&C.st, old, &index, err,
	    sizeof(err)) < 0 && strstr(err, "8 tables, version 2 has 7"));
	free(p);
	free(good);
}

static void
test_save_errors(void)
{
	char err[256];
	uint64_t index = 7;

	CHECK(store_snapshot_save(&A.st, "/nonexistent/dir/x.snap", &index,
	    err, sizeof(err)) < 0 && strstr(err, "create") != NULL);
	CHECK(index == 7);
	/* the cache ahead of the table: inside an open transaction */
	A.st.applied++;
	CHECK(store_snapshot_save(&A.st, "/tmp/never", &index, err,
	    sizeof(err)) < 0 && strstr(err, "transaction") != NULL);
	A.st.applied--;
	CHECK(!exists("/tmp/never") && !exists("/tmp/never.tmp"));
}

static void
test_empty(void)
{
	struct tstore E;
	char path[128], again[128], err[256];
	size_t n, m = 1;
	unsigned char *p, *q;
	uint64_t index = 99;

	ts_open(&E, "e");
	snap_path(path, sizeof(path), "e.snap");
	CHECK(store_snapshot_save(&E.st, path, &index, err, sizeof(err)) == 0);
	CHECK(index == 0);
	p = slurp(path, &n);
	CHECK(p != NULL && n == HDR_LEN + 4);
	free(p);
	CHECK(kv_set(&E, "k", 1, "v", 1) == 1);
	CHECK(reg(&E, "n1", "10.0.0.1", "web", "passing") == 1);
	CHECK(store_snapshot_restore(&E.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == 0 && E.st.applied == 0 && E.st.kv_index == 0 &&
	    E.st.catalog_index == 0);
	/* everything is empty, meta too: absent indexes read as 0 */
	CHECK(ntable(&E.st, 0) == 0 && ntable(&E.st, 1) == 0 &&
	    ntable(&E.st, 2) == 0 && ntable(&E.st, 3) == 0 &&
	    ntable(&E.st, 4) == 0);
	E.next = 1;
	CHECK(kv_set(&E, "k", 1, "v", 1) == 1 && E.st.kv_index == 1);
	/* only KV written: meta has no catalog_index; a restore and a
	   save again give the same file */
	CHECK(store_snapshot_save(&E.st, path, &index, err, sizeof(err)) == 0);
	CHECK(ntable(&E.st, 0) == 2);
	CHECK(kv_set(&E, "k2", 2, "v", 1) == 1);
	CHECK(store_snapshot_restore(&E.st, path, &index, err,
	    sizeof(err)) == 0);
	CHECK(index == 1 && ntable(&E.st, 0) == 2 && ntable(&E.st, 1) == 1);
	snap_path(again, sizeof(again), "e2.snap");
	CHECK(store_snapshot_save(&E.st, again, &index, err, sizeof(err)) ==
	    0);
	p = slurp(path, &n);
	q = slurp(again, &m);
	CHECK(p != NULL && q != NULL && n == m && memcmp(p, q, n) == 0);
	free(p);
	free(q);
	store_close(&E.st);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_large(void)
{
	struct tstore L, M;
	char path[128], err[256], key[32];
	unsigned char val[100];
	struct buf cmd, res;
	struct stat sb;
	uint64_t index;
	double t0, tsave, trestore, tover;
	DB_TXN *t = NULL;
	int i;

	ts_open(&L, "large");
	ts_open(&M, "large2");
	buf_init(&cmd);
	buf_init(&res);
	for (i = 0; i < LARGE_KEYS; i++) {
		if (i % 1000 == 0)
			CHECK(store_txn_begin(&L.st, &t) == 0);
		snprintf(key, sizeof(key), "bench/key-%07d", i);
		memset(val, 'a' + i % 26, sizeof(val));
		val[0] = (unsigned char)i;
		buf_reset(&cmd);
		attr_put_u32(&cmd, A_OP, OP_KV_SET);
		attr_put_str(&cmd, A_KEY, key);
		attr_put(&cmd, A_VALUE, val, sizeof(val));
		buf_reset(&res);
		CHECK(store_apply(&L.st, t, L.next++, buf_head(&cmd),
		    buf_used(&cmd), &res) == 0);
		if (i % 1000 == 999) {
			CHECK(store_txn_commit(&L.st, t) == 0);
			L.st.applied = L.next - 1;
		}
	}
	buf_free(&cmd);
	buf_free(&res);
	CHECK(reg(&L, "n1", "10.0.0.1", "web", "passing") == 1);
	snap_path(path, sizeof(path), "large.snap");
	t0 = now();
	CHECK(store_snapshot_save(&L.st, path, &index, err, sizeof(err)) == 0);
	tsave = now() - t0;
	CHECK(index == LARGE_KEYS + 1);
	t0 = now();
	if (store_snapshot_restore(&M.st, path, &index, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "restore: %s\n", err);
		CHECK(0);
	}
	trestore = now() - t0;
	CHECK(same(&L.st, &M.st) == LARGE_KEYS + 3 + 3);
	/* over itself: truncating 100,000 records in the transaction too */
	t0 = now();
	CHECK(store_snapshot_restore(&M.st, path, &index, err,
	    sizeof(err)) == 0);
	tover = now() - t0;
	CHECK(same(&L.st, &M.st) == LARGE_KEYS + 3 + 3);
	CHECK(stat(path, &sb) == 0);
	printf("%d keys of 100 bytes: file %lld bytes; save %.0f ms, "
	    "restore %.0f ms, restore over itself %.0f ms\n", LARGE_KEYS,
	    (long long)sb.st_size, tsave * 1e3, trestore * 1e3, tover * 1e3);
	store_close(&L.st);
	store_close(&M.st);
}

int
main(void)
{
	char cmd[128];
	int rc;

	snprintf(base, sizeof(base), "/tmp/cairn-snap.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	ts_open(&A, "a");
	ts_open(&B, "b");
	ts_open(&C, "c");
	RUN(test_roundtrip);
	RUN(test_restore_over);
	RUN(test_apply_after);
	RUN(test_corrupt);
	RUN(test_version1);
	RUN(test_version2);
	RUN(test_save_errors);
	RUN(test_empty);
	RUN(test_large);
	store_close(&A.st);
	store_close(&B.st);
	store_close(&C.st);
	rc = TEST_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
