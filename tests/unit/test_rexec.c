/*
 * test_rexec.c - remote exec's pure parts, both sides: the CLI's job
 * spec and event payload (cli/exec.c) as the agent decodes them
 * (checkd/rexec.c), Go's path.Join (common/gopath.c), the key kinds and
 * exit codes the CLI reads, its TargetedUI lines, and the agent's 4 KiB
 * output chunks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "checkd.h"
#include "cli.h"
#include "gopath.h"
#include "test.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* join - gopath_join of elems, as a string to free */
static char *
join(const char *const *elems, size_t n)
{
	struct buf b;
	char *s;

	buf_init(&b);
	gopath_join(&b, elems, n);
	s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static void
test_path_join(void)
{
	static const struct {
		const char	*e[3];
		const char	*want;
	} tab[] = {
		{ { "_rexec", "3f2a", "job" }, "_rexec/3f2a/job" },
		{ { "_rexec/", "3f2a", "n1" }, "_rexec/3f2a/n1" },
		{ { "/a//b/", "c", NULL }, "/a/b/c" },
		{ { "a/../b", "c", NULL }, "b/c" },
		{ { "..", "a", NULL }, "../a" },
		{ { "a", "", "b" }, "a/b" },
		{ { "./a/./b/.", NULL, NULL }, "a/b" },
		{ { "/../a", NULL, NULL }, "/a" },
		{ { "a/b/../../..", NULL, NULL }, ".." },
		{ { "a/b/../..", NULL, NULL }, "." },
		{ { "../../x/..", NULL, NULL }, "../.." },
		{ { "/", NULL, NULL }, "/" },
		{ { "/", "..", "x" }, "/x" },
		{ { "", "", "" }, "" },
		{ { "x.y", "..z", "out/00000" }, "x.y/..z/out/00000" },
	};
	size_t i;
	char *s;

	for (i = 0; i < NELEM(tab); i++) {
		s = join(tab[i].e, 3);
		CHECK_STR(s, tab[i].want);
		free(s);
	}
}

/* spec_text - exec_spec_encode's output */
static char *
spec_text(const char *cmd, char *const *args, size_t nargs,
    const char *script, int64_t wait)
{
	struct buf b;
	char *s;

	buf_init(&b);
	exec_spec_encode(&b, cmd, args, nargs, script,
	    script ? strlen(script) : 0, wait);
	s = strdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

static void
test_spec_encode(void)
{
	char *args[] = { "/bin/echo", "a b", NULL };
	char *s;

	s = spec_text("echo hi", NULL, 0, NULL, 2000000000);
	CHECK_STR(s, "{\"Command\":\"echo hi\",\"Wait\":2000000000}");
	free(s);
	s = spec_text("", args, 2, NULL, 1);
	CHECK_STR(s, "{\"Args\":[\"/bin/echo\",\"a b\"],\"Wait\":1}");
	free(s);
	s = spec_text(NULL, NULL, 0, "echo hi\n", 5);
	CHECK_STR(s, "{\"Script\":\"ZWNobyBoaQo=\",\"Wait\":5}");
	free(s);
	s = spec_text("printf '%s\\n' \"q\"\t", NULL, 0, NULL, 0);
	CHECK_STR(s, "{\"Command\":\"printf '%s\\\\n' \\\"q\\\"\\t\","
	    "\"Wait\":0}");
	free(s);
}

/* What a spec decodes to. */
struct want_spec {
	const char	*text;
	const char	*command;
	const char	*args[3];
	const char	*script;
	int64_t		 wait;
};

static void
check_spec(const struct rexec_spec *s, const struct want_spec *w)
{
	size_t i, n = 0;

	CHECK_STR(s->command, w->command);
	while (n < 3 && w->args[n] != NULL)
		n++;
	CHECK(s->nargs == n);
	for (i = 0; i < n && i < s->nargs; i++)
		CHECK_STR(s->args[i], w->args[i]);
	if (n > 0)
		CHECK(s->args[s->nargs] == NULL);
	CHECK(s->slen == strlen(w->script));
	CHECK(s->slen == 0 || memcmp(s->script, w->script, s->slen) == 0);
	CHECK(s->wait == w->wait);
}

static void
test_spec_decode(void)
{
	static const struct want_spec good[] = {
		{ "{\"Command\":\"echo hi\",\"Wait\":2000000000}", "echo hi",
		    { NULL }, "", 2000000000 },
		/* Consul before omitempty: "Script":null */
		{ "{\"Command\":\"uptime\",\"Script\":null,\"Wait\":1000}",
		    "uptime", { NULL }, "", 1000 },
		{ "{\"Args\":[\"/bin/echo\",\"a b\"],\"Wait\":1}", "",
		    { "/bin/echo", "a b" }, "", 1 },
		{ "{\"Script\":\"ZWNobyBoaQo=\",\"Wait\":5}", "", { NULL },
		    "echo hi\n", 5 },
		/* json.Unmarshal matches names without regard to case */
		{ "{\"command\":\"x\",\"WAIT\":7,\"Other\":[1,{}]}", "x",
		    { NULL }, "", 7 },
		{ "{\"Args\":null,\"Wait\":null,\"Command\":null}", "",
		    { NULL }, "", 0 },
		{ "{}", "", { NULL }, "", 0 },
	};
	static const struct {
		const char	*text;
		const char	*err;	/* a part of it */
	} bad[] = {
		{ "[]", "cannot unmarshal array into Go value" },
		{ "{\"Command\":1}", "remoteExecSpec.Command of type string" },
		{ "{\"Args\":\"x\"}", "Args of type []string" },
		{ "{\"Args\":[\"a\",2]}", "cannot unmarshal number" },
		{ "{\"Script\":\"!!\"}", "illegal base64" },
		{ "{\"Script\":3}", "Script of type []uint8" },
		{ "{\"Wait\":1.5}", "Wait of type time.Duration" },
		{ "{\"Wait\":\"2s\"}", "cannot unmarshal string" },
		{ "", "" },
	};
	struct rexec_spec s;
	char err[256], text[256];
	size_t i, n;

	for (i = 0; i < NELEM(good); i++) {
		err[0] = '\0';
		CHECK(rexec_spec_decode(good[i].text, strlen(good[i].text), &s,
		    err, sizeof(err)) == 0);
		check_spec(&s, &good[i]);
		rexec_spec_free(&s);
		/* Mutated: cut the last byte, add one, break a quote. */
		n = strlen(good[i].text);
		CHECK(rexec_spec_decode(good[i].text, n - 1, &s, err,
		    sizeof(err)) < 0);
		snprintf(text, sizeof(text), "%sx", good[i].text);
		CHECK(rexec_spec_decode(text, n + 1, &s, err,
		    sizeof(err)) < 0);
		snprintf(text, sizeof(text), "%s", good[i].text);
		if (strchr(text, '"') != NULL) {
			*strchr(text, '"') = '\'';
			CHECK(rexec_spec_decode(text, n, &s, err,
			    sizeof(err)) < 0);
		}
	}
	for (i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		CHECK(rexec_spec_decode(bad[i].text, strlen(bad[i].text), &s,
		    err, sizeof(err)) < 0);
		if (strstr(err, bad[i].err) == NULL)
			fprintf(stderr, "bad[%zu]: %s\n", i, err);
		CHECK(strstr(err, bad[i].err) != NULL);
		CHECK(s.command == NULL && s.args == NULL && s.nargs == 0 &&
		    s.script == NULL);
	}
}

/* test_spec_round_trip - what the CLI writes, the agent reads */
static void
test_spec_round_trip(void)
{
	char *args[] = { "sh", "-c", "echo \"$1\" \\ \xc3\xa9", NULL };
	const char script[] = "#!/bin/sh\necho \x01\x02\xff\n";
	struct rexec_spec s;
	struct buf b;
	char err[256];

	buf_init(&b);
	exec_spec_encode(&b, "", args, 3, script, sizeof(script) - 1,
	    9223372036854775807LL);
	CHECK(rexec_spec_decode(buf_head(&b), buf_used(&b), &s, err,
	    sizeof(err)) == 0);
	CHECK_STR(s.command, "");
	CHECK(s.nargs == 3);
	if (s.nargs == 3) {
		CHECK_STR(s.args[0], "sh");
		CHECK_STR(s.args[2], "echo \"$1\" \\ \xc3\xa9");
	}
	CHECK(s.slen == sizeof(script) - 1 &&
	    memcmp(s.script, script, s.slen) == 0);
	CHECK(s.wait == 9223372036854775807LL);
	rexec_spec_free(&s);
	CHECK(s.args == NULL && s.script == NULL && s.command == NULL);
	buf_free(&b);
}

static void
test_event_payload(void)
{
	static const struct {
		const char	*text;
		const char	*prefix;	/* NULL: an error */
		const char	*session;
	} tab[] = {
		{ "{\"Prefix\":\"_rexec\",\"Session\":\"a-b\"}", "_rexec",
		    "a-b" },
		{ "{\"session\":\"s\",\"prefix\":null}", "", "s" },
		{ "{\"Prefix\":\"p\"}", NULL, NULL },
		{ "{\"Prefix\":\"p\",\"Session\":\"\"}", NULL, NULL },
		{ "{\"Prefix\":1,\"Session\":\"s\"}", NULL, NULL },
		{ "\"x\"", NULL, NULL },
		{ "{\"Prefix\":\"p\",\"Session\":\"s\"", NULL, NULL },
	};
	char *prefix, *session, err[256];
	struct buf b;
	size_t i;

	for (i = 0; i < NELEM(tab); i++) {
		if (tab[i].prefix == NULL) {
			CHECK(rexec_event_decode(tab[i].text,
			    strlen(tab[i].text), &prefix, &session, err,
			    sizeof(err)) < 0);
			CHECK(prefix == NULL && session == NULL);
			continue;
		}
		CHECK(rexec_event_decode(tab[i].text, strlen(tab[i].text),
		    &prefix, &session, err, sizeof(err)) == 0);
		CHECK_STR(prefix, tab[i].prefix);
		CHECK_STR(session, tab[i].session);
		free(prefix);
		free(session);
		/* cut short, it no longer parses */
		CHECK(rexec_event_decode(tab[i].text, strlen(tab[i].text) - 1,
		    &prefix, &session, err, sizeof(err)) < 0);
	}
	buf_init(&b);
	exec_event_encode(&b, "_rexec", "6a2f-\"x\"");
	CHECK_STR(buf_cstr(&b), "{\"Prefix\":\"_rexec\",\"Session\":"
	    "\"6a2f-\\\"x\\\"\"}");
	CHECK(rexec_event_decode(buf_head(&b), buf_used(&b), &prefix,
	    &session, err, sizeof(err)) == 0);
	CHECK_STR(prefix, "_rexec");
	CHECK_STR(session, "6a2f-\"x\"");
	free(prefix);
	free(session);
	buf_free(&b);
}

static void
test_prefix_lines(void)
{
	static const struct {
		const char	*target;
		int		 arrow;
		const char	*msg;
		const char	*want;
	} tab[] = {
		{ "n1", 0, "hi\n", "    n1: hi\n    n1:" },
		{ "n1", 0, "hi\nthere\n",
		    "    n1: hi\n    n1: there\n    n1:" },
		{ "n1", 1, "finished with exit code 0",
		    "==> n1: finished with exit code 0" },
		{ "web-1", 0, "a\r\n", "    web-1: a\r\n    web-1:" },
		{ "n", 0, "x  \t", "    n: x" },
		{ "n", 0, "", "    n:" },
		{ "n", 0, "\n\n", "    n: \n    n: \n    n:" },
		{ "n", 0, "a\xc2\xa0", "    n: a" },
		{ "n", 0, "a\xe2\x80\x83\xe3\x80\x80", "    n: a" },
		/* not a space: U+00A1, and a lone continuation byte */
		{ "n", 0, "a\xc2\xa1", "    n: a\xc2\xa1" },
		{ "n", 0, "a\xa0", "    n: a\xa0" },
	};
	struct buf b;
	size_t i;

	for (i = 0; i < NELEM(tab); i++) {
		buf_init(&b);
		buf_puts(&b, "keep ");
		exec_prefix_lines(&b, tab[i].target, tab[i].arrow, tab[i].msg,
		    strlen(tab[i].msg));
		CHECK(strncmp(buf_cstr(&b), "keep ", 5) == 0);
		CHECK_STR(buf_cstr(&b) + 5, tab[i].want);
		buf_free(&b);
	}
	/* what was in the buffer is never trimmed */
	buf_init(&b);
	buf_puts(&b, "  ");
	exec_prefix_lines(&b, "n", 0, "\n", 1);
	CHECK_STR(buf_cstr(&b), "      n: \n    n:");
	buf_free(&b);
}

static void
test_key_kind(void)
{
	static const struct {
		const char	*key;
		int		 kind;
		size_t		 nodelen;
	} tab[] = {
		{ "job", EXEC_KEY_JOB, 0 },
		{ "n1/ack", EXEC_KEY_ACK, 2 },
		{ "n1/exit", EXEC_KEY_EXIT, 2 },
		{ "n1/out/00000", EXEC_KEY_OUT, 2 },
		{ "node.example/out/0001a", EXEC_KEY_OUT, 12 },
		{ "a/out/b/out/00001", EXEC_KEY_OUT, 7 },
		{ "n/out/", EXEC_KEY_OUT, 1 },
		{ "/ack", EXEC_KEY_ACK, 0 },
		{ "n/out/ack", EXEC_KEY_ACK, 5 },
		{ "ack", EXEC_KEY_UNKNOWN, 0 },
		{ "n1/other", EXEC_KEY_UNKNOWN, 0 },
		{ "n1/job", EXEC_KEY_UNKNOWN, 0 },
		{ "n1/outx/1", EXEC_KEY_UNKNOWN, 0 },
		{ "", EXEC_KEY_UNKNOWN, 0 },
	};
	size_t i, nodelen;

	for (i = 0; i < NELEM(tab); i++) {
		nodelen = 99;
		CHECK(exec_key_kind(tab[i].key, &nodelen) == tab[i].kind);
		CHECK(nodelen == tab[i].nodelen);
	}
}

static void
test_parse_exit(void)
{
	static const struct {
		const char	*s;
		int		 code;
		const char	*err;	/* NULL: good */
	} tab[] = {
		{ "0", 0, NULL },
		{ "255", 255, NULL },
		{ "-1", -1, NULL },
		{ "+7", 7, NULL },
		{ "007", 7, NULL },
		{ "2147483647", 2147483647, NULL },
		{ "-2147483648", -2147483647 - 1, NULL },
		{ "", 0, "strconv.ParseInt: parsing \"\": invalid syntax" },
		{ "-", 0, "strconv.ParseInt: parsing \"-\": invalid syntax" },
		{ "1.5", 0, "strconv.ParseInt: parsing \"1.5\": invalid "
		    "syntax" },
		{ " 1", 0, "strconv.ParseInt: parsing \" 1\": invalid syntax" },
		{ "1\n", 0, "strconv.ParseInt: parsing \"1\n\": invalid "
		    "syntax" },
		{ "2147483648", 0, "strconv.ParseInt: parsing \"2147483648\": "
		    "value out of range" },
		{ "-2147483649", 0, "strconv.ParseInt: parsing "
		    "\"-2147483649\": value out of range" },
		{ "99999999999999999999999", 0, "strconv.ParseInt: parsing "
		    "\"99999999999999999999999\": value out of range" },
	};
	char err[256];
	size_t i;
	int code;

	for (i = 0; i < NELEM(tab); i++) {
		code = 12345;
		err[0] = '\0';
		if (tab[i].err == NULL) {
			CHECK(exec_parse_exit(tab[i].s, strlen(tab[i].s),
			    &code, err, sizeof(err)) == 0);
			CHECK(code == tab[i].code);
		} else {
			CHECK(exec_parse_exit(tab[i].s, strlen(tab[i].s),
			    &code, err, sizeof(err)) < 0);
			CHECK_STR(err, tab[i].err);
			CHECK(code == 12345);
		}
	}
	/* the length counts, not a NUL */
	CHECK(exec_parse_exit("12x", 2, &code, err, sizeof(err)) == 0 &&
	    code == 12);
}

/* Chunks as the agent would write them, one after another. */
struct sink {
	struct buf	 all;
	size_t		 lens[16];
	size_t		 n;
};

static void
sink_emit(void *arg, const void *chunk, size_t len)
{
	struct sink *s = arg;

	buf_append(&s->all, chunk, len);
	if (s->n < NELEM(s->lens))
		s->lens[s->n] = len;
	s->n++;
}

static void
test_chunks(void)
{
	static const struct {
		size_t	 feed;		/* bytes fed */
		size_t	 emitted;	/* full chunks it gives */
		size_t	 pending;	/* left after it */
	} tab[] = {
		{ 10, 0, 10 },
		{ 4086, 1, 0 },
		{ 4096, 1, 0 },
		{ 10000, 2, 10000 - 2 * REXEC_CHUNK },
		{ 0, 0, 10000 - 2 * REXEC_CHUNK },
		{ 2 * REXEC_CHUNK - 1 - (10000 - 2 * REXEC_CHUNK), 1,
		    REXEC_CHUNK - 1 },
		{ 1, 1, 0 },
	};
	unsigned char data[3 * REXEC_CHUNK];
	struct buf pending, in;
	struct sink s;
	size_t i, j, before;

	memset(&s, 0, sizeof(s));
	buf_init(&s.all);
	buf_init(&pending);
	buf_init(&in);
	for (i = 0; i < NELEM(tab); i++) {
		for (j = 0; j < tab[i].feed; j++)
			data[j] = (unsigned char)(buf_used(&in) + j) * 7 + 3;
		buf_append(&in, data, tab[i].feed);
		before = s.n;
		CHECK(rexec_chunk_feed(&pending, data, tab[i].feed, sink_emit,
		    &s) == tab[i].emitted);
		CHECK(s.n - before == tab[i].emitted);
		CHECK(buf_used(&pending) == tab[i].pending);
	}
	/* every chunk is full, and chunks then pending are the input */
	for (i = 0; i < s.n && i < NELEM(s.lens); i++)
		CHECK(s.lens[i] == REXEC_CHUNK);
	CHECK(s.n == 6);
	buf_append(&s.all, buf_head(&pending), buf_used(&pending));
	CHECK(buf_used(&s.all) == buf_used(&in));
	CHECK(memcmp(buf_head(&s.all), buf_head(&in), buf_used(&in)) == 0);
	buf_free(&s.all);
	buf_free(&pending);
	buf_free(&in);
}

static void
test_exit_code(void)
{
	static const struct {
		int	 wstatus;
		int	 code;
	} tab[] = {
		{ 0, 0 },
		{ 3 << 8, 3 },
		{ 255 << 8, 255 },
		{ SIGKILL, -1 },		/* killed: Go's ExitStatus */
		{ SIGSEGV | 0x80, -1 },		/* with a core */
	};
	size_t i;

	for (i = 0; i < NELEM(tab); i++)
		CHECK(rexec_exit_code(tab[i].wstatus) == tab[i].code);
}

int
main(void)
{
	RUN(test_path_join);
	RUN(test_spec_encode);
	RUN(test_spec_decode);
	RUN(test_spec_round_trip);
	RUN(test_event_payload);
	RUN(test_prefix_lines);
	RUN(test_key_kind);
	RUN(test_parse_exit);
	RUN(test_chunks);
	RUN(test_exit_code);
	return TEST_DONE();
}
