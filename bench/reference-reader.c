/* The restart reference: read a file into freshly mapped anonymous memory
 * with large reads and checksum it (CRC32C, as a restore does), the least
 * a read-into-place restore must do. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((target("sse4.2"))) static uint32_t crc(const unsigned char *p, size_t n)
{
	uint64_t c = ~0u;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t v;
		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	return (uint32_t)~c;
}

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		return 1;
	size_t n = (size_t)st.st_size;
	unsigned char *m = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (size_t at = 0; at < n;) {
		ssize_t k = read(fd, m + at, n - at > (1 << 30) ? (1 << 30) : n - at);
		if (k <= 0)
			return 1;
		at += (size_t)k;
	}
	printf("%08x\n", crc(m, n));
	return 0;
}
