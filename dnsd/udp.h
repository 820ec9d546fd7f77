/*
 * udp - datagrams in and out by the batch: recvmmsg() reads up to
 * UDP_BATCH queries in one call, and the answers dnsd can give at once
 * (from kept replies) are queued and go out in one sendmmsg(). On
 * loopback at 100k queries a second the system calls, not the answers,
 * were most of dnsd's time. Answers that wait for kvd or a recursor are
 * sent alone, as before.
 *
 * A datagram longer than UDP_IN_MAX is no DNS query (a query carries
 * one question and at most an OPT record): udp_batch_recv() marks it
 * truncated and dnsd drops it.
 */
#ifndef CAIRN_DNSD_UDP_H
#define CAIRN_DNSD_UDP_H

#include <stddef.h>
#include <sys/socket.h>

#include "dns_packet.h"

#define UDP_BATCH	64
#define UDP_IN_MAX	4096
#define UDP_OUT_MAX	DNS_EDNS_SIZE	/* the most a UDP answer may be */

struct udp_batch {
	/* in */
	struct mmsghdr		 in[UDP_BATCH];
	struct iovec		 iniov[UDP_BATCH];
	struct sockaddr_storage	 from[UDP_BATCH];
	unsigned char		 inbuf[UDP_BATCH][UDP_IN_MAX];
	/* out */
	struct mmsghdr		 out[UDP_BATCH];
	struct iovec		 outiov[UDP_BATCH];
	struct sockaddr_storage	 to[UDP_BATCH];
	unsigned char		 outbuf[UDP_BATCH][UDP_OUT_MAX];
	unsigned		 nout;
};

/* udp_batch_init - set up the receive side once, before any use */
void	udp_batch_init(struct udp_batch *);
/*
 * udp_batch_recv - read what is waiting on fd, up to UDP_BATCH
 * datagrams: their count (0 when none), or -1 with errno
 */
int	udp_batch_recv(struct udp_batch *, int fd);
/* the i-th datagram read: its bytes, length, sender, and whether cut */
const unsigned char *udp_batch_msg(const struct udp_batch *, int i,
	    size_t *len, const struct sockaddr **from, socklen_t *fromlen,
	    int *truncated);
/*
 * udp_batch_queue - an answer to send with the next flush: 0, or -1
 * when it does not fit (the queue is full, or it is too long); send it
 * yourself then
 */
int	udp_batch_queue(struct udp_batch *, const struct sockaddr *to,
	    socklen_t tolen, const void *msg, size_t len);
/*
 * udp_batch_flush - send the queued answers on fd; a failed one is
 * skipped (UDP's loss). Returns how many could not be sent.
 */
unsigned udp_batch_flush(struct udp_batch *, int fd);

#endif
