/*
 * udp.c - see udp.h.
 */
#include <errno.h>
#include <string.h>

#include "udp.h"

void
udp_batch_init(struct udp_batch *b)
{
	int i;

	memset(b->in, 0, sizeof(b->in));
	for (i = 0; i < UDP_BATCH; i++) {
		b->iniov[i].iov_base = b->inbuf[i];
		b->iniov[i].iov_len = sizeof(b->inbuf[i]);
		b->in[i].msg_hdr.msg_iov = &b->iniov[i];
		b->in[i].msg_hdr.msg_iovlen = 1;
		b->in[i].msg_hdr.msg_name = &b->from[i];
	}
	b->nout = 0;
}

int
udp_batch_recv(struct udp_batch *b, int fd)
{
	int i, n;

	/* The kernel wrote the last senders' lengths over these. */
	for (i = 0; i < UDP_BATCH; i++)
		b->in[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
	n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n;
}

const unsigned char *
udp_batch_msg(const struct udp_batch *b, int i, size_t *len,
    const struct sockaddr **from, socklen_t *fromlen, int *truncated)
{
	*len = b->in[i].msg_len;
	*from = (const struct sockaddr *)&b->from[i];
	*fromlen = b->in[i].msg_hdr.msg_namelen;
	*truncated = (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
	return b->inbuf[i];
}

int
udp_batch_queue(struct udp_batch *b, const struct sockaddr *to,
    socklen_t tolen, const void *msg, size_t len)
{
	unsigned i = b->nout;

	if (i >= UDP_BATCH || len > UDP_OUT_MAX ||
	    tolen > sizeof(b->to[i]))
		return -1;
	memcpy(b->outbuf[i], msg, len);
	memcpy(&b->to[i], to, tolen);
	b->outiov[i].iov_base = b->outbuf[i];
	b->outiov[i].iov_len = len;
	memset(&b->out[i].msg_hdr, 0, sizeof(b->out[i].msg_hdr));
	b->out[i].msg_hdr.msg_iov = &b->outiov[i];
	b->out[i].msg_hdr.msg_iovlen = 1;
	b->out[i].msg_hdr.msg_name = &b->to[i];
	b->out[i].msg_hdr.msg_namelen = tolen;
	b->nout++;
	return 0;
}

unsigned
udp_batch_flush(struct udp_batch *b, int fd)
{
	unsigned i = 0, lost = 0;
	int n;

	while (i < b->nout) {
		n = sendmmsg(fd, b->out + i, b->nout - i, MSG_DONTWAIT);
		if (n > 0)
			i += (unsigned)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else {
			/* the first unsent one failed: skip it */
			i++;
			lost++;
		}
	}
	b->nout = 0;
	return lost;
}
