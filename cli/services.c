/*
 * services.c - `cairn services register|deregister`, Consul's
 * command/services: the local agent's services, from definition files
 * or from flags.
 *
 *	cairn services register -name web -port 80 -tag v1
 *	cairn services register web.json db.json
 *	cairn services deregister -id web
 *	cairn services deregister web.json
 *
 * A file is read as the agent reads its config (config_load_file), so it
 * holds {"service": {...}} or {"services": [...]} in Consul's service
 * definition format; each service object goes to PUT /v1/agent/service/
 * register as it was written, keys and all (the agent reads the body as
 * it reads a config file). Flags fill in what a file's service leaves
 * out, as Consul's CombineArgs does: -id, -address and -port where the
 * file has none, -meta merged over the file's Meta, -tag appended to its
 * Tags. Each service registered prints "Registered service: <name>";
 * deregistration goes by ID (the name when there is no ID) and prints
 * "Deregistered service: <id>". The first failure stops the command with
 * Consul's message and exit 1, even its "Error registering service" for
 * a failed deregistration.
 *
 * Leaves out: HCL files (JSON is read whatever the extension, where
 * Consul skips a file not named .json or .hcl), -kind, -socket,
 * -tagged-address and the Enterprise -namespace/-partition flags.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "json.h"
#include "jv.h"
#include "log.h"

static const char services_help[] =
"Usage: cairn services <subcommand> [options] [args]\n"
"\n"
"  This command has subcommands for interacting with services. The\n"
"  subcommands default to working with services registered with the local\n"
"  agent. Please see the \"cairn catalog\" command for interacting with the\n"
"  entire catalog.\n"
"\n"
"  For more examples, ask for subcommand help.\n"
"\n"
"Subcommands:\n"
"    deregister    Deregister services with the local agent\n"
"    register      Register services with the local agent\n";

static const char services_register_help[] =
"Usage: cairn services register [options] [FILE...]\n"
"\n"
"  Register one or more services using the local agent API. Services can\n"
"  be registered from standard cairn (Consul) configuration files in JSON\n"
"  or using flags. The service is registered and the command returns. The\n"
"  caller must remember to call \"cairn services deregister\" or a similar\n"
"  API to deregister the service when complete.\n"
"\n"
"      $ cairn services register web.json\n"
"\n"
"  Additional flags and more advanced use cases are detailed below.\n";

static const char services_deregister_help[] =
"Usage: cairn services deregister [options] [FILE...]\n"
"\n"
"  Deregister one or more services that were previously registered with\n"
"  the local agent.\n"
"\n"
"      $ cairn services deregister web.json db.json\n"
"\n"
"  The -id flag may be used to deregister a single service by ID:\n"
"\n"
"      $ cairn services deregister -id=web\n"
"\n"
"  Services are deregistered from the local agent catalog. This command\n"
"  must be run against the same agent where the service was registered.\n";

static const char *const services_titles[] = { "HTTP API Options",
    "Command Options" };

/* What register's flags say about a service. */
struct services_flags {
	const char	*id, *name, *address;
	uint64_t	 port;
	char		**tags;		/* every -tag, in order */
	size_t		 ntags;
	char		**meta;		/* "k=v", a key once, sorted */
	size_t		 nmeta;
};

/*
 * services_meta - the -meta values as Consul's map of them: each needs
 * '=' (Go's flag error otherwise), a repeated key keeps its last value,
 * sorted by key as encoding/json writes a map. Compacts vals in place.
 */
static int
services_meta(char **vals, size_t n, size_t *kept, char *err, size_t errlen)
{
	size_t i, j;

	*kept = 0;
	for (i = 0; i < n; i++)
		if (strchr(vals[i], '=') == NULL) {
			snprintf(err, errlen, "invalid value \"%s\" for flag "
			    "-meta: Missing \"=\" value in argument: %s",
			    vals[i], vals[i]);
			return -1;
		}
	for (i = 0; i < n; i++) {
		for (j = i + 1; j < n; j++)
			if (cli_keycmp(&vals[i], &vals[j]) == 0)
				break;
		if (j == n)
			vals[(*kept)++] = vals[i];
	}
	if (*kept > 0)
		qsort(vals, *kept, sizeof(*vals), cli_keycmp);
	return 0;
}

/* services_str - s as a JSON string */
static void
services_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	json_escape(b, s, strlen(s));
	buf_putc(b, '"');
}

/* services_jv - v as JSON, numbers in their source text */
static void
services_jv(struct buf *b, const struct jv *v)
{
	size_t i;

	switch (v->type) {
	case JV_NULL:
		buf_puts(b, "null");
		break;
	case JV_BOOL:
		buf_puts(b, v->b ? "true" : "false");
		break;
	case JV_NUM:
		buf_puts(b, v->str);
		break;
	case JV_STR:
		services_str(b, v->str);
		break;
	case JV_ARR:
		buf_putc(b, '[');
		for (i = 0; i < v->n; i++) {
			if (i > 0)
				buf_putc(b, ',');
			services_jv(b, v->items[i]);
		}
		buf_putc(b, ']');
		break;
	case JV_OBJ:
		buf_putc(b, '{');
		for (i = 0; i < v->n; i++) {
			if (i > 0)
				buf_putc(b, ',');
			services_str(b, v->keys[i]);
			buf_putc(b, ':');
			services_jv(b, v->items[i]);
		}
		buf_putc(b, '}');
		break;
	}
}

/* services_empty - Go's zero value: absent, null, "" or 0 */
static int
services_empty(const struct jv *v)
{
	return v == NULL || v->type == JV_NULL ||
	    (v->type == JV_STR && *v->str == '\0') ||
	    (v->type == JV_NUM && v->num == 0);
}

/*
 * services_member - start a member: a comma unless first, the key.
 * *first is cleared.
 */
static void
services_member(struct buf *b, int *first, const char *key)
{
	if (!*first)
		buf_putc(b, ',');
	*first = 0;
	services_str(b, key);
	buf_putc(b, ':');
}

/* services_meta_obj - file's Meta (if an object) under the flags' */
static void
services_meta_obj(struct buf *b, const struct jv *file,
    const struct services_flags *f)
{
	size_t i, j, klen;
	int first = 1;

	buf_putc(b, '{');
	for (i = 0; file != NULL && file->type == JV_OBJ && i < file->n;
	    i++) {
		/* A -meta of the same key (Go's map: exact) wins. */
		for (j = 0; j < f->nmeta; j++) {
			klen = strcspn(f->meta[j], "=");
			if (strlen(file->keys[i]) == klen &&
			    strncmp(file->keys[i], f->meta[j], klen) == 0)
				break;
		}
		if (j < f->nmeta)
			continue;
		services_member(b, &first, file->keys[i]);
		services_jv(b, file->items[i]);
	}
	for (j = 0; j < f->nmeta; j++) {
		klen = strcspn(f->meta[j], "=");
		if (!first)
			buf_putc(b, ',');
		first = 0;
		buf_putc(b, '"');
		json_escape(b, f->meta[j], klen);
		buf_puts(b, "\":");
		services_str(b, f->meta[j] + klen + 1);
	}
	buf_putc(b, '}');
}

/* services_tags_arr - file's Tags (if an array), then the flags' */
static void
services_tags_arr(struct buf *b, const struct jv *file,
    const struct services_flags *f)
{
	size_t i, n = 0;

	buf_putc(b, '[');
	for (i = 0; file != NULL && file->type == JV_ARR && i < file->n; i++) {
		if (n++ > 0)
			buf_putc(b, ',');
		services_jv(b, file->items[i]);
	}
	for (i = 0; i < f->ntags; i++) {
		if (n++ > 0)
			buf_putc(b, ',');
		services_str(b, f->tags[i]);
	}
	buf_putc(b, ']');
}

/*
 * services_encode - the registration body: svc (a file's definition, or
 * NULL for flags alone) with what the flags add, CombineArgs' rules.
 * Flags alone are written as Consul's api writes AgentServiceRegistration:
 * its field order, empty fields left out.
 */
static void
services_encode(struct buf *b, const struct jv *svc,
    const struct services_flags *f)
{
	const char *skeys[] = { "ID", "Name", "Address" };
	const char *svals[] = { f->id, f->name, f->address };
	const struct jv *v;
	size_t i, k;
	int first = 1, fill[3], fill_port, meta = 0, tags = 0, skip;

	for (k = 0; k < 3; k++)
		fill[k] = *svals[k] != '\0' && (svc == NULL ||
		    services_empty(jv_get(svc, skeys[k])));
	fill_port = f->port != 0 && (svc == NULL ||
	    services_empty(jv_get(svc, "Port")));
	buf_putc(b, '{');
	for (i = 0; svc != NULL && i < svc->n; i++) {
		/* A member the flags replace is left out here. */
		for (k = 0, skip = 0; k < 3; k++)
			skip |= fill[k] && jv_keyeq(svc->keys[i], skeys[k]);
		if (skip || (fill_port && jv_keyeq(svc->keys[i], "Port")))
			continue;
		v = svc->items[i];
		services_member(b, &first, svc->keys[i]);
		if (f->nmeta > 0 && jv_keyeq(svc->keys[i], "Meta")) {
			services_meta_obj(b, v, f);
			meta = 1;
		} else if (f->ntags > 0 && jv_keyeq(svc->keys[i], "Tags")) {
			services_tags_arr(b, v, f);
			tags = 1;
		} else
			services_jv(b, v);
	}
	for (k = 0; k < 2; k++)
		if (fill[k]) {
			services_member(b, &first, skeys[k]);
			services_str(b, svals[k]);
		}
	if (f->ntags > 0 && !tags) {
		services_member(b, &first, "Tags");
		services_tags_arr(b, NULL, f);
	}
	if (fill_port) {
		services_member(b, &first, "Port");
		buf_printf(b, "%llu", (unsigned long long)f->port);
	}
	if (fill[2]) {
		services_member(b, &first, "Address");
		services_str(b, f->address);
	}
	if (f->nmeta > 0 && !meta) {
		services_member(b, &first, "Meta");
		services_meta_obj(b, NULL, f);
	}
	buf_putc(b, '}');
}

/*
 * services_load - the service definitions in the files, into cfg (which
 * the caller frees with config_free); -1 with the loader's text
 */
static int
services_load(struct config *cfg, int n, char **files, char *err,
    size_t errlen)
{
	int i;

	config_defaults(cfg, 1);
	for (i = 0; i < n; i++)
		if (config_load_file(cfg, files[i], err, errlen) < 0)
			return -1;
	return 0;
}

/* services_put - PUT path (body or none); -1 with the api package's text */
static int
services_put(const struct http_client *c, const char *path,
    struct buf *body, char *err, size_t errlen)
{
	struct http_resp resp;
	int rc = 0;

	if (http_do(c, "PUT", path, "", 0, body != NULL ? buf_head(body) :
	    NULL, body != NULL ? buf_used(body) : 0, &resp, err,
	    errlen) < 0)
		rc = -1;
	else if (resp.code != 200) {
		http_status_error(&resp, err, errlen);
		rc = -1;
	}
	buf_free(&resp.body);
	return rc;
}

/* services_failed - Consul's `Error registering service "name": why` */
static int
services_failed(const char *name, const char *why)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "Error registering service ");
	operator_quote(&b, name);
	buf_printf(&b, ": %s\n", why);
	cli_write(stderr, &b);
	buf_free(&b);
	return 1;
}

/* services_register - `cairn services register` */
static int
services_register(int argc, char **argv)
{
	struct services_flags f = { "", "", "", 0, NULL, 0, NULL, 0 };
	struct http_flags hf;
	struct http_client c;
	struct config cfg;
	struct buf body;
	const char *tag = "", *meta = "", *name;
	char err[1200], **tags, **metas;
	size_t i, n;
	int r, rc = 1, nfiles;

	memset(&cfg, 0, sizeof(cfg));
	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "address", CLI_STR, &f.address, "string", "Address of the "
		    "service to register for arg-based registration." },
		{ "id", CLI_STR, &f.id, "string", "ID of the service to "
		    "register for arg-based registration. If this isn't set, "
		    "it will default to the -name value." },
		{ "meta", CLI_STR, &meta, "value", "Metadata to set on the "
		    "service, formatted as key=value. This flag may be "
		    "specified multiple times to set multiple meta fields." },
		{ "name", CLI_STR, &f.name, "string", "Name of the service to "
		    "register for arg-based registration." },
		{ "port", CLI_U64, &f.port, "int", "Port of the service to "
		    "register for arg-based registration." },
		{ "tag", CLI_STR, &tag, "value", "Tag to add to the service. "
		    "This flag can be specified multiple times to set "
		    "multiple tags." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if ((r = cli_flags_usage(argc, argv, services_register_help, tabs,
	    services_titles, &rc)) < 0)
		return rc;
	nfiles = argc - r;
	if ((tags = calloc((size_t)argc + 1, sizeof(*tags))) == NULL ||
	    (metas = calloc((size_t)argc + 1, sizeof(*metas))) == NULL)
		log_fatal("out of memory");
	f.ntags = cli_flag_values(r, argv, tabs, "tag", tags);
	f.tags = tags;
	n = cli_flag_values(r, argv, tabs, "meta", metas);
	buf_init(&body);
	if (services_meta(metas, n, &f.nmeta, err, sizeof(err)) < 0) {
		buf_printf(&body, "%s\n", err);
		cli_usage(&body, services_register_help, tabs,
		    services_titles);
		cli_write(stderr, &body);
		goto done;
	}
	f.meta = metas;
	if (nfiles == 0 && *f.name == '\0') {
		fprintf(stderr, "Service registration requires at least one "
		    "argument or flags.\n");
		goto done;
	}
	if (nfiles > 0 && *f.name != '\0') {
		fprintf(stderr, "Service registration requires arguments or "
		    "-id, not both.\n");
		goto done;
	}
	if (services_load(&cfg, nfiles, argv + r, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		goto done;
	}
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto done;
	}
	/* Files without a service leave the flags' one, as in Consul. */
	for (i = 0; i < (cfg.nservices > 0 ? cfg.nservices : 1); i++) {
		buf_reset(&body);
		if (cfg.nservices > 0) {
			services_encode(&body, cfg.services[i], &f);
			name = jv_str(cfg.services[i], "Name");
			if (name == NULL || *name == '\0')
				name = f.name;
		} else {
			services_encode(&body, NULL, &f);
			name = f.name;
		}
		if (services_put(&c, "/v1/agent/service/register", &body, err,
		    sizeof(err)) < 0) {
			services_failed(name, err);
			goto done;
		}
		printf("Registered service: %s\n", name);
	}
	rc = fflush(stdout) == EOF ? 1 : 0;
done:
	config_free(&cfg);
	free(tags);
	free(metas);
	buf_free(&body);
	return rc;
}

/* services_deregister - `cairn services deregister` */
static int
services_deregister(int argc, char **argv)
{
	struct http_flags hf;
	struct http_client c;
	struct config cfg;
	struct buf path;
	const char *flag_id = "", *id, *name;
	char err[1200];
	size_t i, n;
	int r, rc = 1, nfiles;

	memset(&cfg, 0, sizeof(cfg));
	http_flags_init(&hf, 1);
	const struct cli_flag cmd[] = {
		{ "id", CLI_STR, &flag_id, "string", "ID to delete. This must "
		    "not be set if arguments are given." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { hf.tab, cmd, NULL };

	if ((r = cli_flags_usage(argc, argv, services_deregister_help, tabs,
	    services_titles, &rc)) < 0)
		return rc;
	nfiles = argc - r;
	if (nfiles == 0 && *flag_id == '\0') {
		fprintf(stderr, "Service deregistration requires at least one "
		    "argument or -id.\n");
		return 1;
	}
	if (nfiles > 0 && *flag_id != '\0') {
		fprintf(stderr, "Service deregistration requires arguments or "
		    "-id, not both.\n");
		return 1;
	}
	buf_init(&path);
	if (nfiles > 0 && services_load(&cfg, nfiles, argv + r, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Error: %s\n", err);
		goto done;
	}
	if (http_client_init(&c, &hf, err, sizeof(err)) < 0) {
		fprintf(stderr, "Error connecting to Consul agent: %s\n", err);
		goto done;
	}
	n = nfiles > 0 ? cfg.nservices : 1;
	for (i = 0; i < n; i++) {
		id = flag_id;
		name = "";
		if (nfiles > 0) {
			id = jv_str(cfg.services[i], "ID");
			if ((name = jv_str(cfg.services[i], "Name")) == NULL)
				name = "";
			if (id == NULL || *id == '\0')
				id = name;
		}
		if (*id == '\0')
			continue;
		buf_reset(&path);
		buf_puts(&path, "/v1/agent/service/deregister/");
		http_escape_path(&path, id);
		if (services_put(&c, buf_cstr(&path), NULL, err,
		    sizeof(err)) < 0) {
			services_failed(name, err);
			goto done;
		}
		printf("Deregistered service: %s\n", id);
	}
	rc = fflush(stdout) == EOF ? 1 : 0;
done:
	config_free(&cfg);
	buf_free(&path);
	return rc;
}

/* services_main - `cairn services <subcommand>`; argv[0] is "services" */
int
services_main(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "deregister", services_deregister },
		{ "register", services_register },
		{ NULL, NULL }
	};

	return cli_subcommand(argc - 1, argv + 1, services_help, subs);
}
