/*
 * watch.c - Consul's blocking queries (?index=&wait=) for KV and session
 * reads.
 *
 * A read that asks for an index newer than the one its answer would carry
 * waits here until a committed write touches its key (or, for a prefix
 * read, anything under its prefix), or its wait runs out; then it runs
 * again and is answered as if it had been asked then. A write elsewhere
 * in the table does not wake it, though the table index it will carry
 * has moved (Consul's answers behave the same way).
 *
 * A waiter costs this struct and a copy of its request; the connection it
 * came on is looked up by serial when it wakes, so a reader that went
 * away is simply dropped.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "watch.h"

#define SWEEP_EVERY	0.25	/* deadlines are checked this often */

struct watch {
	struct server		*srv;
	uint64_t		 serial;
	uint16_t		 type;
	uint32_t		 id;
	enum watch_table	 table;
	int			 prefix;
	ev_tstamp		 deadline;
	size_t			 keylen, len;
	char			*key;
	unsigned char		*body;
	TAILQ_ENTRY(watch)	 entry;
};

static struct {
	struct ev_loop		*loop;
	watch_rerun_fn		*rerun;
	ev_timer		 sweep;
	TAILQ_HEAD(, watch)	 all;
	size_t			 n;
} W = { .all = TAILQ_HEAD_INITIALIZER(W.all) };

static void
watch_free(struct watch *w)
{
	TAILQ_REMOVE(&W.all, w, entry);
	W.n--;
	free(w->key);
	free(w->body);
	free(w);
}

/* watch_fire - run the read again for its reader, if it is still there */
static void
watch_fire(struct watch *w)
{
	struct sconn *sc = server_find(w->srv, w->serial);
	struct frame f;

	if (sc != NULL) {
		memset(&f, 0, sizeof(f));
		f.type = w->type;
		f.id = w->id;
		f.body = w->body;
		f.len = (uint32_t)w->len;
		W.rerun(sc, &f);
	}
	watch_free(w);
}

static void
sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch *w, *next;
	ev_tstamp now = ev_now(loop);

	for (w = TAILQ_FIRST(&W.all); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (now >= w->deadline || server_find(w->srv, w->serial) ==
		    NULL)
			watch_fire(w);
	}
	if (W.n == 0)
		ev_timer_stop(loop, t);
}

void
watch_init(struct ev_loop *loop, watch_rerun_fn *rerun)
{
	W.loop = loop;
	W.rerun = rerun;
	ev_timer_init(&W.sweep, sweep_cb, SWEEP_EVERY, SWEEP_EVERY);
}

/* watch_park - see watch.h */
void
watch_park(struct sconn *sc, const struct frame *f, enum watch_table table,
    const void *key, size_t keylen, int prefix, uint64_t wait_ms)
{
	struct watch *w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->key = malloc(keylen + 1)) == NULL ||
	    (w->body = malloc(f->len ? f->len : 1)) == NULL)
		log_fatal("out of memory");
	w->srv = sc->srv;
	w->serial = sc->serial;
	w->type = f->type;
	w->id = f->id;
	w->table = table;
	w->prefix = prefix;
	w->deadline = ev_now(W.loop) + (double)wait_ms / 1000;
	memcpy(w->key, key, keylen);
	w->key[keylen] = '\0';
	w->keylen = keylen;
	memcpy(w->body, f->body, f->len);
	w->len = f->len;
	TAILQ_INSERT_TAIL(&W.all, w, entry);
	W.n++;
	if (!ev_is_active(&W.sweep))
		ev_timer_start(W.loop, &W.sweep);
}

/* starts - p[0..pl) begins with q[0..ql) */
static int
starts(const char *p, size_t pl, const char *q, size_t ql)
{
	return pl >= ql && memcmp(p, q, ql) == 0;
}

/* touches - whether a change at key (or under it, for a tree) concerns w */
static int
touches(const struct watch *w, const char *key, size_t len, int tree)
{
	if (w->prefix)
		return starts(key, len, w->key, w->keylen) ||
		    (tree && starts(w->key, w->keylen, key, len));
	if (tree)
		return starts(w->key, w->keylen, key, len);
	return len == w->keylen && memcmp(key, w->key, len) == 0;
}

/* watch_touched - see watch.h */
void
watch_touched(enum watch_table table, const void *key, size_t len, int tree)
{
	struct watch *w, *next;

	for (w = TAILQ_FIRST(&W.all); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (key == NULL || (w->table == table &&
		    touches(w, key, len, tree)))
			watch_fire(w);
	}
}

size_t
watch_count(void)
{
	return W.n;
}

void
watch_stop(void)
{
	while (!TAILQ_EMPTY(&W.all))
		watch_free(TAILQ_FIRST(&W.all));
	ev_timer_stop(W.loop, &W.sweep);
}
