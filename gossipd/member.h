/*
 * member - the membership table gossipd keeps: one record per node of the
 * LAN pool with its address, tags, status and incarnation number.
 *
 * Pure: no sockets, no libev, no clock. Time comes in as an argument
 * (seconds from any epoch), so SWIM's failure detector can later drive the
 * table from a simulated clock in tests. News about a member is accepted
 * by memberlist's precedence rule: a higher incarnation always wins; at
 * the same incarnation only a graver status does (alive < leaving < failed
 * < left), so an old "alive" can never undo a newer "failed".
 *
 * The table is kept sorted by name: lookups are a binary search and the
 * member list comes out in a stable order.
 *
 * News from other nodes goes through member_merge, which adds the rules a
 * table fed by peers needs: a name is bound to one node ID, and news about
 * this node itself is refuted rather than applied (memberlist's refute).
 * member_decode reads the A_ENTRY record member_encode writes, strictly,
 * since it comes off the network.
 *
 * Leaves out: suspicion timers and Lamport times for leave intents, which
 * come with SWIM; and memberlist's 512 byte cap on the tag blob, which
 * depends on its wire format (member_decode bounds tags by count and size).
 */
#ifndef CAIRN_MEMBER_H
#define CAIRN_MEMBER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Serf's numbers: the HTTP API and `members` show these (COMPAT.md §5). */
enum member_status {
	MEMBER_NONE = 0,
	MEMBER_ALIVE = 1,
	MEMBER_LEAVING = 2,
	MEMBER_LEFT = 3,
	MEMBER_FAILED = 4,
};

/* What member_update, member_set_status and member_merge did. */
enum member_result {
	MEMBER_CONFLICT = -2,	/* merge: the name belongs to another node ID */
	MEMBER_ERR = -1,	/* invalid news (empty name, bad status) */
	MEMBER_SAME = 0,	/* stale or identical: nothing changed */
	MEMBER_ADDED = 1,
	MEMBER_CHANGED = 2,
	MEMBER_REFUTED = 3,	/* merge: news about self; our incarnation
				   now outranks it */
};

#define MEMBER_NAME_MAX	255	/* a DNS name's limit */
#define MEMBER_ADDR_MAX	46	/* INET6_ADDRSTRLEN */
#define MEMBER_TAGS_MAX	64	/* tags in one record from a peer */
#define MEMBER_TAG_KEY_MAX	128
#define MEMBER_TAG_VALUE_MAX	512	/* memberlist's whole-blob cap */
#define MEMBER_PORT_DEFAULT	8301	/* serf_lan, when a join omits it */

struct member_tag {
	char	*key;
	char	*value;
};

struct member {
	char			*name;
	char			 addr[MEMBER_ADDR_MAX];
	uint16_t		 port;
	enum member_status	 status;
	uint32_t		 incarnation;
	double			 since;		/* when status last changed */
	struct member_tag	*tags;		/* sorted by key */
	size_t			 ntags;
	uint8_t			 proto_min, proto_max, proto_cur;
};

struct member_table {
	struct member	**m;	/* sorted by name */
	size_t		 n, cap;
};

void	member_table_init(struct member_table *);
void	member_table_free(struct member_table *);

/* member_lookup - the member called name, or NULL */
struct member *member_lookup(const struct member_table *, const char *name);

/*
 * member_update - apply news about a member: a full record (name, addr,
 * port, status, incarnation, tags, protocol versions) whose strings are
 * copied. An unknown member is added whatever its status.
 */
enum member_result member_update(struct member_table *,
	    const struct member *news, double now);

/*
 * member_newer - whether news at (status, inc) supersedes what m holds:
 * a higher incarnation, or the same one and a graver status
 */
int	member_newer(const struct member *m, enum member_status, uint32_t inc);

/*
 * member_set_status - news of a status alone (a probe failed, a leave
 * intent arrived) for a member already known; MEMBER_ERR if it is not.
 */
enum member_result member_set_status(struct member_table *, const char *name,
	    enum member_status, uint32_t incarnation, double now);

/* member_remove - forget a member; 0, or -1 if it was not there */
int	member_remove(struct member_table *, const char *name);

/*
 * member_reap - forget members that left more than left_ttl seconds ago
 * or failed more than failed_ttl ago (serf's tombstone and reconnect
 * timeouts). Returns how many went.
 */
size_t	member_reap(struct member_table *, double now, double left_ttl,
	    double failed_ttl);

/* member_tag_set - add or replace a tag, keeping them sorted by key */
void	member_tag_set(struct member *, const char *key, const char *value);
/* member_tag - a tag's value, or NULL */
const char *member_tag(const struct member *, const char *key);
/* member_tags_free - free a record's tags (for records built by callers) */
void	member_tags_free(struct member *);

/*
 * member_merge - apply news that came from another node (push/pull, later
 * SWIM). As member_update, and also:
 *  - a known name whose record carries another node ID (tag "id") is a
 *    conflict: nothing is merged (MEMBER_CONFLICT), as Consul refuses it;
 *  - news about self_name is never applied: if it has a higher
 *    incarnation than our record, or the same one and says anything else
 *    (not alive, another address or tags), our incarnation is raised
 *    above it (MEMBER_REFUTED), so that peers take our record next;
 *  - a new incarnation alone counts as MEMBER_CHANGED, since subscribers
 *    are told every change.
 */
enum member_result member_merge(struct member_table *, const char *self_name,
	    const struct member *news, double now);

/*
 * member_pick - the (r mod count)-th alive member other than self_name,
 * for anti-entropy; r is the caller's random number. NULL if none.
 */
const struct member *member_pick(const struct member_table *,
	    const char *self_name, uint32_t r);

/* member_status_name - serf's names: "alive", "failed", ... */
const char *member_status_name(enum member_status);

/*
 * member_encode - append the member as one A_ENTRY{A_NODE A_ADDRESS
 * A_PORT A_MEMBER_STATUS A_META{A_META_KEY A_META_VALUE}... A_PROTO_MIN
 * A_PROTO_MAX A_PROTO_CUR} attribute (msg.h).
 */
void	member_encode(struct buf *, const struct member *);

/*
 * member_decode - read one A_ENTRY body (p, len: the attribute's value)
 * into out, whose name and tags are allocated (free with member_clear).
 * Strict, as it comes off the network: A_NODE, A_ADDRESS (an IP literal),
 * A_PORT (1-65535) and a known A_MEMBER_STATUS are required; a long name,
 * too many or too long tags, or a malformed list give -1 with err and
 * nothing allocated. Absent protocol versions and incarnation read as 0.
 */
int	member_decode(const void *p, size_t len, struct member *out,
	    char *err, size_t errlen);
/*
 * member_pack, member_unpack - the same record, compact, for SWIM's alive
 * messages (see member.c); unpack is as strict as member_decode
 */
void	member_pack(struct buf *, const struct member *);
int	member_unpack(const void *, size_t, struct member *out, char *err,
	    size_t errlen);
/* member_clear - free a decoded record's name and tags */
void	member_clear(struct member *);

/*
 * member_addr_parse - a join address: "ip", "ip:port", "[ipv6]:port" or
 * a bare IPv6 literal, the port defaulting to defport. The host must be
 * an IP literal: cairn does not resolve names yet. -1 with err if not.
 */
int	member_addr_parse(const char *s, int defport, char *ip, size_t iplen,
	    int *port, char *err, size_t errlen);

#endif
