/*
 * buf - a growable byte buffer with a read offset.
 *
 * Used for socket input and output, frame building and JSON output. Data
 * lives in data[off..len); buf_consume() advances off and compacts lazily.
 * Allocation failure is fatal: cairn has no use for half-built messages.
 */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	unsigned char	*data;
	size_t		 off;	/* first unread byte */
	size_t		 len;	/* end of data */
	size_t		 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
/* buf_shrink - give back the spare capacity (a buffer kept for long) */
void	 buf_shrink(struct buf *);
/* buf_tail, buf_commit - write up to a reserve in place, then keep n */
#define	 buf_tail(b)		((b)->data + (b)->len)
#define	 buf_commit(b, n)	((b)->len += (n))
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_putc(struct buf *, int);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);
char	*buf_cstr(struct buf *);	/* NUL-terminates, returns data+off */

static inline size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

static inline unsigned char *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

/* Big-endian helpers for the wire formats. */
static inline void
be16_put(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8; p[1] = v;
}
static inline void
be32_put(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static inline void
be64_put(unsigned char *p, uint64_t v)
{
	be32_put(p, v >> 32); be32_put(p + 4, (uint32_t)v);
}
static inline uint16_t
be16_get(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t
be32_get(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t
be64_get(const unsigned char *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

#endif
