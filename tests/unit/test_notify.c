/*
 * test_notify.c - sd_notify without libsystemd: the datagram arrives on a
 * socket in a temporary directory and in the abstract namespace; unset
 * means nothing to do; bad addresses fail.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "test.h"

static char tmpdir[] = "/tmp/test_notify.XXXXXX";

/* listener - a bound datagram socket; name "@x" is abstract */
static int
listener(const char *name)
{
	struct sockaddr_un sun;
	socklen_t len;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(name));
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, len) == -1) {
		perror(name);
		exit(2);
	}
	return fd;
}

/* receive - the next datagram, without waiting */
static const char *
receive(int fd)
{
	static char msg[256];
	ssize_t n;

	n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	if (n < 0)
		return "(nothing)";
	msg[n] = '\0';
	return msg;
}

static void
test_path(void)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/notify.sock", tmpdir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(notify_send("READY=1") == 0);
	CHECK_STR(receive(fd), "READY=1");
	CHECK(notify_send("STATUS=serving\nWATCHDOG=1") == 0);
	CHECK_STR(receive(fd), "STATUS=serving\nWATCHDOG=1");
	/* One datagram per call, nothing more. */
	CHECK_STR(receive(fd), "(nothing)");
	close(fd);

	/* The socket is gone: sending fails. */
	unlink(path);
	CHECK(notify_send("READY=1") == -1);
}

static void
test_abstract(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@cairn-test-notify-%ld-%d",
	    (long)getpid(), rand());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK(notify_send("READY=1") == 0);
	CHECK_STR(receive(fd), "READY=1");
	close(fd);
}

static void
test_unset_and_bad(void)
{
	char longpath[200];

	/* Not under systemd: nothing to do, and that is success. */
	unsetenv("NOTIFY_SOCKET");
	CHECK(notify_send("READY=1") == 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CHECK(notify_send("READY=1") == 0);

	/* Neither a path nor an abstract name. */
	setenv("NOTIFY_SOCKET", "relative/sock", 1);
	errno = 0;
	CHECK(notify_send("READY=1") == -1);
	CHECK(errno == EINVAL);

	/* Longer than sun_path can hold. */
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	CHECK(notify_send("READY=1") == -1);
	CHECK(errno == EINVAL);

	/* No one listening at an abstract name. */
	setenv("NOTIFY_SOCKET", "@cairn-test-nobody-listens-here", 1);
	CHECK(notify_send("READY=1") == -1);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	srand((unsigned)getpid());
	RUN(test_path);
	RUN(test_abstract);
	RUN(test_unset_and_bad);
	rc = TEST_DONE();
	rmdir(tmpdir);
	return rc;
}
