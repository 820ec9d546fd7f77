/*
 * member.c - the membership table. See member.h.
 *
 * Records are allocated one by one and the table holds pointers, so a
 * struct member * a caller holds stays valid until that member is removed.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "member.h"
#include "msg.h"

/* xstrdup - strdup or die: cairn has no use for half-built records */
static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		log_fatal("out of memory");
	return p;
}

/* member_table_init - an empty table */
void
member_table_init(struct member_table *t)
{
	memset(t, 0, sizeof(*t));
}

/* member_tags_free - free a record's tags */
void
member_tags_free(struct member *m)
{
	size_t i;

	for (i = 0; i < m->ntags; i++) {
		free(m->tags[i].key);
		free(m->tags[i].value);
	}
	free(m->tags);
	m->tags = NULL;
	m->ntags = 0;
}

/* member_free - one record and everything it owns */
static void
member_free(struct member *m)
{
	member_tags_free(m);
	free(m->name);
	free(m);
}

/* member_table_free - every record, and the table's array */
void
member_table_free(struct member_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		member_free(t->m[i]);
	free(t->m);
	memset(t, 0, sizeof(*t));
}

/*
 * member_find - binary search; returns the slot where name is or would be
 * inserted, and sets *found.
 */
static size_t
member_find(const struct member_table *t, const char *name, int *found)
{
	size_t lo = 0, hi = t->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, t->m[mid]->name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* member_lookup - the member called name, or NULL */
struct member *
member_lookup(const struct member_table *t, const char *name)
{
	size_t i;
	int found;

	i = member_find(t, name, &found);
	return found ? t->m[i] : NULL;
}

/* member_tag - a tag's value, or NULL */
const char *
member_tag(const struct member *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->ntags; i++)
		if (strcmp(m->tags[i].key, key) == 0)
			return m->tags[i].value;
	return NULL;
}

/* member_tag_set - add or replace a tag, keeping them sorted by key */
void
member_tag_set(struct member *m, const char *key, const char *value)
{
	struct member_tag *nt;
	size_t i;
	int c = 1;

	for (i = 0; i < m->ntags; i++)
		if ((c = strcmp(key, m->tags[i].key)) <= 0)
			break;
	if (i < m->ntags && c == 0) {
		free(m->tags[i].value);
		m->tags[i].value = xstrdup(value);
		return;
	}
	if ((nt = realloc(m->tags, (m->ntags + 1) * sizeof(*nt))) == NULL)
		log_fatal("out of memory");
	m->tags = nt;
	memmove(&m->tags[i + 1], &m->tags[i],
	    (m->ntags - i) * sizeof(*m->tags));
	m->tags[i].key = xstrdup(key);
	m->tags[i].value = xstrdup(value);
	m->ntags++;
}

/* status_rank - how grave a status is, for news at the same incarnation */
static int
status_rank(enum member_status s)
{
	switch (s) {
	case MEMBER_ALIVE:
		return 1;
	case MEMBER_LEAVING:
		return 2;
	case MEMBER_FAILED:
		return 3;
	case MEMBER_LEFT:
		/* A graceful leave is final: a later probe failure of a
		   node that left must not turn it into "failed". */
		return 4;
	default:
		return 0;
	}
}

/*
 * member_newer - whether news at (status, inc) supersedes what we hold.
 * memberlist: an alive message needs a higher incarnation (a node refutes
 * a suspicion by bumping its own); suspect and dead messages win at an
 * equal one.
 */
static int
member_newer(const struct member *m, enum member_status status, uint32_t inc)
{
	if (inc > m->incarnation)
		return 1;
	if (inc < m->incarnation)
		return 0;
	return status_rank(status) > status_rank(m->status);
}

/* tags_equal - same keys and values (both lists are sorted) */
static int
tags_equal(const struct member *a, const struct member *b)
{
	size_t i;

	if (a->ntags != b->ntags)
		return 0;
	for (i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i].key, b->tags[i].key) != 0 ||
		    strcmp(a->tags[i].value, b->tags[i].value) != 0)
			return 0;
	return 1;
}

/* member_copy_tags - replace dst's tags with copies of src's */
static void
member_copy_tags(struct member *dst, const struct member *src)
{
	size_t i;

	member_tags_free(dst);
	for (i = 0; i < src->ntags; i++)
		member_tag_set(dst, src->tags[i].key, src->tags[i].value);
}

/* news_valid - a record the table may hold */
static int
news_valid(const struct member *news)
{
	return news->name != NULL && news->name[0] != '\0' &&
	    strlen(news->name) <= MEMBER_NAME_MAX &&
	    memchr(news->addr, '\0', sizeof(news->addr)) != NULL &&
	    status_rank(news->status) > 0;
}

/* member_update - apply a full record of news; see member.h */
enum member_result
member_update(struct member_table *t, const struct member *news, double now)
{
	struct member *m, **nm;
	size_t i, ncap;
	int found, changed;

	if (!news_valid(news))
		return MEMBER_ERR;
	i = member_find(t, news->name, &found);
	if (found) {
		m = t->m[i];
		if (!member_newer(m, news->status, news->incarnation))
			return MEMBER_SAME;
		changed = m->status != news->status ||
		    strcmp(m->addr, news->addr) != 0 ||
		    m->port != news->port || !tags_equal(m, news) ||
		    m->proto_min != news->proto_min ||
		    m->proto_max != news->proto_max ||
		    m->proto_cur != news->proto_cur;
		if (m->status != news->status)
			m->since = now;
		m->status = news->status;
		m->incarnation = news->incarnation;
		memcpy(m->addr, news->addr, sizeof(m->addr));
		m->port = news->port;
		m->proto_min = news->proto_min;
		m->proto_max = news->proto_max;
		m->proto_cur = news->proto_cur;
		if (!tags_equal(m, news))
			member_copy_tags(m, news);
		return changed ? MEMBER_CHANGED : MEMBER_SAME;
	}
	if (t->n == t->cap) {
		ncap = t->cap ? t->cap * 2 : 16;
		if ((nm = realloc(t->m, ncap * sizeof(*nm))) == NULL)
			log_fatal("out of memory");
		t->m = nm;
		t->cap = ncap;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		log_fatal("out of memory");
	m->name = xstrdup(news->name);
	memcpy(m->addr, news->addr, sizeof(m->addr));
	m->port = news->port;
	m->status = news->status;
	m->incarnation = news->incarnation;
	m->since = now;
	m->proto_min = news->proto_min;
	m->proto_max = news->proto_max;
	m->proto_cur = news->proto_cur;
	member_copy_tags(m, news);
	memmove(&t->m[i + 1], &t->m[i], (t->n - i) * sizeof(*t->m));
	t->m[i] = m;
	t->n++;
	return MEMBER_ADDED;
}

/* member_set_status - news of a status alone; see member.h */
enum member_result
member_set_status(struct member_table *t, const char *name,
    enum member_status status, uint32_t inc, double now)
{
	struct member *m;

	if (status_rank(status) == 0 || (m = member_lookup(t, name)) == NULL)
		return MEMBER_ERR;
	if (!member_newer(m, status, inc))
		return MEMBER_SAME;
	m->incarnation = inc;
	if (m->status == status)
		return MEMBER_SAME;
	m->status = status;
	m->since = now;
	return MEMBER_CHANGED;
}

/* member_remove - forget a member */
int
member_remove(struct member_table *t, const char *name)
{
	size_t i;
	int found;

	i = member_find(t, name, &found);
	if (!found)
		return -1;
	member_free(t->m[i]);
	memmove(&t->m[i], &t->m[i + 1], (t->n - i - 1) * sizeof(*t->m));
	t->n--;
	return 0;
}

/* member_reap - forget long-gone members; see member.h */
size_t
member_reap(struct member_table *t, double now, double left_ttl,
    double failed_ttl)
{
	size_t i, j, gone = 0;
	struct member *m;

	for (i = j = 0; i < t->n; i++) {
		m = t->m[i];
		if ((m->status == MEMBER_LEFT && now - m->since >= left_ttl) ||
		    (m->status == MEMBER_FAILED &&
		    now - m->since >= failed_ttl)) {
			member_free(m);
			gone++;
			continue;
		}
		t->m[j++] = m;
	}
	t->n = j;
	return gone;
}

/* member_status_name - serf's MemberStatus.String() */
const char *
member_status_name(enum member_status s)
{
	switch (s) {
	case MEMBER_NONE:
		return "none";
	case MEMBER_ALIVE:
		return "alive";
	case MEMBER_LEAVING:
		return "leaving";
	case MEMBER_LEFT:
		return "left";
	case MEMBER_FAILED:
		return "failed";
	}
	return "unknown";
}

/* member_encode - one A_ENTRY record, as MSG_GOSSIP_MEMBERS replies */
void
member_encode(struct buf *b, const struct member *m)
{
	size_t entry, meta, i;

	entry = attr_nest_begin(b, A_ENTRY);
	attr_put_str(b, A_NODE, m->name);
	attr_put_str(b, A_ADDRESS, m->addr);
	attr_put_u32(b, A_PORT, m->port);
	attr_put_u32(b, A_MEMBER_STATUS, m->status);
	for (i = 0; i < m->ntags; i++) {
		meta = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, m->tags[i].key);
		attr_put_str(b, A_META_VALUE, m->tags[i].value);
		attr_nest_end(b, meta);
	}
	attr_put_u8(b, A_PROTO_MIN, m->proto_min);
	attr_put_u8(b, A_PROTO_MAX, m->proto_max);
	attr_put_u8(b, A_PROTO_CUR, m->proto_cur);
	attr_nest_end(b, entry);
}
