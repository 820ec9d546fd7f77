/*
 * fuzz_http - libFuzzer target for the HTTP request parser in
 * httpd/http_conn.c, run without sockets: the input is fed to one
 * connection in pieces whose sizes follow from its length, the handler
 * answers some requests at once and holds "/async" ones to answer after
 * the next piece (or after the connection is gone), and every output
 * must start with a status line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "../httpd/http_conn.h"

#define FUZZ_HELD	4

static struct http_req *fuzz_held[FUZZ_HELD];
static int fuzz_nheld;

/* fuzz_handler - echo what the request API returns, or hold the request */
static void
fuzz_handler(struct http_req *req)
{
	const char *tags[4], *h, *s;
	struct buf b;
	size_t i, n;
	int status = 200;

	if (strcmp(req->path, "/async") == 0 && fuzz_nheld < FUZZ_HELD) {
		fuzz_held[fuzz_nheld++] = req;
		return;
	}
	buf_init(&b);
	buf_printf(&b, "%s %s ?%s a=%s", req->method_name, req->path,
	    req->query, http_req_param(req, "a") ? http_req_param(req, "a") :
	    "-");
	n = http_req_params(req, "tag", tags, 4);
	for (i = 0; i < n; i++)
		buf_printf(&b, " tag=%s", tags[i]);
	if ((h = http_req_header(req, "X-Test")) != NULL)
		buf_printf(&b, " h=%s", h);
	buf_printf(&b, " %zu %s", buf_used(&req->body), http_req_peer(req));
	if ((s = http_req_param(req, "s")) != NULL)
		status = atoi(s) % 1000;
	if (status < 100)
		status = 200;
	http_reply(req, status, "text/plain", "X-Consul-Index: 1\r\n",
	    buf_head(&b), buf_used(&b));
	buf_free(&b);
}

/* fuzz_release - answer every held request */
static void
fuzz_release(void)
{
	int i, n = fuzz_nheld;

	fuzz_nheld = 0;
	for (i = 0; i < n; i++)
		http_reply_text(fuzz_held[i], 200, "async %s",
		    fuzz_held[i]->query);
}

/* fuzz_check - the output holds whole responses from its start */
static void
fuzz_check(struct http_conn *c)
{
	struct buf *o = http_conn_output(c);

	if (buf_used(o) > 0 && (buf_used(o) < 9 ||
	    memcmp(buf_head(o), "HTTP/1.1 ", 9) != 0))
		abort();
	buf_reset(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_server srv;
	static int ready;
	struct http_conn *c;
	uint32_t r = (uint32_t)size * 2654435761u;
	size_t off = 0, n;
	int step = 0;

	if (!ready) {
		log_level = LOG_ERR;
		http_server_init(&srv, NULL, 256, fuzz_handler);
		ready = 1;
	}
	c = http_conn_new(&srv, -1, "fuzz");
	while (off < size) {
		r = r * 1103515245u + 12345u;
		n = 1 + (r >> 16) % 97;
		if (n > size - off)
			n = size - off;
		if (http_conn_feed(c, data + off, n) < 0)
			break;
		off += n;
		fuzz_check(c);
		if (step++ % 2 == 1)
			fuzz_release();
		fuzz_check(c);
	}
	fuzz_check(c);
	if (size % 3 == 0)
		fuzz_release();		/* before the connection goes */
	http_conn_free(c);
	fuzz_release();			/* orphans */
	if (srv.nconns != 0)
		abort();
	return 0;
}
