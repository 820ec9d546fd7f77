/*
 * store - kvd's Berkeley DB environment and the commands applied to it.
 *
 * One transactional environment in data_dir/state holds every table:
 *	meta	 "applied" (last Raft index applied), "kv_index",
 *		 "catalog_index" (X-Consul-Index of each table)
 *	kv	 key -> record (A_CREATE_INDEX A_MODIFY_INDEX A_LOCK_INDEX
 *		 A_FLAGS [A_SESSION] A_VALUE)
 *	nodes	 node -> record;  services, checks: node "\0" id -> record
 *	sessions, locks	 see session.c
 *	queries	 prepared queries, see query.c
 *
 * Commits do not wait for the disk (DB_TXN_WRITE_NOSYNC): raftd's log is
 * what is durable, and the applied index is written in the same
 * transaction as the change, so after any crash kvd resumes from a
 * consistent index and replays the rest of the log.
 *
 * Applying is deterministic: the same command at the same index gives the
 * same state on every server.
 */
#ifndef CAIRN_KVD_STORE_H
#define CAIRN_KVD_STORE_H

#include <db.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "frame.h"

struct store {
	DB_ENV		*env;
	DB		*meta, *kv, *nodes, *services, *checks;
	DB		*sessions, *locks, *queries;
	DB		*svcnames;	/* services by lower-case name: a
					   secondary index Berkeley DB keeps */
	char		 dir[4096];
	uint64_t	 applied;	/* cached "applied" */
	uint64_t	 kv_index, catalog_index, session_index;
	uint64_t	 query_index;
	uint64_t	 now;		/* the applying command's A_NOW, or 0 */
	struct buf	 touched;	/* store_note's, until kvd takes them */
};

/*
 * What the applied commands changed, for blocked reads to wake: one
 * attribute each, its type the kind and its value the key.
 */
enum store_touch {
	TOUCH_KEY = 1,		/* a KV key */
	TOUCH_TREE,		/* every KV key under a prefix */
	TOUCH_SESSIONS,		/* the sessions table */
	TOUCH_CATALOG,		/* nodes, services, checks */
	TOUCH_QUERIES,		/* the prepared queries table */
	TOUCH_ALL,		/* everything (a restore) */
};
void	store_note(struct store *, enum store_touch, const void *, size_t);

int	store_open(struct store *, const char *dir, char *err, size_t);
void	store_close(struct store *);
void	store_checkpoint(struct store *);

int	store_txn_begin(struct store *, DB_TXN **);
int	store_txn_commit(struct store *, DB_TXN *);
/*
 * store_apply - apply the command at index inside txn, append its result
 * attributes to res. Returns -1 only on a storage error (the caller
 * aborts and gives up); a bad command is a result, not an error.
 */
int	store_apply(struct store *, DB_TXN *, uint64_t index,
	    const void *cmd, size_t len, struct buf *res);

/* Helpers shared by the table modules. */
static inline void
store_dbt(DBT *d, const void *p, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->data = (void *)p;
	d->size = (u_int32_t)n;
}

int	store_meta_put(struct store *, DB_TXN *, const char *, uint64_t);
int	store_meta_get(struct store *, const char *, uint64_t *);
int	store_fail(int rc, const char *what);	/* logs, returns -1 */

/* kv.c: reads append A_ENTRY / A_KEY attributes; return the index */
int	kv_apply(struct store *, DB_TXN *, uint64_t index, uint32_t op,
	    const struct attr *tab, struct buf *res);
int	kv_get(struct store *, const char *key, size_t klen, int recurse,
	    struct buf *out, uint64_t *index);
int	kv_keys(struct store *, const char *prefix, size_t plen,
	    const char *sep, size_t seplen, struct buf *out, uint64_t *index);
int	kv_touch(struct store *, DB_TXN *, uint64_t index);
int	kv_read(struct store *, DB_TXN *, const void *key, size_t klen,
	    int recurse, int value, struct buf *out);

/* txn.c: OP_TXN, all or nothing in a child transaction */
int	txn_apply(struct store *, DB_TXN *, uint64_t index, const void *cmd,
	    size_t len, struct buf *res);
int	kv_session_gone(struct store *, DB_TXN *, uint64_t index,
	    const void *key, size_t klen, const void *id, size_t idlen,
	    int del);

/* session.c */
int	session_apply(struct store *, DB_TXN *, uint64_t index, uint32_t op,
	    const struct attr *tab, const void *cmd, size_t len,
	    struct buf *res);
int	session_get(struct store *, DB_TXN *, const void *id, size_t,
	    DBT *);
int	session_delay_active(struct store *, DB_TXN *, const void *key,
	    size_t, uint64_t now);
int	session_lock_add(struct store *, DB_TXN *, const void *id,
	    size_t idlen, const void *key, size_t klen);
int	session_check_node(struct store *, DB_TXN *, uint64_t index,
	    const struct attr *node, struct buf *res);
int	session_info(struct store *, const void *id, size_t, struct buf *);
int	session_list(struct store *, const void *node, size_t, struct buf *);

/* catalog.c */
int	catalog_apply(struct store *, DB_TXN *, uint64_t index, uint32_t op,
	    const struct attr *tab, const void *cmd, size_t len,
	    struct buf *res);
int	catalog_nodes(struct store *, struct buf *out);
int	catalog_node(struct store *, const char *node, struct buf *out);
int	catalog_services(struct store *, struct buf *out);
int	catalog_service(struct store *, const char *name, const char *tag,
	    int health, int passing, struct buf *out);
int	catalog_checks(struct store *, const char *node, const char *service,
	    const char *state, struct buf *out);

/*
 * query.c: prepared queries. query_get appends A_ENTRY{query} for id (or
 * every query, id NULL) and says in *found how many. query_execute resolves
 * key as Consul does (an ID, an exact name, the longest template prefix)
 * and appends the query and its filtered health entries (msg.h
 * MSG_QUERY_EXECUTE); it returns -1 on a storage error, else 0 or the
 * MSG_E_* status with err set. query_session_gone deletes the queries
 * bound to a session that was invalidated.
 */
int	query_apply(struct store *, DB_TXN *, uint64_t index, uint32_t op,
	    const struct attr *tab, struct buf *res);
int	query_get(struct store *, const char *id, struct buf *out,
	    int *found);
int	query_execute(struct store *, const char *key, int passing,
	    struct buf *out, char *err, size_t errlen);
int	query_session_gone(struct store *, DB_TXN *, uint64_t index,
	    const void *id, size_t idlen);

/*
 * snapshot.c: the whole state in one file (format in snapshot.c).
 * store_snapshot_save writes the state as of the applied index to path
 * atomically (path.tmp, fsync, rename); store_snapshot_restore checks the
 * whole file, refusing it with the store untouched, then replaces every
 * table and the indexes in one transaction. Both set *index to the
 * snapshot's applied index.
 */
int	store_snapshot_save(struct store *, const char *path, uint64_t *index,
	    char *err, size_t errlen);
int	store_snapshot_restore(struct store *, const char *path,
	    uint64_t *index, char *err, size_t errlen);

/* snapshot.c: OP_RESTORE, inside the apply transaction */
int	store_snapshot_apply(struct store *, DB_TXN *, uint64_t index,
	    const struct attr *data, struct buf *res);

/* res_error - a command's failure, for the writer to read */
void	res_error(struct buf *res, uint32_t status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
