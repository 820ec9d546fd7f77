/*
 * fuzz_dns_query - dns_query_parse() on any bytes, then the error answer
 * built from what it read, which must read back as the same question.
 * Checks the parser's promises: DROP only for short packets and responses,
 * names that convert back to the exact wire bytes, lower case that is the
 * asked name folded, labels that split.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../dnsd/dns_packet.h"

#define MUST(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check_names - the question's three forms agree */
static void
check_names(const struct dns_query *q)
{
	unsigned char w[DNS_NAME_MAX];
	struct dns_labels l;
	size_t n, i, labels = 0;

	MUST(strlen(q->qname) == strlen(q->qname_orig));
	for (i = 0; q->qname[i] != '\0'; i++) {
		char c = q->qname_orig[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		MUST(q->qname[i] == c);
	}
	MUST(i > 0 && q->qname[i - 1] == '.');
	MUST(dns_name_wire(q->qname_orig, w, &n) == 0);
	MUST(n == q->qname_wire_len && memcmp(w, q->qname_wire, n) == 0);
	for (i = 0; q->qname_wire[i] != 0; i += 1u + q->qname_wire[i])
		labels++;
	MUST(dns_name_labels(q->qname, &l) == 0);
	MUST(l.n == labels);
}

/* LLVMFuzzerTestOneInput - parse, check, answer, read back */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[1024];
	struct dns_query q, q2;
	char err[128];
	size_t n, cap;
	int r, r2, rcode;

	r = dns_query_parse(data, size, &q, err, sizeof(err));
	if (r == DNS_PARSE_DROP) {
		MUST(size < DNS_HDR_LEN || (data[2] & 0x80));
		return 0;
	}
	MUST(size >= DNS_HDR_LEN);
	MUST(err[0] != '\0' || r == DNS_PARSE_OK);
	MUST(q.id == (data[0] << 8 | data[1]));
	MUST(r == DNS_PARSE_OK || r == DNS_PARSE_FORMERR ||
	    r == DNS_PARSE_NOTIMP || r == DNS_PARSE_BADVERS);
	MUST(r != DNS_PARSE_OK || (q.has_question && q.opcode == 0));
	MUST(r != DNS_PARSE_BADVERS || (q.edns && q.edns_version != 0));
	if (q.has_question)
		check_names(&q);
	if (q.ecs)
		MUST(q.ecs_source <= (q.ecs_family == 1 ? 32 : 128));

	rcode = r == DNS_PARSE_OK ? DNS_R_REFUSED : dns_parse_rcode(r);
	n = dns_writer_error(buf, sizeof(buf), &q, rcode, DNS_F_RA);
	MUST(n >= DNS_HDR_LEN && n <= sizeof(buf));
	MUST(buf[0] == data[0] && buf[1] == data[1] && (buf[2] & 0x80));
	MUST((buf[3] & 0xf) == (rcode & 0xf));

	/* With QR cleared the answer is a query for the same question. */
	buf[2] &= 0x7f;
	r2 = dns_query_parse(buf, n, &q2, err, sizeof(err));
	MUST(q2.id == q.id && q2.opcode == q.opcode && q2.rd == q.rd &&
	    q2.cd == q.cd);
	MUST(q2.has_question == q.has_question);
	if (q.has_question) {
		MUST(r2 == (q.opcode == 0 ? DNS_PARSE_OK : DNS_PARSE_NOTIMP));
		MUST(strcmp(q2.qname_orig, q.qname_orig) == 0);
		MUST(q2.qtype == q.qtype && q2.qclass == q.qclass);
		MUST(q2.edns == q.edns);
		MUST(q2.ecs == (q.edns && q.ecs));
	} else
		MUST(r2 == (q.opcode == 0 ? DNS_PARSE_FORMERR :
		    DNS_PARSE_NOTIMP));

	/* A cap too small for the question falls back to the header. */
	cap = size > 0 ? data[size - 1] % 64 : 0;
	n = dns_writer_error(buf, cap, &q, rcode, 0);
	MUST(cap < DNS_HDR_LEN ? n == 0 : (n >= DNS_HDR_LEN && n <= cap));
	return 0;
}
