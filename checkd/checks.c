/*
 * checks.c - service and check definitions from the config, validated
 * with Consul's rules and messages, and their catalog records. See
 * checks.h.
 *
 * Leaves out: definitions registered through the agent API (they will
 * join these lists), service meta validation, tagged addresses,
 * and the keys Consul has for features cairn lacks (Connect, proxies,
 * tls_server_name, tcp_use_tls), which are accepted and ignored. Unknown
 * keys are warned about, as the config loader does for top-level ones.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "duration.h"
#include "frame.h"
#include "jv.h"
#include "log.h"
#include "msg.h"

const char CHECKS_PASSING[] = "passing";
const char CHECKS_WARNING[] = "warning";
const char CHECKS_CRITICAL[] = "critical";

static const char scripts_disabled[] = "Scripts are disabled on this "
    "agent; to enable, configure 'enable_script_checks' or "
    "'enable_local_script_checks' to true";

/* Keys of a service definition: handled, or accepted and ignored. */
static const char *const svc_keys[] = {
	"id", "name", "tags", "address", "port", "meta", "check", "checks",
	"kind", "tagged_addresses", "enable_tag_override", "weights", "token",
	"proxy", "connect", "namespace", "partition", "socket_path",
	"locality", NULL
};

/* Keys of a check definition. */
static const char *const check_keys[] = {
	"id", "check_id", "name", "notes", "service_id", "status", "args",
	"script_args", "script", "interval", "timeout", "ttl", "http",
	"header", "method", "body", "disable_redirects", "tls_server_name",
	"tls_skip_verify", "tcp", "tcp_use_tls", "udp", "grpc",
	"grpc_use_tls", "h2ping", "h2ping_use_tls", "docker_container_id",
	"shell", "alias_node", "alias_service", "os_service", "token",
	"deregister_critical_service_after", "success_before_passing",
	"failures_before_warning", "failures_before_critical",
	"output_max_size", "namespace", "partition", NULL
};

/* Features a check may ask for that cairn does not have: warned about. */
static const char *const check_ignored[] = {
	"success_before_passing",
	"failures_before_warning", "failures_before_critical",
	"output_max_size", NULL
};

/* Probe types other than script and TTL, in Consul's order of precedence. */
static const struct probe {
	const char	*key;		/* the key that selects it */
	const char	*type;		/* the catalog's Type */
	int		 interval;	/* needs an interval (Validate) */
	enum checks_kind kind;
} probes[] = {
	{ "http", "http", 1, CHECKS_HTTP },
	{ "tcp", "tcp", 1, CHECKS_TCP },
	{ "udp", "udp", 1, CHECKS_UNIMPL },
	{ "grpc", "grpc", 1, CHECKS_UNIMPL },
	{ "h2ping", "h2ping", 1, CHECKS_UNIMPL },
	{ "os_service", "os_service", 1, CHECKS_UNIMPL },
	{ "alias_service", "alias", 0, CHECKS_UNIMPL },
	{ "alias_node", "alias", 0, CHECKS_UNIMPL },
	{ NULL, NULL, 0, CHECKS_UNIMPL }
};

/* One definition being read: where it is, for messages. */
struct src {
	const struct jv	*obj;
	char		 path[128];	/* "services[0].checks[1]" */
};

/* xgrow - make room for one more element */
static void *
xgrow(void *p, size_t size, size_t n)
{
	if ((p = realloc(p, size * (n + 1))) == NULL)
		log_fatal("out of memory");
	return p;
}

/* def_err - "file:line:col: path[.key]: what" at value v */
static int __attribute__((format(printf, 6, 7)))
def_err(const struct jv *v, const char *path, const char *key, char *err,
    size_t errlen, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d:%d: %s%s%s: %s", v->file, v->line, v->col,
	    path, key != NULL ? "." : "", key != NULL ? key : "", what);
	return -1;
}

/* where - "file:line:col" of v, malloc'd */
static char *
where(const struct jv *v)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s:%d:%d", v->file, v->line, v->col);
	return xstrdup(buf);
}

/* known - key is in the list */
static int
known(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (jv_keyeq(*list, key))
			return 1;
	return 0;
}

/* warn_unknown - one warning per key a definition has that we do not */
static void
warn_unknown(const struct jv *obj, const char *const *list,
    const char *path)
{
	size_t i;

	for (i = 0; i < obj->n; i++)
		if (!known(list, obj->keys[i]))
			log_warn("%s:%d:%d: %s: ignoring unknown key %.100s",
			    obj->file, obj->line, obj->col, path, obj->keys[i]);
}

/* get_str - an optional string member: 0 (NULL if absent), or -1 */
static int
get_str(const struct src *s, const char *key, const char **out, char *err,
    size_t errlen)
{
	const struct jv *v = jv_get(s->obj, key);

	*out = NULL;
	if (v == NULL || v->type == JV_NULL)
		return 0;
	if (v->type != JV_STR)
		return def_err(v, s->path, key, err, errlen,
		    "expected a string");
	*out = v->str;
	return 0;
}

/* get_dur - an optional duration string ("10s"): 0 (0 if absent), or -1 */
static int
get_dur(const struct src *s, const char *key, int64_t *out, char *err,
    size_t errlen)
{
	const struct jv *v = jv_get(s->obj, key);

	*out = 0;
	if (v == NULL || v->type == JV_NULL)
		return 0;
	if (v->type != JV_STR || duration_parse(v->str, out) < 0)
		return def_err(v, s->path, key, err, errlen,
		    "expected a duration such as \"10s\"");
	return 0;
}

/* get_bool - an optional true/false member: 0 (0 if absent), or -1 */
static int
get_bool(const struct src *s, const char *key, int *out, char *err,
    size_t errlen)
{
	const struct jv *v = jv_get(s->obj, key);

	*out = 0;
	if (v == NULL || v->type == JV_NULL)
		return 0;
	if (v->type != JV_BOOL)
		return def_err(v, s->path, key, err, errlen,
		    "expected true or false");
	*out = v->b;
	return 0;
}

/* get_strs - an optional array of strings, NULL-terminated; count in *n */
static int
get_strs(const struct src *s, const char *key, char ***out, size_t *n,
    char *err, size_t errlen)
{
	const struct jv *v = jv_get(s->obj, key);
	char sub[64];
	size_t i;

	*out = NULL;
	*n = 0;
	if (v == NULL || v->type == JV_NULL)
		return 0;
	if (v->type != JV_ARR)
		return def_err(v, s->path, key, err, errlen,
		    "expected an array of strings");
	for (i = 0; i < v->n; i++)
		if (v->items[i]->type != JV_STR) {
			snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
			return def_err(v->items[i], s->path, sub, err, errlen,
			    "expected a string");
		}
	if ((*out = calloc(v->n + 1, sizeof(char *))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < v->n; i++)
		(*out)[i] = xstrdup(v->items[i]->str);
	*n = v->n;
	return 0;
}

/* strv_free - free a NULL-terminated array */
static void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * get_header - Consul's "header": an object of arrays of strings, kept as
 * one name/value pair per value (a name with [] sends nothing, as in Go).
 */
static int
get_header(const struct src *s, struct check_def *c, char *err,
    size_t errlen)
{
	const struct jv *h = jv_get(s->obj, "header"), *vals;
	char sub[200];
	size_t i, k, n = 0;

	if (h == NULL || h->type == JV_NULL)
		return 0;
	if (h->type != JV_OBJ)
		return def_err(h, s->path, "header", err, errlen,
		    "expected an object such as {\"Name\": [\"value\"]}");
	for (i = 0; i < h->n; i++) {
		vals = h->items[i];
		snprintf(sub, sizeof(sub), "header.%.100s", h->keys[i]);
		if (vals->type != JV_ARR)
			return def_err(vals, s->path, sub, err, errlen,
			    "expected an array of strings");
		for (k = 0; k < vals->n; k++)
			if (vals->items[k]->type != JV_STR) {
				snprintf(sub, sizeof(sub), "header.%.100s[%zu]",
				    h->keys[i], k);
				return def_err(vals->items[k], s->path, sub,
				    err, errlen, "expected a string");
			}
		n += vals->n;
	}
	if ((c->hdr_names = calloc(n + 1, sizeof(char *))) == NULL ||
	    (c->hdr_values = calloc(n + 1, sizeof(char *))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < h->n; i++)
		for (k = 0; k < h->items[i]->n; k++) {
			c->hdr_names[c->nhdrs] = xstrdup(h->keys[i]);
			c->hdr_values[c->nhdrs++] =
			    xstrdup(h->items[i]->items[k]->str);
		}
	return 0;
}

/* strv_eq - two arrays hold the same strings in the same order */
static int
strv_eq(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* str_eq - NULL-tolerant strcmp() == 0 */
static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

const char *
checks_status(const char *s)
{
	if (s == NULL)
		return NULL;
	if (strcmp(s, CHECKS_PASSING) == 0)
		return CHECKS_PASSING;
	if (strcmp(s, CHECKS_WARNING) == 0)
		return CHECKS_WARNING;
	if (strcmp(s, CHECKS_CRITICAL) == 0)
		return CHECKS_CRITICAL;
	return NULL;
}

char *
checks_truncate(const char *s, size_t n)
{
	char *out;

	if (n <= CHECKS_OUTPUT_MAX) {
		if ((out = malloc(n + 1)) == NULL)
			log_fatal("out of memory");
		memcpy(out, s, n);
		out[n] = '\0';
		return out;
	}
	/* Consul's CheckTTL.SetStatus. */
	if (asprintf(&out, "%.*s ... (captured %d of %zu bytes)",
	    CHECKS_OUTPUT_MAX, s, CHECKS_OUTPUT_MAX, n) < 0)
		log_fatal("out of memory");
	return out;
}

/*
 * check_parse - one check definition. svc is the service it is embedded
 * in (NULL for a standalone check, whose service_id is resolved later);
 * idx and count number the embedded ones for their default IDs.
 */
static int
check_parse(const struct config *cfg, const struct src *s,
    const struct svc_def *svc, size_t idx, size_t count,
    struct check_def *c, char *err, size_t errlen)
{
	const struct probe *p, *probe = NULL;
	const char *id, *name, *notes, *status, *script, *sid, *docker, *v;
	const char *http, *tcp, *method, *body;
	int interval_check;
	size_t i;

	memset(c, 0, sizeof(*c));
	warn_unknown(s->obj, check_keys, s->path);
	for (i = 0; check_ignored[i] != NULL; i++)
		if (jv_get(s->obj, check_ignored[i]) != NULL)
			log_warn("%s:%d:%d: %s: %s is not implemented yet; "
			    "ignored", s->obj->file, s->obj->line,
			    s->obj->col, s->path, check_ignored[i]);
	if (get_str(s, "id", &id, err, errlen) < 0 ||
	    (id == NULL && get_str(s, "check_id", &id, err, errlen) < 0) ||
	    get_str(s, "name", &name, err, errlen) < 0 ||
	    get_str(s, "notes", &notes, err, errlen) < 0 ||
	    get_str(s, "status", &status, err, errlen) < 0 ||
	    get_str(s, "script", &script, err, errlen) < 0 ||
	    get_str(s, "service_id", &sid, err, errlen) < 0 ||
	    get_str(s, "docker_container_id", &docker, err, errlen) < 0 ||
	    get_dur(s, "interval", &c->interval, err, errlen) < 0 ||
	    get_dur(s, "timeout", &c->timeout, err, errlen) < 0 ||
	    get_dur(s, "deregister_critical_service_after", &c->dereg_after,
	    err, errlen) < 0 ||
	    get_dur(s, "ttl", &c->ttl, err, errlen) < 0 ||
	    get_str(s, "http", &http, err, errlen) < 0 ||
	    get_str(s, "tcp", &tcp, err, errlen) < 0 ||
	    get_str(s, "method", &method, err, errlen) < 0 ||
	    get_str(s, "body", &body, err, errlen) < 0 ||
	    get_bool(s, "tls_skip_verify", &c->tls_skip_verify, err,
	    errlen) < 0 ||
	    get_bool(s, "disable_redirects", &c->disable_redirects, err,
	    errlen) < 0 ||
	    get_header(s, c, err, errlen) < 0)
		goto fail;
	if (get_strs(s, "args", &c->args, &c->nargs, err, errlen) < 0)
		goto fail;
	if (c->args == NULL && get_strs(s, "script_args", &c->args,
	    &c->nargs, err, errlen) < 0)
		goto fail;
	if (c->nargs == 0) {
		strv_free(c->args, 0);
		c->args = NULL;
	}
	if (script != NULL && *script != '\0')
		c->script = xstrdup(script);
	for (p = probes; probe == NULL && p->key != NULL; p++)
		if ((v = jv_str(s->obj, p->key)) != NULL && *v != '\0')
			probe = p;

	/* Consul's CheckType.Validate, in its order and words. */
	interval_check = c->args != NULL || c->script != NULL ||
	    (probe != NULL && probe->interval);
	if (c->interval > 0 && c->ttl > 0) {
		def_err(s->obj, s->path, NULL, err, errlen,
		    "Interval and TTL cannot both be specified");
		goto fail;
	}
	if (interval_check && c->interval <= 0) {
		def_err(s->obj, s->path, NULL, err, errlen,
		    "Interval must be > 0 for Script, HTTP, or TCP checks");
		goto fail;
	}
	if (!interval_check && probe == NULL && c->ttl <= 0) {
		def_err(s->obj, s->path, NULL, err, errlen,
		    "TTL must be > 0 for TTL checks");
		goto fail;
	}
	if (c->timeout < 0) {
		def_err(s->obj, s->path, "timeout", err, errlen,
		    "must not be negative");
		goto fail;
	}

	/* The type, in the precedence of Consul's AddCheck. */
	if (c->ttl > 0) {
		c->kind = CHECKS_TTL;
		c->type = "ttl";
	} else if (probe != NULL && (c->args == NULL || probe->interval)) {
		c->kind = probe->kind;
		c->type = probe->type;
		if (c->kind == CHECKS_HTTP) {
			c->http = xstrdup(http);
			if (method != NULL && *method != '\0')
				c->method = xstrdup(method);
			if (body != NULL && *body != '\0')
				c->body = xstrdup(body);
		} else if (c->kind == CHECKS_TCP)
			c->tcp = xstrdup(tcp);
	} else if (docker != NULL && *docker != '\0') {
		c->kind = CHECKS_UNIMPL;
		c->type = "docker";
	} else {
		c->kind = CHECKS_SCRIPT;
		c->type = "script";
		/* Config files are "local" sources (agent.go). */
		if (!cfg->enable_script_checks &&
		    !cfg->enable_local_script_checks) {
			def_err(s->obj, s->path, NULL, err, errlen, "%s",
			    scripts_disabled);
			goto fail;
		}
	}
	if (c->kind != CHECKS_HTTP) {
		/* Only an HTTP check sends them; keep equality honest. */
		strv_free(c->hdr_names, c->nhdrs);
		strv_free(c->hdr_values, c->nhdrs);
		c->hdr_names = c->hdr_values = NULL;
		c->nhdrs = 0;
	}
	if (interval_check && c->interval < CHECKS_MIN_INTERVAL) {
		log_warn("%s:%d:%d: %s: interval below the minimum of 1s; "
		    "using 1s", s->obj->file, s->obj->line, s->obj->col,
		    s->path);
		c->interval = CHECKS_MIN_INTERVAL;
	}

	if (status == NULL || *status == '\0')
		c->status = CHECKS_CRITICAL;
	else if ((c->status = checks_status(status)) == NULL) {
		def_err(jv_get(s->obj, "status"), s->path, "status", err,
		    errlen, "invalid check status \"%.64s\": must be passing, "
		    "warning or critical", status);
		goto fail;
	}
	if (svc != NULL) {
		char buf[600];

		if (id != NULL && *id != '\0')
			c->id = xstrdup(id);
		else {
			if (count > 1)
				snprintf(buf, sizeof(buf), "service:%s:%zu",
				    svc->id, idx + 1);
			else
				snprintf(buf, sizeof(buf), "service:%s",
				    svc->id);
			c->id = xstrdup(buf);
		}
		if (name != NULL && *name != '\0')
			c->name = xstrdup(name);
		else {
			snprintf(buf, sizeof(buf), "Service '%s' check",
			    svc->name);
			c->name = xstrdup(buf);
		}
		c->service_id = xstrdup(svc->id);
		c->service_name = xstrdup(svc->name);
	} else {
		if ((id == NULL || *id == '\0') &&
		    (name == NULL || *name == '\0')) {
			def_err(s->obj, s->path, NULL, err, errlen,
			    "Missing check name");
			goto fail;
		}
		c->name = xstrdup(name != NULL && *name != '\0' ? name : id);
		c->id = xstrdup(id != NULL && *id != '\0' ? id : name);
		/* Resolved against the services by checks_load. */
		c->service_id = xstrdup(sid);
		c->service_name = xstrdup("");
	}
	c->notes = xstrdup(notes);
	c->where = where(s->obj);
	return 0;
fail:
	checks_def_free(c);
	return -1;
}

/* svc_meta - the "meta" object: string values only */
static int
svc_meta(const struct src *s, struct svc_def *d, char *err, size_t errlen)
{
	const struct jv *m = jv_get(s->obj, "meta");
	size_t i;

	if (m == NULL || m->type == JV_NULL)
		return 0;
	if (m->type != JV_OBJ)
		return def_err(m, s->path, "meta", err, errlen,
		    "expected an object");
	if ((d->meta_keys = calloc(m->n + 1, sizeof(char *))) == NULL ||
	    (d->meta_values = calloc(m->n + 1, sizeof(char *))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < m->n; i++) {
		if (m->items[i]->type != JV_STR) {
			char sub[160];

			snprintf(sub, sizeof(sub), "meta.%.100s", m->keys[i]);
			return def_err(m->items[i], s->path, sub, err, errlen,
			    "expected a string");
		}
		d->meta_keys[d->nmeta] = xstrdup(m->keys[i]);
		d->meta_values[d->nmeta++] = xstrdup(m->items[i]->str);
	}
	return 0;
}

/* svc_free - free one service definition */
static void
svc_free(struct svc_def *d)
{
	free(d->id);
	free(d->name);
	free(d->address);
	strv_free(d->tags, d->ntags);
	strv_free(d->meta_keys, d->nmeta);
	strv_free(d->meta_values, d->nmeta);
	free(d->where);
	memset(d, 0, sizeof(*d));
}

/*
 * svc_weights - "weights": {"passing": n, "warning": n}, each 1 when not
 * given (as Consul's config builder; its HTTP decoder leaves a missing
 * one 0), checked as Consul's ValidateWeights
 */
static int
svc_weights(const struct src *s, struct svc_def *d, char *err, size_t errlen)
{
	static const char *const keys[] = { "passing", "warning", NULL };
	const struct jv *w = jv_get(s->obj, "weights");
	int64_t p = 1, n = 1;
	char path[300];

	d->weight_passing = d->weight_warning = 1;
	if (w == NULL || w->type == JV_NULL)
		return 0;
	snprintf(path, sizeof(path), "%s.weights", s->path);
	if (w->type != JV_OBJ)
		return def_err(w, s->path, "weights", err, errlen,
		    "expected an object with Passing and Warning");
	warn_unknown(w, keys, path);
	if ((jv_get(w, "passing") != NULL && jv_int(w, "passing", &p) < 0) ||
	    (jv_get(w, "warning") != NULL && jv_int(w, "warning", &n) < 0))
		return def_err(w, s->path, "weights", err, errlen,
		    "Passing and Warning must be integers");
	if (p < 1)
		return def_err(w, s->path, "weights", err, errlen,
		    "Invalid Weights: Passing must be greater than 0");
	if (n < 0)
		return def_err(w, s->path, "weights", err, errlen,
		    "Invalid Weights: Warning must be greater or equal "
		    "than 0");
	if (p > 65535 || n > 65535)
		return def_err(w, s->path, "weights", err, errlen,
		    "Invalid Weights: DNS Weight must be between 0 and "
		    "65535");
	d->weight_passing = (int)p;
	d->weight_warning = (int)n;
	return 0;
}

/* svc_parse - one service definition, without its checks */
static int
svc_parse(const struct src *s, struct svc_def *d, char *err, size_t errlen)
{
	const char *id, *name, *addr;
	const struct jv *port;
	int64_t n;

	memset(d, 0, sizeof(*d));
	warn_unknown(s->obj, svc_keys, s->path);
	if (get_str(s, "id", &id, err, errlen) < 0 ||
	    get_str(s, "name", &name, err, errlen) < 0 ||
	    get_str(s, "address", &addr, err, errlen) < 0 ||
	    get_strs(s, "tags", &d->tags, &d->ntags, err, errlen) < 0 ||
	    svc_meta(s, d, err, errlen) < 0 ||
	    svc_weights(s, d, err, errlen) < 0)
		goto fail;
	if ((port = jv_get(s->obj, "port")) != NULL && port->type != JV_NULL) {
		if (jv_int(s->obj, "port", &n) < 0 || n < 0 || n > 65535) {
			def_err(port, s->path, "port", err, errlen,
			    "expected a port number (0-65535)");
			goto fail;
		}
		d->port = (int)n;
	}
	if (name == NULL || *name == '\0') {
		def_err(s->obj, s->path, NULL, err, errlen,
		    "Missing service name");
		goto fail;
	}
	d->name = xstrdup(name);
	d->id = xstrdup(id != NULL && *id != '\0' ? id : name);
	d->address = xstrdup(addr);
	d->where = where(s->obj);
	return 0;
fail:
	svc_free(d);
	return -1;
}

/*
 * def_path - "services[2]", "service", "checks[0]", ... for def: the key
 * and index it has in its own file, found among the roots.
 */
static void
def_path(const struct config *cfg, const struct jv *def, const char *dflt,
    char *out, size_t n)
{
	const struct jv *root, *v;
	size_t r, i, k;

	for (r = 0; r < cfg->nroots; r++) {
		root = cfg->roots[r];
		if (root == NULL || root->type != JV_OBJ)
			continue;
		for (i = 0; i < root->n; i++) {
			v = root->items[i];
			if (v == def) {
				snprintf(out, n, "%s", root->keys[i]);
				return;
			}
			if (v->type != JV_ARR)
				continue;
			for (k = 0; k < v->n; k++)
				if (v->items[k] == def) {
					snprintf(out, n, "%s[%zu]",
					    root->keys[i], k);
					return;
				}
		}
	}
	snprintf(out, n, "%s", dflt);
}

/* push_check - append a copy-by-move of c */
static void
push_check(struct checks_defs *d, struct check_def *c)
{
	d->checks = xgrow(d->checks, sizeof(*d->checks), d->nchecks);
	d->checks[d->nchecks++] = *c;
}

/* svc_checks - the embedded "check" and "checks" of service s */
static int
svc_checks(const struct config *cfg, const struct src *s,
    const struct svc_def *svc, struct checks_defs *d, char *err,
    size_t errlen)
{
	const struct jv *one = jv_get(s->obj, "check");
	const struct jv *many = jv_get(s->obj, "checks");
	const struct jv *list[256];
	char paths[256][160];
	struct check_def c;
	struct src cs;
	size_t n = 0, i;

	/* Consul's ServiceDefinition.CheckTypes: "check" first. */
	if (one != NULL && one->type != JV_NULL) {
		if (one->type != JV_OBJ)
			return def_err(one, s->path, "check", err, errlen,
			    "expected an object");
		if (one->n > 0) {	/* an empty check is no check */
			snprintf(paths[n], sizeof(paths[n]), "%.120s.check",
			    s->path);
			list[n++] = one;
		}
	}
	if (many != NULL && many->type != JV_NULL) {
		if (many->type != JV_ARR)
			return def_err(many, s->path, "checks", err, errlen,
			    "expected an array of objects");
		for (i = 0; i < many->n; i++) {
			if (many->items[i]->type != JV_OBJ) {
				char sub[32];

				snprintf(sub, sizeof(sub), "checks[%zu]", i);
				return def_err(many->items[i], s->path, sub,
				    err, errlen, "expected an object");
			}
			if (n == sizeof(list) / sizeof(list[0]))
				return def_err(many, s->path, "checks", err,
				    errlen, "too many checks (%zu)", many->n);
			snprintf(paths[n], sizeof(paths[n]),
			    "%.120s.checks[%zu]", s->path, i);
			list[n++] = many->items[i];
		}
	}
	for (i = 0; i < n; i++) {
		cs.obj = list[i];
		snprintf(cs.path, sizeof(cs.path), "%s", paths[i]);
		if (check_parse(cfg, &cs, svc, i, n, &c, err, errlen) < 0)
			return -1;
		push_check(d, &c);
	}
	return 0;
}

/* svc_drop - forget service i and the checks embedded in it */
static void
svc_drop(struct checks_defs *d, size_t i)
{
	size_t k;

	/*
	 * Called before the next service's checks and the standalone ones
	 * are read, so the embedded checks naming this ID are its own.
	 */
	for (k = 0; k < d->nchecks; k++)
		if (strcmp(d->checks[k].service_id, d->svcs[i].id) == 0) {
			checks_def_free(&d->checks[k]);
			memmove(&d->checks[k], &d->checks[k + 1],
			    (d->nchecks - k - 1) * sizeof(*d->checks));
			d->nchecks--;
			k--;
		}
	svc_free(&d->svcs[i]);
	memmove(&d->svcs[i], &d->svcs[i + 1],
	    (d->nsvcs - i - 1) * sizeof(*d->svcs));
	d->nsvcs--;
}

/* check_dedup - a later check replaces an earlier one with its ID */
static void
check_dedup(struct checks_defs *d)
{
	size_t i, j;

	for (i = 0; i < d->nchecks; i++)
		for (j = i + 1; j < d->nchecks; j++) {
			if (strcmp(d->checks[i].id, d->checks[j].id) != 0)
				continue;
			log_warn("%s: check ID \"%.100s\" is defined again at "
			    "%s; the later definition wins", d->checks[i].where,
			    d->checks[i].id, d->checks[j].where);
			checks_def_free(&d->checks[i]);
			memmove(&d->checks[i], &d->checks[i + 1],
			    (d->nchecks - i - 1) * sizeof(*d->checks));
			d->nchecks--;
			i--;
			break;
		}
}

int
checks_load(struct checks_defs *d, const struct config *cfg, char *err,
    size_t errlen)
{
	const struct svc_def *svc;
	struct check_def *c;
	struct svc_def sd;
	struct src s;
	size_t i, k;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < cfg->nservices; i++) {
		s.obj = cfg->services[i];
		def_path(cfg, s.obj, "service", s.path, sizeof(s.path));
		if (svc_parse(&s, &sd, err, errlen) < 0)
			goto fail;
		/* A later service replaces one with its ID (AddService). */
		for (k = 0; k < d->nsvcs; k++)
			if (strcmp(d->svcs[k].id, sd.id) == 0) {
				log_warn("%s: service ID \"%.100s\" is defined "
				    "again at %s; the later definition wins",
				    d->svcs[k].where, sd.id, sd.where);
				svc_drop(d, k);
				break;
			}
		d->svcs = xgrow(d->svcs, sizeof(*d->svcs), d->nsvcs);
		d->svcs[d->nsvcs++] = sd;
		if (svc_checks(cfg, &s, &d->svcs[d->nsvcs - 1], d, err,
		    errlen) < 0)
			goto fail;
	}
	for (i = 0; i < cfg->nchecks; i++) {
		struct check_def cd;

		s.obj = cfg->checks[i];
		def_path(cfg, s.obj, "check", s.path, sizeof(s.path));
		if (check_parse(cfg, &s, NULL, 0, 1, &cd, err, errlen) < 0)
			goto fail;
		push_check(d, &cd);
	}
	check_dedup(d);
	/* A standalone check names a service that must exist (AddCheck). */
	for (i = 0; i < d->nchecks; i++) {
		c = &d->checks[i];
		if (c->service_id[0] == '\0' || c->service_name[0] != '\0')
			continue;
		if ((svc = checks_find_svc(d, c->service_id)) == NULL) {
			snprintf(err, errlen, "%s: check \"%.100s\": ServiceID "
			    "\"%.100s\" does not exist", c->where, c->id,
			    c->service_id);
			goto fail;
		}
		free(c->service_name);
		c->service_name = xstrdup(svc->name);
	}
	return 0;
fail:
	checks_free(d);
	return -1;
}

void
checks_def_free(struct check_def *c)
{
	free(c->id);
	free(c->name);
	free(c->notes);
	free(c->service_id);
	free(c->service_name);
	strv_free(c->args, c->nargs);
	free(c->script);
	free(c->where);
	free(c->http);
	free(c->method);
	strv_free(c->hdr_names, c->nhdrs);
	strv_free(c->hdr_values, c->nhdrs);
	free(c->body);
	free(c->tcp);
	memset(c, 0, sizeof(*c));
}

void
checks_free(struct checks_defs *d)
{
	size_t i;

	for (i = 0; i < d->nsvcs; i++)
		svc_free(&d->svcs[i]);
	for (i = 0; i < d->nchecks; i++)
		checks_def_free(&d->checks[i]);
	free(d->svcs);
	free(d->checks);
	memset(d, 0, sizeof(*d));
}

const struct svc_def *
checks_find_svc(const struct checks_defs *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->nsvcs; i++)
		if (strcmp(d->svcs[i].id, id) == 0)
			return &d->svcs[i];
	return NULL;
}

const struct check_def *
checks_find_check(const struct checks_defs *d, const char *id)
{
	size_t i;

	for (i = 0; i < d->nchecks; i++)
		if (strcmp(d->checks[i].id, id) == 0)
			return &d->checks[i];
	return NULL;
}

int
checks_def_equal(const struct check_def *a, const struct check_def *b)
{
	/* Everything but where it was written. */
	return str_eq(a->id, b->id) && str_eq(a->name, b->name) &&
	    str_eq(a->notes, b->notes) &&
	    str_eq(a->service_id, b->service_id) &&
	    str_eq(a->service_name, b->service_name) && a->kind == b->kind &&
	    str_eq(a->type, b->type) &&
	    strv_eq(a->args, a->nargs, b->args, b->nargs) &&
	    str_eq(a->script, b->script) && a->interval == b->interval &&
	    a->timeout == b->timeout && a->ttl == b->ttl &&
	    a->dereg_after == b->dereg_after &&
	    a->status == b->status && str_eq(a->http, b->http) &&
	    str_eq(a->method, b->method) &&
	    strv_eq(a->hdr_names, a->nhdrs, b->hdr_names, b->nhdrs) &&
	    strv_eq(a->hdr_values, a->nhdrs, b->hdr_values, b->nhdrs) &&
	    str_eq(a->body, b->body) &&
	    a->tls_skip_verify == b->tls_skip_verify &&
	    a->disable_redirects == b->disable_redirects &&
	    str_eq(a->tcp, b->tcp);
}

int
checks_svc_equal(const struct svc_def *a, const struct svc_def *b)
{
	return str_eq(a->id, b->id) && str_eq(a->name, b->name) &&
	    str_eq(a->address, b->address) && a->port == b->port &&
	    a->weight_passing == b->weight_passing &&
	    a->weight_warning == b->weight_warning &&
	    strv_eq(a->tags, a->ntags, b->tags, b->ntags) &&
	    strv_eq(a->meta_keys, a->nmeta, b->meta_keys, b->nmeta) &&
	    strv_eq(a->meta_values, a->nmeta, b->meta_values, b->nmeta);
}

/* strv_dup - a copy of a NULL-terminated array of n, or NULL */
static char **
strv_dup(char **v, size_t n)
{
	char **out;
	size_t i;

	if (v == NULL)
		return NULL;
	if ((out = calloc(n + 1, sizeof(char *))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* dup_or_null - xstrdup that keeps NULL */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

void
checks_def_copy(struct check_def *dst, const struct check_def *src)
{
	*dst = *src;
	dst->id = xstrdup(src->id);
	dst->name = xstrdup(src->name);
	dst->notes = xstrdup(src->notes);
	dst->service_id = xstrdup(src->service_id);
	dst->service_name = xstrdup(src->service_name);
	dst->script = dup_or_null(src->script);
	dst->where = xstrdup(src->where);
	dst->args = strv_dup(src->args, src->nargs);
	dst->http = dup_or_null(src->http);
	dst->method = dup_or_null(src->method);
	dst->hdr_names = strv_dup(src->hdr_names, src->nhdrs);
	dst->hdr_values = strv_dup(src->hdr_values, src->nhdrs);
	dst->body = dup_or_null(src->body);
	dst->tcp = dup_or_null(src->tcp);
}

/* put_meta - A_META{A_META_KEY A_META_VALUE} for each pair */
static void
put_meta(struct buf *b, char **keys, char **values, size_t n)
{
	size_t i, nest;

	for (i = 0; i < n; i++) {
		nest = attr_nest_begin(b, A_META);
		attr_put_str(b, A_META_KEY, keys[i]);
		attr_put_str(b, A_META_VALUE, values[i]);
		attr_nest_end(b, nest);
	}
}

void
checks_node_rec(struct buf *b, const struct checks_node *n)
{
	size_t nest;

	nest = attr_nest_begin(b, A_NODE_REC);
	attr_put_str(b, A_NODE, n->node);
	attr_put_str(b, A_NODE_ID, n->node_id != NULL ? n->node_id : "");
	attr_put_str(b, A_ADDRESS, n->address);
	attr_put_str(b, A_DC, n->dc);
	put_meta(b, n->meta_keys, n->meta_values, n->nmeta);
	attr_nest_end(b, nest);
}

void
checks_svc_rec(struct buf *b, const char *node, const struct svc_def *s)
{
	size_t nest, i;

	nest = attr_nest_begin(b, A_SERVICE_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_SERVICE_ID, s->id);
	attr_put_str(b, A_SERVICE_NAME, s->name);
	for (i = 0; i < s->ntags; i++)
		attr_put_str(b, A_TAG, s->tags[i]);
	attr_put_str(b, A_ADDRESS, s->address != NULL ? s->address : "");
	attr_put_u32(b, A_PORT, (uint32_t)s->port);
	put_meta(b, s->meta_keys, s->meta_values, s->nmeta);
	attr_put_u32(b, A_WEIGHT_PASSING, (uint32_t)s->weight_passing);
	attr_put_u32(b, A_WEIGHT_WARNING, (uint32_t)s->weight_warning);
	attr_nest_end(b, nest);
}

void
checks_check_rec(struct buf *b, const char *node, const struct check_def *c,
    const char *status, const char *output)
{
	checks_check_rec_tags(b, node, c, status, output, NULL);
}

void
checks_check_rec_tags(struct buf *b, const char *node,
    const struct check_def *c, const char *status, const char *output,
    const struct svc_def *svc)
{
	size_t nest, i;

	nest = attr_nest_begin(b, A_CHECK_REC);
	attr_put_str(b, A_NODE, node);
	attr_put_str(b, A_CHECK_ID, c->id);
	attr_put_str(b, A_CHECK_NAME, c->name);
	attr_put_str(b, A_NOTES, c->notes);
	attr_put_str(b, A_SERVICE_ID, c->service_id);
	attr_put_str(b, A_SERVICE_NAME, c->service_name);
	attr_put_str(b, A_CHECK_TYPE, c->type);
	for (i = 0; svc != NULL && i < svc->ntags; i++)
		attr_put_str(b, A_TAG, svc->tags[i]);
	/* Last, in this order: see checks.h. */
	attr_put_str(b, A_STATUS, status);
	attr_put_str(b, A_OUTPUT, output != NULL ? output : "");
	attr_nest_end(b, nest);
}
