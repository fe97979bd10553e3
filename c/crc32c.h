/* CRC32C (Castagnoli), the checksum of every image part. Shared by libckpt,
 * the stub and (mirrored) src/image/crc32c.ts. */
#ifndef CKPT_CRC32C_H
#define CKPT_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: crc32c_update(0, p, n) starts one; chaining calls over
 * consecutive buffers equals one call over their concatenation. */
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);

/* The same with one chain of crc32 instructions only: the test compares the
 * three-chain path with it. */
uint32_t crc32c_update_1way(uint32_t crc, const void *buf, size_t len);

#endif
