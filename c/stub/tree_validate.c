/*
 * A tree's images, judged before anything runs (docs/process-trees.md,
 * "Restart", step 1). The root image's member table is checked for sense
 * (check_member_table, --check too); then every live member's file beside
 * it goes through the very checks the root image went through, and is held
 * to what the table says of it, so a restart takes exactly the files the
 * checkpoint wrote or refuses in one line naming the first that is not.
 */
#include <sys/mman.h>
#include "tree.h"
#include "../range.h"
#include "../sys.h"

struct tree_run tree;

static const struct ckpt_member *members_of(const struct ckpt_header *h, const char *tables)
{
	return (const void *)(tables + h->members_off);
}

void judge_member(const struct ckpt_member *m, const char *root_strings)
{
	struct line l = {.len = 0};
	if (m) {
		line_str(&l, "member image ");
		line_str(&l, m->kind == CKPT_MEMBER_LIVE ? root_strings + m->file_str : "(none: a zombie)");
		line_str(&l, " of pid ");
		line_i64(&l, m->pid);
		line_str(&l, ": ");
	}
	str_copy(restart.context, sizeof restart.context, l.buf);
}

/* "the member table's pid N <why> (corrupt image)" */
static __attribute__((noreturn)) void bad_member(const struct ckpt_member *m, const char *why)
{
	struct line l = {.len = 0};
	line_str(&l, "the member table's pid ");
	line_i64(&l, m->pid);
	line_str(&l, " ");
	line_str(&l, why);
	die_line(&l);
}

/* pid's record (the root: its own pgid and sid), or 0 when no earlier one has it. */
static int find_process(const struct ckpt_header *h, const struct ckpt_member *m, uint32_t before, int32_t pid,
			int32_t *pgid, int32_t *sid, uint32_t *kind)
{
	if (pid == h->pid) {
		*pgid = h->pgid, *sid = h->sid, *kind = CKPT_MEMBER_LIVE;
		return 1;
	}
	for (uint32_t j = 0; j < before; j++)
		if (m[j].pid == pid) {
			*pgid = m[j].pgid, *sid = m[j].sid, *kind = m[j].kind;
			return 1;
		}
	return 0;
}

/* A status wait4 could report for a process that ended, and that making
 * the process again can reproduce: an exit code, or a signal whose default
 * action ends a process (without a core file: none would be written). */
static const char *zombie_status_problem(int32_t ws)
{
	int sig = ws & 0x7f;
	if (!sig)
		return (ws & ~0xff00) ? "has an impossible exit status (corrupt image)" : 0;
	if ((ws & ~0xff) || sig == 0x7f || sig > CKPT_MAX_SIGNALS || sig == 17 || sig == 18 || (sig >= 19 && sig <= 23) ||
	    sig == 28)
		return "has an impossible exit status (corrupt image)";
	if (ws & 0x80)
		return "is a zombie that dumped core: a restart cannot end a process that way again";
	return 0;
}

static int plain_file_name(const char *s)
{
	if (!s[0] || str_eq(s, ".") || str_eq(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/')
			return 0;
	return 1;
}

/* Whether a stand-in for a gone leader (tree_stand_ins.c) may take `pid`:
 * no process of the tree, nor init, nor the root's stand-in parent, has it. */
static int stand_in_pid(const struct ckpt_header *h, const struct ckpt_member *all, int32_t pid)
{
	int32_t pgid, sid;
	uint32_t kind;
	return pid > 1 && pid != h->ppid && !find_process(h, all, h->nmembers, pid, &pgid, &sid, &kind);
}

/* Whether the restart has a process in session `sid` to make what joins
 * it: the root, a live member leading it, or a stand-in at its pid. */
static int session_can_hold(const struct ckpt_header *h, const struct ckpt_member *all, int32_t sid)
{
	int32_t pgid, leads;
	uint32_t kind;
	if (sid == h->sid)
		return 1;
	if (find_process(h, all, h->nmembers, sid, &pgid, &leads, &kind))
		return kind == CKPT_MEMBER_LIVE && leads == sid;
	return stand_in_pid(h, all, sid);
}

static void check_member(const struct ckpt_header *h, const struct ckpt_member *all, uint32_t i, const char *strings)
{
	const struct ckpt_member *m = &all[i];
	int32_t pgid, sid;
	uint32_t kind;
	if (m->kind < CKPT_MEMBER_LIVE || m->kind > CKPT_MEMBER_KIND_MAX)
		bad_member(m, "has an unknown kind (corrupt image)");
	if (m->pid <= 1 || m->pid == h->pid || m->pid == h->ppid || find_process(h, all, i, m->pid, &pgid, &sid, &kind))
		bad_member(m, "is not a pid of its own in the tree (corrupt image)");
	int orphaned = member_orphaned(h, m);
	if (orphaned && m->kind != CKPT_MEMBER_LIVE)
		bad_member(m, "is a zombie whose parent exited (corrupt image)");
	if (!orphaned && (!find_process(h, all, i, m->ppid, &pgid, &sid, &kind) || kind != CKPT_MEMBER_LIVE))
		bad_member(m, "has a parent that is neither the root nor a live member before it (corrupt image)");
	if (orphaned ? m->sid != m->pid && !session_can_hold(h, all, m->sid)
		     : m->sid != m->pid && m->sid != sid)
		bad_member(m, "is in a session it neither leads nor got from its parent (corrupt image)");
	if (m->pgid != m->pid && m->pgid != h->pgid) {
		int leader = find_process(h, all, h->nmembers, m->pgid, &pgid, &sid, &kind);
		if (!leader && !(m->pgid != m->sid && stand_in_pid(h, all, m->pgid) && session_can_hold(h, all, m->sid)) &&
		    !(m->pgid == m->sid && stand_in_pid(h, all, m->sid)))
			bad_member(m, "is in a process group no process of its session in the tree leads, nor a stand-in "
				      "can (corrupt image)");
		if (leader && (pgid != m->pgid || sid != m->sid))
			bad_member(m, "is in a process group no process of its session in the tree leads (corrupt image)");
	} else if (m->pgid == h->pgid && m->pgid != m->pid && m->sid != h->sid) {
		bad_member(m, "is in the root's process group but not in its session (corrupt image)");
	}
	if (m->kind == CKPT_MEMBER_ZOMBIE) {
		const char *why = zombie_status_problem(m->wait_status);
		if (why)
			bad_member(m, why);
		if (m->file_str || m->image_id || m->file_size)
			bad_member(m, "is a zombie with an image (corrupt image)");
		return;
	}
	if (m->file_str >= h->strings_size || !plain_file_name(strings + m->file_str))
		bad_member(m, "has an image file name that is not a plain file name (corrupt image)");
	if (!m->image_id || m->file_size < CKPT_HEADER_SIZE || !m->nthreads || m->nthreads > CKPT_MAX_THREADS)
		bad_member(m, "has image fields out of range (corrupt image)");
}

void check_member_table(const struct ckpt_header *h, const char *tables)
{
	if (!h->nmembers)
		return;
	if (h->nmembers >= CKPT_MAX_MEMBERS || !h->tree_id || h->tree_id != h->image_id || h->tree_root_pid != h->pid)
		die("process tree fields are inconsistent (corrupt image)", 0);
	uint64_t after = (uint64_t)h->inotify_off + (uint64_t)h->ninotify * sizeof(struct ckpt_inotify_watch);
	if (h->members_off < after || (h->members_off & 7) ||
	    !within(h->members_off, (uint64_t)h->nmembers * sizeof(struct ckpt_member), h->tables_size))
		die("table layout is inconsistent (corrupt image)", 0);
	const struct ckpt_member *m = members_of(h, tables);
	int tty_group_known = !h->tty_pgrp || h->tty_pgrp == h->pgid;
	for (uint32_t i = 0; i < h->nmembers; i++) {
		check_member(h, m, i, tables + h->strings_off);
		tty_group_known |= h->tty_pgrp == m[i].pgid;
	}
	if (!tty_group_known)
		die("the terminal's foreground group is no group of the tree (corrupt image)", 0);
}

void member_image_path(const struct ckpt_member *m, const char *root_strings, char *out, uint64_t cap)
{
	uint64_t dir = 0;
	for (uint64_t i = 0; restart.image[i]; i++)
		if (restart.image[i] == '/')
			dir = i + 1;
	uint64_t n = dir < cap ? dir : cap - 1;
	__builtin_memcpy(out, restart.image, n);
	str_copy(out + n, cap - n, root_strings + m->file_str);
}

/* "<what>: the member table says <table>, the image <image>" */
static void hold_to(const char *what, int64_t table, int64_t image)
{
	if (table == image)
		return;
	struct line l = {.len = 0};
	line_str(&l, what);
	line_str(&l, ": the member table says ");
	line_i64(&l, table);
	line_str(&l, ", the image ");
	line_i64(&l, image);
	die_line(&l);
}

void load_member_image(const struct ckpt_header *root, const char *root_tables, const struct ckpt_member *m,
		       struct ckpt_header *hdr, char **tables)
{
	const char *strings = root_tables + root->strings_off;
	static char path[CKPT_PATH_MAX];
	member_image_path(m, strings, path, sizeof path);
	judge_member(m, strings);
	load_and_validate(path, hdr, tables);
	if (hdr->image_id != m->image_id || hdr->file_size != m->file_size || hdr->header_crc != m->header_crc)
		die("not the image this checkpoint wrote (replaced or altered since)", 0);
	if (hdr->tree_id != root->tree_id || hdr->tree_root_pid != root->pid || hdr->nmembers)
		die("belongs to another checkpoint of a process tree", 0);
	hold_to("pid", m->pid, hdr->pid);
	hold_to("parent pid", m->ppid, hdr->ppid);
	hold_to("process group", m->pgid, hdr->pgid);
	hold_to("session", m->sid, hdr->sid);
}

const char *own_member_image(void)
{
	static char path[CKPT_PATH_MAX];
	if (!restart.tree_index)
		return 0;
	member_image_path(tree.proc[restart.tree_index].member, tree.root_strings, path, sizeof path);
	return path;
}

int32_t group_after_restart(int32_t pgid)
{
	const struct ckpt_header *root = tree.proc[0].hdr;
	return pgid == root->pgid ? root->pid : pgid;
}

/* A namespace makes processes only at pids up to pid_max. */
static void check_pid_fits(int32_t pid, int64_t pid_max, const char *what)
{
	if (pid_max <= 0 || pid <= pid_max)
		return;
	struct line l = {.len = 0};
	line_str(&l, what);
	line_i64(&l, pid);
	line_str(&l, " is above this kernel's pid_max (");
	line_i64(&l, pid_max);
	line_str(&l, ")");
	die_line(&l);
}

static const struct ckpt_fd *fds_of(uint32_t proc)
{
	return (const void *)(tree.proc[proc].tables + tree.proc[proc].hdr->fds_off);
}

/* Each descriptor's first holder (share_pid, share_fd; of a kind that may
 * be shared: validate.c) is a record of the same kind, in a process before it, that names no holder itself
 * (but the deleted file it opens again); a deleted file opened again
 * (reopens) is held by a record that opens no file again; an inherited one
 * (the restart's own 0-2) is the root's. */
static void check_shares(uint32_t proc)
{
	const struct ckpt_fd *f = fds_of(proc);
	for (uint32_t i = 0; i < tree.proc[proc].hdr->nfds; i++) {
		if (!f[i].share_pid && !f[i].share_fd)
			continue;
		uint32_t holder = 0;
		while (holder < proc && (!tree.proc[holder].hdr || tree.proc[holder].pid != f[i].share_pid))
			holder++;
		const struct ckpt_fd *first = 0;
		for (uint32_t k = 0; holder < proc && k < tree.proc[holder].hdr->nfds; k++)
			if (fds_of(holder)[k].fd == f[i].share_fd)
				first = &fds_of(holder)[k];
		if (!first || first->kind != f[i].kind || ((first->share_pid || first->share_fd) && !first->reopens) ||
		    (f[i].reopens && (first->reopens || first->shares_with)) ||
		    (f[i].kind == CKPT_FD_INHERIT && (holder || f[i].share_fd > 2)))
			die("descriptor sharing between processes is inconsistent (corrupt image)", 0);
	}
}

void validate_tree(const struct ckpt_header *h, const char *tables)
{
	if (!h->nmembers && h->tree_id) {
		struct line l = {.len = 0};
		line_str(&l, "the image of pid ");
		line_i64(&l, h->pid);
		line_str(&l, " alone, a member of the process tree of pid ");
		line_i64(&l, h->tree_root_pid);
		line_str(&l, ": restart the tree's root image instead");
		die_line(&l);
	}
	check_member_table(h, tables);
	if (!h->nmembers)
		return;
	uint32_t n = h->nmembers + 1;
	uint64_t len = (uint64_t)n * (sizeof(struct tree_process) + sizeof(struct ckpt_header));
	long m = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		die("cannot allocate memory for the process tree", m);
	tree.proc = (void *)m;
	struct ckpt_header *headers = (void *)(tree.proc + n);
	headers[0] = *h; /* main's copy becomes each member's own header in its process */
	tree.proc[0] = (struct tree_process){.hdr = &headers[0], .tables = tables, .pid = h->pid};
	tree.root_strings = tables + h->strings_off;
	check_shares(0);
	const struct ckpt_member *members = members_of(h, tables);
	int root_fd = restart.image_fd;
	int64_t pid_max = proc_number("/proc/sys/kernel/pid_max");
	for (uint32_t i = 0; i < h->nmembers; i++) {
		const struct ckpt_member *mb = &members[i];
		struct tree_process *p = &tree.proc[i + 1];
		*p = (struct tree_process){.member = mb, .pid = mb->pid};
		judge_member(mb, tree.root_strings);
		check_pid_fits(mb->pid, pid_max, "its pid ");
		check_pid_fits(mb->pgid, pid_max, "its process group's leader (made again by a stand-in) ");
		check_pid_fits(mb->sid, pid_max, "its session's leader (made again by a stand-in) ");
		note_id(mb->pid), note_id(mb->pgid), note_id(mb->sid);
		if (mb->kind != CKPT_MEMBER_LIVE)
			continue;
		char *t;
		load_member_image(h, tables, mb, &headers[i + 1], &t);
		sys_close(restart.image_fd);
		check_identity(&headers[i + 1], t);
		const struct ckpt_thread *th = (const void *)(t + headers[i + 1].threads_off);
		for (uint32_t k = 0; k < headers[i + 1].nthreads; k++)
			check_pid_fits(th[k].tid, pid_max, "its thread id ");
		note_ids(&headers[i + 1], t);
		p->hdr = &headers[i + 1], p->tables = t;
		check_shares(i + 1);
		static char path[CKPT_PATH_MAX];
		member_image_path(mb, tree.root_strings, path, sizeof path);
		check_chain(p->hdr, path); /* an incremental member's older images, before anything runs */
	}
	judge_member(0, 0);
	check_chain(h, 0); /* the root's too: its own is opened only once the tree is made */
	restart.image_fd = root_fd;
	tree.n = n;
}
