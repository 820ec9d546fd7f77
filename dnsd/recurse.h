/*
 * recurse - dnsd's questions to the configured upstream recursors, through
 * c-ares on dnsd's libev loop (Consul's `recursors`).
 *
 * As Consul does (agent/dns.go handleRecurse), the recursors are asked one
 * at a time, in the order given, each for at most `timeout` seconds; the
 * next one is asked when one times out, cannot be reached, or answers with
 * an rcode other than NOERROR or NXDOMAIN. The first acceptable answer is
 * passed back as it came; when every recursor failed, the callback gets
 * status -1 and the caller answers SERVFAIL.
 *
 * The client's query goes out byte for byte (its EDNS, RD and CD
 * included) but for its ID: each upstream query gets a random ID of its
 * own, and the answer handed to the callback has the client's ID back.
 * An answer truncated over UDP, or longer than 512 bytes, is fetched
 * again over TCP by c-ares, so an answer may be larger than the client's
 * UDP size: fitting it (TC) is the caller's job.
 *
 * Callbacks run exactly once and never from inside recurse_send() or
 * recurse_addrs(); also from recurse_free() (status -1) for what is still
 * in flight. recurse_free() must not be called from a callback.
 *
 * Left out: host names as recursors (Consul resolves them once at start),
 * the random recursor_strategy of newer Consul, and caching.
 */
#ifndef CAIRN_RECURSE_H
#define CAIRN_RECURSE_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct recurse;

#define RECURSE_MAX		16	/* recursors */
#define RECURSE_ADDRS_MAX	64	/* addresses of each family */

struct recurse_addr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* 4 bytes used for AF_INET */
};

/*
 * The raw answer (alen bytes, the client's ID) with status 0, or status -1
 * and NULL when every recursor failed. answer is valid during the call.
 */
typedef void recurse_cb(void *arg, int status, const unsigned char *answer,
    size_t alen);
/*
 * Status 0 when a recursor answered the A or the AAAA question (n may be
 * 0: no such name, or no address); ttl is the least of the records' TTLs
 * (0 when n is 0). Status -1 (n 0) when neither was answered.
 */
typedef void recurse_addrs_cb(void *arg, int status,
    const struct recurse_addr *addrs, size_t n, uint32_t ttl);

/*
 * recurse_new - a resolver for servers[0..n) ("ip", "ip:port",
 * "[ip6]:port"; port 53 by default), timeout seconds per recursor.
 * NULL with err set for a bad server string (named) or a c-ares error.
 */
struct recurse	*recurse_new(struct ev_loop *, const char *const *servers,
		    size_t n, double timeout, char *err, size_t errlen);
/* recurse_free - fail what is in flight (status -1), then free */
void		 recurse_free(struct recurse *);

/*
 * recurse_send - forward a client's query (12 to 65535 bytes). 0: cb will
 * run once; -1: a bad length or we are being freed, and cb will not run.
 */
int		 recurse_send(struct recurse *, const unsigned char *query,
		    size_t len, recurse_cb *, void *arg);

/*
 * recurse_addrs - the A and AAAA records of a host name (presentation
 * form, trailing dot optional), CNAMEs followed as the recursor gave them.
 * 0: cb will run once; -1: a bad name or we are being freed.
 */
int		 recurse_addrs(struct recurse *, const char *name,
		    recurse_addrs_cb *, void *arg);

#endif
