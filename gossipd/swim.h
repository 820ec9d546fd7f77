/*
 * swim - failure detection and dissemination for the member table, as
 * SWIM with HashiCorp's Lifeguard refinements (memberlist is the model).
 *
 * Pure, like the Raft core: no sockets, no clock, no randomness of its
 * own. Time comes in as milliseconds with every call, randomness from the
 * seed, packets with swim_recv(); packets go out through the send
 * callback, and a TCP probe is asked of the caller through tcp_probe.
 *
 * What it does:
 *	- probes one member per probe interval, in a shuffled round-robin:
 *	  a direct ping; at the probe timeout, indirect pings through
 *	  indirect_checks others (who answer with a nack if they hear
 *	  nothing either) and a TCP probe; no ack by the end of the
 *	  interval makes the member suspect;
 *	- suspicion: a suspect member that does not refute (with a higher
 *	  incarnation) within the suspicion timeout is declared failed. The
 *	  timeout starts long and shrinks as independent suspicions from
 *	  other members confirm it (Lifeguard 2); our own failed record is
 *	  sent to the suspect first, so it can refute quickly (the buddy
 *	  system);
 *	- local health (Lifeguard 1): failed probes, missed nacks and
 *	  having to refute raise an awareness score; probe interval and
 *	  timeout scale with it, so a slow node probes slower and accuses
 *	  less;
 *	- dissemination: alive, suspect and dead news and user events are
 *	  piggybacked on every packet, least transmitted first, each up to
 *	  retransmit_mult * log10(n + 1) times, and gossiped to gossip_nodes
 *	  random members every gossip interval;
 *	- refutation: news that this node is suspect or dead (unless it is
 *	  leaving) raises its incarnation and spreads an alive record;
 *	- leaving: a dead message from the node about itself, which the
 *	  others record as "left".
 *
 * Member status stays serf's (member.h): a suspect is still "alive" to
 * the table; the suspicion lives here. A dead message from a member
 * about itself means it left; from anyone else, that it failed.
 */
#ifndef CAIRN_SWIM_H
#define CAIRN_SWIM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "member.h"

#define SWIM_MAX_PACKET		1400	/* fits a LAN MTU with headers */
#define SWIM_MAX_SUSPECTS	256
#define SWIM_MAX_RELAYS		64	/* indirect pings we run for others */
#define SWIM_MAX_BCAST		1024

enum swim_kind {		/* the packet format: swim_wire.c */
	SWIM_PING = 1,
	SWIM_ACK = 2,
	SWIM_NACK = 3,
	SWIM_INDIRECT = 4,
	SWIM_ALIVE = 5,
	SWIM_SUSPECT = 6,
	SWIM_DEAD = 7,
	SWIM_EVENT = 8,
};

/* One message read off a packet (swim_wire_next). */
struct swim_wmsg {
	enum swim_kind		 kind;
	uint32_t		 seq, inc;
	int			 nack, prune;
	int			 port;
	char			 node[MEMBER_NAME_MAX + 1];	/* target */
	char			 from[MEMBER_NAME_MAX + 1];
	char			 addr[MEMBER_ADDR_MAX];
	const unsigned char	*rec;		/* ALIVE, EVENT */
	size_t			 reclen;
};

/* swim_wire.c: appending one message to a packet */
void	swim_wire_ping(struct buf *, uint32_t seq, const char *target);
void	swim_wire_seq(struct buf *, enum swim_kind, uint32_t seq);
void	swim_wire_indirect(struct buf *, uint32_t seq, const char *target,
	    const char *addr, int port, int nack);
void	swim_wire_status(struct buf *, enum swim_kind, const char *node,
	    uint32_t inc, const char *from, int prune);
void	swim_wire_alive(struct buf *, const struct member *);
void	swim_wire_event(struct buf *, const void *rec, size_t len);
/*
 * swim_wire_next - read the next message at *p (advanced past it): 1
 * with m filled, 0 at the end, -1 if malformed. An unknown kind is
 * returned as it is, to be skipped.
 */
int	swim_wire_next(const unsigned char **p, size_t *left,
	    struct swim_wmsg *m);

struct swim_opts {
	const char	*self;		/* our name: our record is in the table */
	uint32_t	 probe_interval;	/* ms; Consul LAN 1000 */
	uint32_t	 probe_timeout;		/* ms; 500 */
	uint32_t	 suspicion_mult;	/* 4 */
	uint32_t	 suspicion_max_mult;	/* 6 */
	uint32_t	 retransmit_mult;	/* 4 */
	uint32_t	 gossip_interval;	/* ms; 200 */
	uint32_t	 gossip_nodes;		/* 3 */
	uint32_t	 indirect_checks;	/* 3 */
	uint32_t	 awareness_max;		/* 8 */
	uint32_t	 gossip_to_dead;	/* ms; 30000 */
	uint64_t	 seed;
	void		*ctx;
	void		(*send)(void *ctx, const char *addr, int port,
			    const void *pkt, size_t len);
	/* A TCP probe of addr:port; answer with swim_tcp_result(seq). */
	void		(*tcp_probe)(void *ctx, const char *addr, int port,
			    uint32_t seq);
	/* A member's record changed in the table (or was added). */
	void		(*changed)(void *ctx, const struct member *,
			    enum member_result);
	/* A user event arrived: 1 new (keep spreading it), 0 seen, -1 bad. */
	int		(*event)(void *ctx, const void *rec, size_t len);
};

struct swim_suspect {
	char		*name;
	uint32_t	 incarnation;
	uint64_t	 start, timeout;	/* ms */
	uint32_t	 k;			/* confirmations that count */
	char		*from[9];		/* who raised it, then who
						   confirmed it */
	uint32_t	 nfrom;
};

struct swim_relay {
	uint32_t	 seq, origin_seq;
	char		 addr[MEMBER_ADDR_MAX];
	int		 port;
	int		 nack;
	uint64_t	 deadline;
};

struct swim_bcast {
	char		*key;		/* member name, or "event:<id>" */
	struct buf	 msg;		/* one message (swim_wire.c) */
	uint32_t	 transmits;
};

struct swim {
	struct swim_opts	 o;
	struct member_table	*t;
	uint64_t		 rng;
	uint32_t		 seq;
	uint32_t		 awareness;
	/* the probe round */
	char			**order;
	size_t			 norder, next;
	uint64_t		 next_probe, next_gossip;
	struct {
		int		 active, acked, indirect_sent;
		char		*name;
		uint32_t	 seq, nacks, expect_nacks;
		uint64_t	 timeout_at, end_at;
	} probe;
	struct swim_suspect	 sus[SWIM_MAX_SUSPECTS];
	size_t			 nsus;
	struct swim_relay	 relay[SWIM_MAX_RELAYS];
	size_t			 nrelay;
	struct swim_bcast	*bq;
	size_t			 nbq, capbq;
	int			 leaving;
	/* counters, for metrics and tests */
	uint64_t		 bad_packets, probes, probe_failures;
	uint64_t		 refutes, sent_packets, sent_bytes;
};

void	swim_init(struct swim *, const struct swim_opts *,
	    struct member_table *, uint64_t now);
void	swim_free(struct swim *);
/* swim_tick - timers: probes, suspicions, relays, gossip */
void	swim_tick(struct swim *, uint64_t now);
/* swim_recv - one packet from addr:port; -1 (and counted) if malformed */
int	swim_recv(struct swim *, const char *addr, int port, const void *,
	    size_t, uint64_t now);
/* swim_tcp_result - the outcome of a tcp_probe */
void	swim_tcp_result(struct swim *, uint32_t seq, int ok, uint64_t now);
/*
 * swim_news - a record merged from elsewhere (push/pull, our own record
 * after a change): spread it, and drop a suspicion it answers.
 */
void	swim_news(struct swim *, const struct member *, enum member_result,
	    uint64_t now);
/* swim_leave - spread that we leave; no more probing or refuting */
void	swim_leave(struct swim *, uint64_t now);
/* swim_force_leave - mark a member left everywhere; -1 if unknown or us */
int	swim_force_leave(struct swim *, const char *name, int prune,
	    uint64_t now);
/* swim_event - spread a user event record (A_ENTRY body) */
void	swim_event(struct swim *, const void *rec, size_t len);
/* swim_pending - broadcasts still being spread */
size_t	swim_pending(const struct swim *);
/* swim_is_suspect - whether we hold a suspicion of the member */
int	swim_is_suspect(const struct swim *, const char *name);

#endif
