/*
 * monitor.c - `cairn monitor [-log-level=info] [-log-json]`, Consul's
 * command/monitor: stream the agent's log lines (GET /v1/agent/monitor)
 * to stdout as they come, until interrupted (exit 0) or until the agent
 * ends the stream, which prints Consul's "Remote side ended the
 * monitor!" and exits 1. An agent that cannot be reached, or refuses the
 * level, is "Error starting monitor: ..." and exit 1.
 *
 * The lines come from every daemon of the node, each of which sends only
 * what it logs at its own log_level: a level below the agent's shows
 * nothing more. Leaves out: Consul's -http-addr TLS flags (as http.c).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char monitor_help[] =
"Usage: cairn monitor [options]\n"
"\n"
"  Attaches to a running cairn agent and prints its log messages as they\n"
"  occur, from every daemon of the node (cairn-kvd, cairn-httpd, ...),\n"
"  until interrupted.\n"
"\n"
"  -log-level keeps the messages at that level and above. Each daemon\n"
"  only sends what it logs at its own log_level, so asking for a lower\n"
"  level than the agent runs at shows nothing more: to see debug\n"
"  messages, run the agent (or that daemon) with -log-level=debug.\n";

static const char *const monitor_titles[] = { "HTTP API Options",
    "Command Options" };

/* What the sink has seen. */
struct monitor_out {
	int	started;	/* some of the body came */
	int	failed;		/* stdout could not be written */
};

/* monitor_sink - the body as it arrives: straight to stdout */
static int
monitor_sink(void *arg, const void *data, size_t len)
{
	struct monitor_out *o = arg;

	o->started = 1;
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) == EOF) {
		o->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * monitor_quit_cb - SIGINT or SIGTERM: what was received is on stdout
 * already (the sink flushes), so leave at once, 0 as Consul does.
 */
static void
monitor_quit_cb(int sig)
{
	_exit(0);
}

/* monitor_main - the command; argv[0] is "monitor" */
int
monitor_main(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct monitor_out out = { 0, 0 };
	struct sigaction sa;
	struct buf query;
	const char *level = "INFO";
	char err[1200];
	int json = 0, rc = 1, r;

	http_flags_init(&hf, 0);
	const struct cli_flag cmd[] = {
		{ "log-json", CLI_BOOL, &json, NULL, "Output logs in JSON "
		    "format." },
		{ "log-level", CLI_STR, &level, "string", "Log level of the "
		    "agent." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	/* Arguments after the flags are ignored, as Consul ignores them. */
	if (cli_flags_usage(argc - 1, argv + 1, monitor_help, tabs,
	    monitor_titles, &rc) < 0)
		return rc;
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = monitor_quit_cb;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	buf_init(&query);
	buf_puts(&query, "loglevel=");
	http_escape_query(&query, level);
	if (json)
		buf_puts(&query, "&logjson=true");
	resp.sink = monitor_sink;
	resp.sink_arg = &out;
	r = http_stream(&c, "GET", "/v1/agent/monitor", buf_cstr(&query), 0,
	    NULL, 0, &resp, err, sizeof(err));
	buf_free(&query);
	if (out.failed) {
		buf_free(&resp.body);
		return 1;	/* stdout is gone: nobody to tell */
	}
	if (r == 0 && resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		r = -1;
	} else if (r == 0 || out.started) {
		/* The agent stopped or crashed under a running stream. */
		buf_free(&resp.body);
		printf("\nRemote side ended the monitor! This usually means "
		    "that the\nremote side has exited or crashed.\n");
		return 1;
	}
	buf_free(&resp.body);
	fprintf(stderr, "Error starting monitor: %s\n", err);
	return 1;
}
