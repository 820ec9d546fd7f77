/*
 * http_conn.c - HTTP/1.1 server connections on libev with http-parser.
 * See http_conn.h.
 *
 * One request at a time per connection: when http-parser completes a
 * message the parser is paused, the request goes to the handler, and the
 * bytes after it stay in the input buffer until http_reply() has queued
 * the answer. That keeps pipelined answers in order with no queue of
 * requests. The handler is never called from inside http_parser_execute;
 * a reply made from inside the handler only queues output, and the
 * connection's own loop (conn_update) carries on, so nothing is freed
 * under a caller's feet. A connection that is closed while its request is
 * in flight leaves the request with conn == NULL (and tells req->gone);
 * http_reply() frees it.
 *
 * A streamed reply keeps its request in flight from http_stream_begin to
 * http_stream_end; each piece goes into the output buffer as a chunk and
 * the write watcher sends it. The stall timer is armed when output starts
 * waiting and re-armed only by the client's progress (reading or
 * sending), so one that stops reading is closed even while lines come.
 *
 * Left out: request timeouts while the handler works (blocking queries
 * take minutes by design), half-closed clients whose request is in flight
 * (their EOF is taken as "gone", as Go's net/http does), Date headers.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "sock.h"

#include "http_conn.h"

#define HTTP_METHOD_MAX	32	/* longest method token we sniff */
#define HTTP_MAX_PENDING_INPUT	65536	/* input buffered behind a request */
#define HTTP_MAX_OUTPUT	(4u << 20)
#define HTTP_READ_SIZE	16384

/* Which part of a header http-parser reported last. */
enum { H_NONE, H_FIELD, H_VALUE, H_DONE };

/* How a streamed reply's body is framed (http_req.stream). */
enum {
	HTTP_STREAM_NONE,
	HTTP_STREAM_CHUNKED,	/* HTTP/1.1: Transfer-Encoding: chunked */
	HTTP_STREAM_CLOSE,	/* HTTP/1.0: the body ends at close */
	HTTP_STREAM_HEAD	/* a HEAD: headers only, writes dropped */
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	int		 fd;		/* -1: no socket */
	int		 busy;		/* depth inside conn_update */
	ev_io		 read_w, write_w;
	ev_timer	 timer_w;
	http_parser	 parser;
	struct buf	 in, out;
	struct http_req	*req;		/* being parsed, or in flight */
	char		*next_method;	/* unknown method, next request */
	size_t		 hdr_bytes;
	size_t		 body_max;	/* this request's limit */
	unsigned	 in_flight:1;	/* req is with the handler */
	unsigned	 closing:1;	/* close once output is written */
	unsigned	 lingering:1;	/* write side shut, draining */
	unsigned	 peer_eof:1;
	unsigned	 served:1;	/* answered once: idle timer */
	unsigned	 dead:1;	/* fd closed, free when not busy */
	char		 peer[48];
};

static int	conn_on_begin(http_parser *);
static int	conn_on_url(http_parser *, const char *, size_t);
static int	conn_on_field(http_parser *, const char *, size_t);
static int	conn_on_value(http_parser *, const char *, size_t);
static int	conn_on_headers(http_parser *);
static int	conn_on_body(http_parser *, const char *, size_t);
static int	conn_on_chunk(http_parser *);
static int	conn_on_complete(http_parser *);
static void	conn_update(struct http_conn *);
static void	conn_watch(struct http_conn *);
static int	is_tchar(int);
static void	conn_body_too_large(struct http_conn *, uint64_t);

static const http_parser_settings conn_settings = {
	.on_message_begin = conn_on_begin,
	.on_url = conn_on_url,
	.on_header_field = conn_on_field,
	.on_header_value = conn_on_value,
	.on_headers_complete = conn_on_headers,
	.on_body = conn_on_body,
	.on_chunk_header = conn_on_chunk,
	.on_message_complete = conn_on_complete,
};

static const char *const http_known_methods[] = {
#define XX(num, name, string) #string,
	HTTP_METHOD_MAP(XX)
#undef XX
};

/* xstrndup - strndup or die */
static char *
xstrndup(const char *s, size_t n)
{
	char *p;

	if ((p = strndup(s, n)) == NULL)
		log_fatal("out of memory");
	return p;
}

/* req_free - release a request and everything it owns */
static void
req_free(struct http_req *req)
{
	free(req->other_method);
	free(req->path);
	free(req->query);
	buf_free(&req->url);
	buf_free(&req->hdrs);
	buf_free(&req->params);
	buf_free(&req->body);
	free(req);
}

/* hexval - value of a hex digit, -1 if it is not one */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * pct_decode - append s[0..n) percent-decoded to out ('+' is a space when
 * plus is set, as in a query); -1 on a bad escape or an encoded NUL, with
 * out as it was. The result is not NUL-terminated.
 */
static int
pct_decode(struct buf *out, const char *s, size_t n, int plus)
{
	size_t i, save = out->len;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				goto bad;
			buf_putc(out, hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			buf_putc(out, ' ');
		else
			buf_putc(out, s[i]);
	}
	return 0;
bad:
	out->len = save;
	return -1;
}

/*
 * req_parse_params - decode the query into "name\0value\0" pairs. A pair
 * that does not decode is skipped, as Go's url.ParseQuery does for
 * r.URL.Query(), which Consul reads.
 */
static void
req_parse_params(struct http_req *req)
{
	const char *q = req->query, *end, *eq;
	size_t save;

	while (*q != '\0') {
		end = q + strcspn(q, "&");
		if (end > q) {
			save = req->params.len;
			if ((eq = memchr(q, '=', end - q)) == NULL)
				eq = end;
			if (pct_decode(&req->params, q, eq - q, 1) == 0 &&
			    (buf_putc(&req->params, '\0'),
			    eq == end || pct_decode(&req->params, eq + 1,
			    end - eq - 1, 1) == 0))
				buf_putc(&req->params, '\0');
			else
				req->params.len = save;
		}
		q = *end ? end + 1 : end;
	}
}

/* pairs_next - step through "name\0value\0" pairs; 0 at the end */
static int
pairs_next(const struct buf *b, size_t *pos, const char **name,
    const char **value)
{
	const char *p;

	if (*pos >= b->len)
		return 0;
	p = (const char *)b->data + *pos;
	*name = p;
	p += strlen(p) + 1;
	*value = p;
	p += strlen(p) + 1;
	*pos = (size_t)(p - (const char *)b->data);
	return 1;
}

/* http_req_param - decoded value of a query parameter, NULL if absent */
const char *
http_req_param(struct http_req *req, const char *name)
{
	const char *n, *v;
	size_t pos = 0;

	while (pairs_next(&req->params, &pos, &n, &v))
		if (strcmp(n, name) == 0)
			return v;
	return NULL;
}

/* http_req_params - every value of a repeated parameter, in order */
size_t
http_req_params(struct http_req *req, const char *name, const char **out,
    size_t max)
{
	const char *n, *v;
	size_t pos = 0, k = 0;

	while (k < max && pairs_next(&req->params, &pos, &n, &v))
		if (strcmp(n, name) == 0)
			out[k++] = v;
	return k;
}

/* http_req_header - first value of a header, name matched without case */
const char *
http_req_header(struct http_req *req, const char *name)
{
	const char *n, *v;
	size_t pos = 0;

	if (req->hstate != H_DONE)
		return NULL;
	while (pairs_next(&req->hdrs, &pos, &n, &v))
		if (strcasecmp(n, name) == 0)
			return v;
	return NULL;
}

/* http_req_peer - the client's address, "" once it has gone */
const char *
http_req_peer(struct http_req *req)
{
	return req->conn != NULL ? req->conn->peer : "";
}

/* req_header_end - terminate the header being stored, trimming its value */
static void
req_header_end(struct http_req *req)
{
	struct buf *h = &req->hdrs;

	if (req->hstate == H_FIELD)
		buf_putc(h, '\0');
	if (req->hstate == H_FIELD || req->hstate == H_VALUE) {
		/* The field's NUL stops the trim. */
		while (h->len > 0 && (h->data[h->len - 1] == ' ' ||
		    h->data[h->len - 1] == '\t'))
			h->len--;
		buf_putc(h, '\0');
	}
	req->hstate = H_NONE;
}

/* conn_put_status - queue a status line, Content-Type and extra headers */
static void
conn_put_status(struct http_conn *c, int status, const char *ctype,
    const char *extra)
{
	struct buf *o = &c->out;
	const char *reason = http_status_str((enum http_status)status);

	if (strcmp(reason, "<unknown>") == 0)
		reason = "";
	buf_printf(o, "HTTP/1.1 %d %s\r\n", status, reason);
	if (ctype != NULL)
		buf_printf(o, "Content-Type: %s\r\n", ctype);
	if (extra != NULL)
		buf_puts(o, extra);
}

/* conn_put_response - queue a status line, headers and body */
static void
conn_put_response(struct http_conn *c, int status, int head, int keep_alive,
    int http10, const char *ctype, const char *extra, const void *body,
    size_t len)
{
	struct buf *o = &c->out;
	int bodyless = status < 200 || status == 204 || status == 304;

	conn_put_status(c, status, ctype, extra);
	if (!bodyless)
		buf_printf(o, "Content-Length: %zu\r\n", len);
	if (!keep_alive)
		buf_puts(o, "Connection: close\r\n");
	else if (http10)
		buf_puts(o, "Connection: keep-alive\r\n");
	buf_puts(o, "\r\n");
	if (!bodyless && !head)
		buf_append(o, body, len);
}

/*
 * conn_fail - answer a request we will not hand to the handler (bad
 * syntax, too large) and close after it. Never called while a request is
 * in flight, so the answer stays in order.
 */
static void
conn_fail(struct http_conn *c, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (c->closing)
		return;
	if (c->in_flight)
		log_panic("http: conn_fail with a request in flight");
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("http: %s: %d %s", c->peer, status, msg);
	if (c->req != NULL) {
		req_free(c->req);
		c->req = NULL;
	}
	conn_put_response(c, status, 0, 0, 0, "text/plain; charset=utf-8",
	    NULL, msg, strlen(msg));
	c->closing = 1;
}

/* conn_on_begin - a new request starts */
static int
conn_on_begin(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_req *req;

	if (c->req != NULL)
		log_panic("http: message begins with a request pending");
	if ((req = calloc(1, sizeof(*req))) == NULL)
		log_fatal("out of memory");
	req->conn = c;
	req->other_method = c->next_method;
	c->next_method = NULL;
	c->req = req;
	c->hdr_bytes = 0;
	return 0;
}

/* conn_count_header - enforce HTTP_MAX_HEADER over line and headers */
static int
conn_count_header(struct http_conn *c, size_t len)
{
	c->hdr_bytes += len;
	if (c->hdr_bytes > HTTP_MAX_HEADER) {
		conn_fail(c, 431, "Request header fields too large "
		    "(limit %d bytes)", HTTP_MAX_HEADER);
		return -1;
	}
	return 0;
}

/* conn_on_url - collect the request target, which may come in pieces */
static int
conn_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (conn_count_header(c, len) < 0)
		return -1;
	buf_append(&c->req->url, at, len);
	return 0;
}

/* conn_on_field - a header name, or a piece of one */
static int
conn_on_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_req *req = c->req;
	size_t i;

	/* 4: the ": " and CRLF that the parser does not pass on. */
	if (conn_count_header(c, len + 4) < 0)
		return -1;
	if (req->hstate == H_DONE)
		return 0;	/* a chunked trailer: not kept */
	/* http-parser lets a space into a name; RFC 7230 3.2 does not. */
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)at[i])) {
			conn_fail(c, 400, "Bad request: invalid character in "
			    "header name");
			return -1;
		}
	if (req->hstate == H_VALUE)
		req_header_end(req);
	buf_append(&req->hdrs, at, len);
	req->hstate = H_FIELD;
	return 0;
}

/* conn_on_value - a header value, or a piece of one */
static int
conn_on_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_req *req = c->req;

	if (conn_count_header(c, len) < 0)
		return -1;
	if (req->hstate == H_DONE)
		return 0;
	/* Values are kept NUL-terminated; Go refuses NUL there too. */
	if (memchr(at, '\0', len) != NULL) {
		conn_fail(c, 400, "Bad request: invalid character in header "
		    "value");
		return -1;
	}
	if (req->hstate == H_FIELD)
		buf_putc(&req->hdrs, '\0');
	buf_append(&req->hdrs, at, len);
	req->hstate = H_VALUE;
	return 0;
}

/* req_set_target - split and decode the request target; 0 or -1 (failed) */
static int
req_set_target(struct http_conn *c, struct http_req *req)
{
	struct http_parser_url u;
	struct buf path;
	const char *url = (const char *)req->url.data;
	size_t off, len;

	if (req->url.len > UINT16_MAX) {
		conn_fail(c, 414, "Request URI too long");
		return -1;
	}
	http_parser_url_init(&u);
	if (url == NULL || http_parser_parse_url(url, req->url.len,
	    req->method == HTTP_CONNECT, &u) != 0) {
		conn_fail(c, 400, "Bad request: invalid request URL");
		return -1;
	}
	buf_init(&path);
	if (u.field_set & (1 << UF_PATH)) {
		off = u.field_data[UF_PATH].off;
		len = u.field_data[UF_PATH].len;
		if (pct_decode(&path, url + off, len, 0) < 0) {
			buf_free(&path);
			conn_fail(c, 400, "Bad request: invalid URL escape "
			    "in path \"%.100s\"", buf_cstr(&req->url));
			return -1;
		}
	} else
		buf_putc(&path, '/');
	buf_putc(&path, '\0');
	req->path = (char *)path.data;
	if (u.field_set & (1 << UF_QUERY))
		req->query = xstrndup(url + u.field_data[UF_QUERY].off,
		    u.field_data[UF_QUERY].len);
	else
		req->query = xstrndup("", 0);
	req_parse_params(req);
	buf_shrink(&req->params);
	buf_free(&req->url);	/* path, query and params are all we use */
	return 0;
}

/*
 * conn_on_headers - the request line and headers are in: decode the
 * target, check the body against max_body before reading any of it, and
 * answer Expect: 100-continue (RFC 7231 5.1.1).
 */
static int
conn_on_headers(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_req *req = c->req;
	size_t max_body;
	const char *expect;
	int has_body;

	req_header_end(req);
	req->hstate = H_DONE;
	/* Kept while the request waits, maybe minutes: no spare room. */
	buf_shrink(&req->hdrs);
	if (req->other_method != NULL) {
		req->method = HTTP_REQ_OTHER;
		req->method_name = req->other_method;
	} else {
		req->method = (enum http_method)p->method;
		req->method_name = http_method_str(req->method);
	}
	req->http_major = p->http_major > 255 ? 255 : p->http_major;
	req->http_minor = p->http_minor > 255 ? 255 : p->http_minor;
	/* An upgrade (or CONNECT) is refused by ending the connection. */
	req->keep_alive = http_should_keep_alive(p) && !p->upgrade;
	if (req_set_target(c, req) < 0)
		return -1;
	max_body = c->srv->body_limit != NULL ? c->srv->body_limit(req) : 0;
	c->body_max = max_body = max_body ? max_body : c->srv->max_body;

	if ((p->flags & F_CONTENTLENGTH) && p->content_length > max_body) {
		conn_body_too_large(c, p->content_length);
		return -1;
	}
	has_body = (p->flags & F_CHUNKED) ||
	    ((p->flags & F_CONTENTLENGTH) && p->content_length > 0);
	expect = http_req_header(req, "Expect");
	if (expect != NULL && (p->http_major > 1 ||
	    (p->http_major == 1 && p->http_minor >= 1))) {
		if (strcasecmp(expect, "100-continue") != 0) {
			conn_fail(c, 417, "Expectation failed: unsupported "
			    "Expect \"%.100s\"", expect);
			return -1;
		}
		if (has_body)
			buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0)
		buf_reserve(&req->body, (size_t)p->content_length);
	return 0;
}

/* conn_body_too_large - the 413 Consul gives, with the size seen */
static void
conn_body_too_large(struct http_conn *c, uint64_t size)
{
	conn_fail(c, 413, "Request body(%" PRIu64 " bytes) too large, "
	    "max size: %zu bytes. See https://developer.hashicorp.com/"
	    "consul/docs/agent/config/config-files#kv_max_value_size.",
	    size, c->body_max);
}

/* conn_on_chunk - refuse a chunk that would pass max_body, unread */
static int
conn_on_chunk(http_parser *p)
{
	struct http_conn *c = p->data;
	uint64_t have = buf_used(&c->req->body);

	if (p->content_length > c->body_max - have) {
		conn_body_too_large(c, have + p->content_length);
		return -1;
	}
	return 0;
}

/* conn_on_body - collect the body, never past max_body */
static int
conn_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_req *req = c->req;
	size_t have = buf_used(&req->body);

	if (len > c->body_max - have) {
		conn_body_too_large(c, (uint64_t)have + len);
		return -1;
	}
	buf_append(&req->body, at, len);
	return 0;
}

/* conn_on_complete - stop the parser; conn_parse hands the request over */
static int
conn_on_complete(http_parser *p)
{
	http_parser_pause(p, 1);
	return 0;
}

/* method_is_known - whether http-parser parses this method token */
static int
method_is_known(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(http_known_methods) /
	    sizeof(http_known_methods[0]); i++)
		if (strlen(http_known_methods[i]) == n &&
		    memcmp(http_known_methods[i], s, n) == 0)
			return 1;
	return 0;
}

/* is_tchar - an RFC 7230 token character */
static int
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') ||
	    (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * conn_sniff_method - at the start of a request, find its method. http-
 * parser knows a fixed list; Go (and so Consul) takes any token and lets
 * the route answer 405. An unknown token is kept aside and the parser is
 * shown "GET" in its place. 0 when more bytes are needed to tell.
 */
static int
conn_sniff_method(struct http_conn *c)
{
	const unsigned char *p;
	size_t n, i = 0, j;

	p = buf_head(&c->in);
	n = buf_used(&c->in);
	/* CRLFs between requests are allowed (RFC 7230 3.5). */
	while (i < n && (p[i] == '\r' || p[i] == '\n'))
		i++;
	buf_consume(&c->in, i);
	p = buf_head(&c->in);
	n = buf_used(&c->in);
	for (j = 0; j < n && j <= HTTP_METHOD_MAX && is_tchar(p[j]); j++)
		;
	if (j == n && j <= HTTP_METHOD_MAX)
		return 0;
	if (j == 0 || j > HTTP_METHOD_MAX || p[j] != ' ' ||
	    method_is_known(p, j))
		return 1;	/* the parser decides */
	free(c->next_method);
	c->next_method = xstrndup((const char *)p, j);
	buf_consume(&c->in, j);
	http_parser_execute(&c->parser, &conn_settings, "GET", 3);
	return 1;
}

/*
 * conn_parse - run the parser over buffered input and hand each complete
 * request to the handler, until one is in flight, the input runs out, or
 * the output is over its limit (returns 1 then: flush and call again).
 */
static int
conn_parse(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	enum http_errno e;
	size_t n, used;

	while (!c->dead && !c->closing && !c->in_flight &&
	    buf_used(&c->in) > 0) {
		if (buf_used(&c->out) > srv->max_output)
			return 1;
		if (c->req == NULL && !conn_sniff_method(c))
			break;
		if ((used = buf_used(&c->in)) == 0)
			break;
		n = http_parser_execute(&c->parser, &conn_settings,
		    (const char *)buf_head(&c->in), used);
		buf_consume(&c->in, n);
		e = HTTP_PARSER_ERRNO(&c->parser);
		if (e == HPE_PAUSED) {
			http_parser_pause(&c->parser, 0);
			if (c->closing || c->req == NULL)
				break;
			c->in_flight = 1;
			c->served = 1;
			/* A blocking query may wait minutes: hold no input
			   buffer for it (10,000 watchers, 10,000 buffers). */
			if (buf_used(&c->in) == 0)
				buf_free(&c->in);
			/* A reply from inside only queues: we are busy. */
			srv->handler(c->req);
		} else if (e != HPE_OK) {
			if (e == HPE_HEADER_OVERFLOW)
				conn_fail(c, 431, "Request header fields too "
				    "large");
			else
				conn_fail(c, 400, "Bad request: %s",
				    http_errno_description(e));
			break;
		} else if (n < used) {
			conn_fail(c, 400, "Bad request: unexpected data");
			break;
		}
	}
	if (buf_used(&c->in) == 0)
		buf_free(&c->in);	/* idle connections hold no buffer */
	return 0;
}

/* conn_flush - write queued output without blocking; -1 on a write error */
static int
conn_flush(struct http_conn *c)
{
	ssize_t n;

	if (c->fd < 0)
		return 0;
	while (buf_used(&c->out) > 0) {
		n = send(c->fd, buf_head(&c->out), buf_used(&c->out),
		    MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		log_debug("http: %s: write: %s", c->peer,
		    n < 0 ? strerror(errno) : "nothing written");
		return -1;
	}
	buf_free(&c->out);
	return 0;
}

/*
 * conn_kill - close the socket now; an in-flight request is orphaned and
 * its gone hook told, last, when the connection is consistent again.
 */
static void
conn_kill(struct http_conn *c)
{
	struct ev_loop *loop = c->srv->loop;
	struct http_req *orphan = NULL;

	if (c->dead)
		return;
	c->dead = 1;
	if (c->fd >= 0) {
		if (loop != NULL) {
			ev_io_stop(loop, &c->read_w);
			ev_io_stop(loop, &c->write_w);
			ev_timer_stop(loop, &c->timer_w);
		}
		close(c->fd);
		c->fd = -1;
	}
	if (c->req != NULL) {
		if (c->in_flight) {
			c->req->conn = NULL;	/* http_reply frees it */
			orphan = c->req;
		} else
			req_free(c->req);
		c->req = NULL;
		c->in_flight = 0;
	}
	if (orphan != NULL && orphan->gone != NULL)
		orphan->gone(orphan);
}

/* conn_destroy - unlink and free a dead connection */
static void
conn_destroy(struct http_conn *c)
{
	struct http_server *srv = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c->next_method);
	free(c);
}

/*
 * conn_watch - set the watchers from the state: read unless the client
 * is owed too much output or has too much input waiting; write only while
 * output is pending; a stall timer while a request or an answer is half
 * way, the idle timer between requests, none while the handler works.
 */
static void
conn_watch(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	struct ev_loop *loop = srv->loop;
	int rd;

	if (c->fd < 0 || loop == NULL)
		return;
	rd = !c->peer_eof && (c->closing || c->lingering ||
	    (buf_used(&c->out) <= srv->max_output &&
	    buf_used(&c->in) <= HTTP_MAX_PENDING_INPUT));
	if (rd && !ev_is_active(&c->read_w))
		ev_io_start(loop, &c->read_w);
	else if (!rd && ev_is_active(&c->read_w))
		ev_io_stop(loop, &c->read_w);
	if (buf_used(&c->out) > 0 && !ev_is_active(&c->write_w))
		ev_io_start(loop, &c->write_w);
	else if (buf_used(&c->out) == 0 && ev_is_active(&c->write_w))
		ev_io_stop(loop, &c->write_w);

	if (c->lingering)
		return;		/* armed once, in conn_update */
	if (c->in_flight && buf_used(&c->out) == 0) {
		ev_timer_stop(loop, &c->timer_w);
		return;
	}
	if (c->req != NULL || buf_used(&c->in) > 0 ||
	    buf_used(&c->out) > 0 || !c->served)
		c->timer_w.repeat = srv->stall_timeout;
	else
		c->timer_w.repeat = srv->idle_timeout;
	ev_timer_again(loop, &c->timer_w);
}

/*
 * conn_update - after any event: parse and dispatch, write, close or
 * linger, reset the watchers. Frees the connection once it is dead and
 * no caller up the stack is inside it.
 */
static void
conn_update(struct http_conn *c)
{
	struct http_server *srv = c->srv;
	int more;

	c->busy++;
	for (;;) {
		more = conn_parse(c);
		if (!c->dead && conn_flush(c) < 0)
			conn_kill(c);
		if (c->dead || !more || buf_used(&c->out) > srv->max_output)
			break;
	}
	if (!c->dead && c->closing && !c->in_flight && c->fd >= 0 &&
	    buf_used(&c->out) == 0 && !c->lingering) {
		if (c->peer_eof)
			conn_kill(c);
		else {
			/*
			 * Closing with unread input makes the kernel send a
			 * reset that can destroy our answer on its way;
			 * shut our side and drain theirs for a while.
			 */
			shutdown(c->fd, SHUT_WR);
			c->lingering = 1;
			buf_free(&c->in);
			if (srv->loop != NULL) {
				c->timer_w.repeat = srv->linger_timeout;
				ev_timer_again(srv->loop, &c->timer_w);
			}
		}
	}
	c->busy--;
	if (c->dead) {
		if (c->busy == 0)
			conn_destroy(c);
		return;
	}
	conn_watch(c);
}

/* conn_read_cb - socket readable: buffer input, notice the client leaving */
static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_conn *c = w->data;
	char tmp[HTTP_READ_SIZE];
	ssize_t n;

	n = recv(c->fd, tmp, sizeof(tmp), 0);
	if (n > 0) {
		if (!c->closing && !c->lingering)
			buf_append(&c->in, tmp, (size_t)n);
	} else if (n == 0) {
		c->peer_eof = 1;
		/* A request in flight has nobody left to answer. */
		if (c->lingering || c->in_flight || buf_used(&c->out) == 0)
			conn_kill(c);
		else
			c->closing = 1;
	} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		log_debug("http: %s: read: %s", c->peer, strerror(errno));
		conn_kill(c);
	}
	conn_update(c);
}

/* conn_write_cb - socket writable: write more */
static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_update(w->data);
}

/* conn_timer_cb - stalled, idle for too long, or done lingering */
static void
conn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_conn *c = w->data;

	if (!c->lingering)
		log_debug("http: %s: %s timeout, closing", c->peer,
		    c->timer_w.repeat == c->srv->idle_timeout ? "idle" :
		    "stall");
	conn_kill(c);
	conn_update(c);
}

/* http_conn_new - a connection on fd (-1: none, fed by http_conn_feed) */
struct http_conn *
http_conn_new(struct http_server *srv, int fd, const char *peer)
{
	struct http_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		log_fatal("out of memory");
	c->srv = srv;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : "-");
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	ev_io_init(&c->read_w, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->write_w, conn_write_cb, fd, EV_WRITE);
	ev_init(&c->timer_w, conn_timer_cb);
	c->read_w.data = c->write_w.data = c->timer_w.data = c;
	if ((c->next = srv->conns) != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	if (fd >= 0)
		conn_update(c);
	return c;
}

/*
 * http_conn_feed - hand bytes to a connection as if read from its socket;
 * -1 once it is finished (closing or closed) and should be freed.
 */
int
http_conn_feed(struct http_conn *c, const void *data, size_t len)
{
	int done;

	if (c->dead || c->closing)
		return -1;
	buf_append(&c->in, data, len);
	c->busy++;
	conn_update(c);
	c->busy--;
	done = c->dead || c->closing;
	if (c->dead && c->busy == 0)
		conn_destroy(c);
	return done ? -1 : 0;
}

/* http_conn_output - what the connection has queued and not written */
struct buf *
http_conn_output(struct http_conn *c)
{
	return &c->out;
}

/* http_conn_free - close and free a connection (not from its handler) */
void
http_conn_free(struct http_conn *c)
{
	conn_kill(c);
	if (c->busy == 0)
		conn_destroy(c);
}

/* http_reply - queue the answer, free the request, carry on parsing */
void
http_reply(struct http_req *req, int status, const char *content_type,
    const char *extra_headers, const void *body, size_t len)
{
	struct http_conn *c = req->conn;

	if (c != NULL) {
		if (c->req != req || !c->in_flight || req->stream)
			log_panic("http_reply: request is not in flight");
		conn_put_response(c, status, req->method == HTTP_HEAD,
		    req->keep_alive, req->http_major == 1 &&
		    req->http_minor == 0, content_type, extra_headers, body,
		    len);
		c->req = NULL;
		c->in_flight = 0;
		if (!req->keep_alive)
			c->closing = 1;
	}
	req_free(req);
	if (c != NULL && c->busy == 0)
		conn_update(c);
}

/*
 * http_stream_begin - the status and headers of a streamed reply: chunked
 * for HTTP/1.1 (curl, requests and Go's client read it as Consul sends
 * it), delimited by the close for HTTP/1.0, which has no chunks.
 */
void
http_stream_begin(struct http_req *req, int status, const char *ctype,
    const char *extra)
{
	struct http_conn *c = req->conn;
	int http10 = req->http_major == 1 && req->http_minor == 0;
	int idle;

	if (req->stream)
		log_panic("http_stream_begin: stream already begun");
	if (req->method == HTTP_HEAD)
		req->stream = HTTP_STREAM_HEAD;
	else if (http10) {
		req->stream = HTTP_STREAM_CLOSE;
		req->keep_alive = 0;
	} else
		req->stream = HTTP_STREAM_CHUNKED;
	if (c == NULL)
		return;
	if (c->req != req || !c->in_flight)
		log_panic("http_stream_begin: request is not in flight");
	idle = buf_used(&c->out) == 0;
	conn_put_status(c, status, ctype, extra);
	/* A HEAD gets the headers its GET would have. */
	if (!http10)
		buf_puts(&c->out, "Transfer-Encoding: chunked\r\n");
	if (!req->keep_alive)
		buf_puts(&c->out, "Connection: close\r\n");
	else if (http10)
		buf_puts(&c->out, "Connection: keep-alive\r\n");
	buf_puts(&c->out, "\r\n");
	if (idle && c->busy == 0)
		conn_watch(c);
}

/*
 * http_stream_write - queue one piece of a streamed body. Sending here
 * could find the client gone and call its gone hook under the writer, so
 * only the write watcher is armed, and only when output was idle: the
 * stall timer then measures the client's progress, not our writes.
 */
int
http_stream_write(struct http_req *req, const void *data, size_t len)
{
	struct http_conn *c = req->conn;
	int idle;

	if (c == NULL)
		return -1;
	if (c->req != req || !c->in_flight || !req->stream)
		log_panic("http_stream_write: no stream in flight");
	/* An empty chunk would end the body. */
	if (len == 0 || req->stream == HTTP_STREAM_HEAD)
		return 0;
	idle = buf_used(&c->out) == 0;
	if (req->stream == HTTP_STREAM_CHUNKED)
		buf_printf(&c->out, "%zx\r\n", len);
	buf_append(&c->out, data, len);
	if (req->stream == HTTP_STREAM_CHUNKED)
		buf_puts(&c->out, "\r\n");
	if (idle && c->busy == 0)
		conn_watch(c);
	return 0;
}

/* http_stream_queued - see http_conn.h */
size_t
http_stream_queued(const struct http_req *req)
{
	return req->conn != NULL ? buf_used(&req->conn->out) : 0;
}

/*
 * http_stream_end - the last chunk, then on with the connection (the next
 * pipelined request) or, for a close-delimited body, its close.
 */
void
http_stream_end(struct http_req *req)
{
	struct http_conn *c = req->conn;

	if (c != NULL) {
		if (c->req != req || !c->in_flight || !req->stream)
			log_panic("http_stream_end: no stream in flight");
		if (req->stream == HTTP_STREAM_CHUNKED)
			buf_puts(&c->out, "0\r\n\r\n");
		c->req = NULL;
		c->in_flight = 0;
		if (!req->keep_alive)
			c->closing = 1;
	}
	req_free(req);
	if (c != NULL && c->busy == 0)
		conn_update(c);
}

/* http_reply_vtext - a text/plain answer, as Consul gives its errors */
void
http_reply_vtext(struct http_req *req, int status, const char *fmt,
    va_list ap)
{
	char *msg;
	int n;

	if ((n = vasprintf(&msg, fmt, ap)) < 0)
		log_fatal("out of memory");
	http_reply(req, status, "text/plain; charset=utf-8", NULL, msg,
	    (size_t)n);
	free(msg);
}

/* http_reply_text - printf-style http_reply_vtext */
void
http_reply_text(struct http_req *req, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	http_reply_vtext(req, status, fmt, ap);
	va_end(ap);
}

/* server_accept_cb - take every pending connection */
static void
server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct http_server *srv = w->data;
	struct sockaddr_storage ss;
	socklen_t len;
	char peer[64];
	int fd, i, on = 1;

	for (i = 0; i < 64; i++) {
		len = sizeof(ss);
		fd = accept4(srv->fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of fds: a level-triggered retry would spin. */
			log_warn("http: accept: %s; pausing 100 ms",
			    strerror(errno));
			ev_io_stop(loop, &srv->accept_w);
			ev_timer_set(&srv->backoff_w, 0.1, 0.);
			ev_timer_start(loop, &srv->backoff_w);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
		sock_addr_str((struct sockaddr *)&ss, peer, sizeof(peer));
		http_conn_new(srv, fd, peer);
	}
}

/* server_backoff_cb - accept again after a shortage of descriptors */
static void
server_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_server *srv = w->data;

	if (srv->fd >= 0)
		ev_io_start(loop, &srv->accept_w);
}

/* http_server_init - defaults, no listener (enough for socket-less use) */
void
http_server_init(struct http_server *srv, struct ev_loop *loop,
    size_t max_body, http_handler *handler)
{
	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->fd = -1;
	srv->handler = handler;
	srv->max_body = max_body ? max_body : HTTP_MAX_BODY_DEFAULT;
	srv->max_output = HTTP_MAX_OUTPUT;
	srv->stall_timeout = 30.;
	srv->idle_timeout = 300.;
	srv->linger_timeout = 2.;
}

/* http_server_listen - bind addr:port and serve on loop */
int
http_server_listen(struct http_server *srv, struct ev_loop *loop,
    const char *addr, int port, size_t max_body, http_handler *handler,
    char *err, size_t errlen)
{
	int fd;

	http_server_init(srv, loop, max_body, handler);
	if ((fd = sock_inet_listen(addr, port, SOCK_STREAM, err, errlen)) < 0)
		return -1;
	srv->fd = fd;
	ev_io_init(&srv->accept_w, server_accept_cb, fd, EV_READ);
	ev_init(&srv->backoff_w, server_backoff_cb);
	srv->accept_w.data = srv->backoff_w.data = srv;
	ev_io_start(loop, &srv->accept_w);
	return 0;
}

/* http_server_port - the port the listener is bound to, -1 if none */
int
http_server_port(const struct http_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (srv->fd < 0 ||
	    getsockname(srv->fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/*
 * http_server_stop - close the listener and every connection. Requests
 * in flight live on with conn == NULL until their http_reply(). Not to be
 * called from inside a handler.
 */
void
http_server_stop(struct http_server *srv)
{
	struct http_conn *c;

	if (srv->fd >= 0) {
		if (srv->loop != NULL) {
			ev_io_stop(srv->loop, &srv->accept_w);
			ev_timer_stop(srv->loop, &srv->backoff_w);
		}
		close(srv->fd);
		srv->fd = -1;
	}
	while ((c = srv->conns) != NULL) {
		conn_kill(c);
		conn_destroy(c);
	}
}
