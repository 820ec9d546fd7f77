/*
 * check_http.c - HTTP checks on libcurl's multi interface and libev. See
 * check_http.h.
 *
 * One multi handle for the daemon, made on first use: curl tells us
 * through CURLMOPT_SOCKETFUNCTION which sockets to watch (one ev_io each,
 * hung on the socket with curl_multi_assign) and through
 * CURLMOPT_TIMERFUNCTION when to call it back (one ev_timer). Every
 * wakeup ends by reading curl's finished transfers, which are turned into
 * a status and Consul's output and handed to the run's callback.
 *
 * Leaves out: what check_http.h lists, reading a body with NUL bytes
 * (the output stops at the first), and Go's "Content-Length: 0" on an
 * empty PUT.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "check_exec.h"
#include "check_http.h"
#include "log.h"

/* The daemon's one multi handle and the watchers curl asks for. */
static struct {
	CURLM		*multi;
	struct ev_loop	*loop;
	ev_timer	 timer;
} H;

struct check_http {
	CURL			*easy;
	struct curl_slist	*hdrs;
	void			(*cb)(void *, int, const char *);
	void			*arg;
	const struct check_def	*def;
	const char		*method;
	int			 follow;	/* redirects are followed */
	long			 code;		/* of the last status line */
	char			 status[128];	/* "200 OK" */
	int			 final;		/* its headers are all in */
	size_t			 total;		/* body bytes seen */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 ring[CHECKS_OUTPUT_MAX];	/* the tail */
};

/* One watched socket. */
struct http_sock {
	ev_io		 io;
};

static void	http_drain(void);

/* status_text - Go's StatusText, for a status line without one (HTTP/2) */
static const char *
status_text(long code)
{
	static const struct {
		long		 code;
		const char	*text;
	} tab[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 301, "Moved Permanently" },
		{ 302, "Found" }, { 304, "Not Modified" },
		{ 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" }, { 502, "Bad Gateway" },
		{ 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].code == code)
			return tab[i].text;
	return "";
}

/* http_header_cb - note each status line and the end of each header block */
static size_t
http_header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct check_http *h = arg;
	size_t len = size * n, i = 0, k = 0;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* "HTTP/1.1 200 OK": keep what follows the version. */
		while (i < len && p[i] != ' ')
			i++;
		while (i < len && p[i] == ' ')
			i++;
		while (i < len && p[i] != '\r' && p[i] != '\n' &&
		    k < sizeof(h->status) - 1)
			h->status[k++] = p[i++];
		while (k > 0 && h->status[k - 1] == ' ')
			k--;
		h->status[k] = '\0';
		h->code = strtol(h->status, NULL, 10);
		if (strchr(h->status, ' ') == NULL && strncmp(p, "HTTP/2", 6)
		    == 0 && *status_text(h->code) != '\0')
			snprintf(h->status, sizeof(h->status), "%ld %s",
			    h->code, status_text(h->code));
		h->final = 0;
	} else if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		/* A 1xx or a redirect to follow is not the answer. */
		if (h->code >= 200 && !(h->follow && (h->code == 301 ||
		    h->code == 302 || h->code == 303 || h->code == 307 ||
		    h->code == 308)))
			h->final = 1;
	}
	return len;
}

/* http_write_cb - keep the body's last CHECKS_OUTPUT_MAX bytes */
static size_t
http_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct check_http *h = arg;
	size_t len = size * n, off, chunk, done = 0;

	h->final = 1;
	if (len > sizeof(h->ring)) {
		h->total += len - sizeof(h->ring);
		done = len - sizeof(h->ring);
	}
	while (done < len) {
		off = h->total % sizeof(h->ring);
		chunk = sizeof(h->ring) - off;
		if (chunk > len - done)
			chunk = len - done;
		memcpy(h->ring + off, p + done, chunk);
		h->total += chunk;
		done += chunk;
	}
	return len;
}

/* http_body - the captured body, oldest byte first, into b */
static void
http_body(const struct check_http *h, struct buf *b)
{
	size_t off;

	if (h->total <= sizeof(h->ring)) {
		buf_append(b, h->ring, h->total);
		return;
	}
	off = h->total % sizeof(h->ring);
	buf_append(b, h->ring + off, sizeof(h->ring) - off);
	buf_append(b, h->ring, off);
}

/* go_op - Go's url.Error Op for a method: "GET" gives "Get" */
static void
go_op(const char *method, struct buf *b)
{
	size_t i;

	buf_putc(b, method[0]);
	for (i = 1; method[i] != '\0'; i++)
		buf_putc(b, tolower((unsigned char)method[i]));
}

/* url_part - one part of url (the host, the port), or "" */
static void
url_part(const char *url, CURLUPart part, char *out, size_t n)
{
	CURLU *u = curl_url();
	char *v = NULL;

	out[0] = '\0';
	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, part, &v, CURLU_DEFAULT_PORT) == CURLUE_OK)
		snprintf(out, n, "%s", v);
	curl_free(v);
	curl_url_cleanup(u);
}

/* http_error - a transfer that failed, as Go's http.Client words it */
static void
http_error(struct check_http *h, CURLcode rc, struct buf *b)
{
	char why[128], host[256], port[16], *ip = NULL;
	long oserr = 0;

	go_op(h->method, b);
	buf_printf(b, " \"%s\": ", h->def->http);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(h->easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr == 0)
			break;
		snprintf(why, sizeof(why), "%s", strerror((int)oserr));
		why[0] = (char)tolower((unsigned char)why[0]);
		/* Go names the address it dialed: the IP, and the port. */
		if (curl_easy_getinfo(h->easy, CURLINFO_PRIMARY_IP, &ip) !=
		    CURLE_OK || ip == NULL || *ip == '\0')
			url_part(h->def->http, CURLUPART_HOST, host,
			    sizeof(host));
		else
			snprintf(host, sizeof(host), strchr(ip, ':') != NULL ?
			    "[%s]" : "%s", ip);
		url_part(h->def->http, CURLUPART_PORT, port, sizeof(port));
		buf_printf(b, "dial tcp %s:%s: connect: %s", host, port, why);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		url_part(h->def->http, CURLUPART_HOST, host, sizeof(host));
		buf_printf(b, "dial tcp: lookup %s: no such host", host);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		buf_puts(b, "context deadline exceeded (Client.Timeout "
		    "exceeded while awaiting headers)");
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		buf_puts(b, "stopped after 10 redirects");
		return;
	case CURLE_GOT_NOTHING:
		buf_puts(b, "EOF");
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		buf_printf(b, "tls: failed to verify certificate: %s",
		    h->errbuf[0] != '\0' ? h->errbuf :
		    curl_easy_strerror(rc));
		return;
	default:
		break;
	}
	buf_puts(b, h->errbuf[0] != '\0' ? h->errbuf : curl_easy_strerror(rc));
}

/* http_free - the handle and what hangs on it */
static void
http_free(struct check_http *h)
{
	if (h->easy != NULL) {
		curl_multi_remove_handle(H.multi, h->easy);
		curl_easy_cleanup(h->easy);
	}
	curl_slist_free_all(h->hdrs);
	free(h);
}

/* http_finish - a transfer ended: the status and output, then the callback */
static void
http_finish(struct check_http *h, CURLcode rc)
{
	void (*cb)(void *, int, const char *) = h->cb;
	void *arg = h->arg;
	struct buf b;
	int status;

	buf_init(&b);
	if (rc == CURLE_OK || h->final) {
		/* An error in the body still reports the answer (Go's too). */
		if (rc != CURLE_OK)
			log_warn("HTTP check %.200s: error while reading the "
			    "body: %s", h->def->http, h->errbuf[0] != '\0' ?
			    h->errbuf : curl_easy_strerror(rc));
		buf_puts(&b, "HTTP ");
		buf_puts(&b, h->method);
		buf_printf(&b, " %s: %s Output: ", h->def->http, h->status);
		http_body(h, &b);
		if (h->code >= 200 && h->code <= 299)
			status = CHECK_PASSING;
		else if (h->code == 429)
			status = CHECK_WARNING;
		else
			status = CHECK_CRITICAL;
	} else {
		http_error(h, rc, &b);
		status = CHECK_CRITICAL;
	}
	http_free(h);
	cb(arg, status, buf_cstr(&b));
	buf_free(&b);
}

/* http_drain - hand every finished transfer to its run */
static void
http_drain(void)
{
	struct check_http *h;
	char *priv;
	CURLMsg *m;
	CURLcode rc;
	CURL *easy;
	int left;

	while ((m = curl_multi_info_read(H.multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m dies with the handle: take what we need first. */
		easy = m->easy_handle;
		rc = m->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		if ((h = (struct check_http *)priv) == NULL)
			log_panic("check_http: a transfer without its run");
		http_finish(h, rc);
	}
}

/* http_io_cb - a socket curl watches is ready */
static void
http_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	int running, act = 0;

	if (revents & EV_READ)
		act |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		act |= CURL_CSELECT_OUT;
	curl_multi_socket_action(H.multi, w->fd, act, &running);
	http_drain();
}

/* http_timer_cb - curl's timeout is due */
static void
http_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	int running;

	curl_multi_socket_action(H.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_drain();
}

/* http_sock_cb - CURLMOPT_SOCKETFUNCTION: watch s for what curl wants */
static int
http_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *sockp)
{
	struct http_sock *hs = sockp;
	int ev = 0;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			ev_io_stop(H.loop, &hs->io);
			free(hs);
		}
		return 0;
	}
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL)
			log_fatal("out of memory");
		curl_multi_assign(H.multi, s, hs);
	} else
		ev_io_stop(H.loop, &hs->io);
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	ev_io_init(&hs->io, http_io_cb, s, ev);
	ev_io_start(H.loop, &hs->io);
	return 0;
}

/* http_timerfn - CURLMOPT_TIMERFUNCTION: call back in ms (-1: never) */
static int
http_timerfn(CURLM *multi, long ms, void *userp)
{
	/* Never from in here: curl's own call is on the stack. */
	ev_timer_stop(H.loop, &H.timer);
	if (ms >= 0) {
		ev_timer_set(&H.timer, (double)ms / 1000.0, 0.);
		ev_timer_start(H.loop, &H.timer);
	}
	return 0;
}

/* http_init - the multi handle on loop, once */
static int
http_init(struct ev_loop *loop, char *err, size_t errlen)
{
	if (H.multi != NULL) {
		if (H.loop == loop)
			return 0;
		snprintf(err, errlen, "check_http: one loop only");
		return -1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (H.multi = curl_multi_init()) == NULL)
		log_fatal("check_http: cannot initialise libcurl");
	H.loop = loop;
	ev_timer_init(&H.timer, http_timer_cb, 0., 0.);
	curl_multi_setopt(H.multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
	curl_multi_setopt(H.multi, CURLMOPT_TIMERFUNCTION, http_timerfn);
	return 0;
}

/* token - s is an HTTP token (a method, a header name), as Go requires */
static int
token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 127 ||
		    strchr("\"(),/:;<=>?@[\\]{}", *s) != NULL)
			return 0;
	return 1;
}

/* scheme_ok - url has Go's http or https scheme; else err says which */
static int
scheme_ok(const char *url, char *scheme, size_t n)
{
	size_t i = 0;

	if (isalpha((unsigned char)url[0]))
		while (isalnum((unsigned char)url[i]) || url[i] == '+' ||
		    url[i] == '-' || url[i] == '.')
			i++;
	if (url[i] != ':')
		i = 0;
	snprintf(scheme, n, "%.*s", (int)i, url);
	return strcasecmp(scheme, "http") == 0 ||
	    strcasecmp(scheme, "https") == 0;
}

/* hdr_given - the header sets name to a value (Go's Header.Get != "") */
static int
hdr_given(const struct check_def *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nhdrs; i++)
		if (strcasecmp(d->hdr_names[i], name) == 0)
			return d->hdr_values[i][0] != '\0';
	return 0;
}

/* hdr_line - one line as curl takes it ("Name:" alone removes Name) */
static void
hdr_line(struct check_http *h, const char *line)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(h->hdrs, line)) == NULL)
		log_fatal("out of memory");
	h->hdrs = l;
}

/* hdr_add - one header; "Name;" is curl's way to send it empty */
static void
hdr_add(struct check_http *h, const char *name, const char *value)
{
	struct buf b;

	buf_init(&b);
	if (*value == '\0')
		buf_printf(&b, "%s;", name);
	else
		buf_printf(&b, "%s: %s", name, value);
	hdr_line(h, buf_cstr(&b));
	buf_free(&b);
}

/* http_headers - the check's header, then Consul's defaults; -1 if bad */
static int
http_headers(struct check_http *h, struct buf *e)
{
	static const char *const deflt[][2] = {
		{ "User-Agent", "Consul Health Check" },
		{ "Accept", "text/plain, text/*, */*" },
	};
	const struct check_def *d = h->def;
	size_t i, k;
	int skip;

	for (i = 0; i < d->nhdrs; i++) {
		if (!token(d->hdr_names[i])) {
			buf_printf(e, "net/http: invalid header field name "
			    "\"%s\"", d->hdr_names[i]);
			return -1;
		}
		if (strpbrk(d->hdr_values[i], "\r\n") != NULL) {
			buf_printf(e, "net/http: invalid header field value "
			    "for \"%s\"", d->hdr_names[i]);
			return -1;
		}
		/* A default replaces all of a name whose first value is "". */
		for (skip = 0, k = 0; k < 2; k++)
			if (strcasecmp(d->hdr_names[i], deflt[k][0]) == 0 &&
			    !hdr_given(d, deflt[k][0]))
				skip = 1;
		if (!skip)
			hdr_add(h, d->hdr_names[i], d->hdr_values[i]);
	}
	for (k = 0; k < 2; k++)
		if (!hdr_given(d, deflt[k][0]))
			hdr_add(h, deflt[k][0], deflt[k][1]);
	/* Go sends no Expect, and no Content-Type it was not given. */
	if (!hdr_given(d, "Expect"))
		hdr_line(h, "Expect:");
	if (d->body != NULL && !hdr_given(d, "Content-Type"))
		hdr_line(h, "Content-Type:");
	if (!hdr_given(d, "Connection"))
		hdr_add(h, "Connection", "close");
	return 0;
}

/* http_setopt - the request's method and body; Go's redirect rules */
static void
http_setopt(struct check_http *h)
{
	const struct check_def *d = h->def;
	CURL *e = h->easy;

	if (strcmp(h->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(h->method, "POST") == 0 || d->body != NULL) {
		/* Plain POST turns into GET on 301-303, as in Go. */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
		    (long)(d->body != NULL ? strlen(d->body) : 0));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS,
		    d->body != NULL ? d->body : "");
		if (strcmp(h->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h->method);
	} else if (strcmp(h->method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, h->method);
	/* Go offers gzip and decodes it, unless asked for an encoding. */
	if (!hdr_given(d, "Accept-Encoding"))
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
}

struct check_http *
check_http_start(struct ev_loop *loop, const struct check_def *def,
    void (*cb)(void *, int, const char *), void *arg, char *err,
    size_t errlen)
{
	struct check_http *h;
	int64_t timeout;
	char scheme[64];
	struct buf e;
	CURL *c;

	if (def->http == NULL) {
		snprintf(err, errlen, "check_http: not an HTTP check");
		return NULL;
	}
	if (http_init(loop, err, errlen) < 0)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		log_fatal("out of memory");
	h->cb = cb;
	h->arg = arg;
	h->def = def;
	h->method = def->method != NULL ? def->method : "GET";
	h->follow = !def->disable_redirects;
	buf_init(&e);
	if (!token(h->method))
		buf_printf(&e, "net/http: invalid method \"%s\"", h->method);
	else if (!scheme_ok(def->http, scheme, sizeof(scheme))) {
		go_op(h->method, &e);
		buf_printf(&e, " \"%s\": unsupported protocol scheme \"%s\"",
		    def->http, scheme);
	} else {
		go_op(h->method, &e);
		buf_printf(&e, " \"%s\": ", def->http);
		if (http_headers(h, &e) == 0)
			buf_reset(&e);
	}
	if (buf_used(&e) > 0) {
		snprintf(err, errlen, "%s", buf_cstr(&e));
		buf_free(&e);
		http_free(h);
		return NULL;
	}
	buf_free(&e);

	if ((h->easy = c = curl_easy_init()) == NULL)
		log_fatal("out of memory");
	timeout = def->timeout > 0 ? def->timeout : CHECK_HTTP_DEFAULT_TIMEOUT;
	curl_easy_setopt(c, CURLOPT_URL, def->http);
	curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)(timeout / DUR_MS > 0 ? timeout / DUR_MS : 1));
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, (long)h->follow);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
	if (def->tls_skip_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	http_setopt(h);
	/* curl only arms its timer here; the work starts from the loop. */
	if (curl_multi_add_handle(H.multi, c) != CURLM_OK)
		log_fatal("check_http: curl_multi_add_handle failed");
	return h;
}

void
check_http_cancel(struct check_http *h)
{
	if (h != NULL)
		http_free(h);
}

void
check_http_shutdown(void)
{
	if (H.multi == NULL)
		return;
	ev_timer_stop(H.loop, &H.timer);
	curl_multi_cleanup(H.multi);
	curl_global_cleanup();
	memset(&H, 0, sizeof(H));
}
