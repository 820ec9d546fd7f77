/*
 * test_duration.c - Go's ParseDuration and String(): good and bad inputs,
 * overflow at both ends, formatting, and round trips.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"
#include "test.h"

static const struct {
	const char	*s;
	int64_t		 ns;
} good[] = {
	{ "0", 0 },
	{ "-0", 0 },
	{ "+0", 0 },
	{ "0s", 0 },
	{ "5s", 5 * DUR_S },
	{ "+5s", 5 * DUR_S },
	{ "-5s", -5 * DUR_S },
	{ "300ms", 300 * DUR_MS },
	{ "10s", 10 * DUR_S },
	{ "5m", 5 * DUR_MIN },
	{ "1h30m", 90 * DUR_MIN },
	{ "1.5s", 1500 * DUR_MS },
	{ "1.5h", 90 * DUR_MIN },
	{ "-1.5h", -90 * DUR_MIN },
	{ ".5s", 500 * DUR_MS },
	{ "5.s", 5 * DUR_S },
	{ "2us", 2 * DUR_US },
	{ "2\xc2\xb5s", 2 * DUR_US },		/* U+00B5 */
	{ "2\xce\xbcs", 2 * DUR_US },		/* U+03BC */
	{ "100ns", 100 },
	{ "1h2m3s4ms5us6ns", DUR_H + 2 * DUR_MIN + 3 * DUR_S + 4 * DUR_MS +
	    5 * DUR_US + 6 },
	{ "39h9m14.425s", 140954425 * DUR_MS },
	{ "1.0000000001s", DUR_S },		/* below 1ns: dropped */
	{ "1.000000001s", DUR_S + 1 },
	{ "0.1ns", 0 },
	{ "52763797000ns", 52763797000LL },
	{ "0.3333333333333333333h", 20 * DUR_MIN },
	/* Digits past what fits are ignored, as in Go. */
	{ "1.00000000000000000000000000000000000001s", DUR_S },
	{ "9223372036854775807ns", INT64_MAX },
	{ "9223372036.854775807s", INT64_MAX },
	{ "2562047h47m16.854775807s", INT64_MAX },
	{ "-9223372036854775808ns", INT64_MIN },
	{ "-2562047h47m16.854775808s", INT64_MIN },
	{ "15s10s", 25 * DUR_S },		/* units may repeat */
};

static const char *const bad[] = {
	"", "-", "+", ".", ".s", "s", "1", "10", "-1", "1x", "1sec", "1S",
	"1H", " 1s", "1s ", "1 s", "1m-1s", "1..5s", "1.2.3s", "--1s", "1e3s",
	"0x10s", "ms", "1µ", "\xc2\xb5s", "1ss",
	"9223372036854775808ns",		/* one past INT64_MAX */
	"9223372036.854775808s",
	"2562047h47m16.854775808s",
	"-9223372036854775809ns",
	"3000000h",
	"10000000000000000000000ns",
	"2562048h",
	"106751d",
};

static void
test_parse_good(void)
{
	int64_t ns;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ns = 12345;
		CHECK(duration_parse(good[i].s, &ns) == 0);
		if (ns != good[i].ns)
			fprintf(stderr, "  %s: %lld != %lld\n", good[i].s,
			    (long long)ns, (long long)good[i].ns);
		CHECK(ns == good[i].ns);
	}
}

static void
test_parse_bad(void)
{
	int64_t ns;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ns = 12345;
		if (duration_parse(bad[i], &ns) != -1)
			fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
		CHECK(duration_parse(bad[i], &ns) == -1);
		/* A failure leaves the output alone. */
		CHECK(ns == 12345);
	}
	CHECK(duration_parse(NULL, &ns) == -1);
}

/* Mutations: every good string cut short or with a byte added. */
static void
test_parse_mutations(void)
{
	char s[128];
	int64_t ns;
	size_t i, k, n;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		n = strlen(good[i].s);
		for (k = 0; k < n; k++) {
			memcpy(s, good[i].s, k);
			s[k] = '\0';
			/* Must not crash; a cut before any unit fails. */
			(void)duration_parse(s, &ns);
		}
		snprintf(s, sizeof(s), "%sx", good[i].s);
		CHECK(duration_parse(s, &ns) == -1);
		snprintf(s, sizeof(s), "%s.", good[i].s);
		CHECK(duration_parse(s, &ns) == -1);
	}
	CHECK(duration_parse("1", &ns) == -1);	/* "1s" cut */
	CHECK(duration_parse("1h3", &ns) == -1);	/* "1h30m" cut */
}

static const struct {
	int64_t		 ns;
	const char	*s;
} fmt[] = {
	{ 0, "0s" },
	{ 1, "1ns" },
	{ 999, "999ns" },
	{ 1100, "1.1\xc2\xb5s" },
	{ 2200 * DUR_US, "2.2ms" },
	{ 300 * DUR_MS, "300ms" },
	{ 3300 * DUR_MS, "3.3s" },
	{ DUR_S, "1s" },
	{ 4 * DUR_MIN + 5 * DUR_S, "4m5s" },
	{ 4 * DUR_MIN + 5001 * DUR_MS, "4m5.001s" },
	{ 5 * DUR_H + 6 * DUR_MIN + 7001 * DUR_MS, "5h6m7.001s" },
	{ 8 * DUR_MIN + 1, "8m0.000000001s" },
	{ DUR_H, "1h0m0s" },
	{ 90 * DUR_MIN, "1h30m0s" },
	{ -1, "-1ns" },
	{ -1500 * DUR_MS, "-1.5s" },
	{ INT64_MAX, "2562047h47m16.854775807s" },
	{ INT64_MIN, "-2562047h47m16.854775808s" },
};

static void
test_format(void)
{
	char out[64];
	size_t i;

	for (i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		duration_format(fmt[i].ns, out, sizeof(out));
		CHECK_STR(out, fmt[i].s);
	}
	/* A short buffer truncates and stays terminated. */
	duration_format(90 * DUR_MIN, out, 4);
	CHECK_STR(out, "1h3");
	duration_format(DUR_S, out, 1);
	CHECK_STR(out, "");
}

static void
test_round_trip(void)
{
	char out[64];
	uint64_t x = 88172645463325252ULL;
	int64_t ns, back;
	int i, failed = 0;

	for (i = 0; i < (int)(sizeof(fmt) / sizeof(fmt[0])); i++) {
		duration_format(fmt[i].ns, out, sizeof(out));
		CHECK(duration_parse(out, &back) == 0 && back == fmt[i].ns);
	}
	/* xorshift64: values of every magnitude, both signs. */
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ns = (int64_t)(x >> (x % 64));
		if (i & 1)
			ns = -ns;
		duration_format(ns, out, sizeof(out));
		if (duration_parse(out, &back) != 0 || back != ns) {
			if (failed++ < 5)
				fprintf(stderr, "  %lld -> %s -> %lld\n",
				    (long long)ns, out, (long long)back);
		}
	}
	CHECK(failed == 0);
}

int
main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_parse_mutations);
	RUN(test_format);
	RUN(test_round_trip);
	return TEST_DONE();
}
