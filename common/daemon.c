/*
 * daemon.c - flags, config, signals, readiness, the loop. See daemon.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "json.h"
#include "log.h"
#include "notify.h"

enum flag_kind { F_STR, F_INT, F_BOOL, F_LIST, F_FILE, F_DIR };

struct flag {
	const char	*name;
	enum flag_kind	 kind;
	const char	*key;	/* config key; "a.b" for nested */
	const char	*help;
};

static const struct flag flags[] = {
	{ "config-file", F_FILE, NULL, "load a JSON config file (repeatable)" },
	{ "config-dir", F_DIR, NULL, "load every *.json in a directory, "
	    "in lexical order (repeatable)" },
	{ "dev", F_BOOL, NULL, "development mode: a single server, "
	    "127.0.0.1, a temporary data dir" },
	{ "data-dir", F_STR, "data_dir", "where state is kept" },
	{ "run-dir", F_STR, "run_dir", "where the daemons' sockets are "
	    "(default <data-dir>/run)" },
	{ "node", F_STR, "node_name", "this node's name (default: hostname)" },
	{ "node-id", F_STR, "node_id", "this node's UUID" },
	{ "datacenter", F_STR, "datacenter", "datacenter name (dc1)" },
	{ "domain", F_STR, "domain", "DNS domain (consul.)" },
	{ "bind", F_STR, "bind_addr", "address for cluster traffic" },
	{ "advertise", F_STR, "advertise_addr", "address other nodes use" },
	{ "client", F_STR, "client_addr", "address for HTTP and DNS "
	    "(127.0.0.1)" },
	{ "http-port", F_INT, "ports.http", "HTTP API port (8500)" },
	{ "dns-port", F_INT, "ports.dns", "DNS port (8600)" },
	{ "server-port", F_INT, "ports.server", "server RPC port (8300)" },
	{ "serf-lan-port", F_INT, "ports.serf_lan", "LAN gossip port (8301)" },
	{ "serf-wan-port", F_INT, "ports.serf_wan", "WAN gossip port (8302)" },
	{ "server", F_BOOL, "server", "run as a server" },
	{ "bootstrap", F_BOOL, "bootstrap", "bootstrap a single server" },
	{ "bootstrap-expect", F_INT, "bootstrap_expect", "servers to wait "
	    "for before bootstrapping" },
	{ "join", F_LIST, "start_join", "address to join at start "
	    "(repeatable)" },
	{ "retry-join", F_LIST, "retry_join", "address to join, retrying "
	    "(repeatable)" },
	{ "retry-interval", F_STR, "retry_interval", "time between joins "
	    "(30s)" },
	{ "retry-max", F_INT, "retry_max", "join attempts, 0 forever" },
	{ "recursor", F_LIST, "recursors", "upstream DNS server "
	    "(repeatable)" },
	{ "log-level", F_STR, "log_level", "trace, debug, info, warn, err" },
	{ "enable-script-checks", F_BOOL, "enable_script_checks",
	    "allow script checks from the API" },
	{ "enable-local-script-checks", F_BOOL, "enable_local_script_checks",
	    "allow script checks from config files" },
	{ NULL, 0, NULL, NULL }
};

const char daemon_flags_help[] =
"  -config-file FILE    load a JSON config file (repeatable)\n"
"  -config-dir DIR      load DIR/*.json in lexical order (repeatable)\n"
"  -dev                 development mode: one server on 127.0.0.1\n"
"  -data-dir DIR        where state is kept (required unless -dev)\n"
"  -run-dir DIR         where the daemons' sockets are (DATA/run)\n"
"  -node NAME           this node's name (hostname)\n"
"  -node-id UUID        this node's ID\n"
"  -datacenter DC       datacenter (dc1)\n"
"  -domain DOMAIN       DNS domain (consul.)\n"
"  -bind ADDR           address for cluster traffic (0.0.0.0)\n"
"  -advertise ADDR      address other nodes reach this one at\n"
"  -client ADDR         address for HTTP and DNS (127.0.0.1)\n"
"  -http-port N         HTTP API port (8500)\n"
"  -dns-port N          DNS port (8600)\n"
"  -server-port N       server RPC port (8300)\n"
"  -serf-lan-port N     LAN gossip port (8301)\n"
"  -serf-wan-port N     WAN gossip port (8302)\n"
"  -server              run as a server\n"
"  -bootstrap           bootstrap as a single server\n"
"  -bootstrap-expect N  servers to wait for before bootstrapping\n"
"  -join ADDR           join at start (repeatable); -retry-join ADDR too\n"
"  -retry-interval D    time between retry-join attempts (30s)\n"
"  -retry-max N         retry-join attempts before giving up (0: forever)\n"
"  -recursor ADDR       upstream DNS server (repeatable)\n"
"  -log-level LEVEL     trace, debug, info, warn, err (info)\n"
"  -enable-script-checks, -enable-local-script-checks\n"
"  -help                this text\n";

static struct ev_loop *daemon_loop;
static const struct daemon_spec *daemon_spec;
static int daemon_argc;
static char **daemon_argv;

/* flag_find - the flag named by arg ("-x", "--x", "-x=v"); *val set for =v */
static const struct flag *
flag_find(const char *arg, const char **val)
{
	const struct flag *f;
	const char *name = arg + 1;
	size_t len;

	if (name[0] == '-')
		name++;
	len = strcspn(name, "=");
	*val = name[len] == '=' ? name + len + 1 : NULL;
	for (f = flags; f->name != NULL; f++)
		if (strlen(f->name) == len && strncmp(f->name, name, len) == 0)
			return f;
	return NULL;
}

/* is_int - a decimal integer, optionally negative */
static int
is_int(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* flag_json - {"a":{"b":value}} for key "a.b" */
static void
flag_json(struct buf *b, const struct flag *f, const char *val)
{
	struct json j;
	char key[64], *dot;

	snprintf(key, sizeof(key), "%s", f->key);
	json_init(&j, b, 0);
	json_obj_open(&j);
	if ((dot = strchr(key, '.')) != NULL) {
		*dot = '\0';
		json_key(&j, key);
		json_obj_open(&j);
		json_key(&j, dot + 1);
	} else
		json_key(&j, key);
	switch (f->kind) {
	case F_INT:
		json_i64(&j, strtoll(val, NULL, 10));
		break;
	case F_BOOL:
		json_bool(&j, strcmp(val, "false") != 0);
		break;
	case F_LIST:
		json_arr_open(&j);
		json_str(&j, val);
		json_arr_close(&j);
		break;
	default:
		json_str(&j, val);
	}
	if (dot != NULL)
		json_obj_close(&j);
	json_obj_close(&j);
}

/* daemon_parse_flags - see daemon.h */
int
daemon_parse_flags(int argc, char **argv, struct config *cfg, char *err,
    size_t errlen)
{
	const struct flag *f;
	const char *val;
	char name[80];
	struct buf b;
	int i, dev = 0;

	/* -dev changes the defaults, so it is found before anything loads. */
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if ((f = flag_find(argv[i], &val)) == NULL) {
			if (strcmp(argv[i], "-h") == 0 ||
			    strstr(argv[i], "help") != NULL)
				return -2;
			snprintf(err, errlen, "unknown flag %s (see -help)",
			    argv[i]);
			return -1;
		}
		if (strcmp(f->name, "dev") == 0)
			dev = 1;
		if (f->kind != F_BOOL && val == NULL)
			i++;
	}
	config_defaults(cfg, dev);
	buf_init(&b);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		f = flag_find(argv[i], &val);
		if (f->kind == F_BOOL) {
			if (val == NULL)
				val = "true";
		} else if (val == NULL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "flag -%s needs a value",
				    f->name);
				goto fail;
			}
			val = argv[++i];
		}
		if (f->kind == F_FILE) {
			if (config_load_file(cfg, val, err, errlen) < 0)
				goto fail;
		} else if (f->kind == F_DIR) {
			if (config_load_dir(cfg, val, err, errlen) < 0)
				goto fail;
		} else if (f->key != NULL) {
			if (f->kind == F_INT && !is_int(val)) {
				snprintf(err, errlen, "flag -%s: %s is not "
				    "a number", f->name, val);
				goto fail;
			}
			buf_reset(&b);
			flag_json(&b, f, val);
			snprintf(name, sizeof(name), "flag -%s", f->name);
			if (config_load_text(cfg, (char *)buf_head(&b),
			    buf_used(&b), name, err, errlen) < 0)
				goto fail;
		}
	}
	buf_free(&b);
	if (config_finish(cfg, err, errlen) < 0)
		return -1;
	return i;
fail:
	buf_free(&b);
	return -1;
}

void
daemon_sock_path(const struct config *cfg, const char *name, char *out,
    size_t n)
{
	snprintf(out, n, "%s/%s.sock", cfg->run_dir, name);
}

uint64_t
daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
daemon_stop(void)
{
	ev_break(daemon_loop, EVBREAK_ALL);
}

/* mkdirs - mkdir -p */
static int
mkdirs(const char *path, mode_t mode)
{
	char tmp[4096], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) == -1 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static void
daemon_term_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("caught signal %d, stopping", w->signum);
	ev_break(loop, EVBREAK_ALL);
}

/* daemon_config - see daemon.h */
int
daemon_config(struct config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (daemon_parse_flags(daemon_argc, daemon_argv, cfg, err,
	    errlen) < 0) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

/* daemon_hup_cb - re-read the config the daemon was started with */
static void
daemon_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct config cfg;
	char err[512];

	if (daemon_spec->reload == NULL) {
		log_info("SIGHUP: nothing to reload");
		return;
	}
	if (daemon_config(&cfg, err, sizeof(err)) < 0) {
		log_error("reload failed, keeping the old config: %s", err);
		return;
	}
	log_info("SIGHUP: reloading configuration");
	log_set_level(cfg.log_level);
	daemon_spec->reload(&cfg);
	config_free(&cfg);
}

static void
daemon_usage(const struct daemon_spec *spec, FILE *fp)
{
	fprintf(fp, "Usage: cairn-%s [flags]\n\n%s\n\n%s\nFlags:\n%s",
	    spec->name, spec->summary, spec->help, daemon_flags_help);
}

int
daemon_main(int argc, char **argv, const struct daemon_spec *spec)
{
	static ev_signal sterm, sint, shup;
	struct config cfg;
	char err[1024], prog[64], tap[512];
	int r;

	snprintf(prog, sizeof(prog), "cairn-%s", spec->name);
	log_init(prog);
	daemon_spec = spec;
	daemon_argc = argc;
	daemon_argv = argv;
	memset(&cfg, 0, sizeof(cfg));
	r = daemon_parse_flags(argc, argv, &cfg, err, sizeof(err));
	if (r == -2) {
		daemon_usage(spec, stdout);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 100;	/* usage error: do not retry blindly */
	}
	if (r < argc) {
		fprintf(stderr, "%s: unexpected argument %s\n", prog, argv[r]);
		return 100;
	}
	if (log_set_level(cfg.log_level) < 0)
		log_warn("unknown log_level %s, using info", cfg.log_level);
	if (mkdirs(cfg.data_dir, 0700) < 0 || mkdirs(cfg.run_dir, 0755) < 0)
		log_fatal("cannot create %s or %s: %s", cfg.data_dir,
		    cfg.run_dir, strerror(errno));
	/* Every line also goes to httpd's /v1/agent/monitor, if it runs. */
	daemon_sock_path(&cfg, "log", tap, sizeof(tap));
	if (log_tap(tap, err, sizeof(err)) < 0)
		log_warn("%s", err);
	signal(SIGPIPE, SIG_IGN);
	daemon_loop = ev_default_loop(EVFLAG_AUTO);
	ev_signal_init(&sterm, daemon_term_cb, SIGTERM);
	ev_signal_init(&sint, daemon_term_cb, SIGINT);
	ev_signal_init(&shup, daemon_hup_cb, SIGHUP);
	ev_signal_start(daemon_loop, &sterm);
	ev_signal_start(daemon_loop, &sint);
	ev_signal_start(daemon_loop, &shup);
	if (spec->init(daemon_loop, &cfg, err, sizeof(err)) < 0)
		log_fatal("%s", err);
	notify_send("READY=1");
	ev_run(daemon_loop, 0);
	notify_send("STOPPING=1");
	if (spec->stop != NULL)
		spec->stop();
	log_info("stopped");
	config_free(&cfg);
	return 0;
}
