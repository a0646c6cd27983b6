/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), the checksum of
 * the on-media format (include/famfs_format.h).
 */
#ifndef FAMFS_BPF_CRC32C_H
#define FAMFS_BPF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continue a running CRC over @len bytes: start with crc32c(0, ...) and
 * feed the previous result back in for the next piece, so a checksum over
 * pieces equals the one over their concatenation.  crc32c(0, "123456789",
 * 9) == 0xe3069283 (the standard check value).
 */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif /* FAMFS_BPF_CRC32C_H */
