/*
 * test_check_exec.c - script checks on the default loop: exit codes and
 * signals, output capture and Consul's truncation, start failures,
 * timeouts that kill the whole process group (also when a grandchild
 * holds the pipe), many checks at once, cancel, no descriptor leaks.
 *
 * Run with "--emit N" the binary writes N bytes of a known pattern to
 * stdout: the output tests run it as their check. Timing is never
 * asserted beyond "it finished": waits are generous deadlines.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <ev.h>

#include "test.h"
#include "../../checkd/check_exec.h"

#define MS	1000000LL
/* A deadline for a hung test, not a timing. */
#ifndef WAIT_S
#define WAIT_S	60.0
#endif

static char self_exe[4096];

struct result {
	int	 called;
	int	 status;
	char	 output[CHECK_EXEC_OUTPUT_MAX + 512];
};

/* pattern_byte - byte i of the --emit output; no short period */
static char
pattern_byte(long i)
{
	return (char)(33 + (i * 7 + i / 97) % 94);
}

/* emit - the --emit child: n pattern bytes to stdout in uneven writes */
static int
emit(long n)
{
	char buf[1500];
	long i = 0, k, chunk;
	ssize_t w;

	while (i < n) {
		chunk = 1 + (i * 13) % (long)sizeof(buf);
		if (chunk > n - i)
			chunk = n - i;
		for (k = 0; k < chunk; k++)
			buf[k] = pattern_byte(i + k);
		for (k = 0; k < chunk; k += w)
			if ((w = write(1, buf + k, chunk - k)) <= 0)
				return 1;
		i += chunk;
	}
	return 0;
}

/* result_cb - record what the check reported */
static void
result_cb(void *arg, int status, const char *output)
{
	struct result *r = arg;

	r->called++;
	r->status = status;
	snprintf(r->output, sizeof(r->output), "%s", output);
}

struct poll {
	int		(*done)(void *);
	void		*arg;
	int		 ok;
	ev_tstamp	 deadline;
};

/* poll_cb - stop the loop once the condition holds or time is up */
static void
poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct poll *p = w->data;

	if (p->done(p->arg)) {
		p->ok = 1;
		ev_break(loop, EVBREAK_ONE);
	} else if (ev_now(loop) > p->deadline)
		ev_break(loop, EVBREAK_ONE);
}

/* loop_until - run the default loop until done(arg); 0 on the deadline */
static int
loop_until(int (*done)(void *), void *arg, double max_s)
{
	struct ev_loop *loop = EV_DEFAULT;
	struct poll p = { done, arg, 0, 0 };
	ev_timer t;

	if (done(arg))
		return 1;
	ev_now_update(loop);
	p.deadline = ev_now(loop) + max_s;
	ev_timer_init(&t, poll_cb, 0.01, 0.01);
	t.data = &p;
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
	return p.ok;
}

/* called - done() for loop_until: the result is in */
static int
called(void *arg)
{
	return ((struct result *)arg)->called > 0;
}

/* never - done() for loop_until: just let the loop run for a while */
static int
never(void *arg)
{
	return 0;
}

/* run_check - start one check, run the loop until it reports */
static void
run_check(char *const argv[], const char *script, int64_t timeout_ns,
    struct result *r)
{
	struct check_exec *ce;
	char err[256] = "";

	memset(r, 0, sizeof(*r));
	ce = check_exec_start(EV_DEFAULT, argv, script, timeout_ns, result_cb,
	    r, err, sizeof(err));
	CHECK(ce != NULL);
	if (ce == NULL) {
		fprintf(stderr, "check_exec_start: %s\n", err);
		return;
	}
	/* Never from inside start, even when the command can't start. */
	CHECK(r->called == 0);
	CHECK(loop_until(called, r, WAIT_S));
	CHECK(r->called == 1);
}

/* proc_gone - pid has exited: no such process, or a zombie (reaped==0) */
static int
proc_gone(pid_t pid, int reaped)
{
	char path[64], buf[512], *p;
	FILE *f;
	int zombie = 0;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	if (reaped)
		return 0;
	/*
	 * An orphaned grandchild is reaped by pid 1 or a subreaper, which
	 * in a container may never happen; dead is what we test.
	 */
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		zombie = p[2] == 'Z';
	fclose(f);
	return zombie;
}

static int
gone_reaped(void *arg)
{
	return proc_gone(*(pid_t *)arg, 1);
}

static int
gone_dead(void *arg)
{
	return proc_gone(*(pid_t *)arg, 0);
}

/* fd_count - descriptors open in this process */
static int
fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the DIR's own descriptor */
}

/* test_status - exit codes and signals map as Consul maps them */
static void
test_status(void)
{
	static char *a_true[] = { "true", NULL };
	static char *a_false[] = { "false", NULL };
	static char *a_exit3[] = { "sh", "-c", "exit 3", NULL };
	static char *a_both[] = { "sh", "-c",
	    "echo out; echo err >&2; echo out2; exit 1", NULL };
	static char *a_words[] = { "printf", "%s|%s", "a  b", "c", NULL };
	static const struct {
		char *const	*argv;
		const char	*script;
		int		 status;
		const char	*output;
	} t[] = {
		{ NULL, "exit 0", CHECK_PASSING, "" },
		{ NULL, "echo ok", CHECK_PASSING, "ok\n" },
		{ NULL, "echo warn; exit 1", CHECK_WARNING, "warn\n" },
		{ NULL, "exit 2", CHECK_CRITICAL, "" },
		{ NULL, "exit 255", CHECK_CRITICAL, "" },
		{ NULL, "echo x; kill -9 $$", CHECK_CRITICAL, "x\n" },
		{ NULL, "kill -TERM $$", CHECK_CRITICAL, "" },
		{ NULL, "printf 'a  b'", CHECK_PASSING, "a  b" },
		/* stdin is /dev/null: cat sees EOF at once */
		{ NULL, "cat; echo done", CHECK_PASSING, "done\n" },
		{ NULL, "readlink /proc/self/fd/0", CHECK_PASSING,
		    "/dev/null\n" },
		/* a daemon's ignored SIGPIPE must not reach the check */
		{ NULL, "yes | head -c 3", CHECK_PASSING, "y\ny" },
		{ a_true, NULL, CHECK_PASSING, "" },
		{ a_false, NULL, CHECK_WARNING, "" },
		{ a_exit3, NULL, CHECK_CRITICAL, "" },
		{ a_both, NULL, CHECK_WARNING, "out\nerr\nout2\n" },
		/* args are not split by a shell */
		{ a_words, NULL, CHECK_PASSING, "a  b|c" },
	};
	struct result r;
	unsigned i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run_check(t[i].argv, t[i].script, 5000 * MS, &r);
		if (r.status != t[i].status)
			fprintf(stderr, "case %u: status %d, want %d\n", i,
			    r.status, t[i].status);
		CHECK(r.status == t[i].status);
		CHECK_STR(r.output, t[i].output);
	}
	signal(SIGPIPE, SIG_DFL);
}

/* test_output_limit - the last 4 KiB kept, with Consul's prefix */
static void
test_output_limit(void)
{
	static const long sizes[] = {
		0, 1, 4095, 4096, 4097, 8192, 10000, 300001
	};
	char want[CHECK_EXEC_OUTPUT_MAX + 512], num[32];
	char *argv[] = { self_exe, "--emit", num, NULL };
	struct result r;
	long n, i, from;
	unsigned k;
	int len;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		n = sizes[k];
		snprintf(num, sizeof(num), "%ld", n);
		len = 0;
		from = 0;
		if (n > CHECK_EXEC_OUTPUT_MAX) {
			len = snprintf(want, sizeof(want),
			    "Captured %d of %ld bytes\n...\n",
			    CHECK_EXEC_OUTPUT_MAX, n);
			from = n - CHECK_EXEC_OUTPUT_MAX;
		}
		for (i = from; i < n; i++)
			want[len++] = pattern_byte(i);
		want[len] = '\0';
		run_check(argv, NULL, 10000 * MS, &r);
		CHECK(r.status == CHECK_PASSING);
		CHECK_STR(r.output, want);
	}

	/* The same through the shell, as a script check. */
	run_check(NULL, "yes abcdefghi | head -c 10000; exit 1", 10000 * MS,
	    &r);
	len = snprintf(want, sizeof(want),
	    "Captured 4096 of 10000 bytes\n...\n");
	for (i = 10000 - 4096; i < 10000; i++)
		want[len++] = "abcdefghi\n"[i % 10];
	want[len] = '\0';
	CHECK(r.status == CHECK_WARNING);
	CHECK_STR(r.output, want);
}

/* test_start_failure - a command that can't run is critical, Go's text */
static void
test_start_failure(void)
{
	static char *a_none[] = { "cairn-no-such-command", "x", NULL };
	static char *a_path[] = { "/nonexistent/cairn-check", NULL };
	static char *a_noexec[] = { "/etc/passwd", NULL };
	static const struct {
		char *const	*argv;
		const char	*output;
	} t[] = {
		{ a_none, "exec: \"cairn-no-such-command\": "
		    "executable file not found in $PATH" },
		{ a_path, "fork/exec /nonexistent/cairn-check: "
		    "no such file or directory" },
		{ a_noexec, "fork/exec /etc/passwd: permission denied" },
	};
	struct result r;
	unsigned i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run_check(t[i].argv, NULL, 5000 * MS, &r);
		CHECK(r.status == CHECK_CRITICAL);
		CHECK_STR(r.output, t[i].output);
	}
	/* Through the shell the command starts; sh says 127, not found. */
	run_check(NULL, "cairn-no-such-command", 5000 * MS, &r);
	CHECK(r.status == CHECK_CRITICAL);
	CHECK(strstr(r.output, "cairn-no-such-command") != NULL);
	CHECK(strstr(r.output, "not found") != NULL);
}

/* test_bad_args - caller mistakes are refused at once, with a reason */
static void
test_bad_args(void)
{
	char *empty[] = { NULL };
	char err[256];
	struct ev_loop *other;
	struct result r;

	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	CHECK(check_exec_start(EV_DEFAULT, NULL, NULL, 0, result_cb, &r,
	    err, sizeof(err)) == NULL);
	CHECK(err[0] != '\0');
	err[0] = '\0';
	CHECK(check_exec_start(EV_DEFAULT, empty, NULL, 0, result_cb, &r,
	    err, sizeof(err)) == NULL);
	CHECK(err[0] != '\0');
	other = ev_loop_new(EVFLAG_AUTO);
	CHECK(other != NULL);
	if (other != NULL) {
		err[0] = '\0';
		CHECK(check_exec_start(other, NULL, "exit 0", 0, result_cb,
		    &r, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "default loop") != NULL);
		ev_loop_destroy(other);
	}
	CHECK(r.called == 0);
}

/*
 * test_timeout - the whole process group is killed and the check never
 * hangs, also when the check has exited but a grandchild holds the pipe.
 * Each script prints the pid that must be gone afterwards.
 */
static void
test_timeout(void)
{
	static const struct {
		const char	*script;
		int64_t		 timeout_ns;
		const char	*msg;
		int		 reaped;	/* our child: libev reaps */
	} t[] = {
		{ "echo $$; exec sleep 30", 300 * MS,
		    "Timed out (300ms) running check\n\n", 1 },
		{ "sleep 30 & echo $!; sleep 30", 300 * MS,
		    "Timed out (300ms) running check\n\n", 0 },
		{ "sleep 30 & echo $!; exit 0", 300 * MS,
		    "Timed out (300ms) running check\n\n", 0 },
		{ "sleep 30 & echo $!; wait", 1500 * MS,
		    "Timed out (1.5s) running check\n\n", 0 },
	};
	struct result r;
	unsigned i;
	size_t mlen;
	pid_t pid;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run_check(NULL, t[i].script, t[i].timeout_ns, &r);
		CHECK(r.status == CHECK_CRITICAL);
		mlen = strlen(t[i].msg);
		CHECK(strncmp(r.output, t[i].msg, mlen) == 0);
		pid = (pid_t)atol(r.output + (strlen(r.output) >= mlen ?
		    mlen : 0));
		CHECK(pid > 1);
		if (pid <= 1) {
			fprintf(stderr, "case %u: output \"%s\"\n", i,
			    r.output);
			continue;
		}
		CHECK(loop_until(t[i].reaped ? gone_reaped : gone_dead, &pid,
		    WAIT_S));
	}

	/* No output: just the message, as Consul; Go's duration text. */
	run_check(NULL, "exec sleep 30", 250500000LL, &r);
	CHECK(r.status == CHECK_CRITICAL);
	CHECK_STR(r.output, "Timed out (250.5ms) running check");
}

/*
 * test_timeout_escaped - a process that left the group can't be killed
 * with it and keeps the pipe open; the check still ends at the timeout.
 */
static void
test_timeout_escaped(void)
{
	struct result r;
	pid_t pid;

	run_check(NULL, "setsid sleep 30 & echo $!; exit 0", 300 * MS, &r);
	CHECK(r.status == CHECK_CRITICAL);
	CHECK(strncmp(r.output, "Timed out (300ms) running check\n\n",
	    33) == 0);
	pid = (pid_t)atol(r.output + (strlen(r.output) >= 33 ? 33 : 0));
	CHECK(pid > 1);
	if (pid > 1) {
		kill(pid, SIGKILL);
		CHECK(loop_until(gone_dead, &pid, WAIT_S));
	}
}

/* many_done - done() for loop_until: every one of n results is in */
struct many {
	struct result	*r;
	int		 n;
};

static int
many_done(void *arg)
{
	struct many *m = arg;
	int i;

	for (i = 0; i < m->n; i++)
		if (m->r[i].called == 0)
			return 0;
	return 1;
}

/* test_many - fifty checks at once each report their own result once */
static void
test_many(void)
{
	enum { N = 50 };
	static struct result r[N];
	struct many m = { r, N };
	char script[64], want[16], err[256];
	int i, started = 0;

	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		/* Some finish at once, some after a little while. */
		snprintf(script, sizeof(script), "%secho %d; exit %d",
		    i % 2 ? "sleep 0.2; " : "", i, i % 3);
		if (check_exec_start(EV_DEFAULT, NULL, script, 20000 * MS,
		    result_cb, &r[i], err, sizeof(err)) != NULL)
			started++;
	}
	CHECK(started == N);
	CHECK(loop_until(many_done, &m, WAIT_S));
	for (i = 0; i < N; i++) {
		snprintf(want, sizeof(want), "%d\n", i);
		CHECK(r[i].called == 1);
		CHECK(r[i].status == (i % 3 == 0 ? CHECK_PASSING :
		    i % 3 == 1 ? CHECK_WARNING : CHECK_CRITICAL));
		CHECK_STR(r[i].output, want);
	}
}

struct chain {
	int		 left;
	int		 done;
	struct result	 last;
};

/* chain_cb - start the next run from inside the callback */
static void
chain_cb(void *arg, int status, const char *output)
{
	struct chain *c = arg;
	char err[256];

	c->last.status = status;
	snprintf(c->last.output, sizeof(c->last.output), "%s", output);
	if (--c->left > 0) {
		if (check_exec_start(EV_DEFAULT, NULL, "echo again", 5000 * MS,
		    chain_cb, c, err, sizeof(err)) == NULL)
			c->done = -1;
	} else
		c->done = 1;
}

static int
chain_done(void *arg)
{
	return ((struct chain *)arg)->done != 0;
}

/* test_restart_in_callback - the handle is free before cb runs */
static void
test_restart_in_callback(void)
{
	struct chain c;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.left = 3;
	CHECK(check_exec_start(EV_DEFAULT, NULL, "echo first", 5000 * MS,
	    chain_cb, &c, err, sizeof(err)) != NULL);
	CHECK(loop_until(chain_done, &c, WAIT_S));
	CHECK(c.done == 1);
	CHECK(c.left == 0);
	CHECK_STR(c.last.output, "again\n");
}

/* read_pids - "leader grandchild" from a file the check wrote */
static int
read_pids(const char *path, pid_t *a, pid_t *b)
{
	FILE *f = fopen(path, "r");
	long x, y;
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%ld %ld", &x, &y);
	fclose(f);
	if (n != 2)
		return 0;
	*a = (pid_t)x;
	*b = (pid_t)y;
	return 1;
}

static int
file_exists(void *arg)
{
	return access(arg, F_OK) == 0;
}

/* test_cancel - no callback, and the group (grandchild too) is gone */
static void
test_cancel(void)
{
	static char *a_none[] = { "cairn-no-such-command", NULL };
	char dir[] = "/tmp/test_check_exec.XXXXXX", path[128], script[512];
	struct check_exec *ce;
	struct result r;
	char err[256];
	pid_t leader = 0, grandchild = 0;

	memset(&r, 0, sizeof(r));
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/pids", dir);
	/* Written whole by rename, so it is never read half done. */
	snprintf(script, sizeof(script), "sleep 30 & echo $$ $! > %s.tmp && "
	    "mv %s.tmp %s; exec sleep 30", path, path, path);
	ce = check_exec_start(EV_DEFAULT, NULL, script, 20000 * MS, result_cb,
	    &r, err, sizeof(err));
	CHECK(ce != NULL);
	if (ce == NULL)
		return;
	CHECK(loop_until(file_exists, path, WAIT_S));
	CHECK(read_pids(path, &leader, &grandchild));
	check_exec_cancel(ce);
	if (leader > 1 && grandchild > 1) {
		CHECK(loop_until(gone_reaped, &leader, WAIT_S));
		CHECK(loop_until(gone_dead, &grandchild, WAIT_S));
	} else
		CHECK(0);

	/* Cancel right after start, and a start failure not yet reported. */
	ce = check_exec_start(EV_DEFAULT, NULL, "exec sleep 30", 20000 * MS,
	    result_cb, &r, err, sizeof(err));
	CHECK(ce != NULL);
	check_exec_cancel(ce);
	ce = check_exec_start(EV_DEFAULT, a_none, NULL, 20000 * MS,
	    result_cb, &r, err, sizeof(err));
	CHECK(ce != NULL);
	check_exec_cancel(ce);
	check_exec_cancel(NULL);
	loop_until(never, NULL, 0.3);
	CHECK(r.called == 0);

	unlink(path);
	rmdir(dir);
}

/* test_no_inherit - the child sees fds 0-2 only, CLOEXEC or not */
static void
test_no_inherit(void)
{
	char script[128];
	struct result r;
	int fd;

	fd = open("/dev/null", O_RDONLY);	/* deliberately no O_CLOEXEC */
	CHECK(fd >= 3);
	/* No pipeline here: the shell holds a pipe's ends while it forks. */
	snprintf(script, sizeof(script), "ls /proc/$$/fd; "
	    "test -e /proc/$$/fd/%d && exit 2; exit 0", fd);
	run_check(NULL, script, 5000 * MS, &r);
	CHECK(r.status == CHECK_PASSING);
	CHECK_STR(r.output, "0\n1\n2\n");
	close(fd);
}

static int fds_before;

/* test_no_fd_leak - everything above closed what it opened */
static void
test_no_fd_leak(void)
{
	int now = fd_count();

	if (now != fds_before)
		fprintf(stderr, "fds before %d, after %d\n", fds_before, now);
	CHECK(now == fds_before);
}

int
main(int argc, char **argv)
{
	struct result r;
	ssize_t n;

	if (argc == 3 && strcmp(argv[1], "--emit") == 0)
		return emit(atol(argv[2]));
	if ((n = readlink("/proc/self/exe", self_exe,
	    sizeof(self_exe) - 1)) <= 0) {
		perror("readlink /proc/self/exe");
		return 1;
	}
	self_exe[n] = '\0';
	/* Let libev open what it keeps open for good before counting. */
	ev_default_loop(0);
	run_check(NULL, "exit 0", 5000 * MS, &r);
	fds_before = fd_count();

	RUN(test_status);
	RUN(test_output_limit);
	RUN(test_start_failure);
	RUN(test_bad_args);
	RUN(test_timeout);
	RUN(test_timeout_escaped);
	RUN(test_many);
	RUN(test_restart_in_callback);
	RUN(test_cancel);
	RUN(test_no_inherit);
	RUN(test_no_fd_leak);
	return TEST_DONE();
}
