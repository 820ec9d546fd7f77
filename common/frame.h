/*
 * frame - the one wire format between cairn programs.
 *
 *	header, 16 bytes, network byte order
 *	  u32 len     body length, checked against a limit before any use
 *	  u16 type    message type (msg.h)
 *	  u16 flags   FRAME_REPLY, FRAME_ERROR, FRAME_MORE
 *	  u32 id      request id; a reply carries its request's id
 *	  u32 status  0 in requests; a reply's status code
 *	body: attributes, each u16 type, u16 flags, u32 len, then len bytes
 *
 * An attribute value is raw bytes: integers are big-endian u8/u32/u64
 * (the reader takes any of those widths), strings carry no NUL, and a
 * nested attribute list is just bytes that attr_iter can walk again.
 * Readers skip attribute types they do not know. Decoding never trusts a
 * length: every read is checked against what is left.
 */
#ifndef CAIRN_FRAME_H
#define CAIRN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FRAME_HDR_LEN	16
#define ATTR_HDR_LEN	8
#define FRAME_MAX	(64u << 20)	/* default limit on a body */

#define FRAME_REPLY	0x0001
#define FRAME_ERROR	0x0002
#define FRAME_MORE	0x0004

struct frame {
	uint32_t		 len;
	uint16_t		 type;
	uint16_t		 flags;
	uint32_t		 id;
	uint32_t		 status;
	const unsigned char	*body;
};

struct attr {
	uint16_t		 type;
	uint16_t		 flags;
	uint32_t		 len;
	const unsigned char	*val;
};

struct attr_iter {
	const unsigned char	*p;
	size_t			 left;
};

/*
 * frame_parse - decode one frame from p[0..n).
 * Returns the bytes the frame takes (>0), 0 when more input is needed, or
 * -1 when the header is bad (body over max); err says why.
 */
long	frame_parse(const unsigned char *, size_t, uint32_t max,
	    struct frame *, char *err, size_t errlen);

/* Building: frame_begin() returns a mark that frame_end() patches. */
size_t	frame_begin(struct buf *, uint16_t type, uint16_t flags,
	    uint32_t id, uint32_t status);
void	frame_end(struct buf *, size_t mark);

void	attr_put(struct buf *, uint16_t type, const void *, size_t);
void	attr_put_str(struct buf *, uint16_t type, const char *);
void	attr_put_u64(struct buf *, uint16_t type, uint64_t);
void	attr_put_u32(struct buf *, uint16_t type, uint32_t);
void	attr_put_u8(struct buf *, uint16_t type, uint8_t);
size_t	attr_nest_begin(struct buf *, uint16_t type);
void	attr_nest_end(struct buf *, size_t mark);

/* Walking: attr_next() returns 1 with an attribute, 0 at the end, -1 bad. */
void	attr_iter_init(struct attr_iter *, const void *, size_t);
int	attr_next(struct attr_iter *, struct attr *);

/*
 * attr_index - walk a list once and keep the first attribute of each type
 * below ntab in tab[type] (len 0, val NULL when absent). Others are skipped.
 * Returns -1 if the list is malformed.
 */
#define ATTR_TAB	128
int	attr_index(const void *, size_t, struct attr *tab, size_t ntab);

/* Typed reads: -1 if the attribute is absent or has the wrong size. */
int	attr_u64(const struct attr *, uint64_t *);
int	attr_u32(const struct attr *, uint32_t *);
int	attr_present(const struct attr *);
/* attr_strdup - a NUL-terminated copy (caller frees); NULL when absent */
char	*attr_strdup(const struct attr *);
/* attr_strcpy - copy into dst[n] with NUL; -1 when absent or too long */
int	attr_strcpy(const struct attr *, char *, size_t);

#endif
