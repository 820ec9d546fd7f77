/*
 * join.c - `cairn join ADDR...`, Consul's command/join: ask the agent to
 * join the cluster through each address (PUT /v1/agent/join/<addr>),
 * print an error line for each that failed and
 *
 *	Successfully joined cluster by contacting N nodes.
 *
 * when at least one worked (exit 0); "Failed to join any nodes." and exit
 * 1 otherwise.
 *
 * Leaves out: -wan joins (no WAN pool yet: the agent answers 501).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char join_help[] =
"Usage: cairn join [options] address ...\n"
"\n"
"  Tells a running cairn agent (with \"cairn agent\") to join the cluster\n"
"  by specifying at least one existing member.\n";

static const char *const join_titles[] = { "HTTP API Options",
    "Command Options" };

/* join_one - one PUT; 0, or -1 with Consul api's error text */
static int
join_one(const struct http_client *c, const char *addr, int wan, char *err,
    size_t errlen)
{
	struct http_resp resp;
	struct buf path;
	int rc = 0;

	buf_init(&path);
	buf_puts(&path, "/v1/agent/join/");
	http_escape_path(&path, addr);
	if (http_do(c, "PUT", buf_cstr(&path), wan ? "wan=1" : "", 0, NULL,
	    0, &resp, err, errlen) < 0) {
		buf_free(&path);
		return -1;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, errlen);
		rc = -1;
	}
	buf_free(&resp.body);
	buf_free(&path);
	return rc;
}

/* join_main - the command */
int
join_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct buf out;
	char err[1200];
	int wan = 0, r, i, joins = 0;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "wan", CLI_BOOL, &wan, NULL, "Joins a server to another "
		    "server in the WAN pool." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	buf_init(&out);
	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r >= 0 && r + 1 >= argc) {
		fprintf(stderr, "At least one address to join must be "
		    "specified.\n\n");
		r = -1;
		err[0] = '\0';
	}
	if (r < 0) {
		if (r == -1 && err[0] != '\0')
			fprintf(stderr, "%s\n", err);
		cli_usage(&out, join_help, tabs, join_titles);
		cli_write(r == -2 ? stdout : stderr, &out);
		buf_free(&out);
		return r == -2 ? 0 : 1;
	}
	buf_free(&out);
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	for (i = r + 1; i < argc; i++) {
		if (join_one(&c, argv[i], wan, err, sizeof(err)) < 0)
			fprintf(stderr, "Error joining address '%s': %s\n",
			    argv[i], err);
		else
			joins++;
	}
	if (joins == 0) {
		fprintf(stderr, "Failed to join any nodes.\n");
		return 1;
	}
	printf("Successfully joined cluster by contacting %d nodes.\n",
	    joins);
	return 0;
}
