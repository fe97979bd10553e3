/**
 * What ckpt does to its own process to become the program, through libc:
 * execve in place (so the program keeps ckpt's pid and anyone who started
 * `ckpt ./a.out &` can signal `$!`), signal dispositions and mask, sigqueue
 * (a signal carrying a value), file status and descriptor flags, and
 * RLIMIT_NOFILE. None of it is offered by Bun.
 */
import { ptr, type Pointer } from "bun:ffi";
import { cstr, errno, libc, strerror } from "./libc.ts";

/** SIG_DFL and SIG_ERR from <signal.h>. */
const SIG_DFL = 0n;
const SIG_ERR = 0xffffffffffffffffn;

/** RLIMIT_NOFILE from <sys/resource.h>. */
export const RLIMIT_NOFILE = 7;

/** RLIM_INFINITY: "no limit". */
export const RLIM_INFINITY = 0xffffffffffffffffn;

/**
 * execve(2) replacing this process. Only returns on failure, with errno.
 *
 * int execve(const char *pathname, char *const argv[], char *const envp[]);
 */
export function execve(path: string, argv: string[], env: string[]): number {
	// The C strings and pointer arrays must outlive the call: keep them referenced.
	const keep: Uint8Array[] = [];
	const kept = (s: string): Pointer => {
		const b = cstr(s);
		keep.push(b);
		return ptr(b);
	};
	const vector = (items: string[]): Pointer => {
		const v = new BigUint64Array(items.length + 1);
		items.forEach((s, i) => (v[i] = BigInt(kept(s))));
		keep.push(new Uint8Array(v.buffer));
		return ptr(v);
	};
	const rc = libc().execve(kept(path), vector(argv), vector(env));
	const err = rc < 0 ? errno() : 0;
	if (keep.length === 0) throw new Error("unreachable"); // holds `keep` alive to here
	return err;
}

/**
 * Reset a signal's disposition to SIG_DFL (ignored dispositions survive
 * execve; caught ones become SIG_DFL anyway). Returns 0 or errno.
 *
 * sighandler_t signal(int signum, sighandler_t handler);
 */
export function resetSignal(sig: number): number {
	return libc().signal(sig, SIG_DFL) === SIG_ERR ? errno() : 0;
}

/** how values for sigprocmask(2), and glibc's sigset_t size (1024 bits). */
const SIG_BLOCK = 0;
const SIG_UNBLOCK = 1;
const SIGSET_BYTES = 128;

function sigset(sig: number): Uint8Array {
	const set = new Uint8Array(SIGSET_BYTES);
	set[(sig - 1) >> 3] = 1 << ((sig - 1) & 7);
	return set;
}

/**
 * Block `sig` in the calling thread (the JS main thread, the one that
 * execs: the mask survives execve). Returns whether it was blocked already.
 *
 * int sigprocmask(int how, const sigset_t *set, sigset_t *oldset);
 */
export function blockSignal(sig: number): boolean {
	const old = new Uint8Array(SIGSET_BYTES);
	if (libc().sigprocmask(SIG_BLOCK, ptr(sigset(sig)), ptr(old)) !== 0) throw new Error(`sigprocmask: ${strerror(errno())}`);
	return (old[(sig - 1) >> 3]! & (1 << ((sig - 1) & 7))) !== 0;
}

export function unblockSignal(sig: number): void {
	libc().sigprocmask(SIG_UNBLOCK, ptr(sigset(sig)), null);
}

/**
 * Send `sig` to `pid` with `value` as its si_value.sival_int (si_code
 * SI_QUEUE). Returns 0 or errno (ESRCH, EPERM).
 *
 * int sigqueue(pid_t pid, int sig, const union sigval value);
 * union sigval is 8 bytes passed by value in one integer register, so its
 * int member is the low half of a u64.
 */
export function sigqueue(pid: number, sig: number, value: number): number {
	return libc().sigqueue(pid, sig, BigInt(value >>> 0)) === 0 ? 0 : errno();
}

/** fcntl(2) commands and the flag we clear. */
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

/**
 * Make `fd`'s open file description blocking again if it is not. Returns
 * whether it was non-blocking; a closed or invalid fd is left alone.
 *
 * int fcntl(int fd, int cmd, ... ); (variadic, but only integer arguments:
 * the callee never reads vector registers, whatever %al says)
 */
export function clearNonblocking(fd: number): boolean {
	const flags = libc().fcntl(fd, F_GETFL, 0n);
	if (flags < 0 || (flags & O_NONBLOCK) === 0) return false;
	libc().fcntl(fd, F_SETFL, BigInt(flags & ~O_NONBLOCK));
	return true;
}

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

/** Whether `fd` is open and close-on-exec. */
export function isCloseOnExec(fd: number): boolean {
	const flags = libc().fcntl(fd, F_GETFD, 0n);
	return flags >= 0 && (flags & FD_CLOEXEC) !== 0;
}

/** Let `fd` survive execve. */
export function clearCloseOnExec(fd: number): void {
	const flags = libc().fcntl(fd, F_GETFD, 0n);
	if (flags >= 0) libc().fcntl(fd, F_SETFD, BigInt(flags & ~FD_CLOEXEC));
}

export interface Rlimit {
	cur: bigint;
	max: bigint;
}

/** int getrlimit(int resource, struct rlimit *rlim); throws on failure. */
export function getrlimit(resource: number): Rlimit {
	const r = new BigUint64Array(2);
	if (libc().getrlimit(resource, ptr(r)) !== 0) throw new Error(`getrlimit: ${strerror(errno())}`);
	return { cur: r[0]!, max: r[1]! };
}

/** int setrlimit(int resource, const struct rlimit *rlim); returns 0 or errno. */
export function setrlimit(resource: number, limit: Rlimit): number {
	const r = BigUint64Array.of(limit.cur, limit.max);
	return libc().setrlimit(resource, ptr(r)) === 0 ? 0 : errno();
}
