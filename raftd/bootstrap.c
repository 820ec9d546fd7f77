/*
 * bootstrap.c - bootstrap_expect: the servers agree on the first
 * configuration before any of them writes it.
 *
 * Every server of a new cluster writes the same configuration entry at
 * index 1, term 1, so the set must be the same on all of them, and no
 * cluster may exist already. Once gossip shows bootstrap_expect servers,
 * this server asks each of the set what it sees (MSG_RAFT_BOOTSTRAP):
 *
 *	- one of them has a log already: a cluster exists (or is being
 *	  born); this server never bootstraps, and that cluster's leader
 *	  adds it (Consul: "Existing Raft peers reported by ...");
 *	- all of them see exactly this set: write it;
 *	- otherwise gossip has not settled: ask again later.
 *
 * Two servers that saw different sets could otherwise start two
 * clusters, with two different entries at index 1, term 1.
 */
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "raftd.h"

#define ASK_TIMEOUT	2.0

static struct {
	uint64_t		 round;		/* older replies: stale */
	int			 asking;
	size_t			 waiting;
	int			 differ;	/* someone saw another set */
	struct raft_config	 set;
} B;

static int
same_set(const struct raft_config *a, const struct raft_config *b)
{
	return a->n == b->n &&
	    memcmp(a->ids, b->ids, a->n * sizeof(a->ids[0])) == 0;
}

/* answer - one server's view; the round is over when all have answered */
static void
answer(void *arg, const struct frame *f, const char *err)
{
	struct attr tab[ATTR_TAB];
	struct raft_config theirs;
	uint64_t tag = (uint64_t)(uintptr_t)arg, index = 0, term = 0;
	uint64_t round = tag >> 8;
	struct peer *p = peers_find(B.set.ids[tag & 0xff]);

	if (round != B.round || !B.asking)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0)
		B.differ = 1;	/* unreachable, or too old to say: retry */
	else {
		attr_u64(&tab[A_INDEX], &index);
		attr_u64(&tab[A_TERM], &term);
		memset(&theirs, 0, sizeof(theirs));
		if (tab[A_CONFIG].val == NULL || raft_config_decode(
		    tab[A_CONFIG].val, tab[A_CONFIG].len, &theirs) < 0 ||
		    !same_set(&theirs, &B.set))
			B.differ = 1;
		if (index > 0 || term > 0) {
			log_info("server %s already has a Raft log (index %"
			    PRIu64 ", term %" PRIu64 "); not bootstrapping: "
			    "its leader will add this server",
			    p != NULL ? p->node : "?", index, term);
			R.expect = 0;
			B.asking = 0;
			return;
		}
	}
	if (--B.waiting > 0)
		return;
	B.asking = 0;
	if (B.differ)
		log_debug("bootstrap: the servers do not see the same set yet");
	else
		node_bootstrap(&B.set);
}

/*
 * boot_ask - start a round of questions about set c; the bootstrap
 * happens in answer() if they all agree. Nothing when a round is on.
 */
void
boot_ask(const struct raft_config *c)
{
	char err[256];
	struct peer *p;
	size_t i;

	if (B.asking)
		return;
	for (i = 0; i < c->n; i++)
		if (c->ids[i] != R.id && ((p = peers_find(c->ids[i])) == NULL ||
		    !p->dialed || !rpc_is_up(&p->rpc)))
			return;	/* not connected yet: the next try */
	B.round++;
	B.set = *c;
	B.differ = 0;
	B.waiting = 0;
	B.asking = 1;
	for (i = 0; i < c->n; i++) {
		if (c->ids[i] == R.id)
			continue;
		p = peers_find(c->ids[i]);
		if (rpc_call(&p->rpc, MSG_RAFT_BOOTSTRAP, NULL, 0, ASK_TIMEOUT,
		    answer, (void *)(uintptr_t)(B.round << 8 | i), err,
		    sizeof(err)) < 0)
			B.differ = 1;
		else
			B.waiting++;
	}
	if (B.waiting == 0) {
		B.asking = 0;
		if (!B.differ)
			node_bootstrap(&B.set);
	}
}

/* boot_reply - what this server sees, for another one about to bootstrap */
void
boot_reply(struct sconn *sc, const struct frame *f)
{
	struct raft_config c;
	struct buf b, cb;

	buf_init(&b);
	buf_init(&cb);
	attr_put_u64(&b, A_INDEX, R.log.last);
	attr_put_u64(&b, A_TERM, R.started ? R.r.term : 0);
	if (R.expect > 0 && peers_bootstrap_set(&c) > 0) {
		raft_config_encode(&c, &cb);
		attr_put(&b, A_CONFIG, buf_head(&cb), buf_used(&cb));
	}
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&cb);
	buf_free(&b);
}
