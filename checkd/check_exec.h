/*
 * check_exec - run one script check as a child process on the libev
 * default loop, the way Consul's CheckMonitor does: `args` are run
 * directly (found in $PATH as execvp does), a legacy `script` string
 * through /bin/sh -c. Exit 0 is passing, exit 1 warning; any other code,
 * death by a signal or a failure to start is critical. stdout and stderr
 * share one pipe; the last CHECK_EXEC_OUTPUT_MAX bytes are kept (Consul's
 * circbuf) and a longer output is prefixed "Captured 4096 of N
 * bytes\n...\n". The child runs in its own process group with stdin on
 * /dev/null and no other inherited descriptors; on timeout the whole
 * group gets SIGKILL and the output is "Timed out (30s) running check",
 * then "\n\n" and what the check printed, if anything.
 *
 * Scheduling, intervals, the catalog and the other check types belong to
 * the rest of checkd. Only the default loop works (ev_child needs it).
 */
#ifndef CAIRN_CHECK_EXEC_H
#define CAIRN_CHECK_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "duration.h"

enum check_status {
	CHECK_PASSING,
	CHECK_WARNING,
	CHECK_CRITICAL
};

/* Consul's default check_output_max_size, and its timeout. */
#define CHECK_EXEC_OUTPUT_MAX		4096
#define CHECK_EXEC_DEFAULT_TIMEOUT	(30 * DUR_S)

struct check_exec;

/*
 * check_exec_start - run argv (if non-NULL) or else script; timeout_ns <= 0
 * means Consul's 30s. cb(arg, status, output) runs exactly once, from the
 * loop (never from inside this call), after the child has exited and its
 * pipe has reached EOF, or after a timeout killed its process group.
 * status is an enum check_status; output is NUL-terminated and valid only
 * during the call. The handle is freed before cb runs, so cb may start
 * the next run at once. A command that cannot be started (not found, out
 * of descriptors) is reported through cb as critical, as Consul does.
 * NULL with err set only for a caller's mistake: neither argv nor script,
 * an empty argv, or a loop other than the default loop.
 */
struct check_exec *check_exec_start(struct ev_loop *, char *const argv[],
	    const char *script, int64_t timeout_ns,
	    void (*cb)(void *arg, int status, const char *output), void *arg,
	    char *err, size_t errlen);

/*
 * check_exec_spawn_piped - start path (found in $PATH when search is
 * set) with argv in a process group of its own, stdin on /dev/null,
 * stdout and stderr on one pipe whose read end, non-blocking, is *fd, no
 * other descriptor inherited, signals at their defaults; 0, or an errno
 * value. For remote exec (rexec.c) as for script checks.
 */
int	check_exec_spawn_piped(const char *path, char *const argv[],
	    int search, pid_t *pid, int *fd);

/* check_exec_cancel - kill the process group and free, without calling back */
void	check_exec_cancel(struct check_exec *);

#endif
