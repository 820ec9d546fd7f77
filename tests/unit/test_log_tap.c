/*
 * test_log_tap - both ends of the log tap: log.c sends each line it
 * writes to a datagram socket, and never blocks or fails when nobody
 * listens or the listener is full; httpd's monitor.c parses such a line
 * and formats it as Consul's monitor shows it (hclog text or JSON).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "test.h"

/* httpd's main.c owns it; monitor.c's route helpers link against it. */
struct httpd H;

static char sock_path[108];
static char err_path[64];
static int saved_stderr = -1;

/* bind_dgram - a datagram socket bound at sock_path, or -1 */
static int
bind_dgram(void)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	unlink(sock_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* recv_line - one datagram within a second, NUL-terminated; length or -1 */
static int
recv_line(int fd, char *out, size_t n, int wait_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t r;

	if (poll(&p, 1, wait_ms) != 1)
		return -1;
	if ((r = recv(fd, out, n - 1, 0)) < 0)
		return -1;
	out[r] = '\0';
	return (int)r;
}

/* capture_start - stderr into err_path, so the tests can read it */
static void
capture_start(void)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
}

/* capture_end - stderr back; what was written to it, in out */
static void
capture_end(char *out, size_t n)
{
	FILE *fp;
	size_t r = 0;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	if ((fp = fopen(err_path, "r")) != NULL) {
		r = fread(out, 1, n - 1, fp);
		fclose(fp);
	}
	out[r] = '\0';
}

/* A listener gets each line as stderr does, with program and level. */
static void
test_tap_delivers(void)
{
	char got[4096], err[256], out[4096];
	int fd;

	CHECK((fd = bind_dgram()) >= 0);
	log_init("/usr/bin/cairn-kvd");
	log_level = LOG_INFO;
	CHECK(log_tap(sock_path, err, sizeof(err)) == 0);
	capture_start();
	log_info("hello %d", 42);
	log_warn("two\nlines");
	log_debug("below the level");
	log_error("last");
	capture_end(out, sizeof(out));
	CHECK_STR(out, "cairn-kvd: info: hello 42\n"
	    "cairn-kvd: warn: two lines\n"
	    "cairn-kvd: error: last\n");
	CHECK(recv_line(fd, got, sizeof(got), 1000) > 0);
	CHECK_STR(got, "cairn-kvd: info: hello 42\n");
	CHECK(recv_line(fd, got, sizeof(got), 1000) > 0);
	CHECK_STR(got, "cairn-kvd: warn: two lines\n");
	/* debug was not written, so not sent: error comes next. */
	CHECK(recv_line(fd, got, sizeof(got), 1000) > 0);
	CHECK_STR(got, "cairn-kvd: error: last\n");
	CHECK(recv_line(fd, got, sizeof(got), 50) == -1);
	log_level = LOG_DEBUG;
	capture_start();
	log_debug("now it is");
	capture_end(out, sizeof(out));
	CHECK(recv_line(fd, got, sizeof(got), 1000) > 0);
	CHECK_STR(got, "cairn-kvd: debug: now it is\n");
	log_level = LOG_INFO;
	log_tap(NULL, err, sizeof(err));
	close(fd);
	unlink(sock_path);
}

/*
 * No listener (no file, or a file nobody has open), and a listener that
 * never reads: every line still reaches stderr, nothing blocks, errno is
 * what it was.
 */
static void
test_tap_nobody(void)
{
	char err[256], out[65536], got[4096], want[64];
	struct timespec t0, t1;
	double secs;
	int fd, i, lines = 0, dgrams = 0, rcvbuf = 4096;
	char *p;

	log_init("cairn-gossipd");
	unlink(sock_path);
	CHECK(log_tap(sock_path, err, sizeof(err)) == 0);
	capture_start();
	errno = EBADF;
	log_info("nobody home");
	CHECK(errno == EBADF);
	capture_end(out, sizeof(out));
	CHECK_STR(out, "cairn-gossipd: info: nobody home\n");

	/* Bound and closed: the path is there, ECONNREFUSED. */
	CHECK((fd = bind_dgram()) >= 0);
	close(fd);
	capture_start();
	errno = EINTR;
	log_warn("refused");
	CHECK(errno == EINTR);
	capture_end(out, sizeof(out));
	CHECK_STR(out, "cairn-gossipd: warn: refused\n");

	/*
	 * A reader that never reads: its queue fills (a small buffer, so
	 * whatever net.unix.max_dgram_qlen is), lines are dropped.
	 */
	CHECK((fd = bind_dgram()) >= 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
	    sizeof(rcvbuf)) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	capture_start();
	for (i = 0; i < 500; i++)
		log_info("line %d", i);
	capture_end(out, sizeof(out));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(secs < 2.0);
	for (p = out; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	CHECK(lines == 500);
	CHECK(strstr(out, "cairn-gossipd: info: line 499\n") != NULL);
	/* Some arrived, in order, whole; not all of them. */
	while (recv_line(fd, got, sizeof(got), 0) > 0) {
		snprintf(want, sizeof(want), "cairn-gossipd: info: line %d\n",
		    dgrams);
		CHECK_STR(got, want);
		dgrams++;
	}
	CHECK(dgrams > 0 && dgrams < 500);
	close(fd);
	unlink(sock_path);
	log_tap(NULL, err, sizeof(err));
}

/* A path that cannot be a Unix socket address is refused, with why. */
static void
test_tap_path_too_long(void)
{
	char path[300], err[256] = "";

	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	CHECK(log_tap(path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "too long") != NULL);
}

/* The receiving end: what monitor_parse makes of a datagram. */
static void
test_monitor_parse(void)
{
	static const struct {
		const char	*in;
		int		 ok;
		enum log_level	 level;
		const char	*module, *msg;
	} cases[] = {
		{ "cairn-kvd: info: hello\n", 1, LOG_INFO, "kvd", "hello" },
		{ "cairn-raftd: warn: a: b: c\n", 1, LOG_WARN, "raftd",
		    "a: b: c" },
		{ "cairn-httpd: debug: x", 1, LOG_DEBUG, "httpd", "x" },
		{ "cairn-kvd: fatal: gone\n", 1, LOG_ERR, "kvd", "gone" },
		{ "cairn-kvd: panic: bug\n", 1, LOG_ERR, "kvd", "bug" },
		{ "cairn-kvd: error: e\r\n", 1, LOG_ERR, "kvd", "e" },
		{ "cairn-kvd: trace: t\n", 1, LOG_TRACE, "kvd", "t" },
		{ "cairn-kvd: info: \n", 1, LOG_INFO, "kvd", "" },
		{ "cairn: info: cli\n", 1, LOG_INFO, "cairn", "cli" },
		{ "cairn-: info: m\n", 1, LOG_INFO, "cairn-", "m" },
		{ "cairn-kvd: INFO: upper\n", 0, 0, NULL, NULL },
		{ "cairn-kvd: notice: x\n", 0, 0, NULL, NULL },
		{ "cairn-kvd: info\n", 0, 0, NULL, NULL },
		{ "cairn-kvd info: x\n", 0, 0, NULL, NULL },
		{ ": info: x\n", 0, 0, NULL, NULL },
		{ "", 0, 0, NULL, NULL },
		{ "\n", 0, 0, NULL, NULL },
	};
	struct monitor_line l;
	char module[64], msg[64];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = monitor_parse(cases[i].in, strlen(cases[i].in), &l);
		CHECK((r == 0) == cases[i].ok);
		if (r != 0 || !cases[i].ok)
			continue;
		CHECK(l.level == cases[i].level);
		snprintf(module, sizeof(module), "%.*s", (int)l.module_len,
		    l.module);
		snprintf(msg, sizeof(msg), "%.*s", (int)l.msg_len, l.msg);
		CHECK_STR(module, cases[i].module);
		CHECK_STR(msg, cases[i].msg);
	}
	/* Every cut of a good line either parses within it or is refused. */
	{
		const char *good = "cairn-kvd: info: hello\n";

		for (n = 0; n <= strlen(good); n++) {
			if (monitor_parse(good, n, &l) < 0)
				continue;
			CHECK(l.msg + l.msg_len <= good + n);
			CHECK(n >= strlen("cairn-kvd: info: "));
		}
	}
}

/* monitor_format: hclog's text line and JSON object, in UTC. */
static void
test_monitor_format(void)
{
	/* 2026-11-22T10:00:00Z, .123456789 */
	struct timespec ts = { 1795341600, 123456789 };
	struct monitor_line l;
	const char *in = "cairn-kvd: info: say \"hi\"\tnow\n";
	struct buf b;

	CHECK(monitor_parse(in, strlen(in), &l) == 0);
	buf_init(&b);
	monitor_format(&b, &l, 0, &ts);
	CHECK_STR(buf_cstr(&b),
	    "2026-11-22T10:00:00.123Z [INFO]  kvd: say \"hi\"\tnow\n");
	buf_reset(&b);
	monitor_format(&b, &l, 1, &ts);
	CHECK_STR(buf_cstr(&b), "{\"@level\":\"info\",\"@message\":"
	    "\"say \\\"hi\\\"\\tnow\",\"@module\":\"kvd\",\"@timestamp\":"
	    "\"2026-11-22T10:00:00.123456Z\"}\n");
	l.level = LOG_ERR;
	buf_reset(&b);
	monitor_format(&b, &l, 0, &ts);
	CHECK_STR(buf_cstr(&b),
	    "2026-11-22T10:00:00.123Z [ERROR] kvd: say \"hi\"\tnow\n");
	l.level = LOG_WARN;
	buf_reset(&b);
	monitor_format(&b, &l, 1, &ts);
	CHECK(strncmp(buf_cstr(&b), "{\"@level\":\"warn\",", 17) == 0);
	buf_free(&b);
}

/* monitor_level: Consul's ?loglevel names, any case. */
static void
test_monitor_level(void)
{
	static const struct {
		const char	*name;
		int		 ok;
		enum log_level	 level;
	} cases[] = {
		{ "trace", 1, LOG_TRACE }, { "DEBUG", 1, LOG_DEBUG },
		{ "Info", 1, LOG_INFO }, { "warn", 1, LOG_WARN },
		{ "WARNING", 1, LOG_WARN }, { "err", 1, LOG_ERR },
		{ "error", 1, LOG_ERR }, { "", 0, 0 }, { "fatal", 0, 0 },
		{ "inf", 0, 0 }, { "info ", 0, 0 }, { "verbose", 0, 0 },
	};
	enum log_level lv;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lv = (enum log_level)99;
		CHECK((monitor_level(cases[i].name, &lv) == 0) ==
		    cases[i].ok);
		if (cases[i].ok)
			CHECK(lv == cases[i].level);
	}
}

int
main(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/cairn-test-tap.%d.sock",
	    (int)getpid());
	snprintf(err_path, sizeof(err_path), "/tmp/cairn-test-tap.%d.err",
	    (int)getpid());
	RUN(test_tap_delivers);
	RUN(test_tap_nobody);
	RUN(test_tap_path_too_long);
	RUN(test_monitor_parse);
	RUN(test_monitor_format);
	RUN(test_monitor_level);
	unlink(sock_path);
	unlink(err_path);
	return TEST_DONE();
}
