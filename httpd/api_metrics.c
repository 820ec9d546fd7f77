/*
 * api_metrics.c - GET /v1/agent/metrics[?format=prometheus]: gauges of
 * what the agent's daemons know, in Consul's JSON shape ({Timestamp,
 * Gauges, Points, Counters, Samples}) or Prometheus's text format, under
 * Consul's default prefix "consul" so that dashboards find raft and serf
 * where they look.
 *
 * Each request asks raftd (a server's own), gossipd and checkd in turn;
 * a daemon that is away only leaves its gauges out.
 *
 * Leaves out: counters and samples (request rates, timings), Go runtime
 * metrics, and metrics sinks (statsd, ...).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpd.h"
#include "log.h"
#include "msg.h"

#define GAUGES_MAX	24

struct gauge {
	const char	*name;	/* after "consul." */
	double		 value;
};

struct metrics {
	struct http_req	*req;
	struct gauge	 g[GAUGES_MAX];
	size_t		 n;
};

static void
gauge(struct metrics *m, const char *name, double v)
{
	if (m->n < GAUGES_MAX)
		m->g[m->n++] = (struct gauge){ name, v };
}

/* prom_name - "raft.applied_index" as Prometheus wants it */
static void
prom_name(char *out, size_t n, const char *name)
{
	size_t i;

	snprintf(out, n, "consul_%s", name);
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] == '.' || out[i] == '-')
			out[i] = '_';
}

/* metrics_reply - every gauge gathered, in the asked format */
static void
metrics_reply(struct metrics *m)
{
	struct http_req *req = m->req;
	const char *fmt = http_req_param(req, "format");
	char name[128], ts[64];
	struct json j;
	struct buf b;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	if (fmt != NULL && strcmp(fmt, "prometheus") == 0) {
		buf_init(&b);
		for (i = 0; i < m->n; i++) {
			prom_name(name, sizeof(name), m->g[i].name);
			buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n",
			    name, m->g[i].name, name, name, m->g[i].value);
		}
		http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
		    NULL, buf_head(&b), buf_used(&b));
		buf_free(&b);
		free(m);
		return;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
	api_json_begin(req, &j, &b);
	json_obj_open(&j);
	json_key(&j, "Timestamp");
	json_str(&j, ts);
	json_key(&j, "Gauges");
	json_arr_open(&j);
	for (i = 0; i < m->n; i++) {
		snprintf(name, sizeof(name), "consul.%s", m->g[i].name);
		json_obj_open(&j);
		json_key(&j, "Name");
		json_str(&j, name);
		json_key(&j, "Value");
		json_i64(&j, (int64_t)m->g[i].value);
		json_key(&j, "Labels");
		json_obj_open(&j);
		json_obj_close(&j);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_key(&j, "Points");
	json_arr_open(&j);
	json_arr_close(&j);
	json_key(&j, "Counters");
	json_arr_open(&j);
	json_arr_close(&j);
	json_key(&j, "Samples");
	json_arr_open(&j);
	json_arr_close(&j);
	json_obj_close(&j);
	free(m);
	api_reply_json(req, &b, 0, NULL);
}

/* ok - a reply that carries data */
static int
ok(const struct frame *f)
{
	return f != NULL && !(f->flags & FRAME_ERROR);
}

/* checks_done - checkd's checks by status; the last step */
static void
checks_done(void *arg, const struct frame *f, const char *err)
{
	struct metrics *m = arg;
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	double pass = 0, warn = 0, crit = 0;

	if (ok(f)) {
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			if (a.type != A_CHECK_REC ||
			    attr_index(a.val, a.len, tab, ATTR_TAB) < 0)
				continue;
			if (tab[A_STATUS].len == 7 &&
			    memcmp(tab[A_STATUS].val, "passing", 7) == 0)
				pass++;
			else if (tab[A_STATUS].len == 7)
				warn++;
			else
				crit++;
		}
		gauge(m, "agent.checks.passing", pass);
		gauge(m, "agent.checks.warning", warn);
		gauge(m, "agent.checks.critical", crit);
	}
	metrics_reply(m);
}

/* members_done - serf's view of the LAN pool */
static void
members_done(void *arg, const struct frame *f, const char *err)
{
	struct metrics *m = arg;
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	double n[5] = { 0 };
	uint64_t st;

	if (ok(f)) {
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1) {
			st = 0;
			if (a.type == A_ENTRY &&
			    attr_index(a.val, a.len, tab, ATTR_TAB) == 0 &&
			    attr_u64(&tab[A_MEMBER_STATUS], &st) == 0 && st < 5)
				n[st]++;
		}
		gauge(m, "serf.members.alive", n[1]);
		gauge(m, "serf.members.leaving", n[2]);
		gauge(m, "serf.members.left", n[3]);
		gauge(m, "serf.members.failed", n[4]);
	}
	if (rpc_call(&H.checkd, MSG_AGENT_CHECKS, NULL, 0, API_TIMEOUT,
	    checks_done, m, NULL, 0) < 0)
		metrics_reply(m);
}

/* raft_done - raftd's status (a server's own) */
static void
raft_done(void *arg, const struct frame *f, const char *err)
{
	struct metrics *m = arg;
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t v;
	double peers = 0;
	char leader[128] = "", self[128];

	if (ok(f) && attr_index(f->body, f->len, tab, ATTR_TAB) == 0) {
		snprintf(self, sizeof(self), "%s:%d", H.cfg->advertise_addr,
		    H.cfg->port_server);
		attr_strcpy(&tab[A_LEADER], leader, sizeof(leader));
		attr_iter_init(&it, f->body, f->len);
		while (attr_next(&it, &a) == 1)
			peers += a.type == A_PEER;
		if (attr_u64(&tab[A_APPLIED], &v) == 0)
			gauge(m, "raft.applied_index", (double)v);
		if (attr_u64(&tab[A_COMMIT], &v) == 0)
			gauge(m, "raft.commit_index", (double)v);
		if (attr_u64(&tab[A_INDEX], &v) == 0)
			gauge(m, "raft.last_index", (double)v);
		if (attr_u64(&tab[A_TERM], &v) == 0)
			gauge(m, "raft.term", (double)v);
		gauge(m, "raft.peers", peers);
		gauge(m, "raft.leader", strcmp(leader, self) == 0);
		gauge(m, "raft.known_leader", leader[0] != '\0');
	}
	if (rpc_call(&H.gossipd, MSG_GOSSIP_MEMBERS, NULL, 0, API_TIMEOUT,
	    members_done, m, NULL, 0) < 0)
		members_done(m, NULL, "gossipd is away");
}

/* api_agent_metrics - GET /v1/agent/metrics */
void
api_agent_metrics(struct http_req *req, const char *rest)
{
	struct metrics *m;

	if (!api_method(req, "GET"))
		return;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		log_fatal("out of memory");
	m->req = req;
	if (!H.cfg->server || rpc_call(H.raftd, MSG_RAFT_STATUS, NULL, 0,
	    API_TIMEOUT, raft_done, m, NULL, 0) < 0)
		raft_done(m, NULL, "no raftd");
}
