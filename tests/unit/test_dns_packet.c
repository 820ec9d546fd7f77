/*
 * test_dns_packet - the DNS wire module: query parsing (good queries, then
 * every way to break one: cut at each byte, a byte appended, counts and
 * pointers corrupted), name conversion, and the answer writer, whose output
 * is read back with a small reader written here and not shared with
 * dns_packet.c, and in places compared byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../../dnsd/dns_packet.h"

/* A packet under construction. */
struct pk {
	unsigned char	b[2048];
	size_t		n;
};

/* pk_u8 - append one byte */
static void
pk_u8(struct pk *p, unsigned v)
{
	p->b[p->n++] = (unsigned char)v;
}

/* pk_u16 - append a big-endian u16 */
static void
pk_u16(struct pk *p, unsigned v)
{
	pk_u8(p, (v >> 8) & 0xff);
	pk_u8(p, v & 0xff);
}

/* pk_u32 - append a big-endian u32 */
static void
pk_u32(struct pk *p, uint32_t v)
{
	pk_u16(p, v >> 16);
	pk_u16(p, v & 0xffff);
}

/* pk_raw - append bytes */
static void
pk_raw(struct pk *p, const void *s, size_t n)
{
	memcpy(p->b + p->n, s, n);
	p->n += n;
}

/* pk_name - append a dotted name without escapes, uncompressed */
static void
pk_name(struct pk *p, const char *name)
{
	const char *s = name, *dot;

	while (*s != '\0' && strcmp(s, ".") != 0) {
		dot = strchr(s, '.');
		if (dot == NULL)
			dot = s + strlen(s);
		pk_u8(p, (unsigned)(dot - s));
		pk_raw(p, s, (size_t)(dot - s));
		s = *dot ? dot + 1 : dot;
	}
	pk_u8(p, 0);
}

/* pk_hdr - start a packet with a header */
static void
pk_hdr(struct pk *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	p->n = 0;
	pk_u16(p, id);
	pk_u16(p, flags);
	pk_u16(p, qd);
	pk_u16(p, an);
	pk_u16(p, ns);
	pk_u16(p, ar);
}

/* pk_opt - append an OPT record */
static void
pk_opt(struct pk *p, unsigned size, uint32_t ttl, const char *rd, size_t n)
{
	pk_u8(p, 0);
	pk_u16(p, DNS_T_OPT);
	pk_u16(p, size);
	pk_u32(p, ttl);
	pk_u16(p, (unsigned)n);
	pk_raw(p, rd, n);
}

/* long_label - n copies of c, NUL-terminated, in a static buffer */
static const char *
long_label(int c, size_t n, char *buf)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/*
 * The test's own reader: dotted names with pointers followed (any earlier
 * or later offset, a hop limit), no escaping. Independent of the module.
 */
static int
tr_name(const unsigned char *m, size_t len, size_t *pos, char *out)
{
	size_t p = *pos, o = 0, after = 0;
	int hops = 0;
	unsigned b;

	for (;;) {
		if (p >= len)
			return -1;
		b = m[p];
		if ((b & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++hops > 20)
				return -1;
			if (after == 0)
				after = p + 2;
			p = (b & 0x3f) << 8 | m[p + 1];
			continue;
		}
		if (b == 0) {
			p++;
			break;
		}
		if (p + 1 + b > len || o + b + 2 > 600)
			return -1;
		memcpy(out + o, m + p + 1, b);
		o += b;
		out[o++] = '.';
		p += 1 + b;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	*pos = after ? after : p;
	return 0;
}

struct tr_rr {
	char		name[600];
	unsigned	type, cls, rdlen;
	uint32_t	ttl;
	size_t		start, rdata;
};

/* tr_16 - big-endian u16 */
static unsigned
tr_16(const unsigned char *m)
{
	return (unsigned)m[0] << 8 | m[1];
}

/* tr_32 - big-endian u32 */
static uint32_t
tr_32(const unsigned char *m)
{
	return (uint32_t)tr_16(m) << 16 | tr_16(m + 2);
}

/* A message as tr_msg() reads it. */
struct tr_msg {
	unsigned	id, flags, qd, an, ns, ar;
	char		qname[600];
	unsigned	qtype, qclass;
	struct tr_rr	rr[300];
	size_t		nrr;
};

/* tr_msg - read a whole message; -1 unless it is consumed exactly */
static int
tr_msg(const unsigned char *m, size_t len, struct tr_msg *t)
{
	size_t pos = 12, i;
	struct tr_rr *r;

	memset(t, 0, sizeof(*t));
	if (len < 12)
		return -1;
	t->id = tr_16(m);
	t->flags = tr_16(m + 2);
	t->qd = tr_16(m + 4);
	t->an = tr_16(m + 6);
	t->ns = tr_16(m + 8);
	t->ar = tr_16(m + 10);
	if (t->qd > 1 || t->an + t->ns + t->ar > 300)
		return -1;
	if (t->qd == 1) {
		if (tr_name(m, len, &pos, t->qname) == -1 || pos + 4 > len)
			return -1;
		t->qtype = tr_16(m + pos);
		t->qclass = tr_16(m + pos + 2);
		pos += 4;
	}
	for (i = 0; i < t->an + t->ns + t->ar; i++) {
		r = &t->rr[i];
		r->start = pos;
		if (tr_name(m, len, &pos, r->name) == -1 || pos + 10 > len)
			return -1;
		r->type = tr_16(m + pos);
		r->cls = tr_16(m + pos + 2);
		r->ttl = tr_32(m + pos + 4);
		r->rdlen = tr_16(m + pos + 8);
		r->rdata = pos + 10;
		pos += 10 + r->rdlen;
		if (pos > len)
			return -1;
	}
	t->nrr = i;
	return pos == len ? 0 : -1;
}

/* query - build a plain query for name/type, optionally with an OPT */
static size_t
query(struct pk *p, unsigned id, const char *name, unsigned type, int edns,
    unsigned size, uint32_t ttl)
{
	pk_hdr(p, id, DNS_F_RD, 1, 0, 0, edns ? 1 : 0);
	pk_name(p, name);
	pk_u16(p, type);
	pk_u16(p, DNS_C_IN);
	if (edns)
		pk_opt(p, size, ttl, "", 0);
	return p->n;
}

/*
 * Good queries. Each row builds a packet; the checks then also cut it at
 * every byte, append a byte, and corrupt its counts.
 */
struct good_case {
	const char	*desc;
	void		(*build)(struct pk *);
	int		 ret;
	const char	*qname, *qorig;
	unsigned	 qtype, qclass;
	int		 rd, edns, edns_do, edns_version;
	unsigned	 edns_size;
};

/* b_plain - www.example.com A, RD set */
static void
b_plain(struct pk *p)
{
	pk_hdr(p, 0x1234, DNS_F_RD, 1, 0, 0, 0);
	pk_name(p, "www.example.com");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
}

/* b_upper - a mixed-case name */
static void
b_upper(struct pk *p)
{
	pk_hdr(p, 1, 0, 1, 0, 0, 0);
	pk_name(p, "WWW.Example.COM");
	pk_u16(p, DNS_T_AAAA);
	pk_u16(p, DNS_C_IN);
}

/* b_root - the root name */
static void
b_root(struct pk *p)
{
	pk_hdr(p, 2, 0, 1, 0, 0, 0);
	pk_u8(p, 0);
	pk_u16(p, DNS_T_NS);
	pk_u16(p, DNS_C_IN);
}

/* b_dot_in_label - a label holding a dot */
static void
b_dot_in_label(struct pk *p)
{
	pk_hdr(p, 3, 0, 1, 0, 0, 0);
	pk_raw(p, "\003a.b\007example\000", 13);
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
}

/* b_binary_label - a label of bytes that need escapes */
static void
b_binary_label(struct pk *p)
{
	pk_hdr(p, 4, 0, 1, 0, 0, 0);
	/* NUL, 'A', space, backslash, DEL */
	pk_raw(p, "\005\000A \\\177\000", 7);
	pk_u16(p, DNS_T_TXT);
	pk_u16(p, DNS_C_IN);
}

/* b_edns - OPT with size 4096 and DO */
static void
b_edns(struct pk *p)
{
	pk_hdr(p, 5, DNS_F_RD, 1, 0, 0, 1);
	pk_name(p, "web.service.consul");
	pk_u16(p, DNS_T_SRV);
	pk_u16(p, DNS_C_IN);
	pk_opt(p, 4096, DNS_EDNS_DO, "", 0);
}

/* b_edns_v1 - OPT version 1 */
static void
b_edns_v1(struct pk *p)
{
	pk_hdr(p, 6, 0, 1, 0, 0, 1);
	pk_name(p, "web.service.consul");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_opt(p, 1232, 1u << 16, "", 0);
}

/* b_status - opcode STATUS */
static void
b_status(struct pk *p)
{
	pk_hdr(p, 7, 2 << 11, 1, 0, 0, 0);
	pk_name(p, "example");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
}

/* b_ecs - OPT with a cookie and client subnet */
static void
b_ecs(struct pk *p)
{
	pk_hdr(p, 8, 0, 1, 0, 0, 1);
	pk_name(p, "db.service.consul");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	/* a cookie option first, then ECS 10.1.2.0/24 */
	pk_opt(p, 512, 0, "\000\012\000\010abcdefgh"
	    "\000\010\000\007\000\001\030\000\012\001\002", 23);
}

/* b_max_name - a name of exactly 255 octets */
static void
b_max_name(struct pk *p)
{
	char l[64];
	int i;

	pk_hdr(p, 9, 0, 1, 0, 0, 0);
	/* 3 * 64 + 62 + 1 = 255 octets */
	for (i = 0; i < 3; i++) {
		pk_u8(p, 63);
		pk_raw(p, long_label('a', 63, l), 63);
	}
	pk_u8(p, 61);
	pk_raw(p, long_label('b', 61, l), 61);
	pk_u8(p, 0);
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
}

/* b_answer_ptr - an answer RR compressed to the question */
static void
b_answer_ptr(struct pk *p)
{
	/* An RR in the answer section whose owner points at the question. */
	pk_hdr(p, 10, 0, 1, 1, 0, 0);
	pk_name(p, "a.example");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_raw(p, "\300\014", 2);
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_u32(p, 60);
	pk_u16(p, 4);
	pk_raw(p, "\001\002\003\004", 4);
}

/* b_opt_ptr_root - OPT owner compressed to a root label */
static void
b_opt_ptr_root(struct pk *p)
{
	/* OPT owner is a pointer to the question's root label (offset 22). */
	pk_hdr(p, 11, 0, 1, 0, 0, 1);
	pk_name(p, "a.example");
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_raw(p, "\300\026", 2);
	pk_u16(p, DNS_T_OPT);
	pk_u16(p, 1400);
	pk_u32(p, 0);
	pk_u16(p, 0);
}

/* b_ptr_chain - owners two pointer hops deep */
static void
b_ptr_chain(struct pk *p)
{
	/* Two hops: RR2's owner points at RR1's, which points at the qname. */
	pk_hdr(p, 12, 0, 1, 0, 2, 0);
	pk_name(p, "example");		/* 12..20 */
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);		/* ends at 25 */
	pk_raw(p, "\001x\300\014", 4);	/* 25: x.example */
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_u32(p, 0);
	pk_u16(p, 0);
	pk_raw(p, "\001y\300\031", 4);	/* y -> x.example */
	pk_u16(p, DNS_T_A);
	pk_u16(p, DNS_C_IN);
	pk_u32(p, 0);
	pk_u16(p, 0);
}

/* b_other_additional - an unknown RR before the OPT, class CH */
static void
b_other_additional(struct pk *p)
{
	pk_hdr(p, 13, 0, 1, 0, 0, 2);
	pk_name(p, "version.bind");
	pk_u16(p, DNS_T_TXT);
	pk_u16(p, DNS_C_CH);
	pk_raw(p, "\000", 1);
	pk_u16(p, 99);
	pk_u16(p, DNS_C_IN);
	pk_u32(p, 0);
	pk_u16(p, 3);
	pk_raw(p, "xyz", 3);
	pk_opt(p, 0, 0, "", 0);
}

static const struct good_case good_cases[] = {
	{ "plain", b_plain, DNS_PARSE_OK, "www.example.com.",
	    "www.example.com.", DNS_T_A, DNS_C_IN, 1, 0, 0, 0, 0 },
	{ "upper case", b_upper, DNS_PARSE_OK, "www.example.com.",
	    "WWW.Example.COM.", DNS_T_AAAA, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "root", b_root, DNS_PARSE_OK, ".", ".", DNS_T_NS, DNS_C_IN,
	    0, 0, 0, 0, 0 },
	{ "dot in label", b_dot_in_label, DNS_PARSE_OK, "a\\.b.example.",
	    "a\\.b.example.", DNS_T_A, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "binary label", b_binary_label, DNS_PARSE_OK,
	    "\\000a\\032\\\\\\127.", "\\000A\\032\\\\\\127.",
	    DNS_T_TXT, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "edns", b_edns, DNS_PARSE_OK, "web.service.consul.",
	    "web.service.consul.", DNS_T_SRV, DNS_C_IN, 1, 1, 1, 0, 4096 },
	{ "edns version 1", b_edns_v1, DNS_PARSE_BADVERS,
	    "web.service.consul.", "web.service.consul.", DNS_T_A, DNS_C_IN,
	    0, 1, 0, 1, 1232 },
	{ "opcode status", b_status, DNS_PARSE_NOTIMP, "example.",
	    "example.", DNS_T_A, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "client subnet", b_ecs, DNS_PARSE_OK, "db.service.consul.",
	    "db.service.consul.", DNS_T_A, DNS_C_IN, 0, 1, 0, 0, 512 },
	{ "255-octet name", b_max_name, DNS_PARSE_OK, NULL, NULL, DNS_T_A,
	    DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "answer owner compressed", b_answer_ptr, DNS_PARSE_OK,
	    "a.example.", "a.example.", DNS_T_A, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "OPT owner compressed to root", b_opt_ptr_root, DNS_PARSE_OK,
	    "a.example.", "a.example.", DNS_T_A, DNS_C_IN, 0, 1, 0, 0, 1400 },
	{ "pointer chain", b_ptr_chain, DNS_PARSE_OK, "example.", "example.",
	    DNS_T_A, DNS_C_IN, 0, 0, 0, 0, 0 },
	{ "other additional", b_other_additional, DNS_PARSE_OK,
	    "version.bind.", "version.bind.", DNS_T_TXT, DNS_C_CH,
	    0, 1, 0, 0, 0 },
};

/* check_good - the row's own expectations */
static void
check_good(const struct good_case *c, const struct dns_query *q, int r)
{
	if (r != c->ret)
		fprintf(stderr, "case \"%s\": got %d\n", c->desc, r);
	CHECK(r == c->ret);
	CHECK(q->has_question);
	if (c->qname != NULL) {
		CHECK_STR(q->qname, c->qname);
		CHECK_STR(q->qname_orig, c->qorig);
	}
	CHECK(q->qtype == c->qtype);
	CHECK(q->qclass == c->qclass);
	CHECK(q->rd == c->rd);
	CHECK(q->edns == c->edns);
	CHECK(q->edns_do == c->edns_do);
	CHECK(q->edns_version == c->edns_version);
	if (c->edns)
		CHECK(q->edns_udp_size == c->edns_size);
}

/* test_parse_good - every good row parses as the row says */
static void
test_parse_good(void)
{
	struct pk p;
	struct dns_query q;
	char err[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		good_cases[i].build(&p);
		r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
		check_good(&good_cases[i], &q, r);
		CHECK(q.id == tr_16(p.b));
	}
}

/* Details the table does not hold. */
static void
test_parse_details(void)
{
	struct pk p;
	struct dns_query q;
	char err[128];
	size_t i;

	b_ecs(&p);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) == 0);
	CHECK(q.ecs == 1);
	CHECK(q.ecs_family == 1);
	CHECK(q.ecs_source == 24);
	CHECK(memcmp(q.ecs_addr, "\012\001\002", 3) == 0);

	b_max_name(&p);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) == 0);
	CHECK(q.qname_wire_len == 255);
	CHECK(memcmp(q.qname_wire, p.b + 12, 255) == 0);
	CHECK(strlen(q.qname) == 3 * 64 + 62);

	/* The wire copy keeps the case that was asked. */
	b_upper(&p);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) == 0);
	CHECK(q.qname_wire_len == 17);
	CHECK(memcmp(q.qname_wire, "\003WWW\007Example\003COM", 17) == 0);

	b_status(&p);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) ==
	    DNS_PARSE_NOTIMP);
	CHECK(q.opcode == 2);
	CHECK(dns_parse_rcode(DNS_PARSE_NOTIMP) == DNS_R_NOTIMP);
	CHECK(dns_parse_rcode(DNS_PARSE_FORMERR) == DNS_R_FORMERR);
	CHECK(dns_parse_rcode(DNS_PARSE_BADVERS) == DNS_R_BADVERS);
	CHECK(dns_parse_rcode(DNS_PARSE_DROP) == -1);
	CHECK(dns_parse_rcode(DNS_PARSE_OK) == DNS_R_NOERROR);

	/* UDP limits: 512 floor, the client's size, capped at ours. */
	static const struct { int edns; unsigned size, ours; size_t want; }
	    lim[] = {
		{ 0, 0, 4096, 512 }, { 1, 100, 4096, 512 },
		{ 1, 1232, 4096, 1232 }, { 1, 65535, 4096, 4096 },
		{ 1, 4096, 1232, 1232 }, { 1, 600, 0, 512 },
	};
	for (i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.edns = (uint8_t)lim[i].edns;
		q.edns_udp_size = (uint16_t)lim[i].size;
		CHECK(dns_udp_limit(&q, lim[i].ours) == lim[i].want);
	}
}

/* Every good packet, mutated. */
static void
test_parse_mutated(void)
{
	struct pk p, m;
	struct dns_query q, q2;
	char err[128];
	size_t i, cut;
	int want_cut, r, r2;

	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *c = &good_cases[i];

		c->build(&p);
		want_cut = c->ret == DNS_PARSE_NOTIMP ? DNS_PARSE_NOTIMP :
		    DNS_PARSE_FORMERR;
		/* Cut at every byte: nothing short of the whole parses. */
		for (cut = 0; cut < p.n; cut++) {
			r = dns_query_parse(p.b, cut, &q, err, sizeof(err));
			if (r != (cut < 12 ? DNS_PARSE_DROP : want_cut))
				fprintf(stderr, "%s cut at %zu: %d\n",
				    c->desc, cut, r);
			CHECK(r == (cut < 12 ? DNS_PARSE_DROP : want_cut));
			CHECK(r == DNS_PARSE_NOTIMP || q.edns == 0);
		}
		/* One byte appended is ignored, as by tinydns and miekg. */
		m = p;
		pk_u8(&m, 0xc0);
		r = dns_query_parse(m.b, m.n, &q, err, sizeof(err));
		r2 = dns_query_parse(p.b, p.n, &q2, err, sizeof(err));
		CHECK(r == r2);
		CHECK_STR(q.qname_orig, q2.qname_orig);
		check_good(c, &q, r);

		/* QR set: a response, dropped. */
		m = p;
		m.b[2] |= 0x80;
		CHECK(dns_query_parse(m.b, m.n, &q, err, sizeof(err)) ==
		    DNS_PARSE_DROP);

		/* One more question, answer or additional than there is. */
		for (cut = 5; cut <= 11; cut += 2) {
			m = p;
			m.b[cut]++;
			r = dns_query_parse(m.b, m.n, &q, err, sizeof(err));
			CHECK(r == want_cut);
			CHECK(q.id == tr_16(p.b));
		}
		/* No question at all. */
		m = p;
		m.b[5] = 0;
		r = dns_query_parse(m.b, m.n, &q, err, sizeof(err));
		CHECK(r == want_cut);
		CHECK(q.has_question == 0);
	}
}

/* Bad queries, built by hand. */
struct bad_case {
	const char	*desc;
	const char	*bytes;		/* after a header with qd=1 */
	size_t		 len;
	unsigned	 flags, qd, an, ns, ar;
	int		 ret;
	int		 has_question;
};

#define QTAIL "\000\001\000\001"	/* type A, class IN */
#define OPTHDR "\000\000\051\020\000\000\000\000\000"

static const struct bad_case bad_cases[] = {
	{ "QR set", "\001a\000" QTAIL, 7, 0x8000, 1, 0, 0, 0,
	    DNS_PARSE_DROP, 0 },
	{ "no question", "", 0, 0, 0, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "two questions", "\001a\000" QTAIL "\001b\000" QTAIL, 14,
	    0, 2, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "pointer to itself", "\300\014" QTAIL, 6, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "pointer loop via a label", "\001a\300\014" QTAIL, 8,
	    0, 1, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "forward pointer", "\300\016\001a\000" QTAIL, 9, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "pointer past the end", "\300\377" QTAIL, 6, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "pointer into the header", "\300\002" QTAIL, 6, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "half a pointer", "\300", 1, 0, 1, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "label type 0x40 (length 64)", "\100a\000" QTAIL, 7,
	    0, 1, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "label type 0x80", "\200a\000" QTAIL, 7, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "label runs off the end", "\011abc", 4, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "no type", "\001a\000", 3, 0, 1, 0, 0, 0, DNS_PARSE_FORMERR, 0 },
	{ "half a class", "\001a\000\000\001\000", 6, 0, 1, 0, 0, 0,
	    DNS_PARSE_FORMERR, 0 },
	{ "answer owner loops", "\001a\000" QTAIL
	    "\001b\300\023" "\000\001\000\001\000\000\000\000\000\000", 21,
	    0, 1, 1, 0, 0, DNS_PARSE_FORMERR, 1 },
	{ "answer owner points forward", "\001a\000" QTAIL
	    "\300\035" "\000\001\000\001\000\000\000\000\000\000"
	    "\001b\000", 22, 0, 1, 1, 0, 0, DNS_PARSE_FORMERR, 1 },
	{ "rdata overruns", "\001a\000" QTAIL
	    "\300\014" "\000\001\000\001\000\000\000\000\000\011abc", 22,
	    0, 1, 1, 0, 0, DNS_PARSE_FORMERR, 1 },
	{ "additional missing", "\001a\000" QTAIL, 7, 0, 1, 0, 0, 1,
	    DNS_PARSE_FORMERR, 1 },
	{ "two OPT records", "\001a\000" QTAIL OPTHDR "\000\000"
	    OPTHDR "\000\000", 29, 0, 1, 0, 0, 2, DNS_PARSE_FORMERR, 1 },
	{ "OPT owner not root", "\001a\000" QTAIL
	    "\300\014\000\051\020\000\000\000\000\000\000\000", 19,
	    0, 1, 0, 0, 1, DNS_PARSE_FORMERR, 1 },
	{ "OPT option overruns", "\001a\000" QTAIL OPTHDR
	    "\000\006\000\012\000\003ab", 24, 0, 1, 0, 0, 1,
	    DNS_PARSE_FORMERR, 1 },
	{ "OPT half an option header", "\001a\000" QTAIL OPTHDR
	    "\000\002\000\012", 20, 0, 1, 0, 0, 1, DNS_PARSE_FORMERR, 1 },
	{ "ECS family 3", "\001a\000" QTAIL OPTHDR
	    "\000\011\000\010\000\005\000\003\010\000\012", 27,
	    0, 1, 0, 0, 1, DNS_PARSE_FORMERR, 1 },
	{ "ECS address too long", "\001a\000" QTAIL OPTHDR
	    "\000\012\000\010\000\006\000\001\010\000\012\001", 28,
	    0, 1, 0, 0, 1, DNS_PARSE_FORMERR, 1 },
	{ "ECS prefix 33 for IPv4", "\001a\000" QTAIL OPTHDR
	    "\000\015\000\010\000\011\000\001\041\000\001\002\003\004\005",
	    31, 0, 1, 0, 0, 1, DNS_PARSE_FORMERR, 1 },
	{ "NOTIMP without a question", "", 0, 5 << 11, 0, 0, 0, 0,
	    DNS_PARSE_NOTIMP, 0 },
};

/* test_parse_bad - every bad row gives its result */
static void
test_parse_bad(void)
{
	const struct bad_case *c;
	struct pk p;
	struct dns_query q;
	char err[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		c = &bad_cases[i];
		pk_hdr(&p, 0xbeef, c->flags, c->qd, c->an, c->ns, c->ar);
		pk_raw(&p, c->bytes, c->len);
		r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
		if (r != c->ret || q.has_question != c->has_question)
			fprintf(stderr, "bad case \"%s\": %d %d (%s)\n",
			    c->desc, r, q.has_question, err);
		CHECK(r == c->ret);
		CHECK(q.has_question == c->has_question);
		CHECK(q.edns == 0);
		if (r != DNS_PARSE_DROP) {
			CHECK(q.id == 0xbeef);
			CHECK(err[0] != '\0');
		}
	}
	/* Shorter than a header: dropped, whatever it holds. */
	for (i = 0; i < 12; i++) {
		memset(p.b, 0, sizeof(p.b));
		CHECK(dns_query_parse(p.b, i, &q, err, sizeof(err)) ==
		    DNS_PARSE_DROP);
	}
}

/* Names too long, in the question and through a pointer. */
static void
test_parse_long_names(void)
{
	struct pk p;
	struct dns_query q;
	char err[128], l[64];
	int i;

	/* 256 octets: labels of 63, 63, 63, 62. */
	pk_hdr(&p, 1, 0, 1, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		pk_u8(&p, i < 3 ? 63 : 62);
		pk_raw(&p, long_label('x', i < 3 ? 63 : 62, l),
		    i < 3 ? 63 : 62);
	}
	pk_u8(&p, 0);
	pk_u16(&p, 1);
	pk_u16(&p, 1);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) ==
	    DNS_PARSE_FORMERR);

	/* 321 octets of plain labels. */
	pk_hdr(&p, 1, 0, 1, 0, 0, 0);
	for (i = 0; i < 5; i++) {
		pk_u8(&p, 63);
		pk_raw(&p, long_label('y', 63, l), 63);
	}
	pk_u8(&p, 0);
	pk_u16(&p, 1);
	pk_u16(&p, 1);
	CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) ==
	    DNS_PARSE_FORMERR);

	/* A 251-octet question, and an owner of 5 more octets pointing at
	 * it: 256 once expanded. One octet fewer is fine. */
	for (i = 0; i < 2; i++) {
		pk_hdr(&p, 1, 0, 1, 1, 0, 0);
		pk_u8(&p, 63); pk_raw(&p, long_label('a', 63, l), 63);
		pk_u8(&p, 63); pk_raw(&p, long_label('b', 63, l), 63);
		pk_u8(&p, 63); pk_raw(&p, long_label('c', 63, l), 63);
		pk_u8(&p, 57); pk_raw(&p, long_label('d', 57, l), 57);
		pk_u8(&p, 0);
		pk_u16(&p, 1);
		pk_u16(&p, 1);
		if (i == 0)
			pk_raw(&p, "\004abcd\300\014", 7);
		else
			pk_raw(&p, "\003abc\300\014", 6);
		pk_u16(&p, 1);
		pk_u16(&p, 1);
		pk_u32(&p, 0);
		pk_u16(&p, 0);
		CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) ==
		    (i == 0 ? DNS_PARSE_FORMERR : DNS_PARSE_OK));
		CHECK(q.has_question);
	}
}

/* More hops than DNS_PTR_HOPS, each pointing strictly backwards. */
static void
test_parse_hops(void)
{
	struct pk p;
	struct dns_query q;
	char err[128];
	size_t prev;
	int i, n;

	for (n = DNS_PTR_HOPS - 2; n <= DNS_PTR_HOPS + 2; n++) {
		/* Each authority owner is a pointer to the one before. */
		pk_hdr(&p, 1, 0, 1, 0, (unsigned)n, 0);
		pk_name(&p, "z");
		pk_u16(&p, 1);
		pk_u16(&p, 1);
		prev = 12;
		for (i = 0; i < n; i++) {
			size_t here = p.n;

			pk_u16(&p, 0xc000 | (unsigned)prev);
			pk_u16(&p, 1);
			pk_u16(&p, 1);
			pk_u32(&p, 0);
			pk_u16(&p, 0);
			prev = here;
		}
		CHECK(dns_query_parse(p.b, p.n, &q, err, sizeof(err)) ==
		    (n <= DNS_PTR_HOPS ? DNS_PARSE_OK : DNS_PARSE_FORMERR));
	}
}

/* Presentation to wire and back. */
struct wire_case {
	const char	*text;
	const char	*wire;
	size_t		 len;		/* 0: the name is bad */
	const char	*back;		/* dns_name_text of wire */
};

static const struct wire_case wire_cases[] = {
	{ "www.example.com.", "\003www\007example\003com", 17,
	    "www.example.com." },
	{ "www.example.com", "\003www\007example\003com", 17,
	    "www.example.com." },
	{ ".", "", 1, "." },
	{ "a\\.b.", "\003a.b", 5, "a\\.b." },
	{ "\\065\\032.", "\002A ", 4, "A\\032." },
	{ "\\\\x", "\002\\x", 4, "\\\\x." },
	{ "\\000.", "\001\000", 3, "\\000." },
	{ "\\a\\b.", "\002ab", 4, "ab." },
	{ "", NULL, 0, NULL },
	{ "..", NULL, 0, NULL },
	{ ".a.", NULL, 0, NULL },
	{ "a..b.", NULL, 0, NULL },
	{ "\\256.", NULL, 0, NULL },
	{ "\\12", NULL, 0, NULL },
	{ "\\1a2.", NULL, 0, NULL },
	{ "a\\", NULL, 0, NULL },
};

/* test_name_wire - presentation to wire and back, and the limits */
static void
test_name_wire(void)
{
	const struct wire_case *c;
	unsigned char w[DNS_NAME_MAX];
	char t[DNS_NAMEBUF], big[400];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(wire_cases) / sizeof(wire_cases[0]); i++) {
		c = &wire_cases[i];
		n = 0;
		r = dns_name_wire(c->text, w, &n);
		if (c->len == 0) {
			CHECK(r == -1);
			continue;
		}
		CHECK(r == 0);
		CHECK(n == c->len);
		CHECK(memcmp(w, c->wire, c->len) == 0);
		CHECK(dns_name_text(w, n, t, sizeof(t), 0) == 0);
		CHECK_STR(t, c->back);
	}

	/* Label 63 is fine, 64 is not. */
	memset(big, 'a', 64);
	strcpy(big + 64, ".x.");
	CHECK(dns_name_wire(big, w, &n) == -1);
	CHECK(dns_name_wire(big + 1, w, &n) == 0 && n == 1 + 63 + 2 + 1);

	/* 255 octets fit, with or without the dot; 256 do not. */
	for (i = 0; i < 4; i++) {
		memset(big + i * 64, 'q', 63);
		big[i * 64 + 63] = '.';
	}
	big[3 * 64 + 62] = '.';		/* last label 62: 256 octets */
	big[3 * 64 + 63] = '\0';
	CHECK(dns_name_wire(big, w, &n) == -1);
	big[3 * 64 + 62] = '\0';	/* no dot: still 256 */
	CHECK(dns_name_wire(big, w, &n) == -1);
	big[3 * 64 + 61] = '.';		/* last label 61: 255 */
	big[3 * 64 + 62] = '\0';
	CHECK(dns_name_wire(big, w, &n) == 0 && n == 255);
	big[3 * 64 + 61] = '\0';
	CHECK(dns_name_wire(big, w, &n) == 0 && n == 255);
	/* And the same with one octet escaped. */
	memcpy(big, "\\113", 4);
	memset(big + 4, 'q', 62);
	strcpy(big + 66, ".");
	CHECK(dns_name_wire(big, w, &n) == 0 && n == 65);

	/* The text side refuses what is not a name. */
	CHECK(dns_name_text((const unsigned char *)"\003ab", 3, t,
	    sizeof(t), 0) == -1);
	CHECK(dns_name_text((const unsigned char *)"\002ab\000x", 5, t,
	    sizeof(t), 0) == -1);
	CHECK(dns_name_text((const unsigned char *)"\100", 1, t,
	    sizeof(t), 0) == -1);
	CHECK(dns_name_text((const unsigned char *)"\002ab", 4, t, 3,
	    0) == -1);
	CHECK(dns_name_text((const unsigned char *)"\002aB", 4, t, 4,
	    1) == 0);
	CHECK_STR(t, "ab.");
}

/* Every byte value survives wire -> text -> wire. */
static void
test_name_all_bytes(void)
{
	unsigned char w[DNS_NAME_MAX], w2[DNS_NAME_MAX];
	char t[DNS_NAMEBUF];
	size_t n, i, b;

	for (b = 0; b < 256; b += 50) {
		/* four labels of 50 consecutive byte values */
		n = 0;
		for (i = 0; i < 4; i++) {
			size_t k;

			w[n++] = 50;
			for (k = 0; k < 50; k++)
				w[n++] = (unsigned char)(b + i * 50 + k);
		}
		w[n++] = 0;
		CHECK(dns_name_text(w, n, t, sizeof(t), 0) == 0);
		CHECK(dns_name_wire(t, w2, &i) == 0);
		CHECK(i == n && memcmp(w, w2, n) == 0);
	}
	/* The longest possible text: every octet escaped. */
	n = 0;
	for (i = 0; i < 4; i++) {
		w[n++] = i < 3 ? 63 : 61;
		memset(w + n, 0x01, w[n - 1]);
		n += w[n - 1];
	}
	w[n++] = 0;
	CHECK(n == 255);
	CHECK(dns_name_text(w, n, t, sizeof(t), 0) == 0);
	CHECK(strlen(t) == 250 * 4 + 4);
	CHECK(dns_name_wire(t, w2, &i) == 0 && i == 255);
}

struct labels_case {
	const char	*name;
	int		 ret;
	size_t		 n;
	const char	*joined;	/* labels joined with '|' */
	size_t		 lastoff;
};

static const struct labels_case labels_cases[] = {
	{ "web.service.consul.", 0, 3, "web|service|consul", 12 },
	{ "web.service.consul", 0, 3, "web|service|consul", 12 },
	{ "tag.web.service.dc1.consul.", 0, 5, "tag|web|service|dc1|consul",
	    20 },
	{ ".", 0, 0, "", 0 },
	{ "a", 0, 1, "a", 0 },
	{ "a\\.b.c.", 0, 2, "a\\.b|c", 5 },
	{ "x\\\\.y.", 0, 2, "x\\\\|y", 4 },
	{ "", -1, 0, NULL, 0 },
	{ "..", -1, 0, NULL, 0 },
	{ ".a.", -1, 0, NULL, 0 },
	{ "a..b.", -1, 0, NULL, 0 },
};

/* test_name_labels - splitting names into labels */
static void
test_name_labels(void)
{
	const struct labels_case *c;
	struct dns_labels l;
	char joined[DNS_NAMEBUF], many[400];
	size_t i, k;
	int r;

	for (i = 0; i < sizeof(labels_cases) / sizeof(labels_cases[0]);
	    i++) {
		c = &labels_cases[i];
		r = dns_name_labels(c->name, &l);
		CHECK(r == c->ret);
		if (r != 0)
			continue;
		CHECK(l.n == c->n);
		joined[0] = '\0';
		for (k = 0; k < l.n; k++) {
			if (k > 0)
				strcat(joined, "|");
			strcat(joined, l.label[k]);
		}
		CHECK_STR(joined, c->joined);
		if (l.n > 0)
			CHECK(l.off[l.n - 1] == c->lastoff);
	}
	CHECK(dns_name_labels("web.service.consul.", &l) == 0);
	snprintf(many, sizeof(many), "web.service.consul.");
	CHECK_STR(many + l.off[1], "service.consul.");

	/* 127 one-letter labels fit; 128 do not. */
	for (k = 0; k < 128; k++) {
		many[2 * k] = 'a';
		many[2 * k + 1] = '.';
	}
	many[2 * 127] = '\0';
	CHECK(dns_name_labels(many, &l) == 0 && l.n == 127);
	many[2 * 127] = 'a';
	many[2 * 128] = '\0';
	CHECK(dns_name_labels(many, &l) == -1);
}

/* test_cursor - short reads fail and consume nothing */
static void
test_cursor(void)
{
	struct dns_cursor c;
	uint8_t b;
	uint16_t s;
	uint32_t l;

	dns_cursor_init(&c, (const unsigned char *)"\001\002\003", 3);
	CHECK(dns_cursor_u32(&c, &l) == -1 && c.pos == 0);
	CHECK(dns_cursor_u16(&c, &s) == 0 && s == 0x0102 && c.pos == 2);
	CHECK(dns_cursor_u16(&c, &s) == -1 && c.pos == 2);
	CHECK(dns_cursor_skip(&c, 2) == -1 && c.pos == 2);
	CHECK(dns_cursor_u8(&c, &b) == 0 && b == 3);
	CHECK(dns_cursor_u8(&c, &b) == -1 && c.pos == 3);
	CHECK(dns_cursor_skip(&c, 0) == 0);
}

/* parse_query - parse a packet built by pk; must succeed */
static void
parse_query(struct pk *p, struct dns_query *q)
{
	char err[128];
	int r = dns_query_parse(p->b, p->n, q, err, sizeof(err));

	if (r != DNS_PARSE_OK && r != DNS_PARSE_BADVERS &&
	    r != DNS_PARSE_NOTIMP)
		fprintf(stderr, "parse_query: %d %s\n", r, err);
	CHECK(r == DNS_PARSE_OK || r == DNS_PARSE_BADVERS ||
	    r == DNS_PARSE_NOTIMP);
}

/* reparse - the response with QR cleared must parse as the same query */
static void
reparse(const unsigned char *buf, size_t len, const struct dns_query *q)
{
	unsigned char copy[DNS_TCP_MAX];
	struct dns_query q2;
	char err[128];
	int r;

	memcpy(copy, buf, len);
	copy[2] &= 0x7f;
	r = dns_query_parse(copy, len, &q2, err, sizeof(err));
	if (r != DNS_PARSE_OK)
		fprintf(stderr, "reparse: %d %s\n", r, err);
	CHECK(r == DNS_PARSE_OK);
	CHECK_STR(q2.qname_orig, q->qname_orig);
	CHECK(q2.qtype == q->qtype);
	CHECK(q2.edns == q->edns);
}

/* The smallest answer, byte for byte. */
static void
test_write_exact(void)
{
	static const unsigned char want_a[] = {
		0x12, 0x34, 0x85, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,
	};
	static const unsigned char want_cname[] = {
		0x12, 0x34, 0x81, 0x03, 0, 1, 0, 1, 0, 0, 0, 0,
		3, 'W', 'w', 'W', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		3, 'c', 'o', 'm', 0, 0, 5, 0, 1,
		/* owner: the question; target: "web" + example.com at 16 */
		0xc0, 0x0c, 0, 5, 0, 1, 0, 0, 1, 0, 0, 6,
		3, 'w', 'e', 'b', 0xc0, 0x10,
	};
	unsigned char buf[512];
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	size_t n;

	query(&p, 0x1234, "www.example.com", DNS_T_A, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0,
	    DNS_F_AA | DNS_F_RA) == 0);
	CHECK(dns_writer_a(&w, DNS_SEC_ANSWER, "www.example.com.", 60,
	    (const unsigned char *)"\012\000\000\001") == DNS_W_OK);
	n = dns_writer_finish(&w);
	CHECK(n == sizeof(want_a));
	CHECK(memcmp(buf, want_a, sizeof(want_a)) == 0);
	reparse(buf, n, &q);

	/* The case asked is echoed; compression ignores case; rcode later. */
	query(&p, 0x1234, "WwW.example.com", DNS_T_CNAME, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0, 0) == 0);
	CHECK(dns_writer_cname(&w, DNS_SEC_ANSWER, "www.EXAMPLE.com.", 256,
	    "web.example.COM.") == DNS_W_OK);
	dns_writer_set_rcode(&w, DNS_R_NXDOMAIN);
	n = dns_writer_finish(&w);
	CHECK(n == sizeof(want_cname));
	CHECK(memcmp(buf, want_cname, sizeof(want_cname)) == 0);
}

/* SRV answers with glue: compression of owners and of A-record owners. */
static void
test_write_srv(void)
{
	static const char *targets[] = {
		"n1.node.dc1.consul.", "n2.node.dc1.consul.",
		"n3.node.dc1.consul.",
	};
	unsigned char buf[512], a[4] = { 10, 0, 0, 0 };
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct tr_msg *t = calloc(1, sizeof(*t));
	size_t n, i, pos;
	char name[600];

	query(&p, 7, "web.service.consul", DNS_T_SRV, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0,
	    DNS_F_AA) == 0);
	for (i = 0; i < 3; i++)
		CHECK(dns_writer_srv(&w, DNS_SEC_ANSWER, q.qname, 0, 1, 1,
		    (uint16_t)(8000 + i), targets[i]) == DNS_W_OK);
	for (i = 0; i < 3; i++) {
		a[3] = (unsigned char)(i + 1);
		CHECK(dns_writer_a(&w, DNS_SEC_ADDITIONAL, targets[i], 0, a) ==
		    DNS_W_OK);
	}
	n = dns_writer_finish(&w);
	/* 12 + 24 question + 3 * (2 + 10 + 6 + 20) + 3 * (2 + 10 + 4) */
	CHECK(n == 198);
	/* Uncompressed it would be 12 + 24 + 3 * 56 + 3 * 34 = 306. */
	CHECK(n < 306);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->id == 7 && t->an == 3 && t->ns == 0 && t->ar == 3);
	CHECK(t->flags == (DNS_F_QR | DNS_F_AA | DNS_F_RD));
	CHECK_STR(t->qname, "web.service.consul.");
	for (i = 0; i < 3; i++) {
		struct tr_rr *r = &t->rr[i];

		CHECK_STR(r->name, "web.service.consul.");
		CHECK(buf[r->start] == 0xc0 && buf[r->start + 1] == 12);
		CHECK(r->type == DNS_T_SRV && r->cls == DNS_C_IN);
		CHECK(tr_16(buf + r->rdata) == 1);
		CHECK(tr_16(buf + r->rdata + 4) == 8000 + i);
		/* RFC 2782: the target is written out in full. */
		CHECK(r->rdlen == 6 + 20);
		pos = r->rdata + 6;
		CHECK(tr_name(buf, n, &pos, name) == 0);
		CHECK_STR(name, targets[i]);

		r = &t->rr[3 + i];
		CHECK_STR(r->name, targets[i]);
		CHECK(r->type == DNS_T_A && r->rdlen == 4);
		CHECK(buf[r->rdata + 3] == i + 1);
		/* The glue owner points at the SRV target. */
		CHECK(tr_16(buf + r->start) == (0xc000 | (t->rr[i].rdata + 6)));
	}
	reparse(buf, n, &q);
	free(t);
}

/* One of each type, read back. */
static void
test_write_types(void)
{
	static const char *txt[] = { "a=1", "", "rfc1035-x" };
	static const struct dns_soa soa = {
		"ns.consul.", "hostmaster.consul.", 1700000000, 3600, 600,
		86400, 0,
	};
	unsigned char buf[1024], v6[16];
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct tr_msg *t = calloc(1, sizeof(*t));
	size_t n, pos;
	char name[600];
	struct tr_rr *r;

	memset(v6, 0, sizeof(v6));
	v6[0] = 0xfe;
	v6[15] = 1;
	query(&p, 9, "n1.node.consul", DNS_T_ANY, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), sizeof(buf), &q, 0,
	    0) == 0);
	CHECK(dns_writer_a(&w, 0, "n1.node.consul.", 5,
	    (const unsigned char *)"\177\000\000\001") == 0);
	CHECK(dns_writer_aaaa(&w, 0, "n1.node.consul.", 5, v6) == 0);
	CHECK(dns_writer_txt(&w, 0, "n1.node.consul.", 5, txt, 3) == 0);
	CHECK(dns_writer_cname(&w, 0, "alias.consul.", 5, "n1.node.consul.")
	    == 0);
	CHECK(dns_writer_ptr(&w, 0, "1.0.0.127.in-addr.arpa.", 5,
	    "n1.node.dc1.consul.") == 0);
	CHECK(dns_writer_rr(&w, 0, "n1.node.consul.", 99, 3, 7, "xyz", 3)
	    == 0);
	CHECK(dns_writer_ns(&w, DNS_SEC_AUTHORITY, "consul.", 0,
	    "n1.node.dc1.consul.") == 0);
	CHECK(dns_writer_soa(&w, DNS_SEC_AUTHORITY, "consul.", 0, &soa) == 0);
	CHECK(dns_writer_srv(&w, DNS_SEC_ADDITIONAL, "_x._tcp.consul.", 0,
	    1, 2, 3, "n1.node.consul.") == 0);
	n = dns_writer_finish(&w);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->an == 6 && t->ns == 2 && t->ar == 1);

	r = &t->rr[0];
	CHECK(r->type == DNS_T_A && r->rdlen == 4 && r->ttl == 5);
	CHECK(memcmp(buf + r->rdata, "\177\000\000\001", 4) == 0);
	r = &t->rr[1];
	CHECK(r->type == DNS_T_AAAA && r->rdlen == 16);
	CHECK(memcmp(buf + r->rdata, v6, 16) == 0);
	r = &t->rr[2];
	CHECK(r->type == DNS_T_TXT && r->rdlen == 4 + 1 + 10);
	CHECK(memcmp(buf + r->rdata, "\003a=1\000\011rfc1035-x", 15) == 0);
	r = &t->rr[3];
	CHECK(r->type == DNS_T_CNAME);
	CHECK_STR(r->name, "alias.consul.");
	pos = r->rdata;
	CHECK(tr_name(buf, n, &pos, name) == 0 && pos == r->rdata + r->rdlen);
	CHECK_STR(name, "n1.node.consul.");
	CHECK(r->rdlen == 2);		/* all of it is the question */
	r = &t->rr[4];
	CHECK(r->type == DNS_T_PTR);
	CHECK_STR(r->name, "1.0.0.127.in-addr.arpa.");
	pos = r->rdata;
	CHECK(tr_name(buf, n, &pos, name) == 0 && pos == r->rdata + r->rdlen);
	CHECK_STR(name, "n1.node.dc1.consul.");
	r = &t->rr[5];
	CHECK(r->type == 99 && r->cls == 3 && r->ttl == 7 && r->rdlen == 3);
	r = &t->rr[6];
	CHECK(r->type == DNS_T_NS);
	CHECK_STR(r->name, "consul.");
	pos = r->rdata;
	CHECK(tr_name(buf, n, &pos, name) == 0 && pos == r->rdata + r->rdlen);
	CHECK_STR(name, "n1.node.dc1.consul.");
	CHECK(r->rdlen == 2);		/* the PTR target, whole */
	r = &t->rr[7];
	CHECK(r->type == DNS_T_SOA);
	pos = r->rdata;
	CHECK(tr_name(buf, n, &pos, name) == 0);
	CHECK_STR(name, "ns.consul.");
	CHECK(tr_name(buf, n, &pos, name) == 0);
	CHECK_STR(name, "hostmaster.consul.");
	CHECK(pos + 20 == r->rdata + r->rdlen);
	CHECK(tr_32(buf + pos) == 1700000000);
	CHECK(tr_32(buf + pos + 4) == 3600);
	CHECK(tr_32(buf + pos + 8) == 600);
	CHECK(tr_32(buf + pos + 12) == 86400);
	CHECK(tr_32(buf + pos + 16) == 0);
	r = &t->rr[8];
	CHECK(r->type == DNS_T_SRV);
	CHECK_STR(r->name, "_x._tcp.consul.");
	CHECK(r->rdlen == 6 + 16);
	pos = r->rdata + 6;
	CHECK(tr_name(buf, n, &pos, name) == 0);
	CHECK_STR(name, "n1.node.consul.");
	reparse(buf, n, &q);
	free(t);
}

/* Bad arguments write nothing. */
static void
test_write_bad_args(void)
{
	char s256[257], s255[256], l64[80];
	const char *strs[2];
	unsigned char buf[1024];
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct dns_soa soa = { "ns.consul.", "bad..name.", 0, 0, 0, 0, 0 };
	size_t len;

	query(&p, 9, "x.consul", DNS_T_TXT, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), sizeof(buf), &q, 0,
	    0) == 0);
	len = w.len;
	long_label('s', 256, s256);
	long_label('s', 255, s255);
	strs[0] = s255;
	strs[1] = s256;
	CHECK(dns_writer_txt(&w, 0, "x.consul.", 0, strs, 2) == DNS_W_ERR);
	CHECK(dns_writer_txt(&w, 0, "x.consul.", 0, strs, 0) == DNS_W_ERR);
	CHECK(dns_writer_a(&w, 0, "a..b.", 0,
	    (const unsigned char *)"\001\002\003\004") == DNS_W_ERR);
	long_label('l', 64, l64);
	CHECK(dns_writer_cname(&w, 0, "x.consul.", 0, l64) == DNS_W_ERR);
	CHECK(dns_writer_srv(&w, 0, "x.consul.", 0, 0, 0, 0, "") ==
	    DNS_W_ERR);
	CHECK(dns_writer_soa(&w, 0, "x.consul.", 0, &soa) == DNS_W_ERR);
	CHECK(w.err[0] != '\0');
	CHECK(w.len == len && w.count[0] == 0 && !w.truncated);
	CHECK(dns_writer_txt(&w, 0, "x.consul.", 0, strs, 1) == DNS_W_OK);
	CHECK(w.len == len + 2 + 10 + 256);
}

/* The size limits: 512, the EDNS size with the OPT reserved, TCP. */
struct limit_case {
	const char	*desc;
	int		 edns;
	unsigned	 size;		/* client's EDNS size */
	size_t		 limit;		/* 0: dns_udp_limit() */
	size_t		 fit;		/* A records that fit */
	size_t		 len;		/* finished length */
};

static const struct limit_case limit_cases[] = {
	/* question 29; each A record 16; the OPT 11 */
	{ "plain UDP", 0, 0, 0, 30, 29 + 30 * 16 },
	{ "EDNS 512", 1, 512, 0, 29, 29 + 29 * 16 + 11 },
	{ "EDNS 100 means 512", 1, 100, 0, 29, 29 + 29 * 16 + 11 },
	{ "EDNS 1232", 1, 1232, 0, 74, 29 + 74 * 16 + 11 },
	{ "TCP", 0, 0, DNS_TCP_MAX, 4094, 29 + 4094 * 16 },
};

/* test_write_limits - RRs past the limit are refused and counted out */
static void
test_write_limits(void)
{
	static unsigned char buf[DNS_TCP_MAX];
	const struct limit_case *c;
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct tr_msg *t = calloc(1, sizeof(*t));
	unsigned char a[4] = { 10, 0, 0, 0 };
	size_t i, k, n, limit;
	int r;

	for (i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		c = &limit_cases[i];
		query(&p, 3, "example.com", DNS_T_A, c->edns, c->size, 0);
		parse_query(&p, &q);
		limit = c->limit ? c->limit : dns_udp_limit(&q, 4096);
		CHECK(dns_writer_begin(&w, buf, sizeof(buf), limit, &q, 0,
		    0) == 0);
		for (k = 0; k < 10000; k++) {
			a[2] = (unsigned char)(k >> 8);
			a[3] = (unsigned char)k;
			r = dns_writer_a(&w, 0, "example.com.", 0, a);
			if (r != DNS_W_OK)
				break;
		}
		if (k != c->fit)
			fprintf(stderr, "%s: %zu fit\n", c->desc, k);
		CHECK(r == DNS_W_FULL);
		CHECK(k == c->fit);
		CHECK(w.truncated);
		CHECK(w.count[0] == c->fit);
		/* Still full: another does not fit either. */
		CHECK(dns_writer_a(&w, 2, "example.com.", 0, a) ==
		    DNS_W_FULL);
		n = dns_writer_finish(&w);
		CHECK(n == c->len);
		CHECK(n <= limit);
		if (c->fit > 300)
			continue;
		CHECK(tr_msg(buf, n, t) == 0);
		CHECK(t->an == c->fit);
		CHECK(t->ar == (c->edns ? 1u : 0u));
		CHECK((t->flags & DNS_F_TC) == 0);
	}

	/* A big RR that fails leaves room for a small one, and the names
	 * it wrote are forgotten. */
	{
		char s[256];
		const char *strs[2] = { s, s };

		query(&p, 3, "example.com", DNS_T_A, 0, 0, 0);
		parse_query(&p, &q);
		CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0,
		    0) == 0);
		long_label('t', 255, s);
		CHECK(dns_writer_txt(&w, 0, "big.other.org.", 0, strs, 2) ==
		    DNS_W_FULL);
		CHECK(w.len == 29 && w.ncomp == 2);
		CHECK(dns_writer_a(&w, 0, "x.other.org.", 0, a) == DNS_W_OK);
		CHECK(dns_writer_a(&w, 0, "y.other.org.", 0, a) == DNS_W_OK);
		dns_writer_set_flags(&w, DNS_F_TC);
		n = dns_writer_finish(&w);
		/* x.other.org. in full (13), then y + pointer (4) */
		CHECK(n == 29 + (13 + 10 + 4) + (4 + 10 + 4));
		CHECK(tr_msg(buf, n, t) == 0);
		CHECK(t->an == 2);
		CHECK_STR(t->rr[1].name, "y.other.org.");
		CHECK(t->flags & DNS_F_TC);
	}

	/* A limit that leaves no room for the question. */
	query(&p, 3, "example.com", DNS_T_A, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 20, &q, 0, 0) == -1);
	free(t);
}

/* Compression against far offsets: names past 0x3fff are not targets. */
static void
test_write_far(void)
{
	static unsigned char buf[DNS_TCP_MAX];
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct tr_msg *t = calloc(1, sizeof(*t));
	char s[256], name[64];
	const char *strs[1] = { s };
	size_t n, k;

	query(&p, 3, "example.com", DNS_T_TXT, 0, 0, 0);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), sizeof(buf), &q, 0,
	    0) == 0);
	long_label('f', 255, s);
	for (k = 0; w.len < 0x4100; k++)
		CHECK(dns_writer_txt(&w, 0, "example.com.", 0, strs, 1) ==
		    DNS_W_OK);
	for (k = 0; k < 3; k++) {
		snprintf(name, sizeof(name), "far%zu.new.zone.", k);
		CHECK(dns_writer_a(&w, 0, name, 0,
		    (const unsigned char *)"\001\002\003\004") == DNS_W_OK);
	}
	n = dns_writer_finish(&w);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK_STR(t->rr[t->nrr - 1].name, "far2.new.zone.");
	/* No pointer anywhere may reach past 0x3fff: the reader would have
	 * read garbage above; and each far name is written in full. */
	CHECK(buf[t->rr[t->nrr - 1].start] == 4);
	free(t);
}

/* Error answers, byte for byte where it is short enough. */
static void
test_write_error(void)
{
	unsigned char buf[512];
	struct pk p;
	struct dns_query q;
	struct tr_msg *t = calloc(1, sizeof(*t));
	char err[128];
	size_t n;
	int r;

	/* FORMERR without a question. */
	pk_hdr(&p, 0xabcd, DNS_F_RD, 0, 0, 0, 0);
	r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
	CHECK(r == DNS_PARSE_FORMERR);
	n = dns_writer_error(buf, sizeof(buf), &q, dns_parse_rcode(r), 0);
	CHECK(n == 12);
	CHECK(memcmp(buf, "\253\315\201\001\000\000\000\000\000\000\000\000",
	    12) == 0);

	/* FORMERR with the question echoed (the answer section is bad). */
	pk_hdr(&p, 0xabcd, 0, 1, 1, 0, 0);
	pk_name(&p, "Web.Consul");
	pk_u16(&p, DNS_T_A);
	pk_u16(&p, DNS_C_IN);
	pk_u8(&p, 0xc0);
	r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
	CHECK(r == DNS_PARSE_FORMERR && q.has_question);
	n = dns_writer_error(buf, sizeof(buf), &q, DNS_R_FORMERR, DNS_F_RA);
	CHECK(n == 12 + 12 + 4);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->flags == (DNS_F_QR | DNS_F_RA | DNS_R_FORMERR));
	CHECK(t->qd == 1 && t->an == 0 && t->ar == 0);
	CHECK_STR(t->qname, "Web.Consul.");

	/* NOTIMP keeps the opcode. */
	pk_hdr(&p, 1, 4 << 11, 1, 0, 0, 0);
	pk_name(&p, "consul");
	pk_u16(&p, DNS_T_SOA);
	pk_u16(&p, DNS_C_IN);
	r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
	CHECK(r == DNS_PARSE_NOTIMP);
	n = dns_writer_error(buf, sizeof(buf), &q, dns_parse_rcode(r), 0);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->flags == (DNS_F_QR | 4 << 11 | DNS_R_NOTIMP));
	CHECK(t->qd == 1 && t->qtype == DNS_T_SOA);

	/* BADVERS: rcode 16 is 0 in the header and 1 in the OPT. */
	b_edns_v1(&p);
	r = dns_query_parse(p.b, p.n, &q, err, sizeof(err));
	CHECK(r == DNS_PARSE_BADVERS);
	n = dns_writer_error(buf, sizeof(buf), &q, dns_parse_rcode(r), 0);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK((t->flags & 0xf) == 0);
	CHECK(t->ar == 1 && t->rr[0].type == DNS_T_OPT);
	CHECK(t->rr[0].ttl == 0x01000000);	/* ext rcode 1, version 0 */
	CHECK(t->rr[0].cls == DNS_EDNS_SIZE);

	/* REFUSED and SERVFAIL to a good query. */
	b_plain(&p);
	parse_query(&p, &q);
	n = dns_writer_error(buf, sizeof(buf), &q, DNS_R_REFUSED, 0);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->flags == (DNS_F_QR | DNS_F_RD | DNS_R_REFUSED));
	n = dns_writer_error(buf, sizeof(buf), &q, DNS_R_SERVFAIL, 0);
	CHECK(tr_msg(buf, n, t) == 0 && (t->flags & 0xf) == DNS_R_SERVFAIL);

	/* Too small for the question: the header alone; under 12: none. */
	n = dns_writer_error(buf, 20, &q, DNS_R_SERVFAIL, 0);
	CHECK(n == 12 && buf[5] == 0);
	CHECK(dns_writer_error(buf, 11, &q, DNS_R_SERVFAIL, 0) == 0);
	CHECK(dns_writer_error(buf, 12, NULL, DNS_R_SERVFAIL, 0) == 12);
	free(t);
}

/* The OPT record echoed: our size, DO copied, client subnet scope 0. */
static void
test_write_edns(void)
{
	unsigned char buf[512];
	struct pk p;
	struct dns_query q;
	struct dns_writer w;
	struct tr_msg *t = calloc(1, sizeof(*t));
	size_t n;
	struct tr_rr *r;

	b_edns(&p);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0, 0) == 0);
	CHECK(dns_writer_a(&w, DNS_SEC_ADDITIONAL, "x.consul.", 0,
	    (const unsigned char *)"\001\002\003\004") == 0);
	n = dns_writer_finish(&w);
	CHECK(tr_msg(buf, n, t) == 0);
	CHECK(t->ar == 2);
	r = &t->rr[1];
	CHECK(r->type == DNS_T_OPT && r->cls == 4096);
	CHECK(r->ttl == DNS_EDNS_DO && r->rdlen == 0);
	CHECK_STR(r->name, ".");
	reparse(buf, n, &q);

	b_ecs(&p);
	parse_query(&p, &q);
	CHECK(dns_writer_begin(&w, buf, sizeof(buf), 512, &q, 0, 0) == 0);
	w.edns_size = 1232;
	w.ecs_scope = 24;
	n = dns_writer_finish(&w);
	CHECK(tr_msg(buf, n, t) == 0);
	r = &t->rr[0];
	CHECK(t->ar == 1 && r->type == DNS_T_OPT && r->cls == 1232);
	CHECK(r->ttl == 0);
	CHECK(r->rdlen == 4 + 4 + 3);
	CHECK(memcmp(buf + r->rdata, "\000\010\000\007\000\001\030\030"
	    "\012\001\002", 11) == 0);
	free(t);
}

int
main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_details);
	RUN(test_parse_mutated);
	RUN(test_parse_bad);
	RUN(test_parse_long_names);
	RUN(test_parse_hops);
	RUN(test_name_wire);
	RUN(test_name_all_bytes);
	RUN(test_name_labels);
	RUN(test_cursor);
	RUN(test_write_exact);
	RUN(test_write_srv);
	RUN(test_write_types);
	RUN(test_write_bad_args);
	RUN(test_write_limits);
	RUN(test_write_far);
	RUN(test_write_error);
	RUN(test_write_edns);
	return TEST_DONE();
}
