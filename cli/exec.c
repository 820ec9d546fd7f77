/*
 * exec.c - `cairn exec [options] [-|command...]`, Consul's command/exec:
 * run a command on every node that has remote exec enabled (and passes
 * the -node, -service and -tag filters) and print what each one says.
 *
 * As Consul does, through the KV store and one user event:
 *	- a session (Behavior delete, TTL 15s, renewed every 5s), so that
 *	  all the job's keys vanish with it however we end;
 *	- the job spec, {"Command":"...","Wait":<ns>} (Args for -shell=false,
 *	  Script, base64, for `-` and stdin), at <prefix>/<session>/job,
 *	  written with ?acquire=<session>;
 *	- -wait-repl later, the event "_rexec" with the payload
 *	  {"Prefix":"<prefix>","Session":"<session>"} and the filters;
 *	- then blocking reads of <prefix>/<session>/?keys for each node's
 *	  <node>/ack, <node>/out/<5 hex digits> (a chunk of output, or empty:
 *	  a heartbeat) and <node>/exit (the exit code), printed as
 *
 *	    node: a line of output
 *	==> node: finished with exit code 0
 *	2 / 2 node(s) completed / acknowledged
 *
 *	  once nothing new has come for -wait (twice that while a node that
 *	  acknowledged has not finished);
 *	- last the session is destroyed and the tree deleted.
 * The exit code is 2 when a node exited non-zero or never finished, 1
 * when something failed or we were interrupted (SIGINT, SIGTERM), else 0.
 *
 * One difference on purpose: Consul prints each batch of new keys in the
 * order the listing gives them, so a node's exit code can come out
 * before its last output when both arrive in one read. Here a batch is
 * printed acknowledgements first, then output, then exit codes.
 *
 * The agents' side is cairn-checkd's (checkd/rexec.c). The regular
 * expressions are POSIX extended ones, checked here and matched by each
 * agent's gossipd.
 *
 * Leaves out: another datacenter (-datacenter names one cairn cannot
 * reach: it has no WAN pool, so the session cannot be made there).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "base64.h"
#include "cli.h"
#include "duration.h"
#include "gopath.h"
#include "json.h"
#include "log.h"

#define EXEC_PREFIX	"_rexec"	/* rExecPrefix */
#define EXEC_EVENT	"_rexec"	/* the user event's name */
#define EXEC_JOB	"job"		/* rExecFileName */
#define EXEC_TTL	"15s"		/* rExecTTL */
#define EXEC_RENEW_NS	(5 * DUR_S)	/* rExecRenewInterval */
#define EXEC_QUIET_NS	(2 * DUR_S)	/* rExecQuietWait */
#define EXEC_REPL_NS	(200 * DUR_MS)	/* rExecReplicationWait */
/* A blocking read waits at most this long, so a signal is seen soon. */
#define EXEC_POLL_NS	(1 * DUR_S)

static const char exec_help[] =
"Usage: cairn exec [options] [-|command...]\n"
"\n"
"  Evaluates a command on remote cairn nodes. The nodes responding can\n"
"  be filtered using regular expressions on node name, service, and tag\n"
"  definitions. If a command is '-', stdin will be read until EOF\n"
"  and used as a script input.\n";

static const char *const exec_titles[] = { "HTTP API Options",
    "Command Options" };

static volatile sig_atomic_t exec_signalled;

/* One `cairn exec`: the agent, the session and what was seen. */
struct exec {
	struct http_client	 c;
	int			 verbose;
	int64_t			 wait;		/* -wait */
	char			 session[128];
	char			*dir;		/* prefix/session/ */
	char			*tree;		/* prefix/session */
	int64_t			 renew_at;	/* monotonic ns; 0: none */
	char			**seen;		/* keys handled, sorted */
	size_t			 nseen;
	unsigned		 acks, exits, bad;
};

/* exec_now - the monotonic clock in ns */
static int64_t
exec_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * DUR_S + ts.tv_nsec;
}

/* exec_signal - SIGINT, SIGTERM: Consul's shutdownCh */
static void
exec_signal(int sig)
{
	exec_signalled = sig;
}

/* exec_spec_encode - see cli.h */
void
exec_spec_encode(struct buf *b, const char *cmd, char *const *args,
    size_t nargs, const void *script, size_t slen, int64_t wait_ns)
{
	struct json j;
	size_t i;

	json_init(&j, b, 0);
	json_obj_open(&j);
	/* rExecSpec: Command, Args and Script are omitempty */
	if (cmd != NULL && *cmd != '\0') {
		json_key(&j, "Command");
		json_str(&j, cmd);
	}
	if (nargs > 0) {
		json_key(&j, "Args");
		json_arr_open(&j);
		for (i = 0; i < nargs; i++)
			json_str(&j, args[i]);
		json_arr_close(&j);
	}
	if (slen > 0) {
		json_key(&j, "Script");
		json_base64(&j, script, slen);
	}
	json_key(&j, "Wait");
	json_i64(&j, wait_ns);
	json_obj_close(&j);
}

/* exec_event_encode - see cli.h */
void
exec_event_encode(struct buf *b, const char *prefix, const char *session)
{
	struct json j;

	json_init(&j, b, 0);
	json_obj_open(&j);
	json_key(&j, "Prefix");
	json_str(&j, prefix);
	json_key(&j, "Session");
	json_str(&j, session);
	json_obj_close(&j);
}

/*
 * exec_space_before - the length of the UTF-8 space (unicode.IsSpace)
 * that ends s[0..n), or 0
 */
static size_t
exec_space_before(const unsigned char *s, size_t n)
{
	static const struct {
		unsigned char	 b[3];
		size_t		 len;
	} sp[] = {
		{ { 0xc2, 0x85 }, 2 }, { { 0xc2, 0xa0 }, 2 },
		{ { 0xe1, 0x9a, 0x80 }, 3 }, { { 0xe2, 0x80, 0xa8 }, 3 },
		{ { 0xe2, 0x80, 0xa9 }, 3 }, { { 0xe2, 0x80, 0xaf }, 3 },
		{ { 0xe2, 0x81, 0x9f }, 3 }, { { 0xe3, 0x80, 0x80 }, 3 },
	};
	size_t i;

	if (n == 0)
		return 0;
	if (strchr(" \t\n\v\f\r", s[n - 1]) != NULL && s[n - 1] != '\0')
		return 1;
	/* U+2000 to U+200A */
	if (n >= 3 && s[n - 3] == 0xe2 && s[n - 2] == 0x80 &&
	    s[n - 1] >= 0x80 && s[n - 1] <= 0x8a)
		return 3;
	for (i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		if (n >= sp[i].len &&
		    memcmp(s + n - sp[i].len, sp[i].b, sp[i].len) == 0)
			return sp[i].len;
	return 0;
}

/* exec_prefix_lines - see cli.h */
void
exec_prefix_lines(struct buf *b, const char *target, int arrow,
    const void *msg, size_t len)
{
	const char *p = msg, *end = p + len, *nl;
	size_t start = b->len, sp;

	/* TargetedUI.prefixLines: every line, split on "\n" */
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		buf_printf(b, "%s %s: ", arrow ? "==>" : "   ", target);
		buf_append(b, p, (size_t)((nl != NULL ? nl : end) - p));
		buf_putc(b, '\n');
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* then strings.TrimRightFunc(unicode.IsSpace) of the whole */
	while ((sp = exec_space_before(b->data + start, b->len - start)) > 0)
		b->len -= sp;
}

/* exec_key_kind - see cli.h */
int
exec_key_kind(const char *rel, size_t *nodelen)
{
	size_t n = strlen(rel);
	const char *p, *last = NULL;

	*nodelen = 0;
	if (strcmp(rel, EXEC_JOB) == 0)
		return EXEC_KEY_JOB;
	/* In Consul's order: HasSuffix "/ack", "/exit", then "/out/" */
	if (n >= 4 && strcmp(rel + n - 4, "/ack") == 0) {
		*nodelen = n - 4;
		return EXEC_KEY_ACK;
	}
	if (n >= 5 && strcmp(rel + n - 5, "/exit") == 0) {
		*nodelen = n - 5;
		return EXEC_KEY_EXIT;
	}
	for (p = rel; (p = strstr(p, "/out/")) != NULL; p++)
		last = p;
	if (last != NULL) {
		*nodelen = (size_t)(last - rel);
		return EXEC_KEY_OUT;
	}
	return EXEC_KEY_UNKNOWN;
}

/* exec_parse_exit - see cli.h */
int
exec_parse_exit(const char *s, size_t n, int *code, char *err,
    size_t errlen)
{
	int64_t v = 0;
	size_t i = 0;
	int neg = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		goto syntax;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			goto syntax;
		if (v <= (int64_t)INT32_MAX + 1)
			v = v * 10 + (s[i] - '0');
	}
	if (neg)
		v = -v;
	if (v > INT32_MAX || v < INT32_MIN) {
		snprintf(err, errlen, "strconv.ParseInt: parsing \"%.*s\": "
		    "value out of range", (int)n, s);
		return -1;
	}
	*code = (int)v;
	return 0;
syntax:
	snprintf(err, errlen, "strconv.ParseInt: parsing \"%.*s\": invalid "
	    "syntax", (int)n, s);
	return -1;
}

/* exec_ok - a 200 answer; else -1 with the api's text, body freed */
static int
exec_ok(int rc, struct http_resp *resp, char *err, size_t errlen)
{
	if (rc < 0)
		return -1;
	if (resp->code != 200) {
		http_status_error(resp, err, errlen);
		buf_free(&resp->body);
		return -1;
	}
	return 0;
}

/* exec_session_create - Consul's createSessionLocal */
static int
exec_session_create(struct exec *x, char *err, size_t errlen)
{
	struct http_resp resp;
	struct buf body;
	struct json j;
	const char *id;
	yajl_val root;
	int bad = 0, rc = -1;

	buf_init(&body);
	json_init(&j, &body, 0);
	json_obj_open(&j);
	json_key(&j, "Name");
	json_str(&j, "Remote Exec");
	json_key(&j, "Behavior");
	json_str(&j, "delete");
	json_key(&j, "TTL");
	json_str(&j, EXEC_TTL);
	json_obj_close(&j);
	if (exec_ok(http_do(&x->c, "PUT", "/v1/session/create", "", 0,
	    buf_head(&body), buf_used(&body), &resp, err, errlen), &resp, err,
	    errlen) < 0) {
		buf_free(&body);
		return -1;
	}
	if ((root = cli_json_parse((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), err, errlen)) != NULL) {
		id = cli_json_str(root, "ID", &bad);
		if (id == NULL || bad || *id == '\0' ||
		    strlen(id) >= sizeof(x->session))
			snprintf(err, errlen, "unexpected response: no "
			    "session ID");
		else {
			snprintf(x->session, sizeof(x->session), "%s", id);
			x->renew_at = exec_now() + EXEC_RENEW_NS;
			rc = 0;
		}
		yajl_tree_free(root);
	}
	buf_free(&resp.body);
	buf_free(&body);
	return rc;
}

/* exec_session_renew - renewSession's one step: errors end renewing */
static void
exec_session_renew(struct exec *x)
{
	struct http_resp resp;
	struct buf path;
	char err[1200];
	int rc;

	buf_init(&path);
	buf_puts(&path, "/v1/session/renew/");
	http_escape_path(&path, x->session);
	x->renew_at = exec_now() + EXEC_RENEW_NS;
	/* api's Renew takes a 404 (the session gone) as no error */
	rc = http_do(&x->c, "PUT", buf_cstr(&path), "", 0, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc == 0 && resp.code != 200 && resp.code != 404) {
		http_status_error(&resp, err, sizeof(err));
		rc = -1;
	}
	if (rc < 0) {
		fprintf(stderr, "Session renew failed: %s\n", err);
		x->renew_at = 0;
	}
	buf_free(&resp.body);
	buf_free(&path);
}

/* exec_session_destroy - destroySession (errors ignored, as there) */
static void
exec_session_destroy(struct exec *x)
{
	struct http_resp resp;
	struct buf path;
	char err[512];

	x->renew_at = 0;
	if (x->session[0] == '\0')
		return;
	buf_init(&path);
	buf_puts(&path, "/v1/session/destroy/");
	http_escape_path(&path, x->session);
	(void)http_do(&x->c, "PUT", buf_cstr(&path), "", 0, NULL, 0, &resp,
	    err, sizeof(err));
	buf_free(&resp.body);
	buf_free(&path);
}

/* exec_destroy_data - destroyData: the whole tree of this job */
static void
exec_destroy_data(struct exec *x)
{
	struct http_resp resp;
	struct buf path;
	char err[512];

	buf_init(&path);
	kv_key_path(&path, x->tree);
	(void)http_do(&x->c, "DELETE", buf_cstr(&path), "recurse=", 0, NULL,
	    0, &resp, err, sizeof(err));
	buf_free(&resp.body);
	buf_free(&path);
}

/* exec_upload - uploadPayload: the spec at <tree>/job, ?acquire */
static int
exec_upload(struct exec *x, const struct buf *spec, char *err,
    size_t errlen)
{
	const char *parts[] = { x->tree, EXEC_JOB };
	struct http_resp resp;
	struct buf key, path, q;
	const char *s;
	size_t n;
	int rc = -1;

	buf_init(&key);
	buf_init(&path);
	buf_init(&q);
	gopath_join(&key, parts, 2);
	kv_key_path(&path, buf_cstr(&key));
	buf_puts(&q, "acquire=");
	http_escape_query(&q, x->session);
	if (exec_ok(http_do(&x->c, "PUT", buf_cstr(&path), buf_cstr(&q), 0,
	    buf_head(spec), buf_used(spec), &resp, err, errlen), &resp, err,
	    errlen) == 0) {
		s = (const char *)buf_head(&resp.body);
		n = buf_used(&resp.body);
		while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
			n--;
		if (n == 4 && memcmp(s, "true", 4) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "failed to acquire key %s",
			    buf_cstr(&key));
		buf_free(&resp.body);
	}
	buf_free(&key);
	buf_free(&path);
	buf_free(&q);
	return rc;
}

/* exec_fire - fireEvent: the "_rexec" event; its ID into id */
static int
exec_fire(struct exec *x, const char *prefix, const char *node,
    const char *service, const char *tag, char *id, size_t idlen,
    char *err, size_t errlen)
{
	struct http_resp resp;
	struct buf q, payload;
	const char *s;
	yajl_val root;
	int bad = 0, rc = -1;

	buf_init(&q);
	buf_init(&payload);
	exec_event_encode(&payload, prefix, x->session);
	/* As Consul's api sets them: only the filters given. */
	if (*node != '\0') {
		buf_puts(&q, "node=");
		http_escape_query(&q, node);
	}
	if (*service != '\0') {
		buf_puts(&q, buf_used(&q) ? "&service=" : "service=");
		http_escape_query(&q, service);
	}
	if (*tag != '\0') {
		buf_puts(&q, buf_used(&q) ? "&tag=" : "tag=");
		http_escape_query(&q, tag);
	}
	if (exec_ok(http_do(&x->c, "PUT", "/v1/event/fire/" EXEC_EVENT,
	    buf_cstr(&q), 0, buf_head(&payload), buf_used(&payload), &resp,
	    err, errlen), &resp, err, errlen) == 0) {
		if ((root = cli_json_parse((const char *)buf_head(&resp.body),
		    buf_used(&resp.body), err, errlen)) != NULL) {
			s = cli_json_str(root, "ID", &bad);
			if (s == NULL || bad)
				snprintf(err, errlen, "unexpected response: "
				    "no event ID");
			else {
				snprintf(id, idlen, "%s", s);
				rc = 0;
			}
			yajl_tree_free(root);
		}
		buf_free(&resp.body);
	}
	buf_free(&q);
	buf_free(&payload);
	return rc;
}

/*
 * exec_keys - one (blocking, from *index) read of the job's keys: 0 with
 * them and the new index (none for a 404), -1 with the api's text
 */
static int
exec_keys(struct exec *x, uint64_t *index, int64_t wait, char ***keys,
    size_t *n, char *err, size_t errlen)
{
	struct http_resp resp;
	struct buf path, q;
	uint64_t ni;
	int rc = -1;

	*keys = NULL;
	*n = 0;
	buf_init(&path);
	buf_init(&q);
	kv_key_path(&path, x->dir);
	buf_puts(&q, "keys=");
	if (*index > 0)
		buf_printf(&q, "&index=%" PRIu64 "&wait=%" PRId64 "ms", *index,
		    (int64_t)(wait / DUR_MS > 0 ? wait / DUR_MS : 1));
	if (http_do(&x->c, "GET", buf_cstr(&path), buf_cstr(&q), 1, NULL, 0,
	    &resp, err, errlen) < 0)
		goto out;
	if (resp.code != 200 && resp.code != 404) {
		http_status_error(&resp, err, errlen);
		goto out;
	}
	if (resp.has_index && snapshot_index_parse(resp.index, &ni, err,
	    errlen) < 0)
		goto out;
	if (resp.code == 200 && kv_parse_keys((const char *)buf_head(
	    &resp.body), buf_used(&resp.body), keys, n, err, errlen) < 0)
		goto out;
	if (resp.has_index)
		*index = ni;
	rc = 0;
out:
	buf_free(&resp.body);
	buf_free(&path);
	buf_free(&q);
	return rc;
}

/* exec_value - kv.Get(key): its value; -1 (Consul's message) if none */
static int
exec_value(struct exec *x, const char *key, struct buf *val)
{
	struct http_resp resp;
	struct kv_entry *e = NULL;
	struct buf path;
	size_t n = 0;
	char err[1200];
	int rc = -1;

	buf_init(&path);
	kv_key_path(&path, key);
	if (http_do(&x->c, "GET", buf_cstr(&path), "", 1, NULL, 0, &resp,
	    err, sizeof(err)) < 0)
		goto fail;
	if (resp.code == 404) {
		/* api's Get: no pair and no error */
		snprintf(err, sizeof(err), "<nil>");
		goto fail;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		goto fail;
	}
	if (kv_parse_entries((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), &e, &n, err, sizeof(err)) < 0)
		goto fail;
	if (n == 0) {
		snprintf(err, sizeof(err), "<nil>");
		goto fail;
	}
	buf_append(val, e[0].value, e[0].vlen);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "Failed to read key '%s': %s\n", key, err);
out:
	kv_entries_free(e, n);
	buf_free(&resp.body);
	buf_free(&path);
	return rc;
}

/* exec_print - a TargetedUI line (or lines) to stdout */
static void
exec_print(const char *node, size_t nodelen, int arrow, const void *msg,
    size_t len)
{
	struct buf b;
	char *target;

	if ((target = strndup(node, nodelen)) == NULL)
		log_fatal("out of memory");
	buf_init(&b);
	exec_prefix_lines(&b, target, arrow, msg, len);
	buf_putc(&b, '\n');
	cli_write(stdout, &b);
	buf_free(&b);
	free(target);
}

/* exec_strcmp - qsort: strings */
static int
exec_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* exec_seen - whether key is among the keys handled */
static int
exec_seen(const struct exec *x, const char *key)
{
	return x->nseen > 0 && bsearch(&key, x->seen, x->nseen,
	    sizeof(*x->seen), exec_strcmp) != NULL;
}

/*
 * exec_handle - the keys of one read: those not seen before, by kind
 * (acknowledgements, output, exit codes); returns how many were news
 */
static unsigned
exec_handle(struct exec *x, char **keys, size_t n)
{
	static const int order[] = { EXEC_KEY_UNKNOWN, EXEC_KEY_ACK,
	    EXEC_KEY_OUT, EXEC_KEY_EXIT };
	size_t dirlen = strlen(x->dir), i, k, m, nodelen, nnew = 0;
	unsigned news = 0;
	const char *rel;
	char **all, err[256];
	struct buf val;
	int kind, code;

	qsort(keys, n, sizeof(*keys), exec_strcmp);
	buf_init(&val);
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (i = 0; i < n; i++) {
			if (exec_seen(x, keys[i]))
				continue;
			rel = keys[i];
			if (strncmp(rel, x->dir, dirlen) == 0)
				rel += dirlen;
			kind = exec_key_kind(rel, &nodelen);
			if (kind == EXEC_KEY_JOB || kind != order[k])
				continue;
			switch (kind) {
			case EXEC_KEY_ACK:
				x->acks++;
				news++;
				if (x->verbose)
					exec_print(rel, nodelen, 1,
					    "acknowledged", 12);
				break;
			case EXEC_KEY_OUT:
				buf_reset(&val);
				if (exec_value(x, keys[i], &val) < 0)
					break;
				news++;
				if (buf_used(&val) > 0)
					exec_print(rel, nodelen, 0,
					    buf_head(&val), buf_used(&val));
				else if (x->verbose)
					exec_print(rel, nodelen, 1,
					    "heartbeat received", 18);
				break;
			case EXEC_KEY_EXIT:
				buf_reset(&val);
				if (exec_value(x, keys[i], &val) < 0)
					break;
				if (exec_parse_exit((const char *)buf_head(
				    &val), buf_used(&val), &code, err,
				    sizeof(err)) < 0) {
					fprintf(stderr, "Failed to parse exit "
					    "code '%s': %s\n", buf_cstr(&val),
					    err);
					break;
				}
				news++;
				x->exits++;
				if (code != 0)
					x->bad++;
				buf_reset(&val);
				buf_printf(&val, "finished with exit code %d",
				    code);
				exec_print(rel, nodelen, 1, buf_head(&val),
				    buf_used(&val));
				break;
			default:
				fprintf(stderr, "Unknown key '%s', ignoring.\n",
				    rel);
				break;
			}
		}
	buf_free(&val);
	/* Each key is handled once, whatever became of it (as Consul). */
	for (i = 0; i < n; i++)
		if (!exec_seen(x, keys[i]))
			nnew++;
	if (nnew == 0)
		return news;
	if ((all = realloc(x->seen, (x->nseen + nnew) * sizeof(*all))) ==
	    NULL)
		log_fatal("out of memory");
	x->seen = all;
	/* exec_seen looks at the sorted part only: the first nseen */
	for (i = 0, m = x->nseen; i < n; i++)
		if (!exec_seen(x, keys[i])) {
			all[m++] = keys[i];
			keys[i] = NULL;
		}
	x->nseen = m;
	qsort(x->seen, x->nseen, sizeof(*x->seen), exec_strcmp);
	return news;
}

/* exec_sleep - sleep ns, or less when a signal comes */
static void
exec_sleep(int64_t ns)
{
	struct timespec ts;

	if (ns <= 0)
		return;
	ts.tv_sec = ns / DUR_S;
	ts.tv_nsec = ns % DUR_S;
	nanosleep(&ts, NULL);
}

/* exec_wait_job - waitForJob: the exit code */
static int
exec_wait_job(struct exec *x)
{
	int64_t start = exec_now(), last = start, intv, now, w;
	uint64_t index = 0, prev;
	char **keys, err[1200];
	size_t n, i;
	unsigned news;

	for (;;) {
		if (exec_signalled)
			return 1;
		/* A larger window while a node is known to be working. */
		intv = x->wait * (x->acks > x->exits ? 2 : 1);
		now = exec_now();
		if (now >= last + intv)
			break;
		if (x->renew_at != 0 && now >= x->renew_at) {
			exec_session_renew(x);
			continue;
		}
		w = last + intv - now;
		if (w > EXEC_POLL_NS)
			w = EXEC_POLL_NS;
		if (x->renew_at != 0 && x->renew_at - now < w)
			w = x->renew_at - now;
		prev = index;
		if (exec_keys(x, &index, w, &keys, &n, err, sizeof(err)) < 0) {
			if (exec_signalled)
				return 1;
			fprintf(stderr, "Failed to read results: %s\n", err);
			return 1;
		}
		/* The fast path of no change; a 0 is never blocked on. */
		if (index == prev && prev != 0) {
			kv_keys_free(keys, n);
			continue;
		}
		if (index == prev)
			exec_sleep(w);
		news = exec_handle(x, keys, n);
		for (i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
		if (news > 0)
			last = exec_now();
		fflush(stdout);
	}
	printf("%u / %u node(s) completed / acknowledged\n", x->exits,
	    x->acks);
	if (x->verbose)
		printf("Completed in %0.2f seconds\n",
		    (double)(exec_now() - start) / DUR_S);
	fflush(stdout);
	if (x->exits < x->acks)
		x->bad++;
	return x->bad > 0 ? 2 : 0;
}

/* exec_usage - the help, on stdout when asked for, else stderr */
static int
exec_usage(const struct cli_flag *const *tabs, int asked)
{
	return cli_help(exec_help, tabs, exec_titles, asked);
}

/* exec_read_stdin - the script from stdin; -1 with why */
static int
exec_read_stdin(struct buf *b, char *err, size_t errlen)
{
	ssize_t r;

	for (;;) {
		buf_reserve(b, 65536);
		r = read(0, buf_tail(b), 65536);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "read /dev/stdin: %s",
			    strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		buf_commit(b, (size_t)r);
	}
}

/* exec_agent_up - Consul asks the agent first; 0 if it answers */
static int
exec_agent_up(struct exec *x)
{
	struct http_resp resp;
	char err[1200];

	if (exec_ok(http_do(&x->c, "GET", "/v1/agent/self", "", 0, NULL, 0,
	    &resp, err, sizeof(err)), &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		return -1;
	}
	buf_free(&resp.body);
	return 0;
}

/* exec_run - from the session to the end: the exit code */
static int
exec_run(struct exec *x, const char *prefix, const struct buf *spec,
    const char *node, const char *service, const char *tag, int64_t repl)
{
	const char *parts[2];
	struct buf b;
	char err[1200], id[128];
	int rc = 1;

	if (exec_session_create(x, err, sizeof(err)) < 0) {
		fprintf(stderr, "Failed to create session: %s\n", err);
		return 1;
	}
	if (x->verbose)
		printf("Created remote execution session: %s\n", x->session);
	parts[0] = prefix;
	parts[1] = x->session;
	buf_init(&b);
	gopath_join(&b, parts, 2);
	x->tree = cli_xstrdup(buf_cstr(&b));
	buf_putc(&b, '/');
	x->dir = cli_xstrdup(buf_cstr(&b));
	buf_free(&b);
	if (exec_upload(x, spec, err, sizeof(err)) < 0) {
		fprintf(stderr, "Failed to create job file: %s\n", err);
		exec_session_destroy(x);
		return 1;
	}
	if (x->verbose)
		printf("Uploaded remote execution spec\n");
	/* So that the agents' stale reads find the job (a heuristic). */
	exec_sleep(repl);
	if (exec_signalled)
		goto out;
	if (exec_fire(x, prefix, node, service, tag, id, sizeof(id), err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Failed to fire event: %s\n", err);
		goto out;
	}
	if (x->verbose)
		printf("Fired remote execution event: %s\n", id);
	fflush(stdout);
	rc = exec_wait_job(x);
out:
	/*
	 * The session goes first: with it gone no agent can write (its
	 * acquire fails), so nothing lands after the delete.
	 */
	exec_session_destroy(x);
	exec_destroy_data(x);
	return rc;
}

/* exec_main - the command */
int
exec_main(int argc, char **argv)
{
	struct http_flags hf;
	struct exec x;
	struct sigaction sa;
	struct buf cmd, script, spec;
	const char *node = "", *service = "", *tag = "", *prefix = EXEC_PREFIX;
	const char *wait_s = "2s", *repl_s = "200ms";
	char err[1200], **args = NULL;
	int64_t repl = EXEC_REPL_NS;
	size_t nargs = 0;
	int r, i, shell = 1, rc = 1;

	memset(&x, 0, sizeof(x));
	x.wait = EXEC_QUIET_NS;
	http_flags_init(&hf, 1);
	/* Sorted by name, as Go's flag package prints them. */
	const struct cli_flag cmdflags[] = {
		{ "node", CLI_STR, &node, "string", "Regular expression to "
		    "filter on node names." },
		{ "prefix", CLI_STR, &prefix, "string", "Prefix in the KV "
		    "store to use for request data." },
		{ "service", CLI_STR, &service, "string", "Regular expression "
		    "to filter on service instances." },
		{ "shell", CLI_BOOL, &shell, NULL, "Use a shell to run the "
		    "command." },
		{ "tag", CLI_STR, &tag, "string", "Regular expression to "
		    "filter on service tags. Must be used with -service." },
		{ "verbose", CLI_BOOL, &x.verbose, NULL, "Enables verbose "
		    "output." },
		{ "wait", CLI_STR, &wait_s, "duration", "Period to wait with "
		    "no responses before terminating execution." },
		{ "wait-repl", CLI_STR, &repl_s, "duration", "Period to wait "
		    "for replication before firing event. This is an "
		    "optimization to allow stale reads to be performed." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmdflags, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2)
		return exec_usage(tabs, 1);
	if (r >= 0 && duration_parse(wait_s, &x.wait) < 0) {
		snprintf(err, sizeof(err), "invalid value \"%s\" for flag "
		    "-wait: parse error", wait_s);
		r = -1;
	}
	if (r >= 0 && duration_parse(repl_s, &repl) < 0) {
		snprintf(err, sizeof(err), "invalid value \"%s\" for flag "
		    "-wait-repl: parse error", repl_s);
		r = -1;
	}
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return exec_usage(tabs, 0);
	}
	buf_init(&cmd);
	buf_init(&script);
	buf_init(&spec);
	for (i = 1 + r; i < argc; i++)
		buf_printf(&cmd, "%s%s", i > 1 + r ? " " : "", argv[i]);
	if (strcmp(buf_cstr(&cmd), "-") == 0) {
		if (!shell) {
			fprintf(stderr, "Cannot configure -shell=false when "
			    "reading from stdin\n");
			goto out;
		}
		buf_reset(&cmd);
		if (exec_read_stdin(&script, err, sizeof(err)) < 0) {
			fprintf(stderr, "Failed to read stdin: %s\n\n", err);
			rc = exec_usage(tabs, 0);
			goto out;
		}
	} else if (!shell) {
		buf_reset(&cmd);
		args = argv + 1 + r;
		nargs = (size_t)(argc - 1 - r);
	}
	if (buf_used(&cmd) == 0 && buf_used(&script) == 0 && nargs == 0) {
		fprintf(stderr, "Must specify a command to execute\n\n");
		rc = exec_usage(tabs, 0);
		goto out;
	}
	/* conf.validate: the same filters as an event's */
	if (!event_filters_ok(node, service, tag))
		goto out;
	if (http_client_init(&x.c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto out;
	}
	if (exec_agent_up(&x) < 0)
		goto out;
	exec_spec_encode(&spec, buf_cstr(&cmd), args, nargs,
	    buf_head(&script), buf_used(&script), x.wait);
	/* Consul's shutdownCh: no SA_RESTART, so a sleep ends at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = exec_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = exec_run(&x, prefix, &spec, node, service, tag, repl);
out:
	for (i = 0; i < (int)x.nseen; i++)
		free(x.seen[i]);
	free(x.seen);
	free(x.dir);
	free(x.tree);
	buf_free(&cmd);
	buf_free(&script);
	buf_free(&spec);
	return rc;
}
