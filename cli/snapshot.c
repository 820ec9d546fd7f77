/*
 * snapshot.c - `cairn snapshot save|restore FILE`, Consul's
 * command/snapshot: save streams GET /v1/snapshot into FILE.tmp, fsyncs
 * it, reads it back to verify it and renames it to FILE, so FILE is
 * either the old file or a whole, checked snapshot; it prints
 *
 *	Saved and verified snapshot to index N
 *
 * with N from the X-Consul-Index header. restore sends FILE as the body
 * of PUT /v1/snapshot and prints "Restored snapshot". Failures are
 * Consul's messages on stderr with exit 1.
 *
 * The file is opaque here except for what verification needs: kvd's
 * format (kvd/snapshot.c) starts with the 9 bytes "CAIRNSNAP" and a u32
 * version and ends with a CRC-32C, big-endian, of everything before it.
 * The version and the header after it are left to the server, so a newer
 * format still saves. Consul's files are gzip'd tars and are neither read
 * nor written.
 *
 * The GET goes through http_stream, whose sink writes FILE.tmp and feeds
 * the check as the body arrives, so no snapshot is held in memory.
 *
 * Leaves out: snapshot inspect (the format carries no ID, term or index
 * for it to show), snapshot agent, and save's -append-filename.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crc32c.h"

/* magic, the u32 version, the CRC: less is surely not a snapshot */
#define SNAPSHOT_MIN	(SNAPSHOT_MAGIC_LEN + 4 + 4)

static const char snapshot_help[] =
"Usage: cairn snapshot <subcommand> [options] [args]\n"
"\n"
"  This command has subcommands for saving and restoring the state of the\n"
"  cairn servers for disaster recovery. These are atomic, point-in-time\n"
"  snapshots which include key/value entries, service catalog, prepared\n"
"  queries and sessions.\n"
"\n"
"  If ACLs are enabled, a management token must be supplied in order to\n"
"  perform snapshot operations.\n"
"\n"
"  Create a snapshot:\n"
"\n"
"      $ cairn snapshot save backup.snap\n"
"\n"
"  Restore a snapshot:\n"
"\n"
"      $ cairn snapshot restore backup.snap\n"
"\n"
"  For more examples, ask for subcommand help.\n"
"\n"
"Subcommands:\n"
"    restore    Restores snapshot of cairn server state\n"
"    save       Saves snapshot of cairn server state\n";

static const char snapshot_save_help[] =
"Usage: cairn snapshot save [options] FILE\n"
"\n"
"  Retrieves an atomic, point-in-time snapshot of the state of the cairn\n"
"  servers which includes key/value entries, service catalog, prepared\n"
"  queries and sessions.\n"
"\n"
"  If ACLs are enabled, a management token must be supplied in order to\n"
"  perform snapshot operations.\n"
"\n"
"  To create a snapshot from the leader server and save it to\n"
"  \"backup.snap\":\n"
"\n"
"    $ cairn snapshot save backup.snap\n"
"\n"
"  To create a potentially stale snapshot from any available server\n"
"  (useful if no leader is available):\n"
"\n"
"    $ cairn snapshot save -stale backup.snap\n";

static const char snapshot_restore_help[] =
"Usage: cairn snapshot restore [options] FILE\n"
"\n"
"  Restores an atomic, point-in-time snapshot of the state of the cairn\n"
"  servers which includes key/value entries, service catalog, prepared\n"
"  queries and sessions.\n"
"\n"
"  Restores involve a potentially dangerous low-level Raft operation that\n"
"  is not designed to handle server failures during a restore. This\n"
"  command is primarily intended to be used when recovering from a\n"
"  disaster, restoring into a fresh cluster of cairn servers.\n"
"\n"
"  If ACLs are enabled, a management token must be supplied in order to\n"
"  perform snapshot operations.\n"
"\n"
"  To restore a snapshot from the file \"backup.snap\":\n"
"\n"
"    $ cairn snapshot restore backup.snap\n";

static const char *const snapshot_titles[] = { "HTTP API Options" };

/* snapshot_check_init - see cli.h */
void
snapshot_check_init(struct snapshot_check *sc)
{
	memset(sc, 0, sizeof(*sc));
}

/*
 * snapshot_check_update - see cli.h. The CRC covers all but the last four
 * bytes, which are not known to be the last until the end: the newest
 * four are held back in tail and fed to the CRC once more data pushes
 * them out.
 */
void
snapshot_check_update(struct snapshot_check *sc, const void *data,
    size_t n)
{
	const unsigned char *p = data;
	size_t k, out;

	for (k = 0; sc->size + k < SNAPSHOT_MAGIC_LEN && k < n; k++)
		sc->head[sc->size + k] = p[k];
	sc->size += n;
	if (sc->ntail + n <= 4) {
		memcpy(sc->tail + sc->ntail, p, n);
		sc->ntail += n;
		return;
	}
	/* ntail + n - 4 bytes leave the window: the held ones first. */
	out = sc->ntail + n - 4;
	k = out < sc->ntail ? out : sc->ntail;
	sc->crc = crc32c(sc->crc, sc->tail, k);
	memmove(sc->tail, sc->tail + k, sc->ntail - k);
	sc->ntail -= k;
	out -= k;
	sc->crc = crc32c(sc->crc, p, out);
	memcpy(sc->tail + sc->ntail, p + out, n - out);
	sc->ntail += n - out;
}

/* snapshot_check_done - see cli.h */
int
snapshot_check_done(const struct snapshot_check *sc, char *err,
    size_t errlen)
{
	uint32_t want;

	if (sc->size >= SNAPSHOT_MAGIC_LEN &&
	    memcmp(sc->head, SNAPSHOT_MAGIC, SNAPSHOT_MAGIC_LEN) != 0) {
		snprintf(err, errlen, "not a cairn snapshot (no %s magic)",
		    SNAPSHOT_MAGIC);
		return -1;
	}
	if (sc->size < SNAPSHOT_MIN) {
		snprintf(err, errlen, "snapshot too short (%" PRIu64 " bytes)",
		    sc->size);
		return -1;
	}
	if ((want = be32_get(sc->tail)) != sc->crc) {
		snprintf(err, errlen, "checksum mismatch (file has %08" PRIx32
		    ", contents give %08" PRIx32 ")", want, sc->crc);
		return -1;
	}
	return 0;
}

/* snapshot_index_parse - see cli.h */
int
snapshot_index_parse(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p;
	uint64_t v = 0;
	int d;

	*out = 0;
	if (*s == '\0')
		goto syntax;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		d = *p - '0';
		if (v > (UINT64_MAX - (uint64_t)d) / 10) {
			snprintf(err, errlen, "Failed to parse X-Consul-Index: "
			    "strconv.ParseUint: parsing \"%.60s\": value out "
			    "of range", s);
			return -1;
		}
		v = v * 10 + (uint64_t)d;
	}
	*out = v;
	return 0;
syntax:
	snprintf(err, errlen, "Failed to parse X-Consul-Index: "
	    "strconv.ParseUint: parsing \"%.60s\": invalid syntax", s);
	return -1;
}

/* What the save transfer's sink needs. */
struct snapshot_sink {
	int			 fd;		/* FILE.tmp */
	int			 werrno;	/* write(2) failed */
	struct snapshot_check	 check;		/* of what was written */
};

/* snapshot_sink_cb - a 200's body into FILE.tmp, checked as it goes */
static int
snapshot_sink_cb(void *arg, const void *data, size_t len)
{
	struct snapshot_sink *s = arg;
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t w;

	while (done < len) {
		if ((w = write(s->fd, p + done, len - done)) < 0) {
			if (errno == EINTR)
				continue;
			s->werrno = errno;
			return -1;
		}
		done += (size_t)w;
	}
	snapshot_check_update(&s->check, p, len);
	return 0;
}

/*
 * snapshot_get - GET /v1/snapshot into fd. Returns 0 with the body
 * written and checked, or -1 with Consul's message (the whole line) in
 * err.
 */
static int
snapshot_get(const struct http_client *c, int fd, const char *tmp,
    struct snapshot_check *check, uint64_t *index, char *err,
    size_t errlen)
{
	struct snapshot_sink s;
	struct http_resp resp;
	char why[1200];
	int ret = -1;

	memset(&s, 0, sizeof(s));
	s.fd = fd;
	snapshot_check_init(&s.check);
	memset(&resp, 0, sizeof(resp));
	resp.sink = snapshot_sink_cb;
	resp.sink_arg = &s;
	if (http_stream(c, "GET", "/v1/snapshot", "", 1, NULL, 0, &resp, why,
	    sizeof(why)) < 0) {
		if (s.werrno != 0)
			snprintf(err, errlen, "Error writing unverified "
			    "snapshot file: write %s: %s", tmp,
			    strerror(s.werrno));
		else
			snprintf(err, errlen, "Error saving snapshot: %s", why);
	} else if (resp.code != 200) {
		http_status_error(&resp, why, sizeof(why));
		snprintf(err, errlen, "Error saving snapshot: %s", why);
	} else if (resp.has_index && snapshot_index_parse(resp.index, index,
	    why, sizeof(why)) < 0)
		snprintf(err, errlen, "Error saving snapshot: %s", why);
	else {
		/* No header (a hash-based answer): index 0, as api. */
		if (!resp.has_index)
			*index = 0;
		*check = s.check;
		ret = 0;
	}
	buf_free(&resp.body);
	return ret;
}

/* snapshot_verify_file - read path back and check it; -1 with why */
static int
snapshot_verify_file(const char *path, char *err, size_t errlen)
{
	struct snapshot_check sc;
	unsigned char chunk[65536];
	char why[256];
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "Error opening snapshot file for verify: "
		    "open %s: %s", path, strerror(errno));
		return -1;
	}
	snapshot_check_init(&sc);
	for (;;) {
		if ((r = read(fd, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "Error verifying snapshot file: "
			    "read %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		snapshot_check_update(&sc, chunk, (size_t)r);
	}
	close(fd);
	if (snapshot_check_done(&sc, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "Error verifying snapshot file: %s",
		    why);
		return -1;
	}
	return 0;
}

/* sync_dir - fsync the directory holding path, so a rename lasts */
static int
sync_dir(const char *path)
{
	char *copy = cli_xstrdup(path);
	int fd, rc = 0;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || fsync(fd) < 0)
		rc = -1;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/* usage - a command's help: on stdout when asked, on stderr after errors */
static int
usage(FILE *fp, const char *text, const struct cli_flag *const *tabs, int rc)
{
	struct buf b;

	buf_init(&b);
	cli_usage(&b, text, tabs, snapshot_titles);
	cli_write(fp, &b);
	buf_free(&b);
	return rc;
}

/*
 * file_arg - the flags and exactly one FILE: its index, or -1 with *rc
 * set when the command is done (help, or Consul's error).
 */
static int
file_arg(int argc, char **argv, const char *help,
    const struct cli_flag *const *tabs, int *rc)
{
	char err[512];
	int r;

	r = cli_flags_parse(argc, argv, tabs, err, sizeof(err));
	if (r == -2) {
		*rc = usage(stdout, help, tabs, 0);
		return -1;
	}
	*rc = 1;
	if (r == -1) {
		fprintf(stderr, "%s\n", err);
		usage(stderr, help, tabs, 1);
		return -1;
	}
	if (argc - r == 0) {
		fprintf(stderr, "Missing FILE argument\n");
		return -1;
	}
	if (argc - r > 1) {
		fprintf(stderr, "Too many arguments (expected 1, got %d)\n",
		    argc - r);
		return -1;
	}
	return r;
}

/* snapshot_save - `cairn snapshot save FILE` (command/snapshot/save) */
static int
snapshot_save(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct snapshot_check sc;
	struct buf tmp;
	const char *file;
	char err[1500];
	uint64_t index = 0;
	int r, rc = 1, fd;

	http_flags_init(&hf, 1);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if ((r = file_arg(argc, argv, snapshot_save_help, tabs, &rc)) < 0)
		return rc;
	file = argv[r];
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	buf_init(&tmp);
	buf_printf(&tmp, "%s.tmp", file);
	if ((fd = open(buf_cstr(&tmp), O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "Error writing unverified snapshot file: open "
		    "%s: %s\n", buf_cstr(&tmp), strerror(errno));
		buf_free(&tmp);
		return 1;
	}
	if (snapshot_get(&c, fd, buf_cstr(&tmp), &sc, &index, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		close(fd);
		goto fail;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "Error writing unverified snapshot file: sync "
		    "%s: %s\n", buf_cstr(&tmp), strerror(errno));
		goto fail;
	}
	/* What reached the disk, not what curl handed over, is checked. */
	if (snapshot_verify_file(buf_cstr(&tmp), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto fail;
	}
	if (rename(buf_cstr(&tmp), file) < 0) {
		fprintf(stderr, "Error renaming \"%s\" to \"%s\": rename %s "
		    "%s: %s\n", buf_cstr(&tmp), file, buf_cstr(&tmp), file,
		    strerror(errno));
		goto fail;
	}
	if (sync_dir(file) < 0) {
		fprintf(stderr, "Error renaming \"%s\" to \"%s\": sync "
		    "directory: %s\n", buf_cstr(&tmp), file, strerror(errno));
		buf_free(&tmp);
		return 1;
	}
	buf_free(&tmp);
	printf("Saved and verified snapshot to index %" PRIu64 "\n", index);
	return fflush(stdout) == EOF ? 1 : 0;
fail:
	unlink(buf_cstr(&tmp));
	buf_free(&tmp);
	return 1;
}

/* read_file - all of path into b; -1 with errno set */
static int
read_file(const char *path, struct buf *b)
{
	unsigned char chunk[65536];
	ssize_t r;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		if ((r = read(fd, chunk, sizeof(chunk))) < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		buf_append(b, chunk, (size_t)r);
	}
	close(fd);
	return 0;
}

/* snapshot_restore - `cairn snapshot restore FILE` (.../restore) */
static int
snapshot_restore(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct buf data;
	const char *file;
	char err[1200];
	int r, rc = 1;

	http_flags_init(&hf, 1);
	const struct cli_flag *const tabs[] = { hf.tab, NULL };

	if ((r = file_arg(argc, argv, snapshot_restore_help, tabs, &rc)) < 0)
		return rc;
	file = argv[r];
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return 1;
	}
	buf_init(&data);
	if (read_file(file, &data) < 0) {
		fprintf(stderr, "Error opening snapshot file: open %s: %s\n",
		    file, strerror(errno));
		buf_free(&data);
		return 1;
	}
	/* The server checks the snapshot; Consul's command does not. */
	r = http_do(&c, "PUT", "/v1/snapshot", "", 0, buf_used(&data) > 0 ?
	    (const void *)buf_head(&data) : "", buf_used(&data), &resp, err,
	    sizeof(err));
	buf_free(&data);
	if (r < 0) {
		fprintf(stderr, "Error restoring snapshot: %s\n", err);
		return 1;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		fprintf(stderr, "Error restoring snapshot: %s\n", err);
		buf_free(&resp.body);
		return 1;
	}
	buf_free(&resp.body);
	printf("Restored snapshot\n");
	return fflush(stdout) == EOF ? 1 : 0;
}

/* snapshot_main - `cairn snapshot <subcommand>`; argv[0] is "snapshot" */
int
snapshot_main(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "save", snapshot_save },
		{ "restore", snapshot_restore },
		{ NULL, NULL }
	};

	return cli_subcommand(argc - 1, argv + 1, snapshot_help, subs);
}
