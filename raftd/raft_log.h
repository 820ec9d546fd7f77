/*
 * raft_log - the durable Raft log: one append-only file of checksummed
 * records under data_dir/raft.
 *
 *	record: u32 len, u32 crc32c(index..payload), u64 index, u64 term,
 *	        payload[len]            (big-endian)
 *
 * raft_log_append() only buffers; raft_log_sync() writes everything
 * buffered with one write and one fdatasync, so many concurrent writes
 * share one sync (group commit). Nothing is acknowledged before it is
 * synced. On open the file is scanned and a torn or corrupted tail (bad
 * length, bad checksum, a gap in the indexes) is cut off with a warning.
 *
 * Left out for now: segments and compaction behind a snapshot (the log
 * keeps an offset per entry in memory), and truncation of conflicting
 * entries, which multi-server Raft needs.
 */
#ifndef CAIRN_RAFT_LOG_H
#define CAIRN_RAFT_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define RAFT_REC_HDR	24
#define RAFT_REC_MAX	(32u << 20)

struct raft_log {
	int		 fd;
	char		 path[4096];
	uint64_t	 last;		/* last index appended */
	uint64_t	 last_term;
	uint64_t	 synced;	/* last index on disk */
	uint64_t	*offs;		/* offs[i]: file offset of index i+1 */
	size_t		 noffs, capoffs;
	uint64_t	 end;		/* file offset after the last record */
	struct buf	 wbuf;		/* appended, not yet written */
	uint64_t	 nsyncs;	/* for stats: fsyncs done */
};

int	raft_log_open(struct raft_log *, const char *dir, char *err, size_t);
uint64_t raft_log_append(struct raft_log *, uint64_t term,
	    const void *payload, size_t len);
int	raft_log_sync(struct raft_log *, char *err, size_t);
/* raft_log_read - payload of index into out (appended); -1 if absent */
int	raft_log_read(struct raft_log *, uint64_t index, struct buf *out,
	    uint64_t *term);
void	raft_log_close(struct raft_log *);

/* The persistent term and vote, in dir/meta, replaced atomically. */
int	raft_meta_load(const char *dir, uint64_t *term, char *vote, size_t,
	    char *err, size_t);
int	raft_meta_save(const char *dir, uint64_t term, const char *vote,
	    char *err, size_t);

#endif
