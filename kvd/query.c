/*
 * query.c - Consul's prepared queries in the state store: set and delete
 * (agent/consul/state/prepared_query.go), resolving an ID or a name, the
 * name_prefix_match templates (agent/consul/prepared_query/template.go)
 * and executing a query against the catalog in this datacenter
 * (agent/consul/prepared_query_endpoint.go, execute).
 *
 *	queries	 ID -> A_CREATE_INDEX A_MODIFY_INDEX A_QUERY_ID
 *		 A_QUERY_NAME A_QUERY_TEMPLATE [A_SESSION] A_QUERY_DEF
 *	meta	 "query_index", the table's X-Consul-Index
 *
 * The definition is Consul's JSON with every field (httpd writes it, in
 * api_query.c): kvd keeps it as it came and reads it with jv when it
 * checks a template or runs a query. A template renders every string
 * under Service with HIL's interpolations ${name.full}, ${name.prefix},
 * ${name.suffix}, ${agent.segment} and ${match(N)}.
 *
 * Regexp is Go's RE2; kvd has POSIX extended expressions, so the common
 * RE2 forms are translated first: \d \w \s (and \D \W \S outside
 * brackets), escapes inside brackets, a leading (?i). Lazy quantifiers
 * become greedy (POSIX matches leftmost-longest anyway), and what cannot
 * be translated (non-capturing groups, \b, \pN) is refused as a bad
 * Regexp.
 *
 * Left out: HIL beyond variables and match(N) (no arithmetic or other
 * functions), failover to other datacenters, sorting by ?near (no
 * coordinates), ACL tokens (kept, never checked), and a name index:
 * lookups scan the table, fine for the hundreds of queries a cluster has.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "jv.h"
#include "log.h"
#include "msg.h"
#include "store.h"

#define QRY_TEMPLATE_TYPE	"name_prefix_match"
#define QRY_MATCH_MAX		32	/* ${match(N)}: N below this */
#define QRY_DEF_NAME		"query definition"	/* jv's "file" */

/* What a template renders with: the name and the regexp's submatches. */
struct qry_render {
	const char	*full;		/* the name looked up */
	const char	*prefix;	/* the template's Name */
	int		 remove_empty;	/* Template.RemoveEmptyTags */
	regmatch_t	 m[QRY_MATCH_MAX];
	size_t		 nm;		/* submatches in m, 0 if no match */
};

/* qry_touch - the queries table changed at index */
static int
qry_touch(struct store *s, DB_TXN *t, uint64_t index)
{
	s->query_index = index;
	store_note(s, TOUCH_QUERIES, "", 0);
	return store_meta_put(s, t, "query_index", index);
}

/* qry_get_rec - a query record by ID; 1 found (d malloc'd), 0, -1 */
static int
qry_get_rec(struct store *s, DB_TXN *t, const void *id, size_t n, DBT *d)
{
	DBT k;
	int rc;

	store_dbt(&k, id, n);
	memset(d, 0, sizeof(*d));
	d->flags = DB_DBT_MALLOC;
	rc = s->queries->get(s->queries, t, &k, d, t != NULL ? DB_RMW : 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_fail(rc, "query get");
	return 1;
}

/* qry_is_uuid - 8-4-4-4-12 hex digits, as Consul's isUUID */
static int
qry_is_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* qry_attr_ieq - an attribute equals s[0..n) ignoring case */
static int
qry_attr_ieq(const struct attr *a, const char *s, size_t n)
{
	return a->len == n && (n == 0 ||
	    strncasecmp((const char *)a->val, s, n) == 0);
}

/* qry_attr_eq - an attribute equals s[0..n) */
static int
qry_attr_eq(const struct attr *a, const char *s, size_t n)
{
	return a->len == n && (n == 0 || memcmp(a->val, s, n) == 0);
}

/*
 * qry_re_bracket - an RE2 bracket expression at *pp (past the '[') as a
 * POSIX one: escapes are not special inside POSIX brackets, so ']' '-'
 * and '^' move to the places where they are literal
 */
static int
qry_re_bracket(const char **pp, struct buf *out, char *err, size_t errlen)
{
	const char *p = *pp;
	int neg = 0, rbr = 0, dash = 0, caret = 0, n = 0;
	struct buf body;

	buf_init(&body);
	if (*p == '^') {
		neg = 1;
		p++;
	}
	if (*p == ']') {
		rbr = 1;
		p++;
		n++;
	}
	for (; *p != '\0' && *p != ']'; p++, n++) {
		if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");

			if (e == NULL)
				break;
			buf_append(&body, p, (size_t)(e + 2 - p));
			p = e + 1;
			continue;
		}
		if (*p != '\\') {
			if (*p == '^')
				caret = 1;
			else if (*p == '-' && (p[1] == ']' || n == 0))
				dash = 1;
			else
				buf_putc(&body, *p);
			continue;
		}
		switch (*++p) {
		case 'd':
			buf_puts(&body, "0-9");
			break;
		case 'w':
			buf_puts(&body, "A-Za-z0-9_");
			break;
		case 's':
			buf_puts(&body, " \t\n\r\f\v");
			break;
		case 't':
			buf_putc(&body, '\t');
			break;
		case 'n':
			buf_putc(&body, '\n');
			break;
		case '-':
			dash = 1;
			break;
		case ']':
			rbr = 1;
			break;
		case '^':
			caret = 1;
			break;
		case '\0':
			p--;
			break;
		default:
			if (isalnum((unsigned char)*p)) {
				snprintf(err, errlen, "error parsing regexp: "
				    "invalid escape sequence: `\\%c`", *p);
				buf_free(&body);
				return -1;
			}
			buf_putc(&body, *p);
		}
	}
	if (*p != ']') {
		snprintf(err, errlen, "error parsing regexp: missing "
		    "closing ]");
		buf_free(&body);
		return -1;
	}
	buf_putc(out, '[');
	if (neg)
		buf_putc(out, '^');
	if (rbr)
		buf_putc(out, ']');
	buf_append(out, buf_head(&body), buf_used(&body));
	if (caret)
		buf_putc(out, '^');
	if (dash)
		buf_putc(out, '-');
	buf_putc(out, ']');
	buf_free(&body);
	*pp = p + 1;
	return 0;
}

/* qry_re_translate - the common RE2 forms as POSIX ERE (see the top) */
static int
qry_re_translate(const char *re, struct buf *out, int *icase, char *err,
    size_t errlen)
{
	const char *p = re;

	*icase = 0;
	if (strncmp(p, "(?i)", 4) == 0) {
		*icase = 1;
		p += 4;
	}
	while (*p != '\0') {
		if (*p == '[') {
			p++;
			if (qry_re_bracket(&p, out, err, errlen) < 0)
				return -1;
			continue;
		}
		if (*p == '(' && p[1] == '?') {
			snprintf(err, errlen, "error parsing regexp: groups "
			    "with flags or (?:...) are not supported");
			return -1;
		}
		if ((*p == '*' || *p == '+' || *p == '?' || *p == '}') &&
		    p[1] == '?') {
			buf_putc(out, *p);	/* lazy: greedy will do */
			p += 2;
			continue;
		}
		if (*p != '\\') {
			buf_putc(out, *p++);
			continue;
		}
		p++;
		switch (*p) {
		case 'd':
			buf_puts(out, "[0-9]");
			break;
		case 'D':
			buf_puts(out, "[^0-9]");
			break;
		case 'w':
			buf_puts(out, "[A-Za-z0-9_]");
			break;
		case 'W':
			buf_puts(out, "[^A-Za-z0-9_]");
			break;
		case 's':
			buf_puts(out, "[[:space:]]");
			break;
		case 'S':
			buf_puts(out, "[^[:space:]]");
			break;
		case 't':
			buf_putc(out, '\t');
			break;
		case 'n':
			buf_putc(out, '\n');
			break;
		case '\0':
			snprintf(err, errlen, "error parsing regexp: trailing "
			    "backslash at end of expression: ``");
			return -1;
		default:
			if (isalnum((unsigned char)*p)) {
				snprintf(err, errlen, "error parsing regexp: "
				    "invalid escape sequence: `\\%c`", *p);
				return -1;
			}
			/* Escaped punctuation: special ones stay escaped. */
			if (strchr(".[]()*+?{}|^$\\", *p) != NULL)
				buf_putc(out, '\\');
			buf_putc(out, *p);
		}
		p++;
	}
	return 0;
}

/* qry_regcomp - compile an RE2 Regexp; -1 with Consul's "Bad Regexp" */
static int
qry_regcomp(const char *re, regex_t *rx, char *err, size_t errlen)
{
	char why[256];
	struct buf b;
	int icase, rc;

	buf_init(&b);
	if (qry_re_translate(re, &b, &icase, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "Bad Regexp: %s", why);
		buf_free(&b);
		return -1;
	}
	rc = regcomp(rx, buf_cstr(&b), REG_EXTENDED | (icase ? REG_ICASE : 0));
	buf_free(&b);
	if (rc != 0) {
		regerror(rc, rx, why, sizeof(why));
		snprintf(err, errlen, "Bad Regexp: error parsing regexp: %s",
		    why);
		return -1;
	}
	return 0;
}

/* qry_is_ident - a HIL variable name: letters, digits, '_', '-', '.' */
static int
qry_is_ident(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* qry_trim - s[0..*n) without surrounding blanks */
static const char *
qry_trim(const char *s, size_t *n)
{
	while (*n > 0 && isspace((unsigned char)*s)) {
		s++;
		(*n)--;
	}
	while (*n > 0 && isspace((unsigned char)s[*n - 1]))
		(*n)--;
	return s;
}

/*
 * qry_eval - one ${...} expression e[0..n) into out. 1 done, 0 a format
 * (parse) error, -1 an evaluation error; why says which.
 */
static int
qry_eval(const struct qry_render *r, const char *e, size_t n,
    struct buf *out, char *why, size_t whylen)
{
	const char *arg, *open;
	size_t alen;
	char *end;
	long idx;

	e = qry_trim(e, &n);
	if (qry_is_ident(e, n)) {
		if (n == 9 && memcmp(e, "name.full", 9) == 0)
			buf_puts(out, r->full);
		else if (n == 11 && memcmp(e, "name.prefix", 11) == 0)
			buf_puts(out, r->prefix);
		else if (n == 11 && memcmp(e, "name.suffix", 11) == 0) {
			/* Go's TrimPrefix: case counts here. */
			if (strncmp(r->full, r->prefix, strlen(r->prefix)) == 0)
				buf_puts(out, r->full + strlen(r->prefix));
			else
				buf_puts(out, r->full);
		} else if (n == 13 && memcmp(e, "agent.segment", 13) == 0)
			;	/* no network segments: "" */
		else {
			snprintf(why, whylen, "unknown variable accessed: %.*s",
			    (int)n, e);
			return -1;
		}
		return 1;
	}
	if ((open = memchr(e, '(', n)) == NULL || e[n - 1] != ')' ||
	    !qry_is_ident(e, (size_t)(open - e))) {
		snprintf(why, whylen, "expected a variable or a function "
		    "call, got \"%.*s\"", (int)n, e);
		return 0;
	}
	if ((size_t)(open - e) != 5 || memcmp(e, "match", 5) != 0) {
		snprintf(why, whylen, "unknown function called: %.*s",
		    (int)(open - e), e);
		return -1;
	}
	alen = (size_t)(e + n - 1 - (open + 1));
	arg = qry_trim(open + 1, &alen);
	errno = 0;
	idx = alen > 0 && alen < 12 ? strtol(arg, &end, 10) : 0;
	if (alen == 0 || alen >= 12 || end != arg + alen || errno != 0) {
		snprintf(why, whylen, "match: argument 1 should be type int, "
		    "got \"%.*s\"", (int)alen, arg);
		return -1;
	}
	/* Consul's match() cannot fail: out of range is "". */
	if (idx >= 0 && (size_t)idx < r->nm && r->m[idx].rm_so >= 0)
		buf_append(out, r->full + r->m[idx].rm_so,
		    (size_t)(r->m[idx].rm_eo - r->m[idx].rm_so));
	return 1;
}

/*
 * qry_interp - a string of the Service part, interpolated into out;
 * -1 with Consul's "Bad format" or "Bad evaluation" text in err
 */
static int
qry_interp(const struct qry_render *r, const char *in, const char *path,
    struct buf *out, char *err, size_t errlen)
{
	const char *p = in, *d, *close;
	char why[256];
	int rc;

	while ((d = strstr(p, "${")) != NULL) {
		if (d > p && d[-1] == '$') {	/* $${ is a literal ${ */
			buf_append(out, p, (size_t)(d - 1 - p));
			buf_puts(out, "${");
			p = d + 2;
			continue;
		}
		buf_append(out, p, (size_t)(d - p));
		if ((close = strchr(d + 2, '}')) == NULL) {
			snprintf(err, errlen, "Bad format '%s' in Service%s: "
			    "expected \"}\" to end the interpolation", in,
			    path);
			return -1;
		}
		rc = qry_eval(r, d + 2, (size_t)(close - d - 2), out, why,
		    sizeof(why));
		if (rc == 0) {
			snprintf(err, errlen, "Bad format '%s' in "
			    "Service%s: %s", in, path, why);
			return -1;
		}
		if (rc < 0) {
			snprintf(err, errlen, "Bad evaluation for '%s' in "
			    "Service%s: %s", in, path, why);
			return -1;
		}
		p = close + 1;
	}
	buf_puts(out, p);
	return 0;
}

/*
 * qry_copy - write v as JSON, rendering the strings of the Service part
 * (svc) with r; path is Consul's walk path of v ("", ".Tags[0]", ...)
 */
static int
qry_copy(const struct qry_render *r, struct json *j, const struct jv *v,
    int svc, struct buf *path, char *err, size_t errlen)
{
	size_t mark = path->len, i;
	struct buf s;
	int64_t n;
	int map, tags, rc = 0;

	switch (v->type) {
	case JV_NULL:
		json_null(j);
		return 0;
	case JV_BOOL:
		json_bool(j, v->b);
		return 0;
	case JV_NUM:
		/* Definitions hold integers only (NearestN). */
		n = 0;
		if (v->str != NULL && strpbrk(v->str, ".eE") == NULL)
			n = strtoll(v->str, NULL, 10);
		else if (v->num > -9e18 && v->num < 9e18)
			n = (int64_t)v->num;
		json_i64(j, n);
		return 0;
	case JV_STR:
		if (!svc || r == NULL) {
			json_str(j, v->str);
			return 0;
		}
		buf_init(&s);
		if ((rc = qry_interp(r, v->str, buf_cstr(path), &s, err,
		    errlen)) == 0)
			json_strn(j, (const char *)buf_head(&s), buf_used(&s));
		else
			json_null(j);	/* keeps the writer whole; unused */
		buf_free(&s);
		return rc;
	case JV_ARR:
	case JV_OBJ:
		/* Only a command not from httpd nests this deep. */
		if (j->depth >= JSON_DEPTH - 1) {
			snprintf(err, errlen, "nested too deeply");
			json_null(j);
			return -1;
		}
		break;
	}
	switch (v->type) {
	case JV_ARR:
		tags = svc && r != NULL && r->remove_empty &&
		    strcmp(buf_cstr(path), ".Tags") == 0;
		json_arr_open(j);
		for (i = 0; i < v->n && rc == 0; i++) {
			if (tags && v->items[i]->type == JV_STR) {
				/* RemoveEmptyTags: drop what renders to "" */
				buf_init(&s);
				buf_printf(path, "[%zu]", i);
				rc = qry_interp(r, v->items[i]->str,
				    buf_cstr(path), &s, err, errlen);
				if (rc == 0 && buf_used(&s) > 0)
					json_strn(j, (const char *)buf_head(&s),
					    buf_used(&s));
				buf_free(&s);
				path->len = mark;
				continue;
			}
			buf_printf(path, "[%zu]", i);
			rc = qry_copy(r, j, v->items[i], svc, path, err,
			    errlen);
			path->len = mark;
		}
		json_arr_close(j);
		return rc;
	case JV_OBJ:
		map = svc && (strcmp(buf_cstr(path), ".NodeMeta") == 0 ||
		    strcmp(buf_cstr(path), ".ServiceMeta") == 0);
		json_obj_open(j);
		for (i = 0; i < v->n && rc == 0; i++) {
			json_key(j, v->keys[i]);
			if (!svc && path->len == 0 &&
			    jv_keyeq(v->keys[i], "Service")) {
				rc = qry_copy(r, j, v->items[i], 1, path, err,
				    errlen);
				continue;
			}
			buf_printf(path, map ? "[%s]" : ".%s", v->keys[i]);
			rc = qry_copy(r, j, v->items[i], svc, path, err,
			    errlen);
			path->len = mark;
		}
		json_obj_close(j);
		return rc;
	default:
		return 0;
	}
}

/*
 * qry_render - the definition def rendered for name into out (JSON): a
 * template's Service strings interpolated, anything else as it is.
 * -1 with Consul's reason in err.
 */
static int
qry_render(const struct jv *def, const char *name, struct buf *out,
    char *err, size_t errlen)
{
	const struct jv *tpl = jv_get(def, "Template");
	const char *type = jv_str(tpl, "Type"), *re = jv_str(tpl, "Regexp");
	struct qry_render r;
	struct buf path;
	struct json j;
	regex_t rx;
	int rc;

	memset(&r, 0, sizeof(r));
	r.full = name;
	r.prefix = jv_str(def, "Name") != NULL ? jv_str(def, "Name") : "";
	if (jv_bool(tpl, "RemoveEmptyTags", &r.remove_empty) < 0)
		r.remove_empty = 0;
	if (type != NULL && *type != '\0' &&
	    strcmp(type, QRY_TEMPLATE_TYPE) != 0) {
		snprintf(err, errlen, "Bad Template.Type '%s'", type);
		return -1;
	}
	if (type != NULL && *type != '\0' && re != NULL && *re != '\0') {
		if (qry_regcomp(re, &rx, err, errlen) < 0)
			return -1;
		r.nm = rx.re_nsub + 1 < QRY_MATCH_MAX ? rx.re_nsub + 1 :
		    QRY_MATCH_MAX;
		if (regexec(&rx, name, r.nm, r.m, 0) != 0)
			r.nm = 0;
		regfree(&rx);
	}
	buf_init(&path);
	json_init(&j, out, 0);
	rc = qry_copy(type != NULL && *type != '\0' ? &r : NULL, &j, def, 0,
	    &path, err, errlen);
	buf_free(&path);
	return rc;
}

/* qry_parse - a stored definition as a tree; NULL with err */
static struct jv *
qry_parse(const void *def, size_t len, char *err, size_t errlen)
{
	struct jv *v;

	if ((v = jv_parse(def, len, QRY_DEF_NAME, err, errlen)) != NULL &&
	    v->type != JV_OBJ) {
		snprintf(err, errlen, "%s: not an object", QRY_DEF_NAME);
		jv_free(v);
		return NULL;
	}
	return v;
}

/* The other queries' names, for the checks of a set. */
struct qry_clash {
	const struct attr	*id;		/* the query being set */
	const char		*name;
	int			 template;
	int			 name_taken, empty_template, id_taken;
};

/* qry_clash_scan - what other queries say about a set's name */
static int
qry_clash_scan(struct store *s, DB_TXN *t, struct qry_clash *c)
{
	struct attr tab[ATTR_TAB];
	size_t nlen = strlen(c->name);
	uint64_t tpl;
	DBC *cur;
	DBT k, d;
	int rc;

	if ((rc = s->queries->cursor(s->queries, t, &cur, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = cur->get(cur, &k, &d, DB_NEXT)) == 0) {
		if (attr_index(d.data, d.size, tab, ATTR_TAB) < 0)
			continue;
		if (qry_is_uuid(c->name, nlen) &&
		    qry_attr_ieq(&tab[A_QUERY_ID], c->name, nlen))
			c->id_taken = 1;
		if (qry_attr_eq(&tab[A_QUERY_ID], (const char *)c->id->val,
		    c->id->len))
			continue;
		tpl = 0;
		attr_u64(&tab[A_QUERY_TEMPLATE], &tpl);
		if (nlen > 0 && qry_attr_ieq(&tab[A_QUERY_NAME], c->name, nlen))
			c->name_taken = 1;
		if (nlen == 0 && c->template && tpl &&
		    tab[A_QUERY_NAME].len == 0)
			c->empty_template = 1;
	}
	cur->close(cur);
	return rc == DB_NOTFOUND ? 0 : store_fail(rc, "queries");
}

/* qry_set - OP_QUERY_SET, refused with the state store's reasons */
static int
qry_set(struct store *s, DB_TXN *t, uint64_t index, const struct attr *tab,
    struct buf *res)
{
	const struct attr *id = &tab[A_QUERY_ID];
	struct qry_clash c;
	struct attr old[ATTR_TAB];
	const char *name, *sess, *type;
	uint64_t create = index, update = 0;
	char err[512], why[400];
	struct buf rec, out;
	struct jv *def;
	DBT k, d;
	int rc, found;

	if (id->len == 0 || !attr_present(&tab[A_QUERY_DEF])) {
		res_error(res, MSG_E_BADREQ, "Missing query ID");
		return 0;
	}
	if ((def = qry_parse(tab[A_QUERY_DEF].val, tab[A_QUERY_DEF].len, err,
	    sizeof(err))) == NULL) {
		res_error(res, MSG_E_BADREQ, "Invalid prepared query: %s", err);
		return 0;
	}
	if ((found = qry_get_rec(s, t, id->val, id->len, &d)) < 0) {
		jv_free(def);
		return -1;
	}
	if (found) {
		if (attr_index(d.data, d.size, old, ATTR_TAB) == 0)
			attr_u64(&old[A_CREATE_INDEX], &create);
		free(d.data);
	}
	attr_u64(&tab[A_QUERY_UPDATE], &update);
	if (update && !found) {
		res_error(res, MSG_E_INTERNAL, "Cannot modify non-existent "
		    "prepared query: '%.*s'", (int)id->len, id->val);
		jv_free(def);
		return 0;
	}
	name = jv_str(def, "Name") != NULL ? jv_str(def, "Name") : "";
	sess = jv_str(def, "Session");
	type = jv_str(jv_get(def, "Template"), "Type");
	memset(&c, 0, sizeof(c));
	c.id = id;
	c.name = name;
	c.template = type != NULL && *type != '\0';
	if (qry_clash_scan(s, t, &c) < 0) {
		jv_free(def);
		return -1;
	}
	err[0] = '\0';
	if (c.name_taken)
		snprintf(err, sizeof(err), "name '%s' aliases an existing "
		    "query name", name);
	else if (c.empty_template)
		snprintf(err, sizeof(err), "a query template with an empty "
		    "name already exists");
	else if (c.id_taken)
		snprintf(err, sizeof(err), "name '%s' aliases an existing "
		    "query ID", name);
	else if (sess != NULL && *sess != '\0') {
		if ((rc = session_get(s, t, sess, strlen(sess), &d)) < 0) {
			jv_free(def);
			return -1;
		}
		if (rc == 0)
			snprintf(err, sizeof(err), "invalid session \"%s\"",
			    sess);
		else
			free(d.data);
	}
	/* A template compiles and renders for its own name, or is refused. */
	if (err[0] == '\0' && c.template) {
		buf_init(&out);
		if (qry_render(def, name, &out, why, sizeof(why)) < 0)
			snprintf(err, sizeof(err), "failed compiling template: "
			    "%s", why);
		buf_free(&out);
	}
	if (err[0] != '\0') {
		res_error(res, MSG_E_INTERNAL, "%s", err);
		jv_free(def);
		return 0;
	}
	buf_init(&rec);
	attr_put_u64(&rec, A_CREATE_INDEX, create);
	attr_put_u64(&rec, A_MODIFY_INDEX, index);
	attr_put(&rec, A_QUERY_ID, id->val, id->len);
	attr_put_str(&rec, A_QUERY_NAME, name);
	attr_put_u8(&rec, A_QUERY_TEMPLATE, (uint8_t)c.template);
	if (sess != NULL && *sess != '\0')
		attr_put_str(&rec, A_SESSION, sess);
	attr_put(&rec, A_QUERY_DEF, tab[A_QUERY_DEF].val, tab[A_QUERY_DEF].len);
	jv_free(def);
	store_dbt(&k, id->val, id->len);
	store_dbt(&d, buf_head(&rec), buf_used(&rec));
	rc = s->queries->put(s->queries, t, &k, &d, 0);
	buf_free(&rec);
	if (rc != 0)
		return store_fail(rc, "query put");
	attr_put_u8(res, A_RESULT, 1);
	attr_put(res, A_QUERY_ID, id->val, id->len);
	return qry_touch(s, t, index);
}

/* qry_delete - OP_QUERY_DELETE */
static int
qry_delete(struct store *s, DB_TXN *t, uint64_t index, const struct attr *id,
    struct buf *res)
{
	DBT k;
	int rc;

	if (id->len == 0) {
		res_error(res, MSG_E_BADREQ, "Missing query ID");
		return 0;
	}
	store_dbt(&k, id->val, id->len);
	rc = s->queries->del(s->queries, t, &k, 0);
	if (rc == DB_NOTFOUND) {
		res_error(res, MSG_E_INTERNAL, "Cannot modify non-existent "
		    "prepared query: '%.*s'", (int)id->len, id->val);
		return 0;
	}
	if (rc != 0)
		return store_fail(rc, "query delete");
	attr_put_u8(res, A_RESULT, 1);
	return qry_touch(s, t, index);
}

/* query_apply - OP_QUERY_SET and OP_QUERY_DELETE */
int
query_apply(struct store *s, DB_TXN *t, uint64_t index, uint32_t op,
    const struct attr *tab, struct buf *res)
{
	if (op == OP_QUERY_SET)
		return qry_set(s, t, index, tab, res);
	if (op == OP_QUERY_DELETE)
		return qry_delete(s, t, index, &tab[A_QUERY_ID], res);
	res_error(res, MSG_E_BADREQ, "unknown query operation %u", op);
	return 0;
}

/*
 * query_session_gone - a session was invalidated: the queries bound to
 * it go too, as in Consul (state/session.go, deleteSessionTxn)
 */
int
query_session_gone(struct store *s, DB_TXN *t, uint64_t index,
    const void *id, size_t idlen)
{
	struct attr tab[ATTR_TAB];
	DBC *c;
	DBT k, d;
	int rc, gone = 0;

	if ((rc = s->queries->cursor(s->queries, t, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = c->get(c, &k, &d, DB_NEXT | DB_RMW)) == 0) {
		if (attr_index(d.data, d.size, tab, ATTR_TAB) < 0 ||
		    !qry_attr_eq(&tab[A_SESSION], id, idlen) || idlen == 0)
			continue;
		log_info("prepared query %.*s deleted with its session",
		    (int)k.size, (const char *)k.data);
		if ((rc = c->del(c, 0)) != 0)
			break;
		gone = 1;
	}
	c->close(c);
	if (rc != DB_NOTFOUND)
		return store_fail(rc, "queries");
	return gone ? qry_touch(s, t, index) : 0;
}

/* qry_put_entry - A_ENTRY{record} */
static void
qry_put_entry(struct buf *out, const void *rec, size_t len)
{
	attr_put(out, A_ENTRY, rec, len);
}

/* query_get - one query (id) or all as A_ENTRYs; *found: how many */
int
query_get(struct store *s, const char *id, struct buf *out, int *found)
{
	DBC *c;
	DBT k, d;
	int rc;

	*found = 0;
	if (id != NULL) {
		if ((rc = qry_get_rec(s, NULL, id, strlen(id), &d)) <= 0)
			return rc;
		qry_put_entry(out, d.data, d.size);
		free(d.data);
		*found = 1;
		return 0;
	}
	if ((rc = s->queries->cursor(s->queries, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
		qry_put_entry(out, d.data, d.size);
		(*found)++;
	}
	c->close(c);
	return rc == DB_NOTFOUND ? 0 : store_fail(rc, "queries");
}

/*
 * qry_resolve - the query for key, as Consul's PreparedQueryResolve: an
 * ID (a UUID, any case), else an exact name (any case), else the
 * template whose Name is the longest prefix of key. rec gets its record.
 * 1 found, 0 not, -1 on error.
 */
static int
qry_resolve(struct store *s, const char *key, struct buf *rec)
{
	struct attr tab[ATTR_TAB];
	size_t klen = strlen(key), best = 0;
	char lower[37];
	uint64_t tpl;
	int rc, have = 0, exact = 0;
	size_t i;
	DBC *c;
	DBT k, d;

	if (qry_is_uuid(key, klen)) {
		for (i = 0; i < klen; i++)
			lower[i] = (char)tolower((unsigned char)key[i]);
		lower[klen] = '\0';
		if ((rc = qry_get_rec(s, NULL, lower, klen, &d)) != 0) {
			if (rc > 0) {
				buf_append(rec, d.data, d.size);
				free(d.data);
			}
			return rc;
		}
	}
	if ((rc = s->queries->cursor(s->queries, NULL, &c, 0)) != 0)
		return store_fail(rc, "cursor");
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while (!exact && (rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
		if (attr_index(d.data, d.size, tab, ATTR_TAB) < 0)
			continue;
		tpl = 0;
		attr_u64(&tab[A_QUERY_TEMPLATE], &tpl);
		if (klen > 0 && qry_attr_ieq(&tab[A_QUERY_NAME], key, klen))
			exact = 1;
		else if (!tpl || tab[A_QUERY_NAME].len > klen ||
		    (have && tab[A_QUERY_NAME].len <= best) ||
		    (tab[A_QUERY_NAME].len > 0 && strncasecmp((const char *)
		    tab[A_QUERY_NAME].val, key, tab[A_QUERY_NAME].len) != 0))
			continue;
		buf_reset(rec);
		buf_append(rec, d.data, d.size);
		have = 1;
		best = tab[A_QUERY_NAME].len;
	}
	c->close(c);
	if (rc != 0 && rc != DB_NOTFOUND)
		return store_fail(rc, "queries");
	return have;
}

/* qry_str_in - s is one of the strings of array a (any case: icase) */
static int
qry_str_in(const struct jv *a, const void *s, size_t n, int icase)
{
	size_t i;

	for (i = 0; a != NULL && a->type == JV_ARR && i < a->n; i++)
		if (a->items[i]->type == JV_STR &&
		    strlen(a->items[i]->str) == n && (n == 0 || (icase ?
		    strncasecmp(a->items[i]->str, s, n) :
		    memcmp(a->items[i]->str, s, n)) == 0))
			return 1;
	return 0;
}

/* qry_meta_ok - a record's A_METAs hold every pair of the object want */
static int
qry_meta_ok(const struct attr *rec, const struct jv *want)
{
	struct attr mt[A_META_VALUE + 1], a;
	struct attr_iter it;
	const char *k, *v;
	size_t i;
	int ok;

	for (i = 0; want != NULL && want->type == JV_OBJ && i < want->n; i++) {
		k = want->keys[i];
		v = want->items[i]->type == JV_STR ? want->items[i]->str : "";
		ok = 0;
		attr_iter_init(&it, rec->val, rec->len);
		while (!ok && attr_next(&it, &a) == 1)
			ok = a.type == A_META && attr_index(a.val, a.len, mt,
			    A_META_VALUE + 1) == 0 &&
			    qry_attr_eq(&mt[A_META_KEY], k, strlen(k)) &&
			    qry_attr_eq(&mt[A_META_VALUE], v, strlen(v));
		if (!ok)
			return 0;
	}
	return 1;
}

/* qry_tags_ok - Consul's tagFilter: every tag, none of the "!tag"s */
static int
qry_tags_ok(const struct attr *svc, const struct jv *tags)
{
	struct attr_iter it;
	struct attr a;
	const char *tag;
	size_t i, n;
	int has, not;

	for (i = 0; tags != NULL && tags->type == JV_ARR && i < tags->n; i++) {
		if (tags->items[i]->type != JV_STR)
			continue;
		tag = tags->items[i]->str;
		if ((not = tag[0] == '!'))
			tag++;
		n = strlen(tag);
		has = 0;
		attr_iter_init(&it, svc->val, svc->len);
		while (!has && attr_next(&it, &a) == 1)
			has = a.type == A_TAG && qry_attr_ieq(&a, tag, n);
		if (has == not)
			return 0;
	}
	return 1;
}

/*
 * qry_keep - whether a health entry passes the query's Service part:
 * its checks (critical, or with OnlyPassing anything but passing, drops
 * it, unless the check is in IgnoreCheckIDs), node and service meta, tags
 */
static int
qry_keep(const struct attr *e, const struct jv *svc, int passing)
{
	struct attr tab[ATTR_TAB], ct[ATTR_TAB], a;
	const struct jv *ignore = jv_get(svc, "IgnoreCheckIDs");
	struct attr_iter it;
	int only = 0;

	if (attr_index(e->val, e->len, tab, ATTR_TAB) < 0)
		return 0;
	if (jv_bool(svc, "OnlyPassing", &only) < 0)
		only = 0;
	only |= passing;
	attr_iter_init(&it, e->val, e->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_CHECK_REC ||
		    attr_index(a.val, a.len, ct, ATTR_TAB) < 0 ||
		    qry_str_in(ignore, ct[A_CHECK_ID].val, ct[A_CHECK_ID].len,
		    0))
			continue;
		if (only ? !qry_attr_eq(&ct[A_STATUS], "passing", 7) :
		    qry_attr_eq(&ct[A_STATUS], "critical", 8))
			return 0;
	}
	return qry_meta_ok(&tab[A_NODE_REC], jv_get(svc, "NodeMeta")) &&
	    qry_meta_ok(&tab[A_SERVICE_REC], jv_get(svc, "ServiceMeta")) &&
	    qry_tags_ok(&tab[A_SERVICE_REC], jv_get(svc, "Tags"));
}

/* query_execute - see store.h */
int
query_execute(struct store *s, const char *key, int passing, struct buf *out,
    char *err, size_t errlen)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	struct buf rec, rendered, health;
	struct jv *def = NULL, *run = NULL;
	const char *service, *ttl;
	uint64_t tpl = 0;
	size_t nest;
	int rc;

	buf_init(&rec);
	buf_init(&rendered);
	buf_init(&health);
	if ((rc = qry_resolve(s, key, &rec)) <= 0) {
		if (rc == 0) {
			snprintf(err, errlen, "Query not found");
			rc = MSG_E_NOTFOUND;
		}
		goto out;
	}
	attr_index(buf_head(&rec), buf_used(&rec), tab, ATTR_TAB);
	attr_u64(&tab[A_QUERY_TEMPLATE], &tpl);
	if (tpl && qry_attr_ieq(&tab[A_QUERY_ID], key, strlen(key))) {
		snprintf(err, errlen, "prepared query templates can only be "
		    "resolved up by name, not by ID");
		rc = MSG_E_INTERNAL;
		goto out;
	}
	rc = MSG_E_INTERNAL;
	if ((def = qry_parse(tab[A_QUERY_DEF].val, tab[A_QUERY_DEF].len, err,
	    errlen)) == NULL || qry_render(def, key, &rendered, err,
	    errlen) < 0 || (run = qry_parse(buf_head(&rendered),
	    buf_used(&rendered), err, errlen)) == NULL)
		goto out;
	service = jv_str(jv_get(run, "Service"), "Service");
	ttl = jv_str(jv_get(run, "DNS"), "TTL");
	nest = attr_nest_begin(out, A_ENTRY);
	attr_iter_init(&it, buf_head(&rec), buf_used(&rec));
	while (attr_next(&it, &a) == 1)
		if (a.type != A_QUERY_DEF)
			attr_put(out, a.type, a.val, a.len);
	attr_put(out, A_QUERY_DEF, buf_head(&rendered), buf_used(&rendered));
	attr_put_str(out, A_SERVICE_NAME, service != NULL ? service : "");
	attr_put_str(out, A_TTL, ttl != NULL ? ttl : "");
	attr_nest_end(out, nest);
	rc = -1;
	if (service == NULL || *service == '\0' ||
	    catalog_service(s, service, NULL, 1, 0, &health) == 0) {
		attr_iter_init(&it, buf_head(&health), buf_used(&health));
		while (attr_next(&it, &a) == 1)
			if (a.type == A_ENTRY &&
			    qry_keep(&a, jv_get(run, "Service"), passing))
				attr_put(out, A_ENTRY, a.val, a.len);
		rc = 0;
	}
out:
	jv_free(def);
	jv_free(run);
	buf_free(&rec);
	buf_free(&rendered);
	buf_free(&health);
	return rc;
}
