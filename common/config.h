/*
 * config - Consul's JSON agent configuration, read by every daemon.
 *
 * config_load() reads -config-file and -config-dir sources in the order
 * given (a directory's *.json files in lexical order) and merges them into
 * one struct: later scalars win, arrays append (services, checks,
 * start_join, recursors), objects merge key by key. Command-line flags are
 * applied last (config_set_flag). A file that does not parse, or a known
 * key with the wrong type, is rejected with "file:line:col: key: what".
 * Keys cairn does not know yet are logged once as ignored, not fatal, so
 * a Consul config keeps working while cairn grows.
 *
 * Each daemon takes the fields it needs. Service and check definitions
 * are kept as jv trees (checkd interprets them).
 */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "jv.h"

struct config {
	char	*node_name;	/* default: hostname */
	char	*node_id;	/* default: derived from node_name, UUID form */
	char	*datacenter;	/* "dc1" */
	char	*domain;	/* "consul." (always ends in '.') */
	char	*data_dir;	/* required unless dev */
	char	*run_dir;	/* cairn: sockets; default <data_dir>/run */
	char	*bind_addr;	/* "0.0.0.0"; in dev "127.0.0.1" */
	char	*advertise_addr;/* default: bind_addr, or 127.0.0.1 if any */
	char	*client_addr;	/* "127.0.0.1" */
	char	*http_addr;	/* addresses.http, default client_addr */
	char	*dns_addr;	/* addresses.dns, default client_addr */
	char	*log_level;	/* "INFO" */
	int	 port_http;	/* 8500 */
	int	 port_dns;	/* 8600 */
	int	 port_server;	/* 8300 */
	int	 port_serf_lan;	/* 8301 */
	int	 port_serf_wan;	/* 8302 */
	int	 server;	/* bool; dev implies true */
	int	 bootstrap;
	int	 bootstrap_expect;
	int	 dev;
	int	 enable_script_checks;
	int	 enable_local_script_checks;
	int	 disable_remote_exec;	/* default true */
	int64_t	 kv_max_value_size;	/* 524288 */
	char	**recursors;	size_t nrecursors;
	char	**start_join;	size_t nstart_join;	/* incl. retry_join */
	/* node_meta: parallel arrays */
	char	**meta_keys, **meta_values; size_t nmeta;
	/* Service and check definitions: "service"/"services",
	   "check"/"checks", each a JSON object in file order. */
	struct jv **services;	size_t nservices;
	struct jv **checks;	size_t nchecks;
	/* Every source parsed, for keys a daemon reads itself (jv_get). */
	struct jv **roots;	size_t nroots;
	char	**files;	size_t nfiles;	/* names, in load order */
};

/* config_defaults - fill in Consul's defaults (dev != 0: -dev's) */
void	config_defaults(struct config *, int dev);

/* config_load_file - merge one JSON file; -1 with err on failure */
int	config_load_file(struct config *, const char *path,
	    char *err, size_t errlen);
/* config_load_dir - merge the directory's .json files in lexical order */
int	config_load_dir(struct config *, const char *dir,
	    char *err, size_t errlen);
/* config_load_text - merge JSON text (tests, -hcl-like inline use) */
int	config_load_text(struct config *, const char *text, size_t len,
	    const char *name, char *err, size_t errlen);

/*
 * config_finish - derive what is left unset (node_name from the hostname,
 * run_dir from data_dir, http_addr from client_addr, ...) and check the
 * result; -1 with err naming the key if it is unusable.
 */
int	config_finish(struct config *, char *err, size_t errlen);
void	config_free(struct config *);

/*
 * config_raw - the last value of a top-level key across all sources, for
 * keys a daemon reads itself (e.g. dns_config); NULL when absent.
 */
struct jv *config_raw(const struct config *, const char *key);

#endif
