/*
 * checks - this node's service and check definitions, read from the
 * config's service(s) and check(s) trees with Consul's rules, and the
 * catalog records (msg.h) that describe them.
 *
 * Consul's rules (agent/agent.go, agent/structs/check_type.go): a service
 * ID defaults to its name; a service's embedded checks ("check" first,
 * then "checks") get CheckID "service:<id>", or "service:<id>:<n>"
 * (1-based) when there are several, and the name "Service '<name>'
 * check"; a standalone check's ID defaults to its name; the initial
 * status is critical unless "status" says otherwise; intervals below 1s
 * are raised to 1s. A script check from a config file needs
 * enable_script_checks or enable_local_script_checks. When an ID repeats,
 * the later definition wins, as a later registration does in Consul.
 *
 * Errors name the file, position and key: "web.json:4:18:
 * services[0].checks[1]: Interval must be > 0 for Script, HTTP, or TCP
 * checks".
 *
 * An HTTP check keeps Consul's "method", "header" ({"Name": ["v1",
 * "v2"]}), "body", "tls_skip_verify" and "disable_redirects"; a TCP check
 * its "tcp" address. Neither is checked beyond its JSON type here: a bad
 * URL or address makes the check critical when it runs, as in Consul.
 *
 * Pure: no event loop, no sockets. Running the checks is run.c's, and
 * writing to the catalog sync.c's. The other probe types (UDP, gRPC,
 * alias, ...) are recognised and validated but not run (CHECKS_UNIMPL).
 */
#ifndef CAIRN_CHECKS_H
#define CAIRN_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

/* The status strings of the catalog; compare with checks_status(). */
extern const char CHECKS_PASSING[], CHECKS_WARNING[], CHECKS_CRITICAL[];

#define CHECKS_MIN_INTERVAL	1000000000LL	/* Consul's MinInterval, 1s */
#define CHECKS_OUTPUT_MAX	4096		/* check_output_max_size */

enum checks_kind {
	CHECKS_TTL,
	CHECKS_SCRIPT,
	CHECKS_HTTP,
	CHECKS_TCP,
	CHECKS_UNIMPL		/* udp, grpc, alias, ...: not run */
};

struct check_def {
	char		*id;
	char		*name;
	char		*notes;
	char		*service_id;	/* "" for a node check */
	char		*service_name;	/* "" for a node check */
	enum checks_kind kind;
	const char	*type;		/* "ttl", "script", "http", ... */
	char		**args;		/* NULL-terminated, or NULL */
	size_t		 nargs;
	char		*script;	/* legacy "script", or NULL */
	int64_t		 interval;	/* ns; 0 for TTL checks */
	int64_t		 timeout;	/* ns; 0: the check type's default */
	int64_t		 ttl;		/* ns; TTL checks only */
	int64_t		 dereg_after;	/* ns critical before the service is
					   deregistered; 0 never */
	const char	*status;	/* initial: one of CHECKS_* */
	char		*where;		/* "file:line:col" for log lines */
	/* HTTP checks; NULL, 0 or empty for the others. */
	char		*http;		/* the URL */
	char		*method;	/* NULL: GET */
	char		**hdr_names;	/* "header": one pair per value, */
	char		**hdr_values;	/* in the order written */
	size_t		 nhdrs;
	char		*body;		/* NULL: none */
	int		 tls_skip_verify;
	int		 disable_redirects;
	/* TCP checks. */
	char		*tcp;		/* "host:port", or NULL */
};

struct svc_def {
	char		*id;
	char		*name;
	char		*address;	/* "" when not given */
	int		 port;
	char		**tags;
	size_t		 ntags;
	char		**meta_keys, **meta_values;
	size_t		 nmeta;
	int		 weight_passing;	/* DNS SRV weights: 1 and 1 */
	int		 weight_warning;	/* when not given */
	char		*where;
};

struct checks_defs {
	struct svc_def	 *svcs;
	size_t		  nsvcs;
	struct check_def *checks;	/* node checks and service checks */
	size_t		  nchecks;
};

/*
 * checks_load - every definition in cfg; 0, or -1 with err naming the
 * file and key (defs is left empty then).
 */
int	checks_load(struct checks_defs *, const struct config *,
	    char *err, size_t errlen);
void	checks_free(struct checks_defs *);

/* checks_find_svc, checks_find_check - by ID; NULL when absent */
const struct svc_def	*checks_find_svc(const struct checks_defs *,
			    const char *id);
const struct check_def	*checks_find_check(const struct checks_defs *,
			    const char *id);

/* checks_def_equal, checks_svc_equal - 1 when the definitions match */
int	checks_def_equal(const struct check_def *, const struct check_def *);
int	checks_svc_equal(const struct svc_def *, const struct svc_def *);
/* checks_def_copy - a deep copy of src into dst */
void	checks_def_copy(struct check_def *dst, const struct check_def *src);
void	checks_def_free(struct check_def *);

/* checks_status - the CHECKS_* string equal to s, or NULL */
const char *checks_status(const char *s);

/*
 * checks_truncate - Consul's TTL output limit: more than
 * CHECKS_OUTPUT_MAX bytes become "<first 4096> ... (captured 4096 of N
 * bytes)". Returns a malloc'd copy.
 */
char	*checks_truncate(const char *, size_t);

/*
 * The node this daemon speaks for, as registered: name, ID, advertise
 * address, datacenter and node_meta.
 */
struct checks_node {
	const char	*node, *node_id, *address, *dc;
	char		**meta_keys, **meta_values;
	size_t		  nmeta;
};

/*
 * Catalog records (msg.h). The check record ends with A_STATUS then
 * A_OUTPUT because kvd's OP_CHECK_STATUS rewrites a stored check that
 * way: a register that changes nothing then compares equal to what kvd
 * holds, and does not move the catalog index.
 */
void	checks_node_rec(struct buf *, const struct checks_node *);
void	checks_svc_rec(struct buf *, const char *node, const struct svc_def *);
void	checks_check_rec(struct buf *, const char *node,
	    const struct check_def *, const char *status, const char *output);
/* checks_check_rec_tags - with svc's tags (ServiceTags) for agent replies */
void	checks_check_rec_tags(struct buf *, const char *node,
	    const struct check_def *, const char *status, const char *output,
	    const struct svc_def *svc);

#endif
