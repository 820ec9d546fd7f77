/*
 * state.c - TTL check results kept across a restart of checkd, as
 * Consul's agent persists them (agent.go persistCheckState): after each
 * update, data_dir/checks/state/<hash> holds the check ID, status,
 * output and when the TTL runs out. On start a TTL check takes back a
 * result that has not expired yet, so restarting checkd does not flip a
 * healthy TTL check to critical until its owner's next update.
 *
 * Files are replaced by rename, so a crash leaves the old or the new
 * one; they are not fsynced (losing the last update on power loss costs
 * one TTL period of critical, which is what Consul's expiry gives too).
 *
 * Leaves out: script checks (they run again soon), and maintenance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkd.h"
#include "json.h"
#include "jv.h"
#include "log.h"

#define STATE_MAX	65536

static char state_dir[4096];

/* now_ns - wall-clock time: expiry must survive a restart */
static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* state_path - data_dir/checks/state/<FNV-1a 64 of the ID, in hex> */
static void
state_path(const char *id, char *out, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
	snprintf(out, n, "%s/%016llx", state_dir, (unsigned long long)h);
}

void
state_init(const char *data_dir)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/checks", data_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warn("mkdir %s: %s; TTL check state will not survive a "
		    "restart", dir, strerror(errno));
	snprintf(state_dir, sizeof(state_dir), "%s/checks/state", data_dir);
	if (mkdir(state_dir, 0700) == -1 && errno != EEXIST)
		log_warn("mkdir %s: %s; TTL check state will not survive a "
		    "restart", state_dir, strerror(errno));
}

void
state_save(const struct check *c)
{
	char path[4200], tmp[4300];
	struct json j;
	struct buf b;
	ssize_t w;
	int fd;

	if (state_dir[0] == '\0')
		return;
	buf_init(&b);
	json_init(&j, &b, 0);
	json_obj_open(&j);
	json_key(&j, "CheckID");
	json_str(&j, c->def.id);
	json_key(&j, "Status");
	json_str(&j, c->status);
	json_key(&j, "Output");
	json_str(&j, c->output);
	json_key(&j, "Expires");
	json_i64(&j, now_ns() + c->def.ttl);
	json_obj_close(&j);
	state_path(c->def.id, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	w = fd < 0 ? -1 : write(fd, buf_head(&b), buf_used(&b));
	if (fd < 0 || w != (ssize_t)buf_used(&b) || close(fd) < 0 ||
	    rename(tmp, path) < 0) {
		log_warn("check \"%.100s\": cannot save its state in %s: %s",
		    c->def.id, path, w >= 0 ? strerror(errno) : "short write");
		if (fd >= 0)
			unlink(tmp);
	}
	buf_free(&b);
}

int
state_load(struct check *c)
{
	char path[4200], err[256], *text;
	const char *id, *status, *output;
	struct jv *v;
	int64_t expires;
	ssize_t n;
	int fd, ok = 0;

	if (state_dir[0] == '\0')
		return 0;
	state_path(c->def.id, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	/* 4 KiB of output, escaped at worst six times over, and the rest. */
	if ((text = malloc(STATE_MAX)) == NULL)
		log_fatal("out of memory");
	n = read(fd, text, STATE_MAX);
	close(fd);
	v = n > 0 ? jv_parse(text, (size_t)n, path, err, sizeof(err)) : NULL;
	free(text);
	if (v == NULL) {
		log_warn("check \"%.100s\": ignoring unreadable state %s",
		    c->def.id, path);
		unlink(path);
		return 0;
	}
	id = jv_str(v, "CheckID");
	status = checks_status(jv_str(v, "Status"));
	output = jv_str(v, "Output");
	/* A hash collision, or an expired result: Consul drops those. */
	if (id != NULL && strcmp(id, c->def.id) == 0 && status != NULL &&
	    output != NULL && jv_int(v, "Expires", &expires) == 0) {
		if (expires > now_ns()) {
			c->status = status;
			free(c->output);
			free(c->ttl_last);
			if ((c->output = strdup(output)) == NULL ||
			    (c->ttl_last = strdup(output)) == NULL)
				log_fatal("out of memory");
			ok = 1;
		} else
			unlink(path);
	}
	jv_free(v);
	return ok;
}

void
state_remove(const char *check_id)
{
	char path[4200];

	if (state_dir[0] == '\0')
		return;
	state_path(check_id, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_warn("check \"%.100s\": cannot remove %s: %s", check_id,
		    path, strerror(errno));
}
