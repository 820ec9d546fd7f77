/*
 * gossipd.h - what the files of cairn-gossipd share, grouped by file.
 *
 * member.c is the pure membership table; main.c owns the process (the
 * table, the sockets, the subscribers); pushpull.c is the TCP exchange of
 * whole member lists between nodes; join.c decides whom to exchange with
 * (start_join, retry_join, joins on request, periodic anti-entropy).
 *
 * Leaves out: SWIM (UDP probes, suspicion, dissemination), which will sit
 * beside pushpull.c and feed the same table through member_merge.
 */
#ifndef CAIRN_GOSSIPD_H
#define CAIRN_GOSSIPD_H

#include <ev.h>
#include <stddef.h>

#include "config.h"
#include "member.h"
#include "server.h"

/* A push/pull, connect to reply; memberlist's TCPTimeout is 10s on a LAN,
 * a little less here so a join's reply beats httpd's 10s API timeout. */
#define GOSSIPD_PUSHPULL_TIMEOUT	8.0
/* Largest frame between nodes: a member list, never a bulk transfer. */
#define GOSSIPD_FRAME_MAX		(8u << 20)

struct gossipd {
	struct ev_loop		*loop;
	struct config		*cfg;		/* daemon_main's, lives on */
	const char		*self;		/* our node name */
	struct member_table	 members;
	struct server		 local;		/* run_dir/gossipd.sock */
	struct server		 gossip;	/* serf_lan TCP */
	int			 udp_fd;
	ev_io			 udp_w;
	struct sconn		**subs;		/* MSG_GOSSIP_SUBSCRIBE */
	size_t			 nsubs, subcap;
};
extern struct gossipd G;

/* main.c */
/* gossipd_notify - tell every subscriber about a member that changed */
void	gossipd_notify(const struct member *);

/* pushpull.c */
/*
 * The outcome of one push/pull: err is NULL on success. addr is "ip:port"
 * of the peer, for messages.
 */
typedef void pushpull_cb(void *arg, const char *addr, const char *err);
/*
 * pushpull_start - connect to ip:port, send our table, merge the peer's.
 * cb runs exactly once, later. -1 with err (cb not called) when the
 * connect fails at once (a bad address, no route).
 */
int	pushpull_start(const char *ip, int port, pushpull_cb *, void *arg,
	    char *err, size_t errlen);
/* pushpull_handle - MSG_GOSSIP_PUSHPULL from a peer on the serf_lan port */
void	pushpull_handle(struct sconn *, const struct frame *);
/*
 * pushpull_merge - merge a list of A_ENTRY{member} records from a peer
 * (from: for messages). All records are checked before any is merged;
 * -1 with err if one is malformed.
 */
int	pushpull_merge(const void *body, size_t len, const char *from,
	    char *err, size_t errlen);
/* pushpull_stop - abandon every exchange in flight; no callbacks */
void	pushpull_stop(void);

/* join.c */
/* join_init - read start_join, retry_join, retry_interval, retry_max
 * and start joining; start anti-entropy */
int	join_init(struct config *, char *err, size_t errlen);
/* join_handle - MSG_GOSSIP_JOIN on gossipd.sock */
void	join_handle(struct sconn *, const struct frame *);
/* join_conn_closed - a local peer went: forget its pending joins */
void	join_conn_closed(struct sconn *);
void	join_stop(void);
/*
 * join_spread - a member was added: push/pull with every alive member
 * soon, so news of it reaches all at once instead of by chance through
 * anti-entropy. SWIM's piggybacked dissemination replaces this later.
 */
void	join_spread(void);

#endif
