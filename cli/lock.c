/*
 * lock.c - `cairn lock [options] PREFIX CHILD...`, Consul's command/lock
 * with the algorithms of its api/lock.go and api/semaphore.go: run the
 * child only while a lock (or one of -n slots) in the KV store is held.
 *
 * Both create a session of their own (TTL 15s, renewed every TTL/2,
 * Consul's default lock-delay). With -n 1 the key PREFIX/.lock is taken
 * with ?acquire and flags 0x2ddccbc058a50c18; while another session holds
 * it we wait with blocking reads, and after a refused acquire of a free
 * key (a lock-delay) we look again 5s later. With -n N > 1 each contender
 * holds PREFIX/<session> (flags 0xe0f69a2baa414de0, a session that
 * deletes its keys when it dies), and PREFIX/.lock holds
 * {"Limit":N,"Holders":{"<session>":true}}, changed with ?cas; a holder
 * whose session holds no key under the prefix any more is pruned.
 *
 * The child runs as `$SHELL -c "CHILD..."` (-shell=false: directly) with
 * CONSUL_LOCK_HELD=true, in a process group of its own. The lock is lost
 * when the key (the semaphore: our slot) is no longer ours or the
 * session's renewal answers 404; then, or on SIGINT, SIGTERM or SIGHUP,
 * the group gets SIGTERM and SIGKILL 5s later. Last the lock is released
 * and only then the session destroyed: a session destroyed while holding
 * the key would impose the lock-delay on the next holder. A .lock nobody
 * holds is removed.
 *
 * The .lock value's codec is lock_sem.c's.
 *
 * One thread: the signals we wait for are blocked and taken with
 * sigtimedwait(); each blocking query runs in a forked watcher process,
 * so the child's exit or a signal is seen at once while a query waits,
 * and the watcher is simply killed when it is no longer wanted.
 *
 * Leaves out: Windows' hard kill. Consul writes the -verbose lines to
 * stdout; they go to stderr here, out of the child's output.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "duration.h"
#include "json.h"
#include "log.h"

#define LOCK_FLAG_VALUE	0x2ddccbc058a50c18ULL	/* api.LockFlagValue */
#define LOCK_SEM_FLAG	0xe0f69a2baa414de0ULL	/* api.SemaphoreFlagValue */
#define LOCK_KEY	".lock"			/* api.DefaultSemaphoreKey */
#define LOCK_TTL	"15s"			/* api.DefaultLockSessionTTL */
#define LOCK_TTL_NS	(15 * DUR_S)
#define LOCK_WAIT	"15s"	/* a blocking read while acquiring */
#define LOCK_RETRY_NS	(5 * DUR_S)	/* after a refused acquire */
#define LOCK_GRACE_NS	(5 * DUR_S)	/* from SIGTERM to SIGKILL */
#define LOCK_MRETRY_NS	(1 * DUR_S)	/* between -monitor-retry reads */
#define LOCK_RENEW_NS	(1 * DUR_S)	/* after a renewal that failed */

static const char lock_help[] =
"Usage: cairn lock [options] prefix child...\n"
"\n"
"  Acquires a lock or semaphore at a given path, and invokes a child process\n"
"  when successful. The child process can assume the lock is held while it\n"
"  executes. If the lock is lost or communication is disrupted the child\n"
"  process will be sent a SIGTERM signal and given time to gracefully exit.\n"
"  After the grace period expires the process will be hard terminated.\n"
"\n"
"  When -n=1, only a single lock holder or leader exists providing mutual\n"
"  exclusion. Setting a higher value switches to a semaphore allowing\n"
"  multiple holders to coordinate.\n"
"\n"
"  The prefix provided must have write privileges.\n";

static const char *const lock_titles[] = { "HTTP API Options",
    "Command Options" };

/* What lock_wait waits for, besides its deadline. */
enum {
	LW_WATCHER = 1,		/* the watcher's query to end */
	LW_CHILD = 2,		/* the child to exit */
	LW_STOP = 4,		/* a stop signal, or the session lost */
};

/* One `cairn lock`: the lock, its session, and the processes. */
struct lock {
	struct http_client	 c;
	uint64_t		 limit;		/* -n */
	int			 verbose;
	const char		*prefix;	/* as given, less a leading / */
	char			*key;		/* prefix/.lock */
	char			*contender;	/* prefix/<session> */
	char			 session[128];
	int64_t			 renew_at;	/* monotonic ns; 0: none */
	int			 lost;		/* the lock, or the session */
	int			 stop;		/* the stop signal, or 0 */
	pid_t			 watcher;	/* the blocking query, or 0 */
	pid_t			 child;		/* running, or 0 */
	int			 child_status;	/* once reaped */
	int			 pgroup;	/* the child leads its group */
	sigset_t		 sigs, oldmask;
};


/* lock_now - the monotonic clock in ns */
static int64_t
lock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * DUR_S + ts.tv_nsec;
}

/* lock_info - a -verbose line */
static void __attribute__((format(printf, 2, 3)))
lock_info(const struct lock *l, const char *fmt, ...)
{
	va_list ap;

	if (!l->verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* lock_join - Go's path.Join(dir, name) for a clean dir: dir/name */
static char *
lock_join(const char *dir, const char *name)
{
	struct buf b;
	const char *p;

	buf_init(&b);
	for (p = dir; *p != '\0'; p++)
		if (*p != '/' || (buf_used(&b) > 0 &&
		    buf_head(&b)[buf_used(&b) - 1] != '/'))
			buf_putc(&b, *p);
	if (buf_used(&b) > 0 && buf_head(&b)[buf_used(&b) - 1] != '/')
		buf_putc(&b, '/');
	buf_puts(&b, name);
	return buf_cstr(&b);
}

/*
 * lock_read - GET key (recurse: all keys starting with it), consistent
 * or not: the entries (none for a 404) and X-Consul-Index. -1 with the
 * api's text; *retry then says whether Consul's api would call the error
 * retryable (no answer at all, or a 500).
 */
static int
lock_read(struct lock *l, const char *key, int recurse, int consistent,
    struct kv_entry **e, size_t *n, uint64_t *index, int *retry,
    char *err, size_t errlen)
{
	struct http_resp resp;
	struct buf path, q;
	int rc = -1;

	*e = NULL;
	*n = 0;
	*index = 0;
	*retry = 1;
	buf_init(&path);
	buf_init(&q);
	kv_key_path(&path, key);
	if (consistent)
		buf_puts(&q, "consistent=");
	if (recurse)
		buf_printf(&q, "%srecurse=", consistent ? "&" : "");
	if (http_do(&l->c, "GET", buf_cstr(&path), buf_cstr(&q), 1, NULL, 0,
	    &resp, err, errlen) < 0)
		goto out;
	*retry = resp.code == 500;
	if (resp.code != 200 && resp.code != 404)
		http_status_error(&resp, err, errlen);
	else if (resp.has_index && snapshot_index_parse(resp.index, index,
	    err, errlen) < 0)
		*retry = 0;
	else if (resp.code == 404)
		rc = 0;
	else if (kv_parse_entries((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), e, n, err, errlen) == 0)
		rc = 0;
	else
		*retry = 0;
out:
	buf_free(&resp.body);
	buf_free(&path);
	buf_free(&q);
	return rc;
}

/*
 * lock_write - a KV PUT or DELETE of key, answered true or false: *ok.
 * -1 with the api's text for no answer or another answer.
 */
static int
lock_write(struct lock *l, const char *method, const char *key,
    const char *query, const void *body, size_t len, int *ok, char *err,
    size_t errlen)
{
	struct http_resp resp;
	struct buf path;
	const char *s;
	size_t n;
	int rc = -1;

	*ok = 0;
	buf_init(&path);
	kv_key_path(&path, key);
	if (http_do(&l->c, method, buf_cstr(&path), query, 0,
	    body != NULL ? body : "", len, &resp, err, errlen) < 0)
		goto out;
	if (resp.code != 200) {
		http_status_error(&resp, err, errlen);
		goto out;
	}
	s = (const char *)buf_head(&resp.body);
	n = buf_used(&resp.body);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	*ok = n == 4 && memcmp(s, "true", 4) == 0;
	rc = 0;
out:
	buf_free(&resp.body);
	buf_free(&path);
	return rc;
}

/* lock_find - the entry called key, or NULL */
static const struct kv_entry *
lock_find(const struct kv_entry *e, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(e[i].key, key) == 0)
			return &e[i];
	return NULL;
}

/*
 * lock_sem_state - list the prefix and decode its .lock, pruned: the
 * lock's entry (NULL: none yet) and the index; -1 with why, *retry as
 * lock_read
 */
static int
lock_sem_state(struct lock *l, int consistent, struct kv_entry **e,
    size_t *n, const struct kv_entry **lk, struct lock_sem *s,
    uint64_t *index, int *retry, char *err, size_t errlen)
{
	char why[1200];

	memset(s, 0, sizeof(*s));
	if (lock_read(l, l->prefix, 1, consistent, e, n, index, retry, why,
	    sizeof(why)) < 0) {
		snprintf(err, errlen, "failed to read prefix: %s", why);
		return -1;
	}
	*retry = 0;
	*lk = lock_find(*e, *n, l->key);
	if (*lk != NULL && (*lk)->flags != LOCK_SEM_FLAG) {
		snprintf(err, errlen, "Existing key does not match semaphore "
		    "use");
		goto fail;
	}
	if (lock_sem_decode(*lk, l->limit, s, err, errlen) < 0)
		goto fail;
	lock_sem_prune(s, *e, *n);
	return 0;
fail:
	kv_entries_free(*e, *n);
	*e = NULL;
	*n = 0;
	return -1;
}

/* lock_renew - renew the session; 404: it is gone, the lock with it */
static void
lock_renew(struct lock *l)
{
	struct http_resp resp;
	struct buf path;
	char err[512];

	buf_init(&path);
	buf_puts(&path, "/v1/session/renew/");
	http_escape_path(&path, l->session);
	/* api's RenewPeriodic tries again on errors, until the TTL is up */
	l->renew_at = lock_now() + LOCK_RENEW_NS;
	if (http_do(&l->c, "PUT", buf_cstr(&path), "", 0, NULL, 0, &resp, err,
	    sizeof(err)) < 0)
		lock_info(l, "Session renewal failed: %s", err);
	else if (resp.code == 404) {
		lock_info(l, "Session %s is gone", l->session);
		l->lost = 1;
		l->renew_at = 0;
	} else if (resp.code == 200)
		l->renew_at = lock_now() + LOCK_TTL_NS / 2;
	buf_free(&resp.body);
	buf_free(&path);
}

/* lock_reap - note a watcher or child that has exited */
static void
lock_reap(struct lock *l)
{
	int st;

	if (l->watcher > 0 && waitpid(l->watcher, &st, WNOHANG) == l->watcher)
		l->watcher = 0;
	if (l->child > 0 && waitpid(l->child, &st, WNOHANG) == l->child) {
		l->child_status = st;
		l->child = 0;
	}
}

/*
 * lock_wait - sleep until what asks for has happened or until (monotonic
 * ns; 0: no limit), renewing the session on the way. Signals are blocked
 * all along, so one that comes between a check and the wait is pending
 * and ends the wait at once.
 */
static void
lock_wait(struct lock *l, int what, int64_t until)
{
	struct timespec ts;
	siginfo_t si;
	int64_t now, next;
	int sig;

	for (;;) {
		lock_reap(l);
		if (l->renew_at != 0 && lock_now() >= l->renew_at)
			lock_renew(l);
		if ((what & LW_STOP) && (l->stop || l->lost))
			return;
		if (((what & LW_WATCHER) && l->watcher == 0) ||
		    ((what & LW_CHILD) && l->child == 0))
			return;
		now = lock_now();
		if (until != 0 && now >= until)
			return;
		next = until;
		if (l->renew_at != 0 && (next == 0 || l->renew_at < next))
			next = l->renew_at;
		next = next == 0 ? 3600 * DUR_S : next - now;
		if (next < DUR_MS)
			next = DUR_MS;
		ts.tv_sec = next / DUR_S;
		ts.tv_nsec = next % DUR_S;
		sig = sigtimedwait(&l->sigs, &si, &ts);
		if ((sig == SIGINT || sig == SIGTERM || sig == SIGHUP) &&
		    l->stop == 0)
			l->stop = sig;
	}
}

/*
 * lock_watch - start a watcher: a process making one blocking read of
 * key (recurse: the keys under it) from index, which exits when the
 * agent answers. wait NULL is the agent's default wait.
 */
static void
lock_watch(struct lock *l, const char *key, int recurse, uint64_t index,
    const char *wait)
{
	struct http_resp resp;
	struct buf path, q;
	char err[512];
	pid_t pid;

	buf_init(&path);
	buf_init(&q);
	kv_key_path(&path, key);
	buf_printf(&q, "%sindex=%" PRIu64, recurse ? "recurse=&" : "",
	    index);
	if (wait != NULL)
		buf_printf(&q, "&wait=%s", wait);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
		(void)http_do(&l->c, "GET", buf_cstr(&path), buf_cstr(&q), 1,
		    NULL, 0, &resp, err, sizeof(err));
		_exit(0);
	}
	if (pid < 0) {
		/* Make the query here: slower to see a signal, not wrong. */
		lock_info(l, "fork: %s", strerror(errno));
		(void)http_do(&l->c, "GET", buf_cstr(&path), buf_cstr(&q), 1,
		    NULL, 0, &resp, err, sizeof(err));
		buf_free(&resp.body);
		pid = 0;
	}
	l->watcher = pid;
	buf_free(&path);
	buf_free(&q);
}

/* lock_unwatch - end the watcher if it still waits */
static void
lock_unwatch(struct lock *l)
{
	if (l->watcher <= 0)
		return;
	kill(l->watcher, SIGKILL);
	while (waitpid(l->watcher, NULL, 0) < 0 && errno == EINTR)
		;
	l->watcher = 0;
}

/*
 * lock_block - wait for key (recurse: the prefix) to change from index,
 * for a stop, or until
 */
static void
lock_block(struct lock *l, const char *key, int recurse, uint64_t index,
    int64_t until)
{
	lock_watch(l, key, recurse, index, LOCK_WAIT);
	lock_wait(l, LW_WATCHER | LW_STOP, until);
	lock_unwatch(l);
}

/* lock_session_create - our session: TTL 15s, Consul's lock-delay */
static int
lock_session_create(struct lock *l, const char *name, int sem, char *err,
    size_t errlen)
{
	struct http_resp resp;
	struct buf body;
	struct json j;
	const char *id;
	yajl_val root;
	int bad = 0, rc = -1;

	buf_init(&body);
	json_init(&j, &body, 0);
	json_obj_open(&j);
	/* api/semaphore.go: a dead contender's key goes with it */
	if (sem) {
		json_key(&j, "Behavior");
		json_str(&j, "delete");
	}
	json_key(&j, "Name");
	json_str(&j, name);
	json_key(&j, "TTL");
	json_str(&j, LOCK_TTL);
	json_obj_close(&j);
	if (http_do(&l->c, "PUT", "/v1/session/create", "", 0,
	    buf_head(&body), buf_used(&body), &resp, err, errlen) < 0)
		goto out;
	if (resp.code != 200)
		http_status_error(&resp, err, errlen);
	else if ((root = cli_json_parse((const char *)buf_head(&resp.body),
	    buf_used(&resp.body), err, errlen)) != NULL) {
		id = cli_json_str(root, "ID", &bad);
		if (id == NULL || bad || *id == '\0' ||
		    strlen(id) >= sizeof(l->session))
			snprintf(err, errlen, "unexpected response: no "
			    "session ID");
		else {
			snprintf(l->session, sizeof(l->session), "%s", id);
			l->renew_at = lock_now() + LOCK_TTL_NS / 2;
			rc = 0;
		}
		yajl_tree_free(root);
	}
out:
	buf_free(&resp.body);
	buf_free(&body);
	return rc;
}

/* lock_session_destroy - destroy the session (errors ignored, as api) */
static void
lock_session_destroy(struct lock *l)
{
	struct http_resp resp;
	struct buf path;
	char err[512];

	if (l->session[0] == '\0')
		return;
	buf_init(&path);
	buf_puts(&path, "/v1/session/destroy/");
	http_escape_path(&path, l->session);
	if (http_do(&l->c, "PUT", buf_cstr(&path), "", 0, NULL, 0, &resp, err,
	    sizeof(err)) < 0)
		lock_info(l, "Session destroy failed: %s", err);
	buf_free(&resp.body);
	buf_free(&path);
	l->session[0] = '\0';
	l->renew_at = 0;
}

/* lock_query - "<name>=<session>" after a prefix of other parameters */
static void
lock_query(struct buf *q, const char *before, const char *name,
    const char *session)
{
	buf_printf(q, "%s%s=", before, name);
	http_escape_query(q, session);
}

/*
 * lock_acquire_mutex - api's Lock.Lock: 0 once held, 1 on a stop or at
 * the deadline (monotonic ns; 0 none), -1 with why
 */
static int
lock_acquire_mutex(struct lock *l, int64_t deadline, char *err,
    size_t errlen)
{
	struct kv_entry *e;
	struct buf q;
	uint64_t index;
	size_t n;
	int64_t until;
	char why[1200];
	int attempts, retry, ok, rc;

	buf_init(&q);
	buf_printf(&q, "flags=%llu", (unsigned long long)LOCK_FLAG_VALUE);
	lock_query(&q, "&", "acquire", l->session);
	for (attempts = 0;; attempts++) {
		rc = 1;
		if (l->stop)
			break;
		/* One attempt is always made, as api's LockTryOnce. */
		if (deadline != 0 && attempts > 0 && lock_now() >= deadline)
			break;
		rc = -1;
		if (l->lost) {
			snprintf(err, errlen, "session %s was invalidated",
			    l->session);
			break;
		}
		if (lock_read(l, l->key, 0, 0, &e, &n, &index, &retry, why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "failed to read lock: %s", why);
			break;
		}
		if (n > 0 && e->flags != LOCK_FLAG_VALUE) {
			kv_entries_free(e, n);
			snprintf(err, errlen, "Existing key does not match "
			    "lock use");
			break;
		}
		rc = 0;
		if (n > 0 && strcmp(e->session, l->session) == 0) {
			kv_entries_free(e, n);
			break;
		}
		if (n > 0 && e->session[0] != '\0') {
			kv_entries_free(e, n);
			lock_block(l, l->key, 0, index, deadline);
			continue;
		}
		kv_entries_free(e, n);
		if ((rc = lock_write(l, "PUT", l->key, buf_cstr(&q), NULL, 0,
		    &ok, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "failed to acquire lock: %s",
			    why);
			break;
		}
		if (ok)
			break;
		/*
		 * Refused. Held by someone after all: wait for a change.
		 * Free: a lock-delay is in force; look again in 5s.
		 */
		if ((rc = lock_read(l, l->key, 0, 0, &e, &n, &index, &retry,
		    why, sizeof(why))) < 0) {
			snprintf(err, errlen, "failed to read lock: %s", why);
			break;
		}
		if (n > 0 && e->session[0] != '\0')
			lock_block(l, l->key, 0, index, deadline);
		else {
			until = lock_now() + LOCK_RETRY_NS;
			if (deadline != 0 && deadline < until)
				until = deadline;
			lock_wait(l, LW_STOP, until);
		}
		kv_entries_free(e, n);
	}
	buf_free(&q);
	return rc;
}

/*
 * lock_acquire_sem - api's Semaphore.Acquire: our contender key, then a
 * slot in .lock; returns as lock_acquire_mutex
 */
static int
lock_acquire_sem(struct lock *l, int64_t deadline, char *err,
    size_t errlen)
{
	struct kv_entry *e;
	const struct kv_entry *lk;
	struct lock_sem s;
	struct buf q, val;
	uint64_t index;
	size_t n;
	char why[1200];
	int attempts = 0, retry, ok, rc;

	buf_init(&q);
	buf_printf(&q, "flags=%llu", (unsigned long long)LOCK_SEM_FLAG);
	lock_query(&q, "&", "acquire", l->session);
	rc = lock_write(l, "PUT", l->contender, buf_cstr(&q), NULL, 0, &ok,
	    why, sizeof(why));
	buf_free(&q);
	if (rc < 0 || !ok) {
		snprintf(err, errlen, "failed to make contender entry: %s",
		    rc < 0 ? why : "acquire refused");
		return -1;
	}
	buf_init(&val);
	for (;; attempts++) {
		rc = 1;
		if (l->stop)
			break;
		if (deadline != 0 && attempts > 0 && lock_now() >= deadline)
			break;
		rc = -1;
		if (l->lost) {
			snprintf(err, errlen, "session %s was invalidated",
			    l->session);
			break;
		}
		if (lock_sem_state(l, 0, &e, &n, &lk, &s, &index, &retry, err,
		    errlen) < 0)
			break;
		if (s.limit != l->limit) {
			snprintf(err, errlen, "semaphore limit conflict (lock: "
			    "%" PRIu64 ", local: %" PRIu64 ")", s.limit,
			    l->limit);
			lock_sem_free(&s);
			kv_entries_free(e, n);
			break;
		}
		if (s.n >= s.limit) {
			lock_sem_free(&s);
			kv_entries_free(e, n);
			lock_block(l, l->prefix, 1, index, deadline);
			continue;
		}
		lock_sem_add(&s, l->session);
		buf_reset(&val);
		lock_sem_encode(&s, &val);
		buf_init(&q);
		buf_printf(&q, "cas=%" PRIu64 "&flags=%llu",
		    lk != NULL ? lk->modify_index : 0,
		    (unsigned long long)LOCK_SEM_FLAG);
		rc = lock_write(l, "PUT", l->key, buf_cstr(&q),
		    buf_head(&val), buf_used(&val), &ok, why, sizeof(why));
		buf_free(&q);
		lock_sem_free(&s);
		kv_entries_free(e, n);
		if (rc < 0) {
			snprintf(err, errlen, "failed to update lock: %s",
			    why);
			break;
		}
		/* A lost race with another contender: read again. */
		if (ok)
			break;
	}
	buf_free(&val);
	return rc;
}

/*
 * lock_held - a consistent read: 1 while the lock (our slot) is ours, 0
 * when it is not, -1 with why (*retry as lock_read); the index to block
 * on next
 */
static int
lock_held(struct lock *l, uint64_t *index, int *retry, char *err,
    size_t errlen)
{
	struct kv_entry *e;
	const struct kv_entry *lk;
	struct lock_sem s;
	size_t n;
	int held;

	if (l->limit == 1) {
		if (lock_read(l, l->key, 0, 1, &e, &n, index, retry, err,
		    errlen) < 0)
			return -1;
		held = n > 0 && strcmp(e->session, l->session) == 0;
		kv_entries_free(e, n);
		return held;
	}
	if (lock_sem_state(l, 1, &e, &n, &lk, &s, index, retry, err,
	    errlen) < 0)
		return *retry ? -1 : 0;
	held = lock_sem_index(&s, l->session) >= 0;
	lock_sem_free(&s);
	kv_entries_free(e, n);
	return held;
}

/* lock_status_text - Go's ExitError text: "exit status 2", "signal: ..." */
static void
lock_status_text(int status, char *out, size_t n)
{
	if (WIFEXITED(status))
		snprintf(out, n, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status)) {
		snprintf(out, n, "signal: %s", strsignal(WTERMSIG(status)));
		/* Go's names are lower case: "signal: terminated" */
		if (n > 8 && out[8] >= 'A' && out[8] <= 'Z')
			out[8] = (char)(out[8] - 'A' + 'a');
	} else
		snprintf(out, n, "wait status %d", status);
}

/* How to run the child. */
struct lock_child {
	char	**argv;
	int	  shell;
	int	  pass_stdin;
	char	 *script;	/* argv joined by spaces, for the shell */
};

/*
 * lock_start - start the child in its own process group (unless it is
 * to read a terminal, which only the foreground group may); -1 after
 * Consul's message when it cannot be started
 */
static int
lock_start(struct lock *l, const struct lock_child *ch)
{
	const char *sh;
	char why[256];
	int errp[2], e = 0, fd;
	pid_t pid;

	if ((sh = getenv("SHELL")) == NULL || *sh == '\0')
		sh = "/bin/sh";
	l->pgroup = !(ch->pass_stdin && isatty(0));
	if (pipe2(errp, O_CLOEXEC) < 0) {
		fprintf(stderr, "Error starting handler: pipe: %s\n",
		    strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "Error starting handler: fork: %s\n",
		    strerror(errno));
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	if (pid == 0) {
		if (l->pgroup)
			setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
		/* Go's exec gives a nil Stdin /dev/null. */
		fd = ch->pass_stdin ? -1 : open("/dev/null", O_RDONLY);
		if (fd > 0) {
			dup2(fd, 0);
			close(fd);
		}
		setenv("CONSUL_LOCK_HELD", "true", 1);
		if (ch->shell)
			execl(sh, sh, "-c", ch->script, (char *)NULL);
		else
			execvp(ch->argv[0], ch->argv);
		/* errp closes on a successful exec: the parent reads 0. */
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	/* Both sides set the group, so signals reach it either way. */
	if (l->pgroup)
		setpgid(pid, pid);
	close(errp[1]);
	while (read(errp[0], &e, sizeof(e)) < 0 && errno == EINTR)
		;
	close(errp[0]);
	if (e != 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		/* Go's words are lower case */
		snprintf(why, sizeof(why), "%s", strerror(e));
		why[0] = (char)tolower((unsigned char)why[0]);
		fprintf(stderr, "Error starting handler: fork/exec %s: %s\n",
		    ch->shell ? sh : ch->argv[0], why);
		return -1;
	}
	l->child = pid;
	return 0;
}

/* lock_signal_child - sig to the child's group (or the child) */
static int
lock_signal_child(struct lock *l, int sig)
{
	return kill(l->pgroup ? -l->child : l->child, sig);
}

/*
 * lock_kill - Consul's killChild: SIGTERM, and SIGKILL if the child has
 * not exited within the grace period
 */
static void
lock_kill(struct lock *l)
{
	int st;

	lock_info(l, "Terminating child pid %d", (int)l->child);
	if (lock_signal_child(l, SIGTERM) < 0) {
		fprintf(stderr, "Failed to terminate %d: %s\n", (int)l->child,
		    strerror(errno));
		return;
	}
	lock_wait(l, LW_CHILD, lock_now() + LOCK_GRACE_NS);
	if (l->child == 0) {
		lock_info(l, "Child terminated");
		return;
	}
	lock_info(l, "Child did not exit after grace period of 5s");
	lock_info(l, "Killing child pid %d", (int)l->child);
	if (lock_signal_child(l, SIGKILL) < 0)
		fprintf(stderr, "Failed to kill %d: %s\n", (int)l->child,
		    strerror(errno));
	while (waitpid(l->child, &st, 0) < 0 && errno == EINTR)
		;
	l->child_status = st;
	l->child = 0;
}

/*
 * lock_monitor - while the child runs: watch that the lock stays ours
 * (api's monitorLock, -monitor-retry reads after errors Consul's api
 * calls retryable). Returns when the child has exited, a stop signal
 * came, or the lock is lost (l->lost).
 */
static void
lock_monitor(struct lock *l, uint64_t retries_max)
{
	uint64_t index = 0, retries = retries_max;
	char err[1200];
	int r, retry;

	while (l->child != 0 && !l->stop && !l->lost) {
		r = lock_held(l, &index, &retry, err, sizeof(err));
		if (r < 0 && retry && retries > 0) {
			lock_info(l, "Lock monitor read failed, retrying: %s",
			    err);
			retries--;
			lock_wait(l, LW_CHILD | LW_STOP,
			    lock_now() + LOCK_MRETRY_NS);
			continue;
		}
		if (r <= 0) {
			if (r < 0)
				lock_info(l, "Lock monitor failed: %s", err);
			l->lost = 1;
			break;
		}
		retries = retries_max;
		/* No wait given: the agent's default, as api's monitor. */
		lock_watch(l, l->limit == 1 ? l->key : l->prefix,
		    l->limit != 1, index, NULL);
		lock_wait(l, LW_WATCHER | LW_CHILD | LW_STOP, 0);
		lock_unwatch(l);
	}
}

/*
 * lock_release_sem - api's Semaphore.Release: out of the holders (a CAS
 * loop), then our contender key deleted
 */
static int
lock_release_sem(struct lock *l, char *err, size_t errlen)
{
	struct kv_entry *e;
	struct lock_sem s;
	struct buf q, val;
	uint64_t index;
	ssize_t i;
	size_t n;
	char why[1200];
	int retry, ok, rc;

	for (;;) {
		if (lock_read(l, l->key, 0, 0, &e, &n, &index, &retry, err,
		    errlen) < 0)
			return -1;
		if (lock_sem_decode(n > 0 ? e : NULL, l->limit, &s, err,
		    errlen) < 0) {
			kv_entries_free(e, n);
			return -1;
		}
		if ((i = lock_sem_index(&s, l->session)) < 0) {
			lock_sem_free(&s);
			kv_entries_free(e, n);
			break;
		}
		lock_sem_remove(&s, (size_t)i);
		buf_init(&val);
		buf_init(&q);
		lock_sem_encode(&s, &val);
		buf_printf(&q, "cas=%" PRIu64 "&flags=%llu",
		    n > 0 ? e->modify_index : 0,
		    (unsigned long long)LOCK_SEM_FLAG);
		rc = lock_write(l, "PUT", l->key, buf_cstr(&q), buf_head(&val),
		    buf_used(&val), &ok, why, sizeof(why));
		buf_free(&val);
		buf_free(&q);
		lock_sem_free(&s);
		kv_entries_free(e, n);
		if (rc < 0) {
			snprintf(err, errlen, "failed to update lock: %s",
			    why);
			return -1;
		}
		if (ok)
			break;
	}
	/* A plain delete: what our session holds goes with it. */
	return lock_write(l, "DELETE", l->contender, "", NULL, 0, &ok, err,
	    errlen);
}

/* lock_release - give the lock (our slot) back; -1 with why */
static int
lock_release(struct lock *l, char *err, size_t errlen)
{
	struct buf q;
	char why[1200];
	int ok, rc;

	if (l->limit != 1)
		return lock_release_sem(l, err, errlen);
	/* api's Release writes the entry: keep the flags ours. */
	buf_init(&q);
	buf_printf(&q, "flags=%llu", (unsigned long long)LOCK_FLAG_VALUE);
	lock_query(&q, "&", "release", l->session);
	if ((rc = lock_write(l, "PUT", l->key, buf_cstr(&q), NULL, 0, &ok, why,
	    sizeof(why))) < 0)
		snprintf(err, errlen, "failed to release lock: %s", why);
	buf_free(&q);
	return rc;
}

/*
 * lock_cleanup - api's Destroy: remove .lock if nobody holds it. 0 when
 * removed (or absent), 1 while in use, -1 with why.
 */
static int
lock_cleanup(struct lock *l, char *err, size_t errlen)
{
	struct kv_entry *e;
	const struct kv_entry *lk;
	struct lock_sem s;
	struct buf q;
	uint64_t index, mi;
	size_t n;
	char why[1200];
	int retry, ok, rc, busy;

	if (l->limit == 1) {
		if (lock_read(l, l->key, 0, 0, &e, &n, &index, &retry, why,
		    sizeof(why)) < 0) {
			snprintf(err, errlen, "failed to read lock: %s", why);
			return -1;
		}
		if (n == 0)
			return 0;
		rc = e->flags != LOCK_FLAG_VALUE ? -1 : 0;
		busy = e->session[0] != '\0';
		mi = e->modify_index;
		kv_entries_free(e, n);
		if (rc < 0) {
			snprintf(err, errlen, "Existing key does not match "
			    "lock use");
			return -1;
		}
	} else {
		if (lock_sem_state(l, 0, &e, &n, &lk, &s, &index, &retry, err,
		    errlen) < 0)
			return -1;
		busy = s.n > 0;
		mi = lk != NULL ? lk->modify_index : 0;
		lock_sem_free(&s);
		kv_entries_free(e, n);
		if (lk == NULL)
			return 0;
	}
	if (busy)
		return 1;
	buf_init(&q);
	buf_printf(&q, "cas=%" PRIu64, mi);
	rc = lock_write(l, "DELETE", l->key, buf_cstr(&q), NULL, 0, &ok, why,
	    sizeof(why));
	buf_free(&q);
	if (rc < 0) {
		snprintf(err, errlen, "failed to remove %s: %s",
		    l->limit == 1 ? "lock" : "semaphore", why);
		return -1;
	}
	return ok ? 0 : 1;
}

/* lock_usage - the help, on stdout when asked for, else stderr */
static int
lock_usage(const struct cli_flag *const *tabs, int asked)
{
	return cli_help(lock_help, tabs, lock_titles, asked);
}

/* lock_agent_up - Consul asks the agent's name first; 0 if it answers */
static int
lock_agent_up(struct lock *l)
{
	struct http_resp resp;
	char err[1200];
	int rc;

	rc = http_do(&l->c, "GET", "/v1/agent/self", "", 0, NULL, 0, &resp,
	    err, sizeof(err));
	if (rc == 0 && resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		rc = -1;
	}
	buf_free(&resp.body);
	if (rc < 0)
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
	return rc;
}

/*
 * lock_run - acquire, run the child while held, release: the exit code.
 * The signals are blocked by now.
 */
static int
lock_run(struct lock *l, const char *name, int64_t timeout,
    const struct lock_child *ch, uint64_t monitor_retry, int child_code)
{
	char err[1500], why[64];
	int64_t deadline;
	int r, code = 0;

	if (lock_session_create(l, name, l->limit != 1, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Lock acquisition failed: failed to create "
		    "session: %s\n", err);
		return 1;
	}
	l->contender = lock_join(l->prefix, l->session);
	deadline = timeout > 0 ? lock_now() + timeout : 0;
	r = l->limit == 1 ? lock_acquire_mutex(l, deadline, err, sizeof(err)) :
	    lock_acquire_sem(l, deadline, err, sizeof(err));
	if (r != 0) {
		/* Not held: our contender key and session go. */
		if (l->limit != 1)
			(void)lock_write(l, "DELETE", l->contender, "", NULL, 0,
			    &(int){ 0 }, why, sizeof(why));
		lock_session_destroy(l);
		if (r > 0)
			fprintf(stderr, "Shutdown triggered or timeout during "
			    "lock acquisition\n");
		else
			fprintf(stderr, "Lock acquisition failed: %s\n", err);
		return 1;
	}
	lock_info(l, "Lock acquired");
	if (l->stop)
		fprintf(stderr, "Shutdown triggered during lock acquisition\n");
	else {
		lock_info(l, "Starting handler");
		if (lock_start(l, ch) < 0)
			code = 2;
	}
	if (l->child != 0) {
		lock_monitor(l, monitor_retry);
		if (l->child == 0)
			lock_info(l, "Child terminated, releasing lock");
		else {
			if (l->stop)
				lock_info(l, "Shutdown triggered, killing "
				    "child");
			else
				fprintf(stderr, "Lock lost, killing child\n");
			lock_kill(l);
		}
		if (l->child_status != 0) {
			lock_status_text(l->child_status, why, sizeof(why));
			fprintf(stderr, "Error running handler: %s\n", why);
		}
		/* Consul's exit 2 is for a child that failed on its own. */
		if (l->child_status != 0 && !l->stop && !l->lost)
			code = 2;
	}
	/* Released before the session goes: no lock-delay for others. */
	r = lock_release(l, err, sizeof(err));
	lock_session_destroy(l);
	if (r < 0) {
		fprintf(stderr, "Lock release failed: %s\n", err);
		return 1;
	}
	if ((r = lock_cleanup(l, err, sizeof(err))) < 0) {
		fprintf(stderr, "Lock cleanup failed: %s\n", err);
		return 1;
	}
	lock_info(l, r > 0 ? "Cleanup aborted, lock in use" :
	    "Cleanup succeeded");
	return child_code ? code : 0;
}

/* lock_main - the command */
int
lock_main(int argc, char **argv)
{
	struct http_flags hf;
	struct lock l;
	struct lock_child ch;
	struct buf script, name;
	const char *timeout_s = "0", *name_s = "";
	uint64_t monitor_retry = 3;
	int64_t timeout;
	char err[1200];
	int r, i, nargs, child_code = 0, rc;

	memset(&l, 0, sizeof(l));
	memset(&ch, 0, sizeof(ch));
	l.limit = 1;
	ch.shell = 1;
	http_flags_init(&hf, 1);
	/* Sorted by name, as Go's flag package prints them. */
	const struct cli_flag cmd[] = {
		{ "child-exit-code", CLI_BOOL, &child_code, NULL, "Exit 2 if "
		    "the child process exited with an error if this is true, "
		    "otherwise this doesn't propagate an error from the "
		    "child. The default value is false." },
		{ "monitor-retry", CLI_U64, &monitor_retry, "int", "Number of "
		    "times to retry if Consul returns a 500 error while "
		    "monitoring the lock. This allows riding out brief "
		    "periods of unavailability without causing leader "
		    "elections, but increases the amount of time required to "
		    "detect a lost lock in some cases. The default value is "
		    "3, with a 1s wait between retries. Set this value to 0 "
		    "to disable retires." },
		{ "n", CLI_U64, &l.limit, "int", "Optional limit on the number "
		    "of concurrent lock holders. The underlying "
		    "implementation switches from a lock to a semaphore when "
		    "the value is greater than 1. The default value is 1." },
		{ "name", CLI_STR, &name_s, "string", "Optional name to "
		    "associate with the lock session. It not provided, one "
		    "is generated based on the provided child command." },
		{ "pass-stdin", CLI_BOOL, &ch.pass_stdin, NULL, "Pass stdin "
		    "to the child process." },
		{ "shell", CLI_BOOL, &ch.shell, NULL, "Use a shell to run the "
		    "command (can set a custom shell via the SHELL "
		    "environment variable)." },
		{ "timeout", CLI_STR, &timeout_s, "duration", "Maximum amount "
		    "of time to wait to acquire the lock, specified as a "
		    "duration like \"1s\" or \"3h\". The default value is "
		    "0." },
		{ "try", CLI_STR, &timeout_s, "duration", "DEPRECATED. Use "
		    "-timeout instead." },
		{ "verbose", CLI_BOOL, &l.verbose, NULL, "Enable verbose "
		    "(debugging) output." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2)
		return lock_usage(tabs, 1);
	if (r >= 0 && duration_parse(timeout_s, &timeout) < 0) {
		snprintf(err, sizeof(err), "invalid value \"%s\" for flag "
		    "-timeout: parse error", timeout_s);
		r = -1;
	}
	if (r < 0) {
		fprintf(stderr, "%s\n", err);
		return lock_usage(tabs, 0);
	}
	/* In Consul's order. */
	if (l.limit == 0) {
		fprintf(stderr, "Lock holder limit must be positive\n");
		return 1;
	}
	nargs = argc - 1 - r;
	if (nargs < 2) {
		fprintf(stderr, "Key prefix and child command must be "
		    "specified\n");
		return 1;
	}
	l.prefix = argv[1 + r];
	while (*l.prefix == '/')
		l.prefix++;
	if (timeout < 0) {
		fprintf(stderr, "Timeout must be positive\n");
		return 1;
	}
	ch.argv = argv + 2 + r;
	buf_init(&script);
	for (i = 0; i < nargs - 1; i++)
		buf_printf(&script, "%s%s", i ? " " : "", ch.argv[i]);
	ch.script = buf_cstr(&script);
	buf_init(&name);
	if (*name_s != '\0')
		buf_puts(&name, name_s);
	else
		buf_printf(&name, "Consul lock for '%s' at '%s'", ch.script,
		    l.prefix);
	rc = 1;
	if (http_client_init(&l.c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto out;
	}
	l.c.stale = 0;	/* a lock is read consistently; Consul's ignores it */
	if (lock_agent_up(&l) < 0)
		goto out;
	if (l.limit != 1 && *l.prefix == '\0') {
		fprintf(stderr, "Lock setup failed: missing prefix\n");
		goto out;
	}
	l.key = lock_join(l.prefix, LOCK_KEY);
	if (l.limit == 1)
		lock_info(&l, "Setting up lock at path: %s", l.key);
	else
		lock_info(&l, "Setting up semaphore (limit %" PRIu64 ") at "
		    "prefix: %s", l.limit, l.prefix);
	/*
	 * From here the stop signals and SIGCHLD are taken by lock_wait
	 * only; a SIGCHLD some parent left ignored would make waitpid
	 * lose our children.
	 */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&l.sigs);
	sigaddset(&l.sigs, SIGCHLD);
	sigaddset(&l.sigs, SIGINT);
	sigaddset(&l.sigs, SIGTERM);
	sigaddset(&l.sigs, SIGHUP);
	sigprocmask(SIG_BLOCK, &l.sigs, &l.oldmask);
	lock_info(&l, "Attempting lock acquisition");
	/*
	 * The signals stay blocked: one that came during the cleanup would
	 * kill us now, with its status instead of our exit code.
	 */
	rc = lock_run(&l, buf_cstr(&name), timeout, &ch, monitor_retry,
	    child_code);
out:
	free(l.key);
	free(l.contender);
	buf_free(&script);
	buf_free(&name);
	return rc;
}
