/*
 * The ckpt protocol: everything the TypeScript CLI, libckpt and the restore
 * stub agree on besides the image format (c/ckpt_format.h). It travels in
 * environment variables, in the status line other processes read through
 * /proc/PID/environ, in a sigqueue value, in the stub's arguments and in
 * exit statuses, so nothing checks it at build time: src/protocol/protocol.ts
 * mirrors every definition here, and test/unit/protocol-mirror.test.ts
 * compiles this header to prove the two agree. Change both in one commit.
 *
 * Everything is a #define of a string or a number, nothing else, so the
 * mirror test can print each one by name.
 */
#ifndef CKPT_PROTOCOL_H
#define CKPT_PROTOCOL_H

/* --- Launch: the environment `ckpt PROGRAM` execs the program with ------ */

/* Every launch variable starts so: exec.c drops all of them from an
 * environment the program builds and adds the launcher's own. */
#define CKPT_ENV_PREFIX "CKPT_"
#define CKPT_ENV_IMAGE "CKPT_IMAGE"       /* absolute image path */
#define CKPT_ENV_SIGNAL "CKPT_SIGNAL"     /* trigger signal number, decimal */
#define CKPT_ENV_CONTINUE "CKPT_CONTINUE" /* flag: --continue */
#define CKPT_ENV_DROP_FDS "CKPT_DROP_FDS" /* flag: --drop-unsupported-fds */
/* Flag: --compress. Read by libckpt at launch, and by the stub at a
 * restart, which hands it to the restored libckpt (restart info). */
#define CKPT_ENV_COMPRESS "CKPT_COMPRESS"
#define CKPT_ENV_STATUS "CKPT_STATUS"     /* room for the status line, below */
#define CKPT_ENV_PID "CKPT_PID"           /* the launched pid, CKPT_PID_DIGITS wide */
/* The seccomp filters the program was launched under, decimal: set by the
 * first libckpt of a launch and handed on through every exec, so filters
 * a sandbox in the tree installs before it execs the program count as the
 * program's own (c/lib/seccomp.c). */
#define CKPT_ENV_SECCOMP "CKPT_SECCOMP"
/* The namespaces the program was launched in, "ino,ino,..." (cgroup, ipc,
 * mnt, net, pid, pid_for_children, time, time_for_children, user, uts),
 * then its root directory's device and inode: handed on like
 * CKPT_SECCOMP (c/lib/namespaces.c). */
#define CKPT_ENV_NAMESPACES "CKPT_NAMESPACES"
/* Flag: the exec was made with the trigger blocked (the launcher's, or
 * c/lib/exec.c's in any process of the tree); libckpt unblocks it once its
 * handler is in place. */
#define CKPT_ENV_SIGNAL_BLOCKED "CKPT_SIGNAL_BLOCKED"
/* The value the launcher gives a flag; libckpt looks only at presence. */
#define CKPT_ENV_FLAG_ON "1"

/* CKPT_PID is zero-padded to this width, so libckpt can rewrite it in place
 * after a restart (the pid changes) without moving anything. */
#define CKPT_PID_DIGITS 10

/* Without CKPT_SIGNAL, or out of 1..CKPT_SIGNAL_MAX: SIGUSR2. */
#define CKPT_DEFAULT_SIGNAL 12
#define CKPT_SIGNAL_MAX 64

/* libckpt knows its own LD_PRELOAD entry by this ending, to take it out of
 * the environment and to put it back on exec. */
#define CKPT_LIB_FILE "libckpt.so"
/* The same library built against musl, for programs whose loader is musl's. */
#define CKPT_LIB_MUSL_FILE "libckpt-musl.so"
/* The restore stub's file name. A restarted process's executable stays the
 * stub (/proc/PID/exe), which tells libckpt a restarted member: its
 * libckpt came back as anonymous memory, so its maps do not name it. */
#define CKPT_STUB_FILE "ckpt-restore"

/* --- The status line (c/lib/status.c writes, src/protocol/status.ts reads)
 *
 * CKPT_STATUS is launched as CKPT_STATUS_LEN spaces (a path of PATH_MAX
 * bytes and a message fit) and always rewritten to exactly that length:
 *   seq=N state=S count=C image=PATH\nmessage=TEXT<spaces>\nend=N
 * A reader that sees seq != end caught a rewrite midway. PATH and TEXT
 * have CKPT_STATUS_ESCAPE and control characters as ESCAPE + two upper-case
 * hex digits, so a newline in a file name cannot end its field. */
#define CKPT_STATUS_LEN 4608
#define CKPT_STATUS_SEQ "seq="
#define CKPT_STATUS_STATE " state="
#define CKPT_STATUS_COUNT " count="
#define CKPT_STATUS_IMAGE " image="
#define CKPT_STATUS_MESSAGE "\nmessage="
#define CKPT_STATUS_END "\nend="
#define CKPT_STATUS_PAD " "
#define CKPT_STATUS_ESCAPE "%"

/* S: what the process is doing. count grows with each written or stopped. */
#define CKPT_STATE_RUNNING "running"
#define CKPT_STATE_WRITING "writing"
#define CKPT_STATE_WRITTEN "written"
#define CKPT_STATE_STOPPED "stopped"
#define CKPT_STATE_FAILED "failed"

/* TEXT while a --continue checkpoint's background writer runs: this prefix
 * and its pid as the program's pid namespace numbers it (after a restart
 * into one, not the reader's). Its end is the image's end: it cannot
 * update this line. */
#define CKPT_STATUS_WRITER "writer "
/* TEXT of a standing warning (the program took the trigger signal), which
 * `ckpt checkpoint` repeats: a full-screen program hid it when printed. */
#define CKPT_STATUS_WARNING "warning: "

/* --- Requests: `ckpt checkpoint PID` --------------------------------------
 * It sends the trigger signal with sigqueue and one of these values: a
 * request that reaches libckpt even when the program has its own handler
 * for the signal, and, with the second, one that keeps the program running
 * afterwards whatever it was launched with. */
#define CKPT_REQUEST_SIGVAL 0x636b7074          /* "ckpt" */
#define CKPT_REQUEST_CONTINUE_SIGVAL 0x636b7063 /* "ckpc" */
/* A periodic request (--interval, from the watcher below) is a continue
 * request whose si_value carries --keep in its upper 32 bits: nonzero
 * there means periodic. A libckpt older than periodic checkpoints sees
 * only the lower half (sival_int) and takes a plain --continue checkpoint,
 * never a stop. libckpt keeps the newest --keep images (c/lib/image_rotation.c). */
#define CKPT_REQUEST_KEEP_SHIFT 32
#define CKPT_KEEP_MAX 99

/* --- Process trees: the root's request to another member (c/lib/tree*.c)
 * The root sends each member the trigger signal with sigqueue and a value
 * whose lower 32 bits are CKPT_TREE_SIGVAL; above them, the root's fd of
 * the shared control area (a memfd the member opens as
 * /proc/<si_pid>/fd/<fd>) and the member's slot in it. A member acts only
 * on such a request from the root (si_pid == CKPT_PID); any other arrival
 * of the trigger signal at a member is ignored: the tree is checkpointed
 * by signalling its root (docs/process-trees.md). */
#define CKPT_TREE_SIGVAL 0x636b7472 /* "ckpr" */
#define CKPT_TREE_FD_SHIFT 32
#define CKPT_TREE_SLOT_SHIFT 48
/* Member image files: "<root image file name>" + this + 16 hex digits of
 * the tree id + this + the member's pid (ckpt_format_tree.h). */
#define CKPT_MEMBER_FILE_SEPARATOR "."

/* --- The stub's arguments: ckpt-restore IMAGE NEXT-IMAGE [NOTE] ---------
 * argv indexes. NOTE, optional and last, is added in parentheses to a
 * refusal (run-or-restart's "not starting afresh"). */
#define CKPT_STUB_ARG_IMAGE 1
#define CKPT_STUB_ARG_NEXT_IMAGE 2
#define CKPT_STUB_ARG_NOTE 3
/* In the stub's environment: how to restart (c/stub/pid_namespace.c).
 * Absent: into a fresh pid namespace at the old pid, or with a new pid and
 * a one-line note where namespaces are unavailable. CKPT_NAMESPACE_OFF:
 * `--new-pid`, a new pid and no note. CKPT_NAMESPACE_TEST_UNAVAILABLE:
 * act as if the kernel refused the namespaces (tests of that path only). */
#define CKPT_ENV_NAMESPACE "CKPT_RESTART_NAMESPACE"
#define CKPT_NAMESPACE_OFF "off"
#define CKPT_NAMESPACE_TEST_UNAVAILABLE "test-unavailable"
/* In the stub's environment: `--lazy` (docs/lazy-restart.md): private
 * anonymous memory comes in on first touch, from a page server.
 * CKPT_ENV_FLAG_ON asks for it; CKPT_LAZY_TEST_UNAVAILABLE acts as if no
 * userfaultfd could serve the kernel's faults (tests of the fallback only). */
#define CKPT_ENV_LAZY "CKPT_LAZY"
/* In the stub's environment: `--ignore-affinity` (c/stub/affinity.c): every
 * thread runs on the restart's CPUs, not its saved mask. CKPT_ENV_FLAG_ON. */
#define CKPT_ENV_IGNORE_AFFINITY "CKPT_IGNORE_AFFINITY"
#define CKPT_LAZY_TEST_UNAVAILABLE "test-unavailable"
/* The page server's name (comm), for ps and for the tests that look for it. */
#define CKPT_PAGE_SERVER_NAME "ckpt-pages"
/* Its parent, which kills the program if the server is killed (lazy_server.c). */
#define CKPT_PAGE_WATCH_NAME "ckpt-pages-wait"
/* The name (comm) of the process the shell sees after a restart into a
 * namespace: `ckpt checkpoint` and the watcher follow it to the program. */
#define CKPT_SUPERVISOR_NAME "ckpt-supervisor"
/* Or: ckpt-restore --check|--verify IMAGE, the verdict alone (no teardown):
 * the header and tables, or those and every stored byte. */
#define CKPT_STUB_CHECK "--check"
#define CKPT_STUB_VERIFY "--verify"
/* Or: ckpt-restore --watch PID PERIOD_MS KEEP SIGNAL, the watcher of
 * periodic checkpoints (c/stub/watch.c): it detaches itself (it is never a
 * child of PID) and sends PID a periodic request every PERIOD_MS until PID
 * ends. SIGNAL 0: the trigger named by CKPT_SIGNAL in PID's environment
 * block (a restart does not know the first run's). argv indexes: */
#define CKPT_STUB_WATCH "--watch"
#define CKPT_WATCH_ARG_PID 2
#define CKPT_WATCH_ARG_PERIOD_MS 3
#define CKPT_WATCH_ARG_KEEP 4
#define CKPT_WATCH_ARG_SIGNAL 5

/* --- Exit statuses -------------------------------------------------------- */

/* The exit status of a program that stopped after a successful checkpoint.
 * Not 0-2, 126, 127 or 128+n, so scripts and Slurm's RequeueExit can tell
 * "checkpointed and stopped" from every normal end. Never change it. */
#define CKPT_EXIT_CHECKPOINTED 85
/* The stub refused an image before tearing anything down: one line on
 * stderr says why, and nothing of the program ran. */
#define CKPT_EXIT_RESTART_REFUSED 1

#endif
