/*
 * snap.c - snapshots: taking them, sending them to a follower behind the
 * log, installing one from the leader, and restoring kvd from one.
 *
 * kvd writes the state (kvd/snapshot.c); raftd keeps the newest file as
 * data_dir/raft/snapshots/current.snap with its metadata in current.meta:
 * the Raft snapshot point (index, term, configuration) the core and the
 * log were compacted to, and the index the file's state is at. The file
 * may be ahead of the Raft point by up to raft_trailing_logs entries: the
 * log keeps that tail for followers that are only a little behind, and
 * kvd ignores entries it has already applied, so a follower installing
 * the file and then receiving the tail ends in the same state.
 *
 * A follower is sent the file in chunks (MSG_RAFT_SNAP_CHUNK, each
 * acknowledged before the next), then the Raft SNAPSHOT message. It
 * restores its kvd from the file before stepping that message into the
 * core, so by the time the core reports the install, the state is in.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raft_wire.h"
#include "raftd.h"

#define CHUNK		(256 * 1024)
#define SNAP_TIMEOUT	60.0		/* kvd saving or restoring */

struct sender {
	raft_id		 to;
	struct raft_msg	 msg;		/* sent after the last chunk */
	int		 fd;
	uint64_t	 off, size, index;
};

static struct {
	char		 dir[4300];
	int		 taking;
	uint64_t	 file_index;	/* current.snap's state index */
	struct sender	*senders[RAFTD_MAX_PEERS];
	raft_id		 done_ids[RAFTD_MAX_PEERS];	/* to report */
	int		 done_ok[RAFTD_MAX_PEERS];
	size_t		 ndone;
	/* follower side */
	int		 in_fd;
	uint64_t	 in_index;	/* incoming.snap's state index */
	int		 restoring;
	struct raft_msg	 pending;	/* the SNAPSHOT waiting for kvd */
} S = { .in_fd = -1 };

static void
snap_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", S.dir, name);
}

/* meta_save - the snapshot point and the file's index, atomically */
static void
meta_save(uint64_t index, uint64_t term, const struct raft_config *c,
    uint64_t file_index)
{
	char path[4400], tmp[4400];
	struct buf b, cfg;
	int fd;

	buf_init(&b);
	buf_init(&cfg);
	raft_config_encode(c, &cfg);
	attr_put_u64(&b, A_SNAP_INDEX, index);
	attr_put_u64(&b, A_SNAP_TERM, term);
	attr_put(&b, A_CONFIG, buf_head(&cfg), buf_used(&cfg));
	attr_put_u64(&b, A_INDEX, file_index);
	snap_path(path, sizeof(path), "current.meta");
	snap_path(tmp, sizeof(tmp), "current.meta.tmp");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || write(fd, buf_head(&b), buf_used(&b)) !=
	    (ssize_t)buf_used(&b) || fsync(fd) < 0 || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		log_fatal("cannot write %s: %s", path, strerror(errno));
	if ((fd = open(S.dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
	buf_free(&b);
	buf_free(&cfg);
}

/* snap_load - the snapshot point from current.meta (0 when none) */
int
snap_load(const char *raftdir, uint64_t *index, uint64_t *term,
    struct raft_config *c, char *err, size_t errlen)
{
	struct attr tab[ATTR_TAB];
	unsigned char buf[4096];
	char path[4400];
	ssize_t n;
	int fd;

	snprintf(S.dir, sizeof(S.dir), "%s/snapshots", raftdir);
	if (mkdir(S.dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", S.dir, strerror(errno));
		return -1;
	}
	*index = *term = 0;
	memset(c, 0, sizeof(*c));
	snap_path(path, sizeof(path), "current.meta");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || attr_index(buf, (size_t)n, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_SNAP_INDEX], index) < 0 ||
	    attr_u64(&tab[A_SNAP_TERM], term) < 0 ||
	    attr_u64(&tab[A_INDEX], &S.file_index) < 0 ||
	    raft_config_decode(tab[A_CONFIG].val, tab[A_CONFIG].len, c) < 0) {
		snprintf(err, errlen, "%s: unreadable snapshot metadata", path);
		return -1;
	}
	return 0;
}

uint64_t
snap_file_index(void)
{
	return S.file_index;
}

/* saved - kvd wrote next.snap: keep it, compact the core and the log */
static void
saved(void *arg, const struct frame *f, const char *err)
{
	struct attr tab[ATTR_TAB];
	char from[4400], to[4400], msg[256];
	uint64_t index, upto, trailing = (uintptr_t)arg;

	S.taking = 0;
	if (f == NULL || (f->flags & FRAME_ERROR) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0) {
		log_warn("snapshot failed: %s", f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		return;
	}
	snap_path(from, sizeof(from), "next.snap");
	snap_path(to, sizeof(to), "current.snap");
	if (rename(from, to) < 0) {
		log_warn("snapshot: rename %s: %s", from, strerror(errno));
		return;
	}
	S.file_index = index;
	upto = index > trailing ? index - trailing : 0;
	if (upto > R.r.applied)
		upto = R.r.applied;
	if (upto > R.r.snap_index && raft_compact(&R.r, upto) < 0)
		upto = R.r.snap_index;
	meta_save(R.r.snap_index, R.r.snap_term, &R.r.snap_config, index);
	if (raft_log_compact(&R.log, R.r.snap_index, msg, sizeof(msg)) < 0)
		log_fatal("%s", msg);
	log_info("snapshot at index %" PRIu64 "; log compacted to start at %"
	    PRIu64, index, R.log.base + 1);
}

/* snap_maybe - take a snapshot once the log has grown past threshold */
void
snap_maybe(uint64_t threshold, uint64_t trailing)
{
	char path[4400], err[256];
	struct buf b;

	if (S.taking || !R.started || R.applied < R.log.base + threshold ||
	    S.ndone > 0)
		return;
	snap_path(path, sizeof(path), "next.snap");
	buf_init(&b);
	attr_put_str(&b, A_KEY, path);
	if (rpc_call(&R.kvd, MSG_KVD_SNAPSHOT_SAVE, buf_head(&b), buf_used(&b),
	    SNAP_TIMEOUT, saved, (void *)(uintptr_t)trailing, err,
	    sizeof(err)) == 0)
		S.taking = 1;
	buf_free(&b);
}

/* sender_finish - report to the core (outside the Ready loop) */
static void
sender_finish(size_t slot, int ok)
{
	struct sender *s = S.senders[slot];

	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	S.done_ids[S.ndone] = s->to;
	S.done_ok[S.ndone++] = ok;
	free(s);
	S.senders[slot] = NULL;
}

static void send_chunk(size_t slot);

static void
chunk_done(void *arg, const struct frame *f, const char *err)
{
	size_t slot = (uintptr_t)arg;
	struct sender *s = S.senders[slot];
	char msg[256];

	if (s == NULL)
		return;
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_warn("sending the snapshot to %s failed: %s",
		    peers_addr(s->to), f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		sender_finish(slot, 0);
		return;
	}
	if (s->off >= s->size) {
		/* The state is there: now the Raft message that installs it. */
		peers_send(&s->msg);
		log_info("snapshot at index %" PRIu64 " sent to %s", s->index,
		    peers_addr(s->to));
		sender_finish(slot, 1);
		return;
	}
	send_chunk(slot);
}

/* send_chunk - the next piece of the file */
static void
send_chunk(size_t slot)
{
	struct sender *s = S.senders[slot];
	struct peer *p = peers_find(s->to);
	unsigned char *data;
	char err[256];
	struct buf b;
	ssize_t n;

	if (p == NULL || !p->dialed || !rpc_is_up(&p->rpc)) {
		sender_finish(slot, 0);
		return;
	}
	if ((data = malloc(CHUNK)) == NULL)
		log_fatal("out of memory");
	n = pread(s->fd, data, CHUNK, (off_t)s->off);
	if (n < 0) {
		free(data);
		sender_finish(slot, 0);
		return;
	}
	buf_init(&b);
	attr_put_u64(&b, A_SNAP_INDEX, s->index);
	attr_put_u64(&b, A_INDEX, s->off);
	attr_put(&b, A_DATA, data, (size_t)n);
	s->off += (uint64_t)n;
	attr_put_u8(&b, A_RESULT, s->off >= s->size);
	free(data);
	if (rpc_call(&p->rpc, MSG_RAFT_SNAP_CHUNK, buf_head(&b), buf_used(&b),
	    SNAP_TIMEOUT, chunk_done, (void *)(uintptr_t)slot, err,
	    sizeof(err)) < 0)
		sender_finish(slot, 0);
	buf_free(&b);
}

/*
 * snap_send - the core wants a follower to get the snapshot: start
 * streaming the file; the SNAPSHOT message follows the last chunk.
 */
void
snap_send(const struct raft_msg *m)
{
	char path[4400];
	struct stat st;
	struct sender *s;
	size_t slot;

	for (slot = 0; slot < RAFTD_MAX_PEERS; slot++)
		if (S.senders[slot] != NULL && S.senders[slot]->to == m->to)
			return;		/* one transfer at a time */
	for (slot = 0; slot < RAFTD_MAX_PEERS && S.senders[slot]; slot++)
		;
	if (slot == RAFTD_MAX_PEERS)
		return;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		log_fatal("out of memory");
	s->to = m->to;
	s->msg = *m;
	s->index = S.file_index;
	snap_path(path, sizeof(path), "current.snap");
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(s->fd, &st) < 0) {
		log_warn("a follower needs a snapshot but %s cannot be read: "
		    "%s", path, strerror(errno));
		S.senders[slot] = s;
		sender_finish(slot, 0);
		return;
	}
	s->size = (uint64_t)st.st_size;
	S.senders[slot] = s;
	log_info("sending the snapshot at index %" PRIu64 " (%" PRIu64
	    " bytes) to %s", s->index, s->size, peers_addr(s->to));
	send_chunk(slot);
}

/* snap_report - tell the core about finished transfers (not in Ready) */
void
snap_report(void)
{
	size_t i;

	for (i = 0; i < S.ndone; i++)
		raft_snapshot_done(&R.r, S.done_ids[i], S.done_ok[i]);
	S.ndone = 0;
}

/* snap_chunk - a follower receives a piece of the leader's snapshot */
void
snap_chunk(struct sconn *sc, const struct frame *f)
{
	struct attr tab[ATTR_TAB];
	char tmp[4400], path[4400];
	uint64_t index, off, last = 0;

	if (attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_SNAP_INDEX], &index) < 0 ||
	    attr_u64(&tab[A_INDEX], &off) < 0 ||
	    !attr_present(&tab[A_DATA])) {
		conn_reply_error(&sc->conn, f, MSG_E_BADREQ, "bad chunk");
		return;
	}
	attr_u64(&tab[A_RESULT], &last);
	snap_path(tmp, sizeof(tmp), "incoming.tmp");
	if (off == 0) {
		if (S.in_fd >= 0)
			close(S.in_fd);
		S.in_fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
	}
	if (S.in_fd < 0 || pwrite(S.in_fd, tab[A_DATA].val, tab[A_DATA].len,
	    (off_t)off) != (ssize_t)tab[A_DATA].len) {
		conn_reply_error(&sc->conn, f, MSG_E_INTERNAL, "write %s: %s",
		    tmp, strerror(errno));
		return;
	}
	if (last) {
		snap_path(path, sizeof(path), "incoming.snap");
		if (fsync(S.in_fd) < 0 || rename(tmp, path) < 0) {
			conn_reply_error(&sc->conn, f, MSG_E_INTERNAL,
			    "keep %s: %s", path, strerror(errno));
			return;
		}
		close(S.in_fd);
		S.in_fd = -1;
		S.in_index = index;
		log_info("received the leader's snapshot at index %" PRIu64,
		    index);
	}
	conn_reply(&sc->conn, f, NULL, 0);
}

/* restored - kvd holds the leader's state: let the core install it */
static void
restored(void *arg, const struct frame *f, const char *err)
{
	char msg[256];

	S.restoring = 0;
	if (f == NULL || (f->flags & FRAME_ERROR)) {
		log_warn("restoring kvd from the leader's snapshot failed: %s",
		    f == NULL ? err : frame_error_text(f, msg, sizeof(msg)));
		return;
	}
	if (!R.started)
		return;
	raft_tick(&R.r, daemon_now_ms());
	raft_step(&R.r, &S.pending);
}

/*
 * snap_offer - a SNAPSHOT message from the leader: when it is beyond our
 * commit, restore kvd from the file that came before it, then step it.
 * Returns 1 when it took the message.
 */
int
snap_offer(const struct raft_msg *m)
{
	char path[4400], err[256];
	struct buf b;

	if (m->type != RAFT_MSG_SNAPSHOT || m->snap_index <= R.r.commit)
		return 0;
	if (S.restoring)
		return 1;
	snap_path(path, sizeof(path), "incoming.snap");
	if (access(path, R_OK) < 0 || S.in_index < m->snap_index) {
		log_warn("the leader's snapshot message came without its file; "
		    "ignored (the leader retries)");
		return 1;
	}
	S.pending = *m;
	S.pending.entries = NULL;
	S.pending.nentries = 0;
	buf_init(&b);
	attr_put_str(&b, A_KEY, path);
	if (rpc_call(&R.kvd, MSG_KVD_SNAPSHOT_RESTORE, buf_head(&b),
	    buf_used(&b), SNAP_TIMEOUT, restored, NULL, err, sizeof(err)) == 0)
		S.restoring = 1;
	else
		log_warn("cannot restore kvd: %s", err);
	buf_free(&b);
	return 1;
}

/*
 * snap_installed - persist step of an update that installed a snapshot:
 * the file becomes ours, the metadata follows, the log restarts after it
 * (keeping its tail when it holds the snapshot's last entry).
 */
void
snap_installed(const struct raft_update *u)
{
	char from[4400], to[4400], err[256];
	uint64_t term;
	struct buf tmp;
	int keep = 0;

	snap_path(from, sizeof(from), "incoming.snap");
	snap_path(to, sizeof(to), "current.snap");
	if (rename(from, to) == 0)
		S.file_index = S.in_index;
	meta_save(u->snap_index, u->snap_term, &u->snap_config, S.file_index);
	buf_init(&tmp);
	if (u->snap_index > R.log.base && u->snap_index <= R.log.last &&
	    raft_log_read(&R.log, u->snap_index, &tmp, &term, NULL) == 0 &&
	    term == u->snap_term)
		keep = 1;
	buf_free(&tmp);
	if ((keep ? raft_log_compact(&R.log, u->snap_index, err, sizeof(err)) :
	    raft_log_reset(&R.log, u->snap_index, err, sizeof(err))) < 0)
		log_fatal("%s", err);
	log_info("installed the leader's snapshot at index %" PRIu64,
	    u->snap_index);
}

static void
restore_logged(void *arg, const struct frame *f, const char *err)
{
	char msg[256];

	S.restoring = 0;
	if (f == NULL || (f->flags & FRAME_ERROR))
		log_warn("restoring kvd from the snapshot failed: %s",
		    f == NULL ? err : frame_error_text(f, msg, sizeof(msg)));
}

/* snap_restore_kvd - kvd is behind the log's start: give it the file */
void
snap_restore_kvd(void)
{
	char path[4400], err[256];
	struct buf b;

	if (S.restoring)
		return;
	snap_path(path, sizeof(path), "current.snap");
	buf_init(&b);
	attr_put_str(&b, A_KEY, path);
	log_info("kvd is behind the log (starts at %" PRIu64 "): restoring it "
	    "from the snapshot at index %" PRIu64, R.log.base + 1,
	    S.file_index);
	if (rpc_call(&R.kvd, MSG_KVD_SNAPSHOT_RESTORE, buf_head(&b),
	    buf_used(&b), SNAP_TIMEOUT, restore_logged, NULL, err,
	    sizeof(err)) < 0)
		log_warn("cannot restore kvd: %s", err);
	else
		S.restoring = 1;
	buf_free(&b);
}

struct api_snap {
	struct server	*srv;
	uint64_t	 serial;
	uint32_t	 id;
	char		 path[4400];
};

/* api_saved - a fresh snapshot for GET /v1/snapshot: read it back */
static void
api_saved(void *arg, const struct frame *f, const char *err)
{
	struct api_snap *a = arg;
	struct sconn *sc = server_find(a->srv, a->serial);
	struct attr tab[ATTR_TAB];
	struct frame req = { .type = MSG_RAFT_SNAPSHOT, .id = a->id };
	uint64_t index;
	struct stat st;
	struct buf b;
	char msg[256];
	int fd = -1;

	if (sc == NULL)
		goto out;
	if (f == NULL || (f->flags & FRAME_ERROR) ||
	    attr_index(f->body, f->len, tab, ATTR_TAB) < 0 ||
	    attr_u64(&tab[A_INDEX], &index) < 0) {
		conn_reply_error(&sc->conn, &req, MSG_E_INTERNAL, "snapshot "
		    "failed: %s", f == NULL ? err :
		    frame_error_text(f, msg, sizeof(msg)));
		goto out;
	}
	if ((fd = open(a->path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0 || (uint64_t)st.st_size > FRAME_MAX - 4096) {
		conn_reply_error(&sc->conn, &req, MSG_E_INTERNAL, "snapshot "
		    "cannot be sent: %s", fd < 0 ? strerror(errno) :
		    "larger than one frame");
		goto out;
	}
	buf_init(&b);
	attr_put_u64(&b, A_INDEX, index);
	buf_reserve(&b, ATTR_HDR_LEN + (size_t)st.st_size);
	{
		size_t mark = attr_nest_begin(&b, A_DATA);
		ssize_t n = read(fd, b.data + b.len, (size_t)st.st_size);
		if (n != st.st_size) {
			buf_free(&b);
			conn_reply_error(&sc->conn, &req, MSG_E_INTERNAL,
			    "read %s: short read", a->path);
			goto out;
		}
		b.len += (size_t)n;
		attr_nest_end(&b, mark);
	}
	conn_reply(&sc->conn, &req, buf_head(&b), buf_used(&b));
	buf_free(&b);
out:
	if (fd >= 0)
		close(fd);
	unlink(a->path);
	free(a);
}

/* snap_api - GET /v1/snapshot: kvd writes a fresh one, we send it back */
void
snap_api(struct sconn *sc, const struct frame *f)
{
	static unsigned seq;
	struct api_snap *a;
	char err[256];
	struct buf b;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		log_fatal("out of memory");
	a->srv = sc->srv;
	a->serial = sc->serial;
	a->id = f->id;
	snprintf(a->path, sizeof(a->path), "%s/api-%u.snap", S.dir, ++seq);
	buf_init(&b);
	attr_put_str(&b, A_KEY, a->path);
	if (rpc_call(&R.kvd, MSG_KVD_SNAPSHOT_SAVE, buf_head(&b), buf_used(&b),
	    SNAP_TIMEOUT, api_saved, a, err, sizeof(err)) < 0) {
		conn_reply_error(&sc->conn, f, MSG_E_UNAVAIL, "%s", err);
		free(a);
	}
	buf_free(&b);
}
