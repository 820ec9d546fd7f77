/*
 * cache.c - see cache.h. A chained hash table (FNV-1a over type and key)
 * that doubles when it is as full as it is wide, and a list in order of
 * storing, whose head is evicted first. One allocation per entry holds
 * the key and the value.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "cache.h"
#include "log.h"

struct dentry {
	struct dentry		*next;		/* hash chain */
	TAILQ_ENTRY(dentry)	 age;
	uint64_t		 hash;
	uint16_t		 type;
	size_t			 klen, vlen;
	double			 at;
	uint64_t		 index, epoch;
	unsigned char		 data[];	/* key, then value */
};

struct dcache {
	struct dentry		**tab;
	size_t			 width;		/* a power of two */
	size_t			 n, bytes, max;
	TAILQ_HEAD(, dentry)	 order;
};

/* hash - FNV-1a over the type and the key */
static uint64_t
hash(uint16_t type, const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	h = (h ^ (type & 0xff)) * 1099511628211ULL;
	h = (h ^ (type >> 8)) * 1099511628211ULL;
	for (i = 0; i < klen; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* dcache_new - see cache.h */
struct dcache *
dcache_new(size_t max_bytes)
{
	struct dcache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->tab = calloc(64, sizeof(*c->tab))) == NULL)
		log_fatal("out of memory");
	c->width = 64;
	c->max = max_bytes;
	TAILQ_INIT(&c->order);
	return c;
}

/* slot - where the entry for (h, type, key) is, or would be linked */
static struct dentry **
slot(struct dcache *c, uint64_t h, uint16_t type, const void *key,
    size_t klen)
{
	struct dentry **pp;

	for (pp = &c->tab[h & (c->width - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->type == type &&
		    (*pp)->klen == klen &&
		    (klen == 0 || memcmp((*pp)->data, key, klen) == 0))
			break;
	return pp;
}

/* drop - unlink e (found at *pp) and free it */
static void
drop(struct dcache *c, struct dentry **pp)
{
	struct dentry *e = *pp;

	*pp = e->next;
	TAILQ_REMOVE(&c->order, e, age);
	c->n--;
	c->bytes -= e->klen + e->vlen;
	free(e);
}

/* grow - twice the width, every entry rehashed */
static void
grow(struct dcache *c)
{
	struct dentry **tab, *e, *next;
	size_t w = c->width * 2, i;

	if ((tab = calloc(w, sizeof(*tab))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < c->width; i++)
		for (e = c->tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash & (w - 1)];
			tab[e->hash & (w - 1)] = e;
		}
	free(c->tab);
	c->tab = tab;
	c->width = w;
}

/* dcache_put - see cache.h */
void
dcache_put(struct dcache *c, uint16_t type, const void *key, size_t klen,
    const struct dcache_val *v)
{
	uint64_t h = hash(type, key, klen);
	size_t vlen = v->len;
	struct dentry **pp, *e;

	if (klen + vlen > c->max)
		return;		/* would evict everything: not worth it */
	if (*(pp = slot(c, h, type, key, klen)) != NULL)
		drop(c, pp);
	while (c->bytes + klen + vlen > c->max) {
		e = TAILQ_FIRST(&c->order);
		drop(c, slot(c, e->hash, e->type, e->data, e->klen));
	}
	if ((e = malloc(sizeof(*e) + klen + vlen)) == NULL)
		log_fatal("out of memory");
	e->hash = h;
	e->type = type;
	e->klen = klen;
	e->vlen = vlen;
	e->at = v->at;
	e->index = v->index;
	e->epoch = v->epoch;
	/* An empty buf's head is NULL: memcpy may not be given one. */
	if (klen > 0)
		memcpy(e->data, key, klen);
	if (vlen > 0)
		memcpy(e->data + klen, v->data, vlen);
	if (c->n >= c->width)
		grow(c);
	pp = &c->tab[h & (c->width - 1)];
	e->next = *pp;
	*pp = e;
	TAILQ_INSERT_TAIL(&c->order, e, age);
	c->n++;
	c->bytes += klen + vlen;
}

/* dcache_get - see cache.h */
int
dcache_get(struct dcache *c, uint16_t type, const void *key, size_t klen,
    struct dcache_val *v)
{
	struct dentry *e = *slot(c, hash(type, key, klen), type, key, klen);

	if (e == NULL)
		return 0;
	v->data = e->data + e->klen;
	v->len = e->vlen;
	v->at = e->at;
	v->index = e->index;
	v->epoch = e->epoch;
	return 1;
}

/* dcache_stats - see cache.h */
void
dcache_stats(const struct dcache *c, size_t *entries, size_t *bytes)
{
	*entries = c->n;
	*bytes = c->bytes;
}

/* dcache_free - every entry, then the cache */
void
dcache_free(struct dcache *c)
{
	struct dentry *e;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->order)) != NULL) {
		TAILQ_REMOVE(&c->order, e, age);
		free(e);
	}
	free(c->tab);
	free(c);
}
