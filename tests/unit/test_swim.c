/*
 * test_swim.c - the SWIM core in a simulated cluster: a clock in 10 ms
 * steps, a network with delay, loss and partitions, nodes that crash or
 * pause (SIGSTOP: what arrives meanwhile waits in the socket buffer).
 * Each scenario runs over many seeds; a failure prints the seed, and a
 * seed replays exactly.
 *
 * Checked: nobody is declared failed in a healthy or lossy cluster; a
 * crashed node is declared failed by every other node; a pause shorter
 * than the suspicion timeout is survived; a leave is seen as left; a
 * new member and a user event reach everyone (the event once); force
 * leave; malformed packets change nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "test.h"
#include "../../gossipd/member.h"
#include "../../gossipd/swim.h"

#define MAXN	16
#define STEP	10	/* ms */

struct pkt {
	uint64_t	 at;
	int		 from, to;
	size_t		 len;
	unsigned char	*data;
};

struct node {
	struct member_table	 t;
	struct swim		 s;
	char			 name[16];
	int			 up, paused;
	int			 failed_seen[MAXN];	/* declared failed */
	int			 left_seen[MAXN];
	int			 events;
};

static struct sim {
	struct node	 n[MAXN];
	int		 nn;
	uint64_t	 now, rng;
	struct pkt	*q;
	size_t		 nq, capq;
	int		 loss_pct;
	int		 part[MAXN];	/* partition group */
	uint64_t	 detect_at[MAXN][MAXN];
} S;

static uint64_t
srnd(void)
{
	S.rng ^= S.rng >> 12;
	S.rng ^= S.rng << 25;
	S.rng ^= S.rng >> 27;
	return S.rng * 2685821657736338717ULL;
}

static int
node_of(const char *addr)
{
	int i;

	for (i = 0; i < S.nn; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.0.0.%d", i + 1);
		if (strcmp(a, addr) == 0)
			return i;
	}
	return -1;
}

static int
ctx_index(void *ctx)
{
	return (int)((struct node *)ctx - S.n);
}

static void
sim_send(void *ctx, const char *addr, int port, const void *p, size_t len)
{
	int from = ctx_index(ctx), to = node_of(addr);
	struct pkt *k;

	if (to < 0 || port != 8301)
		return;
	if (S.loss_pct && (int)(srnd() % 100) < S.loss_pct)
		return;
	if (S.nq == S.capq) {
		S.capq = S.capq ? S.capq * 2 : 256;
		S.q = realloc(S.q, S.capq * sizeof(*S.q));
	}
	k = &S.q[S.nq++];
	k->at = S.now + 1 + srnd() % 5;	/* 1-5 ms, reordering included */
	k->from = from;
	k->to = to;
	k->len = len;
	k->data = malloc(len);
	memcpy(k->data, p, len);
}

/* TCP: reliable, but not across a partition or to a stopped process */
static void
sim_tcp(void *ctx, const char *addr, int port, uint32_t seq)
{
	int from = ctx_index(ctx), to = node_of(addr);
	int ok = to >= 0 && S.n[to].up && !S.n[to].paused &&
	    S.part[from] == S.part[to];

	swim_tcp_result(&S.n[from].s, seq, ok, S.now);
}

static void
sim_changed(void *ctx, const struct member *m, enum member_result r)
{
	struct node *nd = ctx;
	int who = node_of(m->addr);

	if (who < 0)
		return;
	if (m->status == MEMBER_FAILED && !nd->failed_seen[who]) {
		nd->failed_seen[who] = 1;
		S.detect_at[ctx_index(ctx)][who] = S.now;
	}
	if (m->status == MEMBER_LEFT)
		nd->left_seen[who] = 1;
}

static int
sim_event(void *ctx, const void *rec, size_t len)
{
	struct node *nd = ctx;

	/* One event in these tests: the first copy is new. */
	if (nd->events++ == 0)
		return 1;
	nd->events = 1;
	return 0;
}

static void
add_record(struct member_table *t, int i, double now)
{
	struct member m;
	char name[16];

	memset(&m, 0, sizeof(m));
	snprintf(name, sizeof(name), "n%d", i);
	m.name = name;
	snprintf(m.addr, sizeof(m.addr), "10.0.0.%d", i + 1);
	m.port = 8301;
	m.status = MEMBER_ALIVE;
	m.proto_min = 1;
	m.proto_max = 5;
	m.proto_cur = 2;
	member_update(t, &m, now);
}

static void
opts_of(struct swim_opts *o, struct node *nd, uint64_t seed)
{
	memset(o, 0, sizeof(*o));
	o->self = nd->name;
	/* gossipd's defaults (swim_io.c) */
	o->probe_interval = 400;
	o->probe_timeout = 250;
	o->suspicion_mult = 3;
	o->suspicion_max_mult = 6;
	o->retransmit_mult = 4;
	o->gossip_interval = 100;
	o->gossip_nodes = 4;
	o->indirect_checks = 3;
	o->awareness_max = 8;
	o->gossip_to_dead = 30000;
	o->seed = seed;
	o->ctx = nd;
	o->send = sim_send;
	o->tcp_probe = sim_tcp;
	o->changed = sim_changed;
	o->event = sim_event;
}

/* sim_start - n nodes; each knows `know` of them (all when know <= 0) */
static void
sim_start(int n, uint64_t seed, int know)
{
	struct swim_opts o;
	int i, j;

	memset(&S, 0, sizeof(S));
	S.nn = n;
	S.rng = seed * 0x9e3779b97f4a7c15ULL + 1;
	for (i = 0; i < n; i++) {
		struct node *nd = &S.n[i];

		snprintf(nd->name, sizeof(nd->name), "n%d", i);
		member_table_init(&nd->t);
		add_record(&nd->t, i, 0);
		for (j = 0; j < n; j++)
			if (j != i && (know <= 0 || j < know))
				add_record(&nd->t, j, 0);
		nd->up = 1;
		opts_of(&o, nd, seed * 1000 + (uint64_t)i + 1);
		swim_init(&nd->s, &o, &nd->t, 0);
	}
}

static void
sim_free(void)
{
	size_t k;
	int i;

	for (i = 0; i < S.nn; i++) {
		swim_free(&S.n[i].s);
		member_table_free(&S.n[i].t);
	}
	for (k = 0; k < S.nq; k++)
		free(S.q[k].data);
	free(S.q);
}

/*
 * pushpull - what gossipd's anti-entropy does every 10 s: two nodes
 * merge each other's whole table (pushpull.c), and SWIM hears of what
 * changed.
 */
static void
pushpull(int a, int b)
{
	struct member_table *from = &S.n[b].t;
	enum member_result r;
	struct member *m;
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < from->n; i++) {
			r = member_merge(&S.n[a].t, S.n[a].name, from->m[i],
			    (double)S.now / 1000);
			if (r != MEMBER_ADDED && r != MEMBER_CHANGED &&
			    r != MEMBER_REFUTED)
				continue;
			m = member_lookup(&S.n[a].t, from->m[i]->name);
			log_init(S.n[a].name);
			swim_news(&S.n[a].s, m, r, S.now);
			sim_changed(&S.n[a], m, r);
		}
		from = &S.n[a].t;
		a = b;
	}
}

/* sim_run - advance ms milliseconds */
static void
sim_run(uint64_t ms)
{
	uint64_t end = S.now + ms;
	size_t k;
	int i;

	while (S.now < end) {
		S.now += STEP;
		/* deliver what is due; a paused node's packets wait */
		for (k = 0; k < S.nq;) {
			struct pkt p = S.q[k];

			if (p.at > S.now || (S.n[p.to].up && S.n[p.to].paused)) {
				k++;
				continue;
			}
			S.q[k] = S.q[--S.nq];
			if (S.n[p.to].up && S.part[p.from] == S.part[p.to]) {
				char a[32];

				snprintf(a, sizeof(a), "10.0.0.%d", p.from + 1);
				log_init(S.n[p.to].name);	/* whose log */
				swim_recv(&S.n[p.to].s, a, 8301, p.data, p.len,
				    S.now);
			}
			free(p.data);
		}
		for (i = 0; i < S.nn; i++)
			if (S.n[i].up && !S.n[i].paused) {
				log_init(S.n[i].name);
				swim_tick(&S.n[i].s, S.now);
			}
		/* anti-entropy: each node every 10 s, staggered */
		for (i = 0; i < S.nn; i++) {
			int j = (int)(srnd() % (uint64_t)S.nn);

			if ((S.now + (uint64_t)i * 1000) % 10000 != 0 ||
			    !S.n[i].up || S.n[i].paused || j == i ||
			    !S.n[j].up || S.n[j].paused ||
			    S.part[i] != S.part[j])
				continue;
			pushpull(i, j);
		}
	}
}

static enum member_status
status_at(int viewer, int who)
{
	char name[16];
	struct member *m;

	snprintf(name, sizeof(name), "n%d", who);
	m = member_lookup(&S.n[viewer].t, name);
	return m ? m->status : MEMBER_NONE;
}

static int
false_failures(void)
{
	int i, j, n = 0;

	for (i = 0; i < S.nn; i++)
		for (j = 0; j < S.nn; j++)
			if (S.n[i].up && S.n[j].up && S.n[i].failed_seen[j])
				n++;
	return n;
}

#define SEEDS	100

/* skip - SWIM_SEED=N replays one seed (with SWIM_DEBUG=1 for its log) */
static int
skip(uint64_t seed)
{
	const char *e = getenv("SWIM_SEED");

	return e != NULL && strtoull(e, NULL, 10) != seed;
}

static void
test_healthy_no_failures(void)
{
	uint64_t seed;
	int i;

	for (seed = 1; seed <= SEEDS; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		sim_run(60000);
		for (i = 0; i < S.nn; i++) {
			/* a probe a second, every one answered */
			CHECK(S.n[i].s.probes >= 55);
			CHECK(S.n[i].s.probe_failures == 0);
			CHECK(S.n[i].s.awareness == 0);
		}
		if (false_failures() != 0) {
			fprintf(stderr, "seed %llu: %d false failures\n",
			    (unsigned long long)seed, false_failures());
			CHECK(0);
		}
		sim_free();
	}
}

static void
test_lossy_no_failures(void)
{
	uint64_t seed;

	for (seed = 1; seed <= SEEDS; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		S.loss_pct = 10;
		sim_run(60000);
		if (false_failures() != 0) {
			fprintf(stderr, "seed %llu: %d false failures with "
			    "10%% loss\n", (unsigned long long)seed,
			    false_failures());
			CHECK(0);
		}
		sim_free();
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_crash_detected(void)
{
	uint64_t seed, worst = 0, all[SEEDS * 9], t;
	size_t nall = 0;
	int i, victim = 3;

	for (seed = 1; seed <= SEEDS; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		sim_run(5000);
		S.n[victim].up = 0;
		t = S.now;
		sim_run(40000);
		for (i = 0; i < S.nn; i++) {
			if (i == victim)
				continue;
			if (status_at(i, victim) != MEMBER_FAILED) {
				fprintf(stderr, "seed %llu: n%d sees n%d as "
				    "%d, not failed\n", (unsigned long long)seed,
				    i, victim, status_at(i, victim));
				CHECK(0);
				continue;
			}
			all[nall++] = S.detect_at[i][victim] - t;
			if (S.detect_at[i][victim] - t > worst)
				worst = S.detect_at[i][victim] - t;
		}
		CHECK(false_failures() == 0);
		sim_free();
	}
	qsort(all, nall, sizeof(all[0]), cmp_u64);
	if (nall > 0)
		printf("crash of 1 in 10: detected in median %llu ms, worst "
		    "%llu ms (%d seeds)\n",
		    (unsigned long long)all[nall / 2],
		    (unsigned long long)worst, SEEDS);
}

/*
 * A node stopped for less than the shortest suspicion timeout (1.2 s
 * here: 3 x log10(10) x 400 ms) is not declared failed by anyone.
 */
static void
test_short_pause_survived(void)
{
	uint64_t seed;
	int i;

	for (seed = 1; seed <= SEEDS; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		sim_run(5000);
		S.n[2].paused = 1;
		sim_run(1000);
		S.n[2].paused = 0;
		sim_run(20000);
		for (i = 0; i < S.nn; i++)
			if (S.n[i].failed_seen[2]) {
				fprintf(stderr, "seed %llu: n%d declared the "
				    "paused n2 failed\n",
				    (unsigned long long)seed, i);
				CHECK(0);
			}
		CHECK(false_failures() == 0);
		sim_free();
	}
}

static void
test_leave_seen_as_left(void)
{
	uint64_t seed;
	int i;

	for (seed = 1; seed <= SEEDS / 2; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		sim_run(3000);
		swim_leave(&S.n[5].s, S.now);
		sim_run(3000);
		S.n[5].up = 0;
		sim_run(30000);
		for (i = 0; i < S.nn; i++) {
			if (i == 5)
				continue;
			if (status_at(i, 5) != MEMBER_LEFT) {
				fprintf(stderr, "seed %llu: n%d sees n5 as %d\n",
				    (unsigned long long)seed, i,
				    status_at(i, 5));
				CHECK(0);
			}
			CHECK(!S.n[i].failed_seen[5]);
		}
		sim_free();
	}
}

/* n9 knows only n0 (it joined through it); gossip tells everyone */
static void
test_new_member_spreads(void)
{
	struct swim_opts o;
	uint64_t seed;
	int i;

	for (seed = 1; seed <= SEEDS / 2; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 9);	/* everyone knows n0..n8 */
		/* n0 learned of n9 from its join push/pull */
		add_record(&S.n[0].t, 9, 0);
		swim_news(&S.n[0].s, member_lookup(&S.n[0].t, "n9"),
		    MEMBER_ADDED, S.now);
		/* and n9 knows only itself and n0 */
		swim_free(&S.n[9].s);
		member_table_free(&S.n[9].t);
		member_table_init(&S.n[9].t);
		add_record(&S.n[9].t, 9, 0);
		add_record(&S.n[9].t, 0, 0);
		opts_of(&o, &S.n[9], seed);
		swim_init(&S.n[9].s, &o, &S.n[9].t, 0);
		sim_run(10000);
		for (i = 0; i < 9; i++)
			CHECK(status_at(i, 9) == MEMBER_ALIVE);
		CHECK(false_failures() == 0);
		sim_free();
	}
}

static void
test_event_reaches_all_once(void)
{
	struct buf rec;
	uint64_t seed;
	int i;

	for (seed = 1; seed <= SEEDS / 2; seed++) {
		if (skip(seed))
			continue;
		sim_start(10, seed, 0);
		S.loss_pct = 5;
		sim_run(2000);
		buf_init(&rec);
		attr_put_str(&rec, A_EVENT_ID, "6d9c0ad6-0000-4000-8000-1");
		attr_put_str(&rec, A_EVENT_NAME, "deploy");
		S.n[0].events = 1;	/* the firer has it already */
		swim_event(&S.n[0].s, buf_head(&rec), buf_used(&rec));
		buf_free(&rec);
		sim_run(10000);
		for (i = 0; i < S.nn; i++)
			CHECK(S.n[i].events == 1);
		sim_free();
	}
}

static void
test_force_leave(void)
{
	int i;

	sim_start(6, 7, 0);
	sim_run(3000);
	S.n[4].up = 0;
	sim_run(40000);
	CHECK(status_at(0, 4) == MEMBER_FAILED);
	CHECK(swim_force_leave(&S.n[0].s, "n4", 0, S.now) == 0);
	CHECK(swim_force_leave(&S.n[0].s, "nobody", 0, S.now) == -1);
	CHECK(swim_force_leave(&S.n[0].s, "n0", 0, S.now) == -1);
	sim_run(5000);
	for (i = 0; i < S.nn; i++)
		if (i != 4)
			CHECK(status_at(i, 4) == MEMBER_LEFT);
	/* prune: forgotten everywhere */
	CHECK(swim_force_leave(&S.n[1].s, "n4", 1, S.now) == 0);
	sim_run(5000);
	for (i = 0; i < S.nn; i++)
		if (i != 4)
			CHECK(status_at(i, 4) == MEMBER_NONE);
	sim_free();
}

/* force-leave of an alive node: it refutes and stays alive */
static void
test_force_leave_alive_refuted(void)
{
	int i;

	sim_start(6, 11, 0);
	sim_run(3000);
	CHECK(swim_force_leave(&S.n[0].s, "n3", 0, S.now) == 0);
	sim_run(10000);
	for (i = 0; i < S.nn; i++)
		CHECK(status_at(i, 3) == MEMBER_ALIVE);
	CHECK(S.n[3].s.refutes > 0);
	sim_free();
}

/* every kind through the wire and back; every cut of a packet fails */
static void
test_wire(void)
{
	const unsigned char *p;
	struct swim_wmsg w;
	struct member m;
	struct buf b;
	size_t left, cut, whole;
	int n;

	memset(&m, 0, sizeof(m));
	m.name = "web-1";
	snprintf(m.addr, sizeof(m.addr), "10.1.2.3");
	m.port = 8301;
	m.status = MEMBER_ALIVE;
	m.incarnation = 7;
	buf_init(&b);
	swim_wire_ping(&b, 42, "web-1");
	CHECK(buf_used(&b) == 3 + 4 + 1 + 5);	/* 15 bytes */
	swim_wire_seq(&b, SWIM_ACK, 43);
	swim_wire_indirect(&b, 44, "db", "10.0.0.9", 8301, 1);
	swim_wire_status(&b, SWIM_DEAD, "db", 3, "web-1", 1);
	swim_wire_alive(&b, &m);
	swim_wire_event(&b, "\0\x5d\0\0\0\0\0\x01x", 9);
	whole = buf_used(&b);
	p = buf_head(&b);
	left = whole;
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == SWIM_PING &&
	    w.seq == 42 && strcmp(w.node, "web-1") == 0);
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == SWIM_ACK &&
	    w.seq == 43);
	CHECK(swim_wire_next(&p, &left, &w) == 1 &&
	    w.kind == SWIM_INDIRECT && w.seq == 44 && w.nack == 1 &&
	    w.port == 8301 && strcmp(w.addr, "10.0.0.9") == 0 &&
	    strcmp(w.node, "db") == 0);
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == SWIM_DEAD &&
	    w.inc == 3 && w.prune == 1 && strcmp(w.node, "db") == 0 &&
	    strcmp(w.from, "web-1") == 0);
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == SWIM_ALIVE);
	{
		struct member back;
		char e[128];

		CHECK(member_unpack(w.rec, w.reclen, &back, e,
		    sizeof(e)) == 0);
		CHECK_STR(back.name, "web-1");
		CHECK(back.incarnation == 7);
		member_clear(&back);
	}
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == SWIM_EVENT &&
	    w.reclen == 9);
	CHECK(swim_wire_next(&p, &left, &w) == 0);
	/* cut anywhere but at a message boundary: malformed */
	for (cut = 0; cut < whole; cut++) {
		p = buf_head(&b);
		left = cut;
		while ((n = swim_wire_next(&p, &left, &w)) == 1)
			;
		CHECK(n == -1 || left == 0);
	}
	/* an unknown kind is skipped by its length */
	buf_reset(&b);
	buf_append(&b, "\x63\x00\x02zz", 5);
	swim_wire_seq(&b, SWIM_ACK, 9);
	p = buf_head(&b);
	left = buf_used(&b);
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.kind == 99);
	CHECK(swim_wire_next(&p, &left, &w) == 1 && w.seq == 9);
	/* a length past the end, a string past its message, a NUL */
	CHECK((p = (const unsigned char *)"\x02\x00\x09\0\0\0\x01",
	    left = 7, swim_wire_next(&p, &left, &w)) == -1);
	CHECK((p = (const unsigned char *)"\x01\x00\x05\0\0\0\x01\x09",
	    left = 8, swim_wire_next(&p, &left, &w)) == -1);
	CHECK((p = (const unsigned char *)"\x01\x00\x07\0\0\0\x01\x02a\0",
	    left = 10, swim_wire_next(&p, &left, &w)) == -1);
	/* fixed fields must fill the body: an ACK with a spare byte */
	CHECK((p = (const unsigned char *)"\x02\x00\x05\0\0\0\x01\x00",
	    left = 8, swim_wire_next(&p, &left, &w)) == -1);
	buf_free(&b);
}

static void
test_malformed_packets(void)
{
	struct buf b;
	size_t cut, n0;
	unsigned char junk[64];
	int i;

	sim_start(3, 3, 0);
	n0 = S.n[0].t.n;
	CHECK(swim_recv(&S.n[0].s, "10.0.0.2", 8301, "", 0, 0) == -1);
	memset(junk, 0xff, sizeof(junk));
	CHECK(swim_recv(&S.n[0].s, "10.0.0.2", 8301, junk, sizeof(junk), 0)
	    == -1);
	/* a valid dead message about n1, cut at every length: never
	   applied unless whole */
	buf_init(&b);
	swim_wire_status(&b, SWIM_DEAD, "n1", 0, "n2", 0);
	for (cut = 0; cut < buf_used(&b); cut++)
		CHECK(swim_recv(&S.n[0].s, "10.0.0.3", 8301, buf_head(&b),
		    cut, 0) == -1);
	CHECK(status_at(0, 1) == MEMBER_ALIVE);
	/* a whole packet with one bad message is refused whole */
	buf_reset(&b);
	swim_wire_status(&b, SWIM_DEAD, "n1", 0, "n2", 0);
	buf_append(&b, "\x06\x00\x01\x00", 4);
	CHECK(swim_recv(&S.n[0].s, "10.0.0.3", 8301, buf_head(&b),
	    buf_used(&b), 0) == -1);
	CHECK(status_at(0, 1) == MEMBER_ALIVE);
	/* empty, junk, every cut, the mixed one */
	CHECK(S.n[0].s.bad_packets == 2 + (uint64_t)cut + 1);
	/* the whole one is applied */
	buf_reset(&b);
	swim_wire_status(&b, SWIM_DEAD, "n1", 0, "n2", 0);
	CHECK(swim_recv(&S.n[0].s, "10.0.0.3", 8301, buf_head(&b),
	    buf_used(&b), 0) == 0);
	CHECK(status_at(0, 1) == MEMBER_FAILED);
	/* news that we are dead is refuted */
	buf_reset(&b);
	swim_wire_status(&b, SWIM_DEAD, "n0", 0, "n2", 0);
	CHECK(swim_recv(&S.n[0].s, "10.0.0.3", 8301, buf_head(&b),
	    buf_used(&b), 0) == 0);
	CHECK(status_at(0, 0) == MEMBER_ALIVE);
	CHECK(member_lookup(&S.n[0].t, "n0")->incarnation == 1);
	buf_free(&b);
	for (i = 0; i < S.nn; i++)
		CHECK(S.n[i].t.n == n0);
	sim_free();
}

int
main(void)
{
	log_init("test_swim");
	if (getenv("SWIM_DEBUG") == NULL)
		log_set_level("warn");
	RUN(test_wire);
	RUN(test_malformed_packets);
	RUN(test_healthy_no_failures);
	RUN(test_lossy_no_failures);
	RUN(test_crash_detected);
	RUN(test_short_pause_survived);
	RUN(test_leave_seen_as_left);
	RUN(test_new_member_spreads);
	RUN(test_event_reaches_all_once);
	RUN(test_force_leave);
	RUN(test_force_leave_alive_refuted);
	return TEST_DONE();
}
