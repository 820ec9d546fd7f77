/*
 * snapshot.c - the whole state store as one file, so that raftd can
 * compact its log and bring a far-behind follower up to date (Raft
 * thesis, chapter 5). raftd owns the files: it decides when, names the
 * path, keeps and ships them; kvd only writes and reads them.
 *
 * Format, version 3 (integers big-endian):
 *
 *	header	 "CAIRNSNAP" (9 bytes), u32 version, u64 applied,
 *		 u64 kv_index, u64 catalog_index, u32 ntables (8), then a
 *		 u64 record count per table in the order meta kv nodes
 *		 services checks sessions locks queries (105 bytes in all)
 *	records	 each table's records in that order, each one attribute
 *		 (frame.h) whose type is the table's number (1 meta ..
 *		 8 queries) and whose value is A_KEY then A_VALUE, the raw
 *		 BDB key and data; keys strictly increasing in the btree's
 *		 order (bytes, a prefix first)
 *	trailer	 u32 CRC-32C of every byte before it
 *
 * Version 2 is the same without queries (7 tables), version 1 also
 * without sessions and locks (5 tables); both are still read, and
 * restoring one empties the tables it does not have.
 *
 * Saving streams through a 64 KB buffer, so the state is never in memory
 * at once, and is atomic: path.tmp, fsync, rename, fsync of the
 * directory. Restoring reads the file twice: first the header, every
 * record's shape and the checksum, and only then, inside one
 * transaction, truncates and loads the tables; a refused file leaves the
 * store as it was.
 *
 * Left out: compression, incremental snapshots, and a restore larger
 * than one transaction's lock table (env lk_max_locks: one lock per page
 * written, i.e. some hundreds of MB of state).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "msg.h"
#include "store.h"

#define SNAP_MAGIC	"CAIRNSNAP"
#define SNAP_MAGIC_LEN	9
#define SNAP_VERSION	3
#define SNAP_NTABLES	8
#define SNAP_NTABLES_V1	5
#define SNAP_NTABLES_V2	7
#define SNAP_FIXED_LEN	(SNAP_MAGIC_LEN + 4 + 3 * 8 + 4)
#define SNAP_HDR_LEN	(SNAP_FIXED_LEN + SNAP_NTABLES * 8)
#define SNAP_CRC_LEN	4
#define SNAP_BUFSIZE	(64 * 1024)
/* A record came in one frame (a command), so it cannot be larger. */
#define SNAP_REC_MAX	FRAME_MAX

static const char *snap_names[SNAP_NTABLES] = {
	"meta", "kv", "nodes", "services", "checks", "sessions", "locks",
	"queries"
};

struct snap_hdr {
	uint32_t	 version;
	int		 ntables;	/* 8; 7 in version 2, 5 in 1 */
	uint64_t	 applied, kv_index, catalog_index;
	uint64_t	 count[SNAP_NTABLES];
	int		 in_meta;	/* how many of the three meta has */
};

struct snap_out {
	int		 fd;
	int		 error;		/* errno of the first failed write */
	uint32_t	 crc;
	size_t		 len;
	unsigned char	 buf[SNAP_BUFSIZE];
};

struct snap_in {
	int		 fd;
	uint32_t	 crc;
	uint64_t	 left;		/* bytes before the trailer not read */
	size_t		 pos, len;
	unsigned char	 buf[SNAP_BUFSIZE];
};

/* snap_db - table i, in the file's order */
static DB *
snap_db(struct store *s, int i)
{
	DB *dbs[SNAP_NTABLES] = { s->meta, s->kv, s->nodes, s->services,
	    s->checks, s->sessions, s->locks, s->queries };

	return dbs[i];
}

/* snap_keycmp - BDB's default btree order: bytes, then the shorter first */
static int
snap_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* snap_meta_index - the header field a meta key mirrors, or NULL */
static uint64_t *
snap_meta_index(struct snap_hdr *h, const void *k, size_t n)
{
	if (n == 7 && memcmp(k, "applied", 7) == 0)
		return &h->applied;
	if (n == 8 && memcmp(k, "kv_index", 8) == 0)
		return &h->kv_index;
	if (n == 13 && memcmp(k, "catalog_index", 13) == 0)
		return &h->catalog_index;
	return NULL;
}

/* out_flush - write the buffer out, remembering the first error */
static void
out_flush(struct snap_out *o)
{
	size_t off = 0;
	ssize_t n;

	while (o->error == 0 && off < o->len) {
		n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			o->error = n < 0 ? errno : EIO;
		else
			off += (size_t)n;
	}
	o->len = 0;
}

/* out_put - append bytes, counting them in the checksum */
static void
out_put(struct snap_out *o, const void *p, size_t n)
{
	const unsigned char *q = p;
	size_t k;

	o->crc = crc32c(o->crc, p, n);
	while (n > 0) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, q, k);
		o->len += k;
		q += k;
		n -= k;
	}
}

/* hdr_encode - the fixed header */
static void
hdr_encode(unsigned char *p, const struct snap_hdr *h)
{
	int i;

	memcpy(p, SNAP_MAGIC, SNAP_MAGIC_LEN);
	p += SNAP_MAGIC_LEN;
	be32_put(p, h->version);
	be64_put(p + 4, h->applied);
	be64_put(p + 12, h->kv_index);
	be64_put(p + 20, h->catalog_index);
	be32_put(p + 28, (uint32_t)h->ntables);
	for (i = 0; i < h->ntables; i++)
		be64_put(p + 32 + 8 * i, h->count[i]);
}

/*
 * save_count - count every table's records and read the indexes from the
 * meta table, so the header can go first. Only keys are read
 * (DB_DBT_PARTIAL, zero length) except in meta.
 */
static int
save_count(struct store *s, struct snap_hdr *h, char *err, size_t errlen)
{
	uint64_t *field;
	DBC *c;
	DBT k, d;
	DB *db;
	int i, rc;

	memset(h, 0, sizeof(*h));
	h->version = SNAP_VERSION;
	h->ntables = SNAP_NTABLES;
	for (i = 0; i < SNAP_NTABLES; i++) {
		db = snap_db(s, i);
		if ((rc = db->cursor(db, NULL, &c, 0)) != 0) {
			snprintf(err, errlen, "cursor on %s: %s", snap_names[i],
			    db_strerror(rc));
			return -1;
		}
		memset(&k, 0, sizeof(k));
		memset(&d, 0, sizeof(d));
		if (i != 0)
			d.flags = DB_DBT_PARTIAL;
		while ((rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
			h->count[i]++;
			if (i == 0 && d.size == 8 && (field =
			    snap_meta_index(h, k.data, k.size)) != NULL)
				*field = be64_get(d.data);
		}
		c->close(c);
		if (rc != DB_NOTFOUND) {
			snprintf(err, errlen, "counting %s: %s", snap_names[i],
			    db_strerror(rc));
			return -1;
		}
	}
	return 0;
}

/* save_table - every record of table i, as many as the header said */
static int
save_table(struct store *s, struct snap_out *o, int i, uint64_t count,
    char *err, size_t errlen)
{
	struct buf rec;
	uint64_t n = 0;
	size_t nest;
	DBC *c;
	DBT k, d;
	DB *db = snap_db(s, i);
	int rc;

	if ((rc = db->cursor(db, NULL, &c, 0)) != 0) {
		snprintf(err, errlen, "cursor on %s: %s", snap_names[i],
		    db_strerror(rc));
		return -1;
	}
	buf_init(&rec);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	while ((rc = c->get(c, &k, &d, DB_NEXT)) == 0) {
		if ((size_t)k.size + d.size + 3 * ATTR_HDR_LEN > SNAP_REC_MAX) {
			snprintf(err, errlen, "a record of %s is %u bytes, "
			    "over the limit", snap_names[i], k.size + d.size);
			break;
		}
		buf_reset(&rec);
		nest = attr_nest_begin(&rec, (uint16_t)(i + 1));
		attr_put(&rec, A_KEY, k.data, k.size);
		attr_put(&rec, A_VALUE, d.data, d.size);
		attr_nest_end(&rec, nest);
		out_put(o, buf_head(&rec), buf_used(&rec));
		n++;
	}
	c->close(c);
	buf_free(&rec);
	if (rc == 0)
		return -1;		/* err is set */
	if (rc != DB_NOTFOUND) {
		snprintf(err, errlen, "reading %s: %s", snap_names[i],
		    db_strerror(rc));
		return -1;
	}
	/* Nothing writes between the count and now: kvd is one thread. */
	if (n != count) {
		snprintf(err, errlen, "%s changed while saving (%" PRIu64
		    " records, counted %" PRIu64 ")", snap_names[i], n, count);
		return -1;
	}
	return 0;
}

/* snap_sync_dir - make the rename in path's directory durable */
static int
snap_sync_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	rc = fsync(fd);
	if (rc < 0)
		snprintf(err, errlen, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/*
 * store_snapshot_save - the state as of the applied index, to path.
 *
 * Plain cursors, no read transaction: kvd is single-threaded and applies
 * only in its prepare watcher, so nothing can write between this
 * function's first read and its last, and the tables are consistent with
 * each other and with meta's "applied". A transaction would add nothing
 * but a read lock held on every page read until the end, and a large
 * state would run the environment out of locks.
 */
int
store_snapshot_save(struct store *s, const char *path, uint64_t *index,
    char *err, size_t errlen)
{
	unsigned char hdr[SNAP_HDR_LEN], crc[SNAP_CRC_LEN];
	char tmp[PATH_MAX];
	struct snap_out *o;
	struct snap_hdr h;
	int i, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "snapshot path too long");
		return -1;
	}
	if (save_count(s, &h, err, errlen) < 0)
		return -1;
	/* The cache runs ahead of meta only inside an apply transaction. */
	if (h.applied != s->applied || h.kv_index != s->kv_index ||
	    h.catalog_index != s->catalog_index) {
		snprintf(err, errlen, "stored indexes (%" PRIu64 ", %" PRIu64
		    ", %" PRIu64 ") differ from the cached ones (%" PRIu64
		    ", %" PRIu64 ", %" PRIu64 "): a transaction is open",
		    h.applied, h.kv_index, h.catalog_index, s->applied,
		    s->kv_index, s->catalog_index);
		return -1;
	}
	if ((o = malloc(sizeof(*o))) == NULL)
		log_fatal("out of memory");
	memset(o, 0, offsetof(struct snap_out, buf));
	if ((o->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		free(o);
		return -1;
	}
	hdr_encode(hdr, &h);
	out_put(o, hdr, sizeof(hdr));
	for (i = 0; i < SNAP_NTABLES; i++)
		if (save_table(s, o, i, h.count[i], err, errlen) < 0)
			goto out;
	be32_put(crc, o->crc);
	out_put(o, crc, sizeof(crc));
	out_flush(o);
	if (o->error != 0) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(o->error));
		goto out;
	}
	if (fsync(o->fd) < 0) {
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(o->fd) < 0) {
		o->fd = -1;
		snprintf(err, errlen, "close %s: %s", tmp, strerror(errno));
		goto out;
	}
	o->fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	if (snap_sync_dir(path, err, errlen) < 0)
		goto out;
	*index = h.applied;
	rc = 0;
out:
	if (o->fd >= 0)
		close(o->fd);
	if (rc < 0)
		unlink(tmp);
	free(o);
	return rc;
}

/* in_raw - n bytes from the file, through the buffer, nothing counted */
static int
in_raw(struct snap_in *in, void *dst, size_t n)
{
	unsigned char *p = dst;
	ssize_t r;
	size_t k;

	while (n > 0) {
		if (in->pos == in->len) {
			r = read(in->fd, in->buf, sizeof(in->buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1;
			in->pos = 0;
			in->len = (size_t)r;
		}
		k = in->len - in->pos;
		if (k > n)
			k = n;
		memcpy(p, in->buf + in->pos, k);
		in->pos += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* in_get - n bytes before the trailer, counted in the checksum */
static int
in_get(struct snap_in *in, void *dst, size_t n)
{
	if (n > in->left || in_raw(in, dst, n) < 0)
		return -1;
	in->left -= n;
	in->crc = crc32c(in->crc, dst, n);
	return 0;
}

/* in_trailer - the stored checksum, which must end the file */
static int
in_trailer(struct snap_in *in, const char *path, char *err, size_t errlen)
{
	unsigned char x[SNAP_CRC_LEN], extra;

	if (in_raw(in, x, sizeof(x)) < 0 || in_raw(in, &extra, 1) == 0) {
		snprintf(err, errlen, "%s changed while being read", path);
		return -1;
	}
	if (be32_get(x) != in->crc) {
		snprintf(err, errlen, "%s: checksum mismatch (stored %08x, "
		    "computed %08x): the file is corrupt", path, be32_get(x),
		    in->crc);
		return -1;
	}
	return 0;
}

/*
 * in_open - open path and read its header: magic, version and shape are
 * checked here, the checksum and the records later.
 */
static struct snap_in *
in_open(const char *path, struct snap_hdr *h, char *err, size_t errlen)
{
	unsigned char x[SNAP_HDR_LEN], *p;
	struct snap_in *in;
	struct stat sb;
	uint64_t size;
	size_t have, hlen;
	int i;

	memset(h, 0, sizeof(*h));
	if ((in = malloc(sizeof(*in))) == NULL)
		log_fatal("out of memory");
	memset(in, 0, offsetof(struct snap_in, buf));
	if ((in->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(in->fd, &sb) < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto fail;
	}
	size = (uint64_t)sb.st_size;
	have = size < SNAP_FIXED_LEN ? (size_t)size : SNAP_FIXED_LEN;
	if (in_raw(in, x, have) < 0) {
		snprintf(err, errlen, "read %s: short read", path);
		goto fail;
	}
	/* A file cut inside the magic is truncated, not foreign. */
	if (memcmp(x, SNAP_MAGIC, have < SNAP_MAGIC_LEN ? have :
	    SNAP_MAGIC_LEN) != 0) {
		snprintf(err, errlen, "%s is not a cairn snapshot (no %s "
		    "magic)", path, SNAP_MAGIC);
		goto fail;
	}
	p = x + SNAP_MAGIC_LEN;
	if (have >= SNAP_MAGIC_LEN + 4 &&
	    (h->version = be32_get(p)) != SNAP_VERSION && h->version != 1 &&
	    h->version != 2) {
		snprintf(err, errlen, "%s: snapshot format version %u, this "
		    "kvd reads versions 1 to %u", path, h->version,
		    SNAP_VERSION);
		goto fail;
	}
	h->ntables = h->version == 1 ? SNAP_NTABLES_V1 : h->version == 2 ?
	    SNAP_NTABLES_V2 : SNAP_NTABLES;
	hlen = SNAP_FIXED_LEN + (size_t)h->ntables * 8;
	if (size < hlen + SNAP_CRC_LEN) {
		snprintf(err, errlen, "%s is truncated (%" PRIu64 " bytes, "
		    "less than a header)", path, size);
		goto fail;
	}
	if (in_raw(in, x + SNAP_FIXED_LEN, hlen - SNAP_FIXED_LEN) < 0) {
		snprintf(err, errlen, "read %s: short read", path);
		goto fail;
	}
	h->applied = be64_get(p + 4);
	h->kv_index = be64_get(p + 12);
	h->catalog_index = be64_get(p + 20);
	if (be32_get(p + 28) != (uint32_t)h->ntables) {
		snprintf(err, errlen, "%s: %u tables, version %u has %d", path,
		    be32_get(p + 28), h->version, h->ntables);
		goto fail;
	}
	for (i = 0; i < h->ntables; i++)
		h->count[i] = be64_get(p + 32 + 8 * i);
	in->crc = crc32c(0, x, hlen);
	in->left = size - hlen - SNAP_CRC_LEN;
	return in;
fail:
	if (in->fd >= 0)
		close(in->fd);
	free(in);
	return NULL;
}

static void
in_close(struct snap_in *in)
{
	close(in->fd);
	free(in);
}

/*
 * in_finish - read the rest before the trailer and check the checksum:
 * after a record looked wrong, a checksum mismatch is the better answer
 * (a damaged file, not a bad writer).
 */
static int
in_finish(struct snap_in *in, const char *path, char *err, size_t errlen)
{
	unsigned char chunk[4096];
	size_t n;

	while (in->left > 0) {
		n = in->left < sizeof(chunk) ? (size_t)in->left : sizeof(chunk);
		if (in_get(in, chunk, n) < 0) {
			snprintf(err, errlen, "%s changed while being read",
			    path);
			return -1;
		}
	}
	return in_trailer(in, path, err, errlen);
}

/*
 * snap_walk - every record, checked; with t, each is also put into its
 * (truncated) table. The checksum is checked at the end of both passes,
 * so a file that changed between them is not committed either.
 */
static int
snap_walk(struct store *s, const char *path, DB_TXN *t, struct snap_hdr *hp,
    char *err, size_t errlen)
{
	unsigned char ah[ATTR_HDR_LEN];
	struct attr key, val, extra;
	struct attr_iter it;
	struct buf rec, prev;
	struct snap_hdr h;
	struct snap_in *in;
	char cerr[512];
	uint64_t n, *field;
	uint32_t len;
	DBT k, d;
	DB *db;
	int i, rc = -1, r, trailer = 0;

	if ((in = in_open(path, &h, err, errlen)) == NULL)
		return -1;
	buf_init(&rec);
	buf_init(&prev);
	for (i = 0; i < h.ntables; i++) {
		db = snap_db(s, i);
		buf_reset(&prev);
		for (n = 0; n < h.count[i]; n++) {
			if (in_get(in, ah, sizeof(ah)) < 0)
				goto truncated;
			len = be32_get(ah + 4);
			if (be16_get(ah) != i + 1) {
				snprintf(err, errlen, "%s: record %" PRIu64
				    " of %s has type %u", path, n,
				    snap_names[i], be16_get(ah));
				goto out;
			}
			if (len > SNAP_REC_MAX) {
				snprintf(err, errlen, "%s: record %" PRIu64
				    " of %s is %u bytes, over the limit", path,
				    n, snap_names[i], len);
				goto out;
			}
			if (len > in->left)
				goto truncated;
			buf_reset(&rec);
			buf_reserve(&rec, len);
			if (in_get(in, rec.data, len) < 0)
				goto truncated;
			rec.len = len;
			attr_iter_init(&it, buf_head(&rec), buf_used(&rec));
			if (attr_next(&it, &key) != 1 || key.type != A_KEY ||
			    attr_next(&it, &val) != 1 || val.type != A_VALUE ||
			    attr_next(&it, &extra) != 0) {
				snprintf(err, errlen, "%s: record %" PRIu64
				    " of %s is malformed", path, n,
				    snap_names[i]);
				goto out;
			}
			/* Sorted and unique, as a btree gives them. */
			if (n > 0 && snap_keycmp(buf_head(&prev),
			    buf_used(&prev), key.val, key.len) >= 0) {
				snprintf(err, errlen, "%s: record %" PRIu64
				    " of %s is out of order", path, n,
				    snap_names[i]);
				goto out;
			}
			buf_reset(&prev);
			buf_append(&prev, key.val, key.len);
			field = i == 0 ? snap_meta_index(&h, key.val,
			    key.len) : NULL;
			if (field != NULL && (val.len != 8 ||
			    be64_get(val.val) != *field)) {
				snprintf(err, errlen, "%s: meta %.*s disagrees "
				    "with the header", path, (int)key.len,
				    key.val);
				goto out;
			}
			if (field != NULL)
				h.in_meta++;
			if (t == NULL)
				continue;
			store_dbt(&k, key.val, key.len);
			store_dbt(&d, val.val, val.len);
			if ((r = db->put(db, t, &k, &d, 0)) != 0) {
				snprintf(err, errlen, "loading %s: %s",
				    snap_names[i], db_strerror(r));
				goto out;
			}
		}
	}
	if (in->left != 0) {
		snprintf(err, errlen, "%s: %" PRIu64 " bytes after the last "
		    "record", path, in->left);
		goto out;
	}
	trailer = 1;
	if ((rc = in_trailer(in, path, err, errlen)) == 0)
		*hp = h;
	goto out;
truncated:
	snprintf(err, errlen, "%s is truncated in record %" PRIu64 " of %s",
	    path, n, snap_names[i]);
out:
	if (rc < 0 && t == NULL && !trailer && in_finish(in, path, cerr,
	    sizeof(cerr)) < 0)
		snprintf(err, errlen, "%s", cerr);
	buf_free(&rec);
	buf_free(&prev);
	in_close(in);
	return rc;
}

/*
 * store_snapshot_restore - replace the whole state with path's. Refuses a
 * file that is not wholly well-formed before touching anything; then one
 * transaction truncates every table, loads the file and sets the indexes
 * from the header. Its commit is synchronous: raftd may drop its log up
 * to the snapshot as soon as we answer.
 */
int
store_snapshot_restore(struct store *s, const char *path, uint64_t *index,
    char *err, size_t errlen)
{
	struct snap_hdr h;
	u_int32_t dropped;
	DB_TXN *t;
	DB *db;
	int i, rc;

	if (snap_walk(s, path, NULL, &h, err, errlen) < 0)
		return -1;
	if ((rc = s->env->txn_begin(s->env, NULL, &t, 0)) != 0) {
		snprintf(err, errlen, "txn_begin: %s", db_strerror(rc));
		return -1;
	}
	for (i = 0; i < SNAP_NTABLES; i++) {
		db = snap_db(s, i);
		if ((rc = db->truncate(db, t, &dropped, 0)) != 0) {
			snprintf(err, errlen, "truncate %s: %s", snap_names[i],
			    db_strerror(rc));
			goto abort;
		}
	}
	if (snap_walk(s, path, t, &h, err, errlen) < 0)
		goto abort;
	/*
	 * meta's copies, when the file had them, were checked equal to the
	 * header and are loaded; otherwise they are written, but not as 0
	 * (absent reads as 0), so saving right after a restore gives the
	 * same file, byte for byte.
	 */
	if (h.in_meta < 3 && (
	    (h.applied > 0 && store_meta_put(s, t, "applied", h.applied) < 0) ||
	    (h.kv_index > 0 && store_meta_put(s, t, "kv_index",
	    h.kv_index) < 0) ||
	    (h.catalog_index > 0 && store_meta_put(s, t, "catalog_index",
	    h.catalog_index) < 0))) {
		snprintf(err, errlen, "cannot write the meta table");
		goto abort;
	}
	if ((rc = t->commit(t, DB_TXN_SYNC)) != 0) {
		/* A failed commit has aborted the transaction. */
		snprintf(err, errlen, "commit: %s", db_strerror(rc));
		return -1;
	}
	s->applied = h.applied;
	s->kv_index = h.kv_index;
	s->catalog_index = h.catalog_index;
	if (store_meta_get(s, "session_index", &s->session_index) < 0)
		s->session_index = h.applied;
	if (store_meta_get(s, "query_index", &s->query_index) < 0)
		s->query_index = h.applied;
	*index = h.applied;
	return 0;
abort:
	if ((rc = t->abort(t)) != 0)
		log_fatal("cannot abort a snapshot restore in %s: %s", s->dir,
		    db_strerror(rc));
	return -1;
}

/*
 * store_snapshot_apply - OP_RESTORE: a snapshot carried in a Raft entry
 * replaces the state, on every server, at that entry's index. A bad
 * snapshot is the writer's error (every server sees the same bytes, so
 * every server refuses it alike); the tables' indexes become the entry's.
 */
int
store_snapshot_apply(struct store *s, DB_TXN *t, uint64_t index,
    const struct attr *data, struct buf *res)
{
	struct snap_hdr h;
	u_int32_t dropped;
	char path[4300], err[512];
	DB *db;
	int fd, i, rc;

	snprintf(path, sizeof(path), "%s/restore.tmp", s->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || write(fd, data->val, data->len) !=
	    (ssize_t)data->len || close(fd) < 0) {
		log_error("restore: write %s: %s", path, strerror(errno));
		return -1;
	}
	if (snap_walk(s, path, NULL, &h, err, sizeof(err)) < 0) {
		unlink(path);
		res_error(res, 400, "not a cairn snapshot: %s", err);
		return 0;
	}
	for (i = 0; i < SNAP_NTABLES; i++) {
		db = snap_db(s, i);
		if ((rc = db->truncate(db, t, &dropped, 0)) != 0)
			return store_fail(rc, "restore: truncate");
	}
	if (snap_walk(s, path, t, &h, err, sizeof(err)) < 0) {
		log_error("restore: %s", err);
		unlink(path);
		return -1;
	}
	unlink(path);
	if (store_meta_put(s, t, "kv_index", index) < 0 ||
	    store_meta_put(s, t, "catalog_index", index) < 0 ||
	    store_meta_put(s, t, "session_index", index) < 0 ||
	    store_meta_put(s, t, "query_index", index) < 0)
		return -1;
	s->kv_index = s->catalog_index = s->session_index = index;
	s->query_index = index;
	store_note(s, TOUCH_ALL, "", 0);
	log_info("restored a snapshot of index %" PRIu64 " at index %" PRIu64,
	    h.applied, index);
	attr_put_u8(res, A_RESULT, 1);
	return 0;
}
