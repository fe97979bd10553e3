/*
 * What the program told the kernel about its memory (enum ckpt_vm_flags):
 * madvise advice, mlock and mseal, set again on each region once its
 * contents and protection are back. The kernel is the one the image was
 * taken on (check_machine), so advice it took then it takes now; the one
 * thing this restart's environment decides is how much memory it may
 * lock, checked in phase 1 (check_locked_memory).
 */
#include <sys/mman.h>
#include "stub.h"
#include "../sys.h"
#include "../creds.h"

#define RLIMIT_MEMLOCK_ 8
#define CAP_IPC_LOCK_ 14
#define NR_MSEAL 462
#define MLOCK_ONFAULT_ 1

/* madvise(2) advice for each flag, in the order they are given. */
static int advice_for(uint64_t flag)
{
	switch (flag) {
	case CKPT_VM_DONTFORK: return MADV_DONTFORK;
	case CKPT_VM_WIPEONFORK: return MADV_WIPEONFORK;
	case CKPT_VM_DONTDUMP: return MADV_DONTDUMP;
	case CKPT_VM_HUGEPAGE: return MADV_HUGEPAGE;
	case CKPT_VM_NOHUGEPAGE: return MADV_NOHUGEPAGE;
	case CKPT_VM_MERGEABLE: return MADV_MERGEABLE;
	case CKPT_VM_SEQUENTIAL: return MADV_SEQUENTIAL;
	case CKPT_VM_RANDOM: return MADV_RANDOM;
	default: return -1;
	}
}

static int has_ipc_lock(void)
{
	struct ckpt_creds own;
	return creds_read_caps(&own) >= 0 && (own.cap_effective >> CAP_IPC_LOCK_ & 1);
}

/* Phase 1: mlock beyond RLIMIT_MEMLOCK fails without CAP_IPC_LOCK, and
 * only after teardown; so the restart is refused here, naming a region. */
void check_locked_memory(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	uint64_t locked = 0, first = 0;
	for (uint32_t i = 0; i < h->nregions; i++)
		if (r[i].vm_flags & CKPT_VM_LOCKED) {
			if (!locked)
				first = i;
			locked += r[i].end - r[i].start;
		}
	struct ckpt_rlimit lim;
	if (!locked || sys_prlimit(RLIMIT_MEMLOCK_, 0, &lim) < 0 || locked <= lim.cur || has_ipc_lock())
		return;
	struct line why = {.len = 0};
	line_str(&why, "the program had ");
	line_u64(&why, locked);
	line_str(&why, " bytes of memory locked (mlock; region ");
	line_range(&why, r[first].start, r[first].end);
	line_str(&why, " among them), more than this restart's RLIMIT_MEMLOCK of ");
	line_u64(&why, lim.cur);
	line_str(&why, " bytes; raise it (ulimit -l) or restart with CAP_IPC_LOCK");
	die_line(&why);
}

__attribute__((noreturn)) static void die_region(const char *what, const struct ckpt_region *r, long err)
{
	struct line why = {.len = 0};
	line_str(&why, what);
	line_str(&why, " to region ");
	line_range(&why, r->start, r->end);
	line_str(&why, ": ");
	line_str(&why, errno_text(err));
	die_line(&why);
}

/* Phase 2, after the region's contents and protection are back. */
void restore_advice(const struct ckpt_region *r)
{
	void *at = (void *)r->start;
	uint64_t len = r->end - r->start;
	for (uint64_t flag = 1; flag <= CKPT_VM_SEALED; flag <<= 1) {
		int advice = advice_for(flag);
		if (!(r->vm_flags & flag) || advice < 0)
			continue;
		long err = sys_madvise(at, len, advice);
		if (err < 0)
			die_region("cannot give its madvise advice back", r, err);
	}
	if (r->vm_flags & CKPT_VM_LOCKED) {
		long err = SYS3(__NR_mlock2, at, len, r->vm_flags & CKPT_VM_LOCKONFAULT ? MLOCK_ONFAULT_ : 0);
		if (err < 0)
			die_region("cannot give mlock back", r, err);
	}
	/* Last: a sealed region refuses any later change, ours included. */
	if (r->vm_flags & CKPT_VM_SEALED) {
		long err = SYS3(NR_MSEAL, at, len, 0);
		if (err < 0)
			die_region("cannot give mseal back", r, err);
	}
}
