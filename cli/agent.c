/*
 * agent.c - `cairn agent`: a small supervisor that starts the daemons a
 * node needs and keeps them running, for people who do not run them under
 * daemontools or systemd.
 *
 * The agent reads its flags with daemon_parse_flags (so a bad flag or
 * config fails here, once) and passes them to every daemon unchanged.
 * Daemons start one at a time in dependency order (servers: gossipd raftd
 * kvd checkd dnsd httpd; clients: no raftd or kvd), each once the one
 * before accepts connections on its socket (httpd: its TCP port; dnsd: its
 * socket or TCP port, or after a short wait). A daemon that exits is
 * restarted after 1s, doubling to 30s, the delay reset once it has run
 * for 60s (Postfix's master throttles a failing service the same way
 * rather than respawn it in a loop). SIGTERM or SIGINT stops them in
 * reverse order, each with SIGTERM and SIGKILL 10s later; a second signal
 * kills what is left at once. SIGHUP is passed on, so each daemon reloads.
 *
 * A node that leaves the cluster shuts down, as Consul's agent does after
 * `consul leave`: gossipd exits 0 once its leave has spread, and as the
 * agent did not ask it to stop, that exit ends the node. The others are
 * stopped as on SIGTERM (after a 1s grace for httpd to deliver the answer
 * to the leave request) and the agent exits 0. Any other exit of a daemon
 * the agent did not stop is a crash, and the daemon is restarted.
 *
 * Each daemon runs in its own process group (a terminal's ^C reaches only
 * the agent, which stops them in order) and dies with the agent
 * (PR_SET_PDEATHSIG), so a SIGKILLed agent leaves no orphans. Children do
 * not inherit NOTIFY_SOCKET: the agent tells systemd it is ready once all
 * daemons are.
 *
 * -dev with no data dir gets a fresh temporary one, removed on exit.
 *
 * Leaves out: a pidfile, log files (the daemons' stderr is the agent's),
 * and dropping privileges.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "cli.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"

#define AGENT_NKIDS		6
#define AGENT_READY_WAIT	10.0	/* then start the rest anyway */
#define AGENT_DNS_WAIT		2.0	/* dnsd with no socket of its own */
#define AGENT_PROBE_EVERY	0.01
#define AGENT_STOP_WAIT		10.0	/* SIGTERM, then SIGKILL */
#define AGENT_BACKOFF_MIN	1.0
#define AGENT_BACKOFF_MAX	30.0
#define AGENT_BACKOFF_RESET	60.0	/* a run this long clears the delay */
#define AGENT_LEAVE_GRACE	1.0	/* httpd answers the leave, then stop */

struct agent_kid {
	const char	*name;		/* "kvd" */
	char		 path[PATH_MAX];
	char		**argv;
	pid_t		 pid;		/* 0: not running */
	double		 started;
	double		 delay;		/* the last restart delay */
	ev_timer	 restart;
};

static struct {
	struct ev_loop	*loop;
	struct config	 cfg;
	struct agent_kid kids[AGENT_NKIDS];
	size_t		 nkids;
	size_t		 next;		/* starting: the kid awaited */
	double		 wait_since;
	int		 warned;
	ev_timer	 probe;
	ev_child	 child_w;
	ev_signal	 sterm, sint, shup;
	int		 stopping;	/* 1: in order; 2: all killed */
	size_t		 stop_idx;	/* stopping: kids[stop_idx] is next */
	ev_timer	 kill_timer;
	ev_timer	 leave_timer;	/* after a leave: the grace, then stop */
	char		 tmpdir[PATH_MAX];	/* ours to remove, or "" */
	const char	*self;
} A;

static const char agent_help[] =
"Usage: cairn agent [options]\n"
"\n"
"  Starts the cairn daemons this node needs and keeps them running.\n"
"  Servers run cairn-gossipd, cairn-raftd, cairn-kvd, cairn-checkd,\n"
"  cairn-dnsd and cairn-httpd, in that order; clients run the same\n"
"  without raftd and kvd. Each daemon is looked for next to this cairn\n"
"  binary, then in PATH, and gets these options unchanged. A daemon that\n"
"  exits is restarted after 1s, doubling up to 30s. SIGTERM or SIGINT\n"
"  stops them in reverse order; SIGHUP is passed on to each (reload).\n"
"  After \"cairn leave\" (cairn-gossipd exits 0 once the cluster knows)\n"
"  the agent stops the other daemons and exits 0.\n"
"\n"
"  -dev runs a single server on 127.0.0.1 (HTTP 8500, DNS 8600) with its\n"
"  state in a temporary directory, removed on exit:\n"
"\n"
"      $ cairn agent -dev\n"
"\n"
"  The daemons can also run without the agent, under daemontools or\n"
"  systemd (see contrib/).\n"
"\n"
"Options:\n"
"\n";

static void	agent_start(struct agent_kid *);
static void	agent_stop(double);
static void	agent_stop_next(void);

/* agent_daemons - see cli.h */
const char *const *
agent_daemons(int server, size_t *n)
{
	static const char *const servers[] = { "gossipd", "raftd", "kvd",
	    "checkd", "dnsd", "httpd" };
	static const char *const clients[] = { "gossipd", "checkd", "dnsd",
	    "httpd" };

	*n = server ? 6 : 4;
	return server ? servers : clients;
}

/* agent_backoff - see cli.h */
double
agent_backoff(double prev, double ran)
{
	if (ran >= AGENT_BACKOFF_RESET || prev < AGENT_BACKOFF_MIN)
		return AGENT_BACKOFF_MIN;
	return prev * 2 > AGENT_BACKOFF_MAX ? AGENT_BACKOFF_MAX : prev * 2;
}

/* agent_child_argv - see cli.h */
char **
agent_child_argv(const char *path, int nflags, char *const *flags,
    const char *data_dir)
{
	char **v;
	int i, n = 0;

	if ((v = calloc((size_t)nflags + 4, sizeof(*v))) == NULL)
		log_fatal("out of memory");
	v[n++] = (char *)path;
	for (i = 0; i < nflags; i++)
		v[n++] = flags[i];
	if (data_dir != NULL) {
		v[n++] = "-data-dir";
		v[n++] = (char *)data_dir;
	}
	v[n] = NULL;
	return v;
}

/* agent_left - see cli.h */
int
agent_left(const char *name, int wstatus)
{
	return strcmp(name, "gossipd") == 0 && WIFEXITED(wstatus) &&
	    WEXITSTATUS(wstatus) == 0;
}

/* agent_probe_addr - see cli.h */
void
agent_probe_addr(const char *addr, char *out, size_t n)
{
	size_t len;

	while (*addr == ' ')
		addr++;
	/* Consul's client_addr may list several, space-separated. */
	len = strcspn(addr, " ");
	if (len > 0 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	snprintf(out, n, "%.*s", (int)len, addr);
	if (out[0] == '\0' || strcmp(out, "0.0.0.0") == 0)
		snprintf(out, n, "127.0.0.1");
	else if (strcmp(out, "::") == 0)
		snprintf(out, n, "::1");
}

/* agent_banner - see cli.h */
void
agent_banner(struct buf *b, const struct config *cfg, const char *tmpdir,
    const char *self)
{
	char http[128], dns[128], dom[256];
	size_t len;

	agent_probe_addr(cfg->http_addr, http, sizeof(http));
	agent_probe_addr(cfg->dns_addr, dns, sizeof(dns));
	snprintf(dom, sizeof(dom), "%s", cfg->domain);
	if ((len = strlen(dom)) > 1 && dom[len - 1] == '.')
		dom[len - 1] = '\0';
	buf_printf(b, "==> cairn agent running in -dev mode: one %s, state "
	    "%s\n\n", cfg->server ? "server" : "client", tmpdir != NULL ?
	    "thrown away on exit" : "kept");
	buf_printf(b, "        Node: %s (datacenter %s)\n", cfg->node_name,
	    cfg->datacenter);
	buf_printf(b, "    HTTP API: %s:%d\n", http, cfg->port_http);
	buf_printf(b, "         DNS: %s:%d (UDP and TCP)\n", dns,
	    cfg->port_dns);
	buf_printf(b, "    Data dir: %s\n\n", tmpdir != NULL ? tmpdir :
	    cfg->data_dir);
	buf_printf(b, "    Try:\n");
	buf_printf(b, strchr(http, ':') ? "      curl -s '[%s]:%d/v1/kv/hello'"
	    " -X PUT -d world\n" : "      curl -s %s:%d/v1/kv/hello -X PUT "
	    "-d world\n", http, cfg->port_http);
	buf_printf(b, "      dig @%s -p %d %s.node.%s\n", dns, cfg->port_dns,
	    cfg->node_name, dom);
	buf_printf(b, "      %s members", self);
	if (strcmp(http, "127.0.0.1") != 0 || cfg->port_http != 8500)
		buf_printf(b, strchr(http, ':') ? " -http-addr=[%s]:%d" :
		    " -http-addr=%s:%d", http, cfg->port_http);
	buf_puts(b, "\n\n");
}

/* probe_unix - whether something accepts on the socket at path */
static int
probe_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* probe_tcp - whether addr:port accepts a connection within 100ms */
static int
probe_tcp(const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct pollfd pfd;
	socklen_t len, elen = sizeof(int);
	int fd, e = -1, ok = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else
		return 0;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		ok = 1;
	else if (errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 100) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0)
			ok = e == 0;
	}
	close(fd);
	return ok;
}

/* agent_ready - whether kid accepts connections where its users look */
static int
agent_ready(const struct agent_kid *k, double waited)
{
	char path[PATH_MAX], addr[128];

	if (k->pid == 0)
		return 0;
	if (strcmp(k->name, "httpd") == 0) {
		agent_probe_addr(A.cfg.http_addr, addr, sizeof(addr));
		return A.cfg.port_http <= 0 || probe_tcp(addr,
		    A.cfg.port_http);
	}
	daemon_sock_path(&A.cfg, k->name, path, sizeof(path));
	if (probe_unix(path))
		return 1;
	if (strcmp(k->name, "dnsd") == 0) {
		agent_probe_addr(A.cfg.dns_addr, addr, sizeof(addr));
		return probe_tcp(addr, A.cfg.port_dns) ||
		    waited >= AGENT_DNS_WAIT;
	}
	return 0;
}

/* agent_find - cairn-<name> next to this binary, else in PATH */
static int
agent_find(const char *name, char *out, size_t n)
{
	char self[PATH_MAX], *slash, *pathv, *dir, *save = NULL;
	const char *env;
	ssize_t len;

	if ((len = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[len] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(out, n, "%s/cairn-%s", self, name) <
			    (int)n && access(out, X_OK) == 0)
				return 0;
		}
	}
	if ((env = getenv("PATH")) == NULL)
		env = "/usr/local/bin:/usr/bin:/bin";
	if ((pathv = strdup(env)) == NULL)
		log_fatal("out of memory");
	for (dir = strtok_r(pathv, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		if (snprintf(out, n, "%s/cairn-%s", *dir ? dir : ".", name) <
		    (int)n && access(out, X_OK) == 0) {
			free(pathv);
			return 0;
		}
	}
	free(pathv);
	return -1;
}

/* agent_exec - in the child: a clean process, then the daemon */
static void
agent_exec(const struct agent_kid *k, pid_t parent)
{
	sigset_t none;
	int fd;

	/* Our own group: ^C in a terminal reaches only the agent. */
	setpgid(0, 0);
	/* Die with the agent, even a SIGKILLed one. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	/* libev blocks the signals it watches; the daemon must get them. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	unsetenv("NOTIFY_SOCKET");
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	execv(k->path, k->argv);
	fprintf(stderr, "cairn: error: cannot run %s: %s\n", k->path,
	    strerror(errno));
	_exit(127);
}

/* agent_start - fork and exec one daemon */
static void
agent_start(struct agent_kid *k)
{
	pid_t pid, parent = getpid();

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		k->delay = agent_backoff(k->delay, 0);
		log_warn("cannot start cairn-%s: fork: %s; retrying in %.0fs",
		    k->name, strerror(errno), k->delay);
		ev_timer_set(&k->restart, k->delay, 0);
		ev_timer_start(A.loop, &k->restart);
		return;
	}
	if (pid == 0)
		agent_exec(k, parent);
	k->pid = pid;
	k->started = ev_now(A.loop);
	log_info("started cairn-%s (pid %d)", k->name, (int)pid);
}

/* agent_restart_cb - a restart delay is over */
static void
agent_restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_kid *k = w->data;

	if (!A.stopping && k->pid == 0)
		agent_start(k);
}

/* agent_all_up - every daemon started: say so, to people and systemd */
static void
agent_all_up(void)
{
	struct buf b;

	log_info("all %zu daemons running (%s)", A.nkids,
	    A.cfg.server ? "server" : "client");
	if (A.cfg.dev) {
		buf_init(&b);
		agent_banner(&b, &A.cfg, A.tmpdir[0] ? A.tmpdir : NULL,
		    A.self);
		cli_write(stdout, &b);
		buf_free(&b);
	}
	notify_send("READY=1");
}

/* agent_probe_cb - starting up: is the awaited daemon ready yet? */
static void
agent_probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_kid *k = &A.kids[A.next];
	double waited = ev_now(loop) - A.wait_since;

	if (!agent_ready(k, waited)) {
		if (waited < AGENT_READY_WAIT || A.warned)
			return;
		log_warn("cairn-%s is not ready after %.0fs; starting the "
		    "rest", k->name, AGENT_READY_WAIT);
		A.warned = 1;
	}
	if (++A.next == A.nkids) {
		ev_timer_stop(loop, w);
		agent_all_up();
		return;
	}
	A.wait_since = ev_now(loop);
	A.warned = 0;
	agent_start(&A.kids[A.next]);
}

/* agent_kid_of - the kid with that pid, or NULL */
static struct agent_kid *
agent_kid_of(pid_t pid)
{
	size_t i;

	for (i = 0; i < A.nkids; i++)
		if (A.kids[i].pid == pid)
			return &A.kids[i];
	return NULL;
}

/* agent_child_cb - a daemon exited: restart it, or go on stopping */
static void
agent_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct agent_kid *k;
	char how[64];
	double ran;

	if ((k = agent_kid_of(w->rpid)) == NULL)
		return;
	k->pid = 0;
	if (WIFSIGNALED(w->rstatus))
		snprintf(how, sizeof(how), "was killed by signal %d",
		    WTERMSIG(w->rstatus));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(w->rstatus));
	if (A.stopping) {
		log_info("cairn-%s %s", k->name, how);
		if (k == &A.kids[A.stop_idx]) {
			ev_timer_stop(loop, &A.kill_timer);
			agent_stop_next();
		}
		return;
	}
	if (agent_left(k->name, w->rstatus)) {
		log_info("cairn-%s %s", k->name, how);
		log_info("graceful leave complete; stopping");
		agent_stop(AGENT_LEAVE_GRACE);
		return;
	}
	ran = ev_now(loop) - k->started;
	k->delay = agent_backoff(k->delay, ran);
	log_warn("cairn-%s %s; restarting in %.0fs", k->name, how, k->delay);
	ev_timer_set(&k->restart, k->delay, 0);
	ev_timer_start(loop, &k->restart);
}

/*
 * agent_stop - stop every daemon, last started first, once delay seconds
 * have passed (0: now); no restarts from here on
 */
static void
agent_stop(double delay)
{
	size_t i;

	A.stopping = 1;
	ev_timer_stop(A.loop, &A.probe);
	for (i = 0; i < A.nkids; i++)
		ev_timer_stop(A.loop, &A.kids[i].restart);
	notify_send("STOPPING=1");
	/* Only kids up to the one being started have ever run. */
	A.stop_idx = A.nkids;
	if (delay > 0) {
		ev_timer_set(&A.leave_timer, delay, 0);
		ev_timer_start(A.loop, &A.leave_timer);
	} else
		agent_stop_next();
}

/* agent_leave_cb - the grace after a leave is over: stop the daemons */
static void
agent_leave_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	agent_stop_next();
}

/* agent_stop_next - SIGTERM the next daemon, last started first */
static void
agent_stop_next(void)
{
	struct agent_kid *k;

	while (A.stop_idx > 0) {
		k = &A.kids[--A.stop_idx];
		if (k->pid == 0)
			continue;
		/* After a second signal all were killed: just reap them. */
		if (A.stopping == 1) {
			log_info("stopping cairn-%s (pid %d)", k->name,
			    (int)k->pid);
			kill(k->pid, SIGTERM);
		}
		ev_timer_set(&A.kill_timer, AGENT_STOP_WAIT, 0);
		ev_timer_start(A.loop, &A.kill_timer);
		return;
	}
	ev_break(A.loop, EVBREAK_ALL);
}

/* agent_kill_cb - a daemon ignored SIGTERM for 10s */
static void
agent_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_kid *k = &A.kids[A.stop_idx];

	if (k->pid == 0)
		return;
	log_warn("cairn-%s did not stop within %.0fs; killing it", k->name,
	    AGENT_STOP_WAIT);
	kill(k->pid, SIGKILL);
}

/* agent_term_cb - SIGTERM/SIGINT: stop in order; a second one kills */
static void
agent_term_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	size_t i;

	if (A.stopping && ev_is_active(&A.leave_timer)) {
		/* Leaving, in the grace: the signal cuts it short. */
		log_info("caught signal %d, stopping the daemons", w->signum);
		ev_timer_stop(loop, &A.leave_timer);
		agent_stop_next();
		return;
	}
	if (A.stopping) {
		log_warn("caught signal %d again; killing every daemon",
		    w->signum);
		A.stopping = 2;
		for (i = 0; i < A.nkids; i++)
			if (A.kids[i].pid != 0)
				kill(A.kids[i].pid, SIGKILL);
		return;
	}
	log_info("caught signal %d, stopping the daemons", w->signum);
	agent_stop(0);
}

/* agent_hup_cb - every daemon re-reads its config */
static void
agent_hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	size_t i;

	log_info("SIGHUP: passing it on to the daemons");
	for (i = 0; i < A.nkids; i++)
		if (A.kids[i].pid != 0)
			kill(A.kids[i].pid, SIGHUP);
}

/* rm_cb - nftw: remove one entry, children first */
static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) == -1)
		log_warn("cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/* agent_cleanup - remove the -dev temporary data dir */
static void
agent_cleanup(void)
{
	if (A.tmpdir[0] == '\0')
		return;
	nftw(A.tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	A.tmpdir[0] = '\0';
}

/* agent_usage - the agent's help and the daemons' flags */
static void
agent_usage(FILE *fp)
{
	fprintf(fp, "%s%s", agent_help, daemon_flags_help);
	fflush(fp);
}

/* agent_main - `cairn agent [flags]`; argv[0] is "agent" */
int
agent_main(int argc, char **argv)
{
	const char *const *names;
	char err[1024], **flags;
	const char *tmp, *dd = NULL;
	int r, nflags;
	size_t i;

	log_init("cairn");
	memset(&A, 0, sizeof(A));
	A.self = cli_self;
	r = daemon_parse_flags(argc, argv, &A.cfg, err, sizeof(err));
	if (r == -2) {
		agent_usage(stdout);
		return 0;
	}
	if (r == -1 || r < argc) {
		if (r == -1)
			fprintf(stderr, "cairn agent: %s\n", err);
		else
			fprintf(stderr, "cairn agent: unexpected argument "
			    "%s\n", argv[r]);
		agent_usage(stderr);
		config_free(&A.cfg);
		return 1;
	}
	flags = argv + 1;
	nflags = argc - 1;
	if (A.cfg.dev && config_raw(&A.cfg, "data_dir") == NULL) {
		/* Consul's -dev keeps state in memory; ours goes here. */
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		snprintf(A.tmpdir, sizeof(A.tmpdir), "%s/cairn-dev.XXXXXX",
		    tmp);
		if (mkdtemp(A.tmpdir) == NULL) {
			fprintf(stderr, "cairn agent: mkdtemp %s: %s\n",
			    A.tmpdir, strerror(errno));
			config_free(&A.cfg);
			return 1;
		}
		dd = A.tmpdir;
		/* Read the flags again as the daemons will, data dir too. */
		config_free(&A.cfg);
		flags = agent_child_argv(argv[0], nflags, argv + 1, dd);
		r = daemon_parse_flags(nflags + 3, flags, &A.cfg, err,
		    sizeof(err));
		free(flags);
		if (r < 0)
			log_panic("flags that parsed once did not: %s", err);
		flags = argv + 1;
	}
	log_set_level(A.cfg.log_level);
	names = agent_daemons(A.cfg.server, &A.nkids);
	for (i = 0; i < A.nkids; i++) {
		A.kids[i].name = names[i];
		if (agent_find(names[i], A.kids[i].path,
		    sizeof(A.kids[i].path)) < 0) {
			fprintf(stderr, "cairn agent: cannot find cairn-%s "
			    "next to cairn or in PATH\n", names[i]);
			agent_cleanup();
			config_free(&A.cfg);
			return 1;
		}
		A.kids[i].argv = agent_child_argv(A.kids[i].path, nflags,
		    flags, dd);
	}

	A.loop = ev_default_loop(EVFLAG_AUTO);
	for (i = 0; i < A.nkids; i++) {
		ev_timer_init(&A.kids[i].restart, agent_restart_cb, 0, 0);
		A.kids[i].restart.data = &A.kids[i];
	}
	ev_child_init(&A.child_w, agent_child_cb, 0, 0);
	ev_child_start(A.loop, &A.child_w);
	ev_signal_init(&A.sterm, agent_term_cb, SIGTERM);
	ev_signal_init(&A.sint, agent_term_cb, SIGINT);
	ev_signal_init(&A.shup, agent_hup_cb, SIGHUP);
	ev_signal_start(A.loop, &A.sterm);
	ev_signal_start(A.loop, &A.sint);
	ev_signal_start(A.loop, &A.shup);
	ev_timer_init(&A.kill_timer, agent_kill_cb, 0, 0);
	ev_timer_init(&A.leave_timer, agent_leave_cb, 0, 0);
	ev_timer_init(&A.probe, agent_probe_cb, AGENT_PROBE_EVERY,
	    AGENT_PROBE_EVERY);
	ev_timer_start(A.loop, &A.probe);
	log_info("starting a %s node: %s, data dir %s", A.cfg.server ?
	    "server" : "client", A.cfg.node_name, A.cfg.data_dir);
	A.next = 0;
	A.wait_since = ev_now(A.loop);
	agent_start(&A.kids[0]);

	ev_run(A.loop, 0);

	agent_cleanup();
	for (i = 0; i < A.nkids; i++)
		free(A.kids[i].argv);
	config_free(&A.cfg);
	log_info("stopped");
	return 0;
}
