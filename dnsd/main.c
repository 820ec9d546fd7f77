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
 * run_dir/dnsd.sock answers MSG_PING only, so supervisors can see dnsd is
 * up. Left out for now: recursion (c-ares; names outside the domain get
 * REFUSED, see dq_start), max_stale (a client's read is whatever its
 * server's kvd has) and TTLs.
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

#include "daemon.h"
#include "dns_answer.h"
#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "server.h"
#include "servers.h"
#include "sock.h"

#define KVD_TIMEOUT	2.0	/* for all of a query's kvd reads */
#define TCP_IDLE	10.0	/* seconds without a query or an answer */
#define TCP_MAX_CONNS	512
#define TCP_MAX_QUEUE	64	/* queries in flight on one connection */
#define TCP_OUT_MAX	(256u << 10)	/* unread answers before we wait */
#define UDP_BATCH	64	/* datagrams read per wakeup */
#define MAX_PENDING	8192	/* kvd reads in flight, all clients */

struct tcp_client;

/* One query, from its arrival to its answer. */
struct dq {
	struct dns_query	 q;
	struct dns_lookup	 l;
	uint16_t		 stage;		/* the kvd read in flight */
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
	struct servers		 servers;
	int			 udp_fd, tcp_fd;
	ev_io			 udp_io, tcp_io;
	ev_timer		 accept_pause;
	LIST_HEAD(, tcp_client)	 clients;
	unsigned		 nclients;
	unsigned		 npending;
	uint64_t		 rng;
	/* Answers are built here: a TCP length prefix, then the message. */
	unsigned char		 out[2 + DNS_TCP_MAX];
	unsigned char		 pkt[65536];
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

/* dq_finish - send the answer in D.out + 2 (n bytes), free the query */
static void
dq_finish(struct dq *dq, size_t n)
{
	char peer[64];

	if (!dq->tcp) {
		if (n > 0 && sendto(dq->fd, D.out + 2, n, 0,
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

/* dq_answer - the answer built from kvd's record(s) */
static void
dq_answer(struct dq *dq, const void *rec, size_t len)
{
	dq_finish(dq, dns_answer_build(&D.ac, &dq->q, &dq->l, rec, len,
	    dq->tcp, (uint32_t)time(NULL), &D.rng, D.out + 2, DNS_TCP_MAX));
}

static void	dq_call(struct dq *, uint16_t type);

/* dq_reply_cb - kvd answered, failed, or timed out */
static void
dq_reply_cb(void *arg, const struct frame *f, const char *err)
{
	struct dq *dq = arg;
	const unsigned char *rec;
	char msg[256], peer[64];
	size_t len;

	D.npending--;
	if (dq->tcp && dq->tc == NULL) {
		free(dq);		/* the client has gone */
		return;
	}
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_debug("%s: %s: SERVFAIL: %s", dq_peer(dq, peer,
		    sizeof(peer)), dq->q.qname, f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		dq_error(dq, DNS_R_SERVFAIL, 1);
		return;
	}
	switch (dq->stage) {
	case MSG_CAT_NODE:
		if (dns_answer_find_node(f->body, f->len, dq->l.node, &rec,
		    &len))
			dq_answer(dq, rec, len);
		else	/* kvd's lookup is exact; ours ignores case */
			dq_call(dq, MSG_CAT_NODES);
		break;
	case MSG_CAT_NODES:
		if (dns_answer_find_node(f->body, f->len, dq->l.node, &rec,
		    &len))
			dq_answer(dq, rec, len);
		else
			dq_answer(dq, NULL, 0);
		break;
	default:
		dq_answer(dq, f->body, f->len);
		break;
	}
}

/* dq_call - ask kvd; SERVFAIL at once if it is away or we are swamped */
static void
dq_call(struct dq *dq, uint16_t type)
{
	char err[256], peer[64];
	double left = KVD_TIMEOUT - (ev_now(D.loop) - dq->t0);
	struct buf b;

	if (D.npending >= MAX_PENDING) {
		log_debug("%s: %s: SERVFAIL: %u kvd reads in flight",
		    dq_peer(dq, peer, sizeof(peer)), dq->q.qname, D.npending);
		dq_error(dq, DNS_R_SERVFAIL, 1);
		return;
	}
	buf_init(&b);
	if (type == MSG_CAT_NODE)
		attr_put_str(&b, A_NODE, dq->l.node);
	else if (type == MSG_HEALTH_SERVICE) {
		attr_put_str(&b, A_SERVICE_NAME, dq->l.service);
		if (dq->l.tag[0] != '\0')
			attr_put_str(&b, A_TAG, dq->l.tag);
	}
	dq->stage = type;
	if (servers_read(D.kvd, D.kvd_mode, type, buf_head(&b), buf_used(&b),
	    left < 0.1 ? 0.1 : left, dq_reply_cb, dq, err, sizeof(err)) < 0) {
		log_debug("%s: %s: SERVFAIL: %s", dq_peer(dq, peer,
		    sizeof(peer)), dq->q.qname, err);
		buf_free(&b);
		dq_error(dq, DNS_R_SERVFAIL, 1);
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
	dns_answer_classify(&D.ac, &dq->q, &dq->l);
	switch (dq->l.kind) {
	case DNS_K_NODE:
		dq_call(dq, MSG_CAT_NODE);
		break;
	case DNS_K_SERVICE:
		dq_call(dq, MSG_HEALTH_SERVICE);
		break;
	case DNS_K_OUTSIDE:
		/* Recursion through c-ares (recursors) goes here. */
		dq_error(dq, DNS_R_REFUSED, 0);
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

/* udp_read_cb - read a batch of datagrams, one query each */
static void
udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dq *dq;
	ssize_t n;
	int i;

	for (i = 0; i < UDP_BATCH; i++) {
		if ((dq = calloc(1, sizeof(*dq))) == NULL)
			log_fatal("out of memory");
		dq->fd = w->fd;
		dq->fromlen = sizeof(dq->from);
		n = recvfrom(w->fd, D.pkt, sizeof(D.pkt), 0,
		    (struct sockaddr *)&dq->from, &dq->fromlen);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_debug("udp receive: %s", strerror(errno));
			free(dq);
			return;
		}
		if (dq_start(dq, D.pkt, (size_t)n) < 0)
			free(dq);
	}
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
			free(dq);
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

/* dnsd_settings - domain, datacenter and dns_config into ac */
static int
dnsd_settings(const struct config *cfg, struct dns_answer_cfg *ac, char *err,
    size_t errlen)
{
	static const char *const limits[] = {
		"udp_answer_limit", "a_record_limit"
	};
	struct jv *dc;
	int64_t v;
	size_t i;
	int b;

	if (dns_answer_init(ac, cfg->domain, cfg->datacenter, err,
	    errlen) < 0)
		return -1;
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
	return 0;
}

static const struct handler dnsd_handlers[] = {
	{ 0, NULL, NULL }		/* MSG_PING is the server's own */
};

/* dnsd_init - bind UDP and TCP on dns_addr, the socket, connect to kvd */
static int
dnsd_init(struct ev_loop *loop, struct config *cfg, char *err,
    size_t errlen)
{
	char path[4200];
	uint64_t seed = 0;

	D.loop = loop;
	D.udp_fd = D.tcp_fd = -1;
	LIST_INIT(&D.clients);
	if (dnsd_settings(cfg, &D.ac, err, errlen) < 0)
		return -1;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	D.rng = seed | 1;	/* xorshift needs a state that is not 0 */
	if ((D.udp_fd = sock_inet_listen(cfg->dns_addr, cfg->port_dns,
	    SOCK_DGRAM, err, errlen)) < 0 ||
	    (D.tcp_fd = sock_inet_listen(cfg->dns_addr, cfg->port_dns,
	    SOCK_STREAM, err, errlen)) < 0)
		return -1;
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
		D.kvd = &D.kvd_local;
		D.kvd_mode = SERVERS_READ_LOCAL;
	} else {
		daemon_sock_path(cfg, "gossipd", path, sizeof(path));
		servers_init(&D.servers, loop, path, cfg->datacenter, "dnsd");
		D.kvd = servers_rpc(&D.servers);
		D.kvd_mode = SERVERS_READ_STALE;
	}
	return 0;
}

/* dnsd_reload - SIGHUP: domain, datacenter and dns_config take effect */
static void
dnsd_reload(struct config *cfg)
{
	struct dns_answer_cfg ac;
	char err[512];

	if (dnsd_settings(cfg, &ac, err, sizeof(err)) < 0) {
		log_error("reload: %s; keeping the old DNS settings", err);
		return;
	}
	D.ac = ac;
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
	if (D.kvd == &D.kvd_local)
		rpc_stop(&D.kvd_local);
	else
		servers_stop(&D.servers);
	ev_io_stop(D.loop, &D.udp_io);
	if (D.udp_fd >= 0)
		close(D.udp_fd);
	if (D.tcp_fd >= 0)
		close(D.tcp_fd);
	server_stop(&D.srv);
}

static const struct daemon_spec dnsd_spec = {
	.name = "dnsd",
	.summary = "cairn-dnsd: Consul's DNS interface for a cairn node.",
	.help =
"Answers <node>.node.<domain> and [<tag>.]<service>.service.<domain>\n"
"(A, AAAA, SRV; RFC 2782 names too) over UDP and TCP on addresses.dns\n"
"(client_addr) port ports.dns (8600), from the catalog in cairn-kvd\n"
"(on a client agent, a server's, by stale reads through its RPC port).\n"
"Names outside the domain are refused (no recursors yet). dns_config's\n"
"udp_answer_limit, a_record_limit and enable_truncate apply, and are\n"
"re-read on SIGHUP.\n",
	.init = dnsd_init,
	.stop = dnsd_stop,
	.reload = dnsd_reload,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &dnsd_spec);
}
