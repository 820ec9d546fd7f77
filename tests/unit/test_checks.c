/*
 * test_checks.c - checkd's definitions (checks.c): Consul's default IDs,
 * names and statuses, check types, HTTP and TCP fields, validation errors
 * with their file, position and key, the script-check gate, duplicate
 * IDs, equality and copies, output truncation, the catalog records, and
 * the TTL state file (state.c) with its mutations. Then single HTTP and
 * TCP runs (check_http.c, check_tcp.c) on the default loop against
 * forked one-shot servers on 127.0.0.1: statuses, Consul's output and
 * error words, the request sent, the 4 KiB body tail, timeouts.
 * Timing is never asserted beyond "it finished".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "checkd.h"
#include "checks.h"
#include "config.h"
#include "frame.h"
#include "msg.h"
#include "test.h"

static char err[1024];

/* load - defs from one JSON text named name; returns checks_load's rc */
static int
load(struct checks_defs *d, const char *name, const char *text)
{
	struct config c;
	int rc;

	config_defaults(&c, 0);
	err[0] = '\0';
	if (config_load_text(&c, text, strlen(text), name, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "config: %s\n", err);
		config_free(&c);
		memset(d, 0, sizeof(*d));
		return -2;
	}
	rc = checks_load(d, &c, err, sizeof(err));
	config_free(&c);
	return rc;
}

static void
test_service_defaults(void)
{
	struct checks_defs d;
	const struct check_def *c;

	CHECK(load(&d, "web.json",
	    "{\"enable_local_script_checks\": true,\n"
	    " \"service\": {\"name\": \"web\", \"port\": 80,\n"
	    "  \"tags\": [\"a\", \"b\"], \"meta\": {\"v\": \"1\"},\n"
	    "  \"check\": {\"args\": [\"true\"], \"interval\": \"10s\"}}}")
	    == 0);
	CHECK(d.nsvcs == 1 && d.nchecks == 1);
	if (d.nsvcs != 1 || d.nchecks != 1)
		goto out;
	CHECK_STR(d.svcs[0].id, "web");
	CHECK_STR(d.svcs[0].name, "web");
	CHECK_STR(d.svcs[0].address, "");
	CHECK(d.svcs[0].port == 80);
	CHECK(d.svcs[0].ntags == 2);
	CHECK_STR(d.svcs[0].tags[1], "b");
	CHECK(d.svcs[0].nmeta == 1);
	CHECK_STR(d.svcs[0].meta_keys[0], "v");
	CHECK_STR(d.svcs[0].meta_values[0], "1");
	CHECK(d.svcs[0].weight_passing == 1 && d.svcs[0].weight_warning == 1);
	c = &d.checks[0];
	CHECK_STR(c->id, "service:web");
	CHECK_STR(c->name, "Service 'web' check");
	CHECK_STR(c->service_id, "web");
	CHECK_STR(c->service_name, "web");
	CHECK_STR(c->notes, "");
	CHECK(c->status == CHECKS_CRITICAL);
	CHECK(c->kind == CHECKS_SCRIPT);
	CHECK_STR(c->type, "script");
	CHECK(c->nargs == 1 && c->args[1] == NULL);
	CHECK_STR(c->args[0], "true");
	CHECK(c->interval == 10 * DUR_S && c->ttl == 0 && c->timeout == 0);
	CHECK_STR(c->where, "web.json:4:12");
out:
	checks_free(&d);
}

static void
test_service_several_checks(void)
{
	struct checks_defs d;

	/* "check" comes first, then "checks"; numbering is 1-based. */
	CHECK(load(&d, "s.json",
	    "{\"services\": [{\"ID\": \"web-1\", \"Name\": \"web\",\n"
	    "  \"checks\": [{\"ttl\": \"30s\"},\n"
	    "   {\"ttl\": \"1m\", \"CheckID\": \"own\", \"Name\": \"Mine\","
	    " \"status\": \"passing\", \"notes\": \"n\"}],\n"
	    "  \"Check\": {\"TTL\": \"5s\"}}]}") == 0);
	CHECK(d.nsvcs == 1 && d.nchecks == 3);
	if (d.nchecks != 3)
		goto out;
	CHECK_STR(d.svcs[0].id, "web-1");
	CHECK_STR(d.checks[0].id, "service:web-1:1");
	CHECK(d.checks[0].ttl == 5 * DUR_S);
	CHECK_STR(d.checks[1].id, "service:web-1:2");
	CHECK(d.checks[1].ttl == 30 * DUR_S);
	CHECK_STR(d.checks[1].name, "Service 'web' check");
	CHECK_STR(d.checks[2].id, "own");
	CHECK_STR(d.checks[2].name, "Mine");
	CHECK_STR(d.checks[2].notes, "n");
	CHECK(d.checks[2].status == CHECKS_PASSING);
	CHECK(d.checks[2].kind == CHECKS_TTL);
	CHECK_STR(d.checks[2].type, "ttl");
	CHECK_STR(d.checks[2].service_id, "web-1");
	CHECK_STR(d.checks[2].service_name, "web");
out:
	checks_free(&d);
}

static void
test_standalone_checks(void)
{
	struct checks_defs d;
	const struct check_def *c;

	CHECK(load(&d, "c.json",
	    "{\"enable_script_checks\": true,\n"
	    " \"services\": [{\"name\": \"db\", \"id\": \"db1\"}],\n"
	    " \"checks\": [{\"name\": \"mem\", \"script\": \"exit 0\","
	    " \"interval\": \"100ms\", \"timeout\": \"2s\"},\n"
	    "  {\"id\": \"ttl1\", \"ttl\": \"15s\", \"service_id\": \"db1\","
	    " \"status\": \"warning\"},\n"
	    "  {\"name\": \"h\", \"http\": \"http://x/\", \"interval\": "
	    "\"5s\"},\n"
	    "  {\"name\": \"t\", \"tcp\": \"x:1\", \"interval\": \"5s\"},\n"
	    "  {\"name\": \"g\", \"grpc\": \"x:1\", \"interval\": \"5s\"},\n"
	    "  {\"name\": \"a\", \"alias_service\": \"db1\"}]}") == 0);
	CHECK(d.nchecks == 6);
	if (d.nchecks != 6)
		goto out;
	c = checks_find_check(&d, "mem");
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->name, "mem");
		CHECK_STR(c->service_id, "");
		CHECK_STR(c->service_name, "");
		CHECK(c->kind == CHECKS_SCRIPT && c->args == NULL);
		CHECK_STR(c->script, "exit 0");
		/* Raised to Consul's minimum. */
		CHECK(c->interval == CHECKS_MIN_INTERVAL);
		CHECK(c->timeout == 2 * DUR_S);
	}
	c = checks_find_check(&d, "ttl1");
	CHECK(c != NULL);
	if (c != NULL) {
		CHECK_STR(c->name, "ttl1");
		CHECK_STR(c->service_id, "db1");
		CHECK_STR(c->service_name, "db");
		CHECK(c->status == CHECKS_WARNING);
	}
	c = checks_find_check(&d, "h");
	CHECK(c != NULL && c->kind == CHECKS_HTTP &&
	    strcmp(c->type, "http") == 0);
	c = checks_find_check(&d, "t");
	CHECK(c != NULL && c->kind == CHECKS_TCP &&
	    strcmp(c->type, "tcp") == 0);
	c = checks_find_check(&d, "g");
	CHECK(c != NULL && c->kind == CHECKS_UNIMPL &&
	    strcmp(c->type, "grpc") == 0);
	c = checks_find_check(&d, "a");
	CHECK(c != NULL && c->kind == CHECKS_UNIMPL &&
	    strcmp(c->type, "alias") == 0 && c->interval == 0);
	CHECK(checks_find_check(&d, "nope") == NULL);
	CHECK(checks_find_svc(&d, "db1") != NULL);
	CHECK(checks_find_svc(&d, "db") == NULL);
out:
	checks_free(&d);
}

static void
test_http_tcp_defs(void)
{
	struct checks_defs d;
	struct check_def copy;
	const struct check_def *c;

	CHECK(load(&d, "h.json",
	    "{\"services\": [{\"name\": \"web\", \"checks\": [\n"
	    "  {\"HTTP\": \"https://10.0.0.1:8443/health\", \"Interval\": "
	    "\"5s\",\n"
	    "   \"Method\": \"POST\", \"Body\": \"{\\\"a\\\": 1}\",\n"
	    "   \"Header\": {\"X-A\": [\"1\", \"2\"], \"X-Empty\": [],\n"
	    "     \"Host\": [\"example.com\"]},\n"
	    "   \"TLSSkipVerify\": true, \"disable_redirects\": true,\n"
	    "   \"Timeout\": \"2500ms\"},\n"
	    "  {\"tcp\": \"[::1]:5432\", \"interval\": \"10s\"},\n"
	    "  {\"http\": \"http://a/\", \"interval\": \"1m\",\n"
	    "   \"method\": \"\", \"body\": \"\", \"tls_skip_verify\": false}"
	    "]}],\n"
	    " \"checks\": [{\"name\": \"ttl-hdr\", \"ttl\": \"5s\",\n"
	    "  \"header\": {\"X\": [\"y\"]}, \"tcp\": \"\"}]}") == 0);
	CHECK(d.nchecks == 4);
	if (d.nchecks != 4)
		goto out;
	c = &d.checks[0];
	CHECK_STR(c->id, "service:web:1");
	CHECK(c->kind == CHECKS_HTTP);
	CHECK_STR(c->type, "http");
	CHECK_STR(c->http, "https://10.0.0.1:8443/health");
	CHECK_STR(c->method, "POST");
	CHECK_STR(c->body, "{\"a\": 1}");
	CHECK(c->interval == 5 * DUR_S && c->timeout == 2500 * DUR_MS);
	CHECK(c->tls_skip_verify == 1 && c->disable_redirects == 1);
	/* One pair per value, in order; an empty list sends nothing. */
	CHECK(c->nhdrs == 3);
	if (c->nhdrs == 3) {
		CHECK_STR(c->hdr_names[0], "X-A");
		CHECK_STR(c->hdr_values[0], "1");
		CHECK_STR(c->hdr_names[1], "X-A");
		CHECK_STR(c->hdr_values[1], "2");
		CHECK_STR(c->hdr_names[2], "Host");
		CHECK_STR(c->hdr_values[2], "example.com");
		CHECK(c->hdr_names[3] == NULL && c->hdr_values[3] == NULL);
	}
	CHECK(c->tcp == NULL && c->args == NULL);

	c = &d.checks[1];
	CHECK(c->kind == CHECKS_TCP);
	CHECK_STR(c->type, "tcp");
	CHECK_STR(c->tcp, "[::1]:5432");
	CHECK(c->http == NULL && c->nhdrs == 0 && c->timeout == 0);

	/* Empty strings are absent: GET, no body. */
	c = &d.checks[2];
	CHECK(c->kind == CHECKS_HTTP);
	CHECK(c->method == NULL && c->body == NULL && c->nhdrs == 0);
	CHECK(c->tls_skip_verify == 0 && c->disable_redirects == 0);

	/* A TTL check keeps no header; an empty "tcp" is no TCP check. */
	c = &d.checks[3];
	CHECK(c->kind == CHECKS_TTL);
	CHECK(c->nhdrs == 0 && c->hdr_names == NULL && c->tcp == NULL);

	/* Copies are deep and equal; every HTTP field counts. */
	checks_def_copy(&copy, &d.checks[0]);
	CHECK(checks_def_equal(&copy, &d.checks[0]));
	CHECK(copy.hdr_names != d.checks[0].hdr_names &&
	    copy.http != d.checks[0].http);
	copy.hdr_values[1][0] = '3';
	CHECK(!checks_def_equal(&copy, &d.checks[0]));
	copy.hdr_values[1][0] = '2';
	copy.tls_skip_verify = 0;
	CHECK(!checks_def_equal(&copy, &d.checks[0]));
	copy.tls_skip_verify = 1;
	copy.body[0] = '[';
	CHECK(!checks_def_equal(&copy, &d.checks[0]));
	copy.body[0] = '{';
	CHECK(checks_def_equal(&copy, &d.checks[0]));
	copy.method[0] = 'p';
	CHECK(!checks_def_equal(&copy, &d.checks[0]));
	checks_def_free(&copy);
	checks_def_copy(&copy, &d.checks[1]);
	CHECK(checks_def_equal(&copy, &d.checks[1]));
	copy.tcp[1] = '0';
	CHECK(!checks_def_equal(&copy, &d.checks[1]));
	checks_def_free(&copy);
out:
	checks_free(&d);
}

/* Every rejected definition, with the message it must give. */
static const struct bad {
	const char	*text;
	const char	*want;		/* the whole message */
} bads[] = {
	{ "{\"service\": {\"name\": \"web\", \"weights\": {\"passing\": 0}}}",
	  "b.json:1:40: service.weights: Invalid Weights: Passing must be "
	  "greater than 0" },
	{ "{\"service\": {\"name\": \"web\", \"weights\": {\"warning\": -1}}}",
	  "b.json:1:40: service.weights: Invalid Weights: Warning must be "
	  "greater or equal than 0" },
	{ "{\"service\": {\"name\": \"web\", \"weights\": {\"passing\": "
	  "65536}}}",
	  "b.json:1:40: service.weights: Invalid Weights: DNS Weight must be "
	  "between 0 and 65535" },
	{ "{\"service\": {\"name\": \"web\", \"weights\": 3}}",
	  "b.json:1:40: service.weights: expected an object with Passing and "
	  "Warning" },
	{ "{\"service\": {\"name\": \"web\",\n"
	  "  \"check\": {\"ttl\": \"10s\", \"interval\": \"10s\"}}}",
	  "b.json:2:12: service.check: Interval and TTL cannot both be "
	  "specified" },
	{ "{\"enable_local_script_checks\": true, \"services\": [{\"name\": "
	  "\"a\"},\n {\"name\": \"web\", \"checks\": [{\"ttl\": \"1s\"},\n"
	  "  {\"args\": [\"true\"]}]}]}",
	  "b.json:3:3: services[1].checks[1]: Interval must be > 0 for "
	  "Script, HTTP, or TCP checks" },
	{ "{\"checks\": [{\"name\": \"h\", \"http\": \"http://x\"}]}",
	  "b.json:1:13: checks[0]: Interval must be > 0 for Script, HTTP, "
	  "or TCP checks" },
	{ "{\"check\": {\"name\": \"x\", \"interval\": \"10s\"}}",
	  "b.json:1:11: check: TTL must be > 0 for TTL checks" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": \"0s\"}}",
	  "b.json:1:11: check: TTL must be > 0 for TTL checks" },
	{ "{\"service\": {\"name\": \"web\", \"check\": {\"args\": "
	  "[\"true\"], \"interval\": \"10s\"}}}",
	  "b.json:1:38: service.check: Scripts are disabled on this agent; "
	  "to enable, configure 'enable_script_checks' or "
	  "'enable_local_script_checks' to true" },
	{ "{\"check\": {\"name\": \"x\", \"script\": \"true\", \"interval\": "
	  "\"1s\"}}",
	  "b.json:1:11: check: Scripts are disabled on this agent; to "
	  "enable, configure 'enable_script_checks' or "
	  "'enable_local_script_checks' to true" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": \"ten\"}}",
	  "b.json:1:32: check.ttl: expected a duration such as \"10s\"" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": 10}}",
	  "b.json:1:32: check.ttl: expected a duration such as \"10s\"" },
	{ "{\"check\": {\"ttl\": \"10s\"}}",
	  "b.json:1:11: check: Missing check name" },
	{ "{\"check\": {\"name\": 5, \"ttl\": \"10s\"}}",
	  "b.json:1:20: check.name: expected a string" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": \"1s\", \"status\": "
	  "\"ok\"}}",
	  "b.json:1:48: check.status: invalid check status \"ok\": must be "
	  "passing, warning or critical" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": \"1s\", \"service_id\": "
	  "\"nope\"}}",
	  "b.json:1:11: check \"x\": ServiceID \"nope\" does not exist" },
	{ "{\"service\": {\"port\": 80}}",
	  "b.json:1:13: service: Missing service name" },
	{ "{\"service\": {\"name\": \"w\", \"port\": 70000}}",
	  "b.json:1:35: service.port: expected a port number (0-65535)" },
	{ "{\"service\": {\"name\": \"w\", \"port\": \"80\"}}",
	  "b.json:1:35: service.port: expected a port number (0-65535)" },
	{ "{\"service\": {\"name\": \"w\", \"tags\": \"a\"}}",
	  "b.json:1:35: service.tags: expected an array of strings" },
	{ "{\"service\": {\"name\": \"w\", \"tags\": [\"a\", 1]}}",
	  "b.json:1:41: service.tags[1]: expected a string" },
	{ "{\"service\": {\"name\": \"w\", \"meta\": {\"k\": 1}}}",
	  "b.json:1:41: service.meta.k: expected a string" },
	{ "{\"service\": {\"name\": \"w\", \"check\": [1]}}",
	  "b.json:1:36: service.check: expected an object" },
	{ "{\"service\": {\"name\": \"w\", \"checks\": [1]}}",
	  "b.json:1:38: service.checks[0]: expected an object" },
	{ "{\"service\": {\"name\": \"w\", \"check\": {\"ttl\": \"1s\", "
	  "\"args\": \"true\"}}}",
	  "b.json:1:58: service.check.args: expected an array of strings" },
	{ "{\"check\": {\"name\": \"x\", \"ttl\": \"1s\", \"timeout\": "
	  "\"-1s\"}}",
	  "b.json:1:11: check.timeout: must not be negative" },
	/* HTTP and TCP checks. */
	{ "{\"check\": {\"name\": \"h\", \"http\": 5, \"interval\": \"1s\"}}",
	  "b.json:1:33: check.http: expected a string" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"method\": 1}}",
	  "b.json:1:74: check.method: expected a string" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"body\": [\"x\"]}}",
	  "b.json:1:72: check.body: expected a string" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"header\": \"X-A: 1\"}}",
	  "b.json:1:74: check.header: expected an object such as "
	  "{\"Name\": [\"value\"]}" },
	{ "{\"services\": [{\"name\": \"web\", \"checks\": [\n"
	  "  {\"http\": \"http://a/\", \"interval\": \"1s\",\n"
	  "   \"Header\": {\"X-A\": [\"1\"], \"X-B\": \"v\"}}]}]}",
	  "b.json:3:36: services[0].checks[0].header.X-B: expected an "
	  "array of strings" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\",\n \"header\": {\"X-A\": [\"a\", 2]}}}",
	  "b.json:2:26: check.header.X-A[1]: expected a string" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"tls_skip_verify\": \"yes\"}}",
	  "b.json:1:83: check.tls_skip_verify: expected true or false" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"DisableRedirects\": 1}}",
	  "b.json:1:84: check.disable_redirects: expected true or false" },
	{ "{\"check\": {\"name\": \"h\", \"http\": \"http://a/\", "
	  "\"interval\": \"1s\", \"timeout\": \"soon\"}}",
	  "b.json:1:75: check.timeout: expected a duration such as "
	  "\"10s\"" },
	{ "{\"check\": {\"name\": \"t\", \"tcp\": 80, \"interval\": \"1s\"}}",
	  "b.json:1:32: check.tcp: expected a string" },
	{ "{\"check\": {\"name\": \"t\", \"tcp\": \"a:80\"}}",
	  "b.json:1:11: check: Interval must be > 0 for Script, HTTP, or "
	  "TCP checks" },
	{ "{\"check\": {\"name\": \"t\", \"tcp\": \"a:80\", \"interval\": "
	  "\"1s\", \"ttl\": \"5s\"}}",
	  "b.json:1:11: check: Interval and TTL cannot both be specified" },
};

/* Weights: each 1 when left out; Consul's ValidateWeights */
static void
test_weights(void)
{
	struct checks_defs d;

	CHECK(load(&d, "w.json", "{\"services\": ["
	    "{\"name\": \"a\", \"weights\": {\"passing\": 10, "
	    "\"warning\": 0}},"
	    "{\"name\": \"b\", \"Weights\": {\"Warning\": 5}},"
	    "{\"name\": \"c\", \"weights\": {\"passing\": 65535}}]}")
	    == 0);
	CHECK(d.nsvcs == 3);
	if (d.nsvcs == 3) {
		CHECK(d.svcs[0].weight_passing == 10 &&
		    d.svcs[0].weight_warning == 0);
		CHECK(d.svcs[1].weight_passing == 1 &&
		    d.svcs[1].weight_warning == 5);
		CHECK(d.svcs[2].weight_passing == 65535 &&
		    d.svcs[2].weight_warning == 1);
	}
	checks_free(&d);
}

static void
test_errors(void)
{
	struct checks_defs d;
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		if (load(&d, "b.json", bads[i].text) != -1) {
			fprintf(stderr, "bads[%zu] was accepted\n", i);
			CHECK(0);
			checks_free(&d);
			continue;
		}
		if (strcmp(err, bads[i].want) != 0)
			fprintf(stderr, "bads[%zu]:\n", i);
		CHECK_STR(err, bads[i].want);
		CHECK(d.nsvcs == 0 && d.nchecks == 0 && d.svcs == NULL &&
		    d.checks == NULL);
	}
}

static void
test_script_gate(void)
{
	static const char *const ok[] = {
		"{\"enable_script_checks\": true, \"check\": {\"name\": \"x\","
		" \"args\": [\"true\"], \"interval\": \"5s\"}}",
		"{\"enable_local_script_checks\": true, \"check\": {\"name\":"
		" \"x\", \"args\": [\"true\"], \"interval\": \"5s\"}}",
		/* TTL and HTTP checks need neither. */
		"{\"check\": {\"name\": \"x\", \"ttl\": \"5s\"}}",
		"{\"check\": {\"name\": \"x\", \"http\": \"http://a\", "
		"\"interval\": \"5s\"}}",
	};
	struct checks_defs d;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(load(&d, "g.json", ok[i]) == 0);
		CHECK(d.nchecks == 1);
		checks_free(&d);
	}
}

static void
test_duplicates(void)
{
	struct checks_defs d;

	/* The later service wins, and the first one's checks go with it. */
	CHECK(load(&d, "d.json",
	    "{\"services\": [{\"name\": \"web\", \"port\": 1,\n"
	    "  \"checks\": [{\"ttl\": \"1s\"}, {\"ttl\": \"2s\"}]},\n"
	    " {\"name\": \"web\", \"port\": 2,"
	    " \"check\": {\"ttl\": \"3s\"}}],\n"
	    " \"checks\": [{\"id\": \"x\", \"ttl\": \"4s\"},"
	    " {\"id\": \"x\", \"ttl\": \"5s\", \"service_id\": \"web\"}]}")
	    == 0);
	CHECK(d.nsvcs == 1 && d.nchecks == 2);
	if (d.nsvcs == 1 && d.nchecks == 2) {
		CHECK(d.svcs[0].port == 2);
		CHECK_STR(d.checks[0].id, "service:web");
		CHECK(d.checks[0].ttl == 3 * DUR_S);
		CHECK_STR(d.checks[1].id, "x");
		CHECK(d.checks[1].ttl == 5 * DUR_S);
		CHECK_STR(d.checks[1].service_name, "web");
	}
	checks_free(&d);
}

static void
test_equal_and_copy(void)
{
	struct checks_defs a, b;
	struct check_def copy;
	const char *text =
	    "{\"enable_local_script_checks\": true,\n"
	    " \"service\": {\"name\": \"web\", \"tags\": [\"t\"],\n"
	    "  \"checks\": [{\"args\": [\"a\", \"b\"], \"interval\": \"2s\"},"
	    " {\"ttl\": \"9s\"}]}}";

	CHECK(load(&a, "one.json", text) == 0);
	/* The same definitions from another file, at another place. */
	CHECK(load(&b, "two.json", text) == 0);
	CHECK(a.nchecks == 2 && b.nchecks == 2);
	if (a.nchecks != 2 || b.nchecks != 2)
		goto out;
	CHECK(checks_def_equal(&a.checks[0], &b.checks[0]));
	CHECK(checks_def_equal(&a.checks[1], &b.checks[1]));
	CHECK(!checks_def_equal(&a.checks[0], &b.checks[1]));
	CHECK(checks_svc_equal(&a.svcs[0], &b.svcs[0]));
	checks_def_copy(&copy, &a.checks[0]);
	CHECK(checks_def_equal(&copy, &a.checks[0]));
	CHECK(copy.args != a.checks[0].args && copy.args[2] == NULL);
	/* One argument different is a different definition. */
	copy.args[1][0] = 'z';
	CHECK(!checks_def_equal(&copy, &a.checks[0]));
	checks_def_free(&copy);
	b.checks[1].ttl++;
	CHECK(!checks_def_equal(&a.checks[1], &b.checks[1]));
	b.svcs[0].port = 9;
	CHECK(!checks_svc_equal(&a.svcs[0], &b.svcs[0]));
out:
	checks_free(&a);
	checks_free(&b);
}

static void
test_status_and_truncate(void)
{
	char big[5000], *s;

	CHECK(checks_status("passing") == CHECKS_PASSING);
	CHECK(checks_status("warning") == CHECKS_WARNING);
	CHECK(checks_status("critical") == CHECKS_CRITICAL);
	CHECK(checks_status("Passing") == NULL);
	CHECK(checks_status("") == NULL);
	CHECK(checks_status(NULL) == NULL);

	s = checks_truncate("short", 5);
	CHECK_STR(s, "short");
	free(s);
	memset(big, 'x', sizeof(big));
	s = checks_truncate(big, CHECKS_OUTPUT_MAX);
	CHECK(strlen(s) == CHECKS_OUTPUT_MAX);
	free(s);
	s = checks_truncate(big, sizeof(big));
	CHECK(strncmp(s, big, CHECKS_OUTPUT_MAX) == 0);
	CHECK_STR(s + CHECKS_OUTPUT_MAX, " ... (captured 4096 of 5000 bytes)");
	free(s);
}

/* attr_str_is - an attribute's value equals s */
static int
attr_str_is(const struct attr *a, const char *s)
{
	return a->val != NULL && a->len == strlen(s) &&
	    memcmp(a->val, s, a->len) == 0;
}

static void
test_records(void)
{
	static char *mk[] = { "rack" }, *mv[] = { "r1" };
	struct checks_node n = { "n1", "id-1", "10.0.0.1", "dc1", mk, mv, 1 };
	struct attr top[ATTR_TAB], rec[ATTR_TAB], meta[ATTR_TAB], a, last[2];
	struct checks_defs d;
	struct attr_iter it;
	struct buf b;
	uint64_t port;
	int ntags = 0, i;

	memset(last, 0, sizeof(last));

	CHECK(load(&d, "r.json",
	    "{\"service\": {\"name\": \"web\", \"id\": \"w1\", \"port\": 8080,"
	    " \"address\": \"10.0.0.9\", \"tags\": [\"x\", \"y\"],"
	    " \"check\": {\"ttl\": \"5s\", \"notes\": \"nn\"}}}") == 0);
	if (d.nsvcs != 1 || d.nchecks != 1) {
		CHECK(0);
		checks_free(&d);
		return;
	}
	buf_init(&b);
	checks_node_rec(&b, &n);
	checks_svc_rec(&b, "n1", &d.svcs[0]);
	checks_check_rec(&b, "n1", &d.checks[0], CHECKS_WARNING, "out");
	CHECK(attr_index(buf_head(&b), buf_used(&b), top, ATTR_TAB) == 0);

	CHECK(attr_index(top[A_NODE_REC].val, top[A_NODE_REC].len, rec,
	    ATTR_TAB) == 0);
	CHECK(attr_str_is(&rec[A_NODE], "n1"));
	CHECK(attr_str_is(&rec[A_NODE_ID], "id-1"));
	CHECK(attr_str_is(&rec[A_ADDRESS], "10.0.0.1"));
	CHECK(attr_str_is(&rec[A_DC], "dc1"));
	CHECK(attr_index(rec[A_META].val, rec[A_META].len, meta,
	    ATTR_TAB) == 0);
	CHECK(attr_str_is(&meta[A_META_KEY], "rack"));
	CHECK(attr_str_is(&meta[A_META_VALUE], "r1"));

	CHECK(attr_index(top[A_SERVICE_REC].val, top[A_SERVICE_REC].len, rec,
	    ATTR_TAB) == 0);
	CHECK(attr_str_is(&rec[A_SERVICE_ID], "w1"));
	CHECK(attr_str_is(&rec[A_SERVICE_NAME], "web"));
	CHECK(attr_str_is(&rec[A_ADDRESS], "10.0.0.9"));
	CHECK(attr_u64(&rec[A_PORT], &port) == 0 && port == 8080);
	attr_iter_init(&it, top[A_SERVICE_REC].val, top[A_SERVICE_REC].len);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_TAG)
			ntags++;
	CHECK(ntags == 2);

	CHECK(attr_index(top[A_CHECK_REC].val, top[A_CHECK_REC].len, rec,
	    ATTR_TAB) == 0);
	CHECK(attr_str_is(&rec[A_NODE], "n1"));
	CHECK(attr_str_is(&rec[A_CHECK_ID], "service:w1"));
	CHECK(attr_str_is(&rec[A_CHECK_NAME], "Service 'web' check"));
	CHECK(attr_str_is(&rec[A_NOTES], "nn"));
	CHECK(attr_str_is(&rec[A_SERVICE_ID], "w1"));
	CHECK(attr_str_is(&rec[A_SERVICE_NAME], "web"));
	CHECK(attr_str_is(&rec[A_CHECK_TYPE], "ttl"));
	/* Status, then output, last: kvd's OP_CHECK_STATUS order. */
	attr_iter_init(&it, top[A_CHECK_REC].val, top[A_CHECK_REC].len);
	i = 0;
	while (attr_next(&it, &a) == 1) {
		last[0] = last[1];
		last[1] = a;
		i++;
	}
	CHECK(i >= 2 && last[0].type == A_STATUS && last[1].type == A_OUTPUT);
	CHECK(attr_str_is(&last[0], "warning"));
	CHECK(attr_str_is(&last[1], "out"));

	/* With tags for the agent's view, the tail stays the same. */
	buf_reset(&b);
	checks_check_rec_tags(&b, "n1", &d.checks[0], CHECKS_PASSING, NULL,
	    &d.svcs[0]);
	CHECK(attr_index(buf_head(&b), buf_used(&b), top, ATTR_TAB) == 0);
	CHECK(attr_index(top[A_CHECK_REC].val, top[A_CHECK_REC].len, rec,
	    ATTR_TAB) == 0);
	CHECK(attr_str_is(&rec[A_TAG], "x"));
	CHECK(attr_str_is(&rec[A_STATUS], "passing"));
	CHECK(attr_present(&rec[A_OUTPUT]) && rec[A_OUTPUT].len == 0);
	buf_free(&b);
	checks_free(&d);
}

/* write_file - replace path with n bytes */
static void
write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fwrite(s, 1, n, f);
	fclose(f);
}

/* state_file - the one file in dir/checks/state, into out */
static int
state_file(const char *dir, char *out, size_t n)
{
	char cmd[600];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -d %s/checks/state/* 2>/dev/null",
	    dir);
	if ((p = popen(cmd, "r")) == NULL || fgets(out, (int)n, p) == NULL) {
		if (p != NULL)
			pclose(p);
		return -1;
	}
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static void
test_state(void)
{
	char dir[] = "/tmp/test_checks.XXXXXX", path[700], good[4096];
	struct check c, r;
	size_t glen, i;
	FILE *f;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		CHECK(0);
		return;
	}
	state_init(dir);
	memset(&c, 0, sizeof(c));
	c.def.id = "svc:ttl/1";
	c.def.ttl = 60 * DUR_S;
	c.status = CHECKS_PASSING;
	c.output = "all \"good\"\n";
	state_save(&c);
	CHECK(state_file(dir, path, sizeof(path)) == 0);

	memset(&r, 0, sizeof(r));
	r.def.id = "svc:ttl/1";
	r.status = CHECKS_CRITICAL;
	r.output = strdup("");
	CHECK(state_load(&r) == 1);
	CHECK(r.status == CHECKS_PASSING);
	CHECK_STR(r.output, "all \"good\"\n");
	CHECK_STR(r.ttl_last, "all \"good\"\n");
	free(r.output);
	free(r.ttl_last);

	/* Another ID never takes it (as after a hash collision). */
	memset(&r, 0, sizeof(r));
	r.def.id = "svc:ttl/2";
	r.status = CHECKS_CRITICAL;
	CHECK(state_load(&r) == 0 && r.status == CHECKS_CRITICAL);

	/* Mutations of a good file: none restores, none crashes. */
	f = fopen(path, "r");
	glen = f != NULL ? fread(good, 1, sizeof(good), f) : 0;
	if (f != NULL)
		fclose(f);
	CHECK(glen > 10);
	for (i = 0; i < 4; i++) {
		char bad[4200];
		size_t n = glen;

		memcpy(bad, good, glen);
		if (i == 0)
			n = glen - 1;			/* cut the last byte */
		else if (i == 1)
			bad[n++] = '}';			/* add one */
		else if (i == 2)
			memcpy(strstr(bad, "passing"), "pass1ng", 7);
		else
			memcpy(strstr(bad, "Expires\":") + 9, "-", 1);
		write_file(path, bad, n);
		memset(&r, 0, sizeof(r));
		r.def.id = "svc:ttl/1";
		r.status = CHECKS_CRITICAL;
		CHECK(state_load(&r) == 0);
		CHECK(r.status == CHECKS_CRITICAL && r.output == NULL);
	}

	/* An expired result is dropped, file and all. */
	c.def.ttl = -1 * DUR_S;
	state_save(&c);
	memset(&r, 0, sizeof(r));
	r.def.id = "svc:ttl/1";
	r.status = CHECKS_CRITICAL;
	CHECK(state_load(&r) == 0 && r.status == CHECKS_CRITICAL);
	CHECK(access(path, F_OK) != 0);

	c.def.ttl = 60 * DUR_S;
	state_save(&c);
	CHECK(access(path, F_OK) == 0);
	state_remove("svc:ttl/1");
	CHECK(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

/* A run's result, as its callback gives it. */
struct result {
	int	 called;
	int	 status;
	char	 output[8192];
};

/* result_cb - record what the run reported */
static void
result_cb(void *arg, int status, const char *output)
{
	struct result *r = arg;

	r->called++;
	r->status = status;
	snprintf(r->output, sizeof(r->output), "%s", output);
}

/* wait_results - run the loop until all n are in (a deadline, not a timing) */
static int
wait_results(struct result *r, size_t n)
{
	ev_tstamp end = ev_time() + 60;
	size_t i, done;

	for (;;) {
		for (done = 0, i = 0; i < n; i++)
			done += r[i].called != 0;
		if (done == n || ev_time() > end)
			break;
		ev_run(EV_DEFAULT, EVRUN_ONCE);
	}
	for (i = 0; i < n; i++)
		if (r[i].called != 1)
			return 0;
	return 1;
}

/* listen_local - a listening TCP socket on 127.0.0.1, its port in *port */
static int
listen_local(int *port, int backlog)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, backlog) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1) {
		perror("listen_local");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* closed_port - a port on 127.0.0.1 that nothing listens on */
static int
closed_port(void)
{
	int port, fd = listen_local(&port, 1);

	close(fd);
	return port;
}

/*
 * serve - fork a child that answers one request on lfd with resp after
 * delay_ms, and writes the request it read (head and body) to reqpath
 */
static pid_t
serve(int lfd, const char *resp, size_t n, int delay_ms, const char *reqpath)
{
	char req[16384], *end, *cl;
	size_t got = 0, want = 0;
	ssize_t r;
	pid_t pid;
	FILE *f;
	int fd;

	if ((pid = fork()) != 0)
		return pid;
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		_exit(1);
	while (got < sizeof(req) - 1 &&
	    (r = read(fd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)r;
		req[got] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) == NULL)
			continue;
		cl = strcasestr(req, "\r\nContent-Length:");
		want = (size_t)(end + 4 - req) +
		    (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
		if (got >= want)
			break;
	}
	if (reqpath != NULL && (f = fopen(reqpath, "w")) != NULL) {
		fwrite(req, 1, got, f);
		fclose(f);
	}
	usleep((useconds_t)delay_ms * 1000);
	while (n > 0 && (r = write(fd, resp, n)) > 0) {
		resp += r;
		n -= (size_t)r;
	}
	close(fd);
	_exit(0);
}

/* reap - stop a server child */
static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* read_file - a small file's text into out */
static void
read_file(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t k = 0;

	if (f != NULL) {
		k = fread(out, 1, n - 1, f);
		fclose(f);
	}
	out[k] = '\0';
}

/* http_def - a minimal HTTP check definition for url */
static void
http_def(struct check_def *d, char *url)
{
	memset(d, 0, sizeof(*d));
	d->kind = CHECKS_HTTP;
	d->type = "http";
	d->http = url;
}

static void
test_http_statuses(void)
{
	static const struct {
		const char	*resp;
		int		 status;
		const char	*shown;	/* after "HTTP GET <url>: " */
	} tab[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		  CHECK_PASSING, "200 OK Output: hello" },
		{ "HTTP/1.0 204 No Content\r\n\r\n",
		  CHECK_PASSING, "204 No Content Output: " },
		{ "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n"
		  "\r\nslow", CHECK_WARNING,
		  "429 Too Many Requests Output: slow" },
		{ "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
		  "\r\ndown", CHECK_CRITICAL,
		  "503 Service Unavailable Output: down" },
		{ "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n",
		  CHECK_CRITICAL, "302 Found Output: " },
	};
	enum { N = sizeof(tab) / sizeof(tab[0]) };
	struct check_def d[N];
	struct result r[N];
	char url[N][64], want[512];
	pid_t pids[N];
	int lfd, port;
	size_t i;

	memset(r, 0, sizeof(r));
	/* All at once: one multi handle, several transfers. */
	for (i = 0; i < N; i++) {
		lfd = listen_local(&port, 4);
		pids[i] = serve(lfd, tab[i].resp, strlen(tab[i].resp), 0,
		    NULL);
		close(lfd);
		snprintf(url[i], sizeof(url[i]), "http://127.0.0.1:%d/h",
		    port);
		http_def(&d[i], url[i]);
		CHECK(check_http_start(EV_DEFAULT, &d[i], result_cb, &r[i],
		    err, sizeof(err)) != NULL);
		/* Never from inside the start. */
		CHECK(r[i].called == 0);
	}
	CHECK(wait_results(r, N));
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "HTTP GET %s: %s", url[i],
		    tab[i].shown);
		CHECK_STR(r[i].output, want);
		CHECK(r[i].status == tab[i].status);
		reap(pids[i]);
	}
}

static void
test_http_request(void)
{
	static char *names[] = { "X-A", "X-A", "accept", "X-Empty" };
	static char *values[] = { "1", "2", "application/json", "" };
	char reqpath[] = "/tmp/test_checks_req.XXXXXX", url[64], req[16384];
	const char *resp = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
	    "\r\nok";
	struct check_def d;
	struct result r;
	int lfd, port, fd;
	pid_t pid;

	if ((fd = mkstemp(reqpath)) == -1) {
		CHECK(0);
		return;
	}
	close(fd);
	lfd = listen_local(&port, 4);
	pid = serve(lfd, resp, strlen(resp), 0, reqpath);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/put?x=1", port);
	http_def(&d, url);
	d.method = "PUT";
	d.body = "ping";
	d.hdr_names = names;
	d.hdr_values = values;
	d.nhdrs = 4;
	memset(&r, 0, sizeof(r));
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) != NULL);
	CHECK(wait_results(&r, 1));
	CHECK(r.status == CHECK_PASSING);
	CHECK(strncmp(r.output, "HTTP PUT ", 9) == 0);
	CHECK(strstr(r.output, ": 201 Created Output: ok") != NULL);
	reap(pid);
	read_file(reqpath, req, sizeof(req));
	unlink(reqpath);
	CHECK(strncmp(req, "PUT /put?x=1 HTTP/1.1\r\n", 23) == 0);
	CHECK(strstr(req, "\r\nX-A: 1\r\nX-A: 2\r\n") != NULL);
	CHECK(strstr(req, "\r\nUser-Agent: Consul Health Check\r\n") !=
	    NULL);
	/* The check's Accept replaces Consul's; an empty value is sent. */
	CHECK(strstr(req, "\r\naccept: application/json\r\n") != NULL);
	CHECK(strstr(req, "text/plain") == NULL);
	CHECK(strstr(req, "\r\nX-Empty:") != NULL);
	CHECK(strstr(req, "\r\nContent-Length: 4\r\n") != NULL);
	CHECK(strcasestr(req, "Expect:") == NULL);
	CHECK(strcasestr(req, "Content-Type:") == NULL);
	CHECK(strstr(req, "\r\n\r\nping") != NULL);

	/* Defaults: GET, Consul's User-Agent and Accept. */
	lfd = listen_local(&port, 4);
	pid = serve(lfd, resp, strlen(resp), 0, reqpath);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	http_def(&d, url);
	memset(&r, 0, sizeof(r));
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) != NULL);
	CHECK(wait_results(&r, 1));
	reap(pid);
	read_file(reqpath, req, sizeof(req));
	unlink(reqpath);
	CHECK(strncmp(req, "GET / HTTP/1.1\r\n", 16) == 0);
	CHECK(strstr(req, "\r\nUser-Agent: Consul Health Check\r\n") !=
	    NULL);
	CHECK(strstr(req, "\r\nAccept: text/plain, text/*, */*\r\n") !=
	    NULL);
	CHECK(strstr(req, "Content-Length") == NULL);
}

static void
test_http_body_tail(void)
{
	static char resp[20000];
	char url[64], want[CHECKS_OUTPUT_MAX + 1], *out;
	struct check_def d;
	struct result r;
	int lfd, port, i, hl;
	pid_t pid;

	/* 10000 body bytes, no short period; the last 4096 are kept. */
	hl = snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10000\r\n\r\n");
	for (i = 0; i < 10000; i++)
		resp[hl + i] = (char)(33 + (i * 7 + i / 97) % 94);
	memcpy(want, resp + hl + 10000 - CHECKS_OUTPUT_MAX, CHECKS_OUTPUT_MAX);
	want[CHECKS_OUTPUT_MAX] = '\0';
	lfd = listen_local(&port, 4);
	pid = serve(lfd, resp, (size_t)hl + 10000, 0, NULL);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", port);
	http_def(&d, url);
	memset(&r, 0, sizeof(r));
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) != NULL);
	CHECK(wait_results(&r, 1));
	reap(pid);
	CHECK(r.status == CHECK_PASSING);
	out = strstr(r.output, " Output: ");
	CHECK(out != NULL);
	if (out != NULL) {
		CHECK(strlen(out + 9) == CHECKS_OUTPUT_MAX);
		CHECK_STR(out + 9, want);
	}
}

static void
test_http_errors(void)
{
	static char *bad_name[] = { "X Y" }, *bad_value[] = { "a\r\nb" };
	static char *ok_value[] = { "v" };
	char url[64], want[256];
	struct check_def d;
	struct result r;
	int lfd, port;
	pid_t pid;

	/* Refused. */
	port = closed_port();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	http_def(&d, url);
	memset(&r, 0, sizeof(r));
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) != NULL);
	CHECK(wait_results(&r, 1));
	snprintf(want, sizeof(want), "Get \"%s\": dial tcp 127.0.0.1:%d: "
	    "connect: connection refused", url, port);
	CHECK_STR(r.output, want);
	CHECK(r.status == CHECK_CRITICAL);

	/* No answer within the timeout. */
	lfd = listen_local(&port, 4);
	pid = serve(lfd, "HTTP/1.1 200 OK\r\n\r\n", 19, 5000, NULL);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", port);
	http_def(&d, url);
	d.method = "DELETE";
	d.timeout = 300 * DUR_MS;
	memset(&r, 0, sizeof(r));
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) != NULL);
	CHECK(wait_results(&r, 1));
	reap(pid);
	snprintf(want, sizeof(want), "Delete \"%s\": context deadline "
	    "exceeded (Client.Timeout exceeded while awaiting headers)", url);
	CHECK_STR(r.output, want);
	CHECK(r.status == CHECK_CRITICAL);

	/* Requests that cannot be made: no run, Consul's output in err. */
	http_def(&d, "http://127.0.0.1:1/");
	d.method = "G T";
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "net/http: invalid method \"G T\"");
	http_def(&d, "ftp://127.0.0.1/x");
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "Get \"ftp://127.0.0.1/x\": unsupported protocol "
	    "scheme \"ftp\"");
	http_def(&d, "127.0.0.1:80/health");
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "Get \"127.0.0.1:80/health\": unsupported protocol "
	    "scheme \"\"");
	http_def(&d, "http://127.0.0.1:1/");
	d.hdr_names = bad_name;
	d.hdr_values = ok_value;
	d.nhdrs = 1;
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "Get \"http://127.0.0.1:1/\": net/http: invalid "
	    "header field name \"X Y\"");
	d.hdr_names = ok_value;
	d.hdr_values = bad_value;
	CHECK(check_http_start(EV_DEFAULT, &d, result_cb, &r, err,
	    sizeof(err)) == NULL);
	CHECK_STR(err, "Get \"http://127.0.0.1:1/\": net/http: invalid "
	    "header field value for \"v\"");
}

static void
test_http_cancel(void)
{
	char url[64];
	struct check_def d;
	struct result r;
	struct check_http *h;
	int lfd, port;
	pid_t pid;

	lfd = listen_local(&port, 4);
	pid = serve(lfd, "HTTP/1.1 200 OK\r\n\r\n", 19, 5000, NULL);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	http_def(&d, url);
	memset(&r, 0, sizeof(r));
	h = check_http_start(EV_DEFAULT, &d, result_cb, &r, err, sizeof(err));
	CHECK(h != NULL);
	/* Let it connect and send, then abandon it. */
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	check_http_cancel(h);
	reap(pid);
	ev_run(EV_DEFAULT, EVRUN_NOWAIT);
	CHECK(r.called == 0);
}

static void
test_tcp(void)
{
	static const struct {
		const char	*addr;
		const char	*want;
	} bad[] = {
		{ "127.0.0.1", "dial tcp: address 127.0.0.1: missing port in "
		  "address" },
		{ "::1:80", "dial tcp: address ::1:80: too many colons in "
		  "address" },
		{ "[::1]", "dial tcp: address [::1]: missing port in "
		  "address" },
		{ "[::1:80", "dial tcp: address [::1:80: missing ']' in "
		  "address" },
		{ "127.0.0.1:65536", "dial tcp: address 127.0.0.1:65536: "
		  "invalid port" },
		{ "127.0.0.1:", "dial tcp: address 127.0.0.1:: invalid port" },
		{ "127.0.0.1:nosuchservice", "dial tcp: lookup "
		  "tcp/nosuchservice: unknown port" },
	};
	struct result r[3];
	char addr[3][64], want[256];
	int lfd, port, full, cfd[4], i;
	size_t k;

	lfd = listen_local(&port, 4);
	snprintf(addr[0], sizeof(addr[0]), "127.0.0.1:%d", port);
	port = closed_port();
	snprintf(addr[1], sizeof(addr[1]), "127.0.0.1:%d", port);
	memset(r, 0, sizeof(r));
	CHECK(check_tcp_start(EV_DEFAULT, addr[0], 0, result_cb, &r[0], err,
	    sizeof(err)) != NULL);
	CHECK(check_tcp_start(EV_DEFAULT, addr[1], 0, result_cb, &r[1], err,
	    sizeof(err)) != NULL);
	CHECK(r[0].called == 0 && r[1].called == 0);
	CHECK(wait_results(r, 2));
	snprintf(want, sizeof(want), "TCP connect %s: Success", addr[0]);
	CHECK_STR(r[0].output, want);
	CHECK(r[0].status == CHECK_PASSING);
	snprintf(want, sizeof(want), "dial tcp %s: connect: connection "
	    "refused", addr[1]);
	CHECK_STR(r[1].output, want);
	CHECK(r[1].status == CHECK_CRITICAL);
	close(lfd);

	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err[0] = '\0';
		CHECK(check_tcp_start(EV_DEFAULT, bad[k].addr, 0, result_cb,
		    &r[2], err, sizeof(err)) == NULL);
		CHECK_STR(err, bad[k].want);
	}

	/*
	 * A timeout without leaving loopback: a listener whose accept queue
	 * is full drops new SYNs, so the connect hangs. If the kernel
	 * accepts anyway, there is nothing to test.
	 */
	full = listen_local(&port, 0);
	for (i = 0; i < 4; i++) {
		struct sockaddr_in sa;

		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(cfd[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	usleep(100000);
	snprintf(addr[2], sizeof(addr[2]), "127.0.0.1:%d", port);
	memset(&r[2], 0, sizeof(r[2]));
	CHECK(check_tcp_start(EV_DEFAULT, addr[2], 300 * DUR_MS, result_cb,
	    &r[2], err, sizeof(err)) != NULL);
	CHECK(wait_results(&r[2], 1));
	if (r[2].status == CHECK_PASSING)
		fprintf(stderr, "test_tcp: the full backlog accepted; "
		    "timeout not tested\n");
	else {
		snprintf(want, sizeof(want), "dial tcp %s: i/o timeout",
		    addr[2]);
		CHECK_STR(r[2].output, want);
	}
	for (i = 0; i < 4; i++)
		close(cfd[i]);
	close(full);
}

int
main(void)
{
	RUN(test_service_defaults);
	RUN(test_service_several_checks);
	RUN(test_standalone_checks);
	RUN(test_http_tcp_defs);
	RUN(test_weights);
	RUN(test_errors);
	RUN(test_script_gate);
	RUN(test_duplicates);
	RUN(test_equal_and_copy);
	RUN(test_status_and_truncate);
	RUN(test_records);
	RUN(test_state);
	RUN(test_http_statuses);
	RUN(test_http_request);
	RUN(test_http_body_tail);
	RUN(test_http_errors);
	RUN(test_http_cancel);
	RUN(test_tcp);
	check_http_shutdown();
	return TEST_DONE();
}
