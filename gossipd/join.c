/*
 * join.c - whom gossipd exchanges member lists with, and when:
 *
 *  - start_join: each address once at start; the outcome is logged.
 *  - retry_join: every address at start and then every retry_interval
 *    (default 30s) until one exchange succeeds, at most retry_max
 *    attempts (0: forever), as Consul's retryJoin does.
 *  - MSG_GOSSIP_JOIN (`cairn join`, PUT /v1/agent/join): the addresses
 *    of the request; the reply counts the nodes contacted.
 *  - anti-entropy: every 30s one random alive member (memberlist's
 *    periodic push/pull, its interval doubling above 32 members and
 *    again at 64...), which mends what SWIM's gossip missed; every 1s
 *    for the first 5s after start and after a join;
 *  - reconnect: every 10s, a random failed member (serf's, but surer).
 *
 * Addresses are "ip", "ip:port" or "[ipv6]:port", port 8301 by default.
 *
 * Leaves out: host names and cloud auto-join ("provider=..."), which
 * need a resolver; the WAN pool. (saved.c rejoins the members saved in
 * data_dir/gossip after a restart.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "gossipd.h"
#include "log.h"
#include "msg.h"

#define JOIN_RETRY_DEFAULT	30.0	/* Consul's retry_interval */
#define JOIN_AE_INTERVAL	30.0	/* memberlist's push/pull */
#define JOIN_AE_EARLY		1.0	/* ... at first, and after a join */
#define JOIN_AE_EARLY_FIRST	0.5
#define JOIN_AE_EARLY_FOR	5.0
#define JOIN_RECONNECT		10.0	/* reconnect to a failed member */
#define JOIN_ERRS_MAX		4096	/* reasons kept for one batch */

enum join_kind { JOIN_START, JOIN_RETRY, JOIN_REQUEST };

/* One set of push/pulls started together, finished when all are done. */
struct join_batch {
	enum join_kind		 kind;
	unsigned		 pending, ok, naddrs;
	struct buf		 errs;		/* "Failed to join ...; ..." */
	struct sconn		*sc;		/* JOIN_REQUEST: who asked */
	struct frame		 req;		/* its type and id */
	LIST_ENTRY(join_batch)	 entry;
};

static struct {
	char		**start, **retry;
	size_t		 nstart, nretry;
	double		 interval;
	int64_t		 retry_max;
	int64_t		 attempts;
	ev_timer	 retry_w, ae_w, reconnect_w;
	double		 ae_fast_until;	/* early anti-entropy ends */
	int		 ae_busy;
	char		 ae_name[MEMBER_NAME_MAX + 1];
	LIST_HEAD(, join_batch) batches;
} J;

/* join_collect - every string of key's arrays across the config sources */
static void
join_collect(const struct config *cfg, const char *key, char ***out,
    size_t *n)
{
	struct jv *v;
	size_t i, k;

	*out = NULL;
	*n = 0;
	/* start_join and retry_join share cfg->start_join; tell them apart
	 * by the key each source used (flags are sources too). */
	for (i = 0; i < cfg->nroots; i++) {
		if ((v = jv_get(cfg->roots[i], key)) == NULL ||
		    v->type != JV_ARR)
			continue;
		for (k = 0; k < v->n; k++) {
			if (v->items[k]->type != JV_STR)
				continue;
			if ((*out = realloc(*out, (*n + 1) *
			    sizeof(**out))) == NULL ||
			    ((*out)[*n] = strdup(v->items[k]->str)) == NULL)
				log_fatal("out of memory");
			(*n)++;
		}
	}
}

/* join_strs_free - a list from join_collect */
static void
join_strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* join_batch_new - an empty batch */
static struct join_batch *
join_batch_new(enum join_kind kind)
{
	struct join_batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		log_fatal("out of memory");
	b->kind = kind;
	buf_init(&b->errs);
	LIST_INSERT_HEAD(&J.batches, b, entry);
	return b;
}

/* join_batch_free - unlink and free */
static void
join_batch_free(struct join_batch *b)
{
	LIST_REMOVE(b, entry);
	buf_free(&b->errs);
	free(b);
}

/* join_error - keep one reason (bounded: a request may list many) */
static void
join_error(struct join_batch *b, const char *addr, const char *why)
{
	if (buf_used(&b->errs) > JOIN_ERRS_MAX)
		return;
	if (buf_used(&b->errs) > 0)
		buf_puts(&b->errs, "; ");
	buf_printf(&b->errs, "Failed to join %.100s: %.200s", addr, why);
}

static void	join_retry_cb(struct ev_loop *, ev_timer *, int);
static void	join_ae_fast(void);

/* join_batch_done - every exchange of the batch has ended */
static void
join_batch_done(struct join_batch *b)
{
	char iv[32];
	struct buf r;

	if (b->ok > 0)
		join_ae_fast();
	switch (b->kind) {
	case JOIN_START:
		if (b->ok > 0)
			log_info("start_join: joined the cluster through %u "
			    "of %u addresses", b->ok, b->naddrs);
		if (buf_used(&b->errs) > 0)
			log_warn("start_join: %s", buf_cstr(&b->errs));
		break;
	case JOIN_RETRY:
		J.attempts++;
		if (b->ok > 0) {
			log_info("retry_join: join cluster completed; synced "
			    "with %u initial agents", b->ok);
			break;
		}
		if (J.retry_max > 0 && J.attempts >= J.retry_max) {
			log_error("retry_join: max join retry exhausted after "
			    "%lld attempts: %s", (long long)J.attempts,
			    buf_cstr(&b->errs));
			break;
		}
		duration_format((int64_t)(J.interval * DUR_S), iv, sizeof(iv));
		log_warn("retry_join: join cluster failed, will retry in %s: "
		    "%s", iv, buf_cstr(&b->errs));
		ev_timer_set(&J.retry_w, J.interval, 0);
		ev_timer_start(G.loop, &J.retry_w);
		break;
	case JOIN_REQUEST:
		if (b->sc == NULL)
			break;		/* the asker went away */
		if (b->ok == 0) {
			conn_reply_error(&b->sc->conn, &b->req,
			    MSG_E_INTERNAL, "%s", buf_used(&b->errs) > 0 ?
			    buf_cstr(&b->errs) : "no address to join");
			break;
		}
		if (buf_used(&b->errs) > 0)
			log_warn("join: %s", buf_cstr(&b->errs));
		buf_init(&r);
		attr_put_u32(&r, A_RESULT, b->ok);
		conn_reply(&b->sc->conn, &b->req, buf_head(&r), buf_used(&r));
		buf_free(&r);
		break;
	}
	join_batch_free(b);
}

/* join_one_cb - one exchange of a batch ended */
static void
join_one_cb(void *arg, const char *addr, const char *err)
{
	struct join_batch *b = arg;

	if (err == NULL) {
		b->ok++;
		log_info("joined %s", addr);
	} else
		join_error(b, addr, err);
	if (--b->pending == 0)
		join_batch_done(b);
}

/* join_batch_add - start an exchange with one address of the batch */
static void
join_batch_add(struct join_batch *b, const char *text)
{
	char ip[MEMBER_ADDR_MAX], err[256];
	int port;

	b->naddrs++;
	if (member_addr_parse(text, MEMBER_PORT_DEFAULT, ip, sizeof(ip),
	    &port, err, sizeof(err)) < 0 ||
	    pushpull_start(ip, port, join_one_cb, b, err, sizeof(err)) < 0) {
		join_error(b, text, err);
		return;
	}
	b->pending++;
}

/* join_batch_go - finish at once if nothing could be started */
static void
join_batch_go(struct join_batch *b)
{
	if (b->pending == 0)
		join_batch_done(b);
}

/* join_retry_cb - one retry_join attempt: every address */
static void
join_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct join_batch *b = join_batch_new(JOIN_RETRY);
	size_t i;

	for (i = 0; i < J.nretry; i++)
		join_batch_add(b, J.retry[i]);
	join_batch_go(b);
}

static void
join_reconnect_done(void *arg, const char *addr, const char *err)
{
	if (err == NULL)
		log_info("reconnected to failed member at %s", addr);
}

/* join_ae_done - the anti-entropy exchange ended */
static void
join_ae_done(void *arg, const char *addr, const char *err)
{
	J.ae_busy = 0;
	/* Failure is for SWIM to decide; this only says why. */
	if (err != NULL)
		log_debug("anti-entropy push/pull with %s (%s) failed: %s",
		    J.ae_name, addr, err);
}

/*
 * join_ae_interval - memberlist's pushPullScale: the base interval, times
 * 1 + ceil(log2(n) - log2(32)) above 32 members, so a big cluster does
 * not exchange more often in total as it grows
 */
static double
join_ae_interval(void)
{
	double n = (double)G.members.n;

	if (n <= 32)
		return JOIN_AE_INTERVAL;
	return JOIN_AE_INTERVAL * (1 + ceil(log2(n) - log2(32)));
}

/*
 * join_ae_fast - anti-entropy every 1s for a while: members that joined
 * at the same time as this one hear of each other through gossip, but
 * when many join at once their alive records queue up behind each other
 * (three fit a packet), and a piece of news can miss a node before its
 * retransmits run out. A digest exchange with a member that has heard
 * more brings every missing record at once, over TCP.
 */
static void
join_ae_fast(void)
{
	J.ae_fast_until = ev_now(G.loop) + JOIN_AE_EARLY_FOR;
	ev_timer_stop(G.loop, &J.ae_w);
	ev_timer_set(&J.ae_w, JOIN_AE_EARLY_FIRST, JOIN_AE_EARLY);
	ev_timer_start(G.loop, &J.ae_w);
}

/* join_ae_cb - push/pull with one random alive member */
static void
join_ae_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	const struct member *m;
	char err[256];

	if (ev_now(loop) > J.ae_fast_until && w->repeat != join_ae_interval()) {
		w->repeat = join_ae_interval();
		ev_timer_again(loop, w);
	}

	if (J.ae_busy)
		return;
	if ((m = member_pick(&G.members, G.self, (uint32_t)random())) ==
	    NULL)
		return;
	snprintf(J.ae_name, sizeof(J.ae_name), "%s", m->name);
	if (pushpull_start(m->addr, m->port, join_ae_done, NULL, err,
	    sizeof(err)) < 0) {
		log_warn("anti-entropy push/pull with %s: %s", J.ae_name,
		    err);
		return;
	}
	J.ae_busy = 1;
}

/*
 * join_reconnect_cb - serf's reconnect: a push/pull with a random failed
 * member, so a partition that healed, or a node that came back at the
 * same address, is found again (each side then refutes or learns).
 * Serf tries with chance failed/alive every 30s; one try every 10s finds
 * a healed partition in seconds, not minutes, for one small exchange.
 */
static void
join_reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	const struct member *m, *pick = NULL;
	size_t i, nfailed = 0;
	char err[256];

	for (i = 0; i < G.members.n; i++) {
		m = G.members.m[i];
		if (m->status == MEMBER_FAILED &&
		    random() % (long)++nfailed == 0)
			pick = m;
	}
	if (pick == NULL)
		return;
	log_debug("trying to reconnect to failed member %s", pick->name);
	if (pushpull_start(pick->addr, pick->port, join_reconnect_done,
	    NULL, err, sizeof(err)) < 0)
		log_debug("reconnect to %s: %s", pick->name, err);
}

/* join_config - retry_interval and retry_max */
static int
join_config(struct config *cfg, char *err, size_t errlen)
{
	struct jv *v;
	int64_t ns;

	J.interval = JOIN_RETRY_DEFAULT;
	if ((v = config_raw(cfg, "retry_interval")) != NULL) {
		if (v->type != JV_STR || duration_parse(v->str, &ns) < 0 ||
		    ns <= 0) {
			snprintf(err, errlen, "%s:%d:%d: retry_interval: "
			    "expected a positive duration such as \"30s\"",
			    v->file, v->line, v->col);
			return -1;
		}
		J.interval = (double)ns / DUR_S;
	}
	J.retry_max = 0;
	if ((v = config_raw(cfg, "retry_max")) != NULL) {
		if (v->type != JV_NUM || v->num < 0 ||
		    v->num != (double)(int64_t)v->num) {
			snprintf(err, errlen, "%s:%d:%d: retry_max: expected "
			    "a count (0: retry forever)", v->file, v->line,
			    v->col);
			return -1;
		}
		J.retry_max = (int64_t)v->num;
	}
	return 0;
}

/* join_init - see gossipd.h */
int
join_init(struct config *cfg, char *err, size_t errlen)
{
	struct join_batch *b;
	size_t i;

	LIST_INIT(&J.batches);
	if (join_config(cfg, err, errlen) < 0)
		return -1;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	join_collect(cfg, "start_join", &J.start, &J.nstart);
	join_collect(cfg, "retry_join", &J.retry, &J.nretry);
	ev_timer_init(&J.retry_w, join_retry_cb, J.interval, 0);
	ev_init(&J.ae_w, join_ae_cb);
	join_ae_fast();
	ev_timer_init(&J.reconnect_w, join_reconnect_cb, JOIN_RECONNECT,
	    JOIN_RECONNECT);
	ev_timer_start(G.loop, &J.reconnect_w);
	if (J.nstart > 0) {
		log_info("start_join: joining %zu address%s", J.nstart,
		    J.nstart == 1 ? "" : "es");
		b = join_batch_new(JOIN_START);
		for (i = 0; i < J.nstart; i++)
			join_batch_add(b, J.start[i]);
		join_batch_go(b);
	}
	if (J.nretry > 0) {
		log_info("retry_join: joining %zu address%s", J.nretry,
		    J.nretry == 1 ? "" : "es");
		join_retry_cb(G.loop, &J.retry_w, 0);
	}
	return 0;
}

/* join_handle - push/pull with each A_ADDRESS; reply how many answered */
void
join_handle(struct sconn *sc, const struct frame *f)
{
	struct attr_iter it;
	struct attr a;
	struct join_batch *b;
	char text[300];
	int r;

	b = join_batch_new(JOIN_REQUEST);
	b->sc = sc;
	b->req = *f;
	b->req.body = NULL;
	b->req.len = 0;
	attr_iter_init(&it, f->body, f->len);
	while ((r = attr_next(&it, &a)) == 1) {
		if (a.type != A_ADDRESS)
			continue;
		if (attr_strcpy(&a, text, sizeof(text)) < 0 ||
		    memchr(text, '\0', a.len) != NULL) {
			join_error(b, "(address)", "too long or not text");
			b->naddrs++;
			continue;
		}
		join_batch_add(b, text);
	}
	if (r < 0) {
		join_batch_free(b);
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "malformed "
		    "join request");
		return;
	}
	if (b->naddrs == 0) {
		join_batch_free(b);
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "no address "
		    "to join");
		return;
	}
	log_info("join requested by %.100s: %u address%s", sc->conn.peer,
	    b->naddrs, b->naddrs == 1 ? "" : "es");
	join_batch_go(b);
}

/* join_conn_closed - its pending joins will not be answered */
void
join_conn_closed(struct sconn *sc)
{
	struct join_batch *b;

	LIST_FOREACH(b, &J.batches, entry)
		if (b->sc == sc)
			b->sc = NULL;
}

/* join_stop - timers off, batches freed (pushpull_stop ran first) */
void
join_stop(void)
{
	struct join_batch *b;

	ev_timer_stop(G.loop, &J.retry_w);
	ev_timer_stop(G.loop, &J.ae_w);
	ev_timer_stop(G.loop, &J.reconnect_w);
	while ((b = LIST_FIRST(&J.batches)) != NULL)
		join_batch_free(b);
	join_strs_free(J.start, J.nstart);
	join_strs_free(J.retry, J.nretry);
	J.start = J.retry = NULL;
	J.nstart = J.nretry = 0;
}
