/*
 * rpc - the calling side of the framed protocol: one connection to a
 * sibling daemon's Unix socket (or a server's TCP port), kept up with
 * reconnect and backoff, and request/reply matching by id with a timeout
 * per call.
 *
 * A daemon that loses a neighbour keeps running: while the peer is away
 * rpc_call() fails at once with "<peer> is not running" (the caller answers
 * a clear error, never hangs), calls in flight fail with "connection to
 * <peer> lost", and the client reconnects in the background (100 ms, then
 * doubling up to 1 s). on_up runs after each successful HELLO, so a
 * subscriber re-subscribes there.
 *
 * Frames the peer sends that are not replies (subscriptions' pushes) go to
 * on_push.
 */
#ifndef CAIRN_RPC_H
#define CAIRN_RPC_H

#include <ev.h>
#include <sys/queue.h>

#include "conn.h"

/*
 * The callback gets the reply frame (FRAME_ERROR set for an error reply:
 * see frame_error_text) or NULL with err set when the call failed in
 * transport (peer away, timeout).
 */
typedef void rpc_cb(void *arg, const struct frame *reply, const char *err);

#define RPC_BUCKETS	256

struct rpc_call {
	uint32_t		 id;
	rpc_cb			*cb;
	void			*arg;
	ev_timer		 timer;
	struct rpc		*rpc;
	LIST_ENTRY(rpc_call)	 entry;
};

struct rpc {
	struct ev_loop		*loop;
	struct conn		 conn;
	int			 state;		/* RPC_DOWN, RPC_HELLO, RPC_UP */
	char			 path[108];	/* Unix socket, or */
	char			 host[64];	/* an IP and port */
	int			 port;
	const char		*program;	/* ours */
	const char		*peer;		/* "kvd": for messages */
	ev_timer		 retry;
	double			 backoff;
	uint32_t		 next_id;
	unsigned		 npending;
	LIST_HEAD(, rpc_call)	 pending[RPC_BUCKETS];
	void			(*on_up)(struct rpc *);
	void			(*on_down)(struct rpc *, const char *why);
	void			(*on_push)(struct rpc *, const struct frame *);
	void			*data;
	int			 logged_down;
	int			 stopped;
};

enum { RPC_DOWN, RPC_HELLO, RPC_UP };

/* rpc_init - set up and start connecting to the socket at path */
void	rpc_init(struct rpc *, struct ev_loop *, const char *path,
	    const char *program, const char *peer);
/* rpc_init_tcp - the same for ip:port (a server's RPC port) */
void	rpc_init_tcp(struct rpc *, struct ev_loop *, const char *ip, int port,
	    const char *program, const char *peer);
/*
 * rpc_call - send a request; cb runs exactly once, later. Returns 0, or -1
 * with err set (and cb not called) when the peer is not connected.
 */
int	rpc_call(struct rpc *, uint16_t type, const void *body, size_t len,
	    double timeout, rpc_cb *, void *arg, char *err, size_t errlen);
/* rpc_send - a frame that expects no reply (e.g. an acknowledgement) */
int	rpc_send(struct rpc *, uint16_t type, const void *body, size_t len);
int	rpc_is_up(const struct rpc *);
/* rpc_write_now - write what is queued now (see conn_write_now) */
void	rpc_write_now(struct rpc *);
void	rpc_stop(struct rpc *);

#endif
