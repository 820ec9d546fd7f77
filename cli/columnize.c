/*
 * columnize.c - tables as github.com/ryanuber/columnize lays them out with
 * the settings Consul's commands use (delimiter 0x1f, glue two spaces, no
 * prefix, empty cells left empty), so output that scripts cut with awk or
 * column positions matches Consul's byte for byte.
 *
 * columnize.Format: split each line on the delimiter, trim spaces off
 * each cell, find each column's widest cell over all lines (in runes),
 * print "%-Ws  " for every cell but a line's last, which is printed as is,
 * and drop the final newline.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

#define COL_DELIM	'\x1f'

/* runes - UTF-8 characters in s[0..n): bytes that do not continue one */
static size_t
runes(const char *s, size_t n)
{
	size_t i, r = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			r++;
	return r;
}

/* is_space - Go's unicode.IsSpace for the ASCII range */
static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	    c == '\r';
}

/* next_cell - the cell at *p, trimmed, in [*s, *s + *n); advance *p */
static int
next_cell(const char **p, const char **s, size_t *n)
{
	const char *c = *p, *e;

	if (c == NULL)
		return 0;
	if ((e = strchr(c, COL_DELIM)) == NULL) {
		e = c + strlen(c);
		*p = NULL;
	} else
		*p = e + 1;
	while (c < e && is_space(*c))
		c++;
	while (e > c && is_space(e[-1]))
		e--;
	*s = c;
	*n = (size_t)(e - c);
	return 1;
}

/* cli_columnize - see cli.h */
void
cli_columnize(struct buf *out, char *const *lines, size_t n)
{
	size_t *w = NULL, nw = 0, i, col, len, r;
	const char *p, *s;
	size_t *nw2;

	for (i = 0; i < n; i++) {
		p = lines[i];
		for (col = 0; next_cell(&p, &s, &len); col++) {
			if (col >= nw) {
				if ((nw2 = realloc(w, (col + 1) *
				    sizeof(*w))) == NULL)
					log_fatal("out of memory");
				w = nw2;
				while (nw <= col)
					w[nw++] = 0;
			}
			if ((r = runes(s, len)) > w[col])
				w[col] = r;
		}
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(out, '\n');
		p = lines[i];
		for (col = 0; next_cell(&p, &s, &len); col++) {
			buf_append(out, s, len);
			if (p == NULL)
				break;
			for (r = runes(s, len); r < w[col]; r++)
				buf_putc(out, ' ');
			buf_puts(out, "  ");
		}
	}
	free(w);
}

/* cli_columnize_bufs - see cli.h */
void
cli_columnize_bufs(struct buf *out, struct buf *lines, size_t n)
{
	char **cells;
	size_t i;

	if ((cells = calloc(n + 1, sizeof(*cells))) == NULL)
		log_fatal("out of memory");
	for (i = 0; i < n; i++)
		cells[i] = buf_cstr(&lines[i]);
	cli_columnize(out, cells, n);
	for (i = 0; i < n; i++)
		buf_free(&lines[i]);
	free(cells);
}
