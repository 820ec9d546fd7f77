/*
 * test_jv.c - the JSON tree: values, positions, errors, typed reads, and
 * every good input cut short or extended.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jv.h"
#include "test.h"

static char err[256];

/* parse - jv_parse a C string named "t.json" */
static struct jv *
parse(const char *s)
{
	err[0] = '\0';
	return jv_parse(s, strlen(s), "t.json", err, sizeof(err));
}

/* Good inputs: the root's type and where the root starts. */
static const struct {
	const char	*text;
	enum jv_type	 type;
	int		 line, col;
} good[] = {
	{ "null", JV_NULL, 1, 1 },
	{ "true", JV_BOOL, 1, 1 },
	{ "false", JV_BOOL, 1, 1 },
	{ "0", JV_NUM, 1, 1 },
	{ "-12.5e3", JV_NUM, 1, 1 },
	{ "  42  ", JV_NUM, 1, 3 },
	{ "\"\"", JV_STR, 1, 1 },
	{ "\"a\\\"b\\\\c\\n\"", JV_STR, 1, 1 },
	{ "\n\n  []", JV_ARR, 3, 3 },
	{ "{}", JV_OBJ, 1, 1 },
	{ "[1, [2, [3]], {\"a\": {\"b\": null}}]", JV_ARR, 1, 1 },
	{ "{\"k\": \"\\u00e9\\ud83d\\ude00\", \"n\": [true, false]}",
	    JV_OBJ, 1, 1 },
	{ "\t{\"ports\": {\"http\": 8500}}\n", JV_OBJ, 1, 2 },
};

static void
test_good(void)
{
	struct jv *v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = parse(good[i].text);
		CHECK(v != NULL);
		if (v == NULL) {
			fprintf(stderr, "  %s: %s\n", good[i].text, err);
			continue;
		}
		CHECK(v->type == good[i].type);
		CHECK(v->line == good[i].line);
		CHECK(v->col == good[i].col);
		CHECK_STR(v->file, "t.json");
		jv_free(v);
	}
}

static void
test_values(void)
{
	struct jv *v;

	v = parse("[null, true, false, 1.50, -7, \"x\\ty\", [], {}]");
	CHECK(v != NULL && v->type == JV_ARR && v->n == 8);
	if (v == NULL || v->n != 8)
		return;
	CHECK(v->items[0]->type == JV_NULL);
	CHECK(v->items[1]->type == JV_BOOL && v->items[1]->b == 1);
	CHECK(v->items[2]->type == JV_BOOL && v->items[2]->b == 0);
	CHECK(v->items[3]->type == JV_NUM && v->items[3]->num == 1.5);
	/* The source text survives, trailing zero and all. */
	CHECK_STR(v->items[3]->str, "1.50");
	CHECK(v->items[4]->num == -7);
	CHECK_STR(v->items[5]->str, "x\ty");
	CHECK(v->items[6]->type == JV_ARR && v->items[6]->n == 0);
	CHECK(v->items[7]->type == JV_OBJ && v->items[7]->n == 0);
	jv_free(v);

	/* Escapes decode to UTF-8, surrogate pairs included. */
	v = parse("\"\\u00e9\\ud83d\\ude00\\/\"");
	CHECK(v != NULL && v->type == JV_STR);
	if (v != NULL)
		CHECK_STR(v->str, "\xc3\xa9\xf0\x9f\x98\x80/");
	jv_free(v);
}

static void
test_positions(void)
{
	const char *text =
	    "{\n"
	    "  \"a\": 1,\n"
	    "  \"b\" :  [true,\n"
	    "\t\"\xc3\xa9t\xc3\xa9\", {\"c\": null}],\n"
	    "  \"d\":\"x\"}";
	struct jv *v, *b;

	v = parse(text);
	CHECK(v != NULL && v->type == JV_OBJ && v->n == 3);
	if (v == NULL || v->n != 3)
		return;
	CHECK(v->line == 1 && v->col == 1);
	CHECK_STR(v->keys[0], "a");
	CHECK(v->items[0]->line == 2 && v->items[0]->col == 8);
	b = v->items[1];
	CHECK(b->type == JV_ARR && b->n == 3);
	CHECK(b->line == 3 && b->col == 10);
	if (b->n == 3) {
		CHECK(b->items[0]->line == 3 && b->items[0]->col == 11);
		CHECK(b->items[1]->line == 4 && b->items[1]->col == 2);
		/* Columns count characters: "été" is 5 wide with quotes. */
		CHECK(b->items[2]->line == 4 && b->items[2]->col == 9);
		CHECK(b->items[2]->n == 1 &&
		    b->items[2]->items[0]->line == 4 &&
		    b->items[2]->items[0]->col == 15);
	}
	CHECK(v->items[2]->line == 5 && v->items[2]->col == 7);
	jv_free(v);
}

/* Bad inputs and the exact message. */
static const struct {
	const char	*text;
	const char	*err;
} bad[] = {
	{ "", "t.json:1:1: premature EOF" },
	{ "   \n ", "t.json:2:2: premature EOF" },
	{ "{", "t.json:1:2: premature EOF" },
	{ "[1,", "t.json:1:4: premature EOF" },
	{ "\"abc", "t.json:1:1: premature EOF" },
	{ "{\"a\":1,}", "t.json:1:8: invalid object key (must be a string)" },
	{ "{1:2}", "t.json:1:2: invalid object key (must be a string)" },
	{ "[1 2]", "t.json:1:4: after array element, I expect ',' or ']'" },
	{ "{\"a\" 1}", "t.json:1:6: object key and value must be separated "
	    "by a colon (':')" },
	{ "[1, 2,\n  3, x]", "t.json:2:6: invalid char in json text" },
	{ "{\"a\":tru}", "t.json:1:6: invalid string in json text" },
	{ "[-]", "t.json:1:2: malformed number, a digit is required after "
	    "the minus sign" },
	{ "{} x", "t.json:1:4: trailing garbage" },
	{ "{}{}", "t.json:1:3: trailing garbage" },
	{ "[1]]", "t.json:1:4: trailing garbage" },
	{ "01", "t.json:1:2: trailing garbage" },
	{ "[\n  \"\xff\"]", "t.json:2:3: invalid bytes in UTF8 string" },
	{ "\"\\u0000\"", "t.json:1:1: string contains \\u0000" },
	{ "{\"a\\u0000\":1}", "t.json:1:2: key contains \\u0000" },
	{ "// c\n{}", "t.json:1:1: probable comment found in input text, "
	    "comments are not enabled" },
	{ "{} \"", "t.json:1:4: trailing garbage" },
	{ "{}tr", "t.json:1:3: trailing garbage" },
	{ "1 -", "t.json:1:3: trailing garbage" },
	{ "{} ,", "t.json:1:4: trailing garbage" },
	{ "[] :", "t.json:1:4: trailing garbage" },
	{ "[1 :]", "t.json:1:4: after array element, I expect ',' or ']'" },
	{ "{\"a\",1}", "t.json:1:5: object key and value must be separated "
	    "by a colon (':')" },
	{ "{\"a\":1,,}", "t.json:1:8: invalid object key (must be a string)" },
	{ "[1,]", "t.json:1:4: unallowed token at this point in JSON text" },
};

static void
test_bad(void)
{
	struct jv *v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = parse(bad[i].text);
		CHECK(v == NULL);
		jv_free(v);
		CHECK_STR(err, bad[i].err);
	}
}

/* nest - n '[' then n ']' */
static char *
nest(int n)
{
	char *s = malloc((size_t)n * 2 + 1);
	int i;

	for (i = 0; i < n; i++) {
		s[i] = '[';
		s[n + i] = ']';
	}
	s[2 * n] = '\0';
	return s;
}

static void
test_depth(void)
{
	struct jv *v;
	char *s;

	s = nest(64);
	v = parse(s);
	CHECK(v != NULL);
	jv_free(v);
	free(s);

	s = nest(65);
	v = parse(s);
	CHECK(v == NULL);
	CHECK_STR(err, "t.json:1:65: nesting deeper than 64");
	free(s);

	/* Deep enough to hurt a recursive parser: still one clean error. */
	s = nest(100000);
	v = parse(s);
	CHECK(v == NULL);
	CHECK_STR(err, "t.json:1:65: nesting deeper than 64");
	free(s);

	v = parse("{\"a\":[{\"b\":[{\"c\":[{\"d\":[{\"e\":[1]}]}]}]}]}");
	CHECK(v != NULL);
	jv_free(v);
}

/* Key matching: case and underscores do not count. */
static const struct {
	const char	*a, *b;
	int		 eq;
} keys[] = {
	{ "service_id", "ServiceID", 1 },
	{ "serviceid", "service_id", 1 },
	{ "SERVICE__ID_", "serviceid", 1 },
	{ "_", "", 1 },
	{ "", "", 1 },
	{ "node", "nodes", 0 },
	{ "nodes", "node", 0 },
	{ "a", "b", 0 },
	{ "node-name", "node_name", 0 },
	{ "", "x", 0 },
};

static void
test_keyeq(void)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		CHECK(jv_keyeq(keys[i].a, keys[i].b) == keys[i].eq);
		CHECK(jv_keyeq(keys[i].b, keys[i].a) == keys[i].eq);
	}
}

static void
test_get(void)
{
	struct jv *v, *x;
	int64_t n;
	int b;

	v = parse("{\"Name\": \"web\", \"port\": 80, \"name\": \"api\", "
	    "\"on\": true, \"big\": 9223372036854775807, "
	    "\"over\": 9223372036854775808, \"neg\": -9223372036854775808, "
	    "\"k\": 1e3, \"frac\": 1.5, \"whole\": 2.0, \"huge\": 1e300, "
	    "\"s\": \"80\", \"nul\": null}");
	CHECK(v != NULL && v->n == 13);
	if (v == NULL)
		return;
	/* Order and repeats are kept; jv_get takes the last. */
	CHECK_STR(v->keys[0], "Name");
	CHECK_STR(v->keys[2], "name");
	CHECK_STR(jv_str(v, "name"), "api");
	CHECK_STR(jv_str(v, "NAME"), "api");
	CHECK(jv_str(v, "port") == NULL);
	CHECK(jv_str(v, "missing") == NULL);
	x = jv_get(v, "P_O_R_T");
	CHECK(x != NULL && x->type == JV_NUM);
	CHECK(jv_int(v, "port", &n) == 0 && n == 80);
	CHECK(jv_int(v, "big", &n) == 0 && n == INT64_MAX);
	CHECK(jv_int(v, "neg", &n) == 0 && n == INT64_MIN);
	CHECK(jv_int(v, "over", &n) == -1);
	CHECK(jv_int(v, "k", &n) == 0 && n == 1000);
	CHECK(jv_int(v, "whole", &n) == 0 && n == 2);
	CHECK(jv_int(v, "frac", &n) == -1);
	CHECK(jv_int(v, "huge", &n) == -1);
	CHECK(jv_int(v, "s", &n) == -1);
	CHECK(jv_int(v, "nul", &n) == -1);
	CHECK(jv_int(v, "missing", &n) == -1);
	CHECK(jv_bool(v, "on", &b) == 0 && b == 1);
	CHECK(jv_bool(v, "port", &b) == -1);
	CHECK(jv_get(v, "nul") != NULL && jv_get(v, "nul")->type == JV_NULL);
	/* Not an object: nothing to get. */
	CHECK(jv_get(v->items[1], "x") == NULL);
	CHECK(jv_get(NULL, "x") == NULL);
	jv_free(v);
}

/*
 * Every good input, cut at every length and with a byte added: no crash,
 * no leak, and a failure always says where.
 */
static void
test_mutations(void)
{
	static const char tail[] = "x]}\",:0 ";
	struct jv *v;
	char *s;
	size_t i, k, n, t;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i].text);
		s = malloc(n + 2);
		for (k = 0; k < n; k++) {
			v = jv_parse(good[i].text, k, "t.json", err,
			    sizeof(err));
			if (v == NULL)
				CHECK(strncmp(err, "t.json:", 7) == 0);
			jv_free(v);
		}
		for (t = 0; t < sizeof(tail) - 1; t++) {
			memcpy(s, good[i].text, n);
			s[n] = tail[t];
			v = jv_parse(s, n + 1, "t.json", err, sizeof(err));
			/* Only a space, or a digit after a number, can fit. */
			if (tail[t] != ' ' && !(good[i].type == JV_NUM &&
			    tail[t] == '0'))
				CHECK(v == NULL);
			jv_free(v);
		}
		free(s);
	}
	/* A cut that lands inside the input never reads past len. */
	v = jv_parse("[1, 2]garbage", 6, "t.json", err, sizeof(err));
	CHECK(v != NULL && v->n == 2);
	jv_free(v);
}

int
main(void)
{
	RUN(test_good);
	RUN(test_values);
	RUN(test_positions);
	RUN(test_bad);
	RUN(test_depth);
	RUN(test_keyeq);
	RUN(test_get);
	RUN(test_mutations);
	return TEST_DONE();
}
