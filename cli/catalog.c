/*
 * catalog.c - `cairn catalog datacenters|nodes|services`, Consul's
 * command/catalog/list: the catalog as a script reads it.
 *
 *	$ cairn catalog nodes
 *	Node  ID        Address   DC
 *	n1    65df4e46  10.0.0.1  dc1
 *
 * nodes prints Consul's columns with the ID cut at its first '-';
 * -detailed keeps the whole ID and adds TaggedAddresses and Meta as
 * sorted "k=v, k=v"; -service lists the nodes providing a service, one
 * row per instance, as Consul does. services prints the sorted names, or
 * with -tags a second column of sorted, comma-joined tags laid out as
 * Go's tabwriter lays them out (padding 6); -node lists one node's
 * services. Nothing matching is said on stderr and exits 0, as in Consul.
 * -node-meta may repeat; each key=value goes to the agent as
 * ?node-meta=key:value, -near as ?near=.
 *
 * Leaves out: -filter (the filter expression language) and -partition.
 * One deliberate difference: a failed `catalog datacenters` exits 1,
 * where Consul prints the error and still exits 0.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

static const char catalog_help[] =
"Usage: cairn catalog <subcommand> [options] [args]\n"
"\n"
"  This command has subcommands for reading cairn's catalog: the nodes and\n"
"  services the cluster knows about. The catalog is not the agent: it is\n"
"  the cluster's view, even where the answers look alike.\n"
"\n"
"  Some simple examples follow; each subcommand's help has more.\n"
"\n"
"  List all datacenters:\n"
"\n"
"      $ cairn catalog datacenters\n"
"\n"
"  List all nodes:\n"
"\n"
"      $ cairn catalog nodes\n"
"\n"
"  List all services:\n"
"\n"
"      $ cairn catalog services\n"
"\n"
"Subcommands:\n"
"    datacenters    Lists all known datacenters\n"
"    nodes          Lists all nodes in the given datacenter\n"
"    services       Lists all registered services in a datacenter\n";

static const char catalog_dcs_help[] =
"Usage: cairn catalog datacenters [options]\n"
"\n"
"  Lists every datacenter the agent knows of, one a line, nearest first\n"
"  (by the servers' estimated round-trip time).\n"
"\n"
"  To list the datacenters:\n"
"\n"
"      $ cairn catalog datacenters\n";

static const char catalog_nodes_help[] =
"Usage: cairn catalog nodes [options]\n"
"\n"
"  Lists the nodes registered in a datacenter, by default the local\n"
"  agent's.\n"
"\n"
"  To list the nodes:\n"
"\n"
"      $ cairn catalog nodes\n"
"\n"
"  To show the full node IDs, tagged addresses and node metadata as well:\n"
"\n"
"      $ cairn catalog nodes -detailed\n"
"\n"
"  To list only the nodes that provide a service:\n"
"\n"
"      $ cairn catalog nodes -service=web\n"
"\n"
"  To list only the nodes with some node metadata:\n"
"\n"
"      $ cairn catalog nodes -node-meta=\"rack=r1\"\n"
"\n"
"  To order the nodes by estimated round-trip time from node-web:\n"
"\n"
"      $ cairn catalog nodes -near=node-web\n";

static const char catalog_services_help[] =
"Usage: cairn catalog services [options]\n"
"\n"
"  Lists the services registered in a datacenter, by default the local\n"
"  agent's, sorted by name.\n"
"\n"
"  To list the services:\n"
"\n"
"      $ cairn catalog services\n"
"\n"
"  To show each service's tags beside it:\n"
"\n"
"      $ cairn catalog services -tags\n"
"\n"
"  To list the services of one node:\n"
"\n"
"      $ cairn catalog services -node=web-1\n"
"\n"
"  To list the services on nodes with some node metadata:\n"
"\n"
"      $ cairn catalog services -node-meta=\"rack=r1\"\n";

static const char *const catalog_titles[] = { "HTTP API Options",
    "Command Options" };

static const char catalog_nomatch_nodes[] =
    "No nodes match the given query - try expanding your search.\n";
static const char catalog_nomatch_services[] =
    "No services match the given query - try expanding your search.\n";

/* A node as the nodes table shows it. */
struct catalog_node {
	char	*id, *node, *address, *dc;
	char	*tagged;	/* "k=v, k=v", sorted by key */
	char	*meta;		/* the same for the node's metadata */
};

/* A service name and the tags of all its instances. */
struct catalog_svc {
	char	*name;
	char	**tags;
	size_t	 ntags;
};

/* catalog_strcmp - qsort: strings in byte order, as Go's sort.Strings */
static int
catalog_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * catalog_meta_query - append "node-meta=k:v" for each -node-meta k=v,
 * joined by '&' to what q holds, sorted by key and with a repeated key's
 * last value kept, as Consul's map of them (and url.Values.Encode) has
 * it. -1 with Go's flag error for a value without '='.
 */
static int
catalog_meta_query(struct buf *q, char **vals, size_t n, char *err,
    size_t errlen)
{
	struct buf kv;
	size_t i, j, kept = 0, klen;

	for (i = 0; i < n; i++)
		if (strchr(vals[i], '=') == NULL) {
			snprintf(err, errlen, "invalid value \"%s\" for flag "
			    "-node-meta: Missing \"=\" value in argument: %s",
			    vals[i], vals[i]);
			return -1;
		}
	/* Drop each value a later one with the same key replaces. */
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++)
			if (cli_keycmp(&vals[i], &vals[j]) == 0)
				break;
		if (j == n)
			vals[kept++] = vals[i];
	}
	if (kept > 0)
		qsort(vals, kept, sizeof(*vals), cli_keycmp);
	buf_init(&kv);
	for (i = 0; i < kept; i++) {
		klen = strcspn(vals[i], "=");
		buf_reset(&kv);
		buf_append(&kv, vals[i], klen);
		buf_putc(&kv, ':');
		buf_puts(&kv, vals[i] + klen + 1);
		if (buf_used(q) > 0)
			buf_putc(q, '&');
		buf_puts(q, "node-meta=");
		http_escape_query(q, buf_cstr(&kv));
	}
	buf_free(&kv);
	return 0;
}

/*
 * catalog_parse - the flags, as cli_flags_usage; after them any argument
 * is Consul's "Too many arguments"
 */
static int
catalog_parse(int argc, char **argv, const char *help,
    const struct cli_flag *const *tabs, int *rc)
{
	int r;

	if ((r = cli_flags_usage(argc, argv, help, tabs, catalog_titles,
	    rc)) >= 0 && r < argc) {
		fprintf(stderr, "Too many arguments (expected 0, got %d)\n",
		    argc - r);
		*rc = 1;
		return -1;
	}
	return r;
}

/* catalog_flag_error - a flag value found bad after parsing: as Go's */
static int
catalog_flag_error(const char *err, const char *help,
    const struct cli_flag *const *tabs)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s\n", err);
	cli_usage(&b, help, tabs, catalog_titles);
	cli_write(stderr, &b);
	buf_free(&b);
	return 1;
}

/*
 * catalog_get - GET path?query into *root; -1 after printing
 * "<what>: <why>" on stderr.
 */
static int
catalog_get(const struct http_flags *hf, const char *path, const char *query,
    const char *what, yajl_val *root)
{
	struct http_client c;
	struct http_resp resp;
	char err[1200];

	*root = NULL;
	if (http_client_init(&c, hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return -1;
	}
	if (http_do(&c, "GET", path, query, 1, NULL, 0, &resp, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		buf_free(&resp.body);
		return -1;
	}
	if (resp.code != 200)
		http_status_error(&resp, err, sizeof(err));
	else
		*root = cli_json_parse((const char *)buf_head(&resp.body),
		    buf_used(&resp.body), err, sizeof(err));
	buf_free(&resp.body);
	if (*root == NULL) {
		fprintf(stderr, "%s: %s\n", what, err);
		return -1;
	}
	return 0;
}

/* catalog_idx_cmp - qsort_r: indexes of an object's members by key */
static int
catalog_idx_cmp(const void *a, const void *b, void *arg)
{
	const yajl_val obj = arg;

	return strcmp(obj->u.object.keys[*(const size_t *)a],
	    obj->u.object.keys[*(const size_t *)b]);
}

/*
 * catalog_kv - obj's members as "k=v" joined by ", ", sorted by key
 * (Consul's mapToKV); "" for absent or null, NULL for anything but an
 * object of strings (Go's map[string]string would not decode it).
 */
static char *
catalog_kv(yajl_val obj)
{
	struct buf b;
	size_t i, n, *idx;
	char *s;

	if (obj == NULL || YAJL_IS_NULL(obj))
		return cli_xstrdup("");
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	n = obj->u.object.len;
	for (i = 0; i < n; i++)
		if (!YAJL_IS_STRING(obj->u.object.values[i]))
			return NULL;
	if ((idx = calloc(n + 1, sizeof(*idx))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), catalog_idx_cmp, obj);
	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%s=%s", i ? ", " : "",
		    obj->u.object.keys[idx[i]],
		    YAJL_GET_STRING(obj->u.object.values[idx[i]]));
	free(idx);
	s = cli_xstrdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

/* catalog_nodes_free - the nodes and the array */
static void
catalog_nodes_free(struct catalog_node *nodes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(nodes[i].id);
		free(nodes[i].node);
		free(nodes[i].address);
		free(nodes[i].dc);
		free(nodes[i].tagged);
		free(nodes[i].meta);
	}
	free(nodes);
}

/*
 * catalog_nodes_parse - /v1/catalog/nodes, or /v1/catalog/service/<s>
 * (whose entries call the node's metadata NodeMeta); -1 with err.
 */
static int
catalog_nodes_parse(yajl_val root, struct catalog_node **out, size_t *n,
    char *err, size_t errlen)
{
	const char *mpath[] = { "Meta", NULL }, *npath[] = { "NodeMeta",
	    NULL }, *tpath[] = { "TaggedAddresses", NULL };
	struct catalog_node *nodes;
	const char *id, *node, *addr, *dc;
	yajl_val o, meta;
	size_t i, cnt;
	int bad;

	*out = NULL;
	*n = 0;
	if (!YAJL_IS_ARRAY(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON array");
		return -1;
	}
	cnt = root->u.array.len;
	if ((nodes = calloc(cnt + 1, sizeof(*nodes))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < cnt; i++) {
		o = root->u.array.values[i];
		bad = !YAJL_IS_OBJECT(o);
		id = node = addr = dc = NULL;
		if (!bad) {
			id = cli_json_str(o, "ID", &bad);
			node = cli_json_str(o, "Node", &bad);
			addr = cli_json_str(o, "Address", &bad);
			dc = cli_json_str(o, "Datacenter", &bad);
			if ((meta = yajl_tree_get(o, mpath, yajl_t_any)) ==
			    NULL)
				meta = yajl_tree_get(o, npath, yajl_t_any);
			nodes[i].tagged = catalog_kv(yajl_tree_get(o, tpath,
			    yajl_t_any));
			nodes[i].meta = catalog_kv(meta);
		}
		if (bad || nodes[i].tagged == NULL || nodes[i].meta == NULL) {
			snprintf(err, errlen, "unexpected response: entry %zu "
			    "is not a node", i);
			catalog_nodes_free(nodes, i + 1);
			return -1;
		}
		nodes[i].id = cli_xstrdup(id ? id : "");
		nodes[i].node = cli_xstrdup(node ? node : "");
		nodes[i].address = cli_xstrdup(addr ? addr : "");
		nodes[i].dc = cli_xstrdup(dc ? dc : "");
	}
	*out = nodes;
	*n = cnt;
	return 0;
}

/* catalog_nodes_format - Consul's table, without the final newline */
static void
catalog_nodes_format(struct buf *out, const struct catalog_node *nodes,
    size_t n, int detailed)
{
	struct buf *lines;
	const char *dash;
	int idlen;
	size_t i;

	if ((lines = calloc(n + 1, sizeof(*lines))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i <= n; i++)
		buf_init(&lines[i]);
	buf_puts(&lines[0], detailed ? "Node\x1f" "ID\x1f" "Address\x1f"
	    "DC\x1f" "TaggedAddresses\x1f" "Meta" :
	    "Node\x1f" "ID\x1f" "Address\x1f" "DC");
	for (i = 0; i < n; i++) {
		/* The short ID is the first group of the UUID. */
		idlen = (int)strlen(nodes[i].id);
		if (!detailed && (dash = strchr(nodes[i].id, '-')) != NULL &&
		    dash > nodes[i].id)
			idlen = (int)(dash - nodes[i].id);
		buf_printf(&lines[i + 1], "%s\x1f%.*s\x1f%s\x1f%s",
		    nodes[i].node, idlen, nodes[i].id, nodes[i].address,
		    nodes[i].dc);
		if (detailed)
			buf_printf(&lines[i + 1], "\x1f%s\x1f%s",
			    nodes[i].tagged, nodes[i].meta);
	}
	cli_columnize_bufs(out, lines, n + 1);
	free(lines);
}

/* catalog_nodes - `cairn catalog nodes` */
static int
catalog_nodes(int argc, char **argv)
{
	struct http_flags hf;
	struct catalog_node *nodes = NULL;
	struct buf path, q, out;
	const char *near = "", *service = "", *meta = "";
	char err[1200], **vals;
	yajl_val root;
	size_t n = 0, nv;
	int detailed = 0, rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "detailed", CLI_BOOL, &detailed, NULL, "Output detailed "
		    "information about the nodes including their addresses "
		    "and metadata." },
		{ "near", CLI_STR, &near, "string", "Node name to sort the "
		    "node list in ascending order based on estimated "
		    "round-trip time from that node. Passing \"_agent\" will "
		    "use this agent's node for sorting." },
		{ "node-meta", CLI_STR, &meta, "key=value", "Metadata to "
		    "filter nodes with the given key=value pairs. This flag "
		    "may be specified multiple times to filter on multiple "
		    "sources of metadata." },
		{ "service", CLI_STR, &service, "id or name", "Service id or "
		    "name to filter nodes. Only nodes which are providing the "
		    "given service will be returned." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if (catalog_parse(argc, argv, catalog_nodes_help, tabs, &rc) < 0)
		return rc;
	if ((vals = calloc((size_t)argc + 1, sizeof(*vals))) == NULL)
		log_fatal("out of memory");
	nv = cli_flag_values(argc, argv, tabs, "node-meta", vals);
	buf_init(&q);
	buf_init(&path);
	buf_init(&out);
	/* url.Values.Encode: keys in order, so near before node-meta */
	if (*near != '\0') {
		buf_puts(&q, "near=");
		http_escape_query(&q, near);
	}
	if (catalog_meta_query(&q, vals, nv, err, sizeof(err)) < 0) {
		rc = catalog_flag_error(err, catalog_nodes_help, tabs);
		goto done;
	}
	if (*service != '\0') {
		buf_puts(&path, "/v1/catalog/service/");
		http_escape_path(&path, service);
	} else
		buf_puts(&path, "/v1/catalog/nodes");
	if (catalog_get(&hf, buf_cstr(&path), buf_used(&q) ? buf_cstr(&q) :
	    "", *service != '\0' ? "Error listing nodes for service" :
	    "Error listing nodes", &root) < 0)
		goto done;
	if (catalog_nodes_parse(root, &nodes, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", *service != '\0' ? "Error listing "
		    "nodes for service" : "Error listing nodes", err);
		yajl_tree_free(root);
		goto done;
	}
	yajl_tree_free(root);
	if (n == 0) {
		fputs(catalog_nomatch_nodes, stderr);
		rc = 0;
		goto done;
	}
	catalog_nodes_format(&out, nodes, n, detailed);
	buf_putc(&out, '\n');
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
done:
	catalog_nodes_free(nodes, n);
	free(vals);
	buf_free(&q);
	buf_free(&path);
	buf_free(&out);
	return rc;
}

/* catalog_svcs_free - the services and the array */
static void
catalog_svcs_free(struct catalog_svc *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(s[i].name);
		for (j = 0; j < s[i].ntags; j++)
			free(s[i].tags[j]);
		free(s[i].tags);
	}
	free(s);
}

/*
 * catalog_svc_add - add tags (a JSON array of strings, or null) to the
 * service called name, appending it if new; -1 if tags is not that.
 */
static int
catalog_svc_add(struct catalog_svc **s, size_t *n, const char *name,
    yajl_val tags)
{
	struct catalog_svc *sv = NULL, *ns;
	size_t i, nt = 0;
	char **t;

	if (tags != NULL && !YAJL_IS_NULL(tags)) {
		if (!YAJL_IS_ARRAY(tags))
			return -1;
		nt = tags->u.array.len;
		for (i = 0; i < nt; i++)
			if (!YAJL_IS_STRING(tags->u.array.values[i]))
				return -1;
	}
	for (i = 0; i < *n; i++)
		if (strcmp((*s)[i].name, name) == 0) {
			sv = &(*s)[i];
			break;
		}
	if (sv == NULL) {
		if ((ns = realloc(*s, (*n + 1) * sizeof(*ns))) == NULL)
			log_fatal("out of memory");
		*s = ns;
		sv = &ns[(*n)++];
		memset(sv, 0, sizeof(*sv));
		sv->name = cli_xstrdup(name);
	}
	if (nt == 0)
		return 0;
	if ((t = realloc(sv->tags, (sv->ntags + nt) * sizeof(*t))) == NULL)
		log_fatal("out of memory");
	sv->tags = t;
	for (i = 0; i < nt; i++)
		sv->tags[sv->ntags++] =
		    cli_xstrdup(YAJL_GET_STRING(tags->u.array.values[i]));
	return 0;
}

/*
 * catalog_svcs_parse - /v1/catalog/services ({"name":[tags]}) or, with
 * node set, /v1/catalog/node/<n> ({Node, Services{id:{Service,Tags}}},
 * or null for a node that is not there); -1 with err.
 */
static int
catalog_svcs_parse(yajl_val root, int node, struct catalog_svc **out,
    size_t *n, char *err, size_t errlen)
{
	const char *spath[] = { "Services", NULL }, *tpath[] = { "Tags",
	    NULL };
	yajl_val svcs, o;
	const char *name;
	size_t i;
	int bad = 0;

	*out = NULL;
	*n = 0;
	if (node && YAJL_IS_NULL(root))
		return 0;
	if (!YAJL_IS_OBJECT(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON object");
		return -1;
	}
	svcs = root;
	if (node) {
		svcs = yajl_tree_get(root, spath, yajl_t_any);
		if (svcs == NULL || YAJL_IS_NULL(svcs))
			return 0;
		if (!YAJL_IS_OBJECT(svcs)) {
			snprintf(err, errlen, "unexpected response: Services "
			    "is not an object");
			return -1;
		}
	}
	for (i = 0; i < svcs->u.object.len; i++) {
		o = svcs->u.object.values[i];
		name = svcs->u.object.keys[i];
		if (node) {
			bad = !YAJL_IS_OBJECT(o);
			if (!bad)
				name = cli_json_str(o, "Service", &bad);
			if (!bad && name == NULL)
				name = "";
			if (!bad)
				o = yajl_tree_get(o, tpath, yajl_t_any);
		}
		if (bad || catalog_svc_add(out, n, name, o) < 0) {
			snprintf(err, errlen, "unexpected response: service "
			    "%.100s is not a service", svcs->u.object.keys[i]);
			catalog_svcs_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -1;
		}
	}
	return 0;
}

/* catalog_svc_cmp - qsort: services by name */
static int
catalog_svc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct catalog_svc *)a)->name,
	    ((const struct catalog_svc *)b)->name);
}

/* catalog_width - s's width as tabwriter counts it: UTF-8 characters */
static size_t
catalog_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/*
 * catalog_svcs_format - sorted names a line; with tags, Consul's
 * tabwriter (padding 6) output trimmed of surrounding white space.
 * Sorts s and each tag list. Ends with a newline unless nothing printed.
 */
static void
catalog_svcs_format(struct buf *out, struct catalog_svc *s, size_t n,
    int tags)
{
	size_t i, j, w, width = 0, start;

	qsort(s, n, sizeof(*s), catalog_svc_cmp);
	if (!tags) {
		for (i = 0; i < n; i++)
			buf_printf(out, "%s\n", s[i].name);
		return;
	}
	for (i = 0; i < n; i++)
		if ((w = catalog_width(s[i].name)) > width)
			width = w;
	width += 6;
	start = buf_used(out);
	for (i = 0; i < n; i++) {
		buf_puts(out, s[i].name);
		for (w = catalog_width(s[i].name); w < width; w++)
			buf_putc(out, ' ');
		if (s[i].ntags > 0)
			qsort(s[i].tags, s[i].ntags, sizeof(char *),
			    catalog_strcmp);
		for (j = 0; j < s[i].ntags; j++)
			buf_printf(out, "%s%s", j ? "," : "", s[i].tags[j]);
		buf_putc(out, '\n');
	}
	/* strings.TrimSpace: the last line's padding goes too */
	while (buf_used(out) > start && (buf_head(out)[buf_used(out) - 1] ==
	    ' ' || buf_head(out)[buf_used(out) - 1] == '\n'))
		out->len--;
	buf_putc(out, '\n');
}

/* catalog_services - `cairn catalog services` */
static int
catalog_services(int argc, char **argv)
{
	struct http_flags hf;
	struct catalog_svc *s = NULL;
	struct buf path, q, out;
	const char *node = "", *meta = "", *what;
	char err[1200], **vals;
	yajl_val root;
	size_t n = 0, nv;
	int tags = 0, rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "node", CLI_STR, &node, "id or name", "Node id or name for "
		    "which to list services." },
		{ "node-meta", CLI_STR, &meta, "key=value", "Metadata to "
		    "filter nodes with the given key=value pairs. If "
		    "specified, only services running on nodes matching the "
		    "given metadata will be returned. This flag may be "
		    "specified multiple times to filter on multiple sources "
		    "of metadata." },
		{ "tags", CLI_BOOL, &tags, NULL, "Display each service's tags "
		    "as a comma-separated list beside each service entry." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if (catalog_parse(argc, argv, catalog_services_help, tabs, &rc) < 0)
		return rc;
	if ((vals = calloc((size_t)argc + 1, sizeof(*vals))) == NULL)
		log_fatal("out of memory");
	nv = cli_flag_values(argc, argv, tabs, "node-meta", vals);
	buf_init(&q);
	buf_init(&path);
	buf_init(&out);
	if (catalog_meta_query(&q, vals, nv, err, sizeof(err)) < 0) {
		rc = catalog_flag_error(err, catalog_services_help, tabs);
		goto done;
	}
	if (*node != '\0') {
		buf_puts(&path, "/v1/catalog/node/");
		http_escape_path(&path, node);
		what = "Error listing services for node";
	} else {
		buf_puts(&path, "/v1/catalog/services");
		what = "Error listing services";
	}
	if (catalog_get(&hf, buf_cstr(&path), buf_used(&q) ? buf_cstr(&q) :
	    "", what, &root) < 0)
		goto done;
	if (catalog_svcs_parse(root, *node != '\0', &s, &n, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", what, err);
		yajl_tree_free(root);
		goto done;
	}
	yajl_tree_free(root);
	if (n == 0) {
		fputs(catalog_nomatch_services, stderr);
		rc = 0;
		goto done;
	}
	catalog_svcs_format(&out, s, n, tags);
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
done:
	catalog_svcs_free(s, n);
	free(vals);
	buf_free(&q);
	buf_free(&path);
	buf_free(&out);
	return rc;
}

/* catalog_dcs - `cairn catalog datacenters` */
static int
catalog_dcs(int argc, char **argv)
{
	static const char what[] = "Error listing datacenters";
	struct http_flags hf;
	struct buf out;
	yajl_val root, v;
	size_t i;
	int rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if (catalog_parse(argc, argv, catalog_dcs_help, tabs, &rc) < 0)
		return rc;
	if (catalog_get(&hf, "/v1/catalog/datacenters", "", what, &root) < 0)
		return 1;
	if (!YAJL_IS_ARRAY(root)) {
		fprintf(stderr, "%s: unexpected response: not a JSON array\n",
		    what);
		yajl_tree_free(root);
		return 1;
	}
	buf_init(&out);
	for (i = 0; i < root->u.array.len; i++) {
		v = root->u.array.values[i];
		if (!YAJL_IS_STRING(v)) {
			fprintf(stderr, "%s: unexpected response: entry %zu "
			    "is not a string\n", what, i);
			goto done;
		}
		buf_printf(&out, "%s\n", YAJL_GET_STRING(v));
	}
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
done:
	yajl_tree_free(root);
	buf_free(&out);
	return rc;
}

/* catalog_main - `cairn catalog <subcommand>`; argv[0] is "catalog" */
int
catalog_main(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "datacenters", catalog_dcs },
		{ "nodes", catalog_nodes },
		{ "services", catalog_services },
		{ NULL, NULL }
	};

	return cli_subcommand(argc - 1, argv + 1, catalog_help, subs);
}
