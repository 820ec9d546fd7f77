/*
 * test_servers.c - the RPC client that finds a server: member records
 * (good ones, and every one of them mutated), the MSG_RAFT_READ wrapping,
 * and on real sockets a fake gossipd and fake servers: "No known Consul
 * servers" before any is known, calls held until a connection is up,
 * switching when the server goes away, fails gossip's check or does not
 * answer, and stopping.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "server.h"
#include "servers.h"
#include "sock.h"
#include "test.h"

static struct ev_loop *loop;

/* member - a gossip member record as gossipd sends it */
static void
member(struct buf *b, const char *node, const char *addr, int status,
    const char *role, const char *dc, const char *port)
{
	const char *keys[] = { "role", "dc", "port" };
	const char *vals[] = { role, dc, port };
	size_t i, nest;

	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_ADDRESS, addr);
	attr_put_u32(b, A_PORT, 8301);
	attr_put_u32(b, A_MEMBER_STATUS, (uint32_t)status);
	for (i = 0; i < 3; i++) {
		if (vals[i] == NULL)
			continue;
		nest = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, keys[i]);
		attr_put_str(b, A_META_VALUE, vals[i]);
		attr_nest_end(b, nest);
	}
}

static void
test_member_parse(void)
{
	static const struct {
		const char	*node, *addr;
		int		 status;
		const char	*role, *dc, *port;
		int		 want, alive, wport;
	} cases[] = {
		{ "s1", "10.0.0.1", 1, "consul", "dc1", "8300", 1, 1, 8300 },
		{ "s2", "10.0.0.2", 4, "consul", "dc1", "9300", 1, 0, 9300 },
		{ "s3", "10.0.0.3", 3, "consul", "dc1", "8300", 1, 0, 8300 },
		{ "s4", "10.0.0.4", 1, "consul", "dc2", "8300", 0, 0, 0 },
		{ "c1", "10.0.0.5", 1, "node", "dc1", NULL, 0, 0, 0 },
		{ "c2", "10.0.0.6", 1, NULL, "dc1", NULL, 0, 0, 0 },
		{ "s5", "10.0.0.7", 1, "consul", NULL, "8300", 0, 0, 0 },
		{ "s6", "10.0.0.8", 1, "consul", "dc1", NULL, -1, 0, 0 },
		{ "s7", "10.0.0.9", 1, "consul", "dc1", "0", -1, 0, 0 },
		{ "s8", "10.0.0.9", 1, "consul", "dc1", "70000", -1, 0, 0 },
		{ "s9", "10.0.0.9", 1, "consul", "dc1", "83x", -1, 0, 0 },
		{ "sa", "10.0.0.9", 1, "consul", "dc1", "", -1, 0, 0 },
		{ "", "10.0.0.9", 1, "consul", "dc1", "8300", -1, 0, 0 },
		{ "sb", "", 1, "consul", "dc1", "8300", -1, 0, 0 },
	};
	struct servers_member m;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b);
		member(&b, cases[i].node, cases[i].addr, cases[i].status,
		    cases[i].role, cases[i].dc, cases[i].port);
		CHECK(servers_member_parse(b.data, b.len, "dc1", &m) ==
		    cases[i].want);
		if (cases[i].want == 1) {
			CHECK_STR(m.node, cases[i].node);
			CHECK_STR(m.addr, cases[i].addr);
			CHECK(m.port == cases[i].wport);
			CHECK(m.alive == cases[i].alive);
		}
		buf_free(&b);
	}
}

/* Every mutation of a good record: never read past it, never a wrong yes. */
static void
test_member_mutated(void)
{
	struct servers_member m;
	struct buf b;
	unsigned char *p;
	size_t cut, off;
	int rc;

	buf_init(&b);
	member(&b, "s1", "10.0.0.1", 1, "consul", "dc1", "8300");
	for (cut = 0; cut < b.len; cut++) {
		/* A copy of exactly cut bytes, so ASan sees an overread. */
		p = malloc(cut + 1);
		memcpy(p, b.data, cut);
		rc = servers_member_parse(p, cut, "dc1", &m);
		CHECK(rc == -1 || rc == 0 || (rc == 1 && m.port == 8300));
		free(p);
	}
	p = malloc(b.len + 1);
	memcpy(p, b.data, b.len);
	p[b.len] = 0x7f;	/* one byte appended: a broken attribute */
	CHECK(servers_member_parse(p, b.len + 1, "dc1", &m) == -1);
	free(p);
	/* a corrupt length in each attribute header in turn */
	for (off = 0; off + 8 <= b.len; off++) {
		p = malloc(b.len);
		memcpy(p, b.data, b.len);
		p[off + 4] ^= 0x40;
		rc = servers_member_parse(p, b.len, "dc1", &m);
		CHECK(rc >= -1 && rc <= 1);
		free(p);
	}
	buf_free(&b);
}

static void
test_read_body(void)
{
	struct attr tab[ATTR_TAB];
	uint64_t v;
	struct buf b, inner;

	buf_init(&inner);
	attr_put_str(&inner, A_NODE, "web1");
	buf_init(&b);
	servers_read_body(&b, SERVERS_READ_STALE, MSG_CAT_NODE, inner.data,
	    inner.len);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == 0);
	CHECK(attr_u64(&tab[A_MODE], &v) == 0 && v == 2);
	CHECK(attr_u64(&tab[A_CMD_TYPE], &v) == 0 && v == MSG_CAT_NODE);
	CHECK(tab[A_CMD].len == inner.len &&
	    memcmp(tab[A_CMD].val, inner.data, inner.len) == 0);
	/* an empty read (MSG_CAT_NODES) still carries an empty A_CMD */
	buf_reset(&b);
	servers_read_body(&b, SERVERS_READ_CONSISTENT, MSG_CAT_NODES, NULL, 0);
	CHECK(attr_index(b.data, b.len, tab, ATTR_TAB) == 0);
	CHECK(attr_u64(&tab[A_MODE], &v) == 0 && v == 1);
	CHECK(attr_present(&tab[A_CMD]) && tab[A_CMD].len == 0);
	buf_free(&b);
	buf_free(&inner);
}

/* The fake gossipd: answers a subscription, then pushes what we say. */
static struct server gsrv;
static uint64_t gsub;
static int gsubs;

static void
g_subscribe(struct sconn *sc, const struct frame *f)
{
	gsub = sc->serial;
	gsubs++;
	conn_reply(&sc->conn, f, NULL, 0);
}

static const struct handler ghandlers[] = {
	{ MSG_GOSSIP_SUBSCRIBE, "subscribe", g_subscribe },
	{ 0, NULL, NULL }
};

/* push - gossipd tells its subscriber about one member */
static void
push(const char *node, const char *addr, int status, const char *dc,
    int port)
{
	struct sconn *sc = server_find(&gsrv, gsub);
	char num[16];
	struct buf b;
	size_t nest;

	snprintf(num, sizeof(num), "%d", port);
	buf_init(&b);
	nest = attr_nest_begin(&b, A_ENTRY);
	member(&b, node, addr, status, "consul", dc, num);
	attr_nest_end(&b, nest);
	CHECK(sc != NULL);
	if (sc != NULL)
		conn_send(&sc->conn, MSG_GOSSIP_EVENT, 0, 0, 0, b.data, b.len);
	buf_free(&b);
}

/* A fake server: MSG_RAFT_STATUS names it; MSG_RAFT_READ echoes. */
struct fake {
	struct server	 srv;
	char		 name[16];
	int		 port;
	int		 listening;
};

static void
f_status(struct sconn *sc, const struct frame *f)
{
	struct fake *fk = sc->srv->data;
	struct buf b;

	buf_init(&b);
	attr_put_str(&b, A_LEADER, fk->name);
	conn_reply(&sc->conn, f, b.data, b.len);
	buf_free(&b);
}

static void
f_echo(struct sconn *sc, const struct frame *f)
{
	conn_reply(&sc->conn, f, f->body, f->len);
}

static const struct handler fhandlers[] = {
	{ MSG_RAFT_STATUS, "status", f_status },
	{ MSG_RAFT_READ, "read", f_echo },
	{ 0, NULL, NULL }
};

static char ip[32];

/* free_port - a port nothing listens on (for now) */
static int
free_port(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char err[128];
	int fd, port;

	fd = sock_inet_listen(ip, 0, SOCK_STREAM, err, sizeof(err));
	CHECK(fd >= 0);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	return port;
}

static void
fake_listen(struct fake *fk)
{
	char err[128];

	CHECK(server_listen_tcp(&fk->srv, loop, ip, fk->port, "raftd",
	    fhandlers, err, sizeof(err)) == 0);
	fk->srv.data = fk;
	fk->listening = 1;
}

static void
fake_stop(struct fake *fk)
{
	if (fk->listening)
		server_stop(&fk->srv);
	fk->listening = 0;
}

static void
run_until(int *flag, double secs)
{
	ev_tstamp end = ev_time() + secs;

	while (!*flag && ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
run_for(double secs)
{
	int never = 0;

	run_until(&never, secs);
}

struct result {
	int	 done;
	int	 ok;
	char	 text[256];	/* the server's name, or the error */
};

static void
result_cb(void *arg, const struct frame *f, const char *err)
{
	struct result *r = arg;
	struct attr tab[ATTR_TAB];

	r->done = 1;
	if (f == NULL) {
		snprintf(r->text, sizeof(r->text), "%s", err);
		return;
	}
	r->ok = !(f->flags & FRAME_ERROR) &&
	    attr_index(f->body, f->len, tab, ATTR_TAB) == 0 &&
	    attr_strcpy(&tab[A_LEADER], r->text, sizeof(r->text)) == 0;
}

/* who - which server answers a status call (text "" if none did) */
static int
who(struct servers *s, struct result *r, double secs)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	if (servers_call(servers_rpc(s), MSG_RAFT_STATUS, NULL, 0, secs,
	    result_cb, r, err, sizeof(err)) < 0) {
		snprintf(r->text, sizeof(r->text), "%s", err);
		return -1;
	}
	run_until(&r->done, secs + 1);
	return r->ok ? 0 : -1;
}

static int ups;

static void
count_up(struct rpc *r)
{
	ups++;
}

static void
test_live(void)
{
	struct fake a = { .name = "a" }, b = { .name = "b" },
	    d = { .name = "d" };
	struct servers s;
	struct result r, held;
	char gpath[128], err[256];
	struct fake *first, *second;
	ev_tstamp end;
	int before;

	snprintf(ip, sizeof(ip), "127.0.%d.%d", 1 + getpid() % 250,
	    2 + getpid() % 200);
	snprintf(gpath, sizeof(gpath), "/tmp/cairn-servers-test.%d.sock",
	    (int)getpid());
	CHECK(server_listen_unix(&gsrv, loop, gpath, "gossipd", ghandlers,
	    err, sizeof(err)) == 0);
	a.port = free_port();
	b.port = free_port();
	d.port = free_port();
	fake_listen(&a);
	fake_listen(&b);

	servers_init(&s, loop, gpath, "dc1", "tester");
	s.on_up = count_up;
	CHECK(servers_owns(servers_rpc(&s)));
	CHECK(!servers_owns(&s.gossip));
	/* nothing known yet: fail at once, with Consul's words */
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 1.0,
	    result_cb, &r, err, sizeof(err)) == -1);
	CHECK_STR(err, "No known Consul servers");
	run_until(&gsubs, 5);
	CHECK(gsubs == 1);
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 1.0,
	    result_cb, &r, err, sizeof(err)) == -1);

	/* another datacenter's server is not ours */
	push("x", ip, 1, "dc2", a.port);
	run_for(0.05);
	CHECK(s.n == 0 && servers_alive(&s) == 0);

	/* two servers: a call made before the connection is up is held */
	push("a", ip, 1, "dc1", a.port);
	push("b", ip, 1, "dc1", b.port);
	end = ev_time() + 5;
	while (servers_alive(&s) < 2 && ev_time() < end)
		ev_run(loop, EVRUN_NOWAIT | EVRUN_ONCE);
	CHECK(!rpc_is_up(servers_rpc(&s)));	/* not yet */
	memset(&held, 0, sizeof(held));
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 5.0,
	    result_cb, &held, err, sizeof(err)) == 0);
	run_until(&held.done, 5);
	CHECK(held.ok);
	CHECK(strcmp(held.text, "a") == 0 || strcmp(held.text, "b") == 0);
	CHECK(s.n == 2 && servers_alive(&s) == 2 && ups == 1);
	first = strcmp(held.text, "a") == 0 ? &a : &b;
	second = first == &a ? &b : &a;

	/* a wrapped read reaches the server as MSG_RAFT_READ */
	{
		struct buf inner;
		struct result e;

		buf_init(&inner);
		attr_put_str(&inner, A_NODE, "web1");
		memset(&e, 0, sizeof(e));
		CHECK(servers_read(servers_rpc(&s), SERVERS_READ_STALE,
		    MSG_CAT_NODE, inner.data, inner.len, 2.0, result_cb, &e,
		    err, sizeof(err)) == 0);
		run_until(&e.done, 3);
		CHECK(e.done && !e.ok);	/* echoed: no A_LEADER */
		buf_free(&inner);
	}

	/* the server goes away: the next calls go to the other one */
	before = ups;
	fake_stop(first);
	end = ev_time() + 5;
	while (ups == before && ev_time() < end)
		run_for(0.01);
	CHECK(ups == before + 1);
	CHECK(who(&s, &r, 3) == 0);
	CHECK_STR(r.text, second->name);

	/* gossip says the one in use failed: back to the first, which is
	   not listening yet; a call waits until it is */
	push(second->name, ip, 4, "dc1", second->port);
	run_for(0.05);
	CHECK(servers_alive(&s) == 1);
	memset(&held, 0, sizeof(held));
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 5.0,
	    result_cb, &held, err, sizeof(err)) == 0);
	run_for(0.3);
	CHECK(!held.done);
	fake_listen(first);
	run_until(&held.done, 5);
	CHECK(held.ok);
	CHECK_STR(held.text, first->name);

	/* a server that does not answer is passed over after a deadline */
	push(second->name, ip, 1, "dc1", second->port);
	push(first->name, ip, 4, "dc1", first->port);
	run_for(0.05);
	CHECK(who(&s, &r, 3) == 0);
	CHECK_STR(r.text, second->name);
	push("d", ip, 1, "dc1", d.port);	/* nothing listens there */
	push(second->name, ip, 4, "dc1", second->port);
	run_for(0.05);
	CHECK(servers_alive(&s) == 1);
	memset(&held, 0, sizeof(held));
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 6.0,
	    result_cb, &held, err, sizeof(err)) == 0);
	run_for(0.2);
	push(second->name, ip, 1, "dc1", second->port);
	run_until(&held.done, 6);
	CHECK(held.ok);
	CHECK_STR(held.text, second->name);

	/* none alive: fail at once again; held calls fail too */
	push(second->name, ip, 4, "dc1", second->port);
	push("d", ip, 3, "dc1", d.port);
	run_for(0.05);
	CHECK(servers_alive(&s) == 0);
	CHECK(who(&s, &r, 1) == -1);
	CHECK_STR(r.text, "No known Consul servers");

	/* stopping fails what is held */
	push("d", ip, 1, "dc1", d.port);
	run_for(0.05);
	memset(&held, 0, sizeof(held));
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 5.0,
	    result_cb, &held, err, sizeof(err)) == 0);
	servers_stop(&s);
	CHECK(held.done && !held.ok);
	CHECK_STR(held.text, "stopping");
	CHECK(servers_call(servers_rpc(&s), MSG_RAFT_STATUS, NULL, 0, 1.0,
	    result_cb, &held, err, sizeof(err)) == -1);

	fake_stop(&a);
	fake_stop(&b);
	server_stop(&gsrv);
	run_for(0.05);
}

int
main(void)
{
	loop = ev_default_loop(0);
	RUN(test_member_parse);
	RUN(test_member_mutated);
	RUN(test_read_body);
	RUN(test_live);
	return TEST_DONE();
}
