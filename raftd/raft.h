/*
 * raft - the Raft protocol as a pure state machine.
 *
 * No I/O, no clock, no randomness of its own: time comes in with
 * raft_tick(), randomness from the seed given to raft_init(), messages
 * with raft_step(), client writes with raft_propose(). What the caller
 * must do comes out of raft_ready() as one update, in this order
 * (etcd's Ready loop; Ongaro's thesis is the reference for the rules):
 *
 *	1. persist: the hard state (term, vote) if changed, and the entries
 *	   from persist_from on (first cutting the stored log at
 *	   persist_from); sync;
 *	2. send the messages;
 *	3. apply the committed entries apply_from..apply_to, in order;
 *	4. call raft_advance() with the same update.
 *
 * Messages of an update must not be sent before its persistence is
 * done: a vote or an acknowledgement promises the disk. Nothing may be
 * called between raft_ready() and raft_advance(), and nothing in an
 * update stays valid after raft_advance(). After raft_advance() there
 * may be more ready (a commit that waited for the disk): loop while
 * raft_has_ready().
 *
 * The core keeps the log since the last snapshot in memory, entries
 * copied in. raft_compact() drops a prefix once the state machine has
 * a snapshot covering it.
 *
 * Features: elections with randomized timeouts, pre-vote (thesis 9.6),
 * check-quorum (a leader that has not heard from a majority within an
 * election timeout steps down), leader stickiness (a follower that heard
 * from a leader recently, or started recently, ignores (pre)votes but
 * those of a campaign after TIMEOUT_NOW), pipelined and batched
 * AppendEntries with a per-peer window, commit on a majority of the
 * current term only (5.4.2), InstallSnapshot for a peer behind the
 * compacted log, membership changes one server at a time (4.1: a
 * server uses the newest configuration in its log, committed or not;
 * one outside it never campaigns, unless the entry that removed it is
 * not known to be committed), ReadIndex (6.4) and a leader lease for
 * reads, leadership transfer (3.10).
 */
#ifndef CAIRN_RAFT_H
#define CAIRN_RAFT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RAFT_MAX_NODES		16
#define RAFT_NONE		0	/* no node: no vote, no leader */
#define RAFT_MAX_INFLIGHT	64	/* cap on opts.max_inflight */
#define RAFT_CTX_RING		256	/* heartbeat rounds remembered */

typedef uint64_t raft_id;

enum raft_role {
	RAFT_FOLLOWER,
	RAFT_PRECANDIDATE,
	RAFT_CANDIDATE,
	RAFT_LEADER,
};

enum raft_entry_type {
	RAFT_ENTRY_NORMAL = 0,	/* a command for the state machine */
	RAFT_ENTRY_NOOP = 1,	/* a new leader's first entry */
	RAFT_ENTRY_CONFIG = 2,	/* data: raft_config_encode() */
};

struct raft_entry {
	uint64_t		 index;
	uint64_t		 term;
	uint8_t			 type;
	uint32_t		 len;
	unsigned char		*data;	/* owned by the core (or the message) */
};

/* The voting members. */
struct raft_config {
	size_t			 n;
	raft_id			 ids[RAFT_MAX_NODES];
};

/*
 * A configuration entry's data: u32 n, then n u64 ids (big-endian). The
 * caller may append bytes of its own (addresses); the core ignores them.
 */
void	raft_config_encode(const struct raft_config *, struct buf *);
int	raft_config_decode(const void *, size_t, struct raft_config *);
int	raft_config_has(const struct raft_config *, raft_id);

enum raft_msg_type {
	RAFT_MSG_PREVOTE = 1,
	RAFT_MSG_PREVOTE_RESP,
	RAFT_MSG_VOTE,
	RAFT_MSG_VOTE_RESP,
	RAFT_MSG_APPEND,	/* heartbeats are appends with no entries */
	RAFT_MSG_APPEND_RESP,
	RAFT_MSG_SNAPSHOT,	/* metadata; the data travels beside it */
	RAFT_MSG_TIMEOUT_NOW,	/* leadership transfer: campaign at once */
};

struct raft_msg {
	enum raft_msg_type	 type;
	raft_id			 from, to;
	uint64_t		 term;	/* a PREVOTE carries term + 1 */
	/*
	 * PREVOTE, VOTE: the candidate's last log entry; ctx is 1 for a
	 * VOTE of a campaign started by TIMEOUT_NOW (voters then ignore
	 * leader stickiness), 0 otherwise.
	 */
	uint64_t		 last_index, last_term;
	/* *_RESP: 1 when refused (vote not granted, append rejected) */
	int			 reject;
	/* APPEND */
	uint64_t		 prev_index, prev_term;
	uint64_t		 commit;
	struct raft_entry	*entries;
	size_t			 nentries;
	/*
	 * APPEND_RESP: accepted, index is the last index now known to
	 * match the leader's and hint the follower's commit; rejected,
	 * index is the prev_index refused and hint the last index that
	 * may still match (the follower's last, or the one before the
	 * conflicting term: a quick back-off).
	 */
	uint64_t		 index, hint;
	/*
	 * APPEND and APPEND_RESP: the leader's heartbeat round, echoed.
	 * The core numbers the rounds itself (ReadIndex, the lease); it
	 * is not the ctx given to raft_read_index().
	 */
	uint64_t		 ctx;
	/* SNAPSHOT */
	uint64_t		 snap_index, snap_term;
	struct raft_config	 snap_config;
};

/*
 * A read that may be served once apply_to >= index (ReadIndex, 6.4).
 * index 0: failed, leadership was lost before a quorum confirmed it.
 */
struct raft_read {
	uint64_t		 ctx;	/* the caller's, from raft_read_index */
	uint64_t		 index;
};

struct raft_update {
	/* 1. persist */
	int			 hard_changed;
	uint64_t		 term;
	raft_id			 vote;
	/*
	 * A snapshot received to install before anything else when
	 * snap_index > 0 (the data came beside the SNAPSHOT message with
	 * that snap_index): install it, then drop the stored entries up to
	 * snap_index. The commit and applied index are now snap_index.
	 */
	uint64_t		 snap_index, snap_term;
	struct raft_config	 snap_config;
	/*
	 * 0: the stored log is unchanged. Otherwise cut it at persist_from
	 * (drop persist_from and after), then store the entries, which
	 * start at persist_from (nentries may be 0: a cut only).
	 */
	uint64_t		 persist_from;
	struct raft_entry	*entries;
	size_t			 nentries;
	/* 2. send */
	struct raft_msg		*msgs;
	size_t			 nmsgs;
	/* 3. apply */
	struct raft_entry	*committed;	/* apply_from..apply_to */
	size_t			 ncommitted;
	/* reads that became safe */
	struct raft_read	*reads;
	size_t			 nreads;
};

struct raft_opts {
	raft_id			 id;
	uint64_t		 election_ms;	/* randomized in [e, 2e) */
	uint64_t		 heartbeat_ms;
	size_t			 max_append_entries;	/* per message */
	size_t			 max_append_bytes;
	size_t			 max_inflight;	/* messages per peer */
	int			 prevote;
	int			 check_quorum;
	uint64_t		 seed;
};

/* Per-peer replication state (the leader's view). */
struct raft_progress {
	raft_id			 id;
	uint64_t		 match, next;
	int			 probing;	/* one message at a time */
	size_t			 inflight;	/* probing: 1 = paused */
	uint64_t		 inflight_last[RAFT_MAX_INFLIGHT]; /* a ring */
	size_t			 inflight_head;
	uint64_t		 last_heard;	/* ms, for check-quorum */
	int			 snapshotting;	/* only heartbeats meanwhile */
	uint64_t		 read_ctx;	/* highest ctx acknowledged */
	uint64_t		 lease_from;	/* when that ctx was sent */
};

/* A ReadIndex request waiting for its heartbeat round (ctx). */
struct raft_pending_read {
	uint64_t		 ctx;	/* the caller's */
	uint64_t		 index;
	uint64_t		 round;	/* the msg ctx that must be echoed */
};

/*
 * The state. Callers read it (role, term, leader, commit...) but change
 * it only through the functions below.
 */
struct raft {
	struct raft_opts	 o;
	enum raft_role		 role;
	uint64_t		 term;
	raft_id			 vote;
	raft_id			 leader;
	struct raft_config	 config;	/* newest in the log */
	uint64_t		 config_index;	/* where it is (0: snapshot/boot) */
	/* the log: entries snap_index+1 .. last */
	struct raft_entry	*log;
	size_t			 nlog, caplog;
	uint64_t		 snap_index, snap_term;
	struct raft_config	 snap_config;
	uint64_t		 commit;
	uint64_t		 applied;	/* handed out to apply */
	uint64_t		 persisted;	/* last index on disk */
	/* time */
	uint64_t		 now;
	uint64_t		 election_deadline;
	uint64_t		 heartbeat_due;
	uint64_t		 leader_heard;	/* last contact with a leader */
	/* elections */
	raft_id			 granted[RAFT_MAX_NODES];
	size_t			 ngranted;
	/* leader */
	struct raft_progress	 prs[RAFT_MAX_NODES];
	size_t			 nprs;
	uint64_t		 read_ctx;	/* last ctx (round) sent */
	uint64_t		 ctx_sent[RAFT_CTX_RING]; /* round -> ms */
	struct raft_pending_read *pending_reads;
	size_t			 npending_reads, cappending_reads;
	uint64_t		 quorum_due;	/* next check-quorum */
	raft_id			 transferee;
	uint64_t		 transfer_deadline;
	int			 lease_void;	/* TIMEOUT_NOW sent this term */
	int			 bcast;		/* appends to send at ready */
	int			 commit_bcast;	/* the commit went up */
	/* output being built */
	struct raft_msg		*out;
	size_t			 nout, capout;
	struct raft_read	*ready_reads;
	size_t			 nready_reads, capready_reads;
	uint64_t		 unstable_from;	/* first index not yet given
						   out to persist; 0: none */
	int			 hard_dirty;
	uint64_t		 install_index;	/* snapshot to hand out */
	uint64_t		 rng;
	int			 readying;	/* between ready and advance */
	void			**garbage;	/* freed at raft_advance */
	size_t			 ngarbage, capgarbage;
};

/*
 * raft_init - start from what was persisted: hard state, snapshot
 * metadata (index 0 for none) and the entries after it. A brand-new
 * cluster is bootstrapped by giving every server the same first entry,
 * a RAFT_ENTRY_CONFIG at index 1 term 1 (raft_bootstrap builds it); a
 * term below the last entry's is raised to it (and reported). A server
 * started empty waits for a leader to add it. The committed entries after
 * the snapshot come out to apply again (commit is not stored): skip
 * those the state machine has. -1 (logged) when the entries do not
 * follow the snapshot one by one.
 */
int	raft_init(struct raft *, const struct raft_opts *, uint64_t term,
	    raft_id vote, uint64_t snap_index, uint64_t snap_term,
	    const struct raft_config *snap_config,
	    const struct raft_entry *entries, size_t n, uint64_t now);
void	raft_free(struct raft *);
/* raft_bootstrap_entry - index 1's data for a new cluster of these voters */
void	raft_bootstrap_entry(const struct raft_config *, struct buf *data);

/*
 * Events. Each returns 0 (or an index), or -1 (0 for an index) when
 * refused, e.g. propose on a follower.
 */
/*
 * raft_tick - the core's only clock. Call it on a timer (a few times per
 * heartbeat_ms) and also just before raft_step(): a voter judges how
 * recently it heard from the leader (stickiness, and so the leader's
 * lease) by the last time given here.
 */
void	raft_tick(struct raft *, uint64_t now_ms);
void	raft_step(struct raft *, const struct raft_msg *);
/*
 * raft_propose - leader only, not during a transfer: append; returns
 * the new entry's index. A RAFT_ENTRY_CONFIG (which may carry the
 * caller's bytes after the ids) is held to raft_change's rules.
 */
uint64_t raft_propose(struct raft *, uint8_t type, const void *, size_t);
/*
 * raft_change - leader only, one at a time: add or remove one voter.
 * Refused until the leader has committed an entry of its term and while
 * a configuration entry is uncommitted (thesis 4.1, and the fix of
 * the single-server change bug on the raft-dev list).
 */
uint64_t raft_change(struct raft *, raft_id id, int add);
/*
 * raft_read_index - leader with an entry of its term committed: ask for
 * a safe read point; it comes out in update.reads under ctx.
 */
int	raft_read_index(struct raft *, uint64_t ctx);
/*
 * raft_lease_ok - a leader (check_quorum on, an entry of its term
 * committed) whose heartbeats sent within the last election_ms before
 * now_ms were acknowledged by a majority: no other leader can exist
 * (6.4.1), provided the voters tick before stepping (see raft_tick).
 */
int	raft_lease_ok(const struct raft *, uint64_t now_ms);
/* raft_lease_until - when that lease ends (0: none, UINT64_MAX: alone) */
uint64_t raft_lease_until(const struct raft *, uint64_t now_ms);
/*
 * raft_transfer - leader: hand leadership to voter id. Proposals are
 * refused until it ends; id is brought up to date, then sent TIMEOUT_NOW
 * (after which this leader's lease is void for the term). Given up after
 * election_ms.
 */
int	raft_transfer(struct raft *, raft_id);
/*
 * raft_compact - the state machine has a snapshot at index (<= applied):
 * drop the entries up to it. -1 when index > applied.
 */
int	raft_compact(struct raft *, uint64_t index);
/*
 * raft_snapshot_done - the adapter sent the snapshot a SNAPSHOT message
 * to id announced (its data at that message's snap_index, the core's
 * snapshot when the update came out), ok 1; or could not, ok 0, and the
 * core will probe and send one again.
 */
void	raft_snapshot_done(struct raft *, raft_id, int ok);

/* The Ready loop. */
int	raft_has_ready(const struct raft *);
void	raft_ready(struct raft *, struct raft_update *);
void	raft_advance(struct raft *, const struct raft_update *);

/* Helpers for callers and tests. */
uint64_t raft_last_index(const struct raft *);
uint64_t raft_last_term(const struct raft *);
/* raft_term_at - term of index; 0 with -1 when compacted away/absent */
int	raft_term_at(const struct raft *, uint64_t index, uint64_t *term);
const char *raft_role_name(enum raft_role);

#endif
