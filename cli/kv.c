/*
 * kv.c - `cairn kv get|put|delete`, Consul's command/kv/{get,put,del}
 * with their flags, output, messages and exit codes, over /v1/kv.
 *
 * get prints the raw value and a newline; -recurse prints key:value
 * lines; -keys prints one key a line; -detailed prints Consul's
 * tabwriter block. A missing key is "Error! No key exists at: k" and
 * exit 1; a missing prefix prints nothing and exits 0, as Consul does.
 *
 * Leaves out: kv export and import. Also one of Consul's quirks: put
 * -base64 with undecodable data is an error here (exit 1), where Consul
 * prints the error and writes what it could decode.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "base64.h"
#include "cli.h"
#include "log.h"

static const char kv_help[] =
"Usage: cairn kv <subcommand> [options] [args]\n"
"\n"
"  This command has subcommands for interacting with the key-value store\n"
"  (the same store and the same commands as Consul's). Here are some\n"
"  simple examples, and more detailed examples are available in the\n"
"  subcommands.\n"
"\n"
"  Create or update the key named \"redis/config/connections\" with the\n"
"  value \"5\":\n"
"\n"
"      $ cairn kv put redis/config/connections 5\n"
"\n"
"  Read this value back:\n"
"\n"
"      $ cairn kv get redis/config/connections\n"
"\n"
"  Or get detailed key information:\n"
"\n"
"      $ cairn kv get -detailed redis/config/connections\n"
"\n"
"  Finally, delete the key:\n"
"\n"
"      $ cairn kv delete redis/config/connections\n"
"\n"
"  For more examples, ask for subcommand help.\n"
"\n"
"Subcommands:\n"
"    delete    Removes data from the KV store\n"
"    export    Exports a tree from the KV store as JSON\n"
"    get       Retrieves or lists data from the KV store\n"
"    import    Imports a tree stored as JSON to the KV store\n"
"    put       Sets or updates data in the KV store\n";

static const char kv_get_help[] =
"Usage: cairn kv get [options] [KEY_OR_PREFIX]\n"
"\n"
"  Retrieves the value from the key-value store at the given key name. If\n"
"  no key exists with that name, an error is returned. If a key exists\n"
"  with that name but has no data, nothing is returned. If the name or\n"
"  prefix is omitted, it defaults to \"\" which is the root of the\n"
"  key-value store.\n"
"\n"
"  To retrieve the value for the key named \"foo\" in the key-value store:\n"
"\n"
"      $ cairn kv get foo\n"
"\n"
"  This will return the original, raw value stored. To view detailed\n"
"  information about the key, specify the \"-detailed\" flag. This will\n"
"  output all known metadata about the key including ModifyIndex and any\n"
"  user-supplied flags:\n"
"\n"
"      $ cairn kv get -detailed foo\n"
"\n"
"  To treat the path as a prefix and list all keys which start with the\n"
"  given prefix, specify the \"-recurse\" flag:\n"
"\n"
"      $ cairn kv get -recurse foo\n"
"\n"
"  This will return all key-value pairs. To just list the keys which\n"
"  start with the specified prefix, use the \"-keys\" option instead:\n"
"\n"
"      $ cairn kv get -keys foo\n";

static const char kv_put_help[] =
"Usage: cairn kv put [options] KEY [DATA]\n"
"\n"
"  Writes the data to the given path in the key-value store. The data can\n"
"  be of any type.\n"
"\n"
"      $ cairn kv put config/redis/maxconns 5\n"
"\n"
"  The data can also be consumed from a file on disk by prefixing with\n"
"  the \"@\" symbol. For example:\n"
"\n"
"      $ cairn kv put config/program/license @license.lic\n"
"\n"
"  Or it can be read from stdin using the \"-\" symbol:\n"
"\n"
"      $ echo \"abcd1234\" | cairn kv put config/program/license -\n"
"\n"
"  The DATA argument itself is optional. If omitted, this will create an\n"
"  empty key-value pair at the specified path:\n"
"\n"
"      $ cairn kv put webapp/beta/active\n"
"\n"
"  If the -base64 flag is specified, the data will be treated as base 64\n"
"  encoded.\n"
"\n"
"  To perform a Check-And-Set operation, specify the -cas flag with the\n"
"  appropriate -modify-index flag corresponding to the key you want to\n"
"  perform the CAS operation on:\n"
"\n"
"      $ cairn kv put -cas -modify-index=844 config/redis/maxconns 5\n"
"\n"
"  Additional flags and more advanced use cases are detailed below.\n";

static const char kv_delete_help[] =
"Usage: cairn kv delete [options] KEY_OR_PREFIX\n"
"\n"
"  Removes the value from the key-value store at the given path. If no\n"
"  key exists at the path, no action is taken.\n"
"\n"
"  To delete the value for the key named \"foo\" in the key-value store:\n"
"\n"
"      $ cairn kv delete foo\n"
"\n"
"  To delete all keys which start with \"foo\", specify the -recurse\n"
"  option:\n"
"\n"
"      $ cairn kv delete -recurse foo\n"
"\n"
"  This will delete the keys named \"foo\", \"food\", and \"foo/bar/zip\" if\n"
"  they existed.\n";

static const char *const kv_titles[] = { "HTTP API Options",
    "Command Options" };

/* kv_entries_free - see cli.h */
void
kv_entries_free(struct kv_entry *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(e[i].key);
		free(e[i].value);
		free(e[i].session);
	}
	free(e);
}

/* kv_parse_entries - see cli.h */
int
kv_parse_entries(const char *json, size_t len, struct kv_entry **out,
    size_t *n, char *err, size_t errlen)
{
	struct kv_entry *e = NULL;
	yajl_val root, o;
	const char *key, *val, *sess;
	struct buf b;
	size_t i;
	int bad = 0;

	*out = NULL;
	*n = 0;
	if ((root = cli_json_parse(json, len, err, errlen)) == NULL)
		return -1;
	if (!YAJL_IS_ARRAY(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON array");
		yajl_tree_free(root);
		return -1;
	}
	if (root->u.array.len > 0 &&
	    (e = calloc(root->u.array.len, sizeof(*e))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < root->u.array.len; i++) {
		o = root->u.array.values[i];
		key = cli_json_str(o, "Key", &bad);
		val = cli_json_str(o, "Value", &bad);
		sess = cli_json_str(o, "Session", &bad);
		if (!YAJL_IS_OBJECT(o) || key == NULL || bad ||
		    cli_json_u64(o, "Flags", &e[i].flags) < 0 ||
		    cli_json_u64(o, "CreateIndex", &e[i].create_index) < 0 ||
		    cli_json_u64(o, "ModifyIndex", &e[i].modify_index) < 0 ||
		    cli_json_u64(o, "LockIndex", &e[i].lock_index) < 0) {
			snprintf(err, errlen, "unexpected response: entry %zu "
			    "is not a KV entry", i);
			goto fail;
		}
		e[i].key = cli_xstrdup(key);
		e[i].session = cli_xstrdup(sess != NULL ? sess : "");
		buf_init(&b);
		if (val != NULL && base64_decode(&b, val, strlen(val)) < 0) {
			buf_free(&b);
			snprintf(err, errlen, "unexpected response: the value "
			    "of %.200s is not base64", key);
			goto fail;
		}
		e[i].vlen = buf_used(&b);
		e[i].value = (unsigned char *)cli_xstrdup("");
		if (e[i].vlen > 0) {
			free(e[i].value);
			if ((e[i].value = malloc(e[i].vlen + 1)) == NULL)
				log_fatal("out of memory");
			memcpy(e[i].value, buf_head(&b), e[i].vlen);
			e[i].value[e[i].vlen] = '\0';
		}
		buf_free(&b);
	}
	*n = i;
	yajl_tree_free(root);
	*out = e;
	return 0;
fail:
	/* calloc'd: the entries not reached hold NULLs */
	kv_entries_free(e, root->u.array.len);
	yajl_tree_free(root);
	return -1;
}

/* kv_keys_free - see cli.h */
void
kv_keys_free(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* kv_parse_keys - see cli.h */
int
kv_parse_keys(const char *json, size_t len, char ***out, size_t *n,
    char *err, size_t errlen)
{
	yajl_val root, v;
	char **k = NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if ((root = cli_json_parse(json, len, err, errlen)) == NULL)
		return -1;
	if (!YAJL_IS_ARRAY(root)) {
		snprintf(err, errlen, "unexpected response: not a JSON array");
		yajl_tree_free(root);
		return -1;
	}
	if (root->u.array.len > 0 &&
	    (k = calloc(root->u.array.len, sizeof(*k))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < root->u.array.len; i++) {
		v = root->u.array.values[i];
		if (!YAJL_IS_STRING(v)) {
			snprintf(err, errlen, "unexpected response: key %zu "
			    "is not a string", i);
			kv_keys_free(k, i);
			yajl_tree_free(root);
			return -1;
		}
		k[i] = cli_xstrdup(YAJL_GET_STRING(v));
	}
	*n = i;
	*out = k;
	yajl_tree_free(root);
	return 0;
}

/* kv_format_value - see cli.h */
void
kv_format_value(struct buf *b, const struct kv_entry *e, int b64)
{
	if (b64)
		base64_encode(b, e->value, e->vlen);
	else
		buf_append(b, e->value, e->vlen);
}

/*
 * kv_format_detailed - prettyKVPair: a tabwriter with padding 6, so the
 * first column is as wide as "CreateIndex" plus six spaces.
 */
void
kv_format_detailed(struct buf *b, const struct kv_entry *e, int b64)
{
	buf_printf(b, "%-17s%" PRIu64 "\n", "CreateIndex", e->create_index);
	buf_printf(b, "%-17s%" PRIu64 "\n", "Flags", e->flags);
	buf_printf(b, "%-17s%s\n", "Key", e->key);
	buf_printf(b, "%-17s%" PRIu64 "\n", "LockIndex", e->lock_index);
	buf_printf(b, "%-17s%" PRIu64 "\n", "ModifyIndex", e->modify_index);
	buf_printf(b, "%-17s%s\n", "Session",
	    e->session[0] != '\0' ? e->session : "-");
	buf_printf(b, "%-17s", "Value");
	kv_format_value(b, e, b64);
}

/* usage - a command's help: on stdout when asked, on stderr after errors */

/*
 * key_arg - the one KEY argument of get and delete, without the leading
 * '/' Consul strips; "" allowed with a prefix flag. NULL after saying why.
 */
static const char *
key_arg(int argc, char **argv, int prefix_ok)
{
	const char *key = "";

	if (argc > 1) {
		fprintf(stderr, "Too many arguments (expected 1, got %d)\n",
		    argc);
		return NULL;
	}
	if (argc == 1)
		key = argv[0];
	if (key[0] == '/')
		key++;
	if (key[0] == '\0' && !prefix_ok) {
		fprintf(stderr, "Error! Missing KEY argument\n");
		return NULL;
	}
	return key;
}

static int
usage(FILE *fp, const char *text, const struct cli_flag *const *tabs, int rc)
{
	struct buf b;

	buf_init(&b);
	cli_usage(&b, text, tabs, kv_titles);
	cli_write(fp, &b);
	buf_free(&b);
	return rc;
}

/* kv_parse - the flags; *rc set and -1 returned when the command is done */
int
kv_parse(int argc, char **argv, const char *help,
    const struct cli_flag *const *tabs, int *rc)
{
	char err[512];
	int r;

	r = cli_flags_parse(argc, argv, tabs, err, sizeof(err));
	if (r == -2) {
		*rc = usage(stdout, help, tabs, 0);
		return -1;
	}
	if (r == -1) {
		fprintf(stderr, "%s\n", err);
		*rc = usage(stderr, help, tabs, 1);
		return -1;
	}
	return r;
}

/* kv_client - the HTTP client from the flags, or Consul's error */
int
kv_client(struct http_client *c, const struct http_flags *hf)
{
	char err[512];

	if (http_client_init(c, hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		return -1;
	}
	return 0;
}

/* kv_key_path - "/v1/kv/<key>" escaped into b */
void
kv_key_path(struct buf *b, const char *key)
{
	buf_puts(b, "/v1/kv/");
	http_escape_path(b, key);
}

/* kv_get - `cairn kv get` (command/kv/get/kv_get.go) */
static int
kv_get(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct kv_entry *e = NULL;
	struct buf path, out, q;
	const char *key, *sep = "/";
	char err[1200], **keys = NULL;
	size_t n = 0, i;
	int b64 = 0, detailed = 0, lkeys = 0, recurse = 0, rc = 1, r;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "base64", CLI_BOOL, &b64, NULL, "Base64 encode the value. "
		    "The default value is false." },
		{ "detailed", CLI_BOOL, &detailed, NULL, "Provide additional "
		    "metadata about the key in addition to the value such as "
		    "the ModifyIndex and any flags that may have been set on "
		    "the key. The default value is false." },
		{ "keys", CLI_BOOL, &lkeys, NULL, "List keys which start with "
		    "the given prefix, but not their values. This is "
		    "especially useful if you only need the key names "
		    "themselves. This option is commonly combined with the "
		    "-separator option. The default value is false." },
		{ "recurse", CLI_BOOL, &recurse, NULL, "Recursively look at "
		    "all keys prefixed with the given path. The default "
		    "value is false." },
		{ "separator", CLI_STR, &sep, "string", "String to use as a "
		    "separator between keys. The default value is \"/\", but "
		    "this option is only taken into account when paired with "
		    "the -keys flag." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if ((r = kv_parse(argc, argv, kv_get_help, tabs, &rc)) < 0)
		return rc;
	if ((key = key_arg(argc - r, argv + r, recurse || lkeys)) == NULL)
		return 1;
	if (kv_client(&c, &hf) < 0)
		return 1;
	buf_init(&path);
	buf_init(&out);
	buf_init(&q);
	kv_key_path(&path, key);
	if (lkeys) {
		buf_puts(&q, "keys=");
		if (sep[0] != '\0') {
			buf_puts(&q, "&separator=");
			http_escape_query(&q, sep);
		}
	} else if (recurse)
		buf_puts(&q, "recurse=");
	if (http_do(&c, "GET", buf_cstr(&path), buf_cstr(&q), 1, NULL, 0,
	    &resp, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		goto done;
	}
	if (resp.code == 404) {
		/* api: a missing key or prefix is no error, just nothing */
		if (!lkeys && !recurse)
			fprintf(stderr, "Error! No key exists at: %s\n", key);
		else
			rc = 0;
		goto done_resp;
	}
	if (resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		fprintf(stderr, "Error querying Consul agent: %s\n", err);
		goto done_resp;
	}
	if (lkeys) {
		if (kv_parse_keys((char *)buf_head(&resp.body),
		    buf_used(&resp.body), &keys, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "Error querying Consul agent: %s\n",
			    err);
			goto done_resp;
		}
		for (i = 0; i < n; i++)
			buf_printf(&out, "%s\n", keys[i]);
		kv_keys_free(keys, n);
	} else {
		if (kv_parse_entries((char *)buf_head(&resp.body),
		    buf_used(&resp.body), &e, &n, err, sizeof(err)) < 0) {
			fprintf(stderr, "Error querying Consul agent: %s\n",
			    err);
			goto done_resp;
		}
		if (!recurse && n == 0) {
			fprintf(stderr, "Error! No key exists at: %s\n", key);
			kv_entries_free(e, n);
			goto done_resp;
		}
		for (i = 0; i < (recurse ? n : 1); i++) {
			if (detailed) {
				kv_format_detailed(&out, &e[i], b64);
				buf_putc(&out, '\n');
				if (recurse && i + 1 < n)
					buf_putc(&out, '\n');
			} else {
				if (recurse)
					buf_printf(&out, "%s:", e[i].key);
				kv_format_value(&out, &e[i], b64);
				buf_putc(&out, '\n');
			}
		}
		kv_entries_free(e, n);
	}
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
done_resp:
	buf_free(&resp.body);
done:
	buf_free(&path);
	buf_free(&out);
	buf_free(&q);
	return rc;
}

/* read_all - a whole file or stdin into b; -1 with errno */
static int
read_all(FILE *fp, struct buf *b)
{
	size_t n;

	for (;;) {
		buf_reserve(b, 65536);
		n = fread(b->data + b->len, 1, 65536, fp);
		b->len += n;
		if (n < 65536)
			return ferror(fp) ? -1 : 0;
	}
}

/* kv_data_arg - dataFromArgs: DATA, @file, - (stdin), or nothing */
int
kv_data_arg(const char *arg, struct buf *data, char *err, size_t errlen)
{
	FILE *fp;
	int r;

	if (arg == NULL || arg[0] == '\0')
		return 0;
	if (arg[0] == '@') {
		if ((fp = fopen(arg + 1, "r")) == NULL) {
			snprintf(err, errlen, "Failed to read file: open %s: "
			    "%s", arg + 1, strerror(errno));
			return -1;
		}
		r = read_all(fp, data);
		if (r < 0)
			snprintf(err, errlen, "Failed to read file: read %s: "
			    "%s", arg + 1, strerror(errno));
		fclose(fp);
		return r;
	}
	if (strcmp(arg, "-") == 0) {
		if (read_all(stdin, data) < 0) {
			snprintf(err, errlen, "Failed to read stdin: %s",
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	buf_puts(data, arg);
	return 0;
}

/* result - a PUT/DELETE answer: 1 if it said true (api: Contains "true") */
static int
result(struct http_resp *resp)
{
	return strstr(buf_cstr(&resp->body), "true") != NULL;
}

/* kv_put - `cairn kv put` (command/kv/put/kv_put.go) */
static int
kv_put(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct buf data, raw, path, q;
	const char *key, *session = "";
	char err[1200];
	uint64_t kvflags = 0, modify_index = 0;
	int cas = 0, b64 = 0, acquire = 0, release = 0, rc = 1, r, ok, failed;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "acquire", CLI_BOOL, &acquire, NULL, "Obtain a lock on the "
		    "key. If the key does not exist, this operation will "
		    "create the key and obtain the lock. The session must "
		    "already exist and be specified via the -session flag. "
		    "The default value is false." },
		{ "base64", CLI_BOOL, &b64, NULL, "Treat the data as base 64 "
		    "encoded. The default value is false." },
		{ "cas", CLI_BOOL, &cas, NULL, "Perform a Check-And-Set "
		    "operation. Specifying this value also requires the "
		    "-modify-index flag to be set. The default value is "
		    "false." },
		{ "flags", CLI_U64, &kvflags, "uint", "Unsigned integer value "
		    "to assign to this key-value pair. This value is not "
		    "read by the agent, so clients can use this value "
		    "however makes sense for their use case. The default "
		    "value is 0 (no flags)." },
		{ "modify-index", CLI_U64, &modify_index, "uint", "Unsigned "
		    "integer representing the ModifyIndex of the key. This "
		    "is used in combination with the -cas flag." },
		{ "release", CLI_BOOL, &release, NULL, "Forfeit the lock on "
		    "the key at the given path. This requires the -session "
		    "flag to be set. The key must be held by the session in "
		    "order to be unlocked. The default value is false." },
		{ "session", CLI_STR, &session, "string", "User-defined "
		    "identifer for this session as a string. This is "
		    "commonly used with the -acquire and -release operations "
		    "to build robust locking, but it can be set on any key. "
		    "The default value is empty (no session)." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if ((r = kv_parse(argc, argv, kv_put_help, tabs, &rc)) < 0)
		return rc;
	if (argc - r == 0) {
		fprintf(stderr, "Error! Missing KEY argument\n");
		return 1;
	}
	if (argc - r > 2) {
		fprintf(stderr, "Error! Too many arguments (expected 1 or 2, "
		    "got %d)\n", argc - r);
		return 1;
	}
	key = argv[r];
	buf_init(&data);
	buf_init(&raw);
	buf_init(&path);
	buf_init(&q);
	if (kv_data_arg(argc - r == 2 ? argv[r + 1] : NULL, &raw, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Error! %s\n", err);
		goto done;
	}
	if (b64) {
		if (base64_decode(&data, (char *)buf_head(&raw),
		    buf_used(&raw)) < 0) {
			fprintf(stderr, "Error! Cannot base 64 decode data: "
			    "illegal base64 data\n");
			goto done;
		}
	} else
		buf_append(&data, buf_head(&raw), buf_used(&raw));
	if ((release || acquire) && session[0] == '\0') {
		fprintf(stderr, "Error! Missing -session (required with "
		    "-acquire and -release)\n");
		goto done;
	}
	if (cas && modify_index == 0) {
		fprintf(stderr, "Must specify -modify-index with -cas!\n");
		goto done;
	}
	if (kv_client(&c, &hf) < 0)
		goto done;
	kv_key_path(&path, key);
	/* Go's url.Values.Encode: parameters sorted by name. */
	if (cas)
		buf_printf(&q, "cas=%" PRIu64 "&", modify_index);
	else if (acquire) {
		buf_puts(&q, "acquire=");
		http_escape_query(&q, session);
		buf_putc(&q, '&');
	}
	if (kvflags != 0)
		buf_printf(&q, "flags=%" PRIu64 "&", kvflags);
	if (release && !cas && !acquire) {
		buf_puts(&q, "release=");
		http_escape_query(&q, session);
	}
	if (buf_used(&q) > 0 && buf_head(&q)[buf_used(&q) - 1] == '&')
		q.len--;
	/* The body is never NULL: an empty PUT still sends its length. */
	failed = http_do(&c, "PUT", buf_cstr(&path), buf_cstr(&q), 0,
	    buf_used(&data) ? (void *)buf_head(&data) : (void *)"",
	    buf_used(&data), &resp, err, sizeof(err)) < 0;
	if (!failed && resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		failed = 1;
	}
	ok = !failed && result(&resp);
	buf_free(&resp.body);
	if (cas) {
		if (failed)
			fprintf(stderr, "Error! Did not write to %s: %s\n",
			    key, err);
		else if (!ok)
			fprintf(stderr, "Error! Did not write to %s: CAS "
			    "failed\n", key);
		else {
			printf("Success! Data written to: %s\n", key);
			rc = 0;
		}
	} else if (acquire) {
		if (failed)
			fprintf(stderr, "Error! Failed writing data: %s\n",
			    err);
		else if (!ok)
			fprintf(stderr, "Error! Did not acquire lock\n");
		else {
			printf("Success! Lock acquired on: %s\n", key);
			rc = 0;
		}
	} else if (release) {
		if (failed)
			fprintf(stderr, "Error! Failed writing data: %s\n",
			    err);
		else if (!ok)
			fprintf(stderr, "Error! Did not release lock\n");
		else {
			printf("Success! Lock released on: %s\n", key);
			rc = 0;
		}
	} else if (failed)
		fprintf(stderr, "Error! Failed writing data: %s\n", err);
	else {
		printf("Success! Data written to: %s\n", key);
		rc = 0;
	}
done:
	buf_free(&data);
	buf_free(&raw);
	buf_free(&path);
	buf_free(&q);
	return rc;
}

/* kv_delete - `cairn kv delete` (command/kv/del/kv_delete.go) */
static int
kv_delete(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct http_resp resp;
	struct buf path, q;
	const char *key;
	char err[1200];
	uint64_t modify_index = 0;
	int cas = 0, recurse = 0, rc = 1, r, failed;

	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "cas", CLI_BOOL, &cas, NULL, "Perform a Check-And-Set "
		    "operation. Specifying this value also requires the "
		    "-modify-index flag to be set. The default value is "
		    "false." },
		{ "modify-index", CLI_U64, &modify_index, "uint", "Unsigned "
		    "integer representing the ModifyIndex of the key. This "
		    "is used in combination with the -cas flag." },
		{ "recurse", CLI_BOOL, &recurse, NULL, "Recursively delete "
		    "all keys with the path. The default value is false." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if ((r = kv_parse(argc, argv, kv_delete_help, tabs, &rc)) < 0)
		return rc;
	if ((key = key_arg(argc - r, argv + r, recurse)) == NULL)
		return 1;
	if (cas && modify_index == 0) {
		fprintf(stderr, "Cannot delete a key that does not exist. "
		    "Provide a -modify-index greater than than 0.\n");
		return 1;
	}
	if (modify_index != 0 && !cas) {
		fprintf(stderr, "Cannot specify -modify-index without -cas!\n");
		return 1;
	}
	if (recurse && cas) {
		fprintf(stderr, "Cannot specify both -cas and -recurse!\n");
		return 1;
	}
	if (kv_client(&c, &hf) < 0)
		return 1;
	buf_init(&path);
	buf_init(&q);
	kv_key_path(&path, key);
	if (recurse)
		buf_puts(&q, "recurse=");
	else if (cas)
		buf_printf(&q, "cas=%" PRIu64, modify_index);
	failed = http_do(&c, "DELETE", buf_cstr(&path), buf_cstr(&q), 0,
	    NULL, 0, &resp, err, sizeof(err)) < 0;
	if (!failed && resp.code != 200) {
		http_status_error(&resp, err, sizeof(err));
		failed = 1;
	}
	if (recurse) {
		if (failed)
			fprintf(stderr, "Error! Did not delete prefix %s: "
			    "%s\n", key, err);
		else {
			printf("Success! Deleted keys with prefix: %s\n", key);
			rc = 0;
		}
	} else if (cas) {
		if (failed)
			fprintf(stderr, "Error! Did not delete key %s: %s\n",
			    key, err);
		else if (!result(&resp))
			fprintf(stderr, "Error! Did not delete key %s: CAS "
			    "failed\n", key);
		else {
			printf("Success! Deleted key: %s\n", key);
			rc = 0;
		}
	} else if (failed)
		fprintf(stderr, "Error deleting key %s: %s\n", key, err);
	else {
		printf("Success! Deleted key: %s\n", key);
		rc = 0;
	}
	buf_free(&resp.body);
	buf_free(&path);
	buf_free(&q);
	return rc;
}

/* kv_main - `cairn kv <subcommand>`; argv[0] is "kv" */
int
kv_main(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "get", kv_get },
		{ "put", kv_put },
		{ "delete", kv_delete },
		{ "export", kv_export },
		{ "import", kv_import },
		{ NULL, NULL }
	};

	return cli_subcommand(argc - 1, argv + 1, kv_help, subs);
}
