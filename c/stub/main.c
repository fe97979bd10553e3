/*
 * ckpt-restore: turns itself into the checkpointed process.
 *
 * Algorithm:
 *   Phase 1, nothing torn down yet, every failure a clean one-line exit:
 *     1. Block all signals; read and check the header and tables (their
 *        checksums, and that every region, extent and fd record is sane).
 *        Check the login uid and groups still match. Then move into a new
 *        pid namespace (pid_namespace.c): this process stays outside as the
 *        supervisor, and everything below runs in a process created at
 *        the image's pid (or here, with a new pid, where namespaces are
 *        unavailable or switched off).
 *     2. Check the world still matches: mapped files unchanged, open files
 *        there and long enough, inotify's watched paths there, the
 *        working directory there, this
 *        kernel's vDSO layout the same.
 *     3. Check the machine: same XSAVE layout, same vDSO contents, every
 *        thread's saved CPUs allowed to this restart, its nice value,
 *        real-time policy and I/O class settable (scheduling.c), its
 *        credentials takeable (credentials.c, tried in a child), guard
 *        pages installable if the image has any, POSIX timers creatable
 *        with their ids and clocks (tried, then deleted), pending signals
 *        sane and within RLIMIT_SIGPENDING, hard limits above ours raised
 *        (limits.c). Set umask, prctl flags, oom_score_adj
 *        and membarrier registrations (a refused one is a clean refusal
 *        still).
 *     4. Restore descriptors at their numbers (files reopened by path at
 *        their offsets, pipes refilled, epolls created); close everything
 *        else. Then add every inotify's watches again under their wds,
 *        register every epoll's watches again, and take the
 *        program's file locks again: one held elsewhere now refuses.
 *     5. Pick a gap no saved region uses and build the arena there: a copy
 *        of this program, the tables, a window for the vDSO to hop through,
 *        and a stack. Jump into the copy.
 *   Phase 2, running from the arena (memory.c, process.c, resume):
 *     6. Unmap everything else; move the kernel's [vvar], [vvar_vclock] and
 *        [vdso] to their saved addresses, via the hop window.
 *     7. Map every region back and load its data, checking each extent's
 *        checksum: a mismatch ends the restore before the program runs.
 *        Install its guard pages again. With --lazy (lazy_*.c), private
 *        anonymous memory is left to a page server instead, which loads
 *        it on first touch and in the background, each extent checked
 *        before any of its bytes reach the program.
 *     8. Restore the mm layout and break, name, dispositions, cwd,
 *        terminal settings, thread state (fs base, tid address, robust list,
 *        rseq, CPU affinity) and interval timers; tell libckpt where the arena is. Clone
 *        the threads (at their old tids in a namespace; each thread sets
 *        its credentials last), then create the POSIX timers with their ids, aimed
 *        at their threads' new tids, queue the pending signals again, set
 *        the resource limits
 *        (every thread still blocks all signals).
 *     9. Jump to the saved resume point in libckpt's handler, which unmaps
 *        the arena and returns from the signal: rt_sigreturn brings back
 *        every register of the interrupted code from its signal frame.
 *
 * A process tree (docs/process-trees.md, tree*.c): before step 1's
 * namespace every member image beside the root image is checked too; in
 * the namespace the root parks what its processes share and creates them
 * at their pids, and each live one runs steps 2-9 on its own image, with
 * two barriers: after step 5 (then groups and the terminal), and before
 * step 8's threads, so no program runs while a peer may still fail.
 *
 * `--check IMAGE` and `--verify IMAGE` (check_only.c) stop after the image's
 * own checks (step 1 and the timer and signal records; --verify also every
 * stored checksum) and exit 0: the one verdict `ckpt list` and `ckpt info
 * --verify` show. `--watch` (watch.c) restores nothing: it is the watcher
 * of periodic checkpoints, here because this is ckpt's one freestanding
 * program, already carried and extracted, and a watcher without libc costs
 * a batch job next to nothing while it runs.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include "stub.h"
#include "../ckpt_protocol.h"
#include "../sys.h"

static uint64_t find_vdso(char **envp)
{
	while (*envp)
		envp++;
	for (uint64_t *aux = (uint64_t *)(envp + 1); aux[0]; aux += 2)
		if (aux[0] == 33 /* AT_SYSINFO_EHDR */)
			return aux[1];
	return 0;
}

__attribute__((noreturn)) void stub_main(uint64_t *sp)
{
	int argc = (int)sp[0];
	char **argv = (char **)(sp + 1);
	uint64_t all = ~0ull;
	sys_rt_sigprocmask(2 /* SIG_SETMASK */, &all, 0);
	restart.err_fd = 2;
	/* `ckpt restart` passes an absolute IMAGE, so it never reads as an option. */
	if (argc == 3 && (str_eq(argv[1], CKPT_STUB_CHECK) || str_eq(argv[1], CKPT_STUB_VERIFY)))
		check_image_only(argv[2], str_eq(argv[1], CKPT_STUB_VERIFY));
	if (argc >= 2 && str_eq(argv[1], CKPT_STUB_WATCH))
		watch_program(argc, argv);
	/* argv[0], IMAGE, NEXT-IMAGE, and NOTE if given. */
	if (argc != CKPT_STUB_ARG_NOTE && argc != CKPT_STUB_ARG_NOTE + 1)
		die("usage: ckpt-restore IMAGE NEXT-IMAGE [NOTE] (run it through `ckpt restart`), "
		    "or ckpt-restore --check|--verify IMAGE", 0);
	str_copy(restart.image, sizeof restart.image, argv[CKPT_STUB_ARG_IMAGE]);
	if (argc > CKPT_STUB_ARG_NOTE)
		str_copy(restart.note, sizeof restart.note, argv[CKPT_STUB_ARG_NOTE]);
	static struct ckpt_header hdr;
	char *tables;
	load_and_validate(argv[CKPT_STUB_ARG_IMAGE], &hdr, &tables);
	check_identity(&hdr, tables);
	note_ids(&hdr, tables);
	validate_tree(&hdr, tables);
	enter_pid_namespace(&hdr, tables, argv + argc + 1);
	make_sysv_segments(&hdr, tables); /* before the tree's processes exist: they attach them */
	restore_tree(&hdr, &tables); /* goes on in every live process of a tree, each with its own image */
	check_world(&hdr, tables);
	uint64_t vdso = find_vdso(argv + argc + 1);
	check_machine(&hdr, vdso);
	check_affinity(&hdr, tables, argv + argc + 1);
	check_scheduling(&hdr, tables);
	check_credentials(&hdr, tables);
	check_mempolicies(&hdr, tables);
	check_guard_support(&hdr, tables);
	check_timers(&hdr, tables);
	check_signals(&hdr, tables);
	check_limits(&hdr);
	restore_process_settings(&hdr);
	str_copy(restart.next_image, sizeof restart.next_image, argv[CKPT_STUB_ARG_NEXT_IMAGE]);
	for (char **env = argv + argc + 1; *env; env++)
		if (str_starts(*env, CKPT_ENV_COMPRESS "="))
			restart.compress = 1;
	const struct ckpt_fd *fds = (const void *)(tables + hdr.fds_off);
	int fd = move_image_fd_high(restart.image_fd, fds, hdr.nfds);
	restart.image_fd = fd;
	open_chain(&hdr, 1, own_member_image());
	open_direct_reads(&hdr);
	restore_fds(fds, hdr.nfds, tables + hdr.strings_off, fd, hdr.tree_root_pid);
	restore_inotify_watches((const void *)(tables + hdr.inotify_off), hdr.ninotify, fds, hdr.nfds,
				tables + hdr.strings_off);
	restore_epoll_watches((const void *)(tables + hdr.watches_off), hdr.nwatches, fds, hdr.nfds);
	take_locks((const void *)(tables + hdr.locks_off), hdr.nlocks, fds, hdr.nfds, tables + hdr.strings_off);
	tree_phase1_done(&hdr);
	lazy_open(&hdr, argv + argc + 1);
	restart.hdr = &hdr;
	build_arena(tables, vdso);
	__builtin_unreachable();
}
