/*
 * log - one line per event on stderr: "<program>: <level>: <message>".
 *
 * No timestamps: multilog and journald add them. Levels follow Postfix
 * msg(3): info; warn (wrong, carrying on); fatal (environment or config is
 * broken: exit 111 so the supervisor retries later); panic (our own
 * invariant is broken: abort for a core). debug lines appear only when the
 * level is "debug" or "trace".
 *
 * The tap: after log_tap(path), each line written is also sent, as it is,
 * in one datagram to the Unix socket at path (httpd's run_dir/log.sock,
 * which serves GET /v1/agent/monitor). The send never blocks and every
 * error is ignored: nobody listening, a full queue, a restarting httpd.
 * Only lines at or above this program's own level are written, so only
 * those are sent.
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stddef.h>

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

void	log_init(const char *program);
int	log_set_level(const char *name);	/* -1 if unknown */
extern enum log_level log_level;
extern const char *log_program;
/*
 * log_tap - send every line to the datagram socket at path as well (NULL:
 * stop); -1 with err if path does not fit a Unix socket address or no
 * socket can be had.
 */
int	log_tap(const char *path, char *err, size_t errlen);

#define LOG_FMT __attribute__((format(printf, 1, 2)))
void	log_debug(const char *, ...) LOG_FMT;
void	log_info(const char *, ...) LOG_FMT;
void	log_warn(const char *, ...) LOG_FMT;
void	log_error(const char *, ...) LOG_FMT;
void	log_fatal(const char *, ...) LOG_FMT __attribute__((noreturn));
/* xstrdup - strdup or log_fatal; NULL gives "" (no half-built records) */
char	*xstrdup(const char *);
void	log_panic(const char *, ...) LOG_FMT __attribute__((noreturn));

#endif
