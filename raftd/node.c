/*
 * node.c - the Raft core driven by the event loop: ticks, the Ready loop
 * (persist, then send, then apply, then advance), the hard state and log
 * on disk, and bootstrapping a new cluster.
 *
 * Persistence is synchronous inside the loop's prepare watcher: every
 * event of one loop pass (client writes, peer messages) is handled first,
 * then one fdatasync covers them all before any message that depends on
 * it leaves. That is the group commit of the single-server raftd, now for
 * votes and acknowledgements as well. A leader's appends do not depend
 * on it and leave first.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "duration.h"
#include "daemon.h"
#include "log.h"
#include "msg.h"
#include "raftd.h"

#define TICK_SECS		0.01
#define DEFAULT_MULTIPLIER	3	/* 300 ms elections, 60 ms heartbeats */

/* raftd_id_of - a server's Raft id: FNV-1a of its node ID, never 0 */
raft_id
raftd_id_of(const char *node_id)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)node_id; *p; p++) {
		h ^= (unsigned char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		h *= 1099511628211ULL;
	}
	return h == RAFT_NONE ? 1 : h;
}

int
node_is_leader(void)
{
	return R.started && R.r.role == RAFT_LEADER;
}

uint64_t
node_last_contact_ms(void)
{
	uint64_t now = daemon_now_ms();

	if (!R.started || R.r.role == RAFT_LEADER)
		return 0;
	return now > R.r.leader_heard ? now - R.r.leader_heard : 0;
}

const char *
node_leader_addr(void)
{
	if (!R.started || R.r.leader == RAFT_NONE)
		return "";
	return peers_addr(R.r.leader);
}

/* save_hard - term and vote, atomically, before anything depends on them */
static void
save_hard(uint64_t term, raft_id vote)
{
	char v[32], err[256];

	snprintf(v, sizeof(v), "%016" PRIx64, vote);
	if (raft_meta_save(R.dir, term, vote ? v : "", err, sizeof(err)) < 0)
		log_fatal("%s", err);
}

/* log_entries - the log on disk as entries for raft_init; caller frees */
static struct raft_entry *
log_entries(size_t *n)
{
	struct raft_entry *e;
	struct buf b;
	uint64_t i;
	size_t k = 0;

	*n = R.log.last - R.log.base;
	if (*n == 0)
		return NULL;
	if ((e = calloc(*n, sizeof(*e))) == NULL)
		log_fatal("out of memory");
	buf_init(&b);
	for (i = R.log.base + 1; i <= R.log.last; i++, k++) {
		buf_reset(&b);
		if (raft_log_read(&R.log, i, &b, &e[k].term, &e[k].type) < 0)
			log_fatal("cannot read log entry %" PRIu64, i);
		e[k].index = i;
		e[k].len = (uint32_t)buf_used(&b);
		if ((e[k].data = malloc(e[k].len ? e[k].len : 1)) == NULL)
			log_fatal("out of memory");
		memcpy(e[k].data, buf_head(&b), e[k].len);
	}
	buf_free(&b);
	return e;
}

static void
free_entries(struct raft_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(e[i].data);
	free(e);
}

static struct raft_opts opts;
static uint64_t snap_index, snap_term;
static struct raft_config snap_config;

/* core_start - (re)initialise the core from what is on disk */
static void
core_start(uint64_t term, raft_id vote)
{
	struct raft_entry *e;
	size_t n;

	if (R.started)
		raft_free(&R.r);
	e = log_entries(&n);
	if (raft_init(&R.r, &opts, term, vote, snap_index, snap_term,
	    &snap_config, e, n, daemon_now_ms()) < 0)
		log_fatal("cannot start Raft from %s", R.dir);
	free_entries(e, n);
	R.started = 1;
}

/*
 * node_start_if_ready - a server with an empty log bootstraps a new
 * cluster: alone with -bootstrap (and -dev), or with bootstrap_expect
 * once that many servers are known and agree (bootstrap.c).
 */
void
node_start_if_ready(void)
{
	struct raft_config c;

	if (!R.started || raft_last_index(&R.r) > 0 || R.r.term > 0 ||
	    snap_index > 0)
		return;
	memset(&c, 0, sizeof(c));
	if (R.bootstrap) {
		c.ids[c.n++] = R.id;
		node_bootstrap(&c);
	} else if (R.expect > 0 && peers_bootstrap_set(&c) > 0)
		boot_ask(&c);
}

/*
 * node_bootstrap - write the first configuration. Every server of the
 * set writes the same entry at index 1, term 1, so they agree on it.
 */
void
node_bootstrap(const struct raft_config *c)
{
	struct buf data;
	char err[256];

	if (!R.started || raft_last_index(&R.r) > 0 || R.r.term > 0 ||
	    snap_index > 0)
		return;
	buf_init(&data);
	raft_bootstrap_entry(c, &data);
	if (raft_log_append(&R.log, 1, RAFT_ENTRY_CONFIG, buf_head(&data),
	    buf_used(&data)) != 1 || raft_log_sync(&R.log, err,
	    sizeof(err)) < 0)
		log_fatal("cannot write the bootstrap entry: %s", err);
	buf_free(&data);
	log_info("bootstrapping a new cluster of %zu server%s", c->n,
	    c->n == 1 ? "" : "s");
	core_start(0, RAFT_NONE);
}

/* reconcile - the leader adds servers gossip knows, one at a time */
static void
reconcile(void)
{
	size_t i;

	if (!node_is_leader() || R.r.config_index > R.r.commit)
		return;
	for (i = 0; i < R.npeers; i++)
		if (R.peers[i].alive &&
		    !raft_config_has(&R.r.config, R.peers[i].id)) {
			log_info("adding server %s (%s:%d) as a voter",
			    R.peers[i].node, R.peers[i].addr, R.peers[i].port);
			raft_change(&R.r, R.peers[i].id, 1);
			return;
		}
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	static unsigned n;

	feed_leader(1);
	if (!R.started)
		return;
	raft_tick(&R.r, daemon_now_ms());
	if (++n % 50 == 0) {
		reconcile();
		node_start_if_ready();
		reconcile_tick();	/* the catalog follows membership */
		session_tick();
	}
}

/* persist - step 1 of an update: the disk before anything else */
static void
persist(const struct raft_update *u)
{
	char err[256];
	size_t i;

	if (u->snap_index > 0)
		snap_installed(u);
	if (u->hard_changed)
		save_hard(u->term, u->vote);
	if (u->persist_from > 0) {
		if (u->persist_from <= R.log.last &&
		    raft_log_truncate(&R.log, u->persist_from, err,
		    sizeof(err)) < 0)
			log_fatal("%s", err);
		for (i = 0; i < u->nentries; i++)
			if (raft_log_append(&R.log, u->entries[i].term,
			    u->entries[i].type, u->entries[i].data,
			    u->entries[i].len) != u->entries[i].index)
				log_panic("log append out of order at %" PRIu64,
				    u->entries[i].index);
	}
	/* Acknowledged means on disk: a log we cannot sync is fatal. */
	if (raft_log_sync(&R.log, err, sizeof(err)) < 0)
		log_fatal("%s", err);
}

/* ready_cb - before the loop sleeps: drain the core's updates */
static void
ready_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct raft_update u;
	size_t i;
	int rounds;

	if (!R.started)
		return;
	snap_report();
	for (rounds = 0; rounds < 16 && raft_has_ready(&R.r); rounds++) {
		raft_ready(&R.r, &u);
		/*
		 * A leader's appends leave before its own fsync, so the
		 * followers' disks work while ours does (thesis 10.2.1):
		 * the core counts its own copy only once persisted. Every
		 * other message promises the disk and waits for it.
		 */
		for (i = 0; i < u.nmsgs; i++)
			if (u.msgs[i].type == RAFT_MSG_APPEND)
				peers_send(&u.msgs[i]);
		peers_write_now();
		persist(&u);
		for (i = 0; i < u.nmsgs; i++)
			if (u.msgs[i].type == RAFT_MSG_SNAPSHOT)
				snap_send(&u.msgs[i]);
			else if (u.msgs[i].type != RAFT_MSG_APPEND)
				peers_send(&u.msgs[i]);
		feed_committed(u.committed, u.ncommitted);
		read_ready(u.reads, u.nreads);
		raft_advance(&R.r, &u);
	}
	if (R.r.role != RAFT_LEADER && R.was_leader) {
		/* As hashicorp/raft's ErrLeadershipLost: the outcome of
		   these writes is for the next leader to decide. */
		feed_fail_all("leadership lost while committing log");
		read_lost_leadership();
	}
	if (R.r.role == RAFT_LEADER && !R.was_leader)
		reconcile_leader();
	R.was_leader = R.r.role == RAFT_LEADER;
	feed_leader(0);		/* a lease lost is told at once */
	if (R.r.leader != R.last_leader) {
		R.last_leader = R.r.leader;
		forward_leader_changed(R.r.leader);
		if (R.r.leader == RAFT_NONE)
			log_info("no leader (term %" PRIu64 ")", R.r.term);
		else if (*peers_addr(R.r.leader) == '\0')
			log_info("leader is server %016" PRIx64 " (not known "
			    "through gossip yet; term %" PRIu64 ")", R.r.leader,
			    R.r.term);
		else
			log_info("leader is %s%s (term %" PRIu64 ")",
			    peers_addr(R.r.leader), R.r.leader == R.id ?
			    " (this server)" : "", R.r.term);
	}
	feed_push();
	raftd_dispatch_held();
}

/* config_u64 - a top-level number from the config, or the default */
static uint64_t
config_u64(struct config *cfg, const char *key, uint64_t def)
{
	struct jv *v = config_raw(cfg, key);

	if (v == NULL || v->type != JV_NUM || v->num < 1)
		return def;
	return (uint64_t)v->num;
}

/* multiplier - Consul's performance.raft_multiplier, 1 (fastest) to 10 */
static int
multiplier(struct config *cfg)
{
	struct jv *perf = config_raw(cfg, "performance");
	int64_t m;

	if (perf == NULL || jv_int(perf, "raft_multiplier", &m) < 0)
		return DEFAULT_MULTIPLIER;
	if (m < 1 || m > 10) {
		log_warn("performance.raft_multiplier %" PRId64 " out of "
		    "range 1-10; using %d", m, DEFAULT_MULTIPLIER);
		return DEFAULT_MULTIPLIER;
	}
	return (int)m;
}

/* node_lock - one raftd per data dir, or two would write one log */
static int
node_lock(char *err, size_t errlen)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/LOCK", R.dir);
	if ((R.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(R.lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: %s (is another cairn-raftd "
		    "running on this data dir?)", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
node_open(struct config *cfg, char *err, size_t errlen)
{
	char vote[128];
	uint64_t term;
	int m;

	snprintf(R.dir, sizeof(R.dir), "%s/raft", cfg->data_dir);
	if (mkdir(R.dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", R.dir, strerror(errno));
		return -1;
	}
	if (node_lock(err, errlen) < 0 ||
	    raft_meta_load(R.dir, &term, vote, sizeof(vote), err,
	    errlen) < 0 || snap_load(R.dir, &snap_index, &snap_term,
	    &snap_config, err, errlen) < 0 ||
	    raft_log_open(&R.log, R.dir, snap_index, err, errlen) < 0)
		return -1;
	/* A crash between saving the snapshot point and cutting the log. */
	if (R.log.last < snap_index) {
		if (raft_log_reset(&R.log, snap_index, err, errlen) < 0)
			return -1;
	} else if (R.log.base < snap_index &&
	    raft_log_compact(&R.log, snap_index, err, errlen) < 0)
		return -1;
	R.snap_threshold = config_u64(cfg, "raft_snapshot_threshold", 16384);
	R.trailing = config_u64(cfg, "raft_trailing_logs", 10240);
	m = multiplier(cfg);
	R.election_ms = 100 * (uint64_t)m;
	R.heartbeat_ms = 20 * (uint64_t)m;
	memset(&opts, 0, sizeof(opts));
	opts.id = R.id;
	opts.election_ms = R.election_ms;
	opts.heartbeat_ms = R.heartbeat_ms;
	opts.max_append_entries = 1024;
	opts.max_append_bytes = 1 << 20;
	opts.max_inflight = 64;
	opts.prevote = 1;
	opts.check_quorum = 1;
	opts.seed = R.id ^ daemon_now_ms() ^ (uint64_t)getpid();
	core_start(term, vote[0] ? strtoull(vote, NULL, 16) : RAFT_NONE);
	ev_timer_init(&R.tick, tick_cb, TICK_SECS, TICK_SECS);
	ev_timer_start(R.loop, &R.tick);
	ev_prepare_init(&R.ready, ready_cb);
	ev_prepare_start(R.loop, &R.ready);
	log_info("raft id %016" PRIx64 ", term %" PRIu64 ", log %" PRIu64
	    "..%" PRIu64 ", elections after %" PRIu64 "-%" PRIu64 " ms",
	    R.id, term, R.log.base + 1, R.log.last, R.election_ms,
	    2 * R.election_ms);
	node_start_if_ready();
	return 0;
}

void
node_close(void)
{
	char err[256];

	ev_timer_stop(R.loop, &R.tick);
	ev_prepare_stop(R.loop, &R.ready);
	if (raft_log_sync(&R.log, err, sizeof(err)) < 0)
		log_error("%s", err);
	if (R.started)
		raft_free(&R.r);
	R.started = 0;
	raft_log_close(&R.log);
}
