/* c/crc32c.c on known vectors and against a bitwise reference, at every
 * alignment and length up to 300 bytes and in chained pieces. */
#include <stdio.h>
#include <string.h>
#include "../../c/crc32c.h"

static uint32_t reference(const unsigned char *p, size_t n)
{
	uint32_t c = ~0u;
	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
	}
	return ~c;
}

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
			uint32_t want = reference(buf + off, n);
			uint32_t whole = crc32c_update(0, buf + off, n);
			uint32_t split = crc32c_update(crc32c_update(0, buf + off, n / 3), buf + off + n / 3, n - n / 3);
			if (whole == want && split == want) passed++;
			else failed++, printf("FAIL: offset %d length %zu\n", off, n);
		}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
