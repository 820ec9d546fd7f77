/*
 * run.c - running this node's checks, as Consul's CheckMonitor,
 * CheckHTTP, CheckTCP and CheckTTL do.
 *
 * The first run of a script, HTTP or TCP check waits a random part of
 * its interval (lib.RandomStagger), so that checks defined together do
 * not all run at once; each later run starts one interval after the
 * previous one ended, so a slow run is never overtaken by the next.
 * check_exec, check_http and check_tcp make one run each and map it to a
 * status. A TTL check turns critical when no update has come within its
 * TTL, with "TTL expired" and the last output an update gave. Each new
 * result goes through run_set(), which writes the status to the catalog
 * only when it changed.
 *
 * Leaves out: the other probes (UDP, gRPC, alias, ...: registered
 * critical with a message saying so), success_before_passing and
 * failures_before_critical.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkd.h"
#include "log.h"

/* The daemon's state: here, so that libcheckd.a links without main.c. */
struct checkd D;

/* unimpl_output - what a check type cairn does not run yet says */
static const char *
unimpl_output(const char *type)
{
	static const struct {
		const char *type, *text;
	} tab[] = {
		{ "udp", "UDP checks are not implemented yet" },
		{ "grpc", "gRPC checks are not implemented yet" },
		{ "h2ping", "H2PING checks are not implemented yet" },
		{ "os_service", "OS service checks are not implemented yet" },
		{ "alias", "Alias checks are not implemented yet" },
		{ "docker", "Docker checks are not implemented yet" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].type, type) == 0)
			return tab[i].text;
	return "this check type is not implemented yet";
}

struct check *
checkd_find(const char *id)
{
	size_t i;

	for (i = 0; i < D.nchecks; i++)
		if (strcmp(D.checks[i]->def.id, id) == 0)
			return D.checks[i];
	return NULL;
}

struct check *
run_new(struct check_def *def)
{
	struct check *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		log_fatal("out of memory");
	c->def = *def;
	memset(def, 0, sizeof(*def));
	c->status = c->def.status;
	c->output = xstrdup("");
	c->fresh = 1;
	if (c->def.kind == CHECKS_UNIMPL) {
		/* Never passing by default: nothing checks it. */
		c->status = CHECKS_CRITICAL;
		free(c->output);
		c->output = xstrdup(unimpl_output(c->def.type));
	}
	c->timer.data = c;
	return c;
}

/* ns_to_s - libev's seconds */
static double
ns_to_s(int64_t ns)
{
	return (double)ns / 1e9;
}

static void	run_due_cb(struct ev_loop *, ev_timer *, int);

/* run_done - a run ended: record it, schedule the next */
static void
run_done(void *arg, int status, const char *output)
{
	static const char *const names[] = {
		[CHECK_PASSING] = CHECKS_PASSING,
		[CHECK_WARNING] = CHECKS_WARNING,
		[CHECK_CRITICAL] = CHECKS_CRITICAL,
	};
	struct check *c = arg;

	/* The run's handle is already freed; it was one of these. */
	c->exec = NULL;
	c->http = NULL;
	c->tcp = NULL;
	if (status < CHECK_PASSING || status > CHECK_CRITICAL)
		status = CHECK_CRITICAL;
	run_set(c, names[status], output);
	ev_timer_init(&c->timer, run_due_cb, ns_to_s(c->def.interval), 0);
	c->timer.data = c;
	ev_timer_start(D.loop, &c->timer);
}

/* run_due_cb - time for a script, HTTP or TCP check to run */
static void
run_due_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check *c = w->data;
	char err[1024];
	int started;

	/* Never two runs at once (the timer is armed when one ends). */
	if (c->exec != NULL || c->http != NULL || c->tcp != NULL)
		return;
	switch (c->def.kind) {
	case CHECKS_HTTP:
		c->http = check_http_start(loop, &c->def, run_done, c, err,
		    sizeof(err));
		started = c->http != NULL;
		break;
	case CHECKS_TCP:
		c->tcp = check_tcp_start(loop, c->def.tcp, c->def.timeout,
		    run_done, c, err, sizeof(err));
		started = c->tcp != NULL;
		break;
	default:
		c->exec = check_exec_start(loop, c->def.args, c->def.script,
		    c->def.timeout, run_done, c, err, sizeof(err));
		/* Our mistake, not the check's; say so and try again later. */
		if ((started = c->exec != NULL) == 0)
			log_error("check \"%.100s\": %s", c->def.id, err);
		break;
	}
	/* Not started (a request that cannot be made): critical, as Consul. */
	if (!started)
		run_done(c, CHECK_CRITICAL, err);
}

/* ttl_expired_cb - no update within the TTL (Consul's CheckTTL.run) */
static void
ttl_expired_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct check *c = w->data;
	char *out;

	log_warn("check \"%.100s\" missed its TTL, is now critical",
	    c->def.id);
	if (c->ttl_last == NULL || c->ttl_last[0] == '\0')
		out = xstrdup("TTL expired");
	else if (asprintf(&out, "TTL expired (last output before timeout "
	    "follows): %s", c->ttl_last) < 0)
		log_fatal("out of memory");
	run_set(c, CHECKS_CRITICAL, out);
	free(out);
}

void
run_start(struct check *c)
{
	if (c->started)
		return;
	c->started = 1;
	switch (c->def.kind) {
	case CHECKS_SCRIPT:
	case CHECKS_HTTP:
	case CHECKS_TCP:
		/* lib.RandomStagger: uniform in [0, interval). */
		ev_timer_init(&c->timer, run_due_cb,
		    drand48() * ns_to_s(c->def.interval), 0);
		c->timer.data = c;
		ev_timer_start(D.loop, &c->timer);
		break;
	case CHECKS_TTL:
		if (state_load(c))
			log_info("check \"%.100s\": restored status %s from "
			    "before the restart", c->def.id, c->status);
		ev_timer_init(&c->timer, ttl_expired_cb, ns_to_s(c->def.ttl),
		    0);
		c->timer.data = c;
		ev_timer_start(D.loop, &c->timer);
		break;
	case CHECKS_UNIMPL:
		log_warn("check \"%.100s\" (%s): %s; registered as critical",
		    c->def.id, c->def.where, c->output);
		break;
	}
}

void
run_stop(struct check *c)
{
	ev_timer_stop(D.loop, &c->timer);
	if (c->exec != NULL) {
		check_exec_cancel(c->exec);
		c->exec = NULL;
	}
	if (c->http != NULL) {
		check_http_cancel(c->http);
		c->http = NULL;
	}
	if (c->tcp != NULL) {
		check_tcp_cancel(c->tcp);
		c->tcp = NULL;
	}
	c->started = 0;
}

void
run_free(struct check *c)
{
	if (c == NULL)
		return;
	run_stop(c);
	checks_def_free(&c->def);
	free(c->output);
	free(c->ttl_last);
	free(c);
}

void
run_set(struct check *c, const char *status, const char *output)
{
	const char *old = c->status;
	char *out = xstrdup(output);

	free(c->output);
	c->output = out;
	if ((status = checks_status(status)) == NULL)
		log_panic("run_set: not a status");
	c->status = status;
	if (status != CHECKS_CRITICAL)
		c->critical_since = 0;
	else if (c->critical_since == 0)
		c->critical_since = ev_now(D.loop);
	/*
	 * The first result is written even when the status stays: the
	 * register before it carried no output (after a restart the
	 * catalog would show an empty one until the next full pass).
	 */
	if (old == status && !c->fresh)
		return;
	c->fresh = 0;
	if (old != status && status == CHECKS_PASSING)
		log_info("check \"%.100s\" is now passing", c->def.id);
	else if (old != status)
		log_warn("check \"%.100s\" is now %s", c->def.id, status);
	sync_status(c);
}

void
run_ttl_update(struct check *c, const char *status, const char *output)
{
	char *out = checks_truncate(output, strlen(output));

	free(c->ttl_last);
	c->ttl_last = xstrdup(out);
	run_set(c, status, out);
	free(out);
	/* Renewed whether or not it had expired (SetStatus). */
	ev_timer_stop(D.loop, &c->timer);
	ev_timer_set(&c->timer, ns_to_s(c->def.ttl), 0);
	ev_timer_start(D.loop, &c->timer);
	state_save(c);
}
