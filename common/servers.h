/*
 * servers - the RPC client that finds a server, for the daemons of a
 * client agent (which has no raftd or kvd of its own).
 *
 * It follows gossipd (MSG_GOSSIP_SUBSCRIBE on run_dir/gossipd.sock, as
 * raftd/peers.c does) to keep the alive servers of our datacenter: the
 * members tagged role=consul with our dc and their RPC port. It keeps one
 * struct rpc connected over TCP to one of them, chosen at random, in the
 * same framed protocol a local daemon speaks to raftd; the server
 * forwards writes and non-stale reads to its leader itself. When that
 * connection drops, or gossip says the server has left or failed, or it
 * cannot be reached within a deadline, another server is chosen; the
 * deadline doubles (1 s to 8 s) while none answers.
 *
 * Callers keep using a plain struct rpc: servers_rpc() gives it, and
 * servers_call() (a drop-in for rpc_call() that takes any rpc) adds what
 * a server connection needs: before any server is known a call fails at
 * once with Consul's "No known Consul servers"; while one is known but
 * the connection is not up yet (starting, or switching), a call is held
 * until it is, for at most Consul's rpc_hold_timeout (7 s) or its own
 * timeout if shorter. Calls in flight when a connection drops fail, as
 * rpc's do (a write's outcome is unknown, so none is resent).
 *
 * servers_read() and servers_read_body() write the MSG_RAFT_READ wrapping
 * of a kvd read once for httpd, checkd and dnsd.
 *
 * Leaves out: other datacenters (the WAN pool), Consul's periodic
 * rebalancing of clients over the servers, retrying a failed read on
 * another server, and max_stale (a stale read is whatever the chosen
 * server's kvd has).
 */
#ifndef CAIRN_SERVERS_H
#define CAIRN_SERVERS_H

#include <ev.h>
#include <stdint.h>
#include <sys/queue.h>

#include "frame.h"
#include "rpc.h"

#define SERVERS_MAX		64
#define SERVERS_HOLD_SECS	7.0	/* Consul's rpc_hold_timeout */

/* Consistency modes of MSG_RAFT_READ (A_MODE), and "no wrapping". */
enum {
	SERVERS_READ_LOCAL = -1,	/* straight to the local kvd */
	SERVERS_READ_DEFAULT = 0,
	SERVERS_READ_CONSISTENT = 1,
	SERVERS_READ_STALE = 2,
};

/* A server as gossip advertises it. */
struct servers_member {
	char		 node[64];
	char		 addr[64];
	int		 port;		/* its RPC port (tag "port") */
	int		 alive;
};

struct servers_held;

struct servers {
	struct ev_loop		*loop;
	const char		*program;	/* ours, sent in HELLO */
	char			 dc[64];
	struct rpc		 gossip;
	struct rpc		 rpc;		/* to the chosen server */
	int			 dialed;	/* rpc set up for cur */
	char			 cur[64];	/* the chosen server's node */
	char			 avoid[64];	/* the one that just failed */
	char			 peer[160];	/* rpc's name in messages */
	struct servers_member	 list[SERVERS_MAX];
	size_t			 n;
	ev_timer		 deadline;	/* to come up, else switch */
	ev_timer		 kick;		/* switch, outside callbacks */
	double			 wait;		/* the deadline, doubling */
	unsigned		 seed;
	TAILQ_HEAD(, servers_held) held;
	unsigned		 nheld;
	int			 stopped;
	/* the owner's: runs each time a server connection comes up */
	void			(*on_up)(struct rpc *);
	void			*data;
};

/*
 * servers_init - follow gossipd at gossip_path for the servers of dc;
 * program is ours (its HELLO to the servers). Connects once one is known.
 */
void	servers_init(struct servers *, struct ev_loop *,
	    const char *gossip_path, const char *dc, const char *program);
/* servers_rpc - the connection to the chosen server, for servers_call */
struct rpc *servers_rpc(struct servers *);
/* servers_owns - 1 if r is a servers_rpc() */
int	servers_owns(const struct rpc *r);
/*
 * servers_call - rpc_call() for any rpc; for a servers_rpc() it holds a
 * call while a known server is being connected, and fails at once with
 * "No known Consul servers" while none is known.
 */
int	servers_call(struct rpc *, uint16_t type, const void *body, size_t len,
	    double timeout, rpc_cb *, void *arg, char *err, size_t errlen);
/* servers_alive - how many alive servers gossip knows */
size_t	servers_alive(const struct servers *);
void	servers_stop(struct servers *);

/*
 * servers_member_tag - a gossip member record's tag value into out[n];
 * -1 if absent, too long, or holding a NUL
 */
int	servers_member_tag(const void *rec, size_t len, const char *key,
	    char *out, size_t n);
/*
 * servers_member_parse - a gossip member record: 1 with *m filled if it is
 * a server of dc, 0 if it is not, -1 if the record is malformed.
 */
int	servers_member_parse(const void *rec, size_t len, const char *dc,
	    struct servers_member *m);

/*
 * servers_read_body - MSG_RAFT_READ's body for the kvd read (type, body)
 * in a consistency mode
 */
void	servers_read_body(struct buf *, int mode, uint16_t type,
	    const void *body, size_t len);
/*
 * servers_read - a kvd read: with SERVERS_READ_LOCAL sent as it is (r is
 * the local kvd), otherwise wrapped in MSG_RAFT_READ in that mode (r is
 * the local raftd or a servers_rpc()). The reply is kvd's either way
 * (wrapped, it also carries A_KNOWN_LEADER and A_LAST_CONTACT).
 */
int	servers_read(struct rpc *, int mode, uint16_t type, const void *body,
	    size_t len, double timeout, rpc_cb *, void *arg,
	    char *err, size_t errlen);

#endif
