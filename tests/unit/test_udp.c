/*
 * test_udp - dnsd's datagram batches, over real sockets on a loopback
 * address of this process's own (127.0.0.<pid-derived>, port 0): what
 * arrived together is read in one call, in order, with its senders; an
 * oversized datagram is marked cut; queued answers reach their senders in
 * one flush; a full queue and an overlong answer are refused.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "../../dnsd/udp.h"

static struct udp_batch B;	/* large: not on the stack */
static char addr[32];

/* sock - a UDP socket bound to addr, port 0; its address in *sin */
static int
sock(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0 ||
	    getsockname(fd, (struct sockaddr *)sin, &len) < 0) {
		perror("udp socket");
		exit(1);
	}
	return fd;
}

static void
test_batch(void)
{
	struct sockaddr_in srv, c1, c2;
	const struct sockaddr *from;
	const unsigned char *p;
	static unsigned char big[UDP_IN_MAX + 100];
	unsigned char got[UDP_OUT_MAX + 10];
	int s = sock(&srv), a = sock(&c1), b = sock(&c2), cut;
	socklen_t fl;
	size_t len;
	ssize_t n;

	CHECK(udp_batch_recv(&B, s) == 0);	/* nothing yet */
	sendto(a, "one", 3, 0, (struct sockaddr *)&srv, sizeof(srv));
	sendto(b, "two!", 4, 0, (struct sockaddr *)&srv, sizeof(srv));
	memset(big, 'x', sizeof(big));
	sendto(a, big, sizeof(big), 0, (struct sockaddr *)&srv, sizeof(srv));
	CHECK(udp_batch_recv(&B, s) == 3);
	p = udp_batch_msg(&B, 0, &len, &from, &fl, &cut);
	CHECK(len == 3 && memcmp(p, "one", 3) == 0 && !cut &&
	    fl == sizeof(c1) && ((const struct sockaddr_in *)from)->sin_port ==
	    c1.sin_port);
	p = udp_batch_msg(&B, 1, &len, &from, &fl, &cut);
	CHECK(len == 4 && memcmp(p, "two!", 4) == 0 && !cut &&
	    ((const struct sockaddr_in *)from)->sin_port == c2.sin_port);
	udp_batch_msg(&B, 2, &len, &from, &fl, &cut);
	CHECK(cut);

	/* Answers: each to its sender, in one flush. */
	CHECK(udp_batch_queue(&B, (struct sockaddr *)&c2, sizeof(c2), "re2",
	    3) == 0);
	CHECK(udp_batch_queue(&B, (struct sockaddr *)&c1, sizeof(c1), "re1",
	    3) == 0);
	CHECK(udp_batch_queue(&B, (struct sockaddr *)&c1, sizeof(c1), big,
	    UDP_OUT_MAX + 1) == -1);
	CHECK(udp_batch_flush(&B, s) == 0);
	n = recv(a, got, sizeof(got), MSG_DONTWAIT);
	CHECK(n == 3 && memcmp(got, "re1", 3) == 0);
	n = recv(b, got, sizeof(got), MSG_DONTWAIT);
	CHECK(n == 3 && memcmp(got, "re2", 3) == 0);
	CHECK(recv(a, got, sizeof(got), MSG_DONTWAIT) == -1);
	close(s);
	close(a);
	close(b);
}

static void
test_full(void)
{
	struct sockaddr_in srv, c;
	unsigned char got[16];
	int s = sock(&srv), a = sock(&c), i, ok = 0, n = 0;

	for (i = 0; i < UDP_BATCH; i++)
		ok += udp_batch_queue(&B, (struct sockaddr *)&c, sizeof(c),
		    &i, sizeof(i)) == 0;
	CHECK(ok == UDP_BATCH);
	CHECK(udp_batch_queue(&B, (struct sockaddr *)&c, sizeof(c), "x",
	    1) == -1);
	CHECK(udp_batch_flush(&B, s) == 0);
	while (recv(a, got, sizeof(got), MSG_DONTWAIT) == sizeof(int))
		n++;
	CHECK(n == UDP_BATCH);
	/* Flushed: room again. */
	CHECK(udp_batch_queue(&B, (struct sockaddr *)&c, sizeof(c), "x",
	    1) == 0);
	CHECK(udp_batch_flush(&B, s) == 0);
	close(s);
	close(a);
}

int
main(void)
{
	snprintf(addr, sizeof(addr), "127.0.0.%d", 50 + getpid() % 200);
	udp_batch_init(&B);
	RUN(test_batch);
	RUN(test_full);
	return TEST_DONE();
}
