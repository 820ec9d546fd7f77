/*
 * fresh.c - see fresh.h. One blocking catalog read at a time; its reply
 * moves the index on and asks again at once, its failure ends the epoch
 * and asks again after FRESH_RETRY.
 *
 * The read is the health of the service named "", which no registration
 * can create: any catalog read carries the index and waits for any
 * catalog change, and this one costs kvd one index lookup and an empty
 * reply. Every client agent's dnsd holds one at its server, all woken by
 * each change, so the read must cost next to nothing.
 */
#include <string.h>

#include "fresh.h"
#include "log.h"
#include "msg.h"
#include "servers.h"

static void	fresh_watch(struct fresh *);

void
fresh_reply_attrs(const void *body, size_t len, uint64_t *index, uint64_t *contact)
{
	struct attr_iter it;
	struct attr a;

	*index = *contact = 0;
	attr_iter_init(&it, body, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type == A_INDEX)
			attr_u64(&a, index);
		else if (a.type == A_LAST_CONTACT)
			attr_u64(&a, contact);
	}
}

void
fresh_lost(struct fresh *fr, const char *why)
{
	if (fr->live)
		log_info("answering every query from kvd: %s", why);
	fr->live = 0;
	fr->epoch++;
}

static void
watch_cb(void *arg, const struct frame *f, const char *err)
{
	struct fresh *fr = arg;
	uint64_t index, contact;
	char msg[256];

	fr->calling = 0;
	if (fr->stopped)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		if (f != NULL)
			err = frame_error_text(f, msg, sizeof(msg));
		fresh_lost(fr, err);
		ev_timer_set(&fr->retry, FRESH_RETRY, 0);
		ev_timer_start(fr->loop, &fr->retry);
		return;
	}
	fresh_reply_attrs(f->body, f->len, &index, &contact);
	fresh_heard(fr, index, contact);
	fresh_watch(fr);
}

void
fresh_heard(struct fresh *fr, uint64_t index, uint64_t contact)
{
	if (index == 0) {
		fresh_lost(fr, "the reply carries no catalog index");
		return;
	}
	if (index < fr->index)
		fresh_lost(fr, "the catalog index went back");
	if (index != fr->index)
		fr->changes++;
	fr->index = index;
	if (contact > fr->max_stale_ms)
		fresh_lost(fr, "the server has not heard its leader for "
		    "longer than max_stale");
	else if (!fr->live) {
		fr->live = 1;
		log_info("answering from kept replies while the catalog "
		    "stays at index %llu", (unsigned long long)index);
	}
}

static void
retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	fresh_watch(w->data);
}

/* fresh_watch - the next blocking read, from the index we have */
static void
fresh_watch(struct fresh *fr)
{
	struct buf cmd, b;
	char err[256];
	int rc;

	if (fr->stopped || fr->calling)
		return;
	buf_init(&cmd);
	attr_put_str(&cmd, A_SERVICE_NAME, "");
	if (fr->index > 0) {
		attr_put_u64(&cmd, A_INDEX, fr->index);
		attr_put_u64(&cmd, A_WAIT, FRESH_WAIT_MS);
	}
	buf_init(&b);
	if (fr->mode == SERVERS_READ_LOCAL) {
		/* A_MODE: kvd then reports when it heard its leader. */
		attr_put_u8(&cmd, A_MODE, SERVERS_READ_STALE);
		buf_append(&b, buf_head(&cmd), buf_used(&cmd));
		rc = servers_call(fr->rpc, MSG_HEALTH_SERVICE, buf_head(&b),
		    buf_used(&b), FRESH_WAIT_MS / 1000.0 + 5, watch_cb, fr,
		    err, sizeof(err));
	} else {
		servers_read_body(&b, fr->mode, MSG_HEALTH_SERVICE,
		    buf_head(&cmd), buf_used(&cmd));
		if (fr->index > 0)
			attr_put_u64(&b, A_WAIT, FRESH_WAIT_MS);
		rc = servers_call(fr->rpc, MSG_RAFT_READ, buf_head(&b),
		    buf_used(&b), FRESH_WAIT_MS / 1000.0 + 5, watch_cb, fr,
		    err, sizeof(err));
	}
	buf_free(&cmd);
	buf_free(&b);
	if (rc == 0) {
		fr->calling = 1;
		return;
	}
	fresh_lost(fr, err);
	ev_timer_set(&fr->retry, FRESH_RETRY, 0);
	ev_timer_start(fr->loop, &fr->retry);
}

void
fresh_init(struct fresh *fr, struct ev_loop *loop, struct rpc *rpc,
    int mode, uint64_t max_stale_ms)
{
	fresh_state(fr, max_stale_ms);
	fr->loop = loop;
	fr->rpc = rpc;
	fr->mode = mode;
	ev_init(&fr->retry, retry_cb);
	fr->retry.data = fr;
	/* The rpc is not up yet: the first try fails and retries. */
	ev_timer_set(&fr->retry, 0, 0);
	ev_timer_start(loop, &fr->retry);
}

void
fresh_state(struct fresh *fr, uint64_t max_stale_ms)
{
	memset(fr, 0, sizeof(*fr));
	fr->max_stale_ms = max_stale_ms;
	fr->epoch = 1;		/* 0 is no epoch: never fresh */
}

void
fresh_set_max_stale(struct fresh *fr, uint64_t max_stale_ms)
{
	fr->max_stale_ms = max_stale_ms;
}

int
fresh_is(const struct fresh *fr, uint64_t index, uint64_t epoch)
{
	return fr->live && epoch == fr->epoch && index >= fr->index;
}

void
fresh_stop(struct fresh *fr)
{
	fr->stopped = 1;
	ev_timer_stop(fr->loop, &fr->retry);
}
