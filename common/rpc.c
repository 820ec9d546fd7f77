/*
 * rpc.c - reconnecting request/reply client. See rpc.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "server.h"
#include "sock.h"

/* A Unix connect costs next to nothing: retry often, so a restarted
 * neighbour is back in use within a second. */
#define BACKOFF_MIN	0.1
#define BACKOFF_MAX	1.0

static void	rpc_connect(struct rpc *);

/* rpc_fail_all - every call in flight fails with why */
static void
rpc_fail_all(struct rpc *r, const char *why)
{
	struct rpc_call *call;
	unsigned i;

	for (i = 0; i < RPC_BUCKETS; i++)
		while ((call = LIST_FIRST(&r->pending[i])) != NULL) {
			LIST_REMOVE(call, entry);
			r->npending--;
			ev_timer_stop(r->loop, &call->timer);
			call->cb(call->arg, NULL, why);
			free(call);
		}
}

/* rpc_retry_cb - try connecting again */
static void
rpc_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	rpc_connect(w->data);
}

/* rpc_schedule - reconnect after the current backoff, then double it */
static void
rpc_schedule(struct rpc *r)
{
	if (r->stopped)
		return;
	ev_timer_set(&r->retry, r->backoff, 0);
	ev_timer_start(r->loop, &r->retry);
	r->backoff *= 2;
	if (r->backoff > BACKOFF_MAX)
		r->backoff = BACKOFF_MAX;
}

/* rpc_close_cb - the peer went away: fail calls, tell the owner, retry */
static void
rpc_close_cb(struct conn *c, const char *why)
{
	struct rpc *r = c->data;
	char msg[192];
	int was_up = r->state == RPC_UP;

	r->state = RPC_DOWN;
	conn_release(c);
	if (was_up && !r->stopped)
		log_warn("lost connection to %s: %s; reconnecting", r->peer,
		    why);
	snprintf(msg, sizeof(msg), "connection to %s lost", r->peer);
	rpc_fail_all(r, msg);
	if (was_up && r->on_down != NULL)
		r->on_down(r, why);
	rpc_schedule(r);
}

/* rpc_lookup - find and unlink the call with this id */
static struct rpc_call *
rpc_lookup(struct rpc *r, uint32_t id)
{
	struct rpc_call *call;

	LIST_FOREACH(call, &r->pending[id % RPC_BUCKETS], entry)
		if (call->id == id) {
			LIST_REMOVE(call, entry);
			r->npending--;
			return call;
		}
	return NULL;
}

/* rpc_frame_cb - a reply completes its call; anything else is a push */
static void
rpc_frame_cb(struct conn *c, const struct frame *f)
{
	struct rpc *r = c->data;
	struct rpc_call *call;

	if (r->state == RPC_HELLO) {
		if (f->type != MSG_HELLO || !(f->flags & FRAME_REPLY) ||
		    (f->flags & FRAME_ERROR)) {
			log_warn("%s: bad HELLO reply; closing", r->peer);
			conn_close(c, "bad HELLO reply");
			return;
		}
		r->state = RPC_UP;
		r->backoff = BACKOFF_MIN;
		if (r->logged_down)
			log_info("connected to %s", r->peer);
		r->logged_down = 0;
		if (r->on_up != NULL)
			r->on_up(r);
		return;
	}
	if (!(f->flags & FRAME_REPLY)) {
		if (r->on_push != NULL)
			r->on_push(r, f);
		return;
	}
	if ((call = rpc_lookup(r, f->id)) == NULL)
		return;		/* timed out already */
	ev_timer_stop(r->loop, &call->timer);
	call->cb(call->arg, f, NULL);
	free(call);
}

/* rpc_connect - connect and send HELLO, or schedule another try */
static void
rpc_connect(struct rpc *r)
{
	char err[256];
	struct buf b;
	int fd;

	if (r->stopped || r->state != RPC_DOWN)
		return;
	/*
	 * A TCP connect completes later; the HELLO waits in the output
	 * buffer, and a refused connect shows as a write error that closes
	 * the conn and schedules the next try, as any other loss does.
	 */
	if (r->port > 0)
		fd = sock_tcp_connect(r->host, r->port, err, sizeof(err));
	else
		fd = sock_unix_connect(r->path, err, sizeof(err));
	if (fd < 0) {
		if (!r->logged_down)
			log_info("%s not reachable yet (%s); will retry",
			    r->peer, err);
		r->logged_down = 1;
		rpc_schedule(r);
		return;
	}
	conn_init(&r->conn, r->loop, fd, r->peer, rpc_frame_cb, rpc_close_cb,
	    r);
	r->state = RPC_HELLO;
	buf_init(&b);
	server_hello_body(&b, r->program);
	conn_send(&r->conn, MSG_HELLO, 0, 0, 0, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* rpc_setup - everything but the address */
static void
rpc_setup(struct rpc *r, struct ev_loop *loop, const char *program,
    const char *peer)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->program = program;
	r->peer = peer;
	r->backoff = BACKOFF_MIN;
	r->next_id = 1;
	for (i = 0; i < RPC_BUCKETS; i++)
		LIST_INIT(&r->pending[i]);
	ev_timer_init(&r->retry, rpc_retry_cb, 0, 0);
	r->retry.data = r;
	r->state = RPC_DOWN;
}

void
rpc_init(struct rpc *r, struct ev_loop *loop, const char *path,
    const char *program, const char *peer)
{
	rpc_setup(r, loop, program, peer);
	snprintf(r->path, sizeof(r->path), "%s", path);
	rpc_connect(r);
}

void
rpc_init_tcp(struct rpc *r, struct ev_loop *loop, const char *ip, int port,
    const char *program, const char *peer)
{
	rpc_setup(r, loop, program, peer);
	snprintf(r->host, sizeof(r->host), "%s", ip);
	r->port = port;
	rpc_connect(r);
}

int
rpc_is_up(const struct rpc *r)
{
	return r->state == RPC_UP;
}

/* rpc_timeout_cb - a call that got no answer in time */
static void
rpc_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rpc_call *call = w->data;
	struct rpc *r = call->rpc;
	char msg[128];

	LIST_REMOVE(call, entry);
	r->npending--;
	snprintf(msg, sizeof(msg), "timed out waiting for %s", r->peer);
	call->cb(call->arg, NULL, msg);
	free(call);
}

int
rpc_call(struct rpc *r, uint16_t type, const void *body, size_t len,
    double timeout, rpc_cb *cb, void *arg, char *err, size_t errlen)
{
	struct rpc_call *call;

	if (r->state != RPC_UP) {
		snprintf(err, errlen, "%s is not running", r->peer);
		return -1;
	}
	if ((call = calloc(1, sizeof(*call))) == NULL)
		log_fatal("out of memory");
	/* Ids wrap; 0 is kept for pushes. */
	if ((call->id = r->next_id++) == 0)
		call->id = r->next_id++;
	call->cb = cb;
	call->arg = arg;
	call->rpc = r;
	ev_timer_init(&call->timer, rpc_timeout_cb, timeout, 0);
	call->timer.data = call;
	ev_timer_start(r->loop, &call->timer);
	LIST_INSERT_HEAD(&r->pending[call->id % RPC_BUCKETS], call, entry);
	r->npending++;
	conn_send(&r->conn, type, 0, call->id, 0, body, len);
	return 0;
}

int
rpc_send(struct rpc *r, uint16_t type, const void *body, size_t len)
{
	if (r->state != RPC_UP)
		return -1;
	conn_send(&r->conn, type, 0, 0, 0, body, len);
	return 0;
}

/* rpc_stop - close for good; calls in flight fail */
void
rpc_write_now(struct rpc *r)
{
	if (r->state != RPC_DOWN)
		conn_write_now(&r->conn);
}

void
rpc_stop(struct rpc *r)
{
	r->stopped = 1;
	ev_timer_stop(r->loop, &r->retry);
	if (r->state != RPC_DOWN)
		conn_close(&r->conn, "stopping");
	else
		rpc_fail_all(r, "stopping");
}
