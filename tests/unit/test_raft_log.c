/*
 * test_raft_log.c - the durable log: entries survive a reopen, and a torn
 * or corrupted tail is cut off at the last good record, never read.
 */
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft_log.h"
#include "test.h"

static char dir[64];

static void
fresh_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		abort();
	snprintf(dir, sizeof(dir), "/tmp/cairn-rl.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
}

/* fill - n entries "entry-<i>" in term 1, synced */
static void
fill(struct raft_log *l, int n)
{
	char p[32], err[128];
	uint64_t start = l->last;
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(p, sizeof(p), "entry-%d", (int)start + i);
		CHECK(raft_log_append(l, 1 + (start + i) / 10, 0, p, strlen(p)) ==
		    start + i);
	}
	CHECK(raft_log_sync(l, err, sizeof(err)) == 0);
}

static void
test_reopen(void)
{
	struct raft_log l;
	struct buf b;
	char err[128];
	uint64_t term;

	fresh_dir();
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	CHECK(l.last == 0);
	fill(&l, 25);
	CHECK(l.last == 25 && l.synced == 25);
	raft_log_close(&l);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	CHECK(l.last == 25 && l.synced == 25 && l.last_term == 3);
	buf_init(&b);
	CHECK(raft_log_read(&l, 7, &b, &term, NULL) == 0);
	CHECK(buf_used(&b) == 7 && memcmp(b.data, "entry-7", 7) == 0);
	CHECK(term == 1);
	CHECK(raft_log_read(&l, 26, &b, &term, NULL) == -1);
	CHECK(raft_log_read(&l, 0, &b, &term, NULL) == -1);
	buf_free(&b);
	raft_log_close(&l);
}

/* test_unsynced_invisible - an appended entry is not readable until synced */
static void
test_unsynced_invisible(void)
{
	struct raft_log l;
	struct buf b;
	char err[128];
	uint64_t term;

	fresh_dir();
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	raft_log_append(&l, 1, 0, "x", 1);
	buf_init(&b);
	CHECK(raft_log_read(&l, 1, &b, &term, NULL) == -1);
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
	CHECK(raft_log_read(&l, 1, &b, &term, NULL) == 0);
	CHECK(l.nsyncs == 1);
	/* a sync with nothing new does not fsync again */
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0 && l.nsyncs == 1);
	buf_free(&b);
	raft_log_close(&l);
}

/* log_size - bytes in dir/log */
static off_t
log_size(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/log", dir);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* test_torn_tail - cut the file at every byte of the last record */
static void
test_torn_tail(void)
{
	struct raft_log l;
	char err[128], path[128], *image;
	off_t full, good, cut;
	int fd;

	fresh_dir();
	snprintf(path, sizeof(path), "%s/log", dir);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	fill(&l, 9);
	good = log_size();
	fill(&l, 1);
	full = log_size();
	raft_log_close(&l);
	image = malloc(full);
	fd = open(path, O_RDONLY);
	CHECK(read(fd, image, full) == full);
	close(fd);
	for (cut = good + 1; cut < full; cut++) {
		fd = open(path, O_WRONLY | O_TRUNC);
		CHECK(write(fd, image, cut) == cut);
		close(fd);
		CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
		CHECK(l.last == 9);
		CHECK(log_size() == good);
		/* the log goes on after the cut */
		raft_log_append(&l, 5, 0, "again", 5);
		CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
		CHECK(l.last == 10);
		raft_log_close(&l);
		CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
		CHECK(l.last == 10 && l.last_term == 5);
		raft_log_close(&l);
	}
	free(image);
}

/* test_corrupt - a flipped byte in a record cuts the log there */
static void
test_corrupt(void)
{
	struct raft_log l;
	char err[128], path[128];
	unsigned char c;
	off_t at;
	int fd;

	fresh_dir();
	snprintf(path, sizeof(path), "%s/log", dir);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	fill(&l, 5);
	at = (off_t)l.offs[3] + RAFT_REC_HDR + 2;	/* inside entry 4 */
	raft_log_close(&l);
	fd = open(path, O_RDWR);
	CHECK(pread(fd, &c, 1, at) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, at) == 1);
	close(fd);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	CHECK(l.last == 3);
	raft_log_close(&l);
}

/* test_truncate - a conflicting suffix is cut and replaced */
static void
test_truncate(void)
{
	struct raft_log l;
	struct buf b;
	char err[128];
	uint64_t term;
	uint8_t type;

	fresh_dir();
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	fill(&l, 10);
	CHECK(raft_log_truncate(&l, 7, err, sizeof(err)) == 0);
	CHECK(l.last == 6 && l.synced == 6);
	CHECK(raft_log_append(&l, 9, 2, "new-7", 5) == 7);
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
	raft_log_close(&l);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	CHECK(l.last == 7 && l.last_term == 9);
	buf_init(&b);
	CHECK(raft_log_read(&l, 7, &b, &term, &type) == 0);
	CHECK(term == 9 && type == 2 && buf_used(&b) == 5 &&
	    memcmp(b.data, "new-7", 5) == 0);
	buf_reset(&b);
	CHECK(raft_log_read(&l, 6, &b, &term, &type) == 0 && type == 0);
	CHECK(memcmp(b.data, "entry-6", 7) == 0);
	/* cutting everything leaves an empty log that goes on */
	CHECK(raft_log_truncate(&l, 1, err, sizeof(err)) == 0 && l.last == 0);
	CHECK(raft_log_append(&l, 10, 0, "x", 1) == 1);
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
	buf_free(&b);
	raft_log_close(&l);
}

/* test_compact - the log keeps entries after the snapshot, across opens */
static void
test_compact(void)
{
	struct raft_log l;
	struct buf b;
	char err[128];
	uint64_t term;

	fresh_dir();
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	fill(&l, 20);
	CHECK(raft_log_compact(&l, 15, err, sizeof(err)) == 0);
	CHECK(l.base == 15 && l.last == 20);
	buf_init(&b);
	CHECK(raft_log_read(&l, 15, &b, &term, NULL) == -1);
	CHECK(raft_log_read(&l, 16, &b, &term, NULL) == 0);
	CHECK(memcmp(b.data, "entry-16", 8) == 0);
	/* appends go on after the kept tail */
	CHECK(raft_log_append(&l, 4, 0, "entry-21", 8) == 21);
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
	raft_log_close(&l);
	CHECK(raft_log_open(&l, dir, 0, err, sizeof(err)) == 0);
	CHECK(l.base == 15 && l.last == 21);
	buf_reset(&b);
	CHECK(raft_log_read(&l, 21, &b, &term, NULL) == 0);
	CHECK(memcmp(b.data, "entry-21", 8) == 0);
	/* compacting everything: an empty log that starts after the base */
	CHECK(raft_log_compact(&l, 21, err, sizeof(err)) == 0);
	CHECK(l.base == 21 && l.last == 21 && l.noffs == 0);
	raft_log_close(&l);
	CHECK(raft_log_open(&l, dir, 21, err, sizeof(err)) == 0);
	CHECK(l.base == 21 && l.last == 21);
	CHECK(raft_log_append(&l, 5, 0, "x", 1) == 22);
	CHECK(raft_log_sync(&l, err, sizeof(err)) == 0);
	buf_free(&b);
	raft_log_close(&l);
}

static void
test_meta(void)
{
	char err[128], vote[64];
	uint64_t term;

	fresh_dir();
	CHECK(raft_meta_load(dir, &term, vote, sizeof(vote), err,
	    sizeof(err)) == 0 && term == 0 && vote[0] == '\0');
	CHECK(raft_meta_save(dir, 7, "node-a", err, sizeof(err)) == 0);
	CHECK(raft_meta_load(dir, &term, vote, sizeof(vote), err,
	    sizeof(err)) == 0);
	CHECK(term == 7);
	CHECK_STR(vote, "node-a");
}

int
main(void)
{
	RUN(test_reopen);
	RUN(test_unsynced_invisible);
	RUN(test_torn_tail);
	RUN(test_corrupt);
	RUN(test_truncate);
	RUN(test_compact);
	RUN(test_meta);
	fresh_dir();
	rmdir(dir);
	return TEST_DONE();
}
