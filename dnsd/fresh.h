/*
 * fresh - whether a reply dnsd keeps (cache.h) is still the catalog as
 * it stands, so that a name asked again is answered without asking kvd.
 *
 * Every catalog read carries the catalog index: the Raft index of the
 * last change to any node, service or check. fresh keeps one blocking
 * catalog read in flight (with the index it knows, the way a Consul
 * client watches), which kvd answers on the next catalog change or after
 * FRESH_WAIT_MS; so fresh knows the index current at the server dnsd
 * reads from. A kept reply is fresh when it carries at
 * least that index and was kept in the current epoch. The epoch moves on
 * whenever fresh loses track (the watch failed, the index went back), so
 * nothing kept before it is trusted again until read anew. While the
 * watch's server last heard its leader longer than max_stale ago, or
 * the watch is down, nothing is fresh and every query reads kvd as
 * before.
 *
 * So a change reaches the answers once the server has applied it and
 * the watch's reply is back: the delay of any stale read, plus one
 * message. Consul's allow_stale DNS has the same kind of window.
 */
#ifndef CAIRN_DNSD_FRESH_H
#define CAIRN_DNSD_FRESH_H

#include <ev.h>
#include <stdint.h>

#include "rpc.h"

#define FRESH_WAIT_MS	5000	/* a watch's wait: how soon lost contact
				   with the leader is noticed */
#define FRESH_RETRY	0.5	/* seconds after a failed watch */

struct fresh {
	struct ev_loop	*loop;
	struct rpc	*rpc;		/* kvd, or a server's RPC port */
	int		 mode;		/* SERVERS_READ_LOCAL or _STALE */
	uint64_t	 max_stale_ms;
	uint64_t	 index;		/* the catalog's, as last heard */
	uint64_t	 epoch;
	int		 live;		/* index is current */
	int		 calling;	/* a watch is in flight */
	int		 stopped;
	ev_timer	 retry;
	/* counts, for the log */
	uint64_t	 hits, changes;
};

/*
 * fresh_init - start watching the catalog through rpc: mode
 * SERVERS_READ_LOCAL for a server's own kvd, SERVERS_READ_STALE for a
 * servers_rpc()
 */
void	fresh_init(struct fresh *, struct ev_loop *, struct rpc *, int mode,
	    uint64_t max_stale_ms);
/* fresh_set_max_stale - after a reload */
void	fresh_set_max_stale(struct fresh *, uint64_t max_stale_ms);
/* fresh_is - 1 if a reply read at index in epoch is the current catalog */
int	fresh_is(const struct fresh *, uint64_t index, uint64_t epoch);
/*
 * The state alone, without the watch (for fresh.c and the tests):
 * fresh_state - not live, epoch 1; fresh_heard - the watch's reply
 * (its A_INDEX and A_LAST_CONTACT); fresh_lost - the watch failed
 */
void	fresh_state(struct fresh *, uint64_t max_stale_ms);
void	fresh_heard(struct fresh *, uint64_t index, uint64_t contact);
void	fresh_lost(struct fresh *, const char *why);
/* fresh_reply_attrs - a kvd reply's A_INDEX and A_LAST_CONTACT (0: none) */
void	fresh_reply_attrs(const void *body, size_t len, uint64_t *index,
	    uint64_t *contact);
void	fresh_stop(struct fresh *);

#endif
