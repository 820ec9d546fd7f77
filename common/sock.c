/*
 * sock.c - listening and connecting, Unix and IP. See sock.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

/* sock_nonblock - set O_NONBLOCK and FD_CLOEXEC */
int
sock_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

/* unix_addr - fill a sockaddr_un, refusing paths that do not fit */
static int
unix_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		snprintf(err, errlen, "socket path too long (max %zu): %s",
		    sizeof(sa->sun_path) - 1, path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* sock_unix_listen - bind a stream socket, replacing a stale one */
int
sock_unix_listen(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(&sa, path, err, errlen) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* A socket left by a killed predecessor is ours to replace. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 511) == -1 ||
	    sock_nonblock(fd) == -1) {
		snprintf(err, errlen, "listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* sock_unix_connect - non-blocking connect; a Unix connect completes at once */
int
sock_unix_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(&sa, path, err, errlen) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    sock_nonblock(fd) == -1) {
		snprintf(err, errlen, "connect %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* sock_addr_parse - an IPv4 or IPv6 literal and a port */
int
sock_addr_parse(const char *addr, int port, struct sockaddr_storage *ss,
    socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	snprintf(err, errlen, "not an IP address: %.100s", addr);
	return -1;
}

/* sock_inet_listen - bind TCP (listening) or UDP on addr:port */
int
sock_inet_listen(const char *addr, int port, int type, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (sock_addr_parse(addr, port, &ss, &len, err, errlen) < 0)
		return -1;
	if ((fd = socket(ss.ss_family, type, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 511) == -1) ||
	    sock_nonblock(fd) == -1) {
		snprintf(err, errlen, "listen on %s:%d: %s", addr, port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* sock_tcp_connect - start a non-blocking connect; EINPROGRESS is success */
int
sock_tcp_connect(const char *addr, int port, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (sock_addr_parse(addr, port, &ss, &len, err, errlen) < 0)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (sock_nonblock(fd) == -1 ||
	    (connect(fd, (struct sockaddr *)&ss, len) == -1 &&
	    errno != EINPROGRESS)) {
		snprintf(err, errlen, "connect %s:%d: %s", addr, port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* sock_addr_str - print an address as ip:port ([ip]:port for IPv6) */
void
sock_addr_str(const struct sockaddr *sa, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, n, "%s:%d", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, n, "[%s]:%d", ip, ntohs(s6->sin6_port));
	} else
		snprintf(out, n, "unix");
}
