/*
 * jv.c - a JSON value tree with source positions, built with yajl's
 * callback parser. See jv.h.
 *
 * yajl reports, during each callback, how many bytes it has consumed: the
 * end of the token that made the call. Between two callbacks the text
 * holds only whitespace, ',' and ':' (which make no callback), so a value
 * starts at the first other byte after the previous callback's end. A
 * cursor walks forward from value to value to turn offsets into line and
 * column, so positions cost O(n) over the whole text.
 *
 * Left out: comments (Consul's JSON has none), strings holding U+0000
 * (a C string cannot carry them; rejected rather than cut short), and
 * nesting deeper than JV_MAX_DEPTH.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jv.h"
#include "log.h"

#define JV_MAX_DEPTH	64

struct jv_parser {
	const unsigned char *text;
	size_t		 len;
	const char	*file;
	struct jv	*root;
	struct jv	*stack[JV_MAX_DEPTH];
	int		 depth;
	char		*key;		/* pending object key */
	size_t		 prev_end;	/* end of the last token seen */
	int		 finishing;	/* inside yajl_complete_parse */
	yajl_handle	 h;
	size_t		 cur;		/* position cursor: offset, */
	int		 line, col;	/* and its line and column */
	char		*err;
	size_t		 errlen;
	int		 failed;	/* err already holds our message */
};

/* jv_xcalloc - calloc or die */
static void *
jv_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL)
		log_fatal("out of memory");
	return p;
}

/* jv_strndup - copy n bytes into a new C string */
static char *
jv_strndup(const unsigned char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		log_fatal("out of memory");
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* jv_free - free a value and everything under it */
void
jv_free(struct jv *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++) {
		if (v->keys != NULL)
			free(v->keys[i]);
		jv_free(v->items[i]);
	}
	free(v->keys);
	free(v->items);
	free(v->str);
	free(v);
}

/* jv_seek - move the cursor to offset off and return its line and column */
static void
jv_seek(struct jv_parser *p, size_t off)
{
	if (off > p->len)
		off = p->len;
	/* Callbacks come in text order, so the cursor only moves forward. */
	for (; p->cur < off; p->cur++) {
		if (p->text[p->cur] == '\n') {
			p->line++;
			p->col = 1;
		} else if ((p->text[p->cur] & 0xc0) != 0x80) {
			/* Count characters, not UTF-8 continuation bytes. */
			p->col++;
		}
	}
}

/* jv_is_space - JSON whitespace (RFC 8259 section 2) */
static int
jv_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * jv_tok_start - offset of the token after the previous callback: past
 * whitespace and the one separator the grammar puts there, if any (':'
 * after a key, ',' after a member), so that in an error the offending
 * token itself is pointed at, be it a stray separator.
 */
static size_t
jv_tok_start(const struct jv_parser *p)
{
	const struct jv *c;
	size_t i = p->prev_end;
	int sep = 0;

	if (p->depth > 0) {
		c = p->stack[p->depth - 1];
		if (p->key != NULL)
			sep = ':';
		else if (c->n > 0)
			sep = ',';
	}
	while (i < p->len && jv_is_space(p->text[i]))
		i++;
	if (sep != 0 && i < p->len && p->text[i] == sep)
		i++;
	while (i < p->len && jv_is_space(p->text[i]))
		i++;
	return i;
}

/* jv_consumed - note where the token that made this callback ended */
static void
jv_consumed(struct jv_parser *p)
{
	/*
	 * yajl_complete_parse() feeds yajl a private " " to end a trailing
	 * number, so its offsets no longer refer to our text.
	 */
	if (p->finishing)
		p->prev_end = p->len;
	else
		p->prev_end = yajl_get_bytes_consumed(p->h);
}

/* jv_fail - stop the parse with "file:line:col: what" at offset off */
static int
jv_fail(struct jv_parser *p, size_t off, const char *what)
{
	jv_seek(p, off);
	snprintf(p->err, p->errlen, "%s:%d:%d: %s", p->file, p->line, p->col,
	    what);
	p->failed = 1;
	return 0;
}

/* jv_grow - room for one more item; capacity doubles at powers of two */
static void
jv_grow(struct jv *c)
{
	size_t cap;

	if (c->n != 0 && (c->n & (c->n - 1)) != 0)
		return;
	cap = c->n ? c->n * 2 : 1;
	if (cap < c->n)
		log_fatal("out of memory");
	if ((c->items = reallocarray(c->items, cap, sizeof(*c->items))) ==
	    NULL)
		log_fatal("out of memory");
	if (c->type == JV_OBJ && (c->keys = reallocarray(c->keys, cap,
	    sizeof(*c->keys))) == NULL)
		log_fatal("out of memory");
}

/*
 * jv_new - a value of type t starting at the current token, attached to
 * its parent (or made the root), so an early stop frees it with the tree.
 */
static struct jv *
jv_new(struct jv_parser *p, enum jv_type t)
{
	struct jv *v, *c;
	size_t start;

	start = jv_tok_start(p);
	jv_consumed(p);
	v = jv_xcalloc(1, sizeof(*v));
	v->type = t;
	v->file = p->file;
	jv_seek(p, start);
	v->line = p->line;
	v->col = p->col;
	if (p->depth == 0) {
		p->root = v;
		return v;
	}
	c = p->stack[p->depth - 1];
	jv_grow(c);
	if (c->type == JV_OBJ) {
		c->keys[c->n] = p->key;
		p->key = NULL;
	}
	c->items[c->n++] = v;
	return v;
}

/* jv_cb_null - yajl: null */
static int
jv_cb_null(void *ctx)
{
	jv_new(ctx, JV_NULL);
	return 1;
}

/* jv_cb_bool - yajl: true or false */
static int
jv_cb_bool(void *ctx, int b)
{
	jv_new(ctx, JV_BOOL)->b = b != 0;
	return 1;
}

/* jv_cb_number - yajl: a number, kept as text and as a double */
static int
jv_cb_number(void *ctx, const char *s, size_t n)
{
	struct jv *v = jv_new(ctx, JV_NUM);

	v->str = jv_strndup((const unsigned char *)s, n);
	/* yajl has checked the grammar; huge values become +-HUGE_VAL. */
	v->num = strtod(v->str, NULL);
	return 1;
}

/* jv_cb_string - yajl: a string value, unescaped and valid UTF-8 */
static int
jv_cb_string(void *ctx, const unsigned char *s, size_t n)
{
	struct jv_parser *p = ctx;

	if (memchr(s, '\0', n) != NULL) {
		size_t start = jv_tok_start(p);

		return jv_fail(p, start, "string contains \\u0000");
	}
	jv_new(p, JV_STR)->str = jv_strndup(s, n);
	return 1;
}

/* jv_cb_key - yajl: an object key; kept until its value arrives */
static int
jv_cb_key(void *ctx, const unsigned char *s, size_t n)
{
	struct jv_parser *p = ctx;

	if (memchr(s, '\0', n) != NULL)
		return jv_fail(p, jv_tok_start(p), "key contains \\u0000");
	jv_consumed(p);
	free(p->key);
	p->key = jv_strndup(s, n);
	return 1;
}

/* jv_open - start an object or array */
static int
jv_open(struct jv_parser *p, enum jv_type t)
{
	char msg[64];

	if (p->depth >= JV_MAX_DEPTH) {
		snprintf(msg, sizeof(msg), "nesting deeper than %d",
		    JV_MAX_DEPTH);
		return jv_fail(p, jv_tok_start(p), msg);
	}
	p->stack[p->depth] = jv_new(p, t);
	p->depth++;
	return 1;
}

/* jv_cb_start_map - yajl: '{' */
static int
jv_cb_start_map(void *ctx)
{
	return jv_open(ctx, JV_OBJ);
}

/* jv_cb_start_array - yajl: '[' */
static int
jv_cb_start_array(void *ctx)
{
	return jv_open(ctx, JV_ARR);
}

/* jv_cb_end - yajl: '}' or ']' */
static int
jv_cb_end(void *ctx)
{
	struct jv_parser *p = ctx;

	jv_consumed(p);
	if (p->depth > 0)
		p->depth--;
	return 1;
}

static const yajl_callbacks jv_callbacks = {
	jv_cb_null,
	jv_cb_bool,
	NULL,			/* integers and doubles come as numbers */
	NULL,
	jv_cb_number,
	jv_cb_string,
	jv_cb_start_map,
	jv_cb_key,
	jv_cb_end,
	jv_cb_start_array,
	jv_cb_end,
};

/* jv_yajl_error - word yajl's own complaint with our position */
static void
jv_yajl_error(struct jv_parser *p)
{
	unsigned char *msg;
	char what[128];
	const char *s;
	size_t off, n;

	msg = yajl_get_error(p->h, 0, p->text, p->len);
	s = msg ? (const char *)msg : "parse error";
	/* "parse error: premature EOF\n" -> "premature EOF" */
	if (strncmp(s, "parse error: ", 13) == 0)
		s += 13;
	else if (strncmp(s, "lexical error: ", 15) == 0)
		s += 15;
	snprintf(what, sizeof(what), "%s", s);
	n = strlen(what);
	while (n > 0 && (what[n - 1] == '\n' || what[n - 1] == '.' ||
	    what[n - 1] == ' '))
		what[--n] = '\0';
	if (msg != NULL)
		yajl_free_error(p->h, msg);
	/*
	 * Point at the start of the token yajl balked at: its own offset is
	 * past that token (and, inside yajl_complete_parse, not even in our
	 * text), and the start of a bad string or number is what a person
	 * looks for.
	 */
	off = jv_tok_start(p);
	jv_fail(p, off, what);
}

/* jv_parse - parse text[0..len) as one JSON value */
struct jv *
jv_parse(const char *text, size_t len, const char *file, char *err,
    size_t errlen)
{
	struct jv_parser p;
	yajl_status st;

	memset(&p, 0, sizeof(p));
	p.text = (const unsigned char *)text;
	p.len = len;
	p.file = file;
	p.line = p.col = 1;
	p.err = err;
	p.errlen = errlen;
	if ((p.h = yajl_alloc(&jv_callbacks, NULL, &p)) == NULL)
		log_fatal("out of memory");
	st = yajl_parse(p.h, p.text, len);
	if (st == yajl_status_ok) {
		p.finishing = 1;
		st = yajl_complete_parse(p.h);
	}
	if (st != yajl_status_ok && !p.failed)
		jv_yajl_error(&p);
	/*
	 * yajl accepts trailing garbage that is the start of a token ("{} \"",
	 * "{} tr"): the lexer waits for more, and completing the parse does
	 * not ask it. The root ended with the last callback; only
	 * whitespace may follow.
	 */
	if (st == yajl_status_ok) {
		while (p.prev_end < len && jv_is_space(p.text[p.prev_end]))
			p.prev_end++;
		if (p.prev_end < len) {
			jv_fail(&p, p.prev_end, "trailing garbage");
			st = yajl_status_error;
		}
	}
	yajl_free(p.h);
	free(p.key);
	if (st != yajl_status_ok || p.root == NULL) {
		if (!p.failed)
			jv_fail(&p, len, "no JSON value");
		jv_free(p.root);
		return NULL;
	}
	return p.root;
}

/* jv_keyeq - keys equal ignoring case and underscores */
int
jv_keyeq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
}

/* jv_get - the member of obj named key; the last one if repeated */
struct jv *
jv_get(const struct jv *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != JV_OBJ)
		return NULL;
	/* Last wins, as Go's decoder and config_raw() have it. */
	for (i = obj->n; i > 0; i--)
		if (jv_keyeq(obj->keys[i - 1], key))
			return obj->items[i - 1];
	return NULL;
}

/* jv_str - a string member, or NULL */
const char *
jv_str(const struct jv *obj, const char *key)
{
	struct jv *v = jv_get(obj, key);

	return v != NULL && v->type == JV_STR ? v->str : NULL;
}

/* jv_num_int - a number that is an integer in int64 range */
static int
jv_num_int(const struct jv *v, int64_t *out)
{
	char *end;
	long long ll;

	if (v == NULL || v->type != JV_NUM || v->str == NULL)
		return -1;
	if (strpbrk(v->str, ".eE") == NULL) {
		/* Plain integer text: exact, beyond a double's 53 bits. */
		errno = 0;
		ll = strtoll(v->str, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		*out = ll;
		return 0;
	}
	/* 1.0 or 1e3: whole values only; 2^63 itself does not fit. */
	if (!(v->num >= -9223372036854775808.0 &&
	    v->num < 9223372036854775808.0) ||
	    v->num != (double)(int64_t)v->num)
		return -1;
	*out = (int64_t)v->num;
	return 0;
}

/* jv_int - an integer member; -1 if absent, not a number or fractional */
int
jv_int(const struct jv *obj, const char *key, int64_t *out)
{
	return jv_num_int(jv_get(obj, key), out);
}

/* jv_bool - a boolean member; -1 if absent or not true/false */
int
jv_bool(const struct jv *obj, const char *key, int *out)
{
	struct jv *v = jv_get(obj, key);

	if (v == NULL || v->type != JV_BOOL)
		return -1;
	*out = v->b;
	return 0;
}
