/*
 * cairn-dnsd - Consul's DNS interface, over UDP and TCP.
 *
 * Each query is parsed (dns_packet), classified (dns_answer), and, for
 * nodes and services, answered from one kvd read over run_dir/kvd.sock;
 * kvd's reply becomes the answer (dns_answer_build). A client agent has
 * no kvd: there the read goes to a server's RPC port (common/servers)
 * wrapped in MSG_RAFT_READ, stale, as Consul's DNS reads by default. A
 * query waits at most KVD_TIMEOUT for kvd, then gets SERVFAIL: never
 * silence. A UDP query keeps its client's address while it waits; a TCP
 * connection carries length-prefixed queries, pipelined (TCP_MAX_QUEUE in
 * flight, reading pauses beyond), answered in order, closed after
 * TCP_IDLE of silence or on a message that is not a query.
 *
 * Consistency, as Consul's DNS: with allow_stale (the default) a server
 * reads its own kvd and a client any server's, stale; an answer whose
 * server last heard its leader longer than max_stale ago is read again
 * in the default mode. Without allow_stale every read is a default one
 * (on a server, kvd serves it under the leader's lease, or raftd does).
 * Beyond Consul: every reply is kept (cache.c), and when no server can
 * answer, the last reply for the same read is used if it is no older
 * than max_stale, with a warning in the log. With allow_stale, a kept
 * catalog reply also answers at once, without kvd, while the catalog
 * has not changed since it was read (fresh.c watches the index).
 *
 * Names outside the domain, and reverse names no node or service has,
 * go to the recursors (recurse.c); with none they get REFUSED (outside)
 * or NXDOMAIN (reverse). RA is set on every answer when recursors exist.
 *
 * An instance whose address is a host name is answered as a CNAME; with
 * recursors, the host's own addresses follow it (dq_chase).
 *
 * run_dir/dnsd.sock answers MSG_PING only, so supervisors can see dnsd is
 * up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "daemon.h"
#include "dns_answer.h"
#include "duration.h"
#include "fresh.h"
#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "server.h"
#include "recurse.h"
#include "servers.h"
#include "sock.h"
#include "udp.h"

#define KVD_TIMEOUT	2.0	/* for all of a query's kvd reads */
#define TCP_IDLE	10.0	/* seconds without a query or an answer */
#define TCP_MAX_CONNS	512
#define TCP_MAX_QUEUE	64	/* queries in flight on one connection */
#define TCP_OUT_MAX	(256u << 10)	/* unread answers before we wait */
#define MAX_PENDING	8192	/* kvd reads in flight, all clients */
#define CACHE_BYTES	(16u << 20)	/* replies kept for outages */
#define STALE_LOG_EVERY	60.0	/* seconds between "answering stale" */

struct tcp_client;
struct dq;

/* One CNAME target of a query, at the recursors. */
struct chase {
	struct dq	*dq;
	size_t		 i;
};

/* One query, from its arrival to its answer. */
struct dq {
	struct dns_query	 q;
	struct dns_lookup	 l;
	uint16_t		 stage;		/* the kvd read in flight */
	int			 mode;		/* its SERVERS_READ_* */
	int			 via_raftd;	/* a server's read moved on */
	struct buf		 key;		/* its request, the cache key */
	unsigned char		*pkt;		/* the query, for recursion */
	size_t			 pktlen;
	/* CNAME targets being resolved, and the reply kept meanwhile */
	unsigned char		*hold;
	size_t			 holdlen;
	struct dns_chased	*chased;
	struct chase		*chase;
	size_t			 nchased;
	unsigned		 waiting;
	ev_tstamp		 t0;		/* arrival */
	int			 tcp;
	/* UDP: where the answer goes. */
	int			 fd;
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	/* TCP: NULL once the client has gone (freed when kvd answers). */
	struct tcp_client	*tc;
	unsigned char		*resp;		/* answer waiting its turn */
	size_t			 resplen;
	int			 done;
	TAILQ_ENTRY(dq)		 entry;
};

struct tcp_client {
	int			 fd;
	ev_io			 rio, wio;
	ev_timer		 idle;
	struct buf		 in, out;
	TAILQ_HEAD(, dq)	 queue;		/* in arrival order */
	unsigned		 nqueue;
	int			 busy;		/* inside tcp_process */
	int			 eof;		/* no more queries: finish, close */
	char			 peer[64];
	LIST_ENTRY(tcp_client)	 entry;
};

static struct {
	struct ev_loop		*loop;
	struct dns_answer_cfg	 ac;
	struct server		 srv;
	/* kvd: this server's own, or a server's RPC port on a client */
	struct rpc		*kvd;
	int			 kvd_mode;	/* SERVERS_READ_* */
	struct rpc		 kvd_local;
	struct rpc		 raftd;		/* a server's, for moved reads */
	struct servers		 servers;
	/* dns_config's consistency settings */
	int			 allow_stale;
	uint64_t		 max_stale_ms;
	struct dcache		*cache;
	struct fresh		 fresh;		/* which of cache is current */
	unsigned		 nstale;	/* answered from the cache */
	ev_tstamp		 stale_logged;
	struct recurse		*rec;		/* NULL: no recursors */
	int			 udp_fd, tcp_fd;
	ev_io			 udp_io, tcp_io;
	ev_timer		 accept_pause;
	LIST_HEAD(, tcp_client)	 clients;
	unsigned		 nclients;
	unsigned		 npending;
	uint64_t		 rng;
	/* Answers are built here: a TCP length prefix, then the message. */
	unsigned char		 out[2 + DNS_TCP_MAX];
	struct udp_batch	 udp;		/* datagrams in and out */
	int			 udp_batching;	/* answers queue for one send */
} D;

static void	tcp_drain(struct tcp_client *);
static void	tcp_process(struct tcp_client *);

/* dq_peer - the client's address, for log lines */
static const char *
dq_peer(const struct dq *dq, char *out, size_t n)
{
	if (dq->tcp)
		snprintf(out, n, "%s", dq->tc != NULL ? dq->tc->peer : "tcp");
	else
		sock_addr_str((const struct sockaddr *)&dq->from, out, n);
	return out;
}

/* dq_release - what a query holds besides its answer */
static void
dq_release(struct dq *dq)
{
	buf_free(&dq->key);
	free(dq->pkt);
	free(dq->hold);
	free(dq->chased);
	free(dq->chase);
	dq->pkt = dq->hold = NULL;
	dq->chased = NULL;
	dq->chase = NULL;
}

/* dq_free - a query whose answer nobody waits for any more */
static void
dq_free(struct dq *dq)
{
	dq_release(dq);
	free(dq);
}

/* dq_finish - send the answer in D.out + 2 (n bytes), free the query */
static void
dq_finish(struct dq *dq, size_t n)
{
	char peer[64];

	dq_release(dq);
	if (D.rec != NULL && n >= DNS_HDR_LEN)
		D.out[2 + 3] |= DNS_F_RA;	/* the flags' low byte */
	if (!dq->tcp) {
		if (n > 0 && (!D.udp_batching || dq->fd != D.udp_fd ||
		    udp_batch_queue(&D.udp, (struct sockaddr *)&dq->from,
		    dq->fromlen, D.out + 2, n) < 0) &&
		    sendto(dq->fd, D.out + 2, n, 0,
		    (struct sockaddr *)&dq->from, dq->fromlen) == -1)
			log_debug("%s: send: %s", dq_peer(dq, peer,
			    sizeof(peer)), strerror(errno));
		free(dq);
		return;
	}
	if (dq->tc == NULL) {
		free(dq);
		return;
	}
	if (n > 0) {
		be16_put(D.out, (uint16_t)n);
		if ((dq->resp = malloc(n + 2)) == NULL)
			log_fatal("out of memory");
		memcpy(dq->resp, D.out, n + 2);
		dq->resplen = n + 2;
	}
	dq->done = 1;
	tcp_drain(dq->tc);
}

/* dq_error - an answer with rcode and no records */
static void
dq_error(struct dq *dq, int rcode, int aa)
{
	size_t cap = dq->tcp ? DNS_TCP_MAX : dns_udp_limit(&dq->q,
	    DNS_EDNS_SIZE);

	dq_finish(dq, dns_answer_error(&dq->q, rcode, aa, D.out + 2, cap));
}

static void	dq_answer(struct dq *, const void *, size_t);

/* dq_chased - one CNAME target resolved (or not: it stays a CNAME) */
static void
dq_chased(void *arg, int status, const struct recurse_addr *addrs, size_t n,
    uint32_t ttl)
{
	struct chase *ch = arg;
	struct dq *dq = ch->dq;
	struct dns_chased *c = &dq->chased[ch->i];
	size_t k;

	D.npending--;
	for (k = 0; status == 0 && k < n && c->n < DNS_ANSWER_CHASE_ADDRS;
	    k++) {
		c->family[c->n] = addrs[k].family == AF_INET ? 4 : 6;
		memcpy(c->addr[c->n++], addrs[k].addr, 16);
	}
	c->ttl = ttl;
	if (--dq->waiting > 0)
		return;
	if (dq->tcp && dq->tc == NULL)
		dq_free(dq);
	else
		dq_answer(dq, dq->hold, dq->holdlen);
}

/*
 * dq_chase - with recursors, resolve the host names the answer would
 * give as CNAMEs first (Consul does the same), keeping the reply; 0 when
 * there is nothing to wait for
 */
static int
dq_chase(struct dq *dq, const void *rec, size_t len)
{
	char names[DNS_ANSWER_CHASE][DNS_NAMEBUF];
	size_t n, i;

	if (D.rec == NULL || dq->chased != NULL ||
	    (n = dns_answer_cnames(&D.ac, &dq->q, &dq->l, rec, len, names,
	    DNS_ANSWER_CHASE)) == 0)
		return 0;
	if ((dq->hold = malloc(len)) == NULL ||
	    (dq->chased = calloc(n, sizeof(*dq->chased))) == NULL ||
	    (dq->chase = calloc(n, sizeof(*dq->chase))) == NULL)
		log_fatal("out of memory");
	memcpy(dq->hold, rec, len);
	dq->holdlen = len;
	dq->nchased = n;
	for (i = 0; i < n; i++) {
		memcpy(dq->chased[i].host, names[i], sizeof(names[i]));
		dq->chase[i].dq = dq;
		dq->chase[i].i = i;
		if (recurse_addrs(D.rec, names[i], dq_chased,
		    &dq->chase[i]) == 0) {
			dq->waiting++;
			D.npending++;
		}
	}
	return dq->waiting > 0;
}

/* dq_answer - the answer built from kvd's record(s) */
static void
dq_answer(struct dq *dq, const void *rec, size_t len)
{
	if (dq_chase(dq, rec, len))
		return;
	dq->l.chased = dq->chased;
	dq->l.nchased = dq->nchased;
	dq_finish(dq, dns_answer_build(&D.ac, &dq->q, &dq->l, rec, len,
	    dq->tcp, (uint32_t)time(NULL), &D.rng, D.out + 2, DNS_TCP_MAX));
}

static void	dq_call(struct dq *, uint16_t type);

/* dq_servfail - no answer could be had: say why in the debug log */
static void
dq_servfail(struct dq *dq, const char *why)
{
	char peer[64];

	log_debug("%s: %s: SERVFAIL: %s", dq_peer(dq, peer, sizeof(peer)),
	    dq->q.qname, why);
	dq_error(dq, DNS_R_SERVFAIL, 1);
}

/* dq_recursed - the recursors' answer, or their failure */
static void
dq_recursed(void *arg, int status, const unsigned char *ans, size_t alen)
{
	struct dq *dq = arg;
	struct dns_writer w;
	size_t limit;

	D.npending--;
	if (dq->tcp && dq->tc == NULL) {
		dq_free(dq);
		return;
	}
	if (status < 0 || alen < DNS_HDR_LEN || alen > DNS_TCP_MAX) {
		dq_servfail(dq, "no recursor answered");
		return;
	}
	limit = dq->tcp ? DNS_TCP_MAX : dns_udp_limit(&dq->q, DNS_EDNS_SIZE);
	if (alen > limit) {
		/* Too long for this client's UDP: TC, so it asks over TCP. */
		if (dns_writer_begin(&w, D.out + 2, limit, limit, &dq->q,
		    ans[3] & 0xf, DNS_F_TC | (ans[2] & 0x04 ? DNS_F_AA : 0))
		    == -1) {
			dq_servfail(dq, "answer does not fit");
			return;
		}
		dq_finish(dq, dns_writer_finish(&w));
		return;
	}
	memcpy(D.out + 2, ans, alen);
	be16_put(D.out + 2, dq->q.id);		/* the client's ID back */
	dq_finish(dq, alen);
}

/*
 * dq_recurse - hand the query to the recursors; with none, answer rcode
 * (REFUSED outside the domain, NXDOMAIN for an unknown reverse name)
 */
static void
dq_recurse(struct dq *dq, int rcode)
{
	if (D.rec == NULL || dq->pkt == NULL) {
		if (rcode == DNS_R_NXDOMAIN)
			dq_answer(dq, NULL, 0);
		else
			dq_error(dq, rcode, 0);
		return;
	}
	if (D.npending >= MAX_PENDING) {
		dq_servfail(dq, "too many queries in flight");
		return;
	}
	D.npending++;
	if (recurse_send(D.rec, dq->pkt, dq->pktlen, dq_recursed, dq) < 0) {
		D.npending--;
		dq_servfail(dq, "recursors unusable");
	}
}

/* stale_log - say, now and then, that answers come from old data */
static void
stale_log(struct dq *dq, const char *why, double age)
{
	D.nstale++;
	if (D.stale_logged > 0 &&
	    ev_now(D.loop) - D.stale_logged < STALE_LOG_EVERY)
		return;
	D.stale_logged = ev_now(D.loop);
	log_warn("no server answers (%s): answering from data up to "
	    "max_stale old, %.0fs for %s (%u such answers)", why, age,
	    dq->q.qname, D.nstale);
}

/*
 * query_ttl - from a prepared query's record (the first entry of its
 * execute reply): the service whose service_ttl applies, and its own
 * DNS.TTL, which overrides that
 */
static void
query_ttl(struct dq *dq, const void *body, size_t len)
{
	struct attr_iter it;
	struct attr a, tab[ATTR_TAB];
	char ttl[64];
	int64_t ns;

	attr_iter_init(&it, body, len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY)
			continue;
		if (attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
			return;
		if (attr_strcpy(&tab[A_SERVICE_NAME], dq->l.service,
		    sizeof(dq->l.service)) < 0)
			dq->l.service[0] = '\0';
		if (attr_strcpy(&tab[A_TTL], ttl, sizeof(ttl)) == 0 &&
		    ttl[0] != '\0' && duration_parse(ttl, &ns) == 0 &&
		    ns >= 0)
			dq->l.ttl = ns / DUR_S;
		return;
	}
}

/* dq_got - what to do with a reply (kvd's, or the cache's) */
static void
dq_got(struct dq *dq, const void *body, size_t len)
{
	const unsigned char *rec;
	char ptr[DNS_NAMEBUF];
	size_t rlen;

	switch (dq->l.kind) {
	case DNS_K_NODE:
		if (dns_answer_find_node(body, len, dq->l.node, &rec, &rlen))
			dq_answer(dq, rec, rlen);
		else if (dq->stage == MSG_CAT_NODE)
			/* kvd's lookup is exact; ours ignores case */
			dq_call(dq, MSG_CAT_NODES);
		else
			dq_answer(dq, NULL, 0);
		break;
	case DNS_K_PTR:
		if (dns_answer_ptr(&D.ac, &dq->l, body, len,
		    dq->stage == MSG_CAT_SERVICE, ptr, sizeof(ptr)))
			dq_answer(dq, ptr, strlen(ptr) + 1);
		else if (dq->stage == MSG_CAT_NODES)
			dq_call(dq, MSG_CAT_SERVICE);
		else
			dq_recurse(dq, DNS_R_NXDOMAIN);
		break;
	case DNS_K_QUERY:
		query_ttl(dq, body, len);
		dq_answer(dq, body, len);
		break;
	default:
		dq_answer(dq, body, len);
		break;
	}
}

/*
 * dq_reply_cb - kvd answered, failed, or timed out. A failure falls back
 * on the cache; SOA and NS fall back on ns.<domain>.
 */
static void
dq_reply_cb(void *arg, const struct frame *f, const char *err)
{
	struct dq *dq = arg;
	struct dcache_val v;
	uint64_t contact;
	char msg[256];

	D.npending--;
	if (dq->tcp && dq->tc == NULL) {
		dq_free(dq);		/* the client has gone */
		return;
	}
	if (f != NULL && (f->flags & FRAME_ERROR) &&
	    f->status == MSG_E_MOVED && !dq->via_raftd) {
		/* No lease for a default read here: raftd finds it. */
		dq->via_raftd = 1;
		dq_call(dq, dq->stage);
		return;
	}
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		if (f != NULL)
			err = frame_error_text(f, msg, sizeof(msg));
		if (dq->l.kind == DNS_K_QUERY && f != NULL &&
		    f->status == MSG_E_NOTFOUND) {
			dq_answer(dq, NULL, 0);
			return;
		}
		if (dcache_get(D.cache, dq->stage, buf_head(&dq->key),
		    buf_used(&dq->key), &v) && (ev_now(D.loop) - v.at) *
		    1000 <= (double)D.max_stale_ms) {
			stale_log(dq, err, ev_now(D.loop) - v.at);
			dq_got(dq, v.data, v.len);
		} else if (dq->l.kind == DNS_K_SOA || dq->l.kind == DNS_K_NS)
			dq_answer(dq, NULL, 0);
		else
			dq_servfail(dq, err);
		return;
	}
	fresh_reply_attrs(f->body, f->len, &v.index, &contact);
	if (dq->mode == SERVERS_READ_STALE && contact > D.max_stale_ms) {
		/* Consul: too stale, so ask the leader after all. */
		dq->mode = SERVERS_READ_DEFAULT;
		dq_call(dq, dq->stage);
		return;
	}
	if (D.nstale > 0) {
		log_info("servers answer again, after %u answers from "
		    "stale data", D.nstale);
		D.nstale = 0;
		D.stale_logged = 0;
	}
	v.data = f->body;
	v.len = f->len;
	v.at = ev_now(D.loop);
	v.epoch = D.fresh.epoch;
	dcache_put(D.cache, dq->stage, buf_head(&dq->key), buf_used(&dq->key),
	    &v);
	dq_got(dq, f->body, f->len);
}

/*
 * dq_kept - answer a stale catalog read from the reply kept for it, if
 * the catalog has not changed since (fresh.h); 0 when kvd must be asked
 */
static int
dq_kept(struct dq *dq)
{
	struct dcache_val v;

	if (!D.allow_stale || dq->mode != SERVERS_READ_STALE ||
	    dq->via_raftd || (dq->stage != MSG_CAT_NODE &&
	    dq->stage != MSG_CAT_NODES && dq->stage != MSG_CAT_SERVICE &&
	    dq->stage != MSG_HEALTH_SERVICE) ||
	    !dcache_get(D.cache, dq->stage, buf_head(&dq->key),
	    buf_used(&dq->key), &v) || !fresh_is(&D.fresh, v.index, v.epoch))
		return 0;
	D.fresh.hits++;
	dq_got(dq, v.data, v.len);
	return 1;
}

/*
 * dq_call - answer from a kept reply that is current, or ask kvd: a
 * server's own (with A_MODE, so it reports its leader contact and
 * refuses a default read it cannot serve), its raftd once kvd has
 * refused, or, on a client, a server. SERVFAIL at once if we are
 * swamped.
 */
static void
dq_call(struct dq *dq, uint16_t type)
{
	char err[256];
	double left = KVD_TIMEOUT - (ev_now(D.loop) - dq->t0);
	struct rpc *r = D.kvd;
	int mode = dq->mode;
	struct buf b;

	buf_reset(&dq->key);
	if (type == MSG_CAT_NODE)
		attr_put_str(&dq->key, A_NODE, dq->l.node);
	else if (type == MSG_HEALTH_SERVICE && (dq->l.kind == DNS_K_SOA ||
	    dq->l.kind == DNS_K_NS))
		attr_put_str(&dq->key, A_SERVICE_NAME, "consul");
	else if (type == MSG_HEALTH_SERVICE) {
		attr_put_str(&dq->key, A_SERVICE_NAME, dq->l.service);
		if (dq->l.tag[0] != '\0')
			attr_put_str(&dq->key, A_TAG, dq->l.tag);
	} else if (type == MSG_QUERY_EXECUTE)
		attr_put_str(&dq->key, A_KEY, dq->l.query);
	dq->stage = type;
	if (dq_kept(dq))
		return;
	if (D.npending >= MAX_PENDING) {
		dq_servfail(dq, "too many kvd reads in flight");
		return;
	}
	buf_init(&b);
	buf_append(&b, buf_head(&dq->key), buf_used(&dq->key));
	if (D.kvd_mode == SERVERS_READ_LOCAL && dq->via_raftd)
		r = &D.raftd;
	else if (D.kvd_mode == SERVERS_READ_LOCAL) {
		attr_put_u8(&b, A_MODE, (uint8_t)mode);
		mode = SERVERS_READ_LOCAL;
	}
	if (servers_read(r, mode, type, buf_head(&b), buf_used(&b),
	    left < 0.1 ? 0.1 : left, dq_reply_cb, dq, err, sizeof(err)) < 0) {
		buf_free(&b);
		/* As a failed reply: the cache may still answer. */
		D.npending++;
		dq_reply_cb(dq, NULL, err);
		return;
	}
	D.npending++;
	buf_free(&b);
}

/*
 * dq_start - parse and answer, or ask kvd. Returns -1 (dq untouched) when
 * the packet is not worth an answer; otherwise dq is the caller's no more.
 */
static int
dq_start(struct dq *dq, const unsigned char *pkt, size_t len)
{
	char err[128], peer[64];
	int r;

	dq->t0 = ev_now(D.loop);
	r = dns_query_parse(pkt, len, &dq->q, err, sizeof(err));
	if (r == DNS_PARSE_DROP) {
		log_debug("%s: dropped: %s", dq_peer(dq, peer, sizeof(peer)),
		    err);
		return -1;
	}
	if (r != DNS_PARSE_OK) {
		log_debug("%s: %s", dq_peer(dq, peer, sizeof(peer)), err);
		dq_error(dq, dns_parse_rcode(r), 0);
		return 0;
	}
	buf_init(&dq->key);
	dq->mode = D.allow_stale ? SERVERS_READ_STALE : SERVERS_READ_DEFAULT;
	dns_answer_classify(&D.ac, &dq->q, &dq->l);
	if (D.rec != NULL && (dq->l.kind == DNS_K_OUTSIDE ||
	    dq->l.kind == DNS_K_PTR)) {
		if ((dq->pkt = malloc(len)) == NULL)
			log_fatal("out of memory");
		memcpy(dq->pkt, pkt, len);
		dq->pktlen = len;
	}
	switch (dq->l.kind) {
	case DNS_K_NODE:
		dq_call(dq, MSG_CAT_NODE);
		break;
	case DNS_K_SERVICE:
	case DNS_K_SOA:
	case DNS_K_NS:
		dq_call(dq, MSG_HEALTH_SERVICE);
		break;
	case DNS_K_QUERY:
		dq_call(dq, MSG_QUERY_EXECUTE);
		break;
	case DNS_K_PTR:
		dq_call(dq, MSG_CAT_NODES);
		break;
	case DNS_K_OUTSIDE:
		dq_recurse(dq, DNS_R_REFUSED);
		break;
	case DNS_K_INVALID:
		log_debug("%s: %s: NXDOMAIN: %s", dq_peer(dq, peer,
		    sizeof(peer)), dq->q.qname, dq->l.why);
		dq_answer(dq, NULL, 0);
		break;
	default:
		dq_answer(dq, NULL, 0);
		break;
	}
	return 0;
}

/*
 * udp_read_cb - read a batch of datagrams, one query each; the answers
 * given at once leave together when the batch is done
 */
static void
udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	const struct sockaddr *from;
	const unsigned char *pkt;
	char peer[64];
	struct dq *dq;
	socklen_t fromlen;
	size_t len;
	int i, n, cut;
	unsigned lost;

	if ((n = udp_batch_recv(&D.udp, w->fd)) < 0) {
		if (errno != EINTR)
			log_debug("udp receive: %s", strerror(errno));
		return;
	}
	D.udp_batching = w->fd == D.udp_fd;
	for (i = 0; i < n; i++) {
		pkt = udp_batch_msg(&D.udp, i, &len, &from, &fromlen, &cut);
		if ((dq = calloc(1, sizeof(*dq))) == NULL)
			log_fatal("out of memory");
		dq->fd = w->fd;
		dq->fromlen = fromlen <= sizeof(dq->from) ? fromlen :
		    sizeof(dq->from);
		memcpy(&dq->from, from, dq->fromlen);
		if (cut) {
			log_debug("%s: dropped: a datagram over %d bytes",
			    dq_peer(dq, peer, sizeof(peer)), UDP_IN_MAX);
			free(dq);
			continue;
		}
		if (dq_start(dq, pkt, len) < 0)
			free(dq);
	}
	D.udp_batching = 0;
	if ((lost = udp_batch_flush(&D.udp, w->fd)) > 0)
		log_debug("udp send: %u answers lost: %s", lost,
		    strerror(errno));
}

/* tcp_close - close a connection; queries still at kvd are orphaned */
static void
tcp_close(struct tcp_client *tc, const char *why)
{
	struct dq *dq;

	log_debug("%s: closing: %s", tc->peer, why);
	ev_io_stop(D.loop, &tc->rio);
	ev_io_stop(D.loop, &tc->wio);
	ev_timer_stop(D.loop, &tc->idle);
	close(tc->fd);
	while ((dq = TAILQ_FIRST(&tc->queue)) != NULL) {
		TAILQ_REMOVE(&tc->queue, dq, entry);
		if (dq->done) {
			free(dq->resp);
			free(dq);
		} else
			dq->tc = NULL;	/* dq_reply_cb frees it */
	}
	buf_free(&tc->in);
	buf_free(&tc->out);
	LIST_REMOVE(tc, entry);
	D.nclients--;
	free(tc);
}

/* tcp_reading - read while there is room for more queries and answers */
static void
tcp_reading(struct tcp_client *tc)
{
	if (!tc->eof && tc->nqueue < TCP_MAX_QUEUE &&
	    buf_used(&tc->out) < TCP_OUT_MAX)
		ev_io_start(D.loop, &tc->rio);
	else
		ev_io_stop(D.loop, &tc->rio);
}

/* tcp_done - nothing more to read, answer or write: close */
static int
tcp_done(struct tcp_client *tc)
{
	if (tc->eof && tc->nqueue == 0 && buf_used(&tc->out) == 0) {
		tcp_close(tc, "done");
		return 1;
	}
	return 0;
}

/*
 * tcp_drain - queue the answers that are ready, in order, and start
 * writing them. Never closes the connection: callers may still hold it.
 */
static void
tcp_drain(struct tcp_client *tc)
{
	struct dq *dq;

	while ((dq = TAILQ_FIRST(&tc->queue)) != NULL && dq->done) {
		TAILQ_REMOVE(&tc->queue, dq, entry);
		tc->nqueue--;
		buf_append(&tc->out, dq->resp, dq->resplen);
		free(dq->resp);
		free(dq);
	}
	if (buf_used(&tc->out) > 0)
		ev_io_start(D.loop, &tc->wio);
	/* Room again: read on, starting with what is already buffered. */
	tcp_process(tc);
	tcp_reading(tc);
}

/*
 * tcp_process - start every complete query in the input (RFC 1035 4.2.2:
 * a two-byte length, then the message), while there is room. A message
 * too short to have a header is garbage: stop reading and close once the
 * answers already owed are written.
 */
static void
tcp_process(struct tcp_client *tc)
{
	struct dq *dq;
	size_t len;

	if (tc->busy)
		return;
	tc->busy = 1;
	while (!tc->eof && tc->nqueue < TCP_MAX_QUEUE &&
	    buf_used(&tc->out) < TCP_OUT_MAX && buf_used(&tc->in) >= 2) {
		len = be16_get(buf_head(&tc->in));
		if (len < DNS_HDR_LEN) {
			log_debug("%s: message of %zu bytes", tc->peer, len);
			tc->eof = 1;
			break;
		}
		if (buf_used(&tc->in) < 2 + len)
			break;
		if ((dq = calloc(1, sizeof(*dq))) == NULL)
			log_fatal("out of memory");
		dq->tcp = 1;
		dq->tc = tc;
		TAILQ_INSERT_TAIL(&tc->queue, dq, entry);
		tc->nqueue++;
		if (dq_start(dq, buf_head(&tc->in) + 2, len) < 0) {
			/* A response or worse: this peer is not a client. */
			TAILQ_REMOVE(&tc->queue, dq, entry);
			tc->nqueue--;
			dq_free(dq);
			tc->eof = 1;
			break;
		}
		buf_consume(&tc->in, 2 + len);
	}
	if (tc->eof)
		buf_reset(&tc->in);
	tc->busy = 0;
}

/* tcp_read_cb - read, then start the queries that are complete */
static void
tcp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_client *tc = w->data;
	ssize_t n;

	buf_reserve(&tc->in, 4096);
	n = read(tc->fd, tc->in.data + tc->in.len, tc->in.cap - tc->in.len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		tcp_close(tc, strerror(errno));
		return;
	}
	if (n == 0) {
		/* The client may have shut down its side only: answer. */
		tc->eof = 1;
		buf_reset(&tc->in);
	} else {
		tc->in.len += (size_t)n;
		ev_timer_again(D.loop, &tc->idle);
		tcp_process(tc);
	}
	tcp_reading(tc);
	tcp_done(tc);
}

/* tcp_write_cb - write queued answers */
static void
tcp_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct tcp_client *tc = w->data;
	ssize_t n;

	n = send(tc->fd, buf_head(&tc->out), buf_used(&tc->out),
	    MSG_NOSIGNAL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		tcp_close(tc, strerror(errno));
		return;
	}
	buf_consume(&tc->out, (size_t)n);
	ev_timer_again(D.loop, &tc->idle);
	if (buf_used(&tc->out) > 0)
		return;
	ev_io_stop(D.loop, &tc->wio);
	if (tcp_done(tc))
		return;
	tcp_process(tc);
	tcp_reading(tc);
}

/* tcp_idle_cb - no traffic for TCP_IDLE: close unless kvd owes answers */
static void
tcp_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct tcp_client *tc = w->data;

	if (tc->nqueue > 0) {
		ev_timer_again(loop, w);
		return;
	}
	tcp_close(tc, "idle");
}

/* accept_resume_cb - try accepting again after running out of fds */
static void
accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_io_start(loop, &D.tcp_io);
}

/* tcp_accept_cb - accept every pending connection */
static void
tcp_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockaddr_storage ss;
	struct tcp_client *tc;
	socklen_t sl;
	char peer[64];
	int fd;

	for (;;) {
		sl = sizeof(ss);
		fd = accept4(w->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Still readable: wait rather than spin. */
				log_warn("accept: %s; pausing for 1s",
				    strerror(errno));
				ev_io_stop(loop, w);
				ev_timer_set(&D.accept_pause, 1.0, 0.0);
				ev_timer_start(loop, &D.accept_pause);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		sock_addr_str((struct sockaddr *)&ss, peer, sizeof(peer));
		if (D.nclients >= TCP_MAX_CONNS) {
			log_debug("%s: over %d connections; closed", peer,
			    TCP_MAX_CONNS);
			close(fd);
			continue;
		}
		if ((tc = calloc(1, sizeof(*tc))) == NULL)
			log_fatal("out of memory");
		tc->fd = fd;
		snprintf(tc->peer, sizeof(tc->peer), "%s", peer);
		buf_init(&tc->in);
		buf_init(&tc->out);
		TAILQ_INIT(&tc->queue);
		ev_io_init(&tc->rio, tcp_read_cb, fd, EV_READ);
		ev_io_init(&tc->wio, tcp_write_cb, fd, EV_WRITE);
		ev_init(&tc->idle, tcp_idle_cb);
		tc->idle.repeat = TCP_IDLE;
		tc->rio.data = tc->wio.data = tc->idle.data = tc;
		ev_io_start(loop, &tc->rio);
		ev_timer_again(loop, &tc->idle);
		LIST_INSERT_HEAD(&D.clients, tc, entry);
		D.nclients++;
	}
}

/* dnsd's own settings, beside the answer builder's. */
struct dnsd_opts {
	int		 allow_stale;
	uint64_t	 max_stale_ms;
	double		 recursor_timeout;
};

/* dur_get - a duration key of obj in ns; 1 if absent, -1 if bad */
static int
dur_get(const struct jv *obj, const char *key, int64_t *ns, char *err,
    size_t errlen)
{
	struct jv *v;

	if ((v = jv_get(obj, key)) == NULL)
		return 1;
	if (v->type != JV_STR || duration_parse(v->str, ns) < 0 || *ns < 0) {
		snprintf(err, errlen, "%s:%d:%d: %s: expected a duration such "
		    "as \"10s\"", v->file, v->line, v->col, key);
		return -1;
	}
	return 0;
}

/* ttl_settings - dns_config's node_ttl and service_ttl (a map) */
static int
ttl_settings(const struct jv *dc, struct dns_answer_cfg *ac, char *err,
    size_t errlen)
{
	struct jv *m;
	int64_t ns;
	size_t i;
	int r;

	if ((r = dur_get(dc, "node_ttl", &ns, err, errlen)) < 0)
		return -1;
	if (r == 0)
		ac->node_ttl = (uint32_t)(ns / DUR_S);
	if ((m = jv_get(dc, "service_ttl")) == NULL)
		return 0;
	if (m->type != JV_OBJ) {
		snprintf(err, errlen, "%s:%d:%d: service_ttl: expected an "
		    "object of service names and durations", m->file, m->line,
		    m->col);
		return -1;
	}
	for (i = 0; i < m->n; i++) {
		if (dur_get(m, m->keys[i], &ns, err, errlen) < 0 ||
		    dns_answer_set_ttl(ac, m->keys[i], (uint32_t)(ns / DUR_S),
		    err, errlen) < 0)
			return -1;
	}
	return 0;
}

/*
 * dnsd_settings - domain, alt_domain, datacenter and dns_config into ac
 * and o, with Consul's defaults
 */
static int
dnsd_settings(const struct config *cfg, struct dns_answer_cfg *ac,
    struct dnsd_opts *o, char *err, size_t errlen)
{
	static const char *const limits[] = {
		"udp_answer_limit", "a_record_limit"
	};
	struct jv *dc, *alt;
	int64_t v;
	size_t i;
	int b;

	o->allow_stale = 1;
	o->max_stale_ms = 87600ULL * 3600 * 1000;	/* Consul's 87600h */
	o->recursor_timeout = 2.0;
	if (dns_answer_init(ac, cfg->domain, cfg->datacenter, err,
	    errlen) < 0)
		return -1;
	if ((alt = config_raw(cfg, "alt_domain")) != NULL) {
		if (alt->type != JV_STR) {
			snprintf(err, errlen, "%s:%d:%d: alt_domain: expected "
			    "a string", alt->file, alt->line, alt->col);
			return -1;
		}
		if (alt->str[0] != '\0' &&
		    dns_answer_alt_domain(ac, alt->str, err, errlen) < 0)
			return -1;
	}
	if ((dc = config_raw(cfg, "dns_config")) == NULL)
		return 0;
	if (dc->type != JV_OBJ) {
		snprintf(err, errlen, "%s:%d:%d: dns_config: expected an "
		    "object", dc->file, dc->line, dc->col);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		if (jv_get(dc, limits[i]) == NULL)
			continue;
		if (jv_int(dc, limits[i], &v) < 0 || v < (i == 0) ||
		    v > 65535) {
			snprintf(err, errlen, "dns_config.%s: expected a "
			    "number from %d to 65535", limits[i], i == 0);
			return -1;
		}
		if (i == 0)
			ac->udp_answer_limit = (unsigned)v;
		else
			ac->a_record_limit = (unsigned)v;
	}
	if (jv_bool(dc, "enable_truncate", &b) == 0)
		ac->enable_truncate = b;
	if (jv_bool(dc, "only_passing", &b) == 0)
		ac->only_passing = b;
	if (jv_bool(dc, "allow_stale", &b) == 0)
		o->allow_stale = b;
	if (ttl_settings(dc, ac, err, errlen) < 0 ||
	    dur_get(dc, "max_stale", &v, err, errlen) < 0)
		return -1;
	if (jv_get(dc, "max_stale") != NULL)
		o->max_stale_ms = (uint64_t)(v / DUR_MS);
	if ((b = dur_get(dc, "recursor_timeout", &v, err, errlen)) < 0)
		return -1;
	if (b == 0 && v <= 0) {
		snprintf(err, errlen, "dns_config.recursor_timeout: must be "
		    "more than 0");
		return -1;
	}
	if (b == 0)
		o->recursor_timeout = (double)v / DUR_S;
	return 0;
}

/* dnsd_recursors - a resolver for cfg's recursors, NULL when none */
static int
dnsd_recursors(const struct config *cfg, const struct dnsd_opts *o,
    struct recurse **out, char *err, size_t errlen)
{
	*out = NULL;
	if (cfg->nrecursors == 0)
		return 0;
	*out = recurse_new(D.loop, (const char *const *)cfg->recursors,
	    cfg->nrecursors, o->recursor_timeout, err, errlen);
	return *out == NULL ? -1 : 0;
}

static const struct handler dnsd_handlers[] = {
	{ 0, NULL, NULL }		/* MSG_PING is the server's own */
};

/* dnsd_init - bind UDP and TCP on dns_addr, the socket, connect to kvd */
static int
dnsd_init(struct ev_loop *loop, struct config *cfg, char *err,
    size_t errlen)
{
	struct dnsd_opts o;
	char path[4200];
	uint64_t seed = 0;

	D.loop = loop;
	D.udp_fd = D.tcp_fd = -1;
	LIST_INIT(&D.clients);
	if (dnsd_settings(cfg, &D.ac, &o, err, errlen) < 0 ||
	    dnsd_recursors(cfg, &o, &D.rec, err, errlen) < 0)
		return -1;
	D.allow_stale = o.allow_stale;
	D.max_stale_ms = o.max_stale_ms;
	D.cache = dcache_new(CACHE_BYTES);
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	D.rng = seed | 1;	/* xorshift needs a state that is not 0 */
	if ((D.udp_fd = sock_inet_listen(cfg->dns_addr, cfg->port_dns,
	    SOCK_DGRAM, err, errlen)) < 0 ||
	    (D.tcp_fd = sock_inet_listen(cfg->dns_addr, cfg->port_dns,
	    SOCK_STREAM, err, errlen)) < 0)
		return -1;
	udp_batch_init(&D.udp);
	ev_io_init(&D.udp_io, udp_read_cb, D.udp_fd, EV_READ);
	ev_io_start(loop, &D.udp_io);
	ev_io_init(&D.tcp_io, tcp_accept_cb, D.tcp_fd, EV_READ);
	ev_io_start(loop, &D.tcp_io);
	ev_init(&D.accept_pause, accept_resume_cb);
	daemon_sock_path(cfg, "dnsd", path, sizeof(path));
	if (server_listen_unix(&D.srv, loop, path, "dnsd", dnsd_handlers, err,
	    errlen) < 0)
		return -1;
	log_info("DNS for %s (datacenter %s) on %s:%d UDP and TCP; "
	    "listening on %s", D.ac.domain, D.ac.dc, cfg->dns_addr,
	    cfg->port_dns, path);
	if (cfg->server) {
		daemon_sock_path(cfg, "kvd", path, sizeof(path));
		rpc_init(&D.kvd_local, loop, path, "dnsd", "kvd");
		daemon_sock_path(cfg, "raftd", path, sizeof(path));
		rpc_init(&D.raftd, loop, path, "dnsd", "raftd");
		D.kvd = &D.kvd_local;
		D.kvd_mode = SERVERS_READ_LOCAL;
	} else {
		daemon_sock_path(cfg, "gossipd", path, sizeof(path));
		servers_init(&D.servers, loop, path, cfg->datacenter, "dnsd");
		D.kvd = servers_rpc(&D.servers);
		D.kvd_mode = SERVERS_READ_STALE;
	}
	fresh_init(&D.fresh, loop, D.kvd, D.kvd_mode, D.max_stale_ms);
	return 0;
}

/* dnsd_reload - SIGHUP: domain, datacenter and dns_config take effect */
static void
dnsd_reload(struct config *cfg)
{
	static struct dns_answer_cfg ac;	/* large: not on the stack */
	struct dnsd_opts o;
	struct recurse *rec;
	char err[512];

	if (dnsd_settings(cfg, &ac, &o, err, sizeof(err)) < 0 ||
	    dnsd_recursors(cfg, &o, &rec, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the old DNS settings", err);
		return;
	}
	D.ac = ac;
	D.allow_stale = o.allow_stale;
	D.max_stale_ms = o.max_stale_ms;
	fresh_set_max_stale(&D.fresh, o.max_stale_ms);
	if (D.rec != NULL)
		recurse_free(D.rec);	/* queries in flight: SERVFAIL */
	D.rec = rec;
	log_info("DNS for %s (datacenter %s), udp_answer_limit %u",
	    D.ac.domain, D.ac.dc, D.ac.udp_answer_limit);
}

/* dnsd_stop - close clients, then fail what kvd still owes */
static void
dnsd_stop(void)
{
	while (!LIST_EMPTY(&D.clients))
		tcp_close(LIST_FIRST(&D.clients), "stopping");
	ev_io_stop(D.loop, &D.tcp_io);
	ev_timer_stop(D.loop, &D.accept_pause);
	if (D.rec != NULL)
		recurse_free(D.rec);
	D.rec = NULL;
	fresh_stop(&D.fresh);
	log_info("%llu queries answered from kept replies; the catalog "
	    "changed %llu times", (unsigned long long)D.fresh.hits,
	    (unsigned long long)D.fresh.changes);
	if (D.kvd == &D.kvd_local) {
		rpc_stop(&D.kvd_local);
		rpc_stop(&D.raftd);
	} else
		servers_stop(&D.servers);
	ev_io_stop(D.loop, &D.udp_io);
	if (D.udp_fd >= 0)
		close(D.udp_fd);
	if (D.tcp_fd >= 0)
		close(D.tcp_fd);
	server_stop(&D.srv);
	dcache_free(D.cache);
}

static const struct daemon_spec dnsd_spec = {
	.name = "dnsd",
	.summary = "cairn-dnsd: Consul's DNS interface for a cairn node.",
	.help =
"Answers <node>.node.<domain>, [<tag>.]<service>.service.<domain> (and\n"
"RFC 2782 _<service>._<tag|tcp> names), <query>.query.<domain> (prepared\n"
"queries), <hex>.addr.<domain>, PTR for in-addr.arpa and ip6.arpa, and\n"
"SOA/NS, over UDP and TCP on addresses.dns (client_addr) port ports.dns\n"
"(8600), from the catalog in cairn-kvd (on a client agent, a server's,\n"
"through its RPC port). alt_domain is answered like domain.\n"
"\n"
"Other names go to the recursors, in order, recursor_timeout (2s) each;\n"
"with none they are refused. dns_config: udp_answer_limit, a_record_limit,\n"
"enable_truncate, only_passing, node_ttl, service_ttl ({\"*\": \"5s\"}),\n"
"allow_stale (true), max_stale (87600h), recursor_timeout. When no server\n"
"answers, names asked before are answered from the last data seen, up\n"
"to max_stale old. With allow_stale, a name asked again while the catalog\n"
"has not changed is answered from the reply kept for it, without a read\n"
"(one blocking catalog read watches for changes). All of it is re-read\n"
"on SIGHUP.\n",
	.init = dnsd_init,
	.stop = dnsd_stop,
	.reload = dnsd_reload,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &dnsd_spec);
}
