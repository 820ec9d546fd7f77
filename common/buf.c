/*
 * buf.c - growable byte buffer. See buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"

/* buf_init - an empty buffer that owns no memory yet */
void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

/* buf_free - release the memory */
void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* buf_shrink - see buf.h */
void
buf_shrink(struct buf *b)
{
	unsigned char *p;
	size_t n = b->len - b->off;

	if (n == 0) {
		buf_free(b);
		return;
	}
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, n);
		b->off = 0;
		b->len = n;
	}
	if (b->cap > n && (p = realloc(b->data, n)) != NULL) {
		b->data = p;
		b->cap = n;
	}
}

/* buf_reset - drop the contents, keep the memory */
void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

/* buf_reserve - make room for n more bytes after len */
void
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	if (b->cap - b->len >= n)
		return;
	/* Reclaim consumed space before growing. */
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return;
	}
	need = b->len + n;
	if (need < b->len)
		log_panic("buf_reserve: size overflow");
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	if ((b->data = realloc(b->data, cap)) == NULL)
		log_fatal("out of memory (%zu bytes)", cap);
	b->cap = cap;
}

/* buf_append - copy n bytes to the end */
void
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* buf_puts - append a C string without its NUL */
void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* buf_putc - append one byte */
void
buf_putc(struct buf *b, int c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = (unsigned char)c;
}

/* buf_printf - append formatted text */
void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	buf_reserve(b, 64);
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_panic("buf_printf: bad format");
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf((char *)b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* buf_consume - mark n bytes at the head as read */
void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len - b->off)
		log_panic("buf_consume: %zu > %zu", n, b->len - b->off);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

/* buf_cstr - the unread data as a NUL-terminated string */
char *
buf_cstr(struct buf *b)
{
	buf_reserve(b, 1);
	b->data[b->len] = '\0';
	return (char *)b->data + b->off;
}
