/*
 * check_http - one run of an HTTP check, the way Consul's CheckHTTP makes
 * it, through libcurl's multi interface on the daemon's libev loop: no
 * call here or in its callbacks blocks the loop (curl's own resolver runs
 * in a thread of its own).
 *
 * The request: the check's method (GET by default), its "header" pairs,
 * "User-Agent: Consul Health Check" and Consul's Accept (text/plain
 * first) unless the header sets them, its body, no keep-alive, redirects
 * followed (at most 10) unless disable_redirects, and certificates not
 * verified with tls_skip_verify. The timeout is the check's, or Consul's
 * 10s, and covers reading the body. The result: 2xx passing, 429
 * warning, any other code critical, with the output "HTTP GET <url>: 200
 * OK Output: <body>", where the body is its last 4 KiB (Consul reads it
 * into a 4 KiB ring buffer; so do we). A request that fails is critical
 * with Go's words: `Get "<url>": dial tcp 127.0.0.1:80: connect:
 * connection refused`, `Get "<url>": context deadline exceeded
 * (Client.Timeout exceeded while awaiting headers)`.
 *
 * Leaves out: the agent's TLS settings (ca_file, client certificates),
 * tls_server_name, output_max_size, Go's method change on a 301/302/303
 * for methods other than GET, POST and HEAD (curl keeps them), and H2C.
 */
#ifndef CAIRN_CHECK_HTTP_H
#define CAIRN_CHECK_HTTP_H

#include <stddef.h>

#include <ev.h>

#include "checks.h"
#include "duration.h"

#define CHECK_HTTP_DEFAULT_TIMEOUT	(10 * DUR_S)	/* Consul's */

struct check_http;

/*
 * check_http_start - start one request for def (an HTTP check, which must
 * outlive the run). cb(arg, status, output) runs exactly once, from the
 * loop and never inside this call; status is an enum check_status, output
 * is valid during the call only, and the handle is freed before cb runs.
 * NULL when the request cannot be made at all (a bad method, URL scheme
 * or header): err then holds what Consul gives as the check's critical
 * output, e.g. `net/http: invalid method "G T"`.
 */
struct check_http *check_http_start(struct ev_loop *,
	    const struct check_def *def,
	    void (*cb)(void *arg, int status, const char *output), void *arg,
	    char *err, size_t errlen);

/* check_http_cancel - abandon a run without calling back */
void	check_http_cancel(struct check_http *);

/* check_http_shutdown - free curl's state; every run must be over */
void	check_http_shutdown(void);

#endif
