/*
 * flag.c - command options the way Go's flag package reads them, since
 * Consul's commands use it and scripts rely on its forms: -name, --name,
 * -name=value, -name value (not for booleans: -name=false), parsing stops
 * at the first argument that is not a flag or after "--". -h, -help and
 * --help anywhere before "--" ask for help, as mitchellh/cli checks.
 *
 * Usage text follows Consul's command/flags/usage.go: titled groups, each
 * flag as "  -name=<arg>" with its help wrapped to 72 columns.
 *
 * Leaves out: Go's duration and float flags (no command here needs one).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_self = "cairn";

/* flag_lookup - the flag called name[0..len) in any table */
static const struct cli_flag *
flag_lookup(const struct cli_flag *const *tabs, const char *name, size_t len)
{
	const struct cli_flag *f;
	size_t i;

	for (i = 0; tabs[i] != NULL; i++)
		for (f = tabs[i]; f->name != NULL; f++)
			if (strlen(f->name) == len &&
			    strncmp(f->name, name, len) == 0)
				return f;
	return NULL;
}

/* parse_bool - strconv.ParseBool */
static int
parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
	    "True", NULL };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
	    "False", NULL };
	int i;

	for (i = 0; t[i] != NULL; i++)
		if (strcmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
	for (i = 0; f[i] != NULL; i++)
		if (strcmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	return -1;
}

/*
 * parse_u64 - strconv.ParseUint(s, 0, 64): decimal, 0x hex, 0 octal or
 * 0b binary; no sign, no spaces. Returns "parse error" or "value out of
 * range" text through why.
 */
static int
parse_u64(const char *s, uint64_t *out, const char **why)
{
	const char *p = s;
	char *end;
	int base = 10;

	*why = "parse error";
	if (*p == '\0')
		return -1;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
		base = 8;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0')
		base = 8;
	if (!isxdigit((unsigned char)*p))
		return -1;
	errno = 0;
	*out = strtoull(p, &end, base);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE) {
		*why = "value out of range";
		return -1;
	}
	return 0;
}

/* is_help - the arguments mitchellh/cli takes as a request for help */
static int
is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 ||
	    strcmp(a, "--help") == 0;
}

/* cli_subcommand - see cli.h */
int
cli_subcommand(int argc, char **argv, const char *help,
    const struct cli_sub *subs)
{
	const struct cli_sub *s;

	if (argc > 0 && is_help(argv[0])) {
		fputs(help, stdout);
		return 0;
	}
	for (s = subs; argc > 0 && s->name != NULL; s++)
		if (strcmp(argv[0], s->name) == 0)
			return s->fn(argc - 1, argv + 1);
	fputs(help, stderr);
	return 1;
}

/* cli_flags_parse - see cli.h */
int
cli_flags_parse(int argc, char **argv, const struct cli_flag *const *tabs,
    char *err, size_t errlen)
{
	const struct cli_flag *f;
	const char *s, *name, *val, *why;
	size_t len;
	int i, b;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help(argv[i]))
			return -2;
	for (i = 0; i < argc; i++) {
		s = argv[i];
		if (s[0] != '-' || s[1] == '\0')
			return i;
		if (strcmp(s, "--") == 0)
			return i + 1;
		name = s[1] == '-' ? s + 2 : s + 1;
		if (*name == '\0' || *name == '-' || *name == '=') {
			snprintf(err, errlen, "bad flag syntax: %s", s);
			return -1;
		}
		len = strcspn(name, "=");
		val = name[len] == '=' ? name + len + 1 : NULL;
		if ((f = flag_lookup(tabs, name, len)) == NULL) {
			snprintf(err, errlen, "flag provided but not "
			    "defined: -%.*s", (int)len, name);
			return -1;
		}
		if (f->kind == CLI_BOOL) {
			if (val == NULL)
				b = 1;
			else if (parse_bool(val, &b) < 0) {
				snprintf(err, errlen, "invalid boolean value "
				    "\"%s\" for -%s: parse error", val,
				    f->name);
				return -1;
			}
			*(int *)f->val = b;
			continue;
		}
		if (val == NULL) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "flag needs an "
				    "argument: -%s", f->name);
				return -1;
			}
			val = argv[++i];
		}
		if (f->kind == CLI_STR)
			*(const char **)f->val = val;
		else if (parse_u64(val, (uint64_t *)f->val, &why) < 0) {
			snprintf(err, errlen, "invalid value \"%s\" for flag "
			    "-%s: %s", val, f->name, why);
			return -1;
		}
	}
	return argc;
}

/*
 * cli_wrap - greedy word wrap. Consul's kr/text.Wrap evens out ragged
 * lines instead, so a line may break one word earlier or later there.
 */
void
cli_wrap(struct buf *b, const char *s, int ind, int width)
{
	const char *w;
	int col = 0, wl, first = 1;

	while (*s != '\0') {
		while (*s == ' ' || *s == '\n')
			s++;
		if (*s == '\0')
			break;
		w = s;
		while (*s != '\0' && *s != ' ' && *s != '\n')
			s++;
		wl = (int)(s - w);
		if (!first && col + 1 + wl > width) {
			buf_putc(b, '\n');
			col = 0;
			first = 1;
		}
		if (first) {
			buf_printf(b, "%*s", ind, "");
			first = 0;
		} else {
			buf_putc(b, ' ');
			col++;
		}
		buf_append(b, w, wl);
		col += wl;
	}
}

/* cli_usage - see cli.h */
void
cli_usage(struct buf *b, const char *text, const struct cli_flag *const *tabs,
    const char *const *titles)
{
	const struct cli_flag *f;
	size_t i;

	/* usage.go: the help text trimmed, a blank line, then the groups. */
	while (*text == '\n')
		text++;
	buf_puts(b, text);
	while (buf_used(b) > 0 && buf_head(b)[buf_used(b) - 1] == '\n')
		b->len--;
	buf_puts(b, "\n\n");
	for (i = 0; tabs[i] != NULL; i++) {
		buf_printf(b, "%s\n\n", titles[i]);
		for (f = tabs[i]; f->name != NULL; f++) {
			if (f->arg != NULL)
				buf_printf(b, "  -%s=<%s>\n", f->name, f->arg);
			else
				buf_printf(b, "  -%s\n", f->name);
			cli_wrap(b, f->help, 5, 67);
			buf_puts(b, "\n\n");
		}
	}
	while (buf_used(b) > 0 && buf_head(b)[buf_used(b) - 1] == '\n')
		b->len--;
	buf_putc(b, '\n');
}

/* cli_write - all of b to fp */
int
cli_write(FILE *fp, struct buf *b)
{
	if (buf_used(b) > 0 &&
	    fwrite(buf_head(b), 1, buf_used(b), fp) != buf_used(b))
		return -1;
	return fflush(fp) == EOF ? -1 : 0;
}

/* cli_help - see cli.h */
int
cli_help(const char *help, const struct cli_flag *const *tabs,
    const char *const *titles, int asked)
{
	struct buf b;

	buf_init(&b);
	cli_usage(&b, help, tabs, titles);
	cli_write(asked ? stdout : stderr, &b);
	buf_free(&b);
	return asked ? 0 : 1;
}

/* cli_flags_usage - see cli.h */
int
cli_flags_usage(int argc, char **argv, const char *help,
    const struct cli_flag *const *tabs, const char *const *titles, int *rc)
{
	char err[512];
	int r;

	if ((r = cli_flags_parse(argc, argv, tabs, err, sizeof(err))) >= 0)
		return r;
	if (r == -1)
		fprintf(stderr, "%s\n", err);
	*rc = cli_help(help, tabs, titles, r == -2);
	return -1;
}

/* cli_flag_values - see cli.h */
size_t
cli_flag_values(int argc, char **argv, const struct cli_flag *const *tabs,
    const char *name, char **vals)
{
	const struct cli_flag *f, *found;
	const char *s, *fname, *eq;
	size_t i, len, n = 0;
	int a;

	for (a = 0; a < argc; a++) {
		s = argv[a];
		if (s[0] != '-' || s[1] == '\0' || strcmp(s, "--") == 0)
			break;
		fname = s[1] == '-' ? s + 2 : s + 1;
		len = strcspn(fname, "=");
		eq = fname[len] == '=' ? fname + len + 1 : NULL;
		found = NULL;
		for (i = 0; tabs[i] != NULL && found == NULL; i++)
			for (f = tabs[i]; f->name != NULL; f++)
				if (strlen(f->name) == len &&
				    strncmp(f->name, fname, len) == 0) {
					found = f;
					break;
				}
		if (found == NULL)
			break;
		if (found->kind == CLI_BOOL)
			continue;
		if (eq == NULL) {
			if (a + 1 >= argc)
				break;
			eq = argv[++a];
		}
		if (strcmp(found->name, name) == 0)
			vals[n++] = (char *)eq;
	}
	return n;
}

/* cli_keycmp - qsort: "k=v" strings by their keys */
int
cli_keycmp(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t xl = strcspn(x, "="), yl = strcspn(y, "=");
	int c = memcmp(x, y, xl < yl ? xl : yl);

	if (c != 0)
		return c;
	return xl < yl ? -1 : xl > yl;
}
