/*
 * cache - the last kvd reply dnsd saw for each read, kept so that DNS
 * keeps answering while no server can be reached (dns_config.max_stale
 * bounds how old an answer may be). Beyond Consul, whose DNS fails with
 * the servers.
 *
 * A read is its message type and request body; the value is the reply
 * body, when it arrived, and the catalog index and fresh.h epoch it was
 * read at, by which dnsd also answers from it while it is current
 * (fresh.h). Memory is bounded: past max_bytes the least recently
 * stored entries go first. Pure code, no libev: the caller passes the
 * time.
 */
#ifndef CAIRN_DNSD_CACHE_H
#define CAIRN_DNSD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct dcache;

/* A kept reply. */
struct dcache_val {
	const void	*data;
	size_t		 len;
	double		 at;		/* when it arrived */
	uint64_t	 index;		/* the catalog index it carried */
	uint64_t	 epoch;		/* fresh.h's when it arrived */
};

/* dcache_new - an empty cache of at most max_bytes (keys + values) */
struct dcache	*dcache_new(size_t max_bytes);
void		 dcache_free(struct dcache *);

/*
 * dcache_put - remember the reply to (type, key), copying v->data;
 * replaces an older one
 */
void	dcache_put(struct dcache *, uint16_t type, const void *key,
	    size_t klen, const struct dcache_val *v);

/*
 * dcache_get - 1 with *v the reply last stored for (type, key), 0 when
 * there is none. v->data is valid until the next put.
 */
int	dcache_get(struct dcache *, uint16_t type, const void *key,
	    size_t klen, struct dcache_val *v);

/* dcache_stats - entries and bytes held */
void	dcache_stats(const struct dcache *, size_t *entries, size_t *bytes);

#endif
