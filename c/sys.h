/*
 * Raw Linux x86-64 system calls, for code that runs inside a signal handler
 * of someone else's process (libckpt) or with no libc at all (the restore
 * stub). Every wrapper returns the kernel's answer unchanged: a result >= 0,
 * or -errno. There is no global errno: the interrupted program's errno must
 * not change under it, and the stub has none.
 *
 * The x86-64 syscall ABI: number in rax; arguments in rdi, rsi, rdx, r10,
 * r8, r9; result in rax; the instruction clobbers rcx (return rip) and r11
 * (rflags). The "memory" clobber keeps the compiler from caching memory the
 * kernel reads or writes across the call.
 */
#ifndef CKPT_SYS_H
#define CKPT_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <asm/unistd.h>

static inline long sys_call6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define SYS6(n, a, b, c, d, e, f) sys_call6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS5(n, a, b, c, d, e) SYS6(n, a, b, c, d, e, 0)
#define SYS4(n, a, b, c, d) SYS6(n, a, b, c, d, 0, 0)
#define SYS3(n, a, b, c) SYS6(n, a, b, c, 0, 0, 0)
#define SYS2(n, a, b) SYS6(n, a, b, 0, 0, 0, 0)
#define SYS1(n, a) SYS6(n, a, 0, 0, 0, 0, 0)
#define SYS0(n) SYS6(n, 0, 0, 0, 0, 0, 0)

/* ssize_t read(int fd, void *buf, size_t count); */
static inline long sys_read(int fd, void *buf, size_t n) { return SYS3(__NR_read, fd, buf, n); }
/* ssize_t write(int fd, const void *buf, size_t count); */
static inline long sys_write(int fd, const void *buf, size_t n) { return SYS3(__NR_write, fd, buf, n); }
/* ssize_t pread64(int fd, void *buf, size_t count, off_t offset); */
static inline long sys_pread(int fd, void *buf, size_t n, long off) { return SYS4(__NR_pread64, fd, buf, n, off); }
/* All n bytes at off, however many reads the kernel makes of it: 0, or a
 * negative errno (-EIO for a file that ends first). */
static inline long sys_pread_full(int fd, void *buf, size_t n, long off)
{
	for (size_t got = 0; got < n;) {
		long r = sys_pread(fd, (char *)buf + got, n - got, off + (long)got);
		if (r <= 0)
			return r < 0 ? r : -5 /* EIO */;
		got += (size_t)r;
	}
	return 0;
}
/* ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset); */
static inline long sys_pwrite(int fd, const void *buf, size_t n, long off) { return SYS4(__NR_pwrite64, fd, buf, n, off); }
/* ssize_t writev(int fd, const struct iovec *iov, int iovcnt); */
static inline long sys_writev(int fd, const void *iov, int cnt) { return SYS3(__NR_writev, fd, iov, cnt); }
/* int openat(int dirfd, const char *pathname, int flags, mode_t mode); */
static inline long sys_openat(int dir, const char *path, int flags, int mode) { return SYS4(__NR_openat, dir, path, flags, mode); }
/* int close(int fd); */
static inline long sys_close(int fd) { return SYS1(__NR_close, fd); }
/* int close_range(unsigned first, unsigned last, unsigned flags); */
static inline long sys_close_range(unsigned first, unsigned last) { return SYS3(__NR_close_range, first, last, 0); }
/* off_t lseek(int fd, off_t offset, int whence); */
static inline long sys_lseek(int fd, long off, int whence) { return SYS3(__NR_lseek, fd, off, whence); }
/* int ftruncate(int fd, off_t length); */
static inline long sys_ftruncate(int fd, long len) { return SYS2(__NR_ftruncate, fd, len); }
/* int fsync(int fd); */
static inline long sys_fsync(int fd) { return SYS1(__NR_fsync, fd); }
/* int fcntl(int fd, int cmd, long arg); */
static inline long sys_fcntl(int fd, int cmd, long arg) { return SYS3(__NR_fcntl, fd, cmd, arg); }
/* int dup3(int oldfd, int newfd, int flags); */
static inline long sys_dup3(int from, int to, int flags) { return SYS3(__NR_dup3, from, to, flags); }
/* int pipe2(int fds[2], int flags); */
static inline long sys_pipe2(int *fds, int flags) { return SYS2(__NR_pipe2, fds, flags); }
/* ssize_t tee(int in, int out, size_t len, unsigned flags); */
static inline long sys_tee(int in, int out, size_t len, unsigned flags) { return SYS4(__NR_tee, in, out, len, flags); }
/* int ioctl(int fd, unsigned long request, void *arg); */
static inline long sys_ioctl(int fd, unsigned long req, void *arg) { return SYS3(__NR_ioctl, fd, req, arg); }
/* int newfstatat(int dirfd, const char *path, struct stat *st, int flags); */
static inline long sys_fstatat(int dir, const char *path, void *st, int flags) { return SYS4(__NR_newfstatat, dir, path, st, flags); }
/* int fstat(int fd, struct stat *st); */
static inline long sys_fstat(int fd, void *st) { return SYS2(__NR_fstat, fd, st); }
/* ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size); */
static inline long sys_readlinkat(int dir, const char *path, char *buf, size_t n) { return SYS4(__NR_readlinkat, dir, path, buf, n); }
/* int linkat(int olddir, const char *old, int newdir, const char *new, int flags); */
static inline long sys_linkat(int od, const char *o, int nd, const char *n, int fl) { return SYS5(__NR_linkat, od, o, nd, n, fl); }
/* int renameat(int olddir, const char *old, int newdir, const char *new); */
static inline long sys_renameat(int od, const char *o, int nd, const char *n) { return SYS4(__NR_renameat, od, o, nd, n); }
/* int unlinkat(int dirfd, const char *path, int flags); */
static inline long sys_unlinkat(int dir, const char *path, int flags) { return SYS3(__NR_unlinkat, dir, path, flags); }
/* long getdents64(int fd, void *dirp, size_t count); */
static inline long sys_getdents64(int fd, void *buf, size_t n) { return SYS3(__NR_getdents64, fd, buf, n); }
/* A getdents64 record (linux_dirent64), read with raw calls. */
struct dirent64_raw {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};
/* long getcwd(char *buf, size_t size); */
static inline long sys_getcwd(char *buf, size_t n) { return SYS2(__NR_getcwd, buf, n); }
/* int chdir(const char *path); */
static inline long sys_chdir(const char *path) { return SYS1(__NR_chdir, path); }

/* void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off); */
static inline long sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) { return SYS6(__NR_mmap, addr, len, prot, flags, fd, off); }
/* int munmap(void *addr, size_t len); */
static inline long sys_munmap(void *addr, size_t len) { return SYS2(__NR_munmap, addr, len); }
/* int mprotect(void *addr, size_t len, int prot); */
static inline long sys_mprotect(void *addr, size_t len, int prot) { return SYS3(__NR_mprotect, addr, len, prot); }
/* void *mremap(void *old, size_t old_len, size_t new_len, int flags, void *new); */
static inline long sys_mremap(void *o, size_t ol, size_t nl, int flags, void *n) { return SYS5(__NR_mremap, o, ol, nl, flags, n); }
/* int madvise(void *addr, size_t len, int advice); */
static inline long sys_madvise(void *addr, size_t len, int advice) { return SYS3(__NR_madvise, addr, len, advice); }
/* unsigned long brk(unsigned long addr): returns the (new) break, never -errno */
static inline long sys_brk(unsigned long addr) { return SYS1(__NR_brk, addr); }

/* int rt_sigaction(int sig, const struct k_sigaction *act, struct k_sigaction *old, size_t setsize); */
static inline long sys_rt_sigaction(int sig, const void *act, void *old) { return SYS4(__NR_rt_sigaction, sig, act, old, 8); }
/* int rt_sigprocmask(int how, const sigset_t *set, sigset_t *old, size_t setsize); */
static inline long sys_rt_sigprocmask(int how, const uint64_t *set, uint64_t *old) { return SYS4(__NR_rt_sigprocmask, how, set, old, 8); }
/* int rt_sigpending(sigset_t *set, size_t setsize); */
static inline long sys_rt_sigpending(uint64_t *set) { return SYS2(__NR_rt_sigpending, set, 8); }
/* int rt_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout, size_t setsize); */
static inline long sys_rt_sigtimedwait(const uint64_t *set, void *info, const void *ts) { return SYS4(__NR_rt_sigtimedwait, set, info, ts, 8); }
/* int sigaltstack(const stack_t *ss, stack_t *old); */
static inline long sys_sigaltstack(const void *ss, void *old) { return SYS2(__NR_sigaltstack, ss, old); }
/* int getitimer(int which, struct itimerval *v); */
static inline long sys_getitimer(int which, void *v) { return SYS2(__NR_getitimer, which, v); }
/* int setitimer(int which, const struct itimerval *v, struct itimerval *old); */
static inline long sys_setitimer(int which, const void *v, void *old) { return SYS3(__NR_setitimer, which, v, old); }
/* int timer_create(clockid_t clock, struct sigevent *ev, timer_t *id); (the kernel's timer_t is int) */
static inline long sys_timer_create(int clock, void *ev, int32_t *id) { return SYS3(__NR_timer_create, clock, ev, id); }
/* int timer_settime(timer_t id, int flags, const struct itimerspec *v, struct itimerspec *old); */
static inline long sys_timer_settime(int id, int flags, const void *v, void *old) { return SYS4(__NR_timer_settime, id, flags, v, old); }
/* int timer_gettime(timer_t id, struct itimerspec *v); */
static inline long sys_timer_gettime(int id, void *v) { return SYS2(__NR_timer_gettime, id, v); }
/* int timer_getoverrun(timer_t id); */
static inline long sys_timer_getoverrun(int id) { return SYS1(__NR_timer_getoverrun, id); }
/* int timer_delete(timer_t id); */
static inline long sys_timer_delete(int id) { return SYS1(__NR_timer_delete, id); }
/* int prlimit64(pid_t pid, int res, const struct rlimit64 *new, struct rlimit64 *old); */
static inline long sys_prlimit(int res, const void *nw, void *old) { return SYS4(__NR_prlimit64, 0, res, nw, old); }

/* int arch_prctl(int code, unsigned long addr); */
static inline long sys_arch_prctl(int code, unsigned long addr) { return SYS2(__NR_arch_prctl, code, addr); }
/* int prctl(int option, unsigned long a2, a3, a4, a5); */
static inline long sys_prctl(int opt, unsigned long a, unsigned long b, unsigned long c, unsigned long d) { return SYS5(__NR_prctl, opt, a, b, c, d); }
/* pid_t set_tid_address(int *tidptr); */
static inline long sys_set_tid_address(void *p) { return SYS1(__NR_set_tid_address, p); }
/* long set_robust_list(struct robust_list_head *head, size_t len); */
static inline long sys_set_robust_list(void *head, size_t len) { return SYS2(__NR_set_robust_list, head, len); }
/* long get_robust_list(int pid, struct robust_list_head **head, size_t *len); */
static inline long sys_get_robust_list(void *head, size_t *len) { return SYS3(__NR_get_robust_list, 0, head, len); }
/* int rseq(struct rseq *rseq, u32 len, int flags, u32 sig); */
static inline long sys_rseq(void *area, uint32_t len, int flags, uint32_t sig) { return SYS4(__NR_rseq, area, len, flags, sig); }
/* int membarrier(int cmd, unsigned int flags, int cpu_id); */
static inline long sys_membarrier(int cmd, unsigned flags) { return SYS3(__NR_membarrier, cmd, flags, 0); }
/* mode_t umask(mode_t mask); never fails */
static inline long sys_umask(unsigned mask) { return SYS1(__NR_umask, mask); }
/* int getgroups(int size, gid_t list[]); */
static inline long sys_getgroups(int size, uint32_t *list) { return SYS2(__NR_getgroups, size, list); }
/* int setgroups(size_t size, const gid_t *list); */
static inline long sys_setgroups(long size, const uint32_t *list) { return SYS2(__NR_setgroups, size, list); }
/* long futex(u32 *uaddr, int op, u32 val, const struct timespec *timeout, u32 *uaddr2, u32 val3); */
static inline long sys_futex(void *addr, int op, uint32_t val, const void *timeout) { return SYS4(__NR_futex, addr, op, val, timeout); }
/* int tgkill(pid_t tgid, pid_t tid, int sig); */
static inline long sys_tgkill(int tgid, int tid, int sig) { return SYS3(__NR_tgkill, tgid, tid, sig); }
/* int rt_tgsigqueueinfo(pid_t tgid, pid_t tid, int sig, siginfo_t *info); */
static inline long sys_rt_tgsigqueueinfo(int tgid, int tid, int sig, void *info) { return SYS4(__NR_rt_tgsigqueueinfo, tgid, tid, sig, info); }
/* int rt_sigqueueinfo(pid_t tgid, int sig, siginfo_t *info); */
static inline long sys_rt_sigqueueinfo(int tgid, int sig, void *info) { return SYS3(__NR_rt_sigqueueinfo, tgid, sig, info); }
/* pid_t getpgid(pid_t pid); */
static inline long sys_getpgid(int pid) { return SYS1(__NR_getpgid, pid); }
/* int kill(pid_t pid, int sig); */
static inline long sys_kill(int pid, int sig) { return SYS2(__NR_kill, pid, sig); }
/* int kcmp(pid_t pid1, pid_t pid2, int type, unsigned long idx1, unsigned long idx2); */
static inline long sys_kcmp(int pid1, int pid2, int type, unsigned long a, unsigned long b) { return SYS5(__NR_kcmp, pid1, pid2, type, a, b); }
/* int eventfd2(unsigned int initval, int flags); */
static inline long sys_eventfd2(unsigned initval, int flags) { return SYS2(__NR_eventfd2, initval, flags); }
/* int signalfd4(int fd, const sigset_t *mask, size_t sizemask, int flags); */
static inline long sys_signalfd4(int fd, const uint64_t *mask, int flags) { return SYS4(__NR_signalfd4, fd, mask, 8, flags); }
/* int timerfd_create(int clockid, int flags); */
static inline long sys_timerfd_create(int clock, int flags) { return SYS2(__NR_timerfd_create, clock, flags); }
/* int timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old); */
static inline long sys_timerfd_settime(int fd, int flags, const void *v, void *old) { return SYS4(__NR_timerfd_settime, fd, flags, v, old); }
/* int timerfd_gettime(int fd, struct itimerspec *cur); */
static inline long sys_timerfd_gettime(int fd, void *v) { return SYS2(__NR_timerfd_gettime, fd, v); }
/* int epoll_create1(int flags); */
static inline long sys_epoll_create1(int flags) { return SYS1(__NR_epoll_create1, flags); }
/* int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event); */
static inline long sys_epoll_ctl(int epfd, int op, int fd, void *event) { return SYS4(__NR_epoll_ctl, epfd, op, fd, event); }
/* int inotify_init1(int flags); */
static inline long sys_inotify_init1(int flags) { return SYS1(__NR_inotify_init1, flags); }
/* int inotify_add_watch(int fd, const char *path, uint32_t mask); */
static inline long sys_inotify_add_watch(int fd, const char *path, uint32_t mask) { return SYS3(__NR_inotify_add_watch, fd, path, mask); }
/* int inotify_rm_watch(int fd, int wd); */
static inline long sys_inotify_rm_watch(int fd, int wd) { return SYS2(__NR_inotify_rm_watch, fd, wd); }
/* int pidfd_open(pid_t pid, unsigned int flags); */
static inline long sys_pidfd_open(int pid) { return SYS2(__NR_pidfd_open, pid, 0); }
/* int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags); */
static inline long sys_pidfd_send_signal(int pidfd, int sig, void *info) { return SYS4(__NR_pidfd_send_signal, pidfd, sig, info, 0); }
/* int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask); */
static inline long sys_ppoll(void *fds, unsigned long n, const void *ts) { return SYS5(__NR_ppoll, fds, n, ts, 0, 8); }
/* pid_t setsid(void); */
static inline long sys_setsid(void) { return SYS0(__NR_setsid); }
/* pid_t fork(void), as clone(SIGCHLD): a plain child, no thread or handler of libc's involved. */
static inline long sys_fork(void) { return SYS5(__NR_clone, 17 /* SIGCHLD */, 0, 0, 0, 0); }
/* int io_setup(unsigned nr_events, aio_context_t *ctx); */
static inline long sys_io_setup(unsigned n, uint64_t *ctx) { return SYS2(__NR_io_setup, n, ctx); }
/* int io_destroy(aio_context_t ctx); */
static inline long sys_io_destroy(uint64_t ctx) { return SYS1(__NR_io_destroy, ctx); }
/* int io_submit(aio_context_t ctx, long n, struct iocb **iocbs); */
static inline long sys_io_submit(uint64_t ctx, long n, void *iocbs) { return SYS3(__NR_io_submit, ctx, n, iocbs); }
/* int io_getevents(aio_context_t ctx, long min, long max, struct io_event *events, struct timespec *timeout); */
static inline long sys_io_getevents(uint64_t ctx, long min, long max, void *events) { return SYS5(__NR_io_getevents, ctx, min, max, events, 0); }
/* int io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags, sigset_t *sig, size_t sz); */
static inline long sys_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags) { return SYS6(__NR_io_uring_enter, fd, to_submit, min_complete, flags, 0, 0); }
/* int poll(struct pollfd *fds, nfds_t n, int timeout); */
static inline long sys_poll(void *fds, unsigned long n, int timeout) { return SYS3(__NR_poll, fds, n, timeout); }
/* int sched_yield(void); */
static inline long sys_sched_yield(void) { return SYS0(__NR_sched_yield); }
/* int sched_getaffinity(pid_t tid, size_t len, cpu_set_t *mask): the raw call returns the bytes written. */
static inline long sys_sched_getaffinity(int tid, unsigned long len, void *mask) { return SYS3(__NR_sched_getaffinity, tid, len, mask); }
/* int sched_setaffinity(pid_t tid, size_t len, const cpu_set_t *mask); */
static inline long sys_sched_setaffinity(int tid, unsigned long len, const void *mask) { return SYS3(__NR_sched_setaffinity, tid, len, mask); }
/* The CPUs this thread may run on (at least 1): how many workers the
 * compressing writer and the restart's loaders start. Counted bit by bit:
 * the stub links no libgcc popcount. */
static inline int usable_cpus(void)
{
	uint64_t mask[16] = {0};
	long n = sys_sched_getaffinity(0, sizeof mask, mask);
	int cpus = 0;
	for (long i = 0; i < n / 8; i++)
		for (uint64_t m = mask[i]; m; m &= m - 1)
			cpus++;
	return cpus > 0 ? cpus : 1;
}
/* int fstatfs(int fd, struct statfs *buf); */
static inline long sys_fstatfs(int fd, void *buf) { return SYS2(__NR_fstatfs, fd, buf); }
/* The file system an open file lives on (its f_type: HUGETLBFS_MAGIC...), 0 when unknown. */
static inline long fd_fs_magic(int fd)
{
	struct { long f_type, f_bsize; uint64_t rest[14]; } fs;
	return sys_fstatfs(fd, &fs) == 0 ? fs.f_type : 0;
}
/* int memfd_create(const char *name, unsigned int flags); */
static inline long sys_memfd_create(const char *name, unsigned flags) { return SYS2(__NR_memfd_create, name, flags); }
/* SysV shared memory (c/kinds/mem_sysv.c, c/stub/sysv_shm.c): shmget(2),
 * shmat(2), shmdt(2), shmctl(2) (x86-64's, always the 64-bit ipc layout). */
static inline long sys_shmget(int key, size_t size, int flags) { return SYS3(__NR_shmget, key, size, flags); }
static inline long sys_shmat(int id, const void *at, int flags) { return SYS3(__NR_shmat, id, at, flags); }
static inline long sys_shmdt(const void *at) { return SYS1(__NR_shmdt, at); }
static inline long sys_shmctl(int id, int cmd, void *buf) { return SYS3(__NR_shmctl, id, cmd, buf); }
/* int fchmod(int fd, mode_t mode); */
static inline long sys_fchmod(int fd, unsigned mode) { return SYS2(__NR_fchmod, fd, mode); }
/* uid_t geteuid(void); */
static inline long sys_geteuid(void) { return SYS0(__NR_geteuid); }
/* int faccessat2(int dirfd, const char *path, int mode, int flags); */
static inline long sys_faccessat2(int dir, const char *path, int mode, int flags) { return SYS4(439 /* __NR_faccessat2 */, dir, path, mode, flags); }
/* Sockets: socket(2), socketpair(2), bind(2), listen(2), connect(2),
 * getsockname(2), getpeername(2), getsockopt(2), setsockopt(2),
 * sendto(2), recvfrom(2) without an address, sendmsg(2), recvmsg(2),
 * accept4(2) without an address, shutdown(2). */
static inline long sys_socket(int domain, int type, int proto) { return SYS3(__NR_socket, domain, type, proto); }
static inline long sys_socketpair(int domain, int type, int proto, int *sv) { return SYS4(__NR_socketpair, domain, type, proto, sv); }
static inline long sys_bind(int fd, const void *addr, uint32_t len) { return SYS3(__NR_bind, fd, addr, len); }
static inline long sys_listen(int fd, int backlog) { return SYS2(__NR_listen, fd, backlog); }
static inline long sys_connect(int fd, const void *addr, uint32_t len) { return SYS3(__NR_connect, fd, addr, len); }
static inline long sys_getsockname(int fd, void *addr, uint32_t *len) { return SYS3(__NR_getsockname, fd, addr, len); }
static inline long sys_getpeername(int fd, void *addr, uint32_t *len) { return SYS3(__NR_getpeername, fd, addr, len); }
static inline long sys_getsockopt(int fd, int level, int name, void *v, uint32_t *len) { return SYS5(__NR_getsockopt, fd, level, name, v, len); }
static inline long sys_setsockopt(int fd, int level, int name, const void *v, uint32_t len) { return SYS5(__NR_setsockopt, fd, level, name, v, len); }
static inline long sys_sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len) { return SYS6(__NR_sendto, fd, buf, n, flags, addr, len); }
static inline long sys_recvfrom(int fd, void *buf, size_t n, int flags) { return SYS6(__NR_recvfrom, fd, buf, n, flags, 0, 0); }
static inline long sys_sendmsg(int fd, const void *msg, int flags) { return SYS3(__NR_sendmsg, fd, msg, flags); }
static inline long sys_recvmsg(int fd, void *msg, int flags) { return SYS3(__NR_recvmsg, fd, msg, flags); }
static inline long sys_accept4(int fd, int flags) { return SYS4(__NR_accept4, fd, 0, 0, flags); }
static inline long sys_shutdown(int fd, int how) { return SYS2(__NR_shutdown, fd, how); }
/* int flock(int fd, int operation); */
static inline long sys_flock(int fd, int op) { return SYS2(__NR_flock, fd, op); }
/* pid_t getpid(void); pid_t gettid(void); */
static inline long sys_getpid(void) { return SYS0(__NR_getpid); }
static inline long sys_gettid(void) { return SYS0(__NR_gettid); }
static inline long sys_getppid(void) { return SYS0(__NR_getppid); }
/* ssize_t process_vm_readv(pid, local_iov, liovcnt, remote_iov, riovcnt, flags):
 * a read of our own memory that fails instead of faulting (execute-only text). */
static inline long sys_process_vm_readv(int pid, const void *local, unsigned long nl, const void *remote, unsigned long nr)
{
	return SYS6(__NR_process_vm_readv, pid, local, nl, remote, nr, 0);
}
/* pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru); */
static inline long sys_wait4(int pid, int *status, int options) { return SYS4(__NR_wait4, pid, status, options, 0); }
/* long clone3(struct clone_args *args, size_t size): here only fork-like, with no stack of its own */
static inline long sys_clone3(void *args, size_t size) { return SYS2(__NR_clone3, args, size); }
static inline long sys_mount(const char *src, const char *dir, const char *type, unsigned long flags) { return SYS5(__NR_mount, src, dir, type, flags, 0); }
static inline long sys_setpgid(int pid, int pgid) { return SYS2(__NR_setpgid, pid, pgid); }
static inline long sys_getpgrp(void) { return SYS1(__NR_getpgid, 0); }
static inline long sys_capset(void *hdr, const void *data) { return SYS2(__NR_capset, hdr, data); }
static inline long sys_getegid(void) { return SYS0(__NR_getegid); }
/* uid_t getuid(void); */
static inline long sys_getuid(void) { return SYS0(__NR_getuid); }
/* int uname(struct utsname *buf); */
static inline long sys_uname(void *buf) { return SYS1(__NR_uname, buf); }
/* int clock_gettime(clockid_t clk, struct timespec *ts): the real syscall, not the vDSO */
static inline long sys_clock_gettime(int clk, void *ts) { return SYS2(__NR_clock_gettime, clk, ts); }
/* noreturn void exit_group(int status); */
static inline __attribute__((noreturn)) void sys_exit_group(int status)
{
	for (;;)
		SYS1(__NR_exit_group, status);
}

#endif
