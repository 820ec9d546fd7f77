/*
 * http.c - the HTTP API client the commands share: where the agent is
 * (-http-addr, CAIRN_HTTP_ADDR, CONSUL_HTTP_ADDR, 127.0.0.1:8500), one
 * request at a time with libcurl's easy interface, and errors worded as
 * Consul's Go client words them, since scripts match on "connection
 * refused" and "Unexpected response code". Every answer's X-Consul-Index
 * is kept for blocking queries (watch); a 200's body can go to a caller's
 * sink as it arrives instead of into memory (snapshot save's file).
 *
 * Leaves out: TLS client certificates and CA flags (-ca-file, ...),
 * -token-file, and retries: a command makes one attempt, as Consul's do.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cli.h"
#include "log.h"

/* env2 - the first of two environment variables that is set, or NULL */
static const char *
env2(const char *a, const char *b)
{
	const char *v;

	if ((v = getenv(a)) != NULL && *v != '\0')
		return v;
	if ((v = getenv(b)) != NULL && *v != '\0')
		return v;
	return NULL;
}

/* http_flags_init - see cli.h */
void
http_flags_init(struct http_flags *hf, int server_flags)
{
	int i = 0;

	memset(hf, 0, sizeof(*hf));
	if ((hf->addr = env2("CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR")) == NULL)
		hf->addr = "127.0.0.1:8500";
	if ((hf->token = env2("CAIRN_HTTP_TOKEN", "CONSUL_HTTP_TOKEN")) ==
	    NULL)
		hf->token = "";
	hf->dc = "";
	/* Sorted by name, as Go's flag.VisitAll prints them. */
	if (server_flags)
		hf->tab[i++] = (struct cli_flag){ "datacenter", CLI_STR,
		    &hf->dc, "string", "Name of the datacenter to query. If "
		    "unspecified, this will default to the datacenter of the "
		    "queried agent." };
	hf->tab[i++] = (struct cli_flag){ "http-addr", CLI_STR, &hf->addr,
	    "address", "The address and port of the cairn HTTP agent. The "
	    "value can be an IP address or DNS address, but it must also "
	    "include the port. This can also be specified via the "
	    "CAIRN_HTTP_ADDR or CONSUL_HTTP_ADDR environment variable. The "
	    "default value is http://127.0.0.1:8500. The scheme can also be "
	    "set to HTTPS by setting the environment variable "
	    "CONSUL_HTTP_SSL=true, and unix:///path reaches an agent "
	    "listening on a Unix socket." };
	if (server_flags)
		hf->tab[i++] = (struct cli_flag){ "stale", CLI_BOOL,
		    &hf->stale, NULL, "Permit any server (non-leader) to "
		    "respond to this request. This allows for lower latency "
		    "and higher throughput, but can result in stale data. "
		    "This option has no effect on non-read operations. The "
		    "default value is false." };
	hf->tab[i++] = (struct cli_flag){ "token", CLI_STR, &hf->token,
	    "value", "ACL token to use in the request. This can also be "
	    "specified via the CAIRN_HTTP_TOKEN or CONSUL_HTTP_TOKEN "
	    "environment variable. If unspecified, the query will default "
	    "to the token of the agent at the HTTP address." };
	hf->tab[i].name = NULL;
}

/* is_true - Go's strconv.ParseBool true values */
static int
is_true(const char *s)
{
	return s != NULL && (strcmp(s, "1") == 0 || strcasecmp(s, "t") == 0 ||
	    strcasecmp(s, "true") == 0);
}

/* http_addr_parse - see cli.h */
int
http_addr_parse(struct http_client *c, const char *addr, char *err,
    size_t errlen)
{
	const char *scheme = "http", *rest = addr, *sep;
	size_t n;

	c->unix_path[0] = '\0';
	while (isspace((unsigned char)*rest))
		rest++;
	if (is_true(env2("CAIRN_HTTP_SSL", "CONSUL_HTTP_SSL")))
		scheme = "https";
	if ((sep = strstr(rest, "://")) != NULL) {
		n = (size_t)(sep - rest);
		if (n == 4 && strncasecmp(rest, "http", 4) == 0)
			scheme = "http";
		else if (n == 5 && strncasecmp(rest, "https", 5) == 0)
			scheme = "https";
		else if (n == 4 && strncasecmp(rest, "unix", 4) == 0) {
			/* api/api.go: unix://path talks HTTP over a socket */
			if (snprintf(c->unix_path, sizeof(c->unix_path), "%s",
			    sep + 3) >= (int)sizeof(c->unix_path) ||
			    c->unix_path[0] == '\0') {
				snprintf(err, errlen, "bad unix socket "
				    "address: %.200s", addr);
				return -1;
			}
			snprintf(c->base, sizeof(c->base), "http://localhost");
			snprintf(c->host, sizeof(c->host), "%s", c->unix_path);
			return 0;
		} else {
			snprintf(err, errlen, "Unknown protocol scheme: %.*s",
			    (int)(n > 50 ? 50 : n), rest);
			return -1;
		}
		rest = sep + 3;
	}
	n = strlen(rest);
	while (n > 0 && (rest[n - 1] == '/' ||
	    isspace((unsigned char)rest[n - 1])))
		n--;
	if (n == 0 || memchr(rest, '/', n) != NULL) {
		snprintf(err, errlen, "bad HTTP address \"%.200s\": want "
		    "host:port or http://host:port", addr);
		return -1;
	}
	if (n >= sizeof(c->host)) {
		snprintf(err, errlen, "HTTP address too long");
		return -1;
	}
	snprintf(c->host, sizeof(c->host), "%.*s", (int)n, rest);
	snprintf(c->base, sizeof(c->base), "%s://%s", scheme, c->host);
	return 0;
}

/* http_client_init - see cli.h */
int
http_client_init(struct http_client *c, const struct http_flags *hf,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (http_addr_parse(c, hf->addr, err, errlen) < 0)
		return -1;
	snprintf(c->token, sizeof(c->token), "%s", hf->token);
	snprintf(c->dc, sizeof(c->dc), "%s", hf->dc);
	c->stale = hf->stale;
	return 0;
}

/*
 * escape - percent-encode what Go's url.shouldEscape says to: in a path
 * "$&+,/:;=@" stay as they are; in a query component they are escaped
 * and a space becomes '+'.
 */
static void
escape(struct buf *b, const char *s, int query)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (!query && strchr("$&+,/:;=@", c) != NULL))
			buf_putc(b, c);
		else if (query && c == ' ')
			buf_putc(b, '+');
		else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

/* http_escape_path - see cli.h */
void
http_escape_path(struct buf *b, const char *s)
{
	escape(b, s, 0);
}

/* http_escape_query - see cli.h */
void
http_escape_query(struct buf *b, const char *s)
{
	escape(b, s, 1);
}

/* What a transfer's callbacks need. */
struct http_xfer {
	CURL			*curl;
	struct http_resp	*resp;
	int			 sink_failed;
};

/* header_cb - keep X-Consul-Index of the final answer */
static size_t
header_cb(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "X-Consul-Index:";
	struct http_resp *r = arg;
	size_t len = size * n, nl = sizeof(name) - 1;

	/* A new status line (after 100 Continue, say) starts over. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		r->index[0] = '\0';
		r->has_index = 0;
	}
	if (len < nl || strncasecmp(p, name, nl) != 0)
		return size * n;
	p += nl;
	len -= nl;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	/* Too long to be a number: keep enough to be reported as bad. */
	if (len >= sizeof(r->index))
		len = sizeof(r->index) - 1;
	memcpy(r->index, p, len);
	r->index[len] = '\0';
	r->has_index = 1;
	return size * n;
}

/* write_cb - the body: a 200's to the sink if there is one, else kept */
static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct http_xfer *x = arg;
	struct http_resp *r = x->resp;
	size_t len = size * n, room;
	long code = 0;

	if (r->sink == NULL) {
		buf_append(&r->body, p, len);
		return len;
	}
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		/* Only for the error message: http_status_error shows 1000. */
		room = HTTP_ERRBODY - buf_used(&r->body);
		buf_append(&r->body, p, len < room ? len : room);
		return len;
	}
	if (len > 0 && r->sink(r->sink_arg, p, len) < 0) {
		x->sink_failed = 1;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	return len;
}

/* go_method - Go's url.Error Op: "Get", "Put", "Delete" */
static void
go_method(const char *method, char *out, size_t n)
{
	size_t i;

	snprintf(out, n, "%s", method);
	for (i = 1; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}

/* primary_addr - the address curl tried, as Go prints it: ip:port */
static void
primary_addr(const struct http_client *c, CURL *h, char *out, size_t n)
{
	char *ip = NULL;
	long port = 0;

	if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
	    ip != NULL && *ip != '\0' &&
	    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK &&
	    port > 0)
		snprintf(out, n, strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip,
		    port);
	else
		snprintf(out, n, "%s", c->host);
}

/* transport_error - a failed request as Go's net/http reports it */
static void
transport_error(const struct http_client *c, CURL *h, CURLcode rc,
    const char *method, const char *url, const char *cerr, char *err,
    size_t errlen)
{
	char op[16], why[256], host[300];
	long oserr = 0;

	go_method(method, op, sizeof(op));
	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_CONNECT && oserr != 0) {
		snprintf(why, sizeof(why), "%s", strerror((int)oserr));
		why[0] = (char)tolower((unsigned char)why[0]);
		if (c->unix_path[0] != '\0')
			snprintf(err, errlen, "%s \"%s\": dial unix %s: "
			    "connect: %s", op, url, c->unix_path, why);
		else {
			primary_addr(c, h, host, sizeof(host));
			snprintf(err, errlen, "%s \"%s\": dial tcp %s: "
			    "connect: %s", op, url, host, why);
		}
		return;
	}
	if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(host, sizeof(host), "%s", c->host);
		host[strcspn(host, ":")] = '\0';
		snprintf(err, errlen, "%s \"%s\": dial tcp: lookup %s: no "
		    "such host", op, url, host);
		return;
	}
	snprintf(err, errlen, "%s \"%s\": %s", op, url,
	    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
}

/* http_do - see cli.h */
int
http_do(const struct http_client *c, const char *method, const char *path,
    const char *query, int read, const void *body, size_t len,
    struct http_resp *resp, char *err, size_t errlen)
{
	resp->sink = NULL;
	resp->sink_arg = NULL;
	return http_stream(c, method, path, query, read, body, len, resp,
	    err, errlen);
}

/* http_stream - see cli.h */
int
http_stream(const struct http_client *c, const char *method,
    const char *path, const char *query, int read, const void *body,
    size_t len, struct http_resp *resp, char *err, size_t errlen)
{
	struct http_xfer x = { NULL, resp, 0 };
	struct curl_slist *hdrs = NULL;
	char cerr[CURL_ERROR_SIZE] = "", op[16];
	struct buf url, h;
	const char *sep = "?";
	CURL *curl;
	CURLcode rc;
	int ret = -1;

	buf_init(&resp->body);
	resp->code = 0;
	resp->index[0] = '\0';
	resp->has_index = 0;
	buf_init(&url);
	buf_init(&h);
	buf_printf(&url, "%s%s", c->base, path);
	if (query != NULL && *query != '\0') {
		buf_printf(&url, "?%s", query);
		sep = "&";
	}
	if (c->dc[0] != '\0') {
		buf_printf(&url, "%sdc=", sep);
		http_escape_query(&url, c->dc);
		sep = "&";
	}
	if (read && c->stale)
		buf_printf(&url, "%sstale=", sep);
	if ((curl = curl_easy_init()) == NULL)
		log_fatal("out of memory");
	x.curl = curl;
	curl_easy_setopt(curl, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "cairn/" CLI_VERSION);
	if (c->unix_path[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/octet-stream");
		/* No "Expect: 100-continue" round trip for big values. */
		hdrs = curl_slist_append(hdrs, "Expect:");
	}
	if (c->token[0] != '\0') {
		buf_printf(&h, "X-Consul-Token: %s", c->token);
		hdrs = curl_slist_append(hdrs, buf_cstr(&h));
	}
	if (hdrs != NULL)
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	if ((rc = curl_easy_perform(curl)) == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->code);
		ret = 0;
	} else if (rc == CURLE_WRITE_ERROR && x.sink_failed) {
		go_method(method, op, sizeof(op));
		snprintf(err, errlen, "%s \"%s\": storing the response body "
		    "failed", op, buf_cstr(&url));
	} else
		transport_error(c, curl, rc, method, buf_cstr(&url), cerr, err,
		    errlen);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	buf_free(&url);
	buf_free(&h);
	return ret;
}

/* http_status_error - see cli.h */
void
http_status_error(const struct http_resp *r, char *err, size_t errlen)
{
	size_t n = buf_used(&r->body);

	if (n == 0) {
		snprintf(err, errlen, "Unexpected response code: %ld ()",
		    r->code);
		return;
	}
	snprintf(err, errlen, "Unexpected response code: %ld (%.*s)", r->code,
	    (int)(n > 1000 ? 1000 : n), (const char *)buf_head(&r->body));
}
