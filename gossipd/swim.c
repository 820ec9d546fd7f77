/*
 * swim.c - SWIM with Lifeguard over the member table. See swim.h.
 *
 * Every packet is a list of messages (swim_wire.c): the one that is the
 * reason for the packet (a ping, an ack...) first, then as many
 * broadcasts as fit. A packet is checked whole before any of it is
 * acted on, so a malformed one changes nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "swim.h"

/* rnd - xorshift64*: the core's only randomness, from the seed */
static uint64_t
rnd(struct swim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static int
is_self(const struct swim *s, const char *name)
{
	return strcmp(name, s->o.self) == 0;
}

static struct member *
self_rec(const struct swim *s)
{
	struct member *m = member_lookup(s->t, s->o.self);

	if (m == NULL)
		log_panic("swim: no record of this node in the table");
	return m;
}

/* live - a member we probe and gossip with */
static int
live(const struct member *m)
{
	return m->status == MEMBER_ALIVE || m->status == MEMBER_LEAVING;
}

static size_t
nlive(const struct swim *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->t->n; i++)
		n += live(s->t->m[i]);
	return n;
}

/* scaled - a probe time stretched by our own health (Lifeguard 1) */
static uint64_t
scaled(const struct swim *s, uint32_t ms)
{
	return (uint64_t)ms * (s->awareness + 1);
}

static void
awareness_add(struct swim *s, int d)
{
	int64_t a = (int64_t)s->awareness + d;

	if (a < 0)
		a = 0;
	if (a > (int64_t)s->o.awareness_max - 1)
		a = s->o.awareness_max - 1;
	if ((uint32_t)a != s->awareness)
		log_debug("local health score %u -> %u", s->awareness,
		    (unsigned)a);
	s->awareness = (uint32_t)a;
}

/* ---- the broadcast queue ---- */

/* retransmit_limit - memberlist's, over every member it knows of */
static uint32_t
retransmit_limit(const struct swim *s)
{
	return s->o.retransmit_mult *
	    (uint32_t)ceil(log10((double)s->t->n + 1));
}

static void
bq_drop(struct swim *s, size_t i)
{
	free(s->bq[i].key);
	buf_free(&s->bq[i].msg);
	s->bq[i] = s->bq[--s->nbq];
}

/* bq_add - queue news; it replaces older news about the same key */
static void
bq_add(struct swim *s, const char *key, const struct buf *msg)
{
	size_t i, worst = 0;

	for (i = 0; i < s->nbq; i++)
		if (strcmp(s->bq[i].key, key) == 0) {
			bq_drop(s, i);
			break;
		}
	if (s->nbq == SWIM_MAX_BCAST) {
		for (i = 1; i < s->nbq; i++)
			if (s->bq[i].transmits > s->bq[worst].transmits)
				worst = i;
		bq_drop(s, worst);
	}
	if (s->nbq == s->capbq) {
		s->capbq = s->capbq ? s->capbq * 2 : 32;
		if ((s->bq = realloc(s->bq, s->capbq * sizeof(*s->bq))) ==
		    NULL)
			log_fatal("out of memory");
	}
	s->bq[s->nbq].key = xstrdup(key);
	buf_init(&s->bq[s->nbq].msg);
	buf_append(&s->bq[s->nbq].msg, buf_head(msg), buf_used(msg));
	s->bq[s->nbq].transmits = 0;
	s->nbq++;
	/* News goes out at the next tick, not the next gossip round:
	   each hop passes it on at once, so a join or a failure is known
	   everywhere in a few round trips. The retransmit limit bounds it. */
	s->next_gossip = 0;
}

static void
bq_status(struct swim *s, enum swim_kind k, const char *name, uint32_t inc,
    const char *from, int prune)
{
	struct buf b;

	buf_init(&b);
	swim_wire_status(&b, k, name, inc, from, prune);
	bq_add(s, name, &b);
	buf_free(&b);
}

static void
bq_alive(struct swim *s, const struct member *m)
{
	struct buf b;

	buf_init(&b);
	swim_wire_alive(&b, m);
	bq_add(s, m->name, &b);
	buf_free(&b);
}

/*
 * bq_fill - piggyback broadcasts on a packet, least sent first; news
 * about `first` (the node the packet goes to) before anything else, so
 * a suspect hears of its suspicion at once (Lifeguard's buddy system).
 */
static void
bq_fill(struct swim *s, struct buf *pkt, const char *first)
{
	uint32_t limit = retransmit_limit(s);
	size_t i, best, room;
	int pass;
	char *taken;

	if (s->nbq == 0)
		return;
	if ((taken = calloc(s->nbq, 1)) == NULL)
		log_fatal("out of memory");
	for (pass = 0; pass < 2; pass++) {
		for (;;) {
			room = SWIM_MAX_PACKET - buf_used(pkt);
			best = s->nbq;
			for (i = 0; i < s->nbq; i++) {
				if (taken[i] || buf_used(&s->bq[i].msg) > room)
					continue;
				if (pass == 0 && (first == NULL ||
				    strcmp(s->bq[i].key, first) != 0))
					continue;
				if (best == s->nbq || s->bq[i].transmits <
				    s->bq[best].transmits)
					best = i;
			}
			if (best == s->nbq)
				break;
			taken[best] = 1;
			buf_append(pkt, buf_head(&s->bq[best].msg),
			    buf_used(&s->bq[best].msg));
			s->bq[best].transmits++;
		}
	}
	free(taken);
	for (i = s->nbq; i-- > 0;)
		if (s->bq[i].transmits >= limit)
			bq_drop(s, i);
}

/* send - a packet: its own message(s) in pkt, broadcasts added */
static void
send_pkt(struct swim *s, const char *addr, int port, struct buf *pkt,
    const char *to)
{
	bq_fill(s, pkt, to);
	if (buf_used(pkt) == 0)
		return;
	s->sent_packets++;
	s->sent_bytes += buf_used(pkt);
	s->o.send(s->o.ctx, addr, port, buf_head(pkt), buf_used(pkt));
}

/* ---- suspicion (Lifeguard 2) ---- */

static struct swim_suspect *
sus_find(struct swim *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nsus; i++)
		if (strcmp(s->sus[i].name, name) == 0)
			return &s->sus[i];
	return NULL;
}

static void
sus_drop(struct swim *s, struct swim_suspect *x)
{
	uint32_t i;

	free(x->name);
	for (i = 0; i < x->nfrom; i++)
		free(x->from[i]);
	*x = s->sus[--s->nsus];
}

/*
 * sus_timeout - memberlist's: from max down to min as confirmations c
 * approach k, on a log scale. min = mult * log10(n) * interval.
 */
static uint64_t
sus_timeout(const struct swim *s, const struct swim_suspect *x)
{
	double n = (double)nlive(s), min, max, t;

	min = s->o.suspicion_mult * fmax(1.0, log10(fmax(1.0, n))) *
	    s->o.probe_interval;
	max = s->o.suspicion_max_mult * min;
	if (x->k < 1)
		return (uint64_t)min;
	t = max - (max - min) * log((double)(x->nfrom - 1) + 1) /
	    log((double)x->k + 1);
	return (uint64_t)fmax(min, floor(t));
}

/* sus_start - a new suspicion of m; from is who raised it */
static void
sus_start(struct swim *s, struct member *m, uint32_t inc, const char *from,
    uint64_t now)
{
	struct swim_suspect *x;
	size_t n = nlive(s);

	if (s->nsus == SWIM_MAX_SUSPECTS)
		return;	/* a storm: the probes will come round again */
	x = &s->sus[s->nsus++];
	memset(x, 0, sizeof(*x));
	x->name = xstrdup(m->name);
	x->incarnation = inc;
	x->start = now;
	/* Expect k independent confirmations, if there are that many. */
	x->k = s->o.suspicion_mult > 2 ? s->o.suspicion_mult - 2 : 0;
	if (n < (size_t)x->k + 2)
		x->k = 0;
	if (x->k > 8)
		x->k = 8;
	/* from[0] raised it: it does not confirm its own suspicion. */
	x->from[x->nfrom++] = xstrdup(from);
	x->timeout = sus_timeout(s, x);
	log_info("member %s suspected (incarnation %u, by %s)", m->name, inc,
	    from);
	bq_status(s, SWIM_SUSPECT, m->name, inc, from, 0);
}

/* sus_confirm - another member suspects it too: 1 if it counted */
static int
sus_confirm(struct swim *s, struct swim_suspect *x, const char *from)
{
	uint32_t i;

	if (x->nfrom - 1 >= x->k)
		return 0;
	for (i = 0; i < x->nfrom; i++)
		if (strcmp(x->from[i], from) == 0)
			return 0;
	x->from[x->nfrom++] = xstrdup(from);
	x->timeout = sus_timeout(s, x);
	return 1;
}

/* ---- what happens to members ---- */

static void
changed(struct swim *s, const struct member *m, enum member_result r)
{
	if (s->o.changed != NULL)
		s->o.changed(s->o.ctx, m, r);
}

/* refute - news says we are suspect or dead: outrank it */
static void
refute(struct swim *s, uint32_t inc)
{
	struct member *me = self_rec(s);

	if (inc == UINT32_MAX)
		return;
	if (me->incarnation <= inc)
		me->incarnation = inc + 1;
	s->refutes++;
	awareness_add(s, 1);
	log_info("refuting a suspicion of this node: now incarnation %u",
	    me->incarnation);
	bq_alive(s, me);
	changed(s, me, MEMBER_REFUTED);
}

/* declare_dead - a suspicion ran out */
static void
declare_dead(struct swim *s, const char *name, uint32_t inc, uint64_t now)
{
	struct member *m;

	if (member_set_status(s->t, name, MEMBER_FAILED, inc,
	    (double)now / 1000) != MEMBER_CHANGED ||
	    (m = member_lookup(s->t, name)) == NULL)
		return;
	log_info("member %s failed: no answer and no refutation in time",
	    name);
	changed(s, m, MEMBER_CHANGED);
	bq_status(s, SWIM_DEAD, name, inc, s->o.self, 0);
}

/* suspect - our probe (or another's message) says name may be down */
static void
suspect(struct swim *s, const char *name, uint32_t inc, const char *from,
    uint64_t now)
{
	struct swim_suspect *x;
	struct member *m;

	if (is_self(s, name)) {
		if (!s->leaving && inc >= self_rec(s)->incarnation)
			refute(s, inc);
		return;
	}
	if ((m = member_lookup(s->t, name)) == NULL || !live(m) ||
	    inc < m->incarnation)
		return;
	if ((x = sus_find(s, name)) != NULL) {
		if (inc == x->incarnation && sus_confirm(s, x, from))
			bq_status(s, SWIM_SUSPECT, name, inc, from, 0);
		if (inc <= x->incarnation)
			return;
		sus_drop(s, x);	/* a newer incarnation is suspected */
	}
	m->incarnation = inc;
	sus_start(s, m, inc, from, now);
}

/* dead - a member failed (from another) or left (from itself) */
static void
dead(struct swim *s, const char *name, uint32_t inc, const char *from,
    int prune, uint64_t now)
{
	enum member_status st;
	struct swim_suspect *x;
	struct member *m;

	if (is_self(s, name)) {
		if (!s->leaving && inc >= self_rec(s)->incarnation)
			refute(s, inc);
		return;
	}
	if ((m = member_lookup(s->t, name)) == NULL || inc < m->incarnation)
		return;
	st = strcmp(from, name) == 0 ? MEMBER_LEFT : MEMBER_FAILED;
	if ((x = sus_find(s, name)) != NULL && x->incarnation <= inc)
		sus_drop(s, x);
	if (member_set_status(s->t, name, st, inc, (double)now / 1000) ==
	    MEMBER_CHANGED) {
		log_info("member %s %s (from %s)", name, st == MEMBER_LEFT ?
		    "left" : "failed", from);
		changed(s, m, MEMBER_CHANGED);
	} else if (!(prune && st == MEMBER_LEFT))
		return;		/* old news: it stops here */
	bq_status(s, SWIM_DEAD, name, inc, from, prune);
	/* force-leave -prune: forgotten at once, not after the tombstone */
	if (prune && st == MEMBER_LEFT && m->status == MEMBER_LEFT) {
		log_info("member %s pruned", name);
		member_remove(s->t, name);
	}
}

/* alive - a member's record: new, refuted, or changed */
static void
alive(struct swim *s, const struct member *news, uint64_t now)
{
	enum member_result r;
	struct member *m;

	/* Leaving, we let our dead record stand rather than refute. */
	if (s->leaving && is_self(s, news->name))
		return;
	r = member_merge(s->t, s->o.self, news, (double)now / 1000);
	if ((m = member_lookup(s->t, news->name)) == NULL)
		return;
	switch (r) {
	case MEMBER_REFUTED:
		refute(s, m->incarnation - 1);
		break;
	case MEMBER_ADDED:
	case MEMBER_CHANGED:
		swim_news(s, m, r, now);
		changed(s, m, r);
		break;
	case MEMBER_CONFLICT:
		log_warn("member %s seen with node ID %.64s, but known with "
		    "%.64s: ignored (node names must be unique)", news->name,
		    member_tag(news, "id"), member_tag(m, "id"));
		break;
	default:
		break;
	}
}

/* ---- probing ---- */

static void
order_free(struct swim *s)
{
	size_t i;

	for (i = 0; i < s->norder; i++)
		free(s->order[i]);
	free(s->order);
	s->order = NULL;
	s->norder = s->next = 0;
}

/* order_build - every live member but us, shuffled */
static void
order_build(struct swim *s)
{
	size_t i, j;
	char *tmp;

	order_free(s);
	if ((s->order = calloc(s->t->n + 1, sizeof(*s->order))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < s->t->n; i++)
		if (live(s->t->m[i]) && !is_self(s, s->t->m[i]->name))
			s->order[s->norder++] = xstrdup(s->t->m[i]->name);
	for (i = s->norder; i > 1; i--) {
		j = rnd(s) % i;
		tmp = s->order[i - 1];
		s->order[i - 1] = s->order[j];
		s->order[j] = tmp;
	}
}

/* next_target - the next member of the round, a new round at the end */
static struct member *
next_target(struct swim *s)
{
	struct member *m;
	int rounds;

	for (rounds = 0; rounds < 2; rounds++) {
		while (s->next < s->norder) {
			m = member_lookup(s->t, s->order[s->next++]);
			if (m != NULL && live(m))
				return m;
		}
		order_build(s);
	}
	return NULL;
}

/* pick - up to n random live members other than us and `not` */
static size_t
pick(struct swim *s, const char *not, int with_dead, uint64_t now,
    struct member **out, size_t n)
{
	size_t i, k = 0, seen = 0, j;
	struct member *m;

	/* Reservoir sampling over the table. */
	for (i = 0; i < s->t->n; i++) {
		m = s->t->m[i];
		if (is_self(s, m->name) || (not && strcmp(m->name, not) == 0))
			continue;
		/* The recently dead hear of it too: one that is in fact
		   alive (a force-leave, a partition) can then refute. */
		if (!live(m) && !(with_dead && (double)now / 1000 - m->since <
		    (double)s->o.gossip_to_dead / 1000))
			continue;
		seen++;
		if (k < n)
			out[k++] = m;
		else if ((j = rnd(s) % seen) < n)
			out[j] = m;
	}
	return k;
}

static void
probe_start(struct swim *s, uint64_t now)
{
	struct member *m;
	struct buf b;

	if ((m = next_target(s)) == NULL)
		return;
	free(s->probe.name);
	memset(&s->probe, 0, sizeof(s->probe));
	s->probe.active = 1;
	s->probe.name = xstrdup(m->name);
	s->probe.seq = ++s->seq;
	s->probe.timeout_at = now + scaled(s, s->o.probe_timeout);
	s->probe.end_at = now + scaled(s, s->o.probe_interval);
	s->probes++;
	buf_init(&b);
	swim_wire_ping(&b, s->probe.seq, m->name);
	send_pkt(s, m->addr, m->port, &b, m->name);
	buf_free(&b);
}

/* probe_indirect - no ack in time: ask others, and try TCP */
static void
probe_indirect(struct swim *s, struct member *m)
{
	struct member *via[16];
	size_t n, i;
	struct buf b;

	n = pick(s, m->name, 0, 0, via, s->o.indirect_checks < 16 ?
	    s->o.indirect_checks : 16);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		swim_wire_indirect(&b, s->probe.seq, m->name, m->addr,
		    m->port, 1);
		send_pkt(s, via[i]->addr, via[i]->port, &b, via[i]->name);
	}
	buf_free(&b);
	s->probe.expect_nacks = (uint32_t)n;
	s->probe.indirect_sent = 1;
	if (s->o.tcp_probe != NULL)
		s->o.tcp_probe(s->o.ctx, m->addr, m->port, s->probe.seq);
}

/* probe_end - the verdict of one probe */
static void
probe_end(struct swim *s, uint64_t now)
{
	struct member *m;
	int d;

	s->probe.active = 0;
	if (s->probe.acked) {
		awareness_add(s, -1);
		return;
	}
	s->probe_failures++;
	/*
	 * Lifeguard: with peers to nack, a missing nack points at us
	 * rather than at the target; with none, any failure does.
	 */
	d = s->probe.expect_nacks > 0 ?
	    (int)(s->probe.expect_nacks - s->probe.nacks) : 1;
	awareness_add(s, d);
	if ((m = member_lookup(s->t, s->probe.name)) != NULL && live(m))
		suspect(s, m->name, m->incarnation, s->o.self, now);
}

static void
probe_tick(struct swim *s, uint64_t now)
{
	struct member *m;

	if (s->probe.active) {
		if (s->probe.acked || now >= s->probe.end_at)
			probe_end(s, now);
		else if (!s->probe.indirect_sent &&
		    now >= s->probe.timeout_at) {
			if ((m = member_lookup(s->t, s->probe.name)) == NULL ||
			    !live(m))
				s->probe.active = 0;
			else
				probe_indirect(s, m);
		}
	}
	if (!s->probe.active && now >= s->next_probe && !s->leaving) {
		s->next_probe = now + scaled(s, s->o.probe_interval);
		probe_start(s, now);
	}
}

/* ---- receiving ---- */

static void
reply_seq(struct swim *s, const char *addr, int port, enum swim_kind k,
    uint32_t seq)
{
	struct buf b;

	buf_init(&b);
	swim_wire_seq(&b, k, seq);
	send_pkt(s, addr, port, &b, NULL);
	buf_free(&b);
}

static void
got_ping(struct swim *s, const struct swim_wmsg *w, const char *addr,
    int port)
{
	/* A ping meant for a node that was here before us: stay silent. */
	if (w->node[0] != '\0' && !is_self(s, w->node))
		return;
	reply_seq(s, addr, port, SWIM_ACK, w->seq);
}

static void
got_ack(struct swim *s, uint32_t seq)
{
	size_t i;

	if (s->probe.active && seq == s->probe.seq) {
		s->probe.acked = 1;
		return;
	}
	for (i = 0; i < s->nrelay; i++)
		if (s->relay[i].seq == seq) {
			reply_seq(s, s->relay[i].addr, s->relay[i].port,
			    SWIM_ACK, s->relay[i].origin_seq);
			s->relay[i] = s->relay[--s->nrelay];
			return;
		}
}

static void
got_indirect(struct swim *s, const struct swim_wmsg *w, const char *addr,
    int port, uint64_t now)
{
	struct swim_relay *r;
	struct buf b;

	if (s->nrelay == SWIM_MAX_RELAYS)
		s->relay[0] = s->relay[--s->nrelay];	/* the oldest goes */
	r = &s->relay[s->nrelay++];
	memset(r, 0, sizeof(*r));
	r->seq = ++s->seq;
	r->origin_seq = w->seq;
	snprintf(r->addr, sizeof(r->addr), "%s", addr);
	r->port = port;
	r->nack = w->nack != 0;
	r->deadline = now + s->o.probe_timeout;
	buf_init(&b);
	swim_wire_ping(&b, r->seq, w->node);
	send_pkt(s, w->addr, w->port, &b, w->node);
	buf_free(&b);
}

/* event_key - an event record's key in the broadcast queue */
static int
event_key(const void *rec, size_t len, char *key, size_t n)
{
	struct attr tab[ATTR_TAB];
	char id[64];

	if (attr_index(rec, len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[A_EVENT_ID], id, sizeof(id)) < 0)
		return -1;
	snprintf(key, n, "event:%s", id);
	return 0;
}

static void
got_event(struct swim *s, const struct swim_wmsg *w)
{
	char key[128];
	struct buf b;

	if (s->o.event == NULL || event_key(w->rec, w->reclen, key,
	    sizeof(key)) < 0 || s->o.event(s->o.ctx, w->rec, w->reclen) != 1)
		return;
	buf_init(&b);
	swim_wire_event(&b, w->rec, w->reclen);
	bq_add(s, key, &b);
	buf_free(&b);
}

/* swim_recv - see swim.h */
int
swim_recv(struct swim *s, const char *addr, int port, const void *p,
    size_t len, uint64_t now)
{
	const unsigned char *at = p;
	struct swim_wmsg w;
	struct member news;
	size_t left = len;
	char e[128];
	int r, n = 0;

	/* First the whole packet, then act on it. */
	while ((r = swim_wire_next(&at, &left, &w)) == 1) {
		if (w.kind == SWIM_ALIVE) {
			if (member_unpack(w.rec, w.reclen, &news, e,
			    sizeof(e)) < 0) {
				r = -1;
				break;
			}
			member_clear(&news);
		}
		n++;
	}
	if (r < 0 || n == 0) {
		s->bad_packets++;
		return -1;
	}
	at = p;
	left = len;
	while (swim_wire_next(&at, &left, &w) == 1) {
		switch (w.kind) {
		case SWIM_PING:
			got_ping(s, &w, addr, port);
			break;
		case SWIM_ACK:
			got_ack(s, w.seq);
			break;
		case SWIM_NACK:
			if (s->probe.active && w.seq == s->probe.seq)
				s->probe.nacks++;
			break;
		case SWIM_INDIRECT:
			got_indirect(s, &w, addr, port, now);
			break;
		case SWIM_ALIVE:
			if (member_unpack(w.rec, w.reclen, &news, e,
			    sizeof(e)) == 0) {
				alive(s, &news, now);
				member_clear(&news);
			}
			break;
		case SWIM_SUSPECT:
			suspect(s, w.node, w.inc, w.from, now);
			break;
		case SWIM_DEAD:
			dead(s, w.node, w.inc, w.from, w.prune, now);
			break;
		case SWIM_EVENT:
			got_event(s, &w);
			break;
		}
	}
	return 0;
}

/* ---- timers ---- */

static void
relay_tick(struct swim *s, uint64_t now)
{
	size_t i;

	for (i = s->nrelay; i-- > 0;)
		if (now >= s->relay[i].deadline) {
			if (s->relay[i].nack)
				reply_seq(s, s->relay[i].addr,
				    s->relay[i].port, SWIM_NACK,
				    s->relay[i].origin_seq);
			s->relay[i] = s->relay[--s->nrelay];
		}
}

static void
sus_tick(struct swim *s, uint64_t now)
{
	struct swim_suspect *x;
	uint32_t inc;
	char *name;
	size_t i;

	for (i = s->nsus; i-- > 0;) {
		x = &s->sus[i];
		if (now < x->start + x->timeout)
			continue;
		name = xstrdup(x->name);
		inc = x->incarnation;
		sus_drop(s, x);
		declare_dead(s, name, inc, now);
		free(name);
	}
}

static void
gossip_tick(struct swim *s, uint64_t now)
{
	struct member *to[16];
	size_t n, i;
	struct buf b;

	if (now < s->next_gossip)
		return;
	s->next_gossip = now + s->o.gossip_interval;
	if (s->nbq == 0)
		return;
	n = pick(s, NULL, 1, now, to, s->o.gossip_nodes < 16 ?
	    s->o.gossip_nodes : 16);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		send_pkt(s, to[i]->addr, to[i]->port, &b, to[i]->name);
	}
	buf_free(&b);
}

/* swim_tick - see swim.h */
void
swim_tick(struct swim *s, uint64_t now)
{
	relay_tick(s, now);
	probe_tick(s, now);
	sus_tick(s, now);
	gossip_tick(s, now);
}

/* ---- the rest of the API ---- */

void
swim_init(struct swim *s, const struct swim_opts *o, struct member_table *t,
    uint64_t now)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	s->t = t;
	s->rng = o->seed ? o->seed : 0x9e3779b97f4a7c15ULL;
	if (s->o.awareness_max == 0)
		s->o.awareness_max = 1;
	/* Start probing within one interval, not all nodes at once. */
	s->next_probe = now + rnd(s) % (o->probe_interval + 1);
	s->next_gossip = now;
	bq_alive(s, self_rec(s));
}

void
swim_free(struct swim *s)
{
	size_t i;

	order_free(s);
	while (s->nsus > 0)
		sus_drop(s, &s->sus[s->nsus - 1]);
	for (i = 0; i < s->nbq; i++) {
		free(s->bq[i].key);
		buf_free(&s->bq[i].msg);
	}
	free(s->bq);
	free(s->probe.name);
	memset(s, 0, sizeof(*s));
}

void
swim_tcp_result(struct swim *s, uint32_t seq, int ok, uint64_t now)
{
	if (ok && s->probe.active && seq == s->probe.seq)
		s->probe.acked = 1;
}

/* swim_news - see swim.h */
void
swim_news(struct swim *s, const struct member *m, enum member_result r,
    uint64_t now)
{
	struct swim_suspect *x;

	if (is_self(s, m->name)) {
		if (!s->leaving)
			bq_alive(s, m);
		return;
	}
	if (r != MEMBER_ADDED && r != MEMBER_CHANGED)
		return;
	if ((x = sus_find(s, m->name)) != NULL &&
	    (m->incarnation > x->incarnation || !live(m)))
		sus_drop(s, x);
	if (live(m))
		bq_alive(s, m);
	else
		bq_status(s, SWIM_DEAD, m->name, m->incarnation,
		    m->status == MEMBER_LEFT ? m->name : s->o.self, 0);
}

void
swim_leave(struct swim *s, uint64_t now)
{
	struct member *me = self_rec(s);

	s->leaving = 1;
	member_set_status(s->t, me->name, MEMBER_LEFT, me->incarnation,
	    (double)now / 1000);
	changed(s, me, MEMBER_CHANGED);
	bq_status(s, SWIM_DEAD, me->name, me->incarnation, me->name, 0);
}

int
swim_force_leave(struct swim *s, const char *name, int prune, uint64_t now)
{
	struct member *m;

	if (is_self(s, name) || (m = member_lookup(s->t, name)) == NULL)
		return -1;
	/* As a leave of its own: an alive node refutes it. */
	dead(s, name, m->incarnation, name, prune, now);
	return 0;
}

void
swim_event(struct swim *s, const void *rec, size_t len)
{
	char key[128];
	struct buf b;

	if (event_key(rec, len, key, sizeof(key)) < 0)
		return;
	buf_init(&b);
	swim_wire_event(&b, rec, len);
	bq_add(s, key, &b);
	buf_free(&b);
}

size_t
swim_pending(const struct swim *s)
{
	return s->nbq;
}

int
swim_is_suspect(const struct swim *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nsus; i++)
		if (strcmp(s->sus[i].name, name) == 0)
			return 1;
	return 0;
}
