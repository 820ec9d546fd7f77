/*
 * server.c - listen, accept, greet, dispatch. See server.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "server.h"
#include "sock.h"

static uint64_t server_serial;

/* server_hello_body - protocol version and program name */
void
server_hello_body(struct buf *b, const char *program)
{
	attr_put_u32(b, A_VERSION, MSG_PROTO_VERSION);
	attr_put_str(b, A_PROGRAM, program);
}

/* server_conn_close_cb - forget a peer and free it */
static void
server_conn_close_cb(struct conn *c, const char *why)
{
	struct sconn *sc = c->data;
	struct server *srv = sc->srv;

	log_debug("%s: closed: %s", c->peer, why);
	if (srv->on_close != NULL)
		srv->on_close(sc);
	LIST_REMOVE(sc, entry);
	srv->nconns--;
	conn_release(c);
	free(sc);
}

/* server_hello - record who the peer is and greet it back */
static void
server_hello(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	struct buf b;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u32(&tab[A_VERSION], &sc->version) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "bad HELLO");
		conn_close(&sc->conn, "bad HELLO");
		return;
	}
	if (attr_strcpy(&tab[A_PROGRAM], sc->program, sizeof(sc->program)) == 0)
		snprintf(sc->conn.peer, sizeof(sc->conn.peer), "%s", sc->program);
	buf_init(&b);
	server_hello_body(&b, sc->srv->program);
	conn_reply(&sc->conn, f, buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* server_frame_cb - one table lookup for every request */
static void
server_frame_cb(struct conn *c, const struct frame *f)
{
	struct sconn *sc = c->data;
	const struct handler *h;

	if (f->type == MSG_HELLO) {
		server_hello(sc, f);
		return;
	}
	if (sc->version == 0) {
		log_warn("%s: request %u before HELLO; closing", c->peer,
		    f->type);
		conn_close(c, "no HELLO");
		return;
	}
	if (f->flags & FRAME_REPLY)
		return;		/* we sent no requests to this peer */
	if (f->type == MSG_PING) {
		conn_reply(c, f, NULL, 0);
		return;
	}
	for (h = sc->srv->handlers; h->fn != NULL; h++)
		if (h->type == f->type) {
			h->fn(sc, f);
			return;
		}
	conn_reply_error(c, f, MSG_E_BADREQ, "unknown message type %u",
	    f->type);
}

/* server_accept_cb - accept every pending peer */
static void
server_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct server *srv = w->data;
	struct sconn *sc;
	int fd;

	for (;;) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept on %s: %s", srv->path,
				    strerror(errno));
			return;
		}
		if ((sc = calloc(1, sizeof(*sc))) == NULL)
			log_fatal("out of memory");
		sc->srv = srv;
		sc->serial = ++server_serial;
		conn_init(&sc->conn, loop, fd, "peer", server_frame_cb,
		    server_conn_close_cb, sc);
		if (srv->path[0] == '\0') {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
				sock_addr_str((struct sockaddr *)&ss,
				    sc->conn.peer, sizeof(sc->conn.peer));
		}
		sc->conn.max_frame = srv->max_frame;
		LIST_INSERT_HEAD(&srv->conns, sc, entry);
		srv->nconns++;
	}
}

/* server_start - accept on a bound, listening fd */
static void
server_start(struct server *srv, struct ev_loop *loop, int fd,
    const char *program, const struct handler *handlers)
{
	srv->fd = fd;
	srv->loop = loop;
	srv->program = program;
	srv->handlers = handlers;
	srv->max_frame = FRAME_MAX;
	LIST_INIT(&srv->conns);
	ev_io_init(&srv->lio, server_accept_cb, srv->fd, EV_READ);
	srv->lio.data = srv;
	ev_io_start(loop, &srv->lio);
}

/* server_listen_unix - bind path and start accepting */
int
server_listen_unix(struct server *srv, struct ev_loop *loop, const char *path,
    const char *program, const struct handler *handlers, char *err,
    size_t errlen)
{
	int fd;

	memset(srv, 0, sizeof(*srv));
	if ((fd = sock_unix_listen(path, err, errlen)) < 0)
		return -1;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	server_start(srv, loop, fd, program, handlers);
	return 0;
}

/* server_listen_tcp - the same on addr:port (a server's RPC port) */
int
server_listen_tcp(struct server *srv, struct ev_loop *loop, const char *addr,
    int port, const char *program, const struct handler *handlers,
    char *err, size_t errlen)
{
	int fd;

	memset(srv, 0, sizeof(*srv));
	if ((fd = sock_inet_listen(addr, port, SOCK_STREAM, err, errlen)) < 0)
		return -1;
	server_start(srv, loop, fd, program, handlers);
	return 0;
}

struct sconn *
server_find(struct server *srv, uint64_t serial)
{
	struct sconn *sc;

	LIST_FOREACH(sc, &srv->conns, entry)
		if (sc->serial == serial)
			return sc->conn.dead ? NULL : sc;
	return NULL;
}

/* server_stop - close the listener and every peer */
void
server_stop(struct server *srv)
{
	struct sconn *sc, *next;

	if (srv->fd < 0)
		return;
	ev_io_stop(srv->loop, &srv->lio);
	close(srv->fd);
	srv->fd = -1;
	if (srv->path[0] != '\0')
		unlink(srv->path);
	for (sc = LIST_FIRST(&srv->conns); sc != NULL; sc = next) {
		next = LIST_NEXT(sc, entry);
		conn_close(&sc->conn, "shutting down");
	}
}
