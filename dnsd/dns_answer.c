/*
 * dns_answer.c - name classification and answers from catalog records.
 * See dns_answer.h. Records are read from kvd's replies with attr_index
 * and never trusted: a record without the attribute we need is skipped.
 *
 * Trimming follows Consul's trimUDPResponse: over UDP without EDNS at most
 * udp_answer_limit answers (at most 8); then as many answers as fit the
 * size limit together with their glue, found by building the message for
 * a count and halving. TC is set only with enable_truncate.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns_answer.h"
#include "frame.h"
#include "log.h"
#include "msg.h"

#define NS_LABEL	"ns."
#define HOSTMASTER	"hostmaster."

/* A name text buffer: node names and tags fit in 256 bytes escaped 4x. */
#define TEXTBUF		1100

/* dns_answer_init - defaults, and the domain in its canonical form */
int
dns_answer_init(struct dns_answer_cfg *c, const char *domain,
    const char *dc, char *err, size_t errlen)
{
	unsigned char wire[DNS_NAME_MAX];
	struct dns_labels l;
	size_t wlen, i;

	memset(c, 0, sizeof(*c));
	c->udp_answer_limit = 3;
	if (dns_name_wire(domain, wire, &wlen) == -1 || wlen < 2 ||
	    dns_name_text(wire, wlen, c->domain, sizeof(c->domain), 1) == -1 ||
	    dns_name_labels(c->domain, &l) == -1) {
		snprintf(err, errlen, "domain \"%.100s\" is not a DNS name",
		    domain);
		return -1;
	}
	/* ns.<domain> and hostmaster.<domain> must be names too. */
	if (wlen + strlen(HOSTMASTER) > DNS_NAME_MAX) {
		snprintf(err, errlen, "domain \"%.100s\" is too long", domain);
		return -1;
	}
	c->domain_labels = l.n;
	for (i = 0; dc[i] != '\0' && i + 1 < sizeof(c->dc); i++)
		c->dc[i] = (char)(dc[i] >= 'A' && dc[i] <= 'Z' ?
		    dc[i] + ('a' - 'A') : dc[i]);
	c->dc[i] = '\0';
	return 0;
}

/* dns_answer_alt_domain - a second domain answered like the first */
int
dns_answer_alt_domain(struct dns_answer_cfg *c, const char *alt, char *err,
    size_t errlen)
{
	unsigned char wire[DNS_NAME_MAX];
	struct dns_labels l;
	size_t wlen;

	if (dns_name_wire(alt, wire, &wlen) == -1 || wlen < 2 ||
	    wlen + strlen(HOSTMASTER) > DNS_NAME_MAX ||
	    dns_name_text(wire, wlen, c->alt_domain, sizeof(c->alt_domain),
	    1) == -1 || dns_name_labels(c->alt_domain, &l) == -1) {
		c->alt_domain[0] = '\0';
		snprintf(err, errlen, "alt_domain \"%.100s\" is not a DNS name",
		    alt);
		return -1;
	}
	if (strcmp(c->alt_domain, c->domain) == 0) {
		c->alt_domain[0] = '\0';
		snprintf(err, errlen, "alt_domain \"%.100s\" is the domain",
		    alt);
		return -1;
	}
	c->alt_labels = l.n;
	return 0;
}

/* dns_answer_set_ttl - one service_ttl entry */
int
dns_answer_set_ttl(struct dns_answer_cfg *c, const char *name, uint32_t ttl,
    char *err, size_t errlen)
{
	struct dns_ttl *t;
	size_t len = strlen(name), i;

	if (c->nservice_ttl == DNS_ANSWER_TTLS) {
		snprintf(err, errlen, "service_ttl: more than %d entries",
		    DNS_ANSWER_TTLS);
		return -1;
	}
	t = &c->service_ttl[c->nservice_ttl];
	t->prefix = len > 0 && name[len - 1] == '*';
	if (t->prefix)
		len--;
	if ((len == 0 && !t->prefix) || len >= sizeof(t->name)) {
		snprintf(err, errlen, "service_ttl: bad service name "
		    "\"%.100s\"", name);
		return -1;
	}
	for (i = 0; i < len; i++)
		t->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ?
		    name[i] + ('a' - 'A') : name[i]);
	t->name[len] = '\0';
	t->ttl = ttl;
	c->nservice_ttl++;
	return 0;
}

/* dns_answer_ttl - exact name first, then the longest prefix */
uint32_t
dns_answer_ttl(const struct dns_answer_cfg *c, const char *service)
{
	const struct dns_ttl *best = NULL, *t;
	size_t i, len;

	for (i = 0; i < c->nservice_ttl; i++) {
		t = &c->service_ttl[i];
		len = strlen(t->name);
		if (!t->prefix) {
			if (strcasecmp(t->name, service) == 0)
				return t->ttl;
			continue;
		}
		if (strncasecmp(t->name, service, len) == 0 &&
		    (best == NULL || len > strlen(best->name)))
			best = t;
	}
	return best != NULL ? best->ttl : 0;
}

/*
 * unescape - a presentation label to its bytes in out[n], NUL-terminated;
 * -1 if it holds a NUL byte or does not fit. The label came from
 * dns_name_text, so its escapes are well formed.
 */
static int
unescape(const char *s, char *out, size_t n)
{
	size_t o = 0;
	unsigned ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (ch == '\\') {
			s++;
			if (*s >= '0' && *s <= '9') {
				ch = (s[0] - '0') * 100u + (s[1] - '0') * 10u +
				    (s[2] - '0');
				s += 2;
			} else
				ch = (unsigned char)*s;
		}
		if (ch == 0 || o + 1 >= n)
			return -1;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* join - labels[from..to) unescaped and joined with dots into out[n] */
static int
join(const struct dns_labels *l, size_t from, size_t to, char *out, size_t n)
{
	char one[256];
	size_t o = 0, k, i;

	out[0] = '\0';
	for (i = from; i < to; i++) {
		if (unescape(l->label[i], one, sizeof(one)) == -1)
			return -1;
		k = strlen(one);
		if (o + k + 2 > n)
			return -1;
		if (i > from)
			out[o++] = '.';
		memcpy(out + o, one, k + 1);
		o += k;
	}
	return 0;
}

/* hexval - one hex digit, -1 if it is not one */
static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;		/* the name is lower case already */
}

/* parse_addr - "<hex8>" or "<hex32>" into l->addr */
static int
parse_addr(const char *s, struct dns_lookup *l)
{
	size_t len = strlen(s), i;
	int hi, lo;

	if (len != 8 && len != 32)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		l->addr[i] = (unsigned char)(hi << 4 | lo);
	}
	l->family = len == 8 ? 4 : 6;
	return 0;
}

/*
 * parse_arpa - "d.c.b.a.in-addr.arpa" or the 32 nibbles of an ip6.arpa
 * name, least significant first, into l->addr
 */
static int
parse_arpa(const struct dns_labels *lw, struct dns_lookup *l)
{
	const char *s;
	size_t i;
	unsigned v;
	int h;

	if (lw->n == 6 && strcmp(lw->label[4], "in-addr") == 0 &&
	    strcmp(lw->label[5], "arpa") == 0) {
		for (i = 0; i < 4; i++) {
			s = lw->label[3 - i];
			if (strlen(s) > 3 || s[0] == '\0' ||
			    (s[0] == '0' && s[1] != '\0'))
				return -1;
			for (v = 0; *s != '\0'; s++) {
				if (*s < '0' || *s > '9')
					return -1;
				v = v * 10 + (unsigned)(*s - '0');
			}
			if (v > 255)
				return -1;
			l->addr[i] = (unsigned char)v;
		}
		l->family = 4;
		return 0;
	}
	if (lw->n == 34 && strcmp(lw->label[32], "ip6") == 0 &&
	    strcmp(lw->label[33], "arpa") == 0) {
		for (i = 0; i < 32; i++) {
			s = lw->label[31 - i];
			if (s[1] != '\0' || (h = hexval(s[0])) < 0)
				return -1;
			if (i % 2 == 0)
				l->addr[i / 2] = (unsigned char)(h << 4);
			else
				l->addr[i / 2] |= (unsigned char)h;
		}
		l->family = 6;
		return 0;
	}
	return -1;
}

/* under - is the (canonical, lower case) question name under domain */
static int
under(const struct dns_query *q, const struct dns_labels *lw,
    const char *domain, size_t labels)
{
	/* Canonical text, so a suffix compare is a label compare. */
	return domain[0] != '\0' && lw->n >= labels &&
	    strcmp(q->qname + lw->off[lw->n - labels], domain) == 0;
}

/* invalid - classify as NXDOMAIN, saying why for the debug log */
static void
invalid(struct dns_lookup *l, const char *why)
{
	l->kind = DNS_K_INVALID;
	snprintf(l->why, sizeof(l->why), "%s", why);
}

/*
 * dns_answer_classify - Consul's parse (agent/dns.go, dispatch): labels
 * are read from the right; the first kind label found ends the search,
 * and only one label, the datacenter, may stand between it and the
 * domain. In an SRV question a last label starting with '_' implies a
 * "service" after it.
 */
void
dns_answer_classify(const struct dns_answer_cfg *c, const struct dns_query *q,
    struct dns_lookup *l)
{
	struct dns_labels lw, lo;	/* lower case, as asked */
	const char *kind, *dc = NULL;
	size_t n, m;
	int implied, first;

	memset(l, 0, sizeof(*l));
	l->ttl = -1;
	if (dns_name_labels(q->qname, &lw) == -1 ||
	    dns_name_labels(q->qname_orig, &lo) == -1 || lw.n != lo.n) {
		invalid(l, "name does not split");
		return;
	}
	/* The longer of the two domains first: one may end the other. */
	first = c->alt_labels > c->domain_labels;
	if (under(q, &lw, first ? c->alt_domain : c->domain,
	    first ? c->alt_labels : c->domain_labels))
		l->alt = first;
	else if (under(q, &lw, first ? c->domain : c->alt_domain,
	    first ? c->domain_labels : c->alt_labels))
		l->alt = !first;
	else {
		l->kind = (q->qtype == DNS_T_PTR || q->qtype == DNS_T_ANY) &&
		    parse_arpa(&lw, l) == 0 ? DNS_K_PTR : DNS_K_OUTSIDE;
		return;
	}
	switch (q->qtype) {
	case DNS_T_SOA:
		l->kind = DNS_K_SOA;
		return;
	case DNS_T_NS:
		l->kind = DNS_K_NS;
		return;
	case DNS_T_AXFR:
	case DNS_T_IXFR:
		l->kind = DNS_K_NOTIMP;
		return;
	}
	n = lw.n - (l->alt ? c->alt_labels : c->domain_labels);
	for (;;) {
		if (n == 0) {
			invalid(l, "no kind label");
			return;
		}
		implied = q->qtype == DNS_T_SRV && lw.label[n - 1][0] == '_';
		kind = implied ? "service" : lw.label[n - 1];
		m = implied ? n : n - 1;	/* labels before the kind */
		if (strcmp(kind, "service") == 0) {
			if (m == 0) {
				invalid(l, "no service name");
				return;
			}
			l->kind = DNS_K_SERVICE;
			if (m == 2 && lw.label[0][0] == '_' &&
			    lw.label[1][0] == '_') {
				/* RFC 2782: _service._proto; _tcp: no tag. */
				l->rfc2782 = 1;
				if (unescape(lw.label[0] + 1, l->service,
				    sizeof(l->service)) == -1 ||
				    unescape(lw.label[1] + 1, l->tag,
				    sizeof(l->tag)) == -1) {
					invalid(l, "bad label");
					return;
				}
				if (strcmp(l->tag, "tcp") == 0)
					l->tag[0] = '\0';
			} else if (unescape(lw.label[m - 1], l->service,
			    sizeof(l->service)) == -1 ||
			    join(&lw, 0, m - 1, l->tag, sizeof(l->tag)) == -1) {
				invalid(l, "bad label");
				return;
			}
			if (l->service[0] == '\0') {
				invalid(l, "empty service name");
				return;
			}
			break;
		}
		if (strcmp(kind, "node") == 0) {
			if (m == 0 ||
			    join(&lo, 0, m, l->node, sizeof(l->node)) == -1) {
				invalid(l, "bad node name");
				return;
			}
			l->kind = DNS_K_NODE;
			break;
		}
		if (strcmp(kind, "query") == 0) {
			if (m == 0 ||
			    join(&lw, 0, m, l->query, sizeof(l->query)) == -1) {
				invalid(l, "bad query name");
				return;
			}
			l->kind = DNS_K_QUERY;
			break;
		}
		if (strcmp(kind, "addr") == 0) {
			if (m != 1 || parse_addr(lw.label[0], l) == -1) {
				invalid(l, "bad address");
				return;
			}
			l->kind = DNS_K_ADDR;
			break;
		}
		/* Consul issue 3200: one datacenter label at most. */
		if (dc != NULL) {
			invalid(l, "unknown name form");
			return;
		}
		dc = lw.label[--n];
	}
	if (dc != NULL && strcmp(dc, c->dc) != 0) {
		l->kind = DNS_K_INVALID;
		snprintf(l->why, sizeof(l->why), "datacenter %.40s", dc);
	}
}

/* dns_answer_find_node - the node record named name, any case */
int
dns_answer_find_node(const void *body, size_t len, const char *name,
    const unsigned char **rec, size_t *reclen)
{
	struct attr_iter it;
	struct attr a, tab[A_NODE + 1];
	size_t n = strlen(name);

	attr_iter_init(&it, body, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_NODE_REC && a.type != A_ENTRY)
			continue;
		if (attr_index(a.val, a.len, tab, A_NODE + 1) < 0 ||
		    tab[A_NODE].len != n ||
		    strncasecmp((const char *)tab[A_NODE].val, name, n) != 0)
			continue;
		*rec = a.val;
		*reclen = a.len;
		return 1;
	}
	return 0;
}

/* attr_text - a string attribute into out[n]; "" when absent or long */
static void
attr_text(const struct attr *a, char *out, size_t n)
{
	if (attr_strcpy(a, out, n) == -1)
		out[0] = '\0';
}

/*
 * name_of - a catalog string (node name, host name) as a presentation
 * name: dots stay separators, as Consul joins labels; anything else
 * that is special is escaped. suffix, when given, follows after a dot;
 * otherwise the name is made absolute. -1 (out is "") if it does not
 * fit, which a name that fits DNS_NAME_MAX always does.
 */
static int
name_of(const char *s, const char *suffix, char *out, size_t n)
{
	size_t o = 0;
	unsigned char ch;
	int r;

	for (; *s != '\0'; s++) {
		if (n - o < 5)
			goto toolong;
		ch = (unsigned char)*s;
		if (ch == '\\')
			o += snprintf(out + o, n - o, "\\\\");
		else if (ch != '.' && (ch < '!' || ch > '~'))
			o += snprintf(out + o, n - o, "\\%03u", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	if (suffix != NULL)
		r = snprintf(out + o, n - o, ".%s", suffix);
	else
		r = snprintf(out + o, n - o, "%s", o > 0 && out[o - 1] == '.' ?
		    "" : ".");
	if (r < 0 || (size_t)r >= n - o)
		goto toolong;
	return 0;
toolong:
	out[0] = '\0';
	return -1;
}

/* One address as a record: A, AAAA or (a host name) CNAME. */
struct addr_rr {
	uint16_t	 type;
	unsigned char	 ip[16];
	char		 host[TEXTBUF];	/* CNAME target */
};

/* One healthy instance: attributes pointing into kvd's reply. */
struct inst {
	struct attr	 node;
	struct attr	 node_addr;
	struct attr	 addr;		/* the service's, else the node's */
	uint32_t	 port;
	uint16_t	 weight;	/* SRV: Weights, by the checks */
	int		 first;		/* SRV: the first with its target */
};

/* soa_add - the zone's SOA (RFC 2308 section 3: TTL is the minimum) */
static int
soa_add(const struct dns_answer_cfg *c, struct dns_writer *w, int sec,
    uint32_t now)
{
	char mname[DNS_NAMEBUF + 16], rname[DNS_NAMEBUF + 16];
	struct dns_soa soa;

	snprintf(mname, sizeof(mname), NS_LABEL "%s", c->domain);
	snprintf(rname, sizeof(rname), HOSTMASTER "%s", c->domain);
	soa.mname = mname;
	soa.rname = rname;
	soa.serial = now;
	soa.refresh = 3600;
	soa.retry = 600;
	soa.expire = 86400;
	soa.minimum = 0;
	return dns_writer_soa(w, sec, c->domain, soa.minimum, &soa);
}

static int	inst_read(const struct dns_answer_cfg *, const struct attr *,
		    struct inst *);
static uint64_t	rng_next(uint64_t *);
static int	addr_rr(const char *, uint16_t, struct addr_rr *);
static int	addr_write(struct dns_writer *, int, const char *, uint32_t,
		    const struct addr_rr *);

/*
 * ns_add - the zone's NS: up to DNS_ANSWER_NS servers picked at random
 * from the "consul" service's healthy instances, as Consul does, with
 * their addresses as glue; ns.<domain> when there are none
 */
static int
ns_add(const struct dns_answer_cfg *c, struct dns_writer *w, int sec,
    const void *servers, size_t len, uint64_t *rng)
{
	char target[DNS_NAMEBUF + 16], suffix[DNS_NAMEBUF + 80];
	char node[256], addr[256];
	unsigned char wire[DNS_NAME_MAX];
	struct inst pick[DNS_ANSWER_NS], in;
	struct attr_iter it;
	struct attr a;
	struct addr_rr r;
	size_t n = 0, seen = 0, i, j, wlen;

	attr_iter_init(&it, servers, servers != NULL ? len : 0);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY || inst_read(c, &a, &in) == -1)
			continue;
		attr_text(&in.node, node, sizeof(node));
		snprintf(suffix, sizeof(suffix), "node.%s.%s", c->dc,
		    c->domain);
		if (name_of(node, suffix, target, sizeof(target)) == -1 ||
		    dns_name_wire(target, wire, &wlen) == -1)
			continue;
		/* Reservoir sampling: each server is as likely. */
		seen++;
		if (n < DNS_ANSWER_NS)
			pick[n++] = in;
		else if (rng != NULL &&
		    (j = rng_next(rng) % seen) < DNS_ANSWER_NS)
			pick[j] = in;
	}
	if (n == 0) {
		snprintf(target, sizeof(target), NS_LABEL "%s", c->domain);
		return dns_writer_ns(w, sec, c->domain, 0, target);
	}
	snprintf(suffix, sizeof(suffix), "node.%s.%s", c->dc, c->domain);
	for (i = 0; i < n; i++) {
		attr_text(&pick[i].node, node, sizeof(node));
		name_of(node, suffix, target, sizeof(target));
		if (dns_writer_ns(w, sec, c->domain, c->node_ttl, target) ==
		    DNS_W_FULL)
			return DNS_W_FULL;
	}
	for (i = 0; i < n; i++) {
		attr_text(&pick[i].node, node, sizeof(node));
		attr_text(&pick[i].node_addr, addr, sizeof(addr));
		name_of(node, suffix, target, sizeof(target));
		if (addr_rr(addr, DNS_T_ANY, &r) && r.type != DNS_T_CNAME &&
		    addr_write(w, DNS_SEC_ADDITIONAL, target, c->node_ttl,
		    &r) == DNS_W_FULL)
			return DNS_W_FULL;
	}
	return DNS_W_OK;
}

/* begin - the writer for an answer to q, OPT size echoed */
static int
begin(struct dns_writer *w, const struct dns_query *q, int tcp,
    unsigned char *buf, size_t cap)
{
	size_t limit = tcp ? DNS_TCP_MAX : dns_udp_limit(q, DNS_EDNS_SIZE);

	if (dns_writer_begin(w, buf, cap, limit, q, DNS_R_NOERROR,
	    DNS_F_AA) == -1)
		return -1;
	if (q->edns)
		w->edns_size = q->edns_udp_size < DNS_EDNS_SIZE ?
		    q->edns_udp_size : DNS_EDNS_SIZE;
	return 0;
}

/* empty - NXDOMAIN or NOERROR with the SOA in authority (RFC 2308) */
static size_t
empty(const struct dns_answer_cfg *c, struct dns_writer *w, int rcode,
    uint32_t now)
{
	dns_writer_set_rcode(w, rcode);
	soa_add(c, w, DNS_SEC_AUTHORITY, now);
	return dns_writer_finish(w);
}

/* want_a, want_aaaa, want_cname - does the question take these records */
static int
want_a(uint16_t t)
{
	return t == DNS_T_A || t == DNS_T_ANY;
}

static int
want_aaaa(uint16_t t)
{
	return t == DNS_T_AAAA || t == DNS_T_ANY;
}

static int
want_cname(uint16_t t)
{
	return t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_ANY ||
	    t == DNS_T_CNAME;
}

/*
 * addr_rr - the record an address gives for qtype; 0 with none (a type
 * the address lacks, an empty or unusable address)
 */
static int
addr_rr(const char *addr, uint16_t qtype, struct addr_rr *r)
{
	unsigned char wire[DNS_NAME_MAX];
	size_t wlen;

	if (addr[0] == '\0')
		return 0;
	if (inet_pton(AF_INET, addr, r->ip) == 1) {
		r->type = DNS_T_A;
		return want_a(qtype);
	}
	if (inet_pton(AF_INET6, addr, r->ip) == 1) {
		r->type = DNS_T_AAAA;
		return want_aaaa(qtype);
	}
	r->type = DNS_T_CNAME;
	name_of(addr, NULL, r->host, sizeof(r->host));
	return want_cname(qtype) &&
	    dns_name_wire(r->host, wire, &wlen) == 0;
}

/* addr_write - write r with owner name */
static int
addr_write(struct dns_writer *w, int sec, const char *name, uint32_t ttl,
    const struct addr_rr *r)
{
	switch (r->type) {
	case DNS_T_A:
		return dns_writer_a(w, sec, name, ttl, r->ip);
	case DNS_T_AAAA:
		return dns_writer_aaaa(w, sec, name, ttl, r->ip);
	default:
		return dns_writer_cname(w, sec, name, ttl, r->host);
	}
}

/*
 * chased_write - after a CNAME to host, host's own addresses of the
 * types asked for, when the caller resolved them
 */
static int
chased_write(struct dns_writer *w, const struct dns_lookup *l,
    uint16_t qtype, const struct addr_rr *cname)
{
	const struct dns_chased *ch;
	size_t i, k;
	int r;

	if (cname->type != DNS_T_CNAME)
		return DNS_W_OK;
	for (i = 0; i < l->nchased; i++) {
		ch = &l->chased[i];
		if (strcasecmp(ch->host, cname->host) != 0)
			continue;
		for (k = 0; k < ch->n && k < DNS_ANSWER_CHASE_ADDRS; k++) {
			if (ch->family[k] == 4 && want_a(qtype))
				r = dns_writer_a(w, DNS_SEC_ANSWER, ch->host,
				    ch->ttl, ch->addr[k]);
			else if (ch->family[k] == 6 && want_aaaa(qtype))
				r = dns_writer_aaaa(w, DNS_SEC_ANSWER,
				    ch->host, ch->ttl, ch->addr[k]);
			else
				continue;
			if (r == DNS_W_FULL)
				return r;
		}
		break;
	}
	return DNS_W_OK;
}

/* node_answer - A/AAAA/CNAME and TXT (node meta, RFC 1464) of a node */
static size_t
node_answer(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, const unsigned char *rec, size_t reclen,
    struct dns_writer *w, uint32_t now)
{
	struct attr tab[ATTR_TAB], mt[ATTR_TAB], a;
	struct attr_iter it;
	struct addr_rr r;
	char addr[256], key[256], val[256], txt[512];
	const char *strs[1];
	size_t klen;
	int r1;

	if (rec == NULL)
		return empty(c, w, DNS_R_NXDOMAIN, now);
	if (attr_index(rec, reclen, tab, ATTR_TAB) < 0)
		return empty(c, w, DNS_R_NXDOMAIN, now);
	attr_text(&tab[A_ADDRESS], addr, sizeof(addr));
	if (addr_rr(addr, q->qtype, &r) &&
	    (addr_write(w, DNS_SEC_ANSWER, q->qname_orig, c->node_ttl, &r) ==
	    DNS_W_FULL || chased_write(w, l, q->qtype, &r) == DNS_W_FULL))
		goto done;
	if (q->qtype != DNS_T_TXT && q->qtype != DNS_T_ANY)
		goto done;
	attr_iter_init(&it, rec, reclen);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_META ||
		    attr_index(a.val, a.len, mt, ATTR_TAB) < 0 ||
		    attr_strcpy(&mt[A_META_KEY], key, sizeof(key)) == -1)
			continue;
		attr_text(&mt[A_META_VALUE], val, sizeof(val));
		/* Consul: an rfc1035- key gives the value alone. */
		klen = strlen("rfc1035-");
		if (strncmp(key, "rfc1035-", klen) == 0)
			snprintf(txt, sizeof(txt), "%s", val);
		else
			snprintf(txt, sizeof(txt), "%s=%s", key, val);
		if (strlen(txt) > 255)
			continue;
		strs[0] = txt;
		r1 = dns_writer_txt(w, DNS_SEC_ANSWER, q->qname_orig,
		    c->node_ttl, strs, 1);
		if (r1 == DNS_W_FULL)
			break;
	}
done:
	if (w->count[DNS_SEC_ANSWER] == 0)
		soa_add(c, w, DNS_SEC_AUTHORITY, now);
	return dns_writer_finish(w);
}

/* The records one instance gives. */
struct inst_rr {
	struct addr_rr	 rr;		/* A, AAAA or CNAME answers */
	char		 target[TEXTBUF];	/* SRV */
	struct addr_rr	 glue;
	int		 has_glue;
};

/* status_is - a check's status attribute is s */
static int
status_is(const struct attr *a, const char *s)
{
	return a->len == strlen(s) && memcmp(a->val, s, a->len) == 0;
}

/* worst - of the entry's checks: 2 any critical, 1 any warning, else 0 */
static int
worst(const struct attr *entry)
{
	struct attr_iter it;
	struct attr a, ct[A_STATUS + 1];
	int w = 0;

	attr_iter_init(&it, entry->val, entry->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_CHECK_REC ||
		    attr_index(a.val, a.len, ct, A_STATUS + 1) < 0)
			continue;
		if (status_is(&ct[A_STATUS], "critical"))
			return 2;
		if (status_is(&ct[A_STATUS], "warning"))
			w = 1;
	}
	return w;
}

/*
 * inst_read - an A_ENTRY of a health reply; -1 for a broken entry or one
 * left out: a check critical (or, with only_passing, warning)
 */
static int
inst_read(const struct dns_answer_cfg *c, const struct attr *entry,
    struct inst *in)
{
	struct attr et[ATTR_TAB], nt[ATTR_TAB], st[ATTR_TAB];
	uint64_t port = 0, weight = 1;
	int w = worst(entry);

	if (w == 2 || (c->only_passing && w == 1) || attr_index(entry->val, entry->len, et, ATTR_TAB) < 0 ||
	    !attr_present(&et[A_NODE_REC]) ||
	    !attr_present(&et[A_SERVICE_REC]) ||
	    attr_index(et[A_NODE_REC].val, et[A_NODE_REC].len, nt,
	    ATTR_TAB) < 0 ||
	    attr_index(et[A_SERVICE_REC].val, et[A_SERVICE_REC].len, st,
	    ATTR_TAB) < 0 || nt[A_NODE].len == 0 || nt[A_NODE].len > 255 ||
	    nt[A_ADDRESS].len > 255 || st[A_ADDRESS].len > 255)
		return -1;
	in->node = nt[A_NODE];
	in->node_addr = nt[A_ADDRESS];
	in->addr = st[A_ADDRESS].len > 0 ? st[A_ADDRESS] : nt[A_ADDRESS];
	attr_u64(&st[A_PORT], &port);
	in->port = port > 65535 ? 0 : (uint32_t)port;
	/* Consul's findWeight: Warning's weight when a check warns */
	attr_u64(&st[w == 1 ? A_WEIGHT_WARNING : A_WEIGHT_PASSING], &weight);
	in->weight = weight > 65535 ? 65535 : (uint16_t)weight;
	in->first = 1;
	return 0;
}

/* same - two string attributes hold the same bytes */
static int
same(const struct attr *a, const struct attr *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->val, b->val, a->len) == 0);
}

/* uses_node - the instance is reached at its node's address */
static int
uses_node(const struct inst *in)
{
	return same(&in->addr, &in->node_addr);
}

/* same_target - two instances get the same SRV target */
static int
same_target(const struct inst *a, const struct inst *b)
{
	if (uses_node(a) != uses_node(b))
		return 0;
	return uses_node(a) ? same(&a->node, &b->node) :
	    same(&a->addr, &b->addr);
}

/* hex_name - "<hex>.addr.<dc>.<domain>" for an IP address */
static void
hex_name(const struct dns_answer_cfg *c, const struct addr_rr *r,
    char *out, size_t n)
{
	size_t i, len = r->type == DNS_T_A ? 4 : 16, o = 0;

	for (i = 0; i < len; i++)
		o += snprintf(out + o, n - o, "%02x", r->ip[i]);
	snprintf(out + o, n - o, ".addr.%s.%s", c->dc, c->domain);
}

/*
 * inst_records - the instance's records for qtype; 0 when it has none.
 * SRV targets follow Consul: the node's name when the instance uses the
 * node's address, an .addr. name for another IP address, the host name
 * itself otherwise; glue only for IP addresses.
 */
static int
inst_records(const struct dns_answer_cfg *c, uint16_t qtype,
    const struct inst *in, struct inst_rr *r)
{
	char suffix[DNS_NAMEBUF + 80], addr[256], node[256];
	unsigned char wire[DNS_NAME_MAX];
	size_t wlen;

	attr_text(&in->addr, addr, sizeof(addr));
	if (qtype != DNS_T_SRV)
		return addr_rr(addr, qtype, &r->rr);
	attr_text(&in->node, node, sizeof(node));
	r->has_glue = addr_rr(addr, DNS_T_ANY, &r->glue) &&
	    r->glue.type != DNS_T_CNAME;
	if (uses_node(in)) {
		snprintf(suffix, sizeof(suffix), "node.%s.%s", c->dc,
		    c->domain);
		name_of(node, suffix, r->target, sizeof(r->target));
	} else if (r->has_glue)
		hex_name(c, &r->glue, r->target, sizeof(r->target));
	else
		name_of(addr, NULL, r->target, sizeof(r->target));
	return dns_name_wire(r->target, wire, &wlen) == 0;
}

/* rng_next - xorshift64*: shuffling needs no more */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/*
 * svc_write - the first k records and their glue; 0 if all of it fit,
 * 1 if something did not (the caller tries fewer)
 */
static int
svc_write(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, struct inst **v, size_t k, uint32_t ttl,
    struct dns_writer *w)
{
	struct inst_rr r;
	size_t i;
	int ret;

	for (i = 0; i < k; i++) {
		inst_records(c, q->qtype, v[i], &r);
		if (q->qtype == DNS_T_SRV)
			ret = dns_writer_srv(w, DNS_SEC_ANSWER, q->qname_orig,
			    ttl, 1, v[i]->weight, (uint16_t)v[i]->port,
			    r.target);
		else if ((ret = addr_write(w, DNS_SEC_ANSWER, q->qname_orig,
		    ttl, &r.rr)) == DNS_W_OK)
			ret = chased_write(w, l, q->qtype, &r.rr);
		if (ret == DNS_W_FULL)
			return 1;
	}
	for (i = 0; q->qtype == DNS_T_SRV && i < k; i++) {
		if (!v[i]->first)
			continue;	/* one glue record per target */
		inst_records(c, q->qtype, v[i], &r);
		if (r.has_glue && addr_write(w, DNS_SEC_ADDITIONAL, r.target,
		    ttl, &r.glue) == DNS_W_FULL)
			return 1;
	}
	return 0;
}

/*
 * service_answer - the healthy instances of a service as A/AAAA/CNAME or
 * SRV records: shuffled, repeated addresses dropped, limited and trimmed
 */
static size_t
service_answer(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, const void *body, size_t len, int tcp,
    uint32_t now, uint64_t *rng, struct dns_writer *w, unsigned char *buf,
    size_t cap)
{
	struct attr_iter it;
	struct attr a;
	struct inst *all = NULL, **v = NULL, *t;
	struct inst_rr r;
	size_t n = 0, nalloc = 0, nrec = 0, most, kmax, lo, hi, mid, i, j;
	size_t out;
	uint32_t ttl;
	int more = 0;

	ttl = l->ttl >= 0 ? (uint32_t)l->ttl : dns_answer_ttl(c, l->service);
	attr_iter_init(&it, body, body != NULL ? len : 0);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY)
			continue;
		if (n == nalloc) {
			nalloc = nalloc ? nalloc * 2 : 16;
			if ((all = realloc(all, nalloc * sizeof(*all))) ==
			    NULL)
				log_fatal("out of memory");
		}
		if (inst_read(c, &a, &all[n]) == 0)
			n++;
	}
	if (n == 0) {
		free(all);
		return empty(c, w, DNS_R_NXDOMAIN, now);
	}
	if ((v = calloc(n, sizeof(*v))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		v[i] = &all[i];
	/* Fisher-Yates, so each client sees a different first answer. */
	for (i = n - 1; rng != NULL && i > 0; i--) {
		j = rng_next(rng) % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
	/*
	 * Keep the instances that give a record, without repeating an
	 * address (Consul does the same). A record takes 16 bytes at least,
	 * so no more than limit / 16 can be sent: collecting stops there,
	 * which bounds the quadratic search for repeats.
	 */
	most = (tcp ? DNS_TCP_MAX : dns_udp_limit(q, DNS_EDNS_SIZE)) / 16;
	if (c->a_record_limit > 0 && c->a_record_limit < most)
		most = c->a_record_limit;
	for (i = 0; i < n; i++) {
		if (!inst_records(c, q->qtype, v[i], &r))
			continue;
		for (j = 0; j < nrec; j++) {
			if (q->qtype != DNS_T_SRV && same(&v[j]->addr,
			    &v[i]->addr))
				break;
			if (q->qtype == DNS_T_SRV && same_target(v[j], v[i]))
				v[i]->first = 0;
		}
		if (j < nrec)
			continue;
		if (nrec == most) {
			more = c->a_record_limit == 0 ||
			    most < c->a_record_limit;
			break;
		}
		v[nrec++] = v[i];
	}
	if (nrec == 0) {
		out = empty(c, w, DNS_R_NOERROR, now);
		goto done;
	}
	kmax = nrec;
	if (!tcp && !q->edns) {
		lo = c->udp_answer_limit < 1 ? 1 : c->udp_answer_limit;
		if (lo > DNS_ANSWER_UDP_MAX)
			lo = DNS_ANSWER_UDP_MAX;
		if (kmax > lo)
			kmax = lo;
	}
	/* The largest count whose records and glue all fit. */
	if (svc_write(c, q, l, v, kmax, ttl, w) != 0) {
		lo = 0;
		hi = kmax - 1;
		while (lo < hi) {
			mid = (lo + hi + 1) / 2;
			begin(w, q, tcp, buf, cap);
			if (svc_write(c, q, l, v, mid, ttl, w) == 0)
				lo = mid;
			else
				hi = mid - 1;
		}
		begin(w, q, tcp, buf, cap);
		svc_write(c, q, l, v, lo, ttl, w);
		kmax = lo;
	}
	if ((kmax < nrec || more) && c->enable_truncate)
		dns_writer_set_flags(w, DNS_F_TC);
	out = dns_writer_finish(w);
done:
	free(v);
	free(all);
	return out;
}

/* cname_add - host into out[] unless it is there; 0 when out is full */
static int
cname_add(const char *addr, uint16_t qtype, char (*out)[DNS_NAMEBUF],
    size_t *n, size_t max)
{
	struct addr_rr r;
	size_t i;

	if (!addr_rr(addr, qtype, &r) || r.type != DNS_T_CNAME)
		return 1;
	for (i = 0; i < *n; i++)
		if (strcasecmp(out[i], r.host) == 0)
			return 1;
	if (*n == max)
		return 0;
	if (strlen(r.host) < DNS_NAMEBUF)	/* a valid name always is */
		memcpy(out[(*n)++], r.host, strlen(r.host) + 1);
	return 1;
}

/* dns_answer_cnames - the host names an answer would CNAME to */
size_t
dns_answer_cnames(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, const void *rec, size_t reclen,
    char (*out)[DNS_NAMEBUF], size_t max)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	struct inst in;
	char addr[256];
	size_t n = 0;

	if (rec == NULL || max == 0 || (!want_a(q->qtype) &&
	    !want_aaaa(q->qtype)))
		return 0;
	if (l->kind == DNS_K_NODE) {
		if (attr_index(rec, reclen, tab, ATTR_TAB) == 0) {
			attr_text(&tab[A_ADDRESS], addr, sizeof(addr));
			cname_add(addr, q->qtype, out, &n, max);
		}
		return n;
	}
	if (l->kind != DNS_K_SERVICE && l->kind != DNS_K_QUERY)
		return 0;
	attr_iter_init(&it, rec, reclen);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY || inst_read(c, &a, &in) == -1)
			continue;
		attr_text(&in.addr, addr, sizeof(addr));
		if (!cname_add(addr, q->qtype, out, &n, max))
			break;
	}
	return n;
}

/* addr_is - does the string attribute hold l's address */
static int
addr_is(const struct attr *a, const struct dns_lookup *l)
{
	unsigned char ip[16];
	char text[64];

	if (attr_strcpy(a, text, sizeof(text)) == -1 ||
	    inet_pton(l->family == 4 ? AF_INET : AF_INET6, text, ip) != 1)
		return 0;
	return memcmp(ip, l->addr, l->family == 4 ? 4 : 16) == 0;
}

/* dns_answer_ptr - the node, else the service, with l's address */
int
dns_answer_ptr(const struct dns_answer_cfg *c, const struct dns_lookup *l,
    const void *body, size_t len, int services, char *out, size_t n)
{
	struct attr_iter it;
	struct attr a, et[ATTR_TAB], rt[ATTR_TAB];
	char suffix[DNS_NAMEBUF + 80], name[256];

	attr_iter_init(&it, body, body != NULL ? len : 0);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, et, ATTR_TAB) < 0)
			continue;
		if (!services) {
			if (!addr_is(&et[A_ADDRESS], l) ||
			    attr_strcpy(&et[A_NODE], name, sizeof(name)) == -1)
				continue;
			snprintf(suffix, sizeof(suffix), "node.%s.%s", c->dc,
			    c->domain);
		} else {
			if (!attr_present(&et[A_SERVICE_REC]) ||
			    attr_index(et[A_SERVICE_REC].val,
			    et[A_SERVICE_REC].len, rt, ATTR_TAB) < 0 ||
			    !addr_is(&rt[A_ADDRESS], l) ||
			    attr_strcpy(&rt[A_SERVICE_NAME], name,
			    sizeof(name)) == -1)
				continue;
			snprintf(suffix, sizeof(suffix), "service.%s",
			    c->domain);
		}
		if (name_of(name, suffix, out, n) == 0)
			return 1;
	}
	return 0;
}

/* addr_answer - <hex>.addr: the address itself */
static size_t
addr_answer(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, struct dns_writer *w, uint32_t now)
{
	int r = 0;

	if (l->family == 4 && want_a(q->qtype))
		r = dns_writer_a(w, DNS_SEC_ANSWER, q->qname_orig, c->node_ttl,
		    l->addr);
	else if (l->family == 6 && want_aaaa(q->qtype))
		r = dns_writer_aaaa(w, DNS_SEC_ANSWER, q->qname_orig,
		    c->node_ttl, l->addr);
	else
		return empty(c, w, DNS_R_NOERROR, now);
	(void)r;
	return dns_writer_finish(w);
}

/* dns_answer_build - see dns_answer.h */
size_t
dns_answer_build(const struct dns_answer_cfg *c, const struct dns_query *q,
    const struct dns_lookup *l, const void *rec, size_t reclen, int tcp,
    uint32_t now, uint64_t *rng, unsigned char *buf, size_t cap)
{
	static struct dns_answer_cfg alt;	/* one thread: no race */
	struct dns_writer w;

	if (l->alt) {
		/* Names made for the answer are under alt_domain too. */
		alt = *c;
		memcpy(alt.domain, c->alt_domain, sizeof(alt.domain));
		alt.domain_labels = c->alt_labels;
		c = &alt;
	}
	if (begin(&w, q, tcp, buf, cap) == -1)
		return dns_answer_error(q, DNS_R_SERVFAIL, 1, buf, cap);
	switch (l->kind) {
	case DNS_K_SOA:
		soa_add(c, &w, DNS_SEC_ANSWER, now);
		ns_add(c, &w, DNS_SEC_AUTHORITY, rec, reclen, rng);
		return dns_writer_finish(&w);
	case DNS_K_NS:
		ns_add(c, &w, DNS_SEC_ANSWER, rec, reclen, rng);
		return dns_writer_finish(&w);
	case DNS_K_ADDR:
		return addr_answer(c, q, l, &w, now);
	case DNS_K_NODE:
		return node_answer(c, q, l, rec, reclen, &w, now);
	case DNS_K_SERVICE:
	case DNS_K_QUERY:
		return service_answer(c, q, l, rec, reclen, tcp, now, rng, &w,
		    buf, cap);
	case DNS_K_PTR:
		if (rec == NULL || reclen == 0 ||
		    memchr(rec, '\0', reclen) == NULL)
			return empty(c, &w, DNS_R_NXDOMAIN, now);
		dns_writer_ptr(&w, DNS_SEC_ANSWER, q->qname_orig, c->node_ttl,
		    rec);
		return dns_writer_finish(&w);
	case DNS_K_INVALID:
		return empty(c, &w, DNS_R_NXDOMAIN, now);
	case DNS_K_NOTIMP:
		return dns_answer_error(q, DNS_R_NOTIMP, 1, buf, cap);
	case DNS_K_OUTSIDE:
	default:
		return dns_answer_error(q, DNS_R_REFUSED, 0, buf, cap);
	}
}

/* dns_answer_error - rcode and nothing else, OPT echoed */
size_t
dns_answer_error(const struct dns_query *q, int rcode, int aa,
    unsigned char *buf, size_t cap)
{
	struct dns_writer w;
	uint16_t flags = aa ? DNS_F_AA : 0;

	if (dns_writer_begin(&w, buf, cap, cap, q, rcode, flags) == -1)
		return dns_writer_error(buf, cap, q, rcode, flags);
	if (q != NULL && q->edns)
		w.edns_size = q->edns_udp_size < DNS_EDNS_SIZE ?
		    q->edns_udp_size : DNS_EDNS_SIZE;
	return dns_writer_finish(&w);
}
