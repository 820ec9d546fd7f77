/*
 * store.c - the Berkeley DB environment, meta table and command dispatch.
 * See store.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "msg.h"
#include "store.h"

int
store_fail(int rc, const char *what)
{
	log_error("berkeley db: %s: %s", what, db_strerror(rc));
	return -1;
}

void
res_error(struct buf *res, uint32_t status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	attr_put_u32(res, A_STATUS, status);
	attr_put_str(res, A_MSG, msg);
}

/* store_note - see store.h */
void
store_note(struct store *s, enum store_touch what, const void *key,
    size_t len)
{
	attr_put(&s->touched, (uint16_t)what, key, len);
}

/* store_meta_get - a u64 from the meta table, 0 when absent */
int
store_meta_get(struct store *s, const char *name, uint64_t *v)
{
	DBT k, d;
	unsigned char x[8];
	int rc;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)name;
	k.size = strlen(name);
	d.data = x;
	d.ulen = sizeof(x);
	d.flags = DB_DBT_USERMEM;
	*v = 0;
	rc = s->meta->get(s->meta, NULL, &k, &d, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, name);
	if (d.size == 8)
		*v = be64_get(x);
	return 0;
}

int
store_meta_put(struct store *s, DB_TXN *t, const char *name, uint64_t v)
{
	DBT k, d;
	unsigned char x[8];
	int rc;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	be64_put(x, v);
	k.data = (void *)name;
	k.size = strlen(name);
	d.data = x;
	d.size = 8;
	if ((rc = s->meta->put(s->meta, t, &k, &d, 0)) != 0)
		return store_fail(rc, name);
	return 0;
}

/* db_open1 - open (creating) one btree in the environment */
static int
db_open1(struct store *s, DB **db, const char *file, char *err, size_t errlen)
{
	int rc;

	if ((rc = db_create(db, s->env, 0)) != 0 ||
	    (rc = (*db)->open(*db, NULL, file, NULL, DB_BTREE,
	    DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0) {
		snprintf(err, errlen, "open %s/%s: %s", s->dir, file,
		    db_strerror(rc));
		return -1;
	}
	return 0;
}

/*
 * svcname_key - the secondary key of a service record: its name in lower
 * case, so DNS and HTTP lookups (without case) read only its instances
 */
static int
svcname_key(DB *sec, const DBT *pkey, const DBT *pdata, DBT *skey)
{
	struct attr tab[A_SERVICE_NAME + 1];
	unsigned char *name;
	size_t i;

	if (attr_index(pdata->data, pdata->size, tab, A_SERVICE_NAME + 1) < 0 ||
	    tab[A_SERVICE_NAME].len == 0)
		return DB_DONOTINDEX;
	if ((name = malloc(tab[A_SERVICE_NAME].len)) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < tab[A_SERVICE_NAME].len; i++)
		name[i] = (unsigned char)tolower(tab[A_SERVICE_NAME].val[i]);
	memset(skey, 0, sizeof(*skey));
	skey->data = name;
	skey->size = (u_int32_t)tab[A_SERVICE_NAME].len;
	skey->flags = DB_DBT_APPMALLOC;
	return 0;
}

/*
 * svcnames_open - the index of services by name; built from the services
 * table when it is new (a data dir from before it, or a first start)
 */
static int
svcnames_open(struct store *s, char *err, size_t errlen)
{
	int rc;

	if ((rc = db_create(&s->svcnames, s->env, 0)) != 0 ||
	    (rc = s->svcnames->set_flags(s->svcnames, DB_DUP | DB_DUPSORT))
	    != 0 ||
	    (rc = s->svcnames->open(s->svcnames, NULL, "svcnames.db", NULL,
	    DB_BTREE, DB_CREATE | DB_AUTO_COMMIT, 0600)) != 0 ||
	    (rc = s->services->associate(s->services, NULL, s->svcnames,
	    svcname_key, DB_CREATE | DB_AUTO_COMMIT)) != 0) {
		snprintf(err, errlen, "open %s/svcnames.db: %s", s->dir,
		    db_strerror(rc));
		return -1;
	}
	return 0;
}

/* store_open - recover and open the environment and every table */
int
store_open(struct store *s, const char *dir, char *err, size_t errlen)
{
	int rc;

	memset(s, 0, sizeof(*s));
	buf_init(&s->touched);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((rc = db_env_create(&s->env, 0)) != 0) {
		snprintf(err, errlen, "db_env_create: %s", db_strerror(rc));
		return -1;
	}
	s->env->set_errpfx(s->env, "cairn-kvd: bdb");
	s->env->set_errfile(s->env, stderr);
	s->env->set_cachesize(s->env, 0, 32 << 20, 1);
	s->env->set_lg_bsize(s->env, 4 << 20);
	s->env->set_lk_max_locks(s->env, 100000);
	s->env->set_lk_max_objects(s->env, 100000);
	s->env->set_flags(s->env, DB_TXN_WRITE_NOSYNC, 1);
	s->env->log_set_config(s->env, DB_LOG_AUTO_REMOVE, 1);
	/*
	 * DB_PRIVATE: one process owns the environment (kvd holds the lock
	 * file), so the regions live in its heap and a kill -9 leaves no
	 * shared state behind; DB_RECOVER replays the log on every start.
	 */
	rc = s->env->open(s->env, dir, DB_CREATE | DB_INIT_LOCK | DB_INIT_LOG |
	    DB_INIT_MPOOL | DB_INIT_TXN | DB_RECOVER | DB_PRIVATE, 0600);
	if (rc != 0) {
		snprintf(err, errlen, "open environment %s: %s", dir,
		    db_strerror(rc));
		return -1;
	}
	if (db_open1(s, &s->meta, "meta.db", err, errlen) < 0 ||
	    db_open1(s, &s->kv, "kv.db", err, errlen) < 0 ||
	    db_open1(s, &s->nodes, "nodes.db", err, errlen) < 0 ||
	    db_open1(s, &s->services, "services.db", err, errlen) < 0 ||
	    db_open1(s, &s->checks, "checks.db", err, errlen) < 0 ||
	    db_open1(s, &s->sessions, "sessions.db", err, errlen) < 0 ||
	    db_open1(s, &s->locks, "locks.db", err, errlen) < 0 ||
	    db_open1(s, &s->queries, "queries.db", err, errlen) < 0 ||
	    svcnames_open(s, err, errlen) < 0)
		return -1;
	if (store_meta_get(s, "applied", &s->applied) < 0 ||
	    store_meta_get(s, "kv_index", &s->kv_index) < 0 ||
	    store_meta_get(s, "catalog_index", &s->catalog_index) < 0 ||
	    store_meta_get(s, "session_index", &s->session_index) < 0 ||
	    store_meta_get(s, "query_index", &s->query_index) < 0) {
		snprintf(err, errlen, "cannot read %s/meta.db", dir);
		return -1;
	}
	return 0;
}

/* store_checkpoint - bound recovery time and let old logs go */
void
store_checkpoint(struct store *s)
{
	int rc;

	if ((rc = s->env->txn_checkpoint(s->env, 0, 0, 0)) != 0)
		store_fail(rc, "checkpoint");
}

void
store_close(struct store *s)
{
	/* The index first: a secondary closes before its primary. */
	DB **dbs[] = { &s->svcnames, &s->meta, &s->kv, &s->nodes,
	    &s->services, &s->checks, &s->sessions, &s->locks, &s->queries };
	size_t i;

	buf_free(&s->touched);
	if (s->env == NULL)
		return;
	for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++)
		if (*dbs[i] != NULL) {
			(*dbs[i])->close(*dbs[i], 0);
			*dbs[i] = NULL;
		}
	s->env->txn_checkpoint(s->env, 0, 0, 0);
	s->env->close(s->env, 0);
	s->env = NULL;
}

int
store_txn_begin(struct store *s, DB_TXN **t)
{
	int rc;

	if ((rc = s->env->txn_begin(s->env, NULL, t, 0)) != 0)
		return store_fail(rc, "txn_begin");
	return 0;
}

int
store_txn_commit(struct store *s, DB_TXN *t)
{
	int rc;

	if ((rc = t->commit(t, 0)) != 0)
		return store_fail(rc, "commit");
	return 0;
}

/* store_dispatch - hand a parsed command to the table that owns it */
static int
store_dispatch(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, const void *cmd, size_t len, struct buf *res)
{
	if (op == OP_NOOP) {
		attr_put_u8(res, A_RESULT, 1);
		return 0;
	}
	if ((op >= OP_KV_SET && op <= OP_KV_DELETE_TREE) ||
	    op == OP_KV_LOCK || op == OP_KV_UNLOCK)
		return kv_apply(s, t, index, op, tab, res);
	if (op == OP_TXN)
		return txn_apply(s, t, index, cmd, len, res);
	if (op == OP_SESSION_CREATE || op == OP_SESSION_DESTROY)
		return session_apply(s, t, index, op, tab, cmd, len, res);
	if (op >= OP_CAT_REGISTER && op <= OP_CHECK_STATUS)
		return catalog_apply(s, t, index, op, tab, cmd, len, res);
	if (op == OP_QUERY_SET || op == OP_QUERY_DELETE)
		return query_apply(s, t, index, op, tab, res);
	if (op == OP_RESTORE)
		return store_snapshot_apply(s, t, index, &tab[A_DATA], res);
	res_error(res, MSG_E_BADREQ, "unknown operation %u", op);
	return 0;
}

/* store_apply - one command; the applied index moves with it */
int
store_apply(struct store *s, DB_TXN *t, uint64_t index, const void *cmd,
    size_t len, struct buf *res)
{
	struct attr tab[ATTR_TAB];
	uint32_t op;
	int rc = 0;

	s->now = 0;
	if (attr_index(cmd, len, tab, ATTR_TAB) < 0 ||
	    attr_u32(&tab[A_OP], &op) < 0)
		res_error(res, MSG_E_BADREQ, "malformed command");
	else {
		attr_u64(&tab[A_NOW], &s->now);
		rc = store_dispatch(s, t, index, op, tab, cmd, len, res);
	}
	if (rc < 0 || store_meta_put(s, t, "applied", index) < 0)
		return -1;
	return 0;
}
