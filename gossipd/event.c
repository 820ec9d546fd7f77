/*
 * event.c - user events: the record, the ring, the Lamport clock, the
 * dedupe window and the filters. See event.h.
 *
 * Pure: what it needs comes in as arguments; nothing here logs, so the
 * caller decides what a peer's bad record is worth.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "frame.h"
#include "log.h"
#include "msg.h"

/* xstrndup - a NUL-terminated copy of s[0..n), or die */
static char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* opt_dup - a copy of a filter, or NULL for none (NULL or "") */
static char *
opt_dup(const char *s)
{
	return s != NULL && *s != '\0' ? xstrndup(s, strlen(s)) : NULL;
}

/* event_store_init - an empty ring, no IDs seen, the clock at 1 */
void
event_store_init(struct event_store *st)
{
	memset(st, 0, sizeof(*st));
	/* serf.Create: "Ensure our lamport clock is at least 1". */
	st->clock = 1;
}

/* event_store_free - free every event in the ring */
void
event_store_free(struct event_store *st)
{
	size_t i;

	for (i = 0; i < EVENT_RING_SIZE; i++)
		event_free(&st->ring[i]);
	event_store_init(st);
}

/* event_free - free what ev holds and empty it */
void
event_free(struct event *ev)
{
	free(ev->name);
	free(ev->payload);
	free(ev->node_filter);
	free(ev->service_filter);
	free(ev->tag_filter);
	memset(ev, 0, sizeof(*ev));
}

/* filter_check - a filter compiles (Consul: "Invalid node filter: ...") */
static int
filter_check(const char *re, const char *what, char *err, size_t errlen)
{
	char why[128];
	regex_t rx;
	int rc;

	if (re == NULL)
		return 0;
	if (strlen(re) > EVENT_FILTER_MAX) {
		snprintf(err, errlen, "Invalid %s filter: longer than %d bytes",
		    what, EVENT_FILTER_MAX);
		return -1;
	}
	if ((rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &rx, why, sizeof(why));
		snprintf(err, errlen, "Invalid %s filter: %s", what, why);
		return -1;
	}
	regfree(&rx);
	return 0;
}

/* event_check - see event.h */
int
event_check(const struct event *ev, char *err, size_t errlen)
{
	size_t nlen = ev->name != NULL ? strlen(ev->name) : 0;

	if (nlen == 0) {
		snprintf(err, errlen, "User event missing name");
		return EVENT_INVALID;
	}
	if (ev->tag_filter != NULL && ev->service_filter == NULL) {
		snprintf(err, errlen, "Cannot provide tag filter without "
		    "service filter");
		return EVENT_INVALID;
	}
	if (filter_check(ev->node_filter, "node", err, errlen) < 0 ||
	    filter_check(ev->service_filter, "service", err, errlen) < 0 ||
	    filter_check(ev->tag_filter, "tag", err, errlen) < 0)
		return EVENT_INVALID;
	/* serf.UserEvent: the limit is on name and payload together. */
	if (nlen + ev->plen > EVENT_SIZE_LIMIT) {
		snprintf(err, errlen, "user event exceeds the limit of %d "
		    "bytes (name %zu + payload %zu)", EVENT_SIZE_LIMIT, nlen,
		    ev->plen);
		return EVENT_TOOBIG;
	}
	return EVENT_OK;
}

/* event_set - see event.h */
int
event_set(struct event *ev, const char *name, const void *payload,
    size_t plen, const char *node_filter, const char *service_filter,
    const char *tag_filter, char *err, size_t errlen)
{
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->name = name != NULL ? xstrndup(name, strlen(name)) : NULL;
	if (plen > 0) {
		if ((ev->payload = malloc(plen)) == NULL)
			log_fatal("out of memory");
		memcpy(ev->payload, payload, plen);
		ev->plen = plen;
	}
	ev->node_filter = opt_dup(node_filter);
	ev->service_filter = opt_dup(service_filter);
	ev->tag_filter = opt_dup(tag_filter);
	if ((rc = event_check(ev, err, errlen)) != EVENT_OK)
		event_free(ev);
	return rc;
}

/* hexval - the value of a lower-case hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* event_id_parse - see event.h */
int
event_id_parse(const char *id, size_t len, uint64_t *hi, uint64_t *lo)
{
	uint64_t h = 0, l = 0;
	size_t i, nd = 0;
	int v;

	if (len != EVENT_ID_LEN)
		return -1;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return -1;
			continue;
		}
		if ((v = hexval((unsigned char)id[i])) < 0)
			return -1;
		/* The first 16 digits are the high half. */
		if (nd++ < 16)
			h = h << 4 | (uint64_t)v;
		else
			l = l << 4 | (uint64_t)v;
	}
	*hi = h;
	*lo = l;
	return 0;
}

/* event_id_index - see event.h */
uint64_t
event_id_index(const char *id)
{
	uint64_t hi, lo;

	if (event_id_parse(id, strlen(id), &hi, &lo) < 0)
		return 0;
	return hi ^ lo;
}

/* event_encode - see event.h */
void
event_encode(struct buf *b, const struct event *ev)
{
	attr_put_str(b, A_EVENT_ID, ev->id);
	attr_put_str(b, A_EVENT_NAME, ev->name);
	if (ev->plen > 0)
		attr_put(b, A_DATA, ev->payload, ev->plen);
	if (ev->node_filter != NULL)
		attr_put_str(b, A_NODE_FILTER, ev->node_filter);
	if (ev->service_filter != NULL)
		attr_put_str(b, A_SERVICE_FILTER, ev->service_filter);
	if (ev->tag_filter != NULL)
		attr_put_str(b, A_TAG_FILTER, ev->tag_filter);
	attr_put_u64(b, A_LTIME, ev->ltime);
	attr_put_u32(b, A_VERSION, ev->version);
}

/* str_ok - a string attribute of at most max bytes, no NUL inside */
static int
str_ok(const struct attr *a, size_t max)
{
	return a->len <= max && (a->len == 0 ||
	    memchr(a->val, '\0', a->len) == NULL);
}

/* decode_filter - an optional filter: none when absent or empty */
static int
decode_filter(const struct attr *a, char **out)
{
	*out = NULL;
	if (!attr_present(a) || a->len == 0)
		return 0;
	if (!str_ok(a, EVENT_FILTER_MAX))
		return -1;
	*out = xstrndup((const char *)a->val, a->len);
	return 0;
}

/* The attributes of a record, each allowed at most once. */
static const uint16_t event_attrs[] = {
	A_EVENT_ID, A_EVENT_NAME, A_DATA, A_NODE_FILTER, A_SERVICE_FILTER,
	A_TAG_FILTER, A_LTIME, A_VERSION,
};

/* event_decode - see event.h */
int
event_decode(const void *p, size_t len, struct event *out, char *err,
    size_t errlen)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	unsigned count[ATTR_TAB] = { 0 };
	uint64_t hi, lo, v;
	const char *why;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	attr_iter_init(&it, p, len);
	while ((r = attr_next(&it, &a)) == 1)
		if (a.type < ATTR_TAB)
			count[a.type]++;
	if (r < 0 || attr_index(p, len, tab, ATTR_TAB) < 0) {
		snprintf(err, errlen, "malformed event record");
		return -1;
	}
	for (i = 0; i < sizeof(event_attrs) / sizeof(event_attrs[0]); i++)
		if (count[event_attrs[i]] > 1) {
			snprintf(err, errlen, "event record with attribute %u "
			    "twice", event_attrs[i]);
			return -1;
		}
	if (!attr_present(&tab[A_EVENT_ID]) ||
	    event_id_parse((const char *)tab[A_EVENT_ID].val,
	    tab[A_EVENT_ID].len, &hi, &lo) < 0) {
		snprintf(err, errlen, "event record without a valid ID");
		return -1;
	}
	memcpy(out->id, tab[A_EVENT_ID].val, EVENT_ID_LEN);
	out->id[EVENT_ID_LEN] = '\0';
	why = NULL;
	if (!attr_present(&tab[A_EVENT_NAME]) || tab[A_EVENT_NAME].len == 0 ||
	    !str_ok(&tab[A_EVENT_NAME], EVENT_SIZE_LIMIT))
		why = "no valid name";
	else if (tab[A_EVENT_NAME].len + tab[A_DATA].len > EVENT_SIZE_LIMIT)
		why = "name and payload over the size limit";
	else if (attr_u64(&tab[A_LTIME], &out->ltime) < 0)
		why = "no valid Lamport time";
	else if (attr_u64(&tab[A_VERSION], &v) < 0 || v < 1 ||
	    v > UINT32_MAX)
		why = "no valid version";
	if (why != NULL) {
		snprintf(err, errlen, "event %s: %s", out->id, why);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->version = (uint32_t)v;
	out->name = xstrndup((const char *)tab[A_EVENT_NAME].val,
	    tab[A_EVENT_NAME].len);
	if (tab[A_DATA].len > 0) {
		if ((out->payload = malloc(tab[A_DATA].len)) == NULL)
			log_fatal("out of memory");
		memcpy(out->payload, tab[A_DATA].val, tab[A_DATA].len);
		out->plen = tab[A_DATA].len;
	}
	if (decode_filter(&tab[A_NODE_FILTER], &out->node_filter) < 0 ||
	    decode_filter(&tab[A_SERVICE_FILTER], &out->service_filter) < 0 ||
	    decode_filter(&tab[A_TAG_FILTER], &out->tag_filter) < 0)
		why = "bad filter (too long, or a NUL inside)";
	else if (out->tag_filter != NULL && out->service_filter == NULL)
		why = "tag filter without service filter";
	if (why != NULL) {
		snprintf(err, errlen, "event %s: %s", out->id, why);
		event_free(out);
		return -1;
	}
	return 0;
}

/* event_clock_fire - serf's UserEvent: stamp Time(), then Increment() */
uint64_t
event_clock_fire(struct event_store *st)
{
	return st->clock++;
}

/* event_clock_witness - serf's LamportClock.Witness: past t */
void
event_clock_witness(struct event_store *st, uint64_t t)
{
	if (t >= st->clock && t < UINT64_MAX)
		st->clock = t + 1;
}

/* event_seen - see event.h */
int
event_seen(struct event_store *st, const char *id)
{
	uint64_t hi, lo;
	size_t i;

	if (event_id_parse(id, strlen(id), &hi, &lo) < 0)
		return -1;
	/* A linear scan of 64 KiB: cheaper than the packet that asked. */
	for (i = 0; i < st->nseen; i++)
		if (st->seen[i][0] == hi && st->seen[i][1] == lo)
			return 1;
	st->seen[st->seen_next][0] = hi;
	st->seen[st->seen_next][1] = lo;
	st->seen_next = (st->seen_next + 1) % EVENT_SEEN_MAX;
	if (st->nseen < EVENT_SEEN_MAX)
		st->nseen++;
	return 0;
}

/* event_needs_services - a service filter needs the agent's services */
int
event_needs_services(const struct event *ev)
{
	return ev->service_filter != NULL;
}

/* filter_compile - compile a filter, with why in err on failure */
static int
filter_compile(regex_t *rx, const char *re, const char *what,
    const struct event *ev, char *err, size_t errlen)
{
	char why[128];
	int rc;

	if ((rc = regcomp(rx, re, REG_EXTENDED | REG_NOSUB)) == 0)
		return 0;
	regerror(rc, rx, why, sizeof(why));
	snprintf(err, errlen, "Failed to parse %s filter '%.100s' for event "
	    "'%.100s': %s", what, re, ev->name, why);
	return -1;
}

/* filter_match - Go's MatchString: the expression anywhere in s */
static int
filter_match(const regex_t *rx, const char *s)
{
	return s != NULL && regexec(rx, s, 0, NULL, 0) == 0;
}

/* svc_match - a service whose ID or name matches, with a matching tag */
static int
svc_match(const regex_t *svc, const regex_t *tag,
    const struct event_service *s)
{
	size_t i;

	if (!filter_match(svc, s->id) && !filter_match(svc, s->name))
		return 0;
	if (tag == NULL)
		return 1;
	for (i = 0; i < s->ntags; i++)
		if (filter_match(tag, s->tags[i]))
			return 1;
	return 0;
}

/* event_match - shouldProcessUserEvent; see event.h */
int
event_match(const struct event *ev, const char *node,
    const struct event_service *svcs, size_t nsvc, char *err, size_t errlen)
{
	regex_t rx, trx;
	int found = 0;
	size_t i;

	if (errlen > 0)
		err[0] = '\0';
	if (ev->node_filter != NULL) {
		if (filter_compile(&rx, ev->node_filter, "node", ev, err,
		    errlen) < 0)
			return 0;
		found = filter_match(&rx, node);
		regfree(&rx);
		if (!found)
			return 0;
	}
	if (ev->service_filter == NULL)
		return 1;
	if (filter_compile(&rx, ev->service_filter, "service", ev, err,
	    errlen) < 0)
		return 0;
	if (ev->tag_filter != NULL && filter_compile(&trx, ev->tag_filter,
	    "tag", ev, err, errlen) < 0) {
		regfree(&rx);
		return 0;
	}
	found = 0;
	for (i = 0; i < nsvc && !found; i++)
		found = svc_match(&rx, ev->tag_filter != NULL ? &trx : NULL,
		    &svcs[i]);
	regfree(&rx);
	if (ev->tag_filter != NULL)
		regfree(&trx);
	return found;
}

/* event_store_add - ingestUserEvent: overwrite the oldest when full */
void
event_store_add(struct event_store *st, struct event *ev)
{
	size_t slot;

	if (st->n < EVENT_RING_SIZE)
		slot = (st->head + st->n++) % EVENT_RING_SIZE;
	else {
		slot = st->head;
		event_free(&st->ring[slot]);
		st->head = (st->head + 1) % EVENT_RING_SIZE;
	}
	st->ring[slot] = *ev;
	memset(ev, 0, sizeof(*ev));
}

/* event_store_get - the i-th event, oldest first */
const struct event *
event_store_get(const struct event_store *st, size_t i)
{
	if (i >= st->n)
		return NULL;
	return &st->ring[(st->head + i) % EVENT_RING_SIZE];
}

/* event_store_index - the list's X-Consul-Index; see event.h */
uint64_t
event_store_index(const struct event_store *st, const char *name)
{
	const struct event *ev;
	size_t i;

	for (i = st->n; i-- > 0; ) {
		ev = event_store_get(st, i);
		if (name == NULL || *name == '\0' ||
		    strcmp(ev->name, name) == 0)
			return event_id_index(ev->id);
	}
	return 1;
}
