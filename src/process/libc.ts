/**
 * The few libc calls ckpt needs that Bun does not offer, through bun:ffi:
 * execve in place (so the program keeps ckpt's pid and anyone who started
 * `ckpt ./a.out &` can signal `$!`), signal dispositions and mask, sigqueue
 * (a signal carrying a value), file status flags, and RLIMIT_NOFILE. This
 * is the only module that uses FFI.
 *
 * It also carries the few file operations `ckpt PROGRAM` and `ckpt restart`
 * make before their execve (stat, access, reading a header, the asset
 * cache): the first use of node:fs costs about a millisecond of every
 * start, while these calls go through the library this module opens anyway.
 *
 * errno is read with __errno_location() right after the failing call, on
 * the same (JS main) thread, before any other FFI call can change it.
 */
import { CString, dlopen, ptr, read, type Pointer } from "bun:ffi";

let lib: ReturnType<typeof open> | undefined;

function open() {
	return dlopen("libc.so.6", {
		execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
		signal: { args: ["i32", "u64"], returns: "u64" },
		sigprocmask: { args: ["i32", "ptr", "ptr"], returns: "i32" },
		sigqueue: { args: ["i32", "i32", "u64"], returns: "i32" },
		fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
		getrlimit: { args: ["i32", "ptr"], returns: "i32" },
		setrlimit: { args: ["i32", "ptr"], returns: "i32" },
		__errno_location: { args: [], returns: "ptr" },
		strerror: { args: ["i32"], returns: "ptr" },
		open: { args: ["ptr", "i32", "u32"], returns: "i32" },
		pread: { args: ["i32", "ptr", "u64", "i64"], returns: "i64" },
		write: { args: ["i32", "ptr", "u64"], returns: "i64" },
		close: { args: ["i32"], returns: "i32" },
		fsync: { args: ["i32"], returns: "i32" },
		fchmod: { args: ["i32", "u32"], returns: "i32" },
		access: { args: ["ptr", "i32"], returns: "i32" },
		mkdir: { args: ["ptr", "u32"], returns: "i32" },
		rename: { args: ["ptr", "ptr"], returns: "i32" },
		unlink: { args: ["ptr"], returns: "i32" },
		syscall: { args: ["i64", "i32", "ptr", "ptr", "i32"], returns: "i64" },
		getdents64: { args: ["i32", "ptr", "u64"], returns: "i64" },
		readlink: { args: ["ptr", "ptr", "u64"], returns: "i64" },
	}).symbols;
}

function libc() {
	return (lib ??= open());
}

/** SIG_DFL and SIG_ERR from <signal.h>. */
const SIG_DFL = 0n;
const SIG_ERR = 0xffffffffffffffffn;

/** RLIMIT_NOFILE from <sys/resource.h>. */
export const RLIMIT_NOFILE = 7;

/** RLIM_INFINITY: "no limit". */
export const RLIM_INFINITY = 0xffffffffffffffffn;

function errno(): number {
	const p = libc().__errno_location();
	return p === null ? 0 : read.i32(p);
}

/** strerror(3): "No such file or directory" for ENOENT. */
export function strerror(err: number): string {
	const p = libc().strerror(err);
	return p === null ? `errno ${err}` : new CString(p).toString();
}

/**
 * A C string for one call. Held in a local for the call's duration (the
 * frame keeps it alive: JavaScriptCore scans the stack conservatively).
 */
function cstr(s: string): Buffer {
	return Buffer.from(`${s}\0`, "utf8");
}

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

/**
 * The numbered entries of a directory (/proc/self/fd, /proc/PID/task), its
 * own descriptor left out, through getdents64(2): struct linux_dirent64 is
 * d_ino (8), d_off (8), d_reclen (2), d_type (1), then the name.
 */
export function numberedEntries(path: string): number[] {
	const dir = openRead(path, true);
	const found: number[] = [];
	try {
		const buf = new Uint8Array(16384);
		const view = new DataView(buf.buffer);
		for (let n: number; (n = check(libc().getdents64(dir, ptr(buf), BigInt(buf.length)), `read ${path}`)) > 0; ) {
			for (let at = 0; at < n; at += view.getUint16(at + 16, true)) {
				let v = 0;
				let i = at + 19;
				for (; buf[i]! >= 48 && buf[i]! <= 57; i++) v = v * 10 + buf[i]! - 48;
				if (i > at + 19 && buf[i] === 0 && v !== dir) found.push(v);
			}
		}
	} finally {
		closeFd(dir);
	}
	return found;
}

/** readlink(2) of `path`, or null. */
export function readLink(path: string): string | null {
	const name = cstr(path);
	const buf = new Uint8Array(4096);
	const n = Number(libc().readlink(ptr(name), ptr(buf), BigInt(buf.length)));
	return n < 0 ? null : new TextDecoder().decode(buf.subarray(0, n));
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

/** What ckpt needs of a struct stat. */
export interface FileStat {
	mode: number; // type and permission bits
	uid: number;
	size: number;
	ino: bigint;
	mtimeNs: bigint;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
export const isRegular = (st: FileStat) => (st.mode & S_IFMT) === S_IFREG;
export const isDirectory = (st: FileStat) => (st.mode & S_IFMT) === S_IFDIR;

const SYS_newfstatat = 262;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/**
 * stat(2), or lstat(2) with `follow: false`; null if the path cannot be
 * stat'ed. Through syscall(2): glibc exports stat/lstat as functions only
 * since 2.33. syscall is variadic, but takes integers only, so the callee
 * never reads vector registers whatever %al holds. Offsets are x86-64's
 * struct stat: st_ino 8, st_mode 24, st_uid 28, st_size 48, st_mtim 88.
 */
export function statPath(path: string, follow = true): FileStat | null {
	const raw = new Uint8Array(144);
	const name = cstr(path);
	if (Number(libc().syscall(BigInt(SYS_newfstatat), AT_FDCWD, ptr(name), ptr(raw), follow ? 0 : AT_SYMLINK_NOFOLLOW)) !== 0) return null;
	const buf = new DataView(raw.buffer);
	return {
		ino: buf.getBigUint64(8, true),
		mode: buf.getUint32(24, true),
		uid: buf.getUint32(28, true),
		size: Number(buf.getBigInt64(48, true)),
		mtimeNs: buf.getBigInt64(88, true) * 1_000_000_000n + buf.getBigInt64(96, true),
	};
}

export const X_OK = 1;

/** access(2): whether the real user may `mode` the file. */
export function accessible(path: string, mode: number): boolean {
	const name = cstr(path);
	return libc().access(ptr(name), mode) === 0;
}

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const O_DIRECTORY = 0o200000;
const O_CLOEXEC = 0o2000000;

/** A failed call: the errno and its text, as `what: text`. */
export class SysError extends Error {
	constructor(readonly what: string, readonly errno: number) {
		super(`${what}: ${strerror(errno)}`);
	}
}

function check(rc: number | bigint, what: string): number {
	if (Number(rc) < 0) throw new SysError(what, errno());
	return Number(rc);
}

/** Opens `path` read-only (close-on-exec); throws SysError. */
export function openRead(path: string, directory = false): number {
	const name = cstr(path);
	return check(libc().open(ptr(name), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0), 0), `open ${path}`);
}

/** pread(2) into `buf` at `offset`: bytes read, 0 at end of file; throws SysError. */
export function preadInto(fd: number, buf: Uint8Array, offset: number): number {
	return check(libc().pread(fd, ptr(buf), BigInt(buf.length), BigInt(offset)), "read");
}

export function closeFd(fd: number): void {
	libc().close(fd);
}

/** Up to `len` bytes at `offset` of `path` (fewer at its end); null if unreadable. */
export function readRange(path: string, offset: number, len: number): Uint8Array | null {
	let fd: number;
	try {
		fd = openRead(path);
	} catch {
		return null;
	}
	try {
		const buf = new Uint8Array(len);
		let done = 0;
		for (let n = 1; done < len && n > 0; done += n) n = preadInto(fd, buf.subarray(done), offset + done);
		return buf.subarray(0, done);
	} catch {
		return null;
	} finally {
		closeFd(fd);
	}
}

/** A new file holding `bytes`, made durable, then given `mode`; throws SysError (EEXIST if it exists). */
export function writeNewFile(path: string, bytes: Uint8Array, mode: number): void {
	const name = cstr(path);
	const fd = check(libc().open(ptr(name), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600), `create ${path}`);
	try {
		for (let done = 0; done < bytes.length; )
			done += check(libc().write(fd, ptr(bytes.subarray(done)), BigInt(bytes.length - done)), `write ${path}`);
		check(libc().fsync(fd), `fsync ${path}`);
		check(libc().fchmod(fd, mode), `chmod ${path}`);
	} finally {
		closeFd(fd);
	}
}

/** fsync(2) a directory, so a rename in it is durable; throws SysError. */
export function syncDirectory(path: string): void {
	const fd = openRead(path, true);
	try {
		check(libc().fsync(fd), `fsync ${path}`);
	} finally {
		closeFd(fd);
	}
}

/** mkdir(2); throws SysError (EEXIST included). */
export function makeDirectory(path: string, mode: number): void {
	const name = cstr(path);
	check(libc().mkdir(ptr(name), mode), `mkdir ${path}`);
}

export function renamePath(from: string, to: string): void {
	const [a, b] = [cstr(from), cstr(to)];
	check(libc().rename(ptr(a), ptr(b)), `rename ${from}`);
}

/** unlink(2), ignoring failure (cleanup of our own temporary files). */
export function removeFile(path: string): void {
	const name = cstr(path);
	libc().unlink(ptr(name));
}

export const EEXIST = 17;
