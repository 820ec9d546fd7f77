/*
 * notify.c - systemd's readiness protocol without libsystemd. See
 * notify.h.
 *
 * The protocol is one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (sd_notify(3)): a path, or "@name" for the Linux abstract
 * namespace. Left out: fd passing and credentials (cairn sends state
 * strings only) and the "vsock:" addresses of newer systemd.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"

/* notify_send - e.g. "READY=1"; 0 when sent or when there is no socket */
int
notify_send(const char *state)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	size_t plen, slen = strlen(state);
	socklen_t alen;
	ssize_t n;
	int fd, saved;

	/* Unset: not under systemd (daemontools, cairn agent). */
	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    plen > sizeof(sun.sun_path) - (path[0] == '/')) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	/* An abstract name starts with a NUL and is not NUL-terminated. */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    alen);
	saved = errno;
	close(fd);
	if (n != (ssize_t)slen) {
		errno = n == -1 ? saved : EMSGSIZE;
		return -1;
	}
	return 0;
}
