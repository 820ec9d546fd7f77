/*
 * base64.c - RFC 4648 section 4 base64 (standard alphabet, '=' padding).
 * See base64.h.
 *
 * The decoder is strict where Consul's clients never need slack: no
 * whitespace, no missing padding, no URL-safe alphabet. Like Go's
 * StdEncoding it accepts non-zero bits in the last character's unused
 * low bits (RFC 4648 section 3.5 lets a decoder choose).
 */
#include <stddef.h>

#include "base64.h"

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64_encode - append the encoding of p[0..n) to b */
void
base64_encode(struct buf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned char *o;
	size_t i;
	unsigned v;

	if (n == 0)
		return;
	buf_reserve(b, BASE64_LEN(n));
	o = b->data + b->len;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[v >> 12 & 63];
		*o++ = base64_alphabet[v >> 6 & 63];
		*o++ = base64_alphabet[v & 63];
	}
	if (i < n) {
		v = (unsigned)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		*o++ = base64_alphabet[v >> 18];
		*o++ = base64_alphabet[v >> 12 & 63];
		*o++ = i + 1 < n ? base64_alphabet[v >> 6 & 63] : '=';
		*o++ = '=';
	}
	b->len = (size_t)(o - b->data);
}

/* base64_val - the 6-bit value of c, or -1 */
static int
base64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* base64_decode - append the decoding of s[0..n) to b; -1 on bad input */
int
base64_decode(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, start;
	int a, c, d, e, pad;

	if (n % 4 != 0)
		return -1;
	/* Reserve first: it may move the data, and start must be after. */
	buf_reserve(b, n / 4 * 3);
	start = b->len;
	for (i = 0; i < n; i += 4) {
		/* Padding may only close the last quantum: "xx==" or "xxx=". */
		pad = 0;
		if (i + 4 == n) {
			if (u[i + 3] == '=')
				pad++;
			if (pad && u[i + 2] == '=')
				pad++;
		}
		a = base64_val(u[i]);
		c = base64_val(u[i + 1]);
		d = pad >= 2 ? 0 : base64_val(u[i + 2]);
		e = pad >= 1 ? 0 : base64_val(u[i + 3]);
		if (a < 0 || c < 0 || d < 0 || e < 0) {
			b->len = start;
			return -1;
		}
		b->data[b->len++] = (unsigned char)(a << 2 | c >> 4);
		if (pad < 2)
			b->data[b->len++] = (unsigned char)(c << 4 | d >> 2);
		if (pad < 1)
			b->data[b->len++] = (unsigned char)(d << 6 | e);
	}
	return 0;
}
