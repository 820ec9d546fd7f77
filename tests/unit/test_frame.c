/*
 * test_frame.c - frames and attributes: round trips, and every good input
 * mutated (cut short, one byte added, lengths broken) must be refused or
 * read without running past the end.
 */
#include <stdlib.h>

#include "frame.h"
#include "msg.h"
#include "test.h"

/* sample - a frame with a few attributes and a nested list */
static void
sample(struct buf *b)
{
	size_t mark, nest;

	mark = frame_begin(b, MSG_KV_GET, FRAME_REPLY, 42, 7);
	attr_put_u64(b, A_INDEX, 1234567890123ULL);
	attr_put_str(b, A_KEY, "web/key1");
	nest = attr_nest_begin(b, A_ENTRY);
	attr_put_u32(b, A_FLAGS, 9);
	attr_put(b, A_VALUE, "\0\1\2", 3);
	attr_nest_end(b, nest);
	attr_put(b, 999, "unknown", 7);		/* a type nobody knows */
	frame_end(b, mark);
}

static void
test_roundtrip(void)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	struct frame f;
	struct buf b;
	char err[128], key[32];
	uint64_t v;
	long n;

	buf_init(&b);
	sample(&b);
	n = frame_parse(b.data, b.len, FRAME_MAX, &f, err, sizeof(err));
	CHECK(n == (long)b.len);
	CHECK(f.type == MSG_KV_GET && f.flags == FRAME_REPLY);
	CHECK(f.id == 42 && f.status == 7);
	CHECK(attr_index(f.body, f.len, tab, ATTR_TAB) == 0);
	CHECK(attr_u64(&tab[A_INDEX], &v) == 0 && v == 1234567890123ULL);
	CHECK(attr_strcpy(&tab[A_KEY], key, sizeof(key)) == 0);
	CHECK_STR(key, "web/key1");
	CHECK(attr_strcpy(&tab[A_KEY], key, 4) == -1);	/* too small */
	CHECK(attr_index(tab[A_ENTRY].val, tab[A_ENTRY].len, et,
	    ATTR_TAB) == 0);
	CHECK(attr_u64(&et[A_FLAGS], &v) == 0 && v == 9);
	CHECK(et[A_VALUE].len == 3 && et[A_VALUE].val[2] == 2);
	CHECK(!attr_present(&tab[A_SESSION]));
	CHECK(attr_u64(&tab[A_SESSION], &v) == -1);
	CHECK(attr_u64(&et[A_VALUE], &v) == -1);	/* 3 bytes: not an integer */
	buf_free(&b);
}

/* test_truncated - every prefix of a frame asks for more, never more */
static void
test_truncated(void)
{
	struct frame f;
	struct buf b;
	char err[128];
	size_t i;
	unsigned char *copy;

	buf_init(&b);
	sample(&b);
	for (i = 0; i < b.len; i++) {
		/* an exact-size heap copy lets ASan catch any overread */
		copy = malloc(i ? i : 1);
		memcpy(copy, b.data, i);
		CHECK(frame_parse(copy, i, FRAME_MAX, &f, err,
		    sizeof(err)) == 0);
		free(copy);
	}
	buf_free(&b);
}

/* test_extended - bytes after a frame are the next frame's, not this one's */
static void
test_extended(void)
{
	struct frame f;
	struct buf b;
	char err[128];
	size_t len;

	buf_init(&b);
	sample(&b);
	len = b.len;
	buf_putc(&b, 0x55);
	CHECK(frame_parse(b.data, b.len, FRAME_MAX, &f, err,
	    sizeof(err)) == (long)len);
	/* two frames back to back */
	buf_reset(&b);
	sample(&b);
	sample(&b);
	CHECK(frame_parse(b.data, b.len, FRAME_MAX, &f, err,
	    sizeof(err)) == (long)len);
	CHECK(frame_parse(b.data + len, b.len - len, FRAME_MAX, &f, err,
	    sizeof(err)) == (long)len);
	buf_free(&b);
}

/* test_oversized - a length over the limit is an error before anything */
static void
test_oversized(void)
{
	unsigned char h[FRAME_HDR_LEN] = { 0 };
	struct frame f;
	char err[128];

	be32_put(h, 1000);
	CHECK(frame_parse(h, sizeof(h), 999, &f, err, sizeof(err)) == -1);
	CHECK(strstr(err, "over limit") != NULL);
	CHECK(frame_parse(h, sizeof(h), 1000, &f, err, sizeof(err)) == 0);
	be32_put(h, 0xffffffffu);
	CHECK(frame_parse(h, sizeof(h), FRAME_MAX, &f, err,
	    sizeof(err)) == -1);
}

/* test_corrupt_attrs - broken attribute lengths are refused, not followed */
static void
test_corrupt_attrs(void)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	struct buf b;
	size_t i;
	unsigned char *copy;
	int r;

	buf_init(&b);
	attr_put_str(&b, A_KEY, "abc");
	attr_put_u64(&b, A_INDEX, 5);
	/* cut short at every byte: never a read past the end */
	for (i = 1; i < b.len; i++) {
		copy = malloc(i);
		memcpy(copy, b.data, i);
		if (i == 11)	/* exactly the first attribute */
			CHECK(attr_index(copy, i, tab, ATTR_TAB) == 0);
		else
			CHECK(attr_index(copy, i, tab, ATTR_TAB) == -1);
		free(copy);
	}
	/* a length larger than what is left */
	be32_put(b.data + 4, 4);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == -1);
	be32_put(b.data + 4, 0xfffffff0u);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == -1);
	/* one trailing byte is not an attribute */
	buf_reset(&b);
	attr_put_str(&b, A_KEY, "abc");
	buf_putc(&b, 1);
	attr_iter_init(&it, b.data, b.len);
	CHECK(attr_next(&it, &a) == 1);
	r = attr_next(&it, &a);
	CHECK(r == -1);
	buf_free(&b);
}

/* test_unknown_skipped - unknown types do not hide the known ones */
static void
test_unknown_skipped(void)
{
	struct attr tab[ATTR_TAB];
	struct buf b;
	uint64_t v;

	buf_init(&b);
	attr_put(&b, 60000, "future", 6);
	attr_put_u64(&b, A_INDEX, 77);
	attr_put(&b, 200, "", 0);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == 0);
	CHECK(attr_u64(&tab[A_INDEX], &v) == 0 && v == 77);
	/* the first of a repeated type is kept */
	attr_put_u64(&b, A_INDEX, 78);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == 0);
	CHECK(attr_u64(&tab[A_INDEX], &v) == 0 && v == 77);
	buf_free(&b);
}

static void
test_int_widths(void)
{
	struct attr tab[ATTR_TAB];
	struct buf b;
	uint64_t v;
	uint32_t w;

	buf_init(&b);
	attr_put_u8(&b, A_RESULT, 1);
	attr_put_u32(&b, A_PORT, 8500);
	attr_put_u64(&b, A_INDEX, 1ULL << 40);
	attr_put(&b, A_FLAGS, "abc", 3);
	attr_index(b.data, b.len, tab, ATTR_TAB);
	CHECK(attr_u64(&tab[A_RESULT], &v) == 0 && v == 1);
	CHECK(attr_u32(&tab[A_PORT], &w) == 0 && w == 8500);
	CHECK(attr_u32(&tab[A_INDEX], &w) == -1);	/* does not fit */
	CHECK(attr_u64(&tab[A_FLAGS], &v) == -1);	/* 3 bytes */
	buf_free(&b);
}

int
main(void)
{
	RUN(test_roundtrip);
	RUN(test_truncated);
	RUN(test_extended);
	RUN(test_oversized);
	RUN(test_corrupt_attrs);
	RUN(test_unknown_skipped);
	RUN(test_int_widths);
	return TEST_DONE();
}
