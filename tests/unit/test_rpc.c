/*
 * test_rpc.c - the framed protocol on real sockets: server dispatch and
 * HELLO, the reconnecting client over Unix and TCP, timeouts, pushes,
 * and peers that break the rules (no HELLO, oversized frames).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "rpc.h"
#include "server.h"
#include "sock.h"
#include "test.h"

#define T_ECHO	1000
#define T_SLOW	1001
#define T_PUSH	1002

static struct ev_loop *loop;
static struct server srv;
static char path[128];

static void
h_echo(struct sconn *sc, const struct frame *f)
{
	conn_reply(&sc->conn, f, f->body, f->len);
}

static void
h_slow(struct sconn *sc, const struct frame *f)
{
	/* never answers */
}

static void
h_push(struct sconn *sc, const struct frame *f)
{
	conn_send(&sc->conn, T_PUSH, 0, 0, 0, "pushed", 6);
	conn_reply(&sc->conn, f, NULL, 0);
}

static const struct handler handlers[] = {
	{ T_ECHO, "echo", h_echo },
	{ T_SLOW, "slow", h_slow },
	{ T_PUSH, "push", h_push },
	{ 0, NULL, NULL }
};

/* run_until - turn the loop until *n reaches want or secs pass */
static void
run_until_n(int *n, int want, double secs)
{
	ev_tstamp end = ev_time() + secs;

	while (*n < want && ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
run_until(int *flag, double secs)
{
	run_until_n(flag, 1, secs);
}

struct result {
	int		 done;
	int		 error;	/* FRAME_ERROR set */
	uint32_t	 status;
	char		 err[256];
	struct buf	 body;
};

static void
result_cb(void *arg, const struct frame *f, const char *err)
{
	struct result *r = arg;

	r->done = 1;
	if (f == NULL) {
		snprintf(r->err, sizeof(r->err), "%s", err);
		return;
	}
	r->error = (f->flags & FRAME_ERROR) != 0;
	r->status = f->status;
	buf_append(&r->body, f->body, f->len);
}

static int ups, downs, pushes;

static void
on_up(struct rpc *r)
{
	ups++;
}

static void
on_down(struct rpc *r, const char *why)
{
	downs++;
}

static void
on_push(struct rpc *r, const struct frame *f)
{
	if (f->type == T_PUSH && f->len == 6 && memcmp(f->body, "pushed", 6) == 0)
		pushes++;
}

/* call - one call and its result */
static int
call(struct rpc *r, uint16_t type, const struct buf *body, double timeout,
    struct result *res)
{
	char err[128];

	memset(res, 0, sizeof(*res));
	buf_init(&res->body);
	if (rpc_call(r, type, body ? buf_head(body) : NULL,
	    body ? buf_used(body) : 0, timeout, result_cb, res, err,
	    sizeof(err)) < 0) {
		snprintf(res->err, sizeof(res->err), "%s", err);
		return -1;
	}
	run_until(&res->done, 5);
	return 0;
}

static void
test_unix_roundtrip_and_reconnect(void)
{
	struct result res;
	struct rpc r;
	struct buf b;
	char err[128];
	int up;

	CHECK(server_listen_unix(&srv, loop, path, "testd", handlers, err,
	    sizeof(err)) == 0);
	rpc_init(&r, loop, path, "tester", "testd");
	r.on_up = on_up;
	r.on_down = on_down;
	r.on_push = on_push;
	run_until(&ups, 5);
	CHECK(rpc_is_up(&r));
	/* a round trip carries the body back */
	buf_init(&b);
	attr_put_str(&b, A_KEY, "k");
	attr_put_u64(&b, A_INDEX, 99);
	CHECK(call(&r, T_ECHO, &b, 5, &res) == 0);
	CHECK(res.done && !res.error && res.err[0] == '\0');
	CHECK(buf_used(&res.body) == buf_used(&b) &&
	    memcmp(buf_head(&res.body), buf_head(&b), buf_used(&b)) == 0);
	buf_free(&res.body);
	/* an unknown type is an error reply, and the connection stays */
	CHECK(call(&r, 4242, NULL, 5, &res) == 0);
	CHECK(res.error && res.status == MSG_E_BADREQ);
	buf_free(&res.body);
	CHECK(rpc_is_up(&r));
	/* PING is answered by every server */
	CHECK(call(&r, MSG_PING, NULL, 5, &res) == 0 && !res.error);
	/* a push arrives before its call's reply */
	CHECK(call(&r, T_PUSH, NULL, 5, &res) == 0 && pushes == 1);
	/* no answer: the call times out, the connection stays */
	CHECK(call(&r, T_SLOW, NULL, 0.2, &res) == 0);
	CHECK(strstr(res.err, "timed out") != NULL);
	CHECK(rpc_is_up(&r));
	/* the server goes away: calls in flight fail, new ones at once */
	memset(&res, 0, sizeof(res));
	CHECK(rpc_call(&r, T_SLOW, NULL, 0, 30, result_cb, &res, err,
	    sizeof(err)) == 0);
	server_stop(&srv);
	run_until(&res.done, 5);
	CHECK(res.done && strstr(res.err, "lost") != NULL);
	CHECK(downs == 1 && !rpc_is_up(&r));
	CHECK(call(&r, T_ECHO, &b, 5, &res) == -1);
	CHECK(strstr(res.err, "testd is not running") != NULL);
	/* and comes back: the client reconnects by itself */
	up = ups;
	CHECK(server_listen_unix(&srv, loop, path, "testd", handlers, err,
	    sizeof(err)) == 0);
	run_until_n(&ups, up + 1, 5);
	CHECK(ups == up + 1 && rpc_is_up(&r));
	CHECK(call(&r, T_ECHO, &b, 5, &res) == 0 && !res.error);
	buf_free(&res.body);
	buf_free(&b);
	rpc_stop(&r);
	server_stop(&srv);
	ev_run(loop, EVRUN_NOWAIT);
}

static void
test_tcp(void)
{
	struct result res;
	struct rpc r;
	char err[128], ip[32];
	int port = 0, fd, before;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	snprintf(ip, sizeof(ip), "127.0.%d.%d", 1 + getpid() % 250,
	    2 + getpid() % 200);
	/* find a free port, then leave it closed: the client must retry */
	fd = sock_inet_listen(ip, 0, SOCK_STREAM, err, sizeof(err));
	CHECK(fd >= 0);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	close(fd);
	before = ups;
	rpc_init_tcp(&r, loop, ip, port, "tester", "tcpd");
	r.on_up = on_up;
	run_until_n(&ups, before + 1, 0.3);	/* nothing listens yet */
	CHECK(!rpc_is_up(&r) && ups == before);
	CHECK(server_listen_tcp(&srv, loop, ip, port, "tcpd", handlers, err,
	    sizeof(err)) == 0);
	run_until_n(&ups, before + 1, 5);
	CHECK(rpc_is_up(&r));
	CHECK(call(&r, T_ECHO, NULL, 5, &res) == 0 && !res.error);
	buf_free(&res.body);
	rpc_stop(&r);
	server_stop(&srv);
	ev_run(loop, EVRUN_NOWAIT);
}

/* raw_peer - connect, send bytes, run the loop, report if it was closed */
static int
raw_peer(const void *data, size_t n)
{
	char err[128], c;
	int fd, closed = 0, i;
	ssize_t r;

	fd = sock_unix_connect(path, err, sizeof(err));
	if (fd < 0)
		return -1;
	if (write(fd, data, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	for (i = 0; i < 500 && !closed; i++) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_NOWAIT);
		r = read(fd, &c, 1);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			closed = 1;
		usleep(1000);
	}
	close(fd);
	return closed;
}

static void
test_rude_peers(void)
{
	unsigned char hdr[FRAME_HDR_LEN] = { 0 };
	char err[128];
	struct buf b;
	size_t mark;

	CHECK(server_listen_unix(&srv, loop, path, "testd", handlers, err,
	    sizeof(err)) == 0);
	srv.max_frame = 1024;
	/* a request before HELLO: closed */
	buf_init(&b);
	mark = frame_begin(&b, T_ECHO, 0, 1, 0);
	frame_end(&b, mark);
	CHECK(raw_peer(b.data, b.len) == 1);
	/* a frame over the limit, even after HELLO: closed */
	buf_reset(&b);
	mark = frame_begin(&b, MSG_HELLO, 0, 1, 0);
	server_hello_body(&b, "rude");
	frame_end(&b, mark);
	be32_put(hdr, 1u << 30);
	be16_put(hdr + 4, T_ECHO);
	buf_append(&b, hdr, sizeof(hdr));
	CHECK(raw_peer(b.data, b.len) == 1);
	/* a HELLO without a version: closed */
	buf_reset(&b);
	mark = frame_begin(&b, MSG_HELLO, 0, 1, 0);
	attr_put_str(&b, A_PROGRAM, "rude");
	frame_end(&b, mark);
	CHECK(raw_peer(b.data, b.len) == 1);
	/* the server is still there for a polite peer */
	CHECK(srv.nconns == 0);
	buf_free(&b);
	server_stop(&srv);
}

int
main(void)
{
	loop = ev_default_loop(0);
	snprintf(path, sizeof(path), "/tmp/cairn-rpc-test.%d.sock",
	    (int)getpid());
	RUN(test_unix_roundtrip_and_reconnect);
	RUN(test_tcp);
	RUN(test_rude_peers);
	unlink(path);
	return TEST_DONE();
}
