/*
 * fuzz_keyring.c - libFuzzer target: keyring_open() on arbitrary bytes
 * with a fixed three-key ring (AES-128, -192, -256) must not crash or
 * touch memory outside its buffers (each is allocated to the exact size
 * so ASan sees one byte too far), and sealing the input then opening it
 * must give the input back, under every key as primary.
 *
 * Forging a tag is out of the fuzzer's reach; what it explores is the
 * length and version checks, and the round trip at every length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keyring.h"

static struct keyring fuzz_rings[3];	/* same keys, rotated primaries */

/* fuzz_setup - the rings, once */
static void
fuzz_setup(void)
{
	static const char *const keys[] = {
		"AAECAwQFBgcICQoLDA0ODw==",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	};
	char err[200];
	size_t r, k;

	for (r = 0; r < 3; r++)
		for (k = 0; k < 3; k++)
			if (keyring_add_b64(&fuzz_rings[r], keys[(r + k) % 3],
			    err, sizeof(err)) < 0)
				abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	unsigned char *out, *sealed;
	size_t n, outlen, aadlen, r;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	/* Open: whatever the bytes, -1 or a plaintext of the right size. */
	n = size >= KEYRING_OVERHEAD ? size - KEYRING_OVERHEAD : 0;
	if ((out = malloc(n)) == NULL && n > 0)
		abort();
	aadlen = size < 4 ? size : 4;
	if (keyring_open(&fuzz_rings[0], data, size, data, aadlen, out, n,
	    &outlen) == 0 && outlen != n)
		abort();
	free(out);

	/* Seal then open gives the input back, with the aad or not. */
	if ((sealed = malloc(size + KEYRING_OVERHEAD)) == NULL ||
	    ((out = malloc(size)) == NULL && size > 0))
		abort();
	for (r = 0; r < 3; r++) {
		n = keyring_seal(&fuzz_rings[r], data, size, data, aadlen,
		    sealed, size + KEYRING_OVERHEAD);
		if (n != size + KEYRING_OVERHEAD)
			abort();
		if (keyring_open(&fuzz_rings[(r + 1) % 3], sealed, n, data,
		    aadlen, out, size, &outlen) != 0 || outlen != size ||
		    (size > 0 && memcmp(out, data, size) != 0))
			abort();
		if (aadlen > 0 && keyring_open(&fuzz_rings[r], sealed, n,
		    NULL, 0, out, size, &outlen) == 0)
			abort();
	}
	free(sealed);
	free(out);
	return 0;
}
