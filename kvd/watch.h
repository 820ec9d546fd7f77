/*
 * watch.h - blocking reads in kvd (see watch.c).
 */
#ifndef CAIRN_KVD_WATCH_H
#define CAIRN_KVD_WATCH_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* What runs a woken read again; it must answer, not park again. */
typedef void watch_rerun_fn(struct sconn *, const struct frame *);

/* What a read watches: its keys live in one table's name space. */
enum watch_table {
	WATCH_KV = 0,
	WATCH_SESSIONS,		/* the whole table: key "" with prefix */
	WATCH_CATALOG,		/* nodes, services, checks: likewise */
};

void	watch_init(struct ev_loop *, watch_rerun_fn *);
/*
 * watch_park - keep the read f from sc until a change in table touches
 * key (a prefix when prefix is set) or wait_ms pass
 */
void	watch_park(struct sconn *, const struct frame *, enum watch_table,
	    const void *key, size_t keylen, int prefix, uint64_t wait_ms);
/*
 * watch_touched - a committed write changed key in table, or everything
 * under it when tree is set; key NULL wakes every waiter (a restore)
 */
void	watch_touched(enum watch_table, const void *key, size_t len,
	    int tree);
size_t	watch_count(void);
void	watch_stop(void);

#endif
