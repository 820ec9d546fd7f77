/*
 * propose.c - how every command enters the log: stamped with the
 * proposing leader's clock. Apart from node.c so that the modules that
 * propose (and their unit tests) need only the core.
 */
#include <string.h>
#include <time.h>

#include "msg.h"
#include "raftd.h"

/*
 * node_propose - the leader appends a command, stamped with its wall
 * clock (A_NOW, right after A_OP so that it is the one kvd reads); the
 * entry's index, 0 if refused
 */
uint64_t
node_propose(const void *cmd, size_t len)
{
	struct attr_iter it;
	struct attr op;
	struct timespec ts;
	struct buf b;
	uint64_t index;

	attr_iter_init(&it, cmd, len);
	if (attr_next(&it, &op) != 1)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	buf_init(&b);
	buf_append(&b, cmd, len - it.left);
	attr_put_u64(&b, A_NOW, (uint64_t)ts.tv_sec * 1000 +
	    (uint64_t)ts.tv_nsec / 1000000);
	buf_append(&b, (const unsigned char *)cmd + (len - it.left), it.left);
	index = raft_propose(&R.r, RAFT_ENTRY_NORMAL, buf_head(&b),
	    buf_used(&b));
	buf_free(&b);
	return index;
}

