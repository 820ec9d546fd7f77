/*
 * test_dns_answer - name classification (node, service, tag, RFC 2782,
 * datacenter, case, other domains) and answers built from hand-made kvd
 * replies: critical instances left out, service address before node
 * address, UDP answer limit and size trimming, SRV with glue, NXDOMAIN
 * against NOERROR-empty, the SOA, EDNS echo. Answers are read back with
 * dns_packet's cursor and printed as "section type owner rdata" lines so
 * that expectations read like dig's output. Mutated kvd replies (cut at
 * every byte, a length broken) must still give a well-formed answer.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "../../common/buf.h"
#include "../../common/frame.h"
#include "../../common/msg.h"
#include "../../dnsd/dns_answer.h"

#define NOW	1700000000u

/* mkq - parse a query for name/qtype; edns: the OPT's size, 0 for none */
static struct dns_query
mkq(const char *name, uint16_t qtype, unsigned edns)
{
	unsigned char p[600], w[DNS_NAME_MAX];
	struct dns_query q;
	char err[128];
	size_t n = 0, wl;

	memset(p, 0, 12);
	p[0] = 0x12;
	p[1] = 0x34;
	p[2] = 0x01;		/* RD */
	p[5] = 1;
	p[11] = edns ? 1 : 0;
	n = 12;
	if (dns_name_wire(name, w, &wl) == -1)
		abort();
	memcpy(p + n, w, wl);
	n += wl;
	p[n++] = qtype >> 8;
	p[n++] = qtype & 0xff;
	p[n++] = 0;
	p[n++] = 1;
	if (edns) {
		p[n++] = 0;
		p[n++] = 0;
		p[n++] = DNS_T_OPT;
		p[n++] = edns >> 8;
		p[n++] = edns & 0xff;
		memset(p + n, 0, 6);
		n += 6;
	}
	if (dns_query_parse(p, n, &q, err, sizeof(err)) != DNS_PARSE_OK) {
		fprintf(stderr, "mkq %s: %s\n", name, err);
		abort();
	}
	return q;
}

/* cfg_for - settings for domain and dc; aborts on a bad domain */
static struct dns_answer_cfg
cfg_for(const char *domain, const char *dc)
{
	struct dns_answer_cfg c;
	char err[128];

	if (dns_answer_init(&c, domain, dc, err, sizeof(err)) == -1)
		abort();
	return c;
}

/* ---- classification ---- */

struct class_case {
	const char	*domain;
	const char	*name;
	uint16_t	 qtype;
	enum dns_kind	 kind;
	const char	*node;		/* NODE */
	const char	*service;	/* SERVICE */
	const char	*tag;
	int		 rfc2782;
};

#define N(d, n, t, node)	{ d, n, t, DNS_K_NODE, node, NULL, NULL, 0 }
#define S(d, n, t, s, tag, r)	{ d, n, t, DNS_K_SERVICE, NULL, s, tag, r }
#define K(d, n, t, k)		{ d, n, t, k, NULL, NULL, NULL, 0 }

static const struct class_case class_cases[] = {
	N("consul.", "n1.node.consul.", DNS_T_A, "n1"),
	N("consul.", "n1.node.dc1.consul.", DNS_T_A, "n1"),
	N("consul.", "N1.Node.DC1.CONSUL.", DNS_T_A, "N1"),
	N("consul.", "a.b.node.consul.", DNS_T_A, "a.b"),
	K("consul.", "n1.node.dc2.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "n1.node.x.dc1.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "node.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "node.dc1.consul.", DNS_T_A, DNS_K_INVALID),
	S("consul.", "web.service.consul.", DNS_T_A, "web", "", 0),
	S("consul.", "WEB.SERVICE.consul.", DNS_T_AAAA, "web", "", 0),
	S("consul.", "v1.web.service.dc1.consul.", DNS_T_A, "web", "v1", 0),
	S("consul.", "a.b.web.service.consul.", DNS_T_A, "web", "a.b", 0),
	K("consul.", "web.service.dc2.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "service.consul.", DNS_T_A, DNS_K_INVALID),
	S("consul.", "_web._tcp.service.consul.", DNS_T_SRV, "web", "", 1),
	S("consul.", "_web._v2.service.dc1.consul.", DNS_T_SRV, "web", "v2",
	    1),
	/* SRV questions may leave "service" out. */
	S("consul.", "_web._tcp.consul.", DNS_T_SRV, "web", "", 1),
	S("consul.", "_web._tcp.dc1.consul.", DNS_T_SRV, "web", "", 1),
	K("consul.", "_web._tcp.consul.", DNS_T_A, DNS_K_INVALID),
	S("consul.", "_web._tcp.service.consul.", DNS_T_A, "web", "", 1),
	S("consul.", "web.service.consul.", DNS_T_SRV, "web", "", 0),
	S("consul.", "_.service.consul.", DNS_T_A, "_", "", 0),
	K("consul.", "0a000001.addr.consul.", DNS_T_A, DNS_K_ADDR),
	K("consul.", "0a000001.addr.dc1.consul.", DNS_T_A, DNS_K_ADDR),
	K("consul.", "0a00001.addr.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "0a0000zz.addr.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "x.query.consul.", DNS_T_A, DNS_K_QUERY),
	K("consul.", "x.query.dc1.consul.", DNS_T_SRV, DNS_K_QUERY),
	K("consul.", "query.consul.", DNS_T_A, DNS_K_INVALID),
	/* Reverse names: PTR and ANY only, else outside (recursed). */
	K("consul.", "1.0.0.10.in-addr.arpa.", DNS_T_PTR, DNS_K_PTR),
	K("consul.", "1.0.0.10.in-addr.arpa.", DNS_T_ANY, DNS_K_PTR),
	K("consul.", "1.0.0.10.in-addr.arpa.", DNS_T_A, DNS_K_OUTSIDE),
	K("consul.", "1.0.10.in-addr.arpa.", DNS_T_PTR, DNS_K_OUTSIDE),
	K("consul.", "256.0.0.10.in-addr.arpa.", DNS_T_PTR, DNS_K_OUTSIDE),
	K("consul.", "01.0.0.10.in-addr.arpa.", DNS_T_PTR, DNS_K_OUTSIDE),
	K("consul.", "x.0.0.10.in-addr.arpa.", DNS_T_PTR, DNS_K_OUTSIDE),
	K("consul.", "foo.consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "consul.", DNS_T_A, DNS_K_INVALID),
	K("consul.", "consul.", DNS_T_SOA, DNS_K_SOA),
	K("consul.", "CONSUL.", DNS_T_NS, DNS_K_NS),
	K("consul.", "web.service.consul.", DNS_T_SOA, DNS_K_SOA),
	K("consul.", "consul.", DNS_T_AXFR, DNS_K_NOTIMP),
	K("consul.", "example.com.", DNS_T_A, DNS_K_OUTSIDE),
	K("consul.", ".", DNS_T_NS, DNS_K_OUTSIDE),
	K("consul.", "web.service.consul.example.", DNS_T_A, DNS_K_OUTSIDE),
	K("consul.", "notconsul.", DNS_T_A, DNS_K_OUTSIDE),
	K("consul.", "web.service.xconsul.", DNS_T_A, DNS_K_OUTSIDE),
	/* An escaped dot is not a label boundary. */
	K("consul.", "a\\.consul.", DNS_T_A, DNS_K_OUTSIDE),
	N("consul.", "a\\.b.node.consul.", DNS_T_A, "a.b"),
	K("consul.", "a\\000b.node.consul.", DNS_T_A, DNS_K_INVALID),
	/* Another domain, of two labels, given without the dot. */
	N("Cairn.Test", "n1.node.cairn.test.", DNS_T_A, "n1"),
	S("cairn.test.", "v1.db.service.dc1.CAIRN.test.", DNS_T_A, "db", "v1",
	    0),
	K("cairn.test.", "n1.node.consul.", DNS_T_A, DNS_K_OUTSIDE),
	K("cairn.test.", "test.", DNS_T_A, DNS_K_OUTSIDE),
	K("cairn.test.", "cairn.test.", DNS_T_SOA, DNS_K_SOA),
	K("cairn.test.", "node.test.", DNS_T_A, DNS_K_OUTSIDE),
	N("cairn.test.", "n1.node.dc1.cairn.test.", DNS_T_A, "n1"),
};

static void
test_classify(void)
{
	struct dns_answer_cfg c;
	struct dns_query q;
	struct dns_lookup l;
	size_t i;

	for (i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++) {
		const struct class_case *t = &class_cases[i];

		c = cfg_for(t->domain, "dc1");
		q = mkq(t->name, t->qtype, 0);
		dns_answer_classify(&c, &q, &l);
		if (l.kind != t->kind) {
			fprintf(stderr, "case %zu %s: kind %d, want %d (%s)\n",
			    i, t->name, l.kind, t->kind, l.why);
			CHECK(l.kind == t->kind);
			continue;
		}
		if (t->node != NULL)
			CHECK_STR(l.node, t->node);
		if (t->service != NULL) {
			CHECK_STR(l.service, t->service);
			CHECK_STR(l.tag, t->tag);
			CHECK(l.rfc2782 == t->rfc2782);
		}
	}
}

static void
test_classify_addr(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct dns_query q;
	struct dns_lookup l;
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

	q = mkq("0A000001.addr.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_ADDR && l.family == 4);
	CHECK(memcmp(l.addr, "\x0a\x00\x00\x01", 4) == 0);
	q = mkq("20010db8000000000000000000000001.addr.dc1.consul.",
	    DNS_T_AAAA, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_ADDR && l.family == 6);
	CHECK(memcmp(l.addr, v6, 16) == 0);
	/* The datacenter in the name is compared without case. */
	c = cfg_for("consul.", "DC-East");
	q = mkq("n1.node.dc-east.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_NODE);
	q = mkq("n1.node.dc1.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_INVALID);
}

static void
test_init(void)
{
	struct dns_answer_cfg c;
	char err[128], big[300];

	CHECK(dns_answer_init(&c, "Cairn.TEST", "DC1", err, sizeof(err)) ==
	    0);
	CHECK_STR(c.domain, "cairn.test.");
	CHECK_STR(c.dc, "dc1");
	CHECK(c.domain_labels == 2);
	CHECK(c.udp_answer_limit == 3 && c.a_record_limit == 0);
	CHECK(c.enable_truncate == 0 && c.node_ttl == 0);
	CHECK(dns_answer_init(&c, "a..b", "dc1", err, sizeof(err)) == -1);
	CHECK(strstr(err, "a..b") != NULL);
	CHECK(dns_answer_init(&c, ".", "dc1", err, sizeof(err)) == -1);
	CHECK(dns_answer_init(&c, "", "dc1", err, sizeof(err)) == -1);
	/* So long that hostmaster.<domain> would not be a name. */
	memset(big, 'a', 60);
	big[60] = '.';
	memcpy(big + 61, big, 61);
	memcpy(big + 122, big, 61);
	memcpy(big + 183, big, 61);
	big[244] = '\0';
	CHECK(dns_answer_init(&c, big, "dc1", err, sizeof(err)) == -1);
}

/* ---- hand-built kvd replies ---- */

/* One instance in a health reply. */
struct ent {
	const char	*node, *node_addr, *svc_addr;
	unsigned	 port;
	const char	*node_check, *svc_check;	/* status or NULL */
};

/*
 * health_reply_w - MSG_HEALTH_SERVICE's reply body for web; w[i] the
 * i-th record's Weights (Passing, Warning), none when w or w[i][0] is 0
 */
static void
health_reply_w(struct buf *b, const struct ent *e, size_t n,
    const unsigned (*w)[2])
{
	size_t i, ent, rec;

	buf_init(b);
	attr_put_u64(b, A_INDEX, 7);
	for (i = 0; i < n; i++) {
		ent = attr_nest_begin(b, A_ENTRY);
		rec = attr_nest_begin(b, A_NODE_REC);
		attr_put_str(b, A_NODE, e[i].node);
		attr_put_str(b, A_ADDRESS, e[i].node_addr);
		attr_put_str(b, A_DC, "dc1");
		attr_nest_end(b, rec);
		rec = attr_nest_begin(b, A_SERVICE_REC);
		attr_put_str(b, A_NODE, e[i].node);
		attr_put_str(b, A_SERVICE_ID, "web");
		attr_put_str(b, A_SERVICE_NAME, "web");
		attr_put_str(b, A_TAG, "v1");
		if (e[i].svc_addr != NULL)
			attr_put_str(b, A_ADDRESS, e[i].svc_addr);
		attr_put_u32(b, A_PORT, e[i].port);
		if (w != NULL && w[i][0] > 0) {
			attr_put_u32(b, A_WEIGHT_PASSING, w[i][0]);
			attr_put_u32(b, A_WEIGHT_WARNING, w[i][1]);
		}
		attr_nest_end(b, rec);
		if (e[i].node_check != NULL) {
			rec = attr_nest_begin(b, A_CHECK_REC);
			attr_put_str(b, A_NODE, e[i].node);
			attr_put_str(b, A_CHECK_ID, "serfHealth");
			attr_put_str(b, A_STATUS, e[i].node_check);
			attr_nest_end(b, rec);
		}
		if (e[i].svc_check != NULL) {
			rec = attr_nest_begin(b, A_CHECK_REC);
			attr_put_str(b, A_NODE, e[i].node);
			attr_put_str(b, A_CHECK_ID, "service:web");
			attr_put_str(b, A_STATUS, e[i].svc_check);
			attr_put_str(b, A_SERVICE_ID, "web");
			attr_nest_end(b, rec);
		}
		attr_nest_end(b, ent);
	}
}

static void
health_reply(struct buf *b, const struct ent *e, size_t n)
{
	health_reply_w(b, e, n, NULL);
}

/* node_rec - a node record: name, address, meta pairs */
static void
node_rec(struct buf *b, const char *node, const char *addr,
    const char *const *meta)
{
	size_t m;

	buf_init(b);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_ADDRESS, addr);
	for (; meta != NULL && meta[0] != NULL; meta += 2) {
		m = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, meta[0]);
		attr_put_str(b, A_META_VALUE, meta[1]);
		attr_nest_end(b, m);
	}
	attr_put_u64(b, A_CREATE_INDEX, 3);
}

/* ---- reading answers back ---- */

#define MAXRR	2100

struct ans {
	size_t		 len;
	uint16_t	 id, flags;
	int		 rcode;		/* with the OPT's upper bits */
	unsigned	 count[3];
	int		 edns;
	uint16_t	 edns_size;
	size_t		 nrr;
	uint32_t	 ttl[MAXRR];
	char		 rr[MAXRR][256];	/* "an A owner rdata" */
};

static const char *const secname[] = { "an", "ns", "ar" };

/* rd_name - a name inside rdata as text */
static int
rd_name(struct dns_cursor *c, char *out, size_t n)
{
	unsigned char w[DNS_NAME_MAX];
	size_t wl;

	if (dns_cursor_name(c, w, &wl) == -1)
		return -1;
	return dns_name_text(w, wl, out, n, 0);
}

/* rdata_text - an RR's rdata as dig prints it, for the types we write */
static int
rdata_text(const unsigned char *m, size_t len, const struct dns_rr *rr,
    char *out, size_t n)
{
	struct dns_cursor c;
	char a[DNS_NAMEBUF], b[DNS_NAMEBUF];
	uint16_t p, w, port;
	uint32_t v[5];
	size_t i;

	dns_cursor_init(&c, m, rr->rdata + rr->rdlen);
	c.pos = rr->rdata;
	switch (rr->type) {
	case DNS_T_A:
		if (rr->rdlen != 4 ||
		    inet_ntop(AF_INET, m + rr->rdata, out, n) == NULL)
			return -1;
		return 0;
	case DNS_T_AAAA:
		if (rr->rdlen != 16 ||
		    inet_ntop(AF_INET6, m + rr->rdata, out, n) == NULL)
			return -1;
		return 0;
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		if (rd_name(&c, a, sizeof(a)) == -1 || c.pos != c.len)
			return -1;
		snprintf(out, n, "%s", a);
		return 0;
	case DNS_T_SRV:
		if (dns_cursor_u16(&c, &p) == -1 ||
		    dns_cursor_u16(&c, &w) == -1 ||
		    dns_cursor_u16(&c, &port) == -1 ||
		    rd_name(&c, a, sizeof(a)) == -1 || c.pos != c.len)
			return -1;
		snprintf(out, n, "%u %u %u %.300s", p, w, port, a);
		return 0;
	case DNS_T_SOA:
		if (rd_name(&c, a, sizeof(a)) == -1 ||
		    rd_name(&c, b, sizeof(b)) == -1)
			return -1;
		for (i = 0; i < 5; i++)
			if (dns_cursor_u32(&c, &v[i]) == -1)
				return -1;
		if (c.pos != c.len)
			return -1;
		snprintf(out, n, "%.300s %.300s %u %u %u %u %u", a, b, v[0], v[1],
		    v[2], v[3], v[4]);
		return 0;
	case DNS_T_TXT:
		if (rr->rdlen < 1 || m[rr->rdata] != rr->rdlen - 1)
			return -1;
		snprintf(out, n, "\"%.*s\"", (int)rr->rdlen - 1,
		    (const char *)m + rr->rdata + 1);
		return 0;
	}
	return -1;
}

/* readback - parse a whole answer; -1 if it is not well formed */
static int
readback(const unsigned char *m, size_t len, struct ans *a)
{
	struct dns_cursor c;
	struct dns_rr rr;
	unsigned char w[DNS_NAME_MAX];
	char owner[DNS_NAMEBUF], rd[DNS_NAMEBUF];
	uint16_t cnt[4], t, k;
	size_t i, sec;

	memset(a, 0, sizeof(*a));
	a->len = len;
	dns_cursor_init(&c, m, len);
	if (dns_cursor_u16(&c, &a->id) == -1 ||
	    dns_cursor_u16(&c, &a->flags) == -1)
		return -1;
	for (i = 0; i < 4; i++)
		if (dns_cursor_u16(&c, &cnt[i]) == -1)
			return -1;
	a->rcode = a->flags & 0xf;
	if (cnt[0] > 1 || (cnt[0] == 1 && (dns_cursor_name(&c, w,
	    &i) == -1 || dns_cursor_u16(&c, &t) == -1 ||
	    dns_cursor_u16(&c, &k) == -1)))
		return -1;
	for (sec = 0; sec < 3; sec++) {
		for (i = 0; i < cnt[sec + 1]; i++) {
			if (dns_cursor_rr(&c, &rr) == -1 ||
			    dns_name_text(rr.name, rr.name_len, owner,
			    sizeof(owner), 0) == -1)
				return -1;
			if (rr.type == DNS_T_OPT) {
				if (sec != 2 || a->edns)
					return -1;
				a->edns = 1;
				a->edns_size = rr.rclass;
				a->rcode |= (int)(rr.ttl >> 24) << 4;
				continue;
			}
			a->count[sec]++;
			if (a->nrr < MAXRR)
				a->ttl[a->nrr] = rr.ttl;
			if (rr.rclass != DNS_C_IN ||
			    rdata_text(m, len, &rr, rd, sizeof(rd)) == -1 ||
			    a->nrr == MAXRR)
				return -1;
			snprintf(a->rr[a->nrr++], sizeof(a->rr[0]),
			    "%s %s %.100s %.120s", secname[sec],
			    rr.type == DNS_T_A ? "A" : rr.type == DNS_T_AAAA ?
			    "AAAA" : rr.type == DNS_T_SRV ? "SRV" :
			    rr.type == DNS_T_SOA ? "SOA" : rr.type == DNS_T_NS ?
			    "NS" : rr.type == DNS_T_TXT ? "TXT" :
			    rr.type == DNS_T_PTR ? "PTR" : "CNAME",
			    owner, rd);
		}
	}
	return c.pos == len ? 0 : -1;
}

/* has - the answer holds this record line */
static int
has(const struct ans *a, const char *line)
{
	size_t i;

	for (i = 0; i < a->nrr; i++)
		if (strcmp(a->rr[i], line) == 0)
			return 1;
	return 0;
}

/* dump - print an answer's records when a test fails */
static void
dump(const struct ans *a)
{
	size_t i;

	fprintf(stderr, "  rcode %d flags %04x len %zu\n", a->rcode, a->flags,
	    a->len);
	for (i = 0; i < a->nrr && i < 20; i++)
		fprintf(stderr, "  %s\n", a->rr[i]);
}

static unsigned char abuf[DNS_TCP_MAX];
static struct ans A;

/* build - answer name/qtype from rec, read it back into A */
static int
build(const struct dns_answer_cfg *c, const char *name, uint16_t qtype,
    unsigned edns, const void *rec, size_t len, int tcp, uint64_t *rng)
{
	struct dns_query q = mkq(name, qtype, edns);
	struct dns_lookup l;
	size_t n;

	dns_answer_classify(c, &q, &l);
	n = dns_answer_build(c, &q, &l, rec, len, tcp, NOW, rng, abuf,
	    sizeof(abuf));
	if (n < DNS_HDR_LEN || readback(abuf, n, &A) == -1) {
		fprintf(stderr, "%s: answer of %zu bytes does not read back\n",
		    name, n);
		return -1;
	}
	if (A.id != 0x1234 || !(A.flags & 0x8000) || !(A.flags & 0x0100))
		return -1;
	return 0;
}

#define SOA_LINE(dom) "ns SOA " dom " ns." dom " hostmaster." dom \
	" 1700000000 3600 600 86400 0"

/* ---- answers ---- */

static void
test_node(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	static const char *const meta[] = { "rack", "r1", "rfc1035-x", "v=1",
	    NULL };
	struct buf rec;

	node_rec(&rec, "n1", "10.0.0.1", meta);
	CHECK(build(&c, "n1.node.consul.", DNS_T_A, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && (A.flags & DNS_F_AA));
	CHECK(A.nrr == 1 && has(&A, "an A n1.node.consul. 10.0.0.1"));
	/* The owner keeps the asker's case (0x20 clients check it). */
	CHECK(build(&c, "N1.node.DC1.consul.", DNS_T_A, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(has(&A, "an A N1.node.DC1.consul. 10.0.0.1"));
	/* A type the node lacks: NOERROR, empty, SOA. */
	CHECK(build(&c, "n1.node.consul.", DNS_T_AAAA, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && (A.flags & DNS_F_AA));
	CHECK(A.count[0] == 0 && A.count[1] == 1);
	CHECK(has(&A, SOA_LINE("consul.")));
	CHECK(build(&c, "n1.node.consul.", DNS_T_MX, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0 &&
	    A.count[1] == 1);
	/* TXT: node meta, k=v or the value alone (RFC 1464). */
	CHECK(build(&c, "n1.node.consul.", DNS_T_TXT, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.nrr == 2 && has(&A, "an TXT n1.node.consul. \"rack=r1\"") &&
	    has(&A, "an TXT n1.node.consul. \"v=1\""));
	CHECK(build(&c, "n1.node.consul.", DNS_T_ANY, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.nrr == 3 && has(&A, "an A n1.node.consul. 10.0.0.1"));
	/* Unknown node: NXDOMAIN with the SOA. */
	CHECK(build(&c, "nope.node.consul.", DNS_T_A, 0, NULL, 0, 0,
	    NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN && (A.flags & DNS_F_AA));
	CHECK(A.count[0] == 0 && A.nrr == 1 && has(&A, SOA_LINE("consul.")));
	buf_free(&rec);

	/* IPv6 and host name addresses. */
	node_rec(&rec, "n6", "2001:db8::1", NULL);
	CHECK(build(&c, "n6.node.consul.", DNS_T_AAAA, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.nrr == 1 && has(&A, "an AAAA n6.node.consul. 2001:db8::1"));
	CHECK(build(&c, "n6.node.consul.", DNS_T_A, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0);
	buf_free(&rec);
	node_rec(&rec, "nh", "db.example.com", NULL);
	CHECK(build(&c, "nh.node.consul.", DNS_T_A, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.nrr == 1 &&
	    has(&A, "an CNAME nh.node.consul. db.example.com."));
	buf_free(&rec);
	/* A record without an address answers nothing, but exists. */
	buf_init(&rec);
	attr_put_str(&rec, A_NODE, "n0");
	CHECK(build(&c, "n0.node.consul.", DNS_T_A, 0, buf_head(&rec),
	    buf_used(&rec), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0 &&
	    A.count[1] == 1);
	buf_free(&rec);
}

static void
test_find_node(void)
{
	struct buf b, r;
	const unsigned char *rec;
	size_t len, m;
	struct attr tab[ATTR_TAB];

	/* MSG_CAT_NODE: A_NODE_REC, then services. */
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, 5);
	node_rec(&r, "Web1", "10.0.0.5", NULL);
	attr_put(&b, A_NODE_REC, buf_head(&r), buf_used(&r));
	m = attr_nest_begin(&b, A_SERVICE_REC);
	attr_put_str(&b, A_NODE, "other");
	attr_nest_end(&b, m);
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "web1", &rec,
	    &len) == 1);
	CHECK(len == buf_used(&r) && memcmp(rec, buf_head(&r), len) == 0);
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "other", &rec,
	    &len) == 0);
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "web", &rec,
	    &len) == 0);
	/* Cut anywhere: found only once the whole record is there. */
	for (m = 0; m < buf_used(&b); m++)
		CHECK(dns_answer_find_node(buf_head(&b), m, "web1", &rec,
		    &len) == (m >= 16 + 8 + buf_used(&r)));
	buf_free(&b);
	/* MSG_CAT_NODES: A_ENTRY per node. */
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, 5);
	attr_put(&b, A_ENTRY, buf_head(&r), buf_used(&r));
	buf_free(&r);
	node_rec(&r, "n2", "10.0.0.6", NULL);
	attr_put(&b, A_ENTRY, buf_head(&r), buf_used(&r));
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "N2", &rec,
	    &len) == 1);
	CHECK(attr_index(rec, len, tab, ATTR_TAB) == 0 &&
	    tab[A_ADDRESS].len == 8 &&
	    memcmp(tab[A_ADDRESS].val, "10.0.0.6", 8) == 0);
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "WEB1", &rec,
	    &len) == 1);
	CHECK(dns_answer_find_node(buf_head(&b), buf_used(&b), "n", &rec,
	    &len) == 0);
	CHECK(dns_answer_find_node(NULL, 0, "n2", &rec, &len) == 0);
	buf_free(&b);
	buf_free(&r);
}

/* Instances for the service tests. */
static const struct ent five[] = {
	{ "n1", "10.0.0.1", NULL, 8080, "passing", "passing" },
	{ "n2", "10.0.0.2", "", 8080, "passing", "critical" },
	{ "n3", "10.0.0.3", NULL, 8080, "critical", NULL },
	{ "n4", "10.0.0.4", "192.168.1.4", 9090, "passing", "warning" },
	{ "n5", "10.0.0.5", NULL, 8081, NULL, NULL },
};

static void
test_service(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct buf b;

	health_reply(&b, five, 5);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && (A.flags & DNS_F_AA));
	/* n2 (service check) and n3 (node check) are critical; warning
	 * passes; n4's service address wins over its node's. */
	CHECK(A.nrr == 3 && A.count[0] == 3 && A.count[1] == 0);
	CHECK(has(&A, "an A web.service.consul. 10.0.0.1"));
	CHECK(has(&A, "an A web.service.consul. 192.168.1.4"));
	CHECK(has(&A, "an A web.service.consul. 10.0.0.5"));
	if (A.nrr != 3)
		dump(&A);
	/* A type no instance has: NOERROR, empty, SOA. */
	CHECK(build(&c, "web.service.consul.", DNS_T_AAAA, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0 &&
	    A.count[1] == 1 && has(&A, SOA_LINE("consul.")));
	CHECK(build(&c, "web.service.consul.", DNS_T_MX, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0 &&
	    A.count[1] == 1);
	buf_free(&b);
	/* Only critical instances: NXDOMAIN with the SOA. */
	health_reply(&b, five + 1, 2);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN && A.count[0] == 0 &&
	    A.count[1] == 1 && has(&A, SOA_LINE("consul.")));
	CHECK(build(&c, "web.service.consul.", DNS_T_MX, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN);
	buf_free(&b);
	/* No instances at all. */
	health_reply(&b, five, 0);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN && A.count[1] == 1);
	buf_free(&b);
}

static void
test_service_srv(void)
{
	struct dns_answer_cfg c = cfg_for("cairn.test.", "dc1");
	static const struct ent e[] = {
		{ "n1", "10.0.0.1", NULL, 8080, "passing", "passing" },
		{ "n1", "10.0.0.1", "10.0.0.1", 8081, NULL, NULL },
		{ "n4", "10.0.0.4", "192.168.1.4", 9090, NULL, NULL },
		{ "n6", "10.0.0.6", "svc.example.com", 7070, NULL, NULL },
	};
	struct buf b;

	health_reply(&b, e, 4);
	CHECK(build(&c, "web.service.cairn.test.", DNS_T_SRV, 0,
	    buf_head(&b), buf_used(&b), 1, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 4);
	CHECK(has(&A, "an SRV web.service.cairn.test. 1 1 8080 "
	    "n1.node.dc1.cairn.test."));
	CHECK(has(&A, "an SRV web.service.cairn.test. 1 1 8081 "
	    "n1.node.dc1.cairn.test."));
	CHECK(has(&A, "an SRV web.service.cairn.test. 1 1 9090 "
	    "c0a80104.addr.dc1.cairn.test."));
	CHECK(has(&A, "an SRV web.service.cairn.test. 1 1 7070 "
	    "svc.example.com."));
	/* Glue once per target; none for a host name. */
	CHECK(A.count[2] == 2);
	CHECK(has(&A, "ar A n1.node.dc1.cairn.test. 10.0.0.1"));
	CHECK(has(&A, "ar A c0a80104.addr.dc1.cairn.test. 192.168.1.4"));
	if (A.count[0] != 4 || A.count[2] != 2)
		dump(&A);
	/* The RFC 2782 form gives the same records. */
	CHECK(build(&c, "_web._tcp.service.cairn.test.", DNS_T_SRV, 0,
	    buf_head(&b), buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 4 && A.count[2] == 2);
	CHECK(has(&A, "an SRV _web._tcp.service.cairn.test. 1 1 8080 "
	    "n1.node.dc1.cairn.test."));
	/* A questions drop the repeated address. */
	CHECK(build(&c, "web.service.cairn.test.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 3);
	CHECK(has(&A, "an CNAME web.service.cairn.test. svc.example.com."));
	buf_free(&b);
}

/* SRV weights: Passing's, Warning's when a check warns, 1 without */
static void
test_srv_weights(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	static const struct ent e[] = {
		{ "n1", "10.0.0.1", NULL, 81, "passing", "passing" },
		{ "n2", "10.0.0.2", NULL, 82, "passing", "warning" },
		{ "n3", "10.0.0.3", NULL, 83, "warning", NULL },
		{ "n4", "10.0.0.4", NULL, 84, NULL, NULL },
		{ "n5", "10.0.0.5", NULL, 85, NULL, "critical" },
	};
	static const unsigned w[5][2] = {
		{ 10, 3 }, { 10, 3 }, { 7, 0 }, { 0, 0 }, { 9, 9 }
	};
	struct buf b;

	health_reply_w(&b, e, 5, w);
	CHECK(build(&c, "web.service.consul.", DNS_T_SRV, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 4);
	CHECK(has(&A, "an SRV web.service.consul. 1 10 81 "
	    "n1.node.dc1.consul."));
	CHECK(has(&A, "an SRV web.service.consul. 1 3 82 "
	    "n2.node.dc1.consul."));
	CHECK(has(&A, "an SRV web.service.consul. 1 0 83 "
	    "n3.node.dc1.consul."));
	CHECK(has(&A, "an SRV web.service.consul. 1 1 84 "
	    "n4.node.dc1.consul."));
	if (A.count[0] != 4)
		dump(&A);
	buf_free(&b);
}

/* many - n passing instances at 10.1.x.y */
static void
many(struct buf *b, size_t n)
{
	static struct ent e[2000];
	static char names[2000][32], addrs[2000][32];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "node%zu", i);
		snprintf(addrs[i], sizeof(addrs[i]), "10.1.%zu.%zu", i / 250,
		    i % 250 + 1);
		e[i].node = names[i];
		e[i].node_addr = addrs[i];
		e[i].svc_addr = NULL;
		e[i].port = 80;
		e[i].node_check = e[i].svc_check = "passing";
	}
	health_reply(b, e, n);
}

static void
test_service_limits(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct buf b;

	many(&b, 10);
	/* UDP without EDNS: udp_answer_limit (3). */
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.count[0] == 3 && !(A.flags & DNS_F_TC) && !A.edns);
	/* With EDNS, and over TCP: all ten. */
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 1232, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.count[0] == 10 && A.edns && A.edns_size == 1232);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 10 && !A.edns);
	/* The setting, capped at 8; TC only with enable_truncate. */
	c.udp_answer_limit = 1;
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.count[0] == 1);
	c.udp_answer_limit = 50;
	c.enable_truncate = 1;
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.count[0] == DNS_ANSWER_UDP_MAX && (A.flags & DNS_F_TC));
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 10 && !(A.flags & DNS_F_TC));
	/* a_record_limit applies everywhere, and is not truncation. */
	c.a_record_limit = 4;
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 4 && !(A.flags & DNS_F_TC));
	buf_free(&b);

	/* Size: 500 instances fill 512, the EDNS size, 64 KiB. */
	c = cfg_for("consul.", "dc1");
	c.udp_answer_limit = 8;
	many(&b, 500);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.count[0] == 8 && A.len <= 512);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 1232, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	/* 12 + 24 question + 11 OPT, 16 bytes an answer */
	CHECK(A.len <= 1232 && A.count[0] == (1232 - 12 - 24 - 11) / 16);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 65000, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.len <= 4096 && A.edns_size == 4096 &&
	    A.count[0] == (4096 - 12 - 24 - 11) / 16);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 500);
	/* SRV with glue: answers and their glue fit together. */
	CHECK(build(&c, "web.service.consul.", DNS_T_SRV, 1232,
	    buf_head(&b), buf_used(&b), 0, NULL) == 0);
	CHECK(A.len <= 1232 && A.count[0] > 5 &&
	    A.count[2] == A.count[0]);
	CHECK(build(&c, "web.service.consul.", DNS_T_SRV, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.len <= 512 && A.count[0] >= 1 && A.count[0] <= 8 &&
	    A.count[2] == A.count[0]);
	buf_free(&b);
	many(&b, 2000);
	CHECK(build(&c, "web.service.consul.", DNS_T_SRV, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] > 500 && A.count[2] == A.count[0] &&
	    A.len <= DNS_TCP_MAX);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	CHECK(A.count[0] == 2000);
	buf_free(&b);
}

static void
test_shuffle(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	uint64_t rng = 42;
	char first[256];
	int differs = 0, i;
	struct buf b;

	many(&b, 10);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 1, NULL) == 0);
	/* Without a generator the order is kvd's. */
	CHECK_STR(A.rr[0], "an A web.service.consul. 10.1.0.1");
	CHECK_STR(A.rr[9], "an A web.service.consul. 10.1.0.10");
	snprintf(first, sizeof(first), "%s", A.rr[0]);
	for (i = 0; i < 20; i++) {
		CHECK(build(&c, "web.service.consul.", DNS_T_A, 0,
		    buf_head(&b), buf_used(&b), 1, &rng) == 0);
		CHECK(A.count[0] == 10);
		CHECK(has(&A, "an A web.service.consul. 10.1.0.1") &&
		    has(&A, "an A web.service.consul. 10.1.0.10"));
		if (strcmp(A.rr[0], first) != 0)
			differs++;
	}
	CHECK(differs > 10);
	buf_free(&b);
}

static void
test_apex(void)
{
	struct dns_answer_cfg c = cfg_for("cairn.test", "dc1");

	CHECK(build(&c, "cairn.test.", DNS_T_SOA, 0, NULL, 0, 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && (A.flags & DNS_F_AA));
	CHECK(A.count[0] == 1 && A.rr[0][0] == 'a');
	CHECK(strcmp(A.rr[0], "an SOA cairn.test. ns.cairn.test. "
	    "hostmaster.cairn.test. 1700000000 3600 600 86400 0") == 0);
	CHECK(has(&A, "ns NS cairn.test. ns.cairn.test."));
	CHECK(build(&c, "Cairn.Test.", DNS_T_NS, 0, NULL, 0, 0, NULL) == 0);
	/* Names compress against the question, so take its case. */
	CHECK(A.count[0] == 1 && has(&A, "an NS Cairn.Test. ns.Cairn.Test."));
	/* SOA for a name under the zone is the zone's, as Consul does. */
	CHECK(build(&c, "web.service.cairn.test.", DNS_T_SOA, 0, NULL, 0, 0,
	    NULL) == 0);
	CHECK(A.count[0] == 1 && has(&A, "an SOA cairn.test. ns.cairn.test. "
	    "hostmaster.cairn.test. 1700000000 3600 600 86400 0"));
	/* Other names: NXDOMAIN with the SOA. */
	CHECK(build(&c, "cairn.test.", DNS_T_A, 0, NULL, 0, 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN && A.count[1] == 1 &&
	    has(&A, SOA_LINE("cairn.test.")));
	CHECK(build(&c, "web.service.dc9.cairn.test.", DNS_T_A, 0, NULL, 0,
	    0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN && (A.flags & DNS_F_AA));
	/* addr needs no read. */
	CHECK(build(&c, "0a000001.addr.dc1.cairn.test.", DNS_T_A, 0, NULL, 0,
	    0, NULL) == 0);
	CHECK(A.nrr == 1 &&
	    has(&A, "an A 0a000001.addr.dc1.cairn.test. 10.0.0.1"));
	CHECK(build(&c, "0a000001.addr.dc1.cairn.test.", DNS_T_AAAA, 0, NULL,
	    0, 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOERROR && A.count[0] == 0 &&
	    A.count[1] == 1);
	/* Outside: REFUSED, not authoritative; AXFR: NOTIMP. */
	CHECK(build(&c, "example.com.", DNS_T_A, 0, NULL, 0, 0, NULL) == 0);
	CHECK(A.rcode == DNS_R_REFUSED && !(A.flags & DNS_F_AA) &&
	    A.nrr == 0);
	CHECK(build(&c, "cairn.test.", DNS_T_AXFR, 0, NULL, 0, 1, NULL) == 0);
	CHECK(A.rcode == DNS_R_NOTIMP && A.nrr == 0);
}

static void
test_classify_more(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct dns_query q;
	struct dns_lookup l;
	char err[128], name[200];
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0xab, 1 };
	size_t i, o = 0;

	q = mkq("1.2.0.10.in-addr.arpa.", DNS_T_PTR, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_PTR && l.family == 4 &&
	    memcmp(l.addr, "\x0a\x00\x02\x01", 4) == 0);
	for (i = 16; i-- > 0;)
		o += (size_t)snprintf(name + o, sizeof(name) - o, "%x.%x.",
		    v6[i] & 0xf, v6[i] >> 4);
	snprintf(name + o, sizeof(name) - o, "ip6.arpa.");
	q = mkq(name, DNS_T_PTR, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_PTR && l.family == 6 &&
	    memcmp(l.addr, v6, 16) == 0);
	q = mkq("Web.Query.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_QUERY && strcmp(l.query, "web") == 0 &&
	    l.ttl == -1);
	/* alt_domain: either name works; the longer suffix wins. */
	CHECK(dns_answer_alt_domain(&c, "Cairn.Test", err, sizeof(err)) == 0);
	CHECK_STR(c.alt_domain, "cairn.test.");
	q = mkq("n1.node.cairn.test.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_NODE && l.alt == 1);
	q = mkq("n1.node.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_NODE && l.alt == 0);
	CHECK(dns_answer_alt_domain(&c, "consul", err, sizeof(err)) == -1);
	CHECK(dns_answer_alt_domain(&c, "a..b", err, sizeof(err)) == -1);
	CHECK(c.alt_domain[0] == '\0');
	CHECK(dns_answer_alt_domain(&c, "dc1.consul", err, sizeof(err)) == 0);
	q = mkq("web.service.dc1.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(l.kind == DNS_K_SERVICE && l.alt == 1);
}

static void
test_ttls(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	char err[128];
	struct buf b;
	size_t i;
	static const struct ent one[] = {
		{ "n1", "10.0.0.1", NULL, 80, "passing", "passing" },
	};

	CHECK(dns_answer_ttl(&c, "web") == 0);
	CHECK(dns_answer_set_ttl(&c, "*", 5, err, sizeof(err)) == 0);
	CHECK(dns_answer_set_ttl(&c, "we*", 10, err, sizeof(err)) == 0);
	CHECK(dns_answer_set_ttl(&c, "web*", 20, err, sizeof(err)) == 0);
	CHECK(dns_answer_set_ttl(&c, "Web", 30, err, sizeof(err)) == 0);
	CHECK(dns_answer_set_ttl(&c, "", 1, err, sizeof(err)) == -1);
	CHECK(dns_answer_ttl(&c, "web") == 30);		/* exact wins */
	CHECK(dns_answer_ttl(&c, "webby") == 20);	/* longest prefix */
	CHECK(dns_answer_ttl(&c, "wet") == 10);
	CHECK(dns_answer_ttl(&c, "db") == 5);
	c.nservice_ttl = 0;
	for (i = 0; i < DNS_ANSWER_TTLS; i++)
		CHECK(dns_answer_set_ttl(&c, "x", 1, err, sizeof(err)) == 0);
	CHECK(dns_answer_set_ttl(&c, "x", 1, err, sizeof(err)) == -1 &&
	    strstr(err, "entries") != NULL);
	/* The records carry them: service_ttl for services, node_ttl. */
	c = cfg_for("consul.", "dc1");
	dns_answer_set_ttl(&c, "web", 30, err, sizeof(err));
	c.node_ttl = 7;
	health_reply(&b, one, 1);
	CHECK(build(&c, "_web._tcp.service.consul.", DNS_T_SRV, 0,
	    buf_head(&b), buf_used(&b), 0, NULL) == 0);
	CHECK(A.nrr == 2 && A.ttl[0] == 30 && A.ttl[1] == 30);
	buf_free(&b);
	node_rec(&b, "n1", "10.0.0.1", NULL);
	CHECK(build(&c, "n1.node.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.nrr == 1 && A.ttl[0] == 7);
	buf_free(&b);
}

static void
test_only_passing(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct buf b;
	static const struct ent e[] = {
		{ "n1", "10.0.0.1", NULL, 80, "passing", "passing" },
		{ "n2", "10.0.0.2", NULL, 80, "warning", "passing" },
		{ "n3", "10.0.0.3", NULL, 80, "passing", "warning" },
	};

	health_reply(&b, e, 3);
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.nrr == 3);
	c.only_passing = 1;
	CHECK(build(&c, "web.service.consul.", DNS_T_A, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(A.nrr == 1 && has(&A, "an A web.service.consul. 10.0.0.1"));
	buf_free(&b);
}

static void
test_ns_and_ptr(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct dns_query q;
	struct dns_lookup l;
	struct buf b, nodes;
	char target[DNS_NAMEBUF], err[128];
	uint64_t rng = 99;
	size_t i, ns, glue;
	static const struct ent srv[] = {
		{ "s1", "10.0.0.1", NULL, 8300, "passing", NULL },
		{ "s2", "10.0.0.2", NULL, 8300, "passing", NULL },
		{ "s3", "10.0.0.3", NULL, 8300, "critical", NULL },
		{ "s4", "10.0.0.4", NULL, 8300, "passing", NULL },
		{ "s5", "10.0.0.5", NULL, 8300, "passing", NULL },
	};

	health_reply(&b, srv, 5);
	CHECK(build(&c, "consul.", DNS_T_NS, 0, buf_head(&b), buf_used(&b), 0,
	    &rng) == 0);
	for (i = ns = glue = 0; i < A.nrr; i++) {
		ns += strncmp(A.rr[i], "an NS consul. s", 15) == 0;
		glue += strncmp(A.rr[i], "ar A s", 6) == 0;
	}
	CHECK(ns == 3 && glue == 3 && A.nrr == 6);
	CHECK(!has(&A, "an NS consul. s3.node.dc1.consul."));
	if (ns != 3)
		dump(&A);
	CHECK(build(&c, "consul.", DNS_T_SOA, 0, buf_head(&b), buf_used(&b),
	    0, &rng) == 0);
	CHECK(A.count[0] == 1 && A.count[1] == 3 && A.count[2] == 3);
	/* Under alt_domain the names are the alt domain's. */
	CHECK(dns_answer_alt_domain(&c, "cairn.test", err, sizeof(err)) == 0);
	CHECK(build(&c, "cairn.test.", DNS_T_NS, 0, buf_head(&b),
	    buf_used(&b), 0, NULL) == 0);
	CHECK(has(&A, "an NS cairn.test. s1.node.dc1.cairn.test."));
	CHECK(has(&A, "ar A s1.node.dc1.cairn.test. 10.0.0.1"));
	buf_free(&b);

	/* PTR: a node's address, then a service's. */
	c = cfg_for("consul.", "dc1");
	buf_init(&nodes);
	for (i = 0; i < 2; i++) {
		size_t ent = attr_nest_begin(&nodes, A_ENTRY);

		attr_put_str(&nodes, A_NODE, i ? "n2" : "n1");
		attr_put_str(&nodes, A_ADDRESS, i ? "10.0.0.2" : "10.0.0.1");
		attr_nest_end(&nodes, ent);
	}
	q = mkq("2.0.0.10.in-addr.arpa.", DNS_T_PTR, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(dns_answer_ptr(&c, &l, buf_head(&nodes), buf_used(&nodes), 0,
	    target, sizeof(target)) == 1);
	CHECK_STR(target, "n2.node.dc1.consul.");
	CHECK(build(&c, "2.0.0.10.in-addr.arpa.", DNS_T_PTR, 0, target,
	    strlen(target) + 1, 0, NULL) == 0);
	CHECK(A.nrr == 1 &&
	    has(&A, "an PTR 2.0.0.10.in-addr.arpa. n2.node.dc1.consul."));
	q = mkq("4.1.168.192.in-addr.arpa.", DNS_T_PTR, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(dns_answer_ptr(&c, &l, buf_head(&nodes), buf_used(&nodes), 0,
	    target, sizeof(target)) == 0);
	health_reply(&b, five, 5);	/* n4's web is at 192.168.1.4 */
	CHECK(dns_answer_ptr(&c, &l, buf_head(&b), buf_used(&b), 1, target,
	    sizeof(target)) == 1);
	CHECK_STR(target, "web.service.consul.");
	CHECK(build(&c, "9.9.9.9.in-addr.arpa.", DNS_T_PTR, 0, NULL, 0, 0,
	    NULL) == 0);
	CHECK(A.rcode == DNS_R_NXDOMAIN);
	buf_free(&b);
	buf_free(&nodes);
}

static void
test_cname_chase(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct dns_query q;
	struct dns_lookup l;
	struct dns_chased ch;
	char names[DNS_ANSWER_CHASE][DNS_NAMEBUF];
	struct buf b;
	size_t n;
	static const struct ent e[] = {
		{ "n1", "10.0.0.1", "db.example.com", 80, "passing", NULL },
		{ "n2", "10.0.0.2", "DB.example.com", 80, "passing", NULL },
		{ "n3", "10.0.0.3", "bad.example.com", 80, "critical", NULL },
		{ "n4", "10.0.0.4", NULL, 80, "passing", NULL },
	};

	health_reply(&b, e, 4);
	q = mkq("web.service.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	/* One name however often and in whatever case; not critical ones. */
	CHECK(dns_answer_cnames(&c, &q, &l, buf_head(&b), buf_used(&b),
	    names, DNS_ANSWER_CHASE) == 1);
	CHECK_STR(names[0], "db.example.com.");
	q = mkq("_web._tcp.service.consul.", DNS_T_SRV, 0);
	dns_answer_classify(&c, &q, &l);
	CHECK(dns_answer_cnames(&c, &q, &l, buf_head(&b), buf_used(&b),
	    names, DNS_ANSWER_CHASE) == 0);
	/* The resolved addresses follow the CNAME. */
	memset(&ch, 0, sizeof(ch));
	snprintf(ch.host, sizeof(ch.host), "db.example.com.");
	ch.n = 2;
	ch.family[0] = 4;
	memcpy(ch.addr[0], "\x0a\x01\x01\x01", 4);
	ch.family[1] = 6;
	ch.addr[1][15] = 1;
	q = mkq("web.service.consul.", DNS_T_A, 0);
	dns_answer_classify(&c, &q, &l);
	l.chased = &ch;
	l.nchased = 1;
	n = dns_answer_build(&c, &q, &l, buf_head(&b), buf_used(&b), 1, NOW,
	    NULL, abuf, sizeof(abuf));
	CHECK(readback(abuf, n, &A) == 0);
	CHECK(has(&A, "an CNAME web.service.consul. db.example.com."));
	CHECK(has(&A, "an A db.example.com. 10.1.1.1"));
	CHECK(!has(&A, "an AAAA db.example.com. ::1"));
	CHECK(has(&A, "an A web.service.consul. 10.0.0.4"));
	buf_free(&b);
}

static void
test_edns_and_errors(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	struct dns_query q;
	unsigned char pkt[64];
	char err[128];
	size_t n;

	/* The client's size is echoed, capped at ours. */
	CHECK(build(&c, "consul.", DNS_T_SOA, 1232, NULL, 0, 0, NULL) == 0);
	CHECK(A.edns && A.edns_size == 1232);
	CHECK(build(&c, "consul.", DNS_T_SOA, 9000, NULL, 0, 0, NULL) == 0);
	CHECK(A.edns && A.edns_size == 4096);
	CHECK(build(&c, "example.com.", DNS_T_A, 700, NULL, 0, 0, NULL) == 0);
	CHECK(A.edns && A.edns_size == 700 && A.rcode == DNS_R_REFUSED);
	/* SERVFAIL keeps the question, AA and the OPT. */
	q = mkq("web.service.consul.", DNS_T_A, 1400);
	n = dns_answer_error(&q, DNS_R_SERVFAIL, 1, abuf, sizeof(abuf));
	CHECK(readback(abuf, n, &A) == 0);
	CHECK(A.rcode == DNS_R_SERVFAIL && (A.flags & DNS_F_AA) &&
	    A.edns_size == 1400 && A.nrr == 0);
	CHECK(abuf[5] == 1);	/* the question is echoed */
	/* BADVERS: rcode 16, its upper bits in the OPT. */
	memcpy(pkt, "\xab\xcd\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01"
	    "\x06" "consul" "\x00\x00\x06\x00\x01"
	    "\x00\x00\x29\x02\x00\x00\x01\x00\x00\x00\x00", 35);
	CHECK(dns_query_parse(pkt, 35, &q, err, sizeof(err)) ==
	    DNS_PARSE_BADVERS);
	n = dns_answer_error(&q, DNS_R_BADVERS, 0, abuf, sizeof(abuf));
	CHECK(readback(abuf, n, &A) == 0);
	CHECK(A.rcode == DNS_R_BADVERS && A.edns_size == 512 &&
	    A.id == 0xabcd);
	/* FORMERR without a question; a cap under the header gives 0. */
	CHECK(dns_query_parse(pkt, 20, &q, err, sizeof(err)) ==
	    DNS_PARSE_FORMERR);
	n = dns_answer_error(&q, DNS_R_FORMERR, 0, abuf, sizeof(abuf));
	CHECK(n == 12 && readback(abuf, n, &A) == 0 &&
	    A.rcode == DNS_R_FORMERR);
	CHECK(dns_answer_error(&q, DNS_R_FORMERR, 0, abuf, 11) == 0);
	/* A buffer too small for the question still gets an answer. */
	q = mkq("web.service.consul.", DNS_T_A, 0);
	n = dns_answer_error(&q, DNS_R_SERVFAIL, 1, abuf, 20);
	CHECK(n == 12 && readback(abuf, n, &A) == 0);
}

/* mutate_one - answer from a broken reply: never a bad message */
static void
mutate_one(const struct dns_answer_cfg *c, const char *name, uint16_t qtype,
    const unsigned char *p, size_t len)
{
	struct dns_query q = mkq(name, qtype, 0);
	struct dns_lookup l;
	size_t n;

	dns_answer_classify(c, &q, &l);
	n = dns_answer_build(c, &q, &l, p, len, 0, NOW, NULL, abuf,
	    sizeof(abuf));
	CHECK(n >= DNS_HDR_LEN && n <= 512 && readback(abuf, n, &A) == 0);
	CHECK(A.rcode == DNS_R_NOERROR || A.rcode == DNS_R_NXDOMAIN);
}

static void
test_mutated(void)
{
	struct dns_answer_cfg c = cfg_for("consul.", "dc1");
	static const char *const meta[] = { "k", "v", NULL };
	unsigned char *p;
	struct buf b, r;
	size_t i, len;

	health_reply(&b, five, 5);
	node_rec(&r, "n1", "10.0.0.1", meta);
	len = buf_used(&b);
	if ((p = malloc(len + 1)) == NULL)
		abort();
	for (i = 0; i <= len; i++) {
		/* Cut at every byte. */
		memcpy(p, buf_head(&b), len);
		mutate_one(&c, "web.service.consul.", DNS_T_A, p, i);
		mutate_one(&c, "web.service.consul.", DNS_T_SRV, p, i);
		if (i <= buf_used(&r))
			mutate_one(&c, "n1.node.consul.", DNS_T_ANY,
			    buf_head(&r), i);
		/* One byte appended. */
		p[len] = 0xff;
		mutate_one(&c, "web.service.consul.", DNS_T_A, p, len + 1);
		/* A length or type byte broken. */
		if (i < len) {
			p[i] ^= 0x41;
			mutate_one(&c, "web.service.consul.", DNS_T_SRV, p,
			    len);
			p[i] ^= 0x41;
		}
	}
	free(p);
	buf_free(&b);
	buf_free(&r);
}

int
main(void)
{
	RUN(test_init);
	RUN(test_classify);
	RUN(test_classify_addr);
	RUN(test_find_node);
	RUN(test_node);
	RUN(test_service);
	RUN(test_service_srv);
	RUN(test_srv_weights);
	RUN(test_service_limits);
	RUN(test_shuffle);
	RUN(test_apex);
	RUN(test_classify_more);
	RUN(test_ttls);
	RUN(test_only_passing);
	RUN(test_ns_and_ptr);
	RUN(test_cname_chase);
	RUN(test_edns_and_errors);
	RUN(test_mutated);
	return TEST_DONE();
}
