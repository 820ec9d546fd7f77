/*
 * raft_log.c - checksummed append-only log with group commit.
 * See raft_log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"
#include "raft_log.h"

/* offs_push - remember where an entry starts */
static void
offs_push(struct raft_log *l, uint64_t off)
{
	if (l->noffs == l->capoffs) {
		l->capoffs = l->capoffs ? l->capoffs * 2 : 1024;
		l->offs = realloc(l->offs, l->capoffs * sizeof(*l->offs));
		if (l->offs == NULL)
			log_fatal("out of memory");
	}
	l->offs[l->noffs++] = off;
}

/* rec_crc - checksum of a record from its index field on */
static uint32_t
rec_crc(const unsigned char *rec, size_t len)
{
	return crc32c(0, rec + 8, RAFT_REC_HDR - 8 + len);
}

/*
 * raft_log_scan - walk the file, index every good record, and cut at the
 * first one that is incomplete or does not check out.
 */
static int
raft_log_scan(struct raft_log *l, char *err, size_t errlen)
{
	unsigned char hdr[RAFT_REC_HDR];
	struct buf rec;
	uint64_t off = 0, index, term;
	uint32_t len, crc;
	struct stat st;
	const char *why = NULL;
	ssize_t n;

	if (fstat(l->fd, &st) == -1) {
		snprintf(err, errlen, "stat %s: %s", l->path, strerror(errno));
		return -1;
	}
	buf_init(&rec);
	while (off < (uint64_t)st.st_size) {
		if ((uint64_t)st.st_size - off < RAFT_REC_HDR) {
			why = "short header";
			break;
		}
		if (pread(l->fd, hdr, sizeof(hdr), off) != sizeof(hdr)) {
			why = "read error";
			break;
		}
		len = be32_get(hdr);
		crc = be32_get(hdr + 4);
		index = be64_get(hdr + 8);
		term = be64_get(hdr + 16);
		if (len > RAFT_REC_MAX ||
		    (uint64_t)st.st_size - off - RAFT_REC_HDR < len) {
			why = "length past the end";
			break;
		}
		buf_reset(&rec);
		buf_reserve(&rec, RAFT_REC_HDR + len);
		memcpy(rec.data, hdr, RAFT_REC_HDR);
		n = pread(l->fd, rec.data + RAFT_REC_HDR, len,
		    off + RAFT_REC_HDR);
		if (n != (ssize_t)len) {
			why = "read error";
			break;
		}
		if (rec_crc(rec.data, len) != crc) {
			why = "checksum mismatch";
			break;
		}
		/* The first record says where the log starts. */
		if (l->noffs == 0)
			l->base = l->last = index - 1;
		if (index != l->last + 1 || index == 0) {
			why = "index out of sequence";
			break;
		}
		offs_push(l, off);
		l->last = index;
		l->last_term = term;
		off += RAFT_REC_HDR + len;
	}
	buf_free(&rec);
	if (why != NULL) {
		/* Only a crash mid-write leaves this; it was never acked. */
		log_warn("%s: %s at offset %" PRIu64 " after index %" PRIu64
		    "; cutting %" PRIu64 " bytes", l->path, why, off, l->last,
		    (uint64_t)st.st_size - off);
		if (ftruncate(l->fd, (off_t)off) == -1 || fsync(l->fd) == -1) {
			snprintf(err, errlen, "truncate %s: %s", l->path,
			    strerror(errno));
			return -1;
		}
	}
	l->end = off;
	l->synced = l->last;
	return 0;
}

/* fsync_dir - make a file's directory entry durable */
static void
fsync_dir(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

int
raft_log_open(struct raft_log *l, const char *dir, uint64_t base, char *err,
    size_t errlen)
{
	memset(l, 0, sizeof(*l));
	buf_init(&l->wbuf);
	l->base = l->last = base;
	snprintf(l->path, sizeof(l->path), "%s/log", dir);
	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd == -1) {
		snprintf(err, errlen, "open %s: %s", l->path, strerror(errno));
		return -1;
	}
	fsync_dir(dir);
	return raft_log_scan(l, err, errlen);
}

/* raft_log_append - buffer one entry; returns its index */
uint64_t
raft_log_append(struct raft_log *l, uint64_t term, uint8_t type,
    const void *payload, size_t len)
{
	unsigned char *rec;
	size_t at;

	buf_reserve(&l->wbuf, RAFT_REC_HDR + len);
	at = l->wbuf.len;
	rec = l->wbuf.data + at;
	l->last++;
	l->last_term = term;
	be32_put(rec, (uint32_t)len);
	be64_put(rec + 8, l->last);
	be64_put(rec + 16, term);
	rec[24] = type;
	if (len > 0)
		memcpy(rec + RAFT_REC_HDR, payload, len);
	be32_put(rec + 4, rec_crc(rec, len));
	l->wbuf.len += RAFT_REC_HDR + len;
	offs_push(l, l->end + at - l->wbuf.off);
	return l->last;
}

/* raft_log_sync - one write and one fdatasync for everything buffered */
int
raft_log_sync(struct raft_log *l, char *err, size_t errlen)
{
	ssize_t n;

	while (buf_used(&l->wbuf) > 0) {
		n = pwrite(l->fd, buf_head(&l->wbuf), buf_used(&l->wbuf),
		    (off_t)l->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "write %s: %s", l->path,
			    n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		l->end += (uint64_t)n;
		buf_consume(&l->wbuf, (size_t)n);
	}
	if (l->synced == l->last)
		return 0;
	if (fdatasync(l->fd) == -1) {
		snprintf(err, errlen, "fdatasync %s: %s", l->path,
		    strerror(errno));
		return -1;
	}
	l->nsyncs++;
	l->synced = l->last;
	return 0;
}

/* raft_log_read - read back one synced entry */
int
raft_log_read(struct raft_log *l, uint64_t index, struct buf *out,
    uint64_t *term, uint8_t *type)
{
	unsigned char hdr[RAFT_REC_HDR];
	uint64_t off;
	uint32_t len;

	if (index <= l->base || index > l->synced)
		return -1;
	off = l->offs[index - l->base - 1];
	if (pread(l->fd, hdr, sizeof(hdr), (off_t)off) != sizeof(hdr))
		return -1;
	len = be32_get(hdr);
	if (len > RAFT_REC_MAX || be64_get(hdr + 8) != index)
		return -1;
	*term = be64_get(hdr + 16);
	if (type != NULL)
		*type = hdr[24];
	buf_reserve(out, len);
	if (pread(l->fd, out->data + out->len, len,
	    (off_t)(off + RAFT_REC_HDR)) != (ssize_t)len)
		return -1;
	out->len += len;
	return 0;
}

/* raft_log_truncate - cut a conflicting suffix (a follower's, 5.3) */
int
raft_log_truncate(struct raft_log *l, uint64_t index, char *err,
    size_t errlen)
{
	uint64_t off;

	if (index <= l->base || index > l->last)
		return 0;
	/* Unwritten entries go first; the file is cut to what is left. */
	if (raft_log_sync(l, err, errlen) < 0)
		return -1;
	off = l->offs[index - l->base - 1];
	if (ftruncate(l->fd, (off_t)off) == -1) {
		snprintf(err, errlen, "truncate %s: %s", l->path,
		    strerror(errno));
		return -1;
	}
	l->noffs = index - l->base - 1;
	l->end = off;
	l->last = index - 1;
	if (l->synced > l->last)
		l->synced = l->last;
	return 0;
}

/*
 * raft_log_compact - keep only entries after index: copy them to a new
 * file, sync it, rename it over the log. A crash leaves either file,
 * both whole.
 */
int
raft_log_compact(struct raft_log *l, uint64_t index, char *err,
    size_t errlen)
{
	char tmp[4200], dir[4200], *slash;
	unsigned char chunk[65536];
	uint64_t from, off, i, keep;
	ssize_t n;
	int fd;

	if (index <= l->base)
		return 0;
	if (raft_log_sync(l, err, errlen) < 0)
		return -1;
	if (index > l->last)
		index = l->last;
	from = index < l->last ? l->offs[index - l->base] : l->end;
	snprintf(tmp, sizeof(tmp), "%s.tmp", l->path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(err, errlen, "open %s: %s", tmp, strerror(errno));
		return -1;
	}
	for (off = from; off < l->end; off += (uint64_t)n) {
		n = pread(l->fd, chunk, sizeof(chunk), (off_t)off);
		if (n <= 0 || write(fd, chunk, (size_t)n) != n) {
			snprintf(err, errlen, "copy to %s: %s", tmp,
			    n < 0 ? strerror(errno) : "short I/O");
			close(fd);
			return -1;
		}
	}
	if (fsync(fd) == -1 || rename(tmp, l->path) == -1) {
		snprintf(err, errlen, "replace %s: %s", l->path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", l->path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		fsync_dir(dir);
	}
	close(fd);
	close(l->fd);
	if ((l->fd = open(l->path, O_RDWR | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "reopen %s: %s", l->path,
		    strerror(errno));
		return -1;
	}
	keep = l->last - index;
	for (i = 0; i < keep; i++)
		l->offs[i] = l->offs[index - l->base + i] - from;
	l->noffs = keep;
	l->end -= from;
	l->base = index;
	return 0;
}

/* raft_log_reset - an installed snapshot replaces the whole log */
int
raft_log_reset(struct raft_log *l, uint64_t base, char *err, size_t errlen)
{
	buf_reset(&l->wbuf);
	if (ftruncate(l->fd, 0) == -1 || fsync(l->fd) == -1) {
		snprintf(err, errlen, "truncate %s: %s", l->path,
		    strerror(errno));
		return -1;
	}
	l->noffs = 0;
	l->end = 0;
	l->base = l->last = l->synced = base;
	return 0;
}

void
raft_log_close(struct raft_log *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->offs);
	l->offs = NULL;
	buf_free(&l->wbuf);
}

int
raft_meta_load(const char *dir, uint64_t *term, char *vote, size_t votelen,
    char *err, size_t errlen)
{
	char path[4200], line[256], v[128];
	unsigned long long t;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/meta", dir);
	*term = 0;
	vote[0] = '\0';
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	v[0] = '\0';
	if (fgets(line, sizeof(line), fp) == NULL ||
	    sscanf(line, "term %llu vote %127s", &t, v) < 1) {
		fclose(fp);
		snprintf(err, errlen, "%s: unreadable; expected "
		    "\"term N vote ID\"", path);
		return -1;
	}
	fclose(fp);
	*term = t;
	snprintf(vote, votelen, "%s", strcmp(v, "-") == 0 ? "" : v);
	return 0;
}

/* raft_meta_save - write tmp, fsync, rename, fsync the directory */
int
raft_meta_save(const char *dir, uint64_t term, const char *vote, char *err,
    size_t errlen)
{
	char path[4200], tmp[4200], line[256];
	int fd, n;

	snprintf(path, sizeof(path), "%s/meta", dir);
	snprintf(tmp, sizeof(tmp), "%s/meta.tmp", dir);
	n = snprintf(line, sizeof(line), "term %" PRIu64 " vote %s\n", term,
	    vote[0] ? vote : "-");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, line, n) != n || fsync(fd) == -1) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		return -1;
	}
	fsync_dir(dir);
	return 0;
}
