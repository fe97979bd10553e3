/*
 * Namespaces and the root directory: a restart puts the program in the
 * restart's own (and in a pid namespace, with an unprivileged restart a
 * user namespace too, of ckpt's making). It cannot make again a namespace
 * the program entered or created: its network devices and addresses,
 * mounts, hostname, time offsets, user ids. Those ckpt was launched in
 * belong to the environment, like the cgroup and the launch's seccomp
 * filters; a program found in any other refuses the checkpoint, naming
 * it, and runs on. As with seccomp (seccomp.c), the first libckpt of a
 * launch notes them, and the note goes on through every exec in place
 * (CKPT_NAMESPACES): `unshare -n PROGRAM` and sandboxes make the namespace
 * and then exec the program. After a restart the restart's own are the
 * environment. The *_for_children links count too: unshare(CLONE_NEWPID)
 * without a fork changes only them. Raw calls and module state only: the
 * handler runs this after a restart.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "ckpt_lib.h"
#include "namespaces.h"
#include "../process_state.h"
#include "../sys.h"

#define NS_KINDS 10
static const char ns_names[NS_KINDS][18] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts",
};
static const char ns_words[NS_KINDS][24] = {
	"cgroup", "IPC", "mount", "network", "pid", "pid (for its children)", "time", "time (for its children)", "user", "UTS (hostname)",
};
/* After the namespaces' inode numbers (0 where this kernel has none), the
 * root directory's device and inode: a program that chroot()ed would find
 * its saved paths (cwd, open files, mapped files) opened from the
 * restart's root instead, other files or none. */
#define ROOT_DEV NS_KINDS
#define ROOT_INO (NS_KINDS + 1)
#define NOTED (NS_KINDS + 2)
static uint64_t launch_ns[NOTED];
static int launch_known;

static void read_namespaces(uint64_t ids[NOTED])
{
	struct stat st;
	for (int i = 0; i < NS_KINDS; i++) {
		char path[40] = "/proc/self/ns/";
		str_copy(path + 14, sizeof path - 14, ns_names[i]);
		ids[i] = sys_fstatat(AT_FDCWD, path, &st, 0) == 0 ? (uint64_t)st.st_ino : 0;
	}
	int root = sys_fstatat(AT_FDCWD, "/proc/self/root/", &st, 0) == 0;
	ids[ROOT_DEV] = root ? (uint64_t)st.st_dev : 0;
	ids[ROOT_INO] = root ? (uint64_t)st.st_ino : 0;
}

/* The namespaces this process may be in without their being its own,
 * handed on to every exec in place as "ino,ino,...,dev,ino" in ns_names
 * order, then the root directory's. */
static void note_base(const uint64_t ids[NOTED])
{
	static char entry[sizeof CKPT_ENV_NAMESPACES "=" + NOTED * 21];
	struct line l = {.len = 0};
	line_str(&l, CKPT_ENV_NAMESPACES "=");
	for (int i = 0; i < NOTED; i++) {
		launch_ns[i] = ids[i];
		if (i)
			line_str(&l, ",");
		line_u64(&l, ids[i]);
	}
	launch_known = 1;
	str_copy(entry, sizeof entry, l.buf);
	exec_remember_entry(entry);
}

void namespaces_note_current(void)
{
	uint64_t now[NOTED];
	read_namespaces(now);
	note_base(now);
}

/* Handed on by an exec (kept by exec_remember), else this is the launched
 * program's first start: its own namespaces are the launch's. */
void namespaces_note_launch(void)
{
	const char *given = getenv(CKPT_ENV_NAMESPACES);
	if (!given) {
		namespaces_note_current();
		return;
	}
	for (int i = 0; i < NOTED; i++) {
		int ok = 0;
		int64_t v = decimal_at(given, &ok);
		if (!ok || v < 0)
			return; /* launch_known stays 0: refused at checkpoint */
		launch_ns[i] = (uint64_t)v;
		while (*given && *given != ',')
			given++;
		given += *given == ',';
	}
	launch_known = 1;
}

int refuse_own_namespaces(struct capture *c)
{
	if (!launch_known)
		return capture_fail(c, "cannot tell which namespaces the program was launched in (" CKPT_ENV_NAMESPACES ")", 0);
	uint64_t now[NOTED];
	read_namespaces(now);
	if (now[ROOT_DEV] != launch_ns[ROOT_DEV] || now[ROOT_INO] != launch_ns[ROOT_INO])
		return capture_fail(c, "the program changed its root directory (chroot) since ckpt started: a restart would "
				       "open its saved paths from its own root, other files or none; launch ckpt inside "
				       "the new root instead (as in `chroot DIR ckpt PROGRAM`)", 0);
	for (int i = 0; i < NS_KINDS; i++) {
		if (now[i] == launch_ns[i])
			continue;
		capture_fail(c, "the program's ", 0);
		line_str(&c->error, ns_words[i]);
		line_str(&c->error, " namespace is its own (");
		line_str(&c->error, ns_names[i]);
		line_str(&c->error, ":[");
		line_u64(&c->error, now[i]);
		line_str(&c->error, "]; ckpt was launched in ");
		line_str(&c->error, ns_names[i]);
		line_str(&c->error, ":[");
		line_u64(&c->error, launch_ns[i]);
		line_str(&c->error, "]): a restart cannot make it again; launch ckpt inside it instead "
				    "(as in `unshare -n ckpt PROGRAM`)");
		return -1;
	}
	return 0;
}
