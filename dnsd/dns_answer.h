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
 * Node names and tags may contain dots (the labels are joined). A dc that
 * is not ours, a name of any other form, and a second label between the
 * kind and the domain give NXDOMAIN with the SOA. SOA and NS questions
 * for any name under the domain get the zone's SOA or NS, as in Consul.
 *
 * Left out for now: prepared queries (.query.), PTR for in-addr.arpa,
 * other datacenters, node_ttl/service_ttl (TTLs are 0), only_passing,
 * weights, and NS records naming the servers (NS is ns.<domain>).
 */
#ifndef CAIRN_DNS_ANSWER_H
#define CAIRN_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "dns_packet.h"

#define DNS_ANSWER_UDP_MAX	8	/* Consul's ceiling on udp_answer_limit */

/* Settings, from the agent config's domain, datacenter and dns_config. */
struct dns_answer_cfg {
	char		 domain[DNS_NAMEBUF];	/* canonical: lower, dot */
	size_t		 domain_labels;
	char		 dc[64];		/* lower case */
	unsigned	 udp_answer_limit;	/* 3 */
	unsigned	 a_record_limit;	/* 0: no limit */
	int		 enable_truncate;	/* set TC when trimmed */
	uint32_t	 node_ttl;		/* 0 */
	uint32_t	 service_ttl;		/* 0 */
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
};

struct dns_lookup {
	enum dns_kind	 kind;
	char		 why[64];	/* INVALID: for debug logs */
	char		 node[256];	/* NODE: as asked (case kept) */
	char		 service[256];	/* SERVICE: lower case */
	char		 tag[256];	/* SERVICE: "" for none */
	int		 rfc2782;	/* SERVICE: _svc._tag form */
	int		 family;	/* ADDR: 4 or 6 */
	unsigned char	 addr[16];	/* ADDR */
};

/*
 * dns_answer_init - settings with Consul's defaults for domain (any case,
 * trailing dot optional) and datacenter; -1 with err if domain is not a
 * usable name.
 */
int	dns_answer_init(struct dns_answer_cfg *, const char *domain,
	    const char *dc, char *err, size_t errlen);

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
 * dns_answer_build - the whole answer to q in buf[cap].
 *	NODE:	 rec is the node record (from dns_answer_find_node), or NULL
 *		 for an unknown node.
 *	SERVICE: rec is the body of kvd's MSG_HEALTH_SERVICE reply.
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
