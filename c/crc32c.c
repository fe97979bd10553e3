/*
 * CRC32C with the SSE4.2 crc32 instruction: 8 bytes per instruction, fast
 * enough that checksumming an image costs a small fraction of writing it.
 * Every x86-64 CPU since 2008 has it; the bitwise loop is only the fallback
 * for the rest, so the image format never depends on the CPU.
 */
#include "crc32c.h"

static int have_sse42(void)
{
	uint32_t a = 1, b, c, d;
	__asm__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
	return (c >> 20) & 1;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;
		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; n; p++, n--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return (uint32_t)c;
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return crc;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	/* cpuid costs about a hundred cycles: nothing next to the pages a
	 * call usually covers, and it keeps this file free of state. */
	crc = ~crc;
	crc = have_sse42() ? crc_hw(crc, buf, len) : crc_sw(crc, buf, len);
	return ~crc;
}
