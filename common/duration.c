/*
 * duration.c - Go's time.ParseDuration and Duration.String. See
 * duration.h.
 *
 * Consul reads every duration in its config and API with Go's parser, so
 * this is a port of it (Go's src/time/format.go): a sign, then one or more
 * decimal numbers each with a unit; fractions are exact to the nanosecond
 * for every unit up to hours; a bare "0" needs no unit. Formatting
 * matches String(), including "µs" (U+00B5) for microseconds.
 */
#include <stdio.h>
#include <string.h>

#include "duration.h"

/* duration_unit - nanoseconds in the unit u[0..n), or 0 if unknown */
static uint64_t
duration_unit(const char *u, size_t n)
{
	static const struct {
		const char	*name;
		uint64_t	 ns;
	} units[] = {
		{ "ns", DUR_NS },
		{ "us", DUR_US },
		{ "\xc2\xb5s", DUR_US },	/* U+00B5 micro sign */
		{ "\xce\xbcs", DUR_US },	/* U+03BC Greek mu */
		{ "ms", DUR_MS },
		{ "s", DUR_S },
		{ "m", DUR_MIN },
		{ "h", DUR_H },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n &&
		    memcmp(units[i].name, u, n) == 0)
			return units[i].ns;
	return 0;
}

/* duration_parse - 0 with *ns set, -1 if s is not a duration */
int
duration_parse(const char *s, int64_t *ns)
{
	const uint64_t big = (uint64_t)1 << 63;
	uint64_t d = 0, v, f, unit;
	double scale;
	int neg = 0, pre, post, overflow;
	const char *q;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -1;
		/* Integer part; overflow here is an error. */
		v = 0;
		for (q = s; *s >= '0' && *s <= '9'; s++) {
			if (v > big / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > big)
				return -1;
		}
		pre = s != q;
		/* Fraction: digits past what a uint64 holds are dropped. */
		f = 0;
		scale = 1;
		post = 0;
		if (*s == '.') {
			s++;
			overflow = 0;
			for (q = s; *s >= '0' && *s <= '9'; s++) {
				if (overflow)
					continue;
				if (f > (big - 1) / 10) {
					overflow = 1;
					continue;
				}
				if (f * 10 + (uint64_t)(*s - '0') > big) {
					overflow = 1;
					continue;
				}
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
			post = s != q;
		}
		if (!pre && !post)
			return -1;
		/* Unit: everything up to the next digit or '.'. */
		for (q = s; *s != '\0' && *s != '.' && !(*s >= '0' &&
		    *s <= '9'); s++)
			;
		if (s == q || (unit = duration_unit(q, (size_t)(s - q))) == 0)
			return -1;
		if (v > big / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			/* A double is exact enough: at most 3.6e12 ns here. */
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > big)
				return -1;
		}
		d += v;
		if (d > big)
			return -1;
	}
	if (neg) {
		*ns = d == big ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > big - 1)
		return -1;
	*ns = (int64_t)d;
	return 0;
}

/* duration_frac - write v's last prec digits as ".ddd", no trailing 0s */
static size_t
duration_frac(char *buf, size_t w, uint64_t *v, int prec)
{
	int i, print = 0;
	unsigned digit;

	for (i = 0; i < prec; i++) {
		digit = (unsigned)(*v % 10);
		print = print || digit != 0;
		if (print)
			buf[--w] = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		buf[--w] = '.';
	return w;
}

/* duration_int - write v in decimal ending before buf[w] */
static size_t
duration_int(char *buf, size_t w, uint64_t v)
{
	if (v == 0)
		buf[--w] = '0';
	for (; v > 0; v /= 10)
		buf[--w] = (char)('0' + v % 10);
	return w;
}

/* duration_format - Go's String(): "1h2m3s", "1.5s", "300ms", "0s" */
void
duration_format(int64_t ns, char *out, size_t n)
{
	char buf[32];
	size_t w = sizeof(buf);
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	/* Built backwards from the end of buf, as Go does. */
	buf[--w] = 's';
	if (u < (uint64_t)DUR_S) {
		/* Under a second: the largest unit that keeps it >= 1. */
		int prec;

		if (u == 0) {
			snprintf(out, n, "0s");
			return;
		} else if (u < (uint64_t)DUR_US) {
			prec = 0;
			buf[--w] = 'n';
		} else if (u < (uint64_t)DUR_MS) {
			prec = 3;
			buf[--w] = '\xb5';
			buf[--w] = '\xc2';
		} else {
			prec = 6;
			buf[--w] = 'm';
		}
		w = duration_frac(buf, w, &u, prec);
		w = duration_int(buf, w, u);
	} else {
		w = duration_frac(buf, w, &u, 9);
		w = duration_int(buf, w, u % 60);
		u /= 60;
		if (u > 0) {
			buf[--w] = 'm';
			w = duration_int(buf, w, u % 60);
			u /= 60;
			if (u > 0) {
				buf[--w] = 'h';
				w = duration_int(buf, w, u);
			}
		}
	}
	if (ns < 0)
		buf[--w] = '-';
	snprintf(out, n, "%.*s", (int)(sizeof(buf) - w), buf + w);
}
