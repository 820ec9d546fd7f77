/*
 * test_http_conn - the HTTP/1.1 server transport.
 *
 * First without sockets: a table of requests fed to a connection with
 * http_conn_feed(), each answer compared byte for byte; every good request
 * is also fed one byte at a time, cut short, given a byte more, and given
 * a larger Content-Length. Then with sockets: the server runs on the ev
 * loop of this process on 127.0.0.<random>, and a client thread drives it
 * with blocking sockets (keep-alive, pipelining around an asynchronous
 * answer, bodies, 100-continue, 413, 400, 431, timeouts, back-pressure, a
 * client leaving while its request is pending, many connections).
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "log.h"
#include "test.h"
#include "../../httpd/http_conn.h"

#define MAX_BODY	524288

static struct ev_loop *loop;		/* NULL while testing without sockets */
static struct http_server srv;
static char srv_addr[32];
static int srv_port;

/* Counters the handler keeps; read by the client thread via atomics. */
static int orphan_replies;
static int async_pending;
static int big_dispatched;

/* Requests held by the "/async" route when there is no loop. */
static struct http_req *held[8];
static int nheld;

struct async_reply {
	ev_timer	 timer;		/* first: the callback casts back */
	struct http_req	*req;
};

/* nz - a printable string for a maybe-NULL one */
static const char *
nz(const char *s)
{
	return s ? s : "(null)";
}

/* echo_body - what the echo route says about a request */
static void
echo_body(struct http_req *req, struct buf *b)
{
	const char *tags[8];
	size_t i, n;
	unsigned sum = 0;

	for (i = 0; i < buf_used(&req->body); i++)
		sum += buf_head(&req->body)[i];
	buf_printf(b, "%s %s q=%s a=%s r=%s tag=", req->method_name,
	    req->path, req->query, nz(http_req_param(req, "a")),
	    nz(http_req_param(req, "recurse")));
	n = http_req_params(req, "tag", tags, 8);
	for (i = 0; i < n; i++)
		buf_printf(b, "%s%s", i ? "," : "", tags[i]);
	buf_printf(b, " h=%s len=%zu sum=%u",
	    nz(http_req_header(req, "X-Test")), buf_used(&req->body), sum);
}

/* async_cb - the "/async" route answers from a timer */
static void
async_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct async_reply *a = (struct async_reply *)w;

	if (a->req->conn == NULL)
		__atomic_add_fetch(&orphan_replies, 1, __ATOMIC_SEQ_CST);
	http_reply_text(a->req, 200, "async %s", a->req->query);
	free(a);
	__atomic_sub_fetch(&async_pending, 1, __ATOMIC_SEQ_CST);
}

/* test_handler - echo, async, big, and 405 for unknown methods */
static void
test_handler(struct http_req *req)
{
	struct async_reply *a;
	struct buf b;
	const char *v;
	char *big;
	size_t n;

	if (req->method == HTTP_REQ_OTHER) {
		http_reply_text(req, 405, "method %s not allowed",
		    req->method_name);
		return;
	}
	if (strcmp(req->path, "/async") == 0) {
		if (loop == NULL) {
			held[nheld++] = req;
			return;
		}
		v = http_req_param(req, "ms");
		a = calloc(1, sizeof(*a));
		a->req = req;
		ev_timer_init(&a->timer, async_cb, (v ? atoi(v) : 50) / 1000.,
		    0.);
		ev_timer_start(loop, &a->timer);
		__atomic_add_fetch(&async_pending, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (strcmp(req->path, "/big") == 0) {
		n = (size_t)atol(nz(http_req_param(req, "n")));
		big = malloc(n + 1);
		memset(big, 'x', n);
		__atomic_add_fetch(&big_dispatched, 1, __ATOMIC_SEQ_CST);
		http_reply(req, 200, "application/octet-stream", NULL, big, n);
		free(big);
		return;
	}
	buf_init(&b);
	echo_body(req, &b);
	http_reply(req, 200, "text/plain", "X-Consul-Index: 5\r\n",
	    buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* ok_response - the echo route's answer with body, as the wire has it */
static char *
ok_response(const char *body, const char *conn_hdr, int head)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "X-Consul-Index: 5\r\nContent-Length: %zu\r\n%s\r\n%s",
	    strlen(body), conn_hdr ? conn_hdr : "", head ? "" : body);
	return buf_cstr(&b);
}

/* text_response - an error answer, closing */
static char *
text_response(int status, const char *reason, const char *body, int close)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\nContent-Length: %zu\r\n%s\r\n%s", status, reason,
	    strlen(body), close ? "Connection: close\r\n" : "", body);
	return buf_cstr(&b);
}

/* feed - run input through a fresh socket-less connection */
static char *
feed(const char *in, size_t len, int bytewise, int *rc)
{
	struct http_conn *c;
	struct buf *o;
	char *out;
	size_t i;

	c = http_conn_new(&srv, -1, "test");
	if (bytewise) {
		*rc = 0;
		for (i = 0; i < len && *rc == 0; i++)
			*rc = http_conn_feed(c, in + i, 1);
	} else
		*rc = http_conn_feed(c, in, len);
	o = http_conn_output(c);
	out = strdup(buf_cstr(o));
	http_conn_free(c);
	return out;
}

/* How the table says a request is answered. */
enum { ECHO, ECHO_HEAD, TEXT };

static const struct row {
	const char	*name;
	const char	*in;
	int		 kind;
	const char	*body;		/* echo body, or text body */
	int		 status;	/* TEXT */
	const char	*conn_hdr;	/* "Connection: ...\r\n" or NULL */
	int		 rc;		/* http_conn_feed: 0 open, -1 done */
	const char	*prefix;	/* output before the answer */
} rows[] = {
	{ "simple get", "GET /v1/kv/a HTTP/1.1\r\nHost: x\r\n\r\n", ECHO,
	  "GET /v1/kv/a q= a=(null) r=(null) tag= h=(null) len=0 sum=0",
	  200, NULL, 0, "" },
	{ "percent-decoding",
	  "GET /v1/kv/a%20b%2Fc+d?a=x%20y+z HTTP/1.1\r\n\r\n", ECHO,
	  "GET /v1/kv/a b/c+d q=a=x%20y+z a=x y z r=(null) tag= h=(null) "
	  "len=0 sum=0", 200, NULL, 0, "" },
	{ "repeated and bare params",
	  "GET /v1/kv/?tag=a&tag=b%26c&recurse&&tag= HTTP/1.1\r\n\r\n", ECHO,
	  "GET /v1/kv/ q=tag=a&tag=b%26c&recurse&&tag= a=(null) r= tag=a,b&c, "
	  "h=(null) len=0 sum=0", 200, NULL, 0, "" },
	{ "bad escape in a param is skipped",
	  "GET /p?a=%zz&a=ok&recurse= HTTP/1.1\r\n\r\n", ECHO,
	  "GET /p q=a=%zz&a=ok&recurse= a=ok r= tag= h=(null) len=0 sum=0",
	  200, NULL, 0, "" },
	{ "header case and whitespace",
	  "GET /h HTTP/1.1\r\nx-TEST:   hello world \t\r\nX-Test: 2\r\n\r\n",
	  ECHO, "GET /h q= a=(null) r=(null) tag= h=hello world len=0 sum=0",
	  200, NULL, 0, "" },
	{ "empty header value",
	  "GET /h HTTP/1.1\r\nX-Test:\r\nX-Other: 1\r\n\r\n", ECHO,
	  "GET /h q= a=(null) r=(null) tag= h= len=0 sum=0", 200, NULL, 0, "" },
	{ "absolute URL", "GET http://h:8500/v1/x?a=1 HTTP/1.1\r\n\r\n", ECHO,
	  "GET /v1/x q=a=1 a=1 r=(null) tag= h=(null) len=0 sum=0", 200, NULL,
	  0, "" },
	{ "leading CRLF", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", ECHO,
	  "GET / q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200, NULL, 0,
	  "" },
	{ "post with body",
	  "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", ECHO,
	  "POST /p q= a=(null) r=(null) tag= h=(null) len=5 sum=532", 200,
	  NULL, 0, "" },
	{ "put chunked",
	  "PUT /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n", ECHO,
	  "PUT /p q= a=(null) r=(null) tag= h=(null) len=5 sum=532", 200,
	  NULL, 0, "" },
	{ "body at the limit",
	  "PUT /p HTTP/1.1\r\nContent-Length: 64\r\n\r\n"
	  "0123456789012345678901234567890123456789012345678901234567890123",
	  ECHO, "PUT /p q= a=(null) r=(null) tag= h=(null) len=64 sum=3348",
	  200, NULL, 0, "" },
	{ "head", "HEAD /x HTTP/1.1\r\n\r\n", ECHO_HEAD,
	  "HEAD /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200, NULL,
	  0, "" },
	{ "patch goes to the handler", "PATCH /x HTTP/1.1\r\n\r\n", ECHO,
	  "PATCH /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200,
	  NULL, 0, "" },
	{ "http/1.0 closes", "GET /x HTTP/1.0\r\n\r\n", ECHO,
	  "GET /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200,
	  "Connection: close\r\n", -1, "" },
	{ "http/1.0 keep-alive",
	  "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", ECHO,
	  "GET /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200,
	  "Connection: keep-alive\r\n", 0, "" },
	{ "connection: close", "GET /x HTTP/1.1\r\nConnection: close\r\n\r\n",
	  ECHO, "GET /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200,
	  "Connection: close\r\n", -1, "" },
	{ "upgrade is refused by closing",
	  "GET /x HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n",
	  ECHO, "GET /x q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200,
	  "Connection: close\r\n", -1, "" },
	{ "expect 100-continue",
	  "PUT /p HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n"
	  "\r\nhi", ECHO,
	  "PUT /p q= a=(null) r=(null) tag= h=(null) len=2 sum=209", 200, NULL,
	  0, "HTTP/1.1 100 Continue\r\n\r\n" },
	{ "expect without a body",
	  "GET /p HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", ECHO,
	  "GET /p q= a=(null) r=(null) tag= h=(null) len=0 sum=0", 200, NULL,
	  0, "" },
	{ "unknown method", "FOO /x HTTP/1.1\r\n\r\n", TEXT,
	  "method FOO not allowed", 405, NULL, 0, "" },
	{ "lower-case method is another method", "get /x HTTP/1.1\r\n\r\n",
	  TEXT, "method get not allowed", 405, NULL, 0, "" },
	{ "garbage", "\x01\x02 hello\r\n\r\n", TEXT,
	  "Bad request: invalid HTTP method", 400, "", -1, "" },
	{ "bad version", "GET / HTTP/1.x\r\n\r\n", TEXT,
	  "Bad request: invalid HTTP version", 400, "", -1, "" },
	{ "space in the path", "GET /a b HTTP/1.1\r\n\r\n", TEXT,
	  "Bad request: invalid constant string", 400, "", -1, "" },
	{ "space in a header name", "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
	  TEXT, "Bad request: invalid character in header name", 400, "", -1,
	  "" },
	{ "bad escape in the path", "GET /a%zz HTTP/1.1\r\n\r\n", TEXT,
	  "Bad request: invalid URL escape in path \"/a%zz\"", 400, "", -1,
	  "" },
	{ "cut escape in the path", "GET /a%2 HTTP/1.1\r\n\r\n", TEXT,
	  "Bad request: invalid URL escape in path \"/a%2\"", 400, "", -1, "" },
	{ "NUL in the path", "GET /a%00 HTTP/1.1\r\n\r\n", TEXT,
	  "Bad request: invalid URL escape in path \"/a%00\"", 400, "", -1,
	  "" },
	{ "content-length and chunked",
	  "PUT /p HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked"
	  "\r\n\r\n", TEXT, "Bad request: unexpected content-length header",
	  400, "", -1, "" },
	{ "bad chunk size",
	  "PUT /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", TEXT,
	  "Bad request: invalid character in chunk size header", 400, "", -1,
	  "" },
	{ "content-length over the limit",
	  "PUT /p HTTP/1.1\r\nContent-Length: 65\r\n\r\n", TEXT,
	  "Request body(65 bytes) too large, max size: 64 bytes. See "
	  "https://developer.hashicorp.com/consul/docs/agent/config/"
	  "config-files#kv_max_value_size.", 413, "", -1, "" },
	{ "content-length over the limit, 100-continue not sent",
	  "PUT /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: "
	  "99999999999\r\n\r\n", TEXT,
	  "Request body(99999999999 bytes) too large, max size: 64 bytes. See "
	  "https://developer.hashicorp.com/consul/docs/agent/config/"
	  "config-files#kv_max_value_size.", 413, "", -1, "" },
	{ "chunked body over the limit",
	  "PUT /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "28\r\n0123456789012345678901234567890123456789\r\n"
	  "1e\r\n012345678901234567890123456789\r\n0\r\n\r\n", TEXT,
	  "Request body(70 bytes) too large, max size: 64 bytes. See "
	  "https://developer.hashicorp.com/consul/docs/agent/config/"
	  "config-files#kv_max_value_size.", 413, "", -1, "" },
	{ "unsupported expectation",
	  "PUT /p HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\nhi",
	  TEXT, "Expectation failed: unsupported Expect \"200-ok\"", 417, "",
	  -1, "" },
};

/* row_expected - the whole output a table row should produce */
static char *
row_expected(const struct row *r)
{
	struct buf b;
	char *resp;

	if (r->kind == TEXT)
		resp = text_response(r->status, r->status == 400 ?
		    "Bad Request" : r->status == 405 ? "Method Not Allowed" :
		    r->status == 413 ? "Payload Too Large" :
		    "Expectation Failed", r->body, r->rc != 0);
	else
		resp = ok_response(r->body, r->conn_hdr, r->kind == ECHO_HEAD);
	buf_init(&b);
	buf_puts(&b, r->prefix);
	buf_puts(&b, resp);
	free(resp);
	return buf_cstr(&b);
}

/* test_table - every row as one write and one byte at a time */
static void
test_table(void)
{
	size_t i;
	char *want, *got;
	int rc, bytewise;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		want = row_expected(&rows[i]);
		for (bytewise = 0; bytewise < 2; bytewise++) {
			got = feed(rows[i].in, strlen(rows[i].in), bytewise,
			    &rc);
			if (strcmp(got, want) != 0 || rc != rows[i].rc)
				fprintf(stderr, "row \"%s\"%s: rc %d\n",
				    rows[i].name, bytewise ? " bytewise" : "",
				    rc);
			CHECK_STR(got, want);
			CHECK(rc == rows[i].rc);
			free(got);
		}
		free(want);
	}
}

/* test_mutations - good requests cut short, extended, lengthened */
static void
test_mutations(void)
{
	size_t i, len;
	char *want, *got, *in, *cl;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].kind == TEXT || rows[i].rc != 0)
			continue;
		len = strlen(rows[i].in);
		want = row_expected(&rows[i]);

		/* The last byte missing: no answer yet, still open. */
		got = feed(rows[i].in, len - 1, 0, &rc);
		CHECK(strstr(got, "HTTP/1.1 200") == NULL);
		CHECK(rc == 0);
		free(got);

		/* A byte of the next request: the same answer, waiting. */
		in = malloc(len + 2);
		memcpy(in, rows[i].in, len);
		in[len] = 'G';
		got = feed(in, len + 1, 0, &rc);
		CHECK_STR(got, want);
		CHECK(rc == 0);
		free(got);

		/* A control byte after it: the answer, then a 400. */
		in[len] = '\x01';
		got = feed(in, len + 1, 0, &rc);
		CHECK(strncmp(got, want, strlen(want)) == 0);
		CHECK(strstr(got + strlen(want), "HTTP/1.1 400 Bad Request")
		    == got + strlen(want));
		CHECK(rc == -1);
		free(got);

		/* A Content-Length one larger: waits for the missing byte. */
		if ((cl = strstr(rows[i].in, "Content-Length: ")) != NULL) {
			memcpy(in, rows[i].in, len + 1);
			in[cl - rows[i].in + 16]++;
			got = feed(in, len, 0, &rc);
			CHECK(strstr(got, "HTTP/1.1 200") == NULL);
			/* Past max_body (64 here) it is a 413 instead. */
			if (strtoul(in + (cl - rows[i].in) + 16, NULL, 10) > 64)
				CHECK(strstr(got, "HTTP/1.1 413") == got);
			else
				CHECK(rc == 0);
			free(got);
		}
		free(in);
		free(want);
	}
}

/* test_cut_everywhere - a request cut at every byte never answers early */
static void
test_cut_everywhere(void)
{
	const char *in = "PUT /v1/kv/k?a=1 HTTP/1.1\r\nX-Test: v\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n";
	size_t n;
	char *got;
	int rc;

	for (n = 0; n < strlen(in); n++) {
		got = feed(in, n, 0, &rc);
		CHECK_STR(got, "");
		CHECK(rc == 0);
		free(got);
	}
	got = feed(in, strlen(in), 0, &rc);
	CHECK(strstr(got, "PUT /v1/kv/k q=a=1 a=1 r=(null) tag= h=v len=2 "
	    "sum=195") != NULL);
	free(got);
}

/* test_nul - a NUL in a header value is refused (the fuzzer's find) */
static void
test_nul(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nX-Test:\0b\r\n\r\n";
	char *want, *got;
	int rc;

	want = text_response(400, "Bad Request", "Bad request: invalid "
	    "character in header value", 1);
	got = feed(in, sizeof(in) - 1, 0, &rc);
	CHECK_STR(got, want);
	CHECK(rc == -1);
	free(got);
	free(want);
}

/* test_pipeline_held - answers stay in order around a held request */
static void
test_pipeline_held(void)
{
	const char *in = "GET /1 HTTP/1.1\r\n\r\nGET /async?x HTTP/1.1\r\n\r\n"
	    "GET /3 HTTP/1.1\r\n\r\n";
	char *first, *third, *async;
	struct http_conn *c;
	struct buf *o;
	size_t n;

	first = ok_response("GET /1 q= a=(null) r=(null) tag= h=(null) len=0 "
	    "sum=0", NULL, 0);
	third = ok_response("GET /3 q= a=(null) r=(null) tag= h=(null) len=0 "
	    "sum=0", NULL, 0);
	async = text_response(200, "OK", "async x", 0);
	nheld = 0;
	c = http_conn_new(&srv, -1, "test");
	CHECK(http_conn_feed(c, in, strlen(in)) == 0);
	o = http_conn_output(c);
	CHECK(nheld == 1);
	CHECK(buf_used(o) == strlen(first));
	CHECK(memcmp(buf_head(o), first, strlen(first)) == 0);
	/* More requests while one is held are only buffered. */
	CHECK(http_conn_feed(c, "GET /4 HTTP/1.1\r\n\r\n", 19) == 0);
	CHECK(buf_used(o) == strlen(first));
	if (nheld == 1) {
		CHECK_STR(http_req_peer(held[0]), "test");
		http_reply_text(held[0], 200, "async %s", held[0]->query);
	}
	n = strlen(first) + strlen(async) + strlen(third);
	CHECK(buf_used(o) > n);
	CHECK(memcmp(buf_head(o) + strlen(first), async, strlen(async)) == 0);
	CHECK(memcmp(buf_head(o) + strlen(first) + strlen(async), third,
	    strlen(third)) == 0);
	CHECK(memmem(buf_head(o) + n, buf_used(o) - n, "GET /4 ", 7) != NULL);
	http_conn_free(c);
	free(first);
	free(third);
	free(async);
}

/* test_orphan - a connection freed under a held request */
static void
test_orphan(void)
{
	struct http_conn *c;
	size_t before = srv.nconns;
	const char *in;

	nheld = 0;
	c = http_conn_new(&srv, -1, "test");
	in = "PUT /async HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	CHECK(http_conn_feed(c, in, strlen(in)) == 0);
	CHECK(nheld == 1);
	http_conn_free(c);
	CHECK(srv.nconns == before);
	if (nheld == 1) {
		CHECK(held[0]->conn == NULL);
		CHECK(buf_used(&held[0]->body) == 3);
		CHECK_STR(http_req_peer(held[0]), "");
		http_reply(held[0], 200, NULL, NULL, "x", 1);	/* frees */
	}
	nheld = 0;
}

/* test_header_limit - 64 KiB of headers are refused with 431 */
static void
test_header_limit(void)
{
	struct buf b;
	char *got;
	int rc, i;

	buf_init(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 700; i++)
		buf_printf(&b, "X-H%d: %0100d\r\n", i, i);
	buf_puts(&b, "\r\n");
	got = feed((char *)buf_head(&b), buf_used(&b), 0, &rc);
	CHECK(strncmp(got, "HTTP/1.1 431 Request Header Fields Too Large\r\n",
	    46) == 0);
	CHECK(strstr(got, "Connection: close\r\n") != NULL);
	CHECK(rc == -1);
	free(got);
	buf_free(&b);

	/* Just under the limit is fine. */
	buf_init(&b);
	buf_puts(&b, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 550; i++)
		buf_printf(&b, "X-H%d: %0100d\r\n", i, i);
	buf_puts(&b, "\r\n");
	got = feed((char *)buf_head(&b), buf_used(&b), 0, &rc);
	CHECK(strncmp(got, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(rc == 0);
	free(got);
	buf_free(&b);
}

/*
 * The socket half. A client thread runs one scenario while the main
 * thread runs the loop; the thread wakes the loop with an ev_async.
 */
static ev_async done_w;

struct client {
	int		fd;
	struct buf	in;
};

struct resp {
	int		status;
	char		*head;		/* status line and headers */
	char		*body;
	size_t		len;
};

/* done_cb - the client thread has finished: leave ev_run */
static void
done_cb(struct ev_loop *l, ev_async *w, int revents)
{
	ev_break(l, EVBREAK_ALL);
}

struct scenario {
	void	(*fn)(void);
};

/* client_main - run a scenario, then wake the loop */
static void *
client_main(void *arg)
{
	struct scenario *s = arg;

	s->fn();
	ev_async_send(loop, &done_w);
	return NULL;
}

/* run_client - a scenario against the live server */
static void
run_client(void (*fn)(void))
{
	struct scenario s = { fn };
	pthread_t t;

	if (pthread_create(&t, NULL, client_main, &s) != 0) {
		CHECK(!"pthread_create");
		return;
	}
	ev_run(loop, 0);
	pthread_join(t, NULL);
}

/* now - monotonic seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* cl_open - a blocking connection with a 5 s receive timeout */
static int
cl_open(struct client *cl)
{
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };

	buf_init(&cl->in);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(srv_port);
	inet_pton(AF_INET, srv_addr, &sa.sin_addr);
	if ((cl->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(cl->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(cl->fd);
		cl->fd = -1;
		return -1;
	}
	return 0;
}

/* cl_close - close and forget buffered input */
static void
cl_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	buf_free(&cl->in);
}

/* cl_send - write everything; -1 if the server stopped reading */
static int
cl_send(struct client *cl, const void *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(cl->fd, p, n, MSG_NOSIGNAL)) <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* cl_puts - write a string */
static int
cl_puts(struct client *cl, const char *s)
{
	return cl_send(cl, s, strlen(s));
}

/* cl_fill - read more; 0 at EOF, -1 on error or timeout */
static int
cl_fill(struct client *cl)
{
	ssize_t n;

	buf_reserve(&cl->in, 65536);
	n = recv(cl->fd, cl->in.data + cl->in.len, 65536, 0);
	if (n > 0)
		cl->in.len += (size_t)n;
	return n < 0 ? -1 : (int)n;
}

/* cl_response - read one response; head: no body follows */
static int
cl_response(struct client *cl, struct resp *r, int head)
{
	char *end = NULL, *p;
	size_t hl, cl_len = 0;

	memset(r, 0, sizeof(*r));
	while (buf_used(&cl->in) == 0 || (end = memmem(buf_head(&cl->in),
	    buf_used(&cl->in), "\r\n\r\n", 4)) == NULL)
		if (cl_fill(cl) <= 0)
			return -1;
	hl = (size_t)(end - (char *)buf_head(&cl->in)) + 4;
	r->head = strndup((char *)buf_head(&cl->in), hl);
	buf_consume(&cl->in, hl);
	if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	if ((p = strcasestr(r->head, "\r\nContent-Length: ")) != NULL)
		cl_len = strtoul(p + 18, NULL, 10);
	if (head || r->status < 200)
		cl_len = 0;
	while (buf_used(&cl->in) < cl_len)
		if (cl_fill(cl) <= 0)
			return -1;
	r->body = cl_len ? strndup((char *)buf_head(&cl->in), cl_len) :
	    strdup("");
	r->len = cl_len;
	buf_consume(&cl->in, cl_len);
	return 0;
}

/* resp_free - release a response */
static void
resp_free(struct resp *r)
{
	free(r->head);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* cl_eof - the server closed: nothing more, then EOF */
static int
cl_eof(struct client *cl)
{
	return buf_used(&cl->in) == 0 && cl_fill(cl) == 0;
}

/* cl_get - one request, one answer on an open connection */
static int
cl_get(struct client *cl, const char *path, struct resp *r)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "X-Test: sock\r\n\r\n", path);
	if (cl_send(cl, req, strlen(req)) < 0)
		return -1;
	return cl_response(cl, r, 0);
}

/* still_serving - a fresh connection gets an answer */
static void
still_serving(void)
{
	struct client cl;
	struct resp r;

	CHECK(cl_open(&cl) == 0);
	CHECK(cl_get(&cl, "/alive", &r) == 0);
	CHECK(r.status == 200);
	CHECK_STR(r.body, "GET /alive q= a=(null) r=(null) tag= h=sock len=0 "
	    "sum=0");
	resp_free(&r);
	cl_close(&cl);
}

/* sc_simple - GET, and the answer's headers */
static void
sc_simple(void)
{
	struct client cl;
	struct resp r;

	CHECK(cl_open(&cl) == 0);
	CHECK(cl_get(&cl, "/v1/kv/a%20b?a=1&tag=x&tag=y", &r) == 0);
	CHECK(r.status == 200);
	CHECK_STR(r.body, "GET /v1/kv/a b q=a=1&tag=x&tag=y a=1 r=(null) "
	    "tag=x,y h=sock len=0 sum=0");
	CHECK(r.head && strstr(r.head, "\r\nX-Consul-Index: 5\r\n") != NULL);
	CHECK(r.head && strstr(r.head, "Connection") == NULL);
	resp_free(&r);
	cl_close(&cl);
}

/* sc_keepalive - three requests, one after the other, one connection */
static void
sc_keepalive(void)
{
	struct client cl;
	struct resp r;
	char path[32], want[128];
	int i;

	CHECK(cl_open(&cl) == 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/k%d?recurse", i);
		snprintf(want, sizeof(want), "GET /k%d q=recurse a=(null) r= "
		    "tag= h=sock len=0 sum=0", i);
		CHECK(cl_get(&cl, path, &r) == 0);
		CHECK(r.status == 200);
		CHECK_STR(r.body, want);
		resp_free(&r);
	}
	/* HEAD: headers only; the next answer follows right after. */
	CHECK(cl_puts(&cl, "HEAD /h HTTP/1.1\r\n\r\n") == 0);
	CHECK(cl_response(&cl, &r, 1) == 0);
	CHECK(r.status == 200);
	CHECK(r.head && strstr(r.head, "Content-Length: 54\r\n") != NULL);
	resp_free(&r);
	CHECK(cl_get(&cl, "/after-head", &r) == 0);
	CHECK(r.status == 200 && r.body && strncmp(r.body, "GET /after", 10)
	    == 0);
	resp_free(&r);
	cl_close(&cl);
}

/* sc_pipeline - three requests in one write, the middle one async */
static void
sc_pipeline(void)
{
	const char *in = "GET /p1 HTTP/1.1\r\n\r\nGET /async?ms=100 HTTP/1.1"
	    "\r\n\r\nPOST /p3 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	struct client cl;
	struct resp r;

	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, in, strlen(in)) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK_STR(r.body, "GET /p1 q= a=(null) r=(null) tag= h=(null) len=0 "
	    "sum=0");
	resp_free(&r);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK_STR(r.body, "async ms=100");
	resp_free(&r);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK_STR(r.body, "POST /p3 q= a=(null) r=(null) tag= h=(null) len=3 "
	    "sum=294");
	resp_free(&r);
	cl_close(&cl);
}

/* sc_bodies - a large POST, then a PUT, on one connection */
static void
sc_bodies(void)
{
	struct client cl;
	struct resp r;
	char hdr[128], want[128], *body;
	size_t n = MAX_BODY, i;
	unsigned sum = 0;

	body = malloc(n);
	for (i = 0; i < n; i++) {
		body[i] = (char)('a' + i % 26);
		sum += (unsigned char)body[i];
	}
	CHECK(cl_open(&cl) == 0);
	snprintf(hdr, sizeof(hdr), "POST /b HTTP/1.1\r\nContent-Length: %zu"
	    "\r\n\r\n", n);
	CHECK(cl_send(&cl, hdr, strlen(hdr)) == 0);
	CHECK(cl_send(&cl, body, n) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	snprintf(want, sizeof(want), "POST /b q= a=(null) r=(null) tag= "
	    "h=(null) len=%zu sum=%u", n, sum);
	CHECK_STR(r.body, want);
	resp_free(&r);
	CHECK(cl_puts(&cl, "PUT /v1/kv/x HTTP/1.1\r\nContent-Length: 4\r\n"
	    "\r\nbody") == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK_STR(r.body, "PUT /v1/kv/x q= a=(null) r=(null) tag= h=(null) "
	    "len=4 sum=430");
	resp_free(&r);
	cl_close(&cl);
	free(body);
}

/* sc_continue - 100 Continue arrives before the body is sent */
static void
sc_continue(void)
{
	struct client cl;
	struct resp r;
	char body[2000];

	memset(body, 'z', sizeof(body));
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_puts(&cl, "PUT /c HTTP/1.1\r\nContent-Length: 2000\r\n"
	    "Expect: 100-continue\r\n\r\n") == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 100);
	CHECK_STR(r.head, "HTTP/1.1 100 Continue\r\n\r\n");
	resp_free(&r);
	CHECK(cl_send(&cl, body, sizeof(body)) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 200);
	CHECK_STR(r.body, "PUT /c q= a=(null) r=(null) tag= h=(null) "
	    "len=2000 sum=244000");
	resp_free(&r);
	cl_close(&cl);
}

/* sc_too_large - 413 by Content-Length (sent or not) and by chunks */
static void
sc_too_large(void)
{
	static const char want[] = "Request body(524289 bytes) too large, "
	    "max size: 524288 bytes. See https://developer.hashicorp.com/"
	    "consul/docs/agent/config/config-files#kv_max_value_size.";
	const char *hdr = "PUT /v1/kv/big HTTP/1.1\r\nContent-Length: 524289"
	    "\r\n\r\n";
	struct client cl;
	struct resp r;
	char *body, chunk[32];
	int i, sent;

	/* Headers only: the answer comes without the body. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, hdr, strlen(hdr)) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 413);
	CHECK_STR(r.body, want);
	CHECK(r.head && strstr(r.head, "Connection: close\r\n") != NULL);
	CHECK(cl_eof(&cl));
	resp_free(&r);
	cl_close(&cl);
	still_serving();

	/* The body follows at once: the answer must survive it. */
	body = calloc(1, 524289);
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, hdr, strlen(hdr)) == 0);
	CHECK(cl_send(&cl, body, 524289) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 413);
	CHECK_STR(r.body, want);
	resp_free(&r);
	cl_close(&cl);
	free(body);
	still_serving();

	/* Chunked: refused once the chunks pass the limit. */
	body = malloc(65536);
	memset(body, 'c', 65536);
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_puts(&cl, "PUT /v1/kv/big HTTP/1.1\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n") == 0);
	snprintf(chunk, sizeof(chunk), "10000\r\n");
	for (i = 0, sent = 0; i < 9; i++)
		if (cl_send(&cl, chunk, strlen(chunk)) == 0 &&
		    cl_send(&cl, body, 65536) == 0 &&
		    cl_puts(&cl, "\r\n") == 0)
			sent++;
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 413);
	/* Eight chunks fit exactly; the ninth's size line is refused. */
	CHECK_STR(r.body, "Request body(589824 bytes) too large, max size: "
	    "524288 bytes. See https://developer.hashicorp.com/consul/docs/"
	    "agent/config/config-files#kv_max_value_size.");
	CHECK(cl_eof(&cl));
	resp_free(&r);
	cl_close(&cl);
	free(body);
	still_serving();
}

/* sc_bad - garbage, bad escapes, huge headers: an answer, then close */
static void
sc_bad(void)
{
	static const struct {
		const char	*in;
		int		 status;
		const char	*body;
	} bad[] = {
		{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400,
		  "Bad request: invalid HTTP method" },
		{ "GET /x%g0 HTTP/1.1\r\n\r\n", 400,
		  "Bad request: invalid URL escape in path \"/x%g0\"" },
		{ "GET / HTTP/1.1\r\nNo-Colon\r\n\r\n", 400,
		  "Bad request: invalid character in header" },
		{ "GET /ok HTTP/1.1\r\n\r\nBLAH\x01", 400,
		  "Bad request: invalid HTTP method" },
		{ "DELETE /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n", 400,
		  "Bad request: invalid character in chunk size header" },
	};
	struct client cl;
	struct resp r;
	struct buf big;
	size_t i;
	int k;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(cl_open(&cl) == 0);
		CHECK(cl_send(&cl, bad[i].in, strlen(bad[i].in)) == 0);
		CHECK(cl_response(&cl, &r, 0) == 0);
		if (r.status == 200) {		/* the good one before it */
			resp_free(&r);
			CHECK(cl_response(&cl, &r, 0) == 0);
		}
		CHECK(r.status == bad[i].status);
		CHECK_STR(r.body, bad[i].body);
		CHECK(cl_eof(&cl));
		resp_free(&r);
		cl_close(&cl);
		still_serving();
	}

	buf_init(&big);
	buf_puts(&big, "GET / HTTP/1.1\r\n");
	for (k = 0; k < 1000; k++)
		buf_printf(&big, "X-H%d: %0100d\r\n", k, k);
	buf_puts(&big, "\r\n");
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, buf_head(&big), buf_used(&big)) == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 431);
	CHECK(cl_eof(&cl));
	resp_free(&r);
	cl_close(&cl);
	buf_free(&big);
	still_serving();

	/* An unknown method reaches the handler, which says 405. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_puts(&cl, "BREW /pot HTTP/1.1\r\n\r\n") == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 405);
	CHECK_STR(r.body, "method BREW not allowed");
	resp_free(&r);
	CHECK(cl_get(&cl, "/same-conn", &r) == 0);
	CHECK(r.status == 200);
	resp_free(&r);
	cl_close(&cl);

	/* HTTP/1.0 without keep-alive: answered, then closed. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_puts(&cl, "GET /old HTTP/1.0\r\n\r\n") == 0);
	CHECK(cl_response(&cl, &r, 0) == 0);
	CHECK(r.status == 200);
	CHECK(r.head && strstr(r.head, "Connection: close\r\n") != NULL);
	CHECK(cl_eof(&cl));
	resp_free(&r);
	cl_close(&cl);
}

/* sc_gone - the client leaves while its request is with the handler */
static void
sc_gone(void)
{
	struct client cl;
	struct timespec ts = { 0, 500000000 };
	const char *in = "GET /async?ms=300 HTTP/1.1\r\n\r\n"
	    "GET /never HTTP/1.1\r\n\r\n";

	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, in, strlen(in)) == 0);
	cl_close(&cl);
	nanosleep(&ts, NULL);
	CHECK(__atomic_load_n(&orphan_replies, __ATOMIC_SEQ_CST) == 1);
	CHECK(__atomic_load_n(&async_pending, __ATOMIC_SEQ_CST) == 0);
	still_serving();
}

/* sc_timeouts - stalled and idle connections are closed (short timers) */
static void
sc_timeouts(void)
{
	struct client cl;
	struct resp r;
	double t0, dt;

	/* A partial request, then nothing. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_puts(&cl, "GET /slow HTTP/1.1\r\nHost:") == 0);
	t0 = now();
	CHECK(cl_eof(&cl));
	dt = now() - t0;
	CHECK(dt > 0.2 && dt < 2.);
	cl_close(&cl);

	/* Idle after an answer: the longer timer. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_get(&cl, "/idle", &r) == 0);
	CHECK(r.status == 200);
	resp_free(&r);
	t0 = now();
	CHECK(cl_eof(&cl));
	dt = now() - t0;
	CHECK(dt > 0.5 && dt < 3.);
	cl_close(&cl);

	/* Waiting for an async answer is not a stall. */
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_get(&cl, "/async?ms=600", &r) == 0);
	CHECK(r.status == 200);
	CHECK_STR(r.body, "async ms=600");
	resp_free(&r);
	cl_close(&cl);
}

/* sc_backpressure - a client that does not read is not buffered forever */
static void
sc_backpressure(void)
{
	struct client cl;
	struct resp r;
	struct buf req;
	struct timespec ts = { 1, 0 };
	int i, ok = 0, seen;

	buf_init(&req);
	for (i = 0; i < 40; i++)
		buf_puts(&req, "GET /big?n=1048576 HTTP/1.1\r\n\r\n");
	CHECK(cl_open(&cl) == 0);
	CHECK(cl_send(&cl, buf_head(&req), buf_used(&req)) == 0);
	nanosleep(&ts, NULL);
	seen = __atomic_load_n(&big_dispatched, __ATOMIC_SEQ_CST);
	fprintf(stderr, "backpressure: %d of 40 answered while not read\n",
	    seen);
	CHECK(seen >= 1 && seen < 40);
	for (i = 0; i < 40; i++)
		if (cl_response(&cl, &r, 0) == 0 && r.status == 200 &&
		    r.len == 1048576) {
			ok++;
			resp_free(&r);
		}
	CHECK(ok == 40);
	CHECK(__atomic_load_n(&big_dispatched, __ATOMIC_SEQ_CST) == 40);
	cl_close(&cl);
	buf_free(&req);
}

#define NMANY 2000

/* sc_many - many connections open at once, each served */
static void
sc_many(void)
{
	static struct client cl[NMANY];
	struct resp r;
	int i, opened = 0, ok = 0;

	for (i = 0; i < NMANY; i++)
		if (cl_open(&cl[i]) == 0) {
			opened++;
			if (cl_puts(&cl[i], "GET /m HTTP/1.1\r\n\r\n") < 0)
				break;
		}
	for (i = 0; i < NMANY; i++)
		if (cl[i].fd >= 0 && cl_response(&cl[i], &r, 0) == 0 &&
		    r.status == 200) {
			ok++;
			resp_free(&r);
		}
	CHECK(opened == NMANY);
	CHECK(ok == NMANY);
	for (i = 0; i < NMANY; i++)
		cl_close(&cl[i]);
}

/* test_sockets - every scenario against one live server */
static void
test_sockets(void)
{
	char err[256];
	int tries;

	loop = ev_loop_new(EVFLAG_AUTO);
	ev_async_init(&done_w, done_cb);
	ev_async_start(loop, &done_w);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (tries = 0; tries < 10; tries++) {
		snprintf(srv_addr, sizeof(srv_addr), "127.0.0.%d",
		    50 + rand() % 200);
		if (http_server_listen(&srv, loop, srv_addr, 0, MAX_BODY,
		    test_handler, err, sizeof(err)) == 0)
			break;
	}
	CHECK(tries < 10);
	if (tries == 10) {
		fprintf(stderr, "listen: %s\n", err);
		return;
	}
	srv_port = http_server_port(&srv);
	CHECK(srv_port > 0);

	run_client(sc_simple);
	run_client(sc_keepalive);
	run_client(sc_pipeline);
	run_client(sc_bodies);
	run_client(sc_continue);
	run_client(sc_too_large);
	run_client(sc_bad);
	run_client(sc_gone);
	srv.stall_timeout = 0.4;
	srv.idle_timeout = 1.0;
	run_client(sc_timeouts);
	srv.stall_timeout = 30.;
	srv.idle_timeout = 300.;
	srv.max_output = 1 << 20;
	run_client(sc_backpressure);
	run_client(sc_many);

	CHECK(async_pending == 0);
	http_server_stop(&srv);
	CHECK(srv.nconns == 0);
	CHECK(http_server_port(&srv) == -1);
	ev_async_stop(loop, &done_w);
	ev_loop_destroy(loop);
	loop = NULL;
}

int
main(void)
{
	log_init("test_http_conn");
	log_level = LOG_ERR;	/* the bad requests below warn on purpose */
	http_server_init(&srv, NULL, 64, test_handler);
	RUN(test_table);
	RUN(test_mutations);
	RUN(test_cut_everywhere);
	RUN(test_nul);
	RUN(test_pipeline_held);
	RUN(test_orphan);
	RUN(test_header_limit);
	http_server_stop(&srv);
	RUN(test_sockets);
	return TEST_DONE();
}
