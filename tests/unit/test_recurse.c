/*
 * test_recurse.c - forwarding to recursors, against fake DNS servers in
 * this process: UDP and TCP on 127.0.0.<random 50-249>, free ports, served
 * from the test's libev loop. The answer comes back with the client's ID
 * and the query went out as given; every failing rcode, silence, a wrong
 * question and a closed port move on to the next recursor while NXDOMAIN
 * does not; all failing is status -1 once; TC and long answers come over
 * TCP; recurse_addrs reads A and AAAA with TTLs; bad server strings are
 * named; callbacks never run inside recurse_send, and recurse_free fails
 * everything in flight exactly once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "recurse.h"
#include "test.h"

static struct ev_loop *loop;

enum fake_mode {
	F_ANSWER,	/* A 192.0.2.1 ttl 300, AAAA 2001:db8::1 ttl 600 */
	F_CNAME,	/* a CNAME (ttl 60) to target., then the above */
	F_RCODE,	/* rcode, no records */
	F_SILENT,	/* never answers */
	F_WRONGQ,	/* answers another question */
	F_NOQR,		/* the answer without QR */
	F_TC,		/* UDP: TC and nothing; TCP: two A records */
	F_BIG		/* 40 A records, over 512 bytes */
};

struct fake {
	char		 addr[16];
	int		 port;
	int		 udp, tcp, conn;
	ev_io		 uio, tio, cio;
	enum fake_mode	 mode;
	int		 rcode;
	int		 nudp, ntcp;		/* queries seen */
	unsigned char	 last[512];		/* the last query */
	size_t		 lastlen;
	uint16_t	 ids[64];		/* IDs seen over UDP */
	unsigned char	 in[70000];		/* TCP input */
	size_t		 inlen;
};

static struct fake f1, f2;
static char closed_addr[40];		/* an address:port nobody serves */

/* rr - append one record, owned by the question's name or by owner */
static size_t
rr(unsigned char *out, size_t n, const char *owner, int type, uint32_t ttl,
    const void *rdata, size_t rdlen)
{
	unsigned char *p = out + n;
	size_t ol = owner != NULL ? strlen(owner) + 1 : 2;

	if (owner != NULL)
		memcpy(p, owner, ol);	/* wire form, its root NUL too */
	else {
		p[0] = 0xc0;
		p[1] = 12;
	}
	p += ol;
	p[0] = (unsigned char)(type >> 8);
	p[1] = (unsigned char)type;
	p[2] = 0;
	p[3] = 1;
	p[4] = (unsigned char)(ttl >> 24);
	p[5] = (unsigned char)(ttl >> 16);
	p[6] = (unsigned char)(ttl >> 8);
	p[7] = (unsigned char)ttl;
	p[8] = (unsigned char)(rdlen >> 8);
	p[9] = (unsigned char)rdlen;
	memcpy(p + 10, rdata, rdlen);
	out[7]++;			/* ancount, under 256 here */
	return n + ol + 10 + rdlen;
}

/* fake_reply - the fake's answer to q in out; 0: say nothing */
static size_t
fake_reply(struct fake *f, const unsigned char *q, size_t qlen, int tcp,
    unsigned char *out)
{
	static const unsigned char a1[4] = { 192, 0, 2, 1 };
	static const unsigned char a6[16] = { 0x20, 0x01, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const char target[] = "\6target";
	unsigned char a[4] = { 192, 0, 2, 0 };
	size_t end = 12, n;
	int qtype, i;

	if (qlen < 12 || q[4] != 0 || q[5] != 1)
		return 0;
	while (end < qlen && q[end] != 0)
		end += q[end] + 1u;
	end += 5;
	if (end > qlen)
		return 0;
	qtype = q[end - 4] << 8 | q[end - 3];
	memcpy(out, q, end);
	out[2] = (unsigned char)(q[2] | 0x80);		/* QR */
	out[3] = 0x80;					/* RA */
	memset(out + 6, 0, 6);
	n = end;
	switch (f->mode) {
	case F_SILENT:
		return 0;
	case F_RCODE:
		out[3] |= (unsigned char)f->rcode;
		return n;
	case F_WRONGQ:
		out[13] = out[13] == 'x' ? 'y' : 'x';
		return rr(out, n, NULL, 1, 300, a1, 4);
	case F_NOQR:
		out[2] &= 0x7f;
		return rr(out, n, NULL, 1, 300, a1, 4);
	case F_TC:
		if (!tcp) {
			out[2] |= 0x02;
			return n;
		}
		n = rr(out, n, NULL, 1, 300, a1, 4);
		a[3] = 2;
		return rr(out, n, NULL, 1, 300, a, 4);
	case F_BIG:
		for (i = 1; i <= 40; i++) {
			a[3] = (unsigned char)i;
			n = rr(out, n, NULL, 1, 300, a, 4);
		}
		return n;
	case F_CNAME:
		n = rr(out, n, NULL, 5, 60, target, sizeof(target));
		if (qtype == 1)
			n = rr(out, n, target, 1, 300, a1, 4);
		else if (qtype == 28)
			n = rr(out, n, target, 28, 600, a6, 16);
		return n;
	case F_ANSWER:
		if (qtype == 1)
			n = rr(out, n, NULL, 1, 300, a1, 4);
		else if (qtype == 28)
			n = rr(out, n, NULL, 28, 600, a6, 16);
		return n;
	}
	return 0;
}

/* fake_udp_cb - answer one datagram */
static void
fake_udp_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct fake *f = w->data;
	unsigned char q[4096], out[4096];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n;
	size_t len;

	if ((n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&ss,
	    &sl)) <= 0)
		return;
	if (n >= 2 && f->nudp < 64)
		f->ids[f->nudp] = (uint16_t)(q[0] << 8 | q[1]);
	f->nudp++;
	f->lastlen = (size_t)n < sizeof(f->last) ? (size_t)n : sizeof(f->last);
	memcpy(f->last, q, f->lastlen);
	if ((len = fake_reply(f, q, (size_t)n, 0, out)) > 0)
		sendto(f->udp, out, len, 0, (struct sockaddr *)&ss, sl);
}

/* fake_conn_cb - read length-prefixed queries, answer each */
static void
fake_conn_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct fake *f = w->data;
	unsigned char out[4096 + 2];
	size_t qlen, len;
	ssize_t n;

	n = read(f->conn, f->in + f->inlen, sizeof(f->in) - f->inlen);
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		ev_io_stop(l, w);
		close(f->conn);
		f->conn = -1;
		return;
	}
	f->inlen += (size_t)n;
	while (f->inlen >= 2 && f->inlen >= 2 +
	    (qlen = (size_t)(f->in[0] << 8 | f->in[1]))) {
		f->ntcp++;
		if ((len = fake_reply(f, f->in + 2, qlen, 1, out + 2)) > 0) {
			out[0] = (unsigned char)(len >> 8);
			out[1] = (unsigned char)len;
			if (write(f->conn, out, len + 2) != (ssize_t)(len + 2))
				fprintf(stderr, "fake: short TCP write\n");
		}
		memmove(f->in, f->in + 2 + qlen, f->inlen - 2 - qlen);
		f->inlen -= 2 + qlen;
	}
}

/* fake_accept_cb - one TCP connection at a time */
static void
fake_accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct fake *f = w->data;
	int fd;

	if ((fd = accept4(f->tcp, NULL, NULL, SOCK_NONBLOCK)) < 0)
		return;
	if (f->conn >= 0) {
		ev_io_stop(l, &f->cio);
		close(f->conn);
	}
	f->conn = fd;
	f->inlen = 0;
	ev_io_init(&f->cio, fake_conn_cb, fd, EV_READ);
	f->cio.data = f;
	ev_io_start(l, &f->cio);
}

/* bind_pair - UDP and TCP sockets on addr, the same free port */
static int
bind_pair(const char *addr, int *udp, int *tcp)
{
	struct sockaddr_in sin;
	socklen_t sl;
	int tries, one = 1;

	for (tries = 0; tries < 50; tries++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		inet_pton(AF_INET, addr, &sin.sin_addr);
		*udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		*tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(*tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		sl = sizeof(sin);
		if (bind(*udp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    getsockname(*udp, (struct sockaddr *)&sin, &sl) == 0 &&
		    bind(*tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(*tcp, 8) == 0)
			return ntohs(sin.sin_port);
		close(*udp);
		close(*tcp);
	}
	return -1;
}

/* fake_start - a fake server on addr */
static void
fake_start(struct fake *f, const char *addr)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->addr, sizeof(f->addr), "%s", addr);
	f->conn = -1;
	if ((f->port = bind_pair(addr, &f->udp, &f->tcp)) < 0) {
		fprintf(stderr, "cannot bind on %s: %s\n", addr,
		    strerror(errno));
		exit(1);
	}
	ev_io_init(&f->uio, fake_udp_cb, f->udp, EV_READ);
	f->uio.data = f;
	ev_io_start(loop, &f->uio);
	ev_io_init(&f->tio, fake_accept_cb, f->tcp, EV_READ);
	f->tio.data = f;
	ev_io_start(loop, &f->tio);
}

/* fake_set - mode and rcode, counters cleared */
static void
fake_set(struct fake *f, enum fake_mode mode, int rcode)
{
	f->mode = mode;
	f->rcode = rcode;
	f->nudp = f->ntcp = 0;
	f->lastlen = 0;
}

/* fake_stop - close the fake's sockets */
static void
fake_stop(struct fake *f)
{
	ev_io_stop(loop, &f->uio);
	ev_io_stop(loop, &f->tio);
	close(f->udp);
	close(f->tcp);
	if (f->conn >= 0) {
		ev_io_stop(loop, &f->cio);
		close(f->conn);
	}
}

/* fake_name - "ip:port" of the fake into out */
static const char *
fake_name(const struct fake *f, char *out, size_t n)
{
	snprintf(out, n, "%s:%d", f->addr, f->port);
	return out;
}

static void
run_until(const int *flag, double secs)
{
	ev_tstamp end = ev_time() + secs;

	while (!*flag && ev_time() < end) {
		ev_now_update(loop);
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
run_for(double secs)
{
	int never = 0;

	run_until(&never, secs);
}

/* query - a question for name (no dots but between labels) and type */
static size_t
query(unsigned char *out, uint16_t id, const char *name, int type, int edns)
{
	const char *s = name, *dot;
	size_t n = 12, l;

	memset(out, 0, 12);
	out[0] = (unsigned char)(id >> 8);
	out[1] = (unsigned char)id;
	out[2] = 0x01;			/* RD */
	out[3] = edns ? 0x10 : 0;	/* CD, to see it passed */
	out[5] = 1;
	while (*s != '\0') {
		dot = strchr(s, '.');
		l = dot != NULL ? (size_t)(dot - s) : strlen(s);
		out[n++] = (unsigned char)l;
		memcpy(out + n, s, l);
		n += l;
		s += l + (dot != NULL);
	}
	out[n++] = 0;
	out[n++] = (unsigned char)(type >> 8);
	out[n++] = (unsigned char)type;
	out[n++] = 0;
	out[n++] = 1;
	if (edns) {
		static const unsigned char opt[11] = { 0, 0, 41, 0x04, 0xd0,
		    0, 0, 0x80, 0, 0, 0 };

		memcpy(out + n, opt, sizeof(opt));
		n += sizeof(opt);
		out[11] = 1;
	}
	return n;
}

struct result {
	int		 calls;
	int		 status;
	unsigned char	 ans[65536];
	size_t		 alen;
	/* recurse_addrs */
	struct recurse_addr addrs[2 * RECURSE_ADDRS_MAX];
	size_t		 n;
	uint32_t	 ttl;
	/* what a recurse_send from inside the callback returned */
	struct recurse	*r;
	int		 again;
};

static void
send_cb(void *arg, int status, const unsigned char *answer, size_t alen)
{
	struct result *res = arg;
	unsigned char q[64];

	res->calls++;
	res->status = status;
	CHECK((status == 0) == (answer != NULL));
	if (answer != NULL && alen <= sizeof(res->ans)) {
		memcpy(res->ans, answer, alen);
		res->alen = alen;
	}
	if (res->r != NULL)
		res->again = recurse_send(res->r, q, query(q, 1, "a.b", 1, 0),
		    send_cb, res);
}

static void
addrs_cb(void *arg, int status, const struct recurse_addr *addrs, size_t n,
    uint32_t ttl)
{
	struct result *res = arg;

	res->calls++;
	res->status = status;
	res->n = n;
	res->ttl = ttl;
	CHECK(n <= 2 * RECURSE_ADDRS_MAX);
	memcpy(res->addrs, addrs, n * sizeof(*addrs));
}

static struct recurse *
mk(const char *a, const char *b, double timeout)
{
	const char *s[2] = { a, b };
	struct recurse *r;
	char err[256];

	r = recurse_new(loop, s, b != NULL ? 2 : 1, timeout, err, sizeof(err));
	if (r == NULL)
		fprintf(stderr, "recurse_new: %s\n", err);
	CHECK(r != NULL);
	return r;
}

static struct result res[24];

static void
test_answer_keeps_id(void)
{
	char n1[40];
	unsigned char q[512];
	struct recurse *r;
	size_t len;

	fake_set(&f1, F_ANSWER, 0);
	r = mk(fake_name(&f1, n1, sizeof(n1)), NULL, 2.0);
	memset(res, 0, sizeof(res));
	len = query(q, 0xbeef, "www.example", 1, 1);
	CHECK(recurse_send(r, q, len, send_cb, &res[0]) == 0);
	CHECK(res[0].calls == 0);		/* never inside the call */
	run_until(&res[0].calls, 3);
	CHECK(res[0].calls == 1);
	CHECK(res[0].status == 0);
	CHECK(res[0].alen == len - 11 + 16);	/* no OPT back, one A */
	CHECK(res[0].ans[0] == 0xbe && res[0].ans[1] == 0xef);
	CHECK(res[0].ans[2] & 0x80);
	CHECK((res[0].ans[3] & 0x0f) == 0);
	CHECK(res[0].ans[7] == 1);
	CHECK(memcmp(res[0].ans + res[0].alen - 4, "\300\0\2\1", 4) == 0);
	/* The upstream saw the query byte for byte, bar the ID. */
	CHECK(f1.nudp == 1);
	CHECK(f1.lastlen == len);
	CHECK(memcmp(f1.last + 2, q + 2, len - 2) == 0);
	run_for(0.1);
	CHECK(res[0].calls == 1);
	recurse_free(r);
	CHECK(res[0].calls == 1);
}

static void
test_many_ids(void)
{
	static const char *const names[] = { "a.example", "b.example",
	    "c.example" };
	unsigned char q[24][64];
	size_t len[24];
	struct recurse *r;
	char n1[40];
	double t0;
	int i, all, same;

	fake_set(&f1, F_ANSWER, 0);
	r = mk(fake_name(&f1, n1, sizeof(n1)), NULL, 2.0);
	memset(res, 0, sizeof(res));
	/* IDs repeat across names and names across IDs. */
	for (i = 0; i < 24; i++) {
		len[i] = query(q[i], (uint16_t)(0x1000 + i % 5), names[i % 3],
		    1, 0);
		CHECK(recurse_send(r, q[i], len[i], send_cb, &res[i]) == 0);
	}
	for (all = 0, t0 = ev_time(); !all && ev_time() < t0 + 3; ) {
		run_for(0.01);
		for (i = 0, all = 1; i < 24; i++)
			all &= res[i].calls > 0;
	}
	/* The upstream saw IDs of ours, not the clients'. */
	for (i = 0, same = 0; i < 24; i++)
		same += f1.ids[i] >= 0x1000 && f1.ids[i] <= 0x1004;
	CHECK(f1.nudp == 24);
	CHECK(same < 4);
	for (i = 0; i < 24; i++) {
		CHECK(res[i].calls == 1);
		CHECK(res[i].status == 0);
		CHECK(res[i].ans[0] == 0x10 && res[i].ans[1] == 0x00 + i % 5);
		CHECK(res[i].alen == len[i] + 16);
		CHECK(memcmp(res[i].ans + 12, q[i] + 12, len[i] - 12) == 0);
	}
	recurse_free(r);
}

static void
test_fall_through(void)
{
	static const struct {
		const char	*what;
		enum fake_mode	 mode;
		int		 rcode;
		int		 closed;	/* first is a closed port */
		int		 next;		/* the second was asked */
		int		 want_rcode;
	} cases[] = {
		{ "REFUSED", F_RCODE, 5, 0, 1, 0 },
		{ "SERVFAIL", F_RCODE, 2, 0, 1, 0 },
		{ "FORMERR", F_RCODE, 1, 0, 1, 0 },
		{ "NOTIMP", F_RCODE, 4, 0, 1, 0 },
		{ "YXDOMAIN", F_RCODE, 6, 0, 1, 0 },
		{ "silence", F_SILENT, 0, 0, 1, 0 },
		{ "another question", F_WRONGQ, 0, 0, 1, 0 },
		{ "no QR", F_NOQR, 0, 0, 1, 0 },
		{ "closed port", F_SILENT, 0, 1, 1, 0 },
		{ "NXDOMAIN", F_RCODE, 3, 0, 0, 3 },
		{ "NOERROR, no data", F_RCODE, 0, 0, 0, 0 },
		{ "an answer", F_ANSWER, 0, 0, 0, 0 },
	};
	char n1[40], n2[40];
	unsigned char q[512];
	struct recurse *r;
	size_t i, len;
	double t0;
	int waits;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/*
		 * Only silence and another question (which c-ares ignores)
		 * wait for the timeout: 0.5 s for them, 600 s for the rest,
		 * which then must be done long before the run's 30 s.
		 */
		waits = (cases[i].mode == F_SILENT && !cases[i].closed) ||
		    cases[i].mode == F_WRONGQ;
		fake_set(&f1, cases[i].mode, cases[i].rcode);
		fake_set(&f2, F_ANSWER, 0);
		r = mk(cases[i].closed ? closed_addr : fake_name(&f1, n1,
		    sizeof(n1)), fake_name(&f2, n2, sizeof(n2)),
		    waits ? 0.5 : 600);
		memset(res, 0, sizeof(res[0]));
		len = query(q, 0x4242, "x.example", 1, i % 2);
		t0 = ev_time();
		CHECK(recurse_send(r, q, len, send_cb, &res[0]) == 0);
		run_until(&res[0].calls, 30);
		if (res[0].calls != 1 || res[0].status != 0 ||
		    (f2.nudp == 1) != cases[i].next)
			fprintf(stderr, "case %s: calls %d status %d, second "
			    "asked %d times\n", cases[i].what, res[0].calls,
			    res[0].status, f2.nudp);
		CHECK(res[0].calls == 1);
		CHECK(res[0].status == 0);
		CHECK(res[0].ans[0] == 0x42 && res[0].ans[1] == 0x42);
		CHECK((res[0].ans[3] & 0x0f) == cases[i].want_rcode);
		CHECK(f1.nudp == !cases[i].closed);
		CHECK(f2.nudp == cases[i].next);
		if (waits)
			CHECK(ev_time() - t0 >= 0.48);
		run_for(0.05);
		CHECK(res[0].calls == 1);
		recurse_free(r);
		CHECK(res[0].calls == 1);
	}
}

static void
test_all_fail(void)
{
	static const struct {
		enum fake_mode	 m1, m2;
		int		 rcode, two;
		double		 least;		/* seconds it takes */
	} cases[] = {
		{ F_RCODE, F_RCODE, 5, 1, 0 },
		{ F_RCODE, F_RCODE, 2, 1, 0 },
		{ F_SILENT, F_SILENT, 0, 1, 0.58 },
		{ F_SILENT, F_RCODE, 5, 1, 0.28 },
		{ F_SILENT, F_SILENT, 0, 0, 0.28 },
		{ F_RCODE, F_SILENT, 1, 0, 0 },
	};
	char n1[40], n2[40];
	unsigned char q[512];
	struct recurse *r;
	size_t i, len;
	double t0, took;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_set(&f1, cases[i].m1, cases[i].rcode);
		fake_set(&f2, cases[i].m2, cases[i].rcode);
		r = mk(fake_name(&f1, n1, sizeof(n1)), cases[i].two ?
		    fake_name(&f2, n2, sizeof(n2)) : NULL, 0.3);
		memset(res, 0, sizeof(res[0]));
		len = query(q, 7, "x.example", 28, 1);
		t0 = ev_time();
		CHECK(recurse_send(r, q, len, send_cb, &res[0]) == 0);
		run_until(&res[0].calls, 3);
		took = ev_time() - t0;
		CHECK(res[0].calls == 1);
		CHECK(res[0].status == -1);
		CHECK(res[0].alen == 0);
		CHECK(took >= cases[i].least);	/* waited each timeout */
		CHECK(f1.nudp == 1);
		CHECK(f2.nudp == cases[i].two);
		run_for(0.4);			/* past every timeout */
		CHECK(res[0].calls == 1);
		recurse_free(r);
		CHECK(res[0].calls == 1);
	}
}

static void
test_tcp(void)
{
	static const struct {
		enum fake_mode	 mode;
		size_t		 records;
	} cases[] = {
		{ F_TC, 2 },
		{ F_BIG, 40 },
	};
	char n1[40];
	unsigned char q[512];
	struct recurse *r;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_set(&f1, cases[i].mode, 0);
		r = mk(fake_name(&f1, n1, sizeof(n1)), NULL, 1.0);
		memset(res, 0, sizeof(res[0]));
		len = query(q, 0xabcd, "big.example", 1, 0);
		CHECK(recurse_send(r, q, len, send_cb, &res[0]) == 0);
		run_until(&res[0].calls, 3);
		CHECK(res[0].calls == 1);
		CHECK(res[0].status == 0);
		CHECK(f1.nudp == 1);
		CHECK(f1.ntcp == 1);
		CHECK(res[0].ans[0] == 0xab && res[0].ans[1] == 0xcd);
		CHECK(!(res[0].ans[2] & 0x02));		/* no TC */
		CHECK(res[0].ans[7] == cases[i].records);
		CHECK(res[0].alen == len + 16 * cases[i].records);
		recurse_free(r);
	}
}

static void
test_addrs(void)
{
	static const unsigned char a1[4] = { 192, 0, 2, 1 };
	static const unsigned char a6[16] = { 0x20, 0x01, 0x0d, 0xb8,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const struct {
		enum fake_mode	 m1, m2;
		int		 rcode;
		int		 status;
		size_t		 n;
		uint32_t	 ttl;
	} cases[] = {
		{ F_ANSWER, F_SILENT, 0, 0, 2, 300 },
		{ F_CNAME, F_SILENT, 0, 0, 2, 60 },
		{ F_RCODE, F_ANSWER, 5, 0, 2, 300 },
		{ F_SILENT, F_ANSWER, 0, 0, 2, 300 },
		{ F_RCODE, F_SILENT, 3, 0, 0, 0 },	/* NXDOMAIN */
		{ F_RCODE, F_SILENT, 0, 0, 0, 0 },	/* no data */
		{ F_RCODE, F_RCODE, 2, -1, 0, 0 },
		{ F_SILENT, F_SILENT, 0, -1, 0, 0 },
	};
	char n1[40], n2[40];
	struct recurse *r;
	size_t i, k;
	int a4 = 0, a16 = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_set(&f1, cases[i].m1, cases[i].rcode);
		fake_set(&f2, cases[i].m2, cases[i].rcode);
		r = mk(fake_name(&f1, n1, sizeof(n1)), fake_name(&f2, n2,
		    sizeof(n2)), 0.3);
		memset(res, 0, sizeof(res[0]));
		CHECK(recurse_addrs(r, "db.example.", addrs_cb, &res[0]) == 0);
		CHECK(res[0].calls == 0);
		run_until(&res[0].calls, 3);
		if (res[0].status != cases[i].status || res[0].n !=
		    cases[i].n || res[0].ttl != cases[i].ttl)
			fprintf(stderr, "addrs case %zu: status %d, %zu "
			    "addresses, ttl %u\n", i, res[0].status, res[0].n,
			    res[0].ttl);
		CHECK(res[0].calls == 1);
		CHECK(res[0].status == cases[i].status);
		CHECK(res[0].n == cases[i].n);
		CHECK(res[0].ttl == cases[i].ttl);
		for (k = 0, a4 = a16 = 0; k < res[0].n; k++) {
			if (res[0].addrs[k].family == AF_INET)
				a4 += memcmp(res[0].addrs[k].addr, a1, 4) == 0;
			else if (res[0].addrs[k].family == AF_INET6)
				a16 += memcmp(res[0].addrs[k].addr, a6,
				    16) == 0;
		}
		CHECK(a4 == (cases[i].n > 0) && a16 == (cases[i].n > 0));
		/* An A and an AAAA question, to each recursor asked. */
		CHECK(f1.nudp == 2);
		run_for(0.35);
		CHECK(res[0].calls == 1);
		recurse_free(r);
		CHECK(res[0].calls == 1);
	}
	/* Names c-ares cannot put in a question. */
	r = mk(fake_name(&f1, n1, sizeof(n1)), NULL, 0.3);
	memset(res, 0, sizeof(res[0]));
	CHECK(recurse_addrs(r, "", addrs_cb, &res[0]) == -1);
	CHECK(recurse_addrs(r, "a..b", addrs_cb, &res[0]) == -1);
	run_for(0.05);
	CHECK(res[0].calls == 0);
	recurse_free(r);
}

/*
 * A closed port first: both questions move on when it refuses, though
 * the port refuses only one of them. The timeout is 600 s: had either
 * question waited for it, no callback would come within the 30 s run.
 */
static void
test_addrs_closed_first(void)
{
	char n2[40];
	struct recurse *r;
	int i;

	for (i = 0; i < 3; i++) {
		fake_set(&f2, F_ANSWER, 0);
		r = mk(closed_addr, fake_name(&f2, n2, sizeof(n2)), 600);
		memset(res, 0, sizeof(res[0]));
		CHECK(recurse_addrs(r, "db.example.", addrs_cb, &res[0]) == 0);
		run_until(&res[0].calls, 30);
		CHECK(res[0].calls == 1 && res[0].status == 0 &&
		    res[0].n == 2 && res[0].ttl == 300);
		CHECK(f2.nudp == 2);
		recurse_free(r);
		CHECK(res[0].calls == 1);
	}
}

static void
test_bad_servers(void)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536",
		"1.2.3.4:5x", "1.2.3.4:+53", "1.2.3.4: 53", "1.2.3.4:053535",
		"[::1", "[::1]x", "[::1]:", "[1.2.3.4]:53", "[]:53",
		"localhost", "dns.example:53", "1.2.3.4:53:53", "::1%lo",
		"256.1.1.1", " 1.2.3.4", "1.2.3.4 ", ":53",
	};
	static const char *const good[] = {
		"1.2.3.4", "1.2.3.4:5353", "[::1]:53", "[::1]", "::1",
		"2001:db8::1", "[2001:db8::1]:65535", "10.0.0.1:1",
	};
	char err[256], s[64];
	const char *list[2];
	struct recurse *r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		list[0] = "127.0.0.1";
		list[1] = bad[i];
		err[0] = '\0';
		r = recurse_new(loop, list, 2, 2.0, err, sizeof(err));
		CHECK(r == NULL);
		recurse_free(r);
		snprintf(s, sizeof(s), "\"%s\"", bad[i]);
		if (strstr(err, s) == NULL)
			fprintf(stderr, "bad %s: %s\n", s, err);
		CHECK(strstr(err, s) != NULL);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		list[0] = good[i];
		r = recurse_new(loop, list, 1, 2.0, err, sizeof(err));
		if (r == NULL)
			fprintf(stderr, "good \"%s\": %s\n", good[i], err);
		CHECK(r != NULL);
		recurse_free(r);
		/* One byte more spoils every one of them. */
		snprintf(s, sizeof(s), "%sx", good[i]);
		list[0] = s;
		r = recurse_new(loop, list, 1, 2.0, err, sizeof(err));
		CHECK(r == NULL);
		CHECK(strstr(err, s) != NULL);
	}
	list[0] = "127.0.0.1";
	CHECK(recurse_new(loop, list, 0, 2.0, err, sizeof(err)) == NULL);
	CHECK_STR(err, "no recursors");
	CHECK(recurse_new(loop, list, 1, 0, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "recursor_timeout") != NULL);
	CHECK(recurse_new(loop, list, 1, -1, err, sizeof(err)) == NULL);
	CHECK(recurse_new(loop, list, 1, 1e9, err, sizeof(err)) == NULL);
	CHECK(recurse_new(loop, list, RECURSE_MAX + 1, 2.0, err,
	    sizeof(err)) == NULL);
}

static void
test_bad_query(void)
{
	unsigned char q[12] = { 0 };
	static unsigned char big[65536];
	struct recurse *r;
	char n1[40];

	fake_set(&f1, F_ANSWER, 0);
	r = mk(fake_name(&f1, n1, sizeof(n1)), NULL, 0.3);
	memset(res, 0, sizeof(res[0]));
	CHECK(recurse_send(r, q, 11, send_cb, &res[0]) == -1);
	CHECK(recurse_send(r, big, sizeof(big), send_cb, &res[0]) == -1);
	run_for(0.05);
	CHECK(res[0].calls == 0);
	CHECK(f1.nudp == 0);
	recurse_free(r);
}

static void
test_free_in_flight(void)
{
	unsigned char q[512];
	struct recurse *r;
	char n1[40], n2[40];
	size_t len;
	int i;

	fake_set(&f1, F_SILENT, 0);
	fake_set(&f2, F_SILENT, 0);
	r = mk(fake_name(&f1, n1, sizeof(n1)), fake_name(&f2, n2,
	    sizeof(n2)), 5.0);
	memset(res, 0, sizeof(res));
	for (i = 0; i < 3; i++) {
		len = query(q, (uint16_t)i, "slow.example", 1, 0);
		CHECK(recurse_send(r, q, len, send_cb, &res[i]) == 0);
	}
	res[1].r = r;		/* sends again from its callback */
	res[1].again = 99;
	CHECK(recurse_addrs(r, "slow.example", addrs_cb, &res[3]) == 0);
	run_for(0.1);
	CHECK(f1.nudp == 5);
	for (i = 0; i < 4; i++)
		CHECK(res[i].calls == 0);
	recurse_free(r);
	for (i = 0; i < 4; i++) {
		CHECK(res[i].calls == 1);
		CHECK(res[i].status == -1);
	}
	CHECK(res[1].again == -1);
	CHECK(res[3].n == 0);
	run_for(0.05);
	for (i = 0; i < 4; i++)
		CHECK(res[i].calls == 1);
	CHECK(f2.nudp == 0);		/* nothing moved on while freeing */
}

/*
 * test_no_sockets - with no descriptor left c-ares fails at once, inside
 * ares_send: the callback still comes later, once, and recurse_free gets
 * those still waiting.
 */
static void
test_no_sockets(void)
{
	struct rlimit old, rl;
	unsigned char q[512];
	struct recurse *r;
	char n1[40], n2[40];
	size_t len;
	int fd;

	fake_set(&f1, F_ANSWER, 0);
	fake_set(&f2, F_ANSWER, 0);
	r = mk(fake_name(&f1, n1, sizeof(n1)), fake_name(&f2, n2,
	    sizeof(n2)), 1.0);
	memset(res, 0, sizeof(res));
	len = query(q, 0x5151, "x.example", 1, 0);
	CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
	fd = dup(0);			/* the lowest free descriptor */
	close(fd);
	rl = old;
	rl.rlim_cur = (rlim_t)fd;
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(recurse_send(r, q, len, send_cb, &res[0]) == 0);
	CHECK(recurse_send(r, q, len, send_cb, &res[1]) == 0);
	CHECK(recurse_addrs(r, "x.example", addrs_cb, &res[2]) == 0);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CHECK(res[0].calls == 0 && res[1].calls == 0 && res[2].calls == 0);
	run_until(&res[0].calls, 1);
	CHECK(res[0].calls == 1);
	CHECK(res[0].status == -1);
	CHECK(res[1].calls == 1 && res[2].calls == 1);
	CHECK(f1.nudp == 0 && f2.nudp == 0);
	/* The same, freed before the loop runs. */
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	CHECK(recurse_send(r, q, len, send_cb, &res[3]) == 0);
	CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
	CHECK(res[3].calls == 0);
	recurse_free(r);
	CHECK(res[3].calls == 1);
	CHECK(res[3].status == -1);
	run_for(0.05);
	CHECK(res[0].calls == 1 && res[3].calls == 1);
}

int
main(void)
{
	char a1[16], a2[16];
	unsigned seed;
	int base, u, t, port;

	loop = ev_default_loop(0);
	seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 8;
	base = 50 + (int)(seed % 199);		/* 50..248, and base + 1 */
	snprintf(a1, sizeof(a1), "127.0.0.%d", base);
	snprintf(a2, sizeof(a2), "127.0.0.%d", base + 1);
	fake_start(&f1, a1);
	fake_start(&f2, a2);
	/* A port nobody serves: bound, then closed. */
	if ((port = bind_pair(a2, &u, &t)) < 0)
		return 1;
	close(u);
	close(t);
	snprintf(closed_addr, sizeof(closed_addr), "%s:%d", a2, port);

	RUN(test_bad_servers);
	RUN(test_bad_query);
	RUN(test_answer_keeps_id);
	RUN(test_many_ids);
	RUN(test_fall_through);
	RUN(test_all_fail);
	RUN(test_tcp);
	RUN(test_addrs);
	RUN(test_addrs_closed_first);
	RUN(test_free_in_flight);
	RUN(test_no_sockets);
	fake_stop(&f1);
	fake_stop(&f2);
	return TEST_DONE();
}
