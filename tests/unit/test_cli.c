/*
 * test_cli.c - the `cairn` command's pure parts, without a network: Go
 * style flags, HTTP addresses and escaping, columnize, the members table
 * (parse, filter, sort, both layouts), KV responses and -detailed output
 * (with every good JSON cut short and extended), and the agent's restart
 * backoff, child argv, probe addresses, -dev banner, and which daemon
 * exit is a graceful leave. One test talks to a loopback child that
 * plays back a canned answer: http_stream's X-Consul-Index and body sink.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "test.h"
#include "../../cli/cli.h"

/* ---- flag.c ---- */

static int fb;
static const char *fs;
static uint64_t fu;
static const struct cli_flag ftab[] = {
	{ "b", CLI_BOOL, &fb, NULL, "a bool" },
	{ "s", CLI_STR, &fs, "string", "a string" },
	{ "u", CLI_U64, &fu, "uint", "a number" },
	{ NULL, 0, NULL, NULL, NULL }
};

static const struct {
	const char	*args[4];
	int		 ret;
	int		 b;
	const char	*s;
	uint64_t	 u;
	const char	*err;
} flag_rows[] = {
	{ { "-b" }, 1, 1, "", 0, NULL },
	{ { "--b=false", "x" }, 1, 0, "", 0, NULL },
	{ { "-b=1", "-s", "v", "k" }, 3, 1, "v", 0, NULL },
	{ { "-s=v=w" }, 1, 0, "v=w", 0, NULL },
	{ { "-s", "-b" }, 2, 0, "-b", 0, NULL },
	{ { "-u", "0x10" }, 2, 0, "", 16, NULL },
	{ { "-u=010" }, 1, 0, "", 8, NULL },
	{ { "-u=18446744073709551615" }, 1, 0, "", UINT64_MAX, NULL },
	{ { "k", "-b" }, 0, 0, "", 0, NULL },
	{ { "--", "-b" }, 1, 0, "", 0, NULL },
	{ { "-", "-b" }, 0, 0, "", 0, NULL },
	{ { "-b", "--", "-h" }, 2, 1, "", 0, NULL },
	{ { "k", "-h" }, -2, 0, "", 0, NULL },
	{ { "-s", "--help" }, -2, 0, "", 0, NULL },
	{ { "-u", "-1" }, -1, 0, "", 0,
	    "invalid value \"-1\" for flag -u: parse error" },
	{ { "-u=08" }, -1, 0, "", 0,
	    "invalid value \"08\" for flag -u: parse error" },
	{ { "-u=18446744073709551616" }, -1, 0, "", 0,
	    "invalid value \"18446744073709551616\" for flag -u: value out of "
	    "range" },
	{ { "-u", "" }, -1, 0, "", 0,
	    "invalid value \"\" for flag -u: parse error" },
	{ { "-nope" }, -1, 0, "", 0, "flag provided but not defined: -nope" },
	{ { "-bb=1" }, -1, 0, "", 0, "flag provided but not defined: -bb" },
	{ { "-s" }, -1, 0, "", 0, "flag needs an argument: -s" },
	{ { "-b=maybe" }, -1, 0, "", 0,
	    "invalid boolean value \"maybe\" for -b: parse error" },
	{ { "---b" }, -1, 0, "", 0, "bad flag syntax: ---b" },
	{ { "-=x" }, -1, 0, "", 0, "bad flag syntax: -=x" },
};

static void
test_flags(void)
{
	const struct cli_flag *const tabs[] = { ftab, NULL };
	char err[256], *argv[4];
	size_t i;
	int argc, r;

	for (i = 0; i < sizeof(flag_rows) / sizeof(flag_rows[0]); i++) {
		for (argc = 0; argc < 4 && flag_rows[i].args[argc]; argc++)
			argv[argc] = (char *)flag_rows[i].args[argc];
		fb = 0;
		fs = "";
		fu = 0;
		err[0] = '\0';
		r = cli_flags_parse(argc, argv, tabs, err, sizeof(err));
		if (r != flag_rows[i].ret) {
			fprintf(stderr, "flag row %zu: %d\n", i, r);
			CHECK(0);
			continue;
		}
		if (flag_rows[i].err != NULL) {
			CHECK_STR(err, flag_rows[i].err);
			continue;
		}
		if (r == -2)
			continue;
		CHECK(fb == flag_rows[i].b);
		CHECK_STR(fs, flag_rows[i].s);
		CHECK(fu == flag_rows[i].u);
	}
}

static void
test_usage(void)
{
	const struct cli_flag *const tabs[] = { ftab, NULL };
	const char *const titles[] = { "Command Options" };
	struct buf b;

	buf_init(&b);
	cli_usage(&b, "\nUsage: x [options]\n\n  Does x.\n\n", tabs, titles);
	CHECK_STR(buf_cstr(&b), "Usage: x [options]\n\n  Does x.\n\n"
	    "Command Options\n\n"
	    "  -b\n     a bool\n\n"
	    "  -s=<string>\n     a string\n\n"
	    "  -u=<uint>\n     a number\n");
	buf_reset(&b);
	cli_wrap(&b, "aaa bbb ccc  ddd", 2, 7);
	CHECK_STR(buf_cstr(&b), "  aaa bbb\n  ccc ddd");
	buf_reset(&b);
	cli_wrap(&b, "abcdefghij k", 1, 4);
	CHECK_STR(buf_cstr(&b), " abcdefghij\n k");
	buf_free(&b);
}

/* ---- http.c ---- */

static const struct {
	const char	*in;
	const char	*base;
	const char	*host;
	const char	*unix_path;
	const char	*err;
} addr_rows[] = {
	{ "127.0.0.1:8500", "http://127.0.0.1:8500", "127.0.0.1:8500", "",
	    NULL },
	{ "  localhost:18500", "http://localhost:18500", "localhost:18500",
	    "", NULL },
	{ "http://10.1.2.3:8500/", "http://10.1.2.3:8500", "10.1.2.3:8500",
	    "", NULL },
	{ "HTTP://h:1", "http://h:1", "h:1", "", NULL },
	{ "https://h:8501", "https://h:8501", "h:8501", "", NULL },
	{ "[::1]:8500", "http://[::1]:8500", "[::1]:8500", "", NULL },
	{ "unix:///tmp/c.sock", "http://localhost", "/tmp/c.sock",
	    "/tmp/c.sock", NULL },
	{ "ftp://x:1", NULL, NULL, NULL, "Unknown protocol scheme: ftp" },
	{ "", NULL, NULL, NULL, "bad HTTP address \"\": want host:port or "
	    "http://host:port" },
	{ "http://", NULL, NULL, NULL, "bad HTTP address \"http://\": want "
	    "host:port or http://host:port" },
	{ "h:1/v1", NULL, NULL, NULL, "bad HTTP address \"h:1/v1\": want "
	    "host:port or http://host:port" },
	{ "unix://", NULL, NULL, NULL, "bad unix socket address: unix://" },
};

static void
test_http_addr(void)
{
	struct http_client c;
	struct http_flags hf;
	char err[256];
	size_t i;
	int r;

	unsetenv("CAIRN_HTTP_SSL");
	unsetenv("CONSUL_HTTP_SSL");
	for (i = 0; i < sizeof(addr_rows) / sizeof(addr_rows[0]); i++) {
		memset(&c, 0, sizeof(c));
		err[0] = '\0';
		r = http_addr_parse(&c, addr_rows[i].in, err, sizeof(err));
		if (addr_rows[i].err != NULL) {
			CHECK(r == -1);
			CHECK_STR(err, addr_rows[i].err);
			continue;
		}
		CHECK(r == 0);
		CHECK_STR(c.base, addr_rows[i].base);
		CHECK_STR(c.host, addr_rows[i].host);
		CHECK_STR(c.unix_path, addr_rows[i].unix_path);
	}
	/* CONSUL_HTTP_SSL picks https for a bare host:port only. */
	setenv("CONSUL_HTTP_SSL", "true", 1);
	CHECK(http_addr_parse(&c, "h:1", err, sizeof(err)) == 0);
	CHECK_STR(c.base, "https://h:1");
	CHECK(http_addr_parse(&c, "http://h:1", err, sizeof(err)) == 0);
	CHECK_STR(c.base, "http://h:1");
	unsetenv("CONSUL_HTTP_SSL");

	/* The address comes from CAIRN_, then CONSUL_, then the default. */
	unsetenv("CAIRN_HTTP_ADDR");
	unsetenv("CONSUL_HTTP_ADDR");
	http_flags_init(&hf, 0);
	CHECK_STR(hf.addr, "127.0.0.1:8500");
	setenv("CONSUL_HTTP_ADDR", "10.0.0.1:1", 1);
	http_flags_init(&hf, 0);
	CHECK_STR(hf.addr, "10.0.0.1:1");
	setenv("CAIRN_HTTP_ADDR", "10.0.0.2:2", 1);
	http_flags_init(&hf, 0);
	CHECK_STR(hf.addr, "10.0.0.2:2");
	/* ... and -http-addr wins over both. */
	{
		const struct cli_flag *const tabs[] = { hf.tab, NULL };
		char *argv[] = { "-http-addr=127.0.0.9:9", "k" };

		CHECK(cli_flags_parse(2, argv, tabs, err, sizeof(err)) == 1);
		CHECK(http_client_init(&c, &hf, err, sizeof(err)) == 0);
		CHECK_STR(c.base, "http://127.0.0.9:9");
	}
	unsetenv("CAIRN_HTTP_ADDR");
	unsetenv("CONSUL_HTTP_ADDR");
	/* Client flags only for members: no -stale or -datacenter. */
	CHECK_STR(hf.tab[0].name, "http-addr");
	CHECK_STR(hf.tab[1].name, "token");
	CHECK(hf.tab[2].name == NULL);
	http_flags_init(&hf, 1);
	CHECK_STR(hf.tab[0].name, "datacenter");
	CHECK_STR(hf.tab[2].name, "stale");
	CHECK(hf.tab[4].name == NULL);
}

static void
test_escape(void)
{
	struct buf b;
	struct http_resp r;
	char err[256];

	buf_init(&b);
	http_escape_path(&b, "a b/c?d%\xc3\xa9#");
	CHECK_STR(buf_cstr(&b), "a%20b/c%3Fd%25%C3%A9%23");
	buf_reset(&b);
	http_escape_path(&b, "$&+,/:;=@-_.~Az09");
	CHECK_STR(buf_cstr(&b), "$&+,/:;=@-_.~Az09");
	buf_reset(&b);
	http_escape_query(&b, "/ a=b&c+-_.~");
	CHECK_STR(buf_cstr(&b), "%2F+a%3Db%26c%2B-_.~");
	buf_free(&b);

	buf_init(&r.body);
	r.code = 500;
	buf_puts(&r.body, "No cluster leader");
	http_status_error(&r, err, sizeof(err));
	CHECK_STR(err, "Unexpected response code: 500 (No cluster leader)");
	buf_reset(&r.body);
	r.code = 404;
	http_status_error(&r, err, sizeof(err));
	CHECK_STR(err, "Unexpected response code: 404 ()");
	buf_free(&r.body);
}

/*
 * replay - a child that takes one connection on 127.0.0.<60-249>, reads
 * the request head and writes answer back; c is pointed at it
 */
static pid_t
replay(const struct buf *answer, struct http_client *c)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	char head[8192], where[64], why[128];
	size_t got = 0;
	ssize_t r;
	pid_t pid;
	int s, conn;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(0x7f00003cu + (uint32_t)(getpid() % 190));
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s, 1) < 0 || getsockname(s, (struct sockaddr *)&sa,
	    &salen) < 0) {
		perror("replay");
		abort();
	}
	snprintf(where, sizeof(where), "%s:%u", inet_ntoa(sa.sin_addr),
	    (unsigned)ntohs(sa.sin_port));
	memset(c, 0, sizeof(*c));
	if (http_addr_parse(c, where, why, sizeof(why)) < 0)
		abort();
	if ((pid = fork()) < 0)
		abort();
	if (pid > 0) {
		close(s);
		return pid;
	}
	if ((conn = accept(s, NULL, NULL)) < 0)
		_exit(1);
	while (got < sizeof(head) - 1 && (r = read(conn, head + got,
	    sizeof(head) - 1 - got)) > 0) {
		got += (size_t)r;
		head[got] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL)
			break;
	}
	if (write(conn, buf_head(answer), buf_used(answer)) < 0)
		_exit(1);
	_exit(0);
}

/* What the test sink got, and whether it refuses. */
struct sunk {
	struct buf	 data;
	int		 refuse;
};

/* sunk_cb - the test's body sink */
static int
sunk_cb(void *arg, const void *data, size_t len)
{
	struct sunk *k = arg;

	if (k->refuse)
		return -1;
	buf_append(&k->data, data, len);
	return 0;
}

/* Answers and what http_stream makes of them; a body of "*" is 5000 x. */
static const struct {
	const char	*head;		/* status line(s) and headers */
	const char	*body;
	int		 sink;		/* 1: a sink, 2: one that refuses */
	int		 ret;
	long		 code;
	const char	*index;		/* NULL: no X-Consul-Index */
	size_t		 kept;		/* bytes left in resp->body */
	size_t		 sunk;		/* bytes the sink took */
	const char	*err;		/* after `Get "url": ` */
} stream_rows[] = {
	{ "HTTP/1.1 200 OK\r\nX-Consul-Index: 42\r\n", "hello", 0, 0, 200,
	    "42", 5, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nX-Consul-Index: 42\r\n", "hello", 1, 0, 200,
	    "42", 0, 5, NULL },
	{ "HTTP/1.1 200 OK\r\nx-consul-index: \t 7 \r\n", "*", 1, 0, 200,
	    "7", 0, 5000, NULL },
	{ "HTTP/1.1 200 OK\r\nX-Consul-Index: "
	    "12345678901234567890123456789012345678901234567890123456789012345"
	    "\r\n", "", 0, 0, 200,
	    "123456789012345678901234567890123456789012345678901234567890123",
	    0, 0, NULL },
	/* The index of a 1xx answer is not the final answer's. */
	{ "HTTP/1.1 100 Continue\r\nX-Consul-Index: 3\r\n\r\n"
	    "HTTP/1.1 200 OK\r\n", "ok", 1, 0, 200, NULL, 0, 2, NULL },
	{ "HTTP/1.1 100 Continue\r\nX-Consul-Index: 3\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nX-Consul-Index: 4\r\n", "ok", 0, 0, 200, "4",
	    2, 0, NULL },
	/* An error's body is kept for the message, capped with a sink. */
	{ "HTTP/1.1 500 Internal Server Error\r\n", "*", 1, 0, 500, NULL,
	    HTTP_ERRBODY, 0, NULL },
	{ "HTTP/1.1 500 Internal Server Error\r\n", "*", 0, 0, 500, NULL,
	    5000, 0, NULL },
	{ "HTTP/1.1 403 Forbidden\r\nX-Consul-Index: 9\r\n", "no", 2, 0, 403,
	    "9", 2, 0, NULL },
	{ "HTTP/1.1 200 OK\r\nX-Consul-Index: 9\r\n", "*", 2, -1, 0, "9", 0,
	    0, "storing the response body failed" },
};

static void
test_http_stream(void)
{
	struct http_client c;
	struct http_resp resp;
	struct buf answer, body, want;
	struct sunk k;
	char err[1024];
	size_t i, n;
	int status, ret;
	pid_t pid;

	buf_init(&answer);
	buf_init(&body);
	buf_init(&want);
	for (i = 0; i < sizeof(stream_rows) / sizeof(stream_rows[0]); i++) {
		buf_reset(&body);
		if (strcmp(stream_rows[i].body, "*") != 0)
			buf_puts(&body, stream_rows[i].body);
		else
			for (n = 0; n < 5000; n++)
				buf_putc(&body, 'x');
		buf_reset(&answer);
		buf_printf(&answer, "%sContent-Length: %zu\r\n\r\n",
		    stream_rows[i].head, buf_used(&body));
		buf_append(&answer, buf_head(&body), buf_used(&body));
		pid = replay(&answer, &c);
		buf_init(&k.data);
		k.refuse = stream_rows[i].sink == 2;
		/* Garbage in every field: both calls fill what they return,
		   and http_do must not look at the sink. */
		memset(&resp, 0xa5, sizeof(resp));
		err[0] = '\0';
		if (stream_rows[i].sink) {
			resp.sink = sunk_cb;
			resp.sink_arg = &k;
			ret = http_stream(&c, "GET", "/v1/x", "", 0, NULL, 0,
			    &resp, err, sizeof(err));
		} else
			ret = http_do(&c, "GET", "/v1/x", "", 0, NULL, 0,
			    &resp, err, sizeof(err));
		waitpid(pid, &status, 0);
		CHECK(ret == stream_rows[i].ret);
		CHECK(ret < 0 || resp.code == stream_rows[i].code);
		CHECK(resp.has_index == (stream_rows[i].index != NULL));
		CHECK_STR(resp.index, stream_rows[i].index ?
		    stream_rows[i].index : "");
		n = stream_rows[i].kept;
		CHECK(buf_used(&resp.body) == n && (n == 0 ||
		    memcmp(buf_head(&resp.body), buf_head(&body), n) == 0));
		n = stream_rows[i].sunk;
		CHECK(buf_used(&k.data) == n && (n == 0 ||
		    memcmp(buf_head(&k.data), buf_head(&body), n) == 0));
		buf_reset(&want);
		if (stream_rows[i].err != NULL)
			buf_printf(&want, "Get \"%s/v1/x\": %s", c.base,
			    stream_rows[i].err);
		CHECK_STR(err, buf_cstr(&want));
		buf_free(&k.data);
		buf_free(&resp.body);
	}
	buf_free(&answer);
	buf_free(&body);
	buf_free(&want);
}

/* ---- columnize.c ---- */

static const struct {
	const char	*lines[3];
	const char	*out;
} col_rows[] = {
	{ { "a\x1f" "bb\x1f" "c", "ddd\x1f" "e" }, "a    bb  c\nddd  e" },
	{ { "\xc3\xa9\x1fx", "ab\x1fy" }, "\xc3\xa9   x\nab  y" },
	{ { " a \x1f b ", "\x1f" "c" }, "a  b\n   c" },
	{ { "x\x1f\x1f", "long\x1fy\x1fz" }, "x        \nlong  y  z" },
	{ { "only" }, "only" },
};

static void
test_columnize(void)
{
	struct buf b;
	char *lines[3];
	size_t i, n;

	buf_init(&b);
	for (i = 0; i < sizeof(col_rows) / sizeof(col_rows[0]); i++) {
		for (n = 0; n < 3 && col_rows[i].lines[n]; n++)
			lines[n] = (char *)col_rows[i].lines[n];
		buf_reset(&b);
		cli_columnize(&b, lines, n);
		CHECK_STR(buf_cstr(&b), col_rows[i].out);
	}
	buf_free(&b);
}

/* ---- members.c ---- */

static const char members_json[] =
"[{\"Name\":\"web1\",\"Addr\":\"10.0.0.2\",\"Port\":8301,\"Tags\":"
"{\"role\":\"node\",\"dc\":\"dc1\",\"build\":\"1.10.0:abc\",\"vsn\":\"2\","
"\"segment\":\"\"},\"Status\":1,\"ProtocolMin\":1,\"ProtocolMax\":5,"
"\"ProtocolCur\":2},"
"{\"Name\":\"srv2\",\"Addr\":\"10.0.0.1\",\"Port\":8301,\"Tags\":"
"{\"role\":\"consul\",\"dc\":\"dc1\",\"build\":\"0.1.0:cairn\","
"\"vsn\":\"2\",\"port\":\"8300\"},\"Status\":1},"
"{\"Name\":\"srv1\",\"Addr\":\"::1\",\"Port\":8302,\"Tags\":"
"{\"role\":\"consul\",\"dc\":\"dc2\",\"vsn\":\"3\"},\"Status\":4}]";

static const char members_table[] =
"Node  Address        Status  Type    Build   Protocol  DC   Segment\n"
"srv1  [::1]:8302     failed  server  < 0.3   3         dc2  <all>\n"
"srv2  10.0.0.1:8301  alive   server  0.1.0   2         dc1  <all>\n"
"web1  10.0.0.2:8301  alive   client  1.10.0  2         dc1  <default>";

static const char members_detailed[] =
"Node  Address        Status  Tags\n"
"srv1  [::1]:8302     failed  dc=dc2,role=consul,segment=<all>,vsn=3\n"
"srv2  10.0.0.1:8301  alive   build=0.1.0:cairn,dc=dc1,port=8300,"
"role=consul,segment=<all>,vsn=2\n"
"web1  10.0.0.2:8301  alive   build=1.10.0:abc,dc=dc1,role=node,"
"segment=<default>,vsn=2";

static void
test_members_table(void)
{
	struct cli_member *m;
	struct buf b;
	char err[256];
	size_t n;

	buf_init(&b);
	CHECK(members_parse(members_json, strlen(members_json), &m, &n, err,
	    sizeof(err)) == 0);
	CHECK(n == 3);
	CHECK_STR(m[0].name, "web1");
	CHECK(m[0].port == 8301 && m[0].status == 1 && m[0].ntags == 5);
	CHECK_STR(members_tag(&m[1], "build"), "0.1.0:cairn");
	CHECK_STR(members_tag(&m[1], "nope"), "");
	CHECK(members_select(m, n, NULL) == 3);
	CHECK_STR(m[0].name, "srv1");
	CHECK_STR(m[2].name, "web1");
	members_format(&b, m, n, 0);
	CHECK_STR(buf_cstr(&b), members_table);
	buf_reset(&b);
	members_format(&b, m, n, 1);
	CHECK_STR(buf_cstr(&b), members_detailed);
	members_free(m, n);
	buf_free(&b);
}

static const struct {
	const char	*re;
	size_t		 kept;
	const char	*first;
} filter_rows[] = {
	{ ".*", 3, "srv1" },
	{ "alive", 2, "srv2" },
	{ "^fail", 1, "srv1" },
	{ "left|failed", 1, "srv1" },
	{ "left", 0, NULL },
	{ "^ali$", 0, NULL },
};

static void
test_members_filter(void)
{
	struct cli_member *m;
	regex_t re;
	char err[256];
	size_t i, n, k;

	for (i = 0; i < sizeof(filter_rows) / sizeof(filter_rows[0]); i++) {
		CHECK(members_parse(members_json, strlen(members_json), &m,
		    &n, err, sizeof(err)) == 0);
		CHECK(regcomp(&re, filter_rows[i].re, REG_EXTENDED |
		    REG_NOSUB) == 0);
		k = members_select(m, n, &re);
		CHECK(k == filter_rows[i].kept);
		if (k > 0 && filter_rows[i].first != NULL)
			CHECK_STR(m[0].name, filter_rows[i].first);
		regfree(&re);
		/* Filtered-out members are still freed with the rest. */
		members_free(m, n);
	}
}

static void
test_members_unknown(void)
{
	static const char json[] = "[{\"Name\":\"odd\",\"Addr\":\"x\","
	    "\"Port\":1,\"Status\":9,\"Tags\":null},{\"Name\":\"c\","
	    "\"Addr\":\"::ffff:10.0.0.3\",\"Port\":2,\"Status\":0,"
	    "\"Tags\":{\"role\":\"node\"}}]";
	struct cli_member *m;
	struct buf b;
	char err[256];
	size_t n;

	buf_init(&b);
	CHECK(members_parse(json, strlen(json), &m, &n, err,
	    sizeof(err)) == 0);
	CHECK(members_select(m, n, NULL) == 2);
	members_format(&b, m, n, 0);
	/* Go: an unknown role gets empty columns; no build is "< 0.3". */
	CHECK_STR(buf_cstr(&b),
	    "Node  Address     Status                  Type     Build  "
	    "Protocol  DC  Segment\n"
	    "c     10.0.0.3:2  none                    client   < 0.3  "
	    "              <default>\n"
	    "odd   :1          unknown MemberStatus 9  unknown  "
	    "                     ");
	members_free(m, n);
	buf_free(&b);
}

static void
test_members_addr_status(void)
{
	char out[128];

	members_addr("10.0.0.1", 8301, out, sizeof(out));
	CHECK_STR(out, "10.0.0.1:8301");
	members_addr("fe80::0:1", 1, out, sizeof(out));
	CHECK_STR(out, "[fe80::1]:1");
	members_addr("::ffff:1.2.3.4", 2, out, sizeof(out));
	CHECK_STR(out, "1.2.3.4:2");
	members_addr("", 3, out, sizeof(out));
	CHECK_STR(out, ":3");
	CHECK_STR(members_status(0, out, sizeof(out)), "none");
	CHECK_STR(members_status(2, out, sizeof(out)), "leaving");
	CHECK_STR(members_status(3, out, sizeof(out)), "left");
	CHECK_STR(members_status(5, out, sizeof(out)),
	    "unknown MemberStatus 5");
}

/* Bad responses: each must be refused, not crash or half-parse. */
static const char *const members_bad[] = {
	"{}",
	"[1]",
	"[{\"Name\":1,\"Addr\":\"a\"}]",
	"[{\"Name\":\"a\",\"Addr\":\"a\",\"Port\":\"8301\"}]",
	"[{\"Name\":\"a\",\"Addr\":\"a\",\"Port\":-1}]",
	"[{\"Name\":\"a\",\"Addr\":\"a\",\"Status\":1.5}]",
	"[{\"Name\":\"a\",\"Addr\":\"a\",\"Tags\":[]}]",
	"[{\"Name\":\"a\",\"Addr\":\"a\",\"Tags\":{\"k\":1}}]",
	("[{\"Name\":\"a\",\"Addr\":\"a\"},{\"Name\":\"b\",\"Tags\":{\"x\":"
	    "\"y\",\"k\":true}}]"),
};

static void
test_members_mutated(void)
{
	struct cli_member *m;
	char err[256], *s;
	size_t i, n, len = strlen(members_json);

	/* Every cut-short response is an error; none crashes. */
	for (i = 0; i < len; i++) {
		if (members_parse(members_json, i, &m, &n, err,
		    sizeof(err)) != -1) {
			fprintf(stderr, "members cut at %zu parsed\n", i);
			CHECK(0);
			members_free(m, n);
			break;
		}
	}
	/* One byte more: garbage after the array is refused too. */
	if ((s = malloc(len + 2)) == NULL)
		abort();
	memcpy(s, members_json, len);
	s[len] = 'x';
	CHECK(members_parse(s, len + 1, &m, &n, err, sizeof(err)) == -1);
	s[len] = ' ';
	CHECK(members_parse(s, len + 1, &m, &n, err, sizeof(err)) == 0);
	members_free(m, n);
	free(s);
	for (i = 0; i < sizeof(members_bad) / sizeof(members_bad[0]); i++) {
		err[0] = '\0';
		if (members_parse(members_bad[i], strlen(members_bad[i]), &m,
		    &n, err, sizeof(err)) != -1) {
			fprintf(stderr, "members_bad %zu parsed\n", i);
			CHECK(0);
			members_free(m, n);
		}
		CHECK(strncmp(err, "unexpected response", 19) == 0 ||
		    strncmp(err, "invalid JSON", 12) == 0);
	}
	CHECK(members_parse("[]", 2, &m, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	members_free(m, n);
}

/* ---- kv.c ---- */

static const char kv_json[] =
"[{\"LockIndex\":0,\"Key\":\"foo\",\"Flags\":42,\"Value\":\"YmFy\","
"\"CreateIndex\":5,\"ModifyIndex\":7},"
"{\"LockIndex\":1,\"Key\":\"foo/empty\",\"Flags\":18446744073709551615,"
"\"Value\":null,\"Session\":\"adf4238a-882b-9ddc-4a9d-5b6758e4159e\","
"\"CreateIndex\":8,\"ModifyIndex\":9}]";

static void
test_kv_entries(void)
{
	struct kv_entry *e;
	struct buf b;
	char err[256];
	size_t n;

	buf_init(&b);
	CHECK(kv_parse_entries(kv_json, strlen(kv_json), &e, &n, err,
	    sizeof(err)) == 0);
	CHECK(n == 2);
	CHECK_STR(e[0].key, "foo");
	CHECK(e[0].vlen == 3 && memcmp(e[0].value, "bar", 3) == 0);
	CHECK(e[0].flags == 42 && e[0].create_index == 5 &&
	    e[0].modify_index == 7 && e[0].lock_index == 0);
	CHECK_STR(e[0].session, "");
	CHECK(e[1].vlen == 0);
	CHECK(e[1].flags == UINT64_MAX && e[1].lock_index == 1);

	kv_format_detailed(&b, &e[0], 0);
	CHECK_STR(buf_cstr(&b),
	    "CreateIndex      5\n"
	    "Flags            42\n"
	    "Key              foo\n"
	    "LockIndex        0\n"
	    "ModifyIndex      7\n"
	    "Session          -\n"
	    "Value            bar");
	buf_reset(&b);
	kv_format_detailed(&b, &e[1], 1);
	CHECK_STR(buf_cstr(&b),
	    "CreateIndex      8\n"
	    "Flags            18446744073709551615\n"
	    "Key              foo/empty\n"
	    "LockIndex        1\n"
	    "ModifyIndex      9\n"
	    "Session          adf4238a-882b-9ddc-4a9d-5b6758e4159e\n"
	    "Value            ");
	buf_reset(&b);
	kv_format_value(&b, &e[0], 1);
	CHECK_STR(buf_cstr(&b), "YmFy");
	buf_reset(&b);
	kv_format_value(&b, &e[0], 0);
	CHECK_STR(buf_cstr(&b), "bar");
	kv_entries_free(e, n);

	/* Binary values come through whole. */
	CHECK(kv_parse_entries("[{\"Key\":\"b\",\"Value\":\"AAEC/w==\"}]", 33,
	    &e, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && e[0].vlen == 4 && e[0].value[0] == 0 &&
	    e[0].value[3] == 0xff);
	kv_entries_free(e, n);
	buf_free(&b);
}

static const char *const kv_bad[] = {
	"{}",
	"[\"foo\"]",
	"[{\"Value\":\"YmFy\"}]",
	"[{\"Key\":\"k\",\"Value\":\"Y$Fy\"}]",
	"[{\"Key\":\"k\",\"Value\":\"YmF\"}]",
	"[{\"Key\":\"k\",\"Value\":5}]",
	"[{\"Key\":\"k\",\"Flags\":\"1\"}]",
	"[{\"Key\":\"k\",\"Flags\":-1}]",
	"[{\"Key\":\"k\",\"ModifyIndex\":1e3}]",
	"[{\"Key\":\"k\",\"CreateIndex\":18446744073709551616}]",
	"[{\"Key\":\"k\",\"Session\":{}}]",
	"[{\"Key\":\"a\"},{\"Key\":\"b\",\"Value\":\"!!!!\"}]",
};

static void
test_kv_mutated(void)
{
	struct kv_entry *e;
	char err[256], *s;
	size_t i, n, len = strlen(kv_json);

	for (i = 0; i < len; i++)
		if (kv_parse_entries(kv_json, i, &e, &n, err,
		    sizeof(err)) != -1) {
			fprintf(stderr, "kv cut at %zu parsed\n", i);
			CHECK(0);
			kv_entries_free(e, n);
			break;
		}
	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, kv_json, len);
	s[len] = ']';
	CHECK(kv_parse_entries(s, len + 1, &e, &n, err, sizeof(err)) == -1);
	free(s);
	for (i = 0; i < sizeof(kv_bad) / sizeof(kv_bad[0]); i++)
		if (kv_parse_entries(kv_bad[i], strlen(kv_bad[i]), &e, &n,
		    err, sizeof(err)) != -1) {
			fprintf(stderr, "kv_bad %zu parsed\n", i);
			CHECK(0);
			kv_entries_free(e, n);
		}
	CHECK(kv_parse_entries("[]", 2, &e, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	kv_entries_free(e, n);
}

static void
test_kv_keys(void)
{
	static const char json[] = "[\"a/\",\"a/b\",\"c\"]";
	char err[256], **k;
	size_t n, i;

	CHECK(kv_parse_keys(json, strlen(json), &k, &n, err,
	    sizeof(err)) == 0);
	CHECK(n == 3);
	CHECK_STR(k[0], "a/");
	CHECK_STR(k[2], "c");
	kv_keys_free(k, n);
	for (i = 0; i < strlen(json); i++)
		CHECK(kv_parse_keys(json, i, &k, &n, err, sizeof(err)) == -1);
	CHECK(kv_parse_keys("[\"a\",1]", 7, &k, &n, err, sizeof(err)) == -1);
	CHECK(kv_parse_keys("{}", 2, &k, &n, err, sizeof(err)) == -1);
	CHECK(kv_parse_keys("[]", 2, &k, &n, err, sizeof(err)) == 0);
	CHECK(n == 0);
	kv_keys_free(k, n);
}

/* ---- agent.c ---- */

static void
test_agent_backoff(void)
{
	/* 1s, doubling to 30s; a run of 60s resets it. */
	static const struct { double prev, ran, next; } rows[] = {
		{ 0, 0, 1 }, { 1, 0.5, 2 }, { 2, 3, 4 }, { 4, 0, 8 },
		{ 16, 10, 30 }, { 30, 59.9, 30 }, { 30, 60, 1 },
		{ 8, 3600, 1 },
	};
	double d = 0;
	size_t i;
	int steps;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(agent_backoff(rows[i].prev, rows[i].ran) ==
		    rows[i].next);
	for (steps = 0; steps < 10; steps++)
		d = agent_backoff(d, 0.1);
	CHECK(d == 30);
}

static void
test_agent_argv(void)
{
	char *flags[] = { "-dev", "-node", "n1" };
	const char *const *names;
	char **v;
	size_t n;

	v = agent_child_argv("/x/cairn-kvd", 3, flags, "/tmp/d");
	CHECK_STR(v[0], "/x/cairn-kvd");
	CHECK_STR(v[1], "-dev");
	CHECK_STR(v[3], "n1");
	CHECK_STR(v[4], "-data-dir");
	CHECK_STR(v[5], "/tmp/d");
	CHECK(v[6] == NULL);
	free(v);
	v = agent_child_argv("cairn-httpd", 0, flags, NULL);
	CHECK_STR(v[0], "cairn-httpd");
	CHECK(v[1] == NULL);
	free(v);

	names = agent_daemons(1, &n);
	CHECK(n == 6);
	CHECK_STR(names[0], "gossipd");
	CHECK_STR(names[1], "raftd");
	CHECK_STR(names[2], "kvd");
	CHECK_STR(names[3], "checkd");
	CHECK_STR(names[4], "dnsd");
	CHECK_STR(names[5], "httpd");
	names = agent_daemons(0, &n);
	CHECK(n == 4);
	CHECK_STR(names[0], "gossipd");
	CHECK_STR(names[1], "checkd");
	CHECK_STR(names[3], "httpd");
}

/* a waitpid status for an exit with code, or for death by signal sig */
#define EXITED(code)	((code) << 8)
#define KILLED(sig)	(sig)

static void
test_agent_left(void)
{
	/* Only gossipd exiting 0 on its own is a leave; all else a crash. */
	static const struct {
		const char	*name;
		int		 wstatus;
		int		 left;
	} rows[] = {
		{ "gossipd", EXITED(0), 1 },
		{ "gossipd", EXITED(1), 0 },
		{ "gossipd", EXITED(100), 0 },
		{ "gossipd", EXITED(127), 0 },
		{ "gossipd", KILLED(9), 0 },
		{ "gossipd", KILLED(15), 0 },
		{ "kvd", EXITED(0), 0 },
		{ "httpd", EXITED(0), 0 },
		{ "raftd", EXITED(0), 0 },
		{ "gossip", EXITED(0), 0 },
		{ "gossipdd", EXITED(0), 0 },
	};
	size_t i;

	/* The encoding the table assumes is the one waitpid uses. */
	CHECK(WIFEXITED(EXITED(3)) && WEXITSTATUS(EXITED(3)) == 3);
	CHECK(WIFSIGNALED(KILLED(9)) && WTERMSIG(KILLED(9)) == 9);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (agent_left(rows[i].name, rows[i].wstatus) != rows[i].left) {
			fprintf(stderr, "agent_left row %zu\n", i);
			CHECK(0);
		}
	}
}

static void
test_agent_probe_addr(void)
{
	static const char *rows[][2] = {
		{ "127.0.0.1", "127.0.0.1" },
		{ "0.0.0.0", "127.0.0.1" },
		{ "", "127.0.0.1" },
		{ "::", "::1" },
		{ "[::]", "::1" },
		{ "[fe80::1]", "fe80::1" },
		{ "10.0.0.1 127.0.0.1", "10.0.0.1" },
		{ " 10.0.0.2", "10.0.0.2" },
	};
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		agent_probe_addr(rows[i][0], out, sizeof(out));
		CHECK_STR(out, rows[i][1]);
	}
}

static void
test_agent_banner(void)
{
	struct config cfg;
	struct buf b;

	memset(&cfg, 0, sizeof(cfg));
	cfg.node_name = "n1";
	cfg.datacenter = "dc1";
	cfg.domain = "consul.";
	cfg.http_addr = "127.0.0.1";
	cfg.dns_addr = "0.0.0.0";
	cfg.data_dir = "/var/lib/cairn";
	cfg.port_http = 8500;
	cfg.port_dns = 8600;
	cfg.server = 1;
	buf_init(&b);
	agent_banner(&b, &cfg, "/tmp/cairn-dev.abc123", "./build/bin/cairn");
	CHECK(strstr(buf_cstr(&b), "    HTTP API: 127.0.0.1:8500\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "         DNS: 127.0.0.1:8600 (UDP and "
	    "TCP)\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "    Data dir: /tmp/cairn-dev.abc123\n")
	    != NULL);
	CHECK(strstr(buf_cstr(&b), "      curl -s 127.0.0.1:8500/v1/kv/hello "
	    "-X PUT -d world\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "      dig @127.0.0.1 -p 8600 "
	    "n1.node.consul\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "      ./build/bin/cairn members\n") !=
	    NULL);
	/* Other ports show in the commands to try. */
	cfg.port_http = 18500;
	cfg.port_dns = 18600;
	cfg.domain = "cairn.example.";
	buf_reset(&b);
	agent_banner(&b, &cfg, NULL, "cairn");
	CHECK(strstr(buf_cstr(&b), "    Data dir: /var/lib/cairn\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "      dig @127.0.0.1 -p 18600 "
	    "n1.node.cairn.example\n") != NULL);
	CHECK(strstr(buf_cstr(&b), "      cairn members "
	    "-http-addr=127.0.0.1:18500\n") != NULL);
	buf_free(&b);
}

int
main(void)
{
	RUN(test_flags);
	RUN(test_usage);
	RUN(test_http_addr);
	RUN(test_escape);
	RUN(test_http_stream);
	RUN(test_columnize);
	RUN(test_members_table);
	RUN(test_members_filter);
	RUN(test_members_unknown);
	RUN(test_members_addr_status);
	RUN(test_members_mutated);
	RUN(test_kv_entries);
	RUN(test_kv_mutated);
	RUN(test_kv_keys);
	RUN(test_agent_backoff);
	RUN(test_agent_argv);
	RUN(test_agent_left);
	RUN(test_agent_probe_addr);
	RUN(test_agent_banner);
	return TEST_DONE();
}
