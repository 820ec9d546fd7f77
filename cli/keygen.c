/*
 * keygen.c - `cairn keygen`, Consul's command/keygen: print a new gossip
 * encryption key, the base64 of 32 random bytes (AES-256; Consul made 16
 * before 1.6), ready for the agent's `encrypt` setting. Exit 0, or 1 when
 * no random bytes could be had. Arguments after the flags are ignored, as
 * Consul ignores them.
 *
 * Leaves out: nothing; the command has no options.
 */
#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "base64.h"
#include "cli.h"

/* The declaration belongs in cli.h, which another change fills in. */
int	keygen_main(int argc, char **argv);

#define KEYGEN_LEN	32

static const char keygen_help[] =
"Usage: cairn keygen\n"
"\n"
"  Generates a new encryption key that can be used to configure the\n"
"  agent to encrypt traffic. The output of this command is already\n"
"  in the proper format that the agent expects.\n";

/* keygen_main - the command; argv[0] is "keygen" */
int
keygen_main(int argc, char **argv)
{
	const struct cli_flag *const tabs[] = { NULL };
	unsigned char key[KEYGEN_LEN];
	unsigned long e;
	struct buf out;
	char err[200];
	int r, rc;

	buf_init(&out);
	r = cli_flags_parse(argc - 1, argv + 1, tabs, err, sizeof(err));
	if (r < 0) {
		if (r == -1)
			fprintf(stderr, "%s\n", err);
		cli_usage(&out, keygen_help, tabs, NULL);
		cli_write(r == -2 ? stdout : stderr, &out);
		buf_free(&out);
		return r == -2 ? 0 : 1;
	}
	if (RAND_bytes(key, sizeof(key)) != 1) {
		e = ERR_get_error();
		fprintf(stderr, "Error reading random data: %s\n",
		    e != 0 ? ERR_reason_error_string(e) : "unknown error");
		return 1;
	}
	/* Room for all of it first: a realloc would leave a copy behind. */
	buf_reserve(&out, BASE64_LEN(KEYGEN_LEN) + 1);
	base64_encode(&out, key, sizeof(key));
	buf_putc(&out, '\n');
	rc = cli_write(stdout, &out) < 0 ? 1 : 0;
	/* The key is a secret: leave no copy in freed memory. */
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(out.data, out.cap);
	buf_free(&out);
	return rc;
}
