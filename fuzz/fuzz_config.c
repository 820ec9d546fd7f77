/*
 * fuzz_config.c - libFuzzer target for the config reader: the input is
 * parsed by jv_parse() and merged by config_load_text() twice into one
 * config (so merging onto earlier state is fuzzed too), then finished.
 * It must never crash, leak, or succeed without a tree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "jv.h"
#include "log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - one input, every entry point */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct jv *v;
	char err[256];

	/* "ignoring config key" warnings would drown the fuzzer's output. */
	log_level = LOG_ERR;

	v = jv_parse((const char *)data, size, "fuzz.json", err, sizeof(err));
	if (v != NULL) {
		(void)jv_get(v, "node_name");
		(void)jv_str(v, "datacenter");
	}
	jv_free(v);

	config_defaults(&c, size > 0 && data[0] == ' ');
	if (config_load_text(&c, (const char *)data, size, "a.json", err,
	    sizeof(err)) == 0) {
		if (c.nroots != 1)
			abort();
		(void)config_load_text(&c, (const char *)data, size,
		    "b.json", err, sizeof(err));
		(void)config_raw(&c, "dns_config");
		(void)config_finish(&c, err, sizeof(err));
	}
	config_free(&c);
	return 0;
}
