/*
 * gossipd.h - what the files of cairn-gossipd share, grouped by file.
 *
 * member.c is the pure membership table and swim.c the pure failure
 * detector over it; main.c owns the process (the table, the sockets,
 * the subscribers); swim_io.c binds SWIM to the UDP socket, the clock
 * and the encrypt key, and handles leave and force-leave; pushpull.c is
 * the TCP exchange of whole member lists between nodes; join.c decides
 * whom to exchange with (start_join, retry_join, joins on request,
 * periodic anti-entropy, reconnecting to failed members); saved.c keeps
 * the member list in data_dir/gossip; event.c and event_api.c are user
 * events.
 */
#ifndef CAIRN_GOSSIPD_H
#define CAIRN_GOSSIPD_H

#include <ev.h>
#include <stddef.h>

#include "buf.h"
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
/* pushpull_ping - a TCP probe of ip:port; cb as for pushpull_start */
int	pushpull_ping(const char *ip, int port, pushpull_cb *, void *arg,
	    char *err, size_t errlen);
void	pushpull_handle_ping(struct sconn *, const struct frame *);
/* pushpull_handle - MSG_GOSSIP_PUSHPULL from a peer on the serf_lan port */
void	pushpull_handle(struct sconn *, const struct frame *);
/* pushpull_handle_fill - MSG_GOSSIP_PUSHPULL_FILL, the records we wanted */
void	pushpull_handle_fill(struct sconn *, const struct frame *);
/*
 * pushpull_merge - merge a list of A_ENTRY{member} records from a peer
 * (from: for messages). All records are checked before any is merged;
 * -1 with err if one is malformed.
 */
int	pushpull_merge(const void *body, size_t len, const char *from,
	    char *err, size_t errlen);
/* pushpull_stop - abandon every exchange in flight; no callbacks */
void	pushpull_stop(void);

/* swim_io.c */
int	swim_io_init(struct config *, char *err, size_t errlen);
void	swim_io_stop(void);
void	swim_io_udp_cb(struct ev_loop *, ev_io *, int);
void	swim_io_handle_leave(struct sconn *, const struct frame *);
void	swim_io_handle_force_leave(struct sconn *, const struct frame *);
void	swim_io_stats(uint64_t *health, uint64_t *dropped,
	    uint64_t *suspects);
/* gossip_news - push/pull merged a record: SWIM spreads what is new */
void	gossip_news(const struct member *, enum member_result);
/* gossip_seal, gossip_open - push/pull bodies under the encrypt key */
int	gossip_encrypted(void);
void	gossip_seal(const void *, size_t, struct buf *out);
int	gossip_open(const void *, size_t, struct buf *out);

/* saved.c */
int	saved_init(struct config *, char *err, size_t errlen);
void	saved_dirty(void);
void	saved_forget(void);
void	saved_stop(void);

/* join.c */
/* join_init - read start_join, retry_join, retry_interval, retry_max
 * and start joining; start anti-entropy */
int	join_init(struct config *, char *err, size_t errlen);
/* join_handle - MSG_GOSSIP_JOIN on gossipd.sock */
void	join_handle(struct sconn *, const struct frame *);
/* join_conn_closed - a local peer went: forget its pending joins */
void	join_conn_closed(struct sconn *);
void	join_stop(void);

#endif
