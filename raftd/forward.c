/*
 * forward.c - requests a follower relays to the leader, and what becomes
 * of them when the leader changes underneath.
 *
 * A leader that freezes (SIGSTOP, a stalled disk) keeps the connection
 * open, so a forwarded request would wait out its whole timeout. Once
 * another leader is known, a read is simply sent again (reads have no
 * effect), and a write is answered at once as hashicorp/raft answers
 * ErrLeadershipLost: the old leader may or may not commit it, and only
 * the writer can decide whether to retry. The late answer of the old
 * leader, if any, is then dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "raftd.h"

#define FORWARD_TIMEOUT	10.0

struct forward {
	struct server	*srv;
	uint64_t	 serial;	/* the requester (server_find) */
	uint32_t	 id;
	uint16_t	 type;
	raft_id		 leader;	/* sent to */
	int		 abandoned;	/* answered already; drop the reply */
	TAILQ_ENTRY(forward) entry;
	size_t		 len;		/* the body, kept for reads only */
	unsigned char	 body[];
};

static TAILQ_HEAD(, forward) forwards = TAILQ_HEAD_INITIALIZER(forwards);

/* forward_done - the leader's answer goes back to the requester as it is */
static void
forward_done(void *arg, const struct frame *f, const char *err)
{
	struct forward *fw = arg;
	struct sconn *sc;

	if (fw->abandoned) {
		free(fw);
		return;
	}
	TAILQ_REMOVE(&forwards, fw, entry);
	if ((sc = server_find(fw->srv, fw->serial)) != NULL) {
		if (f != NULL)
			conn_send(&sc->conn, fw->type, f->flags, fw->id,
			    f->status, f->body, f->len);
		else
			conn_reply_error(&sc->conn, &(struct frame){
			    .type = fw->type, .id = fw->id },
			    MSG_E_UNAVAIL, "forwarding to the leader: %s", err);
	}
	free(fw);
}

/* forward_wait - the seconds a blocking read may wait, beyond the usual */
static double
forward_wait(const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	uint64_t ms = 0;

	if (f->type != MSG_RAFT_READ ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0)
		return 0;
	attr_u64(&tab[A_WAIT], &ms);
	return (double)ms / 1000;
}

/*
 * raftd_forward - send a request to the leader and relay its answer; -1
 * when there is no leader to send it to. A request another server
 * forwarded is not forwarded again, so two servers with stale views
 * cannot bounce it between them.
 */
int
raftd_forward(struct sconn *sc, const struct frame *f)
{
	struct forward *fw;
	struct peer *p;
	size_t keep;
	char err[256];

	if (strcmp(sc->program, "raftd") == 0 || !R.started ||
	    R.r.leader == RAFT_NONE || R.r.leader == R.id ||
	    (p = peers_find(R.r.leader)) == NULL || !p->dialed ||
	    !rpc_is_up(&p->rpc))
		return -1;
	keep = f->type == MSG_RAFT_READ ? f->len : 0;
	if ((fw = malloc(sizeof(*fw) + keep)) == NULL)
		log_fatal("out of memory");
	*fw = (struct forward){ sc->srv, sc->serial, f->id, f->type,
	    R.r.leader, 0, { NULL, NULL }, keep };
	memcpy(fw->body, f->body, keep);
	if (rpc_call(&p->rpc, f->type, f->body, f->len, FORWARD_TIMEOUT +
	    forward_wait(f), forward_done, fw, err, sizeof(err)) < 0) {
		free(fw);
		return -1;
	}
	TAILQ_INSERT_TAIL(&forwards, fw, entry);
	return 0;
}

/* forward_leader_changed - settle what was sent to an earlier leader */
void
forward_leader_changed(raft_id leader)
{
	struct forward *fw, *next;
	struct sconn *sc;
	struct frame f;

	if (leader == RAFT_NONE)
		return;
	for (fw = TAILQ_FIRST(&forwards); fw != NULL; fw = next) {
		next = TAILQ_NEXT(fw, entry);
		if (fw->leader == leader)
			continue;
		TAILQ_REMOVE(&forwards, fw, entry);
		fw->abandoned = 1;
		if ((sc = server_find(fw->srv, fw->serial)) == NULL)
			continue;
		memset(&f, 0, sizeof(f));
		f.type = fw->type;
		f.id = fw->id;
		if (fw->type == MSG_RAFT_READ) {
			f.body = fw->body;
			f.len = (uint32_t)fw->len;
			raftd_request(sc, &f);
		} else
			conn_reply_error(&sc->conn, &f, MSG_E_INTERNAL,
			    "leadership lost while committing log");
	}
}
