/*
 * saved.c - the member list kept in data_dir/gossip/members, so that a
 * restarted gossipd finds its cluster again without start_join (serf's
 * snapshot does this for Consul).
 *
 * One line per alive member other than us: "name ip port". Written at
 * most every 5 s when something changed, to a temporary file renamed over
 * the old one. At start, each saved member is asked for a push/pull; one
 * answer is enough to be back in. After a graceful leave the file goes,
 * so a node that left stays out when restarted (Consul's default,
 * rejoin_after_leave false).
 *
 * Leaves out: serf's Lamport clocks and event history in the snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gossipd.h"
#include "log.h"

#define SAVE_EVERY	5.0
#define SAVED_MAX	4096	/* members read back */

static struct {
	char		 dir[4200], path[4300];
	int		 dirty, rejoined, answered, left;
	ev_timer	 w;
} V;

void
saved_dirty(void)
{
	V.dirty = !V.left;
}

/* saved_write - the alive members, atomically */
static void
saved_write(void)
{
	char tmp[4400];
	const struct member *m;
	size_t i;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", V.path);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("cannot save the member list: %s: %s", tmp,
		    strerror(errno));
		return;
	}
	for (i = 0; i < G.members.n; i++) {
		m = G.members.m[i];
		if (m->status == MEMBER_ALIVE && strcmp(m->name, G.self) != 0)
			fprintf(f, "%s %s %u\n", m->name, m->addr, m->port);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, V.path) != 0) {
		log_warn("cannot save the member list to %s: %s", V.path,
		    strerror(errno));
		unlink(tmp);
		return;
	}
	V.dirty = 0;
}

static void
saved_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	if (V.dirty)
		saved_write();
}

static void
rejoin_done(void *arg, const char *addr, const char *err)
{
	V.answered += err == NULL;
	if (err == NULL && !V.rejoined) {
		V.rejoined = 1;
		log_info("rejoined the cluster through %s (saved member)",
		    addr);
	} else if (err != NULL)
		log_debug("saved member %s did not answer: %s", addr, err);
}

/* saved_init - read what was saved and ask those members back */
int
saved_init(struct config *cfg, char *err, size_t errlen)
{
	char line[512], name[256], ip[64];
	unsigned port;
	FILE *f;
	int n = 0;

	snprintf(V.dir, sizeof(V.dir), "%s/gossip", cfg->data_dir);
	snprintf(V.path, sizeof(V.path), "%s/members", V.dir);
	if (mkdir(V.dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", V.dir, strerror(errno));
		return -1;
	}
	ev_timer_init(&V.w, saved_cb, SAVE_EVERY, SAVE_EVERY);
	ev_timer_start(G.loop, &V.w);
	if ((f = fopen(V.path, "r")) == NULL)
		return 0;
	while (n < SAVED_MAX && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%255s %63s %u", name, ip, &port) != 3 ||
		    port == 0 || port > 65535 || strcmp(name, G.self) == 0)
			continue;
		if (pushpull_start(ip, (int)port, rejoin_done, NULL, err,
		    errlen) == 0)
			n++;
	}
	fclose(f);
	if (n > 0)
		log_info("asking %d member%s saved in %s to take this node "
		    "back", n, n == 1 ? "" : "s", V.path);
	return 0;
}

/* saved_forget - after a leave: start afresh next time */
void
saved_forget(void)
{
	V.dirty = 0;
	V.left = 1;
	if (unlink(V.path) == -1 && errno != ENOENT)
		log_warn("cannot remove %s: %s", V.path, strerror(errno));
}

void
saved_stop(void)
{
	if (V.dirty)
		saved_write();
	ev_timer_stop(G.loop, &V.w);
}
