/*
 * Phase 1 checks: nothing from an unchecked byte of the image is used. The
 * header and tables are verified by checksum and then for sense, so a
 * crafted image with valid checksums still cannot point the restore at the
 * stub's own memory, outside the file, or at unmapped addresses.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "tree.h" /* stub.h, and the check of a record's first holder in a tree */
#include "../crc32c.h"
#include "../range.h"
#include "../kinds/fd_kinds.h"
#include "../sys.h"

#define USER_TOP 0x7ffffffff000ull
#define MAX_TABLES (1ull << 30)

static void bad(const char *why)
{
	die(why, 0);
}


/* A refusal with a number in it: "<a><n><b>". */
static void bad_number(const char *a, uint64_t n, const char *b)
{
	struct line l = {.len = 0};
	line_str(&l, a);
	line_u64(&l, n);
	line_str(&l, b);
	die_line(&l);
}

/* A refusal with two: "<a><n><b><m><c>". */
static void bad_numbers(const char *a, uint64_t n, const char *b, uint64_t m, const char *c)
{
	struct line l = {.len = 0};
	line_str(&l, a);
	line_u64(&l, n);
	line_str(&l, b);
	line_u64(&l, m);
	line_str(&l, c);
	die_line(&l);
}

/* Whether the `got` bytes read hold header field f. */
#define HAS(f) (got >= __builtin_offsetof(struct ckpt_header, f) + sizeof h->f)

/* The same checks, in the same order and words, as src/image/header.ts,
 * on the `got` bytes of the header page a file of `file_size` bytes has. */
static void check_header(const struct ckpt_header *h, const char *page, uint64_t got, uint64_t file_size)
{
	if (!file_size)
		bad("not a ckpt image (empty file)");
	if (!HAS(magic) || __builtin_memcmp(h->magic, CKPT_MAGIC, 8))
		bad("not a ckpt image (bad magic)");
	if (HAS(version) && h->version != CKPT_VERSION)
		bad_numbers("unsupported image version ", h->version, " (this ckpt reads version ", CKPT_VERSION, ")");
	if (HAS(arch) && h->arch != CKPT_ARCH_X86_64)
		bad_number("image is for another machine (ELF machine ", h->arch, ", not x86-64)");
	if (HAS(page_size) && h->page_size != CKPT_PAGE_SIZE)
		bad_numbers("unsupported page size ", h->page_size, " (expected ", CKPT_PAGE_SIZE, ")");
	if (HAS(header_size) && h->header_size != sizeof *h)
		bad_numbers("header size ", h->header_size, " differs from this ckpt's ", sizeof *h, " (incompatible image)");
	if (got < CKPT_HEADER_SIZE) {
		if (!HAS(file_size))
			bad_number("truncated (file has ", file_size, " bytes, less than a header)");
		bad_numbers("truncated (header says ", h->file_size, " bytes, file has ", file_size, ")");
	}
	uint32_t crc = crc32c_update(0, page, __builtin_offsetof(struct ckpt_header, header_crc));
	crc = crc32c_update(crc, "\0\0\0\0", 4);
	crc = crc32c_update(crc, page + sizeof *h, CKPT_HEADER_SIZE - sizeof *h);
	if (crc != h->header_crc)
		bad("header checksum mismatch (corrupt image)");
	if (h->file_size > file_size)
		bad_numbers("truncated (header says ", h->file_size, " bytes, file has ", file_size, ")");
	if (h->file_size < file_size)
		bad_numbers("extended (header says ", h->file_size, " bytes, file has ", file_size, ")");
	if (h->flags & ~CKPT_HEADER_FLAGS_KNOWN)
		bad("unknown header flags (newer image?)");
	if (h->libc < 1 || h->libc > CKPT_LIBC_MAX)
		bad("unknown C library (corrupt image)");
	if (h->codec > CKPT_CODEC_MAX)
		bad("unknown compression codec (corrupt image)");
	if (h->dumpable > 2)
		bad("the dumpable flag is out of range (corrupt image)");
	if (h->coredump_filter & ~CKPT_COREDUMP_FILTER_BITS)
		bad("the coredump filter is out of range (corrupt image)");
	for (int r = 0; r < CKPT_MAX_RLIMITS; r++)
		if (h->rlimits[r].cur > h->rlimits[r].max)
			bad("a resource limit's soft value is above its hard one (corrupt image)");
	if (h->codec && !CKPT_BUILT_WITH_LZ4)
		refuse_without_lz4();
	if (h->tracking > CKPT_TRACKING_MAX || h->nlinks > CKPT_LINKS_MAX)
		bad("incremental image fields out of range (corrupt image)");
	for (uint32_t i = 0; i < h->nlinks; i++)
		if (!h->links[i].image_id || h->links[i].file_size < CKPT_HEADER_SIZE)
			bad("an older image of the chain is named out of range (corrupt image)");
	if (h->tables_offset != CKPT_HEADER_SIZE || h->tables_size > MAX_TABLES ||
	    !within(h->tables_offset, h->tables_size, file_size) || !ckpt_page_aligned(h->data_offset) ||
	    h->data_offset != h->tables_offset + h->tables_size || h->data_offset > file_size)
		bad("table placement is inconsistent (corrupt image)");
	if (h->nthreads < 1 || h->nthreads > CKPT_MAX_THREADS)
		bad("image has an impossible number of threads");
	if (h->auxv_words > CKPT_MAX_AUXV || h->strings_size == 0)
		bad("header fields out of range (corrupt image)");
}

static void check_table_layout(const struct ckpt_header *h)
{
	struct { uint64_t off, len; } part[] = {
		{h->threads_off, (uint64_t)h->nthreads * sizeof(struct ckpt_thread)},
		{h->regions_off, (uint64_t)h->nregions * sizeof(struct ckpt_region)},
		{h->extents_off, (uint64_t)h->nextents * sizeof(struct ckpt_extent)},
		{h->fds_off, (uint64_t)h->nfds * sizeof(struct ckpt_fd)},
		{h->strings_off, h->strings_size},
		{h->process.timers_off, (uint64_t)h->process.ntimers * sizeof(struct ckpt_timer)},
		{h->locks_off, (uint64_t)h->nlocks * sizeof(struct ckpt_lock)},
		{h->process.signals_off, (uint64_t)h->process.nsignals * sizeof(struct ckpt_signal)},
		{h->watches_off, (uint64_t)h->nwatches * sizeof(struct ckpt_epoll_watch)},
		{h->inotify_off, (uint64_t)h->ninotify * sizeof(struct ckpt_inotify_watch)},
	};
	uint64_t at = 0;
	for (unsigned i = 0; i < sizeof part / sizeof part[0]; i++) {
		if (part[i].off < at || (part[i].off & 7) || !within(part[i].off, part[i].len, h->tables_size))
			bad("table layout is inconsistent (corrupt image)");
		at = part[i].off + part[i].len;
	}
}

static void check_specials(const struct ckpt_header *h)
{
	uint64_t prev = 0;
	for (int k = 0; k < CKPT_NSPECIAL; k++) {
		uint64_t s = h->special_start[k], e = h->special_end[k];
		if (!s && !e)
			continue;
		if (s < prev || s >= e || !ckpt_page_aligned(s) || !ckpt_page_aligned(e) || e > USER_TOP)
			bad("vDSO placement is inconsistent (corrupt image)");
		prev = e;
	}
}

/* Each kind's own fields (c/kinds/mem_*.c); the kind is in range. */
static int region_fields_ok(const struct ckpt_region *r)
{
	if (r->kind != CKPT_REGION_SYSV_SHM && (r->flags & CKPT_REGION_SHM_REMOVED))
		return 0; /* a SysV segment's mark alone */
	switch (r->kind) {
	case CKPT_REGION_FILE_PRIVATE:
	case CKPT_REGION_FILE_SHARED:
		return mem_file_region_ok(r);
	case CKPT_REGION_SYSV_SHM:
		return mem_sysv_region_ok(r);
	default:
		return 1; /* anonymous kinds have none */
	}
}

static void check_regions(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	const struct ckpt_extent *e = (const void *)(t + h->extents_off);
	uint64_t prev_end = CKPT_LOWEST_ADDRESS;
	uint32_t next_extent = 0;
	for (uint32_t i = 0; i < h->nregions; i++) {
		if (r[i].start < prev_end || r[i].start >= r[i].end || r[i].end > USER_TOP ||
		    !ckpt_page_aligned(r[i].start) || !ckpt_page_aligned(r[i].end))
			bad("memory regions overlap or are out of order (corrupt image)");
		if (r[i].kind < CKPT_REGION_ANON || r[i].kind > CKPT_REGION_KIND_MAX || r[i].path_str >= h->strings_size ||
		    !region_fields_ok(&r[i]) ||
		    r[i].vm_flags >= (uint64_t)CKPT_VM_NORESERVE << 1 ||
		    !ckpt_mempolicy_valid(r[i].mempolicy, r[i].pad_mempolicy, r[i].mempolicy_nodes))
			bad("memory region record is invalid (corrupt image)");
		for (int k = 0; k < CKPT_NSPECIAL; k++)
			if (h->special_start[k] < r[i].end && h->special_end[k] > r[i].start)
				bad("a region overlaps the vDSO (corrupt image)");
		check_extents(h, &r[i], e, next_extent);
		next_extent += r[i].nextents;
		prev_end = r[i].end;
	}
	if (next_extent != h->nextents)
		bad("extent table has stray entries (corrupt image)");
}

/* Each kind's own record checks (c/kinds/fd_*.c). */
static const char *fd_kind_problem(const struct ckpt_fd *f, const struct ckpt_header *h)
{
	switch (f->kind) {
	case CKPT_FD_FILE:
		return fd_file_record_problem(f, h);
	case CKPT_FD_PROC:
		return fd_proc_record_problem(f);
	case CKPT_FD_INHERIT:
		return fd_inherit_record_problem(f);
	case CKPT_FD_TTY:
		return fd_tty_record_problem(f);
	case CKPT_FD_PIPE_READ:
	case CKPT_FD_PIPE_WRITE:
		return fd_pipe_record_problem(f, h);
	case CKPT_FD_FIFO:
		return fd_fifo_record_problem(f, h);
	case CKPT_FD_DELETED:
	case CKPT_FD_MEMFD:
		return fd_unlinked_record_problem(f, h);
	case CKPT_FD_EVENTFD:
		return fd_eventfd_record_problem(f);
	case CKPT_FD_SIGNALFD:
		return fd_signalfd_record_problem(f);
	case CKPT_FD_TIMERFD:
		return fd_timerfd_record_problem(f);
	case CKPT_FD_EPOLL:
		return fd_epoll_record_problem(f);
	case CKPT_FD_INOTIFY:
		return fd_inotify_record_problem(f);
	case CKPT_FD_UNIX_SOCKET:
		return fd_unix_socket_record_problem(f, h);
	case CKPT_FD_INET_SOCKET:
		return fd_inet_socket_record_problem(f, h);
	default:
		return FD_RECORD_INVALID;
	}
}

/* The checks every descriptor record gets, then its kind's own. */
static void check_fds(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_fd *f = (const void *)(t + h->fds_off);
	for (uint32_t i = 0; i < h->nfds; i++) {
		if (f[i].fd < 0 || f[i].fd > CKPT_MAX_FD || (i && f[i].fd <= f[i - 1].fd))
			bad("descriptor table is out of order (corrupt image)");
		if (f[i].shares_with && (!fd_kind_has_own_file(f[i].kind) || !i || (int32_t)f[i].shares_with - 1 >= f[i].fd ||
					 (int32_t)f[i].shares_with - 1 < f[0].fd))
			bad("descriptor sharing is inconsistent (corrupt image)");
		int known = f[i].kind >= CKPT_FD_FILE && f[i].kind <= CKPT_FD_KIND_MAX;
		if (!known || f[i].path_str >= h->strings_size)
			bad(FD_RECORD_INVALID);
		const char *why = fd_kind_problem(&f[i], h) ?: fd_async_record_problem(&f[i]);
		if (why || fd_share_impossible(&f[i], h))
			bad(why ? why : "descriptor sharing between processes is inconsistent (corrupt image)");
	}
}

/* Whether [addr, addr+len) lies in restored memory with all of `prot`,
 * possibly across adjacent regions (a .data page next to .bss). */
static int region_with(const struct ckpt_header *h, const char *t, uint64_t addr, uint64_t len, uint32_t prot)
{
	const struct ckpt_region *r = (const void *)(t + h->regions_off);
	uint64_t at = addr, end = addr + len;
	if (end < addr)
		return 0;
	for (uint32_t i = 0; i < h->nregions && at < end; i++)
		if (at >= r[i].start && at < r[i].end) {
			if ((r[i].prot & prot) != prot)
				return 0;
			at = r[i].end;
		}
	return at >= end;
}

static void check_threads(const struct ckpt_header *h, const char *t)
{
	const struct ckpt_thread *th = (const void *)(t + h->threads_off);
	for (uint32_t i = 0; i < h->nthreads; i++) {
		if (!region_with(h, t, th[i].resume.rsp - 8, 8, PROT_READ | PROT_WRITE) ||
		    !region_with(h, t, th[i].resume.rip, 1, PROT_EXEC))
			bad("thread resume point is not in restored memory (corrupt image)");
		uint64_t tid_word = ckpt_tid_word(h->libc, &th[i]);
		if ((th[i].clear_child_tid && !region_with(h, t, th[i].clear_child_tid, 4, PROT_WRITE)) ||
		    (tid_word && !region_with(h, t, tid_word, 4, PROT_WRITE)) ||
		    (th[i].rseq_addr && (!region_with(h, t, th[i].rseq_addr, th[i].rseq_len, PROT_WRITE) ||
					 (th[i].rseq_addr & 31) || th[i].rseq_len < 32)))
			bad("thread state points outside restored memory (corrupt image)");
		if (th[i].pdeath_signal > 64)
			bad("thread's parent-death signal is not a signal (corrupt image)");
		if ((th[i].tsc_mode != CKPT_TSC_ENABLE && th[i].tsc_mode != CKPT_TSC_SIGSEGV) || th[i].mce_kill > CKPT_MCE_KILL_DEFAULT)
			bad("thread's time-stamp counter mode or machine-check policy is invalid (corrupt image)");
		uint32_t policy = th[i].sched_policy & ~CKPT_SCHED_RESET_ON_FORK;
		int realtime = policy == 1 || policy == 2; /* FIFO, RR: 1 to 99; the others 0 */
		if (th[i].nice < -20 || th[i].nice > 19 || policy > 5 || policy == 4 || th[i].sched_priority > 99 ||
		    realtime != (th[i].sched_priority != 0) || th[i].ioprio >> 13 > 3)
			bad("thread's scheduling is invalid (corrupt image)");
		const struct ckpt_creds *c = &th[i].creds;
		if ((c->cap_effective & ~c->cap_permitted) || (c->cap_ambient & ~(c->cap_permitted & c->cap_inheritable)) ||
		    (c->securebits & ~CKPT_SECUREBITS_KNOWN) || c->pad)
			bad("thread's credentials are invalid (corrupt image)");
		if (th[i].comm[sizeof th[i].comm - 1])
			bad("thread's name is not NUL-terminated (corrupt image)");
		if (!ckpt_mempolicy_valid(th[i].mempolicy, th[i].pad_mempolicy, th[i].mempolicy_nodes))
			bad("thread's memory policy is invalid (corrupt image)");
	}
	if (!region_with(h, t, h->restart_info_addr, sizeof(struct ckpt_restart_info), PROT_WRITE))
		bad("libckpt's restart block is not in restored memory (corrupt image)");
}

static void check_strings(const struct ckpt_header *h, const char *t)
{
	const char *s = t + h->strings_off;
	if (s[0] || s[h->strings_size - 1] || h->exe_str >= h->strings_size || h->cwd_str >= h->strings_size ||
	    h->argv_str >= h->strings_size || h->process.groups_str >= h->strings_size ||
	    h->process.cgroup_str >= h->strings_size)
		bad("string table is invalid (corrupt image)");
}

/* Only the owner may have written the image: its bytes become code and
 * data, so an image others could modify is code others could run. */
static void check_image_file(const struct stat *st, const char *path)
{
	struct line l = {.len = 0};
	if (S_ISDIR(st->st_mode))
		bad("is a directory, not an image");
	if (!S_ISREG(st->st_mode))
		bad("not a regular file");
	if (restart.check_only)
		return; /* who may restart it is a question of here and now (check_only.c) */
	uint64_t uid = (unsigned)sys_getuid();
	if (st->st_uid != uid) {
		line_str(&l, "owned by uid ");
		line_u64(&l, st->st_uid);
		line_str(&l, ", not by you (uid ");
		line_u64(&l, uid);
		line_str(&l, "); restart only images you created");
		die_line(&l);
	}
	if (st->st_mode & 022) {
		line_str(&l, "writable by group or others, so it could have been altered; run: chmod 600 ");
		line_str(&l, path); /* a member's file, in a tree */
		die_line(&l);
	}
}

void load_and_validate(const char *path, struct ckpt_header *hdr, char **tables)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		die(errno_text(fd), 0);
	struct stat st;
	long err = sys_fstat((int)fd, &st);
	if (err < 0)
		die(errno_text(err), 0);
	check_image_file(&st, path);
	static char page[CKPT_HEADER_SIZE];
	uint64_t head = 0;
	for (long n; head < CKPT_HEADER_SIZE; head += (uint64_t)n) {
		n = sys_pread((int)fd, page + head, CKPT_HEADER_SIZE - head, (long)head);
		if (n < 0)
			die("cannot read the header", n);
		if (!n)
			break;
	}
	__builtin_memcpy(hdr, page, sizeof *hdr);
	check_header(hdr, page, head, (uint64_t)st.st_size);
	check_table_layout(hdr);
	long m = sys_mmap(0, hdr->tables_size + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		die("cannot allocate memory for the tables", m);
	/* Made in one call: a fault a page was 11 ms for a chain's 3 MiB table here. */
	populate_for_writing((void *)m, hdr->tables_size);
	char *t = (char *)m;
	for (uint64_t got = 0; got < hdr->tables_size;) {
		long n = sys_pread((int)fd, t + got, hdr->tables_size - got, (long)(hdr->tables_offset + got));
		if (n <= 0)
			die("cannot read the image tables", n < 0 ? n : -5);
		got += (uint64_t)n;
	}
	if (crc32c_update(0, t, hdr->tables_size) != hdr->tables_crc)
		bad("tables checksum mismatch (corrupt image)");
	check_strings(hdr, t);
	check_details(hdr, t);
	check_specials(hdr);
	check_regions(hdr, t);
	check_fds(hdr, t);
	const char *table_problem = fd_locks_problem(hdr, t) ?: fd_unlinked_reopens_problem(hdr, t)
					    ?: fd_epoll_watches_problem(hdr, t) ?: fd_inotify_watches_problem(hdr, t);
	if (table_problem)
		bad(table_problem);
	check_threads(hdr, t);
	restart.image_fd = (int)fd;
	*tables = t;
}
