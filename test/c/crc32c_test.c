/* c/crc32c.c on known vectors and against a bitwise reference: at every
 * alignment and length up to 300 bytes and in chained pieces, then the
 * three-chain path (blocks of 3 x 8192 and 3 x 256 bytes) at lengths around
 * its block boundaries, from nonzero starting values. */
#include <stdio.h>
#include <string.h>
#include "../../c/crc32c.h"

static uint32_t reference(uint32_t c, const unsigned char *p, size_t n)
{
	c = ~c;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

static unsigned char big[3 * 3 * 8192 + 3 * 256 + 64];

int main(void)
{
	int passed = 0, failed = 0;
	unsigned char buf[512];
	for (int i = 0; i < 512; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	if (crc32c_update(0, "123456789", 9) == 0xE3069283u) passed++; else failed++, puts("FAIL: check value");
	if (crc32c_update(0, "", 0) == 0) passed++; else failed++, puts("FAIL: empty");
	for (int off = 0; off < 8; off++)
		for (size_t n = 0; n < 300; n++) {
			uint32_t want = reference(0, buf + off, n);
			uint32_t whole = crc32c_update(0, buf + off, n);
			uint32_t split = crc32c_update(crc32c_update(0, buf + off, n / 3), buf + off + n / 3, n - n / 3);
			if (whole == want && split == want) passed++;
			else failed++, printf("FAIL: offset %d length %zu\n", off, n);
		}
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof big; i++) /* xorshift: no zero runs to hide a bad shift */
		x ^= x << 13, x ^= x >> 17, x ^= x << 5, big[i] = (unsigned char)x;
	const size_t blocks[] = {0, 3 * 256, 2 * 3 * 256, 3 * 8192, 3 * 8192 + 3 * 256, 2 * 3 * 8192, 3 * 3 * 8192};
	for (unsigned b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
		for (size_t n = blocks[b] > 20 ? blocks[b] - 20 : 0; n <= blocks[b] + 20; n++)
			for (int off = 0; off < 8; off += 3) {
				uint32_t start = (uint32_t)(n * 2654435761u);
				uint32_t want = reference(start, big + off, n);
				if (crc32c_update(start, big + off, n) == want && crc32c_update_1way(start, big + off, n) == want)
					passed++;
				else
					failed++, printf("FAIL: long path, offset %d length %zu\n", off, n);
			}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
