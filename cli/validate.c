/*
 * validate.c - `cairn validate [-quiet] FILE_OR_DIRECTORY...`, Consul's
 * command/validate: load the configuration the way `cairn agent` would
 * (config_load_file or config_load_dir for each argument, in order,
 * then config_finish) and say whether it holds up.
 *
 *	Configuration is valid!				(exit 0)
 *	Config validation failed: a.json:3:9: ...	(stderr, exit 1)
 *
 * As in Consul this is the whole configuration, not a fragment: what the
 * agent would refuse (no data_dir, say) fails here too. -quiet prints
 * nothing on success and hides the loader's warnings about keys cairn
 * ignores.
 *
 * Leaves out: the checks of service and check definitions that checkd
 * makes (checks_load is in libcheckd.a, which the cairn command does not
 * link), so a bad check interval passes here and stops checkd later; and
 * HCL (-config-format=hcl is refused, as the loader reads JSON only).
 */
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "config.h"
#include "log.h"

static const char validate_help[] =
"Usage: cairn validate [options] FILE_OR_DIRECTORY...\n"
"\n"
"  Checks cairn configuration files without starting an agent. Each file\n"
"  or directory given is read just as \"cairn agent\" reads -config-file\n"
"  and -config-dir, in the order given, and every problem the agent would\n"
"  stop on is reported.\n"
"\n"
"  Give the complete set of files the agent loads: the whole configuration\n"
"  is checked, so a fragment missing required settings (data_dir, for\n"
"  one) fails.\n"
"\n"
"  Returns 0 if the configuration is valid, or 1 if there are problems.\n";

static const char *const validate_titles[] = { "Command Options" };

/*
 * validate_load - every path into cfg as the agent loads them, then the
 * agent's final checks; -1 with the first error.
 */
static int
validate_load(struct config *cfg, int n, char **paths, char *err,
    size_t errlen)
{
	struct stat st;
	int i;

	config_defaults(cfg, 0);
	for (i = 0; i < n; i++) {
		/* A directory is -config-dir; anything else -config-file. */
		if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (config_load_dir(cfg, paths[i], err, errlen) < 0)
				return -1;
		} else if (config_load_file(cfg, paths[i], err, errlen) < 0)
			return -1;
	}
	return config_finish(cfg, err, errlen);
}

/* validate_main - `cairn validate`; argv[0] is "validate" */
int
validate_main(int argc, char **argv)
{
	struct config cfg;
	struct buf b;
	const char *format = "";
	char err[1200];
	int quiet = 0, r, rc;

	const struct cli_flag cmd[] = {
		{ "config-format", CLI_STR, &format, "string", "Config files "
		    "are in this format irrespective of their extension. Must "
		    "be 'hcl' or 'json'" },
		{ "quiet", CLI_BOOL, &quiet, NULL, "When given, a successful "
		    "run will produce no output." },
		{ NULL, 0, NULL, NULL, NULL }
	};
	const struct cli_flag *const tabs[] = { cmd, NULL };

	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r == -2 || r == -1) {
		buf_init(&b);
		if (r == -1)
			buf_printf(&b, "%s\n", err);
		cli_usage(&b, validate_help, tabs, validate_titles);
		cli_write(r == -2 ? stdout : stderr, &b);
		buf_free(&b);
		return r == -2 ? 0 : 1;
	}
	if (r >= argc - 1) {
		fprintf(stderr, "Must specify at least one config file or "
		    "directory\n");
		return 1;
	}
	if (*format != '\0' && strcmp(format, "json") != 0 &&
	    strcmp(format, "hcl") != 0) {
		fprintf(stderr, "-config-format must be either 'hcl' or "
		    "'json'\n");
		return 1;
	}
	if (strcmp(format, "hcl") == 0) {
		fprintf(stderr, "Config validation failed: -config-format=hcl: "
		    "cairn reads JSON configuration only\n");
		return 1;
	}
	/* The loader warns of keys it ignores; -quiet is for scripts. */
	if (quiet)
		log_level = LOG_ERR;
	memset(&cfg, 0, sizeof(cfg));
	if (validate_load(&cfg, argc - 1 - r, argv + 1 + r, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "Config validation failed: %s\n", err);
		rc = 1;
	} else {
		rc = 0;
		if (!quiet && (fputs("Configuration is valid!\n", stdout) ==
		    EOF || fflush(stdout) == EOF))
			rc = 1;
	}
	config_free(&cfg);
	return rc;
}
