/*
 * raft_wire - Raft messages in the framed protocol (MSG_RAFT_PEER), so
 * servers talk to each other with the same frames as everything else.
 * Decoding is bounds-checked; a decoded message's entries point into the
 * frame and live as long as it does.
 */
#ifndef CAIRN_RAFT_WIRE_H
#define CAIRN_RAFT_WIRE_H

#include "buf.h"
#include "raft.h"

/* raft_wire_encode - the body of a MSG_RAFT_PEER frame */
void	raft_wire_encode(const struct raft_msg *, struct buf *);
/*
 * raft_wire_decode - a body into m; entries go into a malloc'd array the
 * caller frees (m->entries). -1 with err when malformed.
 */
int	raft_wire_decode(const void *, size_t, struct raft_msg *m,
	    char *err, size_t errlen);

#endif
