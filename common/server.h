/*
 * server - the accepting side of the framed protocol: listen on a Unix
 * socket (or a TCP port), greet each peer with HELLO, and dispatch every request through
 * one table, as Redis' command table and Postfix anvil's request_table do.
 * Generic checks (unknown type, missing HELLO) are done here once, so
 * handlers never repeat them.
 *
 * A handler may answer later: it keeps the struct sconn pointer and checks
 * sconn->conn.dead (or registers on_close) before replying. The sconn is
 * freed only after on_close has run.
 */
#ifndef CAIRN_SERVER_H
#define CAIRN_SERVER_H

#include <ev.h>
#include <sys/queue.h>

#include "conn.h"

struct sconn;
typedef void server_handler_fn(struct sconn *, const struct frame *);

struct handler {
	uint16_t		 type;
	const char		*name;
	server_handler_fn	*fn;
};

struct server {
	struct ev_loop		*loop;
	ev_io			 lio;
	int			 fd;
	char			 path[108];
	const char		*program;	/* ours, sent in HELLO */
	const struct handler	*handlers;
	uint32_t		 max_frame;
	/* optional hooks */
	void			(*on_close)(struct sconn *);
	void			*data;
	LIST_HEAD(, sconn)	 conns;
	unsigned		 nconns;
};

struct sconn {
	struct conn		 conn;
	struct server		*srv;
	char			 program[32];	/* the peer's, from HELLO */
	uint32_t		 version;
	uint64_t		 serial;	/* unique for the process's life */
	void			*data;		/* the handler's */
	LIST_ENTRY(sconn)	 entry;
};

int	server_listen_unix(struct server *, struct ev_loop *, const char *path,
	    const char *program, const struct handler *,
	    char *err, size_t errlen);
int	server_listen_tcp(struct server *, struct ev_loop *, const char *addr,
	    int port, const char *program, const struct handler *,
	    char *err, size_t errlen);
void	server_stop(struct server *);
/*
 * server_find - the peer with this serial, or NULL once it has gone: an
 * answer that arrives late looks its asker up instead of keeping a
 * pointer that may dangle.
 */
struct sconn *server_find(struct server *, uint64_t serial);
/* server_hello - the HELLO body every program sends first */
void	server_hello_body(struct buf *, const char *program);

#endif
