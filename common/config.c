/*
 * config.c - Consul's JSON agent configuration. See config.h.
 *
 * One table (cfg_top) names every key cairn reads, its type and the field
 * it fills. A source is parsed into a jv tree, checked against the table,
 * and only then merged, so a bad file leaves the config as it was. Merge
 * rules are Consul's (agent/config/merge.go): scalars are replaced, lists
 * append, nested settings (ports, addresses, limits) merge key by key, and
 * node_meta, a map, is replaced by a later non-empty one.
 *
 * Left out: HCL (*.hcl files are skipped with a warning), go-sockaddr
 * templates in addresses, Consul's weak decoding of one-element lists as
 * scalars, and keys cairn does not use yet (warned about and ignored).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define CFG_MAX_FILE	(16 * 1024 * 1024)	/* bytes in one source */

/* Consul's node_meta limits (agent/structs ValidateNodeMetadata). */
#define CFG_META_PAIRS	64
#define CFG_META_KEYLEN	128
#define CFG_META_VALLEN	512

enum cfg_kind {
	CFG_STR,	/* string */
	CFG_BOOL,	/* true/false into an int */
	CFG_COUNT,	/* integer >= 0 into an int */
	CFG_PORT,	/* integer 1-65535 into an int */
	CFG_SIZE,	/* integer >= 1 into an int64_t */
	CFG_LIST,	/* array of strings, appended */
	CFG_META,	/* object of strings: node_meta */
	CFG_DEFS,	/* object or array of objects: services, checks */
	CFG_OBJ,	/* nested settings, see sub */
	CFG_RAW		/* known, read by a daemon through config_raw() */
};

struct cfg_key {
	const char		*name;
	enum cfg_kind		 kind;
	size_t			 off;	/* the field in struct config */
	size_t			 noff;	/* CFG_LIST, CFG_DEFS: its count */
	const struct cfg_key	*sub;	/* CFG_OBJ: the members */
};

#define CFG_F(f)	offsetof(struct config, f)

static const struct cfg_key cfg_addresses[] = {
	{ "http",		CFG_STR,	CFG_F(http_addr), 0, NULL },
	{ "dns",		CFG_STR,	CFG_F(dns_addr), 0, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct cfg_key cfg_ports[] = {
	{ "http",		CFG_PORT,	CFG_F(port_http), 0, NULL },
	{ "dns",		CFG_PORT,	CFG_F(port_dns), 0, NULL },
	{ "server",		CFG_PORT,	CFG_F(port_server), 0, NULL },
	{ "serf_lan",		CFG_PORT,	CFG_F(port_serf_lan), 0, NULL },
	{ "serf_wan",		CFG_PORT,	CFG_F(port_serf_wan), 0, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct cfg_key cfg_limits[] = {
	{ "kv_max_value_size",	CFG_SIZE, CFG_F(kv_max_value_size), 0, NULL },
	{ NULL, 0, 0, 0, NULL }
};

/*
 * Top-level keys. A key a daemon reads for itself with config_raw() is
 * listed as CFG_RAW, or every start warns that it is ignored: add a line
 * here when a daemon starts reading one.
 */
static const struct cfg_key cfg_top[] = {
	{ "node_name",		CFG_STR,	CFG_F(node_name), 0, NULL },
	{ "node_id",		CFG_STR,	CFG_F(node_id), 0, NULL },
	{ "datacenter",		CFG_STR,	CFG_F(datacenter), 0, NULL },
	{ "domain",		CFG_STR,	CFG_F(domain), 0, NULL },
	{ "data_dir",		CFG_STR,	CFG_F(data_dir), 0, NULL },
	{ "run_dir",		CFG_STR,	CFG_F(run_dir), 0, NULL },
	{ "bind_addr",		CFG_STR,	CFG_F(bind_addr), 0, NULL },
	{ "advertise_addr",	CFG_STR,	CFG_F(advertise_addr), 0,
	    NULL },
	{ "client_addr",	CFG_STR,	CFG_F(client_addr), 0, NULL },
	{ "addresses",		CFG_OBJ,	0, 0, cfg_addresses },
	{ "ports",		CFG_OBJ,	0, 0, cfg_ports },
	{ "log_level",		CFG_STR,	CFG_F(log_level), 0, NULL },
	{ "server",		CFG_BOOL,	CFG_F(server), 0, NULL },
	{ "bootstrap",		CFG_BOOL,	CFG_F(bootstrap), 0, NULL },
	{ "bootstrap_expect",	CFG_COUNT,	CFG_F(bootstrap_expect), 0,
	    NULL },
	{ "enable_script_checks", CFG_BOOL, CFG_F(enable_script_checks), 0,
	    NULL },
	{ "enable_local_script_checks", CFG_BOOL,
	    CFG_F(enable_local_script_checks), 0, NULL },
	{ "disable_remote_exec", CFG_BOOL, CFG_F(disable_remote_exec), 0,
	    NULL },
	{ "limits",		CFG_OBJ,	0, 0, cfg_limits },
	/* Before Consul 1.6 this lived at the top level. */
	{ "kv_max_value_size",	CFG_SIZE, CFG_F(kv_max_value_size), 0, NULL },
	{ "recursors",		CFG_LIST,	CFG_F(recursors),
	    CFG_F(nrecursors), NULL },
	{ "start_join",		CFG_LIST,	CFG_F(start_join),
	    CFG_F(nstart_join), NULL },
	{ "retry_join",		CFG_LIST,	CFG_F(start_join),
	    CFG_F(nstart_join), NULL },
	{ "node_meta",		CFG_META,	0, 0, NULL },
	{ "service",		CFG_DEFS,	CFG_F(services),
	    CFG_F(nservices), NULL },
	{ "services",		CFG_DEFS,	CFG_F(services),
	    CFG_F(nservices), NULL },
	{ "check",		CFG_DEFS,	CFG_F(checks),
	    CFG_F(nchecks), NULL },
	{ "checks",		CFG_DEFS,	CFG_F(checks),
	    CFG_F(nchecks), NULL },
	{ "dns_config",		CFG_RAW,	0, 0, NULL },	/* dnsd */
	{ "alt_domain",		CFG_RAW,	0, 0, NULL },
	{ "performance",	CFG_RAW,	0, 0, NULL },	/* raftd */
	{ "raft_snapshot_threshold", CFG_RAW,	0, 0, NULL },
	{ "raft_snapshot_interval", CFG_RAW,	0, 0, NULL },
	{ "raft_trailing_logs",	CFG_RAW,	0, 0, NULL },
	{ "session_ttl_min",	CFG_RAW,	0, 0, NULL },	/* kvd */
	{ "ae_interval",	CFG_RAW,	0, 0, NULL },	/* checkd */
	{ "retry_interval",	CFG_RAW,	0, 0, NULL },	/* gossipd */
	{ "retry_max",		CFG_RAW,	0, 0, NULL },
	{ "leave_on_terminate",	CFG_RAW,	0, 0, NULL },
	{ "skip_leave_on_interrupt", CFG_RAW,	0, 0, NULL },
	{ "rejoin_after_leave",	CFG_RAW,	0, 0, NULL },
	{ NULL, 0, 0, 0, NULL }
};

/* cfg_strdup - strdup or die */
static char *
cfg_strdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		log_fatal("out of memory");
	return p;
}

/* cfg_setstr - replace the string at *field with a copy of s */
static void
cfg_setstr(char **field, const char *s)
{
	char *p = s != NULL ? cfg_strdup(s) : NULL;

	free(*field);
	*field = p;
}

/* cfg_grow - arr of n elements with room for one more; doubles at 2^k */
static void *
cfg_grow(void *arr, size_t elsize, size_t n)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return arr;
	if ((arr = reallocarray(arr, n ? n * 2 : 1, elsize)) == NULL)
		log_fatal("out of memory");
	return arr;
}

/* cfg_err - "file:line:col: path: what" at value v */
static int
cfg_err(const struct jv *v, const char *path, char *err, size_t errlen,
    const char *what)
{
	snprintf(err, errlen, "%s:%d:%d: %s: %s", v->file, v->line, v->col,
	    path, what);
	return -1;
}

/*
 * cfg_jv_int - v as an integer, through jv_int(): a one-member object is
 * made around v so that jv.c alone decides what counts as an integer.
 */
static int
cfg_jv_int(const struct jv *v, int64_t *out)
{
	struct jv obj;
	struct jv *item = (struct jv *)v;
	char *key = "";

	memset(&obj, 0, sizeof(obj));
	obj.type = JV_OBJ;
	obj.n = 1;
	obj.keys = &key;
	obj.items = &item;
	return jv_int(&obj, "", out);
}

/* cfg_int - an integer in [lo, hi]; -1 with err otherwise */
static int
cfg_int(const struct jv *v, const char *path, int64_t lo, int64_t hi,
    int64_t *out, char *err, size_t errlen)
{
	char what[96];

	if (v->type != JV_NUM)
		return cfg_err(v, path, err, errlen, "expected a number");
	if (cfg_jv_int(v, out) == -1)
		return cfg_err(v, path, err, errlen, "expected an integer");
	if (*out < lo || *out > hi) {
		snprintf(what, sizeof(what), "%lld out of range (%lld-%lld)",
		    (long long)*out, (long long)lo, (long long)hi);
		return cfg_err(v, path, err, errlen, what);
	}
	return 0;
}

/* cfg_meta_check - Consul's rules for one node_meta pair */
static const char *
cfg_meta_check(const char *k, const char *val)
{
	const char *s;

	if (*k == '\0')
		return "Key cannot be blank";
	for (s = k; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return "Key contains invalid characters";
	if (strlen(k) > CFG_META_KEYLEN)
		return "Key is too long (limit: 128 characters)";
	if (strncmp(k, "consul-", 7) == 0)
		return "Key prefix 'consul-' is reserved for internal use";
	if (strlen(val) > CFG_META_VALLEN)
		return "Value is too long (limit: 512 characters)";
	return NULL;
}

/* cfg_meta - check node_meta and, when applying, replace the old map */
static int
cfg_meta(struct config *c, const struct jv *v, const char *path, int apply,
    char *err, size_t errlen)
{
	char sub[256];
	const char *why;
	size_t i, j;

	if (v->type != JV_OBJ)
		return cfg_err(v, path, err, errlen, "expected an object");
	if (v->n > CFG_META_PAIRS)
		return cfg_err(v, path, err, errlen, "Node metadata cannot "
		    "contain more than 64 key/value pairs");
	for (i = 0; i < v->n; i++) {
		snprintf(sub, sizeof(sub), "%.64s.%.128s", path, v->keys[i]);
		if (v->items[i]->type != JV_STR)
			return cfg_err(v->items[i], sub, err, errlen,
			    "expected a string");
		if ((why = cfg_meta_check(v->keys[i], v->items[i]->str)) !=
		    NULL)
			return cfg_err(v->items[i], sub, err, errlen, why);
	}
	/* Consul's merge: a later non-empty map replaces the whole map. */
	if (!apply || v->n == 0)
		return 0;
	for (i = 0; i < c->nmeta; i++) {
		free(c->meta_keys[i]);
		free(c->meta_values[i]);
	}
	c->nmeta = 0;
	for (i = 0; i < v->n; i++) {
		/* A repeated key keeps its last value, as a Go map would. */
		for (j = 0; j < c->nmeta; j++)
			if (strcmp(c->meta_keys[j], v->keys[i]) == 0)
				break;
		if (j < c->nmeta) {
			cfg_setstr(&c->meta_values[j], v->items[i]->str);
			continue;
		}
		c->meta_keys = cfg_grow(c->meta_keys, sizeof(char *),
		    c->nmeta);
		c->meta_values = cfg_grow(c->meta_values, sizeof(char *),
		    c->nmeta);
		c->meta_keys[c->nmeta] = cfg_strdup(v->keys[i]);
		c->meta_values[c->nmeta++] = cfg_strdup(v->items[i]->str);
	}
	return 0;
}

static int	cfg_obj(struct config *, const struct cfg_key *,
		    const struct jv *, const char *, int, char *, size_t);

/* cfg_key - check one known key's value and, when applying, store it */
static int
cfg_key(struct config *c, const struct cfg_key *k, const struct jv *v,
    const char *path, int apply, char *err, size_t errlen)
{
	char *base = (char *)c, sub[256], ***lp;
	struct jv ***dp;
	size_t i, *np;
	int64_t n;

	switch (k->kind) {
	case CFG_STR:
		if (v->type != JV_STR)
			return cfg_err(v, path, err, errlen,
			    "expected a string");
		if (apply)
			cfg_setstr((char **)(base + k->off), v->str);
		return 0;
	case CFG_BOOL:
		if (v->type != JV_BOOL)
			return cfg_err(v, path, err, errlen,
			    "expected a boolean");
		if (apply)
			*(int *)(base + k->off) = v->b;
		return 0;
	case CFG_COUNT:
	case CFG_PORT:
	case CFG_SIZE:
		if (cfg_int(v, path, k->kind == CFG_PORT ? 1 :
		    k->kind == CFG_SIZE ? 1 : 0, k->kind == CFG_PORT ? 65535 :
		    k->kind == CFG_SIZE ? INT64_MAX : INT_MAX, &n, err,
		    errlen) == -1)
			return -1;
		if (apply && k->kind == CFG_SIZE)
			*(int64_t *)(base + k->off) = n;
		else if (apply)
			*(int *)(base + k->off) = (int)n;
		return 0;
	case CFG_LIST:
		if (v->type != JV_ARR)
			return cfg_err(v, path, err, errlen,
			    "expected an array of strings");
		for (i = 0; i < v->n; i++)
			if (v->items[i]->type != JV_STR) {
				snprintf(sub, sizeof(sub), "%.64s[%zu]", path,
				    i);
				return cfg_err(v->items[i], sub, err, errlen,
				    "expected a string");
			}
		if (!apply)
			return 0;
		np = (size_t *)(base + k->noff);
		lp = (char ***)(base + k->off);
		for (i = 0; i < v->n; i++) {
			*lp = cfg_grow(*lp, sizeof(char *), *np);
			(*lp)[(*np)++] = cfg_strdup(v->items[i]->str);
		}
		return 0;
	case CFG_META:
		return cfg_meta(c, v, path, apply, err, errlen);
	case CFG_DEFS:
		if (v->type != JV_OBJ && v->type != JV_ARR)
			return cfg_err(v, path, err, errlen,
			    "expected an object");
		if (v->type == JV_ARR)
			for (i = 0; i < v->n; i++)
				if (v->items[i]->type != JV_OBJ) {
					snprintf(sub, sizeof(sub), "%.64s[%zu]",
					    path, i);
					return cfg_err(v->items[i], sub, err,
					    errlen, "expected an object");
				}
		if (!apply)
			return 0;
		/* Borrowed from the tree, which c->roots keeps alive. */
		np = (size_t *)(base + k->noff);
		dp = (struct jv ***)(base + k->off);
		for (i = 0; i < (v->type == JV_OBJ ? 1 : v->n); i++) {
			*dp = cfg_grow(*dp, sizeof(struct jv *), *np);
			(*dp)[(*np)++] = v->type == JV_OBJ ? (struct jv *)v :
			    v->items[i];
		}
		return 0;
	case CFG_OBJ:
		if (v->type != JV_OBJ)
			return cfg_err(v, path, err, errlen,
			    "expected an object");
		return cfg_obj(c, k->sub, v, path, apply, err, errlen);
	case CFG_RAW:
		return 0;
	}
	log_panic("config: key kind %d", (int)k->kind);
}

/* cfg_find - the table entry for key, or NULL */
static const struct cfg_key *
cfg_find(const struct cfg_key *tab, const char *key)
{
	for (; tab->name != NULL; tab++)
		if (jv_keyeq(tab->name, key))
			return tab;
	return NULL;
}

/* cfg_warn_unknown - warn about key i of root unless seen before */
static void
cfg_warn_unknown(const struct config *c, const struct jv *root, size_t i)
{
	size_t j;

	/* Once per key: not if an earlier member or source had it. */
	for (j = 0; j < i; j++)
		if (jv_keyeq(root->keys[j], root->keys[i]))
			return;
	for (j = 0; j < c->nroots; j++)
		if (jv_get(c->roots[j], root->keys[i]) != NULL)
			return;
	log_warn("ignoring config key %.100s (%s)", root->keys[i],
	    root->file);
}

/*
 * cfg_obj - check (apply == 0) or merge (apply == 1) the members of obj
 * against table tab. Unknown members of nested settings pass silently
 * (ports.grpc and the like); at the top level they are warned about.
 */
static int
cfg_obj(struct config *c, const struct cfg_key *tab, const struct jv *obj,
    const char *prefix, int apply, char *err, size_t errlen)
{
	const struct cfg_key *k;
	char path[256];
	size_t i;

	for (i = 0; i < obj->n; i++) {
		if ((k = cfg_find(tab, obj->keys[i])) == NULL) {
			if (prefix == NULL && apply)
				cfg_warn_unknown(c, obj, i);
			continue;
		}
		/* null sets nothing, as in Go's decoder. */
		if (obj->items[i]->type == JV_NULL)
			continue;
		if (prefix != NULL)
			snprintf(path, sizeof(path), "%s.%s", prefix, k->name);
		else
			snprintf(path, sizeof(path), "%s", k->name);
		if (cfg_key(c, k, obj->items[i], path, apply, err, errlen) ==
		    -1)
			return -1;
	}
	return 0;
}

/* config_defaults - fill in Consul's defaults (dev != 0: -dev's) */
void
config_defaults(struct config *c, int dev)
{
	memset(c, 0, sizeof(*c));
	c->datacenter = cfg_strdup("dc1");
	c->domain = cfg_strdup("consul.");
	c->bind_addr = cfg_strdup(dev ? "127.0.0.1" : "0.0.0.0");
	c->client_addr = cfg_strdup("127.0.0.1");
	c->log_level = cfg_strdup("INFO");
	c->port_http = 8500;
	c->port_dns = 8600;
	c->port_server = 8300;
	c->port_serf_lan = 8301;
	c->port_serf_wan = 8302;
	c->server = dev != 0;
	c->dev = dev != 0;
	c->disable_remote_exec = 1;
	c->kv_max_value_size = 524288;	/* raft SuggestedMaxDataSize */
}

/* config_load_text - merge JSON text named name */
int
config_load_text(struct config *c, const char *text, size_t len,
    const char *name, char *err, size_t errlen)
{
	struct jv *root;
	char *file;

	/* The tree borrows the name for its messages; c->files owns it. */
	file = cfg_strdup(name);
	if ((root = jv_parse(text, len, file, err, errlen)) == NULL)
		goto fail;
	if (root->type != JV_OBJ) {
		snprintf(err, errlen, "%s:%d:%d: config must be a JSON object",
		    file, root->line, root->col);
		goto fail;
	}
	/* Check everything first, so a bad source changes nothing. */
	if (cfg_obj(c, cfg_top, root, NULL, 0, err, errlen) == -1)
		goto fail;
	if (cfg_obj(c, cfg_top, root, NULL, 1, err, errlen) == -1)
		log_panic("config: %s passed its check but not its merge",
		    file);
	c->roots = cfg_grow(c->roots, sizeof(struct jv *), c->nroots);
	c->roots[c->nroots++] = root;
	c->files = cfg_grow(c->files, sizeof(char *), c->nfiles);
	c->files[c->nfiles++] = file;
	return 0;
fail:
	jv_free(root);
	free(file);
	return -1;
}

/* config_load_file - merge one JSON file */
int
config_load_file(struct config *c, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s", path, S_ISDIR(st.st_mode) ?
		    "is a directory" : "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size > CFG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CFG_MAX_FILE);
		close(fd);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		log_fatal("out of memory");
	/* Read to EOF, but never past the size we allowed for. */
	while (len <= (size_t)st.st_size && (n = read(fd, text + len,
	    (size_t)st.st_size + 1 - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return -1;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > (size_t)st.st_size) {
		snprintf(err, errlen, "%s: changed while being read", path);
		free(text);
		return -1;
	}
	rc = config_load_text(c, text, len, path, err, errlen);
	free(text);
	return rc;
}

/* cfg_namecmp - qsort: names in lexical (byte) order */
static int
cfg_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* cfg_has_suffix - s ends with suf */
static int
cfg_has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* config_load_dir - merge the *.json files of dir in lexical order */
int
config_load_dir(struct config *c, const char *dir, char *err, size_t errlen)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	char **names = NULL, *path;
	size_t n = 0, i;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "config dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (cfg_has_suffix(de->d_name, ".hcl")) {
			log_warn("ignoring %s/%s: cairn reads JSON config "
			    "only", dir, de->d_name);
			continue;
		}
		if (!cfg_has_suffix(de->d_name, ".json"))
			continue;
		names = cfg_grow(names, sizeof(char *), n);
		names[n++] = cfg_strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)	/* qsort(NULL, 0) is undefined */
		qsort(names, n, sizeof(char *), cfg_namecmp);
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			if (asprintf(&path, "%s/%s", dir, names[i]) == -1)
				log_fatal("out of memory");
			/* Consul skips directories, even ones named x.json. */
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				;
			else if (config_load_file(c, path, err, errlen) == -1)
				rc = -1;
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* cfg_node_name_ok - a name DNS can carry as one label */
static int
cfg_node_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

/* cfg_uuid_ok - 8-4-4-4-12 hex digits */
static int
cfg_uuid_ok(const char *s)
{
	int i;

	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

/* cfg_hash64 - FNV-1a over s from h, then a splitmix64 finish */
static uint64_t
cfg_hash64(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/*
 * cfg_node_id - a UUID derived from the node name, so every daemon on a
 * node, and every restart, agrees on it without sharing state. Version 8
 * (RFC 9562 section 5.8: application-defined) says it is no random UUID.
 */
static char *
cfg_node_id(const char *name)
{
	uint64_t hi, lo;
	char *id;

	hi = cfg_hash64(0xcbf29ce484222325ULL, name);
	lo = cfg_hash64(hi ^ 0x636169726e6f6465ULL, name);
	hi = (hi & ~0xf000ULL) | 0x8000ULL;		/* version 8 */
	lo = (lo & ~(3ULL << 62)) | (2ULL << 62);	/* variant 10 */
	if (asprintf(&id, "%08llx-%04llx-%04llx-%04llx-%012llx",
	    (unsigned long long)(hi >> 32),
	    (unsigned long long)(hi >> 16 & 0xffff),
	    (unsigned long long)(hi & 0xffff),
	    (unsigned long long)(lo >> 48),
	    (unsigned long long)(lo & 0xffffffffffffULL)) == -1)
		log_fatal("out of memory");
	return id;
}

/* cfg_port_ok - a usable TCP/UDP port; -1 with err naming key otherwise */
static int
cfg_port_ok(int port, const char *key, char *err, size_t errlen)
{
	if (port >= 1 && port <= 65535)
		return 0;
	snprintf(err, errlen, "%s: %d out of range (1-65535)", key, port);
	return -1;
}

/* cfg_any_addr - the "any" address cannot be advertised */
static int
cfg_any_addr(const char *a)
{
	return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 ||
	    strcmp(a, "[::]") == 0;
}

/* config_finish - derive what is left unset and check the result */
int
config_finish(struct config *c, char *err, size_t errlen)
{
	static const char *const levels[] = {
		"trace", "debug", "info", "warn", "warning", "err", "error"
	};
	char host[HOST_NAME_MAX + 1], *p;
	const char *tmp;
	size_t i;

	if (c->dev && (c->data_dir == NULL || *c->data_dir == '\0')) {
		/*
		 * Consul's -dev keeps state in memory; cairn's daemons need
		 * a directory for their sockets and stores, so -dev gets a
		 * per-user one every daemon on the node computes alike.
		 */
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		free(c->data_dir);
		if (asprintf(&c->data_dir, "%s/cairn-dev-%u", tmp,
		    (unsigned)getuid()) == -1)
			log_fatal("out of memory");
	}
	if (c->data_dir == NULL || *c->data_dir == '\0') {
		snprintf(err, errlen, "data_dir must be set (or use -dev)");
		return -1;
	}
	if (c->node_name == NULL || *c->node_name == '\0') {
		if (gethostname(host, sizeof(host)) == -1) {
			snprintf(err, errlen, "node_name: gethostname: %s",
			    strerror(errno));
			return -1;
		}
		host[sizeof(host) - 1] = '\0';
		/* An FQDN's first label names the node, as DNS shows it. */
		if ((p = strchr(host, '.')) != NULL)
			*p = '\0';
		if (!cfg_node_name_ok(host)) {
			snprintf(err, errlen, "node_name: the hostname "
			    "\"%.100s\" is not a DNS label ([A-Za-z0-9-], at "
			    "most 63); set node_name", host);
			return -1;
		}
		cfg_setstr(&c->node_name, host);
	} else if (!cfg_node_name_ok(c->node_name)) {
		/* Consul only warns; cairn refuses a node DNS cannot find. */
		snprintf(err, errlen, "node_name \"%.100s\": use only letters, "
		    "digits and '-' (at most 63), or DNS cannot carry it",
		    c->node_name);
		return -1;
	}
	if (c->node_id == NULL || *c->node_id == '\0') {
		free(c->node_id);
		c->node_id = cfg_node_id(c->node_name);
	} else if (!cfg_uuid_ok(c->node_id)) {
		snprintf(err, errlen, "node_id \"%.100s\" is not a UUID",
		    c->node_id);
		return -1;
	}
	/* Consul lower-cases both, and DNS compares them that way. */
	for (p = c->node_id; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	for (p = c->datacenter; p != NULL && *p != '\0'; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
			snprintf(err, errlen, "datacenter \"%.100s\": use only "
			    "[a-z0-9-_]", c->datacenter);
			return -1;
		}
	}
	if (c->datacenter == NULL || *c->datacenter == '\0') {
		snprintf(err, errlen, "datacenter must not be empty");
		return -1;
	}
	if (c->domain == NULL || *c->domain == '\0' ||
	    strcmp(c->domain, ".") == 0) {
		snprintf(err, errlen, "domain must not be empty");
		return -1;
	}
	if (c->domain[strlen(c->domain) - 1] != '.') {
		if (asprintf(&p, "%s.", c->domain) == -1)
			log_fatal("out of memory");
		free(c->domain);
		c->domain = p;
	}
	if (c->run_dir == NULL || *c->run_dir == '\0') {
		free(c->run_dir);
		if (asprintf(&c->run_dir, "%s/run", c->data_dir) == -1)
			log_fatal("out of memory");
	}
	if (c->bind_addr == NULL || c->client_addr == NULL) {
		snprintf(err, errlen, "%s must be set",
		    c->bind_addr == NULL ? "bind_addr" : "client_addr");
		return -1;
	}
	if (c->http_addr == NULL)
		c->http_addr = cfg_strdup(c->client_addr);
	if (c->dns_addr == NULL)
		c->dns_addr = cfg_strdup(c->client_addr);
	if (c->advertise_addr == NULL)
		c->advertise_addr = cfg_strdup(cfg_any_addr(c->bind_addr) ?
		    (strchr(c->bind_addr, ':') ? "::1" : "127.0.0.1") :
		    c->bind_addr);
	else if (cfg_any_addr(c->advertise_addr)) {
		snprintf(err, errlen, "advertise_addr cannot be 0.0.0.0, :: "
		    "or [::]");
		return -1;
	}
	if (cfg_port_ok(c->port_http, "ports.http", err, errlen) == -1 ||
	    cfg_port_ok(c->port_dns, "ports.dns", err, errlen) == -1 ||
	    cfg_port_ok(c->port_server, "ports.server", err, errlen) == -1 ||
	    cfg_port_ok(c->port_serf_lan, "ports.serf_lan", err, errlen) ==
	    -1 ||
	    cfg_port_ok(c->port_serf_wan, "ports.serf_wan", err, errlen) == -1)
		return -1;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (c->log_level != NULL &&
		    strcasecmp(c->log_level, levels[i]) == 0)
			break;
	if (i == sizeof(levels) / sizeof(levels[0])) {
		snprintf(err, errlen, "log_level \"%.100s\": use one of "
		    "TRACE, DEBUG, INFO, WARN, ERR",
		    c->log_level ? c->log_level : "");
		return -1;
	}
	if (c->kv_max_value_size < 1) {
		snprintf(err, errlen, "limits.kv_max_value_size must be "
		    "positive");
		return -1;
	}
	/* Consul's own checks and words (agent/config/builder.go). */
	if (c->bootstrap_expect < 0) {
		snprintf(err, errlen, "bootstrap_expect cannot be %d. Must be "
		    "greater than or equal to zero", c->bootstrap_expect);
		return -1;
	}
	if (c->bootstrap && !c->server) {
		snprintf(err, errlen, "'bootstrap = true' requires "
		    "'server = true'");
		return -1;
	}
	if (c->bootstrap_expect > 0 && !c->server) {
		snprintf(err, errlen, "'bootstrap_expect > 0' requires "
		    "'server = true'");
		return -1;
	}
	if (c->bootstrap_expect > 0 && c->dev) {
		snprintf(err, errlen, "'bootstrap_expect > 0' not allowed in "
		    "dev mode");
		return -1;
	}
	if (c->bootstrap_expect > 0 && c->bootstrap) {
		snprintf(err, errlen, "'bootstrap_expect > 0' and "
		    "'bootstrap = true' are mutually exclusive");
		return -1;
	}
	return 0;
}

/* config_free - release everything config_defaults and loading made */
void
config_free(struct config *c)
{
	char **strs[] = {
		&c->node_name, &c->node_id, &c->datacenter, &c->domain,
		&c->data_dir, &c->run_dir, &c->bind_addr, &c->advertise_addr,
		&c->client_addr, &c->http_addr, &c->dns_addr, &c->log_level,
	};
	size_t i;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (i = 0; i < c->nrecursors; i++)
		free(c->recursors[i]);
	free(c->recursors);
	for (i = 0; i < c->nstart_join; i++)
		free(c->start_join[i]);
	free(c->start_join);
	for (i = 0; i < c->nmeta; i++) {
		free(c->meta_keys[i]);
		free(c->meta_values[i]);
	}
	free(c->meta_keys);
	free(c->meta_values);
	/* Service and check definitions point into the roots. */
	free(c->services);
	free(c->checks);
	for (i = 0; i < c->nroots; i++)
		jv_free(c->roots[i]);
	free(c->roots);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	memset(c, 0, sizeof(*c));
}

/* config_raw - the last value of a top-level key across all sources */
struct jv *
config_raw(const struct config *c, const char *key)
{
	struct jv *v;
	size_t i;

	for (i = c->nroots; i > 0; i--)
		if ((v = jv_get(c->roots[i - 1], key)) != NULL)
			return v;
	return NULL;
}
