/*
 * CRC32C with the SSE4.2 crc32 instruction, 8 bytes per instruction. One
 * chain of them is bound by the instruction's latency (3 cycles on current
 * cores) while one can start every cycle, so long buffers are cut into
 * blocks of three equal parts, checksummed as three independent chains at
 * once and joined with a carry-less multiply (PCLMULQDQ): about 3x the
 * speed of one chain, the rate of memory. The bitwise loop is only the
 * fallback for CPUs without SSE4.2, so the image format never depends on
 * the CPU.
 *
 * Joining: without the final inversions a CRC is linear, so the CRC of
 * A|B from register value c is shift(c, |B|) ^ crc(0, B), where shift(c, n)
 * is c * x^(8n) mod P (the CRC of n zero bytes). In the reflected bit order
 * of the crc32 instruction, a carry-less product of two 32-bit values is
 * x * C * K, and crc32 of a 64-bit value V from 0 is V * x^32 mod P, so
 * crc32(0, clmul(c, K)) = c * K * x^33 mod P: with K = x^(8n-33) mod P it
 * is shift(c, n). The K below are those for the fixed part lengths; the
 * test compares every path with the bitwise definition.
 */
#include "crc32c.h"

/* Asked once: in a virtual machine cpuid traps to the hypervisor, about
 * 17 us a call on this project's VM (6% of the CPU time of a restart that
 * checks 63,500 extents of a page or a few), not the hundred cycles of bare metal.
 * Threads that race store the same value. A restored libckpt keeps its
 * answer, as the program keeps glibc's choices made at its start. */
static void cpu_features(int *sse42, int *pclmul)
{
	static int known; /* 0: not asked yet; else 1 | sse4.2 << 1 | pclmul << 2 */
	int f = __atomic_load_n(&known, __ATOMIC_RELAXED);
	if (!f) {
		uint32_t a = 1, b, c, d;
		__asm__("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
		f = 1 | (int)((c >> 20) & 1) << 1 | (int)((c >> 1) & 1) << 2;
		__atomic_store_n(&known, f, __ATOMIC_RELAXED);
	}
	*sse42 = (f >> 1) & 1;
	*pclmul = (f >> 2) & 1;
}

typedef long long v2di __attribute__((vector_size(16)));

/* Part lengths and their K = x^(8*n-33) mod P (reflected) for n = part
 * and n = 2 * part: the first part is shifted past the other two. */
#define LONG_PART 8192
#define K_LONG 0x54a86326u
#define K_LONG2 0x1dc403ccu
#define SHORT_PART 256
#define K_SHORT 0xb9e02b86u
#define K_SHORT2 0xdd7e3b0cu

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

__attribute__((target("sse4.2,pclmul"))) static inline uint64_t clmul(uint64_t a, uint32_t k)
{
	v2di x = {(long long)a, 0}, y = {(long long)k, 0};
	return (uint64_t)__builtin_ia32_pclmulqdq128(x, y, 0x00)[0];
}

/* Whole blocks of three parts of `part` bytes each; returns the register
 * value, *p and *n advanced past them. */
__attribute__((target("sse4.2,pclmul"))) static uint64_t crc_blocks(uint64_t c, const unsigned char **pp, size_t *nn,
								   size_t part, uint32_t k1, uint32_t k2)
{
	const unsigned char *p = *pp;
	size_t n = *nn;
	for (; n >= 3 * part; p += 3 * part, n -= 3 * part) {
		uint64_t c1 = 0, c2 = 0;
		for (size_t i = 0; i < part; i += 8) {
			c = __builtin_ia32_crc32di(c, load64(p + i));
			c1 = __builtin_ia32_crc32di(c1, load64(p + part + i));
			c2 = __builtin_ia32_crc32di(c2, load64(p + 2 * part + i));
		}
		c = __builtin_ia32_crc32di(0, clmul(c, k2) ^ clmul(c1, k1)) ^ c2;
	}
	*pp = p, *nn = n;
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n, int pclmul)
{
	uint64_t c = crc;
	if (pclmul) {
		c = crc_blocks(c, &p, &n, LONG_PART, K_LONG, K_LONG2);
		c = crc_blocks(c, &p, &n, SHORT_PART, K_SHORT, K_SHORT2);
	}
	for (; n >= 8; p += 8, n -= 8)
		c = __builtin_ia32_crc32di(c, load64(p));
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

static uint32_t update(uint32_t crc, const void *buf, size_t len, int allow_pclmul)
{
	int sse42, pclmul;
	cpu_features(&sse42, &pclmul);
	crc = ~crc;
	crc = sse42 ? crc_hw(crc, buf, len, pclmul && allow_pclmul) : crc_sw(crc, buf, len);
	return ~crc;
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	return update(crc, buf, len, 1);
}

uint32_t crc32c_update_1way(uint32_t crc, const void *buf, size_t len)
{
	return update(crc, buf, len, 0);
}
