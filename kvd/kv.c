/*
 * kv.c - the KV table: Consul's semantics for set, CAS, delete and
 * delete-tree, and the reads behind GET /v1/kv (key, recurse, keys with a
 * separator), and locks: ?acquire and ?release with a session, and what
 * becomes of a session's keys when it is invalidated (session.c).
 * Left out: tombstones (a prefix read carries the table index).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "store.h"

struct kv_rec {
	uint64_t	 create, modify, lock, flags;
	struct attr	 session, value;
};

/* kv_decode - a stored record */
static int
kv_decode(const void *p, size_t n, struct kv_rec *r)
{
	struct attr tab[ATTR_TAB];

	memset(r, 0, sizeof(*r));
	if (attr_index(p, n, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_CREATE_INDEX], &r->create) < 0 ||
	    attr_u64(&tab[A_MODIFY_INDEX], &r->modify) < 0)
		return -1;
	attr_u64(&tab[A_LOCK_INDEX], &r->lock);
	attr_u64(&tab[A_FLAGS], &r->flags);
	r->session = tab[A_SESSION];
	r->value = tab[A_VALUE];
	return 0;
}

/* kv_encode - the stored form of a record */
static void
kv_encode(struct buf *b, const struct kv_rec *r)
{
	attr_put_u64(b, A_CREATE_INDEX, r->create);
	attr_put_u64(b, A_MODIFY_INDEX, r->modify);
	attr_put_u64(b, A_LOCK_INDEX, r->lock);
	attr_put_u64(b, A_FLAGS, r->flags);
	if (r->session.len > 0)
		attr_put(b, A_SESSION, r->session.val, r->session.len);
	attr_put(b, A_VALUE, r->value.val, r->value.len);
}

/* kv_fetch - read a key inside t for update; 1 found, 0 not, -1 error */
static int
kv_fetch(struct store *s, DB_TXN *t, const struct attr *key, DBT *d)
{
	DBT k;
	int rc;

	store_dbt(&k, key->val, key->len);
	memset(d, 0, sizeof(*d));
	d->flags = DB_DBT_MALLOC;
	rc = s->kv->get(s->kv, t, &k, d, DB_RMW);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "kv get");
	return 1;
}

/* kv_touch - a write to the table moves its index (X-Consul-Index) */
int
kv_touch(struct store *s, DB_TXN *t, uint64_t index)
{
	s->kv_index = index;
	return store_meta_put(s, t, "kv_index", index);
}

/* kv_store - write record r under key */
static int
kv_store(struct store *s, DB_TXN *t, uint64_t index, const struct attr *key,
    const struct kv_rec *r)
{
	struct buf b;
	DBT k, d;
	int rc;

	buf_init(&b);
	kv_encode(&b, r);
	store_dbt(&k, key->val, key->len);
	store_dbt(&d, buf_head(&b), buf_used(&b));
	rc = s->kv->put(s->kv, t, &k, &d, 0);
	buf_free(&b);
	if (rc != 0)
		return store_fail(rc, "kv put");
	store_note(s, TOUCH_KEY, key->val, key->len);
	return kv_touch(s, t, index);
}

/* kv_old - the stored record of a key: 1 found, 0 not, -1 error */
static int
kv_old(struct store *s, DB_TXN *t, const struct attr *key, DBT *d,
    struct kv_rec *old)
{
	int found;

	if ((found = kv_fetch(s, t, key, d)) <= 0)
		return found;
	if (kv_decode(d->data, d->size, old) < 0) {
		log_error("kv: corrupt record for %.*s", (int)key->len,
		    key->val);
		return 0;
	}
	return 1;
}

static int
attr_same(const struct attr *a, const struct attr *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->val, b->val, a->len) == 0);
}

/*
 * kv_write - tab's value and flags under its key, keeping old's create
 * index, with the lock state given; the result is true
 */
static int
kv_write(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    const struct kv_rec *old, uint64_t lock, const struct attr *session,
    struct buf *res)
{
	struct kv_rec r;

	memset(&r, 0, sizeof(r));
	r.create = old != NULL ? old->create : index;
	r.modify = index;
	r.lock = lock;
	if (session != NULL)
		r.session = *session;
	attr_u64(&tab[A_FLAGS], &r.flags);
	r.value = tab[A_VALUE];
	if (kv_store(s, t, index, &tab[A_KEY], &r) < 0)
		return -1;
	attr_put_u8(res, A_RESULT, 1);
	return 0;
}

/* kv_false - a refused write: false, the old record freed */
static int
kv_false(struct buf *res, DBT *d)
{
	free(d->data);
	attr_put_u8(res, A_RESULT, 0);
	return 0;
}

/*
 * kv_set - PUT /v1/kv/<key>, with ?cas (0 means only if absent). A held
 * key keeps its session and lock index, as in Consul.
 */
static int
kv_set(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    struct buf *res)
{
	struct kv_rec old;
	uint64_t cas;
	DBT d;
	int found, rc;

	if ((found = kv_old(s, t, &tab[A_KEY], &d, &old)) < 0)
		return -1;
	if (attr_u64(&tab[A_CAS], &cas) == 0 &&
	    (cas == 0 ? found : !found || old.modify != cas))
		return kv_false(res, &d);
	rc = kv_write(s, t, index, tab, found ? &old : NULL, found ? old.lock :
	    0, found ? &old.session : NULL, res);
	free(d.data);
	return rc;
}

/*
 * kv_lock - ?acquire: false while another session holds the key or its
 * lock-delay runs; the holder may acquire again (a value update) without
 * moving LockIndex
 */
static int
kv_lock(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    struct buf *res)
{
	const struct attr *sess = &tab[A_SESSION];
	struct kv_rec old;
	int found, held, rc;
	DBT d;

	if (sess->len == 0) {
		res_error(res, MSG_E_BADREQ, "Missing session");
		return 0;
	}
	if ((rc = session_get(s, t, sess->val, sess->len, &d)) <= 0) {
		if (rc == 0)
			res_error(res, MSG_E_INTERNAL, "invalid session \"%.*s\"",
			    (int)sess->len, sess->val);
		return rc;
	}
	free(d.data);
	if ((found = kv_old(s, t, &tab[A_KEY], &d, &old)) < 0)
		return -1;
	held = found && old.session.len > 0;
	if (held && !attr_same(&old.session, sess))
		return kv_false(res, &d);
	if (!held && (rc = session_delay_active(s, t, tab[A_KEY].val,
	    tab[A_KEY].len, s->now)) != 0) {
		if (rc < 0) {
			free(d.data);
			return -1;
		}
		return kv_false(res, &d);
	}
	/* a new holder moves LockIndex; the holder's update does not */
	rc = kv_write(s, t, index, tab, found ? &old : NULL,
	    (found ? old.lock : 0) + !held, sess, res);
	free(d.data);
	if (rc == 0)
		rc = session_lock_add(s, t, sess->val, sess->len,
		    tab[A_KEY].val, tab[A_KEY].len);
	return rc;
}

/* kv_unlock - ?release: only by the holder; the value is written too */
static int
kv_unlock(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    struct buf *res)
{
	struct kv_rec old;
	int found, rc;
	DBT d;

	if (tab[A_SESSION].len == 0) {
		res_error(res, MSG_E_BADREQ, "Missing session");
		return 0;
	}
	if ((found = kv_old(s, t, &tab[A_KEY], &d, &old)) < 0)
		return -1;
	if (!found || !attr_same(&old.session, &tab[A_SESSION]))
		return kv_false(res, &d);
	rc = kv_write(s, t, index, tab, &old, old.lock, NULL, res);
	free(d.data);
	return rc;
}

/*
 * kv_session_gone - session id was invalidated: if it still holds key,
 * release it (or delete it, del). 1 if it held the key, 0 if not, -1.
 */
int
kv_session_gone(struct store *s, DB_TXN *t, uint64_t index, const void *key,
    size_t klen, const void *id, size_t idlen, int del)
{
	struct attr k = { .val = key, .len = klen };
	struct attr sid = { .val = id, .len = idlen };
	struct kv_rec old;
	DBT d, kd;
	int found, rc;

	if ((found = kv_old(s, t, &k, &d, &old)) <= 0)
		return found;
	if (!attr_same(&old.session, &sid)) {
		free(d.data);
		return 0;
	}
	if (del) {
		store_dbt(&kd, key, klen);
		rc = s->kv->del(s->kv, t, &kd, 0);
		rc = rc == 0 ? 0 : store_fail(rc, "kv del");
		store_note(s, TOUCH_KEY, key, klen);
	} else {
		old.session.val = NULL;
		old.session.len = 0;
		old.modify = index;
		rc = kv_store(s, t, index, &k, &old);
	}
	free(d.data);
	return rc < 0 ? -1 : 1;
}

/* kv_delete - DELETE /v1/kv/<key>, with ?cas as Consul: absent is true */
static int
kv_delete(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    struct buf *res)
{
	struct kv_rec old;
	uint64_t cas;
	DBT k, d;
	int found, rc;

	if ((found = kv_fetch(s, t, &tab[A_KEY], &d)) < 0)
		return -1;
	if (attr_u64(&tab[A_CAS], &cas) == 0 && found &&
	    (kv_decode(d.data, d.size, &old) < 0 || old.modify != cas)) {
		free(d.data);
		attr_put_u8(res, A_RESULT, 0);
		return 0;
	}
	free(d.data);
	attr_put_u8(res, A_RESULT, 1);
	if (!found)
		return 0;
	store_dbt(&k, tab[A_KEY].val, tab[A_KEY].len);
	if ((rc = s->kv->del(s->kv, t, &k, 0)) != 0)
		return store_fail(rc, "kv del");
	store_note(s, TOUCH_KEY, tab[A_KEY].val, tab[A_KEY].len);
	return kv_touch(s, t, index);
}

/* kv_delete_tree - DELETE ?recurse: every key under the prefix */
static int
kv_delete_tree(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *tab, struct buf *res)
{
	const struct attr *p = &tab[A_KEY];
	DBC *c;
	DBT k, d;
	int rc, n = 0;

	if ((rc = s->kv->cursor(s->kv, t, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)p->val;
	k.size = p->len;
	d.flags = DB_DBT_PARTIAL;	/* keys only */
	rc = c->get(c, &k, &d, DB_SET_RANGE | DB_RMW);
	while (rc == 0 && k.size >= p->len &&
	    memcmp(k.data, p->val, p->len) == 0) {
		if ((rc = c->del(c, 0)) != 0)
			break;
		n++;
		rc = c->get(c, &k, &d, DB_NEXT | DB_RMW);
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "kv delete tree");
	attr_put_u8(res, A_RESULT, 1);
	if (n == 0)
		return 0;
	store_note(s, TOUCH_TREE, p->val, p->len);
	return kv_touch(s, t, index);
}

int
kv_apply(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, struct buf *res)
{
	if (!attr_present(&tab[A_KEY])) {
		res_error(res, MSG_E_BADREQ, "Missing key name");
		return 0;
	}
	switch (op) {
	case OP_KV_SET:
		return kv_set(s, t, index, tab, res);
	case OP_KV_DELETE:
		return kv_delete(s, t, index, tab, res);
	case OP_KV_DELETE_TREE:
		return kv_delete_tree(s, t, index, tab, res);
	case OP_KV_LOCK:
		return kv_lock(s, t, index, tab, res);
	case OP_KV_UNLOCK:
		return kv_unlock(s, t, index, tab, res);
	}
	res_error(res, MSG_E_BADREQ, "unknown KV operation %u", op);
	return 0;
}

/* kv_put_entry - A_ENTRY{A_KEY, the stored record}, its value or not */
static void
kv_put_entry(struct buf *out, const DBT *k, const DBT *d, int value)
{
	size_t nest = attr_nest_begin(out, A_ENTRY);
	struct kv_rec r;

	attr_put(out, A_KEY, k->data, k->size);
	if (value || kv_decode(d->data, d->size, &r) < 0)
		buf_append(out, d->data, d->size);
	else {
		r.value.len = 0;
		kv_encode(out, &r);
	}
	attr_nest_end(out, nest);
}

/*
 * kv_read - one key, or every key under a prefix, as A_ENTRY records
 * (without their values unless value is set), read inside t or none;
 * how many, or -1
 */
int
kv_read(struct store *s, DB_TXN *t, const void *key, size_t klen,
    int recurse, int value, struct buf *out)
{
	DBC *c;
	DBT k, d;
	int rc, n = 0;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = klen;
	if (!recurse) {
		rc = s->kv->get(s->kv, t, &k, &d, 0);
		if (rc == DB_NOTFOUND)
			return 0;
		if (rc != 0)
			return store_fail(rc, "kv get");
		kv_put_entry(out, &k, &d, value);
		return 1;
	}
	if ((rc = s->kv->cursor(s->kv, t, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	rc = c->get(c, &k, &d, DB_SET_RANGE);
	while (rc == 0 && k.size >= klen && memcmp(k.data, key, klen) == 0) {
		kv_put_entry(out, &k, &d, value);
		n++;
		rc = c->get(c, &k, &d, DB_NEXT);
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "kv list");
	return n;
}

/*
 * kv_get - one key, or every key under a prefix. The index is the KV
 * table's. Consul narrows a prefix's index to the highest ModifyIndex
 * under it, counting tombstones of deleted keys; without tombstones (they
 * come with blocking queries) only the table index also moves on deletes,
 * so it is the one a watcher can trust.
 */
int
kv_get(struct store *s, const char *key, size_t klen, int recurse,
    struct buf *out, uint64_t *index)
{
	*index = s->kv_index;
	return kv_read(s, NULL, key, klen, recurse, 1, out) < 0 ? -1 : 0;
}

/*
 * kv_keys - the keys under a prefix; with a separator, each key is cut
 * just after the first separator past the prefix, and repeats are folded
 * (Consul's ?keys&separator=/ lists one level).
 */
int
kv_keys(struct store *s, const char *prefix, size_t plen, const char *sep,
    size_t seplen, struct buf *out, uint64_t *index)
{
	struct buf last;
	const char *rest, *hit;
	size_t n;
	DBC *c;
	DBT k, d;
	int rc;

	*index = s->kv_index;
	if ((rc = s->kv->cursor(s->kv, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	buf_init(&last);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)prefix;
	k.size = plen;
	rc = c->get(c, &k, &d, DB_SET_RANGE);
	while (rc == 0 && k.size >= plen && memcmp(k.data, prefix, plen) == 0) {
		n = k.size;
		rest = (const char *)k.data + plen;
		if (seplen > 0 && (hit = memmem(rest, k.size - plen, sep,
		    seplen)) != NULL)
			n = (size_t)(hit - (const char *)k.data) + seplen;
		if (buf_used(&last) != n ||
		    memcmp(buf_head(&last), k.data, n) != 0) {
			attr_put(out, A_KEY, k.data, n);
			buf_reset(&last);
			buf_append(&last, k.data, n);
		}
		rc = c->get(c, &k, &d, DB_NEXT);
	}
	c->close(c);
	buf_free(&last);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "kv keys");
	return 0;
}
