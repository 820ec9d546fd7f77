/*
 * test_checks.c - checkd's definitions (checks.c): Consul's default IDs,
 * names and statuses, check types, validation errors with their file,
 * position and key, the script-check gate, duplicate IDs, equality and
 * copies, output truncation, the catalog records, and the TTL state file
 * (state.c) with its mutations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	CHECK(c != NULL && c->kind == CHECKS_UNIMPL &&
	    strcmp(c->type, "http") == 0);
	c = checks_find_check(&d, "t");
	CHECK(c != NULL && c->kind == CHECKS_UNIMPL &&
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

/* Every rejected definition, with the message it must give. */
static const struct bad {
	const char	*text;
	const char	*want;		/* the whole message */
} bads[] = {
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
};

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

int
main(void)
{
	RUN(test_service_defaults);
	RUN(test_service_several_checks);
	RUN(test_standalone_checks);
	RUN(test_errors);
	RUN(test_script_gate);
	RUN(test_duplicates);
	RUN(test_equal_and_copy);
	RUN(test_status_and_truncate);
	RUN(test_records);
	RUN(test_state);
	return TEST_DONE();
}
