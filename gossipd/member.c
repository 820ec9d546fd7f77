/*
 * member.c - the membership table. See member.h.
 *
 * Records are allocated one by one and the table holds pointers, so a
 * struct member * a caller holds stays valid until that member is removed.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "member.h"
#include "msg.h"

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
int
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
	attr_put_u32(b, A_INCARNATION, m->incarnation);
	attr_nest_end(b, entry);
}

/* member_clear - free a decoded record's name and tags */
void
member_clear(struct member *m)
{
	member_tags_free(m);
	free(m->name);
	m->name = NULL;
}

/* attr_str_ok - a string attribute of 1..max bytes with no NUL inside */
static int
attr_str_ok(const struct attr *a, size_t min, size_t max)
{
	return a->val != NULL && a->len >= min && a->len <= max &&
	    memchr(a->val, '\0', a->len) == NULL;
}

/* is_ip - an IPv4 or IPv6 literal */
static int
is_ip(const char *s)
{
	unsigned char sa[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, sa) == 1 ||
	    inet_pton(AF_INET6, s, sa) == 1;
}

/* member_decode_tags - every A_META of the record into m's tags */
static int
member_decode_tags(const void *p, size_t len, struct member *m, char *err,
    size_t errlen)
{
	struct attr_iter it;
	struct attr a, mt[A_META_VALUE + 1];
	char key[MEMBER_TAG_KEY_MAX + 1], value[MEMBER_TAG_VALUE_MAX + 1];
	size_t n = 0;
	int r;

	attr_iter_init(&it, p, len);
	while ((r = attr_next(&it, &a)) == 1) {
		if (a.type != A_META)
			continue;
		if (++n > MEMBER_TAGS_MAX) {
			snprintf(err, errlen, "more than %d tags",
			    MEMBER_TAGS_MAX);
			return -1;
		}
		if (attr_index(a.val, a.len, mt, A_META_VALUE + 1) < 0 ||
		    !attr_str_ok(&mt[A_META_KEY], 1, MEMBER_TAG_KEY_MAX) ||
		    !attr_str_ok(&mt[A_META_VALUE], 0, MEMBER_TAG_VALUE_MAX)) {
			snprintf(err, errlen, "bad tag (empty, too long or "
			    "malformed)");
			return -1;
		}
		attr_strcpy(&mt[A_META_KEY], key, sizeof(key));
		attr_strcpy(&mt[A_META_VALUE], value, sizeof(value));
		member_tag_set(m, key, value);
	}
	if (r < 0) {
		snprintf(err, errlen, "malformed record");
		return -1;
	}
	return 0;
}

/* member_decode - one A_ENTRY body into out; see member.h */
int
member_decode(const void *p, size_t len, struct member *out, char *err,
    size_t errlen)
{
	struct attr tab[ATTR_TAB];
	uint32_t v, proto[3];
	const int ptype[3] = { A_PROTO_MIN, A_PROTO_MAX, A_PROTO_CUR };
	char e[128];
	int i;

	memset(out, 0, sizeof(*out));
	if (attr_index(p, len, tab, ATTR_TAB) < 0) {
		snprintf(err, errlen, "malformed member record");
		return -1;
	}
	if (!attr_str_ok(&tab[A_NODE], 1, MEMBER_NAME_MAX)) {
		snprintf(err, errlen, "member record without a valid name");
		return -1;
	}
	/* Peer data in messages is cut short (house style: %.100s). */
	out->name = attr_strdup(&tab[A_NODE]);
	if (!attr_str_ok(&tab[A_ADDRESS], 1, MEMBER_ADDR_MAX - 1)) {
		snprintf(e, sizeof(e), "no valid address");
		goto bad;
	}
	attr_strcpy(&tab[A_ADDRESS], out->addr, sizeof(out->addr));
	if (!is_ip(out->addr)) {
		snprintf(e, sizeof(e), "address %.60s is not an IP address",
		    out->addr);
		goto bad;
	}
	if (attr_u32(&tab[A_PORT], &v) < 0 || v == 0 || v > 65535) {
		snprintf(e, sizeof(e), "no valid port");
		goto bad;
	}
	out->port = (uint16_t)v;
	if (attr_u32(&tab[A_MEMBER_STATUS], &v) < 0 || v < MEMBER_ALIVE ||
	    v > MEMBER_FAILED) {
		snprintf(e, sizeof(e), "no valid status");
		goto bad;
	}
	out->status = (enum member_status)v;
	if (attr_present(&tab[A_INCARNATION]) &&
	    attr_u32(&tab[A_INCARNATION], &out->incarnation) < 0) {
		snprintf(e, sizeof(e), "bad incarnation");
		goto bad;
	}
	for (i = 0; i < 3; i++) {
		proto[i] = 0;
		if (attr_present(&tab[ptype[i]]) &&
		    (attr_u32(&tab[ptype[i]], &proto[i]) < 0 ||
		    proto[i] > 255)) {
			snprintf(e, sizeof(e), "bad protocol version");
			goto bad;
		}
	}
	out->proto_min = (uint8_t)proto[0];
	out->proto_max = (uint8_t)proto[1];
	out->proto_cur = (uint8_t)proto[2];
	if (member_decode_tags(p, len, out, e, sizeof(e)) < 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "member %.100s: %s", out->name, e);
	member_clear(out);
	return -1;
}

/* member_same - whether two records say the same (incarnation aside) */
static int
member_same(const struct member *a, const struct member *b)
{
	return a->status == b->status && strcmp(a->addr, b->addr) == 0 &&
	    a->port == b->port && tags_equal(a, b) &&
	    a->proto_min == b->proto_min && a->proto_max == b->proto_max &&
	    a->proto_cur == b->proto_cur;
}

/* ids_conflict - both records carry a node ID and they differ */
static int
ids_conflict(const struct member *a, const struct member *b)
{
	const char *x = member_tag(a, "id"), *y = member_tag(b, "id");

	return x != NULL && y != NULL && x[0] != '\0' && y[0] != '\0' &&
	    strcmp(x, y) != 0;
}

/* member_merge - news from a peer; see member.h */
enum member_result
member_merge(struct member_table *t, const char *self_name,
    const struct member *news, double now)
{
	struct member *m;
	enum member_result r;
	uint32_t inc;

	if (!news_valid(news))
		return MEMBER_ERR;
	if ((m = member_lookup(t, news->name)) == NULL)
		return member_update(t, news, now);
	if (ids_conflict(m, news))
		return MEMBER_CONFLICT;
	if (self_name != NULL && strcmp(news->name, self_name) == 0) {
		/*
		 * memberlist's refute: only this node speaks for itself.
		 * Older news is ignored; anything that would replace our
		 * record (a restart elsewhere left an older view of us with
		 * a peer, or SWIM later suspects us) is answered by
		 * outranking it.
		 */
		if (news->incarnation < m->incarnation ||
		    (news->incarnation == m->incarnation &&
		    member_same(m, news)))
			return MEMBER_SAME;
		if (news->incarnation == UINT32_MAX)
			return MEMBER_SAME;	/* cannot outrank; wait */
		m->incarnation = news->incarnation + 1;
		return MEMBER_REFUTED;
	}
	inc = m->incarnation;
	r = member_update(t, news, now);
	if (r == MEMBER_SAME && m->incarnation != inc)
		r = MEMBER_CHANGED;
	return r;
}

/* member_pick - a random alive member other than self; see member.h */
const struct member *
member_pick(const struct member_table *t, const char *self_name, uint32_t r)
{
	size_t i, n = 0, k;

	for (i = 0; i < t->n; i++)
		if (t->m[i]->status == MEMBER_ALIVE &&
		    (self_name == NULL || strcmp(t->m[i]->name,
		    self_name) != 0))
			n++;
	if (n == 0)
		return NULL;
	k = r % n;
	for (i = 0; i < t->n; i++)
		if (t->m[i]->status == MEMBER_ALIVE &&
		    (self_name == NULL || strcmp(t->m[i]->name,
		    self_name) != 0) && k-- == 0)
			return t->m[i];
	return NULL;
}

/* member_addr_parse - a join address into ip and port; see member.h */
int
member_addr_parse(const char *s, int defport, char *ip, size_t iplen,
    int *port, char *err, size_t errlen)
{
	char host[256], *end;
	const char *p, *ps = NULL;
	size_t hl;
	long v;

	if (s[0] == '[') {
		if ((p = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "missing ']'");
			return -1;
		}
		hl = (size_t)(p - s - 1);
		s++;
		if (p[1] == ':')
			ps = p + 2;
		else if (p[1] != '\0') {
			snprintf(err, errlen, "junk after ']'");
			return -1;
		}
	} else if ((p = strchr(s, ':')) != NULL && strchr(p + 1, ':') ==
	    NULL) {
		hl = (size_t)(p - s);
		ps = p + 1;
	} else
		hl = strlen(s);	/* no port, or a bare IPv6 literal */
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "no host");
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = defport;
	if (ps != NULL) {
		v = strtol(ps, &end, 10);
		if (*ps < '0' || *ps > '9' || *end != '\0' || v < 1 ||
		    v > 65535) {
			snprintf(err, errlen, "bad port %.20s", ps);
			return -1;
		}
		*port = (int)v;
	}
	if (!is_ip(host)) {
		snprintf(err, errlen, "%.100s is not an IP address (cairn "
		    "does not resolve host names yet)", host);
		return -1;
	}
	if (hl >= iplen) {
		snprintf(err, errlen, "address too long");
		return -1;
	}
	memcpy(ip, host, hl + 1);
	return 0;
}

/*
 * member_pack - the record, compact, for SWIM's alive messages (three
 * times smaller than member_encode: a packet carries more of them):
 *	incarnation:u32 port:u16 status:u8 proto_min:u8 proto_max:u8
 *	proto_cur:u8 name:str8 addr:str8 ntags:u8 (key:str8 value:str16)*
 */
void
member_pack(struct buf *b, const struct member *m)
{
	unsigned char h[10];
	size_t i, n;

	be32_put(h, m->incarnation);
	be16_put(h + 4, m->port);
	h[6] = (unsigned char)m->status;
	h[7] = m->proto_min;
	h[8] = m->proto_max;
	h[9] = m->proto_cur;
	buf_append(b, h, sizeof(h));
	n = strlen(m->name);
	h[0] = (unsigned char)n;
	buf_append(b, h, 1);
	buf_append(b, m->name, n);
	n = strlen(m->addr);
	h[0] = (unsigned char)n;
	buf_append(b, h, 1);
	buf_append(b, m->addr, n);
	h[0] = (unsigned char)(m->ntags > MEMBER_TAGS_MAX ? MEMBER_TAGS_MAX :
	    m->ntags);
	buf_append(b, h, 1);
	for (i = 0; i < h[0]; i++) {
		n = strlen(m->tags[i].key);
		h[1] = (unsigned char)n;
		buf_append(b, h + 1, 1);
		buf_append(b, m->tags[i].key, n);
		n = strlen(m->tags[i].value);
		be16_put(h + 2, (uint16_t)n);
		buf_append(b, h + 2, 2);
		buf_append(b, m->tags[i].value, n);
	}
}

/* unpack_str - a length-prefixed string of min..max bytes, no NUL */
static int
unpack_str(const unsigned char **p, size_t *left, int wide, size_t min,
    size_t max, char *out)
{
	size_t n, hl = wide ? 2 : 1;

	if (*left < hl)
		return -1;
	n = wide ? be16_get(*p) : (*p)[0];
	if (n < min || n > max || *left - hl < n ||
	    memchr(*p + hl, '\0', n) != NULL)
		return -1;
	memcpy(out, *p + hl, n);
	out[n] = '\0';
	*p += hl + n;
	*left -= hl + n;
	return 0;
}

/* member_unpack - member_pack's bytes into out, as strict as decode */
int
member_unpack(const void *buf, size_t len, struct member *out, char *err,
    size_t errlen)
{
	char name[MEMBER_NAME_MAX + 1], key[MEMBER_TAG_KEY_MAX + 1];
	char value[MEMBER_TAG_VALUE_MAX + 1];
	const unsigned char *p = buf;
	size_t left = len;
	unsigned ntags, i;

	memset(out, 0, sizeof(*out));
	if (left < 10 || be16_get(p + 4) == 0 || p[6] < MEMBER_ALIVE ||
	    p[6] > MEMBER_FAILED) {
		snprintf(err, errlen, "malformed member record");
		return -1;
	}
	out->incarnation = be32_get(p);
	out->port = be16_get(p + 4);
	out->status = (enum member_status)p[6];
	out->proto_min = p[7];
	out->proto_max = p[8];
	out->proto_cur = p[9];
	p += 10;
	left -= 10;
	if (unpack_str(&p, &left, 0, 1, MEMBER_NAME_MAX, name) < 0) {
		snprintf(err, errlen, "member record without a valid name");
		return -1;
	}
	out->name = xstrdup(name);
	if (unpack_str(&p, &left, 0, 1, MEMBER_ADDR_MAX - 1, out->addr) < 0 ||
	    !is_ip(out->addr) || left < 1 || (ntags = p[0]) > MEMBER_TAGS_MAX)
		goto bad;
	p++;
	left--;
	for (i = 0; i < ntags; i++) {
		if (unpack_str(&p, &left, 0, 1, MEMBER_TAG_KEY_MAX, key) < 0 ||
		    unpack_str(&p, &left, 1, 0, MEMBER_TAG_VALUE_MAX,
		    value) < 0)
			goto bad;
		member_tag_set(out, key, value);
	}
	if (left != 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "member %.100s: malformed record", out->name);
	member_clear(out);
	return -1;
}
