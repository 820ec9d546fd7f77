/*
 * base64 - RFC 4648 standard alphabet with padding, as Consul's JSON uses
 * for KV values.
 */
#ifndef CAIRN_BASE64_H
#define CAIRN_BASE64_H

#include <stddef.h>

#include "buf.h"

#define BASE64_LEN(n)	(((n) + 2) / 3 * 4)

/* base64_encode - append the encoding of p[0..n) to b */
void	base64_encode(struct buf *, const void *, size_t);
/*
 * base64_decode - append the decoding of s[0..n) to b. Whitespace is not
 * allowed; padding is required. Returns -1 (b unchanged) on bad input.
 */
int	base64_decode(struct buf *, const char *, size_t);

#endif
