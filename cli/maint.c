/*
 * maint.c - `cairn maint`, Consul's command/maint: node and service
 * maintenance mode, which the agent keeps as a critical check.
 *
 *	cairn maint -enable [-reason R]    PUT /v1/agent/maintenance
 *	cairn maint -disable -service ID   PUT /v1/agent/service/maintenance/ID
 *	cairn maint                        the list, from /v1/agent/checks
 *
 * The list shows the check "_node_maintenance" as a Node block (the
 * agent's name, from /v1/agent/self) and each "_service_maintenance:<id>"
 * as a Service block, Reason being the check's Notes; each block ends
 * with an empty line, and nothing in maintenance prints nothing (exit 0).
 * As in Consul the node name is asked for before anything else, so an
 * agent that cannot answer fails every form of the command.
 *
 * One deliberate difference: Consul lists in map order (random); here
 * the node comes first, then the services by ID.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

static const char maint_help[] =
"Usage: cairn maint [options]\n"
"\n"
"  Places a node or service into maintenance mode. During maintenance mode,\n"
"  the node or service will be excluded from all queries through the DNS\n"
"  or API interfaces, effectively taking it out of the pool of available\n"
"  nodes. This is done by registering an additional critical health check.\n"
"\n"
"  When enabling maintenance mode for a node or service, you may optionally\n"
"  specify a reason string. This string will appear in the \"Notes\" field\n"
"  of the critical health check which is registered against the node or\n"
"  service. If no reason is provided, a default value will be used.\n"
"\n"
"  Maintenance mode is persistent, and will be restored in the event of an\n"
"  agent restart. It is therefore required to disable maintenance mode on\n"
"  a given node or service before it will be placed back into the pool.\n"
"\n"
"  By default, we operate on the node as a whole. By specifying the\n"
"  \"-service\" argument, this behavior can be changed to enable or disable\n"
"  only a specific service.\n"
"\n"
"  If no arguments are given, the agent's maintenance status will be shown.\n"
"  This will return blank if nothing is currently under maintenance.\n";

static const char *const maint_titles[] = { "HTTP API Options",
    "Command Options" };

#define MAINT_NODE_CHECK	"_node_maintenance"
#define MAINT_SVC_PREFIX	"_service_maintenance:"

/*
 * maint_request - one request; 0 with *root (GET: the parsed body, else
 * NULL) on a 200, -1 with the api package's text otherwise
 */
static int
maint_request(const struct http_client *c, const char *method,
    const char *path, const char *query, yajl_val *root, char *err,
    size_t errlen)
{
	struct http_resp resp;
	int rc = 0;

	*root = NULL;
	if (http_do(c, method, path, query, strcmp(method, "GET") == 0, NULL,
	    0, &resp, err, errlen) < 0) {
		buf_free(&resp.body);
		return -1;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, errlen);
		rc = -1;
	} else if (strcmp(method, "GET") == 0 &&
	    (*root = cli_json_parse((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), err, errlen)) == NULL)
		rc = -1;
	buf_free(&resp.body);
	return rc;
}

/* maint_node_name - Config.NodeName of /v1/agent/self, as api's NodeName */
static char *
maint_node_name(const struct http_client *c, char *err, size_t errlen)
{
	const char *path[] = { "Config", "NodeName", NULL };
	yajl_val root, v;
	char *name;

	if (maint_request(c, "GET", "/v1/agent/self", "", &root, err,
	    errlen) < 0)
		return NULL;
	v = yajl_tree_get(root, path, yajl_t_any);
	if (v == NULL || !YAJL_IS_STRING(v)) {
		snprintf(err, errlen, "unexpected response: no "
		    "Config.NodeName");
		yajl_tree_free(root);
		return NULL;
	}
	name = cli_xstrdup(YAJL_GET_STRING(v));
	yajl_tree_free(root);
	return name;
}

/* maint_cmp - qsort_r: indexes of the checks object's members by ID */
static int
maint_cmp(const void *a, const void *b, void *arg)
{
	const yajl_val obj = arg;

	return strcmp(obj->u.object.keys[*(const size_t *)a],
	    obj->u.object.keys[*(const size_t *)b]);
}

/*
 * maint_format - the Node and Service blocks for the maintenance checks
 * in checks (/v1/agent/checks: {id: check}); -1 with err for an answer
 * that is not that.
 */
static int
maint_format(struct buf *out, yajl_val checks, const char *node, char *err,
    size_t errlen)
{
	const char *id, *notes, *svc;
	yajl_val chk;
	size_t i, n, *idx;
	int bad = 0;

	if (!YAJL_IS_OBJECT(checks)) {
		snprintf(err, errlen, "unexpected response: not a JSON object");
		return -1;
	}
	n = checks->u.object.len;
	if ((idx = calloc(n + 1, sizeof(*idx))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		idx[i] = i;
	/* "_n" sorts before "_s": the node's block comes first. */
	qsort_r(idx, n, sizeof(*idx), maint_cmp, checks);
	for (i = 0; i < n; i++) {
		id = checks->u.object.keys[idx[i]];
		chk = checks->u.object.values[idx[i]];
		notes = svc = NULL;
		if (YAJL_IS_OBJECT(chk)) {
			notes = cli_json_str(chk, "Notes", &bad);
			svc = cli_json_str(chk, "ServiceID", &bad);
		} else
			bad = 1;
		if (bad) {
			snprintf(err, errlen, "unexpected response: check "
			    "%.100s is not a check", id);
			free(idx);
			return -1;
		}
		if (strcmp(id, MAINT_NODE_CHECK) == 0)
			buf_printf(out, "Node:\n  Name:   %s\n", node);
		else if (strncmp(id, MAINT_SVC_PREFIX,
		    strlen(MAINT_SVC_PREFIX)) == 0)
			buf_printf(out, "Service:\n  ID:     %s\n",
			    svc != NULL ? svc : "");
		else
			continue;
		buf_printf(out, "  Reason: %s\n\n", notes != NULL ? notes : "");
	}
	free(idx);
	return 0;
}

/* maint_list - no -enable or -disable: what is in maintenance */
static int
maint_list(const struct http_client *c, const char *node)
{
	struct buf out;
	yajl_val root;
	char err[1200];
	int rc;

	if (maint_request(c, "GET", "/v1/agent/checks", "", &root, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Error getting checks: %s\n", err);
		return 1;
	}
	buf_init(&out);
	if (maint_format(&out, root, node, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error getting checks: %s\n", err);
		rc = 1;
	} else
		rc = cli_write(stdout, &out) < 0 ? 1 : 0;
	yajl_tree_free(root);
	buf_free(&out);
	return rc;
}

/*
 * maint_set - turn maintenance on or off for the node (service NULL) or
 * a service; prints Consul's line, returns the exit code
 */
static int
maint_set(const struct http_client *c, int on, const char *reason,
    const char *service)
{
	struct buf path, q, msg;
	yajl_val root;
	char err[1200];
	int rc;

	buf_init(&path);
	buf_init(&q);
	buf_init(&msg);
	if (service != NULL) {
		buf_puts(&path, "/v1/agent/service/maintenance/");
		http_escape_path(&path, service);
	} else
		buf_puts(&path, "/v1/agent/maintenance");
	/* Consul's api sends reason (even "") only when enabling. */
	if (on) {
		buf_puts(&q, "enable=true&reason=");
		http_escape_query(&q, reason);
	} else
		buf_puts(&q, "enable=false");
	if (maint_request(c, "PUT", buf_cstr(&path), buf_cstr(&q), &root,
	    err, sizeof(err)) < 0) {
		fprintf(stderr, "Error %s %s maintenance: %s\n", on ?
		    "enabling" : "disabling", service != NULL ? "service" :
		    "node", err);
		rc = 1;
		goto done;
	}
	if (service != NULL) {
		buf_printf(&msg, "Service maintenance is now %s for ", on ?
		    "enabled" : "disabled");
		operator_quote(&msg, service);
		buf_putc(&msg, '\n');
	} else
		buf_printf(&msg, "Node maintenance is now %s\n", on ?
		    "enabled" : "disabled");
	rc = cli_write(stdout, &msg) < 0 ? 1 : 0;
done:
	buf_free(&path);
	buf_free(&q);
	buf_free(&msg);
	return rc;
}

/* maint_main - `cairn maint`; argv[0] is "maint" */
int
maint_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct buf b;
	const char *reason = "", *service = "";
	char err[1200], *node;
	int enable = 0, disable = 0, r, rc;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "disable", CLI_BOOL, &disable, NULL, "Disable maintenance "
		    "mode." },
		{ "enable", CLI_BOOL, &enable, NULL, "Enable maintenance "
		    "mode." },
		{ "reason", CLI_STR, &reason, "string", "Text describing the "
		    "maintenance reason." },
		{ "service", CLI_STR, &service, "string", "Control maintenance "
		    "mode for a specific service ID." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	/* Arguments after the flags are ignored, as Consul ignores them. */
	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r < 0) {
		buf_init(&b);
		if (r == -1)
			buf_printf(&b, "%s\n", err);
		cli_usage(&b, maint_help, tabs, maint_titles);
		cli_write(r == -2 ? stdout : stderr, &b);
		buf_free(&b);
		return r == -2 ? 0 : 1;
	}
	if (enable && disable) {
		fprintf(stderr, "Only one of -enable or -disable may be "
		    "provided\n");
		return 1;
	}
	if (!enable && *reason != '\0') {
		fprintf(stderr, "Reason may only be provided with -enable\n");
		return 1;
	}
	if (!enable && !disable && *service != '\0') {
		fprintf(stderr, "Service requires either -enable or "
		    "-disable\n");
		return 1;
	}
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if ((node = maint_node_name(&c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		return 1;
	}
	if (!enable && !disable)
		rc = maint_list(&c, node);
	else
		rc = maint_set(&c, enable, reason, *service != '\0' ? service :
		    NULL);
	free(node);
	return rc;
}
