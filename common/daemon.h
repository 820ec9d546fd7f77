/*
 * daemon - the skeleton every cairn daemon runs in (Postfix's
 * single_server_main, OpenBSD's proc_run): parse the common flags, read the
 * config, set up logging, create the data and run dirs, call the daemon's
 * init hook (which binds its sockets), tell systemd it is ready, run the
 * libev loop, and stop cleanly on SIGTERM/SIGINT. SIGHUP re-reads the
 * config and calls the reload hook.
 *
 * The flags are a subset of Consul's agent flags, so `cairn agent` passes
 * its own arguments to every daemon unchanged. They are applied after the
 * config files, as Consul does.
 */
#ifndef CAIRN_DAEMON_H
#define CAIRN_DAEMON_H

#include <ev.h>
#include <stdint.h>
#include <stddef.h>

#include "config.h"

struct daemon_spec {
	const char	*name;		/* "kvd": sockets, log prefix */
	const char	*summary;	/* one line for --help */
	const char	*help;		/* what this daemon does, for --help */
	int		(*init)(struct ev_loop *, struct config *,
			    char *err, size_t errlen);
	void		(*stop)(void);	/* before the loop is left */
	void		(*reload)(struct config *);	/* may be NULL */
};

int	daemon_main(int argc, char **argv, const struct daemon_spec *);
/* daemon_now_ms - the monotonic clock in ms (timeouts, member "since") */
uint64_t daemon_now_ms(void);
/* daemon_stop - leave the loop as SIGTERM does (e.g. on a fatal peer) */
void	daemon_stop(void);

/* daemon_sock_path - "<run_dir>/<name>.sock" */
/*
 * daemon_config - the config read again from the flags and files the
 * daemon was started with (as SIGHUP does); -1 with err. config_free it.
 */
int	daemon_config(struct config *, char *err, size_t errlen);
void	daemon_sock_path(const struct config *, const char *name,
	    char *out, size_t n);

/*
 * daemon_parse_flags - apply Consul-style agent flags to cfg (used by
 * daemon_main and by `cairn agent`). Returns the index of the first
 * argument that is not a flag, -1 with err on a bad flag, or -2 when
 * help was asked for.
 */
int	daemon_parse_flags(int argc, char **argv, struct config *,
	    char *err, size_t errlen);
/* daemon_flags_help - the text describing the common flags */
extern const char daemon_flags_help[];

#endif
