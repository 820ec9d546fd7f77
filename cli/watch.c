/*
 * watch.c - `cairn watch -type TYPE [options] [child...]`, Consul's
 * command/watch with the plan of its api/watch package: a blocking query
 * in a loop (?index= the last X-Consul-Index), and on each change the
 * child is run through the shell ($SHELL, else /bin/sh, with -c and the
 * arguments joined by spaces; -shell=false runs them directly) with the
 * result as JSON on stdin and CONSUL_INDEX in its environment. Without a
 * child the first result is printed (indented) and the watch ends.
 *
 * As Consul's plan does, the first answer always counts as a change, so
 * the child runs once at start with what is there now (an empty list
 * too); then it runs when the index moves and the result differs from
 * the last one handed on. A failed query is retried after 5s * failures
 * squared (at most 180s), and forgets the index. A child that fails ends
 * the watch with exit 1.
 *
 * Each type is one row of watch_types: its name, the options it takes
 * (any other given is "Invalid parameters: [...]"), the URL builder
 * (which checks the options it requires), and optionally which part of
 * the result to hand on: the event watch passes only the events after
 * the last one it saw (api/watch/funcs.go eventWatch); the key watch the
 * one pair, or null while the key does not exist.
 *
 * Leaves out: the HTML escaping of Go's JSON encoder, and forwarding
 * signals to the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "json.h"

#define WATCH_RETRY		5	/* seconds, times failures squared */
#define WATCH_RETRY_MAX		180
#define WATCH_JSON_DEPTH	24	/* deeper answers are refused */

static const char watch_help[] =
"Usage: cairn watch [options] [child...]\n"
"\n"
"  Watches for changes in a given data view from Consul. If a child process\n"
"  is specified, it will be invoked with the latest results on changes.\n"
"  Otherwise, the latest values are dumped to stdout and the watch\n"
"  terminates.\n"
"\n"
"  Providing the watch type is required, and other parameters may be\n"
"  required or supported depending on the watch type.\n";

static const char *const watch_titles[] = { "HTTP API Options",
    "Command Options" };

/* The options a watch type may take (Consul's watch parameters). */
enum {
	WP_KEY = 1 << 0,
	WP_PREFIX = 1 << 1,
	WP_SERVICE = 1 << 2,
	WP_TAG = 1 << 3,
	WP_PASSINGONLY = 1 << 4,
	WP_STATE = 1 << 5,
	WP_NAME = 1 << 6,
	WP_STALE = 1 << 7,
};

struct watch_opts {
	const char	*key, *prefix, *service, *tag, *passingonly, *state;
	const char	*name;
	int		 stale;
	int		 passing;	/* passingonly, parsed */
};

struct watch_type {
	const char	*type;
	unsigned	 params;	/* the WP_* it takes */
	/* path and query (without index); -1 with err if an option is
	   missing or wrong */
	int		(*url)(const struct watch_opts *, struct buf *path,
			    struct buf *query, char *err, size_t errlen);
	/* the first element of the result to hand on; NULL: all */
	size_t		(*first)(yajl_val, uint64_t last, int have_last);
	unsigned	 flags;		/* WT_* */
};

/*
 * WT_SINGLE: the answer is a one-element array; hand on the element, or
 * null when there is none (api's KV().Get gives one pair or nil).
 * WT_404_NULL: a 404 is an empty answer (a missing key), not an error.
 */
enum { WT_SINGLE = 1, WT_404_NULL = 2 };

/* watch_url_key - /v1/kv/<key> */
static int
watch_url_key(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	if (*o->key == '\0') {
		snprintf(err, errlen, "Must specify a single key to watch");
		return -1;
	}
	buf_puts(path, "/v1/kv/");
	http_escape_path(path, o->key);
	return 0;
}

/* watch_url_keyprefix - /v1/kv/<prefix>?recurse */
static int
watch_url_keyprefix(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	if (*o->prefix == '\0') {
		snprintf(err, errlen, "Must specify a single prefix to watch");
		return -1;
	}
	buf_puts(path, "/v1/kv/");
	http_escape_path(path, o->prefix);
	buf_puts(query, "recurse=");
	return 0;
}

/* watch_url_event - /v1/event/list[?name=N] */
static int
watch_url_event(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	buf_puts(path, "/v1/event/list");
	if (*o->name != '\0') {
		buf_puts(query, "name=");
		http_escape_query(query, o->name);
	}
	return 0;
}

/* watch_url_services - /v1/catalog/services */
static int
watch_url_services(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	buf_puts(path, "/v1/catalog/services");
	return 0;
}

/* watch_url_nodes - /v1/catalog/nodes */
static int
watch_url_nodes(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	buf_puts(path, "/v1/catalog/nodes");
	return 0;
}

/* watch_url_service - /v1/health/service/<service>[?tag=][&passing=1] */
static int
watch_url_service(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	if (*o->service == '\0') {
		snprintf(err, errlen, "Must specify a single service to watch");
		return -1;
	}
	buf_puts(path, "/v1/health/service/");
	http_escape_path(path, o->service);
	if (*o->tag != '\0') {
		buf_puts(query, "tag=");
		http_escape_query(query, o->tag);
	}
	if (o->passing)
		buf_printf(query, "%spassing=1", buf_used(query) ? "&" : "");
	return 0;
}

/* watch_url_checks - /v1/health/checks/<service> or /state/<state> */
static int
watch_url_checks(const struct watch_opts *o, struct buf *path,
    struct buf *query, char *err, size_t errlen)
{
	if (*o->service != '\0' && *o->state != '\0') {
		snprintf(err, errlen, "Cannot specify service and state");
		return -1;
	}
	if (*o->service != '\0') {
		buf_puts(path, "/v1/health/checks/");
		http_escape_path(path, o->service);
	} else {
		buf_puts(path, "/v1/health/state/");
		http_escape_path(path, *o->state != '\0' ? o->state : "any");
	}
	return 0;
}

/* watch_hex - the value of n hex digits (Go's ParseUint base 16) */
static int
watch_hex(const char *s, size_t n, uint64_t *v)
{
	size_t i;
	int c, d;

	*v = 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (uint64_t)d;
	}
	return 0;
}

/* watch_id_index - api's Event.IDToIndex; -1 for a malformed ID */
static int
watch_id_index(const char *id, uint64_t *out)
{
	char lower[17], upper[17];
	uint64_t lo, hi;

	if (id == NULL || strlen(id) != 36)
		return -1;
	memcpy(lower, id, 8);
	memcpy(lower + 8, id + 9, 4);
	memcpy(lower + 12, id + 14, 4);
	memcpy(upper, id + 19, 4);
	memcpy(upper + 4, id + 24, 12);
	if (watch_hex(lower, 16, &lo) < 0 || watch_hex(upper, 16, &hi) < 0)
		return -1;
	*out = lo ^ hi;
	return 0;
}

/* watch_first_event - the events after the one whose ID gave last */
static size_t
watch_first_event(yajl_val events, uint64_t last, int have_last)
{
	uint64_t idx;
	size_t i;
	int bad = 0;

	if (!have_last || !YAJL_IS_ARRAY(events))
		return 0;
	for (i = 0; i < events->u.array.len; i++)
		if (watch_id_index(cli_json_str(events->u.array.values[i],
		    "ID", &bad), &idx) == 0 && idx == last)
			return i + 1;
	return 0;
}

static const struct watch_type watch_types[] = {
	{ "event", WP_NAME, watch_url_event, watch_first_event, 0 },
	{ "key", WP_KEY | WP_STALE, watch_url_key, NULL,
	    WT_SINGLE | WT_404_NULL },
	{ "keyprefix", WP_PREFIX | WP_STALE, watch_url_keyprefix, NULL,
	    WT_404_NULL },
	{ "services", WP_STALE, watch_url_services, NULL, 0 },
	{ "nodes", WP_STALE, watch_url_nodes, NULL, 0 },
	{ "service", WP_SERVICE | WP_TAG | WP_PASSINGONLY | WP_STALE,
	    watch_url_service, NULL, 0 },
	{ "checks", WP_SERVICE | WP_STATE | WP_STALE, watch_url_checks, NULL,
	    0 },
	{ NULL, 0, NULL, NULL, 0 }
};

/* watch_json_value - v again through our writer (Go's layout) */
static int
watch_json_value(struct json *j, yajl_val v, int depth)
{
	size_t i;

	if (depth > WATCH_JSON_DEPTH)
		return -1;
	if (YAJL_IS_STRING(v))
		json_str(j, YAJL_GET_STRING(v));
	else if (YAJL_IS_NUMBER(v)) {
		/* The agent's digits as they came: write a placeholder
		   for the commas and indent, then swap it for them. */
		json_null(j);
		j->b->len -= 4;
		buf_puts(j->b, YAJL_GET_NUMBER(v));
	} else if (YAJL_IS_OBJECT(v)) {
		json_obj_open(j);
		for (i = 0; i < v->u.object.len; i++) {
			json_key(j, v->u.object.keys[i]);
			if (watch_json_value(j, v->u.object.values[i],
			    depth + 1) < 0)
				return -1;
		}
		json_obj_close(j);
	} else if (YAJL_IS_ARRAY(v)) {
		json_arr_open(j);
		for (i = 0; i < v->u.array.len; i++)
			if (watch_json_value(j, v->u.array.values[i],
			    depth + 1) < 0)
				return -1;
		json_arr_close(j);
	} else if (YAJL_IS_TRUE(v))
		json_bool(j, 1);
	else if (YAJL_IS_FALSE(v))
		json_bool(j, 0);
	else
		json_null(j);
	return 0;
}

/*
 * watch_json - the result from element first on (of an array; the whole
 * of anything else), compact or indented; -1 if nested too deeply
 */
static int
watch_json(struct buf *out, yajl_val v, size_t first, int pretty)
{
	struct json j;
	size_t i;

	buf_reset(out);
	json_init(&j, out, pretty);
	if (!YAJL_IS_ARRAY(v))
		return watch_json_value(&j, v, 0);
	json_arr_open(&j);
	for (i = first; i < v->u.array.len; i++)
		if (watch_json_value(&j, v->u.array.values[i], 1) < 0)
			return -1;
	json_arr_close(&j);
	return 0;
}

/* watch_view - what of the answer a type hands on (see WT_SINGLE) */
static yajl_val
watch_view(const struct watch_type *t, yajl_val root)
{
	static struct yajl_val_s null_val = { .type = yajl_t_null };

	if (root == NULL || !(t->flags & WT_SINGLE) || !YAJL_IS_ARRAY(root))
		return root;
	return root->u.array.len > 0 ? root->u.array.values[0] : &null_val;
}

/*
 * watch_get - one (blocking) GET, as Consul's api makes it: 0 with the
 * answer and its X-Consul-Index, -1 with the api's error text. http_do
 * sets no timeout: the agent answers when its wait is over.
 */
static int
watch_get(const struct http_client *c, const struct watch_type *t,
    const char *path, const char *query, uint64_t index,
    struct http_resp *resp, uint64_t *idx, char *err, size_t errlen)
{
	struct buf q;
	int ret = -1;

	buf_init(&q);
	buf_puts(&q, query);
	if (index > 0)
		buf_printf(&q, "%sindex=%llu", *query != '\0' ? "&" : "",
		    (unsigned long long)index);
	if (http_do(c, "GET", path, buf_cstr(&q), 1, NULL, 0, resp, err,
	    errlen) == 0) {
		if (resp->code == 404 && (t->flags & WT_404_NULL)) {
			buf_reset(&resp->body);
			buf_puts(&resp->body, "null");
			resp->code = 200;
		}
		if (resp->code != 200)
			http_status_error(resp, err, errlen);
		else if (snapshot_index_parse(resp->index, idx, err,
		    errlen) == 0)
			ret = 0;
	}
	buf_free(&q);
	if (ret < 0)
		buf_free(&resp->body);
	return ret;
}

/* How to run the child. */
struct watch_child {
	char	**argv;		/* the arguments after the options */
	int	  argc;
	int	  shell;
	char	 *script;	/* argv joined by spaces, for the shell */
};

/* watch_status_text - Go's ExitError text: "exit status 2" */
static void
watch_status_text(int status, char *out, size_t n)
{
	if (WIFEXITED(status))
		snprintf(out, n, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, n, "signal: %s", strsignal(WTERMSIG(status)));
	else
		snprintf(out, n, "wait status %d", status);
}

/*
 * watch_run - run the child with json on stdin and CONSUL_INDEX set;
 * 0 when it exits 0, else -1 after Consul's message
 */
static int
watch_run(const struct watch_child *ch, uint64_t index, const struct buf *in)
{
	int in_pipe[2], err_pipe[2], status, e = 0;
	const char *sh;
	char num[32], why[128];
	size_t off = 0;
	ssize_t w;
	pid_t pid;

	if (pipe2(in_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		fprintf(stderr, "Error starting handler: pipe: %s\n",
		    strerror(errno));
		return -1;
	}
	if ((sh = getenv("SHELL")) == NULL || *sh == '\0')
		sh = "/bin/sh";
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "Error starting handler: fork: %s\n",
		    strerror(errno));
		return -1;
	}
	if (pid == 0) {
		dup2(in_pipe[0], 0);
		signal(SIGPIPE, SIG_DFL);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)index);
		setenv("CONSUL_INDEX", num, 1);
		if (ch->shell)
			execl(sh, sh, "-c", ch->script, (char *)NULL);
		else
			execvp(ch->argv[0], ch->argv);
		/* err_pipe closes on a successful exec: the parent reads 0. */
		e = errno;
		if (write(err_pipe[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(in_pipe[0]);
	close(err_pipe[1]);
	if (read(err_pipe[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		close(err_pipe[0]);
		close(in_pipe[1]);
		waitpid(pid, &status, 0);
		fprintf(stderr, "Error starting handler: fork/exec %s: %s\n",
		    ch->shell ? sh : ch->argv[0], strerror(e));
		return -1;
	}
	close(err_pipe[0]);
	/* A child that does not read its input is not an error (as Go). */
	while (off < buf_used(in)) {
		w = write(in_pipe[1], buf_head(in) + off, buf_used(in) - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	close(in_pipe[1]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "Error executing handler: wait: %s\n",
			    strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	watch_status_text(status, why, sizeof(why));
	fprintf(stderr, "Error executing handler: %s\n", why);
	return -1;
}

/*
 * watch_loop - api/watch's plan: query, and hand on each change. Returns
 * the exit code: 0 after printing (no child), 1 when the child failed.
 */
static int
watch_loop(const struct http_client *c, const struct watch_type *t,
    const char *path, const char *query, const struct watch_child *ch)
{
	struct http_resp r;
	struct buf res, last_res, out;
	uint64_t idx = 0, last = 0;
	char err[1500];
	unsigned failures = 0, retry;
	int have_last = 0, old_have, rc = -1;
	yajl_val root, view;
	size_t first;

	buf_init(&res);
	buf_init(&last_res);
	buf_init(&out);
	for (;;) {
		root = NULL;
		if (watch_get(c, t, path, query, have_last ? last : 0, &r,
		    &idx, err, sizeof(err)) == 0) {
			root = cli_json_parse((const char *)buf_head(&r.body),
			    buf_used(&r.body), err, sizeof(err));
			buf_free(&r.body);
			view = watch_view(t, root);
			first = root != NULL && t->first != NULL ?
			    t->first(root, last, have_last) : 0;
			if (root != NULL && watch_json(&res, view, first,
			    0) < 0) {
				snprintf(err, sizeof(err), "response nested "
				    "too deeply");
				yajl_tree_free(root);
				root = NULL;
			}
		}
		if (root == NULL) {
			/* Consul's backoff; the index is forgotten. */
			failures++;
			have_last = 0;
			retry = WATCH_RETRY * failures * failures;
			if (retry > WATCH_RETRY_MAX || failures > 6)
				retry = WATCH_RETRY_MAX;
			fprintf(stderr, "[ERR] consul.watch: Watch (type: %s) "
			    "errored: %s, retry in %us\n", t->type, err, retry);
			sleep(retry);
			continue;
		}
		failures = 0;
		if (have_last && last == idx) {
			yajl_tree_free(root);
			continue;
		}
		old_have = have_last;
		last = idx;
		have_last = 1;
		if (old_have && buf_used(&res) == buf_used(&last_res) &&
		    memcmp(buf_head(&res), buf_head(&last_res),
		    buf_used(&res)) == 0) {
			yajl_tree_free(root);
			continue;
		}
		buf_reset(&last_res);
		buf_append(&last_res, buf_head(&res), buf_used(&res));
		if (ch->argc == 0) {
			/* No child: print the result indented, and stop. */
			watch_json(&out, view, first, 1);
			buf_putc(&out, '\n');
			yajl_tree_free(root);
			rc = cli_write(stdout, &out) < 0 ? 1 : 0;
			break;
		}
		yajl_tree_free(root);
		buf_reset(&out);
		buf_append(&out, buf_head(&res), buf_used(&res));
		buf_putc(&out, '\n');
		if (watch_run(ch, idx, &out) < 0) {
			rc = 1;
			break;
		}
	}
	buf_free(&res);
	buf_free(&last_res);
	buf_free(&out);
	return rc;
}

/* watch_usage - the help, on stdout when asked for, else stderr */
static int
watch_usage(const struct cli_flag *const *tabs, int asked)
{
	return cli_help(watch_help, tabs, watch_titles, asked);
}

/*
 * watch_params_check - Consul's "Invalid parameters: [...]" for options
 * given that the type does not take
 */
static int
watch_params_check(const struct watch_type *t, const struct watch_opts *o,
    char *err, size_t errlen)
{
	const struct {
		unsigned	 bit;
		const char	*name;
		int		 given;
	} p[] = {
		{ WP_KEY, "key", *o->key != '\0' },
		{ WP_PREFIX, "prefix", *o->prefix != '\0' },
		{ WP_SERVICE, "service", *o->service != '\0' },
		{ WP_TAG, "tag", *o->tag != '\0' },
		{ WP_STALE, "stale", o->stale },
		{ WP_STATE, "state", *o->state != '\0' },
		{ WP_NAME, "name", *o->name != '\0' },
		{ WP_PASSINGONLY, "passingonly", *o->passingonly != '\0' },
	};
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (p[i].given && !(t->params & p[i].bit))
			buf_printf(&b, "%s%s", buf_used(&b) ? " " : "",
			    p[i].name);
	if (buf_used(&b) > 0)
		snprintf(err, errlen, "Invalid parameters: [%s]",
		    buf_cstr(&b));
	buf_free(&b);
	return *err != '\0' ? -1 : 0;
}

/* watch_main - the command */
int
watch_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct watch_opts o;
	struct watch_child ch;
	const struct watch_type *t;
	const char *type = "";
	struct buf path, query, script;
	char err[1200];
	int r, i, rc;

	memset(&o, 0, sizeof(o));
	o.key = o.prefix = o.service = o.tag = o.passingonly = o.state =
	    o.name = "";
	memset(&ch, 0, sizeof(ch));
	ch.shell = 1;
	http_flags_init(&hf, 1);
	/* Sorted by name, as Go's flag package prints them. */
	const struct cli_flag cmd[] = {
		{ "key", CLI_STR, &o.key, "string", "Specifies the key to "
		    "watch. Only for 'key' type." },
		{ "name", CLI_STR, &o.name, "string", "Specifies an event name "
		    "to watch. Only for 'event' type." },
		{ "passingonly", CLI_STR, &o.passingonly, "string",
		    "Specifies if only hosts passing all checks are "
		    "displayed. Optional for 'service' type, must be one of "
		    "`[true|false]`. Defaults false." },
		{ "prefix", CLI_STR, &o.prefix, "string", "Specifies the key "
		    "prefix to watch. Only for 'keyprefix' type." },
		{ "service", CLI_STR, &o.service, "string", "Specifies the "
		    "service to watch. Required for 'service' type, optional "
		    "for 'checks' type." },
		{ "shell", CLI_BOOL, &ch.shell, NULL, "Use a shell to run the "
		    "command (can set a custom shell via the SHELL "
		    "environment variable)." },
		{ "state", CLI_STR, &o.state, "string", "Specifies the states "
		    "to watch. Optional for 'checks' type." },
		{ "tag", CLI_STR, &o.tag, "string", "Specifies the service tag "
		    "to filter on. Optional for 'service' type." },
		{ "type", CLI_STR, &type, "string", "Specifies the watch type. "
		    "One of key, keyprefix, services, nodes, service, checks, "
		    "or event." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2)
		return watch_usage(tabs, 1);
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return watch_usage(tabs, 0);
	}
	if (*type == '\0') {
		fprintf(stderr, "Watch type must be specified\n\n");
		return watch_usage(tabs, 0);
	}
	o.stale = hf.stale;
	if (*o.passingonly != '\0') {
		if (strcmp(o.passingonly, "true") == 0 ||
		    strcmp(o.passingonly, "1") == 0)
			o.passing = 1;
		else if (strcmp(o.passingonly, "false") != 0 &&
		    strcmp(o.passingonly, "0") != 0) {
			fprintf(stderr, "Failed to parse passingonly flag: "
			    "strconv.ParseBool: parsing \"%s\": invalid "
			    "syntax\n", o.passingonly);
			return 1;
		}
	}
	for (t = watch_types; t->type != NULL; t++)
		if (strcmp(t->type, type) == 0)
			break;
	if (t->type == NULL) {
		fprintf(stderr, "Unsupported watch type: %s\n", type);
		return 1;
	}
	buf_init(&path);
	buf_init(&query);
	err[0] = '\0';
	if (t->url(&o, &path, &query, err, sizeof(err)) < 0 ||
	    watch_params_check(t, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		buf_free(&path);
		buf_free(&query);
		return 1;
	}
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		rc = 1;
		goto out;
	}
	/* The stale setting belongs to the types that take it. */
	c.stale = (t->params & WP_STALE) ? o.stale : 0;
	rc = http_do(&c, "GET", "/v1/agent/self", "", 0, NULL, 0, &resp, err,
	    sizeof(err));
	if (rc == 0 && resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		rc = -1;
	}
	buf_free(&resp.body);
	if (rc < 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		rc = 1;
		goto out;
	}
	ch.argc = argc - 1 - r;
	ch.argv = argv + 1 + r;
	buf_init(&script);
	for (i = 0; i < ch.argc; i++)
		buf_printf(&script, "%s%s", i ? " " : "", ch.argv[i]);
	ch.script = buf_cstr(&script);
	/* A child that stops reading must not kill the watch. */
	signal(SIGPIPE, SIG_IGN);
	rc = watch_loop(&c, t, buf_cstr(&path), buf_cstr(&query), &ch);
	buf_free(&script);
out:
	buf_free(&path);
	buf_free(&query);
	return rc;
}
