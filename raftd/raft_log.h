/*
 * raft_log - the durable Raft log: one append-only file of checksummed
 * records under data_dir/raft.
 *
 *	record: u32 len, u32 crc32c(index..payload), u64 index, u64 term,
 *	        u8 type, payload[len]       (big-endian)
 *
 * The file holds entries base+1..last: after a snapshot at index S the
 * log is compacted to start after S (raft_log_compact rewrites the kept
 * tail and renames it into place), and a follower's conflicting suffix is
 * cut with raft_log_truncate.
 * raft_log_append() only buffers; raft_log_sync() writes everything
 * buffered with one write and one fdatasync, so many concurrent writes
 * share one sync (group commit). Nothing is acknowledged before it is
 * synced. On open the file is scanned and a torn or corrupted tail (bad
 * length, bad checksum, a gap in the indexes) is cut off with a warning.
 *
 * The log keeps one offset per entry in memory; segments would let
 * compaction unlink files instead of rewriting the tail.
 */
#ifndef CAIRN_RAFT_LOG_H
#define CAIRN_RAFT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RAFT_REC_HDR	25
#define RAFT_REC_MAX	(32u << 20)

struct raft_log {
	int		 fd;
	char		 path[4096];
	uint64_t	 base;		/* entries are base+1..last */
	uint64_t	 last;		/* last index appended */
	uint64_t	 last_term;
	uint64_t	 synced;	/* last index on disk */
	uint64_t	*offs;		/* offs[i]: offset of index base+1+i */
	size_t		 noffs, capoffs;
	uint64_t	 end;		/* file offset after the last record */
	struct buf	 wbuf;		/* appended, not yet written */
	uint64_t	 nsyncs;	/* for stats: fsyncs done */
};

/* raft_log_open - scan dir/log; an empty log starts after base */
int	raft_log_open(struct raft_log *, const char *dir, uint64_t base,
	    char *err, size_t);
uint64_t raft_log_append(struct raft_log *, uint64_t term, uint8_t type,
	    const void *payload, size_t len);
int	raft_log_sync(struct raft_log *, char *err, size_t);
/* raft_log_read - payload of index into out (appended); -1 if absent */
int	raft_log_read(struct raft_log *, uint64_t index, struct buf *out,
	    uint64_t *term, uint8_t *type);
/* raft_log_truncate - drop index and everything after it */
int	raft_log_truncate(struct raft_log *, uint64_t index, char *err,
	    size_t);
/* raft_log_compact - drop everything up to and including index */
int	raft_log_compact(struct raft_log *, uint64_t index, char *err,
	    size_t);
/* raft_log_reset - drop every entry: the log now starts after base */
int	raft_log_reset(struct raft_log *, uint64_t base, char *err, size_t);
void	raft_log_close(struct raft_log *);

/* The persistent term and vote, in dir/meta, replaced atomically. */
int	raft_meta_load(const char *dir, uint64_t *term, char *vote, size_t,
	    char *err, size_t);
int	raft_meta_save(const char *dir, uint64_t term, const char *vote,
	    char *err, size_t);

#endif
