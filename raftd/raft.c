/*
 * raft.c - the Raft protocol as a pure state machine. See raft.h.
 *
 * Events (tick, step, propose, ...) change the state and queue what the
 * caller must do; raft_ready() hands it out as one update and
 * raft_advance() records that it was done. Section numbers cite Ongaro's
 * thesis ("Consensus: Bridging Theory and Practice", 2014).
 *
 * Memory: the log holds copies of the entries. Messages carry shallow
 * copies whose data points into the log, so the data of entries cut off
 * or compacted is only freed at raft_advance() (the garbage list), when
 * no update can still point at it.
 *
 * Left out: learners (non-voting members), joint consensus (only one
 * voter changes at a time), snapshots in chunks (the adapter sends the
 * data). Leases assume clocks that run at the same rate.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "raft.h"

enum campaign {
	CAMPAIGN_PRE,		/* pre-vote round (9.6) */
	CAMPAIGN_REAL,		/* a real election */
	CAMPAIGN_TRANSFER,	/* after TIMEOUT_NOW (3.10) */
};

static void	raft_send_appends(struct raft *);
static void	raft_maybe_commit(struct raft *);
static void	raft_config_before(const struct raft *, uint64_t,
		    struct raft_config *, uint64_t *);

/* raft_grow - make room for one more element of size sz in *p */
static void
raft_grow(void **p, size_t *cap, size_t n, size_t sz)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return;
	ncap = *cap ? *cap * 2 : 16;
	if ((np = realloc(*p, ncap * sz)) == NULL)
		log_fatal("out of memory");
	*p = np;
	*cap = ncap;
}

/* raft_rand - splitmix64: enough to spread election timeouts */
static uint64_t
raft_rand(struct raft *r)
{
	uint64_t z;

	z = (r->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* raft_trash - free p at the next raft_advance, not before */
static void
raft_trash(struct raft *r, void *p)
{
	if (p == NULL)
		return;
	raft_grow((void **)&r->garbage, &r->capgarbage, r->ngarbage,
	    sizeof(*r->garbage));
	r->garbage[r->ngarbage++] = p;
}

/* raft_empty_garbage - nothing handed out can point at it any more */
static void
raft_empty_garbage(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->ngarbage; i++)
		free(r->garbage[i]);
	r->ngarbage = 0;
}

/* raft_config_encode - u32 n, then n u64 ids, big-endian */
void
raft_config_encode(const struct raft_config *c, struct buf *b)
{
	unsigned char p[8];
	size_t i;

	be32_put(p, (uint32_t)c->n);
	buf_append(b, p, 4);
	for (i = 0; i < c->n; i++) {
		be64_put(p, c->ids[i]);
		buf_append(b, p, 8);
	}
}

/* raft_config_decode - -1 unless n fits and the ids are distinct */
int
raft_config_decode(const void *data, size_t len, struct raft_config *c)
{
	const unsigned char *p = data;
	uint32_t n;
	size_t i, j;

	memset(c, 0, sizeof(*c));
	if (p == NULL || len < 4)
		return -1;
	n = be32_get(p);
	if (n > RAFT_MAX_NODES || len - 4 < (size_t)n * 8)
		return -1;
	for (i = 0; i < n; i++) {
		c->ids[i] = be64_get(p + 4 + i * 8);
		if (c->ids[i] == RAFT_NONE)
			return -1;
		for (j = 0; j < i; j++)
			if (c->ids[j] == c->ids[i])
				return -1;
	}
	c->n = n;
	return 0;
}

/* raft_config_has - is id a voter? */
int
raft_config_has(const struct raft_config *c, raft_id id)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return 1;
	return 0;
}

/* raft_bootstrap_entry - index 1's data: the first configuration */
void
raft_bootstrap_entry(const struct raft_config *c, struct buf *data)
{
	raft_config_encode(c, data);
}

/* raft_role_name - for logs */
const char *
raft_role_name(enum raft_role role)
{
	switch (role) {
	case RAFT_FOLLOWER:
		return "follower";
	case RAFT_PRECANDIDATE:
		return "precandidate";
	case RAFT_CANDIDATE:
		return "candidate";
	case RAFT_LEADER:
		return "leader";
	}
	return "?";
}

/* raft_last_index - the last index in the log (or the snapshot's) */
uint64_t
raft_last_index(const struct raft *r)
{
	return r->snap_index + r->nlog;
}

/* raft_last_term - the term of the last entry (or the snapshot's) */
uint64_t
raft_last_term(const struct raft *r)
{
	return r->nlog ? r->log[r->nlog - 1].term : r->snap_term;
}

/* raft_entry_at - the entry at index, NULL when compacted or absent */
static struct raft_entry *
raft_entry_at(const struct raft *r, uint64_t index)
{
	if (index <= r->snap_index || index > raft_last_index(r))
		return NULL;
	return &r->log[index - r->snap_index - 1];
}

/* raft_term_at - term of index; 0 with -1 when compacted away/absent */
int
raft_term_at(const struct raft *r, uint64_t index, uint64_t *term)
{
	const struct raft_entry *e;

	*term = 0;
	if (index == r->snap_index) {
		*term = r->snap_term;
		return 0;
	}
	if ((e = raft_entry_at(r, index)) == NULL)
		return -1;
	*term = e->term;
	return 0;
}

/* raft_term - term of index, 0 when unknown */
static uint64_t
raft_term(const struct raft *r, uint64_t index)
{
	uint64_t t;

	raft_term_at(r, index, &t);
	return t;
}

/* raft_quorum - votes needed in the current configuration */
static size_t
raft_quorum(const struct raft *r)
{
	return r->config.n / 2 + 1;
}

/* raft_is_voter - is this server in its newest configuration? */
static int
raft_is_voter(const struct raft *r)
{
	return raft_config_has(&r->config, r->o.id);
}

/*
 * raft_may_campaign - a voter may; so may a server whose own removal is
 * not known to be committed (it was a voter just before). Otherwise a
 * leader that crashed while removing itself could leave a cluster where
 * the only up-to-date log belongs to a server that will not run and
 * gives its vote to nobody behind it. Such a server counts the votes of
 * the new configuration, without its own, and steps down once that
 * configuration commits (4.2.2).
 */
static int
raft_may_campaign(const struct raft *r)
{
	struct raft_config prev;
	uint64_t at;

	if (raft_is_voter(r))
		return 1;
	if (r->config_index == 0 || r->config_index <= r->commit)
		return 0;
	raft_config_before(r, r->config_index - 1, &prev, &at);
	return raft_config_has(&prev, r->o.id);
}

/* raft_reset_election - a fresh timeout in [election_ms, 2*election_ms) */
static void
raft_reset_election(struct raft *r)
{
	r->election_deadline = r->now + r->o.election_ms +
	    raft_rand(r) % r->o.election_ms;
}

/* raft_progress_of - the leader's view of peer id */
static struct raft_progress *
raft_progress_of(struct raft *r, raft_id id)
{
	size_t i;

	for (i = 0; i < r->nprs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

/* raft_inflight_reset - forget every message in flight to pr */
static void
raft_inflight_reset(struct raft_progress *pr)
{
	pr->inflight = 0;
	pr->inflight_head = 0;
}

/* raft_inflight_add - one more append ending at last is in flight */
static void
raft_inflight_add(struct raft_progress *pr, uint64_t last)
{
	pr->inflight_last[(pr->inflight_head + pr->inflight) %
	    RAFT_MAX_INFLIGHT] = last;
	pr->inflight++;
}

/* raft_inflight_free_to - appends ending at or before index are done */
static void
raft_inflight_free_to(struct raft_progress *pr, uint64_t index)
{
	while (pr->inflight > 0 &&
	    pr->inflight_last[pr->inflight_head] <= index) {
		pr->inflight_head = (pr->inflight_head + 1) % RAFT_MAX_INFLIGHT;
		pr->inflight--;
	}
}

/* raft_progress_reset - a peer we know nothing about yet: probe it */
static void
raft_progress_reset(struct raft *r, struct raft_progress *pr, raft_id id)
{
	memset(pr, 0, sizeof(*pr));
	pr->id = id;
	pr->next = raft_last_index(r) + 1;
	pr->probing = 1;
	pr->last_heard = r->now;
}

/*
 * raft_sync_progress - the leader tracks exactly the voters of the
 * newest configuration other than itself (4.1: it is used as soon as it
 * is in the log).
 */
static void
raft_sync_progress(struct raft *r)
{
	struct raft_progress old[RAFT_MAX_NODES], *pr;
	size_t i, j, nold = r->nprs;

	memcpy(old, r->prs, nold * sizeof(old[0]));
	r->nprs = 0;
	for (i = 0; i < r->config.n; i++) {
		if (r->config.ids[i] == r->o.id)
			continue;
		pr = &r->prs[r->nprs++];
		for (j = 0; j < nold; j++)
			if (old[j].id == r->config.ids[i])
				break;
		if (j < nold)
			*pr = old[j];
		else
			raft_progress_reset(r, pr, r->config.ids[i]);
	}
	r->bcast = 1;
}

/* raft_set_config - the configuration in force changed */
static void
raft_set_config(struct raft *r, const struct raft_config *c, uint64_t index)
{
	r->config = *c;
	r->config_index = index;
	if (r->role == RAFT_LEADER)
		raft_sync_progress(r);
}

/*
 * raft_config_before - the newest configuration at or before index:
 * the last decodable config entry, else the snapshot's. *at gets its
 * index (0 for the snapshot's).
 */
static void
raft_config_before(const struct raft *r, uint64_t index,
    struct raft_config *c, uint64_t *at)
{
	const struct raft_entry *e;
	uint64_t i;

	for (i = index; i > r->snap_index; i--) {
		e = raft_entry_at(r, i);
		if (e->type == RAFT_ENTRY_CONFIG &&
		    raft_config_decode(e->data, e->len, c) == 0) {
			*at = i;
			return;
		}
	}
	*c = r->snap_config;
	*at = 0;
}

/* raft_msg_new - a message to id in the current term, queued */
static struct raft_msg *
raft_msg_new(struct raft *r, enum raft_msg_type type, raft_id to)
{
	struct raft_msg *m;

	raft_grow((void **)&r->out, &r->capout, r->nout, sizeof(*r->out));
	m = &r->out[r->nout++];
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->from = r->o.id;
	m->to = to;
	m->term = r->term;
	return m;
}

/*
 * raft_drop_acks - the log was cut at index: an acknowledgement of
 * entries from there on, not yet sent, would promise what the disk will
 * not hold once this update is persisted. Unsend it.
 */
static void
raft_drop_acks(struct raft *r, uint64_t index)
{
	size_t i, n = 0;

	for (i = 0; i < r->nout; i++) {
		if (r->out[i].type == RAFT_MSG_APPEND_RESP &&
		    !r->out[i].reject && r->out[i].index >= index)
			continue;
		r->out[n++] = r->out[i];
	}
	r->nout = n;
}

/* raft_append_entry - copy e in at the end of the log */
static void
raft_append_entry(struct raft *r, uint64_t term, uint8_t type,
    const void *data, size_t len)
{
	struct raft_entry *e;
	struct raft_config c;

	raft_grow((void **)&r->log, &r->caplog, r->nlog, sizeof(*r->log));
	e = &r->log[r->nlog++];
	e->index = raft_last_index(r);
	e->term = term;
	e->type = type;
	e->len = (uint32_t)len;
	e->data = NULL;
	if (len > 0) {
		if ((e->data = malloc(len)) == NULL)
			log_fatal("out of memory");
		memcpy(e->data, data, len);
	}
	if (r->unstable_from == 0)
		r->unstable_from = e->index;
	if (type == RAFT_ENTRY_CONFIG) {
		if (raft_config_decode(data, len, &c) == 0)
			raft_set_config(r, &c, e->index);
		else
			log_warn("raft: undecodable configuration entry at "
			    "%" PRIu64 " ignored", e->index);
	}
}

/*
 * raft_truncate - drop index and everything after (a follower's
 * conflicting suffix, 5.3). The disk is cut there at the next update.
 */
static void
raft_truncate(struct raft *r, uint64_t index)
{
	struct raft_config c;
	uint64_t i, last = raft_last_index(r), at;

	if (r->role == RAFT_LEADER)
		log_panic("raft: a leader truncating its log at %" PRIu64,
		    index);
	if (index <= r->commit)
		log_panic("raft: truncating committed entry %" PRIu64
		    " (commit %" PRIu64 ")", index, r->commit);
	for (i = index; i <= last; i++)
		raft_trash(r, raft_entry_at(r, i)->data);
	r->nlog = index - r->snap_index - 1;
	if (r->unstable_from == 0 || r->unstable_from > index)
		r->unstable_from = index;
	if (r->persisted >= index)
		r->persisted = index - 1;
	raft_drop_acks(r, index);
	if (r->config_index >= index) {
		/* Fall back to the previous configuration (4.1). */
		raft_config_before(r, index - 1, &c, &at);
		raft_set_config(r, &c, at);
	}
}

/* raft_drop_prefix - forget entries up to index (they are in a snapshot) */
static void
raft_drop_prefix(struct raft *r, uint64_t index)
{
	uint64_t i, n;

	if (index > raft_last_index(r))
		index = raft_last_index(r);
	if (index <= r->snap_index)
		return;
	n = index - r->snap_index;
	for (i = 0; i < n; i++)
		raft_trash(r, r->log[i].data);
	memmove(r->log, r->log + n, (r->nlog - n) * sizeof(*r->log));
	r->nlog -= n;
}

/* raft_fail_reads - leadership is gone: pending reads come out failed */
static void
raft_fail_reads(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->npending_reads; i++) {
		raft_grow((void **)&r->ready_reads, &r->capready_reads,
		    r->nready_reads, sizeof(*r->ready_reads));
		r->ready_reads[r->nready_reads].ctx = r->pending_reads[i].ctx;
		r->ready_reads[r->nready_reads++].index = 0;
	}
	r->npending_reads = 0;
}

/* raft_become_follower - in term (>= ours), following leader (or none) */
static void
raft_become_follower(struct raft *r, uint64_t term, raft_id leader)
{
	if (term > r->term) {
		r->term = term;
		r->vote = RAFT_NONE;
		r->hard_dirty = 1;
	}
	if (r->role == RAFT_LEADER) {
		raft_fail_reads(r);
		r->transferee = RAFT_NONE;
		r->bcast = r->commit_bcast = 0;
	}
	r->role = RAFT_FOLLOWER;
	r->leader = leader;
	if (leader != RAFT_NONE)
		r->leader_heard = r->now;
	r->ngranted = 0;
	raft_reset_election(r);
}

/* raft_become_leader - won: probe everyone, append a no-op (8, 3.6.2) */
static void
raft_become_leader(struct raft *r)
{
	size_t i;

	r->role = RAFT_LEADER;
	r->leader = r->o.id;
	r->leader_heard = r->now;
	r->transferee = RAFT_NONE;
	r->lease_void = 0;
	r->npending_reads = 0;
	r->nprs = 0;
	for (i = 0; i < r->config.n; i++)
		if (r->config.ids[i] != r->o.id)
			raft_progress_reset(r, &r->prs[r->nprs++],
			    r->config.ids[i]);
	r->heartbeat_due = r->now + r->o.heartbeat_ms;
	r->quorum_due = r->now + r->o.election_ms;
	/* The no-op commits the entries of earlier terms (5.4.2). */
	raft_append_entry(r, r->term, RAFT_ENTRY_NOOP, NULL, 0);
	r->bcast = 1;
	raft_maybe_commit(r);
}

/* raft_granted_count - grants from voters of the current configuration */
static size_t
raft_granted_count(const struct raft *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->ngranted; i++)
		if (raft_config_has(&r->config, r->granted[i]))
			n++;
	return n;
}

/* raft_grant - record a (pre)vote from id; did it win the election? */
static int
raft_grant(struct raft *r, raft_id id)
{
	size_t i;

	for (i = 0; i < r->ngranted; i++)
		if (r->granted[i] == id)
			break;
	if (i == r->ngranted && r->ngranted < RAFT_MAX_NODES)
		r->granted[r->ngranted++] = id;
	return raft_granted_count(r) >= raft_quorum(r);
}

/*
 * raft_campaign - ask the voters for their (pre)votes. A pre-vote
 * changes neither term nor vote (9.6); a real campaign votes for itself
 * first, and its VOTE messages leave only with that vote on disk.
 */
static void
raft_campaign(struct raft *r, enum campaign kind)
{
	struct raft_msg *m;
	size_t i;
	int won;

	r->leader = RAFT_NONE;
	r->ngranted = 0;
	if (kind == CAMPAIGN_PRE) {
		r->role = RAFT_PRECANDIDATE;
	} else {
		r->role = RAFT_CANDIDATE;
		r->term++;
		r->vote = r->o.id;
		r->hard_dirty = 1;
	}
	raft_reset_election(r);
	won = raft_grant(r, r->o.id);
	if (won) {
		if (kind == CAMPAIGN_PRE)
			raft_campaign(r, CAMPAIGN_REAL);
		else
			raft_become_leader(r);
		return;
	}
	for (i = 0; i < r->config.n; i++) {
		if (r->config.ids[i] == r->o.id)
			continue;
		m = raft_msg_new(r, kind == CAMPAIGN_PRE ? RAFT_MSG_PREVOTE :
		    RAFT_MSG_VOTE, r->config.ids[i]);
		if (kind == CAMPAIGN_PRE)
			m->term = r->term + 1;
		m->last_index = raft_last_index(r);
		m->last_term = raft_last_term(r);
		m->ctx = kind == CAMPAIGN_TRANSFER;
	}
}

/* raft_send_snapshot - pr is behind the compacted log (thesis 5) */
static void
raft_send_snapshot(struct raft *r, struct raft_progress *pr)
{
	struct raft_msg *m;

	m = raft_msg_new(r, RAFT_MSG_SNAPSHOT, pr->id);
	/* Filled in again by raft_ready(), in case of a newer compaction. */
	m->snap_index = r->snap_index;
	m->snap_term = r->snap_term;
	m->snap_config = r->snap_config;
	pr->snapshotting = 1;
	pr->probing = 1;
	raft_inflight_reset(pr);
	pr->next = r->snap_index + 1;
}

/*
 * raft_send_append - the next batch of entries for pr, within its
 * window: probing, one message until it is answered; replicating,
 * up to max_inflight, next advanced optimistically. Returns 1 when
 * something was sent.
 */
static int
raft_send_append(struct raft *r, struct raft_progress *pr, int empty_ok)
{
	struct raft_msg *m;
	struct raft_entry *src;
	uint64_t last = raft_last_index(r), i, prev_term;
	size_t n = 0, bytes = 0;

	if (pr->snapshotting)
		return 0;
	if (pr->probing ? pr->inflight > 0 : pr->inflight >= r->o.max_inflight)
		return 0;
	if (pr->next > last + 1)
		pr->next = last + 1;
	if (pr->next <= r->snap_index ||
	    raft_term_at(r, pr->next - 1, &prev_term) < 0) {
		raft_send_snapshot(r, pr);
		return 1;
	}
	for (i = pr->next; i <= last && n < r->o.max_append_entries; i++) {
		src = raft_entry_at(r, i);
		if (n > 0 && bytes + src->len > r->o.max_append_bytes)
			break;
		bytes += src->len;
		n++;
	}
	if (n == 0 && !empty_ok && !pr->probing)
		return 0;
	m = raft_msg_new(r, RAFT_MSG_APPEND, pr->id);
	m->prev_index = pr->next - 1;
	m->prev_term = prev_term;
	m->commit = r->commit;
	m->ctx = r->read_ctx;
	if (n > 0) {
		if ((m->entries = malloc(n * sizeof(*m->entries))) == NULL)
			log_fatal("out of memory");
		memcpy(m->entries, raft_entry_at(r, pr->next),
		    n * sizeof(*m->entries));
		m->nentries = n;
		raft_trash(r, m->entries);
	}
	if (pr->probing) {
		pr->inflight = 1;
	} else if (n > 0) {
		pr->next += n;
		raft_inflight_add(pr, pr->next - 1);
	}
	return 1;
}

/*
 * raft_send_heartbeat - an append with no entries whose prev is what pr
 * is known to hold, so it is never refused and never waits for the
 * window; it carries the commit as far as pr is known to match.
 */
static void
raft_send_heartbeat(struct raft *r, struct raft_progress *pr)
{
	struct raft_msg *m;
	uint64_t t;

	m = raft_msg_new(r, RAFT_MSG_APPEND, pr->id);
	if (raft_term_at(r, pr->match, &t) == 0) {
		m->prev_index = pr->match;
		m->prev_term = t;
	}
	m->commit = r->commit < m->prev_index ? r->commit : m->prev_index;
	m->ctx = r->read_ctx;
}

/* raft_heartbeat_commit - the commit a heartbeat to pr can carry */
static uint64_t
raft_heartbeat_commit(const struct raft *r, const struct raft_progress *pr)
{
	uint64_t t;

	if (raft_term_at(r, pr->match, &t) < 0)
		return 0;
	return r->commit < pr->match ? r->commit : pr->match;
}

/* raft_heartbeat_round - a new round (ctx) to every peer (6.4, 6.4.1) */
static void
raft_heartbeat_round(struct raft *r)
{
	size_t i;

	r->read_ctx++;
	r->ctx_sent[r->read_ctx % RAFT_CTX_RING] = r->now;
	for (i = 0; i < r->nprs; i++)
		raft_send_heartbeat(r, &r->prs[i]);
}

/* raft_send_appends - what raft_ready() sends when bcast is set */
static void
raft_send_appends(struct raft *r)
{
	struct raft_progress *pr;
	size_t i;
	int sent;

	if (r->role != RAFT_LEADER) {
		r->bcast = r->commit_bcast = 0;
		return;
	}
	for (i = 0; i < r->nprs; i++) {
		pr = &r->prs[i];
		sent = 0;
		while (raft_send_append(r, pr, 0)) {
			sent = 1;
			if (pr->probing)
				break;
		}
		/* A peer sent nothing new still learns the commit. */
		if (r->commit_bcast && !sent && !pr->snapshotting)
			raft_send_heartbeat(r, pr);
	}
	r->bcast = r->commit_bcast = 0;
}

/* raft_maybe_timeout_now - the transferee is up to date: let it run */
static void
raft_maybe_timeout_now(struct raft *r, struct raft_progress *pr)
{
	if (r->transferee == pr->id && pr->match == raft_last_index(r)) {
		raft_msg_new(r, RAFT_MSG_TIMEOUT_NOW, pr->id);
		/* Its campaign ignores stickiness: no lease from now on. */
		r->lease_void = 1;
	}
}

/* raft_check_reads - release reads a majority confirmed, in order */
static void
raft_check_reads(struct raft *r)
{
	struct raft_pending_read *pd;
	size_t i, k, n;

	for (k = 0; k < r->npending_reads; k++) {
		pd = &r->pending_reads[k];
		n = raft_is_voter(r);
		for (i = 0; i < r->nprs; i++)
			if (r->prs[i].read_ctx >= pd->round)
				n++;
		if (n < raft_quorum(r))
			break;
		raft_grow((void **)&r->ready_reads, &r->capready_reads,
		    r->nready_reads, sizeof(*r->ready_reads));
		r->ready_reads[r->nready_reads].ctx = pd->ctx;
		r->ready_reads[r->nready_reads++].index = pd->index;
	}
	if (k > 0) {
		memmove(r->pending_reads, r->pending_reads + k,
		    (r->npending_reads - k) * sizeof(*r->pending_reads));
		r->npending_reads -= k;
	}
}

/* raft_cmp_desc - qsort: larger first */
static int
raft_cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * raft_maybe_commit - the leader commits the highest index a majority
 * of the configuration holds, but only by counting replicas of an entry
 * of its own term (5.4.2, Figure 3.7). It counts itself once on disk.
 */
static void
raft_maybe_commit(struct raft *r)
{
	uint64_t m[RAFT_MAX_NODES], idx;
	struct raft_progress *pr;
	size_t i, n = 0;

	if (r->role != RAFT_LEADER || r->config.n == 0)
		return;
	for (i = 0; i < r->config.n; i++) {
		if (r->config.ids[i] == r->o.id)
			m[n++] = r->persisted;
		else
			m[n++] = (pr = raft_progress_of(r, r->config.ids[i])) ?
			    pr->match : 0;
	}
	qsort(m, n, sizeof(m[0]), raft_cmp_desc);
	idx = m[raft_quorum(r) - 1];
	if (idx <= r->commit || raft_term(r, idx) != r->term)
		return;
	r->commit = idx;
	r->commit_bcast = 1;
	/* A leader removed by a committed configuration steps down (4.2.2). */
	if (!raft_is_voter(r) && r->config_index <= r->commit) {
		log_info("raft: removed from the configuration, stepping down");
		raft_become_follower(r, r->term, RAFT_NONE);
	}
}

/*
 * raft_sticky - heard from a leader within the minimum election timeout
 * (or started that recently, having perhaps acknowledged one just
 * before a crash): refuse to help unseat it (4.2.3). The leases of
 * 6.4.1 rest on this.
 */
static int
raft_sticky(const struct raft *r)
{
	if (r->role == RAFT_LEADER)
		return 1;
	return r->now - r->leader_heard < r->o.election_ms;
}

/* raft_log_ok - is the candidate's log at least as up to date (5.4.1)? */
static int
raft_log_ok(const struct raft *r, const struct raft_msg *m)
{
	uint64_t lt = raft_last_term(r);

	return m->last_term > lt ||
	    (m->last_term == lt && m->last_index >= raft_last_index(r));
}

/* raft_reply_append - an APPEND_RESP to the leader */
static void
raft_reply_append(struct raft *r, const struct raft_msg *m, int reject,
    uint64_t index, uint64_t hint)
{
	struct raft_msg *o;

	o = raft_msg_new(r, RAFT_MSG_APPEND_RESP, m->from);
	o->reject = reject;
	o->index = index;
	o->hint = hint;
	o->ctx = m->ctx;
}

/*
 * raft_handle_append - Figure 3.1's AppendEntries receiver, with a
 * hint that skips a whole conflicting term when refusing.
 */
static void
raft_handle_append(struct raft *r, const struct raft_msg *m)
{
	const struct raft_entry *e = m->entries;
	uint64_t prev = m->prev_index, prev_term = m->prev_term, i, t, hint;
	uint64_t end = m->prev_index + m->nentries, last;
	size_t n = m->nentries, k;

	for (k = 0; k < n; k++)
		if (e[k].index != prev + 1 + k) {
			log_warn("raft: append from %" PRIu64 " with entries "
			    "out of order, dropped", m->from);
			return;
		}
	/* Entries up to the commit match the leader's: skip them. */
	if (prev < r->commit) {
		k = r->commit - prev < n ? r->commit - prev : n;
		e += k;
		n -= k;
		prev = r->commit;
		prev_term = raft_term(r, prev);
	}
	last = raft_last_index(r);
	if (prev > last || raft_term_at(r, prev, &t) < 0 || t != prev_term) {
		if (prev > last) {
			hint = last;
		} else {
			/* Skip back over the conflicting term (5.3). */
			for (i = prev; i - 1 > r->commit &&
			    raft_term(r, i - 1) == t; i--)
				;
			hint = i - 1;
		}
		raft_reply_append(r, m, 1, m->prev_index, hint);
		return;
	}
	for (k = 0; k < n; k++) {
		if (raft_term_at(r, e[k].index, &t) == 0) {
			if (t == e[k].term)
				continue;
			raft_truncate(r, e[k].index);
		}
		raft_append_entry(r, e[k].term, e[k].type, e[k].data,
		    e[k].len);
	}
	if (end < r->commit)
		end = r->commit;
	t = m->commit < end ? m->commit : end;
	if (t > r->commit)
		r->commit = t;
	raft_reply_append(r, m, 0, end, r->commit);
}

/*
 * raft_handle_snapshot - install a snapshot beyond our commit. The log
 * is kept after it when it holds the snapshot's last entry (the same
 * index and term), else dropped (thesis 5.1, Figure 5.3).
 */
static void
raft_handle_snapshot(struct raft *r, const struct raft_msg *m)
{
	struct raft_config c;
	uint64_t t, at;

	if (m->snap_index <= r->commit) {
		raft_reply_append(r, m, 0, r->commit, r->commit);
		return;
	}
	if (raft_term_at(r, m->snap_index, &t) == 0 && t == m->snap_term) {
		raft_drop_prefix(r, m->snap_index);
		if (r->unstable_from && r->unstable_from <= m->snap_index)
			r->unstable_from = m->snap_index + 1;
	} else {
		raft_drop_prefix(r, raft_last_index(r));
		raft_drop_acks(r, m->snap_index + 1);
		r->unstable_from = m->snap_index + 1;
		if (r->persisted > m->snap_index)
			r->persisted = m->snap_index;
	}
	r->snap_index = m->snap_index;
	r->snap_term = m->snap_term;
	r->snap_config = m->snap_config;
	r->commit = r->applied = m->snap_index;
	r->install_index = m->snap_index;
	raft_config_before(r, raft_last_index(r), &c, &at);
	raft_set_config(r, &c, at);
	raft_reply_append(r, m, 0, m->snap_index, r->commit);
}

/*
 * raft_handle_append_resp - the leader learns how far pr matches. A
 * refusal sends pr back to probing from min(refused, hint + 1).
 */
static void
raft_handle_append_resp(struct raft *r, const struct raft_msg *m)
{
	struct raft_progress *pr;
	uint64_t old_match, next;
	int new_round = 0;

	if ((pr = raft_progress_of(r, m->from)) == NULL)
		return;
	pr->last_heard = r->now;
	if (m->ctx > pr->read_ctx) {
		new_round = 1;
		pr->read_ctx = m->ctx;
		if (m->ctx <= r->read_ctx &&
		    r->read_ctx - m->ctx < RAFT_CTX_RING)
			pr->lease_from = r->ctx_sent[m->ctx % RAFT_CTX_RING];
		raft_check_reads(r);
	}
	if (m->reject) {
		if (pr->snapshotting || m->index <= pr->match)
			return;	/* stale */
		if (pr->probing && m->index != pr->next - 1)
			return;	/* an answer to an older probe */
		next = m->hint + 1 < m->index ? m->hint + 1 : m->index;
		if (next <= pr->match)
			next = pr->match + 1;
		pr->next = next;
		pr->probing = 1;
		raft_inflight_reset(pr);
		r->bcast = 1;
		return;
	}
	old_match = pr->match;
	if (m->index > pr->match)
		pr->match = m->index;
	if (pr->snapshotting && m->index + 1 >= pr->next) {
		/* The snapshot is in (perhaps before raft_snapshot_done). */
		pr->snapshotting = 0;
		pr->probing = 1;
	}
	if (pr->snapshotting) {
		/* A heartbeat's answer: nothing else goes out meanwhile. */
	} else if (pr->probing) {
		if (m->index + 1 >= pr->next) {
			/* Found where the logs match: pipeline from there. */
			pr->probing = 0;
			raft_inflight_reset(pr);
			pr->next = pr->match + 1;
		} else if (new_round) {
			/* A round answered, not the probe: probe again. */
			raft_inflight_reset(pr);
		}
	} else {
		raft_inflight_free_to(pr, m->index);
		if (pr->next <= pr->match)
			pr->next = pr->match + 1;
		if (new_round && pr->match == old_match &&
		    pr->match < raft_last_index(r)) {
			/*
			 * A heartbeat round answered without progress while
			 * pr lags: appends may have been lost or refused.
			 * An append at next - 1, empty if need be, is
			 * accepted or refused into probing (etcd does this
			 * on heartbeat answers). Once per round, so that
			 * answers to it cannot feed themselves.
			 */
			if (pr->inflight >= r->o.max_inflight) {
				pr->inflight_head = (pr->inflight_head + 1) %
				    RAFT_MAX_INFLIGHT;
				pr->inflight--;
			}
			raft_send_append(r, pr, 1);
		}
	}
	r->bcast = 1;
	if (pr->match > old_match) {
		raft_maybe_commit(r);
		if (r->role != RAFT_LEADER)
			return;
		raft_maybe_timeout_now(r, pr);
	}
	/*
	 * pr's commit (in hint) lags what it could know, and nothing in
	 * flight will tell it: a heartbeat does, and it is not repeated
	 * once pr's answer shows it caught up.
	 */
	if (!pr->snapshotting && pr->inflight == 0 &&
	    m->hint < raft_heartbeat_commit(r, pr))
		raft_send_heartbeat(r, pr);
}

/* raft_reply_vote - a (PRE)VOTE_RESP */
static void
raft_reply_vote(struct raft *r, const struct raft_msg *m, int grant,
    uint64_t term)
{
	struct raft_msg *o;

	o = raft_msg_new(r, m->type == RAFT_MSG_PREVOTE ?
	    RAFT_MSG_PREVOTE_RESP : RAFT_MSG_VOTE_RESP, m->from);
	o->term = term;
	o->reject = !grant;
}

/* raft_handle_vote - RequestVote receiver (Figure 3.1, 4.2.3, 9.6) */
static void
raft_handle_vote(struct raft *r, const struct raft_msg *m)
{
	int grant;

	if (m->type == RAFT_MSG_PREVOTE) {
		/* Neither term nor vote changes: it is only a poll. */
		grant = m->term > r->term && raft_log_ok(r, m) &&
		    (!raft_sticky(r) || m->ctx);
		raft_reply_vote(r, m, grant, grant ? m->term : r->term);
		return;
	}
	/* m->term == r->term here: a higher term was adopted already. */
	grant = (r->vote == m->from ||
	    (r->vote == RAFT_NONE && r->leader == RAFT_NONE)) &&
	    raft_log_ok(r, m);
	if (grant && r->vote != m->from) {
		r->vote = m->from;
		r->hard_dirty = 1;
	}
	if (grant)
		raft_reset_election(r);
	raft_reply_vote(r, m, grant, r->term);
}

/* raft_msg_ok - a peer's message the core can read without harm */
static int
raft_msg_ok(const struct raft *r, const struct raft_msg *m)
{
	size_t i;

	if (m->type < RAFT_MSG_PREVOTE || m->type > RAFT_MSG_TIMEOUT_NOW ||
	    m->from == RAFT_NONE || m->from == r->o.id || m->to != r->o.id ||
	    m->snap_config.n > RAFT_MAX_NODES ||
	    (m->nentries > 0 && m->entries == NULL))
		return 0;
	for (i = 0; i < m->nentries; i++)
		if (m->entries[i].len > 0 && m->entries[i].data == NULL)
			return 0;
	return 1;
}

/* raft_step - one message from a peer */
void
raft_step(struct raft *r, const struct raft_msg *m)
{
	if (r->readying)
		log_panic("raft: raft_step between ready and advance");
	if (!raft_msg_ok(r, m)) {
		log_warn("raft: malformed message from %" PRIu64 " dropped",
		    m->from);
		return;
	}
	if (m->term > r->term) {
		switch (m->type) {
		case RAFT_MSG_PREVOTE:
			break;	/* a poll never moves our term (9.6) */
		case RAFT_MSG_PREVOTE_RESP:
			if (!m->reject)
				break;	/* granted for the term it asked */
			raft_become_follower(r, m->term, RAFT_NONE);
			break;
		case RAFT_MSG_VOTE:
			/* Leader stickiness (4.2.3), unless a transfer. */
			if (raft_sticky(r) && !m->ctx)
				return;
			raft_become_follower(r, m->term, RAFT_NONE);
			break;
		case RAFT_MSG_APPEND:
		case RAFT_MSG_SNAPSHOT:
			raft_become_follower(r, m->term, m->from);
			break;
		default:
			raft_become_follower(r, m->term, RAFT_NONE);
			break;
		}
	} else if (m->term < r->term) {
		/*
		 * A stale leader or candidate learns our term from the
		 * answer; other stale messages are dropped.
		 */
		switch (m->type) {
		case RAFT_MSG_APPEND:
		case RAFT_MSG_SNAPSHOT:
			raft_reply_append(r, m, 1, m->prev_index,
			    raft_last_index(r));
			break;
		case RAFT_MSG_PREVOTE:
		case RAFT_MSG_VOTE:
			raft_reply_vote(r, m, 0, r->term);
			break;
		default:
			break;
		}
		return;
	}
	switch (m->type) {
	case RAFT_MSG_PREVOTE:
	case RAFT_MSG_VOTE:
		raft_handle_vote(r, m);
		break;
	case RAFT_MSG_PREVOTE_RESP:
		if (r->role == RAFT_PRECANDIDATE && !m->reject &&
		    m->term == r->term + 1 && raft_grant(r, m->from))
			raft_campaign(r, CAMPAIGN_REAL);
		break;
	case RAFT_MSG_VOTE_RESP:
		if (r->role == RAFT_CANDIDATE && !m->reject &&
		    raft_grant(r, m->from))
			raft_become_leader(r);
		break;
	case RAFT_MSG_APPEND:
	case RAFT_MSG_SNAPSHOT:
		if (r->role == RAFT_LEADER) {
			log_warn("raft: %" PRIu64 " claims to lead term %"
			    PRIu64 " too; dropped", m->from, m->term);
			return;
		}
		if (r->role != RAFT_FOLLOWER || r->leader != m->from)
			raft_become_follower(r, m->term, m->from);
		r->leader_heard = r->now;
		raft_reset_election(r);
		if (m->type == RAFT_MSG_APPEND)
			raft_handle_append(r, m);
		else
			raft_handle_snapshot(r, m);
		break;
	case RAFT_MSG_APPEND_RESP:
		if (r->role == RAFT_LEADER)
			raft_handle_append_resp(r, m);
		break;
	case RAFT_MSG_TIMEOUT_NOW:
		if (r->role == RAFT_FOLLOWER && r->leader == m->from &&
		    raft_is_voter(r))
			raft_campaign(r, CAMPAIGN_TRANSFER);
		break;
	}
}

/* raft_quorum_active - heard from a majority in the last election_ms */
static int
raft_quorum_active(const struct raft *r)
{
	size_t i, n = raft_is_voter(r);

	for (i = 0; i < r->nprs; i++)
		if (r->now - r->prs[i].last_heard <= r->o.election_ms)
			n++;
	return n >= raft_quorum(r);
}

/* raft_tick - time passes: elections, heartbeats, check-quorum */
void
raft_tick(struct raft *r, uint64_t now)
{
	if (r->readying)
		log_panic("raft: raft_tick between ready and advance");
	if (now > r->now)
		r->now = now;
	if (r->role != RAFT_LEADER) {
		if (r->now < r->election_deadline)
			return;
		/* A server outside the configuration never campaigns. */
		if (!raft_may_campaign(r)) {
			raft_reset_election(r);
			return;
		}
		raft_campaign(r, r->o.prevote ? CAMPAIGN_PRE : CAMPAIGN_REAL);
		return;
	}
	if (r->now >= r->heartbeat_due) {
		raft_heartbeat_round(r);
		r->heartbeat_due = r->now + r->o.heartbeat_ms;
	}
	if (r->transferee != RAFT_NONE && r->now >= r->transfer_deadline)
		r->transferee = RAFT_NONE;
	if (r->o.check_quorum && r->now >= r->quorum_due) {
		if (!raft_quorum_active(r)) {
			log_info("raft: no word from a majority for %" PRIu64
			    " ms, stepping down", r->o.election_ms);
			raft_become_follower(r, r->term, RAFT_NONE);
			return;
		}
		r->quorum_due = r->now + r->o.election_ms;
	}
}

/* raft_config_change_ok - may a configuration c be appended now? */
static int
raft_config_change_ok(const struct raft *r, const struct raft_config *c)
{
	size_t i, added = 0, removed = 0;

	if (c->n == 0 || r->config_index > r->commit ||
	    raft_term(r, r->commit) != r->term)
		return 0;
	for (i = 0; i < c->n; i++)
		if (!raft_config_has(&r->config, c->ids[i]))
			added++;
	for (i = 0; i < r->config.n; i++)
		if (!raft_config_has(c, r->config.ids[i]))
			removed++;
	return added + removed == 1;
}

/* raft_propose - the leader appends an entry; its index, 0 if refused */
uint64_t
raft_propose(struct raft *r, uint8_t type, const void *data, size_t len)
{
	struct raft_config c;

	if (r->readying)
		log_panic("raft: raft_propose between ready and advance");
	if (r->role != RAFT_LEADER || r->transferee != RAFT_NONE ||
	    type > RAFT_ENTRY_CONFIG || len > UINT32_MAX)
		return 0;
	if (type == RAFT_ENTRY_CONFIG &&
	    (raft_config_decode(data, len, &c) < 0 ||
	    !raft_config_change_ok(r, &c)))
		return 0;
	raft_append_entry(r, r->term, type, data, len);
	r->bcast = 1;
	return raft_last_index(r);
}

/* raft_change - add or remove one voter; the entry's index, 0 if refused */
uint64_t
raft_change(struct raft *r, raft_id id, int add)
{
	struct raft_config c = r->config;
	struct buf b;
	uint64_t index;
	size_t i;

	if (id == RAFT_NONE || raft_config_has(&c, id) == !!add)
		return 0;
	if (add) {
		if (c.n == RAFT_MAX_NODES)
			return 0;
		c.ids[c.n++] = id;
	} else {
		for (i = 0; c.ids[i] != id; i++)
			;
		c.ids[i] = c.ids[--c.n];
	}
	buf_init(&b);
	raft_config_encode(&c, &b);
	index = raft_propose(r, RAFT_ENTRY_CONFIG, buf_head(&b), buf_used(&b));
	buf_free(&b);
	return index;
}

/* raft_read_index - record the commit, confirm leadership (6.4) */
int
raft_read_index(struct raft *r, uint64_t ctx)
{
	struct raft_pending_read *pd;

	if (r->readying)
		log_panic("raft: raft_read_index between ready and advance");
	if (r->role != RAFT_LEADER || raft_term(r, r->commit) != r->term)
		return -1;
	raft_grow((void **)&r->pending_reads, &r->cappending_reads,
	    r->npending_reads, sizeof(*r->pending_reads));
	pd = &r->pending_reads[r->npending_reads++];
	pd->ctx = ctx;
	pd->index = r->commit;
	raft_heartbeat_round(r);
	pd->round = r->read_ctx;
	/* A single voter is its own majority. */
	raft_check_reads(r);
	return 0;
}

/*
 * raft_lease_until - the time until which the lease holds (6.4.1): the
 * newest acknowledged heartbeat of the quorum's slowest needed voter,
 * plus election_ms. 0 when there is none; UINT64_MAX when this server is
 * the whole quorum.
 */
uint64_t
raft_lease_until(const struct raft *r, uint64_t now)
{
	uint64_t from[RAFT_MAX_NODES], t;
	size_t i, j, n = 0, need;

	if (r->role != RAFT_LEADER || !r->o.check_quorum || r->lease_void ||
	    raft_term(r, r->commit) != r->term)
		return 0;
	if ((size_t)raft_is_voter(r) >= raft_quorum(r))
		return UINT64_MAX;
	need = raft_quorum(r) - (size_t)raft_is_voter(r);
	for (i = 0; i < r->nprs; i++) {
		if ((t = r->prs[i].lease_from) == 0 || t > now)
			continue;
		/* insertion sort, newest first */
		for (j = n++; j > 0 && from[j - 1] < t; j--)
			from[j] = from[j - 1];
		from[j] = t;
	}
	return n >= need ? from[need - 1] + r->o.election_ms : 0;
}

/* raft_lease_ok - may the leader serve reads without a round (6.4.1)? */
int
raft_lease_ok(const struct raft *r, uint64_t now)
{
	return raft_lease_until(r, now) > now;
}

/* raft_transfer - bring id up to date, then TIMEOUT_NOW (3.10) */
int
raft_transfer(struct raft *r, raft_id id)
{
	struct raft_progress *pr;

	if (r->readying)
		log_panic("raft: raft_transfer between ready and advance");
	if (r->role != RAFT_LEADER || id == r->o.id ||
	    (pr = raft_progress_of(r, id)) == NULL)
		return -1;
	r->transferee = id;
	r->transfer_deadline = r->now + r->o.election_ms;
	raft_maybe_timeout_now(r, pr);
	r->bcast = 1;
	return 0;
}

/* raft_compact - the caller's snapshot covers index: drop up to it */
int
raft_compact(struct raft *r, uint64_t index)
{
	struct raft_config c;
	uint64_t at;

	if (r->readying)
		log_panic("raft: raft_compact between ready and advance");
	if (index > r->applied)
		return -1;
	if (index <= r->snap_index)
		return 0;
	raft_config_before(r, index, &c, &at);
	r->snap_term = raft_term(r, index);
	r->snap_config = c;
	raft_drop_prefix(r, index);
	r->snap_index = index;
	if (r->config_index <= index)
		r->config_index = 0;
	if (r->unstable_from && r->unstable_from <= index)
		r->unstable_from = index + 1;
	return 0;
}

/* raft_snapshot_done - the adapter finished (or failed) sending one */
void
raft_snapshot_done(struct raft *r, raft_id id, int ok)
{
	struct raft_progress *pr;

	if (r->readying)
		log_panic("raft: raft_snapshot_done between ready and advance");
	if (r->role != RAFT_LEADER || (pr = raft_progress_of(r, id)) == NULL ||
	    !pr->snapshotting)
		return;
	pr->snapshotting = 0;
	pr->probing = 1;
	/* Sent: wait for its answer. Failed: probe again (maybe resend). */
	pr->inflight = ok ? 1 : 0;
	r->bcast = 1;
}

/* raft_has_ready - is there anything for raft_ready()? */
int
raft_has_ready(const struct raft *r)
{
	return r->hard_dirty || r->unstable_from || r->install_index ||
	    r->nout || r->commit > r->applied || r->nready_reads ||
	    (r->role == RAFT_LEADER && (r->bcast || r->commit_bcast));
}

/* raft_ready - what to persist, send and apply now (see raft.h) */
void
raft_ready(struct raft *r, struct raft_update *u)
{
	uint64_t last;
	size_t i;

	if (r->readying)
		log_panic("raft: raft_ready twice without raft_advance");
	if (r->bcast || r->commit_bcast)
		raft_send_appends(r);
	memset(u, 0, sizeof(*u));
	u->hard_changed = r->hard_dirty;
	u->term = r->term;
	u->vote = r->vote;
	if (r->install_index) {
		u->snap_index = r->snap_index;
		u->snap_term = r->snap_term;
		u->snap_config = r->snap_config;
	}
	last = raft_last_index(r);
	if (r->unstable_from) {
		u->persist_from = r->unstable_from;
		if (r->unstable_from <= last) {
			u->entries = raft_entry_at(r, r->unstable_from);
			u->nentries = last - r->unstable_from + 1;
		}
	}
	for (i = 0; i < r->nout; i++)
		if (r->out[i].type == RAFT_MSG_SNAPSHOT) {
			r->out[i].snap_index = r->snap_index;
			r->out[i].snap_term = r->snap_term;
			r->out[i].snap_config = r->snap_config;
		}
	u->msgs = r->out;
	u->nmsgs = r->nout;
	if (r->commit > r->applied) {
		u->committed = raft_entry_at(r, r->applied + 1);
		u->ncommitted = r->commit - r->applied;
		if (u->committed == NULL)
			log_panic("raft: committed entry %" PRIu64 " is not in "
			    "the log", r->applied + 1);
	}
	u->reads = r->ready_reads;
	u->nreads = r->nready_reads;
	r->readying = 1;
}

/* raft_advance - the update was persisted, sent and applied */
void
raft_advance(struct raft *r, const struct raft_update *u)
{
	if (!r->readying)
		log_panic("raft: raft_advance without raft_ready");
	r->readying = 0;
	if (u->snap_index && r->persisted < u->snap_index)
		r->persisted = u->snap_index;
	if (u->persist_from)
		r->persisted = u->persist_from + u->nentries - 1;
	if (u->ncommitted)
		r->applied = u->committed[u->ncommitted - 1].index;
	r->hard_dirty = 0;
	r->unstable_from = 0;
	r->install_index = 0;
	r->nout = 0;
	r->nready_reads = 0;
	raft_empty_garbage(r);
	/* The leader's own copy may complete a majority (10.2.1). */
	raft_maybe_commit(r);
}

/* raft_init - start from what was persisted (see raft.h) */
int
raft_init(struct raft *r, const struct raft_opts *opts, uint64_t term,
    raft_id vote, uint64_t snap_index, uint64_t snap_term,
    const struct raft_config *snap_config,
    const struct raft_entry *entries, size_t n, uint64_t now)
{
	struct raft_config c;
	uint64_t at;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->o = *opts;
	if (r->o.id == RAFT_NONE ||
	    (snap_config && snap_config->n > RAFT_MAX_NODES)) {
		log_error("raft: a server needs a non-zero id and a "
		    "configuration of at most %d", RAFT_MAX_NODES);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (entries[i].index != snap_index + 1 + i) {
			log_error("raft: entry %" PRIu64 " where %" PRIu64
			    " was expected", entries[i].index,
			    snap_index + 1 + i);
			return -1;
		}
	if (r->o.election_ms == 0)
		r->o.election_ms = 1000;
	if (r->o.heartbeat_ms == 0)
		r->o.heartbeat_ms = r->o.election_ms / 10 + 1;
	if (r->o.max_append_entries == 0)
		r->o.max_append_entries = 64;
	if (r->o.max_append_bytes == 0)
		r->o.max_append_bytes = 1 << 20;
	if (r->o.max_inflight == 0)
		r->o.max_inflight = 16;
	if (r->o.max_inflight > RAFT_MAX_INFLIGHT)
		r->o.max_inflight = RAFT_MAX_INFLIGHT;
	r->rng = r->o.seed ^ (r->o.id * 0x9e3779b97f4a7c15ULL);
	r->now = now;
	r->term = term;
	r->vote = vote;
	r->snap_index = snap_index;
	r->snap_term = snap_term;
	if (snap_config)
		r->snap_config = *snap_config;
	r->commit = r->applied = snap_index;
	for (i = 0; i < n; i++)
		raft_append_entry(r, entries[i].term, entries[i].type,
		    entries[i].data, entries[i].len);
	r->unstable_from = 0;
	r->persisted = raft_last_index(r);
	raft_config_before(r, raft_last_index(r), &c, &at);
	r->config = c;
	r->config_index = at;
	/* No entry can be newer than the term that wrote it. */
	if (raft_last_term(r) > r->term) {
		r->term = raft_last_term(r);
		r->vote = RAFT_NONE;
		r->hard_dirty = 1;
	}
	r->role = RAFT_FOLLOWER;
	r->leader_heard = now;
	raft_reset_election(r);
	return 0;
}

/* raft_free - everything the core holds */
void
raft_free(struct raft *r)
{
	size_t i;

	for (i = 0; i < r->nlog; i++)
		free(r->log[i].data);
	free(r->log);
	raft_empty_garbage(r);
	free(r->garbage);
	free(r->out);
	free(r->pending_reads);
	free(r->ready_reads);
	memset(r, 0, sizeof(*r));
}
