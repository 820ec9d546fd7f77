/*
 * watch.h - blocking KV reads in kvd (see watch.c).
 */
#ifndef CAIRN_KVD_WATCH_H
#define CAIRN_KVD_WATCH_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* What runs a woken read again; it must answer, not park again. */
typedef void watch_rerun_fn(struct sconn *, const struct frame *);

void	watch_init(struct ev_loop *, watch_rerun_fn *);
/*
 * watch_park - keep the read f from sc until a change touches key (a
 * prefix when prefix is set) or wait_ms pass
 */
void	watch_park(struct sconn *, const struct frame *, const void *key,
	    size_t keylen, int prefix, uint64_t wait_ms);
/*
 * watch_touched - a committed write changed key, or everything under it
 * when tree is set; key NULL wakes every waiter (a restore)
 */
void	watch_touched(const void *key, size_t len, int tree);
size_t	watch_count(void);
void	watch_stop(void);

#endif
