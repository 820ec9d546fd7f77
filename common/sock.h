/*
 * sock - socket boilerplate (Redis anet style): error text goes into a
 * caller's buffer, functions return an fd or -1.
 */
#ifndef CAIRN_SOCK_H
#define CAIRN_SOCK_H

#include <stddef.h>
#include <sys/socket.h>

int	sock_nonblock(int fd);
int	sock_unix_listen(const char *path, char *err, size_t errlen);
int	sock_unix_connect(const char *path, char *err, size_t errlen);
/* type is SOCK_STREAM or SOCK_DGRAM; addr is an IPv4 or IPv6 literal */
int	sock_inet_listen(const char *addr, int port, int type,
	    char *err, size_t errlen);
int	sock_tcp_connect(const char *addr, int port, char *err, size_t errlen);
/* sock_addr_str - "ip:port" of a sockaddr into out[n] */
/* sock_addr_parse - an IP literal and a port; -1 with err if not an IP */
int	sock_addr_parse(const char *addr, int port, struct sockaddr_storage *,
	    socklen_t *, char *err, size_t errlen);
void	sock_addr_str(const struct sockaddr *, char *out, size_t n);

#endif
