/*
 * session.c - Consul's sessions: create, destroy, invalidation when the
 * node or one of the session's checks goes away or turns critical, the
 * locks a session holds, and lock-delay (agent/consul/state/session.go).
 *
 *	sessions  ID -> session record (msg.h MSG_SESSION_LIST)
 *	locks	  ID "\0" key -> nothing: the keys a session acquired. An
 *		  entry may be stale (the key was released, deleted or set
 *		  by another session since); invalidation checks each key's
 *		  holder before touching it, then drops them all.
 *	meta	  "delay:" key -> u64 wall-clock ms until which the key may
 *		  not be acquired (lock-delay)
 *
 * Time comes from the command (A_NOW, stamped by the leader that
 * proposed it), never from this server's clock, so every server decides
 * an acquire the same way. TTLs are the leader's business (raftd's
 * session.c); here a session is only ever destroyed by a command.
 *
 * Left out: sessions by check are found by scanning the sessions of the
 * node a catalog write touched (fine for the hundreds a cluster has, not
 * for millions); Consul's namespaces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "store.h"

#define DELAY_PREFIX	"delay:"
#define DELAY_PLEN	(sizeof(DELAY_PREFIX) - 1)

/* sess_touch - the sessions table changed at index */
static int
sess_touch(struct store *s, DB_TXN *t, uint64_t index)
{
	s->session_index = index;
	store_note(s, TOUCH_SESSIONS, "", 0);
	return store_meta_put(s, t, "session_index", index);
}

/* session_get - a session record by ID; 1 found (d malloc'd), 0, -1 */
int
session_get(struct store *s, DB_TXN *t, const void *id, size_t n, DBT *d)
{
	DBT k;
	int rc;

	store_dbt(&k, id, n);
	memset(d, 0, sizeof(*d));
	d->flags = DB_DBT_MALLOC;
	rc = s->sessions->get(s->sessions, t, &k, d, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "session get");
	return 1;
}

/* delay_key - "delay:" key */
static void
delay_key(struct buf *b, const void *key, size_t n)
{
	buf_reset(b);
	buf_append(b, DELAY_PREFIX, DELAY_PLEN);
	buf_append(b, key, n);
}

/* session_delay_active - 1 while key's lock-delay runs at now */
int
session_delay_active(struct store *s, DB_TXN *t, const void *key, size_t n,
    uint64_t now)
{
	unsigned char x[8];
	struct buf b;
	DBT k, d;
	int rc;

	buf_init(&b);
	delay_key(&b, key, n);
	store_dbt(&k, buf_head(&b), buf_used(&b));
	memset(&d, 0, sizeof(d));
	d.data = x;
	d.ulen = sizeof(x);
	d.flags = DB_DBT_USERMEM;
	rc = s->meta->get(s->meta, t, &k, &d, 0);
	buf_free(&b);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "lock-delay get");
	return d.size == 8 && be64_get(x) > now;
}

/* delay_set - key may not be acquired before until (ms) */
static int
delay_set(struct store *s, DB_TXN *t, const void *key, size_t n,
    uint64_t until)
{
	unsigned char x[8];
	struct buf b;
	DBT k, d;
	int rc;

	buf_init(&b);
	delay_key(&b, key, n);
	be64_put(x, until);
	store_dbt(&k, buf_head(&b), buf_used(&b));
	store_dbt(&d, x, sizeof(x));
	rc = s->meta->put(s->meta, t, &k, &d, 0);
	buf_free(&b);
	return rc == 0 ? 0 : store_fail(rc, "lock-delay put");
}

/* session_lock_add - remember that session id acquired key */
int
session_lock_add(struct store *s, DB_TXN *t, const void *id, size_t idlen,
    const void *key, size_t klen)
{
	struct buf b;
	DBT k, d;
	int rc;

	buf_init(&b);
	buf_append(&b, id, idlen);
	buf_putc(&b, 0);
	buf_append(&b, key, klen);
	store_dbt(&k, buf_head(&b), buf_used(&b));
	store_dbt(&d, "", 0);
	rc = s->locks->put(s->locks, t, &k, &d, 0);
	buf_free(&b);
	return rc == 0 ? 0 : store_fail(rc, "lock put");
}

/*
 * sess_invalidate - destroy session id: each key it still holds is
 * released (behavior release) or deleted (delete) and gets the session's
 * lock-delay; A_GONE in res tells raftd to drop its TTL timer
 */
static int
sess_invalidate(struct store *s, DB_TXN *t, uint64_t index, const void *id,
    size_t idlen, struct buf *res)
{
	struct attr tab[ATTR_TAB];
	uint64_t delay = 0;
	struct buf prefix;
	int found, rc, del, touched = 0, bad = 0;
	DBC *c;
	DBT k, d, sd;

	if ((found = session_get(s, t, id, idlen, &sd)) <= 0)
		return found;
	attr_index(sd.data, sd.size, tab, ATTR_TAB);
	attr_u64(&tab[A_LOCK_DELAY], &delay);
	del = tab[A_BEHAVIOR].len == 6 &&
	    memcmp(tab[A_BEHAVIOR].val, "delete", 6) == 0;
	free(sd.data);

	buf_init(&prefix);
	buf_append(&prefix, id, idlen);
	buf_putc(&prefix, 0);
	if ((rc = s->locks->cursor(s->locks, t, &c, 0)) != 0) {
		buf_free(&prefix);
		return store_fail(rc, "cursor");
	}
	memset(&d, 0, sizeof(d));
	store_dbt(&k, buf_head(&prefix), buf_used(&prefix));
	rc = c->get(c, &k, &d, DB_SET_RANGE | DB_RMW);
	while (rc == 0 && k.size >= buf_used(&prefix) &&
	    memcmp(k.data, buf_head(&prefix), buf_used(&prefix)) == 0) {
		const char *key = (const char *)k.data + buf_used(&prefix);
		size_t klen = k.size - buf_used(&prefix);
		int held;

		if ((held = kv_session_gone(s, t, index, key, klen, id, idlen,
		    del)) < 0) {
			bad = 1;
			break;
		}
		if (held) {
			touched = 1;
			if (delay > 0 && s->now > 0 &&
			    delay_set(s, t, key, klen, s->now + delay) < 0) {
				bad = 1;
				break;
			}
		}
		if ((rc = c->del(c, 0)) != 0)
			break;
		rc = c->get(c, &k, &d, DB_NEXT | DB_RMW);
	}
	c->close(c);
	buf_free(&prefix);
	if (bad)
		return -1;
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "session locks");
	store_dbt(&k, id, idlen);
	if ((rc = s->sessions->del(s->sessions, t, &k, 0)) != 0)
		return store_fail(rc, "session del");
	if (touched && kv_touch(s, t, index) < 0)
		return -1;
	/* Consul deletes the prepared queries bound to it too. */
	if (query_session_gone(s, t, index, id, idlen) < 0)
		return -1;
	attr_put(res, A_GONE, id, idlen);
	log_info("session %.*s invalidated; its locks %s", (int)idlen,
	    (const char *)id, del ? "deleted" : "released");
	return sess_touch(s, t, index);
}

/*
 * check_state - a check of node: 0 absent, 1 present and not critical,
 * 2 critical, -1 on error
 */
static int
check_state(struct store *s, DB_TXN *t, const struct attr *node,
    const void *check, size_t clen)
{
	struct attr tab[ATTR_TAB];
	struct buf key;
	DBT k, d;
	int rc;

	buf_init(&key);
	buf_append(&key, node->val, node->len);
	buf_putc(&key, 0);
	buf_append(&key, check, clen);
	store_dbt(&k, buf_head(&key), buf_used(&key));
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_MALLOC;
	rc = s->checks->get(s->checks, t, &k, &d, 0);
	buf_free(&key);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "check get");
	rc = 1;
	if (d.size >= MSG_REC_IDX_LEN && attr_index((char *)d.data + MSG_REC_IDX_LEN,
	    d.size - MSG_REC_IDX_LEN, tab, ATTR_TAB) == 0 &&
	    tab[A_STATUS].len == 8 && memcmp(tab[A_STATUS].val, "critical",
	    8) == 0)
		rc = 2;
	free(d.data);
	return rc;
}

/* node_exists - 1 if the catalog has node, 0 if not, -1 on error */
static int
node_exists(struct store *s, DB_TXN *t, const struct attr *node)
{
	DBT k, d;
	int rc;

	store_dbt(&k, node->val, node->len);
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_PARTIAL;
	rc = s->nodes->get(s->nodes, t, &k, &d, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	return rc == 0 ? 1 : store_fail(rc, "node get");
}

/*
 * sess_health - whether a session may live: 1 yes, 0 no (why says which
 * of its checks is missing or critical), -1 on error
 */
static int
sess_health(struct store *s, DB_TXN *t, const void *rec, size_t len,
    char *why, size_t whylen)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	int st;

	attr_index(rec, len, tab, ATTR_TAB);
	if ((st = node_exists(s, t, &tab[A_NODE])) <= 0) {
		snprintf(why, whylen, "Missing node registration");
		return st;
	}
	attr_iter_init(&it, rec, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_CHECK_ID && a.type != A_SERVICE_CHECK)
			continue;
		if ((st = check_state(s, t, &tab[A_NODE], a.val, a.len)) < 0)
			return -1;
		if (st == 0) {
			snprintf(why, whylen, "Missing check '%.*s' "
			    "registration", (int)a.len, (const char *)a.val);
			return 0;
		}
		if (st == 2) {
			snprintf(why, whylen, "Check '%.*s' is in critical "
			    "state", (int)a.len, (const char *)a.val);
			return 0;
		}
	}
	return 1;
}

/* sess_create - OP_SESSION_CREATE, refused with Consul's reasons */
static int
sess_create(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *tab, const void *cmd, size_t len, struct buf *res)
{
	struct attr_iter it;
	struct attr a;
	struct buf rec;
	uint64_t ttl = 0;
	char why[300];
	DBT k, d;
	int rc;

	if (tab[A_SESSION].len == 0 || tab[A_NODE].len == 0) {
		res_error(res, MSG_E_BADREQ, "Missing session ID or node");
		return 0;
	}
	if ((rc = session_get(s, t, tab[A_SESSION].val, tab[A_SESSION].len,
	    &d)) != 0) {
		if (rc < 0)
			return -1;
		free(d.data);
		res_error(res, MSG_E_INTERNAL, "Session ID already exists");
		return 0;
	}
	buf_init(&rec);
	attr_iter_init(&it, cmd, len);
	while (attr_next(&it, &a) == 1)
		if (a.type != A_OP && a.type != A_NOW &&
		    a.type != A_CREATE_INDEX && a.type != A_MODIFY_INDEX)
			attr_put(&rec, a.type, a.val, a.len);
	if ((rc = sess_health(s, t, buf_head(&rec), buf_used(&rec), why,
	    sizeof(why))) <= 0) {
		buf_free(&rec);
		if (rc == 0)
			res_error(res, MSG_E_INTERNAL, "Failed to create "
			    "session: %s", why);
		return rc;
	}
	attr_put_u64(&rec, A_CREATE_INDEX, index);
	attr_put_u64(&rec, A_MODIFY_INDEX, index);
	store_dbt(&k, tab[A_SESSION].val, tab[A_SESSION].len);
	store_dbt(&d, buf_head(&rec), buf_used(&rec));
	rc = s->sessions->put(s->sessions, t, &k, &d, 0);
	buf_free(&rec);
	if (rc != 0)
		return store_fail(rc, "session put");
	attr_put_u8(res, A_RESULT, 1);
	attr_put(res, A_SESSION, tab[A_SESSION].val, tab[A_SESSION].len);
	if (attr_u64(&tab[A_TTL_MS], &ttl) == 0 && ttl > 0)
		attr_put_u64(res, A_TTL_MS, ttl);
	return sess_touch(s, t, index);
}

int
session_apply(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, const void *cmd, size_t len, struct buf *res)
{
	switch (op) {
	case OP_SESSION_CREATE:
		return sess_create(s, t, index, tab, cmd, len, res);
	case OP_SESSION_DESTROY:
		if (tab[A_SESSION].len == 0) {
			res_error(res, MSG_E_BADREQ, "Missing session");
			return 0;
		}
		attr_put_u8(res, A_RESULT, 1);
		return sess_invalidate(s, t, index, tab[A_SESSION].val,
		    tab[A_SESSION].len, res) < 0 ? -1 : 0;
	}
	res_error(res, MSG_E_BADREQ, "unknown session operation %u", op);
	return 0;
}

/*
 * session_check_node - after a catalog write about node: invalidate each
 * of its sessions whose node or checks are gone or critical
 */
int
session_check_node(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *node, struct buf *res)
{
	struct attr tab[ATTR_TAB];
	struct buf doomed;
	struct attr_iter it;
	struct attr a;
	char why[300];
	DBC *c;
	DBT k, d;
	int rc, h, bad = 0;

	buf_init(&doomed);
	if ((rc = s->sessions->cursor(s->sessions, t, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
		if (attr_index(d.data, d.size, tab, ATTR_TAB) < 0 ||
		    tab[A_NODE].len != node->len ||
		    memcmp(tab[A_NODE].val, node->val, node->len) != 0)
			continue;
		if ((h = sess_health(s, t, d.data, d.size, why,
		    sizeof(why))) < 0) {
			bad = 1;
			break;
		}
		if (h == 0) {
			log_info("session %.*s: %s", (int)k.size,
			    (const char *)k.data, why);
			attr_put(&doomed, A_SESSION, k.data, k.size);
		}
	}
	c->close(c);
	if (bad || rc != DB_NOTFOUND) {
		buf_free(&doomed);
		return bad ? -1 : store_fail(rc, "sessions");
	}
	/* Invalidated after the walk: it deletes from the same table. */
	rc = 0;
	attr_iter_init(&it, buf_head(&doomed), buf_used(&doomed));
	while (rc == 0 && attr_next(&it, &a) == 1)
		rc = sess_invalidate(s, t, index, a.val, a.len, res) < 0 ? -1
		    : 0;
	buf_free(&doomed);
	return rc;
}

/* sess_put_entry - A_ENTRY{record} */
static void
sess_put_entry(struct buf *out, const DBT *d)
{
	size_t nest = attr_nest_begin(out, A_ENTRY);

	buf_append(out, d->data, d->size);
	attr_nest_end(out, nest);
}

/* session_info - one session, or nothing */
int
session_info(struct store *s, const void *id, size_t n, struct buf *out)
{
	DBT d;
	int rc;

	if ((rc = session_get(s, NULL, id, n, &d)) <= 0)
		return rc;
	sess_put_entry(out, &d);
	free(d.data);
	return 0;
}

/* session_list - every session, or node's */
int
session_list(struct store *s, const void *node, size_t n, struct buf *out)
{
	struct attr tab[ATTR_TAB];
	DBC *c;
	DBT k, d;
	int rc;

	if ((rc = s->sessions->cursor(s->sessions, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
		if (node != NULL && (attr_index(d.data, d.size, tab,
		    ATTR_TAB) < 0 || tab[A_NODE].len != n ||
		    memcmp(tab[A_NODE].val, node, n) != 0))
			continue;
		sess_put_entry(out, &d);
	}
	c->close(c);
	return rc == DB_NOTFOUND ? 0 : store_fail(rc, "sessions");
}
