/*
 * log - one line per event on stderr: "<program>: <level>: <message>".
 *
 * No timestamps: multilog and journald add them. Levels follow Postfix
 * msg(3): info; warn (wrong, carrying on); fatal (environment or config is
 * broken: exit 111 so the supervisor retries later); panic (our own
 * invariant is broken: abort for a core). debug lines appear only when the
 * level is "debug" or "trace".
 */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERR };

void	log_init(const char *program);
int	log_set_level(const char *name);	/* -1 if unknown */
extern enum log_level log_level;
extern const char *log_program;

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
