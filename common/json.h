/*
 * json - a small JSON writer on top of struct buf.
 *
 * Commas are placed for you: open and close objects and arrays, write a
 * key before each member value. Strings are escaped per RFC 8259 (control
 * characters as \u00XX); invalid UTF-8 bytes are replaced with U+FFFD so
 * the output is always valid JSON. pretty != 0 indents with four spaces as
 * Consul's ?pretty does; otherwise output is compact.
 */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define JSON_DEPTH 32

struct json {
	struct buf	*b;
	int		 pretty;
	int		 depth;
	unsigned char	 count[JSON_DEPTH];	/* members so far, capped */
	int		 after_key;
};

void	json_init(struct json *, struct buf *, int pretty);
void	json_obj_open(struct json *);
void	json_obj_close(struct json *);
void	json_arr_open(struct json *);
void	json_arr_close(struct json *);
void	json_key(struct json *, const char *);
void	json_keyn(struct json *, const char *, size_t);
void	json_str(struct json *, const char *);		/* NULL -> null */
void	json_strn(struct json *, const char *, size_t);
void	json_u64(struct json *, uint64_t);
void	json_i64(struct json *, int64_t);
void	json_bool(struct json *, int);
void	json_null(struct json *);
/* json_base64 - a string holding the base64 of the bytes */
void	json_base64(struct json *, const void *, size_t);
/* json_escape - append s[0..n) escaped, without quotes, to a buf */
void	json_escape(struct buf *, const char *, size_t);

#endif
