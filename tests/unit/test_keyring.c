/*
 * test_keyring.c - gossip keys and AES-GCM sealing: known answers, round
 * trips at every key size, and every way a packet can be forged, cut or
 * meant for another cluster, which must all fail to open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base64.h"
#include "buf.h"
#include "keyring.h"
#include "test.h"

/* hex - decode a hex string into out; returns the byte count */
static size_t
hex(const char *s, unsigned char *out)
{
	size_t n = 0;
	unsigned v;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		sscanf(s, "%2x", &v);
		out[n++] = (unsigned char)v;
	}
	return n;
}

/* ring - a keyring holding the given base64 keys (NULL ends the list) */
static void
ring(struct keyring *kr, const char *k1, const char *k2)
{
	char err[200];

	keyring_init(kr);
	CHECK(k1 == NULL || keyring_add_b64(kr, k1, err, sizeof(err)) == 0);
	CHECK(k2 == NULL || keyring_add_b64(kr, k2, err, sizeof(err)) == 0);
}

/* ring_random - a keyring with one random key of len bytes */
static void
ring_random(struct keyring *kr, size_t len)
{
	unsigned char key[KEYRING_KEY_MAX];
	char err[200];

	keyring_init(kr);
	CHECK(RAND_bytes(key, (int)len) == 1);
	CHECK(keyring_add(kr, key, len, err, sizeof(err)) == 0);
}

/*
 * The vectors. Test cases 2, 13, 14 and 16 are from McGrew and Viega,
 * "The Galois/Counter Mode of Operation (GCM)", appendix B, the cases
 * NIST's GCM validation uses. The last two rows were made with python3
 * cryptography 48: AESGCM(bytes(range(24 or 32))).encrypt(bytes(range(
 * 0xa0, 0xac)), b"gossip packet", b"label"); it agrees with the first
 * four too.
 */
static const struct {
	const char	*key;	/* base64, as the `encrypt` setting */
	const char	*nonce, *pt, *aad;	/* hex */
	const char	*ct;	/* hex: ciphertext then tag */
} kat[] = {
	{ "AAAAAAAAAAAAAAAAAAAAAA==", "000000000000000000000000",
	    "00000000000000000000000000000000", "",
	    "0388dace60b6a392f328c2b971b2fe78"
	    "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "000000000000000000000000", "", "",
	    "530f8afbc74536b9a963b4f1c4cb738b" },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    "000000000000000000000000", "00000000000000000000000000000000",
	    "", "cea7403d4d606b6e074ec5d3baf39d18"
	    "d0d1c8a799996bf0265b98b5d48ab919" },
	{ "/v/pkoZlcxxtao+UZzCDCP7/6ZKGZXMcbWqPlGcwgwg=",
	    "cafebabefacedbaddecaf888",
	    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	    "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	    "76fc6ece0f4e1768cddf8853bb2d551b" },
	{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", "a0a1a2a3a4a5a6a7a8a9aaab",
	    "676f7373697020" "7061636b6574", "6c6162656c",
	    "5c0dcd11902338039f56d4a49b"
	    "6174a4dec938eaa8cdc9cec95005d775" },
	{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    "a0a1a2a3a4a5a6a7a8a9aaab", "676f7373697020" "7061636b6574",
	    "6c6162656c", "81770f5e2cbb22cf0306ecb673"
	    "22f15b663ca189c45c2a036cfc141732" },
};

/* test_kat - seal with a fixed nonce gives the published bytes */
static void
test_kat(void)
{
	unsigned char nonce[12], pt[64], aad[32], want[128], out[128];
	unsigned char back[64];
	struct keyring kr;
	size_t i, np, na, nw, n, bl;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		ring(&kr, kat[i].key, NULL);
		CHECK(hex(kat[i].nonce, nonce) == 12);
		np = hex(kat[i].pt, pt);
		na = hex(kat[i].aad, aad);
		nw = hex(kat[i].ct, want);
		CHECK(nw == np + KEYRING_TAG_LEN);
		n = keyring_seal_nonce(&kr, nonce, pt, np, aad, na, out,
		    sizeof(out));
		CHECK(n == np + KEYRING_OVERHEAD);
		CHECK(out[0] == 1);
		CHECK(memcmp(out + 1, nonce, 12) == 0);
		CHECK(memcmp(out + 13, want, nw) == 0);
		CHECK(keyring_open(&kr, out, n, aad, na, back, sizeof(back),
		    &bl) == 0);
		CHECK(bl == np && memcmp(back, pt, np) == 0);
		keyring_clear(&kr);
	}
}

/* test_round_trip - every key size with empty, 1-byte and 64 KiB texts */
static void
test_round_trip(void)
{
	static const size_t keylens[] = { 16, 24, 32 };
	static const size_t lens[] = { 0, 1, 2, 15, 16, 17, 1400, 65536 };
	unsigned char *pt, *sealed, *back;
	struct keyring kr;
	size_t k, i, n, bl, big = 65536;

	pt = malloc(big);
	sealed = malloc(big + KEYRING_OVERHEAD);
	back = malloc(big);
	CHECK(pt != NULL && sealed != NULL && back != NULL);
	CHECK(RAND_bytes(pt, (int)big) == 1);
	for (k = 0; k < 3; k++) {
		ring_random(&kr, keylens[k]);
		CHECK(keyring_enabled(&kr));
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			n = keyring_seal(&kr, pt, lens[i], "aad", 3, sealed,
			    lens[i] + KEYRING_OVERHEAD);
			CHECK(n == lens[i] + KEYRING_OVERHEAD);
			CHECK(sealed[0] == KEYRING_VERSION);
			/* Not the plaintext in clear (for lens of note). */
			CHECK(lens[i] < 16 ||
			    memcmp(sealed + 13, pt, lens[i]) != 0);
			bl = 99;
			CHECK(keyring_open(&kr, sealed, n, "aad", 3, back,
			    lens[i], &bl) == 0);
			CHECK(bl == lens[i]);
			CHECK(lens[i] == 0 || memcmp(back, pt, lens[i]) == 0);
			/* NULL aad is the same as empty aad. */
			n = keyring_seal(&kr, pt, lens[i], NULL, 0, sealed,
			    big + KEYRING_OVERHEAD);
			CHECK(keyring_open(&kr, sealed, n, "", 0, back, big,
			    &bl) == 0 && bl == lens[i]);
		}
		keyring_clear(&kr);
		CHECK(!keyring_enabled(&kr));
	}
	free(pt);
	free(sealed);
	free(back);
}

/* test_nonce_fresh - sealing the same text twice differs */
static void
test_nonce_fresh(void)
{
	unsigned char a[64], b[64];
	struct keyring kr;

	ring_random(&kr, 32);
	CHECK(keyring_seal(&kr, "same", 4, NULL, 0, a, sizeof(a)) == 33);
	CHECK(keyring_seal(&kr, "same", 4, NULL, 0, b, sizeof(b)) == 33);
	CHECK(memcmp(a + 1, b + 1, 12) != 0);
	CHECK(memcmp(a + 13, b + 13, 20) != 0);
	keyring_clear(&kr);
}

/* test_bit_flips - every single-bit change of a packet is refused */
static void
test_bit_flips(void)
{
	unsigned char p[64], back[64];
	struct keyring kr;
	size_t n, bit, bl;
	int fails = 0;

	ring_random(&kr, 32);
	n = keyring_seal(&kr, "ping 42", 7, "lbl", 3, p, sizeof(p));
	CHECK(n == 7 + KEYRING_OVERHEAD);
	for (bit = 0; bit < n * 8; bit++) {
		p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		memset(back, 0xee, sizeof(back));
		bl = 99;
		if (keyring_open(&kr, p, n, "lbl", 3, back, sizeof(back),
		    &bl) == 0)
			fails++;
		/* A refused packet leaves no plaintext behind. */
		if (bl != 0 || memcmp(back, "ping 42", 7) == 0)
			fails++;
		p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	CHECK(fails == 0);
	/* The contexts still work after all those failures. */
	CHECK(keyring_open(&kr, p, n, "lbl", 3, back, sizeof(back), &bl) == 0);
	CHECK(bl == 7 && memcmp(back, "ping 42", 7) == 0);
	keyring_clear(&kr);
}

/* test_truncate - every prefix, and one byte more, is refused */
static void
test_truncate(void)
{
	unsigned char p[128], *cut, back[128];
	struct keyring kr;
	size_t n, i, bl;
	int fails = 0;

	ring_random(&kr, 16);
	n = keyring_seal(&kr, "alive node-1 10.0.0.1:8301", 26, NULL, 0, p,
	    sizeof(p));
	CHECK(n == 26 + KEYRING_OVERHEAD);
	/* A heap copy of each length, so ASan catches a read past it. */
	for (i = 0; i < n; i++) {
		cut = malloc(i + 1);
		CHECK(cut != NULL);
		memcpy(cut, p, i);
		if (keyring_open(&kr, i == 0 ? NULL : cut, i, NULL, 0, back,
		    sizeof(back), &bl) == 0)
			fails++;
		free(cut);
	}
	CHECK(fails == 0);
	p[n] = 0;
	CHECK(keyring_open(&kr, p, n + 1, NULL, 0, back, sizeof(back),
	    &bl) == -1);
	keyring_clear(&kr);
}

/* test_refusals - wrong key, aad, version, sizes; an empty keyring */
static void
test_refusals(void)
{
	unsigned char p[64], q[64], back[64];
	struct keyring kr, other, empty;
	size_t n, bl;

	ring_random(&kr, 32);
	ring_random(&other, 32);
	keyring_init(&empty);
	n = keyring_seal(&kr, "secret", 6, "dc1", 3, p, sizeof(p));
	CHECK(n == 6 + KEYRING_OVERHEAD);
	CHECK(keyring_open(&kr, p, n, "dc1", 3, back, sizeof(back), &bl) == 0);
	CHECK(keyring_open(&other, p, n, "dc1", 3, back, sizeof(back),
	    &bl) == -1);
	CHECK(keyring_open(&kr, p, n, "dc2", 3, back, sizeof(back), &bl) == -1);
	CHECK(keyring_open(&kr, p, n, NULL, 0, back, sizeof(back), &bl) == -1);
	CHECK(keyring_open(&empty, p, n, "dc1", 3, back, sizeof(back),
	    &bl) == -1);

	/* Version 0 (memberlist's padded form), 2 and 255 are unknown. */
	memcpy(q, p, n);
	q[0] = 2;
	CHECK(keyring_open(&kr, q, n, "dc1", 3, back, sizeof(back), &bl) == -1);
	q[0] = 0;
	CHECK(keyring_open(&kr, q, n, "dc1", 3, back, sizeof(back), &bl) == -1);
	q[0] = 255;
	CHECK(keyring_open(&kr, q, n, "dc1", 3, back, sizeof(back), &bl) == -1);

	/* Open: out exactly the plaintext's size works; one less does not,
	 * and the byte past outcap is never written. */
	memset(back, 0x5a, sizeof(back));
	CHECK(keyring_open(&kr, p, n, "dc1", 3, back, 5, &bl) == -1);
	CHECK(back[0] == 0x5a && back[5] == 0x5a);
	CHECK(keyring_open(&kr, p, n, "dc1", 3, back, 6, &bl) == 0);
	CHECK(bl == 6 && memcmp(back, "secret", 6) == 0 && back[6] == 0x5a);

	/* Seal: outcap must hold the overhead too. */
	memset(q, 0x5a, sizeof(q));
	CHECK(keyring_seal(&kr, "secret", 6, NULL, 0, q, 6 +
	    KEYRING_OVERHEAD - 1) == 0);
	CHECK(q[0] == 0x5a);
	CHECK(keyring_seal(&kr, "secret", 6, NULL, 0, q, 6 +
	    KEYRING_OVERHEAD) == 6 + KEYRING_OVERHEAD);
	CHECK(q[6 + KEYRING_OVERHEAD] == 0x5a);
	CHECK(keyring_seal(&kr, "x", SIZE_MAX, NULL, 0, q, sizeof(q)) == 0);
	CHECK(keyring_seal(&empty, "secret", 6, NULL, 0, q, sizeof(q)) == 0);
	CHECK(!keyring_enabled(&empty));

	keyring_clear(&kr);
	keyring_clear(&other);
	keyring_clear(&empty);
}

/* test_rotation - the primary seals, every key opens */
static void
test_rotation(void)
{
	static const char a[] =
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
	static const char b[] =
	    "/v/pkoZlcxxtao+UZzCDCP7/6ZKGZXMcbWqPlGcwgwg=";
	unsigned char p[64], back[64];
	struct keyring ab, ba, onlya, onlyb;
	size_t n, bl;

	ring(&ab, a, b);
	ring(&ba, b, a);
	ring(&onlya, a, NULL);
	ring(&onlyb, b, NULL);
	CHECK(ab.n == 2 && ba.n == 2);

	/* Sealed with a (primary of ab): [a,b], [b,a] and [a] open it. */
	n = keyring_seal(&ab, "rotate", 6, NULL, 0, p, sizeof(p));
	CHECK(n == 6 + KEYRING_OVERHEAD);
	CHECK(keyring_open(&ab, p, n, NULL, 0, back, sizeof(back), &bl) == 0);
	CHECK(keyring_open(&ba, p, n, NULL, 0, back, sizeof(back), &bl) == 0);
	CHECK(bl == 6 && memcmp(back, "rotate", 6) == 0);
	CHECK(keyring_open(&onlya, p, n, NULL, 0, back, sizeof(back),
	    &bl) == 0);
	CHECK(keyring_open(&onlyb, p, n, NULL, 0, back, sizeof(back),
	    &bl) == -1);

	/* Sealed with b: the old-key-first ring [a,b] still opens it. */
	n = keyring_seal(&onlyb, "rotate", 6, NULL, 0, p, sizeof(p));
	CHECK(keyring_open(&ab, p, n, NULL, 0, back, sizeof(back), &bl) == 0);
	CHECK(bl == 6 && memcmp(back, "rotate", 6) == 0);
	CHECK(keyring_open(&onlya, p, n, NULL, 0, back, sizeof(back),
	    &bl) == -1);

	keyring_clear(&ab);
	keyring_clear(&ba);
	keyring_clear(&onlya);
	keyring_clear(&onlyb);
}

/* test_b64 - what the `encrypt` setting accepts and how it says no */
static void
test_b64(void)
{
	static const struct {
		const char	*in;
		const char	*err;	/* NULL: accepted */
	} rows[] = {
		{ "AAAAAAAAAAAAAAAAAAAAAA==", NULL },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX", NULL },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", NULL },
		/* Go's StdEncoding skips CR and LF (a key pasted from a
		 * file). */
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", NULL },
		{ "AAECAwQFBgcICQoLDA0ODxAR\r\nEhMUFRYXGBkaGxwdHh8=", NULL },
		{ "", "encrypt: key must be 16, 24 or 32 bytes (base64 of "
		    "them); got 0 bytes" },
		{ "\n", "encrypt: key must be 16, 24 or 32 bytes (base64 of "
		    "them); got 0 bytes" },
		{ "AAAAAAAAAAAAAAAAAAAA", "encrypt: key must be 16, 24 or 32 "
		    "bytes (base64 of them); got 15 bytes" },
		{ "AAAAAAAAAAAAAAAAAAAAAAA=", "encrypt: key must be 16, 24 or "
		    "32 bytes (base64 of them); got 17 bytes" },
		{ "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", "encrypt: "
		    "key must be 16, 24 or 32 bytes (base64 of them); got 33 "
		    "bytes" },
		{ "AAAA", "encrypt: key must be 16, 24 or 32 bytes (base64 "
		    "of them); got 3 bytes" },
		{ "not base64!", "encrypt: not valid base64" },
		{ "AAAAAAAAAAAAAAAAAAAAA*==", "encrypt: not valid base64" },
		/* URL-safe alphabet, missing padding, a space, non-ASCII
		 * bytes, padding in the middle: all refused. */
		{ "_v_pkoZlcxxtao-UZzCDCP7_6ZKGZXMcbWqPlGcwgwg=",
		    "encrypt: not valid base64" },
		{ "AAAAAAAAAAAAAAAAAAAAAA", "encrypt: not valid base64" },
		{ "AAAAAAAAAAAA AAAAAAAAAA==", "encrypt: not valid base64" },
		{ "AAAAAAAAAAAAAAAAAAAAA\xc3\xa9=",
		    "encrypt: not valid base64" },
		{ "AAAAAAAAAAAAAAAAAAAAAA=A", "encrypt: not valid base64" },
	};
	struct keyring kr;
	char err[200];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		keyring_init(&kr);
		strcpy(err, "untouched");
		rc = keyring_add_b64(&kr, rows[i].in, err, sizeof(err));
		if (rows[i].err == NULL) {
			CHECK(rc == 0 && kr.n == 1);
			CHECK_STR(err, "untouched");
		} else {
			CHECK(rc == -1 && kr.n == 0);
			CHECK_STR(err, rows[i].err);
		}
		if ((rc == 0) != (rows[i].err == NULL))
			fprintf(stderr, "row %zu: %s\n", i, rows[i].in);
		keyring_clear(&kr);
	}
}

/* test_add - raw keys: sizes, duplicates, a full ring */
static void
test_add(void)
{
	unsigned char key[33];
	struct keyring kr;
	char err[200];
	int i;

	keyring_init(&kr);
	memset(key, 7, sizeof(key));
	CHECK(keyring_add(&kr, key, 31, err, sizeof(err)) == -1);
	CHECK_STR(err, "encrypt: key must be 16, 24 or 32 bytes; got 31 "
	    "bytes");
	CHECK(keyring_add(&kr, key, 0, err, sizeof(err)) == -1);
	CHECK(!keyring_enabled(&kr));
	for (i = 0; i < KEYRING_MAX; i++) {
		key[0] = (unsigned char)i;
		CHECK(keyring_add(&kr, key, 32, err, sizeof(err)) == 0);
	}
	CHECK(kr.n == KEYRING_MAX);
	/* A key already there is a no-op even on a full ring. */
	key[0] = 3;
	CHECK(keyring_add(&kr, key, 32, err, sizeof(err)) == 0);
	CHECK(kr.n == KEYRING_MAX);
	key[0] = 100;
	CHECK(keyring_add(&kr, key, 32, err, sizeof(err)) == -1);
	CHECK_STR(err, "encrypt: too many keys (at most 8)");
	/* Same first 16 bytes, different length: a different key. */
	keyring_clear(&kr);
	CHECK(kr.n == 0 && !keyring_enabled(&kr));
	CHECK(keyring_add(&kr, key, 32, err, sizeof(err)) == 0);
	CHECK(keyring_add(&kr, key, 16, err, sizeof(err)) == 0);
	CHECK(kr.n == 2 && kr.keylen[0] == 32 && kr.keylen[1] == 16);
	CHECK(kr.keys[0][0] == 100);
	keyring_clear(&kr);
	for (i = 0; i < KEYRING_KEY_MAX; i++)
		CHECK(kr.keys[0][i] == 0);
	/* A cleared ring is usable again. */
	CHECK(keyring_add(&kr, key, 24, err, sizeof(err)) == 0);
	CHECK(keyring_enabled(&kr));
	keyring_clear(&kr);
}

int
main(void)
{
	RUN(test_kat);
	RUN(test_round_trip);
	RUN(test_nonce_fresh);
	RUN(test_bit_flips);
	RUN(test_truncate);
	RUN(test_refusals);
	RUN(test_rotation);
	RUN(test_b64);
	RUN(test_add);
	return TEST_DONE();
}
