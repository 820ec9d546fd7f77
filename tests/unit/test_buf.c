/*
 * test_buf.c - the growable buffer: appends, consume, and buf_shrink,
 * which must keep the contents exactly and leave the buffer usable.
 */
#include <string.h>

#include "buf.h"
#include "test.h"

static void
test_shrink(void)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "hello, world");
	CHECK(b.cap >= 256);
	buf_shrink(&b);
	CHECK(b.cap == 12 && buf_used(&b) == 12);
	CHECK(memcmp(buf_head(&b), "hello, world", 12) == 0);
	/* after a consume: the rest moves to the front */
	buf_consume(&b, 7);
	buf_shrink(&b);
	CHECK(b.off == 0 && b.cap == 5 && memcmp(buf_head(&b), "world", 5) ==
	    0);
	/* still a buffer: it grows again */
	buf_puts(&b, "!!");
	CHECK(buf_used(&b) == 7 && memcmp(buf_head(&b), "world!!", 7) == 0);
	/* empty: the memory goes */
	buf_consume(&b, 7);
	buf_shrink(&b);
	CHECK(b.data == NULL && b.cap == 0 && buf_used(&b) == 0);
	buf_puts(&b, "x");
	CHECK(buf_used(&b) == 1);
	buf_free(&b);
}

static void
test_append_consume(void)
{
	struct buf b;
	int i;

	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	CHECK(strncmp((const char *)buf_head(&b), "0,1,2,", 6) == 0);
	buf_consume(&b, buf_used(&b) - 4);
	CHECK(memcmp(buf_head(&b), "999,", 4) == 0);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_shrink);
	RUN(test_append_consume);
	return TEST_DONE();
}
