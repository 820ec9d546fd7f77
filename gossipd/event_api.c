/*
 * event_api.c - user events in cairn-gossipd: the requests on gossipd.sock
 * (MSG_GOSSIP_EVENT_FIRE, MSG_GOSSIP_EVENT_LIST with blocking), events
 * arriving from the network (event_api_receive, called by the SWIM
 * layer), and delivery to this agent: the filters, then the ring.
 *
 *	event_api_init(loop, cfg, self)	 at start, before any request
 *	event_handle_fire, _list	 handlers for gossipd's socket table
 *	event_api_receive(rec, len)	 a record from a peer: 1 new, 0 seen,
 *					 -1 malformed
 *	event_api_stop()		 at exit
 *
 * A fire builds the record (a fresh UUID, the next Lamport time), hands
 * it to gossip_broadcast_event for the network, and delivers it here as a
 * record from a peer would be. Delivery is in arrival order through one
 * queue: an event with a service filter waits for this agent's services
 * from cairn-checkd (MSG_AGENT_SERVICES); when checkd cannot answer, such
 * an event is not delivered here (logged at debug). An event that passes
 * the filters goes into the ring and wakes the blocked lists; the answer
 * to a fire waits for its own delivery, so a list right after a fire
 * shows it (when it is for this node).
 *
 * A list with an index blocks until the index of what it would list
 * differs (agent/event_endpoint.go: the index is not monotonic, so any
 * change counts) or its wait is over: A_WAIT ms, 5 minutes by default, 10
 * at most, without Consul's jitter (its event endpoint has none either).
 *
 * Remote exec: an event named "_rexec" is logged and dropped, as Consul
 * does with disable_remote_exec (its default). With "disable_remote_exec":
 * false it goes, once past the filters, into a ring of its own, which
 * only a list naming it shows: cairn-checkd (rexec.c) follows that list
 * and runs the jobs; /v1/event/list without a name never shows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <unistd.h>

#include "daemon.h"
#include "event.h"
#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "server.h"

/*
 * gossip_broadcast_event - spread a record (event_encode's bytes) to the
 * other members. Provided by gossipd's SWIM layer, not by this file
 * (declared in event.h).
 */
extern void gossip_broadcast_event(const void *rec, size_t len);

#define EVENT_WAIT_DEFAULT_MS	(5u * 60 * 1000)	/* Consul's default */
#define EVENT_WAIT_MAX_MS	(10u * 60 * 1000)	/* and its cap */
#define EVENT_WAITERS_MAX	4096	/* blocked lists held at once */
#define EVENT_PENDING_MAX	1024	/* events waiting for delivery */
#define EVENT_CHECKD_TIMEOUT	2.0	/* seconds for the services */
#define EVENT_REXEC		"_rexec"

/* Whom to answer later: looked up by serial, never kept as a pointer. */
struct event_peer {
	struct server	*srv;		/* NULL: nobody */
	uint64_t	 serial;
	uint16_t	 type;
	uint32_t	 id;
};

/* A list request held until the index changes or its wait is over. */
struct event_waiter {
	struct event_peer		 peer;
	char				*name;	/* NULL: every event */
	uint64_t			 index;
	ev_timer			 timer;
	LIST_ENTRY(event_waiter)	 entry;
};

/* An event waiting for delivery here, and maybe a fire to answer. */
struct event_pending {
	struct event			 ev;
	struct event_peer		 fire;
	struct buf			 reply;	/* the fire's answer */
	STAILQ_ENTRY(event_pending)	 entry;
};

/* This agent's services, as checkd lists them. */
struct event_svcs {
	struct event_service	*s;
	char			**strs;	/* every string, to free */
	size_t			 n, nstrs;
};

static struct {
	struct ev_loop		*loop;
	char			*self;
	struct event_store	 st;
	struct event_store	 internal;	/* "_rexec", when enabled */
	int			 rexec;		/* !disable_remote_exec */
	struct rpc		 checkd;
	int			 asking;	/* a services call in flight */
	int			 running;
	LIST_HEAD(, event_waiter) waiters;
	size_t			 nwaiters;
	STAILQ_HEAD(, event_pending) pending;
	size_t			 npending;
} E;

static void	event_deliver_run(void);

/* event_peer_set - remember the asker of request f on sc */
static void
event_peer_set(struct event_peer *p, struct sconn *sc, const struct frame *f)
{
	p->srv = sc->srv;
	p->serial = sc->serial;
	p->type = f->type;
	p->id = f->id;
}

/* event_peer_reply - answer a remembered request, if its asker is there */
static void
event_peer_reply(const struct event_peer *p, const void *body, size_t len)
{
	struct frame req;
	struct sconn *sc;

	if (p->srv == NULL || (sc = server_find(p->srv, p->serial)) == NULL)
		return;
	memset(&req, 0, sizeof(req));
	req.type = p->type;
	req.id = p->id;
	conn_reply(&sc->conn, &req, body, len);
}

/* event_ring - where events named name are kept */
static struct event_store *
event_ring(const char *name)
{
	return name != NULL && strcmp(name, EVENT_REXEC) == 0 ? &E.internal :
	    &E.st;
}

/* event_list_body - A_INDEX and the ring's events named name, oldest first */
static void
event_list_body(struct buf *b, const char *name)
{
	const struct event_store *st = event_ring(name);
	const struct event *ev;
	size_t i, nest;

	attr_put_u64(b, A_INDEX, event_store_index(st, name));
	for (i = 0; (ev = event_store_get(st, i)) != NULL; i++) {
		if (name != NULL && strcmp(ev->name, name) != 0)
			continue;
		nest = attr_nest_begin(b, A_ENTRY);
		event_encode(b, ev);
		attr_nest_end(b, nest);
	}
}

/* event_waiter_free - unlink and free a held list */
static void
event_waiter_free(struct event_waiter *w)
{
	ev_timer_stop(E.loop, &w->timer);
	LIST_REMOVE(w, entry);
	E.nwaiters--;
	free(w->name);
	free(w);
}

/* event_waiter_answer - answer a held list with what is there now */
static void
event_waiter_answer(struct event_waiter *w)
{
	struct buf b;

	buf_init(&b);
	event_list_body(&b, w->name);
	event_peer_reply(&w->peer, buf_head(&b), buf_used(&b));
	buf_free(&b);
	event_waiter_free(w);
}

/* event_waiter_timeout_cb - the wait is over: answer as things are */
static void
event_waiter_timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	event_waiter_answer(t->data);
}

/* event_waiters_wake - the ring changed: answer lists whose index moved */
static void
event_waiters_wake(void)
{
	struct event_waiter *w, *next;

	for (w = LIST_FIRST(&E.waiters); w != NULL; w = next) {
		next = LIST_NEXT(w, entry);
		if (event_store_index(event_ring(w->name), w->name) !=
		    w->index)
			event_waiter_answer(w);
	}
}

/* event_waiters_sweep - forget held lists whose asker has gone */
static void
event_waiters_sweep(void)
{
	struct event_waiter *w, *next;

	for (w = LIST_FIRST(&E.waiters); w != NULL; w = next) {
		next = LIST_NEXT(w, entry);
		if (server_find(w->peer.srv, w->peer.serial) == NULL)
			event_waiter_free(w);
	}
}

/* event_svcs_free - free a services list */
static void
event_svcs_free(struct event_svcs *sv)
{
	size_t i;

	for (i = 0; i < sv->n; i++)
		free((void *)sv->s[i].tags);
	for (i = 0; i < sv->nstrs; i++)
		free(sv->strs[i]);
	free(sv->s);
	free(sv->strs);
	memset(sv, 0, sizeof(*sv));
}

/* event_svcs_str - a string of the list, kept for freeing */
static char *
event_svcs_str(struct event_svcs *sv, const struct attr *a, size_t *cap)
{
	char *s, **ns;

	if (sv->nstrs == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((ns = realloc(sv->strs, *cap * sizeof(*ns))) == NULL)
			log_fatal("out of memory");
		sv->strs = ns;
	}
	if ((s = malloc(a->len + 1)) == NULL)
		log_fatal("out of memory");
	if (a->len > 0)
		memcpy(s, a->val, a->len);
	s[a->len] = '\0';
	sv->strs[sv->nstrs++] = s;
	return s;
}

/*
 * event_svcs_parse - MSG_AGENT_SERVICES' A_SERVICE_REC{A_SERVICE_ID
 * A_SERVICE_NAME A_TAG...} records into a list; -1 if malformed
 */
static int
event_svcs_parse(const struct frame *f, struct event_svcs *sv)
{
	struct attr_iter it, rit;
	struct attr a, r, tab[ATTR_TAB];
	struct event_service *s;
	const char **tags, **nt;
	size_t scap = 0, strcap = 0, ntags, tcap;

	memset(sv, 0, sizeof(*sv));
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_SERVICE_REC)
			continue;
		if (attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
			goto bad;
		if (sv->n == scap) {
			scap = scap ? scap * 2 : 8;
			if ((s = realloc(sv->s, scap * sizeof(*s))) == NULL)
				log_fatal("out of memory");
			sv->s = s;
		}
		s = &sv->s[sv->n++];
		memset(s, 0, sizeof(*s));
		s->id = event_svcs_str(sv, &tab[A_SERVICE_ID], &strcap);
		s->name = event_svcs_str(sv, &tab[A_SERVICE_NAME], &strcap);
		tags = NULL;
		ntags = tcap = 0;
		attr_iter_init(&rit, a.val, a.len);
		while (attr_next(&rit, &r) == 1) {
			if (r.type != A_TAG)
				continue;
			if (ntags == tcap) {
				tcap = tcap ? tcap * 2 : 4;
				if ((nt = realloc(tags, tcap *
				    sizeof(*nt))) == NULL)
					log_fatal("out of memory");
				tags = nt;
			}
			tags[ntags++] = event_svcs_str(sv, &r, &strcap);
		}
		s->tags = tags;
		s->ntags = ntags;
	}
	return 0;
bad:
	event_svcs_free(sv);
	return -1;
}

/* event_pending_done - answer its fire, unlink and free the head */
static void
event_pending_done(struct event_pending *p)
{
	if (p->fire.srv != NULL)
		event_peer_reply(&p->fire, buf_head(&p->reply),
		    buf_used(&p->reply));
	STAILQ_REMOVE_HEAD(&E.pending, entry);
	E.npending--;
	event_free(&p->ev);
	buf_free(&p->reply);
	free(p);
}

/* event_deliver - ingestUserEvent for the head, given the services */
static void
event_deliver(struct event_pending *p, const struct event_service *svcs,
    size_t nsvc)
{
	char err[512];

	if (!event_match(&p->ev, E.self, svcs, nsvc, err, sizeof(err))) {
		if (err[0] != '\0')
			log_error("%s", err);
	} else if (strcmp(p->ev.name, EVENT_REXEC) == 0 && !E.rexec)
		log_info("ignoring remote exec event (%s), disabled",
		    p->ev.id);
	else if (strcmp(p->ev.name, EVENT_REXEC) == 0) {
		log_debug("new remote exec event (%s)", p->ev.id);
		event_store_add(&E.internal, &p->ev);
		event_waiters_wake();
	} else {
		log_debug("new event: %.100s (%s)", p->ev.name, p->ev.id);
		event_store_add(&E.st, &p->ev);
		event_waiters_wake();
	}
	event_pending_done(p);
}

/* event_services_cb - checkd's services for the event at the head */
static void
event_services_cb(void *arg, const struct frame *f, const char *err)
{
	struct event_pending *p;
	struct event_svcs sv;
	char msg[256];

	E.asking = 0;
	if (!E.running || (p = STAILQ_FIRST(&E.pending)) == NULL)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_debug("event %.100s (%s) has a service filter and checkd "
		    "did not list the services (%s): not delivered here",
		    p->ev.name, p->ev.id, f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		event_pending_done(p);
	} else if (event_svcs_parse(f, &sv) < 0) {
		log_warn("checkd sent a malformed service list: event %.100s "
		    "(%s) not delivered here", p->ev.name, p->ev.id);
		event_pending_done(p);
	} else {
		event_deliver(p, sv.s, sv.n);
		event_svcs_free(&sv);
	}
	event_deliver_run();
}

/* event_deliver_run - deliver queued events in order, as far as can be */
static void
event_deliver_run(void)
{
	struct event_pending *p;
	char err[256];

	while (!E.asking && (p = STAILQ_FIRST(&E.pending)) != NULL) {
		if (!event_needs_services(&p->ev)) {
			event_deliver(p, NULL, 0);
			continue;
		}
		if (rpc_call(&E.checkd, MSG_AGENT_SERVICES, NULL, 0,
		    EVENT_CHECKD_TIMEOUT, event_services_cb, NULL, err,
		    sizeof(err)) == 0) {
			E.asking = 1;
			return;
		}
		log_debug("event %.100s (%s) has a service filter and %s: not "
		    "delivered here", p->ev.name, p->ev.id, err);
		event_pending_done(p);
	}
}

/* event_enqueue - queue ev (taken) for delivery; -1 if the queue is full */
static int
event_enqueue(struct event *ev, struct sconn *sc, const struct frame *f,
    const struct buf *reply)
{
	struct event_pending *p;

	if (E.npending >= EVENT_PENDING_MAX)
		return -1;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		log_fatal("out of memory");
	p->ev = *ev;
	memset(ev, 0, sizeof(*ev));
	buf_init(&p->reply);
	if (sc != NULL) {
		event_peer_set(&p->fire, sc, f);
		buf_append(&p->reply, buf_head(reply), buf_used(reply));
	}
	STAILQ_INSERT_TAIL(&E.pending, p, entry);
	E.npending++;
	return 0;
}

/*
 * event_attr_str - an optional string attribute as a C string: NULL when
 * absent; -1 if it holds a NUL (it could not be what was meant)
 */
static int
event_attr_str(const struct attr *a, char **out)
{
	*out = NULL;
	if (!attr_present(a))
		return 0;
	if (a->len > 0 && memchr(a->val, '\0', a->len) != NULL)
		return -1;
	*out = attr_strdup(a);
	if (*out == NULL)
		log_fatal("out of memory");
	return 0;
}

/* event_handle_fire - MSG_GOSSIP_EVENT_FIRE: build, spread, deliver here */
void
event_handle_fire(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char *name = NULL, *nf = NULL, *sf = NULL, *tf = NULL, err[512];
	struct event ev;
	struct buf rec, reply;
	size_t nest;
	int rc;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    event_attr_str(&tab[A_EVENT_NAME], &name) < 0 ||
	    event_attr_str(&tab[A_NODE_FILTER], &nf) < 0 ||
	    event_attr_str(&tab[A_SERVICE_FILTER], &sf) < 0 ||
	    event_attr_str(&tab[A_TAG_FILTER], &tf) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "malformed event request");
		goto out;
	}
	rc = event_set(&ev, name, tab[A_DATA].val, tab[A_DATA].len, nf, sf,
	    tf, err, sizeof(err));
	if (rc != EVENT_OK) {
		conn_reply_error(&sc->conn, f, rc == EVENT_TOOBIG ?
		    MSG_E_TOOBIG : MSG_E_BADREQ, "%s", err);
		goto out;
	}
	if (E.npending >= EVENT_PENDING_MAX || uuid_random(ev.id) < 0) {
		conn_reply_error(&sc->conn, f, E.npending >= EVENT_PENDING_MAX ?
		    MSG_E_UNAVAIL : MSG_E_INTERNAL, "%s",
		    E.npending >= EVENT_PENDING_MAX ? "too many events waiting "
		    "for delivery; retry shortly" : "UUID generation failed: "
		    "no random bytes");
		event_free(&ev);
		goto out;
	}
	ev.ltime = event_clock_fire(&E.st);
	ev.version = EVENT_VERSION;
	/* Our own event, gossiped back to us, is not new. */
	event_seen(&E.st, ev.id);
	buf_init(&rec);
	event_encode(&rec, &ev);
	gossip_broadcast_event(buf_head(&rec), buf_used(&rec));
	buf_init(&reply);
	nest = attr_nest_begin(&reply, A_ENTRY);
	buf_append(&reply, buf_head(&rec), buf_used(&rec));
	attr_nest_end(&reply, nest);
	log_debug("firing event %.100s (%s)", ev.name, ev.id);
	event_enqueue(&ev, sc, f, &reply);
	buf_free(&rec);
	buf_free(&reply);
	event_deliver_run();
out:
	free(name);
	free(nf);
	free(sf);
	free(tf);
}

/* event_handle_list - MSG_GOSSIP_EVENT_LIST, held while the index stays */
void
event_handle_list(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct event_waiter *w;
	uint64_t index = 0, wait = EVENT_WAIT_DEFAULT_MS;
	char *name = NULL;
	struct buf b;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    event_attr_str(&tab[A_EVENT_NAME], &name) < 0 ||
	    (attr_present(&tab[A_INDEX]) && attr_u64(&tab[A_INDEX],
	    &index) < 0) ||
	    (attr_present(&tab[A_WAIT]) && attr_u64(&tab[A_WAIT],
	    &wait) < 0)) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ,
		    "malformed event list request");
		free(name);
		return;
	}
	if (name != NULL && *name == '\0') {
		free(name);
		name = NULL;
	}
	if (wait > EVENT_WAIT_MAX_MS)
		wait = EVENT_WAIT_MAX_MS;
	if (E.nwaiters >= EVENT_WAITERS_MAX)
		event_waiters_sweep();
	if (index == 0 || wait == 0 ||
	    event_store_index(event_ring(name), name) != index ||
	    E.nwaiters >= EVENT_WAITERS_MAX) {
		buf_init(&b);
		event_list_body(&b, name);
		conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
		buf_free(&b);
		free(name);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		log_fatal("out of memory");
	event_peer_set(&w->peer, sc, f);
	w->name = name;
	w->index = index;
	ev_timer_init(&w->timer, event_waiter_timeout_cb, (double)wait / 1000,
	    0.);
	w->timer.data = w;
	ev_timer_start(E.loop, &w->timer);
	LIST_INSERT_HEAD(&E.waiters, w, entry);
	E.nwaiters++;
}

/* event_api_receive - a record from the network; see the file comment */
int
event_api_receive(const void *rec, size_t len)
{
	struct event ev;
	char err[256];
	int seen;

	if (!E.running)
		return -1;
	if (event_decode(rec, len, &ev, err, sizeof(err)) < 0) {
		log_warn("dropping a user event from the network: %s", err);
		return -1;
	}
	/* serf witnesses the time of everything it hears. */
	event_clock_witness(&E.st, ev.ltime);
	if ((seen = event_seen(&E.st, ev.id)) != 0) {
		event_free(&ev);
		return seen > 0 ? 0 : -1;
	}
	if (ev.version > EVENT_VERSION)
		log_warn("Event version %u may have unsupported features "
		    "(%.100s)", ev.version, ev.name);
	if (event_enqueue(&ev, NULL, NULL, NULL) < 0) {
		log_warn("too many events waiting for delivery: event %.100s "
		    "(%s) not delivered here", ev.name, ev.id);
		event_free(&ev);
		return 1;	/* still new: the others may take it */
	}
	event_deliver_run();
	return 1;
}

/* event_api_init - the ring, and the connection to checkd */
void
event_api_init(struct ev_loop *loop, struct config *cfg, const char *self)
{
	char path[4200];

	memset(&E, 0, sizeof(E));
	E.loop = loop;
	if ((E.self = strdup(self)) == NULL)
		log_fatal("out of memory");
	event_store_init(&E.st);
	event_store_init(&E.internal);
	E.rexec = !cfg->disable_remote_exec;
	LIST_INIT(&E.waiters);
	STAILQ_INIT(&E.pending);
	daemon_sock_path(cfg, "checkd", path, sizeof(path));
	rpc_init(&E.checkd, loop, path, "gossipd", "checkd");
	E.running = 1;
}

/* event_api_stop - drop held lists and queued events, free the ring */
void
event_api_stop(void)
{
	struct event_pending *p;

	if (!E.running)
		return;
	E.running = 0;
	while (!LIST_EMPTY(&E.waiters))
		event_waiter_free(LIST_FIRST(&E.waiters));
	while ((p = STAILQ_FIRST(&E.pending)) != NULL) {
		p->fire.srv = NULL;
		event_pending_done(p);
	}
	rpc_stop(&E.checkd);
	event_store_free(&E.st);
	event_store_free(&E.internal);
	free(E.self);
	E.self = NULL;
}
