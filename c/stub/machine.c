/*
 * Phase 1: is this the machine the image was taken on, as far as the
 * restored program can tell? Every thread's registers come back from a
 * signal frame laid out by the checkpoint CPU's XSAVE features, and the
 * program's libc cached pointers into [vvar]/[vvar_vclock]/[vdso], which
 * the stub moves to the saved addresses: so the XSAVE features, and this
 * kernel's vDSO layout and code, must be the checkpoint machine's.
 */
#include <fcntl.h>
#include "stub.h"
#include "../crc32c.h"
#include "../maps.h"
#include "../sys.h"

/* Sizes of this process's special mappings, 0 where absent. */
static void special_sizes(uint64_t size[CKPT_NSPECIAL])
{
	char buf[16384]; /* the stub has a handful of mappings */
	long fd = sys_openat(AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		die("cannot read /proc/self/maps", fd);
	long len = 0;
	for (long n; len < (long)sizeof buf; len += n) {
		n = sys_read((int)fd, buf + len, sizeof buf - (uint64_t)len);
		if (n < 0)
			die("cannot read /proc/self/maps", n);
		if (!n)
			break;
	}
	sys_close((int)fd);
	const char *at = buf;
	struct maps_entry e;
	for (int k = 0; k < CKPT_NSPECIAL; k++)
		size[k] = 0;
	for (int rc; (rc = maps_next(&at, buf + len, &e)) != 0;)
		for (int k = 0; rc > 0 && k < CKPT_NSPECIAL; k++)
			if (maps_is(&e, ckpt_special_names[k]))
				size[k] = e.end - e.start;
}

static void line_layout_size(struct line *l, uint64_t size)
{
	if (!size) {
		line_str(l, "absent");
		return;
	}
	line_u64(l, size);
	line_str(l, " bytes");
}

void check_vdso_layout(const struct ckpt_header *h)
{
	uint64_t here[CKPT_NSPECIAL];
	special_sizes(here);
	for (int k = 0; k < CKPT_NSPECIAL; k++) {
		uint64_t there = h->special_end[k] - h->special_start[k];
		if (here[k] == there)
			continue;
		struct { char s[6][65]; } uts;
		struct line why = {.len = 0};
		line_str(&why, "this kernel's vDSO layout differs from the image's (");
		line_str(&why, ckpt_special_names[k]);
		line_str(&why, " is ");
		line_layout_size(&why, here[k]);
		line_str(&why, " here, ");
		line_layout_size(&why, there);
		line_str(&why, " in the image); restart on the kernel that took it (");
		char release[sizeof h->kernel_release + 1];
		str_copy(release, sizeof release, h->kernel_release);
		line_str(&why, release);
		line_str(&why, ", this is ");
		line_str(&why, sys_uname(&uts) < 0 ? "unknown" : uts.s[2]);
		line_str(&why, ")");
		die_line(&why);
	}
}

void check_machine(const struct ckpt_header *h, uint64_t vdso_ehdr)
{
	uint32_t lo, hi, a = 0xd, b, c = 0, d;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (((uint64_t)hi << 32 | lo) != h->xcr0 || b != h->xsave_size)
		die("this CPU saves registers differently (XSAVE features differ from the checkpoint machine)", 0);
	uint64_t len = h->special_end[CKPT_SPECIAL_VDSO] - h->special_start[CKPT_SPECIAL_VDSO];
	if (!len)
		return;
	if (!vdso_ehdr)
		die("this kernel provides no vDSO, but the checkpointed program used one", 0);
	if (crc32c_update(0, (const void *)vdso_ehdr, len) != h->vdso_crc)
		die("this kernel's vDSO differs from the checkpoint kernel's (restart on the same kernel)", 0);
}
