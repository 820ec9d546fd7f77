/*
 * gopath.c - see gopath.h. path.Clean's rules: one slash between
 * elements, "." elements dropped, ".." taking back the element before it
 * (or kept at the start of a relative path, and dropped after the root),
 * "." for a path that cleans to nothing.
 */
#include "gopath.h"

/* gopath_clean - Go's path.Clean of p[0..n), appended to b */
static void
gopath_clean(struct buf *b, const char *p, size_t n)
{
	size_t start = b->len, root, r = 0, dotdot, e;

	root = n > 0 && p[0] == '/';
	if (root) {
		buf_putc(b, '/');
		r = 1;
	}
	dotdot = b->len;
	while (r < n) {
		if (p[r] == '/')
			r++;
		else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/'))
			r++;
		else if (p[r] == '.' && p[r + 1] == '.' &&
		    (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (b->len > dotdot) {
				/* back up over the last element */
				b->len--;
				while (b->len > dotdot &&
				    b->data[b->len] != '/')
					b->len--;
			} else if (!root) {
				if (b->len > start)
					buf_putc(b, '/');
				buf_puts(b, "..");
				dotdot = b->len;
			}
		} else {
			if (b->len != start + root)
				buf_putc(b, '/');
			for (e = r; e < n && p[e] != '/'; e++)
				;
			buf_append(b, p + r, e - r);
			r = e;
		}
	}
	if (b->len == start)
		buf_putc(b, '.');
}

void
gopath_join(struct buf *b, const char *const *elems, size_t n)
{
	struct buf all;
	size_t i;

	buf_init(&all);
	for (i = 0; i < n; i++) {
		if (elems[i] == NULL || *elems[i] == '\0')
			continue;
		if (buf_used(&all) > 0)
			buf_putc(&all, '/');
		buf_puts(&all, elems[i]);
	}
	if (buf_used(&all) > 0)
		gopath_clean(b, (const char *)buf_head(&all), buf_used(&all));
	buf_free(&all);
}
