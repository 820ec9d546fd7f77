/*
 * txn.c - /v1/txn's KV operations, all or none (Consul's
 * agent/consul/state/txn.go and kvs.go txn verbs).
 *
 * Every operation runs in one child transaction of the apply
 * transaction; if any fails, the child is aborted and the result lists
 * every failed operation with Consul's words, so nothing of it is
 * applied. Writes go through kv.c's own functions, so a transaction's
 * set, cas, lock and unlock mean exactly what the plain endpoints mean.
 *
 * Left out: the Node, Service and Check operations (httpd refuses them),
 * and read-only transactions as reads: they go through the log like the
 * rest.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "store.h"

enum verb {
	V_SET, V_CAS, V_LOCK, V_UNLOCK, V_GET, V_GET_OR_EMPTY, V_GET_TREE,
	V_CHECK_INDEX, V_CHECK_SESSION, V_CHECK_NOT_EXISTS, V_DELETE,
	V_DELETE_TREE, V_DELETE_CAS, V_UNKNOWN
};

static const char *verbs[] = {
	"set", "cas", "lock", "unlock", "get", "get-or-empty", "get-tree",
	"check-index", "check-session", "check-not-exists", "delete",
	"delete-tree", "delete-cas"
};

static enum verb
verb_of(const struct attr *a)
{
	size_t i;

	for (i = 0; i < V_UNKNOWN; i++)
		if (a->len == strlen(verbs[i]) &&
		    memcmp(a->val, verbs[i], a->len) == 0)
			return (enum verb)i;
	return V_UNKNOWN;
}

/* txn_error - operation i failed, and why */
static void
txn_error(struct buf *errs, uint32_t i, const char *fmt, ...)
{
	char msg[600];
	size_t nest;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nest = attr_nest_begin(errs, A_TXN_ERROR);
	attr_put_u32(errs, A_OP_INDEX, i);
	attr_put_str(errs, A_MSG, msg);
	attr_nest_end(errs, nest);
}

#define KEY(a)	(int)(a)->len, (const char *)(a)->val

/*
 * txn_write - one write through kv_apply, its entry (without the value)
 * into out when it succeeds, or why not into errs; -1 on a storage error
 */
static int
txn_write(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, uint32_t i, const char *failed,
    struct buf *out, struct buf *errs)
{
	struct attr rt[ATTR_TAB];
	struct buf res;
	uint64_t ok = 0;
	char msg[512];
	int rc;

	buf_init(&res);
	if ((rc = kv_apply(s, t, index, op, tab, &res)) < 0) {
		buf_free(&res);
		return -1;
	}
	attr_index(buf_head(&res), buf_used(&res), rt, ATTR_TAB);
	if (attr_present(&rt[A_STATUS])) {
		attr_strcpy(&rt[A_MSG], msg, sizeof(msg));
		txn_error(errs, i, "%s", msg);
	} else if (attr_u64(&rt[A_RESULT], &ok) == 0 && !ok)
		txn_error(errs, i, failed, KEY(&tab[A_KEY]));
	else if (op != OP_KV_DELETE && op != OP_KV_DELETE_TREE)
		rc = kv_read(s, t, tab[A_KEY].val, tab[A_KEY].len, 0, 0, out);
	buf_free(&res);
	return rc < 0 ? -1 : 0;
}

/*
 * txn_check - get, get-or-empty, and the check verbs: the key as it is
 * (with its value for the get verbs), or why the check failed
 */
static int
txn_check(struct store *s, DB_TXN *t, enum verb v, const struct attr *tab,
    uint32_t i, struct buf *out, struct buf *errs)
{
	const struct attr *key = &tab[A_KEY];
	struct attr et[ATTR_TAB];
	uint64_t want = 0, have = 0;
	struct buf got;
	size_t nest;
	int n;

	buf_init(&got);
	if ((n = kv_read(s, t, key->val, key->len, 0, v == V_GET ||
	    v == V_GET_OR_EMPTY, &got)) < 0) {
		buf_free(&got);
		return -1;
	}
	memset(et, 0, sizeof(et));
	if (n > 0) {
		attr_index(buf_head(&got), buf_used(&got), et, ATTR_TAB);
		attr_index(et[A_ENTRY].val, et[A_ENTRY].len, et, ATTR_TAB);
	}
	attr_u64(&tab[A_INDEX], &want);
	attr_u64(&et[A_MODIFY_INDEX], &have);
	if (v == V_CHECK_NOT_EXISTS) {
		if (n > 0)
			txn_error(errs, i, "key \"%.*s\" exists", KEY(key));
	} else if (n == 0 && v == V_GET_OR_EMPTY) {
		nest = attr_nest_begin(out, A_ENTRY);
		attr_put(out, A_KEY, key->val, key->len);
		attr_nest_end(out, nest);
	} else if (n == 0)
		txn_error(errs, i, "key \"%.*s\" doesn't exist", KEY(key));
	else if (v == V_CHECK_INDEX && want != have)
		txn_error(errs, i, "current modify index %" PRIu64 " != %"
		    PRIu64, have, want);
	else if (v == V_CHECK_SESSION && (et[A_SESSION].len !=
	    tab[A_SESSION].len || (et[A_SESSION].len > 0 &&
	    memcmp(et[A_SESSION].val, tab[A_SESSION].val,
	    et[A_SESSION].len) != 0)))
		txn_error(errs, i, "current session \"%.*s\" != \"%.*s\"",
		    KEY(&et[A_SESSION]), KEY(&tab[A_SESSION]));
	else
		buf_append(out, buf_head(&got), buf_used(&got));
	buf_free(&got);
	return 0;
}

/* txn_op - operation i: results into out, or its failure into errs */
static int
txn_op(struct store *s, DB_TXN *t, uint64_t index, const struct attr *op,
    uint32_t i, struct buf *out, struct buf *errs)
{
	struct attr tab[ATTR_TAB];
	struct buf w;
	enum verb v;
	int rc;

	if (attr_index(op->val, op->len, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_KEY])) {
		txn_error(errs, i, "malformed operation");
		return 0;
	}
	/* kv_apply reads a CAS index as A_CAS */
	if ((v = verb_of(&tab[A_VERB])) == V_CAS || v == V_DELETE_CAS) {
		buf_init(&w);
		buf_append(&w, op->val, op->len);
		attr_put(&w, A_CAS, tab[A_INDEX].val, tab[A_INDEX].len);
		attr_index(buf_head(&w), buf_used(&w), tab, ATTR_TAB);
		rc = txn_write(s, t, index, v == V_CAS ? OP_KV_SET :
		    OP_KV_DELETE, tab, i, v == V_CAS ? "failed to set key "
		    "\"%.*s\", index is stale" : "failed to delete key "
		    "\"%.*s\", index is stale", out, errs);
		buf_free(&w);
		return rc;
	}
	switch (v) {
	case V_SET:
		return txn_write(s, t, index, OP_KV_SET, tab, i, "failed "
		    "to set key \"%.*s\"", out, errs);
	case V_LOCK:
		return txn_write(s, t, index, OP_KV_LOCK, tab, i, "failed "
		    "to lock key \"%.*s\", lock is already held", out, errs);
	case V_UNLOCK:
		return txn_write(s, t, index, OP_KV_UNLOCK, tab, i, "failed "
		    "to unlock key \"%.*s\", lock isn't held, or is held by "
		    "another session", out, errs);
	case V_DELETE:
		return txn_write(s, t, index, OP_KV_DELETE, tab, i, "failed "
		    "to delete key \"%.*s\"", out, errs);
	case V_DELETE_TREE:
		return txn_write(s, t, index, OP_KV_DELETE_TREE, tab, i,
		    "failed to delete keys under \"%.*s\"", out, errs);
	case V_GET_TREE:
		return kv_read(s, t, tab[A_KEY].val, tab[A_KEY].len, 1, 1,
		    out) < 0 ? -1 : 0;
	case V_UNKNOWN:
		txn_error(errs, i, "unknown KV verb \"%.*s\"", KEY(&tab[A_VERB]));
		return 0;
	default:
		return txn_check(s, t, v, tab, i, out, errs);
	}
}

/* txn_apply - see store.h */
int
txn_apply(struct store *s, DB_TXN *t, uint64_t index, const void *cmd,
    size_t len, struct buf *res)
{
	uint64_t kv_index = s->kv_index;
	struct attr_iter it;
	struct buf out, errs;
	struct attr a;
	uint32_t i = 0;
	DB_TXN *child;
	int rc = 0;

	if ((rc = s->env->txn_begin(s->env, t, &child, 0)) != 0)
		return store_fail(rc, "txn_begin (child)");
	buf_init(&out);
	buf_init(&errs);
	attr_iter_init(&it, cmd, len);
	while (rc == 0 && attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY)
			rc = txn_op(s, child, index, &a, i++, &out, &errs);
	if (rc == 0 && buf_used(&errs) == 0) {
		if ((rc = child->commit(child, 0)) != 0)
			rc = store_fail(rc, "commit (child)");
		attr_put_u8(res, A_RESULT, 1);
		buf_append(res, buf_head(&out), buf_used(&out));
	} else {
		child->abort(child);
		s->kv_index = kv_index;		/* the cache follows */
		if (rc == 0) {
			attr_put_u8(res, A_RESULT, 0);
			buf_append(res, buf_head(&errs), buf_used(&errs));
		}
	}
	buf_free(&out);
	buf_free(&errs);
	return rc < 0 ? -1 : 0;
}
