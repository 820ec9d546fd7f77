/*
 * lock_sem.c - the value of a semaphore's .lock key, as Consul's
 * api/semaphore.go reads and writes it: {"Limit":N,"Holders":{"<session>":
 * true,...}}, encoded with the holders sorted as Go's json.Marshal does.
 * The protocol around it (contender keys, CAS) is lock.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "json.h"
#include "log.h"

/* lock_sem_free - the holders */
void
lock_sem_free(struct lock_sem *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->holders[i]);
	free(s->holders);
	s->holders = NULL;
	s->n = 0;
}

/* lock_sem_add - one more holder */
void
lock_sem_add(struct lock_sem *s, const char *id)
{
	char **h;

	if ((h = reallocarray(s->holders, s->n + 1, sizeof(*h))) == NULL)
		log_fatal("out of memory");
	s->holders = h;
	s->holders[s->n++] = cli_xstrdup(id);
}

/* lock_sem_index - where id is among the holders, or -1 */
ssize_t
lock_sem_index(const struct lock_sem *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->holders[i], id) == 0)
			return (ssize_t)i;
	return -1;
}

/* lock_sem_remove - drop holder i */
void
lock_sem_remove(struct lock_sem *s, size_t i)
{
	free(s->holders[i]);
	s->holders[i] = s->holders[--s->n];
}

/*
 * lock_sem_decode - the .lock value (api's decodeLock): none gives a
 * fresh lock with our limit; -1 with why for JSON Go would not take
 */
int
lock_sem_decode(const struct kv_entry *e, uint64_t limit,
    struct lock_sem *s, char *err, size_t errlen)
{
	const char *path[] = { "Holders", NULL };
	yajl_val root, h;
	char why[300];
	size_t i;

	memset(s, 0, sizeof(*s));
	s->limit = limit;
	if (e == NULL || e->vlen == 0)
		return 0;
	if ((root = cli_json_parse((const char *)e->value, e->vlen, why,
	    sizeof(why))) == NULL) {
		snprintf(err, errlen, "lock decoding failed: %s", why);
		return -1;
	}
	h = yajl_tree_get(root, path, yajl_t_any);
	if (!YAJL_IS_OBJECT(root) ||
	    cli_json_u64(root, "Limit", &s->limit) < 0 ||
	    (h != NULL && !YAJL_IS_NULL(h) && !YAJL_IS_OBJECT(h)))
		goto bad;
	for (i = 0; YAJL_IS_OBJECT(h) && i < h->u.object.len; i++) {
		if (!YAJL_IS_TRUE(h->u.object.values[i]) &&
		    !YAJL_IS_FALSE(h->u.object.values[i]))
			goto bad;
		lock_sem_add(s, h->u.object.keys[i]);
	}
	yajl_tree_free(root);
	return 0;
bad:
	snprintf(err, errlen, "lock decoding failed: not a semaphore lock");
	yajl_tree_free(root);
	lock_sem_free(s);
	return -1;
}

/* lock_cmp - qsort's strcmp */
static int
lock_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* lock_sem_encode - Go's json.Marshal of the lock: holders sorted */
void
lock_sem_encode(struct lock_sem *s, struct buf *out)
{
	struct json j;
	size_t i;

	qsort(s->holders, s->n, sizeof(*s->holders), lock_cmp);
	json_init(&j, out, 0);
	json_obj_open(&j);
	json_key(&j, "Limit");
	json_u64(&j, s->limit);
	json_key(&j, "Holders");
	json_obj_open(&j);
	for (i = 0; i < s->n; i++) {
		json_key(&j, s->holders[i]);
		json_bool(&j, 1);
	}
	json_obj_close(&j);
	json_obj_close(&j);
}

/* lock_sem_prune - drop the holders whose session holds no key listed */
void
lock_sem_prune(struct lock_sem *s, const struct kv_entry *e, size_t n)
{
	size_t i, k;

	for (i = 0; i < s->n; ) {
		for (k = 0; k < n; k++)
			if (strcmp(e[k].session, s->holders[i]) == 0)
				break;
		if (k == n)
			lock_sem_remove(s, i);
		else
			i++;
	}
}
