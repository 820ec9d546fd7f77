/*
 * test_config.c - defaults, every key, merging across files of a
 * directory in lexical order, errors with file:line:col and key, unknown
 * keys warned about once, config_finish's derivations and refusals.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char err[512];
static char tmpdir[] = "/tmp/test_config.XXXXXX";

/* load - config_load_text of a C string named name */
static int
load(struct config *c, const char *name, const char *text)
{
	err[0] = '\0';
	return config_load_text(c, text, strlen(text), name, err,
	    sizeof(err));
}

/* put - write text to tmpdir/name */
static void
put(const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/* stderr_begin - send stderr to a file; returns the saved descriptor */
static int
stderr_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	return saved;
}

/* stderr_end - restore stderr and return what was written (static) */
static const char *
stderr_end(int saved, const char *path)
{
	static char text[8192];
	size_t n;
	FILE *f;

	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	text[0] = '\0';
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	return text;
}

/* count - occurrences of needle in hay */
static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay++;
	}
	return n;
}

static void
test_defaults(void)
{
	struct config c;

	config_defaults(&c, 0);
	CHECK_STR(c.datacenter, "dc1");
	CHECK_STR(c.domain, "consul.");
	CHECK_STR(c.bind_addr, "0.0.0.0");
	CHECK_STR(c.client_addr, "127.0.0.1");
	CHECK_STR(c.log_level, "INFO");
	CHECK(c.port_http == 8500 && c.port_dns == 8600 &&
	    c.port_server == 8300 && c.port_serf_lan == 8301 &&
	    c.port_serf_wan == 8302);
	CHECK(c.server == 0 && c.dev == 0 && c.bootstrap == 0);
	CHECK(c.disable_remote_exec == 1);
	CHECK(c.enable_script_checks == 0);
	CHECK(c.kv_max_value_size == 524288);
	CHECK(c.data_dir == NULL && c.node_name == NULL);
	config_free(&c);

	config_defaults(&c, 1);
	CHECK(c.server == 1 && c.dev == 1);
	CHECK_STR(c.bind_addr, "127.0.0.1");
	config_free(&c);
}

static void
test_all_keys(void)
{
	struct config c;

	config_defaults(&c, 0);
	CHECK(load(&c, "all.json",
	    "{\"node_name\": \"web-1\", \"node_id\": "
	    "\"ADF4238A-882B-9DDC-4A9D-5B6758E4159E\",\n"
	    " \"datacenter\": \"East-1\", \"domain\": \"example\",\n"
	    " \"data_dir\": \"/var/lib/cairn\", \"bind_addr\": \"10.0.0.5\",\n"
	    " \"client_addr\": \"0.0.0.0\", \"addresses\": {\"dns\": "
	    "\"127.0.0.53\"},\n"
	    " \"ports\": {\"http\": 18500, \"dns\": 53, \"server\": 18300,"
	    " \"serf_lan\": 18301, \"serf_wan\": 18302, \"grpc\": 8502},\n"
	    " \"log_level\": \"debug\", \"server\": true, "
	    "\"bootstrap_expect\": 3,\n"
	    " \"enable_script_checks\": true, "
	    "\"enable_local_script_checks\": true,\n"
	    " \"disable_remote_exec\": false, \"limits\": "
	    "{\"kv_max_value_size\": 1024, \"rpc_rate\": 10},\n"
	    " \"recursors\": [\"8.8.8.8\", \"1.1.1.1\"], \"start_join\": "
	    "[\"10.0.0.1\"], \"retry_join\": [\"10.0.0.2\"],\n"
	    " \"node_meta\": {\"rack\": \"r1\", \"zone\": \"a\"},\n"
	    " \"service\": {\"name\": \"web\", \"port\": 80},\n"
	    " \"checks\": [{\"id\": \"c1\", \"ttl\": \"10s\"}, "
	    "{\"id\": \"c2\", \"ttl\": \"5s\"}]}") == 0);
	if (err[0] != '\0')
		fprintf(stderr, "  %s\n", err);
	CHECK_STR(c.node_name, "web-1");
	CHECK_STR(c.datacenter, "East-1");
	CHECK_STR(c.data_dir, "/var/lib/cairn");
	CHECK_STR(c.bind_addr, "10.0.0.5");
	CHECK_STR(c.client_addr, "0.0.0.0");
	CHECK_STR(c.dns_addr, "127.0.0.53");
	CHECK(c.http_addr == NULL);
	CHECK(c.port_http == 18500 && c.port_dns == 53 &&
	    c.port_server == 18300 && c.port_serf_lan == 18301 &&
	    c.port_serf_wan == 18302);
	CHECK_STR(c.log_level, "debug");
	CHECK(c.server == 1 && c.bootstrap_expect == 3);
	CHECK(c.enable_script_checks == 1 && c.enable_local_script_checks);
	CHECK(c.disable_remote_exec == 0);
	CHECK(c.kv_max_value_size == 1024);
	CHECK(c.nrecursors == 2);
	if (c.nrecursors == 2) {
		CHECK_STR(c.recursors[0], "8.8.8.8");
		CHECK_STR(c.recursors[1], "1.1.1.1");
	}
	CHECK(c.nstart_join == 2);
	if (c.nstart_join == 2) {
		CHECK_STR(c.start_join[0], "10.0.0.1");
		CHECK_STR(c.start_join[1], "10.0.0.2");
	}
	CHECK(c.nmeta == 2);
	if (c.nmeta == 2) {
		CHECK_STR(c.meta_keys[0], "rack");
		CHECK_STR(c.meta_values[0], "r1");
		CHECK_STR(c.meta_keys[1], "zone");
	}
	CHECK(c.nservices == 1 && c.nchecks == 2);
	if (c.nservices == 1)
		CHECK_STR(jv_str(c.services[0], "name"), "web");
	if (c.nchecks == 2) {
		CHECK_STR(jv_str(c.checks[0], "id"), "c1");
		CHECK_STR(jv_str(c.checks[1], "id"), "c2");
		CHECK_STR(c.checks[1]->file, "all.json");
	}
	CHECK(c.nroots == 1 && c.nfiles == 1);

	/* finish lower-cases, completes the domain, derives the rest. */
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	CHECK_STR(c.node_id, "adf4238a-882b-9ddc-4a9d-5b6758e4159e");
	CHECK_STR(c.datacenter, "east-1");
	CHECK_STR(c.domain, "example.");
	CHECK_STR(c.run_dir, "/var/lib/cairn/run");
	CHECK_STR(c.http_addr, "0.0.0.0");
	CHECK_STR(c.dns_addr, "127.0.0.53");
	CHECK_STR(c.advertise_addr, "10.0.0.5");
	config_free(&c);
}

/* Consul's key spellings vary; the decoder ignores case and '_'. */
static void
test_key_spelling(void)
{
	struct config c;

	config_defaults(&c, 0);
	CHECK(load(&c, "k.json", "{\"NodeName\": \"n1\", \"Ports\": "
	    "{\"HTTP\": 1, \"SerfLAN\": 2}, \"data_dir\": null}") == 0);
	CHECK_STR(c.node_name, "n1");
	CHECK(c.port_http == 1 && c.port_serf_lan == 2);
	/* null sets nothing. */
	CHECK(c.data_dir == NULL);
	config_free(&c);
}

static void
test_dir_merge(void)
{
	struct config c;
	struct jv *v;
	char path[PATH_MAX], logpath[PATH_MAX];
	const char *out;
	int saved;

	/* Lexical order: 05 < 10 < 20 < 9 (bytes, not numbers). */
	put("10-ports.json",
	    "{\"ports\": {\"http\": 1111}, \"datacenter\": \"ten\",\n"
	    " \"recursors\": [\"10.0.0.10\"],\n"
	    " \"node_meta\": {},\n"
	    " \"services\": [{\"name\": \"b\"}, {\"name\": \"c\"}],\n"
	    " \"dns_config\": {\"only_passing\": true}}\n");
	put("05-base.json",
	    "{\"datacenter\": \"five\", \"data_dir\": \"/d\",\n"
	    " \"ports\": {\"dns\": 5353, \"http\": 5555},\n"
	    " \"recursors\": [\"10.0.0.5\"],\n"
	    " \"node_meta\": {\"a\": \"1\", \"b\": \"2\"},\n"
	    " \"service\": {\"name\": \"a\"},\n"
	    " \"dns_config\": {\"only_passing\": false}}\n");
	put("20-last.json",
	    "{\"recursors\": [\"10.0.0.20\"], \"start_join\": [\"j\"]}\n");
	put("9-after.json",
	    "{\"datacenter\": \"nine\", \"node_meta\": {\"c\": \"3\"}}\n");
	put("README", "not json at all {");
	put("x.json.bak", "{ broken");
	put("old.hcl", "datacenter = \"hcl\"\n");
	snprintf(path, sizeof(path), "%s/sub.json", tmpdir);
	mkdir(path, 0700);

	config_defaults(&c, 0);
	snprintf(logpath, sizeof(logpath), "%s/../%s.stderr", tmpdir,
	    strrchr(tmpdir, '/') + 1);
	saved = stderr_begin(logpath);
	CHECK(config_load_dir(&c, tmpdir, err, sizeof(err)) == 0);
	out = stderr_end(saved, logpath);
	unlink(logpath);
	if (err[0] != '\0')
		fprintf(stderr, "  %s\n", err);
	/* HCL is skipped, loudly; nothing else is said. */
	CHECK(count(out, "old.hcl: cairn reads JSON config only") == 1);
	CHECK(count(out, "\n") == 1);
	snprintf(path, sizeof(path), "%s/old.hcl", tmpdir);
	unlink(path);
	CHECK(c.nfiles == 4);
	if (c.nfiles == 4) {
		CHECK(strstr(c.files[0], "/05-base.json") != NULL);
		CHECK(strstr(c.files[1], "/10-ports.json") != NULL);
		CHECK(strstr(c.files[2], "/20-last.json") != NULL);
		CHECK(strstr(c.files[3], "/9-after.json") != NULL);
	}
	/* Later scalars win. */
	CHECK_STR(c.datacenter, "nine");
	/* Nested settings merge key by key. */
	CHECK(c.port_http == 1111 && c.port_dns == 5353);
	/* Lists append in load order. */
	CHECK(c.nrecursors == 3);
	if (c.nrecursors == 3) {
		CHECK_STR(c.recursors[0], "10.0.0.5");
		CHECK_STR(c.recursors[1], "10.0.0.10");
		CHECK_STR(c.recursors[2], "10.0.0.20");
	}
	CHECK(c.nservices == 3);
	if (c.nservices == 3) {
		CHECK_STR(jv_str(c.services[0], "name"), "a");
		CHECK_STR(jv_str(c.services[1], "name"), "b");
		CHECK_STR(jv_str(c.services[2], "name"), "c");
	}
	/* An empty map leaves node_meta; a non-empty one replaces it. */
	CHECK(c.nmeta == 1);
	if (c.nmeta == 1) {
		CHECK_STR(c.meta_keys[0], "c");
		CHECK_STR(c.meta_values[0], "3");
	}
	/* config_raw: the last source that has the key. */
	v = config_raw(&c, "dns_config");
	CHECK(v != NULL && v->type == JV_OBJ);
	if (v != NULL) {
		CHECK(v->file != NULL && strstr(v->file, "10-ports") != NULL);
		CHECK(jv_get(v, "only_passing") != NULL &&
		    jv_get(v, "only_passing")->b == 1);
	}
	CHECK(config_raw(&c, "DnsConfig") == v);
	CHECK(config_raw(&c, "nothing") == NULL);
	v = config_raw(&c, "datacenter");
	CHECK(v != NULL && v->type == JV_STR);
	if (v != NULL)
		CHECK_STR(v->str, "nine");

	/* A bad file stops the load, named with line and column. */
	put("15-bad.json", "{\n  \"ports\": {\"http\": \"80\"}\n}\n");
	config_free(&c);
	config_defaults(&c, 0);
	CHECK(config_load_dir(&c, tmpdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "/15-bad.json:2:21: ports.http: expected a "
	    "number") != NULL);
	/* The files before it were merged, nothing of it or after. */
	CHECK(c.nfiles == 2);
	CHECK_STR(c.datacenter, "ten");
	CHECK(c.nrecursors == 2);
	config_free(&c);

	put("15-bad.json", "{\"datacenter\": \"x\",, }");
	config_defaults(&c, 0);
	CHECK(config_load_dir(&c, tmpdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "/15-bad.json:1:20: ") != NULL);
	config_free(&c);

	snprintf(path, sizeof(path), "%s/15-bad.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	config_defaults(&c, 0);
	CHECK(config_load_dir(&c, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "No such file") != NULL);
	CHECK(config_load_file(&c, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, path) != NULL);
	snprintf(path, sizeof(path), "%s/05-base.json", tmpdir);
	CHECK(config_load_file(&c, path, err, sizeof(err)) == 0);
	CHECK_STR(c.datacenter, "five");
	CHECK(config_load_file(&c, tmpdir, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is a directory") != NULL);
	config_free(&c);
}

/* Known keys with the wrong type: where, which key, what was wanted. */
static const struct {
	const char	*text;
	const char	*err;
} bad[] = {
	{ "{\"ports\": {\"http\": \"8500\"}}",
	    "b.json:1:20: ports.http: expected a number" },
	{ "{\n\"ports\":\n  {\"dns\": 1.5}}",
	    "b.json:3:11: ports.dns: expected an integer" },
	{ "{\"ports\": {\"server\": 70000}}",
	    "b.json:1:22: ports.server: 70000 out of range (1-65535)" },
	{ "{\"ports\": {\"serf_lan\": 0}}",
	    "b.json:1:24: ports.serf_lan: 0 out of range (1-65535)" },
	{ "{\"ports\": 8500}", "b.json:1:11: ports: expected an object" },
	{ "{\"server\": \"true\"}", "b.json:1:12: server: expected a boolean" },
	{ "{\"node_name\": 5}", "b.json:1:15: node_name: expected a string" },
	{ "{\"bootstrap_expect\": -1}",
	    "b.json:1:22: bootstrap_expect: -1 out of range (0-2147483647)" },
	{ "{\"limits\": {\"kv_max_value_size\": 0}}",
	    "b.json:1:34: limits.kv_max_value_size: 0 out of range "
	    "(1-9223372036854775807)" },
	{ "{\"recursors\": \"8.8.8.8\"}",
	    "b.json:1:15: recursors: expected an array of strings" },
	{ "{\"retry_join\": [\"a\", 2]}",
	    "b.json:1:22: retry_join[1]: expected a string" },
	{ "{\"node_meta\": {\"a\": 1}}",
	    "b.json:1:21: node_meta.a: expected a string" },
	{ "{\"node_meta\": {\"a b\": \"1\"}}",
	    "b.json:1:23: node_meta.a b: Key contains invalid characters" },
	{ "{\"node_meta\": {\"consul-x\": \"1\"}}",
	    "b.json:1:28: node_meta.consul-x: Key prefix 'consul-' is "
	    "reserved for internal use" },
	{ "{\"node_meta\": []}", "b.json:1:15: node_meta: expected an object" },
	{ "{\"service\": \"web\"}",
	    "b.json:1:13: service: expected an object" },
	{ "{\"checks\": [{}, 3]}",
	    "b.json:1:17: checks[1]: expected an object" },
	{ "[]", "b.json:1:1: config must be a JSON object" },
	{ "  \"x\"", "b.json:1:3: config must be a JSON object" },
	{ "{\"a\": }",
	    "b.json:1:7: unallowed token at this point in JSON text" },
	{ "", "b.json:1:1: premature EOF" },
};

static void
test_type_errors(void)
{
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c, 0);
		CHECK(load(&c, "b.json", bad[i].text) == -1);
		CHECK_STR(err, bad[i].err);
		/* Nothing of a rejected source is kept. */
		CHECK(c.nroots == 0 && c.nfiles == 0);
		CHECK(c.port_http == 8500 && c.nmeta == 0);
		config_free(&c);
	}

	/* A late error undoes nothing: the good keys before it stay out. */
	config_defaults(&c, 0);
	CHECK(load(&c, "b.json", "{\"datacenter\": \"x\", \"recursors\": "
	    "[\"1.1.1.1\"], \"server\": 1}") == -1);
	CHECK_STR(c.datacenter, "dc1");
	CHECK(c.nrecursors == 0);
	config_free(&c);

	/* Too many node_meta pairs. */
	{
		char text[4096], *p = text;
		int k;

		p += sprintf(p, "{\"node_meta\": {");
		for (k = 0; k < 65; k++)
			p += sprintf(p, "%s\"k%d\": \"v\"", k ? "," : "", k);
		sprintf(p, "}}");
		config_defaults(&c, 0);
		CHECK(load(&c, "m.json", text) == -1);
		CHECK_STR(err, "m.json:1:15: node_meta: Node metadata cannot "
		    "contain more than 64 key/value pairs");
		config_free(&c);
	}
}

static void
test_unknown_keys(void)
{
	struct config c;
	char logpath[PATH_MAX];
	const char *out;
	int saved;

	snprintf(logpath, sizeof(logpath), "%s/stderr.txt", tmpdir);
	config_defaults(&c, 0);
	saved = stderr_begin(logpath);
	CHECK(load(&c, "u1.json", "{\"encrypt\": \"abc\", \"ui\": true, "
	    "\"Encrypt\": \"def\", \"datacenter\": \"d\", "
	    "\"ports\": {\"grpc\": 1}, \"dns_config\": {}}") == 0);
	CHECK(load(&c, "u2.json", "{\"encrypt\": \"x\", \"telemetry\": {}}") ==
	    0);
	/* A file that fails warns about nothing. */
	CHECK(load(&c, "u3.json", "{\"bogus\": 1, \"server\": 2}") == -1);
	out = stderr_end(saved, logpath);
	CHECK(count(out, "ignoring config key encrypt (u1.json)") == 1);
	CHECK(count(out, "ignoring config key ui (u1.json)") == 1);
	CHECK(count(out, "ignoring config key telemetry (u2.json)") == 1);
	CHECK(count(out, "Encrypt") == 0);
	CHECK(count(out, "u2.json)") == 1);
	CHECK(count(out, "bogus") == 0);
	/* Nested unknowns and keys daemons read themselves: silent. */
	CHECK(count(out, "grpc") == 0);
	CHECK(count(out, "dns_config") == 0);
	CHECK(count(out, "ignoring") == 3);
	CHECK_STR(c.datacenter, "d");
	/* Unknown keys are still there for config_raw. */
	CHECK(config_raw(&c, "encrypt") != NULL &&
	    strcmp(config_raw(&c, "encrypt")->str, "x") == 0);
	config_free(&c);
}

static void
test_finish(void)
{
	struct config c;
	char host[256], *dot, id1[64];

	/* data_dir is required outside dev. */
	config_defaults(&c, 0);
	CHECK(config_finish(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "data_dir must be set (or use -dev)");
	config_free(&c);

	/* Derivations from a minimal config. */
	config_defaults(&c, 0);
	CHECK(load(&c, "f.json", "{\"data_dir\": \"/srv/c\", \"node_name\": "
	    "\"alpha\", \"domain\": \"corp.\"}") == 0);
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	CHECK_STR(c.run_dir, "/srv/c/run");
	CHECK_STR(c.http_addr, "127.0.0.1");
	CHECK_STR(c.dns_addr, "127.0.0.1");
	/* bind_addr 0.0.0.0 cannot be advertised. */
	CHECK_STR(c.advertise_addr, "127.0.0.1");
	CHECK_STR(c.domain, "corp.");
	CHECK(c.node_id != NULL && strlen(c.node_id) == 36);
	if (c.node_id != NULL && strlen(c.node_id) == 36) {
		CHECK(c.node_id[8] == '-' && c.node_id[13] == '-' &&
		    c.node_id[18] == '-' && c.node_id[23] == '-');
		CHECK(c.node_id[14] == '8');
		CHECK(strchr("89ab", c.node_id[19]) != NULL);
		snprintf(id1, sizeof(id1), "%s", c.node_id);
	}
	config_free(&c);

	/* The same name gives the same id; another name another. */
	config_defaults(&c, 0);
	load(&c, "f.json", "{\"data_dir\": \"/x\", \"node_name\": \"alpha\","
	    "\"run_dir\": \"/run/cairn\", \"advertise_addr\": \"10.1.1.1\","
	    "\"addresses\": {\"http\": \"0.0.0.0\"}}");
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	CHECK_STR(c.node_id, id1);
	CHECK_STR(c.run_dir, "/run/cairn");
	CHECK_STR(c.advertise_addr, "10.1.1.1");
	CHECK_STR(c.http_addr, "0.0.0.0");
	CHECK_STR(c.dns_addr, "127.0.0.1");
	config_free(&c);
	config_defaults(&c, 0);
	load(&c, "f.json", "{\"data_dir\": \"/x\", \"node_name\": \"beta\"}");
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	CHECK(c.node_id != NULL && strcmp(c.node_id, id1) != 0);
	config_free(&c);

	/* Dev: no data_dir needed, server, loopback, hostname. */
	config_defaults(&c, 1);
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	CHECK(c.server == 1);
	CHECK_STR(c.advertise_addr, "127.0.0.1");
	CHECK(c.data_dir != NULL && strstr(c.data_dir, "cairn-dev-") != NULL);
	CHECK(c.run_dir != NULL && strstr(c.run_dir, "/run") != NULL);
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if ((dot = strchr(host, '.')) != NULL)
		*dot = '\0';
	CHECK_STR(c.node_name, host);
	config_free(&c);
}

/* Values config_finish refuses, and the key its message names. */
static const struct {
	const char	*text;
	const char	*err;
} refuse[] = {
	{ "{\"node_name\": \"web_1\"}", "node_name \"web_1\": use only "
	    "letters, digits and '-' (at most 63), or DNS cannot carry it" },
	{ "{\"node_name\": \"a.b\"}", "node_name \"a.b\": use only "
	    "letters, digits and '-' (at most 63), or DNS cannot carry it" },
	{ "{\"node_id\": \"not-a-uuid\"}",
	    "node_id \"not-a-uuid\" is not a UUID" },
	{ "{\"node_id\": \"adf4238a-882b-9ddc-4a9d-5b6758e4159\"}",
	    "node_id \"adf4238a-882b-9ddc-4a9d-5b6758e4159\" is not a UUID" },
	{ "{\"datacenter\": \"dc 1\"}",
	    "datacenter \"dc 1\": use only [a-z0-9-_]" },
	{ "{\"datacenter\": \"\"}", "datacenter must not be empty" },
	{ "{\"domain\": \"\"}", "domain must not be empty" },
	{ "{\"log_level\": \"loud\"}", "log_level \"loud\": use one of "
	    "TRACE, DEBUG, INFO, WARN, ERR" },
	{ "{\"advertise_addr\": \"0.0.0.0\"}",
	    "advertise_addr cannot be 0.0.0.0, :: or [::]" },
	{ "{\"bootstrap\": true}",
	    "'bootstrap = true' requires 'server = true'" },
	{ "{\"bootstrap_expect\": 3}",
	    "'bootstrap_expect > 0' requires 'server = true'" },
	{ "{\"server\": true, \"bootstrap\": true, \"bootstrap_expect\": 3}",
	    "'bootstrap_expect > 0' and 'bootstrap = true' are mutually "
	    "exclusive" },
};

static void
test_finish_refuses(void)
{
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++) {
		config_defaults(&c, 0);
		CHECK(load(&c, "r.json", "{\"data_dir\": \"/d\", "
		    "\"node_name\": \"n\"}") == 0);
		CHECK(load(&c, "r.json", refuse[i].text) == 0);
		CHECK(config_finish(&c, err, sizeof(err)) == -1);
		CHECK_STR(err, refuse[i].err);
		config_free(&c);
	}

	/* Ports set behind the loader's back (flags) are checked too. */
	config_defaults(&c, 0);
	load(&c, "r.json", "{\"data_dir\": \"/d\", \"node_name\": \"n\"}");
	c.port_dns = 65536;
	CHECK(config_finish(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "ports.dns: 65536 out of range (1-65535)");
	config_free(&c);

	config_defaults(&c, 1);
	load(&c, "r.json", "{\"bootstrap_expect\": 3}");
	CHECK(config_finish(&c, err, sizeof(err)) == -1);
	CHECK_STR(err, "'bootstrap_expect > 0' not allowed in dev mode");
	config_free(&c);

	/* A 63-character name is a DNS label; 64 is not. */
	config_defaults(&c, 0);
	load(&c, "r.json", "{\"data_dir\": \"/d\", \"node_name\": \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"}");
	CHECK(config_finish(&c, err, sizeof(err)) == 0);
	config_free(&c);
	config_defaults(&c, 0);
	load(&c, "r.json", "{\"data_dir\": \"/d\", \"node_name\": \""
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"}");
	CHECK(config_finish(&c, err, sizeof(err)) == -1);
	config_free(&c);
}

/* A good config cut at every byte, or with a byte added: no crash. */
static void
test_mutations(void)
{
	static const char text[] =
	    "{\"node_name\": \"n\", \"ports\": {\"http\": 8500},\n"
	    " \"recursors\": [\"1.1.1.1\"], \"node_meta\": {\"a\": \"b\"},\n"
	    " \"services\": [{\"name\": \"web\"}], \"server\": true}";
	struct config c;
	char buf[sizeof(text) + 1];
	size_t k, n = sizeof(text) - 1;

	for (k = 0; k < n; k++) {
		config_defaults(&c, 0);
		CHECK(config_load_text(&c, text, k, "m.json", err,
		    sizeof(err)) == -1);
		CHECK(strncmp(err, "m.json:", 7) == 0);
		config_free(&c);
	}
	for (k = 0; k <= n; k++) {
		memcpy(buf, text, k);
		buf[k] = '"';
		memcpy(buf + k + 1, text + k, n - k);
		config_defaults(&c, 0);
		/* An extra quote anywhere breaks this text. */
		CHECK(config_load_text(&c, buf, n + 1, "m.json", err,
		    sizeof(err)) == -1);
		config_free(&c);
	}
	config_defaults(&c, 0);
	CHECK(config_load_text(&c, text, n, "m.json", err, sizeof(err)) == 0);
	config_free(&c);
}

int
main(void)
{
	char cmd[PATH_MAX + 16];
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	RUN(test_defaults);
	RUN(test_all_keys);
	RUN(test_key_spelling);
	RUN(test_dir_merge);
	RUN(test_type_errors);
	RUN(test_unknown_keys);
	RUN(test_finish);
	RUN(test_finish_refuses);
	RUN(test_mutations);
	rc = TEST_DONE();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
