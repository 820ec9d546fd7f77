/*
 * dns_answer - what a DNS question under our domain means, and the answer
 * to it built from kvd's reply (COMPAT.md section 2).
 *
 * Pure code like dns_packet: no sockets, no libev. The daemon parses a
 * query, calls dns_answer_classify() to learn which kvd read (if any) it
 * needs, and hands kvd's reply to dns_answer_build(). Time and randomness
 * come in as arguments, so tests are deterministic.
 *
 * Name forms, as Consul parses them (labels before the domain):
 *	<node>.node[.<dc>]			MSG_CAT_NODE
 *	[<tag>.]<service>.service[.<dc>]	MSG_HEALTH_SERVICE
 *	_<service>._<tag|tcp>[.service][.<dc>]	RFC 2782 ("service" may be
 *						left out in SRV questions)
 *	<hex8|hex32>.addr[.<dc>]		no read: the address itself
 *	<id|name>.query[.<dc>]			MSG_QUERY_EXECUTE
 *	<ip reversed>.in-addr.arpa, ip6.arpa	MSG_CAT_NODES, then every
 *						service (PTR and ANY only)
 * Node names and tags may contain dots (the labels are joined). A dc that
 * is not ours, a name of any other form, and a second label between the
 * kind and the domain give NXDOMAIN with the SOA. SOA and NS questions
 * for any name under the domain get the zone's SOA or NS, as in Consul:
 * NS names up to three servers (the "consul" service's instances) with
 * their addresses as glue, or ns.<domain> when none is known. A name
 * under alt_domain is answered as under the domain, and every name the
 * answer makes (SRV targets, NS, SOA) is under alt_domain too.
 *
 * Left out: other datacenters and weights (SRV weight is always 1).
 */
#ifndef CAIRN_DNS_ANSWER_H
#define CAIRN_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "dns_packet.h"

#define DNS_ANSWER_UDP_MAX	8	/* Consul's ceiling on udp_answer_limit */
#define DNS_ANSWER_TTLS		64	/* service_ttl entries */
#define DNS_ANSWER_NS		3	/* servers named in NS answers */
#define DNS_ANSWER_CHASE	5	/* CNAME targets resolved per answer */
#define DNS_ANSWER_CHASE_ADDRS	8	/* addresses kept of each */

/* A host name an answer gives as a CNAME, resolved by the recursors. */
struct dns_chased {
	char		 host[DNS_NAMEBUF];	/* as dns_answer_cnames gave */
	size_t		 n;
	int		 family[DNS_ANSWER_CHASE_ADDRS];	/* 4 or 6 */
	unsigned char	 addr[DNS_ANSWER_CHASE_ADDRS][16];
	uint32_t	 ttl;
};

/* One service_ttl entry: "web" exactly, or "web*" (a prefix). */
struct dns_ttl {
	char		 name[128];	/* lower case, '*' removed */
	int		 prefix;
	uint32_t	 ttl;
};

/* Settings, from the agent config's domain, datacenter and dns_config. */
struct dns_answer_cfg {
	char		 domain[DNS_NAMEBUF];	/* canonical: lower, dot */
	size_t		 domain_labels;
	char		 alt_domain[DNS_NAMEBUF];	/* "" for none */
	size_t		 alt_labels;
	char		 dc[64];		/* lower case */
	unsigned	 udp_answer_limit;	/* 3 */
	unsigned	 a_record_limit;	/* 0: no limit */
	int		 enable_truncate;	/* set TC when trimmed */
	int		 only_passing;		/* drop warning too */
	uint32_t	 node_ttl;		/* 0 */
	struct dns_ttl	 service_ttl[DNS_ANSWER_TTLS];	/* see _ttl() */
	size_t		 nservice_ttl;
};

/* What a question asks for. */
enum dns_kind {
	DNS_K_OUTSIDE,		/* not under our domain: REFUSED (recursors
				   go here) */
	DNS_K_NOTIMP,		/* AXFR, IXFR */
	DNS_K_INVALID,		/* NXDOMAIN with SOA */
	DNS_K_SOA,		/* the zone's SOA */
	DNS_K_NS,		/* the zone's NS */
	DNS_K_ADDR,		/* <hex>.addr */
	DNS_K_NODE,		/* needs MSG_CAT_NODE */
	DNS_K_SERVICE,		/* needs MSG_HEALTH_SERVICE */
	DNS_K_QUERY,		/* needs MSG_QUERY_EXECUTE */
	DNS_K_PTR,		/* needs the nodes, then the services */
};

struct dns_lookup {
	enum dns_kind	 kind;
	char		 why[64];	/* INVALID: for debug logs */
	char		 node[256];	/* NODE: as asked (case kept) */
	char		 service[256];	/* SERVICE: lower case */
	char		 tag[256];	/* SERVICE: "" for none */
	int		 rfc2782;	/* SERVICE: _svc._tag form */
	char		 query[256];	/* QUERY: ID or name, lower case */
	int		 family;	/* ADDR, PTR: 4 or 6 */
	unsigned char	 addr[16];	/* ADDR, PTR */
	int		 alt;		/* asked under alt_domain */
	int64_t		 ttl;		/* QUERY: DNS.TTL in s, or -1 */
	/* Set by the caller before building: each CNAME target's own
	 * A/AAAA records follow it in the answer section. */
	const struct dns_chased	*chased;
	size_t		 nchased;
};

/*
 * dns_answer_init - settings with Consul's defaults for domain (any case,
 * trailing dot optional) and datacenter; -1 with err if domain is not a
 * usable name.
 */
int	dns_answer_init(struct dns_answer_cfg *, const char *domain,
	    const char *dc, char *err, size_t errlen);

/*
 * dns_answer_alt_domain - set alt_domain (any case, trailing dot
 * optional); -1 with err if it is not a usable name or is the domain.
 */
int	dns_answer_alt_domain(struct dns_answer_cfg *, const char *alt,
	    char *err, size_t errlen);

/*
 * dns_answer_set_ttl - one dns_config.service_ttl entry: "name" exactly,
 * "prefix*", or "*" for every other service. -1 with err when the table
 * is full or the name is too long.
 */
int	dns_answer_set_ttl(struct dns_answer_cfg *, const char *name,
	    uint32_t ttl, char *err, size_t errlen);

/*
 * dns_answer_ttl - the TTL for a service's records, as Consul picks it:
 * the exact name, else the longest matching prefix, else 0.
 */
uint32_t dns_answer_ttl(const struct dns_answer_cfg *, const char *service);

/* dns_answer_classify - what q (parsed, with a question) asks for */
void	dns_answer_classify(const struct dns_answer_cfg *,
	    const struct dns_query *q, struct dns_lookup *l);

/*
 * dns_answer_find_node - in a MSG_CAT_NODE reply (A_NODE_REC) or a
 * MSG_CAT_NODES reply (A_ENTRY records), the node record whose name is
 * name without regard to case. Returns 1 with rec/reclen pointing into
 * body, 0 when there is none.
 */
int	dns_answer_find_node(const void *body, size_t len, const char *name,
	    const unsigned char **rec, size_t *reclen);

/*
 * dns_answer_ptr - the PTR target for l's address: in a MSG_CAT_NODES
 * reply (services 0) a node with that address gives
 * "<node>.node.<dc>.<domain>."; in a MSG_CAT_SERVICE reply for every
 * service (services 1), a service with that address gives
 * "<service>.service.<domain>.". Returns 1 with the name in out[n].
 */
int	dns_answer_ptr(const struct dns_answer_cfg *, const struct dns_lookup *l,
	    const void *body, size_t len, int services, char *out, size_t n);

/*
 * dns_answer_cnames - the host names (presentation form, absolute) the
 * answer to q would give as CNAME targets, at most max of them, for the
 * caller to resolve: a node's or a healthy instance's address that is
 * not an IP address, in A, AAAA and ANY questions. rec as for build.
 */
size_t	dns_answer_cnames(const struct dns_answer_cfg *,
	    const struct dns_query *q, const struct dns_lookup *l,
	    const void *rec, size_t reclen, char (*out)[DNS_NAMEBUF],
	    size_t max);

/*
 * dns_answer_build - the whole answer to q in buf[cap].
 *	NODE:	 rec is the node record (from dns_answer_find_node), or NULL
 *		 for an unknown node.
 *	SERVICE, QUERY: rec is the body of kvd's MSG_HEALTH_SERVICE or
 *		 MSG_QUERY_EXECUTE reply (entries without a node are
 *		 skipped), NULL for an unknown query.
 *	SOA, NS: rec is the MSG_HEALTH_SERVICE reply for "consul" (the
 *		 servers), or NULL.
 *	PTR:	 rec is the target name (from dns_answer_ptr, NUL
 *		 included), or NULL: NXDOMAIN.
 *	others:	 rec is ignored.
 * tcp chooses the size limit (65535, else the UDP limit of q) and lifts
 * udp_answer_limit. now is the SOA serial. rng, when not NULL, is the
 * state of the generator that shuffles service instances. Returns the
 * answer's length, or 0 if buf cannot hold even the question.
 */
size_t	dns_answer_build(const struct dns_answer_cfg *,
	    const struct dns_query *q, const struct dns_lookup *l,
	    const void *rec, size_t reclen, int tcp, uint32_t now,
	    uint64_t *rng, unsigned char *buf, size_t cap);

/*
 * dns_answer_error - an answer with rcode and no records to q (which may
 * lack a question), echoing its OPT record with the client's size capped
 * at DNS_EDNS_SIZE. aa sets the AA flag. Returns the length, or 0 if cap
 * is under 12 bytes.
 */
size_t	dns_answer_error(const struct dns_query *q, int rcode, int aa,
	    unsigned char *buf, size_t cap);

#endif
