/*
 * log.c - leveled logging to stderr, and the tap to httpd's monitor. See
 * log.h.
 *
 * The tap is one unbound, non-blocking datagram socket; each line is one
 * sendto() with MSG_DONTWAIT. Datagrams keep lines whole and need no
 * connection to lose and reconnect. Left out: any retry or queue when the
 * receiver is away or behind (the line is on stderr all the same).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

enum log_level log_level = LOG_INFO;
const char *log_program = "cairn";

static const char *const level_names[] = {
	"trace", "debug", "info", "warn", "error"
};

static int tap_fd = -1;
static struct sockaddr_un tap_addr;
static socklen_t tap_addrlen;

/* log_init - name the program that prefixes every line */
void
log_init(const char *program)
{
	const char *s = strrchr(program, '/');

	log_program = s ? s + 1 : program;
}

/* log_set_level - Consul's log_level names; "warning"/"err" accepted too */
int
log_set_level(const char *name)
{
	unsigned i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0) {
			log_level = (enum log_level)i;
			return 0;
		}
	if (strcasecmp(name, "warning") == 0)
		log_level = LOG_WARN;
	else if (strcasecmp(name, "err") == 0)
		log_level = LOG_ERR;
	else
		return -1;
	return 0;
}

/* log_tap - see log.h */
int
log_tap(const char *path, char *err, size_t errlen)
{
	size_t n;
	int fd;

	if (tap_fd >= 0) {
		close(tap_fd);
		tap_fd = -1;
	}
	if (path == NULL)
		return 0;
	if ((n = strlen(path)) >= sizeof(tap_addr.sun_path)) {
		snprintf(err, errlen, "log tap %.200s: path too long for a "
		    "Unix socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "log tap: socket: %s", strerror(errno));
		return -1;
	}
	memset(&tap_addr, 0, sizeof(tap_addr));
	tap_addr.sun_family = AF_UNIX;
	memcpy(tap_addr.sun_path, path, n + 1);
	tap_addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    n + 1);
	tap_fd = fd;
	return 0;
}

/*
 * tap_send - the line to the tap, if any. Never blocks, never fails:
 * ENOENT or ECONNREFUSED (no httpd), EAGAIN (its queue is full) all drop
 * the line.
 */
static void
tap_send(const char *line, size_t n)
{
	if (tap_fd >= 0)
		(void)sendto(tap_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL,
		    (const struct sockaddr *)&tap_addr, tap_addrlen);
}

/* vlog - write one whole line with a single write so lines never interleave */
static void
vlog(enum log_level lv, const char *tag, const char *fmt, va_list ap)
{
	char line[2048];
	int n, m, saved;

	if (lv < log_level)
		return;
	saved = errno;	/* callers may log, then look at errno */
	n = snprintf(line, sizeof(line), "%s: %s: ", log_program, tag);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	/* One event, one line: fold any newline in the message. */
	for (m = 0; m < n; m++)
		if (line[m] == '\n' || line[m] == '\r')
			line[m] = ' ';
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	fflush(stderr);
	tap_send(line, (size_t)n);
	errno = saved;
}

#define LOG_FN(fn, lv, tag)						\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	vlog(lv, tag, fmt, ap);						\
	va_end(ap);							\
}

LOG_FN(log_debug, LOG_DEBUG, "debug")
LOG_FN(log_info, LOG_INFO, "info")
LOG_FN(log_warn, LOG_WARN, "warn")
LOG_FN(log_error, LOG_ERR, "error")

/* log_fatal - the environment is broken: exit 111, temporary failure */
void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "fatal", fmt, ap);
	va_end(ap);
	exit(111);
}

/* xstrdup - see log.h */
char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s != NULL ? s : "")) == NULL)
		log_fatal("out of memory");
	return p;
}

/* log_panic - our own invariant is broken: leave a core */
void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "panic", fmt, ap);
	va_end(ap);
	abort();
}
