/*
 * dns_packet.c - bounds-checked DNS query parsing and answer building.
 * See dns_packet.h. Every read goes through a dns_cursor, which checks
 * the length first; every write goes through wr_put(), which checks the
 * limit first. Loops the input can drive are bounded by its length, by
 * DNS_NAME_MAX or by DNS_PTR_HOPS.
 */
#include <stdio.h>
#include <string.h>

#include "dns_packet.h"
#include "log.h"

#define PTR_MASK	0xc0
#define OPT_FIXED	11	/* root owner, type, class, ttl, rdlen */

/* get16 - big-endian u16 at p */
static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* put16 - big-endian u16 to p */
static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* lower - ASCII-only case folding, as RFC 4343 asks */
static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* dns_cursor_init - a cursor at the start of p[0..len) */
void
dns_cursor_init(struct dns_cursor *c, const unsigned char *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->pos = 0;
}

/* dns_cursor_skip - move past n bytes if there are that many */
int
dns_cursor_skip(struct dns_cursor *c, size_t n)
{
	if (n > c->len - c->pos)
		return -1;
	c->pos += n;
	return 0;
}

/* dns_cursor_u8 - read one byte */
int
dns_cursor_u8(struct dns_cursor *c, uint8_t *v)
{
	if (c->len - c->pos < 1)
		return -1;
	*v = c->p[c->pos++];
	return 0;
}

/* dns_cursor_u16 - read a big-endian u16 */
int
dns_cursor_u16(struct dns_cursor *c, uint16_t *v)
{
	if (c->len - c->pos < 2)
		return -1;
	*v = get16(c->p + c->pos);
	c->pos += 2;
	return 0;
}

/* dns_cursor_u32 - read a big-endian u32 */
int
dns_cursor_u32(struct dns_cursor *c, uint32_t *v)
{
	if (c->len - c->pos < 4)
		return -1;
	*v = (uint32_t)get16(c->p + c->pos) << 16 | get16(c->p + c->pos + 2);
	c->pos += 4;
	return 0;
}

/*
 * dns_cursor_name - read a name, following compression pointers
 *
 * A pointer must land before every byte of this name read so far (NSD
 * and dnsmasq guard loops the same way), and not in the header. That
 * alone makes positions strictly decrease, so loops are impossible; the
 * hop count is a second, cheaper bound.
 */
int
dns_cursor_name(struct dns_cursor *c, unsigned char *wire, size_t *wlen)
{
	size_t pos = c->pos, low = c->pos, end = 0, n = 0, target;
	int hops = 0;
	unsigned char b;

	for (;;) {
		if (pos >= c->len)
			return -1;
		b = c->p[pos];
		if ((b & PTR_MASK) == PTR_MASK) {
			if (c->len - pos < 2)
				return -1;
			target = (size_t)(b & ~PTR_MASK) << 8 | c->p[pos + 1];
			if (target >= low || target < DNS_HDR_LEN ||
			    ++hops > DNS_PTR_HOPS)
				return -1;
			if (end == 0)
				end = pos + 2;
			pos = low = target;
			continue;
		}
		/* 0x40 and 0x80 are the retired extended label types. */
		if (b & PTR_MASK)
			return -1;
		if (n + 1 + b > DNS_NAME_MAX || c->len - pos < 1u + b)
			return -1;
		memcpy(wire + n, c->p + pos, 1u + b);
		n += 1u + b;
		pos += 1u + b;
		if (b == 0)
			break;
	}
	c->pos = end ? end : pos;
	*wlen = n;
	return 0;
}

/* dns_cursor_rr - read an RR's owner and fixed fields, skip its rdata */
int
dns_cursor_rr(struct dns_cursor *c, struct dns_rr *rr)
{
	size_t save = c->pos;

	if (dns_cursor_name(c, rr->name, &rr->name_len) == -1 ||
	    dns_cursor_u16(c, &rr->type) == -1 ||
	    dns_cursor_u16(c, &rr->rclass) == -1 ||
	    dns_cursor_u32(c, &rr->ttl) == -1 ||
	    dns_cursor_u16(c, &rr->rdlen) == -1)
		goto bad;
	rr->rdata = c->pos;
	if (dns_cursor_skip(c, rr->rdlen) == -1)
		goto bad;
	return 0;
bad:
	c->pos = save;
	return -1;
}

/* dns_name_text - wire form to escaped presentation form */
int
dns_name_text(const unsigned char *wire, size_t wlen, char *out,
    size_t outlen, int lower_case)
{
	size_t i = 0, o = 0, end, need;
	unsigned char ch;

	if (outlen < 2 || wlen < 1 || wlen > DNS_NAME_MAX)
		return -1;
	if (wire[0] == 0) {
		if (wlen != 1)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	while (i < wlen && wire[i] != 0) {
		if (wire[i] > DNS_LABEL_MAX || wlen - i < 2u + wire[i])
			return -1;
		end = i + 1 + wire[i];
		for (i++; i < end; i++) {
			ch = lower_case ? lower(wire[i]) : wire[i];
			need = ch == '.' || ch == '\\' ? 2 :
			    ch < '!' || ch > '~' ? 4 : 1;
			/* Room for this, the label's dot and the NUL. */
			if (outlen - o < need + 2)
				return -1;
			if (need == 2) {
				out[o++] = '\\';
				out[o++] = (char)ch;
			} else if (need == 4) {
				snprintf(out + o, 5, "\\%03u", (unsigned)ch);
				o += 4;
			} else
				out[o++] = (char)ch;
		}
		out[o++] = '.';
	}
	if (i != wlen - 1)
		return -1;
	out[o] = '\0';
	return 0;
}

/* dns_name_wire - presentation form to wire form, undoing the escapes */
int
dns_name_wire(const char *name, unsigned char *out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = 0, lab = 0;		/* lab: the label's length octet */
	unsigned ch;

	if (s[0] == '\0')
		return -1;
	if (s[0] == '.' && s[1] == '\0') {
		out[0] = 0;
		*outlen = 1;
		return 0;
	}
	out[0] = 0;
	n = 1;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (n == lab + 1)
				return -1;	/* empty label */
			out[lab] = (unsigned char)(n - lab - 1);
			if (s[1] == '\0')
				break;
			if (n + 1 >= DNS_NAME_MAX)
				return -1;
			lab = n++;
			out[lab] = 0;
			continue;
		}
		ch = *s;
		if (ch == '\\') {
			s++;
			if (*s >= '0' && *s <= '9') {
				if (s[1] < '0' || s[1] > '9' ||
				    s[2] < '0' || s[2] > '9')
					return -1;
				ch = (s[0] - '0') * 100u + (s[1] - '0') * 10u +
				    (s[2] - '0');
				if (ch > 255)
					return -1;
				s += 2;
			} else if (*s == '\0')
				return -1;
			else
				ch = *s;
		}
		/* Room for this octet and the root label after it. */
		if (n - lab > DNS_LABEL_MAX || n + 2 > DNS_NAME_MAX)
			return -1;
		out[n++] = (unsigned char)ch;
	}
	if (n > lab + 1) {
		/* No trailing dot: close the last label. */
		out[lab] = (unsigned char)(n - lab - 1);
	}
	out[n++] = 0;
	*outlen = n;
	return 0;
}

/* dns_name_labels - split a presentation name at its unescaped dots */
int
dns_name_labels(const char *name, struct dns_labels *l)
{
	size_t len = strlen(name), i, start = 0;

	l->n = 0;
	if (len == 0 || len >= sizeof(l->buf))
		return -1;
	if (strcmp(name, ".") == 0)
		return 0;
	memcpy(l->buf, name, len + 1);
	for (i = 0; i <= len; i++) {
		if (l->buf[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (l->buf[i] != '.' && l->buf[i] != '\0')
			continue;
		if (i == start) {
			/* Only the end after a trailing dot is empty. */
			if (i == len && l->n > 0)
				break;
			return -1;
		}
		if (l->n == DNS_LABELS_MAX)
			return -1;
		l->buf[i] = '\0';
		l->label[l->n] = l->buf + start;
		l->off[l->n] = start;
		l->n++;
		start = i + 1;
	}
	return 0;
}

/* dns_parse_rcode - the rcode that answers a parse result */
int
dns_parse_rcode(int result)
{
	switch (result) {
	case DNS_PARSE_OK:
		return DNS_R_NOERROR;
	case DNS_PARSE_FORMERR:
		return DNS_R_FORMERR;
	case DNS_PARSE_NOTIMP:
		return DNS_R_NOTIMP;
	case DNS_PARSE_BADVERS:
		return DNS_R_BADVERS;
	default:
		return -1;
	}
}

/* dns_udp_limit - the answer size a UDP client can take */
size_t
dns_udp_limit(const struct dns_query *q, size_t ours)
{
	size_t n;

	if (!q->edns)
		return DNS_UDP_MIN;
	n = q->edns_udp_size < DNS_UDP_MIN ? DNS_UDP_MIN : q->edns_udp_size;
	if (ours < DNS_UDP_MIN)
		ours = DNS_UDP_MIN;
	return n < ours ? n : ours;
}

/*
 * parse_opt - read the OPT record's fields and options (RFC 6891 6.1.2)
 *
 * Options are walked only to check they tile the rdata and to pick out
 * client subnet (RFC 7871 6), whose address must be exactly as long as
 * its source prefix needs; anything else is ignored.
 */
static int
parse_opt(const unsigned char *pkt, const struct dns_rr *rr,
    struct dns_query *q, char *err, size_t errlen)
{
	struct dns_cursor c;
	uint16_t code, olen, family;
	size_t alen;
	uint8_t source, scope;

	if (rr->name_len != 1) {
		snprintf(err, errlen, "OPT owner is not the root");
		return -1;
	}
	q->edns_udp_size = rr->rclass;
	q->edns_version = (rr->ttl >> 16) & 0xff;
	q->edns_do = (rr->ttl & DNS_EDNS_DO) != 0;
	dns_cursor_init(&c, pkt + rr->rdata, rr->rdlen);
	while (c.pos < c.len) {
		if (dns_cursor_u16(&c, &code) == -1 ||
		    dns_cursor_u16(&c, &olen) == -1 || olen > c.len - c.pos) {
			snprintf(err, errlen, "OPT option overruns rdata");
			return -1;
		}
		if (code != DNS_OPT_ECS || q->ecs) {
			c.pos += olen;
			continue;
		}
		if (olen < 4) {
			snprintf(err, errlen, "short client subnet option");
			return -1;
		}
		family = get16(c.p + c.pos);
		source = c.p[c.pos + 2];
		scope = c.p[c.pos + 3];
		alen = ((size_t)source + 7) / 8;
		if ((family != 1 && family != 2) ||
		    source > (family == 1 ? 32 : 128) || scope != 0 ||
		    alen != olen - 4u) {
			snprintf(err, errlen, "bad client subnet option");
			return -1;
		}
		q->ecs = 1;
		q->ecs_family = family;
		q->ecs_source = source;
		memcpy(q->ecs_addr, c.p + c.pos + 4, alen);
		c.pos += olen;
	}
	return 0;
}

/* parse_body - the question and the other sections of a query */
static int
parse_body(struct dns_cursor *c, struct dns_query *q, uint16_t qd,
    uint16_t an, uint16_t ns, uint16_t ar, char *err, size_t errlen)
{
	struct dns_rr rr;
	unsigned long i, others = (unsigned long)an + ns;

	if (qd != 1) {
		snprintf(err, errlen, "%u questions", qd);
		return -1;
	}
	if (dns_cursor_name(c, q->qname_wire, &q->qname_wire_len) == -1) {
		snprintf(err, errlen, "bad question name");
		return -1;
	}
	if (dns_cursor_u16(c, &q->qtype) == -1 ||
	    dns_cursor_u16(c, &q->qclass) == -1) {
		snprintf(err, errlen, "truncated question");
		return -1;
	}
	/* A name read by dns_cursor_name() always fits DNS_NAMEBUF. */
	if (dns_name_text(q->qname_wire, q->qname_wire_len, q->qname,
	    sizeof(q->qname), 1) == -1 ||
	    dns_name_text(q->qname_wire, q->qname_wire_len, q->qname_orig,
	    sizeof(q->qname_orig), 0) == -1)
		log_panic("dns_name_text: cannot print a parsed name");
	q->has_question = 1;

	/* Each RR takes 11 bytes at least, so the packet bounds this. */
	for (i = 0; i < others + ar; i++) {
		if (dns_cursor_rr(c, &rr) == -1) {
			snprintf(err, errlen, "bad or truncated record %lu",
			    i + 1);
			return -1;
		}
		if (i < others || rr.type != DNS_T_OPT)
			continue;
		if (q->edns) {
			snprintf(err, errlen, "two OPT records");
			return -1;
		}
		if (parse_opt(c->p, &rr, q, err, errlen) == -1)
			return -1;
		q->edns = 1;
	}
	return 0;
}

/* dns_query_parse - read one query and say how to answer it */
int
dns_query_parse(const unsigned char *pkt, size_t len, struct dns_query *q,
    char *err, size_t errlen)
{
	struct dns_cursor c;
	uint16_t flags, qd, an, ns, ar;

	memset(q, 0, sizeof(*q));
	if (errlen > 0)
		err[0] = '\0';
	/* tinydns drops these without a word: no id worth answering. */
	if (len < DNS_HDR_LEN) {
		snprintf(err, errlen, "short packet of %zu bytes", len);
		return DNS_PARSE_DROP;
	}
	dns_cursor_init(&c, pkt, len);
	(void)dns_cursor_u16(&c, &q->id);
	(void)dns_cursor_u16(&c, &flags);
	(void)dns_cursor_u16(&c, &qd);
	(void)dns_cursor_u16(&c, &an);
	(void)dns_cursor_u16(&c, &ns);
	(void)dns_cursor_u16(&c, &ar);
	/* Answering a response could start a loop between two servers. */
	if (flags & DNS_F_QR) {
		snprintf(err, errlen, "QR set: a response");
		return DNS_PARSE_DROP;
	}
	q->opcode = (flags >> 11) & 0xf;
	q->rd = (flags & DNS_F_RD) != 0;
	q->cd = (flags & DNS_F_CD) != 0;
	/* Read on for other opcodes too, so NOTIMP can echo the question. */
	if (parse_body(&c, q, qd, an, ns, ar, err, errlen) == -1) {
		q->edns = 0;
		return q->opcode == DNS_OP_QUERY ? DNS_PARSE_FORMERR :
		    DNS_PARSE_NOTIMP;
	}
	if (q->opcode != DNS_OP_QUERY) {
		snprintf(err, errlen, "opcode %u", q->opcode);
		return DNS_PARSE_NOTIMP;
	}
	if (q->edns && q->edns_version != 0) {
		snprintf(err, errlen, "EDNS version %u", q->edns_version);
		return DNS_PARSE_BADVERS;
	}
	return DNS_PARSE_OK;
}

/* wr_put - append n bytes, or mark the RR as over the limit */
static void
wr_put(struct dns_writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (w->over || n > w->limit - w->len ||
	    w->reserve > w->limit - w->len - n) {
		w->over = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* wr_u16 - append a big-endian u16 */
static void
wr_u16(struct dns_writer *w, uint16_t v)
{
	unsigned char b[2];

	put16(b, v);
	wr_put(w, b, 2);
}

/* wr_u32 - append a big-endian u32 */
static void
wr_u32(struct dns_writer *w, uint32_t v)
{
	unsigned char b[4];

	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
	wr_put(w, b, 4);
}

/*
 * wr_name_eq - is the name written at off equal to the wire name s?
 * Our own output, but bounded all the same.
 */
static int
wr_name_eq(const struct dns_writer *w, size_t off, const unsigned char *s)
{
	int hops = 0;
	unsigned char b, i;

	while (off < w->len) {
		b = w->buf[off];
		if ((b & PTR_MASK) == PTR_MASK) {
			if (++hops > DNS_PTR_HOPS || off + 1 >= w->len)
				return 0;
			off = (size_t)(b & ~PTR_MASK) << 8 | w->buf[off + 1];
			continue;
		}
		if (b != s[0] || off + 1 + b > w->len)
			return 0;
		if (b == 0)
			return 1;
		for (i = 1; i <= b; i++)
			if (lower(w->buf[off + i]) != lower(s[i]))
				return 0;
		off += 1u + b;
		s += 1u + b;
	}
	return 0;
}

/*
 * wr_name - append a wire name, pointing at the longest suffix already in
 * the message when compress is set (RFC 1035 4.1.4), and remember where
 * its labels went so later names can point at them.
 */
static void
wr_name(struct dns_writer *w, const unsigned char *wire, size_t wlen,
    int compress)
{
	size_t starts[DNS_LABELS_MAX + 1], ns = 0, i = 0, k, j, hit, lit;
	size_t base = w->len;
	uint16_t ptr = 0;

	while (i < wlen && wire[i] != 0) {
		starts[ns++] = i;
		i += 1u + wire[i];
	}
	hit = ns;
	for (k = 0; compress && k < ns && hit == ns; k++)
		for (j = 0; j < w->ncomp; j++)
			if (wr_name_eq(w, w->comp[j], wire + starts[k])) {
				hit = k;
				ptr = w->comp[j];
				break;
			}
	lit = hit < ns ? starts[hit] : wlen;
	wr_put(w, wire, lit);
	if (hit < ns)
		wr_u16(w, 0xc000 | ptr);
	if (w->over)
		return;
	/* Pointers hold 14 bits: later labels cannot be targets. */
	for (k = 0; k < hit && w->ncomp < DNS_COMP_MAX; k++)
		if (base + starts[k] < 0x4000)
			w->comp[w->ncomp++] = (uint16_t)(base + starts[k]);
}

/* wr_rr_begin - check the section and write owner, type, class, ttl */
static int
wr_rr_begin(struct dns_writer *w, int sec, const char *name,
    uint16_t type, uint16_t rclass, uint32_t ttl, size_t *rdmark,
    size_t *mark, size_t *ncomp)
{
	unsigned char wire[DNS_NAME_MAX];
	size_t wlen;

	/* The caller's own ordering bug, not the input's. */
	if (sec < w->section || sec > DNS_SEC_ADDITIONAL)
		log_panic("dns_writer: section %d after %d", sec, w->section);
	if (dns_name_wire(name, wire, &wlen) == -1) {
		snprintf(w->err, sizeof(w->err), "bad name \"%.60s\"", name);
		return DNS_W_ERR;
	}
	w->section = sec;
	*mark = w->len;
	*ncomp = w->ncomp;
	w->over = 0;
	if (w->count[sec] == UINT16_MAX)
		w->over = 1;
	wr_name(w, wire, wlen, 1);
	wr_u16(w, type);
	wr_u16(w, rclass);
	wr_u32(w, ttl);
	*rdmark = w->len;
	wr_u16(w, 0);
	return DNS_W_OK;
}

/* wr_rr_end - patch rdlength and count the RR, or take it all back */
static int
wr_rr_end(struct dns_writer *w, int sec, size_t rdmark, size_t mark,
    size_t ncomp)
{
	size_t rdlen = 0;

	if (!w->over && (rdlen = w->len - rdmark - 2) > UINT16_MAX)
		w->over = 1;
	if (w->over) {
		w->len = mark;
		w->ncomp = ncomp;
		w->over = 0;
		w->truncated = 1;
		return DNS_W_FULL;
	}
	put16(w->buf + rdmark, (uint16_t)rdlen);
	w->count[sec]++;
	return DNS_W_OK;
}

/* dns_writer_begin - header and question of an answer to q */
int
dns_writer_begin(struct dns_writer *w, unsigned char *buf, size_t cap,
    size_t limit, const struct dns_query *q, int rcode, uint16_t flags)
{
	unsigned char h[DNS_HDR_LEN];
	uint16_t f;

	memset(w, 0, sizeof(*w));
	w->buf = buf;
	w->limit = limit < cap ? limit : cap;
	if (w->limit > DNS_TCP_MAX)
		w->limit = DNS_TCP_MAX;
	w->rcode = rcode;
	w->flags = flags & (DNS_F_AA | DNS_F_TC | DNS_F_RA | DNS_F_AD);
	w->edns_size = DNS_EDNS_SIZE;
	if (q != NULL && q->edns) {
		w->edns = 1;
		w->edns_do = q->edns_do;
		w->reserve = OPT_FIXED;
		if (q->ecs) {
			w->ecs = 1;
			w->ecs_family = q->ecs_family;
			w->ecs_source = q->ecs_source;
			memcpy(w->ecs_addr, q->ecs_addr, sizeof(w->ecs_addr));
			w->reserve += 8 + ((size_t)q->ecs_source + 7) / 8;
		}
	}
	f = DNS_F_QR;
	if (q != NULL)
		f |= (q->opcode & 0xf) << 11 | (q->rd ? DNS_F_RD : 0) |
		    (q->cd ? DNS_F_CD : 0);
	memset(h, 0, sizeof(h));
	put16(h, q != NULL ? q->id : 0);
	put16(h + 2, f);
	wr_put(w, h, sizeof(h));
	if (!w->over && q != NULL && q->has_question) {
		wr_name(w, q->qname_wire, q->qname_wire_len, 1);
		wr_u16(w, q->qtype);
		wr_u16(w, q->qclass);
		if (!w->over)
			put16(w->buf + 4, 1);
	}
	if (w->over) {
		snprintf(w->err, sizeof(w->err), "limit %zu too small",
		    w->limit);
		return -1;
	}
	return 0;
}

/* dns_writer_set_rcode - change the rcode, e.g. to NXDOMAIN */
void
dns_writer_set_rcode(struct dns_writer *w, int rcode)
{
	w->rcode = rcode;
}

/* dns_writer_set_flags - add AA, TC, RA or AD to the header */
void
dns_writer_set_flags(struct dns_writer *w, uint16_t flags)
{
	w->flags |= flags & (DNS_F_AA | DNS_F_TC | DNS_F_RA | DNS_F_AD);
}

/* dns_writer_a - append an A record */
int
dns_writer_a(struct dns_writer *w, int sec, const char *name, uint32_t ttl,
    const unsigned char addr[4])
{
	return dns_writer_rr(w, sec, name, DNS_T_A, DNS_C_IN, ttl, addr, 4);
}

/* dns_writer_aaaa - append an AAAA record */
int
dns_writer_aaaa(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, const unsigned char addr[16])
{
	return dns_writer_rr(w, sec, name, DNS_T_AAAA, DNS_C_IN, ttl, addr,
	    16);
}

/* dns_writer_rr - append an RR whose rdata holds no names */
int
dns_writer_rr(struct dns_writer *w, int sec, const char *name,
    uint16_t type, uint16_t rclass, uint32_t ttl, const void *rdata,
    size_t rdlen)
{
	size_t rdmark, mark, ncomp;
	int r;

	if (rdlen > UINT16_MAX) {
		snprintf(w->err, sizeof(w->err), "rdata of %zu bytes", rdlen);
		return DNS_W_ERR;
	}
	r = wr_rr_begin(w, sec, name, type, rclass, ttl, &rdmark, &mark,
	    &ncomp);
	if (r != DNS_W_OK)
		return r;
	wr_put(w, rdata, rdlen);
	return wr_rr_end(w, sec, rdmark, mark, ncomp);
}

/* wr_target_rr - an RR whose rdata is fixed bytes then one name */
static int
wr_target_rr(struct dns_writer *w, int sec, const char *name, uint16_t type,
    uint32_t ttl, const unsigned char *fixed, size_t nfixed,
    const char *target, int compress)
{
	unsigned char wire[DNS_NAME_MAX];
	size_t wlen, rdmark, mark, ncomp;
	int r;

	if (dns_name_wire(target, wire, &wlen) == -1) {
		snprintf(w->err, sizeof(w->err), "bad target \"%.60s\"",
		    target);
		return DNS_W_ERR;
	}
	r = wr_rr_begin(w, sec, name, type, DNS_C_IN, ttl, &rdmark, &mark,
	    &ncomp);
	if (r != DNS_W_OK)
		return r;
	wr_put(w, fixed, nfixed);
	wr_name(w, wire, wlen, compress);
	return wr_rr_end(w, sec, rdmark, mark, ncomp);
}

/* dns_writer_cname - append a CNAME record */
int
dns_writer_cname(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, const char *target)
{
	return wr_target_rr(w, sec, name, DNS_T_CNAME, ttl, NULL, 0, target,
	    1);
}

/* dns_writer_ptr - append a PTR record */
int
dns_writer_ptr(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, const char *target)
{
	return wr_target_rr(w, sec, name, DNS_T_PTR, ttl, NULL, 0, target, 1);
}

/* dns_writer_ns - append an NS record */
int
dns_writer_ns(struct dns_writer *w, int sec, const char *name, uint32_t ttl,
    const char *target)
{
	return wr_target_rr(w, sec, name, DNS_T_NS, ttl, NULL, 0, target, 1);
}

/* dns_writer_srv - append an SRV record; its target is not compressed */
int
dns_writer_srv(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, uint16_t prio, uint16_t weight, uint16_t port,
    const char *target)
{
	unsigned char fixed[6];

	put16(fixed, prio);
	put16(fixed + 2, weight);
	put16(fixed + 4, port);
	return wr_target_rr(w, sec, name, DNS_T_SRV, ttl, fixed, 6, target,
	    0);
}

/* dns_writer_txt - append a TXT record of n character-strings */
int
dns_writer_txt(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, const char *const *strs, size_t n)
{
	size_t i, len, total = 0, rdmark, mark, ncomp;
	unsigned char b;
	int r;

	/* RFC 1035 3.3.14: one or more strings, each behind a length byte. */
	if (n == 0) {
		snprintf(w->err, sizeof(w->err), "TXT without strings");
		return DNS_W_ERR;
	}
	for (i = 0; i < n; i++) {
		if ((len = strlen(strs[i])) > 255) {
			snprintf(w->err, sizeof(w->err),
			    "TXT string of %zu bytes", len);
			return DNS_W_ERR;
		}
		total += 1 + len;
	}
	if (total > UINT16_MAX) {
		snprintf(w->err, sizeof(w->err), "TXT of %zu bytes", total);
		return DNS_W_ERR;
	}
	r = wr_rr_begin(w, sec, name, DNS_T_TXT, DNS_C_IN, ttl, &rdmark,
	    &mark, &ncomp);
	if (r != DNS_W_OK)
		return r;
	for (i = 0; i < n; i++) {
		len = strlen(strs[i]);
		b = (unsigned char)len;
		wr_put(w, &b, 1);
		wr_put(w, strs[i], len);
	}
	return wr_rr_end(w, sec, rdmark, mark, ncomp);
}

/* dns_writer_soa - append an SOA record */
int
dns_writer_soa(struct dns_writer *w, int sec, const char *name,
    uint32_t ttl, const struct dns_soa *soa)
{
	unsigned char m[DNS_NAME_MAX], r[DNS_NAME_MAX];
	size_t mlen, rlen, rdmark, mark, ncomp;
	int ret;

	if (dns_name_wire(soa->mname, m, &mlen) == -1 ||
	    dns_name_wire(soa->rname, r, &rlen) == -1) {
		snprintf(w->err, sizeof(w->err), "bad SOA name");
		return DNS_W_ERR;
	}
	ret = wr_rr_begin(w, sec, name, DNS_T_SOA, DNS_C_IN, ttl, &rdmark,
	    &mark, &ncomp);
	if (ret != DNS_W_OK)
		return ret;
	wr_name(w, m, mlen, 1);
	wr_name(w, r, rlen, 1);
	wr_u32(w, soa->serial);
	wr_u32(w, soa->refresh);
	wr_u32(w, soa->retry);
	wr_u32(w, soa->expire);
	wr_u32(w, soa->minimum);
	return wr_rr_end(w, sec, rdmark, mark, ncomp);
}

/*
 * dns_writer_finish - write the OPT record into the reserved space and
 * patch rcode and counts into the header (RFC 6891 6.1.3: the rcode's
 * upper 8 bits go in the OPT TTL).
 */
size_t
dns_writer_finish(struct dns_writer *w)
{
	unsigned char opt[OPT_FIXED + 8 + 16];
	size_t n = OPT_FIXED, alen;
	uint32_t ttl;
	uint16_t f;

	if (w->edns && w->count[DNS_SEC_ADDITIONAL] < UINT16_MAX) {
		ttl = (uint32_t)((w->rcode >> 4) & 0xff) << 24 |
		    (w->edns_do ? DNS_EDNS_DO : 0);
		opt[0] = 0;
		put16(opt + 1, DNS_T_OPT);
		put16(opt + 3, w->edns_size);
		put16(opt + 5, ttl >> 16);
		put16(opt + 7, ttl & 0xffff);
		if (w->ecs) {
			/* RFC 7871 7.2.1: echo the source, our scope. */
			alen = ((size_t)w->ecs_source + 7) / 8;
			put16(opt + 11, DNS_OPT_ECS);
			put16(opt + 13, (uint16_t)(4 + alen));
			put16(opt + 15, w->ecs_family);
			opt[17] = w->ecs_source;
			opt[18] = w->ecs_scope;
			memcpy(opt + 19, w->ecs_addr, alen);
			n += 8 + alen;
		}
		put16(opt + 9, (uint16_t)(n - OPT_FIXED));
		w->reserve = 0;
		w->over = 0;
		wr_put(w, opt, n);
		if (!w->over)
			w->count[DNS_SEC_ADDITIONAL]++;
		w->edns = 0;
	}
	if (w->len < DNS_HDR_LEN)
		return 0;
	f = get16(w->buf + 2) | w->flags;
	f = (f & ~0xf) | (w->rcode & 0xf);
	put16(w->buf + 2, f);
	put16(w->buf + 6, w->count[DNS_SEC_ANSWER]);
	put16(w->buf + 8, w->count[DNS_SEC_AUTHORITY]);
	put16(w->buf + 10, w->count[DNS_SEC_ADDITIONAL]);
	return w->len;
}

/* dns_writer_error - a complete error answer, question echoed if read */
size_t
dns_writer_error(unsigned char *buf, size_t cap, const struct dns_query *q,
    int rcode, uint16_t flags)
{
	struct dns_writer w;
	struct dns_query bare;

	if (dns_writer_begin(&w, buf, cap, cap, q, rcode, flags) == -1) {
		/* Too small for the question: the header alone will do. */
		if (q == NULL)
			return 0;
		bare = *q;
		bare.has_question = 0;
		if (dns_writer_begin(&w, buf, cap, cap, &bare, rcode,
		    flags) == -1) {
			bare.edns = 0;
			if (dns_writer_begin(&w, buf, cap, cap, &bare, rcode,
			    flags) == -1)
				return 0;
		}
	}
	return dns_writer_finish(&w);
}
