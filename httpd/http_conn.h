/*
 * http_conn - the HTTP/1.1 server transport of cairn-httpd.
 *
 * One listener on a libev loop; each connection parses requests with
 * http-parser and hands every complete request to one handler, which may
 * answer at once or later (after an RPC), with http_reply(). Requests on a
 * connection are answered strictly in order: while one is in flight, the
 * bytes behind it (pipelining) wait in the input buffer. Keep-alive,
 * Expect: 100-continue, body and header limits (413, 431), stall and idle
 * timeouts, and output back-pressure are handled here.
 *
 * A reply is one buffer with a Content-Length, or a stream: a body sent in
 * pieces as they come (chunked on HTTP/1.1; on HTTP/1.0 it ends with the
 * connection), as /v1/agent/monitor needs.
 *
 * Not here: routing, JSON, TLS, HTTP/2, compression.
 *
 * A connection can also run without a socket (fd -1): bytes go in with
 * http_conn_feed() and replies collect in http_conn_output(). The unit
 * tests and the fuzz target drive the parser that way.
 */
#ifndef CAIRN_HTTP_CONN_H
#define CAIRN_HTTP_CONN_H

#include <stdarg.h>
#include <stddef.h>

#include <ev.h>
#include <http_parser.h>

#include "buf.h"

/* The method of a request whose method http-parser does not know. */
#define HTTP_REQ_OTHER	((enum http_method)255)

#define HTTP_MAX_BODY_DEFAULT	524288	/* Consul's kv_max_value_size */
#define HTTP_MAX_HEADER		65536	/* request line and headers */

struct http_conn;
struct http_req;

typedef void http_handler(struct http_req *);

/*
 * A listener and its connections. Set the timeouts and max_output after
 * http_server_listen() if the defaults (30 s stall, 300 s idle, 2 s
 * linger, 4 MiB) do not suit; loop NULL means socket-less use.
 */
struct http_server {
	struct ev_loop	*loop;
	int		 fd;		/* listener, -1 when none */
	ev_io		 accept_w;
	ev_timer	 backoff_w;	/* accept paused after EMFILE */
	http_handler	*handler;
	size_t		 max_body;
	/* optional: a request's own body limit, known from its path once
	   the headers are in (0: max_body) */
	size_t		(*body_limit)(const struct http_req *);
	size_t		 max_output;	/* stop reading a client above it */
	double		 stall_timeout;	/* partial request, unread reply */
	double		 idle_timeout;	/* keep-alive between requests */
	double		 linger_timeout; /* draining input before close */
	struct http_conn *conns;	/* every open connection */
	size_t		 nconns;
};

struct http_req {
	struct http_conn *conn;		/* NULL once the client has gone */
	enum http_method method;	/* HTTP_REQ_OTHER if unknown */
	const char	*method_name;	/* "GET", or the unknown token */
	char		*path;		/* percent-decoded, no query */
	char		*query;		/* raw query string or "" */
	struct buf	 body;
	void		*data;		/* the handler's */
	/*
	 * The handler's, optional: called once if the client goes away
	 * while the request is in flight, with conn already NULL. The
	 * request must still be ended (http_reply or http_stream_end),
	 * from there or later.
	 */
	void		(*gone)(struct http_req *);

	/* Private to http_conn.c. */
	char		*other_method;
	struct buf	 url;		/* raw request target */
	struct buf	 hdrs;		/* "name\0value\0" ... */
	struct buf	 params;	/* decoded "name\0value\0" ... */
	unsigned char	 http_major, http_minor;
	unsigned char	 hstate;	/* which header part came last */
	unsigned char	 keep_alive;
	unsigned char	 stream;	/* HTTP_STREAM_*, once begun */
};

/* Server. */
void	 http_server_init(struct http_server *, struct ev_loop *,
	    size_t max_body, http_handler *);
int	 http_server_listen(struct http_server *, struct ev_loop *,
	    const char *addr, int port, size_t max_body, http_handler *,
	    char *err, size_t errlen);
int	 http_server_port(const struct http_server *);
void	 http_server_stop(struct http_server *);

/* Requests: inside the handler, and until http_reply(). */
const char *http_req_param(struct http_req *, const char *name);
size_t	 http_req_params(struct http_req *, const char *name,
	    const char **out, size_t max);
const char *http_req_header(struct http_req *, const char *name);
/* "ip:port" of the client, or "" once it has gone */
const char *http_req_peer(struct http_req *);

/* Replies: exactly once per request; they free the request. */
void	 http_reply(struct http_req *, int status, const char *content_type,
	    const char *extra_headers, const void *body, size_t len);
void	 http_reply_text(struct http_req *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	 http_reply_vtext(struct http_req *, int status, const char *fmt,
	    va_list);

/*
 * Streamed replies, instead of http_reply: http_stream_begin sends the
 * status and headers with no length; http_stream_write queues a piece of
 * the body (-1 once the client has gone); http_stream_end ends the body
 * and frees the request as http_reply does. Writes only queue and arm
 * the connection's writer, so nothing calls back under the writer's feet
 * (not even req->gone). The queue has no limit of its own: a writer
 * checks http_stream_queued and drops what a slow client cannot take.
 * A client that reads nothing for stall_timeout while output waits is
 * closed, as for any reply.
 */
void	 http_stream_begin(struct http_req *, int status,
	    const char *content_type, const char *extra_headers);
int	 http_stream_write(struct http_req *, const void *, size_t);
/* bytes queued for the client and not yet written to its socket */
size_t	 http_stream_queued(const struct http_req *);
void	 http_stream_end(struct http_req *);

/* Connections, for the server itself and for socket-less use. */
struct http_conn *http_conn_new(struct http_server *, int fd,
	    const char *peer);
int	 http_conn_feed(struct http_conn *, const void *, size_t);
struct buf *http_conn_output(struct http_conn *);
void	 http_conn_free(struct http_conn *);

#endif
