/*
 * test.h - the smallest unit-test harness that tells the truth.
 *
 * A test file defines static void functions and lists them in main() with
 * RUN(). CHECK() records a failure and goes on; the last line printed is
 * "<file>: N passed, N failed" and the exit code is non-zero on failure.
 */
#ifndef CAIRN_TEST_H
#define CAIRN_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_checks;
static int test_passed, test_failed;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: CHECK(%s) failed\n",		\
		    __FILE__, __LINE__, #cond);				\
		test_failed_checks++;					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ == NULL || check_b_ == NULL ||			\
	    strcmp(check_a_, check_b_) != 0) {				\
		fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__,	\
		    __LINE__, check_a_ ? check_a_ : "(null)",		\
		    check_b_ ? check_b_ : "(null)");			\
		test_failed_checks++;					\
	}								\
} while (0)

#define RUN(fn) do {							\
	int before_ = test_failed_checks;				\
	fn();								\
	if (test_failed_checks == before_) test_passed++;		\
	else { test_failed++; fprintf(stderr, "FAIL %s\n", #fn); }	\
} while (0)

#define TEST_DONE() (printf("%s: %d passed, %d failed\n", __FILE__,	\
	test_passed, test_failed), test_failed ? 1 : 0)

#endif
