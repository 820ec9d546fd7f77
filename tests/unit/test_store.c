/*
 * test_store.c - kvd's store: Consul's KV semantics (set, cas, delete,
 * delete-cas, delete-tree, get, recurse, keys with a separator), the
 * catalog (register, unchanged writes, check status, deregister, service
 * and health queries), and that state and the applied index survive a
 * reopen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "store.h"
#include "test.h"

static char dir[64];
static struct store st;
static uint64_t next_index = 1;

/* apply - run one command at the next index; returns A_RESULT or -status */
static int
apply(const struct buf *cmd)
{
	struct attr tab[ATTR_TAB];
	struct buf res;
	uint64_t r = 0;
	uint32_t status;
	DB_TXN *t;
	int out;

	buf_init(&res);
	CHECK(store_txn_begin(&st, &t) == 0);
	CHECK(store_apply(&st, t, next_index, buf_head(cmd), buf_used(cmd),
	    &res) == 0);
	CHECK(store_txn_commit(&st, t) == 0);
	st.applied = next_index++;
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

static int
kv_set_cmd(const char *key, const char *val, int cas, uint64_t casv)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_KV_SET);
	attr_put_str(&b, A_KEY, key);
	attr_put_str(&b, A_VALUE, val);
	attr_put_u64(&b, A_FLAGS, 42);
	if (cas)
		attr_put_u64(&b, A_CAS, casv);
	r = apply(&b);
	buf_free(&b);
	return r;
}

static int
kv_del_cmd(uint32_t op, const char *key, int cas, uint64_t casv)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, op);
	attr_put_str(&b, A_KEY, key);
	if (cas)
		attr_put_u64(&b, A_CAS, casv);
	r = apply(&b);
	buf_free(&b);
	return r;
}

/* get1 - value and modify index of one key; -1 if absent */
static int
get1(const char *key, char *val, size_t n, uint64_t *modify)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	struct buf out;
	uint64_t index;

	buf_init(&out);
	CHECK(kv_get(&st, key, strlen(key), 0, &out, &index) == 0);
	attr_index(buf_head(&out), buf_used(&out), tab, ATTR_TAB);
	if (!attr_present(&tab[A_ENTRY])) {
		buf_free(&out);
		return -1;
	}
	attr_index(tab[A_ENTRY].val, tab[A_ENTRY].len, et, ATTR_TAB);
	attr_strcpy(&et[A_VALUE], val, n);
	attr_u64(&et[A_MODIFY_INDEX], modify);
	buf_free(&out);
	return 0;
}

/* count - entries (A_ENTRY) or keys (A_KEY) in a reply, joined */
static int
count(const struct buf *out, uint16_t type, char *joined, size_t n)
{
	struct attr_iter it;
	struct attr a, et[ATTR_TAB];
	int c = 0;

	joined[0] = '\0';
	attr_iter_init(&it, buf_head(out), buf_used(out));
	while (attr_next(&it, &a) == 1) {
		if (a.type != type)
			continue;
		if (type == A_ENTRY) {
			attr_index(a.val, a.len, et, ATTR_TAB);
			a = et[A_KEY];
		}
		snprintf(joined + strlen(joined), n - strlen(joined), "%s%.*s",
		    c ? "," : "", (int)a.len, a.val);
		c++;
	}
	return c;
}

static void
test_kv_set_cas(void)
{
	char v[64];
	uint64_t m1, m2;

	CHECK(kv_set_cmd("a", "1", 0, 0) == 1);
	CHECK(get1("a", v, sizeof(v), &m1) == 0);
	CHECK_STR(v, "1");
	CHECK(kv_set_cmd("a", "2", 1, 0) == 0);		/* cas=0: exists */
	CHECK(kv_set_cmd("new", "x", 1, 0) == 1);	/* cas=0: created */
	CHECK(kv_set_cmd("a", "3", 1, m1 + 100) == 0);	/* wrong index */
	CHECK(kv_set_cmd("a", "4", 1, m1) == 1);
	CHECK(get1("a", v, sizeof(v), &m2) == 0 && m2 > m1);
	CHECK_STR(v, "4");
	CHECK(kv_set_cmd("nope", "x", 1, 5) == 0);	/* cas>0, absent */
	CHECK(get1("nope", v, sizeof(v), &m2) == -1);
}

static void
test_kv_delete(void)
{
	char v[64];
	uint64_t m;

	CHECK(kv_set_cmd("d", "1", 0, 0) == 1);
	CHECK(get1("d", v, sizeof(v), &m) == 0);
	CHECK(kv_del_cmd(OP_KV_DELETE, "d", 1, m + 1) == 0);
	CHECK(get1("d", v, sizeof(v), &m) == 0);
	CHECK(kv_del_cmd(OP_KV_DELETE, "d", 1, m) == 1);
	CHECK(get1("d", v, sizeof(v), &m) == -1);
	/* Consul: a cas delete of an absent key is true */
	CHECK(kv_del_cmd(OP_KV_DELETE, "d", 1, 9) == 1);
	CHECK(kv_del_cmd(OP_KV_DELETE, "d", 0, 0) == 1);
}

static void
test_kv_tree(void)
{
	static const char *keys[] = { "web/a", "web/b/c", "web/b/d", "web2",
	    "web/e/f/g" };
	char joined[256];
	struct buf out;
	uint64_t index;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(kv_set_cmd(keys[i], "v", 0, 0) == 1);
	buf_init(&out);
	CHECK(kv_get(&st, "web/", 4, 1, &out, &index) == 0);
	CHECK(count(&out, A_ENTRY, joined, sizeof(joined)) == 4);
	CHECK_STR(joined, "web/a,web/b/c,web/b/d,web/e/f/g");
	CHECK(index == next_index - 1);	/* the table's index */
	buf_reset(&out);
	CHECK(kv_keys(&st, "web/", 4, "/", 1, &out, &index) == 0);
	count(&out, A_KEY, joined, sizeof(joined));
	CHECK_STR(joined, "web/a,web/b/,web/e/");
	buf_reset(&out);
	CHECK(kv_keys(&st, "web", 3, NULL, 0, &out, &index) == 0);
	CHECK(count(&out, A_KEY, joined, sizeof(joined)) == 5);
	buf_reset(&out);
	CHECK(kv_keys(&st, "", 0, "/", 1, &out, &index) == 0);
	count(&out, A_KEY, joined, sizeof(joined));
	CHECK(strstr(joined, "web/,") != NULL);
	CHECK(kv_del_cmd(OP_KV_DELETE_TREE, "web/b", 0, 0) == 1);
	buf_reset(&out);
	CHECK(kv_get(&st, "web/", 4, 1, &out, &index) == 0);
	CHECK(count(&out, A_ENTRY, joined, sizeof(joined)) == 2);
	CHECK(index == next_index - 1);	/* the delete moved the table */
	buf_free(&out);
}

static void
test_kv_bad_command(void)
{
	struct buf b;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_KV_SET);	/* no key */
	CHECK(apply(&b) == -400);
	buf_reset(&b);
	attr_put_u32(&b, A_OP, 77);
	CHECK(apply(&b) == -400);
	buf_reset(&b);
	buf_puts(&b, "garbage");
	CHECK(apply(&b) == -400);
	buf_free(&b);
}

/* reg - register node n (addr) with service svc and a check of status */
static int
reg(const char *n, const char *addr, const char *svc, const char *tag,
    const char *status)
{
	struct buf b;
	size_t nest;
	char id[64];
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CAT_REGISTER);
	nest = attr_nest_begin(&b, A_NODE_REC);
	attr_put_str(&b, A_NODE, n);
	attr_put_str(&b, A_ADDRESS, addr);
	attr_nest_end(&b, nest);
	if (svc != NULL) {
		nest = attr_nest_begin(&b, A_SERVICE_REC);
		attr_put_str(&b, A_SERVICE_ID, svc);
		attr_put_str(&b, A_SERVICE_NAME, svc);
		attr_put_str(&b, A_TAG, tag);
		attr_put_u32(&b, A_PORT, 80);
		attr_nest_end(&b, nest);
		nest = attr_nest_begin(&b, A_CHECK_REC);
		snprintf(id, sizeof(id), "service:%s", svc);
		attr_put_str(&b, A_NODE, n);
		attr_put_str(&b, A_CHECK_ID, id);
		attr_put_str(&b, A_STATUS, status);
		attr_put_str(&b, A_SERVICE_ID, svc);
		attr_nest_end(&b, nest);
	}
	r = apply(&b);
	buf_free(&b);
	return r;
}

static int
instances(const char *svc, const char *tag, int health, int passing)
{
	char joined[256];
	struct buf out;
	int n;

	buf_init(&out);
	CHECK(catalog_service(&st, svc, tag, health, passing, &out) == 0);
	n = count(&out, A_ENTRY, joined, sizeof(joined));
	buf_free(&out);
	return n;
}

static void
test_catalog(void)
{
	struct buf b;
	uint64_t before;
	char joined[256];

	CHECK(reg("n1", "10.0.0.1", "web", "v1", "passing") == 1);
	CHECK(reg("n2", "10.0.0.2", "web", "v2", "critical") == 1);
	CHECK(reg("n2", "10.0.0.2", "db", "primary", "passing") == 1);
	/* the same registration again changes nothing */
	before = st.catalog_index;
	CHECK(reg("n1", "10.0.0.1", "web", "v1", "passing") == 1);
	CHECK(st.catalog_index == before);
	CHECK(reg("n1", "10.0.0.9", NULL, NULL, NULL) == 1);
	CHECK(st.catalog_index > before);
	CHECK(instances("web", NULL, 0, 0) == 2);
	CHECK(instances("WEB", NULL, 0, 0) == 2);	/* no case */
	CHECK(instances("web", "v1", 0, 0) == 1);
	CHECK(instances("web", "nope", 0, 0) == 0);
	CHECK(instances("web", NULL, 1, 1) == 1);	/* n2 is critical */
	/* the check's status changes through OP_CHECK_STATUS */
	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_CHECK_STATUS);
	attr_put_str(&b, A_NODE, "n2");
	attr_put_str(&b, A_CHECK_ID, "service:web");
	attr_put_str(&b, A_STATUS, "passing");
	attr_put_str(&b, A_OUTPUT, "ok");
	CHECK(apply(&b) == 1);
	CHECK(instances("web", NULL, 1, 1) == 2);
	buf_reset(&b);
	attr_put_u32(&b, A_OP, OP_CHECK_STATUS);
	attr_put_str(&b, A_NODE, "n2");
	attr_put_str(&b, A_CHECK_ID, "nope");
	attr_put_str(&b, A_STATUS, "passing");
	CHECK(apply(&b) == -404);
	/* services map, sorted, tags joined */
	buf_reset(&b);
	CHECK(catalog_services(&st, &b) == 0);
	CHECK(count(&b, A_ENTRY, joined, sizeof(joined)) == 2);
	/* deregister a service, then a whole node */
	buf_reset(&b);
	attr_put_u32(&b, A_OP, OP_CAT_DEREGISTER);
	attr_put_str(&b, A_NODE, "n2");
	attr_put_str(&b, A_SERVICE_ID, "web");
	CHECK(apply(&b) == 1);
	CHECK(instances("web", NULL, 0, 0) == 1);
	CHECK(instances("db", NULL, 0, 0) == 1);
	buf_reset(&b);
	attr_put_u32(&b, A_OP, OP_CAT_DEREGISTER);
	attr_put_str(&b, A_NODE, "n2");
	CHECK(apply(&b) == 1);
	CHECK(instances("db", NULL, 0, 0) == 0);
	buf_reset(&b);
	CHECK(catalog_nodes(&st, &b) == 0);
	CHECK(count(&b, A_ENTRY, joined, sizeof(joined)) == 1);
	/* a register without an address is refused */
	buf_reset(&b);
	attr_put_u32(&b, A_OP, OP_CAT_REGISTER);
	CHECK(apply(&b) == -400);
	buf_free(&b);
}

/* sess_create - a session of node with checks (NULL-terminated) */
static int
sess_create(const char *id, const char *node, const char **checks,
    uint64_t delay_ms, const char *behavior)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_SESSION_CREATE);
	attr_put_str(&b, A_SESSION, id);
	attr_put_str(&b, A_NODE, node);
	while (checks != NULL && *checks != NULL)
		attr_put_str(&b, A_CHECK_ID, *checks++);
	attr_put_u64(&b, A_LOCK_DELAY, delay_ms);
	attr_put_str(&b, A_BEHAVIOR, behavior);
	r = apply(&b);
	buf_free(&b);
	return r;
}

/* lock_cmd - acquire (OP_KV_LOCK) or release at wall-clock now */
static int
lock_cmd(uint32_t op, const char *key, const char *val, const char *sess,
    uint64_t now)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, op);
	attr_put_u64(&b, A_NOW, now);
	attr_put_str(&b, A_KEY, key);
	attr_put_str(&b, A_VALUE, val);
	attr_put_str(&b, A_SESSION, sess);
	r = apply(&b);
	buf_free(&b);
	return r;
}

static int
sess_destroy(const char *id, uint64_t now)
{
	struct buf b;
	int r;

	buf_init(&b);
	attr_put_u32(&b, A_OP, OP_SESSION_DESTROY);
	attr_put_u64(&b, A_NOW, now);
	attr_put_str(&b, A_SESSION, id);
	r = apply(&b);
	buf_free(&b);
	return r;
}

static int
sess_exists(const char *id)
{
	struct buf out;
	int n;

	buf_init(&out);
	CHECK(session_info(&st, id, strlen(id), &out) == 0);
	n = buf_used(&out) > 0;
	buf_free(&out);
	return n;
}

/* holder - the session holding key ("" if none) and its lock index */
static void
holder(const char *key, char *sess, size_t n, uint64_t *lock)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	struct buf out;
	uint64_t index;

	buf_init(&out);
	*sess = '\0';
	*lock = 0;
	CHECK(kv_get(&st, key, strlen(key), 0, &out, &index) == 0);
	attr_index(buf_head(&out), buf_used(&out), tab, ATTR_TAB);
	if (attr_present(&tab[A_ENTRY])) {
		attr_index(tab[A_ENTRY].val, tab[A_ENTRY].len, et, ATTR_TAB);
		if (et[A_SESSION].len > 0)
			attr_strcpy(&et[A_SESSION], sess, n);
		attr_u64(&et[A_LOCK_INDEX], lock);
	}
	buf_free(&out);
}

static void
test_sessions(void)
{
	const char *serf[] = { "service:s1", NULL };
	char who[64], v[64];
	uint64_t li, m, before;

	CHECK(reg("sn", "10.0.0.9", "s1", "t", "passing") == 1);
	/* refused: unknown node, unknown check, critical check */
	CHECK(sess_create("x", "nobody", NULL, 0, "release") == -500);
	CHECK(sess_create("x", "sn", (const char *[]){ "nope", NULL }, 0,
	    "release") == -500);
	CHECK(!sess_exists("x"));
	CHECK(sess_create("a", "sn", serf, 1000, "release") == 1);
	CHECK(sess_create("a", "sn", serf, 1000, "release") == -500);
	CHECK(sess_create("b", "sn", NULL, 0, "delete") == 1);
	before = st.session_index;
	/* acquire, re-acquire by the holder, refusal for another */
	CHECK(lock_cmd(OP_KV_LOCK, "l", "1", "a", 5000) == 1);
	holder("l", who, sizeof(who), &li);
	CHECK_STR(who, "a");
	CHECK(li == 1);
	CHECK(lock_cmd(OP_KV_LOCK, "l", "2", "a", 5000) == 1);
	holder("l", who, sizeof(who), &li);
	CHECK(li == 1);
	CHECK(lock_cmd(OP_KV_LOCK, "l", "3", "b", 5000) == 0);
	CHECK(lock_cmd(OP_KV_LOCK, "l", "3", "ghost", 5000) == -500);
	CHECK(lock_cmd(OP_KV_UNLOCK, "l", "3", "b", 5000) == 0);
	/* a plain set keeps the holder */
	CHECK(kv_set_cmd("l", "plain", 0, 0) == 1);
	holder("l", who, sizeof(who), &li);
	CHECK_STR(who, "a");
	/* a's check goes critical: a ends, l is released with lock-delay */
	CHECK(reg("sn", "10.0.0.9", "s1", "t", "critical") == 1);
	CHECK(!sess_exists("a") && sess_exists("b"));
	CHECK(st.session_index > before);
	holder("l", who, sizeof(who), &li);
	CHECK_STR(who, "");
	CHECK(get1("l", v, sizeof(v), &m) == 0);
	CHECK_STR(v, "plain");
	/* the critical check's node applied at A_NOW 0: no delay known */
	CHECK(lock_cmd(OP_KV_LOCK, "l", "b", "b", 5000) == 1);
	holder("l", who, sizeof(who), &li);
	CHECK(li == 2);
	/* lock-delay: c releases at 10000 with 1000 ms of delay */
	CHECK(reg("sn", "10.0.0.9", "s1", "t", "passing") == 1);
	CHECK(sess_create("c", "sn", serf, 1000, "release") == 1);
	CHECK(lock_cmd(OP_KV_LOCK, "d", "c", "c", 9000) == 1);
	CHECK(sess_destroy("c", 10000) == 1);
	CHECK(sess_destroy("c", 10000) == 1);		/* gone: still true */
	CHECK(lock_cmd(OP_KV_LOCK, "d", "b", "b", 10999) == 0);
	CHECK(lock_cmd(OP_KV_LOCK, "d", "b", "b", 11001) == 1);
	/* b's behavior is delete: destroying it deletes what it holds */
	CHECK(sess_destroy("b", 12000) == 1);
	CHECK(get1("l", v, sizeof(v), &m) == -1 && get1("d", v, sizeof(v),
	    &m) == -1);
	/* a node deregistered takes its sessions along */
	CHECK(sess_create("e", "sn", NULL, 0, "release") == 1);
	CHECK(lock_cmd(OP_KV_LOCK, "e", "e", "e", 1) == 1);
	{
		struct buf b;

		buf_init(&b);
		attr_put_u32(&b, A_OP, OP_CAT_DEREGISTER);
		attr_put_str(&b, A_NODE, "sn");
		CHECK(apply(&b) == 1);
		buf_free(&b);
	}
	CHECK(!sess_exists("e"));
	holder("e", who, sizeof(who), &li);
	CHECK_STR(who, "");
	/* a release needs the holder, and is refused on absent keys */
	CHECK(lock_cmd(OP_KV_UNLOCK, "absent", "x", "e", 1) == 0);
}

/* txn_op - append one /v1/txn KV operation */
static void
txn_op(struct buf *b, const char *verb, const char *key, const char *val,
    int has_index, uint64_t index)
{
	size_t nest = attr_nest_begin(b, A_ENTRY);

	attr_put_str(b, A_VERB, verb);
	attr_put_str(b, A_KEY, key);
	if (val != NULL)
		attr_put_str(b, A_VALUE, val);
	if (has_index)
		attr_put_u64(b, A_INDEX, index);
	attr_nest_end(b, nest);
}

/* txn_run - apply a transaction; its result, the errors' op indexes */
static int
txn_run(const struct buf *ops, char *errs, size_t n)
{
	struct attr tab[ATTR_TAB], a, et[ATTR_TAB];
	struct attr_iter it;
	struct buf cmd, res;
	uint64_t ok = 0;
	uint32_t op;
	DB_TXN *t;

	buf_init(&cmd);
	buf_init(&res);
	attr_put_u32(&cmd, A_OP, OP_TXN);
	buf_append(&cmd, buf_head(ops), buf_used(ops));
	CHECK(store_txn_begin(&st, &t) == 0);
	CHECK(store_apply(&st, t, next_index, buf_head(&cmd), buf_used(&cmd),
	    &res) == 0);
	CHECK(store_txn_commit(&st, t) == 0);
	st.applied = next_index++;
	attr_index(buf_head(&res), buf_used(&res), tab, ATTR_TAB);
	attr_u64(&tab[A_RESULT], &ok);
	errs[0] = '\0';
	attr_iter_init(&it, buf_head(&res), buf_used(&res));
	while (attr_next(&it, &a) == 1)
		if (a.type == A_TXN_ERROR &&
		    attr_index(a.val, a.len, et, ATTR_TAB) == 0 &&
		    attr_u32(&et[A_OP_INDEX], &op) == 0)
			snprintf(errs + strlen(errs), n - strlen(errs), "%u,", op);
	buf_free(&cmd);
	buf_free(&res);
	return (int)ok;
}

static void
test_txn(void)
{
	char errs[64], v[64];
	uint64_t m, kvi;
	struct buf ops;

	CHECK(kv_set_cmd("tx/a", "1", 0, 0) == 1);
	CHECK(get1("tx/a", v, sizeof(v), &m) == 0);
	kvi = st.kv_index;
	/* one failing op rolls back the rest, the index cache too */
	buf_init(&ops);
	txn_op(&ops, "set", "tx/b", "2", 0, 0);
	txn_op(&ops, "cas", "tx/a", "x", 1, m + 7);
	txn_op(&ops, "check-not-exists", "tx/a", NULL, 0, 0);
	txn_op(&ops, "bogus", "tx/a", NULL, 0, 0);
	CHECK(txn_run(&ops, errs, sizeof(errs)) == 0);
	CHECK_STR(errs, "1,2,3,");
	CHECK(get1("tx/b", v, sizeof(v), &m) == -1);
	CHECK(st.kv_index == kvi);
	/* all succeed: applied together */
	buf_reset(&ops);
	CHECK(get1("tx/a", v, sizeof(v), &m) == 0);
	txn_op(&ops, "cas", "tx/a", "3", 1, m);
	txn_op(&ops, "set", "tx/b", "2", 0, 0);
	txn_op(&ops, "check-index", "tx/b", NULL, 1, next_index);
	txn_op(&ops, "get-tree", "tx/", NULL, 0, 0);
	txn_op(&ops, "delete-cas", "tx/none", NULL, 1, 1);
	CHECK(txn_run(&ops, errs, sizeof(errs)) == 1);
	CHECK_STR(errs, "");
	CHECK(get1("tx/a", v, sizeof(v), &m) == 0);
	CHECK_STR(v, "3");
	CHECK(get1("tx/b", v, sizeof(v), &m) == 0);
	CHECK(st.kv_index == next_index - 1);
	buf_free(&ops);
}

static void
test_reopen(void)
{
	char err[256], v[64];
	uint64_t applied = st.applied, kvi = st.kv_index, m;

	store_close(&st);
	CHECK(store_open(&st, dir, err, sizeof(err)) == 0);
	CHECK(st.applied == applied);
	CHECK(st.kv_index == kvi);
	CHECK(get1("a", v, sizeof(v), &m) == 0);
	CHECK_STR(v, "4");
	CHECK(instances("web", NULL, 0, 0) == 1);
}

int
main(void)
{
	char err[256], cmd[128];
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/cairn-st.XXXXXX");
	if (mkdtemp(dir) == NULL || store_open(&st, dir, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return 1;
	}
	RUN(test_kv_set_cas);
	RUN(test_kv_delete);
	RUN(test_kv_tree);
	RUN(test_kv_bad_command);
	RUN(test_catalog);
	RUN(test_sessions);
	RUN(test_txn);
	RUN(test_reopen);
	store_close(&st);
	rc = TEST_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return rc;
}
