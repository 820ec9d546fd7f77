/*
 * uuid.c - see uuid.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "uuid.h"

void
uuid_format(char out[UUID_LEN + 1], const unsigned char rnd[16])
{
	unsigned char b[16];

	memcpy(b, rnd, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	snprintf(out, UUID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
	    b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	    b[14], b[15]);
}

int
uuid_random(char out[UUID_LEN + 1])
{
	unsigned char rnd[16];
	ssize_t n;
	int fd;

	do
		n = getrandom(rnd, sizeof(rnd), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd)) {
		if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
		n = read(fd, rnd, sizeof(rnd));
		close(fd);
		if (n != (ssize_t)sizeof(rnd))
			return -1;
	}
	uuid_format(out, rnd);
	return 0;
}
