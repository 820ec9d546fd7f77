/*
 * conn - a framed, buffered, non-blocking connection on libev.
 *
 * Input is read into a buffer and every complete frame is handed to
 * on_frame; output is queued with conn_send() and written when the socket
 * takes it, with EV_WRITE on only while output is pending. A frame over
 * max_frame, a read error or EOF closes the connection and calls on_close
 * once, after the current callback has returned, so an owner may free the
 * conn from on_close without pulling it from under a loop.
 *
 * server.c (accepting side) and rpc.c (calling side) build on this.
 */
#ifndef CAIRN_CONN_H
#define CAIRN_CONN_H

#include <ev.h>
#include <stdarg.h>
#include <stdint.h>

#include "buf.h"
#include "frame.h"

#define CONN_OUT_MAX	(256u << 20)	/* a peer this far behind is dropped */

struct conn;
typedef void conn_frame_cb(struct conn *, const struct frame *);
typedef void conn_close_cb(struct conn *, const char *why);

struct conn {
	struct ev_loop	*loop;
	ev_io		 rio, wio;
	int		 fd;
	struct buf	 in, out;
	uint32_t	 max_frame;
	conn_frame_cb	*on_frame;
	conn_close_cb	*on_close;
	void		*data;		/* the owner's */
	char		 peer[64];	/* for log lines: program or address */
	int		 busy;		/* inside a callback */
	int		 dead;		/* closed; on_close pending or done */
	int		 paused;	/* reading stopped by the owner */
	char		 why[128];
};

void	conn_init(struct conn *, struct ev_loop *, int fd, const char *peer,
	    conn_frame_cb *, conn_close_cb *, void *data);
/* conn_send - queue one frame and start writing */
void	conn_send(struct conn *, uint16_t type, uint16_t flags, uint32_t id,
	    uint32_t status, const void *body, size_t len);
/* conn_reply - a reply to req carrying body */
void	conn_reply(struct conn *, const struct frame *req,
	    const void *body, size_t len);
/* conn_reply_error - an error reply with status and a readable A_MSG */
void	conn_reply_error(struct conn *, const struct frame *req,
	    uint32_t status, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* conn_flush - start writing whatever is in c->out */
void	conn_flush(struct conn *);
/*
 * conn_write_now - write c->out at once, from outside any conn callback,
 * where latency matters. An error is left for the write watcher to meet
 * again and close on, so the conn is never freed under the caller.
 */
void	conn_write_now(struct conn *);
void	conn_pause(struct conn *, int paused);
/* conn_close - stop, close the fd and (deferred if busy) call on_close */
void	conn_close(struct conn *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* conn_release - free the buffers of a conn whose on_close has run */
void	conn_release(struct conn *);

/* frame_error_text - the A_MSG of an error reply, or a generic text */
const char *frame_error_text(const struct frame *, char *out, size_t n);

#endif
