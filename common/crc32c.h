/*
 * crc32c - CRC-32C (Castagnoli), the checksum on every durable record, so
 * a torn or corrupted tail is found on restart and cut off, never applied.
 */
#ifndef CAIRN_CRC32C_H
#define CAIRN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc32c - continue crc over p[0..n); start with 0 */
uint32_t	crc32c(uint32_t crc, const void *p, size_t n);

#endif
