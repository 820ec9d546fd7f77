/*
 * crc32c.c - table-driven CRC-32C (reflected polynomial 0x82F63B78).
 */
#include "crc32c.h"

static uint32_t table[256];
static int table_ready;

/* crc32c_init - build the byte table once */
static void
crc32c_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
	table_ready = 1;
}

uint32_t
crc32c(uint32_t crc, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	if (!table_ready)
		crc32c_init();
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
