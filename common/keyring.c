/*
 * keyring.c - gossip keys and AES-GCM sealing through OpenSSL's EVP
 * interface. See keyring.h for the message layout.
 *
 * The nonce is 96 random bits per message, as memberlist does. NIST SP
 * 800-38D section 8.3 allows 2^32 messages per key with random nonces;
 * a gossip agent sending 100 packets a second takes more than a year to
 * get there, and keys are meant to be rotated long before.
 *
 * Each key's EVP_CIPHER_CTX is set up once with the cipher and key; a
 * call only sets the nonce and the direction (EVP_CipherInit_ex with NULL
 * cipher and key keeps both), so the per-packet cost is the AES work.
 *
 * Leaves out: anything about where keys come from (config, keyring
 * file) and counting dropped packets; the caller does both.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base64.h"
#include "buf.h"
#include "keyring.h"
#include "log.h"

/* EVP takes int lengths: feed longer inputs in pieces of this size. */
#define KEYRING_CHUNK	(1 << 30)

/* keyring_cipher - the AES-GCM variant for a key length, or NULL */
static const EVP_CIPHER *
keyring_cipher(size_t len)
{
	switch (len) {
	case 16:
		return EVP_aes_128_gcm();
	case 24:
		return EVP_aes_192_gcm();
	case 32:
		return EVP_aes_256_gcm();
	}
	return NULL;
}

/* keyring_init - an empty keyring */
void
keyring_init(struct keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
}

/* keyring_add - append a raw key; a duplicate is a no-op */
int
keyring_add(struct keyring *kr, const void *key, size_t len, char *err,
    size_t errlen)
{
	const EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	unsigned long e;
	size_t i;

	if ((cipher = keyring_cipher(len)) == NULL) {
		snprintf(err, errlen, "encrypt: key must be 16, 24 or 32 "
		    "bytes; got %zu bytes", len);
		return -1;
	}
	for (i = 0; i < kr->n; i++)
		if (kr->keylen[i] == len && memcmp(kr->keys[i], key, len) == 0)
			return 0;
	if (kr->n == KEYRING_MAX) {
		snprintf(err, errlen, "encrypt: too many keys (at most %d)",
		    KEYRING_MAX);
		return -1;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		log_fatal("out of memory");
	/* Decrypt direction for now; each call sets its own. */
	if (EVP_CipherInit_ex(ctx, cipher, NULL, key, NULL, 0) != 1) {
		e = ERR_get_error();
		snprintf(err, errlen, "encrypt: cannot set up AES-GCM: %s",
		    e != 0 ? ERR_reason_error_string(e) : "unknown error");
		ERR_clear_error();
		EVP_CIPHER_CTX_free(ctx);
		return -1;
	}
	memcpy(kr->keys[kr->n], key, len);
	kr->keylen[kr->n] = len;
	kr->ctx[kr->n] = ctx;
	kr->n++;
	return 0;
}

/* keyring_wipe_buf - zero all of b's storage, then free it */
static void
keyring_wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

/* keyring_add_b64 - decode a base64 key and append it */
int
keyring_add_b64(struct keyring *kr, const char *b64, char *err,
    size_t errlen)
{
	struct buf s, k;
	size_t i, n = strlen(b64);
	int rc = -1;

	buf_init(&s);
	buf_init(&k);
	/*
	 * Reserve before copying so no realloc leaves a piece of the key in
	 * freed memory; base64_decode reserves its whole output first too.
	 */
	buf_reserve(&s, n + 1);
	for (i = 0; i < n; i++)
		if (b64[i] != '\r' && b64[i] != '\n')
			s.data[s.len++] = (unsigned char)b64[i];
	if (base64_decode(&k, (const char *)s.data, s.len) < 0)
		snprintf(err, errlen, "encrypt: not valid base64");
	else if (keyring_cipher(k.len) == NULL)
		snprintf(err, errlen, "encrypt: key must be 16, 24 or 32 bytes "
		    "(base64 of them); got %zu bytes", k.len);
	else
		rc = keyring_add(kr, k.data, k.len, err, errlen);
	keyring_wipe_buf(&s);
	keyring_wipe_buf(&k);
	return rc;
}

/* keyring_enabled - nonzero when there is a key */
int
keyring_enabled(const struct keyring *kr)
{
	return kr->n > 0;
}

/* keyring_clear - wipe keys and free contexts (which wipe schedules) */
void
keyring_clear(struct keyring *kr)
{
	size_t i;

	for (i = 0; i < KEYRING_MAX; i++)
		EVP_CIPHER_CTX_free(kr->ctx[i]);
	OPENSSL_cleanse(kr->keys, sizeof(kr->keys));
	memset(kr, 0, sizeof(*kr));
}

/*
 * keyring_update - feed in[0..len) through ctx: as additional data when
 * out is NULL, else en/decrypting into out. -1 if OpenSSL refuses.
 */
static int
keyring_update(EVP_CIPHER_CTX *ctx, unsigned char *out,
    const unsigned char *in, size_t len)
{
	int chunk, n;

	while (len > 0) {
		chunk = len > KEYRING_CHUNK ? KEYRING_CHUNK : (int)len;
		if (EVP_CipherUpdate(ctx, out, &n, in, chunk) != 1 ||
		    (out != NULL && n != chunk))
			return -1;
		in += chunk;
		if (out != NULL)
			out += chunk;
		len -= (size_t)chunk;
	}
	return 0;
}

/* keyring_seal_nonce - seal with the primary key and the given nonce */
size_t
keyring_seal_nonce(const struct keyring *kr, const unsigned char *nonce,
    const void *pt, size_t len, const void *aad, size_t aadlen,
    unsigned char *out, size_t outcap)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char fin[EVP_MAX_BLOCK_LENGTH];
	unsigned char *ct;
	int n;

	if (kr->n == 0 || len > outcap || outcap - len < KEYRING_OVERHEAD)
		return 0;
	ctx = kr->ctx[0];
	ct = out + 1 + KEYRING_NONCE_LEN;
	/* GCM's Final writes no bytes; fin keeps out + len off NULL + 0. */
	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) != 1 ||
	    keyring_update(ctx, NULL, aad, aadlen) < 0 ||
	    keyring_update(ctx, ct, pt, len) < 0 ||
	    EVP_CipherFinal_ex(ctx, fin, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, KEYRING_TAG_LEN,
	    ct + len) != 1) {
		ERR_clear_error();
		OPENSSL_cleanse(out, len + KEYRING_OVERHEAD);
		return 0;
	}
	out[0] = KEYRING_VERSION;
	memcpy(out + 1, nonce, KEYRING_NONCE_LEN);
	return len + KEYRING_OVERHEAD;
}

/* keyring_seal - seal with the primary key and a fresh random nonce */
size_t
keyring_seal(const struct keyring *kr, const void *pt, size_t len,
    const void *aad, size_t aadlen, unsigned char *out, size_t outcap)
{
	unsigned char nonce[KEYRING_NONCE_LEN];

	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		ERR_clear_error();
		return 0;
	}
	return keyring_seal_nonce(kr, nonce, pt, len, aad, aadlen, out,
	    outcap);
}

/* keyring_open - authenticate and decrypt with whichever key fits */
int
keyring_open(const struct keyring *kr, const void *in, size_t len,
    const void *aad, size_t aadlen, unsigned char *out, size_t outcap,
    size_t *outlen)
{
	const unsigned char *p = in;
	unsigned char tag[KEYRING_TAG_LEN], fin[EVP_MAX_BLOCK_LENGTH];
	EVP_CIPHER_CTX *ctx;
	size_t ctlen, i;
	int n;

	*outlen = 0;
	if (kr->n == 0 || len < KEYRING_OVERHEAD || p[0] != KEYRING_VERSION)
		return -1;
	ctlen = len - KEYRING_OVERHEAD;
	if (ctlen > outcap)
		return -1;
	/* SET_TAG takes a non-const pointer; copy rather than cast. */
	memcpy(tag, p + len - KEYRING_TAG_LEN, KEYRING_TAG_LEN);
	for (i = 0; i < kr->n; i++) {
		ctx = kr->ctx[i];
		if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, p + 1, 0) != 1 ||
		    keyring_update(ctx, NULL, aad, aadlen) < 0 ||
		    keyring_update(ctx, out, p + 1 + KEYRING_NONCE_LEN,
		    ctlen) < 0 ||
		    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG,
		    KEYRING_TAG_LEN, tag) != 1 ||
		    EVP_CipherFinal_ex(ctx, fin, &n) != 1)
			continue;
		*outlen = ctlen;
		return 0;
	}
	/* Decrypted but unauthenticated bytes must not reach the caller. */
	if (ctlen > 0)
		OPENSSL_cleanse(out, ctlen);
	ERR_clear_error();
	return -1;
}
