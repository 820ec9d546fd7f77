/*
 * operator.c - `cairn operator raft list-peers|remove-peer`, Consul's
 * command/operator/raft: the Raft configuration as a table
 *
 *	Node  ID     Address         State     Voter  RaftProtocol
 *	n1    id-n1  10.0.0.1:8300   leader    true   3
 *
 * from GET /v1/operator/raft/configuration, and removing a server by
 * address or ID with DELETE /v1/operator/raft/peer. Messages and exit
 * codes are Consul's ("Error getting peers: ...", exit 1).
 *
 * The table is the one Consul printed before 1.15, without the "Commit
 * Index" and "Trails Leader By" columns, which need autopilot's health
 * endpoint. `cairn operator` and `cairn operator raft` alone print their
 * help and subcommands on stderr and exit 1, as mitchellh/cli does.
 *
 * Leaves out: operator autopilot, area, keyring, usage, and raft
 * transfer-leader.
 */
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

static const char operator_help[] =
"Usage: cairn operator <subcommand> [options]\n"
"\n"
"  Provides cluster-level tools for cairn operators, such as interacting\n"
"  with the Raft subsystem. NOTE: Use this command with extreme caution, as\n"
"  improper use could lead to a cluster outage and even loss of data.\n"
"\n"
"  If ACLs are enabled then a token with operator privileges may be\n"
"  required in order to use this command. Requests are forwarded\n"
"  internally to the leader if required, so this can be run from any node\n"
"  in a cluster.\n"
"\n"
"  Run cairn operator <subcommand> with no arguments for help on that\n"
"  subcommand.\n"
"\n"
"Subcommands:\n"
"    raft    Provides cluster-level tools for cairn operators\n";

static const char operator_raft_help[] =
"Usage: cairn operator raft <subcommand> [options]\n"
"\n"
"The Raft operator command is used to interact with cairn's Raft subsystem.\n"
"The command can be used to verify Raft peers or in rare cases to recover\n"
"quorum by removing invalid peers.\n"
"\n"
"Subcommands:\n"
"    list-peers     Display the current Raft peer configuration\n"
"    remove-peer    Remove a cairn server from the Raft configuration\n";

static const char operator_list_help[] =
"Usage: cairn operator raft list-peers [options]\n"
"\n"
"  Displays the current Raft peer configuration.\n";

static const char operator_remove_help[] =
"Usage: cairn operator raft remove-peer [options]\n"
"\n"
"  Remove the cairn server with given -address from the Raft\n"
"  configuration.\n"
"\n"
"  There are rare cases where a peer may be left behind in the Raft quorum\n"
"  even though the server is no longer present and known to the cluster.\n"
"  This command can be used to remove the failed server so that it no\n"
"  longer affects the Raft quorum. If the server still shows in the output\n"
"  of the \"cairn members\" command, it is preferable to clean up by simply\n"
"  running \"cairn force-leave\" instead of this command.\n";

static const char *const operator_titles[] = { "HTTP API Options",
    "Command Options" };

/* operator_servers_free - see cli.h */
void
operator_servers_free(struct cli_raft_server *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(s[i].id);
		free(s[i].node);
		free(s[i].address);
		free(s[i].protocol);
	}
	free(s);
}

/* json_bool - a boolean field (absent or null: 0); -1 if not a boolean */
static int
json_bool(yajl_val obj, const char *key, int *out)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

	*out = 0;
	if (v == NULL || YAJL_IS_NULL(v))
		return 0;
	if (YAJL_IS_TRUE(v)) {
		*out = 1;
		return 0;
	}
	return YAJL_IS_FALSE(v) ? 0 : -1;
}

/*
 * json_proto - ProtocolVersion: a string in Consul's API ("3"); a bare
 * number is taken too, as the text it was written as. NULL when absent,
 * *bad set for any other type.
 */
static const char *
json_proto(yajl_val obj, int *bad)
{
	const char *path[] = { "ProtocolVersion", NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

	if (v == NULL || YAJL_IS_NULL(v))
		return NULL;
	if (YAJL_IS_STRING(v))
		return YAJL_GET_STRING(v);
	if (YAJL_IS_NUMBER(v))
		return YAJL_GET_NUMBER(v);
	*bad = 1;
	return NULL;
}

/* operator_parse_config - see cli.h */
int
operator_parse_config(const char *json, size_t len,
    struct cli_raft_server **out, size_t *n, uint64_t *index, char *err,
    size_t errlen)
{
	const char *spath[] = { "Servers", NULL };
	struct cli_raft_server *s = NULL;
	const char *id, *node, *address, *proto;
	yajl_val root, servers, o;
	size_t i, cnt = 0;
	int bad;

	*out = NULL;
	*n = 0;
	*index = 0;
	if ((root = cli_json_parse(json, len, err, errlen)) == NULL)
		return -1;
	if (!YAJL_IS_OBJECT(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON "
		    "object");
		goto fail;
	}
	if (cli_json_u64(root, "Index", index) < 0) {
		snprintf(err, errlen, "unexpected response: Index is not a "
		    "number");
		goto fail;
	}
	/* A null or absent list is no servers, as Go decodes it. */
	servers = yajl_tree_get(root, spath, yajl_t_any);
	if (servers != NULL && !YAJL_IS_NULL(servers) &&
	    !YAJL_IS_ARRAY(servers)) {
		snprintf(err, errlen, "unexpected response: Servers is not "
		    "a list");
		goto fail;
	}
	if (YAJL_IS_ARRAY(servers))
		cnt = servers->u.array.len;
	if (cnt > 0 && (s = calloc(cnt, sizeof(*s))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < cnt; i++) {
		o = servers->u.array.values[i];
		bad = 0;
		id = node = address = proto = NULL;
		if (YAJL_IS_OBJECT(o)) {
			id = cli_json_str(o, "ID", &bad);
			node = cli_json_str(o, "Node", &bad);
			address = cli_json_str(o, "Address", &bad);
			proto = json_proto(o, &bad);
		}
		if (!YAJL_IS_OBJECT(o) || bad ||
		    json_bool(o, "Leader", &s[i].leader) < 0 ||
		    json_bool(o, "Voter", &s[i].voter) < 0) {
			snprintf(err, errlen, "unexpected response: server "
			    "%zu is not a Raft server", i);
			goto fail;
		}
		s[i].id = cli_xstrdup(id != NULL ? id : "");
		s[i].node = cli_xstrdup(node != NULL ? node : "");
		s[i].address = cli_xstrdup(address != NULL ? address : "");
		s[i].protocol = cli_xstrdup(proto != NULL ? proto : "");
	}
	yajl_tree_free(root);
	*out = s;
	*n = cnt;
	return 0;
fail:
	/* calloc'd: the servers not reached hold NULLs */
	operator_servers_free(s, cnt);
	yajl_tree_free(root);
	*index = 0;
	return -1;
}

/* operator_format_peers - see cli.h */
void
operator_format_peers(struct buf *out, const struct cli_raft_server *s,
    size_t n)
{
	struct buf *lines;
	size_t i;

	if ((lines = calloc(n + 1, sizeof(*lines))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i <= n; i++)
		buf_init(&lines[i]);
	buf_puts(&lines[0], "Node\x1f" "ID\x1f" "Address\x1f" "State\x1f"
	    "Voter\x1f" "RaftProtocol");
	for (i = 0; i < n; i++)
		/* A server too old to say speaks protocol 0 or 1. */
		buf_printf(&lines[i + 1], "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
		    s[i].node, s[i].id, s[i].address,
		    s[i].leader ? "leader" : "follower",
		    s[i].voter ? "true" : "false",
		    s[i].protocol[0] != '\0' ? s[i].protocol : "<=1");
	cli_columnize_bufs(out, lines, n + 1);
	free(lines);
}

/* operator_remove_query - see cli.h */
int
operator_remove_query(struct buf *q, const char *address, const char *id,
    char *err, size_t errlen)
{
	if (*address == '\0' && *id == '\0') {
		snprintf(err, errlen, "an address or id is required for the "
		    "peer to remove");
		return -1;
	}
	if (*address != '\0' && *id != '\0') {
		snprintf(err, errlen, "cannot give both an address and id");
		return -1;
	}
	buf_puts(q, *address != '\0' ? "address=" : "id=");
	http_escape_query(q, *address != '\0' ? address : id);
	return 0;
}

/*
 * operator_quote - Go's %q for the text people pass: quotes, with '"',
 * '\\' and control characters escaped (bytes from 0x80 are taken to be
 * UTF-8 and copied).
 */
void
operator_quote(struct buf *b, const char *s)
{
	unsigned char c;

	buf_putc(b, '"');
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c == '\n')
			buf_puts(b, "\\n");
		else if (c == '\t')
			buf_puts(b, "\\t");
		else if (c == '\r')
			buf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02x", c);
		else
			buf_putc(b, c);
	}
	buf_putc(b, '"');
}

/*
 * parse - the flags; -1 with *rc set when the command is done. A bad flag
 * prints Go's error and the help, then Consul's "Failed to parse args".
 */
static int
parse(int argc, char **argv, const char *help,
    const struct cli_flag *const *tabs, int *rc)
{
	struct buf b;
	char err[512];
	int r;

	r = cli_flags_parse(argc, argv, tabs, err, sizeof(err));
	if (r >= 0)
		return r;
	buf_init(&b);
	if (r == -1)
		buf_printf(&b, "%s\n", err);
	cli_usage(&b, help, tabs, operator_titles);
	if (r == -1)
		buf_printf(&b, "Failed to parse args: %s\n", err);
	cli_write(r == -2 ? stdout : stderr, &b);
	buf_free(&b);
	*rc = r == -2 ? 0 : 1;
	return -1;
}

/* client - the HTTP client from the flags, or Consul's error */
static int
client(struct http_client *c, const struct http_flags *hf)
{
	char err[512];

	if (http_client_init(c, hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error initializing client: %s\n", err);
		return -1;
	}
	return 0;
}

/* operator_list - `cairn operator raft list-peers` (listpeers) */
static int
operator_list(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct cli_raft_server *s = NULL;
	struct buf out;
	uint64_t index;
	char err[1200];
	size_t n = 0;
	int rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if (parse(argc, argv, operator_list_help, tabs, &rc) < 0)
		return rc;
	/* Arguments after the flags are ignored, as Consul ignores them. */
	if (client(&c, &hf) < 0)
		return 1;
	if (http_do(&c, "GET", "/v1/operator/raft/configuration", "", 1,
	    NULL, 0, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error getting peers: Failed to retrieve raft "
		    "configuration: %s\n", err);
		return 1;
	}
	if (resp.code != 200)
		http_status_error(&resp, err, sizeof(err));
	if (resp.code != 200 || operator_parse_config(
	    (const char *)buf_head(&resp.body), buf_used(&resp.body), &s, &n,
	    &index, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error getting peers: Failed to retrieve raft "
		    "configuration: %s\n", err);
		buf_free(&resp.body);
		return 1;
	}
	buf_free(&resp.body);
	buf_init(&out);
	operator_format_peers(&out, s, n);
	buf_putc(&out, '\n');
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
	buf_free(&out);
	operator_servers_free(s, n);
	return rc;
}

/* operator_remove - `cairn operator raft remove-peer` (removepeer) */
static int
operator_remove(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct buf q;
	const char *address = "", *id = "";
	char err[1200];
	int rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "address", CLI_STR, &address, "string", "The address to "
		    "remove from the Raft configuration." },
		{ "id", CLI_STR, &id, "string", "The ID to remove from the "
		    "Raft configuration." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if (parse(argc, argv, operator_remove_help, tabs, &rc) < 0)
		return rc;
	if (client(&c, &hf) < 0)
		return 1;
	buf_init(&q);
	if (operator_remove_query(&q, address, id, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error removing peer: %s\n", err);
		buf_free(&q);
		return 1;
	}
	if (http_do(&c, "DELETE", "/v1/operator/raft/peer", buf_cstr(&q), 0,
	    NULL, 0, &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error removing peer: %s\n", err);
		buf_free(&q);
		return 1;
	}
	buf_free(&q);
	if (resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		fprintf(stderr, "Error removing peer: %s\n", err);
		buf_free(&resp.body);
		return 1;
	}
	buf_free(&resp.body);
	buf_init(&q);
	buf_printf(&q, "Removed peer with %s ", *address != '\0' ? "address" :
	    "id");
	operator_quote(&q, *address != '\0' ? address : id);
	buf_putc(&q, '\n');
	rc = cli_write(stdout, &q) < 0 ? 1 : 0;
	buf_free(&q);
	return rc;
}

/* operator_raft - `cairn operator raft <subcommand>` */
static int
operator_raft(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "list-peers", operator_list },
		{ "remove-peer", operator_remove },
		{ NULL, NULL }
	};

	return cli_subcommand(argc, argv, operator_raft_help, subs);
}

/* operator_main - `cairn operator <subcommand>`; argv[0] is "operator" */
int
operator_main(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "raft", operator_raft },
		{ NULL, NULL }
	};

	return cli_subcommand(argc - 1, argv + 1, operator_help, subs);
}
