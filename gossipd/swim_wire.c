/*
 * swim_wire.c - SWIM's packets, compact: probes are most of the gossip
 * traffic at rest, so each message is a kind byte, a 16-bit length and a
 * body of fixed fields and short strings, not an attribute list. A ping
 * to a node called "web-1" is 15 bytes.
 *
 *	message	= kind:u8 len:u16 body[len]	(big-endian)
 *	PING	= seq:u32 target:str8		(target may be empty)
 *	ACK	= seq:u32
 *	NACK	= seq:u32
 *	INDIRECT= seq:u32 nack:u8 port:u16 addr:str8 target:str8
 *	SUSPECT	= inc:u32 prune:u8 node:str8 from:str8
 *	DEAD	= inc:u32 prune:u8 node:str8 from:str8
 *	ALIVE	= member_pack's compact record
 *	EVENT	= an event record (event.h)
 *	str8	= len:u8 bytes (no NUL)
 *
 * A kind this node does not know is skipped by its length.
 */
#include <string.h>

#include "frame.h"
#include "log.h"
#include "msg.h"
#include "swim.h"

static size_t
wire_begin(struct buf *b, enum swim_kind k)
{
	unsigned char h[3] = { (unsigned char)k, 0, 0 };
	size_t mark = buf_used(b);

	buf_append(b, h, sizeof(h));
	return mark;
}

static void
wire_end(struct buf *b, size_t mark)
{
	size_t len = buf_used(b) - mark - 3;

	if (len > UINT16_MAX)
		log_panic("swim: a message of %zu bytes", len);
	be16_put((unsigned char *)buf_head(b) + mark + 1, (uint16_t)len);
}

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4];

	be32_put(p, v);
	buf_append(b, p, 4);
}

static void
put_str8(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	unsigned char len;

	if (n > 255)
		n = 255;	/* names are at most 255 (member.h) */
	len = (unsigned char)n;
	buf_append(b, &len, 1);
	buf_append(b, s, n);
}

void
swim_wire_ping(struct buf *b, uint32_t seq, const char *target)
{
	size_t mark = wire_begin(b, SWIM_PING);

	put_u32(b, seq);
	put_str8(b, target);
	wire_end(b, mark);
}

void
swim_wire_seq(struct buf *b, enum swim_kind k, uint32_t seq)
{
	size_t mark = wire_begin(b, k);

	put_u32(b, seq);
	wire_end(b, mark);
}

void
swim_wire_indirect(struct buf *b, uint32_t seq, const char *target,
    const char *addr, int port, int nack)
{
	size_t mark = wire_begin(b, SWIM_INDIRECT);
	unsigned char p[3];

	put_u32(b, seq);
	p[0] = nack != 0;
	be16_put(p + 1, (uint16_t)port);
	buf_append(b, p, 3);
	put_str8(b, addr);
	put_str8(b, target);
	wire_end(b, mark);
}

void
swim_wire_status(struct buf *b, enum swim_kind k, const char *node,
    uint32_t inc, const char *from, int prune)
{
	size_t mark = wire_begin(b, k);
	unsigned char p = prune != 0;

	put_u32(b, inc);
	buf_append(b, &p, 1);
	put_str8(b, node);
	put_str8(b, from);
	wire_end(b, mark);
}

void
swim_wire_alive(struct buf *b, const struct member *m)
{
	size_t mark = wire_begin(b, SWIM_ALIVE);

	member_pack(b, m);
	wire_end(b, mark);
}

void
swim_wire_event(struct buf *b, const void *rec, size_t len)
{
	size_t mark = wire_begin(b, SWIM_EVENT);

	buf_append(b, rec, len);
	wire_end(b, mark);
}

/* A cursor that checks before every read. */
struct rd {
	const unsigned char	*p;
	size_t			 left;
	int			 bad;
};

static uint32_t
get_u32(struct rd *r)
{
	uint32_t v;

	if (r->left < 4) {
		r->bad = 1;
		return 0;
	}
	v = be32_get(r->p);
	r->p += 4;
	r->left -= 4;
	return v;
}

static unsigned
get_u8(struct rd *r)
{
	unsigned v;

	if (r->left < 1) {
		r->bad = 1;
		return 0;
	}
	v = r->p[0];
	r->p++;
	r->left--;
	return v;
}

static void
get_str8(struct rd *r, char *out, size_t n)
{
	unsigned len = get_u8(r);

	out[0] = '\0';
	if (r->bad || len > r->left || len >= n ||
	    memchr(r->p, '\0', len) != NULL) {
		r->bad = 1;
		return;
	}
	memcpy(out, r->p, len);
	out[len] = '\0';
	r->p += len;
	r->left -= len;
}

/* swim_wire_next - see swim.h */
int
swim_wire_next(const unsigned char **pp, size_t *left, struct swim_wmsg *m)
{
	struct rd r;
	size_t len;

	memset(m, 0, sizeof(*m));
	if (*left == 0)
		return 0;
	if (*left < 3 || (len = be16_get(*pp + 1)) > *left - 3)
		return -1;
	m->kind = (enum swim_kind)(*pp)[0];
	r.p = *pp + 3;
	r.left = len;
	r.bad = 0;
	*pp += 3 + len;
	*left -= 3 + len;
	switch (m->kind) {
	case SWIM_PING:
		m->seq = get_u32(&r);
		get_str8(&r, m->node, sizeof(m->node));
		break;
	case SWIM_ACK:
	case SWIM_NACK:
		m->seq = get_u32(&r);
		break;
	case SWIM_INDIRECT:
		m->seq = get_u32(&r);
		m->nack = (int)get_u8(&r);
		m->port = get_u8(&r) << 8;
		m->port |= get_u8(&r);
		get_str8(&r, m->addr, sizeof(m->addr));
		get_str8(&r, m->node, sizeof(m->node));
		if (m->port == 0 || m->node[0] == '\0')
			r.bad = 1;
		break;
	case SWIM_SUSPECT:
	case SWIM_DEAD:
		m->inc = get_u32(&r);
		m->prune = (int)get_u8(&r);
		get_str8(&r, m->node, sizeof(m->node));
		get_str8(&r, m->from, sizeof(m->from));
		if (m->node[0] == '\0')
			r.bad = 1;
		break;
	case SWIM_ALIVE:
		/* member_unpack checks it */
		m->rec = r.p;
		m->reclen = r.left;
		return 1;
	case SWIM_EVENT:
		if (r.left == 0)
			return -1;
		m->rec = r.p;
		m->reclen = r.left;
		return 1;
	default:
		return 1;	/* a newer kind: skipped */
	}
	/* Fixed fields must fill the body exactly. */
	return r.bad || r.left != 0 ? -1 : 1;
}
