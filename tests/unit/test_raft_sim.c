/*
 * test_raft_sim.c - a deterministic simulation of Raft clusters built on
 * the pure core (raft.c), in the manner of canonical/raft's fixture.
 *
 * Each run takes everything from one seed: 1, 3 or 5 servers (or 3 with
 * spares added and removed by membership changes), timeouts, a network
 * that delays (so reorders), loses and duplicates messages, partitions
 * that come and go (some one-way), crashes that lose whatever an update
 * had not yet persisted (a crash may come between persisting and
 * raft_advance), compaction with snapshots sent to lagging servers,
 * proposals, reads, leadership transfers, and sometimes several
 * messages stepped before one update (as the adapter does). Four runs in
 * ten are storms: messages as late as an election timeout, much loss,
 * crashes all the time, new leaders that die young, 5-20 s of it, so
 * that the schedules of Figures 3.7 and 3.8 come up. After every step
 * (one delivery, tick or client action) the Raft safety properties are
 * checked (thesis Figure 3.2):
 *
 *	election safety		at most one leader per term, ever
 *	leader append-only	a leader never cuts or rewrites its log
 *	log matching		an (index, term) names one entry with one
 *				prefix, in every log, in memory and on disk
 *	leader completeness	an entry committed in term T is in the log
 *				of every leader of a later term
 *	state machine safety	every server applies the same entry at an
 *				index, with no gap
 *
 * and, for reads, that a ReadIndex point or a lease covers everything
 * committed before, plus the durability contract (a vote is never
 * cast twice in a term on disk, no gap is ever written). Then the
 * network heals and crashes stop: a stable leader must emerge, every
 * proposal made from then on (by a client with a bounded window) must
 * be applied within 20 election timeouts, and every voter must have
 * applied them all within 200.
 *
 * The checks fail when a rule is broken on purpose: a core that counts
 * replicas of an old term to commit, grants votes without comparing
 * logs, skips the prev check, votes twice, counts refused votes, keeps
 * a stale log after a snapshot or voids no lease after TIMEOUT_NOW is
 * caught within the default runs.
 *
 *	RAFT_RUNS=n RAFT_SEED=s	runs s .. s+n-1 (default 2000 from 1)
 *	RAFT_TRACE=1		print every event (use with one run)
 *
 * A failing run prints its seed and step; RAFT_SEED=<seed> RAFT_RUNS=1
 * replays it exactly.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "log.h"
#include "raft.h"
#include "test.h"

#define SIM_MAX		5	/* server slots (ids 1..SIM_MAX) */
#define SIM_MAX_READS	64

/* ---- randomness: everything comes from the run's seed ---- */

static uint64_t sim_rng;
static int sim_trace;

static uint64_t
sim_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
rnd(void)
{
	return sim_mix(sim_rng += 0x9e3779b97f4a7c15ULL);
}

static uint64_t
rndn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

/* chance - true with probability permille/1000 */
static int
chance(unsigned permille)
{
	return rndn(1000) < permille;
}

static uint64_t
hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

/* entry_hash - what identifies an entry's content */
static uint64_t
entry_hash(const struct raft_entry *e)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = hash_bytes(h, &e->type, 1);
	h = hash_bytes(h, e->data, e->len);
	return sim_mix(h ^ e->term * 31 ^ e->index * 1000003);
}

/* ---- the simulated servers ---- */

struct disk {
	uint64_t		 term;
	raft_id			 vote;
	uint64_t		 snap_index, snap_term, snap_hash;
	struct raft_config	 snap_config;
	struct raft_entry	*log;	/* snap_index+1 .. */
	size_t			 nlog, cap;
};

struct node {
	raft_id			 id;
	int			 up;
	uint64_t		 gen;		/* incarnation */
	struct raft		 r;
	struct disk		 disk;
	uint64_t		 next_tick;
	/* the state machine: a hash chain of what was applied */
	uint64_t		 sm_applied, sm_hash;
	uint64_t		*hash_at;	/* sm_hash after index i */
	size_t			 cap_hash;
	/* snapshots delivered since the last update: one may install */
	uint64_t		 pend_snap_index[32], pend_snap_hash[32];
	size_t			 npend_snap;
	/* leader append-only */
	uint64_t		 lead_term, lead_last, lead_last_term;
	uint64_t		 ready_lead_term;
	uint64_t		 seen_commit;
	uint64_t		 restart_at;
	uint64_t		 crash_at;	/* a scheduled crash */
};

enum ev_type { EV_MSG, EV_SNAPDONE };

struct ev {
	uint64_t		 at, seq;
	int			 type;
	struct raft_msg		 m;	/* entries deep-copied */
	uint64_t		 snap_hash;
	int			 ok;
	uint64_t		 gen;	/* EV_SNAPDONE: the sender's */
};

struct reg {			/* log matching registry */
	uint64_t		 index, term;	/* index 0: empty slot */
	uint64_t		 hash, prev_term;
};

struct read {
	uint64_t		 ctx;
	int			 node;
	uint64_t		 gen, floor;	/* S.commit_max at issue */
};

struct prop {
	uint64_t		 at, applied_at;
	uint64_t		 index;	/* 0: not applied yet */
	char			 data[24];
};

static struct sim {
	uint64_t		 seed, step, now;
	int			 failed;
	char			 why[512];
	/* parameters */
	int			 nslots;
	int			 membership;
	uint64_t		 election_ms, heartbeat_ms, tick_ms;
	uint64_t		 max_delay;
	unsigned		 loss, dup;		/* permille */
	unsigned		 crash_rate, ready_crash;
	unsigned		 part_rate;
	uint64_t		 compact_gap;
	uint64_t		 fault_gap;
	unsigned		 batch;	/* permille of steps left unflushed */
	int			 storm;
	struct raft_opts	 opts;
	/* the world */
	struct node		 nodes[SIM_MAX];
	struct ev		*heap;
	size_t			 nheap, capheap;
	uint64_t		 evseq;
	int			 block[SIM_MAX][SIM_MAX];
	uint64_t		 chaos_end, end, heal_part_at;
	uint64_t		 next_fault, next_client;
	int			 healed;
	/* safety bookkeeping */
	raft_id			*leader_of_term;
	size_t			 cap_terms;
	uint64_t		*chain, *cterm, *cmin;	/* by index */
	size_t			 cap_idx;
	uint64_t		 commit_max;
	struct reg		*reg;
	size_t			 nreg, capreg;
	struct read		 reads[SIM_MAX_READS];
	size_t			 nreads;
	uint64_t		 next_ctx;
	/* the client */
	uint64_t		 next_value;
	struct prop		*props;
	size_t			 nprops, capprops;
	size_t			 unapplied;	/* proposals not applied yet */
	uint64_t		 stable_at;	/* a leader after healing */
	uint64_t		 last_prop;	/* when proposals stopped */
	size_t			 props_ok;
	uint64_t		 props_need;
	uint64_t		 nmsgs, nevents, nelections;
} S;

static void
fail(const char *fmt, ...)
{
	va_list ap;

	if (S.failed)
		return;
	S.failed = 1;
	va_start(ap, fmt);
	vsnprintf(S.why, sizeof(S.why), fmt, ap);
	va_end(ap);
}

static void
trace(const char *fmt, ...)
{
	va_list ap;

	if (!sim_trace)
		return;
	printf("%8" PRIu64 " #%" PRIu64 " ", S.now, S.step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		log_fatal("out of memory");
	return p;
}

/* grow_idx - make the per-index arrays hold index i */
static void
grow_idx(uint64_t i)
{
	size_t ncap;

	if (i < S.cap_idx)
		return;
	ncap = S.cap_idx ? S.cap_idx : 1024;
	while (ncap <= i)
		ncap *= 2;
	S.chain = xrealloc(S.chain, ncap * sizeof(*S.chain));
	S.cterm = xrealloc(S.cterm, ncap * sizeof(*S.cterm));
	S.cmin = xrealloc(S.cmin, ncap * sizeof(*S.cmin));
	memset(S.chain + S.cap_idx, 0, (ncap - S.cap_idx) * sizeof(*S.chain));
	memset(S.cterm + S.cap_idx, 0, (ncap - S.cap_idx) * sizeof(*S.cterm));
	memset(S.cmin + S.cap_idx, 0, (ncap - S.cap_idx) * sizeof(*S.cmin));
	S.cap_idx = ncap;
}

static void
node_hash_set(struct node *n, uint64_t i, uint64_t h)
{
	size_t ncap;

	if (i >= n->cap_hash) {
		ncap = n->cap_hash ? n->cap_hash : 1024;
		while (ncap <= i)
			ncap *= 2;
		n->hash_at = xrealloc(n->hash_at, ncap * sizeof(uint64_t));
		memset(n->hash_at + n->cap_hash, 0,
		    (ncap - n->cap_hash) * sizeof(uint64_t));
		n->cap_hash = ncap;
	}
	n->hash_at[i] = h;
}

/* ---- the log matching registry: (index, term) -> entry ---- */

static size_t
reg_slot(uint64_t index, uint64_t term)
{
	return sim_mix(index * 0x9e3779b97f4a7c15ULL ^ term) & (S.capreg - 1);
}

/*
 * reg_check - an entry seen in some log: the same (index, term) must
 * always be the same content after the same previous term (so, by
 * induction, the same prefix: the Log Matching Property).
 */
static void
reg_check(const char *where, raft_id id, const struct raft_entry *e,
    uint64_t prev_term)
{
	struct reg *r, *old;
	size_t i, j, ocap;
	uint64_t h = entry_hash(e);

	if (e->index == 0) {
		fail("%s of %" PRIu64 ": an entry with index 0", where, id);
		return;
	}
	if (S.nreg * 2 >= S.capreg) {
		old = S.reg;
		ocap = S.capreg;
		S.capreg = ocap ? ocap * 2 : 4096;
		S.reg = calloc(S.capreg, sizeof(*S.reg));
		if (S.reg == NULL)
			log_fatal("out of memory");
		for (j = 0; j < ocap; j++) {
			if (old[j].index == 0)
				continue;
			for (i = reg_slot(old[j].index, old[j].term);
			    S.reg[i].index; i = (i + 1) & (S.capreg - 1))
				;
			S.reg[i] = old[j];
		}
		free(old);
	}
	for (i = reg_slot(e->index, e->term); (r = &S.reg[i])->index;
	    i = (i + 1) & (S.capreg - 1))
		if (r->index == e->index && r->term == e->term) {
			if (r->hash != h)
				fail("log matching: %s of %" PRIu64 " has "
				    "other data at index %" PRIu64 " term %"
				    PRIu64, where, id, e->index, e->term);
			else if (r->prev_term != prev_term)
				fail("log matching: %s of %" PRIu64 " has "
				    "entry %" PRIu64 "/%" PRIu64 " after term %"
				    PRIu64 ", elsewhere after %" PRIu64, where,
				    id, e->index, e->term, prev_term,
				    r->prev_term);
			return;
		}
	r->index = e->index;
	r->term = e->term;
	r->hash = h;
	r->prev_term = prev_term;
	S.nreg++;
}

/* check_log - a whole log against the registry */
static void
check_log(const char *where, raft_id id, const struct raft_entry *log,
    size_t n, uint64_t snap_index, uint64_t snap_term)
{
	size_t i;

	for (i = 0; i < n && !S.failed; i++) {
		if (log[i].index != snap_index + 1 + i) {
			fail("%s of %" PRIu64 ": index %" PRIu64 " at position "
			    "%zu after snapshot %" PRIu64, where, id,
			    log[i].index, i, snap_index);
			return;
		}
		if (i > 0 && log[i].term < log[i - 1].term)
			fail("%s of %" PRIu64 ": terms go down at %" PRIu64,
			    where, id, log[i].index);
		reg_check(where, id, &log[i], i ? log[i - 1].term : snap_term);
	}
}

/* ---- the network ---- */

static int
ev_less(const struct ev *a, const struct ev *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
heap_push(struct ev *e)
{
	size_t i, p;
	struct ev t;

	if (S.nheap == S.capheap) {
		S.capheap = S.capheap ? S.capheap * 2 : 256;
		S.heap = xrealloc(S.heap, S.capheap * sizeof(*S.heap));
	}
	e->seq = S.evseq++;
	S.heap[i = S.nheap++] = *e;
	while (i > 0 && ev_less(&S.heap[i], &S.heap[p = (i - 1) / 2])) {
		t = S.heap[i];
		S.heap[i] = S.heap[p];
		S.heap[p] = t;
		i = p;
	}
}

static void
heap_pop(struct ev *out)
{
	size_t i = 0, l, m;
	struct ev t;

	*out = S.heap[0];
	S.heap[0] = S.heap[--S.nheap];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < S.nheap && ev_less(&S.heap[l], &S.heap[m]))
			m = l;
		if (l + 1 < S.nheap && ev_less(&S.heap[l + 1], &S.heap[m]))
			m = l + 1;
		if (m == i)
			break;
		t = S.heap[i];
		S.heap[i] = S.heap[m];
		S.heap[m] = t;
		i = m;
	}
}

static void
msg_free(struct raft_msg *m)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		free(m->entries[i].data);
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}

/* msg_copy - a deep copy: what the core handed out dies at advance */
static void
msg_copy(struct raft_msg *dst, const struct raft_msg *src)
{
	size_t i;

	*dst = *src;
	if (src->nentries == 0) {
		dst->entries = NULL;
		return;
	}
	dst->entries = xrealloc(NULL, src->nentries * sizeof(*dst->entries));
	for (i = 0; i < src->nentries; i++) {
		dst->entries[i] = src->entries[i];
		dst->entries[i].data = xrealloc(NULL, src->entries[i].len);
		if (src->entries[i].len)
			memcpy(dst->entries[i].data, src->entries[i].data,
			    src->entries[i].len);
	}
}

static const char *
msg_name(enum raft_msg_type t)
{
	static const char *names[] = { "?", "PREVOTE", "PREVOTE_RESP", "VOTE",
	    "VOTE_RESP", "APPEND", "APPEND_RESP", "SNAPSHOT", "TIMEOUT_NOW" };

	return t <= RAFT_MSG_TIMEOUT_NOW ? names[t] : "?";
}

/* net_send - into the network: blocked, lost, delayed, duplicated */
static void
net_send(struct node *from, const struct raft_msg *m)
{
	struct ev e;
	int copies = 1, i, f = (int)m->from - 1, t = (int)m->to - 1;

	S.nmsgs++;
	if (t < 0 || t >= S.nslots) {
		fail("message to unknown server %" PRIu64, m->to);
		return;
	}
	memset(&e, 0, sizeof(e));
	if (S.block[f][t] || chance(S.loss)) {
		trace("%" PRIu64 "->%" PRIu64 " %s lost", m->from, m->to,
		    msg_name(m->type));
		if (m->type == RAFT_MSG_SNAPSHOT) {
			e.type = EV_SNAPDONE;
			e.at = S.now + 1 + rndn(S.max_delay);
			e.m.from = m->from;
			e.m.to = m->to;
			e.gen = from->gen;
			e.ok = 0;
			heap_push(&e);
		}
		return;
	}
	if (chance(S.dup))
		copies = 2;
	for (i = 0; i < copies; i++) {
		memset(&e, 0, sizeof(e));
		e.type = EV_MSG;
		e.at = S.now + 1 + rndn(S.max_delay);
		msg_copy(&e.m, m);
		if (m->type == RAFT_MSG_SNAPSHOT) {
			if (m->snap_index != from->disk.snap_index ||
			    m->snap_index == 0)
				fail("snapshot %" PRIu64 " sent by %" PRIu64
				    " whose snapshot is %" PRIu64,
				    m->snap_index, m->from,
				    from->disk.snap_index);
			e.snap_hash = from->disk.snap_hash;
		}
		heap_push(&e);
		if (m->type == RAFT_MSG_SNAPSHOT && i == 0) {
			/* The adapter's transfer ends with the delivery. */
			memset(&e, 0, sizeof(e));
			e.type = EV_SNAPDONE;
			e.at = S.now + 1 + S.max_delay;
			e.m.from = m->from;
			e.m.to = m->to;
			e.gen = from->gen;
			e.ok = 1;
			heap_push(&e);
		}
	}
}

/* ---- persistence, apply, the Ready loop ---- */

static void
disk_free(struct disk *d)
{
	size_t i;

	for (i = 0; i < d->nlog; i++)
		free(d->log[i].data);
	free(d->log);
	memset(d, 0, sizeof(*d));
}

static uint64_t
disk_last(const struct disk *d)
{
	return d->snap_index + d->nlog;
}

/* disk_cut - drop index and after */
static void
disk_cut(struct disk *d, uint64_t index)
{
	while (disk_last(d) >= index && d->nlog > 0)
		free(d->log[--d->nlog].data);
}

/* disk_drop_prefix - drop up to index (a snapshot covers it) */
static void
disk_drop_prefix(struct disk *d, uint64_t index)
{
	size_t n, i;

	if (index <= d->snap_index)
		return;
	n = index - d->snap_index;
	if (n > d->nlog)
		n = d->nlog;
	for (i = 0; i < n; i++)
		free(d->log[i].data);
	if (d->nlog > n)
		memmove(d->log, d->log + n, (d->nlog - n) * sizeof(*d->log));
	d->nlog -= n;
}

static void
disk_append(struct disk *d, const struct raft_entry *e)
{
	struct raft_entry *x;

	if (d->nlog == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->log = xrealloc(d->log, d->cap * sizeof(*d->log));
	}
	x = &d->log[d->nlog++];
	*x = *e;
	x->data = xrealloc(NULL, e->len);
	if (e->len)
		memcpy(x->data, e->data, e->len);
}

/* persist - step 1: the only way anything reaches the disk */
static void
persist(struct node *n, const struct raft_update *u)
{
	struct disk *d = &n->disk;
	size_t i;

	if (u->term < d->term)
		fail("%" PRIu64 ": term goes back from %" PRIu64 " to %" PRIu64,
		    n->id, d->term, u->term);
	if (u->hard_changed) {
		if (u->term == d->term && d->vote != RAFT_NONE &&
		    u->vote != d->vote)
			fail("%" PRIu64 " votes twice in term %" PRIu64
			    " (%" PRIu64 " then %" PRIu64 ")", n->id, d->term,
			    d->vote, u->vote);
		d->term = u->term;
		d->vote = u->vote;
	} else if (u->term != d->term || u->vote != d->vote) {
		fail("%" PRIu64 ": hard state changed but not reported", n->id);
	}
	if (u->snap_index) {
		for (i = 0; i < n->npend_snap; i++)
			if (n->pend_snap_index[i] == u->snap_index)
				break;
		if (i == n->npend_snap) {
			fail("%" PRIu64 " installs snapshot %" PRIu64 " it was "
			    "not sent", n->id, u->snap_index);
			return;
		}
		n->pend_snap_hash[0] = n->pend_snap_hash[i];
		if (u->snap_index <= d->snap_index)
			fail("%" PRIu64 " installs snapshot %" PRIu64 " over "
			    "%" PRIu64, n->id, u->snap_index, d->snap_index);
		/* As raft.h says: install, drop the entries up to it. */
		disk_drop_prefix(d, u->snap_index);
		d->snap_index = u->snap_index;
		d->snap_term = u->snap_term;
		d->snap_config = u->snap_config;
		d->snap_hash = n->pend_snap_hash[0];
		if (d->nlog > 0 && (u->persist_from == 0 ||
		    u->persist_from > u->snap_index + 1) &&
		    disk_last(d) >= u->snap_index + 1 &&
		    d->log[0].term < u->snap_term)
			fail("%" PRIu64 ": keeps entries older than the "
			    "snapshot after it", n->id);
		/* The state machine takes the snapshot. */
		grow_idx(u->snap_index);
		if (S.chain[u->snap_index] &&
		    S.chain[u->snap_index] != d->snap_hash)
			fail("state machine safety: %" PRIu64 " installs a "
			    "snapshot at %" PRIu64 " unlike what was applied",
			    n->id, u->snap_index);
		n->sm_applied = u->snap_index;
		n->sm_hash = d->snap_hash;
		node_hash_set(n, u->snap_index, d->snap_hash);
	}
	n->npend_snap = 0;
	if (u->persist_from) {
		if (n->r.role == RAFT_LEADER && n->ready_lead_term == u->term &&
		    u->persist_from <= disk_last(d))
			fail("leader append-only: leader %" PRIu64 " cuts its "
			    "log at %" PRIu64, n->id, u->persist_from);
		if (u->persist_from > disk_last(d) + 1)
			fail("%" PRIu64 ": a gap on disk: storing from %" PRIu64
			    " after %" PRIu64, n->id, u->persist_from,
			    disk_last(d));
		if (u->persist_from <= d->snap_index)
			fail("%" PRIu64 ": cutting into the snapshot at %"
			    PRIu64, n->id, u->persist_from);
		disk_cut(d, u->persist_from);
		for (i = 0; i < u->nentries; i++) {
			if (u->entries[i].index != u->persist_from + i)
				fail("%" PRIu64 ": entries to persist out of "
				    "order", n->id);
			disk_append(d, &u->entries[i]);
		}
	} else if (u->nentries) {
		fail("%" PRIu64 ": entries without persist_from", n->id);
	}
	n->ready_lead_term = n->r.role == RAFT_LEADER ? u->term : 0;
}

/* record_commit - what is committed, by the earliest term seen */
static void
record_commit(struct node *n)
{
	uint64_t i, t;
	int k;

	if (n->r.commit < n->seen_commit)
		fail("%" PRIu64 ": commit went back", n->id);
	for (i = n->seen_commit + 1; i <= n->r.commit && !S.failed; i++) {
		if (raft_term_at(&n->r, i, &t) < 0)
			continue;	/* in a snapshot: recorded before */
		grow_idx(i);
		if (S.cterm[i] && S.cterm[i] != t)
			fail("state machine safety: %" PRIu64 " commits term %"
			    PRIu64 " at %" PRIu64 ", %" PRIu64 " was", n->id,
			    t, i, S.cterm[i]);
		S.cterm[i] = t;
		if (S.cmin[i] == 0 || n->r.term < S.cmin[i])
			S.cmin[i] = n->r.term;
		if (i > S.commit_max)
			S.commit_max = i;
		/* Leader completeness for the leaders in office. */
		for (k = 0; k < S.nslots; k++) {
			struct node *l = &S.nodes[k];
			uint64_t lt;

			if (!l->up || l->r.role != RAFT_LEADER ||
			    l->r.term <= S.cmin[i] || i <= l->r.snap_index)
				continue;
			if (raft_term_at(&l->r, i, &lt) < 0 || lt != t)
				fail("leader completeness: leader %" PRIu64
				    " of term %" PRIu64 " lacks committed %"
				    PRIu64 "/%" PRIu64, l->id, l->r.term, i, t);
		}
	}
	if (n->r.commit > n->seen_commit)
		n->seen_commit = n->r.commit;
}

/* apply - step 3: the state machine, checked against every other one */
static void
apply(struct node *n, const struct raft_entry *e)
{
	char num[24];
	size_t k;

	if (e->index != n->sm_applied + 1) {
		fail("%" PRIu64 " applies %" PRIu64 " after %" PRIu64, n->id,
		    e->index, n->sm_applied);
		return;
	}
	n->sm_applied = e->index;
	n->sm_hash = sim_mix(n->sm_hash ^ entry_hash(e));
	node_hash_set(n, e->index, n->sm_hash);
	grow_idx(e->index);
	if (S.chain[e->index] == 0)
		S.chain[e->index] = n->sm_hash;
	else if (S.chain[e->index] != n->sm_hash)
		fail("state machine safety: %" PRIu64 " applies other data at "
		    "%" PRIu64, n->id, e->index);
	if (e->type != RAFT_ENTRY_NORMAL || e->len < 2 || e->data[0] != 'v')
		return;
	/* A proposal: note when it first took effect. */
	if (e->len >= sizeof(num))
		return;
	memcpy(num, e->data + 1, e->len - 1);
	num[e->len - 1] = '\0';
	k = (size_t)strtoull(num, NULL, 10);
	if (k < S.nprops && S.props[k].index == 0) {
		S.props[k].index = e->index;
		S.props[k].applied_at = S.now;
		S.unapplied--;
	}
}

static void node_crash(struct node *);

/*
 * node_ready - the adapter's loop: persist, send, apply, advance. A
 * crash may hit before persisting, between persisting and sending, or
 * before raft_advance.
 */
static void
node_ready(struct node *n)
{
	struct raft_update u;
	size_t i, k;
	int crash;

	while (n->up && raft_has_ready(&n->r) && !S.failed) {
		raft_ready(&n->r, &u);
		if ((u.nentries && (u.entries == NULL || u.persist_from == 0 ||
		    u.entries[0].index != u.persist_from)) ||
		    (u.ncommitted && u.committed == NULL) ||
		    (u.nmsgs && u.msgs == NULL) ||
		    (u.nreads && u.reads == NULL)) {
			fail("%" PRIu64 ": a malformed update", n->id);
			node_crash(n);	/* nothing may call into it now */
			return;
		}
		crash = chance(S.ready_crash) ? (int)rndn(3) + 1 : 0;
		if (crash == 1) {
			trace("%" PRIu64 " crashes before persisting", n->id);
			node_crash(n);
			return;
		}
		if (u.nentries > 0) {
			uint64_t pt;

			if (raft_term_at(&n->r, u.persist_from - 1, &pt) < 0)
				fail("%" PRIu64 ": persisting from %" PRIu64
				    " with no known entry before",
				    n->id, u.persist_from);
			check_log("update", n->id, u.entries, u.nentries,
			    u.persist_from - 1, pt);
		}
		persist(n, &u);
		if (S.failed) {
			node_crash(n);
			return;
		}
		if (crash == 2) {
			trace("%" PRIu64 " crashes after persisting", n->id);
			node_crash(n);
			return;
		}
		for (i = 0; i < u.nmsgs; i++) {
			trace("%" PRIu64 "->%" PRIu64 " %s t%" PRIu64
			    " prev %" PRIu64 "/%" PRIu64 " n%zu c%" PRIu64
			    " idx %" PRIu64 " hint %" PRIu64 "%s",
			    u.msgs[i].from,
			    u.msgs[i].to, msg_name(u.msgs[i].type),
			    u.msgs[i].term, u.msgs[i].prev_index,
			    u.msgs[i].prev_term, u.msgs[i].nentries,
			    u.msgs[i].commit, u.msgs[i].index, u.msgs[i].hint,
			    u.msgs[i].reject ? " reject" : "");
			net_send(n, &u.msgs[i]);
		}
		for (i = 0; i < u.ncommitted; i++)
			apply(n, &u.committed[i]);
		for (i = 0; i < u.nreads; i++) {
			for (k = 0; k < S.nreads; k++)
				if (S.reads[k].ctx == u.reads[i].ctx)
					break;
			if (k == S.nreads) {
				fail("%" PRIu64 ": a read nobody asked for",
				    n->id);
				break;
			}
			if (u.reads[i].index != 0 &&
			    u.reads[i].index < S.reads[k].floor)
				fail("read index %" PRIu64 " of %" PRIu64 " is "
				    "below commit %" PRIu64 " when asked",
				    u.reads[i].index, n->id, S.reads[k].floor);
			S.reads[k] = S.reads[--S.nreads];
		}
		if (crash == 3) {
			trace("%" PRIu64 " crashes before advancing", n->id);
			node_crash(n);
			return;
		}
		raft_advance(&n->r, &u);
	}
}

/* ---- servers coming and going ---- */

/* node_start - from what its disk holds, as the adapter would */
static void
node_start(struct node *n)
{
	struct raft_opts o = S.opts;
	struct disk *d = &n->disk;

	o.id = n->id;
	o.seed = sim_mix(S.seed * 131 + n->id * 7919 + n->gen);
	n->gen++;
	if (raft_init(&n->r, &o, d->term, d->vote, d->snap_index, d->snap_term,
	    &d->snap_config, d->log, d->nlog, S.now) < 0) {
		fail("%" PRIu64 ": raft_init refused its own disk", n->id);
		return;
	}
	n->up = 1;
	n->sm_applied = d->snap_index;
	n->sm_hash = d->snap_hash;
	if (d->snap_index)
		node_hash_set(n, d->snap_index, d->snap_hash);
	n->seen_commit = n->r.commit;
	n->lead_term = 0;
	n->ready_lead_term = 0;
	n->npend_snap = 0;
	n->restart_at = 0;
	n->crash_at = 0;
	n->next_tick = S.now + 1 + rndn(S.tick_ms);
	trace("%" PRIu64 " starts: term %" PRIu64 " last %" PRIu64
	    " snap %" PRIu64, n->id, d->term, disk_last(d), d->snap_index);
}

static void
node_crash(struct node *n)
{
	size_t k;

	raft_free(&n->r);
	n->up = 0;
	n->restart_at = S.now + 1 + rndn(S.election_ms * 4);
	for (k = 0; k < S.nreads; )
		if (S.reads[k].node == (int)(n->id - 1))
			S.reads[k] = S.reads[--S.nreads];
		else
			k++;
}

/* check_node - the invariants that hold after any step of n */
static void
check_node(struct node *n)
{
	struct raft *r = &n->r;
	uint64_t i, t, last;
	size_t ncap;

	if (!n->up || S.failed)
		return;
	last = raft_last_index(r);
	/* In a storm a leader may die just after committing, too. */
	if (S.storm && !S.healed && r->role == RAFT_LEADER &&
	    r->commit > n->seen_commit && n->crash_at == 0 && chance(100))
		n->crash_at = S.now + 1 + rndn(S.max_delay);
	if (r->commit > last || r->applied > r->commit ||
	    r->snap_index > r->applied || r->persisted > last)
		fail("%" PRIu64 ": snap %" PRIu64 " applied %" PRIu64
		    " commit %" PRIu64 " persisted %" PRIu64 " last %" PRIu64,
		    n->id, r->snap_index, r->applied, r->commit, r->persisted,
		    last);
	record_commit(n);
	if (r->role != RAFT_LEADER) {
		n->lead_term = 0;
		return;
	}
	/*
	 * A leader counts once its term and vote for itself are on disk:
	 * a single voter elects itself within one step, and a crash
	 * before that update is persisted undoes it unseen (nothing it
	 * sends leaves before).
	 */
	if (n->disk.term != r->term || n->disk.vote != n->id)
		return;
	/* Election safety. */
	if (r->term >= S.cap_terms) {
		ncap = S.cap_terms ? S.cap_terms : 256;
		while (ncap <= r->term)
			ncap *= 2;
		S.leader_of_term = xrealloc(S.leader_of_term,
		    ncap * sizeof(raft_id));
		memset(S.leader_of_term + S.cap_terms, 0,
		    (ncap - S.cap_terms) * sizeof(raft_id));
		S.cap_terms = ncap;
	}
	if (S.leader_of_term[r->term] == 0)
		S.leader_of_term[r->term] = n->id;
	else if (S.leader_of_term[r->term] != n->id)
		fail("election safety: %" PRIu64 " and %" PRIu64 " both lead "
		    "term %" PRIu64, S.leader_of_term[r->term], n->id, r->term);
	if (n->lead_term != r->term) {
		/* A new leader: it holds every entry committed before. */
		S.nelections++;
		trace("%" PRIu64 " leads term %" PRIu64, n->id, r->term);
		for (i = r->snap_index + 1; i <= S.commit_max && !S.failed;
		    i++) {
			if (S.cmin[i] == 0 || S.cmin[i] >= r->term)
				continue;
			if (raft_term_at(r, i, &t) < 0 || t != S.cterm[i])
				fail("leader completeness: new leader %" PRIu64
				    " of term %" PRIu64 " lacks committed %"
				    PRIu64 "/%" PRIu64, n->id, r->term, i,
				    S.cterm[i]);
		}
		n->lead_term = r->term;
		/*
		 * In a storm, new leaders often die young: between an old
		 * entry's acknowledgement and their own no-op's, say
		 * (Figures 3.7 and 3.8 need a few of those in a row).
		 */
		if (S.storm && !S.healed && chance(300))
			n->crash_at = S.now + 1 + rndn(3 * S.max_delay);
	} else if (last < n->lead_last || (n->lead_last > r->snap_index &&
	    (raft_term_at(r, n->lead_last, &t) < 0 ||
	    t != n->lead_last_term))) {
		fail("leader append-only: %" PRIu64 " had %" PRIu64 "/%" PRIu64
		    ", now last %" PRIu64, n->id, n->lead_last,
		    n->lead_last_term, last);
	}
	n->lead_last = last;
	n->lead_last_term = raft_last_term(r);
}

/*
 * check_leases - now, at every leader: a lease means no other leader can
 * have been elected, so nothing newer than its commit is committed.
 */
static void
check_leases(void)
{
	struct node *n;
	int k;

	for (k = 0; k < S.nslots; k++) {
		n = &S.nodes[k];
		if (n->up && raft_lease_ok(&n->r, S.now) &&
		    n->r.commit < S.commit_max)
			fail("lease: leader %" PRIu64 " of term %" PRIu64
			    " has commit %" PRIu64 " but %" PRIu64
			    " is committed",
			    n->id, n->r.term, n->r.commit, S.commit_max);
	}
}

/* check_all_logs - every log in memory and on disk, entry by entry */
static void
check_all_logs(void)
{
	struct node *n;
	int k;

	for (k = 0; k < S.nslots && !S.failed; k++) {
		n = &S.nodes[k];
		check_log("disk", n->id, n->disk.log, n->disk.nlog,
		    n->disk.snap_index, n->disk.snap_term);
		if (n->up)
			check_log("memory", n->id, n->r.log, n->r.nlog,
			    n->r.snap_index, n->r.snap_term);
	}
}

static struct node *a_leader(void);

/* ---- faults ---- */

static void
heal_partitions(void)
{
	memset(S.block, 0, sizeof(S.block));
	S.heal_part_at = 0;
}

static void
fault(void)
{
	struct node *n;
	int a, b, k, side[SIM_MAX];

	switch (rndn(6)) {
	case 0:		/* split in two */
		for (k = 0; k < S.nslots; k++)
			side[k] = (int)rndn(2);
		for (a = 0; a < S.nslots; a++)
			for (b = 0; b < S.nslots; b++)
				S.block[a][b] = side[a] != side[b];
		S.heal_part_at = S.now + rndn(S.election_ms * 10);
		trace("partition");
		break;
	case 1:		/* isolate one */
		a = (int)rndn(S.nslots);
		for (b = 0; b < S.nslots; b++)
			S.block[a][b] = S.block[b][a] = a != b;
		S.heal_part_at = S.now + rndn(S.election_ms * 10);
		trace("isolate %d", a + 1);
		break;
	case 2:		/* one-way */
		a = (int)rndn(S.nslots);
		b = (int)rndn(S.nslots);
		if (a != b)
			S.block[a][b] = 1;
		if (rndn(2)) {	/* deaf: hears nobody */
			for (b = 0; b < S.nslots; b++)
				S.block[b][a] = a != b;
		}
		S.heal_part_at = S.now + rndn(S.election_ms * 10);
		trace("one-way from/to %d", a + 1);
		break;
	case 3:
	case 4:		/* crash, in a storm often the leader */
		if (!chance(S.crash_rate))
			break;
		n = &S.nodes[rndn(S.nslots)];
		if (S.storm && rndn(2) && a_leader() != NULL)
			n = a_leader();
		if (n->up) {
			trace("%" PRIu64 " crashes", n->id);
			node_crash(n);
		}
		break;
	default:
		heal_partitions();
		trace("heal");
		break;
	}
}

/* ---- the client ---- */

/* a_leader - the leader a client would end up at: the newest term */
static struct node *
a_leader(void)
{
	struct node *best = NULL;
	int k;

	for (k = 0; k < S.nslots; k++)
		if (S.nodes[k].up && S.nodes[k].r.role == RAFT_LEADER &&
		    (best == NULL || S.nodes[k].r.term > best->r.term))
			best = &S.nodes[k];
	return best;
}

/* any_leader - during the chaos a client may talk to a stale leader */
static struct node *
any_leader(void)
{
	struct node *l[SIM_MAX];
	int k, n = 0;

	if (S.healed || rndn(2))
		return a_leader();
	for (k = 0; k < S.nslots; k++)
		if (S.nodes[k].up && S.nodes[k].r.role == RAFT_LEADER)
			l[n++] = &S.nodes[k];
	return n ? l[rndn(n)] : NULL;
}

static void
propose(struct node *l)
{
	struct prop *p;
	uint64_t index;

	if (S.nprops == S.capprops) {
		S.capprops = S.capprops ? S.capprops * 2 : 256;
		S.props = xrealloc(S.props, S.capprops * sizeof(*S.props));
	}
	p = &S.props[S.nprops];
	memset(p, 0, sizeof(*p));
	snprintf(p->data, sizeof(p->data), "v%zu", S.nprops);
	index = raft_propose(&l->r, RAFT_ENTRY_NORMAL, p->data,
	    strlen(p->data));
	if (index == 0) {
		if (S.stable_at && l->r.transferee == RAFT_NONE)
			fail("leader %" PRIu64 " refused a proposal after "
			    "healing", l->id);
		return;
	}
	p->at = S.now;
	S.nprops++;
	S.unapplied++;
	check_node(l);	/* what the step decided */
	node_ready(l);
	check_node(l);
}

static void
compact(struct node *n)
{
	struct raft *r = &n->r;
	struct disk *d = &n->disk;
	uint64_t idx;

	if (!n->up || r->applied < r->snap_index + S.compact_gap)
		return;
	idx = r->snap_index + 1 + rndn(r->applied - r->snap_index);
	if (idx > n->sm_applied || n->hash_at[idx] == 0) {
		fail("%" PRIu64 ": compacting at %" PRIu64 " beyond the state "
		    "machine (%" PRIu64 ")", n->id, idx, n->sm_applied);
		return;
	}
	if (disk_last(d) < idx) {
		fail("%" PRIu64 ": applied %" PRIu64 " is not on disk", n->id,
		    idx);
		return;
	}
	if (raft_compact(r, idx) < 0) {
		fail("%" PRIu64 ": raft_compact(%" PRIu64 ") refused", n->id,
		    idx);
		return;
	}
	if (r->snap_index != idx ||
	    r->snap_term != d->log[idx - d->snap_index - 1].term)
		fail("%" PRIu64 ": compacted to %" PRIu64 "/%" PRIu64, n->id,
		    r->snap_index, r->snap_term);
	d->snap_term = r->snap_term;
	d->snap_config = r->snap_config;
	d->snap_hash = n->hash_at[idx];
	disk_drop_prefix(d, idx);
	d->snap_index = idx;
	trace("%" PRIu64 " compacts to %" PRIu64, n->id, idx);
}

static void
client(void)
{
	struct node *l = any_leader(), *n;
	raft_id id;
	int what = (int)rndn(100);

	if (what < 70) {
		/*
		 * After healing the client keeps a bounded window: some
		 * configurations (one entry a message, reordering) cannot
		 * carry more than a few entries per round trip.
		 */
		if (S.healed && S.unapplied >= 8)
			return;
		if (l != NULL)
			propose(l);
		else if (S.stable_at)
			fail("no leader to propose to after healing");
	} else if (what < 80) {
		if (l == NULL || S.nreads == SIM_MAX_READS)
			return;
		if (raft_read_index(&l->r, ++S.next_ctx) == 0) {
			S.reads[S.nreads].ctx = S.next_ctx;
			S.reads[S.nreads].node = (int)(l->id - 1);
			S.reads[S.nreads].gen = l->gen;
			S.reads[S.nreads++].floor = S.commit_max;
			check_node(l);	/* what the step decided */
			node_ready(l);
			check_node(l);
		}
	} else if (what < 92) {
		n = &S.nodes[rndn(S.nslots)];
		compact(n);
	} else if (what < 96) {
		if (l == NULL || S.healed || !S.membership)
			return;
		id = 1 + rndn(S.nslots);
		if (raft_config_has(&l->r.config, id)) {
			if (l->r.config.n > 1 &&
			    raft_change(&l->r, id, 0))
				trace("remove %" PRIu64, id);
		} else if (raft_change(&l->r, id, 1)) {
			trace("add %" PRIu64, id);
		}
		check_node(l);	/* what the step decided */
		node_ready(l);
		check_node(l);
	} else {
		if (l == NULL || S.healed || l->r.config.n < 2)
			return;
		id = l->r.config.ids[rndn(l->r.config.n)];
		if (id != l->id && raft_transfer(&l->r, id) == 0)
			trace("%" PRIu64 " transfers to %" PRIu64, l->id, id);
		check_node(l);	/* what the step decided */
		node_ready(l);
		check_node(l);
	}
}

/* ---- liveness ---- */

/*
 * stable - a leader with its configuration committed, an entry of its
 * term committed, and every voter of that configuration following it
 */
static struct node *
stable(void)
{
	struct node *l = a_leader(), *n;
	uint64_t t;
	size_t i;

	/* A transfer begun before healing may still move leadership. */
	if (S.now < S.chaos_end + 2 * S.election_ms || l == NULL ||
	    l->r.transferee != RAFT_NONE || l->r.config_index > l->r.commit ||
	    raft_term_at(&l->r, l->r.commit, &t) < 0 || t != l->r.term)
		return NULL;
	for (i = 0; i < l->r.config.n; i++) {
		n = &S.nodes[l->r.config.ids[i] - 1];
		if (n != l && (!n->up || n->r.leader != l->id ||
		    n->r.term != l->r.term))
			return NULL;
	}
	return l;
}

static void
heal(void)
{
	int k;

	S.healed = 1;
	heal_partitions();
	S.loss = S.dup = 0;
	S.ready_crash = 0;
	/* Delays near the election timeout would not let a leader stay. */
	if (S.max_delay > S.election_ms / 5 + 1)
		S.max_delay = S.election_ms / 5 + 1;
	trace("healed");
	for (k = 0; k < S.nslots; k++) {
		S.nodes[k].crash_at = 0;
		if (!S.nodes[k].up) {
			node_start(&S.nodes[k]);
			node_ready(&S.nodes[k]);
		}
	}
}

/*
 * caught_up - every proposal since the leader was stable is applied,
 * within LIVE_LATENCY election timeouts, and every voter of the
 * leader's configuration has applied them all. why gets the reason
 * when not (yet).
 */
#define LIVE_LATENCY	20	/* election timeouts, propose to apply */
#define LIVE_CATCH_UP	200	/* election timeouts to catch up at most */

static int
caught_up(char *why, size_t len)
{
	struct node *l = a_leader(), *n;
	size_t i;

	/* Proposals before props_ok were found applied in time already. */
	for (i = S.props_ok; i < S.nprops; i++, S.props_ok++) {
		if (S.props[i].at < S.stable_at)
			continue;
		if (S.props[i].index == 0) {
			snprintf(why, len, "proposal %zu made at %" PRIu64
			    " is not applied", i, S.props[i].at);
			return 0;
		}
		if (S.props[i].applied_at - S.props[i].at >
		    LIVE_LATENCY * S.election_ms) {
			fail("liveness: proposal %zu made at %" PRIu64 " was "
			    "applied only at %" PRIu64, i, S.props[i].at,
			    S.props[i].applied_at);
			return 0;
		}
		if (S.props[i].index > S.props_need)
			S.props_need = S.props[i].index;
	}
	if (l == NULL) {
		snprintf(why, len, "no leader");
		return 0;
	}
	for (i = 0; i < l->r.config.n; i++) {
		n = &S.nodes[l->r.config.ids[i] - 1];
		if (n->sm_applied < S.props_need) {
			snprintf(why, len, "voter %" PRIu64 " applied %" PRIu64
			    " of %" PRIu64, n->id, n->sm_applied, S.props_need);
			return 0;
		}
	}
	return 1;
}

/* check_liveness - at the end: a stable leader, and all caught up */
static void
check_liveness(void)
{
	char why[128];

	if (S.stable_at == 0) {
		fail("liveness: no stable leader %" PRIu64 " ms after healing",
		    S.now - S.chaos_end);
		return;
	}
	if (!caught_up(why, sizeof(why)))
		fail("liveness: %" PRIu64 " ms after the last proposal: %s",
		    S.now - S.last_prop, why);
}

/* ---- a run ---- */

static void
sim_setup(uint64_t seed)
{
	struct raft_config c;
	struct raft_entry e;
	struct buf b;
	int kind, k, nvoters;

	memset(&S, 0, sizeof(S));
	S.seed = seed;
	sim_rng = sim_mix(seed);
	kind = (int)rndn(100);
	if (kind < 10) {
		S.nslots = nvoters = 1;
	} else if (kind < 45) {
		S.nslots = nvoters = 3;
	} else if (kind < 75) {
		S.nslots = nvoters = 5;
	} else {
		S.nslots = 5;
		nvoters = kind < 90 ? 3 : 1;
		S.membership = 1;
	}
	S.election_ms = 100 + rndn(200);
	S.heartbeat_ms = S.election_ms / (4 + rndn(7));
	S.tick_ms = S.heartbeat_ms / 2 + 1;
	S.max_delay = 1 + rndn(S.election_ms / 5);
	S.loss = rndn(5) == 0 ? 0 : (unsigned)rndn(150);
	S.dup = (unsigned)rndn(60);
	S.crash_rate = (unsigned)rndn(1000);
	S.ready_crash = rndn(3) == 0 ? 0 : (unsigned)rndn(15);
	S.compact_gap = 3 + rndn(40);
	S.batch = rndn(2) ? 0 : (unsigned)rndn(900);
	S.fault_gap = 20 + S.election_ms * 3;
	if (rndn(100) < 40) {
		/*
		 * A storm: messages as late as an election timeout, crashes
		 * all the time, many terms competing (Figure 3.7 needs
		 * three), entries one at a time.
		 */
		S.max_delay = 1 + rndn(S.election_ms);
		S.crash_rate = 1000;
		S.ready_crash = (unsigned)rndn(40);
		S.fault_gap = 10 + S.election_ms;
		S.loss = 100 + (unsigned)rndn(300);
		S.storm = 1;
	}
	S.opts.election_ms = S.election_ms;
	S.opts.heartbeat_ms = S.heartbeat_ms;
	S.opts.max_inflight = 1 + rndn(8);
	S.opts.max_append_entries = rndn(3) == 0 ? 1 : 1 + rndn(16);
	S.opts.max_append_bytes = rndn(4) == 0 ? 8 : 64 + rndn(200);
	S.opts.prevote = (int)rndn(2);
	S.opts.check_quorum = rndn(4) != 0;
	/* A storm lasts long enough for dozens of terms to come and go. */
	S.chaos_end = S.storm ? 5000 + rndn(15000) : 1500 + rndn(4000);
	S.end = S.chaos_end + 60 * S.election_ms;
	S.next_fault = rndn(500);
	S.next_client = 0;

	memset(&c, 0, sizeof(c));
	for (k = 0; k < nvoters; k++)
		c.ids[c.n++] = (raft_id)(k + 1);
	buf_init(&b);
	raft_bootstrap_entry(&c, &b);
	memset(&e, 0, sizeof(e));
	e.index = 1;
	e.term = 1;
	e.type = RAFT_ENTRY_CONFIG;
	e.len = (uint32_t)buf_used(&b);
	e.data = buf_head(&b);
	for (k = 0; k < S.nslots; k++) {
		S.nodes[k].id = (raft_id)(k + 1);
		if (k < nvoters)
			disk_append(&S.nodes[k].disk, &e);
		node_start(&S.nodes[k]);
	}
	buf_free(&b);
	for (k = 0; k < S.nslots; k++)
		node_ready(&S.nodes[k]);
}

static void
sim_teardown(void)
{
	struct ev e;
	int k;

	for (k = 0; k < S.nslots; k++) {
		if (S.nodes[k].up)
			raft_free(&S.nodes[k].r);
		disk_free(&S.nodes[k].disk);
		free(S.nodes[k].hash_at);
	}
	while (S.nheap > 0) {
		heap_pop(&e);
		msg_free(&e.m);
	}
	free(S.heap);
	free(S.leader_of_term);
	free(S.chain);
	free(S.cterm);
	free(S.cmin);
	free(S.reg);
	free(S.props);
}

/* deliver - one event from the network */
static void
deliver(struct ev *e)
{
	struct node *n;

	if (e->type == EV_SNAPDONE) {
		n = &S.nodes[e->m.from - 1];
		if (!n->up || n->gen != e->gen)
			return;
		raft_snapshot_done(&n->r, e->m.to, e->ok);
		check_node(n);	/* what the step decided */
		node_ready(n);
		check_node(n);
		return;
	}
	n = &S.nodes[e->m.to - 1];
	if (!n->up)
		return;
	trace("%" PRIu64 "->%" PRIu64 " %s delivered", e->m.from, e->m.to,
	    msg_name(e->m.type));
	if (e->m.type == RAFT_MSG_SNAPSHOT) {
		if (n->npend_snap == 32) {
			fail("more snapshots than the simulation keeps");
			return;
		}
		n->pend_snap_index[n->npend_snap] = e->m.snap_index;
		n->pend_snap_hash[n->npend_snap++] = e->snap_hash;
	}
	raft_tick(&n->r, S.now);	/* as raft.h asks */
	raft_step(&n->r, &e->m);
	/*
	 * The adapter may step several messages before one update: then
	 * one update answers for all of them (stale acknowledgements).
	 */
	check_node(n);		/* what the step decided */
	if (!chance(S.batch))
		node_ready(n);
	check_node(n);
}

/* sim_run - one seeded run; 0 when every check held */
static int
sim_run(uint64_t seed)
{
	struct ev e;
	struct node *n, *l;
	uint64_t t;
	int k, who;

	sim_setup(seed);
	while (!S.failed && S.now < S.end) {
		/* The earliest event; ties go to the network first. */
		t = S.end;
		who = -1;
		if (S.nheap > 0)
			t = S.heap[0].at;
		for (k = 0; k < S.nslots; k++) {
			n = &S.nodes[k];
			if (n->up && n->crash_at && n->crash_at < t &&
			    n->crash_at <= n->next_tick) {
				t = n->crash_at;
				who = k;
			} else if (n->up && n->next_tick < t) {
				t = n->next_tick;
				who = k;
			} else if (!n->up && n->restart_at &&
			    n->restart_at < t) {
				t = n->restart_at;
				who = k;
			}
		}
		if (!S.healed && S.chaos_end <= t) {
			S.now = S.chaos_end;
			heal();
			continue;
		}
		if (!S.healed && S.next_fault < t) {
			t = S.next_fault;
			who = -2;
		}
		if (!S.healed && S.heal_part_at && S.heal_part_at < t) {
			t = S.heal_part_at;
			who = -3;
		}
		if (S.next_client < t) {
			t = S.next_client;
			who = -4;
		}
		if (t >= S.end)
			break;
		S.now = t;
		S.step++;
		S.nevents++;
		if (who == -1) {
			heap_pop(&e);
			deliver(&e);
			msg_free(&e.m);
		} else if (who >= 0 && S.nodes[who].up &&
		    S.nodes[who].crash_at == S.now) {
			trace("%" PRIu64 " crashes young", S.nodes[who].id);
			node_crash(&S.nodes[who]);
		} else if (who >= 0 && S.nodes[who].up) {
			n = &S.nodes[who];
			n->next_tick = S.now + S.tick_ms;
			raft_tick(&n->r, S.now);
			check_node(n);	/* what the step decided */
			node_ready(n);
			check_node(n);
		} else if (who >= 0) {
			node_start(&S.nodes[who]);
			check_node(&S.nodes[who]);	/* as decided */
			node_ready(&S.nodes[who]);
			check_node(&S.nodes[who]);
		} else if (who == -2) {
			fault();
			S.next_fault = S.now + 1 + rndn(S.fault_gap);
		} else if (who == -3) {
			heal_partitions();
			trace("partition healed");
		} else {
			client();
			S.next_client = S.now + 1 + rndn(30);
			if (S.healed && S.stable_at &&
			    S.now > S.stable_at + 10 * S.election_ms) {
				S.next_client = S.end;	/* let it settle */
				S.last_prop = S.now;
			}
		}
		if (S.healed && S.stable_at == 0 && (l = stable()) != NULL) {
			S.stable_at = S.now;
			trace("stable: %" PRIu64 " leads term %" PRIu64, l->id,
			    l->r.term);
			S.end = S.now + (10 + LIVE_CATCH_UP) * S.election_ms;
		}
		check_leases();
		if (S.step % 512 == 0)
			check_all_logs();
		/* Done once everything proposed since healing is in. */
		if (S.last_prop && S.step % 64 == 0 && !S.failed) {
			char why[128];

			if (caught_up(why, sizeof(why)))
				break;
		}
	}
	if (!S.failed)
		check_all_logs();
	if (!S.failed)
		check_liveness();
	if (S.failed)
		printf("seed %" PRIu64 " step %" PRIu64 " (t=%" PRIu64
		    "ms): %s\n"
		    "replay: RAFT_SEED=%" PRIu64 " RAFT_RUNS=1 "
		    "build/tests/test_raft_sim\n", S.seed, S.step, S.now, S.why,
		    S.seed);
	sim_teardown();
	return S.failed ? -1 : 0;
}

static uint64_t
env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 10) : def;
}

static void
test_simulation(void)
{
	uint64_t runs = env_u64("RAFT_RUNS", 2000);
	uint64_t seed = env_u64("RAFT_SEED", 1), i;
	uint64_t steps = 0, msgs = 0, elections = 0, nfail = 0;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < runs; i++) {
		if (sim_run(seed + i) < 0)
			nfail++;
		steps += S.nevents;
		msgs += S.nmsgs;
		elections += S.nelections;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%" PRIu64 " runs from seed %" PRIu64 ": %" PRIu64 " steps, %"
	    PRIu64 " messages, %" PRIu64 " leaders elected, %.1f s, %" PRIu64
	    " failed\n", runs, seed, steps, msgs, elections,
	    (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	    nfail);
	CHECK(nfail == 0);
}

int
main(void)
{
	sim_trace = env_u64("RAFT_TRACE", 0) != 0;
	log_init("test_raft_sim");
	log_set_level("warn");
	RUN(test_simulation);
	return TEST_DONE();
}
