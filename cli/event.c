/*
 * event.c - `cairn event -name N [-node RE] [-service RE] [-tag RE]
 * [payload]`, Consul's command/event: fire a user event through the
 * agent (PUT /v1/event/fire/<name>) and print
 *
 *	Event ID: <uuid>
 *
 * The filters are checked here first, with Consul's words, so a typo does
 * not cost a round trip: "Failed to compile node filter regexp: ...",
 * "Cannot provide tag filter without service filter.". They are POSIX
 * extended regular expressions here, RE2 in Consul (see gossipd/event.h).
 *
 * Leaves out: -datacenter (events of another datacenter need the WAN
 * pool); Consul's event command has no such flag either.
 */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"

static const char event_help[] =
"Usage: cairn event [options] [payload]\n"
"\n"
"  Dispatches a custom user event across a datacenter. An event must provide\n"
"  a name, but a payload is optional. Events support filtering using\n"
"  regular expressions on node name, service, and tag definitions.\n";

static const char *const event_titles[] = { "HTTP API Options",
    "Command Options" };

/* regex_ok - whether re compiles; why (regerror's words) if not */
static int
regex_ok(const char *re, char *why, size_t n)
{
	regex_t rx;
	int rc;

	if ((rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &rx, why, n);
		return 0;
	}
	regfree(&rx);
	return 1;
}

/* event_fire - the PUT; 0 with the event's ID, -1 with Consul api's text */
static int
event_fire(const struct http_client *c, const char *name, const char *node,
    const char *service, const char *tag, const char *payload, char *id,
    size_t idlen, char *err, size_t errlen)
{
	struct http_resp resp;
	struct buf path, query;
	const char *s;
	yajl_val root;
	int bad = 0, rc = -1;

	buf_init(&path);
	buf_init(&query);
	buf_puts(&path, "/v1/event/fire/");
	http_escape_path(&path, name);
	/* As Consul's api sets them: only the filters given. */
	if (*node != '\0') {
		buf_puts(&query, "node=");
		http_escape_query(&query, node);
	}
	if (*service != '\0') {
		buf_puts(&query, buf_used(&query) ? "&service=" : "service=");
		http_escape_query(&query, service);
	}
	if (*tag != '\0') {
		buf_puts(&query, buf_used(&query) ? "&tag=" : "tag=");
		http_escape_query(&query, tag);
	}
	if (http_do(c, "PUT", buf_cstr(&path), buf_cstr(&query), 0, payload,
	    payload != NULL ? strlen(payload) : 0, &resp, err, errlen) < 0)
		goto out;
	if (resp.code != 200)
		http_status_error(&resp, err, errlen);
	else if ((root = cli_json_parse((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), err, errlen)) != NULL) {
		s = cli_json_str(root, "ID", &bad);
		if (s == NULL || bad)
			snprintf(err, errlen, "unexpected response: no "
			    "event ID");
		else {
			snprintf(id, idlen, "%s", s);
			rc = 0;
		}
		yajl_tree_free(root);
	}
	buf_free(&resp.body);
out:
	buf_free(&path);
	buf_free(&query);
	return rc;
}

/* event_filters_ok - see cli.h */
int
event_filters_ok(const char *node, const char *service, const char *tag)
{
	char why[256];

	/* In Consul's order. */
	if (*node != '\0' && !regex_ok(node, why, sizeof(why))) {
		fprintf(stderr, "Failed to compile node filter regexp: %s\n",
		    why);
		return 0;
	}
	if (*service != '\0' && !regex_ok(service, why, sizeof(why))) {
		fprintf(stderr, "Failed to compile service filter regexp: "
		    "%s\n", why);
		return 0;
	}
	if (*tag != '\0' && !regex_ok(tag, why, sizeof(why))) {
		fprintf(stderr, "Failed to compile tag filter regexp: %s\n",
		    why);
		return 0;
	}
	if (*tag != '\0' && *service == '\0') {
		fprintf(stderr, "Cannot provide tag filter without service "
		    "filter.\n");
		return 0;
	}
	return 1;
}

/* event_usage - the help, on stdout when asked for, else stderr */
static int
event_usage(const struct cli_flag *const *tabs, int asked)
{
	return cli_help(event_help, tabs, event_titles, asked);
}

/* event_main - the command */
int
event_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	const char *name = "", *node = "", *service = "", *tag = "";
	const char *payload = NULL;
	char err[1200], id[128];
	int r, nargs;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "name", CLI_STR, &name, "string", "Name of the event." },
		{ "node", CLI_STR, &node, "string", "Regular expression to "
		    "filter on node names." },
		{ "service", CLI_STR, &service, "string", "Regular expression "
		    "to filter on service instances." },
		{ "tag", CLI_STR, &tag, "string", "Regular expression to "
		    "filter on service tags. Must be used with -service." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2)
		return event_usage(tabs, 1);
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return event_usage(tabs, 0);
	}
	if (*name == '\0') {
		fprintf(stderr, "Event name must be specified\n\n");
		return event_usage(tabs, 0);
	}
	if (!event_filters_ok(node, service, tag))
		return 1;
	nargs = argc - 1 - r;
	if (nargs > 1) {
		fprintf(stderr, "Too many command line arguments.\n\n");
		return event_usage(tabs, 0);
	}
	if (nargs == 1)
		payload = argv[1 + r];
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	/* Consul asks the agent's name first: a dead agent says so here. */
	if (http_do(&c, "GET", "/v1/agent/self", "", 0, NULL, 0, &resp, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		return 1;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		buf_free(&resp.body);
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		return 1;
	}
	buf_free(&resp.body);
	if (event_fire(&c, name, node, service, tag, payload, id, sizeof(id),
	    err, sizeof(err)) < 0) {
		fprintf(stderr, "Error firing event: %s\n", err);
		return 1;
	}
	printf("Event ID: %s\n", id);
	return 0;
}
