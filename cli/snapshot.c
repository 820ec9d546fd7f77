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
 * The GET is made with libcurl here rather than through http_do, which
 * can neither stream a body to a file nor hand back a header.
 *
 * Leaves out: snapshot inspect (the format carries no ID, term or index
 * for it to show), snapshot agent, and save's -append-filename.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "crc32c.h"
#include "log.h"

/* magic, the u32 version, the CRC: less is surely not a snapshot */
#define SNAPSHOT_MIN	(SNAPSHOT_MAGIC_LEN + 4 + 4)
/* error bodies kept for the message; http_status_error shows 1000 */
#define SNAPSHOT_ERRBODY 4096

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

/* What the save transfer needs in curl's callbacks. */
struct snapshot_get {
	CURL			*curl;
	int			 fd;		/* FILE.tmp */
	int			 werrno;	/* write(2) failed */
	struct snapshot_check	 check;		/* of what was written */
	struct buf		 errbody;	/* a non-200 answer's body */
	char			 index[64];	/* X-Consul-Index */
	int			 has_index;
};

/* snapshot_header_cb - keep X-Consul-Index of the final answer */
static size_t
snapshot_header_cb(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = "X-Consul-Index:";
	struct snapshot_get *g = arg;
	size_t len = size * n, nl = sizeof(name) - 1;

	/* A new status line (after 100 Continue, say) starts over. */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		g->has_index = 0;
	if (len < nl || strncasecmp(p, name, nl) != 0)
		return len;
	p += nl;
	len -= nl;
	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' ||
	    p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	/* Too long to be a number: keep enough to be reported as bad. */
	if (len >= sizeof(g->index))
		len = sizeof(g->index) - 1;
	memcpy(g->index, p, len);
	g->index[len] = '\0';
	g->has_index = 1;
	return size * n;
}

/* snapshot_write_cb - a 200's body to the file, any other to errbody */
static size_t
snapshot_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct snapshot_get *g = arg;
	size_t len = size * n, done = 0;
	long code = 0;
	ssize_t w;

	curl_easy_getinfo(g->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		if (buf_used(&g->errbody) < SNAPSHOT_ERRBODY)
			buf_append(&g->errbody, p, len);
		return len;
	}
	while (done < len) {
		if ((w = write(g->fd, p + done, len - done)) < 0) {
			if (errno == EINTR)
				continue;
			g->werrno = errno;
			return 0;	/* curl stops with CURLE_WRITE_ERROR */
		}
		done += (size_t)w;
	}
	snapshot_check_update(&g->check, p, len);
	return len;
}

/*
 * snapshot_transport_error - Go's words for a failed GET, as http_do
 * gives them: `Get "url": dial tcp host: connect: connection refused`.
 */
static void
snapshot_transport_error(const struct http_client *c, CURL *h, CURLcode rc,
    const char *url, const char *cerr, char *err, size_t errlen)
{
	char why[256], host[300], *ip = NULL;
	long oserr = 0, port = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &oserr);
	if (rc == CURLE_COULDNT_CONNECT && oserr != 0) {
		snprintf(why, sizeof(why), "%s", strerror((int)oserr));
		why[0] = (char)tolower((unsigned char)why[0]);
		if (c->unix_path[0] != '\0') {
			snprintf(err, errlen, "Get \"%s\": dial unix %s: "
			    "connect: %s", url, c->unix_path, why);
			return;
		}
		if (curl_easy_getinfo(h, CURLINFO_PRIMARY_IP, &ip) ==
		    CURLE_OK && ip != NULL && *ip != '\0' &&
		    curl_easy_getinfo(h, CURLINFO_PRIMARY_PORT, &port) ==
		    CURLE_OK && port > 0)
			snprintf(host, sizeof(host), strchr(ip, ':') ?
			    "[%s]:%ld" : "%s:%ld", ip, port);
		else
			snprintf(host, sizeof(host), "%s", c->host);
		snprintf(err, errlen, "Get \"%s\": dial tcp %s: connect: %s",
		    url, host, why);
		return;
	}
	if (rc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(host, sizeof(host), "%s", c->host);
		host[strcspn(host, ":")] = '\0';
		snprintf(err, errlen, "Get \"%s\": dial tcp: lookup %s: no "
		    "such host", url, host);
		return;
	}
	snprintf(err, errlen, "Get \"%s\": %s", url,
	    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
}

/*
 * snapshot_get - GET /v1/snapshot into fd, as http_do would build the
 * request. Returns 0 with the body written and checked, or -1 with
 * Consul's message (the whole line) in err.
 */
static int
snapshot_get(const struct http_client *c, int fd, const char *tmp,
    struct snapshot_check *check, uint64_t *index, char *err,
    size_t errlen)
{
	struct snapshot_get g;
	struct curl_slist *hdrs = NULL;
	struct http_resp resp;
	char cerr[CURL_ERROR_SIZE] = "", why[1200];
	const char *sep = "?";
	struct buf url, h;
	CURLcode rc;
	int ret = -1;

	memset(&g, 0, sizeof(g));
	g.fd = fd;
	snapshot_check_init(&g.check);
	buf_init(&g.errbody);
	buf_init(&url);
	buf_init(&h);
	buf_printf(&url, "%s/v1/snapshot", c->base);
	if (c->dc[0] != '\0') {
		buf_puts(&url, "?dc=");
		http_escape_query(&url, c->dc);
		sep = "&";
	}
	if (c->stale)
		buf_printf(&url, "%sstale=", sep);
	if ((g.curl = curl_easy_init()) == NULL)
		log_fatal("out of memory");
	curl_easy_setopt(g.curl, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(g.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(g.curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(g.curl, CURLOPT_WRITEFUNCTION, snapshot_write_cb);
	curl_easy_setopt(g.curl, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(g.curl, CURLOPT_HEADERFUNCTION, snapshot_header_cb);
	curl_easy_setopt(g.curl, CURLOPT_HEADERDATA, &g);
	curl_easy_setopt(g.curl, CURLOPT_USERAGENT, "cairn/" CLI_VERSION);
	if (c->unix_path[0] != '\0')
		curl_easy_setopt(g.curl, CURLOPT_UNIX_SOCKET_PATH,
		    c->unix_path);
	if (c->token[0] != '\0') {
		buf_printf(&h, "X-Consul-Token: %s", c->token);
		hdrs = curl_slist_append(hdrs, buf_cstr(&h));
		curl_easy_setopt(g.curl, CURLOPT_HTTPHEADER, hdrs);
	}
	rc = curl_easy_perform(g.curl);
	if (rc == CURLE_WRITE_ERROR && g.werrno != 0)
		snprintf(err, errlen, "Error writing unverified snapshot file: "
		    "write %s: %s", tmp, strerror(g.werrno));
	else if (rc != CURLE_OK) {
		snapshot_transport_error(c, g.curl, rc, buf_cstr(&url), cerr,
		    why, sizeof(why));
		snprintf(err, errlen, "Error saving snapshot: %s", why);
	} else {
		curl_easy_getinfo(g.curl, CURLINFO_RESPONSE_CODE, &resp.code);
		if (resp.code != 200) {
			resp.body = g.errbody;
			http_status_error(&resp, why, sizeof(why));
			snprintf(err, errlen, "Error saving snapshot: %s", why);
		} else if (g.has_index && snapshot_index_parse(g.index, index,
		    why, sizeof(why)) < 0)
			snprintf(err, errlen, "Error saving snapshot: %s", why);
		else {
			/* No header (a hash-based answer): index 0, as api. */
			if (!g.has_index)
				*index = 0;
			*check = g.check;
			ret = 0;
		}
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(g.curl);
	buf_free(&g.errbody);
	buf_free(&url);
	buf_free(&h);
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
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL) {
		fputs(snapshot_help, stderr);
		return 1;
	}
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "-help") == 0 ||
	    strcmp(sub, "--help") == 0) {
		fputs(snapshot_help, stdout);
		return 0;
	}
	if (strcmp(sub, "save") == 0)
		return snapshot_save(argc - 2, argv + 2);
	if (strcmp(sub, "restore") == 0)
		return snapshot_restore(argc - 2, argv + 2);
	fputs(snapshot_help, stderr);
	return 1;
}
