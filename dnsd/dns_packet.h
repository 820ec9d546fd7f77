/*
 * dns_packet - the DNS wire format for dnsd: parse queries, build answers.
 *
 * Pure code: no sockets, no libev, nothing allocated. The reader is a
 * cursor that checks before every read (tinydns, dnsmasq, NSD). A name is
 * at most 255 wire octets, a label at most 63; compression pointers must
 * point strictly backwards, before every byte of the name read so far, and
 * at most DNS_PTR_HOPS of them are followed, so no input can loop.
 *
 * Names in the API are presentation format with a trailing dot, as dig
 * prints them: "web.service.consul.". A '.' or '\' inside a label is
 * written "\." or "\\", and any byte outside '!'..'~' as "\DDD" (RFC 1035
 * section 5.1), so every wire name has exactly one text form and back.
 *
 * The writer appends to a caller's fixed buffer and never grows past a
 * limit (512, the EDNS size, or 65535 for TCP). An RR that would cross
 * the limit is not written: the call returns DNS_W_FULL and the caller
 * decides whether to set TC or stop. Space for the OPT record is reserved
 * when the query had one, so finishing always fits. Names are compressed
 * against earlier ones (case-insensitively) except SRV targets, which RFC
 * 2782 says must not be.
 *
 * Left out: zone transfers, DNSSEC records, EDNS options other than client
 * subnet (RFC 7871), and dynamic update. RRs are appended in section order:
 * answers, then authority, then additional.
 */
#ifndef CAIRN_DNS_PACKET_H
#define CAIRN_DNS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN	12
#define DNS_NAME_MAX	255	/* wire octets, root label included */
#define DNS_LABEL_MAX	63
#define DNS_LABELS_MAX	127	/* a label takes 2 octets or more */
#define DNS_PTR_HOPS	64	/* pointers followed in one name */
#define DNS_UDP_MIN	512	/* RFC 1035 4.2.1 and RFC 6891 6.2.3 */
#define DNS_EDNS_SIZE	4096	/* UDP size our OPT offers */
#define DNS_TCP_MAX	65535
/*
 * A presentation name: 250 content octets in four labels of at most 63,
 * each octet escaped as \DDD, plus four dots and a NUL is 1005 bytes.
 */
#define DNS_NAMEBUF	1008

/* Types and classes. */
#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SRV	33
#define DNS_T_OPT	41
#define DNS_T_IXFR	251
#define DNS_T_AXFR	252
#define DNS_T_ANY	255

#define DNS_C_IN	1
#define DNS_C_CH	3
#define DNS_C_ANY	255

/* Opcodes and rcodes; BADVERS needs the OPT record's upper bits. */
#define DNS_OP_QUERY	0
#define DNS_R_NOERROR	0
#define DNS_R_FORMERR	1
#define DNS_R_SERVFAIL	2
#define DNS_R_NXDOMAIN	3
#define DNS_R_NOTIMP	4
#define DNS_R_REFUSED	5
#define DNS_R_BADVERS	16

/* Header flags, as the 16-bit word after the id (RFC 1035 4.1.1). */
#define DNS_F_QR	0x8000
#define DNS_F_AA	0x0400
#define DNS_F_TC	0x0200
#define DNS_F_RD	0x0100
#define DNS_F_RA	0x0080
#define DNS_F_AD	0x0020
#define DNS_F_CD	0x0010

#define DNS_EDNS_DO	0x8000	/* in the OPT record's TTL, RFC 3225 */
#define DNS_OPT_ECS	8	/* EDNS client subnet option code */

/* Sections a writer appends to, in this order. */
#define DNS_SEC_ANSWER		0
#define DNS_SEC_AUTHORITY	1
#define DNS_SEC_ADDITIONAL	2

/* A read cursor over one message; pointers are offsets into p. */
struct dns_cursor {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
};

/* One resource record as read: rdata is an offset into the message. */
struct dns_rr {
	unsigned char	 name[DNS_NAME_MAX];	/* uncompressed */
	size_t		 name_len;
	uint16_t	 type;
	uint16_t	 rclass;
	uint32_t	 ttl;
	uint16_t	 rdlen;
	size_t		 rdata;
};

struct dns_query {
	uint16_t	 id;
	uint8_t		 opcode;
	uint8_t		 rd;		/* recursion desired */
	uint8_t		 cd;		/* checking disabled */
	uint8_t		 has_question;	/* fields below are set */
	uint16_t	 qtype;
	uint16_t	 qclass;
	/* The name lower-cased for lookups, as asked, and as asked on the
	 * wire (echoed in answers, so clients see their own case). */
	char		 qname[DNS_NAMEBUF];
	char		 qname_orig[DNS_NAMEBUF];
	unsigned char	 qname_wire[DNS_NAME_MAX];
	size_t		 qname_wire_len;

	uint8_t		 edns;		/* a good OPT was read */
	uint8_t		 edns_version;
	uint8_t		 edns_do;
	uint16_t	 edns_udp_size;	/* see dns_udp_limit() */

	uint8_t		 ecs;		/* client subnet was read */
	uint8_t		 ecs_source;	/* source prefix length */
	uint16_t	 ecs_family;	/* 1 IPv4, 2 IPv6 */
	unsigned char	 ecs_addr[16];	/* (source + 7) / 8 used */
};

/* What dns_query_parse() found and what the caller should answer. */
#define DNS_PARSE_OK		0
#define DNS_PARSE_DROP		-1	/* under 12 bytes; a response */
#define DNS_PARSE_FORMERR	-2	/* header read, rest bad */
#define DNS_PARSE_NOTIMP	-3	/* opcode is not QUERY */
#define DNS_PARSE_BADVERS	-4	/* EDNS version is not 0 */

/*
 * dns_query_parse - read one query from pkt[0..len).
 * On every result but DROP, q->id, opcode, rd and cd are set, and
 * q->has_question says whether the question was read (so an error answer
 * can echo it); q->edns is set only for a well-formed OPT record. Bytes
 * after the last counted record are ignored. err says why it failed.
 */
int	dns_query_parse(const unsigned char *pkt, size_t len,
	    struct dns_query *q, char *err, size_t errlen);

/* dns_parse_rcode - the rcode to answer for a parse result (-1: drop) */
int	dns_parse_rcode(int result);

/*
 * dns_udp_limit - the largest UDP answer for this query: 512 without EDNS,
 * else the client's size (at least 512) capped at ours.
 */
size_t	dns_udp_limit(const struct dns_query *q, size_t ours);

/* Cursor reads: 0 on success, -1 (nothing consumed) if it runs short. */
void	dns_cursor_init(struct dns_cursor *, const unsigned char *, size_t);
int	dns_cursor_u8(struct dns_cursor *, uint8_t *);
int	dns_cursor_u16(struct dns_cursor *, uint16_t *);
int	dns_cursor_u32(struct dns_cursor *, uint32_t *);
int	dns_cursor_skip(struct dns_cursor *, size_t);
/*
 * dns_cursor_name - read a possibly compressed name into wire[] (at least
 * DNS_NAME_MAX bytes) uncompressed; the cursor moves past it.
 */
int	dns_cursor_name(struct dns_cursor *, unsigned char *wire,
	    size_t *wlen);
/* dns_cursor_rr - read one RR header and skip its rdata */
int	dns_cursor_rr(struct dns_cursor *, struct dns_rr *);

/*
 * dns_name_text - wire name to presentation form in out[outlen]
 * (DNS_NAMEBUF always suffices); lower != 0 folds A-Z to a-z.
 * dns_name_wire - presentation form (trailing dot optional) to wire form
 * in out[DNS_NAME_MAX]. Both return 0, or -1 for a name that is bad or
 * does not fit.
 */
int	dns_name_text(const unsigned char *wire, size_t wlen, char *out,
	    size_t outlen, int lower);
int	dns_name_wire(const char *name, unsigned char *out, size_t *outlen);

/*
 * dns_name_labels - split a presentation name at its unescaped dots.
 * "web.service.consul." gives n = 3, label = {"web", "service", "consul"}
 * and off = {0, 4, 12}, so name + off[i] is the suffix from label i on.
 * Labels keep their escapes. "." gives n = 0. -1 for an empty label, a
 * name too long, or more than DNS_LABELS_MAX labels.
 */
struct dns_labels {
	size_t		 n;
	const char	*label[DNS_LABELS_MAX];
	size_t		 off[DNS_LABELS_MAX];
	char		 buf[DNS_NAMEBUF];
};
int	dns_name_labels(const char *name, struct dns_labels *);

/* Writer results. */
#define DNS_W_OK	0
#define DNS_W_FULL	1	/* over the limit: not written */
#define DNS_W_ERR	-1	/* bad name or string: w->err */

#define DNS_COMP_MAX	128	/* names remembered for compression */

struct dns_writer {
	unsigned char	*buf;
	size_t		 limit;		/* at most cap, 65535 */
	size_t		 len;
	size_t		 reserve;	/* kept for the OPT */
	uint16_t	 count[3];	/* answer, authority, additional */
	int		 section;	/* last section appended to */
	int		 rcode;		/* above 15 needs OPT */
	uint16_t	 flags;
	uint8_t		 truncated;	/* an RR got DNS_W_FULL */
	uint8_t		 over;		/* this RR ran over */

	/* The OPT record written by dns_writer_finish(). */
	uint8_t		 edns;
	uint8_t		 edns_do;
	uint16_t	 edns_size;	/* DNS_EDNS_SIZE unless changed */
	uint8_t		 ecs;
	uint8_t		 ecs_scope;	/* 0 unless changed */
	uint8_t		 ecs_source;
	uint16_t	 ecs_family;
	unsigned char	 ecs_addr[16];

	size_t		 ncomp;
	uint16_t	 comp[DNS_COMP_MAX];	/* where labels went */
	char		 err[96];
};

struct dns_soa {
	const char	*mname;
	const char	*rname;
	uint32_t	 serial;
	uint32_t	 refresh;
	uint32_t	 retry;
	uint32_t	 expire;
	uint32_t	 minimum;
};

/*
 * dns_writer_begin - start an answer to q (NULL: no question, id 0) in
 * buf[cap], never longer than limit. The header echoes id, opcode, RD and
 * CD; flags adds AA, TC, RA or AD. The question is echoed and an OPT
 * record will be when q had them. -1 if even that does not fit.
 */
int	dns_writer_begin(struct dns_writer *w, unsigned char *buf,
	    size_t cap, size_t limit, const struct dns_query *q, int rcode,
	    uint16_t flags);
void	dns_writer_set_rcode(struct dns_writer *, int rcode);
void	dns_writer_set_flags(struct dns_writer *, uint16_t flags);

/* Adding RRs (class IN): DNS_W_OK, DNS_W_FULL or DNS_W_ERR. */
int	dns_writer_a(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const unsigned char addr[4]);
int	dns_writer_aaaa(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const unsigned char addr[16]);
int	dns_writer_cname(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const char *target);
int	dns_writer_ptr(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const char *target);
int	dns_writer_ns(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const char *target);
int	dns_writer_srv(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, uint16_t prio, uint16_t weight, uint16_t port,
	    const char *target);
/* dns_writer_txt - n strings, each at most 255 bytes */
int	dns_writer_txt(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const char *const *strs, size_t n);
int	dns_writer_soa(struct dns_writer *, int sec, const char *name,
	    uint32_t ttl, const struct dns_soa *);
/* dns_writer_rr - any type and class, rdata copied as it is */
int	dns_writer_rr(struct dns_writer *, int sec, const char *name,
	    uint16_t type, uint16_t rclass, uint32_t ttl, const void *rdata,
	    size_t rdlen);

/* dns_writer_finish - add the OPT record, patch counts; returns length */
size_t	dns_writer_finish(struct dns_writer *);

/*
 * dns_writer_error - a whole answer with rcode (FORMERR, NOTIMP, REFUSED,
 * SERVFAIL, BADVERS) to q, echoing its question and OPT record when they
 * were read. Returns its length, 0 if cap is under 12 bytes.
 */
size_t	dns_writer_error(unsigned char *buf, size_t cap,
	    const struct dns_query *q, int rcode, uint16_t flags);

#endif
