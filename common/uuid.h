/*
 * uuid - random (version 4) UUIDs in their canonical text, as Consul
 * makes them for event and session IDs.
 */
#ifndef CAIRN_UUID_H
#define CAIRN_UUID_H

#define UUID_LEN	36	/* 8-4-4-4-12 hex digits */

/* uuid_format - the UUID of 16 random bytes (version and variant set) */
void	uuid_format(char out[UUID_LEN + 1], const unsigned char rnd[16]);
/* uuid_random - a fresh one from the kernel; -1 if no random bytes */
int	uuid_random(char out[UUID_LEN + 1]);

#endif
