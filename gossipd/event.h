/*
 * event - Consul's user events as cairn-gossipd keeps them: the record
 * that travels by gossip, the ring of the last 256 events this agent
 * accepted, serf's Lamport clock for them, a window of event IDs already
 * seen (so an event gossiped back is not delivered twice), the filters,
 * and the X-Consul-Index rule of /v1/event/list.
 *
 * Pure: no sockets, no libev, no clock, no randomness of its own (a new
 * event ID is made from 16 random bytes the caller supplies), no state
 * beyond the struct event_store passed in. event_api.c is the daemon
 * side: requests on gossipd.sock, blocking lists, checkd for services.
 *
 * The rules, with where they come from:
 *	- size: name + payload at most 512 bytes (serf's UserEventSizeLimit);
 *	- filters (agent/user_event.go shouldProcessUserEvent): NodeFilter
 *	  is a regular expression on this node's name; ServiceFilter one on
 *	  this agent's services, TagFilter one on the tags of the services
 *	  ServiceFilter matched, and never without it. Consul's code matches
 *	  ServiceFilter on the service ID (its map key) while its docs say
 *	  the name: a service matches here when either does. A filter that
 *	  does not compile matches nothing, as there;
 *	- the ring holds the last 256 events that passed the filters
 *	  (agent.go eventBuf), oldest first;
 *	- the index (agent/event_endpoint.go uuidToUint64): the last listed
 *	  event's UUID as 128 bits, high half XOR low half; 1 when the list
 *	  is empty, so a watch never spins on 0;
 *	- Lamport time (serf's LamportClock): a fire stamps the current time
 *	  then increments; an event received is witnessed (the clock moves
 *	  past its time).
 *
 * Leaves out: serf's rule that drops events older than the clock minus
 * its buffer (it needs the clock synced on join, which push/pull does not
 * carry here: duplicates are caught by ID instead); event coalescing; and
 * RE2 syntax beyond POSIX extended regular expressions (\d and (?i) do
 * not work; the alternations and anchors people use do).
 */
#ifndef CAIRN_EVENT_H
#define CAIRN_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "uuid.h"

#define EVENT_RING_SIZE		256	/* agent.go: the last 256 events */
#define EVENT_SIZE_LIMIT	512	/* serf: name + payload, bytes */
#define EVENT_FILTER_MAX	200	/* bytes in one filter expression */
#define EVENT_ID_LEN		UUID_LEN
#define EVENT_VERSION		1	/* userEventMaxVersion */
#define EVENT_SEEN_MAX		4096	/* IDs remembered for dedupe */
/*
 * The largest record event_encode writes (8 bytes of header for each
 * attribute): it fits one SWIM packet with room to spare.
 */
#define EVENT_RECORD_MAX	(8 + EVENT_ID_LEN + 16 + EVENT_SIZE_LIMIT + \
				 3 * (8 + EVENT_FILTER_MAX) + 16 + 12)

/* What event_check and event_decode found wrong. */
enum event_error {
	EVENT_OK = 0,
	EVENT_INVALID = -1,	/* missing name, bad filter: 400 */
	EVENT_TOOBIG = -2,	/* over EVENT_SIZE_LIMIT: 413 */
};

struct event {
	char		 id[EVENT_ID_LEN + 1];
	char		*name;
	unsigned char	*payload;	/* NULL when there is none */
	size_t		 plen;
	char		*node_filter;	/* NULL when there is none */
	char		*service_filter;
	char		*tag_filter;
	uint64_t	 ltime;
	uint32_t	 version;
};

/* One of this agent's services, for the filters. */
struct event_service {
	const char		*id;
	const char		*name;
	const char *const	*tags;
	size_t			 ntags;
};

struct event_store {
	struct event	 ring[EVENT_RING_SIZE];
	size_t		 head;		/* slot of the oldest event */
	size_t		 n;		/* events in the ring */
	uint64_t	 clock;		/* Lamport time of the next fire */
	uint64_t	 seen[EVENT_SEEN_MAX][2];	/* IDs as 2 x 64 bits */
	size_t		 seen_next;	/* slot the next ID overwrites */
	size_t		 nseen;
};

void	event_store_init(struct event_store *);
void	event_store_free(struct event_store *);

/*
 * event_set - fill ev with copies of the fields of a new event (payload
 * and filters may be NULL or empty: none); ID, Lamport time and version
 * are the caller's to set. The checks are event_check's: EVENT_TOOBIG or
 * EVENT_INVALID with err, and ev left empty.
 */
int	event_set(struct event *, const char *name, const void *payload,
	    size_t plen, const char *node_filter, const char *service_filter,
	    const char *tag_filter, char *err, size_t errlen);
/*
 * event_check - the checks before a fire, in Consul's order: those of
 * validateUserEventParams ("User event missing name", "Cannot provide
 * tag filter without service filter", "Invalid node filter: ...", and
 * too long a filter: EVENT_INVALID), then serf's size limit ("user event
 * exceeds the limit of 512 bytes (name N + payload M)": EVENT_TOOBIG).
 */
int	event_check(const struct event *, char *err, size_t errlen);
/* event_free - free what ev holds and empty it */
void	event_free(struct event *);

/*
 * event_id_parse - a canonical UUID (lower-case hex, dashes at 8, 13,
 * 18, 23) as its high and low 64 bits; -1 if it is not one.
 */
int	event_id_parse(const char *id, size_t len, uint64_t *hi,
	    uint64_t *lo);
/* event_id_index - Consul's uuidToUint64: hi ^ lo (0 for a bad ID) */
uint64_t event_id_index(const char *id);

/*
 * event_encode - append the record's attributes (msg.h: A_EVENT_ID
 * A_EVENT_NAME [A_DATA] [A_NODE_FILTER] [A_SERVICE_FILTER]
 * [A_TAG_FILTER] A_LTIME A_VERSION), without an A_ENTRY around them.
 * This is what goes over gossip, and the body of each A_ENTRY in lists.
 */
void	event_encode(struct buf *, const struct event *);
/*
 * event_decode - read a record into out (allocated; event_free it).
 * Strict, as it comes off the network: a canonical ID, a name, Lamport
 * time and a version >= 1 are required; each known attribute at most
 * once; strings without NUL; the size limit and filter lengths hold; a
 * tag filter comes with a service filter. Unknown attributes are skipped
 * (a newer peer). An empty payload or filter reads as none. -1 with err,
 * nothing allocated, otherwise.
 */
int	event_decode(const void *, size_t, struct event *out, char *err,
	    size_t errlen);

/* event_clock_fire - the Lamport time for a new event; the clock moves on */
uint64_t event_clock_fire(struct event_store *);
/* event_clock_witness - an event of time t was seen: move past it */
void	event_clock_witness(struct event_store *, uint64_t t);

/*
 * event_seen - 1 if this ID is in the window of recent IDs; otherwise
 * record it (forgetting the oldest of EVENT_SEEN_MAX) and return 0. -1
 * for an ID that is not a canonical UUID.
 */
int	event_seen(struct event_store *, const char *id);

/* event_needs_services - whether matching ev needs this agent's services */
int	event_needs_services(const struct event *);
/*
 * event_match - whether ev is for this node: 1 yes, 0 no (a filter that
 * does not compile is a no, with err saying why; err is "" otherwise).
 */
int	event_match(const struct event *, const char *node,
	    const struct event_service *, size_t nsvc, char *err,
	    size_t errlen);

/* event_store_add - append ev to the ring (taking what it holds) */
void	event_store_add(struct event_store *, struct event *);
/* event_store_get - the i-th event, oldest first; NULL past the end */
const struct event *event_store_get(const struct event_store *, size_t i);
/*
 * event_store_index - X-Consul-Index of a list of the ring's events
 * named name (NULL or "": all): event_id_index of the last, 1 if none.
 */
uint64_t event_store_index(const struct event_store *, const char *name);

/*
 * event_api.c: the daemon side (libev, sockets), declared here so that
 * main.c and the SWIM layer need only this header.
 */
struct config;
struct ev_loop;
struct frame;
struct sconn;
/* event_api_init - at start: the ring, and a connection to checkd */
void	event_api_init(struct ev_loop *, struct config *, const char *self);
/* event_handle_fire - MSG_GOSSIP_EVENT_FIRE on gossipd.sock */
void	event_handle_fire(struct sconn *, const struct frame *);
/* event_handle_list - MSG_GOSSIP_EVENT_LIST, blocking with A_INDEX */
void	event_handle_list(struct sconn *, const struct frame *);
/*
 * event_api_receive - a record (event_encode's bytes) from the network:
 * 1 new (keep spreading it), 0 seen before, -1 malformed (drop it)
 */
int	event_api_receive(const void *rec, size_t len);
/* event_api_stop - at exit: drop held lists and queued events */
void	event_api_stop(void);
/*
 * gossip_broadcast_event - spread a record to the other members: the
 * SWIM layer's, called by event_api.c for each event fired here.
 */
void	gossip_broadcast_event(const void *rec, size_t len);

#endif
