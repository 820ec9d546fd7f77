/*
 * monitor.c - GET /v1/agent/monitor: the node's log lines as they happen,
 * Consul's agent monitor.
 *
 * Every daemon's log.c sends each line it writes to stderr, as it is, in
 * one datagram to run_dir/log.sock (log_tap). httpd owns that socket and
 * fans each line out to the open monitor streams whose level it meets,
 * formatted as Consul's hclog writes it: text, or one JSON object a line
 * with ?logjson. The body is chunked, a line at a time.
 *
 * A slow client never makes httpd grow: once MONITOR_MAX_QUEUED bytes wait
 * for it, its lines are dropped and counted (one warning says how many
 * when it goes), as Consul's monitor drops past its 512-line buffer. At
 * most MONITOR_MAX_STREAMS at once; 503 beyond.
 *
 * Leaves out: lines a daemon does not write (each logs at its own
 * log_level, so ?loglevel=debug shows debug lines only from daemons
 * running at debug), lines the tap loses when the socket's queue is full
 * (net.unix.max_dgram_qlen), history before the request, ACLs.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"

#define MONITOR_READ_BURST	64	/* datagrams per wakeup, then others */

struct monitor_stream {
	struct monitor_stream	*prev, *next;
	struct http_req		*req;
	enum log_level		 level;
	int			 json;
	uint64_t		 dropped;
	char			 peer[64];
};

static struct {
	struct ev_loop		*loop;
	int			 fd;
	ev_io			 read_w;
	struct sockaddr_un	 addr;		/* bound: unlinked at stop */
	struct monitor_stream	*streams;
	size_t			 nstreams;
} M = { .fd = -1 };

/* The levels a tapped line may carry: log.c's tags. */
static const struct {
	const char	*tag;
	enum log_level	 level;
} monitor_tags[] = {
	{ "trace", LOG_TRACE },
	{ "debug", LOG_DEBUG },
	{ "info", LOG_INFO },
	{ "warn", LOG_WARN },
	{ "error", LOG_ERR },
	{ "fatal", LOG_ERR },
	{ "panic", LOG_ERR },
};

/* monitor_level - Consul's ?loglevel names, any case; -1 if unknown */
int
monitor_level(const char *name, enum log_level *out)
{
	static const struct {
		const char	*name;
		enum log_level	 level;
	} names[] = {
		{ "trace", LOG_TRACE }, { "debug", LOG_DEBUG },
		{ "info", LOG_INFO }, { "warn", LOG_WARN },
		{ "warning", LOG_WARN }, { "err", LOG_ERR },
		{ "error", LOG_ERR },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	return -1;
}

/*
 * monitor_parse - "<program>: <level>: <message>\n" as log.c sends it;
 * -1 for anything else (another writer on our socket). The module is the
 * program without "cairn-", as Consul names its loggers ("agent.http").
 */
int
monitor_parse(const char *d, size_t n, struct monitor_line *l)
{
	const char *sep, *tag, *end;
	size_t i, taglen;

	while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r'))
		n--;
	end = d + n;
	if ((sep = memmem(d, n, ": ", 2)) == NULL || sep == d)
		return -1;
	tag = sep + 2;
	if ((sep = memmem(tag, (size_t)(end - tag), ": ", 2)) == NULL)
		return -1;
	taglen = (size_t)(sep - tag);
	for (i = 0; i < sizeof(monitor_tags) / sizeof(monitor_tags[0]); i++)
		if (strlen(monitor_tags[i].tag) == taglen &&
		    memcmp(monitor_tags[i].tag, tag, taglen) == 0)
			break;
	if (i == sizeof(monitor_tags) / sizeof(monitor_tags[0]))
		return -1;
	l->level = monitor_tags[i].level;
	l->module = d;
	l->module_len = (size_t)(tag - 2 - d);
	if (l->module_len > 6 && memcmp(d, "cairn-", 6) == 0) {
		l->module += 6;
		l->module_len -= 6;
	}
	l->msg = sep + 2;
	l->msg_len = (size_t)(end - l->msg);
	return 0;
}

/*
 * monitor_format - one line as hclog writes it, UTC: text
 * "2026-11-22T10:00:00.123Z [INFO]  kvd: message", or JSON with the keys
 * sorted as Go's encoding/json sorts a map and hclog's microseconds.
 */
void
monitor_format(struct buf *b, const struct monitor_line *l, int json,
    const struct timespec *ts)
{
	static const char *const brackets[] = {
		"[TRACE] ", "[DEBUG] ", "[INFO]  ", "[WARN]  ", "[ERROR] "
	};
	static const char *const names[] = {
		"trace", "debug", "info", "warn", "error"
	};
	char when[32], stamp[64];
	struct json j;
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (!json) {
		buf_printf(b, "%s.%03uZ %s%.*s: %.*s\n", when,
		    (unsigned)(ts->tv_nsec / 1000000) % 1000u,
		    brackets[l->level],
		    (int)l->module_len, l->module, (int)l->msg_len, l->msg);
		return;
	}
	snprintf(stamp, sizeof(stamp), "%s.%06uZ", when,
	    (unsigned)(ts->tv_nsec / 1000) % 1000000u);
	json_init(&j, b, 0);
	json_obj_open(&j);
	json_key(&j, "@level");
	json_str(&j, names[l->level]);
	json_key(&j, "@message");
	json_strn(&j, l->msg, l->msg_len);
	json_key(&j, "@module");
	json_strn(&j, l->module, l->module_len);
	json_key(&j, "@timestamp");
	json_str(&j, stamp);
	json_obj_close(&j);
	buf_putc(b, '\n');
}

/* monitor_fanout - one line to every stream that wants its level */
static void
monitor_fanout(const struct monitor_line *l, const struct timespec *ts)
{
	struct monitor_stream *s;
	struct buf text, json, *b;

	buf_init(&text);
	buf_init(&json);
	for (s = M.streams; s != NULL; s = s->next) {
		if (l->level < s->level)
			continue;
		b = s->json ? &json : &text;
		if (buf_used(b) == 0)
			monitor_format(b, l, s->json, ts);
		if (http_stream_queued(s->req) + buf_used(b) >
		    MONITOR_MAX_QUEUED) {
			s->dropped++;
			continue;
		}
		http_stream_write(s->req, buf_head(b), buf_used(b));
	}
	buf_free(&text);
	buf_free(&json);
}

/*
 * monitor_read_cb - the tap has lines. Nothing here logs: a line about a
 * line would come back round to us.
 */
static void
monitor_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct monitor_line l;
	struct timespec ts;
	char d[4096];
	ssize_t n;
	int i;

	for (i = 0; i < MONITOR_READ_BURST; i++) {
		n = recv(M.fd, d, sizeof(d), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;		/* EAGAIN, or nothing we can mend */
		if (M.streams == NULL || monitor_parse(d, (size_t)n, &l) < 0)
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		monitor_fanout(&l, &ts);
	}
}

/* monitor_unlink_stream - take s off the list */
static void
monitor_unlink_stream(struct monitor_stream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		M.streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	M.nstreams--;
}

/* monitor_end - end a stream (the client is gone, or httpd stops) */
static void
monitor_end(struct monitor_stream *s)
{
	struct http_req *req = s->req;

	monitor_unlink_stream(s);
	if (s->dropped > 0)
		log_warn("monitor: dropped %" PRIu64 " log lines for %s, a "
		    "slow reader", s->dropped, s->peer);
	free(s);
	req->data = NULL;
	req->gone = NULL;
	http_stream_end(req);
}

/* monitor_gone_cb - the client went away: free its stream */
static void
monitor_gone_cb(struct http_req *req)
{
	monitor_end(req->data);
}

/* api_agent_monitor - GET /v1/agent/monitor?loglevel=&logjson */
void
api_agent_monitor(struct http_req *req, const char *rest)
{
	struct monitor_stream *s;
	enum log_level level;
	const char *name;

	if (!api_method(req, "GET"))
		return;
	if ((name = http_req_param(req, "loglevel")) == NULL || *name == '\0')
		name = "INFO";
	if (monitor_level(name, &level) < 0) {
		http_reply_text(req, 400, "Unknown log level: %s", name);
		return;
	}
	if (M.fd < 0) {
		http_reply_text(req, 503, "Log streaming is not available: "
		    "no log socket");
		return;
	}
	if (M.nstreams >= MONITOR_MAX_STREAMS) {
		http_reply_text(req, 503, "Too many monitor streams (limit "
		    "%d)", MONITOR_MAX_STREAMS);
		return;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		log_fatal("out of memory");
	s->req = req;
	s->level = level;
	/* Present at all, as Consul reads it: even logjson=false. */
	s->json = http_req_param(req, "logjson") != NULL;
	snprintf(s->peer, sizeof(s->peer), "%s", http_req_peer(req));
	if ((s->next = M.streams) != NULL)
		s->next->prev = s;
	M.streams = s;
	M.nstreams++;
	req->data = s;
	req->gone = monitor_gone_cb;
	/* Go sniffs an empty first write as text/plain. */
	http_stream_begin(req, 200, "text/plain; charset=utf-8", NULL);
}

/* monitor_init - bind the tap's socket; httpd owns the path */
int
monitor_init(struct ev_loop *loop, const char *path, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd;

	M.loop = loop;
	if (n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "log socket %.200s: path too long", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errlen, "log socket: %s", strerror(errno));
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n + 1);
	/* One left by a crash would refuse every line: it is ours to take. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "log socket %s: bind: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	M.addr = sun;
	M.fd = fd;
	ev_io_init(&M.read_w, monitor_read_cb, fd, EV_READ);
	ev_io_start(loop, &M.read_w);
	return 0;
}

/* monitor_stop - end every stream cleanly, close and remove the socket */
void
monitor_stop(void)
{
	while (M.streams != NULL)
		monitor_end(M.streams);
	if (M.fd >= 0) {
		ev_io_stop(M.loop, &M.read_w);
		close(M.fd);
		unlink(M.addr.sun_path);
		M.fd = -1;
	}
}
