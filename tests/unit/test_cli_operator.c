/*
 * test_cli_operator.c - `cairn operator raft` and `cairn snapshot`: the
 * Raft configuration parser (good answers, every one cut short and
 * extended, fields of the wrong type), the list-peers table, remove-peer's
 * query and quoting, the snapshot check (whole, split at every byte, every
 * truncation, an appended byte, every bit flipped) and X-Consul-Index;
 * then each command end to end against a fake HTTP server on a loopback
 * address: the request it sends, what it prints, its exit code and the
 * file it leaves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crc32c.h"
#include "test.h"
#include "../../cli/cli.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
/* STARTS - s begins with the literal lit */
#define STARTS(s, lit)	(strncmp((s), (lit), sizeof(lit) - 1) == 0)

/* ---- operator_parse_config, operator_format_peers ---- */

static const char config_json[] =
"{\"Servers\":[{\"ID\":\"8b2a5a2e-1111\",\"Node\":\"srv1\","
"\"Address\":\"10.0.0.1:8300\",\"Leader\":true,\"Voter\":true,"
"\"ProtocolVersion\":\"3\"},{\"ID\":\"id2\",\"Node\":\"server-two\","
"\"Address\":\"10.0.0.22:8300\",\"Leader\":false,\"Voter\":false,"
"\"ProtocolVersion\":3},{\"ID\":\"id3\",\"Node\":\"s3\","
"\"Address\":\"[::1]:8300\",\"Leader\":null}],\"Index\":42}";

#define CONFIG_TABLE \
    "Node        ID             Address         State     Voter  " \
    "RaftProtocol\n" \
    "srv1        8b2a5a2e-1111  10.0.0.1:8300   leader    true   3\n" \
    "server-two  id2            10.0.0.22:8300  follower  false  3\n" \
    "s3          id3            [::1]:8300      follower  false  <=1"

static void
test_config_parse(void)
{
	struct cli_raft_server *s;
	struct buf b;
	uint64_t index;
	char err[256];
	size_t n;

	CHECK(operator_parse_config(config_json, strlen(config_json), &s, &n,
	    &index, err, sizeof(err)) == 0);
	CHECK(n == 3 && index == 42);
	CHECK_STR(s[0].id, "8b2a5a2e-1111");
	CHECK_STR(s[1].node, "server-two");
	CHECK_STR(s[2].address, "[::1]:8300");
	CHECK(s[0].leader == 1 && s[0].voter == 1);
	CHECK(s[1].leader == 0 && s[1].voter == 0);
	CHECK_STR(s[1].protocol, "3");
	CHECK_STR(s[2].protocol, "");
	buf_init(&b);
	operator_format_peers(&b, s, n);
	CHECK_STR(buf_cstr(&b), CONFIG_TABLE);
	operator_servers_free(s, n);
	buf_free(&b);
}

static const struct {
	const char	*json;
	size_t		 n;
	uint64_t	 index;
	const char	*table;
} config_rows[] = {
	{ "{\"Servers\":[],\"Index\":1}", 0, 1,
	    "Node  ID  Address  State  Voter  RaftProtocol" },
	{ "{\"Servers\":null}", 0, 0,
	    "Node  ID  Address  State  Voter  RaftProtocol" },
	{ "{}", 0, 0, "Node  ID  Address  State  Voter  RaftProtocol" },
	{ "{\"Servers\":[{}],\"Extra\":[1,{}]}", 1, 0,
	    "Node  ID  Address  State     Voter  RaftProtocol\n"
	    "                   follower  false  <=1" },
	{ "{\"Servers\":[{\"Node\":\"n\",\"ID\":\"i\",\"Address\":\"a\","
	    "\"Voter\":true,\"ProtocolVersion\":\"2\"}],"
	    "\"Index\":18446744073709551615}", 1, UINT64_MAX,
	    "Node  ID  Address  State     Voter  RaftProtocol\n"
	    "n     i   a        follower  true   2" },
};

/* Answers that are JSON but not a configuration. */
static const char *const config_bad[] = {
	"[]",
	"null",
	"\"x\"",
	"{\"Servers\":{}}",
	"{\"Servers\":[1]}",
	"{\"Servers\":[null]}",
	"{\"Servers\":[{\"ID\":1}]}",
	"{\"Servers\":[{\"Node\":true}]}",
	"{\"Servers\":[{\"Address\":[]}]}",
	"{\"Servers\":[{\"Leader\":\"true\"}]}",
	"{\"Servers\":[{\"Voter\":1}]}",
	"{\"Servers\":[{\"ProtocolVersion\":{}}]}",
	"{\"Servers\":[{},{\"Leader\":0}]}",
	"{\"Index\":-1}",
	"{\"Index\":\"5\"}",
	"{\"Index\":1.5}",
	"{\"Index\":18446744073709551616}",
};

static void
test_config_rows(void)
{
	struct cli_raft_server *s;
	struct buf b;
	uint64_t index;
	char err[256];
	size_t i, n;

	buf_init(&b);
	for (i = 0; i < NELEM(config_rows); i++) {
		CHECK(operator_parse_config(config_rows[i].json,
		    strlen(config_rows[i].json), &s, &n, &index, err,
		    sizeof(err)) == 0);
		CHECK(n == config_rows[i].n);
		CHECK(index == config_rows[i].index);
		buf_reset(&b);
		operator_format_peers(&b, s, n);
		CHECK_STR(buf_cstr(&b), config_rows[i].table);
		operator_servers_free(s, n);
	}
	for (i = 0; i < NELEM(config_bad); i++) {
		err[0] = '\0';
		s = (void *)&b;
		CHECK(operator_parse_config(config_bad[i],
		    strlen(config_bad[i]), &s, &n, &index, err,
		    sizeof(err)) == -1);
		CHECK(s == NULL && n == 0 && index == 0);
		CHECK(STARTS(err, "unexpected response: "));
	}
	buf_free(&b);
}

/* Every good answer cut short, and with a byte added, must be refused. */
static void
test_config_mutations(void)
{
	const char *good[NELEM(config_rows) + 1];
	struct cli_raft_server *s;
	uint64_t index;
	char err[256], *m;
	size_t g, len, cut, n;

	good[0] = config_json;
	for (g = 0; g < NELEM(config_rows); g++)
		good[g + 1] = config_rows[g].json;
	for (g = 0; g < NELEM(good); g++) {
		len = strlen(good[g]);
		for (cut = 0; cut < len; cut++) {
			CHECK(operator_parse_config(good[g], cut, &s, &n,
			    &index, err, sizeof(err)) == -1);
			CHECK(s == NULL && n == 0);
		}
		if ((m = malloc(len + 2)) == NULL)
			abort();
		memcpy(m, good[g], len);
		m[len] = 'x';
		CHECK(operator_parse_config(m, len + 1, &s, &n, &index, err,
		    sizeof(err)) == -1);
		CHECK(STARTS(err, "invalid JSON in response: "));
		m[len] = '}';
		CHECK(operator_parse_config(m, len + 1, &s, &n, &index, err,
		    sizeof(err)) == -1);
		free(m);
	}
}

/* ---- operator_remove_query, operator_quote ---- */

static const struct {
	const char	*address, *id;
	int		 ret;
	const char	*out;	/* the query, or the error */
} remove_rows[] = {
	{ "10.0.0.1:8300", "", 0, "address=10.0.0.1%3A8300" },
	{ "", "8b2a-11 x&y", 0, "id=8b2a-11+x%26y" },
	{ "[::1]:8300", "", 0, "address=%5B%3A%3A1%5D%3A8300" },
	{ "", "", -1, "an address or id is required for the peer to remove" },
	{ "a", "b", -1, "cannot give both an address and id" },
};

static void
test_remove_query(void)
{
	struct buf q;
	char err[256];
	size_t i;
	int r;

	for (i = 0; i < NELEM(remove_rows); i++) {
		buf_init(&q);
		err[0] = '\0';
		r = operator_remove_query(&q, remove_rows[i].address,
		    remove_rows[i].id, err, sizeof(err));
		CHECK(r == remove_rows[i].ret);
		CHECK_STR(r == 0 ? buf_cstr(&q) : err, remove_rows[i].out);
		if (r < 0)
			CHECK(buf_used(&q) == 0);
		buf_free(&q);
	}
}

static const struct {
	const char	*in, *out;
} quote_rows[] = {
	{ "", "\"\"" },
	{ "10.0.0.1:8300", "\"10.0.0.1:8300\"" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "t\tn\nr\r", "\"t\\tn\\nr\\r\"" },
	{ "\x01\x7f", "\"\\x01\\x7f\"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
};

static void
test_quote(void)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < NELEM(quote_rows); i++) {
		buf_reset(&b);
		operator_quote(&b, quote_rows[i].in);
		CHECK_STR(buf_cstr(&b), quote_rows[i].out);
	}
	buf_free(&b);
}

/* ---- snapshot_check ---- */

/*
 * snap_make - a snapshot file as kvd lays it out: magic, u32 version 1,
 * the rest of the header and records (body), big-endian CRC
 */
static size_t
snap_make(unsigned char *out, const char *body)
{
	size_t n = 0, bl = strlen(body);

	memcpy(out, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN);
	n = SNAPSHOT_MAGIC_LEN;
	be32_put(out + n, 1);
	n += 4;
	memcpy(out + n, body, bl);
	n += bl;
	be32_put(out + n, crc32c(0, out, n));
	return n + 4;
}

/* snap_check - feed p[0..n) in pieces of at most step (0: whole) */
static int
snap_check(const unsigned char *p, size_t n, size_t step, char *err,
    size_t errlen)
{
	struct snapshot_check sc;
	size_t off, k;

	snapshot_check_init(&sc);
	if (step == 0)
		snapshot_check_update(&sc, p, n);
	for (off = 0; step != 0 && off < n; off += k) {
		k = n - off < step ? n - off : step;
		snapshot_check_update(&sc, p + off, k);
	}
	if (sc.size != n)
		return -2;
	return snapshot_check_done(&sc, err, errlen);
}

static void
test_snapshot_check(void)
{
	struct snapshot_check sc;
	unsigned char s[256], m[260];
	char err[256];
	size_t n, i, bit, split, step;

	n = snap_make(s, "\x01\x02records of the store\x00\xff");
	CHECK(snap_check(s, n, 0, err, sizeof(err)) == 0);
	for (step = 1; step <= 7; step++)
		CHECK(snap_check(s, n, step, err, sizeof(err)) == 0);
	/* Split in two at every point, including empty pieces. */
	for (split = 0; split <= n; split++) {
		snapshot_check_init(&sc);
		snapshot_check_update(&sc, s, split);
		snapshot_check_update(&sc, s + split, 0);
		snapshot_check_update(&sc, s + split, n - split);
		CHECK(snapshot_check_done(&sc, err, sizeof(err)) == 0);
	}
	/* Every truncation is refused, whole or byte by byte. */
	for (i = 0; i < n; i++) {
		err[0] = '\0';
		CHECK(snap_check(s, i, 0, err, sizeof(err)) == -1);
		CHECK(err[0] != '\0');
		CHECK(snap_check(s, i, 1, err, sizeof(err)) == -1);
	}
	CHECK(snap_check(s, 9, 0, err, sizeof(err)) == -1);
	CHECK_STR(err, "snapshot too short (9 bytes)");
	/* A byte appended moves the trailer. */
	memcpy(m, s, n);
	m[n] = 0;
	CHECK(snap_check(m, n + 1, 0, err, sizeof(err)) == -1);
	CHECK(STARTS(err, "checksum mismatch"));
	/* Every bit flipped: the magic, or the CRC, catches it. */
	for (i = 0; i < n; i++)
		for (bit = 0; bit < 8; bit++) {
			memcpy(m, s, n);
			m[i] ^= (unsigned char)(1u << bit);
			CHECK(snap_check(m, n, 3, err, sizeof(err)) == -1);
			if (i < SNAPSHOT_MAGIC_LEN)
				CHECK_STR(err, "not a cairn snapshot (no "
				    "CAIRNSNAP magic)");
			else
				CHECK(STARTS(err, "checksum mismatch"));
		}
	/* The smallest file: magic, version, CRC. */
	n = snap_make(s, "");
	CHECK(n == 17);
	CHECK(snap_check(s, n, 1, err, sizeof(err)) == 0);
	/* Magic and CRC with no room for the version is too short. */
	memcpy(m, SNAPSHOT_MAGIC, 9);
	be32_put(m + 9, crc32c(0, m, 9));
	CHECK(snap_check(m, 13, 0, err, sizeof(err)) == -1);
	CHECK_STR(err, "snapshot too short (13 bytes)");
	memcpy(m + 9, "\0\0\1", 3);
	be32_put(m + 12, crc32c(0, m, 12));
	CHECK(snap_check(m, 16, 0, err, sizeof(err)) == -1);
	CHECK_STR(err, "snapshot too short (16 bytes)");
	/* A gzip'd tar from Consul is not ours. */
	memcpy(m, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03 and more", 20);
	CHECK(snap_check(m, 20, 0, err, sizeof(err)) == -1);
	CHECK_STR(err, "not a cairn snapshot (no CAIRNSNAP magic)");
	CHECK(snap_check(m, 0, 0, err, sizeof(err)) == -1);
	CHECK_STR(err, "snapshot too short (0 bytes)");
}

static const struct {
	const char	*in;
	int		 ret;
	uint64_t	 v;
	const char	*err;
} index_rows[] = {
	{ "0", 0, 0, NULL },
	{ "42", 0, 42, NULL },
	{ "007", 0, 7, NULL },
	{ "18446744073709551615", 0, UINT64_MAX, NULL },
	{ "18446744073709551616", -1, 0, "Failed to parse X-Consul-Index: "
	    "strconv.ParseUint: parsing \"18446744073709551616\": value out "
	    "of range" },
	{ "", -1, 0, "Failed to parse X-Consul-Index: strconv.ParseUint: "
	    "parsing \"\": invalid syntax" },
	{ "-1", -1, 0, "Failed to parse X-Consul-Index: strconv.ParseUint: "
	    "parsing \"-1\": invalid syntax" },
	{ "+1", -1, 0, NULL },
	{ "1 ", -1, 0, NULL },
	{ "0x10", -1, 0, NULL },
	{ "abc", -1, 0, NULL },
};

static void
test_index_parse(void)
{
	uint64_t v;
	char err[256];
	size_t i;

	for (i = 0; i < NELEM(index_rows); i++) {
		err[0] = '\0';
		v = 99;
		CHECK(snapshot_index_parse(index_rows[i].in, &v, err,
		    sizeof(err)) == index_rows[i].ret);
		CHECK(v == index_rows[i].v);
		if (index_rows[i].err != NULL)
			CHECK_STR(err, index_rows[i].err);
		else if (index_rows[i].ret < 0)
			CHECK(strstr(err, "invalid syntax") != NULL);
	}
}

/* ---- the commands against a fake agent ---- */

/* One canned answer to one connection, and the request it got. */
struct fake {
	int		 lfd;
	char		 addr[64];	/* -http-addr=127.0.0.x:port */
	pthread_t	 thread;
	const char	*head;		/* status line and headers */
	const void	*body;
	size_t		 blen;
	struct buf	 req;		/* the request head */
	struct buf	 rbody;		/* and its body */
};

/* fake_serve - accept once, read a request, answer, close */
static void *
fake_serve(void *arg)
{
	struct fake *f = arg;
	unsigned char chunk[4096];
	struct buf hdr;
	const char *end, *cl;
	size_t want = 0, hl;
	ssize_t r;
	int fd;

	if ((fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	buf_init(&hdr);
	while ((end = strstr(buf_cstr(&f->req), "\r\n\r\n")) == NULL) {
		if ((r = read(fd, chunk, sizeof(chunk))) <= 0)
			goto out;
		buf_append(&f->req, chunk, (size_t)r);
	}
	hl = (size_t)(end - (char *)buf_head(&f->req)) + 4;
	buf_append(&f->rbody, buf_head(&f->req) + hl, buf_used(&f->req) - hl);
	f->req.len = f->req.off + hl;
	if ((cl = strcasestr(buf_cstr(&f->req), "\r\nContent-Length:")) !=
	    NULL)
		want = strtoul(cl + 17, NULL, 10);
	while (buf_used(&f->rbody) < want) {
		if ((r = read(fd, chunk, sizeof(chunk))) <= 0)
			goto out;
		buf_append(&f->rbody, chunk, (size_t)r);
	}
	buf_printf(&hdr, "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    f->head, f->blen);
	if (write(fd, buf_head(&hdr), buf_used(&hdr)) < 0 ||
	    (f->blen > 0 && write(fd, f->body, f->blen) < 0))
		goto out;
out:
	buf_free(&hdr);
	close(fd);
	return NULL;
}

/* fake_listen - a listener on 127.0.0.<50-250>, any free port */
static int
fake_listen(char *addr, size_t n)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x7f000000u | (50 + getpid() % 200));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("fake_listen");
		abort();
	}
	snprintf(addr, n, "-http-addr=127.0.0.%d:%d",
	    50 + (int)(getpid() % 200), ntohs(sin.sin_port));
	return fd;
}

/* fake_start - listen and answer the next request with head and body */
static void
fake_start(struct fake *f, const char *head, const void *body, size_t blen)
{
	memset(f, 0, sizeof(*f));
	buf_init(&f->req);
	buf_init(&f->rbody);
	f->head = head;
	f->body = body;
	f->blen = blen;
	f->lfd = fake_listen(f->addr, sizeof(f->addr));
	if (pthread_create(&f->thread, NULL, fake_serve, f) != 0)
		abort();
}

/* fake_done - wait for the answer; unblock accept if none came */
static void
fake_done(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
}

/* fake_free - the recorded request */
static void
fake_free(struct fake *f)
{
	buf_free(&f->req);
	buf_free(&f->rbody);
}

/* slurp - a file's bytes into b (NUL-terminated); -1 if it is not there */
static int
slurp(const char *path, struct buf *b)
{
	char chunk[4096];
	ssize_t r;
	int fd;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)r);
	close(fd);
	buf_cstr(b);
	return 0;
}

/*
 * run - call a command's main with stdout and stderr going to files, and
 * hand back what it printed.
 */
static int
run(int (*fn)(int, char **), char **argv, struct buf *out, struct buf *err)
{
	char po[] = "/tmp/cairn-test-outXXXXXX";
	char pe[] = "/tmp/cairn-test-errXXXXXX";
	int fo, fe, so, se, argc, rc;

	for (argc = 0; argv[argc] != NULL; argc++)
		;
	if ((fo = mkstemp(po)) < 0 || (fe = mkstemp(pe)) < 0)
		abort();
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fo, 1);
	dup2(fe, 2);
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	close(fo);
	close(fe);
	slurp(po, out);
	slurp(pe, err);
	unlink(po);
	unlink(pe);
	return rc;
}

/* req_line - the request's first line */
static char *
req_line(struct fake *f, char *line, size_t n)
{
	const char *r = buf_cstr(&f->req);

	snprintf(line, n, "%.*s", (int)strcspn(r, "\r"), r);
	return line;
}

static void
test_cmd_list_peers(void)
{
	static const char head[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nX-Consul-Index: 42\r\n";
	char *argv[] = { "operator", "raft", "list-peers", NULL, "-stale",
	    NULL };
	struct buf out, err;
	struct fake f;
	char line[256];

	buf_init(&out);
	buf_init(&err);
	fake_start(&f, head, config_json, strlen(config_json));
	argv[3] = f.addr;
	CHECK(run(operator_main, argv, &out, &err) == 0);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "GET /v1/operator/raft/configuration?stale= HTTP/1.1");
	CHECK_STR(buf_cstr(&out), CONFIG_TABLE "\n");
	CHECK_STR(buf_cstr(&err), "");
	fake_free(&f);

	/* Without -stale; a server error is Consul's message, exit 1. */
	argv[4] = NULL;
	fake_start(&f, "HTTP/1.1 500 Internal Server Error\r\n", "no leader",
	    9);
	argv[3] = f.addr;
	CHECK(run(operator_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "GET /v1/operator/raft/configuration HTTP/1.1");
	CHECK_STR(buf_cstr(&out), "");
	CHECK_STR(buf_cstr(&err), "Error getting peers: Failed to retrieve "
	    "raft configuration: Unexpected response code: 500 (no "
	    "leader)\n");
	fake_free(&f);

	/* An answer that is not a configuration. */
	fake_start(&f, "HTTP/1.1 200 OK\r\n", "[]", 2);
	argv[3] = f.addr;
	CHECK(run(operator_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(buf_cstr(&err), "Error getting peers: Failed to retrieve "
	    "raft configuration: unexpected response: not a JSON object\n");
	fake_free(&f);
	buf_free(&out);
	buf_free(&err);
}

static void
test_cmd_refused(void)
{
	char addr[64], want[512], *argv[] = { "operator", "raft",
	    "list-peers", addr, NULL };
	struct buf out, err;
	int fd;

	buf_init(&out);
	buf_init(&err);
	/* A port that was free a moment ago: nothing listens on it. */
	fd = fake_listen(addr, sizeof(addr));
	close(fd);
	CHECK(run(operator_main, argv, &out, &err) == 1);
	snprintf(want, sizeof(want), "Error getting peers: Failed to "
	    "retrieve raft configuration: Get \"http://%s/v1/operator/raft/"
	    "configuration\": dial tcp %s: connect: connection refused\n",
	    addr + 11, addr + 11);
	CHECK_STR(buf_cstr(&err), want);
	argv[0] = "snapshot";
	argv[1] = "save";
	argv[2] = addr;
	argv[3] = "/tmp/cairn-test-refused.snap";
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	snprintf(want, sizeof(want), "Error saving snapshot: Get \"http://%s"
	    "/v1/snapshot\": dial tcp %s: connect: connection refused\n",
	    addr + 11, addr + 11);
	CHECK_STR(buf_cstr(&err), want);
	CHECK(access("/tmp/cairn-test-refused.snap", F_OK) < 0);
	CHECK(access("/tmp/cairn-test-refused.snap.tmp", F_OK) < 0);
	buf_free(&out);
	buf_free(&err);
}

static void
test_cmd_remove_peer(void)
{
	char *argv[] = { "operator", "raft", "remove-peer", NULL, NULL,
	    NULL, NULL };
	struct buf out, err;
	struct fake f;
	char line[256];

	buf_init(&out);
	buf_init(&err);
	fake_start(&f, "HTTP/1.1 200 OK\r\n", "", 0);
	argv[3] = f.addr;
	argv[4] = "-address=10.0.0.2:8300";
	CHECK(run(operator_main, argv, &out, &err) == 0);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "DELETE /v1/operator/raft/peer?address=10.0.0.2%3A8300 "
	    "HTTP/1.1");
	CHECK_STR(buf_cstr(&out), "Removed peer with address "
	    "\"10.0.0.2:8300\"\n");
	fake_free(&f);

	fake_start(&f, "HTTP/1.1 200 OK\r\n", "", 0);
	argv[3] = f.addr;
	argv[4] = "-id";
	argv[5] = "8b2a-11";
	CHECK(run(operator_main, argv, &out, &err) == 0);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "DELETE /v1/operator/raft/peer?id=8b2a-11 HTTP/1.1");
	CHECK_STR(buf_cstr(&out), "Removed peer with id \"8b2a-11\"\n");
	fake_free(&f);

	fake_start(&f, "HTTP/1.1 500 Internal Server Error\r\n",
	    "address \"x\" was not found in the Raft configuration", 51);
	argv[3] = f.addr;
	argv[4] = "-id=x";
	argv[5] = NULL;
	CHECK(run(operator_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(buf_cstr(&out), "");
	CHECK_STR(buf_cstr(&err), "Error removing peer: Unexpected response "
	    "code: 500 (address \"x\" was not found in the Raft "
	    "configuration)\n");
	fake_free(&f);

	/* Neither or both flags: Consul's words, nothing sent. */
	argv[3] = "-http-addr=127.0.0.1:1";
	argv[4] = NULL;
	CHECK(run(operator_main, argv, &out, &err) == 1);
	CHECK_STR(buf_cstr(&err), "Error removing peer: an address or id is "
	    "required for the peer to remove\n");
	argv[4] = "-id=a";
	argv[5] = "-address=b";
	CHECK(run(operator_main, argv, &out, &err) == 1);
	CHECK_STR(buf_cstr(&err), "Error removing peer: cannot give both an "
	    "address and id\n");
	buf_free(&out);
	buf_free(&err);
}

static void
test_cmd_help(void)
{
	char *a1[] = { "operator", NULL }, *a2[] = { "operator", "raft",
	    NULL }, *a3[] = { "operator", "raft", "-h", NULL },
	    *a4[] = { "operator", "raft", "list-peers", "-h", NULL },
	    *a5[] = { "operator", "raft", "remove-peer", "-nope", NULL },
	    *a6[] = { "snapshot", NULL }, *a7[] = { "snapshot", "save",
	    "-help", NULL }, *a8[] = { "snapshot", "save", NULL },
	    *a9[] = { "snapshot", "restore", "a", "b", NULL },
	    *a10[] = { "operator", "bogus", NULL };
	struct buf out, err;

	buf_init(&out);
	buf_init(&err);
	CHECK(run(operator_main, a1, &out, &err) == 1);
	CHECK(STARTS(buf_cstr(&err), "Usage: cairn operator <subcommand>"));
	CHECK(strstr(buf_cstr(&err), "\nSubcommands:\n    raft    ") != NULL);
	CHECK(run(operator_main, a10, &out, &err) == 1);
	CHECK(STARTS(buf_cstr(&err), "Usage: cairn operator <"));
	CHECK(run(operator_main, a2, &out, &err) == 1);
	CHECK(strstr(buf_cstr(&err), "Subcommands:\n"
	    "    list-peers     Display the current Raft peer configuration\n"
	    "    remove-peer    Remove a cairn server from the Raft "
	    "configuration\n") != NULL);
	CHECK(run(operator_main, a3, &out, &err) == 0);
	CHECK(STARTS(buf_cstr(&out), "Usage: cairn operator raft "));
	CHECK(run(operator_main, a4, &out, &err) == 0);
	CHECK(STARTS(buf_cstr(&out), "Usage: cairn operator raft list-peers "
	    "[options]\n\n  Displays"));
	CHECK(strstr(buf_cstr(&out), "\n  -stale\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\n  -http-addr=<address>\n") != NULL);
	CHECK(run(operator_main, a5, &out, &err) == 1);
	CHECK(STARTS(buf_cstr(&err), "flag provided but not defined: -nope\n"
	    "Usage: cairn operator raft remove-peer"));
	CHECK(strstr(buf_cstr(&err), "\n  -address=<string>\n") != NULL);
	CHECK(strstr(buf_cstr(&err), "Failed to parse args: flag provided but "
	    "not defined: -nope\n") != NULL);
	CHECK(run(snapshot_main, a6, &out, &err) == 1);
	CHECK(strstr(buf_cstr(&err), "Subcommands:\n    restore    ") !=
	    NULL);
	CHECK(run(snapshot_main, a7, &out, &err) == 0);
	CHECK(STARTS(buf_cstr(&out), "Usage: cairn snapshot save [options] "
	    "FILE\n"));
	CHECK(strstr(buf_cstr(&out), "\n  -stale\n") != NULL);
	CHECK(run(snapshot_main, a8, &out, &err) == 1);
	CHECK_STR(buf_cstr(&err), "Missing FILE argument\n");
	CHECK(run(snapshot_main, a9, &out, &err) == 1);
	CHECK_STR(buf_cstr(&err), "Too many arguments (expected 1, got 2)\n");
	buf_free(&out);
	buf_free(&err);
}

static void
test_cmd_snapshot_save(void)
{
	char path[] = "/tmp/cairn-test-snapXXXXXX", file[64], tmp[80],
	    line[256], *argv[] = { "snapshot", "save", NULL, "-stale", file,
	    NULL };
	unsigned char snap[256], bad[256];
	struct buf out, err, got;
	struct fake f;
	size_t n;

	buf_init(&out);
	buf_init(&err);
	buf_init(&got);
	if (mkdtemp(path) == NULL)
		abort();
	snprintf(file, sizeof(file), "%s/backup.snap", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	n = snap_make(snap, "kv\x00records\xff");
	fake_start(&f, "HTTP/1.1 200 OK\r\nX-Consul-Index: 1234\r\n"
	    "Content-Type: application/octet-stream\r\n", snap, n);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 0);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "GET /v1/snapshot?stale= HTTP/1.1");
	CHECK_STR(buf_cstr(&out), "Saved and verified snapshot to index "
	    "1234\n");
	CHECK_STR(buf_cstr(&err), "");
	CHECK(slurp(file, &got) == 0);
	CHECK(buf_used(&got) == n && memcmp(buf_head(&got), snap, n) == 0);
	CHECK(access(tmp, F_OK) < 0);
	fake_free(&f);

	/* A corrupt body: refused, the old file kept, no .tmp left. */
	memcpy(bad, snap, n);
	bad[15] ^= 0x40;
	argv[3] = file;
	argv[4] = NULL;
	fake_start(&f, "HTTP/1.1 200 OK\r\nX-Consul-Index: 1235\r\n", bad, n);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "GET /v1/snapshot HTTP/1.1");
	CHECK_STR(buf_cstr(&out), "");
	CHECK(STARTS(buf_cstr(&err), "Error verifying snapshot file: "
	    "checksum mismatch"));
	CHECK(slurp(file, &got) == 0);
	CHECK(buf_used(&got) == n && memcmp(buf_head(&got), snap, n) == 0);
	CHECK(access(tmp, F_OK) < 0);
	fake_free(&f);

	/* An error answer, and a bad index. */
	fake_start(&f, "HTTP/1.1 403 Forbidden\r\n", "Permission denied", 17);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(buf_cstr(&err), "Error saving snapshot: Unexpected "
	    "response code: 403 (Permission denied)\n");
	CHECK(access(tmp, F_OK) < 0);
	fake_free(&f);
	fake_start(&f, "HTTP/1.1 200 OK\r\nX-Consul-Index: x1\r\n", snap, n);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(buf_cstr(&err), "Error saving snapshot: Failed to parse "
	    "X-Consul-Index: strconv.ParseUint: parsing \"x1\": invalid "
	    "syntax\n");
	CHECK(access(tmp, F_OK) < 0);
	fake_free(&f);

	/* A directory that does not exist: nothing is asked for. */
	argv[2] = "-http-addr=127.0.0.1:1";
	argv[3] = "/nonexistent-cairn-dir/x.snap";
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	CHECK_STR(buf_cstr(&err), "Error writing unverified snapshot file: "
	    "open /nonexistent-cairn-dir/x.snap.tmp: No such file or "
	    "directory\n");
	unlink(file);
	rmdir(path);
	buf_free(&out);
	buf_free(&err);
	buf_free(&got);
}

static void
test_cmd_snapshot_restore(void)
{
	char path[] = "/tmp/cairn-test-restXXXXXX", line[256],
	    *argv[] = { "snapshot", "restore", NULL, path, NULL };
	unsigned char snap[256];
	struct buf out, err;
	struct fake f;
	size_t n;
	int fd;

	buf_init(&out);
	buf_init(&err);
	n = snap_make(snap, "restore me\x00\x01");
	if ((fd = mkstemp(path)) < 0 || write(fd, snap, n) != (ssize_t)n)
		abort();
	close(fd);
	fake_start(&f, "HTTP/1.1 200 OK\r\n", "", 0);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 0);
	fake_done(&f);
	CHECK_STR(req_line(&f, line, sizeof(line)),
	    "PUT /v1/snapshot HTTP/1.1");
	CHECK(buf_used(&f.rbody) == n &&
	    memcmp(buf_head(&f.rbody), snap, n) == 0);
	CHECK_STR(buf_cstr(&out), "Restored snapshot\n");
	fake_free(&f);

	fake_start(&f, "HTTP/1.1 500 Internal Server Error\r\n",
	    "snapshot checksum mismatch", 26);
	argv[2] = f.addr;
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	fake_done(&f);
	CHECK_STR(buf_cstr(&err), "Error restoring snapshot: Unexpected "
	    "response code: 500 (snapshot checksum mismatch)\n");
	fake_free(&f);

	unlink(path);
	CHECK(run(snapshot_main, argv, &out, &err) == 1);
	CHECK(STARTS(buf_cstr(&err), "Error opening snapshot file: open "));
	CHECK(strstr(buf_cstr(&err), ": No such file or directory\n") !=
	    NULL);
	buf_free(&out);
	buf_free(&err);
}

int
main(void)
{
	RUN(test_config_parse);
	RUN(test_config_rows);
	RUN(test_config_mutations);
	RUN(test_remove_query);
	RUN(test_quote);
	RUN(test_snapshot_check);
	RUN(test_index_parse);
	RUN(test_cmd_list_peers);
	RUN(test_cmd_refused);
	RUN(test_cmd_remove_peer);
	RUN(test_cmd_help);
	RUN(test_cmd_snapshot_save);
	RUN(test_cmd_snapshot_restore);
	return TEST_DONE();
}
