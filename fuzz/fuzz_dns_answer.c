/*
 * fuzz_dns_answer - parse a query, then build an answer to it from a
 * program of random records, and read the answer back with the module's
 * cursor. Every record the writer accepted must come back with its owner,
 * type, class, TTL and rdata (names equal up to case, since compression
 * may point at a name written in another case; SRV targets byte for byte,
 * since they are never compressed); every refused record must have left
 * the message as it was; the message must stay under its limit.
 *
 * Input: byte 0 picks the limit, bytes 1-2 the query's length, then the
 * query, then the program. A query that does not parse is replaced by a
 * fixed one so that the program still runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dnsd/dns_packet.h"

#define MUST(c) do { if (!(c)) abort(); } while (0)
#define MAXREC	1024

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What one accepted record should read back as. */
struct rec {
	int		 sec;
	uint16_t	 type, rclass;
	uint32_t	 ttl;
	unsigned char	 owner[DNS_NAME_MAX];
	size_t		 owner_len;
	unsigned char	 fixed[20];	/* rdata before the names */
	size_t		 nfixed;
	unsigned char	 t1[DNS_NAME_MAX], t2[DNS_NAME_MAX];
	size_t		 t1_len, t2_len;	/* 0: no such name */
	unsigned char	 tail[1100];	/* rdata after the names */
	size_t		 ntail;
	int		 srv;
};

static struct rec recs[MAXREC];

/* The program's input. */
struct prog {
	const uint8_t	*p;
	size_t		 n, pos;
};

/* next - the next program byte, 0 past the end */
static unsigned
next(struct prog *g)
{
	return g->pos < g->n ? g->p[g->pos++] : 0;
}

/* next16 - two program bytes, big-endian */
static unsigned
next16(struct prog *g)
{
	unsigned hi = next(g);

	return hi << 8 | next(g);
}

static const char *const pool[] = {
	"web.service.consul.", "n1.node.dc1.consul.", "consul.", ".",
	"WEB.Service.CONSUL.", "a\\.b.consul.", "\\000\\255.x.",
	"ns.consul.",
};

/* pick_name - a name from the pool, the query, or the input */
static void
pick_name(struct prog *g, const struct dns_query *q, char *out,
    size_t outlen)
{
	unsigned char w[DNS_NAME_MAX];
	unsigned sel = next(g), k, len, i, n = 0;

	switch (sel % 4) {
	case 0:
		snprintf(out, outlen, "%s", pool[(sel >> 2) % 8]);
		break;
	case 1:
		snprintf(out, outlen, "%s", q->has_question ? (sel & 4 ?
		    q->qname : q->qname_orig) : "q.consul.");
		break;
	case 2:
		/* A wire name from the input, printed: escapes get used. */
		k = (sel >> 2) % 5;
		for (i = 0; i < k; i++) {
			len = next(g) % 64;
			if (len == 0 || n + len + 2 > DNS_NAME_MAX)
				break;
			w[n++] = (unsigned char)len;
			while (len-- > 0)
				w[n++] = (unsigned char)next(g);
		}
		w[n++] = 0;
		if (dns_name_text(w, n, out, outlen, sel & 0x80) == -1)
			abort();
		/* A suffix shared with earlier names, sometimes. */
		if ((sel & 0x40) && strcmp(out, ".") != 0 &&
		    strlen(out) + 8 < outlen)
			strcat(out, "consul.");
		break;
	default:
		/* Raw text: often not a name at all. */
		len = next(g) % 80;
		for (i = 0; i < len && i + 1 < outlen; i++)
			out[i] = (char)(next(g) | 1);
		out[i] = '\0';
		break;
	}
}

/* same_name - wire names equal up to ASCII case */
static int
same_name(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	size_t i;

	if (alen != blen)
		return 0;
	for (i = 0; i < alen; i++) {
		unsigned char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 32;
		if (y >= 'A' && y <= 'Z')
			y += 32;
		if (x != y)
			return 0;
	}
	return 1;
}

/* add_one - run one instruction; returns the writer's result */
static int
add_one(struct prog *g, struct dns_writer *w, const struct dns_query *q,
    int sec, struct rec *r)
{
	char name[DNS_NAMEBUF], t1[DNS_NAMEBUF], t2[DNS_NAMEBUF];
	char strs[4][257];
	const char *sp[4];
	unsigned char addr[16], raw[300];
	unsigned op = next(g), i, k;
	uint32_t ttl;
	struct dns_soa soa;
	uint16_t prio, weight, port;

	pick_name(g, q, name, sizeof(name));
	ttl = (uint32_t)next16(g) << 16 | next16(g);
	memset(r, 0, sizeof(*r));
	r->sec = sec;
	r->ttl = ttl;
	r->rclass = DNS_C_IN;
	if (dns_name_wire(name, r->owner, &r->owner_len) == -1)
		r->owner_len = 0;
	switch (op % 10) {
	case 0:
	case 1:
		k = op % 2 ? 16 : 4;
		for (i = 0; i < k; i++)
			addr[i] = (unsigned char)next(g);
		r->type = k == 4 ? DNS_T_A : DNS_T_AAAA;
		memcpy(r->tail, addr, k);
		r->ntail = k;
		return k == 4 ? dns_writer_a(w, sec, name, ttl, addr) :
		    dns_writer_aaaa(w, sec, name, ttl, addr);
	case 2:
	case 3:
	case 4:
		pick_name(g, q, t1, sizeof(t1));
		if (dns_name_wire(t1, r->t1, &r->t1_len) == -1)
			r->t1_len = 0;
		r->type = op % 10 == 2 ? DNS_T_CNAME : op % 10 == 3 ?
		    DNS_T_PTR : DNS_T_NS;
		return r->type == DNS_T_CNAME ?
		    dns_writer_cname(w, sec, name, ttl, t1) :
		    r->type == DNS_T_PTR ?
		    dns_writer_ptr(w, sec, name, ttl, t1) :
		    dns_writer_ns(w, sec, name, ttl, t1);
	case 5:
		pick_name(g, q, t1, sizeof(t1));
		if (dns_name_wire(t1, r->t1, &r->t1_len) == -1)
			r->t1_len = 0;
		prio = (uint16_t)next(g);
		weight = (uint16_t)next(g);
		port = (uint16_t)next16(g);
		r->type = DNS_T_SRV;
		r->srv = 1;
		r->fixed[0] = prio >> 8; r->fixed[1] = prio & 0xff;
		r->fixed[2] = weight >> 8; r->fixed[3] = weight & 0xff;
		r->fixed[4] = port >> 8; r->fixed[5] = port & 0xff;
		r->nfixed = 6;
		return dns_writer_srv(w, sec, name, ttl, prio, weight, port,
		    t1);
	case 6:
		k = 1 + (op >> 4) % 4;
		for (i = 0; i < k; i++) {
			unsigned len = next(g), j;

			/* Now and then one byte too many, to be refused. */
			if (len == 255 && (op & 0x80))
				len = 256;
			for (j = 0; j < len; j++)
				strs[i][j] = (char)(next(g) | 1);
			strs[i][len] = '\0';
			sp[i] = strs[i];
			if (len > 255)
				continue;
			r->tail[r->ntail++] = (unsigned char)len;
			memcpy(r->tail + r->ntail, strs[i], len);
			r->ntail += len;
		}
		r->type = DNS_T_TXT;
		return dns_writer_txt(w, sec, name, ttl, sp, k);
	case 7:
		pick_name(g, q, t1, sizeof(t1));
		pick_name(g, q, t2, sizeof(t2));
		if (dns_name_wire(t1, r->t1, &r->t1_len) == -1)
			r->t1_len = 0;
		if (dns_name_wire(t2, r->t2, &r->t2_len) == -1)
			r->t2_len = 0;
		soa.mname = t1;
		soa.rname = t2;
		soa.serial = ttl ^ 0x55555555;
		soa.refresh = 3600;
		soa.retry = 600;
		soa.expire = 86400;
		soa.minimum = ttl;
		r->type = DNS_T_SOA;
		for (i = 0; i < 5; i++) {
			uint32_t v = i == 0 ? soa.serial : i == 1 ? 3600 :
			    i == 2 ? 600 : i == 3 ? 86400 : ttl;

			r->tail[4 * i] = v >> 24;
			r->tail[4 * i + 1] = (v >> 16) & 0xff;
			r->tail[4 * i + 2] = (v >> 8) & 0xff;
			r->tail[4 * i + 3] = v & 0xff;
		}
		r->ntail = 20;
		return dns_writer_soa(w, sec, name, ttl, &soa);
	default:
		k = next16(g) % sizeof(raw);
		for (i = 0; i < k; i++)
			raw[i] = (unsigned char)next(g);
		r->type = (uint16_t)next16(g);
		r->rclass = (uint16_t)next16(g);
		memcpy(r->tail, raw, k);
		r->ntail = k;
		return dns_writer_rr(w, sec, name, r->type, r->rclass, ttl,
		    raw, k);
	}
}

/* check_rdata - the rdata at rr reads back as r says */
static void
check_rdata(const unsigned char *m, size_t n, const struct dns_rr *rr,
    const struct rec *r)
{
	struct dns_cursor c;
	unsigned char w[DNS_NAME_MAX];
	size_t wl;

	MUST(rr->rdlen >= r->nfixed);
	MUST(memcmp(m + rr->rdata, r->fixed, r->nfixed) == 0);
	dns_cursor_init(&c, m, rr->rdata + rr->rdlen);
	c.pos = rr->rdata + r->nfixed;
	if (r->t1_len) {
		if (r->srv) {
			/* RFC 2782: never compressed, so exact. */
			MUST(rr->rdlen == r->nfixed + r->t1_len);
			MUST(memcmp(m + c.pos, r->t1, r->t1_len) == 0);
		}
		MUST(dns_cursor_name(&c, w, &wl) == 0);
		MUST(same_name(w, wl, r->t1, r->t1_len));
	}
	if (r->t2_len) {
		MUST(dns_cursor_name(&c, w, &wl) == 0);
		MUST(same_name(w, wl, r->t2, r->t2_len));
	}
	MUST(c.len - c.pos == r->ntail);
	MUST(memcmp(m + c.pos, r->tail, r->ntail) == 0);
	(void)n;
}

/* LLVMFuzzerTestOneInput - build an answer from a program, read it back */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[DNS_TCP_MAX];
	static const unsigned char fallback[] =
	    "\000\001\001\000\000\001\000\000\000\000\000\000"
	    "\003web\007service\006consul\000\000\041\000\001";
	struct dns_query q;
	struct dns_writer w;
	struct dns_cursor c;
	struct dns_rr rr;
	struct prog g;
	char err[128];
	size_t qlen, limit, nrec = 0, i, n, before, ncomp;
	uint16_t cnt[3] = { 0, 0, 0 };
	unsigned mode, sec = 0, op;
	int r, full = 0;

	if (size < 3)
		return 0;
	mode = data[0];
	qlen = (size_t)(data[1] << 8 | data[2]) % (size - 2);
	r = dns_query_parse(data + 3, qlen, &q, err, sizeof(err));
	if (r != DNS_PARSE_OK && r != DNS_PARSE_BADVERS)
		MUST(dns_query_parse(fallback, sizeof(fallback) - 1, &q, err,
		    sizeof(err)) == DNS_PARSE_OK);
	g.p = data + 3 + qlen;
	g.n = size - 3 - qlen;
	g.pos = 0;

	switch (mode % 4) {
	case 0:
		limit = DNS_UDP_MIN;
		break;
	case 1:
		limit = dns_udp_limit(&q, DNS_EDNS_SIZE);
		break;
	case 2:
		limit = DNS_TCP_MAX;
		break;
	default:
		limit = (mode >> 2) * 16;
		break;
	}
	if (dns_writer_begin(&w, buf, sizeof(buf), limit, &q, 0,
	    DNS_F_AA) == -1) {
		MUST(limit < DNS_HDR_LEN + q.qname_wire_len + 4 + w.reserve);
		return 0;
	}
	while (g.pos < g.n && nrec < MAXREC) {
		op = next(&g);
		if (op >= 0xf0) {
			/* Header changes rather than a record. */
			dns_writer_set_rcode(&w, (int)next(&g) % 24);
			dns_writer_set_flags(&w, DNS_F_TC);
			w.ecs_scope = (uint8_t)next(&g);
			continue;
		}
		if (op % 3 > sec)
			sec = op % 3;
		before = w.len;
		ncomp = w.ncomp;
		r = add_one(&g, &w, &q, (int)sec, &recs[nrec]);
		if (r == DNS_W_OK) {
			MUST(w.len > before && w.len + w.reserve <= w.limit);
			MUST(recs[nrec].owner_len > 0);
			cnt[sec]++;
			nrec++;
			continue;
		}
		MUST(w.len == before && w.ncomp == ncomp);
		if (r == DNS_W_FULL)
			full = 1;
		else
			MUST(r == DNS_W_ERR && w.err[0] != '\0');
	}
	MUST(w.truncated == full);
	n = dns_writer_finish(&w);
	MUST(n <= limit && n == w.len);

	/* Read it all back. */
	dns_cursor_init(&c, buf, n);
	MUST(dns_cursor_skip(&c, DNS_HDR_LEN) == 0);
	MUST(buf[4] == 0 && buf[5] == 1);
	MUST((buf[6] << 8 | buf[7]) == cnt[0]);
	MUST((buf[8] << 8 | buf[9]) == cnt[1]);
	MUST((buf[10] << 8 | buf[11]) == cnt[2] + q.edns);
	{
		unsigned char qw[DNS_NAME_MAX];
		size_t ql;
		uint16_t t, k;

		MUST(dns_cursor_name(&c, qw, &ql) == 0);
		MUST(ql == q.qname_wire_len &&
		    memcmp(qw, q.qname_wire, ql) == 0);
		MUST(dns_cursor_u16(&c, &t) == 0 && t == q.qtype);
		MUST(dns_cursor_u16(&c, &k) == 0 && k == q.qclass);
	}
	for (i = 0; i < nrec; i++) {
		MUST(dns_cursor_rr(&c, &rr) == 0);
		MUST(same_name(rr.name, rr.name_len, recs[i].owner,
		    recs[i].owner_len));
		MUST(rr.type == recs[i].type && rr.rclass == recs[i].rclass);
		MUST(rr.ttl == recs[i].ttl);
		check_rdata(buf, n, &rr, &recs[i]);
	}
	if (q.edns) {
		MUST(dns_cursor_rr(&c, &rr) == 0);
		MUST(rr.type == DNS_T_OPT && rr.name_len == 1);
		MUST(rr.rclass == DNS_EDNS_SIZE);
		MUST((rr.ttl >> 24) == (uint32_t)((w.rcode >> 4) & 0xff));
	}
	MUST(c.pos == n);
	MUST((buf[3] & 0xf) == (w.rcode & 0xf));
	return 0;
}
