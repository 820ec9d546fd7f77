/*
 * leave.c - leaving the cluster, Consul's command/leave and
 * command/forceleave:
 *
 *	cairn leave			PUT /v1/agent/leave: the agent tells
 *					the cluster it is leaving, then shuts
 *					down; prints "Graceful leave complete"
 *	cairn force-leave [-prune] NODE	PUT /v1/agent/force-leave/NODE: a
 *					failed member is marked left (-prune:
 *					forgotten at once); prints nothing
 *
 * Errors are Consul's: "Error leaving: ..." or "Error force leaving: ..."
 * with the api package's "Unexpected response code: N (body)", exit 1.
 *
 * Leaves out: the WAN pool (force-leave -wan is sent as Consul sends it;
 * the agent answers 501 for now).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char leave_help[] =
"Usage: cairn leave [options]\n"
"\n"
"  Causes the agent to gracefully leave the cairn cluster and shutdown.\n";

static const char force_leave_help[] =
"Usage: cairn force-leave [options] name\n"
"\n"
"  Forces a member of a cairn cluster to enter the \"left\" state. Note\n"
"  that if the member is still actually alive, it will eventually rejoin\n"
"  the cluster. This command is most useful for cleaning out \"failed\"\n"
"  nodes that are never coming back. If you do not force leave a failed\n"
"  node, cairn will attempt to reconnect to those failed nodes for some\n"
"  period of time before eventually reaping them.\n";

static const char *const leave_titles[] = { "HTTP API Options",
    "Command Options" };

/* leave_put - one PUT with no body; 0 on a 200, else -1 with the text */
static int
leave_put(const struct http_client *c, const char *path, const char *query,
    char *err, size_t errlen)
{
	struct http_resp resp;
	int rc = 0;

	if (http_do(c, "PUT", path, query, 0, NULL, 0, &resp, err,
	    errlen) < 0)
		return -1;
	if (resp.code != 200) {
		http_status_error(&resp, err, errlen);
		rc = -1;
	}
	buf_free(&resp.body);
	return rc;
}

/*
 * leave_usage - after a flag error (r -1, err set or not) or -h (r -2):
 * the help on stderr or stdout, and the exit code
 */
static int
leave_usage(int r, const char *err, const char *help,
    const struct cli_flag *const *tabs)
{
	struct buf out;

	if (r == -1 && err[0] != '\0')
		fprintf(stderr, "%s\n", err);
	buf_init(&out);
	cli_usage(&out, help, tabs, leave_titles);
	cli_write(r == -2 ? stdout : stderr, &out);
	buf_free(&out);
	return r == -2 ? 0 : 1;
}

/* leave_main - `cairn leave`; argv[0] is "leave" */
int
leave_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	char err[1200];
	int r, i;

	http_flags_init(&hf, 0);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r >= 0 && r + 1 < argc) {
		/* Go's %v of the []string: "[a b]" */
		fprintf(stderr, "Error found unexpected args: [");
		for (i = r + 1; i < argc; i++)
			fprintf(stderr, "%s%s", i > r + 1 ? " " : "", argv[i]);
		fprintf(stderr, "]\n");
		r = -1;
		err[0] = '\0';
	}
	if (r < 0)
		return leave_usage(r, err, leave_help, tabs);
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	if (leave_put(&c, "/v1/agent/leave", "", err, sizeof(err)) < 0) {
		fprintf(stderr, "Error leaving: %s\n", err);
		return 1;
	}
	printf("Graceful leave complete\n");
	return fflush(stdout) == EOF ? 1 : 0;
}

/* force_leave_main - `cairn force-leave`; argv[0] is "force-leave" */
int
force_leave_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct buf path;
	char err[1200];
	int prune = 0, wan = 0, r;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "prune", CLI_BOOL, &prune, NULL, "Remove agent forcibly "
		    "from list of members" },
		{ "wan", CLI_BOOL, &wan, NULL, "Exclusively leave the agent "
		    "from the WAN serf pool." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r >= 0 && r + 2 != argc) {
		fprintf(stderr, "A single node name must be specified to "
		    "force leave.\n\n");
		r = -1;
		err[0] = '\0';
	}
	if (r < 0)
		return leave_usage(r, err, force_leave_help, tabs);
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	buf_init(&path);
	buf_puts(&path, "/v1/agent/force-leave/");
	http_escape_path(&path, argv[r + 1]);
	/* Consul's api: params.Set("prune", "1"), ("wan", "1"), sorted. */
	r = leave_put(&c, buf_cstr(&path), prune && wan ? "prune=1&wan=1" :
	    prune ? "prune=1" : wan ? "wan=1" : "", err, sizeof(err));
	buf_free(&path);
	if (r < 0) {
		fprintf(stderr, "Error force leaving: %s\n", err);
		return 1;
	}
	return 0;
}
