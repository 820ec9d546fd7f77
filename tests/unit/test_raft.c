/*
 * test_raft.c - the Raft core's rules, one scenario each: vote granting
 * and log up-to-dateness (tables), commit only by counting replicas of
 * the current term (Figure 3.7), conflicting suffixes cut and reported
 * by persist_from, pre-vote, leader stickiness, check-quorum, snapshots
 * sent and installed, membership changes (and the leader removing
 * itself), ReadIndex and the lease, leadership transfer, the pipeline
 * window and batching, and the durability contract of the updates.
 *
 * The harness holds up to six cores, a FIFO network with cut links and a
 * filter, and the Ready loop; time moves only when a test says so.
 * test_raft_sim.c covers the same rules under random faults.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "raft.h"
#include "test.h"

#define NT	6
#define E_MS	100	/* election_ms in every test */

/* What the updates of one node said since the test last looked. */
struct obs {
	int			 hard_changed;
	uint64_t		 persist_from;	/* of the last update that cut */
	size_t			 nentries;
	uint64_t		 snap_index, snap_term;
	struct raft_config	 snap_config;
	uint64_t		 applied;
	struct raft_read	 reads[16];
	size_t			 nreads;
};

static struct raft T[NT + 1];
static int up[NT + 1];
static int cut[NT + 1][NT + 1];
static struct obs O[NT + 1];
static uint64_t now;
static struct raft_msg *q;
static size_t nq, capq;
/* messages the filter says 1 to are dropped on delivery */
static int (*tfilter)(const struct raft_msg *);

static struct raft_opts
topts(raft_id id)
{
	struct raft_opts o;

	memset(&o, 0, sizeof(o));
	o.id = id;
	o.election_ms = E_MS;
	o.heartbeat_ms = 10;
	o.max_append_entries = 64;
	o.max_append_bytes = 1 << 20;
	o.max_inflight = 8;
	o.check_quorum = 1;
	o.seed = 42;
	return o;
}

static void
msg_free(struct raft_msg *m)
{
	size_t i;

	for (i = 0; i < m->nentries; i++)
		free(m->entries[i].data);
	free(m->entries);
}

/* enqueue - a deep copy: the core's messages die at raft_advance */
static void
enqueue(const struct raft_msg *m)
{
	struct raft_msg *c;
	size_t i;

	if (nq == capq) {
		capq = capq ? capq * 2 : 64;
		if ((q = realloc(q, capq * sizeof(*q))) == NULL)
			abort();
	}
	c = &q[nq++];
	*c = *m;
	if (m->nentries == 0) {
		c->entries = NULL;
		return;
	}
	c->entries = calloc(m->nentries, sizeof(*c->entries));
	for (i = 0; i < m->nentries; i++) {
		c->entries[i] = m->entries[i];
		c->entries[i].data = malloc(m->entries[i].len + 1);
		if (m->entries[i].len)
			memcpy(c->entries[i].data, m->entries[i].data,
			    m->entries[i].len);
	}
}

static void
clear_q(void)
{
	size_t i;

	for (i = 0; i < nq; i++)
		msg_free(&q[i]);
	nq = 0;
}

/* drain - the adapter's loop for node id, noting what it was told */
static void
drain(raft_id id)
{
	struct raft_update u;
	struct obs *o = &O[id];
	size_t i;

	while (up[id] && raft_has_ready(&T[id])) {
		raft_ready(&T[id], &u);
		o->hard_changed |= u.hard_changed;
		if (u.persist_from) {
			o->persist_from = u.persist_from;
			o->nentries = u.nentries;
		}
		if (u.snap_index) {
			o->snap_index = u.snap_index;
			o->snap_term = u.snap_term;
			o->snap_config = u.snap_config;
		}
		for (i = 0; i < u.nmsgs; i++)
			enqueue(&u.msgs[i]);
		if (u.ncommitted)
			o->applied = u.committed[u.ncommitted - 1].index;
		for (i = 0; i < u.nreads && o->nreads < 16; i++)
			o->reads[o->nreads++] = u.reads[i];
		raft_advance(&T[id], &u);
	}
}

static void
obs_reset(raft_id id)
{
	memset(&O[id], 0, sizeof(O[id]));
}

/* deliver_at - message i, unless its link is cut or the filter says no */
static void
deliver_at(size_t i)
{
	struct raft_msg m;

	m = q[i];
	memmove(q + i, q + i + 1, (--nq - i) * sizeof(*q));
	if (m.to <= NT && up[m.to] && !cut[m.from][m.to] &&
	    (tfilter == NULL || !tfilter(&m))) {
		raft_step(&T[m.to], &m);
		drain(m.to);
	}
	msg_free(&m);
}

/* deliver_one - the oldest message; 0 if there is none */
static int
deliver_one(void)
{
	if (nq == 0)
		return 0;
	deliver_at(0);
	return 1;
}

/* settle - deliver until the network is empty (time stands still) */
static void
settle(void)
{
	int n = 0;

	while (deliver_one() && n++ < 100000)
		;
}

/* count - messages of a type (0: any) from -> to (0: anyone) queued */
static size_t
count(enum raft_msg_type type, raft_id from, raft_id to)
{
	size_t i, n = 0;

	for (i = 0; i < nq; i++)
		if ((type == 0 || q[i].type == type) &&
		    (from == 0 || q[i].from == from) &&
		    (to == 0 || q[i].to == to))
			n++;
	return n;
}

/* find - the first such queued message, or NULL */
static struct raft_msg *
find(enum raft_msg_type type, raft_id from, raft_id to)
{
	size_t i;

	for (i = 0; i < nq; i++)
		if (q[i].type == type && (from == 0 || q[i].from == from) &&
		    (to == 0 || q[i].to == to))
			return &q[i];
	return NULL;
}

static void
tick(raft_id id, uint64_t t)
{
	raft_tick(&T[id], t);
	drain(id);
}

/* run_for - time passes in 5 ms ticks, messages flow between ticks */
static void
run_for(uint64_t ms)
{
	uint64_t end = now + ms;
	raft_id i;

	while (now < end) {
		now += 5;
		for (i = 1; i <= NT; i++)
			if (up[i])
				tick(i, now);
		settle();
	}
}

static void
cut_both(raft_id a, raft_id b, int on)
{
	cut[a][b] = cut[b][a] = on;
}

static void
isolate(raft_id a, int on)
{
	raft_id b;

	for (b = 1; b <= NT; b++)
		if (b != a)
			cut_both(a, b, on);
}

/*
 * tinit - node id from a log given by its terms (index 1 holds the
 * configuration c, the others "e<index>"), with hard state term, vote
 */
static void
tinit_opts(const struct raft_opts *o, uint64_t term, raft_id vote,
    const struct raft_config *c, const uint64_t *terms, size_t n)
{
	struct raft_entry e[32];
	char data[32][24];
	struct buf cfg;
	size_t i;

	buf_init(&cfg);
	raft_config_encode(c, &cfg);
	for (i = 0; i < n; i++) {
		e[i].index = i + 1;
		e[i].term = terms[i];
		if (i == 0) {
			e[i].type = RAFT_ENTRY_CONFIG;
			e[i].data = buf_head(&cfg);
			e[i].len = (uint32_t)buf_used(&cfg);
		} else {
			e[i].type = RAFT_ENTRY_NORMAL;
			snprintf(data[i], sizeof(data[i]), "e%zu", i + 1);
			e[i].data = (unsigned char *)data[i];
			e[i].len = (uint32_t)strlen(data[i]);
		}
	}
	if (up[o->id])
		raft_free(&T[o->id]);
	CHECK(raft_init(&T[o->id], o, term, vote, 0, 0, NULL, e, n, now) == 0);
	buf_free(&cfg);
	up[o->id] = 1;
	obs_reset(o->id);
	drain(o->id);
}

static void
tinit(raft_id id, uint64_t term, raft_id vote, const struct raft_config *c,
    const uint64_t *terms, size_t n)
{
	struct raft_opts o = topts(id);

	tinit_opts(&o, term, vote, c, terms, n);
}

static struct raft_config
cfg(size_t n)
{
	struct raft_config c;
	size_t i;

	memset(&c, 0, sizeof(c));
	for (i = 0; i < n; i++)
		c.ids[c.n++] = i + 1;
	return c;
}

/* reset - nothing up, nothing in flight, time zero */
static void
reset(void)
{
	raft_id i;

	for (i = 1; i <= NT; i++) {
		if (up[i])
			raft_free(&T[i]);
		up[i] = 0;
		obs_reset(i);
	}
	clear_q();
	memset(cut, 0, sizeof(cut));
	tfilter = NULL;
	now = 0;
}

/*
 * tboot - a new cluster of nvoters (the bootstrap entry at index 1) and
 * nextra empty servers after them, all with these options
 */
static void
tboot(size_t nvoters, size_t nextra, int prevote, int check_quorum)
{
	struct raft_config c = cfg(nvoters);
	struct raft_opts o;
	uint64_t one = 1;
	size_t i;

	reset();
	for (i = 1; i <= nvoters + nextra; i++) {
		o = topts(i);
		o.prevote = prevote;
		o.check_quorum = check_quorum;
		if (i <= nvoters)
			tinit_opts(&o, 0, RAFT_NONE, &c, &one, 1);
		else
			tinit_opts(&o, 0, RAFT_NONE, &c, &one, 0);
	}
}

static int
is_vote(const struct raft_msg *m)
{
	return m->type == RAFT_MSG_PREVOTE || m->type == RAFT_MSG_VOTE ||
	    m->type == RAFT_MSG_PREVOTE_RESP || m->type == RAFT_MSG_VOTE_RESP;
}

/* settle_votes - deliver the election, leave the rest queued */
static void
settle_votes(void)
{
	size_t i;

	for (;;) {
		for (i = 0; i < nq && !is_vote(&q[i]); i++)
			;
		if (i == nq)
			return;
		deliver_at(i);
	}
}

/*
 * elect_votes - id campaigns and wins; only election messages are
 * delivered. The others are first brought past the stickiness every
 * server has for an election timeout after it starts, without reaching
 * their own election deadlines.
 */
static void
elect_votes(raft_id id)
{
	uint64_t t = now > E_MS ? now : E_MS;
	raft_id o;

	for (o = 1; o <= NT; o++)
		if (up[o] && o != id && T[o].now < t &&
		    t < T[o].election_deadline)
			tick(o, t);
	if (now < T[id].election_deadline)
		now = T[id].election_deadline;
	if (now < t)
		now = t;
	tick(id, now);
	settle_votes();
	CHECK(T[id].role == RAFT_LEADER);
}

static void
elect(raft_id id)
{
	elect_votes(id);
	settle();
}

/* ---- configuration entries ---- */

static void
test_config_codec(void)
{
	struct raft_config c = cfg(3), d;
	struct buf b;
	size_t cut_at;

	buf_init(&b);
	raft_config_encode(&c, &b);
	CHECK(buf_used(&b) == 4 + 3 * 8);
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) == 0);
	CHECK(d.n == 3 && d.ids[0] == 1 && d.ids[2] == 3);
	CHECK(raft_config_has(&d, 2) && !raft_config_has(&d, 4));
	/* Every cut is refused. */
	for (cut_at = 0; cut_at < buf_used(&b); cut_at++)
		CHECK(raft_config_decode(buf_head(&b), cut_at, &d) < 0);
	/* Bytes after the ids are the caller's (addresses). */
	buf_append(&b, "x", 1);
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) == 0 &&
	    d.n == 3);
	/* A count beyond the data, or beyond RAFT_MAX_NODES. */
	buf_head(&b)[3] = 4;
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) < 0);
	buf_head(&b)[3] = 3;
	buf_head(&b)[0] = 0x80;
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) < 0);
	buf_head(&b)[0] = 0;
	/* A repeated id, and id 0. */
	buf_head(&b)[4 + 8 + 7] = 1;
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) < 0);
	buf_head(&b)[4 + 8 + 7] = 0;
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) < 0);
	CHECK(raft_config_decode(NULL, 0, &d) < 0);
	buf_free(&b);
	/* The bootstrap entry is an encoded configuration. */
	buf_init(&b);
	raft_bootstrap_entry(&c, &b);
	CHECK(raft_config_decode(buf_head(&b), buf_used(&b), &d) == 0 &&
	    d.n == 3);
	buf_free(&b);
}

/* ---- votes ---- */

/*
 * The voter is server 2 with log terms [1, 1, 2] (last entry 3/2) in
 * term 3. It is outside its own configuration so it never campaigns
 * itself; that does not change how it votes.
 */
static const struct {
	const char	*name;
	raft_id		 vote;
	int		 sticky;	/* heard from leader 1 in term 3 */
	enum raft_msg_type type;
	uint64_t	 mterm, mlast_index, mlast_term;
	int		 transfer;
	int		 answered, grant;
	uint64_t	 resp_term, term_after;
	raft_id		 vote_after;
} vote_rows[] = {
	{ "same log, newer term", 0, 0, RAFT_MSG_VOTE, 4, 3, 2, 0,
	  1, 1, 4, 4, 3 },
	{ "shorter log, same last term", 0, 0, RAFT_MSG_VOTE, 4, 2, 2, 0,
	  1, 0, 4, 4, 0 },
	{ "longer log, older last term", 0, 0, RAFT_MSG_VOTE, 4, 5, 1, 0,
	  1, 0, 4, 4, 0 },
	{ "shorter log, newer last term", 0, 0, RAFT_MSG_VOTE, 4, 2, 3, 0,
	  1, 1, 4, 4, 3 },
	{ "voted for another this term", 1, 0, RAFT_MSG_VOTE, 3, 3, 2, 0,
	  1, 0, 3, 3, 1 },
	{ "voted for it this term", 3, 0, RAFT_MSG_VOTE, 3, 3, 2, 0,
	  1, 1, 3, 3, 3 },
	{ "stale term", 0, 0, RAFT_MSG_VOTE, 2, 9, 9, 0,
	  1, 0, 3, 3, 0 },
	{ "knows a leader this term", 0, 1, RAFT_MSG_VOTE, 3, 9, 9, 0,
	  1, 0, 3, 3, 0 },
	{ "sticky: newer term ignored", 0, 1, RAFT_MSG_VOTE, 4, 3, 2, 0,
	  0, 0, 0, 3, 0 },
	{ "sticky but a transfer", 0, 1, RAFT_MSG_VOTE, 4, 3, 2, 1,
	  1, 1, 4, 4, 3 },
	{ "prevote granted, term kept", 1, 0, RAFT_MSG_PREVOTE, 4, 3, 2, 0,
	  1, 1, 4, 3, 1 },
	{ "prevote, log behind", 0, 0, RAFT_MSG_PREVOTE, 4, 2, 2, 0,
	  1, 0, 3, 3, 0 },
	{ "prevote while sticky", 0, 1, RAFT_MSG_PREVOTE, 4, 3, 2, 0,
	  1, 0, 3, 3, 0 },
	{ "prevote for our own term", 0, 0, RAFT_MSG_PREVOTE, 3, 3, 2, 0,
	  1, 0, 3, 3, 0 },
	{ "prevote far ahead, term kept", 0, 0, RAFT_MSG_PREVOTE, 40, 3, 2, 0,
	  1, 1, 40, 3, 0 },
};

static void
test_vote_matrix(void)
{
	struct raft_config c;
	struct raft_msg m, *r;
	uint64_t terms[] = { 1, 1, 2 };
	size_t i;

	memset(&c, 0, sizeof(c));
	c.ids[c.n++] = 1;
	c.ids[c.n++] = 3;
	for (i = 0; i < sizeof(vote_rows) / sizeof(vote_rows[0]); i++) {
		reset();
		now = 1000;
		tinit(2, 3, vote_rows[i].vote, &c, terms, 3);
		now = 2000;
		tick(2, now);
		CHECK(T[2].role == RAFT_FOLLOWER && nq == 0);
		if (vote_rows[i].sticky) {
			memset(&m, 0, sizeof(m));
			m.type = RAFT_MSG_APPEND;
			m.from = 1;
			m.to = 2;
			m.term = 3;
			raft_step(&T[2], &m);
			drain(2);
			clear_q();
		}
		obs_reset(2);
		memset(&m, 0, sizeof(m));
		m.type = vote_rows[i].type;
		m.from = 3;
		m.to = 2;
		m.term = vote_rows[i].mterm;
		m.last_index = vote_rows[i].mlast_index;
		m.last_term = vote_rows[i].mlast_term;
		m.ctx = vote_rows[i].transfer;
		raft_step(&T[2], &m);
		drain(2);
		r = find(vote_rows[i].type + 1, 2, 3);
		if ((r != NULL) != vote_rows[i].answered ||
		    (r && r->reject == vote_rows[i].grant) ||
		    (r && r->term != vote_rows[i].resp_term) ||
		    T[2].term != vote_rows[i].term_after ||
		    T[2].vote != vote_rows[i].vote_after) {
			fprintf(stderr, "vote row \"%s\": answered %d grant %d "
			    "resp term %" PRIu64 ", term %" PRIu64 " vote %"
			    PRIu64 "\n", vote_rows[i].name, r != NULL,
			    r ? !r->reject : -1, r ? r->term : 0, T[2].term,
			    T[2].vote);
			CHECK(0);
		}
		/* A vote (or a new term) changes the hard state. */
		CHECK(O[2].hard_changed == (vote_rows[i].term_after != 3 ||
		    vote_rows[i].vote_after != vote_rows[i].vote));
		clear_q();
	}
	reset();
}

/* Is the candidate's log at least as up to date (5.4.1)? */
static const struct {
	uint64_t	 terms[5];
	size_t		 n;
	uint64_t	 last_index, last_term;
	int		 grant;
} uptodate_rows[] = {
	{ { 1, 1, 1 }, 3, 3, 1, 1 },	/* the same */
	{ { 1, 1, 1 }, 3, 2, 1, 0 },	/* shorter */
	{ { 1, 1, 1 }, 3, 4, 1, 1 },	/* longer */
	{ { 1, 1, 1 }, 3, 1, 2, 1 },	/* shorter, newer term */
	{ { 1, 2, 2 }, 3, 10, 1, 0 },	/* longer, older term */
	{ { 1, 2, 2 }, 3, 3, 2, 1 },
	{ { 1, 2, 2 }, 3, 2, 3, 1 },
	{ { 1 }, 1, 0, 0, 0 },		/* an empty log */
	{ { 1 }, 1, 1, 1, 1 },
	{ { 1, 1, 3, 3, 5 }, 5, 9, 4, 0 },
	{ { 1, 1, 3, 3, 5 }, 5, 5, 5, 1 },
};

static void
test_log_uptodate(void)
{
	struct raft_config c;
	struct raft_msg m, *r;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.ids[c.n++] = 1;
	for (i = 0; i < sizeof(uptodate_rows) / sizeof(uptodate_rows[0]);
	    i++) {
		reset();
		tinit(2, 5, RAFT_NONE, &c, uptodate_rows[i].terms,
		    uptodate_rows[i].n);
		now = 500;
		tick(2, now);
		memset(&m, 0, sizeof(m));
		m.type = RAFT_MSG_VOTE;
		m.from = 3;
		m.to = 2;
		m.term = 6;
		m.last_index = uptodate_rows[i].last_index;
		m.last_term = uptodate_rows[i].last_term;
		raft_step(&T[2], &m);
		drain(2);
		r = find(RAFT_MSG_VOTE_RESP, 2, 3);
		CHECK(r != NULL && (!r->reject) == uptodate_rows[i].grant);
		if (r == NULL || (!r->reject) != uptodate_rows[i].grant)
			fprintf(stderr, "up-to-date row %zu\n", i);
		clear_q();
	}
	reset();
}

/* ---- elections ---- */

static void
test_election(void)
{
	struct raft r;
	struct raft_opts o = topts(1);
	uint64_t seen[2] = { 0, 0 }, d, t;
	raft_id i;
	size_t n;

	/* Randomized timeouts within [election_ms, 2 * election_ms). */
	for (o.seed = 1; o.seed <= 300; o.seed++) {
		CHECK(raft_init(&r, &o, 0, 0, 0, 0, NULL, NULL, 0, 1000) == 0);
		d = r.election_deadline - 1000;
		CHECK(d >= E_MS && d < 2 * E_MS);
		seen[d < E_MS * 3 / 2]++;
		raft_free(&r);
	}
	CHECK(seen[0] > 50 && seen[1] > 50);

	tboot(3, 0, 0, 1);
	/* The bootstrap entry's term is the floor (reported on start). */
	CHECK(T[1].term == 1 && O[1].hard_changed);
	elect(1);
	CHECK(T[1].term == 2 && T[1].vote == 1 && T[1].leader == 1);
	/* A new leader's first entry is a no-op of its term (5.4.2). */
	CHECK(raft_last_index(&T[1]) == 2 && T[1].log[1].type ==
	    RAFT_ENTRY_NOOP && T[1].log[1].term == 2);
	for (i = 1; i <= 3; i++) {
		CHECK(T[i].commit == 2 && O[i].applied == 2);
		CHECK(T[i].leader == 1 && T[i].term == 2);
	}
	/* Heartbeats every heartbeat_ms, to each follower. */
	isolate(1, 1);
	for (n = 0, t = now + 1; t <= now + 50; t++) {
		tick(1, t);
		n += count(RAFT_MSG_APPEND, 1, 2);
		clear_q();
	}
	now += 50;
	CHECK(n == 5);
	/* Followers that stop hearing campaign after their timeout. */
	isolate(1, 1);
	run_for(3 * E_MS);
	CHECK(T[2].role == RAFT_LEADER || T[3].role == RAFT_LEADER);
	CHECK(T[2].term > 2 && T[2].term == T[3].term);
	reset();
}

/* A single voter commits once its own entry is on disk. */
static void
test_single_voter(void)
{
	struct raft_update u;
	uint64_t idx;

	tboot(1, 0, 1, 1);
	now = T[1].election_deadline;
	raft_tick(&T[1], now);
	CHECK(T[1].role == RAFT_LEADER && T[1].term == 2);
	CHECK(raft_has_ready(&T[1]));
	raft_ready(&T[1], &u);
	CHECK(u.hard_changed && u.term == 2 && u.vote == 1);
	CHECK(u.persist_from == 2 && u.nentries == 1 && u.ncommitted == 0);
	CHECK(T[1].commit < 2);
	raft_advance(&T[1], &u);
	CHECK(T[1].commit == 2 && raft_has_ready(&T[1]));
	raft_ready(&T[1], &u);
	CHECK(u.ncommitted == 2 && u.committed[1].type == RAFT_ENTRY_NOOP);
	raft_advance(&T[1], &u);
	idx = raft_propose(&T[1], RAFT_ENTRY_NORMAL, "x", 1);
	CHECK(idx == 3 && T[1].commit == 2);
	drain(1);
	CHECK(T[1].commit == 3 && O[1].applied == 3);
	reset();
}

/*
 * Figure 3.7: S1 leads term 4 and copies its entry 2 of term 2 to a
 * majority; that must not commit it, since S5 (entry 2 of term 3) can
 * still be elected and overwrite it. Only an entry of term 4 on a
 * majority commits, and everything before it with it.
 */
static int
no_term4(const struct raft_msg *m)
{
	size_t i;

	/* The first probe (refused by S3, S4: they lack 2) may pass. */
	if (raft_last_index(&T[m->to]) < 2)
		return 0;
	for (i = 0; i < m->nentries; i++)
		if (m->entries[i].term == 4)
			return 1;
	return 0;
}

static void
fig37_setup(void)
{
	struct raft_config c = cfg(5);
	struct raft_opts o = topts(1);
	uint64_t s1[] = { 1, 2 }, s3[] = { 1 }, s5[] = { 1, 3 };
	raft_id i;

	reset();
	o.max_append_entries = 1;
	tinit_opts(&o, 3, RAFT_NONE, &c, s1, 2);
	tinit(2, 3, RAFT_NONE, &c, s1, 2);
	tinit(3, 3, RAFT_NONE, &c, s3, 1);
	tinit(4, 3, RAFT_NONE, &c, s3, 1);
	tinit(5, 3, RAFT_NONE, &c, s5, 2);
	/* S1 wins term 4 with S3 and S4; S2 and S5 hear nothing. */
	for (i = 2; i <= 5; i++)
		if (i == 2 || i == 5)
			cut_both(1, i, 1);
	elect_votes(1);
	CHECK(T[1].term == 4);
}

static void
test_commit_current_term(void)
{
	uint64_t t;

	fig37_setup();
	tfilter = no_term4;
	settle();
	tfilter = NULL;
	CHECK(T[3].log[1].term == 2 && T[4].log[1].term == 2);
	CHECK(T[1].commit == 0);	/* 3 of 5 hold 2/2: not enough */
	/*
	 * Why: with S1 down, S5 can still win (its 2/3 beats 2/2) and
	 * overwrite 2. S2-S4 cannot reach each other here, so only S5
	 * can gather a majority.
	 */
	raft_free(&T[1]);
	up[1] = 0;
	cut_both(2, 3, 1);
	cut_both(2, 4, 1);
	cut_both(3, 4, 1);
	run_for(20 * E_MS);
	CHECK(T[5].role == RAFT_LEADER && T[5].term >= 5);
	CHECK(raft_term_at(&T[3], 2, &t) == 0 && t == 3);
	CHECK(raft_term_at(&T[4], 2, &t) == 0 && t == 3);

	/* When the no-op of term 4 reaches S3 and S4, 3 commits, and 2. */
	fig37_setup();
	settle();
	CHECK(T[1].commit == 3);
	CHECK(raft_term_at(&T[1], 2, &t) == 0 && t == 2);
	reset();
}

/* ---- the follower's log ---- */

/* append - an APPEND from `from` in term with entries of these terms */
static void
append(raft_id to, raft_id from, uint64_t term, uint64_t prev_index,
    uint64_t prev_term, uint64_t commit, const uint64_t *terms, size_t n)
{
	struct raft_entry e[8];
	struct raft_msg m;
	size_t i;

	memset(&m, 0, sizeof(m));
	memset(e, 0, sizeof(e));
	m.type = RAFT_MSG_APPEND;
	m.from = from;
	m.to = to;
	m.term = term;
	m.prev_index = prev_index;
	m.prev_term = prev_term;
	m.commit = commit;
	for (i = 0; i < n; i++) {
		e[i].index = prev_index + 1 + i;
		e[i].term = terms[i];
		e[i].data = (unsigned char *)"new";
		e[i].len = 3;
	}
	m.entries = n ? e : NULL;
	m.nentries = n;
	raft_step(&T[to], &m);
}

static void
test_truncate(void)
{
	struct raft_config c = cfg(5);
	uint64_t log4[] = { 1, 1, 2, 2 }, t3[] = { 3, 3, 3 }, t;
	uint64_t t4[] = { 4 };
	struct raft_msg *r;

	reset();
	now = 1000;
	tinit(2, 2, RAFT_NONE, &c, log4, 4);
	/* A prev whose term differs: refused, hint skips all of term 2. */
	append(2, 1, 3, 4, 3, 0, NULL, 0);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(r && r->reject && r->index == 4 && r->hint == 2 && r->term == 3);
	clear_q();
	/* A prev beyond the log: hint is the last index. */
	append(2, 1, 3, 6, 3, 0, NULL, 0);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(r && r->reject && r->index == 6 && r->hint == 4);
	clear_q();
	/* Entries 3.. of term 3 replace 3-4 of term 2: cut at 3. */
	obs_reset(2);
	append(2, 1, 3, 2, 1, 0, t3, 3);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(r && !r->reject && r->index == 5 && r->hint == 0);
	CHECK(O[2].persist_from == 3 && O[2].nentries == 3);
	CHECK(raft_last_index(&T[2]) == 5 && raft_last_term(&T[2]) == 3);
	clear_q();
	/* Entries it already has are not a conflict: nothing cut. */
	obs_reset(2);
	append(2, 1, 3, 2, 1, 0, t3, 1);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(r && !r->reject && r->index == 3);
	CHECK(O[2].persist_from == 0 && raft_last_index(&T[2]) == 5);
	clear_q();
	/* The commit is the leader's, bounded by the last new entry. */
	append(2, 1, 3, 3, 3, 9, NULL, 0);
	drain(2);
	CHECK(T[2].commit == 3 && O[2].applied == 3);
	append(2, 1, 3, 5, 3, 9, NULL, 0);
	drain(2);
	CHECK(T[2].commit == 5 && O[2].applied == 5);
	r = &q[nq - 1];
	CHECK(r->type == RAFT_MSG_APPEND_RESP && r->hint == 5);
	/* Below the commit: the entries are known to match. */
	clear_q();
	append(2, 1, 3, 0, 0, 5, t3, 1);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(r && !r->reject && r->index == 5);
	clear_q();

	/*
	 * Two leaders' appends before one update: the acknowledgement of
	 * 3-4 to the old leader must not leave, since the cut at 3 for
	 * the new one means the disk will not hold them.
	 */
	tinit(2, 2, RAFT_NONE, &c, log4, 2);
	obs_reset(2);
	append(2, 1, 3, 2, 1, 0, t3, 2);
	append(2, 5, 4, 2, 1, 0, t4, 1);
	drain(2);
	CHECK(O[2].persist_from == 3 && O[2].nentries == 1);
	CHECK(raft_term_at(&T[2], 3, &t) == 0 && t == 4);
	CHECK(raft_last_index(&T[2]) == 3);
	CHECK(find(RAFT_MSG_APPEND_RESP, 2, 1) == NULL);
	r = find(RAFT_MSG_APPEND_RESP, 2, 5);
	CHECK(r && !r->reject && r->index == 3);
	reset();
}

/* ---- pre-vote, stickiness, check-quorum ---- */

static void
test_prevote(void)
{
	raft_id i;

	tboot(3, 0, 1, 1);
	elect(1);
	run_for(50);
	/* Cut off, 3 polls again and again but never moves its term. */
	isolate(3, 1);
	run_for(10 * E_MS);
	CHECK(T[3].term == 2 && T[3].role == RAFT_PRECANDIDATE);
	/* Back: no disruption, the leader stays, 3 follows it. */
	isolate(3, 0);
	run_for(3 * E_MS);
	for (i = 1; i <= 3; i++)
		CHECK(T[i].term == 2 && T[i].leader == 1);
	CHECK(T[1].role == RAFT_LEADER && T[3].role == RAFT_FOLLOWER);
	reset();
}

static size_t votes_from_3, answers_to_3;

static int
watch_3(const struct raft_msg *m)
{
	votes_from_3 += m->type == RAFT_MSG_VOTE && m->from == 3;
	answers_to_3 += m->type == RAFT_MSG_VOTE_RESP && m->to == 3;
	return 0;
}

static void
test_stickiness(void)
{
	struct raft_msg m, *v;
	uint64_t log2[] = { 1, 2 };
	struct raft_config c = cfg(3);

	/* No pre-vote: cut off, 3 raises its term campaigning. */
	tboot(3, 0, 0, 1);
	elect(1);
	run_for(50);
	isolate(3, 1);
	run_for(5 * E_MS);
	CHECK(T[3].term > 3 && T[3].role == RAFT_CANDIDATE);
	/* Its VOTEs now reach 1 and 2, who hear from 1 all along. */
	cut[3][1] = cut[3][2] = 0;
	votes_from_3 = answers_to_3 = 0;
	tfilter = watch_3;
	run_for(3 * E_MS);
	tfilter = NULL;
	CHECK(votes_from_3 >= 2 && answers_to_3 == 0);
	CHECK(T[1].role == RAFT_LEADER && T[1].term == 2);
	CHECK(T[2].term == 2 && T[2].leader == 1);

	/*
	 * A server that restarts refuses votes for an election timeout:
	 * it may have acknowledged a leader just before (whose lease
	 * counts on it).
	 */
	reset();
	now = 1000;
	tinit(2, 2, RAFT_NONE, &c, log2, 2);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_VOTE;
	m.from = 3;
	m.to = 2;
	m.term = 3;
	m.last_index = 2;
	m.last_term = 2;
	raft_step(&T[2], &m);
	drain(2);
	CHECK(nq == 0 && T[2].term == 2);
	tick(2, now + E_MS);
	raft_step(&T[2], &m);
	drain(2);
	v = find(RAFT_MSG_VOTE_RESP, 2, 3);
	CHECK(v && !v->reject && T[2].term == 3 && T[2].vote == 3);
	reset();
}

static void
test_check_quorum(void)
{
	/* Cut off from both followers, the leader steps down. */
	tboot(3, 0, 0, 1);
	elect(1);
	isolate(1, 1);
	run_for(E_MS / 2);
	CHECK(T[1].role == RAFT_LEADER);
	run_for(2 * E_MS);
	CHECK(T[1].role == RAFT_FOLLOWER && T[1].leader == RAFT_NONE);
	CHECK(T[1].term == 2);		/* stepping down is not a new term */
	/* One follower is enough for a majority of three. */
	tboot(3, 0, 0, 1);
	elect(1);
	cut_both(1, 3, 1);
	run_for(4 * E_MS);
	CHECK(T[1].role == RAFT_LEADER && T[1].term == 2);
	/* Without check-quorum it stays. */
	tboot(3, 0, 0, 0);
	elect(1);
	isolate(1, 1);
	run_for(5 * E_MS);
	CHECK(T[1].role == RAFT_LEADER);
	reset();
}

/* ---- snapshots ---- */

/* The adapter holds a SNAPSHOT while it sends the data beside it. */
static struct raft_msg held;
static size_t nheld, entries_to_3;

static int
hold_snapshots(const struct raft_msg *m)
{
	if (m->type == RAFT_MSG_SNAPSHOT) {
		held = *m;
		nheld++;
		return 1;
	}
	if (m->type == RAFT_MSG_APPEND && m->to == 3 && m->nentries > 0)
		entries_to_3++;
	return 0;
}

static void
test_snapshot(void)
{
	struct raft_msg snap, *r;
	struct raft_config c = cfg(3);
	uint64_t log5[] = { 1, 1, 2, 2, 2 }, t;
	size_t i;
	char d[24];

	tboot(3, 0, 0, 1);
	elect(1);
	isolate(3, 1);
	for (i = 0; i < 10; i++) {
		snprintf(d, sizeof(d), "x%zu", i);
		CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, d, strlen(d)) ==
		    3 + i);
	}
	drain(1);
	settle();
	CHECK(T[1].commit == 12 && T[1].applied == 12);
	CHECK(raft_compact(&T[1], 13) < 0);	/* not applied */
	CHECK(raft_compact(&T[1], 10) == 0);
	CHECK(T[1].snap_index == 10 && T[1].snap_term == 2);
	CHECK(T[1].snap_config.n == 3 && T[1].config_index == 0);
	CHECK(raft_term_at(&T[1], 9, &t) < 0 && raft_term_at(&T[1], 10, &t) ==
	    0 && t == 2 && raft_last_index(&T[1]) == 12);
	/* 3 returns 8 entries behind the compacted log: a snapshot. */
	isolate(3, 0);
	nheld = 0;
	tfilter = hold_snapshots;
	run_for(30);
	CHECK(nheld == 1);
	CHECK(held.from == 1 && held.to == 3 && held.snap_index == 10 &&
	    held.snap_term == 2 && held.snap_config.n == 3);
	snap = held;
	/* While it is sent, 3 gets heartbeats but no entries. */
	entries_to_3 = 0;
	run_for(50);
	tfilter = NULL;
	CHECK(nheld == 1 && entries_to_3 == 0);
	CHECK(T[1].prs[1].id == 3 && T[1].prs[1].snapshotting);
	CHECK(T[3].commit == 2 && T[3].leader == 1);
	obs_reset(3);
	raft_step(&T[3], &snap);
	drain(3);
	CHECK(O[3].snap_index == 10 && O[3].snap_term == 2 &&
	    O[3].snap_config.n == 3);
	/* Its log (2 of term 2) lacks entry 10: all dropped, cut at 11. */
	CHECK(O[3].persist_from == 11 && O[3].nentries == 0);
	CHECK(T[3].commit == 10 && T[3].applied == 10 && O[3].applied == 0);
	r = find(RAFT_MSG_APPEND_RESP, 3, 1);
	CHECK(r && !r->reject && r->index == 10);
	raft_snapshot_done(&T[1], 3, 1);
	drain(1);
	settle();
	run_for(30);
	CHECK(T[3].commit == 12 && O[3].applied == 12 &&
	    raft_last_index(&T[3]) == 12);

	/* A follower holding the snapshot's last entry keeps what follows. */
	reset();
	now = 1000;
	tinit(2, 2, RAFT_NONE, &c, log5, 5);
	memset(&snap, 0, sizeof(snap));
	snap.type = RAFT_MSG_SNAPSHOT;
	snap.from = 1;
	snap.to = 2;
	snap.term = 2;
	snap.snap_index = 3;
	snap.snap_term = 2;
	snap.snap_config = c;
	obs_reset(2);
	raft_step(&T[2], &snap);
	drain(2);
	CHECK(O[2].snap_index == 3 && O[2].persist_from == 0);
	CHECK(T[2].snap_index == 3 && raft_last_index(&T[2]) == 5);
	CHECK(T[2].commit == 3);
	clear_q();
	/* One at or below the commit is only acknowledged. */
	obs_reset(2);
	snap.snap_index = 2;
	raft_step(&T[2], &snap);
	drain(2);
	r = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(O[2].snap_index == 0 && r && r->index == 3 && !r->reject);
	clear_q();
	/* The same index in another term: the whole log goes. */
	tinit(2, 3, RAFT_NONE, &c, log5, 5);
	obs_reset(2);
	snap.term = 3;
	snap.snap_index = 4;
	snap.snap_term = 3;
	raft_step(&T[2], &snap);
	drain(2);
	CHECK(O[2].snap_index == 4 && O[2].persist_from == 5);
	CHECK(raft_last_index(&T[2]) == 4 && T[2].nlog == 0);
	reset();
}

/* ---- membership ---- */

static void
test_membership(void)
{
	struct raft_config c = cfg(3);
	uint64_t idx, t, one[] = { 1 }, three[] = { 3 };
	int campaigned = 0;
	raft_id i;

	tboot(3, 1, 1, 1);
	/* 4 is in no configuration: it never campaigns. */
	run_for(5 * E_MS);
	CHECK(T[4].role == RAFT_FOLLOWER && T[4].term == 0);
	reset();

	tboot(3, 1, 1, 1);
	elect_votes(1);
	/* Not before an entry of its term is committed. */
	CHECK(raft_change(&T[1], 4, 1) == 0);
	settle();
	CHECK(raft_change(&T[2], 4, 1) == 0);		/* not the leader */
	CHECK(raft_change(&T[1], 2, 1) == 0);		/* already in */
	CHECK(raft_change(&T[1], 9, 0) == 0);		/* not in */
	idx = raft_change(&T[1], 4, 1);
	CHECK(idx == 3);
	/* In force as soon as it is in the log. */
	CHECK(T[1].config.n == 4 && T[1].config_index == 3);
	CHECK(T[1].nprs == 3);
	/* One at a time. */
	CHECK(raft_change(&T[1], 2, 0) == 0);
	drain(1);
	settle();
	run_for(20);
	CHECK(T[1].commit >= 3 && T[4].config.n == 4 && T[4].commit >= 3);
	CHECK(raft_term_at(&T[4], 1, &t) == 0 && t == 1);
	/* Remove 2, then the leader itself. */
	CHECK(raft_change(&T[1], 2, 0) == 4);
	drain(1);
	settle();
	run_for(20);
	CHECK(T[1].config.n == 3 && !raft_config_has(&T[1].config, 2));
	idx = raft_change(&T[1], 1, 0);
	CHECK(idx == 5);
	CHECK(T[1].role == RAFT_LEADER && T[1].config.n == 2);
	drain(1);
	settle();
	/* Removed by a committed configuration: it steps down... */
	CHECK(T[1].commit >= 5 && T[1].role == RAFT_FOLLOWER);
	/* ...and 3 and 4 carry on without it, which never runs again. */
	for (now += 5; now < 2000; now += 5) {
		for (i = 1; i <= 4; i++)
			tick(i, now);
		settle();
		campaigned |= T[1].role != RAFT_FOLLOWER;
	}
	CHECK(!campaigned);
	CHECK(T[3].role == RAFT_LEADER || T[4].role == RAFT_LEADER);
	reset();

	/* A configuration cut from the log gives way to the one before. */
	now = 1000;
	tinit(2, 2, RAFT_NONE, &c, one, 1);
	{
		struct raft_config c4 = cfg(4);
		struct raft_entry e;
		struct raft_msg m;
		struct buf b;

		buf_init(&b);
		raft_config_encode(&c4, &b);
		memset(&m, 0, sizeof(m));
		memset(&e, 0, sizeof(e));
		e.index = 2;
		e.term = 2;
		e.type = RAFT_ENTRY_CONFIG;
		e.data = buf_head(&b);
		e.len = (uint32_t)buf_used(&b);
		m.type = RAFT_MSG_APPEND;
		m.from = 1;
		m.to = 2;
		m.term = 2;
		m.prev_index = 1;
		m.prev_term = 1;
		m.entries = &e;
		m.nentries = 1;
		raft_step(&T[2], &m);
		buf_free(&b);
	}
	drain(2);
	CHECK(T[2].config.n == 4 && T[2].config_index == 2);
	append(2, 3, 3, 1, 1, 0, three, 1);
	drain(2);
	CHECK(T[2].config.n == 3 && T[2].config_index == 1);
	reset();

	/*
	 * A server whose own removal is not known to be committed may
	 * still campaign (it may hold the only up-to-date log); one that
	 * was never in the configuration may not.
	 */
	{
		struct raft_config c12 = cfg(2), c2;
		struct raft_entry e[2];
		struct buf b1, b2;
		struct raft_opts o = topts(1);

		memset(&c2, 0, sizeof(c2));
		c2.ids[c2.n++] = 2;
		buf_init(&b1);
		buf_init(&b2);
		raft_config_encode(&c12, &b1);
		raft_config_encode(&c2, &b2);
		memset(e, 0, sizeof(e));
		e[0].index = 1;
		e[0].term = 1;
		e[0].type = RAFT_ENTRY_CONFIG;
		e[0].data = buf_head(&b1);
		e[0].len = (uint32_t)buf_used(&b1);
		e[1].index = 2;
		e[1].term = 2;
		e[1].type = RAFT_ENTRY_CONFIG;
		e[1].data = buf_head(&b2);
		e[1].len = (uint32_t)buf_used(&b2);
		CHECK(raft_init(&T[1], &o, 2, 1, 0, 0, NULL, e, 2, 0) == 0);
		up[1] = 1;
		CHECK(!raft_config_has(&T[1].config, 1));
		tick(1, 3 * E_MS);
		CHECK(T[1].role == RAFT_CANDIDATE && T[1].term == 3);
		/* Its own vote does not count in {2}: it needs 2's. */
		CHECK(find(RAFT_MSG_VOTE, 1, 2) != NULL);
		reset();
		o.id = 3;
		CHECK(raft_init(&T[3], &o, 2, 1, 0, 0, NULL, e, 2, 0) == 0);
		up[3] = 1;
		tick(3, 3 * E_MS);
		CHECK(T[3].role == RAFT_FOLLOWER && nq == 0);
		buf_free(&b1);
		buf_free(&b2);
	}
	reset();
}

/* ---- reads ---- */

static void
test_read_index(void)
{
	struct raft_msg m;

	/* A single voter: ready at once, at its commit. */
	tboot(1, 0, 0, 1);
	now = T[1].election_deadline;
	tick(1, now);
	CHECK(T[1].role == RAFT_LEADER && T[1].commit == 2);
	CHECK(raft_read_index(&T[1], 5) == 0);
	drain(1);
	CHECK(O[1].nreads == 1 && O[1].reads[0].ctx == 5 &&
	    O[1].reads[0].index == 2);

	/* Five voters: two acknowledgements of the round are needed. */
	tboot(5, 0, 0, 1);
	elect_votes(1);
	CHECK(raft_read_index(&T[1], 7) < 0);	/* no entry of term 2 yet */
	CHECK(raft_read_index(&T[2], 7) < 0);	/* not the leader */
	settle();
	CHECK(T[1].commit == 2);
	CHECK(raft_read_index(&T[1], 7) == 0);
	drain(1);
	CHECK(O[1].nreads == 0 && count(RAFT_MSG_APPEND, 1, 0) == 4);
	CHECK(find(RAFT_MSG_APPEND, 1, 2)->ctx == T[1].read_ctx);
	cut[1][4] = cut[1][5] = 1;
	deliver_one();		/* to 2 */
	deliver_one();		/* to 3 */
	deliver_one();
	deliver_one();
	deliver_one();		/* 2's answer */
	CHECK(O[1].nreads == 0);
	deliver_one();		/* 3's answer */
	CHECK(O[1].nreads == 1 && O[1].reads[0].ctx == 7 &&
	    O[1].reads[0].index == 2);
	/* Pending reads fail (index 0) when leadership is lost. */
	obs_reset(1);
	CHECK(raft_read_index(&T[1], 8) == 0);
	drain(1);
	clear_q();
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_RESP;
	m.from = 2;
	m.to = 1;
	m.term = 9;
	raft_step(&T[1], &m);
	drain(1);
	CHECK(T[1].role == RAFT_FOLLOWER && T[1].term == 9);
	CHECK(O[1].nreads == 1 && O[1].reads[0].ctx == 8 &&
	    O[1].reads[0].index == 0);
	reset();
}

static void
test_lease(void)
{
	struct raft_msg *m;
	uint64_t t0;

	tboot(3, 0, 0, 1);
	elect(1);
	CHECK(!raft_lease_ok(&T[1], now));	/* no round acknowledged */
	run_for(20);
	CHECK(raft_lease_ok(&T[1], now));
	CHECK(!raft_lease_ok(&T[2], now));
	/* It ends an election timeout after the acknowledged round. */
	isolate(1, 1);
	run_for(E_MS - 20);
	CHECK(raft_lease_ok(&T[1], now));
	CHECK(!raft_lease_ok(&T[1], now + 20));
	/*
	 * It counts from when the acknowledged round was sent, not from
	 * when the answer came back: a voter's stickiness began when it
	 * received the heartbeat, no later.
	 */
	tboot(3, 0, 0, 1);
	elect(1);
	run_for(20);
	isolate(1, 1);
	now += 5;
	tick(1, now);
	clear_q();
	t0 = now;
	CHECK(raft_read_index(&T[1], 1) == 0);	/* a round sent at t0 */
	drain(1);
	m = find(RAFT_MSG_APPEND, 1, 2);
	CHECK(m != NULL && m->ctx == T[1].read_ctx);
	tick(2, t0 + 60);
	raft_step(&T[2], m);
	drain(2);
	m = find(RAFT_MSG_APPEND_RESP, 2, 1);
	CHECK(m != NULL);
	tick(1, t0 + 60);
	raft_step(&T[1], m);
	drain(1);
	CHECK(T[1].role == RAFT_LEADER);
	CHECK(raft_lease_ok(&T[1], t0 + E_MS - 1));
	CHECK(!raft_lease_ok(&T[1], t0 + E_MS));
	/* kvd is told the end itself (raft_lease_until), the same bound */
	CHECK(raft_lease_until(&T[1], t0 + 60) == t0 + E_MS);
	CHECK(raft_lease_until(&T[2], t0 + 60) == 0);
	clear_q();
	/* Without check-quorum, never. */
	tboot(3, 0, 0, 0);
	elect(1);
	run_for(20);
	CHECK(!raft_lease_ok(&T[1], now));
	CHECK(raft_lease_until(&T[1], now) == 0);
	/* Alone, the leader is its own quorum: no end. */
	tboot(1, 0, 0, 1);
	elect(1);
	run_for(20);
	CHECK(raft_lease_until(&T[1], now) == UINT64_MAX);
	reset();
}

/* ---- leadership transfer ---- */

static int vote_ctx_seen;

static int
note_vote_ctx(const struct raft_msg *m)
{
	if (m->type == RAFT_MSG_VOTE && m->ctx == 1)
		vote_ctx_seen = 1;
	return 0;
}

static void
test_transfer(void)
{
	tboot(3, 0, 1, 1);
	elect(1);
	run_for(20);
	cut_both(1, 3, 1);
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "a", 1) == 3);
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "b", 1) == 4);
	drain(1);
	settle();
	CHECK(raft_last_index(&T[3]) == 2);
	CHECK(raft_transfer(&T[1], 1) < 0 && raft_transfer(&T[1], 9) < 0);
	CHECK(raft_transfer(&T[2], 3) < 0);
	CHECK(raft_transfer(&T[1], 3) == 0);
	/* No new writes while handing over. */
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "c", 1) == 0);
	cut_both(1, 3, 0);
	vote_ctx_seen = 0;
	tfilter = note_vote_ctx;
	run_for(20);
	tfilter = NULL;
	/* 3 was brought up to date, ran at once, and 2 (sticky) agreed. */
	CHECK(vote_ctx_seen);
	CHECK(T[3].role == RAFT_LEADER && T[3].term == 3);
	CHECK(T[1].role == RAFT_FOLLOWER && T[2].leader == 3);
	CHECK(raft_last_index(&T[3]) == 5);
	CHECK(!raft_lease_ok(&T[1], now));

	/* A transfer to a server that never answers times out. */
	tboot(3, 0, 1, 1);
	elect(1);
	run_for(20);
	cut_both(1, 3, 1);
	CHECK(raft_transfer(&T[1], 3) == 0);
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "c", 1) == 0);
	run_for(E_MS + 10);
	CHECK(T[1].role == RAFT_LEADER && T[1].transferee == RAFT_NONE);
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "c", 1) != 0);
	reset();
}

/* ---- replication: the window and batches ---- */

static void
test_pipeline(void)
{
	struct raft_config c = cfg(3);
	struct raft_progress *pr;
	struct raft_msg m, *a;
	struct raft_opts o;
	uint64_t one = 1;
	size_t i, n;
	char d[16];

	tboot(3, 0, 0, 1);
	o = topts(1);
	o.max_inflight = 2;
	o.max_append_entries = 1;
	tinit_opts(&o, 0, RAFT_NONE, &c, &one, 1);
	elect(1);
	run_for(20);
	pr = &T[1].prs[0];
	CHECK(pr->id == 2 && !pr->probing && pr->match == 2 && pr->next == 3);
	for (i = 0; i < 5; i++)
		CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "p", 1) == 3 + i);
	drain(1);
	/* Two messages of one entry each: the window is full. */
	for (n = 0, i = 0; i < nq; i++)
		if (q[i].type == RAFT_MSG_APPEND && q[i].to == 2) {
			CHECK(q[i].nentries == 1 &&
			    q[i].entries[0].index == 3 + n);
			n++;
		}
	CHECK(n == 2 && pr->next == 5 && pr->inflight == 2);
	clear_q();
	/* A refusal sends it back to probing from min(index, hint + 1). */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_MSG_APPEND_RESP;
	m.from = 2;
	m.to = 1;
	m.term = 2;
	m.reject = 1;
	m.index = 4;
	m.hint = 2;
	raft_step(&T[1], &m);
	CHECK(pr->probing && pr->next == 3);
	drain(1);
	a = find(RAFT_MSG_APPEND, 1, 2);
	CHECK(count(RAFT_MSG_APPEND, 1, 2) == 1 && a && a->prev_index == 2);
	clear_q();
	/* A refusal of what is already matched is stale: ignored. */
	m.index = 2;
	raft_step(&T[1], &m);
	CHECK(pr->next == 3);
	drain(1);
	clear_q();
	settle();

	/* Batches stop at max_append_entries and at max_append_bytes. */
	tboot(3, 0, 0, 1);
	o.max_inflight = 8;
	o.max_append_entries = 3;
	o.max_append_bytes = 25;
	tinit_opts(&o, 0, RAFT_NONE, &c, &one, 1);
	elect(1);
	run_for(20);
	for (i = 0; i < 5; i++) {
		snprintf(d, sizeof(d), "0123456789");
		CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, d, 10) != 0);
	}
	drain(1);
	a = find(RAFT_MSG_APPEND, 1, 2);
	CHECK(a && a->nentries == 2);
	clear_q();
	tboot(3, 0, 0, 1);
	o.max_append_bytes = 1 << 20;
	tinit_opts(&o, 0, RAFT_NONE, &c, &one, 1);
	elect(1);
	run_for(20);
	for (i = 0; i < 5; i++)
		CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "0123456789",
		    10) != 0);
	drain(1);
	a = find(RAFT_MSG_APPEND, 1, 2);
	CHECK(a && a->nentries == 3 && count(RAFT_MSG_APPEND, 1, 2) == 2);
	settle();
	CHECK(T[2].commit == 7 && T[3].commit == 7);
	reset();
}

/* ---- durability: what leaves depends on what is on disk ---- */

static void
test_durability(void)
{
	struct raft_update u;
	struct raft_msg *m;
	size_t i, votes = 0, grants = 0, acks = 0;

	tboot(3, 0, 0, 1);
	tick(2, E_MS);
	tick(3, E_MS);
	now = T[1].election_deadline;
	raft_tick(&T[1], now);
	/* The VOTEs leave in the update that stores the vote for itself. */
	raft_ready(&T[1], &u);
	CHECK(u.hard_changed && u.term == 2 && u.vote == 1);
	for (i = 0; i < u.nmsgs; i++) {
		votes += u.msgs[i].type == RAFT_MSG_VOTE;
		enqueue(&u.msgs[i]);
	}
	raft_advance(&T[1], &u);
	CHECK(votes == 2);
	/* A granted vote leaves with the vote it records. */
	m = find(RAFT_MSG_VOTE, 1, 2);
	raft_step(&T[2], m);
	raft_ready(&T[2], &u);
	CHECK(u.hard_changed && u.term == 2 && u.vote == 1);
	for (i = 0; i < u.nmsgs; i++) {
		grants += u.msgs[i].type == RAFT_MSG_VOTE_RESP &&
		    !u.msgs[i].reject;
		enqueue(&u.msgs[i]);
	}
	raft_advance(&T[2], &u);
	CHECK(grants == 1);
	/* (2 got its copy already: drop the queued one.) */
	for (i = 0; i < nq; i++)
		if (q[i].type == RAFT_MSG_VOTE && q[i].to == 2)
			q[i].to = NT + 1;
	settle();
	CHECK(T[1].role == RAFT_LEADER && T[2].commit == 2);
	/* An accepting APPEND_RESP leaves with the entries to store. */
	CHECK(raft_propose(&T[1], RAFT_ENTRY_NORMAL, "z", 1) == 3);
	drain(1);
	m = find(RAFT_MSG_APPEND, 1, 2);
	CHECK(m && m->nentries == 1 && m->entries[0].index == 3);
	raft_step(&T[2], m);
	raft_ready(&T[2], &u);
	for (i = 0; i < u.nmsgs; i++)
		if (u.msgs[i].type == RAFT_MSG_APPEND_RESP &&
		    !u.msgs[i].reject && u.msgs[i].index == 3)
			acks++;
	CHECK(acks == 1 && u.persist_from == 3 && u.nentries == 1 &&
	    u.entries[0].index == 3 && !u.hard_changed);
	raft_advance(&T[2], &u);
	CHECK(T[2].persisted == 3);
	reset();
}

int
main(void)
{
	log_init("test_raft");
	log_set_level("warn");
	RUN(test_config_codec);
	RUN(test_vote_matrix);
	RUN(test_log_uptodate);
	RUN(test_election);
	RUN(test_single_voter);
	RUN(test_commit_current_term);
	RUN(test_truncate);
	RUN(test_prevote);
	RUN(test_stickiness);
	RUN(test_check_quorum);
	RUN(test_snapshot);
	RUN(test_membership);
	RUN(test_read_index);
	RUN(test_lease);
	RUN(test_transfer);
	RUN(test_pipeline);
	RUN(test_durability);
	reset();
	clear_q();
	free(q);
	return TEST_DONE();
}
