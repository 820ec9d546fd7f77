/*
 * cairn - the command line: one table of commands, as Consul's (via
 * mitchellh/cli) so `cairn <command> [options] [args]` reads the same.
 * Each command lives in its own module in libcli.a and gets argv with
 * its own name at argv[0].
 *
 * `cairn`, `cairn help` and `cairn --help` list the commands (the first
 * on stderr, exit 1, as it is not what was asked for); `cairn help CMD`
 * is `cairn CMD -h`; an unknown command prints the list on stderr and
 * exits 1.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "msg.h"

static int	version_main(int, char **);
int		join_main(int, char **);	/* join.c; belongs in cli.h */

static const struct cli_cmd {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*synopsis;
} cli_cmds[] = {
	{ "agent", agent_main, "Runs a cairn agent" },
	{ "catalog", catalog_main, "Interact with the catalog" },
	{ "event", event_main, "Fire a new event" },
	{ "exec", exec_main, "Executes a command on cairn nodes" },
	{ "force-leave", force_leave_main,
	    "Forces a member of the cluster to enter the \"left\" state" },
	{ "info", info_main,
	    "Provides debugging information for operators." },
	{ "join", join_main, "Tell cairn agent to join cluster" },
	{ "keygen", keygen_main, "Generates a new encryption key" },
	{ "kv", kv_main, "Interact with the key-value store" },
	{ "leave", leave_main,
	    "Gracefully leaves the cairn cluster and shuts down" },
	{ "lock", lock_main, "Execute a command holding a lock" },
	{ "maint", maint_main, "Controls node or service maintenance mode" },
	{ "members", members_main, "Lists the members of a cairn cluster" },
	{ "monitor", monitor_main, "Stream logs from a cairn agent" },
	{ "operator", operator_main,
	    "Provides cluster-level tools for cairn operators" },
	{ "reload", reload_main,
	    "Triggers the agent to reload configuration files" },
	{ "services", services_main, "Interact with services" },
	{ "snapshot", snapshot_main,
	    "Saves and restores snapshots of cairn server state" },
	{ "validate", validate_main, "Validate config files/directories" },
	{ "version", version_main, "Prints the cairn version" },
	{ "watch", watch_main, "Watch for changes in cairn" },
	{ NULL, NULL, NULL }
};

/* version_main - Consul's version text, our numbers */
static int
version_main(int argc, char **argv)
{
	printf("cairn v%s\n", CLI_VERSION);
	printf("Protocol %d spoken by default, understands %d to %d (agent "
	    "will automatically use protocol >%d when speaking to compatible "
	    "agents)\n", CLI_PROTO, CLI_PROTO_MIN, CLI_PROTO_MAX, CLI_PROTO);
	printf("Internal protocol %d (between cairn programs)\n",
	    MSG_PROTO_VERSION);
	return 0;
}

/* usage - mitchellh/cli's BasicHelpFunc layout */
static int
usage(FILE *fp, int rc)
{
	const struct cli_cmd *c;
	size_t w = 0;

	for (c = cli_cmds; c->name != NULL; c++)
		if (strlen(c->name) > w)
			w = strlen(c->name);
	fprintf(fp, "Usage: cairn [--version] [--help] <command> [<args>]\n\n"
	    "Available commands are:\n");
	for (c = cli_cmds; c->name != NULL; c++)
		fprintf(fp, "    %-*s    %s\n", (int)w, c->name, c->synopsis);
	return rc;
}

/* cli_find - the command called name, or NULL */
static const struct cli_cmd *
cli_find(const char *name)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* main - find the command and run it; its return is the exit code */
int
main(int argc, char **argv)
{
	const struct cli_cmd *c;
	char *help[] = { NULL, "-h", NULL };

	log_init("cairn");
	cli_self = argv[0];
	if (argc < 2)
		return usage(stderr, 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-help") == 0 ||
	    strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "-version") == 0 || strcmp(argv[1], "-v") == 0)
		return version_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3)
			return usage(stdout, 0);
		if ((c = cli_find(argv[2])) == NULL) {
			fprintf(stderr, "cairn: no such command: %s\n\n",
			    argv[2]);
			return usage(stderr, 1);
		}
		help[0] = argv[2];
		return c->fn(2, help);
	}
	if ((c = cli_find(argv[1])) == NULL) {
		fprintf(stderr, "cairn: unknown command: %s\n\n", argv[1]);
		return usage(stderr, 1);
	}
	return c->fn(argc - 1, argv + 1);
}
