/*
 * test_dcache - dnsd's stale-answer cache: a stored reply comes back
 * with its time, a newer one replaces it, keys differ by type and bytes,
 * the byte bound evicts the oldest first, and the table grows past its
 * first width without losing anything.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "../../dnsd/cache.h"

static void
test_put_get(void)
{
	struct dcache *c = dcache_new(1 << 20);
	const char *v;
	size_t n, e, b;
	double at;

	CHECK(dcache_get(c, 1, "k", 1, &n, &at) == NULL);
	dcache_put(c, 1, "k", 1, "one", 3, 10.0);
	v = dcache_get(c, 1, "k", 1, &n, &at);
	CHECK(v != NULL && n == 3 && memcmp(v, "one", 3) == 0 && at == 10.0);
	/* Same key bytes, another type: another entry. */
	CHECK(dcache_get(c, 2, "k", 1, &n, &at) == NULL);
	CHECK(dcache_get(c, 1, "k2", 2, &n, &at) == NULL);
	dcache_put(c, 1, "k", 1, "three", 5, 20.0);
	v = dcache_get(c, 1, "k", 1, &n, &at);
	CHECK(v != NULL && n == 5 && memcmp(v, "three", 5) == 0 &&
	    at == 20.0);
	dcache_stats(c, &e, &b);
	CHECK(e == 1 && b == 6);
	/* An empty reply is a reply; an empty key (NULL, as an empty buf
	 * gives) is a key. */
	dcache_put(c, 3, NULL, 0, NULL, 0, 1.0);
	CHECK(dcache_get(c, 3, NULL, 0, &n, &at) != NULL && n == 0);
	dcache_free(c);
}

static void
test_bound(void)
{
	struct dcache *c = dcache_new(100);
	char key[16], val[40];
	size_t n, e, b, i;
	double at;

	memset(val, 'x', sizeof(val));
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "key%zu", i);
		dcache_put(c, 1, key, strlen(key), val, 30, (double)i);
	}
	dcache_stats(c, &e, &b);
	CHECK(b <= 100 && e == 2);
	CHECK(dcache_get(c, 1, "key9", 4, &n, &at) != NULL && at == 9.0);
	CHECK(dcache_get(c, 1, "key8", 4, &n, &at) != NULL);
	CHECK(dcache_get(c, 1, "key7", 4, &n, &at) == NULL);
	/* Larger than the whole bound: not stored, nothing evicted. */
	dcache_put(c, 1, "big", 3, val, sizeof(val) * 3, 11.0);
	CHECK(dcache_get(c, 1, "big", 3, &n, &at) == NULL);
	CHECK(dcache_get(c, 1, "key9", 4, &n, &at) != NULL);
	dcache_free(c);
}

static void
test_grow(void)
{
	struct dcache *c = dcache_new(1 << 24);
	char key[16];
	const void *v;
	size_t n, i, bad = 0;
	unsigned u;
	double at;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "n%zu", i);
		u = (unsigned)i;
		dcache_put(c, (uint16_t)(i % 3), key, strlen(key), &u,
		    sizeof(u), 0.0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "n%zu", i);
		v = dcache_get(c, (uint16_t)(i % 3), key, strlen(key), &n,
		    &at);
		/* Values sit after their keys: not aligned. */
		if (v == NULL || n != sizeof(u) ||
		    (memcpy(&u, v, sizeof(u)), u != i))
			bad++;
	}
	CHECK(bad == 0);
	dcache_free(c);
}

int
main(void)
{
	RUN(test_put_get);
	RUN(test_bound);
	RUN(test_grow);
	return TEST_DONE();
}
