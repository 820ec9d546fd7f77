/*
 * agent_cmds.c - two small commands about the local agent, Consul's
 * command/reload and command/info:
 *
 *	cairn reload	PUT /v1/agent/reload: the agent reads its config
 *			files again; prints "Configuration reload triggered"
 *	cairn info	GET /v1/agent/self: each Stats section, sorted, as
 *			"section:" then "\tkey = value" lines sorted by key
 *
 * Errors are Consul's: "Error reloading: ..." and "Error querying agent:
 * ..." with the api package's "Unexpected response code: N (body)",
 * exit 1. Arguments after the flags are ignored, as Consul ignores them.
 *
 * Leaves out: Consul prints a Stats value that is not a string with Go's
 * %s (e.g. "%!s(float64=1)"); here a number or boolean prints as its
 * JSON text and null as "<nil>". cairn's agent sends strings only.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

static const char reload_help[] =
"Usage: cairn reload\n"
"\n"
"  Causes the agent to reload configurations. This can be used instead\n"
"  of sending the SIGHUP signal to the agent.\n";

static const char info_help[] =
"Usage: cairn info [options]\n"
"\n"
"  Provides debugging information for operators\n";

static const char *const agent_cmds_titles[] = { "HTTP API Options" };

/* reload_main - `cairn reload`; argv[0] is "reload" */
int
reload_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	char err[1200];
	int rc = 1;

	http_flags_init(&hf, 0);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if (cli_flags_usage(argc - 1, argv + 1, reload_help, tabs,
	    agent_cmds_titles, &rc) < 0)
		return rc;
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (http_do(&c, "PUT", "/v1/agent/reload", "", 0, NULL, 0, &resp, err,
	    sizeof(err)) == 0) {
		if (resp.code == 200)
			rc = 0;
		else
			http_status_error(&resp, err, sizeof(err));
	}
	buf_free(&resp.body);
	if (rc != 0) {
		fprintf(stderr, "Error reloading: %s\n", err);
		return 1;
	}
	printf("Configuration reload triggered\n");
	return fflush(stdout) == EOF ? 1 : 0;
}

/* info_cmp - qsort_r: indexes of an object's members by key */
static int
info_cmp(const void *a, const void *b, void *arg)
{
	const yajl_val obj = arg;

	return strcmp(obj->u.object.keys[*(const size_t *)a],
	    obj->u.object.keys[*(const size_t *)b]);
}

/* info_sorted - 0..n-1 ordered by obj's keys; free() it */
static size_t *
info_sorted(yajl_val obj)
{
	size_t i, n = obj->u.object.len, *idx;

	if ((idx = calloc(n + 1, sizeof(*idx))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), info_cmp, obj);
	return idx;
}

/* info_value - a Stats value as Consul's %s prints a string */
static void
info_value(struct buf *out, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		buf_puts(out, YAJL_GET_STRING(v));
	else if (YAJL_IS_NUMBER(v))
		buf_puts(out, YAJL_GET_NUMBER(v));
	else if (YAJL_IS_TRUE(v))
		buf_puts(out, "true");
	else if (YAJL_IS_FALSE(v))
		buf_puts(out, "false");
	else
		buf_puts(out, "<nil>");
}

/*
 * info_format - Stats of the /v1/agent/self answer: sections and their
 * keys sorted. -1 with Consul's text in err when there is no Stats or a
 * section is not an object; out then holds what Consul printed before
 * it gave up.
 */
static int
info_format(struct buf *out, yajl_val self, char *err, size_t errlen)
{
	const char *path[] = { "Stats", NULL };
	yajl_val stats, sec;
	size_t i, j, *idx, *sub;

	stats = YAJL_IS_OBJECT(self) ? yajl_tree_get(self, path, yajl_t_any) :
	    NULL;
	if (stats == NULL || !YAJL_IS_OBJECT(stats)) {
		snprintf(err, errlen, "Agent response did not contain 'Stats' "
		    "key");
		return -1;
	}
	idx = info_sorted(stats);
	for (i = 0; i < stats->u.object.len; i++) {
		buf_printf(out, "%s:\n", stats->u.object.keys[idx[i]]);
		sec = stats->u.object.values[idx[i]];
		if (!YAJL_IS_OBJECT(sec)) {
			snprintf(err, errlen, "Got invalid subkey in stats: "
			    "map[]");
			free(idx);
			return -1;
		}
		sub = info_sorted(sec);
		for (j = 0; j < sec->u.object.len; j++) {
			buf_printf(out, "\t%s = ", sec->u.object.keys[sub[j]]);
			info_value(out, sec->u.object.values[sub[j]]);
			buf_putc(out, '\n');
		}
		free(sub);
	}
	free(idx);
	return 0;
}

/* info_main - `cairn info`; argv[0] is "info" */
int
info_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct buf out;
	yajl_val self = NULL;
	char err[1200];
	int rc = 1;

	http_flags_init(&hf, 0);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if (cli_flags_usage(argc - 1, argv + 1, info_help, tabs,
	    agent_cmds_titles, &rc) < 0)
		return rc;
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (http_do(&c, "GET", "/v1/agent/self", "", 1, NULL, 0, &resp, err,
	    sizeof(err)) == 0) {
		if (resp.code != 200)
			http_status_error(&resp, err, sizeof(err));
		else
			self = cli_json_parse((const char *)buf_head(
			    &resp.body), buf_used(&resp.body), err,
			    sizeof(err));
	}
	buf_free(&resp.body);
	if (self == NULL) {
		fprintf(stderr, "Error querying agent: %s\n", err);
		return 1;
	}
	buf_init(&out);
	rc = info_format(&out, self, err, sizeof(err));
	/* Consul has printed the sections before a bad one: so do we. */
	if (cli_write(stdout, &out) < 0)
		rc = -1;
	else if (rc < 0)
		fprintf(stderr, "%s\n", err);
	yajl_tree_free(self);
	buf_free(&out);
	return rc < 0 ? 1 : 0;
}
