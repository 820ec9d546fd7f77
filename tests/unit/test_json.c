/*
 * test_json.c - the JSON writer: layout (compact and Consul's ?pretty),
 * escaping of quotes, controls and bad UTF-8, nesting, numbers; every
 * output is read back by yajl to prove it is JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "json.h"
#include "test.h"

/* valid - s[0..n) is one JSON value, by yajl's own tree parser */
static int
valid(const char *s, size_t n)
{
	char err[256];
	yajl_val v;

	/* The writer never emits a raw NUL, so s as a C string is all. */
	if (strlen(s) != n)
		return 0;
	v = yajl_tree_parse(s, err, sizeof(err));
	yajl_tree_free(v);
	return v != NULL;
}

/* doc - one document with every kind of value */
static void
doc(struct json *j)
{
	json_obj_open(j);
	json_key(j, "Key");
	json_str(j, "web/a");
	json_key(j, "Flags");
	json_u64(j, UINT64_MAX);
	json_key(j, "Neg");
	json_i64(j, INT64_MIN);
	json_key(j, "Value");
	json_base64(j, "hi", 2);
	json_key(j, "Session");
	json_str(j, NULL);
	json_key(j, "Ok");
	json_bool(j, 1);
	json_key(j, "No");
	json_bool(j, 0);
	json_key(j, "Tags");
	json_arr_open(j);
	json_str(j, "a");
	json_arr_open(j);
	json_arr_close(j);
	json_obj_open(j);
	json_obj_close(j);
	json_null(j);
	json_arr_close(j);
	json_key(j, "Empty");
	json_obj_open(j);
	json_obj_close(j);
	json_obj_close(j);
}

static void
test_compact(void)
{
	struct buf b;
	struct json j;

	buf_init(&b);
	json_init(&j, &b, 0);
	doc(&j);
	CHECK_STR(buf_cstr(&b), "{\"Key\":\"web/a\","
	    "\"Flags\":18446744073709551615,\"Neg\":-9223372036854775808,"
	    "\"Value\":\"aGk=\",\"Session\":null,\"Ok\":true,\"No\":false,"
	    "\"Tags\":[\"a\",[],{},null],\"Empty\":{}}");
	CHECK(valid(buf_cstr(&b), buf_used(&b)));
	CHECK(j.depth == 0);
	buf_free(&b);
}

static void
test_pretty(void)
{
	struct buf b;
	struct json j;

	/* Go's MarshalIndent(v, "", "    "), as Consul's ?pretty. */
	buf_init(&b);
	json_init(&j, &b, 1);
	doc(&j);
	CHECK_STR(buf_cstr(&b),
	    "{\n"
	    "    \"Key\": \"web/a\",\n"
	    "    \"Flags\": 18446744073709551615,\n"
	    "    \"Neg\": -9223372036854775808,\n"
	    "    \"Value\": \"aGk=\",\n"
	    "    \"Session\": null,\n"
	    "    \"Ok\": true,\n"
	    "    \"No\": false,\n"
	    "    \"Tags\": [\n"
	    "        \"a\",\n"
	    "        [],\n"
	    "        {},\n"
	    "        null\n"
	    "    ],\n"
	    "    \"Empty\": {}\n"
	    "}");
	CHECK(valid(buf_cstr(&b), buf_used(&b)));
	buf_free(&b);

	buf_init(&b);
	json_init(&j, &b, 1);
	json_arr_open(&j);
	json_arr_close(&j);
	CHECK_STR(buf_cstr(&b), "[]");
	buf_free(&b);
}

/* Escaping: input bytes and the exact escaped text. */
static const struct {
	const char	*in;
	size_t		 n;
	const char	*out;
} esc[] = {
	{ "plain", 5, "plain" },
	{ "", 0, "" },
	{ "q\"b\\s/", 6, "q\\\"b\\\\s/" },
	{ "\n\r\t", 3, "\\n\\r\\t" },
	{ "\b\f", 2, "\\u0008\\u000c" },
	{ "\x01\x1f\x7f", 3, "\\u0001\\u001f\x7f" },
	{ "a\0b", 3, "a\\u0000b" },
	/* Well-formed UTF-8 passes through: 2, 3 and 4 bytes. */
	{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "\xef\xbf\xbf\xf4\x8f\xbf\xbf", 7, "\xef\xbf\xbf\xf4\x8f\xbf\xbf" },
	/* Bad UTF-8: one U+FFFD per bad byte. */
	{ "\xff", 1, "\xef\xbf\xbd" },
	{ "a\x80z", 3, "a\xef\xbf\xbdz" },
	{ "\xc0\x80", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong NUL */
	{ "\xc1\xbf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
	{ "\xe0\x80\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xf5\x80\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xc3", 1, "\xef\xbf\xbd" },			/* cut short */
	{ "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd" },
	{ "\xe2\x82x", 3, "\xef\xbf\xbd\xef\xbf\xbdx" },
	{ "\xf0\x9f\x98", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
};

static void
test_escape(void)
{
	struct buf b;
	struct json j;
	size_t i;

	for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++) {
		buf_init(&b);
		json_escape(&b, esc[i].in, esc[i].n);
		CHECK_STR(buf_cstr(&b), esc[i].out);
		buf_free(&b);

		/* And as a whole value it reads back as JSON. */
		buf_init(&b);
		json_init(&j, &b, 0);
		json_strn(&j, esc[i].in, esc[i].n);
		CHECK(valid(buf_cstr(&b), buf_used(&b)));
		buf_free(&b);
	}
}

/* Every byte value alone and in pairs: always valid JSON. */
static void
test_all_bytes(void)
{
	struct buf b;
	struct json j;
	char s[3];
	int x, y, bad = 0;

	/*
	 * The checker itself refuses what the writer must never emit (yajl
	 * lets overlong forms through; test_escape pins those exactly).
	 */
	CHECK(!valid("\"\xff\"", 3));
	CHECK(!valid("\"\x01\"", 3));
	CHECK(valid("\"\xc3\xa9\"", 4));
	for (x = 0; x < 256; x++)
		for (y = 0; y < 256; y += 7) {
			s[0] = (char)x;
			s[1] = (char)y;
			s[2] = (char)0xe2;
			buf_init(&b);
			json_init(&j, &b, 0);
			json_strn(&j, s, 3);
			if (!valid(buf_cstr(&b), buf_used(&b)))
				bad++;
			buf_free(&b);
		}
	CHECK(bad == 0);
}

static void
test_nesting(void)
{
	struct buf b;
	struct json j;
	int i;

	buf_init(&b);
	json_init(&j, &b, 0);
	for (i = 0; i < JSON_DEPTH; i++) {
		json_arr_open(&j);
		json_i64(&j, i);
	}
	for (i = 0; i < JSON_DEPTH; i++)
		json_arr_close(&j);
	CHECK(j.depth == 0);
	CHECK(strncmp(buf_cstr(&b), "[0,[1,[2,", 9) == 0);
	CHECK(valid(buf_cstr(&b), buf_used(&b)));
	buf_free(&b);

	/* More than 255 members: the capped counter still places commas. */
	buf_init(&b);
	json_init(&j, &b, 1);
	json_arr_open(&j);
	for (i = 0; i < 300; i++)
		json_i64(&j, i);
	json_arr_close(&j);
	CHECK(valid(buf_cstr(&b), buf_used(&b)));
	CHECK(strstr(buf_cstr(&b), "    298,\n    299\n]") != NULL);
	buf_free(&b);
}

static void
test_keys_escaped(void)
{
	struct buf b;
	struct json j;

	buf_init(&b);
	json_init(&j, &b, 0);
	json_obj_open(&j);
	json_key(&j, "a\"b\n");
	json_i64(&j, -1);
	json_key(&j, "\xff");
	json_u64(&j, 0);
	/* A name of n bytes, which need not be terminated. */
	json_keyn(&j, "k\0xyz", 3);
	json_null(&j);
	json_obj_close(&j);
	CHECK_STR(buf_cstr(&b), "{\"a\\\"b\\n\":-1,\"\xef\xbf\xbd\":0,"
	    "\"k\\u0000x\":null}");
	buf_free(&b);
}

int
main(void)
{
	RUN(test_compact);
	RUN(test_pretty);
	RUN(test_escape);
	RUN(test_all_bytes);
	RUN(test_nesting);
	RUN(test_keys_escaped);
	return TEST_DONE();
}
