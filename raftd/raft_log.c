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
	return crc32c(0, rec + 8, 16 + len);
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
		if (index != l->last + 1) {
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
raft_log_open(struct raft_log *l, const char *dir, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	buf_init(&l->wbuf);
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
raft_log_append(struct raft_log *l, uint64_t term, const void *payload,
    size_t len)
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
    uint64_t *term)
{
	unsigned char hdr[RAFT_REC_HDR];
	uint64_t off;
	uint32_t len;

	if (index == 0 || index > l->synced)
		return -1;
	off = l->offs[index - 1];
	if (pread(l->fd, hdr, sizeof(hdr), (off_t)off) != sizeof(hdr))
		return -1;
	len = be32_get(hdr);
	if (len > RAFT_REC_MAX || be64_get(hdr + 8) != index)
		return -1;
	*term = be64_get(hdr + 16);
	buf_reserve(out, len);
	if (pread(l->fd, out->data + out->len, len,
	    (off_t)(off + RAFT_REC_HDR)) != (ssize_t)len)
		return -1;
	out->len += len;
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
