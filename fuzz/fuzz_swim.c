/*
 * fuzz_swim.c - libFuzzer target: a gossip packet from anyone, as
 * swim_recv gets it after decryption, into a node that knows three
 * members. Whatever arrives, the table stays sane and nothing crashes;
 * then the node's timers run once, so state the packet left (relays,
 * suspicions, broadcasts) is exercised too.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "../gossipd/member.h"
#include "../gossipd/swim.h"

static void
no_send(void *ctx, const char *addr, int port, const void *p, size_t len)
{
}

static void
no_probe(void *ctx, const char *addr, int port, uint32_t seq)
{
}

static int
take_event(void *ctx, const void *rec, size_t len)
{
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "self", "web-1", "db-1" };
	struct member_table t;
	struct swim_opts o;
	struct member m;
	struct swim s;
	size_t i;

	log_set_level("error");
	member_table_init(&t);
	for (i = 0; i < 3; i++) {
		memset(&m, 0, sizeof(m));
		m.name = (char *)names[i];
		snprintf(m.addr, sizeof(m.addr), "10.0.0.%zu", i + 1);
		m.port = 8301;
		m.status = MEMBER_ALIVE;
		member_update(&t, &m, 0);
	}
	memset(&o, 0, sizeof(o));
	o.self = "self";
	o.probe_interval = 500;
	o.probe_timeout = 250;
	o.suspicion_mult = 3;
	o.suspicion_max_mult = 6;
	o.retransmit_mult = 4;
	o.gossip_interval = 100;
	o.gossip_nodes = 4;
	o.indirect_checks = 3;
	o.awareness_max = 8;
	o.gossip_to_dead = 30000;
	o.seed = 1;
	o.send = no_send;
	o.tcp_probe = no_probe;
	o.event = take_event;
	swim_init(&s, &o, &t, 1000);
	swim_recv(&s, "10.0.0.2", 8301, data, size, 1000);
	swim_tick(&s, 100000);
	if (member_lookup(&t, "self") == NULL)
		__builtin_trap();	/* we never forget ourselves */
	swim_free(&s);
	member_table_free(&t);
	return 0;
}
