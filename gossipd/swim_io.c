/*
 * swim_io.c - the SWIM core (swim.c) bound to the process: the serf_lan
 * UDP socket, a 10 ms clock, push/pull as its TCP probe, the keyring of
 * the `encrypt` key, Consul's gossip_lan timings, leave and force-leave,
 * and reaping members that left or failed long ago.
 *
 * Encryption: with `encrypt` set, every UDP packet and every push/pull
 * body is sealed with AES-GCM (common/keyring.h); what does not open is
 * dropped and counted, so an agent without the key can neither join nor
 * read the traffic. Without it, everything travels in the clear, and a
 * sealed packet from a keyed agent does not parse.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "duration.h"
#include "event.h"
#include "gossipd.h"
#include "keyring.h"
#include "log.h"
#include "msg.h"
#include "sock.h"
#include "swim.h"

#define TICK		0.01
#define REAP_EVERY	15.0		/* serf's reap interval */
#define LEFT_TTL	(24 * 3600.0)	/* serf's tombstone timeout */
#define FAILED_TTL	(72 * 3600.0)	/* Consul's reconnect_timeout */
#define LEAVE_PROPAGATE	3.0		/* Consul's LeavePropagateDelay */
#define MAX_DGRAM	65536

static const char AAD_UDP[] = "cairn-gossip-udp";
static const char AAD_TCP[] = "cairn-gossip-tcp";

static struct {
	struct swim	 s;
	struct keyring	 kr;
	ev_timer	 tick, reap, leave;
	struct sconn	*leaver;	/* who asked us to leave */
	uint64_t	 leaver_serial;
	struct frame	 leave_req;
	uint64_t	 dropped;	/* packets that did not open or parse */
} W;

/* ---- crypto for both transports ---- */

int
gossip_encrypted(void)
{
	return keyring_enabled(&W.kr);
}

/* gossip_seal - body into out, sealed when a key is set */
void
gossip_seal(const void *body, size_t len, struct buf *out)
{
	size_t n;

	if (!keyring_enabled(&W.kr)) {
		buf_append(out, body, len);
		return;
	}
	buf_reserve(out, len + KEYRING_OVERHEAD);
	n = keyring_seal(&W.kr, body, len, AAD_TCP, sizeof(AAD_TCP) - 1,
	    (unsigned char *)buf_tail(out), len + KEYRING_OVERHEAD);
	if (n == 0)
		log_fatal("cannot encrypt a gossip message");
	buf_commit(out, n);
}

/* gossip_open - a body as received into out; -1 if it does not open */
int
gossip_open(const void *body, size_t len, struct buf *out)
{
	size_t n;

	if (!keyring_enabled(&W.kr)) {
		buf_append(out, body, len);
		return 0;
	}
	if (len < KEYRING_OVERHEAD)
		return -1;
	buf_reserve(out, len);
	if (keyring_open(&W.kr, body, len, AAD_TCP, sizeof(AAD_TCP) - 1,
	    (unsigned char *)buf_tail(out), len, &n) < 0) {
		W.dropped++;
		return -1;
	}
	buf_commit(out, n);
	return 0;
}

/* ---- the core's callbacks ---- */

static void
io_send(void *ctx, const char *addr, int port, const void *pkt, size_t len)
{
	unsigned char sealed[SWIM_MAX_PACKET * 2 + KEYRING_OVERHEAD];
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[128];

	if (sock_addr_parse(addr, port, &ss, &sl, err, sizeof(err)) < 0)
		return;
	if (keyring_enabled(&W.kr)) {
		if (len > sizeof(sealed) - KEYRING_OVERHEAD ||
		    (len = keyring_seal(&W.kr, pkt, len, AAD_UDP,
		    sizeof(AAD_UDP) - 1, sealed, sizeof(sealed))) == 0)
			return;
		pkt = sealed;
	}
	/* UDP: a full socket buffer loses the packet, as the network may */
	if (sendto(G.udp_fd, pkt, len, MSG_DONTWAIT, (struct sockaddr *)&ss,
	    sl) < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
		log_debug("sendto %s:%d: %s", addr, port, strerror(errno));
}

static void
probe_done(void *arg, const char *addr, const char *err)
{
	swim_tcp_result(&W.s, (uint32_t)(uintptr_t)arg, err == NULL,
	    daemon_now_ms());
}

/* io_tcp_probe - memberlist's TCP fallback: a ping over TCP */
static void
io_tcp_probe(void *ctx, const char *addr, int port, uint32_t seq)
{
	char err[256];

	if (pushpull_ping(addr, port, probe_done, (void *)(uintptr_t)seq,
	    err, sizeof(err)) < 0)
		swim_tcp_result(&W.s, seq, 0, daemon_now_ms());
}

static void
io_changed(void *ctx, const struct member *m, enum member_result r)
{
	gossipd_notify(m);
	if (r == MEMBER_ADDED)
		log_info("member joined: %s %s:%u", m->name, m->addr,
		    m->port);
	saved_dirty();
}

static int
io_event(void *ctx, const void *rec, size_t len)
{
	return event_api_receive(rec, len);
}

/* gossip_broadcast_event - event_api.c fired one: spread it */
void
gossip_broadcast_event(const void *rec, size_t len)
{
	swim_event(&W.s, rec, len);
}

/* gossip_news - push/pull merged a record: SWIM spreads what is new */
void
gossip_news(const struct member *m, enum member_result r)
{
	swim_news(&W.s, m, r, daemon_now_ms());
}

/* ---- the socket and the clock ---- */

void
swim_io_udp_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	static unsigned char dgram[MAX_DGRAM], plain[MAX_DGRAM];
	struct sockaddr_storage ss;
	char from[80], ip[64], *colon;
	socklen_t sl;
	ssize_t n;
	size_t len;
	int i, port;

	/* Bounded, so a flood cannot keep us from the unix socket. */
	for (i = 0; i < 64; i++) {
		sl = sizeof(ss);
		if ((n = recvfrom(w->fd, dgram, sizeof(dgram), 0,
		    (struct sockaddr *)&ss, &sl)) < 0)
			break;
		sock_addr_str((struct sockaddr *)&ss, from, sizeof(from));
		/* "ip:port" or "[ip6]:port" */
		if ((colon = strrchr(from, ':')) == NULL)
			continue;
		port = atoi(colon + 1);
		snprintf(ip, sizeof(ip), "%.*s", (int)(colon - from), from);
		if (ip[0] == '[') {
			memmove(ip, ip + 1, strlen(ip));
			ip[strlen(ip) - 1] = '\0';
		}
		if (keyring_enabled(&W.kr)) {
			if (keyring_open(&W.kr, dgram, (size_t)n, AAD_UDP,
			    sizeof(AAD_UDP) - 1, plain, sizeof(plain),
			    &len) < 0) {
				if (W.dropped++ % 100 == 0)
					log_warn("dropped a gossip packet from "
					    "%s that does not decrypt (%llu so "
					    "far): another key, or forged",
					    from, (unsigned long long)
					    W.dropped);
				continue;
			}
			/* a malformed one is counted by the core */
			swim_recv(&W.s, ip, port, plain, len, daemon_now_ms());
		} else if (swim_recv(&W.s, ip, port, dgram, (size_t)n,
		    daemon_now_ms()) < 0 && W.s.bad_packets % 100 == 1)
			log_warn("dropped a malformed gossip packet from %s "
			    "(%llu so far; encrypted, while this agent has "
			    "no encrypt key?)", from,
			    (unsigned long long)W.s.bad_packets);
	}
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	swim_tick(&W.s, daemon_now_ms());
}

static void
reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	size_t n = member_reap(&G.members, (double)daemon_now_ms() / 1000,
	    LEFT_TTL, FAILED_TTL);

	if (n > 0) {
		log_info("reaped %zu member%s that left or failed long ago",
		    n, n == 1 ? "" : "s");
		saved_dirty();
	}
}

/* ---- configuration ---- */

/* ms - a gossip_lan duration, or the default */
static int
ms(const struct jv *obj, const char *key, uint32_t *out, char *err,
    size_t errlen)
{
	struct jv *v = obj ? jv_get(obj, key) : NULL;
	int64_t ns;

	if (v == NULL)
		return 0;
	if (v->type != JV_STR || duration_parse(v->str, &ns) < 0 ||
	    ns < DUR_MS || ns > 3600 * DUR_S) {
		snprintf(err, errlen, "%s:%d:%d: gossip_lan.%s: expected a "
		    "duration such as \"1s\"", v->file, v->line, v->col, key);
		return -1;
	}
	*out = (uint32_t)(ns / DUR_MS);
	return 0;
}

static int
count(const struct jv *obj, const char *key, uint32_t *out, char *err,
    size_t errlen)
{
	struct jv *v = obj ? jv_get(obj, key) : NULL;

	if (v == NULL)
		return 0;
	if (v->type != JV_NUM || v->num < 1 || v->num > 100 ||
	    v->num != floor(v->num)) {
		snprintf(err, errlen, "%s:%d:%d: gossip_lan.%s: expected a "
		    "whole number from 1 to 100", v->file, v->line, v->col,
		    key);
		return -1;
	}
	*out = (uint32_t)v->num;
	return 0;
}

/*
 * swim_io_config - Consul's gossip_lan keys. The defaults are faster
 * than memberlist's LAN profile (1s probes, suspicion x4): a failed node
 * is known in well under half the time, for less traffic than serf's,
 * since the probe packets are small and push/pull sends digests.
 */
static int
swim_io_config(struct config *cfg, struct swim_opts *o, char *err,
    size_t errlen)
{
	struct jv *g = config_raw(cfg, "gossip_lan"), *k;

	o->probe_interval = 400;
	o->probe_timeout = 250;
	o->suspicion_mult = 3;
	o->suspicion_max_mult = 6;
	o->retransmit_mult = 4;
	o->gossip_interval = 100;
	o->gossip_nodes = 4;
	o->indirect_checks = 3;
	o->awareness_max = 8;
	o->gossip_to_dead = 30000;
	if (g != NULL && g->type != JV_OBJ) {
		snprintf(err, errlen, "%s:%d:%d: gossip_lan: expected an "
		    "object", g->file, g->line, g->col);
		return -1;
	}
	if (ms(g, "probe_interval", &o->probe_interval, err, errlen) < 0 ||
	    ms(g, "probe_timeout", &o->probe_timeout, err, errlen) < 0 ||
	    ms(g, "gossip_interval", &o->gossip_interval, err, errlen) < 0 ||
	    count(g, "suspicion_mult", &o->suspicion_mult, err, errlen) < 0 ||
	    count(g, "retransmit_mult", &o->retransmit_mult, err,
	    errlen) < 0 ||
	    count(g, "gossip_nodes", &o->gossip_nodes, err, errlen) < 0)
		return -1;
	if (o->probe_timeout >= o->probe_interval) {
		snprintf(err, errlen, "gossip_lan: probe_timeout (%ums) must "
		    "be shorter than probe_interval (%ums)", o->probe_timeout,
		    o->probe_interval);
		return -1;
	}
	if ((k = config_raw(cfg, "encrypt")) != NULL) {
		if (k->type != JV_STR) {
			snprintf(err, errlen, "%s:%d:%d: encrypt: expected a "
			    "base64 key (cairn keygen makes one)", k->file,
			    k->line, k->col);
			return -1;
		}
		if (k->str[0] != '\0' && keyring_add_b64(&W.kr, k->str, err,
		    errlen) < 0)
			return -1;
	}
	return 0;
}

int
swim_io_init(struct config *cfg, char *err, size_t errlen)
{
	struct swim_opts o;

	memset(&o, 0, sizeof(o));
	keyring_init(&W.kr);
	if (swim_io_config(cfg, &o, err, errlen) < 0)
		return -1;
	o.self = G.self;
	o.seed = daemon_now_ms() ^ ((uint64_t)getpid() << 32) ^
	    (uint64_t)time(NULL);
	o.send = io_send;
	o.tcp_probe = io_tcp_probe;
	o.changed = io_changed;
	o.event = io_event;
	swim_init(&W.s, &o, &G.members, daemon_now_ms());
	ev_timer_init(&W.tick, tick_cb, TICK, TICK);
	ev_timer_start(G.loop, &W.tick);
	ev_timer_init(&W.reap, reap_cb, REAP_EVERY, REAP_EVERY);
	ev_timer_start(G.loop, &W.reap);
	log_info("failure detection: probes every %ums (timeout %ums), "
	    "suspicion x%u; gossip %s", o.probe_interval, o.probe_timeout,
	    o.suspicion_mult, keyring_enabled(&W.kr) ? "encrypted" :
	    "not encrypted (no encrypt key)");
	return 0;
}

void
swim_io_stop(void)
{
	ev_timer_stop(G.loop, &W.tick);
	ev_timer_stop(G.loop, &W.reap);
	ev_timer_stop(G.loop, &W.leave);
	swim_free(&W.s);
	keyring_clear(&W.kr);
}

/* ---- leave and force-leave ---- */

/* leave_cb - the news had its time to spread: answer, then exit 0 */
static void
leave_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sconn *sc = NULL;

	if (W.leaver != NULL)
		sc = server_find(W.leaver->srv, W.leaver_serial);
	if (sc != NULL) {
		conn_reply(&sc->conn, &W.leave_req, NULL, 0);
		conn_write_now(&sc->conn);
	}
	log_info("graceful leave complete");
	saved_forget();
	/* Exit 0 after a leave: the supervisor stops the node, as Consul's
	   agent exits. */
	daemon_stop();
}

void
swim_io_handle_leave(struct sconn *sc, const struct frame *f)
{
	if (W.s.leaving) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "already "
		    "leaving");
		return;
	}
	log_info("leaving the cluster: telling the others, then stopping "
	    "in %.0fs", LEAVE_PROPAGATE);
	swim_leave(&W.s, daemon_now_ms());
	W.leaver = sc;
	W.leaver_serial = sc->serial;
	W.leave_req = *f;
	W.leave_req.body = NULL;
	W.leave_req.len = 0;
	ev_timer_init(&W.leave, leave_cb, LEAVE_PROPAGATE, 0);
	ev_timer_start(G.loop, &W.leave);
}

void
swim_io_handle_force_leave(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char name[MEMBER_NAME_MAX + 1];
	uint64_t prune = 0;
	uint32_t i;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_strcpy(&tab[A_NODE], name, sizeof(name)) < 0 ||
	    name[0] == '\0') {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "missing node "
		    "name");
		return;
	}
	for (i = 0; i < tab[A_PRUNE].len; i++)
		prune |= tab[A_PRUNE].val[i];
	if (swim_force_leave(&W.s, name, (int)prune, daemon_now_ms()) < 0) {
		/* Consul's words (agent.go ForceLeave) */
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "agent: No "
		    "node found with name '%s'", name);
		return;
	}
	log_info("force-leave of %s%s requested by %.100s", name, prune ?
	    " (pruned)" : "", sc->conn.peer);
	saved_dirty();
	conn_reply(&sc->conn, f, NULL, 0);
}

/* swim_io_stats - counters for /v1/agent/self and metrics */
void
swim_io_stats(uint64_t *health, uint64_t *dropped, uint64_t *suspects)
{
	*health = W.s.awareness;
	*dropped = W.dropped + W.s.bad_packets;
	*suspects = W.s.nsus;
}
