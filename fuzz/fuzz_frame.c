/*
 * fuzz_frame.c - libFuzzer target: the frame decoder and the attribute
 * walker, nested lists included, on arbitrary bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "msg.h"

/* walk - visit every attribute, descending into plausible nests */
static void
walk(const unsigned char *p, size_t n, int depth)
{
	struct attr tab[ATTR_TAB], a;
	struct attr_iter it;
	uint64_t v;
	char s[64];

	if (depth > 4)
		return;
	attr_index(p, n, tab, ATTR_TAB);
	attr_u64(&tab[A_INDEX], &v);
	attr_strcpy(&tab[A_KEY], s, sizeof(s));
	attr_iter_init(&it, p, n);
	while (attr_next(&it, &a) == 1)
		if (a.type == A_ENTRY || a.type == A_CMD)
			walk(a.val, a.len, depth + 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame f;
	char err[128];
	long n;

	while (size > 0) {
		n = frame_parse(data, size, 1 << 20, &f, err, sizeof(err));
		if (n <= 0)
			break;
		walk(f.body, f.len, 0);
		data += n;
		size -= (size_t)n;
	}
	return 0;
}
