/*
 * cli.h - the `cairn` command: every module's interface, grouped by file
 * (OpenBSD style). main.c holds the command table; the rest is libcli.a.
 *
 * User commands talk to an agent's httpd over HTTP with libcurl and print
 * what Consul's commands print, with the same exit codes, so scripts
 * written for `consul kv get` or `consul members` work with cairn.
 * Output is built in a struct buf by pure functions (tested without a
 * network) and written by the command.
 */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <yajl/yajl_tree.h>

#include "buf.h"
#include "config.h"

#define CLI_VERSION	"0.1.0"
/* Consul's protocol numbers: `version` and `members` report these. */
#define CLI_PROTO	2
#define CLI_PROTO_MIN	2
#define CLI_PROTO_MAX	3

/* flag.c: Go's flag package, as Consul's commands parse their options. */
/* cli_self - how cairn was invoked (argv[0]), for hints it prints */
extern const char *cli_self;

enum cli_flag_kind { CLI_BOOL, CLI_STR, CLI_U64 };

struct cli_flag {
	const char		*name;
	enum cli_flag_kind	 kind;
	void			*val;	/* int *, const char **, uint64_t * */
	const char		*arg;	/* -name=<arg> in usage; NULL: bool */
	const char		*help;
};

/*
 * cli_flags_parse - parse args[0..argc) against the tables (each ends
 * with a NULL name; tabs ends with NULL). Returns the index of the first
 * argument that is not a flag, -1 with err (Go's words), or -2 when -h or
 * -help was given.
 */
int	cli_flags_parse(int argc, char **argv,
	    const struct cli_flag *const *tabs, char *err, size_t errlen);
/*
 * cli_usage - text (starting "Usage: ...") then each table under its
 * title, Consul's layout: "  -name=<arg>" and the help wrapped at 80
 * columns, indented 5.
 */
/*
 * cli_flags_usage - cli_flags_parse, and when the command is done there:
 * help on stdout (*rc 0), or the bad flag's error and the help on
 * stderr (*rc 1), returning -1
 */
int	cli_flags_usage(int argc, char **argv, const char *help,
	    const struct cli_flag *const *tabs, const char *const *titles,
	    int *rc);
/*
 * cli_flag_values - every value given for the flag called name, in
 * order, into vals (room for argc). Go's flag package keeps each for a
 * repeatable flag, which cli_flags_parse does not, so the arguments are
 * walked again with its grammar (the caller has parsed them already)
 */
size_t	cli_flag_values(int argc, char **argv,
	    const struct cli_flag *const *tabs, const char *name, char **vals);
/* cli_keycmp - qsort: "k=v" strings by their keys */
int	cli_keycmp(const void *, const void *);
void	cli_usage(struct buf *, const char *text,
	    const struct cli_flag *const *tabs, const char *const *titles);
/* cli_help - cli_usage on stdout when asked for (0), else stderr (1) */
int	cli_help(const char *help, const struct cli_flag *const *tabs,
	    const char *const *titles, int asked);
/* cli_wrap - append s word-wrapped to width, each line indented by ind */
void	cli_wrap(struct buf *, const char *s, int ind, int width);
/* cli_write - write the buf to fp; -1 on a write error */
int	cli_write(FILE *, struct buf *);

/* A subcommand: in `cairn kv get ...`, { "get", kv_get }. */
struct cli_sub {
	const char	*name;
	int		(*fn)(int argc, char **argv);
};
/*
 * cli_subcommand - run the subcommand argv[0] names with the arguments
 * after it; help on stdout (0) when asked for, on stderr (1) for no
 * subcommand or an unknown one. subs ends with a NULL name.
 */
int	cli_subcommand(int argc, char **argv, const char *help,
	    const struct cli_sub *subs);

/* columnize.c: github.com/ryanuber/columnize with Consul's settings. */
/*
 * cli_columnize - lines of cells split by 0x1f, cells trimmed, columns
 * padded to their widest cell (counted in UTF-8 characters) and joined by
 * two spaces; the last cell of a line is not padded; no final newline.
 */
void	cli_columnize(struct buf *out, char *const *lines, size_t n);
/* cli_columnize_bufs - the same for n lines in bufs, which it frees */
void	cli_columnize_bufs(struct buf *out, struct buf *lines, size_t n);

/* http.c: the HTTP API client. */
struct http_client {
	char	 base[512];	/* "http://127.0.0.1:8500", no final '/' */
	char	 unix_path[108];/* set for unix:// addresses */
	char	 host[300];	/* "127.0.0.1:8500" for messages */
	char	 token[256];	/* X-Consul-Token, or "" */
	char	 dc[128];	/* ?dc=, or "" */
	int	 stale;		/* ?stale on reads */
};

/*
 * An answer. http_do and http_stream fill code, body and the index; sink
 * and sink_arg are read by http_stream only (http_do clears them, so its
 * callers need not initialise the struct).
 */
struct http_resp {
	long		 code;
	/* the body; with a sink, a non-200's first HTTP_ERRBODY bytes */
	struct buf	 body;
	char		 index[64];	/* X-Consul-Index of the final answer */
	int		 has_index;	/* 0: the answer had no such header */
	/* a 200's body as it arrives; -1 stops the transfer */
	int		(*sink)(void *arg, const void *data, size_t len);
	void		*sink_arg;
};

/* how much of a non-200 body a sink transfer keeps for the message */
#define HTTP_ERRBODY	4096

/* Consul's -http-addr, -token, -datacenter and -stale flags. */
struct http_flags {
	const char	*addr;
	const char	*token;
	const char	*dc;
	int		 stale;
	struct cli_flag	 tab[5];
};

/*
 * http_flags_init - the flag table with defaults from the environment;
 * server_flags adds -datacenter and -stale (Consul's ServerFlags).
 */
void	http_flags_init(struct http_flags *, int server_flags);
/*
 * http_addr_parse - "host:port", "http://host:port", "https://host:port"
 * or "unix:///path" into c->base, c->unix_path and c->host.
 */
int	http_addr_parse(struct http_client *, const char *addr,
	    char *err, size_t errlen);
/* http_client_init - from parsed flags; -1 with err for a bad address */
int	http_client_init(struct http_client *, const struct http_flags *,
	    char *err, size_t errlen);
/* http_escape_path - append s percent-encoded as Go escapes URL paths */
void	http_escape_path(struct buf *, const char *s);
/* http_escape_query - append s encoded as Go's url.QueryEscape does */
void	http_escape_query(struct buf *, const char *s);
/*
 * http_do - one request: path starts "/v1/...", query is "" or "a=b&c",
 * dc/stale/token are added, and no timeout is set (blocking queries wait
 * as long as the agent does). Transport errors give -1 and Go's text
 * (`Get "url": dial tcp host: connect: connection refused`); any HTTP
 * status is 0 with resp filled. Free resp->body with buf_free (after -1
 * too).
 */
int	http_do(const struct http_client *, const char *method,
	    const char *path, const char *query, int read,
	    const void *body, size_t len, struct http_resp *,
	    char *err, size_t errlen);
/*
 * http_stream - http_do with resp->sink (which the caller sets, or sets
 * NULL) taking a 200's body in place of resp->body. A sink's -1 ends the
 * transfer: -1 with `Get "url": storing the response body failed`.
 */
int	http_stream(const struct http_client *, const char *method,
	    const char *path, const char *query, int read,
	    const void *body, size_t len, struct http_resp *,
	    char *err, size_t errlen);
/* http_status_error - Consul api's "Unexpected response code: N (body)" */
void	http_status_error(const struct http_resp *, char *err, size_t errlen);

/* kv.c: `cairn kv get|put|delete`. */
struct kv_entry {
	char		*key;
	unsigned char	*value;		/* NUL-terminated copy */
	size_t		 vlen;
	uint64_t	 flags, create_index, modify_index, lock_index;
	char		*session;	/* "" when none */
};

/* kv_parse_entries - a /v1/kv JSON array of entries */
int	kv_parse_entries(const char *json, size_t len, struct kv_entry **,
	    size_t *n, char *err, size_t errlen);
void	kv_entries_free(struct kv_entry *, size_t n);

/* lock_sem.c: the semaphore's .lock value (api's semaphoreLock) */
struct lock_sem {
	uint64_t	 limit;
	char		**holders;	/* session IDs */
	size_t		 n;
};
void	lock_sem_free(struct lock_sem *);
void	lock_sem_add(struct lock_sem *, const char *id);
/* lock_sem_index - where id is among the holders, or -1 */
ssize_t	lock_sem_index(const struct lock_sem *, const char *id);
void	lock_sem_remove(struct lock_sem *, size_t i);
/* lock_sem_decode - e's value (none: a fresh lock of limit); -1 with err */
int	lock_sem_decode(const struct kv_entry *e, uint64_t limit,
	    struct lock_sem *, char *err, size_t errlen);
/* lock_sem_encode - Go's json.Marshal of it, holders sorted */
void	lock_sem_encode(struct lock_sem *, struct buf *out);
/* lock_sem_prune - drop holders whose session holds none of e[0..n) */
void	lock_sem_prune(struct lock_sem *, const struct kv_entry *e, size_t n);
/* kv_parse_keys - a ?keys JSON array of strings */
int	kv_parse_keys(const char *json, size_t len, char ***keys, size_t *n,
	    char *err, size_t errlen);
void	kv_keys_free(char **, size_t n);
/* kv_format_detailed - -detailed's block, without the final newline */
void	kv_format_detailed(struct buf *, const struct kv_entry *, int b64);
/* kv_format_value - the value, raw or base64 */
void	kv_format_value(struct buf *, const struct kv_entry *, int b64);
int	kv_main(int argc, char **argv);
/* kv.c's pieces kv_export.c shares */
int	kv_parse(int argc, char **argv, const char *help,
	    const struct cli_flag *const *tabs, int *rc);
int	kv_client(struct http_client *, const struct http_flags *);
void	kv_key_path(struct buf *, const char *key);
int	kv_data_arg(const char *arg, struct buf *data, char *err,
	    size_t errlen);

/* kv_export.c: `cairn kv export|import` */
int	kv_export(int argc, char **argv);
int	kv_import(int argc, char **argv);
/* kv_export_format - Consul's export: a tab-indented JSON array */
void	kv_export_format(struct buf *, const struct kv_entry *, size_t n);

/* members.c: `cairn members`. */
struct cli_member {
	char		*name;
	char		*addr;
	uint64_t	 port;
	uint64_t	 status;
	char		**keys, **values;	/* tags */
	size_t		 ntags;
};

/* members_parse - /v1/agent/members JSON */
int	members_parse(const char *json, size_t len, struct cli_member **,
	    size_t *n, char *err, size_t errlen);
void	members_free(struct cli_member *, size_t n);
/* members_status - serf's status name: "alive", "unknown MemberStatus 9" */
const char *members_status(uint64_t status, char *buf, size_t n);
/* members_tag - a tag's value, or "" */
const char *members_tag(const struct cli_member *, const char *key);
/* members_addr - Go's net.TCPAddr string: "1.2.3.4:8301", "[::1]:8301" */
void	members_addr(const char *ip, uint64_t port, char *out, size_t n);
/*
 * members_select - keep the members whose status matches re (NULL: all),
 * fill in the segment column as Consul does, and sort: servers first,
 * then by segment, then by name. Returns how many are kept.
 */
size_t	members_select(struct cli_member *, size_t n, const regex_t *re);
/* members_format - the columnized table, without the final newline */
void	members_format(struct buf *, const struct cli_member *, size_t n,
	    int detailed);
int	members_main(int argc, char **argv);

/* agent.c: `cairn agent`, a supervisor for the node's daemons. */
/* agent_daemons - the daemons a node runs, in start order */
const char *const *agent_daemons(int server, size_t *n);
/* agent_backoff - the next restart delay after a child ran for ran secs */
double	agent_backoff(double prev, double ran);
/*
 * agent_child_argv - [path, the agent's flags..., (-data-dir dir)], NULL
 * terminated; free with free() (one block).
 */
char	**agent_child_argv(const char *path, int nflags, char *const *flags,
	    const char *data_dir);
/* agent_probe_addr - where to connect to reach a listener on addr */
void	agent_probe_addr(const char *addr, char *out, size_t n);
/* agent_banner - -dev's "where it listens and what to try" text */
void	agent_banner(struct buf *, const struct config *,
	    const char *data_dir, const char *self);
/*
 * agent_left - whether a daemon's exit (waitpid status) that the agent
 * did not ask for is gossipd's after a graceful leave: exit status 0
 */
int	agent_left(const char *name, int wstatus);
int	agent_main(int argc, char **argv);

/* leave.c: `cairn leave` and `cairn force-leave [-prune] NODE`. */
int	leave_main(int argc, char **argv);
int	force_leave_main(int argc, char **argv);

/* keygen.c: `cairn keygen`, a new gossip encryption key. */
int	keygen_main(int argc, char **argv);

/* catalog.c: `cairn catalog datacenters|nodes|services`. */
int	catalog_main(int argc, char **argv);

/* validate.c: `cairn validate`, the agent's config checks alone. */
int	validate_main(int argc, char **argv);

/* operator.c: `cairn operator raft list-peers|remove-peer`. */
struct cli_raft_server {
	char	*id, *node, *address;
	char	*protocol;	/* ProtocolVersion; "" when absent */
	int	 leader, voter;
};

/* operator_parse_config - /v1/operator/raft/configuration JSON */
int	operator_parse_config(const char *json, size_t len,
	    struct cli_raft_server **, size_t *n, uint64_t *index,
	    char *err, size_t errlen);
void	operator_servers_free(struct cli_raft_server *, size_t n);
/* operator_format_peers - list-peers' table, without the final newline */
void	operator_format_peers(struct buf *, const struct cli_raft_server *,
	    size_t n);
/*
 * operator_remove_query - "address=..." or "id=..." (escaped) for remove-
 * peer; -1 with Consul's text unless exactly one is non-empty.
 */
int	operator_remove_query(struct buf *, const char *address,
	    const char *id, char *err, size_t errlen);
/* operator_quote - s as Go's %q prints it */
void	operator_quote(struct buf *, const char *s);
int	operator_main(int argc, char **argv);

/* snapshot.c: `cairn snapshot save|restore`. */
#define SNAPSHOT_MAGIC		"CAIRNSNAP"	/* kvd's snapshot files */
#define SNAPSHOT_MAGIC_LEN	9

/* A snapshot checked as it streams by: magic, then a CRC-32C trailer. */
struct snapshot_check {
	unsigned char	 head[SNAPSHOT_MAGIC_LEN];
	unsigned char	 tail[4];	/* the newest bytes, not yet CRC'd */
	size_t		 ntail;
	uint64_t	 size;
	uint32_t	 crc;		/* of all but the newest 4 bytes */
};

void	snapshot_check_init(struct snapshot_check *);
void	snapshot_check_update(struct snapshot_check *, const void *,
	    size_t);
/*
 * snapshot_check_done - 0 if what was fed starts with the magic, has
 * room for the u32 version, and ends with the big-endian CRC-32C of the
 * rest; -1 with why.
 */
int	snapshot_check_done(const struct snapshot_check *, char *err,
	    size_t errlen);
/* snapshot_index_parse - X-Consul-Index as Consul's api parses it */
int	snapshot_index_parse(const char *s, uint64_t *, char *err,
	    size_t errlen);
int	snapshot_main(int argc, char **argv);

/* monitor.c: `cairn monitor`, the agent's log lines as they come. */
int	monitor_main(int argc, char **argv);

/* event.c: `cairn event`. */
/*
 * event_filters_ok - the -node, -service and -tag filters ("" for none)
 * as Consul's event and exec validate them: 1, or 0 after its message
 */
int	event_filters_ok(const char *node, const char *service,
	    const char *tag);
int	event_main(int argc, char **argv);

/* exec.c: `cairn exec`, remote execution (the agents' side: checkd). */
enum { EXEC_KEY_UNKNOWN, EXEC_KEY_JOB, EXEC_KEY_ACK, EXEC_KEY_OUT,
    EXEC_KEY_EXIT };
/*
 * exec_spec_encode - the job spec as Consul's json.Marshal(rExecSpec):
 * {"Command":..,"Args":[..],"Script":"<base64>","Wait":<ns>}, the first
 * three only when not empty
 */
void	exec_spec_encode(struct buf *, const char *cmd, char *const *args,
	    size_t nargs, const void *script, size_t slen, int64_t wait_ns);
/* exec_event_encode - the event's payload {"Prefix":..,"Session":..} */
void	exec_event_encode(struct buf *, const char *prefix,
	    const char *session);
/*
 * exec_prefix_lines - Consul's TargetedUI.prefixLines: each line of msg
 * as "==> target: line" (arrow) or "    target: line", the whole with
 * its trailing white space (unicode.IsSpace) trimmed
 */
void	exec_prefix_lines(struct buf *, const char *target, int arrow,
	    const void *msg, size_t len);
/*
 * exec_key_kind - what a key under <prefix>/<session>/ is (EXEC_KEY_*),
 * with the length of its node part for ack, out and exit
 */
int	exec_key_kind(const char *rel, size_t *nodelen);
/* exec_parse_exit - strconv.ParseInt(s, 10, 32); -1 with Go's text */
int	exec_parse_exit(const char *s, size_t n, int *code, char *err,
	    size_t errlen);
int	exec_main(int argc, char **argv);

/* watch.c: `cairn watch`. */
int	watch_main(int argc, char **argv);
int	lock_main(int argc, char **argv);	/* lock.c: `cairn lock` */

/* maint.c: `cairn maint`, node and service maintenance mode. */
int	maint_main(int argc, char **argv);

/* services.c: `cairn services register|deregister`. */
int	services_main(int argc, char **argv);

/* agent_cmds.c: `cairn reload` and `cairn info`. */
int	reload_main(int argc, char **argv);
int	info_main(int argc, char **argv);

/* json_get.c: typed reads of API answers */
yajl_val	 cli_json_parse(const char *, size_t, char *err, size_t errlen);
int		 cli_json_u64(yajl_val, const char *key, uint64_t *);
const char	*cli_json_str(yajl_val, const char *key, int *bad);
char		*cli_xstrdup(const char *);

#endif
