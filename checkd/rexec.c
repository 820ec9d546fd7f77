/*
 * rexec.c - remote exec, the agent's side (Consul's agent/remote_exec.go):
 * run the jobs `cairn exec` hands out, when the config says
 * "disable_remote_exec": false (Consul's default, and ours, is true:
 * then this module is never started).
 *
 * Jobs arrive as user events named "_rexec". gossipd keeps the events
 * that pass their node, service and tag filters for this agent (it
 * matches them as Consul's shouldProcessUserEvent does, with checkd's
 * services), so every event we see is for us; we follow them with
 * blocking MSG_GOSSIP_EVENT_LIST calls for that name. The events gossipd
 * held when we started are taken as done, never run again. For each new
 * one, in the order of remoteExecHandle:
 *	- the payload {"Prefix":..,"Session":..} names the job's tree;
 *	- the spec {"Command","Args","Script","Wait"} is read from
 *	  <prefix>/<session>/job, first from the kvd we read from anyway
 *	  (a stale read), then, if missing, with a consistent one;
 *	- <prefix>/<session>/<node>/ack is written;
 *	- the command runs: Command through /bin/sh -c, Args directly, a
 *	  Script spilled to a temporary file (mode 0750) run through
 *	  /bin/sh -c; in its own process group, stdin on /dev/null, stdout
 *	  and stderr into one pipe (check_exec.c's way of starting a child);
 *	- its output goes to <node>/out/00000, 00001, ... in chunks of at
 *	  most 4 KiB, a partial one 500 ms after the output last grew; with
 *	  no write for the spec's Wait, an empty chunk is a heartbeat (which
 *	  keeps `cairn exec` waiting). At most 16 chunks wait to be written;
 *	  then the pipe is not read, and the command blocks, as Consul's;
 *	- once it has exited and its output is closed and written, <node>/exit
 *	  holds the exit code (-1 after a signal, as Go's ExitStatus; 255
 *	  when it could not be started or a write failed).
 * Every key is written with ?acquire=<session> (OP_KV_LOCK), so all of it
 * goes with the session. A write that fails (the session is gone: the
 * `cairn exec` ended) ends the job: unlike Consul, which leaves the
 * process running, its process group is killed.
 *
 * Writes go through raftd, reads through kvd, on a client agent both to
 * a server's RPC port: sync.c's connections (D.raftd, D.kvd).
 *
 * Leaves out: $SHELL (Consul runs a Command or Script with $SHELL -c
 * when it is set; check_exec.c always uses /bin/sh, and so do we).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "checkd.h"
#include "daemon.h"
#include "gopath.h"
#include "jv.h"
#include "log.h"
#include "msg.h"

#define REXEC_EVENT		"_rexec"	/* remoteExecName */
#define REXEC_JOB		"job"		/* remoteExecFileName */
#define REXEC_IDLE		0.5	/* remoteExecOutputDeadline, s */
#define REXEC_CHUNKS_MAX	16	/* rexecWriter's BufCh */
#define REXEC_TIMEOUT		10.0	/* a KV read or write, s */
#define REXEC_LIST_WAIT_MS	(5u * 60 * 1000)
#define REXEC_RETRY		1.0	/* after a failed list, s */
#define REXEC_READS		16	/* pipe reads per wakeup */
#define REXEC_WAIT_DEFAULT	(2 * DUR_S)	/* for a spec's Wait <= 0 */

/* A chunk of output waiting to be written; len 0 is a heartbeat. */
struct rexec_chunk {
	STAILQ_ENTRY(rexec_chunk)	 entry;
	size_t				 len;
	unsigned char			 data[];
};

enum { RJ_SPEC, RJ_SPEC_CONSISTENT, RJ_ACK, RJ_RUN, RJ_EXIT };

/* One job, from its event to its exit code. */
struct rexec_job {
	LIST_ENTRY(rexec_job)		 entry;
	char				 id[64];	/* the event's */
	char				*session;
	char				*job_key;	/* prefix/session/job */
	char				*base;	/* prefix/session/node */
	struct rexec_spec		 spec;
	int				 stage;		/* RJ_* */
	int				 inflight;	/* a call out */
	int				 cancelled;	/* free on its answer */
	/* The command. */
	pid_t				 pid;	/* = its group; 0 none */
	int				 fd;		/* pipe; -1 at EOF */
	int				 exited, wstatus;
	int				 code;
	char				 script[64];	/* spilled, or "" */
	ev_child			 child_w;
	ev_io				 io_w;
	ev_timer			 idle_w;	/* flush a part chunk */
	ev_timer			 beat_w;	/* heartbeat */
	/* Its output. */
	struct buf			 pending;	/* < REXEC_CHUNK */
	STAILQ_HEAD(, rexec_chunk)	 chunks;
	unsigned			 nchunks;
	unsigned			 seq;		/* the next out/ key */
};

static struct {
	int			 running;
	struct rpc		 gossip;
	int			 listing;	/* a list call out */
	int			 primed;	/* the first list is in */
	uint64_t		 index;
	char			**seen;		/* IDs in the last list */
	size_t			 nseen;
	ev_timer		 retry;
	LIST_HEAD(, rexec_job)	 jobs;
} R;

static void	rexec_pump(struct rexec_job *);
static void	rexec_list(void);

/* rexec_jv_type - Go's name of a JSON value's type, for messages */
static const char *
rexec_jv_type(const struct jv *v)
{
	static const char *const names[] = { "null", "bool", "number",
	    "string", "array", "object" };

	return names[v->type];
}

/*
 * rexec_str - a string member into *out (a copy; absent or null: "");
 * -1 with json.Unmarshal's complaint otherwise
 */
static int
rexec_str(const struct jv *root, const char *key, const char *type,
    char **out, char *err, size_t errlen)
{
	const struct jv *v = jv_get(root, key);

	*out = NULL;
	if (v != NULL && v->type != JV_NULL && v->type != JV_STR) {
		snprintf(err, errlen, "json: cannot unmarshal %s into Go "
		    "struct field %s.%s of type string", rexec_jv_type(v),
		    type, key);
		return -1;
	}
	*out = xstrdup(v != NULL && v->type == JV_STR ? v->str : "");
	return 0;
}

/* rexec_object - text parsed as a JSON object; NULL with err */
static struct jv *
rexec_object(const void *text, size_t len, const char *what, const char *type,
    char *err, size_t errlen)
{
	struct jv *root;

	if ((root = jv_parse(text, len, what, err, errlen)) == NULL)
		return NULL;
	if (root->type != JV_OBJ) {
		snprintf(err, errlen, "json: cannot unmarshal %s into Go value "
		    "of type %s", rexec_jv_type(root), type);
		jv_free(root);
		return NULL;
	}
	return root;
}

/* rexec_event_decode - see checkd.h */
int
rexec_event_decode(const void *text, size_t len, char **prefix,
    char **session, char *err, size_t errlen)
{
	struct jv *root;

	*prefix = *session = NULL;
	if ((root = rexec_object(text, len, "payload", "remoteExecEvent", err,
	    errlen)) == NULL)
		return -1;
	if (rexec_str(root, "Prefix", "remoteExecEvent", prefix, err,
	    errlen) < 0 || rexec_str(root, "Session", "remoteExecEvent",
	    session, err, errlen) < 0)
		goto fail;
	/* Consul would go on, and fail at the first write. */
	if (**session == '\0') {
		snprintf(err, errlen, "no session in the payload");
		goto fail;
	}
	jv_free(root);
	return 0;
fail:
	jv_free(root);
	free(*prefix);
	free(*session);
	*prefix = *session = NULL;
	return -1;
}

/* rexec_spec_free - see checkd.h */
void
rexec_spec_free(struct rexec_spec *s)
{
	size_t i;

	free(s->command);
	for (i = 0; i < s->nargs; i++)
		free(s->args[i]);
	free(s->args);
	free(s->script);
	memset(s, 0, sizeof(*s));
}

/* rexec_spec_decode - see checkd.h */
int
rexec_spec_decode(const void *text, size_t len, struct rexec_spec *s,
    char *err, size_t errlen)
{
	const struct jv *v, *a;
	struct jv *root;
	struct buf b;
	size_t i;

	memset(s, 0, sizeof(*s));
	if ((root = rexec_object(text, len, "job", "remoteExecSpec", err,
	    errlen)) == NULL)
		return -1;
	if (rexec_str(root, "Command", "remoteExecSpec", &s->command, err,
	    errlen) < 0)
		goto fail;
	if ((v = jv_get(root, "Args")) != NULL && v->type != JV_NULL) {
		if (v->type != JV_ARR) {
			snprintf(err, errlen, "json: cannot unmarshal %s into "
			    "Go struct field remoteExecSpec.Args of type "
			    "[]string", rexec_jv_type(v));
			goto fail;
		}
		if ((s->args = calloc(v->n + 1, sizeof(*s->args))) == NULL)
			log_fatal("out of memory");
		for (i = 0; i < v->n; i++) {
			a = v->items[i];
			if (a->type != JV_STR) {
				snprintf(err, errlen, "json: cannot unmarshal "
				    "%s into Go struct field remoteExecSpec."
				    "Args of type string", rexec_jv_type(a));
				goto fail;
			}
			s->args[s->nargs++] = xstrdup(a->str);
		}
	}
	if ((v = jv_get(root, "Script")) != NULL && v->type != JV_NULL) {
		if (v->type != JV_STR) {
			snprintf(err, errlen, "json: cannot unmarshal %s into "
			    "Go struct field remoteExecSpec.Script of type "
			    "[]uint8", rexec_jv_type(v));
			goto fail;
		}
		/* Go's []byte in JSON: standard base64 */
		buf_init(&b);
		if (base64_decode(&b, v->str, strlen(v->str)) < 0) {
			buf_free(&b);
			snprintf(err, errlen, "illegal base64 data in Script");
			goto fail;
		}
		s->slen = buf_used(&b);
		if (s->slen > 0) {
			if ((s->script = malloc(s->slen)) == NULL)
				log_fatal("out of memory");
			memcpy(s->script, buf_head(&b), s->slen);
		}
		buf_free(&b);
	}
	if ((v = jv_get(root, "Wait")) != NULL && v->type != JV_NULL &&
	    jv_int(root, "Wait", &s->wait) < 0) {
		snprintf(err, errlen, "json: cannot unmarshal %s into Go "
		    "struct field remoteExecSpec.Wait of type time.Duration",
		    rexec_jv_type(v));
		goto fail;
	}
	jv_free(root);
	return 0;
fail:
	jv_free(root);
	rexec_spec_free(s);
	return -1;
}

/* rexec_chunk_feed - see checkd.h */
size_t
rexec_chunk_feed(struct buf *pending, const void *data, size_t n,
    void (*emit)(void *arg, const void *chunk, size_t len), void *arg)
{
	const unsigned char *p = data;
	size_t take, chunks = 0;

	while (n > 0) {
		take = REXEC_CHUNK - buf_used(pending);
		if (take > n)
			take = n;
		buf_append(pending, p, take);
		p += take;
		n -= take;
		if (buf_used(pending) == REXEC_CHUNK) {
			emit(arg, buf_head(pending), REXEC_CHUNK);
			buf_reset(pending);
			chunks++;
		}
	}
	return chunks;
}

/* rexec_exit_code - see checkd.h */
int
rexec_exit_code(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

/*
 * rexec_halt - kill the command's process group if it still runs, and
 * stop watching it. A child not waited for is reaped by libev's own
 * SIGCHLD handler on the default loop, which waits for every child.
 */
static void
rexec_halt(struct rexec_job *j)
{
	if (j->pid != 0 && !j->exited &&
	    kill(-j->pid, SIGKILL) == -1 && errno != ESRCH)
		log_warn("remote exec: kill process group %ld: %s",
		    (long)j->pid, strerror(errno));
	ev_child_stop(D.loop, &j->child_w);
	ev_io_stop(D.loop, &j->io_w);
	ev_timer_stop(D.loop, &j->idle_w);
	ev_timer_stop(D.loop, &j->beat_w);
	if (j->fd != -1) {
		close(j->fd);
		j->fd = -1;
	}
}

/* rexec_job_free - unlink, stop everything, free */
static void
rexec_job_free(struct rexec_job *j)
{
	struct rexec_chunk *c;

	LIST_REMOVE(j, entry);
	rexec_halt(j);
	if (j->script[0] != '\0')
		unlink(j->script);
	while ((c = STAILQ_FIRST(&j->chunks)) != NULL) {
		STAILQ_REMOVE_HEAD(&j->chunks, entry);
		free(c);
	}
	buf_free(&j->pending);
	rexec_spec_free(&j->spec);
	free(j->session);
	free(j->job_key);
	free(j->base);
	free(j);
}

/* rexec_answered - a job's call came back: 1 if it was cancelled (freed) */
static int
rexec_answered(struct rexec_job *j)
{
	j->inflight = 0;
	if (!j->cancelled)
		return 0;
	rexec_job_free(j);
	return 1;
}

/*
 * rexec_write_result - the outcome of a write through raftd: 0 when the
 * key is written, -1 with why (no answer, refused, or false)
 */
static int
rexec_write_result(const struct frame *f, const char *err, char *why,
    size_t n)
{
	struct attr tab[ATTR_TAB];
	uint64_t result = 0;

	if (f == NULL) {
		snprintf(why, n, "%s", err);
		return -1;
	}
	if (f->flags & FRAME_ERROR) {
		frame_error_text(f, why, n);
		return -1;
	}
	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0) {
		snprintf(why, n, "malformed reply");
		return -1;
	}
	if (attr_present(&tab[A_STATUS])) {
		if (attr_strcpy(&tab[A_MSG], why, n) < 0)
			snprintf(why, n, "refused");
		return -1;
	}
	if (attr_u64(&tab[A_RESULT], &result) < 0 || result == 0) {
		snprintf(why, n, "write failed");
		return -1;
	}
	return 0;
}

/* rexec_write - <base>/<suffix> = val, ?acquire; cb gets the answer */
static int
rexec_write(struct rexec_job *j, const char *suffix, const void *val,
    size_t len, rpc_cb *cb, char *err, size_t errlen)
{
	const char *parts[] = { j->base, suffix };
	struct buf cmd, key;
	int rc;

	buf_init(&key);
	buf_init(&cmd);
	gopath_join(&key, parts, 2);
	attr_put_u32(&cmd, A_OP, OP_KV_LOCK);
	attr_put(&cmd, A_KEY, buf_head(&key), buf_used(&key));
	attr_put(&cmd, A_VALUE, val, len);
	attr_put_u64(&cmd, A_FLAGS, 0);
	attr_put_str(&cmd, A_SESSION, j->session);
	rc = servers_call(D.raftd, MSG_RAFT_APPLY, buf_head(&cmd),
	    buf_used(&cmd), REXEC_TIMEOUT, cb, j, err, errlen);
	if (rc == 0)
		j->inflight = 1;
	buf_free(&key);
	buf_free(&cmd);
	return rc;
}

/* rexec_exit_cb - the exit code is written (or not): the job is over */
static void
rexec_exit_cb(void *arg, const struct frame *f, const char *err)
{
	struct rexec_job *j = arg;
	char why[512];

	if (rexec_answered(j))
		return;
	if (rexec_write_result(f, err, why, sizeof(why)) < 0)
		log_error("failed to write exit code for remote exec job "
		    "(%s): %s", j->id, why);
	rexec_job_free(j);
}

/* rexec_write_exit - remoteExecWriteExitCode, the job's last step */
static void
rexec_write_exit(struct rexec_job *j)
{
	char val[16], err[256];
	int n;

	j->stage = RJ_EXIT;
	/* No more output: neither a partial chunk nor a heartbeat. */
	ev_timer_stop(D.loop, &j->idle_w);
	ev_timer_stop(D.loop, &j->beat_w);
	n = snprintf(val, sizeof(val), "%d", j->code);
	if (rexec_write(j, "exit", val, (size_t)n, rexec_exit_cb, err,
	    sizeof(err)) < 0) {
		log_error("failed to write exit code for remote exec job "
		    "(%s): %s", j->id, err);
		rexec_job_free(j);
	}
}

/*
 * rexec_abort - a write of output failed: the `cairn exec` is gone (or
 * we cannot reach it). Consul stops reading and reports 255; we also
 * kill the command, which nobody waits for any more.
 */
static void
rexec_abort(struct rexec_job *j, const char *why)
{
	log_error("failed to write output for remote exec job (%s): %s",
	    j->id, why);
	rexec_halt(j);
	j->code = 255;
	rexec_write_exit(j);
}

/* rexec_out_cb - a chunk (or heartbeat) is written: the next one */
static void
rexec_out_cb(void *arg, const struct frame *f, const char *err)
{
	struct rexec_job *j = arg;
	char why[512];

	if (rexec_answered(j))
		return;
	if (rexec_write_result(f, err, why, sizeof(why)) < 0) {
		rexec_abort(j, why);
		return;
	}
	rexec_pump(j);
}

/* rexec_queue - a chunk to write (len 0: a heartbeat) */
static void
rexec_queue(void *arg, const void *data, size_t len)
{
	struct rexec_job *j = arg;
	struct rexec_chunk *c;

	if ((c = malloc(sizeof(*c) + len)) == NULL)
		log_fatal("out of memory");
	c->len = len;
	if (len > 0)
		memcpy(c->data, data, len);
	STAILQ_INSERT_TAIL(&j->chunks, c, entry);
	j->nchunks++;
}

/* rexec_flush - the partial chunk, if any, to the queue */
static void
rexec_flush(struct rexec_job *j)
{
	ev_timer_stop(D.loop, &j->idle_w);
	if (buf_used(&j->pending) == 0)
		return;
	rexec_queue(j, buf_head(&j->pending), buf_used(&j->pending));
	buf_reset(&j->pending);
}

/*
 * rexec_pump - write the next chunk; with none, the exit code once the
 * command is done, else wait (a heartbeat after the spec's Wait)
 */
static void
rexec_pump(struct rexec_job *j)
{
	struct rexec_chunk *c;
	char suffix[32], err[256];

	if (j->inflight || j->stage != RJ_RUN)
		return;
	if ((c = STAILQ_FIRST(&j->chunks)) != NULL) {
		STAILQ_REMOVE_HEAD(&j->chunks, entry);
		j->nchunks--;
		ev_timer_stop(D.loop, &j->beat_w);
		snprintf(suffix, sizeof(suffix), "out/%05x", j->seq++);
		if (rexec_write(j, suffix, c->data, c->len, rexec_out_cb, err,
		    sizeof(err)) < 0) {
			free(c);
			rexec_abort(j, err);
			return;
		}
		free(c);
		/* Room in the queue again: read on (see rexec_read_cb). */
		if (j->fd != -1 && j->nchunks < REXEC_CHUNKS_MAX)
			ev_io_start(D.loop, &j->io_w);
		return;
	}
	if (j->exited && j->fd == -1) {
		j->code = rexec_exit_code(j->wstatus);
		rexec_write_exit(j);
		return;
	}
	/* Consul's time.After(spec.Wait), started anew after each write */
	if (!ev_is_active(&j->beat_w)) {
		ev_timer_set(&j->beat_w, (double)j->spec.wait / DUR_S, 0.);
		ev_timer_start(D.loop, &j->beat_w);
	}
}

/* rexec_beat_cb - no write for Wait: an empty chunk says we are alive */
static void
rexec_beat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rexec_job *j = w->data;

	rexec_queue(j, NULL, 0);
	rexec_pump(j);
}

/* rexec_idle_cb - the output has not grown for 500 ms: send what is in */
static void
rexec_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rexec_job *j = w->data;

	rexec_flush(j);
	rexec_pump(j);
}

/* rexec_read_cb - output: into chunks, the idle flush set again */
static void
rexec_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rexec_job *j = w->data;
	unsigned char buf[REXEC_CHUNK];
	ssize_t n;
	int i, got = 0;

	for (i = 0; i < REXEC_READS && j->nchunks < REXEC_CHUNKS_MAX; i++) {
		n = read(j->fd, buf, sizeof(buf));
		if (n > 0) {
			rexec_chunk_feed(&j->pending, buf, (size_t)n,
			    rexec_queue, j);
			got = 1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			log_warn("remote exec output: read: %s",
			    strerror(errno));
		/* EOF: what is left goes now (Consul's Flush after Wait) */
		ev_io_stop(loop, w);
		close(j->fd);
		j->fd = -1;
		rexec_flush(j);
		break;
	}
	/* A full queue: stop reading, so the command blocks on its pipe. */
	if (j->fd != -1 && j->nchunks >= REXEC_CHUNKS_MAX)
		ev_io_stop(loop, w);
	if (got && j->fd != -1) {
		j->idle_w.repeat = REXEC_IDLE;
		ev_timer_again(loop, &j->idle_w);
	}
	rexec_pump(j);
}

/* rexec_child_cb - the command exited; done once its output is too */
static void
rexec_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct rexec_job *j = w->data;

	ev_child_stop(loop, w);
	j->exited = 1;
	j->wstatus = w->rstatus;
	rexec_pump(j);
}

/* rexec_spill - a Script into a temporary file, mode 0750; -1 */
static int
rexec_spill(struct rexec_job *j)
{
	const char *tmp = getenv("TMPDIR");
	size_t off = 0;
	ssize_t n;
	int fd;

	if (tmp == NULL || *tmp == '\0' || strlen(tmp) > sizeof(j->script) -
	    sizeof("/rexecXXXXXX"))
		tmp = "/tmp";
	snprintf(j->script, sizeof(j->script), "%s/rexecXXXXXX", tmp);
	if ((fd = mkostemp(j->script, O_CLOEXEC)) == -1) {
		log_debug("remote exec: failed to make tmp file: %s",
		    strerror(errno));
		j->script[0] = '\0';
		return -1;
	}
	while (off < j->spec.slen) {
		n = write(fd, j->spec.script + off, j->spec.slen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (fchmod(fd, 0750) == -1 || off < j->spec.slen || close(fd) == -1) {
		log_debug("remote exec: failed to write tmp file %s",
		    j->script);
		return -1;
	}
	return 0;
}

/* rexec_run - the job is acknowledged: start the command */
static void
rexec_run(struct rexec_job *j)
{
	char *argv[4];
	const char *what;
	int rc;

	j->stage = RJ_RUN;
	what = j->spec.slen > 0 ? "(script)" : j->spec.nargs > 0 ?
	    j->spec.args[0] : j->spec.command;
	if (j->spec.slen > 0 && rexec_spill(j) < 0) {
		j->code = 255;
		rexec_write_exit(j);
		return;
	}
	/* One line per job, as Consul's "remote exec '%s'". */
	log_info("remote exec '%.200s' (%s)", j->spec.slen > 0 ? j->script :
	    what, j->id);
	if (j->spec.nargs > 0)
		rc = check_exec_spawn_piped(j->spec.args[0], j->spec.args, 1,
		    &j->pid, &j->fd);
	else {
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = j->spec.slen > 0 ? j->script : j->spec.command;
		argv[3] = NULL;
		rc = check_exec_spawn_piped(argv[0], argv, 0, &j->pid,
		    &j->fd);
	}
	if (rc != 0) {
		log_debug("remote exec (%s): failed to start: %s", j->id,
		    strerror(rc));
		j->code = 255;
		rexec_write_exit(j);
		return;
	}
	ev_child_set(&j->child_w, j->pid, 0);
	ev_child_start(D.loop, &j->child_w);
	ev_io_set(&j->io_w, j->fd, EV_READ);
	ev_io_start(D.loop, &j->io_w);
	rexec_pump(j);
}

/* rexec_ack_cb - the acknowledgement is written: run */
static void
rexec_ack_cb(void *arg, const struct frame *f, const char *err)
{
	struct rexec_job *j = arg;
	char why[512];

	if (rexec_answered(j))
		return;
	if (rexec_write_result(f, err, why, sizeof(why)) < 0) {
		/* Consul gives up here, before any exit code is owed. */
		log_error("failed to ack remote exec job (%s): %s", j->id,
		    why);
		rexec_job_free(j);
		return;
	}
	rexec_run(j);
}

static void	rexec_spec_cb(void *, const struct frame *, const char *);

/* rexec_read_spec - the job's spec: stale first, then consistent */
static int
rexec_read_spec(struct rexec_job *j, char *err, size_t errlen)
{
	struct buf b;
	int rc;

	buf_init(&b);
	attr_put_str(&b, A_KEY, j->job_key);
	if (j->stage == RJ_SPEC)
		rc = servers_read(D.kvd, D.kvd_mode, MSG_KV_GET,
		    buf_head(&b), buf_used(&b), REXEC_TIMEOUT, rexec_spec_cb,
		    j, err, errlen);
	else
		rc = servers_read(D.raftd, SERVERS_READ_CONSISTENT,
		    MSG_KV_GET, buf_head(&b), buf_used(&b), REXEC_TIMEOUT,
		    rexec_spec_cb, j, err, errlen);
	if (rc == 0)
		j->inflight = 1;
	buf_free(&b);
	return rc;
}

/* rexec_spec_cb - remoteExecGetSpec's answer: ack, or retry, or drop */
static void
rexec_spec_cb(void *arg, const struct frame *f, const char *err)
{
	struct rexec_job *j = arg;
	struct attr tab[ATTR_TAB], et[ATTR_TAB];
	char why[512];

	if (rexec_answered(j))
		return;
	if (f == NULL || (f->flags & FRAME_ERROR) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0) {
		log_error("failed to get remote exec job (%s): %s", j->id,
		    f == NULL ? err : (f->flags & FRAME_ERROR) ?
		    frame_error_text(f, why, sizeof(why)) : "malformed reply");
		rexec_job_free(j);
		return;
	}
	if (!attr_present(&tab[A_ENTRY]) || attr_index(tab[A_ENTRY].val,
	    tab[A_ENTRY].len, et, ATTR_TAB) < 0) {
		if (j->stage == RJ_SPEC) {
			/* Not here yet: a consistent read, as Consul. */
			j->stage = RJ_SPEC_CONSISTENT;
			if (rexec_read_spec(j, why, sizeof(why)) == 0)
				return;
			log_error("failed to get remote exec job (%s): %s",
			    j->id, why);
		} else
			log_debug("remote exec aborted (%s), job spec "
			    "missing", j->id);
		rexec_job_free(j);
		return;
	}
	if (rexec_spec_decode(et[A_VALUE].val, et[A_VALUE].len, &j->spec,
	    why, sizeof(why)) < 0) {
		log_error("failed to decode remote exec spec (%s): %s", j->id,
		    why);
		rexec_job_free(j);
		return;
	}
	if (j->spec.wait <= 0)
		j->spec.wait = REXEC_WAIT_DEFAULT;
	j->stage = RJ_ACK;
	if (rexec_write(j, "ack", NULL, 0, rexec_ack_cb, why,
	    sizeof(why)) < 0) {
		log_error("failed to ack remote exec job (%s): %s", j->id,
		    why);
		rexec_job_free(j);
	}
}

/* rexec_job_start - a new "_rexec" event: its payload names the job */
static void
rexec_job_start(const char *id, const void *payload, size_t len)
{
	const char *parts[3];
	struct rexec_job *j;
	struct buf b;
	char *prefix, err[512];

	log_debug("received remote exec event (ID: %s)", id);
	if ((j = calloc(1, sizeof(*j))) == NULL)
		log_fatal("out of memory");
	snprintf(j->id, sizeof(j->id), "%s", id);
	j->fd = -1;
	buf_init(&j->pending);
	STAILQ_INIT(&j->chunks);
	ev_init(&j->child_w, rexec_child_cb);
	ev_init(&j->io_w, rexec_read_cb);
	ev_init(&j->idle_w, rexec_idle_cb);
	ev_init(&j->beat_w, rexec_beat_cb);
	j->child_w.data = j->io_w.data = j->idle_w.data = j->beat_w.data = j;
	LIST_INSERT_HEAD(&R.jobs, j, entry);
	if (rexec_event_decode(payload, len, &prefix, &j->session, err,
	    sizeof(err)) < 0) {
		log_error("failed to decode remote exec event (%s): %s", id,
		    err);
		rexec_job_free(j);
		return;
	}
	parts[0] = prefix;
	parts[1] = j->session;
	parts[2] = REXEC_JOB;
	buf_init(&b);
	gopath_join(&b, parts, 3);
	j->job_key = xstrdup(buf_cstr(&b));
	buf_reset(&b);
	parts[2] = D.node.node;
	gopath_join(&b, parts, 3);
	j->base = xstrdup(buf_cstr(&b));
	buf_free(&b);
	free(prefix);
	j->stage = RJ_SPEC;
	if (rexec_read_spec(j, err, sizeof(err)) < 0) {
		log_error("failed to get remote exec job (%s): %s", id, err);
		rexec_job_free(j);
	}
}

/* rexec_seen - whether id was in the previous list */
static int
rexec_seen(const char *id)
{
	size_t i;

	for (i = 0; i < R.nseen; i++)
		if (strcmp(R.seen[i], id) == 0)
			return 1;
	return 0;
}

/* rexec_seen_free - forget the previous list */
static void
rexec_seen_free(void)
{
	size_t i;

	for (i = 0; i < R.nseen; i++)
		free(R.seen[i]);
	free(R.seen);
	R.seen = NULL;
	R.nseen = 0;
}

/*
 * rexec_list_cb - gossipd's "_rexec" events: the ones not in the last
 * list are new (the list is a ring, oldest first: an event that left it
 * never comes back)
 */
static void
rexec_list_cb(void *arg, const struct frame *f, const char *err)
{
	struct attr tab[ATTR_TAB], et[ATTR_TAB], a;
	struct attr_iter it;
	char **ids = NULL, id[64], msg[256];
	size_t n = 0, cap = 0;
	uint64_t index = 0;

	R.listing = 0;
	if (!R.running)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0) {
		log_debug("listing remote exec events: %s", f == NULL ? err :
		    (f->flags & FRAME_ERROR) ? frame_error_text(f, msg,
		    sizeof(msg)) : "malformed reply");
		if (!ev_is_active(&R.retry)) {
			ev_timer_set(&R.retry, REXEC_RETRY, 0.);
			ev_timer_start(D.loop, &R.retry);
		}
		return;
	}
	attr_iter_init(&it, f->body, f->len);
	while (attr_next(&it, &a) == 1) {
		if (a.type != A_ENTRY ||
		    attr_index(a.val, a.len, et, ATTR_TAB) < 0 ||
		    attr_strcpy(&et[A_EVENT_ID], id, sizeof(id)) < 0 ||
		    et[A_EVENT_NAME].len != strlen(REXEC_EVENT) ||
		    memcmp(et[A_EVENT_NAME].val, REXEC_EVENT,
		    strlen(REXEC_EVENT)) != 0)
			continue;
		if (R.primed && !rexec_seen(id))
			rexec_job_start(id, et[A_DATA].val, et[A_DATA].len);
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((ids = realloc(ids, cap * sizeof(*ids))) == NULL)
				log_fatal("out of memory");
		}
		ids[n++] = xstrdup(id);
	}
	if (!R.primed && n > 0)
		log_debug("%zu remote exec events from before we started: "
		    "not run", n);
	rexec_seen_free();
	R.seen = ids;
	R.nseen = n;
	R.primed = 1;
	R.index = index;
	rexec_list();
}

/* rexec_list - wait for the next "_rexec" event (a blocking list) */
static void
rexec_list(void)
{
	struct buf b;
	char err[256];

	if (!R.running || R.listing)
		return;
	ev_timer_stop(D.loop, &R.retry);
	buf_init(&b);
	attr_put_str(&b, A_EVENT_NAME, REXEC_EVENT);
	if (R.primed) {
		attr_put_u64(&b, A_INDEX, R.index);
		attr_put_u64(&b, A_WAIT, REXEC_LIST_WAIT_MS);
	}
	/* gossipd answers within the wait; the rest is slack */
	if (rpc_call(&R.gossip, MSG_GOSSIP_EVENT_LIST, buf_head(&b),
	    buf_used(&b), REXEC_LIST_WAIT_MS / 1000.0 + REXEC_TIMEOUT,
	    rexec_list_cb, NULL, err, sizeof(err)) == 0)
		R.listing = 1;
	/* else gossipd is away: its on_up lists again */
	buf_free(&b);
}

/* rexec_retry_cb - list again after a failed list */
static void
rexec_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	rexec_list();
}

/* rexec_up - gossipd (re)connected */
static void
rexec_up(struct rpc *r)
{
	rexec_list();
}

/* rexec_init - see checkd.h */
void
rexec_init(const struct config *cfg)
{
	char path[4200];

	memset(&R, 0, sizeof(R));
	LIST_INIT(&R.jobs);
	R.running = 1;
	ev_timer_init(&R.retry, rexec_retry_cb, REXEC_RETRY, 0.);
	daemon_sock_path(cfg, "gossipd", path, sizeof(path));
	rpc_init(&R.gossip, D.loop, path, "checkd", "gossipd");
	R.gossip.on_up = rexec_up;
	log_info("remote exec is enabled");
}

/* rexec_stop - see checkd.h */
void
rexec_stop(void)
{
	struct rexec_job *j, *next;

	if (!R.running)
		return;
	R.running = 0;
	ev_timer_stop(D.loop, &R.retry);
	rpc_stop(&R.gossip);
	for (j = LIST_FIRST(&R.jobs); j != NULL; j = next) {
		next = LIST_NEXT(j, entry);
		/* A call out: freed when raftd's or kvd's stop answers it. */
		if (j->inflight) {
			j->cancelled = 1;
			rexec_halt(j);
		} else
			rexec_job_free(j);
	}
	rexec_seen_free();
}
