/*
 * members.c - `cairn members`, Consul's command/members: the member list
 * from /v1/agent/members as a table, servers first.
 *
 *	Node  Address          Status  Type    Build  Protocol  DC   Segment
 *	n1    10.0.0.1:8301    alive   server  0.1.0  2         dc1  <all>
 *
 * The columns are those of Consul before 1.11 (no Partition). The status
 * name comes from serf's integer; -status filters on it with a regular
 * expression (POSIX extended here, RE2 in Consul: the same for the
 * alternations people use); nothing matching exits 2. -detailed prints
 * "Node Address Status Tags" with the tags sorted as k=v,k=v.
 *
 * Leaves out: -segment and -filter (Enterprise segments, and the filter
 * expression language).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

static const char members_help[] =
"Usage: cairn members [options]\n"
"\n"
"  Outputs the members of a running cairn agent.\n";

static const char *const members_titles[] = { "HTTP API Options",
    "Command Options" };

/* members_free - see cli.h */
void
members_free(struct cli_member *m, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].addr);
		for (j = 0; j < m[i].ntags; j++) {
			free(m[i].keys[j]);
			free(m[i].values[j]);
		}
		free(m[i].keys);
		free(m[i].values);
	}
	free(m);
}

/* members_parse - see cli.h */
int
members_parse(const char *json, size_t len, struct cli_member **out,
    size_t *n, char *err, size_t errlen)
{
	const char *tpath[] = { "Tags", NULL };
	struct cli_member *m = NULL;
	yajl_val root, o, tags, tv;
	const char *name = NULL, *addr = NULL;
	int bad;
	size_t i, j, cnt;

	*out = NULL;
	*n = 0;
	if ((root = cli_json_parse(json, len, err, errlen)) == NULL)
		return -1;
	if (!YAJL_IS_ARRAY(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON array");
		goto fail;
	}
	cnt = root->u.array.len;
	if (cnt > 0 && (m = calloc(cnt, sizeof(*m))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < cnt; i++) {
		o = root->u.array.values[i];
		tags = yajl_tree_get(o, tpath, yajl_t_any);
		bad = 0;
		if (YAJL_IS_OBJECT(o)) {
			name = cli_json_str(o, "Name", &bad);
			addr = cli_json_str(o, "Addr", &bad);
		}
		if (!YAJL_IS_OBJECT(o) || bad ||
		    cli_json_u64(o, "Port", &m[i].port) < 0 ||
		    cli_json_u64(o, "Status", &m[i].status) < 0 ||
		    (tags != NULL && !YAJL_IS_NULL(tags) &&
		    !YAJL_IS_OBJECT(tags))) {
			snprintf(err, errlen, "unexpected response: member "
			    "%zu is not a member", i);
			goto fail;
		}
		m[i].name = cli_xstrdup(name ? name : "");
		m[i].addr = cli_xstrdup(addr ? addr : "");
		if (!YAJL_IS_OBJECT(tags) || tags->u.object.len == 0)
			continue;
		if ((m[i].keys = calloc(tags->u.object.len,
		    sizeof(char *))) == NULL ||
		    (m[i].values = calloc(tags->u.object.len,
		    sizeof(char *))) == NULL)
			log_fatal("out of memory");
		for (j = 0; j < tags->u.object.len; j++) {
			tv = tags->u.object.values[j];
			if (!YAJL_IS_STRING(tv)) {
				snprintf(err, errlen, "unexpected response: "
				    "tag %.100s of %.100s is not a string",
				    tags->u.object.keys[j], name);
				goto fail;
			}
			m[i].keys[j] = cli_xstrdup(tags->u.object.keys[j]);
			m[i].values[j] = cli_xstrdup(YAJL_GET_STRING(tv));
			m[i].ntags = j + 1;
		}
	}
	yajl_tree_free(root);
	*out = m;
	*n = cnt;
	return 0;
fail:
	if (m != NULL)
		members_free(m, root->u.array.len);
	yajl_tree_free(root);
	return -1;
}

/* members_status - serf.MemberStatus.String() */
const char *
members_status(uint64_t status, char *buf, size_t n)
{
	static const char *const names[] = { "none", "alive", "leaving",
	    "left", "failed" };

	if (status < sizeof(names) / sizeof(names[0]))
		return names[status];
	snprintf(buf, n, "unknown MemberStatus %llu",
	    (unsigned long long)status);
	return buf;
}

/* members_tag - see cli.h */
const char *
members_tag(const struct cli_member *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->ntags; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->values[i];
	return "";
}

/* tag_set - add or replace a tag */
static void
tag_set(struct cli_member *m, const char *key, const char *value)
{
	char **nk, **nv;
	size_t i;

	for (i = 0; i < m->ntags; i++)
		if (strcmp(m->keys[i], key) == 0) {
			free(m->values[i]);
			m->values[i] = cli_xstrdup(value);
			return;
		}
	if ((nk = realloc(m->keys, (m->ntags + 1) * sizeof(*nk))) == NULL)
		log_fatal("out of memory");
	m->keys = nk;
	if ((nv = realloc(m->values, (m->ntags + 1) * sizeof(*nv))) == NULL)
		log_fatal("out of memory");
	m->values = nv;
	m->keys[m->ntags] = cli_xstrdup(key);
	m->values[m->ntags] = cli_xstrdup(value);
	m->ntags++;
}

/*
 * members_addr - net.TCPAddr{IP: net.ParseIP(a), Port: p}.String(): an
 * IPv4-mapped address prints as IPv4, IPv6 goes in brackets, and an
 * address Go cannot parse prints as nothing before the colon.
 */
void
members_addr(const char *ip, uint64_t port, char *out, size_t n)
{
	struct in6_addr a6;
	struct in_addr a4;
	char s[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		inet_ntop(AF_INET, &a4, s, sizeof(s));
		snprintf(out, n, "%s:%llu", s, (unsigned long long)port);
	} else if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			inet_ntop(AF_INET, &a6.s6_addr[12], s, sizeof(s));
			snprintf(out, n, "%s:%llu", s,
			    (unsigned long long)port);
		} else {
			inet_ntop(AF_INET6, &a6, s, sizeof(s));
			snprintf(out, n, "[%s]:%llu", s,
			    (unsigned long long)port);
		}
	} else
		snprintf(out, n, ":%llu", (unsigned long long)port);
}

/* is_server - role=consul, Consul's MemberTagValueRoleServer */
static int
is_server(const struct cli_member *m)
{
	return strcmp(members_tag(m, "role"), "consul") == 0;
}

/* member_cmp - servers first, then by segment, then by name */
static int
member_cmp(const void *a, const void *b)
{
	const struct cli_member *x = a, *y = b;
	int c;

	if (is_server(x) != is_server(y))
		return is_server(x) ? -1 : 1;
	if ((c = strcmp(members_tag(x, "segment"),
	    members_tag(y, "segment"))) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/* members_select - see cli.h */
size_t
members_select(struct cli_member *m, size_t n, const regex_t *re)
{
	struct cli_member tmp;
	char sbuf[64];
	size_t i, kept = 0;

	for (i = 0; i < n; i++) {
		/* With no -segment, servers are in "<all>" segments. */
		if (is_server(&m[i]))
			tag_set(&m[i], "segment", "<all>");
		else if (members_tag(&m[i], "segment")[0] == '\0')
			tag_set(&m[i], "segment", "<default>");
		if (re != NULL && regexec(re, members_status(m[i].status,
		    sbuf, sizeof(sbuf)), 0, NULL, 0) != 0)
			continue;
		if (i != kept) {
			tmp = m[kept];
			m[kept] = m[i];
			m[i] = tmp;
		}
		kept++;
	}
	if (kept > 0)	/* qsort(NULL, 0) is undefined */
		qsort(m, kept, sizeof(*m), member_cmp);
	return kept;
}

/* tag_idx_cmp - order tag indexes by key (qsort_r) */
static int
tag_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct cli_member *m = arg;

	return strcmp(m->keys[*(const size_t *)a], m->keys[*(const size_t *)b]);
}

/* members_format - see cli.h */
void
members_format(struct buf *out, const struct cli_member *m, size_t n,
    int detailed)
{
	struct buf *lines;
	char addr[128], sbuf[64];
	const char *build, *colon, *role;
	size_t i, j, *idx;

	if ((lines = calloc(n + 1, sizeof(*lines))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i <= n; i++)
		buf_init(&lines[i]);
	buf_puts(&lines[0], detailed ? "Node\x1f" "Address\x1f" "Status\x1f"
	    "Tags" : "Node\x1f" "Address\x1f" "Status\x1f" "Type\x1f"
	    "Build\x1f" "Protocol\x1f" "DC\x1f" "Segment");
	for (i = 0; i < n; i++) {
		members_addr(m[i].addr, m[i].port, addr, sizeof(addr));
		buf_printf(&lines[i + 1], "%s\x1f%s\x1f%s\x1f", m[i].name,
		    addr, members_status(m[i].status, sbuf, sizeof(sbuf)));
		if (detailed) {
			if ((idx = calloc(m[i].ntags + 1,
			    sizeof(*idx))) == NULL)
				log_fatal("out of memory");
			for (j = 0; j < m[i].ntags; j++)
				idx[j] = j;
			qsort_r(idx, m[i].ntags, sizeof(*idx), tag_idx_cmp,
			    (void *)&m[i]);
			for (j = 0; j < m[i].ntags; j++)
				buf_printf(&lines[i + 1], "%s%s=%s",
				    j ? "," : "", m[i].keys[idx[j]],
				    m[i].values[idx[j]]);
			free(idx);
			continue;
		}
		role = members_tag(&m[i], "role");
		if (strcmp(role, "consul") != 0 && strcmp(role, "node") != 0) {
			buf_puts(&lines[i + 1], "unknown\x1f\x1f\x1f\x1f");
			continue;
		}
		build = members_tag(&m[i], "build");
		if (build[0] == '\0')
			build = "< 0.3";
		colon = strchr(build, ':');
		buf_printf(&lines[i + 1], "%s\x1f%.*s\x1f%s\x1f%s\x1f%s",
		    role[0] == 'c' ? "server" : "client",
		    colon ? (int)(colon - build) : (int)strlen(build), build,
		    members_tag(&m[i], "vsn"), members_tag(&m[i], "dc"),
		    members_tag(&m[i], "segment"));
	}
	cli_columnize_bufs(out, lines, n + 1);
	free(lines);
}

/* members_main - `cairn members`; argv[0] is "members" */
int
members_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct cli_member *m = NULL;
	struct buf out;
	const char *status = ".*";
	char err[1200];
	regex_t re;
	size_t n = 0, kept;
	int detailed = 0, wan = 0, rc = 1, r;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "detailed", CLI_BOOL, &detailed, NULL, "Provides detailed "
		    "information about nodes." },
		{ "status", CLI_STR, &status, "string", "If provided, output "
		    "is filtered to only nodes matching the regular "
		    "expression for status." },
		{ "wan", CLI_BOOL, &wan, NULL, "If the agent is in server "
		    "mode, this can be used to return the other peers in the "
		    "WAN pool." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	buf_init(&out);
	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2 || r == -1) {
		if (r == -1)
			fprintf(stderr, "%s\n", err);
		cli_usage(&out, members_help, tabs, members_titles);
		cli_write(r == -2 ? stdout : stderr, &out);
		buf_free(&out);
		return r == -2 ? 0 : 1;
	}
	/* Arguments after the flags are ignored, as Consul ignores them. */
	if ((r = regcomp(&re, status, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(r, &re, err, sizeof(err));
		fprintf(stderr, "Failed to compile status regexp: %s\n", err);
		return 1;
	}
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto done;
	}
	if (http_do(&c, "GET", "/v1/agent/members", wan ? "wan=1" : "", 0,
	    NULL, 0, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error retrieving members: %s\n", err);
		goto done;
	}
	if (resp.code != 200)
		http_status_error(&resp, err, sizeof(err));
	if (resp.code != 200 || members_parse((char *)buf_head(&resp.body),
	    buf_used(&resp.body), &m, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error retrieving members: %s\n", err);
		buf_free(&resp.body);
		goto done;
	}
	buf_free(&resp.body);
	if ((kept = members_select(m, n, &re)) == 0) {
		rc = 2;
		goto done;
	}
	members_format(&out, m, kept, detailed);
	buf_putc(&out, '\n');
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
done:
	members_free(m, n);
	regfree(&re);
	buf_free(&out);
	return rc;
}
