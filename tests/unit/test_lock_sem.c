/*
 * test_lock_sem.c - the semaphore's .lock value: decoding Consul's JSON
 * (and refusing what Go would refuse), encoding it with the holders
 * sorted, and pruning holders whose session holds no contender key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "test.h"

static struct kv_entry
entry(const char *value, const char *session)
{
	struct kv_entry e;

	memset(&e, 0, sizeof(e));
	e.value = (unsigned char *)value;
	e.vlen = value != NULL ? strlen(value) : 0;
	e.session = (char *)(session != NULL ? session : "");
	return e;
}

static void
test_round_trip(void)
{
	struct kv_entry e = entry("{\"Limit\":3,\"Holders\":{\"b\":true,"
	    "\"a\":true}}", NULL);
	struct lock_sem s;
	struct buf out;
	char err[256];

	CHECK(lock_sem_decode(&e, 9, &s, err, sizeof(err)) == 0);
	CHECK(s.limit == 3 && s.n == 2);
	CHECK(lock_sem_index(&s, "a") >= 0 && lock_sem_index(&s, "z") < 0);
	lock_sem_add(&s, "c");
	buf_init(&out);
	lock_sem_encode(&s, &out);
	CHECK_STR(buf_cstr(&out), "{\"Limit\":3,\"Holders\":{\"a\":true,"
	    "\"b\":true,\"c\":true}}");
	lock_sem_remove(&s, (size_t)lock_sem_index(&s, "b"));
	buf_reset(&out);
	lock_sem_encode(&s, &out);
	CHECK_STR(buf_cstr(&out), "{\"Limit\":3,\"Holders\":{\"a\":true,"
	    "\"c\":true}}");
	buf_free(&out);
	lock_sem_free(&s);
	/* no key yet: a fresh lock with our limit */
	CHECK(lock_sem_decode(NULL, 4, &s, err, sizeof(err)) == 0);
	CHECK(s.limit == 4 && s.n == 0);
	lock_sem_free(&s);
}

static void
test_refused(void)
{
	static const char *bad[] = {
		"{", "[1]", "{\"Limit\":\"x\"}", "{\"Limit\":2,\"Holders\":[]}",
		"{\"Limit\":2,\"Holders\":{\"a\":1}}", "nope",
	};
	struct kv_entry e;
	struct lock_sem s;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = entry(bad[i], NULL);
		err[0] = '\0';
		CHECK(lock_sem_decode(&e, 2, &s, err, sizeof(err)) < 0);
		CHECK(strstr(err, "lock decoding failed") != NULL);
		CHECK(s.n == 0 && s.holders == NULL);
	}
}

static void
test_prune(void)
{
	struct kv_entry e = entry("{\"Limit\":2,\"Holders\":{\"live\":true,"
	    "\"dead\":true}}", NULL);
	struct kv_entry keys[2];
	struct lock_sem s;
	char err[256];

	keys[0] = entry("", "live");
	keys[1] = entry("", "");
	CHECK(lock_sem_decode(&e, 2, &s, err, sizeof(err)) == 0);
	lock_sem_prune(&s, keys, 2);
	CHECK(s.n == 1 && lock_sem_index(&s, "live") == 0);
	lock_sem_prune(&s, NULL, 0);
	CHECK(s.n == 0);
	lock_sem_free(&s);
}

int
main(void)
{
	RUN(test_round_trip);
	RUN(test_refused);
	RUN(test_prune);
	return TEST_DONE();
}
