/*
 * conn.c - framed connections on libev. See conn.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "msg.h"

#define READ_CHUNK	(64 * 1024)

static void	conn_read_cb(struct ev_loop *, ev_io *, int);
static void	conn_write_cb(struct ev_loop *, ev_io *, int);
static void	conn_process(struct conn *);

/* conn_init - take over a connected non-blocking fd and start reading */
void
conn_init(struct conn *c, struct ev_loop *loop, int fd, const char *peer,
    conn_frame_cb *on_frame, conn_close_cb *on_close, void *data)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->fd = fd;
	c->max_frame = FRAME_MAX;
	c->on_frame = on_frame;
	c->on_close = on_close;
	c->data = data;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	buf_init(&c->in);
	buf_init(&c->out);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	ev_io_start(loop, &c->rio);
}

/* conn_finish - run on_close once nobody is inside a callback */
static void
conn_finish(struct conn *c)
{
	conn_close_cb *cb = c->on_close;

	c->on_close = NULL;
	if (cb != NULL)
		cb(c, c->why);
}

/* conn_close - stop the watchers and close the socket */
void
conn_close(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->dead)
		return;
	c->dead = 1;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (!c->busy)
		conn_finish(c);
}

void
conn_release(struct conn *c)
{
	buf_free(&c->in);
	buf_free(&c->out);
}

void
conn_pause(struct conn *c, int paused)
{
	if (c->dead || c->paused == paused)
		return;
	c->paused = paused;
	if (paused) {
		ev_io_stop(c->loop, &c->rio);
		return;
	}
	ev_io_start(c->loop, &c->rio);
	/* Frames that arrived while paused are not waiting for a read. */
	if (!c->busy && buf_used(&c->in) > 0) {
		c->busy++;
		conn_process(c);
		c->busy--;
		if (c->dead)
			conn_finish(c);
	}
}

/* conn_write_some - write what the socket takes; 0 ok, -1 closed */
static int
conn_write_some(struct conn *c)
{
	ssize_t n;

	if (buf_used(&c->out) > CONN_OUT_MAX) {
		conn_close(c, "peer not reading: %zu bytes queued",
		    buf_used(&c->out));
		return -1;
	}
	while (buf_used(&c->out) > 0) {
		n = write(c->fd, buf_head(&c->out), buf_used(&c->out));
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(c, "write: %s", n < 0 ? strerror(errno) : "EOF");
		return -1;
	}
	if (buf_used(&c->out) == 0)
		ev_io_stop(c->loop, &c->wio);
	else
		ev_io_start(c->loop, &c->wio);
	return 0;
}

/*
 * conn_flush - have the queued output written. Inside this conn's own
 * callback the write happens when the batch of frames is done; otherwise
 * the write watcher does it on the next loop pass. Never writing here keeps
 * callers safe: a failed write cannot close (and free) a conn under them.
 */
void
conn_flush(struct conn *c)
{
	if (c->dead || c->busy || buf_used(&c->out) == 0)
		return;
	ev_io_start(c->loop, &c->wio);
}

void
conn_write_now(struct conn *c)
{
	ssize_t n;

	if (c->dead || c->busy)
		return;
	while (buf_used(&c->out) > 0) {
		n = write(c->fd, buf_head(&c->out), buf_used(&c->out));
		if (n > 0)
			buf_consume(&c->out, (size_t)n);
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (buf_used(&c->out) == 0)
		ev_io_stop(c->loop, &c->wio);
	else
		ev_io_start(c->loop, &c->wio);
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;

	c->busy++;
	conn_write_some(c);
	c->busy--;
	if (c->dead)
		conn_finish(c);
}

/* conn_process - dispatch every complete frame in the input buffer */
static void
conn_process(struct conn *c)
{
	struct frame f;
	char err[128];
	long used;

	while (!c->dead && !c->paused) {
		used = frame_parse(buf_head(&c->in), buf_used(&c->in),
		    c->max_frame, &f, err, sizeof(err));
		if (used == 0)
			break;
		if (used < 0) {
			log_warn("%s: %s; closing", c->peer, err);
			conn_close(c, "%s", err);
			break;
		}
		c->on_frame(c, &f);
		/* The frame points into c->in: consume only after use. */
		if (!c->dead)
			buf_consume(&c->in, (size_t)used);
	}
	if (!c->dead)
		conn_write_some(c);
}

/* conn_read_cb - read once, dispatch, then write the replies in one go */
static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	ssize_t n;

	buf_reserve(&c->in, READ_CHUNK);
	n = read(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	c->busy++;
	if (n <= 0)
		conn_close(c, n == 0 ? "connection closed" : "read: %s",
		    strerror(errno));
	else {
		c->in.len += (size_t)n;
		conn_process(c);
	}
	c->busy--;
	if (c->dead && !c->busy)
		conn_finish(c);
}

/* conn_send - queue a frame */
void
conn_send(struct conn *c, uint16_t type, uint16_t flags, uint32_t id,
    uint32_t status, const void *body, size_t len)
{
	size_t mark;

	if (c->dead)
		return;
	mark = frame_begin(&c->out, type, flags, id, status);
	buf_append(&c->out, body, len);
	frame_end(&c->out, mark);
	conn_flush(c);
}

void
conn_reply(struct conn *c, const struct frame *req, const void *body,
    size_t len)
{
	conn_send(c, req->type, FRAME_REPLY, req->id, 0, body, len);
}

void
conn_reply_error(struct conn *c, const struct frame *req, uint32_t status,
    const char *fmt, ...)
{
	char msg[512];
	struct buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_init(&b);
	attr_put_str(&b, A_MSG, msg);
	conn_send(c, req->type, FRAME_REPLY | FRAME_ERROR, req->id, status,
	    buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* frame_error_text - the readable text of an error reply */
const char *
frame_error_text(const struct frame *f, char *out, size_t n)
{
	struct attr tab[A_MSG + 1];

	if (attr_index(f->body, f->len, tab, A_MSG + 1) < 0 ||
	    attr_strcpy(&tab[A_MSG], out, n) < 0)
		snprintf(out, n, "error %u", f->status);
	return out;
}
