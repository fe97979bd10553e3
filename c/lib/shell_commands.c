/*
 * system(), popen(), pclose() and fclose() in a tree.
 *
 * The libc's own run `/bin/sh -c COMMAND` through its internal
 * posix_spawn, which the interposed one (exec.c) never sees, with
 * `environ`, from which the constructor took ckpt's entries: the shell and
 * its command ran without ckpt, and a checkpoint of the tree was refused
 * while they ran (Python's os.system, awk's system(), sqlite3's .system,
 * less's `!`, gdb's `shell`). These do what glibc 2.36's do, step by step,
 * through the interposed posix_spawn: the shell gets ckpt's entries, and
 * the trigger is held blocked until its libckpt is in place. Where musl's
 * differ (system(NULL), a shell that cannot start, fclose), the musl
 * build does what musl's do.
 *
 * Outside a tree (an inert process) the libc's own run, unchanged. A
 * stream this popen made is closed by pclose or, as glibc allows, fclose:
 * both wait for its shell. One beyond the table's size comes from the
 * libc's popen, and a checkpoint is refused while its command runs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ckpt_lib.h"

extern char **environ;

static void *libc_function(void **cache, const char *name)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	}
	return f;
}

#define LIBC(type, name) ((type)libc_function(&real_##name, #name))
static void *real_system, *real_popen, *real_pclose, *real_fclose;

static int spawn_shell(pid_t *pid, const posix_spawn_file_actions_t *actions, const posix_spawnattr_t *attr,
		       const char *command)
{
	char *const argv[] = {"sh", "-c", (char *)command, 0};
	return posix_spawn(pid, "/bin/sh", actions, attr, argv, environ);
}

static pid_t wait_for(pid_t pid, int *status)
{
	pid_t r;
	while ((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
		;
	return r;
}

/* SIGINT and SIGQUIT are ignored while any thread's system() runs, and
 * given back by the last to end, as glibc counts them. */
static pthread_mutex_t ignoring_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned ignoring;
static struct sigaction saved_int, saved_quit;

static void ignore_interrupts(void)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	pthread_mutex_lock(&ignoring_lock);
	if (ignoring++ == 0) {
		sigaction(SIGINT, &ignore, &saved_int);
		sigaction(SIGQUIT, &ignore, &saved_quit);
	}
	pthread_mutex_unlock(&ignoring_lock);
}

static void restore_interrupts(void)
{
	pthread_mutex_lock(&ignoring_lock);
	if (--ignoring == 0) {
		sigaction(SIGINT, &saved_int, 0);
		sigaction(SIGQUIT, &saved_quit, 0);
	}
	pthread_mutex_unlock(&ignoring_lock);
}

struct shell_run {
	pid_t pid;
	sigset_t mask; /* the caller's, given back at the end */
};

/* A thread cancelled in its wait kills the shell and reaps it first, as
 * glibc's does, so no command outlives the call nor a zombie stays. */
static void cancelled(void *arg)
{
	struct shell_run *run = arg;
	int status;
	kill(run->pid, SIGKILL);
	wait_for(run->pid, &status);
	restore_interrupts();
	sigprocmask(SIG_SETMASK, &run->mask, 0);
}

static int run_command(const char *command)
{
	struct shell_run run = {0};
	sigset_t child_signal;
	sigemptyset(&child_signal);
	sigaddset(&child_signal, SIGCHLD);
	ignore_interrupts();
	sigprocmask(SIG_BLOCK, &child_signal, &run.mask);
	sigset_t to_default;
	sigemptyset(&to_default);
	if (saved_int.sa_handler != SIG_IGN)
		sigaddset(&to_default, SIGINT);
	if (saved_quit.sa_handler != SIG_IGN)
		sigaddset(&to_default, SIGQUIT);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &run.mask);
	posix_spawnattr_setsigdefault(&attr, &to_default);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	int err = spawn_shell(&run.pid, 0, &attr, command);
	posix_spawnattr_destroy(&attr);
#ifdef __GLIBC__
	int status = 127 << 8; /* no shell: as if it ended with _exit(127) */
#else
	int status = -1;
#endif
	if (err == 0) {
		pthread_cleanup_push(cancelled, &run);
		if (wait_for(run.pid, &status) != run.pid)
			status = -1;
		pthread_cleanup_pop(0);
	}
	restore_interrupts();
	sigprocmask(SIG_SETMASK, &run.mask, 0);
	if (err)
		errno = err;
	return status;
}

__attribute__((visibility("default"))) int system(const char *command)
{
	if (!exec_in_tree())
		return LIBC(int (*)(const char *), system)(command);
#ifdef __GLIBC__
	if (!command) /* is there a shell? */
		return run_command("exit 0") == 0;
#else
	if (!command)
		return 1;
#endif
	return run_command(command);
}

/* Each stream this popen made, with its shell's pid; a slot is free when
 * its stream is 0. */
#define POPEN_STREAMS 256
static struct {
	FILE *stream;
	pid_t pid;
} opened[POPEN_STREAMS];
static unsigned nopened; /* fclose looks no further while it is 0 */
static pthread_mutex_t opened_lock = PTHREAD_MUTEX_INITIALIZER;

/* The file actions of a popen child: the pipe's end on its stdin or
 * stdout, and every other popen stream still open closed, as POSIX asks. */
static int popen_actions(posix_spawn_file_actions_t *fa, int child_end, int child_std)
{
	if (posix_spawn_file_actions_adddup2(fa, child_end, child_std))
		return -1;
	for (int i = 0; i < POPEN_STREAMS; i++) {
		int fd = opened[i].stream ? fileno(opened[i].stream) : -1;
		if (fd >= 0 && fd != child_std && posix_spawn_file_actions_addclose(fa, fd))
			return -1;
	}
	return 0;
}

/* The command's shell, its stdin or stdout (child_std) on `child_end`:
 * its pid, or 0 and errno. */
static pid_t popen_spawn(const char *command, int child_end, int child_std)
{
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa))
		return 0;
	pid_t pid = 0;
	int err = popen_actions(&fa, child_end, child_std) ? ENOMEM : spawn_shell(&pid, &fa, 0, command);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		errno = err, pid = 0;
	return pid;
}

static int free_slot(void)
{
	for (int i = 0; i < POPEN_STREAMS; i++)
		if (!opened[i].stream)
			return i;
	return -1;
}

/* Mode "r" or "w", with "e" for close-on-exec, as the libc reads it:
 * glibc takes only those letters, once each kind; musl the first letter,
 * and an "e" anywhere. */
static int popen_mode(const char *mode, int *reading, int *cloexec)
{
	*reading = *mode == 'r';
	*cloexec = 0;
#ifdef __GLIBC__
	int r = 0, w = 0;
	for (; *mode; mode++) {
		if (*mode == 'r')
			r = 1;
		else if (*mode == 'w')
			w = 1;
		else if (*mode == 'e')
			*cloexec = 1;
		else
			return -1;
	}
	*reading = r;
	return r ^ w ? 0 : -1;
#else
	if (*mode != 'r' && *mode != 'w')
		return -1;
	for (; *mode; mode++)
		*cloexec |= *mode == 'e';
	return 0;
#endif
}

/* The stream and the shell with `opened_lock` held, in `slot`. */
static FILE *popen_locked(const char *command, int reading, int cloexec, int slot)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return 0;
	int parent_end = fds[reading ? 0 : 1], child_end = fds[reading ? 1 : 0];
	int child_std = reading ? 1 : 0;
	if (child_end == child_std) { /* its stdio fd was closed: dup2 onto itself keeps close-on-exec */
		int moved = fcntl(child_end, F_DUPFD_CLOEXEC, 0);
		close(child_end);
		if (moved < 0) {
			close(parent_end);
			return 0;
		}
		child_end = moved;
	}
	pid_t pid = popen_spawn(command, child_end, child_std);
	int err = errno;
	close(child_end);
	FILE *stream = pid ? fdopen(parent_end, reading ? "r" : "w") : 0;
	if (!stream) {
		err = pid ? errno : err;
		close(parent_end);
		if (pid)
			wait_for(pid, &(int){0});
		errno = err;
		return 0;
	}
	if (!cloexec)
		fcntl(parent_end, F_SETFD, 0);
	opened[slot].stream = stream, opened[slot].pid = pid;
	__atomic_add_fetch(&nopened, 1, __ATOMIC_RELEASE);
	return stream;
}

__attribute__((visibility("default"))) FILE *popen(const char *command, const char *mode)
{
	if (!exec_in_tree())
		return LIBC(FILE * (*)(const char *, const char *), popen)(command, mode);
	int reading, cloexec;
	if (popen_mode(mode, &reading, &cloexec)) {
		errno = EINVAL;
		return 0;
	}
	pthread_mutex_lock(&opened_lock);
	int slot = free_slot();
	FILE *stream = slot < 0 ? 0 : popen_locked(command, reading, cloexec, slot);
	pthread_mutex_unlock(&opened_lock);
	if (slot < 0) /* the table is full: the libc's, without ckpt */
		return LIBC(FILE * (*)(const char *, const char *), popen)(command, mode);
	return stream;
}

/* The shell's pid of a stream this popen made, taken out of the table;
 * 0 for any other stream. */
static pid_t take_stream(FILE *stream)
{
	pid_t pid = 0;
	if (!stream || !__atomic_load_n(&nopened, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&opened_lock);
	for (int i = 0; i < POPEN_STREAMS && !pid; i++)
		if (opened[i].stream == stream)
			pid = opened[i].pid, opened[i].stream = 0, __atomic_sub_fetch(&nopened, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&opened_lock);
	return pid;
}

/* The wait status of the stream's shell, as the libc's pclose: glibc's
 * gives, when that is 0, the close's failure (a write not flushed). */
static int close_and_wait(FILE *stream, pid_t pid)
{
	int closed = LIBC(int (*)(FILE *), fclose)(stream), status, cancel;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel); /* glibc's waits so, never leaving a zombie */
	pid_t waited = wait_for(pid, &status);
	pthread_setcancelstate(cancel, 0);
	if (waited != pid)
		return -1;
#ifdef __GLIBC__
	return status ? status : closed;
#else
	(void)closed;
	return status;
#endif
}

__attribute__((visibility("default"))) int pclose(FILE *stream)
{
	pid_t pid = take_stream(stream);
	return pid ? close_and_wait(stream, pid) : LIBC(int (*)(FILE *), pclose)(stream);
}

#ifdef __GLIBC__
/* glibc's fclose of a popen stream is its pclose: it waits too (musl's
 * does not). */
__attribute__((visibility("default"))) int fclose(FILE *stream)
{
	pid_t pid = take_stream(stream);
	return pid ? close_and_wait(stream, pid) : LIBC(int (*)(FILE *), fclose)(stream);
}
#endif
