/*
 * json_get.c - typed reads of fields in the JSON the HTTP API returns,
 * strict about types so a surprising answer is an error, not garbage.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "cli.h"
#include "log.h"

/* cli_json_parse - yajl_tree on a NUL-terminated copy of json[0..len) */
yajl_val
cli_json_parse(const char *json, size_t len, char *err, size_t errlen)
{
	char ebuf[256], *text;
	yajl_val root;

	if ((text = malloc(len + 1)) == NULL)
		log_fatal("out of memory");
	memcpy(text, json, len);
	text[len] = '\0';
	ebuf[0] = '\0';
	root = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	free(text);
	if (root == NULL) {
		ebuf[strcspn(ebuf, "\n")] = '\0';
		snprintf(err, errlen, "invalid JSON in response: %s", ebuf);
	}
	return root;
}

/* cli_json_u64 - a number field as uint64 (absent or null: 0); -1 if not */
int
cli_json_u64(yajl_val obj, const char *key, uint64_t *out)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
	char *end;

	*out = 0;
	if (v == NULL || YAJL_IS_NULL(v))
		return 0;
	/* strtoull would take "-1" as 2^64-1 */
	if (!YAJL_IS_NUMBER(v) ||
	    !isdigit((unsigned char)*YAJL_GET_NUMBER(v)))
		return -1;
	errno = 0;
	*out = strtoull(YAJL_GET_NUMBER(v), &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* cli_json_str - a string field (absent or null: NULL); *bad if not one */
const char *
cli_json_str(yajl_val obj, const char *key, int *bad)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

	if (v == NULL || YAJL_IS_NULL(v))
		return NULL;
	if (!YAJL_IS_STRING(v))
		*bad = 1;
	return YAJL_GET_STRING(v);
}

/* cli_xstrdup - strdup or die */
char *
cli_xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		log_fatal("out of memory");
	return p;
}
