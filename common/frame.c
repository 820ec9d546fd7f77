/*
 * frame.c - encoding and bounds-checked decoding of frames and attributes.
 * See frame.h for the format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"

/* frame_parse - decode one frame header and locate its body */
long
frame_parse(const unsigned char *p, size_t n, uint32_t max, struct frame *f,
    char *err, size_t errlen)
{
	if (n < FRAME_HDR_LEN)
		return 0;
	f->len = be32_get(p);
	f->type = be16_get(p + 4);
	f->flags = be16_get(p + 6);
	f->id = be32_get(p + 8);
	f->status = be32_get(p + 12);
	/* The limit is checked before anything is sized by the length. */
	if (f->len > max) {
		snprintf(err, errlen, "frame body of %u bytes over limit %u",
		    f->len, max);
		return -1;
	}
	if (n - FRAME_HDR_LEN < f->len)
		return 0;
	f->body = p + FRAME_HDR_LEN;
	return (long)(FRAME_HDR_LEN + f->len);
}

/* frame_begin - write a header with a zero length; returns its offset */
size_t
frame_begin(struct buf *b, uint16_t type, uint16_t flags, uint32_t id,
    uint32_t status)
{
	unsigned char h[FRAME_HDR_LEN];
	size_t mark = b->len;

	be32_put(h, 0);
	be16_put(h + 4, type);
	be16_put(h + 6, flags);
	be32_put(h + 8, id);
	be32_put(h + 12, status);
	buf_append(b, h, sizeof(h));
	return mark;
}

/* frame_end - patch the body length of the frame begun at mark */
void
frame_end(struct buf *b, size_t mark)
{
	size_t len = b->len - mark - FRAME_HDR_LEN;

	if (len > UINT32_MAX)
		log_panic("frame_end: body of %zu bytes", len);
	be32_put(b->data + mark, (uint32_t)len);
}

/* attr_put - append one attribute */
void
attr_put(struct buf *b, uint16_t type, const void *v, size_t n)
{
	unsigned char h[ATTR_HDR_LEN];

	if (n > UINT32_MAX)
		log_panic("attr_put: value of %zu bytes", n);
	be16_put(h, type);
	be16_put(h + 2, 0);
	be32_put(h + 4, (uint32_t)n);
	buf_append(b, h, sizeof(h));
	buf_append(b, v, n);
}

void
attr_put_str(struct buf *b, uint16_t type, const char *s)
{
	attr_put(b, type, s, strlen(s));
}

void
attr_put_u64(struct buf *b, uint16_t type, uint64_t v)
{
	unsigned char x[8];

	be64_put(x, v);
	attr_put(b, type, x, 8);
}

void
attr_put_u32(struct buf *b, uint16_t type, uint32_t v)
{
	unsigned char x[4];

	be32_put(x, v);
	attr_put(b, type, x, 4);
}

void
attr_put_u8(struct buf *b, uint16_t type, uint8_t v)
{
	attr_put(b, type, &v, 1);
}

/* attr_nest_begin - open an attribute whose value is an attribute list */
size_t
attr_nest_begin(struct buf *b, uint16_t type)
{
	size_t mark = b->len;

	attr_put(b, type, NULL, 0);
	return mark;
}

/* attr_nest_end - patch the length of the nested list opened at mark */
void
attr_nest_end(struct buf *b, size_t mark)
{
	size_t len = b->len - mark - ATTR_HDR_LEN;

	if (len > UINT32_MAX)
		log_panic("attr_nest_end: %zu bytes", len);
	be32_put(b->data + mark + 4, (uint32_t)len);
}

void
attr_iter_init(struct attr_iter *it, const void *p, size_t n)
{
	it->p = p;
	it->left = n;
}

/* attr_next - the next attribute, checked against the bytes left */
int
attr_next(struct attr_iter *it, struct attr *a)
{
	if (it->left == 0)
		return 0;
	if (it->left < ATTR_HDR_LEN)
		return -1;
	a->type = be16_get(it->p);
	a->flags = be16_get(it->p + 2);
	a->len = be32_get(it->p + 4);
	if (a->len > it->left - ATTR_HDR_LEN)
		return -1;
	a->val = it->p + ATTR_HDR_LEN;
	it->p += ATTR_HDR_LEN + a->len;
	it->left -= ATTR_HDR_LEN + a->len;
	return 1;
}

/* attr_index - first attribute of each known type, for direct lookup */
int
attr_index(const void *p, size_t n, struct attr *tab, size_t ntab)
{
	struct attr_iter it;
	struct attr a;
	int r;

	memset(tab, 0, ntab * sizeof(*tab));
	attr_iter_init(&it, p, n);
	while ((r = attr_next(&it, &a)) == 1)
		if (a.type < ntab && tab[a.type].val == NULL)
			tab[a.type] = a;
	return r;
}

int
attr_present(const struct attr *a)
{
	return a->val != NULL;
}

/* attr_u64 - an integer of 1, 4 or 8 bytes */
int
attr_u64(const struct attr *a, uint64_t *v)
{
	if (a->val == NULL)
		return -1;
	switch (a->len) {
	case 1:
		*v = a->val[0];
		return 0;
	case 4:
		*v = be32_get(a->val);
		return 0;
	case 8:
		*v = be64_get(a->val);
		return 0;
	}
	return -1;
}

int
attr_u32(const struct attr *a, uint32_t *v)
{
	uint64_t x;

	if (attr_u64(a, &x) < 0 || x > UINT32_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

char *
attr_strdup(const struct attr *a)
{
	char *s;

	if (a->val == NULL)
		return NULL;
	if ((s = malloc(a->len + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(s, a->val, a->len);
	s[a->len] = '\0';
	return s;
}

int
attr_strcpy(const struct attr *a, char *dst, size_t n)
{
	if (a->val == NULL || a->len >= n)
		return -1;
	memcpy(dst, a->val, a->len);
	dst[a->len] = '\0';
	return 0;
}
