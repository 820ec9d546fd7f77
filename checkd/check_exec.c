/*
 * check_exec.c - a script check as a child process on libev. See
 * check_exec.h.
 *
 * One struct per run holds three watchers: ev_child for the exit status,
 * ev_io on the read end of the output pipe, ev_timer for the timeout. A
 * run ends when both the exit and EOF have been seen, or when the timer
 * fires first. The child is started with posix_spawn: glibc reports an
 * exec failure (ENOENT) synchronously, does not copy the daemon's memory
 * to start it, and sets the process group before exec, so a timeout can
 * never race the child's own setpgid.
 *
 * Leaves out: environment changes, running as another user, an output
 * limit other than Consul's default 4 KiB, and $SHELL (Consul runs a
 * legacy script with $SHELL -c when it is set; we always use /bin/sh).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "duration.h"
#include "log.h"
#include "check_exec.h"

/* Reads per wakeup: a check that prints without end can't starve the loop. */
#define CHECK_EXEC_READS	16

struct check_exec {
	ev_child	 child_w;
	ev_io		 io_w;
	ev_timer	 timer_w;
	struct ev_loop	*loop;
	void		(*cb)(void *, int, const char *);
	void		*arg;
	int64_t		 timeout_ns;
	pid_t		 pid;	/* = process group; 0: not started */
	int		 fd;	/* read end of the pipe; -1 at EOF */
	int		 exited;
	int		 wstatus;
	uint64_t	 total;	/* every byte the check wrote */
	char		 start_err[512];	/* why it did not start */
	char		 ring[CHECK_EXEC_OUTPUT_MAX];	/* the tail */
};

static void	check_exec_child_cb(struct ev_loop *, ev_child *, int);
static void	check_exec_read_cb(struct ev_loop *, ev_io *, int);
static void	check_exec_timer_cb(struct ev_loop *, ev_timer *, int);

/* check_exec_start_error - Go's os/exec text for a command that did not run */
static void
check_exec_start_error(struct check_exec *ce, const char *cmd, int err)
{
	char why[128];

	/* Go's errno strings are glibc's with a lower-case first letter. */
	snprintf(why, sizeof(why), "%s", strerror(err));
	why[0] = (char)tolower((unsigned char)why[0]);
	/*
	 * Go's LookPath skips files it may not execute and then says "not
	 * found"; posix_spawnp says EACCES for those.
	 */
	if (strchr(cmd, '/') == NULL && (err == ENOENT || err == EACCES))
		snprintf(ce->start_err, sizeof(ce->start_err),
		    "exec: \"%.200s\": executable file not found in $PATH",
		    cmd);
	else
		snprintf(ce->start_err, sizeof(ce->start_err),
		    "fork/exec %.200s: %s", cmd, why);
}

/* check_exec_spawn_piped - see check_exec.h */
int
check_exec_spawn_piped(const char *path, char *const argv[], int search,
    pid_t *pid, int *fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	int p[2], wfd, fl, rc;

	if (pipe2(p, O_CLOEXEC) == -1)
		return errno;
	/* A write end on 0-2 would be closed by the dup2s onto 0-2. */
	if (p[1] < 3) {
		wfd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
		rc = errno;
		close(p[1]);
		if (wfd == -1) {
			close(p[0]);
			return rc;
		}
		p[1] = wfd;
	}
	/* Only our end is non-blocking: the check's writes must block. */
	if ((fl = fcntl(p[0], F_GETFL)) == -1 ||
	    fcntl(p[0], F_SETFL, fl | O_NONBLOCK) == -1) {
		rc = errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}

	/*
	 * Stdin is /dev/null as under Go's os/exec; stdout and stderr share
	 * the pipe, so the output interleaves as a terminal would show it.
	 * Nothing else crosses exec, whether or not its owner set CLOEXEC.
	 * Signal dispositions and the mask go back to defaults: a daemon
	 * that ignores SIGPIPE must not pass that on to every check.
	 */
	sigemptyset(&none);
	sigfillset(&all);
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if ((rc = posix_spawnattr_init(&sa)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, p[1], 1)) == 0 &&
	    (rc = posix_spawn_file_actions_adddup2(&fa, p[1], 2)) == 0 &&
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (rc = posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (rc = posix_spawnattr_setpgroup(&sa, 0)) == 0 &&
	    (rc = posix_spawnattr_setsigmask(&sa, &none)) == 0 &&
	    (rc = posix_spawnattr_setsigdefault(&sa, &all)) == 0) {
		if (search)
			rc = posix_spawnp(pid, path, &fa, &sa, argv, environ);
		else
			rc = posix_spawn(pid, path, &fa, &sa, argv, environ);
	}
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		*pid = 0;
		close(p[0]);
		return rc;
	}
	*fd = p[0];
	return 0;
}

/* check_exec_spawn - start the child in a new group; 0, or an errno value */
static int
check_exec_spawn(struct check_exec *ce, char *const argv[], const char *script)
{
	char *sh_argv[] = { "sh", "-c", (char *)script, NULL };

	if (argv != NULL)
		return check_exec_spawn_piped(argv[0], argv, 1, &ce->pid,
		    &ce->fd);
	return check_exec_spawn_piped("/bin/sh", sh_argv, 0, &ce->pid,
	    &ce->fd);
}

/* check_exec_drain - read what the pipe holds; 1 once at EOF (fd closed) */
static int
check_exec_drain(struct check_exec *ce)
{
	size_t off;
	ssize_t n;
	int i;

	for (i = 0; i < CHECK_EXEC_READS; i++) {
		/* Read straight into the ring: only the tail is kept. */
		off = ce->total % sizeof(ce->ring);
		n = read(ce->fd, ce->ring + off, sizeof(ce->ring) - off);
		if (n > 0) {
			ce->total += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n == -1)
			log_warn("check output pipe: read: %s",
			    strerror(errno));
		ev_io_stop(ce->loop, &ce->io_w);
		close(ce->fd);
		ce->fd = -1;
		return 1;
	}
	return 0;
}

/* check_exec_output - the captured output, Consul's truncation prefix first */
static void
check_exec_output(const struct check_exec *ce, char *out, size_t n)
{
	size_t cap = sizeof(ce->ring), len, start;

	if (ce->total <= cap) {
		len = (size_t)ce->total < n - 1 ? (size_t)ce->total : n - 1;
		memcpy(out, ce->ring, len);
		out[len] = '\0';
		return;
	}
	len = (size_t)snprintf(out, n, "Captured %zu of %" PRIu64
	    " bytes\n...\n", cap, ce->total);
	if (len + cap + 1 > n)
		log_panic("check_exec_output: buffer of %zu too small", n);
	/* The oldest kept byte sits where the next one would be written. */
	start = ce->total % cap;
	memcpy(out + len, ce->ring + start, cap - start);
	memcpy(out + len + cap - start, ce->ring, start);
	out[len + cap] = '\0';
}

/* check_exec_kill - SIGKILL the check's whole process group */
static void
check_exec_kill(struct check_exec *ce)
{
	/*
	 * Linux keeps a pid number out of use while any process still has
	 * it as its group id, so -pid reaches our group or nothing, unless
	 * the leader was reaped, every member left the group, and the number
	 * was reused by a new group leader, all within one timeout.
	 */
	if (kill(-ce->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("check: kill process group %ld: %s", (long)ce->pid,
		    strerror(errno));
}

/*
 * check_exec_free - stop the watchers, close the pipe, free. A child not
 * yet waited for is reaped later by libev's own SIGCHLD handler on the
 * default loop, which waits for every child, watched or not.
 */
static void
check_exec_free(struct check_exec *ce)
{
	ev_child_stop(ce->loop, &ce->child_w);
	ev_io_stop(ce->loop, &ce->io_w);
	ev_timer_stop(ce->loop, &ce->timer_w);
	if (ce->fd != -1)
		close(ce->fd);
	free(ce);
}

/* check_exec_finish - work out the status and output, free, then call back */
static void
check_exec_finish(struct check_exec *ce, int timed_out)
{
	char out[CHECK_EXEC_OUTPUT_MAX + 256], dur[64];
	void (*cb)(void *, int, const char *) = ce->cb;
	void *arg = ce->arg;
	int status, len;

	if (ce->pid == 0) {
		status = CHECK_CRITICAL;
		snprintf(out, sizeof(out), "%s", ce->start_err);
	} else if (timed_out) {
		/* Consul: "Timed out (30s) running check", then any output. */
		status = CHECK_CRITICAL;
		duration_format(ce->timeout_ns, dur, sizeof(dur));
		len = snprintf(out, sizeof(out), "Timed out (%s) running check",
		    dur);
		if (ce->total > 0) {
			len += snprintf(out + len, sizeof(out) - len, "\n\n");
			check_exec_output(ce, out + len, sizeof(out) - len);
		}
	} else {
		check_exec_output(ce, out, sizeof(out));
		if (WIFEXITED(ce->wstatus) && WEXITSTATUS(ce->wstatus) == 0)
			status = CHECK_PASSING;
		else if (WIFEXITED(ce->wstatus) &&
		    WEXITSTATUS(ce->wstatus) == 1)
			status = CHECK_WARNING;
		else
			status = CHECK_CRITICAL;
	}
	/* Free first, so that cb may start the next run or stop the loop. */
	check_exec_free(ce);
	cb(arg, status, out);
}

/* check_exec_child_cb - the child exited; done if its output is done too */
static void
check_exec_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct check_exec *ce = w->data;

	ev_child_stop(loop, w);
	ce->exited = 1;
	ce->wstatus = w->rstatus;
	if (ce->fd == -1)
		check_exec_finish(ce, 0);
}

/* check_exec_read_cb - output arrived; done at EOF if the child has exited */
static void
check_exec_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct check_exec *ce = w->data;

	if (check_exec_drain(ce) && ce->exited)
		check_exec_finish(ce, 0);
}

/*
 * check_exec_timer_cb - the timeout, or the deferred report of a start
 * failure. A timeout also ends the wait for a pipe that a grandchild still
 * holds after the check itself has exited, as Consul's Wait does.
 */
static void
check_exec_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check_exec *ce = w->data;

	if (ce->pid == 0) {
		check_exec_finish(ce, 0);
		return;
	}
	check_exec_kill(ce);
	/* Keep whatever the check wrote before it was killed. */
	if (ce->fd != -1)
		check_exec_drain(ce);
	check_exec_finish(ce, 1);
}

/* check_exec_start - spawn a script check and watch it; see check_exec.h */
struct check_exec *
check_exec_start(struct ev_loop *loop, char *const argv[], const char *script,
    int64_t timeout_ns, void (*cb)(void *, int, const char *), void *arg,
    char *err, size_t errlen)
{
	struct check_exec *ce;
	int rc;

	if (argv == NULL && script == NULL) {
		snprintf(err, errlen,
		    "script check has neither args nor script");
		return NULL;
	}
	if (argv != NULL && argv[0] == NULL) {
		snprintf(err, errlen, "script check has empty args");
		return NULL;
	}
	if (loop == NULL || !ev_is_default_loop(loop)) {
		snprintf(err, errlen,
		    "script checks need the default loop (ev_child)");
		return NULL;
	}
	if ((ce = calloc(1, sizeof(*ce))) == NULL)
		log_fatal("out of memory");
	ce->loop = loop;
	ce->cb = cb;
	ce->arg = arg;
	ce->fd = -1;
	ce->timeout_ns = timeout_ns > 0 ? timeout_ns :
	    CHECK_EXEC_DEFAULT_TIMEOUT;
	ev_init(&ce->child_w, check_exec_child_cb);
	ev_init(&ce->io_w, check_exec_read_cb);
	ev_init(&ce->timer_w, check_exec_timer_cb);
	ce->child_w.data = ce->io_w.data = ce->timer_w.data = ce;

	if ((rc = check_exec_spawn(ce, argv, script)) != 0) {
		check_exec_start_error(ce, argv != NULL ? argv[0] : "/bin/sh",
		    rc);
		/* Report from the loop: the caller is not ready for cb yet. */
		ev_timer_set(&ce->timer_w, 0., 0.);
		ev_timer_start(loop, &ce->timer_w);
		return ce;
	}
	/*
	 * Watch the pid before going back to the loop, so the exit cannot be
	 * missed. ev_now may be stale after a long callback; the timeout
	 * counts from now.
	 */
	ev_child_set(&ce->child_w, ce->pid, 0);
	ev_child_start(loop, &ce->child_w);
	ev_io_set(&ce->io_w, ce->fd, EV_READ);
	ev_io_start(loop, &ce->io_w);
	ev_now_update(loop);
	ev_timer_set(&ce->timer_w, (ev_tstamp)ce->timeout_ns / 1e9, 0.);
	ev_timer_start(loop, &ce->timer_w);
	return ce;
}

/* check_exec_cancel - kill the process group and free, without calling back */
void
check_exec_cancel(struct check_exec *ce)
{
	if (ce == NULL)
		return;
	/* The leader may be gone already while a grandchild holds the pipe. */
	if (ce->pid != 0)
		check_exec_kill(ce);
	check_exec_free(ce);
}
