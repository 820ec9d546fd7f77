/*
 * raftd.h - the adapter that binds the pure Raft core (raft.c) to libev,
 * TCP, the disk and kvd. One owner for each piece of raftd's state:
 *
 *	node.c	the core, its Ready loop, the log and hard state on disk,
 *		bootstrapping
 *	bootstrap.c agreeing on the first configuration
 *	peers.c	the other servers: who they are (from gossipd), the
 *		connections to them, sending Raft messages
 *	feed.c	kvd: streaming committed entries, results back to the
 *		writers waiting for them
 *	read.c	reads with Consul's consistency modes
 *	snap.c	snapshots: taking, sending, installing, restoring kvd
 *	forward.c requests relayed to the leader
 *	reconcile.c the catalog following membership: serfHealth, and
 *		deregistering members that left (the leader's)
 *	main.c	the sockets (run_dir/raftd.sock for local daemons, the
 *		server RPC port for servers and client agents), the
 *		request table, writes and their forwarding to the leader
 */
#ifndef CAIRN_RAFTD_H
#define CAIRN_RAFTD_H

#include <ev.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "raft.h"
#include "raft_log.h"
#include "rpc.h"
#include "server.h"

#define RAFTD_MAX_PEERS		RAFT_MAX_NODES
#define RPC_HOLD_SECS		7.0	/* Consul's rpc_hold_timeout */

struct peer {
	raft_id		 id;
	char		 node[64];
	char		 node_id[40];
	char		 addr[64];	/* advertise address */
	int		 port;		/* server RPC port */
	int		 expect;	/* its bootstrap_expect */
	int		 alive;
	int		 dialed;	/* rpc set up */
	struct rpc	 rpc;
};

struct pend {
	uint64_t	 index, term;
	struct server	*srv;
	uint64_t	 serial;	/* the writer (server_find) */
	uint32_t	 id;
	int		 failed;	/* its entry lost to another leader's */
};

/* A request waiting for a leader to exist. */
struct held {
	struct server	*srv;
	uint64_t	 serial;
	uint32_t	 id;
	uint16_t	 type;
	double		 deadline;
	size_t		 len;
	TAILQ_ENTRY(held) entry;
	unsigned char	 body[];
};

struct raftd {
	struct ev_loop	*loop;
	/* from the config */
	char		 node[64], node_id[40];
	char		 self[128];	/* "advertise:port" */
	char		 advertise[64];
	int		 port;
	int		 bootstrap;	/* -bootstrap or -dev */
	int		 expect;	/* bootstrap_expect */
	char		 dc[64];
	uint64_t	 election_ms, heartbeat_ms;
	uint64_t	 snap_threshold;	/* raft_snapshot_threshold */
	uint64_t	 trailing;		/* raft_trailing_logs */
	raft_id		 id;
	/* node.c */
	struct raft	 r;
	int		 started;	/* the core is running */
	struct raft_log	 log;
	char		 dir[4096];
	int		 lockfd;
	ev_timer	 tick;
	ev_prepare	 ready;
	raft_id		 last_leader;
	int		 was_leader;
	/* peers.c */
	struct peer	 peers[RAFTD_MAX_PEERS];
	size_t		 npeers;
	struct rpc	 gossip;
	char		 gossip_path[4200];
	/* read.c */
	struct rpc	 kvd;		/* this server's kvd, for reads */
	/* feed.c */
	struct sconn	*sub;		/* kvd, subscribed */
	uint64_t	 sub_next;
	uint64_t	 applied;	/* kvd's last reported index */
	struct pend	*pend;
	size_t		 phead, plen, pcap;
	/* main.c */
	struct server	 local, remote;
	TAILQ_HEAD(, held) held;
	ev_timer	 hold_timer;
};
extern struct raftd R;

/* node.c */
int	node_open(struct config *, char *err, size_t errlen);
void	node_start_if_ready(void);
void	node_bootstrap(const struct raft_config *);
void	node_close(void);
raft_id	raftd_id_of(const char *node_id);
int	node_is_leader(void);
uint64_t node_propose(const void *cmd, size_t len);
/* node_leader_addr - "ip:port" of the known leader, or "" */
const char *node_leader_addr(void);
/* node_last_contact_ms - since the leader was last heard (0 on it) */
uint64_t node_last_contact_ms(void);

/* peers.c */
void	peers_init(struct config *);
struct peer *peers_find(raft_id);
void	peers_send(const struct raft_msg *);
void	peers_write_now(void);
void	peers_close(void);
/* peers_voters - the servers that would bootstrap together, or 0 */
size_t	peers_bootstrap_set(struct raft_config *);
/* peers_addr - "ip:port" of a server, or "" */
const char *peers_addr(raft_id);

/* bootstrap.c */
void	boot_ask(const struct raft_config *);
void	boot_reply(struct sconn *, const struct frame *);

/* feed.c */
void	feed_push(void);
void	feed_subscribe(struct sconn *, const struct frame *);
void	feed_applied(struct sconn *, const struct frame *);
void	feed_closed(struct sconn *);
void	feed_pend(uint64_t index, uint64_t term, struct sconn *, uint32_t id);
void	feed_committed(const struct raft_entry *, size_t);
void	feed_fail_all(const char *why);
#define FEED_LEADER_MS	100
void	feed_leader(int force);

/* read.c */
int	read_try(struct sconn *, const struct frame *);
void	read_ready(const struct raft_read *, size_t);
void	read_lost_leadership(void);

/* snap.c */
int	snap_load(const char *raftdir, uint64_t *index, uint64_t *term,
	    struct raft_config *, char *err, size_t errlen);
uint64_t snap_file_index(void);
void	snap_maybe(uint64_t threshold, uint64_t trailing);
void	snap_send(const struct raft_msg *);
void	snap_report(void);
void	snap_chunk(struct sconn *, const struct frame *);
int	snap_offer(const struct raft_msg *);
void	snap_installed(const struct raft_update *);
void	snap_restore_kvd(void);
void	snap_api(struct sconn *, const struct frame *);

/* main.c */
void	raftd_dispatch_held(void);
void	raftd_request(struct sconn *, const struct frame *);

/* forward.c */
/* raftd_forward - relay a request to the leader; -1 when there is none */
int	raftd_forward(struct sconn *, const struct frame *);
void	forward_leader_changed(raft_id);

/* reconcile.c */
#define RECONCILE_NAME	128

/* A member's status: gossipd's, and REAP for one gossip forgot (Consul) */
enum reconcile_status {
	RECONCILE_ALIVE = 1,
	RECONCILE_LEAVING = 2,
	RECONCILE_LEFT = 3,
	RECONCILE_FAILED = 4,
	RECONCILE_REAP = 5,
};

/* A node's serfHealth in the catalog */
enum reconcile_serf {
	RECONCILE_SERF_NONE = 0,	/* the node has none */
	RECONCILE_SERF_PASSING,
	RECONCILE_SERF_CRITICAL,
	RECONCILE_SERF_OTHER,		/* warning */
	RECONCILE_SERF_UNKNOWN,		/* its checks could not be read */
};

enum reconcile_action {
	RECONCILE_NOTHING = 0,
	RECONCILE_REGISTER,	/* the node, and serfHealth passing */
	RECONCILE_CRITICAL,	/* serfHealth critical */
	RECONCILE_DEREGISTER,	/* the node and all on it */
};

/* What gossip says of a member */
struct reconcile_member {
	char		 name[RECONCILE_NAME];
	char		 id[64];	/* its "id" tag */
	char		 addr[64];
	int		 status;	/* enum reconcile_status */
};

/* What the catalog has of a node */
struct reconcile_catalog {
	int		 present;
	char		 id[64], addr[64];
	int		 serf;		/* enum reconcile_serf */
	const unsigned char *rec;	/* its record as read, or NULL */
	size_t		 reclen;
};

struct reconcile_node {
	char		 name[RECONCILE_NAME];
	struct reconcile_catalog c;
};

typedef void reconcile_fn(void *arg, enum reconcile_action,
    const struct reconcile_member *, const struct reconcile_catalog *);

void	reconcile_member(const struct attr *rec);
void	reconcile_gossip_up(void);
void	reconcile_leader(void);
void	reconcile_tick(void);
void	reconcile_stop(void);
/* reconcile_ready - this leader's kvd has applied its term's first entry */
int	reconcile_ready(void);

/* session.c */
void	session_applied(const void *res, size_t len);
void	session_tick(void);
void	session_stop(void);
int	session_renew(struct sconn *, const struct frame *);
/* the pure part */
enum reconcile_action reconcile_decide(const struct reconcile_member *,
	    const struct reconcile_catalog *, const char *self);
void	reconcile_plan(struct reconcile_member *, size_t,
	    const struct reconcile_member *gone, size_t,
	    struct reconcile_node *, size_t, const char *self, int reap,
	    reconcile_fn *, void *);
void	reconcile_command(enum reconcile_action,
	    const struct reconcile_member *, const struct reconcile_catalog *,
	    const char *dc, struct buf *);
int	reconcile_parse_member(const void *, size_t, const char *dc,
	    struct reconcile_member *);
int	reconcile_parse_node(const void *, size_t, struct reconcile_node *);
int	reconcile_parse_health(const void *, size_t, char *node, size_t,
	    int *serf);

#endif
