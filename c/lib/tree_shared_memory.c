/*
 * Memory the processes of a tree share through nothing but a common
 * mapping (docs/process-trees.md, "Memory between members"), weighed by
 * the root on the final listing, every member stopped: MAP_SHARED|
 * MAP_ANONYMOUS inherited across fork ("/dev/zero (deleted)"), a deleted
 * file or a memfd (sem_open's semaphores after sem_unlink). Each member
 * stores its views' bytes (all stopped: the same bytes), and the restart
 * makes one object for all of them (c/stub/tree_memory.c). Refused, in one
 * line naming the processes:
 *  - a SysV segment attached by a process outside the tree (its
 *    shm_nattch counts more views than the members have; each member's
 *    capture refuses keyed segments and partial views: mem_sysv.c);
 *  - a deleted file or memfd a member also holds a descriptor of: the
 *    descriptor and the mapping would come back as two objects;
 *  - an object a process outside the tree maps too (a double-forked
 *    daemon; seen when it is this user's, whose maps we may read).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/shm.h>
#include "ckpt_lib.h"
#include "tree.h"
#include "../maps.h"
#include "../sys.h"
#include "../kinds/mem_kinds.h"

/* One object, with the first member (tree order) that maps it. */
struct shared_object {
	uint64_t dev, ino;
	int32_t pid;
	int32_t sysv, dev_zero;
	uint32_t views; /* a SysV segment's: shm_nattch counts one per view */
	char path[48];
};

struct objects {
	struct capture *c;
	struct shared_object *o;
	uint32_t n;
	uint64_t control_ino;
};

static struct shared_object *find_object(struct objects *s, uint64_t dev, uint64_t ino)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->o[i].dev == dev && s->o[i].ino == ino)
			return &s->o[i];
	return 0;
}

static void name_pid(struct capture *c, struct line *l, int pid)
{
	struct proc_facts f = {.pid = pid};
	proc_facts(c, pid, &f);
	name_process(l, pid, f.comm);
}

static int refuse_pair(struct objects *s, const struct shared_object *o, int other, const char *why)
{
	struct capture *c = s->c;
	struct line l = {.len = 0};
	line_str(&l, "memory shared between ");
	name_pid(c, &l, o->pid);
	line_str(&l, " and ");
	name_pid(c, &l, other);
	line_str(&l, " (");
	line_str(&l, o->path);
	line_str(&l, why);
	c->error = l;
	return -1;
}

/* Each object in `pid`'s maps: added, or held against the first holder. */
static int list_objects(struct objects *s, int pid, int member)
{
	struct line path = proc_path((uint64_t)pid, "maps");
	long size = read_proc_file(s->c, path.buf);
	const char *cur = s->c->text, *end = s->c->text + (size > 0 ? size : 0);
	struct maps_entry e;
	while (maps_next(&cur, end, &e) > 0) {
		if (!maps_shared_object(&e) || e.inode == s->control_ino)
			continue;
		struct shared_object *o = find_object(s, maps_dev(&e), e.inode);
		if (!member) {
			if (o)
				return refuse_pair(s, o, pid, "): the second is not in the tree, and the restart "
							      "could not share the memory with it again");
			continue;
		}
		if (o) {
			o->views++;
			continue;
		}
		if (s->n == MEM_SHARED_OBJECTS_MAX)
			return capture_fail(s->c, "more memory objects shared by mapping alone than a restart makes again", 0);
		o = &s->o[s->n++];
		*o = (struct shared_object){.dev = maps_dev(&e), .ino = e.inode, .pid = pid,
					    .sysv = str_starts(e.path, "/SYSV"), .dev_zero = str_starts(e.path, "/dev/zero"), .views = 1};
		int plen = e.path_len < (int)sizeof o->path - 1 ? e.path_len : (int)sizeof o->path - 1;
		__builtin_memcpy(o->path, e.path, (size_t)plen);
	}
	return 0;
}

struct fd_scan {
	struct objects *s;
	int pid;
	int fd;
	struct shared_object *held;
};

static int fd_holds_object(int fd, void *ctx)
{
	struct fd_scan *f = ctx;
	struct line path = proc_path((uint64_t)f->pid, "fd/");
	line_u64(&path, (uint64_t)fd);
	struct stat st;
	if (sys_fstatat(AT_FDCWD, path.buf, &st, 0) < 0)
		return 0; /* closed meanwhile: it cannot be (every member is stopped) */
	f->held = find_object(f->s, st.st_dev, st.st_ino);
	f->fd = fd;
	return f->held != 0;
}

/* A deleted file or memfd mapped shared must have no descriptor in the tree. */
static int refuse_held_by_fd(struct objects *s, int pid)
{
	struct line dir = proc_path((uint64_t)pid, "fd");
	struct fd_scan f = {.s = s, .pid = pid};
	if (for_each_numbered_entry(dir.buf, fd_holds_object, &f) <= 0 || !f.held)
		return 0;
	struct line l = {.len = 0};
	line_str(&l, "fd ");
	line_u64(&l, (uint64_t)f.fd);
	line_str(&l, " of ");
	name_pid(s->c, &l, pid);
	line_str(&l, " holds ");
	line_str(&l, f.held->path);
	line_str(&l, " (deleted), which the tree maps shared: the restart would make the descriptor and the "
		      "mapping two objects; checkpoint once it is closed");
	s->c->error = l;
	return -1;
}

struct outsider_maps {
	struct objects *s;
	int rc;
};

static int outsider_maps_object(int pid, void *ctx)
{
	struct outsider_maps *m = ctx;
	struct capture *c = m->s->c;
	if (pid == (int)sys_getpid())
		return 0;
	for (uint32_t i = 0; i < c->tree->nlive; i++)
		if (c->tree->live[i] == pid)
			return 0;
	m->rc = list_objects(m->s, pid, 0);
	return m->rc;
}

/* Every attachment of a segment the tree maps is a member's view. */
static int refuse_sysv_outsiders(struct objects *s)
{
	for (uint32_t i = 0; i < s->n; i++) {
		struct shmid64_ds ds;
		if (!s->o[i].sysv || (sys_shmctl((int)s->o[i].ino, IPC_STAT, &ds) == 0 && ds.shm_nattch == s->o[i].views))
			continue;
		struct line l = {.len = 0};
		line_str(&l, "SysV shared memory segment id ");
		line_u64(&l, s->o[i].ino);
		line_str(&l, ", which ");
		name_pid(s->c, &l, s->o[i].pid);
		line_str(&l, " maps, is attached by a process outside the tree too, which the restart could not attach again");
		s->c->error = l;
		return -1;
	}
	return 0;
}

static int maps_segment(void *ctx, uint64_t id)
{
	const struct objects *s = ctx;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->o[i].sysv && s->o[i].ino == id)
			return 1;
	return 0;
}

/* With a segment, the restart has an IPC namespace of its own. */
static int refuse_lost_sysv(struct objects *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->o[i].sysv)
			return sysv_refuse_lost_objects(s->c, s->c->tree->live, s->c->tree->nlive, maps_segment, s);
	return 0;
}

int tree_check_shared_memory(struct capture *c, uint64_t control_ino)
{
	uint64_t len = MEM_SHARED_OBJECTS_MAX * sizeof(struct shared_object);
	long m = sys_mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m < 0)
		return capture_fail(c, "cannot map memory to compare the tree's mappings", m);
	struct objects s = {.c = c, .o = (struct shared_object *)m, .control_ino = control_ino};
	int rc = 0;
	for (uint32_t p = 0; p < c->tree->nlive && !rc; p++)
		rc = list_objects(&s, c->tree->live[p], 1);
	if (!rc)
		rc = refuse_sysv_outsiders(&s) || refuse_lost_sysv(&s) ? -1 : 0;
	int files = 0;
	for (uint32_t i = 0; i < s.n; i++)
		files |= !s.o[i].dev_zero && !s.o[i].sysv;
	for (uint32_t p = 0; p < c->tree->nlive && !rc && files; p++)
		rc = refuse_held_by_fd(&s, c->tree->live[p]);
	if (!rc && s.n) {
		struct outsider_maps o = {.s = &s};
		for_each_numbered_entry("/proc", outsider_maps_object, &o);
		rc = o.rc;
	}
	sys_munmap((void *)m, len);
	return rc;
}
