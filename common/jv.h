/*
 * jv - a JSON value tree that remembers where each value came from.
 *
 * The config loader needs to say "agent.json:3:14: ports.http: expected a
 * number", which yajl's own tree cannot, so jv_parse() builds this tree with
 * yajl's callback parser and records file, line and column for every value.
 * Numbers keep their text (num_text) as well as a double, so a uint64 flag
 * survives. Object keys keep their order; a repeated key keeps both.
 *
 * jv_get() matches keys the way Consul's decoder does in practice: case-
 * and underscore-insensitively, so "service_id", "ServiceID" and
 * "serviceid" are the same key.
 */
#ifndef CAIRN_JV_H
#define CAIRN_JV_H

#include <stddef.h>
#include <stdint.h>

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type	 type;
	const char	*file;		/* borrowed name for messages */
	int		 line, col;	/* 1-based position of the value */
	int		 b;		/* JV_BOOL */
	double		 num;		/* JV_NUM */
	char		*str;		/* JV_STR value; JV_NUM source text */
	size_t		 n;		/* JV_ARR and JV_OBJ: number of items */
	char		**keys;		/* JV_OBJ: n keys */
	struct jv	**items;	/* JV_ARR and JV_OBJ: n values */
};

/*
 * jv_parse - parse text[0..len) as one JSON value. file names the source
 * in messages and must outlive the tree. On error returns NULL with err
 * holding "file:line:col: what went wrong".
 */
struct jv	*jv_parse(const char *text, size_t len, const char *file,
		    char *err, size_t errlen);
void		 jv_free(struct jv *);

struct jv	*jv_get(const struct jv *obj, const char *key);
int		 jv_keyeq(const char *a, const char *b);
/* Typed reads: NULL/-1 when absent or of another type. */
const char	*jv_str(const struct jv *obj, const char *key);
int		 jv_int(const struct jv *obj, const char *key, int64_t *out);
int		 jv_bool(const struct jv *obj, const char *key, int *out);

#endif
