/*
 * test_fresh - when dnsd may answer from a kept reply: only while the
 * watch is live, only for replies at or past the catalog index the watch
 * last heard, only within the epoch they were kept in; a failed watch, an
 * index that goes back, and a server out of touch with its leader for
 * longer than max_stale each stop it.
 */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "../../dnsd/fresh.h"
#include "buf.h"
#include "msg.h"

static void
test_live(void)
{
	struct fresh fr;
	uint64_t e;

	fresh_state(&fr, 10000);
	/* Nothing heard yet: nothing is fresh. */
	CHECK(!fresh_is(&fr, 5, fr.epoch));
	fresh_heard(&fr, 5, 0);
	e = fr.epoch;
	CHECK(fresh_is(&fr, 5, e));
	CHECK(fresh_is(&fr, 6, e));	/* read after a change not yet heard */
	CHECK(!fresh_is(&fr, 4, e));	/* read before the last change */
	CHECK(!fresh_is(&fr, 5, 0));
	/* A change: replies read before it are stale. */
	fresh_heard(&fr, 8, 20);
	CHECK(!fresh_is(&fr, 5, e) && !fresh_is(&fr, 6, e));
	CHECK(fresh_is(&fr, 8, e) && fr.epoch == e && fr.changes == 2);
	/* Heard again, unchanged (a blocking read's wait ran out). */
	fresh_heard(&fr, 8, 20);
	CHECK(fresh_is(&fr, 8, e) && fr.changes == 2);
}

static void
test_lost(void)
{
	struct fresh fr;
	uint64_t e;

	fresh_state(&fr, 10000);
	fresh_heard(&fr, 7, 0);
	e = fr.epoch;
	fresh_lost(&fr, "connection to kvd lost");
	CHECK(!fr.live && fr.epoch != e && !fresh_is(&fr, 7, e));
	/* Back, same index: what was kept before the loss stays stale,
	 * what is read now is fresh. */
	fresh_heard(&fr, 7, 0);
	CHECK(!fresh_is(&fr, 7, e) && fresh_is(&fr, 7, fr.epoch));
}

static void
test_back_and_stale(void)
{
	struct fresh fr;
	uint64_t e;

	fresh_state(&fr, 10000);
	fresh_heard(&fr, 100, 0);
	e = fr.epoch;
	/* The index went back (a restore): a new epoch, so a reply kept
	 * at 100 is not taken for the restored catalog at 50. */
	fresh_heard(&fr, 50, 0);
	CHECK(fr.live && fr.epoch != e && !fresh_is(&fr, 100, e));
	CHECK(fresh_is(&fr, 50, fr.epoch));
	/* The server has not heard its leader for longer than max_stale. */
	fresh_heard(&fr, 50, 10001);
	CHECK(!fr.live && !fresh_is(&fr, 50, fr.epoch));
	fresh_heard(&fr, 50, 10000);
	CHECK(fresh_is(&fr, 50, fr.epoch));
	fresh_set_max_stale(&fr, 5000);
	fresh_heard(&fr, 50, 6000);
	CHECK(!fr.live);
	/* A reply without an index is no news. */
	fresh_heard(&fr, 50, 0);
	CHECK(fr.live);
	fresh_heard(&fr, 0, 0);
	CHECK(!fr.live);
}

static void
test_index(void)
{
	uint64_t index, contact;
	struct buf b;

	buf_init(&b);
	fresh_reply_attrs(buf_head(&b), buf_used(&b), &index, &contact);
	CHECK(index == 0 && contact == 0);
	attr_put_str(&b, A_NODE, "n1");
	attr_put_u64(&b, A_INDEX, 42);
	attr_put_u64(&b, A_LAST_CONTACT, 7);
	fresh_reply_attrs(buf_head(&b), buf_used(&b), &index, &contact);
	CHECK(index == 42 && contact == 7);
	/* A truncated reply gives what could be read. */
	fresh_reply_attrs(buf_head(&b), 3, &index, &contact);
	CHECK(index == 0 && contact == 0);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_live);
	RUN(test_lost);
	RUN(test_back_and_stale);
	RUN(test_index);
	return TEST_DONE();
}
