/*
 * msg.h - every message type and attribute id the cairn programs share.
 *
 * This header is the contract between the daemons. Each message lists the
 * attributes of its request (->) and its reply (<-). Attribute ids are one
 * flat space so that any record can be read with attr_index(). Add new ids
 * at the end of a block; never renumber: a daemon may be upgraded while its
 * neighbours keep running, and readers skip ids they do not know.
 *
 * Any request may get an error reply instead: FRAME_ERROR set, status one
 * of MSG_E_*, and A_MSG carrying text a person can read.
 */
#ifndef CAIRN_MSG_H
#define CAIRN_MSG_H

#define MSG_PROTO_VERSION	1

/* A stored catalog record's two u64 index attributes (see A_NODE). */
#define MSG_REC_IDX_LEN		(2 * (8 + 8))

/* Reply status codes (frame status with FRAME_ERROR). */
enum msg_status {
	MSG_OK = 0,
	MSG_E_MOVED = 307,	/* not served here: ask raftd (kvd reads) */
	MSG_E_BADREQ = 400,	/* malformed or invalid request */
	MSG_E_NOTFOUND = 404,
	MSG_E_TOOBIG = 413,
	MSG_E_INTERNAL = 500,	/* includes "No cluster leader" */
	MSG_E_UNAVAIL = 503,	/* a daemon this one depends on is away */
	MSG_E_TIMEOUT = 504,
};

enum msg_type {
	/* Every connection: first frame both ways. -> A_VERSION A_PROGRAM */
	MSG_HELLO = 1,
	MSG_PING = 2,			/* -> nothing <- nothing */

	/* raftd */
	MSG_RAFT_APPLY = 100,		/* -> a command (below), as the body
					   <- A_INDEX and kvd's result attrs */
	MSG_RAFT_SUBSCRIBE = 101,	/* kvd -> A_INDEX (last applied);
					   raftd then streams MSG_RAFT_ENTRY */
	MSG_RAFT_ENTRY = 102,		/* raftd -> kvd: A_INDEX A_TERM A_CMD
					   (sent with id = 0, not a reply) */
	MSG_RAFT_APPLIED = 103,		/* kvd -> raftd: A_INDEX + result
					   attrs (A_RESULT, A_MSG/A_STATUS) */
	MSG_RAFT_STATUS = 104,		/* -> nothing <- A_LEADER (addr or
					   empty) A_PEER... A_TERM A_INDEX
					   A_COMMIT A_APPLIED */
	MSG_RAFT_PEER = 105,		/* server -> server, no reply: one Raft
					   message: A_RAFT_TYPE A_FROM A_TO
					   A_TERM and the fields of its type
					   (raft_wire.c) */
	MSG_RAFT_SNAP_CHUNK = 106,	/* leader -> follower: A_SNAP_INDEX
					   A_SNAP_TERM A_INDEX(offset) A_DATA
					   [A_RESULT 1 on the last chunk] */
	MSG_RAFT_CONFIGURATION = 107,	/* -> nothing <- A_INDEX (of the
					   configuration) A_ENTRY{A_NODE
					   A_NODE_ID A_ADDRESS A_IS_LEADER
					   A_VOTER}... */
	MSG_RAFT_REMOVE_PEER = 108,	/* -> A_ADDRESS ("ip:port") or
					   A_NODE_ID <- A_INDEX of the change;
					   404 when no such server */
	MSG_RAFT_SNAPSHOT = 110,	/* -> [A_MODE] <- A_INDEX A_DATA (a
					   fresh snapshot of the state) */
	MSG_RAFT_BOOTSTRAP = 111,	/* server -> server, before a
					   bootstrap_expect bootstrap: ->
					   nothing <- A_INDEX (last log
					   index) A_TERM [A_CONFIG: the set
					   it would bootstrap with now] */
	MSG_SESSION_RENEW = 112,	/* -> A_SESSION <- A_ENTRY{session};
					   404 "Session id 'x' not found".
					   The leader restarts the session's
					   TTL timer (raftd/session.c) */
	MSG_RAFT_LEADER = 113,		/* raftd -> kvd on the subscription
					   (id 0, not a reply), when it
					   changes and every 100 ms:
					   A_KNOWN_LEADER A_LAST_CONTACT
					   A_LEASE. kvd serves stale reads,
					   and default ones while the lease
					   holds, without raftd */
	MSG_RAFT_READ = 109,		/* a read with a consistency mode:
					   -> A_MODE A_CMD_TYPE (a kvd read's
					   message type) A_CMD (its body)
					   [A_WAIT ms, for a blocking read]
					   <- kvd's reply body, plus
					   A_KNOWN_LEADER A_LAST_CONTACT.
					   500 "No cluster leader" after the
					   hold when there is none */

	/*
	 * kvd reads. Every reply carries A_INDEX (X-Consul-Index). With
	 * A_MODE (default or stale; httpd on a server) the reply also
	 * carries A_KNOWN_LEADER and A_LAST_CONTACT, and a default read
	 * kvd cannot serve on the lease is refused with MSG_E_MOVED: ask
	 * raftd (MSG_RAFT_READ) instead.
	 */
	MSG_KV_GET = 200,		/* -> A_KEY [A_RECURSE] [A_INDEX A_WAIT]
					   <- A_ENTRY{kv record}... With
					   A_INDEX and A_WAIT (ms), blocks
					   while its answer's index would be
					   no newer than A_INDEX (watch.c) */
	MSG_KV_KEYS = 201,		/* -> A_KEY(prefix) [A_SEPARATOR]
					   [A_INDEX A_WAIT] <- A_KEY... */
	/* Catalog reads block (A_INDEX A_WAIT) until any catalog change. */
	MSG_CAT_NODES = 210,		/* -> nothing <- A_ENTRY{node}... */
	MSG_CAT_NODE = 211,		/* -> A_NODE <- A_ENTRY{node} and
					   A_ENTRY{service}... */
	MSG_CAT_SERVICES = 212,		/* -> nothing <- A_ENTRY{A_SERVICE_NAME
					   A_TAG...}... */
	MSG_CAT_SERVICE = 213,		/* -> [A_SERVICE_NAME] [A_TAG]
					   <- A_ENTRY{node + service}...
					   (every service without a name:
					   dnsd's PTR lookups) */
	MSG_SESSION_INFO = 215,		/* -> A_SESSION [A_INDEX A_WAIT]
					   <- A_INDEX A_ENTRY{session}
					   (none if unknown) */
	MSG_SESSION_LIST = 216,		/* -> [A_NODE] [A_INDEX A_WAIT]
					   <- A_INDEX A_ENTRY{session}...
					   (all, or the node's). A session
					   record: A_SESSION A_SESSION_NAME
					   A_NODE A_CHECK_ID... (node checks)
					   A_SERVICE_CHECK... A_LOCK_DELAY
					   A_BEHAVIOR A_TTL A_CREATE_INDEX
					   A_MODIFY_INDEX. Blocking reads
					   wake on any session change */
	MSG_HEALTH_SERVICE = 214,	/* -> A_SERVICE_NAME [A_TAG] [A_PASSING]
					   <- A_ENTRY{A_NODE_REC{node}
					   A_SERVICE_REC{service}
					   A_CHECK_REC{check}...}... */
	MSG_HEALTH_CHECKS = 217,	/* -> [A_NODE] [A_SERVICE_NAME]
					   [A_STATUS] <- A_ENTRY{check}...:
					   a node's checks, a service's, or
					   all in a state */
	MSG_QUERY_GET = 218,		/* -> [A_QUERY_ID] [A_INDEX A_WAIT]
					   <- A_INDEX A_ENTRY{query}...: the
					   one asked for (404 "Query not
					   found"), or all. A query record:
					   A_CREATE_INDEX A_MODIFY_INDEX
					   A_QUERY_ID A_QUERY_NAME
					   A_QUERY_TEMPLATE [A_SESSION]
					   A_QUERY_DEF. Blocking reads wake
					   on any query change */
	MSG_KVD_STATUS = 219,		/* -> nothing <- A_APPLIED */
	MSG_KVD_SNAPSHOT_SAVE = 220,	/* raftd -> A_KEY (file path) <- A_INDEX
					   (the applied index it holds);
					   written atomically (path.tmp,
					   fsync, rename). 500 on failure */
	MSG_KVD_SNAPSHOT_RESTORE = 221,	/* raftd -> A_KEY (file path)
					   <- A_INDEX (now applied). The file
					   is checked whole first: 500 and
					   the store untouched if bad. On
					   success kvd drops entries not yet
					   applied and closes its raftd
					   connection; it re-subscribes
					   from A_INDEX on reconnecting */
	MSG_QUERY_EXECUTE = 222,	/* -> A_KEY (ID or name) [A_PASSING:
					   drop warning too] <- A_INDEX
					   A_ENTRY{query record, A_QUERY_DEF
					   rendered (a template, for the
					   name), plus A_SERVICE_NAME (the
					   service it asks for) and A_TTL
					   (DNS.TTL, "" for none)}, then the
					   A_ENTRYs of MSG_HEALTH_SERVICE that
					   pass its filters, not shuffled.
					   404 "Query not found" */

	/* gossipd */
	MSG_GOSSIP_MEMBERS = 300,	/* -> nothing <- A_ENTRY{member}... */
	MSG_GOSSIP_PUSHPULL = 301,	/* node -> node on the serf_lan TCP
					   port: -> A_DIGEST (packed: name:str8
					   incarnation:u32 status:u8, all the
					   sender knows) <- A_ENTRY
					   {member}... (what we know better)
					   A_NODE... (what it knows better).
					   400 if malformed (pushpull.c) */
	MSG_GOSSIP_SUBSCRIBE = 302,	/* -> nothing <- nothing; then
					   MSG_GOSSIP_EVENT pushes: one per
					   known member, then one per change */
	MSG_GOSSIP_EVENT = 303,		/* gossipd -> subscriber (id 0, not a
					   reply): A_ENTRY{member}, a member
					   added or changed (status, address,
					   tags, incarnation) */
	MSG_GOSSIP_JOIN = 304,		/* -> A_ADDRESS("ip[:port]", 8301)...
					   <- A_RESULT(u32 nodes contacted);
					   500 with the reasons if none */
	MSG_GOSSIP_LEAVE = 305,		/* -> nothing <- nothing, once this
					   node's leave intent has spread
					   (LeavePropagateDelay); gossipd then
					   stops gossiping and exits 0 */
	MSG_GOSSIP_FORCE_LEAVE = 306,	/* -> A_NODE [A_PRUNE] <- nothing: a
					   failed member is marked left (with
					   A_PRUNE, forgotten at once). 500
					   "agent: No node found with name
					   'x'" if unknown (Consul's) */
	MSG_GOSSIP_PUSHPULL_FILL = 309,	/* after MSG_GOSSIP_PUSHPULL: ->
					   A_ENTRY{member}... asked for <-
					   nothing */
	MSG_GOSSIP_PING = 310,		/* SWIM's TCP probe: -> sealed empty
					   body <- nothing */
	MSG_GOSSIP_EVENT_FIRE = 307,	/* -> A_EVENT_NAME [A_DATA payload]
					   [A_NODE_FILTER] [A_SERVICE_FILTER]
					   [A_TAG_FILTER] <- A_ENTRY{event}
					   (with A_EVENT_ID, A_LTIME). 413 if
					   name + payload is over the limit */
	MSG_GOSSIP_EVENT_LIST = 308,	/* -> [A_EVENT_NAME] [A_INDEX A_WAIT:
					   block while the index is A_INDEX]
					   <- A_INDEX A_ENTRY{event}... (the
					   last 256, oldest first). An event
					   record: A_EVENT_ID A_EVENT_NAME
					   [A_DATA] [A_NODE_FILTER]
					   [A_SERVICE_FILTER] [A_TAG_FILTER]
					   A_LTIME A_VERSION */

	/* checkd: this node's own services and checks (the agent's view) */
	MSG_CHECK_UPDATE = 400,		/* -> A_CHECK_ID A_STATUS("passing"|
					   "warning"|"critical") [A_OUTPUT]
					   <- nothing. Errors: 400 bad status,
					   404 unknown check, 500 not a TTL
					   check (Consul's texts) */
	MSG_AGENT_SERVICES = 401,	/* -> nothing <- A_SERVICE_REC{service}...
					   ("consul" is the servers', not
					   listed) */
	MSG_AGENT_CHECKS = 402,		/* -> nothing <- A_CHECK_REC{check, plus
					   its service's A_TAG...}... */
	/*
	 * Registrations through the agent API (checkd/local.c). A_DATA is
	 * Consul's JSON definition, read as a config file's; checkd keeps
	 * it in data_dir, so it survives restarts. <- nothing, or 400 with
	 * the reason (file:line:col into the body), 404 for an unknown ID.
	 */
	MSG_AGENT_SERVICE_REGISTER = 403, /* -> A_DATA [A_FLAGS 1: replace
					   existing checks] */
	MSG_AGENT_SERVICE_DEREGISTER = 404, /* -> A_SERVICE_ID */
	MSG_AGENT_CHECK_REGISTER = 405,	/* -> A_DATA */
	MSG_AGENT_CHECK_DEREGISTER = 406, /* -> A_CHECK_ID */
	MSG_AGENT_MAINT = 407,		/* -> A_RESULT (u8 enable) [A_NOTES
					   reason] [A_SERVICE_ID] */
	MSG_AGENT_RELOAD = 408,		/* -> nothing: read the definitions
					   again, as SIGHUP does */
};

/*
 * Commands: the payload of MSG_RAFT_APPLY and of every log entry. A command
 * is an attribute list whose first attribute is A_OP. kvd applies it and
 * answers A_RESULT (1 true, 0 false), or A_STATUS + A_MSG for a command it
 * rejects. Application is deterministic: the same log gives the same state.
 */
enum msg_op {
	OP_NOOP = 0,
	OP_KV_SET = 1,		/* A_KEY A_VALUE [A_FLAGS] [A_CAS] */
	OP_KV_DELETE = 2,	/* A_KEY [A_CAS] */
	OP_KV_DELETE_TREE = 3,	/* A_KEY (prefix) */
	OP_CAT_REGISTER = 10,	/* A_NODE_REC{node} [A_SERVICE_REC{svc}]
				   [A_CHECK_REC{check}...] */
	OP_CAT_DEREGISTER = 11,	/* A_NODE [A_SERVICE_ID | A_CHECK_ID] */
	OP_CHECK_STATUS = 12,	/* A_NODE A_CHECK_ID A_STATUS A_OUTPUT */
	OP_SESSION_CREATE = 30,	/* a session record (MSG_SESSION_LIST),
				   without the indexes. Checked against the
				   catalog: 500 with Consul's reason */
	OP_SESSION_DESTROY = 31,/* A_SESSION: invalidate (release or delete
				   its locks, with lock-delay); true even
				   when it is gone */
	OP_KV_LOCK = 32,	/* A_KEY A_VALUE A_FLAGS A_SESSION: ?acquire.
				   false while another session holds the key
				   or its lock-delay runs */
	OP_KV_UNLOCK = 33,	/* A_KEY A_VALUE A_FLAGS A_SESSION: ?release */
	OP_TXN = 34,		/* A_ENTRY{A_VERB A_KEY [A_VALUE] [A_FLAGS]
				   [A_INDEX] [A_SESSION]}...: /v1/txn's KV
				   operations, all or none. <- A_RESULT 1
				   and A_ENTRY{kv record}... (values only
				   for the get verbs), or A_RESULT 0 and
				   A_TXN_ERROR{A_OP_INDEX A_MSG}... */
	OP_QUERY_SET = 35,	/* A_QUERY_ID A_QUERY_DEF [A_QUERY_UPDATE]:
				   a prepared query, created or (with
				   A_QUERY_UPDATE) replacing one. Name,
				   session and template are checked as
				   Consul's state store does: 500 */
	OP_QUERY_DELETE = 36,	/* A_QUERY_ID; 500 if there is none */
	OP_RESTORE = 20,	/* A_DATA: a whole snapshot (kvd/snapshot.c)
				   replacing the state on every server */
};

enum msg_attr {
	A_NONE = 0,
	A_MSG = 1,		/* error text */
	A_VERSION = 2,		/* u32 protocol version */
	A_PROGRAM = 3,		/* "kvd", "httpd", ... */
	A_STATUS = 4,		/* u32 status (command result) or check
				   status string in check records */
	A_INDEX = 5,		/* u64 Raft index */
	A_TERM = 6,		/* u64 */
	A_CMD = 7,		/* nested command */
	A_OP = 8,		/* u32 msg_op */
	A_RESULT = 9,		/* u8 boolean */
	A_ENTRY = 10,		/* nested record, repeated */
	A_LEADER = 11,		/* string "ip:port", empty for none */
	A_PEER = 12,		/* string "ip:port", repeated */
	A_COMMIT = 13,		/* u64 */
	A_APPLIED = 14,		/* u64 */

	/* KV records: A_KEY A_VALUE A_FLAGS A_CREATE_INDEX A_MODIFY_INDEX
	   A_LOCK_INDEX [A_SESSION] */
	A_KEY = 20,
	A_VALUE = 21,
	A_FLAGS = 22,		/* u64 */
	A_CAS = 23,		/* u64; 0 means create only */
	A_CREATE_INDEX = 24,
	A_MODIFY_INDEX = 25,
	A_LOCK_INDEX = 26,
	A_SESSION = 27,
	A_RECURSE = 28,		/* u8 */
	A_SEPARATOR = 29,

	/* Catalog. A node record: A_NODE A_NODE_ID A_ADDRESS A_DC A_META...
	   A service record: A_NODE A_SERVICE_ID A_SERVICE_NAME A_TAG...
	   A_ADDRESS A_PORT A_META... [A_WEIGHT_PASSING A_WEIGHT_WARNING].
	   A check record: A_NODE A_CHECK_ID
	   A_CHECK_NAME A_STATUS(string) A_NOTES A_OUTPUT A_SERVICE_ID
	   A_SERVICE_NAME A_CHECK_TYPE. Records read back also carry
	   A_CREATE_INDEX and A_MODIFY_INDEX, first: MSG_REC_IDX_LEN bytes
	   before the body exactly as it was written. */
	A_NODE = 40,
	A_NODE_ID = 41,
	A_ADDRESS = 42,
	A_DC = 43,
	A_META = 44,		/* nested: A_META_KEY A_META_VALUE */
	A_META_KEY = 45,
	A_META_VALUE = 46,
	A_SERVICE_ID = 47,
	A_SERVICE_NAME = 48,
	A_TAG = 49,		/* repeated */
	A_PORT = 50,		/* u32 */
	A_CHECK_ID = 51,
	A_CHECK_NAME = 52,
	A_NOTES = 53,
	A_OUTPUT = 54,
	A_CHECK_TYPE = 55,	/* "ttl", "script", "serf", ... */
	A_PASSING = 56,		/* u8: only instances with all checks passing */
	A_NODE_REC = 57,	/* nested node record */
	A_SERVICE_REC = 58,	/* nested service record */
	A_CHECK_REC = 59,	/* nested check record, repeated */

	/* Members (gossipd): A_NODE A_ADDRESS A_PORT A_MEMBER_STATUS
	   A_META{tags}... A_PROTO_MIN A_PROTO_MAX A_PROTO_CUR
	   A_INCARNATION */
	A_MEMBER_STATUS = 60,	/* u32: alive=1 leaving=2 left=3 failed=4 */
	A_PROTO_MIN = 61,
	A_PROTO_MAX = 62,
	A_PROTO_CUR = 63,
	A_INCARNATION = 64,	/* u32: precedence of news about a member */

	/* Raft messages between servers (raft_wire.c) */
	A_RAFT_TYPE = 70,	/* u32 enum raft_msg_type */
	A_FROM = 71,		/* u64 raft id */
	A_TO = 72,
	A_LAST_INDEX = 73,
	A_LAST_TERM = 74,
	A_REJECT = 75,		/* u8 */
	A_PREV_INDEX = 76,
	A_PREV_TERM = 77,
	A_HINT = 78,
	A_CTX = 79,
	A_SNAP_INDEX = 80,
	A_SNAP_TERM = 81,
	A_CONFIG = 82,		/* raft_config_encode() bytes */
	A_ENTRY_TYPE = 83,	/* u8 enum raft_entry_type */
	A_DATA = 84,
	A_RAFT_ENTRY = 85,	/* nested: A_INDEX A_TERM A_ENTRY_TYPE A_DATA */
	A_VOTER = 86,		/* u8 */
	A_IS_LEADER = 87,	/* u8 */
	A_MODE = 88,		/* u8: 0 default, 1 consistent, 2 stale */
	A_CMD_TYPE = 89,	/* u32 */
	A_KNOWN_LEADER = 90,	/* u8 */
	A_LAST_CONTACT = 91,	/* u64 ms since the leader was heard */
	A_PRUNE = 92,		/* u8 */
	A_EVENT_ID = 93,	/* string, a UUID */
	A_EVENT_NAME = 94,
	A_NODE_FILTER = 95,	/* regular expressions */
	A_SERVICE_FILTER = 96,
	A_TAG_FILTER = 97,
	A_LTIME = 98,		/* u64 Lamport time */
	A_WAIT = 99,		/* u64 ms a blocking request may wait */
	A_DIGEST = 100,		/* packed member digests (pushpull.c) */

	/* Sessions */
	A_SESSION_NAME = 101,
	A_SERVICE_CHECK = 102,	/* a service check's ID, repeated */
	A_LOCK_DELAY = 103,	/* u64 ms */
	A_BEHAVIOR = 104,	/* "release" or "delete" */
	A_TTL = 105,		/* string as given ("30s"), "" for none */
	A_TTL_MS = 106,		/* u64, in results: a TTL session was made */
	A_GONE = 107,		/* in results: a session invalidated, repeated */
	/*
	 * u64 wall-clock ms, appended to every command by the leader that
	 * proposes it: applying stays deterministic while lock-delay can
	 * still be measured in time
	 */
	A_NOW = 108,
	A_LEASE = 112,		/* u64 CLOCK_MONOTONIC ms until which the
				   leader's lease holds; 0 none */
	A_VERB = 109,		/* a /v1/txn KV verb: "set", "cas", ... */
	A_OP_INDEX = 110,	/* u32, which operation of a transaction */
	A_TXN_ERROR = 111,	/* nested: A_OP_INDEX A_MSG */

	/* Prepared queries (kvd/query.c) */
	A_QUERY_ID = 113,	/* a UUID */
	A_QUERY_NAME = 114,	/* "" for none */
	A_QUERY_DEF = 115,	/* Consul's definition as JSON, every field,
				   without ID and the indexes */
	A_QUERY_TEMPLATE = 116,	/* u8: a name_prefix_match template */
	A_QUERY_UPDATE = 117,	/* u8, in OP_QUERY_SET: it must exist */

	/* A service record's DNS SRV weights (Consul's Weights); a record
	   without them has 1 and 1 */
	A_WEIGHT_PASSING = 118,	/* u32, 1..65535 */
	A_WEIGHT_WARNING = 119,	/* u32, 0..65535 */

};

#endif
