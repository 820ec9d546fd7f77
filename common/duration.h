/*
 * duration - Go-style durations as Consul's config and API use them:
 * "300ms", "10s", "5m", "1h30m", "1.5s", "2us"/"2µs", "100ns". A bare "0" is
 * zero. Values are nanoseconds in an int64; overflow is an error.
 */
#ifndef CAIRN_DURATION_H
#define CAIRN_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DUR_NS	1LL
#define DUR_US	1000LL
#define DUR_MS	1000000LL
#define DUR_S	1000000000LL
#define DUR_MIN	(60 * DUR_S)
#define DUR_H	(60 * DUR_MIN)

/* duration_parse - 0 with *ns set, -1 if s is not a duration */
int	duration_parse(const char *s, int64_t *ns);
/* duration_format - Go's String(): "1h2m3s", "1.5s", "300ms", "0s" */
void	duration_format(int64_t ns, char *out, size_t n);

#endif
