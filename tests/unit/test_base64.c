/*
 * test_base64.c - RFC 4648 section 10 vectors both ways, round trips of
 * every length, and bad input (which must leave the buffer as it was).
 */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "test.h"

static const struct {
	const char	*plain;
	const char	*enc;
} vec[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_vectors(void)
{
	struct buf b;
	size_t i, n;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = strlen(vec[i].plain);
		buf_init(&b);
		base64_encode(&b, vec[i].plain, n);
		CHECK_STR(buf_cstr(&b), vec[i].enc);
		CHECK(buf_used(&b) == BASE64_LEN(n));
		buf_free(&b);

		buf_init(&b);
		CHECK(base64_decode(&b, vec[i].enc, strlen(vec[i].enc)) == 0);
		CHECK(buf_used(&b) == n);
		CHECK_STR(buf_cstr(&b), vec[i].plain);
		buf_free(&b);
	}
	/* High bits and the last two alphabet characters. */
	buf_init(&b);
	base64_encode(&b, "\xfb\xff\xbf\x00", 4);
	CHECK_STR(buf_cstr(&b), "+/+/AA==");
	buf_free(&b);
}

static void
test_round_trip(void)
{
	unsigned char in[200];
	struct buf e, d;
	size_t n, i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 167 + 13);
	for (n = 0; n <= sizeof(in); n++) {
		buf_init(&e);
		buf_init(&d);
		base64_encode(&e, in, n);
		CHECK(buf_used(&e) == BASE64_LEN(n));
		CHECK(base64_decode(&d, (char *)buf_head(&e), buf_used(&e)) ==
		    0);
		CHECK(buf_used(&d) == n);
		CHECK(n == 0 || memcmp(buf_head(&d), in, n) == 0);
		/* Mutations: one character short or one too many. */
		if (n > 0)
			CHECK(base64_decode(&d, (char *)buf_head(&e),
			    buf_used(&e) - 1) == -1);
		buf_putc(&e, 'A');
		CHECK(base64_decode(&d, (char *)buf_head(&e), buf_used(&e)) ==
		    -1);
		CHECK(buf_used(&d) == n);
		buf_free(&e);
		buf_free(&d);
	}
}

static const char *const bad[] = {
	"Zg", "Zg=", "Z", "Zm9", "Z===", "====", "=Zg=", "Zg=a", "Zg==Zg==",
	"Zm9v\n", "Zm9v YmFy", " Zm9v", "Zm-v", "Zm_v", "Zm.v",
	"Zm9vY\xc3\xa9=",
};

static void
test_bad(void)
{
	struct buf b;
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = strlen(bad[i]);
		buf_init(&b);
		buf_puts(&b, "keep");
		CHECK(base64_decode(&b, bad[i], n) == -1);
		/* The buffer is as it was. */
		CHECK(buf_used(&b) == 4);
		CHECK_STR(buf_cstr(&b), "keep");
		buf_free(&b);
	}
	/* An embedded NUL in the middle of good characters. */
	buf_init(&b);
	CHECK(base64_decode(&b, "Zm9v\0Zm9", 8) == -1);
	CHECK(buf_used(&b) == 0);
	buf_free(&b);
}

static void
test_append(void)
{
	struct buf b;

	/* Both directions append after what the buffer holds. */
	buf_init(&b);
	buf_puts(&b, "x:");
	base64_encode(&b, "foo", 3);
	CHECK_STR(buf_cstr(&b), "x:Zm9v");
	CHECK(base64_decode(&b, "YmFy", 4) == 0);
	CHECK_STR(buf_cstr(&b), "x:Zm9vbar");
	/* With consumed bytes at the head, a failure still restores. */
	buf_consume(&b, 2);
	CHECK(base64_decode(&b, "Y!Fy", 4) == -1);
	CHECK_STR(buf_cstr(&b), "Zm9vbar");
	buf_free(&b);
}

int
main(void)
{
	RUN(test_vectors);
	RUN(test_round_trip);
	RUN(test_bad);
	RUN(test_append);
	return TEST_DONE();
}
