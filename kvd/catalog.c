/*
 * catalog.c - nodes, services and checks: register, deregister, check
 * status, and the reads behind /v1/catalog and /v1/health.
 *
 * A stored record is A_CREATE_INDEX, A_MODIFY_INDEX, then the body exactly
 * as the writer sent it. A write whose body equals the stored one changes
 * nothing and does not move the catalog index, so the anti-entropy pass
 * of every agent can re-register everything without waking watchers.
 *
 * Left out for now: a secondary index by service name (reads scan the
 * services table), node-meta filters, tombstones.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "msg.h"
#include "store.h"

/* key2 - "node\0id" */
static void
key2(struct buf *k, const struct attr *node, const struct attr *id)
{
	buf_reset(k);
	buf_append(k, node->val, node->len);
	buf_putc(k, 0);
	if (id != NULL)
		buf_append(k, id->val, id->len);
}

/* cat_touch - the catalog changed at index */
static int
cat_touch(struct store *s, DB_TXN *t, uint64_t index)
{
	s->catalog_index = index;
	store_note(s, TOUCH_CATALOG, "", 0);
	return store_meta_put(s, t, "catalog_index", index);
}

/* cat_put - store body under key unless it is already there */
static int
cat_put(struct store *s, DB *db, DB_TXN *t, const struct buf *key,
    const void *body, size_t blen, uint64_t index, int *changed)
{
	struct attr tab[A_MODIFY_INDEX + 1];
	uint64_t create = index;
	struct buf rec;
	DBT k, d;
	int rc;

	store_dbt(&k, buf_head(key), buf_used(key));
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_MALLOC;
	rc = db->get(db, t, &k, &d, DB_RMW);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "catalog get");
	if (rc == 0) {
		if (d.size >= MSG_REC_IDX_LEN && d.size - MSG_REC_IDX_LEN == blen &&
		    memcmp((char *)d.data + MSG_REC_IDX_LEN, body, blen) == 0) {
			free(d.data);
			return 0;
		}
		if (attr_index(d.data, d.size, tab, A_MODIFY_INDEX + 1) == 0)
			attr_u64(&tab[A_CREATE_INDEX], &create);
		free(d.data);
	}
	buf_init(&rec);
	attr_put_u64(&rec, A_CREATE_INDEX, create);
	attr_put_u64(&rec, A_MODIFY_INDEX, index);
	buf_append(&rec, body, blen);
	store_dbt(&d, buf_head(&rec), buf_used(&rec));
	rc = db->put(db, t, &k, &d, 0);
	buf_free(&rec);
	if (rc != 0)
		return store_fail(rc, "catalog put");
	*changed = 1;
	return 0;
}

/* cat_del_prefix - delete every record whose key starts with prefix */
static int
cat_del_prefix(DB *db, DB_TXN *t, const struct buf *prefix, int *changed)
{
	size_t plen = buf_used(prefix);
	DBC *c;
	DBT k, d;
	int rc;

	if ((rc = db->cursor(db, t, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	store_dbt(&k, buf_head(prefix), plen);
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_PARTIAL;
	rc = c->get(c, &k, &d, DB_SET_RANGE | DB_RMW);
	while (rc == 0 && k.size >= plen &&
	    memcmp(k.data, buf_head(prefix), plen) == 0) {
		if ((rc = c->del(c, 0)) != 0)
			break;
		*changed = 1;
		rc = c->get(c, &k, &d, DB_NEXT | DB_RMW);
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "catalog delete");
	return 0;
}

/* cat_del - delete one record */
static int
cat_del(DB *db, DB_TXN *t, const struct buf *key, int *changed)
{
	DBT k;
	int rc;

	store_dbt(&k, buf_head(key), buf_used(key));
	rc = db->del(db, t, &k, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "catalog delete");
	*changed = 1;
	return 0;
}

/* cat_register - a node, and optionally a service and checks on it */
static int
cat_register(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *tab, const void *cmd, size_t cmdlen,
    struct buf *res, int *changed)
{
	struct attr nt[ATTR_TAB], st[ATTR_TAB], ct[ATTR_TAB], a;
	const struct attr *node = &tab[A_NODE_REC];
	struct attr_iter it;
	struct buf key;
	int rc = 0;

	if (!attr_present(node) ||
	    attr_index(node->val, node->len, nt, ATTR_TAB) < 0 ||
	    nt[A_NODE].len == 0 || !attr_present(&nt[A_ADDRESS])) {
		res_error(res, MSG_E_BADREQ, "Must provide node and address");
		return 0;
	}
	if (attr_present(&tab[A_SERVICE_REC]) &&
	    (attr_index(tab[A_SERVICE_REC].val, tab[A_SERVICE_REC].len, st,
	    ATTR_TAB) < 0 || st[A_SERVICE_ID].len == 0)) {
		res_error(res, MSG_E_BADREQ, "Must provide service name");
		return 0;
	}
	/* Validate every check before writing anything. */
	attr_iter_init(&it, cmd, cmdlen);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_CHECK_REC &&
		    (attr_index(a.val, a.len, ct, ATTR_TAB) < 0 ||
		    ct[A_CHECK_ID].len == 0)) {
			res_error(res, MSG_E_BADREQ, "Missing check ID");
			return 0;
		}
	buf_init(&key);
	buf_append(&key, nt[A_NODE].val, nt[A_NODE].len);
	rc = cat_put(s, s->nodes, t, &key, node->val, node->len, index,
	    changed);
	if (rc == 0 && attr_present(&tab[A_SERVICE_REC])) {
		key2(&key, &nt[A_NODE], &st[A_SERVICE_ID]);
		rc = cat_put(s, s->services, t, &key, tab[A_SERVICE_REC].val,
		    tab[A_SERVICE_REC].len, index, changed);
	}
	attr_iter_init(&it, cmd, cmdlen);
	while (rc == 0 && attr_next(&it, &a) == 1) {
		if (a.type != A_CHECK_REC)
			continue;
		attr_index(a.val, a.len, ct, ATTR_TAB);
		key2(&key, &nt[A_NODE], &ct[A_CHECK_ID]);
		rc = cat_put(s, s->checks, t, &key, a.val, a.len, index,
		    changed);
	}
	buf_free(&key);
	if (rc == 0)
		attr_put_u8(res, A_RESULT, 1);
	return rc;
}

/* cat_deregister - a node with everything on it, a service, or a check */
static int
cat_deregister(struct store *s, DB_TXN *t, const struct attr *tab,
    struct buf *res, int *changed)
{
	struct attr ct[ATTR_TAB];
	struct buf key, ck;
	DBC *c;
	DBT k, d;
	int rc = 0, r;

	if (tab[A_NODE].len == 0) {
		res_error(res, MSG_E_BADREQ, "Must provide node");
		return 0;
	}
	buf_init(&key);
	buf_init(&ck);
	if (attr_present(&tab[A_CHECK_ID])) {
		key2(&key, &tab[A_NODE], &tab[A_CHECK_ID]);
		rc = cat_del(s->checks, t, &key, changed);
	} else if (attr_present(&tab[A_SERVICE_ID])) {
		key2(&key, &tab[A_NODE], &tab[A_SERVICE_ID]);
		rc = cat_del(s->services, t, &key, changed);
		/* and the checks of that service */
		key2(&key, &tab[A_NODE], NULL);
		if (rc == 0 && (r = s->checks->cursor(s->checks, t, &c, 0)) == 0) {
			store_dbt(&k, buf_head(&key), buf_used(&key));
			memset(&d, 0, sizeof(d));
			r = c->get(c, &k, &d, DB_SET_RANGE | DB_RMW);
			while (r == 0 && k.size >= buf_used(&key) &&
			    memcmp(k.data, buf_head(&key), buf_used(&key)) == 0) {
				if (attr_index(d.data, d.size, ct, ATTR_TAB) == 0 &&
				    ct[A_SERVICE_ID].len == tab[A_SERVICE_ID].len &&
				    memcmp(ct[A_SERVICE_ID].val,
				    tab[A_SERVICE_ID].val, ct[A_SERVICE_ID].len) == 0) {
					if ((r = c->del(c, 0)) != 0)
						break;
					*changed = 1;
				}
				r = c->get(c, &k, &d, DB_NEXT | DB_RMW);
			}
			c->close(c);
			if (r != 0 && r != DB_NOTFOUND)
				rc = store_fail(r, "deregister checks");
		}
	} else {
		buf_append(&key, tab[A_NODE].val, tab[A_NODE].len);
		rc = cat_del(s->nodes, t, &key, changed);
		buf_putc(&key, 0);
		if (rc == 0)
			rc = cat_del_prefix(s->services, t, &key, changed);
		if (rc == 0)
			rc = cat_del_prefix(s->checks, t, &key, changed);
	}
	buf_free(&key);
	buf_free(&ck);
	if (rc == 0)
		attr_put_u8(res, A_RESULT, 1);
	return rc;
}

/* cat_check_status - a check's new status and output */
static int
cat_check_status(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *tab, struct buf *res, int *changed)
{
	struct attr_iter it;
	struct attr a;
	struct buf key, body;
	DBT k, d;
	int rc;

	if (tab[A_NODE].len == 0 || tab[A_CHECK_ID].len == 0 ||
	    !attr_present(&tab[A_STATUS])) {
		res_error(res, MSG_E_BADREQ, "Must provide node, check and "
		    "status");
		return 0;
	}
	buf_init(&key);
	key2(&key, &tab[A_NODE], &tab[A_CHECK_ID]);
	store_dbt(&k, buf_head(&key), buf_used(&key));
	memset(&d, 0, sizeof(d));
	d.flags = DB_DBT_MALLOC;
	rc = s->checks->get(s->checks, t, &k, &d, DB_RMW);
	if (rc == DB_NOTFOUND) {
		buf_free(&key);
		res_error(res, MSG_E_NOTFOUND, "Unknown check '%.*s'",
		    (int)tab[A_CHECK_ID].len, tab[A_CHECK_ID].val);
		return 0;
	}
	if (rc != 0) {
		buf_free(&key);
		return store_fail(rc, "check get");
	}
	buf_init(&body);
	attr_iter_init(&it, (char *)d.data + MSG_REC_IDX_LEN,
	    d.size >= MSG_REC_IDX_LEN ? d.size - MSG_REC_IDX_LEN : 0);
	while (attr_next(&it, &a) == 1)
		if (a.type != A_STATUS && a.type != A_OUTPUT)
			attr_put(&body, a.type, a.val, a.len);
	attr_put(&body, A_STATUS, tab[A_STATUS].val, tab[A_STATUS].len);
	attr_put(&body, A_OUTPUT, tab[A_OUTPUT].val, tab[A_OUTPUT].len);
	free(d.data);
	rc = cat_put(s, s->checks, t, &key, buf_head(&body), buf_used(&body),
	    index, changed);
	buf_free(&body);
	buf_free(&key);
	if (rc == 0)
		attr_put_u8(res, A_RESULT, 1);
	return rc;
}

/*
 * cat_sessions - a node, check or status changed: the node's sessions
 * whose node or checks are now gone or critical are invalidated
 */
static int
cat_sessions(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, struct buf *res)
{
	struct attr nt[ATTR_TAB];

	if (op != OP_CAT_REGISTER)
		return session_check_node(s, t, index, &tab[A_NODE], res);
	if (attr_index(tab[A_NODE_REC].val, tab[A_NODE_REC].len, nt,
	    ATTR_TAB) < 0)
		return 0;
	return session_check_node(s, t, index, &nt[A_NODE], res);
}

int
catalog_apply(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, const void *cmd, size_t len, struct buf *res)
{
	int changed = 0, rc;

	switch (op) {
	case OP_CAT_REGISTER:
		rc = cat_register(s, t, index, tab, cmd, len, res, &changed);
		break;
	case OP_CAT_DEREGISTER:
		rc = cat_deregister(s, t, tab, res, &changed);
		break;
	case OP_CHECK_STATUS:
		rc = cat_check_status(s, t, index, tab, res, &changed);
		break;
	default:
		res_error(res, MSG_E_BADREQ, "unknown catalog operation %u", op);
		return 0;
	}
	if (rc == 0 && changed)
		rc = cat_touch(s, t, index);
	if (rc == 0 && changed)
		rc = cat_sessions(s, t, index, op, tab, res);
	return rc;
}

/* attr_eq - an attribute's value equals s[0..n) */
static int
attr_eq(const struct attr *a, const char *s, size_t n)
{
	return a->val != NULL && a->len == n && memcmp(a->val, s, n) == 0;
}

/* rec_nest - A_<type>{stored record} */
static void
rec_nest(struct buf *out, uint16_t type, const DBT *d)
{
	attr_put(out, type, d->data, d->size);
}

/* scan - call fn for every record under prefix (all when plen is 0) */
static int
scan(DB *db, const void *prefix, size_t plen,
    int (*fn)(void *, const DBT *, const DBT *), void *arg)
{
	DBC *c;
	DBT k, d;
	int rc;

	if ((rc = db->cursor(db, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	store_dbt(&k, prefix, plen);
	memset(&d, 0, sizeof(d));
	rc = c->get(c, &k, &d, DB_SET_RANGE);
	while (rc == 0 && k.size >= plen &&
	    (plen == 0 || memcmp(k.data, prefix, plen) == 0)) {
		if (fn(arg, &k, &d) < 0) {
			c->close(c);
			return -1;
		}
		rc = c->get(c, &k, &d, DB_NEXT);
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "scan");
	return 0;
}

static int
nodes_fn(void *arg, const DBT *k, const DBT *d)
{
	rec_nest(arg, A_ENTRY, d);
	return 0;
}

/* catalog_nodes - every node record */
int
catalog_nodes(struct store *s, struct buf *out)
{
	return scan(s->nodes, "", 0, nodes_fn, out);
}

/* node_get - one node's record into out as type{...}; 1 found, 0 not */
static int
node_get(struct store *s, const void *node, size_t n, uint16_t type,
    struct buf *out)
{
	DBT k, d;
	int rc;

	store_dbt(&k, node, n);
	memset(&d, 0, sizeof(d));
	rc = s->nodes->get(s->nodes, NULL, &k, &d, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "node get");
	rec_nest(out, type, &d);
	return 1;
}

static int
node_services_fn(void *arg, const DBT *k, const DBT *d)
{
	rec_nest(arg, A_SERVICE_REC, d);
	return 0;
}

/* catalog_node - A_NODE_REC and its A_SERVICE_RECs; nothing if unknown */
int
catalog_node(struct store *s, const char *node, struct buf *out)
{
	struct buf key;
	int rc;

	if ((rc = node_get(s, node, strlen(node), A_NODE_REC, out)) <= 0)
		return rc;
	buf_init(&key);
	buf_append(&key, node, strlen(node) + 1);
	rc = scan(s->services, buf_head(&key), buf_used(&key),
	    node_services_fn, out);
	buf_free(&key);
	return rc;
}

/* The services map: name -> tags, built in one pass, sorted by name. */
struct svc_names {
	struct svc_name {
		char	*name;
		struct buf tags;	/* A_TAG attrs, no repeats */
	} *v;
	size_t n, cap;
};

/* tags_add - add a tag unless it is there */
static void
tags_add(struct buf *tags, const struct attr *tag)
{
	struct attr_iter it;
	struct attr a;

	attr_iter_init(&it, buf_head(tags), buf_used(tags));
	while (attr_next(&it, &a) == 1)
		if (a.len == tag->len && memcmp(a.val, tag->val, a.len) == 0)
			return;
	attr_put(tags, A_TAG, tag->val, tag->len);
}

static int
services_fn(void *arg, const DBT *k, const DBT *d)
{
	struct svc_names *sn = arg;
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	struct svc_name *e = NULL;
	size_t i;

	if (attr_index(d->data, d->size, tab, ATTR_TAB) < 0 ||
	    !attr_present(&tab[A_SERVICE_NAME]))
		return 0;
	for (i = 0; i < sn->n; i++)
		if (attr_eq(&tab[A_SERVICE_NAME], sn->v[i].name,
		    strlen(sn->v[i].name))) {
			e = &sn->v[i];
			break;
		}
	if (e == NULL) {
		if (sn->n == sn->cap) {
			sn->cap = sn->cap ? sn->cap * 2 : 16;
			if ((sn->v = realloc(sn->v, sn->cap *
			    sizeof(*sn->v))) == NULL)
				log_fatal("out of memory");
		}
		e = &sn->v[sn->n++];
		e->name = attr_strdup(&tab[A_SERVICE_NAME]);
		buf_init(&e->tags);
	}
	attr_iter_init(&it, d->data, d->size);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_TAG)
			tags_add(&e->tags, &a);
	return 0;
}

static int
svc_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct svc_name *)a)->name,
	    ((const struct svc_name *)b)->name);
}

/* catalog_services - A_ENTRY{A_SERVICE_NAME A_TAG...} per service name */
int
catalog_services(struct store *s, struct buf *out)
{
	struct svc_names sn = { NULL, 0, 0 };
	size_t i, nest;
	int rc;

	rc = scan(s->services, "", 0, services_fn, &sn);
	if (sn.n > 0)		/* qsort(NULL, 0) is undefined */
		qsort(sn.v, sn.n, sizeof(*sn.v), svc_name_cmp);
	for (i = 0; i < sn.n; i++) {
		if (rc == 0) {
			nest = attr_nest_begin(out, A_ENTRY);
			attr_put_str(out, A_SERVICE_NAME, sn.v[i].name);
			buf_append(out, buf_head(&sn.v[i].tags),
			    buf_used(&sn.v[i].tags));
			attr_nest_end(out, nest);
		}
		free(sn.v[i].name);
		buf_free(&sn.v[i].tags);
	}
	free(sn.v);
	return rc;
}

struct svc_query {
	struct store	*s;
	const char	*name, *tag;
	int		 health, passing;
	struct buf	*out;
	struct buf	 checks;	/* the current entry's checks */
};

/* check_fn - collect a node's checks; service_fn picks the relevant ones */
static int
check_fn(void *arg, const DBT *k, const DBT *d)
{
	struct svc_query *q = arg;

	attr_put(&q->checks, A_CHECK_REC, d->data, d->size);
	return 0;
}

/* service_fn - one instance: filter by name and tag, attach node, checks */
static int
service_fn(void *arg, const DBT *k, const DBT *d)
{
	struct svc_query *q = arg;
	struct attr tab[ATTR_TAB], ct[ATTR_TAB], a;
	struct attr_iter it;
	size_t nest, mark, nlen;
	int tagged = q->tag == NULL, ok;

	/* Service names match without case, as in Consul and DNS. */
	if (attr_index(d->data, d->size, tab, ATTR_TAB) < 0)
		return 0;
	if (q->name != NULL && (tab[A_SERVICE_NAME].len != strlen(q->name) ||
	    strncasecmp((const char *)tab[A_SERVICE_NAME].val, q->name,
	    tab[A_SERVICE_NAME].len) != 0))
		return 0;
	attr_iter_init(&it, d->data, d->size);
	while (!tagged && attr_next(&it, &a) == 1)
		if (a.type == A_TAG && a.len == strlen(q->tag) &&
		    strncasecmp((const char *)a.val, q->tag, a.len) == 0)
			tagged = 1;
	if (!tagged)
		return 0;
	nlen = strnlen(k->data, k->size);
	mark = q->out->len;
	nest = attr_nest_begin(q->out, A_ENTRY);
	if ((ok = node_get(q->s, k->data, nlen, A_NODE_REC, q->out)) < 0)
		return -1;
	if (ok == 0) {		/* a service without its node: skip */
		q->out->len = mark;
		return 0;
	}
	rec_nest(q->out, A_SERVICE_REC, d);
	if (q->health) {
		buf_reset(&q->checks);
		if (scan(q->s->checks, k->data, nlen + 1, check_fn, q) < 0)
			return -1;
		attr_iter_init(&it, buf_head(&q->checks), buf_used(&q->checks));
		while (attr_next(&it, &a) == 1) {
			if (attr_index(a.val, a.len, ct, ATTR_TAB) < 0)
				continue;
			/* Node-wide checks, and this instance's own. */
			if (ct[A_SERVICE_ID].len > 0 &&
			    (ct[A_SERVICE_ID].len != tab[A_SERVICE_ID].len ||
			    memcmp(ct[A_SERVICE_ID].val, tab[A_SERVICE_ID].val,
			    ct[A_SERVICE_ID].len) != 0))
				continue;
			if (q->passing && !attr_eq(&ct[A_STATUS], "passing", 7)) {
				q->out->len = mark;
				return 0;
			}
			attr_put(q->out, A_CHECK_REC, a.val, a.len);
		}
	}
	attr_nest_end(q->out, nest);
	return 0;
}

/*
 * by_name - service_fn over the instances of one service, found through
 * the svcnames index (its keys are lower case, as names match)
 */
static int
by_name(struct store *s, const char *name, struct svc_query *q)
{
	char lower[256];
	size_t n = strlen(name), i;
	DBT sk, pk, d;
	DBC *c;
	int rc;

	if (n == 0 || n >= sizeof(lower))
		return 0;
	for (i = 0; i < n; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	if ((rc = s->svcnames->cursor(s->svcnames, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	store_dbt(&sk, lower, n);
	memset(&pk, 0, sizeof(pk));
	memset(&d, 0, sizeof(d));
	for (rc = c->pget(c, &sk, &pk, &d, DB_SET); rc == 0;
	    rc = c->pget(c, &sk, &pk, &d, DB_NEXT_DUP))
		if (service_fn(q, &pk, &d) < 0) {
			c->close(c);
			return -1;
		}
	c->close(c);
	if (rc != DB_NOTFOUND)
		return store_fail(rc, "services by name");
	return 0;
}

/*
 * catalog_service - the instances of a service (with a tag), each as
 * A_ENTRY{A_NODE_REC A_SERVICE_REC [A_CHECK_REC...]}; with health the
 * checks are attached, and passing drops instances with any check that
 * is not passing.
 */
int
catalog_service(struct store *s, const char *name, const char *tag,
    int health, int passing, struct buf *out)
{
	struct svc_query q = { s, name, tag, health, passing, out, { 0 } };
	int rc;

	buf_init(&q.checks);
	rc = name == NULL ? scan(s->services, "", 0, service_fn, &q) :
	    by_name(s, name, &q);
	buf_free(&q.checks);
	return rc;
}

struct check_query {
	const char	*service, *state;	/* NULL: any */
	struct buf	*out;
};

/* checks_fn - one check record, if it passes the query's filters */
static int
checks_fn(void *arg, const DBT *k, const DBT *d)
{
	struct check_query *q = arg;
	struct attr tab[ATTR_TAB];

	if (attr_index(d->data, d->size, tab, ATTR_TAB) < 0)
		return 0;
	if (q->service != NULL && (tab[A_SERVICE_NAME].len !=
	    strlen(q->service) || strncasecmp((const char *)
	    tab[A_SERVICE_NAME].val, q->service, tab[A_SERVICE_NAME].len) != 0))
		return 0;
	if (q->state != NULL && !attr_eq(&tab[A_STATUS], q->state,
	    strlen(q->state)))
		return 0;
	rec_nest(q->out, A_ENTRY, d);
	return 0;
}

/*
 * catalog_checks - check records as A_ENTRY{check}...: a node's (node),
 * a service's (service, any case), or all in a state (state; NULL for
 * any)
 */
int
catalog_checks(struct store *s, const char *node, const char *service,
    const char *state, struct buf *out)
{
	struct check_query q = { service, state, out };
	struct buf prefix;
	int rc;

	buf_init(&prefix);
	if (node != NULL) {
		buf_puts(&prefix, node);
		buf_putc(&prefix, 0);
	}
	rc = scan(s->checks, node != NULL ? buf_head(&prefix) :
	    (const void *)"", buf_used(&prefix), checks_fn, &q);
	buf_free(&prefix);
	return rc;
}
