/*
 * cache - the last kvd reply dnsd saw for each read, kept so that DNS
 * keeps answering while no server can be reached (dns_config.max_stale
 * bounds how old an answer may be). Beyond Consul, whose DNS fails with
 * the servers.
 *
 * A read is its message type and request body; the value is the reply
 * body and when it arrived. Memory is bounded: past max_bytes the least
 * recently stored entries go first. Pure code, no libev: the caller
 * passes the time.
 */
#ifndef CAIRN_DNSD_CACHE_H
#define CAIRN_DNSD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct dcache;

/* dcache_new - an empty cache of at most max_bytes (keys + values) */
struct dcache	*dcache_new(size_t max_bytes);
void		 dcache_free(struct dcache *);

/* dcache_put - remember the reply to (type, key); replaces an older one */
void	dcache_put(struct dcache *, uint16_t type, const void *key,
	    size_t klen, const void *val, size_t vlen, double now);

/*
 * dcache_get - the reply last stored for (type, key), with its time in
 * *at; NULL when there is none. The pointer is valid until the next put.
 */
const void *dcache_get(struct dcache *, uint16_t type, const void *key,
	    size_t klen, size_t *vlen, double *at);

/* dcache_stats - entries and bytes held */
void	dcache_stats(const struct dcache *, size_t *entries, size_t *bytes);

#endif
