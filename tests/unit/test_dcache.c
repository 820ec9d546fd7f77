/*
 * test_dcache - dnsd's reply cache: a stored reply comes back with its
 * time, index and epoch, a newer one replaces it, keys differ by type and bytes,
 * the byte bound evicts the oldest first, and the table grows past its
 * first width without losing anything.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "../../dnsd/cache.h"

/* put - store val (NUL-terminated, or NULL) at time at, index and epoch */
static void
put(struct dcache *c, uint16_t type, const void *key, size_t klen,
    const void *val, size_t vlen, double at)
{
	struct dcache_val v = { val, vlen, at, (uint64_t)at * 10,
	    (uint64_t)at + 1 };

	dcache_put(c, type, key, klen, &v);
}

static void
test_put_get(void)
{
	struct dcache *c = dcache_new(1 << 20);
	struct dcache_val v;
	size_t e, b;

	CHECK(dcache_get(c, 1, "k", 1, &v) == 0);
	put(c, 1, "k", 1, "one", 3, 10.0);
	CHECK(dcache_get(c, 1, "k", 1, &v) == 1 && v.len == 3 &&
	    memcmp(v.data, "one", 3) == 0 && v.at == 10.0 &&
	    v.index == 100 && v.epoch == 11);
	/* Same key bytes, another type: another entry. */
	CHECK(dcache_get(c, 2, "k", 1, &v) == 0);
	CHECK(dcache_get(c, 1, "k2", 2, &v) == 0);
	put(c, 1, "k", 1, "three", 5, 20.0);
	CHECK(dcache_get(c, 1, "k", 1, &v) == 1 && v.len == 5 &&
	    memcmp(v.data, "three", 5) == 0 && v.at == 20.0 &&
	    v.index == 200 && v.epoch == 21);
	dcache_stats(c, &e, &b);
	CHECK(e == 1 && b == 6);
	/* An empty reply is a reply; an empty key (NULL, as an empty buf
	 * gives) is a key. */
	put(c, 3, NULL, 0, NULL, 0, 1.0);
	CHECK(dcache_get(c, 3, NULL, 0, &v) == 1 && v.len == 0);
	dcache_free(c);
}

static void
test_bound(void)
{
	struct dcache *c = dcache_new(100);
	struct dcache_val v;
	char key[16], val[40];
	size_t e, b, i;

	memset(val, 'x', sizeof(val));
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "key%zu", i);
		put(c, 1, key, strlen(key), val, 30, (double)i);
	}
	dcache_stats(c, &e, &b);
	CHECK(b <= 100 && e == 2);
	CHECK(dcache_get(c, 1, "key9", 4, &v) == 1 && v.at == 9.0);
	CHECK(dcache_get(c, 1, "key8", 4, &v) == 1);
	CHECK(dcache_get(c, 1, "key7", 4, &v) == 0);
	/* Larger than the whole bound: not stored, nothing evicted. */
	put(c, 1, "big", 3, val, sizeof(val) * 3, 11.0);
	CHECK(dcache_get(c, 1, "big", 3, &v) == 0);
	CHECK(dcache_get(c, 1, "key9", 4, &v) == 1);
	dcache_free(c);
}

static void
test_grow(void)
{
	struct dcache *c = dcache_new(1 << 24);
	struct dcache_val v;
	char key[16];
	size_t i, bad = 0;
	unsigned u;

	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "n%zu", i);
		u = (unsigned)i;
		put(c, (uint16_t)(i % 3), key, strlen(key), &u, sizeof(u),
		    (double)i);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "n%zu", i);
		/* Values sit after their keys: not aligned. */
		if (dcache_get(c, (uint16_t)(i % 3), key, strlen(key),
		    &v) != 1 || v.len != sizeof(u) ||
		    (memcpy(&u, v.data, sizeof(u)), u != i) ||
		    v.index != i * 10)
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
