/*
 * keyring - the gossip keys (Consul's `encrypt`) and authenticated
 * encryption of gossip packets and push/pull frames with AES-GCM.
 *
 * A sealed message is, as hashicorp/memberlist's encryption version 1:
 *
 *	version (1) | nonce (12, random) | ciphertext | GCM tag (16)
 *
 * keys[0] (the primary) seals; opening tries every key in order, so a
 * cluster can rotate keys by installing the new key everywhere, making it
 * primary, then removing the old one. The additional data (aad) binds a
 * message to its context (memberlist uses its label); it is not sent.
 *
 * Each key keeps one EVP_CIPHER_CTX with its key schedule, reused by
 * every call: no allocation per packet. Hence a keyring must not be used
 * by two threads at once (every cairn daemon is one libev thread).
 *
 * A zeroed struct keyring is empty and valid; keyring_clear() makes it so
 * again and must be called to free the contexts.
 *
 * Leaves out: the keyring file and Consul's `keyring` command and
 * operations (install/use/remove across the cluster); memberlist's
 * version 0 (CBC-style padding) messages.
 */
#ifndef CAIRN_KEYRING_H
#define CAIRN_KEYRING_H

#include <stddef.h>

#define KEYRING_MAX		8
#define KEYRING_KEY_MAX		32
#define KEYRING_VERSION		1
#define KEYRING_NONCE_LEN	12
#define KEYRING_TAG_LEN		16
/* What sealing adds to a message: version byte, nonce and tag. */
#define KEYRING_OVERHEAD	(1 + KEYRING_NONCE_LEN + KEYRING_TAG_LEN)

struct evp_cipher_ctx_st;	/* OpenSSL's EVP_CIPHER_CTX */

struct keyring {
	unsigned char		  keys[KEYRING_MAX][KEYRING_KEY_MAX];
	size_t			  keylen[KEYRING_MAX];	/* 16, 24 or 32 */
	size_t			  n;		/* keys[0] is the primary */
	struct evp_cipher_ctx_st *ctx[KEYRING_MAX];	/* one per key */
};

/* keyring_init - an empty keyring (the same as zeroing it) */
void	keyring_init(struct keyring *);
/*
 * keyring_add - append a raw key of 16, 24 or 32 bytes; adding a key
 * already present does nothing. -1 with err when the length is wrong or
 * the keyring is full.
 */
int	keyring_add(struct keyring *, const void *key, size_t len,
	    char *err, size_t errlen);
/*
 * keyring_add_b64 - keyring_add() of a base64 key, as Consul's `encrypt`
 * value; CR and LF are skipped, as Go's StdEncoding skips them.
 */
int	keyring_add_b64(struct keyring *, const char *b64, char *err,
	    size_t errlen);
/* keyring_enabled - nonzero when the keyring has a key */
int	keyring_enabled(const struct keyring *);
/* keyring_clear - wipe the keys, free the contexts; leaves it empty */
void	keyring_clear(struct keyring *);

/*
 * keyring_seal - encrypt pt[0..len) with the primary key into out, which
 * must not overlap pt; returns len + KEYRING_OVERHEAD, or 0 when the
 * keyring is empty, outcap is too small, or OpenSSL fails.
 */
size_t	keyring_seal(const struct keyring *, const void *pt, size_t len,
	    const void *aad, size_t aadlen, unsigned char *out,
	    size_t outcap);
/*
 * keyring_seal_nonce - keyring_seal() with the caller's nonce
 * (KEYRING_NONCE_LEN bytes). For known-answer tests only: a nonce used
 * twice under one key gives away the XOR of the two plaintexts and lets
 * anyone forge tags.
 */
size_t	keyring_seal_nonce(const struct keyring *, const unsigned char *nonce,
	    const void *pt, size_t len, const void *aad, size_t aadlen,
	    unsigned char *out, size_t outcap);
/*
 * keyring_open - authenticate and decrypt in[0..len) into out (not
 * overlapping in), trying each key in order. 0 with *outlen set, or -1
 * when the version is unknown, the input is too short, out is too small,
 * or no key authenticates it; on -1 out holds no plaintext.
 */
int	keyring_open(const struct keyring *, const void *in, size_t len,
	    const void *aad, size_t aadlen, unsigned char *out, size_t outcap,
	    size_t *outlen);

#endif
