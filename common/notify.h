/*
 * notify - the systemd readiness protocol without libsystemd: one datagram
 * to $NOTIFY_SOCKET ("@name" is the abstract namespace). A no-op when the
 * variable is unset, as under daemontools or cairn agent.
 */
#ifndef CAIRN_NOTIFY_H
#define CAIRN_NOTIFY_H

/* notify_send - e.g. "READY=1"; returns 0, or -1 if sending failed */
int	notify_send(const char *state);

#endif
