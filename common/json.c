/*
 * json.c - a small JSON writer on top of struct buf. See json.h.
 *
 * Layout follows Go's encoding/json, which is what Consul's clients see:
 * compact output has no spaces at all; pretty output is MarshalIndent
 * with four spaces, as agent/http.go marshalJSON calls it (json.h's "two
 * spaces" is a slip), "key": value, and empty containers as {} and [].
 *
 * Left out: floating point (nothing cairn writes needs it), Go's HTML
 * escaping of <, > and & (a browser nicety; every JSON parser reads both),
 * and the trailing newline Consul adds after ?pretty output (the HTTP
 * layer's business).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "log.h"

#define JSON_INDENT	4

/* json_init - a writer appending to b */
void
json_init(struct json *j, struct buf *b, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
	j->pretty = pretty;
}

/* json_newline - in pretty mode, a newline and indentation for depth */
static void
json_newline(struct json *j, int depth)
{
	if (!j->pretty)
		return;
	buf_putc(j->b, '\n');
	buf_reserve(j->b, (size_t)depth * JSON_INDENT);
	memset(j->b->data + j->b->len, ' ', (size_t)depth * JSON_INDENT);
	j->b->len += (size_t)depth * JSON_INDENT;
}

/* json_member - the comma and indentation before a member or element */
static void
json_member(struct json *j)
{
	if (j->depth == 0)
		return;
	if (j->count[j->depth - 1] != 0)
		buf_putc(j->b, ',');
	json_newline(j, j->depth);
	/* Only zero versus non-zero matters, so saturate. */
	if (j->count[j->depth - 1] < 255)
		j->count[j->depth - 1]++;
}

/* json_value - prepare for a value: after a key nothing, else a member */
static void
json_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	json_member(j);
}

/* json_open - start an object or array */
static void
json_open(struct json *j, int c)
{
	json_value(j);
	if (j->depth >= JSON_DEPTH)
		log_panic("json: nesting deeper than %d", JSON_DEPTH);
	buf_putc(j->b, c);
	j->count[j->depth++] = 0;
}

/* json_close - end an object or array */
static void
json_close(struct json *j, int c)
{
	if (j->depth == 0 || j->after_key)
		log_panic("json: close '%c' without a matching open", c);
	j->depth--;
	if (j->count[j->depth] != 0)
		json_newline(j, j->depth);
	buf_putc(j->b, c);
}

/* json_obj_open - '{' */
void
json_obj_open(struct json *j)
{
	json_open(j, '{');
}

/* json_obj_close - '}' */
void
json_obj_close(struct json *j)
{
	json_close(j, '}');
}

/* json_arr_open - '[' */
void
json_arr_open(struct json *j)
{
	json_open(j, '[');
}

/* json_arr_close - ']' */
void
json_arr_close(struct json *j)
{
	json_close(j, ']');
}

/* json_key - a member name; the next call writes its value */
void
json_key(struct json *j, const char *k)
{
	json_keyn(j, k, strlen(k));
}

/* json_keyn - a member name of n bytes (names taken from records) */
void
json_keyn(struct json *j, const char *k, size_t n)
{
	if (j->after_key)
		log_panic("json: key \"%.*s\" after a key", (int)(n > 100 ?
		    100 : n), k);
	json_member(j);
	buf_putc(j->b, '"');
	json_escape(j->b, k, n);
	buf_puts(j->b, j->pretty ? "\": " : "\":");
	j->after_key = 1;
}

/* json_str - a string, or null for NULL */
void
json_str(struct json *j, const char *s)
{
	if (s == NULL)
		json_null(j);
	else
		json_strn(j, s, strlen(s));
}

/* json_strn - a string of n bytes, which may hold NULs */
void
json_strn(struct json *j, const char *s, size_t n)
{
	json_value(j);
	buf_putc(j->b, '"');
	json_escape(j->b, s, n);
	buf_putc(j->b, '"');
}

/* json_u64 - an unsigned integer */
void
json_u64(struct json *j, uint64_t v)
{
	json_value(j);
	buf_printf(j->b, "%" PRIu64, v);
}

/* json_i64 - a signed integer */
void
json_i64(struct json *j, int64_t v)
{
	json_value(j);
	buf_printf(j->b, "%" PRId64, v);
}

/* json_bool - true or false */
void
json_bool(struct json *j, int v)
{
	json_value(j);
	buf_puts(j->b, v ? "true" : "false");
}

/* json_null - null */
void
json_null(struct json *j)
{
	json_value(j);
	buf_puts(j->b, "null");
}

/* json_base64 - a string holding the base64 of p[0..n) */
void
json_base64(struct json *j, const void *p, size_t n)
{
	json_value(j);
	buf_putc(j->b, '"');
	base64_encode(j->b, p, n);
	buf_putc(j->b, '"');
}

/*
 * json_utf8_len - length of the well-formed UTF-8 sequence at s (RFC 3629
 * section 4: no overlongs, no surrogates, nothing past U+10FFFF), or 0.
 */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* json_escape - append s[0..n) escaped, without quotes */
void
json_escape(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, k;
	unsigned char c;

	while (i < n) {
		/* Copy the longest run that needs no escaping in one go. */
		for (run = i; run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		    u[run] != '"' && u[run] != '\\'; run++)
			;
		buf_append(b, u + i, run - i);
		if ((i = run) >= n)
			break;
		c = u[i];
		if (c >= 0x80) {
			if ((k = json_utf8_len(u + i, n - i)) == 0) {
				/* One U+FFFD per bad byte, as Go does. */
				buf_append(b, "\xef\xbf\xbd", 3);
				k = 1;
			} else
				buf_append(b, u + i, k);
			i += k;
			continue;
		}
		buf_putc(b, '\\');
		switch (c) {
		case '"':
		case '\\':
			buf_putc(b, c);
			break;
		case '\n':
			buf_putc(b, 'n');
			break;
		case '\r':
			buf_putc(b, 'r');
			break;
		case '\t':
			buf_putc(b, 't');
			break;
		default:
			buf_puts(b, "u00");
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
			break;
		}
		i++;
	}
}
